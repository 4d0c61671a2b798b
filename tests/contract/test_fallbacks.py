"""Fallbacks (issue #16): a ``@cf/...`` model out of capacity (3040) hands the call to
``openai/gpt-4.1``, in both frameworks, sync, async and streamed; input errors never fall back.

The emulator fails the Workers AI model with a server-wide rule filtered by model, so only that
model's requests fail and the third-party stand-in answers.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.llms import ChatMessage

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding
from tests.support.emulator import adapter_kwargs
from tests.support.waits import fake_waits
from workers_ai import WorkersAIClient
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.errors import BadRequestError, CapacityError, ConfigurationError

CF = "@cf/meta/llama-3.1-8b-instruct"
GPT = "openai/gpt-4.1"
MODES = pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


def _fail_cf(emulator: EmulatorServer, kind: str = "capacity", **kw: Any) -> None:
    emulator.configure(faults=[FaultSpec(kind=kind, model=CF, **kw)])


def lc(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(**{"model": CF, **adapter_kwargs(emulator), "max_retries": 1, **kw})


def li(emulator: EmulatorServer, **kw: Any) -> WorkersAI:
    return WorkersAI(**{"model": CF, **adapter_kwargs(emulator), "max_retries": 1, **kw})


async def _lc_call(model: ChatWorkersAI, mode: str, **kw: Any) -> Any:
    """The answer's text and response_metadata, however it was asked for."""
    messages = [HumanMessage("What is Cloudflare?")]
    if mode == "sync":
        msg = model.invoke(messages, **kw)
    elif mode == "async":
        msg = await model.ainvoke(messages, **kw)
    elif mode == "stream":
        chunks = list(model.stream(messages, **kw))
        msg = chunks[0]
        for chunk in chunks[1:]:
            msg = msg + chunk
    else:
        chunks = [c async for c in model.astream(messages, **kw)]
        msg = chunks[0]
        for chunk in chunks[1:]:
            msg = msg + chunk
    return msg.content, msg.response_metadata


async def _li_call(model: WorkersAI, mode: str, **kw: Any) -> Any:
    messages = [ChatMessage(role="user", content="What is Cloudflare?")]
    if mode == "sync":
        resp = model.chat(messages, **kw)
    elif mode == "async":
        resp = await model.achat(messages, **kw)
    elif mode == "stream":
        resp = list(model.stream_chat(messages, **kw))[-1]
    else:
        resp = [r async for r in await model.astream_chat(messages, **kw)][-1]
    assert resp is not None
    return resp.message.content, resp.additional_kwargs


GW = "fallback-gw"


def _url_routed(emulator: EmulatorServer, **gateway: Any) -> dict[str, Any]:
    return {"gateway_id": GW, "gateway_options": {"routing": "url", **gateway}}


def _universal_logs(emulator: EmulatorServer) -> list[dict[str, Any]]:
    return [e for e in emulator.gateway_logs(GW) if e["path"] == "POST gateway universal"]


def _requests(emulator: EmulatorServer, model: str) -> int:
    return int(emulator.stats()["by_model"].get(model, 0))


