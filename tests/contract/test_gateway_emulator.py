"""The emulator's AI Gateway against the spec (``../shared/cloudflare-ai-platform-api.md`` §1).

Each test sends a request in the documented form over real HTTP (plain ``httpx``, so the wire
format itself is under test) to an emulator configured with an authenticated gateway, stored
provider keys and dynamic routes, and checks what a client would see: status, body shape,
error code and message, headers. Third-party models are deterministic stand-ins.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.emulator import clean_emulator
from workers_ai.emulator import EmulatorServer

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
SECURE = "secure-gw"
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REST_MODELS = [
    "openai/gpt-4.1",
    "anthropic/claude-sonnet-4-5",
    "google/gemini-3-flash",
    "xai/grok-3",
    "groq/llama-3.3-70b-versatile",
    "deepseek/deepseek-chat",
]
COMPAT_MODELS = [
    "openai/gpt-5-mini",
    "anthropic/claude-sonnet-4-5",
    "google-ai-studio/gemini-2.5-flash",
    "grok/grok-4",
    "groq/llama-3.3-70b-versatile",
    "custom-acme/house-model",
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}},
            "required": ["city"],
        },
    },
}
WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]
#: spec §1.4, verbatim body of the /ai/v1/chat/completions example (stream off / on).
REST_EXAMPLE = {
    "model": "openai/gpt-4.1",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is Cloudflare?"},
    ],
    "max_tokens": 512,
    "temperature": 0.7,
}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    config = {
        "authenticated_gateways": {SECURE},
        "byok_aliases": {"openai": ["default", "team-b"], "anthropic": ["default"]},
        "dynamic_routes": {"support": ["openai/gpt-4.1", LLAMA]},
    }
    with EmulatorServer(**config) as emulator:
        yield emulator


@pytest.fixture
def emu(server: EmulatorServer) -> Iterator[EmulatorServer]:
    clean_emulator(server)
    yield server
    clean_emulator(server)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        yield client


def rest_url(emu: EmulatorServer, path: str = "ai/v1/chat/completions") -> str:
    return f"{emu.base_url}/accounts/{emu.account_id}/{path}"


def compat_url(emu: EmulatorServer, gateway: str = "my-gw") -> str:
    return f"{emu.gateway_base_url}/{emu.account_id}/{gateway}/compat/chat/completions"


def cf_auth(emu: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_token}"}


def sse_events(response: httpx.Response) -> list[Any]:
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = response.text.strip().split("\n\n")
    assert frames[-1] == "data: [DONE]", frames[-1]
    return [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]


def assert_gateway_error(response: httpx.Response, status: int, code: int) -> str:
    """spec §1.10: the gateway's body, singular ``error``; returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["result"] == [] and body["messages"] == []
    assert body["name"] == "AiGatewayError"
    assert (body["httpCode"], body["internalCode"]) == (status, code)
    assert [e["code"] for e in body["error"]] == [code]
    return str(body["error"][0]["message"])


def assert_completion(body: dict[str, Any], model: str) -> None:
    assert body["object"] == "chat.completion" and "result" not in body and "success" not in body
    assert body["model"] == model
    assert body["choices"][0]["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"] > 0


# -- §1.4 REST /ai/v1/chat/completions ------------------------------------------------------------


