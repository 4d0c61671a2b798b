"""Pure response handling: bounded JSON reading, the v4 envelope, failures to typed errors.

No I/O: the sync and async clients pass status, headers and body bytes here. Everything that
reads JSON from the wire (bodies here, SSE events in :mod:`~workers_ai.streaming`, tool-call
arguments in :mod:`~workers_ai.tools`) goes through :func:`loads_json`, and every failure body
(an HTTP response or an SSE error event) is read by :func:`error_details_from_body`.

Bounds (far above any legitimate reply, so they only ever stop a broken or hostile one):

- :data:`MAX_JSON_DEPTH` = 128 levels of nesting. Real replies nest under 15 (an envelope, a
  choice, a tool call, its arguments); JSON-mode answers follow the caller's schema. 128 also
  keeps every recursive consumer (``copy.deepcopy``, ``json.dumps``, ``repr``, the frameworks'
  validators) far from Python's recursion limit of 1,000 frames, which 512 would not.
- :data:`MAX_BODY_BYTES` = 2 GiB per HTTP body: the largest legitimate reply we know is an
  async batch result of 500 embedding requests of 100 inputs of 1,024 floats, about 1 GB.
- :data:`MAX_EVENT_CHARS` = 16 MiB per SSE event: an event is a token or, at most, a whole
  answer (128k tokens is well under 1 MiB).
- Error codes are non-negative integers with at most 9 digits (Cloudflare's have 4 or 5).

Parsers: :func:`loads_json` reads with orjson when it is importable (it comes with
langchain-core; it is not a dependency) and otherwise with :mod:`json`, with the same result
for every input: orjson only reads UTF-8 text within the bounds that has no integer of 19 or
more digits (orjson turns integers beyond 64 bits into floats, :mod:`json` keeps them), and
whatever orjson rejects (``NaN``/``Infinity``, ``1e400``, lone surrogate escapes, not JSON...)
is read by :mod:`json` again, which returns today's value or raises today's error.
"""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from workers_ai.errors import (
    CODE_HINTS,
    CODE_TABLE,
    GATEWAY_STATUS_HINTS,
    SERVICE_CODE_TABLES,
    SERVICE_STATUS_HINTS,
    SERVICE_STATUS_TABLES,
    STATUS_HINTS,
    STATUS_TABLE,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
)
from workers_ai.types import MediaPayload, ResponseMeta

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENT_CHARS",
    "MAX_JSON_DEPTH",
    "ErrorDetails",
    "binary_media_type",
    "code_from_wire",
    "error_details_from_body",
    "error_items_from_body",
    "excerpt",
    "json_too_deep",
    "loads_json",
    "meta_from_headers",
    "status_error_from_response",
    "unwrap_response",
    "value_excerpt",
]

#: Deepest nesting of arrays and objects read from the wire.
MAX_JSON_DEPTH = 128
#: Largest HTTP body parsed as JSON.
MAX_BODY_BYTES = 2 << 30
#: Largest data of one SSE event (also the most of a streamed tool call checked for completion).
MAX_EVENT_CHARS = 16 << 20
_MAX_CODE = 10**9

_EXCERPT_CHARS = 200
_EXCERPT_SCAN = 64 * _EXCERPT_CHARS  # an excerpt never looks further into a body than this
_MESSAGE_CHARS = 1_000
_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")
_REQUEST_ID_HEADERS = ("cf-ai-req-id", "x-request-id", "cf-aig-log-id", "cf-ray")


def meta_from_headers(status_code: int, headers: Mapping[str, str]) -> ResponseMeta:
    """Build :class:`ResponseMeta` from response headers (names matched case-insensitively)."""
    lower = {k.lower(): v for k, v in headers.items()}
    request_id = next((lower[h] for h in _REQUEST_ID_HEADERS if lower.get(h)), None)
    return ResponseMeta(
        status_code=status_code,
        request_id=request_id,
        gateway_cache_status=lower.get("cf-aig-cache-status"),
        gateway_log_id=lower.get("cf-aig-log-id"),
        headers=lower,
    )


