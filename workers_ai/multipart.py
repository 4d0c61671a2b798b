"""``multipart/form-data`` bodies, built in memory (pure; no I/O).

For the routes that take files (``/ai/tomarkdown``): each part is a file (name, bytes, media
type) or a text field. The boundary is random per form and checked not to occur in any part.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from workers_ai.errors import InvalidRequestError

__all__ = ["MultipartForm"]

_UNSAFE = ('"', "\r", "\n")


def _quoted(value: str, what: str) -> str:
    if any(c in value for c in _UNSAFE) or not value.isprintable():
        raise InvalidRequestError(
            f"{what} {value!r} cannot go in a multipart header: remove quotes, line breaks and "
            "control characters"
        )
    return value


@dataclass
class MultipartForm:
    """A form being built: :meth:`add_file`, :meth:`add_field`, then :attr:`body` and
    :attr:`content_type`."""

    boundary: str = field(default_factory=lambda: "wai-" + secrets.token_hex(16))
    _parts: list[bytes] = field(default_factory=list, repr=False)

    def add_file(self, name: str, filename: str, data: bytes, media_type: str) -> None:
        """A file part (``Content-Disposition: form-data; name=...; filename=...``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidRequestError(f"{filename}: file contents must be bytes")
        head = (
            f'Content-Disposition: form-data; name="{_quoted(name, "field name")}"; '
            f'filename="{_quoted(filename, "file name")}"\r\n'
            f"Content-Type: {_quoted(media_type, 'media type')}\r\n\r\n"
        )
        self._parts.append(head.encode("utf-8") + bytes(data))

    def add_field(self, name: str, value: str) -> None:
        """A text part (UTF-8)."""
        head = f'Content-Disposition: form-data; name="{_quoted(name, "field name")}"\r\n\r\n'
        self._parts.append(head.encode("utf-8") + value.encode("utf-8"))

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def body(self) -> bytes:
        """The encoded form.

        Raises:
            InvalidRequestError: A part holds the boundary (pick another form; practically
                impossible with a random one).
        """
        marker = b"--" + self.boundary.encode("ascii")
        if any(marker in part for part in self._parts):
            raise InvalidRequestError("a file contains the multipart boundary; try again")
        chunks = [marker + b"\r\n" + part + b"\r\n" for part in self._parts]
        return b"".join(chunks) + marker + b"--\r\n"
