"""Markdown conversion (``toMarkdown``, platform spec §4): PDFs, Office and ODF files, HTML,
XML, CSV, Apple Numbers and images -> Markdown (or plain text), several files per call.

:func:`to_markdown` / :func:`ato_markdown` post the files as one ``multipart/form-data``
request (``files`` parts, ``conversionOptions`` as a JSON part) and return one
:class:`ConvertedDocument` per file, **in the order the files were given**. The spec does not
promise the service's order ("one result per file, input order [?]"), so each result is
matched to its file by name (files of the same name in the order they came), and a result
whose name matches no file takes the first file left unmatched; a file the service returned
nothing for gets an ``error`` result. A file the service could not convert is a result with
``format == "error"`` and its ``error``, not an exception; :func:`raise_for_failures` raises
if any failed.

Checked before any request: each file's extension is one the service converts
(:data:`SUPPORTED_FORMATS`, transcribed from the spec; its media type is taken from there
unless given), its bytes are not empty and not over :class:`~workers_ai.tasks.media.MediaLimits`
``document_bytes``; the options' output format and description languages.

Every call is reported to the usage hook (:mod:`workers_ai.usage`) as one call of the
``toMarkdown`` "model": the converted tokens as output tokens; a cost of 0 when no image was
sent (the spec: conversions other than images are free), else unknown (images are described
by Workers AI models, billed by neurons the answer does not report).

Example:
    >>> from pathlib import Path
    >>> from workers_ai import WorkersAIClient
    >>> from workers_ai.tasks.documents import to_markdown
    >>> with WorkersAIClient() as client:  # doctest: +SKIP
    ...     docs = to_markdown(client, [("report.pdf", Path("report.pdf").read_bytes())])
    >>> docs[0].data  # doctest: +SKIP
    '# report.pdf ...'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from workers_ai.errors import APIError, APIResponseValidationError, InvalidRequestError
from workers_ai.tasks.media import DEFAULT_LIMITS, MediaLimits, check_media
from workers_ai.types import Usage
from workers_ai.usage import UsageRecord, listening, report_usage

if TYPE_CHECKING:
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient

__all__ = [
    "DESCRIPTION_LANGUAGES",
    "MARKDOWN_CONVERSION",
    "SUPPORTED_FORMATS",
    "ConvertedDocument",
    "DocumentFile",
    "FileInput",
    "OutputFormat",
    "SupportedFormat",
    "asupported_formats",
    "ato_markdown",
    "conversion_options",
    "prepare_files",
    "raise_for_failures",
    "read_conversions",
    "read_supported",
    "supported_formats",
    "to_markdown",
]

#: The name usage records carry for a conversion (``UsageRecord.model``) and their kind.
MARKDOWN_CONVERSION = "toMarkdown"
_KIND = "Markdown Conversion"

#: Extension -> media type of every format the service converts (platform spec §4, from
#: Cloudflare's "supported formats" table; ``.et``, which the table lists without a media
#: type of its own, as the Excel type).
SUPPORTED_FORMATS: Mapping[str, str] = {
    ".pdf": "application/pdf",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroenabled.12",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    ".xls": "application/vnd.ms-excel",
    ".et": "application/vnd.ms-excel",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".csv": "text/csv",
    ".numbers": "application/vnd.apple.numbers",
}
_MEDIA_TYPES = frozenset(SUPPORTED_FORMATS.values())

#: Languages image descriptions can be asked in (``descriptionLanguage``, best effort).
DESCRIPTION_LANGUAGES = ("en", "es", "fr", "it", "pt", "de")

OutputFormat = Literal["markdown", "text"]
_OUTPUT_FORMATS = ("markdown", "text")
#: Converted images per file: the service's global cap.
_MAX_CONVERTED_IMAGES = 10


@dataclass(frozen=True)
class DocumentFile:
    """A file to convert.

    Attributes:
        name: Its file name; the extension picks the format (``report.pdf``).
        data: Its bytes.
        media_type: Its media type; ``None``: the one of its extension.
    """

    name: str
    data: bytes = field(repr=False)
    media_type: str | None = None


#: What :func:`to_markdown` takes per file.
FileInput = tuple[str, bytes] | tuple[str, bytes, str] | DocumentFile


@dataclass(frozen=True)
class ConvertedDocument:
    """The conversion of one file.

    Attributes:
        name: The file's name, as given.
        mime_type: Its media type, as the service read it.
        format: ``"markdown"``, ``"text"`` (``output="text"``) or ``"error"``.
        tokens: Tokens of ``data``, as the service counted them (``None`` if not reported).
        data: The converted text (empty for an error).
        error: Why the file was not converted (``None`` unless ``format == "error"``).
        id: The service's id of the result, if any.
    """

    name: str
    mime_type: str
    format: str
    tokens: int | None = None
    data: str = field(default="", repr=False)
    error: str | None = None
    id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file was converted."""
        return self.format != "error"


