"""``WorkersAIVectorizeStore``: a LlamaIndex vector store on Cloudflare Vectorize (V2).

Nodes become Vectorize vectors (id = node id, values = embedding) whose metadata holds the
whole node, so queries rebuild full nodes. The work is the core's
(:mod:`workers_ai.vectorize`: checks, NDJSON batches, mutation waits, filters); this module
converts LlamaIndex types to and from the core's and sequences the calls.

Stored metadata (each vector, at most 10 KiB as JSON, checked before any request):

- ``_node_content`` / ``_node_type``: the node as LlamaIndex's ``node_to_metadata_dict``
  writes it, without its text, which is stored once under ``text_key`` (default ``"text"``,
  the key LangChain and :func:`workers_ai.vectorize.ingest` use);
- ``ref_doc_id``, ``doc_id``, ``document_id``: the node's document, as LlamaIndex stores it;
- ``_ref_doc_key``: the same id, hashed when over the 64 bytes Vectorize indexes, with a
  string metadata index: deletion by document and document filters use it;
- the node's own metadata, where Vectorize can store it (see the class).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.embeddings.base import SimilarityMode, similarity
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import (
    build_metadata_filter_fn,
    metadata_dict_to_node,
    node_to_metadata_dict,
)

from llama_index_workers_ai._connection import WorkersAIConnection
from llama_index_workers_ai._vectorize_filters import (
    REF_DOC_KEY,
    doc_key,
    filters_to_vectorize,
)
from workers_ai.connection import ClientPairOwner
from workers_ai.errors import (
    ConfigurationError,
    InvalidRequestError,
    VectorizeIndexNotFoundError,
)
from workers_ai.vectorize import HIGHER_IS_CLOSER, Match, Vector, relevance, wire
from workers_ai.vectorize.mutations import DEFAULT_MUTATION_TIMEOUT, check_timeout
from workers_ai.vectorize.types import in_namespace

if TYPE_CHECKING:
    from workers_ai.client import ClientPair
    from workers_ai.vectorize import (
        AsyncVectorizeIndex,
        IndexInfo,
        VectorizeIndex,
    )
else:  # private attributes' annotations: typing.get_type_hints(cls) resolves them (to Any)
    ClientPair = VectorizeIndex = AsyncVectorizeIndex = IndexInfo = Any

__all__ = ["WorkersAIVectorizeStore"]

logger = logging.getLogger(__name__)

Metric = Literal["cosine", "euclidean", "dot-product"]
IndexType = Literal["string", "number", "boolean"]
#: The keys ``node_to_metadata_dict`` writes besides the node's own metadata.
_NODE_KEYS = frozenset({"_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id"})
_SIZE_HINT = (
    "; a node's text, metadata and relationships are all stored in its Vectorize metadata: "
    "split documents into smaller nodes (a smaller chunk_size), or drop large metadata"
)
_MODES = (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR)
_MMR_PREFETCH_FACTOR = 4.0


# -- nodes -> vectors ---------------------------------------------------------------------------
def _storable(key: str, value: Any, where: str) -> bool:
    """Whether Vectorize can keep ``key: value`` at the top level of a vector's metadata."""
    if value is None:
        return False
    try:
        wire.check_metadata({key: value}, where)
    except InvalidRequestError:
        return False
    return True


