"""The Vectorize core's pure parts: filters, request checks, batching, answers, waits, errors.

Examples marked "verbatim" are the platform spec's (§2), copied field for field.
"""

from __future__ import annotations

import json
import pickle
from array import array

import pytest

from workers_ai.envelope import status_error_from_response
from workers_ai.errors import (
    BadRequestError,
    InvalidRequestError,
    MutationTimeoutError,
    VectorizeIndexExistsError,
    VectorizeIndexNotFoundError,
)
from workers_ai.retry import is_retryable
from workers_ai.vectorize import Condition, FilterError, Group, build_filter, check_filter, wire
from workers_ai.vectorize.ingest import document_id, plan_documents
from workers_ai.vectorize.mutations import MutationWait, accepted_at
from workers_ai.vectorize.types import IndexStats, Mutation, Vector, relevance

# -- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec_filter",
    [
        {"streaming_platform": "netflix"},  # verbatim, implicit $eq
        {"someKey": {"$in": ["hbo", "netflix"]}},  # verbatim
        {"timestamp": {"$gte": 1734242400, "$lt": 1734328800}},  # verbatim
        {"someKey": {"$gte": "net", "$lt": "neu"}},  # verbatim prefix search
        {"pandas.nice": 42},  # verbatim nesting
        {"a": None, "b": True, "c": {"$ne": 1.5}, "d": {"$nin": ["x", None]}},
    ],
)
def test_documented_filters_pass_unchanged(spec_filter: dict) -> None:
    assert check_filter(spec_filter) == spec_filter


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({}, "non-empty"),
        ({"$or": [{"a": 1}]}, "'$or'"),
        ({"a": {"$like": "x"}}, "unknown operator '$like'"),
        ({"a": {"$eq": 1, "$ne": 2}}, "one operator per key"),
        ({"a": {"$gt": 1, "$gte": 2}}, "one upper"),
        ({"a": {"$in": 1}}, "non-empty list"),
        ({"a": {"$in": []}}, "non-empty list"),
        ({"a": {"$in": [[1]]}}, "[1] is not"),
        ({"a": {"$lt": True}}, "finite number"),
        ({"a": {"$gt": float("nan")}}, "finite number"),
        ({"a": [1, 2]}, "use $in"),
        ({"a": {"$gte": "a", "$lt": 3}}, "both be strings or both numbers"),
        ({'qu"ote': 1}, "contains"),
        ({"": 1}, "non-empty"),
        ({"k" * 513: 1}, "over 512"),
        ({"a": {}}, "empty operator"),
    ],
)
def test_bad_filters_are_refused_naming_the_problem(bad: dict, words: str) -> None:
    with pytest.raises(FilterError) as caught:
        check_filter(bad)
    assert words in str(caught.value)
    assert isinstance(caught.value, InvalidRequestError)


def test_a_filter_of_2048_bytes_or_more_is_refused() -> None:
    values = [f"value-{i:04d}" for i in range(200)]
    with pytest.raises(FilterError, match="under 2048"):
        check_filter({"k": {"$in": values}})


def test_a_property_without_a_metadata_index_is_named_before_the_query() -> None:
    with pytest.raises(FilterError) as caught:
        check_filter({"section": "intro"}, indexed={"genre": "string"})
    assert caught.value.key == "section"
    assert "create_metadata_index('section'" in str(caught.value)
    assert "it has: genre" in str(caught.value)


def test_a_value_of_another_type_than_the_metadata_index_is_refused() -> None:
    with pytest.raises(FilterError, match="indexed as number"):
        check_filter({"year": {"$gte": "2020"}}, indexed={"year": "Number"})
    assert check_filter({"year": {"$gte": 2020}}, indexed={"year": "Number"})
    assert check_filter({"year": None}, indexed={"year": "number"}) == {"year": None}


