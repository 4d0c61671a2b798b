"""Vectorize V2 requests and answers (platform spec §2), pure: checks, bodies, parsers.

Everything a request carries is checked here before anything is sent (index names, ids,
namespaces, values against the index's dimensions, metadata keys and size, ``top_k`` limits),
with errors that name the offending vector or key. Writes are NDJSON, one vector per line, cut
into batches within the HTTP API's limits. Answers are read into the neutral types of
:mod:`workers_ai.vectorize.types`; an answer of the wrong shape is an
``APIResponseValidationError``, never a ``KeyError``.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError, InvalidRequestError
from workers_ai.validators import validate_path_segment
from workers_ai.vectorize.filters import check_filter
from workers_ai.vectorize.types import (
    METRICS,
    IndexInfo,
    IndexStats,
    Match,
    MetadataIndex,
    Mutation,
    QueryResult,
    Vector,
    VectorPage,
)

__all__ = [
    "DEFAULT_WRITE_BATCH",
    "GET_BY_IDS_BATCH",
    "LIST_PAGE_MAX",
    "MAX_DIMENSIONS",
    "MAX_METADATA_BYTES",
    "MAX_UPLOAD_BYTES",
    "MAX_WRITE_BATCH",
    "TOP_K_MAX",
    "TOP_K_MAX_WITH_DATA",
    "check_dimensions",
    "check_ids",
    "check_index_name",
    "check_metadata",
    "check_metric",
    "check_namespace",
    "create_index_body",
    "encode_vectors",
    "parse_index",
    "parse_indexes",
    "parse_metadata_indexes",
    "parse_mutation",
    "parse_page",
    "parse_query",
    "parse_stats",
    "parse_vectors",
    "plan_batches",
    "query_body",
]

#: Limits (spec §2.9): HTTP API writes take up to 5,000 vectors and 100 MB per request.
#: The embedding models an index can be created for by name (``config.preset``, spec §2.2).
PRESETS = (
    "@cf/baai/bge-small-en-v1.5",
    "@cf/baai/bge-base-en-v1.5",
    "@cf/baai/bge-large-en-v1.5",
    "openai/text-embedding-ada-002",
    "cohere/embed-multilingual-v2.0",
)
MAX_WRITE_BATCH = 5000
DEFAULT_WRITE_BATCH = 1000
MAX_UPLOAD_BYTES = 100_000_000
_UPLOAD_MARGIN = 1_000_000
MAX_DIMENSIONS = 1536
MAX_ID_BYTES = 64
MAX_METADATA_BYTES = 10 * 1024
TOP_K_MAX = 100
#: ``top_k`` limit with ``return_values=True`` or ``return_metadata="all"`` (20 before 2026-03).
TOP_K_MAX_WITH_DATA = 50
LIST_PAGE_MAX = 1000
MAX_METADATA_INDEXES = 10
#: Ids per ``get_by_ids`` request: the maximum is undocumented (spec: open question 3).
GET_BY_IDS_BATCH = 100
#: float32's largest finite value: Vectorize stores values as float32.
_FLOAT32_MAX = 3.4028234663852886e38
_RETURN_METADATA = ("none", "indexed", "all")


# -- names and ids ------------------------------------------------------------------------------
def _byte_length(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def check_index_name(name: object) -> str:
    """``name`` if usable as an index name (one URL segment, at most 64 bytes), else raise."""
    validate_path_segment(name, "Vectorize index name")
    assert isinstance(name, str)
    if _byte_length(name) > MAX_ID_BYTES:
        raise InvalidRequestError(
            f"Vectorize index name {name[:20]!r}... is over {MAX_ID_BYTES} bytes; pick a "
            "shorter one"
        )
    return name


def _check_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{where}: a vector id must be a non-empty string, got {value!r}")
    if _byte_length(value) > MAX_ID_BYTES:
        raise InvalidRequestError(
            f"{where}: vector id {value[:20]!r}... is {_byte_length(value)} bytes; Vectorize "
            f"takes at most {MAX_ID_BYTES} (hash long ids, e.g. hashlib.sha256(id).hexdigest())"
        )
    return value


def check_ids(ids: object) -> list[str]:
    """A list of vector ids (a single string is refused: wrap it in a list)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise InvalidRequestError(f"ids must be a list of vector ids, got {type(ids).__name__}")
    return [_check_id(item, f"ids[{i}]") for i, item in enumerate(ids)]


