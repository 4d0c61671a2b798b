"""Server-sent events and stream accumulation (pure: no I/O; the clients feed it lines).

:class:`SSEDecoder` turns lines into :class:`SSEEvent` s (WHATWG rules);
:class:`EventStreamReader` turns those into JSON dicts, stops at ``data: [DONE]`` and raises
:class:`~workers_ai.errors.StreamError` for error events, bad JSON or a missing ``[DONE]``;
:class:`ChatStreamAccumulator` turns every stream shape of spec §3 into
:class:`~workers_ai.types.ChatDelta` s and one consistent :class:`~workers_ai.types.ChatResult`.

Most events of a stream are one ``data: {...}`` line carrying one piece of text. The reader and
the accumulator read those on fast paths (:data:`FAST_PATHS`) that accept only what the general
code would read the same way, within the same bounds, and hand everything else to it.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from json.scanner import make_scanner
from typing import Any, Final, Literal, cast

from workers_ai.anthropic import MESSAGES_EVENTS, MessagesStreamState, is_messages_answer
from workers_ai.chat import normalize_chat_result, usage_from_wire
from workers_ai.envelope import (
    MAX_EVENT_CHARS,
    MAX_JSON_DEPTH,
    error_details_from_body,
    loads_json,
    value_excerpt,
)
from workers_ai.errors import StreamError
from workers_ai.openai_responses import RESPONSES_EVENTS, TERMINAL_EVENTS, ResponsesStreamState
from workers_ai.tools import parse_text_tool_calls, parse_tool_call
from workers_ai.types import ChatDelta, ChatResult, ToolCall, ToolCallDelta, Usage, WireDelta

__all__ = [
    "DONE", "ChatStreamAccumulator", "EventStreamReader", "SSEDecoder", "SSEEvent",
    "StreamSentinel", "is_preamble", "parse_event_data", "stream_error_from_payload",
]  # fmt: skip

_EXCERPT_CHARS = 160
_MAX_RETRY_DIGITS = 10

#: Whether readers and accumulators built from now on take the fast paths for the common event
#: shapes (one ``data: {...}`` line; a plain-text classic event or OpenAI content chunk). Their
#: results are identical to the general reading's (``tests/unit/test_fast_paths.py`` compares
#: both); ``False`` is for those tests and for ruling the fast paths out when debugging.
FAST_PATHS = True

# --- SSE framing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched server-sent event.

    Attributes:
        event: The event type (``"message"`` when the stream named none).
        data: The ``data:`` lines of the event joined with ``"\\n"``.
        id: The last event id seen on the stream so far (ids persist across events).
        retry: The reconnection time in ms sent with this event, if any.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """A line-at-a-time decoder of the ``text/event-stream`` format (WHATWG HTML §9.2.6).

    ``data:`` lines accumulate (joined with ``"\\n"``), ``event:``/``id:``/``retry:`` set the
    event's fields, lines starting with ``:`` are comments, one space after the colon is
    dropped, and a blank line dispatches the event. An event without ``data`` is not
    dispatched. Unlike a browser, :meth:`flush` also dispatches a last event the server did not
    terminate with a blank line (some servers end the body right after ``data: [DONE]``).

    Raises:
        StreamError: An event's data grows over
            :data:`~workers_ai.envelope.MAX_EVENT_CHARS` (16 MiB).
    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._first_line = True

    def decode(self, line: str) -> SSEEvent | None:
        """Feed one line (terminator optional); return the event a blank line completes."""
        line = line.rstrip("\r\n")
        if self._first_line:
            self._first_line = False
            line = line.removeprefix("\ufeff")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._size += len(value) + 1
            if self._size > MAX_EVENT_CHARS:
                self._data, self._size = [], 0
                raise StreamError(
                    f"Workers AI stream event data is over {MAX_EVENT_CHARS:,} characters"
                )
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value) if len(value) <= _MAX_RETRY_DIGITS else self._retry
        return None

    def flush(self) -> SSEEvent | None:
        """Dispatch the pending event at the end of the body, if it has data."""
        return self._dispatch()

    def _idle(self) -> bool:
        """Whether no field of an event is pending (the next blank line would dispatch none)."""
        return not self._data and not self._event and self._retry is None

    def _dispatch(self) -> SSEEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry, self._size = [], "", None, 0
        if not data:
            return None
        return SSEEvent(
            event=event or "message", data="\n".join(data), id=self._last_id, retry=retry
        )


# --- Event data: [DONE], JSON, error events ----------------------------------------------------


class StreamSentinel(enum.Enum):
    """Marker values of a stream (only :data:`DONE`)."""

    DONE = "[DONE]"


#: Returned by :func:`parse_event_data` for ``data: [DONE]``.
DONE: Final = StreamSentinel.DONE