def test_build_filter_ands_keys_and_merges_a_range() -> None:
    tree = Group(
        "and",
        [
            Condition("genre", "$eq", "drama"),
            Condition("year", "$gte", 2000),
            Condition("year", "$lt", 2010),
        ],
    )
    assert build_filter(tree) == {"genre": "drama", "year": {"$gte": 2000, "$lt": 2010}}


def test_build_filter_sends_an_or_of_one_key_as_in_keeping_order_and_types() -> None:
    tree = Group(
        "or",
        [Condition("k", "$eq", "a"), Condition("k", "$in", ["b", "a"]), Condition("k", "$eq", 1)],
    )
    assert build_filter(tree) == {"k": {"$in": ["a", "b", 1]}}
    # True == 1 in Python, but they are different filter values
    tree = Group("or", [Condition("k", "$eq", 1), Condition("k", "$eq", True)])
    assert build_filter(tree) == {"k": {"$in": [1, True]}}


@pytest.mark.parametrize(
    "tree",
    [
        Group("or", [Condition("a", "$eq", 1), Condition("b", "$eq", 2)]),
        Group("or", [Condition("a", "$gt", 1), Condition("a", "$eq", 0)]),
        Group(
            "or",
            [
                Group("and", [Condition("a", "$eq", 1), Condition("b", "$eq", 1)]),
                Condition("a", "$eq", 2),
            ],
        ),
    ],
)
def test_build_filter_refuses_what_vectorize_cannot_express(tree: Group) -> None:
    with pytest.raises(FilterError, match="OR") as caught:
        build_filter(tree)
    assert "'a'" in str(caught.value)  # the keys involved are named


def test_build_filter_refuses_two_different_values_for_one_operator() -> None:
    tree = Group("and", [Condition("a", "$gt", 1), Condition("a", "$gt", 2)])
    with pytest.raises(FilterError, match="two \\$gt"):
        build_filter(tree)


def test_an_empty_tree_is_no_filter() -> None:
    assert build_filter(Group("and", [])) is None
    assert build_filter(Group("or", [Group("and", [])])) is None


# -- vectors ----------------------------------------------------------------------------------
def test_the_verbatim_ndjson_lines_encode_one_vector_per_line() -> None:
    vectors = [
        {
            "id": "4444",
            "values": [175.1, 167.1, 129.9],
            "metadata": {"url": "/products/sku/918318313"},
        },
        {
            "id": "5555",
            "values": [158.8, 116.7, 311.4],
            "metadata": {"url": "/products/sku/183183183"},
        },
    ]
    lines = wire.encode_vectors(vectors, 3)
    sent = [json.loads(line) for line in lines]
    assert [(v["id"], v["metadata"]) for v in sent] == [(v["id"], v["metadata"]) for v in vectors]
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    # values go as the float32 Vectorize stores (9 significant digits: that float32 exactly)
    for got, want in zip(sent, vectors, strict=True):
        assert array("f", got["values"]) == array("f", want["values"])
        assert got["values"] == pytest.approx(want["values"], rel=1e-7)


def test_values_keep_their_float32_exactly_and_tiny_or_huge_numbers_stay_json() -> None:
    import random

    rng = random.Random(7)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-40, 38) for _ in range(2000)]
    values += [0.0, -0.0, 1, -3, 3.4028234e38, 1.4e-45]
    line = wire.encode_vectors([{"id": "v", "values": values}], len(values))[0]
    assert array("f", json.loads(line)["values"]) == array("f", values)