@dataclass(frozen=True)
class SupportedFormat:
    """A format the service converts (``GET /ai/tomarkdown/supported``).

    Attributes:
        extension: With its dot (``.pdf``).
        mime_type: Its media type.
    """

    extension: str
    mime_type: str


# --- Requests (pure) -------------------------------------------------------------------------


def _extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[1].lower() if "." in base.strip(".") else ""


def _unpack(entry: object, index: int) -> tuple[object, object, object]:
    if isinstance(entry, DocumentFile):
        return entry.name, entry.data, entry.media_type
    if isinstance(entry, tuple) and len(entry) in (2, 3):
        return entry[0], entry[1], entry[2] if len(entry) == 3 else None
    raise InvalidRequestError(
        f"files[{index}] must be (name, bytes), (name, bytes, media type) or a DocumentFile, "
        f"not {type(entry).__name__}"
    )


def _supported_list() -> str:
    return ", ".join(SUPPORTED_FORMATS)


def _prepare_one(entry: object, index: int, limits: MediaLimits) -> tuple[str, bytes, str]:
    name, data, media_type = _unpack(entry, index)
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError(f"files[{index}]: the file name must be a non-empty str")
    extension = _extension(name)
    if extension not in SUPPORTED_FORMATS:
        found = f"extension {extension!r}" if extension else "no extension"
        raise InvalidRequestError(
            f"{name!r} has {found}; Markdown conversion takes {_supported_list()}"
        )
    if media_type is not None:
        if not isinstance(media_type, str) or media_type.lower() not in _MEDIA_TYPES:
            raise InvalidRequestError(
                f"{name!r}: media type {media_type!r} is not one Markdown conversion takes; "
                f"leave it out to use {SUPPORTED_FORMATS[extension]!r} (from the extension)"
            )
        media_type = media_type.lower()
    checked = check_media(
        data,
        what=f"file {name!r}",
        max_bytes=limits.document_bytes,
        media_type=media_type or SUPPORTED_FORMATS[extension],
        limit_name="document_bytes",
    )
    return name, checked.data, checked.media_type


def prepare_files(
    files: Sequence[FileInput], *, limits: MediaLimits = DEFAULT_LIMITS
) -> list[tuple[str, bytes, str]]:
    """The files as ``(name, bytes, media type)`` for the request, checked (no I/O).

    Raises:
        InvalidRequestError: No files; a file without a supported extension (the message
            lists them), empty, over ``limits.document_bytes``, not bytes, or with a media
            type the service does not take.
    """
    one = isinstance(files, tuple) and bool(files) and isinstance(files[0], str)
    if one or isinstance(files, (str, bytes, DocumentFile)) or not isinstance(files, Sequence):
        raise InvalidRequestError(
            "files must be a list of (name, bytes) tuples or DocumentFile; for one file pass "
            "[(name, data)]"
        )
    if not files:
        raise InvalidRequestError("files is empty: pass at least one file to convert")
    return [_prepare_one(entry, index, limits) for index, entry in enumerate(files)]


_Leaf = type | tuple[str, ...] | range
_IMAGES: dict[str, _Leaf] = {
    "convert": bool,
    "descriptionLanguage": DESCRIPTION_LANGUAGES,
    "maxConvertedImages": range(0, _MAX_CONVERTED_IMAGES + 1),
}
#: The documented ``conversionOptions`` (spec §4): a nested dict per object, else what a
#: value may be (a type, a choice, a range of whole numbers).
_OPTIONS_SCHEMA: dict[str, Any] = {
    "output": {"format": _OUTPUT_FORMATS},
    "image": {"descriptionLanguage": DESCRIPTION_LANGUAGES},
    "html": {"images": {**_IMAGES, "convertOGImage": bool}, "hostname": str, "cssSelector": str},
    "pdf": {"metadata": bool, "images": _IMAGES},
    "docx": {"images": _IMAGES},
}