def _node_metadata(node: BaseNode, where: str, text_key: str, flat: bool) -> dict[str, Any]:
    """The metadata a node is stored with (module docs), checked against Vectorize's rules."""
    clash = {text_key, REF_DOC_KEY} & set(node.metadata)
    if clash:
        raise InvalidRequestError(
            f"{where}: its metadata has {sorted(clash)}, where the store keeps the node's text "
            f"({text_key!r}) and document key ({REF_DOC_KEY!r}): rename it, or pick another "
            "text_key"
        )
    try:
        stored = node_to_metadata_dict(node, remove_text=True, flat_metadata=flat)
    except ValueError as error:
        raise InvalidRequestError(
            f"{where}: {error} (flat_metadata=True; pass flat_metadata=False to store lists "
            "and nested objects too)"
        ) from error
    metadata = {k: v for k, v in stored.items() if k in _NODE_KEYS or _storable(k, v, where)}
    metadata[text_key] = node.get_content(metadata_mode=MetadataMode.NONE)
    if node.ref_doc_id is not None:
        metadata[REF_DOC_KEY] = doc_key(node.ref_doc_id)
    try:
        return wire.check_metadata(metadata, where)
    except InvalidRequestError as error:
        raise InvalidRequestError(f"{error}{_SIZE_HINT}") from error


def _nodes_to_vectors(
    nodes: Sequence[BaseNode], *, text_key: str, flat: bool, namespace: str | None
) -> list[Vector]:
    """Every node as a Vectorize vector, all checked before anything is sent."""
    wire.check_ids([node.node_id for node in nodes])
    vectors = []
    for i, node in enumerate(nodes):
        where = f"node {node.node_id!r} (nodes[{i}])"
        embedding = node.embedding
        if embedding is None:
            raise InvalidRequestError(
                f"{where} has no embedding: embed nodes before adding them (VectorStoreIndex "
                "does, with its embed_model)"
            )
        metadata = _node_metadata(node, where, text_key, flat)
        vectors.append(Vector(node.node_id, embedding, metadata, namespace))
    return vectors


# -- vectors -> nodes ---------------------------------------------------------------------------
def _vector_to_node(vector_id: str, metadata: Mapping[str, Any], text_key: str) -> BaseNode:
    """The stored node; a vector written by another tool (no ``_node_content``) becomes a
    ``TextNode`` of its ``text_key`` text and the rest of its metadata."""
    meta = dict(metadata)
    text = meta.get(text_key)
    if "_node_content" in meta:
        return metadata_dict_to_node(meta, text=text if isinstance(text, str) else None)
    meta.pop(text_key, None)
    meta.pop(REF_DOC_KEY, None)
    return TextNode(id_=vector_id, text=str(text or ""), metadata=meta)


def _similarity(score: float, metric: str | None) -> float:
    """Cosine similarity as Vectorize gives it; distances and inner products via the core's
    :func:`~workers_ai.vectorize.relevance` (1 = identical)."""
    if metric in (None, "cosine"):
        return score
    return relevance(score, metric)


def _local_score(query: Sequence[float], values: Sequence[float], metric: str | None) -> float:
    """The score Vectorize would give (cosine similarity, L2 distance, negative inner product)."""
    if metric == "euclidean":
        return -similarity(list(query), list(values), SimilarityMode.EUCLIDEAN)
    if metric == "dot-product":
        return -similarity(list(query), list(values), SimilarityMode.DOT_PRODUCT)
    return similarity(list(query), list(values), SimilarityMode.DEFAULT)


def _matching(
    vectors: Sequence[Vector],
    filters: MetadataFilters | None,
    doc_ids: Sequence[str] | None = None,
) -> list[Vector]:
    """``vectors`` that pass ``filters`` and ``doc_ids``, evaluated here (for vectors fetched by
    id); a filter Vectorize could not express is refused all the same."""
    if not filters and not doc_ids:
        return list(vectors)
    filters_to_vectorize(filters, doc_ids)
    by_id = {v.id: v.metadata for v in vectors}
    keep = build_metadata_filter_fn(lambda i: by_id[i], filters)
    wanted = set(doc_ids or ())
    return [
        v for v in vectors if keep(v.id) and (not wanted or v.metadata.get("ref_doc_id") in wanted)
    ]


