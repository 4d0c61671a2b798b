"""Vectorize metadata filters (platform spec §2.5), checked and built locally, no I/O.

:func:`check_filter` validates a filter in Vectorize's own form before a query is sent:
operators, value types, operator combinations, key rules, size, and -- when the index's
metadata indexes are known -- that every filtered property has one of a matching type (without
it Vectorize silently matches nothing). Errors name the offending key and say what to change.

:func:`build_filter` turns a neutral tree of :class:`Condition` s joined by ``and``/``or`` (what
LangChain's dict filters and LlamaIndex's ``MetadataFilters`` both are) into that form:
conditions on different keys are ANDed as Vectorize does; an OR is only expressible as ``$in``
over one key, so anything else is refused rather than silently widened or narrowed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from workers_ai.errors import InvalidRequestError

__all__ = [
    "FILTER_MAX_BYTES",
    "OPERATORS",
    "Condition",
    "FilterError",
    "Group",
    "build_filter",
    "check_filter",
]

OPERATORS = ("$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte")
_UPPER = frozenset({"$lt", "$lte"})
_LOWER = frozenset({"$gt", "$gte"})
_RANGE = _UPPER | _LOWER
_LISTS = frozenset({"$in", "$nin"})
#: A filter's compact JSON must stay under this many bytes.
FILTER_MAX_BYTES = 2048
_KEY_MAX_CHARS = 512


class FilterError(InvalidRequestError):
    """A metadata filter Vectorize would reject or could not express (raised before a request).

    Attributes:
        key: The offending metadata key, when one is to blame.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise FilterError(f"filter keys must be non-empty strings, got {key!r}")
    if key.startswith("$"):
        raise FilterError(
            f"filter key {key!r} starts with '$': Vectorize has no {key} operator at the top "
            "level (several keys are ANDed; there is no OR across keys)",
            key=key,
        )
    if '"' in key:
        raise FilterError(f"filter key {key!r} contains '\"', which Vectorize refuses", key=key)
    if len(key) > _KEY_MAX_CHARS:
        raise FilterError(
            f"filter key {key[:40]!r}... is over {_KEY_MAX_CHARS} characters", key=key
        )
    return key


def _check_operand(key: str, op: str, value: object) -> None:
    if op in _LISTS:
        if not isinstance(value, (list, tuple)) or not value:
            raise FilterError(
                f"filter {key!r}: {op} takes a non-empty list of values, got {value!r}", key=key
            )
        bad = next((v for v in value if not _scalar(v)), _MISSING)
        if bad is not _MISSING:
            raise FilterError(
                f"filter {key!r}: {op} values must be strings, numbers, booleans or null; "
                f"{bad!r} is not",
                key=key,
            )
    elif op in _RANGE:
        if (
            isinstance(value, bool)
            or not isinstance(value, (str, int, float))
            or not _scalar(value)
        ):
            raise FilterError(
                f"filter {key!r}: {op} compares a string or a finite number, got {value!r}",
                key=key,
            )
    elif not _scalar(value):
        raise FilterError(
            f"filter {key!r}: {op} takes a string, number, boolean or null, got {value!r} "
            "(lists: use $in)",
            key=key,
        )


_MISSING = object()


def _check_operators(key: str, ops: Mapping[str, Any]) -> None:
    if not ops:
        raise FilterError(f"filter {key!r} has an empty operator object", key=key)
    for op, value in ops.items():
        if op not in OPERATORS:
            raise FilterError(
                f"filter {key!r}: unknown operator {op!r}; Vectorize has {', '.join(OPERATORS)}",
                key=key,
            )
        _check_operand(key, op, value)
    names = set(ops)
    if len(names) == 1:
        return
    ranged = len(names & _UPPER) == 1 and len(names & _LOWER) == 1 and len(names) == 2
    if not ranged:
        raise FilterError(
            f"filter {key!r} combines {sorted(names)}: Vectorize allows one operator per key, "
            "or one upper ($lt/$lte) with one lower ($gt/$gte) bound",
            key=key,
        )
    kinds = {type(v) is str for v in ops.values()}
    if len(kinds) > 1:
        raise FilterError(
            f"filter {key!r}: a range's bounds must both be strings or both numbers", key=key
        )


def _value_types(ops: Mapping[str, Any]) -> set[str]:
    values: list[Any] = []
    for value in ops.values():
        values.extend(value if isinstance(value, (list, tuple)) else [value])
    names = {"boolean" if isinstance(v, bool) else "string" if isinstance(v, str) else "number"
             for v in values if v is not None}  # fmt: skip
    return names


def _check_indexed(key: str, ops: Mapping[str, Any], indexed: Mapping[str, str]) -> None:
    index_type = indexed.get(key)
    if index_type is None:
        known = ", ".join(sorted(indexed)) or "none"
        raise FilterError(
            f"filter on {key!r}, but the index has no metadata index on {key!r} (it has: "
            f"{known}), so Vectorize would match nothing. Create one first: "
            f"create_metadata_index({key!r}, 'string' | 'number' | 'boolean'); vectors written "
            "before it exists must be written again to be filterable",
            key=key,
        )
    wrong = _value_types(ops) - {index_type.lower()}
    if wrong:
        raise FilterError(
            f"filter {key!r} compares {'/'.join(sorted(wrong))} values, but {key!r} is indexed "
            f"as {index_type.lower()}: use {index_type.lower()} values or re-create the "
            "metadata index with the other type",
            key=key,
        )