def _check_leaf(path: str, value: object, rule: _Leaf) -> None:
    if isinstance(rule, tuple):
        ok = value in rule
        wanted = " | ".join(rule)
    elif isinstance(rule, range):
        ok = isinstance(value, int) and not isinstance(value, bool) and value in rule
        wanted = f"a whole number from {rule.start} to {rule.stop - 1}"
    else:
        ok = isinstance(value, rule)
        wanted = "true or false" if rule is bool else rule.__name__
    if not ok:
        raise InvalidRequestError(f"conversion option {path} = {value!r}: expected {wanted}")


def _check_options(path: str, value: object, schema: Mapping[str, Any]) -> None:
    """Check ``value`` against ``schema``: known keys must hold what the spec says; an
    unknown key close to a known one is a typo (refused), others pass (newer options)."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"conversion option {path or 'options'} must be a mapping")
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        rule = schema.get(key)
        if rule is None:
            close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.75)
            if close:
                raise InvalidRequestError(
                    f"unknown conversion option {where!r}; did you mean {close[0]!r}?"
                )
        elif isinstance(rule, dict):
            _check_options(where, item, rule)
        else:
            _check_leaf(where, item, rule)


def conversion_options(
    output: OutputFormat = "markdown", options: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The ``conversionOptions`` to send (``None``: none), checked (no I/O).

    Args:
        output: ``"markdown"`` (the service's default) or ``"text"`` (``output.format``).
        options: Other ``conversionOptions`` (spec §4: ``image``, ``html``, ``pdf``,
            ``docx``), as the service spells them.

    Raises:
        InvalidRequestError: An unknown output format, a description language other than
            en/es/fr/it/pt/de, a value of the wrong type, ``maxConvertedImages`` over 10, a
            misspelt option, or an ``output.format`` in ``options`` that contradicts
            ``output``.
    """
    if output not in _OUTPUT_FORMATS:
        raise InvalidRequestError(f"output must be 'markdown' or 'text', not {output!r}")
    merged: dict[str, Any] = {k: v for k, v in (options or {}).items()}
    _check_options("", merged, _OPTIONS_SCHEMA)
    given = merged.get("output", {}).get("format")
    if given is not None and given != output:
        raise InvalidRequestError(
            f"options['output']['format'] is {given!r} but output={output!r}: set it once, "
            f"with output={given!r}"
        )
    if output == "text":
        merged["output"] = {**merged.get("output", {}), "format": "text"}
    return merged or None


# --- Answers (pure) --------------------------------------------------------------------------


