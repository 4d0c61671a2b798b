"""LlamaIndex readers on Workers AI (issue #20): speech to text and documents to Markdown.

- :class:`WorkersAIWhisperReader`: one ``Document`` per audio file, its transcript as text and
  the language, duration and timed segments in metadata (whisper models).
- :class:`WorkersAIMarkdownReader`: PDFs, Office and ODF files, HTML, CSV, XML and images ->
  one Markdown ``Document`` per file (Workers AI's ``toMarkdown``).

Every path is checked before any request (exists, a file, not empty; the Markdown reader also
its extension and size), documents come back in the order the files were given, and both
have async ``aload_data``. The work is the core's (:mod:`workers_ai.tasks`).

Example:
    .. code-block:: python

        from llama_index.core import VectorStoreIndex
        from llama_index_workers_ai import WorkersAIMarkdownReader

        documents = WorkersAIMarkdownReader().load_data(["report.pdf", "sales.xlsx"])
        index = VectorStoreIndex.from_documents(documents)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.readers.base import BasePydanticReader
from llama_index.core.schema import Document
from pydantic import AliasChoices

from llama_index_workers_ai._connection import WorkersAIConnection
from workers_ai.connection import ClientPairOwner
from workers_ai.errors import ConfigurationError, InvalidRequestError
from workers_ai.tasks.files import read_input_file, read_media_file
from workers_ai.tasks.media import DEFAULT_LIMITS, MediaLimits

if TYPE_CHECKING:
    from workers_ai.client import ClientPair
    from workers_ai.tasks.documents import ConvertedDocument
    from workers_ai.tasks.speech import Transcription
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    ClientPair = Any  # without loading the module behind it

__all__ = ["WorkersAIMarkdownReader", "WorkersAIWhisperReader"]

logger = logging.getLogger(__name__)

PathInput = str | Path
#: Metadata kept out of the text embedded and shown to the LLM (long, or only for code).
_QUIET_KEYS = ("segments", "words", "vtt", "offsets")


def _paths(
    file_paths: PathInput | Sequence[PathInput],
    base_dir: Path | None,
    max_bytes: int | None = None,
) -> list[Path]:
    """Every path checked (before any request); a single path is a list of one."""
    given = [file_paths] if isinstance(file_paths, (str, Path)) else list(file_paths)
    if not given:
        raise InvalidRequestError("file_paths is empty: give at least one file")
    return [read_input_file(p, what="file", base_dir=base_dir, max_bytes=max_bytes) for p in given]


def _file_metadata(path: Path) -> dict[str, Any]:
    return {"file_path": str(path), "file_name": path.name}


def _document(text: str, metadata: dict[str, Any]) -> Document:
    quiet = [key for key in _QUIET_KEYS if key in metadata]
    return Document(
        text=text,
        metadata=metadata,
        excluded_embed_metadata_keys=quiet,
        excluded_llm_metadata_keys=quiet,
    )


class _ReaderBase(WorkersAIConnection, ClientPairOwner, BasePydanticReader):
    """The connection, the lazily built clients and the input folder of both readers."""

    input_dir: Path | None = Field(default=None)
    """When set, only files inside this folder are read (relative paths start there)."""
    limits: MediaLimits = Field(default=DEFAULT_LIMITS)
    """Largest inputs (``workers_ai.tasks.MediaLimits``: ``audio_bytes``, ``document_bytes``)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send with (left open by :meth:`close`)."""
    async_http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send with (left open by :meth:`aclose`)."""

    _clients: ClientPair = PrivateAttr()

    def _after_init(self) -> None:
        self._check_settings()
        self._clients = self._make_clients(
            self._resolve_settings(),
            http_client=self.http_client,
            async_http_client=self.async_http_client,
        )

    def _check_settings(self) -> None:
        """Check the reader's own settings (no I/O)."""