def _excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    flat = " ".join(text[: 64 * limit].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def stream_error_from_payload(
    payload: Mapping[str, Any], *, force: bool = False
) -> StreamError | None:
    """Return the :class:`StreamError` an event stands for, or ``None`` for a normal event.

    Error shapes: ``{"errors": [{"code", "message"}]}`` (non-empty), ``{"success": false}``,
    OpenAI ``{"error": {"message", "code" | "type"}}``, AI Gateway ``{"error": [{code,
    message}]}``. ``"errors": []`` on a normal event is not an error.
    ``force`` treats the payload as an error whatever its shape (an ``event: error`` event).
    Items, codes and messages are read by :func:`~workers_ai.envelope.error_details_from_body`,
    exactly as for an HTTP error response.
    """
    details = error_details_from_body(payload)
    if not details.items and not force and payload.get("success") is not False:
        return None
    message = details.message or value_excerpt(payload, _EXCERPT_CHARS)
    return StreamError(
        f"Workers AI stream error: {_excerpt(message)}",
        code=details.code,
        error_class=details.error_class,
        body=dict(payload),
    )


def parse_event_data(event: SSEEvent) -> dict[str, Any] | Literal[StreamSentinel.DONE]:
    """Decode one event's data: :data:`DONE`, or the JSON object it carries (a *named* event
    whose data is another JSON value comes as ``{"event": name, "data": value}``).

    Raises:
        StreamError: The data is an error event (``code``/``error_class`` set from
            :data:`~workers_ai.errors.CODE_TABLE`), is not valid JSON, or is not an object.
    """
    data = event.data.strip()
    if data == "[DONE]":
        return DONE
    is_error = event.event == "error"
    try:
        payload = loads_json(data, max_size=MAX_EVENT_CHARS)
    except ValueError as exc:  # not JSON, or beyond the bounds
        reason = _excerpt(str(exc), 60)
        what = "stream error" if is_error else f"malformed JSON in stream event ({reason})"
        raise StreamError(f"Workers AI {what}: {_excerpt(data)!r}", body=_excerpt(data)) from None
    if not isinstance(payload, dict):
        if not is_error and event.event != "message":  # a named event of other data (AI
            return {"event": event.event, "data": payload}  # Search's ``event: chunks`` list)
        kind = "error" if is_error else "stream event data is not a JSON object"
        raise StreamError(f"Workers AI {kind}: {_excerpt(data)!r}", body=_excerpt(data))
    event_type = _event_type(payload)
    if event_type == "response.failed":  # the Responses API's failure: its error is inside
        response = payload.get("response")
        failure = response.get("error") if isinstance(response, Mapping) else None
        payload = {**payload, "error": failure or {"message": "response.failed"}}
    elif event_type == "error" and "error" not in payload:  # the Responses API's error event
        fields = {k: payload[k] for k in ("code", "message", "param") if k in payload}
        payload = {**payload, "error": fields or {"message": "error"}}
    error = stream_error_from_payload(payload, force=is_error or event_type in _ERROR_TYPES)
    if error is not None:
        raise error
    return payload


def _event_type(payload: Mapping[str, Any]) -> str | None:
    """An event's ``type`` (typed streams: Anthropic Messages, OpenAI Responses), if a string."""
    kind = payload.get("type")
    return kind if type(kind) is str else None


#: ``type`` of the events that end a stream without ``[DONE]``: Anthropic's ``message_stop``,
#: the Responses API's ``response.completed`` / ``response.incomplete``.
TERMINAL_TYPES = frozenset({"message_stop", *TERMINAL_EVENTS})
#: ``type`` of a typed stream's opening events, which say nothing yet (no text, no call).
_PREAMBLE_TYPES = frozenset({"message_start", "ping", "response.created", "response.in_progress"})


def is_preamble(event: Mapping[str, Any]) -> bool:
    """Whether an event only opens a typed stream (an error right after it is still an error
    at the start: retried, or handed to a fallback)."""
    return _event_type(event) in _PREAMBLE_TYPES


#: ``type`` of error events that may come without ``event: error``.
_ERROR_TYPES = frozenset({"error", "response.failed"})


class EventStreamReader:
    """Turns body lines into JSON events; the clients feed it and yield what it returns.

    ``for line in response.iter_lines(): yield from reader.feed_line(line)``, then
    ``yield from reader.close()``. Events with blank data (keep-alives) are skipped; lines
    after ``[DONE]`` are ignored.

    Fast path (:data:`FAST_PATHS`): an event that is one ``data: {...}`` line and a blank line
    is parsed straight from the line, with the same bounds (size, nesting) and the same parser
    as :func:`~workers_ai.envelope.loads_json`; anything it does not accept as a plain,
    error-free object (other fields, several data lines, bad JSON, an error body...) is fed to
    the decoder and read by :func:`parse_event_data`, so results and errors are unchanged.
    """

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self._done = False
        self._events = 0
        self._fast = FAST_PATHS
        self._held: str | None = None  # a lone ``data: {`` line, until its blank line comes

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` has been read."""
        return self._done

    def feed_line(self, line: str) -> list[dict[str, Any]]:
        """Feed one line; return the data events it completes (raises like ``parse_event_data``)."""
        if self._done:
            return []
        held = self._held
        if held is not None:
            self._held = None
            if not line.rstrip("\r\n"):  # the blank line ending the held event
                return self._held_event(held)
            self._decoder.decode(held)  # more fields follow: the general reading
        elif (
            self._fast
            and line.startswith("data: {")
            and len(line) - 5 <= MAX_EVENT_CHARS  # the decoder's bound on the event's data
            and self._decoder._idle()
        ):
            self._held = line
            self._decoder._first_line = False  # as if decoded (a "data:" line has no BOM)
            return []
        return self._handle(self._decoder.decode(line))

    def close(self) -> list[dict[str, Any]]:
        """End of body: return a last unterminated event; raise StreamError if no ``[DONE]``."""
        if self._held is not None:
            self._decoder.decode(self._held)
            self._held = None
        events = [] if self._done else self._handle(self._decoder.flush())
        if not self._done:
            raise StreamError(
                f"stream ended without data: [DONE] after {self._events} event(s); "
                "the connection was probably cut short"
            )
        return events

    def _held_event(self, line: str) -> list[dict[str, Any]]:
        payload = _plain_event_payload(line[6:])
        if payload is None:  # not a plain object: the general reading decides, or raises
            self._decoder.decode(line)
            return self._handle(self._decoder.flush())
        self._events += 1
        if "type" in payload and _event_type(payload) in TERMINAL_TYPES:
            self._done = True
        return [payload]

    def _handle(self, event: SSEEvent | None) -> list[dict[str, Any]]:
        if event is None or not event.data.strip():
            return []
        payload = parse_event_data(event)
        if payload is DONE:
            self._done = True
            return []
        self._events += 1
        if _event_type(payload) in TERMINAL_TYPES:  # the Messages and Responses streams' end
            self._done = True
        return [payload]


#: ``json.loads`` without its Python wrapper: the same scanner, so the same values and errors.
_scan_json = make_scanner(cast("Any", json.JSONDecoder()))  # typeshed types the argument oddly
_JSON_WHITESPACE = " \t\n\r"


def _plain_event_payload(data: str) -> dict[str, Any] | None:
    """The object of one event's data (starting ``{``), if it is one and no error event; else
    ``None`` (then :func:`parse_event_data` reads it and says why it is not).

    Equal to :func:`parse_event_data` for what it accepts: within
    :data:`~workers_ai.envelope.MAX_JSON_DEPTH` (too few brackets to nest deeper: the first
    test of :func:`~workers_ai.envelope.json_too_deep`), parsed by ``json``'s scanner, nothing
    after the object but JSON whitespace, and no ``errors``/``error`` items or
    ``success: false`` (:func:`stream_error_from_payload` would find no error).
    """
    if data.count("{") + data.count("[") > MAX_JSON_DEPTH:
        return None
    try:
        payload, end = _scan_json(data, 0)
    except (ValueError, StopIteration, RecursionError, MemoryError):
        return None
    if end != len(data) and data[end:].strip(_JSON_WHITESPACE):
        return None
    if type(payload) is not dict:
        return None
    if payload.get("errors") or payload.get("error") or payload.get("success") is False:
        return None
    if "type" in payload and _event_type(payload) in _ERROR_TYPES:
        return None
    return payload


# --- One event -> its wire fields --------------------------------------------------------------


def _first_str(source: Mapping[str, Any], *keys: str) -> str:
    return next((v for v in map(source.get, keys) if isinstance(v, str) and v), "")


def _text_from_content(content: Any) -> str:
    """``delta.content`` as text: a string, or a list of ``{"type": "text", "text"}`` parts."""
    if isinstance(content, list):
        parts = (p.get("text") if isinstance(p, dict) else p for p in content)
        return "".join(p for p in parts if isinstance(p, str))
    return content if isinstance(content, str) else ""


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _first_choice(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    choices = _dicts(event.get("choices"))
    return choices[0] if choices else None


def _wire_delta_from_event(event: Mapping[str, Any]) -> WireDelta:
    """Read one stream event, OpenAI chunk or native event.

    When ``choices`` is present it wins for the whole event: a mixed event carrying both
    ``choices[0].delta.content`` and ``response`` (the same text) is read once, from choices.
    """
    choice = _first_choice(event)
    if choice is not None:
        delta = choice.get("delta")
        delta = delta if isinstance(delta, Mapping) else {}
        text = _text_from_content(delta.get("content")) or _first_str(choice, "text")
        reasoning = _first_str(delta, "reasoning_content", "reasoning")
        fragments = _dicts(delta.get("tool_calls"))
        finish = choice.get("finish_reason") or event.get("finish_reason")
    else:
        text = _first_str(event, "response")
        reasoning = _first_str(event, "reasoning_content", "reasoning")
        fragments = _dicts(event.get("tool_calls"))
        finish = event.get("finish_reason")
    raw_usage = event.get("usage")
    return WireDelta(
        text=text,
        reasoning=reasoning,
        tool_fragments=fragments,
        finish_reason=finish if isinstance(finish, str) and finish else None,
        usage=usage_from_wire(raw_usage) if isinstance(raw_usage, dict) else None,
        model=_first_str(event, "model") or None,
        id=_first_str(event, "id") or None,
    )


def _is_complete_result(event: Mapping[str, Any]) -> bool:
    """Whether an event is a whole non-stream result (gpt-oss answers streams with JSON)."""
    choice = _first_choice(event)
    response = event.get("response")
    return (
        is_messages_answer(event)  # Anthropic's message, sent whole to a stream request
        or (choice is not None and "message" in choice and "delta" not in choice)
        or isinstance(event.get("output"), list)  # the Responses shape
        or (isinstance(event.get("result"), Mapping) and "success" in event)  # an envelope
        or (response is not None and not isinstance(response, str))  # a JSON-mode object
    )


#: Top-level keys of a plain-text classic event (``p`` is padding; ``usage`` only when null and
#: ``tool_calls`` only when empty: both are then ignored, as by :func:`_wire_delta_from_event`).
_PLAIN_CLASSIC_KEYS = frozenset({"response", "p", "tool_calls", "usage"})
#: Top-level keys of a plain OpenAI content chunk (mixed native chunks repeat the text as a
#: string ``response`` next to ``"tool_calls": []``; with ``choices`` both are ignored).
_PLAIN_CHUNK_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "system_fingerprint", "usage", "p",
     "response", "tool_calls"}
)  # fmt: skip
_PLAIN_CHOICE_KEYS = frozenset({"index", "delta", "finish_reason", "logprobs"})
_PLAIN_DELTA_KEYS = frozenset({"content", "role"})


def _plain_text(event: dict[str, Any], model: str | None, id_: str | None) -> str | None:
    """The text of an event that carries nothing but text, else ``None``.

    Plain: a classic ``{"response": str}`` (with ``p``, an empty ``tool_calls`` or a null
    ``usage``), or an OpenAI chunk whose first choice has only ``delta.content`` (a string or
    null) and ``role``, no finish reason, no usage, and the ``model``/``id`` already seen (or
    none). For such an event :func:`_wire_delta_from_event` finds this text and nothing else,
    and :func:`_is_complete_result` is false; every other event returns ``None``.
    """
    choices = event.get("choices")
    if choices is None:
        text = event.get("response")
        if (
            type(text) is str
            and event.keys() <= _PLAIN_CLASSIC_KEYS
            and event.get("usage") is None
            and not event.get("tool_calls")
        ):
            return text
        return None
    if type(choices) is not list or not choices or not event.keys() <= _PLAIN_CHUNK_KEYS:
        return None
    choice = choices[0]
    if type(choice) is not dict or not choice.keys() <= _PLAIN_CHOICE_KEYS:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or not delta.keys() <= _PLAIN_DELTA_KEYS:
        return None
    content = delta.get("content")
    text = "" if content is None else content
    response = event.get("response")
    if (
        type(text) is not str
        or choice.get("finish_reason") is not None
        or event.get("usage") is not None
        or (response is not None and type(response) is not str)
        or (event.get("model") is not None and event.get("model") != model)
        or (event.get("id") is not None and event.get("id") != id_)
    ):
        return None
    return text


# --- <think> splitting of streamed text --------------------------------------------------------

_OPEN_TAG, _CLOSE_TAG = "<think>", "</think>"
_START, _THINK, _ANSWER = "start", "think", "answer"


def _partial_tag_len(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _held_reasoning_len(text: str) -> int:
    """How much of the reasoning tail to hold back: a partial ``</think>`` + whitespace."""
    end = len(text) - _partial_tag_len(text, _CLOSE_TAG)
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return len(text) - end


class _ThinkSplitter:
    """Splits streamed answer text into ``(reasoning, answer)`` (modes: the accumulator's).

    Tag characters are never emitted; only a possible partial tag (and whitespace before it)
    is held back. Whitespace around the reasoning and at the start of the answer after
    ``</think>`` is dropped (as :func:`~workers_ai.chat.split_think` does).
    """

    def __init__(self, think_tags: bool | None) -> None:
        self._mode = think_tags
        self._state = _ANSWER if think_tags is False else _START
        self._buf = ""
        self._strip_lead = False

    def push(self, text: str) -> tuple[str, str]:
        """Feed text; return ``(reasoning, answer)`` that can be emitted now."""
        if self._state == _ANSWER and not self._strip_lead:
            return "", text
        self._buf += text
        if self._state == _START:
            self._leave_start()
        reasoning = self._drain_think() if self._state == _THINK else ""
        answer = self._drain_answer() if self._state == _ANSWER else ""
        return reasoning, answer

    def finish(self) -> tuple[str, str]:
        """Flush what is held at the end of the stream."""
        buf, self._buf = self._buf, ""
        if self._state == _START:
            return (buf.strip(), "") if self._mode else ("", buf)
        if self._state == _THINK:
            return buf.strip() if self._strip_lead else buf.rstrip(), ""
        return "", buf.lstrip() if self._strip_lead else buf

    def _leave_start(self) -> None:
        head = self._buf.lstrip()
        if head.startswith(_OPEN_TAG):
            self._buf, self._state, self._strip_lead = head[len(_OPEN_TAG) :], _THINK, True
        elif not head or _OPEN_TAG.startswith(head):
            return  # still undecided: only whitespace or a prefix of "<think>" so far
        elif self._mode:
            self._buf, self._state, self._strip_lead = head, _THINK, True
        else:
            self._state = _ANSWER

    def _strip_leading_whitespace(self) -> None:
        if self._strip_lead:
            self._buf = self._buf.lstrip()
            self._strip_lead = not self._buf

    def _drain_think(self) -> str:
        self._strip_leading_whitespace()
        end = self._buf.find(_CLOSE_TAG)
        if end >= 0:
            reasoning = self._buf[:end].rstrip()
            self._buf = self._buf[end + len(_CLOSE_TAG) :]
            self._state, self._strip_lead = _ANSWER, True
            return reasoning
        cut = len(self._buf) - _held_reasoning_len(self._buf)
        reasoning, self._buf = self._buf[:cut], self._buf[cut:]
        return reasoning

    def _drain_answer(self) -> str:
        self._strip_leading_whitespace()
        answer, self._buf = self._buf, ""
        return answer


# --- Tool calls written as text by classic models ----------------------------------------------

_TOOL_TEXT_MARKERS = ("{", "[", "```", "<tool_call>", "<|python_tag|>")
_UNDECIDED, _PASS, _HOLD = "undecided", "pass", "hold"


class _ToolTextGate:
    """Holds answer text that may be a tool call written as text (rule: the accumulator's).

    Undecided while the text is whitespace or a prefix of a marker; then held or passed on.
    """

    def __init__(self, tool_names: Collection[str]) -> None:
        self._names = tuple(tool_names)
        self._state = _UNDECIDED if self._names else _PASS
        self._buf = ""

    def push(self, text: str) -> str:
        """Feed answer text; return what can be emitted as text now."""
        if self._state == _PASS:
            return text
        self._buf += text
        if self._state == _UNDECIDED:
            head = self._buf.lstrip()
            if head.startswith(_TOOL_TEXT_MARKERS):
                self._state = _HOLD
            elif head and not any(m.startswith(head) for m in _TOOL_TEXT_MARKERS):
                self._state = _PASS
                out, self._buf = self._buf, ""
                return out
        return ""

    def finish(self) -> tuple[str, list[ToolCall]]:
        """Return ``(text, tool_calls)`` for what was held."""
        held, self._buf = self._buf, ""
        if self._state == _HOLD:
            calls = parse_text_tool_calls(held, self._names)
            if calls:
                return "", calls
        return held, []


# --- Streamed tool-call fragments --------------------------------------------------------------


@dataclass
class _CallState:
    """One tool call being assembled; ``index`` is its position in the message."""

    index: int
    wire_id: str | None = None
    name: str | None = None
    args: list[str] = field(default_factory=list)
    id: str | None = None
    announced: bool = False
    name_sent: bool = False
    args_sent: int = 0

    @property
    def raw_arguments(self) -> str:
        return "".join(self.args)


def _is_json_object(text: str) -> bool:
    """Whether ``text`` is a whole JSON object (the cheap ``}`` test first: this runs for every
    fragment of an id-less call; calls longer than one event's bound wait for the end)."""
    if not text.rstrip().endswith("}") or len(text) > MAX_EVENT_CHARS:
        return False
    try:
        return isinstance(loads_json(text), dict)
    except ValueError:
        return False


def _fragment_fields(
    fragment: Mapping[str, Any], position: int
) -> tuple[int | None, str | None, str | None, str]:
    """``(wire index, id, name, arguments text)`` of one fragment in any wire shape.

    Object arguments (legacy ``{"name", "arguments": {...}}``) are serialised exactly as
    :func:`~workers_ai.tools.parse_tool_call` does, so synthesized ids match non-stream ones.
    """
    fn = fragment.get("function")
    function: Mapping[str, Any] = fn if isinstance(fn, Mapping) else fragment
    index = fragment.get("index")
    wire_id = fragment.get("id") or function.get("id")
    name = function.get("name") or fragment.get("name")
    args: Any = function.get("arguments")
    if args is None:
        args = function.get("parameters")
    if args is not None and not isinstance(args, str):
        args = parse_tool_call({"name": name or "", "arguments": args}, position).raw_arguments
    return (
        index if isinstance(index, int) and not isinstance(index, bool) else None,
        str(wire_id) if wire_id and not isinstance(wire_id, bool) else None,
        name if isinstance(name, str) and name else None,
        args or "",
    )


class _ToolCallAssembler:
    """Joins tool-call fragments by index and decides what each delta reports.

    A call's id goes on its first delta. With a wire id, fragments pass on as they arrive.
    Without one (classic models) the call is held until its arguments form a complete JSON
    object (a legacy call is complete at once) or the stream ends; the id is then synthesized
    from the complete call by :func:`~workers_ai.tools.parse_tool_call`, exactly as for a
    non-stream response, and :meth:`results` reuses it. A fragment without ``index`` starts a
    call if it has a name or id, else continues the last one; a different id at a known index,
    or a named fragment with arguments after the call there is complete, starts a new call.
    Empty finalisation fragments (``{"id": null, "function": {"name": null}}``) are skipped.
    """

    def __init__(self) -> None:
        self._calls: list[_CallState] = []
        self._by_wire_index: dict[int, _CallState] = {}
        self.count = 0

    def feed(self, fragments: Iterable[Mapping[str, Any]]) -> list[ToolCallDelta]:
        """Add fragments; return the deltas that can be reported now."""
        deltas: list[ToolCallDelta | None] = []
        for fragment in fragments:
            wire_index, wire_id, name, args = _fragment_fields(fragment, len(self._calls))
            if wire_id is None and name is None and not args:
                continue
            state = self._state_for(wire_index, wire_id, name, args)
            state.wire_id, state.name = state.wire_id or wire_id, state.name or name
            state.args += [args] if args else []
            deltas.append(self._release(state, force=False))
        return [d for d in deltas if d is not None]

    def add_complete(self, calls: Iterable[ToolCall]) -> list[ToolCallDelta]:
        """Add whole calls (parsed from text or a complete result); return their deltas."""
        deltas: list[ToolCallDelta | None] = []
        for call in calls:
            state = self._new_state(None)
            state.wire_id, state.name, state.args = call.id, call.name, [call.raw_arguments]
            deltas.append(self._release(state, force=True))
        return [d for d in deltas if d is not None]

    def finish(self) -> list[ToolCallDelta]:
        """Release calls still held (id-less calls whose arguments never completed)."""
        deltas = [self._release(s, force=True) for s in self._calls if not s.announced]
        return [d for d in deltas if d is not None]

    def results(self) -> tuple[list[ToolCall], list[ToolCall]]:
        """The complete calls as ``(valid, invalid)``, with the ids the deltas reported."""
        valid: list[ToolCall] = []
        invalid: list[ToolCall] = []
        for state in self._calls:
            call = parse_tool_call(self._wire_shape(state, with_id=True), state.index)
            (valid if call.is_valid else invalid).append(call)
        return valid, invalid

    def _state_for(
        self, wire_index: int | None, wire_id: str | None, name: str | None, args: str
    ) -> _CallState:
        if wire_index is None:
            if self._calls and name is None and wire_id is None:
                return self._calls[-1]
            return self._new_state(None)
        state = self._by_wire_index.get(wire_index)
        if state is None or _starts_new_call(state, wire_id, name, args):
            state = self._new_state(wire_index)
        return state

    def _new_state(self, wire_index: int | None) -> _CallState:
        state = _CallState(index=len(self._calls))
        self._calls.append(state)
        self.count = len(self._calls)
        if wire_index is not None:
            self._by_wire_index[wire_index] = state
        return state

    @staticmethod
    def _wire_shape(state: _CallState, *, with_id: bool) -> dict[str, Any]:
        function = {"name": state.name or "", "arguments": state.raw_arguments}
        shape: dict[str, Any] = {"type": "function", "function": function}
        if with_id and state.id:
            shape["id"] = state.id
        return shape

    def _release(self, state: _CallState, *, force: bool) -> ToolCallDelta | None:
        if state.id is None:
            if state.wire_id:
                state.id = state.wire_id
            elif force or (state.name and _is_json_object(state.raw_arguments)):
                state.id = parse_tool_call(self._wire_shape(state, with_id=False), state.index).id
            else:
                return None  # id-less and incomplete: hold until complete or finish
        first = not state.announced
        name = state.name if state.name and not state.name_sent else None
        new_args = "".join(state.args[state.args_sent :])
        state.announced, state.args_sent = True, len(state.args)
        state.name_sent = state.name_sent or name is not None
        if not first and name is None and not new_args:
            return None
        return ToolCallDelta(
            index=state.index, id=state.id if first else None, name=name, arguments=new_args
        )


def _starts_new_call(state: _CallState, wire_id: str | None, name: str | None, args: str) -> bool:
    if wire_id and state.wire_id and wire_id != state.wire_id:
        return True
    return bool(name and args and state.name and _is_json_object(state.raw_arguments))


# --- Usage -------------------------------------------------------------------------------------


def _at_least(new: float | None, old: float | None) -> bool:
    return new is None or old is None or new >= old or math.isclose(new, old, rel_tol=1e-9)


def _usage_at_least(new: Usage, old: Usage) -> bool:
    """Whether ``new`` >= ``old`` in every field both report (neurons compared with tolerance)."""
    fields = ("input_tokens", "output_tokens", "total_tokens", "cached_tokens", "neurons")
    return all(_at_least(getattr(new, f), getattr(old, f)) for f in fields)


class _UsageTracker:
    """Combines the usage objects of a stream into one total (rule: the accumulator's docs)."""

    def __init__(self) -> None:
        self.value: Usage | None = None
        self._summing = False

    def add(self, usage: Usage) -> None:
        current = self.value
        grew = current is None or _usage_at_least(usage, current)
        if current is None or (grew and not self._summing):  # first, or cumulative: replace
            old = current or usage  # keep what an otherwise newer report omits
            kept = {  # what a newer report omits stays as the older one said
                name: getattr(old, name)
                for name in ("cached_tokens", "neurons", "cost", "cache_creation_tokens")
                if getattr(usage, name) is None
            }
            self.value = replace(usage, **kept)
        elif not (self._summing and grew and _usage_at_least(current, usage)):  # not a repeat
            self._summing, total = True, current + usage
            rounded = None if total.neurons is None else round(total.neurons, 9)
            self.value = replace(total, neurons=rounded)


# --- The accumulator ---------------------------------------------------------------------------


class ChatStreamAccumulator:
    """Turns the JSON events of a chat stream into :class:`ChatDelta` s and one result.

    :meth:`feed` each event (it returns ``None`` when nothing is user-visible yet), then call
    :meth:`finish` once for the last delta and :meth:`result` for the whole message, which
    equals the concatenated deltas.

    * Shapes: classic ``{"response"}`` events (``p`` padding ignored), OpenAI chunks
      (``choices[0].delta``), mixed events (``choices`` wins; the duplicate ``response`` is
      ignored), and a complete result (``choices[].message``, Responses ``output``, a JSON-mode
      ``response`` object), normalised by :func:`~workers_ai.chat.normalize_chat_result`.
    * Usage, reported once on the finish delta: the first usage is taken; a later one >= the
      running value in every field replaces it (cumulative reports; a zero usage followed by
      the native final one); one smaller in some field switches to delta mode and is added
      (per-chunk deltas); in delta mode a usage equal to the running sum is the total
      repeated and is ignored. Summed neurons are rounded to 9 decimals.
    * finish_reason, reported once on the finish delta: the last one sent, else
      ``"tool_calls"`` when tool calls were produced. ``model``/``id`` go on the first delta
      returned after they are seen.
    * Inline ``<think>``: see ``think_tags``. Auto mode cannot wait for a ``</think>`` that may
      never come, so it splits only text that starts with ``<think>``.
    * With ``tool_names``, answer text starting (after whitespace) with ``{``, ``[``, a code
      fence, ``<tool_call>`` or ``<|python_tag|>`` is held to the end, then becomes tool-call
      deltas if :func:`~workers_ai.tools.parse_text_tool_calls` recognises it, else text.
      Without tools text is never held. Tool-call ids: see ``_ToolCallAssembler``.

    Args:
        think_tags: ``True``: text is reasoning until ``</think>`` (opening tag optional);
            ``False``: never split; ``None`` (default): split only if text starts ``<think>``.
        tool_names: Names of the tools offered with the request.
    """

    def __init__(self, *, think_tags: bool | None = None, tool_names: Collection[str] = ()) -> None:
        self._think_tags = think_tags
        self._tool_names = tuple(tool_names)
        self._think = _ThinkSplitter(think_tags)
        self._gate = _ToolTextGate(self._tool_names)
        self._calls = _ToolCallAssembler()
        self._usage = _UsageTracker()
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._finish_reason: str | None = None
        self._model: str | None = None
        self._id: str | None = None
        self._unreported: dict[str, str] = {}
        self._parsed: Any = None
        self._raw: Any = None
        self._finished = False
        self._fast = FAST_PATHS
        self._typed: MessagesStreamState | ResponsesStreamState | None = None
        self._reasoning_blocks: list[Mapping[str, Any]] = []

    def feed(self, event: Mapping[str, Any]) -> ChatDelta | None:
        """Add one decoded event; return its delta, or ``None`` if nothing is visible yet.

        Raises:
            StreamError: ``event`` is not an object.
            APIResponseValidationError: A complete result of no known shape (as
                :func:`~workers_ai.chat.normalize_chat_result`).
        """
        if self._finished:
            raise RuntimeError("ChatStreamAccumulator.feed() called after finish()")
        if self._fast and type(event) is dict:
            text = _plain_text(event, self._model, self._id)
            if text is not None:  # the general reading below, minus what such events lack
                reasoning, answer = self._think.push(text)
                return self._delta(self._gate.push(answer), reasoning, [])
        value: object = event
        if not isinstance(value, Mapping):
            raise StreamError(
                f"Workers AI stream event is not a JSON object: {value_excerpt(value)}", body=None
            )
        kind = event.get("type")
        if isinstance(kind, str) and "choices" not in event:
            typed = self._typed_reader(kind)
            wire = typed.read(event) if typed is not None else None
        else:
            wire = None
        if wire is None:
            if _is_complete_result(event):
                return self._feed_complete_result(event)
            wire = _wire_delta_from_event(event)
        self._note(wire.model, wire.id, wire.finish_reason, wire.usage)
        self._reasoning_blocks.extend(wire.reasoning_blocks)
        reasoning, answer = self._think.push(wire.text)
        text = self._gate.push(answer)
        tool_deltas = self._calls.feed(wire.tool_fragments)
        return self._delta(text, wire.reasoning + reasoning, tool_deltas)

    def finish(self) -> ChatDelta:
        """Flush what is held and return the last delta, with usage and finish_reason."""
        if self._finished:
            return ChatDelta()
        self._finished = True
        reasoning, answer = self._think.finish()
        text = self._gate.push(answer)
        held_text, text_calls = self._gate.finish()
        tool_deltas = self._calls.finish() + self._calls.add_complete(text_calls)
        if self._finish_reason is None and self._calls.count:
            self._finish_reason = "tool_calls"
        return self._delta(text + held_text, reasoning, tool_deltas, final=True) or ChatDelta()

    def result(self) -> ChatResult:
        """The whole message (call after :meth:`finish`)."""
        if not self._finished:
            raise RuntimeError("ChatStreamAccumulator.result() needs finish() first")
        valid, invalid = self._calls.results()
        reasoning = "".join(self._reasoning)
        return ChatResult(
            text="".join(self._text),
            reasoning=reasoning or None,
            tool_calls=valid,
            invalid_tool_calls=invalid,
            usage=self._usage.value,
            finish_reason=self._finish_reason,
            model=self._model,
            id=self._id,
            parsed=self._parsed,
            raw=self._raw,
            reasoning_blocks=tuple(self._reasoning_blocks),
        )

    def _typed_reader(self, kind: str) -> MessagesStreamState | ResponsesStreamState | None:
        """The reader of a typed event stream (Anthropic Messages, OpenAI Responses), made
        when its first event arrives; ``None`` for other events."""
        if self._typed is None:
            if kind in MESSAGES_EVENTS:
                self._typed = MessagesStreamState()
            elif kind.startswith(RESPONSES_EVENTS):
                self._typed = ResponsesStreamState()
        return self._typed

    def _feed_complete_result(self, event: Mapping[str, Any]) -> ChatDelta | None:
        result = normalize_chat_result(
            dict(event), think_tags=self._think_tags, tool_names=self._tool_names
        )
        self._note(result.model, result.id, result.finish_reason, result.usage)
        self._parsed = result.parsed if result.parsed is not None else self._parsed
        self._reasoning_blocks.extend(result.reasoning_blocks)
        self._raw = result.raw if result.raw is not None else dict(event)
        tool_deltas = self._calls.add_complete([*result.tool_calls, *result.invalid_tool_calls])
        return self._delta(result.text, result.reasoning or "", tool_deltas)

    def _note(
        self, model: str | None, id_: str | None, finish: str | None, usage: Usage | None
    ) -> None:
        if model and model != self._model:
            self._model = self._unreported["model"] = model
        if id_ and id_ != self._id:
            self._id = self._unreported["id"] = id_
        if finish:
            self._finish_reason = finish
        if usage is not None:
            self._usage.add(usage)

    def _delta(
        self, text: str, reasoning: str, tool_calls: list[ToolCallDelta], *, final: bool = False
    ) -> ChatDelta | None:
        """Record and return a delta; usage and finish_reason only go on the final one."""
        self._text.append(text)
        self._reasoning.append(reasoning)
        if not (text or reasoning or tool_calls or final):
            return None
        if not (self._unreported or final):  # the common delta: text, reasoning, tool calls
            return ChatDelta(text=text, reasoning=reasoning, tool_calls=tool_calls)
        meta, self._unreported = self._unreported, {}
        return ChatDelta(
            text=text,
            reasoning=reasoning,
            tool_calls=tool_calls,
            usage=self._usage.value if final else None,
            finish_reason=self._finish_reason if final else None,
            model=meta.get("model"),
            id=meta.get("id"),
            reasoning_blocks=tuple(self._reasoning_blocks) if final else (),
        )
