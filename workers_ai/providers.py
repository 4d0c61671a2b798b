"""Any model behind Cloudflare: what a model id names, and where a call to it goes (no I/O).

A model id is one of (spec: cloudflare-ai-platform-api.md §1.3):

- a **Workers AI** model, ``@cf/author/model`` (or ``@hf/...``), also written
  ``workers-ai/@cf/author/model`` (the same model named through AI Gateway): today's routing,
  unchanged (``/ai/run/{model}``, or the gateway's ``workers-ai/`` path with ``routing="url"``);
- a **third-party** model, ``provider/model``: a REST catalog author (``openai``, ``anthropic``,
  ``google``, ``xai``, ``groq``, ``deepseek``, ``alibaba``, ``minimax``) or an AI Gateway provider
  slug (``google-ai-studio``, ``grok``, ``mistral``, ``openrouter``, ``custom-<slug>``...); the
  model part is never checked against a list (the catalog is never complete);
- a **routing alias**: ``dynamic/<route>`` (a dynamic route; chat completions only) or
  ``cloudflare/auto`` (the Auto Router).

Third-party models and aliases are sent OpenAI-shaped (``model`` in the body) to:

- ``POST {base}/accounts/{account}/ai/v1/chat/completions`` (embeddings: ``/ai/v1/embeddings``)
  with ``cf-aig-gateway-id`` (the settings' gateway, else ``default``): no gateway, or
  ``GatewayOptions(routing="header")``;
- ``POST {gateway_base}/{account}/{gateway}/compat/chat/completions`` with
  ``GatewayOptions(routing="url")`` (the deprecated but working compat surface). The Cloudflare
  credential goes in ``cf-aig-authorization`` there, and ``Authorization`` carries the
  provider's own key when ``provider_api_key`` is set (spec §1.2). Embeddings through URL
  routing go to OpenAI's provider-native path (``{gateway}/openai/embeddings``): compat has no
  documented embeddings route, so other providers' embeddings need ``routing="header"``.

The id on the wire follows the surface (§1.3): REST names catalog authors (``google/...``,
``xai/...``), compat names provider slugs (``google-ai-studio/...``, ``grok/...``); the two
correspondences the spec gives are translated, every other id is sent as given.

Example:
    >>> from workers_ai.providers import parse_model
    >>> ref = parse_model("google-ai-studio/gemini-2.5-flash")
    >>> ref.kind, ref.provider, ref.wire_id("rest")
    ('third_party', 'google-ai-studio', 'google/gemini-2.5-flash')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from workers_ai.errors import ConfigurationError, ModelIdError
from workers_ai.settings import RedactedHeaders, quote_segment, validate_model_id

if TYPE_CHECKING:
    from workers_ai.settings import WorkersAISettings

__all__ = [
    "CHAT_ENDPOINTS",
    "COMPAT_PROVIDERS",
    "DEFAULT_GATEWAY_ID",
    "REST_AUTHORS",
    "ChatEndpoint",
    "ModelKind",
    "ModelRef",
    "Route",
    "Surface",
    "Task",
    "chat_api",
    "chat_route",
    "check_chat_chain",
    "embeddings_route",
    "is_third_party",
    "native_auth",
    "openai_route",
    "parse_model",
    "run_route",
    "universal_entry",
    "universal_route",
]

ModelKind = Literal["workers_ai", "third_party", "dynamic", "auto"]
#: Where a call goes: ``run`` (``/ai/run/{model}`` or the gateway's ``workers-ai/{model}``),
#: ``openai`` (``/ai/v1/{path}``, or the gateway's ``workers-ai/v1/{path}``) for Workers AI
#: models; ``rest`` (``/ai/v1/{path}`` with ``cf-aig-gateway-id``), ``compat`` and ``native``
#: (a provider-native gateway path) for third-party models; ``universal`` (the gateway's
#: universal endpoint: a fallback chain in one request).
Surface = Literal["run", "openai", "rest", "compat", "native", "universal"]
Task = Literal["chat", "embeddings"]
#: The API a chat call speaks: ``native`` (Workers AI's ``/ai/run``; for other models, their
#: provider's own API where this package has it: Anthropic's Messages API for ``anthropic/...``,
#: else chat completions), ``openai`` (chat completions), ``messages`` (Anthropic's Messages API,
#: ``/ai/v1/messages``) or ``responses`` (OpenAI's Responses API, ``/ai/v1/responses``).
#: That meaning of ``native`` is the frameworks' (:func:`chat_api` resolves it when a call is
#: prepared); the core clients' ``chat()`` takes the resolved API, and there ``native`` for a
#: third-party model is chat completions (its body is OpenAI-shaped).
ChatEndpoint = Literal["native", "openai", "messages", "responses"]
CHAT_ENDPOINTS: tuple[str, ...] = ("native", "openai", "messages", "responses")

#: The gateway REST routes use when the settings name none (auto-created by Cloudflare).
DEFAULT_GATEWAY_ID = "default"

#: Catalog authors of the REST ``/ai/*`` routes (Unified Billing), spec §1.3.
REST_AUTHORS: frozenset[str] = frozenset(
    {"openai", "anthropic", "google", "xai", "groq", "deepseek", "alibaba", "minimax"}
)
#: AI Gateway provider slugs (``AIGatewayProviders``), spec §1.4; ``custom-<slug>`` too.
COMPAT_PROVIDERS: frozenset[str] = frozenset(
    {
        "workers-ai", "anthropic", "aws-bedrock", "azure-openai", "google-vertex-ai",
        "huggingface", "openai", "perplexity-ai", "replicate", "groq", "cohere",
        "google-ai-studio", "mistral", "grok", "openrouter", "deepseek", "cerebras", "cartesia",
        "elevenlabs", "adobe-firefly", "baseten", "parallel", "fal", "ideogram", "deepgram",
    }
)  # fmt: skip
#: REST catalog author -> compat provider slug, where the spec gives the correspondence.
_REST_TO_COMPAT: Mapping[str, str] = {"google": "google-ai-studio", "xai": "grok"}
_COMPAT_TO_REST: Mapping[str, str] = {v: k for k, v in _REST_TO_COMPAT.items()}
_CUSTOM_RE = re.compile(r"^custom-[a-z0-9][a-z0-9-]*$")
_ALIAS_PROVIDERS = {"dynamic": "dynamic", "cloudflare": "auto"}

_ACCEPTED_FORMS = (
    "'@cf/author/model' (Workers AI, also 'workers-ai/@cf/author/model'), 'provider/model' "
    "with a provider AI Gateway knows ("
    + ", ".join(sorted(REST_AUTHORS))
    + "; compat slugs such as google-ai-studio, grok, mistral, openrouter, or custom-<slug>), "
    "'dynamic/<route>' or 'cloudflare/auto'"
)


@dataclass(frozen=True)
class ModelRef:
    """What a model id names (see the module docs).

    Attributes:
        id: The id as given.
        kind: ``workers_ai``, ``third_party``, ``dynamic`` (a dynamic route) or ``auto``
            (``cloudflare/auto``).
        provider: The provider part (``openai``, ``google-ai-studio``, ``dynamic``,
            ``cloudflare``); ``None`` for Workers AI models.
        name: The rest: the Workers AI id (``@cf/...``, without ``workers-ai/``), the
            provider's model (``gpt-4.1``), the route name, or ``auto``.
    """

    id: str
    kind: ModelKind
    provider: str | None
    name: str

    @property
    def is_workers_ai(self) -> bool:
        """A Workers AI model: today's routing."""
        return self.kind == "workers_ai"

    def wire_id(self, surface: Surface) -> str:
        """The id to send in the body on ``surface`` (REST authors or compat slugs, §1.3)."""
        if self.kind == "workers_ai":
            return self.name if surface != "compat" else f"workers-ai/{self.name}"
        if self.kind != "third_party" or self.provider is None:
            return self.id
        if surface == "compat":
            return f"{_REST_TO_COMPAT.get(self.provider, self.provider)}/{self.name}"
        if surface == "native":
            return self.name
        return f"{_COMPAT_TO_REST.get(self.provider, self.provider)}/{self.name}"


