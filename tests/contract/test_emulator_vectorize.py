"""The emulator's Vectorize V2 indexes over HTTP, against the platform spec's §2.

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §2 (Vectorize V2 REST API). One
conformance test per example the spec transcribes (the create result, the verbatim NDJSON
insert, the verbatim query and its result, the filter examples, the list-vectors fields, the
capitalised metadata index list, each error code and message), then the semantics a client
relies on: insert vs upsert, namespaces, metric ordering, metadata indexes, list snapshots,
write checks and the mutation lag (eventual consistency, §2.8).

Tests wait for their writes the way §2.8 tells clients to (poll ``info`` until
``processedUpToMutation`` is the write's ``mutationId``), so the suite also passes with
``WORKERS_AI_EMULATOR_VECTORIZE_LAG_MS`` set. Plain httpx, no client of this package: the
client in ``workers_ai.vectorize`` is checked against this emulator, not the other way round.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.config import VECTORIZE_LAG_ENV_VAR
from workers_ai.emulator.scripts import Reply

ISO_MICROS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
#: How long a test polls for a lagged write before failing (a bound, not an assertion).
SETTLE_BOUND_S = 20.0


@dataclass
class Vectorize:
    """The emulator's Vectorize routes, over plain httpx."""

    server: EmulatorServer
    http: httpx.Client

    @property
    def base(self) -> str:
        return f"{self.server.base_url}/accounts/{self.server.account_id}/vectorize/v2/indexes"

    def call(self, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
        return self.http.request(method, self.base + path, **kwargs)

    def ok(self, method: str, path: str = "", **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        body = response.json()
        assert response.status_code == 200, body
        assert body["success"] is True and body["errors"] == [] and body["messages"] == []
        return body["result"]

    def fails(self, method: str, path: str, status: int, code: int, **kwargs: Any) -> str:
        """The error message of a request that must fail with ``status`` / ``code``."""
        response = self.call(method, path, **kwargs)
        body = response.json()
        assert (response.status_code, body["success"]) == (status, False), body
        assert [e["code"] for e in body["errors"]] == [code], body
        return str(body["errors"][0]["message"])

    def create(self, name: str = "idx", dimensions: int = 3, metric: str = "cosine") -> Any:
        config = {"dimensions": dimensions, "metric": metric}
        return self.ok("POST", json={"name": name, "config": config})

    def send(self, name: str, vectors: list[dict[str, Any]], op: str = "upsert") -> str:
        """Send ``vectors`` as NDJSON; the mutation id (not yet waited for)."""
        body = "\n".join(json.dumps(v) for v in vectors) + "\n"
        headers = {"Content-Type": "application/x-ndjson"}
        result = self.ok("POST", f"/{name}/{op}", content=body, headers=headers)
        return str(result["mutationId"])

    def write(self, name: str, vectors: list[dict[str, Any]], op: str = "upsert") -> str:
        mutation = self.send(name, vectors, op)
        self.settle(name, mutation)
        return mutation

    def settle(self, name: str, mutation: str) -> dict[str, Any]:
        """Poll ``info`` until ``mutation`` is processed (§2.8); the info then."""
        deadline = time.monotonic() + SETTLE_BOUND_S
        while True:
            info = self.ok("GET", f"/{name}/info")
            if info.get("processedUpToMutation") == mutation:
                return dict(info)
            if time.monotonic() > deadline:
                pytest.fail(f"mutation {mutation} was never processed; info: {info}")
            time.sleep(0.01)

    def index_property(self, name: str, prop: str, index_type: str = "string") -> None:
        body = {"propertyName": prop, "indexType": index_type}
        self.settle(
            name, self.ok("POST", f"/{name}/metadata_index/create", json=body)["mutationId"]
        )

    def query(self, name: str, **body: Any) -> Any:
        return self.ok("POST", f"/{name}/query", json=body)

    def ids(self, name: str, **body: Any) -> list[str]:
        return [m["id"] for m in self.query(name, **body)["matches"]]


@pytest.fixture
def vz(emulator: EmulatorServer) -> Iterator[Vectorize]:
    """Vectorize on the clean emulator; the mutation lag is put back afterwards."""
    lag = emulator.app.config.vectorize_mutation_lag_ms
    headers = {"Authorization": f"Bearer {emulator.api_token}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        yield Vectorize(emulator, http)
    emulator.configure(vectorize_mutation_lag_ms=lag)


BGE_BASE = "@cf/baai/bge-base-en-v1.5"
CONFIG3 = {"dimensions": 3, "metric": "cosine"}


def _vec(vector_id: str, values: list[float], **fields: Any) -> dict[str, Any]:
    return {"id": vector_id, "values": values, **fields}


# -- §2.2 indexes ----------------------------------------------------------------------------
def test_create_answers_the_verbatim_result_shape_and_a_new_index_is_empty(vz: Vectorize) -> None:
    request = {  # §2.2's request
        "name": "tutorial-index",
        "description": "A Test Vectorize Index",
        "config": {"dimensions": 1024, "metric": "cosine"},
    }
    created = vz.ok("POST", json=request)
    assert list(created) == ["created_on", "modified_on", "name", "description", "config"]
    assert ISO_MICROS_Z.match(created["created_on"]) and ISO_MICROS_Z.match(created["modified_on"])
    assert created["name"] == "tutorial-index"
    assert created["description"] == "A Test Vectorize Index"
    assert created["config"] == {"dimensions": 1024, "metric": "cosine"}
    # Info of a new index, verbatim (§2.2): no processed fields before the first mutation.
    assert vz.ok("GET", "/tutorial-index/info") == {"dimensions": 1024, "vectorCount": 0}


def test_list_and_get_answer_the_create_objects_and_delete_answers_null(vz: Vectorize) -> None:
    first = vz.create("first")
    second = vz.create("second", 8, "euclidean")
    assert vz.ok("GET") == [first, second]
    assert vz.ok("GET", "/second") == second
    assert vz.ok("DELETE", "/first") is None
    assert vz.ok("GET") == [second]


@pytest.mark.parametrize(
    ("preset", "dimensions"),
    [
        ("@cf/baai/bge-small-en-v1.5", 384),
        ("@cf/baai/bge-base-en-v1.5", 768),
        ("@cf/baai/bge-large-en-v1.5", 1024),
        ("openai/text-embedding-ada-002", 1536),
        ("cohere/embed-multilingual-v2.0", 768),
    ],
)
def test_a_preset_gives_its_model_dimensions_and_cosine(
    vz: Vectorize, preset: str, dimensions: int
) -> None:
    created = vz.ok("POST", json={"name": "p", "config": {"preset": preset}})
    assert created["config"] == {"dimensions": dimensions, "metric": "cosine"}
    assert vz.ok("GET", "/p/info")["dimensions"] == dimensions


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({"name": "", "config": {"dimensions": 3, "metric": "cosine"}}, 40001, "name"),
        ({"name": "x" * 65, "config": {"dimensions": 3, "metric": "cosine"}}, 40001, "64"),
        ({"name": "a/b", "config": {"dimensions": 3, "metric": "cosine"}}, 40001, "'/'"),
        ({"name": "i"}, 40001, "config"),
        ({"name": "i", "config": {"dimensions": 0, "metric": "cosine"}}, 40001, "1536"),
        ({"name": "i", "config": {"dimensions": 1537, "metric": "cosine"}}, 40001, "1536"),
        ({"name": "i", "config": {"dimensions": "3", "metric": "cosine"}}, 40001, "dimensions"),
        ({"name": "i", "config": {"dimensions": 3, "metric": "manhattan"}}, 40001, "manhattan"),
        ({"name": "i", "config": {"preset": "@cf/baai/bge-m3"}}, 40001, "bge-m3"),
        ({"name": "i", "config": {"preset": BGE_BASE, "dimensions": 768}}, 40001, "either"),
        ({"config": {"dimensions": 3, "metric": "cosine"}}, 40026, "`name`"),
        ({"name": "i", "description": 5, "config": CONFIG3}, 40026, "description"),
    ],
)
def test_bad_create_requests_are_refused_naming_the_field(
    vz: Vectorize, body: dict[str, Any], code: int, needle: str
) -> None:
    assert needle in vz.fails("POST", "", 400, code, json=body)
    assert vz.ok("GET") == []


def test_create_refuses_a_body_that_is_not_json(vz: Vectorize) -> None:
    message = vz.fails("POST", "", 400, 40026, content=b"{name: i}")
    assert message.startswith("Failed to parse the request body as JSON: ")


def test_a_name_in_use_answers_3002_with_the_observed_message(vz: Vectorize) -> None:
    vz.create("dup")
    message = vz.fails("POST", "", 409, 3002, json={"name": "dup", "config": CONFIG3})
    assert message == 'vectorize.index.duplicate_name - Index name "dup"'


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "", {}),
        ("DELETE", "", {}),
        ("GET", "/info", {}),
        ("POST", "/insert", {"content": b'{"id": "a", "values": [1]}'}),
        ("POST", "/upsert", {"content": b'{"id": "a", "values": [1]}'}),
        ("POST", "/query", {"json": {"vector": [1.0]}}),
        ("POST", "/get_by_ids", {"json": {"ids": ["a"]}}),
        ("POST", "/delete_by_ids", {"json": {"ids": ["a"]}}),
        ("GET", "/list", {}),
        ("POST", "/metadata_index/create", {"json": {"propertyName": "p", "indexType": "string"}}),
        ("GET", "/metadata_index/list", {}),
        ("POST", "/metadata_index/delete", {"json": {"propertyName": "p"}}),
    ],
)
def test_every_route_of_an_unknown_index_answers_3000(
    vz: Vectorize, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    message = vz.fails(method, "/savia-pages-search-preview" + path, 404, 3000, **kwargs)
    assert message == 'vectorize.index.not_found - Index name "savia-pages-search-preview"'


def test_a_deleted_index_answers_3005_until_it_is_created_again(vz: Vectorize) -> None:
    vz.create("gone")
    vz.write("gone", [_vec("a", [1, 2, 3])])
    vz.ok("DELETE", "/gone")
    message = vz.fails("GET", "/gone", 404, 3005)
    assert message == 'vectorize.index.deleted - Index name "gone" was deleted'
    vz.fails("POST", "/gone/query", 404, 3005, json={"vector": [1, 2, 3]})
    vz.create("gone")
    assert vz.ok("GET", "/gone/info") == {"dimensions": 3, "vectorCount": 0}


def test_the_account_index_limit_answers_40002() -> None:
    with EmulatorServer(vectorize_max_indexes=2) as server:
        headers = {"Authorization": f"Bearer {server.api_token}"}
        with httpx.Client(headers=headers) as http:
            vz = Vectorize(server, http)
            vz.create("a")
            vz.create("b")
            too_many = {"name": "c", "config": CONFIG3}
            assert "2 indexes" in vz.fails("POST", "", 400, 40002, json=too_many)
            vz.ok("DELETE", "/a")
            vz.create("c")


# -- §2.3 insert / upsert --------------------------------------------------------------------
VERBATIM_NDJSON = b"""{ "id": "4444", "values": [175.1, 167.1, 129.9], "metadata": {"url": "/products/sku/918318313"}}
{ "id": "5555", "values": [158.8, 116.7, 311.4], "metadata": {"url": "/products/sku/183183183"}}
{ "id": "6666", "values": [113.2, 67.5, 11.2], "metadata": {"url": "/products/sku/717313811"}}
"""  # noqa: E501 - §2.3, verbatim


def test_the_verbatim_ndjson_insert_stores_three_vectors_as_float32(vz: Vectorize) -> None:
    vz.create()
    headers = {"Content-Type": "application/x-ndjson"}
    result = vz.ok("POST", "/idx/insert", content=VERBATIM_NDJSON, headers=headers)
    assert list(result) == ["mutationId"]
    assert str(uuid.UUID(result["mutationId"])) == result["mutationId"]
    info = vz.settle("idx", result["mutationId"])
    assert info["vectorCount"] == 3 and ISO_MICROS_Z.match(info["processedUpToDatetime"])
    got = vz.ok("POST", "/idx/get_by_ids", json={"ids": ["6666", "4444", "missing"]})
    assert got == [
        {
            "id": "6666",
            "values": [113.19999694824219, 67.5, 11.199999809265137],
            "metadata": {"url": "/products/sku/717313811"},
        },
        {
            "id": "4444",
            "values": [175.10000610351562, 167.10000610351562, 129.89999389648438],
            "metadata": {"url": "/products/sku/918318313"},
        },
    ]


def test_a_multipart_upload_of_a_vectors_file_is_accepted_like_ndjson(vz: Vectorize) -> None:
    vz.create()
    files = {"vectors": ("embeddings.ndjson", VERBATIM_NDJSON, "application/octet-stream")}
    mutation = vz.ok("POST", "/idx/insert", files=files)["mutationId"]
    assert vz.settle("idx", mutation)["vectorCount"] == 3
    assert vz.ok("GET", "/idx/list")["vectors"] == [{"id": "4444"}, {"id": "5555"}, {"id": "6666"}]


def test_a_multipart_form_without_a_vectors_file_is_refused(vz: Vectorize) -> None:
    vz.create()
    files = {"embeddings": ("e.ndjson", VERBATIM_NDJSON)}
    assert "vectors" in vz.fails("POST", "/idx/insert", 400, 40003, files=files)


def test_insert_keeps_the_first_vector_and_upsert_replaces_it_whole(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", [_vec("x", [1, 1, 1], metadata={"v": 1, "keep": "me"})], "insert")
    vz.write("idx", [_vec("x", [9, 9, 9], metadata={"v": 2}), _vec("y", [2, 2, 2])], "insert")
    got = vz.ok("POST", "/idx/get_by_ids", json={"ids": ["x", "y"]})
    assert got[0] == {"id": "x", "values": [1.0, 1.0, 1.0], "metadata": {"v": 1, "keep": "me"}}
    assert got[1]["id"] == "y"  # new ids are inserted
    vz.write("idx", [_vec("x", [5, 5, 5], namespace="n")])
    replaced = vz.ok("POST", "/idx/get_by_ids", json={"ids": ["x"]})
    assert replaced == [{"id": "x", "values": [5.0, 5.0, 5.0], "metadata": {}, "namespace": "n"}]


@pytest.mark.parametrize(
    ("line", "code", "needle"),
    [
        ('{"id": "", "values": [1, 2, 3]}', 40003, "id"),
        (json.dumps(_vec("x" * 65, [1, 2, 3])), 40003, "64 bytes"),
        (json.dumps(_vec("é" * 33, [1, 2, 3])), 40003, "64 bytes"),  # 66 bytes, 33 chars
        ('{"values": [1, 2, 3]}', 40003, "id"),
        ('{"id": "a", "values": [1, 2]}', 40003, "2 dimensions; the index has 3"),
        ('{"id": "a", "values": [1, "2", 3]}', 40003, "float32"),
        ('{"id": "a", "values": [1, true, 3]}', 40003, "float32"),
        ('{"id": "a", "values": [1e39, 1, 3]}', 40003, "float32"),
        ('{"id": "a", "values": [NaN, 1, 3]}', 40003, "finite"),
        ('{"id": "a", "values": [1, 2, 3], "namespace": "' + "n" * 65 + '"}', 40003, "namespace"),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"a.b": 1}}', 40003, '"a.b"'),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"$a": 1}}', 40003, '"$a"'),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"a\\"b": 1}}', 40003, 'a\\"b'),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"": 1}}', 40003, "non-empty"),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"x": null}}', 40003, '"x"'),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"x": [1, 2]}}', 40003, '"x"'),
        ('{"id": "a", "values": [1, 2, 3], "metadata": {"x": {"y": {"z": 1}}}}', 40003, '"x.y"'),
        ('{"id": "a", "values": [1, 2, 3], "metadata": "tags"}', 40003, "object"),
        (json.dumps(_vec("a", [1, 2, 3], metadata={"x": "a" * 10_241})), 40007, "10240"),
        ("not json", 40003, "line 2"),
        ('[{"id": "a", "values": [1, 2, 3]}]', 40003, "line 2"),
    ],
)
def test_an_invalid_vector_line_refuses_the_whole_request(
    vz: Vectorize, line: str, code: int, needle: str
) -> None:
    vz.create()
    body = json.dumps(_vec("ok", [1, 2, 3])) + "\n" + line + "\n"
    message = vz.fails("POST", "/idx/upsert", 400, code, content=body.encode())
    assert needle in message
    assert vz.ok("GET", "/idx/info")["vectorCount"] == 0  # nothing was accepted


