"""Anthropic's Messages API through Cloudflare (issue #17): request building, ``message``
answers, streams fed through the real SSE pipeline, and which API/route a model gets.

Fixtures follow Anthropic's Messages API reference and streaming docs (event sequence
``message_start`` ... ``message_stop``, ``ping``, ``event: error`` with
``{"type": "error", "error": {"type": "overloaded_error", ...}}``) and what Cloudflare adds
(/work/shared/cloudflare-ai-platform-api.md §1.4-§1.5: ``max_tokens`` required, ``system`` a
string). Stream helpers here are shared with ``test_openai_responses_api.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import pytest

from tests.support.sse import split_sse_lines
from tests.unit.test_messages import WEATHER
from workers_ai.anthropic import (
    DEFAULT_MAX_TOKENS,
    EFFORT_BUDGETS,
    STOP_REASONS,
    build_messages_body,
    is_messages_answer,
    messages_usage,
)
from workers_ai.chat import normalize_chat_result
from workers_ai.errors import (
    ConfigurationError,
    InternalServerError,
    InvalidRequestError,
    ModelIdError,
    StreamError,
)
from workers_ai.messages import ChatRequest, ImagePart, Message, TextPart
from workers_ai.prepare import prepare_chat
from workers_ai.providers import chat_api, chat_route
from workers_ai.settings import WorkersAISettings, resolve_settings
from workers_ai.streaming import ChatStreamAccumulator, EventStreamReader
from workers_ai.types import ChatDelta, ChatResult, ToolCall, Usage

MODEL = "anthropic/claude-sonnet-4-5"
WEATHER_FUNCTION = cast("dict[str, Any]", WEATHER["function"])
TIME = {"type": "function", "function": {"name": "get_time"}}
CALL = ToolCall(
    id="toolu_01", name="get_weather", arguments={"city": "Paris"}, raw_arguments='{"city":"Paris"}'
)
PNG = "iVBORw0KGgo="


# --- helpers (also used by test_openai_responses_api.py) ---------------------------------------


def sse_text(events: Iterable[Mapping[str, Any]], *, named: bool = True) -> str:
    """An SSE body as the typed APIs send it: ``event: <type>`` (unless ``named`` is false)
    then ``data: <json>`` and a blank line, per event."""
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event)}\n\n")
    return "".join(out)


def stream_through_pipeline(body: str) -> tuple[list[ChatDelta], ChatResult]:
    """Feed ``body`` line by line to the reader, its events to the accumulator; return every
    delta (the final one last) and the result."""
    reader = EventStreamReader()
    accumulator = ChatStreamAccumulator()
    deltas: list[ChatDelta] = []
    events = [e for line in split_sse_lines(body) for e in reader.feed_line(line)]
    for event in [*events, *reader.close()]:
        delta = accumulator.feed(event)
        if delta is not None:
            deltas.append(delta)
    deltas.append(accumulator.finish())
    return deltas, accumulator.result()


def joined(deltas: Sequence[ChatDelta]) -> dict[str, Any]:
    """What the deltas say when concatenated (tool calls by index)."""
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for piece in delta.tool_calls:
            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += piece.id or ""
            call["name"] += piece.name or ""
            call["arguments"] += piece.arguments
    return {
        "text": "".join(d.text for d in deltas),
        "reasoning": "".join(d.reasoning for d in deltas),
        "tool_calls": [calls[i] for i in sorted(calls)],
        "usages": [d.usage for d in deltas if d.usage is not None],
        "finish_reasons": [d.finish_reason for d in deltas if d.finish_reason is not None],
    }


def same_answer(streamed: ChatResult, whole: ChatResult) -> None:
    """A streamed result says what the non-streamed one says (``raw`` aside)."""
    fields = ("text", "reasoning", "tool_calls", "invalid_tool_calls", "usage", "finish_reason")
    for name in (*fields, "model", "id"):
        assert getattr(streamed, name) == getattr(whole, name), name


def body_for(*messages: Message, **fields: Any) -> dict[str, Any]:
    return build_messages_body(MODEL, ChatRequest(messages=list(messages), **fields))


def user(content: Any = "Hi") -> Message:
    return Message(role="user", content=content)


def system(text: str) -> Message:
    return Message(role="system", content=text)


#: Leading system messages -> the one system prompt both APIs take (``None``: none sent).
LEADING_SYSTEM = {
    "one": ([system("Be brief."), user()], "Be brief."),
    "two-joined": (
        [system("Be brief."), system("Answer in French."), user()],
        "Be brief.\n\nAnswer in French.",
    ),
    "text-parts": ([Message(role="system", content=[TextPart("a"), TextPart("b")]), user()], "ab"),
    "empty": ([system(""), user()], None),
    "none": ([user()], None),
}


# --- request: system prompt, turns, tools, images ----------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"), LEADING_SYSTEM.values(), ids=LEADING_SYSTEM.keys()
)
def test_system_prompt_is_the_leading_system_messages_as_one_string(
    messages: list[Message], expected: str | None
) -> None:
    body = body_for(*messages)
    assert body.get("system") == expected
    assert all(turn["role"] != "system" for turn in body["messages"])


@pytest.mark.parametrize(
    ("messages", "index"),
    [
        ([system("s"), user(), system("late")], 2),
        ([user(), Message(role="assistant", content="ok"), system("late")], 2),
        ([user(), system("late"), user()], 1),
    ],
)
def test_system_message_after_the_conversation_started_is_refused_by_index(
    messages: list[Message], index: int
) -> None:
    with pytest.raises(InvalidRequestError, match=f"Message {index} is a system message"):
        body_for(*messages)


def test_image_in_system_prompt_is_refused() -> None:
    content: list[TextPart | ImagePart] = [
        TextPart("look"),
        ImagePart(f"data:image/png;base64,{PNG}"),
    ]
    with pytest.raises(InvalidRequestError, match="Message 0"):
        body_for(Message(role="system", content=content), user())


def test_tool_round_trip_becomes_tool_use_then_tool_result_blocks() -> None:
    body = body_for(
        user("Weather in Paris?"),
        Message(role="assistant", content="Let me check.", tool_calls=[CALL]),
        Message(role="tool", tool_call_id="toolu_01", content="Sunny, 21C"),
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                 "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "Sunny, 21C"}
            ],
        },
    ]  # fmt: skip


def test_consecutive_tool_results_and_next_user_text_share_one_user_turn() -> None:
    second = ToolCall(id="toolu_02", name="get_time", arguments={}, raw_arguments="{}")
    body = body_for(
        user("Weather and time?"),
        Message(role="assistant", tool_calls=[CALL, second]),
        Message(role="tool", tool_call_id="toolu_01", content="Sunny"),
        Message(role="tool", tool_call_id="toolu_02", content=[TextPart("12:00")]),
        user("Thanks"),
    )
    assert [turn["role"] for turn in body["messages"]] == ["user", "assistant", "user"]
    assert [b["type"] for b in body["messages"][1]["content"]] == ["tool_use", "tool_use"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "Sunny"},
        {"type": "tool_result", "tool_use_id": "toolu_02", "content": "12:00"},
        {"type": "text", "text": "Thanks"},
    ]


def test_same_role_messages_merge_and_an_empty_assistant_turn_is_dropped() -> None:
    body = body_for(user("a"), Message(role="assistant", content=""), user("b"))
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
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
            [user(), Message(role="assistant", tool_calls=[ToolCall("t1", "f", None, "{", "bad")])],
            "Message 1: tool call 'f' has arguments that are not a JSON object",
        ),
        ([system("only a system prompt")], "no user or assistant message"),
        ([], "messages is empty"),
    ],
    ids=["tool-result-without-id", "call-without-id", "call-bad-arguments", "system-only", "empty"],
)
def test_conversation_the_messages_api_cannot_take_is_refused(
    messages: list[Message], match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        body_for(*messages)


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (
            f"data:image/png;base64,{PNG}",
            {"type": "base64", "media_type": "image/png", "data": PNG},
        ),
        (
            "data:image/jpeg;base64,iVBO\nRw0K Ggo=",
            {"type": "base64", "media_type": "image/jpeg", "data": PNG},
        ),
        ("https://example.com/cat.png", {"type": "url", "url": "https://example.com/cat.png"}),
    ],
    ids=["data-uri", "data-uri-with-whitespace", "https"],
)
def test_image_becomes_an_image_block(url: str, source: dict[str, Any]) -> None:
    body = body_for(Message(role="user", content=[TextPart("What is this?"), ImagePart(url)]))
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": source},
    ]


@pytest.mark.parametrize(
    "url",
    ["http://example.com/cat.png", "ftp://example.com/cat.png", "data:text/plain;base64,aGk="],
)
def test_image_that_is_neither_data_uri_nor_https_is_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError, match="Message 1: image"):
        body_for(user(), Message(role="user", content=[ImagePart(url)]))


def test_tools_become_name_description_input_schema() -> None:
    bare = {"name": "lookup", "parameters": {"type": "object", "properties": {}}}
    body = body_for(user(), tools=[WEATHER, TIME, bare])
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": WEATHER_FUNCTION["parameters"],
        },
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
        {"name": "lookup", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in body


NO_PARALLEL = {"disable_parallel_tool_use": True}


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ("any", None, {"type": "any"}),
        (True, None, {"type": "any"}),
        ("get_time", None, {"type": "tool", "name": "get_time"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        (None, False, {"type": "auto", **NO_PARALLEL}),
        ("required", False, {"type": "any", **NO_PARALLEL}),
        ("get_time", False, {"type": "tool", "name": "get_time", **NO_PARALLEL}),
        ("none", False, {"type": "none"}),
        (None, True, None),
    ],
    ids=[
        "auto", "none", "required", "any", "true", "name", "openai-dict", "no-parallel",
        "required-no-parallel", "name-no-parallel", "none-no-parallel", "parallel-default",
    ],
)  # fmt: skip
def test_tool_choice_forms(choice: Any, parallel: bool | None, expected: Any) -> None:
    body = body_for(user(), tools=[WEATHER, TIME], tool_choice=choice, parallel_tool_calls=parallel)
    assert body.get("tool_choice") == expected


@pytest.mark.parametrize(
    ("tools", "choice", "match"),
    [([], "required", "without any tools"), ([WEATHER], "get_time", "not among the tools")],
)
def test_tool_choice_that_cannot_work_is_refused(
    tools: list[dict[str, Any]], choice: str, match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        body_for(user(), tools=tools, tool_choice=choice)


# --- request: parameters, thinking, what the API lacks ------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"), [({}, DEFAULT_MAX_TOKENS), ({"max_tokens": 512}, 512)]
)
def test_max_tokens_is_always_sent(params: dict[str, Any], expected: int) -> None:
    assert DEFAULT_MAX_TOKENS == 4096
    assert body_for(user(), params=params)["max_tokens"] == expected


ENABLED_2048 = {"type": "enabled", "budget_tokens": 2048}


@pytest.mark.parametrize(
    ("params", "extra", "thinking", "max_tokens"),
    [
        ({}, {"thinking": ENABLED_2048}, ENABLED_2048, 2048 + DEFAULT_MAX_TOKENS),
        ({"max_tokens": 8000}, {"thinking": ENABLED_2048}, ENABLED_2048, 8000),
        ({}, {"thinking": ENABLED_2048, "max_tokens": 9000}, ENABLED_2048, 9000),
        ({"max_tokens": 300}, {"thinking": {"type": "disabled"}}, {"type": "disabled"}, 300),
        *(
            ({"reasoning_effort": e}, {}, {"type": "enabled", "budget_tokens": b}, b + 4096)
            for e, b in [("low", 1024), ("medium", 4096), ("high", 16384)]
        ),
        (
            {"reasoning_effort": "high", "max_tokens": 20000}, {},
            {"type": "enabled", "budget_tokens": 16384}, 20000,
        ),
    ],
    ids=[
        "extra-budget", "extra-budget-and-max", "max-in-extra", "disabled", "effort-low",
        "effort-medium", "effort-high", "effort-with-max",
    ],
)  # fmt: skip
def test_thinking_budget_and_max_tokens(
    params: dict[str, Any], extra: dict[str, Any], thinking: dict[str, Any], max_tokens: int
) -> None:
    body = body_for(user(), params=params, extra=extra)
    assert (body["thinking"], body["max_tokens"]) == (thinking, max_tokens)
    assert "reasoning_effort" not in body


def test_effort_budgets_are_anthropics_minimum_and_up() -> None:
    assert dict(EFFORT_BUDGETS) == {"low": 1024, "medium": 4096, "high": 16384}


def test_thinking_from_extra_wins_over_reasoning_effort() -> None:
    thinking = {"type": "enabled", "budget_tokens": 3000}
    body = body_for(user(), params={"reasoning_effort": "high"}, extra={"thinking": thinking})
    assert body["thinking"] == thinking
    assert body["max_tokens"] == 3000 + DEFAULT_MAX_TOKENS


@pytest.mark.parametrize(
    ("params", "extra", "match"),
    [
        ({"max_tokens": 2048}, {"thinking": ENABLED_2048}, "max_tokens=2048 must be more"),
        ({"max_tokens": 1000, "reasoning_effort": "low"}, {}, "max_tokens=1000 must be more"),
        ({}, {"max_tokens": 500, "thinking": ENABLED_2048}, "max_tokens=500"),
        ({}, {"thinking": {"type": "enabled", "budget_tokens": 1023}}, "at least 1024"),
        ({}, {"thinking": {"type": "enabled", "budget_tokens": True}}, "whole number"),
        ({}, {"thinking": {"type": "enabled"}}, "budget_tokens=None"),
        ({"reasoning_effort": "extreme"}, {}, "reasoning_effort='extreme'"),
    ],
    ids=[
        "budget-equals-max", "effort-above-max", "max-in-extra", "budget-too-small",
        "budget-bool", "budget-missing", "unknown-effort",
    ],
)  # fmt: skip
def test_thinking_that_does_not_fit_is_refused(
    params: dict[str, Any], extra: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        body_for(user(), params=params, extra=extra)


@pytest.mark.parametrize(("stop", "expected"), [("END", ["END"]), (["a", "b"], ["a", "b"])])
def test_stop_becomes_stop_sequences(stop: Any, expected: list[str]) -> None:
    body = body_for(user(), params={"stop": stop})
    assert body["stop_sequences"] == expected
    assert "stop" not in body


def test_sampling_parameters_the_api_has_are_sent() -> None:
    body = body_for(user(), params={"temperature": 0.2, "top_p": 0.9, "top_k": 40})
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.9, 40)


@pytest.mark.parametrize(
    "name", ["seed", "frequency_penalty", "presence_penalty", "repetition_penalty"]
)
def test_parameter_the_api_lacks_is_dropped_with_a_warning(name: str) -> None:
    with pytest.warns(UserWarning, match=f"no `{name}`"):
        body = body_for(user(), params={name: 1, "temperature": 0.5})
    assert name not in body
    assert body["temperature"] == 0.5


def test_what_the_catalog_says_the_model_cannot_take_is_refused_as_on_every_route() -> None:
    with pytest.raises(InvalidRequestError, match="does not support LoRA"):
        body_for(user(), params={"lora": "my-adapter"})
    llama = "@cf/meta/llama-3.1-8b-instruct"  # no vision in the catalog
    image = Message(role="user", content=[ImagePart("data:image/png;base64,iVBO")])
    with pytest.raises(InvalidRequestError, match="does not accept images"):
        build_messages_body(llama, ChatRequest(messages=[image]))


def test_unencodable_parameter_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="temperature"):
        body_for(user(), params={"temperature": math.nan})


@pytest.mark.parametrize(
    "fields",
    [{"json_schema": {"type": "object", "properties": {}}}, {"json_object": True}],
    ids=["json-schema", "json-object"],
)
def test_json_mode_is_refused_before_any_request(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match="no JSON mode"):
        body_for(user(), **fields)


@pytest.mark.parametrize("key", ["messages", "stream", "model"])
def test_model_kwargs_that_cannot_be_set_are_refused(key: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"'{key}' cannot be set"):
        body_for(user(), extra={key: "x"})


def test_non_string_system_in_model_kwargs_is_refused() -> None:
    blocks = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    with pytest.raises(InvalidRequestError, match="system must be a string"):
        body_for(user(), extra={"system": blocks})


def test_other_model_kwargs_pass_through() -> None:
    body = body_for(system("ignored"), user(), extra={"system": "S", "metadata": {"user_id": "u"}})
    assert body["system"] == "S"
    assert body["metadata"] == {"user_id": "u"}


# --- answers -------------------------------------------------------------------------------------


def message(
    *content: Any, stop_reason: str | None = "end_turn", usage: Any = None
) -> dict[str, Any]:
    """A ``message`` object as the Messages API returns it."""
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage if usage is not None else {"input_tokens": 12, "output_tokens": 6},
    }


THINKING = {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"}
TOOL_USE = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}


def test_message_answer_gives_text_reasoning_and_tool_calls() -> None:
    answer = message(
        THINKING,
        {"type": "text", "text": "Let me "},
        {"type": "text", "text": "check."},
        TOOL_USE,
        stop_reason="tool_use",
    )
    result = normalize_chat_result(answer)
    assert result.text == "Let me check."
    assert result.reasoning == "The user wants weather."
    assert result.tool_calls == [
        ToolCall("toolu_01", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    ]
    assert result.finish_reason == "tool_calls"
    assert (result.model, result.id, result.raw) == ("claude-sonnet-4-5", "msg_01", answer)
    assert is_messages_answer(answer)


@pytest.mark.parametrize(
    ("stop_reason", "finish"), [*STOP_REASONS.items(), ("new_reason", "new_reason"), (None, None)]
)
def test_stop_reason_becomes_finish_reason(stop_reason: str | None, finish: str | None) -> None:
    result = normalize_chat_result(message({"type": "text", "text": "x"}, stop_reason=stop_reason))
    assert result.finish_reason == finish


def test_stop_reasons_cover_anthropics_documented_values() -> None:
    assert STOP_REASONS["end_turn"] == "stop"
    assert STOP_REASONS["max_tokens"] == "length"
    assert STOP_REASONS["tool_use"] == "tool_calls"
    assert STOP_REASONS["refusal"] == "content_filter"
    assert {"stop_sequence", "pause_turn"} <= STOP_REASONS.keys()


CACHE_USAGE = {
    "input_tokens": 50,
    "cache_read_input_tokens": 1000,
    "cache_creation_input_tokens": 200,
    "output_tokens": 30,
}
CACHE_TOTALS = Usage(
    input_tokens=1250,
    output_tokens=30,
    total_tokens=1280,
    cached_tokens=1000,
    cache_creation_tokens=200,
)


def test_usage_counts_fresh_cache_read_and_cache_write_as_input() -> None:
    result = normalize_chat_result(message({"type": "text", "text": "x"}, usage=CACHE_USAGE))
    assert result.usage == CACHE_TOTALS


def test_usage_without_cache_fields_leaves_cache_counts_unknown() -> None:
    assert messages_usage({"input_tokens": 12, "output_tokens": 6}) == Usage(12, 6, 18)


@pytest.mark.parametrize(
    "hostile", [-1, 2**53, 10**400, math.inf, math.nan, 1.5, "many", True, [3], {"n": 3}]
)
def test_hostile_usage_number_reads_as_unknown(hostile: Any) -> None:
    usage = messages_usage(
        {"input_tokens": hostile, "output_tokens": 6, "cache_read_input_tokens": hostile,
         "cache_creation_input_tokens": 4}
    )  # fmt: skip
    assert usage == Usage(
        input_tokens=4, output_tokens=6, total_tokens=10, cached_tokens=None,
        cache_creation_tokens=4,
    )  # fmt: skip


@pytest.mark.parametrize("raw", [None, "junk", [], {}, {"input_tokens": -5, "output_tokens": "x"}])
def test_usage_with_nothing_readable_is_none(raw: Any) -> None:
    assert messages_usage(raw) is None


def test_junk_content_blocks_are_ignored() -> None:
    answer = message(
        None, 5, "text", {"type": "text", "text": 7}, {"type": "thinking", "thinking": None},
        {"type": "redacted_thinking", "data": "opaque"}, {"type": "image"}, {"no": "type"},
        {"type": "text", "text": "ok"},
    )  # fmt: skip
    result = normalize_chat_result(answer)
    assert (result.text, result.reasoning, result.tool_calls) == ("ok", None, [])
    assert result.invalid_tool_calls == []


@pytest.mark.parametrize("bad_input", ["not json", [1, 2], 42, "[]"])
def test_tool_use_with_non_object_input_is_an_invalid_call(bad_input: Any) -> None:
    block = {"type": "tool_use", "id": "toolu_09", "name": "get_weather", "input": bad_input}
    result = normalize_chat_result(message(block, stop_reason="tool_use"))
    assert result.tool_calls == []
    [invalid] = result.invalid_tool_calls
    assert (invalid.id, invalid.name, invalid.arguments) == ("toolu_09", "get_weather", None)
    assert invalid.error


@pytest.mark.parametrize(
    "body",
    [
        {"type": "message", "content": "text"},
        {"type": "chat.completion", "content": []},
        {"content": []},
        [{"type": "message", "content": []}],
    ],
)
def test_other_shapes_are_not_messages_answers(body: Any) -> None:
    assert not is_messages_answer(body)


# --- streams -------------------------------------------------------------------------------------


def message_start(usage: Mapping[str, Any] | None = None) -> dict[str, Any]:
    start = message(stop_reason=None, usage=dict(usage or {"input_tokens": 12, "output_tokens": 1}))
    return {"type": "message_start", "message": start}


def block(
    index: int, content_block: Mapping[str, Any], *deltas: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``content_block_start``, one ``content_block_delta`` per delta, ``content_block_stop``."""
    return [
        {"type": "content_block_start", "index": index, "content_block": dict(content_block)},
        *({"type": "content_block_delta", "index": index, "delta": dict(d)} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def message_end(stop_reason: str, usage: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
         "usage": dict(usage)},
        {"type": "message_stop"},
    ]  # fmt: skip


def text_deltas(*pieces: str) -> list[dict[str, Any]]:
    return [{"type": "text_delta", "text": p} for p in pieces]


def thinking_block(index: int, text: str) -> list[dict[str, Any]]:
    return block(
        index, {"type": "thinking", "thinking": ""}, {"type": "thinking_delta", "thinking": text}
    )


def json_deltas(*pieces: str) -> list[dict[str, Any]]:
    return [{"type": "input_json_delta", "partial_json": p} for p in pieces]


def tool_stream(*argument_pieces: str, name: str = "get_weather") -> list[dict[str, Any]]:
    tool = {"type": "tool_use", "id": "toolu_01", "name": name, "input": {}}
    return [
        message_start(),
        *block(0, tool, *json_deltas("", *argument_pieces)),
        *message_end("tool_use", {"output_tokens": 9}),
    ]


FULL_STREAM = [
    {"type": "ping"},
    message_start({"input_tokens": 50, "cache_read_input_tokens": 1000,
                   "cache_creation_input_tokens": 200, "output_tokens": 1}),
    *block(0, {"type": "thinking", "thinking": ""},
           {"type": "thinking_delta", "thinking": "The user wants "},
           {"type": "thinking_delta", "thinking": "weather."},
           {"type": "signature_delta", "signature": "sig"}),
    {"type": "ping"},
    *block(1, {"type": "text", "text": ""}, *text_deltas("Let me ", "check.")),
    *block(2, {**TOOL_USE, "input": {}}, *json_deltas("", '{"city"', ': "Paris"}')),
    *message_end("tool_use", {"output_tokens": 30}),
]  # fmt: skip
FULL_MESSAGE = message(
    THINKING, {"type": "text", "text": "Let me check."}, TOOL_USE, stop_reason="tool_use",
    usage=CACHE_USAGE,
)  # fmt: skip


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "data-only"])
def test_streamed_message_equals_the_non_streamed_one(named: bool) -> None:
    deltas, streamed = stream_through_pipeline(sse_text(FULL_STREAM, named=named))
    whole = normalize_chat_result(FULL_MESSAGE)
    same_answer(streamed, whole)
    said = joined(deltas)
    assert (said["text"], said["reasoning"]) == ("Let me check.", "The user wants weather.")
    assert said["tool_calls"] == [
        {"id": "toolu_01", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    ]


def test_stream_reports_usage_once_on_the_final_delta_with_cache_totals() -> None:
    deltas, result = stream_through_pipeline(sse_text(FULL_STREAM))
    assert [d.usage for d in deltas[:-1]] == [None] * (len(deltas) - 1)
    assert deltas[-1].usage == CACHE_TOTALS == result.usage
    assert joined(deltas)["finish_reasons"] == ["tool_calls"]


def test_message_delta_that_repeats_prompt_tokens_is_not_counted_twice() -> None:
    events = [
        message_start({"input_tokens": 50, "cache_read_input_tokens": 1000, "output_tokens": 1}),
        *block(0, {"type": "text", "text": ""}, *text_deltas("Hi")),
        *message_end("end_turn", {"input_tokens": 50, "cache_read_input_tokens": 1000,
                                  "output_tokens": 30}),
    ]  # fmt: skip
    deltas, result = stream_through_pipeline(sse_text(events))
    assert result.usage == Usage(1050, 30, 1080, cached_tokens=1000)
    assert joined(deltas)["usages"] == [result.usage]


def test_stream_names_model_and_id_on_its_first_delta() -> None:
    deltas, _ = stream_through_pipeline(sse_text(FULL_STREAM))
    assert (deltas[0].model, deltas[0].id) == ("claude-sonnet-4-5", "msg_01")
    assert all(d.model is None and d.id is None for d in deltas[1:])


ARGUMENTS = '{"city": "Zürich", "days": [1, 2], "note": "a \\"b\\""}'


@pytest.mark.parametrize("cut", range(len(ARGUMENTS) + 1))
def test_tool_arguments_split_anywhere_join_correctly(cut: int) -> None:
    deltas, result = stream_through_pipeline(
        sse_text(tool_stream(ARGUMENTS[:cut], ARGUMENTS[cut:]))
    )
    [call] = result.tool_calls
    assert (call.id, call.name, call.raw_arguments) == ("toolu_01", "get_weather", ARGUMENTS)
    assert call.arguments == json.loads(ARGUMENTS)
    assert joined(deltas)["tool_calls"] == [
        {"id": "toolu_01", "name": "get_weather", "arguments": ARGUMENTS}
    ]
    assert result.finish_reason == "tool_calls"


def test_tool_arguments_one_character_per_event_join_correctly() -> None:
    _, result = stream_through_pipeline(sse_text(tool_stream(*ARGUMENTS)))
    assert result.tool_calls[0].raw_arguments == ARGUMENTS


def test_tool_without_arguments_streams_as_an_empty_object() -> None:
    _, streamed = stream_through_pipeline(sse_text(tool_stream(name="get_time")))
    whole = normalize_chat_result(
        message({"type": "tool_use", "id": "toolu_01", "name": "get_time", "input": {}},
                stop_reason="tool_use")
    )  # fmt: skip
    assert streamed.tool_calls == whole.tool_calls
    assert streamed.tool_calls[0].arguments == {}


def test_tool_use_block_sent_whole_at_its_start_gives_its_arguments() -> None:
    events = [
        message_start(),
        *block(0, TOOL_USE),
        *message_end("tool_use", {"output_tokens": 9}),
    ]
    _, result = stream_through_pipeline(sse_text(events))
    assert [(c.id, c.arguments) for c in result.tool_calls] == [("toolu_01", {"city": "Paris"})]


def test_ping_events_change_nothing() -> None:
    without = [e for e in FULL_STREAM if e["type"] != "ping"]
    with_pings = [x for e in without for x in (e, {"type": "ping"})][:-1]
    plain_deltas, plain = stream_through_pipeline(sse_text(without))
    ping_deltas, pinged = stream_through_pipeline(sse_text(with_pings))
    assert ping_deltas == plain_deltas
    assert pinged == plain


@pytest.mark.parametrize(
    ("stop_reason", "finish"), [("max_tokens", "length"), ("end_turn", "stop")]
)
def test_stream_finish_reason(stop_reason: str, finish: str) -> None:
    events = [
        message_start(),
        *block(0, {"type": "text", "text": ""}, *text_deltas("Once upon")),
        *message_end(stop_reason, {"output_tokens": 2}),
    ]
    deltas, result = stream_through_pipeline(sse_text(events))
    assert result.finish_reason == finish == deltas[-1].finish_reason


def test_stream_ends_at_message_stop_without_done() -> None:
    body = sse_text(FULL_STREAM) + "data: not json at all\n\n"
    _, result = stream_through_pipeline(body)
    assert result.text == "Let me check."


@pytest.mark.parametrize("cut", [1, 5, len(FULL_STREAM) - 1], ids=["after-start", "mid", "no-stop"])
def test_stream_cut_before_message_stop_raises_at_close(cut: int) -> None:
    with pytest.raises(StreamError, match="stream ended without"):
        stream_through_pipeline(sse_text(FULL_STREAM[:cut]))


@pytest.mark.parametrize("named", [True, False], ids=["event-error", "data-only"])
def test_error_event_mid_stream_raises_stream_error(named: bool) -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(StreamError, match="Overloaded") as caught:
        stream_through_pipeline(sse_text([*FULL_STREAM[:5], error], named=named))
    assert caught.value.error_class is InternalServerError  # retryable, as a 529 would be


def test_two_thinking_blocks_stream_as_the_message_reads_them() -> None:
    events = [
        message_start(),
        *thinking_block(0, "first"),
        *block(1, {"type": "tool_use", "id": "toolu_01", "name": "get_time", "input": {}}),
        *thinking_block(2, "second"),
        *message_end("tool_use", {"output_tokens": 9}),
    ]
    whole = message(
        {"type": "thinking", "thinking": "first", "signature": "s"},
        {"type": "tool_use", "id": "toolu_01", "name": "get_time", "input": {}},
        {"type": "thinking", "thinking": "second", "signature": "s"},
        stop_reason="tool_use",
    )
    _, streamed = stream_through_pipeline(sse_text(events))
    assert streamed.reasoning == normalize_chat_result(whole).reasoning == "first\n\nsecond"


def test_server_tool_use_block_is_not_a_client_tool_call_in_a_stream() -> None:
    search = {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}
    events = [
        message_start(),
        *block(0, search, *json_deltas('{"query": "weather Paris"}')),
        *block(1, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": []}),
        *block(2, {"type": "text", "text": ""}, *text_deltas("Sunny.")),
        *message_end("end_turn", {"output_tokens": 9}),
    ]  # fmt: skip
    deltas, streamed = stream_through_pipeline(sse_text(events))
    assert streamed.text == "Sunny."
    assert (streamed.tool_calls, streamed.invalid_tool_calls) == ([], [])
    assert joined(deltas)["tool_calls"] == []


# --- which API and which route --------------------------------------------------------------------

WORKERS_AI = "@cf/meta/llama-3.1-8b-instruct"
GPT_OSS = "@cf/openai/gpt-oss-120b"  # the Workers AI model /ai/v1/responses serves
ENDPOINTS = ("native", "openai", "messages", "responses")
REFUSED = "refused"


@pytest.mark.parametrize(
    ("model", "apis"),
    [
        (WORKERS_AI, ("native", "openai", REFUSED, REFUSED)),  # no Responses API (catalog)
        (GPT_OSS, ("native", "openai", REFUSED, "responses")),
        (f"workers-ai/{GPT_OSS}", ("native", "openai", REFUSED, "responses")),
        (MODEL, ("messages", "openai", "messages", "responses")),
        ("openai/gpt-4.1", ("openai", "openai", "messages", "responses")),
        ("google/gemini-2.5-flash", ("openai", "openai", "messages", "responses")),
        ("dynamic/support", ("openai", "openai", REFUSED, REFUSED)),
        ("cloudflare/auto", ("openai", "openai", REFUSED, "responses")),
    ],
)
def test_chat_api_per_model_and_endpoint(model: str, apis: tuple[str, ...]) -> None:
    for endpoint, expected in zip(ENDPOINTS, apis, strict=True):
        if expected == REFUSED:
            with pytest.raises(ModelIdError, match=model.split("/")[0]):
                chat_api(model, endpoint)
        else:
            assert chat_api(model, endpoint) == expected, endpoint


@pytest.mark.parametrize("model", [WORKERS_AI, MODEL])
def test_chat_api_refuses_an_unknown_endpoint(model: str) -> None:
    with pytest.raises(ModelIdError, match="endpoint='anthropic'"):
        chat_api(model, "anthropic")


def settings_for(routing: str | None) -> WorkersAISettings:
    """REST (no gateway), or the gateway ``gw`` routed by ``header`` or ``url``."""
    if routing is None:
        return resolve_settings(account_id="acct", api_token="tok", env={})
    return resolve_settings(
        account_id="acct", api_token="tok", gateway="gw", gateway_options={"routing": routing},
        env={},
    )  # fmt: skip


REST_BASE = "https://api.cloudflare.com/client/v4/accounts/acct/ai/v1"
GATEWAY_BASE = "https://gateway.ai.cloudflare.com/v1/acct/gw"


@pytest.mark.parametrize(
    ("routing", "surface", "url", "wire_model", "gateway_header"),
    [
        (None, "rest", f"{REST_BASE}/messages", MODEL, "default"),
        ("header", "rest", f"{REST_BASE}/messages", MODEL, "gw"),
        ("url", "native", f"{GATEWAY_BASE}/anthropic/v1/messages", "claude-sonnet-4-5", None),
    ],
    ids=["rest", "header-routing", "url-routing"],
)
def test_messages_route(
    routing: str | None, surface: str, url: str, wire_model: str, gateway_header: str | None
) -> None:
    route = chat_route(MODEL, settings_for(routing), endpoint="messages")
    assert (route.surface, route.url, route.wire_model) == (surface, url, wire_model)
    assert route.headers is not None
    assert route.headers.get("cf-aig-gateway-id") == gateway_header
    if routing == "url":  # the Cloudflare token moves to cf-aig-authorization on the gateway
        assert route.headers["cf-aig-authorization"] == "Bearer tok"
        assert "Authorization" not in route.headers


@pytest.mark.parametrize("model", ["openai/gpt-4.1", "google/gemini-2.5-flash"])
def test_url_routing_refuses_messages_for_a_model_without_that_provider_path(model: str) -> None:
    with pytest.raises(ModelIdError, match="has no route for 'messages'"):
        chat_route(model, settings_for("url"), endpoint="messages")


@pytest.mark.parametrize("routing", [None, "url"])
def test_workers_ai_model_has_no_messages_route(routing: str | None) -> None:
    with pytest.raises(ModelIdError, match="no Messages API route"):
        chat_route(WORKERS_AI, settings_for(routing), endpoint="messages")


@pytest.mark.parametrize("routing", [None, "header", "url"])
@pytest.mark.parametrize(
    ("model", "endpoint"),
    [
        ("dynamic/support", "messages"),
        ("dynamic/support", "responses"),
        ("cloudflare/auto", "messages"),
    ],
)
def test_routing_alias_on_a_route_it_lacks_is_refused_before_the_request(
    model: str, endpoint: str, routing: str | None
) -> None:
    with pytest.raises(ModelIdError, match="routing alias"):
        chat_route(model, settings_for(routing), endpoint=endpoint)


@pytest.mark.parametrize(
    ("object_endpoint", "options", "api"),
    [
        ("native", {}, "messages"),
        ("native", {"endpoint": "openai"}, "openai"),
        ("openai", {}, "openai"),
        ("openai", {"endpoint": "messages"}, "messages"),
    ],
)
def test_prepare_chat_speaks_messages_to_anthropic_models_by_default(
    object_endpoint: str, options: dict[str, Any], api: str
) -> None:
    prepared = prepare_chat(
        [system("Be brief."), user()], options, model=MODEL, params={},
        endpoint=object_endpoint,  # type: ignore[arg-type]
    )  # fmt: skip
    assert prepared.endpoint == api
    if api == "messages":
        assert prepared.body["system"] == "Be brief."
        assert prepared.body["max_tokens"] == DEFAULT_MAX_TOKENS
    else:
        assert prepared.body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert "system" not in prepared.body


def test_prepare_chat_maps_max_completion_tokens_for_messages() -> None:
    prepared = prepare_chat([user()], {"max_completion_tokens": 50}, model=MODEL, params={})
    assert prepared.body["max_tokens"] == 50


def test_prepare_chat_refuses_messages_for_a_workers_ai_model() -> None:
    with pytest.raises(ModelIdError, match="no Messages API route"):
        prepare_chat([user()], {"endpoint": "messages"}, model=WORKERS_AI, params={})


# --- rules added after review ---------------------------------------------------------------


def test_an_empty_user_message_is_refused_by_index() -> None:
    with pytest.raises(InvalidRequestError, match="Message 1 is an empty user message"):
        body_for(system("Be brief."), user(""))


def test_thinking_refuses_a_forced_tool_choice_and_sampling_it_does_not_allow() -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    with pytest.raises(InvalidRequestError, match="tool_choice auto or none only"):
        body_for(user(), tools=[WEATHER], tool_choice="get_weather", extra=thinking)
    with pytest.raises(InvalidRequestError, match=r"temperature=0\.5"):
        body_for(user(), params={"temperature": 0.5}, extra=thinking)
    with pytest.raises(InvalidRequestError, match="top_k=40"):
        body_for(user(), params={"top_k": 40}, extra=thinking)
    with pytest.raises(InvalidRequestError, match=r"top_p=0\.5"):
        body_for(user(), params={"top_p": 0.5}, extra=thinking)
    body = body_for(user(), tools=[WEATHER], params={"temperature": 1}, extra=thinking)
    assert body["temperature"] == 1 and "tool_choice" not in body


def test_thinking_blocks_go_back_with_the_documented_fields_only() -> None:
    from_langchain_anthropic = {"type": "thinking", "thinking": "t", "signature": "s", "index": 0}
    call = ToolCall("toolu_1", "get_weather", {}, raw_arguments="{}")
    assistant = Message(
        role="assistant", tool_calls=[call], reasoning_blocks=[from_langchain_anthropic]
    )
    tool = Message(role="tool", content="Sunny", tool_call_id="toolu_1")
    body = body_for(user(), assistant, tool)
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "t",
        "signature": "s",
    }


def test_a_message_delta_without_output_tokens_keeps_message_starts_count() -> None:
    events = [
        message_start({"input_tokens": 12, "output_tokens": 7}),
        *block(0, {"type": "text", "text": ""}, *text_deltas("Hi")),
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}},
        {"type": "message_stop"},
    ]
    _, streamed = stream_through_pipeline(sse_text(events))
    assert streamed.usage == Usage(12, 7, 19, cached_tokens=None)


