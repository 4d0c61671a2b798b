"""``WorkersAIVectorize``: a LangChain vector store on Cloudflare Vectorize (platform spec §2).

A thin adapter over :mod:`workers_ai.vectorize`: the core checks, batches, sends, waits and
ingests; this module converts LangChain's documents, filters and scores. Decisions:

- **Ids**: ``Document.id`` or ``ids=`` are kept; others get a deterministic id
  (:func:`~workers_ai.vectorize.document_id` of text, metadata and namespace), so adding a
  document again overwrites it. Vectorize ids are unique in the whole index.
- **Text** is stored in the metadata under ``text_key`` and taken out of it on reading; text
  and metadata must fit Vectorize's 10 KiB per vector (checked before any request).
- **Bulk adds** go through the core's :func:`~workers_ai.vectorize.ingest` / ``aingest``:
  ``batch_size`` documents per step embedded and upserted, unchanged ones skipped without
  being embedded (a failed add resumes when run again), ``on_progress`` after each step.
- **Filters**: LangChain's dict form onto the core's builder (:mod:`._vectorize_filters`).
- **Scores**: ``*_with_score`` gives Vectorize's raw score; ``*_with_relevance_scores`` maps
  it to [0, 1] with :func:`~workers_ai.vectorize.relevance` for the index's own metric.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from pydantic import Field, PrivateAttr

from langchain_workers_ai._connection import ClientConnection as _TaskConnection
from langchain_workers_ai._vectorize_filters import filter_to_vectorize
from langchain_workers_ai.embeddings import WorkersAIEmbeddings
from langchain_workers_ai.errors import langchain_errors
from workers_ai.arguments import check_arguments
from workers_ai.errors import InvalidRequestError, VectorizeIndexNotFoundError
from workers_ai.vectorize import (
    AsyncVectorizeIndex,
    IndexInfo,
    IngestProgress,
    Match,
    VectorizeIndex,
    aingest,
    document_id,
    ingest,
    relevance,
    wire,
)
from workers_ai.vectorize.ingest import plan_documents
from workers_ai.vectorize.mutations import DEFAULT_MUTATION_TIMEOUT, check_timeout
from workers_ai.vectorize.types import MetadataIndexType, Metric, in_namespace

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["WorkersAIVectorize"]

#: What a store embeds once to learn its embedding's size (when the catalog does not say it).
_PROBE_TEXT = "dimensions probe"
#: ``add_texts`` options that ``from_texts`` passes on (everything else builds the store).
_ADD_OPTIONS = ("skip_existing", "on_progress")
_QUERY_ARGS = ("k", "filter", "namespace")
_MMR_ARGS = (*_QUERY_ARGS, "fetch_k", "lambda_mult")

ProgressCallback = Callable[[IngestProgress], None]


# --- pure conversions -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Documents:
    """Documents ready to ingest: texts, metadata (without the text) and final ids."""

    texts: list[str]
    metadatas: list[dict[str, Any]]
    ids: list[str]


def _texts_to_documents(
    texts: Iterable[str],
    metadatas: Sequence[Mapping[str, Any] | None] | None,
    ids: Sequence[str | None] | None,
    namespace: str | None,
    text_key: str,
) -> _Documents:
    """Texts, metadata and ids (missing ids made deterministic), all checked before any
    request by the core's plan: lengths, id rules, duplicates, metadata types and the 10 KiB
    limit."""
    texts = list(texts)
    metas = [dict(m or {}) for m in metadatas] if metadatas else [{} for _ in texts]
    given = list(ids) if ids else None
    try:
        plan = plan_documents(
            texts, ids=given, metadatas=metas, text_key=text_key, namespace=namespace
        )
    except InvalidRequestError as error:
        explained = _explain_too_large(error, texts, metas, given, namespace, text_key)
        if explained is error:
            raise
        raise explained from error
    return _Documents(texts, metas, plan.ids)


def _explain_too_large(
    error: InvalidRequestError,
    texts: list[str],
    metas: list[dict[str, Any]],
    ids: list[str | None] | None,
    namespace: str | None,
    text_key: str,
) -> InvalidRequestError:
    """``error``, or -- when a document's metadata is storable alone but not with its text
    (so the text makes it too large) -- an error that says how to split it."""
    for i, (text, meta) in enumerate(zip(texts, metas, strict=True)):
        try:
            wire.check_metadata(meta, f"document {i}")
        except InvalidRequestError:
            return error  # the metadata itself is at fault: the core's message says how
        given = ids[i] if ids else None
        doc_id = given if given is not None else document_id(text, meta, namespace)
        where = f"document {i} (id {doc_id!r})"
        try:
            wire.check_metadata({**meta, text_key: text}, where)
        except InvalidRequestError as too_large:
            return InvalidRequestError(
                f"{too_large}. The text is stored in the metadata (under {text_key!r}), so "
                f"{where} is too long for Vectorize: split long documents before adding them, "
                "e.g. with langchain_text_splitters.RecursiveCharacterTextSplitter("
                "chunk_size=2000)"
            )
    return error


def _to_document(vector_id: str, metadata: Mapping[str, Any], text_key: str) -> Document:
    """A stored vector's id and metadata as a ``Document`` (the text taken out of them)."""
    meta = dict(metadata)
    text = meta.pop(text_key, "")
    content = text if isinstance(text, str) else str(text)
    return Document(id=vector_id, page_content=content, metadata=meta)


