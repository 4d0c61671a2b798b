"""Unit tests for workers_ai.tools: tool-call parsing, text tool calls, coercion, tool schemas.

Fixture sources: "spec" is /work/shared/workers-ai-api.md; "chat.ipynb cell N" is
reference/real-responses/langchain-cloudflare/docs/chat.ipynb.outputs.json (real API output
of @cf/meta/llama-3.3-70b-instruct-fp8-fast as seen through langchain-cloudflare).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.real_captures import LLAMA33_ARGUMENTS
from workers_ai.errors import InvalidRequestError
from workers_ai.tools import (
    coerce_arguments,
    parse_text_tool_calls,
    parse_tool_call,
    parse_tool_calls,
    synthesize_tool_call_id,
    tool_choice_to_wire,
    tool_to_wire,
)

SYNTH_ID = re.compile(r"call_[0-9a-f]{24}")

# ---------------------------------------------------------------------------------------------
# synthesize_tool_call_id
# ---------------------------------------------------------------------------------------------


def test_synthesized_id_is_stable_and_well_formed() -> None:
    first = synthesize_tool_call_id("get_weather", '{"city": "Paris"}', 0)
    assert first == synthesize_tool_call_id("get_weather", '{"city": "Paris"}', 0)
    assert SYNTH_ID.fullmatch(first)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("get_weather", "{}", 0), ("get_weather", "{}", 1)),  # same call twice in one message
        (("get_weather", "{}", 0), ("get_time", "{}", 0)),
        (("get_weather", '{"city": "Paris"}', 0), ("get_weather", '{"city": "Rome"}', 0)),
        (("ab", "c", 0), ("a", "bc", 0)),  # field boundaries matter
    ],
)
def test_synthesized_ids_differ_when_calls_differ(
    a: tuple[str, str, int], b: tuple[str, str, int]
) -> None:
    assert synthesize_tool_call_id(*a) != synthesize_tool_call_id(*b)


# ---------------------------------------------------------------------------------------------
# parse_tool_call: valid shapes
# ---------------------------------------------------------------------------------------------

VALID_CALLS: list[tuple[str, dict[str, Any], str | None, str, dict[str, Any], str]] = [
    # (case, raw, expected id (None = synthesized), name, arguments, raw_arguments)
    (
        # spec §4 "Legacy/classic (llama-3.3, hermes, qwq)": arguments object, no id
        "legacy_object_no_id",
        {"name": "getWeather", "arguments": {"latitude": "51.5", "longitude": "-0.12"}},
        None,
        "getWeather",
        {"latitude": "51.5", "longitude": "-0.12"},
        '{"latitude": "51.5", "longitude": "-0.12"}',
    ),
    (
        # spec §4 llama-4-scout: {id, type, function: {name, arguments: {...}}} (object args)
        "llama4_scout_object_args",
        {
            "id": "chatcmpl-tool-9f2",
            "type": "function",
            "function": {"name": "get_weather", "arguments": {"location": "London"}},
        },
        "chatcmpl-tool-9f2",
        "get_weather",
        {"location": "London"},
        '{"location": "London"}',
    ),
    (
        # spec §4 chat-completion models: arguments is a JSON string, kept verbatim
        "openai_string_args",
        {
            "id": "chatcmpl-tool-abc",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location":"London"}'},
        },
        "chatcmpl-tool-abc",
        "get_weather",
        {"location": "London"},
        '{"location":"London"}',
    ),
    (
        # spec §3 native streamed tool call event (carries "index")
        "native_stream_form",
        {
            "id": "call123",
            "type": "function",
            "index": 0,
            "function": {"name": "get_weather", "arguments": '{"location": "London"}'},
        },
        "call123",
        "get_weather",
        {"location": "London"},
        '{"location": "London"}',
    ),
    (
        # spec §4 quirk: langchain-cloudflare embeds {"name", "parameters"} for llama multi-turn
        "parameters_instead_of_arguments",
        {"name": "get_weather", "parameters": {"city": "Paris"}},
        None,
        "get_weather",
        {"city": "Paris"},
        '{"city": "Paris"}',
    ),
    (
        # spec §2b Responses function_call item: call_id (not the fc_ item id) answers the call
        "responses_function_call",
        {
            "type": "function_call",
            "id": "fc_01",
            "call_id": "call_XYZ",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        "call_XYZ",
        "get_weather",
        {"city": "Paris"},
        '{"city": "Paris"}',
    ),
    # brief: arguments None / "" mean {} (zero-argument tools)
    ("arguments_none", {"name": "get_time", "arguments": None}, None, "get_time", {}, "{}"),
    ("arguments_empty_string", {"name": "get_time", "arguments": ""}, None, "get_time", {}, "{}"),
    ("arguments_missing", {"name": "get_time"}, None, "get_time", {}, "{}"),
    ("arguments_json_null", {"name": "get_time", "arguments": "null"}, None, "get_time", {}, "{}"),
    (
        # non-ASCII must survive raw_arguments (ensure_ascii=False)
        "non_ascii_object_args",
        {"name": "translate", "arguments": {"text": "café → naïve"}},
        None,
        "translate",
        {"text": "café → naïve"},
        '{"text": "café → naïve"}',
    ),
    (
        # double-encoded JSON string seen from some OpenAI-compatible backends
        "double_encoded_string",
        {"id": "c1", "function": {"name": "f", "arguments": json.dumps('{"a": 1}')}},
        "c1",
        "f",
        {"a": 1},
        json.dumps('{"a": 1}'),
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected_id", "name", "arguments", "raw_arguments"),
    [case[1:] for case in VALID_CALLS],
    ids=[case[0] for case in VALID_CALLS],
)
def test_parse_tool_call_accepts_every_documented_shape(
    raw: dict[str, Any],
    expected_id: str | None,
    name: str,
    arguments: dict[str, Any],
    raw_arguments: str,
) -> None:
    call = parse_tool_call(raw, 0)
    assert call.is_valid, call.error
    assert call.name == name
    assert call.arguments == arguments
    assert call.raw_arguments == raw_arguments
    if expected_id is None:
        assert SYNTH_ID.fullmatch(call.id)
        assert call.id == synthesize_tool_call_id(name, raw_arguments, 0)
    else:
        assert call.id == expected_id


def test_parse_tool_call_does_not_share_the_wire_dict() -> None:
    raw = {"name": "f", "arguments": {"a": 1}}  # spec §4 legacy shape
    call = parse_tool_call(raw, 0)
    assert call.arguments is not raw["arguments"]


# ---------------------------------------------------------------------------------------------
# parse_tool_call: invalid calls are kept, never dropped
# ---------------------------------------------------------------------------------------------

INVALID_CALLS: list[tuple[str, Any, str, str, str]] = [
    # (case, raw, name, raw_arguments, error fragment)
    (
        # chat-completion call cut off by max_tokens mid-arguments (spec §4 string form)
        "truncated_json",
        {"id": "t1", "function": {"name": "get_weather", "arguments": '{"location": "Lon'}},
        "get_weather",
        '{"location": "Lon',
        "not valid JSON",
    ),
    (
        "json_array_string",
        {"id": "t2", "function": {"name": "f", "arguments": "[1, 2]"}},
        "f",
        "[1, 2]",
        "JSON object",
    ),
    (
        "json_number_string",
        {"id": "t3", "function": {"name": "f", "arguments": "42"}},
        "f",
        "42",
        "JSON object",
    ),
    ("array_object", {"name": "f", "arguments": [1, 2]}, "f", "[1, 2]", "JSON object"),
    ("no_name", {"arguments": {"a": 1}}, "", '{"a": 1}', "no function name"),
    ("not_an_object", "get_weather()", "", '"get_weather()"', "must be a JSON object"),
    (
        # Python refuses to read integers of more than 4,300 digits (ValueError, not a crash)
        "integer_past_python_digit_limit",
        {"id": "t4", "function": {"name": "f", "arguments": '{"n": ' + "9" * 5000 + "}"}},
        "f",
        '{"n": ' + "9" * 5000 + "}",
        "not valid JSON",
    ),
]


@pytest.mark.parametrize(
    ("raw", "name", "raw_arguments", "error_fragment"),
    [case[1:] for case in INVALID_CALLS],
    ids=[case[0] for case in INVALID_CALLS],
)
def test_parse_tool_call_keeps_unparseable_calls_with_a_reason(
    raw: Any, name: str, raw_arguments: str, error_fragment: str
) -> None:
    call = parse_tool_call(raw, 3)
    assert not call.is_valid
    assert call.arguments is None
    assert call.name == name
    assert call.raw_arguments == raw_arguments
    assert call.error is not None and error_fragment in call.error
    assert call.id  # always addressable


def test_parse_tool_calls_splits_valid_and_invalid_in_order() -> None:
    raw_list = [
        {"name": "a", "arguments": {"x": 1}},  # spec §4 legacy
        {"id": "bad", "function": {"name": "b", "arguments": "{oops"}},  # broken string args
        {"id": "c", "type": "function", "function": {"name": "c", "arguments": "{}"}},
        {"id": "bad2", "function": {"name": "d", "arguments": "[]"}},
    ]
    valid, invalid = parse_tool_calls(raw_list)
    assert [c.name for c in valid] == ["a", "c"]
    assert [c.name for c in invalid] == ["b", "d"]
    assert [c.id for c in invalid] == ["bad", "bad2"]


def test_parse_tool_calls_gives_identical_calls_distinct_ids() -> None:
    # A model calling the same tool twice with the same arguments (parallel calls, no ids).
    same = {"name": "roll_die", "arguments": {}}
    valid, _ = parse_tool_calls([same, same])
    assert len({c.id for c in valid}) == 2


@pytest.mark.parametrize(
    ("raw_list", "valid_names"),
    [(None, []), ([], []), ({"name": "solo", "arguments": {}}, ["solo"])],
    ids=["none", "empty", "single_object"],
)
def test_parse_tool_calls_tolerates_none_and_a_lone_object(
    raw_list: Any, valid_names: list[str]
) -> None:
    valid, invalid = parse_tool_calls(raw_list)
    assert [c.name for c in valid] == valid_names
    assert invalid == []


# ---------------------------------------------------------------------------------------------
# parse_text_tool_calls
# ---------------------------------------------------------------------------------------------

TOOLS = ["get_weather", "get_time"]
WEATHER = '{"name": "get_weather", "parameters": {"city": "Paris"}}'

TEXT_CALLS: list[tuple[str, str, list[tuple[str, dict[str, Any]]]]] = [
    # (case, text, [(name, arguments)]) - spec §3/§4: classic llama writes calls as JSON text
    ("parameters_key", WEATHER, [("get_weather", {"city": "Paris"})]),
    (
        "arguments_key",
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        [("get_weather", {"city": "Paris"})],
    ),
    ("surrounding_whitespace", f"\n\n  {WEATHER}  \n", [("get_weather", {"city": "Paris"})]),
    ("python_tag_prefix", f"<|python_tag|>{WEATHER}", [("get_weather", {"city": "Paris"})]),
    ("json_fence", f"```json\n{WEATHER}\n```", [("get_weather", {"city": "Paris"})]),
    ("bare_fence", f"```\n{WEATHER}\n```", [("get_weather", {"city": "Paris"})]),
    # hermes-2-pro style tags, one or several
    (
        "tool_call_tags",
        f"<tool_call>\n{WEATHER}\n</tool_call>",
        [("get_weather", {"city": "Paris"})],
    ),
    (
        "two_tool_call_tags",
        f'<tool_call>{WEATHER}</tool_call>\n<tool_call>{{"name": "get_time", '
        '"arguments": {}}</tool_call>',
        [("get_weather", {"city": "Paris"}), ("get_time", {})],
    ),
    ("unclosed_tool_call_tag", f"<tool_call>\n{WEATHER}", [("get_weather", {"city": "Paris"})]),
    (
        "json_list",
        f'[{WEATHER}, {{"name": "get_time", "parameters": {{"tz": "UTC"}}}}]',
        [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "UTC"})],
    ),
    (
        # llama 3.2 emits several calls separated by ';'
        "semicolon_separated",
        f'{WEATHER}; {{"name": "get_time", "parameters": {{}}}}',
        [("get_weather", {"city": "Paris"}), ("get_time", {})],
    ),
    (
        "type_function_flat",
        '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}',
        [("get_weather", {"city": "Paris"})],
    ),
    (
        "type_function_without_arguments",
        '{"type": "function", "name": "get_time"}',
        [("get_time", {})],
    ),
    (
        "type_function_nested",
        '{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}',
        [("get_weather", {"city": "Oslo"})],
    ),
    (
        "arguments_as_json_string",
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}',
        [("get_weather", {"city": "Paris"})],
    ),
    (
        # Llama 3.1 custom-tool format
        "llama31_function_tag",
        '<function=get_weather>{"city": "Paris"}</function>',
        [("get_weather", {"city": "Paris"})],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in TEXT_CALLS],
    ids=[case[0] for case in TEXT_CALLS],
)
def test_parse_text_tool_calls_recognises_json_calls(
    text: str, expected: list[tuple[str, dict[str, Any]]]
) -> None:
    calls = parse_text_tool_calls(text, TOOLS)
    assert calls is not None
    assert [(c.name, c.arguments) for c in calls] == expected
    assert all(c.is_valid and SYNTH_ID.fullmatch(c.id) for c in calls)
    assert len({c.id for c in calls}) == len(calls)


NOT_TEXT_CALLS: list[tuple[str, str, Any]] = [
    # (case, text, tool_names) - ordinary answers must never become tool calls
    ("prose", "The weather in Paris is sunny.", TOOLS),
    ("prose_mentioning_tool", "I would call get_weather with city Paris.", TOOLS),
    ("unknown_tool_name", '{"name": "delete_everything", "parameters": {}}', TOOLS),
    # spec §2 JSON mode example answer: a JSON object with a "name" key, not a tool
    ("json_mode_answer", '{"name": "India", "capital": "New Delhi"}', TOOLS),
    ("extra_keys", '{"name": "get_weather", "arguments": {}, "confidence": 0.9}', TOOLS),
    ("name_only_no_arguments", '{"name": "get_weather"}', TOOLS),
    ("prose_before_json", f"Sure! {WEATHER}", TOOLS),
    ("prose_after_json", f"{WEATHER} Let me know!", TOOLS),
    ("list_with_unknown_tool", f'[{WEATHER}, {{"name": "nope", "parameters": {{}}}}]', TOOLS),
    ("empty_list", "[]", TOOLS),
    ("json_array_of_numbers", "[1, 2, 3]", TOOLS),
    ("arguments_not_object_or_string", '{"name": "get_weather", "arguments": 5}', TOOLS),
    ("no_tools_offered", WEATHER, []),
    ("empty_text", "", TOOLS),
    ("whitespace_text", "  \n ", TOOLS),
    ("tool_call_tag_then_prose", f"<tool_call>{WEATHER}</tool_call> and more", TOOLS),
    ("function_tag_unknown", '<function=nope>{"a": 1}</function>', TOOLS),
    ("truncated_json", '{"name": "get_weather", "parameters": {"city": "Pa', TOOLS),
    (
        "integer_past_python_digit_limit",
        '{"name": "get_weather", "parameters": {"n": ' + "9" * 5000 + "}}",
        TOOLS,
    ),
    # a str passed as tool_names must not match by substring ("get_weather" in "get_weathers")
    ("tool_names_is_a_string", WEATHER, "get_weathers"),
]


@pytest.mark.parametrize(
    ("text", "tool_names"),
    [case[1:] for case in NOT_TEXT_CALLS],
    ids=[case[0] for case in NOT_TEXT_CALLS],
)
def test_parse_text_tool_calls_leaves_ordinary_text_alone(text: str, tool_names: Any) -> None:
    assert parse_text_tool_calls(text, tool_names) is None


def test_parse_text_tool_calls_keeps_broken_argument_strings_as_invalid() -> None:
    calls = parse_text_tool_calls('{"name": "get_weather", "arguments": "{city: Paris}"}', TOOLS)
    assert calls is not None and len(calls) == 1
    assert not calls[0].is_valid
    assert calls[0].raw_arguments == "{city: Paris}"


@given(st.text(max_size=200))
def test_parse_text_tool_calls_never_raises_and_only_returns_known_tools(text: str) -> None:
    calls = parse_text_tool_calls(text, TOOLS)
    assert calls is None or all(c.name in TOOLS for c in calls)


# ---------------------------------------------------------------------------------------------
# coerce_arguments
# ---------------------------------------------------------------------------------------------

# chat.ipynb cell 15: with_structured_output(joke schema) - "rating" declared integer came back "8"
JOKE_SCHEMA = {
    "type": "object",
    "properties": {
        "setup": {"type": "string", "description": "The setup of the joke"},
        "punchline": {"type": "string", "description": "The punchline to the joke"},
        "rating": {"type": "integer", "description": "How funny the joke is, from 1 to 10"},
    },
    "required": ["setup", "punchline"],
}
# chat.ipynb cell 17: validate_user(user_id: int, addresses: List[str]) as langchain builds it
VALIDATE_USER_SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": "integer"},
        "addresses": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["user_id", "addresses"],
}
# pydantic v2 model_json_schema() of a model with a nested model, an enum and Optional fields
PYDANTIC_V2_SCHEMA = {
    "$defs": {
        "Address": {
            "properties": {
                "street": {"title": "Street", "type": "string"},
                "zip": {"title": "Zip", "type": "string"},
                "floor": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            },
            "required": ["street", "zip"],
            "title": "Address",
            "type": "object",
        },
        "Unit": {"enum": [1, 2, 3], "title": "Unit", "type": "integer"},
    },
    "properties": {
        "address": {"$ref": "#/$defs/Address"},
        "unit": {"$ref": "#/$defs/Unit", "description": "unit code"},
        "tags": {"anyOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "null"}]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "count": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
    },
    "required": ["address", "unit"],
    "title": "Order",
    "type": "object",
}
# pydantic v1 schema(): "definitions" and allOf-wrapped $ref
PYDANTIC_V1_SCHEMA = {
    "title": "Req",
    "type": "object",
    "properties": {"point": {"allOf": [{"$ref": "#/definitions/Point"}], "description": "p"}},
    "definitions": {
        "Point": {
            "title": "Point",
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
        }
    },
}


def _props(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


COERCIONS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (case, schema, arguments, expected)
    (
        "chat_ipynb_cell15_rating_string_for_integer",
        JOKE_SCHEMA,
        {
            "setup": "Why did the cat join a band?",
            "punchline": "Because it wanted to be the purr-cussionist",
            "rating": "8",
        },
        {
            "setup": "Why did the cat join a band?",
            "punchline": "Because it wanted to be the purr-cussionist",
            "rating": 8,
        },
    ),
    (
        "chat_ipynb_cell17_int_and_json_array_strings",
        VALIDATE_USER_SCHEMA,
        {
            "user_id": "123",
            "addresses": '["123 Fake St in Boston MA", "234 Pretend Boulevard in Houston TX"]',
        },
        {
            "user_id": 123,
            "addresses": ["123 Fake St in Boston MA", "234 Pretend Boulevard in Houston TX"],
        },
    ),
    ("negative_integer", _props(n={"type": "integer"}), {"n": "-5"}, {"n": -5}),
    ("integer_from_fraction_stays", _props(n={"type": "integer"}), {"n": "12.5"}, {"n": "12.5"}),
    ("integer_from_12_0_stays", _props(n={"type": "integer"}), {"n": "12.0"}, {"n": "12.0"}),
    ("leading_zero_stays", _props(n={"type": "integer"}), {"n": "007"}, {"n": "007"}),
    ("padded_integer_stays", _props(n={"type": "integer"}), {"n": " 5"}, {"n": " 5"}),
    ("plus_sign_stays", _props(n={"type": "integer"}), {"n": "+5"}, {"n": "+5"}),
    ("underscore_integer_stays", _props(n={"type": "integer"}), {"n": "1_000"}, {"n": "1_000"}),
    ("word_for_integer_stays", _props(n={"type": "integer"}), {"n": "eight"}, {"n": "eight"}),
    ("number_from_decimal", _props(x={"type": "number"}), {"x": "1.5"}, {"x": 1.5}),
    ("number_from_integer_literal", _props(x={"type": "number"}), {"x": "2"}, {"x": 2}),
    ("number_from_exponent", _props(x={"type": "number"}), {"x": "-2.5e3"}, {"x": -2500.0}),
    ("number_nan_stays", _props(x={"type": "number"}), {"x": "NaN"}, {"x": "NaN"}),
    ("number_overflow_stays", _props(x={"type": "number"}), {"x": "1e999"}, {"x": "1e999"}),
    ("boolean_true", _props(b={"type": "boolean"}), {"b": "true"}, {"b": True}),
    ("boolean_false", _props(b={"type": "boolean"}), {"b": "false"}, {"b": False}),
    ("boolean_python_repr", _props(b={"type": "boolean"}), {"b": "False"}, {"b": False}),
    ("boolean_yes_stays", _props(b={"type": "boolean"}), {"b": "yes"}, {"b": "yes"}),
    ("null_type", _props(z={"type": "null"}), {"z": "null"}, {"z": None}),
    ("type_list_int_or_null", _props(n={"type": ["integer", "null"]}), {"n": "3"}, {"n": 3}),
    (
        "type_list_string_wins_over_int",
        _props(n={"type": ["integer", "string"]}),
        {"n": "3"},
        {"n": "3"},
    ),
    (
        "object_from_json_string_then_nested",
        _props(o={"type": "object", "properties": {"a": {"type": "integer"}}}),
        {"o": '{"a": "1", "b": "2"}'},
        {"o": {"a": 1, "b": "2"}},
    ),
    (
        "object_string_that_is_not_json_stays",
        _props(o={"type": "object"}),
        {"o": "{not json"},
        {"o": "{not json"},
    ),
    (
        "array_string_of_object_for_array_stays",
        _props(a={"type": "array"}),
        {"a": '{"x": 1}'},
        {"a": '{"x": 1}'},
    ),
    (
        "array_items",
        _props(a={"type": "array", "items": {"type": "integer"}}),
        {"a": ["1", "2", "x"]},
        {"a": [1, 2, "x"]},
    ),
    (
        "prefix_items",
        _props(a={"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]}),
        {"a": ["1", "true", "extra"]},
        {"a": [1, True, "extra"]},
    ),
    (
        "additional_properties_schema",
        {"type": "object", "additionalProperties": {"type": "number"}},
        {"a": "1.25", "b": "x"},
        {"a": 1.25, "b": "x"},
    ),
    (
        "plain_int_for_string_becomes_string",
        _props(zip={"type": "string"}),
        {"zip": 94103},
        {"zip": "94103"},
    ),
    ("bool_for_string_stays", _props(s={"type": "string"}), {"s": True}, {"s": True}),
    ("float_for_string_stays", _props(s={"type": "string"}), {"s": 1.5}, {"s": 1.5}),
    ("enum_without_type", _props(u={"enum": [1, 2, 3]}), {"u": "2"}, {"u": 2}),
    ("const_without_type", _props(k={"const": True}), {"k": "true"}, {"k": True}),
    ("unknown_keys_untouched", _props(n={"type": "integer"}), {"other": "1"}, {"other": "1"}),
    (
        "pydantic_v2_ref_and_optionals",
        PYDANTIC_V2_SCHEMA,
        {
            "address": {"street": "Main", "zip": "02134", "floor": "3"},
            "unit": "2",
            "tags": '["a", "b"]',
            "note": "null",  # Optional[str]: the text "null" is a valid string, kept
            "count": "null",  # Optional[int]: "null" can only mean None
        },
        {
            "address": {"street": "Main", "zip": "02134", "floor": 3},
            "unit": 2,
            "tags": ["a", "b"],
            "note": "null",
            "count": None,
        },
    ),
    (
        "pydantic_v2_nested_object_as_json_string",
        PYDANTIC_V2_SCHEMA,
        {"address": '{"street": "Main", "zip": 2134}', "unit": 1},
        {"address": {"street": "Main", "zip": "2134"}, "unit": 1},
    ),
    (
        "pydantic_v1_definitions_and_allof",
        PYDANTIC_V1_SCHEMA,
        {"point": {"x": "1.5", "y": "2"}},
        {"point": {"x": 1.5, "y": 2}},
    ),
]


@pytest.mark.parametrize(
    ("schema", "arguments", "expected"),
    [case[1:] for case in COERCIONS],
    ids=[case[0] for case in COERCIONS],
)
def test_coerce_arguments(
    schema: dict[str, Any], arguments: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = copy.deepcopy(arguments)
    result = coerce_arguments(arguments, schema)
    # json.dumps tells 1, 1.0, True and "1" apart, which == does not
    assert json.dumps(result, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert arguments == before  # input not mutated


@pytest.mark.parametrize(
    "schema",
    [
        None,
        {},
        {"type": "object", "properties": ["not", "a", "mapping"]},
        {"type": "object", "properties": {"n": {"$ref": "#/$defs/Missing"}}},
        {"type": "object", "properties": {"n": {"$ref": "https://example.com/remote.json"}}},
        {"$defs": {"A": {"$ref": "#/$defs/A"}}, "properties": {"n": {"$ref": "#/$defs/A"}}},
        {
            "$defs": {"N": {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}}},
            "properties": {"n": {"$ref": "#/$defs/N"}},
        },
        {"type": "object", "properties": {"n": {"anyOf": "junk"}}},
        {"type": "object", "properties": {"n": {"type": 7}}},
    ],
    ids=[
        "none",
        "empty",
        "properties_list",
        "dangling_ref",
        "remote_ref",
        "self_ref_loop",
        "recursive_model",
        "anyof_junk",
        "type_junk",
    ],
)
def test_coerce_arguments_never_raises_on_odd_schemas(schema: Any) -> None:
    arguments = {"n": {"n": {"n": "1"}}, "m": "2"}
    result = coerce_arguments(arguments, schema)
    assert isinstance(result, dict)
    assert set(result) == {"n", "m"}
    assert result is not arguments


def test_coerce_arguments_returns_an_independent_copy() -> None:
    arguments = {"tags": ["a"], "meta": {"k": "v"}}
    result = coerce_arguments(arguments, None)
    result["tags"].append("b")
    result["meta"]["k"] = "changed"
    assert arguments == {"tags": ["a"], "meta": {"k": "v"}}


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _schema_describing(value: Any) -> dict[str, Any]:
    """A schema that the value already satisfies exactly."""
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {k: _schema_describing(v) for k, v in value.items()},
        }
    if isinstance(value, list):
        return {"type": "array", "prefixItems": [_schema_describing(v) for v in value]}
    names = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string"}
    return {"type": names[type(value)]}


@given(st.dictionaries(st.text(max_size=6), _json_values, max_size=5))
def test_coerce_arguments_is_identity_on_valid_data(arguments: dict[str, Any]) -> None:
    result = coerce_arguments(arguments, _schema_describing(arguments))
    assert json.dumps(result, sort_keys=True) == json.dumps(arguments, sort_keys=True)


_STRINGY_SCHEMA = _props(
    i={"type": "integer"},
    f={"type": "number"},
    b={"type": "boolean"},
    a={"type": "array", "items": {"type": "integer"}},
    o={"anyOf": [{"type": "integer"}, {"type": "null"}]},
)


@given(st.fixed_dictionaries({k: st.text(max_size=10) for k in "ifbao"}))
def test_coerce_arguments_is_idempotent_and_never_raises(arguments: dict[str, Any]) -> None:
    once = coerce_arguments(arguments, _STRINGY_SCHEMA)
    twice = coerce_arguments(once, _STRINGY_SCHEMA)
    assert json.dumps(once, sort_keys=True) == json.dumps(twice, sort_keys=True)


@given(st.integers())
def test_coerce_arguments_round_trips_every_integer_string(number: int) -> None:
    assert coerce_arguments({"n": str(number)}, _props(n={"type": "integer"})) == {"n": number}


# Python-literal strings for arrays and objects ------------------------------------------------

LLAMA33_SCORE_JOB_FIT_ARGS = LLAMA33_ARGUMENTS  # tests/real_captures.py: real llama-3.3 output
_STRINGS = {"type": "array", "items": {"type": "string"}}
# The same capture's schema_types: integer, string and array[string] properties.
SCORE_JOB_FIT_SCHEMA = _props(
    company={"type": "string"},
    domainFit={"type": "integer"},
    experienceFit={"type": "integer"},
    gaps=_STRINGS,
    jobDescription={"type": "string"},
    jobTitle={"type": "string"},
    reasoning={"type": "string"},
    skillsFit={"type": "integer"},
    strengths=_STRINGS,
    trajectoryFit={"type": "integer"},
)
_INTS = {"type": "array", "items": {"type": "integer"}}
_OBJECT = {"type": "object", "properties": {"n": {"type": "integer"}}}
_DEEP = "[" * 1000 + "]" * 1000
# Not JSON (single quotes); CPython's own parser would accept these 150 levels.
_DEEP_UNDER_PARSER_LIMIT = "[" * 150 + "'x'" + "]" * 150
_LONG = "[" + ", ".join(["'x'"] * 30_000) + "]"  # a valid literal of 149,995 characters

LITERALS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (case, schema, arguments, expected)
    (
        "llama33_capture_ints_and_python_lists",
        SCORE_JOB_FIT_SCHEMA,
        LLAMA33_SCORE_JOB_FIT_ARGS,
        {
            **LLAMA33_SCORE_JOB_FIT_ARGS,
            "domainFit": 85,
            "experienceFit": 80,
            "gaps": ["Kubernetes", "Docker"],
            "skillsFit": 85,
            "strengths": ["TypeScript", "Cloudflare Workers"],
            "trajectoryFit": 80,
        },
    ),
    ("items_coerced_after_literal", _props(a=_INTS), {"a": "['1', '2']"}, {"a": [1, 2]}),
    (
        "nested_literal",
        _props(a={"type": "array", "items": _INTS}),
        {"a": "[['1', 2], [], [3, '4']]"},
        {"a": [[1, 2], [], [3, 4]]},
    ),
    ("tuple_becomes_list", _props(a=_STRINGS), {"a": "('a', 'b')"}, {"a": ["a", "b"]}),
    (
        "nested_tuple_becomes_list",
        _props(a={"type": "array"}),
        {"a": "[(1, 'x'), (None, True)]"},
        {"a": [[1, "x"], [None, True]]},
    ),
    (
        "dict_literal_for_object",
        _props(o=_OBJECT),
        {"o": "{'n': '3', 'tags': ('a',), 'ok': False, 'x': 1.5}"},
        {"o": {"n": 3, "tags": ["a"], "ok": False, "x": 1.5}},
    ),
    (
        "optional_list_literal",
        _props(a={"anyOf": [_STRINGS, {"type": "null"}]}),
        {"a": "['only']"},
        {"a": ["only"]},
    ),
    (
        "quotes_and_brackets_inside_strings",
        _props(a=_STRINGS),
        {"a": """['it\\'s [x]', "(y", '''z]]''']"""},
        {"a": ["it's [x]", "(y", "z]]"]},
    ),
    ("list_literal_for_object_stays", _props(o=_OBJECT), {"o": "['a']"}, {"o": "['a']"}),
    ("dict_literal_for_array_stays", _props(a=_STRINGS), {"a": "{'a': 1}"}, {"a": "{'a': 1}"}),
    ("parenthesised_string_stays", _props(a=_STRINGS), {"a": "('a')"}, {"a": "('a')"}),
    ("literal_for_string_stays", _props(s={"type": "string"}), {"s": "['a']"}, {"s": "['a']"}),
]
# Hostile or non-plain strings for an array / object: left as they are, never raising.
UNCHANGED_LITERALS: list[tuple[str, str, str]] = [
    # (case, wanted type, text)
    ("very_long", "array", _LONG),
    ("deeply_nested", "array", _DEEP),
    ("nested_past_our_bound", "array", _DEEP_UNDER_PARSER_LIMIT),
    ("deep_behind_brackets_in_a_string", "array", "[']]]]]]', " + _DEEP + "]"),
    ("import_call", "array", "__import__('os')"),
    ("import_call_in_list", "array", "[__import__('os').system('true')]"),
    ("name_in_list", "array", "[1, foo]"),
    ("attribute_in_list", "array", "[().__class__]"),
    ("non_string_keys", "object", "{1: 2}"),
    ("non_string_keys_nested", "array", "[{'a': {1: 2}}]"),
    ("tuple_key", "object", "{(1, 2): 'x'}"),
    ("json_infinity", "array", "[1e999]"),
    ("json_nan", "array", "[NaN, Infinity]"),
    ("json_huge_integer", "array", "[" + "9" * 5000 + "]"),
    ("infinity", "array", "['x', 1e999]"),
    ("minus_infinity", "object", "{'x': -1e999}"),
    ("nan_call", "array", "[float('nan')]"),
    ("set", "array", "[{1, 2}]"),
    ("set_for_object", "object", "{1, 2}"),
    ("bytes", "array", "[b'x']"),
    ("complex", "array", "[1+2j]"),
    ("ellipsis", "array", "[...]"),
    ("huge_integer", "array", "['x', " + "9" * 5000 + "]"),
    ("null_byte", "array", "['a\x00', 'b']"),
    ("unclosed", "array", "['a', 'b'"),
    ("unclosed_triple_quote", "array", "['''" + "x" * 1000),
    ("lambda", "array", "[lambda: 1]"),
    ("comprehension", "array", "[x for x in 'ab']"),
    ("operator", "array", "['a' * 10]"),
]


