"""AI Search (formerly AutoRAG): search an indexed R2 bucket or website, or get an answer with
its sources, over both route families (platform spec §3).

``client.ai_search.instance(name)`` (or ``.autorag(rag_id)`` for the legacy routes, or
``.instances(namespace, instance_ids)`` across instances) has ``search``, ``answer`` and
``stream_answer``; results are neutral :class:`SearchChunk` s whichever route answered.
"""

from typing import TYPE_CHECKING, Any

from workers_ai.ai_search.options import SearchOptions
from workers_ai.ai_search.types import (
    AnswerDelta,
    ContentPart,
    SearchAnswer,
    SearchChunk,
    SearchResult,
    chunk_ids,
    chunk_metadata,
)

if TYPE_CHECKING:
    from workers_ai.ai_search.client import (
        AISearch,
        AISearchTarget,
        AnswerStream,
        AsyncAISearch,
        AsyncAISearchTarget,
        AsyncAnswerStream,
    )

#: The client classes, loaded on first use (they import the chat machinery).
_LAZY = frozenset(
    {"AISearch", "AISearchTarget", "AnswerStream", "AsyncAISearch", "AsyncAISearchTarget",
     "AsyncAnswerStream"}
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from workers_ai.ai_search import client

        return getattr(client, name)
    raise AttributeError(f"module 'workers_ai.ai_search' has no attribute {name!r}")


__all__ = [
    "AISearch",
    "AISearchTarget",
    "AnswerDelta",
    "AnswerStream",
    "AsyncAISearch",
    "AsyncAISearchTarget",
    "AsyncAnswerStream",
    "ContentPart",
    "SearchAnswer",
    "SearchChunk",
    "SearchOptions",
    "SearchResult",
    "chunk_ids",
    "chunk_metadata",
]
