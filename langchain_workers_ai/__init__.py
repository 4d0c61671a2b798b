"""LangChain integrations for Cloudflare Workers AI (the ``langchain`` extra)."""

from workers_ai._distribution import __version__, framework_imports

with framework_imports("langchain_workers_ai", "langchain", "langchain-core", "langchain_core"):
    from langchain_workers_ai.callbacks import WorkersAICallbackHandler, get_workers_ai_callback
    from langchain_workers_ai.chat_models import ChatWorkersAI
    from langchain_workers_ai.embeddings import WorkersAIEmbeddings
    from langchain_workers_ai.errors import (
        AccountNotFoundError,
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        BYOKAliasError,
        CapacityError,
        ConflictError,
        ContentBlockedError,
        ContextOverflowError,
        GatewayLogNotFoundError,
        GatewayNotFoundError,
        InsufficientCreditsError,
        InternalServerError,
        LoRANotSupportedError,
        ModelNotFoundError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        QuotaExceededError,
        RateLimitError,
        RequestTimeoutError,
        SpendLimitError,
        StreamError,
    )
    from langchain_workers_ai.feedback import (
        asend_message_feedback,
        message_log_id,
        send_message_feedback,
    )
    from langchain_workers_ai.rerankers import WorkersAIReranker

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AuthenticationError",
    "BYOKAliasError",
    "BadRequestError",
    "CapacityError",
    "ChatWorkersAI",
    "ConflictError",
    "ContentBlockedError",
    "ContextOverflowError",
    "GatewayLogNotFoundError",
    "GatewayNotFoundError",
    "InsufficientCreditsError",
    "InternalServerError",
    "LoRANotSupportedError",
    "ModelNotFoundError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestTimeoutError",
    "SpendLimitError",
    "StreamError",
    "WorkersAICallbackHandler",
    "WorkersAIEmbeddings",
    "WorkersAIReranker",
    "__version__",
    "asend_message_feedback",
    "get_workers_ai_callback",
    "message_log_id",
    "send_message_feedback",
]