def test_metadata_of_every_documented_kind_round_trips(vz: Vectorize) -> None:
    vz.create()
    metadata = {
        "s": "é",
        "n": 1.5,
        "b": False,
        "tags": ["a", "b"],
        "nested": {"k": "v", "t": ["x"]},
    }
    vz.write("idx", [_vec("a", [1, 2, 3], metadata=metadata)])
    match = vz.query("idx", vector=[1, 2, 3], returnMetadata="all")["matches"][0]
    assert match["metadata"] == metadata


def test_unparsable_behavior_discard_skips_lines_that_are_not_objects(vz: Vectorize) -> None:
    vz.create()
    body = b'{"id": "a", "values": [1, 2, 3]}\n{oops\n"text"\n{"id": "b", "values": [3, 2, 1]}\n'
    message = vz.fails("POST", "/idx/upsert", 400, 40003, content=body)
    assert "line 2" in message
    result = vz.ok("POST", "/idx/upsert?unparsable-behavior=discard", content=body)
    assert vz.settle("idx", result["mutationId"])["vectorCount"] == 2
    message = vz.fails("POST", "/idx/upsert?unparsable-behavior=skip", 400, 40003, content=body)
    assert "'error' or 'discard'" in message


def test_an_empty_body_is_refused(vz: Vectorize) -> None:
    vz.create()
    assert "no vectors" in vz.fails("POST", "/idx/insert", 400, 40003, content=b"\n \n")


