"""Splitting a whole SSE body into lines, as ``httpx.Response.iter_lines()`` does (tests feed
recorded bodies to the decoder line by line)."""

from __future__ import annotations

import re

__all__ = ["split_sse_lines"]

_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


def split_sse_lines(text: str) -> list[str]:
    """Split a whole body into lines like ``httpx.Response.iter_lines()`` does.

    ``\\r\\n``, ``\\r`` and ``\\n`` all end a line; a final line terminator adds no empty line.
    """
    lines = _LINE_BREAK_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
