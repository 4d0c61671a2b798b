"""Emulator configuration and live state (stats, gateway cache, batch jobs, prompt caches,
Vectorize indexes, AI Search instances)."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from workers_ai.emulator.caching import PromptCache
from workers_ai.emulator.faults import (
    FaultPlan,
    FaultSpec,
    RateLimiter,
    check_runtime_setting,
)
from workers_ai.emulator.gateway import GatewayLogs
from workers_ai.emulator.vectorize_store import VectorStore

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_TOKEN",
    "VECTORIZE_LAG_ENV_VAR",
    "BatchJob",
    "CachedResponse",
    "EmulatorConfig",
    "EmulatorState",
]

DEFAULT_ACCOUNT_ID = "emulator-account"
DEFAULT_API_TOKEN = "emulator-token"  # noqa: S105 - the emulator's documented local token
#: Default of ``EmulatorConfig.vectorize_mutation_lag_ms`` when set (milliseconds), so a
#: whole test suite can run against eventually consistent Vectorize indexes.
VECTORIZE_LAG_ENV_VAR = "WORKERS_AI_EMULATOR_VECTORIZE_LAG_MS"


def _vectorize_lag_from_env() -> float:
    """``WORKERS_AI_EMULATOR_VECTORIZE_LAG_MS`` as milliseconds (0 when unset or empty).

    Raises:
        ValueError: naming the variable, for anything but a finite number >= 0.
    """
    raw = os.environ.get(VECTORIZE_LAG_ENV_VAR, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{VECTORIZE_LAG_ENV_VAR}={raw!r}: use milliseconds, 0 or more")
    return value


@dataclass
class EmulatorConfig:
    """How the emulator behaves.

    Latency, jitter, event delay, rate limits, usage mode, the ``batch_*`` settings, the
    Vectorize mutation lag and faults can also be changed at run time
    (``EmulatorServer.configure``, ``POST /__emulator/faults``); the rest is fixed at start.
    A batch job keeps the ``batch_*`` settings it was submitted under.

    Attributes:
        account_id: The only account that exists (others get 404 / code 7003).
        api_token: The bearer token it accepts (others get 401 / code 10000), on the API and
            on the control routes (``/__emulator/stats``, ``/reset``, ``/faults``).
        latency_ms: Fixed latency of every API request, counted from its arrival: the answer
            is worked out first and sent once the latency has passed (the emulator's own work
            adds to it only where it takes longer).
        jitter_ms: Extra uniformly random latency (seeded) on top of ``latency_ms``.
        stream_event_delay_ms: Pause between streamed events (for demos of streaming UIs).
        rate_limit_per_minute: ``None`` (off), a number for every task, a mapping of task name
            to number, or ``"catalog"`` for Workers AI's published limits (spec §9, as
            :mod:`workers_ai.emulator.facts` records them). Vectorize requests are limited
            only by a mapping's ``"vectorize"`` entry.
        faults: Server-wide fault rules (see :mod:`workers_ai.emulator.faults`).
        gateway_token: When set, AI Gateway requests must send ``cf-aig-authorization``.
        max_body_bytes: Larger request bodies get 413 / code 3006 (Vectorize insert/upsert
            bodies: larger than Vectorize's 100 MB upload limit instead).
        batch_pending_polls: Polls of an async batch job (spec §10) that answer
            ``queued`` (first poll) / ``running`` before the results.
        batch_delay_s: Seconds (monotonic clock, from the submit) a batch job stays
            ``queued``/``running``: it is done once both ``batch_pending_polls`` polls have
            happened and this time has passed. ``0``: polls alone decide.
        batch_result_shape: Shape of a text-generation model's item ``result`` in a finished
            job: ``"flat"`` (``result.response``, as ``/ai/run`` answers) or ``"nested"``
            (``result.result.response``, as the binding example of spec §10 shows). Other
            tasks are always flat. Items carry their ``usage`` either way; the job's summed
            ``usage`` is at the top (tasks whose answer has no usage count their input text).
        batch_shuffle: Answer ``responses`` in reverse input order (spec §10: they "may be
            out of order"; ``id`` is the input index); ``False``: in input order.
        batch_failed_items: Input indices that fail in every job; a failed item is
            ``{"id": i, "success": false, "errors": [{"code": 3030, "message": ...}]}``.
            One job: header ``x-emulator-batch-fail: 0,3`` on its submit request.
        batch_failure_rate: Fraction (0 to 1) of inputs that fail besides those: chosen by a
            hash of ``seed``, model, index and input, so the same job fails the same inputs
            on every run.
        seed: Seed for jitter, probabilistic faults and ``batch_failure_rate``.
        usage_per_chunk: Streams on ``/ai/run`` carry usage deltas on every event (the
            variant some streams show, reference inline-values.json) instead of one final
            usage event (spec §3). Per request: header ``x-emulator-usage: per-chunk`` (or
            ``final``).
        open_control: Serve the control routes (``/__emulator/*``) without a token (CLI
            ``--open-control``). Off by default: they need ``Authorization: Bearer
            <api_token>`` like the API (:meth:`EmulatorServer.control_headers`).
        authenticated_gateways: Gateway ids with *Authenticated Gateway* on (spec §1.2): on
            ``gateway.ai.cloudflare.com`` surfaces they need ``cf-aig-authorization: Bearer
            <token>`` (``gateway_token`` if set, else ``api_token``), else 401 / 2009.
        byok_aliases: Stored provider keys (BYOK), as provider slug -> aliases, e.g.
            ``{"openai": ["default", "team-b"]}``; ``None`` (default): no stored keys, as on a
            new gateway, so third-party models bill through Unified Billing (and a model it
            does not cover answers 402 / 2021). Providers left out have no stored key.
        dynamic_routes: Dynamic routes, name -> ordered model names (REST or compat names,
            or ``@cf/...``), called as model ``dynamic/<name>``: the first model that does not
            fail answers.
        rest_gateway_errors: Body of gateway errors on ``api.cloudflare.com`` (spec §1.10
            leaves it open): ``"gateway"`` (singular ``error``, default) or ``"v4"``
            (``errors`` in the v4 envelope). ``gateway.ai.cloudflare.com`` always uses the
            gateway's body.
        vectorize_mutation_lag_ms: How long after it is accepted a Vectorize mutation
            (insert, upsert, delete by ids, metadata index create/delete) is applied and
            becomes visible to queries, get by ids, list vectors and ``info`` (monotonic
            clock; mutations apply in order). ``0``: at once. Default: the environment
            variable ``WORKERS_AI_EMULATOR_VECTORIZE_LAG_MS``, else 0.
        vectorize_max_indexes: Vectorize indexes the account may have (platform spec §2.9:
            50,000 on Workers Paid, 100 on Free); more get 400 / 40002.
        ai_search_instances: AI Search instances (platform spec §3), name -> ``{"files":
            {path: text or {"text", "metadata", "timestamp"}}, "namespace"?, "model"?}``
            (:mod:`workers_ai.emulator.ai_search_corpus`); each is also the legacy AutoRAG
            of that name when its namespace is ``default``. They stay across ``reset()``;
            ``EmulatorServer.add_ai_search_instance`` adds more until the next reset.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    api_token: str = field(default=DEFAULT_API_TOKEN, repr=False)
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    stream_event_delay_ms: float = 0.0
    rate_limit_per_minute: int | Mapping[str, int] | str | None = None
    faults: list[FaultSpec] = field(default_factory=list)
    gateway_token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 10_000_000
    batch_pending_polls: int = 1
    batch_delay_s: float = 0.0
    batch_result_shape: str = "flat"
    batch_shuffle: bool = True
    batch_failed_items: Sequence[int] = ()
    batch_failure_rate: float = 0.0
    seed: int = 0
    usage_per_chunk: bool = False
    open_control: bool = False
    authenticated_gateways: AbstractSet[str] = field(default_factory=frozenset)
    byok_aliases: Mapping[str, Sequence[str]] | None = None
    dynamic_routes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    rest_gateway_errors: str = "gateway"
    vectorize_mutation_lag_ms: float = field(default_factory=_vectorize_lag_from_env)
    vectorize_max_indexes: int = 50_000
    ai_search_instances: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_gateway_config(self)
        if self.ai_search_instances:  # the corpus module loads the stand-ins: only when needed
            from workers_ai.emulator.ai_search_corpus import parse_instances

            parse_instances(self.ai_search_instances)  # ValueError naming the instance
        limit = self.vectorize_max_indexes
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError("vectorize_max_indexes: use a whole number, 1 or more")
        for name in _RUNTIME_CHECKED:  # the checks of the control route, raised as ValueError
            check_runtime_setting(name, getattr(self, name))


_RUNTIME_CHECKED = (
    "vectorize_mutation_lag_ms",
    "batch_pending_polls",
    "batch_delay_s",
    "batch_result_shape",
    "batch_shuffle",
    "batch_failed_items",
    "batch_failure_rate",
)


def _check_gateway_config(config: EmulatorConfig) -> None:
    """Raise ``ValueError`` naming the setting to change (checked once, at construction)."""
    from workers_ai.emulator import facts, gateway, providers

    gateways: object = config.authenticated_gateways
    if isinstance(gateways, str) or not all(
        isinstance(g, str) and g for g in config.authenticated_gateways
    ):
        raise ValueError("authenticated_gateways: give a set of gateway ids, e.g. {'secure-gw'}")
    config.authenticated_gateways = frozenset(config.authenticated_gateways)
    if config.rest_gateway_errors not in ("gateway", "v4"):
        raise ValueError("rest_gateway_errors: use 'gateway' or 'v4'")
    for provider, aliases in (config.byok_aliases or {}).items():
        if not isinstance(provider, str) or not providers.is_gateway_provider(provider):
            raise ValueError(
                f"byok_aliases: {provider!r} is no AI Gateway provider slug "
                "(e.g. 'openai', 'google-ai-studio', 'grok', 'custom-<slug>')"
            )
        if isinstance(aliases, str) or not all(isinstance(a, str) and a for a in aliases):
            raise ValueError(f"byok_aliases[{provider!r}]: give a list of alias names")
    for name, entries in config.dynamic_routes.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"dynamic_routes: {name!r} is not a route name (no '/')")
        if isinstance(entries, str) or not entries:
            raise ValueError(f"dynamic_routes[{name!r}]: give a non-empty list of model names")
        for entry in entries:
            known = isinstance(entry, str) and (
                providers.by_rest_id(entry) is not None
                or providers.by_compat_id(entry) is not None
                or (gateway.is_workers_ai_model(entry) and facts.get(entry) is not None)
            )
            if not known:
                raise ValueError(
                    f"dynamic_routes[{name!r}]: {entry!r} is no model the emulator serves "
                    "(use e.g. 'openai/gpt-4.1' or '@cf/meta/llama-3.1-8b-instruct')"
                )


@dataclass
class BatchJob:
    """An async batch job (spec §10) with the settings it was submitted under.

    Attributes:
        model: The model of ``POST /ai/run/{model}``.
        items: The job's ``requests`` as sent.
        ready_at: Monotonic time before which polls answer pending (``batch_delay_s``).
        pending_polls: Polls answered pending (``batch_pending_polls``).
        failing: Input indices that fail (``batch_failed_items``, ``batch_failure_rate``,
            ``x-emulator-batch-fail``).
        nested: Text-generation results as ``result.result`` (``batch_result_shape``).
        shuffle: ``responses`` in reverse order (``batch_shuffle``).
        polls: Polls so far.
        result: The finished job's answer, once built.
    """

    model: str
    items: list[Any]
    ready_at: float
    pending_polls: int
    failing: frozenset[int]
    nested: bool
    shuffle: bool
    polls: int = 0
    result: dict[str, Any] | None = None


@dataclass
class CachedResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    frames: list[bytes] | None
    expires: float


class EmulatorState:
    """Mutable server state, shared between the server thread and the controlling thread."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = FaultPlan(list(config.faults), seed=config.seed)
        self.rate_limiter = RateLimiter()
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[str]] = {}
        self._total = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self.gateway_cache: dict[str, CachedResponse] = {}
        self.batches: dict[str, BatchJob] = {}
        self.prompt_cache = PromptCache()
        self.gateway_logs = GatewayLogs()
        self.vectorize = VectorStore()
        from workers_ai.emulator.ai_search_corpus import AiSearchStore  # the model side
        from workers_ai.emulator.request_log import RequestLog  # the model side: on first use
        from workers_ai.emulator.scripts import ScriptBook

        self.scripts = ScriptBook()
        self.requests = RequestLog()
        self.ai_search = AiSearchStore(config.ai_search_instances)
        self._gateway_requests = 0
        self._service_s: deque[float] = deque(maxlen=10_000)
        self.reset_stats()

    # -- stats -----------------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self._lock:
            self._counters = {
                name: Counter() for name in ("by_route", "by_model", "by_status", "by_fault")
            }
            self._total = 0
            self._max_in_flight = self._in_flight
            self._service_s.clear()

    def request_started(self, route: str, model: str | None) -> None:
        with self._lock:
            self._total += 1
            self._counters["by_route"][route] += 1
            if model:
                self._counters["by_model"][model] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def request_finished(self, status: int | str, fault: str | None) -> None:
        """``status``: the HTTP status sent, or ``"reset"`` for a connection dropped by a fault."""
        with self._lock:
            self._in_flight -= 1
            self._counters["by_status"][str(status)] += 1
            if fault:
                self._counters["by_fault"][fault] += 1

    def record_service_time(self, seconds: float) -> None:
        """Time from the request fully read to the last byte handed to the server."""
        self._service_s.append(seconds)

    def stats(self) -> dict[str, Any]:
        """Requests in total and per route template, model, status and injected fault, plus
        ``service_ms``: the emulator's own time per request (median, p95; last 10,000).

        ``by_status`` maps the HTTP status sent (``"200"``, ``"429"``...) to a count; a request
        whose connection an injected fault dropped (``reset``, ``reset_mid_body``) counts under
        ``"reset"`` instead, since no complete answer reached the client. ``by_fault`` names
        the fault. Control routes (``/__emulator/*``) are not counted.
        """
        with self._lock:
            out: dict[str, Any] = {"requests": self._total, "max_in_flight": self._max_in_flight}
            out.update({name: dict(counter) for name, counter in self._counters.items()})
            times = sorted(self._service_s)
        if times:
            out["service_ms"] = {
                "p50": round(times[len(times) // 2] * 1000, 3),
                "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 3),
                "count": len(times),
            }
        return out

    # -- gateway cache ---------------------------------------------------------------------
    def cache_get(self, key: str) -> CachedResponse | None:
        with self._lock:
            entry = self.gateway_cache.get(key)
            if entry is not None and entry.expires <= time.monotonic():
                del self.gateway_cache[key]
                return None
            return entry

    def cache_put(self, key: str, entry: CachedResponse) -> None:
        with self._lock:
            self.gateway_cache[key] = entry

    def next_gateway_request(self) -> int:
        """Number this gateway request (log ids and routing decision ids derive from it)."""
        with self._lock:
            self._gateway_requests += 1
            return self._gateway_requests

    # -- batch jobs ------------------------------------------------------------------------
    def add_batch(self, request_id: str, job: BatchJob) -> None:
        with self._lock:
            self.batches[request_id] = job

    def poll_batch(self, request_id: str) -> tuple[BatchJob, int] | None:
        """The job and its poll count including this poll, or ``None`` for an unknown id."""
        with self._lock:
            job = self.batches.get(request_id)
            if job is None:
                return None
            job.polls += 1
            return job, job.polls

    def reset(self) -> None:
        """Forget stats, rate-limit windows, the gateway cache and logs, batch jobs, prompt
        caches, scripted replies (and strict mode), the request log, the Vectorize indexes
        and the AI Search instances added at run time (configured ones stay); log ids start
        again from the first."""
        self.reset_stats()
        self.vectorize.clear()
        self.ai_search.reset()
        self.scripts.clear()
        self.requests.clear()
        self.rate_limiter.reset()
        self.prompt_cache.clear()
        self.gateway_logs.clear()
        with self._lock:
            self.gateway_cache.clear()
            self.batches.clear()
            self._gateway_requests = 0
