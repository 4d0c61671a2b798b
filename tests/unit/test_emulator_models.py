"""Unit tests for the emulator's stand-in models: generation, rendering, validation, tasks.

Every rendered shape is fed back through the client's own normaliser
(:func:`workers_ai.chat.normalize_chat_result`) and stream accumulator
(:class:`workers_ai.streaming.ChatStreamAccumulator`): what the emulator says must be what a
client reads. Wire shapes follow /work/shared/workers-ai-api.md (§2b, §3, §4, §6-§9).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest

from workers_ai import catalog
from workers_ai.chat import normalize_chat_result
from workers_ai.emulator import EmulatorConfig, media, shapes, standins, tasks
from workers_ai.emulator.app import EmulatorApp, Request, _binary_response, _parse_run_body
from workers_ai.emulator.caching import PromptCache
from workers_ai.emulator.routing import match_route
from workers_ai.emulator.standins import Generation, count_tokens, split_tokens
from workers_ai.emulator.validation import EmulatorError
from workers_ai.streaming import ChatStreamAccumulator
from workers_ai.types import ChatResult

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
QWQ = "@cf/qwen/qwq-32b"
DEEPSEEK = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"
GPT_OSS = "@cf/openai/gpt-oss-120b"
NEMOTRON = "@cf/nvidia/nemotron-3-120b-a12b"
GRANITE = "@cf/ibm-granite/granite-4.0-h-micro"
CHAT_MODELS = [LLAMA, SCOUT, QWQ, DEEPSEEK, QWEN3, GPT_OSS, NEMOTRON, GRANITE]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "u"},
                "days": {"type": "integer", "description": "Forecast days"},
            },
            "required": ["city"],
        },
    },
}
TIME = {  # the flat (legacy) tool shape
    "name": "get_time",
    "description": "Current local time in a timezone",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "IANA zone"}},
        "required": ["timezone"],
    },
}
COUNTRY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "capital": {"type": "string"},
        "population": {"type": "integer"},
        "languages": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "capital", "population", "languages"],
}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


SCENARIOS: dict[str, dict[str, Any]] = {
    "text": {"messages": [user("What is the capital of France and its population?")]},
    "tool": {"messages": [user("What's the weather in Paris for 3 days?")], "tools": [WEATHER]},
    "json": {
        "messages": [user("Describe France.")],
        "response_format": {"type": "json_schema", "json_schema": COUNTRY},
    },
    "prompt": {"prompt": "Write a haiku about autumn leaves falling in Kyoto"},
}


# --- helpers ---------------------------------------------------------------------------------


def tool_names(body: Mapping[str, Any]) -> list[str]:
    return [t.get("function", t)["name"] for t in body.get("tools", [])]


def accumulate(events: list[dict[str, Any]], **kw: Any) -> ChatResult:
    acc = ChatStreamAccumulator(**kw)
    for event in events:
        acc.feed(event)
    acc.finish()
    return acc.result()


def assert_reads_back(result: ChatResult, gen: Generation) -> None:
    """What the client reads equals what the stand-in generated."""
    if gen.parsed is not None:
        assert json.loads(result.text) == gen.parsed
    else:
        assert result.text == gen.text
    assert result.reasoning == (gen.reasoning or None)
    assert [(c.name, c.arguments) for c in result.tool_calls] == gen.tool_calls
    assert not result.invalid_tool_calls
    assert result.usage is not None
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (
        gen.prompt_tokens,
        gen.completion_tokens,
        gen.total_tokens,
    )


def error_of(call: Any, *args: Any) -> EmulatorError:
    with pytest.raises(EmulatorError) as info:
        call(*args)
    return info.value


def check_schema(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    """A small JSON Schema check: the keywords the stand-ins claim to support."""
    while "$ref" in schema:
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        schema = target
    if "const" in schema:
        assert value == schema["const"]
    if "enum" in schema:
        assert value in schema["enum"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            passed = 0
            for branch in schema[key]:
                try:
                    check_schema(value, branch, root)
                    passed += 1
                except AssertionError:
                    pass
            assert passed >= 1, f"{value!r} matches no branch of {schema[key]}"
    for part in schema.get("allOf", []):
        check_schema(value, part, root)
    types = schema.get("type")
    if types is not None:
        kinds = types if isinstance(types, list) else [types]
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "null": lambda v: v is None,
        }
        assert any(checks[k](value) for k in kinds), f"{value!r} is not {kinds}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"missing required {name!r}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                check_schema(value[name], sub, root)
    if isinstance(value, list):
        assert len(value) >= schema.get("minItems", 0)
        assert len(value) <= schema.get("maxItems", len(value))
        for item in value:
            check_schema(item, schema.get("items", {}), root)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        assert value >= schema.get("minimum", value)
        assert value <= schema.get("maximum", value)
    if isinstance(value, str):
        assert len(value) >= schema.get("minLength", 0)
        assert len(value) <= schema.get("maxLength", len(value))


# --- round trips through the client ----------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("model", CHAT_MODELS)
def test_native_result_and_stream_read_back_as_generated(model: str, scenario: str) -> None:
    info = catalog.get(model)
    body = SCENARIOS[scenario]
    gen = standins.generate_chat(info, body)
    names = tool_names(body)

    result = normalize_chat_result(
        shapes.render_native(info, gen, body), think_tags=info.think_tags, tool_names=names
    )
    streamed = accumulate(
        shapes.render_native_stream(info, gen, body), think_tags=info.think_tags, tool_names=names
    )

    assert_reads_back(result, gen)
    assert_reads_back(streamed, gen)
    assert [c.id for c in streamed.tool_calls] == [c.id for c in result.tool_calls]


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_truncated_answer_reads_back_and_reports_length(model: str) -> None:
    info = catalog.get(model)
    body: dict[str, Any] = {
        "messages": [user("Compare Rome, Athens, Cairo, Lima and Oslo for a summer trip")]
    }
    full = standins.generate_chat(info, body)
    budget = full.completion_tokens - 3
    gen = standins.generate_chat(info, {**body, "max_tokens": budget})

    assert gen.finish_reason == "length"
    assert gen.completion_tokens == budget
    assert full.text.startswith(gen.text) and len(gen.text) < len(full.text)
    result = normalize_chat_result(
        shapes.render_native(info, gen, body), think_tags=info.think_tags
    )
    assert_reads_back(result, gen)
    if info.output_shape == "chat_completion":
        assert result.finish_reason == "length"


def test_classic_stream_has_one_padded_event_per_token_then_usage() -> None:
    info = catalog.get(LLAMA)
    gen = standins.generate_chat(info, SCENARIOS["text"])
    events = shapes.render_native_stream(info, gen, SCENARIOS["text"])

    text_events, last = events[:-1], events[-1]
    assert len(text_events) == gen.completion_tokens == count_tokens(gen.text)
    assert all(set(e) == {"response", "p"} and e["p"] for e in text_events)
    prompt = count_tokens(SCENARIOS["text"]["messages"][0]["content"])
    usage = {"prompt_tokens": prompt, "completion_tokens": len(text_events)}
    neurons = round((prompt * 26668 + len(text_events) * 204805) / 1e6, 6)  # §12 llama-3.3 rates
    total = prompt + len(text_events)
    assert last == {"response": "", "usage": {**usage, "total_tokens": total, "neurons": neurons}}


def test_think_model_stream_sends_reasoning_then_close_tag_then_answer() -> None:
    info = catalog.get(QWQ)
    gen = standins.generate_chat(info, SCENARIOS["text"])
    texts = [e["response"] for e in shapes.render_native_stream(info, gen, SCENARIOS["text"])]
    joined = "".join(texts)

    assert "<think>" not in joined  # the opening tag is missing, as on Workers AI
    assert joined == f"{gen.reasoning}</think>\n\n{gen.text}"
    assert "</think>" in texts


@pytest.mark.parametrize(
    ("model", "tool_call"),
    [
        (
            LLAMA,
            {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": 3}},
        ),
        (SCOUT, "object arguments with id"),
        (QWEN3, "string arguments with id"),
    ],
)
def test_tool_calls_use_the_family_wire_format(model: str, tool_call: Any) -> None:
    info = catalog.get(model)
    body = SCENARIOS["tool"]
    rendered = shapes.render_native(info, standins.generate_chat(info, body), body)

    if info.output_shape == "chat_completion":
        wire = rendered["choices"][0]["message"]["tool_calls"][0]
        assert rendered["choices"][0]["finish_reason"] == "tool_calls"
    else:
        wire = rendered["tool_calls"][0]
    if isinstance(tool_call, dict):
        assert wire == tool_call  # legacy: object arguments, no id
    else:
        assert wire["id"].startswith("chatcmpl-tool-")
        args = wire["function"]["arguments"]
        expected_type = dict if "object" in tool_call else str
        assert isinstance(args, expected_type)


def test_chat_completion_stream_mixes_native_fields_and_ends_with_native_usage() -> None:
    info = catalog.get(QWEN3)
    body = SCENARIOS["text"]
    gen = standins.generate_chat(info, body)
    events = shapes.render_native_stream(info, gen, body)

    content = [e for e in events if e.get("choices") and "content" in e["choices"][0]["delta"]]
    assert content and all(e["response"] == e["choices"][0]["delta"]["content"] for e in content)
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["usage"]["completion_tokens"] == gen.completion_tokens
    assert set(events[-1]) == {"response", "usage"} and events[-1]["response"] == ""


def test_streamed_tool_arguments_arrive_in_fragments_with_id_and_name_first() -> None:
    info = catalog.get(QWEN3)
    gen = standins.generate_chat(info, SCENARIOS["tool"])
    fragments = [
        e["choices"][0]["delta"]["tool_calls"][0]
        for e in shapes.render_native_stream(info, gen, SCENARIOS["tool"])
        if e.get("choices") and "tool_calls" in e["choices"][0]["delta"]
    ]

    assert fragments[0]["id"] and fragments[0]["function"]["name"] == "get_weather"
    assert all("id" not in f and "name" not in f["function"] for f in fragments[1:])
    assert len(fragments) > 2
    assert json.loads("".join(f["function"]["arguments"] for f in fragments)) == dict(
        gen.tool_calls[0][1]
    )


@pytest.mark.parametrize("model", [LLAMA, QWQ, QWEN3, NEMOTRON, GPT_OSS])
@pytest.mark.parametrize("scenario", ["text", "tool", "json"])
def test_openai_endpoint_stream_and_body_read_back_the_same(model: str, scenario: str) -> None:
    body: dict[str, Any] = {"model": model, **SCENARIOS[scenario]}
    if scenario == "json":  # OpenAI's wrapper on /ai/v1
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "country", "schema": COUNTRY},
        }
    info = catalog.get(model)
    names = tool_names(body)

    completion = tasks.openai_chat(body, stream=False)
    chunks = tasks.openai_chat({**body, "stream_options": {"include_usage": True}}, stream=True)
    assert isinstance(completion, dict) and isinstance(chunks, list)
    whole = normalize_chat_result(completion, think_tags=info.think_tags, tool_names=names)
    streamed = accumulate(chunks, think_tags=info.think_tags, tool_names=names)

    assert completion["object"] == "chat.completion" and "result" not in completion
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    for field in ("text", "reasoning", "usage", "finish_reason"):
        assert getattr(streamed, field) == getattr(whole, field)
    assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [
        (c.id, c.name, c.arguments) for c in whole.tool_calls
    ]
    if scenario == "json":
        check_schema(json.loads(whole.text), COUNTRY, COUNTRY)
    if scenario == "tool":
        assert [c.name for c in whole.tool_calls] == ["get_weather"]


def test_openai_stream_without_include_usage_has_no_usage_chunk() -> None:
    chunks = tasks.openai_chat({"model": LLAMA, **SCENARIOS["text"]}, stream=True)
    assert isinstance(chunks, list)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert not any("usage" in c for c in chunks)


def test_gpt_oss_input_body_gets_the_responses_shape_with_reasoning() -> None:
    body = {"input": "What is the capital of France?", "instructions": "Be brief."}
    native = tasks.run_model(GPT_OSS, body)
    via_v1 = tasks.responses({"model": GPT_OSS, **body})
    result = normalize_chat_result(native)

    assert native == via_v1
    assert native["object"] == "response" and native["status"] == "completed"
    assert [item["type"] for item in native["output"]] == ["reasoning", "message"]
    assert "capital" in result.text and result.reasoning
    assert result.usage is not None and result.usage.total_tokens == native["usage"]["total_tokens"]


def test_responses_tool_round_trip_calls_then_answers_from_the_output() -> None:
    tool = {"type": "function", **WEATHER["function"]}
    first = tasks.responses({"model": GPT_OSS, "input": "Weather in Oslo?", "tools": [tool]})
    call = next(item for item in first["output"] if item["type"] == "function_call")
    second = tasks.responses(
        {
            "model": GPT_OSS,
            "tools": [tool],
            "input": [
                {"role": "user", "content": "Weather in Oslo?"},
                call,
                {"type": "function_call_output", "call_id": call["call_id"], "output": "-3C, snow"},
            ],
        }
    )

    assert call["name"] == "get_weather" and json.loads(call["arguments"])["city"] == "Oslo"
    assert normalize_chat_result(first).finish_reason == "tool_calls"
    assert "-3C, snow" in normalize_chat_result(second).text


# --- tool calling ----------------------------------------------------------------------------

TOOL_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "name_word",
        {"messages": [user("What's the weather in Paris?")], "tools": [WEATHER]},
        ["get_weather"],
    ),
    (
        "description_word",
        {"messages": [user("What is the local time in Tokyo?")], "tools": [WEATHER, TIME]},
        ["get_time"],
    ),
    ("unrelated", {"messages": [user("Tell me a joke about cats")], "tools": [WEATHER]}, []),
    (
        "choice_none",
        {"messages": [user("Weather in Paris?")], "tools": [WEATHER], "tool_choice": "none"},
        [],
    ),
    (
        "forced",
        {
            "messages": [user("Tell me a joke")],
            "tools": [WEATHER, TIME],
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        },
        ["get_time"],
    ),
    (
        "required_without_relation",
        {"messages": [user("Hello")], "tools": [WEATHER, TIME], "tool_choice": "required"},
        ["get_weather"],
    ),
    (
        "parallel",
        {"messages": [user("Weather and local time in Tokyo?")], "tools": [WEATHER, TIME]},
        ["get_weather", "get_time"],
    ),
    (
        "parallel_off",
        {
            "messages": [user("Weather and local time in Tokyo?")],
            "tools": [WEATHER, TIME],
            "parallel_tool_calls": False,
        },
        ["get_time"],  # the best match: "local" and "time" both name get_time's words
    ),
]


@pytest.mark.parametrize(("case", "body", "expected"), TOOL_CASES, ids=[c[0] for c in TOOL_CASES])
def test_tools_are_called_when_forced_or_related_to_the_user_text(
    case: str, body: dict[str, Any], expected: list[str]
) -> None:
    gen = standins.generate_chat(catalog.get(QWEN3), body)

    assert [name for name, _ in gen.tool_calls] == expected
    assert gen.finish_reason == ("tool_calls" if expected else "stop")
    assert bool(gen.text) != bool(expected)


def test_a_model_without_tool_calling_answers_in_text() -> None:
    gen = standins.generate_chat(catalog.get(DEEPSEEK), SCENARIOS["tool"])
    assert not gen.tool_calls and gen.text


def test_after_tool_results_the_answer_quotes_them() -> None:
    messages = [
        user("What's the weather in Paris?"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call123",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call123", "content": '{"temp": 12}'},
    ]
    gen = standins.generate_chat(catalog.get(LLAMA), {"messages": messages, "tools": [WEATHER]})

    assert not gen.tool_calls
    assert '{"temp": 12}' in gen.text and "get_weather" in gen.text


TOOL_SCHEMAS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # (case, user text, parameters schema, values the user would expect)
    (
        "integers_in_order",
        "Add 3 and 5",
        {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
        {"a": 3, "b": 5},
    ),
    (
        "numbers",
        "Weather at 51.5, -0.12 please",
        {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
        {"lat": 51.5, "lon": -0.12},
    ),
    (
        "enum_mentioned",
        "Temperature in Rome in fahrenheit",
        {"type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}}},
        {"unit": "fahrenheit"},
    ),
    (
        "enum_default_first",
        "Temperature in Rome",
        {
            "type": "object",
            "properties": {"unit": {"type": "string", "enum": ["celsius", "kelvin"]}},
        },
        {"unit": "celsius"},
    ),
    (
        "capitalised_and_quoted",
        'Find "pydantic validators" written by Samuel Colvin',
        {
            "type": "object",
            "properties": {"query": {"type": "string"}, "author": {"type": "string"}},
        },
        {"query": "pydantic validators", "author": "Samuel Colvin"},
    ),
    (
        "nested_object_array_boolean",
        "Validate user 123 living at Fake St in Boston MA",
        {
            "type": "object",
            "properties": {
                "user": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "addresses": {"type": "array", "items": {"type": "string"}},
                        "active": {"type": "boolean"},
                    },
                    "required": ["id", "addresses"],
                }
            },
            "required": ["user"],
        },
        {"user": {"id": 123, "addresses": ["Fake St", "Boston MA"], "active": True}},
    ),
    (
        "defs_ref_anyof",
        "Book 2 rooms at the Grand Hotel",
        {
            "$defs": {
                "Room": {
                    "type": "object",
                    "properties": {"count": {"type": "integer", "minimum": 1}},
                    "required": ["count"],
                }
            },
            "type": "object",
            "properties": {
                "rooms": {"$ref": "#/$defs/Room"},
                "hotel": {"anyOf": [{"type": "null"}, {"type": "string"}]},
                "nights": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            },
            "required": ["rooms", "hotel"],
        },
        {"rooms": {"count": 2}, "hotel": "Grand Hotel"},
    ),
    (
        "bounds_and_formats",
        "Remind me in 500 minutes",
        {
            "type": "object",
            "properties": {
                "minutes": {"type": "integer", "minimum": 1, "maximum": 120},
                "day": {"type": "string", "format": "date"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            },
        },
        {"minutes": 120, "day": "2025-01-01"},
    ),
    (
        "no_arguments",
        "Roll the magic dice",
        {"type": "object", "properties": {}},
        {},
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "schema", "expected"), TOOL_SCHEMAS, ids=[c[0] for c in TOOL_SCHEMAS]
)
def test_tool_arguments_follow_the_schema_and_the_user_text(
    case: str, text: str, schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    tool = {"name": "do_it", "description": "Does it", "parameters": schema}
    body = {"messages": [user(text)], "tools": [tool], "tool_choice": "required"}
    gen = standins.generate_chat(catalog.get(LLAMA), body)

    assert len(gen.tool_calls) == 1
    arguments = gen.tool_calls[0][1]
    check_schema(arguments, schema, schema)
    assert {k: arguments[k] for k in expected} == expected


# --- JSON mode -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "format_field",
    [
        {"response_format": {"type": "json_schema", "json_schema": COUNTRY}},
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "c", "schema": COUNTRY},
            }
        },
        {"guided_json": COUNTRY},
    ],
    ids=["native", "openai_wrapper", "guided_json"],
)
def test_json_mode_returns_an_object_valid_against_the_schema(format_field: dict[str, Any]) -> None:
    body = {"messages": [user("Describe Japan, population 125 million")], **format_field}
    classic = tasks.run_model(LLAMA, body)
    chat = tasks.run_model(QWEN3, body)

    check_schema(classic["response"], COUNTRY, COUNTRY)
    assert classic["response"]["name"] == "Japan" and classic["response"]["population"] == 125
    content = chat["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    check_schema(json.loads(content), COUNTRY, COUNTRY)


def test_json_object_mode_without_schema_uses_the_quoted_keys_or_wraps_the_reply() -> None:
    json_object = {"response_format": {"type": "json_object"}}
    plain = tasks.run_model(LLAMA, {"prompt": "Hi", **json_object})
    keyed = tasks.run_model(
        LLAMA, {"prompt": "A joke about cats as JSON with 'setup' and 'punchline'", **json_object}
    )

    assert plain["response"] == {"answer": "Hello! How can I help you today?"}
    assert set(keyed["response"]) == {"setup", "punchline"}
    assert all(isinstance(v, str) and v for v in keyed["response"].values())


# --- max_tokens, stop, seed, reasoning controls, determinism ----------------------------------


def test_stop_sequence_cuts_the_answer_before_it() -> None:
    info = catalog.get(QWEN3)
    full = standins.generate_chat(info, SCENARIOS["text"])
    word = full.text.split()[3]
    gen = standins.generate_chat(info, {**SCENARIOS["text"], "stop": ["zzz", word]})

    assert gen.text == full.text[: full.text.index(word)]
    assert gen.finish_reason == "stop"
    assert gen.completion_tokens == count_tokens(gen.text) + count_tokens(gen.reasoning)


def test_reasoning_can_be_turned_off_except_on_gpt_oss() -> None:
    body = SCENARIOS["text"]
    off = [
        {**body, "reasoning_effort": None},
        {**body, "chat_template_kwargs": {"enable_thinking": False}},
    ]
    assert standins.generate_chat(catalog.get(QWEN3), body).reasoning
    assert all(not standins.generate_chat(catalog.get(QWEN3), b).reasoning for b in off)
    assert standins.generate_chat(catalog.get(GPT_OSS), off[0]).reasoning
    assert not standins.generate_chat(catalog.get(LLAMA), body).reasoning


def test_seed_changes_the_reply_and_repeats_it() -> None:
    info = catalog.get(LLAMA)
    texts = {
        standins.generate_chat(info, {**SCENARIOS["text"], "seed": seed}).text
        for seed in range(1, 13)
    }
    again = standins.generate_chat(info, {**SCENARIOS["text"], "seed": 7})
    assert len(texts) > 1
    assert again == standins.generate_chat(info, {**SCENARIOS["text"], "seed": 7})


@pytest.mark.parametrize("model", [LLAMA, QWQ, QWEN3])
def test_same_request_gives_the_same_bytes(model: str) -> None:
    body = {**SCENARIOS["tool"], "stream": True}
    frames = [b"".join(map(shapes.sse_frame, tasks.stream_model(model, body))) for _ in range(2)]
    results = [json.dumps(tasks.run_model(model, SCENARIOS["tool"])) for _ in range(2)]
    assert frames[0] == frames[1] and results[0] == results[1]


def test_stream_and_non_stream_carry_the_same_content() -> None:
    info = catalog.get(QWEN3)
    plain = standins.generate_chat(info, SCENARIOS["text"])
    streamed = standins.generate_chat(info, {**SCENARIOS["text"], "stream": True})
    assert plain == streamed


# --- tokens and framing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("Hello, world!", 4), ("don't", 3), ("  spaced   out  ", 2), ("a</think>b", 6)],
)
def test_count_tokens_and_split_tokens_agree(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens
    pieces = split_tokens(text)
    assert "".join(pieces) == (text if text.strip() else "")
    assert len(pieces) == tokens


def test_sse_frame_is_compact_json_or_the_done_marker() -> None:
    assert (
        shapes.sse_frame({"response": "Hi", "p": "ab"}) == b'data: {"response":"Hi","p":"ab"}\n\n'
    )
    assert shapes.sse_frame("[DONE]") == b"data: [DONE]\n\n"


# --- embeddings ------------------------------------------------------------------------------

EMBEDDERS = [
    ("@cf/baai/bge-small-en-v1.5", 384, {"shape", "data", "pooling"}),
    ("@cf/baai/bge-base-en-v1.5", 768, {"shape", "data", "pooling"}),
    ("@cf/baai/bge-large-en-v1.5", 1024, {"shape", "data", "pooling"}),
    ("@cf/baai/bge-m3", 1024, {"shape", "data", "pooling"}),
    ("@cf/google/embeddinggemma-300m", 768, {"shape", "data"}),
    ("@cf/qwen/qwen3-embedding-0.6b", 1024, {"shape", "data"}),
]
TEXTS = [
    "The cat sat on the warm mat",
    "A cat was sitting on a mat",
    "Quarterly revenue grew by ten percent",
]


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(("model", "dims", "keys"), EMBEDDERS)
def test_embeddings_are_normalised_sized_and_lexical(model: str, dims: int, keys: set[str]) -> None:
    result = tasks.run_model(model, {"text": TEXTS})
    vectors = result["data"]

    assert set(result) == keys
    assert result["shape"] == [3, dims]
    assert all(len(v) == dims and math.isclose(cos(v, v), 1.0, abs_tol=1e-5) for v in vectors)
    assert cos(vectors[0], vectors[1]) > 0.3 > cos(vectors[0], vectors[2])


def test_bge_pooling_is_reported_and_changes_the_vectors() -> None:
    mean = tasks.run_model("@cf/baai/bge-base-en-v1.5", {"text": "hello world"})
    cls = tasks.run_model("@cf/baai/bge-base-en-v1.5", {"text": "hello world", "pooling": "cls"})
    assert (mean["pooling"], cls["pooling"]) == ("mean", "cls")
    assert mean["data"] != cls["data"]


def test_qwen3_embedding_embeds_queries_then_documents() -> None:
    model = "@cf/qwen/qwen3-embedding-0.6b"
    result = tasks.run_model(
        model, {"queries": "cat on a mat", "documents": TEXTS, "instruction": "Find passages"}
    )
    query, *docs = result["data"]
    assert result["shape"] == [4, 1024]
    assert cos(query, docs[0]) > cos(query, docs[2])


def test_bge_m3_scores_contexts_against_a_query_or_embeds_them() -> None:
    contexts = [{"text": t} for t in TEXTS]
    scored = tasks.run_model("@cf/baai/bge-m3", {"query": "revenue growth", "contexts": contexts})
    embedded = tasks.run_model("@cf/baai/bge-m3", {"contexts": contexts})

    assert scored["response"][0]["id"] == 2
    assert sorted(item["id"] for item in scored["response"]) == [0, 1, 2]
    assert embedded["shape"] == [3, 1024] and len(embedded["response"]) == 3


def test_openai_embeddings_use_the_openai_list_shape() -> None:
    result = tasks.openai_embeddings({"model": "@cf/baai/bge-small-en-v1.5", "input": TEXTS[:2]})
    native = tasks.run_model("@cf/baai/bge-small-en-v1.5", {"text": TEXTS[:2]})

    assert result["object"] == "list" and result["model"] == "@cf/baai/bge-small-en-v1.5"
    assert [(d["object"], d["index"]) for d in result["data"]] == [
        ("embedding", 0),
        ("embedding", 1),
    ]
    assert [d["embedding"] for d in result["data"]] == native["data"]
    tokens = sum(map(count_tokens, TEXTS[:2]))
    assert result["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}


def test_truncate_inputs_lets_a_long_text_through_on_bge_m3() -> None:
    long_text = "word " * 70_000
    result = tasks.run_model("@cf/baai/bge-m3", {"text": long_text, "truncate_inputs": True})
    assert result["shape"] == [1, 1024]


# --- reranker and other tasks ----------------------------------------------------------------

RERANKER = "@cf/baai/bge-reranker-base"
CONTEXTS = [
    {"text": "Berlin is the capital of Germany."},
    {"text": "Paris is the capital of France."},
    {"text": "Bananas are rich in potassium."},
]


def test_reranker_sorts_best_first_with_sigmoid_scores() -> None:
    result = tasks.run_model(RERANKER, {"query": "capital of France", "contexts": CONTEXTS})
    ranked = result["response"]

    assert [item["id"] for item in ranked] == [1, 0, 2]
    assert all(0 < item["score"] < 1 for item in ranked)
    assert ranked[0]["score"] > 0.9 > 0.1 > ranked[-1]["score"]
    assert result["usage"]["prompt_tokens"] > 0


def test_reranker_honours_top_k() -> None:
    result = tasks.run_model(RERANKER, {"query": "capital", "contexts": CONTEXTS, "top_k": 1})
    assert [item["id"] for item in result["response"]] in ([0], [1])


@pytest.mark.parametrize(
    ("text", "label"),
    [("I love this great movie", "POSITIVE"), ("This is terrible and I hate it", "NEGATIVE")],
)
def test_text_classification_labels_sentiment(text: str, label: str) -> None:
    result = tasks.run_model("@cf/huggingface/distilbert-sst-2-int8", {"text": text})
    assert result[0]["label"] == label
    assert math.isclose(sum(item["score"] for item in result), 1.0, abs_tol=1e-6)


def test_translation_and_summarization_have_their_documented_shapes() -> None:
    translated = tasks.run_model(
        "@cf/meta/m2m100-1.2b", {"text": "Hello there", "source_lang": "en", "target_lang": "fr"}
    )
    article = "Rome is old. " + "It has many churches and ruins and stories to tell. " * 5
    summary = tasks.run_model("@cf/facebook/bart-large-cnn", {"input_text": article})
    short = tasks.run_model("@cf/facebook/bart-large-cnn", {"input_text": article, "max_length": 2})

    assert translated == {"translated_text": "[fr] Hello there"}
    assert summary["summary"].startswith("Rome is old.")
    assert count_tokens(summary["summary"]) < count_tokens(article)
    assert count_tokens(short["summary"]) == 2


def test_model_schema_describes_inputs_and_outputs() -> None:
    chat = tasks.model_schema(LLAMA)
    embed = tasks.model_schema("@cf/baai/bge-small-en-v1.5")
    assert {b["title"] for b in chat["input"]["oneOf"]} == {"Prompt", "Messages"}
    assert "pooling" in embed["input"]["properties"]


# --- errors ----------------------------------------------------------------------------------

PART = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
WHISPER = "@cf/openai/whisper"
WHISPER_TURBO = "@cf/openai/whisper-large-v3-turbo"
RESNET = "@cf/microsoft/resnet-50"
DETR = "@cf/facebook/detr-resnet-50"
LLAVA = "@cf/llava-hf/llava-1.5-7b-hf"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
MELOTTS = "@cf/myshell-ai/melotts"
NO_TYPE_TOOL = {
    "name": "get_weather",
    "description": "d",
    "parameters": {"type": "object", "properties": {"city": {"description": "City"}}},
}
BAD_INPUTS: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    # (case, model, body, words the message must contain)
    ("no_input", LLAMA, {}, ("prompt", "messages")),
    ("both_inputs", LLAMA, {"prompt": "a", "messages": [user("b")]}, ("prompt", "messages")),
    ("empty_prompt", LLAMA, {"prompt": ""}, ("/prompt",)),
    ("messages_not_list", LLAMA, {"messages": "hi"}, ("/messages",)),
    ("messages_empty", LLAMA, {"messages": []}, ("/messages",)),
    ("bad_role", LLAMA, {"messages": [{"role": "robot", "content": "x"}]}, ("/messages/0/role",)),
    (
        "null_content",
        LLAMA,
        {"messages": [{"role": "user", "content": None}]},
        ("/messages/0/content",),
    ),
    (
        "bad_part_type",
        SCOUT,
        {"messages": [{"role": "user", "content": [{"type": "audio", "data": "x"}]}]},
        ("/messages/0/content/0/type",),
    ),
    (
        "http_image",
        SCOUT,
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, PART]}]},
        ("/messages/0/content/1/image_url/url", "data:"),
    ),
    (
        "tool_property_without_type",
        LLAMA,
        {"messages": [user("hi")], "tools": [NO_TYPE_TOOL]},
        ("get_weather", "city", "type"),
    ),
    ("max_tokens_zero", LLAMA, {"prompt": "hi", "max_tokens": 0}, ("max_tokens",)),
    ("embed_missing", "@cf/baai/bge-small-en-v1.5", {}, ("text",)),
    ("embed_empty", "@cf/baai/bge-small-en-v1.5", {"text": ""}, ("/text",)),
    ("embed_non_string", "@cf/baai/bge-small-en-v1.5", {"text": ["a", 3]}, ("/text/1",)),
    ("embed_too_many", "@cf/baai/bge-small-en-v1.5", {"text": ["a"] * 101}, ("/text", "100")),
    ("embed_too_long", "@cf/baai/bge-small-en-v1.5", {"text": "w " * 600}, ("/text", "512")),
    (
        "qwen3_too_many",
        "@cf/qwen/qwen3-embedding-0.6b",
        {"queries": ["q"] * 33},
        ("/queries", "32"),
    ),
    ("rerank_no_query", RERANKER, {"contexts": CONTEXTS}, ("query",)),
    ("rerank_no_contexts", RERANKER, {"query": "q"}, ("contexts",)),
    ("rerank_top_k", RERANKER, {"query": "q", "contexts": CONTEXTS, "top_k": 0}, ("top_k",)),
    ("translation_target", "@cf/meta/m2m100-1.2b", {"text": "hi"}, ("target_lang",)),
    ("asr_no_audio", WHISPER, {}, ("audio",)),
    ("asr_audio_not_bytes", WHISPER, {"audio": [82, 300]}, ("/audio/1", "0-255")),
    ("asr_audio_empty", WHISPER, {"audio": []}, ("/audio",)),
    ("asr_audio_object", WHISPER, {"audio": {"data": 1}}, ("/audio",)),
    ("asr_task", WHISPER_TURBO, {"audio": "UklGRg==", "task": "sing"}, ("/task",)),
    ("asr_vad_filter", WHISPER_TURBO, {"audio": "UklGRg==", "vad_filter": 3}, ("/vad_filter",)),
    ("classify_no_image", RESNET, {"text": "cat"}, ("image",)),
    ("detect_image_floats", DETR, {"image": [1.5]}, ("/image/0",)),
    ("caption_prompt_type", LLAVA, {"image": [1, 2], "prompt": 3}, ("/prompt",)),
    ("caption_max_tokens", LLAVA, {"image": [1, 2], "max_tokens": 0}, ("/max_tokens",)),
    ("flux_no_prompt", FLUX, {"steps": 4}, ("prompt",)),
    ("flux_steps", FLUX, {"prompt": "a lizard", "steps": 9}, ("/steps", "8")),
    ("tts_empty_prompt", MELOTTS, {"prompt": ""}, ("/prompt",)),
    ("tts_lang_type", MELOTTS, {"prompt": "hi", "lang": 1}, ("/lang",)),
    (
        "mistral_tool_choice",
        "@cf/mistralai/mistral-small-3.1-24b-instruct",
        {"messages": [user("Weather in Paris?")], "tools": [WEATHER], "tool_choice": "auto"},
        ("/tool_choice", "not supported"),
    ),
    (
        "image_on_text_only_model",
        LLAMA,
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}
            ]
        },
        ("/messages/0/content/0/type", "image_url"),
    ),
]


@pytest.mark.parametrize(
    ("case", "model", "body", "words"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_5006_naming_the_field(
    case: str, model: str, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    error = error_of(tasks.run_model, model, body)
    assert (error.status, error.code) == (400, 5006)
    assert error.message.startswith("AiError: Bad input:")
    assert all(word in error.message for word in words), error.message


def test_lora_on_a_model_without_lora_is_5005_with_http_405() -> None:
    error = error_of(tasks.run_model, QWEN3, {"prompt": "hi", "lora": "my-adapter"})
    assert (error.status, error.code, error.message) == (405, 5005, "Model does not support LoRA")
    assert tasks.run_model(LLAMA, {"prompt": "hi", "lora": "my-adapter"})["response"]


def test_unknown_model_is_5007() -> None:
    error = error_of(tasks.run_model, "@cf/acme/nope", {"prompt": "hi"})
    assert (error.status, error.code) == (400, 5007)
    assert error.message == "No such model @cf/acme/nope or task"


@pytest.mark.parametrize(
    ("call", "body", "words"),
    [
        (tasks.responses, {"model": LLAMA, "input": "hi"}, ("Responses",)),
        (tasks.openai_embeddings, {"model": LLAMA, "input": "hi"}, ("Text Embeddings",)),
        (lambda b: tasks.openai_chat(b, stream=False), {"messages": [user("hi")]}, ("model",)),
        (lambda b: tasks.stream_model(RERANKER, b), {"query": "q"}, ("stream",)),
    ],
    ids=["responses_non_gpt_oss", "embeddings_chat_model", "chat_without_model", "stream_rerank"],
)
def test_endpoint_misuse_is_5006(call: Any, body: dict[str, Any], words: tuple[str, ...]) -> None:
    error = error_of(call, body)
    assert error.code == 5006
    assert all(word in error.message for word in words), error.message


def test_openai_endpoint_accepts_null_content_on_assistant_tool_calls() -> None:
    messages = [
        user("Weather in Paris?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    completion = tasks.openai_chat({"model": QWEN3, "messages": messages}, stream=False)
    assert isinstance(completion, dict)
    assert "sunny" in completion["choices"][0]["message"]["content"]


# --- media tasks (spec §8) ----------------------------------------------------------------------

PNG_HEADER = [137, 80, 78, 71, 13, 10, 26, 10]
MEDIA_CASES: list[tuple[str, str, dict[str, Any], type, set[str]]] = [
    # (case, model, body, result type, keys of the result (of each item for lists))
    (
        "whisper_bytes",
        WHISPER,
        {"audio": [82, 73, 70, 70, 1, 2, 3]},
        dict,
        {"text", "words", "vtt"},
    ),
    ("whisper_base64", WHISPER, {"audio": "UklGRiQAAABXQVZF"}, dict, {"word_count", "vtt"}),
    (
        "whisper_turbo",
        WHISPER_TURBO,
        {"audio": "UklGRiQAAABXQVZF", "language": "fr", "vad_filter": True},
        dict,
        {"transcription_info", "text", "word_count", "segments", "vtt"},
    ),
    ("resnet", RESNET, {"image": PNG_HEADER}, list, {"label", "score"}),
    ("detr", DETR, {"image": PNG_HEADER}, list, {"label", "score", "box"}),
    ("llava", LLAVA, {"image": PNG_HEADER, "prompt": "What animal?"}, dict, {"description"}),
    ("flux", FLUX, {"prompt": "a cyberpunk lizard", "steps": 4}, dict, {"image"}),
    ("melotts", MELOTTS, {"prompt": "Hello world", "lang": "en"}, dict, {"audio"}),
]


@pytest.mark.parametrize(
    ("case", "model", "body", "kind", "keys"), MEDIA_CASES, ids=[c[0] for c in MEDIA_CASES]
)
def test_media_stand_ins_answer_the_documented_shape_deterministically(
    case: str, model: str, body: dict[str, Any], kind: type, keys: set[str]
) -> None:
    result = tasks.run_model(model, body)

    assert isinstance(result, kind)
    for item in result if isinstance(result, list) else [result]:
        assert keys <= set(item), item
    assert tasks.run_model(model, body) == result
    if isinstance(result, list):
        scores = [item["score"] for item in result]
        assert scores == sorted(scores, reverse=True) and all(0 < x < 1 for x in scores)


@pytest.mark.parametrize("model", [WHISPER, RESNET, DETR, LLAVA])
def test_media_outputs_depend_on_the_input_bytes(model: str) -> None:
    field = "audio" if model == WHISPER else "image"
    outputs = {
        json.dumps(tasks.run_model(model, {field: bytes(range(seed, seed + 90))}))
        for seed in range(6)
    }
    assert len(outputs) > 1


def test_whisper_times_its_words_across_the_audio() -> None:
    result = tasks.run_model(WHISPER, {"audio": bytes(64_000)})  # ~4 s of compressed audio
    words = result["words"]

    assert result["word_count"] == len(words) == len(result["text"].split()) == 10
    assert all(w["start"] < w["end"] <= 4.0 for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert result["vtt"].startswith("WEBVTT\n\n00:00:00.000 --> ")


def test_text_to_speech_makes_a_wav_that_speech_recognition_reads_back() -> None:
    import base64
    import io
    import wave

    audio = base64.b64decode(
        tasks.run_model(MELOTTS, {"prompt": "Hello from the emulator"})["audio"]
    )
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 1)
        assert wav.getnframes() == 4 * 2000  # 0.25 s per word

    plain = tasks.run_model(WHISPER, {"audio": list(audio)})
    turbo = tasks.run_model(WHISPER_TURBO, {"audio": base64.b64encode(audio).decode()})
    assert plain["text"] == turbo["text"] == "Hello from the emulator"
    assert turbo["transcription_info"]["duration"] == 1.0
    assert [s["text"] for s in turbo["segments"]] == ["Hello from the emulator"]


def test_flux_image_is_a_valid_jpeg_derived_from_the_prompt() -> None:
    import base64

    first = base64.b64decode(tasks.run_model(FLUX, {"prompt": "a red fox"})["image"])
    other = base64.b64decode(tasks.run_model(FLUX, {"prompt": "a blue whale"})["image"])

    assert first[:2] == b"\xff\xd8" and first.endswith(b"\xff\xd9") and first != other
    assert b"stand-in" in first  # the JPEG comment says what it is
    assert media.image_size(first) == (64, 64)
    pil = pytest.importorskip("PIL.Image")
    import io

    picture = pil.open(io.BytesIO(first))
    picture.load()
    assert (picture.format, picture.size) == ("JPEG", (64, 64))


def test_stable_diffusion_style_models_answer_raw_png_bytes() -> None:
    info = dataclasses.replace(catalog.get(FLUX), id="@cf/stabilityai/stable-diffusion-xl")
    png = media.run_media(info, {"prompt": "a castle", "width": 300, "height": 256})

    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert media.image_size(png) == (300, 256)
    with pytest.raises(EmulatorError, match="/width"):
        media.run_media(info, {"prompt": "a castle", "width": 4096})


@pytest.mark.parametrize("size", [(640, 480), (100, 40), (8, 8), (1, 1)])
def test_detected_boxes_lie_inside_the_image(size: tuple[int, int]) -> None:
    width, height = size
    for seed in range(20):
        image = media.png_image(bytes([seed]), width, height)
        for item in tasks.run_model(DETR, {"image": list(image)}):
            box = item["box"]
            assert 0 <= box["xmin"] < box["xmax"] <= width, box
            assert 0 <= box["ymin"] < box["ymax"] <= height, box


def test_bad_base64_is_5004_naming_the_field() -> None:
    error = error_of(tasks.run_model, RESNET, {"image": "not base64!"})
    assert (error.status, error.code) == (400, 5004)
    assert "'image'" in error.message


def test_media_models_describe_their_inputs_in_the_schema() -> None:
    asr = tasks.model_schema(WHISPER)["input"]
    assert asr["oneOf"][0] == {"type": "string", "format": "binary"}
    assert asr["oneOf"][1]["required"] == ["audio"]
    assert tasks.model_schema(FLUX)["input"]["required"] == ["prompt"]


# --- raw binary bodies and stream routing (the app, in process: no sockets) --------------------


def app_call(
    model: str, body: bytes | dict[str, Any], **headers: str
) -> tuple[int, dict[str, str], bytes]:
    app = EmulatorApp()
    return app_send(app, model, body, **headers)


def app_send(
    app: EmulatorApp, model: str, body: bytes | dict[str, Any], **headers: str
) -> tuple[int, dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"authorization": f"Bearer {app.config.api_token}", **headers}
    path = f"/client/v4/accounts/{app.config.account_id}/ai/run/{model}"
    response = asyncio.run(app.handle(Request("POST", path, {}, all_headers, raw)))
    payload = b"".join(response.frames) if response.frames is not None else response.body or b""
    names = {k.decode(): v.decode() for k, v in response.headers}
    return response.status, names, payload


WAV_HEADER = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"
RAW_BODIES = [
    # (case, model, body, content-type, field the body stands for)
    ("wav_octet_stream", WHISPER, WAV_HEADER, "application/octet-stream", "audio"),
    (
        "mp3_form_encoded",
        WHISPER,
        b"ID3\x04\x00" + bytes(500),
        "application/x-www-form-urlencoded",
        "audio",
    ),
    ("png_no_type", RESNET, bytes(PNG_HEADER), "", "image"),
    ("png_detr", DETR, bytes(PNG_HEADER), "image/png", "image"),
    ("jpeg_llava", LLAVA, b"\xff\xd8\xff\xe0" + bytes(64), "image/jpeg", "image"),
]


@pytest.mark.parametrize(
    ("case", "model", "raw", "content_type", "field"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES]
)
def test_asr_and_image_models_take_the_file_as_the_request_body(
    case: str, model: str, raw: bytes, content_type: str, field: str
) -> None:
    request = Request("POST", "/", {}, {"content-type": content_type}, raw)
    assert _parse_run_body(request, model) == {field: raw}

    status, _, payload = app_call(model, raw, **{"content-type": content_type})
    assert status == 200, payload
    assert json.loads(payload)["result"] == tasks.run_model(model, {field: raw})


def test_a_json_body_is_still_json_for_binary_capable_models() -> None:
    body = {"audio": [82, 73, 70, 70]}
    request = Request("POST", "/", {}, {}, json.dumps(body).encode())
    assert _parse_run_body(request, WHISPER) == body
    broken = Request("POST", "/", {}, {"content-type": "application/json"}, b"{not json")
    with pytest.raises(EmulatorError, match="not valid JSON"):
        _parse_run_body(broken, WHISPER)
    with pytest.raises(EmulatorError, match="not valid JSON"):  # text models never take bytes
        _parse_run_body(Request("POST", "/", {}, {}, WAV_HEADER), LLAMA)


@pytest.mark.parametrize(
    ("model", "body", "stream"),
    [
        ("@cf/baai/bge-small-en-v1.5", {"text": "hello"}, False),
        (RERANKER, {"query": "q", "contexts": CONTEXTS}, False),
        (WHISPER, {"audio": [1, 2, 3]}, False),
        (GPT_OSS, {"messages": [user("hi")]}, False),  # streaming: false in the catalog
        (LLAMA, {"messages": [user("hi")]}, True),
    ],
)
def test_only_streaming_text_generation_models_answer_stream_true_with_sse(
    model: str, body: dict[str, Any], stream: bool
) -> None:
    status, headers, payload = app_call(model, {**body, "stream": True})

    assert status == 200, payload
    if stream:
        assert payload.startswith(b"data: {")
    else:
        assert headers["content-type"] == "application/json"
        assert json.loads(payload)["success"] is True


def test_text_to_image_without_base64_output_is_served_as_png() -> None:
    response = _binary_response(media.png_image(b"x", 8, 8))
    assert response.headers == [(b"content-type", b"image/png")]


# --- streamed usage: neurons, per-chunk deltas, mixed-stream details ---------------------------


def sse_events(payload: bytes) -> list[dict[str, Any]]:
    frames = payload.decode().split("\n\n")
    return [json.loads(f[len("data: ") :]) for f in frames if f.startswith("data: {")]


@pytest.mark.parametrize("model", [LLAMA, QWQ, QWEN3, SCOUT, GPT_OSS, NEMOTRON])
@pytest.mark.parametrize("scenario", ["text", "tool"])
def test_per_chunk_usage_deltas_add_up_to_the_final_usage(model: str, scenario: str) -> None:
    info = catalog.get(model)
    body = SCENARIOS[scenario]
    gen = standins.generate_chat(info, body)
    final = shapes.render_native_stream(info, gen, body)
    per_chunk = shapes.render_native_stream(info, gen, body, usage_per_chunk=True)

    usage = final[-1]["usage"]
    deltas = [e["usage"] for e in per_chunk]
    assert all("usage" not in e or "choices" in e for e in final[:-1])  # mixed finish: zeros
    assert deltas[0]["completion_tokens"] == 0 and deltas[0]["prompt_tokens"] == gen.prompt_tokens
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert sum(d[key] for d in deltas) == usage[key]
    assert all(d[key] >= 0 for d in deltas for key in ("completion_tokens", "total_tokens"))
    assert math.isclose(sum(d["neurons"] for d in deltas), usage["neurons"], abs_tol=1e-4)
    names = tool_names(body)
    streamed = accumulate(per_chunk, think_tags=info.think_tags, tool_names=names)
    assert_reads_back(streamed, gen)


@pytest.mark.parametrize(
    ("model", "prompt", "completion", "neurons"),
    [
        (LLAMA, 39, 1, 1.244857),  # §12: 26668 / 204805 neurons per M in/out
        (QWEN3, 175, 17, 1.32745),  # 4625 / 30475
        ("@cf/moonshotai/kimi-k2.5", 1000, 0, 54.545),  # 54545 per M input
        (GRANITE, 10, 10, 0.117),  # 1542 / 10158
    ],
)
def test_neurons_follow_the_catalog_rates(
    model: str, prompt: int, completion: int, neurons: float
) -> None:
    gen = Generation(text="x", prompt_tokens=prompt, completion_tokens=completion)
    usage = shapes.render_native_stream(catalog.get(model), gen, {"messages": []})[-1]["usage"]
    assert math.isclose(usage["neurons"], neurons, abs_tol=1e-6)
    assert usage["total_tokens"] == prompt + completion


def test_models_without_neuron_rates_report_no_neurons() -> None:
    info = dataclasses.replace(catalog.get(LLAMA), neurons_per_m_output=None)
    gen = standins.generate_chat(info, SCENARIOS["text"])
    assert "neurons" not in shapes.render_native_stream(info, gen, SCENARIOS["text"])[-1]["usage"]
    assert "neurons" not in shapes.render_native(info, gen, SCENARIOS["text"])["usage"]


def test_native_non_streamed_usage_bills_the_same_neurons_as_the_stream() -> None:
    for model in (LLAMA, QWEN3):
        info = catalog.get(model)
        gen = standins.generate_chat(info, SCENARIOS["text"])
        rendered = shapes.render_native(info, gen, SCENARIOS["text"])
        streamed = shapes.render_native_stream(info, gen, SCENARIOS["text"])
        assert rendered["usage"] == streamed[-1]["usage"]
    openai = tasks.openai_chat({"model": QWEN3, **SCENARIOS["text"]}, stream=False)
    assert isinstance(openai, dict) and "neurons" not in openai["usage"]


def test_mixed_stream_carries_the_observed_native_fields() -> None:
    info = catalog.get(QWEN3)
    gen = standins.generate_chat(info, SCENARIOS["text"])
    events = shapes.render_native_stream(info, gen, SCENARIOS["text"])

    content = [e for e in events if e.get("response")]
    assert content and all(e["tool_calls"] == [] for e in content)
    finish = events[-2]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["usage"] == {"prompt_tokens": 0, "completion_tokens": 0}
    assert isinstance(events[-1]["usage"]["neurons"], float)


@pytest.mark.parametrize(
    "model", [LLAMA, SCOUT, QWQ, "@cf/mistralai/mistral-small-3.1-24b-instruct"]
)
def test_native_streamed_tool_calls_use_the_documented_form(model: str) -> None:
    info = catalog.get(model)
    body = SCENARIOS["tool"]
    gen = standins.generate_chat(info, body)
    events = shapes.render_native_stream(info, gen, body)
    calls = next(e["tool_calls"] for e in events if e.get("tool_calls"))

    assert [set(call) for call in calls] == [{"id", "type", "index", "function"}] * len(calls)
    assert [call["index"] for call in calls] == list(range(len(calls)))
    assert all(call["type"] == "function" and call["id"] for call in calls)
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [a for _, a in gen.tool_calls]
    assert events[events.index(next(e for e in events if e.get("tool_calls"))) + 1] == {
        "finish_reason": "tool_calls"
    }
    whole = normalize_chat_result(shapes.render_native(info, gen, body), tool_names=["get_weather"])
    assert [c.id for c in whole.tool_calls] == [c["id"] for c in calls]


def test_usage_mode_header_and_config() -> None:
    body = {"messages": [user("Say hi")], "stream": True}
    _, _, final = app_call(LLAMA, body)
    _, _, per_chunk = app_call(LLAMA, body, **{"x-emulator-usage": "per-chunk"})
    server_wide = EmulatorApp(EmulatorConfig(usage_per_chunk=True))
    _, _, configured = app_send(server_wide, LLAMA, body)
    _, _, overridden = app_send(server_wide, LLAMA, body, **{"x-emulator-usage": "final"})
    status, _, bad = app_call(LLAMA, body, **{"x-emulator-usage": "sometimes"})

    assert [("usage" in e) for e in sse_events(final)].count(True) == 1
    assert all("usage" in e for e in sse_events(per_chunk))
    assert sse_events(configured) == sse_events(per_chunk)
    assert sse_events(overridden) == sse_events(final)
    assert status == 400 and b"x-emulator-usage" in bad


# --- unsupported parameters, dynamic routes, prompt caching ------------------------------------

GLM = "@cf/zai-org/glm-4.7-flash"


@pytest.mark.parametrize(
    ("model", "extra", "status", "code"),
    [
        ("@cf/mistralai/mistral-small-3.1-24b-instruct", {"tool_choice": "auto"}, 400, 5006),
        ("@cf/mistralai/mistral-small-3.1-24b-instruct", {"tool_choice": None}, 200, None),
        (GLM, {"repetition_penalty": 1.1}, 408, 3007),
        (GLM, {"top_k": 5, "tool_choice": "auto"}, 200, None),  # reference: these work on GLM
        (GLM, {"max_tokens": 64}, 200, None),  # ... with null content (next test)
        (LLAMA, {"tool_choice": "auto", "repetition_penalty": 1.1}, 200, None),
    ],
)
def test_unsupported_params_do_what_workers_ai_does(
    model: str, extra: dict[str, Any], status: int, code: int | None
) -> None:
    body = {"messages": [user("Weather in Paris?")], "tools": [WEATHER], **extra}
    for stream in (False, True):
        got, _, payload = app_call(model, {**body, "stream": stream})
        assert got == status, payload
        if code is not None:
            error = json.loads(payload)["errors"][0]
            assert error["code"] == code and next(iter(extra)) in error["message"]


def test_glm_with_max_tokens_answers_null_content() -> None:
    body = {"messages": [user("Why is the sky blue?")], "max_tokens": 512}
    result = tasks.run_model(GLM, body)
    message = result["choices"][0]["message"]
    events = tasks.stream_model(GLM, body)

    assert message["content"] is None and message["reasoning_content"]
    assert result["usage"]["completion_tokens"] == count_tokens(message["reasoning_content"])
    assert not any(e.get("response") for e in events)
    assert tasks.run_model(GLM, {"messages": body["messages"]})["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/client/v4/accounts/a/ai/run/dynamic/my-route", "unknown"),
        ("/client/v4/accounts/a/ai/run/@cf/meta/llama-3.1-8b-instruct", "run"),
        ("/client/v4/accounts/a/ai/run/@cf/acme/dynamic/x", "run"),
    ],
)
def test_dynamic_routes_are_no_run_route(path: str, kind: str) -> None:
    route = match_route("POST", path)
    assert route is not None and route.kind == kind


def test_dynamic_route_answers_7000() -> None:
    status, _, payload = app_call("dynamic/my-route", {"messages": [user("hi")]})
    assert status == 400
    assert json.loads(payload)["errors"] == [{"code": 7000, "message": "No route for that URI"}]


@pytest.mark.parametrize(
    ("first", "second", "cached"),
    [
        ([1, 2, 3], [1, 2, 3], 3),
        ([1, 2, 3], [1, 2, 3, 4, 5], 3),
        ([1, 2, 3, 4], [1, 2, 9, 4], 2),
        ([1, 2], [7, 2], 0),
        ([], [1], 0),
    ],
)
def test_prompt_cache_reports_the_shared_prefix(
    first: list[int], second: list[int], cached: int
) -> None:
    cache = PromptCache()
    assert cache.match("s", first) == 0
    cache.remember("s", first)
    assert cache.match("s", second) == cached
    assert cache.match("other", second) == 0


def test_prompt_cache_forgets_the_least_recently_used_session() -> None:
    cache = PromptCache(max_sessions=2)
    for session in ("a", "b"):
        cache.remember(session, [1])
    cache.match("a", [1])  # a is now the most recent
    cache.remember("c", [1])
    assert (len(cache), cache.match("a", [1]), cache.match("b", [1])) == (2, 1, 0)


def test_prompt_keys_count_the_prompt_tokens_and_follow_the_conversation() -> None:
    turn1 = {"messages": [user("Plan a trip to Rome")], "tools": [WEATHER]}
    turn2 = {
        "messages": [*turn1["messages"], {"role": "assistant", "content": "Sure."}, user("More")],
        "tools": [WEATHER],
    }
    keys1, keys2 = tasks.prompt_keys(LLAMA, turn1), tasks.prompt_keys(LLAMA, turn2)

    assert keys1 is not None and keys2 is not None
    assert len(keys1) == standins.count_prompt_tokens(turn1)
    assert keys2[: len(keys1)] == keys1
    assert tasks.prompt_keys("@cf/baai/bge-small-en-v1.5", {"text": "x"}) is None


def test_session_affinity_reports_cached_prompt_tokens() -> None:
    app = EmulatorApp()
    first = {"messages": [user("Summarise the history of the Hello World program")]}
    longer = {"messages": [*first["messages"], {"role": "assistant", "content": "Ok."}, user("Go")]}
    session = {"x-session-affinity": "s-1"}

    def usage(model: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        status, _, payload = app_send(app, model, body, **headers)
        assert status == 200, payload
        return dict(json.loads(payload)["result"]["usage"])

    assert "prompt_tokens_details" not in usage(LLAMA, first)
    assert usage(LLAMA, first, **session)["prompt_tokens_details"] == {"cached_tokens": 0}
    again = usage(LLAMA, first, **session)
    assert again["prompt_tokens_details"]["cached_tokens"] == again["prompt_tokens"]
    grown = usage(LLAMA, longer, **session)
    assert grown["prompt_tokens_details"]["cached_tokens"] == again["prompt_tokens"]
    assert usage(LLAMA, first, **{"x-session-affinity": "s-2"})["prompt_tokens_details"] == {
        "cached_tokens": 0
    }
    kimi = usage("@cf/moonshotai/kimi-k2.5", first, **session)  # caches are per model
    kimi_again = usage("@cf/moonshotai/kimi-k2.5", first, **session)
    assert kimi["prompt_tokens_details"] == {"cached_tokens": 0}
    assert kimi_again["neurons"] < kimi["neurons"]  # billed at the cached-input rate
    app.state.reset()
    assert usage(LLAMA, first, **session)["prompt_tokens_details"] == {"cached_tokens": 0}


# --- latency: counted from arrival, the emulator's work inside it --------------------------------
@pytest.mark.parametrize(
    ("latency_ms", "work_s", "waited"),
    [(50.0, 0.02, 0.03), (50.0, 0.08, None), (0.0, 0.01, None)],
    ids=["work-within-latency", "work-beyond-latency", "no-latency"],
)
def test_latency_is_waited_out_after_the_answer_is_ready(
    monkeypatch: pytest.MonkeyPatch, latency_ms: float, work_s: float, waited: float | None
) -> None:
    """A burst's answers come at the configured latency: the answer is worked out first and only
    the rest of the latency is waited (a fake clock: the dispatch 'takes' ``work_s``)."""
    from workers_ai.emulator import app as app_module

    now = [1000.0]
    sleeps: list[float] = []
    app = EmulatorApp(EmulatorConfig(latency_ms=latency_ms))
    dispatch = app._gateway_or_dispatch

    async def slow_dispatch(*args: Any, **kwargs: Any) -> Any:
        now[0] += work_s
        return await dispatch(*args, **kwargs)

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(app, "_gateway_or_dispatch", slow_dispatch)
    monkeypatch.setattr(app_module, "_clock", lambda: now[0])
    monkeypatch.setattr(app_module, "_wait", fake_sleep)

    status, _, _ = app_send(app, LLAMA, {"prompt": "Hello"})

    assert status == 200
    assert sleeps == ([] if waited is None else [pytest.approx(waited)])
    assert now[0] - 1000.0 == pytest.approx(max(latency_ms / 1000, work_s))
