"""AI Search options (platform spec §3.2, §3.3), checked and written for each route family.

One set of Python options serves both families; :func:`legacy_body` writes them as the AutoRAG
routes' fields (``max_num_results``, ``ranking_options.score_threshold``, ``rewrite_query``,
``reranking``, legacy ``filters``), :func:`instance_body` as the AI Search routes'
``ai_search_options`` (``retrieval``, ``query_rewrite``, ``reranking``...). An option one
family does not have raises naming it, instead of being dropped. No I/O.

Filters are given in Vectorize's syntax (platform spec §2.5: ``{"folder": "docs/"}``,
``{"timestamp": {"$gte": 1735689600}}``), which the AI Search routes take; for the legacy
routes they are translated into comparison/compound filters, which allow no nesting and an OR
only of equalities on one key (``$in``). A legacy-format filter (``{"type": ...}``) is accepted
as is for the legacy routes, after the same checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from workers_ai.errors import InvalidRequestError
from workers_ai.vectorize.filters import FilterError, check_filter

__all__ = [
    "MAX_RESULTS",
    "SearchOptions",
    "instance_body",
    "legacy_body",
    "legacy_filter",
    "vectorize_filter",
]

#: ``max_num_results`` range (both families).
MAX_RESULTS = 50
_LEGACY_OPS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_LEGACY_TYPES = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
_RETRIEVAL_TYPES = ("vector", "keyword", "hybrid")
_FUSION = ("max", "rrf")
_MATCH_MODES = ("and", "or")
_CACHE = ("super_strict_match", "close_enough", "flexible_friend", "anything_goes")


@dataclass(frozen=True)
class SearchOptions:
    """The options of a search or an answer; ``None`` leaves the instance's own setting.

    Both families:
        max_results: Results to return, 1 to 50 (``max_num_results``).
        score_threshold: Least relevance, 0 to 1 (legacy ``ranking_options.score_threshold``;
            new ``retrieval.match_threshold``).
        rewrite_query: Let the service rewrite the query first (``rewrite_query`` /
            ``query_rewrite.enabled``).
        reranking: Rerank the results (``reranking.enabled``); ``reranking_model`` picks the
            model (``@cf/baai/bge-reranker-base``).
        filters: Metadata filters in Vectorize's syntax (or, legacy routes, their own format).
        model: The generation model of answers.
        system_prompt: The system prompt of answers (new routes: a system message).

    AI Search routes only (``ai_search_options``): ``retrieval_type`` (vector, keyword,
    hybrid), ``fusion_method`` (max, rrf), ``keyword_match_mode`` (and, or),
    ``context_expansion``, ``metadata_only``, ``return_on_failure``, ``boost_by``,
    ``rewrite_model``, ``rewrite_prompt``, ``reranking_threshold``, ``cache_threshold``;
    ``extra`` is merged into ``ai_search_options`` as given (options newer than this client).

    Legacy routes only: ``ranker`` (``ranking_options.ranker``).
    """

    max_results: int | None = None
    score_threshold: float | None = None
    rewrite_query: bool | None = None
    reranking: bool | None = None
    reranking_model: str | None = None
    filters: Mapping[str, Any] | None = None
    model: str | None = None
    system_prompt: str | None = None
    retrieval_type: Literal["vector", "keyword", "hybrid"] | None = None
    fusion_method: Literal["max", "rrf"] | None = None
    keyword_match_mode: Literal["and", "or"] | None = None
    context_expansion: int | None = None
    metadata_only: bool | None = None
    return_on_failure: bool | None = None
    boost_by: Sequence[Mapping[str, str]] | None = None
    rewrite_model: str | None = None
    rewrite_prompt: str | None = None
    reranking_threshold: float | None = None
    cache_threshold: str | None = None
    ranker: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_range("max_results", self.max_results, 1, MAX_RESULTS, integer=True)
        for name in ("score_threshold", "reranking_threshold"):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        for name in ("rewrite_query", "reranking", "metadata_only", "return_on_failure"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InvalidRequestError(f"{name} must be True or False, got {value!r}")
        for name, allowed in (
            ("retrieval_type", _RETRIEVAL_TYPES),
            ("fusion_method", _FUSION),
            ("keyword_match_mode", _MATCH_MODES),
            ("cache_threshold", _CACHE),
        ):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise InvalidRequestError(
                    f"{name} must be one of {', '.join(allowed)}, got {value!r}"
                )
        for name in ("model", "system_prompt", "reranking_model", "rewrite_model",
                     "rewrite_prompt", "ranker"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidRequestError(f"{name} must be a string, got {value!r}")
        if self.filters is not None and not isinstance(self.filters, Mapping):
            raise InvalidRequestError(f"filters must be a mapping, got {self.filters!r}")
        if self.context_expansion is not None and (
            isinstance(self.context_expansion, bool)
            or not isinstance(self.context_expansion, int)
            or self.context_expansion < 0
        ):
            raise InvalidRequestError(
                f"context_expansion must be an int, 0 or more, got {self.context_expansion!r}"
            )
        _check_boost_by(self.boost_by)
        if not isinstance(self.extra, Mapping):
            raise InvalidRequestError(f"extra must be a mapping, got {self.extra!r}")

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> SearchOptions:
        """From keyword arguments; an unknown one raises with the known names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidRequestError(
                f"unknown AI Search option(s) {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(sorted(known))}"
            )
        return cls(**options)


