"""Speech recognition and synthesis as typed core functions (issue #20, items 1 and 6), against
the emulator: each model's input quirk, long WAV audio split and merged with its times shifted,
bad input refused before any request, one usage report per request.

The emulator's text-to-speech stand-in writes its text into the WAV it returns, and its
speech-recognition stand-in reads it back, so a round trip gives the text again; other audio
gets stand-in words timed evenly over its duration.
"""

from __future__ import annotations

import asyncio
import base64
import random
import re
import struct
from collections.abc import Callable
from typing import Any

import pytest

from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.errors import (
    APIResponseValidationError,
    InternalServerError,
    InvalidRequestError,
)
from workers_ai.tasks import speech, tts
from workers_ai.tasks.media import Media, MediaLimits
from workers_ai.tasks.wav import make_wav, parse_wav, split_wav
from workers_ai.types import MediaPayload
from workers_ai.usage import track_usage

WHISPER = "@cf/openai/whisper"
TINY = "@cf/openai/whisper-tiny-en"
TURBO = "@cf/openai/whisper-large-v3-turbo"
MELO = "@cf/myshell-ai/melotts"
MODES = ["sync", "async"]


def run(emulator: EmulatorServer, mode: str, name: str, *args: Any, **kw: Any) -> Any:
    """``<module>.<name>`` on a sync client, or ``<module>.a<name>`` on an async one."""
    module = tts if name == "synthesize" else speech
    if mode == "sync":
        with emulator.client(max_retries=0) as client:
            return getattr(module, name)(client, *args, **kw)

    async def go() -> Any:
        async with emulator.async_client(max_retries=0) as client:
            return await getattr(module, "a" + name)(client, *args, **kw)

    return asyncio.run(go())


def noise_wav(seconds: float, rate: int = 8_000, seed: int = 1) -> bytes:
    """16-bit mono noise: every stretch differs, so every piece gets its own stand-in words."""
    frames = int(seconds * rate)
    return make_wav(random.Random(seed).randbytes(frames * 2), sample_rate=rate)


# --- Round trips and each model's input -----------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", [WHISPER, TINY, TURBO])
def test_speech_comes_back_as_its_text(emulator: EmulatorServer, mode: str, model: str) -> None:
    audio = run(emulator, mode, "synthesize", "the quick brown fox jumps")
    assert isinstance(audio, Media) and audio.media_type == "audio/wav"
    result = run(emulator, mode, "transcribe", audio.data, model=model)
    assert result.text == "the quick brown fox jumps" and result.model == model
    assert [w.word for w in result.words] == result.text.split()
    assert result.word_count == 5 and result.offsets == (0.0,)
    assert result.duration == pytest.approx(parse_wav(audio.data).duration)
    assert result.vtt.startswith("WEBVTT") and "the quick brown fox jumps" in result.vtt
    assert emulator.request_count() == 2


def test_whisper_gets_the_file_as_the_body(emulator: EmulatorServer) -> None:
    wav = noise_wav(1.0)
    result = run(emulator, "sync", "transcribe", wav, model=WHISPER)
    sent = emulator.last_request()
    assert sent.headers["content-type"] == "audio/wav" and sent.body_bytes == len(wav)
    assert result.language is None and result.segments == ()


def test_tiny_en_is_english(emulator: EmulatorServer) -> None:
    result = run(emulator, "sync", "transcribe", noise_wav(1.0), model=TINY, language="English")
    assert result.language == "en"
    assert emulator.last_request().body is None  # raw audio: no options sent


@pytest.mark.parametrize("mode", MODES)
def test_turbo_gets_base64_and_its_options(emulator: EmulatorServer, mode: str) -> None:
    wav = noise_wav(2.0)
    result = run(
        emulator, mode, "transcribe", wav, model=TURBO, language="French", task="translate",
        vad_filter=True, initial_prompt="A weather report.", prefix="Bonjour", beam_size=3,
    )  # fmt: skip
    body = emulator.last_request().body
    assert base64.b64decode(body["audio"]) == wav
    assert {k: v for k, v in body.items() if k != "audio"} == {
        "language": "fr", "task": "translate", "vad_filter": True,
        "initial_prompt": "A weather report.", "prefix": "Bonjour", "beam_size": 3,
    }  # fmt: skip
    assert result.text.startswith("Bonjour ")
    assert result.language == "en"  # translated: the stand-in reports English
    assert result.language_probability is not None and result.duration == 2.0
    assert result.segments and result.segments[0].start == 0.0
    assert [w for s in result.segments for w in s.words] == list(result.words)