def _local_matches(
    query: VectorStoreQuery, vectors: Sequence[Vector], metric: str | None
) -> list[Match]:
    """``query.node_ids``' vectors scored here as Vectorize would, best first."""
    assert query.query_embedding is not None
    kept = _matching(vectors, query.filters, query.doc_ids)
    matches = [
        Match(v.id, _local_score(query.query_embedding, v.values, metric), v.values, v.metadata)
        for v in kept
        if v.values
    ]
    higher = HIGHER_IS_CLOSER.get(metric or "cosine", True)
    return sorted(matches, key=lambda m: m.score, reverse=higher)


def _with_vectors(matches: Sequence[Match], vectors: Sequence[Vector]) -> list[Match]:
    """Matches completed with their values and metadata from ``get_by_ids``."""
    by_id = {v.id: v for v in vectors}
    return [
        Match(m.id, m.score, by_id[m.id].values, by_id[m.id].metadata)
        for m in matches
        if m.id in by_id
    ]


# -- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """How one ``VectorStoreQuery`` is asked of Vectorize."""

    top_k: int
    fetch_k: int
    mmr: bool
    mmr_threshold: float | None
    filter: dict[str, Any] | None
    by_ids: bool
    """Metadata (and values) fetched with ``get_by_ids``: over 50 candidates, Vectorize
    returns neither with a query."""

    def query_args(self) -> dict[str, Any]:
        return {
            "top_k": self.fetch_k,
            "return_values": self.mmr and not self.by_ids,
            "return_metadata": "none" if self.by_ids else "all",
            "filter": self.filter,
        }


