"""AI Search answers read into neutral types (platform spec §3.2, §3.4); pure.

Legacy AutoRAG results (``data``: one item per file with content parts) and AI Search results
(``chunks``) both become :class:`~workers_ai.ai_search.types.SearchChunk` s. Streamed answers:
the AI Search routes send an ``event: chunks`` (the sources) and then OpenAI-style
``chat.completion.chunk`` events; the legacy route sends Workers AI's ``{"response": ...}``
events. A result of the wrong shape is an ``APIResponseValidationError``, never a ``KeyError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from workers_ai.ai_search.types import (
    AnswerDelta,
    ContentPart,
    SearchAnswer,
    SearchChunk,
    SearchResult,
)
from workers_ai.chat import usage_from_wire
from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError

__all__ = ["parse_answer", "parse_chunks", "parse_search", "stream_delta"]


def _bad(what: str, data: Any) -> APIResponseValidationError:
    return APIResponseValidationError(f"AI Search answered {what}", body=value_excerpt(data))


def _number(value: Any) -> float | None:
    """A finite number as sent (an int stays an int: timestamps are epoch milliseconds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _legacy_item(item: Any) -> SearchChunk:
    """A legacy ``data`` item: a file with its content parts."""
    if not isinstance(item, Mapping):
        raise _bad("a result item that is no object", item)
    parts = tuple(
        ContentPart(_str(p.get("type")) or "text", p["text"], _str(p.get("id")))
        for p in item.get("content") or ()
        if isinstance(p, Mapping) and isinstance(p.get("text"), str)
    )
    file_id = _str(item.get("file_id"))
    filename = _str(item.get("filename"))
    return SearchChunk(
        id=file_id or filename or (parts[0].id if parts and parts[0].id else ""),
        text="\n\n".join(p.text for p in parts),
        score=_number(item.get("score")),
        filename=filename,
        file_id=file_id,
        attributes=_mapping(item.get("attributes")),
        content=parts,
    )


def _chunk(item: Any) -> SearchChunk:
    """A new-style chunk: ``{"id", "type", "score", "text", "item": {"key", "timestamp",
    "metadata"?}, "scoring_details", "instance_id"?}``."""
    if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
        raise _bad("a chunk without text", item)
    source = _mapping(item.get("item"))
    chunk_id = _str(item.get("id")) or ""
    return SearchChunk(
        id=chunk_id,
        text=item["text"],
        score=_number(item.get("score")),
        filename=_str(source.get("key")),
        attributes=_mapping(source.get("metadata")),
        timestamp=_number(source.get("timestamp")),
        content=(ContentPart(_str(item.get("type")) or "text", item["text"], chunk_id or None),),
        scoring_details=_mapping(item.get("scoring_details")),
        instance_id=_str(item.get("instance_id")),
    )


def parse_chunks(data: Any) -> tuple[SearchChunk, ...]:
    """A result's chunks (``chunks``) or files (legacy ``data``), in the order given."""
    if isinstance(data, list):
        return tuple(_chunk(item) for item in data)
    if not isinstance(data, Mapping):
        raise _bad("no object", data)
    if isinstance(data.get("chunks"), list):
        return tuple(_chunk(item) for item in data["chunks"])
    if isinstance(data.get("data"), list):
        return tuple(_legacy_item(item) for item in data["data"])
    if "chunks" in data or "data" in data:
        raise _bad("results that are no list", data)
    return ()


def parse_search(data: Any) -> SearchResult:
    if not isinstance(data, Mapping):
        raise _bad("no search result", data)
    errors = tuple(e for e in data.get("errors") or () if isinstance(e, Mapping))
    return SearchResult(
        query=_str(data.get("search_query")),
        chunks=parse_chunks(data),
        has_more=data.get("has_more") is True,
        next_page=data.get("next_page"),
        errors=errors,
    )


def parse_answer(data: Any) -> SearchAnswer:
    """A legacy ``ai-search`` result (``response``) or a chat completion (``choices``)."""
    if not isinstance(data, Mapping):
        raise _bad("no answer", data)
    usage = usage_from_wire(data["usage"]) if isinstance(data.get("usage"), Mapping) else None
    if isinstance(data.get("choices"), list):
        choice = data["choices"][0] if data["choices"] else {}
        message = _mapping(_mapping(choice).get("message"))
        content = message.get("content")
        return SearchAnswer(
            text=content if isinstance(content, str) else "",
            chunks=parse_chunks(data),
            query=_str(data.get("search_query")),
            model=_str(data.get("model")),
            usage=usage,
            finish_reason=_str(_mapping(choice).get("finish_reason")),
        )
    if isinstance(data.get("response"), str):
        return SearchAnswer(
            text=data["response"],
            chunks=parse_chunks(data),
            query=_str(data.get("search_query")),
            usage=usage,
        )
    raise _bad("neither a response nor choices", data)


def stream_delta(event: Mapping[str, Any]) -> AnswerDelta | None:
    """One streamed event as a delta (``None`` for events that say nothing)."""
    if event.get("event") == "chunks":
        return AnswerDelta(chunks=parse_chunks(event.get("data")))
    usage = usage_from_wire(event["usage"]) if isinstance(event.get("usage"), Mapping) else None
    if isinstance(event.get("choices"), list):
        choice = _mapping(event["choices"][0]) if event["choices"] else {}
        delta = _mapping(choice.get("delta"))
        text = delta.get("content")
        return AnswerDelta(
            text=text if isinstance(text, str) else "",
            usage=usage,
            finish_reason=_str(choice.get("finish_reason")),
            model=_str(event.get("model")),
        )
    if isinstance(event.get("response"), str):
        return AnswerDelta(text=event["response"], usage=usage)
    return AnswerDelta(usage=usage) if usage is not None else None
