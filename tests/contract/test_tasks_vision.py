"""Vision and image generation (issue #20 items 1, 5, 6) against the emulator: image
classification, object detection, image-to-text (llava and a vision chat model) and
text-to-image (FLUX's base64 JPEG, Stable Diffusion's binary PNG), sync and async.

Images are the emulator's own valid PNG/JPEG files (``png_image``/``jpeg_image``); generated
images are decoded here (PNG chunks, CRCs and pixel rows; JPEG markers).
"""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.media import jpeg_image, png_image, synthesize_speech
from workers_ai.errors import APIResponseValidationError, BadRequestError, InvalidRequestError
from workers_ai.tasks import vision
from workers_ai.tasks.media import Media, MediaLimits
from workers_ai.tasks.vision import Box, Detection, Label
from workers_ai.types import ChatResult, MediaPayload
from workers_ai.usage import track_usage

RESNET = "@cf/microsoft/resnet-50"
DETR = "@cf/facebook/detr-resnet-50"
LLAVA = "@cf/llava-hf/llava-1.5-7b-hf"
VISION_CHAT = "@cf/meta/llama-3.2-11b-vision-instruct"
TEXT_ONLY = "@cf/meta/llama-3.1-8b-instruct"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
DREAMSHAPER = "@cf/lykon/dreamshaper-8-lcm"

PNG = png_image(b"cat", 96, 64)
JPEG = jpeg_image(b"dog", 32)


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, emulator: EmulatorServer) -> Callable[..., Any]:
    """``call("classify_image", *args, **kw)``: the task through a fresh sync or async client
    (``a``-prefixed twin) against the emulator."""

    def run(task: str, *args: Any, **kw: Any) -> Any:
        if request.param == "sync":
            with emulator.client(max_retries=0) as client:
                return getattr(vision, task)(client, *args, **kw)

        async def go() -> Any:
            async with emulator.async_client(max_retries=0) as client:
                return await getattr(vision, f"a{task}")(client, *args, **kw)

        return asyncio.run(go())

    return run


def png_size(data: bytes) -> tuple[int, int]:
    """Decode a PNG completely (signature, chunk CRCs, IHDR, inflated RGB rows): its size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, dict[bytes, bytes]()
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack_from(">I", data, position + 8 + length)
        assert zlib.crc32(kind + payload) == crc, kind
        chunks.setdefault(kind, payload)
        position += 12 + length
    width, height, depth, colour = struct.unpack_from(">IIBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    return width, height


def jpeg_size(data: bytes) -> tuple[int, int]:
    """A JPEG's SOI/EOI markers and its SOF0 size."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    sof = data.index(b"\xff\xc0")
    height, width = struct.unpack_from(">HH", data, sof + 5)
    return width, height


# --- Image classification ----------------------------------------------------------------------


@pytest.mark.parametrize(("image", "media_type"), [(PNG, "image/png"), (JPEG, "image/jpeg")])
def test_classify_image_returns_labels_best_first_sending_the_raw_image(
    call: Callable[..., Any], emulator: EmulatorServer, image: bytes, media_type: str
) -> None:
    labels = call("classify_image", image)
    assert labels and all(isinstance(label, Label) for label in labels)
    scores = [label.score for label in labels]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(label.label, str) and 0 <= label.score <= 1 for label in labels)
    sent = emulator.last_request(model=RESNET)
    assert sent.headers["content-type"] == media_type and sent.body_bytes == len(image)


def test_top_k_keeps_the_best_labels(call: Callable[..., Any]) -> None:
    every = call("classify_image", PNG)
    assert call("classify_image", PNG, top_k=2) == every[:2]


def test_a_caller_media_type_is_sent_and_image_jpg_means_jpeg(
    call: Callable[..., Any], emulator: EmulatorServer
) -> None:
    call("classify_image", JPEG, media_type="image/jpg")
    assert emulator.last_request().headers["content-type"] == "image/jpeg"


# --- Object detection --------------------------------------------------------------------------


def test_detect_objects_returns_boxes_inside_the_image(
    call: Callable[..., Any], emulator: EmulatorServer
) -> None:
    found = call("detect_objects", PNG)
    assert found and all(isinstance(d, Detection) and isinstance(d.box, Box) for d in found)
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    for detection in found:
        box = detection.box
        assert 0 <= box.xmin < box.xmax <= 96 and 0 <= box.ymin < box.ymax <= 64
        assert box.width > 0 and box.height > 0
    assert emulator.last_request().body == {"image": list(PNG)}  # spec §8: a u8 list


