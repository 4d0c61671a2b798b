"""Pure response handling: unwrap Cloudflare's v4 envelope, map failures to typed errors.

No I/O: the sync and async clients pass status, headers and body bytes here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from workers_ai.errors import (
    CODE_TABLE,
    STATUS_HINTS,
    STATUS_TABLE,
    APIResponseValidationError,
    APIStatusError,
    InternalServerError,
)
from workers_ai.types import ResponseMeta

_EXCERPT_CHARS = 200
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
    """A short single-line excerpt of a (possibly HTML) body for error messages."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    text = _WS_RE.sub(" ", _TAG_RE.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _loads(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


_NOT_JSON = object()


def _error_items(body: Any) -> list[dict[str, Any]]:
    """The error objects of every documented failure body form.

    ``{"errors": [...]}`` (v4 envelope), ``{"error": [...]}`` (AI Gateway),
    ``{"error": {...}}`` / ``{"error": "msg"}`` (OpenAI-compatible routes).
    """
    if not isinstance(body, dict):
        return []
    items: Any = body.get("errors") or body.get("error") or []
    if isinstance(items, (dict, str)):
        items = [items]
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, str):
            out.append({"message": item})
    return out


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def status_error_from_response(
    status_code: int, headers: Mapping[str, str], content: bytes
) -> APIStatusError:
    """Map a failed response to the right :class:`APIStatusError` subclass.

    The first Cloudflare code found in :data:`~workers_ai.errors.CODE_TABLE` decides the class
    and hint; otherwise the HTTP status does. A non-JSON body (an HTML page from a proxy) still
    gives a typed error whose message is a short excerpt of it.
    """
    body = _loads(content)
    meta = meta_from_headers(status_code, headers)
    items = _error_items(body) if body is not _NOT_JSON else []
    codes = tuple(c for c in (_as_code(i.get("code")) for i in items) if c is not None)
    messages = [str(i.get("message")) for i in items if i.get("message")]
    if messages:
        message = "; ".join(messages)
    elif body is _NOT_JSON or not isinstance(body, dict):
        message = f"Unexpected response body: {excerpt(content)!r}" if content else "No body"
    else:
        message = f"Request failed: {excerpt(json.dumps(body))}"
    known = next((c for c in codes if c in CODE_TABLE), None)
    if known is not None:
        cls, hint = CODE_TABLE[known]
    else:
        cls = STATUS_TABLE.get(status_code) or (
            InternalServerError if status_code >= 500 else APIStatusError
        )
        hint = STATUS_HINTS.get(status_code)
    return cls(
        message,
        status_code=status_code,
        code=known if known is not None else (codes[0] if codes else None),
        codes=codes,
        errors=items,
        request_id=meta.request_id,
        hint=hint,
        headers=meta.headers,
        body=body if body is not _NOT_JSON else excerpt(content),
    )


def unwrap_response(status_code: int, headers: Mapping[str, str], content: bytes) -> Any:
    """Return the payload of a response, or raise the typed error it stands for.

    - non-2xx: raises via :func:`status_error_from_response`;
    - a v4 envelope ``{"result", "success", "errors", "messages"}``: ``success: false`` raises,
      else ``result`` is returned;
    - a bare body (the OpenAI-compatible routes answer without the envelope): returned as is.
    """
    if not 200 <= status_code < 300:
        raise status_error_from_response(status_code, headers, content)
    body = _loads(content)
    if body is None:
        raise APIResponseValidationError(
            f"Workers AI returned an empty body with HTTP {status_code}", body=None
        )
    if body is _NOT_JSON:
        raise APIResponseValidationError(
            f"Workers AI returned a non-JSON body with HTTP {status_code}: {excerpt(content)!r}",
            body=excerpt(content),
        )
    if isinstance(body, dict) and "success" in body and ("result" in body or "errors" in body):
        if body.get("success") is False or (body.get("errors") and body.get("result") is None):
            raise status_error_from_response(
                400 if status_code < 400 else status_code, headers, content
            )
        return body.get("result")
    if isinstance(body, dict) and body.get("success") is False:
        raise status_error_from_response(400, headers, content)
    return body
