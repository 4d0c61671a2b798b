"""Response objects: unwrapped payloads with metadata, and open SSE streams.

The stream classes drive the pure :class:`~workers_ai.streaming.EventStreamReader` with lines
from httpx; they hold no decoding logic of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIError, APIResponseValidationError, StreamError
from workers_ai.retry import transport_error, transport_errors
from workers_ai.streaming import ChatStreamAccumulator, EventStreamReader, is_preamble
from workers_ai.types import ChatDelta, ChatResult, ResponseMeta

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIResponse",
    "AsyncChatStream",
    "AsyncEventStream",
    "ChatResponse",
    "ChatStream",
    "EventStream",
]


@dataclass(frozen=True)
class APIResponse:
    """A successful response: the unwrapped payload and what the headers said."""

    data: Any
    meta: ResponseMeta


@dataclass(frozen=True)
class ChatResponse:
    """A normalised chat answer and its response metadata."""

    result: ChatResult
    meta: ResponseMeta


def _single_event(payload: Any) -> list[dict[str, Any]]:
    """A JSON body that answered a stream request, as the one event it stands for.

    Raises:
        APIResponseValidationError: The body is not a JSON object, so it is no event.
    """
    if not isinstance(payload, dict):
        raise APIResponseValidationError(
            "Workers AI answered a stream request with JSON that is not an object: "
            f"{value_excerpt(payload)}",
            body=value_excerpt(payload),
        )
    return [payload]


def _read_errors() -> tuple[type[Exception], ...]:
    """What reading a stream raises when it fails (for ``except``: evaluated only then)."""
    import httpx

    return (*transport_errors(), httpx.StreamError)


def _closed_error(by_stream: bool) -> StreamError:
    what = "the stream" if by_stream else "its client (close()/aclose() on the model or client)"
    return StreamError(
        f"The stream was closed before it finished, by {what}; start a new request to read on."
    )


class _StreamState:
    """What both event streams share: the decoder, pending events, and the end/closed rules."""

    def __init__(
        self,
        meta: ResponseMeta,
        response: httpx.Response | None,
        payload: Any,
        pool_closed: Callable[[], bool],
    ) -> None:
        self.meta = meta
        self._response = response
        self._pool_closed = pool_closed
        self._closed = False
        self._reader = EventStreamReader()
        # A JSON body answered a stream request (gpt-oss does this): one event.
        self._pending: list[dict[str, Any]] = _single_event(payload) if response is None else []
        self._finished = response is None

    def _check_open(self) -> None:
        if self._closed or self._pool_closed():
            raise _closed_error(self._closed)

    def _read_failed(self, exc: Exception) -> APIError:
        """The typed error for a failed read: closed by us, unreadable, or the network."""
        if self._closed or self._pool_closed():
            return _closed_error(self._closed)
        if not isinstance(exc, transport_errors()):
            return StreamError(f"The stream cannot be read: {exc}")
        return transport_error(exc)

    def _ended(self) -> list[dict[str, Any]]:
        self._finished = True
        return self._reader.close()

    def _feed(self, line: str) -> list[dict[str, Any]]:
        events = self._reader.feed_line(line)
        if self._reader.done:
            self._finished = True
        return events

    def _mark_closed(self) -> None:
        """Closing before the end makes later reads say the stream was closed."""
        self._closed = not self._finished or bool(self._pending)
        self._pending.clear()


class EventStream(_StreamState):
    """An open SSE stream of decoded JSON events (dicts), ending at ``data: [DONE]``.

    Iterate it, or use it as a context manager to be sure the connection is released.
    ``meta`` holds the response headers' information. An error event, a body that ends without
    ``[DONE]``, or malformed JSON raise :class:`~workers_ai.errors.StreamError`. A JSON body
    instead of an event stream is one event; if it is not an object,
    :class:`~workers_ai.errors.APIResponseValidationError` is raised.
    """

    def __init__(
        self,
        meta: ResponseMeta,
        response: httpx.Response | None = None,
        *,
        payload: Any = None,
        pool_closed: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(meta, response, payload, pool_closed)
        self._lines = response.iter_lines() if response is not None else iter(())

    def _prefetch(self) -> None:
        """Read until the first event that says something (or the end), so start-of-stream
        errors can be retried or fall back: a typed stream's opening events
        (``message_start``, ``ping``, ``response.created``...) do not count
        (:func:`~workers_ai.streaming.is_preamble`)."""
        while not self._finished and all(map(is_preamble, self._pending)):
            self._pending.extend(self._read_more())

    def _read_more(self) -> list[dict[str, Any]]:
        self._check_open()
        try:
            line = next(self._lines)
        except StopIteration:
            return self._ended()
        except _read_errors() as exc:
            raise self._read_failed(exc) from exc
        return self._feed(line)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            while self._pending or not self._finished:
                if self._pending:
                    yield self._pending.pop(0)
                else:
                    self._pending.extend(self._read_more())
        finally:
            self.close()

    def close(self) -> None:
        """Release the connection (safe to call twice); reading on says it is closed."""
        self._mark_closed()
        if self._response is not None:
            self._response.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEventStream(_StreamState):
    """The async twin of :class:`EventStream` (iterate with ``async for``)."""

    def __init__(
        self,
        meta: ResponseMeta,
        response: httpx.Response | None = None,
        *,
        payload: Any = None,
        pool_closed: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(meta, response, payload, pool_closed)
        self._lines: AsyncIterator[str] | None = (
            response.aiter_lines() if response is not None else None
        )

    async def _prefetch(self) -> None:
        while not self._finished and all(map(is_preamble, self._pending)):
            self._pending.extend(await self._read_more())

    async def _read_more(self) -> list[dict[str, Any]]:
        assert self._lines is not None
        self._check_open()
        try:
            line = await self._lines.__anext__()
        except StopAsyncIteration:
            return self._ended()
        except _read_errors() as exc:
            raise self._read_failed(exc) from exc
        return self._feed(line)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        try:
            while self._pending or not self._finished:
                if self._pending:
                    yield self._pending.pop(0)
                else:
                    self._pending.extend(await self._read_more())
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Release the connection (safe to call twice); reading on says it is closed."""
        self._mark_closed()
        if self._response is not None:
            await self._response.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _ChatStreamState:
    """What the sync and async chat streams share: the accumulator, and telling ``on_done``
    the whole answer once read to its end, or ``on_abandon`` when closed or failed before."""

    def __init__(
        self,
        events: EventStream | AsyncEventStream,
        accumulator: ChatStreamAccumulator,
        on_done: Callable[[ChatResult], None] | None,
        on_abandon: Callable[[], None] | None,
    ) -> None:
        self.meta = events.meta
        self._acc = accumulator
        self._done = False
        self._on_done = on_done  # told the whole answer once the stream is read to its end
        self._on_abandon = on_abandon  # told when it is closed or fails before that
        self._reported = False

    def _finish(self) -> ChatDelta:
        """The last delta, once every event was fed; the whole answer reported."""
        self._done = True
        last = self._acc.finish()
        if self._on_done is not None:
            self._on_done(self._acc.result())
        self._reported = True
        return last

    def _abandoned(self) -> None:
        if not self._reported and self._on_abandon is not None:
            self._reported = True
            self._on_abandon()

    def result(self) -> ChatResult:
        """The whole message, once the stream has been consumed."""
        if not self._done:
            raise RuntimeError(
                f"{type(self).__name__}.result() is available after iterating the stream"
            )
        return self._acc.result()