def test_min_score_keeps_the_confident_objects(call: Callable[..., Any]) -> None:
    every = call("detect_objects", JPEG)
    floor = every[0].score
    assert call("detect_objects", JPEG, min_score=floor) == [d for d in every if d.score >= floor]


# --- Image-to-text -----------------------------------------------------------------------------


def test_llava_describes_an_image_with_its_prompt_and_max_tokens(
    call: Callable[..., Any], emulator: EmulatorServer
) -> None:
    text = call("describe_image", PNG, prompt="What colour is the cat?", max_tokens=64)
    assert isinstance(text, str) and text.startswith("The image shows")
    assert "(96x64)" in text  # the stand-in read the PNG it was sent
    body = emulator.last_request(model=LLAVA).body
    assert body == {"image": list(PNG), "prompt": "What colour is the cat?", "max_tokens": 64}


def test_a_vision_chat_model_gets_the_image_as_a_data_uri_part(
    call: Callable[..., Any], emulator: EmulatorServer
) -> None:
    text = call("describe_image", JPEG, model=VISION_CHAT, max_tokens=50)
    assert isinstance(text, str) and text
    sent = emulator.last_request(model=VISION_CHAT)
    (message,) = sent.messages
    parts = {part["type"]: part for part in message["content"]}
    assert message["role"] == "user" and parts["text"]["text"] == "Describe this image."
    url = parts["image_url"]["image_url"]["url"]
    assert url == "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert sent.body["max_tokens"] == 50


@pytest.mark.parametrize(
    ("model", "why"),
    [(TEXT_ONLY, "takes no images"), (RESNET, "is for Image Classification")],
)
def test_a_model_that_cannot_describe_images_is_refused_naming_those_that_can(
    call: Callable[..., Any], emulator: EmulatorServer, model: str, why: str
) -> None:
    with pytest.raises(InvalidRequestError, match=f"{why}; describe images with") as caught:
        call("describe_image", PNG, model=model)
    assert LLAVA in str(caught.value) and VISION_CHAT in str(caught.value)
    assert emulator.request_count() == 0


# --- Text-to-image -----------------------------------------------------------------------------


def test_flux_answers_a_decodable_jpeg(call: Callable[..., Any], emulator: EmulatorServer) -> None:
    picture = call("generate_image", "a lighthouse at dusk", steps=4)
    assert isinstance(picture, Media) and picture.media_type == "image/jpeg"
    assert jpeg_size(picture.data) == (64, 64)
    assert emulator.last_request(model=FLUX).body == {"prompt": "a lighthouse at dusk", "steps": 4}


@pytest.mark.parametrize("model", [SDXL, DREAMSHAPER])
def test_stable_diffusion_answers_a_binary_png_of_the_asked_size(
    call: Callable[..., Any], emulator: EmulatorServer, model: str
) -> None:
    picture = call(
        "generate_image", "a red fox", model=model, width=320, height=256, steps=10,
        negative_prompt="blur", seed=7, guidance=7.5,
    )  # fmt: skip
    assert isinstance(picture, Media) and picture.media_type == "image/png"
    assert png_size(picture.data) == (320, 256)
    assert emulator.last_request(model=model).body == {
        "prompt": "a red fox", "negative_prompt": "blur", "width": 320, "height": 256,
        "num_steps": 10, "guidance": 7.5, "seed": 7,
    }  # fmt: skip


def test_img2img_sends_the_start_image_and_strength(
    call: Callable[..., Any], emulator: EmulatorServer
) -> None:
    picture = call("generate_image", "as a watercolour", model=SDXL, image=PNG, strength=0.4)
    assert png_size(picture.data) == (512, 512)
    body = emulator.last_request(model=SDXL).body
    assert body["image"] == list(PNG) and body["strength"] == 0.4


def test_the_same_seed_draws_the_same_picture(call: Callable[..., Any]) -> None:
    first = call("generate_image", "a boat", model=SDXL, seed=3)
    assert call("generate_image", "a boat", model=SDXL, seed=3) == first
    assert call("generate_image", "a boat", model=SDXL, seed=4) != first


def test_an_unknown_model_gets_the_stable_diffusion_names_and_nothing_is_refused() -> None:
    request = vision.generate_image_request("x", model="@cf/acme/painter", steps=3, width=64)
    assert request.inputs == {"prompt": "x", "num_steps": 3, "width": 64}


