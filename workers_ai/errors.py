"""One exception tree for everything the core raises.

``WorkersAIError``
 ├─ ``ConfigurationError`` (also a ``ValueError``): bad settings, raised before any I/O
 │   └─ ``UnknownArgumentError`` (also a ``TypeError``): a misspelt keyword argument
 ├─ ``InvalidRequestError`` (also a ``ValueError``): bad input caught before any I/O
 ├─ ``BudgetExceededError``: a call would cross a usage budget (:mod:`workers_ai.budget`);
 │   raised before the request is sent
 ├─ ``CatalogError`` (also a ``ValueError``, in :mod:`workers_ai.catalog`): malformed catalog data
 └─ ``APIError``: something went wrong talking to Workers AI
     ├─ ``APIConnectionError`` ─ ``APITimeoutError``
     ├─ ``APIResponseValidationError``: a 2xx body we cannot read
     ├─ ``StreamError``: an SSE stream broke (error event, no ``[DONE]``, bad JSON)
     ├─ ``BatchJobError`` (in :mod:`workers_ai.batch_api`): a batch job or some of its items failed
     │   └─ ``BatchCancelledError``: waiting for a job was cancelled (the job goes on)
     ├─ ``EmbeddingJobError``: some batches of a bulk embedding failed; the finished vectors
     │   are on the error, and the job can resume from it
     └─ ``APIStatusError(status_code, code, message, request_id)`` and one subclass per meaning:
        ``BadRequestError`` (``LoRANotSupportedError``), ``AuthenticationError``,
        ``PermissionDeniedError``, ``NotFoundError`` (``ModelNotFoundError``,
        ``AccountNotFoundError``, ``GatewayNotFoundError``), ``RequestTimeoutError``,
        ``ConflictError``, ``PayloadTooLargeError``, ``RateLimitError`` (``CapacityError``,
        ``QuotaExceededError`` (``SpendLimitError``)), ``InternalServerError``, and the AI
        Gateway's ``InsufficientCreditsError``, ``BYOKAliasError`` (a ``BadRequestError``) and
        ``ContentBlockedError`` (a ``BadRequestError``).

``ConfigurationError`` and ``InvalidRequestError`` meet in ``ModelIdError``: a model id that
cannot be routed (malformed, or an AI Gateway provider the spec does not list).

Every class is importable from :mod:`workers_ai` and survives ``pickle`` (and ``copy``) with
all its attributes and the same ``str()``, so errors can cross process boundaries
(multiprocessing, Ray, Celery, durable agents). ``langchain_workers_ai`` declares twins of the
API errors that are also ``langchain_core.exceptions`` types.

Which class a response maps to is decided by
:func:`workers_ai.envelope.status_error_from_response` from the table in this module:
Cloudflare's own error code first, HTTP status second.
"""

from __future__ import annotations

import datetime
from typing import Any

__all__ = [
    "CODE_HINTS",
    "CODE_TABLE",
    "GATEWAY_STATUS_HINTS",
    "SERVICE_CODE_TABLES",
    "SERVICE_STATUS_HINTS",
    "SERVICE_STATUS_TABLES",
    "STATUS_HINTS",
    "STATUS_TABLE",
    "AISearchNotFoundError",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AuthenticationError",
    "BYOKAliasError",
    "BadRequestError",
    "BudgetExceededError",
    "CapacityError",
    "ConfigurationError",
    "ConflictError",
    "ContentBlockedError",
    "EmbeddingJobError",
    "GatewayNotFoundError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "LoRANotSupportedError",
    "ModelIdError",
    "ModelNotFoundError",
    "MutationTimeoutError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestTimeoutError",
    "SpendLimitError",
    "StreamError",
    "UnknownArgumentError",
    "VectorizeIndexExistsError",
    "VectorizeIndexNotFoundError",
    "WorkersAIError",
    "next_daily_reset",
]


