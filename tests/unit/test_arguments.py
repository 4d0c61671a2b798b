"""Keyword-name checks: edit distance, did-you-mean, the names a pydantic class takes, and the
error a misspelt keyword raises (``workers_ai.arguments``; pure, no I/O)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from pydantic import AliasChoices, AliasPath, BaseModel, Field

import workers_ai
from workers_ai.arguments import argument_names, check_arguments, edit_distance, suggest

# -- edit_distance ------------------------------------------------------------------------------

DISTANCES = [
    # (a, b, distance): insert, delete, substitute and adjacent swap each cost 1
    ("", "", 0),
    ("", "top_k", 5),
    ("top_k", "", 5),
    ("model", "model", 0),
    ("temprature", "temperature", 1),  # a missing letter
    ("modle", "model", 1),  # an adjacent swap, not two substitutions
    ("ab", "ba", 1),
    ("abcd", "badc", 2),  # two separate swaps
    ("max_token", "max_tokens", 1),
    ("top_p", "top_k", 1),
    ("model_nmae", "model_name", 1),
    ("kitten", "sitting", 3),
    ("max_tkn", "max_tokens", 3),
    # optimal string alignment: a swapped pair is not edited again ("ca" -> "abc" is 3, not 2)
    ("ca", "abc", 3),
    # unicode is compared by code point
    ("café", "cafe", 1),
    ("naïve", "naive", 1),
    ("日本語", "日本", 1),
    ("température", "temperature", 1),
    ("🙂🙃", "🙃🙂", 1),
]


@pytest.mark.parametrize(("a", "b", "distance"), DISTANCES)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


@pytest.mark.parametrize(("a", "b", "distance"), DISTANCES)
def test_edit_distance_is_symmetric(a: str, b: str, distance: int) -> None:
    assert edit_distance(b, a) == distance


# -- suggest ------------------------------------------------------------------------------------

KNOWN = ["model", "temperature", "max_tokens", "top_k", "top_p", "seed", "stop"]


@pytest.mark.parametrize(
    ("name", "candidates", "kwargs", "expected"),
    [
        ("temprature", KNOWN, {}, "temperature"),
        ("modle", KNOWN, {}, "model"),
        ("max_token", KNOWN, {}, "max_tokens"),
        ("max_tokns", KNOWN, {}, "max_tokens"),
        ("temperatur", KNOWN, {}, "temperature"),
        ("températur", KNOWN, {}, "temperature"),  # unicode letter + missing letter = 2
        # distance 3 is a different name, not a typo
        ("max_tkn", KNOWN, {}, None),
        ("max_tkn", KNOWN, {"max_distance": 3}, "max_tokens"),
        ("foo", KNOWN, {}, None),
        ("frequency_penalty", KNOWN, {}, None),
        # ties go to the alphabetically first candidate: top_k and top_p are both 1 from top_x
        ("top_x", KNOWN, {}, "top_k"),
        ("top_x", ["top_p", "top_k"], {}, "top_k"),
        ("modle", ["model", "mode"], {}, "mode"),  # both 1 away; "mode" sorts first
        # the name itself is never suggested
        ("model", ["model"], {}, None),
        ("model", ["model", "models"], {}, "models"),
        ("seed", KNOWN, {"max_distance": 0}, None),
        # empty input
        ("", [], {}, None),
        ("temperature", [], {}, None),
        ("", ["top_k"], {}, None),
        ("", ["ab"], {}, "ab"),  # an empty name is 2 edits from a 2-letter one
        # any iterable, duplicates harmless
        ("temprature", iter(["temperature", "temperature"]), {}, "temperature"),
        ("temprature", frozenset(KNOWN), {}, "temperature"),
    ],
)
def test_suggest(name: str, candidates: Any, kwargs: dict[str, Any], expected: str | None) -> None:
    assert suggest(name, candidates, **kwargs) == expected


# -- argument_names -----------------------------------------------------------------------------


class _Plain(BaseModel):
    a: int = 0
    b: int = Field(0, alias="b_alias")
    c: int = Field(0, validation_alias=AliasChoices("c1", "c2"))
    d: int = Field(0, validation_alias="d_in")
    e: int = Field(0, validation_alias=AliasPath("e_path", 0))


class _PathInChoices(BaseModel):
    x: int = Field(0, validation_alias=AliasChoices("x", AliasPath("y", 0)))


class _Empty(BaseModel):
    pass


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (_Plain, {"a", "b", "b_alias", "c", "c1", "c2", "d", "d_in", "e", "e_path"}),
        # pydantic accepts _PathInChoices(y=[5]), so "y" is a keyword the class takes
        (_PathInChoices, {"x", "y"}),
        (_Empty, set()),
    ],
)
def test_argument_names(model: type[BaseModel], expected: set[str]) -> None:
    assert argument_names(model) == expected


# -- check_arguments ----------------------------------------------------------------------------

OWNER = "ChatThing"


@pytest.mark.parametrize(
    ("given", "allow_unknown", "expected"),
    [
        ([], True, []),
        ([], False, []),
        (["model", "temperature"], False, []),
        (["model", "temperature"], True, []),
        # far unknown names are handed back, in order, when they have a meaning elsewhere
        (["foo", "model", "response_format"], True, ["foo", "response_format"]),
        ({"foo": 1, "bar": 2}, True, ["foo", "bar"]),  # a kwargs dict works as given
    ],
)
def test_check_arguments_returns_far_unknowns(
    given: Any, allow_unknown: bool, expected: list[str]
) -> None:
    assert check_arguments(OWNER, given, KNOWN, allow_unknown=allow_unknown) == expected


@pytest.mark.parametrize(
    ("given", "allow_unknown", "argument", "suggestion"),
    [
        (["temprature"], True, "temprature", "temperature"),
        (["temprature"], False, "temprature", "temperature"),
        (["modle"], True, "modle", "model"),
        (["max_token"], True, "max_token", "max_tokens"),
        (["foo"], False, "foo", None),  # not allowed: raises even without a suggestion
        (["max_tkn"], False, "max_tkn", None),  # 3 edits: no did-you-mean
        # allow_unknown skips the far name and still catches the typo behind it
        (["foo", "temprature"], True, "temprature", "temperature"),
        # not allowed: the first unknown name is the one reported
        (["model", "foo", "temprature"], False, "foo", None),
        (["températur"], True, "températur", "temperature"),
    ],
)
def test_check_arguments_raises(
    given: list[str], allow_unknown: bool, argument: str, suggestion: str | None
) -> None:
    with pytest.raises(workers_ai.UnknownArgumentError) as info:
        check_arguments(OWNER, given, KNOWN, allow_unknown=allow_unknown)

    error = info.value
    assert (error.owner, error.argument, error.suggestion) == (OWNER, argument, suggestion)
    message = str(error)
    assert OWNER in message and repr(argument) in message
    if suggestion is None:
        assert "did you mean" not in message
    else:
        assert f"did you mean {suggestion!r}?" in message


@pytest.mark.parametrize(
    "base", [TypeError, ValueError, workers_ai.ConfigurationError, workers_ai.WorkersAIError]
)
def test_unknown_argument_error_is_caught_like_python_and_like_config_errors(
    base: type[Exception],
) -> None:
    """``except TypeError`` (Python's own unexpected-keyword error) and ``except
    ConfigurationError`` both catch it."""
    with pytest.raises(base):
        check_arguments(OWNER, ["temprature"], KNOWN, allow_unknown=True)


def test_unknown_argument_error_survives_pickling() -> None:
    error = workers_ai.UnknownArgumentError(OWNER, "temprature", "temperature")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.owner, copy.argument, copy.suggestion, str(copy)) == (
        OWNER,
        "temprature",
        "temperature",
        str(error),
    )