def test_at_most_5000_vectors_go_in_one_request(vz: Vectorize) -> None:
    vz.create("one", dimensions=1)
    lines = [_vec(f"v{i}", [float(i)]) for i in range(5001)]
    body = "\n".join(json.dumps(v) for v in lines).encode()
    assert "5000" in vz.fails("POST", "/one/upsert", 400, 40004, content=body)
    assert vz.settle("one", vz.send("one", lines[:5000]))["vectorCount"] == 5000


def test_an_upload_above_the_default_body_cap_is_accepted(vz: Vectorize) -> None:
    """Vectorize uploads may be 100 MB (§2.9), more than the emulator's 10 MB default cap."""
    vz.create("big", dimensions=1536)
    values = [0.123456789] * 1536
    lines = [_vec(f"v{i}", values) for i in range(620)]
    body = "\n".join(json.dumps(v) for v in lines).encode()
    assert len(body) > vz.server.app.config.max_body_bytes
    mutation = vz.ok("POST", "/big/upsert", content=body)["mutationId"]
    assert vz.settle("big", mutation)["vectorCount"] == 620


def test_an_upload_over_100_mib_is_refused_with_413(emulator: EmulatorServer) -> None:
    chunk = b" " * (1 << 20)
    chunks = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal chunks
        chunks += 1
        return {"type": "http.request", "body": chunk, "more_body": chunks <= 101}

    async def send(message: Any) -> None:
        sent.append(message)

    path = f"/client/v4/accounts/{emulator.account_id}/vectorize/v2/indexes/idx/upsert"
    headers = [(b"authorization", f"Bearer {emulator.api_token}".encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(emulator.app(scope, receive, send))
    assert sent[0]["status"] == 413


# -- §2.4 query ------------------------------------------------------------------------------
#: Vectors "4" and "1" are the spec's (§2.4 result); the others are filler the filter excludes.
QUERY_VECTORS = [
    _vec(i, values, metadata={"url": f"/products/sku/{sku}", "streaming_platform": platform})
    for i, values, sku, platform in [
        ("1", [32.4, 74.1, 3.2], 13913913, "netflix"),
        ("2", [15.1, 19.2, 15.8], 10148191, "hbo"),
        ("3", [0.16, 1.2, 3.8], 97913813, "amazon"),
        ("4", [75.1, 67.1, 29.9], 418313, "netflix"),
        ("5", [58.8, 6.7, 3.4], 55519183, "hbo"),
    ]
]


def test_the_verbatim_query_answers_the_verbatim_result(vz: Vectorize) -> None:
    vz.create()
    vz.index_property("idx", "streaming_platform")
    vz.write("idx", QUERY_VECTORS)
    request = {
        "vector": [54.8, 5.5, 3.1],
        "topK": 3,
        "returnValues": True,
        "returnMetadata": "all",
        "filter": {"streaming_platform": "netflix"},
    }
    result = vz.ok("POST", "/idx/query", json=request)
    assert result["count"] == 2
    first, second = result["matches"]
    assert (first["id"], second["id"]) == ("4", "1")
    assert first["score"] == pytest.approx(0.789848214, abs=1e-6)
    assert second["score"] == pytest.approx(0.491185264, abs=1e-6)
    assert first["values"] == [75.0999984741211, 67.0999984741211, 29.899999618530273]
    assert second["values"] == [32.400001525878906, 74.0999984741211, 3.200000047683716]
    assert first["metadata"] == {"url": "/products/sku/418313", "streaming_platform": "netflix"}
    assert set(first) == {"id", "score", "values", "metadata"}


def test_a_query_returns_values_and_metadata_only_when_asked(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", QUERY_VECTORS)
    result = vz.query("idx", vector=[54.8, 5.5, 3.1])
    assert result["count"] == 5  # topK defaults to 5
    assert all(set(m) == {"id", "score"} for m in result["matches"])
    assert "metadata" not in vz.query("idx", vector=[1, 1, 1], returnMetadata="none")["matches"][0]


def test_topk_defaults_to_5(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", [*QUERY_VECTORS, _vec("6", [1, 2, 3])])
    assert vz.query("idx", vector=[1, 2, 3])["count"] == 5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"topK": 100, "returnValues": True},
            "with returnValues=true or returnMetadata=all, max top K is 50, but got 100",
        ),
        (
            {"topK": 51, "returnMetadata": "all"},
            "with returnValues=true or returnMetadata=all, max top K is 50, but got 51",
        ),
        ({"topK": 101}, "max top K is 100, but got 101"),
        ({"topK": 101, "returnMetadata": "indexed"}, "max top K is 100, but got 101"),
    ],
)
def test_topk_over_the_limit_answers_40025(
    vz: Vectorize, body: dict[str, Any], message: str
) -> None:
    vz.create()
    assert vz.fails("POST", "/idx/query", 400, 40025, json={"vector": [1, 2, 3], **body}) == message


