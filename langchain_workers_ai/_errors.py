"""Core errors re-raised as classes that are also ``langchain_core.exceptions`` types.

``except workers_ai.RateLimitError`` and ``except langchain_core.exceptions.ModelRateLimitError``
both catch the same exception, so code written for either keeps working.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

# Imported by name, so an older langchain-core without them fails with an ImportError that
# langchain_workers_ai turns into "needs langchain-core>=...".
from langchain_core.exceptions import (
    ContextOverflowError,
    LangChainException,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

import workers_ai.errors as core


def _dual(core_cls: type[Exception], lc_cls: type[Exception]) -> type[Exception]:
    return type(core_cls.__name__, (core_cls, lc_cls), {"__module__": __name__})


#: Core class -> dual class, most specific first (the first ``isinstance`` match wins).
_DUALS: list[tuple[type[Exception], type[Exception]]] = [
    (core.QuotaExceededError, _dual(core.QuotaExceededError, ModelRateLimitError)),
    (core.CapacityError, _dual(core.CapacityError, ModelRateLimitError)),
    (core.RateLimitError, _dual(core.RateLimitError, ModelRateLimitError)),
    (core.AuthenticationError, _dual(core.AuthenticationError, ModelAuthenticationError)),
    (core.PermissionDeniedError, _dual(core.PermissionDeniedError, ModelPermissionDeniedError)),
    (core.ModelNotFoundError, _dual(core.ModelNotFoundError, ModelNotFoundError)),
    (core.AccountNotFoundError, _dual(core.AccountNotFoundError, ModelInvalidRequestError)),
    (core.NotFoundError, _dual(core.NotFoundError, ModelNotFoundError)),
    (core.LoRANotSupportedError, _dual(core.LoRANotSupportedError, ModelInvalidRequestError)),
    (core.BadRequestError, _dual(core.BadRequestError, ModelInvalidRequestError)),
    (core.PayloadTooLargeError, _dual(core.PayloadTooLargeError, ModelInvalidRequestError)),
    (core.RequestTimeoutError, _dual(core.RequestTimeoutError, ModelTimeoutError)),
    (core.InternalServerError, _dual(core.InternalServerError, ModelAPIError)),
    (core.APIStatusError, _dual(core.APIStatusError, ModelAPIError)),
    (core.APITimeoutError, _dual(core.APITimeoutError, ModelTimeoutError)),
    (core.APIConnectionError, _dual(core.APIConnectionError, ModelConnectionError)),
    (core.StreamError, _dual(core.StreamError, ModelAPIError)),
    (core.APIResponseValidationError, _dual(core.APIResponseValidationError, ModelAPIError)),
]
_CONTEXT_OVERFLOW = _dual(core.BadRequestError, ContextOverflowError)
_CONTEXT_WORDS = ("max context", "context window", "sequence too long", "too many tokens")


def to_langchain_error(error: core.WorkersAIError) -> Exception:
    """The same error as an instance of a class that is also a LangChain exception type."""
    if isinstance(error, core.BadRequestError) and any(
        word in error.message.lower() for word in _CONTEXT_WORDS
    ):
        target: type[Exception] | None = _CONTEXT_OVERFLOW
    else:
        target = next((dual for cls, dual in _DUALS if isinstance(error, cls)), None)
    if target is None or isinstance(error, LangChainException):
        return error
    converted = target.__new__(target)
    Exception.__init__(converted, *error.args)
    converted.__dict__.update(error.__dict__)
    return converted


@contextlib.contextmanager
def langchain_errors() -> Iterator[None]:
    """Re-raise core errors as their LangChain-compatible twins."""
    try:
        yield
    except core.WorkersAIError as error:
        converted = to_langchain_error(error)
        if converted is error:
            raise
        raise converted.with_traceback(error.__traceback__) from error.__cause__
