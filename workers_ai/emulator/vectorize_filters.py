"""Vectorize metadata: write rules, metadata-index values and query filters (pure).

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §2.3 (metadata keys and values), §2.5
(filter syntax) and §2.7 (metadata indexes). The store
(:mod:`workers_ai.emulator.vectorize_store`) keeps, for each vector, the values its metadata
indexes held when it was written (:func:`indexed_value`); a filter (:func:`parse_filter`) is
evaluated against those values only (:func:`holds`), so a property without a metadata index,
or a vector written before its index existed, matches nothing -- as §2.7 says filtering
"requires" a metadata index and older vectors are not indexed until re-upserted.

Where the spec is silent, the emulator's choices:

* A vector written while a property's metadata index existed, but without that property (or
  with a value of another type than the index's), is indexed as *absent* (``None``):
  ``{"$eq": null}`` and ``$ne``/``$nin`` of any other value match it; ranges never do.
* String operands are cut to 64 bytes like the indexed strings they are compared with, so a
  filter on a long string still matches the value it names.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "INDEXED_STRING_BYTES",
    "INDEX_TYPES",
    "MAX_FILTER_BYTES",
    "MAX_METADATA_BYTES",
    "Condition",
    "FilterError",
    "Scalar",
    "check_metadata",
    "check_property",
    "compact_size",
    "holds",
    "indexed_value",
    "parse_filter",
    "truncate_utf8",
]

#: Metadata index types (§2.7), as the create request spells them.
INDEX_TYPES = ("string", "number", "boolean")
#: Strings are indexed on their first 64 bytes, cut on a UTF-8 boundary (§2.7).
INDEXED_STRING_BYTES = 64
#: A filter's compact JSON must be shorter than this (§2.5).
MAX_FILTER_BYTES = 2048
#: Longest filter key / metadata-index property name, in characters (§2.5).
MAX_KEY_CHARS = 512
#: Metadata per vector, compact JSON bytes (§2.9: 10 KiB).
MAX_METADATA_BYTES = 10 * 1024

_EQUALITY = ("$eq", "$ne")
_MEMBERSHIP = ("$in", "$nin")
_UPPER = ("$lt", "$lte")
_LOWER = ("$gt", "$gte")
_OPERATORS = (*_EQUALITY, *_MEMBERSHIP, *_UPPER, *_LOWER)
_RANGES: dict[str, Callable[[Any, Any], Any]] = {
    "$lt": operator.lt,
    "$lte": operator.le,
    "$gt": operator.gt,
    "$gte": operator.ge,
}

#: An indexed value: a string (cut to 64 bytes), a number, a boolean, or ``None`` (absent).
Scalar = str | int | float | bool | None


class FilterError(ValueError):
    """A filter (or property name) the service refuses; the message names the key."""


@dataclass(frozen=True)
class Condition:
    """One operator on one key: ``{"key": {"$gte": 1}}`` (``operand`` a tuple for
    ``$in``/``$nin``)."""

    key: str
    op: str
    operand: Any


def compact_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (how §2.5 and §2.9 measure filters and metadata)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


def truncate_utf8(text: str, limit: int = INDEXED_STRING_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    if _is_number(value):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, bool))


# -- writes: metadata rules (§2.3) ---------------------------------------------------------------
def _key_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "keys must be non-empty strings"
    if key.startswith("$"):
        return f'key "{key}" must not start with "$"'
    if "." in key or '"' in key:
        return f"key {json.dumps(key)} must not contain '.' or '\"'"
    return None


def _value_problem(key: str, value: Any, nested: bool) -> str | None:
    if isinstance(value, dict) and not nested:
        for inner, item in value.items():
            problem = _key_problem(inner) or _value_problem(f"{key}.{inner}", item, True)
            if problem:
                return problem
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return None
    if _is_scalar(value) and value is not None:
        return None
    return f'value of "{key}" must be a string, a finite number, a boolean, a list of strings' + (
        "" if nested else " or an object of those (one level)"
    )


def check_metadata(metadata: Any) -> str | None:
    """What breaks the key and value rules in a vector's ``metadata`` (``None``: nothing;
    its size, :data:`MAX_METADATA_BYTES`, is checked apart)."""
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    for key, value in metadata.items():
        problem = _key_problem(key) or _value_problem(key, value, False)
        if problem:
            return f"metadata {problem}"
    return None


# -- metadata indexes (§2.7) ---------------------------------------------------------------------
def check_property(key: Any, what: str = "filter key") -> str:
    """``key`` if it names a filterable property (§2.5 key rules; one dot = one nested level).

    Raises:
        FilterError: naming the key and the rule it breaks.
    """
    if not isinstance(key, str) or not key:
        raise FilterError(f"{what} must be a non-empty string")
    shown = json.dumps(key)
    if key.startswith("$"):
        raise FilterError(f'{what} {shown} must not start with "$"')
    if '"' in key:
        raise FilterError(f"{what} {shown} must not contain '\"'")
    if len(key) > MAX_KEY_CHARS:
        raise FilterError(f"{what} {shown[:40]}... is longer than {MAX_KEY_CHARS} characters")
    parts = key.split(".")
    if len(parts) > 2 or not all(parts):
        raise FilterError(
            f"{what} {shown}: a dot reaches one nested level ('outer.inner'), no deeper"
        )
    return key


def _lookup(metadata: dict[str, Any], key: str) -> Any:
    value: Any = metadata
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def indexed_value(metadata: dict[str, Any], key: str, index_type: str) -> Scalar:
    """What a metadata index of ``index_type`` on ``key`` holds for ``metadata``: the value
    (strings cut to 64 bytes), or ``None`` when absent or of another type (string arrays are
    stored but not indexed, §2.5)."""
    value = _lookup(metadata, key)
    if index_type == "string" and isinstance(value, str):
        return truncate_utf8(value)
    if index_type == "number" and _is_number(value):
        return value  # type: ignore[no-any-return]
    if index_type == "boolean" and isinstance(value, bool):
        return value
    return None


# -- filters (§2.5) ------------------------------------------------------------------------------
def parse_filter(value: Any) -> tuple[Condition, ...]:
    """The conditions of a query's ``filter`` (all must hold: implicit AND).

    Raises:
        FilterError: not a non-empty object, too large, a bad key, operator or operand, or a
            combination of operators other than one lower plus one upper bound.
    """
    if not isinstance(value, dict) or not value:
        raise FilterError("filter must be a non-empty object")
    size = compact_size(value)
    if size >= MAX_FILTER_BYTES:
        raise FilterError(
            f"filter is {size} bytes as compact JSON; it must be under {MAX_FILTER_BYTES}"
        )
    conditions: list[Condition] = []
    for key, spec in value.items():
        check_property(key)
        if isinstance(spec, dict):
            conditions.extend(_key_conditions(key, spec))
        else:
            conditions.append(Condition(key, "$eq", _operand(key, "$eq", spec)))
    return tuple(conditions)


def _key_conditions(key: str, spec: dict[str, Any]) -> list[Condition]:
    shown = json.dumps(key)
    unknown = [op for op in spec if op not in _OPERATORS]
    if unknown:
        raise FilterError(
            f"filter key {shown}: unknown operator {unknown[0]!r}; use one of "
            + ", ".join(_OPERATORS)
        )
    ops = list(spec)
    bounds = len(ops) == 2 and {*_UPPER} & {*ops} and {*_LOWER} & {*ops}
    if len(ops) != 1 and not bounds:
        raise FilterError(
            f"filter key {shown}: operators {ops} cannot be combined; only one lower bound "
            "($gt/$gte) with one upper bound ($lt/$lte)"
        )
    return [Condition(key, op, _operand(key, op, spec[op])) for op in ops]


def _operand(key: str, op: str, value: Any) -> Any:
    shown = json.dumps(key)
    if op in _MEMBERSHIP:
        if not isinstance(value, list) or not all(_is_scalar(item) for item in value):
            raise FilterError(
                f"filter key {shown}: {op} takes an array of strings, numbers, booleans or null"
            )
        return tuple(_normal(item) for item in value)
    if op in _EQUALITY:
        if not _is_scalar(value):
            raise FilterError(
                f"filter key {shown}: {op} takes a string, a number, a boolean or null"
            )
        return _normal(value)
    if not (isinstance(value, str) or (_is_number(value) and math.isfinite(value))):
        raise FilterError(f"filter key {shown}: {op} takes a string or a number")
    return _normal(value)


def _normal(value: Scalar) -> Scalar:
    """Numbers compare as float64, strings on their first 64 bytes (§2.7)."""
    if _is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        return truncate_utf8(value)
    return value


def _same(left: Scalar, right: Scalar) -> bool:
    return type(left) is type(right) and left == right


def holds(condition: Condition, value: Scalar) -> bool:
    """Whether an indexed ``value`` (``None``: indexed as absent) satisfies ``condition``."""
    value = _normal(value)
    op, operand = condition.op, condition.operand
    if op == "$eq":
        return _same(value, operand)
    if op == "$ne":
        return not _same(value, operand)
    if op in _MEMBERSHIP:
        found = any(_same(value, item) for item in operand)
        return found if op == "$in" else not found
    if value is None or type(value) is not type(operand):
        return False
    return bool(_RANGES[op](value, operand))
