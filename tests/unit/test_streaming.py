"""Unit tests for workers_ai.streaming: SSE framing, event parsing and the chat accumulator.

Fixtures say where they come from: "spec §N" is /work/shared/workers-ai-api.md; "reference" is
reference/real-responses/langchain-cloudflare/.../inline-values.json; "R12/R14" are the
Cloudflare `cloudflare/ai` workers-ai-provider sources the spec cites.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.sse import split_sse_lines
from workers_ai.chat import normalize_chat_result, split_think
from workers_ai.envelope import PROVIDER_ERROR_TYPES, status_error_from_response
from workers_ai.errors import (
    CODE_TABLE,
    AuthenticationError,
    BadRequestError,
    CapacityError,
    InternalServerError,
    RateLimitError,
    StreamError,
)
from workers_ai.streaming import (
    DONE,
    ChatStreamAccumulator,
    EventStreamReader,
    SSEDecoder,
    SSEEvent,
    parse_event_data,
    stream_error_from_payload,
)
from workers_ai.tools import synthesize_tool_call_id
from workers_ai.types import ChatDelta, ChatResult, Usage

# --- helpers -----------------------------------------------------------------------------------


def sse(*events: Any, done: bool = True) -> str:
    """An SSE body: one ``data:`` event per item (dicts are JSON-encoded), then ``[DONE]``."""
    datas = [e if isinstance(e, str) else json.dumps(e) for e in events]
    if done:
        datas.append("[DONE]")
    return "".join(f"data: {d}\n\n" for d in datas)


def read_events(body: str) -> list[dict[str, Any]]:
    reader = EventStreamReader()
    events: list[dict[str, Any]] = []
    for line in split_sse_lines(body):
        events.extend(reader.feed_line(line))
    events.extend(reader.close())
    return events


def accumulate(
    events: list[dict[str, Any]], **kwargs: Any
) -> tuple[list[ChatDelta], ChatDelta, ChatResult]:
    """Feed events; return (mid-stream deltas, the finish delta, the result)."""
    acc = ChatStreamAccumulator(**kwargs)
    deltas = [d for d in (acc.feed(e) for e in events) if d is not None]
    final = acc.finish()
    return deltas, final, acc.result()


def run(body: str, **kwargs: Any) -> tuple[list[ChatDelta], ChatDelta, ChatResult]:
    return accumulate(read_events(body), **kwargs)


def merged_tool_calls(deltas: list[ChatDelta]) -> list[tuple[str, str, dict[str, Any]]]:
    """Join tool-call fragments by index like a framework would: (id, name, parsed args)."""
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for frag in delta.tool_calls:
            call = calls.setdefault(frag.index, {"id": "", "name": "", "args": ""})
            assert not (frag.id and call["id"]), "a call's id is reported once"
            assert not (frag.name and call["name"]), "a call's name is reported once"
            call["id"] += frag.id or ""
            call["name"] += frag.name or ""
            call["args"] += frag.arguments
    return [(c["id"], c["name"], json.loads(c["args"])) for _, c in sorted(calls.items())]


# --- the accumulator over whole SSE bodies (table) ---------------------------------------------

SPEC_MIXED_STREAM = (  # spec §3, OpenAI-backed models over /ai/run (mixed native fields)
    'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","choices":[{"index":0,'
    '"delta":{"reasoning_content":"Let"},"finish_reason":null}]}\n\n'
    'data: {"choices":[{"delta":{"content":"Here"}}],"response":"Here","tool_calls":[]}\n\n'
    'data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],'
    '"usage":{"prompt_tokens":0,"completion_tokens":0}}\n\n'
    'data: {"response":"","usage":{"prompt_tokens":175,"completion_tokens":17,'
    '"total_tokens":192,"neurons":3.15}}\n\n'
    "data: [DONE]\n\n"
)
LEGACY_ARGS = {"latitude": "51.5", "longitude": "-0.12"}
WEATHER_ARGS = {"location": "London"}


@dataclass
class Case:
    name: str
    body: str
    text: str = ""
    reasoning: str | None = None
    tool_calls: list[tuple[str | None, str, dict[str, Any]]] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(  # spec §3 classic stream (p padding, final usage event)
        "classic",
        sse(
            {"response": "Hello", "p": "abdefgh"},
            {"response": " there", "p": "abdefgh"},
            {
                "response": "",
                "usage": {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60},
            },
        ),
        text="Hello there",
        usage=Usage(10, 50, 60),
    ),
    Case(  # spec §3: events lacking response, empty tool_calls, a finish_reason event
        "classic_sparse_events",
        sse(
            {"response": "Hi"},
            {"tool_calls": [], "p": "xyz"},
            {"p": "q"},
            {"finish_reason": "stop"},
        ),
        text="Hi",
        finish_reason="stop",
    ),
    Case(  # spec §3 mixed OpenAI + native stream: no duplicated text; zero usage then native
        "mixed_openai_native",
        SPEC_MIXED_STREAM,
        text="Here",
        reasoning="Let",
        usage=Usage(175, 17, 192, neurons=3.15),
        finish_reason="stop",
        id="chatcmpl-7",
    ),
    Case(  # spec §3 /ai/v1/chat/completions: standard chunks, `reasoning` (Nemotron naming)
        "openai_chunks",
        sse(
            {
                "id": "c1",
                "model": "@cf/x/y",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
            },
            {
                "id": "c1",
                "model": "@cf/x/y",
                "choices": [{"index": 0, "delta": {"reasoning": "Hmm"}}],
            },
            {"id": "c1", "model": "@cf/x/y", "choices": [{"index": 0, "delta": {"content": "A"}}]},
            {
                "id": "c1",
                "model": "@cf/x/y",
                "choices": [{"index": 0, "delta": {"content": "B"}, "finish_reason": "length"}],
            },
            {
                "id": "c1",
                "choices": [],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            },
        ),
        text="AB",
        reasoning="Hmm",
        usage=Usage(3, 2, 5),
        finish_reason="length",
        model="@cf/x/y",
        id="c1",
    ),
    Case(  # spec §2b qwen3 text_completion variant, streamed as choices[].text
        "text_completion_chunks",
        sse({"choices": [{"text": "Hel"}]}, {"choices": [{"text": "lo", "finish_reason": "stop"}]}),
        text="Hello",
        finish_reason="stop",
    ),
    Case(  # spec §3 native streamed tool call, then finish_reason event
        "native_tool_call",
        sse(
            {
                "tool_calls": [
                    {
                        "id": "call123",
                        "type": "function",
                        "index": 0,
                        "function": {"name": "get_weather", "arguments": json.dumps(WEATHER_ARGS)},
                    }
                ]
            },
            {"finish_reason": "tool_calls"},
        ),
        tool_calls=[("call123", "get_weather", WEATHER_ARGS)],
        finish_reason="tool_calls",
    ),
    Case(  # spec §3 OpenAI form: id on first fragment, string fragments per index, two calls
        "openai_tool_fragments_two_calls",
        sse(
            {
                "choices": [
                    {
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "t0",
                                    "type": "function",
                                    "function": {"name": "a", "arguments": ""},
                                }
                            ]
                        }
                    }
                ]
            },
            {
                "choices": [
                    {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"x": '}}]}}
                ]
            },
            {
                "choices": [
                    {
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 1,
                                    "id": "t1",
                                    "function": {"name": "b", "arguments": '{"y"'},
                                }
                            ]
                        }
                    }
                ]
            },
            {
                "choices": [
                    {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}}
                ]
            },
            {
                "choices": [
                    {"delta": {"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]}}
                ]
            },
            {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        ),
        tool_calls=[("t0", "a", {"x": 1}), ("t1", "b", {"y": 2})],
        finish_reason="tool_calls",
    ),
    Case(  # R12/R14 workers-ai-provider: start chunk, argument chunks, null finalisation chunk
        "provider_chunks_with_null_finalizer",
        sse(
            {
                "tool_calls": [
                    {
                        "id": "chatcmpl-tool-1",
                        "type": "function",
                        "index": 0,
                        "function": {"name": "get_weather"},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"location": '}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": '"London"}'}}]},
            {"tool_calls": [{"id": None, "type": None, "function": {"name": None}}]},
        ),
        tool_calls=[("chatcmpl-tool-1", "get_weather", WEATHER_ARGS)],
        finish_reason="tool_calls",
    ),
    Case(  # spec §4 legacy tool call (object arguments, no id, no index) -> synthesized id
        "legacy_tool_call",
        sse({"response": "", "tool_calls": [{"name": "getWeather", "arguments": LEGACY_ARGS}]}),
        tool_calls=[
            (
                synthesize_tool_call_id("getWeather", json.dumps(LEGACY_ARGS), 0),
                "getWeather",
                LEGACY_ARGS,
            )
        ],
        finish_reason="tool_calls",
    ),
    Case(  # legacy calls arriving one per event (no index) are two calls, not one merged call
        "legacy_tool_calls_in_separate_events",
        sse(
            {"tool_calls": [{"name": "a", "arguments": {"i": 1}}]},
            {"tool_calls": [{"name": "b", "arguments": {"i": 2}}]},
        ),
        tool_calls=[
            (synthesize_tool_call_id("a", '{"i": 1}', 0), "a", {"i": 1}),
            (synthesize_tool_call_id("b", '{"i": 2}', 1), "b", {"i": 2}),
        ],
        finish_reason="tool_calls",
    ),
    Case(  # id-less fragmented call: held until complete, id from the complete arguments
        "idless_fragmented_tool_call",
        sse(
            {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": '{"a"'}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
        ),
        tool_calls=[(synthesize_tool_call_id("f", '{"a": 1}', 0), "f", {"a": 1})],
        finish_reason="tool_calls",
    ),
    Case(  # native form, one complete call per event, each at index 0 with its own id
        "native_calls_reusing_index_zero",
        sse(
            {
                "tool_calls": [
                    {"id": "c1", "index": 0, "function": {"name": "a", "arguments": "{}"}}
                ]
            },
            {
                "tool_calls": [
                    {"id": "c2", "index": 0, "function": {"name": "b", "arguments": '{"x": 1}'}}
                ]
            },
        ),
        tool_calls=[("c1", "a", {}), ("c2", "b", {"x": 1})],
        finish_reason="tool_calls",
    ),
    Case(  # mixed event carrying the same call in choices and top-level tool_calls: read once
        "mixed_tool_calls_not_duplicated",
        sse(
            {
                "choices": [
                    {
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "c3",
                                    "function": {"name": "c", "arguments": "{}"},
                                }
                            ]
                        }
                    }
                ],
                "tool_calls": [
                    {"index": 0, "id": "c3", "function": {"name": "c", "arguments": "{}"}}
                ],
                "response": "",
            },
            {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        ),
        tool_calls=[("c3", "c", {})],
        finish_reason="tool_calls",
    ),
    Case(  # reference inline-values.json two_chunk_usage_sequence (per-chunk deltas, summed)
        "usage_per_chunk_deltas",
        sse(
            {
                "response": "Hi",
                "usage": {
                    "prompt_tokens": 39,
                    "completion_tokens": 0,
                    "total_tokens": 39,
                    "neurons": 1.04,
                },
            },
            {
                "response": "!",
                "usage": {
                    "prompt_tokens": 0,
                    "completion_tokens": 1,
                    "total_tokens": 1,
                    "neurons": 0.2048,
                },
            },
        ),
        text="Hi!",
        usage=Usage(39, 1, 40, neurons=1.2448),
    ),
    Case(  # per-chunk deltas followed by the total repeated: the repeat is not added again
        "usage_deltas_then_total_repeated",
        sse(
            {
                "response": "Hi",
                "usage": {
                    "prompt_tokens": 39,
                    "completion_tokens": 0,
                    "total_tokens": 39,
                    "neurons": 1.04,
                },
            },
            {
                "response": "!",
                "usage": {
                    "prompt_tokens": 0,
                    "completion_tokens": 1,
                    "total_tokens": 1,
                    "neurons": 0.2048,
                },
            },
            {
                "response": "",
                "usage": {
                    "prompt_tokens": 39,
                    "completion_tokens": 1,
                    "total_tokens": 40,
                    "neurons": 1.2448,
                },
            },
        ),
        text="Hi!",
        usage=Usage(39, 1, 40, neurons=1.2448),
    ),
    Case(  # spec §3 / R13: usage repeated cumulatively on several chunks -> take the latest
        "usage_cumulative_repeats",
        sse(
            {
                "response": "a",
                "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
            },
            {
                "response": "b",
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
            },
            {
                "response": "",
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
            },
        ),
        text="ab",
        usage=Usage(10, 2, 12),
    ),
    Case(  # reference inline-values.json single_chunk_usage (float neurons, cached tokens kept)
        "usage_single_with_neurons",
        sse(
            {
                "response": "x",
                "usage": {
                    "prompt_tokens": 39,
                    "completion_tokens": 1,
                    "total_tokens": 40,
                    "neurons": 0.204805,
                    "prompt_tokens_details": {"cached_tokens": 32},
                },
            }
        ),
        text="x",
        usage=Usage(39, 1, 40, cached_tokens=32, neurons=0.204805),
    ),
    Case(  # spec §5 deepseek-r1/qwq: opening <think> missing, think_tags=True from the catalog
        "think_tags_true_missing_open_tag",
        sse(
            {"response": "Okay, the user"},
            {"response": " asks.\n</thi"},
            {"response": "nk>\n\nParis."},
        ),
        text="Paris.",
        reasoning="Okay, the user asks.",
        kwargs={"think_tags": True},
    ),
    Case(  # spec §5: think_tags=True also accepts an explicit opening tag, split across chunks
        "think_tags_true_with_open_tag",
        sse({"response": "<thi"}, {"response": "nk>plan</think>answer"}),
        text="answer",
        reasoning="plan",
        kwargs={"think_tags": True},
    ),
    Case(  # auto mode: text starting with <think> is split
        "think_auto_with_open_tag",
        sse(
            {"response": "\n<think>"},
            {"response": "\nstep 1"},
            {"response": "</think>"},
            {"response": " done"},
        ),
        text="done",
        reasoning="step 1",
    ),
    Case(  # auto mode: text not starting with <think> is never split (documented limitation)
        "think_auto_without_open_tag",
        sse({"response": "a < b"}, {"response": " and </think> stays"}),
        text="a < b and </think> stays",
    ),
    Case(  # think_tags=False: tags are ordinary text
        "think_false",
        sse({"response": "<think>x</think>y"}),
        text="<think>x</think>y",
        kwargs={"think_tags": False},
    ),
    Case(  # R13: classic llama writes the tool call as JSON text when tools were given
        "text_tool_call_json",
        sse(
            {"response": ' {"name": "get_weather", '},
            {"response": '"parameters": {"location": "London"}}'},
        ),
        tool_calls=[
            (
                synthesize_tool_call_id("get_weather", json.dumps(WEATHER_ARGS), 0),
                "get_weather",
                WEATHER_ARGS,
            )
        ],
        finish_reason="tool_calls",
        kwargs={"tool_names": ["get_weather"]},
    ),
    Case(  # tool call text inside a code fence and after <|python_tag|>
        "text_tool_call_fenced_python_tag",
        sse(
            {"response": "<|python_"},
            {
                "response": 'tag|>```json\n{"name": "get_weather", '
                '"arguments": {"location": "London"}}\n```'
            },
        ),
        tool_calls=[(None, "get_weather", WEATHER_ARGS)],
        finish_reason="tool_calls",
        kwargs={"tool_names": ["get_weather"]},
    ),
    Case(  # JSON text that is not a call of a known tool is released as text at the end
        "text_json_not_a_tool_call",
        sse({"response": '{"answer": '}, {"response": "42}"}),
        text='{"answer": 42}',
        kwargs={"tool_names": ["get_weather"]},
    ),
    Case(  # with tools, plain prose is not held
        "text_prose_with_tools",
        sse({"response": "The weather"}, {"response": " is fine."}),
        text="The weather is fine.",
        kwargs={"tool_names": ["get_weather"]},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_stream_cases(case: Case) -> None:
    deltas, final, result = run(case.body, **case.kwargs)
    everything = [*deltas, final]
    assert "".join(d.text for d in everything) == case.text == result.text
    assert ("".join(d.reasoning for d in everything) or None) == case.reasoning == result.reasoning
    merged = merged_tool_calls(everything)
    assert [(n, a) for _, n, a in merged] == [(n, a) for _, n, a in case.tool_calls]
    for (got_id, _, _), (want_id, _, _) in zip(merged, case.tool_calls, strict=True):
        if want_id is None:
            assert got_id.startswith("call_")  # synthesized
        else:
            assert got_id == want_id
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == merged
    assert not result.invalid_tool_calls
    # usage and finish_reason: exactly once, on the finish delta
    assert all(d.usage is None and d.finish_reason is None for d in deltas)
    assert final.usage == case.usage == result.usage
    assert final.finish_reason == case.finish_reason == result.finish_reason
    assert (result.model, result.id) == (case.model, case.id)
    assert [d.model for d in everything if d.model] == ([case.model] if case.model else [])
    assert [d.id for d in everything if d.id] == ([case.id] if case.id else [])


def test_usage_neurons_sum_has_no_float_noise() -> None:  # reference two_chunk_usage_sequence
    (case,) = [c for c in CASES if c.name == "usage_per_chunk_deltas"]
    _, final, _ = run(case.body)
    assert final.usage is not None and final.usage.neurons == 1.2448


def test_text_tool_call_never_leaks_json_as_text() -> None:  # R13 classic llama JSON text
    body = sse(
        *({"response": ch} for ch in '{"name": "get_weather", "arguments": {"location": "x"}}')
    )
    deltas, final, result = run(body, tool_names=["get_weather"])
    assert all(d.text == "" for d in [*deltas, final])
    assert [c.name for c in result.tool_calls] == ["get_weather"]


def test_text_tool_call_ids_match_non_stream_normalisation() -> None:
    text = '{"name": "get_weather", "parameters": {"location": "London"}}'
    _, _, streamed = run(sse({"response": text}), tool_names=["get_weather"])
    whole = normalize_chat_result({"response": text}, tool_names=["get_weather"])
    assert streamed.tool_calls == whole.tool_calls


def test_legacy_tool_call_ids_match_non_stream_normalisation() -> None:  # spec §4 legacy
    raw = {"response": "", "tool_calls": [{"name": "getWeather", "arguments": LEGACY_ARGS}]}
    _, _, streamed = run(sse(raw))
    assert streamed.tool_calls == normalize_chat_result(raw).tool_calls


def test_invalid_streamed_tool_arguments_are_kept_as_invalid_calls() -> None:
    body = sse(
        {"tool_calls": [{"id": "c9", "index": 0, "function": {"name": "f", "arguments": '{"a": '}}]}
    )
    deltas, final, result = run(body)
    assert [d.tool_calls[0].id for d in deltas] == ["c9"]
    assert result.tool_calls == []
    assert [(c.id, c.raw_arguments) for c in result.invalid_tool_calls] == [("c9", '{"a": ')]
    assert final.finish_reason == "tool_calls"


def test_tool_call_id_is_reported_on_the_first_fragment() -> None:  # spec §3 OpenAI form
    body = sse(
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "id": "t0", "function": {"name": "a"}}]}}
            ]
        },
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
    )
    deltas, _, _ = run(body)
    assert [(t.id, t.name, t.arguments) for d in deltas for t in d.tool_calls] == [
        ("t0", "a", ""),
        (None, None, "{}"),
    ]


# --- a complete (non-stream) result fed as one event -------------------------------------------

GPT_OSS_JSON = {  # spec §2b chat-completion shape (gpt-oss answers a stream request with JSON)
    "id": "chatcmpl-ef1d",
    "object": "chat.completion",
    "created": 1751560708,
    "model": "@cf/openai/gpt-oss-120b",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {
                "role": "assistant",
                "content": "A cow is ...",
                "reasoning_content": "Okay, ...",
                "tool_calls": [],
            },
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
}
RESPONSES_JSON = {  # spec §2b Responses shape
    "id": "id-1763094420786",
    "object": "response",
    "model": "@cf/openai/gpt-oss-120b",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "content": [{"type": "reasoning_text", "text": "Thinking"}],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Generated text"}],
        },
    ],
    "status": "completed",
    "usage": {"input_tokens": 7, "output_tokens": 1231, "total_tokens": 1238},
}
TOOL_JSON = {  # spec §4 chat-completion tool call (arguments as a JSON string)
    "choices": [
        {
            "message": {
                "content": "",
                "tool_calls": [
                    {
                        "id": "chatcmpl-tool-abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location": "London"}'},
                    }
                ],
            }
        }
    ],
}


JSON_MODE = {"response": {"answer": 42}, "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
ENVELOPE = {"result": GPT_OSS_JSON, "success": True, "errors": [], "messages": []}  # spec §1


@pytest.mark.parametrize(
    "payload",
    [GPT_OSS_JSON, RESPONSES_JSON, TOOL_JSON, JSON_MODE, ENVELOPE],
    ids=["chat", "responses", "tools", "json_mode", "envelope"],
)
def test_complete_result_fed_as_one_event_equals_normalisation(payload: dict[str, Any]) -> None:
    deltas, final, result = accumulate([payload])
    whole = normalize_chat_result(payload)
    everything = [*deltas, final]
    assert len(deltas) == 1
    assert "".join(d.text for d in everything) == whole.text == result.text
    assert ("".join(d.reasoning for d in everything) or None) == whole.reasoning == result.reasoning
    assert result.tool_calls == whole.tool_calls
    assert [(i, n) for i, n, _ in merged_tool_calls(everything)] == [
        (c.id, c.name) for c in whole.tool_calls
    ]
    assert final.usage == whole.usage == result.usage
    assert final.finish_reason == whole.finish_reason == result.finish_reason
    assert (result.model, result.id) == (whole.model, whole.id)
    assert result.parsed == whole.parsed


# --- accumulator lifecycle ---------------------------------------------------------------------


def test_finish_is_reported_once_and_feed_after_finish_fails() -> None:
    acc = ChatStreamAccumulator()
    acc.feed({"response": "x", "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    assert acc.finish().usage == Usage(1, 1, 2)
    assert acc.finish() == ChatDelta()  # a second finish reports nothing again
    with pytest.raises(RuntimeError):
        acc.feed({"response": "y"})


def test_result_needs_finish() -> None:
    with pytest.raises(RuntimeError):
        ChatStreamAccumulator().result()


def test_event_without_visible_content_returns_none() -> None:
    acc = ChatStreamAccumulator()
    assert acc.feed({"tool_calls": [], "p": "abc"}) is None
    assert acc.feed({"choices": [{"delta": {"role": "assistant"}}], "id": "c1"}) is None
    delta = acc.feed({"choices": [{"delta": {"content": "Hi"}}], "id": "c1"})
    assert delta == ChatDelta(text="Hi", id="c1")  # the id is reported with the first delta


# --- errors ------------------------------------------------------------------------------------

CAPACITY_EVENT = '{"errors":[{"code":3040,"message":"Capacity exceeded"}]}'  # spec §3


@pytest.mark.parametrize(
    ("body", "code", "error_class", "message"),
    [
        (sse(CAPACITY_EVENT), 3040, CapacityError, "Capacity exceeded"),  # spec §3 at start
        (sse({"response": "Hel"}, CAPACITY_EVENT), 3040, CapacityError, "Capacity"),  # mid-stream
        (  # spec §9 5006 body shape with success: false
            sse(
                {
                    "errors": [{"message": "AiError: Bad input", "code": 5006}],
                    "success": False,
                    "result": {},
                }
            ),
            5006,
            BadRequestError,
            "Bad input",
        ),
        (
            sse({"error": {"message": "Rate limited", "code": "3021"}}),
            3021,
            RateLimitError,
            "Rate limited",
        ),
        (  # OpenAI's format: the error type gives the class its HTTP status would
            sse({"error": {"message": "boom", "type": "server_error"}}),
            None,
            InternalServerError,
            "boom",
        ),
        (  # Anthropic's, as a Messages stream sends it mid-answer
            sse({"type": "error", "error": {"type": "overloaded_error", "message": "Busy"}}),
            None,
            InternalServerError,
            "Busy",
        ),
        (
            sse({"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}),
            None,
            BadRequestError,
            "x",
        ),
        (
            sse({"success": False, "error": [{"code": 2009, "message": "Unauthorized"}]}),
            2009,
            AuthenticationError,
            "Unauthorized",
        ),  # spec §9 AI Gateway
        (sse({"success": False}), None, None, "success"),
        ("event: error\ndata: upstream failed\n\n", None, None, "upstream failed"),
    ],
    ids=[
        "start",
        "mid_stream",
        "success_false",
        "openai_code",
        "openai_type",
        "anthropic_overloaded",
        "anthropic_invalid_request",
        "gateway",
        "bare_success_false",
        "event_error",
    ],
)
def test_error_events_raise_stream_error(
    body: str, code: int | None, error_class: type[Exception] | None, message: str
) -> None:
    acc = ChatStreamAccumulator()
    reader = EventStreamReader()
    with pytest.raises(StreamError) as info:
        for line in split_sse_lines(body):
            for event in reader.feed_line(line):
                acc.feed(event)
    assert info.value.code == code
    assert info.value.error_class is error_class
    assert message in str(info.value)


SHARED_ERROR_BODIES = [
    {"errors": [{"code": 3040, "message": "Capacity exceeded"}]},
    {"errors": [{"code": "3021", "message": "Rate limited"}]},
    {"errors": [{"code": "²", "message": "odd code"}]},  # no code, not a ValueError
    {"errors": [{"code": -5}, {"code": " 5007 ", "message": "No such model"}]},
    {"success": False, "error": [{"code": 2009, "message": "Unauthorized"}]},
    {"error": {"message": "boom", "type": "server_error", "code": 3040.0}},
    {"error": {"type": "invalid_request_error"}},
    {"errors": ["plain", "", {"message": {"detail": "nested"}}]},
]


@pytest.mark.parametrize("payload", SHARED_ERROR_BODIES)
def test_sse_error_events_are_read_like_http_error_bodies(payload: dict[str, Any]) -> None:
    # One reading of failure bodies (workers_ai.envelope.error_details_from_body) for both.
    http = status_error_from_response(400, {}, json.dumps(payload).encode())
    stream = stream_error_from_payload(payload)
    assert stream is not None
    assert stream.code == http.code
    if http.code in CODE_TABLE:
        assert stream.error_class is type(http)
    else:  # a provider's error type (PROVIDER_ERROR_TYPES), or nothing to go by
        assert stream.error_class in (None, *PROVIDER_ERROR_TYPES.values())
    assert http.message[:100] in str(stream)


def test_empty_errors_list_is_not_an_error() -> None:  # spec §1 envelope-style fields
    assert read_events(sse({"response": "ok", "errors": [], "success": True})) == [
        {"response": "ok", "errors": [], "success": True}
    ]


def test_missing_done_raises() -> None:
    body = sse({"response": "Hello"}, done=False)
    with pytest.raises(StreamError, match=r"without data: \[DONE\]"):
        read_events(body)


def test_unterminated_final_done_is_accepted() -> None:  # server closes right after [DONE]
    assert read_events('data: {"response":"a"}\n\ndata: [DONE]') == [{"response": "a"}]


def test_unterminated_final_event_is_flushed_then_missing_done_raises() -> None:
    reader = EventStreamReader()
    assert reader.feed_line('data: {"response":"a"}') == []
    with pytest.raises(StreamError):
        reader.close()


@pytest.mark.parametrize(
    "data", ['{"response": "unterminated', "not json at all", "[1, 2]", '"text"', "42"]
)
def test_malformed_or_non_object_data_raises(data: str) -> None:
    with pytest.raises(StreamError):
        read_events(sse(data))


def test_malformed_json_message_is_a_short_excerpt() -> None:
    huge = '{"response": "' + "x" * 100_000
    with pytest.raises(StreamError) as info:
        read_events(sse(huge))
    assert "malformed JSON" in str(info.value)
    assert len(str(info.value)) < 300


def test_lines_after_done_are_ignored() -> None:
    reader = EventStreamReader()
    lines = split_sse_lines(sse({"response": "a"}) + "data: {broken\n\ndata: {}\n\n")
    events = [e for line in lines for e in reader.feed_line(line)]
    assert events == [{"response": "a"}]
    assert reader.done
    assert reader.close() == []


def test_parse_event_data_done_and_object() -> None:
    assert parse_event_data(SSEEvent(data="[DONE]")) is DONE
    assert parse_event_data(SSEEvent(data=' {"a": 1} ')) == {"a": 1}


# --- SSE framing ------------------------------------------------------------------------------


def decode_all(body: str) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for line in split_sse_lines(body) if (e := decoder.decode(line)) is not None]
    last = decoder.flush()
    return [*events, last] if last is not None else events


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("data: a\n\n", [SSEEvent(data="a")]),
        ("data:a\n\n", [SSEEvent(data="a")]),  # no space after the colon
        ("data:  a\n\n", [SSEEvent(data=" a")]),  # only one leading space is dropped
        ("data: a\ndata: b\n\n", [SSEEvent(data="a\nb")]),  # multi-line data
        (
            "data: a\r\n\r\ndata: b\r\rdata: c\n\n",
            [SSEEvent(data="a"), SSEEvent(data="b"), SSEEvent(data="c")],
        ),
        (": keep-alive\n\n:comment\ndata: x\n\n", [SSEEvent(data="x")]),  # comments
        ("event: ping\n\n", []),  # an event without data is not dispatched
        (
            "event: update\ndata: x\n\ndata: y\n\n",
            [SSEEvent(event="update", data="x"), SSEEvent(data="y")],
        ),
        (
            "id: 7\ndata: x\n\ndata: y\n\n",
            [SSEEvent(data="x", id="7"), SSEEvent(data="y", id="7")],
        ),  # ids persist
        ("id: a\0b\ndata: x\n\n", [SSEEvent(data="x")]),  # an id containing NUL is ignored
        (
            "retry: 3000\ndata: x\n\nretry: soon\ndata: y\n\n",
            [SSEEvent(data="x", retry=3000), SSEEvent(data="y")],
        ),
        ("data\n\n", [SSEEvent(data="")]),  # a field name alone has an empty value
        ("foo: bar\ndata: x\n\n", [SSEEvent(data="x")]),  # unknown fields are ignored
        ("\ufeffdata: x\n\n", [SSEEvent(data="x")]),  # a leading byte-order mark is dropped
        ("data: x", [SSEEvent(data="x")]),  # flush() dispatches an unterminated last event
    ],
)
def test_sse_decoder(body: str, expected: list[SSEEvent]) -> None:
    assert decode_all(body) == expected


def test_decoder_accepts_lines_with_terminators() -> None:
    decoder = SSEDecoder()
    assert decoder.decode("data: x\r\n") is None
    assert decoder.decode("\r\n") == SSEEvent(data="x")


def test_blank_data_events_are_skipped_by_the_reader() -> None:
    assert read_events("data:\n\n" + sse({"response": "a"})) == [{"response": "a"}]


def test_split_sse_lines_matches_httpx_line_splitting() -> None:
    assert split_sse_lines("a\r\nb\rc\n\nd\n") == ["a", "b", "c", "", "d"]


# --- properties: chunk boundaries never change the outcome -------------------------------------

_TEXT = st.text(alphabet="ab <>/thinkTHINK\n{}", max_size=30)


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[i:j] for i, j in itertools.pairwise(points)]


def _accumulate_text(chunks: list[str], **kwargs: Any) -> tuple[str, str, list[ChatDelta]]:
    deltas, final, result = accumulate([{"response": c} for c in chunks], **kwargs)
    assert "".join(d.text for d in [*deltas, final]) == result.text
    assert "".join(d.reasoning for d in [*deltas, final]) == (result.reasoning or "")
    return result.text, result.reasoning or "", deltas


@settings(max_examples=300, deadline=None)
@given(
    reasoning=_TEXT,
    answer=_TEXT,
    open_tag=st.booleans(),
    think_tags=st.sampled_from([True, None, False]),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_chunk_boundaries_do_not_change_text_or_reasoning(
    reasoning: str, answer: str, open_tag: bool, think_tags: bool | None, cuts: list[int]
) -> None:
    full = ("<think>" if open_tag else "") + reasoning + "</think>" + answer
    whole = _accumulate_text([full], think_tags=think_tags)
    split = _accumulate_text(_chunks(full, cuts), think_tags=think_tags)
    assert split[:2] == whole[:2]
    splits = think_tags is True or (think_tags is None and open_tag)
    if splits and "think>" not in reasoning + answer:
        want_reasoning, want_answer = split_think(full)  # agrees with the non-stream split
        assert split[1] == (want_reasoning or "")
        assert split[0].rstrip() == want_answer  # streams cannot strip trailing whitespace
        for delta in split[2]:  # tag characters are never emitted once a split happens
            assert "</think>" not in delta.text + delta.reasoning
            assert "<think>" not in delta.text + delta.reasoning


@settings(max_examples=100, deadline=None)
@given(
    location=st.text(alphabet="abc xyz", max_size=10),
    prefix=st.sampled_from(["", "  ", "<|python_tag|>", "```json\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_chunk_boundaries_do_not_change_text_tool_calls(
    location: str, prefix: str, cuts: list[int]
) -> None:
    call = json.dumps({"name": "get_weather", "parameters": {"location": location}})
    text = prefix + call + ("\n```" if prefix.startswith("```") else "")
    deltas, final, result = accumulate(
        [{"response": c} for c in _chunks(text, cuts)], tool_names=["get_weather"]
    )
    assert all(d.text == "" for d in [*deltas, final])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("get_weather", {"location": location})
    ]
    assert (
        result.tool_calls
        == normalize_chat_result({"response": text}, tool_names=["get_weather"]).tool_calls
    )
