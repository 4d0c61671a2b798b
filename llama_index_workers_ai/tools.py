"""``WorkersAIToolSpec``: Workers AI's tasks as LlamaIndex tools an agent can call (issue #20).

Translation, transcription, speech synthesis, image classification, object detection, image
description, image generation and summarisation, each a spec function with a typed signature
and a docstring the agent reads; :meth:`~WorkersAIToolSpec.to_tool_list` gives ``FunctionTool``
objects (sync and native async) for ``FunctionAgent`` and ``ReActAgent``. The work is the
core's (:mod:`workers_ai.tasks`): this module turns paths into bytes and results into text.

Input paths are checked before any request (exists, a file, not empty, inside ``input_dir``
when set); output files go to ``output_dir`` under a fresh name: an existing file is never
overwritten.

Example:
    .. code-block:: python

        from llama_index.core.agent.workflow import FunctionAgent
        from llama_index_workers_ai import WorkersAI, WorkersAIToolSpec

        tools = WorkersAIToolSpec(output_dir="out").to_tool_list()
        agent = FunctionAgent(tools=tools, llm=WorkersAI())
        await agent.run("Translate 'good morning' to French and read it aloud.")
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.tools.function_tool import FunctionTool
from llama_index.core.tools.tool_spec.base import SPEC_FUNCTION_TYPE, BaseToolSpec
from llama_index.core.tools.types import ToolMetadata

from llama_index_workers_ai._connection import WorkersAIConnection
from workers_ai.connection import ClientPairOwner
from workers_ai.errors import ConfigurationError, InvalidRequestError
from workers_ai.tasks.files import (
    check_file_name,
    detections_to_text,
    joined_text,
    labels_to_text,
    read_input_file,
    read_media_file,
    slug,
    write_output_file,
)
from workers_ai.tasks.media import DEFAULT_LIMITS, MediaLimits

if TYPE_CHECKING:
    from workers_ai.client import ClientPair
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    ClientPair = Any  # without loading the module behind it

__all__ = ["WorkersAIToolSpec"]

#: Each tool: its sync and async spec functions (one tool, native async).
_TOOLS: dict[str, tuple[str, str]] = {
    name: (name, f"a{name}")
    for name in (
        "translate",
        "transcribe",
        "speak",
        "classify_image",
        "detect_objects",
        "describe_image",
        "generate_image",
        "summarize",
    )
}


def _model_default(module: str, name: str) -> Any:
    """A ``Field`` defaulting to the core's default model of a task (read when built)."""
    import importlib

    return Field(
        default_factory=lambda: getattr(importlib.import_module(f"workers_ai.tasks.{module}"), name)
    )


