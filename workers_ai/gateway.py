"""AI Gateway options (spec §1): what a request through a gateway carries, validated once.

:class:`GatewayOptions` holds the gateway id, how requests reach it (``routing``) and every
``cf-aig-*`` option; :func:`merge_gateway_options` / :func:`gateway_call_headers` are the one
place per-call options from the frameworks become headers. No I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr

from workers_ai.errors import ConfigurationError
from workers_ai.validators import (
    RedactedHeaders,
    _validate_token,
    validate_gateway_id,
    validate_header_value,
)

if TYPE_CHECKING:
    from workers_ai.settings import WorkersAISettings

__all__ = [
    "GATEWAY_OPTION_NAMES",
    "GatewayOptions",
    "gateway_call_headers",
    "merge_gateway_options",
]

_GATEWAY_CACHE_TTL_MAX = 30 * 24 * 3600  # "max 1 month" (spec §11)


@dataclass(frozen=True)
class GatewayOptions:
    """AI Gateway routing and per-request options (spec: AI platform §1.2, §1.6), sent as
    ``cf-aig-*`` headers. Every value is checked at construction; contradictions name the
    options involved.

    Attributes:
        id: The gateway id (``default`` is auto-created by Cloudflare).
        routing: ``"url"`` sends requests to ``gateway.ai.cloudflare.com/v1/{account}/{id}/...``
            (Workers AI models on its ``workers-ai/`` path, third-party models on ``compat/``);
            ``"header"`` keeps the normal API URL and adds ``cf-aig-gateway-id`` (the unified
            REST form, ``/ai/v1/chat/completions`` for third-party models).
        cache_ttl: Seconds to cache responses (``cf-aig-cache-ttl``, 60 to 2,592,000: a month).
        skip_cache: Bypass the gateway cache (``cf-aig-skip-cache: true``).
        cache_key: Custom cache key (``cf-aig-cache-key``).
        metadata: Up to 5 string/number/bool entries (``cf-aig-metadata``, JSON). Checked here:
            the service silently drops metadata it cannot keep.
        request_timeout_ms: Time to first byte before the gateway gives up
            (``cf-aig-request-timeout``).
        max_attempts: Gateway-side attempts, 1 to 5 (``cf-aig-max-attempts``).
        retry_delay_ms: Gateway-side delay between attempts, at most 5000
            (``cf-aig-retry-delay``).
        backoff: ``constant``, ``linear`` or ``exponential`` (``cf-aig-backoff``).
        collect_log: ``False`` turns gateway logging off for these requests.
        collect_log_payload: ``False`` keeps the log's metadata but not the bodies
            (``cf-aig-collect-log-payload``).
        auth_token: Token of an authenticated gateway (``cf-aig-authorization: Bearer ...``).
        byok_alias: Which stored provider key (BYOK) to use (``cf-aig-byok-alias``; the
            gateway uses ``default`` without it).
        no_wholesale: ``True`` requires provider credentials: no Unified Billing fallback
            (``cf-aig-no-wholesale: true``).
        zdr: Zero data retention on or off for these requests (``cf-aig-zdr``; Unified
            Billing only, so not with ``provider_api_key``).
        event_id: An id of yours, echoed back in ``cf-aig-event-id``.
        custom_cost: Your own price for the log (``cf-aig-custom-cost``): ``per_token_in`` /
            ``per_token_out`` or ``total_cost``, plus ``per_cache_read_token`` /
            ``per_cache_write_token``; non-negative numbers.
        session_id: Auto Router session (``cf-aig-session-id``).
        turn_id: Auto Router turn (``cf-aig-turn-id``).
        no_session_affinity: ``True`` lets the Auto Router switch models within a session.
        allowed_models: Models the Auto Router may pick (``cf-aig-allowed-models``).
        allowed_providers: Providers the Auto Router may pick (``cf-aig-allowed-providers``).
        provider_api_key: The provider's own key, for the ``gateway.ai.cloudflare.com``
            surfaces only (``routing="url"``): sent as ``Authorization: Bearer ...`` to
            third-party models, the Cloudflare credential moving to ``cf-aig-authorization``.
            Never shown in ``repr``.
        server_fallback: With ``routing="url"``, a call with ``fallbacks=[...]`` sends its
            whole chain in one request to the gateway's universal endpoint, which falls back
            server-side (``True``, the default); ``False`` walks the chain from the client,
            one request per model, as ``routing="header"`` always does. The gateway moves
            on after *any* failed entry (input errors too) and does not say why an entry
            failed; the client walk falls back only on errors another model could avoid and
            records each error. Per model or client, not per call.
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
    collect_log_payload: bool | None = None
    byok_alias: str | None = None
    no_wholesale: bool | None = None
    zdr: bool | None = None
    event_id: str | None = None
    custom_cost: Mapping[str, float] | None = None
    session_id: str | None = None
    turn_id: str | None = None
    no_session_affinity: bool | None = None
    allowed_models: tuple[str, ...] | None = None
    allowed_providers: tuple[str, ...] | None = None
    provider_api_key: SecretStr | None = field(default=None, repr=False)
    server_fallback: bool = True

    def __post_init__(self) -> None:
        for name in ("auth_token", "provider_api_key"):  # a plain string becomes a SecretStr
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, SecretStr(value))
        for name in ("allowed_models", "allowed_providers"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(","))
            if value is not None and not isinstance(value, tuple):
                value = tuple(value) if isinstance(value, (list, set, frozenset)) else value
            object.__setattr__(self, name, value)
        _validate_gateway(self)

    def headers(self) -> dict[str, str]:
        """The ``cf-aig-*`` request headers for these options (the tokens masked in ``repr``;
        ``provider_api_key`` is not among them: it replaces ``Authorization`` where it
        applies, see :mod:`workers_ai.providers`)."""
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
            "cf-aig-byok-alias": self.byok_alias,
            "cf-aig-event-id": self.event_id,
            "cf-aig-session-id": self.session_id,
            "cf-aig-turn-id": self.turn_id,
        }
        headers.update({k: str(v) for k, v in simple.items() if v is not None})
        flags = {
            "cf-aig-skip-cache": self.skip_cache,
            "cf-aig-collect-log": self.collect_log,
            "cf-aig-collect-log-payload": self.collect_log_payload,
            "cf-aig-zdr": self.zdr,
        }
        headers.update({k: "true" if v else "false" for k, v in flags.items() if v is not None})
        if self.no_wholesale:  # the header can only require credentials, never relax it
            headers["cf-aig-no-wholesale"] = "true"
        if self.no_session_affinity:
            headers["cf-aig-no-session-affinity"] = "true"
        if self.allowed_models:
            headers["cf-aig-allowed-models"] = ",".join(self.allowed_models)
        if self.allowed_providers:
            headers["cf-aig-allowed-providers"] = ",".join(self.allowed_providers)
        if self.metadata:
            headers["cf-aig-metadata"] = json.dumps(dict(self.metadata), separators=(",", ":"))
        if self.custom_cost:
            headers["cf-aig-custom-cost"] = json.dumps(
                dict(self.custom_cost), separators=(",", ":")
            )
        if self.auth_token is not None:
            headers["cf-aig-authorization"] = f"Bearer {self.auth_token.get_secret_value()}"
        return headers


