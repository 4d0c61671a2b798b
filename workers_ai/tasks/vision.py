"""Vision and image generation (issue #20): image classification, object detection,
image-to-text and text-to-image, as typed functions.

Each task has a pure builder (``*_request``: checks everything, returns the
:class:`VisionCall` to send), a pure reader (``*_from_wire``) and two senders that only send
and read, ``task(client, ...)`` and ``atask(aclient, ...)``; bad input fails before any
request. Images go in as ``bytes`` (PNG, JPEG, GIF, WebP, BMP; at most
``MediaLimits.image_bytes``) and come out as :class:`~workers_ai.tasks.media.Media`, never
re-encoded. Every call reports its usage to :mod:`workers_ai.usage` through the client.

The models' quirks (spec §8):

* resnet-50 takes the image as the raw request body (the spec allows that or ``{"image":
  [u8, ...]}``, three times larger); detr, llava and models the client does not know get
  ``{"image": [u8, ...]}``.
* Image-to-text: llava's ``{"image", "prompt", "max_tokens"}`` -> ``{"description"}``, or a
  vision chat model (catalog ``vision``) called through the chat path with the image as a
  data-URI part (:func:`workers_ai.prepare.prepare_chat`).
* Text-to-image: FLUX ``{"prompt", "steps"}`` -> ``{"image": <base64 JPEG>}``; Stable
  Diffusion/dreamshaper ``{"prompt", "negative_prompt", "height", "width", "image", "mask",
  "num_steps", "strength", "guidance", "seed"}`` -> binary PNG. A parameter the model does
  not take is refused; an unknown model gets what was given under the Stable Diffusion names,
  and its answer is read by its shape.

Example:
    >>> from workers_ai import WorkersAIClient
    >>> from workers_ai.tasks.vision import classify_image, generate_image
    >>> with WorkersAIClient() as client:  # doctest: +SKIP
    ...     picture = generate_image(client, "a lighthouse at dusk", steps=4)
    ...     labels = classify_image(client, picture.data, top_k=3)
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workers_ai import catalog
from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError, InvalidRequestError
from workers_ai.messages import ContentPart, ImagePart, Message, TextPart
from workers_ai.prepare import PreparedChat, prepare_chat
from workers_ai.tasks.media import (
    DEFAULT_LIMITS,
    Label,
    Media,
    MediaLimits,
    check_media,
    sniff_media_type,
)
from workers_ai.types import ChatResult, MediaPayload

if TYPE_CHECKING:
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
    from workers_ai.settings import TimeoutTypes

# fmt: off
__all__ = [
    "DEFAULT_CLASSIFICATION_MODEL", "DEFAULT_DESCRIPTION_MODEL", "DEFAULT_DESCRIPTION_PROMPT",
    "DEFAULT_DETECTION_MODEL", "DEFAULT_IMAGE_MODEL", "IMAGE_MEDIA_TYPES", "Box", "Detection",
    "Label", "VisionCall", "aclassify_image", "adescribe_image", "adetect_objects",
    "agenerate_image", "classify_image", "classify_image_request", "describe_image",
    "describe_image_request", "describing_models", "description_from_wire", "detect_objects",
    "detect_objects_request", "detections_from_wire", "generate_image", "generate_image_request",
    "image_from_wire", "image_models", "labels_from_wire"
]
# fmt: on

T = TypeVar("T")

DEFAULT_CLASSIFICATION_MODEL = "@cf/microsoft/resnet-50"
DEFAULT_DETECTION_MODEL = "@cf/facebook/detr-resnet-50"
DEFAULT_DESCRIPTION_MODEL = "@cf/llava-hf/llava-1.5-7b-hf"
DEFAULT_IMAGE_MODEL = "@cf/black-forest-labs/flux-1-schnell"
DEFAULT_DESCRIPTION_PROMPT = "Describe this image."

#: The image types the vision tasks take (sniffed from the bytes when not given).
IMAGE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
_MEDIA_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/x-ms-bmp": "image/bmp"}

_IMAGE_CLASSIFICATION = "Image Classification"
_OBJECT_DETECTION = "Object Detection"
_IMAGE_TO_TEXT = "Image-to-Text"
_TEXT_TO_IMAGE = "Text-to-Image"

#: Models that take the image as the raw request body (spec §8); others get ``{"image": [u8]}``.
_RAW_IMAGE_MODELS = frozenset({"@cf/microsoft/resnet-50"})


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A detected object's box, in pixels of the image sent (origin top left).

    Attributes:
        xmin: Left edge.
        ymin: Top edge.
        xmax: Right edge.
        ymax: Bottom edge.
    """

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def width(self) -> float:
        """``xmax - xmin``."""
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        """``ymax - ymin``."""
        return self.ymax - self.ymin


