"""What the sync and async clients share: request building, answers and retry bookkeeping.

Everything here is logic without I/O, so the two clients in :mod:`workers_ai.client` only
send, await, sleep and close, and cannot drift apart (``tests/unit/test_client.py`` runs one
table through both): a request is a :class:`_Call` built once and checked before anything is
sent; an answer becomes an :class:`~workers_ai.responses.APIResponse`, a
:class:`~workers_ai.responses.ChatResponse` or an event stream here; the retry decision is the
one :class:`~workers_ai.retry.RetryPolicy`.

httpx is imported when the first request is built, not with this module; a request's URL is
parsed once per URL (:func:`_parsed_url`), not on every call and retry.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from workers_ai import catalog
from workers_ai._distribution import __version__
from workers_ai.batch_api import is_batch_call
from workers_ai.budget import worst_case
from workers_ai.chat import normalize_chat_result, usage_from_wire
from workers_ai.envelope import (
    meta_from_headers,
    status_error_from_response,
    unwrap_response,
    value_excerpt,
)
from workers_ai.errors import (
    APIError,
    APIResponseValidationError,
    ConfigurationError,
    InvalidRequestError,
)
from workers_ai.fallback import ChatTarget, FallbackRun, Tally
from workers_ai.messages import find_unencodable
from workers_ai.multipart import MultipartForm
from workers_ai.providers import (
    CHAT_ENDPOINTS,
    ChatEndpoint,
    Route,
    chat_route,
    native_auth,
    openai_route,
    run_route,
    universal_entry,
    universal_route,
)
from workers_ai.responses import APIResponse, AsyncChatStream, ChatResponse, ChatStream
from workers_ai.retry import RetryPolicy, RetryState, RetryStep
from workers_ai.settings import (
    AsyncTransport,
    GatewayOptions,
    RedactedHeaders,
    TimeoutTypes,
    WorkersAISettings,
    coerce_timeout,
    resolve_settings,
    validate_headers,
    validate_model_id,
    validate_route_path,
)
from workers_ai.streaming import ChatStreamAccumulator
from workers_ai.types import ChatResult, ResponseMeta, Usage
from workers_ai.usage import (
    Hold,
    UsageRecord,
    listening,
    releasing,
    report_usage,
    reserve,
)

if TYPE_CHECKING:
    import httpx

    #: ``workers-ai-python/{version} httpx/{version}`` (built on first use: it names httpx's).
    USER_AGENT: str

__all__ = ["USER_AGENT", "ClientOptions", "Endpoint"]

logger = logging.getLogger("workers_ai")

#: A chat stream class: the sync or the async one.
S = TypeVar("S", ChatStream, AsyncChatStream)

#: The API of a chat call (:data:`workers_ai.providers.ChatEndpoint`).
Endpoint = ChatEndpoint


@functools.lru_cache(maxsize=1)
def _user_agent() -> str:
    import httpx

    return f"workers-ai-python/{__version__} httpx/{httpx.__version__}"


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "USER_AGENT":
            return _user_agent()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=512)
def _parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per URL (parsing costs more than the rest of building a
    request); a client's URLs are few: one per model and route."""
    import httpx

    return httpx.URL(url)


_RUN_ROUTE = "/accounts/{account_id}/ai/run/{model}"
_OPENAI_ROUTE = "/accounts/{account_id}/ai/v1/{path}"
_SEARCH_ROUTE = "/accounts/{account_id}/ai/models/search"
_SCHEMA_ROUTE = "/accounts/{account_id}/ai/models/schema"
_TOMARKDOWN_ROUTE = "/accounts/{account_id}/ai/tomarkdown"
#: Tasks whose input is text: a call that reports no usage counts its estimated tokens.
_TEXT_INPUT_TASKS = frozenset(
    {catalog.TEXT_EMBEDDINGS, "Text Classification", "Translation", "Summarization"}
)
_TOMARKDOWN_SUPPORTED_ROUTE = "/accounts/{account_id}/ai/tomarkdown/supported"


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
    body: Mapping[str, Any] | Sequence[Any] | None
    params: Mapping[str, Any] | None
    headers: Mapping[str, str]
    timeout: httpx.Timeout
    content: bytes | None = field(default=None, init=False, repr=False)
    #: The AI Gateway provider of a third-party model (named by its errors), else ``None``.
    provider: str | None = None
    #: The gateway a third-party call goes through (named by a "no such gateway" error).
    gateway_id: str | None = None
    #: A body sent as these bytes instead of JSON (audio, an image, multipart form data).
    raw: bytes | None = field(default=None, repr=False)
    #: The service whose own error codes apply (``"vectorize"``; see
    #: :data:`~workers_ai.errors.SERVICE_CODE_TABLES`), else ``None``.
    service: str | None = None

    def __post_init__(self) -> None:
        validate_headers(self.headers, "headers", error=InvalidRequestError)
        object.__setattr__(self, "headers", RedactedHeaders(self.headers))
        if self.body is not None:
            object.__setattr__(self, "content", _encode_body(self.body))
        elif self.raw is not None:
            object.__setattr__(self, "content", self.raw)

    def request(self) -> httpx.Request:
        import httpx

        return httpx.Request(
            self.method,
            _parsed_url(self.url),
            content=self.content,
            params=self.params,
            headers=self.headers,
            extensions={"timeout": self.timeout.as_dict()},
        )