def check_namespace(namespace: object, where: str = "namespace") -> str | None:
    if namespace is None:
        return None
    if not isinstance(namespace, str) or not namespace:
        raise InvalidRequestError(f"{where} must be a non-empty string or None, got {namespace!r}")
    if _byte_length(namespace) > MAX_ID_BYTES:
        raise InvalidRequestError(f"{where} {namespace[:20]!r}... is over {MAX_ID_BYTES} bytes")
    return namespace


def check_metric(metric: object) -> str:
    if metric not in METRICS:
        raise InvalidRequestError(
            f"metric must be one of {', '.join(METRICS)}, got {metric!r} (cosine suits the "
            "Workers AI embedding models)"
        )
    assert isinstance(metric, str)
    return metric


def check_dimensions(dimensions: object) -> int:
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise InvalidRequestError(f"dimensions must be an int, got {dimensions!r}")
    if not 1 <= dimensions <= MAX_DIMENSIONS:
        raise InvalidRequestError(
            f"dimensions must be between 1 and {MAX_DIMENSIONS} (Vectorize's limit), got "
            f"{dimensions}"
        )
    return dimensions


def create_index_body(
    name: str, dimensions: int | None, metric: str, description: str | None, preset: str | None
) -> dict[str, Any]:
    """``POST /indexes``: ``config`` is ``{"dimensions", "metric"}`` or ``{"preset"}``."""
    body: dict[str, Any] = {"name": check_index_name(name)}
    if description is not None:
        if not isinstance(description, str):
            raise InvalidRequestError(f"description must be a string, got {description!r}")
        body["description"] = description
    if preset is not None:
        if dimensions is not None:
            raise InvalidRequestError("pass dimensions and metric, or a preset, not both")
        if preset not in PRESETS:
            raise InvalidRequestError(
                f"preset must be one of {', '.join(PRESETS)}, got {preset!r} (or pass "
                "dimensions=..., or model=<an embedding model>)"
            )
        body["config"] = {"preset": preset}
    else:
        if dimensions is None:
            raise InvalidRequestError(
                "dimensions is needed: pass dimensions=..., or model=<an embedding model> to "
                "take its size from the catalog"
            )
        body["config"] = {
            "dimensions": check_dimensions(dimensions),
            "metric": check_metric(metric),
        }
    return body


# -- vectors ------------------------------------------------------------------------------------
def _metadata_value_ok(value: object, nested: bool) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (str, int, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, str) for v in value)
    if isinstance(value, Mapping) and not nested:
        return all(isinstance(k, str) and _metadata_value_ok(v, True) for k, v in value.items())
    return False


def _check_metadata_key(key: object, where: str) -> None:
    if not isinstance(key, str) or not key or "." in key or '"' in key or key.startswith("$"):
        raise InvalidRequestError(
            f"{where}: metadata key {key!r} is not allowed: keys must be non-empty strings "
            "without '.' or '\"' and not starting with '$'"
        )


