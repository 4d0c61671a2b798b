"""Read the YAML of vcrpy cassettes without PyYAML (which the ``emulator`` extra does not bring).

vcrpy writes cassettes with PyYAML's emitter in block style, and that is what this reads:
block mappings (``? `` complex keys included) and sequences (indentless ones too), the empty
flow collections ``{}`` and ``[]``, plain, single-quoted and double-quoted scalars over several
lines, literal and folded block scalars, anchors and aliases, and the tags ``!!binary``,
``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``, ``!!seq``,
``!!python/str``, ``!!python/unicode`` and ``!!python/tuple`` (read as a list). Plain scalars
resolve as PyYAML's YAML 1.1 resolver does for null, booleans, integers and floats; timestamps
stay strings. Anything else (non-empty flow collections, other tags, several documents) raises
:class:`CassetteFormatError` naming the line. Only ``\n`` (and ``\r\n``, ``\r``) break lines:
the Unicode line breaks U+0085, U+2028 and U+2029, which PyYAML writes raw only when asked for
``allow_unicode=True`` (vcrpy does not ask), are read as text.

The scanning of scalars follows PyYAML's scanner (``scan_plain``, ``scan_flow_scalar``,
``scan_block_scalar``) so folding and escapes come out the same; a property test checks
``load(yaml.dump(value)) == value``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

__all__ = ["CassetteFormatError", "load"]


class CassetteFormatError(ValueError):
    """The text is not YAML this reader understands (the message names the line)."""


_ESCAPES = {
    "0": "\0",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_ESCAPE_CODES = {"x": 2, "u": 4, "U": 8}
_BLANK_OR_END = " \t\n\0"
_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_INT = re.compile(
    r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
)
_FLOAT = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_SCALAR_TAGS = frozenset({"str", "python/str", "python/unicode", "int", "float", "bool", "null"})
_EXPECTED: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "null": type(None),
}
_TAGS = _SCALAR_TAGS | {"!", "binary", "map", "seq", "python/tuple"}


def load(text: str) -> Any:
    """The one document in ``text`` as Python data (dict, list, str, int, float, bool, None,
    bytes)."""
    return _Parser(text).document()


# -- plain scalar resolution ----------------------------------------------------------------------
def _sexagesimal(text: str, number: type[int] | type[float]) -> Any:
    sign = -1 if text.startswith("-") else 1
    value: Any = number(0)
    for part in text.lstrip("+-").split(":"):
        value = value * 60 + number(part)
    return sign * value


def _to_int(text: str) -> int:
    raw = text.replace("_", "")
    sign = -1 if raw.startswith("-") else 1
    digits = raw.lstrip("+-")
    if ":" in digits:
        return int(sign * _sexagesimal(digits, int))
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits != "0" and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _to_float(text: str) -> float:
    raw = text.replace("_", "").lower()
    sign = -1.0 if raw.startswith("-") else 1.0
    digits = raw.lstrip("+-")
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    if ":" in digits:
        return sign * float(_sexagesimal(digits, float))
    return sign * float(digits)


def _resolve_plain(text: str) -> Any:
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.fullmatch(text):
        return _to_int(text)
    if _FLOAT.fullmatch(text):
        return _to_float(text)
    return text


# -- the parser -----------------------------------------------------------------------------------
class _Parser:
    """A recursive-descent reader over the whole text; ``pos`` is the next character."""

    def __init__(self, text: str) -> None:
        self.text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        self.pos = 0
        self.anchors: dict[str, Any] = {}

    # -- characters ----------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else "\0"

    def column(self) -> int:
        return self.pos - (self.text.rfind("\n", 0, self.pos) + 1)

    def error(self, message: str) -> CassetteFormatError:
        line = self.text.count("\n", 0, self.pos) + 1
        return CassetteFormatError(f"line {line}: {message}")

    def skip_space(self) -> None:
        while self.peek() in " \t":
            self.pos += 1

    def skip_to_content(self) -> None:
        """Past spaces, comments and line breaks, to the next content (or the end)."""
        while True:
            self.skip_space()
            if self.peek() == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.peek() == "\n":
                self.pos += 1
            else:
                return

    def at_indicator(self, char: str) -> bool:
        return self.peek() == char and self.peek(1) in _BLANK_OR_END

    def at_marker(self, marker: str) -> bool:
        return (
            self.column() == 0
            and self.text.startswith(marker, self.pos)
            and self.peek(3) in _BLANK_OR_END
        )

    def word(self) -> str:
        start = self.pos
        while self.peek() not in _BLANK_OR_END:
            self.pos += 1
        return self.text[start : self.pos]

    # -- structure -----------------------------------------------------------------------------
    def document(self) -> Any:
        self.skip_to_content()
        while self.peek() == "%" and self.column() == 0:  # directives: %YAML, %TAG
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end
            self.skip_to_content()
        if self.at_marker("---"):
            self.pos += 3
        value = self.node(-1)
        self.skip_to_content()
        if self.at_marker("..."):
            self.pos += 3
            self.skip_to_content()
        if self.pos < len(self.text):
            raise self.error("unexpected content (only one YAML document is read)")
        return value

    def node(self, parent: int, *, indentless: bool = False) -> Any:
        """The node after an indicator (``key:``, ``- ``, ``? ``) of a collection at column
        ``parent``: on the same line, or on the next ones when more indented (or, with
        ``indentless``, a sequence at the same column). ``None`` when there is none."""
        self.skip_to_content()
        if not self.starts_node(parent, indentless):
            return None
        if self.implicit_key_ahead():  # properties before a key are the key's
            return self.mapping(self.column())
        anchor, tag = self.properties(cross_lines=True)
        if not self.starts_node(parent, indentless):
            value: Any = None if tag is None else self.construct("", tag, plain=False)
        elif self.peek() == "*":
            return self.alias()
        else:
            value = self.content(parent, tag)
        if anchor is not None:
            self.anchors[anchor] = value
        return value

    def properties(self, *, cross_lines: bool) -> tuple[str | None, str | None]:
        """``&anchor`` and ``!tag``, in either order, before a node."""
        anchor: str | None = None
        tag: str | None = None
        while self.peek() in "&!":
            if self.peek() == "&":
                self.pos += 1
                anchor = self.word()
            else:
                tag = self.tag()
            if cross_lines:
                self.skip_to_content()
            else:
                self.skip_space()
        return anchor, tag

    def alias(self) -> Any:
        self.pos += 1  # the "*"
        name = self.word()
        if name not in self.anchors:
            raise self.error(f"unknown alias *{name}")
        return self.anchors[name]

    def implicit_key_ahead(self) -> bool:
        """Whether an implicit mapping key (``key:``, ``! 'key':``, ``*alias :``) starts here."""
        start = self.pos
        try:
            self.properties(cross_lines=False)
            if self.peek() == "*":
                self.word()
            elif self.at_indicator("-") or self.at_indicator("?") or self.peek() in "|>[{\n\0":
                return False
            else:
                self.scalar(self.column())
            self.skip_space()
            return self.at_indicator(":")
        except CassetteFormatError:
            return False
        finally:
            self.pos = start

    def starts_node(self, parent: int, indentless: bool) -> bool:
        if self.pos >= len(self.text) or self.at_marker("---") or self.at_marker("..."):
            return False
        column = self.column()
        return column > parent or (indentless and column == parent and self.at_indicator("-"))

    def tag(self) -> str:
        text = self.word()
        if text.startswith("!<") and text.endswith(">"):
            text = text[2:-1].removeprefix("tag:yaml.org,2002:")
        elif text.startswith("!!"):
            text = text[2:]
        elif text == "!":  # non-specific: resolved as a plain scalar would be
            text = "!"
        if text not in _TAGS:
            raise self.error(f"unsupported tag {text!r}")
        return text

    def content(self, parent: int, tag: str | None) -> Any:
        column = self.column()
        if self.at_indicator("-"):
            return self.check_collection(self.sequence(column), tag)
        if self.at_indicator("?"):
            return self.check_collection(self.mapping(column), tag)
        if self.peek() in "|>":
            return self.construct(self.block_scalar(parent), tag, plain=False)
        if self.peek() in "[{":
            return self.check_collection(self.empty_flow(), tag)
        if self.implicit_key_ahead():
            return self.check_collection(self.mapping(column), tag)
        text, plain = self.scalar(parent)
        return self.construct(text, tag, plain=plain)

    def mapping(self, column: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        while True:
            if self.at_indicator("?"):
                self.pos += 1
                key = self.node(column)
                self.skip_to_content()
                if self.column() == column and self.at_indicator(":"):
                    self.pos += 1
                    result[self.hashable(key)] = self.node(column, indentless=True)
                else:
                    result[self.hashable(key)] = None
            else:
                key = self.key(column)
                self.skip_space()
                if not self.at_indicator(":"):
                    raise self.error("expected ':' after a mapping key")
                self.pos += 1
                result[self.hashable(key)] = self.node(column, indentless=True)
            self.skip_to_content()
            if not self.continues(column):
                return result

    def key(self, column: int) -> Any:
        """An implicit key (one line) of the mapping at ``column``, with its properties."""
        anchor, tag = self.properties(cross_lines=False)
        if self.peek() == "*":
            return self.alias()
        text, plain = self.scalar(column)
        key = self.construct(text, tag, plain=plain)
        if anchor is not None:
            self.anchors[anchor] = key
        return key

    def sequence(self, column: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self.pos += 1  # the "-"
            items.append(self.node(column))
            self.skip_to_content()
            if not self.continues(column) or not self.at_indicator("-"):
                return items

    def continues(self, column: int) -> bool:
        """Whether the collection at ``column`` has another entry at the current position."""
        if self.pos >= len(self.text) or self.at_marker("---") or self.at_marker("..."):
            return False
        if self.column() > column:
            raise self.error("bad indentation")
        return self.column() == column

    def empty_flow(self) -> Any:
        closing = "]" if self.peek() == "[" else "}"
        self.pos += 1
        self.skip_space()
        if self.peek() != closing:
            raise self.error("only the empty flow collections {} and [] are supported")
        self.pos += 1
        return [] if closing == "]" else {}

    def hashable(self, key: Any) -> Any:
        if isinstance(key, list):
            return tuple(self.hashable(k) for k in key)
        if isinstance(key, dict):
            raise self.error("a mapping as a mapping key is not supported")
        return key

    def check_collection(self, value: Any, tag: str | None) -> Any:
        if tag == "python/tuple" and isinstance(value, list):
            return value
        if tag in (None, "!", "map") and isinstance(value, dict):
            return value
        if tag in (None, "!", "seq") and isinstance(value, list):
            return value
        raise self.error(f"tag {tag!r} does not apply to a collection")

    def construct(self, text: str, tag: str | None, *, plain: bool) -> Any:
        if tag is None or tag == "!":
            return _resolve_plain(text) if plain or tag else text
        if tag in ("str", "python/str", "python/unicode"):
            return text
        if tag == "binary":
            try:
                return base64.decodebytes(text.encode("ascii"))
            except (binascii.Error, UnicodeEncodeError) as exc:
                raise self.error(f"bad !!binary value: {exc}") from None
        value = _resolve_plain(text)
        expected = _EXPECTED.get(tag)
        if expected is None or not isinstance(value, expected):
            raise self.error(f"{text!r} is not a valid !!{tag}")
        return _to_float(text) if tag == "float" else value

    # -- scalars -------------------------------------------------------------------------------
    def scalar(self, parent: int) -> tuple[str, bool]:
        """A flow scalar at ``pos`` in a collection at column ``parent``: ``(text, plain)``."""
        quote = self.peek()
        if quote in "'\"":
            return self.quoted(double=quote == '"'), False
        return self.plain(parent + 1), True

    def plain(self, indent: int) -> str:
        """PyYAML's ``scan_plain`` in block context; continuation lines need ``indent``."""
        chunks: list[str] = []
        spaces: list[str] = []
        end = self.pos
        while self.peek() != "#":
            length = 0
            while True:
                char = self.peek(length)
                if char in _BLANK_OR_END or (
                    char == ":" and self.peek(length + 1) in _BLANK_OR_END
                ):
                    break
                length += 1
            if not length:
                break
            chunks.extend(spaces)
            chunks.append(self.text[self.pos : self.pos + length])
            self.pos += length
            end = self.pos
            spaces = self.plain_spaces()
            if not spaces or self.peek() == "#" or self.column() < indent:
                break
        self.pos = end
        if not chunks and self.peek() not in _BLANK_OR_END + "#":
            raise self.error(f"unexpected {self.peek()!r}")
        return "".join(chunks)

    def plain_spaces(self) -> list[str]:
        start = self.pos
        self.skip_space()
        whitespace = self.text[start : self.pos]
        if self.peek() != "\n":
            return [whitespace] if whitespace else []
        self.pos += 1
        if self.at_marker("---") or self.at_marker("..."):
            return []
        breaks: list[str] = []
        while self.peek() in " \n":
            if self.peek() == "\n":
                breaks.append("\n")
            self.pos += 1
            if self.at_marker("---") or self.at_marker("..."):
                return []
        return breaks or [" "]

    def quoted(self, *, double: bool) -> str:
        """PyYAML's ``scan_flow_scalar``: a single- or double-quoted scalar, folded."""
        quote = self.peek()
        self.pos += 1
        chunks = self.quoted_non_spaces(double)
        while self.peek() != quote:
            if self.pos >= len(self.text):
                raise self.error("unterminated quoted scalar")
            chunks.extend(self.quoted_spaces())
            chunks.extend(self.quoted_non_spaces(double))
        self.pos += 1
        return "".join(chunks)

    def quoted_non_spaces(self, double: bool) -> list[str]:
        chunks: list[str] = []
        while True:
            start = self.pos
            while self.peek() not in "'\"\\ \t\n\0":
                self.pos += 1
            if self.pos > start:
                chunks.append(self.text[start : self.pos])
            char = self.peek()
            if not double and char == "'" and self.peek(1) == "'":
                chunks.append("'")
                self.pos += 2
            elif (double and char == "'") or (not double and char in '"\\'):
                chunks.append(char)
                self.pos += 1
            elif double and char == "\\":
                self.pos += 1
                chunks.extend(self.escape())
            else:
                return chunks

    def escape(self) -> list[str]:
        char = self.peek()
        if char in _ESCAPES:
            self.pos += 1
            return [_ESCAPES[char]]
        if char in _ESCAPE_CODES:
            length = _ESCAPE_CODES[char]
            digits = self.text[self.pos + 1 : self.pos + 1 + length]
            if len(digits) != length or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error(f"bad escape \\{char}{digits}")
            self.pos += 1 + length
            return [chr(int(digits, 16))]
        if char == "\n":
            self.pos += 1
            return self.quoted_breaks()
        raise self.error(f"unknown escape \\{char}")

    def quoted_spaces(self) -> list[str]:
        start = self.pos
        self.skip_space()
        whitespace = self.text[start : self.pos]
        if self.peek() != "\n":
            return [whitespace]
        self.pos += 1
        breaks = self.quoted_breaks()
        return breaks or [" "]

    def quoted_breaks(self) -> list[str]:
        breaks: list[str] = []
        while True:
            self.skip_space()
            if self.peek() != "\n":
                return breaks
            breaks.append("\n")
            self.pos += 1

    def block_scalar(self, parent: int) -> str:
        """PyYAML's ``scan_block_scalar``: ``|`` (literal) or ``>`` (folded)."""
        folded = self.peek() == ">"
        self.pos += 1
        chomping, increment = self.block_indicators()
        self.skip_space()
        if self.peek() == "#":
            while self.peek() not in "\n\0":
                self.pos += 1
        if self.peek() not in "\n\0":
            raise self.error("expected a line break after a block scalar indicator")
        if self.peek() == "\n":
            self.pos += 1
        min_indent = max(parent + 1, 1)
        if increment is None:
            breaks, max_indent = self.block_indentation()
            indent = max(min_indent, max_indent)
        else:
            indent = min_indent + increment - 1
            breaks = self.block_breaks(indent)
        chunks: list[str] = []
        line_break = ""
        while self.column() == indent and self.pos < len(self.text):
            chunks.extend(breaks)
            leading_non_space = self.peek() not in " \t"
            end = self.text.find("\n", self.pos)
            end = len(self.text) if end < 0 else end
            chunks.append(self.text[self.pos : end])
            self.pos = end
            line_break = ""
            if self.peek() == "\n":
                line_break = "\n"
                self.pos += 1
            breaks = self.block_breaks(indent)
            if not (self.column() == indent and self.pos < len(self.text)):
                break
            if folded and line_break == "\n" and leading_non_space and self.peek() not in " \t":
                if not breaks:
                    chunks.append(" ")
            else:
                chunks.append(line_break)
        if chomping is not False:
            chunks.append(line_break)
        if chomping is True:
            chunks.extend(breaks)
        return "".join(chunks)

    def block_indicators(self) -> tuple[bool | None, int | None]:
        chomping: bool | None = None
        increment: int | None = None
        for _ in range(2):
            char = self.peek()
            if char in "+-" and chomping is None:
                chomping = char == "+"
            elif char in "123456789" and increment is None:
                increment = int(char)
            else:
                break
            self.pos += 1
        return chomping, increment

    def block_indentation(self) -> tuple[list[str], int]:
        breaks: list[str] = []
        max_indent = 0
        while self.peek() in " \n" and self.pos < len(self.text):
            if self.peek() == "\n":
                breaks.append("\n")
            self.pos += 1
            max_indent = max(max_indent, self.column())
        return breaks, max_indent

    def block_breaks(self, indent: int) -> list[str]:
        breaks: list[str] = []
        while self.column() < indent and self.peek() == " ":
            self.pos += 1
        while self.peek() == "\n":
            breaks.append("\n")
            self.pos += 1
            while self.column() < indent and self.peek() == " ":
                self.pos += 1
        return breaks
