"""The emulator's Vectorize metadata rules and filters (pure; platform spec §2.3, §2.5, §2.7)."""

from __future__ import annotations

from typing import Any

import pytest

from workers_ai.emulator.vectorize_filters import (
    Condition,
    FilterError,
    check_metadata,
    check_property,
    holds,
    indexed_value,
    parse_filter,
    truncate_utf8,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 64, "a" * 64),
        ("a" * 65, "a" * 64),
        ("é" * 33, "é" * 32),  # 66 bytes: the 33rd character would straddle byte 64
        ("a" + "é" * 32, "a" + "é" * 31),  # 65 bytes: byte 64 is half a character
        ("€" * 22, "€" * 21),  # 3-byte characters: 63 bytes kept
    ],
)
def test_strings_are_cut_to_64_bytes_on_a_character_boundary(text: str, expected: str) -> None:
    assert truncate_utf8(text) == expected


@pytest.mark.parametrize(
    ("spec", "conditions"),
    [
        ({"k": "v"}, [Condition("k", "$eq", "v")]),
        ({"k": 3}, [Condition("k", "$eq", 3.0)]),
        ({"k": {"$in": ["a", 1, True, None]}}, [Condition("k", "$in", ("a", 1.0, True, None))]),
        (
            {"k": {"$gte": 1, "$lt": 5}},
            [Condition("k", "$gte", 1.0), Condition("k", "$lt", 5.0)],
        ),
        ({"a": 1, "b.c": "x"}, [Condition("a", "$eq", 1.0), Condition("b.c", "$eq", "x")]),
        ({"k": "é" * 40}, [Condition("k", "$eq", "é" * 32)]),
    ],
)
def test_filters_parse_to_conditions(spec: dict[str, Any], conditions: list[Condition]) -> None:
    assert list(parse_filter(spec)) == conditions


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {},
        {"k": {"$lt": 1, "$lte": 2}},
        {"k": {"$gt": 1, "$gte": 2}},
        {"k": {"$in": ["a"], "$eq": "a"}},
        {"k": {"$lt": float("inf")}},
        {"k": {"$eq": [1]}},
        {"k": {"$eq": float("nan")}},
    ],
)
def test_bad_filters_raise(spec: Any) -> None:
    with pytest.raises(FilterError):
        parse_filter(spec)


@pytest.mark.parametrize(
    ("op", "operand", "value", "expected"),
    [
        ("$eq", "a", "a", True),
        ("$eq", 1.0, 1, True),  # numbers compare as float64
        ("$eq", 1.0, True, False),  # a boolean is not the number 1
        ("$eq", None, None, True),  # absent
        ("$ne", "a", None, True),
        ("$in", ("a", "b"), "b", True),
        ("$nin", ("a", "b"), "b", False),
        ("$nin", ("a",), None, True),
        ("$lt", "neu", "netflix", True),
        ("$gte", "net", "nes", False),
        ("$lte", 2.0, 2, True),
        ("$gt", 1.0, "2", False),  # other type: no range match
        ("$gt", 1.0, None, False),
    ],
)
def test_conditions_hold_on_indexed_values(
    op: str, operand: Any, value: Any, expected: bool
) -> None:
    assert holds(Condition("k", op, operand), value) is expected


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"a": "x", "n": 1, "b": True, "l": ["x"], "o": {"i": 1, "l": ["y"]}}, None),
        ({"a.b": 1}, "'.'"),
        ({"$a": 1}, "$"),
        ({"": 1}, "non-empty"),
        ({"o": {"i.j": 1}}, "'.'"),
        ({"o": {"i": {"j": 1}}}, '"o.i"'),
        ({"x": float("inf")}, '"x"'),
        ([], "object"),
    ],
)
def test_metadata_rules(metadata: Any, problem: str | None) -> None:
    found = check_metadata(metadata)
    assert found is None if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize("key", ["", "$x", 'a"b', "a.b.c", ".a", "a.", "k" * 513, 5])
def test_bad_property_names_raise(key: Any) -> None:
    with pytest.raises(FilterError):
        check_property(key)


@pytest.mark.parametrize(
    ("metadata", "key", "index_type", "expected"),
    [
        ({"t": "x" * 70}, "t", "string", "x" * 64),
        ({"t": 3}, "t", "string", None),  # another type: absent
        ({"t": 3}, "t", "number", 3),
        ({"t": True}, "t", "number", None),
        ({"t": False}, "t", "boolean", False),
        ({"t": ["a"]}, "t", "string", None),  # string arrays are not indexed
        ({"p": {"n": 42}}, "p.n", "number", 42),
        ({"p": 1}, "p.n", "number", None),
    ],
)
def test_indexed_values(metadata: dict[str, Any], key: str, index_type: str, expected: Any) -> None:
    assert indexed_value(metadata, key, index_type) == expected
