"""``WorkersAIReranker``: a LangChain document compressor that reranks with Workers AI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import AliasChoices, ConfigDict, Field, PrivateAttr

from langchain_workers_ai._connection import WorkersAIConnection
from langchain_workers_ai.errors import langchain_errors
from workers_ai.model_checks import default_model

# The engine (and the catalog and client under it) is loaded when an object is built.
if TYPE_CHECKING:
    from workers_ai.rerank import Reranker, RerankResult
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    Reranker = Any  # without loading the module behind it

SCORE_KEY = "relevance_score"


def _results_to_documents(
    documents: Sequence[Document], results: Sequence[RerankResult]
) -> list[Document]:
    """Copies of the ranked documents, best first, with ``metadata["relevance_score"]``."""
    ranked = []
    for result in results:
        doc = documents[result.index]
        metadata = {**doc.metadata, SCORE_KEY: result.score}
        ranked.append(Document(page_content=doc.page_content, metadata=metadata, id=doc.id))
    return ranked


class WorkersAIReranker(BaseDocumentCompressor, WorkersAIConnection):
    """Rerank retrieved documents with ``@cf/baai/bge-reranker-base`` (or ``@cf/baai/bge-m3``).

    Setup:
        ``pip install ".[langchain]"``; credentials as for :class:`ChatWorkersAI`.

    Key init args:
        model (alias ``model_name``), top_n (default 3; ``None``: all, reordered),
        max_contexts, max_concurrency; api_key, account_id, base_url, timeout (alias
        ``request_timeout``), max_retries, default_headers, gateway_id + gateway_options.
        Misspelt or unknown keywords raise with a did-you-mean.

    Instantiate:
        .. code-block:: python

            from langchain_workers_ai import WorkersAIReranker

            reranker = WorkersAIReranker(top_n=3)

    Invoke (in a retriever):
        .. code-block:: python

            from langchain_classic.retrievers import ContextualCompressionRetriever

            retriever = ContextualCompressionRetriever(
                base_compressor=reranker,
                base_retriever=vector_store.as_retriever(search_kwargs={"k": 20}),
            )
            docs = retriever.invoke("How do I rotate an API token?")
            docs[0].metadata["relevance_score"]  # e.g. 0.97

            reranker.rerank(["Paris is in France.", "Bern is Swiss."], "Where is Paris?")
            # [{'index': 0, 'relevance_score': 0.98}, {'index': 1, 'relevance_score': 0.02}]

    Async:
        ``await reranker.acompress_documents(docs, query)``.

    Returns the ``top_n`` most relevant documents, best first, each a copy with its score in
    ``metadata["relevance_score"]`` (in [0, 1]). Candidate lists longer than the model takes in
    one request are split, scored concurrently and merged.
    """

    model: str = Field(
        default_factory=lambda: default_model("reranker"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """Reranker model id (alias ``model_name``): ``@cf/baai/bge-reranker-base`` (default) or
    ``@cf/baai/bge-m3``."""
    top_n: int | None = 3
    """How many documents to return (``None``: all, reordered)."""
    max_contexts: int | None = None
    """Passages per request; default and upper bound: the model's limit (100)."""
    max_concurrency: int = 4
    """Requests in flight when a candidate list needs several."""

    model_config = ConfigDict(extra="forbid")

    _reranker: Reranker = PrivateAttr()

    def _after_init(self) -> None:
        """Check the model against the catalog and resolve the settings (no I/O)."""
        from workers_ai.rerank import Reranker, rerank_spec

        self._check_model(self.model, "reranker")
        spec = rerank_spec(
            self.model,
            max_contexts=self.max_contexts,
            max_concurrency=self.max_concurrency,
            max_retries=self.max_retries,
        )
        self._reranker = Reranker(spec, self._resolve_settings())

    def rerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Scores of ``documents`` for ``query``: ``[{"index", "relevance_score"}]``, best
        first. ``top_n`` defaults to the field's value (``None``: all)."""
        texts = [d.page_content if isinstance(d, Document) else d for d in documents]
        limit = self.top_n if top_n == -1 else top_n
        with langchain_errors():
            results = self._reranker.rerank(query, texts, top_n=limit)
        return [{"index": r.index, SCORE_KEY: r.score} for r in results]

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The ``top_n`` documents most relevant to ``query``, best first, with scores."""
        if not documents:
            return []
        with langchain_errors():
            texts = [doc.page_content for doc in documents]
            results = self._reranker.rerank(query, texts, top_n=self.top_n)
        return _results_to_documents(documents, results)

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Async :meth:`compress_documents`."""
        if not documents:
            return []
        with langchain_errors():
            texts = [doc.page_content for doc in documents]
            results = await self._reranker.arerank(query, texts, top_n=self.top_n)
        return _results_to_documents(documents, results)


__all__ = ["WorkersAIReranker"]