def test_topk_at_the_limits_is_accepted(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", QUERY_VECTORS)
    assert vz.query("idx", vector=[1, 2, 3], topK=50, returnValues=True)["count"] == 5
    assert vz.query("idx", vector=[1, 2, 3], topK=100, returnMetadata="indexed")["count"] == 5


def test_a_boolean_return_metadata_answers_40026_as_observed(vz: Vectorize) -> None:
    vz.create()
    body = {"vector": [1, 2, 3], "returnMetadata": True}
    message = vz.fails("POST", "/idx/query", 400, 40026, json=body)
    assert message == "Failed to parse the request body as JSON: returnMetadata: expected value"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"vector": [1, 2, 3], "returnMetadata": "some"}, "returnMetadata"),
        ({"vector": [1, 2, 3], "returnValues": "yes"}, "returnValues"),
        ({"vector": [1, 2, 3], "topK": 0}, "topK"),
        ({"vector": [1, 2, 3], "topK": 2.5}, "topK"),
        ({"vector": [1, 2, 3], "namespace": 7}, "namespace"),
        ({"vector": "1,2,3"}, "vector"),
        ({"vector": [1, None, 3]}, "vector"),
    ],
)
def test_query_fields_of_the_wrong_type_answer_40026(
    vz: Vectorize, body: dict[str, Any], needle: str
) -> None:
    vz.create()
    message = vz.fails("POST", "/idx/query", 400, 40026, json=body)
    assert message.startswith("Failed to parse the request body as JSON: ") and needle in message