class WorkersAIWhisperReader(_ReaderBase):
    """Transcribe audio files into ``Document`` objects, one per file, in order.

    ``Document.text`` is the transcript; metadata: ``file_path``, ``file_name``, ``model``,
    ``language`` (reported or asked for), ``language_probability``, ``duration`` (seconds),
    ``word_count`` and ``segments`` (``[{"start", "end", "text"}]``, seconds from the start;
    whisper-large-v3-turbo gives them, other models an empty list), plus ``words`` and ``vtt``
    when asked for. The timed metadata is excluded from what is embedded and shown to the LLM.
    Long WAV files are split and merged by the core, times kept.

    Example:
        .. code-block:: python

            reader = WorkersAIWhisperReader(language="en")
            documents = reader.load_data(["call-1.mp3", "call-2.wav"])
            documents[0].metadata["segments"][0]  # {"start": 0.0, "end": 2.4, "text": "..."}
    """

    model: str = Field(
        default="@cf/openai/whisper-large-v3-turbo",
        validation_alias=AliasChoices("model", "model_name"),
        description="Speech-recognition model (alias model_name).",
    )
    """Speech-recognition model (alias ``model_name``): ``@cf/openai/whisper-large-v3-turbo``,
    ``@cf/openai/whisper`` or ``@cf/openai/whisper-tiny-en``."""
    language: str | None = Field(default=None)
    """The spoken language (code or name); ``None``: the model detects it."""
    task: Literal["transcribe", "translate"] = Field(default="transcribe")
    """``"translate"``: English text whatever the spoken language (whisper-large-v3-turbo)."""
    initial_prompt: str | None = Field(default=None)
    """Context for the model (names, spellings)."""
    vad_filter: bool | None = Field(default=None)
    """Skip silence with voice-activity detection."""
    max_chunk_bytes: int | None = Field(default=None)
    """Longer WAV audio is split into pieces of at most this size (default ``limits``)."""
    include_words: bool = Field(default=False)
    """Also put the timed words in ``metadata["words"]``."""
    include_vtt: bool = Field(default=False)
    """Also put the WebVTT subtitles in ``metadata["vtt"]``."""

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIWhisperReader"

    def _check_settings(self) -> None:
        from workers_ai.tasks.speech import ASR, check_task_model

        check_task_model(self.model, ASR, "WorkersAIWhisperReader")

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "language": self.language,
            "task": self.task,
            "initial_prompt": self.initial_prompt,
            "vad_filter": self.vad_filter,
            "limits": self.limits,
            "max_chunk_bytes": self.max_chunk_bytes,
        }

    def _to_document(self, path: Path, result: Transcription) -> Document:
        metadata = {
            **_file_metadata(path),
            "model": result.model,
            "language": result.language,
            "language_probability": result.language_probability,
            "duration": result.duration,
            "word_count": result.word_count,
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in result.segments],
        }
        if self.include_words:
            metadata["words"] = [
                {"word": w.word, "start": w.start, "end": w.end} for w in result.words
            ]
        if self.include_vtt:
            metadata["vtt"] = result.vtt
        return _document(result.text, metadata)

    def lazy_load_data(self, file_paths: PathInput | Sequence[PathInput]) -> Iterator[Document]:
        """Transcribe each file, one request (or one per WAV piece) at a time.

        Args:
            file_paths: A path or a list of paths; all are checked before the first request.

        Raises:
            InvalidRequestError: A path that does not exist, is not a file or is empty, or
                audio the model cannot take -- before any request for paths.
            APIError: A request failed (the files before it were already yielded).
        """
        from workers_ai.tasks.speech import transcribe

        paths = _paths(file_paths, self.input_dir)
        for path in paths:
            audio, kind = read_media_file(path)
            result = transcribe(self._sync_client(), audio, media_type=kind, **self._options())
            yield self._to_document(path, result)

    def load_data(self, file_paths: PathInput | Sequence[PathInput]) -> list[Document]:
        """One ``Document`` per file, in order (see :meth:`lazy_load_data`)."""
        return list(self.lazy_load_data(file_paths))

    async def aload_data(self, file_paths: PathInput | Sequence[PathInput]) -> list[Document]:
        """Async :meth:`load_data` (files one after another; a file's WAV pieces concurrently)."""
        from workers_ai.tasks.speech import atranscribe

        paths = _paths(file_paths, self.input_dir)
        out = []
        for path in paths:
            audio, kind = read_media_file(path)
            client = self._async_client()
            result = await atranscribe(client, audio, media_type=kind, **self._options())
            out.append(self._to_document(path, result))
        return out


