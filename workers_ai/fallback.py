"""Model fallbacks: which failures move on to the next model, and the bookkeeping (pure, no I/O).

A chat call given ``fallbacks=[model, ...]`` tries its model first, with the client's retry
policy (:mod:`workers_ai.retry`); when that model still fails with an error that another model
could avoid, the call goes to the next model of the chain, re-prepared for that model's family
(a Workers AI ``@cf/...`` model and an OpenAI-shaped third-party model take different bodies).

Server-side instead, where the surface has it: with ``GatewayOptions(routing="url")`` (and
``server_fallback`` left on) the clients send the whole chain, each model's own request as one
entry, to AI Gateway's universal endpoint (spec §1.8), which tries the entries in order and
answers with the winner's response and ``cf-aig-step``; :meth:`FallbackRun.gateway_answered`
records that walk. The gateway falls back on any failed entry and does not say why; the table
below is the client's.

Falls back on (:func:`should_fall_back`, the one table):

- capacity (3040), the exhausted daily quota (3036 / 4006), rate limits (429, 3021) after
  retries;
- AI Gateway: rate limit rule (2003), no answer from the provider (2005), no credits (2021),
  spend limit (2041);
- server errors (>= 500) after retries, connection errors and timeouts after retries;
- a stream that failed before its first event was handed to the caller, for the same reasons.

Never on input errors (400, 401, 403, 404, 413, 422, guardrails, bad ids...): another model
would fail the same way, and a caller must fix the request. A stream never falls back after its
first event was handed out (duplicated or mixed text is worse than an error).

The cap: a chain is at most :data:`MAX_CHAIN` models (the model and :data:`MAX_FALLBACKS`
fallbacks; a longer one is refused before any request). HTTP attempts of one call are at most
``(max_retries + 1) * len(chain)``, and each of them may be retried by AI Gateway itself up to
its ``max_attempts`` (1 to 5): worst case ``(max_retries + 1) * max_attempts * len(chain)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from workers_ai.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    ConfigurationError,
    InternalServerError,
    RateLimitError,
    StreamError,
)
from workers_ai.providers import ChatEndpoint
from workers_ai.retry import is_busy

__all__ = [
    "FALLBACK_CODES",
    "MAX_CHAIN",
    "MAX_FALLBACKS",
    "ChatTarget",
    "FallbackRun",
    "FallbackStep",
    "Tally",
    "check_chain",
    "max_attempts",
    "should_fall_back",
]

logger = logging.getLogger("workers_ai")

#: Fallback models one call may name (the chain is the model and these).
MAX_FALLBACKS = 4
#: Models in one chain.
MAX_CHAIN = MAX_FALLBACKS + 1

#: Cloudflare / AI Gateway error codes that move on to the next model.
FALLBACK_CODES = frozenset({3040, 3036, 4006, 3021, 2003, 2005, 2021, 2041})

#: Error classes that move on to the next model (whatever their code).
_FALLBACK_CLASSES: tuple[type[APIError], ...] = (
    RateLimitError,  # 429, capacity 3040, quota 3036/4006, spend limit 2041
    InternalServerError,
    APIConnectionError,  # and timeouts
)


def _class_falls_back(cls: type[BaseException]) -> bool:
    return issubclass(cls, _FALLBACK_CLASSES)


def should_fall_back(error: BaseException) -> bool:
    """Whether a model's final failure (after its retries) moves the call to the next model.

    Args:
        error: What the model's last attempt raised.
    """
    code = getattr(error, "code", None)
    if isinstance(code, int) and code in FALLBACK_CODES:
        return True
    if isinstance(error, StreamError):
        return error.error_class is None or _class_falls_back(error.error_class)
    if isinstance(error, _FALLBACK_CLASSES):
        return True
    if isinstance(error, APIStatusError):
        return error.status_code >= 500
    return False


def check_chain(model: str, fallbacks: Iterable[object]) -> tuple[str, ...]:
    """The fallback model ids, checked for shape (ids themselves are checked by the caller).

    Raises:
        ConfigurationError: Not a list of strings, longer than :data:`MAX_FALLBACKS`, or naming
            a model twice.
    """
    if isinstance(fallbacks, (str, bytes)):
        raise ConfigurationError(
            f"fallbacks={fallbacks!r}: pass a list of model ids, e.g. fallbacks=[{fallbacks!r}]"
        )
    items: list[str] = []
    for item in fallbacks:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"fallbacks: {item!r} is not a model id (a non-empty str)")
        items.append(item)
    if len(items) > MAX_FALLBACKS:
        raise ConfigurationError(
            f"fallbacks: {len(items)} models given; at most {MAX_FALLBACKS} fallbacks per call "
            "(each one may be retried: keep the chain short)"
        )
    chain = (model, *items)
    repeated = sorted({m for m in chain if chain.count(m) > 1})
    if repeated:
        raise ConfigurationError(
            f"fallbacks: {', '.join(repeated)} appears twice in the chain (model + fallbacks); "
            "name each model once"
        )
    return tuple(items)


def max_attempts(max_retries: int, chain_length: int, gateway_max_attempts: int | None) -> int:
    """The most HTTP attempts one call can cost, gateway-side retries included."""
    return (max_retries + 1) * (gateway_max_attempts or 1) * chain_length


@dataclass(frozen=True)
class ChatTarget:
    """One model of a fallback chain, prepared for its family.

    Attributes:
        model: The model id.
        body: The request body for that model's family.
        endpoint: The API the body is for (:data:`~workers_ai.providers.ChatEndpoint`).
        headers: Per-call headers for that model.
    """

    model: str
    body: Mapping[str, Any] = field(repr=False)
    endpoint: ChatEndpoint = "native"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class FallbackStep:
    """A model that failed and was left for the next one.

    Attributes:
        model: The model that failed.
        error: The error's class name (e.g. ``CapacityError``); ``unknown`` when AI Gateway
            fell back (the universal endpoint does not say why an entry failed).
        code: Cloudflare's error code, when the error carried one.
        status_code: The HTTP status, when there was one.
        where: ``client`` (this package moved on) or ``gateway`` (AI Gateway's universal
            endpoint did, server-side).
    """

    model: str
    error: str
    code: int | None = None
    status_code: int | None = None
    where: Literal["client", "gateway"] = "client"

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (for ``response_metadata`` / ``additional_kwargs``)."""
        out: dict[str, Any] = {"model": self.model, "error": self.error}
        if self.code is not None:
            out["code"] = self.code
        if self.status_code is not None:
            out["status_code"] = self.status_code
        out["where"] = self.where
        return out


