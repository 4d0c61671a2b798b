"""Settings: credentials, base URLs and AI Gateway options, resolved once, validated, no I/O.

Resolution order for each credential: the argument, then ``CLOUDFLARE_ACCOUNT_ID`` /
``CLOUDFLARE_API_TOKEN``, then ``CF_ACCOUNT_ID`` / ``CF_AI_API_TOKEN`` (the names
``langchain-cloudflare`` uses, so users can switch without renaming variables). The base URL
comes from the argument, then ``WORKERS_AI_BASE_URL``, then Cloudflare's API.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from workers_ai.errors import ConfigurationError, InvalidRequestError

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_GATEWAY_BASE_URL = "https://gateway.ai.cloudflare.com/v1"
#: Connect fast, but give generation time: non-streaming calls to large models can take minutes.
DEFAULT_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2

ACCOUNT_ID_ENV_VARS = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
API_TOKEN_ENV_VARS = ("CLOUDFLARE_API_TOKEN", "CF_AI_API_TOKEN")
BASE_URL_ENV_VAR = "WORKERS_AI_BASE_URL"
GATEWAY_BASE_URL_ENV_VAR = "WORKERS_AI_GATEWAY_BASE_URL"

if TYPE_CHECKING:
    SecretInput = SecretStr | str
else:  # pydantic stores any plain string given for it as a SecretStr
    SecretInput = SecretStr
"""A secret field's type: ``SecretStr`` at run time; type checkers also accept a plain ``str``,
which pydantic converts (so ``api_key="..."`` type-checks without wrapping it)."""

TimeoutTypes = float | httpx.Timeout | tuple[float | None, float | None] | None
"""Seconds (read, write and pool; connect at most 10 s), an ``httpx.Timeout`` used exactly as
given, or a ``(connect, read)`` tuple as requests and langchain-openai take it."""

_GATEWAY_CACHE_TTL_MAX = 30 * 24 * 3600  # "max 1 month" (spec §11)
_ID_RE = re.compile(r"^[A-Za-z0-9_.:@-]+$")
_MODEL_RE = re.compile(r"^[A-Za-z0-9_.:@/+-]+$")


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
        """The ``cf-aig-*`` request headers for these options."""
        headers: dict[str, str] = {}
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

    if not options.id or not _ID_RE.match(options.id):
        raise bad(f"gateway id {options.id!r} must be a non-empty name without spaces or '/'")
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
    """

    account_id: str
    api_token: SecretStr = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    gateway_base_url: str = DEFAULT_GATEWAY_BASE_URL
    gateway: GatewayOptions | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: Mapping[str, str] = field(default_factory=dict)

    def with_options(self, **changes: object) -> WorkersAISettings:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries={self.max_retries}: use 0 or more")

    # -- routes ---------------------------------------------------------------------------
    def run_url(self, model: str) -> str:
        """URL of ``POST .../ai/run/{model}`` (or its AI Gateway form)."""
        model = validate_model_id(model)
        if self.gateway is not None and self.gateway.routing == "url":
            return f"{self._gateway_root()}/workers-ai/{quote(model, safe='/@')}"
        return f"{self._account_root()}/ai/run/{quote(model, safe='/@')}"

    def openai_url(self, path: str) -> str:
        """URL of an OpenAI-compatible route, ``path`` like ``chat/completions``."""
        path = path.strip("/")
        if self.gateway is not None and self.gateway.routing == "url":
            return f"{self._gateway_root()}/workers-ai/v1/{path}"
        return f"{self._account_root()}/ai/v1/{path}"

    def account_url(self, path: str) -> str:
        """URL of another account route (``ai/models/search``...), never via the gateway."""
        return f"{self._account_root()}/{path.strip('/')}"

    def _account_root(self) -> str:
        return f"{self.base_url}/accounts/{quote(self.account_id, safe='')}"

    def _gateway_root(self) -> str:
        assert self.gateway is not None
        return f"{self.gateway_base_url}/{quote(self.account_id, safe='')}/{self.gateway.id}"

    def headers(self) -> dict[str, str]:
        """Headers of every request: auth, gateway options, then ``default_headers``."""
        headers = {"Authorization": f"Bearer {self.api_token.get_secret_value()}"}
        if self.gateway is not None:
            headers.update(self.gateway.headers())
        headers.update(self.default_headers)
        return headers


def validate_model_id(model: object) -> str:
    """Return ``model`` if it is a usable model id, else raise a clear error (no I/O)."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(
            f"model must be a non-empty string such as '@cf/meta/llama-3.1-8b-instruct', "
            f"got {model!r}"
        )
    if not _MODEL_RE.match(model) or ".." in model:
        raise InvalidRequestError(
            f"model {model!r} is not a valid Workers AI model id; ids look like "
            "'@cf/meta/llama-3.1-8b-instruct' (no spaces, '?', '#' or '..')"
        )
    return model


def first_env(names: tuple[str, ...], env: Mapping[str, str]) -> str | None:
    for name in names:
        value = env.get(name)
        if value and value.strip():
            return value.strip()
    return None


def _normalize_base_url(url: str, what: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{what} {url!r} is not an http(s) URL; use e.g. "
            "'https://api.cloudflare.com/client/v4' or an emulator's 'http://127.0.0.1:8787/client/v4'"
        )
    return url


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


def coerce_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    """The ``httpx.Timeout`` for a ``timeout`` argument (see :data:`TimeoutTypes`)."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ConfigurationError(f"timeout={timeout!r}: a tuple is (connect, read) seconds")
        connect, read = (None if t is None else _seconds(t, "timeout") for t in timeout)
        return httpx.Timeout(read, connect=connect)
    seconds = _seconds(timeout, "timeout")
    return httpx.Timeout(seconds, connect=min(10.0, seconds))


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
    env: Mapping[str, str] | None = None,
) -> WorkersAISettings:
    """Resolve settings from arguments and environment; raise before any network I/O.

    ``gateway`` is a :class:`GatewayOptions`, or a gateway id completed by
    ``gateway_options`` (the other :class:`GatewayOptions` fields) and ``gateway_token``.

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
    if not _ID_RE.match(account):
        raise ConfigurationError(
            f"account id {account!r} contains spaces or '/'; it is the 32-character hex id "
            "shown in the Cloudflare dashboard URL"
        )
    if any(ch.isspace() for ch in token):
        raise ConfigurationError("The API token contains whitespace; copy it again without it.")
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
        gateway=_gateway(gateway, gateway_options, gateway_token),
        timeout=coerce_timeout(timeout),
        max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
        default_headers=dict(default_headers or {}),
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
