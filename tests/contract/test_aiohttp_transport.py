"""``async_transport="aiohttp"``: the async client sends with aiohttp and behaves the same.

Chat, streams and embeddings, through the core client and both frameworks' classes, go through
``httpx_aiohttp.AiohttpTransport`` (counted), against the emulator. Typed errors, the one retry
policy, timeouts and the per-loop pools (closed with their loop: no ``ResourceWarning``, no
socket left open) are those of the default transport. Without the ``aiohttp`` extra, selecting it
fails at construction with a ``ConfigurationError`` naming the extra. An injected async client is
used as given, and sync methods keep httpx.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport, HttpxAiohttpClient
from langchain_core.documents import Document
from llama_index.core.llms import ChatMessage

import workers_ai
from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings, WorkersAIReranker
from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding
from tests.contract.test_reliability import (  # noqa: F401 - unraisable: a fixture
    client_sockets,
    run_in_many_loops,
    unraisable,
)
from tests.support.emulator import adapter_kwargs
from tests.support.waits import Waits, fake_waits
from workers_ai.emulator import EmulatorServer, FaultSpec

CHAT = "@cf/meta/llama-3.1-8b-instruct"
BGE = "@cf/baai/bge-small-en-v1.5"
RERANK = "@cf/baai/bge-reranker-base"
MESSAGES = {"messages": [{"role": "user", "content": "Hello"}]}
AIOHTTP = {"async_transport": "aiohttp"}
INSTALL = 'pip install "workers-ai-python[aiohttp]"'


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL path of every request the aiohttp transport sent during the test."""
    paths: list[str] = []
    original = AiohttpTransport.handle_async_request

    async def counted(self: AiohttpTransport, request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return await original(self, request)

    monkeypatch.setattr(AiohttpTransport, "handle_async_request", counted)
    return paths


@pytest.fixture
def leaks(request: pytest.FixtureRequest) -> list[str]:
    """Unraisable exceptions (unclosed sessions and sockets report there) seen during the test:
    test_reliability's ``unraisable`` fixture."""
    seen: list[str] = request.getfixturevalue("unraisable")
    return seen


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    """Retry waits recorded, not slept."""
    return fake_waits(monkeypatch, engine=True, clock=True)


def core(emulator: EmulatorServer, **kw: Any) -> workers_ai.AsyncWorkersAIClient:
    return workers_ai.AsyncWorkersAIClient(**emulator.client_kwargs(), **AIOHTTP, **kw)


async def _text(stream: Any) -> str:
    return "".join([delta.text async for delta in stream])


# -- every surface goes through aiohttp --------------------------------------------------------
async def _core_chat(emu: EmulatorServer) -> Any:
    async with core(emu) as client:
        return (await client.chat(CHAT, MESSAGES)).result.text


async def _core_stream(emu: EmulatorServer) -> Any:
    async with core(emu) as client:
        return await _text(await client.stream_chat(CHAT, MESSAGES))


async def _core_embed(emu: EmulatorServer) -> Any:
    async with core(emu) as client:
        return (await client.run(BGE, {"text": ["a", "b"]}))["data"]


async def _lc_chat(emu: EmulatorServer) -> Any:
    return (await ChatWorkersAI(model=CHAT, **adapter_kwargs(emu), **AIOHTTP).ainvoke("Hi")).content


async def _lc_stream(emu: EmulatorServer) -> Any:
    llm = ChatWorkersAI(model=CHAT, **adapter_kwargs(emu), **AIOHTTP)
    return "".join([str(chunk.content) async for chunk in llm.astream("Hi")])


async def _lc_embed(emu: EmulatorServer) -> Any:
    emb = WorkersAIEmbeddings(model=BGE, **adapter_kwargs(emu), **AIOHTTP)
    return await emb.aembed_documents(["a", "b", "c"])


async def _lc_rerank(emu: EmulatorServer) -> Any:
    reranker = WorkersAIReranker(model=RERANK, **adapter_kwargs(emu), **AIOHTTP)
    docs = [Document(page_content="Paris is the capital"), Document(page_content="Bananas")]
    return await reranker.acompress_documents(docs, "capital of France")


async def _li_chat(emu: EmulatorServer) -> Any:
    llm = WorkersAI(model=CHAT, **adapter_kwargs(emu), **AIOHTTP)
    return (await llm.achat([ChatMessage(role="user", content="Hi")])).message.content


async def _li_stream(emu: EmulatorServer) -> Any:
    llm = WorkersAI(model=CHAT, **adapter_kwargs(emu), **AIOHTTP)
    stream = await llm.astream_chat([ChatMessage(role="user", content="Hi")])
    return "".join([reply.delta or "" async for reply in stream])


async def _li_embed(emu: EmulatorServer) -> Any:
    emb = WorkersAIEmbedding(model_name=BGE, **adapter_kwargs(emu), **AIOHTTP)
    return await emb.aget_text_embedding_batch(["a", "b", "c"])


SURFACES: dict[str, Callable[[EmulatorServer], Awaitable[Any]]] = {
    "core-chat": _core_chat,
    "core-stream": _core_stream,
    "core-embed": _core_embed,
    "lc-chat": _lc_chat,
    "lc-stream": _lc_stream,
    "lc-embed": _lc_embed,
    "lc-rerank": _lc_rerank,
    "li-chat": _li_chat,
    "li-stream": _li_stream,
    "li-embed": _li_embed,
}


@pytest.mark.parametrize("surface", SURFACES)
def test_every_async_surface_sends_through_aiohttp(
    emulator: EmulatorServer, sent: list[str], surface: str
) -> None:
    value = asyncio.run(SURFACES[surface](emulator))

    assert value
    assert len(sent) == emulator.stats()["requests"] >= 1


def test_the_async_pool_is_an_aiohttp_client_with_the_settings(emulator: EmulatorServer) -> None:
    async def main() -> HttpxAiohttpClient:
        client = core(emulator, timeout=(2.0, 30.0), max_connections=7)
        await client.run(BGE, {"text": ["a"]})
        pool = client._http()
        assert isinstance(pool, HttpxAiohttpClient)
        assert pool.timeout == httpx.Timeout(30.0, connect=2.0, pool=300.0)
        await client.aclose()
        return pool

    assert asyncio.run(main()).is_closed


def test_streams_and_the_whole_answer_match_the_default_transport(
    emulator: EmulatorServer,
) -> None:
    async def both(**kw: Any) -> tuple[str, str]:
        async with workers_ai.AsyncWorkersAIClient(**emulator.client_kwargs(), **kw) as client:
            whole = (await client.chat(CHAT, MESSAGES)).result.text
            streamed = await _text(await client.stream_chat(CHAT, MESSAGES))
        return whole, streamed

    assert asyncio.run(both(**AIOHTTP)) == asyncio.run(both())


# -- errors, retries, timeouts ------------------------------------------------------------------
def test_a_transient_server_error_is_retried(
    emulator: EmulatorServer, sent: list[str], waits: Waits
) -> None:
    emulator.configure(faults=[FaultSpec(kind="server_error", count=1)])

    assert asyncio.run(_core_chat(emulator))
    assert len(sent) == 2
    assert len(waits.delays) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("reset", workers_ai.APIConnectionError),
        ("reset_mid_body", workers_ai.APIConnectionError),
        ("capacity", workers_ai.CapacityError),
        ("server_error", workers_ai.InternalServerError),
        ("malformed_json", workers_ai.APIError),
    ],
)
def test_a_persistent_fault_ends_in_its_typed_error_after_the_retries(
    emulator: EmulatorServer, sent: list[str], waits: Waits, fault: str, error: type[Exception]
) -> None:
    emulator.configure(faults=[FaultSpec(kind=fault)])

    with pytest.raises(error) as raised:
        asyncio.run(_core_chat(emulator))

    if fault.startswith("reset"):  # a dropped connection, not a timeout
        assert not isinstance(raised.value, workers_ai.APITimeoutError)
    retried = fault != "malformed_json"
    assert len(sent) == (3 if retried else 1)  # max_retries=2 by default
    assert len(waits.delays) == len(sent) - 1


