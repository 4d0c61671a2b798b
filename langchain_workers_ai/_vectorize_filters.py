"""LangChain's dict filters as Vectorize metadata filters (platform spec §2.5), no I/O.

LangChain vector stores take filters as dicts: ``{"key": value}`` (equality),
``{"key": {"$op": value}}`` with ``$eq``, ``$ne``, ``$in``, ``$nin``, ``$lt``, ``$lte``,
``$gt``, ``$gte``, several keys ANDed, and ``{"$and": [...]}`` / ``{"$or": [...]}``. This module
only reads that form into the core's neutral tree (:class:`~workers_ai.vectorize.Condition` s in
:class:`~workers_ai.vectorize.Group` s); :func:`~workers_ai.vectorize.build_filter` decides what
Vectorize can express and words every refusal (an unknown operator, an OR across keys, two
operators it cannot combine), so LangChain and LlamaIndex filters obey the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers_ai.vectorize import Condition, FilterError, Group, build_filter

__all__ = ["filter_to_vectorize"]

_LOGICAL = {"$and": "and", "$or": "or"}


def filter_to_vectorize(filter: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Vectorize's filter for a LangChain dict filter (``None`` or ``{}``: no filter).

    Raises:
        FilterError: (a ``ValueError``) naming the key or operator Vectorize cannot express.
    """
    if filter is None:
        return None
    if not isinstance(filter, Mapping):
        raise FilterError(
            f"filter must be a dict such as {{'genre': 'drama'}}, got {type(filter).__name__}: "
            "Vectorize filters by metadata on the server, not with a Python function"
        )
    if not filter:
        return None
    return build_filter(_dict_to_node(filter))


def _dict_to_node(filter: Mapping[str, Any]) -> Condition | Group:
    """One dict of a filter: its keys ANDed (``$and`` / ``$or`` entries nest)."""
    items: list[Condition | Group] = []
    for key, value in filter.items():
        if key in _LOGICAL:
            items.append(_logical_to_group(key, value))
        elif isinstance(key, str) and key.startswith("$"):
            raise FilterError(
                f"filter operator {key!r} is not supported: Vectorize filters take key "
                "conditions (ANDed), $and, and $or between values of one key",
                key=key,
            )
        else:
            items.extend(_field_to_conditions(key, value))
    return items[0] if len(items) == 1 else Group("and", items)


def _logical_to_group(operator: str, clauses: object) -> Group:
    if isinstance(clauses, (str, bytes, Mapping)) or not isinstance(clauses, (list, tuple)):
        raise FilterError(f"{operator} takes a list of filters, got {clauses!r}")
    if not clauses:
        raise FilterError(f"{operator} takes a non-empty list of filters")
    nodes = []
    for clause in clauses:
        if not isinstance(clause, Mapping) or not clause:
            raise FilterError(f"{operator}: each item is a non-empty filter dict, got {clause!r}")
        nodes.append(_dict_to_node(clause))
    return Group("and" if _LOGICAL[operator] == "and" else "or", nodes)


def _field_to_conditions(key: str, value: object) -> list[Condition | Group]:
    """``{key: value}`` (equality) or ``{key: {"$op": value, ...}}`` (each operator ANDed)."""
    if not isinstance(value, Mapping):
        return [Condition(key, "$eq", value)]
    plain = [op for op in value if not (isinstance(op, str) and op.startswith("$"))]
    if not value:
        raise FilterError(f"filter {key!r} has an empty operator object", key=key)
    if plain:
        nested = f"{key}.{plain[0]}"
        raise FilterError(
            f"filter {key!r}: {value!r} is not an operator object such as {{'$gte': 3}}; "
            f"for a nested property write the path as the key: {{{nested!r}: ...}}",
            key=key,
        )
    return [Condition(key, op, operand) for op, operand in value.items()]
