"""Lifecycles, connection pools and bulk work that survives failures (reliability issue).

- One model used across many ``asyncio.run()`` calls, or never closed, leaks no socket and no
  ``ResourceWarning`` (each loop's pool is closed on that loop when it shuts down).
- Waiting for a pooled connection is not the request timeout.
- A bulk embedding keeps finished work: failed batches get a second round; what still fails
  raises ``EmbeddingJobError`` with every finished vector, and the job resumes from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.llms import ChatMessage

import workers_ai
from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index_workers_ai import WorkersAI
from tests.support.emulator import adapter_kwargs
from tests.support.waits import fake_waits
from workers_ai import embedder as embedder_module
from workers_ai.emulator import EmulatorServer, FaultSpec

CHAT = "@cf/meta/llama-3.1-8b-instruct"
BGE = "@cf/baai/bge-small-en-v1.5"


def client_sockets(port: int) -> int:
    """Sockets this process holds open towards ``port`` (the client side of connections to the
    emulator; its own server-side sockets, closed by its thread a moment later, do not count).
    Linux only: ``/proc``; elsewhere 0."""
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        return 0
    inodes = set()
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            target = os.readlink(f"{fd_dir}/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                count += remote_port == port and fields[9] in inodes
    return count


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    """Unraisable exceptions (unclosed sockets/transports report here) seen during the test."""
    gc.collect()  # what earlier tests left behind is not this test's leak
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda info: seen.append(repr(info.exc_value))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        yield seen
    gc.collect()
    sys.unraisablehook = previous


# -- lifecycle ------------------------------------------------------------------------------------
def test_one_model_across_200_event_loops_leaks_nothing(
    emulator: EmulatorServer, unraisable: list[str]
) -> None:
    run_in_many_loops(adapter_kwargs(emulator), loops=200)
    gc.collect()
    assert unraisable == []
    assert client_sockets(emulator.port) == 0  # every loop's pool closed with its loop
    assert emulator.stats()["requests"] == 200


def run_in_many_loops(kw: dict[str, Any], loops: int) -> None:
    """One chat model, embedder and LlamaIndex model used across ``loops`` event loops
    (``asyncio.run`` each time), in turn: chat, embedding, LlamaIndex chat, stream."""
    chat, embeddings = ChatWorkersAI(model=CHAT, **kw), WorkersAIEmbeddings(model=BGE, **kw)
    llama = WorkersAI(model=CHAT, **kw)

    async def stream() -> str:
        return "".join([str(chunk.content) async for chunk in chat.astream("Hi")])

    for i in range(loops):
        if i % 4 == 0:
            asyncio.run(chat.ainvoke("Hi"))
        elif i % 4 == 1:
            asyncio.run(embeddings.aembed_query("Hi"))
        elif i % 4 == 2:
            asyncio.run(llama.achat([ChatMessage(role="user", content="Hi")]))
        else:
            assert asyncio.run(stream())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_models_that_are_never_closed_leak_nothing(
    emulator: EmulatorServer, unraisable: list[str], kind: str
) -> None:
    kw = adapter_kwargs(emulator)

    def use_and_drop() -> None:
        llm = ChatWorkersAI(model=CHAT, **kw)
        if kind == "sync":
            llm.invoke("Hi")
        else:
            asyncio.run(llm.ainvoke("Hi"))

    for _ in range(20):
        use_and_drop()
    gc.collect()
    assert unraisable == []
    assert client_sockets(emulator.port) == 0


def test_aclose_closes_the_pool_of_the_running_loop(emulator: EmulatorServer) -> None:
    async def main() -> httpx.AsyncClient:
        client = workers_ai.AsyncWorkersAIClient(**emulator.client_kwargs())
        await client.run(BGE, {"text": ["hi"]})
        pool = client._http()
        await client.aclose()
        return pool

    assert asyncio.run(main()).is_closed


# -- pool limits and the pool wait ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("timeout", "pool"),
    [(2, 300.0), (600.0, 600.0), ((1.0, 30.0), 300.0), (httpx.Timeout(5.0, pool=0.5), 0.5)],
)
def test_waiting_for_a_pooled_connection_is_not_the_request_timeout(
    timeout: Any, pool: float
) -> None:
    seen: list[dict[str, float | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"result": {"response": "ok"}, "success": True})

    client = workers_ai.WorkersAIClient(
        account_id="acct",
        api_token="tok",
        timeout=timeout,
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    client.run(CHAT, {"prompt": "Hi"})
    assert seen[0]["pool"] == pool


def test_pool_limits_are_configurable_from_every_layer() -> None:
    creds = {"account_id": "acct", "api_key": "tok"}
    client = workers_ai.WorkersAIClient(
        account_id="acct", api_token="tok", max_connections=7, max_keepalive_connections=3
    )
    assert client.settings.limits == httpx.Limits(max_connections=7, max_keepalive_connections=3)
    llm = ChatWorkersAI(**creds, max_connections=7, max_keepalive_connections=3)
    assert llm._settings.limits == client.settings.limits
    with pytest.raises(workers_ai.ConfigurationError, match="max_connections"):
        workers_ai.WorkersAIClient(account_id="acct", api_token="tok", max_connections=-1)


# -- bulk embeddings keep finished work -----------------------------------------------------------
def texts_of(n: int) -> list[str]:
    return [f"chunk {i} about topic {i % 7}" for i in range(n)]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_soak_with_ten_percent_faults_returns_every_vector_in_order(
    emulator: EmulatorServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 texts in batches of 10 with 10 % of requests failing (5xx, resets): every vector
    arrives, at its index, none lost or duplicated (benchmarks/ runs 10,000 texts 5 times)."""
    fake_waits(monkeypatch, client=False, engine=True)
    kw = adapter_kwargs(emulator)
    texts = texts_of(1000)
    clean = WorkersAIEmbeddings(model=BGE, **kw).embed_documents(texts)
    emulator.configure(
        faults=[
            FaultSpec(kind="server_error", probability=0.07),
            FaultSpec(kind="reset", probability=0.03),
        ]
    )
    embeddings = WorkersAIEmbeddings(model=BGE, batch_size=10, max_concurrency=8, **kw)
    if kind == "sync":
        vectors = embeddings.embed_documents(texts)
    else:
        vectors = asyncio.run(embeddings.aembed_documents(texts))
    assert vectors == clean
    faults = emulator.stats()["by_fault"]
    assert faults.get("server_error", 0) + faults.get("reset", 0) >= 5  # ~10 % of ~110 requests


