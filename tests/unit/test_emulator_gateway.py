"""The emulator's pure AI Gateway pieces: model names, billing, metadata, log patches, config."""

from __future__ import annotations

from typing import Any

import pytest

from workers_ai.emulator import EmulatorConfig, providers
from workers_ai.emulator.gateway import (
    GatewayError,
    billing_for,
    check_log_patch,
    parse_metadata,
    parse_name_list,
    resolve_model,
)


@pytest.mark.parametrize(
    ("model", "surface", "kind", "code"),
    [
        ("openai/gpt-4.1", "rest", "third_party", None),
        ("anthropic/claude-sonnet-4.5", "rest", "third_party", None),
        ("anthropic/claude-haiku-4-5-20251001", "rest", None, 7003),
        ("google-ai-studio/gemini-2.5-flash", "rest", None, 7003),
        ("@cf/meta/llama-3.1-8b-instruct", "rest", "workers_ai", None),
        ("dynamic/support", "rest", "dynamic", None),
        ("cloudflare/auto", "compat", "auto", None),
        ("google-ai-studio/gemini-2.5-flash", "compat", "third_party", None),
        ("custom-acme/anything", "compat", "third_party", None),
        ("workers-ai/@cf/meta/llama-3.1-8b-instruct", "compat", "workers_ai", None),
        ("@cf/meta/llama-3.1-8b-instruct", "compat", None, 2005),
        ("openai/gpt-9", "compat", None, 2005),
        ("nope/model", "compat", None, 2008),
        ("custom-/model", "compat", None, 2008),
    ],
)
def test_resolve_model_per_surface(
    model: str, surface: Any, kind: str | None, code: int | None
) -> None:
    if code is None:
        assert resolve_model(model, surface).kind == kind
    else:
        with pytest.raises(GatewayError) as info:
            resolve_model(model, surface)
        assert info.value.code == code


def test_gateway_error_bodies() -> None:
    error = GatewayError(402, 2021, "Insufficient balance")
    assert error.body() == {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": 2021, "message": "Insufficient balance"}],
        "name": "AiGatewayError",
        "httpCode": 402,
        "internalCode": 2021,
    }
    assert error.v4_body()["errors"] == [{"code": 2021, "message": "Insufficient balance"}]


def test_billing_order_key_then_alias_then_unified() -> None:
    row = providers.by_rest_id("openai/gpt-4.1")
    assert row is not None
    assert billing_for(row, {}, provider_key=True, byok_aliases={}) == ("provider_key", None)
    stored = {"openai": ["default"]}
    assert billing_for(row, {}, provider_key=False, byok_aliases=stored) == ("byok", "default")
    assert billing_for(row, {}, provider_key=False, byok_aliases=None) == ("unified", None)
    assert billing_for(row, {}, provider_key=False, byok_aliases={}) == ("unified", None)
    with pytest.raises(GatewayError) as info:
        billing_for(row, {"cf-aig-no-wholesale": "true"}, provider_key=False, byok_aliases={})
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"user": "1", "n": 2, "ok": true}', {"user": "1", "n": 2, "ok": True}),
        ('{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}', {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}),
        ('{"a": null}', None),
        ('{"a": {"b": 1}}', None),
        ("[1]", None),
        ("not json", None),
        (None, None),
    ],
)
def test_parse_metadata(raw: str | None, expected: Any) -> None:
    assert parse_metadata(raw) == expected


def test_parse_name_list_accepts_commas_and_json() -> None:
    assert parse_name_list("a/b, c/d") == ["a/b", "c/d"]
    assert parse_name_list('["a/b"]') == ["a/b"]
    assert parse_name_list(None) is None


@pytest.mark.parametrize(
    "body", [[], {"feedback": True}, {"feedback": 2}, {"score": -1}, {"metadata": [1]}, {"x": 1}]
)
def test_check_log_patch_rejects(body: Any) -> None:
    with pytest.raises(ValueError):
        check_log_patch(body)


