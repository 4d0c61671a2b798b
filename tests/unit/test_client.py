"""The sync and async clients over httpx.MockTransport: one table, both clients.

Counts attempts and checks retry delays with time patched (never slept).
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from tests.support.mock_transport import ACCOUNT, TOKEN, Recorder
from workers_ai import (
    APIConnectionError,
    APITimeoutError,
    AsyncWorkersAIClient,
    AuthenticationError,
    BadRequestError,
    CapacityError,
    ConfigurationError,
    GatewayOptions,
    InternalServerError,
    InvalidRequestError,
    QuotaExceededError,
    StreamError,
    WorkersAIClient,
)

MODEL = "@cf/meta/llama-3.1-8b-instruct"


def ok(result, headers=None):
    body = {"result": result, "success": True, "errors": [], "messages": []}
    return httpx.Response(200, json=body, headers=headers)


def fail(status, code, message, headers=None):
    body = {"result": None, "success": False, "errors": [{"code": code, "message": message}]}
    return httpx.Response(status, json=body, headers=headers)


def sse(*events, done=True, headers=None):
    lines = [f"data: {json.dumps(e) if not isinstance(e, str) else e}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return httpx.Response(
        200,
        content="".join(lines).encode(),
        headers={"content-type": "text/event-stream", **(headers or {})},
    )


# -- requests ----------------------------------------------------------------------------------
def test_run_sends_documented_request_and_unwraps_result(runner):
    rec = Recorder([ok({"response": "Hello, World"})])
    result = runner.call(rec, "run", MODEL, {"prompt": "Hi"})
    assert result == {"response": "Hello, World"}
    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url.path == f"/client/v4/accounts/{ACCOUNT}/ai/run/{MODEL}"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("workers-ai-python/")
    assert json.loads(request.content) == {"prompt": "Hi"}


def test_run_response_carries_metadata(runner):
    rec = Recorder([ok({"response": "x"}, {"cf-aig-cache-status": "HIT", "cf-ai-req-id": "r9"})])
    response = runner.call(rec, "run_response", MODEL, {"prompt": "Hi"})
    assert response.meta.gateway_cache_status == "HIT"
    assert response.meta.request_id == "r9"


def test_per_call_timeout_override(runner):
    rec = Recorder([ok({"response": "x"})])
    runner.call(rec, "run", MODEL, {"prompt": "Hi"}, timeout=3.0)
    assert rec.requests[0].extensions["timeout"]["read"] == 3.0
    rec = Recorder([ok({"response": "x"})])
    runner.call(rec, "run", MODEL, {"prompt": "Hi"})
    assert rec.requests[0].extensions["timeout"] == {
        "connect": 10.0,
        "read": 300.0,
        "write": 300.0,
        "pool": 300.0,
    }


def test_gateway_url_and_headers(runner):
    rec = Recorder([ok({"response": "x"})])
    gateway = GatewayOptions("gw1", cache_ttl=120, skip_cache=True)
    runner.call(rec, "run", MODEL, {"prompt": "Hi"}, client_kwargs={"gateway": gateway})
    request = rec.requests[0]
    assert (
        str(request.url) == f"https://gateway.ai.cloudflare.com/v1/{ACCOUNT}/gw1/workers-ai/{MODEL}"
    )
    assert request.headers["cf-aig-cache-ttl"] == "120"
    assert request.headers["cf-aig-skip-cache"] == "true"


def test_openai_chat_completions_route(runner):
    completion = {"object": "chat.completion", "choices": [{"message": {"content": "hi"}}]}
    rec = Recorder([httpx.Response(200, json=completion)])
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    assert runner.call(rec, "openai", "chat/completions", body) == completion
    assert rec.requests[0].url.path == f"/client/v4/accounts/{ACCOUNT}/ai/v1/chat/completions"


def test_chat_normalises_and_openai_endpoint_puts_model_in_body(runner):
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "hey"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    rec = Recorder([httpx.Response(200, json=completion)])
    inputs = {"messages": [{"role": "user", "content": "Hi"}]}
    response = runner.call(rec, "chat", MODEL, inputs, endpoint="openai")
    assert response.result.text == "hey"
    assert response.result.usage.total_tokens == 4
    assert json.loads(rec.requests[0].content)["model"] == MODEL
    assert rec.requests[0].url.path.endswith("/ai/v1/chat/completions")


def test_models_search_and_schema(runner):
    rec = Recorder([ok([{"name": MODEL}]), ok({"input": {}, "output": {}})])
    assert runner.call(rec, "models_search", task="Text Generation") == [{"name": MODEL}]
    assert rec.requests[0].url.params["task"] == "Text Generation"
    rec = Recorder([ok({"input": {"type": "object"}, "output": {}})])
    assert runner.call(rec, "model_schema", MODEL)["input"] == {"type": "object"}
    assert rec.requests[0].url.params["model"] == MODEL


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("", {"prompt": "x"}), InvalidRequestError),
        ((MODEL, "not a dict"), InvalidRequestError),
        (("bad model id", {"prompt": "x"}), InvalidRequestError),
    ],
)
def test_bad_input_fails_before_any_request(runner, args, error):
    rec = Recorder([ok({})])
    with pytest.raises(error):
        runner.call(rec, "run", *args)
    assert rec.requests == []


def test_missing_credentials_fail_at_construction(monkeypatch):
    for name in (
        "CLOUDFLARE_ACCOUNT_ID",
        "CF_ACCOUNT_ID",
        "CLOUDFLARE_API_TOKEN",
        "CF_AI_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="CLOUDFLARE_API_TOKEN"):
        WorkersAIClient()
    with pytest.raises(ConfigurationError, match="CLOUDFLARE_ACCOUNT_ID"):
        AsyncWorkersAIClient(api_token="t")


# -- errors and retries -----------------------------------------------------------------------
def test_rate_limit_is_retried_honouring_retry_after(runner):
    limited = fail(429, 3021, "rate limiting", {"retry-after": "2"})
    rec = Recorder([limited, fail(429, 3040, "Capacity", {"retry-after-ms": "150"}), ok({"r": 1})])
    assert runner.call(rec, "run", MODEL, {"prompt": "x"}) == {"r": 1}
    assert len(rec.requests) == 3
    assert runner.sleeps == [2.0, 0.15]


def test_retries_stop_after_max_retries(runner):
    rec = Recorder([httpx.Response(503, text="<html>Service Unavailable</html>")])
    with pytest.raises(InternalServerError, match="Service Unavailable") as info:
        runner.call(rec, "run", MODEL, {"prompt": "x"})
    assert info.value.status_code == 503
    assert len(rec.requests) == 3  # first attempt + max_retries=2
    assert len(runner.sleeps) == 2
    assert 0.375 <= runner.sleeps[0] <= 0.5
    assert 0.75 <= runner.sleeps[1] <= 1.0


def test_max_retries_zero_means_one_attempt(runner):
    rec = Recorder([fail(429, 3040, "Capacity temporarily exceeded, please try again.")])
    with pytest.raises(CapacityError) as info:
        runner.call(rec, "run", MODEL, {"prompt": "x"}, client_kwargs={"max_retries": 0})
    assert info.value.code == 3040
    assert len(rec.requests) == 1
    assert runner.sleeps == []


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (lambda: fail(429, 3036, "daily free allocation"), QuotaExceededError),
        (lambda: fail(400, 5006, "AiError: Bad input: missing 'prompt'"), BadRequestError),
        (lambda: fail(401, 10000, "Authentication error"), AuthenticationError),
    ],
)
def test_non_retryable_errors_are_raised_at_once(runner, response, error):
    rec = Recorder([response()])
    with pytest.raises(error):
        runner.call(rec, "run", MODEL, {"prompt": "x"})
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx.RemoteProtocolError("reset"), APIConnectionError),
    ],
)
def test_transport_errors_are_retried_then_typed(runner, exc, error):
    rec = Recorder([exc])
    with pytest.raises(error):
        runner.call(rec, "run", MODEL, {"prompt": "x"})
    assert len(rec.requests) == 3
    rec = Recorder([exc, ok({"response": "back"})])
    assert runner.call(rec, "run", MODEL, {"prompt": "x"}) == {"response": "back"}


# -- streaming --------------------------------------------------------------------------------
CLASSIC_STREAM = [  # spec §3 classic stream
    {"response": "Hello", "p": "abdefgh"},
    {"response": " there", "p": "abdefgh"},
    {"response": "", "usage": {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60}},
]


def test_stream_yields_decoded_events_and_sets_stream_flag(runner):
    rec = Recorder([sse(*CLASSIC_STREAM)])
    events, stream = runner.call(rec, "stream", MODEL, {"prompt": "Hi"})
    assert [e.get("response") for e in events] == ["Hello", " there", ""]
    assert json.loads(rec.requests[0].content) == {"prompt": "Hi", "stream": True}
    assert stream.meta.status_code == 200


def test_stream_chat_gives_text_and_usage_once(runner):
    rec = Recorder([sse(*CLASSIC_STREAM)])
    deltas, stream = runner.call(rec, "stream_chat", MODEL, {"messages": []})
    assert "".join(d.text for d in deltas) == "Hello there"
    assert [d.usage.total_tokens for d in deltas if d.usage] == [60]
    assert stream.result().text == "Hello there"


def test_error_event_at_stream_start_is_retried(runner):
    capacity = sse({"errors": [{"code": 3040, "message": "Capacity exceeded"}]}, done=False)
    rec = Recorder([capacity, sse(*CLASSIC_STREAM)])
    events, _ = runner.call(rec, "stream", MODEL, {"prompt": "Hi"})
    assert len(rec.requests) == 2
    assert events[0]["response"] == "Hello"


def test_error_event_mid_stream_is_not_retried(runner):
    broken = sse(
        {"response": "Hel"},
        {"errors": [{"code": 3040, "message": "Capacity exceeded"}]},
        done=False,
    )
    rec = Recorder([broken, sse(*CLASSIC_STREAM)])
    with pytest.raises(StreamError) as info:
        runner.call(rec, "stream", MODEL, {"prompt": "Hi"})
    assert info.value.code == 3040
    assert len(rec.requests) == 1


def test_stream_without_done_raises(runner):
    rec = Recorder([sse(*CLASSIC_STREAM, done=False)])
    with pytest.raises(StreamError, match=r"\[DONE\]"):
        runner.call(rec, "stream", MODEL, {"prompt": "Hi"})


def test_stream_http_error_is_typed_and_retried(runner):
    rec = Recorder([fail(429, 3021, "rate", {"retry-after": "1"}), sse(*CLASSIC_STREAM)])
    events, _ = runner.call(rec, "stream", MODEL, {"prompt": "Hi"})
    assert len(events) == 3 and len(rec.requests) == 2 and runner.sleeps == [1.0]


def test_json_answer_to_a_stream_request_becomes_one_event(runner):
    # spec §3: gpt-oss can answer stream:true with plain JSON.
    result = {"choices": [{"message": {"content": "whole answer"}, "finish_reason": "stop"}]}
    rec = Recorder([ok(result)])
    deltas, stream = runner.call(rec, "stream_chat", "@cf/openai/gpt-oss-120b", {"messages": []})
    assert "".join(d.text for d in deltas) == "whole answer"
    assert stream.result().text == "whole answer"


def test_openai_stream_route(runner):
    chunk = {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "Hi"}}]}
    rec = Recorder([sse(chunk)])
    events, _ = runner.call(rec, "openai_stream", "chat/completions", {"model": MODEL})
    assert events == [chunk]
    assert json.loads(rec.requests[0].content)["stream"] is True


# -- lifecycle ----------------------------------------------------------------------------------
def test_injected_http_client_is_not_closed_and_own_pool_is_reused():
    http_client = httpx.Client(transport=httpx.MockTransport(Recorder([ok({"r": 1})])))
    client = WorkersAIClient(account_id="a", api_token="t", http_client=http_client)
    client.run(MODEL, {"prompt": "x"})
    client.close()
    assert not http_client.is_closed
    own = WorkersAIClient(account_id="a", api_token="t")
    assert own._http() is own._http()
    own.close()
    assert own._http_client is None


def test_async_client_survives_several_event_loops():
    rec = Recorder([ok({"r": 1})])
    client = AsyncWorkersAIClient(account_id="a", api_token="t")
    # Replace the lazily-built pool's transport with the mock each time it is (re)built.
    original = client._http

    def patched():
        pool = original()
        pool._transport = httpx.MockTransport(rec)
        return pool

    client._http = patched
    assert asyncio.run(client.run(MODEL, {"prompt": "x"})) == {"r": 1}
    assert asyncio.run(client.run(MODEL, {"prompt": "x"})) == {"r": 1}
    assert len(rec.requests) == 2


# -- secrets ------------------------------------------------------------------------------------
def test_token_never_in_repr_errors_or_logs(runner, caplog):
    caplog.set_level(logging.DEBUG)
    rec = Recorder([fail(401, 10000, "Authentication error"), httpx.ConnectError("refused")])
    with pytest.raises(AuthenticationError) as info:
        runner.call(rec, "run", MODEL, {"prompt": "x"})
    texts = [str(info.value), repr(info.value), repr(info.value.__dict__), caplog.text]
    rec = Recorder([httpx.ConnectError("refused")])
    with pytest.raises(APIConnectionError) as info2:
        runner.call(rec, "run", MODEL, {"prompt": "x"})
    texts += [str(info2.value), repr(info2.value), caplog.text]
    client = WorkersAIClient(account_id=ACCOUNT, api_token=TOKEN)
    texts += [repr(client), str(client), repr(client.settings)]
    for text in texts:
        assert TOKEN not in text
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("workers_ai"))
    assert "/accounts/{account_id}/ai/run/{model}" in ours
    assert ACCOUNT not in ours
