"""URL routing of the emulator (pure): which documented route a request path is."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

__all__ = [
    "AI_SEARCH_KINDS",
    "AI_SEARCH_ROUTES",
    "API_PREFIX",
    "GATEWAY_PREFIX",
    "NATIVE_PATHS",
    "VECTORIZE_KINDS",
    "VECTORIZE_ROUTES",
    "VECTORIZE_UPLOAD_KINDS",
    "Route",
    "match_route",
]

API_PREFIX = "/client/v4/accounts/"
GATEWAY_PREFIX = "/v1/"


@dataclass(frozen=True)
class Route:
    """A matched route.

    Attributes:
        kind: ``run``, ``openai``, ``universal``, ``models_search``, ``models_schema``,
            ``tomarkdown``, ``tomarkdown_supported``, ``gateway_logs``, ``gateway_log``,
            ``control``, ``root``, or one of :data:`VECTORIZE_KINDS` or :data:`AI_SEARCH_KINDS`.
        template: The route template for stats (``POST /ai/run/{model}``...).
        account: The account id in the URL, if any.
        model: The model id for ``run`` routes.
        openai_path: The API of an ``openai`` route: ``chat/completions``, ``embeddings``,
            ``responses`` (OpenAI's shapes) or ``messages`` (Anthropic's).
        gateway: The gateway id when the request came by an AI Gateway URL.
        control: The control action for ``/__emulator/...``.
        log: The log id of ``PATCH /ai-gateway/gateways/{gateway}/logs/{id}``.
        surface: Where third-party model names are served (spec §1.3): ``"rest"`` for
            ``/ai/v1/*`` on api.cloudflare.com, ``"compat"`` for the gateway's
            ``/compat/chat/completions``, ``"native"`` for a provider-native path
            (``{gateway}/anthropic/v1/messages``: the provider's own model names, §1.4);
            ``None`` elsewhere.
        provider: The provider slug of a provider-native path.
        index: The Vectorize index name of a ``vectorize_*`` route on one index.
        namespace: The AI Search namespace in the path (``None`` on the bare
            ``instances/{name}`` and the legacy AutoRAG paths: namespace ``default``).
        instance: The AI Search instance name (or legacy AutoRAG id) in the path.
    """

    kind: str
    template: str
    account: str | None = None
    model: str | None = None
    openai_path: str | None = None
    gateway: str | None = None
    control: str | None = None
    log: str | None = None
    surface: str | None = None
    provider: str | None = None
    index: str | None = None
    namespace: str | None = None
    instance: str | None = None


_OPENAI_PATHS = ("chat/completions", "embeddings", "responses", "messages")

#: Provider-native paths served for third-party models, ``(provider, path) -> API`` (spec
#: §1.4): OpenAI's and Anthropic's; other providers' are served by the universal endpoint's
#: steps and the compat route.
NATIVE_PATHS = {
    ("openai", "chat/completions"): "chat/completions",
    ("openai", "embeddings"): "embeddings",
    ("openai", "responses"): "responses",
    ("anthropic", "v1/messages"): "messages",
}


#: ``/ai/run/dynamic/<route>`` is no model: Workers AI answers 400 / 7000 "No route for that
#: URI" (dynamic routes work only by ``/ai/v1/chat/completions``; reference "dynamic routes").
_DYNAMIC_PREFIX = "dynamic/"


def _account_route(method: str, account: str, rest: str) -> Route | None:
    if method == "POST" and rest.startswith("ai/run/") and len(rest) > len("ai/run/"):
        model = rest[len("ai/run/") :]
        if model.startswith(_DYNAMIC_PREFIX):
            return None
        return Route("run", "POST /ai/run/{model}", account, model=model)
    for path in _OPENAI_PATHS:
        if method == "POST" and rest == f"ai/v1/{path}":
            return Route("openai", f"POST /ai/v1/{path}", account, openai_path=path, surface="rest")
    if rest.startswith(_LOGS_PREFIX):
        return _logs_route(method, account, rest[len(_LOGS_PREFIX) :])
    if method == "POST" and rest == "ai/tomarkdown":  # platform spec §4
        return Route("tomarkdown", "POST /ai/tomarkdown", account)
    if method == "GET" and rest == "ai/tomarkdown/supported":
        return Route("tomarkdown_supported", "GET /ai/tomarkdown/supported", account)
    if method == "GET" and rest == "ai/models/search":
        return Route("models_search", "GET /ai/models/search", account)
    if method == "GET" and rest == "ai/models/schema":
        return Route("models_schema", "GET /ai/models/schema", account)
    if rest == _VECTORIZE_PREFIX or rest.startswith(_VECTORIZE_PREFIX + "/"):
        return _vectorize_route(method, account, rest)
    if method == "POST" and rest.startswith(("autorag/rags/", "ai-search/")):
        return _ai_search_route(account, rest)
    return None


_LOGS_PREFIX = "ai-gateway/gateways/"
_VECTORIZE_PREFIX = "vectorize/v2/indexes"

#: Vectorize V2 routes (platform spec §2.1): ``(method, path after the index name)`` -> route
#: kind; ``None`` for the collection itself, ``""`` for the index.
VECTORIZE_ROUTES: dict[tuple[str, str | None], str] = {
    ("POST", None): "vectorize_create",
    ("GET", None): "vectorize_list",
    ("GET", ""): "vectorize_get",
    ("DELETE", ""): "vectorize_delete",
    ("GET", "info"): "vectorize_info",
    ("POST", "insert"): "vectorize_insert",
    ("POST", "upsert"): "vectorize_upsert",
    ("POST", "query"): "vectorize_query",
    ("POST", "get_by_ids"): "vectorize_get_by_ids",
    ("POST", "delete_by_ids"): "vectorize_delete_by_ids",
    ("GET", "list"): "vectorize_list_vectors",
    ("POST", "metadata_index/create"): "vectorize_metadata_index_create",
    ("GET", "metadata_index/list"): "vectorize_metadata_index_list",
    ("POST", "metadata_index/delete"): "vectorize_metadata_index_delete",
}
VECTORIZE_KINDS = frozenset(VECTORIZE_ROUTES.values())
#: The routes whose bodies are uploads (read up to Vectorize's upload limit).
VECTORIZE_UPLOAD_KINDS = frozenset({"vectorize_insert", "vectorize_upsert"})


def _vectorize_route(method: str, account: str, rest: str) -> Route | None:
    """``/vectorize/v2/indexes[/{index}[/<op>]]``; templates name the index ``{index}``."""
    tail = rest[len(_VECTORIZE_PREFIX) :].strip("/")
    name, _, op = tail.partition("/")
    key = (method, op) if name else (method, None)
    kind = VECTORIZE_ROUTES.get(key)
    if kind is None:
        return None
    template = f"{method} /{_VECTORIZE_PREFIX}" + ("/{index}" if name else "")
    template += f"/{op}" if op else ""
    return Route(kind, template, account, index=name or None)


#: AI Search routes (platform spec §3.1), all ``POST``: path template (after the account) ->
#: route kind. ``{id}`` is a legacy AutoRAG id (an instance of namespace ``default``).
AI_SEARCH_ROUTES: dict[str, str] = {
    "autorag/rags/{id}/search": "autorag_search",
    "autorag/rags/{id}/ai-search": "autorag_ai_search",
    "ai-search/instances/{name}/search": "ai_search_search",
    "ai-search/instances/{name}/chat/completions": "ai_search_chat",
    "ai-search/namespaces/{namespace}/instances/{name}/search": "ai_search_search",
    "ai-search/namespaces/{namespace}/instances/{name}/chat/completions": "ai_search_chat",
    "ai-search/namespaces/{namespace}/search": "ai_search_multi_search",
    "ai-search/namespaces/{namespace}/chat/completions": "ai_search_multi_chat",
}
AI_SEARCH_KINDS = frozenset(AI_SEARCH_ROUTES.values())
_SLOTS = ("{id}", "{name}", "{namespace}")


def _ai_search_route(account: str, rest: str) -> Route | None:
    """Match ``rest`` against :data:`AI_SEARCH_ROUTES` (a slot is one non-empty segment)."""
    parts = rest.split("/")
    for template, kind in AI_SEARCH_ROUTES.items():
        pattern = template.split("/")
        if len(pattern) != len(parts):
            continue
        slots: dict[str, str] = {}
        for want, got in zip(pattern, parts, strict=True):
            if want in _SLOTS and got:
                slots[want] = got
            elif want != got:
                break
        else:
            instance = slots.get("{name}") or slots.get("{id}")
            namespace = slots.get("{namespace}")
            return Route(kind, f"POST /{template}", account, namespace=namespace, instance=instance)
    return None


def _logs_route(method: str, account: str, rest: str) -> Route | None:
    """``GET .../ai-gateway/gateways/{gateway}/logs``, ``PATCH .../logs/{id}`` (spec §1.12)."""
    parts = rest.split("/")
    if len(parts) == 2 and parts[1] == "logs" and parts[0] and method == "GET":
        template = "GET /ai-gateway/gateways/{gateway}/logs"
        return Route("gateway_logs", template, account, gateway=parts[0])
    if len(parts) == 3 and parts[1] == "logs" and parts[0] and parts[2] and method == "PATCH":
        template = "PATCH /ai-gateway/gateways/{gateway}/logs/{id}"
        return Route("gateway_log", template, account, gateway=parts[0], log=parts[2])
    return None


def _gateway_route(method: str, path: str) -> Route | None:
    parts = path[len(GATEWAY_PREFIX) :].rstrip("/").split("/", 3)
    if method != "POST" or len(parts) < 2:
        return None
    if len(parts) == 2:  # universal endpoint: a JSON array of provider steps (spec §11)
        return Route("universal", "POST gateway universal", parts[0], gateway=parts[1])
    if len(parts) == 4 and parts[2] == "compat" and parts[3] == "chat/completions":
        template = "POST gateway /compat/chat/completions"
        return Route(
            "openai",
            template,
            parts[0],
            openai_path="chat/completions",
            gateway=parts[1],
            surface="compat",
        )
    if len(parts) == 4 and (parts[2], parts[3]) in NATIVE_PATHS:
        account, gateway, provider, rest = parts
        return Route(
            "openai",
            f"POST gateway /{provider}/{rest}",
            account,
            openai_path=NATIVE_PATHS[provider, rest],
            gateway=gateway,
            surface="native",
            provider=provider,
        )
    if len(parts) < 4 or parts[2] != "workers-ai":
        return None
    account, gateway, _, rest = parts
    for sub in _OPENAI_PATHS[:2]:
        if rest == f"v1/{sub}":
            template = f"POST gateway /workers-ai/v1/{sub}"
            return Route("openai", template, account, openai_path=sub, gateway=gateway)
    if rest.startswith("run/"):
        model, template = rest[4:], "POST gateway /workers-ai/run/{model}"
    else:
        model, template = rest, "POST gateway /workers-ai/{model}"
    if not model:
        return None
    return Route("run", template, account, model=model, gateway=gateway)


def match_route(method: str, raw_path: str) -> Route | None:
    """Match ``method`` and path against the routes of spec §1, §10 and §11 (and the
    platform spec's §2 Vectorize V2, §3 AI Search and §4 Markdown conversion)."""
    path = unquote(raw_path)
    if path in ("", "/"):
        return Route("root", "GET /")
    if path.startswith("/__emulator/"):
        return Route("control", f"{method} {path}", control=path[len("/__emulator/") :])
    if path.startswith(API_PREFIX):
        account, _, rest = path[len(API_PREFIX) :].partition("/")
        return _account_route(method, account, rest) or Route("unknown", "unknown", account=account)
    if path.startswith(GATEWAY_PREFIX):
        return _gateway_route(method, path)
    return None