class FlakyService:
    """An ``httpx.MockTransport`` handler embedding like bge-small, failing chosen batches.

    A batch fails while its first text is in ``failing`` (HTTP 500, or ``status``), or only
    for its first ``heal_after`` attempts.
    """

    def __init__(self, failing: set[str], status: int = 500, heal_after: int | None = None):
        self.failing = failing
        self.status = status
        self.heal_after = heal_after
        self.calls = 0
        self.failures = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        texts = json.loads(request.content)["text"]
        if texts[0] in self.failing and (
            self.heal_after is None or self.failures < self.heal_after
        ):
            self.failures += 1
            body = {"success": False, "errors": [{"code": 3000, "message": "boom"}]}
            return httpx.Response(self.status, json=body)
        data = [[float(len(t)), float(i)] for i, t in enumerate(texts)]
        return httpx.Response(200, json={"success": True, "result": {"data": data}})


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FlakyService]:
    """Route the embeddings engine's HTTP through a :class:`FlakyService`; no waits."""
    fake_waits(monkeypatch, client=False, engine=True)

    def install(
        failing: set[str], status: int = 500, heal_after: int | None = None
    ) -> FlakyService:
        service = FlakyService(failing, status, heal_after)
        real = embedder_module.AsyncWorkersAIClient

        def client(**kwargs: Any) -> workers_ai.AsyncWorkersAIClient:
            transport = httpx.MockTransport(service)
            return real(**kwargs, http_client=httpx.AsyncClient(transport=transport))

        monkeypatch.setattr(embedder_module, "AsyncWorkersAIClient", client)
        return service

    return install


def embeddings_for_mock() -> WorkersAIEmbeddings:
    return WorkersAIEmbeddings(
        model=BGE, account_id="acct", api_key="tok", batch_size=10, max_concurrency=4, max_retries=1
    )


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_batch_that_keeps_failing_does_not_throw_the_others_away(
    flaky: Callable[..., FlakyService], kind: str
) -> None:
    texts = texts_of(100)
    service = flaky({texts[30], texts[70]})
    embeddings = embeddings_for_mock()
    with pytest.raises(workers_ai.EmbeddingJobError) as caught:
        if kind == "sync":
            embeddings.embed_documents(texts)
        else:
            asyncio.run(embeddings.aembed_documents(texts))
    error = caught.value
    assert error.failed_indices == (*range(30, 40), *range(70, 80))
    assert [v is None for v in error.vectors] == [i in error.failed_indices for i in range(100)]
    assert error.vectors[0] == [float(len(texts[0])), 0.0]
    assert len(error.errors) == 2 and all(
        isinstance(e, workers_ai.InternalServerError) for e in error.errors
    )
    assert isinstance(error.__cause__, workers_ai.InternalServerError)
    assert "80 vectors are on error.vectors" in str(error)
    # 8 good batches once, 2 bad ones: 2 attempts in the first round and 2 in the second
    assert service.calls == 8 + 2 * 2 * 2

    service.failing.clear()  # the outage is over: resume embeds only the 20 missing texts
    calls_before = service.calls
    if kind == "sync":
        vectors = embeddings.resume_documents(texts, error)
    else:
        vectors = asyncio.run(embeddings.aresume_documents(texts, error))
    assert service.calls - calls_before == 2
    assert vectors[31] == [float(len(texts[31])), 1.0]
    assert all(vectors[i] == error.vectors[i] for i in range(100) if error.vectors[i])