class WorkersAIError(Exception):
    """Base class of every error raised by this package.

    Pickling rebuilds an error without calling ``__init__`` and restores its ``args`` and
    attributes, so subclasses with keyword-only or computed fields need no pickling code.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException's own __reduce__ calls cls(*args) on unpickling, which fails for
        # keyword-only fields (TypeError in the receiving process) or a changed signature.
        return (_rebuild_error, (type(self), self.args), self.__dict__.copy() or None)


def _rebuild_error(cls: type[WorkersAIError], args: tuple[Any, ...]) -> WorkersAIError:
    """An instance of ``cls`` with ``args`` set, without running ``__init__`` (for pickle)."""
    return cls.__new__(cls, *args)


class ConfigurationError(WorkersAIError, ValueError):
    """Settings are missing or invalid (raised at construction or before the first request)."""


class UnknownArgumentError(ConfigurationError, TypeError):
    """A keyword argument the class does not know, e.g. a misspelling.

    Raised at construction, before any request, with a did-you-mean. Also a ``TypeError``,
    like Python's own error for an unexpected keyword argument.

    Attributes:
        owner: Name of the class that was constructed, e.g. ``"ChatWorkersAI"``.
        argument: The unknown keyword argument as given.
        suggestion: The known argument it most likely meant, or ``None``.
    """

    def __init__(self, owner: str, argument: str, suggestion: str | None = None) -> None:
        message = f"{owner} got an unexpected keyword argument {argument!r}"
        if suggestion:
            message += f"; did you mean {suggestion!r}?"
        super().__init__(message)
        self.owner = owner
        self.argument = argument
        self.suggestion = suggestion


class InvalidRequestError(WorkersAIError, ValueError):
    """The request is invalid and was rejected locally, before any network call."""


class ModelIdError(ConfigurationError, InvalidRequestError):
    """A model id that cannot be routed: malformed, or an AI Gateway provider nobody lists.

    Both a ``ConfigurationError`` (raised when a model object is built) and an
    ``InvalidRequestError`` (raised for a per-call ``model=``), always before any request.
    """


class BudgetExceededError(WorkersAIError):
    """A call's worst case would cross a budget's limit; nothing was sent.

    Attributes:
        unit: ``"neurons"`` or ``"usd"``.
        limit: The limit.
        spent: What finished calls used.
        reserved: The worst cases of calls in flight.
        needed: This call's worst case (``None``: it could not be priced and the budget
            refuses unpriced calls).
        model: The model whose own limit it is; ``None`` for the total.
    """

    def __init__(
        self,
        message: str,
        *,
        unit: str,
        limit: float,
        spent: float,
        reserved: float,
        needed: float | None,
        model: str | None = None,
    ) -> None:
        super().__init__(message)
        self.unit = unit
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.needed = needed
        self.model = model


class APIError(WorkersAIError):
    """A request to Workers AI failed.

    Attributes:
        message: Human-readable description (never contains the API token).
        body: The parsed error body, or a short excerpt of a non-JSON body.
    """

    def __init__(self, message: str, *, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


class APIConnectionError(APIError):
    """The request never got an HTTP response (DNS, refused connection, reset...)."""

    def __init__(self, message: str = "Connection error.", *, body: Any = None) -> None:
        super().__init__(message, body=body)


class APITimeoutError(APIConnectionError):
    """The request timed out on our side (connect, read, write or pool timeout)."""

    def __init__(self, message: str = "Request timed out.", *, body: Any = None) -> None:
        super().__init__(message, body=body)


class APIResponseValidationError(APIError):
    """A reply whose body is not what the API documents (malformed, out of bounds).

    Attributes:
        status_code: The HTTP status of the reply, when there was one.
        code: A Cloudflare error code found in it, if any.
        body: A short excerpt of the body (never the whole body).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, body=body)
        self.status_code = status_code
        self.code = code


