"""Sync and async HTTP clients for Workers AI.

All decisions live in pure modules (:mod:`~workers_ai.settings` builds URLs and headers,
:mod:`~workers_ai.envelope` unwraps and maps errors, :mod:`~workers_ai.retry` decides and
times retries, :mod:`~workers_ai.streaming` decodes SSE). The two client classes here only send,
await and sleep, so their logic cannot drift apart; ``tests/unit/test_client.py`` runs one table
through both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

import httpx

from workers_ai import catalog
from workers_ai._distribution import __version__
from workers_ai._loops import LoopLocal, close_at_loop_shutdown
from workers_ai.chat import normalize_chat_result
from workers_ai.envelope import meta_from_headers, status_error_from_response, unwrap_response
from workers_ai.errors import APIError, ConfigurationError, InvalidRequestError
from workers_ai.messages import find_unencodable
from workers_ai.responses import (
    APIResponse,
    AsyncChatStream,
    AsyncEventStream,
    ChatResponse,
    ChatStream,
    EventStream,
)
from workers_ai.retry import RetryPolicy, RetryState, RetryStep, transport_error
from workers_ai.settings import (
    GatewayOptions,
    RedactedHeaders,
    TimeoutTypes,
    WorkersAISettings,
    coerce_timeout,
    resolve_settings,
    validate_headers,
    validate_model_id,
)
from workers_ai.streaming import ChatStreamAccumulator

if TYPE_CHECKING:  # typing.Unpack is 3.11+; type checkers know typing_extensions either way
    from typing_extensions import Unpack

logger = logging.getLogger("workers_ai")

T = TypeVar("T")
Endpoint = Literal["native", "openai"]

USER_AGENT = f"workers-ai-python/{__version__} httpx/{httpx.__version__}"

_RUN_ROUTE = "/accounts/{account_id}/ai/run/{model}"
_OPENAI_ROUTE = "/accounts/{account_id}/ai/v1/{path}"

# Indirections so tests can patch time without sleeping.
_sleep = time.sleep
_asleep = asyncio.sleep


@dataclass(frozen=True)
class _Call:
    """Everything needed to send one logical request (retries rebuild the httpx.Request).

    Checked when built, so nothing fails between the first and the last byte sent: every
    header (per-call ones included) must be sendable, and the body is encoded to JSON once
    here (a NaN, a surrogate... raise ``InvalidRequestError`` naming where it is). A ``_Call``
    is a local of every frame of an error's traceback, so its ``headers`` are a
    :class:`~workers_ai.settings.RedactedHeaders`: ``repr`` masks the tokens.
    """

    method: str
    url: str
    route: str
    body: Mapping[str, Any] | None
    params: Mapping[str, Any] | None
    headers: Mapping[str, str]
    timeout: httpx.Timeout
    content: bytes | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        validate_headers(self.headers, "headers", error=InvalidRequestError)
        object.__setattr__(self, "headers", RedactedHeaders(self.headers))
        if self.body is not None:
            object.__setattr__(self, "content", _encode_body(self.body))

    def request(self) -> httpx.Request:
        return httpx.Request(
            self.method,
            self.url,
            content=self.content,
            params=self.params,
            headers=self.headers,
            extensions={"timeout": self.timeout.as_dict()},
        )


def _encode_body(body: Mapping[str, Any]) -> bytes:
    """The bytes httpx's ``json=`` sends; what JSON cannot carry raises InvalidRequestError."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        try:
            found = find_unencodable(body)
        except RecursionError:  # a circular structure
            found = None
        where, problem = found or ("", f"cannot be encoded as JSON ({exc})")
        location = f" field {where}" if where else ""
        raise InvalidRequestError(f"The request body{location} {problem}") from exc


def _check_open(client: httpx.Client | httpx.AsyncClient) -> None:
    """Raise ``ConfigurationError`` if a caller's ``http_client`` was closed (no request)."""
    if client.is_closed:
        raise ConfigurationError(
            "The http_client you passed is closed; pass an open httpx client, or none to let "
            "this client manage its own connection pool."
        )


def _check_inputs(inputs: object) -> dict[str, Any]:
    if not isinstance(inputs, Mapping):
        raise InvalidRequestError(
            f"inputs must be a mapping such as {{'prompt': 'Hello'}}, got {type(inputs).__name__}"
        )
    return dict(inputs)


