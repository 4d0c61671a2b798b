"""Scenario 5: import time over the framework's own import, and peak RSS embedding 20,000 texts.

Import time: each measurement is a fresh interpreter that first imports the framework (timed),
then the integration (timed). The second figure is the integration's own cost on top of the
framework, measured in one process rather than as the difference of two noisy ones. The
framework import is what any integration of it needs: LangChain's ``BaseChatModel`` and
``Embeddings`` base classes (a bare ``import langchain_core`` is lazy and loads almost nothing,
so it is shown for context only), and ``llama_index.core``.

Memory: a fresh interpreter per client embeds 100 texts (imports, pools), then the 20,000 texts
of scenario 1 with its sync method against a zero-latency emulator, keeping the vectors.
``resource.getrusage`` gives the peak RSS before and after. 20,000 x 768 Python floats are
about 0.5 GB by themselves, which every client holds; the floor is a raw httpx loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import ROOT, Emulator, Row, ScenarioResult, ratio, run_python, summarize
from benchmarks.scenarios import s1_embeddings

GOAL_MS = 50.0
LANGCHAIN = (
    "from langchain_core.language_models import BaseChatModel; "
    "from langchain_core.embeddings import Embeddings"
)
LLAMA_INDEX = "import llama_index.core"
#: (label, kind, framework, framework import, integration import)
IMPORTS = [
    (
        "`import langchain_core` alone (lazy: context only)",
        "floor",
        "LangChain",
        "pass",
        "import langchain_core",
    ),
    (
        "`import langchain_workers_ai`",
        "ours",
        "LangChain",
        LANGCHAIN,
        "import langchain_workers_ai",
    ),
    (
        "`import langchain_cloudflare`",
        "alternative",
        "LangChain",
        LANGCHAIN,
        "import langchain_cloudflare",
    ),
    ("`import langchain_openai`", "alternative", "LangChain", LANGCHAIN, "import langchain_openai"),
    (
        "`import llama_index_workers_ai`",
        "ours",
        "LlamaIndex",
        LLAMA_INDEX,
        "import llama_index_workers_ai",
    ),
    (
        "`import llama_index.llms.openai_like`",
        "alternative",
        "LlamaIndex",
        LLAMA_INDEX,
        "import llama_index.llms.openai_like",
    ),
    (
        "`import llama_index.embeddings.cloudflare_workersai`",
        "alternative",
        "LlamaIndex",
        LLAMA_INDEX,
        "import llama_index.embeddings.cloudflare_workersai",
    ),
]
_IMPORT_CODE = """
import gc, json, time
t0 = time.perf_counter()
{framework}
t1 = time.perf_counter()
full, started = [], []
def _watch(phase, info):
    if info["generation"] == 2:
        if phase == "start":
            started.append(time.perf_counter())
        else:
            full.append(time.perf_counter() - started.pop())
