"""LangChain document loaders on Workers AI: transcripts of audio files (Whisper) and
Markdown conversions of PDFs, Office files, HTML and images (``toMarkdown``).

Both take one path or a list, check every path (exists, is a file, not empty, within the size
limit) before the first request, load lazily (``lazy_load`` / ``alazy_load``, one file or one
batch at a time) and keep the file's path in ``metadata["source"]``.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document
from pydantic import AliasChoices, Field, field_validator

from langchain_workers_ai._connection import ClientConnection as _TaskConnection
from langchain_workers_ai.errors import langchain_errors
from langchain_workers_ai.tools import (
    DEFAULT_MAX_AUDIO_FILE_BYTES,
    check_input_file,
    default_model,
    read_input_file,
)
from workers_ai import tasks
from workers_ai.errors import APIError
from workers_ai.tasks import documents
from workers_ai.tasks.media import DEFAULT_LIMITS, MediaLimits

if TYPE_CHECKING:
    from workers_ai.tasks.documents import ConvertedDocument
    from workers_ai.tasks.speech import Transcription

__all__ = ["WorkersAIMarkdownLoader", "WorkersAIWhisperLoader"]

FilePaths = str | Path | Sequence[str | Path]


def _paths(value: object) -> list[str]:
    if isinstance(value, (str, Path)):
        return [str(value)]
    if isinstance(value, Sequence) and all(isinstance(v, (str, Path)) for v in value):
        return [str(v) for v in value]
    raise ValueError("file_paths must be a path or a list of paths")


def transcription_to_document(source: str, result: Transcription) -> Document:
    """One transcript as a ``Document``: its text, and in ``metadata`` the source path, model,
    language (and its probability), duration, segments (``start``, ``end``, ``text``; seconds
    from the start of the file) and VTT subtitles when the model gave them."""
    metadata: dict[str, Any] = {
        "source": source,
        "model": result.model,
        "language": result.language,
        "duration": result.duration,
        "segments": [
            {"start": seg.start, "end": seg.end, "text": seg.text} for seg in result.segments
        ],
    }
    if result.language_probability is not None:
        metadata["language_probability"] = result.language_probability
    if result.vtt:
        metadata["vtt"] = result.vtt
    return Document(page_content=result.text, metadata=metadata)


def conversion_to_document(source: str, result: ConvertedDocument) -> Document:
    """One converted file as a ``Document`` (source path, file name, media type, format and
    token count in ``metadata``)."""
    metadata: dict[str, Any] = {
        "source": source,
        "file_name": result.name,
        "mime_type": result.mime_type,
        "format": result.format,
    }
    if result.tokens is not None:
        metadata["tokens"] = result.tokens
    return Document(page_content=result.data, metadata=metadata)


class _FileLoader(_TaskConnection, BaseLoader):
    file_paths: list[str]
    """The files to load (one path or a list)."""
    limits: MediaLimits = DEFAULT_LIMITS
    """Size limits of the media sent (``workers_ai.tasks.MediaLimits``)."""

    @field_validator("file_paths", mode="before")
    @classmethod
    def _to_list(cls, value: object) -> list[str]:
        return _paths(value)

    if not TYPE_CHECKING:  # ``Loader(path)`` as LangChain's loaders take it; keywords also work

        def __init__(self, file_paths: FilePaths | None = None, /, **kwargs: Any) -> None:
            if file_paths is not None:
                kwargs["file_paths"] = file_paths
            super().__init__(**kwargs)

    def _check_all(self) -> None:
        """Every path checked (``stat`` only) before the first request."""
        for path in self.file_paths:
            self._check(path)

    def _check(self, path: str) -> Path:
        raise NotImplementedError


class WorkersAIWhisperLoader(_FileLoader):
    """One ``Document`` per audio file: its transcript, with segments, timestamps and the
    language in ``metadata`` (Whisper on Workers AI; segments with
    ``@cf/openai/whisper-large-v3-turbo``).

    Example:
        .. code-block:: python

            loader = WorkersAIWhisperLoader(["call.wav", "memo.mp3"],
                                            model="@cf/openai/whisper-large-v3-turbo")
            for doc in loader.lazy_load():
                print(doc.metadata["source"], doc.metadata["language"], doc.page_content)

    Raises:
        InvalidRequestError: Before any request: a path that does not exist, is not a file,
            is empty or over ``max_file_bytes``; audio the model cannot take.
        APIError: What the service answered (as its LangChain twin).
    """

    model: str = Field(
        default_factory=default_model("speech", "DEFAULT_ASR_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The speech-recognition model (alias ``model_name``)."""
    language: str | None = None
    """The spoken language (code or name); ``None``: the model detects it per file."""
    initial_prompt: str | None = None
    """Context for the model (names, spellings)."""
    max_file_bytes: int = Field(default=DEFAULT_MAX_AUDIO_FILE_BYTES, ge=1)
    """The largest audio file read (longer WAV is split into requests of
    ``limits.audio_bytes``; other formats must fit ``limits.audio_bytes``)."""
    concurrency: int = Field(default=4, ge=1)
    """``alazy_load``: pieces of one split WAV file sent at a time."""

    def _check(self, path: str) -> Path:
        return check_input_file(
            path, what="audio", max_bytes=self.max_file_bytes, setting="max_file_bytes"
        )

    def _read(self, path: str) -> bytes:
        return read_input_file(
            path, what="audio", max_bytes=self.max_file_bytes, setting="max_file_bytes"
        )

    def lazy_load(self) -> Iterator[Document]:
        """Transcribe the files one at a time."""
        self._check_all()
        for path in self.file_paths:
            audio = self._read(path)
            with langchain_errors():
                result = tasks.transcribe(
                    self._sync_client(), audio, model=self.model, language=self.language,
                    initial_prompt=self.initial_prompt, limits=self.limits,
                )  # fmt: skip
            yield transcription_to_document(path, result)

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Transcribe the files one at a time on the async client."""
        await asyncio.to_thread(self._check_all)
        for path in self.file_paths:
            audio = await asyncio.to_thread(self._read, path)
            with langchain_errors():
                result = await tasks.atranscribe(
                    self._async_client(), audio, model=self.model, language=self.language,
                    initial_prompt=self.initial_prompt, limits=self.limits,
                    concurrency=self.concurrency,
                )  # fmt: skip
            yield transcription_to_document(path, result)


class WorkersAIMarkdownLoader(_FileLoader):
    """PDFs, Office files (docx, xlsx, ods, odt...), HTML, CSV, XML and images as Markdown
    ``Documents`` (Workers AI ``toMarkdown``), ``batch_size`` files per request.

    A file the service could not convert raises (``on_error="raise"``, the default: an
    ``APIError`` naming each failed file and why) or is left out with one warning per file
    (``on_error="skip"``). Paths that do not exist, are not files, are empty, too large or of a
    format the service does not convert raise before any request, whatever ``on_error`` says.

    Example:
        .. code-block:: python

            docs = WorkersAIMarkdownLoader(["report.pdf", "page.html"]).load()
            docs[0].metadata  # {"source": "report.pdf", "mime_type": "application/pdf", ...}
    """

    output: Literal["markdown", "text"] = "markdown"
    """``"markdown"``, or ``"text"`` for plain text."""
    conversion_options: dict[str, Any] = Field(default_factory=dict)
    """Other ``conversionOptions`` (see ``workers_ai.tasks.documents.conversion_options``)."""
    on_error: Literal["raise", "skip"] = "raise"
    """What a file the service could not convert does: raise, or skip with a warning."""
    batch_size: int = Field(default=10, ge=1)
    """Files per request."""

    def _check(self, path: str) -> Path:
        file = check_input_file(
            path,
            what="document",
            max_bytes=self.limits.document_bytes,
            setting="limits=MediaLimits(document_bytes=...)",
        )
        documents.prepare_files([(file.name, b"?")], limits=self.limits)  # the format is known
        return file

    def _batches(self) -> Iterator[list[str]]:
        paths = self.file_paths
        for start in range(0, len(paths), self.batch_size):
            yield paths[start : start + self.batch_size]

    def _read_one(self, path: str) -> tuple[str, bytes]:
        setting = "limits=MediaLimits(document_bytes=...)"
        data = read_input_file(
            path, what="document", max_bytes=self.limits.document_bytes, setting=setting
        )
        return Path(path).name, data

    def _read(self, batch: Sequence[str]) -> list[tuple[str, bytes]]:
        return [self._read_one(path) for path in batch]

    def _documents(
        self, batch: Sequence[str], results: Sequence[ConvertedDocument]
    ) -> Iterator[Document]:
        failed = [(path, doc) for path, doc in zip(batch, results, strict=True) if not doc.ok]
        if failed and self.on_error == "raise":
            details = "; ".join(f"{path}: {doc.error}" for path, doc in failed)
            raise APIError(
                f"{len(failed)} of {len(batch)} files were not converted: {details}",
                body=[{"source": path, "error": doc.error} for path, doc in failed],
            )
        for path, doc in zip(batch, results, strict=True):
            if doc.ok:
                yield conversion_to_document(path, doc)
            else:
                warnings.warn(f"Skipped {path}: not converted ({doc.error})", stacklevel=3)

    def lazy_load(self) -> Iterator[Document]:
        """Convert the files, ``batch_size`` per request."""
        self._check_all()
        for batch in self._batches():
            files = self._read(batch)
            with langchain_errors():
                results = documents.to_markdown(
                    self._sync_client(), files, output=self.output,
                    options=self.conversion_options, limits=self.limits,
                )  # fmt: skip
            yield from self._documents(batch, results)

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Convert the files, ``batch_size`` per request, on the async client."""
        await asyncio.to_thread(self._check_all)
        for batch in self._batches():
            files = await asyncio.to_thread(self._read, batch)
            with langchain_errors():
                results = await documents.ato_markdown(
                    self._async_client(), files, output=self.output,
                    options=self.conversion_options, limits=self.limits,
                )  # fmt: skip
            for doc in self._documents(batch, results):
                yield doc