@MODES
async def test_langchain_capacity_on_cf_falls_back_to_openai(
    emulator: EmulatorServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    _fail_cf(emulator)
    with caplog.at_level(logging.INFO, logger="workers_ai"):
        text, meta = await _lc_call(lc(emulator, fallbacks=[GPT]), mode)
    assert text
    assert meta["answered_by"] == GPT
    assert meta["fallback_steps"] == [
        {"model": CF, "error": "CapacityError", "code": 3040, "status_code": 429, "where": "client"}
    ]
    assert meta["attempts"] == 3  # the @cf model and its one retry, then openai
    assert _requests(emulator, CF) == 2 and _requests(emulator, GPT) == 1
    assert any("falling back to openai/gpt-4.1" in r.getMessage() for r in caplog.records)
    assert "emulator-token" not in caplog.text


@MODES
async def test_llama_index_capacity_on_cf_falls_back_to_openai(
    emulator: EmulatorServer, mode: str
) -> None:
    _fail_cf(emulator)
    text, extra = await _li_call(li(emulator, fallbacks=[GPT]), mode)
    assert text
    assert extra["answered_by"] == GPT
    assert [step["code"] for step in extra["fallback_steps"]] == [3040]
    assert _requests(emulator, GPT) == 1


@MODES
async def test_per_call_fallbacks_replace_the_objects(emulator: EmulatorServer, mode: str) -> None:
    _fail_cf(emulator)
    _, meta = await _lc_call(lc(emulator), mode, fallbacks=[GPT])
    assert meta["answered_by"] == GPT
    with pytest.raises(CapacityError):  # fallbacks=[] turns the object's off for this call
        await _lc_call(lc(emulator, fallbacks=[GPT]), mode, fallbacks=[])
    _, extra = await _li_call(li(emulator), mode, fallbacks=[GPT])
    assert extra["answered_by"] == GPT


@MODES
async def test_an_input_error_never_falls_back(emulator: EmulatorServer, mode: str) -> None:
    _fail_cf(emulator, kind="server_error", status=400)
    with pytest.raises(BadRequestError):
        await _lc_call(lc(emulator, fallbacks=[GPT]), mode)
    assert _requests(emulator, GPT) == 0


@pytest.mark.parametrize("where", ["client", "gateway"])
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_last_models_error_is_raised_when_every_model_fails(
    emulator: EmulatorServer, mode: str, where: str
) -> None:
    """Client walk or the gateway's universal endpoint (URL routing): the last one's error."""
    emulator.configure(
        faults=[FaultSpec(kind="capacity", model=CF), FaultSpec(kind="quota", model=GPT)]
    )
    from workers_ai.errors import QuotaExceededError

    routing = _url_routed(emulator) if where == "gateway" else {}
    with pytest.raises(QuotaExceededError):
        await _lc_call(lc(emulator, fallbacks=[GPT], **routing), mode)
    if where == "client":
        assert _requests(emulator, GPT) == 1  # a quota is not retried


async def test_no_fallbacks_means_no_fallback_metadata(emulator: EmulatorServer) -> None:
    _, meta = await _lc_call(lc(emulator), "sync")
    assert "fallback_steps" not in meta and "answered_by" not in meta


def test_bad_fallbacks_fail_at_construction(emulator: EmulatorServer) -> None:
    with pytest.raises(ValueError, match="valid list"):
        lc(emulator, fallbacks=GPT)
    with pytest.raises((ConfigurationError, ValueError), match="at most 4"):
        lc(emulator, fallbacks=[GPT, "openai/gpt-4o", "xai/grok-3", "google/gemini-3-flash", "a/b"])
    with pytest.raises((ConfigurationError, ValueError), match="twice"):
        li(emulator, fallbacks=[CF])
    with pytest.raises((ConfigurationError, ValueError)):
        lc(emulator, fallbacks=["gpt-4.1"])  # not a model id: no provider
    assert _requests(emulator, GPT) == 0


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_bad_per_call_fallbacks_fail_before_any_request(
    emulator: EmulatorServer, mode: str
) -> None:
    with pytest.raises(ConfigurationError, match="list of model ids"):
        await _lc_call(lc(emulator), mode, fallbacks=GPT)
    with pytest.raises(ConfigurationError, match="twice"):
        await _lc_call(lc(emulator), mode, fallbacks=[GPT, GPT])
    assert emulator.stats()["requests"] == 0


def test_core_client_fallbacks_from_prepare_chat(emulator: EmulatorServer) -> None:
    from workers_ai.messages import Message
    from workers_ai.prepare import prepare_chat

    _fail_cf(emulator)
    prep = prepare_chat(
        [Message(role="user", content="hi")], {"fallbacks": [GPT]}, model=CF, params={}
    )
    assert [t.endpoint for t in prep.fallbacks] == ["openai"]
    with WorkersAIClient(**emulator.client_kwargs(), max_retries=0) as client:
        answer = client.chat(prep.model, prep.body, **prep.call_options())
    assert answer.meta.answered_by == GPT and answer.meta.attempts == 2
    assert answer.result.text


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_a_stream_that_broke_after_its_first_event_does_not_fall_back(
    emulator: EmulatorServer, mode: str
) -> None:
    from workers_ai.errors import StreamError

    _fail_cf(emulator, kind="stream_error", after=2)
    with pytest.raises(StreamError):
        await _lc_call(lc(emulator, fallbacks=[GPT]), mode)
    assert _requests(emulator, GPT) == 0  # no duplicated or mixed text


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_a_stream_that_failed_before_its_first_event_falls_back(
    emulator: EmulatorServer, mode: str
) -> None:
    _fail_cf(emulator, kind="unavailable")
    text, meta = await _lc_call(lc(emulator, fallbacks=[GPT]), mode)
    assert text and meta["answered_by"] == GPT
    assert meta["fallback_steps"][0]["status_code"] == 503


# -- server-side: the gateway's universal endpoint (routing="url") -----------------------------


@MODES
async def test_url_routing_falls_back_on_the_gateway_in_one_request(
    emulator: EmulatorServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    _fail_cf(emulator)
    with caplog.at_level(logging.INFO, logger="workers_ai"):
        text, meta = await _lc_call(lc(emulator, fallbacks=[GPT], **_url_routed(emulator)), mode)
    assert text
    assert meta["answered_by"] == GPT and meta["gateway_step"] == 1
    assert meta["fallback_steps"] == [{"model": CF, "error": "unknown", "where": "gateway"}]
    assert meta["attempts"] == 1  # one HTTP request: the gateway walked the chain
    [log] = _universal_logs(emulator)
    assert log["step"] == 1 and log["model"] == GPT
    assert any("fell back server-side" in r.getMessage() for r in caplog.records)
    assert "emulator-token" not in caplog.text


@MODES
async def test_llama_index_url_routing_falls_back_on_the_gateway(
    emulator: EmulatorServer, mode: str
) -> None:
    _fail_cf(emulator)
    text, extra = await _li_call(li(emulator, fallbacks=[GPT], **_url_routed(emulator)), mode)
    assert text and extra["answered_by"] == GPT and extra["gateway_step"] == 1
    assert len(_universal_logs(emulator)) == 1


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_the_first_model_answering_on_the_gateway_reports_no_steps(
    emulator: EmulatorServer, mode: str
) -> None:
    text, meta = await _lc_call(lc(emulator, fallbacks=[GPT], **_url_routed(emulator)), mode)
    assert text and meta["answered_by"] == CF and meta["fallback_steps"] == []
    assert meta["gateway_step"] == 0


def test_each_universal_entry_carries_its_own_credential() -> None:
    """Workers AI entries carry the Cloudflare token, third-party ones the provider key (or
    nothing: Unified Billing); the request itself carries only cf-aig-authorization, so a
    provider never receives the Cloudflare token. Tokens are masked in the call's repr."""
    import json

    import httpx

    from workers_ai.gateway import GatewayOptions

    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        body = {"id": "x", "object": "chat.completion", "model": GPT, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ]}  # fmt: skip
        return httpx.Response(200, json=body, headers={"cf-aig-step": "1"})

    for key in (None, "sk-provider-key"):
        gateway = GatewayOptions("gw", routing="url", provider_api_key=key)
        with WorkersAIClient(
            account_id="acct", api_token="cf-token-123", gateway=gateway,
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        ) as client:  # fmt: skip
            from workers_ai.messages import Message
            from workers_ai.prepare import prepare_chat

            prep = prepare_chat(
                [Message(role="user", content="hi")], {"fallbacks": [GPT]}, model=CF, params={}
            )
            call = client._universal_call(
                (client._fallback_run(prep.model, prep.body, "native", None, prep.fallbacks)).chain,
                stream=False, timeout=None,
            )  # fmt: skip
            assert call is not None
            assert "cf-token-123" not in repr(call) and "sk-provider-key" not in repr(call)
            answer = client.chat(prep.model, prep.body, **prep.call_options())
        assert answer.meta.answered_by == GPT
        request = sent[-1]
        assert str(request.url) == "https://gateway.ai.cloudflare.com/v1/acct/gw"
        assert "authorization" not in request.headers
        assert request.headers["cf-aig-authorization"] == "Bearer cf-token-123"
        entries = json.loads(request.content)
        assert [(e["provider"], e["endpoint"]) for e in entries] == [
            ("workers-ai", CF), ("compat", "chat/completions")
        ]  # fmt: skip
        assert entries[0]["headers"]["Authorization"] == "Bearer cf-token-123"
        assert entries[1]["query"]["model"] == GPT and "model" not in entries[0]["query"]
        if key is None:
            assert "Authorization" not in entries[1]["headers"]
        else:
            assert entries[1]["headers"]["Authorization"] == f"Bearer {key}"


@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_server_fallback_false_walks_the_chain_from_the_client(
    emulator: EmulatorServer, mode: str
) -> None:
    _fail_cf(emulator)
    model = lc(emulator, fallbacks=[GPT], **_url_routed(emulator, server_fallback=False))
    _, meta = await _lc_call(model, mode)
    assert meta["answered_by"] == GPT
    assert meta["fallback_steps"][0]["where"] == "client"
    assert meta["fallback_steps"][0]["code"] == 3040
    assert not _universal_logs(emulator)


def test_server_fallback_is_not_a_per_call_option(emulator: EmulatorServer) -> None:
    model = lc(emulator, fallbacks=[GPT], **_url_routed(emulator))
    with pytest.raises(ConfigurationError, match="not a per-call gateway option"):
        model.invoke("hi", gateway_options={"server_fallback": False})
    with pytest.raises((ConfigurationError, ValueError), match="True or False"):
        lc(emulator, **_url_routed(emulator, server_fallback="no"))
    assert emulator.stats()["requests"] == 0


# -- embeddings ------------------------------------------------------------------------------

BGE = "@cf/baai/bge-base-en-v1.5"  # 768 dimensions
GEMMA = "@cf/google/embeddinggemma-300m"  # 768 dimensions too
SMALL = "@cf/baai/bge-small-en-v1.5"  # 384


def lc_embed(emulator: EmulatorServer, **kw: Any) -> WorkersAIEmbeddings:
    return WorkersAIEmbeddings(**{"model": BGE, **adapter_kwargs(emulator), "max_retries": 0, **kw})


def li_embed(emulator: EmulatorServer, **kw: Any) -> WorkersAIEmbedding:
    return WorkersAIEmbedding(
        **{"model_name": BGE, **adapter_kwargs(emulator), "max_retries": 0, **kw}
    )


@pytest.mark.parametrize("kind", ["quota", "unavailable"])
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_embeddings_fall_back_to_a_declared_compatible_model(
    emulator: EmulatorServer, mode: str, kind: str
) -> None:
    emulator.configure(faults=[FaultSpec(kind=kind, model=BGE)])
    model = lc_embed(emulator, fallbacks=[GEMMA], fallback_compatible=True)
    texts = [f"chunk {i}" for i in range(5)]
    if mode == "sync":
        vectors, query = model.embed_documents(texts), model.embed_query("q")
    else:
        vectors, query = await model.aembed_documents(texts), await model.aembed_query("q")
    assert len(vectors) == 5 and all(len(v) == 768 for v in vectors) and len(query) == 768
    assert _requests(emulator, GEMMA) == 2
    li_model = li_embed(emulator, fallbacks=[GEMMA], fallback_compatible=True)
    assert len(li_model.get_text_embedding("chunk")) == 768


async def test_a_document_list_falls_back_only_for_the_failed_batches(
    emulator: EmulatorServer,
) -> None:
    # the first batch fails for good (2021 is not retried), the others succeed
    emulator.configure(faults=[FaultSpec(kind="gateway_insufficient_balance", model=BGE, count=1)])
    model = lc_embed(
        emulator, fallbacks=[GEMMA], fallback_compatible=True, batch_size=2, max_concurrency=1
    )
    vectors = await model.aembed_documents([f"chunk {i}" for i in range(6)])
    assert len(vectors) == 6 and all(len(v) == 768 for v in vectors)
    assert _requests(emulator, GEMMA) == 1  # one batch of two texts, not the list


def test_embeddings_fallbacks_need_a_declaration_and_the_same_dimensions(
    emulator: EmulatorServer,
) -> None:
    with pytest.raises(ValueError, match="fallback_compatible=True"):
        lc_embed(emulator, fallbacks=[GEMMA])
    with pytest.raises(ValueError, match="same dimensions"):
        lc_embed(emulator, fallbacks=[SMALL], fallback_compatible=True)
    with pytest.raises(ValueError, match="fallback_compatible=True"):
        li_embed(emulator, fallbacks=[GEMMA])
    with pytest.raises(ValueError, match="same dimensions"):
        li_embed(emulator, fallbacks=["openai/text-embedding-3-small"], fallback_compatible=True)


def test_an_embeddings_input_error_does_not_fall_back(emulator: EmulatorServer) -> None:
    emulator.configure(faults=[FaultSpec(kind="server_error", status=400, model=BGE)])
    model = lc_embed(emulator, fallbacks=[GEMMA], fallback_compatible=True)
    with pytest.raises(BadRequestError):
        model.embed_query("q")
    assert _requests(emulator, GEMMA) == 0


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_the_gateways_fallback_from_a_workers_ai_model_on_chat_completions(
    emulator: EmulatorServer, mode: str
) -> None:
    """A Workers AI entry on its OpenAI-compatible path (``endpoint="openai"``) out of
    capacity: the universal endpoint moves on to the next entry."""
    _fail_cf(emulator)
    model = lc(emulator, fallbacks=[GPT], endpoint="openai", **_url_routed(emulator))
    text, meta = await _lc_call(model, mode)
    assert text and meta["answered_by"] == GPT and meta["gateway_step"] == 1
