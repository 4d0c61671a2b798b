"""The emulator's Markdown conversion (``toMarkdown``, platform spec §4), pure: no I/O.

``POST /accounts/{a}/ai/tomarkdown`` takes ``multipart/form-data`` (one ``files`` part per file,
an optional ``conversionOptions`` part holding JSON) or, as one Stainless SDK sends it, a single
file as the raw body (``application/octet-stream``; its name from a ``Content-Disposition``
header, else ``file`` with the extension of its type). It answers one result per file, in
input order: ``{"id", "name", "mimeType", "format": "markdown"|"text", "tokens", "data"}``, or
``{"format": "error", "error"}`` for a file that cannot be converted (inside a 200).
``GET .../ai/tomarkdown/supported`` lists the formats.

The conversions are deterministic, labelled stand-ins, not Cloudflare's converters:

* HTML: headings, paragraphs, links, emphasis, lists, code blocks; scripts and styles dropped;
  embedded (``data:``) images described like image files (``html.images``).
* CSV: a Markdown table. XML: the root as a heading and each element with text as a nested
  list item (malformed XML fails).
* PDF: ``# name``, a ``## Metadata`` list (unless ``pdf.metadata`` is false) and ``## Contents``
  with the text of simple PDFs' text operators (``Tj``, ``TJ``, ``'``, ``"``; Flate-compressed
  streams too), or a labelled placeholder when none is found; no ``%PDF-`` header fails.
* Images: a one-sentence description naming the image classification stand-in's top label
  (:func:`workers_ai.emulator.media.classify_image`), tagged ``[fr]``... for another
  ``image.descriptionLanguage``; bytes that are not the image type named fail.
* DOCX and ODT: their paragraphs; spreadsheets (XLSX, XLS, ODS, Numbers...): a labelled
  placeholder once their container is recognised.

``output.format = "text"`` answers the same content with the Markdown syntax removed.
``tokens`` counts the answer's ``data`` with the emulator's token counter.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import re
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

from workers_ai.emulator.media import classify_image
from workers_ai.emulator.responses import Request, Response, json_response
from workers_ai.emulator.standins import count_tokens
from workers_ai.emulator.validation import EmulatorError

__all__ = [
    "ROUTE_KINDS",
    "SUPPORTED",
    "InputFile",
    "answer",
    "convert",
    "parse_multipart",
    "read_request",
    "to_plain_text",
]

#: The route kinds this module answers (:mod:`workers_ai.emulator.routing`).
ROUTE_KINDS = ("tomarkdown", "tomarkdown_supported")

#: ``(extension, media type)`` of each supported format, as spec §4's table lists them (the
#: emulator's own copy, checked against the core's ``SUPPORTED_FORMATS`` by the tests).
SUPPORTED: tuple[tuple[str, str], ...] = (
    (".pdf", "application/pdf"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".png", "image/png"),
    (".webp", "image/webp"),
    (".svg", "image/svg+xml"),
    (".html", "text/html"),
    (".htm", "text/html"),
    (".xml", "application/xml"),
    (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (".xlsm", "application/vnd.ms-excel.sheet.macroenabled.12"),
    (".xlsb", "application/vnd.ms-excel.sheet.binary.macroenabled.12"),
    (".xls", "application/vnd.ms-excel"),
    (".et", "application/vnd.ms-excel"),
    (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (".ods", "application/vnd.oasis.opendocument.spreadsheet"),
    (".odt", "application/vnd.oasis.opendocument.text"),
    (".csv", "text/csv"),
    (".numbers", "application/vnd.apple.numbers"),
)
_BY_EXTENSION = dict(SUPPORTED)
_MEDIA_TYPES = frozenset(_BY_EXTENSION.values())
_EXTENSION_OF = {mime: ext for ext, mime in reversed(SUPPORTED)}
_LANGUAGES = ("en", "es", "fr", "it", "pt", "de")
_MAX_IMAGES = 10
_LABEL = "workers-ai-python emulator stand-in"
_ZIP = b"PK\x03\x04"
#: Most bytes a compressed stream or archive member is inflated to (no decompression bombs).
_MAX_INFLATED = 50_000_000
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class _Unconvertible(Exception):
    """A file the stand-in cannot convert: its ``error`` result."""


@dataclass(frozen=True)
class InputFile:
    """A file of the request.

    Attributes:
        name: Its file name.
        media_type: The supported media type it is converted as, else what it was sent as.
        data: Its bytes.
    """

    name: str
    media_type: str
    data: bytes


# --- Requests ---------------------------------------------------------------------------------


def _bad(detail: str) -> EmulatorError:
    return EmulatorError(400, 5006, f"Bad input: {detail}")


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="files"; filename="a.pdf"`` -> ``("form-data", {...})``."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in re.finditer(r'\s*([\w*-]+)\s*=\s*("((?:\\.|[^"\\])*)"|[^;]*)\s*;?', rest):
        raw = match.group(3) if match.group(3) is not None else match.group(2).strip()
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", raw)
    return head.strip().lower(), params


def _boundary(content_type: str) -> bytes:
    _, params = _header_params(content_type)
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise _bad("malformed multipart/form-data body: no boundary in the Content-Type")
    return boundary.encode("latin-1", "replace")


def parse_multipart(
    body: bytes, content_type: str
) -> list[tuple[dict[str, str], dict[str, str], bytes]]:
    """The parts of a ``multipart/form-data`` body: ``(headers, disposition params, data)``.

    Raises:
        EmulatorError: 400 / 5006 for a body that is not a well-formed form.
    """
    delimiter = b"--" + _boundary(content_type)
    start = body.find(delimiter)
    if start < 0:
        raise _bad("malformed multipart/form-data body: the boundary never occurs")
    chunks = body[start + len(delimiter) :].split(b"\r\n" + delimiter)
    if not chunks[-1].startswith(b"--"):
        raise _bad("malformed multipart/form-data body: no closing boundary")
    parts = []
    for chunk in chunks[:-1]:
        if not chunk.startswith(b"\r\n"):
            raise _bad("malformed multipart/form-data body: a boundary not followed by CRLF")
        head, sep, data = chunk[2:].partition(b"\r\n\r\n")
        if not sep:
            raise _bad("malformed multipart/form-data body: a part without headers")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise _bad(f"malformed multipart/form-data body: header line {line[:40]!r}")
            headers[name.strip().lower()] = value.strip()
        kind, params = _header_params(headers.get("content-disposition", ""))
        if kind != "form-data" or "name" not in params:
            raise _bad("malformed multipart/form-data body: a part without a form-data name")
        parts.append((headers, params, data))
    return parts


def _media_type(name: str, declared: str, data: bytes) -> str:
    """The type a file is converted as: its declared type if supported, else its
    extension's, else its signature's, else what it was declared as."""
    declared = declared.split(";")[0].strip().lower()
    if declared in _MEDIA_TYPES:
        return declared
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]
    sniffed = _sniff(data)
    if sniffed is not None and declared in ("", "application/octet-stream"):
        return sniffed
    return declared or "application/octet-stream"


def _sniff(data: bytes) -> str | None:
    signatures = {
        b"%PDF-": "application/pdf",
        b"\x89PNG": "image/png",
        b"\xff\xd8\xff": "image/jpeg",
    }
    for signature, mime in signatures.items():
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _options(raw: bytes) -> dict[str, Any]:
    try:
        options = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad("conversionOptions is not valid JSON") from exc
    if not isinstance(options, dict):
        raise _bad("conversionOptions must be a JSON object")
    fmt = _get(options, "output", "format")
    if fmt is not None and fmt not in ("markdown", "text"):
        raise _bad(f"conversionOptions.output.format must be 'markdown' or 'text', not {fmt!r}")
    for path in (("image",), ("html", "images"), ("pdf", "images"), ("docx", "images")):
        language = _get(options, *path, "descriptionLanguage")
        if language is not None and language not in _LANGUAGES:
            where = ".".join((*path, "descriptionLanguage"))
            raise _bad(f"conversionOptions.{where} must be one of {', '.join(_LANGUAGES)}")
    return options


def _get(options: Mapping[str, Any], *path: str) -> Any:
    value: Any = options
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def read_request(request: Request) -> tuple[list[InputFile], dict[str, Any]]:
    """The files and ``conversionOptions`` of a conversion request.

    Raises:
        EmulatorError: 400 / 3003 for an empty body, 400 / 5006 for a malformed form, no
            ``files`` part, or bad ``conversionOptions``.
    """
    if not request.body:
        raise EmulatorError(400, 3003, "Request missing headers or body")
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/"):  # one raw file (spec §4 note)
        _, params = _header_params(request.headers.get("content-disposition", ""))
        mime = _media_type(params.get("filename", ""), content_type, request.body)
        name = params.get("filename") or "file" + _EXTENSION_OF.get(mime, "")
        return [InputFile(name, mime, request.body)], {}
    files: list[InputFile] = []
    options: dict[str, Any] = {}
    for headers, params, data in parse_multipart(request.body, content_type):
        if params["name"] == "conversionOptions":
            options = _options(data)
        elif params["name"] == "files":
            name = params.get("filename") or f"file{len(files)}"
            mime = _media_type(name, headers.get("content-type", ""), data)
            files.append(InputFile(name, mime, data))
    if not files:
        raise _bad("no files: send one or more 'files' parts")
    return files, options


# --- Plain text ------------------------------------------------------------------------------

_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^```\w*$", re.M), ""),
    (re.compile(r"^#{1,6}\s+", re.M), ""),
    (re.compile(r"^\|(?:\s*-+\s*\|)+$\n?", re.M), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]*)\]\(([^)]*)\)"), r"\1 (\2)"),
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"(?<!\w)_(.+?)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^\|\s*|\s*\|$", re.M), ""),
    (re.compile(r"\s*\|\s*"), "\t"),
)


def to_plain_text(markdown: str) -> str:
    """``markdown`` without its syntax (headings, emphasis, links, tables, fences)."""
    text = markdown
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return re.sub(r"\n{3,}", "\n\n", text)


# --- HTML ------------------------------------------------------------------------------------

_SKIPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "blockquote", "tr", "table", "header", "footer", "br",
     "main", "nav", "aside", "figure", "form", "dl", "dt", "dd", "hr"}
)  # fmt: skip
_INLINE = {"strong": "**", "b": "**", "em": "_", "i": "_", "code": "`"}


class _HtmlToMarkdown(HTMLParser):
    """Block-by-block HTML -> Markdown (see the module docs for what it knows)."""

    def __init__(self, describe: Callable[[str], str | None]) -> None:
        super().__init__(convert_charrefs=True)
        self.describe = describe
        self.blocks: list[tuple[str, str]] = []  # (kind, text)
        self.line: list[str] = []
        self.prefix = ""
        self.kind = "p"
        self.skip = 0
        self.pre: list[str] | None = None
        self.lists: list[list[Any]] = []  # [tag, next number]
        self.hrefs: list[str | None] = []

    def flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.line)).strip()
        if text:
            self.blocks.append((self.kind, self.prefix + text))
        self.line, self.prefix, self.kind = [], "", "p"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.prefix = "#" * int(tag[1]) + " "
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append([tag, 1])
        elif tag == "li":
            self.flush()
            self._list_item()
        elif tag == "pre":
            self.flush()
            self.pre = []
        elif tag in _BLOCKS:
            self.flush()
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href"))
            self.line.append("[")
        elif tag in _INLINE and self.pre is None:
            self.line.append(_INLINE[tag])
        elif tag == "img":
            self._image(dict(attrs).get("src") or "")

    def _list_item(self) -> None:
        depth = max(len(self.lists), 1)
        marker = "- "
        if self.lists and self.lists[-1][0] == "ol":
            marker = f"{self.lists[-1][1]}. "
            self.lists[-1][1] += 1
        self.prefix, self.kind = "  " * (depth - 1) + marker, "li"

    def _image(self, src: str) -> None:
        description = self.describe(src)
        if description:
            self.flush()
            self.blocks.append(("p", description))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip = max(self.skip - 1, 0)
        elif tag == "pre" and self.pre is not None:
            code = "".join(self.pre).strip("\n")
            self.blocks.append(("pre", f"```\n{code}\n```"))
            self.pre = None
        elif tag in ("ul", "ol"):
            self.flush()
            if self.lists:
                self.lists.pop()
        elif tag == "a":
            href = self.hrefs.pop() if self.hrefs else None
            self.line.append(f"]({href})" if href else "]")
        elif tag in _INLINE and self.pre is None:
            self.line.append(_INLINE[tag])
        elif re.fullmatch(r"h[1-6]", tag) or tag in _BLOCKS or tag == "li":
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre is not None:
            self.pre.append(data)
        else:
            self.line.append(data)

    def markdown(self) -> str:
        self.close()
        self.flush()
        out = ""
        for index, (kind, text) in enumerate(self.blocks):
            if index:
                same_list = kind == "li" and self.blocks[index - 1][0] == "li"
                out += "\n" if same_list else "\n\n"
            out += text
        return out + "\n" if out else ""


def _html(file: InputFile, options: Mapping[str, Any]) -> str:
    settings = _get(options, "html", "images")
    settings = settings if isinstance(settings, Mapping) else {}
    wanted = settings.get("maxConvertedImages", _MAX_IMAGES)
    limit = min(wanted if isinstance(wanted, int) else _MAX_IMAGES, _MAX_IMAGES)
    if settings.get("convert", True) is False:
        limit = 0
    language = settings.get("descriptionLanguage") or _get(options, "image", "descriptionLanguage")
    done: list[int] = []

    def describe(src: str) -> str | None:
        match = re.match(r"data:(image/[\w.+-]+);base64,(.*)", src.strip(), re.S)
        if match is None or len(done) >= limit:
            return None  # only embedded (data:) images are converted (spec §4)
        try:
            image = base64.b64decode(match.group(2), validate=False)
        except (binascii.Error, ValueError):
            return None
        done.append(1)
        return _describe(image, language)

    parser = _HtmlToMarkdown(describe)
    parser.feed(file.data.decode("utf-8", "replace"))
    text = parser.markdown()
    if not text.strip():
        raise _Unconvertible("the HTML document has no text")
    return text


# --- CSV and XML -----------------------------------------------------------------------------


def _csv(file: InputFile, options: Mapping[str, Any]) -> str:
    try:
        rows = [r for r in csv.reader(io.StringIO(_decode(file.data))) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise _Unconvertible(f"unreadable CSV: {exc}") from exc
    if not rows:
        raise _Unconvertible("the CSV file has no rows")
    width = max(len(row) for row in rows)

    def line(row: Sequence[str]) -> str:
        cells = [c.strip().replace("|", "\\|") for c in [*row, *[""] * (width - len(row))]]
        return "| " + " | ".join(cells) + " |"

    table = [line(rows[0]), "| " + " | ".join(["---"] * width) + " |", *map(line, rows[1:])]
    return "\n".join(table) + "\n"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(file: InputFile, options: Mapping[str, Any]) -> str:
    try:
        root = ElementTree.fromstring(file.data)  # noqa: S314 - expat refuses entity bombs
    except ElementTree.ParseError as exc:
        raise _Unconvertible(f"malformed XML: {exc}") from exc
    lines = [f"# {_local(root.tag)}", ""]
    head = " ".join((root.text or "").split())
    if head:
        lines += [head, ""]

    def walk(element: ElementTree.Element, depth: int) -> None:
        for child in element:
            text = " ".join((child.text or "").split())
            lines.append(
                "  " * depth + f"- **{_local(child.tag)}**" + (f": {text}" if text else "")
            )
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines).rstrip() + "\n"


# --- PDF -------------------------------------------------------------------------------------

_PDF_TOKEN = re.compile(
    rb"\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)|<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]()<>]+"
    rb"|[^\s/\[\]()<>]+",
    re.S,
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _pdf_string(token: bytes) -> str:
    if token.startswith(b"<"):
        digits = re.sub(rb"\s", b"", token[1:-1])
        return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()).decode("latin-1")

    def unescape(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8) & 0xFF])
        if escaped in (b"\n", b"\r"):
            return b""
        return _ESCAPES.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", unescape, token[1:-1], flags=re.S).decode("latin-1")


def _pdf_streams(data: bytes) -> Iterator[bytes]:
    for match in re.finditer(rb"(<<(?:(?!>>).)*>>)\s*stream\r?\n(.*?)\r?\nendstream", data, re.S):
        dictionary, raw = match.groups()
        if b"/FlateDecode" in dictionary:
            try:
                raw = zlib.decompressobj().decompress(raw, _MAX_INFLATED)
            except zlib.error:
                continue
        yield raw


def _shown(operands: Sequence[bytes]) -> str:
    """The text of a show operator's operands; in a ``TJ`` array, a kerning of -200 or less
    (thousandths of an em) is read as a space."""
    out: list[str] = []
    for token in operands:
        if token[:1] in (b"(", b"<"):
            out.append(_pdf_string(token))
        elif out and re.fullmatch(rb"[-+]?\d*\.?\d+", token) and float(token) <= -200:
            out.append(" ")
    return "".join(out)


def _pdf_text(data: bytes) -> str:
    """The text shown by the content streams' text operators, a line per ``Td``/``T*``..."""
    out: list[str] = []
    for stream in _pdf_streams(data):
        operands: list[bytes] = []
        for token in _PDF_TOKEN.findall(stream):
            if token[:1] in (b"(", b"<", b"[", b"]", b"/") or re.fullmatch(rb"[-+.\d]+", token):
                operands.append(token)
                continue
            if token in (b"Tj", b"'", b'"', b"TJ"):
                if token in (b"'", b'"'):
                    out.append("\n")
                out.append(_shown(operands))
            elif token in (b"Td", b"TD", b"T*", b"ET", b"Tm"):
                out.append("\n")
            operands = []
    lines = [" ".join(line.split()) for line in "".join(out).split("\n")]
    return "\n".join(line for line in lines if line)


