"""Vectorize V2's REST API in the emulator: in-memory indexes (platform spec §2).

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §2. Routes (§2.1, under
``/client/v4/accounts/{account}/vectorize/v2/indexes``; route kinds in
:data:`workers_ai.emulator.routing.VECTORIZE_ROUTES`): create, list, get, delete, info,
insert, upsert, query, get_by_ids, delete_by_ids, list vectors, metadata_index
create/list/delete. Answers use the v4 envelope. Insert and upsert take NDJSON (one vector
object per line) as the body (``Content-Type: application/x-ndjson``, or any type) or as the
``vectors`` file of a ``multipart/form-data`` form (the docs' Python example).

State and mutations (applied after ``EmulatorConfig.vectorize_mutation_lag_ms``) live in
:mod:`workers_ai.emulator.vectorize_store`; metadata rules and filters in
:mod:`workers_ai.emulator.vectorize_filters`.

Error codes (HTTP 400 unless said):

=====  ===========================================================================
3000   index not found (404; the spec saw 400 and 404)
3002   index name in use (409)
3005   index deleted (404): a deleted name answers this until it is created again
40006  query vector of the wrong dimension (message as §2.10)
40025  topK over the limit (message as §2.10)
40026  a JSON body that does not parse, or a field of the wrong type or value
       (message ``Failed to parse the request body as JSON: <field>: ...``, as §2.10)
=====  ===========================================================================

The emulator's own choices, where §2.10 leaves codes open (``[?]``):

=====  ===========================================================================
40001  invalid index name or config (create)
40002  the account has ``EmulatorConfig.vectorize_max_indexes`` indexes already
40003  an invalid vector line (id, values, namespace, metadata keys/values), a line
       that is not a JSON object (unless ``unparsable-behavior=discard``), no vectors,
       or a bad ``unparsable-behavior``
40004  more than 5,000 vectors in one insert/upsert
40007  a vector's metadata over 10 KiB as compact JSON
40008  an invalid metadata filter (the message names the key)
40009  metadata index: bad property name, one already on that property, the
       10-per-index limit, or none to delete
40010  list vectors: ``count`` not 1 to 1,000, or an unknown or expired cursor
40011  an index would pass 20,000,000 vectors or 50,000 namespaces
=====  ===========================================================================

An insert/upsert body over 100 MiB gets the emulator's generic 413 / 3006 (the app reads these
bodies up to :data:`MAX_UPLOAD_BYTES` instead of ``EmulatorConfig.max_body_bytes``).

Scores (Cloudflare's documented meaning per metric, observed on its docs, not in our spec):
``cosine`` is the cosine similarity (1 = same direction; higher first), ``euclidean`` the L2
distance (0 = identical; lower first), ``dot-product`` the *negative* inner product (lower
first). Ties go by id.
"""

from __future__ import annotations

import datetime
import heapq
import math
import uuid
from array import array
from collections.abc import Callable, Iterable
from email.utils import formatdate
from operator import mul
from typing import TYPE_CHECKING, Any

from workers_ai.emulator import jsonbody, markdown
from workers_ai.emulator.responses import Request, Response, error_response, json_response
from workers_ai.emulator.validation import EmulatorError
from workers_ai.emulator.vectorize_filters import (
    INDEX_TYPES,
    MAX_METADATA_BYTES,
    Condition,
    FilterError,
    check_metadata,
    check_property,
    compact_size,
    holds,
    parse_filter,
)
from workers_ai.emulator.vectorize_store import (
    BAD_BODY,
    BAD_FILTER,
    BAD_INDEX_CONFIG,
    BAD_LIST_REQUEST,
    BAD_METADATA_INDEX,
    BAD_QUERY_VECTOR,
    BAD_VECTOR,
    METADATA_TOO_LARGE,
    TOO_MANY_VECTORS,
    TOP_K_TOO_HIGH,
    ListCursor,
    StoredVector,
    VectorIndex,
    VectorStore,
    iso_time,
)

