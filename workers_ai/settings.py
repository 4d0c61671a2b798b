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
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

from workers_ai._distribution import install_hint
from workers_ai.errors import (
    ConfigurationError,
)
from workers_ai.gateway import (
    GATEWAY_OPTION_NAMES,
    GatewayOptions,
    _gateway,
    gateway_call_headers,
    merge_gateway_options,
)
from workers_ai.validators import (
    _DOT_SEGMENTS,
    MASK,
    RedactedHeaders,
    _validate_token,
    is_secret_header,
    quote_segment,
    validate_account_id,
    validate_batch_request_id,
    validate_gateway_id,
    validate_header,
    validate_header_value,
    validate_headers,
    validate_model_id,
    validate_path_segment,
    validate_route_path,
)

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
    "GATEWAY_OPTION_NAMES",
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
    "gateway_call_headers",
    "is_secret_header",
    "merge_gateway_options",
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
        reject_if_busy: Fail fast when the model or gateway is busy (capacity 3040, rate
            limits 429/3021/2003): no retry and no fallback for those (other failures as
            usual); for latency-sensitive callers.
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
    reject_if_busy: bool = False
    default_headers: Mapping[str, str] = field(default_factory=dict)
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_keepalive_connections: int = DEFAULT_MAX_KEEPALIVE_CONNECTIONS
    async_transport: AsyncTransport = "httpx"
    _run_urls: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

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
        if not isinstance(self.reject_if_busy, bool):
            raise ConfigurationError(f"reject_if_busy={self.reject_if_busy!r}: use True or False")
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
        """URL of ``POST .../ai/run/{model}`` (or its AI Gateway form); built once per model
        (the settings do not change)."""
        url = self._run_urls.get(model)
        if url is not None:
            return url
        model = validate_model_id(model)
        if self.gateway is not None and self.gateway.routing == "url":
            url = f"{self._gateway_root()}/workers-ai/{quote(model, safe='/@')}"
        else:
            url = f"{self._account_root()}/ai/run/{quote(model, safe='/@')}"
        if len(self._run_urls) < 256:
            self._run_urls[model] = url
        return url

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
    reject_if_busy: bool = False,
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
        reject_if_busy=reject_if_busy,
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