class ClientOptions(TypedDict, total=False):
    """The connection options both clients take (see ``_BaseClient``), typed for checkers."""

    account_id: str | None
    api_token: str | None
    base_url: str | None
    gateway: GatewayOptions | str | None
    gateway_base_url: str | None
    timeout: TimeoutTypes
    max_retries: int | None
    default_headers: Mapping[str, str] | None
    max_connections: int | None
    max_keepalive_connections: int | None
    settings: WorkersAISettings | None


class _BaseClient:
    """Settings, request building and the retry bookkeeping shared by both clients."""

    def __init__(
        self,
        *,
        account_id: str | None = None,
        api_token: str | None = None,
        base_url: str | None = None,
        gateway: GatewayOptions | str | None = None,
        gateway_base_url: str | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_connections: int | None = None,
        max_keepalive_connections: int | None = None,
        settings: WorkersAISettings | None = None,
    ) -> None:
        self._settings = settings or resolve_settings(
            account_id=account_id,
            api_token=api_token,
            base_url=base_url,
            gateway=gateway,
            gateway_base_url=gateway_base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
        )

    @property
    def settings(self) -> WorkersAISettings:
        """The resolved settings (the token inside is a ``SecretStr``)."""
        return self._settings

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._settings.base_url!r})"

    # -- request building -------------------------------------------------------------------
    def _call(
        self,
        method: str,
        url: str,
        route: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
    ) -> _Call:
        all_headers = RedactedHeaders(
            {"User-Agent": USER_AGENT, **self._settings.headers(), **(headers or {})}
        )
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        return _Call(
            method=method,
            url=url,
            route=route,
            body=body,
            params=params,
            headers=all_headers,
            timeout=self._settings.timeout if timeout is None else coerce_timeout(timeout),
        )

    def _run_call(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        stream: bool,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
    ) -> _Call:
        body = _check_inputs(inputs)
        if stream:
            body["stream"] = True
        url = self._settings.run_url(validate_model_id(model))
        return self._call(
            "POST", url, _RUN_ROUTE, body=body, params=params, headers=headers, timeout=timeout
        )

    def _openai_call(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        stream: bool,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
    ) -> _Call:
        payload = _check_inputs(body)
        if "model" in payload:
            validate_model_id(payload["model"])
        if stream:
            payload["stream"] = True
            if path == "chat/completions":
                # Usage arrives only when asked for on OpenAI-style streams.
                payload.setdefault("stream_options", {"include_usage": True})
        url = self._settings.openai_url(path)
        route = _OPENAI_ROUTE.format(account_id="{account_id}", path=path)
        return self._call("POST", url, route, body=payload, headers=headers, timeout=timeout)

    def _chat_call(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        endpoint: Endpoint,
        stream: bool,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
    ) -> _Call:
        if endpoint == "openai":
            body = {**_check_inputs(inputs), "model": validate_model_id(model)}
            return self._openai_call(
                "chat/completions", body, stream=stream, timeout=timeout, headers=headers
            )
        if endpoint != "native":
            raise InvalidRequestError(f"endpoint must be 'native' or 'openai', not {endpoint!r}")
        return self._run_call(
            model, inputs, stream=stream, timeout=timeout, headers=headers, params=None
        )

    # -- retry bookkeeping --------------------------------------------------------------------
    def _retry_or_raise(self, state: RetryState, error: APIError, call: _Call) -> RetryStep:
        """The retry after ``error`` (per the one policy), or raise ``error``."""
        policy = RetryPolicy(self._settings.max_retries)
        step = policy.next(state, error)
        if step is None:
            raise error
        logger.info(
            "%s %s failed (%s); retry %d of %d",
            call.method,
            call.route,
            type(error).__name__,
            step.state.retries_done,
            policy.max_retries,
        )
        return step


def _streams(model: str, endpoint: Endpoint) -> bool:
    """Whether to ask for SSE: gpt-oss cannot stream on ``/ai/run`` (spec §3), so its
    "streams" are one non-streaming request replayed as a single delta."""
    info = catalog.get(model)
    return endpoint == "openai" or not info.known or info.streaming


def _accumulator(think_tags: bool | None, tool_names: tuple[str, ...]) -> ChatStreamAccumulator:
    return ChatStreamAccumulator(think_tags=think_tags, tool_names=tool_names)


