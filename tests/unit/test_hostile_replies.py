"""Hostile and malformed server replies end in a result or a typed error, never anything else.

Part 1 is a table per defect of the hardening issue (item 1), through the pure functions and
through ``WorkersAIClient`` / ``AsyncWorkersAIClient`` over ``httpx.MockTransport`` (the
``runner`` fixture of ``conftest.py`` runs both and records retry sleeps instead of sleeping).
Part 2 fuzzes the normalisers, the envelope, the SSE decoder and the stream accumulator with
hostile JSON text (deep nesting, huge integers, ``1e400``, lone surrogate escapes, odd error
codes, random values where objects are expected) and asserts that only
:class:`~workers_ai.errors.WorkersAIError` escapes; valid streams give the same result whatever
the chunk boundaries of the byte stream. Each fuzz test runs with both JSON parsers of
:func:`~workers_ai.envelope.loads_json` (orjson when installed, and json alone), and one more
asserts that both read every generated reply alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.mock_transport import Recorder, Runner
from tests.support.sse import split_sse_lines
from tests.support.waits import fake_waits
from workers_ai import envelope as envelope_module
from workers_ai import errors as E
from workers_ai.chat import normalize_chat_result, usage_from_wire
from workers_ai.embeddings import parse_embedding_response
from workers_ai.envelope import (
    MAX_JSON_DEPTH,
    status_error_from_response,
    unwrap_response,
)
from workers_ai.rerank import parse_rerank_response
from workers_ai.retry import is_retryable
from workers_ai.streaming import (
    ChatStreamAccumulator,
    EventStreamReader,
    SSEDecoder,
    SSEEvent,
    parse_event_data,
    stream_error_from_payload,
)
from workers_ai.tools import parse_text_tool_calls, parse_tool_call, synthesize_tool_call_id
from workers_ai.types import ChatResult

MODEL = "@cf/meta/llama-3.1-8b-instruct"  # streams over SSE (catalog)
DEEP = 100_000
HUGE_INT = "1" + "0" * 400
SSE_HEADERS = {"content-type": "text/event-stream"}


def envelope(result: str) -> bytes:
    """A success envelope around ``result``, given as JSON text (so hostile tokens survive)."""
    return f'{{"result": {result}, "success": true, "errors": [], "messages": []}}'.encode()


def sse_body(*datas: str, done: bool = True) -> bytes:
    return "".join(f"data: {d}\n\n" for d in [*datas, *(["[DONE]"] if done else [])]).encode()


def json_response(status: int, content: bytes) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": "application/json"})


def consume(runner: Runner, handler: Recorder, method: str, **kw: Any) -> Any:
    inputs = {"prompt": "hi"}
    result = runner.call(handler, method, MODEL, inputs, client_kwargs={"max_retries": 1}, **kw)
    if method == "stream_chat":
        _, stream = result
        return stream.result()
    return result.result if method == "chat" else result


# =================================================================================================
# Part 1: the reported defects, one table each
# =================================================================================================

# --- deep nesting ---------------------------------------------------------------------------------

DEEP_BODIES = [
    pytest.param(b"[" * DEEP, id="open_brackets"),
    pytest.param(("[" * DEEP + "]" * DEEP).encode(), id="balanced_brackets"),
    pytest.param(('{"a":' * DEEP + "1" + "}" * DEEP).encode(), id="nested_objects"),
    pytest.param(envelope("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)), id="just_over"),
]


@pytest.mark.parametrize("content", DEEP_BODIES)
def test_deep_2xx_body_is_a_validation_error_with_a_short_excerpt(content: bytes) -> None:
    with pytest.raises(E.APIResponseValidationError) as info:
        unwrap_response(200, {}, content)
    assert "HTTP 200" in str(info.value)
    assert f"deeper than {MAX_JSON_DEPTH}" in str(info.value)
    assert isinstance(info.value.body, str) and len(info.value.body) <= 200
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, E.BadRequestError), (429, E.RateLimitError), (503, E.InternalServerError)],
)
def test_deep_error_body_still_maps_by_status(status: int, cls: type[E.APIStatusError]) -> None:
    error = status_error_from_response(status, {}, b"[" * DEEP)
    assert type(error) is cls
    assert error.code is None
    assert isinstance(error.body, str) and len(error.body) <= 200


def test_nesting_within_the_bound_is_read() -> None:
    depth = MAX_JSON_DEPTH - 1  # plus the envelope object: exactly the bound
    assert unwrap_response(200, {}, envelope("[" * depth + "]" * depth)) is not None


def test_deep_body_through_the_client_is_a_validation_error_not_retried(runner: Runner) -> None:
    handler = Recorder([json_response(200, b"[" * DEEP)])
    with pytest.raises(E.APIResponseValidationError) as info:
        consume(runner, handler, "run")
    assert len(handler.requests) == 1  # a malformed 2xx body is not retried
    assert len(str(info.value)) < 400


def test_deep_sse_event_is_a_stream_error(runner: Runner) -> None:
    handler = Recorder([httpx.Response(200, content=sse_body("[" * DEEP), headers=SSE_HEADERS)])
    with pytest.raises(E.StreamError) as info:
        consume(runner, handler, "stream_chat")
    assert f"deeper than {MAX_JSON_DEPTH}" in str(info.value)
    assert len(str(info.value)) < 400


def test_deep_streamed_tool_arguments_become_an_invalid_call(runner: Runner) -> None:
    fragments = [
        {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "[" * 50_000}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "[" * 50_000}}]},
    ]
    body = sse_body(*map(json.dumps, fragments))
    handler = Recorder([httpx.Response(200, content=body, headers=SSE_HEADERS)])
    result = consume(runner, handler, "stream_chat", tool_names=("f",))
    assert result.tool_calls == []
    (call,) = result.invalid_tool_calls
    assert call.name == "f" and call.raw_arguments == "[" * 100_000
    assert f"deeper than {MAX_JSON_DEPTH}" in (call.error or "")


@pytest.mark.parametrize(
    "text",
    ["[" * DEEP, '{"name": "f", "arguments": ' + "[" * DEEP, "```json\n" + "{" * DEEP + "\n```"],
    ids=["brackets", "call_prefix", "fenced"],
)
def test_deep_text_tool_calls_are_not_calls(text: str) -> None:
    assert parse_text_tool_calls(text, ["f"]) is None
    assert normalize_chat_result({"response": text}, tool_names=["f"]).text == text


# --- error codes ----------------------------------------------------------------------------------

# (code as JSON text, expected code, expected class at HTTP 429)
ODD_CODES = [
    ('"²"', None, E.RateLimitError),  # str.isdigit() accepts superscripts; int() does not
    ('"³⁰⁴⁰"', None, E.RateLimitError),
    ('"\uff13\uff10\uff14\uff10"', None, E.RateLimitError),  # fullwidth: int() accepts them
    ('"٣٠٤٠"', None, E.RateLimitError),  # Arabic-Indic digits: int() would accept them
    ('"-1"', None, E.RateLimitError),
    ("-1", None, E.RateLimitError),
    ("3040.0", None, E.RateLimitError),
    ('"3040.0"', None, E.RateLimitError),
    ("[3040]", None, E.RateLimitError),
    ('{"code": 3040}', None, E.RateLimitError),
    ("true", None, E.RateLimitError),
    ("null", None, E.RateLimitError),
    (HUGE_INT, None, E.RateLimitError),
    (f'"{HUGE_INT}"', None, E.RateLimitError),
    ('"' + "9" * 5000 + '"', None, E.RateLimitError),  # int() would refuse > 4300 digits
    ("1e400", None, E.RateLimitError),
    ('"\\ud83d"', None, E.RateLimitError),
    ('"3040"', 3040, E.CapacityError),
    ('" 3040 "', 3040, E.CapacityError),
    ("3040", 3040, E.CapacityError),
    ("9999", 9999, E.RateLimitError),
]


@pytest.mark.parametrize(("code_json", "code", "cls"), ODD_CODES)
def test_error_codes_are_ascii_digits_only(
    code_json: str, code: int | None, cls: type[E.APIStatusError]
) -> None:
    content = f'{{"errors": [{{"code": {code_json}, "message": "slow down"}}]}}'.encode()
    error = status_error_from_response(429, {}, content)
    assert type(error) is cls
    assert error.code == code
    assert is_retryable(error)
    stream_error = stream_error_from_payload(json.loads(content))  # the same reading in streams
    assert stream_error is not None and stream_error.code == code


@pytest.mark.parametrize("code_json", ['"²"', "-1", "3040.0", "[3040]", HUGE_INT, '"\uff13"'])
def test_429_with_an_unreadable_code_is_retried(runner: Runner, code_json: str) -> None:
    content = f'{{"errors": [{{"code": {code_json}}}]}}'.encode()
    handler = Recorder([json_response(429, content)])
    with pytest.raises(E.RateLimitError) as info:
        consume(runner, handler, "run")
    assert type(info.value) is E.RateLimitError
    assert info.value.code is None
    assert len(handler.requests) == 2  # max_retries=1: retried once like any 429
    assert len(runner.sleeps) == 1


def test_429_with_an_unreadable_code_then_success(runner: Runner) -> None:
    handler = Recorder(
        [json_response(429, b'{"errors":[{"code":"\xc2\xb2"}]}'), json_response(200, envelope("1"))]
    )
    assert consume(runner, handler, "run") == 1
    assert len(handler.requests) == 2


# --- huge numbers in usage, embeddings and rerank -------------------------------------------

HUGE_NUMBERS = [
    HUGE_INT,
    "-" + HUGE_INT,
    "1e400",
    "-1e400",
    "9007199254740992",  # 2**53
    "-1",
    "NaN",
    "Infinity",
    '"' + HUGE_INT + '"',
    '"1e400"',
    '"nan"',
]
USAGE_FIELDS = ["neurons", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"]


@pytest.mark.parametrize("number", HUGE_NUMBERS)
@pytest.mark.parametrize("field", USAGE_FIELDS)
def test_out_of_range_usage_numbers_are_unknown(field: str, number: str) -> None:
    raw = json.loads(f'{{"{field}": {number}, "prompt_tokens_details": {{"cached_tokens": 2}}}}')
    usage = usage_from_wire(raw)
    assert usage is not None  # cached_tokens 2 is still known
    for name in ("input_tokens", "output_tokens", "total_tokens"):
        assert 0 <= getattr(usage, name) < 2**53
    assert usage.neurons is None
    assert usage.cached_tokens == 2


def test_huge_neurons_through_the_client(runner: Runner) -> None:
    result = f'{{"response": "hi", "usage": {{"prompt_tokens": 3, "neurons": {HUGE_INT}}}}}'
    handler = Recorder([json_response(200, envelope(result))])
    chat = consume(runner, handler, "chat")
    assert chat.text == "hi"
    assert chat.usage is not None and chat.usage.input_tokens == 3 and chat.usage.neurons is None


def test_huge_usage_in_a_stream_is_unknown_and_sums_do_not_overflow(runner: Runner) -> None:
    events = [
        f'{{"response": "a", "usage": {{"prompt_tokens": 5, "neurons": {HUGE_INT}}}}}',
        f'{{"response": "b", "usage": {{"prompt_tokens": {HUGE_INT}, "completion_tokens": 2}}}}',
        '{"response": "", "usage": {"prompt_tokens": 1, "completion_tokens": 1e400}}',
    ]
    handler = Recorder([httpx.Response(200, content=sse_body(*events), headers=SSE_HEADERS)])
    result = consume(runner, handler, "stream_chat")
    assert result.text == "ab"
    assert result.usage is not None and result.usage.neurons is None


@pytest.mark.parametrize("number", [HUGE_INT, "1e400", "NaN", "-Infinity"])
def test_huge_numbers_in_vectors_and_scores_are_validation_errors(number: str) -> None:
    vectors = json.loads(f'{{"shape": [1, 2], "data": [[0.5, {number}]]}}')
    with pytest.raises(E.APIResponseValidationError):
        parse_embedding_response(vectors, 1)
    scores = json.loads(f'{{"response": [{{"id": 0, "score": {number}}}]}}')
    with pytest.raises(E.APIResponseValidationError) as info:
        parse_rerank_response(scores, [0])
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("vector", "finite"),
    [
        ([1e308, 1e308], True),  # the sum overflows; every component is finite
        ([1e308, 1e308, -1e308, -1e308, -1e308], True),
        ([1e308, 1e308, float("-inf")], False),
        ([float("inf"), 1.0, float("-inf")], False),
        ([0.5, float("nan")], False),
        ([0, 1, -0.5], True),
    ],
)
def test_every_component_is_tested_for_finiteness(vector: list[float], finite: bool) -> None:
    data = {"shape": [1, len(vector)], "data": [vector]}
    if finite:
        assert parse_embedding_response(data, 1) == [[float(x) for x in vector]]
    else:
        with pytest.raises(E.APIResponseValidationError, match="non-finite"):
            parse_embedding_response(data, 1)


def test_embedding_errors_carry_a_short_excerpt() -> None:
    data = {"shape": [100, 1024], "data": [[0.1] * 1024] * 99 + [["x" * 100_000]]}
    with pytest.raises(E.APIResponseValidationError) as info:
        parse_embedding_response(data, 100)
    assert len(str(info.value)) < 400 and len(info.value.body) <= 300


def test_odd_openai_list_indexes_do_not_break_sorting() -> None:
    data = {
        "object": "list",
        "data": [
            {"index": "b", "embedding": [1]},
            {"index": 1, "embedding": [2]},
            {"index": None, "embedding": [3]},
        ],
    }
    assert parse_embedding_response(data, 3) == [[1.0], [3.0], [2.0]]


# --- lone surrogates in tool calls ----------------------------------------------------------------

SURROGATE_CALLS = [
    pytest.param('{"name": "f", "arguments": {"a": "\\ud83d"}}', id="object_arguments"),
    pytest.param('{"name": "f", "arguments": "{\\"a\\": \\"\\\\ud83d\\"}"}', id="string_args"),
    pytest.param('{"name": "\\udc00", "arguments": {}}', id="name"),
    pytest.param('{"name": "f", "arguments": "\\ud83d"}', id="raw_arguments"),
]


@pytest.mark.parametrize("call_json", SURROGATE_CALLS)
def test_lone_surrogates_get_a_stable_synthesized_id(call_json: str) -> None:
    call = parse_tool_call(json.loads(call_json), 0)
    again = parse_tool_call(json.loads(call_json), 0)
    assert call.id.startswith("call_") and call.id == again.id


def test_synthesized_ids_are_unchanged_for_ordinary_text() -> None:
    # The id hashes UTF-8; surrogatepass only matters for lone surrogates.
    digest = hashlib.sha256('0\x00f\x00{"a": "é😀"}'.encode()).hexdigest()
    assert synthesize_tool_call_id("f", '{"a": "é😀"}', 0) == "call_" + digest[:24]


@pytest.mark.parametrize("call_json", SURROGATE_CALLS)
def test_lone_surrogates_in_tool_calls_through_the_client(runner: Runner, call_json: str) -> None:
    body = envelope(f'{{"response": "", "tool_calls": [{call_json}]}}')
    chat = consume(runner, Recorder([json_response(200, body)]), "chat", tool_names=("f",))
    stream = consume(runner, Recorder([json_response(200, body)]), "stream_chat", tool_names=("f",))
    calls = [*chat.tool_calls, *chat.invalid_tool_calls]
    assert len(calls) == 1
    assert [c.id for c in calls] == [c.id for c in [*stream.tool_calls, *stream.invalid_tool_calls]]


def test_lone_surrogates_in_streamed_tool_fragments() -> None:
    events = [
        {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": '{"a": "\\ud83d'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]},
    ]
    lines = split_sse_lines(sse_body(*map(json.dumps, events)).decode())
    result = _stream_result(lines, ["f"])
    assert [c.name for c in result.tool_calls] == ["f"]


# --- through the framework adapters -----------------------------------------------------------

TOOL = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}
DEEP_TOOL_STREAM = sse_body(
    *(
        json.dumps({"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]})
        for fragment in (
            {"index": 0, "id": "call_1", "type": "function",
             "function": {"name": "f", "arguments": "[" * 50_000}},
            {"index": 0, "function": {"arguments": "[" * 50_000}},
        )
    )
)  # fmt: skip


def _stream_handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=DEEP_TOOL_STREAM, headers=SSE_HEADERS)


def test_langchain_stream_with_deep_tool_arguments() -> None:
    from langchain_workers_ai import ChatWorkersAI

    llm = ChatWorkersAI(
        model=MODEL,
        account_id="0" * 32,
        api_token="t",
        http_client=httpx.Client(transport=httpx.MockTransport(_stream_handler)),
    )
    chunks = list(llm.bind_tools([TOOL]).stream("hi"))
    message = chunks[0]
    for chunk in chunks[1:]:
        message += chunk
    assert message.tool_calls == []
    assert [call["name"] for call in message.invalid_tool_calls] == ["f"]


def test_langchain_429_with_an_unreadable_code_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_workers_ai import ChatWorkersAI

    sleeps = fake_waits(monkeypatch).delays

    handler = Recorder([json_response(429, b'{"errors": [{"code": "\xc2\xb2"}]}')])
    llm = ChatWorkersAI(
        model=MODEL,
        account_id="0" * 32,
        api_token="t",
        max_retries=1,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(E.RateLimitError):
        llm.invoke("hi")
    assert len(handler.requests) == 2 and len(sleeps) == 1


def test_llama_index_stream_with_deep_tool_arguments() -> None:
    from llama_index.core.llms import ChatMessage

    from llama_index_workers_ai import WorkersAI

    llm = WorkersAI(
        model=MODEL,
        account_id="0" * 32,
        api_token="t",
        http_client=httpx.Client(transport=httpx.MockTransport(_stream_handler)),
    )
    responses = list(llm.stream_chat([ChatMessage(role="user", content="hi")]))
    assert responses


# --- a JSON body that is no object, answering a stream request ----------------------------------


@pytest.mark.parametrize("result", ['"just text"', "[1, 2]", "null", "42"])
def test_stream_answered_with_json_that_is_no_object(runner: Runner, result: str) -> None:
    for method in ("chat", "stream_chat"):  # both end in the same typed error
        handler = Recorder([json_response(200, envelope(result))])
        with pytest.raises(E.APIResponseValidationError):
            consume(runner, handler, method)
        assert len(handler.requests) == 1


# --- SSE framing bounds ---------------------------------------------------------------------------


def test_sse_retry_field_with_thousands_of_digits_is_ignored() -> None:
    decoder = SSEDecoder()
    assert decoder.decode("retry: " + "9" * 5000) is None
    assert decoder.decode("retry: ²") is None
    assert decoder.decode("data: {}") is None
    event = decoder.decode("")
    assert event is not None and event.retry is None


def test_sse_event_data_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers_ai import streaming

    monkeypatch.setattr(streaming, "MAX_EVENT_CHARS", 1_000)
    decoder = SSEDecoder()
    decoder.decode("data: " + "x" * 600)
    with pytest.raises(E.StreamError, match="over 1,000 characters"):
        decoder.decode("data: " + "x" * 600)
    assert decoder.decode("data: {}") is None  # the decoder starts afresh afterwards
    assert decoder.decode("") is not None


# =================================================================================================
# Part 2: fuzzing with hostile generators
# =================================================================================================


class Raw(str):
    """A JSON token emitted verbatim by :func:`dumps` (hostile numbers, escapes, deep nests)."""


def dumps(value: Any) -> str:
    """JSON text of ``value``; :class:`Raw` leaves go in verbatim."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(dumps, value)) + "]"
    return json.dumps(value)