def test_numeric_string_counts_are_read_like_usage_elsewhere() -> None:
    usage = messages_usage({"input_tokens": "12", "output_tokens": "3"})
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (12, 3)


def test_an_assistant_turns_own_thinking_blocks_go_back_first_and_only_signed_ones() -> None:
    signed = {"type": "thinking", "thinking": "Check the tool.", "signature": "sig"}
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    unsigned = {"type": "thinking", "thinking": "from another provider"}
    call = ToolCall("toolu_1", "get_weather", {"city": "Paris"}, raw_arguments='{"city": "Paris"}')
    assistant = Message(
        role="assistant", content="", tool_calls=[call],
        reasoning_blocks=[signed, unsigned, redacted, {"type": "reasoning", "id": "rs_1"}],
    )  # fmt: skip
    tool = Message(role="tool", content="Sunny", tool_call_id="toolu_1")
    body = body_for(user("Weather?"), assistant, tool)
    assert body["messages"][1]["content"] == [
        signed,
        redacted,
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]


def test_streamed_thinking_blocks_are_whole_with_their_signature() -> None:
    events = [
        message_start(),
        *block(
            0,
            {"type": "thinking", "thinking": ""},
            {"type": "thinking_delta", "thinking": "Let me "},
            {"type": "thinking_delta", "thinking": "check."},
            {"type": "signature_delta", "signature": "EqQB"},
        ),
        *block(1, {"type": "text", "text": ""}, *text_deltas("Sunny.")),
        *message_end("end_turn", {"output_tokens": 5}),
    ]
    deltas, streamed = stream_through_pipeline(sse_text(events))
    expected = ({"type": "thinking", "thinking": "Let me check.", "signature": "EqQB"},)
    assert streamed.reasoning_blocks == expected
    assert deltas[-1].reasoning_blocks == expected
    assert all(not d.reasoning_blocks for d in deltas[:-1])
    whole = message(
        {"type": "thinking", "thinking": "Let me check.", "signature": "EqQB"},
        {"type": "text", "text": "Sunny."},
    )
    assert normalize_chat_result(whole).reasoning_blocks == expected


