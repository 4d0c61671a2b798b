"""LlamaIndex retrieval from Cloudflare AI Search (formerly AutoRAG; issue #22): the service
indexes an R2 bucket or a website and searches it; :class:`WorkersAISearchRetriever` turns its
chunks into LlamaIndex nodes. The work is the core's (:mod:`workers_ai.ai_search`: routes,
options per route family, filters, results); this module converts and holds the settings.

Nodes (one per chunk, best first; the legacy AutoRAG routes give one per file):

- ``TextNode(text=chunk text, id_=chunk id)`` with the chunk's ``score`` (0 to 1) on the
  ``NodeWithScore``; cross-instance chunks with an id another instance's chunk also has get
  ``"{instance_id}/{chunk id}"`` (LlamaIndex drops nodes with a repeated id);
- ``metadata``: the file's attributes as given, flat (``folder``, ``modified_date``, an
  instance's custom metadata: the keys filters name), then ``filename``, ``file_id``,
  ``timestamp``, ``instance_id`` and ``scoring_details`` where the service gave them;
- what the LLM and embeddings see of the metadata (``MetadataMode.LLM`` / ``EMBED``): the
  filename and the attributes, not :data:`QUIET_KEYS` (ids, times, scoring details).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import MetadataFilters

from llama_index_workers_ai._connection import WorkersAIConnection
from llama_index_workers_ai._vectorize_filters import filters_to_vectorize
from workers_ai.connection import ClientPairOwner
from workers_ai.errors import ConfigurationError, InvalidRequestError
from workers_ai.vectorize import FilterError

if TYPE_CHECKING:
    from workers_ai.ai_search import (
        AISearchTarget,
        AsyncAISearchTarget,
        SearchChunk,
        SearchResult,
    )
    from workers_ai.client import ClientPair
else:  # private attributes' annotations: typing.get_type_hints(cls) resolves them (to Any)
    ClientPair = AISearchTarget = AsyncAISearchTarget = Any

__all__ = ["QUIET_KEYS", "WorkersAISearchRetriever", "chunks_to_nodes"]

logger = logging.getLogger(__name__)

#: Node metadata kept out of what the LLM and embeddings see: ids, times and scoring details.
QUIET_KEYS = ("file_id", "timestamp", "modified_date", "instance_id", "scoring_details")
#: SearchOptions fields with a field of their own here (LlamaIndex's name where it has one).
_OWN_FIELDS = {
    "max_results": "similarity_top_k",
    "score_threshold": "score_threshold",
    "rewrite_query": "rewrite_query",
    "reranking": "reranking",
    "filters": "filters",
}


# -- chunks -> nodes (pure) ---------------------------------------------------------------------
def chunks_to_nodes(chunks: Sequence[SearchChunk]) -> list[NodeWithScore]:
    """AI Search chunks as LlamaIndex nodes with their scores, in order (module docs)."""
    from workers_ai.ai_search.types import chunk_ids, chunk_metadata

    out = []
    for chunk, node_id in zip(chunks, chunk_ids(chunks), strict=True):
        metadata = chunk_metadata(chunk)
        quiet = [k for k in QUIET_KEYS if k in metadata]
        node = TextNode(
            id_=node_id,
            text=chunk.text,
            metadata=metadata,
            excluded_embed_metadata_keys=quiet,
            excluded_llm_metadata_keys=list(quiet),
        )
        out.append(NodeWithScore(node=node, score=chunk.score))
    return out


# -- filters ------------------------------------------------------------------------------------
def metadata_filters_to_wire(filters: MetadataFilters | Mapping[str, Any] | None) -> Any:
    """The Vectorize-syntax filter AI Search takes for LlamaIndex ``filters`` (a mapping is
    already one, passed as given); ``None`` when empty. Raises ``FilterError`` before any
    request for what Vectorize's syntax cannot express (NOT, ``text_match``, OR across keys)."""
    if filters is None or isinstance(filters, Mapping):
        return dict(filters) if filters else None
    return filters_to_vectorize(filters, doc_keys=False)


