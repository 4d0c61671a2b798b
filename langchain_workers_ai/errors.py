"""The core's API errors as classes that are also ``langchain_core.exceptions`` types.

Every chat model, embeddings and reranker call re-raises a :mod:`workers_ai` error as its twin
declared here, so ``except workers_ai.RateLimitError`` and
``except langchain_core.exceptions.ModelRateLimitError`` both catch it: code written for either
keeps working. Each twin keeps the core name (``langchain_workers_ai.RateLimitError`` is both
``workers_ai.RateLimitError`` and ``ModelRateLimitError``) and all attributes of the core error
(``status_code``, ``code``, ``codes``, ``errors``, ``request_id``, ``hint``, ``headers``,
``body``, ``message``). A ``BadRequestError`` whose message says the input is longer than the
model's context becomes :class:`ContextOverflowError`.

==================================  ======================================================
Core class (and its twin's name)    Also a ``langchain_core.exceptions``...
==================================  ======================================================
``APIStatusError``                  ``ModelAPIError``
``BadRequestError``                 ``ModelInvalidRequestError``
``LoRANotSupportedError``           ``ModelInvalidRequestError``
``ContextOverflowError`` (own name) ``ContextOverflowError``
``AuthenticationError``             ``ModelAuthenticationError``
``PermissionDeniedError``           ``ModelPermissionDeniedError``
``NotFoundError``                   ``ModelNotFoundError``
``ModelNotFoundError``              ``ModelNotFoundError``
``AccountNotFoundError``            ``ModelInvalidRequestError``
``RequestTimeoutError``             ``ModelTimeoutError``
``ConflictError``                   ``ModelAPIError``
``PayloadTooLargeError``            ``ModelInvalidRequestError``
``RateLimitError``                  ``ModelRateLimitError``
``CapacityError``                   ``ModelRateLimitError``
``QuotaExceededError``              ``ModelRateLimitError`` (``is_retryable`` is ``False``)
``InternalServerError``             ``ModelAPIError``
``APIConnectionError``              ``ModelConnectionError``
``APITimeoutError``                 ``ModelTimeoutError``
``StreamError``                     ``ModelAPIError``
``APIResponseValidationError``      ``ModelAPIError``
``GatewayLogNotFoundError``         ``ModelInvalidRequestError`` (feedback on an unknown log)
``VectorizeIndexNotFoundError``     ``ModelInvalidRequestError`` (codes 3000/3005)
``AISearchNotFoundError``           ``ModelInvalidRequestError`` (no such instance/AutoRAG)
``VectorizeIndexExistsError``       ``ModelAPIError`` (code 3002; not retried)
==================================  ======================================================

A twin also derives from the twin of its core parent when both share the LangChain type
(``CapacityError`` is a ``langchain_workers_ai.RateLimitError``), never otherwise, so no error
gains a LangChain type it should not have. To catch a whole family, catch the core class
(``except workers_ai.APIStatusError``). All twins pickle with their attributes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType

# Imported by name, so an older langchain-core without them fails with an ImportError that
# langchain_workers_ai turns into "needs langchain-core>=...".
from langchain_core.exceptions import ContextOverflowError as _LangChainContextOverflowError
from langchain_core.exceptions import (
    LangChainException,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.exceptions import ModelNotFoundError as _LangChainModelNotFoundError

import workers_ai.errors as core
from workers_ai import feedback as _feedback

__all__ = [
    "TWINS",
    "AISearchNotFoundError",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AuthenticationError",
    "BYOKAliasError",
    "BadRequestError",
    "CapacityError",
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
    "VectorizeIndexExistsError",
    "VectorizeIndexNotFoundError",
    "langchain_errors",
    "to_langchain_error",
]


class APIStatusError(core.APIStatusError, ModelAPIError):
    """An error status without a more specific class; also a ``ModelAPIError``."""


class BadRequestError(core.BadRequestError, ModelInvalidRequestError):
    """The input was rejected (HTTP 400); also a ``ModelInvalidRequestError``."""


class LoRANotSupportedError(core.LoRANotSupportedError, BadRequestError):
    """A ``lora`` for a model without LoRA support; also a ``ModelInvalidRequestError``."""


class ContextOverflowError(core.BadRequestError, _LangChainContextOverflowError):
    """The input is longer than the model's context window (HTTP 400).

    A ``workers_ai.BadRequestError`` and a ``langchain_core.exceptions.ContextOverflowError``
    (not a ``ModelInvalidRequestError``), so LangChain's summarization middleware can shorten
    the history and retry.
    """


class AuthenticationError(core.AuthenticationError, ModelAuthenticationError):
    """The API token is missing, wrong or lacks permission; also a ``ModelAuthenticationError``."""


class PermissionDeniedError(core.PermissionDeniedError, ModelPermissionDeniedError):
    """The account may not use this model or service; also a ``ModelPermissionDeniedError``."""


class NotFoundError(core.NotFoundError, _LangChainModelNotFoundError):
    """The route or object does not exist (HTTP 404); also a LangChain ``ModelNotFoundError``."""


class ModelNotFoundError(core.ModelNotFoundError, NotFoundError):
    """No such model (codes 5007, 3042); also a LangChain ``ModelNotFoundError``."""


class AccountNotFoundError(core.AccountNotFoundError, ModelInvalidRequestError):
    """The account id is wrong (codes 7003, 7000); also a ``ModelInvalidRequestError``.

    Not a LangChain ``ModelNotFoundError``: the model may well exist.
    """


class RequestTimeoutError(core.RequestTimeoutError, ModelTimeoutError):
    """Workers AI timed out or aborted the inference (HTTP 408); also a ``ModelTimeoutError``."""


class ConflictError(core.ConflictError, APIStatusError):
    """HTTP 409; also a ``ModelAPIError``."""


class PayloadTooLargeError(core.PayloadTooLargeError, ModelInvalidRequestError):
    """The request body is too large (HTTP 413); also a ``ModelInvalidRequestError``."""


class RateLimitError(core.RateLimitError, ModelRateLimitError):
    """Too many requests (HTTP 429); also a ``ModelRateLimitError``."""


class CapacityError(core.CapacityError, RateLimitError):
    """Workers AI is temporarily out of capacity (code 3040); also a ``ModelRateLimitError``."""


class QuotaExceededError(core.QuotaExceededError, RateLimitError):
    """The daily free allocation of neurons is used up; also a ``ModelRateLimitError``.

    ``is_retryable`` is ``False`` (LangChain's retry middleware reads it): the allocation
    resets at 00:00 UTC, so retrying within seconds cannot succeed.
    """

    is_retryable = False


class InternalServerError(core.InternalServerError, APIStatusError):
    """Workers AI or a proxy failed (HTTP 5xx); also a ``ModelAPIError``."""


class APIConnectionError(core.APIConnectionError, ModelConnectionError):
    """The request never got an HTTP response; also a ``ModelConnectionError``."""


class APITimeoutError(core.APITimeoutError, ModelTimeoutError):
    """The request timed out on our side; also a ``ModelTimeoutError``."""


class StreamError(core.StreamError, ModelAPIError):
    """A server-sent-event stream broke after it started; also a ``ModelAPIError``."""


class APIResponseValidationError(core.APIResponseValidationError, ModelAPIError):
    """A 2xx response whose body is not what the API documents; also a ``ModelAPIError``."""


class GatewayNotFoundError(core.GatewayNotFoundError, ModelInvalidRequestError):
    """The AI Gateway does not exist (code 2001); also a ``ModelInvalidRequestError``."""


class InsufficientCreditsError(core.InsufficientCreditsError, APIStatusError):
    """Unified Billing credits are used up (code 2021); also a ``ModelAPIError``. Not retried."""

    is_retryable = False


class BYOKAliasError(core.BYOKAliasError, BadRequestError):
    """No stored provider key under that alias (code 2040); also a ``ModelInvalidRequestError``."""


class SpendLimitError(core.SpendLimitError, QuotaExceededError):
    """An AI Gateway spend limit is exhausted (code 2041); also a ``ModelRateLimitError``."""


class ContentBlockedError(core.ContentBlockedError, BadRequestError):
    """AI Gateway guardrails blocked the prompt or response (2016/2017)."""


class GatewayLogNotFoundError(_feedback.GatewayLogNotFoundError, ModelInvalidRequestError):
    """Feedback named an AI Gateway log the gateway does not have (HTTP 404); also a
    ``ModelInvalidRequestError`` (not a ``ModelNotFoundError``: the model is not at fault)."""


class VectorizeIndexNotFoundError(core.VectorizeIndexNotFoundError, ModelInvalidRequestError):
    """The Vectorize index does not exist or was deleted (3000/3005); also a
    ``ModelInvalidRequestError`` (not a ``ModelNotFoundError``: the model is not at fault)."""


class AISearchNotFoundError(core.AISearchNotFoundError, ModelInvalidRequestError):
    """No such AI Search instance, namespace or AutoRAG (404); also a
    ``ModelInvalidRequestError`` (not a ``ModelNotFoundError``: the model is not at fault)."""


class VectorizeIndexExistsError(core.VectorizeIndexExistsError, ConflictError):
    """A Vectorize index of that name exists (3002); also a ``ModelAPIError``. Not retried."""

    is_retryable = False


_TWIN_CLASSES: tuple[type[core.WorkersAIError], ...] = (
    APIStatusError,
    BadRequestError,
    LoRANotSupportedError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ModelNotFoundError,
    AccountNotFoundError,
    RequestTimeoutError,
    ConflictError,
    PayloadTooLargeError,
    RateLimitError,
    CapacityError,
    QuotaExceededError,
    InternalServerError,
    APIConnectionError,
    APITimeoutError,
    StreamError,
    APIResponseValidationError,
    GatewayNotFoundError,
    InsufficientCreditsError,
    BYOKAliasError,
    SpendLimitError,
    ContentBlockedError,
    GatewayLogNotFoundError,
    VectorizeIndexNotFoundError,
    VectorizeIndexExistsError,
    AISearchNotFoundError,
)

#: Core class -> its twin (the twin's first base is the core class). :func:`to_langchain_error`
#: uses the twin of the most specific class in the error's MRO.
TWINS: Mapping[type[core.WorkersAIError], type[core.WorkersAIError]] = MappingProxyType(
    {twin.__bases__[0]: twin for twin in _TWIN_CLASSES}
)
_CONTEXT_WORDS = ("max context", "context window", "sequence too long", "too many tokens")


def to_langchain_error(error: core.WorkersAIError) -> core.WorkersAIError:
    """The same error as an instance of its twin, which is also a LangChain exception type.

    Errors already of a LangChain type, and errors without a twin (configuration and
    invalid-request errors, ``BatchJobError``...), are returned unchanged.
    """
    if isinstance(error, LangChainException):
        return error
    target: type[core.WorkersAIError] | None
    if type(error) is core.BadRequestError and any(
        word in error.message.lower() for word in _CONTEXT_WORDS
    ):
        target = ContextOverflowError
    else:
        target = next((TWINS[cls] for cls in type(error).__mro__ if cls in TWINS), None)
    if target is None:
        return error
    converted = target.__new__(target, *error.args)
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
