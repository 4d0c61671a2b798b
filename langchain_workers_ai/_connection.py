"""What every LangChain class here shares: the core's connection fields and construction
(:class:`workers_ai.connection.ConnectionModel`), with this package's class names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from workers_ai.connection import ConnectionModel
from workers_ai.model_checks import Kind

__all__ = [
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