_DIRECTIONS = ("asc", "desc", "exists", "not_exists")


def _check_boost_by(boost_by: object) -> None:
    """``boost_by``: a list of ``{"field": str, "direction": asc|desc|exists|not_exists}``."""
    if boost_by is None:
        return
    if isinstance(boost_by, (str, bytes, Mapping)) or not isinstance(boost_by, Sequence):
        raise InvalidRequestError(
            "boost_by must be a list of {'field': ..., 'direction': 'asc'|'desc'|'exists'|"
            f"'not_exists'}}, got {boost_by!r}"
        )
    for i, item in enumerate(boost_by):
        ok = (
            isinstance(item, Mapping)
            and set(item) <= {"field", "direction"}
            and isinstance(item.get("field"), str)
            and item.get("direction", "asc") in _DIRECTIONS
        )
        if not ok:
            raise InvalidRequestError(
                f"boost_by[{i}] = {item!r}: give {{'field': <metadata key>, 'direction': "
                f"{'|'.join(_DIRECTIONS)}}}"
            )


def _check_range(
    name: str, value: object, low: float, high: float, *, integer: bool = False
) -> None:
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or not (math.isfinite(value) and low <= value <= high)
    ):
        what = "an int" if integer else "a number"
        raise InvalidRequestError(f"{name} must be {what} from {low:g} to {high:g}, got {value!r}")


# -- legacy AutoRAG routes ----------------------------------------------------------------------
_NEW_ONLY = (
    "retrieval_type", "fusion_method", "keyword_match_mode", "context_expansion",
    "metadata_only", "return_on_failure", "boost_by", "rewrite_model", "rewrite_prompt",
    "reranking_threshold", "cache_threshold",
)  # fmt: skip


def _legacy_comparison(key: str, op: str, value: Any) -> dict[str, Any]:
    if value is None or isinstance(value, (list, tuple)):
        raise FilterError(
            f"filter {key!r}: the legacy AutoRAG routes compare with a string, number or "
            f"boolean, not {value!r}",
            key=key,
        )
    return {"type": _LEGACY_OPS[op], "key": key, "value": value}


def _legacy_from_vectorize(filter: Mapping[str, Any]) -> dict[str, Any]:
    plain = check_filter(filter)
    items: list[dict[str, Any]] = []
    alternatives: list[dict[str, Any]] = []
    for key, condition in plain.items():
        ops = condition if isinstance(condition, Mapping) else {"$eq": condition}
        for op, value in ops.items():
            if op == "$in" and len(value) == 1:  # one value: an equality, ANDed like others
                items.append(_legacy_comparison(key, "$eq", value[0]))
            elif op == "$in":
                if alternatives:
                    raise FilterError(
                        f"filter {key!r}: the legacy AutoRAG routes allow one OR ($in) per "
                        "filter, and this one has two; use an AI Search instance route",
                        key=key,
                    )
                alternatives = [_legacy_comparison(key, "$eq", v) for v in value]
            elif op == "$nin":
                items.extend(_legacy_comparison(key, "$ne", v) for v in value)
            else:
                items.append(_legacy_comparison(key, op, value))
    if alternatives and items:
        raise FilterError(
            "the legacy AutoRAG routes cannot combine a $in (an OR) with other conditions (no "
            "nesting): filter on one of them, or use an AI Search instance route"
        )
    if alternatives:
        return (
            alternatives[0] if len(alternatives) == 1 else {"type": "or", "filters": alternatives}
        )
    return items[0] if len(items) == 1 else {"type": "and", "filters": items}


