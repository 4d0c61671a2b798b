"""WAV files in pure Python (issue #20, long audio): reading headers, splitting on frame
boundaries into valid WAV files, and clear errors for files that cannot be read or split."""

from __future__ import annotations

import random
import struct

import pytest

from workers_ai.errors import InvalidRequestError
from workers_ai.tasks.media import Media, MediaLimits
from workers_ai.tasks.wav import (
    WavInfo,
    is_wav,
    make_wav,
    parse_wav,
    plan_audio_pieces,
    plan_wav_split,
    split_wav,
    wav_header_size,
    wav_piece,
)


def _samples(frames: int, align: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(frames * align)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def _riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(
    tag: int = 1, channels: int = 1, rate: int = 8000, align: int = 2, bits: int = 16
) -> bytes:
    return struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)


def _check_valid(piece: bytes) -> WavInfo:
    """A piece is a well-formed WAV file: RIFF size, chunk sizes, padding all add up."""
    assert piece[:4] == b"RIFF" and piece[8:12] == b"WAVE"
    assert struct.unpack_from("<I", piece, 4)[0] == len(piece) - 8
    info = parse_wav(piece)
    assert info.data_offset + info.data_size + (info.data_size & 1) == len(piece)
    return info


# --- Reading -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
@pytest.mark.parametrize("channels", [1, 2])
def test_a_written_file_reads_back(bits: int, channels: int) -> None:
    align = channels * bits // 8
    samples = _samples(1001, align)
    wav = make_wav(samples, sample_rate=22_050, channels=channels, bits_per_sample=bits)
    info = _check_valid(wav)
    assert (info.channels, info.bits_per_sample, info.block_align) == (channels, bits, align)
    assert info.frames == 1001 and info.duration == pytest.approx(1001 / 22_050)
    assert wav[info.data_offset : info.data_offset + info.data_size] == samples
    assert info.splittable and is_wav(wav)


def test_other_chunks_and_odd_sizes_are_walked_over() -> None:
    samples = _samples(5, 1)  # 8-bit mono, 5 bytes: an odd data chunk with a pad byte
    wav = _riff(
        _chunk(b"LIST", b"INFOICMT\x03\x00\x00\x00hi\x00"),  # odd-sized: padded
        _chunk(b"fmt ", _fmt(align=1, bits=8)),
        _chunk(b"data", samples),
        _chunk(b"cue ", b"\x00" * 4),
    )
    info = parse_wav(wav)
    assert wav[info.data_offset : info.data_offset + info.data_size] == samples


def test_a_data_chunk_of_unknown_size_runs_to_the_end() -> None:
    samples = _samples(100, 2)
    wav = b"RIFF\xff\xff\xff\xffWAVE" + _chunk(b"fmt ", _fmt()) + b"data\xff\xff\xff\xff" + samples
    assert parse_wav(wav).data_size == len(samples)


def test_bytes_after_the_last_whole_frame_are_not_audio() -> None:
    wav = _riff(
        _chunk(b"fmt ", _fmt(channels=2, align=4)), _chunk(b"data", _samples(10, 4) + b"xy")
    )
    info = parse_wav(wav)
    assert info.frames == 10 and info.data_size == 40


def test_extensible_pcm_is_read_and_split() -> None:
    base = _fmt(tag=0xFFFE, channels=2, rate=16_000, align=4, bits=16)
    guid_pcm = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = base + struct.pack("<HHI", 22, 16, 3) + guid_pcm
    wav = _riff(_chunk(b"fmt ", fmt), _chunk(b"data", _samples(1000, 4)))
    info = parse_wav(wav)
    assert info.format_tag == 0xFFFE and info.sample_format == 1 and info.splittable
    pieces = split_wav(wav, 1500)
    assert all(parse_wav(p.data).fmt_chunk == fmt for p in pieces)  # the fmt chunk kept whole


