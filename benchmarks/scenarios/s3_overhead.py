"""Scenario 3: per-call overhead, 1,000 sequential ``invoke`` / ``chat`` calls at zero latency.

Each client is built once and warmed with one call; a round times 1,000 calls one after the
other. The floor is a raw ``httpx.Client`` posting the same body and decoding the JSON. Figure:
microseconds per call, and microseconds per call above the floor; ratio: to the floor.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import httpx

from benchmarks.harness import (
    CHAT_MODEL,
    TOKEN,
    Emulator,
    Row,
    ScenarioResult,
    frozen_heap,
    ratio,
    summarize,
)
from benchmarks.scenarios import clients, framework_cost

CALLS = 1_000
#: Each round's calls go in batches; clients take turns batch by batch (noise spreads evenly).
BATCHES = 10
GOAL = 1.3
#: The core client (no framework) adds almost nothing to raw httpx.
CORE_GOAL = 1.05
PROMPT = "Say hello to the overhead benchmark."

Call = Callable[[], Any]


def _raw(emu: Emulator) -> tuple[Call, Callable[[], None]]:
    client = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    url = emu.run_url(CHAT_MODEL)
    body = {"messages": [{"role": "user", "content": PROMPT}]}

    def call() -> Any:
        response = client.post(url, json=body)
        response.raise_for_status()
        return response.json()["result"]["response"]

    return call, client.close


def _core(emu: Emulator) -> tuple[Call, Callable[[], None]]:
    client = clients.core_client(emu)
    body = {"messages": [{"role": "user", "content": PROMPT}]}
    return (lambda: client.chat(CHAT_MODEL, body).result.text), client.close


def _lc(make: Callable[[Emulator], Any]) -> Callable[[Emulator], tuple[Call, Callable[[], None]]]:
    def factory(emu: Emulator) -> tuple[Call, Callable[[], None]]:
        llm = make(emu)
        return (lambda: llm.invoke(PROMPT).content), lambda: clients.close(llm)

    return factory


def _li(make: Callable[[Emulator], Any]) -> Callable[[Emulator], tuple[Call, Callable[[], None]]]:
    def factory(emu: Emulator) -> tuple[Call, Callable[[], None]]:
        from llama_index.core.llms import ChatMessage

        llm = make(emu)
        messages = [ChatMessage(role="user", content=PROMPT)]
        return (lambda: llm.chat(messages).message.content), lambda: clients.close(llm)

    return factory


CASES: list[tuple[str, str, str, Callable[[Emulator], tuple[Call, Callable[[], None]]]]] = [
    ("raw httpx.Client (floor)", "floor", "-", _raw),
    ("core WorkersAIClient.chat (no framework)", "ours", "core", _core),
    ("ChatWorkersAI.invoke", "ours", "LangChain", _lc(clients.chat_workers_ai)),
    ("WorkersAI.chat", "ours", "LlamaIndex", _li(clients.llama_workers_ai)),
    (
        "langchain-cloudflare ChatCloudflareWorkersAI.invoke",
        "alternative",
        "LangChain",
        _lc(clients.chat_cloudflare),
    ),
    (
        "langchain-openai ChatOpenAI.invoke (/ai/v1)",
        "alternative",
        "LangChain",
        _lc(clients.chat_openai),
    ),
    ("llama-index OpenAILike.chat (/ai/v1)", "alternative", "LlamaIndex", _li(clients.openai_like)),
]


def run(rounds: int, quick: bool) -> ScenarioResult:
    calls = 100 if quick else CALLS
    rounds = rounds if quick else max(rounds, 5)
    result = ScenarioResult(
        number="3",
        title=f"Per-call overhead: {calls:,} sequential calls",
        setup=[],
        columns=["framework", "µs per call", "µs above raw httpx", "client CPU µs per call"],
        ratio_label="time / raw httpx",
        goal_line=GOAL,
    )
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    failed: dict[str, str] = {}
    with Emulator(latency_ms=0.0) as emu:
        result.setup = [
            f"Emulator: {emu.describe()}; {calls:,} `invoke`/`chat` calls one after the other "
            f"per round, model {CHAT_MODEL}, a short reply. A round runs them in {BATCHES} "
            "batches, clients taking turns batch by batch; the round's figure is the median "
            "batch. The emulator's own service time is in every figure alike.",
            f"Median of {rounds} rounds (min, max). Client CPU = this process's CPU time.",
            "The `framework floor` rows add the framework's own per-call cost (a no-I/O "
            "stand-in model's `invoke`/`chat`, measured each round) to raw httpx: what any "
            "integration of that framework pays.",
            f"Goal: the core client within {CORE_GOAL}x of raw httpx; the adapters within "
            f"{GOAL}x of it and ahead of every alternative of the same framework.",
        ]
        built: dict[str, tuple[Call, Callable[[], None]]] = {}
        try:
            for label, _, _, factory in CASES:
                try:
                    built[label] = factory(emu)
                    built[label][0]()
                except Exception as exc:  # reported as n/a, not fatal
                    failed[label] = f"{type(exc).__name__}: {str(exc)[:80]}"
                    built.pop(label, None)
            framework_cost.invoke_cost("LangChain", PROMPT, 1)  # imports, before the freeze
            framework_cost.invoke_cost("LlamaIndex", PROMPT, 1)
            with frozen_heap():
                for _ in range(rounds):
                    for framework in ("LangChain", "LlamaIndex"):
                        cost = framework_cost.invoke_cost(framework, PROMPT, calls)
                        walls.setdefault(f"cost {framework}", []).append(cost)
                    _round(built, calls, walls, cpus)
        finally:
            for _, close in built.values():
                close()
    _rows(result, walls, cpus, failed)
    return result


def _round(
    built: dict[str, tuple[Call, Callable[[], None]]],
    calls: int,
    walls: dict[str, list[float]],
    cpus: dict[str, list[float]],
) -> None:
    size = max(1, calls // BATCHES)
    batch_walls: dict[str, list[float]] = {}
    batch_cpus: dict[str, list[float]] = {}
    for _ in range(BATCHES):
        for label, (call, _) in built.items():
            gc.collect()  # the previous batch's garbage is not this one's time
            cpu, start = time.process_time(), time.perf_counter()
            for _ in range(size):
                call()
            batch_walls.setdefault(label, []).append((time.perf_counter() - start) / size)
            batch_cpus.setdefault(label, []).append((time.process_time() - cpu) / size)
    for label in built:
        walls.setdefault(label, []).append(summarize(batch_walls[label]).median)
        cpus.setdefault(label, []).append(summarize(batch_cpus[label]).median)


def _rows(
    result: ScenarioResult,
    walls: dict[str, list[float]],
    cpus: dict[str, list[float]],
    failed: dict[str, str],
) -> None:
    raw = walls[CASES[0][0]]
    floor = summarize(raw).median
    best: dict[str, float] = {}
    for label, kind, framework, _ in CASES:
        if kind == "alternative" and label in walls:
            best[framework] = min(best.get(framework, float("inf")), summarize(walls[label]).median)
    for framework in ("LangChain", "LlamaIndex"):
        costs = walls[f"cost {framework}"]
        values = [r + c for r, c in zip(raw, costs, strict=True)]
        cells = [
            framework,
            summarize(values).scaled(1e6).fmt(".0f"),
            summarize(costs).scaled(1e6).fmt(".0f"),
            "-",
        ]
        label = f"framework floor: raw httpx + {framework}'s own call cost (computed)"
        result.add(Row(label, "floor", cells, ratio(values, floor)))
    for label, kind, framework, _ in CASES:
        if label in failed:
            result.na(label, kind, failed[label])
            continue
        values = walls[label]
        median = summarize(values).median
        goal = "-"
        if kind == "ours":
            ahead = median < best.get(framework, float("inf"))
            limit = CORE_GOAL if framework == "core" else GOAL
            goal = "yes" if median <= limit * floor and ahead else "no"
        cells = [
            framework,
            summarize(values).scaled(1e6).fmt(".0f"),
            summarize([(v - floor) * 1e6 for v in values]).fmt(".0f"),
            summarize(cpus[label]).scaled(1e6).fmt(".0f"),
        ]
        row = Row(label, kind, cells, ratio(values, floor), goal)
        if kind == "floor":
            result.rows.insert(0, row)
        else:
            result.add(row)