# --- review: what Anthropic's own API reads, and one key per provider --------------------------


def _url_settings(**gateway: Any) -> WorkersAISettings:
    options = {"routing": "url", **gateway}
    return resolve_settings(
        account_id="acct", api_token="cf-tok", gateway="gw", gateway_options=options, env={}
    )


@pytest.mark.parametrize("key", [None, "sk-ant-KEY"])
def test_anthropics_native_path_gets_its_version_and_the_key_in_x_api_key(key: str | None) -> None:
    route = chat_route(MODEL, _url_settings(provider_api_key=key), endpoint="messages")
    assert route.url == f"{GATEWAY_BASE}/anthropic/v1/messages"
    assert route.headers is not None
    assert route.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in route.headers
    assert route.headers.get("x-api-key") == key
    assert route.headers["cf-aig-authorization"] == "Bearer cf-tok"
    assert "sk-ant" not in repr(route.headers)


def test_the_rest_messages_route_sends_the_version_too() -> None:
    route = chat_route(MODEL, settings_for(None), endpoint="messages")
    assert route.headers is not None and route.headers["anthropic-version"] == "2023-06-01"


def test_a_universal_entry_for_anthropic_carries_its_key_and_version_only() -> None:
    from workers_ai.providers import universal_entry

    route = chat_route(MODEL, _url_settings(provider_api_key="sk-ant-KEY"), endpoint="messages")
    assert route.headers is not None
    entry = universal_entry(route, {"max_tokens": 5}, route.headers, {"cf-aig-event-id": "e"})
    assert (entry["provider"], entry["endpoint"]) == ("anthropic", "v1/messages")
    assert dict(entry["headers"]) == {
        "Content-Type": "application/json", "x-api-key": "sk-ant-KEY",
        "anthropic-version": "2023-06-01", "cf-aig-event-id": "e",
    }  # fmt: skip
    assert "sk-ant" not in repr(entry)


