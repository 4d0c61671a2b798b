"""Sync and async HTTP clients for Workers AI: they only send, await, sleep and close.

Everything else (request building, answers, retry decisions) is in
:class:`workers_ai._base_client.BaseClient`, so the two classes cannot drift apart;
``tests/unit/test_client.py`` runs one table through both.

httpx (and aiohttp, for ``async_transport="aiohttp"``) is imported when the first connection pool
is made, not with this module: ``import workers_ai`` and building a model object stay light.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from workers_ai._base_client import (
    BaseClient,
    ClientOptions,
    Endpoint,
    _Call,
    _check_open,
    _user_agent,
)
from workers_ai._loops import LoopLocal, close_at_loop_shutdown
from workers_ai.errors import APIError, ConfigurationError
from workers_ai.fallback import ChatTarget, Tally
from workers_ai.responses import (
    APIResponse,
    AsyncChatStream,
    AsyncEventStream,
    ChatResponse,
    ChatStream,
    EventStream,
)
from workers_ai.retry import RetryState
from workers_ai.retry import transport_error as _transport_error
from workers_ai.retry import transport_errors as _transport_errors
from workers_ai.settings import TimeoutTypes, WorkersAISettings, aiohttp_missing_message
from workers_ai.usage import releasing

if TYPE_CHECKING:  # typing.Unpack is 3.11+; type checkers know typing_extensions either way
    import httpx
    from typing_extensions import Unpack

    from workers_ai.ai_search.client import AISearch, AsyncAISearch
    from workers_ai.vectorize.client import AsyncVectorize, Vectorize

    #: ``workers-ai-python/{version} httpx/{version}``, the User-Agent of every request.
    USER_AGENT: str

__all__ = [
    "USER_AGENT",
    "AsyncWorkersAIClient",
    "ClientOptions",
    "ClientPair",
    "Endpoint",
    "WorkersAIClient",
]

logger = logging.getLogger("workers_ai")

T = TypeVar("T")

# Indirections so tests can patch time without sleeping.
_sleep = time.sleep
_asleep = asyncio.sleep

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "USER_AGENT":  # names httpx's version: built when first asked for
            return _user_agent()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class WorkersAIClient(BaseClient):
    """Synchronous Workers AI client: one connection pool, typed errors, retries.

    Credentials come from the arguments or the environment (see
    :func:`~workers_ai.settings.resolve_settings`); nothing touches the network until the
    first call.

    Example:
        >>> from workers_ai import WorkersAIClient
        >>> with WorkersAIClient() as client:  # doctest: +SKIP
        ...     client.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hi"})["response"]
    """

    def __init__(
        self, *, http_client: httpx.Client | None = None, **kwargs: Unpack[ClientOptions]
    ) -> None:
        super().__init__(**kwargs)
        self._http_client = http_client
        self._owns_http_client = http_client is None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        if self._http_client is None:
            with self._lock:
                if self._http_client is None:
                    import httpx

                    settings = self._settings
                    pool = httpx.Client(timeout=settings.timeout, limits=settings.limits)
                    # Closed when this client is collected, if nobody called close().
                    weakref.finalize(self, pool.close)
                    self._http_client = pool
        _check_open(self._http_client)
        return self._http_client

    def _with_retries(self, call: _Call, attempt: Callable[[], T], tally: Tally | None) -> T:
        state = RetryState()
        while True:
            if tally is not None:
                tally.attempts += 1
            try:
                return attempt()
            except APIError as error:
                step = self._retry_or_raise(state, error, call)
                state = step.state
                _sleep(step.delay)

    def _send(self, call: _Call, tally: Tally | None = None) -> APIResponse:
        def attempt() -> APIResponse:
            logger.debug("%s %s", call.method, call.route)
            try:
                response = self._http().send(call.request())
            except _transport_errors() as exc:
                raise _transport_error(exc) from exc
            return self._answer(response, call)

        return self._with_retries(call, attempt, tally)

    def _open_stream(self, call: _Call, tally: Tally | None = None) -> EventStream:
        def attempt() -> EventStream:
            logger.debug("%s %s (stream)", call.method, call.route)
            try:
                pool = self._http()
                response = pool.send(call.request(), stream=True)
            except _transport_errors() as exc:
                raise _transport_error(exc) from exc
            try:
                return self._stream_from_response(response, pool, call)
            except BaseException:
                response.close()
                raise

        return self._with_retries(call, attempt, tally)

    def _stream_from_response(
        self, response: httpx.Response, pool: httpx.Client, call: _Call
    ) -> EventStream:
        if self._needs_body(response):
            try:
                response.read()
            except _transport_errors() as exc:
                raise _transport_error(exc) from exc
            meta, payload = self._body_answer(response, call)
            return EventStream(meta, payload=payload)
        meta = self._meta(response)
        events = EventStream(meta, response, pool_closed=lambda: pool.is_closed)
        events._prefetch()
        return events

    # -- public API ---------------------------------------------------------------------------
    def run(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """``POST /ai/run/{model}``; returns the unwrapped ``result``."""
        return self.run_response(
            model, inputs, timeout=timeout, headers=headers, params=params
        ).data

    def run_response(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> APIResponse:
        """Like :meth:`run`, also returning response metadata (request id, cache status)."""
        call = self._run_call(
            model, inputs, stream=False, timeout=timeout, headers=headers, params=params
        )
        tally = Tally()
        hold = self._reserve_run(model, inputs, params)
        with releasing(hold):
            response = self._send(call, tally)
        self._report_run(model, inputs, params, response.data, tally, hold)
        return response

    def run_raw(
        self,
        model: str,
        content: bytes,
        *,
        content_type: str = "application/octet-stream",
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> APIResponse:
        """``POST /ai/run/{model}`` with ``content`` as the body: a file for the models that
        take one raw (whisper's audio, an image for resnet-50 / detr), spec §8. The answer as
        :meth:`run_response`'s (a binary one is a :class:`~workers_ai.types.MediaPayload`)."""
        call = self._raw_run_call(
            model, content, content_type=content_type, timeout=timeout, headers=headers,
            params=params,
        )  # fmt: skip
        tally = Tally()
        response = self._send(call, tally)
        self._report_run(model, {}, params, response.data, tally)
        return response

    def to_markdown(
        self,
        files: Sequence[tuple[str, bytes, str]],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
    ) -> list[dict[str, Any]]:
        """``POST /ai/tomarkdown`` (platform spec §4): convert files (``(name, bytes, media
        type)``) to Markdown; one result per file, ``format`` ``markdown``/``text``/``error``.
        ``options`` is ``conversionOptions``."""
        call = self._to_markdown_call(files, options, timeout)
        return self._markdown_results((self._send(call)).data)

    def to_markdown_supported(self) -> list[dict[str, Any]]:
        """``GET /ai/tomarkdown/supported``: the extensions and media types converted."""
        return self._as_list((self._send(self._to_markdown_supported_call())).data)

    def stream(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> EventStream:
        """``POST /ai/run/{model}`` with ``"stream": true``; iterate the decoded SSE events."""
        call = self._run_call(
            model, inputs, stream=True, timeout=timeout, headers=headers, params=None
        )
        return self._open_stream(call)

    def chat(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        endpoint: Endpoint = "native",
        think_tags: bool | None = None,
        tool_names: tuple[str, ...] = (),
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        fallbacks: Sequence[ChatTarget] = (),
    ) -> ChatResponse:
        """Run a text-generation model and normalise whatever shape it answers with.

        With ``fallbacks`` (models prepared for their family, see
        :func:`workers_ai.prepare.prepare_chat`), a model that still fails after its retries
        with an error another model could avoid (:func:`workers_ai.fallback.should_fall_back`)
        hands the call to the next one; the answer's ``meta`` says which model answered, the
        attempts and the steps.
        """
        run = self._fallback_run(model, inputs, endpoint, headers, fallbacks)
        universal = (
            self._universal_call(run.chain, stream=False, timeout=timeout) if fallbacks else None
        )
        if universal is not None:
            hold = self._reserve_chat(run.chain)
            with releasing(hold):
                response = self._send(universal, run.tally)
                target = run.gateway_answered(response.meta.gateway_step)
            return self._chain_answer(response, run, target, think_tags, tool_names, hold)
        for index, target in enumerate(run.chain):
            call = self._chat_call(
                target.model,
                target.body,
                endpoint=target.endpoint,
                stream=False,
                timeout=timeout,
                headers=target.headers,
            )
            hold = self._reserve_chat((target,))
            try:
                with releasing(hold):
                    response = self._send(call, run.tally)
            except APIError as error:
                run.failed(index, error)
                continue
            return self._chain_answer(response, run, target, think_tags, tool_names, hold)
        raise AssertionError("unreachable: the last model's failure is raised")

    def _chat_events(
        self, target: ChatTarget, timeout: TimeoutTypes, tally: Tally | None
    ) -> EventStream:
        call, streams = self._stream_chat_call(
            target.model,
            target.body,
            endpoint=target.endpoint,
            timeout=timeout,
            headers=target.headers,
        )
        if streams:
            return self._open_stream(call, tally)
        response = self._send(call, tally)
        return EventStream(response.meta, payload=response.data)

    def stream_chat(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        endpoint: Endpoint = "native",
        think_tags: bool | None = None,
        tool_names: tuple[str, ...] = (),
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        fallbacks: Sequence[ChatTarget] = (),
    ) -> ChatStream:
        """Stream a chat answer as normalised deltas (usage exactly once, on the last).

        ``fallbacks`` as for :meth:`chat`, only until the stream's first event arrived: a
        stream that breaks later raises, as without fallbacks.
        """
        run = self._fallback_run(model, inputs, endpoint, headers, fallbacks)
        universal = (
            self._universal_call(run.chain, stream=True, timeout=timeout) if fallbacks else None
        )
        if universal is not None:
            hold = self._reserve_chat(run.chain)
            with releasing(hold):
                events = self._open_stream(universal, run.tally)
                target = run.gateway_answered(events.meta.gateway_step)
            return self._chain_stream(ChatStream, events, run, target, think_tags, tool_names, hold)
        for index, target in enumerate(run.chain):
            hold = self._reserve_chat((target,))
            try:
                with releasing(hold):
                    events = self._chat_events(target, timeout, run.tally)
            except APIError as error:
                run.failed(index, error)
                continue
            return self._chain_stream(ChatStream, events, run, target, think_tags, tool_names, hold)
        raise AssertionError("unreachable: the last model's failure is raised")

    def openai(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``POST /ai/v1/{path}`` (OpenAI-compatible: ``chat/completions``, ``embeddings``,
        ``responses``); returns the body (unwrapped if enveloped)."""
        call = self._openai_call(path, body, stream=False, timeout=timeout, headers=headers)
        return self._send(call).data

    def openai_stream(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> EventStream:
        """Streamed ``POST /ai/v1/{path}`` (``chat/completions``): OpenAI chunk events."""
        call = self._openai_call(path, body, stream=True, timeout=timeout, headers=headers)
        return self._open_stream(call)

    @property
    def ai_search(self) -> AISearch:
        """AI Search instances and legacy AutoRAGs of this account (platform spec §3)."""
        from workers_ai.ai_search.client import AISearch

        return AISearch(self)

    @property
    def vectorize(self) -> Vectorize:
        """Vectorize V2 indexes of this account (platform spec §2), through this client."""
        from workers_ai.vectorize.client import Vectorize

        return Vectorize(self)

    def models_search(self, **params: Any) -> list[dict[str, Any]]:
        """``GET /ai/models/search`` (``task``, ``author``, ``search``, ``page``, ``per_page``)."""
        return self._as_list(self._send(self._models_search_call(params)).data)

    def model_schema(self, model: str) -> dict[str, Any]:
        """``GET /ai/models/schema?model=...``: the model's input and output JSON Schemas."""
        return self._as_dict(self._send(self._model_schema_call(model)).data)

    def close(self) -> None:
        """Close the connection pool (an injected ``http_client`` is left open)."""
        if self._http_client is not None and self._owns_http_client:
            self._http_client.close()
            self._http_client = None

    def __enter__(self) -> WorkersAIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class _LoopPool:
    """One event loop's connection pool and the guard that closes it with that loop."""

    client: httpx.AsyncClient
    guard: AsyncGenerator[None, None]


def _new_async_pool(settings: WorkersAISettings) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with the settings' timeout and limits, sending with httpx's own
    transport or, for ``async_transport="aiohttp"``, with aiohttp (``httpx-aiohttp``)."""
    if settings.async_transport == "aiohttp":
        try:
            from httpx_aiohttp import HttpxAiohttpClient
        except ImportError as exc:
            raise ConfigurationError(f"{aiohttp_missing_message()} ({exc})") from exc
        return HttpxAiohttpClient(timeout=settings.timeout, limits=settings.limits)
    import httpx

    return httpx.AsyncClient(timeout=settings.timeout, limits=settings.limits)


def _new_loop_pool(settings: WorkersAISettings) -> _LoopPool:
    pool = _new_async_pool(settings)
    return _LoopPool(pool, close_at_loop_shutdown(pool.aclose))


class AsyncWorkersAIClient(BaseClient):
    """Asynchronous Workers AI client; the same API as :class:`WorkersAIClient`, awaited.

    The connection pool is created lazily inside the running event loop, one per loop: an
    object used from ``asyncio.run`` twice, a notebook and a test runner gets a pool for each
    loop instead of failing with "Event loop is closed", and each pool is closed on its own
    loop when that loop shuts down (or when the client is garbage-collected), so no socket
    leaks even without :meth:`aclose`.

    ``async_transport="aiohttp"`` (the ``aiohttp`` extra) makes those pools send with aiohttp,
    which serves many concurrent requests several times faster than httpx's own transport;
    errors, retries, timeouts and streams behave the same. An injected ``http_client`` is
    used as given.
    """

    def __init__(
        self, *, http_client: httpx.AsyncClient | None = None, **kwargs: Unpack[ClientOptions]
    ) -> None:
        super().__init__(**kwargs)
        self._http_client = http_client
        settings = self._settings
        self._pools: LoopLocal[_LoopPool] = LoopLocal(lambda: _new_loop_pool(settings))

    def _http(self) -> httpx.AsyncClient:
        if self._http_client is not None:
            _check_open(self._http_client)
            return self._http_client
        return self._pools.get().client

    async def _with_retries(
        self, call: _Call, attempt: Callable[[], Awaitable[T]], tally: Tally | None
    ) -> T:
        state = RetryState()
        while True:
            if tally is not None:
                tally.attempts += 1
            try:
                return await attempt()
            except APIError as error:
                step = self._retry_or_raise(state, error, call)
                state = step.state
                await _asleep(step.delay)

    async def _send(self, call: _Call, tally: Tally | None = None) -> APIResponse:
        async def attempt() -> APIResponse:
            logger.debug("%s %s", call.method, call.route)
            try:
                response = await self._http().send(call.request())
            except _transport_errors() as exc:
                raise _transport_error(exc) from exc
            return self._answer(response, call)

        return await self._with_retries(call, attempt, tally)

    async def _open_stream(self, call: _Call, tally: Tally | None = None) -> AsyncEventStream:
        async def attempt() -> AsyncEventStream:
            logger.debug("%s %s (stream)", call.method, call.route)
            try:
                pool = self._http()
                response = await pool.send(call.request(), stream=True)
            except _transport_errors() as exc:
                raise _transport_error(exc) from exc
            try:
                return await self._stream_from_response(response, pool, call)
            except BaseException:
                await response.aclose()
                raise

        return await self._with_retries(call, attempt, tally)

    async def _stream_from_response(
        self, response: httpx.Response, pool: httpx.AsyncClient, call: _Call
    ) -> AsyncEventStream:
        if self._needs_body(response):
            try:
                await response.aread()
            except _transport_errors() as exc:
                raise _transport_error(exc) from exc
            meta, payload = self._body_answer(response, call)
            return AsyncEventStream(meta, payload=payload)
        meta = self._meta(response)
        events = AsyncEventStream(meta, response, pool_closed=lambda: pool.is_closed)
        await events._prefetch()
        return events

    # -- public API ---------------------------------------------------------------------------
    async def run(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """``POST /ai/run/{model}``; returns the unwrapped ``result``."""
        response = await self.run_response(
            model, inputs, timeout=timeout, headers=headers, params=params
        )
        return response.data

    async def run_response(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> APIResponse:
        """Like :meth:`run`, also returning response metadata (request id, cache status)."""
        call = self._run_call(
            model, inputs, stream=False, timeout=timeout, headers=headers, params=params
        )
        tally = Tally()
        hold = self._reserve_run(model, inputs, params)
        with releasing(hold):
            response = await self._send(call, tally)
        self._report_run(model, inputs, params, response.data, tally, hold)
        return response

    async def run_raw(
        self,
        model: str,
        content: bytes,
        *,
        content_type: str = "application/octet-stream",
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> APIResponse:
        """``POST /ai/run/{model}`` with ``content`` as the body: a file for the models that
        take one raw (whisper's audio, an image for resnet-50 / detr), spec §8. The answer as
        :meth:`run_response`'s (a binary one is a :class:`~workers_ai.types.MediaPayload`)."""
        call = self._raw_run_call(
            model, content, content_type=content_type, timeout=timeout, headers=headers,
            params=params,
        )  # fmt: skip
        tally = Tally()
        response = await self._send(call, tally)
        self._report_run(model, {}, params, response.data, tally)
        return response

    async def to_markdown(
        self,
        files: Sequence[tuple[str, bytes, str]],
        *,
        options: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
    ) -> list[dict[str, Any]]:
        """``POST /ai/tomarkdown`` (platform spec §4): convert files (``(name, bytes, media
        type)``) to Markdown; one result per file, ``format`` ``markdown``/``text``/``error``.
        ``options`` is ``conversionOptions``."""
        call = self._to_markdown_call(files, options, timeout)
        return self._markdown_results((await self._send(call)).data)

    async def to_markdown_supported(self) -> list[dict[str, Any]]:
        """``GET /ai/tomarkdown/supported``: the extensions and media types converted."""
        return self._as_list((await self._send(self._to_markdown_supported_call())).data)

    async def stream(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncEventStream:
        """``POST /ai/run/{model}`` with ``"stream": true``; ``async for`` the decoded events."""
        call = self._run_call(
            model, inputs, stream=True, timeout=timeout, headers=headers, params=None
        )
        return await self._open_stream(call)

    async def chat(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        endpoint: Endpoint = "native",
        think_tags: bool | None = None,
        tool_names: tuple[str, ...] = (),
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        fallbacks: Sequence[ChatTarget] = (),
    ) -> ChatResponse:
        """Run a text-generation model and normalise whatever shape it answers with
        (``fallbacks`` as for :meth:`WorkersAIClient.chat`)."""
        run = self._fallback_run(model, inputs, endpoint, headers, fallbacks)
        universal = (
            self._universal_call(run.chain, stream=False, timeout=timeout) if fallbacks else None
        )
        if universal is not None:
            hold = self._reserve_chat(run.chain)
            with releasing(hold):
                response = await self._send(universal, run.tally)
                target = run.gateway_answered(response.meta.gateway_step)
            return self._chain_answer(response, run, target, think_tags, tool_names, hold)
        for index, target in enumerate(run.chain):
            call = self._chat_call(
                target.model,
                target.body,
                endpoint=target.endpoint,
                stream=False,
                timeout=timeout,
                headers=target.headers,
            )
            hold = self._reserve_chat((target,))
            try:
                with releasing(hold):
                    response = await self._send(call, run.tally)
            except APIError as error:
                run.failed(index, error)
                continue
            return self._chain_answer(response, run, target, think_tags, tool_names, hold)
        raise AssertionError("unreachable: the last model's failure is raised")

    async def _chat_events(
        self, target: ChatTarget, timeout: TimeoutTypes, tally: Tally | None
    ) -> AsyncEventStream:
        call, streams = self._stream_chat_call(
            target.model,
            target.body,
            endpoint=target.endpoint,
            timeout=timeout,
            headers=target.headers,
        )
        if streams:
            return await self._open_stream(call, tally)
        response = await self._send(call, tally)
        return AsyncEventStream(response.meta, payload=response.data)

    async def stream_chat(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        endpoint: Endpoint = "native",
        think_tags: bool | None = None,
        tool_names: tuple[str, ...] = (),
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
        fallbacks: Sequence[ChatTarget] = (),
    ) -> AsyncChatStream:
        """Stream a chat answer as normalised deltas (usage exactly once, on the last;
        ``fallbacks`` as for :meth:`WorkersAIClient.stream_chat`)."""
        run = self._fallback_run(model, inputs, endpoint, headers, fallbacks)
        universal = (
            self._universal_call(run.chain, stream=True, timeout=timeout) if fallbacks else None
        )
        if universal is not None:
            hold = self._reserve_chat(run.chain)
            with releasing(hold):
                events = await self._open_stream(universal, run.tally)
                target = run.gateway_answered(events.meta.gateway_step)
            return self._chain_stream(
                AsyncChatStream, events, run, target, think_tags, tool_names, hold
            )
        for index, target in enumerate(run.chain):
            hold = self._reserve_chat((target,))
            try:
                with releasing(hold):
                    events = await self._chat_events(target, timeout, run.tally)
            except APIError as error:
                run.failed(index, error)
                continue
            return self._chain_stream(
                AsyncChatStream, events, run, target, think_tags, tool_names, hold
            )
        raise AssertionError("unreachable: the last model's failure is raised")

    async def openai(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``POST /ai/v1/{path}`` (OpenAI-compatible); returns the body."""
        call = self._openai_call(path, body, stream=False, timeout=timeout, headers=headers)
        return (await self._send(call)).data

    async def openai_stream(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncEventStream:
        """Streamed ``POST /ai/v1/{path}`` (``chat/completions``): OpenAI chunk events."""
        call = self._openai_call(path, body, stream=True, timeout=timeout, headers=headers)
        return await self._open_stream(call)

    @property
    def ai_search(self) -> AsyncAISearch:
        """AI Search instances and legacy AutoRAGs of this account (platform spec §3)."""
        from workers_ai.ai_search.client import AsyncAISearch

        return AsyncAISearch(self)

    @property
    def vectorize(self) -> AsyncVectorize:
        """Vectorize V2 indexes of this account (platform spec §2), through this client."""
        from workers_ai.vectorize.client import AsyncVectorize

        return AsyncVectorize(self)

    async def models_search(self, **params: Any) -> list[dict[str, Any]]:
        """``GET /ai/models/search``."""
        return self._as_list((await self._send(self._models_search_call(params))).data)

    async def model_schema(self, model: str) -> dict[str, Any]:
        """``GET /ai/models/schema?model=...``."""
        return self._as_dict((await self._send(self._model_schema_call(model))).data)

    async def aclose(self) -> None:
        """Close the running loop's connection pool (an injected ``http_client`` is left open).

        Pools of other event loops close when their loop shuts down.
        """
        entry = self._pools.pop()
        if entry is not None:
            await entry.guard.aclose()

    async def __aenter__(self) -> AsyncWorkersAIClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ClientPair:
    """The sync and async clients of one model object: built on first use, closable, reused.

    The framework adapters hold one each, so a model's ``invoke`` and ``ainvoke`` share its
    settings and each keeps one connection pool (per event loop, for the async one).
    """

    def __init__(
        self,
        settings: WorkersAISettings,
        *,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._sync: WorkersAIClient | None = None
        self._async: AsyncWorkersAIClient | None = None

    @property
    def settings(self) -> WorkersAISettings:
        """The settings both clients use."""
        return self._settings

    @property
    def sync(self) -> WorkersAIClient:
        """The sync client (created on first use)."""
        if self._sync is None:
            self._sync = WorkersAIClient(settings=self._settings, http_client=self._http_client)
        return self._sync

    @property
    def async_(self) -> AsyncWorkersAIClient:
        """The async client (created on first use)."""
        if self._async is None:
            self._async = AsyncWorkersAIClient(
                settings=self._settings, http_client=self._async_http_client
            )
        return self._async

    def close(self) -> None:
        """Close the sync pool (an injected ``http_client`` is left open)."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the async pool of the running loop (an injected client is left open)."""
        if self._async is not None:
            await self._async.aclose()
            self._async = None
