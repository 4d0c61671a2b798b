"""Reranking: score candidate passages against a query, best first (spec §7, §6 bge-m3).

``@cf/baai/bge-reranker-base`` takes ``{"query", "contexts": [{"text"}], "top_k"}`` and answers
``{"response": [{"id", "score"}]}`` with ``id`` the index into ``contexts``; bge-m3 answers
the same body without ``top_k``. Long candidate lists are split into requests of at most
``max_contexts`` (the catalog's limit, else 100), sent concurrently, and merged by score: both
models score each (query, passage) pair on its own, so scores from different requests compare.

Scores are relevance in [0, 1]. The reranker's model card maps its raw score through a
sigmoid; when any returned score is outside [0, 1] (raw logits) every score is passed through
the sigmoid, otherwise they are kept as returned. Empty passages are not sent: they score 0.

Example:
    >>> from workers_ai.rerank import merge_rerank_results, RerankResult
    >>> merge_rerank_results([[RerankResult(0, 0.2)], [RerankResult(1, 0.9)]], top_n=1)
    [RerankResult(index=1, score=0.9)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workers_ai import catalog
from workers_ai.catalog import ModelInfo
from workers_ai.client import AsyncWorkersAIClient
from workers_ai.concurrency import (
    AdaptiveLimiter,
    AdaptiveSender,
    LoopEngines,
    LoopLocal,
    run_all,
    run_sync,
)
from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError, ConfigurationError, InvalidRequestError
from workers_ai.model_checks import check_model
from workers_ai.settings import WorkersAISettings, validate_model_id

__all__ = [
    "DEFAULT_MAX_CONTEXTS",
    "RerankResult",
    "RerankSpec",
    "Reranker",
    "merge_rerank_results",
    "normalise_scores",
    "parse_rerank_response",
    "plan_rerank_bodies",
    "rerank_spec",
]

DEFAULT_MAX_CONTEXTS = 100


@dataclass(frozen=True)
class RerankResult:
    """One passage's relevance. ``index`` points into the caller's list."""

    index: int
    score: float


@dataclass(frozen=True)
class RerankSpec:
    """Resolved reranker options. Build with :func:`rerank_spec`.

    Attributes:
        model: Model id.
        info: Its catalog entry.
        max_contexts: Passages per request.
        send_top_k: Whether the model takes ``top_k`` (the dedicated rerankers).
        max_concurrency: Requests in flight for one long candidate list.
        max_retries: Retries of a failed request (throttling is retried adaptively).
    """

    model: str
    info: ModelInfo
    max_contexts: int = DEFAULT_MAX_CONTEXTS
    send_top_k: bool = True
    max_concurrency: int = 4
    max_retries: int = 2


def rerank_spec(
    model: str | None = None,
    *,
    max_contexts: int | None = None,
    max_concurrency: int = 4,
    max_retries: int = 2,
) -> RerankSpec:
    """Validate reranker options (no I/O).

    Args:
        model: ``@cf/baai/bge-reranker-base`` (the catalog default) or ``@cf/baai/bge-m3``.
        max_contexts: Passages per request; default and upper bound: the catalog's limit.
        max_concurrency: Requests in flight when a list needs several.
        max_retries: Retries of transient failures per request.

    Raises:
        ConfigurationError: An option is invalid.
    """
    model_id = validate_model_id(model or catalog.default_reranker_model())
    check_model(model_id, "reranker", owner="the reranker")
    info = catalog.get(model_id)
    limit = info.max_contexts or DEFAULT_MAX_CONTEXTS
    chosen = limit if max_contexts is None else max_contexts
    if isinstance(chosen, bool) or not isinstance(chosen, int) or not 1 <= chosen <= limit:
        raise ConfigurationError(f"max_contexts={max_contexts!r}: use 1 to {limit} for {model_id}")
    if max_concurrency < 1 or max_retries < 0:
        raise ConfigurationError("max_concurrency must be >= 1 and max_retries >= 0")
    return RerankSpec(
        model=model_id,
        info=info,
        max_contexts=chosen,
        send_top_k=info.is_reranker or not info.known,
        max_concurrency=max_concurrency,
        max_retries=max_retries,
    )


def _check_inputs(query: object, texts: Sequence[object]) -> None:
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError("the rerank query must be a non-empty string")
    if isinstance(texts, (str, bytes)):
        raise InvalidRequestError("expected a list of passages, got a single string")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidRequestError(f"passage {index} is a {type(text).__name__}, not a string")


def plan_rerank_bodies(
    spec: RerankSpec, query: str, texts: Sequence[str], top_n: int | None
) -> list[tuple[list[int], dict[str, Any]]]:
    """``(indices, body)`` per request: non-empty passages in chunks of ``max_contexts``.

    Raises:
        InvalidRequestError: The query is empty or a passage is not a string.
    """
    _check_inputs(query, texts)
    kept = [index for index, text in enumerate(texts) if text.strip()]
    plans: list[tuple[list[int], dict[str, Any]]] = []
    for start in range(0, len(kept), spec.max_contexts):
        indices = kept[start : start + spec.max_contexts]
        body: dict[str, Any] = {"query": query, "contexts": [{"text": texts[i]} for i in indices]}
        if spec.send_top_k and top_n is not None:
            body["top_k"] = min(top_n, len(indices))
        plans.append((indices, body))
    return plans


def parse_rerank_response(data: Any, indices: Sequence[int]) -> list[RerankResult]:
    """Map ``{"response": [{"id", "score"}]}`` back to the caller's indices.

    Raises:
        APIResponseValidationError: No ``response`` list, or an id/score is unusable (a score
            must be a finite number: ``NaN``, ``1e400`` or a 400-digit integer is not).
    """
    items = data.get("response") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise APIResponseValidationError(
            "The rerank response has no 'response' list", body=value_excerpt(data, 300)
        )
    results: list[RerankResult] = []
    for item in items:
        ident = item.get("id") if isinstance(item, Mapping) else None
        score = _score_from_wire(item.get("score") if isinstance(item, Mapping) else None)
        if not isinstance(ident, int) or not 0 <= ident < len(indices) or score is None:
            shown = value_excerpt(item)
            raise APIResponseValidationError(
                f"Unusable rerank item {shown} for {len(indices)} passages", body=shown
            )
        results.append(RerankResult(indices[ident], score))
    return results


def _score_from_wire(value: Any) -> float | None:
    """A finite float score, or ``None`` (not a number, ``NaN``, infinite or too large)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        score = float(value)
    except OverflowError:
        return None
    return score if math.isfinite(score) else None


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def normalise_scores(results: Sequence[RerankResult]) -> list[RerankResult]:
    """Scores in [0, 1]: kept when they all are, else every score through the sigmoid."""
    if all(0.0 <= r.score <= 1.0 for r in results):
        return list(results)
    return [RerankResult(r.index, _sigmoid(r.score)) for r in results]