def test_a_reset_through_a_framework_is_the_same_typed_error(
    emulator: EmulatorServer, waits: Waits
) -> None:
    emulator.configure(faults=[FaultSpec(kind="reset")])
    llm = ChatWorkersAI(model=CHAT, **adapter_kwargs(emulator), **AIOHTTP, max_retries=1)

    with pytest.raises(workers_ai.APIConnectionError):
        asyncio.run(llm.ainvoke("Hi"))
    assert emulator.stats()["requests"] == 2


def test_a_stream_cut_after_its_first_tokens_is_not_retried(
    emulator: EmulatorServer, sent: list[str], waits: Waits
) -> None:
    emulator.configure(faults=[FaultSpec(kind="stream_cut", after=3)])

    async def main() -> tuple[list[str], BaseException | None]:
        tokens: list[str] = []
        async with core(emulator) as client:
            try:
                async for delta in await client.stream_chat(CHAT, MESSAGES):
                    tokens.append(delta.text)
            except workers_ai.StreamError as error:
                return tokens, error
        return tokens, None

    tokens, error = asyncio.run(main())
    assert isinstance(error, workers_ai.StreamError)
    assert "".join(tokens)
    assert len(sent) == 1


@pytest.mark.parametrize("where", ["client", "call"])
def test_timeouts_apply(emulator: EmulatorServer, sent: list[str], where: str) -> None:
    emulator.configure(faults=[FaultSpec(kind="slow_first_byte", after=3000)])

    async def main() -> None:
        if where == "client":
            async with core(emulator, timeout=0.3, max_retries=0) as client:
                await client.chat(CHAT, MESSAGES)
        else:
            async with core(emulator, max_retries=0) as client:
                await client.chat(CHAT, MESSAGES, timeout=(5.0, 0.3))

    with pytest.raises(workers_ai.APITimeoutError, match="timed out"):
        asyncio.run(main())
    assert len(sent) == 1


