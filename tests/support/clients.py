"""One core-client method, called the same way through the sync and the async client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from workers_ai import AsyncWorkersAIClient, WorkersAIClient

STREAM_METHODS = frozenset({"stream", "stream_chat", "openai_stream"})

#: An ``httpx.MockTransport`` handler.
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Streamed:
    """A consumed stream: what it yielded, the stream object, and the error that ended it."""

    items: list[Any]
    stream: Any
    error: BaseException | None = None


def call_client(
    kind: str,
    ctor: dict[str, Any],
    method: str,
    args: Any,
    kw: Any,
    *,
    handler: Handler | None = None,
    keep_error: bool = False,
) -> Any:
    """Call ``method`` on a fresh ``kind`` (``sync``/``async``) client built from ``ctor``.

    With a ``handler`` the client's HTTP client sends through an ``httpx.MockTransport`` to it.
    Streams are consumed into a :class:`Streamed`; with ``keep_error=True`` an exception raised
    while iterating is kept in ``Streamed.error`` with the items received before it, otherwise it
    propagates.
    """

    def built(http_client_class: Any) -> dict[str, Any]:
        if handler is None:
            return ctor
        return {"http_client": http_client_class(transport=httpx.MockTransport(handler)), **ctor}

    if kind == "sync":
        with WorkersAIClient(**built(httpx.Client)) as client:
            out = getattr(client, method)(*args, **kw)
            return _consumed(out, keep_error) if method in STREAM_METHODS else out

    async def go() -> Any:
        async with AsyncWorkersAIClient(**built(httpx.AsyncClient)) as client:
            out = await getattr(client, method)(*args, **kw)
            return await _aconsumed(out, keep_error) if method in STREAM_METHODS else out

    return asyncio.run(go())


def _consumed(stream: Any, keep_error: bool) -> Streamed:
    streamed = Streamed([], stream)
    try:
        for item in stream:
            streamed.items.append(item)
    except Exception as exc:
        if not keep_error:
            raise
        streamed.error = exc
    return streamed


async def _aconsumed(stream: Any, keep_error: bool) -> Streamed:
    streamed = Streamed([], stream)
    try:
        async for item in stream:
            streamed.items.append(item)
    except Exception as exc:
        if not keep_error:
            raise
        streamed.error = exc
    return streamed
