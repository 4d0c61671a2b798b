"""Checks of everything that goes into a URL or a header, and header maps that mask secrets.

No I/O, no httpx: settings, the gateway options, the clients and the emulator-facing helpers all
validate with these, so a bad account id, gateway id, model id or header value fails the same
way, before any request, naming what to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from workers_ai.errors import ConfigurationError, InvalidRequestError, ModelIdError, WorkersAIError

__all__ = [
    "MASK",
    "RedactedHeaders",
    "is_secret_header",
    "quote_segment",
    "validate_account_id",
    "validate_batch_request_id",
    "validate_gateway_id",
    "validate_header",
    "validate_header_value",
    "validate_headers",
    "validate_model_id",
    "validate_path_segment",
    "validate_route_path",
]

#: One URL path segment we build (account id, gateway id, batch request id, route part).
_ID_RE = re.compile(r"^[A-Za-z0-9_.:@-]+$")
#: One ``/``-separated part of a model id (``@cf``, ``meta``, ``llama-3.1-8b-instruct``).
_MODEL_PART_RE = re.compile(r"^[A-Za-z0-9_.:@+-]+$")
_DOT_SEGMENTS = frozenset({".", ".."})
#: RFC 9110 ``token``: the characters a header name may have.
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
#: A header value httpx and h11 accept: visible ASCII, inner spaces and tabs, nothing else.
_HEADER_VALUE_RE = re.compile(r"^(?:[\x21-\x7e](?:[ \t]*[\x21-\x7e])*)?$")
#: Substrings of header names whose values are masked in reprs (``Authorization``,
#: ``cf-aig-authorization``, ``x-api-key``, ``Cookie``...).
_SECRET_HEADER_WORDS = ("auth", "token", "secret", "passw", "cookie", "credential", "signature")
#: What a masked header value shows (httpx shows the same).
MASK = "[secure]"


def _segment_problem(value: str, pattern: re.Pattern[str]) -> str | None:
    """Why ``value`` cannot be one URL path segment, or ``None`` if it can."""
    if not value:
        return "is empty"
    if value in _DOT_SEGMENTS:
        return "is a dot segment ('.' or '..'), which URLs resolve away"
    if not pattern.match(value):
        return (
            "contains a character a URL path segment cannot carry here (a space, '/', '?', '#', "
            "'%', a control or a non-ASCII character)"
        )
    return None


def validate_path_segment(
    value: object,
    argument: str,
    *,
    error: type[WorkersAIError] = InvalidRequestError,
) -> str:
    """Return ``value`` if it can be one URL path segment we build, else raise ``error``.

    Accepts letters, digits and ``_ . : @ -``; rejects empty values, the dot segments ``.``
    and ``..`` (httpx and servers resolve them, so ``account_id=".."`` would drop
    ``/accounts``), and anything that would need percent-encoding to stay one segment.
    Callers still percent-encode with :func:`quote_segment`.

    Args:
        value: The value to check.
        argument: The argument's name, for the message.
        error: The error class: ``ConfigurationError`` for settings, ``InvalidRequestError``
            (default) for per-call values.
    """
    if not isinstance(value, str):
        raise error(f"{argument} must be a string, got {type(value).__name__}")
    problem = _segment_problem(value, _ID_RE)
    if problem:
        raise error(f"{argument} {value!r} {problem}")
    return value


def quote_segment(value: str) -> str:
    """``value`` percent-encoded as one URL path segment (``/`` included)."""
    return quote(value, safe="")


def validate_account_id(account_id: object) -> str:
    """Return ``account_id`` if usable in ``/accounts/{account_id}/...``, else raise.

    Raises:
        ConfigurationError: naming ``account_id``.
    """
    if not isinstance(account_id, str):
        problem = f"is a {type(account_id).__name__}, not a string"
    else:
        problem = _segment_problem(account_id, _ID_RE) or ""
        if not problem:
            return account_id
    raise ConfigurationError(
        f"account_id {account_id!r} {problem}; it is the 32-character hex id shown in the "
        "Cloudflare dashboard URL"
    )


def validate_gateway_id(gateway_id: object) -> str:
    """Return ``gateway_id`` if usable as an AI Gateway id (a URL segment and a header value).

    Raises:
        ConfigurationError: naming the gateway id.
    """
    if isinstance(gateway_id, str) and _segment_problem(gateway_id, _ID_RE) is None:
        return gateway_id
    raise ConfigurationError(
        f"Invalid AI Gateway option: gateway id {gateway_id!r} must be a non-empty name without "
        "spaces, '/', '?' or '#', and not '.' or '..'"
    )


def validate_model_id(model: object) -> str:
    """Return ``model`` if it is a usable model id, else raise a clear error (no I/O).

    A model id is ``/``-separated parts (``@cf/meta/llama-3.1-8b-instruct``); each part is
    checked like a path segment (no empty part, no ``.`` or ``..``, no ``?``, ``#``, spaces).

    Raises:
        ModelIdError: (an ``InvalidRequestError`` and a ``ConfigurationError``) naming
            ``model``.
    """
    if type(model) is str and model in _VALID_MODEL_IDS:
        return model
    if not isinstance(model, str) or not model.strip():
        raise ModelIdError(
            f"model must be a non-empty string such as '@cf/meta/llama-3.1-8b-instruct', "
            f"got {model!r}"
        )
    for part in model.split("/"):
        problem = _segment_problem(part, _MODEL_PART_RE)
        if problem:
            raise ModelIdError(
                f"model {model!r} is not a valid Workers AI model id: a '/'-separated part "
                f"{problem}. Ids look like '@cf/meta/llama-3.1-8b-instruct' (no spaces, '?', "
                "'#', empty, '.' or '..' parts)"
            )
    if type(model) is str and len(_VALID_MODEL_IDS) < _MAX_REMEMBERED_IDS:
        _VALID_MODEL_IDS.add(model)
    return model


#: Model ids already found valid (every request checks its model id; a client uses a few).
_VALID_MODEL_IDS: set[str] = set()
_MAX_REMEMBERED_IDS = 1024


def validate_batch_request_id(request_id: object) -> str:
    """Return ``request_id`` if it can be a batch job's id (as the batch API returns it).

    Raises:
        InvalidRequestError: naming ``request_id``.
    """
    return validate_path_segment(request_id, "batch request_id")


def validate_route_path(path: object, argument: str = "path") -> str:
    """Return ``path`` stripped of outer slashes if every ``/``-separated part is a segment.

    Raises:
        InvalidRequestError: naming ``argument``.
    """
    if not isinstance(path, str):
        raise InvalidRequestError(f"{argument} must be a string, got {type(path).__name__}")
    stripped = path.strip("/")
    for part in stripped.split("/"):
        problem = _segment_problem(part, _ID_RE)
        if problem:
            raise InvalidRequestError(
                f"{argument} {path!r} is not a route such as 'chat/completions': a part {problem}"
            )
    return stripped


def validate_header(
    name: object,
    value: object,
    argument: str,
    *,
    error: type[WorkersAIError] = ConfigurationError,
) -> None:
    """Raise ``error`` unless ``name: value`` can be sent as an HTTP header.

    Rejects CR, LF and other control characters (header injection; h11 would fail the request
    as a connection error, which would be retried), non-ASCII characters (httpx cannot encode
    them) and leading or trailing whitespace. The message names ``argument`` and the header,
    never the value (it may be a credential).

    Args:
        name: The header name (an RFC 9110 token).
        value: The header value.
        argument: What the user set, e.g. ``"default_headers"`` or ``"session_affinity"``.
        error: ``ConfigurationError`` (default) for settings, ``InvalidRequestError`` for
            per-call headers.
    """
    if not isinstance(name, str) or not _HEADER_NAME_RE.match(name):
        shown = name if isinstance(name, str) else type(name).__name__
        raise error(
            f"{argument}: {shown!r} is not a valid header name (letters, digits and "
            "!#$%&'*+-.^_`|~ only; no spaces, ':' or control characters)"
        )
    if not isinstance(value, str):
        raise error(f"{argument}[{name!r}] must be a string, got {type(value).__name__}")
    if not _HEADER_VALUE_RE.match(value):
        raise error(f"{argument}[{name!r}] {_header_value_problem(value)}")


def validate_header_value(value: object, argument: str, *, header: str | None = None) -> str:
    """Return ``value`` if it can be an HTTP header value, else raise ``ConfigurationError``.

    For settings that become one header, e.g. ``session_affinity`` (``x-session-affinity``):
    call it where the setting is validated, so a bad value fails at construction.
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{argument} must be a string, got {type(value).__name__}")
    if not _HEADER_VALUE_RE.match(value):
        where = f" (sent as the {header} header)" if header else ""
        raise ConfigurationError(f"{argument}{where} {_header_value_problem(value)}")
    return value


def validate_headers(
    headers: Mapping[str, str],
    argument: str,
    *,
    error: type[WorkersAIError] = ConfigurationError,
) -> None:
    """:func:`validate_header` for every entry of ``headers``."""
    if not isinstance(headers, Mapping):
        raise error(f"{argument} must be a mapping of header names to values")
    for name, value in headers.items():
        validate_header(name, value, argument, error=error)


def _header_value_problem(value: str) -> str:
    """Why a value fails :data:`_HEADER_VALUE_RE`, without showing the value."""
    for index, char in enumerate(value):
        if char in "\r\n":
            return f"contains a line break (CR or LF) at position {index}; use one line"
        if ord(char) > 0x7E:
            return f"contains a non-ASCII character at position {index}; headers are ASCII"
        if (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            return f"contains a control character at position {index}"
    return "has leading or trailing whitespace"


def _validate_token(token: str, what: str) -> None:
    """Raise ``ConfigurationError`` (never showing the token) unless it fits a header."""
    if any(ch.isspace() for ch in token):
        raise ConfigurationError(f"The {what} contains whitespace; copy it again without it.")
    for index, char in enumerate(token):
        if not "\x21" <= char <= "\x7e":
            kind = "a non-ASCII" if ord(char) > 0x7F else "a control"
            raise ConfigurationError(
                f"The {what} contains {kind} character (at position {index}), which HTTP "
                "headers cannot carry; copy it again."
            )


def is_secret_header(name: str) -> bool:
    """Whether a header's value is a credential to mask (``Authorization``, ``*-token``...)."""
    lowered = name.lower()
    return lowered.endswith("key") or any(word in lowered for word in _SECRET_HEADER_WORDS)


class RedactedHeaders(dict[str, str]):
    """A headers ``dict`` whose ``repr``/``str`` masks credentials (as httpx does).

    Request headers are locals of every frame of an error's traceback (``pytest -l``, rich,
    Sentry); this keeps ``Authorization: Bearer ...`` out of those reports.
    """

    def __repr__(self) -> str:
        shown = {k: MASK if is_secret_header(k) else v for k, v in self.items()}
        return f"{type(self).__name__}({shown!r})"

    __str__ = __repr__