def test_a_transient_failure_heals_in_the_second_round(
    flaky: Callable[..., FlakyService],
) -> None:
    texts = texts_of(50)
    service = flaky({texts[20]}, heal_after=2)  # both first-round attempts of batch 2 fail
    vectors = embeddings_for_mock().embed_documents(texts)
    assert len(vectors) == 50 and vectors[20] == [float(len(texts[20])), 0.0]
    assert service.calls == 4 + 2 + 1  # 4 good batches, 2 failed attempts, 1 in round two


@pytest.mark.parametrize(("status", "fatal"), [(401, True), (400, False)])
def test_errors_every_batch_would_hit_stop_the_job_at_once(
    flaky: Callable[..., FlakyService], status: int, fatal: bool
) -> None:
    texts = texts_of(200)
    service = flaky({texts[0]}, status=status)
    embeddings = WorkersAIEmbeddings(
        model=BGE, account_id="acct", api_key="tok", batch_size=10, max_concurrency=1
    )
    with pytest.raises(workers_ai.EmbeddingJobError) as caught:
        embeddings.embed_documents(texts)
    error = caught.value
    if fatal:  # authentication: the job stops after the first batch, nothing else is tried
        assert service.calls == 1 and "the job stopped at AuthenticationError" in str(error)
        assert len(error.failed_indices) == 200
    else:  # a bad input is that batch's problem: the other 19 finish, no second round for it
        assert service.calls == 20 and error.failed_indices == tuple(range(10))


def test_resume_checks_it_gets_the_same_texts(flaky: Callable[..., FlakyService]) -> None:
    texts = texts_of(30)
    flaky({texts[10]})
    embeddings = embeddings_for_mock()
    with pytest.raises(workers_ai.EmbeddingJobError) as caught:
        embeddings.embed_documents(texts)
    with pytest.raises(workers_ai.InvalidRequestError, match="30 texts"):
        embeddings.resume_documents(texts[:5], caught.value)


# -- a stream read after close says so ------------------------------------------------------------
@pytest.mark.parametrize("closer", ["stream", "client"])
def test_a_stream_read_after_close_says_it_is_closed(emulator: EmulatorServer, closer: str) -> None:
    emulator.configure(stream_event_delay_ms=5.0)
    client = workers_ai.WorkersAIClient(**emulator.client_kwargs())
    stream = client.stream_chat(CHAT, {"messages": [{"role": "user", "content": "Count to 20"}]})
    iterator = iter(stream)
    next(iterator)
    if closer == "stream":
        stream.close()
    else:
        client.close()
    with pytest.raises(workers_ai.StreamError, match="closed before it finished, by") as caught:
        list(iterator) if closer == "client" else list(stream)
    assert ("by the stream" in str(caught.value)) is (closer == "stream")


@pytest.mark.parametrize("closer", ["stream", "client"])
def test_an_async_stream_read_after_close_says_it_is_closed(
    emulator: EmulatorServer, closer: str
) -> None:
    emulator.configure(stream_event_delay_ms=5.0)

    async def main() -> str:
        client = workers_ai.AsyncWorkersAIClient(**emulator.client_kwargs())
        messages = {"messages": [{"role": "user", "content": "Count to 20"}]}
        stream = await client.stream_chat(CHAT, messages)
        iterator = stream.__aiter__()
        await iterator.__anext__()
        if closer == "stream":
            await stream.aclose()
        else:
            await client.aclose()
        with pytest.raises(workers_ai.StreamError) as caught:
            async for _ in iterator if closer == "client" else stream:
                pass
        return str(caught.value)

    message = asyncio.run(main())
    assert "closed before it finished" in message


def test_cancelled_streams_release_their_connections(
    emulator: EmulatorServer, unraisable: list[str]
) -> None:
    """Tasks cancelled mid-stream (a user closing a chat tab) leave no connection behind."""
    emulator.configure(stream_event_delay_ms=2.0)
    llm = ChatWorkersAI(model=CHAT, **adapter_kwargs(emulator))

    async def consume() -> None:
        async for _ in llm.astream("Count slowly to fifty."):
            await asyncio.sleep(0)

    async def main() -> None:
        for _ in range(4):
            tasks = [asyncio.create_task(consume()) for _ in range(10)]
            await asyncio.sleep(0.02)  # a few events in
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
        await llm.aclose()

    asyncio.run(main())
    gc.collect()
    assert unraisable == []
    assert client_sockets(emulator.port) == 0
    assert asyncio.run(llm.ainvoke("Still fine?")).content
