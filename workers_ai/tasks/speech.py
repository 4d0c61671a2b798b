"""Speech recognition (spec §8): typed, checked before any request (speech synthesis:
:mod:`workers_ai.tasks.tts`).

:func:`transcribe` / :func:`atranscribe` return a neutral :class:`Transcription` (text,
language, duration, timed words and segments, WebVTT). Each model's input quirk is a row of
:data:`ASR_MODELS` (whisper and whisper-tiny-en take the file as the body, whisper-large-v3-turbo
``{"audio": <base64>, ...}``); an option a model does not take fails before any request, naming
the models that do. WAV audio over ``max_chunk_bytes`` is cut into WAV pieces on frame
boundaries (:mod:`workers_ai.tasks.wav`), one request each, and the answers are merged with
their times shifted; other formats go whole up to ``MediaLimits.audio_bytes`` and fail beyond
it: nothing is truncated. :func:`synthesize` / :func:`asynthesize` return audio :class:`Media`
with its media type sniffed from the bytes. Every request reports its usage through the client.

Example:
    >>> from workers_ai.tasks.speech import read_transcription
    >>> answer = {"text": "Hello there", "words": [{"word": "Hello", "start": 0, "end": 0.4}]}
    >>> result = read_transcription([answer, answer], model="@cf/openai/whisper",
    ...                             offsets=[0.0, 30.0])
    >>> result.text, result.words[-1].start
    ('Hello there Hello there', 30.0)
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from workers_ai import catalog
from workers_ai.concurrency import run_all
from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError, InvalidRequestError
from workers_ai.tasks.media import DEFAULT_LIMITS, Media, MediaLimits, check_media, sniff_media_type
from workers_ai.tasks.wav import WavInfo, plan_audio_pieces, wav_piece

if TYPE_CHECKING:
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient

# fmt: off
__all__ = [
    "ASR", "ASR_MODELS", "DEFAULT_ASR_MODEL", "AsrModel", "AsrRequest", "TranscriptSegment",
    "TranscriptWord", "Transcription", "TranscriptionPlan", "atranscribe", "plan_transcription",
    "read_transcription", "transcribe", "whisper_language",
]
# fmt: on

ASR = "Automatic Speech Recognition"
DEFAULT_ASR_MODEL = "@cf/openai/whisper-large-v3-turbo"
Task = Literal["transcribe", "translate"]

#: What the speech-recognition functions accept (whisper decodes audio and video containers).
_AUDIO_TYPES = ("audio/*", "video/mp4", "video/webm")
_ASR_OPTIONS = ("language", "task", "initial_prompt", "vad_filter", "prefix", "beam_size")

# --- Data: the models' quirks and languages ----------------------------------------------------


@dataclass(frozen=True)
class AsrModel:
    """How one speech-recognition model takes its input (spec §8).

    Attributes:
        body: ``"raw"``: the file is the request body; ``"base64"``: ``{"audio": <base64>}``.
        options: The request options it takes (``language``, ``task``...).
        english_only: Transcribes English only (``language`` may be ``"en"``, never sent).
        known: ``False`` for a model without a row: its options are sent unchecked.
    """

    body: Literal["raw", "base64"]
    options: frozenset[str] = frozenset()
    english_only: bool = False
    known: bool = True


#: Spec §8: whisper and whisper-tiny-en take the raw file (or ``{"audio": [u8...]}``) and no
#: options; whisper-large-v3-turbo takes base64 audio and the options below (its schema, R6).
ASR_MODELS: Mapping[str, AsrModel] = {
    "@cf/openai/whisper": AsrModel("raw"),
    "@cf/openai/whisper-tiny-en": AsrModel("raw", english_only=True),
    "@cf/openai/whisper-large-v3-turbo": AsrModel("base64", frozenset(_ASR_OPTIONS)),
}
_OTHER_ASR = AsrModel("base64", frozenset(_ASR_OPTIONS), known=False)


# Whisper's languages, code:name, from openai/whisper whisper/tokenizer.py (LANGUAGES and the
# name aliases of TO_LANGUAGE_CODE); "_" stands for a space in a name.
_WHISPER_LANGUAGE_PAIRS = (
    "en:english zh:chinese de:german es:spanish ru:russian ko:korean fr:french ja:japanese "
    "pt:portuguese tr:turkish pl:polish ca:catalan nl:dutch ar:arabic sv:swedish it:italian "
    "id:indonesian hi:hindi fi:finnish vi:vietnamese he:hebrew uk:ukrainian el:greek "
    "ms:malay cs:czech ro:romanian da:danish hu:hungarian ta:tamil no:norwegian th:thai "
    "ur:urdu hr:croatian bg:bulgarian lt:lithuanian la:latin mi:maori ml:malayalam "
    "cy:welsh sk:slovak te:telugu fa:persian lv:latvian bn:bengali sr:serbian "
    "az:azerbaijani sl:slovenian kn:kannada et:estonian mk:macedonian br:breton eu:basque "
    "is:icelandic hy:armenian ne:nepali mn:mongolian bs:bosnian kk:kazakh sq:albanian "
    "sw:swahili gl:galician mr:marathi pa:punjabi si:sinhala km:khmer sn:shona yo:yoruba "
    "so:somali af:afrikaans oc:occitan ka:georgian be:belarusian tg:tajik sd:sindhi "
    "gu:gujarati am:amharic yi:yiddish lo:lao uz:uzbek fo:faroese ht:haitian_creole "
    "ps:pashto tk:turkmen nn:nynorsk mt:maltese sa:sanskrit lb:luxembourgish my:myanmar "
    "bo:tibetan tl:tagalog mg:malagasy as:assamese tt:tatar haw:hawaiian ln:lingala "
    "ha:hausa ba:bashkir jw:javanese su:sundanese yue:cantonese"
)
_LANGUAGE_ALIASES = (
    "burmese:my valencian:ca flemish:nl haitian:ht letzeburgesch:lb pushto:ps panjabi:pa "
    "moldavian:ro moldovan:ro sinhalese:si castilian:es mandarin:zh"
)


def _pairs(text: str) -> dict[str, str]:
    pairs = (item.partition(":") for item in text.split())
    return {key: value.replace("_", " ") for key, _, value in pairs}


_WHISPER_LANGUAGES = _pairs(_WHISPER_LANGUAGE_PAIRS)
_LANGUAGE_NAMES = {name: code for code, name in _WHISPER_LANGUAGES.items()}
_LANGUAGE_NAMES.update(_pairs(_LANGUAGE_ALIASES))


def whisper_language(value: object) -> str:
    """Whisper's code for a language: a code (``"fr"``), a name (``"French"``) or a tag whose
    first part is a code (``"fr-CA"``).

    Raises:
        InvalidRequestError: Not a string, or not a language Whisper knows.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"language must be a non-empty str, not {value!r}")
    key = value.strip().lower().replace("_", "-")
    code = key if key in _WHISPER_LANGUAGES else _LANGUAGE_NAMES.get(key)
    if code is None and key.split("-", 1)[0] in _WHISPER_LANGUAGES:
        code = key.split("-", 1)[0]
    if code is None:
        raise InvalidRequestError(
            f"language {value!r} is not one Whisper knows: give an ISO 639-1 code ('en', 'fr', "
            "'de'...) or a name ('French'); Whisper speaks 100 languages"
        )
    return code


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptWord:
    """One timed word. Times are seconds from the start of the whole audio."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class TranscriptSegment:
    """One timed stretch of speech (whisper-large-v3-turbo).

    Attributes:
        start: Seconds from the start of the whole audio.
        end: Seconds from the start of the whole audio.
        text: What was said.
        words: Its timed words, when given.
        avg_logprob: The model's average log probability, when given.
        no_speech_prob: The model's probability that this is not speech, when given.
    """

    start: float
    end: float
    text: str
    words: tuple[TranscriptWord, ...] = ()
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


@dataclass(frozen=True)
class Transcription:
    """A transcript, whichever model made it and however many requests it took.

    Attributes:
        text: What was said (the pieces' texts joined with spaces for split audio).
        model: The model that transcribed it.
        language: The language the model reported (the first piece's), else the one asked for
            (``"en"`` for an English-only model); ``None`` when unknown.
        language_probability: The model's confidence in ``language``, when reported.
        duration: Seconds of audio (read from a WAV header, else as reported), when known.
        words: Every timed word, in order (flattened from ``segments`` when only they have
            words).
        segments: Timed segments, when the model gives them.
        vtt: WebVTT subtitles (cue times shifted for split audio), ``""`` when none came.
        word_count: Words, as reported (summed over pieces), else counted.
        offsets: Where each request's audio starts, in seconds (``(0.0,)`` when sent whole).
        raw: The answers as received, one per request.
    """

    text: str
    model: str
    language: str | None = None
    language_probability: float | None = None
    duration: float | None = None
    words: tuple[TranscriptWord, ...] = ()
    segments: tuple[TranscriptSegment, ...] = ()
    vtt: str = ""
    word_count: int = 0
    offsets: tuple[float, ...] = (0.0,)
    raw: tuple[Any, ...] = field(default=(), repr=False, compare=False)


# --- Checks ------------------------------------------------------------------------------------


def check_task_model(model: object, task: str, verb: str) -> str:
    """``model`` if it is a non-empty id the catalog does not list under another task.

    Raises:
        InvalidRequestError: Naming the models that ``verb`` takes.
    """
    """``model`` if it is a str the catalog does not know as another task's model."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(f"model must be a non-empty str, not {model!r}")
    info = catalog.get(model)
    if info.known and info.task != task:
        takers = ", ".join(m.id for m in catalog.models(task))
        raise InvalidRequestError(f"{model} is a {info.task} model; {verb} takes {takers}")
    return model


def _takers(option: str) -> str:
    return " or ".join(m for m, row in ASR_MODELS.items() if option in row.options)


def _check_types(
    task: object, initial_prompt: object, prefix: object, vad_filter: object, beam_size: object
) -> None:
    if task not in ("transcribe", "translate"):
        raise InvalidRequestError(f"task must be 'transcribe' or 'translate', not {task!r}")
    for name, value in (("initial_prompt", initial_prompt), ("prefix", prefix)):
        if value is not None and not isinstance(value, str):
            raise InvalidRequestError(f"{name} must be a str, not {type(value).__name__}")
    if vad_filter is not None and not isinstance(vad_filter, bool):
        raise InvalidRequestError(f"vad_filter must be True or False, not {vad_filter!r}")
    if beam_size is not None and (
        not isinstance(beam_size, int) or isinstance(beam_size, bool) or beam_size < 1
    ):
        raise InvalidRequestError(f"beam_size must be a whole number >= 1, not {beam_size!r}")


def _asr_options(model: str, row: AsrModel, given: dict[str, Any]) -> dict[str, Any]:
    """The wire options of ``given`` (``None`` values dropped), refusing those ``model`` does
    not take, and a language other than English for an English-only model."""
    options = {name: value for name, value in given.items() if value is not None}
    if options.get("task") == "transcribe":
        del options["task"]  # the default: never needs sending
    if "language" in options:
        language = options["language"]
        if row.known or not isinstance(language, str) or not language.strip():
            options["language"] = whisper_language(language)  # a model without a row: as given
    if row.english_only:
        language = options.pop("language", "en")
        if language != "en":
            raise InvalidRequestError(
                f"{model} transcribes English only; for {language!r} audio use "
                f"{_takers('language')} (or @cf/openai/whisper, which detects the language)"
            )
    for name in options:
        if row.known and name not in row.options:
            raise InvalidRequestError(f"{model} takes no {name!r}; {_takers(name)} does")
    return options


def _check_audio(audio: object, media_type: object) -> Media:
    """Checked audio bytes with their media type (sizes: :func:`plan_audio_pieces`)."""
    if media_type is not None and not isinstance(media_type, str):
        raise InvalidRequestError(f"media_type must be a str, not {type(media_type).__name__}")
    found = media_type
    if isinstance(audio, (bytes, bytearray, memoryview)) and len(audio) and found is None:
        found = sniff_media_type(bytes(audio[:16]))
        if found is None:
            raise InvalidRequestError(
                "audio: its format cannot be told from its first bytes (WAV, MP3, FLAC, OGG, "
                "M4A/MP4, AAC and WebM are recognised); pass media_type='audio/...'"
            )
    return check_media(
        audio, what="audio", max_bytes=sys.maxsize, accepted=_AUDIO_TYPES, media_type=found
    )


# --- Transcription: the plan (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class AsrRequest:
    """One request of a transcription.

    Attributes:
        audio: The audio it carries (a whole file, or a WAV piece).
        media_type: Its media type (the ``Content-Type`` of a raw body).
        offset: Where its audio starts in the whole, in seconds.
        inputs: The JSON inputs; ``None`` when the audio is sent as the raw body.
    """

    audio: bytes = field(repr=False)
    media_type: str
    offset: float
    inputs: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TranscriptionPlan:
    """A checked transcription: the requests to send, built one at a time by :meth:`request`
    (so a long file is not held twice over), and how to read their answers.

    Attributes:
        model: The model.
        audio: The checked audio.
        row: The model's input quirks.
        options: The wire options (``prefix`` goes with the first piece only).
        language: The language asked for (Whisper's code), or ``"en"`` for an English-only
            model.
        wav: The WAV header, when the audio is a readable WAV file.
        pieces: ``(start frame, frames)`` of each piece of split WAV audio; ``()`` when whole.
    """

    model: str
    audio: Media = field(repr=False)
    row: AsrModel
    options: Mapping[str, Any]
    language: str | None
    wav: WavInfo | None
    pieces: tuple[tuple[int, int], ...] = ()

    @property
    def count(self) -> int:
        """Requests to send."""
        return len(self.pieces) or 1

    @property
    def offsets(self) -> tuple[float, ...]:
        """Where each request's audio starts, in seconds."""
        if not self.pieces or self.wav is None:
            return (0.0,)
        return tuple(start / self.wav.sample_rate for start, _ in self.pieces)

    def request(self, index: int) -> AsrRequest:
        """Build request ``index`` (from 0 to :attr:`count` - 1)."""
        data, media_type, offset = self.audio.data, self.audio.media_type, 0.0
        if self.pieces and self.wav is not None:
            piece = wav_piece(self.audio.data, self.wav, *self.pieces[index])
            data, media_type, offset = piece.data, "audio/wav", piece.start
        elif index != 0:
            raise IndexError(index)
        if self.row.body == "raw":
            return AsrRequest(data, media_type, offset)
        options = {k: v for k, v in self.options.items() if k != "prefix" or index == 0}
        encoded = base64.b64encode(data).decode("ascii")
        return AsrRequest(data, media_type, offset, {"audio": encoded, **options})

    def read(self, answers: Sequence[Any]) -> Transcription:
        """The answers (one per request, in order) merged into one :class:`Transcription`."""
        return read_transcription(
            answers,
            model=self.model,
            offsets=self.offsets,
            language=self.language,
            duration=self.wav.duration if self.wav is not None else None,
        )


def plan_transcription(
    audio: bytes,
    *,
    model: str = DEFAULT_ASR_MODEL,
    language: str | None = None,
    task: Task = "transcribe",
    initial_prompt: str | None = None,
    vad_filter: bool | None = None,
    prefix: str | None = None,
    beam_size: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    max_chunk_bytes: int | None = None,
) -> TranscriptionPlan:
    """Check a transcription and plan its requests (no I/O). Arguments: see :func:`transcribe`.

    Raises:
        InvalidRequestError: Anything :func:`transcribe` refuses before sending.
    """
    model = check_task_model(model, ASR, "transcription")
    row = ASR_MODELS.get(model, _OTHER_ASR)
    _check_types(task, initial_prompt, prefix, vad_filter, beam_size)
    given = {"language": language, "task": task, "initial_prompt": initial_prompt,
             "vad_filter": vad_filter, "prefix": prefix, "beam_size": beam_size}  # fmt: skip
    options = _asr_options(model, row, given)
    checked = _check_audio(audio, media_type)
    wav, pieces = plan_audio_pieces(checked, limits, max_chunk_bytes)
    asked = "en" if row.english_only else options.get("language")
    return TranscriptionPlan(model, checked, row, options, asked, wav, pieces)


# --- Transcription: reading the answers (pure) -------------------------------------------------


def _invalid(what: str, value: Any) -> APIResponseValidationError:
    excerpt = value_excerpt(value)
    return APIResponseValidationError(f"transcription answer: {what}: {excerpt}", body=excerpt)


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _invalid(f"{what} is not a number of seconds", value)
    return float(value)


def _optional_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _shift(seconds: float, offset: float) -> float:
    return round(seconds + offset, 3) if offset else seconds


def _words(value: Any, offset: float) -> tuple[TranscriptWord, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("'words' is not a list", value)
    words = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("word"), str):
            raise _invalid("a word is not {word, start, end}", item)
        start = _shift(_seconds(item.get("start"), "a word's start"), offset)
        end = _shift(_seconds(item.get("end"), "a word's end"), offset)
        words.append(TranscriptWord(item["word"], start, end))
    return tuple(words)


def _segments(value: Any, offset: float) -> tuple[TranscriptSegment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("'segments' is not a list", value)
    segments = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("text", ""), str):
            raise _invalid("a segment is not {start, end, text, words}", item)
        segments.append(
            TranscriptSegment(
                start=_shift(_seconds(item.get("start"), "a segment's start"), offset),
                end=_shift(_seconds(item.get("end"), "a segment's end"), offset),
                text=str(item.get("text", "")).strip(),
                words=_words(item.get("words"), offset),
                avg_logprob=_optional_float(item.get("avg_logprob")),
                no_speech_prob=_optional_float(item.get("no_speech_prob")),
            )
        )
    return tuple(segments)


_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})(.*)$"
)
_Cue = tuple[float, float, str, str]  # start, end, settings, text