def test_one_provider_key_is_never_sent_to_several_providers() -> None:
    from workers_ai.providers import check_chat_chain

    settings = _url_settings(provider_api_key="sk-KEY")
    with pytest.raises(ConfigurationError, match="anthropic, openai"):
        check_chat_chain(["openai/gpt-4.1", MODEL], "native", settings, provider_key=True)
    check_chat_chain(["openai/gpt-4.1", "openai/gpt-4o"], "native", settings, provider_key=True)
    check_chat_chain(
        ["@cf/meta/llama-3.1-8b-instruct", MODEL], "native", settings, provider_key=True
    )


def test_a_chain_model_without_a_route_on_url_routing_fails_at_construction() -> None:
    from langchain_workers_ai import ChatWorkersAI

    with pytest.raises((ModelIdError, ValueError), match="no route for 'responses'"):
        ChatWorkersAI(
            model="@cf/openai/gpt-oss-120b", endpoint="responses", account_id="acct",
            api_key="cf-tok", gateway_id="gw", gateway_options={"routing": "url"},
            fallbacks=["google/gemini-3-flash"],
        )  # fmt: skip
    with pytest.raises((ConfigurationError, ValueError), match="a key belongs to one provider"):
        ChatWorkersAI(
            model="openai/gpt-4.1", account_id="acct", api_key="cf-tok", gateway_id="gw",
            gateway_options={"routing": "url", "provider_api_key": "sk-KEY"},
            fallbacks=[MODEL],
        )  # fmt: skip


def test_a_whole_message_answering_a_stream_request_is_read_whole() -> None:
    whole = message(
        {"type": "thinking", "thinking": "Hmm.", "signature": "s"},
        {"type": "text", "text": "Sunny."},
    )
    accumulator = ChatStreamAccumulator()
    accumulator.feed(whole)
    accumulator.finish()
    result = accumulator.result()
    assert (result.text, result.reasoning, result.finish_reason) == ("Sunny.", "Hmm.", "stop")
    assert result.reasoning_blocks == ({"type": "thinking", "thinking": "Hmm.", "signature": "s"},)
