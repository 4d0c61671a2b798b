"""The emulator's HTTP values (pure): a request read, a response to send, the v4 envelope."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "JSON_HEADER",
    "Message",
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "envelope",
    "error_response",
    "json_response",
    "lifespan",
    "read_body",
]

#: ASGI's callables and messages (the emulator and the replay server are raw ASGI apps).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADER = (b"content-type", b"application/json")
_JSON = JSON_HEADER


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    """What to send: a JSON/HTML body, or SSE frames; ``abort`` drops the connection.

    ``cut_body_at``: send the status, the headers (with the full ``content-length``) and only
    this many bytes of ``body``, then drop the connection (the ``reset_mid_body`` fault).
    """

    status: int = 200
    body: bytes | None = b""
    frames: list[bytes] | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    abort: bool = False
    first_byte_delay: float = 0.0
    fault: str | None = None
    cut_body_at: int | None = None

    @property
    def dropped(self) -> bool:
        """The connection is dropped on purpose before the answer is complete."""
        return self.abort or self.cut_body_at is not None


def envelope(result: Any) -> bytes:
    return json.dumps({"result": result, "success": True, "errors": [], "messages": []}).encode()


def error_response(
    status: int, code: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> Response:
    body = {
        "result": None,
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
    }
    return Response(status, json.dumps(body).encode(), headers=[_JSON, *(headers or [])])


def json_response(payload: Any, *, wrap: bool = True) -> Response:
    body = envelope(payload) if wrap else json.dumps(payload).encode()
    return Response(200, body, headers=[_JSON])


async def lifespan(receive: Receive, send: Send) -> None:
    """Answer ASGI's lifespan messages (nothing to start or stop)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """A request's whole body, or ``None`` once it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)
