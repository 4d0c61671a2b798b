"""Workers AI's other tasks as typed functions (issue #20): speech, translation, vision,
image generation, classification, summarisation and document conversion.

Each task has a pure request builder and a pure reader (no I/O), and two thin functions that
send: ``task(client, ...)`` on a :class:`~workers_ai.WorkersAIClient` and ``atask(client,
...)`` on an :class:`~workers_ai.AsyncWorkersAIClient`. Inputs are checked before any
request (:mod:`workers_ai.tasks.media`: sizes, media types, languages); media go in and come
out as ``bytes`` with their media type, never re-encoded behind the caller's back. Every call
reports its usage to the core usage hook (:mod:`workers_ai.usage`) through the client.

Modules: :mod:`~workers_ai.tasks.media` (shared input checks and the neutral media type),
:mod:`~workers_ai.tasks.speech` (transcription, speech synthesis),
:mod:`~workers_ai.tasks.vision` (image classification, object detection, image-to-text,
text-to-image), :mod:`~workers_ai.tasks.text` (translation, text classification,
summarisation), :mod:`~workers_ai.tasks.documents` (Markdown conversion).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers_ai.tasks.documents import ConvertedDocument, ato_markdown, to_markdown
    from workers_ai.tasks.media import Label, Media, MediaLimits
    from workers_ai.tasks.speech import Transcription, atranscribe, transcribe
    from workers_ai.tasks.text import (
        aclassify_text,
        asummarize,
        atranslate,
        classify_text,
        summarize,
        translate,
    )
    from workers_ai.tasks.tts import asynthesize, synthesize
    from workers_ai.tasks.vision import (
        Detection,
        aclassify_image,
        adescribe_image,
        adetect_objects,
        agenerate_image,
        classify_image,
        describe_image,
        detect_objects,
        generate_image,
    )

#: The task functions and their result types, loaded on first use: name -> module.
_LAZY = {
    **dict.fromkeys(("ConvertedDocument", "ato_markdown", "to_markdown"), "documents"),
    **dict.fromkeys(("Label", "Media", "MediaLimits"), "media"),
    **dict.fromkeys(("Transcription", "atranscribe", "transcribe"), "speech"),
    **dict.fromkeys(
        ("aclassify_text", "asummarize", "atranslate", "classify_text", "summarize", "translate"),
        "text",
    ),
    **dict.fromkeys(("asynthesize", "synthesize"), "tts"),
    **dict.fromkeys(
        (
            "Detection",
            "aclassify_image",
            "adescribe_image",
            "adetect_objects",
            "agenerate_image",
            "classify_image",
            "describe_image",
            "detect_objects",
            "generate_image",
        ),
        "vision",
    ),
}

__all__ = [
    "ConvertedDocument",
    "Detection",
    "Label",
    "Media",
    "MediaLimits",
    "Transcription",
    "aclassify_image",
    "aclassify_text",
    "adescribe_image",
    "adetect_objects",
    "agenerate_image",
    "asummarize",
    "asynthesize",
    "ato_markdown",
    "atranscribe",
    "atranslate",
    "classify_image",
    "classify_text",
    "describe_image",
    "detect_objects",
    "generate_image",
    "summarize",
    "synthesize",
    "to_markdown",
    "transcribe",
    "translate",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workers_ai.tasks' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"workers_ai.tasks.{module}"), name)
