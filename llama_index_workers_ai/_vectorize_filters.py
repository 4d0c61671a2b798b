"""LlamaIndex ``MetadataFilters`` -> Vectorize filters, through the core's neutral tree (pure).

``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in`` and ``nin`` become Vectorize's operators;
AND groups become ANDed keys; an OR is sent only where Vectorize can express it (equality
alternatives of one key, as ``$in``: :func:`workers_ai.vectorize.build_filter` decides). NOT and
the operators Vectorize lacks (``text_match``, ``contains``, ``any``, ``all``, ``is_empty``...)
raise :class:`~workers_ai.vectorize.FilterError` naming the key and the operator: a filter is
never silently widened or dropped.

Document filters (``ref_doc_id``, ``doc_id``, ``document_id`` compared with ``==``, ``!=``,
``in``, ``nin``, and ``VectorStoreQuery.doc_ids``) go to :data:`REF_DOC_KEY`, which the vector
store keeps a metadata index on, so they work without one of the user's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from workers_ai.vectorize import Condition, FilterError, Group, build_filter

__all__ = ["DOC_ID_KEYS", "REF_DOC_KEY", "doc_key", "filters_to_vectorize"]

#: Metadata key holding :func:`doc_key` of a node's document, with a string metadata index.
REF_DOC_KEY = "_ref_doc_key"
#: The keys LlamaIndex stores a node's document id under (``node_to_metadata_dict``).
DOC_ID_KEYS = ("ref_doc_id", "doc_id", "document_id")
#: Vectorize indexes the first 64 bytes of a string: longer ids are stored hashed.
_INDEXED_BYTES = 64

_OPERATORS: dict[FilterOperator, str] = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
}
_DOC_OPERATORS = frozenset({"$eq", "$ne", "$in", "$nin"})


def doc_key(ref_doc_id: str) -> str:
    """The value stored under :data:`REF_DOC_KEY`: the document id when at most 64 bytes,
    else its SHA-256 (64 hex characters). Vectorize compares only a string's first 64 bytes,
    so two long ids with a common start would otherwise match each other's filters."""
    if len(ref_doc_id.encode("utf-8", "surrogatepass")) <= _INDEXED_BYTES:
        return ref_doc_id
    return hashlib.sha256(ref_doc_id.encode("utf-8", "surrogatepass")).hexdigest()


def _doc_condition(op: str, value: Any) -> Condition | None:
    """A document-id comparison on :data:`REF_DOC_KEY`, or ``None`` if not one of those."""
    if op not in _DOC_OPERATORS:
        return None
    if isinstance(value, str):
        return Condition(REF_DOC_KEY, op, doc_key(value))
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return Condition(REF_DOC_KEY, op, [doc_key(v) for v in value])
    return None


def _operator_name(operator: FilterOperator) -> str:
    return f"{operator.value!r} ({operator.name})"


def _filter_to_condition(item: MetadataFilter, doc_keys: bool = True) -> Condition:
    op = _OPERATORS.get(item.operator)
    if op is None:
        supported = ", ".join(o.value for o in _OPERATORS)
        raise FilterError(
            f"metadata filter on {item.key!r}: operator {_operator_name(item.operator)} has no "
            f"Vectorize equivalent (it has {supported}); filter the retrieved nodes instead, "
            "e.g. with a node postprocessor",
            key=item.key,
        )
    if doc_keys and item.key in DOC_ID_KEYS:
        found = _doc_condition(op, item.value)
        if found is not None:
            return found
    return Condition(item.key, op, item.value)


def _keys(filters: MetadataFilters) -> list[str]:
    out: list[str] = []
    for item in filters.filters:
        out.extend(_keys(item) if isinstance(item, MetadataFilters) else [item.key])
    return out


def _named(keys: Sequence[str]) -> str:
    return ", ".join(repr(k) for k in dict.fromkeys(keys)) or "no keys"


def _to_tree(filters: MetadataFilters, doc_keys: bool = True) -> Group:
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.NOT:
        keys = _keys(filters)
        raise FilterError(
            f"metadata filters with condition NOT (on {_named(keys)}) cannot be sent to "
            "Vectorize, which cannot negate a group: use '!=' or 'nin' on one key instead",
            key=keys[0] if keys else None,
        )
    items: list[Condition | Group] = [
        _to_tree(item, doc_keys)
        if isinstance(item, MetadataFilters)
        else _filter_to_condition(item, doc_keys)
        for item in filters.filters
    ]
    return Group("or" if condition == FilterCondition.OR else "and", items)


def filters_to_vectorize(
    filters: MetadataFilters | None,
    doc_ids: Sequence[str] | None = None,
    *,
    doc_keys: bool = True,
) -> dict[str, Any] | None:
    """Vectorize's filter for LlamaIndex ``filters`` ANDed with ``doc_ids`` (``None`` if both
    are empty), checked locally; raises :class:`~workers_ai.vectorize.FilterError`.

    ``doc_keys``: document-id keys (``ref_doc_id``...) go to the vector store's
    :data:`REF_DOC_KEY`; ``False`` keeps every key as named (AI Search's own metadata)."""
    items: list[Condition | Group] = []
    if filters is not None and filters.filters:
        items.append(_to_tree(filters, doc_keys))
    if doc_ids:
        items.append(Condition(REF_DOC_KEY, "$in", [doc_key(d) for d in dict.fromkeys(doc_ids)]))
    if not items:
        return None
    return build_filter(Group("and", items))