@pytest.mark.parametrize(
    ("vector", "words"),
    [
        ({"id": "a", "values": [1.0, 2.0]}, "2 values, but the index has 3 dimensions"),
        ({"id": "", "values": [1, 2, 3]}, "non-empty string"),
        ({"id": "é" * 33, "values": [1, 2, 3]}, "66 bytes"),
        ({"id": "a", "values": [1, float("inf"), 3]}, "values[1]"),
        ({"id": "a", "values": [1, 1e39, 3]}, "float32"),
        ({"id": "a", "values": [1, True, 3]}, "values[1]"),
        ({"id": "a", "values": [1, 2, 3], "metadata": {"a.b": 1}}, "'a.b' is not allowed"),
        ({"id": "a", "values": [1, 2, 3], "metadata": {"$x": 1}}, "'$x' is not allowed"),
        ({"id": "a", "values": [1, 2, 3], "metadata": {"x": [1, 2]}}, "not storable"),
        ({"id": "a", "values": [1, 2, 3], "metadata": {"x": {"y": {"z": 1}}}}, "not storable"),
        ({"id": "a", "values": [1, 2, 3], "metadata": {"t": "x" * 10_300}}, "10,240"),
        ({"id": "a", "values": [1, 2, 3], "extra": 1}, "unknown vector fields"),
        ({"id": "a", "values": [1, 2, 3], "namespace": "n" * 65}, "over 64 bytes"),
    ],
)
def test_a_bad_vector_is_named_before_anything_is_sent(vector: dict, words: str) -> None:
    good = {"id": "ok", "values": [0.0, 0.0, 1.0]}
    with pytest.raises(InvalidRequestError) as caught:
        wire.encode_vectors([good, vector], 3)
    assert "vectors[1]" in str(caught.value)
    assert words in str(caught.value)
    if vector["id"]:
        assert repr(vector["id"]) in str(caught.value)  # the vector is named by its id too


def test_an_id_given_twice_in_one_write_is_refused() -> None:
    vectors = [Vector("a", [1.0]), Vector("b", [1.0]), Vector("a", [2.0])]
    with pytest.raises(InvalidRequestError, match="also vectors\\[0\\]"):
        wire.encode_vectors(vectors, 1)
    # ids are unique across an index's namespaces: one write cannot hold both
    with pytest.raises(InvalidRequestError, match="across an index's namespaces"):
        wire.encode_vectors([Vector("a", [1.0], namespace="x"), Vector("a", [1.0])], 1)


def test_metadata_may_nest_one_level_and_hold_string_lists() -> None:
    meta = {"pandas": {"nice": 42}, "tags": ["a", "b"], "ok": True}
    assert json.loads(wire.encode_vectors([Vector("a", [1.0], meta)], 1)[0])["metadata"] == meta


def test_batches_stay_within_the_count_and_upload_limits() -> None:
    lines = [b"x" * 10 + b"\n"] * 12_001
    assert wire.plan_batches(lines, 5000) == [(0, 5000), (5000, 10000), (10000, 12001)]
    big = [b"y" * 30_000_000] * 4
    assert wire.plan_batches(big, 5000) == [(0, 3), (3, 4)]
    with pytest.raises(InvalidRequestError, match="1 to 5000"):
        wire.plan_batches(lines, 5001)


@pytest.mark.parametrize(
    ("kwargs", "limit"),
    [
        ({"return_values": False, "return_metadata": "none"}, 100),
        ({"return_values": False, "return_metadata": "indexed"}, 100),
        ({"return_values": True, "return_metadata": "none"}, 50),
        ({"return_values": False, "return_metadata": "all"}, 50),
    ],
)
def test_top_k_limits_follow_what_is_returned(kwargs: dict, limit: int) -> None:
    common = {"filter": None, "namespace": None, "dimensions": 2, "indexed": None}
    body = wire.query_body([0.1, 0.2], top_k=limit, **kwargs, **common)
    assert body["topK"] == limit
    with pytest.raises(InvalidRequestError, match=f"from 1 to {limit}"):
        wire.query_body([0.1, 0.2], top_k=limit + 1, **kwargs, **common)


