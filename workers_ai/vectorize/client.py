"""Vectorize V2 over REST (platform spec §2): sync and async, typed, checked before sending.

``client.vectorize`` (a :class:`Vectorize`) manages indexes; ``client.vectorize.index(name)``
(a :class:`VectorizeIndex`) writes, queries and deletes vectors. Both go through the client's
connection pool, retries and typed errors. Requests are built and answers read by
:class:`~workers_ai.vectorize.requests.IndexRequests`; these classes only send, await and
sleep (``tests/unit/test_vectorize_client.py`` runs one table through both).

Example:
    >>> from workers_ai import WorkersAIClient
    >>> client = WorkersAIClient()  # doctest: +SKIP
    >>> client.vectorize.create_index("docs", model="@cf/baai/bge-base-en-v1.5")  # doctest: +SKIP
    >>> index = client.vectorize.index("docs")  # doctest: +SKIP
    >>> index.upsert([{"id": "a", "values": [...], "metadata": {"k": "v"}}], wait=True)
    >>> index.query([...], top_k=3, return_metadata="all").matches  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workers_ai.errors import (
    APIStatusError,
    VectorizeIndexExistsError,
    VectorizeIndexNotFoundError,
    WorkersAIError,
)
from workers_ai.fallback import Tally
from workers_ai.vectorize import wire
from workers_ai.vectorize.mutations import DEFAULT_MUTATION_TIMEOUT, MutationWait, check_timeout
from workers_ai.vectorize.requests import (
    IndexRequests,
    create_index_call,
    effect_ids,
    list_indexes_call,
    note_partial_write,
    reflects,
    reflects_indexes,
    resolve_dimensions,
    same_config,
)
from workers_ai.vectorize.types import (
    Effect,
    IndexInfo,
    IndexStats,
    MetadataIndex,
    MetadataIndexType,
    Metric,
    Mutation,
    QueryResult,
    ReturnMetadata,
    Vector,
    VectorPage,
)

if TYPE_CHECKING:
    from workers_ai._base_client import _Call
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
    from workers_ai.responses import APIResponse

__all__ = ["AsyncVectorize", "AsyncVectorizeIndex", "Vectorize", "VectorizeIndex"]

VectorLike = Vector | Mapping[str, Any]
C = TypeVar("C", "WorkersAIClient", "AsyncWorkersAIClient")

# Indirections so tests can run waits on a fake clock.
_sleep = time.sleep
_asleep = asyncio.sleep
_monotonic = time.monotonic


#: ``get_by_ids`` pages (of 100 ids) in flight at once.
READ_CONCURRENCY = 8
#: Ids per request when ``delete_all`` deletes a whole index (a list-vectors page).
DELETE_PAGE = wire.LIST_PAGE_MAX


def _pages(ids: Iterator[str]) -> Iterator[list[str]]:
    while page := list(itertools.islice(ids, DELETE_PAGE)):
        yield page


async def _apages(ids: AsyncIterator[str]) -> AsyncIterator[list[str]]:
    page: list[str] = []
    async for vector_id in ids:
        page.append(vector_id)
        if len(page) == DELETE_PAGE:
            yield page
            page = []
    if page:
        yield page


class _IndexBase(Generic[C]):
    """What both index classes share: the request builder, options, the mutation waiter."""

    def __init__(
        self,
        client: C,
        name: str,
        *,
        mutation_timeout: float = DEFAULT_MUTATION_TIMEOUT,
        check_filter_fields: bool = True,
    ) -> None:
        self._client: C = client
        self._r = IndexRequests(client, name, mutation_timeout)
        self._check_filter_fields = check_filter_fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def name(self) -> str:
        return self._r.name

    @property
    def known_metric(self) -> str | None:
        """The index's metric, once ``describe()`` (or ``dimensions()``) has asked for it."""
        return self._r.metric

    def _meanwhile_waiter(self) -> MutationWait:
        return MutationWait(self.name, Mutation(""), self._r.mutation_timeout)

    def _waiter(self, mutation: Mutation | str, timeout: float | None) -> MutationWait:
        target = Mutation(mutation) if isinstance(mutation, str) else mutation
        limit = self._r.mutation_timeout if timeout is None else check_timeout(timeout)
        return MutationWait(self.name, target, limit)