def _bad_id(model: str, problem: str) -> ModelIdError:
    return ModelIdError(f"model {model!r} {problem}. Accepted forms: {_ACCEPTED_FORMS}.")


def _known_provider(slug: str) -> bool:
    return slug in REST_AUTHORS or slug in COMPAT_PROVIDERS or bool(_CUSTOM_RE.match(slug))


def parse_model(model: object) -> ModelRef:
    """Say what ``model`` names; raise before any request if it names nothing routable.

    Every call's route is decided from it, so the answer for an id is kept (a pure function of
    the string; an id that raises is not kept).

    Raises:
        ModelIdError: (a ``ConfigurationError`` and an ``InvalidRequestError``) naming the id
            and listing the accepted forms: empty or malformed parts, spaces, a provider AI
            Gateway does not list, a provider without a model.
    """
    if type(model) is str:
        return _parse_id(model)
    return _parse_id(validate_model_id(model))


@functools.lru_cache(maxsize=1024)
def _parse_id(model: str) -> ModelRef:
    model = validate_model_id(model)
    if model.startswith("@"):
        return ModelRef(model, "workers_ai", None, model)
    provider, _, rest = model.partition("/")
    if provider == "workers-ai":
        if not rest.startswith("@"):
            raise _bad_id(model, "names a Workers AI model without its '@cf/' prefix")
        return ModelRef(model, "workers_ai", None, rest)
    if not rest:
        suggestion = _cf_suggestion(model)
        raise _bad_id(model, f"has no provider part{suggestion}")
    if provider in _ALIAS_PROVIDERS:
        kind = _ALIAS_PROVIDERS[provider]
        if kind == "auto" and rest != "auto":
            raise _bad_id(model, "is not a Cloudflare routing alias (only 'cloudflare/auto')")
        if kind == "dynamic" and "/" in rest:
            raise _bad_id(model, "names a dynamic route with a '/'; use 'dynamic/<route>'")
        return ModelRef(model, "auto" if kind == "auto" else "dynamic", provider, rest)
    if not _known_provider(provider):
        suggestion = _cf_suggestion(model)
        raise _bad_id(
            model, f"starts with {provider!r}, which is not an AI Gateway provider{suggestion}"
        )
    return ModelRef(model, "third_party", provider, rest)


