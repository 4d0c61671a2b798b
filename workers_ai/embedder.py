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

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from workers_ai import catalog
from workers_ai.batch_api import ordered_results, split_into_jobs, submit_job, wait_for_job
from workers_ai.chat import usage_from_wire
from workers_ai.client import AsyncWorkersAIClient
from workers_ai.concurrency import (
    AdaptiveLimiter,
    AdaptiveSender,
    Coalescer,
    LoopEngines,
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
from workers_ai.errors import (
    APIError,
    APIResponseValidationError,
    AuthenticationError,
    EmbeddingJobError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
)
from workers_ai.fallback import should_fall_back
from workers_ai.retry import is_retryable
from workers_ai.settings import WorkersAISettings
from workers_ai.usage import UsageRecord, listening, report_usage

__all__ = ["Embedder", "Progress"]

logger = logging.getLogger("workers_ai")

#: Called with the number of texts just finished (e.g. ``tqdm.update``).
Progress = Callable[[int], Any]


class _Engine:
    """What one event loop needs: a client (retries off; the sender retries), the adaptive
    limiter shared by all of this model's requests, and the query coalescer."""

    def __init__(self, spec: EmbeddingSpec, settings: WorkersAISettings) -> None:
        self.spec = spec
        self.client = AsyncWorkersAIClient(settings=settings.with_options(max_retries=0))
        self.limiter = AdaptiveLimiter(spec.max_concurrency)
        self.sender = AdaptiveSender(
            self.client, self.limiter, spec.max_retries, settings.reject_if_busy
        )
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
        """Embed prepared texts: batches over at most ``max_concurrency`` workers, in order.

        A batch that fails for good does not stop the others; failed batches get a second
        round once the rest is done (a transient fault has usually passed by then). What still
        fails raises :class:`~workers_ai.EmbeddingJobError` carrying every finished vector. An
        error that every batch would hit (authentication, permission, not found, the daily
        quota) stops the job at once, keeping what finished.
        """
        plan = plan_batches(len(texts), self.spec.batch_size)
        if len(plan) == 1:
            return await self._embed_one(texts, kind, progress)
        vectors: list[list[float] | None] = [None] * len(texts)
        failed, fatal = await self._run_batches(texts, plan, kind, progress, vectors)
        if failed and fatal is None:
            again = [span for span, error in failed if is_retryable(error)]
            failed = [(span, error) for span, error in failed if not is_retryable(error)]
            if again:
                logger.info("embeddings: %d failed batches, second round", len(again))
                more, fatal = await self._run_batches(texts, again, kind, progress, vectors)
                failed += more
        if failed:
            raise _job_error(vectors, [error for _, error in failed], fatal)
        return [vector for vector in vectors if vector is not None]

    async def _run_batches(
        self,
        texts: list[str],
        spans: list[tuple[int, int]],
        kind: Kind,
        progress: Progress | None,
        vectors: list[list[float] | None],
    ) -> tuple[list[tuple[tuple[int, int], APIError]], APIError | None]:
        """Fill ``vectors`` span by span; the spans that failed (with their errors), and the
        error that stopped the job early, if any."""
        failed: list[tuple[tuple[int, int], APIError]] = []
        fatal: list[APIError] = []
        queue = iter(spans)

        async def worker() -> None:
            for start, stop in queue:
                if fatal:
                    return
                try:
                    vectors[start:stop] = await self._embed_one(texts[start:stop], kind, progress)
                except APIError as error:
                    failed.append(((start, stop), error))
                    if isinstance(error, _JOB_FATAL):
                        fatal.append(error)

        workers = min(self.spec.max_concurrency, len(spans))
        await run_all([worker() for _ in range(workers)])
        return failed, (fatal[0] if fatal else None)

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
            if listening():  # one job: one call of the model (its submit and polls are not)
                usage = usage_from_wire(status.usage) if status.usage is not None else None
                report_usage(UsageRecord(self.spec.model, catalog.TEXT_EMBEDDINGS, usage))
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


#: Errors every other batch would hit too: the job stops at once (keeping what finished).
_JOB_FATAL = (AuthenticationError, PermissionDeniedError, NotFoundError, QuotaExceededError)


def _job_error(
    vectors: list[list[float] | None], errors: list[APIError], fatal: APIError | None
) -> EmbeddingJobError:
    missing = tuple(index for index, vector in enumerate(vectors) if vector is None)
    first = fatal or errors[0]
    why = (
        f"the job stopped at {type(fatal).__name__}: {fatal}"
        if fatal is not None
        else f"{len(errors)} batch(es) failed after their retries and a second round, "
        f"first {type(first).__name__}: {first}"
    )
    error = EmbeddingJobError(
        f"{len(missing)} of {len(vectors)} texts have no vector ({why}). The other "
        f"{len(vectors) - len(missing)} vectors are on error.vectors; resume(texts, error) "
        "embeds only error.failed_indices.",
        vectors=vectors,
        failed_indices=missing,
        errors=tuple(errors),
    )
    error.__cause__ = first
    return error


class Embedder(LoopEngines):
    """Sync and async embeddings for one model: batching, adaptive concurrency, coalescing.

    Args:
        spec: The resolved options (:func:`workers_ai.embeddings.embedding_spec`).
        settings: Connection settings (:func:`workers_ai.settings.resolve_settings`);
            ``spec.max_retries`` replaces their ``max_retries``.
        fallbacks: Specs of models with the same vector space, tried in order when this
            model still fails (after its retries) with an error
            :func:`~workers_ai.fallback.should_fall_back` accepts; check them with
            :func:`~workers_ai.embeddings.check_embedding_fallbacks`. Queries fall back whole;
            a document list falls back per failed batch (only the texts whose batch failed go
            to the next model).

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

    def __init__(
        self,
        spec: EmbeddingSpec,
        settings: WorkersAISettings,
        fallbacks: Sequence[EmbeddingSpec] = (),
    ) -> None:
        self.spec = spec
        self._settings = settings
        self._engines: LoopLocal[_Engine] = LoopLocal(lambda: _Engine(spec, settings))
        self._fallbacks = tuple(Embedder(other, settings) for other in fallbacks)

    # -- fallbacks -----------------------------------------------------------------------------
    def _hands_over(self, index: int, errors: Sequence[APIError]) -> bool:
        """Whether the model at ``index`` of the chain hands over to the next (and log it)."""
        chain = (self, *self._fallbacks)
        if index + 1 >= len(chain) or not errors or not all(map(should_fall_back, errors)):
            return False
        logger.info(
            "embeddings model %s failed (%s); falling back to %s",
            chain[index].spec.model,
            type(errors[0]).__name__,
            chain[index + 1].spec.model,
        )
        return True

    async def _query_chain(self, text: str, prepared: str) -> list[float]:
        for index, embedder in enumerate((self, *self._fallbacks)):
            # each model gets the query with its own instruction and token limit
            query = prepared if index == 0 else embedder._prepare_query(text)
            try:
                return await embedder._query(query)
            except APIError as error:
                if not self._hands_over(index, [error]):
                    raise
        raise AssertionError("unreachable: the last model's failure is raised")

    async def _documents_chain(
        self, texts: Sequence[str], prepared: list[str], progress: Progress | None
    ) -> list[list[float]]:
        """``texts`` through the chain: the first model gets ``prepared`` (checked in the
        caller's thread); the next gets, prepared its way, only the texts without a vector."""
        vectors: list[list[float] | None] = [None] * len(texts)
        for index, embedder in enumerate((self, *self._fallbacks)):
            todo = [i for i, vector in enumerate(vectors) if vector is None]
            batch = (
                prepared if index == 0 else embedder._prepare([texts[i] for i in todo], "document")
            )
            errors: list[APIError] = []
            try:
                fresh: list[list[float] | None] = list(await embedder._documents(batch, progress))
            except EmbeddingJobError as partial:
                fresh, errors = partial.vectors, list(partial.errors)
            except APIError as single:  # the texts fitted in one batch, and it failed
                fresh, errors = [None] * len(todo), [single]
            for i, vector in zip(todo, fresh, strict=True):
                vectors[i] = vector
            if not errors:
                return [vector for vector in vectors if vector is not None]
            if not self._hands_over(index, errors):
                if all(vector is None for vector in vectors) and len(errors) == 1:
                    raise errors[0]
                raise _job_error(vectors, errors, None)
        raise AssertionError("unreachable: the last model's failure is raised")

    async def aclose(self) -> None:
        """Close the connection pools of the running event loop (fallback models' too)."""
        await super().aclose()
        for embedder in self._fallbacks:
            await embedder.aclose()

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
        if self._fallbacks:
            prepared = self._prepare(texts, "document")
            return run_sync(self._documents_chain(texts, prepared, progress))
        return run_sync(self._documents(self._prepare(texts, "document"), progress))

    async def aembed_documents(
        self, texts: Sequence[str], *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Async :meth:`embed_documents`."""
        if len(texts) == 0:
            return []
        if self._fallbacks:
            prepared = self._prepare(texts, "document")
            return await self._documents_chain(texts, prepared, progress)
        return await self._documents(self._prepare(texts, "document"), progress)

    def resume(
        self, texts: Sequence[str], error: EmbeddingJobError, *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Finish a job that raised ``error``: embed only its ``failed_indices``, keep the rest.

        ``texts`` must be the list the failed call got. Raises :class:`EmbeddingJobError`
        again (for the whole list) if batches still fail, so it can be called until done.
        """
        return run_sync(self._resume(texts, error, progress))

    async def aresume(
        self, texts: Sequence[str], error: EmbeddingJobError, *, progress: Progress | None = None
    ) -> list[list[float]]:
        """Async :meth:`resume`."""
        return await self._resume(texts, error, progress)

    async def _resume(
        self, texts: Sequence[str], error: EmbeddingJobError, progress: Progress | None
    ) -> list[list[float]]:
        if len(texts) != len(error.vectors):
            raise InvalidRequestError(
                f"resume needs the {len(error.vectors)} texts of the failed call, got {len(texts)}"
            )
        vectors = list(error.vectors)
        indices = [i for i in error.failed_indices if vectors[i] is None]
        if not indices:
            return [vector for vector in vectors if vector is not None]
        subset = self._prepare([texts[i] for i in indices], "document")
        try:
            fresh: list[list[float] | None] = list(
                await self._engines.get().embed(subset, "document", progress)
            )
            errors: list[APIError] = []
        except EmbeddingJobError as partial:
            fresh, errors = partial.vectors, list(partial.errors)
        except APIError as single:  # the rest fitted in one batch, and it failed again
            fresh, errors = [None] * len(indices), [single]
        for index, vector in zip(indices, fresh, strict=True):
            vectors[index] = vector
        if errors:
            raise _job_error(vectors, errors, None)
        return [vector for vector in vectors if vector is not None]

    def embed_query(self, text: str) -> list[float]:
        """Embed one query (with the query instruction); coalesced with concurrent calls."""
        if self._fallbacks:
            return run_sync(self._query_chain(text, self._prepare_query(text)))
        return run_sync(self._query(self._prepare_query(text)))

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`."""
        if self._fallbacks:
            return await self._query_chain(text, self._prepare_query(text))
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