@pytest.mark.parametrize("model", REST_MODELS)
def test_rest_chat_answers_a_bare_openai_completion(
    emu: EmulatorServer, http: httpx.Client, model: str
) -> None:
    response = http.post(rest_url(emu), headers=cf_auth(emu), json={**REST_EXAMPLE, "model": model})

    assert response.status_code == 200, response.text
    assert_completion(response.json(), model)
    assert response.json()["choices"][0]["message"]["content"]
    assert UUID7.match(response.headers["cf-aig-log-id"])
    assert response.headers["cf-aig-cache-status"] == "MISS"
    assert [log["model"] for log in emu.gateway_logs("default")] == [model]  # default gateway


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_rest_stream_is_openai_chunks_ending_in_done(emu: EmulatorServer, kind: str) -> None:
    url, headers = rest_url(emu), {**cf_auth(emu), "cf-aig-gateway-id": "team-gw"}
    body = {**REST_EXAMPLE, "stream": True, "stream_options": {"include_usage": True}}
    if kind == "sync":
        with httpx.Client(trust_env=False) as client:
            streamed = client.post(url, headers=headers, json=body)
            plain = client.post(url, headers=headers, json={**REST_EXAMPLE})
    else:

        async def both() -> tuple[httpx.Response, httpx.Response]:
            async with httpx.AsyncClient(trust_env=False) as client:
                first = await client.post(url, headers=headers, json=body)
                return first, await client.post(url, headers=headers, json={**REST_EXAMPLE})

        import asyncio

        streamed, plain = asyncio.run(both())

    events = sse_events(streamed)
    assert {e["object"] for e in events} == {"chat.completion.chunk"}
    assert {e["model"] for e in events} == {"openai/gpt-4.1"}
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == plain.json()["choices"][0]["message"]["content"]
    assert events[-1]["choices"] == [] and events[-1]["usage"] == plain.json()["usage"]
    assert [log["gateway_id"] for log in emu.gateway_logs("team-gw")] == ["team-gw", "team-gw"]


@pytest.mark.parametrize(
    "model", ["openai/gpt-9", "anthropic/claude-haiku-4-5-20251001", "gpt-4.1", "mistral/large"]
)
def test_rest_unknown_model_is_7003_model_not_found(
    emu: EmulatorServer, http: httpx.Client, model: str
) -> None:
    response = http.post(rest_url(emu), headers=cf_auth(emu), json={**REST_EXAMPLE, "model": model})

    assert assert_gateway_error(response, 404, 7003) == f"Model not found: {model}"


def test_rest_dotted_model_version_resolves(emu: EmulatorServer, http: httpx.Client) -> None:
    body = {**REST_EXAMPLE, "model": "anthropic/claude-haiku-4.5"}
    response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
    assert_completion(response.json(), "anthropic/claude-haiku-4.5")


