"""Usage budgets (issue #18, item 2) against the emulator: a call whose worst case (prompt
estimate + ``max_tokens``) would cross a limit is refused with ``BudgetExceededError`` before
anything is sent; concurrent calls each reserve their worst case and settle to what they used;
failed calls give their reservation back; a stream left early stays charged at its worst case;
per-model and USD limits, warnings, unpriced calls; embeddings, rerank, LlamaIndex, fallbacks;
and the daily free-allocation error (3036) with its reset time.

Worst cases are computed with :func:`workers_ai.budget.worst_case` on the body the adapters
send for :data:`PROMPT`, so the limits below are sized in "calls that fit".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document
from llama_index.core.llms import ChatMessage

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAICallbackHandler,
    WorkersAIEmbeddings,
    WorkersAIReranker,
    get_workers_ai_callback,
)
from llama_index_workers_ai import (
    WorkersAI,
    WorkersAIEmbedding,
    WorkersAIUsageHandler,
    track_workers_ai_usage,
)
from tests.support.emulator import adapter_kwargs
from tests.support.waits import fake_waits
from workers_ai import AsyncWorkersAIClient, WorkersAIClient
from workers_ai.budget import Budget, BudgetWarning, worst_case
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.errors import (
    BadRequestError,
    BudgetExceededError,
    ConfigurationError,
    InternalServerError,
    QuotaExceededError,
    next_daily_reset,
)
from workers_ai.usage import UsageMeter, track_usage

CF = "@cf/meta/llama-3.1-8b-instruct"
SMALL = "@cf/meta/llama-3.2-1b-instruct"
GPT = "openai/gpt-4.1"  # third-party, through the gateway: no catalog price
BGE = "@cf/baai/bge-base-en-v1.5"
RERANKER = "@cf/baai/bge-reranker-base"  # no catalog price either
PROMPT = "What is Cloudflare?"
MAX_TOKENS = 64
SYNC_ASYNC = pytest.mark.parametrize("mode", ["sync", "async"])
ALL_MODES = pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


def body(prompt: str = PROMPT, max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}


def wc(model: str = CF, *, prompt: str = PROMPT, max_tokens: int = MAX_TOKENS) -> float:
    """The worst case in neurons of one chat call asking ``prompt``."""
    neurons = worst_case(model, body(prompt, max_tokens), chat=True).neurons
    assert neurons is not None
    return neurons


def wc_usd(model: str = CF) -> float:
    usd = worst_case(model, body(), chat=True).usd
    assert usd is not None
    return usd


def lc(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(
        **{"model": CF, **adapter_kwargs(emulator), "max_tokens": MAX_TOKENS, "max_retries": 0,
           **kw}
    )  # fmt: skip


def li(emulator: EmulatorServer, **kw: Any) -> WorkersAI:
    return WorkersAI(
        **{"model": CF, **adapter_kwargs(emulator), "max_tokens": MAX_TOKENS, "max_retries": 0,
           **kw}
    )  # fmt: skip


def core_kwargs(emulator: EmulatorServer) -> dict[str, Any]:
    return dict(emulator.client_kwargs())


def requests(emulator: EmulatorServer, model: str | None = None) -> int:
    stats = emulator.stats()
    return int(stats["requests"] if model is None else stats["by_model"].get(model, 0))


async def ask(model: ChatWorkersAI, mode: str, prompt: str = PROMPT, **kw: Any) -> Any:
    """One LangChain call, however asked for; the (merged) message."""
    if mode == "sync":
        return model.invoke(prompt, **kw)
    if mode == "async":
        return await model.ainvoke(prompt, **kw)
    if mode == "stream":
        chunks = list(model.stream(prompt, **kw))
    else:
        chunks = [c async for c in model.astream(prompt, **kw)]
    message = chunks[0]
    for chunk in chunks[1:]:
        message = message + chunk
    return message


def refusal_after(emulator: EmulatorServer) -> BudgetExceededError:
    """The ledger as a refused call reports it (``spent``, ``reserved``): ask for far more than
    any limit here holds."""
    with pytest.raises(BudgetExceededError) as info:
        lc(emulator, max_tokens=100_000).invoke(PROMPT)
    return info.value


# -- 1. refused before anything is sent ------------------------------------------------------


@ALL_MODES
async def test_a_call_whose_worst_case_crosses_the_limit_is_refused_before_it_is_sent(
    emulator: EmulatorServer, mode: str
) -> None:
    limit = round(wc() * 0.6, 1)
    with get_workers_ai_callback(max_neurons=limit) as cb:
        with pytest.raises(BudgetExceededError) as info:
            await ask(lc(emulator), mode)
        assert requests(emulator) == 0  # nothing reached the service
        error = info.value
        assert (error.unit, error.limit, error.model) == ("neurons", limit, None)
        assert (error.spent, error.reserved) == (0.0, 0.0)
        assert error.needed == pytest.approx(wc())
        message = str(error)
        assert CF in message and f"{limit:,.3f} neurons" in message
        assert f"{MAX_TOKENS} max output tokens" in message
        assert "Raise the limit, lower max_tokens, or shorten the prompt" in message
        assert cb.remaining() == limit  # a refusal reserves nothing
        assert cb.successful_requests == 0
        # doing what the message says: a lower max_tokens fits
        reply = await ask(lc(emulator), mode, max_tokens=8)
    assert reply.content
    assert requests(emulator) == 1 and cb.successful_requests == 1


@SYNC_ASYNC
async def test_the_core_clients_are_guarded_too(emulator: EmulatorServer, mode: str) -> None:
    meter = UsageMeter(budget=Budget(max_neurons=wc() / 2))
    with track_usage(meter):
        with pytest.raises(BudgetExceededError) as info:
            if mode == "sync":
                with WorkersAIClient(**core_kwargs(emulator)) as client:
                    client.chat(CF, body())
            else:
                async with AsyncWorkersAIClient(**core_kwargs(emulator)) as aclient:
                    await aclient.chat(CF, body())
    assert info.value.needed == pytest.approx(wc())
    assert requests(emulator) == 0
    assert meter.total.calls == 0


def test_a_meter_without_limits_guards_nothing(emulator: EmulatorServer) -> None:
    with get_workers_ai_callback() as cb:
        lc(emulator, max_tokens=100_000).invoke(PROMPT)
    assert cb.remaining() is None and cb.successful_requests == 1


# -- 2. concurrency: each call reserves its worst case ---------------------------------------


async def test_concurrent_async_calls_succeed_exactly_as_many_as_fit(
    emulator: EmulatorServer,
) -> None:
    # every request takes 500 ms: all 12 reserve before any settles
    emulator.configure(latency_ms=500)
    fits = 5
    limit = wc() * (fits + 0.5)
    model = lc(emulator)
    with get_workers_ai_callback(max_neurons=limit, warn_at=None) as cb:
        results = await asyncio.gather(
            *(model.ainvoke(PROMPT) for _ in range(12)), return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert len(answered) == math.floor(limit / wc()) == fits
    assert len(refused) == 12 - fits
    assert requests(emulator) == fits  # the refused ones sent nothing
    assert cb.successful_requests == fits
    # settled to what they used (less than their worst case); nothing left reserved
    assert 0 < cb.neurons < fits * wc()
    assert cb.remaining() == pytest.approx(limit - cb.neurons)
    # each refusal saw the calls in flight: all that fit reserved, nothing spent yet
    assert all(e.spent == 0 and e.reserved == pytest.approx(fits * wc()) for e in refused)


async def test_many_racing_calls_never_spend_past_the_limit(emulator: EmulatorServer) -> None:
    """No latency: calls settle while others reserve; the limit holds all the same."""
    limit = wc() * 10.5
    model = lc(emulator)
    with get_workers_ai_callback(max_neurons=limit, warn_at=None) as cb:
        results = await asyncio.gather(
            *(model.ainvoke(f"Question {i:02d}?") for i in range(60)), return_exceptions=True
        )
    assert all(isinstance(r, BudgetExceededError) or not isinstance(r, BaseException)
               for r in results)  # fmt: skip
    answered = sum(not isinstance(r, BaseException) for r in results)
    assert answered >= 10  # at least what fits at worst case
    assert requests(emulator) == answered == cb.successful_requests
    assert cb.neurons <= limit
    assert cb.remaining() == pytest.approx(limit - cb.neurons)  # nothing stays reserved


def test_langchain_batch_threads_share_one_budget(emulator: EmulatorServer) -> None:
    emulator.configure(latency_ms=500)
    fits = 3
    limit = wc() * (fits + 0.5)
    with get_workers_ai_callback(max_neurons=limit, warn_at=None) as cb:
        results = lc(emulator).batch(
            [PROMPT] * 8, config={"max_concurrency": 8}, return_exceptions=True
        )
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert len(answered) == fits
    assert sum(isinstance(r, BudgetExceededError) for r in results) == 8 - fits
    assert requests(emulator) == fits == cb.successful_requests
    assert cb.remaining() == pytest.approx(limit - cb.neurons)


# -- 3. settling and releasing ---------------------------------------------------------------


@ALL_MODES
async def test_remaining_is_the_limit_minus_what_calls_actually_used(
    emulator: EmulatorServer, mode: str
) -> None:
    limit = 100.0
    with get_workers_ai_callback(max_neurons=limit) as cb:
        for _ in range(3):
            await ask(lc(emulator), mode)
    assert cb.successful_requests == 3
    assert 0 < cb.neurons < 3 * wc()  # actual usage, not the worst case
    assert not cb.neurons_estimated  # the emulator reports neurons
    assert cb.remaining() == pytest.approx(limit - cb.neurons)


@pytest.mark.parametrize("status", [500, 400])
@ALL_MODES
async def test_a_failed_call_gives_its_reservation_back(
    emulator: EmulatorServer, mode: str, status: int
) -> None:
    limit = wc() * 1.5  # one call fits: a reservation that stayed would refuse the next
    emulator.configure(faults=[FaultSpec(kind="server_error", status=status, count=1)])
    expected = InternalServerError if status == 500 else BadRequestError
    with get_workers_ai_callback(max_neurons=limit) as cb:
        with pytest.raises(expected):
            await ask(lc(emulator), mode)
        assert cb.remaining() == limit
        assert cb.successful_requests == 0
        await ask(lc(emulator), mode)  # the freed room is used
    assert cb.remaining() == pytest.approx(limit - cb.neurons)
    assert requests(emulator) == 2


async def test_a_retried_call_reserves_once_and_settles_once(emulator: EmulatorServer) -> None:
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF, count=1)])
    limit = wc() * 1.5
    with get_workers_ai_callback(max_neurons=limit) as cb:
        await lc(emulator, max_retries=2).ainvoke(PROMPT)
    assert (cb.successful_requests, cb.attempts) == (1, 2)
    assert cb.remaining() == pytest.approx(limit - cb.neurons)


# -- 4. streams ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_a_stream_read_to_its_end_settles_to_its_usage(
    emulator: EmulatorServer, mode: str
) -> None:
    limit = 50.0
    with get_workers_ai_callback(max_neurons=limit) as cb:
        message = await ask(lc(emulator), mode)
    assert message.usage_metadata["output_tokens"] > 0
    assert cb.successful_requests == 1
    assert cb.remaining() == pytest.approx(limit - cb.neurons)
    assert cb.neurons < wc()


def test_a_stream_broken_off_with_break_stays_charged_at_its_worst_case(
    emulator: EmulatorServer,
) -> None:
    limit = 50.0
    with get_workers_ai_callback(max_neurons=limit) as cb:
        for chunk in lc(emulator).stream("Tell me a long story"):
            assert cb.remaining() == pytest.approx(limit - wc(prompt="Tell me a long story"))
            assert chunk is not None
            break
        assert cb.successful_requests == 0  # never complete: not a counted call
        assert cb.remaining() == pytest.approx(limit - wc(prompt="Tell me a long story"))
        error = refusal_after(emulator)
    # charged (spent), not left reserved
    assert error.spent == pytest.approx(wc(prompt="Tell me a long story"))
    assert error.reserved == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_closed_stream_stays_charged_at_its_worst_case(
    emulator: EmulatorServer, mode: str
) -> None:
    limit = 50.0
    with get_workers_ai_callback(max_neurons=limit) as cb:
        if mode == "sync":
            gen: Any = lc(emulator).stream(PROMPT)  # a generator: it has close()
            next(gen)
            gen.close()
        else:
            stream: Any = lc(emulator).astream(PROMPT)  # an async generator: aclose()
            async with contextlib.aclosing(stream) as agen:
                async for _ in agen:
                    break
            # LangChain leaves the inner generators to asyncio's finalizer: a few turns
            for _ in range(5):
                await asyncio.sleep(0)
        assert cb.successful_requests == 0
        assert cb.remaining() == pytest.approx(limit - wc())
        error = refusal_after(emulator)
    assert error.spent == pytest.approx(wc()) and error.reserved == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_core_chat_stream_closed_early_stays_charged(
    emulator: EmulatorServer, mode: str
) -> None:
    meter = UsageMeter(budget=Budget(max_neurons=50))
    with track_usage(meter):
        if mode == "sync":
            with WorkersAIClient(**core_kwargs(emulator)) as client:
                stream = client.stream_chat(CF, body())
                next(iter(stream))
                stream.close()
        else:
            async with AsyncWorkersAIClient(**core_kwargs(emulator)) as aclient:
                astream = await aclient.stream_chat(CF, body())
                async for _ in astream:
                    break
                await astream.aclose()
    assert meter.total.calls == 0
    assert meter.remaining() == pytest.approx(50 - wc())


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_a_stream_that_breaks_mid_way_stays_charged(
    emulator: EmulatorServer, mode: str
) -> None:
    from workers_ai.errors import StreamError

    emulator.configure(faults=[FaultSpec(kind="stream_error", after=2)])
    with get_workers_ai_callback(max_neurons=50) as cb:
        with pytest.raises(StreamError):
            await ask(lc(emulator), mode)
    assert cb.successful_requests == 0
    assert cb.remaining() == pytest.approx(50 - wc())


# -- 5. per-model limits ---------------------------------------------------------------------


@SYNC_ASYNC
async def test_a_per_model_limit_refuses_that_model_while_another_still_works(
    emulator: EmulatorServer, mode: str
) -> None:
    own = round(wc(CF) / 2, 1)
    with get_workers_ai_callback(per_model={CF: {"max_neurons": own}}) as cb:
        with pytest.raises(BudgetExceededError) as info:
            await ask(lc(emulator), mode)
        reply = await ask(lc(emulator, model=SMALL), mode)
    assert reply.content
    assert info.value.model == CF and info.value.limit == own
    assert f"the budget of {CF}" in str(info.value)
    assert requests(emulator, CF) == 0 and requests(emulator, SMALL) == 1
    assert cb.remaining(model=CF) == own
    assert cb.remaining(model=SMALL) is None and cb.remaining() is None  # no such limits
    assert list(cb.by_model) == [SMALL]


def test_a_per_model_limit_and_a_total_limit_both_hold(emulator: EmulatorServer) -> None:
    own = wc(SMALL) * 1.1  # one call fits; after it settles, another does not
    per_model = {SMALL: Budget(max_neurons=own)}
    with get_workers_ai_callback(max_neurons=100, per_model=per_model, warn_at=None) as cb:
        lc(emulator, model=SMALL).invoke(PROMPT)
        small_used = cb.by_model[SMALL].neurons
        assert cb.remaining(model=SMALL) == pytest.approx(own - small_used)
        with pytest.raises(BudgetExceededError) as info:  # its own limit: one call fits
            lc(emulator, model=SMALL).invoke(PROMPT)
        lc(emulator).invoke(PROMPT)  # CF counts against the total only
    assert info.value.model == SMALL
    assert info.value.spent == pytest.approx(small_used)
    assert cb.remaining() == pytest.approx(100 - cb.neurons)
    assert cb.remaining(model=SMALL) == pytest.approx(own - small_used)


# -- 6. USD limits, warnings, unpriced calls -------------------------------------------------


@SYNC_ASYNC
async def test_a_usd_limit_refuses_in_dollars(emulator: EmulatorServer, mode: str) -> None:
    limit = wc_usd() / 2
    with get_workers_ai_callback(max_usd=limit) as cb:
        with pytest.raises(BudgetExceededError) as info:
            await ask(lc(emulator), mode)
        assert info.value.unit == "usd" and info.value.needed == pytest.approx(wc_usd())
        assert f"${limit:.6f}" in str(info.value)
        assert requests(emulator) == 0
        await ask(lc(emulator), mode, max_tokens=4)  # fits
    assert cb.remaining("usd") == pytest.approx(limit - cb.total_cost)
    assert cb.remaining("neurons") is None


def test_warn_at_warns_once_when_a_limit_is_nearly_used(emulator: EmulatorServer) -> None:
    limit = wc() * 1.8  # one reservation is 55%: warns at 50%
    with pytest.warns(BudgetWarning) as record:
        with get_workers_ai_callback(max_neurons=limit, warn_at=0.5) as cb:
            for _ in range(3):
                lc(emulator).invoke(PROMPT)  # each settles small enough for the next
    budget_warnings = [w for w in record if issubclass(w.category, BudgetWarning)]
    assert len(budget_warnings) == 1
    assert cb.successful_requests == 3
    assert len(cb.budget_warnings) == 1
    assert "of the total limit" in cb.budget_warnings[0]
    assert f"{limit:,.3f} neurons" in cb.budget_warnings[0]


def test_warn_at_none_never_warns(emulator: EmulatorServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", BudgetWarning)
        with get_workers_ai_callback(max_neurons=wc() * 1.2, warn_at=None) as cb:
            lc(emulator).invoke(PROMPT)
    assert cb.budget_warnings == []


@SYNC_ASYNC
async def test_an_unpriced_third_party_model_is_refused_or_allowed_as_asked(
    emulator: EmulatorServer, mode: str
) -> None:
    with get_workers_ai_callback(max_neurons=100, unpriced="refuse") as cb:
        with pytest.raises(BudgetExceededError) as info:
            await ask(lc(emulator, model=GPT, max_tokens=None), mode)
    assert info.value.needed is None
    assert "cannot be priced" in str(info.value) and "unpriced='refuse'" in str(info.value)
    assert requests(emulator) == 0 and cb.successful_requests == 0
    with get_workers_ai_callback(max_neurons=100, unpriced="allow") as cb:
        reply = await ask(lc(emulator, model=GPT, max_tokens=None), mode)
    assert reply.content
    assert requests(emulator, GPT) == 1
    assert cb.successful_requests == 1 and cb.calls_without_cost == 1
    assert cb.remaining() == 100  # what it cost is unknown: counted as nothing known


# -- 7. embeddings and rerank ----------------------------------------------------------------

TEXTS = ["alpha", "beta", "gamma"]


def _embedding_worst_case() -> float:
    neurons = worst_case(BGE, {"text": TEXTS}, chat=False).neurons
    assert neurons is not None and neurons > 0
    return neurons


@SYNC_ASYNC
async def test_embeddings_are_refused_before_they_are_sent(
    emulator: EmulatorServer, mode: str
) -> None:
    limit = _embedding_worst_case() / 2
    creds = adapter_kwargs(emulator)
    with get_workers_ai_callback(max_neurons=limit, warn_at=None) as cb:
        lc_embed = WorkersAIEmbeddings(model=BGE, max_retries=0, **creds)
        with pytest.raises(BudgetExceededError) as info:
            if mode == "sync":
                lc_embed.embed_documents(TEXTS)
            else:
                await lc_embed.aembed_documents(TEXTS)
    assert info.value.needed == pytest.approx(_embedding_worst_case())
    li_embed = WorkersAIEmbedding(model_name=BGE, max_retries=0, **creds)
    with track_workers_ai_usage(max_neurons=0, warn_at=None):
        with pytest.raises(BudgetExceededError):
            if mode == "sync":
                li_embed.get_text_embedding_batch(TEXTS)
            else:
                await li_embed.aget_text_embedding_batch(TEXTS)
    assert requests(emulator) == 0 and cb.successful_requests == 0
    with get_workers_ai_callback(max_neurons=1, warn_at=None) as cb:  # room: it goes through
        vectors = lc_embed.embed_documents(TEXTS)
    assert len(vectors) == 3 and cb.successful_requests == 1


def test_embeddings_spend_the_budget(emulator: EmulatorServer) -> None:
    limit = 1.0
    with get_workers_ai_callback(max_neurons=limit, warn_at=None) as cb:
        WorkersAIEmbeddings(model=BGE, **adapter_kwargs(emulator)).embed_documents(TEXTS)
    assert cb.neurons > 0
    assert (cb.remaining() or 0.0) < limit


def test_rerank_calls_are_budgeted_as_unpriced_calls(emulator: EmulatorServer) -> None:
    """The reranker has no catalog price: ``unpriced="refuse"`` refuses it before sending,
    ``"allow"`` lets it through and counts it."""
    docs = [Document("Cloudflare runs AI at the edge"), Document("A cat sat")]
    reranker = WorkersAIReranker(model=RERANKER, **adapter_kwargs(emulator))
    with get_workers_ai_callback(max_neurons=100, unpriced="refuse") as cb:
        with pytest.raises(BudgetExceededError) as info:
            reranker.compress_documents(docs, "Cloudflare")
    assert info.value.needed is None and RERANKER in str(info.value)
    assert requests(emulator) == 0
    with get_workers_ai_callback(max_neurons=100) as cb:
        ranked = reranker.compress_documents(docs, "Cloudflare")
    assert ranked and requests(emulator, RERANKER) == 1
    assert list(cb.by_model) == [RERANKER] and cb.successful_requests == 1


@SYNC_ASYNC
async def test_core_run_calls_are_budgeted(emulator: EmulatorServer, mode: str) -> None:
    """``client.run`` on a text-generation model reserves its worst case like ``chat``."""
    meter = UsageMeter(budget=Budget(max_neurons=wc() / 2))
    with track_usage(meter), pytest.raises(BudgetExceededError):
        if mode == "sync":
            with WorkersAIClient(**core_kwargs(emulator)) as client:
                client.run(CF, body())
        else:
            async with AsyncWorkersAIClient(**core_kwargs(emulator)) as aclient:
                await aclient.run(CF, body())
    assert requests(emulator) == 0


# -- 8. LlamaIndex ---------------------------------------------------------------------------

MESSAGES = [ChatMessage(role="user", content=PROMPT)]


@contextlib.contextmanager
def usage_handler(**kw: Any) -> Iterator[WorkersAIUsageHandler]:
    from llama_index.core.instrumentation import get_dispatcher

    handler = WorkersAIUsageHandler(**kw)
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        yield handler
    finally:
        handler.close()
        if handler in dispatcher.event_handlers:
            dispatcher.event_handlers.remove(handler)


@SYNC_ASYNC
async def test_llama_index_handler_refuses_until_closed(
    emulator: EmulatorServer, mode: str
) -> None:
    llm = li(emulator)

    async def chat() -> Any:
        return llm.chat(MESSAGES) if mode == "sync" else await llm.achat(MESSAGES)

    limit = round(wc() * 1.1, 2)  # one call fits; after it settles, another does not
    with usage_handler(max_neurons=limit, warn_at=None) as handler:
        await chat()  # one fits
        used = handler.total.neurons
        assert handler.remaining() == pytest.approx(limit - used)
        with pytest.raises(BudgetExceededError) as info:
            await chat()  # limit - used < worst case
        assert info.value.spent == pytest.approx(used)
        assert requests(emulator) == 1
    for _ in range(2):  # closed: no longer guards (nor counts)
        await chat()
    assert requests(emulator) == 3
    assert handler.total.calls == 1


@SYNC_ASYNC
async def test_llama_index_streams_are_guarded(emulator: EmulatorServer, mode: str) -> None:
    llm = li(emulator)
    with usage_handler(max_neurons=wc() / 2) as handler, pytest.raises(BudgetExceededError):
        if mode == "sync":
            list(llm.stream_chat(MESSAGES))
        else:
            [r async for r in await llm.astream_chat(MESSAGES)]
    assert requests(emulator) == 0 and handler.total.calls == 0


@SYNC_ASYNC
async def test_track_workers_ai_usage_with_a_limit(emulator: EmulatorServer, mode: str) -> None:
    llm = li(emulator)
    limit = wc() * 2.5
    with track_workers_ai_usage(max_neurons=limit, warn_at=None) as meter:
        for _ in range(2):
            if mode == "sync":
                llm.chat(MESSAGES)
            else:
                await llm.achat(MESSAGES)
        assert meter.remaining() == pytest.approx(limit - meter.total.neurons)
        with pytest.raises(BudgetExceededError):
            llm.chat(MESSAGES, max_tokens=10_000)
    assert meter.total.calls == 2 and requests(emulator) == 2
    llm.chat(MESSAGES, max_tokens=10_000)  # outside the block: no limit


# -- 9. fallbacks ----------------------------------------------------------------------------

ROUTINGS = pytest.mark.parametrize(
    "routing",
    [{}, {"gateway_id": "budget-gw", "gateway_options": {"routing": "url"}}],
    ids=["client", "gateway"],
)


@ROUTINGS
@ALL_MODES
async def test_the_answering_fallbacks_usage_settles_the_reservation(
    emulator: EmulatorServer, mode: str, routing: dict[str, Any]
) -> None:
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF)])
    limit = 100.0
    with get_workers_ai_callback(max_neurons=limit) as cb:
        reply = await ask(lc(emulator, fallbacks=[SMALL], **routing), mode)
    assert reply.response_metadata["answered_by"] == SMALL
    assert list(cb.by_model) == [SMALL] and cb.successful_requests == 1
    assert 0 < cb.neurons < wc(SMALL)
    assert cb.remaining() == pytest.approx(limit - cb.neurons)  # CF's hold was given back
    assert cb.remaining(model=CF) is None


def test_the_gateway_chain_reserves_every_model_it_may_reach(emulator: EmulatorServer) -> None:
    """The universal endpoint may answer with any model of the chain: one reservation for
    all; the client-side walk reserves one model at a time."""
    limit = wc(CF) + wc(SMALL) / 2
    gateway = {"gateway_id": "budget-gw", "gateway_options": {"routing": "url"}}
    with get_workers_ai_callback(max_neurons=limit, warn_at=None):
        with pytest.raises(BudgetExceededError) as info:
            lc(emulator, fallbacks=[SMALL], **gateway).invoke(PROMPT)
        assert info.value.needed == pytest.approx(wc(CF) + wc(SMALL))
        assert requests(emulator) == 0
        lc(emulator, fallbacks=[SMALL]).invoke(PROMPT)  # walked from the client: fits
    assert requests(emulator) == 1


def test_a_fallback_over_its_own_limit_is_refused_in_the_client_walk(
    emulator: EmulatorServer,
) -> None:
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF)])
    per_model = {SMALL: {"max_neurons": wc(SMALL) / 2}}
    with get_workers_ai_callback(max_neurons=100, per_model=per_model) as cb:
        with pytest.raises(BudgetExceededError) as info:
            lc(emulator, fallbacks=[SMALL]).invoke(PROMPT)
    assert info.value.model == SMALL
    assert requests(emulator, CF) == 1 and requests(emulator, SMALL) == 0
    assert cb.remaining() == 100  # CF's failed attempt gave its reservation back


def test_a_fallback_over_its_own_limit_is_refused_through_the_gateway(
    emulator: EmulatorServer,
) -> None:
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF)])
    own = wc(SMALL) / 2
    gateway = {"gateway_id": "budget-gw", "gateway_options": {"routing": "url"}}
    with get_workers_ai_callback(max_neurons=100, per_model={SMALL: {"max_neurons": own}},
                                 warn_at=None):  # fmt: skip
        with pytest.raises(BudgetExceededError) as info:  # as in the client walk
            lc(emulator, fallbacks=[SMALL], **gateway).invoke(PROMPT)
    assert info.value.model == SMALL
    assert requests(emulator) == 0


# -- 10. the daily free allocation (3036) ----------------------------------------------------


@SYNC_ASYNC
async def test_the_daily_quota_error_says_when_it_resets_and_is_never_retried(
    emulator: EmulatorServer, mode: str
) -> None:
    emulator.configure(faults=[FaultSpec(kind="quota")])
    before = datetime.datetime.now(datetime.timezone.utc)
    with get_workers_ai_callback(max_neurons=100) as cb:
        with pytest.raises(QuotaExceededError) as info:
            await ask(lc(emulator, max_retries=3), mode)
    after = datetime.datetime.now(datetime.timezone.utc)
    error = info.value
    assert requests(emulator) == 1  # one attempt: waiting would not help
    assert error.status_code == 429 and error.code == 3036
    resets_at = error.resets_at
    assert resets_at is not None
    assert resets_at in {next_daily_reset(before), next_daily_reset(after)}
    assert (resets_at.hour, resets_at.minute, resets_at.second) == (0, 0, 0)
    assert resets_at.utcoffset() == datetime.timedelta(0)
    assert before < resets_at <= before + datetime.timedelta(days=1)
    assert f"resets at {resets_at:%Y-%m-%d %H:%M} UTC" in str(error)
    assert cb.remaining() == 100  # a refused call is not billed


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 15 Nov 1994 23:59:59 GMT", datetime.datetime(1994, 11, 16)),
        ("Wed, 16 Nov 1994 00:00:00 GMT", datetime.datetime(1994, 11, 17)),
        ("Thu, 31 Dec 2026 12:00:00 GMT", datetime.datetime(2027, 1, 1)),
    ],
)
def test_the_reset_time_counts_from_the_responses_date(date: str, expected: Any) -> None:
    """The next 00:00 UTC after the server's ``Date``, not after the local clock."""
    envelope = {"success": False, "result": None, "messages": [], "errors": [
        {"code": 3036, "message": "You have used up your daily free allocation of 10,000 neurons"}
    ]}  # fmt: skip
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(429, json=envelope, headers={"date": date})

    transport = httpx.Client(transport=httpx.MockTransport(handler))
    with WorkersAIClient(account_id="acct", api_token="tok", http_client=transport) as client:
        with pytest.raises(QuotaExceededError) as info:
            client.chat(CF, body())
    assert len(attempts) == 1
    assert info.value.resets_at == expected.replace(tzinfo=datetime.timezone.utc)
    assert f"resets at {expected:%Y-%m-%d} 00:00 UTC" in str(info.value)


