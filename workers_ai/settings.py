"""Settings: credentials, base URLs and AI Gateway options, resolved once, validated, no I/O.

Resolution order for each credential: the argument, then ``CLOUDFLARE_ACCOUNT_ID`` /
``CLOUDFLARE_API_TOKEN``, then ``CF_ACCOUNT_ID`` / ``CF_AI_API_TOKEN`` (the names
``langchain-cloudflare`` uses, so users can switch without renaming variables). The base URL
comes from the argument, then ``WORKERS_AI_BASE_URL``, then Cloudflare's API.

Nothing here imports httpx: a timeout given in seconds is kept as plain numbers and becomes an
``httpx.Timeout`` when a client reads it (``settings.timeout``), so ``import workers_ai`` and
building settings or a model object stay light; httpx is loaded when a connection pool is made.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

from workers_ai._distribution import install_hint
from workers_ai.errors import ConfigurationError, InvalidRequestError, WorkersAIError

if TYPE_CHECKING:
    from typing import TypeGuard

    import httpx

__all__ = [
    "ACCOUNT_ID_ENV_VARS",
    "API_TOKEN_ENV_VARS",
    "ASYNC_TRANSPORTS",
    "BASE_URL_ENV_VAR",
    "DEFAULT_BASE_URL",
    "DEFAULT_COALESCE_WINDOW_MS",
    "DEFAULT_GATEWAY_BASE_URL",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_KEEPALIVE_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_POOL_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "GATEWAY_BASE_URL_ENV_VAR",
    "GATEWAY_TOKEN_ENV_VAR",
    "MASK",
    "AsyncTransport",
    "GatewayOptions",
    "RedactedHeaders",
    "SecretInput",
    "TimeoutTypes",
    "WorkersAISettings",
    "coerce_timeout",
    "first_env",
    "is_secret_header",
    "quote_segment",
    "resolve_settings",
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

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_GATEWAY_BASE_URL = "https://gateway.ai.cloudflare.com/v1"
#: How long a request may wait for a free connection of the pool when the user gave the timeout
#: as a number: waiting behind other requests is not the request being slow (500 concurrent
#: calls with ``timeout=2`` must not fail while 100 connections serve them).
DEFAULT_POOL_TIMEOUT = 300.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_KEEPALIVE_CONNECTIONS = 20
# The embeddings engine's defaults, re-exported by workers_ai.embeddings; they live here so the
# framework classes' fields can name them without loading the engine on import.
#: Requests in flight at once. Workers AI allows 3,000 embedding requests per minute (50/s);
#: at a few hundred ms per request, ~16 concurrent requests reach that rate.
DEFAULT_MAX_CONCURRENCY = 16
#: How long a single embedding query waits for others to share its request.
DEFAULT_COALESCE_WINDOW_MS = 5.0

AsyncTransport = Literal["httpx", "aiohttp"]
"""What carries the async client's requests: httpx's own transport, or aiohttp through
``httpx-aiohttp`` (the ``aiohttp`` extra), which serves many concurrent requests faster."""
ASYNC_TRANSPORTS: tuple[AsyncTransport, ...] = ("httpx", "aiohttp")

ACCOUNT_ID_ENV_VARS = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
API_TOKEN_ENV_VARS = ("CLOUDFLARE_API_TOKEN", "CF_AI_API_TOKEN")
BASE_URL_ENV_VAR = "WORKERS_AI_BASE_URL"
GATEWAY_BASE_URL_ENV_VAR = "WORKERS_AI_GATEWAY_BASE_URL"
#: The token of an authenticated AI Gateway (Cloudflare's name); read only when a gateway id is
#: given without ``gateway_token``.
GATEWAY_TOKEN_ENV_VAR = "CF_AIG_TOKEN"  # noqa: S105 - a variable name, not a secret

if TYPE_CHECKING:
    SecretInput = SecretStr | str
else:  # pydantic stores any plain string given for it as a SecretStr
    SecretInput = SecretStr
"""A secret field's type: ``SecretStr`` at run time; type checkers also accept a plain ``str``,
which pydantic converts (so ``api_key="..."`` type-checks without wrapping it)."""


class _Seconds(NamedTuple):
    """A timeout given in seconds, kept without httpx until a client needs the
    ``httpx.Timeout`` (:func:`_as_httpx_timeout`)."""

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None


#: Connect fast, but give generation time: non-streaming calls to large models can take minutes.
#: (``DEFAULT_TIMEOUT`` is its ``httpx.Timeout(300.0, connect=10.0)``, built on first use.)
_DEFAULT_SECONDS = _Seconds(connect=10.0, read=300.0, write=300.0, pool=300.0)

if TYPE_CHECKING:
    DEFAULT_TIMEOUT: httpx.Timeout


def _is_httpx_timeout(value: object) -> TypeGuard[httpx.Timeout]:
    """``isinstance(value, httpx.Timeout)`` without importing httpx: no instance exists before."""
    module = sys.modules.get("httpx")
    return module is not None and isinstance(value, module.Timeout)


class _LazyInstanceCheck(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return _is_httpx_timeout(instance)


class _HttpxTimeout(metaclass=_LazyInstanceCheck):
    """Stands for ``httpx.Timeout`` in :data:`TimeoutTypes` at run time: ``isinstance`` (and so
    pydantic's validation of a ``timeout`` field) is ``isinstance(x, httpx.Timeout)`` without
    importing httpx. Type checkers see ``httpx.Timeout`` itself."""

    __qualname__ = "Timeout"  # what validation errors name, as before


if TYPE_CHECKING:
    TimeoutTypes = float | httpx.Timeout | tuple[float | None, float | None] | None
else:
    TimeoutTypes = float | _HttpxTimeout | tuple[float | None, float | None] | None
"""Seconds (read, write and pool; connect at most 10 s), an ``httpx.Timeout`` used exactly as
given, or a ``(connect, read)`` tuple as requests and langchain-openai take it."""

_GATEWAY_CACHE_TTL_MAX = 30 * 24 * 3600  # "max 1 month" (spec §11)
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


@dataclass(frozen=True)
class GatewayOptions:
    """AI Gateway routing and per-request options (spec §11), sent as ``cf-aig-*`` headers.

    Attributes:
        id: The gateway id (``default`` is auto-created by Cloudflare in header routing).
        routing: ``"url"`` sends requests to ``gateway.ai.cloudflare.com/v1/{account}/{id}/
            workers-ai/...`` (provider-native form); ``"header"`` keeps the normal API URL and
            adds ``cf-aig-gateway-id`` (the unified REST form).
        cache_ttl: Seconds to cache responses (``cf-aig-cache-ttl``, 60 to 2,592,000).
        skip_cache: Bypass the gateway cache (``cf-aig-skip-cache: true``).
        cache_key: Custom cache key (``cf-aig-cache-key``).
        metadata: Up to 5 string/number/bool entries (``cf-aig-metadata``, JSON).
        request_timeout_ms: Time to first byte before the gateway gives up
            (``cf-aig-request-timeout``).
        max_attempts: Gateway-side attempts, 1 to 5 (``cf-aig-max-attempts``).
        retry_delay_ms: Gateway-side delay between attempts, at most 5000
            (``cf-aig-retry-delay``).
        backoff: ``constant``, ``linear`` or ``exponential`` (``cf-aig-backoff``).
        collect_log: ``False`` turns gateway logging off for these requests.
        auth_token: Token of an authenticated gateway (``cf-aig-authorization: Bearer ...``).
    """

    id: str
    routing: Literal["url", "header"] = "url"
    cache_ttl: int | None = None
    skip_cache: bool | None = None
    cache_key: str | None = None
    metadata: Mapping[str, str | int | float | bool] | None = None
    request_timeout_ms: int | None = None
    max_attempts: int | None = None
    retry_delay_ms: int | None = None
    backoff: Literal["constant", "linear", "exponential"] | None = None
    collect_log: bool | None = None
    auth_token: SecretStr | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _validate_gateway(self)

    def headers(self) -> dict[str, str]:
        """The ``cf-aig-*`` request headers for these options (the token masked in ``repr``)."""
        headers: dict[str, str] = RedactedHeaders()
        if self.routing == "header":
            headers["cf-aig-gateway-id"] = self.id
        simple = {
            "cf-aig-cache-ttl": self.cache_ttl,
            "cf-aig-cache-key": self.cache_key,
            "cf-aig-request-timeout": self.request_timeout_ms,
            "cf-aig-max-attempts": self.max_attempts,
            "cf-aig-retry-delay": self.retry_delay_ms,
            "cf-aig-backoff": self.backoff,
        }
        headers.update({k: str(v) for k, v in simple.items() if v is not None})
        if self.skip_cache is not None:
            headers["cf-aig-skip-cache"] = "true" if self.skip_cache else "false"
        if self.collect_log is not None:
            headers["cf-aig-collect-log"] = "true" if self.collect_log else "false"
        if self.metadata:
            headers["cf-aig-metadata"] = json.dumps(dict(self.metadata), separators=(",", ":"))
        if self.auth_token is not None:
            headers["cf-aig-authorization"] = f"Bearer {self.auth_token.get_secret_value()}"
        return headers


def _validate_gateway(options: GatewayOptions) -> None:
    def bad(what: str) -> ConfigurationError:
        return ConfigurationError(f"Invalid AI Gateway option: {what}")

    validate_gateway_id(options.id)
    if options.routing not in ("url", "header"):
        raise bad(f"routing must be 'url' or 'header', not {options.routing!r}")
    ttl = options.cache_ttl
    if ttl is not None and not 60 <= ttl <= _GATEWAY_CACHE_TTL_MAX:
        raise bad(f"cache_ttl={ttl}: use seconds between 60 and {_GATEWAY_CACHE_TTL_MAX}")
    if options.max_attempts is not None and not 1 <= options.max_attempts <= 5:
        raise bad(f"max_attempts={options.max_attempts}: use 1 to 5")
    if options.retry_delay_ms is not None and not 0 <= options.retry_delay_ms <= 5000:
        raise bad(f"retry_delay_ms={options.retry_delay_ms}: use 0 to 5000")
    if options.request_timeout_ms is not None and options.request_timeout_ms <= 0:
        raise bad(f"request_timeout_ms={options.request_timeout_ms}: use a positive number")
    if options.backoff not in (None, "constant", "linear", "exponential"):
        raise bad(f"backoff={options.backoff!r}: use 'constant', 'linear' or 'exponential'")
    metadata = options.metadata or {}
    if len(metadata) > 5:
        raise bad(f"metadata has {len(metadata)} entries; AI Gateway accepts at most 5")
    for key, value in metadata.items():
        if not isinstance(value, (str, int, float, bool)):
            raise bad(f"metadata[{key!r}] is {type(value).__name__}; use str, number or bool")
        if isinstance(value, float) and not math.isfinite(value):
            raise bad(f"metadata[{key!r}]={value!r}: use a finite number")
    if options.cache_key is not None:
        validate_header_value(
            options.cache_key, "Invalid AI Gateway option: cache_key", header="cf-aig-cache-key"
        )
    if options.auth_token is not None:
        _validate_token(options.auth_token.get_secret_value(), "AI Gateway token")


class _TimeoutField:
    """``WorkersAISettings.timeout``: stored as given (an ``httpx.Timeout``, or seconds kept
    without httpx), read as an ``httpx.Timeout`` built on first read."""

    _slot = "_timeout"

    @overload
    def __get__(self, instance: None, owner: type[object]) -> _Seconds: ...

    @overload
    def __get__(self, instance: object, owner: type[object]) -> httpx.Timeout: ...

    def __get__(self, instance: object, owner: type[object]) -> httpx.Timeout | _Seconds:
        if instance is None:  # the dataclass's default
            return _DEFAULT_SECONDS
        value: httpx.Timeout | _Seconds = instance.__dict__[self._slot]
        if isinstance(value, _Seconds):
            value = instance.__dict__[self._slot] = _as_httpx_timeout(value)
        return value

    def __set__(self, instance: object, value: httpx.Timeout | _Seconds) -> None:
        instance.__dict__[self._slot] = value

    @classmethod
    def stored(cls, instance: object) -> httpx.Timeout | _Seconds:
        """The value as stored (no httpx import)."""
        value: httpx.Timeout | _Seconds = instance.__dict__[cls._slot]
        return value


@dataclass(frozen=True)
class WorkersAISettings:
    """Resolved, validated connection settings. Build with :func:`resolve_settings`.

    Attributes:
        account_id: Cloudflare account id.
        api_token: Workers AI API token (never shown in ``repr``).
        base_url: REST base, e.g. ``https://api.cloudflare.com/client/v4`` or an emulator's.
        gateway_base_url: Base for AI Gateway URL routing (``.../v1``).
        gateway: AI Gateway options, or ``None`` for direct calls.
        timeout: Default timeout of every request.
        max_retries: Retries after the first attempt (0 disables retrying).
        default_headers: Extra headers sent with every request.
        max_connections: Most connections of the pool (requests beyond it wait, up to the
            timeout's ``pool`` part).
        max_keepalive_connections: Idle connections kept open for reuse.
        async_transport: What the async client sends with: ``"httpx"`` (default) or
            ``"aiohttp"`` (the ``aiohttp`` extra; faster under many concurrent requests). An
            injected ``http_client`` for the async client is used as given either way.
    """

    account_id: str
    api_token: SecretStr = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    gateway_base_url: str = DEFAULT_GATEWAY_BASE_URL
    gateway: GatewayOptions | None = None
    timeout: _TimeoutField = _TimeoutField()
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: Mapping[str, str] = field(default_factory=dict)
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE_CONNECTIONS
    async_transport: AsyncTransport = "httpx"

    @property
    def limits(self) -> httpx.Limits:
        """The connection-pool limits for httpx."""
        import httpx

        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
        )

    def with_options(self, **changes: object) -> WorkersAISettings:
        """A copy with some fields replaced (validated again)."""
        # The timeout as stored: copying settings does not build (nor import) httpx.
        kept: dict[str, object] = {"timeout": _TimeoutField.stored(self)}
        return replace(self, **{**kept, **changes})  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries={self.max_retries}: use 0 or more")
        if self.max_connections < 1 or not self.max_keepalive_connections >= 0:
            raise ConfigurationError(
                f"max_connections={self.max_connections} / max_keepalive_connections="
                f"{self.max_keepalive_connections}: use 1 or more / 0 or more"
            )
        validate_account_id(self.account_id)
        _check_base_url(self.base_url, "base_url")
        _check_base_url(self.gateway_base_url, "gateway_base_url")
        _validate_token(self.api_token.get_secret_value(), "API token")
        validate_headers(self.default_headers, "default_headers")
        _check_stored_timeout(_TimeoutField.stored(self), "timeout")
        _check_async_transport(self.async_transport)

    # -- routes ---------------------------------------------------------------------------
    def run_url(self, model: str) -> str:
        """URL of ``POST .../ai/run/{model}`` (or its AI Gateway form)."""
        model = validate_model_id(model)
        if self.gateway is not None and self.gateway.routing == "url":
            return f"{self._gateway_root()}/workers-ai/{quote(model, safe='/@')}"
        return f"{self._account_root()}/ai/run/{quote(model, safe='/@')}"

    def openai_url(self, path: str) -> str:
        """URL of an OpenAI-compatible route, ``path`` like ``chat/completions``."""
        path = validate_route_path(path)
        if self.gateway is not None and self.gateway.routing == "url":
            return f"{self._gateway_root()}/workers-ai/v1/{path}"
        return f"{self._account_root()}/ai/v1/{path}"

    def account_url(self, path: str) -> str:
        """URL of another account route (``ai/models/search``...), never via the gateway."""
        return f"{self._account_root()}/{validate_route_path(path)}"

    def _account_root(self) -> str:
        return f"{self.base_url}/accounts/{quote_segment(self.account_id)}"

    def _gateway_root(self) -> str:
        assert self.gateway is not None
        account, gateway = quote_segment(self.account_id), quote_segment(self.gateway.id)
        return f"{self.gateway_base_url}/{account}/{gateway}"

    def headers(self) -> dict[str, str]:
        """Headers of every request: auth, gateway options, then ``default_headers``.

        A :class:`RedactedHeaders`: its ``repr`` masks the tokens.
        """
        headers = RedactedHeaders(Authorization=f"Bearer {self.api_token.get_secret_value()}")
        if self.gateway is not None:
            headers.update(self.gateway.headers())
        headers.update(self.default_headers)
        return headers


# -- validation of everything that goes into a URL or a header --------------------------------
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
        InvalidRequestError: naming ``model``.
    """
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(
            f"model must be a non-empty string such as '@cf/meta/llama-3.1-8b-instruct', "
            f"got {model!r}"
        )
    for part in model.split("/"):
        problem = _segment_problem(part, _MODEL_PART_RE)
        if problem:
            raise InvalidRequestError(
                f"model {model!r} is not a valid Workers AI model id: a '/'-separated part "
                f"{problem}. Ids look like '@cf/meta/llama-3.1-8b-instruct' (no spaces, '?', "
                "'#', empty, '.' or '..' parts)"
            )
    return model


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


def first_env(names: tuple[str, ...], env: Mapping[str, str]) -> str | None:
    for name in names:
        value = env.get(name)
        if value and value.strip():
            return value.strip()
    return None


def _normalize_base_url(url: str, what: str) -> str:
    url = url.strip().rstrip("/")
    _check_base_url(url, what)
    return url


def _check_base_url(url: str, what: str) -> None:
    """Raise ``ConfigurationError`` unless route paths can be appended to ``url`` as is.

    A query or fragment would swallow the appended path, dot segments would be resolved away,
    and credentials (``user:password@``) would show wherever the URL is shown (they are not
    echoed in the message either).
    """
    example = (
        "use e.g. 'https://api.cloudflare.com/client/v4' or an emulator's "
        "'http://127.0.0.1:8787/client/v4'"
    )
    if not isinstance(url, str):
        raise ConfigurationError(f"{what} must be a string URL; {example}")
    try:
        parts = urlsplit(url)
        has_userinfo = "@" in parts.netloc
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid URL; {example}") from None
    if has_userinfo:
        raise ConfigurationError(
            f"{what} must not contain credentials ('user:password@host'); they would show in "
            "logs and error reports. Pass headers with default_headers instead."
        )
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ConfigurationError(f"{what} {url!r} contains whitespace or control characters")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{what} {url!r} is not an http(s) URL; {example}")
    if "?" in url or "#" in url:
        raise ConfigurationError(
            f"{what} {url!r} has a query ('?') or fragment ('#'); the API paths are appended "
            f"to it, so they would end up inside it. {example[0].upper()}{example[1:]}."
        )
    if any(segment in _DOT_SEGMENTS for segment in parts.path.split("/")):
        raise ConfigurationError(
            f"{what} {url!r} has a '.' or '..' path segment; write the resolved path instead"
        )


def _derive_gateway_base(base_url: str) -> str:
    """For a non-Cloudflare base (emulator, proxy) the gateway routes live on the same host."""
    if base_url == DEFAULT_BASE_URL:
        return DEFAULT_GATEWAY_BASE_URL
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/v1"


def _seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigurationError(
            f"{what}={value!r}: use a positive number of seconds, an httpx.Timeout or a "
            "(connect, read) tuple"
        )
    return float(value)


def _check_stored_timeout(timeout: object, what: str) -> None:
    """Raise unless ``timeout`` is an ``httpx.Timeout`` (or seconds, as :func:`_timeout_value`
    keeps them) of finite, non-negative seconds."""
    if isinstance(timeout, _Seconds):
        _check_seconds(timeout._asdict(), what)
    else:
        _check_timeout(timeout, what)


def _check_timeout(timeout: object, what: str) -> None:
    """Raise unless ``timeout`` is an ``httpx.Timeout`` of finite, non-negative seconds."""
    if not _is_httpx_timeout(timeout):
        raise ConfigurationError(f"{what} must be an httpx.Timeout, got {type(timeout).__name__}")
    _check_seconds(timeout.as_dict(), what)


def _check_seconds(parts: Mapping[str, object], what: str) -> None:
    for name, value in parts.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigurationError(f"{what}: {name}={value!r} is not a number of seconds")
        if not 0 <= value < math.inf:
            raise ConfigurationError(
                f"{what}: {name}={value!r}; use a finite, non-negative number of seconds or None"
            )


def _timeout_value(timeout: TimeoutTypes) -> httpx.Timeout | _Seconds:
    """A ``timeout`` argument checked, without importing httpx: an ``httpx.Timeout`` as given,
    else its seconds (see :data:`TimeoutTypes`; :func:`coerce_timeout` makes them a Timeout).

    Raises:
        ConfigurationError: naming ``timeout``, for NaN, infinite, negative or non-numbers.
    """
    if timeout is None:
        return _DEFAULT_SECONDS
    if _is_httpx_timeout(timeout):
        _check_timeout(timeout, "timeout")
        return timeout
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ConfigurationError(f"timeout={timeout!r}: a tuple is (connect, read) seconds")
        connect, read = (None if t is None else _seconds(t, "timeout") for t in timeout)
        return _Seconds(connect, read, read, max(read or 0.0, DEFAULT_POOL_TIMEOUT))
    seconds = _seconds(timeout, "timeout")
    return _Seconds(min(10.0, seconds), seconds, seconds, max(seconds, DEFAULT_POOL_TIMEOUT))


def _as_httpx_timeout(value: httpx.Timeout | _Seconds) -> httpx.Timeout:
    if not isinstance(value, _Seconds):
        return value
    if value is _DEFAULT_SECONDS:
        return _default_timeout()
    import httpx

    return httpx.Timeout(connect=value.connect, read=value.read, write=value.write, pool=value.pool)


def _default_timeout() -> httpx.Timeout:
    """``DEFAULT_TIMEOUT``, built (and httpx imported) on first use."""
    found: httpx.Timeout | None = globals().get("DEFAULT_TIMEOUT")
    if found is None:
        import httpx

        found = globals()["DEFAULT_TIMEOUT"] = httpx.Timeout(
            _DEFAULT_SECONDS.read, connect=_DEFAULT_SECONDS.connect
        )
    return found


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "DEFAULT_TIMEOUT":
            return _default_timeout()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def coerce_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    """The ``httpx.Timeout`` for a ``timeout`` argument (see :data:`TimeoutTypes`).

    Raises:
        ConfigurationError: naming ``timeout``, for NaN, infinite, negative or non-numbers.
    """
    return _as_httpx_timeout(_timeout_value(timeout))


def aiohttp_missing_message() -> str:
    """Why ``async_transport="aiohttp"`` cannot be used here, and the command that fixes it."""
    return (
        'async_transport="aiohttp" needs the httpx-aiohttp package; install the extra with '
        f'{install_hint("aiohttp")}, or leave async_transport at its default "httpx"'
    )


def _check_async_transport(value: object) -> None:
    """Raise ``ConfigurationError`` for an unknown transport, or aiohttp without its extra
    (looked up, not imported: aiohttp loads when the first async pool is made)."""
    if value not in ASYNC_TRANSPORTS:
        raise ConfigurationError(
            f"async_transport={value!r}: use one of {', '.join(map(repr, ASYNC_TRANSPORTS))}"
        )
    if value == "aiohttp" and importlib.util.find_spec("httpx_aiohttp") is None:
        raise ConfigurationError(aiohttp_missing_message())


def resolve_settings(
    *,
    account_id: str | None = None,
    api_token: str | SecretStr | None = None,
    base_url: str | None = None,
    gateway: GatewayOptions | str | None = None,
    gateway_options: Mapping[str, Any] | None = None,
    gateway_token: str | SecretStr | None = None,
    gateway_base_url: str | None = None,
    timeout: TimeoutTypes = None,
    max_retries: int | None = None,
    default_headers: Mapping[str, str] | None = None,
    max_connections: int | None = None,
    max_keepalive_connections: int | None = None,
    async_transport: AsyncTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> WorkersAISettings:
    """Resolve settings from arguments and environment; raise before any network I/O.

    ``gateway`` is a :class:`GatewayOptions`, or a gateway id completed by
    ``gateway_options`` (the other :class:`GatewayOptions` fields) and ``gateway_token``.
    ``async_transport="aiohttp"`` sends the async client's requests with aiohttp (the
    ``aiohttp`` extra); ``None`` or ``"httpx"`` keep httpx's own transport.

    Raises:
        ConfigurationError: credentials are missing or a value is malformed. The message
            names the arguments and environment variables to set.
    """
    env = os.environ if env is None else env
    token_value = api_token.get_secret_value() if isinstance(api_token, SecretStr) else api_token
    account = (account_id or "").strip() or first_env(ACCOUNT_ID_ENV_VARS, env)
    token = (token_value or "").strip() or first_env(API_TOKEN_ENV_VARS, env)
    _require_credentials(account, token)
    assert account is not None and token is not None
    validate_account_id(account)
    _validate_token(token, "API token")
    validate_headers(default_headers or {}, "default_headers")
    base_raw = base_url or env.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL
    base = _normalize_base_url(base_raw, "base_url")
    gw_base_raw = gateway_base_url or env.get(GATEWAY_BASE_URL_ENV_VAR)
    gw_base = (
        _normalize_base_url(gw_base_raw, "gateway_base_url")
        if gw_base_raw
        else _derive_gateway_base(base)
    )
    return WorkersAISettings(
        account_id=account,
        api_token=SecretStr(token),
        base_url=base,
        gateway_base_url=gw_base,
        gateway=_gateway(
            gateway, gateway_options, gateway_token or _gateway_token_env(gateway, env)
        ),
        timeout=_timeout_value(timeout),
        max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
        default_headers=dict(default_headers or {}),
        max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
        max_keepalive_connections=(
            DEFAULT_MAX_KEEPALIVE_CONNECTIONS
            if max_keepalive_connections is None
            else max_keepalive_connections
        ),
        async_transport=async_transport or "httpx",
    )


def _gateway_token_env(gateway: GatewayOptions | str | None, env: Mapping[str, str]) -> str | None:
    """``CF_AIG_TOKEN`` for a gateway given by id (a ``GatewayOptions`` carries its own)."""
    return (
        first_env((GATEWAY_TOKEN_ENV_VAR,), env) if isinstance(gateway, str) and gateway else None
    )


def _gateway(
    gateway: GatewayOptions | str | None,
    options: Mapping[str, Any] | None,
    token: str | SecretStr | None,
) -> GatewayOptions | None:
    if not isinstance(gateway, str) or not gateway:
        if options or token:
            raise ConfigurationError("gateway_options/gateway_token need a gateway id")
        return gateway or None
    secret = SecretStr(token) if isinstance(token, str) else token
    try:
        return GatewayOptions(gateway, auth_token=secret, **dict(options or {}))
    except TypeError as exc:
        raise ConfigurationError(
            f"Unknown AI Gateway option in {sorted(options or {})}; see GatewayOptions"
        ) from exc


def _require_credentials(account: str | None, token: str | None) -> None:
    missing = []
    if not account:
        missing.append(
            "the account id (pass account_id=... or set CLOUDFLARE_ACCOUNT_ID or CF_ACCOUNT_ID)"
        )
    if not token:
        missing.append(
            "the API token (pass api_token=... or set CLOUDFLARE_API_TOKEN or CF_AI_API_TOKEN)"
        )
    if missing:
        raise ConfigurationError(
            "Missing Cloudflare credentials: "
            + " and ".join(missing)
            + ". To work offline, start the emulator (python -m workers_ai.emulator) and use "
            "the values it prints."
        )