def _pdf(file: InputFile, options: Mapping[str, Any]) -> str:
    data = file.data
    if not data.startswith(b"%PDF-"):
        raise _Unconvertible("not a PDF document (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        raise _Unconvertible("the PDF document is truncated (no %%EOF)")
    parts = [f"# {file.name}", ""]
    if _get(options, "pdf", "metadata") is not False:
        version = data[5:8].decode("latin-1", "replace")
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
        parts += ["## Metadata", f"- PDFFormatVersion={version}", f"- Pages={pages}"]
        title = re.search(rb"/Title\s*(\((?:\\.|[^\\)])*\))", data)
        if title is not None:
            parts.append(f"- Title={_pdf_string(title.group(1))}")
        parts.append("")
    text = _pdf_text(data) or f"[{_LABEL}: no text could be extracted from this PDF]"
    return "\n".join([*parts, "## Contents", "", text]) + "\n"


# --- Images and office files -----------------------------------------------------------------


def _describe(image: bytes, language: object) -> str:
    label = str(classify_image(image)[0]["label"]).lower()
    article = "an" if label[:1] in "aeiou" else "a"
    tag = f"[{language}] " if isinstance(language, str) and language != "en" else ""
    return f"{tag}The image shows {article} {label}. ({_LABEL} description, not a real model)"


def _image(file: InputFile, options: Mapping[str, Any]) -> str:
    data, mime = file.data, file.media_type
    valid = {
        "image/png": data.startswith(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg": data.startswith(b"\xff\xd8\xff"),
        "image/webp": data[:4] == b"RIFF" and data[8:12] == b"WEBP",
        "image/svg+xml": b"<svg" in data[:4096].lower(),
    }
    if not valid.get(mime, False):
        raise _Unconvertible(f"the file is not a readable {mime} image")
    language = _get(options, "image", "descriptionLanguage")
    return f"# {file.name}\n\n{_describe(data, language)}\n"


def _paragraphs(xml: bytes, docx: bool) -> list[str]:
    """DOCX ``w:p`` paragraphs (their ``w:t`` runs), or ODT ``text:p`` / ``text:h``."""
    out: list[str] = []
    for element in ElementTree.fromstring(xml).iter():  # noqa: S314 - as in _xml
        tag = _local(element.tag)
        if docx and tag == "p":
            words = "".join(e.text or "" for e in element.iter() if _local(e.tag) == "t")
        elif not docx and tag in ("p", "h"):
            words = "".join(element.itertext())
        else:
            continue
        words = " ".join(words.split())
        if words:
            out.append(("## " if tag == "h" else "") + words)
    return out


def _office(file: InputFile, options: Mapping[str, Any]) -> str:
    data, mime = file.data, file.media_type
    ole = mime == "application/vnd.ms-excel"
    if not data.startswith(_OLE if ole else _ZIP):
        raise _Unconvertible(f"the file is not a readable {mime} document")
    if mime.endswith("wordprocessingml.document") or mime.endswith("opendocument.text"):
        docx = mime.endswith("wordprocessingml.document")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                member = archive.getinfo("word/document.xml" if docx else "content.xml")
                if member.file_size > _MAX_INFLATED:
                    raise _Unconvertible("the document is too large to convert")
                xml = archive.read(member)
            paragraphs = _paragraphs(xml, docx)
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
            raise _Unconvertible(f"the document cannot be read: {exc}") from exc
        body = "\n\n".join(paragraphs) or f"[{_LABEL}: the document has no text]"
        return f"# {file.name}\n\n{body}\n"
    size = f"{len(data):,} bytes"
    return f"# {file.name}\n\n[{_LABEL}: spreadsheet contents are not read ({size} of {mime})]\n"


# --- Conversion ------------------------------------------------------------------------------


def _converter(mime: str) -> Callable[[InputFile, Mapping[str, Any]], str] | None:
    if mime == "text/html":
        return _html
    if mime == "text/csv":
        return _csv
    if mime == "application/xml":
        return _xml
    if mime == "application/pdf":
        return _pdf
    if mime.startswith("image/"):
        return _image
    return _office if mime in _MEDIA_TYPES else None


def convert(index: int, file: InputFile, options: Mapping[str, Any]) -> dict[str, Any]:
    """One file's result (``format`` ``markdown``/``text``, or ``error``)."""
    digest = hashlib.sha256(f"{index}|{file.name}|".encode() + file.data).digest()
    head = {"id": str(uuid.UUID(bytes=digest[:16])), "name": file.name, "mimeType": file.media_type}
    converter = _converter(file.media_type)
    try:
        if not file.data:
            raise _Unconvertible("the file is empty")
        if converter is None:
            raise _Unconvertible(f"file type not supported: {file.media_type}")
        markdown = converter(file, options)
    except _Unconvertible as exc:
        return {**head, "format": "error", "error": str(exc)}
    except Exception as exc:  # a hostile file (deep nesting...) fails alone, as a result
        error = f"the file could not be converted ({type(exc).__name__})"
        return {**head, "format": "error", "error": error}
    if _get(options, "output", "format") == "text":
        text = to_plain_text(markdown)
        return {**head, "format": "text", "tokens": count_tokens(text), "data": text}
    return {**head, "format": "markdown", "tokens": count_tokens(markdown), "data": markdown}


def answer(kind: str, request: Request) -> Response:
    """The answer of a ``tomarkdown`` route (see :data:`ROUTE_KINDS`).

    Raises:
        EmulatorError: A request the service refuses as a whole (see :func:`read_request`).
    """
    if kind == "tomarkdown_supported":
        return json_response([{"extension": ext, "mimeType": mime} for ext, mime in SUPPORTED])
    files, options = read_request(request)
    return json_response([convert(i, file, options) for i, file in enumerate(files)])