if TYPE_CHECKING:
    from workers_ai.emulator.config import EmulatorConfig

__all__ = [
    "MAX_UPLOAD_BYTES",
    "PRESETS",
    "answer",
    "parse_vectors",
]

#: ``config.preset`` -> dimensions; presets use the cosine metric (§2.2).
PRESETS = {
    "@cf/baai/bge-small-en-v1.5": 384,
    "@cf/baai/bge-base-en-v1.5": 768,
    "@cf/baai/bge-large-en-v1.5": 1024,
    "openai/text-embedding-ada-002": 1536,
    "cohere/embed-multilingual-v2.0": 768,
}
METRICS = ("cosine", "euclidean", "dot-product")
# Limits (§2.9).
MAX_DIMENSIONS = 1536
MAX_NAME_BYTES = 64
MAX_ID_BYTES = 64
MAX_NAMESPACE_BYTES = 64
MAX_VECTORS_PER_REQUEST = 5000
#: Upload size: "100 MB" (§2.9), read as MiB (the spec does not say which).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_METADATA_INDEXES = 10
# topK (§2.4).
TOP_K_DEFAULT = 5
TOP_K_MAX = 100
TOP_K_MAX_WITH_DATA = 50
# List vectors (§2.6): at most 1,000 per page; the default page and the cursor lifetime are
# not in the spec (emulator's choices).
LIST_COUNT_MAX = 1000
LIST_COUNT_DEFAULT = 100
CURSOR_TTL_S = 3600.0
_MAX_CURSORS = 1000

Handler = Callable[[VectorStore, str, Request, "EmulatorConfig"], Any]


def answer(
    store: VectorStore, kind: str, name: str, request: Request, config: EmulatorConfig
) -> Response:
    """The answer of a Vectorize route ``kind`` for index ``name`` (``""`` on the collection)."""
    try:
        result = _HANDLERS[kind](store, name, request, config)
    except EmulatorError as exc:
        return error_response(exc.status, exc.code, exc.message)
    response = json_response(result)
    # Cloudflare's responses are dated; a client reads a write's acceptance time from it
    response.headers.append((b"date", formatdate(usegmt=True).encode()))
    return response


# -- errors ----------------------------------------------------------------------------------
def _bad_body(detail: str) -> EmulatorError:
    return EmulatorError(400, BAD_BODY, f"Failed to parse the request body as JSON: {detail}")


def _bad(code: int, message: str) -> EmulatorError:
    return EmulatorError(400, code, message)


def _json_body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        raise _bad_body("EOF while parsing a value: the body is empty")
    try:
        body = jsonbody.loads(request.body)
    except ValueError as exc:
        raise _bad_body(str(exc)) from exc
    if not isinstance(body, dict):
        raise _bad_body("invalid type, expected a JSON object")
    return body


def _lag_s(config: EmulatorConfig) -> float:
    return float(config.vectorize_mutation_lag_ms) / 1000.0


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# -- indexes (§2.2) --------------------------------------------------------------------------
def _create_index(store: VectorStore, _: str, request: Request, config: EmulatorConfig) -> Any:
    body = _json_body(request)
    if "name" not in body:
        raise _bad_body("missing field `name`")
    name = _index_name(body["name"])
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise _bad_body("description: invalid type, expected a string")
    dimensions, metric = _index_config(body.get("config"))
    index = VectorIndex(name, description, dimensions, metric, iso_time())
    return store.create(index, config.vectorize_max_indexes)


def _index_name(name: Any) -> str:
    """A name usable as one path segment: non-empty, <= 64 bytes (§2.9), no ``/`` and no
    whitespace or control characters (the allowed characters are not documented, §2.9 [?])."""
    if not isinstance(name, str) or not name:
        raise _bad(BAD_INDEX_CONFIG, "index name must be a non-empty string")
    if _utf8_len(name) > MAX_NAME_BYTES:
        raise _bad(BAD_INDEX_CONFIG, f"index name is longer than {MAX_NAME_BYTES} bytes")
    if "/" in name or any(c.isspace() or not c.isprintable() for c in name):
        raise _bad(
            BAD_INDEX_CONFIG, f"index name {name!r} must not contain '/', spaces or control chars"
        )
    return name