# -- the settings a retriever and a query engine share ------------------------------------------
class AISearchFields(WorkersAIConnection, ClientPairOwner):
    """What to search (``instance``, ``instance_ids`` of a ``namespace``, or ``autorag``), the
    search options and the connection; checked when built, no I/O; clients made on first use."""

    instance: str | None = Field(default=None)
    """The AI Search instance to search (namespace ``namespace``, default ``default``)."""
    autorag: str | None = Field(default=None)
    """Instead: a legacy AutoRAG id (``autorag/rags/{id}`` routes; deprecated, still served)."""
    namespace: str | None = Field(default=None)
    """The instance's namespace (``None``: ``default``); with ``instance_ids`` (no
    ``instance``): search those instances of the namespace together."""
    instance_ids: list[str] | None = Field(default=None)
    """Search these instances of ``namespace`` at once (chunks say their ``instance_id``)."""
    similarity_top_k: int | None = Field(default=None)
    """Chunks to return, 1 to 50 (``max_num_results``); ``None``: the instance's setting."""
    score_threshold: float | None = Field(default=None)
    """Least score a chunk needs, 0 to 1; ``None``: the instance's setting."""
    rewrite_query: bool | None = Field(default=None)
    """Let the service rewrite the query before searching; ``None``: the instance's setting."""
    reranking: bool | None = Field(default=None)
    """Rerank the chunks (``search_options={"reranking_model": ...}`` picks the model)."""
    filters: MetadataFilters | dict[str, Any] | None = Field(default=None)
    """LlamaIndex ``MetadataFilters`` (``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in``,
    ``nin``, AND, OR of one key's equalities), or a filter in Vectorize's syntax
    (``{"folder": "docs/"}``); keys are the files' attributes. Checked when built."""
    search_options: dict[str, Any] = Field(default_factory=dict)
    """Any other option of ``workers_ai.ai_search.SearchOptions`` (``retrieval_type``,
    ``reranking_model``, ``boost_by``, ``extra``...), checked when built."""
    callback_manager: CallbackManager = Field(
        default_factory=lambda: CallbackManager([]), exclude=True
    )
    """LlamaIndex callbacks (the dispatcher's events are sent as well)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send with (left open by :meth:`close`)."""
    async_http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send with (left open by :meth:`aclose`)."""

    _clients: ClientPair = PrivateAttr()
    _handle: dict[str, Any] = PrivateAttr()
    _options: dict[str, Any] = PrivateAttr()
    _sync_target: AISearchTarget | None = PrivateAttr(default=None)
    _async_target: AsyncAISearchTarget | None = PrivateAttr(default=None)

    def _after_init(self) -> None:
        """Check the target, the options and the filters (no I/O) and resolve the settings."""
        self._handle = self._checked_handle()
        self._options = self._checked_options(self._own_options(), generate=False)
        self._clients = self._make_clients(
            self._resolve_settings(),
            http_client=self.http_client,
            async_http_client=self.async_http_client,
        )

    @property
    def legacy(self) -> bool:
        """Whether the target is a legacy AutoRAG (no sources in streamed answers)."""
        return self.autorag is not None

    def _checked_handle(self) -> dict[str, Any]:
        """The target (``instance``, ``instance_ids``, ``autorag``, ``namespace``), checked."""
        # workers_ai.ai_search loads the catalog (its answers parse chat): when built, not on import
        from workers_ai.ai_search.client import target_route

        which: dict[str, Any] = {"instance": self.instance, "instance_ids": self.instance_ids,
                                 "autorag": self.autorag, "namespace": self.namespace}  # fmt: skip
        try:
            target_route(**which)
        except InvalidRequestError as error:
            raise ConfigurationError(f"{type(self).__name__}: {error}") from error
        return which

    def _own_options(self) -> dict[str, Any]:
        """The search options (``search_options`` and the fields), ``None`` left out."""
        doubled = sorted(set(self.search_options) & set(_OWN_FIELDS))
        if doubled:
            fields = ", ".join(f"{_OWN_FIELDS[k]}=" for k in doubled)
            raise ConfigurationError(
                f"search_options {doubled}: pass {fields} instead (a field of its own)"
            )
        own = {
            "max_results": self.similarity_top_k,
            "score_threshold": self.score_threshold,
            "rewrite_query": self.rewrite_query,
            "reranking": self.reranking,
            "filters": metadata_filters_to_wire(self.filters),
        }
        return {**self.search_options, **{k: v for k, v in own.items() if v is not None}}

    def _checked_options(self, options: dict[str, Any], *, generate: bool) -> dict[str, Any]:
        """``options`` once the core has written a request body with them (each option's
        range, and whether the target's route family has it); filter refusals raise as
        ``FilterError``, others as ``ConfigurationError``."""
        from workers_ai.ai_search.options import SearchOptions, instance_body, legacy_body

        try:
            opts = SearchOptions.of(options)
            if self.legacy:
                legacy_body("check", opts, generate=generate)
            else:
                instance_body("check", opts, generate=generate)
        except FilterError:
            raise
        except InvalidRequestError as error:
            raise ConfigurationError(f"{type(self).__name__}: {error}") from error
        return options

    def _target(self) -> AISearchTarget:
        """The core's handle on the target (``client.ai_search...``), made on first use."""
        if self._sync_target is None:
            self._sync_target = self._sync_client().ai_search.target(**self._handle)
        return self._sync_target

    def _atarget(self) -> AsyncAISearchTarget:
        if self._async_target is None:
            self._async_target = self._async_client().ai_search.target(**self._handle)
        return self._async_target

    def _search_nodes(self, result: SearchResult) -> list[NodeWithScore]:
        for failure in result.errors:  # cross-instance: the others' chunks still come back
            logger.warning(
                "%s: AI Search instance %r failed: %s",
                type(self).__name__,
                failure.get("instance_id"),
                failure.get("message"),
            )
        return chunks_to_nodes(result.chunks)


class WorkersAISearchRetriever(AISearchFields, BaseRetriever):
    """Retrieve nodes from a Cloudflare AI Search instance (or a legacy AutoRAG, or several
    instances of a namespace): the service embeds, searches, filters and reranks.

    Each chunk becomes a ``NodeWithScore`` (module docs: ids, metadata, what the LLM sees).
    Target, options and filters are checked when the retriever is built, before any request:
    names, ranges, options the target's route family lacks, and filters Vectorize's syntax
    cannot express (``workers_ai.vectorize.FilterError``). A missing instance raises
    ``workers_ai.NotFoundError``. ``aretrieve`` is natively async.

    Example:
        .. code-block:: python

            from llama_index.core.query_engine import RetrieverQueryEngine
            from llama_index.core.vector_stores import MetadataFilter, MetadataFilters
            from llama_index_workers_ai import WorkersAI, WorkersAISearchRetriever

            retriever = WorkersAISearchRetriever(
                instance="docs",
                similarity_top_k=5,
                filters=MetadataFilters(filters=[MetadataFilter(key="folder", value="guides/")]),
            )
            nodes = retriever.retrieve("How do I rotate a token?")
            engine = RetrieverQueryEngine.from_args(retriever, llm=WorkersAI())
            print(engine.query("How do I rotate a token?"))

    For the service's own generated answer, see ``WorkersAISearchQueryEngine``.
    """

    _verbose: bool = PrivateAttr(default=False)  # BaseRetriever's, for recursive retrieval

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAISearchRetriever"

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._target().search(query_bundle.query_str, **self._options)
        return self._search_nodes(result)

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = await self._atarget().search(query_bundle.query_str, **self._options)
        return self._search_nodes(result)