def check_metadata(metadata: object, where: str) -> dict[str, Any]:
    """A vector's metadata, checked: keys, value types (one nested level), at most 10 KiB."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(
            f"{where}: metadata must be a mapping, got {type(metadata).__name__}"
        )
    for key, value in metadata.items():
        _check_metadata_key(key, where)
        if isinstance(value, Mapping):
            for inner in value:
                _check_metadata_key(inner, f"{where} {key!r}")
        if not _metadata_value_ok(value, False):
            raise InvalidRequestError(
                f"{where}: metadata {key!r} = {value_excerpt(value)} is not storable: values are "
                "strings, finite numbers, booleans, lists of strings, or one nested object of those"
            )
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in metadata.items()}
    size = _byte_length(json.dumps(plain, separators=(",", ":"), ensure_ascii=False))
    if size > MAX_METADATA_BYTES:
        raise InvalidRequestError(
            f"{where}: metadata is {size:,} bytes as JSON; Vectorize stores at most "
            f"{MAX_METADATA_BYTES:,} per vector (store long text elsewhere, or split it)"
        )
    return plain


def _as_list(values: object) -> object:
    """An array's values as a list (numpy arrays and the like have ``tolist``)."""
    if not isinstance(values, (Sequence, str, bytes)) and callable(getattr(values, "tolist", None)):
        return values.tolist()  # type: ignore[attr-defined]
    return values


def _check_values(values: object, where: str, dimensions: int | None) -> list[float]:
    values = _as_list(values)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidRequestError(f"{where}: values must be a list of numbers")
    out: list[float] = []
    for i, x in enumerate(values):
        if isinstance(x, bool) or not isinstance(x, Real) or not abs(float(x)) <= _FLOAT32_MAX:
            raise InvalidRequestError(
                f"{where}: values[{i}] = {x!r} is not a finite float32 number"
            )
        out.append(float(x))
    if dimensions is not None and len(out) != dimensions:
        raise InvalidRequestError(
            f"{where}: {len(out)} values, but the index has {dimensions} dimensions (was it "
            "created for another embedding model?)"
        )
    if not out:
        raise InvalidRequestError(f"{where}: values is empty")
    return out


def _values_text(values: object, where: str, dimensions: int | None) -> str:
    """``values`` as JSON numbers of the float32 Vectorize stores them as: 9 significant digits
    give back exactly that float32, in a third of the time (and bytes) of a double's repr.

    Checked as :func:`_check_values` checks (numbers only, finite as float32, the index's
    length); the fast path converts in C, the slow one names the offending value.
    """
    fast = False
    values = _as_list(values)
    if isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        try:
            stored = array("f", values)
            # a NaN, an infinity or a double beyond float32 (stored as inf) makes the sum so
            fast = bool not in map(type, values) and math.isfinite(sum(stored))
        except (TypeError, OverflowError, ValueError):  # not numbers: the slow path says which
            pass
    if not fast:
        stored = array("f", _check_values(values, where, dimensions))
    if (dimensions is not None and len(stored) != dimensions) or not stored:
        _check_values(values, where, dimensions)  # raises, naming the lengths
    return ("%.9g," * len(stored) % tuple(stored))[:-1]


_FIELDS = ("id", "values", "metadata", "namespace")


def _vector_line(
    vector: Vector | Mapping[str, Any], i: int, dimensions: int | None
) -> tuple[str, bytes]:
    """Vector ``i``'s id and NDJSON line, checked (errors name it by position and id)."""
    vid: object
    values: object
    meta: object
    ns: object
    if isinstance(vector, Vector):
        vid, values, meta, ns = vector.id, vector.values, vector.metadata, vector.namespace
        unknown: set[Any] = set()
    elif isinstance(vector, Mapping):
        vid, values, meta, ns = (vector.get(name) for name in _FIELDS)
        unknown = set(vector) - set(_FIELDS)
    else:
        raise InvalidRequestError(
            f"vectors[{i}]: a vector is a Vector or a mapping with id and values, got "
            f"{type(vector).__name__}"
        )
    where = f"vectors[{i}] (id {vid!r})" if isinstance(vid, str) and vid else f"vectors[{i}]"
    if unknown:
        raise InvalidRequestError(f"{where}: unknown vector fields {sorted(unknown)}")
    vector_id = _check_id(vid, where)
    parts = ['{"id":', _json(vector_id), ',"values":[']
    parts += [_values_text(values, where, dimensions), "]"]
    if ns is not None:
        parts += [',"namespace":', _json(check_namespace(ns, f"{where}: namespace"))]
    metadata = check_metadata(meta, where)
    if metadata:
        parts += [',"metadata":', _json(metadata)]
    parts.append("}\n")
    return vector_id, "".join(parts).encode("utf-8")


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_vectors(
    vectors: Sequence[Vector | Mapping[str, Any]], dimensions: int | None
) -> list[bytes]:
    """One NDJSON line per vector, every vector checked first (nothing is sent if one is bad).

    Raises:
        InvalidRequestError: naming the vector (its position and id) and what to change; also
            for an id given twice (a write would keep only one of them).
    """
    if isinstance(vectors, (str, bytes, Mapping)) or not isinstance(vectors, Sequence):
        raise InvalidRequestError("vectors must be a list of vectors")
    lines: list[bytes] = []
    seen: dict[str, int] = {}
    for i, vector in enumerate(vectors):
        vector_id, line = _vector_line(vector, i, dimensions)
        if vector_id in seen:  # ids are unique in an index, whatever their namespace
            raise InvalidRequestError(
                f"vectors[{i}]: id {vector_id!r} is also vectors[{seen[vector_id]}]; ids must "
                "be unique in one write (and are unique across an index's namespaces)"
            )
        seen[vector_id] = i
        lines.append(line)
    return lines


