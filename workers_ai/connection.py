"""The connection fields every framework class shares, and how those classes are built.

:class:`ConnectionModel` is a pydantic model (pydantic is a core dependency) that the LangChain
and LlamaIndex classes mix in, so both frameworks take the same names, with the same
environment fallbacks, checks and errors:

- the names users of the OpenAI integrations type: ``api_key`` (alias ``api_token``),
  ``base_url`` (alias ``api_base``), ``timeout`` (alias ``request_timeout``), ``max_retries``,
  ``default_headers``;
- construction in three steps, none doing I/O: keyword names are checked first (a misspelling
  raises :class:`~workers_ai.UnknownArgumentError` with a did-you-mean, before pydantic sees
  it), then pydantic validates the fields, then :meth:`ConnectionModel._after_init` checks the
  model against the catalog and resolves the settings (each class adds its own set-up there).

Type checkers see the fields as constructor keywords (pydantic's ``dataclass_transform``): the
run-time ``__init__`` is hidden from them, so a misspelt argument fails ``mypy --strict`` too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr

from workers_ai.arguments import argument_names, check_arguments
from workers_ai.errors import InvalidRequestError
from workers_ai.model_checks import CORE_CLASSES, Kind, check_model
from workers_ai.settings import (
    ACCOUNT_ID_ENV_VARS,
    API_TOKEN_ENV_VARS,
    BASE_URL_ENV_VAR,
    AsyncTransport,
    SecretInput,
    TimeoutTypes,
    WorkersAISettings,
    first_env,
    resolve_settings,
)

if TYPE_CHECKING:
    # The clients (and the catalog, the engines and the stream decoders under them) are loaded
    # when a model object is built (:meth:`ClientPairOwner._make_clients`), not when the
    # framework packages are imported.
    from workers_ai.client import AsyncWorkersAIClient, ClientPair, WorkersAIClient
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    ClientPair = Any  # without loading the module behind it

__all__ = ["ClientPairOwner", "ConnectionModel"]

_SECRET_KEYWORDS = ("api_key", "api_token", "gateway_token")


#: Gateway options that are credentials: kept as ``SecretStr`` in the field, so ``repr``,
#: ``model_dump`` and the frameworks' serialisation never show them.
_SECRET_OPTIONS = ("provider_api_key", "auth_token")


def _masked_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: SecretStr(v) if k in _SECRET_OPTIONS and isinstance(v, str) else v
        for k, v in options.items()
    }


def _account_from_env() -> str | None:
    return first_env(ACCOUNT_ID_ENV_VARS, os.environ)


def _token_from_env() -> SecretStr | None:
    token = first_env(API_TOKEN_ENV_VARS, os.environ)
    return SecretStr(token) if token else None


def _base_url_from_env() -> str | None:
    return first_env((BASE_URL_ENV_VAR,), os.environ)


class ConnectionModel(BaseModel):
    """Credentials, base URL, AI Gateway, timeout, retries and headers (resolved without I/O)."""

    model_config = ConfigDict(
        populate_by_name=True, protected_namespaces=(), arbitrary_types_allowed=True
    )
    #: The class for each kind of model in the framework, named in model-check errors.
    model_classes: ClassVar[Mapping[Kind, str]] = CORE_CLASSES

    account_id: str | None = Field(
        default_factory=_account_from_env,
        description="Cloudflare account id (env CLOUDFLARE_ACCOUNT_ID, else CF_ACCOUNT_ID).",
    )
    """Cloudflare account id (env ``CLOUDFLARE_ACCOUNT_ID``, else ``CF_ACCOUNT_ID``)."""
    api_token: SecretInput | None = Field(
        default_factory=_token_from_env,
        alias="api_key",
        exclude=True,
        description="API token (env CLOUDFLARE_API_TOKEN, else CF_AI_API_TOKEN).",
    )
    """API token with Workers AI permission; pass it as ``api_key`` (or ``api_token``). Env
    ``CLOUDFLARE_API_TOKEN``, else ``CF_AI_API_TOKEN``. Never serialised, logged or shown."""
    base_url: str | None = Field(
        default_factory=_base_url_from_env,
        validation_alias=AliasChoices("base_url", "api_base"),
        description="REST base URL (env WORKERS_AI_BASE_URL): the emulator or a proxy.",
    )
    """REST base URL (alias ``api_base``; env ``WORKERS_AI_BASE_URL``); set it to target the
    emulator or a proxy."""
    gateway_id: str | None = Field(default=None, description="Route through this AI Gateway.")
    """Route requests through this AI Gateway."""
    gateway_options: dict[str, Any] = Field(
        default_factory=dict, description="AI Gateway options (see workers_ai.GatewayOptions)."
    )
    """AI Gateway options (the fields of ``workers_ai.GatewayOptions``: ``cache_ttl``,
    ``skip_cache``, ``metadata``...)."""
    gateway_token: SecretInput | None = Field(
        default=None, exclude=True, description="Token of an authenticated AI Gateway."
    )
    """Token of an authenticated AI Gateway (``cf-aig-authorization``)."""
    timeout: TimeoutTypes = Field(
        default=None,
        validation_alias=AliasChoices("timeout", "request_timeout"),
        description="HTTP timeout: seconds, (connect, read) or an httpx.Timeout.",
    )
    """HTTP timeout (alias ``request_timeout``): seconds, a ``(connect, read)`` tuple, or an
    ``httpx.Timeout`` used exactly as given. Default: 300 s read, 10 s connect."""
    max_retries: int = Field(
        default=2, description="Retries for rate limits, capacity, 5xx, resets, timeouts."
    )
    """Retries of a failed request (429, 5xx, capacity, resets, timeouts), honouring
    ``retry-after``. The embeddings engine also slows down on rate limits on top of this."""
    reject_if_busy: bool = Field(
        default=False, description="Fail fast on capacity/rate limits: no retry, no fallback."
    )
    """Fail fast when the model or gateway is busy (capacity 3040, rate limits 429/3021/2003):
    no retry and no fallback for those, other failures as usual; for latency-sensitive
    callers that would rather answer "busy" than wait."""
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra headers on every request."
    )
    """Extra headers on every request."""
    max_connections: int | None = Field(
        default=None, description="Most connections of the pool (default 100)."
    )
    """Most connections of the connection pool (default 100); more concurrent requests wait
    for a free one (the pool wait is not bounded by a numeric ``timeout``: see README)."""
    max_keepalive_connections: int | None = Field(
        default=None, description="Idle connections kept for reuse (default 20)."
    )
    """Idle connections kept open for reuse (default 20)."""
    async_transport: AsyncTransport = Field(
        default="httpx",
        description='Async HTTP transport: "httpx" or "aiohttp" (the aiohttp extra).',
    )
    """What the async client sends with: ``"httpx"`` (default) or ``"aiohttp"``, several times
    faster under many concurrent requests (``pip install "workers-ai-python[aiohttp]"``). It
    serves the async chat methods and the embeddings and rerank engines (their sync methods
    too: they run on the async client); sync chat keeps httpx. Errors, retries, timeouts and
    streams behave the same. An injected async HTTP client is used as given."""

    # Type checkers see the fields as keywords (pydantic's dataclass_transform), not **kwargs.
    if not TYPE_CHECKING:

        def __init__(self, **kwargs: Any) -> None:
            for key in _SECRET_KEYWORDS:  # masked in this frame's locals from here on
                if isinstance(kwargs.get(key), str):
                    kwargs[key] = SecretStr(kwargs[key])
            options = kwargs.get("gateway_options")
            if isinstance(options, Mapping) and any(k in options for k in _SECRET_OPTIONS):
                kwargs["gateway_options"] = _masked_options(options)
            # Checked here, not in validators, so users get our typed errors, not pydantic's.
            self._check_kwargs(kwargs)
            super().__init__(**kwargs)
            self._after_init()

    @classmethod
    def _check_kwargs(cls, kwargs: Mapping[str, Any]) -> None:
        """Raise ``UnknownArgumentError`` (with a did-you-mean) for a keyword we do not take."""
        check_arguments(cls.__name__, kwargs, argument_names(cls), allow_unknown=False)

    def _after_init(self) -> None:
        """Checks and set-up once the fields are validated (model, settings, clients)."""

    def _check_model(self, model: str, kind: Kind) -> None:
        check_model(model, kind, owner=type(self).__name__, classes=self.model_classes)

    def _check_chat_models(self, model: str, fallbacks: Sequence[str], endpoint: str) -> None:
        """A chat class's model and fallbacks: each known to the catalog's rules, named once,
        and with a route for ``endpoint`` (:func:`workers_ai.providers.chat_api`)."""
        from workers_ai.fallback import check_chain
        from workers_ai.providers import chat_api

        for name in (model, *check_chain(model, fallbacks)):
            self._check_model(name, "chat")
            chat_api(name, endpoint)

    def _check_chat_routes(
        self, settings: WorkersAISettings, model: str, fallbacks: Sequence[str], endpoint: str
    ) -> None:
        """Once the settings are known: each chain model has a route for its API on them, and a
        provider key is not sent to several providers
        (:func:`~workers_ai.providers.check_chat_chain`)."""
        from workers_ai.providers import check_chat_chain

        key = settings.gateway is not None and settings.gateway.provider_api_key is not None
        check_chat_chain([model, *fallbacks], endpoint, settings, provider_key=key)

    def _resolve_settings(self) -> WorkersAISettings:
        """Validated settings; raises ``ConfigurationError`` naming what is missing."""
        return resolve_settings(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway=self.gateway_id,
            gateway_options=self.gateway_options,
            gateway_token=self.gateway_token,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            async_transport=self.async_transport,
            reject_if_busy=self.reject_if_busy,
            env=os.environ,
        )


class ClientPairOwner:
    """For chat classes holding a :class:`~workers_ai.client.ClientPair` in ``_clients``: the
    clients, and ``close``/``aclose`` as the frameworks expect them."""

    _clients: ClientPair

    @staticmethod
    def _make_clients(
        settings: WorkersAISettings, *, http_client: Any, async_http_client: Any
    ) -> ClientPair:
        """The client pair for ``_clients`` (each client is made on first use)."""
        from workers_ai.client import ClientPair

        return ClientPair(settings, http_client=http_client, async_http_client=async_http_client)

    def _sync_client(self) -> WorkersAIClient:
        return self._clients.sync

    def _async_client(self) -> AsyncWorkersAIClient:
        return self._clients.async_

    def close(self) -> None:
        """Close the connection pool (an injected ``http_client`` is left open)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the async connection pool (an injected async client is left open)."""
        await self._clients.aclose()


def client_pair_owner(value: object, described: str) -> ClientPairOwner:
    """``value`` as the model object whose connection sends a follow-up request (feedback on
    its answer's gateway log); else ``InvalidRequestError`` asking for ``described``."""
    if isinstance(value, ClientPairOwner):
        return value
    raise InvalidRequestError(
        f"Pass the {described} that gave the answer (its connection sends the feedback), "
        f"not a {type(value).__name__}"
    )
