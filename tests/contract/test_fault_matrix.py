"""The fault matrix: every emulator fault x sync/async x chat/stream/embeddings x both frameworks.

Each cell asserts what a user would notice: the call succeeds (the one retry policy retried a
transient fault), or it ends in the package's typed error after the attempts the policy allows,
and a stream that already handed out tokens is never retried (no token twice). Retry waits are
recorded, not slept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from llama_index.core.llms import ChatMessage

import workers_ai
from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding
from tests.support.emulator import adapter_kwargs, clean_emulator
from tests.support.waits import fake_waits
from workers_ai.emulator import EmulatorServer, FaultSpec

CHAT = "@cf/meta/llama-3.1-8b-instruct"
BGE = "@cf/baai/bge-small-en-v1.5"
TEXTS = ["alpha beta", "gamma delta", "epsilon"]
PROMPT = "Tell me about edge computing in a few sentences."
STREAMS = ("lc-stream", "li-stream")
EMBEDDINGS = ("lc-embed", "li-embed")
SURFACES = ("lc-chat", "lc-stream", "lc-embed", "li-chat", "li-stream", "li-embed")
#: Fault -> the typed error a call ends in when the fault never stops.
PERSISTENT = {
    "capacity": workers_ai.CapacityError,
    "rate_limit": workers_ai.RateLimitError,
    "server_error": workers_ai.InternalServerError,
    "unavailable": workers_ai.InternalServerError,
    "bad_gateway": workers_ai.InternalServerError,
    "reset": workers_ai.APIConnectionError,
    "reset_mid_body": workers_ai.APIConnectionError,
    "malformed_json": workers_ai.APIError,  # a 200 we cannot read / a broken first event
}
MAX_RETRIES = 2
THROTTLE_RETRIES = 30  # the embeddings engine's adaptive budget for 3021/3040


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    tokens: str = ""


def _collect(items: Iterator[Any], text: Callable[[Any], str]) -> Outcome:
    out = Outcome()
    try:
        for item in items:
            out.tokens += text(item)
    except Exception as error:
        out.error = error
    return out


async def _acollect(items: Any, text: Callable[[Any], str]) -> Outcome:
    out = Outcome()
    try:
        async for item in items:
            out.tokens += text(item)
    except Exception as error:
        out.error = error
    return out


def call(surface: str, mode: str, kw: dict[str, Any]) -> Outcome:
    """Make one call of ``surface``; return its value or error (streams: tokens so far)."""
    lc = {**kw, "max_retries": MAX_RETRIES}
    li_msg = [ChatMessage(role="user", content=PROMPT)]
    try:
        if surface == "lc-chat":
            llm = ChatWorkersAI(model=CHAT, **lc)
            value = llm.invoke(PROMPT) if mode == "sync" else asyncio.run(llm.ainvoke(PROMPT))
            return Outcome(value=value.content)
        if surface == "lc-stream":
            llm = ChatWorkersAI(model=CHAT, **lc)
            if mode == "sync":
                return _collect(llm.stream(PROMPT), lambda c: str(c.content))
            return asyncio.run(_acollect(llm.astream(PROMPT), lambda c: str(c.content)))
        if surface == "lc-embed":
            emb = WorkersAIEmbeddings(model=BGE, **lc)
            if mode == "sync":
                return Outcome(value=emb.embed_documents(TEXTS))
            return Outcome(value=asyncio.run(emb.aembed_documents(TEXTS)))
        if surface == "li-chat":
            li = WorkersAI(model=CHAT, **lc)
            reply = li.chat(li_msg) if mode == "sync" else asyncio.run(li.achat(li_msg))
            return Outcome(value=reply.message.content)
        if surface == "li-stream":
            li = WorkersAI(model=CHAT, **lc)
            if mode == "sync":
                return _collect(li.stream_chat(li_msg), lambda r: r.delta or "")

            async def stream() -> Outcome:
                return await _acollect(await li.astream_chat(li_msg), lambda r: r.delta or "")

            return asyncio.run(stream())
        emb_li = WorkersAIEmbedding(model_name=BGE, **lc)
        if mode == "sync":
            return Outcome(value=emb_li.get_text_embedding_batch(TEXTS))
        return Outcome(value=asyncio.run(emb_li.aget_text_embedding_batch(TEXTS)))
    except Exception as error:
        return Outcome(error=error)


@pytest.fixture
def kw(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Credentials for the emulator; retry waits and throttle pauses pass on a fake clock."""
    fake_waits(monkeypatch, engine=True, clock=True)
    return adapter_kwargs(emulator)