def test_a_query_vector_of_the_wrong_dimension_answers_40006(vz: Vectorize) -> None:
    vz.ok("POST", json={"name": "bge", "config": {"preset": "@cf/baai/bge-base-en-v1.5"}})
    message = vz.fails("POST", "/bge/query", 400, 40006, json={"vector": []})
    assert message == "invalid query vector, expected 768 dimensions, and got 0 dimensions"
    message = vz.fails("POST", "/bge/query", 400, 40006, json={"topK": 3})
    assert message == "invalid query vector, expected 768 dimensions, and got 0 dimensions"
    message = vz.fails("POST", "/bge/query", 400, 40006, json={"vector": [0.5] * 384})
    assert message == "invalid query vector, expected 768 dimensions, and got 384 dimensions"


@pytest.mark.parametrize(
    ("metric", "query", "ids", "scores"),
    [
        # Cosine similarity: 1 identical, higher first.
        ("cosine", [1, 0], ["same", "orthogonal", "opposite"], [1.0, 0.0, -1.0]),
        # L2 distance: 0 identical, lower first.
        ("euclidean", [0, 0], ["origin", "unit", "far"], [0.0, 1.0, 5.0]),
        # Negative inner product: lower first.
        ("dot-product", [1, 1], ["long", "unit", "back"], [-4.0, -1.0, 1.0]),
    ],
)
def test_scores_and_order_follow_the_metric(
    vz: Vectorize, metric: str, query: list[float], ids: list[str], scores: list[float]
) -> None:
    vz.create("m", dimensions=2, metric=metric)
    vectors = {
        "cosine": {"same": [2, 0], "orthogonal": [0, 3], "opposite": [-1, 0]},
        "euclidean": {"origin": [0, 0], "unit": [1, 0], "far": [3, 4]},
        "dot-product": {"long": [2, 2], "unit": [1, 0], "back": [-1, 0]},
    }[metric]
    vz.write("m", [_vec(i, v) for i, v in reversed(vectors.items())])
    matches = vz.query("m", vector=query, topK=3)["matches"]
    assert [m["id"] for m in matches] == ids
    assert [m["score"] for m in matches] == pytest.approx(scores)


