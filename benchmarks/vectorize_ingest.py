"""Bulk ingest into Vectorize (issue #21 item 4), against the emulator, as ratios to a baseline.

    .venv/bin/python benchmarks/vectorize_ingest.py     # writes benchmarks/results/vectorize.md

10,000 short documents, ``@cf/baai/bge-small-en-v1.5``, the emulator (its own process) answering
every request after ``LATENCY_MS``. The baseline, run in the same process, is embedding the texts
alone (``WorkersAIEmbeddings.embed_documents``: the engine's batches of 100, 16 at a time). Measured
against it: ``WorkersAIVectorize.add_texts`` of the same texts into an empty index (embedding,
the stored-already check, upserts, the final wait), the same add run again (everything stored:
nothing embedded), and an add that fails half-way and is run again (only the rest embedded).
Async twins likewise. Wall times are medians of ``ROUNDS`` rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import ACCOUNT, TOKEN, Emulator
from langchain_workers_ai import WorkersAIEmbeddings, WorkersAIVectorize

RESULTS = Path(__file__).parent / "results" / "vectorize.md"
MODEL = "@cf/baai/bge-small-en-v1.5"
DOCS = 10_000
LATENCY_MS = 20.0
ROUNDS = 3


def _kwargs(emulator: Emulator) -> dict[str, Any]:
    return {"account_id": ACCOUNT, "api_key": TOKEN, "base_url": emulator.base_url}


#: Client CPU seconds of the last measured runs, by run (this process only: the emulator's own
#: work, which the real service would do elsewhere, is not in it).
CPU: dict[str, float] = {}


def _median(run: Callable[[], Any], reset: Callable[[], None], name: str = "") -> float:
    times, cpu = [], []
    for _ in range(ROUNDS):
        reset()
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU[name] = statistics.median(cpu)
    return statistics.median(times)


_CALLS = [0]


class _FailingHalfWay(WorkersAIEmbeddings):
    """Embeddings whose sixth chunk fails (a service outage in the middle of a job)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        _CALLS[0] += 1
        if _CALLS[0] == 6:
            raise RuntimeError("embedding service down")
        return super().embed_documents(texts)


def main() -> None:
    texts = [
        f"Document {i}: the kettle model K{i % 97} boils in {i % 7 + 2} minutes."
        for i in range(DOCS)
    ]
    with Emulator(latency_ms=LATENCY_MS) as emulator:  # its own process, as the service is
        kwargs = _kwargs(emulator)
        embeddings = WorkersAIEmbeddings(model=MODEL, **kwargs)

        def store(name: str, embedding: Any = embeddings) -> WorkersAIVectorize:
            return WorkersAIVectorize(
                embedding=embedding, index_name=name, create_index=True, **kwargs
            )

        def reset() -> None:
            emulator.reset()

        base = _median(lambda: embeddings.embed_documents(texts), reset, "base")
        add = _median(lambda: store("bench").add_texts(texts), reset, "add")

        def again() -> None:
            store("bench").add_texts(texts)  # the first add happened in reset_and_fill

        def reset_and_fill() -> None:
            emulator.reset()
            store("bench").add_texts(texts)

        rerun = _median(again, reset_and_fill, "rerun")
        emulator.reset()
        requests_before = emulator.stats()["by_model"].get(MODEL, 0)
        failing = store("resume", _FailingHalfWay(model=MODEL, **kwargs))
        try:
            failing.add_texts(texts)
        except Exception as error:  # the outage: IngestError says how far it got
            done = getattr(error, "done", None)
        embedded_first = emulator.stats()["by_model"].get(MODEL, 0) - requests_before
        resumed_at = time.perf_counter()
        store("resume").add_texts(texts)
        resume = time.perf_counter() - resumed_at
        embedded_second = (
            emulator.stats()["by_model"].get(MODEL, 0) - requests_before - embedded_first
        )
        stored = store("resume")._prepare().stats().vector_count

        async def aadd() -> None:
            await store("abench").aadd_texts(texts)

        async_add = _median(lambda: asyncio.run(aadd()), reset, "aadd")

    def cpu(name: str) -> str:
        return f"{CPU[name]:.2f} ({CPU[name] / CPU['base']:.2f}x)"

    rows = [
        ("embed_documents alone (baseline)", base, "-", cpu("base")),
        ("add_texts into an empty index", add, f"{add / base:.2f}x", cpu("add")),
        ("aadd_texts into an empty index", async_add, f"{async_add / base:.2f}x", cpu("aadd")),
        ("add_texts again (all stored: nothing embedded)", rerun, f"{rerun / base:.2f}x",
         cpu("rerun")),
        (f"resume after a failure at document {done:,}", resume, f"{resume / base:.2f}x", "-"),
    ]  # fmt: skip
    lines = [
        "# Bulk ingest into Vectorize",
        "",
        f"{DOCS:,} documents, {MODEL}, emulator latency {LATENCY_MS:.0f} ms per request, "
        f"median of {ROUNDS} rounds (`benchmarks/vectorize_ingest.py`).",
        "",
        "| run | seconds | ratio to the baseline | client CPU seconds (ratio) |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {seconds:.2f} | {ratio} | {c} |" for name, seconds, ratio, c in rows),
        "",
        "Both processes share the machine's cores: the emulator's own work on each write (it "
        "parses and stores every vector) is in the wall times but not in the client's CPU "
        "column; against the real service only the client's part stays on your machine.",
        "",
        f"Resume: the failed add embedded in {embedded_first} requests before the outage; the "
        f"re-run embedded in {embedded_second} requests (only what was missing) and the index "
        f"holds {stored:,} vectors (no duplicates).",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
