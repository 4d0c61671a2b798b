"""What every LlamaIndex class here shares: the core's connection fields and construction
(:class:`workers_ai.connection.ConnectionModel`), with this package's class names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from llama_index.core.bridge.pydantic import Field
from pydantic import AliasChoices

from workers_ai.connection import ConnectionModel
from workers_ai.model_checks import Kind, default_model

__all__ = [
    "WorkersAIConnection",
    "model_field",
]


def model_field(kind: Kind, description: str) -> Any:
    """A model-id field that also accepts ``model_name`` (and ``model``), defaulting to the
    catalog's default ``kind`` model (the catalog is read when an object is built)."""
    return Field(
        default_factory=lambda: default_model(kind),
        validation_alias=AliasChoices("model", "model_name"),
        description=description,
    )


class WorkersAIConnection(ConnectionModel):
    """Credentials, base URL (alias ``api_base``), AI Gateway, timeout, retries and headers,
    as LlamaIndex's OpenAI classes name them. Unknown keywords raise: LlamaIndex would drop
    them without a word."""

    model_classes: ClassVar[Mapping[Kind, str]] = {
        "chat": "WorkersAI",
        "embeddings": "WorkersAIEmbedding",
        "reranker": "WorkersAIRerank",
    }