def test_equal_scores_are_ordered_by_id(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", [_vec(i, [1, 2, 3]) for i in ("c", "a", "b")])
    assert vz.ids("idx", vector=[1, 2, 3]) == ["a", "b", "c"]


def test_a_namespace_restricts_the_query_before_the_filter(vz: Vectorize) -> None:
    vz.create()
    vz.index_property("idx", "lang")
    vz.write(
        "idx",
        [
            _vec("en-1", [1, 0, 0], namespace="en", metadata={"lang": "en"}),
            _vec("fr-1", [1, 0, 0], namespace="fr", metadata={"lang": "fr"}),
            _vec("fr-2", [0, 1, 0], namespace="fr", metadata={"lang": "en"}),
            _vec("none", [1, 0, 0]),
        ],
    )
    result = vz.query("idx", vector=[1, 0, 0], namespace="fr")
    assert [(m["id"], m["namespace"]) for m in result["matches"]] == [
        ("fr-1", "fr"),
        ("fr-2", "fr"),
    ]
    assert vz.ids("idx", vector=[1, 0, 0], namespace="fr", filter={"lang": "en"}) == ["fr-2"]
    assert vz.ids("idx", vector=[1, 0, 0], namespace="de") == []
    assert sorted(vz.ids("idx", vector=[1, 0, 0])) == ["en-1", "fr-1", "fr-2", "none"]
    everything = {m["id"]: m for m in vz.query("idx", vector=[1, 0, 0])["matches"]}
    assert "namespace" not in everything["none"]


# -- §2.5 filters ----------------------------------------------------------------------------
def _filter_index(vz: Vectorize, rows: dict[str, dict[str, Any]], **types: str) -> None:
    """Index ``idx`` with metadata indexes of ``types`` and one vector per row (all equal, so
    matches come in id order)."""
    vz.create()
    for prop, index_type in types.items():
        vz.index_property("idx", prop.replace("__", "."), index_type)
    vz.write("idx", [_vec(i, [1, 1, 1], metadata=m) for i, m in rows.items()])


def test_the_in_example_matches_either_value(vz: Vectorize) -> None:
    rows = {"a": {"someKey": "hbo"}, "b": {"someKey": "netflix"}, "c": {"someKey": "amazon"}}
    _filter_index(vz, rows, someKey="string")
    example = {"someKey": {"$in": ["hbo", "netflix"]}}  # §2.5 verbatim
    assert vz.ids("idx", vector=[1, 1, 1], filter=example) == ["a", "b"]


def test_the_range_example_keeps_the_lower_bound_and_drops_the_upper(vz: Vectorize) -> None:
    stamps = {"before": 1734242399, "start": 1734242400, "mid": 1734300000, "end": 1734328800}
    _filter_index(vz, {k: {"timestamp": v} for k, v in stamps.items()}, timestamp="number")
    example = {"timestamp": {"$gte": 1734242400, "$lt": 1734328800}}  # §2.5 verbatim
    assert vz.ids("idx", vector=[1, 1, 1], filter=example) == ["mid", "start"]


def test_the_prefix_search_example_finds_strings_starting_with_net(vz: Vectorize) -> None:
    words = {"a": "netflix", "b": "neu", "c": "net", "d": "nes", "e": "network", "f": "hbo"}
    _filter_index(vz, {k: {"someKey": v} for k, v in words.items()}, someKey="string")
    example = {"someKey": {"$gte": "net", "$lt": "neu"}}  # §2.5 verbatim
    assert vz.ids("idx", vector=[1, 1, 1], filter=example) == ["a", "c", "e"]


FILTER_ROWS = {
    "a": {"platform": "netflix", "year": 2001, "kids": True},
    "b": {"platform": "hbo", "year": 1999, "kids": False},
    "c": {"platform": "amazon", "year": 2010, "pandas": {"nice": 42}},
}


@pytest.mark.parametrize(
    ("filter_", "ids"),
    [
        ({"platform": "hbo"}, ["b"]),
        ({"platform": {"$eq": "hbo"}}, ["b"]),
        ({"platform": {"$ne": "hbo"}}, ["a", "c"]),
        ({"platform": {"$nin": ["hbo", "amazon"]}}, ["a"]),
        ({"year": {"$lte": 2001}}, ["a", "b"]),
        ({"year": {"$gt": 2001}}, ["c"]),
        ({"year": {"$gte": 2000.0, "$lte": 2010}}, ["a", "c"]),
        ({"year": "2001"}, []),  # a string is not the number
        ({"kids": True}, ["a"]),
        ({"kids": {"$eq": None}}, ["c"]),  # indexed as absent (emulator's choice)
        ({"kids": {"$ne": True}}, ["b", "c"]),
        ({"platform": "netflix", "year": 2001}, ["a"]),  # keys AND
        ({"platform": "netflix", "year": 1999}, []),
        ({"pandas.nice": 42}, ["c"]),  # a dot reaches one nested level
    ],
)
def test_filter_operators(vz: Vectorize, filter_: dict[str, Any], ids: list[str]) -> None:
    _filter_index(
        vz, FILTER_ROWS, platform="string", year="number", kids="boolean", pandas__nice="number"
    )
    assert vz.ids("idx", vector=[1, 1, 1], topK=10, filter=filter_) == ids


@pytest.mark.parametrize(
    ("filter_", "needle"),
    [
        ({}, "non-empty"),
        (["platform"], "non-empty object"),
        ({"$and": 1}, '"$and"'),
        ({"platform": {"$regex": "x"}}, '"platform"'),
        ({"platform": {"$eq": "a", "$ne": "b"}}, '"platform"'),
        ({"year": {"$gt": 1, "$gte": 2}}, '"year"'),
        ({"year": {"$lt": 1, "$gt": 0, "$ne": 3}}, '"year"'),
        ({"year": {}}, '"year"'),
        ({"year": {"$lt": True}}, '"year"'),
        ({"year": {"$gte": None}}, '"year"'),
        ({"platform": {"$in": "hbo"}}, '"platform"'),
        ({"platform": {"$nin": [["hbo"]]}}, '"platform"'),
        ({"platform": ["hbo"]}, '"platform"'),
        ({"platform": {"x": 1}}, '"platform"'),
        ({'pla"tform': 1}, "pla"),
        ({"a.b.c": 1}, '"a.b.c"'),
        ({"": 1}, "non-empty"),
        ({"k" * 513: 1}, "512"),
        ({"platform": "x" * 2100}, "2048"),
    ],
)
def test_invalid_filters_answer_400_naming_the_key(
    vz: Vectorize, filter_: Any, needle: str
) -> None:
    vz.create()
    body = {"vector": [1, 1, 1], "filter": filter_}
    message = vz.fails("POST", "/idx/query", 400, 40008, json=body)
    assert needle in message


def test_filtering_needs_a_metadata_index_that_existed_when_the_vector_was_written(
    vz: Vectorize,
) -> None:
    vz.create()
    vz.write("idx", [_vec("old", [1, 1, 1], metadata={"genre": "scifi"})])
    scifi = {"genre": "scifi"}
    assert vz.ids("idx", vector=[1, 1, 1], filter=scifi) == []  # no metadata index
    vz.index_property("idx", "genre")
    assert vz.ids("idx", vector=[1, 1, 1], filter=scifi) == []  # written before the index
    vz.write("idx", [_vec("new", [1, 1, 1], metadata={"genre": "scifi"})])
    assert vz.ids("idx", vector=[1, 1, 1], filter=scifi) == ["new"]
    vz.write("idx", [_vec("old", [1, 1, 1], metadata={"genre": "scifi"})], "insert")
    assert vz.ids("idx", vector=[1, 1, 1], filter=scifi) == ["new"]  # insert kept, not rewritten
    vz.write("idx", [_vec("old", [1, 1, 1], metadata={"genre": "scifi"})])
    assert vz.ids("idx", vector=[1, 1, 1], filter=scifi) == ["new", "old"]  # re-upserted


def test_a_deleted_metadata_index_stops_filtering_and_a_new_one_starts_empty(
    vz: Vectorize,
) -> None:
    vz.create()
    vz.index_property("idx", "genre")
    vz.write("idx", [_vec("a", [1, 1, 1], metadata={"genre": "scifi"})])
    mutation = vz.ok("POST", "/idx/metadata_index/delete", json={"propertyName": "genre"})
    vz.settle("idx", mutation["mutationId"])
    assert vz.ids("idx", vector=[1, 1, 1], filter={"genre": "scifi"}) == []
    vz.index_property("idx", "genre")
    assert vz.ids("idx", vector=[1, 1, 1], filter={"genre": "scifi"}) == []


def test_indexed_metadata_returns_only_indexed_fields_cut_to_64_bytes(vz: Vectorize) -> None:
    vz.create()
    vz.index_property("idx", "title")
    vz.index_property("idx", "year", "number")
    vz.index_property("idx", "pandas.nice", "number")
    long_title = "é" * 40  # 80 bytes: indexed as its first 32 characters (64 bytes)
    metadata = {"title": long_title, "year": 1999, "body": "text", "pandas": {"nice": 42, "x": 1}}
    vz.write("idx", [_vec("a", [1, 1, 1], metadata=metadata)])
    match = vz.query("idx", vector=[1, 1, 1], returnMetadata="indexed")["matches"][0]
    assert match["metadata"] == {"title": "é" * 32, "year": 1999, "pandas": {"nice": 42}}
    # The operand is cut like the indexed value, so the full string still finds it.
    assert vz.ids("idx", vector=[1, 1, 1], filter={"title": long_title}) == ["a"]


# -- §2.6 get/delete by ids, list vectors ----------------------------------------------------
def test_delete_by_ids_removes_the_named_vectors(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", QUERY_VECTORS)
    result = vz.ok("POST", "/idx/delete_by_ids", json={"ids": ["1", "4", "nope"]})
    assert list(result) == ["mutationId"]
    assert vz.settle("idx", result["mutationId"])["vectorCount"] == 3
    assert vz.ok("POST", "/idx/get_by_ids", json={"ids": ["1", "2"]})[0]["id"] == "2"


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/idx/get_by_ids", {"id": ["a"]}, "`ids`"),
        ("/idx/get_by_ids", {"ids": "a"}, "ids"),
        ("/idx/delete_by_ids", {"ids": [1]}, "ids"),
        ("/idx/delete_by_ids", ["a"], "object"),
    ],
)
def test_by_ids_bodies_of_the_wrong_shape_answer_40026(
    vz: Vectorize, path: str, body: Any, needle: str
) -> None:
    vz.create()
    assert needle in vz.fails("POST", path, 400, 40026, json=body)


