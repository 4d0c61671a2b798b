"""WorkersAIVectorizeStore against the emulator's Vectorize V2: nodes in, nodes out.

Embeddings here are small hand-made vectors, so every ranking is known; the full pipeline
(VectorStoreIndex, query engine, refresh) with Workers AI embeddings is in
``test_vector_store_rag.py``. Store methods run sync and async (``caller``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from llama_index_workers_ai import WorkersAIVectorizeStore
from tests.support.emulator import adapter_kwargs
from workers_ai import WorkersAIClient
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import (
    ConfigurationError,
    InvalidRequestError,
    VectorizeIndexNotFoundError,
)
from workers_ai.vectorize import FilterError

_ASYNC = {
    "add": "async_add",
    "query": "aquery",
    "delete": "adelete",
    "delete_nodes": "adelete_nodes",
    "get_nodes": "aget_nodes",
    "clear": "aclear",
}


class Caller:
    """Calls a store method sync, or its async twin on one event loop kept for the test."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    def __call__(self, store: WorkersAIVectorizeStore, method: str, *args: Any, **kw: Any) -> Any:
        if self.loop is None:
            return getattr(store, method)(*args, **kw)
        return self.loop.run_until_complete(getattr(store, _ASYNC[method])(*args, **kw))

    def close(self, stores: list[WorkersAIVectorizeStore]) -> None:
        for store in stores:
            store.close()
            if self.loop is not None:
                self.loop.run_until_complete(store.aclose())
        if self.loop is not None:
            self.loop.close()


@pytest.fixture
def stores() -> list[WorkersAIVectorizeStore]:
    return []


@pytest.fixture(params=["sync", "async"])
def caller(
    request: pytest.FixtureRequest, stores: list[WorkersAIVectorizeStore]
) -> Iterator[Caller]:
    made = Caller(request.param)
    yield made
    made.close(stores)


@pytest.fixture
def make_store(emulator: EmulatorServer, stores: list[WorkersAIVectorizeStore]) -> Any:
    def make(**kw: Any) -> WorkersAIVectorizeStore:
        store = WorkersAIVectorizeStore(**{"index_name": "nodes", **adapter_kwargs(emulator), **kw})
        stores.append(store)
        return store

    return make


@pytest.fixture
def lag(emulator: EmulatorServer) -> Iterator[Any]:
    """Set the emulator's Vectorize mutation lag for the test (restored after it)."""
    before = emulator.app.config.vectorize_mutation_lag_ms

    def set_lag(ms: float) -> None:
        emulator.configure(vectorize_mutation_lag_ms=ms)

    yield set_lag
    emulator.configure(vectorize_mutation_lag_ms=before)


def node(
    node_id: str,
    embedding: list[float],
    doc: str | None = None,
    text: str | None = None,
    **meta: Any,
) -> TextNode:
    relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)} if doc else {}
    return TextNode(
        id_=node_id,
        text=text or f"text of {node_id}",
        embedding=embedding,
        metadata=meta,
        relationships=relationships,
    )


def query(embedding: list[float], k: int = 10, **kw: Any) -> VectorStoreQuery:
    return VectorStoreQuery(query_embedding=embedding, similarity_top_k=k, **kw)


def requests(emulator: EmulatorServer, route: str) -> int:
    by_route: dict[str, int] = emulator.stats()["by_route"]
    return sum(n for name, n in by_route.items() if name.endswith(route))


# -- add and query --------------------------------------------------------------------------------
def test_add_then_query_rebuilds_full_nodes(caller: Caller, make_store: Any) -> None:
    store = make_store()
    original = TextNode(
        id_="chunk-1",
        text="Refunds take 5 to 7 business days.",
        embedding=[1.0, 0.0, 0.0, 0.0],
        metadata={"file_name": "refunds.md", "page": 3, "score": 0.5, "note": None, "a.b": "x"},
        excluded_llm_metadata_keys=["page"],
        start_char_idx=10,
        end_char_idx=45,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id="refunds-doc")},
    )
    others = [node("chunk-2", [0.6, 0.8, 0.0, 0.0]), node("chunk-3", [0.0, 0.0, 1.0, 0.0])]
    assert caller(store, "add", [original, *others]) == ["chunk-1", "chunk-2", "chunk-3"]

    result = caller(store, "query", query([1.0, 0.0, 0.0, 0.0], k=2))
    assert result.ids == ["chunk-1", "chunk-2"]
    assert result.similarities == pytest.approx([1.0, 0.6])
    found = result.nodes[0]
    assert found.text == original.text and found.metadata == original.metadata
    assert found.ref_doc_id == "refunds-doc" and found.hash == original.hash
    assert (found.start_char_idx, found.excluded_llm_metadata_keys) == (10, ["page"])


