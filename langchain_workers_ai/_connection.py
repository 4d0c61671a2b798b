"""What every LangChain class here shares: the core's connection fields and construction
(:class:`workers_ai.connection.ConnectionModel`), with this package's class names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, PrivateAttr

from workers_ai.connection import ClientPairOwner, ConnectionModel
from workers_ai.model_checks import Kind

if TYPE_CHECKING:
    from workers_ai.client import ClientPair
    from workers_ai.settings import WorkersAISettings

__all__ = [
    "ClientConnection",
    "WorkersAIConnection",
]


class WorkersAIConnection(ConnectionModel):
    """Credentials, base URL, AI Gateway, timeout, retries and headers, as
    langchain-openai's classes name them."""

    model_classes: ClassVar[Mapping[Kind, str]] = {
        "chat": "ChatWorkersAI",
        "embeddings": "WorkersAIEmbeddings",
        "reranker": "WorkersAIReranker",
    }

    @property
    def model_name(self) -> str:
        """The model id (``model``), under the name langchain-openai uses."""
        model: str = getattr(self, "model")  # noqa: B009 - every subclass defines the field
        return model


class ClientConnection(WorkersAIConnection, ClientPairOwner):
    """The connection fields, lazily built clients and ``close``/``aclose`` of the classes that
    are no model (task tools, toolkit, loaders, vector store, retrievers)."""

    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to use instead of the built-in pool (you close it)."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to use instead of the built-in pool (you close it)."""

    _settings: WorkersAISettings = PrivateAttr()
    _clients: ClientPair = PrivateAttr()

    def _after_init(self) -> None:
        """Resolve the settings (no I/O); the clients are made on first use."""
        self._settings = self._resolve_settings()
        self._clients = self._make_clients(
            self._settings, http_client=self.http_client, async_http_client=self.http_async_client
        )

    def _connection_kwargs(self) -> dict[str, Any]:
        """This object's connection fields, to build another object on the same connection."""
        names = (*WorkersAIConnection.model_fields, "http_client", "http_async_client")
        return {name: getattr(self, name) for name in names}
