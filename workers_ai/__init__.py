"""Cloudflare Workers AI core: settings, sync/async clients, typed errors, normalisation.

Framework-free: the LangChain and LlamaIndex adapters build on this package, and so can any
other framework: the building blocks they use (:class:`Embedder`, :class:`Reranker`,
:func:`prepare_chat` with the neutral :class:`Message`, :class:`RetryPolicy`...) are importable
from here. Those are loaded on first use, so ``import workers_ai`` stays light.
"""

from typing import TYPE_CHECKING, Any

from workers_ai.errors import (
    AccountNotFoundError,
    AISearchNotFoundError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    BYOKAliasError,
    CapacityError,
    ConfigurationError,
    ConflictError,
    ContentBlockedError,
    EmbeddingJobError,
    GatewayNotFoundError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    LoRANotSupportedError,
    ModelIdError,
    ModelNotFoundError,
    MutationTimeoutError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    SpendLimitError,
    StreamError,
    UnknownArgumentError,
    VectorizeIndexExistsError,
    VectorizeIndexNotFoundError,
    WorkersAIError,
)

#: Everything else, loaded on first use: name -> module. The errors above are light; the neutral
#: types (frozen dataclasses, a few milliseconds to define), the clients, settings (pydantic),
#: the catalog and the engines are not, and httpx is imported only when a client makes its
#: connection pool.
_LAZY = {
    "APIResponse": "workers_ai.responses",
    "AsyncChatStream": "workers_ai.responses",
    "AsyncEventStream": "workers_ai.responses",
    "AsyncWorkersAIClient": "workers_ai.client",
    "AsyncVectorizeIndex": "workers_ai.vectorize",
    "Vector": "workers_ai.vectorize",
    "VectorizeIndex": "workers_ai.vectorize",
    "BatchCancelledError": "workers_ai.batch_api",
    "BatchJobError": "workers_ai.batch_api",
    "Budget": "workers_ai.budget",
    "BudgetWarning": "workers_ai.budget",
    "CatalogError": "workers_ai.catalog",
    "ChatDelta": "workers_ai.types",
    "ChatRequest": "workers_ai.messages",
    "ChatResponse": "workers_ai.responses",
    "ChatResult": "workers_ai.types",
    "ChatStream": "workers_ai.responses",
    "ChatStreamAccumulator": "workers_ai.streaming",
    "Embedder": "workers_ai.embedder",
    "EmbeddingSpec": "workers_ai.embeddings",
    "EventStream": "workers_ai.responses",
    "FilterError": "workers_ai.vectorize.filters",
    "IngestError": "workers_ai.vectorize.ingest",
    "GatewayLogNotFoundError": "workers_ai.feedback",
    "GatewayOptions": "workers_ai.gateway",
    "ImagePart": "workers_ai.messages",
    "Message": "workers_ai.messages",
    "ModelDeprecatedWarning": "workers_ai.model_checks",
    "PreparedChat": "workers_ai.prepare",
    "RerankResult": "workers_ai.rerank",
    "RerankSpec": "workers_ai.rerank",
    "Reranker": "workers_ai.rerank",
    "ResponseMeta": "workers_ai.types",
    "RetryPolicy": "workers_ai.retry",
    "TextPart": "workers_ai.messages",
    "ToolCall": "workers_ai.types",
    "ToolCallDelta": "workers_ai.types",
    "UnknownModelWarning": "workers_ai.model_checks",
    "Usage": "workers_ai.types",
    "UsageMeter": "workers_ai.usage",
    "WorkersAIClient": "workers_ai.client",
    "WorkersAISettings": "workers_ai.settings",
    "__version__": "workers_ai._distribution",
    "alist_logs": "workers_ai.feedback",
    "asend_feedback": "workers_ai.feedback",
    "build_chat_body": "workers_ai.messages",
    "embedding_spec": "workers_ai.embeddings",
    "list_logs": "workers_ai.feedback",
    "normalize_chat_result": "workers_ai.chat",
    "prepare_chat": "workers_ai.prepare",
    "rerank_spec": "workers_ai.rerank",
    "resolve_settings": "workers_ai.settings",
    "send_feedback": "workers_ai.feedback",
    "track_usage": "workers_ai.usage",
}