@dataclass(frozen=True)
class Detection:
    """One detected object.

    Attributes:
        label: What it is (``"cat"``).
        score: The model's confidence, 0 to 1.
        box: Where it is.
    """

    label: str
    score: float
    box: Box


@dataclass(frozen=True)
class VisionCall(Generic[T]):
    """One task request, built and checked (no I/O): exactly one of ``inputs``, ``raw`` and
    ``chat`` is what is sent; ``read`` turns the answer into the task's result.

    Attributes:
        model: The model id.
        read: The answer (``run``'s data, or the chat call's
            :class:`~workers_ai.types.ChatResult`) -> the result.
        inputs: A JSON body for ``run``.
        raw: A file sent as the request body (``run_raw``).
        chat: A chat call (vision chat models).
        timeout: The call's HTTP timeout, or ``None`` for the client's.
    """

    model: str
    read: Callable[[Any], T] = field(repr=False)
    inputs: Mapping[str, Any] | None = field(default=None, repr=False)
    raw: Media | None = None
    chat: PreparedChat | None = field(default=None, repr=False)
    timeout: TimeoutTypes = None


# --- Senders (sync and async: they only send and await) ---------------------------------------


def _send(client: WorkersAIClient, call: VisionCall[T]) -> T:
    if call.chat is not None:
        prepared = call.chat
        chat = client.chat(prepared.model, prepared.body, **prepared.call_options())
        return call.read(chat.result)
    if call.raw is not None:
        raw = call.raw
        answer = client.run_raw(
            call.model, raw.data, content_type=raw.media_type, timeout=call.timeout
        )
        return call.read(answer.data)
    return call.read(client.run(call.model, call.inputs or {}, timeout=call.timeout))


async def _asend(client: AsyncWorkersAIClient, call: VisionCall[T]) -> T:
    if call.chat is not None:
        prepared = call.chat
        chat = await client.chat(prepared.model, prepared.body, **prepared.call_options())
        return call.read(chat.result)
    if call.raw is not None:
        raw = call.raw
        answer = await client.run_raw(
            call.model, raw.data, content_type=raw.media_type, timeout=call.timeout
        )
        return call.read(answer.data)
    return call.read(await client.run(call.model, call.inputs or {}, timeout=call.timeout))