def _cf_suggestion(model: str) -> str:
    """``; did you mean '@cf/...'`` when the id is a catalog Workers AI model without ``@cf/``."""
    from workers_ai import catalog

    for prefix in ("@cf/", "@hf/"):
        if catalog.get(prefix + model).known:
            return f"; did you mean {prefix + model!r}?"
    return ""


def is_third_party(model: str) -> bool:
    """Whether ``model`` goes through AI Gateway's OpenAI-shaped routes (never raises)."""
    try:
        return not parse_model(model).is_workers_ai
    except ModelIdError:
        return False


@dataclass(frozen=True)
class Route:
    """Where one call goes and what it carries (built by the functions below).

    Attributes:
        surface: See :data:`Surface`.
        url: The full URL.
        route: The URL template for logs (no account id, no model).
        model: The parsed model id.
        wire_model: The ``model`` body field, or ``None`` where the URL names the model.
        headers: The base headers of the call (auth, ``cf-aig-*``, ``default_headers``), in
            place of the settings' own; ``None``: the settings' headers, as today.
        gateway_id: The gateway the call goes through, if any (named by errors).
    """

    surface: Surface
    url: str
    route: str
    model: ModelRef
    wire_model: str | None = None
    headers: RedactedHeaders | None = field(default=None, repr=False)
    gateway_id: str | None = None

    @property
    def provider(self) -> str | None:
        """The provider errors name: the model's (``None`` for Workers AI)."""
        return None if self.model.is_workers_ai else self.model.provider


def _gateway_id(settings: WorkersAISettings) -> str:
    return settings.gateway.id if settings.gateway is not None else DEFAULT_GATEWAY_ID


def _url_routing(settings: WorkersAISettings) -> bool:
    return settings.gateway is not None and settings.gateway.routing == "url"


