"""AI Search retrieval in the emulator: filters, scores, fusion, boosting, reranking (pure).

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §3.2-§3.4 and §2.5 (the filter syntax of
the new routes). What the emulator does, step by step (its choices where the spec is silent):

1. **Filter** (before ranking, as Vectorize does): a file's attributes are ``folder``,
   ``filename`` (its key), ``timestamp`` (milliseconds) and its custom metadata
   (:meth:`CorpusFile.attributes`). New routes take the Vectorize syntax of §2.5 (strings
   compared on their first 64 bytes; :func:`parse_filter`); the legacy format is translated
   to it (:func:`legacy_to_vectorize`: ``eq`` -> ``$eq``..., an ``or`` of ``eq`` on one key
   -> ``$in``, as the migration guide maps them), with ``modified_date`` another name of
   ``timestamp`` and a digit string accepted as a timestamp (the legacy docs' example sends
   ``"1735689600000"``). Timestamps compare in whole seconds, as Cloudflare's docs say.
2. **Score**: ``vector_score`` is the cosine similarity of the emulator's lexical-hash
   embeddings (:func:`workers_ai.emulator.tasks.embed_text`, the embedding stand-in), put on a
   real embedding model's scale by a square root (texts sharing a main word score about 0.45,
   unrelated ones under 0.2), negative values as 0. ``keyword_score`` is the idf-weighted share
   of the query's content words the chunk contains (idf over the instance's chunks);
   ``keyword_match_mode`` ``and`` keeps chunks with all of them, ``or`` (default) with any.
3. **Threshold and fuse**: ``match_threshold`` applies to the vector score (``vector``), the
   keyword score (``keyword``), or each list before fusion (``hybrid``: a chunk is kept when
   it passes in either list). ``hybrid`` fuses the two lists by ``rrf`` (default; reciprocal
   rank fusion, k = 60, scaled so rank 1 in both lists is 1.0) or ``max`` (the higher score).
4. **Boost** (``boost_by``, at most 3): each entry adds up to :data:`BOOST_WEIGHT` to the
   score: ``desc``/``asc`` by where a numeric attribute lies between the candidates' lowest
   and highest value, ``exists``/``not_exists`` in full for a chunk whose file has / lacks it.
5. **Rerank** (``reranking.enabled``): the reranker stand-in
   (:func:`workers_ai.emulator.tasks.rerank_scores`) scores each candidate; those under the
   reranking threshold are dropped and the rest ordered by it; ``score`` is then the
   reranking score.
6. **Cut** to ``max_num_results``; ``context_expansion`` (0-3) adds that many neighbouring
   chunks of the same file on each side to a chunk's text.

Ties go by instance order of the chunks (files in the order given, then chunk position).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from workers_ai.emulator.ai_search_corpus import Chunk, CorpusFile, Instance
from workers_ai.emulator.standins import content_terms
from workers_ai.emulator.tasks import cosine, embed_text, rerank_scores
from workers_ai.emulator.vectorize_filters import Condition, FilterError, holds

__all__ = [
    "BOOST_DIRECTIONS",
    "BOOST_WEIGHT",
    "FUSION_METHODS",
    "KEYWORD_MODES",
    "LEGACY_OPERATORS",
    "RETRIEVAL_TYPES",
    "RRF_K",
    "Hit",
    "Retrieval",
    "legacy_to_vectorize",
    "search",
]

RETRIEVAL_TYPES = ("vector", "keyword", "hybrid")
FUSION_METHODS = ("max", "rrf")
KEYWORD_MODES = ("and", "or")
BOOST_DIRECTIONS = ("asc", "desc", "exists", "not_exists")
#: Legacy comparison operators (§3.2) and their Vectorize equivalents (§2.5).
LEGACY_OPERATORS = {
    "eq": "$eq",
    "ne": "$ne",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
}
#: Reciprocal rank fusion's constant.
RRF_K = 60
#: The most one ``boost_by`` entry adds to a score.
BOOST_WEIGHT = 0.1
#: Embedding size of the stand-in (an internal choice: scores do not depend much on it).
_DIMENSIONS = 384
_TIMESTAMP_KEYS = ("timestamp", "modified_date")


@dataclass(frozen=True)
class Retrieval:
    """What to retrieve, checked (the request modules build it from either body format).

    Attributes:
        query: The text searched for (rewritten when rewriting is on).
        retrieval_type: ``vector``, ``keyword`` or ``hybrid``.
        fusion_method: ``rrf`` or ``max`` (``hybrid``).
        keyword_match_mode: ``or`` (any query word) or ``and`` (all of them).
        match_threshold: Lowest retrieval score kept (0-1).
        max_num_results: Most chunks returned.
        conditions: The filter (all must hold).
        context_expansion: Neighbouring chunks added on each side (0-3).
        boost_by: ``(attribute, direction)`` pairs.
        rerank: Rerank the candidates.
        rerank_threshold: Lowest reranking score kept.
    """

    query: str
    retrieval_type: str = "vector"
    fusion_method: str = "rrf"
    keyword_match_mode: str = "or"
    match_threshold: float = 0.0
    max_num_results: int = 10
    conditions: tuple[Condition, ...] = ()
    context_expansion: int = 0
    boost_by: tuple[tuple[str, str], ...] = ()
    rerank: bool = False
    rerank_threshold: float = 0.0


@dataclass
class Hit:
    """A retrieved chunk.

    Attributes:
        chunk: The chunk.
        score: Its final score.
        details: Its ``scoring_details``.
        text: Its text (with its neighbours under ``context_expansion``).
        instance: The instance it comes from.
        sort_score: What results are ordered by: ``score`` before a boost's cap at 1 and
            before rounding (cross-instance results merge by it too).
    """

    chunk: Chunk
    score: float
    details: dict[str, Any]
    text: str = ""
    instance: str = ""
    sort_score: float = 0.0


def search(instance: Instance, retrieval: Retrieval) -> list[Hit]:
    """The chunks of ``instance`` for ``retrieval``, best first (module docstring, 1-6)."""
    chunks = [c for c in instance.chunks if _passes(c.file, retrieval.conditions)]
    vector = _vector_scores(instance, chunks, retrieval.query)
    keyword = _keyword_scores(instance, chunks, retrieval)
    hits = _fused(chunks, vector, keyword, retrieval)
    if retrieval.boost_by:
        hits = _boosted(hits, retrieval.boost_by)
    if retrieval.rerank:
        hits = _reranked(hits, retrieval)
    hits = hits[: retrieval.max_num_results]
    for hit in hits:
        hit.instance = instance.name
        reach = retrieval.context_expansion
        parts = instance.neighbours(hit.chunk, reach) if reach else [hit.chunk]
        hit.text = "\n\n".join(part.text for part in parts)
    return hits


# -- filters ---------------------------------------------------------------------------------
def legacy_to_vectorize(value: Any) -> dict[str, Any]:
    """A legacy AutoRAG filter (§3.2) as the Vectorize filter it means (§2.5).

    Raises:
        FilterError: not a comparison or a compound of comparisons; nesting; an ``or`` that is
            not all ``eq`` on one key; a bad key, operator or value (the message says which).
    """
    if not isinstance(value, Mapping):
        raise FilterError("filters must be an object with a 'type'")
    kind = value.get("type")
    if kind in LEGACY_OPERATORS:
        key, op, operand = _legacy_comparison(value, "filters")
        return {key: {op: operand}}
    if kind not in ("and", "or"):
        shown = ", ".join([*LEGACY_OPERATORS, "and", "or"])
        raise FilterError(f"filters.type {kind!r} is unknown; use one of {shown}")
    parts = value.get("filters")
    if not isinstance(parts, list) or not parts:
        raise FilterError(f"filters.filters: a compound '{kind}' needs a non-empty list")
    comparisons = [_legacy_comparison(p, f"filters.filters[{i}]") for i, p in enumerate(parts)]
    if kind == "or":
        if any(op != "$eq" for _, op, _ in comparisons) or len({k for k, _, _ in comparisons}) > 1:
            raise FilterError("filters: 'or' takes only 'eq' comparisons on one key")
        return {comparisons[0][0]: {"$in": [operand for _, _, operand in comparisons]}}
    merged: dict[str, dict[str, Any]] = {}
    for key, op, operand in comparisons:
        if op in merged.setdefault(key, {}):
            raise FilterError(f"filters: 'and' has two '{op[1:]}' comparisons on key {key!r}")
        merged[key][op] = operand
    return merged


def _legacy_comparison(value: Any, where: str) -> tuple[str, str, Any]:
    if not isinstance(value, Mapping):
        raise FilterError(f"{where} must be a comparison object")
    kind = value.get("type")
    if kind in ("and", "or"):
        raise FilterError(f"{where}: compound filters cannot be nested")
    if kind not in LEGACY_OPERATORS:
        raise FilterError(
            f"{where}.type {kind!r} is unknown; use one of {', '.join(LEGACY_OPERATORS)}"
        )
    key, operand = value.get("key"), value.get("value")
    if not isinstance(key, str) or not key:
        raise FilterError(f"{where}.key must be a non-empty string")
    if key == "modified_date":
        key = "timestamp"
    if key == "timestamp" and isinstance(operand, str) and operand.isdigit():
        operand = int(operand)  # the legacy docs compare timestamps given as strings
    finite = not isinstance(operand, float) or math.isfinite(operand)
    if not isinstance(operand, (str, int, float, bool)) or not finite:
        raise FilterError(f"{where}.value must be a string, a number or a boolean")
    return key, LEGACY_OPERATORS[kind], operand


def _passes(file: CorpusFile, conditions: Sequence[Condition]) -> bool:
    if not conditions:
        return True
    attributes = file.attributes()
    return all(holds(_in_seconds(c), _scalar(attributes.get(c.key))) for c in conditions)


def _scalar(value: Any) -> str | int | float | bool | None:
    return value if isinstance(value, (str, int, float, bool)) else None


def _in_seconds(condition: Condition) -> Condition:
    """A timestamp operand rounded down to whole seconds (Cloudflare compares seconds)."""
    if condition.key not in _TIMESTAMP_KEYS:
        return condition

    def whole(value: Any) -> Any:
        if isinstance(value, float) and math.isfinite(value):
            return float(math.floor(value / 1000) * 1000)
        return value

    operand = condition.operand
    rounded = tuple(map(whole, operand)) if isinstance(operand, tuple) else whole(operand)
    return replace(condition, operand=rounded)


# -- scores ----------------------------------------------------------------------------------
def _embed(text: str) -> list[float]:
    return embed_text(text, _DIMENSIONS)


def _vector_scores(instance: Instance, chunks: Sequence[Chunk], query: str) -> dict[str, float]:
    vectors = instance.vectors(_embed)
    wanted = _embed(query)
    return {c.id: round(math.sqrt(max(0.0, cosine(wanted, vectors[c.id]))), 6) for c in chunks}


def _keyword_scores(
    instance: Instance, chunks: Sequence[Chunk], retrieval: Retrieval
) -> dict[str, float]:
    """Scores of the chunks that match the query's words (``and``: all, ``or``: any)."""
    terms = list(dict.fromkeys(content_terms(retrieval.query)))
    if not terms:
        return {}
    count = len(instance.chunks)
    idf = {t: math.log(1 + (count + 1) / (instance.doc_freq.get(t, 0) + 1)) for t in terms}
    total = sum(idf.values())
    scores: dict[str, float] = {}
    for chunk in chunks:
        found = [t for t in terms if t in chunk.terms]
        if not found or (retrieval.keyword_match_mode == "and" and len(found) < len(terms)):
            continue
        scores[chunk.id] = round(sum(idf[t] for t in found) / total, 6)
    return scores


