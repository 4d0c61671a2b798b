"""JSON parsing with a bound on nesting (pure): a hostile body never reaches ``RecursionError``.

``json.loads`` recurses once per level of nesting, so a body of 100,000 ``[`` raises
``RecursionError``, not ``ValueError``, and a body nested a few hundred levels deep parses but
can exhaust the stack of whatever walks it next. :func:`loads` refuses nesting deeper than
:data:`MAX_DEPTH` *before* parsing and raises only ``ValueError`` (the size of a body is bounded
earlier, by ``EmulatorConfig.max_body_bytes``).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "JSONDepthError",
    "loads",
    "nesting_depth",
]

#: Deepest nesting of arrays and objects accepted. Real inputs (chat messages, tool schemas,
#: JSON-mode schemas) stay well under 32.
MAX_DEPTH = 128

#: A JSON string literal (escapes included), so brackets inside strings are not counted.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_OPENERS = frozenset(b"[{")


class JSONDepthError(ValueError):
    """The document nests arrays/objects deeper than allowed."""


def nesting_depth(raw: bytes, limit: int | None = None) -> int:
    """The deepest nesting of ``[``/``{`` in ``raw``, ignoring brackets inside strings.

    With ``limit``, stops counting as soon as the depth exceeds it (returns ``limit + 1``), so
    a body of millions of ``[`` costs no more than ``limit`` steps after the scan for strings.
    Unbalanced input is measured as far as it goes (it will fail to parse anyway).
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    return deepest
        elif depth:
            depth -= 1
    return deepest


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises only ``ValueError`` (``JSONDepthError`` when too deep).

    Cheap for ordinary bodies: the nesting scan runs only when the body holds more than
    ``max_depth`` brackets in all.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > max_depth and nesting_depth(data, max_depth) > max_depth:
        raise JSONDepthError(f"JSON nested more than {max_depth} levels deep")
    try:
        return json.loads(raw)
    except RecursionError as exc:  # a guard in depth; the scan above should prevent it
        raise JSONDepthError(f"JSON nested more than {max_depth} levels deep") from exc
