"""What calls used and cost (issue #18, item 1): the core usage hook, LangChain's
``get_workers_ai_callback()`` and LlamaIndex's ``WorkersAIUsageHandler``, against the emulator.

Every chat call counts once (plain or streamed), embeddings and rerank requests count too, the
HTTP attempts of retries are counted apart, and concurrency (async tasks, ``batch`` threads)
loses nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from llama_index.core.llms import ChatMessage

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAICallbackHandler,
    WorkersAIEmbeddings,
    WorkersAIReranker,
    get_workers_ai_callback,
)
from llama_index_workers_ai import WorkersAI, WorkersAIUsageHandler, track_workers_ai_usage
from tests.support.emulator import adapter_kwargs
from tests.support.waits import fake_waits
from workers_ai.catalog import estimate_cost
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.types import Usage
from workers_ai.usage import UsageMeter, UsageRecord, cost_fields, track_usage

CF = "@cf/meta/llama-3.1-8b-instruct"
GPT = "openai/gpt-4.1"


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


def chat(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(**{"model": CF, **adapter_kwargs(emulator), **kw})


def _tokens(message: AIMessage) -> tuple[int, int]:
    usage = message.usage_metadata
    assert usage is not None
    return usage["input_tokens"], usage["output_tokens"]


def test_invoke_stream_and_batch_each_count_once(emulator: EmulatorServer) -> None:
    model = chat(emulator)
    with get_workers_ai_callback() as cb:
        one = model.invoke("What is Cloudflare?")
        chunks = list(model.stream("What is Workers AI?"))
        batch = model.batch(["One?", "Two?", "Three?"])  # worker threads copy the context
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed = streamed + chunk
    answers = [one, streamed, *batch]
    assert cb.successful_requests == 5 and cb.attempts == 5
    assert cb.prompt_tokens == sum(_tokens(m)[0] for m in answers)
    assert cb.completion_tokens == sum(_tokens(m)[1] for m in answers)
    assert cb.total_tokens == cb.prompt_tokens + cb.completion_tokens
    assert cb.neurons > 0 and cb.total_cost > 0
    assert list(cb.by_model) == [CF]
    model.invoke("Outside the block")  # not counted
    assert cb.successful_requests == 5


async def test_two_hundred_concurrent_calls_count_exactly_two_hundred(
    emulator: EmulatorServer,
) -> None:
    model = chat(emulator, max_tokens=16)
    with get_workers_ai_callback() as cb:
        answers = await asyncio.gather(*(model.ainvoke(f"Question {i}?") for i in range(200)))
    assert cb.successful_requests == 200 and cb.attempts == 200
    assert cb.prompt_tokens == sum(_tokens(m)[0] for m in answers)
    assert cb.completion_tokens == sum(_tokens(m)[1] for m in answers)


def test_retries_and_fallbacks_count_attempts_apart_from_calls(emulator: EmulatorServer) -> None:
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF, count=1)])
    with get_workers_ai_callback() as cb:
        chat(emulator).invoke("Retried once")
    assert (cb.successful_requests, cb.attempts) == (1, 2)
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF)])
    with get_workers_ai_callback() as cb:
        reply = chat(emulator, fallbacks=[GPT], max_retries=0).invoke("Falls back")
    assert reply.response_metadata["answered_by"] == GPT
    assert (cb.successful_requests, cb.attempts) == (1, 2)
    assert list(cb.by_model) == [GPT]  # the model that answered
    assert cb.calls_without_cost == 1  # the stand-in reports no cost: unknown, not zero
    assert "unknown cost" in repr(cb)


def test_embeddings_and_reranking_are_counted_too(emulator: EmulatorServer) -> None:
    creds = adapter_kwargs(emulator)
    with get_workers_ai_callback() as cb:
        WorkersAIEmbeddings(model="@cf/baai/bge-base-en-v1.5", **creds).embed_documents(
            ["alpha", "beta", "gamma"]
        )
        from langchain_core.documents import Document

        WorkersAIReranker(model="@cf/baai/bge-reranker-base", **creds).compress_documents(
            [Document("Cloudflare runs AI"), Document("A cat")], "Cloudflare"
        )
    assert set(cb.by_model) == {"@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-reranker-base"}
    assert cb.successful_requests == 2


def test_llama_index_handler_counts_process_wide_until_closed(emulator: EmulatorServer) -> None:
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.llms import ChatMessage

    handler = WorkersAIUsageHandler()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    llm = WorkersAI(model=CF, **adapter_kwargs(emulator))
    try:
        reply = llm.chat([ChatMessage(role="user", content="Hello?")])
        list(llm.stream_chat([ChatMessage(role="user", content="Stream?")]))
    finally:
        handler.close()
        dispatcher.event_handlers.remove(handler)
    llm.chat([ChatMessage(role="user", content="Not counted")])
    assert handler.total.calls == 2
    assert handler.total.input_tokens >= reply.additional_kwargs["prompt_tokens"]
    with track_workers_ai_usage() as meter:
        llm.chat([ChatMessage(role="user", content="Scoped")])
    assert meter.total.calls == 1 and handler.total.calls == 2
    assert "| **total** | 1 |" in meter.table()


def test_the_meter_prices_reported_estimated_and_unknown_costs() -> None:
    meter = UsageMeter()
    meter.record(UsageRecord(CF, "chat", Usage(100, 50, 150, neurons=12.5)))
    meter.record(UsageRecord(CF, "chat", Usage(1000, 0, 1000)))  # estimated from prices
    meter.record(UsageRecord(GPT, "chat", Usage(10, 5, 15, cost=0.002)))  # reported
    meter.record(UsageRecord(GPT, "chat", Usage(10, 5, 15)))  # unknown
    cf, gpt = meter.snapshot()[CF], meter.snapshot()[GPT]
    assert cf.neurons > 12.5 and cf.neurons_estimated and cf.calls_without_cost == 0
    assert gpt.usd == pytest.approx(0.002) and gpt.calls_without_cost == 1
    table = meter.table()
    assert f"| {GPT} | 2 |" in table and "+ 1 n/a" in table and "~" in table


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_langchain_metadata_carries_neurons_tokens_and_the_estimated_cost(
    emulator: EmulatorServer, streamed: bool
) -> None:
    model = chat(emulator)
    if streamed:
        chunks = list(model.stream("What is Cloudflare?"))
        message: Any = chunks[0]
        for chunk in chunks[1:]:
            message = message + chunk
    else:
        message = model.invoke("What is Cloudflare?")
    meta, usage = message.response_metadata, message.usage_metadata
    with track_usage() as meter:  # the same call, priced by the meter
        model.invoke("What is Cloudflare?")
    assert meta["neurons"] == pytest.approx(meter.total.neurons)  # reported by Workers AI
    assert meta["estimated_cost_usd"] == pytest.approx(meter.total.usd)
    assert "estimated_neurons" not in meta  # reported, so not estimated
    assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"]


def test_estimated_neurons_appear_when_the_response_reports_none() -> None:
    fields = cost_fields(CF, Usage(1000, 100, 1100))
    priced = estimate_cost(CF, 1000, 100)
    assert fields == {"estimated_cost_usd": priced.usd, "estimated_neurons": priced.neurons}
    assert cost_fields(GPT, Usage(10, 5, 15)) == {}  # no price, nothing invented
    assert cost_fields(GPT, Usage(10, 5, 15, cost=0.01)) == {}  # reported: the adapters' cost


@pytest.mark.parametrize("streamed", [False, True], ids=["chat", "stream_chat"])
def test_llama_index_additional_kwargs_carry_the_estimated_cost(
    emulator: EmulatorServer, streamed: bool
) -> None:
    llm = WorkersAI(model=CF, **adapter_kwargs(emulator))
    messages = [ChatMessage(role="user", content="What is Cloudflare?")]
    response = list(llm.stream_chat(messages))[-1] if streamed else llm.chat(messages)
    extra = response.additional_kwargs
    assert extra["neurons"] > 0 and extra["estimated_cost_usd"] > 0
    assert extra["prompt_tokens"] + extra["completion_tokens"] == extra["total_tokens"]


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_the_handler_given_as_a_callback_counts_once_in_or_out_of_its_block(
    emulator: EmulatorServer, streamed: bool
) -> None:
    model = chat(emulator)

    def run(handler: WorkersAICallbackHandler) -> None:
        config: Any = {"callbacks": [handler]}
        if streamed:
            list(model.stream("What is Cloudflare?", config=config))
        else:
            model.invoke("What is Cloudflare?", config=config)

    outside = WorkersAICallbackHandler()
    run(outside)  # no block: counted from on_llm_end, as LangChain users pass handlers
    run(outside)
    with get_workers_ai_callback() as inside:
        run(inside)  # the hook and on_llm_end both see it: counted once
    assert outside.successful_requests == 2 and inside.successful_requests == 1
    assert outside.total_tokens == 2 * inside.total_tokens > 0
    assert outside.neurons == pytest.approx(2 * inside.neurons)


def test_the_handler_ignores_other_providers_answers() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    handler = WorkersAICallbackHandler()
    FakeListChatModel(responses=["hi"]).invoke("x", config={"callbacks": [handler]})
    assert handler.successful_requests == 0
