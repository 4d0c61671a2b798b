"""Embed many texts with one model, as fast as the rate limits allow, in order, sync or async.

:class:`Embedder` is what the LangChain and LlamaIndex adapters delegate to. A document list is
checked (before any request), split into batches of ``batch_size``, and sent by up to
``max_concurrency`` worker tasks through one :class:`~workers_ai.concurrency.AdaptiveSender`
per event loop, which lowers concurrency on rate limits and raises it again afterwards. Each
batch writes its own slice of the result, so order is exact whatever finishes first. Single
queries are coalesced: concurrent calls within ``coalesce_window`` share a request.

Sync methods run the same coroutines on a private event-loop thread
(:func:`~workers_ai.concurrency.run_sync`); input checks and warnings happen in the caller's
thread first.

Example:
    >>> from workers_ai.embedder import Embedder
    >>> from workers_ai.embeddings import embedding_spec
    >>> from workers_ai.settings import resolve_settings
    >>> embedder = Embedder(embedding_spec("@cf/baai/bge-small-en-v1.5"), resolve_settings())
    ... # doctest: +SKIP
    >>> vectors = embedder.embed_documents(["first chunk", "second chunk"])  # doctest: +SKIP
    >>> vector = await embedder.aembed_query("what is in the chunks?")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from workers_ai.batch_api import ordered_results, split_into_jobs, submit_job, wait_for_job
from workers_ai.client import AsyncWorkersAIClient
from workers_ai.concurrency import (
    AdaptiveLimiter,
    AdaptiveSender,
    Coalescer,
    LoopLocal,
    run_all,
    run_sync,
)
from workers_ai.embeddings import (
    EmbeddingSpec,
    InputTruncatedWarning,
    Kind,
    build_embedding_body,
    parse_embedding_response,
    plan_batches,
    prepare_texts,
    truncation_warning,
)
from workers_ai.errors import APIResponseValidationError, InvalidRequestError
from workers_ai.settings import WorkersAISettings

__all__ = ["Embedder", "Progress"]

#: Called with the number of texts just finished (e.g. ``tqdm.update``).
Progress = Callable[[int], Any]


class _Engine:
    """What one event loop needs: a client (retries off; the sender retries), the adaptive
    limiter shared by all of this model's requests, and the query coalescer."""

    def __init__(self, spec: EmbeddingSpec, settings: WorkersAISettings) -> None:
        self.spec = spec
        self.client = AsyncWorkersAIClient(settings=settings.with_options(max_retries=0))
        self.limiter = AdaptiveLimiter(spec.max_concurrency)
        self.sender = AdaptiveSender(self.client, self.limiter, spec.max_retries)
        self.queries: Coalescer[str, list[float]] = Coalescer(
            self._query_batch,
            max_batch=spec.batch_size,
            window=spec.coalesce_window,
            copy=list,
        )

    async def _query_batch(self, texts: list[str]) -> list[list[float]]:
        return await self.embed(texts, "query", None)

    async def _embed_one(
        self, texts: list[str], kind: Kind, progress: Progress | None
    ) -> list[list[float]]:
        body = build_embedding_body(self.spec, texts, kind=kind)
        data = await self.sender.run(self.spec.model, body)
        vectors = parse_embedding_response(data, len(texts))
        if progress is not None:
            progress(len(texts))
        return vectors

    async def embed(
        self, texts: list[str], kind: Kind, progress: Progress | None
    ) -> list[list[float]]:
        """Embed prepared texts: batches over at most ``max_concurrency`` workers, in order."""
        plan = plan_batches(len(texts), self.spec.batch_size)
        if len(plan) == 1:
            return await self._embed_one(texts, kind, progress)
        parts: list[list[list[float]]] = [[] for _ in plan]
        queue = iter(enumerate(plan))

        async def worker() -> None:
            for index, (start, stop) in queue:
                parts[index] = await self._embed_one(texts[start:stop], kind, progress)

        workers = min(self.spec.max_concurrency, len(plan))
        await run_all([worker() for _ in range(workers)])
        return [vector for part in parts for vector in part]

    async def submit(self, texts: list[str]) -> list[str]:
        """Queue document batches as async batch jobs; return their request ids in order."""
        plan = plan_batches(len(texts), self.spec.batch_size)
        bodies = [build_embedding_body(self.spec, texts[a:b], kind="document") for a, b in plan]
        jobs = split_into_jobs(bodies)
        return await run_all([submit_job(self.sender.run, self.spec.model, j) for j in jobs])

    async def collect(
        self, request_ids: Sequence[str], progress: Progress | None
    ) -> list[list[float]]:
        """Wait for batch jobs and return all their vectors, job by job, in input order."""

        async def one(request_id: str) -> list[list[float]]:
            status = await wait_for_job(
                self.sender.run, self.spec.model, request_id, self.spec.poll
            )
            vectors = [
                vector
                for result in ordered_results(status)
                for vector in parse_embedding_response(result, None)
            ]
            if progress is not None:
                progress(len(vectors))
            return vectors

        parts = await run_all([one(request_id) for request_id in request_ids])
        return [vector for part in parts for vector in part]