def gateway_headers(settings: WorkersAISettings, surface: Surface) -> RedactedHeaders:
    """The base headers of a third-party call on ``surface`` (spec §1.2, §1.6).

    REST: ``Authorization: Bearer <API token>``, the gateway's ``cf-aig-*`` options and
    ``cf-aig-gateway-id`` (``default`` when no gateway is set). ``gateway.ai.cloudflare.com``
    (compat, provider-native): ``Authorization`` is reserved for the provider's key
    (``provider_api_key``; omitted for BYOK and Unified Billing) and the Cloudflare credential
    moves to ``cf-aig-authorization`` (the gateway token, else the API token). The settings'
    ``default_headers`` come last, as for every request.
    """
    headers = RedactedHeaders()
    gateway = settings.gateway
    token = settings.api_token.get_secret_value()
    if surface in ("compat", "native"):
        assert gateway is not None
        if gateway.provider_api_key is not None:
            headers["Authorization"] = f"Bearer {gateway.provider_api_key.get_secret_value()}"
        headers.update(gateway.headers())
        headers.setdefault("cf-aig-authorization", f"Bearer {token}")
    else:
        headers["Authorization"] = f"Bearer {token}"
        if gateway is not None:
            headers.update(gateway.headers())
        headers.setdefault("cf-aig-gateway-id", DEFAULT_GATEWAY_ID)
    headers.update(settings.default_headers)
    return headers


def _third_party_route(
    ref: ModelRef, path: str, settings: WorkersAISettings, *, task: Task | None
) -> Route:
    if not _url_routing(settings):
        url = f"{settings.account_url('ai/v1')}/{path}"
        route = f"/accounts/{{account_id}}/ai/v1/{path}"
        headers = gateway_headers(settings, "rest")
        headers.update(_API_HEADERS.get(path, {}))
        return Route("rest", url, route, ref, ref.wire_id("rest"), headers, _gateway_id(settings))
    if path == "chat/completions":
        return _on_gateway("compat", f"compat/{path}", ref, settings)
    native = _NATIVE_PATHS.get((path, ref.provider)) if ref.kind == "third_party" else None
    if native is not None:
        return _on_gateway("native", native, ref, settings)
    what = "embeddings of this provider" if task == "embeddings" else f"'{path}' of this model"
    raise ModelIdError(
        f"model {ref.id!r}: AI Gateway URL routing (GatewayOptions(routing='url')) has no route "
        f"for {what} (compat serves chat/completions; OpenAI's embeddings and responses and "
        "Anthropic's messages use their provider paths). "
        "Use GatewayOptions(routing='header') to call it through the REST route /ai/v1/"
        f"{path}."
    )


#: Provider-native gateway paths for the routes compat lacks (spec §1.4), by (route, provider).
_NATIVE_PATHS: Mapping[tuple[str, str | None], str] = {
    ("embeddings", "openai"): "openai/embeddings",
    ("responses", "openai"): "openai/responses",
    ("messages", "anthropic"): "anthropic/v1/messages",
}


def _on_gateway(surface: Surface, tail: str, ref: ModelRef, settings: WorkersAISettings) -> Route:
    """A route on ``gateway.ai.cloudflare.com/v1/{account}/{gateway}/{tail}``."""
    headers = gateway_headers(settings, surface)
    if surface == "native":
        headers = native_auth(ref.provider, headers)
        headers.update(_API_HEADERS.get(tail.partition("/")[2].removeprefix("v1/"), {}))
    return Route(
        surface,
        f"{_gateway_root(settings)}/{tail}",
        f"/{{account_id}}/{{gateway}}/{tail}",
        ref,
        ref.wire_id(surface),
        headers,
        _gateway_id(settings),
    )


#: Headers an API needs besides auth, by ``/ai/v1/`` path (Anthropic's SDK sends its version
#: on every request; Cloudflare's Anthropic examples too).
_API_HEADERS: Mapping[str, Mapping[str, str]] = {"messages": {"anthropic-version": "2023-06-01"}}
#: Providers whose own API takes its key in another header than ``Authorization: Bearer``
#: (on their provider-native gateway path): provider -> header (the key sent bare).
_KEY_HEADERS: Mapping[str, str] = {"anthropic": "x-api-key"}