def _check_comparison(item: object, where: str) -> None:
    if not isinstance(item, Mapping) or item.get("type") not in _LEGACY_TYPES:
        raise FilterError(
            f"{where}: a comparison is {{'type': eq|ne|gt|gte|lt|lte, 'key', 'value'}}"
        )
    key, value = item.get("key"), item.get("value")
    if not isinstance(key, str) or not key:
        raise FilterError(f"{where}: 'key' must be a non-empty string")
    if (
        value is None
        or isinstance(value, (list, tuple, Mapping))
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise FilterError(
            f"{where}: filter {key!r} value must be a string, number or boolean", key=key
        )


def _check_legacy(filter: Mapping[str, Any]) -> dict[str, Any]:
    kind = filter.get("type")
    if kind in _LEGACY_TYPES:
        _check_comparison(filter, "filters")
        return dict(filter)
    if kind not in ("and", "or") or not isinstance(filter.get("filters"), list):
        raise FilterError("filters: a compound filter is {'type': 'and'|'or', 'filters': [...]}")
    parts = filter["filters"]
    for i, item in enumerate(parts):
        _check_comparison(item, f"filters.filters[{i}]")
    if kind == "or" and (
        {p["type"] for p in parts} != {"eq"} or len({p["key"] for p in parts}) != 1
    ):
        raise FilterError(
            "filters: the legacy routes allow 'or' only of 'eq' comparisons on one key",
            key=parts[0]["key"] if parts else None,
        )
    return {"type": kind, "filters": [dict(p) for p in parts]}


_TO_VECTORIZE = {legacy: op for op, legacy in _LEGACY_OPS.items()}


def _is_legacy(filter: Mapping[str, Any]) -> bool:
    """Whether ``filter`` is in the legacy format (a Vectorize filter on a property named
    ``type`` has no ``key``/``filters`` beside it)."""
    kind = filter.get("type")
    if kind in _LEGACY_TYPES:
        return "key" in filter
    return kind in ("and", "or") and "filters" in filter


def vectorize_filter(filter: Mapping[str, Any]) -> dict[str, Any]:
    """The AI Search routes' filter (Vectorize syntax) for ``filter``: given so, checked; a
    legacy-format filter (``{"type": "eq", "key", "value"}``...) is translated, not sent as
    three equalities on the keys ``type``, ``key`` and ``value``."""
    if not _is_legacy(filter):
        return check_filter(filter)
    legacy = _check_legacy(filter)
    parts = legacy.get("filters", [legacy])
    if legacy["type"] == "or":
        return check_filter({parts[0]["key"]: {"$in": [p["value"] for p in parts]}})
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        ops = out.setdefault(part["key"], {})
        op = _TO_VECTORIZE[part["type"]]
        if op in ops:
            raise FilterError(f"filter {part['key']!r} has two {part['type']} comparisons")
        ops[op] = part["value"]
    return check_filter(out)


def legacy_filter(filter: Mapping[str, Any]) -> dict[str, Any]:
    """The legacy routes' filter for ``filter`` (Vectorize syntax, or already legacy)."""
    if _is_legacy(filter):
        return _check_legacy(filter)
    return _legacy_from_vectorize(filter)


def legacy_body(
    query: str, options: SearchOptions, *, generate: bool, stream: bool = False
) -> dict[str, Any]:
    """The body of ``autorag/rags/{id}/search`` (or ``/ai-search`` with ``generate``)."""
    used = [name for name in _NEW_ONLY if getattr(options, name) is not None]
    if used or options.extra:
        names = ", ".join(used + sorted(options.extra))
        raise InvalidRequestError(
            f"{names}: only the AI Search instance routes take this; the legacy AutoRAG "
            "routes do not (use client.ai_search.instance(name))"
        )
    body: dict[str, Any] = {"query": _check_query(query)}
    if options.rewrite_query is not None:
        body["rewrite_query"] = options.rewrite_query
    if options.max_results is not None:
        body["max_num_results"] = options.max_results
    ranking = _drop_none({"ranker": options.ranker, "score_threshold": options.score_threshold})
    if ranking:
        body["ranking_options"] = ranking
    if options.reranking is not None or options.reranking_model is not None:
        body["reranking"] = _drop_none(
            {"enabled": options.reranking, "model": options.reranking_model}
        )
    if options.filters:
        body["filters"] = legacy_filter(options.filters)
    if generate:
        body.update(_drop_none({"model": options.model, "system_prompt": options.system_prompt}))
        if stream:
            body["stream"] = True
    elif options.model is not None or options.system_prompt is not None:
        raise InvalidRequestError("model and system_prompt apply to answers, not to search")
    return body


# -- AI Search instance routes ------------------------------------------------------------------
def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _check_query(query: object) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError(f"query must be a non-empty string, got {query!r}")
    return query


def _search_options(options: SearchOptions) -> dict[str, Any]:
    if options.ranker is not None:
        raise InvalidRequestError(
            "ranker: only the legacy AutoRAG routes take this (ranking_options.ranker)"
        )
    retrieval = _drop_none({
        "retrieval_type": options.retrieval_type,
        "fusion_method": options.fusion_method,
        "keyword_match_mode": options.keyword_match_mode,
        "match_threshold": options.score_threshold,
        "max_num_results": options.max_results,
        "filters": vectorize_filter(options.filters) if options.filters else None,
        "context_expansion": options.context_expansion,
        "metadata_only": options.metadata_only,
        "return_on_failure": options.return_on_failure,
        "boost_by": [dict(b) for b in options.boost_by] if options.boost_by else None,
    })  # fmt: skip
    rewrite = _drop_none({"enabled": options.rewrite_query, "model": options.rewrite_model,
                          "rewrite_prompt": options.rewrite_prompt})  # fmt: skip
    rerank = _drop_none({"enabled": options.reranking, "model": options.reranking_model,
                         "match_threshold": options.reranking_threshold})  # fmt: skip
    cache = {"enabled": True, "cache_threshold": options.cache_threshold}
    out = _drop_none({
        "retrieval": retrieval or None,
        "query_rewrite": rewrite or None,
        "reranking": rerank or None,
        "cache": cache if options.cache_threshold else None,
    })  # fmt: skip
    for key, value in options.extra.items():  # newer options: merged into, not over, ours
        mine = out.get(key)
        out[key] = (
            {**mine, **value} if isinstance(mine, dict) and isinstance(value, Mapping) else value
        )
    return out


def _messages(query: str | Sequence[Mapping[str, Any]], system_prompt: str | None) -> list[Any]:
    if isinstance(query, str):
        messages: list[Any] = [{"role": "user", "content": _check_query(query)}]
    elif isinstance(query, Sequence) and query and all(isinstance(m, Mapping) for m in query):
        messages = [dict(m) for m in query if isinstance(m, Mapping)]
        for i, message in enumerate(messages):
            if message.get("role") not in ("system", "developer", "user", "assistant", "tool"):
                raise InvalidRequestError(f"messages[{i}]: unknown role {message.get('role')!r}")
    else:
        raise InvalidRequestError("query must be a string or a non-empty list of messages")
    if system_prompt is not None:
        messages.insert(0, {"role": "system", "content": system_prompt})
    return messages


def instance_body(
    query: str | Sequence[Mapping[str, Any]],
    options: SearchOptions,
    *,
    generate: bool,
    stream: bool = False,
    instance_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The body of ``…/search`` (``{"query"}``) or ``…/chat/completions`` (``{"messages"}``)
    on the AI Search routes; ``instance_ids`` for a cross-instance request."""
    search = _search_options(options)
    if instance_ids is not None:
        search["instance_ids"] = list(instance_ids)
    if generate:
        body: dict[str, Any] = {"messages": _messages(query, options.system_prompt)}
        if options.model is not None:
            body["model"] = options.model
        if stream:
            body["stream"] = True
    else:
        if options.model is not None or options.system_prompt is not None:
            raise InvalidRequestError("model and system_prompt apply to answers, not to search")
        if isinstance(query, str):
            body = {"query": _check_query(query)}
        else:
            body = {"messages": _messages(query, None)}
    if search:
        body["ai_search_options"] = search
    return body
