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
