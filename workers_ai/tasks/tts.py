"""Speech synthesis (spec §8): text to audio :class:`~workers_ai.tasks.media.Media`.

:func:`synthesize` / :func:`asynthesize` build the model's input (a row of :data:`TTS_MODELS`:
melotts ``{"prompt", "lang"}``, Deepgram Aura ``{"text", ...}``), check the language the model
speaks before any request, and read either answer shape -- ``{"audio": <base64>}`` or a binary
body -- into bytes with the media type sniffed from them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError, InvalidRequestError
from workers_ai.tasks.media import Media, sniff_media_type
from workers_ai.tasks.speech import check_task_model
from workers_ai.types import MediaPayload

if TYPE_CHECKING:
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient

__all__ = [
    "DEFAULT_TTS_MODEL",
    "TTS",
    "TTS_MODELS",
    "TtsModel",
    "asynthesize",
    "read_speech",
    "speech_inputs",
    "synthesize",
]

TTS = "Text-to-Speech"
DEFAULT_TTS_MODEL = "@cf/myshell-ai/melotts"


@dataclass(frozen=True)
class TtsModel:
    """How one text-to-speech model takes its input.

    Attributes:
        text_field: The request field of the text (``prompt``, ``text``).
        lang_field: The request field of the language, if it has one.
        languages: The languages it speaks (ISO 639-1), ``None`` when not known (not checked).
    """

    text_field: str
    lang_field: str | None = None
    languages: frozenset[str] | None = None


#: melotts: ``{"prompt", "lang"}`` (cloudflare-docs src/content/workers-ai-models/melotts.json,
#: whose schema gives only 'en' and 'fr' as examples). The six languages are MeloTTS's own
#: (github.com/myshell-ai/MeloTTS: English, Spanish, French, Chinese, Japanese, Korean, which it
#: spells EN ES FR ZH JP KR); Cloudflare does not list them, so the ISO codes here are our
#: reading, not a documented enum. Deepgram Aura: ``{"text", "speaker", "encoding", ...}``,
#: binary MP3 answer, one language per model (cloudflare-docs aura-1.json, aura-2-*.json).
TTS_MODELS: Mapping[str, TtsModel] = {
    "@cf/myshell-ai/melotts": TtsModel(
        "prompt", "lang", frozenset({"en", "es", "fr", "zh", "ja", "ko"})
    ),
    "@cf/deepgram/aura-1": TtsModel("text", None, frozenset({"en"})),
    "@cf/deepgram/aura-2-en": TtsModel("text", None, frozenset({"en"})),
    "@cf/deepgram/aura-2-es": TtsModel("text", None, frozenset({"es"})),
}
_OTHER_TTS = TtsModel("prompt", "lang")


# --- Speech synthesis --------------------------------------------------------------------------


def speech_inputs(
    text: str,
    *,
    model: str = DEFAULT_TTS_MODEL,
    lang: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``/ai/run`` inputs that speak ``text`` (no I/O). Arguments: see :func:`synthesize`.

    Raises:
        InvalidRequestError: Empty text, a language the model does not speak, or ``options``
            naming the text or language fields.
    """
    model = check_task_model(model, TTS, "speech synthesis")
    row = TTS_MODELS.get(model, _OTHER_TTS)
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError(f"text to speak must be a non-empty str, not {text!r}")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidRequestError(f"options must be a mapping, not {type(options).__name__}")
    inputs: dict[str, Any] = {row.text_field: text}
    if lang is not None:
        if not isinstance(lang, str) or not lang.strip():
            raise InvalidRequestError(f"lang must be a non-empty str, not {lang!r}")
        lang = lang.strip()
        if row.languages is not None:
            lang = lang.lower()
            if lang not in row.languages:
                raise InvalidRequestError(
                    f"{model} speaks {', '.join(sorted(row.languages))}, not {lang!r}"
                )
        if row.lang_field is not None:
            inputs[row.lang_field] = lang
    for name, value in (options or {}).items():
        if name in (row.text_field, row.lang_field, "text", "lang", "prompt"):
            raise InvalidRequestError(f"options: pass {name!r} as the text or lang argument")
        inputs[name] = value
    return inputs


def read_speech(data: Any) -> Media:
    """The audio of a text-to-speech answer: ``{"audio": <base64>}`` or a binary answer.

    Raises:
        APIResponseValidationError: No audio, audio that is not base64, or empty audio.
    """
    declared: str | None = None
    if isinstance(data, MediaPayload):
        raw, declared = data.data, data.media_type
    elif isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    elif isinstance(data, Mapping) and isinstance(data.get("audio"), str):
        encoded = data["audio"]
        if encoded.startswith("data:") and "," in encoded:
            declared = encoded[5:].split(",", 1)[0].split(";", 1)[0] or None
            encoded = encoded.split(",", 1)[1]
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            excerpt = value_excerpt(data)
            raise APIResponseValidationError(
                f"speech answer: 'audio' is not base64: {excerpt}", body=excerpt
            ) from None
    else:
        excerpt = value_excerpt(data)
        raise APIResponseValidationError(f"speech answer has no audio: {excerpt}", body=excerpt)
    if not raw:
        raise APIResponseValidationError("speech answer: the audio is empty")
    return Media(raw, sniff_media_type(raw) or declared or "application/octet-stream")


def synthesize(
    client: WorkersAIClient,
    text: str,
    *,
    model: str = DEFAULT_TTS_MODEL,
    lang: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Media:
    """Speak ``text``: the audio and its media type (sniffed from the bytes).

    Args:
        client: The client that sends (and reports usage).
        text: What to say.
        model: A text-to-speech model (:data:`TTS_MODELS`, or another the catalog lists).
        lang: The language (ISO 639-1); ``None``: the model's default (melotts: ``"en"``).
            Checked against the languages the model speaks, when known.
        options: Other fields of the model's input (Aura's ``speaker``, ``encoding``...).

    Raises:
        InvalidRequestError: Before any request: see :func:`speech_inputs`.
        APIError: What the service answered; :class:`APIResponseValidationError` for an
            answer without audio.
    """
    inputs = speech_inputs(text, model=model, lang=lang, options=options)
    return read_speech(client.run(model, inputs))


async def asynthesize(
    client: AsyncWorkersAIClient,
    text: str,
    *,
    model: str = DEFAULT_TTS_MODEL,
    lang: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Media:
    """:func:`synthesize` on the async client."""
    inputs = speech_inputs(text, model=model, lang=lang, options=options)
    return read_speech(await client.run(model, inputs))