def test_the_query_body_is_the_verbatim_rest_shape() -> None:
    body = wire.query_body(
        [54.8, 5.5, 3.1], top_k=3, return_values=True, return_metadata="all",
        filter={"streaming_platform": "netflix"}, namespace=None, dimensions=3, indexed=None,
    )  # fmt: skip
    assert body == {
        "vector": [54.8, 5.5, 3.1],
        "topK": 3,
        "returnValues": True,
        "returnMetadata": "all",
        "filter": {"streaming_platform": "netflix"},
    }
    # the binding's boolean returnMetadata is mapped as the binding maps it (spec §2.10)
    common = {"top_k": 1, "return_values": False, "filter": None, "namespace": "ns"}
    assert (
        wire.query_body([1.0], return_metadata=True, dimensions=None, indexed=None, **common)[
            "returnMetadata"
        ]
        == "all"
    )


def test_index_names_are_checked_like_path_segments() -> None:
    for bad in ("", "..", "a/b", "a b", "x" * 65):
        with pytest.raises(InvalidRequestError):
            wire.check_index_name(bad)
    assert wire.check_index_name("tutorial-index") == "tutorial-index"


def test_create_index_takes_dimensions_or_a_preset() -> None:
    body = wire.create_index_body("tutorial-index", 1024, "cosine", "A Test Vectorize Index", None)
    assert body == {  # verbatim request
        "name": "tutorial-index",
        "description": "A Test Vectorize Index",
        "config": {"dimensions": 1024, "metric": "cosine"},
    }
    preset = wire.create_index_body("p", None, "cosine", None, "@cf/baai/bge-small-en-v1.5")
    assert preset["config"] == {"preset": "@cf/baai/bge-small-en-v1.5"}
    with pytest.raises(InvalidRequestError, match="between 1 and 1536"):
        wire.create_index_body("x", 1537, "cosine", None, None)
    with pytest.raises(InvalidRequestError, match="metric must be"):
        wire.create_index_body("x", 8, "l2", None, None)
    with pytest.raises(InvalidRequestError, match="model=<an embedding model>"):
        wire.create_index_body("x", None, "cosine", None, None)


# -- answers ----------------------------------------------------------------------------------
def test_the_verbatim_query_result_is_read() -> None:
    result = wire.parse_query(
        {
            "count": 2,
            "matches": [
                {"id": "4", "score": 0.789848214,
                 "values": [75.0999984741211, 67.0999984741211, 29.899999618530273],
                 "metadata": {"url": "/products/sku/418313", "streaming_platform": "netflix"}},
                {"id": "1", "score": 0.491185264,
                 "values": [32.400001525878906, 74.0999984741211, 3.200000047683716],
                 "metadata": {"url": "/products/sku/13913913", "streaming_platform": "netflix"}},
            ],
        }
    )  # fmt: skip
    assert [m.id for m in result.matches] == ["4", "1"]
    assert result.matches[0].values[0] == pytest.approx(75.1, abs=1e-5)
    assert result.matches[1].metadata["url"] == "/products/sku/13913913"


def test_the_documented_index_info_and_list_shapes_are_read() -> None:
    info = wire.parse_index(
        {"created_on": "2025-05-13T05:38:04.487284Z",
         "modified_on": "2025-05-13T05:38:04.487284Z",
         "name": "test-langchain-5c177bb404f74d438c916462ad73d27a",
         "description": "A Test Vectorize Index",
         "config": {"dimensions": 1024, "metric": "cosine"}}
    )  # fmt: skip
    assert (info.dimensions, info.metric, info.description) == (
        1024,
        "cosine",
        "A Test Vectorize Index",
    )
    stats = wire.parse_stats({"dimensions": 1024, "vectorCount": 0})
    assert stats == IndexStats(1024, 0, None, None)
    page = wire.parse_page(
        {"count": 2, "totalCount": 5, "isTruncated": True, "nextCursor": "c2",
         "cursorExpirationTimestamp": "2025-08-26T00:00:00Z", "vectors": [{"id": "a"}, {"id": "b"}]}
    )  # fmt: skip
    assert (page.ids, page.total_count, page.next_cursor) == (("a", "b"), 5, "c2")
    indexes = wire.parse_metadata_indexes(
        {"metadataIndexes": [{"propertyName": "section", "indexType": "String"}]}
    )
    assert indexes[0].index_type == "string"  # observed capitalised; compared lowercase


