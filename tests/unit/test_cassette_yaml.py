"""The cassette YAML reader (no PyYAML at run time) reads what PyYAML writes, as PyYAML does.

vcrpy writes cassettes with PyYAML's emitter; the replay server reads them with
``workers_ai.emulator.cassette_yaml`` because the ``emulator`` extra does not bring PyYAML.
The property test dumps arbitrary data with vcrpy's dumper (every scalar style PyYAML can be
asked for, narrow and wide lines, ASCII-only as vcrpy writes or not) and compares our reading
with PyYAML's.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from vcr.serializers import yamlserializer

from workers_ai.emulator.cassette_yaml import CassetteFormatError, load

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"

_TRICKY = st.sampled_from(
    [
        *("yes", "null", "~", "1", "0o7", "1_0", "1:20", "- a", "a: b", "#", "---", "...", " "),
        *("\n", "a\n\n b ", "é" * 100, "x " * 60, "'", '"', "\\", "\t", "\x85", "\u2028", "\ufeff"),
    ]
)
#: Unicode line breaks PyYAML writes raw only with ``allow_unicode=True`` (vcrpy does not ask
#: for it): it reads them as line breaks, we as text.
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60) | _TRICKY
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | _TEXT
    | st.binary(max_size=20)
)
_DATA = st.recursive(
    _LEAF,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_TEXT | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
)


def _dump(value: Any, **options: Any) -> str:
    return yaml.dump(value, Dumper=yamlserializer._CassetteDumper, **options)


def _pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=yamlserializer._CassetteLoader)


@settings(suppress_health_check=list(HealthCheck), deadline=None)
@given(
    _DATA,
    st.sampled_from([None, "'", '"', "|", ">"]),
    st.sampled_from([80, 20]),
    st.booleans(),
)
def test_reads_what_pyyaml_writes_as_pyyaml_reads_it(
    value: Any, style: str | None, width: int, unicode: bool
) -> None:
    text = _dump(value, default_style=style, width=width, allow_unicode=unicode)
    assume(not any(mark in text for mark in _UNICODE_BREAKS))
    assert load(text) == _pyyaml(text), text


def test_reads_the_projects_cassettes_as_pyyaml_does() -> None:
    paths = sorted(CASSETTES.rglob("*.yaml.gz"))
    assert paths
    for path in paths:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        assert load(text) == _pyyaml(text), path.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: [ ]\nc: {}\n", {"a": 1, "b": [], "c": {}}),
        ("k:\n- 1\n- - 2\n  - x\n", {"k": [1, [2, "x"]]}),
        ("s: &a\n  x: 1\nt: *a\n", {"s": {"x": 1}, "t": {"x": 1}}),
        ("? long\n: v\n", {"long": "v"}),
        ("--- |-\n  one\n  two\n", "one\ntwo"),
        ("b: !!binary |\n  /wA=\n", {"b": b"\xff\x00"}),
        ("q: 'it''s\n\n  two'\n", {"q": "it's\ntwo"}),
        ('d: "a\\\n  \\ b\\u00e9"\n', {"d": "a b\xe9"}),
        ("p: one\n  two # comment\n", {"p": "one two"}),
        ("%YAML 1.1\n---\nv: .inf\n...\n", {"v": float("inf")}),
        ("", None),
    ],
)
def test_reads_the_forms_pyyaml_emits(text: str, expected: Any) -> None:
    assert load(text) == expected == _pyyaml(text)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: [1, 2]\n", "only the empty flow collections"),
        ("a: !!python/object:os.system x\n", "unsupported tag"),
        ("a: 'open\n", "unterminated quoted scalar"),
        ("a:\n    b: 1\n  c: 2\n", "line 3: bad indentation"),
        ("a: *nowhere\n", "unknown alias"),
        ('a: "\\q"\n', "unknown escape"),
        ("a: 1\n---\nb: 2\n", "only one YAML document"),
    ],
)
def test_what_it_does_not_read_is_an_error_naming_the_line(text: str, error: str) -> None:
    with pytest.raises(CassetteFormatError, match=error):
        load(text)
