"""The fast paths give exactly what the general code gives.

``workers_ai.streaming.FAST_PATHS`` (the SSE reader and the stream accumulator) and
``workers_ai.chat.FAST_PATHS`` (``normalize_chat_result``) switch the fast paths for the common
shapes on and off. Every stream and reply here goes through both, and everything a caller can
see must be equal: the events each line completes, every delta, the finish delta, the result,
and the typed error (class, message, code, body) with what came before it. The inputs are the
tables of ``test_streaming.py`` and ``test_chat.py``, the hostile generators of
``test_hostile_replies.py``, and generated streams near the fast-path shapes, cut at arbitrary
byte boundaries. The LlamaIndex adapter's incremental stream message is compared with the
message the earlier code rebuilt for every chunk, and the LangChain chunk with the one it built.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.sse import split_sse_lines
from tests.unit.test_chat import SHAPES, USAGES
from tests.unit.test_hostile_replies import (
    FUZZ,
    _wire_value,
    chat_results,
    dumps,
    error_bodies,
    json_objects,
    json_values,
    sse_fields,
    valid_streams,
)
from tests.unit.test_streaming import CASES, SPEC_MIXED_STREAM
from workers_ai import chat, streaming
from workers_ai.errors import WorkersAIError
from workers_ai.streaming import ChatStreamAccumulator, EventStreamReader
from workers_ai.types import ChatDelta, ToolCallDelta

SSE_HEADERS = {"content-type": "text/event-stream"}
TOOLS = ("f", "get_weather")


@contextlib.contextmanager
def fast_paths(enabled: bool) -> Iterator[None]:
    """Switch both modules' fast paths (readers and accumulators read it when built)."""
    saved = streaming.FAST_PATHS, chat.FAST_PATHS
    streaming.FAST_PATHS = chat.FAST_PATHS = enabled
    try:
        yield
    finally:
        streaming.FAST_PATHS, chat.FAST_PATHS = saved


def _error(error: WorkersAIError) -> tuple[Any, ...]:
    return (
        type(error),
        str(error),
        getattr(error, "code", None),
        getattr(error, "error_class", None),
        repr(getattr(error, "body", None)),
    )


def stream_outcome(
    lines: Sequence[str], *, fast: bool, think_tags: bool | None = None, tools: bool = False
) -> str:
    """Everything a caller sees of a stream, as text (``repr``: NaN equals NaN there).

    Each line's events and deltas are recorded with the line's position, so the two paths
    must also agree on *when* an event is complete, and on what came before an error.
    """
    with fast_paths(fast):
        reader = EventStreamReader()
        acc = ChatStreamAccumulator(think_tags=think_tags, tool_names=TOOLS if tools else ())
    seen: list[Any] = []

    def feed(position: int, events: list[dict[str, Any]]) -> None:
        for event in events:
            seen.append((position, "event", event))
            seen.append((position, "delta", acc.feed(event)))

    try:
        for position, line in enumerate(lines):
            feed(position, reader.feed_line(line))
        feed(-1, reader.close())
        seen.append(("finish", acc.finish()))
        seen.append(("result", acc.result()))
    except WorkersAIError as error:
        seen.append(("error", _error(error)))
    return repr(seen)


def assert_same_stream(lines: Sequence[str], **kwargs: Any) -> None:
    for think_tags in (None, True, False):
        for tools in (False, True):
            options = {"think_tags": think_tags, "tools": tools, **kwargs}
            general = stream_outcome(lines, fast=False, **options)
            assert stream_outcome(lines, fast=True, **options) == general, options


def lines_from_chunks(chunks: Iterator[bytes]) -> list[str]:
    """Lines exactly as the clients read them (``httpx.Response.iter_lines``)."""
    return list(httpx.Response(200, content=chunks, headers=SSE_HEADERS).iter_lines())


def cut(data: bytes, cuts: Sequence[int]) -> Iterator[bytes]:
    start = 0
    for point in [*sorted(cuts), len(data)]:
        yield data[start:point]
        start = point


# --- the fast paths are taken ------------------------------------------------------------------