def native_auth(provider: str | None, headers: Mapping[str, str]) -> RedactedHeaders:
    """``headers`` with a provider key moved to where the provider's own API reads it
    (Anthropic: ``x-api-key: <key>``, not ``Authorization: Bearer <key>``), for a
    provider-native gateway path. Other headers are kept; a ``RedactedHeaders`` (masked)."""
    out = RedactedHeaders(headers)
    header = _KEY_HEADERS.get(provider or "")
    bearer = out.get("Authorization", "")
    if header is not None and bearer.startswith("Bearer "):
        del out["Authorization"]
        out[header] = bearer.removeprefix("Bearer ")
    return out


def _gateway_root(settings: WorkersAISettings) -> str:
    account, gateway = quote_segment(settings.account_id), quote_segment(_gateway_id(settings))
    return f"{settings.gateway_base_url}/{account}/{gateway}"


_RUN_ROUTE = "/accounts/{account_id}/ai/run/{model}"
_OPENAI_ROUTE = "/accounts/{account_id}/ai/v1/{path}"
#: The path of each API on ``/ai/v1/``.
_API_PATHS: Mapping[str, str] = {
    "openai": "chat/completions", "native": "chat/completions", "messages": "messages",
    "responses": "responses",
}  # fmt: skip


def _run(ref: ModelRef, settings: WorkersAISettings) -> Route:
    """Today's ``/ai/run/{model}`` (or the gateway's ``workers-ai/{model}``) for Workers AI."""
    return Route("run", settings.run_url(ref.name), _RUN_ROUTE, ref)


def chat_api(model: str, endpoint: str) -> ChatEndpoint:
    """The API a framework's chat call to ``model`` speaks, for the object's ``endpoint``.

    Workers AI models keep theirs (``native``, ``openai`` or ``responses``). Other models:
    ``native`` means Anthropic's Messages API for ``anthropic/...`` models and chat completions
    for the rest; ``openai``, ``messages`` and ``responses`` are taken as asked, where the model
    kind has that route.

    Raises:
        ModelIdError: An unroutable id, an unknown endpoint, ``messages`` for a Workers AI model,
            or a routing alias on a route it lacks (``dynamic/...``: chat completions only;
            ``cloudflare/auto``: chat completions and responses).
    """
    ref = parse_model(model)
    if endpoint not in CHAT_ENDPOINTS:
        raise ModelIdError(
            f"endpoint={endpoint!r}: use one of {', '.join(map(repr, CHAT_ENDPOINTS))}"
        )
    if ref.is_workers_ai:
        if endpoint == "messages":
            raise ModelIdError(
                f"model {model!r} is a Workers AI model, which has no Messages API route; use "
                "endpoint='native' (/ai/run), 'openai' (chat completions) or 'responses'."
            )
        if endpoint == "responses":
            from workers_ai import catalog

            info = catalog.get(model)
            if info.known and not info.responses_api:
                raise ModelIdError(
                    f"model {model!r} is not served by Workers AI's /ai/v1/responses (the "
                    "catalog lists gpt-oss there); use endpoint='native' or 'openai'."
                )
        return endpoint  # type: ignore[return-value]  # checked against CHAT_ENDPOINTS
    if endpoint == "native":
        return "messages" if ref.kind == "third_party" and ref.provider == "anthropic" else "openai"
    allowed = {"dynamic": ("openai",), "auto": ("openai", "responses")}.get(ref.kind)
    if allowed is not None and endpoint not in allowed:
        raise ModelIdError(
            f"model {model!r} is an AI Gateway routing alias, served on "
            f"{' and '.join(_API_PATHS[a] for a in allowed)} only; endpoint={endpoint!r} has no "
            "route for it."
        )
    return endpoint  # type: ignore[return-value]


