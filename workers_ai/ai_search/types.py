"""Neutral AI Search types (platform spec §3): one shape for both route families' answers.

The legacy AutoRAG routes answer files (``data``: file id, filename, score, attributes, content
parts); the AI Search routes answer chunks (``chunks``: id, text, score, ``item`` key/timestamp/
metadata, scoring details). Both become :class:`SearchChunk` s, so retrievers and query
engines need not know which route answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers_ai.types import Usage

__all__ = ["AnswerDelta", "ContentPart", "SearchAnswer", "SearchChunk", "SearchResult"]


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