PLAIN_CLASSIC = (
    'data: {"response":"Hello","p":"abc"}\n\n'
    'data: {"response":" there","p":"abcdef"}\n\n'
    'data: {"response":"","usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    "data: [DONE]\n\n"
)
PLAIN_CHUNKS = (
    "".join(
        f"data: {json.dumps(event)}\n\n"
        for event in (
            {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
            {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
            {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
            {"id": "c1", "model": "m", "choices": [{"delta": {}, "finish_reason": "stop"}]},
        )
    )
    + "data: [DONE]\n\n"
)


def test_plain_events_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the general readers, the plain events of both shapes are still read."""

    def general(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the general reading was used")

    monkeypatch.setattr(streaming, "parse_event_data", general)
    reader = EventStreamReader()
    lines = split_sse_lines(PLAIN_CLASSIC)[:-2]  # not [DONE], which the general reading reads
    events = [e for line in lines for e in reader.feed_line(line)]
    assert [e.get("response") for e in events] == ["Hello", " there", ""]

    monkeypatch.setattr(streaming, "_wire_delta_from_event", general)
    acc = ChatStreamAccumulator()
    for text in ("Hello", " there"):
        assert acc.feed({"response": text, "p": "xyz"}) == ChatDelta(text=text)
    first, *rest = [json.loads(line[6:]) for line in PLAIN_CHUNKS.split("\n\n")[1:3]]
    monkeypatch.undo()  # the first chunk names the model and id: the general reading
    assert acc.feed(first) == ChatDelta(text="Hel", model="m", id="c1")
    monkeypatch.setattr(streaming, "_wire_delta_from_event", general)
    assert [acc.feed(event) for event in rest] == [ChatDelta(text="lo")]


def test_plain_replies_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def general(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the general reading was used")

    monkeypatch.setattr(chat, "_body_from_wire", general)
    classic = {"response": "Hi", "tool_calls": [], "usage": {"prompt_tokens": 1}}
    completion = {
        "id": "x",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
    }
    assert chat.normalize_chat_result(classic).text == "Hi"
    assert chat.normalize_chat_result(completion).model == "m"


# --- streams: the tables of test_streaming.py ---------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_stream_table_through_both_paths(case: Any) -> None:
    lines = split_sse_lines(case.body)
    for think_tags in (None, True, False):
        for tools in (False, True):
            kwargs = {"think_tags": think_tags, "tools": tools}
            assert stream_outcome(lines, fast=True, **kwargs) == stream_outcome(
                lines, fast=False, **kwargs
            )
    kwargs = dict(case.kwargs)  # the case's own options (tool names of its own, think tags)
    with fast_paths(True):
        fast = _accumulate(lines, **kwargs)
    with fast_paths(False):
        general = _accumulate(lines, **kwargs)
    assert repr(fast) == repr(general)


def _accumulate(lines: Sequence[str], **kwargs: Any) -> Any:
    reader, acc = EventStreamReader(), ChatStreamAccumulator(**kwargs)
    events = [e for line in lines for e in reader.feed_line(line)] + reader.close()
    return [acc.feed(e) for e in events], acc.finish(), acc.result()


EDGE_STREAMS = [
    SPEC_MIXED_STREAM,
    PLAIN_CLASSIC,
    PLAIN_CHUNKS,
    # several data lines make one event (joined with "\n": not one JSON object here)
    'data: {"response": "a"}\ndata: {"response": "b"}\n\ndata: [DONE]\n\n',
    'data: {"response":\ndata: "a"}\n\ndata: [DONE]\n\n',  # a JSON object over two lines
    # other fields before or after the data line
    'event: error\ndata: {"response": "a"}\n\n',
    'data: {"response": "a"}\nevent: error\n\n',
    'id: 7\ndata: {"response": "a"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a"}\nid: 7\n\ndata: [DONE]\n\n',
    'retry: 10\ndata: {"response": "a"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a"}\n: comment\n\ndata: [DONE]\n\n',
    '\ufeffdata: {"response": "a"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a"}\n\n\ufeffdata: {"response": "b"}\n\ndata: [DONE]\n\n',
    'data:{"response": "a"}\n\ndata: [DONE]\n\n',  # no space after the colon
    'data:  {"response": "a"}\n\ndata: [DONE]\n\n',  # two spaces
    'data: {"response": "a"} \t\n\ndata: [DONE]\n\n',  # JSON whitespace after the object
    'data: {"response": "a"}\x0c\u00a0\n\ndata: [DONE]\n\n',  # other whitespace (strip())
    'data: {"response": "a"} x\n\ndata: [DONE]\n\n',  # trailing garbage
    'data: {"response": "a"}{"response": "b"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a"\n\ndata: [DONE]\n\n',  # cut short
    'data: {"response": "\\ud83d"}\n\ndata: [DONE]\n\n',  # a lone surrogate escape
    'data: {"response": "a", "p": NaN}\n\ndata: [DONE]\n\n',
    'data: {"response": "a", "n": ' + "1" * 5000 + "}\n\ndata: [DONE]\n\n",  # int too long
    'data: {"response": "a", "x": ' + "[" * 127 + "]" * 127 + "}\n\ndata: [DONE]\n\n",
    'data: {"response": "a", "x": ' + "[" * 128 + "]" * 128 + "}\n\ndata: [DONE]\n\n",
    'data: {"response": "' + "[" * 300 + '"}\n\ndata: [DONE]\n\n',  # brackets in a string
    'data: {"response": "a", "x": ' + "[" * 20_000 + "]" * 20_000 + "}\n\ndata: [DONE]\n\n",
    'data: {"errors": [{"code": 3040, "message": "Capacity"}]}\n\n',
    'data: {"errors": []}\n\ndata: [DONE]\n\n',
    'data: {"error": {"message": "bad", "code": 5006}}\n\n',
    'data: {"error": "bad"}\n\n',
    'data: {"success": false}\n\n',
    'data: {"success": true, "response": "a"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a"}\n\n',  # no [DONE]
    'data: {"response": "a"}',  # no blank line, no [DONE]
    'data: {"response": "a"}\n\ndata: [DONE]',
    'data: {"response": "a"}\n\ndata: [DONE]\n\ndata: {"response": "after"}\n\n',
    "data: {}\n\ndata: [DONE]\n\n",
    'data: {"response": null}\n\ndata: [DONE]\n\n',
    'data: {"response": {"a": 1}}\n\ndata: [DONE]\n\n',  # a JSON-mode object
    'data: {"response": "<think>why</think>so"}\n\ndata: [DONE]\n\n',
    'data: {"response": "  {\\"name\\": \\"f\\", \\"arguments\\": {}}"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a", "model": "m", "id": "1"}\n\ndata: [DONE]\n\n',
    'data: {"response": "a", "usage": null, "tool_calls": []}\n\ndata: [DONE]\n\n',
    'data: {"response": "a", "tool_calls": [{"name": "f", "arguments": {}}]}\n\ndata: [DONE]\n\n',
    'data: {"response": "a", "tool_calls": {"name": "f"}}\n\ndata: [DONE]\n\n',
    'data: {"choices": [{"delta": {"content": "a"}}], "model": "m"}\n\n'
    'data: {"choices": [{"delta": {"content": "b"}}], "model": "n"}\n\n'
    'data: {"choices": [{"delta": {"content": "c"}}], "model": ""}\n\n'
    'data: {"choices": [{"delta": {"content": "d"}}]}\n\ndata: [DONE]\n\n',
    'data: {"choices": [{"delta": {"content": null, "role": "assistant"}}]}\n\n'
    'data: {"choices": [{"delta": {"content": [{"type": "text", "text": "x"}]}}]}\n\n'
    'data: {"choices": [{"delta": {"content": ""}, "text": "t"}]}\n\n'
    'data: {"choices": [{"delta": {"content": "a"}, "finish_reason": ""}]}\n\n'
    'data: {"choices": [{"delta": {"content": "a"}}], "finish_reason": "stop"}\n\n'
    'data: {"choices": ["x", {"delta": {"content": "b"}}]}\n\n'
    'data: {"choices": [{"delta": "x"}]}\n\n'
    'data: {"choices": [{"delta": {"content": "a"}, "message": {"content": "m"}}]}\n\n'
    'data: {"choices": [], "usage": {"prompt_tokens": 1}}\n\ndata: [DONE]\n\n',
    'data: {"choices": [{"delta": {"content": "a"}}], "response": {"x": 1}}\n\n'
    'data: {"choices": [{"delta": {"content": "a"}}], "output": []}\n\n'
    'data: {"choices": [{"delta": {"content": "a"}}], "usage": {"prompt_tokens": 2}}\n\n'
    "data: [DONE]\n\n",
]


@pytest.mark.parametrize("body", EDGE_STREAMS)
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_edge_streams_through_both_paths(body: str, newline: str) -> None:
    assert_same_stream(split_sse_lines(body.replace("\n", newline)))


def test_lines_with_their_terminators_through_both_paths() -> None:
    lines = [line + "\r\n" for line in split_sse_lines(PLAIN_CLASSIC)]
    assert_same_stream(lines)
    assert_same_stream([line + "\n" if line else line for line in split_sse_lines(PLAIN_CLASSIC)])


@pytest.mark.parametrize("size", [993, 994, 995, 996, 1_000, 5_000])
def test_event_size_bound_through_both_paths(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """An event whose one data line is at or just over the bound: the same event or error."""
    monkeypatch.setattr(streaming, "MAX_EVENT_CHARS", 1_000)
    data = json.dumps({"response": "x" * (size - 16)})
    lines = [f"data: {data}", "", "data: [DONE]", ""]
    assert_same_stream(lines)
    errors = stream_outcome(lines, fast=True).count("over 1,000 characters")
    assert errors == (len(data) + 1 > 1_000)


def test_a_deep_event_is_the_same_stream_error() -> None:
    lines = [f'data: {{"response": "a", "x": {"[" * 129 + "]" * 129}}}', "", "data: [DONE]", ""]
    assert "StreamError" in stream_outcome(lines, fast=True)
    assert_same_stream(lines)


# --- streams: hostile fuzz and generated streams ------------------------------------------------


@FUZZ
@given(fields=st.lists(sse_fields, max_size=10))
def test_fuzz_sse_fields_through_both_paths(fields: list[str]) -> None:
    assert_same_stream(split_sse_lines("\n".join(fields) + "\n\n"))


@FUZZ
@given(events=st.lists(chat_results | error_bodies | json_objects, max_size=5))
def test_fuzz_events_through_both_paths(events: list[Any]) -> None:
    body = "".join(f"data: {dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    assert_same_stream(split_sse_lines(body))


@FUZZ
@given(events=st.lists(chat_results | json_values, max_size=5))
def test_fuzz_accumulator_fed_directly_through_both_paths(events: list[Any]) -> None:
    """The accumulator is public: events fed without the reader (any value) agree too."""
    values = [_wire_value(event) for event in events]
    for think_tags in (None, True, False):
        for tools in (False, True):
            outcomes = []
            for fast in (True, False):
                with fast_paths(fast):
                    acc = ChatStreamAccumulator(think_tags=think_tags, tool_names=TOOLS[:tools])
                seen: list[Any] = []
                try:
                    seen += [acc.feed(value) for value in values if value is not None]
                    seen += [acc.finish(), acc.result()]
                except WorkersAIError as error:
                    seen.append(_error(error))
                outcomes.append(repr(seen))
            assert outcomes[0] == outcomes[1]


@settings(max_examples=100, deadline=None)
@given(stream=valid_streams())
def test_valid_streams_cut_anywhere_through_both_paths(stream: tuple[bytes, list[int]]) -> None:
    data, cuts = stream
    assert_same_stream(lines_from_chunks(cut(data, cuts)))


# Events near the fast-path shapes, so that every condition of the fast paths is met and missed.
_PIECES = st.sampled_from(
    ["<think>", "</think>", "<thi", "nk>", "</th", "```json\n", "```", "<tool_call>",
     "</tool_call>", "<|python_tag|>", '{"name": "f", "arguments": {"a": 1}}', '{"name": "f",',
     ' "parameters": {}}', "[", "]", "{", "}", " ", "\n", "", "a", "é😀"]
) | st.text(alphabet='ab é😀\n{}[]"\\<>/think`', max_size=6)  # fmt: skip
_TEXTS = st.lists(_PIECES, max_size=3).map("".join)
_IDS = st.sampled_from([None, "c1", "c2", ""]) | st.integers(0, 2)
_USAGE = st.none() | st.fixed_dictionaries(
    {"prompt_tokens": st.integers(0, 20)}, optional={"completion_tokens": st.integers(0, 20)}
)
_FRAGMENT = st.fixed_dictionaries(
    {"index": st.integers(0, 1)},
    optional={
        "id": _IDS,
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {}, optional={"name": st.sampled_from(["f", "get_weather"]), "arguments": _TEXTS}
        ),
    },
)
_FRAGMENTS = st.none() | st.just([]) | st.lists(_FRAGMENT, max_size=2) | st.just({})
_CLASSIC = st.fixed_dictionaries(
    {"response": _TEXTS | st.none() | st.just({"a": 1}) | st.integers(0, 2)},
    optional={
        "p": st.text(alphabet="xyz", max_size=4),
        "usage": _USAGE,
        "tool_calls": _FRAGMENTS,
        "model": _IDS,
        "id": _IDS,
        "finish_reason": st.sampled_from([None, "stop", ""]),
        "reasoning_content": _TEXTS | st.none(),
    },
)
_DELTA = st.fixed_dictionaries(
    {},
    optional={
        "content": _TEXTS | st.none() | st.just([{"type": "text", "text": "x"}]),
        "role": st.just("assistant"),
        "reasoning_content": _TEXTS | st.none(),
        "tool_calls": _FRAGMENTS,
    },
)
_CHOICE = st.fixed_dictionaries(
    {"delta": _DELTA | st.none() | st.just("x")},
    optional={
        "index": st.just(0),
        "finish_reason": st.sampled_from([None, "stop", "length", ""]),
        "logprobs": st.none(),
        "text": _TEXTS,
        "message": st.just({"content": "m"}),
    },
)
_CHUNK = st.fixed_dictionaries(
    {"choices": st.lists(_CHOICE | st.just("x"), max_size=2) | st.none()},
    optional={
        "id": _IDS,
        "model": _IDS,
        "object": st.just("chat.completion.chunk"),
        "created": st.integers(0, 9),
        "usage": _USAGE,
        "response": _TEXTS | st.just({"x": 1}),
        "tool_calls": st.just([]),
        "p": st.just("pad"),
        "finish_reason": st.sampled_from([None, "stop"]),
        "output": st.just([]),
    },
)
_FIELDS = st.sampled_from(["", ": keep-alive", "event: error", "id: 3", "retry: 20", "data"])


@st.composite
def near_plain_streams(draw: Any) -> tuple[bytes, list[int]]:
    events = draw(st.lists(_CLASSIC | _CHUNK, max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    frames = []
    for event in events:
        separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
        data = json.dumps(event, ensure_ascii=draw(st.booleans()), separators=separators)
        data += draw(st.sampled_from(["", "", " ", "\t", "\x0c", " x"]))
        prefix = draw(st.sampled_from(["data: ", "data: ", "data: ", "data:", "data:  "]))
        extra = draw(st.lists(_FIELDS, max_size=1)) if draw(st.integers(0, 5)) == 0 else []
        frames.append(newline.join([*extra, prefix + data, "", ""]))
    if draw(st.booleans()) or not events:
        frames.append(f"data: [DONE]{newline}{newline}")
    body = "".join(frames).encode()
    cuts = draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=8))
    return body, cuts


@settings(
    max_examples=max(300, settings.default.max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(stream=near_plain_streams())
def test_generated_streams_cut_anywhere_through_both_paths(
    stream: tuple[bytes, list[int]],
) -> None:
    data, cuts = stream
    assert_same_stream(lines_from_chunks(cut(data, cuts)))


# --- normalize_chat_result ----------------------------------------------------------------------


def reply_outcome(result: Any, *, fast: bool, **kwargs: Any) -> str:
    with fast_paths(fast):
        try:
            return repr(chat.normalize_chat_result(result, **kwargs))
        except WorkersAIError as error:
            return repr(_error(error))


def assert_same_reply(result: Any) -> None:
    for think_tags in (None, True, False):
        for names in ((), TOOLS):
            kwargs = {"think_tags": think_tags, "tool_names": names}
            assert reply_outcome(result, fast=True, **kwargs) == reply_outcome(
                result, fast=False, **kwargs
            ), kwargs


@pytest.mark.parametrize("case", SHAPES, ids=[case[0] for case in SHAPES])
def test_normaliser_table_through_both_paths(case: Any) -> None:
    _, result, kwargs, _ = case
    assert_same_reply(result)
    assert reply_outcome(result, fast=True, **kwargs) == reply_outcome(result, fast=False, **kwargs)


@pytest.mark.parametrize("usage", [case[1] for case in USAGES], ids=[case[0] for case in USAGES])
def test_usage_table_through_both_paths(usage: Any) -> None:
    assert_same_reply({"response": "Hi", "usage": usage})
    message = {"role": "assistant", "content": "Hi"}
    assert_same_reply({"choices": [{"message": message, "finish_reason": "stop"}], "usage": usage})


PLAIN_TEXTS = ["", " ", "\n\t", "Hi", " Hi ", "<think>why</think> so", "why</think>so", "{}",
               '{"name": "f", "arguments": {"a": 1}}', '```json\n{"name": "f"}\n```']  # fmt: skip


@pytest.mark.parametrize("text", PLAIN_TEXTS)
@pytest.mark.parametrize("finish_reason", [None, "stop", ""])
def test_plain_replies_through_both_paths(text: str, finish_reason: str | None) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "neurons": 0.5}
    message = {"role": "assistant", "content": text, "reasoning_content": None, "tool_calls": []}
    choice = {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
    completion = {"id": "c", "object": "chat.completion", "model": "m", "choices": [choice]}
    classic = {"response": text, "tool_calls": [], "finish_reason": finish_reason}
    for result in (completion, classic):
        assert_same_reply(result)
        assert_same_reply({**result, "usage": usage})


_MESSAGE = st.fixed_dictionaries(
    {"content": _TEXTS | st.none() | st.just([{"type": "text", "text": "x"}]) | st.just({})},
    optional={
        "role": st.just("assistant"),
        "reasoning_content": st.sampled_from([None, "", "why"]),
        "reasoning": st.sampled_from([None, "", "why"]),
        "tool_calls": _FRAGMENTS,
        "function_call": st.none() | st.just({"name": "f", "arguments": "{}"}),
        "refusal": st.none(),
    },
)
_REPLY_CHOICE = st.fixed_dictionaries(
    {"message": _MESSAGE | st.none()},
    optional={
        "index": st.just(0),
        "finish_reason": st.sampled_from([None, "stop", "", 3]),
        "stop_reason": st.none(),
        "logprobs": st.none(),
        "text": _TEXTS,
    },
)
_COMPLETIONS = st.fixed_dictionaries(
    {"choices": st.lists(_REPLY_CHOICE | st.just("x"), max_size=2) | st.none()},
    optional={
        "id": _IDS,
        "model": _IDS,
        "object": st.just("chat.completion"),
        "created": st.integers(0, 9),
        "usage": _USAGE | json_values,
        "response": _TEXTS,
        "output": st.just([]),
        "tool_calls": _FRAGMENTS,
        "system_fingerprint": st.none(),
    },
)
_CLASSIC_REPLIES = st.fixed_dictionaries(
    {"response": _TEXTS | st.none() | st.just({"a": 1})},
    optional={
        "usage": _USAGE | json_values,
        "tool_calls": _FRAGMENTS,
        "finish_reason": st.sampled_from([None, "stop", "", 3]),
        "output_text": _TEXTS,
        "model": _IDS,
        "reasoning_content": st.sampled_from([None, "", "why"]),
    },
)


@FUZZ
@given(result=_CLASSIC_REPLIES | _COMPLETIONS | chat_results | json_objects | json_values)
def test_fuzz_replies_through_both_paths(result: Any) -> None:
    assert_same_reply(_wire_value(result) if not isinstance(result, dict) else result)
    assert_same_reply({"result": result, "success": True})


# --- LlamaIndex: the incremental stream message -------------------------------------------------


def _old_partial_response(state: dict[str, Any], delta: ChatDelta) -> Any:
    """What ``WorkersAI.stream_chat`` built for a delta before the incremental message: the
    whole message rebuilt from the text, reasoning and partial calls so far."""
    from llama_index.core.base.llms.types import ChatResponse

    from llama_index_workers_ai._convert import assistant_message, partial_json_arguments
    from workers_ai.types import ToolCall

    state["text"] += delta.text
    state["reasoning"] += delta.reasoning
    for fragment in delta.tool_calls:
        entry = state["calls"].setdefault(fragment.index, ["", "", ""])
        entry[0] = fragment.id or entry[0]
        entry[1] = fragment.name or entry[1]
        entry[2] += fragment.arguments
    calls = [
        ToolCall(call_id, name, partial_json_arguments(args), args)
        for _, (call_id, name, args) in sorted(state["calls"].items())
    ]
    message = assistant_message(state["text"], state["reasoning"] or None, calls)
    extra = {"thinking_delta": delta.reasoning} if delta.reasoning else {}
    return ChatResponse(message=message, delta=delta.text, additional_kwargs=extra)


REASONING_AND_TOOLS = [
    ChatDelta(reasoning="The user "),
    ChatDelta(reasoning="wants the weather."),
    ChatDelta(text="Let me "),
    ChatDelta(text="check.", model="m"),
    ChatDelta(tool_calls=[ToolCallDelta(1, id="b", name="get_time", arguments='{"tz"')]),
    ChatDelta(tool_calls=[ToolCallDelta(0, id="a", name="get_weather", arguments="")]),
    ChatDelta(tool_calls=[ToolCallDelta(0, arguments='{"city": "Par')]),
    ChatDelta(reasoning=" And the time.", tool_calls=[ToolCallDelta(1, arguments=': "UTC"}')]),
    ChatDelta(text=" Done", tool_calls=[ToolCallDelta(0, arguments='is"}')]),
    ChatDelta(tool_calls=[ToolCallDelta(2, id="c", name="f", arguments="not json")]),
    ChatDelta(),  # nothing visible: no response
    ChatDelta(finish_reason="tool_calls"),
]
TEXT_ONLY = [ChatDelta(text=piece) for piece in ("Hello", " there", "", "!")]


@pytest.mark.parametrize("deltas", [REASONING_AND_TOOLS, TEXT_ONLY], ids=["reasoning", "text"])
def test_llama_index_stream_messages_equal_the_earlier_ones(deltas: list[ChatDelta]) -> None:
    from llama_index.core.base.llms.types import ThinkingBlock, ToolCallBlock

    from llama_index_workers_ai._convert import StreamedMessage

    old_state: dict[str, Any] = {"text": "", "reasoning": "", "calls": {}}
    new = StreamedMessage()
    responses = 0
    for delta in deltas:
        new.add(delta)
        if not (delta.text or delta.reasoning or delta.tool_calls):
            continue
        before, after = _old_partial_response(old_state, delta), new.response(delta)
        responses += 1
        assert after == before
        assert after.model_dump() == before.model_dump()
        assert after.message.additional_kwargs == before.message.additional_kwargs
        assert (after.delta, after.additional_kwargs) == (before.delta, before.additional_kwargs)
        assert after.message.content == before.message.content
        kinds = [type(block) for block in after.message.blocks]
        assert (ThinkingBlock in kinds) == bool(new.reasoning)
        assert kinds.count(ToolCallBlock) == len(old_state["calls"])
    assert responses == len([d for d in deltas if d.text or d.reasoning or d.tool_calls])


def test_llama_index_stream_messages_are_distinct_objects() -> None:
    """Each response has its own message and text block; a later one never changes an earlier."""
    from llama_index_workers_ai._convert import StreamedMessage

    state = StreamedMessage()
    seen = []
    for delta in REASONING_AND_TOOLS:
        state.add(delta)
        if delta.text or delta.reasoning or delta.tool_calls:
            seen.append((state.response(delta), None))
    dumps_before = [response.model_dump() for response, _ in seen]
    assert len({id(response.message) for response, _ in seen}) == len(seen)
    assert [response.model_dump() for response, _ in seen] == dumps_before


# --- LangChain: the streamed chunk ----------------------------------------------------------------


@pytest.mark.parametrize(
    "delta",
    [ChatDelta(text="Hi"), ChatDelta(reasoning="why"), ChatDelta(text="a", reasoning="b")],
)
def test_langchain_chunk_equals_the_earlier_one(delta: ChatDelta) -> None:
    from langchain_core.messages import AIMessageChunk

    from langchain_workers_ai._convert import delta_to_ai_chunk

    additional = {"reasoning_content": delta.reasoning} if delta.reasoning else {}
    before = AIMessageChunk(content=delta.text, additional_kwargs=additional)
    after = delta_to_ai_chunk(delta)
    assert after == before
    assert after.model_dump() == before.model_dump()
    assert (after + after) == (before + before)