class WorkersAIClient(_BaseClient):
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
                    settings = self._settings
                    pool = httpx.Client(timeout=settings.timeout, limits=settings.limits)
                    # Closed when this client is collected, if nobody called close().
                    weakref.finalize(self, pool.close)
                    self._http_client = pool
        _check_open(self._http_client)
        return self._http_client

    def _with_retries(self, call: _Call, attempt: Callable[[], T]) -> T:
        state = RetryState()
        while True:
            try:
                return attempt()
            except APIError as error:
                step = self._retry_or_raise(state, error, call)
                state = step.state
                _sleep(step.delay)

    def _send(self, call: _Call) -> APIResponse:
        def attempt() -> APIResponse:
            logger.debug("%s %s", call.method, call.route)
            try:
                response = self._http().send(call.request())
            except httpx.TransportError as exc:
                raise transport_error(exc) from exc
            data = unwrap_response(response.status_code, response.headers, response.content)
            return APIResponse(data, meta_from_headers(response.status_code, response.headers))

        return self._with_retries(call, attempt)

    def _open_stream(self, call: _Call) -> EventStream:
        def attempt() -> EventStream:
            logger.debug("%s %s (stream)", call.method, call.route)
            try:
                pool = self._http()
                response = pool.send(call.request(), stream=True)
            except httpx.TransportError as exc:
                raise transport_error(exc) from exc
            try:
                return self._stream_from_response(response, pool)
            except BaseException:
                response.close()
                raise

        return self._with_retries(call, attempt)

    @staticmethod
    def _stream_from_response(response: httpx.Response, pool: httpx.Client) -> EventStream:
        meta = meta_from_headers(response.status_code, response.headers)
        try:
            if not response.is_success or "event-stream" not in response.headers.get(
                "content-type", ""
            ):
                response.read()
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        if not response.is_success:
            raise status_error_from_response(
                response.status_code, response.headers, response.content
            )
        if "event-stream" not in response.headers.get("content-type", ""):
            payload = unwrap_response(response.status_code, response.headers, response.content)
            return EventStream(meta, payload=payload)
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
        return self._send(call)

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
    ) -> ChatResponse:
        """Run a text-generation model and normalise whatever shape it answers with."""
        call = self._chat_call(
            model, inputs, endpoint=endpoint, stream=False, timeout=timeout, headers=headers
        )
        response = self._send(call)
        result = normalize_chat_result(response.data, think_tags=think_tags, tool_names=tool_names)
        return ChatResponse(result, response.meta)

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
    ) -> ChatStream:
        """Stream a chat answer as normalised deltas (usage exactly once, on the last)."""
        if not _streams(model, endpoint):
            call = self._chat_call(
                model, inputs, endpoint=endpoint, stream=False, timeout=timeout, headers=headers
            )
            response = self._send(call)
            events = EventStream(response.meta, payload=response.data)
            return ChatStream(events, _accumulator(think_tags, tool_names))
        call = self._chat_call(
            model, inputs, endpoint=endpoint, stream=True, timeout=timeout, headers=headers
        )
        return ChatStream(self._open_stream(call), _accumulator(think_tags, tool_names))

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

    def models_search(self, **params: Any) -> list[dict[str, Any]]:
        """``GET /ai/models/search`` (``task``, ``author``, ``search``, ``page``, ``per_page``)."""
        call = self._call(
            "GET",
            self._settings.account_url("ai/models/search"),
            "/accounts/{account_id}/ai/models/search",
            params=params,
        )
        data = self._send(call).data
        return list(data) if isinstance(data, list) else []

    def model_schema(self, model: str) -> dict[str, Any]:
        """``GET /ai/models/schema?model=...``: the model's input and output JSON Schemas."""
        call = self._call(
            "GET",
            self._settings.account_url("ai/models/schema"),
            "/accounts/{account_id}/ai/models/schema",
            params={"model": validate_model_id(model)},
        )
        data = self._send(call).data
        return dict(data) if isinstance(data, dict) else {}

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


def _new_loop_pool(settings: WorkersAISettings) -> _LoopPool:
    pool = httpx.AsyncClient(timeout=settings.timeout, limits=settings.limits)
    return _LoopPool(pool, close_at_loop_shutdown(pool.aclose))