def classify_image(
    client: WorkersAIClient,
    image: bytes,
    *,
    model: str = DEFAULT_CLASSIFICATION_MODEL,
    top_k: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> list[Label]:
    """Classify an image: its labels, best first (arguments: :func:`classify_image_request`).

    Raises:
        InvalidRequestError: Bad input, before any request.
        APIError: The request failed (:mod:`workers_ai.errors`).
    """
    call = classify_image_request(
        image, model=model, top_k=top_k, media_type=media_type, limits=limits, timeout=timeout
    )
    return _send(client, call)


async def aclassify_image(
    client: AsyncWorkersAIClient,
    image: bytes,
    *,
    model: str = DEFAULT_CLASSIFICATION_MODEL,
    top_k: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> list[Label]:
    """:func:`classify_image` on the async client."""
    call = classify_image_request(
        image, model=model, top_k=top_k, media_type=media_type, limits=limits, timeout=timeout
    )
    return await _asend(client, call)


def detect_objects(
    client: WorkersAIClient,
    image: bytes,
    *,
    model: str = DEFAULT_DETECTION_MODEL,
    min_score: float | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> list[Detection]:
    """Detect objects: labelled boxes, best first (arguments: :func:`detect_objects_request`).

    Raises:
        InvalidRequestError: Bad input, before any request.
        APIError: The request failed (:mod:`workers_ai.errors`).
    """
    call = detect_objects_request(
        image, model=model, min_score=min_score, media_type=media_type, limits=limits,
        timeout=timeout,
    )  # fmt: skip
    return _send(client, call)


async def adetect_objects(
    client: AsyncWorkersAIClient,
    image: bytes,
    *,
    model: str = DEFAULT_DETECTION_MODEL,
    min_score: float | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> list[Detection]:
    """:func:`detect_objects` on the async client."""
    call = detect_objects_request(
        image, model=model, min_score=min_score, media_type=media_type, limits=limits,
        timeout=timeout,
    )  # fmt: skip
    return await _asend(client, call)


def describe_image(
    client: WorkersAIClient,
    image: bytes,
    *,
    prompt: str = DEFAULT_DESCRIPTION_PROMPT,
    model: str = DEFAULT_DESCRIPTION_MODEL,
    max_tokens: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> str:
    """Describe an image, or answer ``prompt`` about it, with llava or a vision chat model
    (arguments: :func:`describe_image_request`).

    Raises:
        InvalidRequestError: Bad input or a model that takes no images, before any request.
        APIError: The request failed (:mod:`workers_ai.errors`).
    """
    call = describe_image_request(
        image, prompt=prompt, model=model, max_tokens=max_tokens, media_type=media_type,
        limits=limits, timeout=timeout,
    )  # fmt: skip
    return _send(client, call)


async def adescribe_image(
    client: AsyncWorkersAIClient,
    image: bytes,
    *,
    prompt: str = DEFAULT_DESCRIPTION_PROMPT,
    model: str = DEFAULT_DESCRIPTION_MODEL,
    max_tokens: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> str:
    """:func:`describe_image` on the async client."""
    call = describe_image_request(
        image, prompt=prompt, model=model, max_tokens=max_tokens, media_type=media_type,
        limits=limits, timeout=timeout,
    )  # fmt: skip
    return await _asend(client, call)


def generate_image(
    client: WorkersAIClient,
    prompt: str,
    *,
    model: str = DEFAULT_IMAGE_MODEL,
    steps: int | None = None,
    width: int | None = None,
    height: int | None = None,
    negative_prompt: str | None = None,
    seed: int | None = None,
    guidance: float | None = None,
    strength: float | None = None,
    image: bytes | None = None,
    mask: bytes | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> Media:
    """Draw an image from ``prompt``: its bytes and media type (``image/jpeg`` from FLUX,
    ``image/png`` from Stable Diffusion); arguments: :func:`generate_image_request`.

    Raises:
        InvalidRequestError: Bad input or a parameter the model does not take, before any
            request.
        APIError: The request failed (:mod:`workers_ai.errors`).
    """
    call = generate_image_request(
        prompt, model=model, steps=steps, width=width, height=height,
        negative_prompt=negative_prompt, seed=seed, guidance=guidance, strength=strength,
        image=image, mask=mask, limits=limits, timeout=timeout,
    )  # fmt: skip
    return _send(client, call)


async def agenerate_image(
    client: AsyncWorkersAIClient,
    prompt: str,
    *,
    model: str = DEFAULT_IMAGE_MODEL,
    steps: int | None = None,
    width: int | None = None,
    height: int | None = None,
    negative_prompt: str | None = None,
    seed: int | None = None,
    guidance: float | None = None,
    strength: float | None = None,
    image: bytes | None = None,
    mask: bytes | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> Media:
    """:func:`generate_image` on the async client."""
    call = generate_image_request(
        prompt, model=model, steps=steps, width=width, height=height,
        negative_prompt=negative_prompt, seed=seed, guidance=guidance, strength=strength,
        image=image, mask=mask, limits=limits, timeout=timeout,
    )  # fmt: skip
    return await _asend(client, call)


# --- Input checks (pure) -----------------------------------------------------------------------


def _check_model_id(model: object) -> str:
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(f"model must be a model id such as {DEFAULT_IMAGE_MODEL!r}")
    return model


def _models_of(task: str) -> list[str]:
    return [m.id for m in catalog.models(task)]


def _check_task(model: str, task: str, choices: list[str]) -> None:
    """Refuse a model the catalog knows to be of another task (unknown models go through)."""
    info = catalog.get(model)
    if info.known and info.task != task:
        raise InvalidRequestError(
            f"{model} is for {info.task}, not {task}; use one of: {', '.join(choices)}"
        )


def _whole(name: str, value: object, low: int = 1, high: int | None = None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be a whole number, not {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise InvalidRequestError(f"{name}={value} is out of range: it must be {bounds}")
    return value


def _real(
    name: str, value: object, low: float | None = None, high: float | None = None
) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, not {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise InvalidRequestError(f"{name}={value} is out of range: it must be {bounds}")
    return float(value)


def _text(name: str, value: object, max_chars: int | None = None) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise InvalidRequestError(f"{name} is empty")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidRequestError(
            f"{name} is {len(value):,} characters, over the model's limit of {max_chars:,}"
        )
    return value


def _image(
    image: object, media_type: str | None, limits: MediaLimits, what: str = "image"
) -> Media:
    """``image`` checked: bytes, not empty, within ``limits``, of a type the tasks take."""
    if not isinstance(limits, MediaLimits):
        raise InvalidRequestError(f"limits must be a MediaLimits, not {type(limits).__name__}")
    if media_type is not None:
        if not isinstance(media_type, str):
            raise InvalidRequestError("media_type must be a str such as 'image/png'")
        media_type = _MEDIA_TYPE_ALIASES.get(media_type.lower(), media_type)
    return check_media(
        image, what=what, max_bytes=limits.image_bytes, accepted=IMAGE_MEDIA_TYPES,
        media_type=media_type, limit_name="image_bytes",
    )  # fmt: skip


def _image_call(
    model: str, media: Media, read: Callable[[Any], T], timeout: TimeoutTypes
) -> VisionCall[T]:
    if model in _RAW_IMAGE_MODELS:
        return VisionCall(model, read, raw=media, timeout=timeout)
    return VisionCall(model, read, inputs={"image": list(media.data)}, timeout=timeout)


# --- Builders (pure) ---------------------------------------------------------------------------


def classify_image_request(
    image: bytes,
    *,
    model: str = DEFAULT_CLASSIFICATION_MODEL,
    top_k: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> VisionCall[list[Label]]:
    """The image-classification call for ``image``.

    Args:
        image: The image's bytes (read files and URLs first).
        model: An image-classification model.
        top_k: Keep only the best ``top_k`` labels (the model answers its own number).
        media_type: The image's type; sniffed from its bytes when not given.
        limits: The largest image sent (``image_bytes``).
        timeout: This call's HTTP timeout (``None``: the client's).

    Raises:
        InvalidRequestError: Not bytes, empty, too large, not an image type the task takes,
            a bad ``top_k``, or a model of another task.
    """
    model = _check_model_id(model)
    _check_task(model, _IMAGE_CLASSIFICATION, _models_of(_IMAGE_CLASSIFICATION))
    keep = _whole("top_k", top_k)
    media = _image(image, media_type, limits)
    return _image_call(model, media, partial(labels_from_wire, top_k=keep), timeout)


def detect_objects_request(
    image: bytes,
    *,
    model: str = DEFAULT_DETECTION_MODEL,
    min_score: float | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> VisionCall[list[Detection]]:
    """The object-detection call for ``image``.

    Args:
        image: The image's bytes.
        model: An object-detection model.
        min_score: Keep only the objects scored at least this (0 to 1).
        media_type: The image's type; sniffed from its bytes when not given.
        limits: The largest image sent (``image_bytes``).
        timeout: This call's HTTP timeout (``None``: the client's).

    Raises:
        InvalidRequestError: As :func:`classify_image_request`; ``min_score`` outside 0-1.
    """
    model = _check_model_id(model)
    _check_task(model, _OBJECT_DETECTION, _models_of(_OBJECT_DETECTION))
    floor = _real("min_score", min_score, 0.0, 1.0)
    media = _image(image, media_type, limits)
    return _image_call(model, media, partial(detections_from_wire, min_score=floor), timeout)


def describing_models() -> list[str]:
    """The catalog's models that describe images: image-to-text ones, then the vision chat
    models."""
    chat = [m.id for m in catalog.models(catalog.TEXT_GENERATION) if m.vision]
    return [*_models_of(_IMAGE_TO_TEXT), *chat]


def describe_image_request(
    image: bytes,
    *,
    prompt: str = DEFAULT_DESCRIPTION_PROMPT,
    model: str = DEFAULT_DESCRIPTION_MODEL,
    max_tokens: int | None = None,
    media_type: str | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> VisionCall[str]:
    """The image-to-text call for ``image``: llava's own shape for an image-to-text model, a
    chat call with the image for a vision chat model (and a model the catalog does not know).

    Args:
        image: The image's bytes.
        prompt: What to ask about the image.
        model: An image-to-text or vision chat model (:func:`describing_models`).
        max_tokens: Most tokens in the answer (``None``: the model's default).
        media_type: The image's type; sniffed from its bytes when not given.
        limits: The largest image sent (``image_bytes``).
        timeout: This call's HTTP timeout (``None``: the client's).

    Raises:
        InvalidRequestError: As :func:`classify_image_request`; an empty prompt, a bad
            ``max_tokens``, or a model that takes no images (naming those that do).
    """
    model = _check_model_id(model)
    prompt = _text("prompt", prompt)
    tokens = _whole("max_tokens", max_tokens)
    info = catalog.get(model)
    chat_model = info.is_text_generation and info.vision
    if info.known and info.task != _IMAGE_TO_TEXT and not chat_model:
        why = "takes no images" if info.is_text_generation else f"is for {info.task}"
        raise InvalidRequestError(
            f"{model} {why}; describe images with one of: {', '.join(describing_models())}"
        )
    media = _image(image, media_type, limits)
    if info.task == _IMAGE_TO_TEXT:
        inputs: dict[str, Any] = {"image": list(media.data), "prompt": prompt}
        if tokens is not None:
            inputs["max_tokens"] = tokens
        return VisionCall(model, description_from_wire, inputs=inputs, timeout=timeout)
    encoded = base64.b64encode(media.data).decode("ascii")
    content: list[ContentPart] = [
        TextPart(prompt),
        ImagePart(f"data:{media.media_type};base64,{encoded}"),
    ]
    chat = prepare_chat(
        [Message("user", content)],
        {} if timeout is None else {"timeout": timeout},
        model=model,
        params={} if tokens is None else {"max_tokens": tokens},
    )
    return VisionCall(model, description_from_wire, chat=chat, timeout=timeout)


@dataclass(frozen=True)
class _ImageFamily:
    """What a text-to-image family takes (spec §8; bounds from the models' pages): the
    :func:`generate_image_request` keywords, the field ``steps`` is sent as, and the bounds
    checked (``None``: not checked)."""

    name: str
    takes: tuple[str, ...]
    steps_field: str = "num_steps"
    max_steps: int | None = None
    max_prompt: int | None = None
    sides: tuple[int, int] | None = None


_DIFFUSION_KEYWORDS = (
    "prompt", "negative_prompt", "width", "height", "steps", "strength", "guidance", "seed",
    "image", "mask",
)  # fmt: skip
_FLUX = _ImageFamily("FLUX", ("prompt", "steps"), "steps", max_steps=8, max_prompt=2048)
_DIFFUSION = _ImageFamily("Stable Diffusion", _DIFFUSION_KEYWORDS, max_steps=20, sides=(256, 2048))
#: A model this module does not know: §8's Stable Diffusion field names, nothing refused.
_ANY_IMAGE_MODEL = _ImageFamily("unknown", _DIFFUSION_KEYWORDS)
#: The text-to-image models whose parameters are known (the catalog has no such field yet).
_IMAGE_FAMILIES: Mapping[str, _ImageFamily] = {
    "@cf/black-forest-labs/flux-1-schnell": _FLUX,
    "@cf/stabilityai/stable-diffusion-xl-base-1.0": _DIFFUSION,
    "@cf/bytedance/stable-diffusion-xl-lightning": _DIFFUSION,
    "@cf/lykon/dreamshaper-8-lcm": _DIFFUSION,
}


def image_models() -> list[str]:
    """The text-to-image models whose parameters this module knows, and the catalog's."""
    return list(dict.fromkeys([*_IMAGE_FAMILIES, *_models_of(_TEXT_TO_IMAGE)]))


def _diffusion_fields(
    family: _ImageFamily, given: Mapping[str, Any], limits: MediaLimits
) -> dict[str, Any]:
    """The body fields of the checked keywords ``given`` (only those set)."""
    body: dict[str, Any] = {}
    sides = family.sides or (1, None)
    body["prompt"] = _text("prompt", given["prompt"], family.max_prompt)
    if given.get("negative_prompt") is not None:
        body["negative_prompt"] = _text("negative_prompt", given["negative_prompt"])
    for name in ("width", "height"):
        body[name] = _whole(name, given.get(name), sides[0], sides[1])
    body[family.steps_field] = _whole("steps", given.get("steps"), 1, family.max_steps)
    body["strength"] = _real("strength", given.get("strength"), 0.0, 1.0)
    body["guidance"] = _real("guidance", given.get("guidance"))
    body["seed"] = _whole("seed", given.get("seed"), 0)
    for name in ("image", "mask"):
        if given.get(name) is not None:
            body[name] = list(_image(given[name], None, limits, what=name).data)
    return {key: value for key, value in body.items() if value is not None}


def generate_image_request(
    prompt: str,
    *,
    model: str = DEFAULT_IMAGE_MODEL,
    steps: int | None = None,
    width: int | None = None,
    height: int | None = None,
    negative_prompt: str | None = None,
    seed: int | None = None,
    guidance: float | None = None,
    strength: float | None = None,
    image: bytes | None = None,
    mask: bytes | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    timeout: TimeoutTypes = None,
) -> VisionCall[Media]:
    """The text-to-image call for ``prompt``. Only the parameters given are sent.

    Args:
        prompt: What to draw (FLUX: at most 2,048 characters).
        model: A text-to-image model (:func:`image_models`).
        steps: Diffusion steps (FLUX ``steps`` 1-8; Stable Diffusion ``num_steps`` 1-20).
        width: Pixels (Stable Diffusion: 256-2048).
        height: Pixels (Stable Diffusion: 256-2048).
        negative_prompt: What to keep out of the picture (Stable Diffusion).
        seed: For a repeatable picture (Stable Diffusion).
        guidance: How closely to follow the prompt (Stable Diffusion).
        strength: How far to move from ``image``, 0 to 1 (Stable Diffusion img2img).
        image: A starting image's bytes (Stable Diffusion img2img, inpainting).
        mask: The inpainting mask's bytes (Stable Diffusion inpainting).
        limits: The largest ``image``/``mask`` sent (``image_bytes``).
        timeout: This call's HTTP timeout (``None``: the client's).

    Raises:
        InvalidRequestError: An empty or too long prompt, a value out of the model's range, a
            parameter the model does not take (naming those it does), or a model of another
            task.
    """
    model = _check_model_id(model)
    _check_task(model, _TEXT_TO_IMAGE, image_models())
    family = _IMAGE_FAMILIES.get(model, _ANY_IMAGE_MODEL)
    given = {
        "prompt": prompt, "negative_prompt": negative_prompt, "width": width,
        "height": height, "steps": steps, "strength": strength, "guidance": guidance,
        "seed": seed, "image": image, "mask": mask,
    }  # fmt: skip
    refused = [
        name for name, value in given.items() if value is not None and name not in family.takes
    ]
    if refused:
        raise InvalidRequestError(
            f"{model} does not take {', '.join(refused)} ({family.name} models take "
            f"{', '.join(family.takes)}); nothing was sent"
        )
    inputs = _diffusion_fields(family, given, limits)
    return VisionCall(model, image_from_wire, inputs=inputs, timeout=timeout)


# --- Readers (pure) ----------------------------------------------------------------------------


def _malformed(what: str, data: Any) -> APIResponseValidationError:
    excerpt = value_excerpt(data)
    return APIResponseValidationError(f"Workers AI answered {what}: {excerpt}", body=excerpt)


def _score(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def labels_from_wire(data: Any, *, top_k: int | None = None) -> list[Label]:
    """``[{"label", "score"}, ...]`` as :class:`Label` s, best first, the best ``top_k``.

    Raises:
        APIResponseValidationError: The answer is not a list of labels with scores.
    """
    if not isinstance(data, list):
        raise _malformed("an image classification that is not a list", data)
    labels: list[Label] = []
    for item in data:
        score = _score(item.get("score")) if isinstance(item, Mapping) else None
        if score is None or not isinstance(item.get("label"), str):
            raise _malformed("a label without a text label and a numeric score", item)
        labels.append(Label(item["label"], score))
    labels.sort(key=lambda label: -label.score)
    return labels if top_k is None else labels[:top_k]


def _box(value: Any) -> Box | None:
    if not isinstance(value, Mapping):
        return None
    edges = [_score(value.get(name)) for name in ("xmin", "ymin", "xmax", "ymax")]
    if any(edge is None for edge in edges):
        return None
    xmin, ymin, xmax, ymax = (float(edge or 0.0) for edge in edges)
    return Box(xmin, ymin, xmax, ymax)


def detections_from_wire(data: Any, *, min_score: float | None = None) -> list[Detection]:
    """``[{"score", "label", "box": {xmin, ymin, xmax, ymax}}, ...]`` as :class:`Detection` s,
    best first, those scored at least ``min_score``.

    Raises:
        APIResponseValidationError: The answer is not a list of scored, labelled boxes.
    """
    if not isinstance(data, list):
        raise _malformed("an object detection that is not a list", data)
    found: list[Detection] = []
    for item in data:
        if not isinstance(item, Mapping):
            raise _malformed("a detection that is not an object", item)
        score, box = _score(item.get("score")), _box(item.get("box"))
        if score is None or box is None or not isinstance(item.get("label"), str):
            raise _malformed("a detection without a label, a numeric score and a box", item)
        found.append(Detection(item["label"], score, box))
    found.sort(key=lambda detection: -detection.score)
    return found if min_score is None else [d for d in found if d.score >= min_score]


def description_from_wire(data: Any) -> str:
    """llava's ``{"description"}`` or a vision chat model's answer, as text.

    Raises:
        APIResponseValidationError: Neither shape.
    """
    if isinstance(data, ChatResult):
        return data.text.strip()
    if isinstance(data, Mapping) and isinstance(data.get("description"), str):
        return str(data["description"]).strip()
    raise _malformed("an image description without a description", data)


def image_from_wire(data: Any) -> Media:
    """A generated image as :class:`~workers_ai.tasks.media.Media`: a binary answer (Stable
    Diffusion's PNG) or ``{"image": <base64>}`` (FLUX's JPEG). The media type is sniffed from
    the bytes, else the answer's ``Content-Type``.

    Raises:
        APIResponseValidationError: No image, an empty one, or base64 that does not decode.
    """
    if isinstance(data, MediaPayload):
        raw, declared = bytes(data.data), data.media_type
    elif isinstance(data, Mapping) and isinstance(data.get("image"), str):
        text = str(data["image"])
        if text.startswith("data:") and "," in text:
            text = text.split(",", 1)[1]
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _malformed("an image that is not base64", data) from None
        declared = "application/octet-stream"
    else:
        raise _malformed("a text-to-image result without an image", data)
    if not raw:
        raise _malformed("an empty image", data)
    return Media(raw, sniff_media_type(raw) or declared)