class VectorizeIndex(_IndexBase["WorkersAIClient"]):
    """One Vectorize index (sync). Cheap to make; nothing is sent until a method is called.

    Args:
        client: The :class:`~workers_ai.WorkersAIClient` to send through.
        name: The index name.
        mutation_timeout: Seconds ``wait=True`` writes wait for their mutation by default.
        check_filter_fields: Refuse a filter on a property without a metadata index before
            querying (Vectorize would match nothing); costs one listing per index object.
    """

    def describe(self) -> IndexInfo:
        """The index's configuration (``GET /{index}``)."""
        return self._r.learn_index(wire.parse_index(self._client._send(self._r.call("GET")).data))

    def stats(self) -> IndexStats:
        """Vector count and processed mutations (``GET /{index}/info``)."""
        return wire.parse_stats(self._client._send(self._r.call("GET", "info")).data)

    def dimensions(self) -> int:
        """The index's vector size (asked once, then remembered)."""
        if self._r.dimensions is None:
            self.describe()
        if self._r.dimensions is None:  # made from a preset: info says it
            self._r.dimensions = self.stats().dimensions
        if self._r.dimensions is None:
            raise WorkersAIError(f"Vectorize did not say index {self.name!r}'s dimensions")
        return self._r.dimensions

    def _write(
        self, op: str, vectors: Sequence[VectorLike], batch_size: int, wait: bool
    ) -> Mutation:
        self.dimensions()
        calls, ranges, effect = self._r.write_calls(op, vectors, batch_size)
        responses = []
        for call, (start, _) in zip(calls, ranges, strict=True):
            try:
                responses.append(self._client._send(call))
            except WorkersAIError as error:
                note_partial_write(error, start, len(vectors), op)
                raise
        mutation = self._r.mutation(responses, len(vectors), effect)
        if wait:
            self.wait_for_mutation(mutation)
        return mutation

    def insert(
        self, vectors: Sequence[VectorLike], *, batch_size: int = wire.DEFAULT_WRITE_BATCH,
        wait: bool = False,
    ) -> Mutation:  # fmt: skip
        """Add vectors; an id already stored keeps its old vector (use :meth:`upsert` to
        replace). Every vector is checked against the index (dimensions, ids, metadata)
        before the first request; large writes are cut into ``batch_size`` batches (at most
        5,000 and 100 MB each). ``wait=True`` returns once Vectorize has applied them."""
        return self._write("insert", vectors, batch_size, wait)

    def upsert(
        self, vectors: Sequence[VectorLike], *, batch_size: int = wire.DEFAULT_WRITE_BATCH,
        wait: bool = False,
    ) -> Mutation:  # fmt: skip
        """Add or replace vectors (values and metadata whole); otherwise as :meth:`insert`."""
        return self._write("upsert", vectors, batch_size, wait)

    def query(
        self,
        vector: Sequence[float],
        *,
        top_k: int = 5,
        return_values: bool = False,
        return_metadata: ReturnMetadata = "none",
        filter: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> QueryResult:
        """The ``top_k`` nearest vectors, best first (``top_k`` <= 100; <= 50 with values or
        ``return_metadata="all"``). ``filter`` is checked locally first (operators, types,
        size, and that each property has a metadata index)."""
        if self._r.dimensions is None:
            self.dimensions()
        if self._r.needs_metadata_indexes(filter, self._check_filter_fields):
            self.metadata_indexes()
        call = self._r.query_call(
            vector, top_k=top_k, return_values=return_values, return_metadata=return_metadata,
            filter=filter, namespace=namespace, check_filter_fields=self._check_filter_fields,
        )  # fmt: skip
        return wire.parse_query(self._client._send(call).data)

    def get_by_ids(self, ids: Sequence[str]) -> list[Vector]:
        """The stored vectors with these ids, in the order asked (missing ids are left out)."""
        checked, calls = self._r.ids_calls("get_by_ids", ids, wire.GET_BY_IDS_BATCH)
        if len(calls) <= 1:
            answers = [self._client._send(call) for call in calls]
        else:  # the client's pool is thread-safe: a few pages in flight at once
            workers = min(len(calls), READ_CONCURRENCY)
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                answers = list(pool.map(self._client._send, calls))
        found = [v for answer in answers for v in wire.parse_vectors(answer.data)]
        return self._r.ordered(checked, found)

    def delete_by_ids(self, ids: Sequence[str], *, wait: bool = False) -> Mutation | None:
        """Delete vectors by id (ids not stored are ignored); ``None`` when ``ids`` is empty."""
        checked, calls = self._r.ids_calls("delete_by_ids", ids, wire.DEFAULT_WRITE_BATCH)
        if not calls:
            return None
        effect = Effect("absent", ids=tuple(checked[-wire.DEFAULT_WRITE_BATCH :]))
        answers = [self._client._send(call) for call in calls]
        mutation = self._r.mutation(answers, len(checked), effect)
        if wait:
            self.wait_for_mutation(mutation)
        return mutation

    def list_vectors(self, *, count: int = 100, cursor: str | None = None) -> VectorPage:
        """One page of vector ids (``count`` <= 1000); pass ``next_cursor`` for the next."""
        return wire.parse_page(self._client._send(self._r.list_call(count, cursor)).data)

    def iter_ids(self, *, page_size: int = wire.LIST_PAGE_MAX) -> Iterator[str]:
        """Every vector id, page by page (a snapshot taken at the first page)."""
        cursor: str | None = None
        while True:
            page = self.list_vectors(count=page_size, cursor=cursor)
            yield from page.ids
            if not page.is_truncated or not page.next_cursor:
                return
            cursor = page.next_cursor

    def metadata_indexes(self) -> list[MetadataIndex]:
        """The metadata indexes (filtering on a property needs one)."""
        data = self._client._send(self._r.call("GET", "metadata_index/list")).data
        return self._r.learn_metadata_indexes(wire.parse_metadata_indexes(data))

    def create_metadata_index(
        self, property_name: str, index_type: MetadataIndexType, *, wait: bool = False
    ) -> Mutation:
        """Make ``property_name`` filterable (vectors written before must be written again).
        When a retried request finds it made by the attempt whose answer was lost, the
        mutation's id is ``""`` (its wait reads the metadata indexes back)."""
        if self._r.indexed is None:
            self.metadata_indexes()
        call = self._r.metadata_index_call("create", property_name, index_type)
        effect, tally = Effect("indexed", property=property_name), Tally()
        try:
            mutation = self._r.mutation([self._client._send(call, tally)], 0, effect)
        except APIStatusError as error:  # a retry after an attempt whose answer was lost
            if tally.attempts < 2:
                raise
            self._listed_meanwhile(error, property_name, index_type)
            return Mutation("", 0, (), None, effect)
        self._r.indexed = {**(self._r.indexed or {}), property_name: index_type}
        if wait:
            self.wait_for_mutation(mutation)
        return mutation

    def _listed_meanwhile(self, error: APIStatusError, name: str, index_type: str) -> None:
        """After a refused create of metadata index ``name``: wait (bounded) for it to be
        listed, made by another writer or by our own lost attempt; else raise ``error``."""
        waiter, start = self._meanwhile_waiter(), _monotonic()
        while True:
            with contextlib.suppress(APIStatusError):
                return self._r.made_meanwhile(error, name, index_type, self.metadata_indexes())
            _sleep(self._r.next_listing_delay(waiter, error, _monotonic() - start))

    def ensure_metadata_indexes(
        self, wanted: Mapping[str, MetadataIndexType], *, wait: bool = True
    ) -> list[Mutation]:
        """Create the metadata indexes of ``wanted`` (property -> type) the index lacks; a
        property indexed with another type is refused. ``wait``: until they are applied."""
        self.metadata_indexes()
        created = []
        for name, index_type in self._r.missing_metadata_indexes(wanted):  # all checked first
            try:
                created.append(self.create_metadata_index(name, index_type))  # type: ignore[arg-type]
            except APIStatusError as error:  # made meanwhile (another process, a retry)?
                self._listed_meanwhile(error, name, index_type)
        if wait and created:
            self.wait_for_mutation(created[-1])
        return created

    def ids_matching(
        self, filter: Mapping[str, Any] | None, *, namespace: str | None = None
    ) -> list[str]:
        """Ids of up to 100 vectors ``filter`` matches (``None``: any; within ``namespace``)."""
        self.dimensions()
        probe = self._r.probe_vector()
        result = self.query(probe, top_k=wire.TOP_K_MAX, filter=filter, namespace=namespace)
        return [m.id for m in result.matches]

    def delete_all(self, *, namespace: str | None = None, wait: bool = True) -> int:
        """Delete every vector (of ``namespace`` when given): page by page through the ids,
        1,000 a request, waiting once at the end; returns how many were deleted."""
        if namespace is not None:
            return self.delete_matching(None, namespace=namespace)
        mutation, count = None, 0
        for page in _pages(self.iter_ids(page_size=DELETE_PAGE)):
            mutation, count = self.delete_by_ids(page) or mutation, count + len(page)
        if wait and mutation is not None:
            self.wait_for_mutation(mutation)
        return count

    def delete_matching(
        self, filter: Mapping[str, Any] | None, *, namespace: str | None = None
    ) -> int:
        """Delete every vector ``filter`` matches (its properties need metadata indexes;
        ``None``: every vector of ``namespace``), 100 per round, waiting for each deletion;
        returns how many were deleted."""
        self.dimensions()
        probe, deleted = self._r.probe_vector(), set[str]()
        while True:
            result = self.query(probe, top_k=wire.TOP_K_MAX, filter=filter, namespace=namespace)
            fresh = self._r.delete_round([m.id for m in result.matches], deleted)
            if not fresh:
                return len(deleted)
            self.delete_by_ids(fresh, wait=True)
            deleted.update(fresh)

    def delete_metadata_index(self, property_name: str, *, wait: bool = False) -> Mutation:
        call = self._r.metadata_index_call("delete", property_name, None)
        effect = Effect("unindexed", property=property_name)
        mutation = self._r.mutation([self._client._send(call)], 0, effect)
        self._r.indexed = None
        if wait:
            self.wait_for_mutation(mutation)
        return mutation

    def wait_for_mutation(
        self, mutation: Mutation | str, *, timeout: float | None = None
    ) -> IndexStats:
        """Poll the index info until ``mutation`` has been applied (bounded by ``timeout``,
        default ``mutation_timeout``); raises :class:`~workers_ai.MutationTimeoutError`."""
        waiter = self._waiter(mutation, timeout)
        start, checked = _monotonic(), None
        while True:
            stats = self.stats()
            if waiter.applied(stats):
                return stats
            later = stats.processed_up_to_mutation
            effect = waiter.mutation.effect
            if effect is not None and later is not None and later != checked:
                checked = later  # another writer's mutation was applied: read ours back
                if self._shows(effect):
                    return stats
            _sleep(waiter.next_delay(_monotonic() - start))

    def _shows(self, effect: Effect) -> bool:
        if effect.kind in ("indexed", "unindexed"):
            return reflects_indexes(effect, self.metadata_indexes())
        return reflects(effect, self.get_by_ids(effect_ids(effect)))


class AsyncVectorizeIndex(_IndexBase["AsyncWorkersAIClient"]):
    """One Vectorize index (async): :class:`VectorizeIndex`'s methods, awaited."""

    async def describe(self) -> IndexInfo:
        data = (await self._client._send(self._r.call("GET"))).data
        return self._r.learn_index(wire.parse_index(data))

    async def stats(self) -> IndexStats:
        return wire.parse_stats((await self._client._send(self._r.call("GET", "info"))).data)

    async def dimensions(self) -> int:
        if self._r.dimensions is None:
            await self.describe()
        if self._r.dimensions is None:
            self._r.dimensions = (await self.stats()).dimensions
        if self._r.dimensions is None:
            raise WorkersAIError(f"Vectorize did not say index {self.name!r}'s dimensions")
        return self._r.dimensions

    async def _write(
        self, op: str, vectors: Sequence[VectorLike], batch_size: int, wait: bool
    ) -> Mutation:
        await self.dimensions()
        calls, ranges, effect = self._r.write_calls(op, vectors, batch_size)
        responses = []
        for call, (start, _) in zip(calls, ranges, strict=True):
            try:
                responses.append(await self._client._send(call))
            except WorkersAIError as error:
                note_partial_write(error, start, len(vectors), op)
                raise
        mutation = self._r.mutation(responses, len(vectors), effect)
        if wait:
            await self.wait_for_mutation(mutation)
        return mutation

    async def insert(
        self, vectors: Sequence[VectorLike], *, batch_size: int = wire.DEFAULT_WRITE_BATCH,
        wait: bool = False,
    ) -> Mutation:  # fmt: skip
        return await self._write("insert", vectors, batch_size, wait)

    async def upsert(
        self, vectors: Sequence[VectorLike], *, batch_size: int = wire.DEFAULT_WRITE_BATCH,
        wait: bool = False,
    ) -> Mutation:  # fmt: skip
        return await self._write("upsert", vectors, batch_size, wait)

    async def query(
        self,
        vector: Sequence[float],
        *,
        top_k: int = 5,
        return_values: bool = False,
        return_metadata: ReturnMetadata = "none",
        filter: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> QueryResult:
        if self._r.dimensions is None:
            await self.dimensions()
        if self._r.needs_metadata_indexes(filter, self._check_filter_fields):
            await self.metadata_indexes()
        call = self._r.query_call(
            vector, top_k=top_k, return_values=return_values, return_metadata=return_metadata,
            filter=filter, namespace=namespace, check_filter_fields=self._check_filter_fields,
        )  # fmt: skip
        return wire.parse_query((await self._client._send(call)).data)

    async def get_by_ids(self, ids: Sequence[str]) -> list[Vector]:
        checked, calls = self._r.ids_calls("get_by_ids", ids, wire.GET_BY_IDS_BATCH)
        limit = asyncio.Semaphore(READ_CONCURRENCY)

        async def send(call: _Call) -> APIResponse:
            async with limit:
                return await self._client._send(call)

        answers = await asyncio.gather(*(send(call) for call in calls))
        found = [v for answer in answers for v in wire.parse_vectors(answer.data)]
        return self._r.ordered(checked, found)

    async def delete_by_ids(self, ids: Sequence[str], *, wait: bool = False) -> Mutation | None:
        checked, calls = self._r.ids_calls("delete_by_ids", ids, wire.DEFAULT_WRITE_BATCH)
        if not calls:
            return None
        effect = Effect("absent", ids=tuple(checked[-wire.DEFAULT_WRITE_BATCH :]))
        responses = [await self._client._send(call) for call in calls]
        mutation = self._r.mutation(responses, len(checked), effect)
        if wait:
            await self.wait_for_mutation(mutation)
        return mutation

    async def list_vectors(self, *, count: int = 100, cursor: str | None = None) -> VectorPage:
        call = self._r.list_call(count, cursor)
        return wire.parse_page((await self._client._send(call)).data)

    async def iter_ids(self, *, page_size: int = wire.LIST_PAGE_MAX) -> AsyncIterator[str]:
        cursor: str | None = None
        while True:
            page = await self.list_vectors(count=page_size, cursor=cursor)
            for vector_id in page.ids:
                yield vector_id
            if not page.is_truncated or not page.next_cursor:
                return
            cursor = page.next_cursor

    async def metadata_indexes(self) -> list[MetadataIndex]:
        data = (await self._client._send(self._r.call("GET", "metadata_index/list"))).data
        return self._r.learn_metadata_indexes(wire.parse_metadata_indexes(data))

    async def create_metadata_index(
        self, property_name: str, index_type: MetadataIndexType, *, wait: bool = False
    ) -> Mutation:
        if self._r.indexed is None:
            await self.metadata_indexes()
        call = self._r.metadata_index_call("create", property_name, index_type)
        effect, tally = Effect("indexed", property=property_name), Tally()
        try:
            mutation = self._r.mutation([await self._client._send(call, tally)], 0, effect)
        except APIStatusError as error:
            if tally.attempts < 2:
                raise
            await self._listed_meanwhile(error, property_name, index_type)
            return Mutation("", 0, (), None, effect)
        self._r.indexed = {**(self._r.indexed or {}), property_name: index_type}
        if wait:
            await self.wait_for_mutation(mutation)
        return mutation

    async def _listed_meanwhile(self, error: APIStatusError, name: str, index_type: str) -> None:
        waiter, start = self._meanwhile_waiter(), _monotonic()
        while True:
            with contextlib.suppress(APIStatusError):
                indexes = await self.metadata_indexes()
                return self._r.made_meanwhile(error, name, index_type, indexes)
            await _asleep(self._r.next_listing_delay(waiter, error, _monotonic() - start))

    async def ensure_metadata_indexes(
        self, wanted: Mapping[str, MetadataIndexType], *, wait: bool = True
    ) -> list[Mutation]:
        await self.metadata_indexes()
        created = []
        for name, index_type in self._r.missing_metadata_indexes(wanted):
            try:
                created.append(await self.create_metadata_index(name, index_type))  # type: ignore[arg-type]
            except APIStatusError as error:
                await self._listed_meanwhile(error, name, index_type)
        if wait and created:
            await self.wait_for_mutation(created[-1])
        return created

    async def ids_matching(
        self, filter: Mapping[str, Any] | None, *, namespace: str | None = None
    ) -> list[str]:
        await self.dimensions()
        probe = self._r.probe_vector()
        result = await self.query(probe, top_k=wire.TOP_K_MAX, filter=filter, namespace=namespace)
        return [m.id for m in result.matches]

    async def delete_all(self, *, namespace: str | None = None, wait: bool = True) -> int:
        if namespace is not None:
            return await self.delete_matching(None, namespace=namespace)
        mutation, count = None, 0
        async for page in _apages(self.iter_ids(page_size=DELETE_PAGE)):
            mutation, count = await self.delete_by_ids(page) or mutation, count + len(page)
        if wait and mutation is not None:
            await self.wait_for_mutation(mutation)
        return count

    async def delete_matching(
        self, filter: Mapping[str, Any] | None, *, namespace: str | None = None
    ) -> int:
        await self.dimensions()
        probe, deleted = self._r.probe_vector(), set[str]()
        while True:
            result = await self.query(
                probe, top_k=wire.TOP_K_MAX, filter=filter, namespace=namespace
            )
            fresh = self._r.delete_round([m.id for m in result.matches], deleted)
            if not fresh:
                return len(deleted)
            await self.delete_by_ids(fresh, wait=True)
            deleted.update(fresh)

    async def delete_metadata_index(self, property_name: str, *, wait: bool = False) -> Mutation:
        call = self._r.metadata_index_call("delete", property_name, None)
        effect = Effect("unindexed", property=property_name)
        mutation = self._r.mutation([await self._client._send(call)], 0, effect)
        self._r.indexed = None
        if wait:
            await self.wait_for_mutation(mutation)
        return mutation

    async def wait_for_mutation(
        self, mutation: Mutation | str, *, timeout: float | None = None
    ) -> IndexStats:
        waiter = self._waiter(mutation, timeout)
        start, checked = _monotonic(), None
        while True:
            stats = await self.stats()
            if waiter.applied(stats):
                return stats
            later = stats.processed_up_to_mutation
            effect = waiter.mutation.effect
            if effect is not None and later is not None and later != checked:
                checked = later
                if await self._shows(effect):
                    return stats
            await _asleep(waiter.next_delay(_monotonic() - start))

    async def _shows(self, effect: Effect) -> bool:
        if effect.kind in ("indexed", "unindexed"):
            return reflects_indexes(effect, await self.metadata_indexes())
        return reflects(effect, await self.get_by_ids(effect_ids(effect)))


class Vectorize:
    """``client.vectorize``: create, list, get and delete indexes; :meth:`index` for one."""

    def __init__(self, client: WorkersAIClient) -> None:
        self._client = client

    def index(self, name: str, **options: Any) -> VectorizeIndex:
        """A handle on index ``name`` (no request); ``options`` as :class:`VectorizeIndex`."""
        return VectorizeIndex(self._client, name, **options)

    def create_index(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        model: str | None = None,
        description: str | None = None,
        preset: str | None = None,
        exist_ok: bool = False,
    ) -> IndexInfo:
        """Create an index of ``dimensions`` (or those of embedding ``model``, from the
        catalog) and ``metric``; ``exist_ok=True`` returns an existing one of that config."""
        dimensions = resolve_dimensions(dimensions, model, preset)
        call = create_index_call(
            self._client, name, dimensions=dimensions, metric=metric, description=description,
            preset=preset,
        )  # fmt: skip
        tally = Tally()
        try:
            return wire.parse_index(self._client._send(call, tally).data)
        except VectorizeIndexExistsError:
            if not exist_ok and tally.attempts < 2:
                raise
            # exist_ok, or a retry after an attempt whose answer was lost (which made it)
        found = self.get_index(name)
        same_config(found, dimensions, metric, preset)
        return found

    def list_indexes(self) -> list[IndexInfo]:
        return wire.parse_indexes(self._client._send(list_indexes_call(self._client)).data)

    def get_index(self, name: str) -> IndexInfo:
        return self.index(name).describe()

    def delete_index(self, name: str, *, missing_ok: bool = False) -> None:
        """Delete index ``name`` and its vectors; ``missing_ok`` ignores an absent index."""
        try:
            self._client._send(self.index(name)._r.call("DELETE"))
        except VectorizeIndexNotFoundError:
            if not missing_ok:
                raise


class AsyncVectorize:
    """``async_client.vectorize``: :class:`Vectorize`'s methods, awaited."""

    def __init__(self, client: AsyncWorkersAIClient) -> None:
        self._client = client

    def index(self, name: str, **options: Any) -> AsyncVectorizeIndex:
        return AsyncVectorizeIndex(self._client, name, **options)

    async def create_index(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        model: str | None = None,
        description: str | None = None,
        preset: str | None = None,
        exist_ok: bool = False,
    ) -> IndexInfo:
        dimensions = resolve_dimensions(dimensions, model, preset)
        call = create_index_call(
            self._client, name, dimensions=dimensions, metric=metric, description=description,
            preset=preset,
        )  # fmt: skip
        tally = Tally()
        try:
            return wire.parse_index((await self._client._send(call, tally)).data)
        except VectorizeIndexExistsError:
            if not exist_ok and tally.attempts < 2:
                raise
        found = await self.get_index(name)
        same_config(found, dimensions, metric, preset)
        return found

    async def list_indexes(self) -> list[IndexInfo]:
        data = (await self._client._send(list_indexes_call(self._client))).data
        return wire.parse_indexes(data)

    async def get_index(self, name: str) -> IndexInfo:
        return await self.index(name).describe()

    async def delete_index(self, name: str, *, missing_ok: bool = False) -> None:
        try:
            await self._client._send(self.index(name)._r.call("DELETE"))
        except VectorizeIndexNotFoundError:
            if not missing_ok:
                raise
