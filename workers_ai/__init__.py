"""Cloudflare Workers AI core: settings, sync/async clients, typed errors, normalisation.

Framework-free: the LangChain and LlamaIndex adapters build on this package.
"""

from workers_ai._distribution import __version__
from workers_ai.batch_api import BatchJobError
from workers_ai.catalog import CatalogError
from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
from workers_ai.errors import (
    AccountNotFoundError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CapacityError,
    ConfigurationError,
    ConflictError,
    EmbeddingJobError,
    InternalServerError,
    InvalidRequestError,
    LoRANotSupportedError,
    ModelNotFoundError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    StreamError,
    UnknownArgumentError,
    WorkersAIError,
)
from workers_ai.model_checks import ModelDeprecatedWarning, UnknownModelWarning
from workers_ai.responses import (
    APIResponse,
    AsyncChatStream,
    AsyncEventStream,
    ChatResponse,
    ChatStream,
    EventStream,
)
from workers_ai.settings import GatewayOptions, WorkersAISettings, resolve_settings
from workers_ai.types import ChatDelta, ChatResult, ResponseMeta, ToolCall, ToolCallDelta, Usage

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AsyncChatStream",
    "AsyncEventStream",
    "AsyncWorkersAIClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchJobError",
    "CapacityError",
    "CatalogError",
    "ChatDelta",
    "ChatResponse",
    "ChatResult",
    "ChatStream",
    "ConfigurationError",
    "ConflictError",
    "EmbeddingJobError",
    "EventStream",
    "GatewayOptions",
    "InternalServerError",
    "InvalidRequestError",
    "LoRANotSupportedError",
    "ModelDeprecatedWarning",
    "ModelNotFoundError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseMeta",
    "StreamError",
    "ToolCall",
    "ToolCallDelta",
    "UnknownArgumentError",
    "UnknownModelWarning",
    "Usage",
    "WorkersAIClient",
    "WorkersAIError",
    "WorkersAISettings",
    "__version__",
    "resolve_settings",
]