@pytest.mark.parametrize(
    ("parser", "data"),
    [
        (wire.parse_query, {"matches": [{"score": 1}]}),
        (wire.parse_query, {"matches": [{"id": "a", "score": "high"}]}),
        (wire.parse_query, []),
        (wire.parse_mutation, {"mutation": "x"}),
        (wire.parse_index, {"config": {}}),
        (wire.parse_vectors, {"id": "a"}),
    ],
)
def test_answers_of_the_wrong_shape_are_response_errors(parser, data) -> None:  # type: ignore[no-untyped-def]
    from workers_ai.errors import APIResponseValidationError

    with pytest.raises(APIResponseValidationError, match="Vectorize answered"):
        parser(data)


# -- mutation waits ---------------------------------------------------------------------------
def test_a_mutation_is_applied_when_info_names_it() -> None:
    wait = MutationWait("idx", Mutation("m2"), 10.0)
    assert not wait.applied(IndexStats(3, 1, "m1", "2026-11-30T10:00:00Z"))
    assert wait.applied(IndexStats(3, 2, "m2", "2026-11-30T10:00:01Z"))


def test_a_later_processed_time_means_an_earlier_mutation_was_applied() -> None:
    accepted = accepted_at("Mon, 30 Nov 2026 10:00:00 GMT")
    assert accepted == "2026-11-30T10:00:00+00:00"
    wait = MutationWait("idx", Mutation("mine", accepted_at=accepted), 10.0)
    # another writer's mutation processed within the same second: not yet certain
    assert not wait.applied(IndexStats(3, 1, "theirs", "2026-11-30T10:00:00.900Z"))
    assert wait.applied(IndexStats(3, 1, "theirs", "2026-11-30T10:00:01.000Z"))
    assert accepted_at("not a date") is None and accepted_at(None) is None


def test_waits_grow_and_never_overrun_the_timeout() -> None:
    wait = MutationWait("idx", Mutation("m"), 1.0)
    delays, elapsed = [], 0.0
    with pytest.raises(MutationTimeoutError) as caught:
        while True:
            delay = wait.next_delay(elapsed)
            delays.append(delay)
            elapsed += delay
    assert delays[:3] == [0.05, 0.1, 0.2]
    assert sum(delays) == pytest.approx(1.0)
    error = caught.value
    assert (error.index, error.mutation_id) == ("idx", "m")
    assert "wait_for_mutation" in str(error)
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.mutation_id, clone.waited) == ("m", error.waited)


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [400, 404])
def test_index_not_found_is_typed_whatever_the_status(status: int) -> None:
    body = {  # verbatim (observed)
        "success": False,
        "errors": [
            {
                "code": 3000,
                "message": 'vectorize.index.not_found - Index name "savia-pages-search-preview"',
            }
        ],
    }
    error = status_error_from_response(status, {}, json.dumps(body).encode(), service="vectorize")
    assert isinstance(error, VectorizeIndexNotFoundError)
    assert error.code == 3000
    assert "savia-pages-search-preview" in str(error) and "create_index" in str(error)
    assert not is_retryable(error)
    # Vectorize's meaning of 3000 is Vectorize's: elsewhere the status decides
    other = status_error_from_response(500, {}, json.dumps(body).encode())
    assert not isinstance(other, VectorizeIndexNotFoundError) and is_retryable(other)


def test_an_existing_index_name_is_a_conflict_that_is_not_retried() -> None:
    body = {
        "success": False,
        "errors": [{"code": 3002, "message": 'vectorize.index.duplicate_name - Index name "x"'}],
    }
    error = status_error_from_response(409, {}, json.dumps(body).encode(), service="vectorize")
    assert isinstance(error, VectorizeIndexExistsError)
    assert not is_retryable(error)
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone, VectorizeIndexExistsError) and clone.code == 3002