@pytest.mark.parametrize(
    ("schema", "arguments", "expected"),
    [case[1:] for case in LITERALS],
    ids=[case[0] for case in LITERALS],
)
def test_coerce_arguments_reads_python_literals(
    schema: dict[str, Any], arguments: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Python-literal lists/dicts become lists/dicts, then their items are coerced.

    Source of the first case: reference/real-responses/dropin-captures.json
    ("llama33_tool_args_as_strings", real @cf/meta/llama-3.3-70b-instruct-fp8-fast output).
    """
    before = copy.deepcopy(arguments)
    result = coerce_arguments(arguments, schema)
    assert json.dumps(result, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert arguments == before


@pytest.mark.parametrize(
    ("json_type", "text"),
    [case[1:] for case in UNCHANGED_LITERALS],
    ids=[case[0] for case in UNCHANGED_LITERALS],
)
def test_coerce_arguments_leaves_unsafe_or_non_plain_literals_alone(
    json_type: str, text: str
) -> None:
    """Hostile, oversized or non-JSON literals stay text; the other arguments are still coerced.

    (``n`` becoming 1 shows the literal was refused, not that coercion gave up on everything.)
    """
    schema = _props(
        v={"type": json_type},
        w={"anyOf": [{"type": json_type}, {"type": "null"}]},
        n={"type": "integer"},
    )
    result = coerce_arguments({"v": text, "w": text, "n": "1"}, schema)
    assert result == {"v": text, "w": text, "n": 1}


# ---------------------------------------------------------------------------------------------
# tool_to_wire
# ---------------------------------------------------------------------------------------------

# spec §4, both accepted tools item shapes (llama-3.3 schema)
LEGACY_TOOL = {
    "name": "getWeather",
    "description": "Return the weather for a lat/long",
    "parameters": {
        "type": "object",
        "properties": {"latitude": {"type": "string", "description": "lat"}},
        "required": ["latitude"],
    },
}
OPENAI_TOOL = {"type": "function", "function": LEGACY_TOOL}


@pytest.mark.parametrize(
    ("tool", "style", "expected"),
    [
        (LEGACY_TOOL, "openai", OPENAI_TOOL),
        (OPENAI_TOOL, "legacy", LEGACY_TOOL),
        (LEGACY_TOOL, "legacy", LEGACY_TOOL),
        (OPENAI_TOOL, "openai", OPENAI_TOOL),
    ],
    ids=["bare_to_openai", "openai_to_bare", "bare_to_bare", "openai_to_openai"],
)
def test_tool_to_wire_converts_between_documented_shapes(
    tool: dict[str, Any], style: Any, expected: dict[str, Any]
) -> None:
    assert tool_to_wire(tool, style=style) == expected


def test_tool_to_wire_does_not_mutate_or_share_the_input() -> None:
    tool = {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}
    before = copy.deepcopy(tool)
    wire = tool_to_wire(tool, style="legacy")
    wire["parameters"]["properties"]["a"]["type"] = "integer"
    assert tool == before


def _legacy_prop(prop: dict[str, Any], **extra: Any) -> dict[str, Any]:
    tool = {"name": "t", "parameters": {"type": "object", "properties": {"p": prop}, **extra}}
    result: dict[str, Any] = tool_to_wire(tool, style="legacy")["parameters"]["properties"]["p"]
    return result


@pytest.mark.parametrize(
    ("prop", "extra", "expected_type"),
    [
        ({"type": "integer", "description": "d"}, {}, "integer"),
        ({"type": ["string", "null"]}, {}, "string"),  # JSON Schema nullable type list
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, {}, "integer"),  # pydantic Optional
        ({"anyOf": [{"type": "integer"}, {"type": "number"}]}, {}, "number"),
        ({"enum": ["celsius", "fahrenheit"]}, {}, "string"),
        ({"const": 3}, {}, "integer"),
        ({"properties": {"x": {"type": "string"}}}, {}, "object"),
        ({"items": {"type": "string"}}, {}, "array"),
        # pydantic v2 enum field: {"$ref": "#/$defs/Unit"} with the enum under $defs
        (
            {"$ref": "#/$defs/Unit"},
            {"$defs": {"Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"}}},
            "string",
        ),
        (
            {"anyOf": [{"$ref": "#/$defs/Addr"}, {"type": "null"}]},
            {"$defs": {"Addr": {"type": "object", "properties": {}}}},
            "object",
        ),
    ],
    ids=[
        "declared",
        "nullable_type_list",
        "optional_anyof",
        "int_or_number",
        "enum_strings",
        "const",
        "properties",
        "items",
        "ref_to_defs",
        "optional_ref",
    ],
)
def test_tool_to_wire_legacy_gives_every_property_a_single_type(
    prop: dict[str, Any], extra: dict[str, Any], expected_type: str
) -> None:
    assert _legacy_prop(prop, **extra)["type"] == expected_type


def test_tool_to_wire_legacy_fills_missing_descriptions_with_the_property_name() -> None:
    tool = {
        # chat.ipynb cell 17 tool, as langchain builds it (no property descriptions)
        "name": "validate_user",
        "description": "Validate user using historical addresses.",
        "parameters": VALIDATE_USER_SCHEMA,
    }
    props = tool_to_wire(tool, style="legacy")["parameters"]["properties"]
    assert props["user_id"] == {"type": "integer", "description": "user_id"}
    assert props["addresses"]["description"] == "addresses"
    assert props["addresses"]["items"] == {"type": "string"}


def test_tool_to_wire_legacy_keeps_existing_descriptions_and_defaults_tool_description() -> None:
    wire = tool_to_wire({"name": "f", "parameters": JOKE_SCHEMA}, style="legacy")
    assert wire["description"] == ""  # the classic schema requires the key
    assert wire["parameters"]["properties"]["rating"]["description"].startswith("How funny")


def test_tool_to_wire_without_parameters_sends_an_empty_object_schema() -> None:
    assert tool_to_wire({"name": "get_time"}, style="legacy")["parameters"] == {
        "type": "object",
        "properties": {},
    }
    assert tool_to_wire({"name": "get_time"}, style="openai") == {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    }


def test_tool_to_wire_openai_style_passes_full_json_schema_through() -> None:
    tool = {"name": "f", "parameters": {"type": "object", "properties": {"p": {}}}, "strict": True}
    wire = tool_to_wire(tool, style="openai")
    assert wire["function"]["parameters"]["properties"]["p"] == {}
    assert wire["function"]["strict"] is True


def test_tool_to_wire_classic_schema_applies_to_openai_style_on_request() -> None:
    wire = tool_to_wire(
        {"name": "f", "parameters": {"type": "object", "properties": {"p": {"type": "string"}}}},
        style="openai",
        classic_schema=True,
    )
    assert wire["function"]["parameters"]["properties"]["p"]["description"] == "p"


@pytest.mark.parametrize(
    "prop",
    [
        {},
        {"description": "anything"},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": ["string", "integer"]},
        {"$ref": "#/$defs/Missing"},
    ],
    ids=["empty", "description_only", "ambiguous_anyof", "ambiguous_type_list", "dangling_ref"],
)
def test_tool_to_wire_legacy_rejects_untyped_properties_with_an_actionable_message(
    prop: dict[str, Any],
) -> None:
    tool = {"name": "lookup", "parameters": {"type": "object", "properties": {"query": prop}}}
    with pytest.raises(InvalidRequestError) as excinfo:
        tool_to_wire(tool, style="legacy")
    message = str(excinfo.value)
    assert "'lookup'" in message and "'query'" in message
    assert "add" in message and "'type'" in message
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    "tool",
    [
        {"name": "", "parameters": {}},
        {"name": "get weather"},
        {"name": "x" * 65},
        {"name": "wetter.heute"},
        {"name": 7},
        {"type": "function", "function": {"name": "bad/name"}},
    ],
    ids=["empty", "space", "too_long", "dot", "not_a_string", "openai_shape_bad_name"],
)
def test_tool_to_wire_rejects_invalid_tool_names(tool: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match="letters, digits"):
        tool_to_wire(tool, style="openai")


@pytest.mark.parametrize(
    ("tool", "fragment"),
    [
        ({"description": "no name"}, "got keys"),
        ({"name": "f", "parameters": "not a schema"}, "'parameters'"),
        ({"name": "f", "parameters": {"properties": ["a"]}}, "'parameters.properties'"),
        ({"name": "f", "parameters": {"properties": {"a": "string"}}}, "'a'"),
    ],
    ids=["no_name", "parameters_not_object", "properties_not_object", "property_not_object"],
)
def test_tool_to_wire_rejects_malformed_tools(tool: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as excinfo:
        tool_to_wire(tool, style="legacy")
    assert fragment in str(excinfo.value)


def test_tool_to_wire_accepts_the_64_character_name_limit() -> None:
    name = "a" * 64
    assert tool_to_wire({"name": name}, style="legacy")["name"] == name


# ---------------------------------------------------------------------------------------------
# tool_choice_to_wire
# ---------------------------------------------------------------------------------------------

FORCED = {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, "required"),
        ("get_weather", FORCED),
        (FORCED, FORCED),  # spec §2 forced-function form passes through
    ],
    ids=["none_value", "auto", "none", "required", "any", "true", "tool_name", "openai_dict"],
)
def test_tool_choice_to_wire(choice: Any, expected: Any) -> None:
    assert tool_choice_to_wire(choice) == expected


def test_tool_choice_dict_is_copied() -> None:
    choice = {"type": "function", "function": {"name": "f"}}
    wire = tool_choice_to_wire(choice)
    assert isinstance(wire, dict)
    wire["function"]["name"] = "g"
    assert choice["function"]["name"] == "f"


@pytest.mark.parametrize(
    ("choice", "fragment"),
    [
        (False, "Pass 'none'"),
        (1, "Invalid tool_choice"),
        ("bad name!", "letters, digits"),
        ({"type": "function"}, "Invalid tool_choice"),
        ({"type": "tool", "name": "f"}, "Invalid tool_choice"),
        ({"type": "function", "function": {"name": ""}}, "letters, digits"),
        (["auto"], "Invalid tool_choice"),
    ],
    ids=["false", "int", "bad_name", "no_function", "anthropic_shape", "empty_name", "list"],
)
def test_tool_choice_to_wire_rejects_anything_else(choice: Any, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as excinfo:
        tool_choice_to_wire(choice)
    assert fragment in str(excinfo.value)


@pytest.mark.parametrize("choice", ["get_time", {"type": "function", "function": {"name": "x"}}])
def test_tool_choice_to_wire_checks_forced_tool_against_offered_tools(choice: Any) -> None:
    with pytest.raises(InvalidRequestError, match="not among the tools offered"):
        tool_choice_to_wire(choice, tool_names=["get_weather"])
    assert tool_choice_to_wire("get_weather", tool_names=["get_weather"]) == FORCED