def plan_batches(lines: Sequence[bytes], batch_size: int) -> list[tuple[int, int]]:
    """``(start, end)`` ranges of at most ``batch_size`` lines and under the upload limit."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not (1 <= batch_size <= MAX_WRITE_BATCH)
    ):
        raise InvalidRequestError(
            f"batch_size must be an int from 1 to {MAX_WRITE_BATCH} (the HTTP API's limit), "
            f"got {batch_size!r}"
        )
    ranges: list[tuple[int, int]] = []
    start, size = 0, 0
    budget = MAX_UPLOAD_BYTES - _UPLOAD_MARGIN
    for i, line in enumerate(lines):
        if i > start and (i - start >= batch_size or size + len(line) > budget):
            ranges.append((start, i))
            start, size = i, 0
        size += len(line)
    if start < len(lines):
        ranges.append((start, len(lines)))
    return ranges


# -- queries ------------------------------------------------------------------------------------
def _return_metadata(value: object) -> str:
    if value is True or value is False:  # the binding's boolean form (spec §2.10)
        return "all" if value else "none"
    if value not in _RETURN_METADATA:
        raise InvalidRequestError(
            f"return_metadata must be 'none', 'indexed' or 'all', got {value!r}"
        )
    assert isinstance(value, str)
    return value


def query_body(
    vector: Sequence[float],
    *,
    top_k: int,
    return_values: bool,
    return_metadata: object,
    filter: Mapping[str, Any] | None,
    namespace: str | None,
    dimensions: int | None,
    indexed: Mapping[str, str] | None,
) -> dict[str, Any]:
    """``POST /{index}/query``'s body, checked (``top_k`` limits, dimensions, the filter)."""
    metadata = _return_metadata(return_metadata)
    if not isinstance(return_values, bool):
        raise InvalidRequestError(f"return_values must be True or False, got {return_values!r}")
    limit = TOP_K_MAX_WITH_DATA if return_values or metadata == "all" else TOP_K_MAX
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= limit:
        why = " with return_values=True or return_metadata='all'" if limit < TOP_K_MAX else ""
        raise InvalidRequestError(
            f"top_k must be from 1 to {limit}{why}, got {top_k!r}"
            + ("; use return_metadata='indexed' or 'none' for up to 100" if why else "")
        )
    body: dict[str, Any] = {
        "vector": _check_values(vector, "query vector", dimensions),
        "topK": top_k,
        "returnValues": return_values,
        "returnMetadata": metadata,
    }
    if filter is not None:
        body["filter"] = check_filter(filter, indexed=indexed)
    if namespace is not None:
        body["namespace"] = check_namespace(namespace)
    return body


# -- answers ------------------------------------------------------------------------------------
def _bad(what: str, data: Any) -> APIResponseValidationError:
    return APIResponseValidationError(f"Vectorize answered {what}", body=value_excerpt(data))


