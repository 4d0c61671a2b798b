"""The core client against the emulator over 127.0.0.1, sync and async.

What a user of ``WorkersAIClient`` / ``AsyncWorkersAIClient`` relies on: every documented output
shape normalised, streams equal to non-streamed answers with usage once, tool calls with typed
arguments, JSON mode, the OpenAI-compatible routes, embeddings, the reranker, model search and
schema, the async batch API and AI Gateway caching and authentication. The emulator's models are
deterministic stand-ins, so tests assert shapes and consistency, never particular prose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from tests.support.clients import Streamed
from tests.support.emulator import Runner
from workers_ai import (
    APIStatusError,
    AuthenticationError,
    ChatDelta,
    ChatResponse,
    GatewayOptions,
    WorkersAIClient,
    catalog,
)
from workers_ai.emulator import EmulatorServer

CLASSIC = "@cf/meta/llama-3.1-8b-instruct"
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"
R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
GPT_OSS = "@cf/openai/gpt-oss-120b"
LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
BGE_SMALL = "@cf/baai/bge-small-en-v1.5"
RERANKER = "@cf/baai/bge-reranker-base"

RUN_ROUTE = "POST /ai/run/{model}"
GATEWAY_ROUTES = {
    "url": "POST gateway /workers-ai/{model}",
    "header": RUN_ROUTE,
}

WEATHER_TOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City name"},
        "days": {"type": "integer", "description": "How many days to forecast"},
    },
    "required": ["location", "days"],
}
TOOLS_LEGACY = [
    {
        "name": "get_weather",
        "description": "Get the weather forecast for a city",
        "parameters": WEATHER_TOOL_SCHEMA,
    }
]
TOOLS_OPENAI = [{"type": "function", "function": TOOLS_LEGACY[0]}]
TOOL_QUESTION = "What is the weather forecast in London for the next 3 days?"

COUNTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "capital": {"type": "string"},
        "population": {"type": "integer"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "landlocked": {"type": "boolean"},
    },
    "required": ["name", "capital", "population", "languages", "landlocked"],
}


def _messages(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def _matches_type(value: Any, schema: dict[str, Any]) -> bool:
    """A tiny JSON Schema type check (objects, arrays and scalars), enough for these schemas."""
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return (
            isinstance(value, dict)
            and all(name in value for name in schema.get("required", []))
            and all(_matches_type(value[k], props[k]) for k in value if k in props)
        )
    if kind == "array":
        return isinstance(value, list) and all(
            _matches_type(item, schema.get("items", {})) for item in value
        )
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    return checks.get(kind, lambda v: True)(value)


def _joined(deltas: list[ChatDelta]) -> tuple[str, str]:
    return "".join(d.text for d in deltas), "".join(d.reasoning for d in deltas)


def _think_tags(model: str) -> bool:
    return catalog.get(model).think_tags


# -- text generation: every output shape -------------------------------------------------------


def test_run_returns_the_unwrapped_classic_result(runner: Runner) -> None:
    result = runner.call("run", CLASSIC, {"prompt": "Tell me about the Eiffel Tower"})

    assert isinstance(result, dict)
    assert isinstance(result["response"], str) and result["response"].strip()
    assert result["usage"]["total_tokens"] == (
        result["usage"]["prompt_tokens"] + result["usage"]["completion_tokens"]
    )
    assert runner.server.stats()["by_route"] == {RUN_ROUTE: 1}


@pytest.mark.parametrize(
    ("model", "has_reasoning"),
    [(CLASSIC, False), (QWEN3, True), (R1, True), (GPT_OSS, True)],
    ids=["classic", "chat-completion", "think-tags", "gpt-oss"],
)
def test_chat_normalises_every_output_shape(
    runner: Runner, model: str, has_reasoning: bool
) -> None:
    answer: ChatResponse = runner.call(
        "chat", model, _messages("Explain photosynthesis briefly"), think_tags=_think_tags(model)
    )
    result = answer.result

    assert result.text.strip()
    assert "<think>" not in result.text and "</think>" not in result.text
    assert (result.reasoning is not None and result.reasoning.strip() != "") is has_reasoning
    assert result.usage is not None and result.usage.output_tokens > 0
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    assert result.finish_reason in (None, "stop")
    assert answer.meta.status_code == 200


def test_chat_completion_model_reports_reasoning_content_on_the_wire(runner: Runner) -> None:
    raw = runner.call("run", QWEN3, _messages("Why is the sky blue?"))

    message = raw["choices"][0]["message"]
    assert raw["object"] == "chat.completion"
    assert message["content"].strip()
    assert message["reasoning_content"].strip()


@pytest.mark.parametrize("model", [CLASSIC, QWEN3, R1, GPT_OSS])
def test_streamed_text_equals_non_streamed_text(runner: Runner, model: str) -> None:
    inputs = _messages("Describe the water cycle in a few words")
    tags = _think_tags(model)

    whole: ChatResponse = runner.call("chat", model, inputs, think_tags=tags)
    streamed: Streamed = runner.call("stream_chat", model, inputs, think_tags=tags)

    text, reasoning = _joined(streamed.items)
    assert text == whole.result.text
    assert (reasoning or None) == whole.result.reasoning
    assert streamed.stream.result().text == whole.result.text
    with_usage = [d for d in streamed.items if d.usage is not None]
    assert len(with_usage) == 1, "usage must be reported exactly once per stream"
    assert with_usage[0] is streamed.items[-1]
    assert with_usage[0].usage == whole.result.usage
    assert streamed.items[-1].finish_reason == whole.result.finish_reason


def test_classic_stream_sends_one_event_per_token_then_usage(runner: Runner) -> None:
    streamed: Streamed = runner.call("stream", CLASSIC, {"prompt": "Count from one to five"})

    events = streamed.items
    assert len(events) > 2
    assert all("response" in e for e in events)
    assert [e for e in events if "usage" in e] == [events[-1]]
    assert events[-1]["response"] == ""


def test_gpt_oss_answers_a_stream_request_with_json(runner: Runner) -> None:
    """gpt-oss cannot stream on /ai/run: the client turns the JSON answer into one event."""
    inputs = _messages("Give me a haiku about autumn")

    raw: Streamed = runner.call("stream", GPT_OSS, inputs)
    chat: Streamed = runner.call("stream_chat", GPT_OSS, inputs)

    assert len(raw.items) == 1
    assert raw.items[0]["object"] == "chat.completion"
    assert "event-stream" not in raw.stream.meta.headers.get("content-type", "")
    assert chat.stream.result().text == raw.items[0]["choices"][0]["message"]["content"]
    assert runner.server.stats()["by_route"] == {RUN_ROUTE: 2}  # no retry without stream


# -- tool calling ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "tools"),
    [(LLAMA33, TOOLS_LEGACY), (QWEN3, TOOLS_OPENAI)],
    ids=["legacy-llama-3.3", "openai-qwen3"],
)
def test_tool_call_arguments_follow_the_schema(runner: Runner, model: str, tools: Any) -> None:
    inputs = {**_messages(TOOL_QUESTION), "tools": tools}

    result = runner.call("chat", model, inputs, tool_names=("get_weather",)).result

    assert len(result.tool_calls) == 1, result
    call = result.tool_calls[0]
    assert call.name == "get_weather"
    assert call.is_valid and call.id
    assert _matches_type(call.arguments, WEATHER_TOOL_SCHEMA), call.arguments
    assert json.loads(call.raw_arguments) == call.arguments
    assert result.finish_reason == "tool_calls"
    assert result.invalid_tool_calls == []


@pytest.mark.parametrize(
    ("model", "tools"),
    [(LLAMA33, TOOLS_LEGACY), (QWEN3, TOOLS_OPENAI)],
    ids=["legacy-llama-3.3", "openai-qwen3"],
)
def test_streamed_tool_call_equals_non_streamed(runner: Runner, model: str, tools: Any) -> None:
    inputs = {**_messages(TOOL_QUESTION), "tools": tools}

    whole = runner.call("chat", model, inputs, tool_names=("get_weather",)).result
    streamed: Streamed = runner.call("stream_chat", model, inputs, tool_names=("get_weather",))
    result = streamed.stream.result()

    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        (c.name, c.arguments) for c in whole.tool_calls
    ]
    assert _matches_type(result.tool_calls[0].arguments, WEATHER_TOOL_SCHEMA)
    assert any(d.tool_calls for d in streamed.items)
    assert streamed.items[-1].finish_reason == "tool_calls"
    assert sum(d.usage is not None for d in streamed.items) == 1


# -- JSON mode ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CLASSIC, QWEN3])
def test_json_mode_returns_a_schema_valid_object(runner: Runner, model: str) -> None:
    inputs = {
        **_messages("Describe France as JSON"),
        "response_format": {"type": "json_schema", "json_schema": COUNTRY_SCHEMA},
    }

    result = runner.call("chat", model, inputs).result

    value = result.parsed if result.parsed is not None else json.loads(result.text)
    assert _matches_type(value, COUNTRY_SCHEMA), value
    assert json.loads(result.text) == value


# -- OpenAI-compatible routes ------------------------------------------------------------------


def test_openai_chat_completions_route(runner: Runner) -> None:
    chat_inputs = _messages("Say something about cats")
    body = {"model": CLASSIC, **chat_inputs}

    completion = runner.call("openai", "chat/completions", body)
    streamed: Streamed = runner.call("openai_stream", "chat/completions", body)
    chat = runner.call("chat", CLASSIC, chat_inputs, endpoint="openai")

    content = completion["choices"][0]["message"]["content"]
    assert completion["object"] == "chat.completion"
    assert completion["model"] == CLASSIC
    assert content.strip()
    assert all(e["object"] == "chat.completion.chunk" for e in streamed.items)
    pieces = [
        (e.get("choices") or [{}])[0].get("delta", {}).get("content") or "" for e in streamed.items
    ]
    assert "".join(pieces) == content
    assert chat.result.text == content
    chat_stream: Streamed = runner.call("stream_chat", CLASSIC, chat_inputs, endpoint="openai")
    assert chat_stream.stream.result().text == content
    assert runner.server.stats()["by_route"] == {"POST /ai/v1/chat/completions": 4}


def test_openai_embeddings_route(runner: Runner) -> None:
    body = {"model": BGE_SMALL, "input": ["I love matcha", "Green tea is nice"]}

    answer = runner.call("openai", "embeddings", body)

    assert answer["object"] == "list"
    assert [item["index"] for item in answer["data"]] == [0, 1]
    assert all(len(item["embedding"]) == 384 for item in answer["data"])
    assert runner.server.stats()["by_model"] == {BGE_SMALL: 1}


# -- embeddings, reranker ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "dims"),
    [
        ("@cf/baai/bge-small-en-v1.5", 384),
        ("@cf/baai/bge-base-en-v1.5", 768),
        ("@cf/baai/bge-large-en-v1.5", 1024),
    ],
)
def test_embeddings_have_the_model_dimension(runner: Runner, model: str, dims: int) -> None:
    texts = ["the cat sat on the mat", "stock markets fell today", "the cat sat on the mat"]

    result = runner.call("run", model, {"text": texts})

    assert result["shape"] == [3, dims]
    assert [len(v) for v in result["data"]] == [dims] * 3
    assert result["data"][0] == result["data"][2]  # deterministic per text
    assert result["data"][0] != result["data"][1]


def test_reranker_ranks_the_overlapping_context_first(runner: Runner) -> None:
    inputs = {
        "query": "What is the capital of France?",
        "contexts": [
            {"text": "Bananas are yellow fruit rich in potassium."},
            {"text": "Paris is the capital of France."},
            {"text": "Berlin is a city in Germany."},
        ],
    }

    result = runner.call("run", RERANKER, inputs)

    ranked = result["response"]
    assert sorted(r["id"] for r in ranked) == [0, 1, 2]
    assert ranked[0]["id"] == 1
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)


# -- model search and schema -------------------------------------------------------------------


def test_models_search_filters_by_task(runner: Runner) -> None:
    found = runner.call("models_search", task="Text Embeddings")

    names = {m["name"] for m in found}
    assert {"@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-large-en-v1.5"} <= names
    assert all(m["task"]["name"] == "Text Embeddings" for m in found)
    assert CLASSIC not in names


def test_model_schema_has_input_and_output(runner: Runner) -> None:
    schema = runner.call("model_schema", CLASSIC)

    assert isinstance(schema["input"], dict) and schema["input"]
    assert isinstance(schema["output"], dict) and schema["output"]


# -- async batch API ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "make_request"),
    [
        (LLAMA33, lambda i: {"prompt": f"Tell me joke number {i}", "external_reference": f"r{i}"}),
        (BGE_SMALL, lambda i: {"text": f"passage {i}", "external_reference": f"r{i}"}),
    ],
    ids=["llm", "embeddings"],
)
def test_batch_submit_then_poll_returns_every_request_once(
    runner: Runner, model: str, make_request: Any
) -> None:
    requests = [make_request(i) for i in range(5)]

    ack = runner.call("run", model, {"requests": requests}, params={"queueRequest": "true"})
    assert ack["status"] == "queued" and ack["request_id"]

    result: dict[str, Any] = {}
    for _ in range(10):
        result = runner.call("run", model, {"request_id": ack["request_id"]})
        if "responses" in result:
            break
        assert result["status"] in ("queued", "running")
    responses = result["responses"]

    assert sorted(r["id"] for r in responses) == [0, 1, 2, 3, 4]
    assert all(r["success"] for r in responses)
    assert {r["id"]: r["external_reference"] for r in responses} == {i: f"r{i}" for i in range(5)}


def test_batch_poll_of_an_unknown_request_id_is_an_error(runner: Runner) -> None:
    with pytest.raises(APIStatusError) as info:
        runner.call("run", LLAMA33, {"request_id": "00000000-0000-0000-0000-000000000000"})
    assert "request_id" in info.value.message


# -- AI Gateway --------------------------------------------------------------------------------


@pytest.mark.parametrize("routing", ["url", "header"])
def test_gateway_cache_miss_then_hit(runner: Runner, routing: str) -> None:
    gateway = GatewayOptions(id="my-gateway", routing=routing, cache_ttl=60)
    inputs = {"prompt": "What is a gateway cache?"}

    kw = {"client_kwargs": {"gateway": gateway}}

    first = runner.call("run_response", CLASSIC, inputs, **kw)
    second = runner.call("run_response", CLASSIC, inputs, **kw)
    other = runner.call("run_response", CLASSIC, {"prompt": "A different question"}, **kw)

    assert first.meta.gateway_cache_status == "MISS"
    assert second.meta.gateway_cache_status == "HIT"
    assert second.data == first.data
    assert other.meta.gateway_cache_status == "MISS"
    assert first.meta.gateway_log_id
    assert runner.server.stats()["by_route"] == {GATEWAY_ROUTES[routing]: 3}


def test_gateway_caches_streams(runner: Runner) -> None:
    gateway = GatewayOptions(id="gw", cache_ttl=60)
    inputs = _messages("Stream me a cached answer")

    first: Streamed = runner.call(
        "stream_chat", CLASSIC, inputs, client_kwargs={"gateway": gateway}
    )
    second: Streamed = runner.call(
        "stream_chat", CLASSIC, inputs, client_kwargs={"gateway": gateway}
    )

    assert [first.stream.meta.gateway_cache_status, second.stream.meta.gateway_cache_status] == [
        "MISS",
        "HIT",
    ]
    assert second.stream.result().text == first.stream.result().text != ""
    assert sum(d.usage is not None for d in second.items) == 1


def test_gateway_custom_cache_key_overrides_the_default_key(runner: Runner) -> None:
    gateway = GatewayOptions(id="gw", cache_ttl=60, cache_key="faq-answer")
    kw = {"client_kwargs": {"gateway": gateway}}

    first = runner.call("run_response", CLASSIC, {"prompt": "What are your hours?"}, **kw)
    second = runner.call("run_response", CLASSIC, {"prompt": "When are you open?"}, **kw)

    assert first.meta.gateway_cache_status == "MISS"
    assert second.meta.gateway_cache_status == "HIT"
    assert second.data == first.data


@pytest.mark.parametrize("routing", ["url", "header"])
def test_gateway_skip_cache_always_misses(runner: Runner, routing: str) -> None:
    cached = GatewayOptions(id="gw", routing=routing, cache_ttl=60)
    skipping = GatewayOptions(id="gw", routing=routing, cache_ttl=60, skip_cache=True)
    inputs = {"prompt": "Skip the cache please"}

    runner.call("run_response", CLASSIC, inputs, client_kwargs={"gateway": cached})
    skipped = runner.call("run_response", CLASSIC, inputs, client_kwargs={"gateway": skipping})

    assert skipped.meta.gateway_cache_status == "MISS"


def test_gateway_openai_route_is_cached_too(runner: Runner) -> None:
    gateway = GatewayOptions(id="gw", cache_ttl=3600)
    inputs = _messages("Cache this OpenAI-style answer")
    kwargs = {"endpoint": "openai", "client_kwargs": {"gateway": gateway}}

    first: ChatResponse = runner.call("chat", CLASSIC, inputs, **kwargs)
    second: ChatResponse = runner.call("chat", CLASSIC, inputs, **kwargs)

    assert [first.meta.gateway_cache_status, second.meta.gateway_cache_status] == ["MISS", "HIT"]
    assert second.result.text == first.result.text
    route = "POST gateway /workers-ai/v1/chat/completions"
    assert runner.server.stats()["by_route"] == {route: 2}


def test_gateway_without_cache_ttl_never_hits(runner: Runner) -> None:
    gateway = GatewayOptions(id="gw")
    inputs = {"prompt": "No ttl"}

    first = runner.call("run_response", CLASSIC, inputs, client_kwargs={"gateway": gateway})
    second = runner.call("run_response", CLASSIC, inputs, client_kwargs={"gateway": gateway})

    assert (first.meta.gateway_cache_status, second.meta.gateway_cache_status) == ("MISS", "MISS")


def test_gateway_run_path_form_is_served(emulator: EmulatorServer) -> None:
    """The official REST shim's ``.../workers-ai/run/{model}`` form works like the native one."""
    import httpx

    url = f"{emulator.gateway_base_url}/{emulator.account_id}/gw/workers-ai/run/{CLASSIC}"
    headers = {"Authorization": f"Bearer {emulator.api_token}", "cf-aig-cache-ttl": "60"}

    with httpx.Client() as http:
        first = http.post(url, json={"prompt": "Hi"}, headers=headers)
        second = http.post(url, json={"prompt": "Hi"}, headers=headers)

    assert first.status_code == 200 and first.json()["result"]["response"]
    assert [first.headers["cf-aig-cache-status"], second.headers["cf-aig-cache-status"]] == [
        "MISS",
        "HIT",
    ]
    assert emulator.stats()["by_route"] == {"POST gateway /workers-ai/run/{model}": 2}