class ChatStream(_ChatStreamState):
    """A stream of normalised :class:`~workers_ai.types.ChatDelta`; ``result()`` afterwards."""

    def __init__(
        self,
        events: EventStream,
        accumulator: ChatStreamAccumulator,
        *,
        on_done: Callable[[ChatResult], None] | None = None,
        on_abandon: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(events, accumulator, on_done, on_abandon)
        self._events = events

    def __iter__(self) -> Iterator[ChatDelta]:
        try:
            with self._events:
                for event in self._events:
                    delta = self._acc.feed(event)
                    if delta is not None:
                        yield delta
                yield self._finish()
        finally:
            self._abandoned()

    def close(self) -> None:
        self._events.close()
        self._abandoned()


class AsyncChatStream(_ChatStreamState):
    """The async twin of :class:`ChatStream`."""

    def __init__(
        self,
        events: AsyncEventStream,
        accumulator: ChatStreamAccumulator,
        *,
        on_done: Callable[[ChatResult], None] | None = None,
        on_abandon: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(events, accumulator, on_done, on_abandon)
        self._events = events

    async def __aiter__(self) -> AsyncIterator[ChatDelta]:
        try:
            async with self._events:
                async for event in self._events:
                    delta = self._acc.feed(event)
                    if delta is not None:
                        yield delta
                yield self._finish()
        finally:
            self._abandoned()

    async def aclose(self) -> None:
        await self._events.aclose()
        self._abandoned()
