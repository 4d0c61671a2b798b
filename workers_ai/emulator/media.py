"""Stand-ins for the media tasks of spec §8 (pure: no I/O, no global state).

Speech recognition, image classification, object detection, image-to-text, text-to-image and
text-to-speech. None of these is a model: every output is a cheap, repeatable function of the
input (a SHA-256 of the bytes or the prompt seeds the choices), in the documented shape.

* ASR (whisper): words drawn from a small fixed vocabulary, as many as the audio's duration
  suggests (read from a WAV header, else estimated from the size), evenly timed, with a WebVTT
  rendering; ``whisper-large-v3-turbo`` adds ``segments`` and ``transcription_info``. Audio
  made by the text-to-speech stand-in carries its text, and is transcribed back to it.
* Image classification (resnet-50): five labels from a fixed ImageNet-style list, best first.
* Object detection (detr-resnet-50): one to four labelled boxes inside the image (its size is
  read from a PNG, GIF or JPEG header, else assumed 640x480).
* Image-to-text (llava): a one-sentence description naming the top classification label.
* Text-to-image: flux answers ``{"image": <base64 JPEG>}``, a 64x64 picture of coloured blocks
  built in pure Python; other text-to-image models (Stable Diffusion, dreamshaper) answer raw
  PNG bytes (``width`` x ``height``, 512 x 512 by default; ``image/png``). Both check their
  inputs against the models' documented bounds (flux: prompt up to 2,048 characters, 1-8
  steps; Stable Diffusion: 256-2048 pixel sides, 1-20 ``num_steps``, ``strength`` 0-1).
* Text-to-speech (melotts): ``{"audio": <base64 WAV>}``, one short tone per word.

Inputs follow §8: audio as a list of bytes (u8), base64 or the raw request body; images as a
list of bytes, base64 or the raw body. Bad input is a 400 / 5006 error naming the field
(5004 for a string that is not base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import random
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from workers_ai.emulator.facts import (
    ASR,
    IMAGE_CLASSIFICATION,
    IMAGE_TO_TEXT,
    OBJECT_DETECTION,
    TEXT_TO_IMAGE,
    TEXT_TO_SPEECH,
    ModelFacts,
)
from workers_ai.emulator.standins import content_terms, truncate_tokens
from workers_ai.emulator.validation import EmulatorError, bad_input, validate_text_field

__all__ = [
    "BINARY_INPUT_FIELDS",
    "MEDIA_TASKS",
    "binary_input",
    "classify_image",
    "detect_objects",
    "image_size",
    "jpeg_image",
    "media_schema",
    "png_image",
    "run_media",
    "synthesize_speech",
    "transcribe",
]

#: Tasks whose model takes the file itself as the request body, and the field it stands for.
BINARY_INPUT_FIELDS: Mapping[str, str] = {
    ASR: "audio",
    IMAGE_CLASSIFICATION: "image",
    OBJECT_DETECTION: "image",
    IMAGE_TO_TEXT: "image",
}
MEDIA_TASKS = frozenset(
    {ASR, IMAGE_CLASSIFICATION, OBJECT_DETECTION, IMAGE_TO_TEXT, TEXT_TO_IMAGE, TEXT_TO_SPEECH}
)

# Text-to-image families that answer {"image": <base64>} rather than raw PNG bytes (spec §8).
_BASE64_IMAGE_PREFIXES = ("@cf/black-forest-labs/", "@cf/leonardo/")

_WORDS_PER_SECOND = 2.5
_MIN_AUDIO_SECONDS = 1.0
_COMPRESSED_BYTES_PER_SECOND = 16_000  # ~128 kbit/s, for audio without a WAV header
_MAX_WORDS = 600
_WORDS_PER_CUE = 8
_VOCABULARY_TEXT = (
    "the a this that weather meeting project today tomorrow morning evening people city "
    "river market music coffee train office window garden story report number team plan "
    "is was will can should might looks sounds feels seems runs starts opens moves "
    "quickly slowly again together nearly always often clearly quietly "
    "bright quiet small large early late warm cold green blue new old"
)
_VOCABULARY = tuple(_VOCABULARY_TEXT.split())
_IMAGE_LABELS = (
    "EGYPTIAN CAT", "TABBY", "GOLDEN RETRIEVER", "POMERANIAN", "PEKINESE", "TIGER CAT",
    "ESPRESSO", "TEAPOT", "SPORTS CAR", "MOUNTAIN BIKE", "SEASHORE", "VALLEY", "VOLCANO",
    "DAISY", "LAKESIDE", "PIZZA", "BAGEL", "LAPTOP", "DESK", "STREET SIGN", "CASTLE",
    "SAILBOAT", "GRAND PIANO", "FEATHER BOA",
)  # fmt: skip
_DETECTION_LABELS = (
    "person", "cat", "dog", "car", "bicycle", "bus", "chair", "couch", "potted plant",
    "bottle", "cup", "laptop", "book", "clock", "bird", "umbrella",
)  # fmt: skip
_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "grey", "white", "black")
_DEFAULT_IMAGE_SIZE = (640, 480)
_IMAGE_TO_TEXT_MAX_TOKENS = 512
_FLUX_MAX_STEPS = 8
_FLUX_MAX_PROMPT = 2048  # characters (the model's page)
# Stable Diffusion/dreamshaper bounds (the models' pages; §8 names the fields only)
_SD_MIN_SIDE = 256
_SD_MAX_SIDE = 2048
_SD_DEFAULT_SIDE = 512
_SD_MAX_STEPS = 20
_IMAGE_SIDE = 64  # pixels of the flux stand-in picture
_BLOCK = 8
_SPEECH_RATE = 8_000  # Hz, 8-bit mono PCM
_SPEECH_WORD_SAMPLES = 1_600  # 0.2 s of tone per word
_SPEECH_GAP_SAMPLES = 400  # 0.05 s of silence after it
_SPEECH_MAX_WORDS = 200
_STANDIN_MARK = b"workers-ai-python emulator: stand-in media, not a real model output"
_TEXT_CHUNK = b"ICMT"  # a RIFF INFO comment carries the spoken text


def run_media(info: ModelFacts, body: Mapping[str, Any]) -> Any:
    """Answer a media-task ``/ai/run`` call (``info.task`` is one of :data:`MEDIA_TASKS`).

    Returns:
        The ``result`` object (a list for classification and detection), or raw PNG bytes for
        Stable-Diffusion-style text-to-image models.

    Raises:
        EmulatorError: 5006 naming the field for bad input, 5004 for bad base64.
    """
    task = info.task
    if task == ASR:
        audio = binary_input(body, "audio")
        return transcribe(audio, rich=info.asr_segments, options=_asr_options(body))
    if task == IMAGE_CLASSIFICATION:
        return classify_image(binary_input(body, "image"))
    if task == OBJECT_DETECTION:
        return detect_objects(binary_input(body, "image"))
    if task == IMAGE_TO_TEXT:
        return _describe_image(body)
    if task == TEXT_TO_IMAGE:
        return _text_to_image(info, body)
    return _text_to_speech(body)


# --- Input -------------------------------------------------------------------------------------


def binary_input(body: Mapping[str, Any], name: str) -> bytes:
    """The bytes of field ``name``: raw bytes (the request body), a list of u8 or base64.

    Raises:
        EmulatorError: 5006 when missing, empty or of the wrong type, naming the field and the
            offending item; 5004 when a string is not valid base64.
    """
    if name not in body:
        raise bad_input("/", "required", f"must have required property '{name}'")
    value = body[name]
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, list):
        data = _bytes_from_list(value, name)
    elif isinstance(value, str):
        data = _bytes_from_base64(value, name)
    else:
        raise bad_input(
            f"/{name}", "type", f"'{name}' must be an array of bytes (0-255) or a base64 string"
        )
    if not data:
        raise bad_input(f"/{name}", "minItems", f"'{name}' must NOT be empty")
    return data


def _bytes_from_list(value: list[Any], name: str) -> bytes:
    try:
        return bytes(value)
    except (TypeError, ValueError):
        for index, item in enumerate(value):
            if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= 255:
                raise bad_input(
                    f"/{name}/{index}", "type", f"'{name}' items must be integers 0-255"
                ) from None
        raise  # pragma: no cover - bytes() failed on valid items


def _bytes_from_base64(value: str, name: str) -> bytes:
    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EmulatorError(
            400, 5004, f"AiError: Invalid data type for base64 input: '{name}' is not base64"
        ) from None


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_input(f"/{name}", "type", f"'{name}' must be string")
    return value


def _optional_int(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad_input(f"/{name}", "maximum", f"'{name}' must be an integer from {low} to {high}")
    return value


def _rng(*parts: bytes) -> random.Random:
    digest = hashlib.sha256(b"\x00".join(parts)).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --- Speech recognition ------------------------------------------------------------------------


def _asr_options(body: Mapping[str, Any]) -> dict[str, Any]:
    """whisper-large-v3-turbo's options (accepted by every ASR stand-in)."""
    task = body.get("task", "transcribe")
    if task not in ("transcribe", "translate"):
        raise bad_input("/task", "enum", "'task' must be one of transcribe, translate")
    for name in ("language", "initial_prompt", "prefix"):
        _optional_str(body, name)
    vad = body.get("vad_filter", False)
    if vad not in (True, False, "true", "false"):
        raise bad_input("/vad_filter", "type", "'vad_filter' must be boolean")
    _optional_int(body, "beam_size", 1, 100)
    return {
        "language": "en" if task == "translate" else body.get("language") or "en",
        "language_given": bool(body.get("language")),
        "prefix": body.get("prefix") or "",
        "vad": vad in (True, "true"),
    }