def _vtt_seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    hours = int(parts[0]) if len(parts) == 3 else 0
    return hours * 3600 + int(parts[-2]) * 60 + float(parts[-1])


def _vtt_stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _vtt_cues(vtt: str, offset: float) -> list[_Cue]:
    """The cues of a WebVTT document, shifted by ``offset`` seconds."""
    cues: list[_Cue] = []
    for block in re.split(r"\r?\n[ \t]*\r?\n", vtt.strip()):
        lines = block.splitlines()
        for index, line in enumerate(lines):
            timing = _TIMING.match(line)
            if timing:
                start = _vtt_seconds(timing[1]) + offset
                end = _vtt_seconds(timing[2]) + offset
                text = "\n".join(lines[index + 1 :]).strip()
                cues.append((start, end, timing[3].rstrip(), text))
                break
    return cues


def _render_vtt(cues: Sequence[_Cue]) -> str:
    body = "".join(
        f"{_vtt_stamp(start)} --> {_vtt_stamp(end)}{settings}\n{text}\n\n"
        for start, end, settings, text in cues
    )
    return "WEBVTT\n\n" + body


def _read_piece(data: Any, offset: float, model: str) -> Transcription:
    """One answer, its word and segment times shifted by ``offset`` seconds (not its VTT)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
        raise _invalid("no 'text'", data)
    segments = _segments(data.get("segments"), offset)
    words = _words(data.get("words"), offset) or tuple(w for s in segments for w in s.words)
    text, count = data["text"].strip(), data.get("word_count")
    info = data.get("transcription_info")
    info = info if isinstance(info, Mapping) else {}
    return Transcription(
        text=text,
        model=model,
        language=info["language"] if isinstance(info.get("language"), str) else None,
        language_probability=_optional_float(info.get("language_probability")),
        duration=_optional_float(info.get("duration")),
        words=words,
        segments=segments,
        vtt=data["vtt"] if isinstance(data.get("vtt"), str) else "",
        word_count=count
        if isinstance(count, int) and not isinstance(count, bool)
        else len(words) or len(text.split()),
        offsets=(offset,),
        raw=(data,),
    )


def read_transcription(
    answers: Sequence[Any],
    *,
    model: str,
    offsets: Sequence[float] = (0.0,),
    language: str | None = None,
    duration: float | None = None,
) -> Transcription:
    """Merge the answers of a transcription (one per piece of audio) into one result.

    Args:
        answers: The unwrapped ``result`` of each request, in order.
        model: The model that answered.
        offsets: Where each piece's audio starts, in seconds (one per answer).
        language: The language asked for, used when no answer reports one.
        duration: Seconds of audio, when known from the file; else as reported.

    Raises:
        APIResponseValidationError: An answer without ``text``, or with malformed words or
            segments.
        ValueError: Not as many offsets as answers.
    """
    if len(answers) != len(offsets) or not answers:
        raise ValueError(f"{len(answers)} answers for {len(offsets)} offsets")
    pieces = [_read_piece(a, o, model) for a, o in zip(answers, offsets, strict=True)]
    first, reported = pieces[0], [p.duration for p in pieces]
    if duration is None and None not in reported:
        duration = sum(d for d in reported if d is not None)
    vtt = first.vtt
    if len(pieces) > 1 or first.offsets[0]:
        cues = [cue for p in pieces for cue in _vtt_cues(p.vtt, p.offsets[0])]
        vtt = _render_vtt(cues) if cues else ""
    return replace(
        first,
        text=" ".join(p.text for p in pieces if p.text),
        language=first.language or language,
        duration=duration,
        words=tuple(w for p in pieces for w in p.words),
        segments=tuple(s for p in pieces for s in p.segments),
        vtt=vtt,
        word_count=sum(p.word_count for p in pieces),
        offsets=tuple(offsets),
        raw=tuple(answers),
    )


# --- Transcription: sending --------------------------------------------------------------------


def _send_asr(client: WorkersAIClient, model: str, request: AsrRequest) -> Any:
    if request.inputs is None:
        return client.run_raw(model, request.audio, content_type=request.media_type).data
    return client.run(model, request.inputs)


async def _asend_asr(client: AsyncWorkersAIClient, model: str, request: AsrRequest) -> Any:
    if request.inputs is None:
        answer = await client.run_raw(model, request.audio, content_type=request.media_type)
        return answer.data
    return await client.run(model, request.inputs)


def transcribe(
    client: WorkersAIClient,
    audio: bytes,
    *,
    model: str = DEFAULT_ASR_MODEL,
    language: str | None = None,
    task: Task = "transcribe",
    initial_prompt: str | None = None,
    vad_filter: bool | None = None,
    prefix: str | None = None,
    beam_size: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    max_chunk_bytes: int | None = None,
) -> Transcription:
    """Transcribe (or translate into English) spoken audio.

    Args:
        client: The client that sends (and reports usage: one report per request).
        audio: The file's bytes (WAV, MP3, FLAC, OGG, M4A...; read paths and URLs first).
        model: A speech-recognition model (:data:`ASR_MODELS`, or another the catalog lists).
        language: The spoken language (code, name or tag); ``None``: the model detects it.
        task: ``"translate"`` gives English text (whisper-large-v3-turbo).
        initial_prompt: Context for the model (every piece of split audio gets it).
        vad_filter: Skip silence with voice-activity detection.
        prefix: Text the transcript starts with (the first piece only).
        beam_size: The decoder's beam size.
        media_type: The audio's media type; sniffed from its bytes when ``None``.
        limits: Size limits; ``audio_bytes`` caps every request.
        max_chunk_bytes: Longer WAV audio is split into pieces of at most this many bytes
            (default: ``limits.audio_bytes``).

    Returns:
        The transcript, merged over the pieces when the audio was split.

    Raises:
        InvalidRequestError: Before any request: audio that is not bytes, empty, of a type
            that is not audio, or non-WAV audio over ``limits.audio_bytes``; an option or
            language the model does not take (naming the models that do).
        APIError: What the service answered (see :mod:`workers_ai.errors`).
    """
    plan = plan_transcription(
        audio, model=model, language=language, task=task, initial_prompt=initial_prompt,
        vad_filter=vad_filter, prefix=prefix, beam_size=beam_size, media_type=media_type,
        limits=limits, max_chunk_bytes=max_chunk_bytes,
    )  # fmt: skip
    return plan.read([_send_asr(client, plan.model, plan.request(i)) for i in range(plan.count)])


async def atranscribe(
    client: AsyncWorkersAIClient,
    audio: bytes,
    *,
    model: str = DEFAULT_ASR_MODEL,
    language: str | None = None,
    task: Task = "transcribe",
    initial_prompt: str | None = None,
    vad_filter: bool | None = None,
    prefix: str | None = None,
    beam_size: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    max_chunk_bytes: int | None = None,
    concurrency: int = 4,
) -> Transcription:
    """:func:`transcribe` on the async client; the pieces of split audio are sent
    ``concurrency`` at a time (the first failure cancels the rest and is raised)."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise InvalidRequestError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
    plan = plan_transcription(
        audio, model=model, language=language, task=task, initial_prompt=initial_prompt,
        vad_filter=vad_filter, prefix=prefix, beam_size=beam_size, media_type=media_type,
        limits=limits, max_chunk_bytes=max_chunk_bytes,
    )  # fmt: skip
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> Any:
        async with gate:
            return await _asend_asr(client, plan.model, plan.request(index))

    return plan.read(await run_all([one(i) for i in range(plan.count)]))
