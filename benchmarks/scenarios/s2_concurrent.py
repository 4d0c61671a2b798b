"""Scenario 2: 300 concurrent ``ainvoke`` / ``achat`` calls at 200 ms latency; 2b: throughput
with 128 requests in flight at zero latency, httpx's transport against
``async_transport="aiohttp"``.

Every round builds each client inside a fresh event loop, warms it with one call (lazy clients,
imports), then times ``asyncio.gather`` of 300 calls. The floor is a raw ``httpx.AsyncClient``
(default limits) posting the same 300 requests and decoding the JSON. Clients take turns within
each round, so drift hits them alike. Figure: wall seconds; ratio: to the floor's median.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks.harness import (
    CHAT_MODEL,
    TOKEN,
    Emulator,
    Row,
    ScenarioResult,
    non_200,
    ratio,
    summarize,
)
from benchmarks.scenarios import clients

CALLS = 300
LATENCY_MS = 200.0
GOAL = 1.3

Call = Callable[[int], Awaitable[Any]]
#: (label, kind, coroutine building ``(call, close)`` inside the round's loop)
Factory = Callable[[Emulator], Awaitable[tuple[Call, Callable[[], Awaitable[None]]]]]


def prompt(i: int) -> str:
    return f"Request {i}: say hello to the concurrent benchmark."


async def _raw(
    emu: Emulator, client_class: type[httpx.AsyncClient] = httpx.AsyncClient
) -> tuple[Call, Callable[[], Awaitable[None]]]:
    client = client_class(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    url = emu.run_url(CHAT_MODEL)

    async def call(i: int) -> Any:
        body = {"messages": [{"role": "user", "content": prompt(i)}]}
        response = await client.post(url, json=body)
        response.raise_for_status()
        return response.json()["result"]["response"]

    return call, client.aclose


async def _core(emu: Emulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
    client = clients.core_async_client(emu)

    async def call(i: int) -> Any:
        body = {"messages": [{"role": "user", "content": prompt(i)}]}
        return (await client.chat(CHAT_MODEL, body)).result.text

    return call, client.aclose


def _lc(make: Callable[[Emulator], Any]) -> Factory:
    async def factory(emu: Emulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
        llm = make(emu)

        async def call(i: int) -> Any:
            return (await llm.ainvoke(prompt(i))).content

        return call, _closer(llm)

    return factory


def _li(make: Callable[[Emulator], Any]) -> Factory:
    from llama_index.core.llms import ChatMessage

    async def factory(emu: Emulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
        llm = make(emu)

        async def call(i: int) -> Any:
            reply = await llm.achat([ChatMessage(role="user", content=prompt(i))])
            return reply.message.content

        return call, _closer(llm)

    return factory


def _closer(obj: Any) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        await clients.aclose(obj)

    return close


def cases() -> list[tuple[str, str, str, Factory]]:
    return [
        ("raw httpx.AsyncClient (floor)", "floor", "-", _raw),
        ("core AsyncWorkersAIClient.chat (no framework)", "ours", "core", _core),
        ("ChatWorkersAI.ainvoke", "ours", "LangChain", _lc(clients.chat_workers_ai)),
        ("WorkersAI.achat", "ours", "LlamaIndex", _li(clients.llama_workers_ai)),
        (
            "langchain-cloudflare ChatCloudflareWorkersAI.ainvoke",
            "alternative",
            "LangChain",
            _lc(clients.chat_cloudflare),
        ),
        (
            "langchain-openai ChatOpenAI.ainvoke (/ai/v1)",
            "alternative",
            "LangChain",
            _lc(clients.chat_openai),
        ),
        (
            "llama-index OpenAILike.achat (/ai/v1)",
            "alternative",
            "LlamaIndex",
            _li(clients.openai_like),
        ),
    ]


async def _round(emu: Emulator, factory: Factory, calls: int) -> float:
    call, close = await factory(emu)
    try:
        await call(-1)
        start = time.perf_counter()
        replies = await asyncio.gather(*(call(i) for i in range(calls)))
        wall = time.perf_counter() - start
    finally:
        await close()
    assert len(replies) == calls and all(replies)
    return wall


def run(rounds: int, quick: bool) -> list[ScenarioResult]:
    """Tables 2 and 2b."""
    return [run_latency(rounds, quick), run_throughput(rounds, quick)]


def run_latency(rounds: int, quick: bool) -> ScenarioResult:
    rounds = rounds if quick else max(rounds, 5)  # rounds are cheap here: a few seconds
    calls = 60 if quick else CALLS
    result = ScenarioResult(
        number="2",
        title=f"Concurrent chat: {calls} concurrent calls",
        setup=[],
        columns=["framework", "wall s", "non-200"],
        ratio_label="wall / raw httpx",
        goal_line=GOAL,
    )
    walls: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    failed: dict[str, str] = {}
    with Emulator(latency_ms=LATENCY_MS) as emu:
        result.setup = [
            f"Emulator: {emu.describe()}; {calls} `ainvoke`/`achat` calls started at once "
            f"(`asyncio.gather`), model {CHAT_MODEL}, each client fresh in each round's event "
            "loop and warmed with one call.",
            f"Median of {rounds} rounds (min, max); clients take turns within each round.",
            f"Goal: ours within {GOAL}x of the raw httpx floor and ahead of every alternative "
            "of the same framework.",
            f"Latency bound: {LATENCY_MS / 1000:.2f} s with all {calls} calls in flight; "
            f"{_pool_bound(calls):.2f} s with httpx's default 100-connection pool (the raw "
            "floor's, and this project's; the openai SDK allows 1,000).",
        ]
        for _ in range(rounds):
            for label, _, _, factory in cases():
                if label in failed:
                    continue
                gc.collect()  # the previous client's garbage is not this one's time
                emu.reset()
                try:
                    walls.setdefault(label, []).append(asyncio.run(_round(emu, factory, calls)))
                except Exception as exc:  # an alternative that breaks is reported, not fatal
                    failed[label] = f"{type(exc).__name__}: {str(exc)[:80]}"
                    continue
                errors[label] = max(errors.get(label, 0), non_200(emu.stats()))
    _rows(result, walls, errors, failed)
    return result


def _rows(
    result: ScenarioResult,
    walls: dict[str, list[float]],
    errors: dict[str, int],
    failed: dict[str, str],
) -> None:
    table = cases()
    floor = summarize(walls[table[0][0]]).median
    best: dict[str, float] = {}
    for label, kind, framework, _ in table:
        if kind == "alternative" and label in walls:
            best[framework] = min(best.get(framework, float("inf")), summarize(walls[label]).median)
    for label, kind, framework, _ in table:
        if label in failed:
            result.na(label, kind, failed[label])
            continue
        wall = summarize(walls[label])
        goal = "-"
        if kind == "ours":
            ahead = wall.median < best.get(framework, float("inf"))
            goal = "yes" if wall.median <= GOAL * floor and ahead else "no"
        cells = [framework, wall.fmt(), str(errors[label])]
        result.add(Row(label, kind, cells, ratio(walls[label], floor), goal))


def _pool_bound(calls: int) -> float:
    waves = -(-calls // 100)
    return waves * LATENCY_MS / 1000


# -- 2b: throughput at zero latency --------------------------------------------------------------
IN_FLIGHT = 128
THROUGHPUT_CALLS = 1_280
SPEEDUP_GOAL = 5.0

#: (label, kind, framework, transport, factory taking the transport's client options)
ThroughputCase = tuple[str, str, str, str, Factory]


async def _raw_aiohttp(emu: Emulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from httpx_aiohttp import HttpxAiohttpClient

    return await _raw(emu, HttpxAiohttpClient)


def _core_with(transport: str) -> Factory:
    async def factory(emu: Emulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
        from workers_ai import AsyncWorkersAIClient

        client = AsyncWorkersAIClient(
            account_id=clients.ACCOUNT,
            api_token=TOKEN,
            base_url=emu.base_url,
            async_transport=transport,
        )

        async def call(i: int) -> Any:
            body = {"messages": [{"role": "user", "content": prompt(i)}]}
            return (await client.chat(CHAT_MODEL, body)).result.text

        return call, client.aclose

    return factory


def throughput_cases() -> list[ThroughputCase]:
    """Each of this project's clients with the default transport, then with aiohttp."""
    cases: list[ThroughputCase] = [
        ("raw httpx.AsyncClient, default limits", "floor", "-", "httpx", _raw),
        ("raw httpx-aiohttp HttpxAiohttpClient", "floor", "-", "aiohttp", _raw_aiohttp),
    ]
    for transport in ("httpx", "aiohttp"):
        option = f'async_transport="{transport}"'
        cases += [
            (f"core AsyncWorkersAIClient.chat, {option}", "ours", "core", transport,
             _core_with(transport)),
            (f"ChatWorkersAI.ainvoke, {option}", "ours", "LangChain", transport,
             _lc(lambda emu, t=transport: clients.chat_workers_ai(emu, async_transport=t))),
            (f"WorkersAI.achat, {option}", "ours", "LlamaIndex", transport,
             _li(lambda emu, t=transport: clients.llama_workers_ai(emu, async_transport=t))),
        ]  # fmt: skip
    return cases


