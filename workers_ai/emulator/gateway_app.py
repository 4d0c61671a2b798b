"""AI Gateway on the emulator's app: third-party models, credentials, dynamic routes, the Auto
Router, the universal endpoint, response headers and logs (spec §1 of
``/work/shared/cloudflare-ai-platform-api.md``).

:class:`GatewayHandlers` is the app's gateway half: the app asks it whether a request goes
through a gateway (:meth:`~GatewayHandlers.call_for`), who may send it
(:meth:`~GatewayHandlers.authorize`), what a third-party model name stands for and who pays
(:meth:`~GatewayHandlers.preflight`), for the answer (:meth:`~GatewayHandlers.answer`,
:meth:`~GatewayHandlers.universal`) and, last, to add the gateway's headers and log the request
(:meth:`~GatewayHandlers.finish`). The decisions themselves are pure functions of
:mod:`workers_ai.emulator.gateway`; the answers come from :mod:`workers_ai.emulator.thirdparty`.

Every API goes through that one pipeline: OpenAI's chat completions, embeddings and Responses
API, and Anthropic's Messages API (``/ai/v1/messages``, ``{gateway}/anthropic/v1/messages``),
so credentials, billing, faults, the cache, headers and logs work the same on each. Provider
errors come in the API's provider format (OpenAI's, or Anthropic's on the Messages API), and an
injected ``stream_error`` ends a Messages or Responses stream with that API's ``error`` event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from workers_ai.emulator import anthropic, jsonbody, providers, scripts, thirdparty
from workers_ai.emulator import gateway as gw
from workers_ai.emulator.anthropic import AnthropicError
from workers_ai.emulator.faults import GATEWAY_FAULTS, LATE_FAULTS, PROVIDER_FAULT_BODY, FaultSpec
from workers_ai.emulator.gateway import GatewayError, ProviderError, Resolved
from workers_ai.emulator.providers import Surface, ThirdPartyModel
from workers_ai.emulator.responses import (
    JSON_HEADER,
    Request,
    Response,
    error_response,
    json_response,
)
from workers_ai.emulator.routing import NATIVE_PATHS, Route
from workers_ai.emulator.shapes import sse_frame
from workers_ai.emulator.validation import EmulatorError

if TYPE_CHECKING:
    from workers_ai.emulator.app import EmulatorApp

__all__ = ["GatewayCall", "GatewayHandlers"]

_PROVIDER_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
_COMPAT_ENDPOINTS = ("chat/completions", "chat/completion", "v1/chat/completions")
_OPENAI_ENDPOINTS = {
    "chat/completions": "chat/completions",
    "v1/chat/completions": "chat/completions",
    "embeddings": "embeddings",
    "v1/embeddings": "embeddings",
}
_MAX_GATEWAY_ID = 64  # spec §1.12: gateway id 1-64 characters
_RETRIED = frozenset({408, 429})
#: APIs whose streams name their events (``event: <type>``) and end without ``[DONE]`` (§1.5).
_NAMED_STREAMS = frozenset({"messages", "responses"})
_STREAM_FAULT_MESSAGE = "Overloaded (emulator fault: stream_error)"
#: The APIs a routing alias is served on (spec §1.9): dynamic routes on chat completions, the
#: Auto Router on chat completions and the Responses API.
_ALIAS_APIS = {"dynamic": ("chat/completions",), "auto": ("chat/completions", "responses")}


@dataclass
class GatewayCall:
    """One request through AI Gateway, as the app works it out.

    Attributes:
        gateway: The gateway id (``default`` for a REST third-party request without
            ``cf-aig-gateway-id``).
        url: The request came by ``gateway.ai.cloudflare.com`` (else ``api.cloudflare.com``).
        counter: The request's number (log and routing decision ids derive from it).
        log_id: The ``cf-aig-log-id``.
        third_party: The model is a third-party name (or ``dynamic/...``, ``cloudflare/auto``).
        authorized: The request passed the credential checks (only those are logged).
        resolved: What the model name stands for.
        name: The model that answered (the answer's ``model`` field).
        provider: The provider slug that answered.
        row: The third-party model that answers.
        headers: Gateway headers to add to the answer (routing, billing).
        step: The universal entry that answered.
        api: The route's API (``chat/completions``, ``responses``, ``messages``...): it picks
            the provider's error format and stream framing.
    """

    gateway: str
    url: bool
    counter: int
    log_id: str
    third_party: bool = False
    authorized: bool = False
    resolved: Resolved | None = None
    name: str | None = None
    provider: str | None = None
    row: ThirdPartyModel | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    step: int | None = None
    api: str = ""


def _is_third_party(route: Route, model: str | None) -> bool:
    if route.surface == "native" or route.openai_path == "messages":
        return True  # provider APIs; Workers AI has no Messages API
    if route.surface is None or not isinstance(model, str):
        return False
    if route.surface == "compat":
        return not model.startswith(("workers-ai/@cf/", "workers-ai/@hf/"))
    return not gw.is_workers_ai_model(model)


def _provider_key(headers: Mapping[str, str]) -> bool:
    """The request carries a provider key (``Authorization`` is the provider's on the
    gateway's own host, spec §1.2; provider-native ``x-api-key``, ``x-goog-api-key``)."""
    for name in _PROVIDER_KEY_HEADERS:
        value = headers.get(name, "").strip()
        if value.lower().startswith("bearer"):
            value = value[len("bearer") :].strip()
        if value:
            return True
    return False


def _event_usage(event: Any) -> dict[str, Any] | None:
    """The ``usage`` of an answer or event: its own, its ``result``'s (Workers AI), its
    ``message``'s (Anthropic's ``message_start``) or its ``response``'s (Responses events)."""
    if not isinstance(event, dict):
        return None
    for holder in (event, event.get("result"), event.get("message"), event.get("response")):
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if isinstance(usage, dict):
            return usage
    return None


def _log_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Usage with the names the logs read (``prompt_tokens``, ``completion_tokens``): the
    Responses API's ``input_tokens``/``output_tokens``, and Anthropic's whose prompt is
    ``input_tokens`` plus the cache reads and writes."""
    if "prompt_tokens" in usage or "input_tokens" not in usage:
        return usage
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    prompt = sum(int(usage.get(key) or 0) for key in keys)
    return {**usage, "prompt_tokens": prompt, "completion_tokens": usage.get("output_tokens")}


def _usage_of(response: Response) -> Mapping[str, Any] | None:
    """``usage`` of a JSON answer, or of a stream: its events' usages merged in order (the
    last event with one wins a field; Anthropic's output tokens come after the prompt's)."""
    if response.frames is None:
        try:
            usage = _event_usage(jsonbody.loads(response.body or b"null"))
        except ValueError:
            return None
        return _log_usage(usage) if usage is not None else None
    merged: dict[str, Any] = {}
    for frame in response.frames:
        if b'"usage"' not in frame:
            continue
        try:
            usage = _event_usage(jsonbody.loads(frame[frame.find(b"data: ") + len(b"data: ") :]))
        except ValueError:
            continue
        merged.update(usage or {})
    return _log_usage(merged) if merged else None


def _provider_response(exc: ProviderError, api: str = "") -> Response:
    """A provider's error in the API's format: Anthropic's on the Messages API, else OpenAI's."""
    error = AnthropicError.from_provider(exc) if api == "messages" else exc
    body = json.dumps(error.body()).encode()
    return Response(error.status, body, headers=[JSON_HEADER], fault=None)


def _anthropic_version_missing(headers: Mapping[str, str]) -> Response | None:
    """Anthropic's own API (its provider-native path) needs ``anthropic-version`` (Cloudflare's
    Anthropic examples send ``2023-06-01``); without it, its 400 in its format."""
    if headers.get("anthropic-version"):
        return None
    error = ProviderError(400, "anthropic-version: header is required", param="anthropic-version")
    return _provider_response(error, "messages")


def _answer_to_response(
    result: dict[str, Any] | list[dict[str, Any]], *, named: bool = False
) -> Response:
    """A JSON answer, or a stream: ``data:`` frames ending in ``[DONE]``, or with ``named``
    frames ``event: <type>`` and no ``[DONE]`` (Anthropic's and the Responses API's, §1.5)."""
    if not isinstance(result, list):
        return json_response(result, wrap=False)
    if not named:
        return Response(200, None, frames=[sse_frame(event) for event in result])
    frames = [sse_frame(event, name=event["type"]) for event in result]
    return Response(200, None, frames=frames, headers=[(b"x-emulator-no-done", b"1")])


def _reframe_stream_error(call: GatewayCall, response: Response) -> None:
    """End a Messages or Responses stream cut by the ``stream_error`` fault with the API's own
    ``error`` event instead of Workers AI's ``{"errors": [...]}`` frame (the fault's last)."""
    if response.fault != "stream_error" or response.frames is None:
        return
    if not call.third_party or call.api not in _NAMED_STREAMS:
        return
    kept = response.frames[:-1]
    if call.api == "messages":
        event = anthropic.stream_error_event(_STREAM_FAULT_MESSAGE)
    else:
        event = thirdparty.responses_error_event(len(kept), _STREAM_FAULT_MESSAGE)
    response.frames = [*kept, sse_frame(event, name=event["type"])]


def _native_row(provider: str, model: str) -> ThirdPartyModel:
    """The model a provider-native request names (``claude-sonnet-4-5`` on ``anthropic/...``).

    Raises:
        ProviderError: 404 for an unknown model of a provider the emulator lists models of.
    """
    row = providers.by_compat_id(f"{provider}/{model}")
    if row is None and provider in providers.COMPAT_CHECKED_PROVIDERS:
        raise ProviderError(
            404,
            f"The model '{model}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return row or providers.generic_compat_model(f"{provider}/{model}")


class GatewayHandlers:
    """The gateway half of :class:`~workers_ai.emulator.app.EmulatorApp`."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    @property
    def _config(self) -> Any:
        return self.app.config

    # -- errors ------------------------------------------------------------------------------
    def error(self, exc: GatewayError, call: GatewayCall | None) -> Response:
        """A gateway error in the gateway's body, or the v4 envelope on REST when configured."""
        v4 = call is not None and not call.url and self._config.rest_gateway_errors == "v4"
        body = exc.v4_body() if v4 else exc.body()
        return Response(exc.status, json.dumps(body).encode(), headers=[JSON_HEADER])

    def fault_response(self, fault: FaultSpec, call: GatewayCall | None) -> Response:
        """The answer of a gateway or provider fault kind (spec §1.10)."""
        if fault.kind == "provider_error":
            error: dict[str, Any] = PROVIDER_FAULT_BODY
            if call is not None and call.api == "messages":
                message = str(PROVIDER_FAULT_BODY["error"]["message"])
                error = AnthropicError(fault.status or 400, message).body()
            body = json.dumps(error).encode()
            response = Response(fault.status or 400, body, headers=[JSON_HEADER])
        else:
            status, code, message = GATEWAY_FAULTS[fault.kind]
            response = self.error(GatewayError(fault.status or status, code, message), call)
            if response.status == 429:
                response.headers.append((b"retry-after", b"1"))
        response.fault = fault.kind
        return response

    # -- which requests, and who may send them -----------------------------------------------
    def call_for(self, route: Route, request: Request, model: str | None) -> GatewayCall | None:
        """The gateway call of a request, or ``None`` when it does not go through a gateway."""
        if route.kind not in ("run", "openai", "universal"):
            return None
        third_party = _is_third_party(route, model)
        gateway = route.gateway or request.headers.get("cf-aig-gateway-id")
        if not gateway and not third_party:
            return None
        counter = self.app.state.next_gateway_request()
        return GatewayCall(
            gateway=gateway or "default",
            url=route.gateway is not None,
            counter=counter,
            log_id=gw.log_id(counter, self._config.seed),
            third_party=third_party,
            api=route.openai_path or "",
        )

    def gateway_auth(
        self, gateway: str | None, headers: Mapping[str, str], *, url: bool
    ) -> Response | None:
        """401 / 2009 unless the gateway's ``cf-aig-authorization`` is right (spec §1.2).

        ``gateway_token`` (all gateways, both hosts) keeps its meaning; a gateway of
        ``authenticated_gateways`` needs the header on gateway.ai.cloudflare.com only.
        """
        sent = headers.get("cf-aig-authorization")
        legacy = self._config.gateway_token
        needed = None
        if gateway and legacy:
            needed = legacy
        elif url and gateway in self._config.authenticated_gateways:
            needed = legacy or self._config.api_token
        if needed is not None and sent != f"Bearer {needed}":
            return self.error(GatewayError(401, 2009, "Unauthorized"), None)
        return None

    def authorize(
        self, route: Route, request: Request, call: GatewayCall | None
    ) -> Response | None:
        """The credential checks of an API request (``None``: allowed)."""
        url = route.gateway is not None
        # On the gateway's own host, Authorization holds the provider's key (spec §1.2);
        # universal steps carry their own headers and are checked one by one.
        cf_token_needed = not (url and call is not None and call.third_party)
        if cf_token_needed and route.kind != "universal":
            denied = self.app._check_token(request)
            if denied is not None:
                return denied
        if route.account != self._config.account_id:
            uri = f"/client/v4/accounts/{route.account}/ai"
            return error_response(
                404, 7003, f"Could not route to {uri}, perhaps your object identifier is invalid?"
            )
        if route.gateway is not None and len(route.gateway) > _MAX_GATEWAY_ID:
            return self.error(GatewayError(400, 2001, "Gateway does not exist"), call)
        if route.kind == "universal":
            return None
        explicit = route.gateway or request.headers.get("cf-aig-gateway-id")
        return self.gateway_auth(explicit, request.headers, url=url)

    # -- model names and billing ---------------------------------------------------------------
    def preflight(
        self, call: GatewayCall, route: Route, request: Request, model: str
    ) -> Response | None:
        """Resolve a third-party model name and its credentials (``None``: go ahead)."""
        try:
            self._resolve(call, route, request.headers, model)
        except GatewayError as exc:
            return self.error(exc, call)
        except ProviderError as exc:
            return _provider_response(exc, call.api)
        return None

    def _resolve(
        self, call: GatewayCall, route: Route, headers: Mapping[str, str], model: str
    ) -> None:
        if route.surface == "native":
            row = _native_row(route.provider or "", model)
            call.resolved = Resolved("third_party", model, model=row)
            self._bill(call, row, model, headers)
            return
        surface: Surface = "compat" if route.surface == "compat" else "rest"
        resolved = gw.resolve_model(model, surface)
        call.resolved = resolved
        if resolved.kind == "workers_ai":  # only the Messages API gets here (_is_third_party)
            raise ProviderError(
                400,
                f"model: {model} is a Workers AI model; the emulator serves /v1/messages for "
                "third-party chat models (e.g. anthropic/claude-sonnet-4-5). Send Workers AI "
                "models to /ai/v1/chat/completions or /ai/run.",
            )
        served = _ALIAS_APIS.get(resolved.kind)
        if served is not None and route.openai_path not in served:
            where = " and ".join(served)
            raise GatewayError(400, 7000, f"No route for that URI: {model} is for {where}")
        if resolved.kind == "dynamic":
            self._dynamic_entries(resolved)
            return
        if resolved.kind == "auto":
            row, reason = gw.auto_route(
                surface,
                gw.parse_name_list(headers.get("cf-aig-allowed-models")),
                gw.parse_name_list(headers.get("cf-aig-allowed-providers")),
            )
            name = row.name_on(surface)
            decision = gw.decision_id(call.counter, self._config.seed)
            call.headers += [
                (b"cf-aig-routed-model", name.encode()),
                (b"cf-aig-routing-reason", reason.encode()),
                (b"cf-aig-routing-decision-id", decision.encode()),
            ]
            self._bill(call, row, name, headers)
            return
        assert resolved.model is not None
        self._bill(call, resolved.model, resolved.name, headers)

    def _dynamic_entries(self, resolved: Resolved) -> list[str]:
        routes = self._config.dynamic_routes
        entries = routes.get(resolved.route or "")
        if entries is None:
            known = ", ".join(sorted(routes)) or "none"
            raise GatewayError(
                404,
                7003,
                f"Model not found: {resolved.name} (no dynamic route named "
                f"{resolved.route!r}; configured routes: {known})",
            )
        return list(entries)

    def _bill(
        self, call: GatewayCall, row: ThirdPartyModel, name: str, headers: Mapping[str, str]
    ) -> None:
        billing, alias = gw.billing_for(
            row,
            headers,
            provider_key=call.url and _provider_key(headers),
            byok_aliases=self._config.byok_aliases,
        )
        call.name, call.provider, call.row = name, row.provider, row
        label = f"byok:{alias}" if alias else billing
        call.headers.append((b"x-emulator-billing", label.encode()))

    # -- answers -----------------------------------------------------------------------------
    def answer(self, call: GatewayCall, route: Route, request: Request) -> Response:
        """The answer of a resolved third-party, dynamic or Auto Router request."""
        try:
            body = jsonbody.loads(request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _provider_response(
                ProviderError(400, "We could not parse the JSON body of your request."), call.api
            )
        resolved = call.resolved
        if resolved is None:  # a provider API's body without a model (no preflight)
            return _provider_response(
                ProviderError(400, "model: Field required (a model name)", param="model"), call.api
            )
        if resolved.kind == "dynamic":
            return self._dynamic(call, route, request, body)
        assert call.row is not None
        if route.surface == "native" and call.api == "messages":
            missing = _anthropic_version_missing(request.headers)
            if missing is not None:
                return missing
        surface: anthropic.Surface = "native" if route.surface == "native" else "rest"
        name = call.name or resolved.name
        return self._answer_row(call.row, name, call.api, body, surface=surface)

    def _answer_row(
        self,
        row: ThirdPartyModel,
        name: str,
        api: str,
        body: dict[str, Any],
        *,
        surface: anthropic.Surface = "rest",
    ) -> Response:
        """The answer of ``row`` to ``body`` on ``api`` (errors in the API's format)."""
        try:
            if api == "embeddings":
                return json_response(thirdparty.embeddings(row, name, body), wrap=False)
            if api == "responses":
                answer = thirdparty.responses(row, name, body, stream=body.get("stream") is True)
                return _answer_to_response(answer, named=True)
            if api == "messages":
                return self._messages(row, name, body, surface)
            return _answer_to_response(
                thirdparty.chat(row, name, body, stream=bool(body.get("stream")))
            )
        except ProviderError as exc:
            return _provider_response(exc, api)

    def _messages(
        self, row: ThirdPartyModel, name: str, body: dict[str, Any], surface: anthropic.Surface
    ) -> Response:
        """A Messages answer, with the prompt-cache counts of its ``cache_control`` prefix: a
        prefix is written by its first request and read by the next ones (per model, until
        the emulator's ``reset()``; see :mod:`workers_ai.emulator.anthropic`)."""
        prefix = anthropic.cache_prefix(body)
        if prefix is None:
            return _answer_to_response(
                thirdparty.messages(row, name, body, surface=surface), named=True
            )
        key = f"cache_control\x00{row.name_on('compat')}\x00{prefix.digest}"
        cache = self.app.state.prompt_cache
        prefix = replace(prefix, hit=cache.match(key, [0]) > 0)
        answer = thirdparty.messages(row, name, body, surface=surface, cache=prefix)
        cache.remember(key, [0])
        return _answer_to_response(answer, named=True)

    def _workers_ai_chat(self, model: str, body: dict[str, Any], request: Request) -> Response:
        try:
            return self.app._openai("chat/completions", {**body, "model": model}, request)
        except EmulatorError as exc:
            return error_response(exc.status, exc.code, exc.message)

    def _step_fault(
        self, route_kind: str, model: str, call: GatewayCall, alias: str | None = None
    ) -> Response | None:
        fault = self.app.state.faults.pick(route_kind, model, alias)
        if fault is None or fault.kind in LATE_FAULTS:
            return None
        return self.app._fault_answer(fault, call)

    def _dynamic(
        self, call: GatewayCall, route: Route, request: Request, body: dict[str, Any]
    ) -> Response:
        """Try the route's models in order; the first that answers wins (spec §1.9)."""
        assert call.resolved is not None
        last: Response | None = None
        for entry in self._dynamic_entries(call.resolved):
            response = self._step_fault(route.kind, entry, call) or self._dynamic_step(
                call, request, body, entry
            )
            if response.status == 200:
                provider = "workers-ai" if gw.is_workers_ai_model(entry) else call.provider
                call.name, call.provider = entry, provider
                response.headers += [
                    (b"cf-aig-model", entry.encode()),
                    (b"cf-aig-provider", (provider or "").encode()),
                ]
                return response
            last = response
        assert last is not None
        return last

    def _dynamic_step(
        self, call: GatewayCall, request: Request, body: dict[str, Any], entry: str
    ) -> Response:
        if gw.is_workers_ai_model(entry):
            return self._workers_ai_chat(entry.removeprefix("workers-ai/"), body, request)
        row = providers.by_rest_id(entry) or providers.by_compat_id(entry)
        assert row is not None  # the config checked every entry
        try:
            self._bill(call, row, entry, request.headers)
        except GatewayError as exc:
            return self.error(exc, call)
        return self._answer_row(row, entry, "chat/completions", body)

    # -- universal endpoint (§1.8) -------------------------------------------------------------
    def universal(self, call: GatewayCall | None, route: Route, request: Request) -> Response:
        """Entries in order; each retried ``config.maxAttempts`` times before the next one;
        the answer is the winning entry's raw response with ``cf-aig-step``."""
        try:
            steps = jsonbody.loads(request.body or b"null")
        except ValueError:
            steps = None
        if isinstance(steps, dict):
            steps = [steps]
        if not isinstance(steps, list) or not steps:
            raise EmulatorError(400, 5006, "The universal endpoint takes a JSON array of steps")
        for index, step in enumerate(steps):
            _check_step(index, step)
        last: Response | None = None
        for index, step in enumerate(steps):
            headers = {**request.headers, **_lower(step.get("headers") or {})}
            attempts = int((step.get("config") or {}).get("maxAttempts") or 1)
            for _ in range(attempts):
                last = self._universal_step(call, route, request, step, headers)
                if last.status == 200:
                    last.headers.append((b"cf-aig-step", str(index).encode()))
                    if call is not None:
                        call.step = index
                    return last
                if last.status not in _RETRIED and last.status < 500:
                    break
        assert last is not None
        return last

    def _universal_step(
        self,
        call: GatewayCall | None,
        route: Route,
        request: Request,
        step: dict[str, Any],
        headers: dict[str, str],
    ) -> Response:
        provider, endpoint = step["provider"], step["endpoint"].strip("/")
        query = dict(step.get("query") or {})
        by_path = provider == "workers-ai" and not endpoint.startswith("v1/")  # @cf/... path
        model = endpoint.removeprefix("run/") if by_path else query.get("model")
        native = provider not in ("workers-ai", "compat") and "/" not in str(model)
        alias = f"{provider}/{model}" if native else None  # a provider-native entry's model
        fault = self._step_fault(route.kind, str(model), call, alias) if call is not None else None
        if fault is not None:
            return fault
        denied = self.gateway_auth(route.gateway, headers, url=True)
        if denied is not None:
            return denied
        step_route = "universal+" + _step_route_name(endpoint, by_path)
        scripted = self.app.scripted_failure(step_route, str(model), alias, query, call)
        if isinstance(scripted, Response):
            return scripted
        step_request = Request(request.method, request.path, request.query, headers, b"")
        try:
            with scripts.answering(self.app.state.scripts, step_route, str(model), alias):
                if provider == "workers-ai":
                    return self._universal_workers_ai(call, endpoint, query, step_request)
                return self._universal_provider(call, provider, endpoint, query, step_request)
        except GatewayError as exc:
            return self.error(exc, call)
        except ProviderError as exc:
            return _provider_response(exc, NATIVE_PATHS.get((provider, endpoint), ""))
        except EmulatorError as exc:
            return error_response(exc.status, exc.code, exc.message)

    def _universal_workers_ai(
        self, call: GatewayCall | None, endpoint: str, query: dict[str, Any], request: Request
    ) -> Response:
        denied = self.app._check_token(request)
        if denied is not None:
            return denied
        if call is not None:
            call.provider = "workers-ai"
        path = _OPENAI_ENDPOINTS.get(endpoint)
        if path is not None:
            if call is not None:
                call.name = str(query.get("model") or "")
            return self.app._openai(path, query, request)
        model = endpoint.removeprefix("run/")
        if call is not None:
            call.name = model
        return self.app._run(model, query, request)

    def _universal_provider(
        self,
        call: GatewayCall | None,
        provider: str,
        endpoint: str,
        query: dict[str, Any],
        request: Request,
    ) -> Response:
        model = query.get("model")
        if not isinstance(model, str) or not model:
            raise ProviderError(400, "Missing required parameter: 'model'.", param="model")
        if provider == "compat":
            if endpoint not in _COMPAT_ENDPOINTS:
                raise GatewayError(400, 7000, f"No route for that URI: compat/{endpoint}")
            compat = Route(
                "openai", "", openai_path="chat/completions", gateway="", surface="compat"
            )
            own = call or GatewayCall(gateway="", url=True, counter=0, log_id="")
            if not _is_third_party(compat, model):
                return self._workers_ai_chat(model.removeprefix("workers-ai/"), query, request)
            self._resolve(own, compat, request.headers, model)
            body = json.dumps(query).encode()
            return self.answer(own, compat, Request("POST", "", {}, request.headers, body))
        if not providers.is_gateway_provider(provider):
            raise GatewayError(400, 2008, f"Invalid provider: {provider!r}")
        path = _OPENAI_ENDPOINTS.get(endpoint) or NATIVE_PATHS.get((provider, endpoint))
        if path is None:
            raise GatewayError(
                400,
                7000,
                f"No route for that URI: the emulator serves {provider}/chat/completions,"
                " /embeddings, openai/responses and anthropic/v1/messages only",
            )
        row = _native_row(provider, model)
        own = call or GatewayCall(gateway="", url=True, counter=0, log_id="")
        if path == "messages":
            missing = _anthropic_version_missing(request.headers)
            if missing is not None:
                return missing
        self._bill(own, row, model, request.headers)
        return self._answer_row(row, model, path, query, surface="native")

    # -- headers and logs ----------------------------------------------------------------------
    def finish(self, call: GatewayCall, route: Route, request: Request, response: Response) -> None:
        """Add the gateway's response headers (spec §1.7) and log the request (§1.12)."""
        _reframe_stream_error(call, response)
        event_id = request.headers.get("cf-aig-event-id")
        present = {name for name, _ in response.headers}
        added = [
            (b"cf-aig-log-id", call.log_id.encode()),
            (b"cf-aig-request-id", call.log_id.encode()),
            (b"cf-aig-event-id", (event_id or call.log_id).encode()),
            *call.headers,
        ]
        response.headers += [(k, v) for k, v in added if k not in present]
        collect = request.headers.get("cf-aig-collect-log", "").strip().lower() != "false"
        if not call.authorized or not collect:
            return
        model = call.name or route.model or _body_model(request.body)
        cached = (b"cf-aig-cache-status", b"HIT") in response.headers
        provider = call.provider or ("workers-ai" if not call.third_party else None)
        entry = gw.new_log_entry(
            log=call.log_id,
            gateway=call.gateway,
            path=route.template,
            model=model,
            provider=provider,
            status=response.status,
            cached=cached,
            event_id=event_id,
            metadata=gw.parse_metadata(request.headers.get("cf-aig-metadata")),
            usage=_usage_of(response) if response.status == 200 else None,
        )
        if call.step is not None:
            entry["step"] = call.step
        self.app.state.gateway_logs.add(call.gateway, entry)

    def logs_route(self, route: Route, request: Request) -> Response:
        """``GET .../logs`` (newest first, paged) and ``PATCH .../logs/{id}`` (spec §1.12)."""
        gateway = route.gateway or ""
        if len(gateway) > _MAX_GATEWAY_ID:
            return error_response(400, 400, "gateway id: use 1 to 64 characters")
        logs = self.app.state.gateway_logs
        if route.kind == "gateway_logs":
            return _list_logs(logs.entries(gateway), request.query)
        try:
            changes = gw.check_log_patch(jsonbody.loads(request.body or b"{}"))
        except ValueError as exc:
            return error_response(400, 400, f"Bad log patch: {exc}")
        if not logs.patch(gateway, route.log or "", changes):
            return error_response(404, 404, f"Log {route.log!r} not found in gateway {gateway!r}")
        return json_response({})


def _lower(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _check_step(index: int, step: Any) -> None:
    """A universal entry is ``{provider, endpoint, headers?, query, config?}`` (spec §1.8)."""
    problem = None
    if not isinstance(step, dict):
        problem = "must be an object {provider, endpoint, headers, query, config}"
    elif not isinstance(step.get("provider"), str) or not step["provider"]:
        problem = "needs a 'provider' (e.g. 'workers-ai', 'openai', 'compat')"
    elif not isinstance(step.get("endpoint"), str) or not step["endpoint"]:
        problem = "needs an 'endpoint' (e.g. '@cf/meta/llama-3.1-8b-instruct', 'chat/completions')"
    elif not isinstance(step.get("headers", {}), dict):
        problem = "'headers' must be an object"
    elif not isinstance(step.get("query"), dict):
        problem = "needs a 'query' object (the provider's request body)"
    elif not isinstance(step.get("config", {}), dict):
        problem = "'config' must be an object"
    else:
        attempts = step.get("config", {}).get("maxAttempts", 1)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 5:
            problem = "config.maxAttempts must be a whole number from 1 to 5"
    if problem is not None:
        raise EmulatorError(400, 5006, f"universal step {index} {problem}")


def _body_model(body: bytes) -> str | None:
    try:
        value = jsonbody.loads(body).get("model") if b'"model"' in body else None
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _list_logs(entries: list[dict[str, Any]], query: Mapping[str, list[str]]) -> Response:
    def number(name: str, default: int) -> int:
        raw = query.get(name, [str(default)])[-1]
        try:
            return max(1, int(raw))
        except ValueError as exc:
            raise ValueError(f"{name}={raw!r}: use a whole number") from exc

    try:
        page, per_page = number("page", 1), min(number("per_page", 20), 50)
    except ValueError as exc:
        return error_response(400, 400, str(exc))
    newest = list(reversed(entries))
    items = newest[(page - 1) * per_page : page * per_page]
    body = {
        "result": items,
        "result_info": {
            "count": len(items),
            "page": page,
            "per_page": per_page,
            "total_count": len(entries),
        },
        "success": True,
        "errors": [],
        "messages": [],
    }
    return Response(200, json.dumps(body).encode(), headers=[JSON_HEADER])


def _step_route_name(endpoint: str, by_path: bool) -> str:
    """The scripts' route name of a universal-endpoint entry (``run`` for ``@cf/...`` paths)."""
    if by_path:
        return "run"
    for name in ("chat/completions", "responses", "messages", "embeddings"):
        if endpoint.endswith(name):
            return name
    return "run"