class Embedder:
    """Sync and async embeddings for one model: batching, adaptive concurrency, coalescing.

    Args:
        spec: The resolved options (:func:`workers_ai.embeddings.embedding_spec`).
        settings: Connection settings (:func:`workers_ai.settings.resolve_settings`);
            ``spec.max_retries`` replaces their ``max_retries``.

    Example:
        >>> from workers_ai.embeddings import embedding_spec
        >>> from workers_ai.emulator import EmulatorServer
        >>> from workers_ai.settings import resolve_settings
        >>> with EmulatorServer() as emulator:
        ...     settings = resolve_settings(**emulator.client_kwargs())
        ...     embedder = Embedder(embedding_spec("@cf/baai/bge-small-en-v1.5"), settings)
        ...     vectors = embedder.embed_documents([f"chunk {i}" for i in range(250)])
        ...     requests = embedder.stats()["requests"]
        ...     embedder.close()
        >>> len(vectors), len(vectors[0]), requests
        (250, 384, 3)
    """

    def __init__(self, spec: EmbeddingSpec, settings: WorkersAISettings) -> None:
        self.spec = spec
        self._settings = settings
        self._engines: LoopLocal[_Engine] = LoopLocal(lambda: _Engine(spec, settings))

    def __repr__(self) -> str:
        return f"Embedder(model={self.spec.model!r})"

    # -- preparation (caller's thread) ---------------------------------------------------------
    def _prepare(self, texts: Sequence[object], kind: Kind) -> list[str]:
        prepared = prepare_texts(texts, self.spec, kind=kind)
        message = truncation_warning(prepared, self.spec, len(prepared.texts))
        if message is not None:
            warnings.warn(message, InputTruncatedWarning, stacklevel=4)
        return prepared.texts

    def _prepare_query(self, text: object) -> str:
        if not isinstance(text, str):
            raise InvalidRequestError(
                f"the query is a {type(text).__name__}, not a string; embeddings take strings"
            )
        return self._prepare([text], "query")[0]

    # -- coroutines run on the caller's loop or the background loop ----------------------------
    async def _documents(self, texts: list[str], progress: Progress | None) -> list[list[float]]:
        engine = self._engines.get()
        if not self.spec.use_batch_api:
            return await engine.embed(texts, "document", progress)
        vectors = await engine.collect(await engine.submit(texts), progress)
        if len(vectors) != len(texts):
            raise APIResponseValidationError(
                f"batch jobs returned {len(vectors)} vectors for {len(texts)} texts"
            )
        return vectors

    async def _query(self, text: str) -> list[float]:
        engine = self._engines.get()
        if self.spec.coalesce:
            return await engine.queries.submit(text)
        return (await engine.embed([text], "query", None))[0]

    async def _submit(self, texts: list[str]) -> list[str]:
        return await self._engines.get().submit(texts)

    async def _collect(
        self, request_ids: Sequence[str], progress: Progress | None
    ) -> list[list[float]]:
        return await self._engines.get().collect(list(request_ids), progress)

    # -- public API ----------------------------------------------------------------------------
    def embed_documents(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Embed ``texts`` in order (``[]`` for an empty list, without a request).

        Raises:
            InvalidRequestError: A text is empty, not a string, or too long (see
                :func:`~workers_ai.embeddings.prepare_texts`), before any request.
            APIError: A batch failed for good (after adaptive and transient retries).
        """
        if len(texts) == 0:
            return []
        return run_sync(self._documents(self._prepare(texts, "document"), progress))

    async def aembed_documents(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Async :meth:`embed_documents`."""
        if len(texts) == 0:
            return []
        return await self._documents(self._prepare(texts, "document"), progress)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query (with the query instruction); coalesced with concurrent calls."""
        return run_sync(self._query(self._prepare_query(text)))

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`."""
        return await self._query(self._prepare_query(text))

    def submit_batch(self, texts: Sequence[str]) -> list[str]:
        """Queue ``texts`` as async batch jobs (no waiting); return the jobs' request ids.

        Keep the ids: :meth:`collect_batch` resumes from them, in this or another process.
        """
        if len(texts) == 0:
            return []
        return run_sync(self._submit(self._prepare(texts, "document")))

    async def asubmit_batch(self, texts: Sequence[str]) -> list[str]:
        """Async :meth:`submit_batch`."""
        if len(texts) == 0:
            return []
        return await self._submit(self._prepare(texts, "document"))

    def collect_batch(
        self, request_ids: Sequence[str], *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Poll batch jobs until done; their vectors in submission order."""
        return run_sync(self._collect(request_ids, progress))

    async def acollect_batch(
        self, request_ids: Sequence[str], *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Async :meth:`collect_batch`."""
        return await self._collect(request_ids, progress)

    def stats(self) -> dict[str, int]:
        """Requests sent, throttled, retried and failed, and coalesced query batches."""
        totals = {"requests": 0, "throttled": 0, "retried": 0, "failed": 0, "query_batches": 0}
        for engine in self._engines.values():
            for key, value in engine.sender.stats.items():
                totals[key] += value
            totals["query_batches"] += engine.queries.batches_sent
        return totals

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop."""
        engine = self._engines.pop()
        if engine is not None:
            await engine.client.aclose()

    def close(self) -> None:
        """Close the connection pool used by the sync methods."""
        run_sync(self.aclose())
