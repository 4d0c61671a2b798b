"""The Workers AI task tools, toolkit and document loaders against the emulator (issue #20,
item 2): what an agent or an app using them would notice.

The emulator's text-to-speech stand-in writes its text into the WAV it returns and the
speech-recognition stand-in reads it back, so speech round trips give the text again.
"""

from __future__ import annotations

import asyncio
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.exceptions import ModelAPIError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAIDescribeImageTool,
    WorkersAIImageClassifyTool,
    WorkersAIImageGenerateTool,
    WorkersAIMarkdownLoader,
    WorkersAIObjectDetectTool,
    WorkersAISpeakTool,
    WorkersAISummarizeTool,
    WorkersAIToolkit,
    WorkersAITranscribeTool,
    WorkersAITranslateTool,
    WorkersAIWhisperLoader,
)
from langchain_workers_ai.errors import InternalServerError
from langchain_workers_ai.tools import TOOL_NAMES
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.emulator.media import png_image, synthesize_speech
from workers_ai.emulator.scripts import Reply, ToolCall
from workers_ai.errors import APIError, ConfigurationError, InvalidRequestError
from workers_ai.tasks.media import MediaLimits
from workers_ai.tasks.wav import parse_wav

MODES = ["sync", "async"]
TURBO = "@cf/openai/whisper-large-v3-turbo"
LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
HTML = b"<html><body><h1>Quarterly report</h1><p>Sales were <b>up</b>.</p></body></html>"


def connection(emulator: EmulatorServer) -> dict[str, Any]:
    return {**emulator.client_kwargs(), "max_retries": 0}


def call(tool: BaseTool, mode: str, args: dict[str, Any]) -> Any:
    """The tool's result for ``args`` (a ``ToolMessage`` when invoked as a tool call)."""
    if mode == "sync":
        return tool.invoke(args)
    return asyncio.run(tool.ainvoke(args))


def as_tool_call(tool: BaseTool, mode: str, args: dict[str, Any]) -> ToolMessage:
    message = call(tool, mode, {"name": tool.name, "args": args, "id": "c1", "type": "tool_call"})
    assert isinstance(message, ToolMessage)
    return message


def load(loader: Any, mode: str) -> list[Document]:
    if mode == "sync":
        return list(loader.lazy_load())

    async def go() -> list[Document]:
        return [doc async for doc in loader.alazy_load()]

    return asyncio.run(go())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "speech": tmp_path / "hello.wav",
        "image": tmp_path / "cat.png",
        "page": tmp_path / "report.html",
        "empty": tmp_path / "empty.png",
        "broken": tmp_path / "broken.jpg",
    }
    made["speech"].write_bytes(synthesize_speech("the quick brown fox"))
    made["image"].write_bytes(png_image(b"cat", 64, 48))
    made["page"].write_bytes(HTML)
    made["empty"].write_bytes(b"")
    made["broken"].write_bytes(b"not a jpeg at all")
    return made


# --- Each tool, sync and async -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_translate_sends_the_language_codes_and_returns_the_text(
    emulator: EmulatorServer, mode: str
) -> None:
    tool = WorkersAITranslateTool(**connection(emulator))
    args = {"text": "Good morning", "target_language": "French", "source_language": "English"}
    assert call(tool, mode, args) == "[fr] Good morning"
    sent = emulator.last_request(model="@cf/meta/m2m100-1.2b").body
    assert sent == {"text": "Good morning", "target_lang": "fr", "source_lang": "en"}


@pytest.mark.parametrize("mode", MODES)
def test_summarize_passes_max_length(emulator: EmulatorServer, mode: str) -> None:
    tool = WorkersAISummarizeTool(**connection(emulator))
    text = "Cloudflare runs models at the edge. " * 30
    summary = call(tool, mode, {"text": text, "max_length": 40})
    assert isinstance(summary, str) and 0 < len(summary) < len(text)
    assert emulator.last_request().body == {"input_text": text, "max_length": 40}


@pytest.mark.parametrize("mode", MODES)
def test_speech_written_to_a_file_transcribes_back(
    emulator: EmulatorServer, mode: str, tmp_path: Path
) -> None:
    speak = WorkersAISpeakTool(**connection(emulator), output_dir=str(tmp_path / "out"))
    first = Path(call(speak, mode, {"text": "hello from the edge", "language": "en"}))
    second = Path(call(speak, mode, {"text": "hello from the edge"}))
    assert first != second and first.parent == second.parent == (tmp_path / "out").resolve()
    assert first.suffix == ".wav" and first.name.startswith("speech-hello-from-the-edge")
    assert parse_wav(first.read_bytes()).duration > 0
    transcribe = WorkersAITranscribeTool(**connection(emulator), model=TURBO)
    assert call(transcribe, mode, {"audio_path": str(first)}) == "hello from the edge"