def test_rest_needs_the_cloudflare_token(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.post(rest_url(emu), headers={"Authorization": "Bearer x"}, json=REST_EXAMPLE)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == 10000
    assert emu.gateway_logs() == []


def test_workers_ai_models_keep_their_routing(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.post(rest_url(emu), headers=cf_auth(emu), json={**REST_EXAMPLE, "model": LLAMA})
    assert_completion(response.json(), LLAMA)
    assert "cf-aig-log-id" not in response.headers  # no gateway without cf-aig-gateway-id


def test_dynamic_route_on_the_run_path_is_no_route(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.post(rest_url(emu, "ai/run/dynamic/support"), headers=cf_auth(emu), json={})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 7000, "message": "No route for that URI"}]


# -- §1.4 compat ----------------------------------------------------------------------------------


def test_compat_verbatim_unified_billing_example(emu: EmulatorServer, http: httpx.Client) -> None:
    body = {
        "model": "google-ai-studio/gemini-2.5-pro",
        "messages": [{"role": "user", "content": "What is Cloudflare?"}],
    }
    headers = {"cf-aig-authorization": f"Bearer {emu.api_token}"}
    response = http.post(compat_url(emu, "default"), headers=headers, json=body)

    assert response.status_code == 200, response.text
    assert_completion(response.json(), "google-ai-studio/gemini-2.5-pro")
    assert response.headers["x-emulator-billing"] == "unified"  # no key stored for google


@pytest.mark.parametrize("model", COMPAT_MODELS)
def test_compat_serves_provider_slug_names_with_a_provider_key(
    emu: EmulatorServer, http: httpx.Client, model: str
) -> None:
    body = {"model": model, "messages": WEATHER_QUESTION}
    headers = {"Authorization": "Bearer sk-provider-key"}
    response = http.post(compat_url(emu), headers=headers, json=body)

    assert response.status_code == 200, response.text
    assert_completion(response.json(), model)
    assert response.headers["x-emulator-billing"] == "provider_key"


def test_compat_workers_ai_model_uses_the_cloudflare_token(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    body = {"model": f"workers-ai/{LLAMA}", "messages": WEATHER_QUESTION}
    assert http.post(compat_url(emu), headers=cf_auth(emu), json=body).status_code == 200
    denied = http.post(compat_url(emu), headers={"Authorization": "Bearer sk-x"}, json=body)
    assert denied.status_code == 401


@pytest.mark.parametrize(
    ("model", "code", "status"),
    [
        ("foo/bar", 2008, 400),
        (LLAMA, 2005, 400),
        ("openai/gpt-9", 2005, 400),
        ("gpt-4o", 2005, 400),
    ],
)
def test_compat_bad_model_names(
    emu: EmulatorServer, http: httpx.Client, model: str, code: int, status: int
) -> None:
    body = {"model": model, "messages": WEATHER_QUESTION}
    response = http.post(compat_url(emu), headers={"Authorization": "Bearer sk"}, json=body)
    message = assert_gateway_error(response, status, code)
    if code == 2008:
        assert message == "Invalid provider: 'foo'"


# -- §1.2 authentication and billing ------------------------------------------------------------


def test_authenticated_gateway_needs_cf_aig_authorization(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    body = {"model": "openai/gpt-5-mini", "messages": WEATHER_QUESTION}
    provider = {"Authorization": "Bearer sk-provider"}

    missing = http.post(compat_url(emu, SECURE), headers=provider, json=body)
    wrong = http.post(
        compat_url(emu, SECURE),
        headers={**provider, "cf-aig-authorization": "Bearer no"},
        json=body,
    )
    right = http.post(
        compat_url(emu, SECURE),
        headers={**provider, "cf-aig-authorization": f"Bearer {emu.api_token}"},
        json=body,
    )
    open_gateway = http.post(compat_url(emu, "open-gw"), headers=provider, json=body)

    assert assert_gateway_error(missing, 401, 2009) == "Unauthorized"
    assert_gateway_error(wrong, 401, 2009)
    assert right.status_code == 200 and open_gateway.status_code == 200


def test_byok_alias_selects_a_stored_key(emu: EmulatorServer, http: httpx.Client) -> None:
    headers = {**cf_auth(emu), "cf-aig-byok-alias": "team-b"}
    response = http.post(rest_url(emu), headers=headers, json=REST_EXAMPLE)
    assert response.status_code == 200
    assert response.headers["x-emulator-billing"] == "byok:team-b"


def test_unknown_byok_alias_is_2040_without_fallback(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    headers = {**cf_auth(emu), "cf-aig-byok-alias": "nope"}
    response = http.post(rest_url(emu), headers=headers, json=REST_EXAMPLE)
    message = assert_gateway_error(response, 400, 2040)
    assert message == (
        "Provider 'openai' has no BYOK credential named 'nope'. Configured aliases: default, team-b"
    )


def test_no_wholesale_without_any_credential_is_400(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    gemini = {"model": "google-ai-studio/gemini-2.5-flash", "messages": WEATHER_QUESTION}
    flag = {"cf-aig-no-wholesale": "true"}

    refused = http.post(compat_url(emu), headers=flag, json=gemini)
    with_key = http.post(
        compat_url(emu), headers={**flag, "Authorization": "Bearer g-key"}, json=gemini
    )
    stored = http.post(compat_url(emu), headers=flag, json={**gemini, "model": "openai/gpt-5-mini"})

    assert refused.status_code == 400
    assert "cf-aig-no-wholesale" in refused.json()["error"][0]["message"]
    assert with_key.status_code == 200 and stored.status_code == 200
    assert stored.headers["x-emulator-billing"] == "byok:default"


def test_long_tail_provider_without_key_needs_byok(emu: EmulatorServer, http: httpx.Client) -> None:
    body = {"model": "mistral/mistral-large-latest", "messages": WEATHER_QUESTION}
    response = http.post(compat_url(emu), json=body)
    assert "Unified Billing" in assert_gateway_error(response, 402, 2021)


# -- tools, JSON mode, embeddings ---------------------------------------------------------------


@pytest.mark.parametrize("surface", ["rest", "compat"])
def test_tool_calls_streamed_in_fragments_match_the_plain_answer(
    emu: EmulatorServer, http: httpx.Client, surface: str
) -> None:
    url = rest_url(emu) if surface == "rest" else compat_url(emu)
    headers = cf_auth(emu) if surface == "rest" else {"Authorization": "Bearer sk"}
    model = "openai/gpt-4.1" if surface == "rest" else "openai/gpt-5-mini"
    body = {"model": model, "messages": WEATHER_QUESTION, "tools": [WEATHER_TOOL]}

    plain = http.post(url, headers=headers, json=body).json()
    events = sse_events(http.post(url, headers=headers, json={**body, "stream": True}))

    choice = plain["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    fragments = [f for e in events for f in (e["choices"][0]["delta"].get("tool_calls") or [])]
    assert fragments[0]["id"] == call["id"] and fragments[0]["function"]["name"] == "get_weather"
    assert len(fragments) > 2  # the arguments come in pieces, as OpenAI streams them
    assert "".join(f["function"]["arguments"] for f in fragments) == call["function"]["arguments"]
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {
            "type": "json_schema",
            "json_schema": {
                "name": "city",
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
                    "required": ["name", "population"],
                },
            },
        },
    ],
)
def test_json_mode_answers_json(
    emu: EmulatorServer, http: httpx.Client, response_format: dict[str, Any]
) -> None:
    body = {**REST_EXAMPLE, "response_format": response_format}
    content = http.post(rest_url(emu), headers=cf_auth(emu), json=body).json()["choices"][0]
    parsed = json.loads(content["message"]["content"])
    assert isinstance(parsed, dict)
    if response_format["type"] == "json_schema":
        assert isinstance(parsed["name"], str) and isinstance(parsed["population"], int)


@pytest.mark.parametrize(
    ("model", "dims"),
    [("openai/text-embedding-3-small", 1536), ("openai/text-embedding-3-large", 3072)],
)
def test_openai_embeddings(emu: EmulatorServer, http: httpx.Client, model: str, dims: int) -> None:
    url = rest_url(emu, "ai/v1/embeddings")
    body = {"model": model, "input": ["I love matcha", "Cloudflare"]}

    floats = http.post(url, headers=cf_auth(emu), json=body).json()
    encoded = http.post(url, headers=cf_auth(emu), json={**body, "encoding_format": "base64"})
    short = http.post(url, headers=cf_auth(emu), json={**body, "dimensions": 256}).json()

    assert floats["object"] == "list" and floats["model"] == model
    assert [d["index"] for d in floats["data"]] == [0, 1]
    assert {len(d["embedding"]) for d in floats["data"]} == {dims}
    assert floats["usage"]["prompt_tokens"] == floats["usage"]["total_tokens"] > 0
    raw = base64.b64decode(encoded.json()["data"][0]["embedding"])
    assert struct.unpack(f"<{dims}f", raw) == pytest.approx(floats["data"][0]["embedding"])
    assert len(short["data"][0]["embedding"]) == 256


def test_provider_errors_pass_through_in_openai_format(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    chat_on_embeddings = http.post(
        rest_url(emu, "ai/v1/embeddings"),
        headers=cf_auth(emu),
        json={"model": "openai/gpt-4.1", "input": "x"},
    )
    no_messages = http.post(rest_url(emu), headers=cf_auth(emu), json={"model": "openai/gpt-4.1"})
    for response in (chat_on_embeddings, no_messages):
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert no_messages.json()["error"]["param"] == "messages"


# -- §1.10 faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("gateway_rate_limited", 429, 2003),
        ("gateway_provider_error", 400, 2005),
        ("gateway_unauthorized", 401, 2009),
        ("gateway_insufficient_balance", 402, 2021),
        ("gateway_byok_alias", 400, 2040),
        ("gateway_spend_limit", 429, 2041),
    ],
)
def test_gateway_faults_answer_the_gateway_body(
    emu: EmulatorServer, http: httpx.Client, kind: str, status: int, code: int
) -> None:
    headers = {**cf_auth(emu), "x-emulator-fault": kind}
    response = http.post(rest_url(emu), headers=headers, json=REST_EXAMPLE)
    assert_gateway_error(response, status, code)
    assert emu.stats()["by_fault"] == {kind: 1}


def test_provider_error_fault_is_openai_shaped(emu: EmulatorServer, http: httpx.Client) -> None:
    emu.configure(faults=[{"kind": "provider_error", "model": "openai/gpt-5-mini", "count": 1}])
    body = {"model": "openai/gpt-5-mini", "messages": WEATHER_QUESTION}

    failed = http.post(compat_url(emu), headers={"Authorization": "Bearer sk"}, json=body)
    recovered = http.post(compat_url(emu), headers={"Authorization": "Bearer sk"}, json=body)

    assert failed.status_code == 400
    error = failed.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] and "code" in error
    assert recovered.status_code == 200


# -- §1.7 headers, caching ----------------------------------------------------------------------


def test_log_ids_are_uuid7_unique_and_event_id_is_echoed(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    first = http.post(rest_url(emu), headers=cf_auth(emu), json=REST_EXAMPLE)
    second = http.post(
        rest_url(emu), headers={**cf_auth(emu), "cf-aig-event-id": "evt-42"}, json=REST_EXAMPLE
    )
    ids = [r.headers["cf-aig-log-id"] for r in (first, second)]
    assert all(UUID7.match(i) for i in ids) and ids[0] != ids[1]
    assert second.headers["cf-aig-event-id"] == "evt-42"
    emu.reset()
    again = http.post(rest_url(emu), headers=cf_auth(emu), json=REST_EXAMPLE)
    assert again.headers["cf-aig-log-id"] == ids[0]  # deterministic per request counter


def test_gateway_cache_applies_to_third_party_models(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    headers = {**cf_auth(emu), "cf-aig-cache-ttl": "60"}
    statuses = [
        http.post(rest_url(emu), headers=headers, json=REST_EXAMPLE).headers["cf-aig-cache-status"]
        for _ in range(2)
    ]
    assert statuses == ["MISS", "HIT"]
    assert [log["cached"] for log in emu.gateway_logs()] == [False, True]


# -- §1.9 dynamic routes and Auto Router --------------------------------------------------------


@pytest.mark.parametrize("surface", ["rest", "compat"])
def test_dynamic_route_answers_with_its_first_model(
    emu: EmulatorServer, http: httpx.Client, surface: str
) -> None:
    url = rest_url(emu) if surface == "rest" else compat_url(emu)
    body = {"model": "dynamic/support", "messages": WEATHER_QUESTION}
    response = http.post(url, headers=cf_auth(emu), json=body)

    assert response.status_code == 200, response.text
    assert response.json()["model"] == "openai/gpt-4.1"
    assert response.headers["cf-aig-model"] == "openai/gpt-4.1"
    assert response.headers["cf-aig-provider"] == "openai"


def test_dynamic_route_falls_back_when_a_model_faults(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    emu.configure(faults=[{"kind": "gateway_provider_error", "model": "openai/gpt-4.1"}])
    body = {"model": "dynamic/support", "messages": WEATHER_QUESTION}
    response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)

    assert response.status_code == 200, response.text
    assert response.json()["model"] == LLAMA
    assert (response.headers["cf-aig-model"], response.headers["cf-aig-provider"]) == (
        LLAMA,
        "workers-ai",
    )


def test_unknown_dynamic_route(emu: EmulatorServer, http: httpx.Client) -> None:
    body = {"model": "dynamic/nothing", "messages": WEATHER_QUESTION}
    response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
    assert "configured routes: support" in assert_gateway_error(response, 404, 7003)


def test_auto_router_headers_and_allowed_models(emu: EmulatorServer, http: httpx.Client) -> None:
    body = {"model": "cloudflare/auto", "messages": WEATHER_QUESTION}

    free = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
    pool = http.post(
        rest_url(emu),
        headers={
            **cf_auth(emu),
            "cf-aig-allowed-models": "anthropic/claude-sonnet-4-5, openai/gpt-4.1",
        },
        json=body,
    )
    one = http.post(
        rest_url(emu), headers={**cf_auth(emu), "cf-aig-allowed-models": "xai/grok-3"}, json=body
    )
    nothing = http.post(
        rest_url(emu), headers={**cf_auth(emu), "cf-aig-allowed-models": "acme/none"}, json=body
    )

    assert free.json()["model"] == free.headers["cf-aig-routed-model"]
    assert free.headers["cf-aig-routing-reason"] == "cost_optimal_within_pool"
    assert UUID7.match(free.headers["cf-aig-routing-decision-id"])
    assert pool.headers["cf-aig-routed-model"] in ("anthropic/claude-sonnet-4-5", "openai/gpt-4.1")
    assert pool.json()["model"] == pool.headers["cf-aig-routed-model"]
    assert one.headers["cf-aig-routed-model"] == "xai/grok-3"
    assert one.headers["cf-aig-routing-reason"] == "forced_by_candidate_pool"
    assert nothing.status_code == 400 and "acme/none" in nothing.text


# -- §1.8 universal endpoint --------------------------------------------------------------------


def universal_example(emu: EmulatorServer) -> list[dict[str, Any]]:
    """spec §1.8, the verbatim two-entry example (tokens filled in)."""
    return [
        {
            "provider": "workers-ai",
            "endpoint": LLAMA,
            "headers": {
                "Authorization": f"Bearer {emu.api_token}",
                "Content-Type": "application/json",
            },
            "query": {
                "messages": [
                    {"role": "system", "content": "You are a friendly assistant"},
                    {"role": "user", "content": "What is Cloudflare?"},
                ]
            },
        },
        {
            "provider": "openai",
            "endpoint": "chat/completions",
            "headers": {"Authorization": "Bearer sk-openai", "Content-Type": "application/json"},
            "query": {
                "model": "gpt-4o-mini",
                "stream": True,
                "messages": [{"role": "user", "content": "What is Cloudflare?"}],
            },
        },
    ]


def universal_url(emu: EmulatorServer) -> str:
    return f"{emu.gateway_base_url}/{emu.account_id}/my-gw"


def test_universal_first_entry_answers_with_step_0(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.post(universal_url(emu), json=universal_example(emu))
    assert response.status_code == 200, response.text
    assert response.headers["cf-aig-step"] == "0"
    assert response.json()["result"]["response"]  # Workers AI's raw response (v4 envelope)


def test_universal_falls_back_to_the_next_entry(emu: EmulatorServer, http: httpx.Client) -> None:
    emu.configure(faults=[{"kind": "server_error", "model": LLAMA}])
    response = http.post(universal_url(emu), json=universal_example(emu))

    assert response.status_code == 200, response.text
    assert response.headers["cf-aig-step"] == "1"
    events = sse_events(response)  # OpenAI's raw stream, the second entry asked for one
    assert {e["model"] for e in events} == {"gpt-4o-mini"}
    assert emu.gateway_logs("my-gw")[-1]["step"] == 1


def test_universal_retries_max_attempts_before_falling_back(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    emu.configure(faults=[{"kind": "server_error", "model": LLAMA, "count": 1}])
    steps = universal_example(emu)
    steps[0]["config"] = {"maxAttempts": 2}
    response = http.post(universal_url(emu), json=steps)
    assert response.headers["cf-aig-step"] == "0"


def test_universal_entry_headers_win_over_request_headers(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    steps = universal_example(emu)[:1]
    response = http.post(universal_url(emu), headers={"Authorization": "Bearer wrong"}, json=steps)
    assert response.status_code == 200 and response.headers["cf-aig-step"] == "0"
    steps[0]["headers"]["Authorization"] = "Bearer wrong"
    denied = http.post(universal_url(emu), headers=cf_auth(emu), json=steps)
    assert denied.status_code == 401


# -- §1.12 logs and feedback ----------------------------------------------------------------------


def logs_url(emu: EmulatorServer, gateway: str = "my-gw", log: str | None = None) -> str:
    tail = f"/{log}" if log else ""
    return rest_url(emu, f"ai-gateway/gateways/{gateway}/logs{tail}")


def test_logs_list_and_feedback(emu: EmulatorServer, http: httpx.Client) -> None:
    metadata = json.dumps({"user": "123", "team": "blue", "n": 1, "a": True, "b": 2, "c": 3})
    headers = {**cf_auth(emu), "cf-aig-gateway-id": "my-gw", "cf-aig-metadata": metadata}
    answer = http.post(rest_url(emu), headers=headers, json=REST_EXAMPLE)
    log_id = answer.headers["cf-aig-log-id"]

    listed = http.get(logs_url(emu), headers=cf_auth(emu)).json()
    patched = http.patch(
        logs_url(emu, log=log_id),
        headers=cf_auth(emu),
        json={"feedback": 1, "score": 100, "metadata": {"user": "123"}},
    )

    assert listed["success"] is True and listed["result_info"]["total_count"] == 1
    (log,) = listed["result"]
    assert (log["id"], log["model"], log["provider"], log["status_code"]) == (
        log_id,
        "openai/gpt-4.1",
        "openai",
        200,
    )
    assert log["metadata"] == {"user": "123", "team": "blue", "n": 1, "a": True, "b": 2}
    assert patched.status_code == 200
    assert patched.json()["success"] is True and patched.json()["errors"] == []
    (stored,) = emu.gateway_logs("my-gw")
    assert (stored["feedback"], stored["score"], stored["metadata"]) == (1, 100, {"user": "123"})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"feedback": 2}, "feedback"),
        ({"score": 101}, "score"),
        ({"metadata": {"x": {"y": 1}}}, "metadata"),
        ({"rating": 1}, "rating"),
    ],
)
def test_log_patch_rejects_bad_fields(
    emu: EmulatorServer, http: httpx.Client, body: dict[str, Any], words: str
) -> None:
    headers = {**cf_auth(emu), "cf-aig-gateway-id": "my-gw"}
    log_id = http.post(rest_url(emu), headers=headers, json=REST_EXAMPLE).headers["cf-aig-log-id"]
    response = http.patch(logs_url(emu, log=log_id), headers=cf_auth(emu), json=body)
    assert response.status_code == 400
    assert response.json()["success"] is False and words in response.json()["errors"][0]["message"]
    assert emu.gateway_logs("my-gw")[0]["feedback"] is None


def test_log_patch_unknown_id_is_404(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.patch(logs_url(emu, log="no-such-log"), headers=cf_auth(emu), json={})
    assert response.status_code == 404 and response.json()["success"] is False


def test_metadata_with_a_null_value_is_dropped_and_collect_log_false_skips(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    gateway = {**cf_auth(emu), "cf-aig-gateway-id": "my-gw"}
    http.post(
        rest_url(emu), headers={**gateway, "cf-aig-metadata": '{"a": null}'}, json=REST_EXAMPLE
    )
    http.post(rest_url(emu), headers={**gateway, "cf-aig-collect-log": "false"}, json=REST_EXAMPLE)
    (log,) = emu.gateway_logs("my-gw")
    assert log["metadata"] is None


def test_logs_need_the_cloudflare_token(emu: EmulatorServer, http: httpx.Client) -> None:
    assert http.get(logs_url(emu)).status_code == 401


def test_rest_gateway_errors_can_use_the_v4_envelope(http: httpx.Client) -> None:
    with EmulatorServer(rest_gateway_errors="v4") as emu:
        body = {**REST_EXAMPLE, "model": "openai/gpt-9"}
        response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
    assert response.status_code == 404
    assert response.json()["errors"] == [{"code": 7003, "message": "Model not found: openai/gpt-9"}]