def excerpt(content: bytes | str, limit: int = _EXCERPT_CHARS) -> str:
    """A short single-line excerpt of a (possibly HTML) body for error messages.

    Only the first few KiB are looked at, so a huge body costs no more than a small one.
    """
    head = content[:_EXCERPT_SCAN]
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    text = _WS_RE.sub(" ", _TAG_RE.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_VALUE_REPR = reprlib.Repr()
_VALUE_REPR.maxlevel, _VALUE_REPR.maxstring, _VALUE_REPR.maxother = 4, 80, 80
_VALUE_REPR.maxlong, _VALUE_REPR.maxlist, _VALUE_REPR.maxdict = 40, 8, 8


def value_excerpt(value: Any, limit: int = _EXCERPT_CHARS) -> str:
    """A short ``repr`` of a parsed value for error messages (cheap for huge or deep values)."""
    try:
        text = _VALUE_REPR.repr(value)
    except (ValueError, RecursionError):  # e.g. an int too long for str()
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Bounded JSON ------------------------------------------------------------------------------

_ESCAPE_RE = re.compile(rb"\\.", re.DOTALL)
_STRING_RE = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_DEPTH_STEP = [0] * 256
for _byte in b"[{":
    _DEPTH_STEP[_byte] = 1
for _byte in b"]}":
    _DEPTH_STEP[_byte] = -1


def json_too_deep(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays/objects nest deeper than ``limit`` outside strings (exact for valid JSON).

    Linear and C-speed: counts first (too few brackets cannot nest too deep), then drops
    escapes, everything but quotes and brackets, and strings, and takes the largest running sum.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    skeleton = _STRING_RE.sub(b"", _ESCAPE_RE.sub(b"", data).translate(None, _NOT_STRUCTURE))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, skeleton)), default=0) > limit


class _BoundsError(ValueError):
    """JSON text beyond the bounds (too long or too deep)."""


#: orjson reads these exactly as :mod:`json` does, or it is not used (a build whose parser
#: differs, e.g. ``-0`` as the float ``-0.0``, would otherwise change results silently).
_ORJSON_PROBES = (
    b"-0",
    b"[0, -0.0, 0.1, 1e-7, 1E2, 5e-324, 2.2250738585072011e-308, 1.7976931348623157e308]",
    b"[0.30000000000000004, 9007199254740993.0, 0.1000000000000000055511151231257827]",
    b"[-9223372036854775808, 9223372036854775807, 18446744073709551615]",
    b'{"a": 1, "b": [true, false, null], "a": {"": ""}}',
    '"\\u00e9\\ud83d\\ude00\\u0000\\/\\"é😀"'.encode(),
)


def _find_orjson() -> Callable[[bytes], Any] | None:
    """``orjson.loads`` if orjson is importable and reads :data:`_ORJSON_PROBES` like json."""
    try:
        import orjson
    except ImportError:
        return None
    try:
        agrees = all(repr(orjson.loads(p)) == repr(json.loads(p)) for p in _ORJSON_PROBES)
    except Exception:  # whatever an odd build does, importing this module must not fail
        agrees = False
    return orjson.loads if agrees else None


#: The fast parser :func:`loads_json` tries first; ``None``: :mod:`json` only (tests set it).
_ORJSON: Callable[[bytes], Any] | None = _find_orjson()

# Digits -> "0", "." -> ".", anything else -> " ": an integer of 19+ digits (beyond 64 bits, or
# close) is then a space and 19 zeros (a fraction's digits follow a ".").
_NUMBER_SKELETON = bytes(
    48 if 48 <= byte <= 57 else 46 if byte == 46 else 32 for byte in range(256)
)
_LONG_INTEGER = b" " + b"0" * 19


def _has_long_integer(data: bytes) -> bool:
    """Whether 19 or more digits follow anything but a ``.`` (an integer part or an exponent,
    in a string too: those only cost the fast path)."""
    skeleton = data.translate(_NUMBER_SKELETON)
    return _LONG_INTEGER in skeleton or skeleton.startswith(_LONG_INTEGER[1:])


