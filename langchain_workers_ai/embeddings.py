"""``WorkersAIEmbeddings``: LangChain embeddings for Cloudflare Workers AI, fast at scale."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.embeddings import Embeddings
from pydantic import AliasChoices, ConfigDict, Field, PrivateAttr

from langchain_workers_ai._connection import WorkersAIConnection
from langchain_workers_ai.errors import langchain_errors
from workers_ai.errors import EmbeddingJobError
from workers_ai.model_checks import default_model
from workers_ai.settings import DEFAULT_COALESCE_WINDOW_MS, DEFAULT_MAX_CONCURRENCY

# The engine (and the catalog and client under it) is loaded when an object is built.
if TYPE_CHECKING:
    from workers_ai.embedder import Embedder, Progress
    from workers_ai.embeddings import EmbeddingSpec
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    Embedder = Any  # without loading the module behind it

_TQDM_MISSING = "show_progress=True needs tqdm: pip install tqdm"


class WorkersAIEmbeddings(WorkersAIConnection, Embeddings):
    """Cloudflare Workers AI text embeddings (bge, bge-m3, embeddinggemma, qwen3-embedding).

    Setup:
        ``pip install ".[langchain]"``; ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN``
        (or pass ``account_id`` / ``api_key``), as for :class:`ChatWorkersAI`.

    Key init args:
        model (alias ``model_name``; default ``@cf/baai/bge-base-en-v1.5``), batch_size,
        max_concurrency, query_instruction, pooling, truncate, coalesce, use_batch_api,
        show_progress; api_key, account_id, base_url, timeout (alias ``request_timeout``),
        max_retries, default_headers, gateway_id + gateway_options. Misspelt or unknown
        keywords raise with a did-you-mean.

    Instantiate:
        .. code-block:: python

            from langchain_workers_ai import WorkersAIEmbeddings

            embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-base-en-v1.5")

    Embed single text / multiple texts:
        .. code-block:: python

            embeddings.embed_query("Where is Paris?")  # 768 floats
            embeddings.embed_documents(["Paris is in France.", "Bern is Swiss."])

            store = InMemoryVectorStore(embedding=embeddings)
            store.add_texts(chunks)  # thousands of chunks: batched and concurrent

    Async:
        .. code-block:: python

            await embeddings.aembed_query("Where is Paris?")
            await embeddings.aembed_documents(texts)

    Failures:
        A batch that fails for good does not throw the rest away: the others finish, failed
        batches get a second round, and what still fails raises
        ``workers_ai.EmbeddingJobError`` with every finished vector on ``error.vectors``
        (``None`` where missing); ``embeddings.resume_documents(texts, error)`` embeds only
        ``error.failed_indices``.

    At scale:
        Lists are checked before any request (an empty string, a non-string or a text over the
        model's token limit raises naming its index, unless ``truncate=True``), split into
        batches of the model's maximum (100; qwen3: 32) and sent ``max_concurrency`` at a time;
        order is exact. Rate limits (429 / 3021) and capacity errors (3040) halve the
        concurrency and honour ``retry-after``, then it climbs back, so a 100,000-chunk job
        finishes instead of failing. Concurrent ``embed_query`` calls within
        ``coalesce_window_ms`` share one request. ``use_batch_api=True`` goes through Workers
        AI's async batch API (bge family, bge-m3); to survive a restart, split the steps:
        ``ids = embeddings.submit_batch(texts)``, store ``ids``, later
        ``embeddings.collect_batch(ids)``.
    """

    model: str = Field(
        default_factory=lambda: default_model("embeddings"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """Embedding model id (alias ``model_name``), e.g. ``@cf/baai/bge-base-en-v1.5``. A chat
    model raises at construction; a deprecated one warns."""
    batch_size: int | None = None
    """Texts per request; default and upper bound: the model's maximum (100; qwen3: 32)."""
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """Most requests in flight (the adaptive limit stays at or below it)."""
    pooling: Literal["mean", "cls"] | None = None
    """bge-*-en-v1.5 only: ``mean`` (server default) or ``cls`` (better on long inputs).
    Vectors made with different poolings are not comparable."""
    query_instruction: str | bool = False
    """Query instruction: ``True`` uses the model's recommended one (bge: ``"Represent this
    sentence for searching relevant passages: "`` prefix; embeddinggemma: ``"task: search
    result | query: "``; qwen3: the ``instruction`` field), a string sets your own, ``False``
    (default) sends queries as they are. Documents never get it."""
    truncate: bool = False
    """Cut texts over the model's token limit (with a warning) instead of raising."""
    coalesce: bool = True
    """Merge concurrent ``embed_query`` / ``aembed_query`` calls into batched requests."""
    coalesce_window_ms: float = DEFAULT_COALESCE_WINDOW_MS
    """How long a query waits for others to share its request (0: same loop iteration)."""
    show_progress: bool = False
    """Show a tqdm progress bar while embedding document lists."""
    use_batch_api: bool = False
    """Embed document lists through the async batch API (``queueRequest``)."""
    batch_poll_interval: float = 1.0
    """Seconds before the first poll of a batch job (then growing 1.5x, at most 30 s)."""
    fallbacks: list[str] = Field(default_factory=list)
    """Models tried in order when ``model`` still fails with capacity, quota, gateway or
    server errors (a document list: only the texts whose batch failed). Each needs the
    same dimensions as ``model`` and ``fallback_compatible=True``, else construction fails:
    vectors of two vector spaces must never be mixed silently."""
    fallback_compatible: bool = False
    """Your declaration that ``fallbacks`` make vectors comparable with ``model``'s."""

    model_config = ConfigDict(extra="forbid")

    _embedder: Embedder = PrivateAttr()

    def _after_init(self) -> None:
        """Check the model against the catalog and resolve the settings (no I/O)."""
        from workers_ai.embeddings import check_embedding_fallbacks

        self._check_model(self.model, "embeddings")
        check_embedding_fallbacks(self.model, self.fallbacks, compatible=self.fallback_compatible)
        self._embedder = self._build_embedder()

    def _build_embedder(self) -> Embedder:
        from workers_ai.embedder import Embedder

        specs = [self._spec(model) for model in (self.model, *self.fallbacks)]
        if self.show_progress and importlib.util.find_spec("tqdm") is None:
            raise ImportError(_TQDM_MISSING)
        return Embedder(specs[0], self._resolve_settings(), specs[1:])

    def _spec(self, model: str) -> EmbeddingSpec:
        """The engine's options for ``model`` (the model or a fallback): this object's."""
        from workers_ai.embeddings import embedding_spec

        return embedding_spec(
            model,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            pooling=self.pooling,
            query_instruction=self.query_instruction,
            truncate=self.truncate,
            max_retries=self.max_retries,
            coalesce=self.coalesce,
            coalesce_window_ms=self.coalesce_window_ms,
            use_batch_api=self.use_batch_api,
            batch_poll_interval=self.batch_poll_interval,
        )

    @contextlib.contextmanager
    def _progress(self, total: int) -> Iterator[Progress | None]:
        if not self.show_progress or total == 0:
            yield None
            return
        from tqdm.auto import tqdm  # type: ignore[import-untyped]

        with tqdm(total=total, desc=f"Embedding with {self.model}", unit="text") as bar:
            yield bar.update

    # -- Embeddings ---------------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed document texts, in order (``[]`` for ``[]``, without a request)."""
        with langchain_errors(), self._progress(len(texts)) as progress:
            return self._embedder.embed_documents(texts, progress=progress)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async :meth:`embed_documents`."""
        with langchain_errors(), self._progress(len(texts)) as progress:
            return await self._embedder.aembed_documents(texts, progress=progress)

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (with the query instruction, if any)."""
        with langchain_errors():
            return self._embedder.embed_query(text)

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`; concurrent calls are coalesced."""
        with langchain_errors():
            return await self._embedder.aembed_query(text)

    def resume_documents(self, texts: list[str], error: EmbeddingJobError) -> list[list[float]]:
        """Finish an ``embed_documents`` call that raised ``error``: only its failed texts are
        embedded again; the vectors it already had are kept."""
        with langchain_errors():
            return self._embedder.resume(texts, error)

    async def aresume_documents(
        self, texts: list[str], error: EmbeddingJobError
    ) -> list[list[float]]:
        """Async :meth:`resume_documents`."""
        with langchain_errors():
            return await self._embedder.aresume(texts, error)

    # -- async batch API ------------------------------------------------------------------------
    def submit_batch(self, texts: list[str]) -> list[str]:
        """Queue ``texts`` as async batch jobs and return their request ids (no waiting)."""
        with langchain_errors():
            return self._embedder.submit_batch(texts)

    async def asubmit_batch(self, texts: list[str]) -> list[str]:
        """Async :meth:`submit_batch`."""
        with langchain_errors():
            return await self._embedder.asubmit_batch(texts)

    def collect_batch(self, request_ids: list[str]) -> list[list[float]]:
        """Wait for batch jobs (by request id, also from an earlier process); their vectors
        in submission order."""
        with langchain_errors():
            return self._embedder.collect_batch(request_ids)

    async def acollect_batch(self, request_ids: list[str]) -> list[list[float]]:
        """Async :meth:`collect_batch`."""
        with langchain_errors():
            return await self._embedder.acollect_batch(request_ids)

    # -- housekeeping ---------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Requests sent, throttled, retried and failed, and coalesced query batches."""
        return self._embedder.stats()

    def close(self) -> None:
        """Close the connection pool of the sync methods."""
        self._embedder.close()

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop."""
        await self._embedder.aclose()


__all__ = ["WorkersAIEmbeddings"]