def _index_config(config: Any) -> tuple[int, str]:
    hint = 'config is {"dimensions": <int>, "metric": "cosine"|"euclidean"|"dot-product"}'
    if not isinstance(config, dict):
        raise _bad(BAD_INDEX_CONFIG, f'{hint} or {{"preset": <model>}}')
    if "preset" in config:
        preset = config["preset"]
        if set(config) != {"preset"}:
            raise _bad(BAD_INDEX_CONFIG, "give either a preset or dimensions and metric")
        if preset not in PRESETS:
            raise _bad(BAD_INDEX_CONFIG, f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        return PRESETS[preset], "cosine"
    dimensions: Any = config.get("dimensions")
    metric: Any = config.get("metric")
    if not _is_int(dimensions) or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise _bad(
            BAD_INDEX_CONFIG, f"dimensions must be a whole number from 1 to {MAX_DIMENSIONS}"
        )
    if metric not in METRICS:
        raise _bad(BAD_INDEX_CONFIG, f"metric {metric!r} is unknown; {hint}")
    return dimensions, metric


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _list_indexes(store: VectorStore, _: str, __: Request, ___: EmulatorConfig) -> Any:
    return store.describe_all()


def _get_index(store: VectorStore, name: str, _: Request, __: EmulatorConfig) -> Any:
    with store.open(name) as index:
        return index.describe()


def _delete_index(store: VectorStore, name: str, _: Request, __: EmulatorConfig) -> Any:
    store.delete(name)
    return None


def _info(store: VectorStore, name: str, _: Request, __: EmulatorConfig) -> Any:
    with store.open(name) as index:
        return index.info()


# -- insert / upsert (§2.3) ------------------------------------------------------------------
def _insert(store: VectorStore, name: str, request: Request, config: EmulatorConfig) -> Any:
    return _write(store, name, request, config, "insert")


def _upsert(store: VectorStore, name: str, request: Request, config: EmulatorConfig) -> Any:
    return _write(store, name, request, config, "upsert")


def _write(
    store: VectorStore, name: str, request: Request, config: EmulatorConfig, kind: str
) -> Any:
    """Check every line, then queue one mutation; ``insert`` keeps an existing id's vector,
    ``upsert`` replaces it whole (values and metadata, no merge)."""
    discard = _discards(request.query)
    with store.open(name) as index:
        dimensions = index.dimensions
    vectors = parse_vectors(_upload(request), dimensions, discard)  # outside the lock
    with store.open(name) as index:
        if index.dimensions != dimensions:  # deleted and re-created meanwhile
            raise _bad(BAD_VECTOR, f"index {name!r} changed while the request was read")
        index.check_capacity(vectors)
        mutation = index.accept(kind, vectors, store.clock(), _lag_s(config))
    return {"mutationId": mutation}


def _discards(query: dict[str, list[str]]) -> bool:
    behaviour = query.get("unparsable-behavior", ["error"])[-1]
    if behaviour not in ("error", "discard"):
        raise _bad(BAD_VECTOR, f"unparsable-behavior={behaviour!r}: use 'error' or 'discard'")
    return behaviour == "discard"


def _upload(request: Request) -> bytes:
    """The NDJSON: the body, or the ``vectors`` file of a multipart form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return request.body
    try:
        parts = markdown.parse_multipart(request.body, content_type)
    except EmulatorError as exc:
        raise _bad(BAD_VECTOR, exc.message) from exc
    for _, params, data in parts:
        if params.get("name") == "vectors":
            return data
    raise _bad(BAD_VECTOR, "the multipart form has no 'vectors' file (files=dict(vectors=...))")


def parse_vectors(raw: bytes, dimensions: int, discard: bool = False) -> list[StoredVector]:
    """The vectors of an NDJSON body, checked; lines that are no JSON object are an error, or
    skipped with ``discard`` (``unparsable-behavior=discard``). A line that is an object but
    breaks a rule (id, values, namespace, metadata) is always an error.

    Raises:
        EmulatorError: 400 / 40003 naming the line (40004 too many vectors, 40007 metadata
            too large).
    """
    vectors: list[StoredVector] = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            item = jsonbody.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict):
            if discard:
                continue
            raise _bad(
                BAD_VECTOR,
                f"line {number}: not a JSON object (send NDJSON: one vector object per line)",
            )
        vectors.append(_vector(item, dimensions, number))
        if len(vectors) > MAX_VECTORS_PER_REQUEST:
            raise _bad(
                TOO_MANY_VECTORS,
                f"more than {MAX_VECTORS_PER_REQUEST} vectors in one request; send batches",
            )
    if not vectors:
        raise _bad(BAD_VECTOR, "no vectors in the body: send NDJSON, one vector object per line")
    return vectors


def _vector(item: dict[str, Any], dimensions: int, number: int) -> StoredVector:
    vector_id = item.get("id")
    if not isinstance(vector_id, str) or not vector_id or _utf8_len(vector_id) > MAX_ID_BYTES:
        raise _bad(BAD_VECTOR, f"line {number}: id must be a string of 1 to {MAX_ID_BYTES} bytes")
    where = f"line {number} (id {vector_id!r})"
    values = _float32s(item.get("values"))
    if values is None:
        raise _bad(BAD_VECTOR, f"{where}: values must be an array of finite float32 numbers")
    if len(values) != dimensions:
        raise _bad(
            BAD_VECTOR,
            f"{where}: values has {len(values)} dimensions; the index has {dimensions}",
        )
    namespace = item.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or _utf8_len(namespace) > MAX_NAMESPACE_BYTES
    ):
        raise _bad(BAD_VECTOR, f"{where}: namespace must be a string of at most 64 bytes")
    metadata = item.get("metadata")
    metadata = {} if metadata is None else metadata
    problem = check_metadata(metadata)
    if problem:
        raise _bad(BAD_VECTOR, f"{where}: {problem}")
    size = compact_size(metadata)
    if size > MAX_METADATA_BYTES:
        raise _bad(
            METADATA_TOO_LARGE,
            f"{where}: metadata is {size} bytes as compact JSON; at most {MAX_METADATA_BYTES}",
        )
    return StoredVector(vector_id, values, namespace, metadata)


def _float32s(values: Any) -> tuple[float, ...] | None:
    """``values`` stored as float32 and read back (``75.1`` -> ``75.0999984741211``, as the
    query result of §2.4 shows); ``None`` unless all are finite numbers in float32's range."""
    if not isinstance(values, list) or not all(type(v) in (int, float) for v in values):
        return None
    try:
        stored = array("f", values).tolist()
    except OverflowError:
        return None
    return tuple(stored) if all(math.isfinite(v) for v in stored) else None


# -- query (§2.4, §2.5) ----------------------------------------------------------------------
def _query(store: VectorStore, name: str, request: Request, _: EmulatorConfig) -> Any:
    body = _json_body(request)
    with store.open(name) as index:
        query = _Query(body, index.dimensions)
        matches = query.search(index)
    return {"count": len(matches), "matches": matches}


class _Query:
    """A checked query body."""

    def __init__(self, body: dict[str, Any], dimensions: int) -> None:
        self.top_k = body.get("topK", TOP_K_DEFAULT)
        self.values = body.get("returnValues", False)
        self.metadata = body.get("returnMetadata", "none")
        raw_filter = body.get("filter")
        self.namespace = body.get("namespace")
        if not _is_int(self.top_k) or self.top_k < 1:
            raise _bad_body("topK: invalid value, expected a positive integer")
        if not isinstance(self.values, bool):
            raise _bad_body("returnValues: invalid type, expected a boolean")
        if isinstance(self.metadata, bool):  # V1's boolean (§2.10's example)
            raise _bad_body("returnMetadata: expected value")
        if self.metadata not in ("none", "indexed", "all"):
            raise _bad_body(
                f"returnMetadata: unknown variant {self.metadata!r}, expected one of "
                "`none`, `indexed`, `all`"
            )
        if self.namespace is not None and not isinstance(self.namespace, str):
            raise _bad_body("namespace: invalid type, expected a string")
        self._check_top_k()
        self.vector = _query_vector(body.get("vector"), dimensions)
        try:
            self.filter = () if raw_filter is None else parse_filter(raw_filter)
        except FilterError as exc:
            raise _bad(BAD_FILTER, f"invalid filter: {exc}") from exc

    def _check_top_k(self) -> None:
        if self.values or self.metadata == "all":
            if self.top_k > TOP_K_MAX_WITH_DATA:
                raise _bad(
                    TOP_K_TOO_HIGH,
                    "with returnValues=true or returnMetadata=all, max top K is "
                    f"{TOP_K_MAX_WITH_DATA}, but got {self.top_k}",
                )
        elif self.top_k > TOP_K_MAX:
            raise _bad(TOP_K_TOO_HIGH, f"max top K is {TOP_K_MAX}, but got {self.top_k}")

    def search(self, index: VectorIndex) -> list[dict[str, Any]]:
        """The best ``topK`` matches: namespace first, then the filter, then the scores."""
        candidates: Iterable[StoredVector] = index.vectors.values()
        if self.namespace is not None:
            candidates = (v for v in candidates if v.namespace == self.namespace)
        if self.filter:
            candidates = (v for v in candidates if _passes(index, v, self.filter))
        score = _SCORES[index.metric]
        scored = ((score(self.vector, v.values), v) for v in candidates)
        if index.metric == "cosine":  # similarity: higher first
            best = heapq.nsmallest(self.top_k, scored, key=lambda sv: (-sv[0], sv[1].id))
        else:  # distances: lower first
            best = heapq.nsmallest(self.top_k, scored, key=lambda sv: (sv[0], sv[1].id))
        return [self._match(index, vector, value) for value, vector in best]

    def _match(self, index: VectorIndex, vector: StoredVector, score: float) -> dict[str, Any]:
        match: dict[str, Any] = {"id": vector.id, "score": score}
        if self.values:
            match["values"] = list(vector.values)
        if self.metadata == "all":
            match["metadata"] = vector.metadata
        elif self.metadata == "indexed":
            match["metadata"] = _indexed_metadata(index, vector)
        if vector.namespace is not None:
            match["namespace"] = vector.namespace
        return match


def _query_vector(value: Any, dimensions: int) -> tuple[float, ...]:
    """The query vector; a missing one counts as 0 dimensions (§2.10's message)."""
    value = [] if value is None else value
    if not isinstance(value, list) or not all(
        type(v) in (int, float) and math.isfinite(v) for v in value
    ):
        raise _bad_body("vector: invalid type, expected a sequence of finite numbers")
    if len(value) != dimensions:
        raise _bad(
            BAD_QUERY_VECTOR,
            f"invalid query vector, expected {dimensions} dimensions, "
            f"and got {len(value)} dimensions",
        )
    return tuple(float(v) for v in value)


def _dot(left: tuple[float, ...], right: tuple[float, ...]) -> float:
    return float(sum(map(mul, left, right)))


def _cosine(query: tuple[float, ...], values: tuple[float, ...]) -> float:
    norms = math.sqrt(_dot(query, query) * _dot(values, values))
    return _dot(query, values) / norms if norms else 0.0


def _euclidean(query: tuple[float, ...], values: tuple[float, ...]) -> float:
    return math.dist(query, values)


def _negative_dot(query: tuple[float, ...], values: tuple[float, ...]) -> float:
    return -_dot(query, values)


_SCORES: dict[str, Callable[[tuple[float, ...], tuple[float, ...]], float]] = {
    "cosine": _cosine,
    "euclidean": _euclidean,
    "dot-product": _negative_dot,
}


def _passes(index: VectorIndex, vector: StoredVector, conditions: tuple[Condition, ...]) -> bool:
    """Every condition holds on the vector's indexed values; a property without a metadata
    index, or one created after the vector was written, matches nothing (§2.7)."""
    for condition in conditions:
        metadata_index = index.metadata_indexes.get(condition.key)
        entry = vector.indexed.get(condition.key)
        if metadata_index is None or entry is None or entry[0] != metadata_index.generation:
            return False
        if not holds(condition, entry[1]):
            return False
    return True


def _indexed_metadata(index: VectorIndex, vector: StoredVector) -> dict[str, Any]:
    """``returnMetadata: "indexed"``: only the indexed properties, strings cut to 64 bytes."""
    out: dict[str, Any] = {}
    for prop, metadata_index in index.metadata_indexes.items():
        entry = vector.indexed.get(prop)
        if entry is None or entry[0] != metadata_index.generation or entry[1] is None:
            continue
        outer, _, inner = prop.partition(".")
        if inner:
            out.setdefault(outer, {})[inner] = entry[1]
        else:
            out[prop] = entry[1]
    return out


# -- by ids, list vectors (§2.6) -------------------------------------------------------------
def _ids(request: Request) -> list[str]:
    body = _json_body(request)
    if "ids" not in body:
        raise _bad_body("missing field `ids`")
    ids = body["ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _bad_body("ids: invalid type, expected a sequence of strings")
    return list(dict.fromkeys(ids))


def _get_by_ids(store: VectorStore, name: str, request: Request, _: EmulatorConfig) -> Any:
    ids = _ids(request)
    with store.open(name) as index:
        found = [index.vectors[i] for i in ids if i in index.vectors]
    return [_vector_json(vector) for vector in found]


def _vector_json(vector: StoredVector) -> dict[str, Any]:
    out: dict[str, Any] = {"id": vector.id, "values": list(vector.values)}
    out["metadata"] = vector.metadata
    if vector.namespace is not None:
        out["namespace"] = vector.namespace
    return out


def _delete_by_ids(store: VectorStore, name: str, request: Request, config: EmulatorConfig) -> Any:
    ids = _ids(request)
    with store.open(name) as index:
        return {"mutationId": index.accept("delete", ids, store.clock(), _lag_s(config))}


def _list_vectors(store: VectorStore, name: str, request: Request, _: EmulatorConfig) -> Any:
    """A page of ids (sorted) from the snapshot taken at the first call; a cursor can be
    used again (a retry gets the same page) until it expires."""
    count = _list_count(request.query)
    token = request.query.get("cursor", [""])[-1]
    with store.open(name) as index:
        now = store.clock()
        _drop_stale_cursors(index, now)
        if token:
            position = index.cursors.get(token)
            if position is None:
                raise _bad(BAD_LIST_REQUEST, f"cursor {token!r} is unknown or has expired")
        else:
            expires_on = iso_time(_wall_in(CURSOR_TTL_S))
            position = ListCursor(tuple(sorted(index.vectors)), 0, now + CURSOR_TTL_S, expires_on)
        page = position.ids[position.offset : position.offset + count]
        following = position.offset + len(page)
        result: dict[str, Any] = {
            "count": len(page),
            "totalCount": len(position.ids),
            "isTruncated": following < len(position.ids),
            "nextCursor": None,
            "cursorExpirationTimestamp": None,
            "vectors": [{"id": vector_id} for vector_id in page],
        }
        if result["isTruncated"]:
            next_token = uuid.uuid4().hex
            index.cursors[next_token] = ListCursor(
                position.ids, following, position.expires_at, position.expires_on
            )
            result["nextCursor"] = next_token
            result["cursorExpirationTimestamp"] = position.expires_on
    return result


def _list_count(query: dict[str, list[str]]) -> int:
    raw = query.get("count", [str(LIST_COUNT_DEFAULT)])[-1]
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if not 1 <= count <= LIST_COUNT_MAX:
        raise _bad(
            BAD_LIST_REQUEST, f"count={raw!r}: use a whole number from 1 to {LIST_COUNT_MAX}"
        )
    return count


def _wall_in(seconds: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)


def _drop_stale_cursors(index: VectorIndex, now: float) -> None:
    """Forget expired cursors, and the oldest past :data:`_MAX_CURSORS`."""
    for token in [t for t, c in index.cursors.items() if c.expires_at <= now]:
        del index.cursors[token]
    while len(index.cursors) >= _MAX_CURSORS:
        del index.cursors[next(iter(index.cursors))]


# -- metadata indexes (§2.7) -----------------------------------------------------------------
def _property(body: dict[str, Any]) -> str:
    if "propertyName" not in body:
        raise _bad_body("missing field `propertyName`")
    try:
        return check_property(body["propertyName"], "propertyName")
    except FilterError as exc:
        raise _bad(BAD_METADATA_INDEX, str(exc)) from exc


def _create_metadata_index(
    store: VectorStore, name: str, request: Request, config: EmulatorConfig
) -> Any:
    """Index a property for filtering; vectors written before it is applied stay unindexed
    until they are written again (§2.7)."""
    body = _json_body(request)
    prop = _property(body)
    index_type = body.get("indexType")
    if index_type not in INDEX_TYPES:
        raise _bad_body(
            f"indexType: unknown variant {index_type!r}, expected one of "
            + ", ".join(f"`{t}`" for t in INDEX_TYPES)
        )
    with store.open(name) as index:
        if prop in index.declared:
            raise _bad(BAD_METADATA_INDEX, f"a metadata index on property {prop!r} exists already")
        if len(index.declared) >= MAX_METADATA_INDEXES:
            raise _bad(
                BAD_METADATA_INDEX,
                f"index {name!r} has {MAX_METADATA_INDEXES} metadata indexes, the most allowed",
            )
        mutation = index.accept(
            "create_metadata_index", (prop, index_type), store.clock(), _lag_s(config)
        )
    return {"mutationId": mutation}


def _delete_metadata_index(
    store: VectorStore, name: str, request: Request, config: EmulatorConfig
) -> Any:
    prop = _property(_json_body(request))
    with store.open(name) as index:
        if prop not in index.declared:
            raise _bad(BAD_METADATA_INDEX, f"there is no metadata index on property {prop!r}")
        mutation = index.accept("delete_metadata_index", prop, store.clock(), _lag_s(config))
    return {"mutationId": mutation}


def _list_metadata_indexes(store: VectorStore, name: str, _: Request, __: EmulatorConfig) -> Any:
    """The applied metadata indexes, ``indexType`` capitalised as observed (§2.7)."""
    with store.open(name) as index:
        found = list(index.metadata_indexes.values())
    return {
        "metadataIndexes": [
            {"propertyName": m.property, "indexType": m.type.capitalize()} for m in found
        ]
    }


_HANDLERS: dict[str, Handler] = {
    "vectorize_create": _create_index,
    "vectorize_list": _list_indexes,
    "vectorize_get": _get_index,
    "vectorize_delete": _delete_index,
    "vectorize_info": _info,
    "vectorize_insert": _insert,
    "vectorize_upsert": _upsert,
    "vectorize_query": _query,
    "vectorize_get_by_ids": _get_by_ids,
    "vectorize_delete_by_ids": _delete_by_ids,
    "vectorize_list_vectors": _list_vectors,
    "vectorize_metadata_index_create": _create_metadata_index,
    "vectorize_metadata_index_list": _list_metadata_indexes,
    "vectorize_metadata_index_delete": _delete_metadata_index,
}