def _utf8(text: str | bytes) -> bytes | None:
    """``text`` as strict UTF-8, or ``None`` where only :mod:`json` reads it as today
    (UTF-16/32 or a BOM, which :func:`json.loads` detects; lone surrogates)."""
    if isinstance(text, str):
        try:
            return text.encode()
        except UnicodeEncodeError:
            return None
    return text if json.detect_encoding(text) == "utf-8" else None


def loads_json(text: str | bytes, *, max_size: int = MAX_BODY_BYTES, **kwargs: Any) -> Any:
    """:func:`json.loads` within the package's bounds (see the module docs).

    Bytes are decoded as :func:`json.loads` does (UTF-8/16/32 detected). ``kwargs`` go to
    :func:`json.loads` (e.g. ``parse_float``); with them, only :mod:`json` parses. Without
    them orjson parses when it can (module docs): the value is the one :mod:`json` gives.

    Raises:
        ValueError: Not JSON, longer than ``max_size``, or nested deeper than
            :data:`MAX_JSON_DEPTH` (never ``RecursionError`` or ``MemoryError``); the same
            error, message included, with or without orjson.
    """
    if len(text) > max_size:
        raise _BoundsError(f"JSON text of length {len(text):,} is over the limit of {max_size:,}")
    if _ORJSON is not None and not kwargs:
        data = _utf8(text)
        # The depth test comes first, so neither parser meets deep nesting; too deep, json
        # raises (after decoding the bytes, as ever, so a decoding error still comes first).
        if data is not None and not json_too_deep(data) and not _has_long_integer(data):
            try:
                return _ORJSON(data)
            except (ValueError, MemoryError):
                pass  # json decides: the value it accepts, or its own error
    return _json_loads(text, **kwargs)


def _json_loads(text: str | bytes, **kwargs: Any) -> Any:
    """:func:`loads_json` with :mod:`json` (the size bound already checked)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    if json_too_deep(text):
        raise _BoundsError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise _BoundsError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except MemoryError:
        raise _BoundsError("JSON text too large for the memory available") from None


_NOT_JSON = "not JSON"


class _Unreadable:
    """A body that is not JSON, or not within the bounds; ``why`` says which."""

    def __init__(self, why: str) -> None:
        self.why = why


def _parse_body(content: bytes) -> Any:
    """The parsed body, ``None`` for an empty one, or an :class:`_Unreadable`."""
    if not content:
        return None
    try:
        return loads_json(content)
    except _BoundsError as exc:
        return _Unreadable(str(exc))
    except ValueError:  # also UnicodeDecodeError
        return _Unreadable(_NOT_JSON)


# --- Failure bodies ----------------------------------------------------------------------------


def error_items_from_body(body: Any) -> list[dict[str, Any]]:
    """The error objects of every documented failure body form.

    ``{"errors": [...]}`` (v4 envelope), ``{"error": [...]}`` (AI Gateway),
    ``{"error": {...}}`` / ``{"error": "msg"}`` (OpenAI-compatible routes). A string item
    becomes ``{"message": item}``; empty strings and other values are skipped.
    """
    if not isinstance(body, Mapping):
        return []
    items: Any = body.get("errors") or body.get("error") or []
    if isinstance(items, (dict, str)):
        items = [items]
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, str) and item:
            out.append({"message": item})
    return out


def code_from_wire(value: Any) -> int | None:
    """A Cloudflare error code: an int or a string of ASCII digits (surrounding spaces allowed),
    from 0 to 999,999,999. Anything else (``"²"``, ``-1``, ``3040.0``, lists...) is no code."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
            return None
        value = int(digits)
    if isinstance(value, int) and 0 <= value < _MAX_CODE:
        return value
    return None


def _item_message(item: Mapping[str, Any]) -> str:
    text = item.get("message") or item.get("type")
    return "" if not text else text if isinstance(text, str) else value_excerpt(text)