_GATEWAY_FLAGS = (
    "skip_cache", "collect_log", "collect_log_payload", "no_wholesale", "zdr",
    "no_session_affinity",
)  # fmt: skip
_GATEWAY_STRINGS = {
    "cache_key": "cf-aig-cache-key", "byok_alias": "cf-aig-byok-alias",
    "event_id": "cf-aig-event-id", "session_id": "cf-aig-session-id",
    "turn_id": "cf-aig-turn-id",
}  # fmt: skip
_CUSTOM_COST_KEYS = (
    "per_token_in", "per_token_out", "total_cost", "per_cache_read_token",
    "per_cache_write_token",
)  # fmt: skip


def _bad_gateway(what: str) -> ConfigurationError:
    return ConfigurationError(f"Invalid AI Gateway option: {what}")


def _validate_gateway(options: GatewayOptions) -> None:
    bad = _bad_gateway
    validate_gateway_id(options.id)
    if options.routing not in ("url", "header"):
        raise bad(f"routing must be 'url' or 'header', not {options.routing!r}")
    _check_gateway_numbers(options)
    if options.backoff not in (None, "constant", "linear", "exponential"):
        raise bad(f"backoff={options.backoff!r}: use 'constant', 'linear' or 'exponential'")
    for name in _GATEWAY_FLAGS:
        value = getattr(options, name)
        if value is not None and not isinstance(value, bool):
            raise bad(f"{name}={value!r}: use True or False")
    if not isinstance(options.server_fallback, bool):
        raise bad(f"server_fallback={options.server_fallback!r}: use True or False")
    _check_metadata(options.metadata)
    for name, header in _GATEWAY_STRINGS.items():
        value = getattr(options, name)
        if value is not None:
            if value == "":
                raise bad(f"{name} is empty; leave it unset instead")
            validate_header_value(value, f"Invalid AI Gateway option: {name}", header=header)
    _check_custom_cost(options.custom_cost)
    for name in ("allowed_models", "allowed_providers"):
        _check_names(name, getattr(options, name))
    if options.auth_token is not None:
        _validate_token(options.auth_token.get_secret_value(), "AI Gateway token")
    if options.provider_api_key is not None:
        _validate_token(options.provider_api_key.get_secret_value(), "provider_api_key")
    _check_gateway_contradictions(options)