def test_vectors_keep_text_once_and_the_document_keys(make_store: Any, emulator: Any) -> None:
    store = make_store()
    store.add([node("n1", [1.0, 0.0, 0.0], doc="doc-1", tag="a")])
    stored = WorkersAIClient(**emulator.client_kwargs()).vectorize.index("nodes").get_by_ids(["n1"])
    meta = stored[0].metadata
    assert meta["text"] == "text of n1" and "text of n1" not in meta["_node_content"]
    assert meta["ref_doc_id"] == meta["doc_id"] == meta["_ref_doc_key"] == "doc-1"
    assert meta["tag"] == "a"


def test_vectors_written_by_other_tools_read_as_text_nodes(make_store: Any, emulator: Any) -> None:
    client = WorkersAIClient(**emulator.client_kwargs())
    client.vectorize.create_index("shared", dimensions=3)
    client.vectorize.index("shared").upsert(
        [{"id": "lc-1", "values": [1, 0, 0], "metadata": {"text": "from LangChain", "src": "x"}}],
        wait=True,
    )
    result = make_store(index_name="shared").query(query([1.0, 0.0, 0.0], k=1))
    assert result.nodes[0].get_content() == "from LangChain"
    assert result.nodes[0].metadata == {"src": "x"} and result.ids == ["lc-1"]


def test_euclidean_index_gives_relevance_scores(caller: Caller, make_store: Any) -> None:
    store = make_store(metric="euclidean")
    caller(store, "add", [node("near", [1.0, 0.0]), node("far", [0.0, 1.0])])
    result = caller(store, "query", query([1.0, 0.0]))
    assert result.ids == ["near", "far"]
    assert result.similarities[0] == pytest.approx(1.0)
    assert 0.0 <= result.similarities[1] < 0.01  # distance sqrt(2): least relevant


def test_more_than_fifty_results_come_with_their_nodes(caller: Caller, make_store: Any) -> None:
    store = make_store()
    caller(store, "add", [node(f"n{i:02d}", [1.0, i / 100]) for i in range(70)])
    result = caller(store, "query", query([1.0, 0.0], k=60))
    assert result.ids == [f"n{i:02d}" for i in range(60)]
    assert [n.get_content() for n in result.nodes][:2] == ["text of n00", "text of n01"]


def test_mmr_trades_similarity_for_diversity(caller: Caller, make_store: Any) -> None:
    store = make_store()
    nodes = [node("a", [1.0, 0.1, 0.0]), node("a2", [1.0, 0.12, 0.0]), node("b", [0.7, 0.0, 0.7])]
    caller(store, "add", nodes)
    plain = caller(store, "query", query([1.0, 0.0, 0.0], k=2))
    mmr = caller(
        store,
        "query",
        query([1.0, 0.0, 0.0], k=2, mode=VectorStoreQueryMode.MMR, mmr_threshold=0.3),
    )
    assert plain.ids == ["a", "a2"]
    assert mmr.ids == ["a", "b"] and len(mmr.nodes) == 2


def test_node_ids_restrict_the_search(caller: Caller, make_store: Any) -> None:
    store = make_store()
    caller(store, "add", [node("x", [1.0, 0.0]), node("y", [0.8, 0.6]), node("z", [0.0, 1.0])])
    result = caller(store, "query", query([1.0, 0.0], node_ids=["z", "y", "missing"]))
    assert result.ids == ["y", "z"]
    assert result.similarities == pytest.approx([0.8, 0.0])


def test_unsupported_query_modes_are_refused(make_store: Any) -> None:
    store = make_store()
    with pytest.raises(InvalidRequestError, match="hybrid"):
        store.query(query([1.0], mode=VectorStoreQueryMode.HYBRID))
    with pytest.raises(InvalidRequestError, match="query_embedding"):
        store.query(VectorStoreQuery(query_str="refunds"))


# -- filters --------------------------------------------------------------------------------------
YEARS = {f"n{year}": year for year in range(2020, 2026)}


def _filter(key: str, op: str, value: Any) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, operator=op, value=value)])