def test_list_vectors_pages_over_a_snapshot_with_the_verbatim_fields(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", [_vec(f"v{i}", [1, 2, 3]) for i in range(5)])
    first = vz.ok("GET", "/idx/list", params={"count": 2})
    assert list(first) == [
        "count",
        "totalCount",
        "isTruncated",
        "nextCursor",
        "cursorExpirationTimestamp",
        "vectors",
    ]
    assert (first["count"], first["totalCount"], first["isTruncated"]) == (2, 5, True)
    assert first["vectors"] == [{"id": "v0"}, {"id": "v1"}]
    assert isinstance(first["nextCursor"], str)
    assert ISO_MICROS_Z.match(first["cursorExpirationTimestamp"])
    # Later writes are not in the snapshot; deleted vectors still are.
    vz.write("idx", [_vec("v9", [1, 2, 3])])
    vz.settle("idx", vz.ok("POST", "/idx/delete_by_ids", json={"ids": ["v3"]})["mutationId"])
    second = vz.ok("GET", "/idx/list", params={"count": 2, "cursor": first["nextCursor"]})
    assert second["vectors"] == [{"id": "v2"}, {"id": "v3"}] and second["totalCount"] == 5
    again = vz.ok("GET", "/idx/list", params={"count": 2, "cursor": first["nextCursor"]})
    assert again["vectors"] == second["vectors"]  # a retried page is the same page
    last = vz.ok("GET", "/idx/list", params={"count": 2, "cursor": second["nextCursor"]})
    assert last == {
        "count": 1,
        "totalCount": 5,
        "isTruncated": False,
        "nextCursor": None,
        "cursorExpirationTimestamp": None,
        "vectors": [{"id": "v4"}],
    }
    fresh = vz.ok("GET", "/idx/list", params={"count": 1000})
    assert [v["id"] for v in fresh["vectors"]] == ["v0", "v1", "v2", "v4", "v9"]


@pytest.mark.parametrize(
    "params", [{"count": 0}, {"count": 1001}, {"count": "ten"}, {"cursor": "nope"}]
)
def test_list_vectors_refuses_bad_counts_and_unknown_cursors(
    vz: Vectorize, params: dict[str, Any]
) -> None:
    vz.create()
    vz.fails("GET", "/idx/list", 400, 40010, params=params)


# -- §2.7 metadata indexes -------------------------------------------------------------------
def test_metadata_index_list_capitalises_the_type_as_observed(vz: Vectorize) -> None:
    vz.create()
    body = {"propertyName": "section", "indexType": "string"}  # §2.7's request
    create = vz.ok("POST", "/idx/metadata_index/create", json=body)
    assert list(create) == ["mutationId"]
    vz.settle("idx", create["mutationId"])
    vz.index_property("idx", "year", "number")
    vz.index_property("idx", "draft", "boolean")
    assert vz.ok("GET", "/idx/metadata_index/list") == {
        "metadataIndexes": [
            {"propertyName": "section", "indexType": "String"},
            {"propertyName": "year", "indexType": "Number"},
            {"propertyName": "draft", "indexType": "Boolean"},
        ]
    }


def test_metadata_index_requests_are_checked(vz: Vectorize) -> None:
    vz.create()
    path = "/idx/metadata_index/create"
    assert "String" in vz.fails(
        "POST", path, 400, 40026, json={"propertyName": "p", "indexType": "String"}
    )
    assert "$p" in vz.fails(
        "POST", path, 400, 40009, json={"propertyName": "$p", "indexType": "string"}
    )
    for i in range(10):
        vz.index_property("idx", f"p{i}")
    assert "'p0'" in vz.fails(
        "POST", path, 400, 40009, json={"propertyName": "p0", "indexType": "number"}
    )
    assert "10" in vz.fails(
        "POST", path, 400, 40009, json={"propertyName": "p10", "indexType": "string"}
    )
    delete = "/idx/metadata_index/delete"
    assert "'nope'" in vz.fails("POST", delete, 400, 40009, json={"propertyName": "nope"})
    # langchain's sync client sends {"property": ...} (§2.7: a bug): refused, not guessed.
    assert "propertyName" in vz.fails("POST", delete, 400, 40026, json={"property": "p0"})
    vz.settle("idx", vz.ok("POST", delete, json={"propertyName": "p0"})["mutationId"])
    assert len(vz.ok("GET", "/idx/metadata_index/list")["metadataIndexes"]) == 9


# -- §2.8 mutations and the lag --------------------------------------------------------------
def test_with_a_lag_writes_stay_invisible_and_apply_in_order(vz: Vectorize) -> None:
    vz.create()
    vz.server.configure(vectorize_mutation_lag_ms=600_000)
    vz.ok("POST", "/idx/metadata_index/create", json={"propertyName": "g", "indexType": "string"})
    vz.send("idx", [_vec("a", [1, 2, 3], metadata={"g": "x"})])
    assert vz.ok("GET", "/idx/info") == {"dimensions": 3, "vectorCount": 0}
    assert vz.query("idx", vector=[1, 2, 3]) == {"count": 0, "matches": []}
    assert vz.ok("POST", "/idx/get_by_ids", json={"ids": ["a"]}) == []
    assert vz.ok("GET", "/idx/list")["totalCount"] == 0
    assert vz.ok("GET", "/idx/metadata_index/list") == {"metadataIndexes": []}
    # A write due at once still waits behind the earlier ones: mutations apply in order.
    vz.server.configure(vectorize_mutation_lag_ms=0)
    vz.send("idx", [_vec("b", [1, 2, 3])])
    assert vz.ok("GET", "/idx/info") == {"dimensions": 3, "vectorCount": 0}


def test_a_lagged_write_becomes_visible_and_info_names_it(vz: Vectorize) -> None:
    vz.create()
    vz.server.configure(vectorize_mutation_lag_ms=200)
    vz.send("idx", [_vec("a", [1, 2, 3]), _vec("b", [3, 2, 1])])
    delete = vz.ok("POST", "/idx/delete_by_ids", json={"ids": ["a"]})["mutationId"]
    info = vz.settle("idx", delete)  # polls until processed
    assert info["vectorCount"] == 1 and ISO_MICROS_Z.match(info["processedUpToDatetime"])
    assert vz.ids("idx", vector=[1, 2, 3]) == ["b"]


def test_a_lag_applies_exactly_when_it_has_passed_on_the_emulators_clock(
    vz: Vectorize, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]  # steps that are exact binary fractions: no rounding at the boundary
    monkeypatch.setattr(vz.server.app.state.vectorize, "clock", lambda: now[0])
    vz.create()
    vz.server.configure(vectorize_mutation_lag_ms=250)
    first = vz.send("idx", [_vec("a", [1, 2, 3])])
    now[0] += 0.125
    second = vz.send("idx", [_vec("b", [1, 2, 3])])
    now[0] += 0.0625
    assert "processedUpToMutation" not in vz.ok("GET", "/idx/info")
    now[0] += 0.0625  # 250 ms after the first write
    assert vz.ok("GET", "/idx/info")["processedUpToMutation"] == first
    assert vz.ids("idx", vector=[1, 2, 3]) == ["a"]
    now[0] += 0.125
    assert vz.ok("GET", "/idx/info")["processedUpToMutation"] == second
    assert vz.ids("idx", vector=[1, 2, 3]) == ["a", "b"]


def test_without_a_lag_a_write_is_visible_at_once(vz: Vectorize) -> None:
    vz.create()
    vz.server.configure(vectorize_mutation_lag_ms=0)
    mutation = vz.send("idx", [_vec("a", [1, 2, 3])])
    info = vz.ok("GET", "/idx/info")
    assert (info["vectorCount"], info["processedUpToMutation"]) == (1, mutation)


def test_the_lag_can_be_set_over_the_control_route(vz: Vectorize) -> None:
    url = f"{vz.server.root_url}/__emulator/faults"
    headers = vz.server.control_headers()
    bad = httpx.post(url, json={"vectorize_mutation_lag_ms": -1}, headers=headers)
    assert bad.status_code == 400 and "vectorize_mutation_lag_ms" in bad.text
    assert httpx.post(url, json={"vectorize_mutation_lag_ms": 600_000}, headers=headers).is_success
    vz.create()
    vz.send("idx", [_vec("a", [1, 2, 3])])
    assert vz.ok("GET", "/idx/info")["vectorCount"] == 0


def test_the_lag_environment_variable_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VECTORIZE_LAG_ENV_VAR, "600000")
    with EmulatorServer() as server:
        headers = {"Authorization": f"Bearer {server.api_token}"}
        with httpx.Client(headers=headers) as http:
            vz = Vectorize(server, http)
            vz.create()
            vz.send("idx", [_vec("a", [1, 2, 3])])
            assert vz.ok("GET", "/idx/info")["vectorCount"] == 0
    monkeypatch.setenv(VECTORIZE_LAG_ENV_VAR, "soon")
    with pytest.raises(ValueError, match=VECTORIZE_LAG_ENV_VAR):
        EmulatorServer()


