"""The one retry policy of the package (pure: decisions and delays, no sleeping).

Retried: HTTP 408, 409, 429 (rate limit 3021, capacity 3040) and >= 500, connection errors and
timeouts. Never retried: the exhausted daily quota (3036/4006), an existing Vectorize index
(3002) and other 4xx input errors, or a stream after its first event was handed to the caller.

:class:`RetryPolicy` is the object every caller asks: the clients (``max_retries`` retries of
anything retryable) and the embeddings and rerank engines (``adaptive=True``: throttling, i.e.
3021/3040, gets its own, larger budget and tells the caller to slow down, so a bulk job slows
down instead of failing; other failures get ``max_retries``).

httpx is imported only when a transport failure is mapped (:func:`transport_error`), so importing
this module stays light.
"""

from __future__ import annotations

import email.utils
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from workers_ai.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConflictError,
    InternalServerError,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    StreamError,
    VectorizeIndexExistsError,
)

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
#: Throttled attempts of one request (adaptive callers) before its error is raised.
MAX_THROTTLE_RETRIES = 30

_RETRYABLE_STATUS_CLASSES = (
    RateLimitError,
    RequestTimeoutError,
    ConflictError,
    InternalServerError,
)


def is_retryable(error: BaseException) -> bool:
    """Whether a failed attempt may be retried."""
    if isinstance(error, (QuotaExceededError, VectorizeIndexExistsError)):
        return False
    if isinstance(error, (*_RETRYABLE_STATUS_CLASSES, APIConnectionError)):
        return True
    if isinstance(error, APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    if isinstance(error, StreamError):
        # Only reached for streams that broke before their first event was handed out (the
        # client retries nothing later): a cut or garbled start is a server glitch; an error
        # event is retried when its code is.
        cls = error.error_class
        if cls is None:
            return True
        return issubclass(cls, _RETRYABLE_STATUS_CLASSES) and not issubclass(
            cls, QuotaExceededError
        )
    return False


def _retry_after_seconds(headers: Mapping[str, str], now: Callable[[], float]) -> float | None:
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ms = lower.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000.0
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        return float(parsed.timestamp()) - now()


def retry_delay(
    retries_done: int,
    headers: Mapping[str, str] | None = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to wait before retry number ``retries_done + 1``.

    A server's ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date) wins when it is
    between 0 and 60 s; otherwise exponential backoff with jitter:
    ``min(0.5 * 2**n, 8) * (1 - 0.25 * random())``.
    """
    if headers:
        after = _retry_after_seconds(headers, now)
        if after is not None and 0 <= after <= MAX_RETRY_AFTER:
            return after
    base = min(INITIAL_DELAY * 2.0**retries_done, MAX_DELAY)
    return base * (1 - 0.25 * rand())


def error_headers(error: BaseException) -> Mapping[str, str]:
    """Response headers carried by a status error (for ``retry-after``), else empty."""
    return error.headers if isinstance(error, APIStatusError) else {}


def transport_errors() -> tuple[type[Exception], ...]:
    """What sending or reading raises when the connection fails: httpx's ``TransportError``,
    and aiohttp's ``ClientError`` that the aiohttp transport passes on unmapped.

    For ``except transport_errors():`` (evaluated only when something was raised, so httpx is
    imported by then anyway).
    """
    import httpx

    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None:
        return (httpx.TransportError,)
    return (httpx.TransportError, aiohttp.ClientError)


def _aiohttp_cause(exc: BaseException) -> BaseException | None:
    """The aiohttp error httpx-aiohttp turned into ``exc`` (it maps every lost connection to
    ``httpx.ConnectTimeout``), if any."""
    cause = exc if _from_aiohttp(exc) else exc.__cause__
    return cause if cause is not None and _from_aiohttp(cause) else None


def _from_aiohttp(exc: BaseException) -> bool:
    return type(exc).__module__.partition(".")[0] == "aiohttp"


def transport_error(exc: Exception) -> APIConnectionError:
    """Map a transport failure (:func:`transport_errors`) to our connection/timeout errors
    (message only)."""
    import asyncio

    import httpx

    cause = _aiohttp_cause(exc)
    if cause is not None:  # what aiohttp said, not httpx-aiohttp's guess
        timed_out = isinstance(cause, (TimeoutError, asyncio.TimeoutError))
        name = type(cause).__name__
    else:
        timed_out = isinstance(exc, httpx.TimeoutException)
        name = type(exc).__name__
    if timed_out:
        return APITimeoutError(f"Request timed out ({name}).")
    return APIConnectionError(f"Connection error ({name}): {exc}")


def is_throttle(error: BaseException) -> bool:
    """A rate limit (3021) or capacity error (3040): slow down and retry, never give up early.

    The exhausted daily quota (3036) is not a throttle: it lasts until midnight UTC.
    """
    return isinstance(error, RateLimitError) and not isinstance(error, QuotaExceededError)


def is_busy(error: BaseException) -> bool:
    """The model or the gateway is busy right now: capacity (3040), rate limits (429, 3021,
    AI Gateway's 2003), also as a stream's error event. ``reject_if_busy`` callers fail fast on
    these (no retry, no fallback); the exhausted daily quota is not "busy"."""
    if isinstance(error, StreamError):
        cls = error.error_class
        return (
            cls is not None
            and issubclass(cls, RateLimitError)
            and not issubclass(cls, QuotaExceededError)
        )
    return is_throttle(error) or (
        isinstance(error, APIStatusError)
        and error.status_code == 429
        and not isinstance(error, QuotaExceededError)
    )


@dataclass(frozen=True)
class RetryState:
    """What one call has spent so far: ordinary retries and (adaptive callers) throttles."""

    retries_done: int = 0
    throttles_done: int = 0


@dataclass(frozen=True)
class RetryStep:
    """The decision to retry: the next state, how long to wait, and whether it was throttling
    (adaptive callers then lower their concurrency and pause instead of sleeping)."""

    state: RetryState
    delay: float
    throttle: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Whether and when to retry a failed attempt; one object for every caller.

    Attributes:
        max_retries: Retries of any retryable failure (non-adaptive), or of the failures that are
            not throttling (adaptive).
        adaptive: Throttling (:func:`is_throttle`) is counted apart, up to
            ``max_throttle_retries``, and flagged so the caller slows down.
        max_throttle_retries: Throttled attempts of one request before its error is raised.
        reject_if_busy: Never retry a busy model (:func:`is_busy`): fail fast, for callers
            that would rather answer "busy" than wait.
        delay: ``(retries_done, headers) -> seconds`` (:func:`retry_delay`; tests inject one).
    """

    max_retries: int = 2
    adaptive: bool = False
    max_throttle_retries: int = MAX_THROTTLE_RETRIES
    reject_if_busy: bool = False
    delay: Callable[[int, Mapping[str, str]], float] = field(
        default=lambda n, headers: retry_delay(n, headers), compare=False
    )

    def next(
        self, state: RetryState, error: BaseException, *, throttle_streak: int | None = None
    ) -> RetryStep | None:
        """The retry after ``error``, or ``None`` when it must be raised.

        Args:
            state: What this call has spent.
            error: The failed attempt's error.
            throttle_streak: For adaptive callers: throttles in a row across the whole job (the
                backoff exponent when the server sends no ``retry-after``).
        """
        if self.reject_if_busy and is_busy(error):
            return None
        headers = error_headers(error)
        if self.adaptive and is_throttle(error):
            if state.throttles_done >= self.max_throttle_retries:
                return None
            streak = state.throttles_done if throttle_streak is None else throttle_streak
            nxt = RetryState(state.retries_done, state.throttles_done + 1)
            return RetryStep(nxt, self.delay(streak, headers), throttle=True)
        if state.retries_done >= self.max_retries or not is_retryable(error):
            return None
        nxt = RetryState(state.retries_done + 1, state.throttles_done)
        return RetryStep(nxt, self.delay(state.retries_done, headers))


__all__ = [
    "MAX_THROTTLE_RETRIES",
    "RetryPolicy",
    "RetryState",
    "RetryStep",
    "error_headers",
    "is_busy",
    "is_retryable",
    "is_throttle",
    "retry_delay",
    "transport_error",
    "transport_errors",
]
