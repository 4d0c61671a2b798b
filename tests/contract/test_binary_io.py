"""Binary requests and answers (issue #20's groundwork): raw file bodies to ``/ai/run``,
multipart forms, and binary answers as :class:`~workers_ai.types.MediaPayload`."""

from __future__ import annotations

import asyncio

import pytest

from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.media import png_image, synthesize_speech
from workers_ai.envelope import binary_media_type, unwrap_response
from workers_ai.errors import InvalidRequestError
from workers_ai.multipart import MultipartForm
from workers_ai.types import MediaPayload


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_raw_audio_body_is_transcribed(emulator: EmulatorServer, mode: str) -> None:
    wav = synthesize_speech("the quick brown fox")
    if mode == "sync":
        with emulator.client() as client:
            data = client.run_raw("@cf/openai/whisper", wav, content_type="audio/wav").data
    else:

        async def go() -> object:
            async with emulator.async_client() as client:
                answer = await client.run_raw("@cf/openai/whisper", wav, content_type="audio/wav")
                return answer.data

        data = asyncio.run(go())
    assert isinstance(data, dict) and data["text"] == "the quick brown fox"
    sent = emulator.last_request()
    assert sent.headers["content-type"] == "audio/wav" and sent.body_bytes == len(wav)


def test_a_raw_image_body_is_classified(emulator: EmulatorServer) -> None:
    with emulator.client() as client:
        labels = client.run_raw(
            "@cf/microsoft/resnet-50", png_image(b"seed", 32, 32), content_type="image/png"
        ).data
    assert isinstance(labels, list) and {"label", "score"} <= set(labels[0])


@pytest.mark.parametrize("content", [b"", "text", None])
def test_a_raw_body_must_be_bytes_and_not_empty(emulator: EmulatorServer, content: object) -> None:
    with emulator.client() as client, pytest.raises(InvalidRequestError):
        client.run_raw("@cf/openai/whisper", content)  # type: ignore[arg-type]
    assert emulator.request_count() == 0


def test_a_third_party_model_takes_no_raw_body(emulator: EmulatorServer) -> None:
    with emulator.client() as client, pytest.raises(InvalidRequestError, match="no /ai/run"):
        client.run_raw("openai/gpt-4.1", b"abc")


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("image/png", "image/png"),
        ("audio/mpeg; charset=binary", "audio/mpeg"),
        ("application/octet-stream", "application/octet-stream"),
        ("application/json", None),
        ("text/event-stream", None),
        ("", None),
    ],
)
def test_binary_answers_are_told_by_their_content_type(
    content_type: str, binary: str | None
) -> None:
    assert binary_media_type({"content-type": content_type}) == binary


def test_a_binary_answer_is_media_not_a_json_error() -> None:
    png = png_image(b"x", 8, 8)
    payload = unwrap_response(200, {"content-type": "image/png"}, png)
    assert payload == MediaPayload(png, "image/png")
    assert "bytes" in repr(payload) and "\\x89" not in repr(payload)


def test_multipart_forms_carry_files_and_fields_in_order() -> None:
    form = MultipartForm(boundary="b0undary")
    form.add_file("files", "a.html", b"<p>hi</p>", "text/html")
    form.add_file("files", "b.pdf", b"%PDF-1.4", "application/pdf")
    form.add_field("conversionOptions", '{"output": {"format": "text"}}')
    body = form.body
    assert form.content_type == "multipart/form-data; boundary=b0undary"
    assert body.index(b'filename="a.html"') < body.index(b'filename="b.pdf"')
    assert body.endswith(b"--b0undary--\r\n") and body.count(b"--b0undary\r\n") == 3
    with pytest.raises(InvalidRequestError, match="file name"):
        form.add_file("files", 'evil"\r\nname.pdf', b"x", "application/pdf")