HOSTILE_NUMBERS = [
    HUGE_INT, "-" + HUGE_INT, "1e400", "-1e400", "1e-400", "-0", "NaN", "Infinity", "-Infinity",
    "9007199254740992", "9007199254740993", "-1", "0.5", "4" * 4301, '"' + HUGE_INT + '"',
    '"1e400"', '" 12 "', '"-3"',
    # where orjson and json part: 64-bit integer bounds, beyond a double
    "18446744073709551615", "18446744073709551616", "-9223372036854775808",
    "-9223372036854775809", "1.7976931348623159e308", "0.0012345678901234567890123",
]  # fmt: skip
HOSTILE_STRINGS = [
    '"\\ud83d"', '"\\udc00x"', '"x\\ud83d\\ud83d"', '"²"', '"\\uff13\\uff10\\uff14\\uff10"',
    '"<think>"', '"</think>"', '"{\\"a\\": 1}"', '"{\\"a\\": \\"\\\\ud83d\\"}"', '"[[[[[[[["',
    '"' + "[" * 300 + '"', '"\\u0000"', '"\\ufeff"',
]  # fmt: skip
DEEP_TOKENS = [
    "[" * 129 + "]" * 129, "[" * 300 + "]" * 300, '{"a":' * 200 + "1" + "}" * 200,
    "[" * 5_000 + "]" * 5_000, "[" * DEEP, '{"a":' * DEEP,
]  # fmt: skip
HOSTILE_CODES = [
    *map(Raw, [HUGE_INT, "-" + HUGE_INT, "1e400", "NaN", "-0", '"\\ud83d"', '"²"', '"³⁰⁴⁰"']),
    *map(Raw, ['"\uff13\uff10\uff14\uff10"', '" 3040 "', '"3040.0"', f'"{"9" * 5000}"']),
    -1, 3040, 3021, 3036, 5006, 10**12, 3040.0, [3040], "3040", "-3040", True, None, {"c": 1},
]  # fmt: skip
KEYS = [
    "response", "choices", "message", "delta", "content", "tool_calls", "function", "name",
    "arguments", "parameters", "id", "index", "usage", "prompt_tokens", "completion_tokens",
    "total_tokens", "neurons", "cached_tokens", "prompt_tokens_details", "errors", "error",
    "code", "success", "result", "output", "type", "reasoning_content", "reasoning",
    "finish_reason", "text", "data", "object", "shape", "score", "embedding", "model", "status",
    "call_id", "summary", "p", "messages", "output_text", "refusal",
]  # fmt: skip