FILTER_CASES = [
    ("eq", _filter("year", "==", 2022), ["n2022"]),
    ("ne", _filter("year", "!=", 2022), ["n2020", "n2021", "n2023", "n2024", "n2025"]),
    ("gt", _filter("year", ">", 2023), ["n2024", "n2025"]),
    ("gte", _filter("year", ">=", 2023), ["n2023", "n2024", "n2025"]),
    ("lt", _filter("year", "<", 2022), ["n2020", "n2021"]),
    ("lte", _filter("year", "<=", 2021), ["n2020", "n2021"]),
    ("in", _filter("tag", "in", ["even", "none"]), ["n2020", "n2022", "n2024"]),
    ("nin", _filter("tag", "nin", ["even"]), ["n2021", "n2023", "n2025"]),
    (
        "and",
        MetadataFilters(
            filters=[
                MetadataFilter(key="year", operator=FilterOperator.GTE, value=2021),
                MetadataFilter(key="year", operator=FilterOperator.LT, value=2024),
                MetadataFilter(key="tag", value="odd"),
            ]
        ),
        ["n2021", "n2023"],
    ),
    (
        "or-one-key",
        MetadataFilters(
            filters=[
                MetadataFilter(key="year", value=2020),
                MetadataFilter(key="year", value=2025),
            ],
            condition=FilterCondition.OR,
        ),
        ["n2020", "n2025"],
    ),
    ("doc-id", _filter("doc_id", "==", "doc-2021"), ["n2021"]),
    ("ref-doc-ids", _filter("ref_doc_id", "in", ["doc-2020", "doc-2024"]), ["n2020", "n2024"]),
]


