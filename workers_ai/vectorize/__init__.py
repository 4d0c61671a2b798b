"""Vectorize V2, Cloudflare's vector database, over its REST API (platform spec §2).

``client.vectorize`` on a :class:`~workers_ai.WorkersAIClient` (or its async twin) manages
indexes; ``client.vectorize.index(name)`` writes and queries vectors. Everything sent is
checked first (names, ids, dimensions, metadata, filters, ``top_k`` limits); writes are
NDJSON batches within the API's limits and can wait until Vectorize has applied them.
:func:`~workers_ai.vectorize.ingest.ingest` embeds and stores many texts, resumably.
"""

from workers_ai.errors import (
    MutationTimeoutError,
    VectorizeIndexExistsError,
    VectorizeIndexNotFoundError,
)
from workers_ai.vectorize.client import (
    AsyncVectorize,
    AsyncVectorizeIndex,
    Vectorize,
    VectorizeIndex,
)
from workers_ai.vectorize.filters import Condition, FilterError, Group, build_filter, check_filter
from workers_ai.vectorize.ingest import (
    IngestError,
    IngestProgress,
    IngestResult,
    aingest,
    document_id,
    ingest,
)
from workers_ai.vectorize.types import (
    HIGHER_IS_CLOSER,
    IndexInfo,
    IndexStats,
    Match,
    MetadataIndex,
    Mutation,
    QueryResult,
    Vector,
    VectorPage,
    relevance,
)

__all__ = [
    "HIGHER_IS_CLOSER",
    "AsyncVectorize",
    "AsyncVectorizeIndex",
    "Condition",
    "FilterError",
    "Group",
    "IndexInfo",
    "IndexStats",
    "IngestError",
    "IngestProgress",
    "IngestResult",
    "Match",
    "MetadataIndex",
    "Mutation",
    "MutationTimeoutError",
    "QueryResult",
    "Vector",
    "VectorPage",
    "Vectorize",
    "VectorizeIndex",
    "VectorizeIndexExistsError",
    "VectorizeIndexNotFoundError",
    "aingest",
    "build_filter",
    "check_filter",
    "document_id",
    "ingest",
    "relevance",
]