def _raw(tokens: list[str]) -> st.SearchStrategy[Raw]:
    return st.sampled_from([Raw(t) for t in tokens])


hostile = _raw(HOSTILE_NUMBERS) | _raw(HOSTILE_STRINGS) | _raw(DEEP_TOKENS)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(KEYS)
    | hostile
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


# Shaped generators, so that hostile values reach the code that reads each field; every field
# may also be a random JSON value where an object or a number is expected.
numbers = _raw(HOSTILE_NUMBERS) | st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
codes = st.sampled_from(HOSTILE_CODES)
error_item = st.fixed_dictionaries({"code": codes}, optional={"message": scalars, "type": scalars})
error_bodies = st.builds(
    lambda key, items, extra: {key: items, **extra},
    st.sampled_from(["errors", "error"]),
    st.lists(error_item | scalars, min_size=1, max_size=3) | error_item | scalars,
    _optional(success=st.sampled_from([False, True, None]), result=json_values),
)
USAGE_KEYS = [*USAGE_FIELDS, "input_tokens", "output_tokens"]
usage = (
    st.dictionaries(st.sampled_from(USAGE_KEYS), numbers, min_size=1, max_size=4)
    | st.builds(lambda n: {"prompt_tokens_details": {"cached_tokens": n}}, numbers)
    | json_values
)
surrogates = _raw([t for t in HOSTILE_STRINGS if "\\ud" in t])
arguments = (
    st.dictionaries(st.text(max_size=3), surrogates | numbers | json_values, max_size=3)
    | (hostile | json_values).map(dumps)  # arguments as JSON text, as chat-completion models send
    | json_values
)
names = st.sampled_from(["f", "get_weather", ""]) | surrogates | scalars
tool_call = (
    _optional(name=names, arguments=arguments, parameters=arguments, id=scalars, index=numbers)
    | _optional(
        id=scalars,
        index=numbers,
        type=st.just("function"),
        function=_optional(name=names, arguments=arguments) | json_values,
    )
    | json_values
)
tool_calls = st.lists(tool_call, max_size=3) | tool_call
message = _optional(
    content=scalars | json_values,
    reasoning_content=scalars,
    tool_calls=tool_calls,
    function_call=tool_call,
)
choice = _optional(
    message=message | json_values,
    delta=message | json_values,
    text=scalars,
    finish_reason=scalars,
    index=numbers,
)
responses_item = _optional(
    type=st.sampled_from(["message", "reasoning", "function_call"]),
    content=json_values,
    name=names,
    arguments=arguments,
    call_id=scalars,
)
responses = scalars | json_values | arguments
choices = st.lists(choice | json_values, min_size=1, max_size=2) | json_values
extras = {"finish_reason": scalars, "model": scalars, "id": scalars, "p": scalars}
chat_results = st.one_of(
    st.fixed_dictionaries(
        {"response": responses}, optional={"tool_calls": tool_calls, "usage": usage, **extras}
    ),
    st.fixed_dictionaries({"usage": usage}, optional={"response": responses, "choices": choices}),
    st.fixed_dictionaries({"choices": choices}, optional={"usage": usage, **extras}),
    st.fixed_dictionaries(
        {"output": st.lists(responses_item | json_values, max_size=2)},
        optional={"usage": usage, "status": scalars},
    ),
    st.fixed_dictionaries({"tool_calls": tool_calls}, optional={"response": responses}),
)
vectors = st.lists(st.lists(numbers, min_size=1, max_size=3), max_size=3) | json_values
embeddings = (
    st.fixed_dictionaries({"data": vectors}, optional={"shape": json_values})
    | st.fixed_dictionaries({"response": vectors})
) | st.builds(
    lambda items: {"object": "list", "data": items},
    st.lists(_optional(index=numbers, embedding=vectors), max_size=3),
)
score = st.fixed_dictionaries({"id": numbers | st.integers(0, 2), "score": numbers}) | scalars
scores = st.fixed_dictionaries({"response": st.lists(score, min_size=1, max_size=3)})


