"""``WorkersAIEmbedding``: LlamaIndex embeddings on Workers AI, batched and concurrent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.embedding import (
    EmbeddingEndEvent,
    EmbeddingStartEvent,
)

from llama_index_workers_ai._connection import WorkersAIConnection, model_field
from workers_ai.errors import EmbeddingJobError
from workers_ai.settings import DEFAULT_COALESCE_WINDOW_MS, DEFAULT_MAX_CONCURRENCY

# The engine (and the catalog and client under it) is loaded when an object is built.
if TYPE_CHECKING:
    from workers_ai.embedder import Embedder, Progress
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    Embedder = Any  # without loading the module behind it

__all__ = [
    "WorkersAIEmbedding",
]

dispatcher = get_dispatcher(__name__)


class WorkersAIEmbedding(WorkersAIConnection, BaseEmbedding):
    """Cloudflare Workers AI embeddings for LlamaIndex.

    Document lists are checked before any request (empty or over-long texts raise with their
    index unless ``truncate=True``), split into batches of ``embed_batch_size`` (default and
    upper bound: the model's limit from the catalog), and sent ``max_concurrency`` at a time,
    slowing down on rate limits instead of failing; order is preserved exactly. Concurrent
    queries are coalesced into shared requests.

    A batch that fails for good does not throw the rest away: the others finish, failed
    batches get a second round, and what still fails raises ``workers_ai.EmbeddingJobError``
    with the finished vectors; ``resume_documents(texts, error)`` embeds only the rest.

    Example:
        .. code-block:: python

            from llama_index.core import VectorStoreIndex
            from llama_index_workers_ai import WorkersAIEmbedding

            embed_model = WorkersAIEmbedding(model_name="@cf/baai/bge-base-en-v1.5")
            index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    """

    model_name: str = model_field("embeddings", "Embedding model id (alias model).")
    """Embedding model id (alias ``model``), e.g. ``@cf/baai/bge-base-en-v1.5``. A chat model
    raises at construction; a deprecated one warns."""
    embed_batch_size: int = Field(default=0, description="Texts per request (0: model max).")
    """Texts per request; ``0`` (default) and the upper bound: the model's maximum."""
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, description="Requests in flight.")
    """Most requests in flight (the adaptive limit stays at or below it)."""
    pooling: Literal["mean", "cls"] | None = Field(default=None, description="bge-*-en only.")
    """bge-*-en-v1.5 only: ``mean`` (server default) or ``cls``."""
    query_instruction: str | bool = Field(
        default=False, description="True: the model's recommended query instruction; or a string."
    )
    """``True``: the model's recommended query instruction; a string: your own."""
    text_instruction: str | None = Field(default=None, description="Prefix for documents.")
    """A prefix for document texts (queries get ``query_instruction``)."""
    truncate: bool = Field(default=False, description="Cut over-long texts instead of raising.")
    """Cut texts over the model's token limit (with a warning) instead of raising."""
    coalesce_window_ms: float = Field(
        default=DEFAULT_COALESCE_WINDOW_MS, description="How long a query waits for others."
    )
    """How long a query waits for concurrent ones to share its request."""
    show_progress: bool = Field(default=False, description="tqdm bar for document lists.")
    """Show a tqdm progress bar while embedding document lists."""
    fallbacks: list[str] = Field(
        default_factory=list, description="Same-dimension models tried when the model fails."
    )
    """Models tried in order when ``model_name`` still fails with capacity, quota, gateway or
    server errors (a document list: only the texts whose batch failed). Each needs the same
    dimensions and ``fallback_compatible=True``, else construction fails: vectors of two
    vector spaces must never be mixed silently."""
    fallback_compatible: bool = Field(
        default=False, description="Declare the fallbacks' vectors comparable."
    )
    """Your declaration that ``fallbacks`` make vectors comparable with ``model_name``'s."""

    _embedder: Embedder = PrivateAttr()

    def _after_init(self) -> None:
        """Check the model against the catalog and resolve the settings (no I/O)."""
        from workers_ai.embedder import Embedder
        from workers_ai.embeddings import check_embedding_fallbacks, embedding_spec

        self._check_model(self.model_name, "embeddings")
        check_embedding_fallbacks(
            self.model_name, self.fallbacks, compatible=self.fallback_compatible
        )
        specs = [
            embedding_spec(
                model,
                batch_size=self.embed_batch_size or None,
                max_concurrency=self.max_concurrency,
                pooling=self.pooling,
                query_instruction=self.query_instruction,
                truncate=self.truncate,
                max_retries=self.max_retries,
                coalesce_window_ms=self.coalesce_window_ms,
            )
            for model in (self.model_name, *self.fallbacks)
        ]
        self.embed_batch_size = specs[0].batch_size
        self._embedder = Embedder(specs[0], self._resolve_settings(), specs[1:])

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIEmbedding"

    def _documents(self, texts: list[str]) -> list[str]:
        prefix = self.text_instruction
        return [f"{prefix}{t}" for t in texts] if prefix else list(texts)

    # -- the BaseEmbedding hooks -----------------------------------------------------------------
    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await self._embedder.aembed_query(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_documents(self._documents([text]))[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._embedder.aembed_documents(self._documents([text])))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(self._documents(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await self._embedder.aembed_documents(self._documents(texts))

    # -- whole lists at once, so batches run concurrently (the base class runs them one by one)
    @dispatcher.span
    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Embed ``texts`` in order: batches of ``embed_batch_size``, concurrently."""
        with self._events(texts) as done:
            vectors = self._embedder.embed_documents(
                self._documents(texts), progress=self._progress(len(texts), show_progress)
            )
            done(vectors)
        return vectors

    @dispatcher.span
    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Async :meth:`get_text_embedding_batch`."""
        with self._events(texts) as done:
            vectors = await self._embedder.aembed_documents(
                self._documents(texts), progress=self._progress(len(texts), show_progress)
            )
            done(vectors)
        return vectors

    def resume_documents(self, texts: list[str], error: EmbeddingJobError) -> list[list[float]]:
        """Finish a document batch that raised ``workers_ai.EmbeddingJobError``: only its failed
        texts are embedded again; the vectors it already had are kept."""
        return self._embedder.resume(self._documents(texts), error)

    async def aresume_documents(
        self, texts: list[str], error: EmbeddingJobError
    ) -> list[list[float]]:
        """Async :meth:`resume_documents`."""
        return await self._embedder.aresume(self._documents(texts), error)

    def _events(self, texts: list[str]) -> Any:
        """Emit LlamaIndex's embedding events and callbacks around one document list."""
        import contextlib

        @contextlib.contextmanager
        def scope() -> Any:
            model_dict = self.to_dict()
            model_dict.pop("api_key", None)
            dispatcher.event(EmbeddingStartEvent(model_dict=model_dict))
            with self.callback_manager.event(
                CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: model_dict}
            ) as event:
                result: list[list[float]] = []
                yield result.extend
                event.on_end(payload={EventPayload.CHUNKS: texts, EventPayload.EMBEDDINGS: result})
            dispatcher.event(EmbeddingEndEvent(chunks=texts, embeddings=result))

        return scope()

    def _progress(self, total: int, show: bool) -> Progress | None:
        if not (show or self.show_progress) or total == 0:
            return None
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # a llama-index-core dependency

        bar = tqdm(total=total, desc=f"Embedding with {self.model_name}", unit="text")

        def update(count: int) -> None:
            bar.update(count)
            if bar.n >= total:
                bar.close()

        return update

    def close(self) -> None:
        """Close the connection pools."""
        self._embedder.close()