gc.callbacks.append(_watch)
{integration}
t2 = time.perf_counter()
gc.callbacks.remove(_watch)
print(json.dumps({{"framework": t1 - t0, "integration": t2 - t1, "full_gc": sum(full)}}))
"""
#: The sync embedding jobs of scenario 1 measured for memory (by label there).
MEMORY = [
    "raw httpx.AsyncClient, 16 in flight (floor)",
    "WorkersAIEmbeddings.embed_documents",
    "WorkersAIEmbedding.get_text_embedding_batch",
    "langchain-cloudflare CloudflareWorkersAIEmbeddings.embed_documents",
    "langchain-openai OpenAIEmbeddings.embed_documents (/ai/v1)",
    "llama-index CloudflareEmbedding.get_text_embedding_batch (batch 100)",
]
_MEMORY_CODE = """
import json, types
from benchmarks.harness import peak_rss_mb
from benchmarks.scenarios import s1_embeddings as s1
emu = types.SimpleNamespace(base_url={base!r}, openai_base={openai!r})
emu.run_url = lambda model: f"{{emu.base_url}}/accounts/{account}/ai/run/{{model}}"
job = next(job for label, _, _, job in s1.CASES if label == {label!r})
job(emu, s1.texts(100))
before = peak_rss_mb()
vectors = job(emu, s1.texts({n}))
after = peak_rss_mb()
assert len(vectors) == {n}
print(json.dumps({{"before_mb": before, "peak_mb": after}}))
"""
MEMORY_BUDGET_S = 30.0


def run(rounds: int, quick: bool) -> list[ScenarioResult]:
    repeats = max(3, rounds) if not quick else 2
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as cache:
        return [
            imports(repeats, bytecode=cache),
            imports(repeats, bytecode=None),
            memory(rounds, quick),
        ]


def _bytecode_env(bytecode: str | None) -> dict[str, str]:
    """Every module from ``bytecode``'s cache (filled by a warm-up run), or compiled from
    source on every run (an empty cache that nothing is written to)."""
    if bytecode is not None:
        return {"PYTHONPYCACHEPREFIX": bytecode, "PYTHONDONTWRITEBYTECODE": ""}
    return {
        "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="bench-nopyc-"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def imports(repeats: int, *, bytecode: str | None) -> ScenarioResult:
    cached = bytecode is not None
    result = ScenarioResult(
        number="5a" if cached else "5c",
        title="Import time over the framework's own import, "
        + ("bytecode cached" if cached else "no bytecode (every module compiled)"),
        setup=[
            "Each run is a fresh interpreter: the framework import is timed, then the "
            "integration's import on top of it (in the same process).",
            (
                "Bytecode cached: `PYTHONPYCACHEPREFIX` points at a cache a warm-up run filled "
                "(what an installed package gives after its first import)."
                if cached
                else "No bytecode: `PYTHONPYCACHEPREFIX` points at an empty folder and "
                "`PYTHONDONTWRITEBYTECODE=1`, so every module is compiled from source (a "
                "read-only install, or a container that strips `__pycache__`)."
            ),
            "Framework import: LangChain = `from langchain_core.language_models import "
            "BaseChatModel` + `from langchain_core.embeddings import Embeddings` (what every "
            "LangChain integration loads); LlamaIndex = `import llama_index.core`.",
            f"Median of {repeats} fresh interpreters (min, max). Goal (bytecode cached): "
            f"ours under {GOAL_MS:.0f} ms over the framework's import.",
            "`of which full gc passes`: time in generation-2 garbage collections during the "
            "integration's import (`gc.callbacks`), included in its figure. Where the "
            "framework's import leaves a full collection due, the next few thousand objects "
            "anyone allocates trigger it: it lands on whichever import comes first.",
        ],
        columns=["framework", "framework import ms", "of which full gc passes ms"],
        ratio_label="ms on top of the framework import",
        ratio_spec=".0f",
        reference=None,
        goal_line=GOAL_MS,
    )
    samples: dict[str, dict[str, list[float]]] = {}
    env = _bytecode_env(bytecode)
    if cached:  # the warm-up run that writes the bytecode
        for _, _, _, framework, integration in IMPORTS:
            run_python(_IMPORT_CODE.format(framework=framework, integration=integration), env=env)
    for _ in range(repeats):
        for label, _, _, framework, integration in IMPORTS:
            code = _IMPORT_CODE.format(framework=framework, integration=integration)
            out = run_python(code, env=env)
            for key in ("framework", "integration", "full_gc"):
                samples.setdefault(label, {}).setdefault(key, []).append(out[key] * 1000)
    for label, kind, framework, stmt, integration in IMPORTS:
        own = summarize(samples[label]["integration"])
        base = summarize(samples[label]["framework"]).fmt(".0f") if stmt != "pass" else "-"
        full_gc = summarize(samples[label]["full_gc"]).fmt(".0f")
        goal = ("yes" if own.median < GOAL_MS else "no") if kind == "ours" and cached else "-"
        result.add(Row(label, kind, [framework, base, full_gc], own, goal))
        if kind != "floor" and cached:
            parts = ", ".join(f"{name} {ms:.0f}" for name, ms in breakdown(stmt, integration, env))
            result.notes.append(f"- {label}: {parts}")
    if cached:
        result.notes.insert(
            0,
            "Where the integration's import time goes (one `python -X importtime` run after "
            "the framework import; self time in ms by top-level package, largest first):",
        )
        result.notes.insert(1, "")
    return result


def breakdown(
    framework: str, integration: str, env: dict[str, str], top: int = 6
) -> list[tuple[str, float]]:
    """Self import time (ms) by top-level package of the modules ``integration`` adds."""
    code = f"{framework}\nimport sys\nprint('--mark--', file=sys.stderr)\n{integration}"
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    totals: dict[str, float] = {}
    for line in done.stderr.split("--mark--", 1)[-1].splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|")
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def memory(rounds: int, quick: bool) -> ScenarioResult:
    n = 2_000 if quick else s1_embeddings.TEXTS
    result = ScenarioResult(
        number="5b",
        title=f"Peak RSS embedding {n:,} texts",
        setup=[],
        columns=["RSS before (after 100 texts) MB", "peak RSS MB", "peak - before MB"],
        ratio_label="peak RSS / raw httpx",
    )
    peaks: dict[str, list[float]] = {}
    befores: dict[str, list[float]] = {}
    spent: dict[str, float] = {}
    with Emulator(latency_ms=0.0) as emu:
        result.setup = [
            f"Emulator: {emu.describe()} (memory does not depend on latency); "
            f"{n:,} texts through each client's sync method in a fresh interpreter, "
            "vectors kept; peak RSS = Linux `VmHWM` of that interpreter (`resource.getrusage`'s "
            "ru_maxrss would carry over this parent's peak across fork + exec).",
            f"Up to {rounds} runs per client, median (min, max); a client gets another run "
            f"only while its runs stay within {MEMORY_BUDGET_S:.0f} s. No goal was set; lower "
            "is better.",
        ]
        for _ in range(rounds):
            for label in MEMORY:
                last = spent.get(label, 0.0) / max(1, len(peaks.get(label, [])))
                if spent.get(label, 0.0) + last > MEMORY_BUDGET_S:
                    continue
                code = _MEMORY_CODE.format(
                    base=emu.base_url,
                    openai=emu.openai_base,
                    account="emulator-account",
                    label=label,
                    n=n,
                )
                start = time.perf_counter()
                out = run_python(code, timeout=600)
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
                peaks.setdefault(label, []).append(out["peak_mb"])
                befores.setdefault(label, []).append(out["before_mb"])
    floor = summarize(peaks[MEMORY[0]]).median
    kinds = {label: (kind, fw) for label, kind, fw, _ in s1_embeddings.CASES}
    for label in MEMORY:
        kind, _ = kinds[label]
        deltas = [p - b for p, b in zip(peaks[label], befores[label], strict=True)]
        cells = [
            summarize(befores[label]).fmt(".0f"),
            summarize(peaks[label]).fmt(".0f"),
            summarize(deltas).fmt(".0f"),
        ]
        result.add(
            Row(label.replace(", 16 in flight", ""), kind, cells, ratio(peaks[label], floor))
        )
    return result