#: Anthropic's error ``type`` s and OpenAI's string error ``code`` s -> the class their HTTP
#: status would give (Anthropic: overloaded_error is 529; OpenAI Responses stream errors).
PROVIDER_ERROR_TYPES: dict[str, type[APIStatusError]] = {
    "overloaded_error": InternalServerError,
    "api_error": InternalServerError,
    "server_error": InternalServerError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "invalid_request_error": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "request_too_large": PayloadTooLargeError,
}


@dataclass(frozen=True)
class ErrorDetails:
    """What a failure body says, however it arrived (HTTP response or SSE error event).

    Attributes:
        items: The error objects (:func:`error_items_from_body`).
        codes: Every readable code (:func:`code_from_wire`), in order.
        message: The items' messages (or ``type`` s) joined with ``"; "``, at most 1,000
            characters; ``""`` when there are none.
    """

    items: list[dict[str, Any]]
    codes: tuple[int, ...]
    message: str

    @property
    def known_code(self) -> int | None:
        """The first code in :data:`~workers_ai.errors.CODE_TABLE`, if any."""
        return next((c for c in self.codes if c in CODE_TABLE), None)

    @property
    def code(self) -> int | None:
        """The code to report: the first known one, else the first one."""
        known = self.known_code
        return known if known is not None else (self.codes[0] if self.codes else None)

    @property
    def error_class(self) -> type[APIStatusError] | None:
        """The class :data:`~workers_ai.errors.CODE_TABLE` gives the code, if it is known; else
        the class of a provider's error ``type`` / string ``code`` (:data:`PROVIDER_ERROR_TYPES`:
        what an error *event* of a stream says, where no HTTP status does)."""
        known = self.known_code
        if known is not None:
            return CODE_TABLE[known][0]
        for item in self.items:
            for key in ("type", "code"):
                value = item.get(key)
                if isinstance(value, str) and value in PROVIDER_ERROR_TYPES:
                    return PROVIDER_ERROR_TYPES[value]
        return None


def error_details_from_body(body: Any) -> ErrorDetails:
    """Read the items, codes and message of a parsed failure body (any value is accepted)."""
    items = error_items_from_body(body)
    codes = tuple(c for c in (code_from_wire(i.get("code")) for i in items) if c is not None)
    message = "; ".join(m for m in map(_item_message, items) if m)
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    return ErrorDetails(items, codes, message)


def status_error_from_response(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    provider: str | None = None,
    gateway_id: str | None = None,
    service: str | None = None,
) -> APIStatusError:
    """Map a failed response to the right :class:`APIStatusError` subclass.

    The first Cloudflare code found in :data:`~workers_ai.errors.CODE_TABLE` decides the class
    and hint; otherwise the HTTP status does (never the AI Gateway body's ``httpCode``, which
    can differ from the real status). A body that is not JSON (an HTML page from a proxy) or
    not within the bounds still gives the status's error, whose message and ``body`` are a
    short excerpt of it.

    Every failure form is read: the v4 envelope (``errors``), AI Gateway's own body (singular
    ``error`` list, ``"name": "AiGatewayError"``), and a provider's error passed through in its
    own format (OpenAI ``{"error": {"message", "type", "code", "param"}}``, Anthropic
    ``{"type": "error", "error": {"type", "message"}}``).

    Args:
        provider: The AI Gateway provider of the request's model (third-party models), put on
            the error and in its text; its status hints are the gateway's.
        gateway_id: The gateway the request went through, named by a "gateway does not exist"
            error (code 2001).
        service: The service of the route (``"vectorize"``), whose own codes
            (:data:`~workers_ai.errors.SERVICE_CODE_TABLES`) are read before the others.
    """
    body = _parse_body(content)
    readable = not isinstance(body, _Unreadable)
    meta = meta_from_headers(status_code, headers)
    details = error_details_from_body(body if readable else None)
    if details.message:
        message = details.message
    elif not readable or not isinstance(body, dict):
        message = f"Unexpected response body: {excerpt(content)!r}" if content else "No body"
    else:
        message = f"Request failed: {excerpt(content)}"
    own = SERVICE_CODE_TABLES.get(service or "", {})
    known = next((c for c in details.codes if c in own), None)
    if known is not None:
        cls, hint = own[known]
    elif (known := details.known_code) is not None:
        cls, hint = CODE_TABLE[known]
    else:
        cls = (
            SERVICE_STATUS_TABLES.get(service or "", {}).get(status_code)
            or STATUS_TABLE.get(status_code)
            or (InternalServerError if status_code >= 500 else APIStatusError)
        )
        hints = GATEWAY_STATUS_HINTS if provider is not None else STATUS_HINTS
        hint = next((CODE_HINTS[c] for c in details.codes if c in CODE_HINTS), None)
        own_hints = SERVICE_STATUS_HINTS.get(service or "", {})
        hint = hint or own_hints.get(status_code) or hints.get(status_code)
    if known == 2001 and gateway_id is not None:
        message = f"{message} (gateway {gateway_id!r})"
    return cls(
        message,
        status_code=status_code,
        code=details.code,
        codes=details.codes,
        errors=details.items,
        request_id=meta.request_id,
        hint=hint,
        headers=meta.headers,
        body=body if readable else excerpt(content),
        provider=provider,
    )


