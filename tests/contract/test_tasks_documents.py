"""Markdown conversion (``toMarkdown``, platform spec §4) against the emulator (issue #20).

The core functions run sync and async; the emulator's route is also driven with raw HTTP for
what the core never sends (a raw file body, malformed forms, no credentials).
"""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
import zlib
from typing import Any

import httpx
import pytest

from tests.support.waits import fake_waits
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.media import png_image
from workers_ai.errors import APIError, InvalidRequestError
from workers_ai.tasks import documents
from workers_ai.tasks.documents import (
    SUPPORTED_FORMATS,
    ConvertedDocument,
    DocumentFile,
    raise_for_failures,
    read_conversions,
)
from workers_ai.tasks.media import MediaLimits
from workers_ai.usage import track_usage

both = pytest.mark.parametrize("mode", ["sync", "async"])

HTML = b"""<html><head><title>ignored</title><script>alert(1)</script></head><body>
<h1>Quarterly report</h1><p>Sales were <strong>up</strong>, see <a href="https://x.test/r">the
figures</a>.</p><ul><li>north</li><li>south</li></ul></body></html>"""
CSV = b"region,sales\nnorth,10\nsouth,7\n"


def pdf(text: bytes = b"Hello from a PDF") -> bytes:
    """A minimal one-page PDF whose Flate-compressed content stream shows ``text``."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 712 Td (" + text + b") Tj ET")
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
        b"4 0 obj << /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\n"
        b"stream\n" + stream + b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def docx(*paragraphs: str) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    xml = (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


def convert(emulator: EmulatorServer, mode: str, files: Any, **kwargs: Any) -> Any:
    """``documents.to_markdown`` (or ``ato_markdown`` on the async client)."""
    if mode == "sync":
        with emulator.client(max_retries=0) as client:
            return documents.to_markdown(client, files, **kwargs)

    async def go() -> Any:
        async with emulator.async_client(max_retries=0) as client:
            return await documents.ato_markdown(client, files, **kwargs)

    return asyncio.run(go())


def raw_post(emulator: EmulatorServer, body: bytes, **headers: str) -> httpx.Response:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/tomarkdown"
    auth = {"authorization": f"Bearer {emulator.api_token}"}
    return httpx.post(url, content=body, headers={**auth, **headers})


# --- conversions -----------------------------------------------------------------------------


@both
def test_several_files_convert_in_one_request_in_input_order(
    emulator: EmulatorServer, mode: str
) -> None:
    files = [
        ("report.html", HTML),
        ("bad.pdf", b"this is no pdf"),
        DocumentFile("sales.csv", CSV),
        ("paper.pdf", pdf(), "application/pdf"),
        ("letter.docx", docx("Dear reader,", "Regards.")),
    ]
    results = convert(emulator, mode, files)
    assert emulator.request_count(route="POST /ai/tomarkdown") == 1
    assert all(isinstance(r, ConvertedDocument) for r in results)
    assert [r.name for r in results] == ["report.html", "bad.pdf", "sales.csv", "paper.pdf",
                                         "letter.docx"]  # fmt: skip
    html, bad, table, paper, letter = results
    assert html.ok and html.format == "markdown" and html.mime_type == "text/html"
    assert html.data.startswith("# Quarterly report\n\nSales were **up**, see [the figures]")
    assert "- north\n- south" in html.data and "alert" not in html.data
    assert isinstance(html.tokens, int) and html.tokens > 10
    assert not bad.ok and bad.format == "error" and "PDF" in (bad.error or "") and bad.data == ""
    assert table.data.splitlines()[:2] == ["| region | sales |", "| --- | --- |"]
    assert "## Metadata" in paper.data and "Hello from a PDF" in paper.data
    assert letter.data == "# letter.docx\n\nDear reader,\n\nRegards.\n"


@both
def test_output_text_answers_text_without_markdown(emulator: EmulatorServer, mode: str) -> None:
    (result,) = convert(emulator, mode, [("report.html", HTML)], output="text")
    assert result.format == "text" and result.ok
    assert result.data.startswith("Quarterly report\n\nSales were up, see the figures")
    assert "#" not in result.data and "**" not in result.data
    assert emulator.last_request().body is None  # a form, not JSON


@both
def test_images_are_described_in_the_language_asked(emulator: EmulatorServer, mode: str) -> None:
    image = png_image(b"cat", 16, 16)
    options = {"image": {"descriptionLanguage": "fr"}}
    (result,) = convert(emulator, mode, [("cat.png", image)], options=options)
    assert result.ok and result.mime_type == "image/png"
    assert "[fr] The image shows" in result.data and "stand-in" in result.data
    (corrupt,) = convert(emulator, mode, [("broken.jpg", b"not a jpeg at all")])
    assert corrupt.format == "error" and "image/jpeg" in (corrupt.error or "")


@both
def test_usage_is_one_call_per_request(emulator: EmulatorServer, mode: str) -> None:
    with track_usage() as meter:
        results = convert(emulator, mode, [("a.html", HTML), ("b.csv", CSV)])
        totals = meter.snapshot()[documents.MARKDOWN_CONVERSION]
        assert totals.calls == 1 and totals.output_tokens == sum(r.tokens for r in results)
        assert totals.usd == 0.0 and totals.calls_without_cost == 0  # free without images
        convert(emulator, mode, [("c.png", png_image(b"c", 4, 4))])
        assert meter.snapshot()[documents.MARKDOWN_CONVERSION].calls_without_cost == 1


@both
def test_supported_formats_match_the_spec_table(emulator: EmulatorServer, mode: str) -> None:
    if mode == "sync":
        with emulator.client() as client:
            formats = documents.supported_formats(client)
    else:

        async def go() -> Any:
            async with emulator.async_client() as client:
                return await documents.asupported_formats(client)

        formats = asyncio.run(go())
    assert {f.extension: f.mime_type for f in formats} == dict(SUPPORTED_FORMATS)
    assert emulator.request_count(route="GET /ai/tomarkdown/supported") == 1


def test_embedded_html_images_follow_the_html_image_options(emulator: EmulatorServer) -> None:
    image = base64.b64encode(png_image(b"embedded", 4, 4)).decode()
    page = f'<p>Look:</p><img src="data:image/png;base64,{image}"><img src="https://x.test/a.png">'
    off = {"html": {"images": {"convert": False}}}
    with emulator.client() as client:
        (shown,) = documents.to_markdown(client, [("page.html", page.encode())])
        (hidden,) = documents.to_markdown(client, [("page.html", page.encode())], options=off)
    assert shown.data.count("The image shows") == 1  # only data: images are converted
    assert hidden.data == "Look:\n"


def test_a_hostile_file_fails_alone(emulator: EmulatorServer) -> None:
    deep = b"<a>" * 5000 + b"</a>" * 5000
    files = [("deep.xml", deep), ("ok.csv", CSV), ("fake.docx", b"PK\x03\x04 not a zip")]
    with emulator.client() as client:
        results = documents.to_markdown(client, files)
    assert [r.ok for r in results] == [False, True, False]
    assert emulator.stats()["by_status"] == {"200": 1}


def test_a_failed_whole_request_is_retried_like_any_other(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = fake_waits(monkeypatch)
    emulator.configure(faults=[{"kind": "server_error", "count": 1, "route": "tomarkdown"}])
    with emulator.client(max_retries=1) as client:
        (result,) = documents.to_markdown(client, [("a.csv", CSV)])
    assert result.ok and len(waits.delays) == 1
    assert emulator.stats()["by_status"] == {"500": 1, "200": 1}


# --- bad input, before any request -----------------------------------------------------------


@both
@pytest.mark.parametrize(
    ("files", "kwargs", "message"),
    [
        ([("notes.txt", b"hi")], {}, r"extension '\.txt'; Markdown conversion takes \.pdf, "),
        ([("README", b"hi")], {}, "no extension"),
        ([("a.pdf", b"")], {}, "is empty"),
        ([("a.pdf", "text")], {}, "not a str"),
        ([("a.pdf", b"%PDF-" + b"x" * 20)], {"limits": MediaLimits(document_bytes=10)}, "limit"),
        ([("a.pdf", b"%PDF-", "text/plain")], {}, "media type 'text/plain'"),
        ([], {}, "files is empty"),
        (("a.pdf", b"%PDF-"), {}, "list of"),
        ([("a.pdf", b"x")], {"output": "html"}, "output must be"),
        ([("a.pdf", b"x")], {"options": {"image": {"descriptionLanguage": "ja"}}}, "en | es"),
        (
            [("a.pdf", b"x")],
            {"options": {"pdf": {"images": {"maxConvertedImages": 11}}}},
            "0 to 10",
        ),
        ([("a.pdf", b"x")], {"options": {"imagee": {}}}, "did you mean 'image'"),
        ([("a.pdf", b"x")], {"options": {"output": {"format": "text"}}}, "set it once"),
        ([("a.pdf", b"x")], {"options": {"html": {"hostname": 3}}}, "html.hostname"),
    ],
)
def test_bad_files_and_options_fail_before_any_request(
    emulator: EmulatorServer, mode: str, files: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        convert(emulator, mode, files, **kwargs)
    assert emulator.request_count() == 0


def test_files_may_come_as_any_sequence_but_not_as_one_bare_tuple() -> None:
    prepared = documents.prepare_files((("a.csv", CSV), DocumentFile("b.HTML", HTML)))
    assert [(name, media_type) for name, _, media_type in prepared] == [
        ("a.csv", "text/csv"), ("b.HTML", "text/html")]  # fmt: skip
    with pytest.raises(InvalidRequestError, match=r"\[\(name, data\)\]"):
        documents.prepare_files(("a.csv", CSV))  # type: ignore[arg-type]


def test_options_the_spec_does_not_know_are_passed_on() -> None:
    options = {"html": {"images": {"convert": False}}, "futureOption": {"x": 1}}
    assert documents.conversion_options("text", options) == {
        **options,
        "output": {"format": "text"},
    }
    assert documents.conversion_options() is None


# --- matching results to files (pure) --------------------------------------------------------

FILES = [("a.pdf", b"1", "application/pdf"), ("b.csv", b"2", "text/csv"),
         ("a.pdf", b"3", "application/pdf")]  # fmt: skip


def result(name: str, data: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "mimeType": "x/y", "format": "markdown", "tokens": 1, "data": data,
            **extra}  # fmt: skip


def test_results_are_matched_to_files_by_name_then_position() -> None:
    shuffled = [result("b.csv", "B"), result("a.pdf", "A1"), result("a.pdf", "A2")]
    assert [d.data for d in read_conversions(shuffled, FILES)] == ["A1", "B", "A2"]
    renamed = [result("A.PDF", "1"), result("b.csv", "2"), result("other", "3")]
    assert [(d.name, d.data) for d in read_conversions(renamed, FILES)] == [
        ("a.pdf", "1"), ("b.csv", "2"), ("a.pdf", "3")]  # fmt: skip


def test_a_file_without_a_result_is_an_error_result() -> None:
    docs = read_conversions([result("b.csv", "B", tokens="7")], FILES)
    assert [d.ok for d in docs] == [False, True, False] and docs[1].tokens == 7
    assert docs[0].error == "the service returned no result for this file"


def test_raise_for_failures_names_each_failed_file() -> None:
    docs = [ConvertedDocument("ok.html", "text/html", "markdown", 3, "# ok"),
            ConvertedDocument("bad.pdf", "application/pdf", "error", error="corrupt")]  # fmt: skip
    with pytest.raises(APIError, match=r"1 of 2 files were not converted: bad\.pdf: corrupt"):
        raise_for_failures(docs)
    assert raise_for_failures(docs[:1]) == docs[:1]


# --- the emulator's route, raw -----------------------------------------------------------------


def test_a_raw_file_body_is_one_file(emulator: EmulatorServer) -> None:
    response = raw_post(emulator, pdf(b"raw body"), **{"content-type": "application/octet-stream"})
    assert response.status_code == 200
    (item,) = response.json()["result"]
    assert item["name"] == "file.pdf" and item["mimeType"] == "application/pdf"
    assert "raw body" in item["data"] and item["tokens"] > 0
    named = raw_post(
        emulator,
        CSV,
        **{"content-type": "application/octet-stream",
           "content-disposition": 'attachment; filename="sales.csv"'},
    )  # fmt: skip
    assert named.json()["result"][0]["name"] == "sales.csv"
    assert emulator.stats()["by_route"]["POST /ai/tomarkdown"] == 2


@pytest.mark.parametrize(
    ("body", "content_type", "code", "message"),
    [
        (b"", "multipart/form-data; boundary=x", 3003, "Request missing headers or body"),
        (b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.csv\"\r\n\r\n"
         b"a,b", "multipart/form-data; boundary=x", 5006, "no closing boundary"),
        (b"--x--\r\n", "multipart/form-data", 5006, "no boundary"),
        (b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--x--\r\n",
         "multipart/form-data; boundary=x", 5006, "no files"),
        (b"--x\r\nContent-Disposition: form-data; name=\"conversionOptions\"\r\n\r\n{nope"
         b"\r\n--x--\r\n", "multipart/form-data; boundary=x", 5006, "not valid JSON"),
    ],
)  # fmt: skip
def test_malformed_forms_get_cloudflare_error_envelopes(
    emulator: EmulatorServer, body: bytes, content_type: str, code: int, message: str
) -> None:
    response = raw_post(emulator, body, **{"content-type": content_type})
    assert response.status_code == 400
    envelope = response.json()
    assert envelope["success"] is False and envelope["errors"][0]["code"] == code
    assert message in envelope["errors"][0]["message"]


def test_the_route_is_authenticated_like_the_others(emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/tomarkdown/supported"
    response = httpx.get(url, headers={"authorization": "Bearer wrong"})
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == 10000
    elsewhere = url.replace(emulator.account_id, "0" * 32)
    other = httpx.get(elsewhere, headers={"authorization": f"Bearer {emulator.api_token}"})
    assert other.status_code == 404 and other.json()["errors"][0]["code"] == 7003
