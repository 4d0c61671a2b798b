"""Any model behind Cloudflare (issue #16): model ids, routes, wire ids, and the client sending
third-party models through AI Gateway (spec: cloudflare-ai-platform-api.md §1.1-§1.4, §1.7)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.mock_transport import ACCOUNT, TOKEN, Recorder
from workers_ai import (
    ConfigurationError,
    GatewayOptions,
    InvalidRequestError,
    ModelIdError,
    catalog,
)
from workers_ai.embeddings import build_embedding_body, embedding_spec
from workers_ai.providers import parse_model
from workers_ai.settings import resolve_settings

REST = f"https://api.cloudflare.com/client/v4/accounts/{ACCOUNT}/ai/v1/chat/completions"
COMPAT = f"https://gateway.ai.cloudflare.com/v1/{ACCOUNT}/gw/compat/chat/completions"
MSGS = {"messages": [{"role": "user", "content": "Hi"}]}


def completion(model: str = "openai/gpt-4.1", text: str = "Hello") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


@pytest.mark.parametrize(
    ("model", "kind", "provider", "rest", "compat"),
    [
        ("@cf/meta/llama-3.1-8b-instruct", "workers_ai", None, None, None),
        ("workers-ai/@cf/meta/llama-3.1-8b-instruct", "workers_ai", None, None, None),
        ("openai/gpt-4.1", "third_party", "openai", "openai/gpt-4.1", "openai/gpt-4.1"),
        ("google/gemini-3-flash", "third_party", "google", "google/gemini-3-flash",
         "google-ai-studio/gemini-3-flash"),
        ("google-ai-studio/gemini-2.5-flash", "third_party", "google-ai-studio",
         "google/gemini-2.5-flash", "google-ai-studio/gemini-2.5-flash"),
        ("xai/grok-3", "third_party", "xai", "xai/grok-3", "grok/grok-3"),
        ("grok/grok-4", "third_party", "grok", "xai/grok-4", "grok/grok-4"),
        ("groq/meta-llama/llama-4-scout", "third_party", "groq", "groq/meta-llama/llama-4-scout",
         "groq/meta-llama/llama-4-scout"),
        ("alibaba/qwen-max", "third_party", "alibaba", "alibaba/qwen-max", "alibaba/qwen-max"),
        ("custom-acme/m1", "third_party", "custom-acme", "custom-acme/m1", "custom-acme/m1"),
        ("dynamic/support", "dynamic", "dynamic", "dynamic/support", "dynamic/support"),
        ("cloudflare/auto", "auto", "cloudflare", "cloudflare/auto", "cloudflare/auto"),
    ],
)  # fmt: skip
def test_model_ids_and_their_wire_ids(model, kind, provider, rest, compat) -> None:
    ref = parse_model(model)
    assert (ref.kind, ref.provider) == (kind, provider)
    if rest is not None:
        assert (ref.wire_id("rest"), ref.wire_id("compat")) == (rest, compat)
    else:
        assert ref.name == "@cf/meta/llama-3.1-8b-instruct"


@pytest.mark.parametrize(
    "model",
    ["", "openai/", "openai//x", "open ai/gpt", "meta/llama-3.1-8b-instruct", "acme/model",
     "gpt-4o", "cloudflare/other", "dynamic/a/b", "workers-ai/meta/llama", "custom-/x"],
)  # fmt: skip
def test_unroutable_ids_are_a_configuration_error_listing_the_forms(model: str) -> None:
    with pytest.raises(ModelIdError) as info:
        parse_model(model)
    assert isinstance(info.value, ConfigurationError) and isinstance(
        info.value, InvalidRequestError
    )
    assert repr(model) in str(info.value)


def _client_call(runner, rec, method, *args, gateway=None, **kw):
    return runner.call(rec, method, *args, client_kwargs={"gateway": gateway}, **kw)


def test_third_party_chat_goes_to_rest_with_the_default_gateway(runner) -> None:
    rec = Recorder([httpx.Response(200, json=completion(), headers={"cf-aig-log-id": "L1"})])
    response = _client_call(runner, rec, "chat", "openai/gpt-4.1", MSGS)
    (request,) = rec.requests
    assert str(request.url) == REST
    assert request.headers["cf-aig-gateway-id"] == "default"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {**MSGS, "model": "openai/gpt-4.1"}
    assert response.result.text == "Hello" and response.result.model == "openai/gpt-4.1"
    assert response.meta.gateway_log_id == "L1"


def test_result_wrapped_answer_is_accepted(runner) -> None:
    body = {"result": completion(text="Wrapped"), "success": True, "errors": [], "messages": []}
    rec = Recorder([httpx.Response(200, json=body)])
    assert _client_call(runner, rec, "chat", "xai/grok-3", MSGS).result.text == "Wrapped"


def test_header_routing_names_the_settings_gateway(runner) -> None:
    rec = Recorder([httpx.Response(200, json=completion())])
    gateway = GatewayOptions("gw", routing="header", byok_alias="prod")
    _client_call(runner, rec, "chat", "grok/grok-4", MSGS, gateway=gateway)
    (request,) = rec.requests
    assert str(request.url) == REST
    assert request.headers["cf-aig-gateway-id"] == "gw"
    assert request.headers["cf-aig-byok-alias"] == "prod"
    assert json.loads(request.content)["model"] == "xai/grok-4"  # REST names the catalog author


def test_url_routing_uses_compat_with_the_provider_key(runner) -> None:
    rec = Recorder([httpx.Response(200, json=completion())])
    gateway = GatewayOptions("gw", provider_api_key="sk-provider-123")
    _client_call(runner, rec, "chat", "google/gemini-3-flash", MSGS, gateway=gateway)
    (request,) = rec.requests
    assert str(request.url) == COMPAT
    assert request.headers["authorization"] == "Bearer sk-provider-123"
    assert request.headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
    assert "cf-aig-gateway-id" not in request.headers
    assert json.loads(request.content)["model"] == "google-ai-studio/gemini-3-flash"


def test_url_routing_without_a_provider_key_sends_no_authorization(runner) -> None:
    rec = Recorder([httpx.Response(200, json=completion())])
    gateway = GatewayOptions("gw", auth_token="gw-token-1")
    _client_call(runner, rec, "chat", "openai/gpt-5-mini", MSGS, gateway=gateway)
    (request,) = rec.requests
    assert "authorization" not in request.headers  # Unified Billing or a stored BYOK key
    assert request.headers["cf-aig-authorization"] == "Bearer gw-token-1"


def test_workers_ai_models_keep_todays_routing(runner) -> None:
    ok = {"result": {"response": "x"}, "success": True, "errors": [], "messages": []}
    rec = Recorder([httpx.Response(200, json=ok)])
    _client_call(runner, rec, "chat", "workers-ai/@cf/meta/llama-3.1-8b-instruct", MSGS)
    (request,) = rec.requests
    assert request.url.path.endswith("/ai/run/@cf/meta/llama-3.1-8b-instruct")
    assert "cf-aig-gateway-id" not in request.headers
    assert "model" not in json.loads(request.content)


def test_third_party_stream_asks_for_usage_and_reads_chunks(runner) -> None:
    chunk = {"object": "chat.completion.chunk", "model": "anthropic/claude-sonnet-4-5",
             "choices": [{"index": 0, "delta": {"content": "Hi"}}]}  # fmt: skip
    sse = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
    headers = {"content-type": "text/event-stream", "cf-aig-routed-model": "openai/x"}
    rec = Recorder([httpx.Response(200, content=sse, headers=headers)])
    deltas, _stream = _client_call(runner, rec, "stream_chat", "anthropic/claude-sonnet-4-5", MSGS)
    body = json.loads(rec.requests[0].content)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "".join(d.text for d in deltas) == "Hi"


def test_gateway_response_headers_reach_the_metadata(runner) -> None:
    headers = {
        "cf-aig-event-id": "ev1", "cf-aig-step": "1", "cf-aig-model": "gpt-4o-mini",
        "cf-aig-provider": "openai", "cf-aig-routed-model": "openai/gpt-5.6-luna",
        "cf-aig-routing-reason": "cost_optimal_within_pool",
        "cf-aig-routing-decision-id": "91e0b970", "cf-aig-cache-status": "HIT",
    }  # fmt: skip
    rec = Recorder([httpx.Response(200, json=completion("openai/gpt-5.6-luna"), headers=headers)])
    meta = _client_call(runner, rec, "chat", "cloudflare/auto", MSGS).meta
    assert (meta.gateway_event_id, meta.gateway_step) == ("ev1", 1)
    assert (meta.gateway_model, meta.gateway_provider) == ("gpt-4o-mini", "openai")
    assert meta.gateway_routed_model == "openai/gpt-5.6-luna"
    assert meta.gateway_routing_reason == "cost_optimal_within_pool"
    assert meta.gateway_routing_decision_id == "91e0b970"
    assert meta.gateway_cache_status == "HIT"


@pytest.mark.parametrize("model", ["dynamic/x", "openai/gpt-4.1"])
def test_run_without_messages_or_input_fails_before_any_request(runner, model) -> None:
    rec = Recorder([httpx.Response(500)])
    with pytest.raises(ModelIdError, match="no /ai/run"):
        _client_call(runner, rec, "run", model, {"prompt": "Hi"})
    assert rec.requests == []


def test_third_party_embeddings_go_to_v1_embeddings(runner) -> None:
    answer = {"object": "list", "data": [{"index": 0, "embedding": [0.1, 0.2]}]}
    rec = Recorder([httpx.Response(200, json=answer)])
    spec = embedding_spec("openai/text-embedding-3-small")
    body = build_embedding_body(spec, ["hello"], kind="document")
    data = _client_call(runner, rec, "run", spec.model, body)
    (request,) = rec.requests
    assert request.url.path == f"/client/v4/accounts/{ACCOUNT}/ai/v1/embeddings"
    assert json.loads(request.content) == {
        "input": ["hello"], "model": "openai/text-embedding-3-small"
    }  # fmt: skip
    assert data == answer


def test_embeddings_with_url_routing_use_openais_native_path(runner) -> None:
    rec = Recorder([httpx.Response(200, json={"object": "list", "data": []})])
    gateway = GatewayOptions("gw", provider_api_key="sk-p")
    body = {"input": ["a"]}
    _client_call(runner, rec, "run", "openai/text-embedding-3-large", body, gateway=gateway)
    (request,) = rec.requests
    assert request.url.path == f"/v1/{ACCOUNT}/gw/openai/embeddings"
    assert json.loads(request.content)["model"] == "text-embedding-3-large"


def test_embeddings_need_an_embedding_route() -> None:
    with pytest.raises(ConfigurationError, match="chat completions only"):
        embedding_spec("dynamic/x")
    settings = resolve_settings(
        account_id=ACCOUNT, api_token=TOKEN, gateway=GatewayOptions("gw"), env={}
    )
    from workers_ai.providers import embeddings_route

    with pytest.raises(ModelIdError, match="routing='header'"):
        embeddings_route("google/gemini-embedding", settings)


def test_catalog_answers_for_third_party_models() -> None:
    info = catalog.get("openai/gpt-4.1")
    assert info.known and info.third_party and info.provider == "openai"
    assert info.is_text_generation and info.supports_tools and info.streaming
    assert info.output_shape == "chat_completion" and info.tool_call_format == "openai"
    assert catalog.estimate_cost("openai/gpt-4.1", 1000, 1000) == catalog.Cost(None, None)
    unknown = catalog.get("openai/gpt-9")
    assert not unknown.known and unknown.provider == "openai" and unknown.supports_tools
    assert catalog.get("openai/text-embedding-3-small").dimensions == 1536
    assert catalog.get("openai/text-embedding-3-large").dimensions == 3072
    assert all(not m.third_party for m in catalog.models())
    assert not catalog.get("@cf/meta/llama-3.1-8b-instruct").third_party
