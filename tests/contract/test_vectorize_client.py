"""The core Vectorize client against the emulator's Vectorize V2 routes, sync and async.

Every test runs through ``WorkersAIClient`` and ``AsyncWorkersAIClient`` (the ``kind`` fixture):
the sync one is wrapped so both are awaited the same way. Writes wait for their mutation, so
write-then-read holds also with the emulator's mutation lag on (the ``lagged`` tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support.awaitable import Awaitable as _Awaitable
from workers_ai import AsyncWorkersAIClient, WorkersAIClient
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import (
    InvalidRequestError,
    MutationTimeoutError,
    VectorizeIndexExistsError,
    VectorizeIndexNotFoundError,
)
from workers_ai.vectorize import FilterError, IngestError, IngestProgress, aingest, ingest


@pytest.fixture(params=["sync", "async"])
async def vz(request: pytest.FixtureRequest, emulator: EmulatorServer) -> AsyncIterator[Any]:
    """``client.vectorize`` of a sync (wrapped) or async client on the clean emulator."""
    kwargs = emulator.client_kwargs()
    if request.param == "sync":
        client = WorkersAIClient(**kwargs)
        yield _Awaitable(client.vectorize, frozenset({"index"}))
        client.close()
    else:
        aclient = AsyncWorkersAIClient(**kwargs)
        yield aclient.vectorize
        await aclient.aclose()


async def _index(vz: Any, name: str = "docs", dimensions: int = 3, **options: Any) -> Any:
    await vz.create_index(name, dimensions=dimensions)
    made = vz.index(name, **options)
    return await made if asyncio.iscoroutine(made) else made


def _unit(i: int, n: int = 3) -> list[float]:
    return [1.0 if j == i % n else 0.0 for j in range(n)]


async def test_write_then_read_round_trip(vz: Any, emulator: EmulatorServer) -> None:
    idx = await _index(vz)
    mutation = await idx.upsert(
        [
            {"id": "a", "values": [1, 0, 0], "metadata": {"genre": "drama", "year": 1999}},
            {"id": "b", "values": [0, 1, 0], "metadata": {"genre": "comedy", "year": 2005}},
            {"id": "c", "values": [0.9, 0.1, 0], "metadata": {"genre": "drama", "year": 2010}},
        ],
        wait=True,
    )
    assert mutation.count == 3 and len(mutation.batch_ids) == 1
    result = await idx.query([1, 0, 0], top_k=2, return_metadata="all")
    assert [m.id for m in result.matches] == ["a", "c"]
    assert result.matches[0].score == pytest.approx(1.0)
    assert result.matches[0].metadata == {"genre": "drama", "year": 1999}
    got = await idx.get_by_ids(["c", "missing", "a"])
    assert [v.id for v in got] == ["c", "a"]  # the order asked, missing ids left out
    assert got[0].values == pytest.approx((0.9, 0.1, 0.0))
    stats = await idx.stats()
    assert stats.vector_count == 3 and stats.processed_up_to_mutation == mutation.id


async def test_insert_keeps_and_upsert_replaces(vz: Any) -> None:
    idx = await _index(vz)
    await idx.insert([{"id": "a", "values": [1, 0, 0], "metadata": {"v": 1}}], wait=True)
    await idx.insert([{"id": "a", "values": [0, 1, 0], "metadata": {"v": 2}}], wait=True)
    assert (await idx.get_by_ids(["a"]))[0].metadata == {"v": 1}
    await idx.upsert([{"id": "a", "values": [0, 1, 0]}], wait=True)
    stored = (await idx.get_by_ids(["a"]))[0]
    assert stored.metadata == {} and stored.values == pytest.approx((0.0, 1.0, 0.0))


async def test_a_write_is_cut_into_batches_and_waits_for_the_last(
    vz: Any, emulator: EmulatorServer
) -> None:
    idx = await _index(vz)
    vectors = [{"id": f"v{i}", "values": _unit(i)} for i in range(7)]
    mutation = await idx.upsert(vectors, batch_size=3, wait=True)
    assert len(mutation.batch_ids) == 3 and mutation.id == mutation.batch_ids[-1]
    upserts = [r for r in emulator.requests() if r.route.endswith("/upsert")]
    assert [r.body.count(b"\n") if isinstance(r.body, bytes) else None for r in upserts] in (
        [3, 3, 1],
        [None, None, None],
    )
    assert len(upserts) == 3
    assert (await idx.stats()).vector_count == 7


async def test_bad_vectors_are_refused_before_any_write(vz: Any, emulator: EmulatorServer) -> None:
    idx = await _index(vz)
    await idx.stats()  # learn nothing yet: the write asks for the dimensions itself
    before = emulator.request_count()
    with pytest.raises(
        InvalidRequestError, match=r"vectors\[1\] \(id 'b'\): 2 values, but the index has 3"
    ):
        await idx.upsert([{"id": "a", "values": [1, 0, 0]}, {"id": "b", "values": [1, 0]}])
    # one request to learn the dimensions, no write
    assert emulator.request_count() - before == 1
    assert not [r for r in emulator.requests() if r.route.endswith(("/upsert", "/insert"))]


async def test_filters_need_a_metadata_index_and_are_checked_first(
    vz: Any, emulator: EmulatorServer
) -> None:
    idx = await _index(vz)
    await idx.create_metadata_index("genre", "string", wait=True)
    await idx.upsert(
        [
            {"id": "a", "values": [1, 0, 0], "metadata": {"genre": "drama"}},
            {"id": "b", "values": [0.9, 0.1, 0], "metadata": {"genre": "comedy"}},
        ],
        wait=True,
    )
    result = await idx.query([1, 0, 0], filter={"genre": {"$in": ["comedy"]}})
    assert [m.id for m in result.matches] == ["b"]
    queries = len([r for r in emulator.requests() if r.route.endswith("/query")])
    with pytest.raises(FilterError, match="no metadata index on 'year'"):
        await idx.query([1, 0, 0], filter={"year": {"$gte": 2000}})
    with pytest.raises(FilterError, match="indexed as string"):
        await idx.query([1, 0, 0], filter={"genre": 3})
    assert len([r for r in emulator.requests() if r.route.endswith("/query")]) == queries


async def test_a_metadata_index_made_elsewhere_is_found_before_refusing(vz: Any) -> None:
    idx = await _index(vz)
    await idx.metadata_indexes()  # remembers: none
    other = vz.index("docs")
    other = await other if asyncio.iscoroutine(other) else other
    await other.create_metadata_index("genre", "string", wait=True)
    await idx.upsert([{"id": "a", "values": [1, 0, 0], "metadata": {"genre": "x"}}], wait=True)
    result = await idx.query([1, 0, 0], filter={"genre": "x"})
    assert [m.id for m in result.matches] == ["a"]


async def test_namespaces_isolate_queries(vz: Any) -> None:
    idx = await _index(vz)
    await idx.upsert(
        [
            {"id": "a", "values": [1, 0, 0], "namespace": "tenant-1"},
            {"id": "b", "values": [1, 0, 0], "namespace": "tenant-2"},
            {"id": "c", "values": [0.9, 0.1, 0], "namespace": "tenant-2"},
        ],
        wait=True,
    )
    one = await idx.query([1, 0, 0], top_k=5, namespace="tenant-1")
    assert [m.id for m in one.matches] == ["a"]
    two = await idx.query([1, 0, 0], top_k=5, namespace="tenant-2")
    assert [m.id for m in two.matches] == ["b", "c"]
    assert [m.id for m in (await idx.query([1, 0, 0], top_k=5)).matches] == ["a", "b", "c"]


async def test_delete_and_list_every_id_across_pages(vz: Any) -> None:
    idx = await _index(vz)
    await idx.upsert([{"id": f"v{i:02d}", "values": _unit(i)} for i in range(25)], wait=True)
    page = await idx.list_vectors(count=10)
    assert len(page.ids) == 10 and page.is_truncated and page.total_count == 25
    if isinstance(idx, _Awaitable):
        ids = list(idx._target.iter_ids(page_size=10))
    else:
        ids = [i async for i in idx.iter_ids(page_size=10)]
    assert sorted(ids) == [f"v{i:02d}" for i in range(25)]
    assert await idx.delete_by_ids([], wait=True) is None
    deleted = await idx.delete_by_ids([*ids[:20], "never-stored"], wait=True)
    assert deleted.count == 21
    assert (await idx.stats()).vector_count == 5


async def test_get_by_ids_asks_in_chunks_and_keeps_order(vz: Any, emulator: EmulatorServer) -> None:
    idx = await _index(vz)
    ids = [f"id-{i:03d}" for i in range(230)]
    await idx.upsert([{"id": i, "values": _unit(n)} for n, i in enumerate(ids)], wait=True)
    wanted = list(reversed(ids))
    got = await idx.get_by_ids(wanted)
    assert [v.id for v in got] == wanted
    assert len([r for r in emulator.requests() if r.route.endswith("/get_by_ids")]) == 3


async def test_index_management(vz: Any) -> None:
    info = await vz.create_index("emb", model="@cf/baai/bge-base-en-v1.5", description="d")
    assert (info.dimensions, info.metric, info.description) == (768, "cosine", "d")
    with pytest.raises(VectorizeIndexExistsError):
        await vz.create_index("emb", dimensions=768)
    assert (await vz.create_index("emb", dimensions=768, exist_ok=True)).name == "emb"
    with pytest.raises(InvalidRequestError, match="exists with 768 dimensions"):
        await vz.create_index("emb", dimensions=384, exist_ok=True)
    assert [i.name for i in await vz.list_indexes()] == ["emb"]
    await vz.delete_index("emb")
    await vz.delete_index("emb", missing_ok=True)
    with pytest.raises(VectorizeIndexNotFoundError, match="create_index"):
        await vz.get_index("emb")


@pytest.mark.parametrize("lag_ms", [150])
async def test_lagged_write_then_read_is_not_flaky(
    vz: Any, emulator: EmulatorServer, lag_ms: int
) -> None:
    emulator.configure(vectorize_mutation_lag_ms=lag_ms)
    idx = await _index(vz)
    not_waited = await idx.upsert([{"id": "a", "values": [1, 0, 0]}])
    assert (await idx.get_by_ids(["a"])) == []  # eventually consistent: not visible yet
    await idx.wait_for_mutation(not_waited)
    assert [v.id for v in await idx.get_by_ids(["a"])] == ["a"]
    await idx.upsert([{"id": "b", "values": [0, 1, 0]}], wait=True)
    assert [m.id for m in (await idx.query([0, 1, 0], top_k=1)).matches] == ["b"]


async def test_a_wait_that_runs_out_says_so(vz: Any, emulator: EmulatorServer) -> None:
    emulator.configure(vectorize_mutation_lag_ms=60_000)
    idx = await _index(vz, mutation_timeout=0.2)
    mutation = await idx.upsert([{"id": "a", "values": [1, 0, 0]}])
    with pytest.raises(MutationTimeoutError) as caught:
        await idx.wait_for_mutation(mutation)
    assert caught.value.mutation_id == mutation.id and caught.value.index == "docs"


# -- bulk ingest --------------------------------------------------------------------------------
def _fake_embed(
    calls: list[int], fail_on: int | None = None
) -> Callable[[list[str]], list[list[float]]]:
    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        if fail_on is not None and len(calls) == fail_on:
            raise RuntimeError("embedding service down")
        return [[1.0, float(len(t) % 7), float(hash(t) % 5)] for t in texts]

    return embed


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_ten_thousand_documents_ingest_with_progress_and_resume(
    kind: str, emulator: EmulatorServer
) -> None:
    texts = [f"document number {i}" for i in range(10_000)]
    metadatas = [{"n": i} for i in range(10_000)]
    progress: list[IngestProgress] = []
    calls: list[int] = []
    kwargs = {"metadatas": metadatas, "chunk_size": 1000, "on_progress": progress.append}
    if kind == "sync":
        client = WorkersAIClient(**emulator.client_kwargs())
        client.vectorize.create_index("bulk", dimensions=3)
        idx = client.vectorize.index("bulk")
        with pytest.raises(IngestError) as caught:
            ingest(idx, _fake_embed(calls, fail_on=4), texts, **kwargs)
        resumed = ingest(idx, _fake_embed(calls), texts, **kwargs)
        stats = idx.stats()
    else:
        aclient = AsyncWorkersAIClient(**emulator.client_kwargs())
        await aclient.vectorize.create_index("bulk", dimensions=3)
        aidx = aclient.vectorize.index("bulk")
        failing, working = _fake_embed(calls, fail_on=4), _fake_embed(calls)

        async def afail(t: list[str]) -> list[list[float]]:
            return failing(t)

        async def awork(t: list[str]) -> list[list[float]]:
            return working(t)

        with pytest.raises(IngestError) as caught:
            await aingest(aidx, afail, texts, **kwargs)
        resumed = await aingest(aidx, awork, texts, **kwargs)
        stats = await aidx.stats()
    error = caught.value
    assert (error.done, error.total) == (3000, 10_000)
    assert "embedding service down" in str(error) and "Run the same ingest again" in str(error)
    assert [p.done for p in progress[:3]] == [1000, 2000, 3000]
    # the re-run skipped the 3,000 stored documents without embedding them again
    assert (resumed.written, resumed.skipped) == (7000, 3000)
    assert sum(calls[4:]) == 7000
    assert progress[-1] == IngestProgress(10_000, 10_000, 3000, 10, 10)
    assert stats.vector_count == 10_000  # no duplicates
    assert resumed.ids == error.ids and len(set(resumed.ids)) == 10_000


async def test_ensure_metadata_indexes_creates_only_what_is_missing(
    vz: Any, emulator: EmulatorServer
) -> None:
    idx = await _index(vz)
    first = await idx.ensure_metadata_indexes({"genre": "string", "year": "number"})
    assert len(first) == 2
    assert await idx.ensure_metadata_indexes({"genre": "string"}) == []
    names = {m.property_name: m.index_type for m in await idx.metadata_indexes()}
    assert names == {"genre": "string", "year": "number"}
    with pytest.raises(InvalidRequestError, match="string metadata index on 'genre', not number"):
        await idx.ensure_metadata_indexes({"genre": "number"})


async def test_delete_matching_removes_exactly_what_the_filter_matches(
    vz: Any, emulator: EmulatorServer
) -> None:
    emulator.configure(vectorize_mutation_lag_ms=30)
    idx = await _index(vz)
    await idx.ensure_metadata_indexes({"doc": "string"})
    vectors = [
        {"id": f"{doc}-{i}", "values": _unit(i), "metadata": {"doc": doc}}
        for doc in ("keep", "drop")
        for i in range(130)
    ]
    await idx.upsert(vectors, wait=True)
    assert await idx.delete_matching({"doc": "drop"}) == 130
    assert (await idx.stats()).vector_count == 130
    left = await idx.query([1, 0, 0], top_k=100, filter={"doc": "drop"})
    assert left.matches == ()


async def test_delete_all_empties_the_index_or_one_namespace(
    vz: Any, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers_ai.vectorize import client as vectorize_client

    monkeypatch.setattr(vectorize_client, "DELETE_PAGE", 4)
    idx = await _index(vz)
    await idx.upsert(
        [{"id": f"a{i}", "values": _unit(i), "namespace": "one"} for i in range(3)]
        + [{"id": f"b{i}", "values": _unit(i)} for i in range(7)],
        wait=True,
    )
    assert await idx.delete_all(namespace="one") == 3
    assert (await idx.stats()).vector_count == 7
    assert await idx.delete_all() == 7
    assert (await idx.stats()).vector_count == 0
    assert len([r for r in emulator.requests() if r.route.endswith("/delete_by_ids")]) == 3


def test_ingest_into_another_namespace_moves_nothing_silently(emulator: EmulatorServer) -> None:
    client = WorkersAIClient(**emulator.client_kwargs())
    client.vectorize.create_index("ns", dimensions=3)
    idx = client.vectorize.index("ns")
    calls: list[int] = []
    first = ingest(idx, _fake_embed(calls), ["same text"], namespace="one")
    second = ingest(idx, _fake_embed(calls), ["same text"], namespace="two")
    assert first.ids != second.ids  # ids are index-wide: one per namespace
    assert (second.written, second.skipped) == (1, 0)
    assert {v.namespace for v in idx.get_by_ids([*first.ids, *second.ids])} == {"one", "two"}
    again = ingest(idx, _fake_embed(calls), ["same text"], namespace="two")
    assert (again.written, again.skipped) == (0, 1)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_write_that_fails_for_good_stops_the_ingest_at_what_was_stored(
    kind: str, emulator: EmulatorServer
) -> None:
    """The write of a chunk goes out while the next one is embedded: its failure still stops
    the ingest with ``done`` at the last chunk stored, and a re-run stores the rest."""
    from workers_ai.emulator import FaultSpec

    texts = [f"text {i}" for i in range(30)]
    kwargs = {"chunk_size": 10, "skip_existing": True}
    client = WorkersAIClient(**emulator.client_kwargs(), max_retries=0)
    client.vectorize.create_index("bulk", dimensions=3)
    idx = client.vectorize.index("bulk")
    ingest(idx, _fake_embed([]), texts[:10], **kwargs)  # chunk 1 stored beforehand
    emulator.configure(faults=[FaultSpec("server_error", count=1, route="vectorize_upsert")])
    if kind == "sync":
        with pytest.raises(IngestError) as caught:
            ingest(idx, _fake_embed([]), texts, **kwargs)
    else:
        aclient = AsyncWorkersAIClient(**emulator.client_kwargs(), max_retries=0)

        async def embed(t: list[str]) -> list[list[float]]:
            return _fake_embed([])(t)

        with pytest.raises(IngestError) as caught:
            await aingest(aclient.vectorize.index("bulk"), embed, texts, **kwargs)
    assert caught.value.done == 10  # chunk 1 was there; chunk 2's write failed
    assert idx.stats().vector_count == 10
    resumed = ingest(idx, _fake_embed([]), texts, **kwargs)
    assert (resumed.written, resumed.skipped) == (20, 10)
    assert idx.stats().vector_count == 30


# -- found in review: concurrent writers, retries, limits ------------------------------------
def test_waits_hold_when_other_writers_apply_mutations_meanwhile(emulator: EmulatorServer) -> None:
    """Mutation ids are not ordered: when another writer's mutation is applied after ours,
    the info never names ours; the wait then reads the write back instead of timing out."""
    import threading

    emulator.configure(vectorize_mutation_lag_ms=30)
    client = WorkersAIClient(**emulator.client_kwargs())
    client.vectorize.create_index("shared", dimensions=3)
    outcomes: list[str] = []

    def writer(n: int) -> None:
        idx = client.vectorize.index("shared", mutation_timeout=5)
        try:
            idx.upsert([{"id": f"w{n}", "values": _unit(n), "metadata": {"n": n}}], wait=True)
            outcomes.append("ok")
        except MutationTimeoutError:
            outcomes.append("timeout")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["ok"] * 6
    assert client.vectorize.index("shared").stats().vector_count == 6


async def test_concurrent_first_uses_make_each_metadata_index_once(vz: Any) -> None:
    import asyncio as aio

    idx = await _index(vz)
    others = [vz.index("docs") for _ in range(3)]
    handles = [await h if aio.iscoroutine(h) else h for h in others]
    results = await aio.gather(
        idx.ensure_metadata_indexes({"genre": "string"}),
        *(h.ensure_metadata_indexes({"genre": "string"}) for h in handles),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    assert [m.property_name for m in await idx.metadata_indexes()] == ["genre"]


def test_retried_creates_that_landed_are_not_reported_as_conflicts(
    emulator: EmulatorServer,
) -> None:
    from workers_ai.emulator import FaultSpec

    client = WorkersAIClient(**emulator.client_kwargs())
    emulator.configure(faults=[FaultSpec("reset_mid_body", count=1, route="vectorize_create")])
    info = client.vectorize.create_index("fresh", dimensions=3)  # the first answer is lost
    assert info.name == "fresh" and info.dimensions == 3
    idx = client.vectorize.index("fresh")
    emulator.configure(
        faults=[FaultSpec("reset_mid_body", count=1, route="vectorize_metadata_index_create")]
    )
    idx.create_metadata_index("genre", "string", wait=True)
    assert [m.property_name for m in idx.metadata_indexes()] == ["genre"]


def test_more_metadata_indexes_than_vectorize_allows_are_refused_before_any_is_made(
    emulator: EmulatorServer,
) -> None:
    client = WorkersAIClient(**emulator.client_kwargs())
    client.vectorize.create_index("many", dimensions=3)
    idx = client.vectorize.index("many")
    with pytest.raises(InvalidRequestError, match="Vectorize allows 10"):
        idx.ensure_metadata_indexes({f"p{i}": "string" for i in range(11)})
    assert idx.metadata_indexes() == []


def test_numpy_vectors_are_accepted(emulator: EmulatorServer) -> None:
    np = pytest.importorskip("numpy")
    client = WorkersAIClient(**emulator.client_kwargs())
    client.vectorize.create_index("np", dimensions=3)
    idx = client.vectorize.index("np")
    idx.upsert([{"id": "a", "values": np.array([1.0, 0.0, 0.0], dtype=np.float32)}], wait=True)
    assert [m.id for m in idx.query(np.array([1.0, 0.0, 0.0]), top_k=1).matches] == ["a"]