async def _throughput_round(emu: Emulator, factory: Factory, calls: int) -> float:
    """Seconds for ``calls`` calls, ``IN_FLIGHT`` at a time (workers taking the next number)."""
    call, close = await factory(emu)
    numbers = iter(range(calls))
    replies: list[Any] = []

    async def worker() -> None:
        for i in numbers:
            replies.append(await call(i))

    try:
        await asyncio.gather(*(call(-1 - i) for i in range(IN_FLIGHT)))  # open the connections
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        wall = time.perf_counter() - start
    finally:
        await close()
    assert len(replies) == calls and all(replies)
    return wall


def run_throughput(rounds: int, quick: bool) -> ScenarioResult:
    rounds = rounds if quick else max(rounds, 5)
    calls = 256 if quick else THROUGHPUT_CALLS
    result = ScenarioResult(
        number="2b",
        title=f"Throughput: {calls} chats, {IN_FLIGHT} in flight, zero latency",
        setup=[],
        columns=["framework", "transport", "req/s", "x its httpx-transport rate", "non-200"],
        ratio_label="wall / raw httpx",
        goal_line=None,  # the goal is to each client's own httpx-transport row
    )
    walls: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    with Emulator(latency_ms=0.0) as emu:
        result.setup = [
            f"Emulator: {emu.describe()}; {IN_FLIGHT} workers each sending its next chat as "
            f"soon as its last one is answered, {calls} in all, model {CHAT_MODEL}; every "
            f"client fresh in each round's event loop, its {IN_FLIGHT} connections opened by a "
            "first untimed wave.",
            f"Median of {rounds} rounds (min, max); clients take turns within each round.",
            f'Goal: with `async_transport="aiohttp"` (the `aiohttp` extra) each of this '
            f"project's clients serves >= {SPEEDUP_GOAL:g}x the requests per second of the "
            "same client on httpx's own transport with its default limits (100 connections).",
            "The emulator (uvicorn, one process) shares the 2 cores with the client, so the "
            "fastest rows measure the pair, not the client alone.",
        ]
        for _ in range(rounds):
            for label, _, _, _, factory in throughput_cases():
                gc.collect()
                emu.reset()
                walls.setdefault(label, []).append(
                    asyncio.run(_throughput_round(emu, factory, calls))
                )
                errors[label] = max(errors.get(label, 0), non_200(emu.stats()))
    table = throughput_cases()
    floor = summarize(walls[table[0][0]]).median
    default_wall = {
        framework: summarize(walls[label]).median
        for label, kind, framework, transport, _ in table
        if kind == "ours" and transport == "httpx"
    }
    for label, kind, framework, transport, _ in table:
        wall = summarize(walls[label])
        speedup = "-"
        goal = "-"
        if kind == "ours":
            times = default_wall[framework] / wall.median
            speedup = f"{times:.1f}x"
            if transport == "aiohttp":
                goal = "yes" if times >= SPEEDUP_GOAL else "no"
        cells = [
            framework,
            transport,
            f"{calls / wall.median:,.0f}",
            speedup,
            str(errors[label]),
        ]
        result.add(Row(label, kind, cells, ratio(walls[label], floor), goal))
    return result