@pytest.mark.parametrize("mode", MODES)
def test_transcribe_passes_the_language(
    emulator: EmulatorServer, mode: str, files: dict[str, Path]
) -> None:
    tool = WorkersAITranscribeTool(**connection(emulator), model=TURBO)
    args = {"audio_path": str(files["speech"]), "language": "English"}
    assert call(tool, mode, args) == "the quick brown fox"
    assert emulator.last_request(model=TURBO).body["language"] == "en"


@pytest.mark.parametrize("mode", MODES)
def test_image_tools_summarise_labels_boxes_and_descriptions(
    emulator: EmulatorServer, mode: str, files: dict[str, Path]
) -> None:
    image = {"image_path": str(files["image"])}
    labels = call(WorkersAIImageClassifyTool(**connection(emulator), top_k=3), mode, image)
    lines = labels.splitlines()
    assert len(lines) == 3 and all(line.endswith(")") and " (" in line for line in lines)
    scores = [float(line.rsplit(" (", 1)[1].rstrip(")")) for line in lines]
    assert scores == sorted(scores, reverse=True)

    boxes = call(WorkersAIObjectDetectTool(**connection(emulator), min_score=0.0), mode, image)
    assert boxes != "No objects detected." and all(" at x=" in b for b in boxes.split("\n"))

    describe = WorkersAIDescribeImageTool(**connection(emulator))
    answer = call(describe, mode, {**image, "question": "What colour is it?"})
    assert isinstance(answer, str) and "64x48" in answer
    assert emulator.last_request().body["prompt"] == "What colour is it?"
    assert emulator.request_count() == 3


@pytest.mark.parametrize("mode", MODES)
def test_generated_images_get_fresh_files(
    emulator: EmulatorServer, mode: str, tmp_path: Path
) -> None:
    tool = WorkersAIImageGenerateTool(**connection(emulator), output_dir=str(tmp_path))
    paths = {Path(call(tool, mode, {"prompt": "A red fox, in snow!"})) for _ in range(2)}
    assert len(paths) == 2 and {p.parent for p in paths} == {tmp_path.resolve()}
    for path in paths:
        assert path.name.startswith("image-a-red-fox-in-snow") and path.suffix == ".jpg"
        assert path.read_bytes().startswith(b"\xff\xd8\xff")  # FLUX answers JPEG


