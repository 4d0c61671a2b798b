"""Fault injection and rate limiting for the emulator (no I/O; the app applies the decisions).

Faults can be set for the whole server (:class:`EmulatorConfig`, the ``POST /__emulator/faults``
control route) or for one request with headers:

- ``x-emulator-fault: <kind>[;after=N][;status=S]`` -- one fault for this request;
- ``x-emulator-latency-ms: <ms>`` -- extra latency for this request.

Fault kinds: ``capacity`` (429/3040), ``rate_limit`` (429/3021 + ``retry-after``), ``quota``
(429/3036), ``server_error`` (500), ``bad_gateway`` (502 HTML page), ``unavailable`` (503),
``reset`` (connection closed before any response), ``reset_mid_body`` (status line, headers
with the full ``content-length`` and part of a non-streamed body, then the connection is
closed: ``after`` bytes, or half the body when ``after`` is 0; streamed replies are left alone,
see ``stream_cut``), ``malformed_json`` (200 with a broken body, or a broken event in a stream),
``stream_cut`` (stream ends after ``after`` events without ``[DONE]``), ``stream_error`` (an
error event after ``after`` events), ``slow_first_byte`` (waits ``after`` ms before the first
byte).

AI Gateway faults, answered in the gateway's body (spec §1.10): ``gateway_rate_limited``
(429/2003), ``gateway_provider_error`` (400/2005), ``gateway_unauthorized`` (401/2009),
``gateway_insufficient_balance`` (402/2021), ``gateway_byok_alias`` (400/2040),
``gateway_spend_limit`` (429/2041); and ``provider_error``: a provider's 400 passed through in
OpenAI's format (``{"error": {"message", "type": "invalid_request_error", "code"}}``).
In a dynamic route (``dynamic/<name>``) or the universal endpoint, a server-wide rule for one
step's model (``model=...``) fails that step and the next one answers.

Stats count a request whose connection a fault dropped (``reset``, ``reset_mid_body``) under
``by_status["reset"]``, not under the status it never completed.

Async batch jobs (spec §10): a rule's ``route`` may also be ``batch_submit`` (the
``{"requests": [...]}`` post), ``batch_poll`` (the ``{"request_id": ...}`` post) or ``batch``
(both); a rule for ``run`` hits both too, as both are ``/ai/run`` requests. Single inputs of a
job fail with the settings ``batch_failed_items`` / ``batch_failure_rate`` (see
:class:`~workers_ai.emulator.config.EmulatorConfig`) or, for one job, the submit request's
header ``x-emulator-batch-fail: 0,3`` (input indices): the finished job answers them as
``{"id": i, "success": false, "errors": [{"code": 3030, "message": ...}]}``
(:data:`BATCH_ITEM_ERROR`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BATCH_ITEM_ERROR",
    "BATCH_ROUTES",
    "ERROR_FAULTS",
    "FAULT_KINDS",
    "GATEWAY_FAULTS",
    "LATE_FAULTS",
    "PROVIDER_FAULT_BODY",
    "RUNTIME_SETTINGS",
    "FaultConfigError",
    "FaultPlan",
    "FaultSpec",
    "RateLimiter",
    "batch_item_fails",
    "check_runtime_setting",
    "parse_batch_fail_header",
    "parse_fault_header",
    "retry_after_header",
]

FAULT_KINDS = frozenset(
    {
        "capacity",
        "rate_limit",
        "quota",
        "server_error",
        "bad_gateway",
        "unavailable",
        "reset",
        "reset_mid_body",
        "malformed_json",
        "stream_cut",
        "stream_error",
        "slow_first_byte",
        "gateway_rate_limited",
        "gateway_provider_error",
        "gateway_unauthorized",
        "gateway_insufficient_balance",
        "gateway_byok_alias",
        "gateway_spend_limit",
        "provider_error",
    }
)

#: Faults applied to the real answer once it is built (the others replace it).
LATE_FAULTS = frozenset(
    {"stream_cut", "stream_error", "malformed_json", "slow_first_byte", "reset_mid_body"}
)

#: kind -> (HTTP status, Cloudflare code, message) for faults answered with an error envelope.
ERROR_FAULTS: dict[str, tuple[int, int, str]] = {
    "capacity": (429, 3040, "Capacity temporarily exceeded, please try again."),
    "rate_limit": (429, 3021, "rate limiting: inference request per min rate reached"),
    "quota": (
        429,
        3036,
        "You have used up your daily free allocation of 10,000 neurons, please upgrade to "
        "Cloudflare's Workers Paid plan if you would like to continue usage.",
    ),
    "server_error": (500, 1000, "Internal server error"),
    "unavailable": (503, 1000, "Service unavailable"),
}


#: kind -> (HTTP status, gateway code, message) for AI Gateway errors, answered in the gateway's
#: own body (spec §1.10: ``{"success": false, "error": [...], "name": "AiGatewayError", ...}``).
GATEWAY_FAULTS: dict[str, tuple[int, int, str]] = {
    "gateway_rate_limited": (429, 2003, "Rate limited"),
    "gateway_provider_error": (400, 2005, "Failed to get response from provider"),
    "gateway_unauthorized": (401, 2009, "Unauthorized"),
    "gateway_insufficient_balance": (
        402,
        2021,
        "Insufficient balance; add money to your gateway or use BYOK",
    ),
    "gateway_byok_alias": (
        400,
        2040,
        "Provider 'openai' has no BYOK credential named 'emulator-fault'. "
        "Configured aliases: default",
    ),
    "gateway_spend_limit": (
        429,
        2041,
        "Spend limit exceeded: rule 'emulator-fault' (cost limit 100 per 604800s, sliding) "
        "for this gateway",
    ),
}

#: ``provider_error``: the provider's own 400, passed through in OpenAI's format (§1.10).
PROVIDER_FAULT_BODY = {
    "error": {
        "message": "Invalid request (emulator fault: provider_error).",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_request_error",
    }
}


#: Route names a rule may use for async batch requests only (``batch``: submit and poll).
BATCH_ROUTES = frozenset({"batch", "batch_submit", "batch_poll"})

#: (Cloudflare code, message) of an input of a batch job made to fail: 3030, the generic
#: inference failure (spec §9).
BATCH_ITEM_ERROR = (3030, "AiError: Inference failed for this input (emulator: batch item fault)")


class FaultConfigError(ValueError):
    """A fault description is malformed (the message says what to change)."""


@dataclass(frozen=True)
class FaultSpec:
    """One fault rule.

    Attributes:
        kind: One of :data:`FAULT_KINDS`.
        count: Apply to this many matching requests, then stop (``None``: no limit).
        probability: Apply to each matching request with this probability (seeded).
        after: Events before a stream is cut/errored, ms for ``slow_first_byte``, body bytes
            sent before ``reset_mid_body`` drops the connection (0: half the body).
        status: Override the HTTP status for ``server_error``-like kinds.
        route: Only requests to this route kind (``run``, ``openai``, ``gateway``...), or
            async batch requests: ``batch_submit``, ``batch_poll``, ``batch`` (both).
        model: Only requests for this model.
    """

    kind: str
    count: int | None = None
    probability: float = 1.0
    after: int = 0
    status: int | None = None
    route: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in FAULT_KINDS:
            raise FaultConfigError(
                f"unknown fault kind {self.kind!r}; use one of {', '.join(sorted(FAULT_KINDS))}"
            )
        if not _is_number(self.probability) or not 0.0 <= self.probability <= 1.0:
            raise FaultConfigError(f"probability={self.probability!r}: use 0 to 1")
        if self.count is not None and (not _is_int(self.count) or self.count < 0):
            raise FaultConfigError(f"count={self.count!r}: use a whole number, 0 or more")
        if not _is_int(self.after) or self.after < 0:
            raise FaultConfigError(f"after={self.after!r}: use a whole number, 0 or more")
        if self.status is not None and (not _is_int(self.status) or not 100 <= self.status < 600):
            raise FaultConfigError(f"status={self.status!r}: use an HTTP status, 100 to 599")
        for name in ("route", "model"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise FaultConfigError(f"{name}={getattr(self, name)!r}: use a string")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultSpec:
        if not isinstance(data, Mapping):
            raise FaultConfigError(f"a fault rule is an object with a 'kind', not {data!r}")
        allowed = {"kind", "count", "probability", "after", "status", "route", "model"}
        unknown = set(data) - allowed
        if unknown:
            raise FaultConfigError(
                f"unknown fault fields {sorted(unknown)}; allowed: {sorted(allowed)}"
            )
        if "kind" not in data:
            raise FaultConfigError("a fault needs a 'kind'")
        return cls(**dict(data))

    def matches(
        self, route: str, model: str | None, alias: str | None = None, *, batch: str | None = None
    ) -> bool:
        """Whether this rule applies to a request on ``route`` for ``model`` (also named
        ``alias``: a provider-native path's ``claude-sonnet-4-5`` is ``anthropic/...``);
        ``batch`` is ``batch_submit`` or ``batch_poll`` for an async batch request."""
        route_ok = (
            self.route is None
            or self.route == route
            or (batch is not None and self.route in (batch, "batch"))
        )
        return route_ok and (
            self.model is None or self.model == model or (alias is not None and self.model == alias)
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


#: Settings of a running emulator that ``POST /__emulator/faults`` / ``configure()`` may change.
RUNTIME_SETTINGS = frozenset(
    {
        "latency_ms",
        "jitter_ms",
        "stream_event_delay_ms",
        "rate_limit_per_minute",
        "usage_per_chunk",
        "batch_delay_s",
        "batch_pending_polls",
        "batch_result_shape",
        "batch_shuffle",
        "batch_failed_items",
        "batch_failure_rate",
        "vectorize_mutation_lag_ms",
    }
)

#: What each batch setting accepts (also checked by ``EmulatorConfig`` at construction).
_BATCH_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "batch_delay_s": (lambda v: _is_number(v) and v >= 0, "use seconds, 0 or more"),
    "batch_pending_polls": (lambda v: _is_int(v) and v >= 0, "use a whole number, 0 or more"),
    "batch_result_shape": (lambda v: v in ("flat", "nested"), "use 'flat' or 'nested'"),
    "batch_shuffle": (lambda v: isinstance(v, bool), "use true or false"),
    "batch_failed_items": (
        lambda v: (
            isinstance(v, (list, tuple, set, frozenset)) and all(_is_int(i) and i >= 0 for i in v)
        ),
        "give a list of input indices, 0 or more",
    ),
    "batch_failure_rate": (lambda v: _is_number(v) and 0 <= v <= 1, "use 0 to 1"),
}


def check_runtime_setting(name: str, value: Any) -> None:
    """Raise :class:`FaultConfigError` unless ``value`` suits the runtime setting ``name``.

    Checked before anything changes, so a bad control request cannot leave the server with a
    value that breaks every later request.
    """
    if name not in RUNTIME_SETTINGS:
        raise FaultConfigError(f"unknown field {name!r}; allowed: {sorted(RUNTIME_SETTINGS)}")
    if name in _BATCH_CHECKS:
        check, hint = _BATCH_CHECKS[name]
        if not check(value):
            raise FaultConfigError(f"{name}={value!r} is not a valid setting: {hint}")
        return
    if name == "usage_per_chunk":
        ok = isinstance(value, bool)
    elif name == "rate_limit_per_minute":
        ok = (
            value is None
            or value == "catalog"
            or (_is_int(value) and value >= 0)
            or (
                isinstance(value, Mapping)
                and all(isinstance(k, str) and _is_int(v) and v >= 0 for k, v in value.items())
            )
        )
    else:
        ok = _is_number(value) and value >= 0
    if not ok:
        raise FaultConfigError(f"{name}={value!r} is not a valid setting")


def parse_batch_fail_header(value: str) -> frozenset[int]:
    """Parse the input indices of ``x-emulator-batch-fail: 0,3`` (submit request of a job)."""
    try:
        indices = frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        indices = frozenset({-1})
    if any(index < 0 for index in indices):
        raise FaultConfigError(f"x-emulator-batch-fail {value!r}: use input indices, e.g. 0,3")
    return indices


def batch_item_fails(rate: float, seed: int, model: str, index: int, item: Any) -> bool:
    """Whether input ``index`` of a job fails under ``batch_failure_rate`` (deterministic).

    A hash of the seed, model, index and input decides, so the same job fails the same
    inputs on every run, and the same input sent again in another position may succeed.
    """
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    text = json.dumps(item, sort_keys=True, default=repr)
    digest = hashlib.sha256(f"{seed}\x00{model}\x00{index}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def parse_fault_header(value: str) -> FaultSpec:
    """Parse ``kind[;after=N][;status=S]`` from the ``x-emulator-fault`` header."""
    kind, *params = [part.strip() for part in value.split(";") if part.strip()]
    fields: dict[str, Any] = {"kind": kind}
    for param in params:
        key, sep, raw = param.partition("=")
        if not sep or key not in {"after", "status"}:
            raise FaultConfigError(f"x-emulator-fault parameter {param!r}: use after=N or status=S")
        try:
            fields[key] = int(raw)
        except ValueError as exc:
            raise FaultConfigError(f"x-emulator-fault {key}={raw!r} is not a number") from exc
    return FaultSpec(**fields)


@dataclass
class FaultPlan:
    """Server-wide fault rules; thread-safe consumption of counted faults."""

    rules: list[FaultSpec] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = [rule.count for rule in self.rules]
        self._rng = random.Random(self.seed)

    def replace(self, rules: list[FaultSpec]) -> None:
        with self._lock:
            self.rules = list(rules)
            self._remaining = [rule.count for rule in self.rules]

    def pick(
        self, route: str, model: str | None, alias: str | None = None, *, batch: str | None = None
    ) -> FaultSpec | None:
        """The fault to apply to this request, if any (consumes one use of a counted rule);
        ``alias`` is another name of ``model`` a rule may use, ``batch`` the batch request
        kind (see :meth:`FaultSpec.matches`)."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(route, model, alias, batch=batch):
                    continue
                remaining = self._remaining[index]
                if remaining == 0:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if remaining is not None:
                    self._remaining[index] = remaining - 1
                return rule
        return None


class RateLimiter:
    """A sliding one-minute window of requests per key (task), like Workers AI's limits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    def check(self, key: str, per_minute: int) -> float | None:
        """Record a request; return ``None`` if allowed, else seconds until a slot frees."""
        now = self._clock()
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and now - window[0] >= 60.0:
                window.popleft()
            if len(window) >= per_minute:
                return max(0.001, 60.0 - (now - window[0]))
            window.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


def retry_after_header(seconds: float) -> str:
    """``retry-after`` is whole seconds; round up so a client never retries too early."""
    return str(max(1, math.ceil(seconds)))
