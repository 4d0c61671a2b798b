"""Neutral AI Search types (platform spec §3): one shape for both route families' answers.

The legacy AutoRAG routes answer files (``data``: file id, filename, score, attributes, content
parts); the AI Search routes answer chunks (``chunks``: id, text, score, ``item`` key/timestamp/
metadata, scoring details). Both become :class:`SearchChunk` s, so retrievers and query
engines need not know which route answered.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers_ai.types import Usage

__all__ = [
    "AnswerDelta",
    "ContentPart",
    "SearchAnswer",
    "SearchChunk",
    "SearchResult",
    "chunk_ids",
    "chunk_metadata",
]


@dataclass(frozen=True)
class ContentPart:
    """One content part of a result (``{"id", "type": "text", "text"}``)."""

    type: str
    text: str
    id: str | None = None


@dataclass(frozen=True)
class SearchChunk:
    """A retrieved piece of the corpus, best first in its result.

    Attributes:
        id: The chunk id (legacy routes: the file id, one item per file).
        text: The text (legacy: the content parts' texts joined by blank lines).
        score: The relevance score (0 to 1), when given.
        filename: The file it comes from (legacy ``filename``; new ``item.key``).
        file_id: The file id (legacy ``file_id``), when given.
        attributes: The file's attributes (legacy ``attributes``: ``folder``,
            ``modified_date``...; new ``item.metadata``).
        timestamp: The file's time (new ``item.timestamp``), when given.
        content: The content parts (one text part for the new routes' chunks).
        scoring_details: How the score came about (``vector_score``, ``keyword_score``,
            ``reranking_score``...), when given.
        instance_id: The instance it came from (cross-instance searches).
    """

    id: str
    text: str
    score: float | None = None
    filename: str | None = None
    file_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float | None = None
    content: tuple[ContentPart, ...] = ()
    scoring_details: Mapping[str, Any] = field(default_factory=dict)
    instance_id: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """What a search found.

    Attributes:
        query: The query the service searched with (rewritten, when rewriting is on).
        chunks: The chunks, best first.
        has_more: Whether more results exist (legacy routes).
        next_page: The next page's token (legacy routes), if any.
        errors: Per-instance failures of a cross-instance search (``instance_id``,
            ``message``).
    """

    query: str | None
    chunks: tuple[SearchChunk, ...]
    has_more: bool = False
    next_page: Any = None
    errors: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class SearchAnswer:
    """A generated answer with its sources.

    Attributes:
        text: The answer.
        chunks: The chunks it was generated from (none for the legacy routes' streams).
        query: The query searched with, when the answer says it.
        model: The generation model, when the answer says it.
        usage: Token counts, when the answer reports them.
        finish_reason: Why generation stopped, when said.
    """

    text: str
    chunks: tuple[SearchChunk, ...] = ()
    query: str | None = None
    model: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class AnswerDelta:
    """One step of a streamed answer: new ``text``, or the ``chunks`` (sent first by the AI
    Search routes), or, at the end, ``usage`` / ``finish_reason``."""

    text: str = ""
    chunks: tuple[SearchChunk, ...] | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None


# -- what both frameworks' documents and nodes carry (pure) -----------------------------------
def chunk_metadata(chunk: SearchChunk) -> dict[str, Any]:
    """A chunk's metadata for a framework document: its file's attributes flat (the keys
    filters use), then ``filename``, ``file_id``, ``timestamp``, ``instance_id`` and
    ``scoring_details`` where given (they win over an attribute of the same name)."""
    own = {
        "filename": chunk.filename,
        "file_id": chunk.file_id,
        "timestamp": chunk.timestamp,
        "instance_id": chunk.instance_id,
        "scoring_details": dict(chunk.scoring_details) or None,
    }
    return {**chunk.attributes, **{k: v for k, v in own.items() if v is not None}}


def _content_id(chunk: SearchChunk) -> str:
    where = f"{chunk.instance_id}\0{chunk.filename}\0{chunk.text}"
    return hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def chunk_ids(chunks: Sequence[SearchChunk]) -> list[str]:
    """Each chunk's document id: its id (without one, a hash of where it is from and its
    text), qualified by its instance where two instances gave the same id (frameworks drop
    repeated ids)."""
    ids = [c.id or _content_id(c) for c in chunks]
    repeated = {i for i, n in Counter(ids).items() if n > 1}
    return [
        f"{c.instance_id}/{i}" if i in repeated and c.instance_id else i
        for c, i in zip(chunks, ids, strict=True)
    ]