# -- 11. invalid budgets fail at construction ------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"max_neurons": -1},
        {"max_usd": -0.01},
        {"max_neurons": float("nan")},
        {"max_usd": float("inf")},
        {"max_neurons": True},
        {"max_neurons": "100"},
        {"max_neurons": 100, "warn_at": 0},
        {"max_neurons": 100, "warn_at": 2},
        {"max_neurons": 100, "warn_at": -0.5},
        {"max_neurons": 100, "unpriced": "deny"},
        {"per_model": {CF: 500}},
        {"per_model": {CF: {"max_tokens": 500}}},
        {"per_model": {CF: {"max_neurons": -5}}},
        {"per_model": {CF: Budget(per_model={SMALL: Budget(max_neurons=1)})}},
        {"budget": Budget(max_neurons=10), "max_neurons": 5},
        {"budget": Budget(max_neurons=10), "per_model": {CF: {"max_neurons": 1}}},
        {"budget": {"max_neurons": 10}},
    ],
    ids=lambda kw: ",".join(f"{k}={v!r}"[:40] for k, v in kw.items()),
)
def test_a_bad_budget_fails_at_construction(emulator: EmulatorServer, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        WorkersAICallbackHandler(**kw)
    with pytest.raises(ConfigurationError), get_workers_ai_callback(**kw):
        pass  # pragma: no cover
    with pytest.raises(ConfigurationError):
        WorkersAIUsageHandler(**kw)
    with pytest.raises(ConfigurationError), track_workers_ai_usage(**kw):
        pass  # pragma: no cover
    if "budget" not in kw:
        with pytest.raises(ConfigurationError):
            Budget.of(**kw)
    assert requests(emulator) == 0


def test_the_error_is_a_value_error_too() -> None:
    with pytest.raises(ValueError, match="must be a number >= 0"):
        Budget(max_neurons=-1)
    with pytest.raises(ValueError, match=r"warn_at must be a fraction in \(0, 1\]"):
        Budget(max_neurons=1, warn_at=0)


def test_budget_of_without_limits_is_no_budget() -> None:
    assert Budget.of() is None
    budget = Budget(max_neurons=5)
    assert Budget.of(budget=budget) is budget
    assert Budget.of(per_model={CF: {"max_usd": 0.5}}) == Budget(
        per_model={CF: Budget(max_usd=0.5)}
    )