def test_check_log_patch_keeps_given_fields() -> None:
    assert check_log_patch({"feedback": None, "score": 55.5}) == {"feedback": None, "score": 55.5}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"dynamic_routes": {"r": ["openai/gpt-99"]}}, "openai/gpt-99"),
        ({"dynamic_routes": {"r": []}}, "non-empty"),
        ({"byok_aliases": {"openia": ["default"]}}, "openia"),
        ({"authenticated_gateways": "secure-gw"}, "set of gateway ids"),
        ({"rest_gateway_errors": "plural"}, "'gateway' or 'v4'"),
    ],
)
def test_config_rejects_bad_gateway_settings(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        EmulatorConfig(**fields)


# -- Anthropic's Messages API and the Responses API (pure pieces) -------------------------------

from workers_ai.emulator import anthropic, thirdparty  # noqa: E402
from workers_ai.emulator.gateway import ProviderError  # noqa: E402
from workers_ai.emulator.routing import match_route  # noqa: E402

_DOC = {"type": "text", "text": "A long document. " * 20}
_CACHED_DOC = {**_DOC, "cache_control": {"type": "ephemeral"}}


@pytest.mark.parametrize(
    ("path", "api", "surface", "provider"),
    [
        ("/client/v4/accounts/acct/ai/v1/messages", "messages", "rest", None),
        ("/client/v4/accounts/acct/ai/v1/responses", "responses", "rest", None),
        ("/v1/acct/gw/anthropic/v1/messages", "messages", "native", "anthropic"),
        ("/v1/acct/gw/openai/responses", "responses", "native", "openai"),
        ("/v1/acct/gw/openai/chat/completions", "chat/completions", "native", "openai"),
        ("/v1/acct/gw/openai/embeddings", "embeddings", "native", "openai"),
    ],
)
def test_routes_of_the_messages_and_responses_apis(
    path: str, api: str, surface: str, provider: str | None
) -> None:
    route = match_route("POST", path)
    assert route is not None and route.kind == "openai"
    assert (route.openai_path, route.surface, route.provider) == (api, surface, provider)


def test_other_provider_native_paths_stay_unrouted() -> None:
    assert match_route("POST", "/v1/acct/gw/anthropic/v1/complete") is None
    assert match_route("POST", "/v1/acct/gw/google-ai-studio/v1/messages") is None


def test_anthropic_errors_take_the_type_of_their_status() -> None:
    missing = anthropic.AnthropicError.from_provider(ProviderError(404, "no such model"))
    assert missing.body() == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "no such model"},
    }
    assert anthropic.AnthropicError(529, "busy").type == "overloaded_error"


def test_cache_prefix_ends_at_the_last_cache_control_block() -> None:
    def body(*content: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": list(content)}]}

    question = {"type": "text", "text": "Summarise it."}
    other = {"type": "text", "text": "Translate it."}
    first = anthropic.cache_prefix(body(_CACHED_DOC, question))
    second = anthropic.cache_prefix(body(_CACHED_DOC, other))

    assert anthropic.cache_prefix(body(_DOC, question)) is None
    assert first is not None and second is not None
    assert first.digest == second.digest and first.tokens > 20 and not first.hit
    unmarked = anthropic.cache_prefix(body(_CACHED_DOC, {**question, "cache_control": {}}))
    assert unmarked == first  # an empty cache_control marks nothing
    longer = anthropic.cache_prefix(
        body(_CACHED_DOC, {**question, "cache_control": {"type": "ephemeral"}})
    )
    assert longer is not None and longer.tokens > first.tokens


def test_to_native_splits_tool_results_from_the_user_text() -> None:
    body = {
        "system": "Be brief.",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": "rain",
                        "is_error": True,
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    }
    native = anthropic.to_native(body)

    assert [m["role"] for m in native["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
    ]
    assert native["messages"][2]["tool_calls"][0]["function"]["name"] == "weather"
    assert native["messages"][3] == {"role": "tool", "tool_call_id": "t1", "content": "Error: rain"}
    assert (native["tool_choice"], native["parallel_tool_calls"]) == ("required", False)


def test_a_message_without_blocks_still_pings_once() -> None:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 0},
    }
    names = [event["type"] for event in anthropic.stream_events(message)]
    assert names == ["message_start", "ping", "message_delta", "message_stop"]


def test_responses_stream_numbers_every_event_and_ends_incomplete_when_cut() -> None:
    row = providers.by_rest_id("openai/gpt-4.1")
    assert row is not None
    question = "Explain Cloudflare networks, caching, workers, security and routing"
    body = {"model": "openai/gpt-4.1", "input": question, "max_output_tokens": 16}
    events = thirdparty.responses(row, "openai/gpt-4.1", body, stream=True)

    assert isinstance(events, list)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = events[-1]
    assert final["type"] == "response.incomplete"
    assert final["response"]["status"] == "incomplete"
    assert final["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["response"]["usage"]["output_tokens"] == 16