def _wire_value(value: Any) -> Any:
    """``value`` parsed from its JSON text (deeper than the package's bound is fine), or
    ``None`` when Python cannot parse it at all (4,301 digits, thousands of levels)."""
    try:
        return json.loads(dumps(value))
    except (ValueError, RecursionError):
        return None


def only_typed_errors(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``call``; a :class:`WorkersAIError` is fine (returned), anything else fails the test."""
    try:
        return call(*args, **kwargs)
    except E.WorkersAIError as error:
        return error


def _stream_result(lines: list[str], tool_names: list[str] | None = None) -> ChatResult:
    reader = EventStreamReader()
    acc = ChatStreamAccumulator(tool_names=tool_names or ())
    for line in lines:
        for event in reader.feed_line(line):
            acc.feed(event)
    for event in reader.close():
        acc.feed(event)
    acc.finish()
    return acc.result()


def _bodies(value: Any) -> list[bytes]:
    """The value as a bare body and inside a success envelope."""
    return [dumps(value).encode(), envelope(dumps(value))]


# 120 examples each in the default ("ci") run; HYPOTHESIS_PROFILE=explore searches with its own.
FUZZ = settings(
    max_examples=max(120, settings.default.max_examples),
    deadline=None,
    # ``parser`` is function-scoped but the same for every example of a test run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ORJSON = envelope_module._ORJSON


@pytest.fixture(params=["orjson", "json"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with orjson in :func:`~workers_ai.envelope.loads_json`, then with json only."""
    if request.param == "json":
        monkeypatch.setattr(envelope_module, "_ORJSON", None)
    elif ORJSON is None:
        pytest.skip("orjson is not installed")
    return str(request.param)


STATUSES = st.sampled_from([200, 400, 401, 404, 408, 413, 429, 500, 503, 520])


@FUZZ
@given(body=error_bodies, status=STATUSES)
def test_fuzz_error_bodies_over_http_and_sse(
    body: dict[str, Any], status: int, parser: str
) -> None:
    for content in _bodies(body):
        only_typed_errors(unwrap_response, status, {}, content)
        error = only_typed_errors(status_error_from_response, status, {}, content)
        assert isinstance(error, E.APIStatusError)
        assert error.code is None or 0 <= error.code < 10**9
        assert all(isinstance(code, int) for code in error.codes)
        if status == 429 and not isinstance(error, (E.QuotaExceededError, E.RateLimitError)):
            assert error.code in E.CODE_TABLE  # only a known code overrides the status
        if type(error) is E.RateLimitError:
            assert is_retryable(error)
    lines = [f"data: {dumps(body)}", "", "event: error", f"data: {dumps(body)}", ""]
    only_typed_errors(_stream_result, lines)
    payload = _wire_value(body)
    if isinstance(payload, dict):
        stream_error = only_typed_errors(stream_error_from_payload, payload, force=True)
        assert isinstance(stream_error, E.StreamError)
        assert stream_error.code is None or 0 <= stream_error.code < 10**9


@FUZZ
@given(result=chat_results | json_objects | json_values, tools=st.booleans())
def test_fuzz_chat_replies(result: Any, tools: bool, parser: str) -> None:
    names = ["f", "get_weather"] if tools else ()
    for content in _bodies(result):
        data = only_typed_errors(unwrap_response, 200, {}, content)
        if isinstance(data, E.WorkersAIError):
            continue
        for think in (None, True, False):
            only_typed_errors(normalize_chat_result, data, think_tags=think, tool_names=names)
        if isinstance(data, dict):
            only_typed_errors(usage_from_wire, data.get("usage"))
            only_typed_errors(_stream_result, [f"data: {json.dumps(data)}", ""], list(names))


@FUZZ
@given(data=embeddings | scores | json_values, expected=st.none() | st.integers(0, 3))
def test_fuzz_embedding_and_rerank_replies(data: Any, expected: int | None, parser: str) -> None:
    for content in _bodies(data):
        parsed = only_typed_errors(unwrap_response, 200, {}, content)
        if isinstance(parsed, E.WorkersAIError):
            continue
        only_typed_errors(parse_embedding_response, parsed, expected)
        only_typed_errors(parse_rerank_response, parsed, [0, 1, 2])


def _outcome(call: Any, *args: Any) -> tuple[Any, ...]:
    try:
        value = call(*args)
    except Exception as error:  # compared between the parsers, whatever it is
        return ("error", type(error), str(error), getattr(error, "body", None))
    return ("value", repr(value))  # repr: 1, 1.0 and True differ, and so do -0.0 and 0.0


def _read_alike(call: Any, *args: Any) -> None:
    with pytest.MonkeyPatch.context() as patch:
        fast = _outcome(call, *args)
        patch.setattr(envelope_module, "_ORJSON", None)
        assert _outcome(call, *args) == fast


@pytest.mark.skipif(ORJSON is None, reason="orjson is not installed")
@FUZZ
@given(value=error_bodies | chat_results | embeddings | scores | json_values)
def test_fuzz_both_parsers_read_every_reply_alike(value: Any) -> None:
    for content in _bodies(value):
        _read_alike(unwrap_response, 200, {}, content)
        _read_alike(status_error_from_response, 429, {}, content)
        _read_alike(parse_event_data, SSEEvent(data=content.decode()))


@FUZZ
@given(text=st.lists(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_STRINGS + DEEP_TOKENS)
                     | st.text(max_size=8), max_size=6))  # fmt: skip
