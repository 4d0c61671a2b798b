"""The emulator's ASGI application: Workers AI's routes, envelope, errors and faults.

A raw ASGI app (no web framework): the routes are few and fixed, and staying close to the
protocol keeps per-request overhead low enough that the emulator is never a benchmark's
bottleneck. Model behaviour comes from :mod:`workers_ai.emulator.tasks` (deterministic
stand-ins, not real models); which models exist, and their limits, from
:mod:`workers_ai.emulator.facts`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from workers_ai.emulator import ai_search, facts, jsonbody, markdown, scripts, tasks, vectorize
from workers_ai.emulator.config import BatchJob, CachedResponse, EmulatorConfig, EmulatorState
from workers_ai.emulator.facts import TEXT_EMBEDDINGS, TEXT_GENERATION
from workers_ai.emulator.faults import (
    BATCH_ITEM_ERROR,
    ERROR_FAULTS,
    GATEWAY_FAULTS,
    LATE_FAULTS,
    FaultConfigError,
    FaultSpec,
    batch_item_fails,
    check_runtime_setting,
    parse_batch_fail_header,
    parse_fault_header,
    retry_after_header,
)
from workers_ai.emulator.gateway_app import GatewayCall, GatewayHandlers
from workers_ai.emulator.media import BINARY_INPUT_FIELDS
from workers_ai.emulator.responses import (
    JSON_HEADER,
    Message,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    envelope,
    error_response,
    json_response,
    lifespan,
    read_body,
)
from workers_ai.emulator.routing import (
    AI_SEARCH_KINDS,
    VECTORIZE_KINDS,
    VECTORIZE_UPLOAD_KINDS,
    Route,
    match_route,
)
from workers_ai.emulator.shapes import render_search_item, sse_frame
from workers_ai.emulator.standins import count_tokens
from workers_ai.emulator.validation import EmulatorError

__all__ = [
    "LABEL",
    "EmulatorApp",
    "Message",
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "envelope",
    "error_response",
    "json_response",
]


LABEL = "workers-ai-python emulator: deterministic stand-in models, not real Workers AI"
_JSON = JSON_HEADER


def _bool_query(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[-1].lower() in ("1", "true", "yes")


#: The clock and the wait of request latency (module names, so a test can fake them for this
#: app alone without touching ``time`` or ``asyncio`` for everything else in the process).
_clock = time.monotonic
_wait = asyncio.sleep


class EmulatorApp:
    """ASGI callable. ``state`` holds config, stats, faults, caches and batch jobs."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.state = EmulatorState(config or EmulatorConfig())
        self.gateway = GatewayHandlers(self)
        self._rng = random.Random(self.state.config.seed)

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    # -- ASGI plumbing -------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await _read_request(scope, receive, self._body_limit(scope))
        if isinstance(request, Response):
            await _send_response(request, send)
            return
        started = time.perf_counter()
        response = await self.handle(request)
        await _send_response(response, send, self.config.stream_event_delay_ms / 1000.0)
        if not request.path.startswith("/__emulator/"):
            self.state.record_service_time(time.perf_counter() - started)

    def _body_limit(self, scope: Scope) -> int:
        """``max_body_bytes``; Vectorize uploads have their own limit (platform spec §2.9)."""
        route = match_route(scope["method"], scope["path"])
        if route is not None and route.kind in VECTORIZE_UPLOAD_KINDS:
            return vectorize.MAX_UPLOAD_BYTES
        return self.config.max_body_bytes

    async def handle(self, request: Request) -> Response:
        route = match_route(request.method, request.path)
        if route is None or route.kind == "unknown":
            return error_response(400, 7000, "No route for that URI")
        if route.kind == "root":
            return Response(
                200, (LABEL + "\n").encode(), headers=[(b"content-type", b"text/plain")]
            )
        if route.kind == "control":
            if not self.config.open_control:
                denied = self._check_token(request)
                if denied is not None:
                    return denied
            return self._control(route, request)
        if route.kind in ("gateway_logs", "gateway_log"):
            denied = self.gateway.authorize(route, request, None)
            return denied or self.gateway.logs_route(route, request)
        vectors = route.kind in VECTORIZE_KINDS  # bodies of vectors name no model
        model = route.model or (None if vectors else _body_model(request.body))
        self.state.request_started(route.template, model)
        name = _route_name(route)
        index = self.state.requests.start(
            method=request.method, path=request.path, query=request.query,
            route=route.template, route_name=name, model=model, headers=request.headers,
            body=request.body,
        )  # fmt: skip
        started = time.perf_counter()
        response = Response(500)
        try:
            with scripts.answering(self.state.scripts, name, model, _alias(route, model)):
                response = await self._handle_api(route, request, model)
        finally:
            status = "reset" if response.dropped else response.status
            self.state.request_finished(status, response.fault)
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.state.requests.finish(
                index, 0 if response.dropped else response.status, elapsed_ms
            )
        return response

    async def _handle_api(self, route: Route, request: Request, model: str | None) -> Response:
        """The answer, sent once the request's latency has passed since it arrived.

        The answer is worked out first and the rest of the latency waited out after, as a
        real service computes during its latency: a burst of requests then gets its answers
        at the configured latency instead of queueing all its work behind it (the emulator's
        own work shows only where it takes longer than the latency)."""
        deadline = _clock() + self._latency_seconds(request)
        response = await self._answer_api(route, request, model)
        remaining = deadline - _clock()
        if remaining > 0:
            await _wait(remaining)
        return response

    async def _answer_api(self, route: Route, request: Request, model: str | None) -> Response:
        call = self.gateway.call_for(route, request, model)
        response = await self._answer_checked(route, request, model, call)
        if call is not None:
            self.gateway.finish(call, route, request, response)
        return response

    async def _answer_checked(
        self, route: Route, request: Request, model: str | None, call: GatewayCall | None
    ) -> Response:
        denied = self.gateway.authorize(route, request, call)
        if denied is not None:
            return denied
        if call is not None:
            call.authorized = True
            if call.third_party and model is not None:
                rejected = self.gateway.preflight(call, route, request, model)
                if rejected is not None:
                    return rejected
        try:
            fault = self._pick_fault(route, request, model)
        except FaultConfigError as exc:
            return error_response(400, 5006, f"x-emulator-fault: {exc}")
        limited = self._rate_limit(route, model)
        if limited is not None:
            return limited
        if fault is not None and fault.kind not in LATE_FAULTS:
            return self._fault_answer(fault, call)
        if fault is None:
            scripted = self._scripted_failure(route, request, model, call)
            if isinstance(scripted, Response):
                return scripted
            fault = scripted
        response = await self._gateway_or_dispatch(route, request, model, call)
        return _apply_stream_fault(response, fault) if fault is not None else response

    def _scripted_failure(
        self, route: Route, request: Request, model: str | None, call: GatewayCall | None
    ) -> Response | FaultSpec | None:
        """A scripted error or fault for this request (:mod:`workers_ai.emulator.scripts`):
        its answer, or the late fault (a cut stream...) to apply to the real answer."""
        if not self.state.scripts.rules() or route.kind in _SERVICE_KINDS:
            return None  # scripted replies are for model calls
        try:
            body = jsonbody.loads(request.body) if request.body else None
        except ValueError:
            body = None
        return self.scripted_failure(_route_name(route), model, _alias(route, model), body, call)

    def scripted_failure(
        self,
        route_name: str,
        model: str | None,
        alias: str | None,
        body: Any,
        call: GatewayCall | None,
    ) -> Response | FaultSpec | None:
        """:meth:`_scripted_failure` for a parsed body (also each universal-endpoint entry)."""
        rule = scripts.failure_for(self.state.scripts, route_name, model, body, alias)
        if rule is None:
            return None
        failure = scripts.fault_of(rule.reply)
        if isinstance(failure, tuple):
            status, code, message = failure
            return error_response(status, code, message)
        if failure.kind in LATE_FAULTS:
            return failure
        return self._fault_answer(failure, call)

    def _fault_answer(self, fault: FaultSpec, call: GatewayCall | None) -> Response:
        """An injected fault's answer: Workers AI's envelope, or the gateway's body (§1.10)."""
        if fault.kind in GATEWAY_FAULTS or fault.kind == "provider_error":
            return self.gateway.fault_response(fault, call)
        return _fault_response(fault)

    # -- checks ------------------------------------------------------------------------------
    def _latency_seconds(self, request: Request) -> float:
        delay = self.config.latency_ms
        if self.config.jitter_ms:
            delay += self._rng.uniform(0, self.config.jitter_ms)
        delay += _float_header(request.headers.get("x-emulator-latency-ms")) or 0.0
        return max(delay, 0.0) / 1000.0

    def _check_token(self, request: Request) -> Response | None:
        """401 / code 10000 unless ``Authorization: Bearer <api_token>`` (API and control)."""
        if request.headers.get("authorization", "") != f"Bearer {self.config.api_token}":
            return error_response(401, 10000, "Authentication error")
        return None

    def _pick_fault(self, route: Route, request: Request, model: str | None) -> FaultSpec | None:
        header = request.headers.get("x-emulator-fault")
        if header:
            return parse_fault_header(header)
        batch = _batch_kind(route, request)
        return self.state.faults.pick(route.kind, model, _alias(route, model), batch=batch)

    def _rate_limit(self, route: Route, model: str | None) -> Response | None:
        setting = self.config.rate_limit_per_minute
        if setting is None:
            return None
        task = _task_for(route, model)
        if task in (_VECTORIZE_TASK, _AI_SEARCH_TASK) and not isinstance(setting, Mapping):
            return None  # Workers AI's limits are not these services'; a mapping may name them
        if isinstance(setting, str):  # "catalog": Workers AI's published limits
            info = facts.get(model) if model else None
            limit = info.rate_limit_per_minute if info is not None else None
        elif isinstance(setting, int):
            limit = setting
        else:
            limit = setting.get(task)
        if not limit:
            return None
        wait = self.state.rate_limiter.check(task, limit)
        if wait is None:
            return None
        code, message = 3021, "rate limiting: inference request per min rate reached"
        response = error_response(
            429, code, message, [(b"retry-after", retry_after_header(wait).encode())]
        )
        response.fault = "rate_limit"
        return response

    # -- gateway -----------------------------------------------------------------------------
    async def _gateway_or_dispatch(
        self, route: Route, request: Request, model: str | None, call: GatewayCall | None
    ) -> Response:
        if call is None:
            return await self._dispatch(route, request, model, call)
        headers = request.headers
        ttl = _int_header(headers.get("cf-aig-cache-ttl") or headers.get("cf-cache-ttl"))
        skip = (headers.get("cf-aig-skip-cache") or headers.get("cf-skip-cache")) == "true"
        # A custom cf-aig-cache-key replaces the default key (route, model, body).
        custom = headers.get("cf-aig-cache-key")
        parts = [route.template.encode(), (model or "").encode()]
        parts.append(b"key:" + custom.encode() if custom else request.body)
        key = hashlib.sha256(b"|".join(parts)).hexdigest()
        cached = None if skip or not ttl else self.state.cache_get(key)
        if cached is not None:
            response = Response(cached.status, cached.body, cached.frames, list(cached.headers))
            status = b"HIT"
        else:
            response = await self._dispatch(route, request, model, call)
            status = b"MISS"
            if ttl and not skip and response.status == 200:
                expires = time.monotonic() + ttl
                entry = CachedResponse(
                    200, list(response.headers), response.body, response.frames, expires
                )
                self.state.cache_put(key, entry)
        response.headers.append((b"cf-aig-cache-status", status))
        return response

    # -- handlers ----------------------------------------------------------------------------
    async def _dispatch(
        self, route: Route, request: Request, model: str | None, call: GatewayCall | None = None
    ) -> Response:
        try:
            if route.kind == "models_search":
                return _models_search(request.query)
            if route.kind == "models_schema":
                return json_response(_models_schema(request.query))
            if route.kind in markdown.ROUTE_KINDS:
                return markdown.answer(route.kind, request)
            if route.kind in AI_SEARCH_KINDS:
                return ai_search.answer(self.state.ai_search, route, request)
            if route.kind in VECTORIZE_KINDS:
                index = route.index or ""
                return vectorize.answer(
                    self.state.vectorize, route.kind, index, request, self.config
                )
            if route.kind == "universal":
                assert call is not None  # a gateway URL
                return self.gateway.universal(call, route, request)
            if call is not None and call.third_party:
                return self.gateway.answer(call, route, request)
            if route.kind == "openai":
                body = _strip_provider(_parse_body(request.body))
                return self._openai(route.openai_path or "", body, request)
            assert model is not None
            body = _parse_run_body(request, model)
            if _bool_query(request.query, "queueRequest") or _is_poll(body):
                return self._batch(model, body, request)
            return self._run(model, body, request)
        except EmulatorError as exc:
            return error_response(exc.status, exc.code, exc.message)

    def _run(self, model: str, body: dict[str, Any], request: Request | None = None) -> Response:
        """``/ai/run/{model}``: SSE for a streamed text-generation call, else JSON (or PNG).

        ``stream: true`` on any other model (embeddings, gpt-oss...) answers JSON.
        """
        info = facts.get(model)
        session = self._session(request, model, body)
        cached = None if session is None else self.state.prompt_cache.match(*session)
        streams = info is None or (info.task == TEXT_GENERATION and info.streaming)
        if body.get("stream") and streams:
            per_chunk = self._usage_per_chunk(request)
            events = tasks.stream_model(
                model, body, cached_tokens=cached, usage_per_chunk=per_chunk
            )
            response = Response(200, None, frames=[sse_frame(e) for e in events])
        else:
            inputs = {k: v for k, v in body.items() if k != "stream"}
            result = tasks.run_model(model, inputs, cached_tokens=cached)
            response = (
                _binary_response(result) if isinstance(result, bytes) else json_response(result)
            )
        if session is not None:
            self.state.prompt_cache.remember(*session)
        return response

    def _openai(self, path: str, body: dict[str, Any], request: Request) -> Response:
        model = body.get("model")
        session = self._session(request, model, body) if isinstance(model, str) else None
        cached = None if session is None else self.state.prompt_cache.match(*session)
        response = _openai(path, body, cached)
        if session is not None:
            self.state.prompt_cache.remember(*session)
        return response

    @staticmethod
    def _session(
        request: Request | None, model: str, body: dict[str, Any]
    ) -> tuple[str, list[int]] | None:
        """``(cache key, prompt token keys)`` for prefix caching, when the request names a
        session (``x-session-affinity``) and has a prompt. Caches are per model and session."""
        session = request.headers.get("x-session-affinity") if request is not None else None
        keys = tasks.prompt_keys(model, body) if session else None
        return None if session is None or keys is None else (f"{model}\x00{session}", keys)

    def _usage_per_chunk(self, request: Request | None) -> bool:
        mode = request.headers.get("x-emulator-usage", "") if request is not None else ""
        mode = mode.strip().lower()
        if mode in ("per-chunk", "final"):
            return mode == "per-chunk"
        if mode:
            raise EmulatorError(400, 5006, "x-emulator-usage: expected 'per-chunk' or 'final'")
        return self.config.usage_per_chunk

    def _batch(self, model: str, body: dict[str, Any], request: Request) -> Response:
        """Async batch (spec §10): queue ``{"requests": [...]}``, or poll ``{"request_id"}``."""
        if _is_poll(body):
            return self._poll(str(body["request_id"]))
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise EmulatorError(
                400, 5006, "AiError: Bad input: 'requests' must be a non-empty list"
            )
        info = facts.get(model)
        if info is None:
            raise EmulatorError(400, 5007, f"No such model {model} or task")
        if not info.async_queue:
            raise EmulatorError(400, 5006, f"AiError: Model {model} does not support async batch")
        try:
            chosen = parse_batch_fail_header(request.headers.get("x-emulator-batch-fail", ""))
        except FaultConfigError as exc:
            raise EmulatorError(400, 5006, str(exc)) from exc
        config = self.config
        rate, seed = config.batch_failure_rate, config.seed
        drawn = {
            i for i, item in enumerate(requests) if batch_item_fails(rate, seed, model, i, item)
        }
        job = BatchJob(
            model=model,
            items=requests,
            ready_at=_clock() + config.batch_delay_s,
            pending_polls=config.batch_pending_polls,
            failing=frozenset(config.batch_failed_items) | chosen | drawn,
            nested=config.batch_result_shape == "nested" and info.task == TEXT_GENERATION,
            shuffle=config.batch_shuffle,
        )
        request_id = str(uuid.uuid4())
        self.state.add_batch(request_id, job)
        return json_response({"status": "queued", "request_id": request_id, "model": model})

    def _poll(self, request_id: str) -> Response:
        """Pending until the job's polls and delay have passed, then its results."""
        polled = self.state.poll_batch(request_id)
        if polled is None:
            raise EmulatorError(404, 5006, f"AiError: Unknown request_id {request_id}")
        job, polls = polled
        if polls <= job.pending_polls or _clock() < job.ready_at:
            status = "queued" if polls == 1 else "running"
            return json_response({"status": status, "request_id": request_id})
        if job.result is None:  # deterministic: two polls racing here build the same answer
            job.result = _batch_results(job)
        return json_response(job.result)

    def _control(self, route: Route, request: Request) -> Response:
        action = route.control
        if action == "stats" and request.method == "GET":
            return json_response(self.state.stats(), wrap=False)
        if action == "reset" and request.method == "POST":
            self.state.reset()
            return json_response({"reset": True}, wrap=False)
        if action == "faults" and request.method in ("POST", "PUT"):
            try:
                payload = jsonbody.loads(request.body or b"{}")
                if not isinstance(payload, dict):
                    raise FaultConfigError("send a JSON object")
                self.apply_runtime_config(payload)
            except (ValueError, TypeError, FaultConfigError) as exc:
                return error_response(400, 5006, f"Bad emulator configuration: {exc}")
            return json_response({"ok": True}, wrap=False)
        if action == "faults" and request.method == "DELETE":
            self.state.faults.replace([])
            return json_response({"ok": True}, wrap=False)
        if action == "requests" and request.method == "GET":
            entries = [entry.to_json() for entry in self.state.requests.entries()]
            return json_response({"requests": entries}, wrap=False)
        if action == "requests" and request.method == "DELETE":
            self.state.requests.clear()
            return json_response({"ok": True}, wrap=False)
        if action == "scripts":
            return self._scripts_control(request)
        if action == "ai-search":
            return ai_search.control(self.state.ai_search, request)
        return error_response(400, 7000, "No route for that URI")

    def _scripts_control(self, request: Request) -> Response:
        """``/__emulator/scripts``: GET lists the rules, POST adds ``{"rules": [...],
        "strict": bool}`` (all checked first: a bad one adds nothing), DELETE clears them."""
        book = self.state.scripts
        if request.method == "GET":
            return json_response(book.describe(), wrap=False)
        if request.method == "DELETE":
            book.clear()
            return json_response({"ok": True}, wrap=False)
        if request.method not in ("POST", "PUT"):
            return error_response(400, 7000, "No route for that URI")
        try:
            payload = jsonbody.loads(request.body or b"{}")
            if not isinstance(payload, dict) or not set(payload) <= {"rules", "strict"}:
                raise scripts.ScriptError('send {"rules": [...], "strict": true|false}')
            raw = payload.get("rules", [])
            if not isinstance(raw, list):
                raise scripts.ScriptError("'rules' must be a list")
            rules = [scripts.Rule.from_mapping(item) for item in raw]
            strict = payload.get("strict")
            if strict is not None and not isinstance(strict, bool):
                raise scripts.ScriptError("'strict' must be true or false")
        except (ValueError, TypeError) as exc:
            return error_response(400, 5006, f"Bad script: {exc}")
        added = [book.add(rule).id for rule in rules]
        if strict is not None:
            book.strict = strict
        return json_response({"added": added, "strict": book.strict}, wrap=False)

    def apply_runtime_config(self, payload: dict[str, Any]) -> None:
        """Change latency, jitter, rate limits, usage mode, ``batch_*`` settings and faults.

        Everything is checked first: a bad payload raises and changes nothing.
        """
        settings = {k: v for k, v in payload.items() if k != "faults"}
        for name, value in settings.items():
            check_runtime_setting(name, value)
        faults = payload.get("faults")
        if faults is not None and not isinstance(faults, list):
            raise FaultConfigError("'faults' must be a list of fault rules")
        rules = None if faults is None else [FaultSpec.from_mapping(f) for f in faults]
        for name, value in settings.items():
            setattr(self.config, name, value)
        if rules is not None:
            self.state.faults.replace(rules)