def _chunk_list(data: bytes, position: int) -> Iterator[tuple[bytes, bytes]]:
    """``(kind, payload)`` of the RIFF chunks from ``position`` on (truncation tolerated)."""
    while position + 8 <= len(data):
        size = struct.unpack_from("<I", data, position + 4)[0]
        yield data[position : position + 4], data[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    """The chunks of a RIFF/WAVE file (with the ``LIST/INFO`` sub-chunks), or ``{}``."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return {}
    chunks: dict[bytes, bytes] = {}
    for kind, payload in _chunk_list(data, 12):
        if kind == b"LIST" and payload[:4] == b"INFO":
            for sub, value in _chunk_list(payload, 4):
                chunks.setdefault(sub, value)
        chunks.setdefault(kind, payload)
    return chunks


def _audio_facts(data: bytes) -> tuple[float, str | None]:
    """``(duration in seconds, embedded text)`` of the audio bytes."""
    chunks = _riff_chunks(data)
    fmt, samples = chunks.get(b"fmt "), chunks.get(b"data")
    text = chunks.get(_TEXT_CHUNK, b"").rstrip(b"\0").decode("utf-8", "replace") or None
    if fmt is not None and len(fmt) >= 16 and samples is not None:
        byte_rate = struct.unpack_from("<I", fmt, 8)[0]
        if byte_rate:
            return max(len(samples) / byte_rate, 0.1), text
    return max(len(data) / _COMPRESSED_BYTES_PER_SECOND, _MIN_AUDIO_SECONDS), text


def _stand_in_words(data: bytes, duration: float) -> list[str]:
    count = min(max(1, round(duration * _WORDS_PER_SECOND)), _MAX_WORDS)
    rng = _rng(b"asr", data)
    words = [rng.choice(_VOCABULARY) for _ in range(count)]
    for start in range(0, count, _WORDS_PER_CUE):  # sentences of up to 8 words
        words[start] = words[start].capitalize()
        end = min(start + _WORDS_PER_CUE, count) - 1
        words[end] += "."
    return words


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _cue_text(cue: Sequence[tuple[str, float, float]]) -> str:
    return " ".join(word for word, _, _ in cue)


def _timed(words: Sequence[tuple[str, float, float]]) -> list[dict[str, Any]]:
    return [{"word": word, "start": start, "end": end} for word, start, end in words]


def transcribe(
    audio: bytes, *, rich: bool = False, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A stand-in transcript of ``audio`` in whisper's shape.

    Args:
        audio: The audio bytes.
        rich: whisper-large-v3-turbo's shape (``segments``, ``transcription_info``).
        options: From :func:`_asr_options` (``language``, ``prefix``, ``vad``...).

    Returns:
        ``{text, word_count, words, vtt}`` or ``{transcription_info, text, word_count,
        segments, vtt}``.
    """
    opts = dict(options or {})
    duration, spoken = _audio_facts(audio)
    words = spoken.split() if spoken else _stand_in_words(audio, duration)
    if opts.get("prefix"):
        words = opts["prefix"].split() + words
    words = words or ["..."]
    slot = duration / len(words)
    times = [
        (word, round(i * slot, 3), round((i + 0.85) * slot, 3)) for i, word in enumerate(words)
    ]
    cues = [times[i : i + _WORDS_PER_CUE] for i in range(0, len(times), _WORDS_PER_CUE)]
    vtt = "WEBVTT\n\n" + "".join(
        f"{_timestamp(cue[0][1])} --> {_timestamp(cue[-1][2])}\n{_cue_text(cue)}\n\n"
        for cue in cues
    )
    text = " ".join(words)
    if not rich:
        return {"text": text, "word_count": len(words), "words": _timed(times), "vtt": vtt}
    segments = [
        {
            "start": cue[0][1],
            "end": cue[-1][2],
            "text": _cue_text(cue),
            "temperature": 0.0,
            "avg_logprob": -0.25,
            "compression_ratio": 1.2,
            "no_speech_prob": 0.01,
            "words": _timed(cue),
        }
        for cue in cues
    ]
    info = {
        "language": opts.get("language", "en"),
        "language_probability": 1.0 if opts.get("language_given") else 0.98,
        "duration": round(duration, 3),
        "duration_after_vad": round(duration * (0.9 if opts.get("vad") else 1.0), 3),
    }
    return {
        "transcription_info": info,
        "text": text,
        "word_count": len(words),
        "segments": segments,
        "vtt": vtt,
    }


# --- Images in ---------------------------------------------------------------------------------


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG, GIF or JPEG header; 640x480 when unreadable."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack_from(">II", data, 16)
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack_from("<HH", data, 6)
    elif data[:2] == b"\xff\xd8":
        height, width = _jpeg_size(data)
    else:
        width = height = 0
    return (width, height) if width > 0 and height > 0 else _DEFAULT_IMAGE_SIZE


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 9 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        length = struct.unpack_from(">H", data, position + 2)[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack_from(">HH", data, position + 5)
            return height, width
        position += 2 + length
    return 0, 0


def classify_image(image: bytes) -> list[dict[str, Any]]:
    """Five ImageNet-style labels with scores, best first (the scores sum to less than 1)."""
    rng = _rng(b"classify", image)
    labels = rng.sample(_IMAGE_LABELS, 5)
    weights = sorted((rng.random() ** 3 for _ in labels), reverse=True)
    scale = rng.uniform(0.85, 0.99) / sum(weights)
    return [
        {"label": label, "score": round(weight * scale, 6)}
        for label, weight in zip(labels, weights, strict=True)
    ]


def _span(rng: random.Random, total: int) -> tuple[int, int]:
    """A ``(start, end)`` interval inside ``[0, total]``, at least one pixel long."""
    start = rng.randrange(max(1, total * 3 // 5))
    low = max(1, total // 10)
    length = rng.randrange(low, max(low + 1, total - start + 1))
    return start, min(start + length, total)


def detect_objects(image: bytes) -> list[dict[str, Any]]:
    """One to four labelled boxes inside the image, best score first."""
    width, height = image_size(image)
    rng = _rng(b"detect", image)
    found: list[dict[str, Any]] = []
    for _ in range(1 + rng.randrange(4)):
        (xmin, xmax), (ymin, ymax) = _span(rng, width), _span(rng, height)
        box = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}
        score = round(rng.uniform(0.5, 0.999), 6)
        found.append({"score": score, "label": rng.choice(_DETECTION_LABELS), "box": box})
    return sorted(found, key=lambda item: -float(item["score"]))


def _describe_image(body: Mapping[str, Any]) -> dict[str, Any]:
    image = binary_input(body, "image")
    prompt = _optional_str(body, "prompt") or ""
    limit = _optional_int(body, "max_tokens", 1, 1_000_000) or _IMAGE_TO_TEXT_MAX_TOKENS
    label = classify_image(image)[0]["label"].lower()
    width, height = image_size(image)
    colour = _COLOURS[_rng(b"colour", image).randrange(len(_COLOURS))]
    article = "an" if label[0] in "aeiou" else "a"
    text = f"The image shows {article} {label} against a {colour} background ({width}x{height})."
    asked = [t for t in content_terms(prompt) if t not in ("image", "picture", "photo")][:3]
    if asked:
        text += f" Regarding {', '.join(asked)}: the {label} is the main subject."
    return {"description": truncate_tokens(text, limit)}


# --- Images out --------------------------------------------------------------------------------


def _block_colours(seed: bytes, blocks: int) -> list[list[tuple[int, int, int]]]:
    """A ``blocks`` x ``blocks`` grid: a diagonal gradient between two colours from ``seed``."""
    rng = _rng(b"picture", seed)
    start = [rng.randrange(256) for _ in range(3)]
    end = [rng.randrange(256) for _ in range(3)]
    span = max(2 * (blocks - 1), 1)
    grid: list[list[tuple[int, int, int]]] = []
    for row in range(blocks):
        line = []
        for col in range(blocks):
            t = (row + col) / span
            r, g, b = (round(a + (z - a) * t) for a, z in zip(start, end, strict=True))
            line.append((r, g, b))
        grid.append(line)
    return grid


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._bits = 0

    def write(self, value: int, length: int) -> None:
        self._acc = (self._acc << length) | (value & ((1 << length) - 1))
        self._bits += length
        while self._bits >= 8:
            self._bits -= 8
            byte = (self._acc >> self._bits) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # byte stuffing
        self._acc &= (1 << self._bits) - 1

    def flush(self) -> bytes:
        if self._bits:
            self.write((1 << (8 - self._bits)) - 1, 8 - self._bits)  # pad with 1-bits
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_image(seed: bytes, side: int = _IMAGE_SIDE) -> bytes:
    """A valid baseline JPEG, ``side`` x ``side`` pixels of 8x8 single-colour blocks.

    Every block is a DC-only MCU (quantisation 1, Huffman tables: 12 DC categories of 4-bit
    codes, and EOB as the only AC code), so encoding needs no DCT. ``side`` is a multiple of 8.
    """
    blocks = side // _BLOCK
    grid = _block_colours(seed, blocks)
    bits = _BitWriter()
    previous = [0, 0, 0]
    for row in grid:
        for red, green, blue in row:
            y = 0.299 * red + 0.587 * green + 0.114 * blue
            cb = 128 - 0.168736 * red - 0.331264 * green + 0.5 * blue
            cr = 128 + 0.5 * red - 0.418688 * green - 0.081312 * blue
            for index, value in enumerate((y, cb, cr)):
                dc = max(-1024, min(1016, round(8 * (value - 128))))
                diff, previous[index] = dc - previous[index], dc
                size = abs(diff).bit_length()
                bits.write(size, 4)  # DC Huffman code of category `size`
                if size:
                    bits.write(diff if diff > 0 else diff + (1 << size) - 1, size)
                bits.write(0, 1)  # AC: end of block
    components = b"".join(bytes((i, 0x11, 0)) for i in (1, 2, 3))
    dc_table = bytes([0x00]) + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12))
    ac_table = bytes([0x10]) + bytes([1] + [0] * 15) + b"\x00"
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xFE, _STANDIN_MARK),
            _segment(0xDB, b"\x00" + b"\x01" * 64),
            _segment(0xC0, struct.pack(">BHHB", 8, side, side, 3) + components),
            _segment(0xC4, dc_table),
            _segment(0xC4, ac_table),
            _segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"),
            bits.flush(),
            b"\xff\xd9",
        ]
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_image(seed: bytes, width: int, height: int) -> bytes:
    """A valid RGB PNG of ``width`` x ``height`` pixels: an 8 x 8 grid of coloured blocks."""
    grid = _block_colours(seed, 8)
    rows: list[bytes] = []
    for y in range(height):
        colours = grid[y * 8 // height]
        row = b"".join(bytes(colours[x * 8 // width]) for x in range(width))
        rows.append(b"\x00" + row)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"tEXt", b"Comment\x00" + _STANDIN_MARK),
            _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _text_to_image(info: ModelFacts, body: Mapping[str, Any]) -> Any:
    if info.id.startswith(_BASE64_IMAGE_PREFIXES):
        return _flux_image(body)
    return _diffusion_image(body)


def _flux_image(body: Mapping[str, Any]) -> dict[str, Any]:
    """flux-1-schnell: ``{prompt (1-2048 characters), steps (1-8)}`` -> base64 JPEG."""
    prompt = validate_text_field(body, "prompt")
    if len(prompt) > _FLUX_MAX_PROMPT:
        limit = f"'prompt' must NOT have more than {_FLUX_MAX_PROMPT} characters"
        raise bad_input("/prompt", "maxLength", limit)
    _optional_int(body, "steps", 1, _FLUX_MAX_STEPS)
    seed = _optional_int(body, "seed", 0, 9_999_999_999)
    extra = str(seed).encode() if seed is not None else b""
    image = jpeg_image(prompt.encode() + b"\x00" + extra)
    return {"image": base64.b64encode(image).decode("ascii")}


def _optional_number(
    body: Mapping[str, Any], name: str, low: float | None = None, high: float | None = None
) -> None:
    value = body.get(name)
    if value is None:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value):
        raise bad_input(f"/{name}", "type", f"'{name}' must be number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise bad_input(f"/{name}", "maximum", f"'{name}' must be a number from {low} to {high}")


def _diffusion_image(body: Mapping[str, Any]) -> bytes:
    """Stable Diffusion/dreamshaper (§8): ``{prompt, negative_prompt, height, width, image,
    mask, num_steps, strength, guidance, seed}`` -> a PNG of ``width`` x ``height`` (default
    512 x 512). ``image``/``mask`` (img2img, inpainting) are bytes as for the image tasks;
    ``image_b64`` is base64."""
    prompt = validate_text_field(body, "prompt")
    _optional_str(body, "negative_prompt")
    _optional_int(body, "num_steps", 1, _SD_MAX_STEPS)
    _optional_number(body, "strength", 0.0, 1.0)
    _optional_number(body, "guidance")  # no documented bounds
    for name in ("image", "mask"):
        if body.get(name) is not None:
            binary_input(body, name)
    if body.get("image_b64") is not None:
        if not isinstance(body["image_b64"], str):
            raise bad_input("/image_b64", "type", "'image_b64' must be string")
        _bytes_from_base64(body["image_b64"], "image_b64")
    seed = _optional_int(body, "seed", 0, 9_999_999_999)
    width = _optional_int(body, "width", _SD_MIN_SIDE, _SD_MAX_SIDE) or _SD_DEFAULT_SIDE
    height = _optional_int(body, "height", _SD_MIN_SIDE, _SD_MAX_SIDE) or _SD_DEFAULT_SIDE
    extra = str(seed).encode() if seed is not None else b""
    return png_image(prompt.encode() + b"\x00" + extra, width, height)


# --- Speech out --------------------------------------------------------------------------------


def _tone(word: str) -> bytes:
    frequency = 220 + zlib.crc32(word.lower().encode()) % 660
    period = max(2, round(_SPEECH_RATE / frequency))
    cycle = bytes(round(128 + 60 * math.sin(2 * math.pi * k / period)) for k in range(period))
    return (cycle * (_SPEECH_WORD_SAMPLES // period + 1))[:_SPEECH_WORD_SAMPLES]


def synthesize_speech(text: str) -> bytes:
    """A WAV file (8 kHz, 8-bit mono): a 0.2 s tone per word, pitch from the word's hash.

    The text rides in a RIFF ``LIST/INFO`` comment, so the ASR stand-in transcribes it back.
    """
    words: Sequence[str] = text.split()[:_SPEECH_MAX_WORDS] or [text]
    gap = b"\x80" * _SPEECH_GAP_SAMPLES
    samples = b"".join(_tone(word) + gap for word in words)
    comment = text.encode("utf-8") + b"\x00"
    comment += b"\x00" * (len(comment) & 1)
    info = b"INFO" + _TEXT_CHUNK + struct.pack("<I", len(comment)) + comment
    fmt = struct.pack("<HHIIHH", 1, 1, _SPEECH_RATE, _SPEECH_RATE, 1, 8)
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"LIST" + struct.pack("<I", len(info)) + info
        + b"data" + struct.pack("<I", len(samples)) + samples
    )  # fmt: skip
    if len(samples) & 1:
        chunks += b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _text_to_speech(body: Mapping[str, Any]) -> dict[str, Any]:
    prompt = validate_text_field(body, "prompt")
    _optional_str(body, "lang")
    return {"audio": base64.b64encode(synthesize_speech(prompt)).decode("ascii")}


# --- /ai/models/schema -------------------------------------------------------------------------

_BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
_BYTES: dict[str, Any] = {
    "oneOf": [{"type": "array", "items": {"type": "number"}}, {"type": "string"}]
}
_PROMPT: dict[str, Any] = {"type": "string", "minLength": 1}
_SIDE: dict[str, Any] = {"type": "integer", "minimum": _SD_MIN_SIDE, "maximum": _SD_MAX_SIDE}
_DIFFUSION_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": _PROMPT,
        "negative_prompt": {"type": "string"},
        "height": _SIDE,
        "width": _SIDE,
        "image": {"type": "array", "items": {"type": "number"}},
        "image_b64": {"type": "string"},
        "mask": {"type": "array", "items": {"type": "number"}},
        "num_steps": {"type": "integer", "default": _SD_MAX_STEPS, "maximum": _SD_MAX_STEPS},
        "strength": {"type": "number", "default": 1},
        "guidance": {"type": "number", "default": 7.5},
        "seed": {"type": "integer"},
    },
    "required": ["prompt"],
}


def media_schema(info: ModelFacts) -> dict[str, Any]:
    """``{"input", "output"}`` JSON Schemas for a media task's stand-in."""
    task = str(info.task)
    if task in BINARY_INPUT_FIELDS:
        field = BINARY_INPUT_FIELDS[task]
        properties: dict[str, Any] = {field: _BYTES}
        if task == IMAGE_TO_TEXT:
            properties.update(prompt=_PROMPT, max_tokens={"type": "integer", "minimum": 1})
        obj = {"type": "object", "properties": properties, "required": [field]}
        inputs: dict[str, Any] = {"oneOf": [_BINARY, obj]}
    elif task == TEXT_TO_SPEECH:
        properties = {"prompt": _PROMPT, "lang": {"type": "string", "default": "en"}}
        inputs = {"type": "object", "properties": properties, "required": ["prompt"]}
    elif info.id.startswith(_BASE64_IMAGE_PREFIXES):
        steps = {"type": "integer", "minimum": 1, "maximum": _FLUX_MAX_STEPS}
        prompt = {**_PROMPT, "maxLength": _FLUX_MAX_PROMPT}
        properties = {"prompt": prompt, "steps": steps, "seed": {"type": "integer"}}
        inputs = {"type": "object", "properties": properties, "required": ["prompt"]}
    else:
        return {"input": _DIFFUSION_INPUT, "output": _BINARY}
    outputs: dict[str, Any] = {
        ASR: {"type": "object", "properties": {"text": {"type": "string"}}},
        IMAGE_CLASSIFICATION: {"type": "array", "items": {"type": "object"}},
        OBJECT_DETECTION: {"type": "array", "items": {"type": "object"}},
        IMAGE_TO_TEXT: {"type": "object", "properties": {"description": {"type": "string"}}},
        TEXT_TO_IMAGE: {"type": "object", "properties": {"image": {"type": "string"}}},
        TEXT_TO_SPEECH: {"type": "object", "properties": {"audio": {"type": "string"}}},
    }
    return {"input": inputs, "output": outputs.get(task, {"type": "object"})}