def test_fuzz_text_tool_calls(text: list[str], parser: str) -> None:
    joined = '{"name": "f", "arguments": ' + "".join(text)
    for candidate in (joined, "".join(text), f"<tool_call>{joined}</tool_call>", joined + "}"):
        only_typed_errors(parse_text_tool_calls, candidate, ["f"])
        only_typed_errors(normalize_chat_result, {"response": candidate}, tool_names=["f"])


sse_fields = st.one_of(
    st.builds(lambda v: f"data: {dumps(v)}", chat_results | error_bodies),
    st.builds(lambda v: f"data: {dumps(v)}", json_values),
    st.builds(lambda t: f"data: {t}", hostile),
    st.sampled_from(
        [
            "",
            "",
            "event: error",
            "retry: " + "9" * 5000,
            "retry: ²",
            ": comment",
            "id: \x00",
            "\ufeffdata: {}",
            "data",
            "data: [DONE]",
        ]
    ),
)


@FUZZ
@given(fields=st.lists(sse_fields, max_size=10), tools=st.booleans())
def test_fuzz_sse_decoder_reader_and_accumulator(
    fields: list[str], tools: bool, parser: str
) -> None:
    text = "\n".join(fields) + "\n\n"
    decoder = SSEDecoder()
    for line in split_sse_lines(text):
        event = only_typed_errors(decoder.decode, line)
        if event is not None and not isinstance(event, E.WorkersAIError):
            only_typed_errors(parse_event_data, event)
    only_typed_errors(_stream_result, split_sse_lines(text), ["f"] if tools else None)