def test_concurrent_writes_are_all_kept(vz: Vectorize) -> None:
    vz.create()

    def writer(worker: int) -> None:
        with httpx.Client(headers=vz.http.headers) as http:
            mine = Vectorize(vz.server, http)
            for i in range(25):
                mine.send("idx", [_vec(f"w{worker}-{i}", [worker, i, 1])])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + SETTLE_BOUND_S
    while vz.ok("GET", "/idx/info")["vectorCount"] != 200:
        assert time.monotonic() < deadline, vz.ok("GET", "/idx/info")
        time.sleep(0.01)
    assert vz.ok("GET", "/idx/list", params={"count": 1000})["totalCount"] == 200


# -- the emulator as a test tool -------------------------------------------------------------
def test_python_helpers_list_indexes_and_reset_forgets_them(vz: Vectorize) -> None:
    vz.create("a")
    vz.create("b")
    assert vz.server.vectorize_indexes() == ["a", "b"]
    vz.ok("DELETE", "/a")
    vz.server.reset()
    assert vz.server.vectorize_indexes() == []
    vz.fails("GET", "/a", 404, 3000)  # forgotten, not "deleted"


def test_vectorize_requests_are_logged_and_counted_by_route_template(vz: Vectorize) -> None:
    vz.create()
    vz.write("idx", [_vec("a", [1, 2, 3])])
    vz.query("idx", vector=[1, 2, 3], topK=3)
    by_route = vz.server.stats()["by_route"]
    assert by_route["POST /vectorize/v2/indexes"] == 1
    assert by_route["POST /vectorize/v2/indexes/{index}/query"] == 1
    assert by_route["POST /vectorize/v2/indexes/{index}/upsert"] == 1
    logged = vz.server.last_request(route="vectorize_query")
    assert logged.route == "POST /vectorize/v2/indexes/{index}/query"
    assert logged.body == {"vector": [1, 2, 3], "topK": 3} and logged.status == 200


def test_model_rate_limits_and_scripted_failures_leave_vectorize_alone(vz: Vectorize) -> None:
    vz.server.configure(rate_limit_per_minute=1)
    vz.server.script(Reply(error={"status": 500, "code": 3043, "message": "scripted"}))
    vz.create()
    for _ in range(3):
        vz.ok("GET", "/idx/info")
    vz.server.configure(rate_limit_per_minute={"vectorize": 1})  # unless a mapping names it
    vz.ok("GET", "/idx/info")
    vz.fails("GET", "/idx/info", 429, 3021)


@pytest.mark.parametrize(
    ("headers", "account", "status", "code"),
    [
        ({"Authorization": "Bearer wrong"}, None, 401, 10000),
        ({}, "other-account", 404, 7003),
    ],
)
def test_vectorize_routes_check_the_token_and_account(
    vz: Vectorize, headers: dict[str, str], account: str | None, status: int, code: int
) -> None:
    url = vz.base.replace(vz.server.account_id, account) if account else vz.base
    response = httpx.get(url, headers=headers or vz.http.headers)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (status, code)