# -- module-level helpers (pure) ------------------------------------------------------------
def _alias(route: Route, model: str | None) -> str | None:
    """A provider-native path names the model without its provider: its qualified name."""
    if route.surface == "native" and route.provider and model and "/" not in model:
        return f"{route.provider}/{model}"
    return None


def _route_name(route: Route) -> str:
    """The route's name for scripts and the request log (``run``, ``chat/completions``...)."""
    if route.kind in ("run", "openai", "universal"):
        return scripts.route_name(route.kind, route.openai_path)
    return route.kind


def _float_header(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _int_header(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _body_model(body: bytes) -> str | None:
    if b'"model"' not in body:
        return None
    try:
        value = jsonbody.loads(body).get("model")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


#: The rate-limit keys of Vectorize and AI Search requests (``rate_limit_per_minute=
#: {"vectorize": n, "ai_search": m}``; other settings leave them alone).
_VECTORIZE_TASK = "vectorize"
_AI_SEARCH_TASK = "ai_search"
#: Routes of services other than models: no scripted replies.
_SERVICE_KINDS = VECTORIZE_KINDS | AI_SEARCH_KINDS


def _task_for(route: Route, model: str | None) -> str:
    if route.kind in VECTORIZE_KINDS:
        return _VECTORIZE_TASK
    if route.kind in AI_SEARCH_KINDS:
        return _AI_SEARCH_TASK
    if route.kind in markdown.ROUTE_KINDS:
        return "toMarkdown"
    if route.openai_path == "embeddings":
        return TEXT_EMBEDDINGS
    if route.kind == "openai":
        return TEXT_GENERATION
    info = facts.get(model) if model else None
    return info.task if info is not None else TEXT_GENERATION


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise EmulatorError(400, 3003, "Request missing headers or body")
    try:
        body = jsonbody.loads(raw)
    except jsonbody.JSONDepthError as exc:
        raise EmulatorError(400, 5006, f"AiError: Bad input: body is {exc}") from exc
    except ValueError as exc:
        raise EmulatorError(400, 5006, "AiError: Bad input: body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise EmulatorError(400, 5006, "AiError: Bad input: body must be a JSON object")
    return body


def _parse_run_body(request: Request, model: str) -> dict[str, Any]:
    """The ``/ai/run`` body; for ASR and image models a non-JSON body is the file itself.

    Such a body (spec §1/§8: ``--data-binary @file.mp3``, any content type) becomes
    ``{"audio": <bytes>}`` or ``{"image": <bytes>}``; a JSON object body is read as JSON.
    """
    info = facts.get(model)
    field = BINARY_INPUT_FIELDS.get(info.task) if info is not None else None
    raw = request.body
    if field is None or not raw:
        return _parse_body(raw)
    declared_json = "json" in request.headers.get("content-type", "")
    if declared_json or raw.lstrip()[:1] == b"{":
        try:
            body = jsonbody.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        if declared_json:
            return _parse_body(raw)
    return {field: raw}


def _binary_response(data: bytes) -> Response:
    """Raw image bytes (Stable-Diffusion-style text-to-image answers a PNG, spec §1/§8)."""
    return Response(200, data, headers=[(b"content-type", b"image/png")])


def _strip_provider(body: dict[str, Any]) -> dict[str, Any]:
    """The gateway's compat route names models ``workers-ai/@cf/...`` (spec §11)."""
    model = body.get("model")
    if isinstance(model, str) and model.startswith("workers-ai/"):
        return {**body, "model": model[len("workers-ai/") :]}
    return body


def _is_poll(body: dict[str, Any]) -> bool:
    return set(body) == {"request_id"}


def _openai(path: str, body: dict[str, Any], cached: int | None = None) -> Response:
    if path == "chat/completions":
        if body.get("stream"):
            events = tasks.openai_chat(body, stream=True, cached_tokens=cached)
            assert isinstance(events, list)
            return Response(200, None, frames=[sse_frame(e) for e in events])
        completion = tasks.openai_chat(body, stream=False, cached_tokens=cached)
        return json_response(completion, wrap=False)
    if path == "embeddings":
        return json_response(tasks.openai_embeddings(body), wrap=False)
    return json_response(tasks.responses(body, cached_tokens=cached), wrap=False)


_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
#: Input fields whose text counts as prompt tokens for a task whose answer has no usage.
_TEXT_FIELDS = frozenset(
    {"text", "query", "contexts", "queries", "documents", "prompt", "messages", "input"}
)


def _batch_kind(route: Route, request: Request) -> str | None:
    """``batch_submit`` / ``batch_poll`` for an async batch request (fault rules' ``route``)."""
    if route.kind != "run":
        return None
    if b'"request_id"' in request.body:
        try:
            body = jsonbody.loads(request.body)
        except ValueError:
            body = None
        if isinstance(body, dict) and _is_poll(body):
            return "batch_poll"
    return "batch_submit" if _bool_query(request.query, "queueRequest") else None


def _batch_results(job: BatchJob) -> dict[str, Any]:
    """A finished job (spec §10): an entry per input (``id``: its index) and summed usage."""
    responses: list[dict[str, Any]] = []
    usage = dict.fromkeys(_USAGE_KEYS, 0)
    for index, item in enumerate(job.items):
        entry, item_usage = _batch_item(job, index, item)
        responses.append(entry)
        for key in _USAGE_KEYS:
            usage[key] += item_usage.get(key, 0)
    if job.shuffle:  # "responses may be out of order": reversed keeps clients honest
        responses.reverse()
    return {"responses": responses, "usage": usage}


def _batch_item(job: BatchJob, index: int, item: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """One input's entry and its usage (none for a failed input)."""
    entry: dict[str, Any] = {"id": index}
    if isinstance(item, dict) and "external_reference" in item:
        entry["external_reference"] = item["external_reference"]
    if index in job.failing:
        code, message = BATCH_ITEM_ERROR
        entry.update(success=False, errors=[{"code": code, "message": message}])
        return entry, {}
    try:
        if not isinstance(item, dict):
            raise EmulatorError(400, 5006, "AiError: Bad input: each request must be an object")
        skip = ("external_reference", "stream")
        inputs = {k: v for k, v in item.items() if k not in skip}
        result = tasks.run_model(job.model, inputs)
    except (EmulatorError, TypeError, ValueError) as exc:
        code = exc.code if isinstance(exc, EmulatorError) else 5006
        message = exc.message if isinstance(exc, EmulatorError) else str(exc)
        entry.update(success=False, errors=[{"code": code, "message": message}])
        return entry, {}
    usage = result.get("usage") if isinstance(result, dict) else None
    if not isinstance(usage, dict):
        tokens = _input_tokens(inputs)
        usage = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}
    entry.update(success=True, result={"result": result} if job.nested else result)
    return entry, {key: int(usage.get(key) or 0) for key in _USAGE_KEYS}


def _input_tokens(value: Any, text: bool = False) -> int:
    """Tokens of the text in an input's text fields (``text``, ``query``, ``contexts``...)."""
    if isinstance(value, str):
        return count_tokens(value) if text else 0
    if isinstance(value, dict):
        return sum(_input_tokens(v, text or k in _TEXT_FIELDS) for k, v in value.items())
    if isinstance(value, list):
        return sum(_input_tokens(v, text) for v in value)
    return 0


def _models_search(query: dict[str, list[str]]) -> Response:
    """``GET /ai/models/search`` with the documented filters and ``result_info`` paging."""

    def q(name: str) -> str | None:
        return query.get(name, [None])[-1]

    infos = facts.models()
    task, author, search = q("task"), q("author"), q("search")
    if task:
        infos = [i for i in infos if i.task.lower() == task.lower()]
    if author:
        infos = [i for i in infos if i.id.split("/")[1:2] == [author]]
    if search:
        infos = [i for i in infos if search.lower() in f"{i.id} {i.description}".lower()]
    if (q("hide_experimental") or "").lower() == "true":
        infos = [i for i in infos if not i.beta]
    try:
        page = max(1, int(q("page") or 1))
        per_page = min(1000, max(1, int(q("per_page") or 100)))
    except ValueError as exc:
        raise EmulatorError(400, 5006, "page and per_page must be whole numbers") from exc
    items = infos[(page - 1) * per_page : page * per_page]
    info = {"count": len(items), "page": page, "per_page": per_page, "total_count": len(infos)}
    body = {
        "result": [render_search_item(i) for i in items],
        "result_info": info,
        "success": True,
        "errors": [],
        "messages": [],
    }
    return Response(200, json.dumps(body).encode(), headers=[_JSON])


def _models_schema(query: dict[str, list[str]]) -> dict[str, Any]:
    model = query.get("model", [""])[-1]
    if not model:
        raise EmulatorError(
            400, 5006, "AiError: Bad input: the 'model' query parameter is required"
        )
    if facts.get(model) is None:
        raise EmulatorError(400, 5007, f"No such model {model} or task")
    return tasks.model_schema(model)


def _fault_response(fault: FaultSpec) -> Response:
    if fault.kind == "reset":
        return Response(abort=True, fault="reset")
    if fault.kind == "bad_gateway":
        html = b"<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
        return Response(
            fault.status or 502, html, headers=[(b"content-type", b"text/html")], fault=fault.kind
        )
    status, code, message = ERROR_FAULTS[fault.kind]
    extra = [(b"retry-after", b"1")] if status == 429 and fault.kind != "quota" else []
    response = error_response(fault.status or status, code, message, extra)
    response.fault = fault.kind
    return response


def _apply_stream_fault(response: Response, fault: FaultSpec) -> Response:
    """Apply a fault of :data:`LATE_FAULTS` to the real answer."""
    response.fault = fault.kind
    if fault.kind == "slow_first_byte":
        response.first_byte_delay = fault.after / 1000.0
        return response
    if response.frames is None:
        if fault.kind == "reset_mid_body" and response.body:
            response.cut_body_at = _cut_point(len(response.body), fault.after)
        elif fault.kind == "malformed_json" and response.status == 200:
            response.body = (response.body or b"{}")[: max(1, len(response.body or b"") // 2)]
        return response
    frames = response.frames
    if fault.kind == "stream_cut":
        response.frames = frames[: fault.after]
        response.headers.append((b"x-emulator-no-done", b"1"))
    elif fault.kind == "stream_error":
        error = {"errors": [{"code": 3040, "message": "Capacity temporarily exceeded"}]}
        response.frames = [*frames[: fault.after], sse_frame(error)]
        response.headers.append((b"x-emulator-no-done", b"1"))
    elif fault.kind == "malformed_json":
        response.frames = [
            *frames[: fault.after],
            b'data: {"response": "broken\n\n',
            *frames[fault.after :],
        ]
    return response


def _cut_point(size: int, after: int) -> int:
    """Body bytes sent before ``reset_mid_body`` drops: ``after``, or half if 0; never all."""
    return max(0, min(after or size // 2, size - 1))


async def _read_request(scope: Scope, receive: Receive, limit: int) -> Request | Response:
    body = await read_body(receive, limit)
    if body is None:
        return error_response(413, 3006, "Request is too large")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return Request(scope["method"], scope["path"], query, headers, body)


def _base_headers(response: Response) -> list[tuple[bytes, bytes]]:
    ray = uuid.uuid4().hex[:16].encode() + b"-EMU"
    return [(b"cf-ray", ray), (b"x-emulator", b"stand-in models, not real Workers AI")]


async def _send_response(response: Response, send: Send, event_delay: float = 0.0) -> None:
    if response.first_byte_delay:
        await asyncio.sleep(response.first_byte_delay)
    if response.abort:
        _abort_connection(send)
        return
    headers = _base_headers(response) + response.headers
    if response.frames is None:
        body = response.body or b""
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.cut_body_at is not None:
            part = body[: response.cut_body_at]
            await send({"type": "http.response.body", "body": part, "more_body": True})
            _abort_connection(send)
            return
        await send({"type": "http.response.body", "body": body})
        return
    no_done = any(k == b"x-emulator-no-done" for k, _ in headers)
    headers = [h for h in headers if h[0] != b"x-emulator-no-done"]
    headers += [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    for frame in response.frames:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
        if event_delay:
            await asyncio.sleep(event_delay)
    await send({"type": "http.response.body", "body": b"" if no_done else b"data: [DONE]\n\n"})


def _abort_connection(send: Send) -> None:
    """Drop the TCP connection without a response (uvicorn exposes the transport on ``send``).

    The cycle is marked disconnected too, so uvicorn does not log "returned without starting
    response" for a drop that was the point.
    """
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("emulator fault: reset")
    transport.abort()
    if hasattr(cycle, "disconnected"):
        setattr(cycle, "disconnected", True)  # noqa: B010 - uvicorn's private cycle attribute