@FUZZ
@given(events=st.lists(chat_results, max_size=5), tools=st.booleans(), think=st.booleans())
def test_fuzz_accumulator_with_random_events(
    events: list[dict[str, Any]], tools: bool, think: bool, parser: str
) -> None:
    acc = ChatStreamAccumulator(think_tags=think or None, tool_names=["f"] if tools else ())
    for event in filter(None, map(_wire_value, events)):
        only_typed_errors(acc.feed, event)
    only_typed_errors(acc.finish)
    only_typed_errors(acc.result)


@FUZZ
@given(event=json_values)
def test_fuzz_accumulator_with_non_objects(event: Any, parser: str) -> None:
    value = _wire_value(event)
    if value is not None:
        only_typed_errors(ChatStreamAccumulator().feed, value)


# --- chunk boundaries of the byte stream ----------------------------------------------------------

_PIECE = st.text(alphabet='ab é😀\n{}"\\<>/think', max_size=6)


def _valid_events(draw: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for kind in draw(st.lists(st.sampled_from(["text", "openai", "tool", "usage"]), max_size=8)):
        if kind == "text":
            events.append({"response": draw(_PIECE)})
        elif kind == "openai":
            events.append({"choices": [{"index": 0, "delta": {"content": draw(_PIECE)}}]})
        elif kind == "tool":
            args = draw(_PIECE)
            function = {"name": "f", "arguments": args}
            events.append({"tool_calls": [{"index": 0, "function": function}]})
        else:
            count = draw(st.integers(min_value=0, max_value=2**53 - 1))
            events.append({"response": "", "usage": {"prompt_tokens": count, "neurons": 0.5}})
    return events


@st.composite
def valid_streams(draw: Any) -> tuple[bytes, list[int]]:
    events = _valid_events(draw)
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    datas = [json.dumps(e, ensure_ascii=draw(st.booleans())) for e in events] + ["[DONE]"]
    body = "".join(f"data: {d}{newline}{newline}" for d in datas)
    data = body.encode()
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=10)))
    return data, cuts