def check_filter(
    filter: Mapping[str, Any], *, indexed: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return ``filter`` (a plain dict) if Vectorize accepts it, else raise :class:`FilterError`.

    Args:
        filter: ``{key: value}`` (implicit ``$eq``) or ``{key: {op: value, ...}}``; keys are
            ANDed; a dot reaches into one nested level (``"pandas.nice"``).
        indexed: The index's metadata indexes (property -> type), when known: a filtered key
            without one, or compared with values of another type, is refused.
    """
    if not isinstance(filter, Mapping) or not filter:
        raise FilterError(f"a filter must be a non-empty mapping, got {filter!r}")
    plain: dict[str, Any] = {}
    for raw_key, value in filter.items():
        key = _check_key(raw_key)
        if isinstance(value, Mapping):
            ops = dict(value)
            _check_operators(key, ops)
            plain[key] = {op: list(v) if isinstance(v, tuple) else v for op, v in ops.items()}
        else:
            _check_operand(key, "$eq", value)
            ops, plain[key] = {"$eq": value}, value
        if indexed is not None:
            _check_indexed(key, ops, indexed)
    size = len(json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size >= FILTER_MAX_BYTES:
        raise FilterError(
            f"the filter is {size} bytes as JSON; Vectorize takes under {FILTER_MAX_BYTES} "
            "(shorten $in lists, or filter on a coarser property)"
        )
    return plain


# -- neutral filter trees ----------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """``key op value`` with a Vectorize operator (``$eq``, ``$in``, ``$gte``...)."""

    key: str
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    """Conditions (or groups) joined by ``and`` / ``or``."""

    how: Literal["and", "or"]
    items: Sequence[Condition | Group]


def _alternatives(node: Condition | Group) -> list[Condition]:
    """The conditions ORed by ``node`` (nested ORs flatten; an AND of one item is that item)."""
    if isinstance(node, Condition):
        return [node]
    if node.how == "and" and len(node.items) != 1:
        keys = [repr(k) for k in dict.fromkeys(c.key for c in _and_conditions(node))]
        raise FilterError(
            f"Vectorize filters cannot AND conditions ({', '.join(keys)}) inside an OR; rewrite "
            "the filter as ANDed conditions, or split the query"
        )
    return [c for item in node.items for c in _alternatives(item)]


def _or_as_in(group: Group) -> Condition:
    """An OR Vectorize can express: ``$eq``/``$in`` alternatives of one key, as one ``$in``."""
    parts = _alternatives(group)
    keys = {part.key for part in parts}
    if len(keys) != 1 or any(p.op not in ("$eq", "$in") for p in parts):
        named = ", ".join(repr(k) for k in dict.fromkeys(p.key for p in parts))
        ops = ", ".join(dict.fromkeys(p.op for p in parts))
        raise FilterError(
            f"Vectorize filters have no OR (this one ORs {ops} on {named}): only alternatives "
            "of one key with equality (key == a OR key == b, sent as $in) can be expressed; "
            "split the query, or filter on a property that combines them",
            key=next(iter(keys)) if len(keys) == 1 else None,
        )
    values: list[Any] = []
    for part in parts:
        for value in part.value if part.op == "$in" else [part.value]:
            if not any(v == value and type(v) is type(value) for v in values):
                values.append(value)
    return Condition(parts[0].key, "$in", values)


def _and_conditions(node: Condition | Group) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    if node.how == "or":
        if len(node.items) <= 1:
            return [c for item in node.items for c in _and_conditions(item)]
        return [_or_as_in(node)]
    return [c for item in node.items for c in _and_conditions(item)]


def build_filter(node: Condition | Group) -> dict[str, Any] | None:
    """Vectorize's filter for a neutral tree (``None`` for an empty one), checked.

    ANDed conditions on one key merge into one operator object when Vectorize allows it (a
    lower and an upper bound); two operators it cannot combine raise :class:`FilterError`.
    """
    conditions = _and_conditions(node)
    if not conditions:
        return None
    merged: dict[str, dict[str, Any]] = {}
    for cond in conditions:
        if cond.op not in OPERATORS:
            raise FilterError(
                f"filter {cond.key!r}: Vectorize has no {cond.op!r} operator "
                f"({', '.join(OPERATORS)})",
                key=cond.key,
            )
        ops = merged.setdefault(cond.key, {})
        if cond.op in ops and ops[cond.op] != cond.value:
            raise FilterError(
                f"filter {cond.key!r} has two {cond.op} conditions ({ops[cond.op]!r} and "
                f"{cond.value!r}); keep one",
                key=cond.key,
            )
        ops[cond.op] = list(cond.value) if isinstance(cond.value, tuple) else cond.value
    plain = {key: ops["$eq"] if set(ops) == {"$eq"} and not isinstance(ops["$eq"], Mapping)
             else ops for key, ops in merged.items()}  # fmt: skip
    return check_filter(plain)
