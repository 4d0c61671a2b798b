"""Keyword-argument names: which ones a class takes, and a did-you-mean for the rest (no I/O).

The LangChain and LlamaIndex classes call :func:`check_arguments` before pydantic sees the
keywords, so ``ChatWorkersAI(temprature=0.2)`` raises
``UnknownArgumentError: ... did you mean 'temperature'?`` instead of sending ``temprature`` to
the API (LangChain) or dropping it without a word (LlamaIndex).

Example:
    >>> from workers_ai.arguments import edit_distance, suggest
    >>> edit_distance("temprature", "temperature"), edit_distance("modle", "model")
    (1, 1)
    >>> suggest("max_token", ["max_tokens", "top_k"])
    'max_tokens'
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable

from pydantic import AliasChoices, AliasPath, BaseModel

from workers_ai.errors import UnknownArgumentError

__all__ = [
    "MAX_DISTANCE",
    "argument_names",
    "caller_stacklevel",
    "check_arguments",
    "edit_distance",
    "suggest",
]

#: A name this close to a known one is a misspelling, not a new argument.
MAX_DISTANCE = 2
#: Frames of these packages are skipped when a warning names the user's line.
_INTERNAL = frozenset(
    {"workers_ai", "langchain_workers_ai", "llama_index_workers_ai", "pydantic", "pydantic_core"}
)


def caller_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the caller of this function that points at
    the first frame outside this project (and pydantic): the user's own line."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and (
        frame.f_globals.get("__name__", "").partition(".")[0] in _INTERNAL
    ):
        frame = frame.f_back
        level += 1
    return level


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: adjacent swaps cost 1)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def suggest(name: str, candidates: Iterable[str], max_distance: int = MAX_DISTANCE) -> str | None:
    """The candidate closest to ``name`` within ``max_distance`` (ties: alphabetical), or None."""
    scored = sorted((edit_distance(name, c), c) for c in set(candidates) if c != name)
    return scored[0][1] if scored and scored[0][0] <= max_distance else None


def argument_names(model: type[BaseModel]) -> frozenset[str]:
    """Every keyword a pydantic model accepts: field names, aliases and validation aliases."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
        choices = info.validation_alias
        if isinstance(choices, str):
            names.add(choices)
        elif isinstance(choices, (AliasChoices, AliasPath)):
            for choice in choices.choices if isinstance(choices, AliasChoices) else [choices]:
                first = choice if isinstance(choice, str) else choice.path[0]
                if isinstance(first, str):  # an AliasPath starts at a keyword
                    names.add(first)
    return frozenset(names)


def check_arguments(
    owner: str, given: Iterable[str], known: Collection[str], *, allow_unknown: bool
) -> list[str]:
    """Raise for a misspelt keyword; return the unknown ones that are not misspellings.

    Args:
        owner: The class name, for the message.
        given: The keyword names passed.
        known: The names the class takes (see :func:`argument_names`).
        allow_unknown: ``True`` where unknown keywords have a meaning (LangChain's
            ``model_kwargs`` convention): only near misses raise. ``False``: every unknown
            keyword raises.

    Raises:
        UnknownArgumentError: A keyword within :data:`MAX_DISTANCE` edits of a known one, or
            any unknown keyword when ``allow_unknown`` is ``False``.
    """
    unknown = []
    for name in given:
        if name in known:
            continue
        suggestion = suggest(name, known)
        if suggestion is not None or not allow_unknown:
            raise UnknownArgumentError(owner, name, suggestion)
        unknown.append(name)
    return unknown