@dataclass
class Tally:
    """HTTP attempts counted by a client's retry loop."""

    attempts: int = 0


@dataclass
class FallbackRun:
    """One call's walk along its chain: the steps taken and the attempts spent.

    The clients call :meth:`failed` when a model's last attempt fails (it raises that error when
    the call must not go on) and :meth:`summary` with the model that answered.
    """

    chain: Sequence[ChatTarget]
    steps: list[FallbackStep] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    #: A busy model (:func:`workers_ai.retry.is_busy`) fails the call instead of moving on.
    reject_if_busy: bool = False

    def failed(self, index: int, error: APIError) -> None:
        """Record that ``chain[index]`` failed; raise ``error`` unless the next model is tried."""
        target = self.chain[index]
        last = index + 1 >= len(self.chain)
        if last or not should_fall_back(error) or (self.reject_if_busy and is_busy(error)):
            raise error
        code = getattr(error, "code", None)
        step = FallbackStep(
            model=target.model,
            error=type(error).__name__,
            code=code if isinstance(code, int) else None,
            status_code=error.status_code if isinstance(error, APIStatusError) else None,
        )
        self.steps.append(step)
        logger.info(
            "model %s failed (%s%s); falling back to %s (step %d of %d)",
            target.model,
            step.error,
            f" {step.code}" if step.code is not None else "",
            self.chain[index + 1].model,
            len(self.steps),
            len(self.chain) - 1,
        )

    def gateway_answered(self, step: int | None) -> ChatTarget:
        """Record a server-side walk (the universal endpoint): the entries before ``step``
        (``cf-aig-step``) failed on the gateway; return the target that answered.

        A response without ``cf-aig-step`` is the first entry's (nothing fell back).
        """
        index = step if step is not None and 0 <= step < len(self.chain) else 0
        if step is not None and step != index:
            logger.warning(
                "AI Gateway said entry %d answered, but the chain has %d; reading the answer as "
                "the first model's (%s)", step, len(self.chain), self.chain[0].model,
            )  # fmt: skip
        for failed in self.chain[:index]:
            self.steps.append(FallbackStep(model=failed.model, error="unknown", where="gateway"))
        if index:
            logger.info(
                "AI Gateway fell back server-side: %s answered (entry %d of %d; %s failed)",
                self.chain[index].model,
                index + 1,
                len(self.chain),
                ", ".join(t.model for t in self.chain[:index]),
            )
        return self.chain[index]
