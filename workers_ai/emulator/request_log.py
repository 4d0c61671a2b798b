"""What the emulator received: every API request, for tests to assert on (issue #19).

Each request to the API routes (not the control routes) is kept as a
:class:`RecordedRequest` -- method, path, route, model, headers with every credential masked,
the parsed JSON body (credentials inside universal-endpoint entries masked too), when it
arrived, how long it took and the status it got -- in arrival order, the last
:data:`MAX_REQUESTS` of them. Read it in process (``EmulatorServer.requests()``) or over the
control route ``GET /__emulator/requests``.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers_ai.emulator import jsonbody

__all__ = ["MASK", "MAX_REQUESTS", "RecordedRequest", "RequestLog", "mask_headers"]

#: Requests kept (the oldest are dropped first).
MAX_REQUESTS = 2_000
#: What a credential is replaced with.
MASK = "***"
#: Headers that carry credentials (lower-case).
_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "cf-aig-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "proxy-authorization",
        "cookie",
    }
)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with every credential masked (a bearer token keeps its scheme)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[key] = f"{scheme} {MASK}".strip()
        else:
            out[key] = value
    return out


def _masked_body(body: Any) -> Any:
    """Universal-endpoint entries carry each provider's credential in their ``headers``."""
    if isinstance(body, list):
        return [
            {**entry, "headers": mask_headers(entry["headers"])}
            if isinstance(entry, Mapping) and isinstance(entry.get("headers"), Mapping)
            else entry
            for entry in body
        ]
    return body


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received.

    Attributes:
        index: Its number, from 1, in arrival order (since the last reset).
        method: ``POST``, ``GET``...
        path: The URL path (the query string apart, in ``query``).
        query: The query string's values.
        route: The route template (``POST /ai/run/{model}``, ``POST /ai/v1/chat/completions``).
        route_name: ``run``, ``chat/completions``, ``responses``, ``messages``, ``embeddings``,
            ``universal``, or another route's kind.
        model: The model the request named, if any.
        headers: Lower-case names; credentials masked.
        body: The parsed JSON body (``None`` when not JSON, e.g. binary audio), credentials
            masked; parsed on first read (the bytes as received stay private).
        body_bytes: The body's size.
        received_at: When it arrived (UTC).
        status: The HTTP status answered (``0`` until then; ``"reset"`` cuts count as 0).
        duration_ms: How long the answer took, latency included.
    """

    index: int
    method: str
    path: str
    query: dict[str, list[str]]
    route: str
    route_name: str
    model: str | None
    headers: dict[str, str]
    _raw: bytes = field(repr=False, compare=False)
    body_bytes: int
    received_at: datetime.datetime
    status: int = 0
    duration_ms: float = 0.0

    @functools.cached_property
    def body(self) -> Any:
        """The parsed JSON body, credentials masked (``None`` when not JSON, e.g. binary audio);
        parsed when first read, so logging costs a request no JSON parse."""
        if not self._raw:
            return None
        try:
            return _masked_body(jsonbody.loads(self._raw))
        except ValueError:
            return None

    @property
    def messages(self) -> list[Any]:
        """The request's ``messages`` (or a Responses ``input`` list), ``[]`` if none."""
        body = self.body if isinstance(self.body, Mapping) else {}
        value = body.get("messages")
        if value is None:
            value = body.get("input")
            value = [{"role": "user", "content": value}] if isinstance(value, str) else value
        return list(value) if isinstance(value, list) else []

    @property
    def tools(self) -> list[Any]:
        """The request's ``tools``, ``[]`` if none."""
        body = self.body if isinstance(self.body, Mapping) else {}
        tools = body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def params(self) -> dict[str, Any]:
        """The body's other fields (sampling parameters and the like)."""
        body = self.body if isinstance(self.body, Mapping) else {}
        skip = {"messages", "input", "tools", "prompt", "model"}
        return {k: v for k, v in body.items() if k not in skip}

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "route": self.route,
            "route_name": self.route_name,
            "model": self.model,
            "headers": self.headers,
            "body": self.body,
            "body_bytes": self.body_bytes,
            "received_at": self.received_at.isoformat(),
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
        }


@dataclass
class RequestLog:
    """The requests received, thread-safe, bounded."""

    limit: int = MAX_REQUESTS
    _entries: deque[RecordedRequest] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _count: int = 0

    def start(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, list[str]],
        route: str,
        route_name: str,
        model: str | None,
        headers: Mapping[str, str],
        body: bytes,
    ) -> int:
        """Record an arriving request; its index (to :meth:`finish` it)."""
        with self._lock:
            self._count += 1
            entry = RecordedRequest(
                index=self._count,
                method=method,
                path=path,
                query=query,
                route=route,
                route_name=route_name,
                model=model,
                headers=mask_headers(headers),
                _raw=body,
                body_bytes=len(body),
                received_at=datetime.datetime.now(datetime.timezone.utc),
            )
            self._entries.append(entry)
            while len(self._entries) > self.limit:
                self._entries.popleft()
            return self._count

    def finish(self, index: int, status: int, duration_ms: float) -> None:
        """Set the status and duration of request ``index``."""
        with self._lock:
            for position in range(len(self._entries) - 1, -1, -1):
                entry = self._entries[position]
                if entry.index == index:
                    self._entries[position] = _finished(entry, status, duration_ms)
                    return

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._count = 0


def _finished(entry: RecordedRequest, status: int, duration_ms: float) -> RecordedRequest:
    from dataclasses import replace

    return replace(entry, status=status, duration_ms=duration_ms)
