"""WAV (RIFF/WAVE) files in pure Python: read the header, split on frame boundaries (no I/O),
and plan how audio goes out in requests (:func:`plan_audio_pieces`).

Long WAV audio is transcribed piece by piece (:func:`workers_ai.tasks.speech.transcribe`): the
samples are cut on whole frames (one sample of every channel) into complete WAV files, each with
its own correct header and the start of its audio in seconds. The samples are copied byte for
byte, never re-encoded. Splitting takes uncompressed audio only: PCM, IEEE float, A-law and
mu-law (also inside ``WAVE_FORMAT_EXTENSIBLE``); a compressed WAV (ADPCM, MP3-in-WAV...) is read
but not split.

Chunks other than ``fmt `` and ``data`` (``LIST``/``INFO`` tags, cue points...) are left out of
the pieces: they describe the whole file. A ``data`` chunk whose size is ``0xFFFFFFFF`` (written
by streaming encoders that could not seek back) runs to the end of the file. Bytes after the
last whole frame (less than one sample of each channel) are not audio and are not carried over.

Example:
    >>> from workers_ai.tasks.wav import make_wav, parse_wav, split_wav
    >>> wav = make_wav(bytes(32_000), sample_rate=16_000)  # 1 s of 16-bit mono silence
    >>> parse_wav(wav).duration
    1.0
    >>> [(p.start, p.duration) for p in split_wav(wav, max_bytes=16_044)]
    [(0.0, 0.5), (0.5, 0.5)]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from workers_ai.errors import InvalidRequestError
from workers_ai.tasks.media import Media, MediaLimits

__all__ = [
    "SPLITTABLE_FORMATS",
    "WavInfo",
    "WavPiece",
    "is_wav",
    "make_wav",
    "parse_wav",
    "plan_audio_pieces",
    "plan_wav_split",
    "split_wav",
    "wav_header_size",
    "wav_piece",
]

#: Format tags whose samples can be cut on any frame: PCM, IEEE float, A-law, mu-law.
SPLITTABLE_FORMATS: dict[int, str] = {1: "PCM", 3: "IEEE float", 6: "A-law", 7: "mu-law"}
_WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZE = 0xFFFFFFFF
_RIFF_HEADER = 12  # "RIFF" size "WAVE"
_CHUNK_HEADER = 8  # id size
_FACT_CHUNK = _CHUNK_HEADER + 4


@dataclass(frozen=True)
class WavInfo:
    """What a WAV file's header says, and where its samples are.

    Attributes:
        format_tag: ``1`` PCM, ``3`` IEEE float, ``6`` A-law, ``7`` mu-law, ``0xFFFE``
            extensible (see :attr:`sample_format`), or a compressed format's tag.
        channels: Channels per frame.
        sample_rate: Frames per second.
        bits_per_sample: Bits of one sample of one channel.
        block_align: Bytes per frame (all channels).
        data_offset: Where the samples start in the file.
        data_size: Bytes of samples, whole frames only.
        fmt_chunk: The ``fmt `` chunk's payload as found (written into every piece).
    """

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    data_offset: int
    data_size: int
    fmt_chunk: bytes = field(repr=False)

    @property
    def sample_format(self) -> int:
        """The format tag, or for ``WAVE_FORMAT_EXTENSIBLE`` the one its sub-format names."""
        if self.format_tag == _EXTENSIBLE and len(self.fmt_chunk) >= 26:
            return int(struct.unpack_from("<H", self.fmt_chunk, 24)[0])
        return self.format_tag

    @property
    def frames(self) -> int:
        """Frames (one sample of every channel) in the file."""
        return self.data_size // self.block_align

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.frames / self.sample_rate

    @property
    def splittable(self) -> bool:
        """Whether the samples can be cut on any frame (uncompressed audio)."""
        return self.sample_format in SPLITTABLE_FORMATS


@dataclass(frozen=True)
class WavPiece:
    """One piece of a split WAV file: a complete WAV file and where its audio starts.

    Attributes:
        data: The piece, a WAV file with its own header.
        start: Where its audio starts in the original, in seconds.
        duration: Seconds of audio in it.
        start_frame: Its first frame's index in the original.
        frames: Frames in it.
    """

    data: bytes = field(repr=False)
    start: float
    duration: float
    start_frame: int
    frames: int


def is_wav(data: bytes) -> bool:
    """Whether ``data`` starts like a RIFF/WAVE file."""
    head = bytes(data[:12])
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def _bad(reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"audio is not a valid WAV file: {reason}")


def _chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """``(id, payload offset, payload size)`` of each top-level chunk; a ``data`` chunk of
    unknown size (``0xFFFFFFFF``) runs to the end of the file and ends the walk."""
    position = _RIFF_HEADER
    while position + _CHUNK_HEADER <= len(data):
        kind = bytes(data[position : position + 4])
        size = int(struct.unpack_from("<I", data, position + 4)[0])
        start = position + _CHUNK_HEADER
        if kind == b"data" and size == _UNKNOWN_SIZE:
            yield kind, start, len(data) - start
            return
        if start + size > len(data):
            name = kind.decode("latin-1")
            raise _bad(
                f"chunk {name!r} says {size:,} bytes but the file ends {len(data) - start:,} "
                "bytes after its header (a truncated file?)"
            )
        yield kind, start, size
        position = start + size + (size & 1)


def _read_fmt(payload: bytes) -> tuple[int, int, int, int, int]:
    """``(format tag, channels, sample rate, block align, bits per sample)``, checked."""
    if len(payload) < 16:
        raise _bad(f"the 'fmt ' chunk is {len(payload)} bytes, under the 16 it needs")
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", payload, 0)
    if channels < 1 or rate < 1 or align < 1 or bits < 1:
        raise _bad(
            f"channels={channels}, sample_rate={rate}, block_align={align}, "
            f"bits_per_sample={bits}: each must be at least 1"
        )
    return int(tag), int(channels), int(rate), int(align), int(bits)


def parse_wav(data: bytes) -> WavInfo:
    """Read a WAV file's ``fmt `` and ``data`` chunks.

    Args:
        data: The whole file.

    Returns:
        The format and where the samples are.

    Raises:
        InvalidRequestError: Not a RIFF/WAVE file (RF64 included), a chunk running past the end
            of the file, no ``fmt `` or ``data`` chunk, impossible numbers in ``fmt ``, or an
            uncompressed format whose frame size does not match its channels and bits.
    """
    raw = bytes(data)
    if raw[:4] in (b"RF64", b"BW64"):
        raise _bad("RF64 (WAV over 4 GB) is not supported; split the file first")
    if not is_wav(raw):
        raise _bad("it does not start with a RIFF/WAVE header")
    fmt: bytes | None = None
    found: tuple[int, int] | None = None
    for kind, start, size in _chunks(raw):
        if kind == b"fmt " and fmt is None:
            fmt = raw[start : start + size]
        elif kind == b"data" and found is None:
            found = (start, size)
    if fmt is None:
        raise _bad("it has no 'fmt ' chunk")
    tag, channels, rate, align, bits = _read_fmt(fmt)
    if found is None:
        raise _bad("it has no 'data' chunk")
    info = WavInfo(tag, channels, rate, bits, align, found[0], found[1] - found[1] % align, fmt)
    expected = channels * ((bits + 7) // 8)
    if info.splittable and align != expected:
        raise _bad(
            f"block_align is {align} but {channels} channel(s) of {bits}-bit samples take "
            f"{expected} bytes per frame"
        )
    return info


def wav_header_size(info: WavInfo) -> int:
    """Bytes before the samples in a piece written by :func:`wav_piece`."""
    fmt = len(info.fmt_chunk) + (len(info.fmt_chunk) & 1)
    fact = _FACT_CHUNK if info.sample_format != 1 else 0
    return _RIFF_HEADER + _CHUNK_HEADER + fmt + fact + _CHUNK_HEADER


def _write_wav(info: WavInfo, samples: bytes, frames: int) -> bytes:
    fmt = info.fmt_chunk + b"\x00" * (len(info.fmt_chunk) & 1)
    parts = [b"fmt " + struct.pack("<I", len(info.fmt_chunk)) + fmt]
    if info.sample_format != 1:  # non-PCM formats carry a fact chunk: frames per channel
        parts.append(b"fact" + struct.pack("<II", 4, frames))
    parts.append(b"data" + struct.pack("<I", len(samples)) + samples)
    if len(samples) & 1:
        parts.append(b"\x00")
    body = b"".join(parts)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def plan_wav_split(info: WavInfo, max_bytes: int) -> list[tuple[int, int]]:
    """``(start frame, frames)`` of pieces of at most ``max_bytes`` each (headers included),
    as even as whole frames allow, so the last piece is not a sliver.

    Raises:
        InvalidRequestError: A compressed format, no samples, or ``max_bytes`` too small for
            a header and one frame.
    """
    if not info.splittable:
        raise InvalidRequestError(
            f"a WAV file of format tag 0x{info.sample_format:04X} (compressed) cannot be split; "
            f"only {', '.join(SPLITTABLE_FORMATS.values())} WAV audio is"
        )
    if info.frames == 0:
        raise InvalidRequestError("the WAV file holds no audio (its data chunk is empty)")
    room = max_bytes - wav_header_size(info)
    per_piece = room // info.block_align
    if per_piece * info.block_align & 1 and per_piece * info.block_align + 1 > room:
        per_piece -= 1  # odd data is followed by a pad byte
    if per_piece < 1:
        raise InvalidRequestError(
            f"pieces of {max_bytes:,} bytes cannot hold a {wav_header_size(info)}-byte header "
            f"and one {info.block_align}-byte frame; allow bigger pieces"
        )
    count = -(-info.frames // per_piece)
    size = -(-info.frames // count)
    return [(start, min(size, info.frames - start)) for start in range(0, info.frames, size)]


def wav_piece(data: bytes, info: WavInfo, start_frame: int, frames: int) -> WavPiece:
    """The WAV file holding ``frames`` frames of ``data`` from ``start_frame`` on."""
    if start_frame < 0 or frames < 1 or start_frame + frames > info.frames:
        raise InvalidRequestError(
            f"frames {start_frame}..{start_frame + frames} are outside the file's "
            f"{info.frames} frames"
        )
    begin = info.data_offset + start_frame * info.block_align
    samples = bytes(data[begin : begin + frames * info.block_align])
    return WavPiece(
        data=_write_wav(info, samples, frames),
        start=start_frame / info.sample_rate,
        duration=frames / info.sample_rate,
        start_frame=start_frame,
        frames=frames,
    )


def split_wav(data: bytes, max_bytes: int) -> list[WavPiece]:
    """Cut a WAV file into WAV files of at most ``max_bytes`` bytes each, on frame boundaries.

    Args:
        data: The whole file.
        max_bytes: The largest piece, header included.

    Returns:
        The pieces in order; their samples, joined, are the original's.

    Raises:
        InvalidRequestError: See :func:`parse_wav` and :func:`plan_wav_split`.
    """
    info = parse_wav(data)
    return [wav_piece(data, info, start, n) for start, n in plan_wav_split(info, max_bytes)]


def make_wav(
    samples: bytes,
    *,
    sample_rate: int,
    channels: int = 1,
    bits_per_sample: int = 16,
    format_tag: int = 1,
) -> bytes:
    """A WAV file around raw interleaved samples (little-endian, as WAV stores them).

    Args:
        samples: The frames; their length must be a whole number of frames.
        sample_rate: Frames per second.
        channels: Channels per frame.
        bits_per_sample: 8, 16, 24, 32 (PCM) or 32/64 (IEEE float, ``format_tag=3``).
        format_tag: ``1`` PCM, ``3`` IEEE float, ``6`` A-law, ``7`` mu-law.

    Raises:
        InvalidRequestError: Impossible numbers, or samples that are not whole frames.
    """
    if format_tag not in SPLITTABLE_FORMATS:
        raise InvalidRequestError(f"format_tag must be one of {sorted(SPLITTABLE_FORMATS)}")
    if min(sample_rate, channels, bits_per_sample) < 1:
        raise InvalidRequestError("sample_rate, channels and bits_per_sample must be >= 1")
    align = channels * ((bits_per_sample + 7) // 8)
    if len(samples) % align:
        raise InvalidRequestError(
            f"{len(samples)} bytes of samples are not whole {align}-byte frames"
        )
    fmt = struct.pack(
        "<HHIIHH", format_tag, channels, sample_rate, sample_rate * align, align, bits_per_sample
    )
    if format_tag != 1:
        fmt += b"\x00\x00"  # cbSize: non-PCM fmt chunks are 18 bytes
    info = WavInfo(format_tag, channels, sample_rate, bits_per_sample, align, 0, 0, fmt)
    return _write_wav(info, bytes(samples), len(samples) // align)


# --- Audio in requests -----------------------------------------------------------------------


def _chunk_limit(limits: object, max_chunk_bytes: object) -> int:
    if not isinstance(limits, MediaLimits):
        raise InvalidRequestError(f"limits must be a MediaLimits, not {type(limits).__name__}")
    if max_chunk_bytes is None:
        return limits.audio_bytes
    if not isinstance(max_chunk_bytes, int) or isinstance(max_chunk_bytes, bool):
        raise InvalidRequestError(f"max_chunk_bytes must be an int, not {max_chunk_bytes!r}")
    if not 1 <= max_chunk_bytes <= limits.audio_bytes:
        raise InvalidRequestError(
            f"max_chunk_bytes must be from 1 to limits.audio_bytes ({limits.audio_bytes:,}), "
            f"not {max_chunk_bytes:,}: each piece is one request (raise "
            "MediaLimits(audio_bytes=...) for bigger ones)"
        )
    return max_chunk_bytes


def plan_audio_pieces(
    audio: Media, limits: MediaLimits, max_chunk_bytes: int | None = None
) -> tuple[WavInfo | None, tuple[tuple[int, int], ...]]:
    """How checked audio goes out: whole, or (WAV over ``max_chunk_bytes``) in pieces.

    Args:
        audio: The checked audio.
        limits: ``audio_bytes`` caps every request.
        max_chunk_bytes: WAV audio over this is split (default ``limits.audio_bytes``).

    Returns:
        The WAV header when there is one to read, and the ``(start frame, frames)`` of each
        piece; ``()`` when the audio goes whole.

    Raises:
        InvalidRequestError: Audio other than WAV over ``limits.audio_bytes`` (only WAV is
            split), WAV over ``max_chunk_bytes`` that cannot be read or split, or a
            ``max_chunk_bytes`` outside 1 to ``limits.audio_bytes``.
    """
    chunk_limit = _chunk_limit(limits, max_chunk_bytes)
    size = len(audio.data)
    wav = is_wav(audio.data) or audio.media_type in _WAV_TYPES
    if not wav and size > limits.audio_bytes:
        raise InvalidRequestError(
            f"audio is {size:,} bytes of {audio.media_type}, over the limit of "
            f"{limits.audio_bytes:,} bytes per request. Only WAV audio is split into pieces: "
            "convert it (e.g. `ffmpeg -i in.mp3 -ac 1 -ar 16000 out.wav`), or raise the limit "
            "with limits=MediaLimits(audio_bytes=...)"
        )
    if not wav:
        return None, ()
    if size <= chunk_limit:
        try:  # only for the duration: a header we cannot read still goes to the model
            return parse_wav(audio.data), ()
        except InvalidRequestError:
            return None, ()
    info = parse_wav(audio.data)
    return info, tuple(plan_wav_split(info, chunk_limit))