class APIStatusError(APIError):
    """Workers AI answered with an error status or a ``success: false`` envelope.

    Attributes:
        status_code: HTTP status code of the response.
        code: The first Cloudflare error code (``errors[0].code``), if any.
        codes: All Cloudflare error codes in the body.
        errors: The ``errors`` array of the envelope, as received.
        request_id: A request identifier from the response headers, if any.
        headers: The response headers (lower-case names), e.g. for ``retry-after``.
        hint: What the user can do about it, when we know.
        provider: The AI Gateway provider the request went to (``openai``, ``google-ai-studio``,
            ``dynamic``...), from the model id; ``None`` for Workers AI models.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        codes: tuple[int, ...] = (),
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, body=body)
        self.provider = provider
        self.headers = headers or {}
        self.status_code = status_code
        self.code = code
        self.codes = codes or ((code,) if code is not None else ())
        self.errors = errors or []
        self.request_id = request_id
        self.hint = hint

    def __str__(self) -> str:
        parts = [f"HTTP {self.status_code}"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if getattr(self, "provider", None):  # errors pickled by 0.1 have no provider
            parts.append(f"provider {self.provider}")
        text = f"{self.message} ({', '.join(parts)})"
        if self.hint:
            text += f" Hint: {self.hint}"
        if self.request_id:
            text += f" [request id: {self.request_id}]"
        return text


def _rebuild_status_error(cls: type[APIStatusError], state: dict[str, Any]) -> APIStatusError:
    """Unpickle an error pickled by an earlier release (its ``APIStatusError.__reduce__``)."""
    error = cls.__new__(cls, state.get("message", ""))
    error.__dict__.update(state)
    return error


class BadRequestError(APIStatusError):
    """The input was rejected (HTTP 400; codes 5006, 3030, 5004, 3003, 3039, 7000...)."""


class LoRANotSupportedError(BadRequestError):
    """A ``lora`` was given for a model that does not support LoRA adapters (code 5005)."""


class AuthenticationError(APIStatusError):
    """The API token is missing, wrong or lacks permission (code 10000, HTTP 401/403)."""


class PermissionDeniedError(APIStatusError):
    """The account may not use this model or service (HTTP 403; 5018, 3041, 5016, 3023)."""


class NotFoundError(APIStatusError):
    """The route or object does not exist (HTTP 404)."""


class ModelNotFoundError(NotFoundError):
    """No such model (codes 5007 and 3042)."""


class AccountNotFoundError(NotFoundError):
    """The account id (or the URL built from it) is wrong (codes 7003 and 7000)."""


class RequestTimeoutError(APIStatusError):
    """Workers AI timed out or aborted the inference (HTTP 408; codes 3007, 3008)."""


class ConflictError(APIStatusError):
    """HTTP 409."""


class PayloadTooLargeError(APIStatusError):
    """The request body is too large (HTTP 413; code 3006)."""


class RateLimitError(APIStatusError):
    """Too many requests (HTTP 429; code 3021). Retried by the client."""


class CapacityError(RateLimitError):
    """Workers AI is temporarily out of capacity (code 3040). Retried by the client."""


class QuotaExceededError(RateLimitError):
    """The daily free allocation of neurons is used up (code 3036; 4006 via bindings).

    Never retried: it resets at 00:00 UTC (``resets_at``; the message says when), or upgrade
    to the paid plan.

    Attributes:
        resets_at: When the daily allocation resets: the next 00:00 UTC after the response's
            ``Date`` header (else after now); ``None`` for an AI Gateway spend limit, whose
            window is the rule's.
    """

    _daily = True

    @property
    def resets_at(self) -> datetime.datetime | None:
        if not self._daily:
            return None
        return next_daily_reset(_response_date(getattr(self, "headers", None) or {}))

    def __str__(self) -> str:
        text = super().__str__()
        resets_at = self.resets_at
        if resets_at is None:
            return text
        return f"{text} The daily allocation resets at {resets_at:%Y-%m-%d %H:%M} UTC."


def _response_date(headers: dict[str, str]) -> datetime.datetime | None:
    """The ``Date`` header of a response (when the server answered), if readable."""
    import email.utils

    try:
        return email.utils.parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError):
        return None


def next_daily_reset(now: datetime.datetime | None = None) -> datetime.datetime:
    """The next 00:00 UTC after ``now`` (default: the current time), when Workers AI's daily
    free allocation resets (spec §9)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    today = now.astimezone(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + datetime.timedelta(days=1)


class InternalServerError(APIStatusError):
    """Workers AI or a proxy failed (HTTP 5xx)."""


class GatewayNotFoundError(NotFoundError):
    """The AI Gateway named by the request does not exist (AI Gateway code 2001).

    The message names the gateway id; create the gateway or fix ``GatewayOptions(id=...)``.
    """


class InsufficientCreditsError(APIStatusError):
    """Unified Billing has no credits left, or the model is not eligible for it (code 2021).

    Never retried: top up credits, or bring your own provider key (BYOK).
    """


class BYOKAliasError(BadRequestError):
    """The provider has no stored key under the ``byok_alias`` sent (code 2040). Never retried.

    Attributes:
        aliases: The aliases the gateway says are configured, when its message lists them.
    """

    @property
    def aliases(self) -> tuple[str, ...]:
        """The configured aliases named by the gateway's message (``()`` if it names none)."""
        return _configured_aliases(self.message)


class SpendLimitError(QuotaExceededError):
    """An AI Gateway spend limit rule is exhausted (code 2041). Never retried: it lasts until
    the rule's window slides past, or raise the limit in the dashboard."""

    _daily = False


class ContentBlockedError(BadRequestError):
    """AI Gateway guardrails blocked the prompt (code 2016) or the response (code 2017)."""


def _configured_aliases(message: str) -> tuple[str, ...]:
    """The aliases of ``... Configured aliases: default, prod`` (spec §1.10), else ``()``."""
    _, found, rest = message.partition("Configured aliases:")
    if not found:
        return ()
    names = (part.strip().strip(".'\"` ") for part in rest.split(","))
    return tuple(name for name in names if name and name.lower() != "none")


class VectorizeIndexNotFoundError(NotFoundError):
    """The Vectorize index does not exist, or was deleted (codes 3000, 3005)."""


class VectorizeIndexExistsError(ConflictError):
    """An index of that name exists already (code 3002); not retried."""


class AISearchNotFoundError(NotFoundError):
    """The AI Search instance, namespace or legacy AutoRAG does not exist (HTTP 404)."""


class MutationTimeoutError(WorkersAIError):
    """A Vectorize write was accepted but not yet applied when the wait ran out.

    The write is not lost: Vectorize applies it later. Wait again with
    ``wait_for_mutation(mutation_id)``, or raise the timeout.

    Attributes:
        index: The index name.
        mutation_id: The mutation waited for.
        waited: Seconds waited.
        processed_up_to: The last mutation the index had applied, if any.
    """

    def __init__(
        self, message: str, *, index: str, mutation_id: str, waited: float,
        processed_up_to: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.index = index
        self.mutation_id = mutation_id
        self.waited = waited
        self.processed_up_to = processed_up_to


class StreamError(APIError):
    """A server-sent-event stream broke after it started.

    Raised for an error event inside the stream, a stream that ended without ``data: [DONE]``,
    or an event whose data is not valid JSON. Never retried once events were handed out.

    Attributes:
        code: The Cloudflare error code of an in-stream error event, if any.
        error_class: The :class:`APIStatusError` subclass the code maps to, if any, so callers
            can tell a capacity error from an input error.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        error_class: type[APIStatusError] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, body=body)
        self.code = code
        self.error_class = error_class

    def __str__(self) -> str:
        return self.message if self.code is None else f"{self.message} (code {self.code})"


class EmbeddingJobError(APIError):
    """Some batches of a bulk embedding failed for good; the others finished and are kept.

    Raised by ``embed_documents`` when a batch still fails after its retries (and a second
    round once the rest of the job is done), or when an error makes the rest pointless
    (authentication, permission, model not found, the daily quota). The job can resume from
    it: ``Embedder.resume(texts, error)`` (``resume_documents`` on the framework classes)
    embeds only ``failed_indices``.

    Attributes:
        vectors: One entry per input text, in input order: its vector, or ``None`` where its
            batch failed.
        failed_indices: The input indices without a vector.
        errors: The final error of each failed batch (or the one that stopped the job).
    """

    def __init__(
        self,
        message: str,
        *,
        vectors: list[list[float] | None],
        failed_indices: tuple[int, ...],
        errors: tuple[APIError, ...] = (),
    ) -> None:
        super().__init__(message)
        self.vectors = vectors
        self.failed_indices = failed_indices
        self.errors = errors


_ACCOUNT_HINT = (
    "Check the account id (CLOUDFLARE_ACCOUNT_ID): it is the 32-character hex id from the "
    "Cloudflare dashboard URL, not your email or zone id. Also check base_url."
)
_AUTH_HINT = (
    "Check the API token (CLOUDFLARE_API_TOKEN): it must be valid and have the "
    "'Workers AI Read' permission for this account."
)
_MODEL_HINT = (
    "Check the model id: it must be a full id such as '@cf/meta/llama-3.1-8b-instruct'. "
    "List models with WorkersAIClient.models_search()."
)
_QUOTA_HINT = (
    "The free allocation (10,000 neurons/day) resets at 00:00 UTC; upgrade to Workers Paid "
    "to continue now."
)
_CAPACITY_HINT = "Retry later, or use a less busy model."
_RATE_HINT = (
    "Lower concurrency or request rate; Workers AI limits requests per minute per task "
    "(e.g. 300/min for text generation)."
)
_TOO_LARGE_HINT = "Send fewer or shorter inputs per request."
_GATEWAY_AUTH_HINT = (
    "AI Gateway rejected the credentials: on gateway.ai.cloudflare.com send the gateway token "
    "(GatewayOptions(auth_token=...) or CF_AIG_TOKEN, sent as cf-aig-authorization); on "
    "api.cloudflare.com the API token needs the 'AI Gateway' permission. Or the provider "
    "rejected its key: check the stored BYOK key or provider_api_key."
)
_CREDITS_HINT = (
    "Top up Unified Billing credits (dashboard: AI > AI Gateway > Credits), or use BYOK: store "
    "the provider's key on the gateway (GatewayOptions(byok_alias=...)) or pass "
    "provider_api_key with routing='url'. Some models are not eligible for Unified Billing."
)
_GATEWAY_HINT = (
    "Create the gateway in the dashboard (AI > AI Gateway) or fix GatewayOptions(id=...); "
    "only 'default' is created automatically."
)
_INDEX_HINT = (
    "Check the index name and account id, or create the index first "
    "(client.vectorize.create_index(name, dimensions=..., metric=...))."
)
_LORA_HINT = "This model does not accept LoRA adapters; remove `lora` or pick a LoRA-capable model."


#: Cloudflare error code -> (exception class, hint). Codes not listed fall back to HTTP status.
CODE_TABLE: dict[int, tuple[type[APIStatusError], str | None]] = {
    10000: (AuthenticationError, _AUTH_HINT),
    2009: (AuthenticationError, _GATEWAY_AUTH_HINT),
    7003: (AccountNotFoundError, _ACCOUNT_HINT),
    7000: (AccountNotFoundError, _ACCOUNT_HINT),
    5007: (ModelNotFoundError, _MODEL_HINT),
    3042: (ModelNotFoundError, _MODEL_HINT),
    5006: (BadRequestError, None),
    3030: (BadRequestError, None),
    5004: (BadRequestError, "Binary inputs must be base64 or a list of byte values."),
    3003: (BadRequestError, None),
    3039: (BadRequestError, None),
    5005: (LoRANotSupportedError, _LORA_HINT),
    5019: (BadRequestError, "This API form is deprecated; upgrade the client."),
    5018: (PermissionDeniedError, "This account may not use this model."),
    3041: (PermissionDeniedError, "This account may not use this model."),
    5016: (
        PermissionDeniedError,
        "Accept the model's license first (for Llama 3.2 vision: send {'prompt': 'agree'} once).",
    ),
    3023: (PermissionDeniedError, "Workers AI is not available for this account."),
    3006: (PayloadTooLargeError, _TOO_LARGE_HINT),
    3007: (RequestTimeoutError, "Stream the response or ask for fewer tokens."),
    3008: (RequestTimeoutError, None),
    3021: (RateLimitError, _RATE_HINT),
    3040: (CapacityError, _CAPACITY_HINT),
    3036: (QuotaExceededError, _QUOTA_HINT),
    4006: (QuotaExceededError, _QUOTA_HINT),
    # AI Gateway (spec §1.10)
    2001: (GatewayNotFoundError, _GATEWAY_HINT),
    2003: (RateLimitError, "The gateway's rate-limiting rule was hit; slow down or raise it."),
    2008: (
        BadRequestError,
        "Unknown provider: the model id must start with a provider AI Gateway knows, e.g. "
        "'openai/gpt-4.1' or 'google-ai-studio/gemini-2.5-flash' (compat).",
    ),
    2016: (ContentBlockedError, "AI Gateway guardrails blocked the prompt; change the input."),
    2017: (ContentBlockedError, "AI Gateway guardrails blocked the model's response."),
    2021: (InsufficientCreditsError, _CREDITS_HINT),
    2040: (
        BYOKAliasError,
        "Use one of the configured aliases in GatewayOptions(byok_alias=...), or store a key "
        "under this alias.",
    ),
    2041: (
        SpendLimitError,
        "A gateway spend limit is exhausted; wait for its window or raise it in the dashboard.",
    ),
}

#: Codes one service gives its own meaning, by service (a ``_Call``'s ``service``): Vectorize's
#: 3000 is "index not found", a code other routes do not promise to keep for that.
SERVICE_CODE_TABLES: dict[str, dict[int, tuple[type[APIStatusError], str | None]]] = {
    "vectorize": {  # platform spec §2.10
        3000: (VectorizeIndexNotFoundError, _INDEX_HINT),
        3005: (VectorizeIndexNotFoundError, _INDEX_HINT),
        3002: (
            VectorizeIndexExistsError,
            "Pick another name, or use the existing index (create_index(..., exist_ok=True)).",
        ),
        40006: (BadRequestError, "The vector's length must equal the index's dimensions."),
        40025: (
            BadRequestError,
            "Lower top_k, or ask for return_metadata='indexed' and no values.",
        ),
        40026: (BadRequestError, None),
    },
}

#: Classes by HTTP status for one service's routes, when no code in the body decides.
SERVICE_STATUS_TABLES: dict[str, dict[int, type[APIStatusError]]] = {
    "ai_search": {404: AISearchNotFoundError},
}

#: Hints by HTTP status for one service's routes, before :data:`STATUS_HINTS`.
SERVICE_STATUS_HINTS: dict[str, dict[int, str]] = {
    "ai_search": {
        404: (
            "Check the AI Search instance name (and its namespace) or the AutoRAG id, and the "
            "account id."
        ),
        401: "The API token needs the AI Search:Run (and AI Search:Edit) permissions.",
        403: "The API token needs the AI Search:Run (and AI Search:Edit) permissions.",
    },
    "vectorize": {
        401: "The API token needs the Vectorize permissions (Vectorize:Edit / Vectorize:Read).",
        403: "The API token needs the Vectorize permissions (Vectorize:Edit / Vectorize:Read).",
    },
}

#: Codes whose class the HTTP status decides (retried as that status is), with a hint.
#: 2005 "Failed to get response from provider" comes with several statuses: a 5xx is the
#: provider failing (retried), a 4xx a model id the provider does not serve (not retried).
CODE_HINTS: dict[int, str] = {
    2005: (
        "AI Gateway got no answer from the provider: check the model id (third-party models are "
        "'provider/model'; Workers AI models '@cf/...'), or retry later."
    ),
}

#: HTTP status -> exception class, used when no code in the body is in :data:`CODE_TABLE`.
STATUS_TABLE: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: BadRequestError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
}

#: Hints by HTTP status for a request to a third-party model through AI Gateway (the Workers AI
#: hints about account ids and model ids do not apply there).
GATEWAY_STATUS_HINTS: dict[int, str] = {
    401: _GATEWAY_AUTH_HINT,
    403: _GATEWAY_AUTH_HINT,
    404: "Check the model id: third-party models are 'provider/model', e.g. 'openai/gpt-4.1'.",
    429: "The provider or the gateway is rate limiting; slow down or retry later.",
}

#: Hints by HTTP status when no code-specific hint applies.
STATUS_HINTS: dict[int, str] = {
    401: _AUTH_HINT,
    403: _AUTH_HINT,
    404: _ACCOUNT_HINT,
    429: _RATE_HINT,
    413: _TOO_LARGE_HINT,
}