def _encode_body(body: Mapping[str, Any] | Sequence[Any]) -> bytes:
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
    async_transport: AsyncTransport | None
    reject_if_busy: bool
    settings: WorkersAISettings | None


class BaseClient:
    """Settings, request building, answers and the retry bookkeeping of both clients."""

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
        async_transport: AsyncTransport | None = None,
        reject_if_busy: bool = False,
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
            async_transport=async_transport,
            reject_if_busy=reject_if_busy,
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
        body: Mapping[str, Any] | Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        routed: Route | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        service: str | None = None,
    ) -> _Call:
        base = routed.headers if routed is not None and routed.headers is not None else None
        all_headers = RedactedHeaders(
            {
                "User-Agent": _user_agent(),
                **(self._settings.headers() if base is None else base),
                **(headers or {}),
            }
        )
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        elif raw is not None:
            all_headers["Content-Type"] = content_type or "application/octet-stream"
        return _Call(
            method=method,
            url=url,
            route=route,
            body=body,
            params=params,
            headers=all_headers,
            timeout=self._settings.timeout if timeout is None else coerce_timeout(timeout),
            provider=routed.provider if routed is not None else None,
            gateway_id=routed.gateway_id if routed is not None else None,
            raw=raw,
            service=service,
        )

    def _raw_run_call(
        self,
        model: str,
        content: bytes,
        *,
        content_type: str,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
    ) -> _Call:
        """``POST /ai/run/{model}`` with ``content`` as the body (a file: audio, an image).

        Raises:
            InvalidRequestError: Not bytes, empty, or a model only AI Gateway's JSON routes
                serve.
        """
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise InvalidRequestError(
                f"content must be bytes (a file's contents), not {type(content).__name__}"
            )
        if not content:
            raise InvalidRequestError("content is empty: send the file's bytes")
        routed = run_route(model, {}, self._settings)
        if routed.surface != "run":
            raise InvalidRequestError(
                f"{model}: a raw body goes to Workers AI's /ai/run/{{model}} only; send JSON "
                "inputs with run() instead"
            )
        return self._call(
            "POST", routed.url, _RUN_ROUTE, params=params, headers=headers, timeout=timeout,
            raw=bytes(content), content_type=content_type,
        )  # fmt: skip

    def _multipart_call(
        self,
        path: str,
        route: str,
        form: MultipartForm,
        *,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
    ) -> _Call:
        """``POST`` of multipart form data to an account route (``ai/tomarkdown``)."""
        url = self._settings.account_url(path)
        return self._call(
            "POST", url, route, headers=headers, timeout=timeout, raw=form.body,
            content_type=form.content_type,
        )  # fmt: skip

    def _gateway_call(
        self,
        routed: Route,
        inputs: Mapping[str, Any],
        *,
        stream: bool,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None = None,
    ) -> _Call:
        """A call to a third-party model (or routing alias) through AI Gateway: the body with
        the model id the surface names (:mod:`workers_ai.providers`); a per-call provider key
        goes where a provider-native path's API reads it."""
        payload = {**_check_inputs(inputs), "model": routed.wire_model}
        if routed.surface == "native" and headers:
            headers = native_auth(routed.model.provider, headers)
        if stream:
            payload["stream"] = True
            if routed.url.endswith("/chat/completions"):
                payload.setdefault("stream_options", {"include_usage": True})
        return self._call(
            "POST",
            routed.url,
            routed.route,
            body=payload,
            params=params,
            headers=headers,
            timeout=timeout,
            routed=routed,
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
        routed = run_route(model, body, self._settings)
        return self._routed_run_call(
            routed, body, stream=stream, timeout=timeout, headers=headers, params=params
        )

    def _routed_run_call(
        self,
        routed: Route,
        body: dict[str, Any],
        *,
        stream: bool,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
    ) -> _Call:
        """A ``run`` call to a route already decided (``body`` checked and ours to change)."""
        if routed.surface != "run":
            return self._gateway_call(
                routed, body, stream=stream, timeout=timeout, headers=headers, params=params
            )
        if stream:
            body["stream"] = True
        return self._call(
            "POST", routed.url, _RUN_ROUTE, body=body, params=params, headers=headers,
            timeout=timeout,
        )  # fmt: skip

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
            routed = openai_route(validate_route_path(path), payload, self._settings)
            if routed is not None:
                return self._gateway_call(
                    routed, payload, stream=stream, timeout=timeout, headers=headers
                )
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
        if endpoint not in CHAT_ENDPOINTS:
            raise InvalidRequestError(
                f"endpoint must be one of {', '.join(map(repr, CHAT_ENDPOINTS))}, not {endpoint!r}"
            )
        routed = chat_route(model, self._settings, endpoint=endpoint)
        if routed.surface not in ("run", "openai"):
            return self._gateway_call(
                routed, inputs, stream=stream, timeout=timeout, headers=headers
            )
        if routed.surface == "openai":  # a Workers AI model on chat completions or responses
            body = {**_check_inputs(inputs), "model": routed.model.name}
            path = "responses" if endpoint == "responses" else "chat/completions"
            return self._openai_call(path, body, stream=stream, timeout=timeout, headers=headers)
        return self._routed_run_call(
            routed, _check_inputs(inputs), stream=stream, timeout=timeout, headers=headers,
            params=None,
        )  # fmt: skip

    # -- fallback bookkeeping -----------------------------------------------------------------
    def _fallback_run(
        self,
        model: str,
        inputs: Mapping[str, Any],
        endpoint: Endpoint,
        headers: Mapping[str, str] | None,
        fallbacks: Sequence[ChatTarget],
    ) -> FallbackRun:
        """The chain of one chat call: its own model first, then the prepared fallbacks."""
        first = ChatTarget(model, inputs, endpoint, headers or {})
        return FallbackRun((first, *fallbacks), reject_if_busy=self._settings.reject_if_busy)

    def _universal_call(
        self, chain: Sequence[ChatTarget], *, stream: bool, timeout: TimeoutTypes
    ) -> _Call | None:
        """The whole chain in one request to AI Gateway's universal endpoint, which falls back
        server-side (spec §1.8); ``None`` when the settings do not route by URL or turned it
        off (:func:`workers_ai.providers.universal_route`): the client walks the chain then.

        Each entry is the request its model would get alone (same body, same route), so the
        answer -- the winning entry's raw response -- is read as that model's.
        """
        routed = universal_route(chain[-1].model, self._settings)
        if routed is None or self._settings.reject_if_busy:  # the gateway would fall back
            return None
        # every route first: one the gateway lacks raises before any credential is read
        routes = [chat_route(t.model, self._settings, endpoint=t.endpoint) for t in chain]
        entries = []
        for target, model_route in zip(chain, routes, strict=True):
            if stream:
                own, _ = self._stream_chat_call(
                    target.model, target.body, endpoint=target.endpoint, timeout=timeout,
                    headers=target.headers,
                )  # fmt: skip
            else:
                own = self._chat_call(
                    target.model, target.body, endpoint=target.endpoint, stream=False,
                    timeout=timeout, headers=target.headers,
                )  # fmt: skip
            assert own.body is not None and isinstance(own.body, Mapping)
            entries.append(universal_entry(model_route, own.body, own.headers, target.headers))
        return self._call(
            "POST", routed.url, routed.route, body=entries, timeout=timeout, routed=routed
        )

    def _chain_answer(
        self,
        response: APIResponse,
        run: FallbackRun,
        target: ChatTarget,
        think_tags: bool | None,
        tool_names: tuple[str, ...],
        hold: Hold | None = None,
    ) -> ChatResponse:
        """The answer of the chain's model ``target``: normalised, reported to the usage
        listeners (settling ``hold``), and (a call with fallbacks) with the chain's facts in
        its ``meta``."""
        with releasing(hold):
            answer = self._chat_response(response, target.model, think_tags, tool_names)
        self._report_chat(target.model, answer.result, run.tally, hold)
        if len(run.chain) == 1:
            return answer
        return dataclasses.replace(answer, meta=self._chain_meta(answer.meta, run, target.model))

    def _chain_stream(
        self,
        stream_class: type[S],
        events: Any,
        run: FallbackRun,
        target: ChatTarget,
        think_tags: bool | None,
        tool_names: tuple[str, ...],
        hold: Hold | None = None,
    ) -> S:
        """The stream of the chain's model ``target`` (:meth:`_chain_answer`'s twin: usage
        reported once it has been read to its end; left before, ``hold`` stays charged)."""
        stream = stream_class(
            events,
            self._accumulator(target.model, think_tags, tool_names),
            on_done=self._chat_reporter(target.model, run.tally, hold),
            on_abandon=None if hold is None else hold.abandon,
        )
        if len(run.chain) > 1:
            stream.meta = self._chain_meta(stream.meta, run, target.model)
        return stream

    @staticmethod
    def _chain_meta(meta: ResponseMeta, run: FallbackRun, model: str) -> ResponseMeta:
        """The answer's metadata with the chain's facts (who answered, attempts, steps)."""
        return dataclasses.replace(
            meta,
            answered_by=model,
            attempts=run.tally.attempts,
            fallback_steps=tuple(run.steps),
        )

    # -- usage (workers_ai.usage: one hook for every call) -----------------------------------
    @staticmethod
    def _reserve_chat(targets: Sequence[ChatTarget]) -> Hold | None:
        """Reserve the worst case of sending to ``targets`` (all of them: the universal
        endpoint may reach any) in the listening budgets, before anything is sent.

        Raises:
            BudgetExceededError: A budget has no room for it.
        """
        return reserve(lambda: [worst_case(t.model, t.body, chat=True) for t in targets])

    @staticmethod
    def _reserve_run(
        model: str, inputs: Mapping[str, Any], params: Mapping[str, Any] | None
    ) -> Hold | None:
        """:meth:`_reserve_chat` for a ``run`` (a text-generation model's worst case counts
        its ``max_tokens``). Not for batch submits and polls (:mod:`workers_ai.chat_batch`
        checks a job's budget)."""
        if is_batch_call(inputs, params):
            return None
        chat = catalog.get(model).task == catalog.TEXT_GENERATION
        return reserve(lambda: [worst_case(model, inputs, chat=chat)])

    @staticmethod
    def _report_chat(
        model: str,
        result: ChatResult,
        tally: Tally,
        hold: Hold | None = None,
        *,
        streamed: bool = False,
    ) -> None:
        """Report a complete chat answer to the usage listeners (settling its ``hold``)."""
        if listening() or hold is not None:
            record = UsageRecord(model, "chat", result.usage, tally.attempts, streamed)
            report_usage(record, hold)

    @classmethod
    def _chat_reporter(
        cls, model: str, tally: Tally, hold: Hold | None
    ) -> Callable[[ChatResult], None]:
        """What a chat stream calls when it has been read to its end."""
        return lambda result: cls._report_chat(model, result, tally, hold, streamed=True)

    @staticmethod
    def _report_run(
        model: str,
        inputs: Mapping[str, Any],
        params: Mapping[str, Any] | None,
        data: Any,
        tally: Tally,
        hold: Hold | None = None,
    ) -> None:
        """Report a ``run`` (embeddings, reranking, other tasks) to the usage listeners; batch
        submits and polls are not calls of their own (their items are reported when
        collected)."""
        if (not listening() and hold is None) or is_batch_call(inputs, params):
            return
        info = catalog.get(model)
        raw = data.get("usage") if isinstance(data, Mapping) else None
        usage = usage_from_wire(raw) if isinstance(raw, Mapping) else None
        if usage is None and info.task in _TEXT_INPUT_TASKS:
            # embeddings, rerankers and the other text tasks report no usage: their text,
            # estimated (leaning high); media (audio, images) is not counted in tokens
            tokens = worst_case(model, inputs, chat=False).input_tokens
            usage = Usage(input_tokens=tokens, output_tokens=0, total_tokens=tokens)
        report_usage(UsageRecord(model, info.task or "run", usage, tally.attempts), hold)

    # -- retry bookkeeping --------------------------------------------------------------------
    def _retry_or_raise(self, state: RetryState, error: APIError, call: _Call) -> RetryStep:
        """The retry after ``error`` (per the one policy), or raise ``error``."""
        policy = RetryPolicy(
            self._settings.max_retries, reject_if_busy=self._settings.reject_if_busy
        )
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

    # -- answers --------------------------------------------------------------------------------
    @staticmethod
    def _think_tags(model: str, think_tags: bool | None) -> bool | None:
        """Whether reasoning arrives inline before ``</think>``: as given, else the catalog's
        answer for a model it knows, else ``None`` (detect it in the text)."""
        if think_tags is not None:
            return think_tags
        info = catalog.get(model)
        return info.think_tags if info.known else None

    def _chat_response(
        self,
        response: APIResponse,
        model: str,
        think_tags: bool | None,
        tool_names: tuple[str, ...],
    ) -> ChatResponse:
        """A chat answer in whatever shape the model used, normalised."""
        result = normalize_chat_result(
            response.data, think_tags=self._think_tags(model, think_tags), tool_names=tool_names
        )
        return ChatResponse(result, response.meta)

    def _accumulator(
        self, model: str, think_tags: bool | None, tool_names: tuple[str, ...]
    ) -> ChatStreamAccumulator:
        return ChatStreamAccumulator(
            think_tags=self._think_tags(model, think_tags), tool_names=tool_names
        )

    def _stream_chat_call(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        endpoint: Endpoint,
        timeout: TimeoutTypes,
        headers: Mapping[str, str] | None,
    ) -> tuple[_Call, bool]:
        """The call for a chat stream, and whether it is one: gpt-oss cannot stream on
        ``/ai/run`` (spec §3), nor a Workers AI model on ``/ai/v1/responses``, so such a
        "stream" is one plain request replayed as one event."""
        info = catalog.get(model)
        if endpoint == "responses" and info.known and not info.third_party:
            streams = False  # Workers AI's /ai/v1/responses does not stream (spec §1)
        else:
            streams = endpoint != "native" or not info.known or info.streaming or info.third_party
        call = self._chat_call(
            model, inputs, endpoint=endpoint, stream=streams, timeout=timeout, headers=headers
        )
        return call, streams

    @staticmethod
    def _needs_body(response: httpx.Response) -> bool:
        """A stream request answered with an error or a JSON body (read it whole)."""
        return not response.is_success or "event-stream" not in response.headers.get(
            "content-type", ""
        )

    @staticmethod
    def _meta(response: httpx.Response) -> ResponseMeta:
        return meta_from_headers(response.status_code, response.headers)

    @classmethod
    def _body_answer(cls, response: httpx.Response, call: _Call) -> tuple[ResponseMeta, Any]:
        """A stream request's whole-body answer (read already): its payload, or its error."""
        context = {
            "provider": call.provider,
            "gateway_id": call.gateway_id,
            "service": call.service,
        }
        if not response.is_success:
            raise status_error_from_response(
                response.status_code, response.headers, response.content, **context
            )
        payload = unwrap_response(
            response.status_code, response.headers, response.content, **context
        )
        return cls._meta(response), payload

    def _answer(self, response: httpx.Response, call: _Call) -> APIResponse:
        """A plain request's answer (read already): its unwrapped payload, or its error."""
        data = unwrap_response(
            response.status_code,
            response.headers,
            response.content,
            provider=call.provider,
            gateway_id=call.gateway_id,
            service=call.service,
        )
        return APIResponse(data, self._meta(response))

    # -- the models API ---------------------------------------------------------------------------
    def _to_markdown_call(
        self,
        files: Sequence[tuple[str, bytes, str]],
        options: Mapping[str, Any] | None,
        timeout: TimeoutTypes,
    ) -> _Call:
        """``POST /ai/tomarkdown``: one ``files`` part per file, ``conversionOptions`` as a JSON
        part (platform spec §4)."""
        form = MultipartForm()
        for name, data, media_type in files:
            form.add_file("files", name, data, media_type)
        if options:
            form.add_field("conversionOptions", _encode_body(options).decode("utf-8"))
        return self._multipart_call(
            "ai/tomarkdown", _TOMARKDOWN_ROUTE, form, timeout=timeout, headers=None
        )

    @staticmethod
    def _markdown_results(data: Any) -> list[dict[str, Any]]:
        """``/ai/tomarkdown``'s result: a list of per-file objects, else a response error."""
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise APIResponseValidationError(
                "toMarkdown answered no list of results", body=value_excerpt(data)
            )
        return data

    def _to_markdown_supported_call(self) -> _Call:
        url = self._settings.account_url("ai/tomarkdown/supported")
        return self._call("GET", url, _TOMARKDOWN_SUPPORTED_ROUTE)

    def _models_search_call(self, params: Mapping[str, Any]) -> _Call:
        url = self._settings.account_url("ai/models/search")
        return self._call("GET", url, _SEARCH_ROUTE, params=params)

    def _model_schema_call(self, model: str) -> _Call:
        url = self._settings.account_url("ai/models/schema")
        return self._call("GET", url, _SCHEMA_ROUTE, params={"model": validate_model_id(model)})

    @staticmethod
    def _as_list(data: Any) -> list[dict[str, Any]]:
        return list(data) if isinstance(data, list) else []

    @staticmethod
    def _as_dict(data: Any) -> dict[str, Any]:
        return dict(data) if isinstance(data, dict) else {}
