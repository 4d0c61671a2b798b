"""The chat payload builder: one neutral request -> the body each model family needs."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from workers_ai import InvalidRequestError, catalog
from workers_ai.messages import (
    ChatRequest,
    ImagePart,
    Message,
    TextPart,
    build_chat_body,
)
from workers_ai.types import ToolCall

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # classic, legacy tool calls
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # chat-completion, OpenAI tool calls
MISTRAL = "@cf/mistralai/mistral-small-3.1-24b-instruct"  # 9-char ids, no tool_choice
GLM = "@cf/zai-org/glm-4.7-flash"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
PNG = "data:image/png;base64,iVBORw0KGgo="

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City"}},
            "required": ["city"],
        },
    },
}
CALL = ToolCall(
    id="call_abc", name="get_weather", arguments={"city": "Paris"}, raw_arguments='{"city":"Paris"}'
)


def body(model, *messages, **kw):
    return build_chat_body(model, ChatRequest(messages=list(messages), **kw))


def test_only_set_parameters_are_sent():
    out = body(LLAMA, Message("user", "hi"), params={"temperature": 0.2, "top_k": None})
    assert out == {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}


def test_unknown_parameter_is_an_error_not_silently_sent():
    with pytest.raises(InvalidRequestError, match="model_kwargs"):
        body(LLAMA, Message("user", "hi"), params={"temprature": 1})


def test_leading_system_messages_are_merged_in_order():
    out = body(LLAMA, Message("system", "A"), Message("system", "B"), Message("user", "hi"))
    assert out["messages"] == [
        {"role": "system", "content": "A\n\nB"},
        {"role": "user", "content": "hi"},
    ]


def test_text_parts_become_a_string_and_images_data_uri_parts():
    out = body(SCOUT, Message("user", [TextPart("look "), TextPart("here")]))
    assert out["messages"][0]["content"] == "look here"
    out = body(SCOUT, Message("user", [TextPart("what is it?"), ImagePart(PNG)]))
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "what is it?"},
        {"type": "image_url", "image_url": {"url": PNG}},
    ]


@pytest.mark.parametrize(
    ("model", "url", "match"),
    [
        (SCOUT, "https://example.com/cat.png", "not a base64 data URI"),
        (LLAMA, PNG, "does not accept images"),
    ],
)
def test_bad_images_fail_before_any_request(model, url, match):
    with pytest.raises(InvalidRequestError, match=match):
        body(model, Message("user", [TextPart("x"), ImagePart(url)]))


def test_assistant_tool_calls_round_trip_with_empty_string_content():
    out = body(
        QWEN,
        Message("user", "weather?"),
        Message("assistant", "", tool_calls=[CALL]),
        Message("tool", '{"temp": 12}', tool_call_id="call_abc", name="get_weather"),
        tools=[WEATHER],
    )
    assistant, tool = out["messages"][1], out["messages"][2]
    assert assistant == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    assert tool == {
        "role": "tool",
        "content": '{"temp": 12}',
        "tool_call_id": "call_abc",
        "name": "get_weather",
    }


def test_llama_echoes_the_tool_call_in_assistant_content():
    # observed-api-behaviors.json: "llama multi-turn tool calling"
    out = body(LLAMA, Message("user", "w?"), Message("assistant", "", tool_calls=[CALL]))
    assert json.loads(out["messages"][1]["content"]) == {
        "name": "get_weather",
        "parameters": {"city": "Paris"},
    }


def test_mistral_tool_call_ids_are_nine_alphanumerics_and_consistent():
    out = body(
        MISTRAL,
        Message("user", "w?"),
        Message("assistant", "", tool_calls=[CALL]),
        Message("tool", "12", tool_call_id="call_abc"),
    )
    call_id = out["messages"][1]["tool_calls"][0]["id"]
    assert re.fullmatch(r"[a-zA-Z0-9]{9}", call_id)
    assert out["messages"][2]["tool_call_id"] == call_id


def test_tool_result_without_id_is_rejected():
    with pytest.raises(InvalidRequestError, match="tool_call_id"):
        body(QWEN, Message("user", "x"), Message("tool", "12"))


@pytest.mark.parametrize(
    ("model", "expected_tool"),
    [
        (
            LLAMA,
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER["function"]["parameters"],
            },
        ),
        (QWEN, WEATHER),
    ],
)
def test_tool_shape_follows_the_family(model, expected_tool):
    out = body(model, Message("user", "x"), tools=[WEATHER], tool_choice="get_weather")
    assert out["tools"] == [expected_tool]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_parameters_a_model_rejects_are_left_out_with_a_warning():
    with pytest.warns(UserWarning, match="tool_choice"):
        out = body(MISTRAL, Message("user", "x"), tools=[WEATHER], tool_choice="required")
    assert "tool_choice" not in out
    with pytest.warns(UserWarning, match="max_tokens"):
        out = body(GLM, Message("user", "x"), params={"max_tokens": 10, "temperature": 0})
    assert out["temperature"] == 0 and "max_tokens" not in out


def test_tools_on_a_model_without_function_calling_fail_early():
    with pytest.raises(InvalidRequestError, match="function calling") as caught:
        body("@cf/qwen/qwq-32b", Message("user", "x"), tools=[WEATHER])
    # Users of ChatWorkersAI and LlamaIndex WorkersAI set this with the constructor argument.
    assert "force_tools=True" in str(caught.value)
    assert "ChatRequest" not in str(caught.value)


def test_force_tools_sends_tools_to_a_model_the_catalog_says_cannot_call():
    out = body("@cf/qwen/qwq-32b", Message("user", "x"), tools=[WEATHER], force_tools=True)
    assert [t["name"] for t in out["tools"]] == ["get_weather"]


def test_lora_on_a_model_without_lora_fails_early():
    with pytest.raises(InvalidRequestError, match="LoRA"):
        body(QWEN, Message("user", "x"), params={"lora": "my-adapter"})


SCHEMA = {"title": "Person", "type": "object", "properties": {"name": {"type": "string"}}}


@pytest.mark.parametrize(
    ("model", "endpoint", "expected"),
    [
        (LLAMA, "native", {"response_format": {"type": "json_schema", "json_schema": SCHEMA}}),
        (MISTRAL, "native", {"guided_json": SCHEMA}),
        (
            QWEN,
            "openai",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "Person", "schema": SCHEMA},
                }
            },
        ),
    ],
)
def test_json_mode_field_per_family(model, endpoint, expected):
    request = ChatRequest(messages=[Message("user", "x")], json_schema=SCHEMA)
    out = build_chat_body(model, request, endpoint=endpoint)
    assert {k: v for k, v in out.items() if k != "messages"} == expected


GEMMA4 = "@cf/google/gemma-4-26b-a4b-it"
# Known models whose catalog entry has ``json_mode: null`` (unknown, not "no"; HOUSE.md §10).
JSON_MODE_UNKNOWN = [
    GEMMA4,
    GLM,
    "@cf/moonshotai/kimi-k2.5",
    "@cf/moonshotai/kimi-k2.6",
    "@cf/nvidia/nemotron-3-120b-a12b",
    "@cf/ibm-granite/granite-4.0-h-micro",
    "@cf/meta/llama-3.1-8b-instruct-fp8",
    "@cf/meta/llama-3.1-8b-instruct-awq",
    "@cf/meta/llama-3.2-1b-instruct",
    "@cf/meta/llama-3.2-3b-instruct",
]
JSON_OBJECT = {"response_format": {"type": "json_object"}}


@pytest.mark.parametrize("model", JSON_MODE_UNKNOWN)
@pytest.mark.parametrize(
    ("request_kw", "expected"),
    [
        # reference/real-responses/dropin-captures.json "gemma4_json_schema": the real service
        # answered schema-valid JSON on gemma-4 to exactly this response_format.
        (
            {"json_schema": SCHEMA},
            {"response_format": {"type": "json_schema", "json_schema": SCHEMA}},
        ),
        ({"json_object": True}, JSON_OBJECT),
    ],
    ids=["json_schema", "json_object"],
)
def test_json_mode_unknown_in_the_catalog_sends_response_format(model, request_kw, expected):
    assert catalog.get(model).known and catalog.get(model).json_mode is None, (
        f"{model} no longer has json_mode null in the catalog; move it to a table of its family"
    )
    out = build_chat_body(model, ChatRequest(messages=[Message("user", "x")], **request_kw))
    assert {k: v for k, v in out.items() if k != "messages"} == expected


@pytest.mark.parametrize(
    ("model", "request_kw", "expected"),
    [
        (MISTRAL, {"json_schema": SCHEMA}, {"guided_json": SCHEMA}),
        (MISTRAL, {"json_object": True}, {"guided_json": {"type": "object"}}),
        ("@cf/google/gemma-3-12b-it", {"json_schema": SCHEMA}, {"guided_json": SCHEMA}),
        ("@cf/qwen/qwq-32b", {"json_schema": SCHEMA}, {"guided_json": SCHEMA}),
        # json_object-only model: the schema cannot be sent, any JSON object is asked for
        ("@cf/meta/llama-guard-3-8b", {"json_schema": SCHEMA}, JSON_OBJECT),
        ("@cf/meta/llama-guard-3-8b", {"json_object": True}, JSON_OBJECT),
        (LLAMA, {"json_object": True}, JSON_OBJECT),
    ],
    ids=[
        "mistral_guided_json_schema",
        "mistral_guided_json_object",
        "gemma3_guided_json",
        "qwq_guided_json",
        "llama_guard_json_object_drops_schema",
        "llama_guard_json_object",
        "llama33_response_format_json_object",
    ],
)
def test_json_mode_known_in_the_catalog_keeps_its_field(model, request_kw, expected):
    out = build_chat_body(model, ChatRequest(messages=[Message("user", "x")], **request_kw))
    assert {k: v for k, v in out.items() if k != "messages"} == expected


def test_unknown_models_get_permissive_defaults():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = body(
            "@cf/someone/new-model",
            Message("user", [TextPart("x"), ImagePart(PNG)]),
            tools=[WEATHER],
            params={"reasoning_effort": "low", "lora": "a"},
        )
    assert out["reasoning_effort"] == "low" and out["lora"] == "a"
    assert out["tools"] == [WEATHER]


def test_model_kwargs_pass_through_but_cannot_override_messages():
    out = body(
        QWEN, Message("user", "x"), extra={"chat_template_kwargs": {"enable_thinking": False}}
    )
    assert out["chat_template_kwargs"] == {"enable_thinking": False}
    with pytest.raises(InvalidRequestError):
        body(QWEN, Message("user", "x"), extra={"messages": []})


def test_empty_conversation_and_bad_role():
    with pytest.raises(InvalidRequestError, match="empty"):
        body(QWEN)
    with pytest.raises(InvalidRequestError, match="role"):
        body(QWEN, Message("robot", "x"))  # type: ignore[arg-type]