def _fetch_k(k: int, fetch_k: int) -> int:
    """MMR candidates: ``fetch_k``, within the ``top_k`` limit of queries that return values
    (50), and never fewer than ``k``."""
    return max(k, min(fetch_k, wire.TOP_K_MAX_WITH_DATA))


def _mmr_order(
    query: Sequence[float], matches: Sequence[Match], k: int, lambda_mult: float
) -> list[int]:
    """Indices of ``matches`` chosen by maximal marginal relevance (langchain-core's)."""
    if not matches:
        return []
    try:
        import numpy as np
    except ImportError as error:  # pragma: no cover - numpy comes with most LangChain installs
        raise ImportError("max_marginal_relevance_search needs numpy: pip install numpy") from error
    from langchain_core.vectorstores.utils import maximal_marginal_relevance

    vectors = [list(match.values) for match in matches]
    return maximal_marginal_relevance(
        np.array(query, dtype=np.float32), vectors, lambda_mult=lambda_mult, k=k
    )


@contextlib.contextmanager
def _missing_index_hint(index_name: str, create: bool) -> Iterator[None]:
    """Add what to do to a missing index's error (Python 3.11+ shows notes)."""
    try:
        yield
    except VectorizeIndexNotFoundError as error:
        if not create and hasattr(error, "add_note"):
            error.add_note(
                f"Create the index first, or pass create_index=True to WorkersAIVectorize to "
                f"create {index_name!r} with the embedding's dimensions"
            )
        raise


