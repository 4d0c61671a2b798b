"""Media going in and out of the task functions: checked bytes with their media type (pure).

The spec gives no size limits for audio or images; :class:`MediaLimits` holds documented,
configurable defaults so an oversized file fails before any request, naming the limit and how
to change it. Media types are taken from the caller or sniffed from the bytes' signature; a
type the task cannot take fails with the list it can.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from workers_ai.errors import InvalidRequestError

__all__ = ["DEFAULT_LIMITS", "Label", "Media", "MediaLimits", "check_media", "sniff_media_type"]


@dataclass(frozen=True)
class MediaLimits:
    """Largest inputs sent (bytes). Defaults, not Cloudflare's numbers (it documents none):
    a request over its own limit fails with 413 / code 3006 anyway.

    Attributes:
        audio_bytes: Audio per request (longer WAV is split; see
            :func:`workers_ai.tasks.speech.transcribe`).
        image_bytes: One image.
        document_bytes: One file for Markdown conversion.
    """

    audio_bytes: int = 10 * 1024 * 1024
    image_bytes: int = 10 * 1024 * 1024
    document_bytes: int = 20 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("audio_bytes", "image_bytes", "document_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidRequestError(f"MediaLimits.{name} must be a whole number >= 1")


DEFAULT_LIMITS = MediaLimits()


@dataclass(frozen=True)
class Label:
    """One classification label (images, text): a class name and the model's confidence.

    Attributes:
        label: The class name (``"EGYPTIAN CAT"``, ``"POSITIVE"``).
        score: The model's confidence, 0 to 1.
    """

    label: str
    score: float


@dataclass(frozen=True)
class Media:
    """Bytes and their media type (an answer's image or audio, or a checked input).

    Attributes:
        data: The bytes.
        media_type: ``image/png``, ``audio/wav``...
    """

    data: bytes
    media_type: str

    def __repr__(self) -> str:
        return f"Media({self.media_type}, {len(self.data)} bytes)"


#: Signatures at the start of a file -> its media type.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"ID3", "audio/mpeg"),  # MPEG frames without a tag: the frame-sync check below
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"%PDF-", "application/pdf"),
)


def sniff_media_type(data: bytes) -> str | None:
    """The media type the bytes' signature says, or ``None``."""
    head = bytes(data[:16])
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if len(head) >= 2 and head[0] == 0xFF:  # an MPEG audio frame sync, or AAC's ADTS
        if head[1] & 0xF6 == 0xF0:
            return "audio/aac"
        if head[1] & 0xE0 == 0xE0:
            return "audio/mpeg"
    return None


def check_media(
    data: object,
    *,
    what: str,
    max_bytes: int,
    accepted: Collection[str] | None = None,
    media_type: str | None = None,
    limit_name: str = "",
) -> Media:
    """``data`` as checked :class:`Media`.

    Args:
        data: The input (must be ``bytes``: read files and URLs first).
        what: Names it in errors (``"audio"``, ``"image"``).
        max_bytes: The largest accepted size.
        accepted: Media types (or ``type/*`` families) the task takes; ``None``: any.
        media_type: The caller's media type, else sniffed.
        limit_name: The :class:`MediaLimits` field that sets ``max_bytes`` (for the message).

    Raises:
        InvalidRequestError: Not bytes, empty, too large, or of a type the task cannot take.
    """
    if isinstance(data, str):
        raise InvalidRequestError(
            f"{what}: pass the file's bytes, not a str (read a path with "
            "pathlib.Path(...).read_bytes(); the framework tools take paths)"
        )
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidRequestError(f"{what} must be bytes, not {type(data).__name__}")
    raw = bytes(data)
    if not raw:
        raise InvalidRequestError(f"{what} is empty")
    if len(raw) > max_bytes:
        setting = f" (raise MediaLimits({limit_name}=...))" if limit_name else ""
        raise InvalidRequestError(
            f"{what} is {len(raw):,} bytes, over the limit of {max_bytes:,}{setting}"
        )
    found = (media_type or sniff_media_type(raw) or "application/octet-stream").lower()
    if accepted is not None and not _accepted(found, accepted):
        raise InvalidRequestError(
            f"{what} is {found}; this task takes {', '.join(sorted(accepted))}"
        )
    return Media(raw, found)


def _accepted(media_type: str, accepted: Collection[str]) -> bool:
    family = media_type.split("/", 1)[0] + "/*"
    return media_type in accepted or family in accepted