def _obj(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _bad(f"no object for {what}", data)
    return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_index(data: Any) -> IndexInfo:
    obj = _obj(data, "an index")
    name = obj.get("name")
    if not isinstance(name, str):
        raise _bad("an index without a name", data)
    raw_config = obj.get("config")
    config: Mapping[str, Any] = raw_config if isinstance(raw_config, Mapping) else {}
    return IndexInfo(
        name=name,
        dimensions=_int(config.get("dimensions")),
        metric=_str(config.get("metric")),
        description=_str(obj.get("description")),
        preset=_str(config.get("preset")),
        created_on=_str(obj.get("created_on")),
        modified_on=_str(obj.get("modified_on")),
    )


def parse_indexes(data: Any) -> list[IndexInfo]:
    if not isinstance(data, list):
        raise _bad("no list of indexes", data)
    return [parse_index(item) for item in data]


def parse_stats(data: Any) -> IndexStats:
    obj = _obj(data, "index info")
    return IndexStats(
        dimensions=_int(obj.get("dimensions")),
        vector_count=_int(obj.get("vectorCount")) or 0,
        processed_up_to_mutation=_str(obj.get("processedUpToMutation")),
        processed_up_to_datetime=_str(obj.get("processedUpToDatetime")),
    )


def parse_mutation(data: Any, count: int = 0) -> Mutation:
    obj = _obj(data, "a write")
    mutation = obj.get("mutationId")
    if not isinstance(mutation, str) or not mutation:
        raise _bad("a write without a mutationId", data)
    return Mutation(mutation, count)


def _floats(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(float(x) for x in value if isinstance(x, (int, float)) and not isinstance(x, bool))


def _meta(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def parse_query(data: Any) -> QueryResult:
    obj = _obj(data, "a query")
    raw = obj.get("matches")
    if not isinstance(raw, list):
        raise _bad("a query without matches", data)
    matches = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise _bad("a match without an id", item)
        score = item.get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise _bad(f"match {item['id']!r} without a numeric score", item)
        matches.append(
            Match(
                id=item["id"],
                score=float(score),
                values=_floats(item.get("values")),
                metadata=_meta(item.get("metadata")),
                namespace=_str(item.get("namespace")),
            )
        )
    return QueryResult(tuple(matches), len(matches))


def parse_vectors(data: Any) -> list[Vector]:
    """``get_by_ids``' answer: a list of vectors (ids not stored are simply absent)."""
    if not isinstance(data, list):
        raise _bad("no list of vectors", data)
    out = []
    for item in data:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise _bad("a vector without an id", item)
        out.append(
            Vector(
                id=item["id"],
                values=_floats(item.get("values")),
                metadata=_meta(item.get("metadata")),
                namespace=_str(item.get("namespace")),
            )
        )
    return out


def parse_page(data: Any) -> VectorPage:
    obj = _obj(data, "a list of vectors")
    raw = obj.get("vectors")
    if not isinstance(raw, list):
        raise _bad("a vector list without vectors", data)
    ids = tuple(v["id"] for v in raw if isinstance(v, Mapping) and isinstance(v.get("id"), str))
    truncated = obj.get("isTruncated") is True
    return VectorPage(
        ids=ids,
        total_count=_int(obj.get("totalCount")) or len(ids),
        is_truncated=truncated,
        next_cursor=_str(obj.get("nextCursor")) if truncated else None,
        cursor_expiration=_str(obj.get("cursorExpirationTimestamp")),
    )


def parse_metadata_indexes(data: Any) -> list[MetadataIndex]:
    obj = _obj(data, "metadata indexes")
    raw = obj.get("metadataIndexes", [])
    if not isinstance(raw, list):
        raise _bad("metadataIndexes that is no list", data)
    return [
        MetadataIndex(item["propertyName"], str(item.get("indexType", "")).lower())
        for item in raw
        if isinstance(item, Mapping) and isinstance(item.get("propertyName"), str)
    ]