class AsyncWorkersAIClient(_BaseClient):
    """Asynchronous Workers AI client; the same API as :class:`WorkersAIClient`, awaited.

    The connection pool is created lazily inside the running event loop, one per loop: an
    object used from ``asyncio.run`` twice, a notebook and a test runner gets a pool for each
    loop instead of failing with "Event loop is closed", and each pool is closed on its own
    loop when that loop shuts down (or when the client is garbage-collected), so no socket
    leaks even without :meth:`aclose`.
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

    async def _with_retries(self, call: _Call, attempt: Callable[[], Awaitable[T]]) -> T:
        state = RetryState()
        while True:
            try:
                return await attempt()
            except APIError as error:
                step = self._retry_or_raise(state, error, call)
                state = step.state
                await _asleep(step.delay)

    async def _send(self, call: _Call) -> APIResponse:
        async def attempt() -> APIResponse:
            logger.debug("%s %s", call.method, call.route)
            try:
                response = await self._http().send(call.request())
            except httpx.TransportError as exc:
                raise transport_error(exc) from exc
            data = unwrap_response(response.status_code, response.headers, response.content)
            return APIResponse(data, meta_from_headers(response.status_code, response.headers))

        return await self._with_retries(call, attempt)

    async def _open_stream(self, call: _Call) -> AsyncEventStream:
        async def attempt() -> AsyncEventStream:
            logger.debug("%s %s (stream)", call.method, call.route)
            try:
                pool = self._http()
                response = await pool.send(call.request(), stream=True)
            except httpx.TransportError as exc:
                raise transport_error(exc) from exc
            try:
                return await self._stream_from_response(response, pool)
            except BaseException:
                await response.aclose()
                raise

        return await self._with_retries(call, attempt)

    @staticmethod
    async def _stream_from_response(
        response: httpx.Response, pool: httpx.AsyncClient
    ) -> AsyncEventStream:
        meta = meta_from_headers(response.status_code, response.headers)
        is_sse = "event-stream" in response.headers.get("content-type", "")
        try:
            if not response.is_success or not is_sse:
                await response.aread()
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        if not response.is_success:
            raise status_error_from_response(
                response.status_code, response.headers, response.content
            )
        if not is_sse:
            payload = unwrap_response(response.status_code, response.headers, response.content)
            return AsyncEventStream(meta, payload=payload)
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
        return await self._send(call)

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
    ) -> ChatResponse:
        """Run a text-generation model and normalise whatever shape it answers with."""
        call = self._chat_call(
            model, inputs, endpoint=endpoint, stream=False, timeout=timeout, headers=headers
        )
        response = await self._send(call)
        result = normalize_chat_result(response.data, think_tags=think_tags, tool_names=tool_names)
        return ChatResponse(result, response.meta)

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
    ) -> AsyncChatStream:
        """Stream a chat answer as normalised deltas (usage exactly once, on the last)."""
        if not _streams(model, endpoint):
            call = self._chat_call(
                model, inputs, endpoint=endpoint, stream=False, timeout=timeout, headers=headers
            )
            response = await self._send(call)
            payload_events = AsyncEventStream(response.meta, payload=response.data)
            return AsyncChatStream(payload_events, _accumulator(think_tags, tool_names))
        call = self._chat_call(
            model, inputs, endpoint=endpoint, stream=True, timeout=timeout, headers=headers
        )
        events = await self._open_stream(call)
        return AsyncChatStream(events, _accumulator(think_tags, tool_names))

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

    async def models_search(self, **params: Any) -> list[dict[str, Any]]:
        """``GET /ai/models/search``."""
        call = self._call(
            "GET",
            self._settings.account_url("ai/models/search"),
            "/accounts/{account_id}/ai/models/search",
            params=params,
        )
        data = (await self._send(call)).data
        return list(data) if isinstance(data, list) else []

    async def model_schema(self, model: str) -> dict[str, Any]:
        """``GET /ai/models/schema?model=...``."""
        call = self._call(
            "GET",
            self._settings.account_url("ai/models/schema"),
            "/accounts/{account_id}/ai/models/schema",
            params={"model": validate_model_id(model)},
        )
        data = (await self._send(call)).data
        return dict(data) if isinstance(data, dict) else {}

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