if TYPE_CHECKING:
    from workers_ai._distribution import __version__
    from workers_ai.batch_api import BatchCancelledError, BatchJobError
    from workers_ai.budget import Budget, BudgetWarning
    from workers_ai.catalog import CatalogError
    from workers_ai.chat import normalize_chat_result
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
    from workers_ai.embedder import Embedder
    from workers_ai.embeddings import EmbeddingSpec, embedding_spec
    from workers_ai.feedback import (
        GatewayLogNotFoundError,
        alist_logs,
        asend_feedback,
        list_logs,
        send_feedback,
    )
    from workers_ai.gateway import GatewayOptions
    from workers_ai.messages import ChatRequest, ImagePart, Message, TextPart, build_chat_body
    from workers_ai.model_checks import ModelDeprecatedWarning, UnknownModelWarning
    from workers_ai.prepare import PreparedChat, prepare_chat
    from workers_ai.rerank import Reranker, RerankResult, RerankSpec, rerank_spec
    from workers_ai.responses import (
        APIResponse,
        AsyncChatStream,
        AsyncEventStream,
        ChatResponse,
        ChatStream,
        EventStream,
    )
    from workers_ai.retry import RetryPolicy
    from workers_ai.settings import WorkersAISettings, resolve_settings
    from workers_ai.streaming import ChatStreamAccumulator
    from workers_ai.types import (
        ChatDelta,
        ChatResult,
        ResponseMeta,
        ToolCall,
        ToolCallDelta,
        Usage,
    )
    from workers_ai.usage import UsageMeter, track_usage
    from workers_ai.vectorize import AsyncVectorizeIndex, Vector, VectorizeIndex
    from workers_ai.vectorize.filters import FilterError
    from workers_ai.vectorize.ingest import IngestError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workers_ai' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AISearchNotFoundError",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AsyncChatStream",
    "AsyncEventStream",
    "AsyncVectorizeIndex",
    "AsyncWorkersAIClient",
    "AuthenticationError",
    "BYOKAliasError",
    "BadRequestError",
    "BatchCancelledError",
    "BatchJobError",
    "Budget",
    "BudgetExceededError",
    "BudgetWarning",
    "CapacityError",
    "CatalogError",
    "ChatDelta",
    "ChatRequest",
    "ChatResponse",
    "ChatResult",
    "ChatStream",
    "ChatStreamAccumulator",
    "ConfigurationError",
    "ConflictError",
    "ContentBlockedError",
    "Embedder",
    "EmbeddingJobError",
    "EmbeddingSpec",
    "EventStream",
    "FilterError",
    "GatewayLogNotFoundError",
    "GatewayNotFoundError",
    "GatewayOptions",
    "ImagePart",
    "IngestError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "LoRANotSupportedError",
    "Message",
    "ModelDeprecatedWarning",
    "ModelIdError",
    "ModelNotFoundError",
    "MutationTimeoutError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreparedChat",
    "QuotaExceededError",
    "RateLimitError",
    "RequestTimeoutError",
    "RerankResult",
    "RerankSpec",
    "Reranker",
    "ResponseMeta",
    "RetryPolicy",
    "SpendLimitError",
    "StreamError",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "UnknownArgumentError",
    "UnknownModelWarning",
    "Usage",
    "UsageMeter",
    "Vector",
    "VectorizeIndex",
    "VectorizeIndexExistsError",
    "VectorizeIndexNotFoundError",
    "WorkersAIClient",
    "WorkersAIError",
    "WorkersAISettings",
    "__version__",
    "alist_logs",
    "asend_feedback",
    "build_chat_body",
    "embedding_spec",
    "list_logs",
    "normalize_chat_result",
    "prepare_chat",
    "rerank_spec",
    "resolve_settings",
    "send_feedback",
    "track_usage",
]