@pytest.mark.parametrize(
    ("model", "kw", "match"),
    [
        (
            FLUX,
            {"width": 512},
            r"does not take width \(FLUX models take prompt, steps\); nothing was sent",
        ),
        (FLUX, {"seed": 1, "guidance": 3.0}, "does not take guidance, seed"),
        (FLUX, {"steps": 9}, r"steps=9 is out of range: it must be from 1 to 8"),
        (FLUX, {"prompt": "x" * 2049}, "2,049 characters, over the model's limit of 2,048"),
        (SDXL, {"steps": 21}, "from 1 to 20"),
        (SDXL, {"width": 128}, r"width=128 is out of range: it must be from 256 to 2048"),
        (SDXL, {"height": 4096}, "from 256 to 2048"),
        (SDXL, {"strength": 1.5}, "strength=1.5 is out of range"),
        (SDXL, {"guidance": float("nan")}, "guidance must be a finite number"),
        (SDXL, {"seed": -1}, "seed=-1"),
        (SDXL, {"negative_prompt": 3}, "negative_prompt must be a str"),
        (SDXL, {"image": b"not an image"}, "image is application/octet-stream"),
        (DREAMSHAPER, {"mask": b""}, "mask is empty"),
        (SDXL, {"prompt": "  "}, "prompt is empty"),
        (RESNET, {}, "is for Image Classification, not Text-to-Image"),
    ],
)
def test_text_to_image_refuses_what_the_model_does_not_take_before_any_request(
    call: Callable[..., Any], emulator: EmulatorServer, model: str, kw: dict[str, Any], match: str
) -> None:
    kw = dict(kw)
    prompt = kw.pop("prompt", "a cat")
    with pytest.raises(InvalidRequestError, match=match):
        call("generate_image", prompt, model=model, **kw)
    assert emulator.request_count() == 0


# --- Bad input, before any request -------------------------------------------------------------

TOO_BIG = MediaLimits(image_bytes=100)


@pytest.mark.parametrize("task", ["classify_image", "detect_objects", "describe_image"])
@pytest.mark.parametrize(
    ("image", "kw", "match"),
    [
        (b"", {}, "image is empty"),
        ("photo.png", {}, "not a str"),
        (None, {}, "image must be bytes, not NoneType"),
        (PNG, {"limits": TOO_BIG}, r"over the limit of 100 \(raise MediaLimits\(image_bytes"),
        (b"%PDF-1.7 ...", {}, "image is application/pdf; this task takes image/bmp"),
        (synthesize_speech("hi"), {}, "image is audio/wav"),
        (PNG, {"media_type": "image/tiff"}, "image is image/tiff"),
        (PNG, {"media_type": 5}, "media_type must be a str"),
        (PNG, {"limits": {"image_bytes": 5}}, "limits must be a MediaLimits"),
        (PNG, {"model": ""}, "model must be a model id"),
    ],
)
def test_a_bad_image_is_refused_before_any_request(
    call: Callable[..., Any],
    emulator: EmulatorServer,
    task: str,
    image: Any,
    kw: dict[str, Any],
    match: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        call(task, image, **kw)
    assert emulator.request_count() == 0


@pytest.mark.parametrize(
    ("task", "kw", "match"),
    [
        ("classify_image", {"top_k": 0}, "top_k=0 is out of range"),
        ("classify_image", {"top_k": 1.5}, "top_k must be a whole number"),
        ("classify_image", {"model": DETR}, "is for Object Detection, not Image Class"),
        ("detect_objects", {"min_score": 1.5}, "min_score=1.5 is out of range"),
        ("detect_objects", {"model": RESNET}, f"use one of: {DETR}"),
        ("describe_image", {"max_tokens": 0}, "max_tokens=0 is out of range"),
        ("describe_image", {"prompt": ""}, "prompt is empty"),
        ("describe_image", {"model": FLUX}, "is for Text-to-Image; describe images with"),
    ],
)
def test_bad_options_are_refused_before_any_request(
    call: Callable[..., Any], emulator: EmulatorServer, task: str, kw: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        call(task, PNG, **kw)
    assert emulator.request_count() == 0


# --- Usage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "args", "kw", "model"),
    [
        ("classify_image", (PNG,), {}, RESNET),
        ("detect_objects", (PNG,), {}, DETR),
        ("describe_image", (PNG,), {}, LLAVA),
        ("describe_image", (PNG,), {"model": VISION_CHAT}, VISION_CHAT),
        ("generate_image", ("a cat",), {}, FLUX),
        ("generate_image", ("a cat",), {"model": SDXL}, SDXL),
    ],
)
def test_each_task_call_reports_its_usage_once(
    call: Callable[..., Any], task: str, args: tuple[Any, ...], kw: dict[str, Any], model: str
) -> None:
    with track_usage() as meter:
        call(task, *args, **kw)
    assert meter.total.calls == 1 and set(meter.snapshot()) == {model}


# --- Readers, on answers the service might send --------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "data"),
    [
        (vision.labels_from_wire, {"label": "CAT", "score": 0.9}),
        (vision.labels_from_wire, [{"label": "CAT"}]),
        (vision.labels_from_wire, [{"label": "CAT", "score": True}]),
        (vision.detections_from_wire, [{"label": "cat", "score": 0.9}]),
        (vision.detections_from_wire, [{"label": "cat", "score": 0.9, "box": {"xmin": 1}}]),
        (vision.detections_from_wire, ["cat"]),
        (vision.description_from_wire, {"response": "a cat"}),
        (vision.image_from_wire, {"image": "not base64!"}),
        (vision.image_from_wire, {"image": ""}),
        (vision.image_from_wire, {"images": []}),
        (vision.image_from_wire, MediaPayload(b"", "image/png")),
    ],
)
def test_a_malformed_answer_is_a_validation_error(reader: Any, data: Any) -> None:
    with pytest.raises(APIResponseValidationError, match="Workers AI answered"):
        reader(data)