@pytest.fixture(scope="module")
def gated_emulator() -> Iterator[EmulatorServer]:
    """A second emulator whose AI Gateway requires ``cf-aig-authorization``."""
    with EmulatorServer(gateway_token="gw-secret-token") as server:
        yield server


@pytest.fixture
def gated_runner(runner: Runner, gated_emulator: EmulatorServer) -> Iterator[Runner]:
    gated_emulator.reset()
    yield Runner(runner.kind, gated_emulator, runner.sleeps)
    gated_emulator.reset()


@pytest.mark.parametrize("routing", ["url", "header"])
def test_authenticated_gateway_rejects_a_missing_or_wrong_token(
    gated_runner: Runner, routing: str
) -> None:
    for token in (None, SecretStr("wrong-token")):
        gateway = GatewayOptions(id="gw", routing=routing, auth_token=token)
        with pytest.raises(AuthenticationError) as info:
            gated_runner.call("run", CLASSIC, {"prompt": "Hi"}, client_kwargs={"gateway": gateway})
        assert info.value.code == 2009
        assert info.value.status_code == 401
    assert gated_runner.server.stats()["requests"] == 2  # never retried
    assert gated_runner.sleeps == []


@pytest.mark.parametrize("routing", ["url", "header"])
def test_authenticated_gateway_accepts_the_right_token(gated_runner: Runner, routing: str) -> None:
    gateway = GatewayOptions(id="gw", routing=routing, auth_token=SecretStr("gw-secret-token"))

    answer = gated_runner.call(
        "run_response", CLASSIC, {"prompt": "Hi"}, client_kwargs={"gateway": gateway}
    )

    assert answer.data["response"]
    assert answer.meta.gateway_cache_status == "MISS"


def test_env_fixture_points_a_default_client_at_the_emulator(
    workers_ai_emulator_env: EmulatorServer,
) -> None:
    with WorkersAIClient() as client:
        assert client.run(CLASSIC, {"prompt": "Hi"})["response"]
    assert workers_ai_emulator_env.stats()["by_route"] == {RUN_ROUTE: 1}


def test_authenticated_gateway_does_not_gate_direct_calls(gated_runner: Runner) -> None:
    assert gated_runner.call("run", CLASSIC, {"prompt": "Hi"})["response"]