def test_turbo_reports_the_language_it_was_given(emulator: EmulatorServer) -> None:
    result = run(emulator, "sync", "transcribe", noise_wav(1.0), language="de")
    assert result.language == "de" and result.language_probability == 1.0
    assert "task" not in emulator.last_request().body  # "transcribe" is the default


def test_other_formats_are_sent_whole_with_their_type(emulator: EmulatorServer) -> None:
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + random.Random(3).randbytes(40_000)
    result = run(emulator, "sync", "transcribe", mp3, model=WHISPER)
    sent = emulator.last_request()
    assert sent.headers["content-type"] == "audio/mpeg" and sent.body_bytes == len(mp3)
    assert result.text and result.duration is None  # whisper reports none; not a WAV
    ogg = b"\x00\x01unknown-container" + bytes(2000)
    run(emulator, "sync", "transcribe", ogg, model=WHISPER, media_type="audio/ogg")
    assert emulator.last_request().headers["content-type"] == "audio/ogg"


# --- Long WAV audio --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", [WHISPER, TURBO])
def test_long_wav_is_split_and_merged_with_shifted_times(
    emulator: EmulatorServer, mode: str, model: str
) -> None:
    wav = noise_wav(10.0)  # 160,044 bytes
    pieces = split_wav(wav, 45_000)
    with track_usage() as meter:
        result = run(emulator, mode, "transcribe", wav, model=model, max_chunk_bytes=45_000)
    assert len(pieces) == 4 and emulator.request_count() == 4 and meter.total.calls == 4
    assert result.offsets == tuple(p.start for p in pieces) == (0.0, 2.5, 5.0, 7.5)
    assert result.duration == 10.0
    one_by_one = [run(emulator, "sync", "transcribe", p.data, model=model) for p in pieces]
    assert result.text == " ".join(part.text for part in one_by_one)
    assert result.word_count == sum(part.word_count for part in one_by_one)
    expected = [
        (w.word, round(w.start + p.start, 3))
        for part, p in zip(one_by_one, pieces, strict=True)
        for w in part.words
    ]
    assert [(w.word, w.start) for w in result.words] == expected
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and starts[-1] > 7.5
    cue_starts = [line.split(" --> ")[0] for line in result.vtt.splitlines() if "-->" in line]
    assert cue_starts[0] == "00:00:00.000" and "00:00:07.500" in cue_starts
    assert result.vtt.startswith("WEBVTT\n\n")


def test_each_piece_is_a_valid_wav_within_the_limit(emulator: EmulatorServer) -> None:
    run(emulator, "sync", "transcribe", noise_wav(6.0), model=TURBO, prefix="Hello",
        max_chunk_bytes=30_000)  # fmt: skip
    bodies = [r.body for r in emulator.requests()]
    assert len(bodies) == 4
    for index, body in enumerate(bodies):
        piece = base64.b64decode(body["audio"])
        assert len(piece) <= 30_000 and parse_wav(piece).sample_rate == 8_000
        assert ("prefix" in body) == (index == 0)  # the transcript starts once


def test_async_pieces_go_a_few_at_a_time_and_keep_their_order(emulator: EmulatorServer) -> None:
    wav = noise_wav(8.0)
    together = run(emulator, "async", "transcribe", wav, max_chunk_bytes=20_000, concurrency=3)
    in_turn = run(emulator, "sync", "transcribe", wav, max_chunk_bytes=20_000)
    assert together.text == in_turn.text and together.words == in_turn.words
    assert together.vtt == in_turn.vtt and len(together.offsets) == 7


def test_a_retried_piece_is_counted_once_with_its_attempts(emulator: EmulatorServer) -> None:
    emulator.configure(faults=[FaultSpec(kind="server_error", count=1)])
    with track_usage() as meter, emulator.client(max_retries=2) as client:
        result = speech.transcribe(client, noise_wav(4.0), max_chunk_bytes=20_000)
    assert len(result.offsets) == 4
    assert meter.total.calls == 4 and meter.total.attempts == 5


def test_a_failed_piece_fails_the_whole_transcription(emulator: EmulatorServer) -> None:
    emulator.configure(faults=[FaultSpec(kind="server_error")])
    with pytest.raises(InternalServerError):
        run(emulator, "sync", "transcribe", noise_wav(4.0), max_chunk_bytes=20_000)
    assert emulator.request_count() == 1  # the first piece failed: nothing more was sent


