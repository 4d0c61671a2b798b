"""Neutral Vectorize V2 types (platform spec §2): what the wire answers, read once.

Frozen dataclasses; the parsers in :mod:`workers_ai.vectorize.wire` build them and the
framework adapters convert them. ``score`` keeps Vectorize's meaning per metric (see
:data:`HIGHER_IS_CLOSER`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "HIGHER_IS_CLOSER",
    "METRICS",
    "Effect",
    "IndexInfo",
    "IndexStats",
    "Match",
    "MetadataIndex",
    "MetadataIndexType",
    "Metric",
    "Mutation",
    "QueryResult",
    "ReturnMetadata",
    "Vector",
    "VectorPage",
    "in_namespace",
    "relevance",
]

Metric = Literal["cosine", "euclidean", "dot-product"]
METRICS: tuple[Metric, ...] = ("cosine", "euclidean", "dot-product")
ReturnMetadata = Literal["none", "indexed", "all"]
MetadataIndexType = Literal["string", "number", "boolean"]

#: Whether a larger ``score`` means a closer match, per metric. Cloudflare documents the
#: scores as cosine similarity (1 = identical), the L2 distance (0 = identical) and the
#: *negative* inner product ("larger negative values or smaller positive values denote more
#: similar vectors"); matches come best first either way.
HIGHER_IS_CLOSER: Mapping[str, bool] = {"cosine": True, "euclidean": False, "dot-product": False}


def relevance(score: float, metric: str | None) -> float:
    """A match's ``score`` as a relevance in [0, 1] (1 = identical), for unit-length vectors
    (what embedding models give): cosine similarity ``s`` -> ``(1 + s) / 2``; L2 distance
    ``d`` -> ``1 - d / sqrt(2)`` (as LangChain's euclidean relevance); negative inner product
    ``n`` -> ``(1 - n) / 2``. Clamped to [0, 1]; an unknown metric is read as cosine."""
    if metric == "euclidean":
        value = 1.0 - score / math.sqrt(2.0)
    elif metric == "dot-product":
        value = (1.0 - score) / 2.0
    else:
        value = (1.0 + score) / 2.0
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class IndexInfo:
    """An index as create/get/list answer it.

    Attributes:
        name: The index name.
        dimensions: Vector length (``None`` when the index was made from a preset the answer
            does not resolve).
        metric: ``cosine``, ``euclidean`` or ``dot-product`` (``None`` likewise).
        description: The description, if any.
        preset: The embedding-model preset it was created from, if any.
        created_on: ISO 8601 creation time, as sent.
        modified_on: ISO 8601 modification time, as sent.
    """

    name: str
    dimensions: int | None
    metric: str | None
    description: str | None = None
    preset: str | None = None
    created_on: str | None = None
    modified_on: str | None = None


@dataclass(frozen=True)
class IndexStats:
    """``GET /{index}/info``: size and how far the write-ahead log has been applied.

    Attributes:
        dimensions: Vector length.
        vector_count: Vectors stored (processed mutations only).
        processed_up_to_mutation: The last processed mutation id (absent before the first).
        processed_up_to_datetime: When it was processed (ISO 8601), likewise.
    """

    dimensions: int | None
    vector_count: int
    processed_up_to_mutation: str | None = None
    processed_up_to_datetime: str | None = None


@dataclass(frozen=True)
class Vector:
    """One stored vector (what you write, and what ``get_by_ids`` answers).

    Attributes:
        id: Unique id, at most 64 bytes.
        values: The numbers (stored as float32 by Vectorize); empty when not returned.
        metadata: String/number/boolean (or string list) values, one nested level allowed.
        namespace: Its namespace, if any (at most 64 bytes).
    """

    id: str
    values: Sequence[float] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    namespace: str | None = None


@dataclass(frozen=True)
class Match:
    """One query match, best first.

    Attributes:
        id: The vector id.
        score: Vectorize's score for the index metric (see :data:`HIGHER_IS_CLOSER`).
        values: The values, when asked for (``return_values=True``), else empty.
        metadata: The metadata, when asked for (``return_metadata``), else empty.
        namespace: The namespace, when the answer names it.
    """

    id: str
    score: float
    values: Sequence[float] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    namespace: str | None = None


@dataclass(frozen=True)
class QueryResult:
    """A query's answer: ``matches`` best first (``count`` is their number)."""

    matches: tuple[Match, ...]
    count: int


@dataclass(frozen=True)
class Effect:
    """What a write changed, to read back when the index's info cannot tell that it was
    applied (another writer's mutation applied after it: mutation ids are not ordered).

    Attributes:
        kind: ``present`` (inserted ids exist), ``written`` (upserted vectors read back as
            sent), ``absent`` (deleted ids are gone), ``indexed`` / ``unindexed`` (a
            metadata index exists / is gone).
        ids: For ``absent``: the ids to look up.
        lines: For ``present`` / ``written``: the write's last batch as sent (NDJSON lines),
            read only when a wait needs to look.
        property: The metadata index's property.
    """

    kind: Literal["present", "written", "absent", "indexed", "unindexed"]
    ids: tuple[str, ...] = ()
    lines: Sequence[bytes] = ()
    property: str | None = None


@dataclass(frozen=True)
class Mutation:
    """An accepted write (insert, upsert, delete, metadata index change).

    Writes are applied asynchronously and in order: wait with ``wait_for_mutation(mutation)``
    before reading what you wrote (the clients' writes can wait for you: ``wait=True``).

    Attributes:
        id: The mutation id of the write's last request (waiting for it waits for all).
        count: Vectors the write carried (ids deleted, vectors written; 0 for metadata index
            changes).
        batch_ids: The mutation id of every request, when the write was cut into batches.
        accepted_at: When the last request was accepted (its ``Date``, ISO 8601), if known.
        effect: What its last request changed (:class:`Effect`), read back by
            ``wait_for_mutation`` when other writers' mutations hide whether it was applied.
    """

    id: str
    count: int = 0
    batch_ids: tuple[str, ...] = ()
    accepted_at: str | None = None
    effect: Effect | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class VectorPage:
    """One page of ``list_vectors``: ids of a snapshot taken at the first page.

    Attributes:
        ids: The vector ids on this page.
        total_count: Vectors in the snapshot.
        is_truncated: Whether more pages follow.
        next_cursor: Pass as ``cursor`` for the next page (``None`` on the last).
        cursor_expiration: When the cursor expires (ISO 8601), if said.
    """

    ids: tuple[str, ...]
    total_count: int
    is_truncated: bool
    next_cursor: str | None = None
    cursor_expiration: str | None = None


@dataclass(frozen=True)
class MetadataIndex:
    """A metadata index: filtering on ``property_name`` needs one (types compare lowercase)."""

    property_name: str
    index_type: str


def in_namespace(vectors: Sequence[Vector], namespace: str | None) -> list[Vector]:
    """The vectors of ``namespace`` (all of them for ``None``): ids are index-wide, so a
    namespaced store reading or deleting by id keeps to its own vectors."""
    return [v for v in vectors if namespace is None or v.namespace == namespace]