def _chunks(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    start = 0
    for cut in [*cuts, len(data)]:
        yield data[start:cut]
        start = cut


def _lines_from_chunks(chunks: Iterator[bytes]) -> list[str]:
    """Lines exactly as the clients read them (``httpx.Response.iter_lines``)."""
    return list(httpx.Response(200, content=chunks, headers=SSE_HEADERS).iter_lines())


def _summary(result: ChatResult) -> tuple[Any, ...]:
    return (
        result.text,
        result.reasoning,
        result.tool_calls,
        result.invalid_tool_calls,
        result.usage,
        result.finish_reason,
    )


@settings(max_examples=100, deadline=None)
@given(stream=valid_streams(), tools=st.booleans())
def test_chunk_boundaries_of_the_byte_stream_do_not_change_the_result(
    stream: tuple[bytes, list[int]], tools: bool
) -> None:
    data, cuts = stream
    names = ["f"] if tools else None
    whole = _stream_result(split_sse_lines(data.decode()), names)
    chunked = _stream_result(_lines_from_chunks(_chunks(data, cuts)), names)
    one_byte = _stream_result(_lines_from_chunks(data[i : i + 1] for i in range(len(data))), names)
    assert _summary(chunked) == _summary(whole) == _summary(one_byte)


def test_a_huge_stream_event_through_the_client_is_a_stream_error(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers_ai import streaming

    monkeypatch.setattr(streaming, "MAX_EVENT_CHARS", 10_000)
    body = b'data: {"response": "a"}\n\n' + (b"data: " + b"x" * 1_000 + b"\n") * 20
    handler = Recorder([httpx.Response(200, content=body, headers=SSE_HEADERS)])
    with pytest.raises(E.StreamError, match="over 10,000 characters"):
        consume(runner, handler, "stream_chat")
    assert len(handler.requests) == 1  # the first event was handed out: never retried