def _plan(query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> _Plan:
    if query.mode not in _MODES:
        raise InvalidRequestError(
            f"query mode {query.mode.value!r}: Vectorize searches dense vectors; use the "
            "default mode or 'mmr'"
        )
    if query.query_embedding is None:
        raise InvalidRequestError("the query has no query_embedding (Vectorize has no text search)")
    top_k = query.similarity_top_k
    mmr = query.mode == VectorStoreQueryMode.MMR
    fetch_k = top_k
    if mmr:
        factor = kwargs.get("mmr_prefetch_factor", _MMR_PREFETCH_FACTOR)
        prefetch = kwargs.get("mmr_prefetch_k") or int(top_k * factor)
        fetch_k = min(max(prefetch, top_k), wire.TOP_K_MAX)
    threshold = query.mmr_threshold
    return _Plan(
        top_k=top_k,
        fetch_k=fetch_k,
        mmr=mmr,
        mmr_threshold=threshold if threshold is not None else kwargs.get("mmr_threshold"),
        filter=filters_to_vectorize(query.filters, query.doc_ids),
        by_ids=fetch_k > wire.TOP_K_MAX_WITH_DATA,
    )


def _result(
    query: VectorStoreQuery,
    plan: _Plan,
    matches: Sequence[Match],
    metric: str | None,
    text_key: str,
) -> VectorStoreQueryResult:
    """The best ``top_k`` (or MMR's choice among the candidates) as LlamaIndex nodes."""
    chosen: list[tuple[Match, float]]
    if plan.mmr:
        assert query.query_embedding is not None
        usable = [m for m in matches if m.values]
        scores, picked = get_top_k_mmr_embeddings(
            query.query_embedding,
            [list(m.values) for m in usable],
            similarity_top_k=plan.top_k,
            embedding_ids=list(range(len(usable))),
            mmr_threshold=plan.mmr_threshold,
        )
        chosen = [(usable[i], float(score)) for score, i in zip(scores, picked, strict=True)]
    else:
        chosen = [(m, _similarity(m.score, metric)) for m in matches[: plan.top_k]]
    return VectorStoreQueryResult(
        nodes=[_vector_to_node(m.id, m.metadata, text_key) for m, _ in chosen],
        similarities=[score for _, score in chosen],
        ids=[m.id for m, _ in chosen],
    )


def _warn_if_capped(count: int) -> None:
    if count >= wire.TOP_K_MAX:
        logger.warning(
            "get_nodes(filters=...) returns at most %d nodes (Vectorize queries return at most "
            "that many); pass node_ids to get more",
            wire.TOP_K_MAX,
        )


def _checked_setting(name: str, check: Any, value: Any) -> None:
    try:
        check(value)
    except InvalidRequestError as error:
        raise ConfigurationError(f"{name}: {error}") from error


class WorkersAIVectorizeStore(WorkersAIConnection, ClientPairOwner, BasePydanticVectorStore):
    """LlamaIndex vector store on Cloudflare Vectorize (V2), with the package's connection.

    ``add`` upserts nodes (id = node id, at most 64 bytes) in batches, every node checked
    first; a node whose stored form is over Vectorize's 10 KiB raises naming it, before any
    request. With ``wait_for_mutations`` (default) each write returns once Vectorize has
    applied it, so what you wrote is what the next query reads. The index is created on the
    first ``add`` when missing (``dimensions``, else the nodes' embedding size; ``metric``,
    default cosine), with a string metadata index on ``_ref_doc_key`` (and any you list in
    ``metadata_indexes``); on an existing index missing ones are created. Vectorize filters only
    on properties with a metadata index, and only vectors written after it exists: nodes
    written before must be added again to be found by ``delete`` or a filter.

    Queries: default and MMR modes, ``MetadataFilters`` with ``==``, ``!=``, ``>``, ``>=``,
    ``<``, ``<=``, ``in``, ``nin``, AND, and OR of one key's equalities (sent as ``in``);
    anything else raises ``workers_ai.vectorize.FilterError`` naming the key and operator.
    ``doc_ids`` and filters on ``ref_doc_id``/``doc_id``/``document_id`` use the store's own
    index; other keys need one (``metadata_indexes``). ``node_ids`` restricts the search to
    those nodes (fetched and scored here). Similarities: cosine similarity as is; euclidean
    and dot-product indexes give 0..1 relevance (1 = identical).

    Metadata values Vectorize cannot keep at the top level (``None``, keys with ``.`` or
    ``"`` or starting with ``$``; with ``flat_metadata=False`` lists other than of strings and
    deeper nesting) stay in the stored node, rebuilt whole, but cannot be filtered on.

    Example:
        .. code-block:: python

            from llama_index.core import StorageContext, VectorStoreIndex
            from llama_index_workers_ai import (
                WorkersAI, WorkersAIEmbedding, WorkersAIVectorizeStore,
            )

            store = WorkersAIVectorizeStore(index_name="docs", metadata_indexes={"year": "number"})
            index = VectorStoreIndex.from_documents(
                documents,
                storage_context=StorageContext.from_defaults(vector_store=store),
                embed_model=WorkersAIEmbedding(),
            )
            print(index.as_query_engine(llm=WorkersAI()).query("What changed in 2024?"))
            index.delete_ref_doc(documents[0].doc_id)  # all of its nodes
    """

    stores_text: bool = True
    """The node text is stored with its vector (under ``text_key``), so queries return whole
    nodes and no docstore is needed."""
    flat_metadata: bool = True
    """Refuse node metadata other than strings, numbers and ``None`` (as LlamaIndex's other
    stores); ``False`` also stores lists and nested objects."""
    index_name: str = Field(description="The Vectorize index.")
    """The Vectorize index (created on the first ``add`` when missing and ``create_index``)."""
    namespace: str | None = Field(default=None)
    """Write into and search only this namespace (at most 64 bytes); ``None``: no namespace."""
    text_key: str = Field(default="text")
    """Metadata key the node text is stored under."""
    create_index: bool = Field(default=True)
    """Create the index on the first ``add`` if it does not exist."""
    dimensions: int | None = Field(default=None)
    """Vector size for a new index (default: the first nodes' embeddings); checked against an
    existing index."""
    metric: Metric | None = Field(default=None)
    """Metric of a new index (default ``cosine``); checked against an existing index."""
    metadata_indexes: dict[str, IndexType] = Field(default_factory=dict)
    """Metadata indexes to make sure of (property -> ``string``/``number``/``boolean``), so
    those node metadata keys can be filtered on (Vectorize allows 10, the store uses one)."""
    wait_for_mutations: bool = Field(default=True)
    """Return from writes once Vectorize has applied them (bounded by ``mutation_timeout``)."""
    mutation_timeout: float = Field(default=DEFAULT_MUTATION_TIMEOUT)
    """Seconds a write waits for Vectorize to apply it (``workers_ai.MutationTimeoutError``)."""
    batch_size: int = Field(default=wire.DEFAULT_WRITE_BATCH)
    """Vectors per upsert request (at most 5,000)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send with (left open by :meth:`close`)."""
    async_http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send with (left open by :meth:`aclose`)."""

    _clients: ClientPair = PrivateAttr()
    _sync_index: VectorizeIndex | None = PrivateAttr(default=None)
    _async_index: AsyncVectorizeIndex | None = PrivateAttr(default=None)
    _info: IndexInfo | None = PrivateAttr(default=None)
    _ready: bool = PrivateAttr(default=False)

    def _after_init(self) -> None:
        """Check the settings and resolve the connection (no I/O)."""
        _checked_setting("index_name", wire.check_index_name, self.index_name)
        _checked_setting("namespace", wire.check_namespace, self.namespace)
        _checked_setting("mutation_timeout", check_timeout, self.mutation_timeout)
        if self.dimensions is not None:
            _checked_setting("dimensions", wire.check_dimensions, self.dimensions)
        for key in (self.text_key, *self.metadata_indexes):
            _checked_setting("text_key", lambda k: wire.check_metadata({k: ""}, repr(k)), key)
        if len(self.metadata_indexes) >= wire.MAX_METADATA_INDEXES:
            raise ConfigurationError(
                f"metadata_indexes names {len(self.metadata_indexes)} properties; Vectorize "
                f"allows {wire.MAX_METADATA_INDEXES} per index and the store uses one"
            )
        if not 1 <= self.batch_size <= wire.MAX_WRITE_BATCH:
            raise ConfigurationError(f"batch_size={self.batch_size}: use 1 to 5000")
        self._clients = self._make_clients(
            self._resolve_settings(),
            http_client=self.http_client,
            async_http_client=self.async_http_client,
        )

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIVectorizeStore"

    @property
    def client(self) -> VectorizeIndex:
        """The core's index handle (``workers_ai.vectorize.VectorizeIndex``)."""
        if self._sync_index is None:
            self._sync_index = self._sync_client().vectorize.index(
                self.index_name, mutation_timeout=self.mutation_timeout
            )
        return self._sync_index

    @property
    def aclient(self) -> AsyncVectorizeIndex:
        """The core's async index handle (``workers_ai.vectorize.AsyncVectorizeIndex``)."""
        if self._async_index is None:
            self._async_index = self._async_client().vectorize.index(
                self.index_name, mutation_timeout=self.mutation_timeout
            )
        return self._async_index

    # -- what both twins share (no I/O) ---------------------------------------------------------
    def _to_vectors(self, nodes: Sequence[BaseNode]) -> list[Vector]:
        return _nodes_to_vectors(
            nodes, text_key=self.text_key, flat=self.flat_metadata, namespace=self.namespace
        )

    def _checked_info(self, info: IndexInfo) -> IndexInfo:
        """The index's config, which must be the one this store was given."""
        for name, wanted, found in (
            ("metric", self.metric, info.metric),
            ("dimensions", self.dimensions, info.dimensions),
        ):
            if wanted is not None and found is not None and wanted != found:
                raise ConfigurationError(
                    f"Vectorize index {self.index_name!r} has {name} {found!r}, not the "
                    f"{wanted!r} this store was given: fix {name}=, or use another index_name"
                )
        self._info = info
        return info

    def _create_args(
        self, dimensions: int | None, error: VectorizeIndexNotFoundError
    ) -> dict[str, Any]:
        if not self.create_index or (dimensions is None and self.dimensions is None):
            raise error
        return {
            "dimensions": self.dimensions or dimensions,
            "metric": self.metric or "cosine",
            "exist_ok": True,
        }

    def _wanted_indexes(self) -> dict[str, IndexType]:
        """The metadata indexes the store needs: its document key, and the user's."""
        return {REF_DOC_KEY: "string", **self.metadata_indexes}

    def _visible(self, vectors: Sequence[Vector]) -> list[Vector]:
        """Vectors of this store's namespace, when it has one (ids are index-wide)."""
        return in_namespace(vectors, self.namespace)

    def _nodes(self, vectors: Sequence[Vector]) -> list[BaseNode]:
        return [_vector_to_node(v.id, v.metadata, self.text_key) for v in vectors]

    # -- sync -----------------------------------------------------------------------------------
    def _describe(self) -> IndexInfo:
        return self._info or self._checked_info(self.client.describe())

    def _prepare(self, dimensions: int | None) -> None:
        """The index exists (created if need be) and has the metadata indexes wanted."""
        if self._ready:
            return
        try:
            self._describe()
        except VectorizeIndexNotFoundError as error:
            args = self._create_args(dimensions, error)
            info = self._sync_client().vectorize.create_index(self.index_name, **args)
            self._checked_info(info)
        self.client.ensure_metadata_indexes(self._wanted_indexes())
        self._ready = True

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert ``nodes`` (with embeddings); their ids. All are checked before any request."""
        vectors = self._to_vectors(nodes)
        if not vectors:
            return []
        self._prepare(len(vectors[0].values))
        self.client.upsert(vectors, batch_size=self.batch_size, wait=self.wait_for_mutations)
        return [v.id for v in vectors]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The nearest nodes (``similarity_top_k`` <= 100), or MMR's choice among them."""
        plan = _plan(query, kwargs)
        metric = self._describe().metric
        index = self.client
        if query.node_ids:
            vectors = self._visible(index.get_by_ids(query.node_ids))
            matches = _local_matches(query, vectors, metric)
        else:
            assert query.query_embedding is not None
            args = plan.query_args()
            found = index.query(query.query_embedding, namespace=self.namespace, **args)
            matches = list(found.matches)
            if plan.by_ids:
                matches = _with_vectors(matches, index.get_by_ids([m.id for m in matches]))
        return _result(query, plan, matches, metric, self.text_key)

    def _ids_where(self, filter: dict[str, Any] | None) -> list[str]:
        return self.client.ids_matching(filter, namespace=self.namespace)

    def _delete_where(self, filter: dict[str, Any] | None) -> None:
        """Delete every vector ``filter`` matches (query, delete, wait; until none is left)."""
        self.client.delete_matching(filter, namespace=self.namespace)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of document ``ref_doc_id`` (written while the store's metadata
        index existed: see the class); returns once Vectorize has applied it."""
        self._prepare(None)
        self._delete_where({REF_DOC_KEY: doc_key(ref_doc_id)})

    def _owned_ids(self, node_ids: list[str], filters: MetadataFilters | None) -> list[str]:
        if filters is None and self.namespace is None:
            return node_ids
        vectors = self._visible(self.client.get_by_ids(node_ids))
        return [v.id for v in _matching(vectors, filters)]

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids (those that pass ``filters``), or, without ids, every
        node ``filters`` matches."""
        if node_ids is not None:
            ids = self._owned_ids(node_ids, filters)
            self.client.delete_by_ids(ids, wait=self.wait_for_mutations)
            return
        self._delete_where(_required_filter(filters))

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """Nodes by id (in that order, missing ones left out), or those ``filters`` match (at
        most 100), or, with neither, every node."""
        index = self.client
        if node_ids is not None:
            vectors = _matching(index.get_by_ids(node_ids), filters)
        elif filters is not None and filters.filters:
            ids = self._ids_where(filters_to_vectorize(filters))
            _warn_if_capped(len(ids))
            vectors = index.get_by_ids(ids)
        else:
            vectors = index.get_by_ids(list(index.iter_ids()))
        return self._nodes(self._visible(vectors))

    def clear(self) -> None:
        """Delete every node of the index (of the store's ``namespace`` when it has one)."""
        self.client.delete_all(namespace=self.namespace, wait=self.wait_for_mutations)

    # -- async ----------------------------------------------------------------------------------
    async def _adescribe(self) -> IndexInfo:
        return self._info or self._checked_info(await self.aclient.describe())

    async def _aprepare(self, dimensions: int | None) -> None:
        if self._ready:
            return
        try:
            await self._adescribe()
        except VectorizeIndexNotFoundError as error:
            args = self._create_args(dimensions, error)
            info = await self._async_client().vectorize.create_index(self.index_name, **args)
            self._checked_info(info)
        await self.aclient.ensure_metadata_indexes(self._wanted_indexes())
        self._ready = True

    async def async_add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        vectors = self._to_vectors(nodes)
        if not vectors:
            return []
        await self._aprepare(len(vectors[0].values))
        await self.aclient.upsert(vectors, batch_size=self.batch_size, wait=self.wait_for_mutations)
        return [v.id for v in vectors]

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        plan = _plan(query, kwargs)
        metric = (await self._adescribe()).metric
        index = self.aclient
        if query.node_ids:
            vectors = self._visible(await index.get_by_ids(query.node_ids))
            matches = _local_matches(query, vectors, metric)
        else:
            assert query.query_embedding is not None
            args = plan.query_args()
            found = await index.query(query.query_embedding, namespace=self.namespace, **args)
            matches = list(found.matches)
            if plan.by_ids:
                vectors = await index.get_by_ids([m.id for m in matches])
                matches = _with_vectors(matches, vectors)
        return _result(query, plan, matches, metric, self.text_key)

    async def _aids_where(self, filter: dict[str, Any] | None) -> list[str]:
        return await self.aclient.ids_matching(filter, namespace=self.namespace)

    async def _adelete_where(self, filter: dict[str, Any] | None) -> None:
        await self.aclient.delete_matching(filter, namespace=self.namespace)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await self._aprepare(None)
        await self._adelete_where({REF_DOC_KEY: doc_key(ref_doc_id)})

    async def _aowned_ids(self, node_ids: list[str], filters: MetadataFilters | None) -> list[str]:
        if filters is None and self.namespace is None:
            return node_ids
        vectors = self._visible(await self.aclient.get_by_ids(node_ids))
        return [v.id for v in _matching(vectors, filters)]

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        if node_ids is not None:
            ids = await self._aowned_ids(node_ids, filters)
            await self.aclient.delete_by_ids(ids, wait=self.wait_for_mutations)
            return
        await self._adelete_where(_required_filter(filters))

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        index = self.aclient
        if node_ids is not None:
            vectors = _matching(await index.get_by_ids(node_ids), filters)
        elif filters is not None and filters.filters:
            ids = await self._aids_where(filters_to_vectorize(filters))
            _warn_if_capped(len(ids))
            vectors = await index.get_by_ids(ids)
        else:
            vectors = await index.get_by_ids([i async for i in index.iter_ids()])
        return self._nodes(self._visible(vectors))

    async def aclear(self) -> None:
        await self.aclient.delete_all(namespace=self.namespace, wait=self.wait_for_mutations)


def _required_filter(filters: MetadataFilters | None) -> dict[str, Any]:
    """``delete_nodes`` without ids needs a filter: deleting everything is :meth:`clear`."""
    translated = filters_to_vectorize(filters)
    if translated is None:
        raise InvalidRequestError(
            "delete_nodes needs node_ids or non-empty filters (clear() deletes every node)"
        )
    return translated