class WorkersAIVectorize(_TaskConnection, VectorStore):
    """A LangChain vector store on Cloudflare Vectorize (V2), with any LangChain embeddings.

    Setup:
        ``pip install ".[langchain]"``; ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN``
        (a token with Vectorize permission), or pass ``account_id`` / ``api_key``; ``base_url``
        targets the emulator.

    Key init args:
        embedding, index_name, namespace, text_key, create_index (+ metric, metadata_indexes),
        wait_for_mutations, mutation_timeout, batch_size, check_filter_fields,
        relevance_score_fn; the connection fields of every class here (api_key, account_id,
        base_url, timeout, max_retries, default_headers...).

    Instantiate:
        .. code-block:: python

            from langchain_workers_ai import WorkersAIEmbeddings, WorkersAIVectorize

            store = WorkersAIVectorize(
                embedding=WorkersAIEmbeddings(model="@cf/baai/bge-base-en-v1.5"),
                index_name="docs",
                create_index=True,  # created on first use, 768 dimensions from the catalog
                metadata_indexes={"source": "string", "year": "number"},
            )

    Add and search:
        .. code-block:: python

            store.add_documents(chunks, on_progress=print)  # returns once searchable
            store.similarity_search("Where is Paris?", k=4, filter={"year": {"$gte": 2020}})
            store.similarity_search_with_relevance_scores("Where is Paris?")  # [0, 1]
            store.max_marginal_relevance_search("Paris", k=4, fetch_k=20)
            retriever = store.as_retriever(search_type="mmr", search_kwargs={"k": 4})

    Filters:
        ``{"k": v}``, ``{"k": {"$eq" | "$ne" | "$in" | "$nin" | "$lt" | "$lte" | "$gt" |
        "$gte": ...}}``, several keys ANDed, ``{"$and": [...]}``, and ``{"$or": [...]}`` of
        one key's values (sent as ``$in``). Vectorize has no other OR: anything else raises
        ``workers_ai.vectorize.FilterError`` (a ``ValueError``) naming the key or operator.
        Filtering on a property needs a metadata index (``metadata_indexes``, or
        :meth:`create_metadata_index`) created before the vectors were written.

    Async:
        Every method has its ``a``-prefixed twin (``aadd_documents``, ``asimilarity_search``,
        ``amax_marginal_relevance_search``, ``adelete``, ``aget_by_ids``, ``afrom_texts``...),
        on the async client.
    """

    embedding: Embeddings
    """The embeddings of the documents and queries (any LangChain ``Embeddings``)."""
    index_name: str
    """The Vectorize index (at most 64 bytes)."""
    namespace: str | None = None
    """The namespace written and searched by default (each method takes ``namespace=`` too);
    ``None``: no namespace on writes, and searches cover the whole index."""
    text_key: str = "text"
    """The metadata key the document text is stored under."""
    create_index: bool = False
    """Create the index on first use when it does not exist, with the embedding's dimensions
    (from the Workers AI catalog for ``WorkersAIEmbeddings``, else one ``embed_query``) and
    ``metric``; an existing index of another size or metric raises. ``from_texts`` turns it
    on."""
    metric: Metric = "cosine"
    """The metric of an index the store creates: ``cosine``, ``euclidean`` or
    ``dot-product``."""
    metadata_indexes: dict[str, MetadataIndexType] = Field(default_factory=dict)
    """Metadata properties to make filterable, property -> ``string`` | ``number`` |
    ``boolean``: the missing ones are created on first use, before anything is written
    (vectors written before their property was indexed are not filterable)."""
    wait_for_mutations: bool = True
    """Return from writes (adds, deletes) once Vectorize has applied them, so a search right
    after sees them; ``False``: return once accepted (applied within seconds)."""
    mutation_timeout: float = DEFAULT_MUTATION_TIMEOUT
    """Seconds a write waits to be applied before ``workers_ai.MutationTimeoutError``."""
    batch_size: int = wire.DEFAULT_WRITE_BATCH
    """Documents embedded and upserted per step of an add (progress is reported per step)."""
    check_filter_fields: bool = True
    """Refuse, before querying, a filter on a property without a metadata index (Vectorize
    would silently match nothing)."""
    relevance_score_fn: Callable[[float], float] | None = Field(default=None, exclude=True)
    """Score -> relevance in [0, 1]; default: by the index's metric
    (``workers_ai.vectorize.relevance``)."""

    _sync_index: VectorizeIndex | None = PrivateAttr(default=None)
    _async_index: AsyncVectorizeIndex | None = PrivateAttr(default=None)
    _info: IndexInfo | None = PrivateAttr(default=None)

    if not TYPE_CHECKING:  # type checkers see the keyword fields (see ConnectionModel)

        def __init__(self, embedding=None, index_name=None, /, **kwargs):
            """Also ``WorkersAIVectorize(embedding, index_name, ...)``, like other stores."""
            for name, value in (("embedding", embedding), ("index_name", index_name)):
                if value is not None:
                    if name in kwargs:
                        raise TypeError(f"WorkersAIVectorize got {name} twice")
                    kwargs[name] = value
            super().__init__(**kwargs)

    def _after_init(self) -> None:
        """Check the fields (no I/O); the clients are made on first use."""
        wire.check_index_name(self.index_name)
        wire.check_namespace(self.namespace)
        wire.check_metadata({self.text_key: ""}, "text_key")
        wire.check_metric(self.metric)
        check_timeout(self.mutation_timeout)
        wire.plan_batches([], self.batch_size)  # checks batch_size (1 to 5,000)
        if len(self.metadata_indexes) > wire.MAX_METADATA_INDEXES:
            raise InvalidRequestError(
                f"metadata_indexes names {len(self.metadata_indexes)} properties; Vectorize "
                f"allows {wire.MAX_METADATA_INDEXES} metadata indexes per index"
            )
        super()._after_init()

    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    # --- the index ---------------------------------------------------------------------------
    def _index_options(self) -> dict[str, Any]:
        return {
            "mutation_timeout": self.mutation_timeout,
            "check_filter_fields": self.check_filter_fields,
        }

    def _index(self) -> VectorizeIndex:
        if self._sync_index is None:
            vectorize = self._sync_client().vectorize
            self._sync_index = vectorize.index(self.index_name, **self._index_options())
        return self._sync_index

    def _aindex(self) -> AsyncVectorizeIndex:
        if self._async_index is None:
            vectorize = self._async_client().vectorize
            self._async_index = vectorize.index(self.index_name, **self._index_options())
        return self._async_index

    def _catalog_dimensions(self) -> int | None:
        if not isinstance(self.embedding, WorkersAIEmbeddings):
            return None
        from workers_ai import catalog

        return catalog.get(self.embedding.model).dimensions

    def _prepare(self) -> VectorizeIndex:
        """The index, created (``create_index``) or described on first use, with its metadata
        indexes; its metric is learnt for relevance scores."""
        index = self._index()
        if self._info is None:
            with _missing_index_hint(self.index_name, self.create_index):
                if self.create_index:
                    dims = self._catalog_dimensions()
                    dims = dims or len(self.embedding.embed_query(_PROBE_TEXT))
                    info = self._sync_client().vectorize.create_index(
                        self.index_name, dimensions=dims, metric=self.metric, exist_ok=True
                    )
                else:
                    info = index.describe()
            if self.metadata_indexes:  # waited for: later writes must be indexed
                index.ensure_metadata_indexes(self.metadata_indexes, wait=True)
            self._info = info
        return index

    async def _aprepare(self) -> AsyncVectorizeIndex:
        """Async :meth:`_prepare`."""
        index = self._aindex()
        if self._info is None:
            with _missing_index_hint(self.index_name, self.create_index):
                if self.create_index:
                    dims = self._catalog_dimensions()
                    dims = dims or len(await self.embedding.aembed_query(_PROBE_TEXT))
                    info = await self._async_client().vectorize.create_index(
                        self.index_name, dimensions=dims, metric=self.metric, exist_ok=True
                    )
                else:
                    info = await index.describe()
            if self.metadata_indexes:
                await index.ensure_metadata_indexes(self.metadata_indexes, wait=True)
            self._info = info
        return index

    def create_metadata_index(self, property_name: str, index_type: MetadataIndexType) -> None:
        """Make ``property_name`` filterable, waiting until Vectorize has applied it (vectors
        written before are not filterable until written again)."""
        with langchain_errors():
            self._prepare().create_metadata_index(property_name, index_type, wait=True)

    async def acreate_metadata_index(
        self, property_name: str, index_type: MetadataIndexType
    ) -> None:
        """Async :meth:`create_metadata_index`."""
        with langchain_errors():
            index = await self._aprepare()
            await index.create_metadata_index(property_name, index_type, wait=True)

    def delete_index(self) -> None:
        """Delete the whole index and its vectors (no error if it does not exist)."""
        with langchain_errors():
            self._sync_client().vectorize.delete_index(self.index_name, missing_ok=True)
        self._forget_index()

    async def adelete_index(self) -> None:
        """Async :meth:`delete_index`."""
        with langchain_errors():
            await self._async_client().vectorize.delete_index(self.index_name, missing_ok=True)
        self._forget_index()

    def _forget_index(self) -> None:
        self._info = None
        self._sync_index = self._async_index = None

    # --- options -----------------------------------------------------------------------------
    def _namespace(self, namespace: str | None) -> str | None:
        return self.namespace if namespace is None else namespace

    def _check_extra(self, kwargs: Mapping[str, Any], method: str, known: Sequence[str]) -> None:
        """Unknown keywords raise (a misspelt ``filter`` must not be ignored)."""
        if kwargs:
            check_arguments(f"{type(self).__name__}.{method}", kwargs, known, allow_unknown=False)

    def _query_options(
        self,
        top_k: int,
        filter: Mapping[str, Any] | None,
        namespace: str | None,
        extra: Mapping[str, Any],
        method: str,
        known: Sequence[str] = _QUERY_ARGS,
    ) -> dict[str, Any]:
        self._check_extra(extra, method, known)
        return {
            "top_k": top_k,
            "filter": filter_to_vectorize(filter),
            "namespace": self._namespace(namespace),
            "return_metadata": "all",
        }

    def _plan_add(
        self, texts: Iterable[str], metadatas: Sequence[Mapping[str, Any] | None] | None,
        ids: Sequence[str | None] | None, namespace: str | None, skip_existing: bool,
        on_progress: ProgressCallback | None,
    ) -> tuple[list[str], dict[str, Any]]:  # fmt: skip
        """The texts of an add and the ``ingest`` options for them, checked before any
        request."""
        ns = self._namespace(namespace)
        docs = _texts_to_documents(texts, metadatas, ids, ns, self.text_key)
        return docs.texts, {
            "ids": docs.ids,
            "metadatas": docs.metadatas,
            "namespace": ns,
            "text_key": self.text_key,
            "chunk_size": self.batch_size,
            "skip_existing": skip_existing,
            "wait": self.wait_for_mutations,
            "on_progress": on_progress,
        }

    # --- writes ------------------------------------------------------------------------------
    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict[str, Any]] | None = None, *,
        ids: Sequence[str | None] | None = None, namespace: str | None = None,
        skip_existing: bool = True, on_progress: ProgressCallback | None = None, **kwargs: Any,
    ) -> list[str]:  # fmt: skip
        """Embed and store texts; their ids, in order. ``add_documents`` takes the same
        keywords (and each ``Document.id``).

        Args:
            texts: The texts.
            metadatas: One dict per text (strings, numbers, booleans, lists of strings, or one
                nested dict of those).
            ids: One id per text (``None`` entries, or no list: deterministic ids).
            namespace: The namespace to write into (default: the store's).
            skip_existing: Do not embed or write documents stored already unchanged (one
                ``get_by_ids`` per batch); re-running a failed add resumes it.
            on_progress: Called with a ``workers_ai.vectorize.IngestProgress`` after each
                batch of ``batch_size`` documents.

        Raises:
            workers_ai.InvalidRequestError: A document cannot be stored (too large, bad
                metadata, a repeated id), before any request.
            workers_ai.vectorize.IngestError: A request failed part-way; ``done`` says how far
                it got (call again to resume).
        """
        self._check_extra(kwargs, "add_texts", ("ids", "namespace", *_ADD_OPTIONS))
        docs, options = self._plan_add(texts, metadatas, ids, namespace, skip_existing, on_progress)
        if not docs:
            return []
        with langchain_errors():
            index = self._prepare()
            return ingest(index, self.embedding.embed_documents, docs, **options).ids

    async def aadd_texts(
        self, texts: Iterable[str], metadatas: list[dict[str, Any]] | None = None, *,
        ids: Sequence[str | None] | None = None, namespace: str | None = None,
        skip_existing: bool = True, on_progress: ProgressCallback | None = None, **kwargs: Any,
    ) -> list[str]:  # fmt: skip
        """Async :meth:`add_texts`."""
        self._check_extra(kwargs, "aadd_texts", ("ids", "namespace", *_ADD_OPTIONS))
        docs, options = self._plan_add(texts, metadatas, ids, namespace, skip_existing, on_progress)
        if not docs:
            return []
        with langchain_errors():
            index = await self._aprepare()
            result = await aingest(index, self.embedding.aembed_documents, docs, **options)
        return result.ids

    def delete(
        self, ids: list[str] | None = None, *, namespace: str | None = None, **kwargs: Any
    ) -> bool:
        """Delete vectors by id (ids not stored are ignored), or with no ids every vector:
        of ``namespace`` (default: the store's) when one is set, else of the whole index
        (page by page, 1,000 ids a request, waiting once at the end). With a namespace, ids of
        other namespaces are left alone."""
        self._check_extra(kwargs, "delete", ("namespace",))
        ns = self._namespace(namespace)
        with langchain_errors():
            index = self._prepare()
            if ids is None:
                index.delete_all(namespace=ns, wait=self.wait_for_mutations)
                return True
            if ns is not None:  # ids are index-wide: with a namespace, only its own vectors go
                ids = [v.id for v in in_namespace(index.get_by_ids(list(ids)), ns)]
            index.delete_by_ids(list(ids), wait=self.wait_for_mutations)
        return True

    async def adelete(
        self, ids: list[str] | None = None, *, namespace: str | None = None, **kwargs: Any
    ) -> bool:
        """Async :meth:`delete`."""
        self._check_extra(kwargs, "adelete", ("namespace",))
        ns, wait = self._namespace(namespace), self.wait_for_mutations
        with langchain_errors():
            index = await self._aprepare()
            if ids is None:
                await index.delete_all(namespace=ns, wait=wait)
                return True
            if ns is not None:
                ids = [v.id for v in in_namespace(await index.get_by_ids(list(ids)), ns)]
            await index.delete_by_ids(list(ids), wait=wait)
        return True

    # --- reads -------------------------------------------------------------------------------
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents with these ids, in the order asked (missing ids left out)."""
        if not ids:
            return []
        with langchain_errors():
            vectors = self._prepare().get_by_ids(list(ids))
        return [
            _to_document(v.id, v.metadata, self.text_key)
            for v in in_namespace(vectors, self.namespace)
        ]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async :meth:`get_by_ids`."""
        if not ids:
            return []
        with langchain_errors():
            vectors = await (await self._aprepare()).get_by_ids(list(ids))
        return [
            _to_document(v.id, v.metadata, self.text_key)
            for v in in_namespace(vectors, self.namespace)
        ]

    def _pairs(self, matches: Sequence[Match]) -> list[tuple[Document, float]]:
        return [(_to_document(m.id, m.metadata, self.text_key), m.score) for m in matches]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, *,
        namespace: str | None = None, **kwargs: Any,
    ) -> list[tuple[Document, float]]:  # fmt: skip
        """The ``k`` (at most 50) nearest documents with Vectorize's raw score, best first."""
        options = self._query_options(k, filter, namespace, kwargs, "similarity_search")
        with langchain_errors():
            result = self._prepare().query(embedding, **options)
        return self._pairs(result.matches)

    async def asimilarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, *,
        namespace: str | None = None, **kwargs: Any,
    ) -> list[tuple[Document, float]]:  # fmt: skip
        """Async :meth:`similarity_search_with_score_by_vector`."""
        options = self._query_options(k, filter, namespace, kwargs, "asimilarity_search")
        with langchain_errors():
            result = await (await self._aprepare()).query(embedding, **options)
        return self._pairs(result.matches)

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The ``k`` documents nearest ``query`` with Vectorize's raw score for the index's
        metric (cosine: similarity, higher is closer; euclidean: distance, lower is closer;
        dot-product: negative inner product, lower is closer). Keywords: ``namespace``."""
        vector = self.embedding.embed_query(query)
        return self.similarity_search_with_score_by_vector(vector, k, filter, **kwargs)

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async :meth:`similarity_search_with_score`."""
        vector = await self.embedding.aembed_query(query)
        return await self.asimilarity_search_with_score_by_vector(vector, k, filter, **kwargs)

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` (at most 50) documents nearest ``query``, best first, optionally
        filtered on metadata (``filter``) and within a ``namespace``."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Async :meth:`similarity_search`."""
        pairs = await self.asimilarity_search_with_score(query, k, filter, **kwargs)
        return [doc for doc, _ in pairs]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:  # fmt: skip
        """The ``k`` documents nearest ``embedding``."""
        pairs = self.similarity_search_with_score_by_vector(embedding, k, filter, **kwargs)
        return [doc for doc, _ in pairs]

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:  # fmt: skip
        """Async :meth:`similarity_search_by_vector`."""
        pairs = await self.asimilarity_search_with_score_by_vector(embedding, k, filter, **kwargs)
        return [doc for doc, _ in pairs]

    # --- relevance ---------------------------------------------------------------------------
    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """``relevance_score_fn``, else the core's mapping for the index's metric (learnt on
        first use; before that, ``metric``)."""
        if self.relevance_score_fn is not None:
            return self.relevance_score_fn
        metric = (self._info.metric if self._info else None) or self.metric
        return lambda score: relevance(score, metric)

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        pairs = self.similarity_search_with_score(query, k, **kwargs)
        score = self._select_relevance_score_fn()  # after the search: the metric is known
        return [(doc, score(raw)) for doc, raw in pairs]

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        pairs = await self.asimilarity_search_with_score(query, k, **kwargs)
        score = self._select_relevance_score_fn()
        return [(doc, score(raw)) for doc, raw in pairs]

    # --- maximal marginal relevance ----------------------------------------------------------
    def _mmr_documents(
        self, query: list[float], matches: Sequence[Match], k: int, lambda_mult: float
    ) -> list[Document]:
        chosen = _mmr_order(query, matches, k, lambda_mult)
        return [doc for doc, _ in self._pairs([matches[i] for i in chosen])]

    def max_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None, *, namespace: str | None = None, **kwargs: Any,
    ) -> list[Document]:  # fmt: skip
        """``k`` documents chosen among the ``fetch_k`` nearest (at most 50: the limit of
        queries returning values) for relevance and diversity (``lambda_mult`` 1: relevance
        only, 0: diversity only)."""
        options = self._query_options(
            _fetch_k(k, fetch_k), filter, namespace, kwargs, "max_marginal_relevance_search",
            _MMR_ARGS,
        )  # fmt: skip
        with langchain_errors():
            result = self._prepare().query(embedding, return_values=True, **options)
        return self._mmr_documents(embedding, result.matches, k, lambda_mult)

    async def amax_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None, *, namespace: str | None = None, **kwargs: Any,
    ) -> list[Document]:  # fmt: skip
        """Async :meth:`max_marginal_relevance_search_by_vector`."""
        options = self._query_options(
            _fetch_k(k, fetch_k), filter, namespace, kwargs, "amax_marginal_relevance_search",
            _MMR_ARGS,
        )  # fmt: skip
        with langchain_errors():
            index = await self._aprepare()
            result = await index.query(embedding, return_values=True, **options)
        return self._mmr_documents(embedding, result.matches, k, lambda_mult)

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None, **kwargs: Any,
    ) -> list[Document]:  # fmt: skip
        """:meth:`max_marginal_relevance_search_by_vector` for ``query``'s embedding."""
        vector = self.embedding.embed_query(query)
        return self.max_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, filter, **kwargs
        )

    async def amax_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None, **kwargs: Any,
    ) -> list[Document]:  # fmt: skip
        """Async :meth:`max_marginal_relevance_search`."""
        vector = await self.embedding.aembed_query(query)
        return await self.amax_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, filter, **kwargs
        )

    # --- construction from texts -------------------------------------------------------------
    @classmethod
    def _store_for_texts(
        cls, embedding: Embeddings, kwargs: dict[str, Any]
    ) -> tuple[Self, dict[str, Any]]:
        """The store ``from_texts`` builds (``create_index`` on unless said otherwise), and
        the ``add_texts`` options among ``kwargs``."""
        options = {name: kwargs.pop(name) for name in _ADD_OPTIONS if name in kwargs}
        kwargs.setdefault("create_index", True)
        return cls(embedding=embedding, **kwargs), options

    @classmethod
    def from_texts(
        cls, texts: list[str], embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None, *, ids: list[str] | None = None,
        **kwargs: Any,
    ) -> Self:  # fmt: skip
        """A store on ``index_name`` (created if missing) holding ``texts``. ``kwargs``: the
        store's fields, and ``add_texts``' ``skip_existing`` and ``on_progress``."""
        store, options = cls._store_for_texts(embedding, kwargs)
        store.add_texts(texts, metadatas, ids=ids, **options)
        return store

    @classmethod
    async def afrom_texts(
        cls, texts: list[str], embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None, *, ids: list[str] | None = None,
        **kwargs: Any,
    ) -> Self:  # fmt: skip
        """Async :meth:`from_texts`."""
        store, options = cls._store_for_texts(embedding, kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids, **options)
        return store