def chat_route(model: str, settings: WorkersAISettings, *, endpoint: str = "native") -> Route:
    """The route of a chat call to ``model``: Workers AI models as today (``endpoint``
    ``native``: ``/ai/run``; ``openai``: ``/ai/v1/chat/completions``; ``responses``:
    ``/ai/v1/responses``), every other model through AI Gateway (module docs) on
    ``/ai/v1/chat/completions`` (``native``, ``openai``), ``/ai/v1/messages`` (``messages``)
    or ``/ai/v1/responses`` (``responses``).

    Raises:
        ModelIdError: The id is not routable (:func:`parse_model`), or the model has no route
            for ``endpoint``.
    """
    ref = parse_model(model)
    if ref.is_workers_ai:
        if endpoint in ("openai", "responses"):
            path = _API_PATHS[endpoint]
            url = settings.openai_url(path)
            return Route("openai", url, _OPENAI_ROUTE.format(account_id="{account_id}", path=path),
                         ref, ref.name)  # fmt: skip
        if endpoint == "messages":
            chat_api(model, endpoint)  # raises, naming the endpoints it has
        return _run(ref, settings)
    if endpoint in ("messages", "responses") and ref.kind != "third_party":
        chat_api(model, endpoint)  # a routing alias without that route: raises, naming its own
    return _third_party_route(ref, _API_PATHS[endpoint], settings, task="chat")


def check_chat_chain(
    models: Sequence[str],
    endpoint: str,
    settings: WorkersAISettings,
    *,
    provider_key: bool,
) -> None:
    """Check, before any request, that every model of a chat chain (the model and its
    fallbacks) has a route for the API it speaks on these settings (URL routing lacks some:
    :func:`chat_route`), and that one ``provider_api_key`` is not sent to several providers.

    Raises:
        ModelIdError: A model without a route for its API on these settings.
        ConfigurationError: ``provider_key`` with third-party models of several providers
            (the key would be disclosed to the others).
    """
    providers: set[str] = set()
    for model in models:
        chat_route(model, settings, endpoint=chat_api(model, endpoint))
        ref = parse_model(model)
        if ref.kind == "third_party" and ref.provider is not None:
            providers.add(_COMPAT_TO_REST.get(ref.provider, ref.provider))
    if provider_key and len(providers) > 1:
        raise ConfigurationError(
            f"provider_api_key would be sent to {', '.join(sorted(providers))}: a key belongs to "
            "one provider. Store each provider's key in AI Gateway (BYOK, byok_alias) or use "
            "Unified Billing for a chain across providers, or keep the chain to one provider."
        )


def embeddings_route(model: str, settings: WorkersAISettings) -> Route:
    """The route of an embeddings call: Workers AI as today (``/ai/run``), third-party models
    ``/ai/v1/embeddings`` (OpenAI body ``{"model", "input"}``).

    Raises:
        ModelIdError: The id is not routable, or is a routing alias: ``dynamic/<route>`` and
            ``cloudflare/auto`` serve chat completions only.
    """
    ref = parse_model(model)
    if ref.is_workers_ai:
        return _run(ref, settings)
    if ref.kind != "third_party":
        raise ModelIdError(
            f"model {ref.id!r} is an AI Gateway routing alias, which serves chat completions "
            "only; use an embedding model such as 'openai/text-embedding-3-small' or "
            "'@cf/baai/bge-base-en-v1.5'."
        )
    return _third_party_route(ref, "embeddings", settings, task="embeddings")


def run_route(model: str, inputs: Mapping[str, Any], settings: WorkersAISettings) -> Route:
    """The route of ``run(model, inputs)``: ``/ai/run/{model}`` for Workers AI models (today's).

    A third-party model has no ``/ai/run/{model}`` path, so its inputs choose the OpenAI-shaped
    route: ``messages`` -> chat completions, ``input`` -> embeddings (how the embeddings engine
    calls it); a routing alias only ever chat completions (``/ai/run/dynamic/...`` is a 400).

    Raises:
        ModelIdError: The id is not routable, or the inputs fit neither route.
    """
    ref = parse_model(model)
    if ref.is_workers_ai:
        return _run(ref, settings)
    if "messages" in inputs:
        return chat_route(model, settings)
    if ref.kind == "third_party" and "input" in inputs:
        return embeddings_route(model, settings)
    what = "chat completions ('messages')" + (
        "" if ref.kind != "third_party" else " or embeddings ('input')"
    )
    raise ModelIdError(
        f"model {ref.id!r} is not a Workers AI model, so it has no /ai/run/{{model}} route; "
        f"AI Gateway serves it through {what}. Use WorkersAIClient.chat() or pass "
        f"{'messages' if ref.kind != 'third_party' else 'messages or input'} in the inputs."
    )