class _FailsSecond:
    """A client whose second request fails: no partial transcript may come back."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self.inner = emulator.client(max_retries=0)
        self.calls = 0

    def run(self, model: str, inputs: Any) -> Any:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("piece 2 failed")
        return self.inner.run(model, inputs)


def test_no_partial_transcript_when_a_later_piece_fails(emulator: EmulatorServer) -> None:
    client = _FailsSecond(emulator)
    try:
        with pytest.raises(RuntimeError, match="piece 2"):
            speech.transcribe(client, noise_wav(4.0), max_chunk_bytes=20_000)  # type: ignore[arg-type]
    finally:
        client.inner.close()
    assert client.calls == 2


# --- Bad input: refused before any request ---------------------------------------------------

_WAV = make_wav(bytes(1600), sample_rate=8000)
_MP3 = b"ID3\x04" + bytes(5000)
_ADPCM_FMT = struct.pack("<HHIIHHHH", 0x11, 1, 8000, 4055, 256, 4, 2, 505)  # IMA ADPCM
_ADPCM = b"".join(
    [b"RIFF", struct.pack("<I", 4 + 28 + 8 + 4096), b"WAVE", b"fmt ", struct.pack("<I", 20),
     _ADPCM_FMT, b"data", struct.pack("<I", 4096), bytes(4096)]
)  # fmt: skip


@pytest.mark.parametrize(
    ("audio", "kwargs", "message"),
    [
        (b"", {}, "audio is empty"),
        ("speech.wav", {}, "not a str"),
        (None, {}, "must be bytes"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), {}, "audio is image/png; this task takes audio"),
        (bytes(100), {}, "pass media_type="),
        (_MP3, {"limits": MediaLimits(audio_bytes=1000)}, "Only WAV audio is split"),
        (_ADPCM, {"limits": MediaLimits(audio_bytes=1000)}, "cannot be split"),
        (bytes(3000), {"max_chunk_bytes": 999, "media_type": "audio/wav"}, "not a valid WAV"),
        (_WAV, {"max_chunk_bytes": 10**9}, "max_chunk_bytes must be from 1 to"),
        (_WAV, {"limits": {"audio_bytes": 5}}, "limits must be a MediaLimits"),
        (_WAV, {"language": "klingon"}, "not one Whisper knows"),
        (_WAV, {"language": ""}, "non-empty str"),
        (_WAV, {"task": "summarise"}, "task must be"),
        (_WAV, {"beam_size": 0}, "beam_size"),
        (_WAV, {"vad_filter": "yes"}, "vad_filter must be True or False"),
        (_WAV, {"initial_prompt": 5}, "initial_prompt must be a str"),
        (_WAV, {"model": TINY, "language": "fr"}, "English only; for 'fr' audio use " + TURBO),
        (_WAV, {"model": TINY, "task": "translate"}, f"takes no 'task'; {TURBO} does"),
        (_WAV, {"model": WHISPER, "language": "en"}, f"{WHISPER} takes no 'language'; {TURBO}"),
        (_WAV, {"model": WHISPER, "vad_filter": True}, "takes no 'vad_filter'"),
        (_WAV, {"model": WHISPER, "initial_prompt": "x"}, "takes no 'initial_prompt'"),
        (_WAV, {"model": "@cf/meta/llama-3.1-8b-instruct"}, "Text Generation model; transcr"),
        (_WAV, {"concurrency": 0}, "concurrency must be"),
    ],
)
def test_bad_transcriptions_are_refused_before_any_request(
    emulator: EmulatorServer, audio: object, kwargs: dict[str, Any], message: str
) -> None:
    mode = "async" if "concurrency" in kwargs else "sync"
    with pytest.raises(InvalidRequestError, match=re.escape(message)):
        run(emulator, mode, "transcribe", audio, **kwargs)
    assert emulator.request_count() == 0


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "non-empty str"),
        ("   ", {}, "non-empty str"),
        (None, {}, "non-empty str"),
        ("Hallo", {"lang": "de"}, f"{MELO} speaks en, es, fr, ja, ko, zh, not 'de'"),
        ("Hola", {"model": "@cf/deepgram/aura-2-es", "lang": "en"}, "speaks es, not 'en'"),
        ("Hi", {"options": {"prompt": "other"}}, "pass 'prompt' as the text"),
        ("Hi", {"options": ["speaker"]}, "options must be a mapping"),
        ("Hi", {"model": WHISPER}, "Automatic Speech Recognition model; speech synthesis"),
    ],
)
def test_bad_speech_requests_are_refused_before_any_request(
    emulator: EmulatorServer, text: object, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape(message)):
        run(emulator, "sync", "synthesize", text, **kwargs)
    assert emulator.request_count() == 0


def test_a_model_without_a_row_gets_base64_and_the_options_as_given() -> None:
    plan = speech.plan_transcription(
        _WAV, model="@cf/example/asr-next", language="en-US", task="translate", beam_size=2
    )
    request = plan.request(0)
    assert plan.count == 1 and request.inputs is not None
    assert base64.b64decode(request.inputs["audio"]) == _WAV
    assert {k: v for k, v in request.inputs.items() if k != "audio"} == {
        "language": "en-US", "task": "translate", "beam_size": 2,
    }  # fmt: skip


# --- Speech synthesis ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_language_is_sent_to_melotts(emulator: EmulatorServer, mode: str) -> None:
    audio = run(emulator, mode, "synthesize", "Hola mundo", lang="ES")
    assert emulator.last_request().body == {"prompt": "Hola mundo", "lang": "es"}
    assert parse_wav(audio.data).duration > 0


@pytest.mark.parametrize(
    ("model", "kwargs", "inputs"),
    [
        (MELO, {}, {"prompt": "Hi"}),
        (
            "@cf/deepgram/aura-1",
            {"options": {"speaker": "luna"}},
            {"text": "Hi", "speaker": "luna"},
        ),
        ("@cf/deepgram/aura-2-es", {"lang": "es"}, {"text": "Hi"}),
        ("@cf/example/new-tts", {"lang": "de"}, {"prompt": "Hi", "lang": "de"}),
    ],
)
def test_each_tts_model_gets_its_fields(
    model: str, kwargs: dict[str, Any], inputs: dict[str, Any]
) -> None:
    assert tts.speech_inputs("Hi", model=model, **kwargs) == inputs


_MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(100)
_Reader = Callable[[Any], Media]


@pytest.mark.parametrize(
    ("answer", "media_type"),
    [
        ({"audio": base64.b64encode(_MP3_FRAME).decode()}, "audio/mpeg"),
        (
            {"audio": "data:audio/mpeg;base64," + base64.b64encode(_MP3_FRAME).decode()},
            "audio/mpeg",
        ),
        (MediaPayload(_MP3_FRAME, "audio/mpeg"), "audio/mpeg"),
        (MediaPayload(b"\x00\x01raw", "audio/opus"), "audio/opus"),
        ({"audio": base64.b64encode(b"\x00\x01?").decode()}, "application/octet-stream"),
    ],
)
def test_speech_answers_are_read_as_media(answer: Any, media_type: str) -> None:
    media = tts.read_speech(answer)
    assert media.media_type == media_type and media.data


@pytest.mark.parametrize(
    "answer", [{"audio": "not base64!"}, {"audio": ""}, {"text": "hi"}, None, [1, 2]]
)
def test_speech_answers_without_audio_are_errors(answer: Any) -> None:
    with pytest.raises(APIResponseValidationError, match="speech answer"):
        tts.read_speech(answer)


# --- Reading transcription answers -----------------------------------------------------------


def test_vtt_in_short_form_is_shifted_and_rewritten() -> None:
    answer = {"text": "Hi.", "vtt": "WEBVTT\n\n1\n00:01.250 --> 00:02.000 align:start\nHi.\n"}
    result = speech.read_transcription([answer, answer], model=WHISPER, offsets=[0.0, 3600.5])
    assert result.vtt == (
        "WEBVTT\n\n00:00:01.250 --> 00:00:02.000 align:start\nHi.\n\n"
        "01:00:01.750 --> 01:00:02.500 align:start\nHi.\n\n"
    )
    assert result.word_count == 2  # none reported: counted


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"words": []}, "no 'text'"),
        ("text", "no 'text'"),
        ({"text": "a", "words": "a"}, "'words' is not a list"),
        ({"text": "a", "words": [{"word": "a", "start": "0"}]}, "not a number of seconds"),
        ({"text": "a", "words": [{"start": 0, "end": 1}]}, "not {word, start, end}"),
        ({"text": "a", "segments": [{"start": 0, "end": None}]}, "segment's end"),
    ],
)
def test_malformed_transcription_answers_are_errors(answer: Any, message: str) -> None:
    with pytest.raises(APIResponseValidationError, match=message):
        speech.read_transcription([answer], model=WHISPER)


@pytest.mark.parametrize(
    ("value", "code"),
    [("en", "en"), ("French", "fr"), ("pt-BR", "pt"), ("Mandarin", "zh"), ("YUE", "yue")],
)
def test_languages_are_whisper_codes(value: str, code: str) -> None:
    assert speech.whisper_language(value) == code
