"""One class, any model behind Cloudflare: third-party models through AI Gateway in both frameworks.

Against the emulator's gateway stand-ins (spec: AI platform §1): the route and headers sent, the
gateway's facts in the frameworks' metadata, per-call gateway options, the typed errors of the
gateway's error bodies, and embeddings of a third-party model. Sync and async each time.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.llms import ChatMessage

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding
from tests.support.emulator import adapter_kwargs
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import (
    AuthenticationError,
    BYOKAliasError,
    ConfigurationError,
    InsufficientCreditsError,
    SpendLimitError,
)

GPT = "openai/gpt-4.1"
GEMINI = "google/gemini-3-flash"
EMBED = "openai/text-embedding-3-small"


def lc(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(**{"model": GPT, **adapter_kwargs(emulator), "max_retries": 0, **kw})


def li(emulator: EmulatorServer, **kw: Any) -> WorkersAI:
    return WorkersAI(**{"model": GPT, **adapter_kwargs(emulator), "max_retries": 0, **kw})


async def _lc_invoke(model: ChatWorkersAI, mode: str, **kw: Any) -> Any:
    if mode == "sync":
        return model.invoke([HumanMessage("What is Cloudflare?")], **kw)
    return await model.ainvoke([HumanMessage("What is Cloudflare?")], **kw)


async def _li_chat(model: WorkersAI, mode: str, **kw: Any) -> Any:
    messages = [ChatMessage(role="user", content="What is Cloudflare?")]
    if mode == "sync":
        return model.chat(messages, **kw)
    return await model.achat(messages, **kw)


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
async def test_langchain_third_party_model_goes_through_the_unified_route(
    emulator: EmulatorServer, mode: str
) -> None:
    reply = await _lc_invoke(lc(emulator), mode)

    assert isinstance(reply.content, str) and reply.content
    assert reply.response_metadata["model_name"] == GPT
    assert reply.response_metadata["gateway_log_id"]
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] > 0
    routes = emulator.stats()["by_route"]
    assert routes.get("POST /ai/v1/chat/completions") == 1, routes


@MODES
async def test_llama_index_third_party_model_reports_the_gateway_facts(
    emulator: EmulatorServer, mode: str
) -> None:
    reply = await _li_chat(li(emulator, model=GEMINI), mode)

    assert reply.message.content
    assert reply.additional_kwargs["model"] == GEMINI
    assert reply.additional_kwargs["gateway_log_id"]
    assert reply.additional_kwargs["total_tokens"] > 0


@MODES
async def test_streams_of_a_third_party_model_carry_the_gateway_facts_once(
    emulator: EmulatorServer, mode: str
) -> None:
    model = lc(emulator)
    if mode == "sync":
        chunks = list(model.stream("What is Cloudflare?"))
    else:
        chunks = [chunk async for chunk in model.astream("What is Cloudflare?")]
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk

    assert whole.content
    assert [bool(c.usage_metadata) for c in chunks].count(True) == 1
    assert whole.response_metadata["gateway_log_id"]


@MODES
async def test_per_call_gateway_options_become_that_calls_headers(
    emulator: EmulatorServer, mode: str
) -> None:
    model = lc(emulator)

    reply = await _lc_invoke(model, mode, gateway_options={"event_id": "order-42"})
    plain = await _lc_invoke(model, mode)

    assert reply.response_metadata["gateway_event_id"] == "order-42"
    assert plain.response_metadata.get("gateway_event_id") != "order-42"


@MODES
async def test_a_misspelt_per_call_gateway_option_fails_before_any_request(
    emulator: EmulatorServer, mode: str
) -> None:
    with pytest.raises(ConfigurationError, match="event_id"):
        await _li_chat(li(emulator), mode, gateway_options={"evnt_id": "x"})

    assert emulator.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("gateway_insufficient_balance", InsufficientCreditsError),
        ("gateway_byok_alias", BYOKAliasError),
        ("gateway_spend_limit", SpendLimitError),
        ("gateway_unauthorized", AuthenticationError),
    ],
)
@MODES
async def test_gateway_error_bodies_become_typed_errors_in_both_frameworks(
    emulator: EmulatorServer, mode: str, fault: str, error: type[Exception]
) -> None:
    headers = {"x-emulator-fault": fault}

    with pytest.raises(error) as lc_error:
        await _lc_invoke(lc(emulator, default_headers=headers), mode)
    with pytest.raises(error):
        await _li_chat(li(emulator, default_headers=headers), mode)

    assert getattr(lc_error.value, "provider", None) == "openai"
    assert emulator.stats()["requests"] == 2  # not retried


@MODES
async def test_embeddings_of_a_third_party_model(emulator: EmulatorServer, mode: str) -> None:
    kw = {**adapter_kwargs(emulator), "max_retries": 0}
    lc_embed = WorkersAIEmbeddings(model=EMBED, **kw)
    li_embed = WorkersAIEmbedding(model=EMBED, **kw)
    texts = ["Cloudflare runs AI models", "at the edge"]

    if mode == "sync":
        vectors = lc_embed.embed_documents(texts)
        li_vector = li_embed.get_text_embedding(texts[0])
    else:
        vectors = await lc_embed.aembed_documents(texts)
        li_vector = await li_embed.aget_text_embedding(texts[0])

    assert [len(v) for v in vectors] == [1536, 1536]
    assert li_vector == pytest.approx(vectors[0])
    assert emulator.stats()["by_route"].get("POST /ai/v1/embeddings") == 2


# -- cost: from the response when it reports one, unknown otherwise (never invented) ---------


def _reporting(cost: float | None) -> Any:
    """An httpx client whose gateway answers like a provider that reports its cost (or not),
    plain and streamed."""
    import json

    import httpx

    usage: dict[str, Any] = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    if cost is not None:
        usage["cost"] = cost

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("stream"):
            return httpx.Response(200, json={
                "id": "c1", "object": "chat.completion", "model": GPT, "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "Hello."}}],
            })  # fmt: skip
        chunks = [
            {"choices": [{"index": 0, "delta": {"content": "Hello."}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": usage},
        ]
        text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("cost", [0.00042, None])
def test_a_reported_cost_reaches_both_frameworks_and_is_never_invented(
    cost: float | None, stream: bool
) -> None:
    creds = {"account_id": "acct", "api_key": "tok"}
    chat = ChatWorkersAI(model=GPT, http_client=_reporting(cost), **creds)
    if stream:
        chunks = list(chat.stream("hi"))
        message = chunks[0]
        for chunk in chunks[1:]:
            message = message + chunk
    else:
        message = chat.invoke("hi")
    assert message.response_metadata.get("cost") == cost
    assert ("cost" in message.response_metadata) == (cost is not None)

    llm = WorkersAI(model=GPT, http_client=_reporting(cost), **creds)
    messages = [ChatMessage(role="user", content="hi")]
    reply = list(llm.stream_chat(messages))[-1] if stream else llm.chat(messages)
    assert reply is not None
    assert reply.additional_kwargs.get("cost") == cost
    assert ("cost" in reply.additional_kwargs) == (cost is not None)


def test_a_provider_key_in_gateway_options_never_shows() -> None:
    from langchain_core.load import dumps

    options = {"routing": "url", "provider_api_key": "sk-SECRET-1"}
    creds = {"account_id": "acct", "api_key": "tok", "gateway_id": "gw"}
    chat = ChatWorkersAI(model=GPT, gateway_options=dict(options), **creds)
    llm = WorkersAI(model=GPT, gateway_options=dict(options), **creds)
    shown = [repr(chat), str(chat.model_dump()), dumps(chat), repr(llm), str(llm.to_dict())]
    assert not [s for s in shown if "SECRET" in s]
    gateway = chat._settings.gateway
    assert gateway is not None and gateway.provider_api_key is not None
    assert gateway.provider_api_key.get_secret_value() == "sk-SECRET-1"  # still used as given