def openai_route(path: str, body: Mapping[str, Any], settings: WorkersAISettings) -> Route | None:
    """The route of ``openai(path, body)`` when ``body["model"]`` is not a Workers AI model
    (``None``: today's ``/ai/v1/{path}``, or its gateway ``workers-ai/v1/`` form).

    Raises:
        ModelIdError: The id is not routable, or (URL routing) there is no such route.
    """
    model = body.get("model")
    if not isinstance(model, str):
        return None
    ref = parse_model(model)
    if ref.is_workers_ai:
        return None
    if path == "embeddings":
        return embeddings_route(model, settings)
    task: Task | None = "chat" if path == "chat/completions" else None
    return _third_party_route(ref, path, settings, task=task)


def universal_route(last_model: str, settings: WorkersAISettings) -> Route | None:
    """The route of a fallback chain sent whole to AI Gateway's universal endpoint
    (``POST {gateway_base}/{account}/{gateway}``, spec §1.8), which falls back server-side;
    ``None`` unless the settings route by URL and allow it (``GatewayOptions.server_fallback``).

    Its headers are the gateway's (``cf-aig-authorization``, ``cf-aig-*``, ``default_headers``)
    without ``Authorization``: each entry carries its own (:func:`universal_entry`). Errors
    name ``last_model``'s provider: when every entry failed, the answer is the last one's.
    """
    gateway = settings.gateway
    if gateway is None or gateway.routing != "url" or not gateway.server_fallback:
        return None
    headers = gateway_headers(settings, "compat")
    headers.pop("Authorization", None)
    return Route(
        "universal", _gateway_root(settings), "/{account_id}/{gateway}", parse_model(last_model),
        None, headers, _gateway_id(settings),
    )  # fmt: skip


def universal_entry(
    routed: Route,
    query: Mapping[str, Any],
    own_headers: Mapping[str, str],
    per_call: Mapping[str, str],
) -> dict[str, Any]:
    """One model of a universal request: ``{provider, endpoint, headers, query}`` (spec §1.8).

    Args:
        routed: The model's own route on the gateway (``run``/``openai`` for Workers AI,
            ``compat`` or ``native`` for the rest: :func:`chat_route` with URL routing).
        query: The body that route takes.
        own_headers: The headers the model's own request would carry: its credential (the
            Cloudflare token for Workers AI, the provider key for third-party models, when
            set: ``Authorization`` or the provider's own header) and its API's headers
            (``anthropic-version``) go in the entry, which takes precedence over the request's
            headers (each provider sees only its own credential).
        per_call: The call's own headers (per-call ``cf-aig-*`` options), also the entry's.

    Returns:
        The entry; its ``headers`` a :class:`RedactedHeaders` (``repr`` masks the keys).
    """
    if routed.surface == "run":
        provider, endpoint = "workers-ai", routed.model.name
    elif routed.surface == "openai":  # Workers AI's OpenAI-compatible routes
        provider, endpoint = "workers-ai", "v1/" + routed.route.rsplit("/ai/v1/", 1)[1]
    elif routed.surface == "native":  # e.g. anthropic/v1/messages
        provider, _, endpoint = routed.route.split("/", 3)[3].partition("/")
    else:
        provider, endpoint = "compat", "chat/completions"
    entry_headers = RedactedHeaders({"Content-Type": "application/json"})
    entry_headers.update((k, v) for k, v in own_headers.items() if k.lower() in _ENTRY_HEADERS)
    entry_headers.update(per_call)
    return {"provider": provider, "endpoint": endpoint, "headers": entry_headers, "query": query}


#: The headers of a model's own request that belong in its universal entry (lower-case).
_ENTRY_HEADERS = frozenset(
    {"authorization", *_KEY_HEADERS.values(), *(k for h in _API_HEADERS.values() for k in h)}
)