@pytest.fixture(scope="module")
def clean_answers(_session_emulator: EmulatorServer) -> dict[str, Outcome]:
    """What each surface returns without faults (the stand-ins are deterministic)."""
    clean_emulator(_session_emulator)
    kwargs = adapter_kwargs(_session_emulator)
    return {surface: call(surface, "sync", kwargs) for surface in SURFACES}


def _matters(fault: str, surface: str) -> bool:
    """Stream-only faults do nothing to JSON replies (and reset_mid_body nothing to streams)."""
    if fault in ("stream_cut", "stream_error"):
        return surface in STREAMS
    if fault == "reset_mid_body":
        return surface not in STREAMS
    return True


def _not_retried(fault: str, surface: str) -> type[BaseException] | None:
    """A reply that says the service answered, just not readably: typed, not retried (a
    generation could be billed twice). Streams retry a garbled *first* event."""
    if fault == "malformed_json" and surface not in STREAMS:
        return workers_ai.APIResponseValidationError
    return None


def _same(surface: str, got: Outcome, clean: Outcome) -> bool:
    if surface in STREAMS:
        return got.error is None and got.tokens == clean.tokens
    return got.error is None and got.value == clean.value


TRANSIENT = [*PERSISTENT, "stream_cut", "stream_error", "slow_first_byte"]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_fault_that_passes_is_retried_and_the_answer_is_unchanged(
    emulator: EmulatorServer,
    kw: dict[str, Any],
    clean_answers: dict[str, Outcome],
    fault: str,
    surface: str,
    mode: str,
) -> None:
    emulator.reset()
    spec = FaultSpec(kind=fault, count=1, after=50 if fault == "slow_first_byte" else 0)
    emulator.configure(faults=[spec])
    got = call(surface, mode, kw)
    typed = _not_retried(fault, surface)
    if typed is not None:
        assert isinstance(got.error, typed) and emulator.stats()["requests"] == 1
        return
    assert got.error is None, f"{fault} on {surface}: {got.error!r}"
    assert _same(surface, got, clean_answers[surface])
    expected = 2 if _matters(fault, surface) and fault != "slow_first_byte" else 1
    assert emulator.stats()["requests"] == expected


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("fault", list(PERSISTENT))
def test_a_fault_that_stays_ends_in_its_typed_error_after_the_allowed_attempts(
    emulator: EmulatorServer, kw: dict[str, Any], fault: str, surface: str, mode: str
) -> None:
    if not _matters(fault, surface):
        pytest.skip(f"{fault} does not apply to {surface}")
    emulator.reset()
    emulator.configure(faults=[FaultSpec(kind=fault)])
    got = call(surface, mode, kw)
    assert isinstance(got.error, PERSISTENT[fault]), f"{fault} on {surface}: {got.error!r}"
    throttled = fault in ("capacity", "rate_limit") and surface in EMBEDDINGS
    attempts = 1 + (THROTTLE_RETRIES if throttled else MAX_RETRIES)
    if _not_retried(fault, surface) is not None:
        attempts = 1
    assert emulator.stats()["requests"] == attempts


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("surface", SURFACES)
def test_the_daily_quota_is_typed_and_never_retried(
    emulator: EmulatorServer, kw: dict[str, Any], surface: str, mode: str
) -> None:
    emulator.reset()
    emulator.configure(faults=[FaultSpec(kind="quota")])
    got = call(surface, mode, kw)
    assert isinstance(got.error, workers_ai.QuotaExceededError)
    assert emulator.stats()["requests"] == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("surface", STREAMS)
@pytest.mark.parametrize("fault", ["stream_cut", "stream_error"])
def test_a_stream_broken_after_tokens_were_handed_out_is_not_retried(
    emulator: EmulatorServer,
    kw: dict[str, Any],
    clean_answers: dict[str, Outcome],
    fault: str,
    surface: str,
    mode: str,
) -> None:
    emulator.reset()
    emulator.configure(faults=[FaultSpec(kind=fault, count=1, after=3)])
    got = call(surface, mode, kw)
    assert isinstance(got.error, workers_ai.StreamError)
    assert got.tokens and clean_answers[surface].tokens.startswith(got.tokens)  # none twice
    assert emulator.stats()["requests"] == 1