def _ranked(scores: Mapping[str, float], chunks: Sequence[Chunk], threshold: float) -> list[str]:
    """Ids of the chunks scoring at least ``threshold``, best first (ties: instance order)."""
    order = {c.id: i for i, c in enumerate(chunks)}
    kept = [cid for cid, score in scores.items() if score >= threshold]
    return sorted(kept, key=lambda cid: (-scores[cid], order[cid]))


def _fused(
    chunks: Sequence[Chunk],
    vector: Mapping[str, float],
    keyword: Mapping[str, float],
    retrieval: Retrieval,
) -> list[Hit]:
    by_id = {c.id: c for c in chunks}
    threshold = retrieval.match_threshold
    if retrieval.retrieval_type == "hybrid":
        return _sorted(_hybrid(by_id, vector, keyword, retrieval), chunks)
    scores = vector if retrieval.retrieval_type == "vector" else keyword
    name = f"{retrieval.retrieval_type}_score"
    return [
        Hit(by_id[cid], scores[cid], {name: scores[cid]}, sort_score=scores[cid])
        for cid in _ranked(scores, chunks, threshold)
    ]


def _hybrid(
    by_id: Mapping[str, Chunk],
    vector: Mapping[str, float],
    keyword: Mapping[str, float],
    retrieval: Retrieval,
) -> list[Hit]:
    """Both lists, each cut at the threshold, fused by ``rrf`` or ``max`` (unsorted)."""
    chunks = list(by_id.values())
    vector_ids = _ranked(vector, chunks, retrieval.match_threshold)
    keyword_ids = _ranked(keyword, chunks, retrieval.match_threshold)
    vector_rank = {cid: n for n, cid in enumerate(vector_ids, 1)}
    keyword_rank = {cid: n for n, cid in enumerate(keyword_ids, 1)}
    hits: list[Hit] = []
    for cid in dict.fromkeys([*vector_ids, *keyword_ids]):
        details: dict[str, Any] = {"vector_score": vector[cid]}
        if cid in keyword:
            details["keyword_score"] = keyword[cid]
        if cid in vector_rank:
            details["vector_rank"] = vector_rank[cid]
        if cid in keyword_rank:
            details["keyword_rank"] = keyword_rank[cid]
        details["fusion_method"] = retrieval.fusion_method
        if retrieval.fusion_method == "rrf":
            ranks = [r for r in (vector_rank.get(cid), keyword_rank.get(cid)) if r]
            score = round(sum(1 / (RRF_K + r) for r in ranks) / (2 / (RRF_K + 1)), 6)
        else:
            score = max(vector[cid], keyword.get(cid, 0.0))
        hits.append(Hit(by_id[cid], score, details, sort_score=score))
    return hits


