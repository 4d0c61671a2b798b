"""Unit tests for the emulator's stand-in models: generation, rendering, validation, tasks.

Every rendered shape is fed back through the client's own normaliser
(:func:`workers_ai.chat.normalize_chat_result`) and stream accumulator
(:class:`workers_ai.streaming.ChatStreamAccumulator`): what the emulator says must be what a
client reads. Wire shapes follow /work/shared/workers-ai-api.md (§2b, §3, §4, §6-§9).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pytest

from workers_ai import catalog
from workers_ai.chat import normalize_chat_result
from workers_ai.emulator import shapes, standins, tasks
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
    assert last == {"response": "", "usage": {**usage, "total_tokens": prompt + len(text_events)}}


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
    ("no_stand_in", "@cf/openai/whisper", {"audio": [1, 2]}, ("Automatic Speech Recognition",)),
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