# --- Splitting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "channels", "frames", "max_bytes"),
    [
        (16, 1, 16_000, 8_044),
        (16, 2, 7_777, 5_000),
        (8, 1, 9_999, 1_001),  # odd pieces: each data chunk is padded
        (24, 1, 5_003, 3_001),  # 3-byte frames
        (24, 2, 4_001, 2_500),
        (32, 2, 3_000, 4_096),
    ],
)
def test_pieces_are_valid_wav_files_that_join_into_the_original(
    bits: int, channels: int, frames: int, max_bytes: int
) -> None:
    align = channels * bits // 8
    samples = _samples(frames, align)
    wav = make_wav(samples, sample_rate=8_000, channels=channels, bits_per_sample=bits)
    pieces = split_wav(wav, max_bytes)
    assert len(pieces) > 1
    joined = b""
    for piece in pieces:
        assert len(piece.data) <= max_bytes
        info = _check_valid(piece.data)
        assert (info.channels, info.bits_per_sample, info.sample_rate) == (channels, bits, 8_000)
        assert info.frames == piece.frames
        assert piece.start == pytest.approx(piece.start_frame / 8_000)
        assert piece.duration == pytest.approx(piece.frames / 8_000)
        joined += piece.data[info.data_offset : info.data_offset + info.data_size]
    assert joined == samples
    assert [p.start_frame for p in pieces] == [
        sum(p.frames for p in pieces[:i]) for i in range(len(pieces))
    ]
    sizes = [p.frames for p in pieces]
    assert max(sizes) - min(sizes) <= len(pieces)  # even pieces: no sliver at the end


def test_a_file_that_fits_is_one_piece() -> None:
    wav = make_wav(_samples(100, 2), sample_rate=8000)
    (piece,) = split_wav(wav, len(wav))
    assert piece.data == wav and piece.start == 0.0


def test_the_smallest_piece_holds_a_header_and_one_frame() -> None:
    wav = make_wav(_samples(3, 3), sample_rate=8000, bits_per_sample=24)
    info = parse_wav(wav)
    header = wav_header_size(info)
    assert [p.frames for p in split_wav(wav, header + 4)] == [1, 1, 1]  # 3 bytes + pad
    with pytest.raises(InvalidRequestError, match="cannot hold a 44-byte header"):
        split_wav(wav, header + 3)


def test_float_pieces_carry_a_fact_chunk() -> None:
    samples = struct.pack("<400f", *([0.25] * 400))
    wav = make_wav(samples, sample_rate=8000, bits_per_sample=32, format_tag=3)
    for piece in split_wav(wav, 600):
        info = _check_valid(piece.data)
        assert info.format_tag == 3
        fact = piece.data.index(b"fact")
        assert struct.unpack_from("<II", piece.data, fact + 4) == (4, piece.frames)


def test_other_chunks_are_left_out_of_the_pieces() -> None:
    wav = _riff(
        _chunk(b"fmt ", _fmt()),
        _chunk(b"LIST", b"INFOICMT\x04\x00\x00\x00abc\x00"),
        _chunk(b"data", _samples(2000, 2)),
    )
    for piece in split_wav(wav, 1000):
        assert b"LIST" not in piece.data[: parse_wav(piece.data).data_offset]


def test_a_piece_outside_the_file_is_refused() -> None:
    wav = make_wav(_samples(10, 2), sample_rate=8000)
    info = parse_wav(wav)
    with pytest.raises(InvalidRequestError, match="outside"):
        wav_piece(wav, info, 5, 6)
    assert wav_piece(wav, info, 5, 5).start == 5 / 8000


# --- Errors --------------------------------------------------------------------------------------