# -- lifecycle ----------------------------------------------------------------------------------
def test_many_event_loops_leak_no_socket_and_no_warning(
    emulator: EmulatorServer, leaks: list[str]
) -> None:
    run_in_many_loops({**adapter_kwargs(emulator), **AIOHTTP}, loops=24)
    gc.collect()
    assert leaks == []
    assert client_sockets(emulator.port) == 0  # every loop's aiohttp session closed with it
    assert emulator.stats()["requests"] == 24


def test_clients_that_are_never_closed_leak_nothing(
    emulator: EmulatorServer, leaks: list[str]
) -> None:
    async def use_and_drop() -> None:
        client = core(emulator)
        await client.run(BGE, {"text": ["a"]})

    for _ in range(10):
        asyncio.run(use_and_drop())
    gc.collect()
    assert leaks == []
    assert client_sockets(emulator.port) == 0


# -- choosing it --------------------------------------------------------------------------------
@pytest.fixture
def without_the_extra(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``httpx_aiohttp`` cannot be imported, as where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    yield


@pytest.mark.usefixtures("without_the_extra")
@pytest.mark.parametrize(
    "build",
    [
        lambda: workers_ai.AsyncWorkersAIClient(account_id="a", api_token="t", **AIOHTTP),
        lambda: workers_ai.resolve_settings(account_id="a", api_token="t", **AIOHTTP),
        lambda: ChatWorkersAI(account_id="a", api_key="t", **AIOHTTP),
        lambda: WorkersAIEmbeddings(model=BGE, account_id="a", api_key="t", **AIOHTTP),
        lambda: WorkersAI(account_id="a", api_key="t", **AIOHTTP),
        lambda: WorkersAIEmbedding(model_name=BGE, account_id="a", api_key="t", **AIOHTTP),
    ],
)
def test_without_the_extra_choosing_aiohttp_fails_naming_it(build: Callable[[], Any]) -> None:
    with pytest.raises(workers_ai.ConfigurationError, match=r"workers-ai-python\[aiohttp\]"):
        build()


def test_an_extra_that_fails_to_import_later_names_it_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = workers_ai.AsyncWorkersAIClient(account_id="a", api_token="t", **AIOHTTP)
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)

    async def main() -> None:
        client._http()

    with pytest.raises(workers_ai.ConfigurationError) as raised:
        asyncio.run(main())
    assert INSTALL in str(raised.value)


def test_an_unknown_transport_is_a_configuration_error() -> None:
    with pytest.raises(workers_ai.ConfigurationError, match="async_transport='curl'"):
        workers_ai.AsyncWorkersAIClient(
            account_id="a",
            api_token="t",
            async_transport="curl",  # type: ignore[typeddict-item]
        )


def test_an_injected_async_client_wins(emulator: EmulatorServer, sent: list[str]) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"result": {"response": "injected"}, "success": True})

    async def main() -> Any:
        injected = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        llm = ChatWorkersAI(
            model=CHAT, **adapter_kwargs(emulator), **AIOHTTP, http_async_client=injected
        )
        reply = await llm.ainvoke("Hi")
        await injected.aclose()
        return reply.content

    assert asyncio.run(main()) == "injected"
    assert len(seen) == 1
    assert sent == []


def test_sync_methods_keep_httpx(emulator: EmulatorServer, sent: list[str]) -> None:
    llm = ChatWorkersAI(model=CHAT, **adapter_kwargs(emulator), **AIOHTTP)

    assert llm.invoke("Hi").content
    assert sent == []
    assert emulator.stats()["requests"] == 1
