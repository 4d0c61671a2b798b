"""Scenario 4: one 2,000-token stream at zero latency; time to first token and tokens/second.

The emulator streams one SSE event per token. The prompt is retrieval-style (a system message
with one 2,100-word sentence, then "Question: ..."), so the stand-in model quotes that sentence
and ``max_tokens=2000`` cuts it at exactly 2,000 tokens. The floor is a raw ``httpx.Client``
stream that splits lines, decodes each ``data:`` JSON and takes its text: the least any client
must do. Figures: time to the first non-empty text chunk, and 2,000 / (time to the last
chunk). Ratios: time to first token over the floor's, and stream duration over the floor's.
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from benchmarks.harness import (
    CHAT_MODEL,
    TOKEN,
    Emulator,
    Row,
    ScenarioResult,
    Summary,
    frozen_heap,
    ratio,
    summarize,
)
from benchmarks.scenarios import clients, framework_cost
from workers_ai.emulator.standins import split_tokens

TOKENS = 2_000
GOAL = 1.3  # the core: stream time over raw
ADAPTER_GOAL = 1.15  # an adapter: stream time over its framework's floor
TTFT_GOAL = 1.05  # time to first token over raw
SENTENCE = "The stream carries " + " ".join(f"token{i}" for i in range(2_100)) + "."
SYSTEM = f"Context:\n{SENTENCE}"
QUESTION = "Question: what does the stream carry?"

#: A factory returns (a function yielding text pieces, a closer).
Stream = Callable[[], Iterator[str]]
Factory = Callable[[Emulator], tuple[Stream, Callable[[], None]]]


def _raw(emu: Emulator) -> tuple[Stream, Callable[[], None]]:
    client = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    url = emu.run_url(CHAT_MODEL)
    body = {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        "max_tokens": TOKENS,
        "stream": True,
    }

    def stream() -> Iterator[str]:
        with client.stream("POST", url, json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    yield json.loads(line[6:]).get("response") or ""

    return stream, client.close


def _core(emu: Emulator) -> tuple[Stream, Callable[[], None]]:
    client = clients.core_client(emu)
    body = {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        "max_tokens": TOKENS,
    }

    def stream() -> Iterator[str]:
        for delta in client.stream_chat(CHAT_MODEL, body):
            yield delta.text

    return stream, client.close


def _lc(make: Callable[..., Any]) -> Factory:
    def factory(emu: Emulator) -> tuple[Stream, Callable[[], None]]:
        from langchain_core.messages import HumanMessage, SystemMessage

        llm = make(emu, max_tokens=TOKENS)
        messages = [SystemMessage(SYSTEM), HumanMessage(QUESTION)]

        def stream() -> Iterator[str]:
            for chunk in llm.stream(messages):
                yield chunk.text

        return stream, lambda: clients.close(llm)

    return factory


def _li(make: Callable[..., Any]) -> Factory:
    def factory(emu: Emulator) -> tuple[Stream, Callable[[], None]]:
        from llama_index.core.llms import ChatMessage

        llm = make(emu, max_tokens=TOKENS)
        messages = [
            ChatMessage(role="system", content=SYSTEM),
            ChatMessage(role="user", content=QUESTION),
        ]

        def stream() -> Iterator[str]:
            for chunk in llm.stream_chat(messages):
                yield chunk.delta or ""

        return stream, lambda: clients.close(llm)

    return factory


CASES: list[tuple[str, str, str, Factory]] = [
    ("raw httpx.Client + SSE parsing (floor)", "floor", "-", _raw),
    ("core WorkersAIClient.stream_chat (no framework)", "ours", "core", _core),
    ("ChatWorkersAI.stream", "ours", "LangChain", _lc(clients.chat_workers_ai)),
    ("WorkersAI.stream_chat", "ours", "LlamaIndex", _li(clients.llama_workers_ai)),
    (
        "langchain-cloudflare ChatCloudflareWorkersAI.stream",
        "alternative",
        "LangChain",
        _lc(clients.chat_cloudflare),
    ),
    (
        "langchain-openai ChatOpenAI.stream (/ai/v1)",
        "alternative",
        "LangChain",
        _lc(clients.chat_openai),
    ),
    (
        "llama-index OpenAILike.stream_chat (/ai/v1)",
        "alternative",
        "LlamaIndex",
        _li(clients.openai_like),
    ),
]


def measure(stream: Stream) -> tuple[float, float, str]:
    """(seconds to the first non-empty piece, seconds to the end, the whole text)."""
    pieces: list[str] = []
    first = 0.0
    start = time.perf_counter()
    for piece in stream():
        if piece and not first:
            first = time.perf_counter() - start
        pieces.append(piece)
    return first, time.perf_counter() - start, "".join(pieces)


def run(rounds: int, quick: bool) -> list[ScenarioResult]:
    """Two tables: with the heap frozen (``gc.freeze``: only the stream's own garbage is
    collected) and with the garbage collector live, as applications run."""
    return [_run(rounds, quick, frozen=True), _run(rounds, quick, frozen=False)]


def _run(rounds: int, quick: bool, *, frozen: bool) -> ScenarioResult:
    streams = rounds * 3 if quick else max(rounds * 4, 15)
    heap = "gc.freeze: the heap built before is frozen" if frozen else "gc live, as apps run"
    result = ScenarioResult(
        number="4" if frozen else "4b",
        title=f"Streaming: one {TOKENS:,}-token stream ({heap})",
        setup=[],
        columns=["framework", "first token ms", "tokens/s", "TTFT / raw", "/ framework floor"],
        ratio_label="stream time / raw",
        goal_line=GOAL,
    )
    firsts: dict[str, list[float]] = {}
    totals: dict[str, list[float]] = {}
    failed: dict[str, str] = {}
    with Emulator(latency_ms=0.0) as emu:
        result.setup = [
            f"Emulator: {emu.describe()}, no pause between events; one SSE event per token, "
            f"{TOKENS:,} tokens (`max_tokens={TOKENS}`), model {CHAT_MODEL}.",
            f"Median of {streams} streams per client (min, max); clients take turns.",
            "The `framework floor` rows add the framework's own cost of 2,000 chunks (a no-I/O "
            "stand-in model's `stream`/`stream_chat` yielding the same pieces, measured with "
            "each round) to the raw floor: what any integration of that framework pays.",
            f"Goals: time to first token within {TTFT_GOAL}x of raw; stream time: the core "
            f"within {GOAL}x of raw httpx + SSE parsing, each adapter within {ADAPTER_GOAL}x "
            "of its framework floor; every one of ours ahead of the alternatives of its "
            "framework.",
            "Heap: "
            + (
                "everything alive before the measurements is frozen (`gc.freeze`), so a "
                "collection during a stream only walks that stream's own objects."
                if frozen
                else "the garbage collector is live (no `gc.freeze`): the cost applications "
                "see, where a framework that keeps every chunk pays for the collections."
            ),
        ]
        built: dict[str, tuple[Stream, Callable[[], None]]] = {}
        expected = ""
        try:
            for label, _, _, factory in CASES:
                try:
                    built[label] = factory(emu)
                    text = measure(built[label][0])[2]  # warm-up, and the text to compare
                    expected = expected or text
                    if len(text) < 0.9 * len(expected):
                        raise RuntimeError(f"short stream: {len(text)} of {len(expected)} chars")
                except Exception as exc:  # reported as n/a, not fatal
                    failed[label] = f"{type(exc).__name__}: {str(exc)[:80]}"
            pieces = split_tokens(expected)[:TOKENS]
            messages = _stand_in_messages()
            with frozen_heap() if frozen else contextlib.nullcontext():
                for _ in range(streams):
                    for framework, stand_in in messages.items():
                        cost = framework_cost.stream_cost(framework, pieces, stand_in)
                        totals.setdefault(f"cost {framework}", []).append(cost)
                    for label, (stream, _) in built.items():
                        if label in failed:
                            continue
                        gc.collect()  # the previous stream's garbage is not this one's time
                        first, total, _ = measure(stream)
                        firsts.setdefault(label, []).append(first)
                        totals.setdefault(label, []).append(total)
        finally:
            for _, close in built.values():
                close()
    _rows(result, firsts, totals, failed)
    return result


def _rows(
    result: ScenarioResult,
    firsts: dict[str, list[float]],
    totals: dict[str, list[float]],
    failed: dict[str, str],
) -> None:
    floor = _Floor(firsts[CASES[0][0]], totals[CASES[0][0]])
    for fw in ("LangChain", "LlamaIndex"):
        costs = totals[f"cost {fw}"]
        floor.framework_floor[fw] = summarize(
            [r + c for r, c in zip(floor.totals, costs, strict=True)]
        ).median
    for label, kind, framework, _ in CASES:
        if kind == "alternative" and label in totals:
            floor.best[framework] = min(
                floor.best.get(framework, float("inf")), summarize(totals[label]).median
            )
    for label, kind, framework, _ in CASES:
        if label in failed:
            result.na(label, kind, failed[label])
            continue
        result.add(floor.row(label, kind, framework, firsts[label], totals[label]))
        if kind == "floor":
            for fw in ("LangChain", "LlamaIndex"):
                result.add(floor.framework_row(fw, totals[f"cost {fw}"]))


class _Floor:
    """The raw floor's figures, and the rows measured against them."""

    def __init__(self, firsts: list[float], totals: list[float]) -> None:
        self.totals = totals
        self.first = summarize(firsts).median
        self.total = summarize(totals).median
        self.best: dict[str, float] = {}
        self.framework_floor: dict[str, float] = {}

    def row(
        self, label: str, kind: str, framework: str, firsts: list[float], totals: list[float]
    ) -> Row:
        first_ratio = ratio(firsts, self.first)
        total_ratio = ratio(totals, self.total)
        floor = self.framework_floor.get(framework)
        floor_ratio = ratio(totals, floor) if floor else None
        goal = "-"
        if kind == "ours":
            within = (
                floor_ratio.median <= ADAPTER_GOAL
                if floor_ratio is not None
                else total_ratio.median <= GOAL
            )
            ahead = summarize(totals).median < self.best.get(framework, float("inf"))
            quick_start = first_ratio.median <= TTFT_GOAL
            goal = "yes" if within and ahead and quick_start else "no"
        cells = [
            framework,
            summarize(firsts).scaled(1000).fmt(".1f"),
            _rates(totals).fmt(",.0f"),
            first_ratio.fmt(),
            floor_ratio.fmt() if floor_ratio is not None else "-",
        ]
        return Row(label, kind, cells, total_ratio, goal)

    def framework_row(self, framework: str, costs: list[float]) -> Row:
        totals = [r + c for r, c in zip(self.totals, costs, strict=True)]
        label = f"framework floor: raw + {framework}'s own cost of {TOKENS:,} chunks (computed)"
        cells = [framework, "-", _rates(totals).fmt(",.0f"), "-", "1.00"]
        return Row(label, "floor", cells, ratio(totals, self.total))


def _rates(totals: list[float]) -> Summary:
    return Summary(
        TOKENS / summarize(totals).median, TOKENS / max(totals), TOKENS / min(totals), len(totals)
    )


def _stand_in_messages() -> dict[str, Any]:
    from langchain_core.messages import HumanMessage, SystemMessage
    from llama_index.core.llms import ChatMessage

    return {
        "LangChain": [SystemMessage(SYSTEM), HumanMessage(QUESTION)],
        "LlamaIndex": [
            ChatMessage(role="system", content=SYSTEM),
            ChatMessage(role="user", content=QUESTION),
        ],
    }