class WorkersAIMarkdownReader(_ReaderBase):
    """Convert documents into Markdown ``Document`` objects with Workers AI's ``toMarkdown``:
    PDF, Word (``.docx``), Excel (``.xlsx``, ``.xls``...), ODF, HTML, XML, CSV, Apple Numbers
    and images (described by a vision model). One ``Document`` per file, in order.

    Metadata: ``file_path``, ``file_name``, ``file_type`` (media type), ``format``
    (``"markdown"`` or ``"text"``) and ``tokens``. Extensions and sizes are checked before
    any request; files go ``files_per_request`` to a request. A file the service could not
    convert raises ``workers_ai.APIError`` naming each failed file and why (after the whole
    request, so nothing is lost silently); with ``raise_on_error=False`` it is skipped and
    logged instead.

    Example:
        .. code-block:: python

            reader = WorkersAIMarkdownReader(raise_on_error=False)
            documents = reader.load_data(["q3.pdf", "notes.docx", "chart.png"])
    """

    output: Literal["markdown", "text"] = Field(default="markdown")
    """``"markdown"`` or plain ``"text"``."""
    conversion_options: dict[str, Any] = Field(default_factory=dict)
    """Other ``conversionOptions`` (``workers_ai.tasks.documents.conversion_options``)."""
    files_per_request: int = Field(default=10)
    """Files sent in one request."""
    raise_on_error: bool = Field(default=True)
    """Raise when a file was not converted; ``False``: skip it with a logged warning."""

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIMarkdownReader"

    def _check_settings(self) -> None:
        from workers_ai.tasks.documents import conversion_options

        if self.files_per_request < 1:
            raise ConfigurationError(f"files_per_request={self.files_per_request}: use 1 or more")
        conversion_options(self.output, self.conversion_options)

    def _batches(
        self, file_paths: PathInput | Sequence[PathInput]
    ) -> list[list[tuple[Path, tuple[str, bytes]]]]:
        """The files checked (paths, extensions, sizes: before any request), in batches."""
        from workers_ai.tasks.documents import prepare_files

        paths = _paths(file_paths, self.input_dir, self.limits.document_bytes)
        files = [(path, (path.name, path.read_bytes())) for path in paths]
        prepare_files([f for _, f in files], limits=self.limits)
        step = self.files_per_request
        return [files[i : i + step] for i in range(0, len(files), step)]

    def _to_documents(
        self, batch: Sequence[tuple[Path, Any]], results: Sequence[ConvertedDocument]
    ) -> list[Document]:
        from workers_ai.tasks.documents import raise_for_failures

        if self.raise_on_error:
            raise_for_failures(results)
        out = []
        for (path, _), result in zip(batch, results, strict=True):
            if not result.ok:
                logger.warning("WorkersAIMarkdownReader: skipped %s: %s", path, result.error)
                continue
            metadata = {
                **_file_metadata(path),
                "file_type": result.mime_type,
                "format": result.format,
                "tokens": result.tokens,
            }
            out.append(_document(result.data, metadata))
        return out

    def _kwargs(self) -> dict[str, Any]:
        return {"output": self.output, "options": self.conversion_options, "limits": self.limits}

    def lazy_load_data(self, file_paths: PathInput | Sequence[PathInput]) -> Iterator[Document]:
        """Convert the files, ``files_per_request`` per request, yielding in order.

        Args:
            file_paths: A path or a list of paths; all are checked before the first request.

        Raises:
            InvalidRequestError: A missing, empty or oversized file, or an extension the
                service does not convert -- before any request.
            APIError: A file was not converted (``raise_on_error``), or a request failed.
        """
        from workers_ai.tasks.documents import to_markdown

        for batch in self._batches(file_paths):
            results = to_markdown(self._sync_client(), [f for _, f in batch], **self._kwargs())
            yield from self._to_documents(batch, results)

    def load_data(self, file_paths: PathInput | Sequence[PathInput]) -> list[Document]:
        """One ``Document`` per converted file, in order (see :meth:`lazy_load_data`)."""
        return list(self.lazy_load_data(file_paths))

    async def aload_data(self, file_paths: PathInput | Sequence[PathInput]) -> list[Document]:
        """Async :meth:`load_data` (one request after another)."""
        from workers_ai.tasks.documents import ato_markdown

        out: list[Document] = []
        for batch in self._batches(file_paths):
            files = [f for _, f in batch]
            results = await ato_markdown(self._async_client(), files, **self._kwargs())
            out.extend(self._to_documents(batch, results))
        return out