def _validation_error(status_code: int, what: str, content: bytes) -> APIResponseValidationError:
    """The error for a 2xx body we cannot read: its HTTP status and a short excerpt.

    (Such a body has no readable Cloudflare code: it is empty, not JSON or beyond the bounds.)
    """
    shown = f": {excerpt(content)!r}" if content else ""
    return APIResponseValidationError(
        f"Workers AI returned {what} with HTTP {status_code}{shown}",
        status_code=status_code,
        body=excerpt(content) or None,
    )


#: Content types answered as bytes rather than JSON.
_BINARY_PREFIXES = ("image/", "audio/", "video/", "application/octet-stream")


def binary_media_type(headers: Mapping[str, str]) -> str | None:
    """The media type of a binary answer (``image/png``...), ``None`` for JSON or text."""
    value = headers.get("content-type") or ""
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type if media_type.startswith(_BINARY_PREFIXES) else None


def unwrap_response(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    provider: str | None = None,
    gateway_id: str | None = None,
    service: str | None = None,
) -> Any:
    """Return the payload of a response, or raise the typed error it stands for.

    ``provider``, ``gateway_id`` and ``service`` go to :func:`status_error_from_response`.

    - non-2xx: raises via :func:`status_error_from_response`;
    - an empty 2xx body, one that is not JSON, or one beyond the bounds:
      :class:`~workers_ai.errors.APIResponseValidationError` with a short excerpt;
    - a v4 envelope ``{"result", "success", "errors", "messages"}``: ``success: false`` raises,
      else ``result`` is returned;
    - a bare body (the OpenAI-compatible routes answer without the envelope): returned as is;
    - a binary body (``image/*``, ``audio/*``, ``video/*``, ``application/octet-stream``:
      Stable Diffusion's PNG): a :class:`~workers_ai.types.MediaPayload`.
    """
    context = {"provider": provider, "gateway_id": gateway_id, "service": service}
    if not 200 <= status_code < 300:
        raise status_error_from_response(status_code, headers, content, **context)
    media_type = binary_media_type(headers)
    if media_type is not None:
        if not content:
            raise _validation_error(status_code, f"an empty {media_type} body", content)
        return MediaPayload(bytes(content), media_type)
    body = _parse_body(content)
    if body is None:
        raise _validation_error(status_code, "an empty body", content)
    if isinstance(body, _Unreadable):
        what = "a non-JSON body" if body.why == _NOT_JSON else f"an unreadable body ({body.why})"
        raise _validation_error(status_code, what, content)
    if isinstance(body, dict) and "success" in body and ("result" in body or "errors" in body):
        if body.get("success") is False or (body.get("errors") and body.get("result") is None):
            raise status_error_from_response(
                400 if status_code < 400 else status_code, headers, content, **context
            )
        return body.get("result")
    if isinstance(body, dict) and body.get("success") is False:
        raise status_error_from_response(400, headers, content, **context)
    return body
