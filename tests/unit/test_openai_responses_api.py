"""OpenAI's Responses API through Cloudflare (issue #17): request building, streams fed through
the real SSE pipeline, and the ``/ai/v1/responses`` routes.

Fixtures follow OpenAI's Responses API reference: ``input`` items (``input_text``,
``input_image``, ``function_call``, ``function_call_output``), flat function tools, and the
stream's ``response.*`` events (``response.output_item.added``,
``response.function_call_arguments.delta``, ``response.completed`` with ``usage``,
``response.failed`` with ``response.error``, the ``error`` event with top-level ``code`` and
``message``). Cloudflare serves it on ``/ai/v1/responses`` (/work/shared/cloudflare-ai-platform-
api.md §1.4).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.unit.test_anthropic_api import (
    LEADING_SYSTEM,
    WEATHER_FUNCTION,
    WORKERS_AI,
    joined,
    same_answer,
    settings_for,
    sse_text,
    stream_through_pipeline,
    system,
    user,
)
from tests.unit.test_messages import WEATHER
from workers_ai.chat import normalize_chat_result
from workers_ai.errors import (
    InternalServerError,
    InvalidRequestError,
    ModelIdError,
    RateLimitError,
    StreamError,
)
from workers_ai.messages import ChatRequest, ImagePart, Message, TextPart
from workers_ai.openai_responses import TERMINAL_EVENTS, build_responses_body
from workers_ai.prepare import prepare_chat
from workers_ai.providers import chat_route
from workers_ai.types import ToolCall, Usage

MODEL = "openai/gpt-5"
TIME: dict[str, Any] = {"name": "get_time", "parameters": {"type": "object", "properties": {}}}
CALL = ToolCall("call_1", "get_weather", {"city": "Paris"}, '{"city":"Paris"}')
IMAGE = "data:image/png;base64,iVBORw0KGgo="


def body_for(*messages: Message, **fields: Any) -> dict[str, Any]:
    return build_responses_body(MODEL, ChatRequest(messages=list(messages), **fields))


# --- request -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "instructions"), LEADING_SYSTEM.values(), ids=LEADING_SYSTEM.keys()
)
def test_leading_system_messages_become_instructions(
    messages: list[Message], instructions: str | None
) -> None:
    expected: dict[str, Any] = {"input": [{"role": "user", "content": "Hi"}]}
    if instructions is not None:
        expected = {"instructions": instructions, **expected}
    assert body_for(*messages) == expected


def test_later_system_message_stays_in_input() -> None:
    body = body_for(user(), system("Now answer in French."), user("Bonjour"))
    assert body["input"][1] == {"role": "system", "content": "Now answer in French."}
    assert "instructions" not in body


def test_conversation_becomes_input_items() -> None:
    body = body_for(
        user([TextPart("What is this?"), ImagePart(IMAGE)]),
        Message(role="assistant", content="A chart. Checking the weather.", tool_calls=[CALL]),
        Message(role="tool", tool_call_id="call_1", content=[TextPart("Sunny")]),
        user("Thanks"),
    )
    assert body["input"] == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": IMAGE},
            ],
        },
        {"role": "assistant", "content": "A chart. Checking the weather."},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather",
         "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
        {"role": "user", "content": "Thanks"},
    ]  # fmt: skip


def test_assistant_tool_call_without_text_is_only_a_function_call_item() -> None:
    no_args = ToolCall("call_2", "get_time", {}, "")
    body = body_for(user(), Message(role="assistant", tool_calls=[no_args]))
    assert body["input"][1:] == [
        {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"}
    ]


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([user(), Message(role="tool", content="x")], "Message 1 is a tool result without"),
        (
            [user(), Message(role="assistant", tool_calls=[ToolCall("", "f", {}, "{}")])],
            "Message 1: tool call 'f' has no id",
        ),
        (
            [user(), Message(role="tool", tool_call_id="c", content=[ImagePart(IMAGE)])],
            "Message 1: a tool result takes text only",
        ),
        ([user(), Message(role="developer", content="x")], "role 'developer'"),  # type: ignore[arg-type]
        ([system("only instructions")], "only system messages"),
        ([], "messages is empty"),
    ],
    ids=["tool-result-without-id", "call-without-id", "image-in-tool-result", "unknown-role",
         "system-only", "empty"],
)  # fmt: skip
def test_conversation_the_responses_api_cannot_take_is_refused(
    messages: list[Message], match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        body_for(*messages)


def test_tools_are_flat_function_tools() -> None:
    body = body_for(user(), tools=[WEATHER, TIME])
    assert body["tools"] == [
        {"type": "function", **WEATHER_FUNCTION},
        {"type": "function", **TIME},
    ]
    assert "tool_choice" not in body and "parallel_tool_calls" not in body


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, "required"),
        ("get_time", {"type": "function", "name": "get_time"}),
        ({"type": "function", "function": {"name": "get_weather"}},
         {"type": "function", "name": "get_weather"}),
    ],
    ids=["auto", "none", "required", "any", "true", "name", "openai-dict"],
)  # fmt: skip
def test_tool_choice_forms(choice: Any, expected: Any) -> None:
    assert body_for(user(), tools=[WEATHER, TIME], tool_choice=choice)["tool_choice"] == expected


@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_tool_calls_is_sent_as_given(parallel: bool) -> None:
    body = body_for(user(), tools=[WEATHER], parallel_tool_calls=parallel)
    assert body["parallel_tool_calls"] is parallel


def test_tool_choice_without_tools_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="without any tools"):
        body_for(user(), tool_choice="required")


def test_generation_parameters_use_the_responses_names() -> None:
    params = {"max_tokens": 256, "reasoning_effort": "low", "temperature": 0.3, "top_p": 0.9}
    body = body_for(user(), params=params)
    assert body["max_output_tokens"] == 256
    assert body["reasoning"] == {"effort": "low"}
    assert (body["temperature"], body["top_p"]) == (0.3, 0.9)
    assert "max_tokens" not in body and "reasoning_effort" not in body


@pytest.mark.parametrize(
    "name",
    [
        "stop",
        "seed",
        "top_k",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "lora",
    ],
)
def test_parameter_the_api_lacks_is_dropped_with_a_warning(name: str) -> None:
    with pytest.warns(UserWarning, match=f"the Responses API has no `{name}`"):
        assert body_for(user(), params={name: 1}) == body_for(user())


@pytest.mark.parametrize(
    ("fields", "text_format"),
    [
        (
            {"json_schema": {"title": "Weather Report!", "type": "object"}},
            {"type": "json_schema", "name": "Weather_Report_",
             "schema": {"title": "Weather Report!", "type": "object"}},
        ),
        (
            {"json_schema": {"type": "object"}},
            {"type": "json_schema", "name": "response", "schema": {"type": "object"}},
        ),
        ({"json_object": True}, {"type": "json_object"}),
    ],
    ids=["schema-with-title", "schema-without-title", "json-object"],
)  # fmt: skip
def test_json_mode_becomes_text_format(fields: dict[str, Any], text_format: dict[str, Any]) -> None:
    assert body_for(user(), **fields)["text"] == {"format": text_format}


@pytest.mark.parametrize(
    ("params", "extra", "match"),
    [
        ({"temperature": math.inf}, {}, "temperature"),
        ({}, {"input": "x"}, "'input' cannot be set"),
        ({}, {"stream": True}, "'stream' cannot be set"),
        ({}, {"model": "x"}, "'model' cannot be set"),
        ({}, {"metadata": {"k": math.nan}}, "metadata"),
    ],
)
def test_what_cannot_be_sent_is_refused(
    params: dict[str, Any], extra: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        body_for(user(), params=params, extra=extra)


def test_other_model_kwargs_pass_through() -> None:
    body = body_for(
        user(), extra={"store": False, "reasoning": {"effort": "high", "summary": "auto"}}
    )
    assert body["store"] is False
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}


# --- streams -------------------------------------------------------------------------------------

RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "model": "gpt-5",
    "output": [],
    "usage": None,
}
USAGE = {
    "input_tokens": 20,
    "input_tokens_details": {"cached_tokens": 8},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 50,
}
REASONING_ITEM = {
    "id": "rs_1",
    "type": "reasoning",
    "summary": [{"type": "summary_text", "text": "Thinking about weather."}],
}
MESSAGE_ITEM = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Hello world", "annotations": []}],
}
CALL_ITEM = {
    "id": "fc_1",
    "type": "function_call",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
    "status": "completed",
}


def final(status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {**RESPONSE, "status": status, "output": output, "usage": USAGE, **extra}


def item_added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def item_done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def piece(kind: str, index: int, delta: str) -> dict[str, Any]:
    return {"type": f"response.{kind}.delta", "item_id": "x", "output_index": index, "delta": delta}


def completed(*output: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.completed", "response": final("completed", list(output))}


def opening() -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "response": {**RESPONSE, "status": "in_progress"}},
        {"type": "response.in_progress", "response": {**RESPONSE, "status": "in_progress"}},
    ]


def text_stream(*, terminal: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        *opening(),
        item_added(0, {**REASONING_ITEM, "summary": []}),
        piece("reasoning_summary_text", 0, "Thinking about "),
        piece("reasoning_summary_text", 0, "weather."),
        item_done(0, REASONING_ITEM),
        item_added(1, {**MESSAGE_ITEM, "status": "in_progress", "content": []}),
        piece("output_text", 1, "Hello"),
        piece("output_text", 1, " world"),
        {"type": "response.output_text.done", "output_index": 1, "text": "Hello world"},
        item_done(1, MESSAGE_ITEM),
        terminal or completed(REASONING_ITEM, MESSAGE_ITEM),
    ]


def call_stream(*argument_pieces: str) -> list[dict[str, Any]]:
    events = [*opening(), item_added(0, {**CALL_ITEM, "arguments": "", "status": "in_progress"})]
    events += [piece("function_call_arguments", 0, p) for p in argument_pieces]
    done = {**CALL_ITEM, "arguments": "".join(argument_pieces)}
    return [*events, item_done(0, done), completed(done)]


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "data-only"])
def test_streamed_response_equals_the_completed_response(named: bool) -> None:
    events = text_stream()
    deltas, streamed = stream_through_pipeline(sse_text(events, named=named))
    same_answer(streamed, normalize_chat_result(events[-1]["response"]))
    assert joined(deltas)["text"] == streamed.text == "Hello world"
    assert joined(deltas)["reasoning"] == streamed.reasoning == "Thinking about weather."
    assert (streamed.model, streamed.id, streamed.finish_reason) == ("gpt-5", "resp_1", "stop")


def test_stream_reports_usage_once_on_the_final_delta() -> None:
    deltas, result = stream_through_pipeline(sse_text(text_stream()))
    assert joined(deltas)["usages"] == [Usage(20, 30, 50, cached_tokens=8)] == [result.usage]
    assert deltas[-1].usage == result.usage
    assert joined(deltas)["finish_reasons"] == ["stop"]


def test_refusal_deltas_are_answer_text() -> None:
    events = [*opening(), piece("refusal", 0, "I can't help with that.")]
    events.append(completed())
    _, result = stream_through_pipeline(sse_text(events))
    assert (result.text, result.finish_reason) == ("I can't help with that.", "stop")


ARGUMENTS = '{"city": "Zürich", "days": [1, 2]}'


@pytest.mark.parametrize("cut", range(len(ARGUMENTS) + 1))
def test_function_call_arguments_split_anywhere_join_correctly(cut: int) -> None:
    events = call_stream(ARGUMENTS[:cut], ARGUMENTS[cut:])
    deltas, result = stream_through_pipeline(sse_text(events))
    [call] = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1", "get_weather", json.loads(ARGUMENTS))
    assert joined(deltas)["tool_calls"] == [
        {"id": "call_1", "name": "get_weather", "arguments": ARGUMENTS}
    ]
    assert result.finish_reason == "tool_calls"


def test_streamed_function_call_equals_the_completed_response() -> None:
    events = call_stream('{"city"', ': "Paris"}')
    _, streamed = stream_through_pipeline(sse_text(events))
    same_answer(streamed, normalize_chat_result(events[-1]["response"]))


def test_function_call_arguments_only_in_output_item_done() -> None:
    events = [e for e in call_stream(ARGUMENTS) if not e["type"].endswith(".delta")]
    deltas, result = stream_through_pipeline(sse_text(events))
    assert [(c.id, c.raw_arguments) for c in result.tool_calls] == [("call_1", ARGUMENTS)]
    assert joined(deltas)["tool_calls"][0]["arguments"] == ARGUMENTS


def test_function_call_arguments_from_deltas_are_not_repeated_by_output_item_done() -> None:
    events = call_stream('{"city": ', '"Paris"}')
    events.insert(-2, {"type": "response.function_call_arguments.done", "output_index": 0,
                       "arguments": '{"city": "Paris"}'})  # fmt: skip
    _, result = stream_through_pipeline(sse_text(events))
    assert [c.raw_arguments for c in result.tool_calls] == ['{"city": "Paris"}']
    assert result.invalid_tool_calls == []


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter"), (None, "length")],
)
def test_incomplete_response_ends_the_stream_with_its_reason(
    reason: str | None, finish: str
) -> None:
    details = {"reason": reason} if reason else None
    response = final("incomplete", [MESSAGE_ITEM], incomplete_details=details)
    terminal = {"type": "response.incomplete", "response": response}
    deltas, result = stream_through_pipeline(sse_text(text_stream(terminal=terminal)))
    assert result.finish_reason == finish == deltas[-1].finish_reason
    assert result.text == "Hello world"
    assert result.usage == Usage(20, 30, 50, cached_tokens=8)


def test_terminal_events_are_completed_and_incomplete() -> None:
    assert {"response.completed", "response.incomplete"} == TERMINAL_EVENTS


def test_stream_ends_at_response_completed_without_done() -> None:
    body = sse_text(text_stream()) + "data: not json\n\n"
    _, result = stream_through_pipeline(body)
    assert result.text == "Hello world"


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "data-only"])
def test_stream_cut_before_its_terminal_event_raises_at_close(named: bool) -> None:
    with pytest.raises(StreamError, match="stream ended without"):
        stream_through_pipeline(sse_text(text_stream()[:-1], named=named))


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "data-only"])
def test_failed_response_raises_stream_error_with_its_message(named: bool) -> None:
    failure = {"code": "server_error", "message": "The model failed to generate a response."}
    failed = {"type": "response.failed", "response": {**RESPONSE, "status": "failed",
                                                      "error": failure}}  # fmt: skip
    with pytest.raises(StreamError, match="The model failed to generate a response") as caught:
        stream_through_pipeline(sse_text([*text_stream()[:6], failed], named=named))
    assert caught.value.error_class is InternalServerError


ERROR_EVENT = {
    "type": "error",
    "code": "rate_limit_exceeded",
    "message": "Slow down",
    "param": None,
    "sequence_number": 4,
}


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "data-only"])
def test_error_event_raises_stream_error_carrying_its_message(named: bool) -> None:
    with pytest.raises(StreamError, match="Slow down"):
        stream_through_pipeline(sse_text([*opening(), ERROR_EVENT], named=named))


def test_error_event_message_and_class_are_read_from_its_fields() -> None:
    with pytest.raises(StreamError) as caught:
        stream_through_pipeline(sse_text([*opening(), ERROR_EVENT]))
    assert str(caught.value) == "Workers AI stream error: Slow down"
    assert caught.value.error_class is RateLimitError


def test_two_reasoning_summary_parts_stream_as_the_response_reads_them() -> None:
    summary = [
        {"type": "summary_text", "text": "First."},
        {"type": "summary_text", "text": "Second."},
    ]
    item = {"id": "rs_1", "type": "reasoning", "summary": summary}
    events = [*opening(), item_added(0, {**item, "summary": []})]
    for index, part in enumerate(summary):
        events.append({**piece("reasoning_summary_text", 0, part["text"]), "summary_index": index})
    events += [
        item_done(0, item),
        completed(item),
    ]
    _, streamed = stream_through_pipeline(sse_text(events))
    assert streamed.reasoning == normalize_chat_result(events[-1]["response"]).reasoning


# --- routes --------------------------------------------------------------------------------------

REST_URL = "https://api.cloudflare.com/client/v4/accounts/acct/ai/v1/responses"
GATEWAY = "https://gateway.ai.cloudflare.com/v1/acct/gw"


@pytest.mark.parametrize(
    ("model", "routing", "surface", "url", "wire_model"),
    [
        ("openai/gpt-4.1", None, "rest", REST_URL, "openai/gpt-4.1"),
        ("openai/gpt-4.1", "header", "rest", REST_URL, "openai/gpt-4.1"),
        ("openai/gpt-4.1", "url", "native", f"{GATEWAY}/openai/responses", "gpt-4.1"),
        ("anthropic/claude-sonnet-4-5", None, "rest", REST_URL, "anthropic/claude-sonnet-4-5"),
        ("cloudflare/auto", None, "rest", REST_URL, "cloudflare/auto"),
        (WORKERS_AI, None, "openai", REST_URL, WORKERS_AI),
        (WORKERS_AI, "url", "openai", f"{GATEWAY}/workers-ai/v1/responses", WORKERS_AI),
    ],
)
def test_responses_route(
    model: str, routing: str | None, surface: str, url: str, wire_model: str
) -> None:
    route = chat_route(model, settings_for(routing), endpoint="responses")
    assert (route.surface, route.url, route.wire_model) == (surface, url, wire_model)


@pytest.mark.parametrize(
    "model", ["anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash", "cloudflare/auto"]
)
def test_url_routing_refuses_responses_for_a_model_without_that_provider_path(model: str) -> None:
    with pytest.raises(ModelIdError, match="has no route for 'responses'"):
        chat_route(model, settings_for("url"), endpoint="responses")


@pytest.mark.parametrize("model", [MODEL, "anthropic/claude-sonnet-4-5", "@cf/openai/gpt-oss-120b"])
def test_prepare_chat_builds_a_responses_body_for_a_per_call_endpoint(model: str) -> None:
    options = {"endpoint": "responses", "max_tokens": 64}
    prepared = prepare_chat([system("Be brief."), user()], options, model=model, params={})
    assert prepared.endpoint == "responses"
    assert prepared.body == {
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": "Hi"}],
        "max_output_tokens": 64,
    }


def test_prepare_chat_refuses_responses_for_a_dynamic_route() -> None:
    with pytest.raises(ModelIdError, match="routing alias"):
        prepare_chat([user()], {"endpoint": "responses"}, model="dynamic/support", params={})


# --- reasoning items go back in stateless mode ------------------------------------------------

ENCRYPTED = {
    "type": "reasoning", "id": "rs_9", "summary": [], "encrypted_content": "gAAAA-opaque",
}  # fmt: skip


def test_encrypted_reasoning_items_are_kept_plain_and_streamed() -> None:
    whole = final("completed", [ENCRYPTED, {**CALL_ITEM}])
    assert normalize_chat_result(whole).reasoning_blocks == (ENCRYPTED,)
    assert normalize_chat_result(final("completed", [REASONING_ITEM])).reasoning_blocks == ()
    events = [*opening(), item_added(0, ENCRYPTED), item_done(0, ENCRYPTED)]
    events += call_stream('{"city": "Paris"}')[len(opening()) :]
    deltas, streamed = stream_through_pipeline(sse_text(events))
    assert streamed.reasoning_blocks == (ENCRYPTED,)
    assert deltas[-1].reasoning_blocks == (ENCRYPTED,)


def test_an_assistant_turns_encrypted_reasoning_goes_back_before_its_calls() -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"}, raw_arguments='{"city": "Paris"}')
    thinking = {"type": "thinking", "thinking": "x", "signature": "s"}  # Anthropic's: not sent
    assistant = Message(
        role="assistant", content="", tool_calls=[call], reasoning_blocks=[thinking, ENCRYPTED]
    )
    tool = Message(role="tool", content="Sunny", tool_call_id="call_1")
    body = body_for(user("Weather?"), assistant, tool)
    assert [item.get("type") for item in body["input"]] == [
        None, "reasoning", "function_call", "function_call_output"
    ]  # fmt: skip
    assert body["input"][1] == ENCRYPTED


def test_a_workers_ai_model_without_the_responses_api_is_refused_before_any_request() -> None:
    with pytest.raises(ModelIdError, match="not served by Workers AI's /ai/v1/responses"):
        prepare_chat([user()], {"endpoint": "responses"}, model=WORKERS_AI, params={})