def _check_gateway_numbers(options: GatewayOptions) -> None:
    bad = _bad_gateway
    for name in ("cache_ttl", "max_attempts", "retry_delay_ms", "request_timeout_ms"):
        value = getattr(options, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad(f"{name}={value!r}: use a whole number")
    ttl = options.cache_ttl
    if ttl is not None and not 60 <= ttl <= _GATEWAY_CACHE_TTL_MAX:
        raise bad(
            f"cache_ttl={ttl}: use seconds between 60 and {_GATEWAY_CACHE_TTL_MAX} (one month)"
        )
    if options.max_attempts is not None and not 1 <= options.max_attempts <= 5:
        raise bad(f"max_attempts={options.max_attempts}: use 1 to 5")
    if options.retry_delay_ms is not None and not 0 <= options.retry_delay_ms <= 5000:
        raise bad(f"retry_delay_ms={options.retry_delay_ms}: use 0 to 5000")
    if options.request_timeout_ms is not None and options.request_timeout_ms <= 0:
        raise bad(f"request_timeout_ms={options.request_timeout_ms}: use a positive number")


def _check_metadata(metadata: object) -> None:
    """At most 5 entries of string/number/bool values: AI Gateway keeps the first five of
    more, and silently drops the whole metadata for a ``null`` or object value (spec §1.6)."""
    bad = _bad_gateway
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise bad(f"metadata must be a mapping, got {type(metadata).__name__}")
    if len(metadata) > 5:
        raise bad(
            f"metadata has {len(metadata)} entries; AI Gateway keeps at most 5 (it would drop "
            "the rest silently)"
        )
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise bad(f"metadata key {key!r} is {type(key).__name__}; use strings")
        if not isinstance(value, (str, int, float, bool)):
            raise bad(
                f"metadata[{key!r}] is {type(value).__name__}; use str, number or bool (AI "
                "Gateway would drop the whole metadata silently)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise bad(f"metadata[{key!r}]={value!r}: use a finite number")


def _check_custom_cost(cost: object) -> None:
    bad = _bad_gateway
    if cost is None:
        return
    if not isinstance(cost, Mapping):
        raise bad(f"custom_cost must be a mapping such as {{'total_cost': 0.01}}, got {cost!r}")
    unknown = [k for k in cost if k not in _CUSTOM_COST_KEYS]
    if unknown:
        raise bad(f"custom_cost has unknown keys {unknown}; use {', '.join(_CUSTOM_COST_KEYS)}")
    for key, value in cost.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not 0 <= value < math.inf:
            raise bad(f"custom_cost[{key!r}]={value!r}: use a non-negative finite number")
    per_token = "per_token_in" in cost or "per_token_out" in cost
    if per_token == ("total_cost" in cost):
        raise bad(
            "custom_cost needs either per_token_in/per_token_out or total_cost (not both, not "
            f"neither), got keys {sorted(cost)}"
        )


def _check_names(name: str, values: object) -> None:
    if values is None:
        return
    if not isinstance(values, tuple) or not values:
        raise _bad_gateway(f"{name} must be a non-empty list of strings, got {values!r}")
    for value in values:
        if not isinstance(value, str) or not value or "," in value:
            raise _bad_gateway(f"{name}: {value!r} must be a non-empty string without ','")
        validate_header_value(value, f"Invalid AI Gateway option: {name}")


def _check_gateway_contradictions(options: GatewayOptions) -> None:
    bad = _bad_gateway
    if options.provider_api_key is None:
        return
    if options.routing == "header":
        raise bad(
            "provider_api_key is sent only to gateway.ai.cloudflare.com, but routing='header' "
            "uses api.cloudflare.com (Unified Billing, no provider keys). Store the key on the "
            "gateway and pick it with byok_alias=..., or use routing='url'."
        )
    if options.byok_alias is not None:
        raise bad(
            "byok_alias and provider_api_key both name the provider's key; keep one: "
            "byok_alias for a key stored on the gateway, provider_api_key to send your own."
        )
    if options.zdr is not None:
        raise bad(
            "zdr applies to Unified Billing only, and provider_api_key bills your provider "
            "account; drop zdr or provider_api_key."
        )


#: GatewayOptions fields that are the model's or client's, never one call's.
_NOT_PER_CALL = frozenset({"server_fallback"})
#: The GatewayOptions fields a per-call ``gateway_options`` mapping may set.
GATEWAY_OPTION_NAMES: tuple[str, ...] = tuple(
    name for name in GatewayOptions.__dataclass_fields__ if name not in _NOT_PER_CALL
)


def merge_gateway_options(
    base: GatewayOptions | None, overrides: Mapping[str, Any] | None
) -> GatewayOptions | None:
    """Per-call options merged onto the settings' gateway (validated as at construction).

    ``None`` values keep the settings' value. Without a gateway in the settings, the
    overrides make one with ``routing="header"`` and the ``default`` gateway (the URL is the
    settings', so a call cannot switch routing; with ``routing="url"`` it cannot change the
    gateway id either: it is part of the URL).

    Raises:
        ConfigurationError: An unknown option (with a did-you-mean), an invalid value, or a
            change of ``routing`` (or of ``id`` with URL routing).
    """
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not changes:
        return base
    for key in changes:
        if key in _NOT_PER_CALL:
            raise _bad_gateway(
                f"{key} is not a per-call gateway option: set it in the model's or client's "
                "GatewayOptions"
            )
        if key not in GATEWAY_OPTION_NAMES:
            import difflib

            close = difflib.get_close_matches(str(key), GATEWAY_OPTION_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _bad_gateway(f"unknown per-call gateway option {key!r}{hint}")
    routing = base.routing if base is not None else "header"
    if changes.get("routing", routing) != routing:
        raise _bad_gateway(
            f"routing={changes['routing']!r} per call: the routing is {routing!r} for this "
            "model (it decides the URL); build another model or client to change it"
        )
    if base is not None and routing == "url" and changes.get("id", base.id) != base.id:
        raise _bad_gateway(
            f"id={changes['id']!r} per call: with routing='url' the gateway id is part of the "
            "URL; build another model or client, or use routing='header'"
        )
    if base is None:
        return GatewayOptions(**{"id": "default", "routing": "header", **changes})
    return replace(base, **changes)


def gateway_call_headers(
    settings: WorkersAISettings,
    overrides: Mapping[str, Any] | None,
    *,
    model: str | None = None,
) -> dict[str, str]:
    """The headers of one call with per-call ``gateway_options`` (``headers=`` of the client).

    The one place that turns a framework's per-call ``gateway_options`` into request headers:
    merged onto ``settings.gateway`` by :func:`merge_gateway_options`, then the gateway's
    ``cf-aig-*`` headers; a per-call ``provider_api_key`` becomes ``Authorization`` for a
    third-party ``model`` (routing ``url``). A :class:`RedactedHeaders` (``repr`` masks keys).

    Raises:
        ConfigurationError: As :func:`merge_gateway_options`.
    """
    merged = merge_gateway_options(settings.gateway, overrides)
    if merged is None or merged is settings.gateway:
        return RedactedHeaders()
    headers = RedactedHeaders(merged.headers())
    key = merged.provider_api_key
    if key is not None and model is not None:
        from workers_ai.providers import is_third_party

        if is_third_party(model):
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
    return headers


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
