"""Workers AI's other tasks as LangChain tools an agent can call, and a toolkit that makes them.

Each tool is a ``BaseTool`` with a pydantic args schema and a sync ``_run`` and async ``_arun``
that call the core task functions (:mod:`workers_ai.tasks`) on the tool's own connection
(``api_key``, ``account_id``, ``base_url``, AI Gateway options...; the clients are built on
first use). Media goes in as file paths and comes out as files written into ``output_dir``
under fresh names (never overwriting a file), so an agent passes paths, not bytes.

Errors:
    Input an agent can correct (a missing file, a directory, an empty or oversized file, an
    unsupported language, an empty text) raises :class:`~langchain_core.tools.ToolException`
    before any request; the tools set ``handle_tool_error=True``, so the agent gets the message
    back as the tool's result (a ``ToolMessage`` with ``status="error"``) and can try again.
    Service errors (authentication, rate limits, outages) are raised as this package's
    LangChain-compatible twins (:mod:`langchain_workers_ai.errors`): no agent can fix those.
    Arguments that do not fit the args schema raise pydantic's ``ValidationError``, as for
    every LangChain tool (``create_agent`` hands them back to the model).

Example:
    .. code-block:: python

        from langchain_workers_ai.tools import WorkersAIToolkit

        toolkit = WorkersAIToolkit(selected_tools=["translate", "generate_image"],
                                   output_dir="out")
        tools = toolkit.get_tools()
        tools[0].invoke({"text": "Hello", "target_language": "French"})
        tools[1].invoke({"prompt": "a lighthouse at dusk"})  # -> "out/image-a-lighthouse-....jpg"
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool, BaseToolkit, ToolException
from pydantic import AliasChoices, BaseModel, Field, PrivateAttr

from langchain_workers_ai._connection import ClientConnection as _TaskConnection
from langchain_workers_ai.errors import langchain_errors
from workers_ai import tasks
from workers_ai.arguments import suggest
from workers_ai.errors import ConfigurationError, InvalidRequestError
from workers_ai.tasks.files import (
    detections_to_text,
    joined_text,
    labels_to_text,
    slug,
    write_output_file,
)
from workers_ai.tasks.media import DEFAULT_LIMITS, Media, MediaLimits

if TYPE_CHECKING:
    from workers_ai.client import ClientPair
    from workers_ai.settings import WorkersAISettings
else:  # private attributes' annotations: typing.get_type_hints(cls) resolves them (to Any)
    ClientPair = Any
    WorkersAISettings = Any

__all__ = [
    "TOOL_NAMES",
    "WorkersAIDescribeImageTool",
    "WorkersAIImageClassifyTool",
    "WorkersAIImageGenerateTool",
    "WorkersAIObjectDetectTool",
    "WorkersAISpeakTool",
    "WorkersAISummarizeTool",
    "WorkersAIToolkit",
    "WorkersAITranscribeTool",
    "WorkersAITranslateTool",
]

#: The largest audio file a tool or loader reads (WAV longer than ``MediaLimits.audio_bytes``
#: is split into several requests; other formats must fit ``audio_bytes``).
DEFAULT_MAX_AUDIO_FILE_BYTES = 200 * 1024 * 1024


# --- Files in and out: workers_ai.tasks.files (shared with LlamaIndex) ----------------------


def check_input_file(
    path: str | Path,
    *,
    what: str,
    max_bytes: int,
    setting: str,
    input_dir: str | Path | None = None,
) -> Path:
    """``path`` as an existing, non-empty file of at most ``max_bytes`` (``stat`` only; the
    core's check, :func:`workers_ai.tasks.files.read_input_file`), inside ``input_dir`` when
    set (a relative path is taken from there).

    Raises:
        InvalidRequestError: It does not exist, is not a file, is empty, is too large (naming
            ``setting``, the option that raises the limit) or is outside ``input_dir``.
    """
    from workers_ai.tasks.files import read_input_file as checked

    base = Path(input_dir).expanduser() if input_dir is not None else None
    return checked(path, what=what, max_bytes=max_bytes, base_dir=base, setting=setting)


def read_input_file(
    path: str | Path,
    *,
    what: str,
    max_bytes: int,
    setting: str,
    input_dir: str | Path | None = None,
) -> bytes:
    """The bytes of ``path`` once :func:`check_input_file` accepts it (checked again after
    reading, in case the file grew)."""
    file = check_input_file(
        path, what=what, max_bytes=max_bytes, setting=setting, input_dir=input_dir
    )
    data = file.read_bytes()
    if not data or len(data) > max_bytes:
        raise InvalidRequestError(f"{what} file {str(path)!r} changed while it was read")
    return data


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Input errors as ``ToolException`` (the agent sees them); service errors as their
    LangChain twins (raised)."""
    try:
        with langchain_errors():
            yield
    except InvalidRequestError as error:
        raise ToolException(str(error)) from error


def default_model(module: str, constant: str) -> Callable[[], str]:
    """A ``default_factory`` giving ``workers_ai.tasks.<module>.<constant>``, the task's default
    model, loaded at construction (importing this package leaves the task modules unloaded)."""

    def factory() -> str:
        value: str = getattr(importlib.import_module(f"workers_ai.tasks.{module}"), constant)
        return value

    return factory


def _prompt(question: str | None) -> dict[str, Any]:
    """``describe_image``'s ``prompt`` keyword when a question was asked (else its default)."""
    return {} if question is None else {"prompt": question}


# --- The shared base ---------------------------------------------------------------------------


class _TaskTool(_TaskConnection, BaseTool):
    """A Workers AI task as a tool (see the module docs for errors)."""

    handle_tool_error: bool | str | Callable[[ToolException], Any] | None = True
    """Return input errors (``ToolException``) to the agent as the tool's result."""
    model: str = Field(default="", validation_alias=AliasChoices("model", "model_name"))
    """The Workers AI model (alias ``model_name``); each tool has its task's default."""
    limits: MediaLimits = DEFAULT_LIMITS
    """Size limits of the media sent (``workers_ai.tasks.MediaLimits``)."""
    input_dir: str | None = None
    """The only folder input files may be read from (relative paths start there); ``None``:
    any path the agent names. Set it when prompts may be untrusted: whatever a tool reads is
    sent to Workers AI."""


class _WritingTool(_TaskTool):
    output_dir: str | None = None
    """Where files are written (made if missing); ``None``: a new temporary directory, made
    on the first write."""

    _made_dir: Path | None = PrivateAttr(default=None)

    def _output_dir(self) -> Path:
        if self.output_dir is not None:
            return Path(self.output_dir).expanduser()
        if self._made_dir is None:
            self._made_dir = Path(tempfile.mkdtemp(prefix="workers-ai-"))
        return self._made_dir

    def _save(self, stem: str, media: Media) -> str:
        return str(write_output_file(self._output_dir(), stem, media))


# --- Text tools --------------------------------------------------------------------------------


class TranslateInput(BaseModel):
    """Arguments of the ``translate`` tool."""

    text: str = Field(description="The text to translate.")
    """The text to translate."""
    target_language: str = Field(
        description="The language to translate into: a code or English name ('fr', 'French')."
    )
    """The language to translate into: a code or English name ('fr', 'French')."""
    source_language: str = Field(
        default="en", description="The language of the text: a code or English name."
    )
    """The language of the text: a code or English name."""


class WorkersAITranslateTool(_TaskTool):
    """Translate text between languages with Workers AI (m2m100 by default).

    Example:
        .. code-block:: python

            tool = WorkersAITranslateTool()
            tool.invoke({"text": "Good morning", "target_language": "German"})
    """

    name: str = "translate"
    """The name an agent calls the tool by."""
    description: str = (
        "Translate text from one language into another. Use it when the user asks for a "
        "translation or the text must be in another language. Input: the text, the target "
        "language and optionally the source language (codes like 'fr' or English names like "
        "'French'; the source defaults to English). Returns the translated text."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = TranslateInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("text", "DEFAULT_TRANSLATION_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The translation model (alias ``model_name``)."""

    def _run(
        self,
        text: str,
        target_language: str,
        source_language: str = "en",
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            return joined_text(
                tasks.translate(
                    self._sync_client(), text, target_lang=target_language,
                    source_lang=source_language, model=self.model,
                )
            )  # fmt: skip

    async def _arun(
        self,
        text: str,
        target_language: str,
        source_language: str = "en",
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            return joined_text(
                await tasks.atranslate(
                    self._async_client(), text, target_lang=target_language,
                    source_lang=source_language, model=self.model,
                )
            )  # fmt: skip


class SummarizeInput(BaseModel):
    """Arguments of the ``summarize`` tool."""

    text: str = Field(description="The text to summarise.")
    """The text to summarise."""
    max_length: int | None = Field(
        default=None, ge=1, description="The most tokens of the summary (default: the model's)."
    )
    """The most tokens of the summary (default: the model's)."""


class WorkersAISummarizeTool(_TaskTool):
    """Summarise a text with Workers AI (bart-large-cnn by default)."""

    name: str = "summarize"
    """The name an agent calls the tool by."""
    description: str = (
        "Summarise a long text into a short one. Use it when the user wants the gist of an "
        "article, a transcript or a document. Input: the text and optionally the most tokens "
        "of the summary. Returns the summary."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = SummarizeInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("text", "DEFAULT_SUMMARIZATION_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The summarisation model (alias ``model_name``)."""

    def _run(
        self,
        text: str,
        max_length: int | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            return tasks.summarize(
                self._sync_client(), text, max_length=max_length, model=self.model
            )

    async def _arun(
        self,
        text: str,
        max_length: int | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            return await tasks.asummarize(
                self._async_client(), text, max_length=max_length, model=self.model
            )


# --- Speech tools ------------------------------------------------------------------------------


class TranscribeInput(BaseModel):
    """Arguments of the ``transcribe_audio`` tool."""

    audio_path: str = Field(description="Path of the audio file (WAV, MP3, FLAC, OGG, M4A...).")
    """Path of the audio file (WAV, MP3, FLAC, OGG, M4A...)."""
    language: str | None = Field(
        default=None,
        description="The spoken language (code or English name); omit to let the model detect it.",
    )
    """The spoken language (code or English name); omit to let the model detect it."""


class WorkersAITranscribeTool(_TaskTool):
    """Transcribe an audio file with Workers AI (Whisper by default); returns the text.

    Long WAV audio is split into requests of at most ``limits.audio_bytes`` (other formats
    must fit it); files over ``max_file_bytes`` are refused before reading.
    """

    name: str = "transcribe_audio"
    """The name an agent calls the tool by."""
    description: str = (
        "Transcribe speech in an audio file into text. Use it when the user gives a path to a "
        "recording, voice note or call and wants to know what was said. Input: the audio file "
        "path and optionally the spoken language. Returns the transcript."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = TranscribeInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("speech", "DEFAULT_ASR_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The speech-recognition model (alias ``model_name``)."""
    max_file_bytes: int = Field(default=DEFAULT_MAX_AUDIO_FILE_BYTES, ge=1)
    """The largest audio file read."""

    def _audio(self, audio_path: str) -> bytes:
        return read_input_file(
            audio_path, what="audio", max_bytes=self.max_file_bytes, setting="max_file_bytes",
            input_dir=self.input_dir,
        )  # fmt: skip

    def _run(
        self,
        audio_path: str,
        language: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            audio = self._audio(audio_path)
            return tasks.transcribe(
                self._sync_client(), audio, model=self.model, language=language,
                limits=self.limits,
            ).text  # fmt: skip

    async def _arun(
        self,
        audio_path: str,
        language: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            audio = await asyncio.to_thread(self._audio, audio_path)
            result = await tasks.atranscribe(
                self._async_client(), audio, model=self.model, language=language,
                limits=self.limits,
            )  # fmt: skip
            return result.text


class SpeakInput(BaseModel):
    """Arguments of the ``text_to_speech`` tool."""

    text: str = Field(description="What to say.")
    """What to say."""
    language: str | None = Field(
        default=None, description="The language of the text (ISO 639-1 code, e.g. 'en', 'fr')."
    )
    """The language of the text (ISO 639-1 code, e.g. 'en', 'fr')."""


class WorkersAISpeakTool(_WritingTool):
    """Speak a text with Workers AI (MeloTTS by default): writes an audio file into
    ``output_dir`` and returns its path."""

    name: str = "text_to_speech"
    """The name an agent calls the tool by."""
    description: str = (
        "Read a text aloud: synthesise speech and save it as an audio file. Use it when the "
        "user wants to hear something or asks for an audio version. Input: the text and "
        "optionally its language code. Returns the path of the audio file written."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = SpeakInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("tts", "DEFAULT_TTS_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The text-to-speech model (alias ``model_name``)."""

    def _run(
        self,
        text: str,
        language: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            media = tasks.synthesize(self._sync_client(), text, model=self.model, lang=language)
            return self._save("speech-" + slug(text, "audio"), media)

    async def _arun(
        self,
        text: str,
        language: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            media = await tasks.asynthesize(
                self._async_client(), text, model=self.model, lang=language
            )
            stem = "speech-" + slug(text, "audio")
            return await asyncio.to_thread(self._save, stem, media)


# --- Vision tools ------------------------------------------------------------------------------


class ImageInput(BaseModel):
    """Arguments of the image tools."""

    image_path: str = Field(description="Path of the image file (PNG, JPEG, GIF, WebP, BMP).")
    """Path of the image file (PNG, JPEG, GIF, WebP, BMP)."""


class DescribeImageInput(ImageInput):
    """Arguments of the ``describe_image`` tool."""

    question: str | None = Field(
        default=None,
        description="What to ask about the image; omit it for a general description.",
    )
    """What to ask about the image; omit it for a general description."""


class _ImageTool(_TaskTool):
    def _image(self, image_path: str) -> bytes:
        return read_input_file(
            image_path,
            what="image",
            max_bytes=self.limits.image_bytes,
            setting="limits=MediaLimits(image_bytes=...)",
            input_dir=self.input_dir,
        )


class WorkersAIImageClassifyTool(_ImageTool):
    """Classify an image with Workers AI (resnet-50 by default): its top labels and scores."""

    name: str = "classify_image"
    """The name an agent calls the tool by."""
    description: str = (
        "Classify what an image shows into ImageNet categories. Use it for a quick answer to "
        "'what is in this picture' by category. Input: the image file path. Returns the top "
        "labels with confidence scores (0 to 1), one per line."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = ImageInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("vision", "DEFAULT_CLASSIFICATION_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The image classification model (alias ``model_name``)."""
    top_k: int | None = Field(default=5, ge=1)
    """Labels returned (``None``: all the model gives)."""

    def _run(self, image_path: str, run_manager: CallbackManagerForToolRun | None = None) -> str:
        with _tool_errors():
            image = self._image(image_path)
            return labels_to_text(
                tasks.classify_image(
                    self._sync_client(), image, model=self.model, top_k=self.top_k,
                    limits=self.limits,
                )
            )  # fmt: skip

    async def _arun(
        self, image_path: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> str:
        with _tool_errors():
            image = await asyncio.to_thread(self._image, image_path)
            return labels_to_text(
                await tasks.aclassify_image(
                    self._async_client(), image, model=self.model, top_k=self.top_k,
                    limits=self.limits,
                )
            )  # fmt: skip


class WorkersAIObjectDetectTool(_ImageTool):
    """Detect objects in an image with Workers AI (DETR by default): labels, scores, boxes."""

    name: str = "detect_objects"
    """The name an agent calls the tool by."""
    description: str = (
        "Find and locate objects in an image. Use it when the user asks what objects a "
        "picture contains, how many, or where they are. Input: the image file path. Returns "
        "one line per object: label, confidence (0 to 1) and its box in pixels."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = ImageInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("vision", "DEFAULT_DETECTION_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The object detection model (alias ``model_name``)."""
    min_score: float | None = Field(default=0.5, ge=0, le=1)
    """Objects below this confidence are left out (``None``: all)."""

    def _run(self, image_path: str, run_manager: CallbackManagerForToolRun | None = None) -> str:
        with _tool_errors():
            image = self._image(image_path)
            return detections_to_text(
                tasks.detect_objects(
                    self._sync_client(), image, model=self.model, min_score=self.min_score,
                    limits=self.limits,
                )
            )  # fmt: skip

    async def _arun(
        self, image_path: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> str:
        with _tool_errors():
            image = await asyncio.to_thread(self._image, image_path)
            return detections_to_text(
                await tasks.adetect_objects(
                    self._async_client(), image, model=self.model, min_score=self.min_score,
                    limits=self.limits,
                )
            )  # fmt: skip


class WorkersAIDescribeImageTool(_ImageTool):
    """Describe an image, or answer a question about it, with Workers AI (LLaVA by default,
    or a vision chat model)."""

    name: str = "describe_image"
    """The name an agent calls the tool by."""
    description: str = (
        "Describe an image in words or answer a question about it. Use it when the user wants "
        "to know what a picture shows in detail, or asks something about its content. Input: "
        "the image file path and optionally a question. Returns the answer as text."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = DescribeImageInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("vision", "DEFAULT_DESCRIPTION_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The image-to-text or vision chat model (alias ``model_name``)."""
    max_tokens: int | None = Field(default=None, ge=1)
    """The most tokens of the answer (``None``: the model's default)."""

    def _run(
        self,
        image_path: str,
        question: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            image = self._image(image_path)
            return tasks.describe_image(
                self._sync_client(), image, model=self.model, **_prompt(question),
                max_tokens=self.max_tokens, limits=self.limits,
            )  # fmt: skip

    async def _arun(
        self,
        image_path: str,
        question: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> str:
        with _tool_errors():
            image = await asyncio.to_thread(self._image, image_path)
            return await tasks.adescribe_image(
                self._async_client(), image, model=self.model, **_prompt(question),
                max_tokens=self.max_tokens, limits=self.limits,
            )  # fmt: skip


class GenerateImageInput(BaseModel):
    """Arguments of the ``generate_image`` tool."""

    prompt: str = Field(description="A description of the image to draw.")
    """A description of the image to draw."""


class WorkersAIImageGenerateTool(_WritingTool):
    """Draw an image from a prompt with Workers AI (FLUX.1 schnell by default): writes it into
    ``output_dir`` (JPEG or PNG, as the model returns it) and returns its path."""

    name: str = "generate_image"
    """The name an agent calls the tool by."""
    description: str = (
        "Draw a new image from a text description. Use it when the user asks to draw, "
        "illustrate, picture or generate an image. Input: a detailed description of the "
        "image. Returns the path of the image file written."
    )
    """What the tool does, as the agent reads it."""
    args_schema: type[BaseModel] = GenerateImageInput
    """The arguments an agent gives (checked before the tool runs)."""
    model: str = Field(
        default_factory=default_model("vision", "DEFAULT_IMAGE_MODEL"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """The text-to-image model (alias ``model_name``)."""
    steps: int | None = Field(default=None, ge=1)
    """Diffusion steps (``None``: the model's default; FLUX takes at most 8)."""

    def _run(self, prompt: str, run_manager: CallbackManagerForToolRun | None = None) -> str:
        with _tool_errors():
            media = tasks.generate_image(
                self._sync_client(), prompt, model=self.model, steps=self.steps,
                limits=self.limits,
            )  # fmt: skip
            return self._save("image-" + slug(prompt, "picture"), media)

    async def _arun(
        self, prompt: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> str:
        with _tool_errors():
            media = await tasks.agenerate_image(
                self._async_client(), prompt, model=self.model, steps=self.steps,
                limits=self.limits,
            )  # fmt: skip
            stem = "image-" + slug(prompt, "picture")
            return await asyncio.to_thread(self._save, stem, media)


# --- Toolkit -----------------------------------------------------------------------------------

_TOOL_CLASSES: tuple[type[_TaskTool], ...] = (
    WorkersAITranslateTool,
    WorkersAISummarizeTool,
    WorkersAITranscribeTool,
    WorkersAISpeakTool,
    WorkersAIImageClassifyTool,
    WorkersAIObjectDetectTool,
    WorkersAIDescribeImageTool,
    WorkersAIImageGenerateTool,
)


def _default_name(cls: type[_TaskTool]) -> str:
    name: str = cls.model_fields["name"].default
    return name


#: Tool name -> class, in the toolkit's order.
_TOOLS_BY_NAME: dict[str, type[_TaskTool]] = {_default_name(c): c for c in _TOOL_CLASSES}
#: The names ``WorkersAIToolkit(selected_tools=...)`` takes.
TOOL_NAMES: tuple[str, ...] = tuple(_TOOLS_BY_NAME)


class WorkersAIToolkit(_TaskConnection, BaseToolkit):
    """The Workers AI task tools on one connection: translate, summarize, transcribe_audio,
    text_to_speech, classify_image, detect_objects, describe_image, generate_image.

    The tools share the toolkit's clients (one connection pool); ``close()`` closes it.

    Example:
        .. code-block:: python

            from langchain.agents import create_agent

            toolkit = WorkersAIToolkit(selected_tools=["translate", "generate_image"],
                                       output_dir="out")
            agent = create_agent(ChatWorkersAI(model=...), toolkit.get_tools())
    """

    selected_tools: list[str] | None = None
    """The tools to make, by name (:data:`TOOL_NAMES`); ``None``: all of them."""
    output_dir: str | None = None
    """Where the file-writing tools write (``None``: a temporary directory per tool)."""
    input_dir: str | None = None
    """The only folder the file-reading tools may read from (``None``: any path)."""
    limits: MediaLimits = DEFAULT_LIMITS
    """Size limits given to every tool."""
    models: dict[str, str] = Field(default_factory=dict)
    """Tool name -> model, for tools that should not use their task's default model."""

    def _after_init(self) -> None:
        for name in (*(self.selected_tools or ()), *self.models):
            if name not in _TOOLS_BY_NAME:
                close = suggest(name, TOOL_NAMES)
                hint = f"; did you mean {close!r}?" if close else ""
                raise ConfigurationError(
                    f"No Workers AI tool named {name!r}{hint} (tools: {', '.join(TOOL_NAMES)})"
                )
        super()._after_init()

    def get_tools(self) -> list[BaseTool]:
        """The selected tools, in :data:`TOOL_NAMES` order when none are selected, else in
        the order named; they share this toolkit's connection and clients."""
        names = self.selected_tools if self.selected_tools is not None else TOOL_NAMES
        shared = self._connection_kwargs()
        tools: list[BaseTool] = []
        for name in dict.fromkeys(names):
            cls = _TOOLS_BY_NAME[name]
            kwargs: dict[str, Any] = {**shared, "limits": self.limits, "input_dir": self.input_dir}
            if name in self.models:
                kwargs["model"] = self.models[name]
            if issubclass(cls, _WritingTool) and self.output_dir is not None:
                kwargs["output_dir"] = self.output_dir
            tool = cls(**kwargs)
            tool._clients = self._clients  # one pool for the toolkit
            tools.append(tool)
        return tools
