"""Reliability scenarios too big for the test suite (reliability issue), against the emulator.

    .venv/bin/python benchmarks/reliability.py          # writes benchmarks/results/reliability.md

1. **Pool wait**: 500 concurrent ``ChatWorkersAI.ainvoke`` calls with ``timeout=2`` on a server
   answering in 50 ms, through the default pool of 100 connections. Before the fix the pool
   wait shared the 2 s budget, and most calls failed with ``PoolTimeout`` before reaching the
   server; now waiting for a connection has its own generous bound. The old behaviour is
   reproduced with an explicit ``httpx.Timeout(2.0)`` (used exactly as given).
2. **Bulk soak**: 10,000 texts, batches of 10, about 10 % of requests failing (5xx, resets),
   async, five times: every run must return every vector, at its index, none lost or duplicated
   (compared with a fault-free run). Before the fix 3 of 5 runs aborted and lost all vectors.

Correctness is the goal here, not speed; wall times are printed for context only.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from workers_ai.emulator import EmulatorConfig, EmulatorServer, FaultSpec

RESULTS = Path(__file__).parent / "results" / "reliability.md"
CHAT = "@cf/meta/llama-3.1-8b-instruct"
BGE = "@cf/baai/bge-small-en-v1.5"


def _kwargs(emulator: EmulatorServer) -> dict[str, Any]:
    kwargs: dict[str, Any] = emulator.client_kwargs()
    kwargs["api_key"] = kwargs.pop("api_token")
    return kwargs


async def _burst(llm: ChatWorkersAI, calls: int) -> tuple[int, dict[str, int]]:
    results = await asyncio.gather(
        *(llm.ainvoke(f"Question {i}") for i in range(calls)), return_exceptions=True
    )
    failures: dict[str, int] = {}
    for result in results:
        if isinstance(result, BaseException):
            failures[type(result).__name__] = failures.get(type(result).__name__, 0) + 1
    return calls - sum(failures.values()), failures


def pool_wait(calls: int = 500) -> list[str]:
    rows = ["| timeout | succeeded | failed | wall s |", "|---|---:|---|---:|"]
    config = EmulatorConfig(latency_ms=50.0)
    with EmulatorServer(config) as emulator:
        for label, timeout in [
            ("`timeout=2` (pool wait: 300 s)", 2.0),
            ("`httpx.Timeout(2.0)` (pool wait: 2 s, the old behaviour)", httpx.Timeout(2.0)),
        ]:
            llm = ChatWorkersAI(model=CHAT, timeout=timeout, max_retries=0, **_kwargs(emulator))
            started = time.perf_counter()
            ok, failures = asyncio.run(_burst(llm, calls))
            wall = time.perf_counter() - started
            failed = ", ".join(f"{n} {name}" for name, n in failures.items()) or "0"
            rows.append(f"| {label} | {ok} of {calls} | {failed} | {wall:.1f} |")
            print(rows[-1], flush=True)
    return rows


def bulk_soak(texts: int = 10_000, runs: int = 5) -> list[str]:
    corpus = [f"chunk {i} about topic {i % 97}" for i in range(texts)]
    rows = [
        "| run | vectors in order | failed requests | retried | wall s |",
        "|---|---|---:|---:|---:|",
    ]
    with EmulatorServer() as emulator:
        clean = WorkersAIEmbeddings(model=BGE, **_kwargs(emulator)).embed_documents(corpus)
        for run in range(1, runs + 1):
            emulator.reset()
            emulator.configure(
                faults=[
                    FaultSpec(kind="server_error", probability=0.07),
                    FaultSpec(kind="reset", probability=0.03),
                ]
            )
            embeddings = WorkersAIEmbeddings(model=BGE, batch_size=10, **_kwargs(emulator))
            started = time.perf_counter()
            try:
                vectors = asyncio.run(embeddings.aembed_documents(corpus))
                verdict = "yes" if vectors == clean else "NO: vectors differ"
            except Exception as error:
                verdict = f"NO: {type(error).__name__}"
            wall = time.perf_counter() - started
            faults = emulator.stats()["by_fault"]
            failed = faults.get("server_error", 0) + faults.get("reset", 0)
            retried = embeddings.stats()["retried"]
            rows.append(f"| {run} | {verdict} | {failed} | {retried} | {wall:.1f} |")
            print(rows[-1], flush=True)
            emulator.configure(faults=[])
    return rows


def main() -> None:
    lines = [
        "# Reliability scenarios",
        "",
        "Produced by `.venv/bin/python benchmarks/reliability.py` (emulator in-process, "
        "deterministic stand-in models). See the module docstring for what each shows.",
        "",
        "## 500 concurrent calls, `timeout=2`, 50 ms latency, 100 pooled connections",
        "",
        *pool_wait(),
        "",
        "## 10,000 texts, batches of 10, ~10 % faults, async, 5 runs",
        "",
        *bulk_soak(),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