def test_readers_take_each_documented_shape() -> None:
    jpeg = base64.b64encode(JPEG).decode()
    assert vision.image_from_wire({"image": jpeg}) == Media(JPEG, "image/jpeg")
    assert vision.image_from_wire({"image": f"data:image/jpeg;base64,{jpeg}"}).data == JPEG
    # sniffed from the bytes first, the Content-Type only when the bytes say nothing
    assert vision.image_from_wire(MediaPayload(PNG, "image/jpg")).media_type == "image/png"
    assert vision.image_from_wire(MediaPayload(b"raw", "image/x-raw")).media_type == "image/x-raw"
    assert vision.description_from_wire(ChatResult(text=" A cat. ")) == "A cat."
    assert vision.description_from_wire({"description": " A dog."}) == "A dog."
    labels = vision.labels_from_wire([{"label": "B", "score": 0.1}, {"label": "A", "score": 1}])
    assert labels == [Label("A", 1.0), Label("B", 0.1)]
    box = {"xmin": 1, "ymin": 2, "xmax": 3.5, "ymax": 4}
    assert vision.detections_from_wire([{"label": "cat", "score": 0.5, "box": box}]) == [
        Detection("cat", 0.5, Box(1.0, 2.0, 3.5, 4.0))
    ]


def test_model_lists_name_the_models_that_can() -> None:
    assert vision.describing_models()[0] == LLAVA and VISION_CHAT in vision.describing_models()
    assert TEXT_ONLY not in vision.describing_models()
    assert {FLUX, SDXL, DREAMSHAPER} <= set(vision.image_models())


# --- The emulator's Stable Diffusion stand-in (issue #20 item 5) --------------------------------


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({}, "/"),
        ({"prompt": ""}, "/prompt"),
        ({"prompt": "x", "width": 255}, "/width"),
        ({"prompt": "x", "height": 2049}, "/height"),
        ({"prompt": "x", "num_steps": 21}, "/num_steps"),
        ({"prompt": "x", "strength": 2}, "/strength"),
        ({"prompt": "x", "guidance": "high"}, "/guidance"),
        ({"prompt": "x", "image": [256]}, "/image/0"),
        ({"prompt": "x", "image_b64": "%%%"}, "image_b64"),
    ],
)
def test_the_emulator_checks_stable_diffusion_inputs_like_the_service(
    emulator: EmulatorServer, inputs: dict[str, Any], path: str
) -> None:
    with emulator.client(max_retries=0) as client, pytest.raises(BadRequestError) as caught:
        client.run(SDXL, inputs)
    assert caught.value.code in (5004, 5006) and path in str(caught.value)


def test_the_emulator_serves_stable_diffusion_as_image_png(emulator: EmulatorServer) -> None:
    with emulator.client() as client:
        answer = client.run_response(DREAMSHAPER, {"prompt": "a cat"})
        schema = client.model_schema(DREAMSHAPER)
    assert isinstance(answer.data, MediaPayload) and answer.data.media_type == "image/png"
    assert png_size(answer.data.data) == (512, 512)
    assert schema["output"] == {"type": "string", "format": "binary"}
    assert schema["input"]["properties"]["num_steps"]["maximum"] == 20