def merge_rerank_results(
    parts: Sequence[Sequence[RerankResult]], top_n: int | None
) -> list[RerankResult]:
    """All parts' results, normalised, best first (ties: input order), cut to ``top_n``."""
    merged = normalise_scores([r for part in parts for r in part])
    merged.sort(key=lambda r: (-r.score, r.index))
    return merged if top_n is None else merged[:top_n]


class _Engine:
    def __init__(self, spec: RerankSpec, settings: WorkersAISettings) -> None:
        self.client = AsyncWorkersAIClient(settings=settings.with_options(max_retries=0))
        self.sender = AdaptiveSender(
            self.client,
            AdaptiveLimiter(spec.max_concurrency),
            spec.max_retries,
            settings.reject_if_busy,
        )


class Reranker(LoopEngines):
    """Sync and async reranking for one model (long lists split and merged).

    Args:
        spec: From :func:`rerank_spec`.
        settings: Connection settings; ``spec.max_retries`` replaces their ``max_retries``.

    Example:
        >>> from workers_ai.emulator import EmulatorServer
        >>> from workers_ai.settings import resolve_settings
        >>> passages = ["Paris is the capital of France.", "Bananas are yellow."]
        >>> with EmulatorServer() as emulator:
        ...     reranker = Reranker(rerank_spec(), resolve_settings(**emulator.client_kwargs()))
        ...     best = reranker.rerank("capital of France", passages, top_n=1)
        ...     reranker.close()
        >>> best[0].index
        0
    """

    def __init__(self, spec: RerankSpec, settings: WorkersAISettings) -> None:
        self.spec = spec
        self._engines: LoopLocal[_Engine] = LoopLocal(lambda: _Engine(spec, settings))

    def __repr__(self) -> str:
        return f"Reranker(model={self.spec.model!r})"

    async def arerank(
        self, query: str, texts: Sequence[str], *, top_n: int | None = None
    ) -> list[RerankResult]:
        """Scores of ``texts`` against ``query``, best first, at most ``top_n``.

        Raises:
            InvalidRequestError: Bad query or passages (before any request).
        """
        return await self._run(self._plan(query, texts, top_n), top_n)

    def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int | None = None
    ) -> list[RerankResult]:
        """Sync :meth:`arerank`."""
        return run_sync(self._run(self._plan(query, texts, top_n), top_n))

    def _plan(
        self, query: str, texts: Sequence[str], top_n: int | None
    ) -> tuple[list[tuple[list[int], dict[str, Any]]], list[int]]:
        if top_n is not None and (isinstance(top_n, bool) or top_n < 1):
            raise InvalidRequestError(f"top_n={top_n!r}: use a whole number >= 1 or None")
        plans = plan_rerank_bodies(self.spec, query, texts, top_n)
        sent = {i for indices, _ in plans for i in indices}
        return plans, [i for i in range(len(texts)) if i not in sent]

    async def _run(
        self, planned: tuple[list[tuple[list[int], dict[str, Any]]], list[int]], top_n: int | None
    ) -> list[RerankResult]:
        plans, empty = planned
        engine = self._engines.get() if plans else None

        async def one(indices: list[int], body: dict[str, Any]) -> list[RerankResult]:
            assert engine is not None
            return parse_rerank_response(await engine.sender.run(self.spec.model, body), indices)

        parts = await run_all([one(indices, body) for indices, body in plans])
        scored = normalise_scores([r for part in parts for r in part])
        # Already in [0, 1], so merging does not normalise again (empty passages stay at 0).
        return merge_rerank_results([scored, [RerankResult(i, 0.0) for i in empty]], top_n)