def test_the_top_k_error_says_what_to_change() -> None:
    message = "with returnValues=true or returnMetadata=all, max top K is 50, but got 100"
    body = {"success": False, "errors": [{"code": 40025, "message": message}]}
    error = status_error_from_response(400, {}, json.dumps(body).encode(), service="vectorize")
    assert isinstance(error, BadRequestError)
    assert "Lower top_k" in str(error)


# -- relevance and ingest planning -------------------------------------------------------------
def test_relevance_is_one_for_identical_and_ordered_per_metric() -> None:
    assert relevance(1.0, "cosine") == 1.0 and relevance(-1.0, "cosine") == 0.0
    assert relevance(0.0, "euclidean") == 1.0
    assert relevance(0.1, "euclidean") > relevance(0.5, "euclidean")
    assert relevance(-1.0, "dot-product") == 1.0
    assert relevance(-0.9, "dot-product") > relevance(-0.2, "dot-product")


def test_document_ids_are_deterministic_and_fit_the_id_limit() -> None:
    a = document_id("hello", {"k": 1})
    assert a == document_id("hello", {"k": 1}) != document_id("hello", {"k": 2})
    assert len(a.encode()) == 64
    assert document_id("hello", {"k": 1}, "ns") != a  # ids are unique across namespaces
    assert document_id("hello", {"k": 1}, None) == a
    import datetime

    with pytest.raises(InvalidRequestError, match=r"'when' = datetime\.date"):
        document_id("hello", {"when": datetime.date(2024, 1, 1)})


def test_ingest_checks_every_document_before_any_request() -> None:
    plan = plan_documents(["a", "b"], ids=None, metadatas=[{"k": 1}, None], text_key="text")
    assert plan.metadatas == [{"k": 1, "text": "a"}, {"text": "b"}]
    with pytest.raises(InvalidRequestError, match=r"document 1 .*10,240"):
        plan_documents(["a", "x" * 11_000], ids=None, metadatas=None, text_key="text")
    with pytest.raises(InvalidRequestError, match="share an id"):
        plan_documents(["same", "same"], ids=None, metadatas=None, text_key="text")
    with pytest.raises(InvalidRequestError, match="where the text is stored"):
        plan_documents(["a"], ids=None, metadatas=[{"text": "x"}], text_key="text")
    with pytest.raises(InvalidRequestError, match="ids has 1 items for 2 texts"):
        plan_documents(["a", "b"], ids=["x"], metadatas=None, text_key=None)


# -- sync/async parity --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [("VectorizeIndex", "AsyncVectorizeIndex"), ("Vectorize", "AsyncVectorize")],
)
def test_the_async_twins_take_what_the_sync_methods_take(sync_cls: str, async_cls: str) -> None:
    """The twins repeat their parameter lists (the logic is shared in IndexRequests): the
    same public methods, parameters, defaults and annotations (bar the awaited returns)."""
    import inspect

    from workers_ai.vectorize import client as module

    sync, asyn = getattr(module, sync_cls), getattr(module, async_cls)
    public = {n for n in dir(sync) if not n.startswith("_")}
    assert public == {n for n in dir(asyn) if not n.startswith("_")}
    for name in sorted(public):
        one, two = getattr(sync, name), getattr(asyn, name)
        if not callable(one):
            continue
        params = inspect.signature(one).parameters
        other = inspect.signature(two).parameters
        assert [(p.name, p.kind, p.default) for p in params.values()] == [
            (p.name, p.kind, p.default) for p in other.values()
        ], name


def test_ingest_and_aingest_take_the_same_options() -> None:
    import inspect

    from workers_ai.vectorize import aingest, ingest

    one = inspect.signature(ingest).parameters
    two = inspect.signature(aingest).parameters
    assert [(p.name, p.default) for p in one.values()] == [
        (p.name, p.default) for p in two.values()
    ]