def _sorted(hits: list[Hit], chunks: Sequence[Chunk]) -> list[Hit]:
    order = {c.id: i for i, c in enumerate(chunks)}
    return sorted(hits, key=lambda h: (-h.sort_score, order[h.chunk.id]))


# -- boosting and reranking ------------------------------------------------------------------
def _boosted(hits: list[Hit], boost_by: Sequence[tuple[str, str]]) -> list[Hit]:
    if not hits:
        return hits
    chunks = [h.chunk for h in hits]
    for attribute, direction in boost_by:
        values = [_scalar(h.chunk.file.attributes().get(attribute)) for h in hits]
        bonus = _bonus(values, direction)
        for hit, extra in zip(hits, bonus, strict=True):
            hit.sort_score += extra
    for hit in hits:
        hit.score = round(min(1.0, hit.sort_score), 6)
    return _sorted(hits, chunks)


def _bonus(values: Sequence[Any], direction: str) -> list[float]:
    if direction in ("exists", "not_exists"):
        present = [v is not None for v in values]
        return [BOOST_WEIGHT if p == (direction == "exists") else 0.0 for p in present]
    numbers = [
        float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        for v in values
    ]
    known = [n for n in numbers if n is not None]
    if not known:
        return [0.0] * len(values)
    low, high = min(known), max(known)
    span = high - low

    def share(n: float) -> float:
        if not span:
            return 1.0
        return (n - low) / span if direction == "desc" else (high - n) / span

    return [0.0 if n is None else BOOST_WEIGHT * share(n) for n in numbers]


def _reranked(hits: list[Hit], retrieval: Retrieval) -> list[Hit]:
    chunks = [h.chunk for h in hits]
    scores = rerank_scores(retrieval.query, [h.chunk.text for h in hits])
    kept: list[Hit] = []
    for hit, value in zip(hits, scores, strict=True):
        value = round(value, 6)
        if value < retrieval.rerank_threshold:
            continue
        hit.details["reranking_score"] = value
        hit.score = hit.sort_score = value
        kept.append(hit)
    return _sorted(kept, chunks)