_GOOD_FMT = _chunk(b"fmt ", _fmt())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ID3\x03" + bytes(40), "does not start with a RIFF/WAVE header"),
        (b"RIFF\x00\x00\x00\x00AVI " + bytes(40), "does not start with a RIFF/WAVE header"),
        (b"RF64\xff\xff\xff\xffWAVE" + bytes(40), "RF64"),
        (_riff(_chunk(b"data", bytes(10))), "no 'fmt ' chunk"),
        (_riff(_GOOD_FMT), "no 'data' chunk"),
        (_riff(_chunk(b"fmt ", b"\x01\x00\x01\x00")), "under the 16 it needs"),
        (_riff(_chunk(b"fmt ", _fmt(channels=0)), _chunk(b"data", b"")), "at least 1"),
        (_riff(_chunk(b"fmt ", _fmt(rate=0)), _chunk(b"data", b"")), "at least 1"),
        (_riff(_chunk(b"fmt ", _fmt(align=3)), _chunk(b"data", b"")), "block_align is 3"),
        (_riff(_GOOD_FMT) + b"data\x00\x10\x00\x00" + bytes(10), "a truncated file"),
    ],
)
def test_bad_headers_are_named(data: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        parse_wav(data)
    assert "not a valid WAV file" in str(caught.value)


def test_compressed_audio_is_read_but_not_split() -> None:
    adpcm = _chunk(b"fmt ", struct.pack("<HHIIHHH", 0x11, 1, 8000, 4055, 256, 4, 2) + b"\xf9\x01")
    wav = _riff(adpcm, _chunk(b"data", bytes(2048)))
    info = parse_wav(wav)
    assert not info.splittable and info.frames == 8
    with pytest.raises(InvalidRequestError, match=r"0x0011 \(compressed\) cannot be split"):
        split_wav(wav, 1000)


def test_an_empty_data_chunk_cannot_be_split() -> None:
    info = parse_wav(_riff(_GOOD_FMT, _chunk(b"data", b"")))
    with pytest.raises(InvalidRequestError, match="holds no audio"):
        plan_wav_split(info, 1000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": bytes(3)}, "not whole 2-byte frames"),
        ({"sample_rate": 0}, ">= 1"),
        ({"format_tag": 2}, "format_tag"),
    ],
)
def test_make_wav_refuses_impossible_files(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"samples": bytes(4), "sample_rate": 8000, **kwargs}
    with pytest.raises(InvalidRequestError, match=message):
        make_wav(**args)  # type: ignore[arg-type]


# --- Planning requests ---------------------------------------------------------------------------

_LIMITS = MediaLimits(audio_bytes=10_000)
_TONE = make_wav(_samples(8_000, 2), sample_rate=8_000)  # 16,044 bytes


@pytest.mark.parametrize(
    ("audio", "max_chunk_bytes", "header", "pieces"),
    [
        (Media(_TONE[:4_044], "audio/wav"), None, False, 0),  # cut short: whole, unread
        (Media(make_wav(bytes(4_000), sample_rate=8_000), "audio/wav"), None, True, 0),
        (Media(b"RIFF\x00\x00\x00\x00WAVEjunk", "audio/wav"), None, False, 0),  # let it try
        (Media(b"ID3" + bytes(9_000), "audio/mpeg"), None, False, 0),
        (Media(_TONE, "audio/wav"), None, True, 2),
        (Media(_TONE, "audio/wav"), 3_000, True, 6),
    ],
)
def test_audio_goes_whole_or_in_wav_pieces(
    audio: Media, max_chunk_bytes: int | None, header: bool, pieces: int
) -> None:
    info, planned = plan_audio_pieces(audio, _LIMITS, max_chunk_bytes)
    assert (info is not None, len(planned)) == (header, pieces)


@pytest.mark.parametrize(
    ("audio", "max_chunk_bytes", "message"),
    [
        (Media(b"ID3" + bytes(10_001), "audio/mpeg"), None, "Only WAV audio is split"),
        (Media(bytes(10_001), "audio/wav"), None, "not a valid WAV file"),
        (Media(_TONE, "audio/wav"), 10_001, "max_chunk_bytes must be from 1 to"),
        (Media(_TONE, "audio/wav"), 0, "max_chunk_bytes must be from 1 to"),
        (Media(_TONE, "audio/wav"), 2.5, "max_chunk_bytes must be an int"),
    ],
)
def test_audio_that_cannot_go_out_is_named(
    audio: Media, max_chunk_bytes: object, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        plan_audio_pieces(audio, _LIMITS, max_chunk_bytes)  # type: ignore[arg-type]