def test_writing_tools_default_to_a_temporary_directory(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tool = WorkersAIImageGenerateTool(**connection(emulator))
    first, second = (Path(tool.invoke({"prompt": "a boat"})) for _ in range(2))
    assert first.parent == second.parent and first.is_file() and second.is_file()
    assert first.parent.parent == tmp_path and first.parent.name.startswith("workers-ai-")


# --- Bad input: refused before any request, returned to the agent ------------------------------


BAD_PATHS = ["missing", "directory", "empty", "oversized"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("problem", BAD_PATHS)
@pytest.mark.parametrize(
    "cls", [WorkersAIImageClassifyTool, WorkersAIObjectDetectTool, WorkersAIDescribeImageTool]
)
def test_bad_image_paths_are_tool_errors_before_any_request(
    emulator: EmulatorServer,
    files: dict[str, Path],
    tmp_path: Path,
    cls: type[BaseTool],
    problem: str,
    mode: str,
) -> None:
    path, expected = {
        "missing": (tmp_path / "nope.png", "does not exist"),
        "directory": (tmp_path, "is not a file"),
        "empty": (files["empty"], "is empty"),
        "oversized": (files["image"], "over the limit of 100 (raise limits=MediaLimits("),
    }[problem]
    tool = cls(**connection(emulator), limits=MediaLimits(image_bytes=100))
    message = as_tool_call(tool, mode, {"image_path": str(path)})
    assert message.status == "error" and expected in str(message.content)
    assert emulator.request_count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_bad_audio_is_a_tool_error_before_any_request(
    emulator: EmulatorServer, files: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    tool = WorkersAITranscribeTool(**connection(emulator), max_file_bytes=50)
    missing = as_tool_call(tool, mode, {"audio_path": str(tmp_path / "nope.wav")})
    assert missing.status == "error" and "does not exist" in str(missing.content)
    big = as_tool_call(tool, mode, {"audio_path": str(files["speech"])})
    assert "over the limit of 50 (raise max_file_bytes)" in str(big.content)
    not_audio = WorkersAITranscribeTool(**connection(emulator))
    image = as_tool_call(not_audio, mode, {"audio_path": str(files["image"])})
    assert image.status == "error" and "image/png" in str(image.content)
    assert emulator.request_count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_language_is_a_tool_error_before_any_request(
    emulator: EmulatorServer, mode: str
) -> None:
    tool = WorkersAITranslateTool(**connection(emulator))
    message = as_tool_call(tool, mode, {"text": "hi", "target_language": "Klingonese"})
    assert message.status == "error" and "Klingonese" in str(message.content)
    assert emulator.request_count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_service_errors_raise_their_langchain_twins(emulator: EmulatorServer, mode: str) -> None:
    emulator.configure(faults=[FaultSpec(kind="server_error")])
    tool = WorkersAITranslateTool(**connection(emulator))
    with pytest.raises(InternalServerError) as caught:
        call(tool, mode, {"text": "hi", "target_language": "fr"})
    assert isinstance(caught.value, ModelAPIError)


# --- Toolkit -----------------------------------------------------------------------------------


def test_toolkit_gives_every_tool_on_its_connection(emulator: EmulatorServer) -> None:
    toolkit = WorkersAIToolkit(**connection(emulator), gateway_id="gw")
    tools = toolkit.get_tools()
    assert [t.name for t in tools] == list(TOOL_NAMES) and len(set(TOOL_NAMES)) == 8
    for tool in tools:
        assert tool.description and tool.get_input_schema().model_json_schema()["properties"]
        assert tool.account_id == emulator.account_id and tool.gateway_id == "gw"  # type: ignore[attr-defined]
        assert tool._clients is toolkit._clients  # type: ignore[attr-defined]
    toolkit.close()


@pytest.mark.parametrize("mode", MODES)
def test_toolkit_subset_models_and_output_dir(
    emulator: EmulatorServer, tmp_path: Path, mode: str
) -> None:
    sd = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
    toolkit = WorkersAIToolkit(
        **connection(emulator),
        selected_tools=["generate_image", "translate"],
        models={"generate_image": sd},
        output_dir=str(tmp_path),
    )
    draw, translate = toolkit.get_tools()
    assert (draw.name, translate.name) == ("generate_image", "translate")
    path = Path(call(draw, mode, {"prompt": "a lighthouse"}))
    assert path.parent == tmp_path.resolve() and path.suffix == ".png"  # SDXL answers PNG
    assert emulator.request_count(model=sd) == 1
    assert call(translate, mode, {"text": "hi", "target_language": "de"}) == "[de] hi"


def test_toolkit_rejects_an_unknown_tool_name() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'generate_image'"):
        WorkersAIToolkit(account_id="a", api_key="k", selected_tools=["generate_imag"])


# --- An agent picks the tools ------------------------------------------------------------------


def test_an_agent_translates_and_draws(emulator: EmulatorServer, tmp_path: Path) -> None:
    agents = pytest.importorskip("langchain.agents")
    emulator.script(
        Reply(
            tool_calls=[
                ToolCall("translate", {"text": "Good night", "target_language": "French"}),
                ToolCall("generate_image", {"prompt": "a moon over Paris"}),
            ]
        ),
        last_user="translate",
    )
    emulator.script(Reply(text="Bonne nuit -- and here is your moon."))
    toolkit = WorkersAIToolkit(
        **connection(emulator),
        selected_tools=["translate", "generate_image"],
        output_dir=str(tmp_path),
    )
    llm = ChatWorkersAI(model=LLAMA, **connection(emulator))
    agent = agents.create_agent(llm, toolkit.get_tools())
    state = agent.invoke(
        {"messages": [HumanMessage("Translate 'Good night' to French and draw it")]}
    )

    messages = state["messages"]
    results = {m.name: m for m in messages if isinstance(m, ToolMessage)}
    assert results["translate"].content == "[fr] Good night"
    drawn = Path(str(results["generate_image"].content))
    assert drawn.parent == tmp_path.resolve() and drawn.is_file()
    assert isinstance(messages[-1], AIMessage) and messages[-1].content.startswith("Bonne nuit")
    sent_tools = {t.get("function", t)["name"] for t in emulator.requests(model=LLAMA)[0].tools}
    assert sent_tools == {"translate", "generate_image"}


# --- Loaders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_whisper_loader_one_document_per_file_with_segments(
    emulator: EmulatorServer, mode: str, files: dict[str, Path], tmp_path: Path
) -> None:
    other = tmp_path / "other.wav"
    other.write_bytes(synthesize_speech("see you tomorrow"))
    loader = WorkersAIWhisperLoader(
        [files["speech"], str(other)], model=TURBO, **connection(emulator)
    )
    docs = load(loader, mode)
    assert [d.page_content for d in docs] == ["the quick brown fox", "see you tomorrow"]
    assert [d.metadata["source"] for d in docs] == [str(files["speech"]), str(other)]
    first = docs[0].metadata
    assert first["model"] == TURBO and first["language"] == "en" and first["duration"] > 0
    assert first["segments"] and first["segments"][0]["start"] == 0.0
    assert first["segments"][-1]["end"] <= first["duration"]
    assert first["vtt"].startswith("WEBVTT")


def test_whisper_loader_is_lazy_and_takes_one_path(
    emulator: EmulatorServer, files: dict[str, Path]
) -> None:
    loader = WorkersAIWhisperLoader([files["speech"], files["speech"]], **connection(emulator))
    pages = loader.lazy_load()
    assert emulator.request_count() == 0
    next(pages)
    assert emulator.request_count() == 1
    assert len(WorkersAIWhisperLoader(str(files["speech"]), **connection(emulator)).load()) == 1


@pytest.mark.parametrize("mode", MODES)
def test_loaders_check_every_path_before_any_request(
    emulator: EmulatorServer, mode: str, files: dict[str, Path], tmp_path: Path
) -> None:
    whisper = WorkersAIWhisperLoader(
        [files["speech"], tmp_path / "gone.wav"], **connection(emulator)
    )
    with pytest.raises(InvalidRequestError, match=r"gone\.wav.* does not exist"):
        load(whisper, mode)
    markdown = WorkersAIMarkdownLoader([files["page"], files["empty"]], **connection(emulator))
    with pytest.raises(InvalidRequestError, match="is empty"):
        load(markdown, mode)
    unsupported = tmp_path / "notes.rtf"
    unsupported.write_bytes(b"{\\rtf1 hi}")
    with pytest.raises(InvalidRequestError, match=r"'\.rtf'"):
        load(WorkersAIMarkdownLoader([files["page"], unsupported], **connection(emulator)), mode)
    assert emulator.request_count() == 0


@pytest.mark.parametrize("mode", MODES)
def test_markdown_loader_converts_html_and_images(
    emulator: EmulatorServer, mode: str, files: dict[str, Path]
) -> None:
    loader = WorkersAIMarkdownLoader([files["page"], files["image"]], **connection(emulator))
    page, picture = load(loader, mode)
    assert page.page_content.startswith("# Quarterly report\n\nSales were **up**")
    assert page.metadata == {
        "source": str(files["page"]),
        "file_name": "report.html",
        "mime_type": "text/html",
        "format": "markdown",
        "tokens": page.metadata["tokens"],
    }
    assert picture.metadata["mime_type"] == "image/png" and picture.page_content
    assert emulator.request_count() == 1  # one request for the batch


@pytest.mark.parametrize("mode", MODES)
def test_markdown_loader_raises_or_skips_files_that_fail(
    emulator: EmulatorServer, mode: str, files: dict[str, Path]
) -> None:
    paths = [files["page"], files["broken"]]
    with pytest.raises(APIError, match=r"1 of 2 files were not converted: .*broken.jpg"):
        load(WorkersAIMarkdownLoader(paths, **connection(emulator)), mode)
    skipping = WorkersAIMarkdownLoader(paths, on_error="skip", **connection(emulator))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        docs = load(skipping, mode)
    assert [d.metadata["file_name"] for d in docs] == ["report.html"]
    assert any("Skipped" in str(w.message) and "broken.jpg" in str(w.message) for w in caught)


def test_markdown_loader_batches_requests(emulator: EmulatorServer, files: dict[str, Path]) -> None:
    paths = [files["page"]] * 5
    docs = WorkersAIMarkdownLoader(paths, batch_size=2, **connection(emulator)).load()
    assert len(docs) == 5 and emulator.request_count() == 3


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_input_dir_confines_what_the_tools_read(
    emulator: EmulatorServer, mode: str, files: dict[str, Path], tmp_path: Path
) -> None:
    """Whatever a tool reads is sent to Workers AI: with ``input_dir`` an agent cannot make it
    read (and send) a file elsewhere, and relative paths start there."""
    allowed = files["image"].parent
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    outside = elsewhere / "secret.png"
    outside.write_bytes(files["image"].read_bytes())
    toolkit = WorkersAIToolkit(
        **connection(emulator), input_dir=str(allowed), selected_tools=["classify_image"]
    )
    (tool,) = toolkit.get_tools()
    refused = as_tool_call(tool, mode, {"image_path": str(outside)})
    assert refused.status == "error" and "outside the allowed folder" in str(refused.content)
    assert emulator.request_count() == 0
    relative = call(tool, mode, {"image_path": files["image"].name})
    assert relative and emulator.request_count() == 1
