"""The benchmark suite: this project against the alternatives, on the emulator, in one run.

    python3 dev.py bench                # every scenario; writes benchmarks/results/benchmarks.md
                                        # and benchmarks.png (about 10 minutes on 2 cores)
    python3 dev.py bench --only 2,3     # a subset (written to a temporary folder unless --out)
    python3 dev.py bench --rounds 5     # more rounds per figure (default 3)
    python3 dev.py bench --quick        # a smoke run: small workloads, 1 round

Scenarios: 1 bulk embeddings, 2 concurrent chat, 3 per-call overhead, 4 streaming, 5 import
time and memory. Each starts its own emulator process (``python -m workers_ai.emulator``) on
127.0.0.1 with the scenario's latency and limits. The raw httpx floor runs in the same process
run as the clients, and the results are ratios to it (or to the stated bound). The alternatives
(``langchain-cloudflare``, ``langchain-openai``, ``llama-index-embeddings-cloudflare-workersai``,
``llama-index-llms-openai-like``) come from the ``bench`` dependency group, installed only in
``.venv-bench`` by ``python3 dev.py bench``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (
    RESULTS,
    ScenarioResult,
    machine_description,
    plot,
    render_markdown,
    version,
)
from benchmarks.scenarios import (
    clients,
    closing,
    s1_embeddings,
    s2_concurrent,
    s3_overhead,
    s4_streaming,
    s5_import_memory,
)

SCENARIOS: dict[str, Callable[[int, bool], ScenarioResult | list[ScenarioResult]]] = {
    "1": s1_embeddings.run,
    "2": s2_concurrent.run,
    "3": s3_overhead.run,
    "4": s4_streaming.run,
    "5": s5_import_memory.run,
}
PACKAGES = [
    "langchain-core",
    "llama-index-core",
    "httpx",
    "langchain-cloudflare",
    "langchain-openai",
    "openai",
    "llama-index-embeddings-cloudflare-workersai",
    "llama-index-llms-openai-like",
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. 2,3")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small, 1 round")
    parser.add_argument("--out", type=Path, default=None, help="folder for the results")
    return parser


def _selected(only: str) -> list[str]:
    if not only:
        return list(SCENARIOS)
    wanted = [part.strip() for part in only.split(",") if part.strip()]
    unknown = [w for w in wanted if w not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; choose from 1-5")
    return wanted


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Some alternatives' clients schedule their own close from ``__del__`` on whatever event
    # loop is running when they are collected; after their loop has ended that close fails and
    # asyncio logs "Task exception was never retrieved". Noise, not a measurement: keep quiet.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    chosen = _selected(args.only)
    rounds = 1 if args.quick else max(1, args.rounds)
    full = chosen == list(SCENARIOS) and not args.quick
    out = args.out or (RESULTS if full else Path(tempfile.mkdtemp(prefix="bench-")))
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for key in chosen:
        print(f"== scenario {key} ...", flush=True)
        t0 = time.perf_counter()
        produced = SCENARIOS[key](rounds, args.quick)
        batch = produced if isinstance(produced, list) else [produced]
        for result in batch:
            result.seconds = (time.perf_counter() - t0) / len(batch)
            results.append(result)
        print(f"   done in {time.perf_counter() - t0:.0f} s", flush=True)
    total = time.perf_counter() - started
    header = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {total / 60:.1f} minutes, "
        f"{rounds} round(s) per figure{' (--quick: small workloads)' if args.quick else ''}; "
        "each scenario starts its own emulator process on 127.0.0.1 and reports its latency "
        "and limits. Ratios are to the raw httpx floor (or the stated bound) measured in the "
        "same run; **bold** rows are this project. `goal met?` applies to this project's rows.",
        "",
        "Versions: " + ", ".join(f"{name} {version(name)}" for name in PACKAGES) + ".",
        "",
        "How each alternative was pointed at the emulator:",
        "",
        *[f"- {line}" for line in clients.POINTING],
        "",
        "Where a client cannot do a scenario, its row says `n/a (why)`.",
    ]
    text = render_markdown(results, machine_description(), header)
    text += "\n" + "\n".join(closing.notes(results)) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.md").write_text(text)
    plot(results, out / "benchmarks.png", f"workers-ai-python benchmarks ({machine_description()})")
    print(text)
    print(f"Wrote {out / 'benchmarks.md'} and {out / 'benchmarks.png'} in {total / 60:.1f} min.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