def _tokens(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():  # one SDK types it as a string
        return int(value)
    return None


def _document(raw: Any, name: str, media_type: str) -> ConvertedDocument:
    if not isinstance(raw, Mapping):
        raise APIResponseValidationError(
            "a Markdown conversion result is not an object", body=repr(raw)[:300]
        )
    error = raw.get("error")
    fmt = raw.get("format")
    if not isinstance(fmt, str):
        fmt = "error" if error is not None else "markdown"
    data = raw.get("data")
    mime = raw.get("mimeType")
    return ConvertedDocument(
        name=name,
        mime_type=mime if isinstance(mime, str) else media_type,
        format=fmt,
        tokens=_tokens(raw.get("tokens")),
        data=data if isinstance(data, str) else "",
        error=(str(error) if error is not None else "no reason given") if fmt == "error" else None,
        id=str(raw["id"]) if raw.get("id") is not None else None,
    )


def _match(results: Sequence[Any], names: Sequence[str]) -> list[Any]:
    """Each file's raw result (``None``: none): by name, files of one name in order; results
    whose name matches no file go to the files left, in order."""
    waiting: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        waiting.setdefault(name, []).append(index)
    matched: list[Any] = [None] * len(names)
    strays: list[Any] = []
    for raw in results:
        given = raw.get("name") if isinstance(raw, Mapping) else None
        queue = waiting.get(given) if isinstance(given, str) else None
        if queue:
            matched[queue.pop(0)] = raw
        else:
            strays.append(raw)
    for index in range(len(names)):
        if matched[index] is None and strays:
            matched[index] = strays.pop(0)
    return matched


def read_conversions(data: Any, files: Sequence[tuple[str, bytes, str]]) -> list[ConvertedDocument]:
    """The answer as one :class:`ConvertedDocument` per file, in the files' order (see the
    module docs for how results are matched to files).

    Raises:
        APIResponseValidationError: The answer is not a list of result objects.
    """
    if not isinstance(data, list):
        raise APIResponseValidationError(
            "the Markdown conversion answer is not a list of results", body=repr(data)[:300]
        )
    matched = _match(data, [name for name, _, _ in files])
    out: list[ConvertedDocument] = []
    for raw, (name, _, media_type) in zip(matched, files, strict=True):
        if raw is None:
            message = "the service returned no result for this file"
            out.append(ConvertedDocument(name, media_type, "error", error=message))
        else:
            out.append(_document(raw, name, media_type))
    return out


def raise_for_failures(results: Sequence[ConvertedDocument]) -> list[ConvertedDocument]:
    """``results`` as a list if every file was converted, else raise.

    Raises:
        APIError: Naming each file that failed and why (``body``: ``[{"name", "error"}]``).
    """
    failed = [doc for doc in results if not doc.ok]
    if failed:
        details = "; ".join(f"{doc.name}: {doc.error}" for doc in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        raise APIError(
            f"{len(failed)} of {len(results)} files were not converted: {details}{more}",
            body=[{"name": doc.name, "error": doc.error} for doc in failed],
        )
    return list(results)


def read_supported(data: Any) -> list[SupportedFormat]:
    """The ``/ai/tomarkdown/supported`` answer as :class:`SupportedFormat` items.

    Raises:
        APIResponseValidationError: Not a list of ``{"extension", "mimeType"}``.
    """
    if not isinstance(data, list):
        raise APIResponseValidationError("the supported formats are not a list", body=data)
    out: list[SupportedFormat] = []
    for item in data:
        ext = item.get("extension") if isinstance(item, Mapping) else None
        mime = item.get("mimeType") if isinstance(item, Mapping) else None
        if not isinstance(ext, str) or not isinstance(mime, str):
            raise APIResponseValidationError(
                "a supported format without extension or mimeType", body=repr(item)[:300]
            )
        out.append(SupportedFormat(ext, mime))
    return out


def _report(files: Sequence[tuple[str, bytes, str]], results: Sequence[ConvertedDocument]) -> None:
    """One usage record for the request (module docs)."""
    if not listening():
        return
    tokens = sum(doc.tokens or 0 for doc in results if doc.ok)
    images = any(media_type.startswith("image/") for _, _, media_type in files)
    usage = Usage(output_tokens=tokens, total_tokens=tokens, cost=None if images else 0.0)
    report_usage(UsageRecord(MARKDOWN_CONVERSION, _KIND, usage))


# --- Senders ---------------------------------------------------------------------------------


def to_markdown(
    client: WorkersAIClient,
    files: Sequence[FileInput],
    *,
    output: OutputFormat = "markdown",
    options: Mapping[str, Any] | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> list[ConvertedDocument]:
    """Convert ``files`` (``(name, bytes)``, ``(name, bytes, media type)`` or
    :class:`DocumentFile`) in one request; one result per file, in the files' order.

    Args:
        client: The client.
        files: The files; the extension of each name picks its format.
        output: ``"markdown"`` or ``"text"``.
        options: Other ``conversionOptions`` (see :func:`conversion_options`).
        limits: ``document_bytes`` caps each file.

    Raises:
        InvalidRequestError: Bad files or options (before any request).
        APIStatusError: The whole request failed (a file that failed is a result instead).
    """
    prepared = prepare_files(files, limits=limits)
    wire_options = conversion_options(output, options)
    results = read_conversions(client.to_markdown(prepared, options=wire_options), prepared)
    _report(prepared, results)
    return results


async def ato_markdown(
    client: AsyncWorkersAIClient,
    files: Sequence[FileInput],
    *,
    output: OutputFormat = "markdown",
    options: Mapping[str, Any] | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> list[ConvertedDocument]:
    """:func:`to_markdown` on the async client."""
    prepared = prepare_files(files, limits=limits)
    wire_options = conversion_options(output, options)
    data = await client.to_markdown(prepared, options=wire_options)
    results = read_conversions(data, prepared)
    _report(prepared, results)
    return results


def supported_formats(client: WorkersAIClient) -> list[SupportedFormat]:
    """The formats the service converts, as it lists them now (``SUPPORTED_FORMATS`` is the
    spec's list, used to check files before sending)."""
    return read_supported(client.to_markdown_supported())


async def asupported_formats(client: AsyncWorkersAIClient) -> list[SupportedFormat]:
    """:func:`supported_formats` on the async client."""
    return read_supported(await client.to_markdown_supported())