@pytest.mark.parametrize(
    ("name", "filters", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
)
def test_metadata_filters(
    caller: Caller, make_store: Any, name: str, filters: MetadataFilters, expected: list[str]
) -> None:
    store = make_store(metadata_indexes={"year": "number", "tag": "string"})
    caller(
        store,
        "add",
        [
            node(
                nid,
                [1.0, (year - 2020) / 10],
                doc=f"doc-{year}",
                year=year,
                tag="even" if year % 2 == 0 else "odd",
            )
            for nid, year in YEARS.items()
        ],
    )
    result = caller(store, "query", query([1.0, 0.0], filters=filters))
    assert result.ids == expected
    assert all(n.metadata["year"] in [YEARS[i] for i in expected] for n in result.nodes)


def test_doc_ids_restrict_the_query(caller: Caller, make_store: Any) -> None:
    store = make_store()
    nodes = [node(f"n{i}", [1.0, i / 10], doc=f"doc-{i % 3}") for i in range(6)]
    caller(store, "add", nodes)
    result = caller(store, "query", query([1.0, 0.0], doc_ids=["doc-1", "doc-2"]))
    assert result.ids == ["n1", "n2", "n4", "n5"]


REFUSED = [
    (
        "or-across-keys",
        MetadataFilters(
            filters=[
                MetadataFilter(key="year", value=2020),
                MetadataFilter(key="tag", value="odd"),
            ],
            condition=FilterCondition.OR,
        ),
        r"no OR.*'year', 'tag'",
    ),
    (
        "not",
        MetadataFilters(filters=[MetadataFilter(key="tag", value="odd")], condition="not"),
        r"NOT \(on 'tag'\)",
    ),
    ("contains", _filter("tags", "contains", "x"), r"'tags'.*'contains'"),
    ("text-match", _filter("title", "text_match", "ref"), r"'title'.*'text_match'"),
    ("any", _filter("tags", "any", ["x"]), r"'tags'.*'any'"),
    ("is-empty", _filter("tags", "is_empty", None), r"'tags'.*'is_empty'"),
]


@pytest.mark.parametrize(("name", "filters", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_inexpressible_filters_are_refused_before_querying(
    make_store: Any, emulator: EmulatorServer, name: str, filters: MetadataFilters, message: str
) -> None:
    store = make_store(metadata_indexes={"year": "number", "tag": "string"})
    store.add([node("n1", [1.0, 0.0], year=2020, tag="odd")])
    with pytest.raises(FilterError, match=message):
        store.query(query([1.0, 0.0], filters=filters))
    assert requests(emulator, "/query") == 0


def test_filter_on_a_key_without_metadata_index_says_how_to_fix(make_store: Any) -> None:
    store = make_store()
    store.add([node("n1", [1.0, 0.0], year=2020)])
    with pytest.raises(FilterError, match="no metadata index on 'year'"):
        store.query(query([1.0, 0.0], filters=_filter("year", "==", 2020)))


# -- delete, get, clear ---------------------------------------------------------------------------
#: Two document ids with the same first 64 bytes: Vectorize indexes only those of a string.
LONG_A = "/home/user/projects/company/knowledge-base/engineering/handbook/" + "refunds.md"
LONG_B = "/home/user/projects/company/knowledge-base/engineering/handbook/" + "shipping.md"


def test_delete_removes_exactly_one_documents_nodes(caller: Caller, make_store: Any) -> None:
    store = make_store()
    nodes = [node(f"a{i:03d}", [1.0, i / 1000], doc=LONG_A) for i in range(130)]
    nodes += [node(f"b{i}", [0.5, i / 10], doc=LONG_B) for i in range(4)]
    nodes += [node(f"c{i}", [0.2, i / 10], doc="short-doc") for i in range(3)]
    caller(store, "add", nodes)

    caller(store, "delete", LONG_A)  # 130 nodes: more than one query's worth
    left = caller(store, "get_nodes")
    assert sorted(n.node_id for n in left) == ["b0", "b1", "b2", "b3", "c0", "c1", "c2"]
    caller(store, "delete", "short-doc")
    assert sorted(n.node_id for n in caller(store, "get_nodes")) == ["b0", "b1", "b2", "b3"]


def test_get_nodes_by_ids_filters_or_all(caller: Caller, make_store: Any) -> None:
    store = make_store(metadata_indexes={"tag": "string"})
    caller(store, "add", [node(f"n{i}", [1.0, i / 10], tag=f"t{i % 2}") for i in range(5)])
    by_ids = caller(store, "get_nodes", ["n3", "nope", "n1"])
    assert [n.node_id for n in by_ids] == ["n3", "n1"]
    assert by_ids[0].get_content() == "text of n3"
    by_filter = caller(store, "get_nodes", filters=_filter("tag", "==", "t1"))
    assert sorted(n.node_id for n in by_filter) == ["n1", "n3"]
    both = caller(store, "get_nodes", ["n1", "n2"], _filter("tag", "==", "t0"))
    assert [n.node_id for n in both] == ["n2"]
    assert sorted(n.node_id for n in caller(store, "get_nodes")) == [f"n{i}" for i in range(5)]


def test_delete_nodes_by_ids_and_by_filters(caller: Caller, make_store: Any) -> None:
    store = make_store(metadata_indexes={"tag": "string"})
    caller(store, "add", [node(f"n{i}", [1.0, i / 10], tag=f"t{i % 3}") for i in range(6)])
    caller(store, "delete_nodes", ["n0", "missing"])
    caller(store, "delete_nodes", filters=_filter("tag", "==", "t1"))
    caller(store, "delete_nodes", ["n2", "n5"], _filter("tag", "==", "t2"))
    assert sorted(n.node_id for n in caller(store, "get_nodes")) == ["n3"]
    with pytest.raises(InvalidRequestError, match="clear"):
        caller(store, "delete_nodes")


def test_clear_deletes_every_node(caller: Caller, make_store: Any) -> None:
    store = make_store()
    caller(store, "add", [node(f"n{i}", [1.0, i / 10]) for i in range(12)])
    caller(store, "clear")
    assert caller(store, "get_nodes") == []
    assert caller(store, "query", query([1.0, 0.0])).ids == []


def test_namespaces_keep_stores_apart(caller: Caller, make_store: Any) -> None:
    blue, red = make_store(namespace="blue"), make_store(namespace="red")
    caller(blue, "add", [node("b1", [1.0, 0.0], doc="d"), node("b2", [0.9, 0.1], doc="d")])
    caller(red, "add", [node("r1", [1.0, 0.0], doc="d")])
    assert caller(blue, "query", query([1.0, 0.0])).ids == ["b1", "b2"]
    caller(red, "delete", "d")
    caller(blue, "clear")
    assert caller(red, "get_nodes") == [] and caller(blue, "get_nodes") == []
    caller(red, "add", [node("r2", [1.0, 0.0])])
    caller(blue, "clear")
    assert [n.node_id for n in caller(red, "get_nodes")] == ["r2"]


# -- mutation lag (eventual consistency) ----------------------------------------------------------
def test_writes_wait_until_vectorize_applied_them(
    caller: Caller, make_store: Any, lag: Any
) -> None:
    lag(150)
    store = make_store()
    caller(store, "add", [node(f"n{i}", [1.0, i / 10], doc=f"d{i % 2}") for i in range(8)])
    assert len(caller(store, "query", query([1.0, 0.0])).ids) == 8
    caller(store, "delete", "d0")
    assert sorted(n.node_id for n in caller(store, "get_nodes")) == ["n1", "n3", "n5", "n7"]
    caller(store, "delete_nodes", ["n1"])
    caller(store, "add", [node("late", [0.0, 1.0])])
    assert sorted(caller(store, "query", query([1.0, 0.0])).ids) == ["late", "n3", "n5", "n7"]


def test_without_waiting_a_read_can_miss_the_write(make_store: Any, lag: Any) -> None:
    lag(0)  # (the suite may run with a lag: this first write must apply at once)
    store = make_store(wait_for_mutations=False)
    store.add([node("n0", [1.0, 0.0])])  # the index and its metadata index, applied at once
    lag(10_000)  # far longer than the test: the next write cannot have been applied yet
    store.add([node("n1", [1.0, 0.0])])
    assert [n.node_id for n in store.get_nodes(["n0", "n1"])] == ["n0"]


# -- checks before any request --------------------------------------------------------------------
def test_too_large_node_is_refused_before_any_request(
    make_store: Any, emulator: EmulatorServer
) -> None:
    store = make_store()
    big = node("big-chunk", [1.0, 0.0], text="word " * 2500)
    with pytest.raises(InvalidRequestError, match=r"node 'big-chunk' \(nodes\[1\]\).*chunk_size"):
        store.add([node("ok", [1.0, 0.0]), big])
    with pytest.raises(InvalidRequestError, match="64"):
        store.add([node("x" * 65, [1.0, 0.0])])
    with pytest.raises(InvalidRequestError, match="no embedding"):
        store.add([TextNode(id_="bare", text="no vector")])
    with pytest.raises(InvalidRequestError, match="'text'"):
        store.add(
            [TextNode(id_="clash", text="body", embedding=[1.0, 0.0], metadata={"text": "x"})]
        )
    assert emulator.stats()["requests"] == 0


def test_settings_are_checked_without_io(emulator: EmulatorServer) -> None:
    kw = adapter_kwargs(emulator)
    with pytest.raises(ConfigurationError, match="namespace"):
        WorkersAIVectorizeStore(index_name="i", namespace="n" * 65, **kw)
    with pytest.raises(ConfigurationError, match="index_name"):
        WorkersAIVectorizeStore(index_name="a/b", **kw)
    with pytest.raises(ConfigurationError, match="10"):
        WorkersAIVectorizeStore(
            index_name="i", metadata_indexes={f"k{i}": "string" for i in range(10)}, **kw
        )
    assert emulator.stats()["requests"] == 0


def test_existing_index_of_another_metric_or_missing_index(
    make_store: Any, emulator: EmulatorServer
) -> None:
    vectorize = WorkersAIClient(**emulator.client_kwargs()).vectorize
    vectorize.create_index("dots", dimensions=2, metric="dot-product")
    with pytest.raises(ConfigurationError, match="dot-product"):
        make_store(index_name="dots", metric="cosine").add([node("n", [1.0, 0.0])])
    with pytest.raises(VectorizeIndexNotFoundError):
        make_store(index_name="absent", create_index=False).add([node("n", [1.0, 0.0])])
    with pytest.raises(VectorizeIndexNotFoundError):
        make_store(index_name="absent").query(query([1.0, 0.0]))


def test_a_namespaced_store_does_not_touch_other_namespaces_vectors(
    make_store: Any, emulator: EmulatorServer
) -> None:
    """Ids are index-wide: a vector of no (or another) namespace is not a tenant's, even by id."""
    shared = make_store()
    shared.add([node("shared-doc", [1.0, 0.0])])
    tenant = make_store(namespace="tenant-b")
    tenant.add([node("b-doc", [1.0, 0.0])])
    assert [n.node_id for n in tenant.get_nodes(["shared-doc", "b-doc"])] == ["b-doc"]
    tenant.delete_nodes(["shared-doc"])
    assert [n.node_id for n in shared.get_nodes(["shared-doc"])] == ["shared-doc"]