class WorkersAIToolSpec(WorkersAIConnection, ClientPairOwner, BaseToolSpec):
    """Workers AI's tasks as LlamaIndex tools: translate, transcribe, speak, classify_image,
    detect_objects, describe_image, generate_image and summarize (module docs).

    Each tool takes and returns text an agent can use: file paths in, a transcript, labels,
    a description or the path of a written file out. Inputs are checked before any request;
    a bad path or option raises ``workers_ai.InvalidRequestError`` with a message the agent
    can act on. Every request reports its usage to the core usage hook
    (``llama_index_workers_ai.track_workers_ai_usage``).

    Example:
        .. code-block:: python

            spec = WorkersAIToolSpec(output_dir="generated", input_dir="media")
            tools = spec.to_tool_list(["translate", "generate_image"])  # a subset
    """

    spec_functions: ClassVar[list[SPEC_FUNCTION_TYPE]] = list(_TOOLS.values())  # type: ignore[misc]

    output_dir: Path = Field(default=Path("workers_ai_output"))
    """Where ``speak`` and ``generate_image`` write their files (made on first write)."""
    input_dir: Path | None = Field(default=None)
    """When set, tools read only files inside this folder (relative paths start there)."""
    limits: MediaLimits = Field(default=DEFAULT_LIMITS)
    """Largest audio and image inputs (``workers_ai.tasks.MediaLimits``)."""
    translation_model: str = _model_default("text", "DEFAULT_TRANSLATION_MODEL")
    """Model of ``translate`` (default ``@cf/meta/m2m100-1.2b``)."""
    summarization_model: str = _model_default("text", "DEFAULT_SUMMARIZATION_MODEL")
    """Model of ``summarize`` (default ``@cf/facebook/bart-large-cnn``)."""
    transcription_model: str = _model_default("speech", "DEFAULT_ASR_MODEL")
    """Model of ``transcribe`` (default ``@cf/openai/whisper-large-v3-turbo``)."""
    speech_model: str = _model_default("tts", "DEFAULT_TTS_MODEL")
    """Model of ``speak`` (default ``@cf/myshell-ai/melotts``)."""
    image_classification_model: str = _model_default("vision", "DEFAULT_CLASSIFICATION_MODEL")
    """Model of ``classify_image`` (default ``@cf/microsoft/resnet-50``)."""
    detection_model: str = _model_default("vision", "DEFAULT_DETECTION_MODEL")
    """Model of ``detect_objects`` (default ``@cf/facebook/detr-resnet-50``)."""
    description_model: str = _model_default("vision", "DEFAULT_DESCRIPTION_MODEL")
    """Model of ``describe_image``: llava (default) or a vision chat model."""
    image_model: str = _model_default("vision", "DEFAULT_IMAGE_MODEL")
    """Model of ``generate_image`` (default ``@cf/black-forest-labs/flux-1-schnell``)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send with (left open by :meth:`close`)."""
    async_http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send with (left open by :meth:`aclose`)."""

    _clients: ClientPair = PrivateAttr()

    def _after_init(self) -> None:
        """Check the models' tasks against the catalog and resolve the settings (no I/O)."""
        from workers_ai.tasks.speech import ASR, check_task_model
        from workers_ai.tasks.text import SUMMARIZATION, TRANSLATION
        from workers_ai.tasks.tts import TTS

        for model, task, verb in (
            (self.translation_model, TRANSLATION, "translate"),
            (self.summarization_model, SUMMARIZATION, "summarize"),
            (self.transcription_model, ASR, "transcribe"),
            (self.speech_model, TTS, "speak"),
            (self.image_classification_model, "Image Classification", "classify_image"),
            (self.detection_model, "Object Detection", "detect_objects"),
            (self.image_model, "Text-to-Image", "generate_image"),
        ):
            check_task_model(model, task, verb)
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise ConfigurationError(f"output_dir {self.output_dir} is not a folder")
        self._clients = self._make_clients(
            self._resolve_settings(),
            http_client=self.http_client,
            async_http_client=self.async_http_client,
        )

    def to_tool_list(
        self,
        spec_functions: list[SPEC_FUNCTION_TYPE] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[FunctionTool]:
        """The tools (all, or those named in ``spec_functions``), each with its sync and
        async function: a bare name such as ``"translate"`` selects both."""
        chosen = [
            _TOOLS.get(item, item) if isinstance(item, str) else item
            for item in (spec_functions or self.spec_functions)
        ]
        unknown = [item for item in chosen if isinstance(item, str)]
        if unknown:
            raise ConfigurationError(
                f"no such Workers AI tool: {', '.join(unknown)}; choose from {', '.join(_TOOLS)}"
            )
        tools = super().to_tool_list(chosen, func_to_metadata_mapping)
        for tool in tools:  # the docstring dedented: its indentation is tokens for nothing
            signature, _, doc = tool.metadata.description.partition("\n")
            tool.metadata.description = f"{signature}\n{inspect.cleandoc(doc)}".strip()
        return tools

    # -- helpers --------------------------------------------------------------------------------
    def _input(self, path: str, what: str) -> tuple[bytes, str | None]:
        """The file's bytes, and its media type from its name when its bytes do not tell.
        Images over the limit fail unread; long WAV audio is split by the core."""
        cap = self.limits.image_bytes if what == "image_path" else None
        full = read_input_file(path, what=what, base_dir=self.input_dir, max_bytes=cap)
        return read_media_file(full)

    def _output_stem(self, file_name: str | None, text: str, fallback: str) -> str:
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise InvalidRequestError(f"output_dir {self.output_dir} is not a folder")
        return check_file_name(file_name) or slug(text, fallback)

    def _speech_args(self, language: str | None) -> dict[str, Any]:
        return {"model": self.speech_model, "lang": language}

    # -- the tools ------------------------------------------------------------------------------
    def translate(self, text: str, target_language: str, source_language: str = "en") -> str:
        """Translate text from one language into another.

        Args:
            text (str): The text to translate.
            target_language (str): The language to translate into: a code ('fr') or name ('French').
            source_language (str): The language the text is in (default 'en').
        """
        from workers_ai.tasks.text import translate

        out = translate(
            self._sync_client(), text, target_lang=target_language,
            source_lang=source_language, model=self.translation_model,
        )  # fmt: skip
        return joined_text(out)

    async def atranslate(self, text: str, target_language: str, source_language: str = "en") -> str:
        """Async :meth:`translate`."""
        from workers_ai.tasks.text import atranslate

        out = await atranslate(
            self._async_client(), text, target_lang=target_language,
            source_lang=source_language, model=self.translation_model,
        )  # fmt: skip
        return joined_text(out)

    def transcribe(self, audio_path: str, language: str | None = None) -> str:
        """Transcribe speech in an audio file (WAV, MP3, FLAC, OGG, M4A...) into text.

        Args:
            audio_path (str): Path of the audio file.
            language (str | None): The spoken language ('en', 'French'...); omit to detect it.
        """
        from workers_ai.tasks.speech import transcribe

        audio, kind = self._input(audio_path, "audio_path")
        return transcribe(
            self._sync_client(), audio, model=self.transcription_model, language=language,
            limits=self.limits, media_type=kind,
        ).text  # fmt: skip

    async def atranscribe(self, audio_path: str, language: str | None = None) -> str:
        """Async :meth:`transcribe`."""
        from workers_ai.tasks.speech import atranscribe

        audio, kind = self._input(audio_path, "audio_path")
        result = await atranscribe(
            self._async_client(), audio, model=self.transcription_model, language=language,
            limits=self.limits, media_type=kind,
        )  # fmt: skip
        return result.text

    def speak(self, text: str, language: str | None = None, file_name: str | None = None) -> str:
        """Read text aloud: write it as an audio file and return the file's path.

        Args:
            text (str): What to say.
            language (str | None): Its language ('en', 'fr', 'es'...); omit for English.
            file_name (str | None): A name for the file (no folders); omit to name it from the text.
        """
        from workers_ai.tasks.tts import synthesize

        stem = self._output_stem(file_name, text, "speech")
        media = synthesize(self._sync_client(), text, **self._speech_args(language))
        return str(write_output_file(self.output_dir, stem, media))

    async def aspeak(
        self, text: str, language: str | None = None, file_name: str | None = None
    ) -> str:
        """Async :meth:`speak`."""
        from workers_ai.tasks.tts import asynthesize

        stem = self._output_stem(file_name, text, "speech")
        media = await asynthesize(self._async_client(), text, **self._speech_args(language))
        return str(write_output_file(self.output_dir, stem, media))

    def classify_image(self, image_path: str) -> str:
        """Classify an image: what it shows, as labels with confidence scores, best first.

        Args:
            image_path (str): Path of the image file (PNG, JPEG, GIF, WebP, BMP).
        """
        from workers_ai.tasks.vision import classify_image

        image, kind = self._input(image_path, "image_path")
        labels = classify_image(
            self._sync_client(), image, model=self.image_classification_model,
            limits=self.limits, media_type=kind,
        )  # fmt: skip
        return labels_to_text(labels)

    async def aclassify_image(self, image_path: str) -> str:
        """Async :meth:`classify_image`."""
        from workers_ai.tasks.vision import aclassify_image

        image, kind = self._input(image_path, "image_path")
        labels = await aclassify_image(
            self._async_client(), image, model=self.image_classification_model,
            limits=self.limits, media_type=kind,
        )  # fmt: skip
        return labels_to_text(labels)

    def detect_objects(self, image_path: str) -> str:
        """Find the objects in an image: one line per object with its score and pixel box.

        Args:
            image_path (str): Path of the image file (PNG, JPEG, GIF, WebP, BMP).
        """
        from workers_ai.tasks.vision import detect_objects

        image, kind = self._input(image_path, "image_path")
        found = detect_objects(
            self._sync_client(),
            image,
            model=self.detection_model,
            limits=self.limits,
            media_type=kind,
        )
        return detections_to_text(found)

    async def adetect_objects(self, image_path: str) -> str:
        """Async :meth:`detect_objects`."""
        from workers_ai.tasks.vision import adetect_objects

        image, kind = self._input(image_path, "image_path")
        found = await adetect_objects(
            self._async_client(),
            image,
            model=self.detection_model,
            limits=self.limits,
            media_type=kind,
        )
        return detections_to_text(found)

    def describe_image(self, image_path: str, prompt: str = "Describe this image.") -> str:
        """Describe an image, or answer a question about it.

        Args:
            image_path (str): Path of the image file (PNG, JPEG, GIF, WebP, BMP).
            prompt (str): What to ask about the image (default: a description).
        """
        from workers_ai.tasks.vision import describe_image

        image, kind = self._input(image_path, "image_path")
        return describe_image(
            self._sync_client(), image, prompt=prompt, model=self.description_model,
            limits=self.limits, media_type=kind,
        )  # fmt: skip

    async def adescribe_image(self, image_path: str, prompt: str = "Describe this image.") -> str:
        """Async :meth:`describe_image`."""
        from workers_ai.tasks.vision import adescribe_image

        image, kind = self._input(image_path, "image_path")
        return await adescribe_image(
            self._async_client(), image, prompt=prompt, model=self.description_model,
            limits=self.limits, media_type=kind,
        )  # fmt: skip

    def generate_image(self, prompt: str, file_name: str | None = None) -> str:
        """Draw an image from a text description: write it as a file and return its path.

        Args:
            prompt (str): What the image should show.
            file_name (str | None): A name for the file (no folders); omit to name it by the prompt.
        """
        from workers_ai.tasks.vision import generate_image

        stem = self._output_stem(file_name, prompt, "image")
        media = generate_image(self._sync_client(), prompt, model=self.image_model)
        return str(write_output_file(self.output_dir, stem, media))

    async def agenerate_image(self, prompt: str, file_name: str | None = None) -> str:
        """Async :meth:`generate_image`."""
        from workers_ai.tasks.vision import agenerate_image

        stem = self._output_stem(file_name, prompt, "image")
        media = await agenerate_image(self._async_client(), prompt, model=self.image_model)
        return str(write_output_file(self.output_dir, stem, media))

    def summarize(self, text: str) -> str:
        """Summarise a long English text in a few sentences.

        Args:
            text (str): The text to summarise.
        """
        from workers_ai.tasks.text import summarize

        return summarize(self._sync_client(), text, model=self.summarization_model)

    async def asummarize(self, text: str) -> str:
        """Async :meth:`summarize`."""
        from workers_ai.tasks.text import asummarize

        return await asummarize(self._async_client(), text, model=self.summarization_model)
