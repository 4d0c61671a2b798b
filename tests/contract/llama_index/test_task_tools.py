"""``WorkersAIToolSpec`` and the readers against the emulator (issue #20, LlamaIndex).

Every tool runs through LlamaIndex's ``FunctionTool`` (``call`` and ``acall``), so what an
agent gets is what is tested; agents run with the model's tool choices scripted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.tools import BaseTool, FunctionTool

from llama_index_workers_ai import (
    WorkersAI,
    WorkersAIMarkdownReader,
    WorkersAIToolSpec,
    WorkersAIWhisperReader,
    track_workers_ai_usage,
)
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.media import png_image, synthesize_speech
from workers_ai.emulator.scripts import Reply, ToolCall
from workers_ai.errors import APIError, ConfigurationError, InvalidRequestError
from workers_ai.tasks.media import MediaLimits

pytestmark = pytest.mark.usefixtures("workers_ai_emulator_env")

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
TOOL_NAMES = [
    "translate",
    "transcribe",
    "speak",
    "classify_image",
    "detect_objects",
    "describe_image",
    "generate_image",
    "summarize",
]
ARTICLE = (
    "Cloudflare runs machine learning models on its global network. Developers call them "
    "from Workers or over a REST API, and pay per neuron. The catalog covers text "
    "generation, embeddings, speech recognition, translation and image generation."
)
HTML = b"<html><body><h1>Quarterly report</h1><p>Sales were <b>up</b>.</p></body></html>"
CSV = b"region,sales\nnorth,10\nsouth,7\n"


@pytest.fixture
def emulator(workers_ai_emulator_env: EmulatorServer) -> EmulatorServer:
    return workers_ai_emulator_env


@pytest.fixture
def spec(tmp_path: Path) -> WorkersAIToolSpec:
    return WorkersAIToolSpec(output_dir=tmp_path / "out", max_retries=0)


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    """An audio file that the ASR stand-in transcribes back to its text, and a PNG."""
    folder = tmp_path / "in"
    folder.mkdir()
    audio = folder / "hello.wav"
    audio.write_bytes(synthesize_speech("hello from the edge"))
    image = folder / "square.png"
    image.write_bytes(png_image(b"a square", 64, 48))
    return {"audio": audio, "image": image, "dir": folder}


def tools_by_name(spec: WorkersAIToolSpec) -> dict[str, FunctionTool]:
    return {tool.metadata.name or "": tool for tool in spec.to_tool_list()}


def call(mode: str, tool: FunctionTool, **kwargs: Any) -> str:
    """The tool's output text, through ``call`` or ``acall``."""
    output = tool.call(**kwargs) if mode == "sync" else asyncio.run(tool.acall(**kwargs))
    assert not output.is_error, output.content
    return output.content


def agent_tools(spec: WorkersAIToolSpec) -> list[BaseTool | Callable[..., Any]]:
    return list(spec.to_tool_list())  # what the agents' constructors are typed to take


both = pytest.mark.parametrize("mode", ["sync", "async"])


# --- The tool list -----------------------------------------------------------------------------


def _reads_docstring_arguments() -> bool:
    """Whether this LlamaIndex puts a function's documented arguments in its tool schema."""

    def probe(text: str) -> str:
        """Probe.

        Args:
            text: Documented.
        """
        return text

    schema = FunctionTool.from_defaults(fn=probe).metadata.get_parameters_dict()
    return bool(schema["properties"]["text"].get("description"))


def test_tool_list_names_descriptions_and_schemas(spec: WorkersAIToolSpec) -> None:
    tools = spec.to_tool_list()
    assert [t.metadata.name for t in tools] == TOOL_NAMES
    schemas = {t.metadata.name: t.metadata.get_parameters_dict() for t in tools}
    required = {name: schema.get("required", []) for name, schema in schemas.items()}
    assert required == {
        "translate": ["text", "target_language"],
        "transcribe": ["audio_path"],
        "speak": ["text"],
        "classify_image": ["image_path"],
        "detect_objects": ["image_path"],
        "describe_image": ["image_path"],
        "generate_image": ["prompt"],
        "summarize": ["text"],
    }
    translate = schemas["translate"]["properties"]
    assert translate["source_language"]["default"] == "en"
    # argument descriptions come from the docstring where LlamaIndex reads them (newer releases;
    # its floors put none in the schema)
    documented = _reads_docstring_arguments()
    if documented:
        assert "'French'" in translate["target_language"]["description"]
    for tool in tools:
        description = tool.metadata.description
        assert description.startswith(f"{tool.metadata.name}(")  # the signature, then the doc
        assert "self" not in description.split("\n")[0]
        assert "\n        " not in description  # the docstring dedented: no wasted tokens
        for name, prop in schemas[tool.metadata.name]["properties"].items():
            assert prop.get("description") or not documented, f"{tool.metadata.name}.{name}"
        # native async: the spec's coroutine method, not a sync function in a thread
        assert tool.async_fn.__name__ == f"a{tool.metadata.name}"
        assert asyncio.iscoroutinefunction(tool.async_fn)


def test_a_subset_of_tools_by_name(spec: WorkersAIToolSpec) -> None:
    tools = spec.to_tool_list(["translate", "generate_image"])
    assert [t.metadata.name for t in tools] == ["translate", "generate_image"]
    assert tools[0].async_fn.__name__ == "atranslate"
    with pytest.raises(ConfigurationError, match="no such Workers AI tool: draw"):
        spec.to_tool_list(["draw"])


def test_construction_checks_models_and_output_dir(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="translate takes"):
        WorkersAIToolSpec(translation_model="@cf/openai/whisper")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="not a folder"):
        WorkersAIToolSpec(output_dir=blocker)
    spec = WorkersAIToolSpec(api_key="secret-token-value", output_dir=tmp_path)
    assert "secret-token-value" not in repr(spec)


# --- Every tool, sync and async ----------------------------------------------------------------


@both
def test_translate(mode: str, spec: WorkersAIToolSpec, emulator: EmulatorServer) -> None:
    out = call(
        mode, tools_by_name(spec)["translate"], text="Good morning", target_language="French"
    )
    assert out and out != "Good morning"
    sent = emulator.last_request(model="@cf/meta/m2m100-1.2b")
    assert sent.body["target_lang"] == "fr" and sent.body["source_lang"] == "en"


@both
def test_transcribe(mode: str, spec: WorkersAIToolSpec, media: dict[str, Path]) -> None:
    out = call(mode, tools_by_name(spec)["transcribe"], audio_path=str(media["audio"]))
    assert out == "hello from the edge"


@both
def test_speak_writes_a_wav_and_never_overwrites(
    mode: str, spec: WorkersAIToolSpec, tmp_path: Path
) -> None:
    tool = tools_by_name(spec)["speak"]
    first = Path(call(mode, tool, text="Bonjour tout le monde", language="fr"))
    assert (
        first.parent == (tmp_path / "out").resolve() and first.name == "bonjour-tout-le-monde.wav"
    )
    assert first.read_bytes()[:4] == b"RIFF"
    before = first.read_bytes()
    second = Path(call(mode, tool, text="Bonjour tout le monde", language="fr"))
    assert second.name == "bonjour-tout-le-monde-2.wav"
    assert first.read_bytes() == before
    named = Path(call(mode, tool, text="hi", file_name="greeting.mp3"))
    assert named.name == "greeting.wav"  # the extension follows the audio's real type


def test_speak_keeps_a_file_that_is_already_there(spec: WorkersAIToolSpec, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    mine = tmp_path / "out" / "greeting.wav"
    mine.write_bytes(b"mine")
    path = Path(spec.speak("hello", file_name="greeting"))
    assert path.name == "greeting-2.wav" and mine.read_bytes() == b"mine"


@both
def test_classify_image(mode: str, spec: WorkersAIToolSpec, media: dict[str, Path]) -> None:
    out = call(mode, tools_by_name(spec)["classify_image"], image_path=str(media["image"]))
    lines = out.splitlines()
    assert len(lines) == 5 and all(line.endswith(")") and " (0." in line for line in lines)


@both
def test_detect_objects(mode: str, spec: WorkersAIToolSpec, media: dict[str, Path]) -> None:
    out = call(mode, tools_by_name(spec)["detect_objects"], image_path=str(media["image"]))
    lines = out.splitlines()
    assert 1 <= len(lines) <= 4 and all(" at x=" in line for line in lines)


@both
def test_describe_image(
    mode: str, spec: WorkersAIToolSpec, media: dict[str, Path], emulator: EmulatorServer
) -> None:
    out = call(
        mode,
        tools_by_name(spec)["describe_image"],
        image_path=str(media["image"]),
        prompt="What colour is it?",
    )
    assert out.strip()
    assert emulator.request_count(model="@cf/llava-hf/llava-1.5-7b-hf") == 1


@both
def test_generate_image_writes_a_jpeg(mode: str, spec: WorkersAIToolSpec, tmp_path: Path) -> None:
    tool = tools_by_name(spec)["generate_image"]
    path = Path(call(mode, tool, prompt="A red fox in the snow"))
    assert path.name == "a-red-fox-in-the-snow.jpg" and path.read_bytes()[:3] == b"\xff\xd8\xff"
    again = Path(call(mode, tool, prompt="A red fox in the snow"))
    assert again != path and path.exists()


def test_generate_image_png_from_stable_diffusion(tmp_path: Path) -> None:
    spec = WorkersAIToolSpec(
        output_dir=tmp_path, image_model="@cf/stabilityai/stable-diffusion-xl-base-1.0"
    )
    path = Path(spec.generate_image("a lighthouse", file_name="lighthouse"))
    assert path.name == "lighthouse.png" and path.read_bytes()[:4] == b"\x89PNG"


@both
def test_summarize(mode: str, spec: WorkersAIToolSpec, emulator: EmulatorServer) -> None:
    out = call(mode, tools_by_name(spec)["summarize"], text=ARTICLE)
    assert out.strip() and len(out) < len(ARTICLE)
    assert emulator.request_count(model="@cf/facebook/bart-large-cnn") == 1


# --- Bad input: refused before any request -----------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arg", "problem", "message"),
    [
        ("transcribe", "audio_path", "missing", "does not exist"),
        ("transcribe", "audio_path", "folder", "is not a file"),
        ("transcribe", "audio_path", "empty", "is empty"),
        ("classify_image", "image_path", "missing", "does not exist"),
        ("detect_objects", "image_path", "folder", "is not a file"),
        ("describe_image", "image_path", "empty", "is empty"),
        ("classify_image", "image_path", "not an image", "image is text/plain; this task takes"),
        ("transcribe", "audio_path", "not audio", "audio is text/plain; this task takes"),
    ],
)
@both
def test_bad_paths_are_refused_before_any_request(
    mode: str,
    tool: str,
    arg: str,
    problem: str,
    message: str,
    spec: WorkersAIToolSpec,
    tmp_path: Path,
    emulator: EmulatorServer,
) -> None:
    paths = {
        "missing": tmp_path / "nope.wav",
        "folder": tmp_path,
        "empty": tmp_path / "empty.png",
        "not an image": tmp_path / "notes.txt",
        "not audio": tmp_path / "notes.txt",
    }
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("just some text, not media")
    function = getattr(spec, tool if mode == "sync" else f"a{tool}")
    with pytest.raises(InvalidRequestError, match=message):
        result = function(**{arg: str(paths[problem])})
        if mode == "async":
            asyncio.run(result)
    assert emulator.request_count() == 0


def test_an_oversized_image_is_refused_unread(
    tmp_path: Path, media: dict[str, Path], emulator: EmulatorServer
) -> None:
    spec = WorkersAIToolSpec(output_dir=tmp_path, limits=MediaLimits(image_bytes=100))
    with pytest.raises(InvalidRequestError, match=r"square\.png' is [\d,]+ bytes, over the limit"):
        spec.describe_image(str(media["image"]))
    reader = WorkersAIMarkdownReader(limits=MediaLimits(document_bytes=10))
    with pytest.raises(InvalidRequestError, match="over the limit of 10"):
        reader.load_data([media["image"]])
    assert emulator.request_count() == 0


def test_input_dir_confines_what_tools_read(
    tmp_path: Path, media: dict[str, Path], emulator: EmulatorServer
) -> None:
    spec = WorkersAIToolSpec(input_dir=media["dir"], output_dir=tmp_path / "out")
    assert spec.transcribe("hello.wav") == "hello from the edge"  # relative to input_dir
    secret = tmp_path / "secret.wav"
    secret.write_bytes(media["audio"].read_bytes())
    before = emulator.request_count()
    for path in (str(secret), "../secret.wav"):
        with pytest.raises(InvalidRequestError, match="outside the allowed folder"):
            spec.transcribe(path)
    assert emulator.request_count() == before


@pytest.mark.parametrize("file_name", ["../escape", "sub/dir", "/etc/passwd", ".hidden"])
def test_output_file_names_cannot_leave_output_dir(
    file_name: str, spec: WorkersAIToolSpec, emulator: EmulatorServer
) -> None:
    with pytest.raises(InvalidRequestError, match="plain file name"):
        spec.generate_image("a cat", file_name=file_name)
    assert emulator.request_count() == 0


# --- Agents ------------------------------------------------------------------------------------


def test_function_agent_calls_translate(spec: WorkersAIToolSpec, emulator: EmulatorServer) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    emulator.script(
        Reply(tool_calls=[ToolCall("translate", {"text": "Hello", "target_language": "fr"})]),
        model=LLAMA,
    )
    emulator.script(Reply(text="In French that is: done."), model=LLAMA)
    agent = FunctionAgent(tools=agent_tools(spec), llm=WorkersAI(model=LLAMA))

    async def go() -> Any:
        return await agent.run("Translate 'Hello' into French.")

    result = asyncio.run(go())
    assert str(result) == "In French that is: done."
    (used,) = result.tool_calls
    assert used.tool_name == "translate" and not used.tool_output.is_error
    translated = used.tool_output.content
    assert translated and translated != "Hello"
    assert emulator.last_request(model="@cf/meta/m2m100-1.2b").body["target_lang"] == "fr"
    chat = emulator.last_request(model=LLAMA)
    sent_tools = {t.get("function", t)["name"] for t in chat.tools}
    assert sent_tools == set(TOOL_NAMES)
    assert any(
        m.get("role") == "tool" and translated in str(m.get("content")) for m in chat.messages
    )


def test_function_agent_sees_a_bad_path_as_a_tool_error(
    spec: WorkersAIToolSpec, emulator: EmulatorServer
) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    emulator.script(
        Reply(tool_calls=[ToolCall("transcribe", {"audio_path": "/no/such/call.wav"})]),
        model=LLAMA,
    )
    emulator.script(Reply(text="I could not find that file."), model=LLAMA)
    agent = FunctionAgent(tools=agent_tools(spec), llm=WorkersAI(model=LLAMA))

    async def go() -> Any:
        return await agent.run("Transcribe /no/such/call.wav")

    result = asyncio.run(go())
    (used,) = result.tool_calls
    assert used.tool_output.is_error and "does not exist" in used.tool_output.content
    assert emulator.request_count(model="@cf/openai/whisper-large-v3-turbo") == 0


def test_react_agent_calls_summarize(spec: WorkersAIToolSpec, emulator: EmulatorServer) -> None:
    from llama_index.core.agent.workflow import ReActAgent

    action = json.dumps({"text": ARTICLE})
    emulator.script(
        Reply(text=f"Thought: I should summarise it.\nAction: summarize\nAction Input: {action}"),
        model=LLAMA,
    )
    emulator.script(Reply(text="Thought: I can answer.\nAnswer: Summarised."), model=LLAMA)
    agent = ReActAgent(tools=agent_tools(spec), llm=WorkersAI(model=LLAMA))

    async def go() -> Any:
        return await agent.run(f"Summarise this: {ARTICLE}")

    result = asyncio.run(go())
    assert "Summarised." in str(result)
    assert [c.tool_name for c in result.tool_calls] == ["summarize"]
    assert emulator.request_count(model="@cf/facebook/bart-large-cnn") == 1


# --- Usage -------------------------------------------------------------------------------------


def test_tool_calls_are_counted(spec: WorkersAIToolSpec, media: dict[str, Path]) -> None:
    with track_workers_ai_usage() as meter:
        spec.translate("Good morning", "de")
        spec.transcribe(str(media["audio"]))
        asyncio.run(spec.aclassify_image(str(media["image"])))
    usage = meter.snapshot()
    assert {m: u.calls for m, u in usage.items()} == {
        "@cf/meta/m2m100-1.2b": 1,
        "@cf/openai/whisper-large-v3-turbo": 1,
        "@cf/microsoft/resnet-50": 1,
    }


# --- Readers -----------------------------------------------------------------------------------


def load(mode: str, reader: Any, paths: Any) -> list[Any]:
    if mode == "sync":
        return list(reader.load_data(paths))
    return list(asyncio.run(reader.aload_data(paths)))


@both
def test_whisper_reader_one_document_per_file_in_order(
    mode: str, tmp_path: Path, emulator: EmulatorServer
) -> None:
    texts = ["first call about billing", "second call about shipping", "third call"]
    paths = []
    for index, text in enumerate(texts):
        path = tmp_path / f"call-{index}.wav"
        path.write_bytes(synthesize_speech(text))
        paths.append(path)
    with track_workers_ai_usage() as meter:
        docs = load(mode, WorkersAIWhisperReader(include_words=True), [str(p) for p in paths])
    assert [d.text for d in docs] == texts
    assert meter.snapshot()["@cf/openai/whisper-large-v3-turbo"].calls == 3
    first = docs[0].metadata
    assert first["file_name"] == "call-0.wav" and first["file_path"] == str(paths[0].resolve())
    assert first["model"] == "@cf/openai/whisper-large-v3-turbo"
    assert first["language"] and first["duration"] and first["duration"] > 0
    segments = first["segments"]
    assert segments and " ".join(s["text"].strip() for s in segments) == texts[0]
    assert all(s["start"] <= s["end"] <= first["duration"] + 0.01 for s in segments)
    assert [w["word"].strip() for w in first["words"]] == texts[0].split()
    # the timed metadata is kept out of what is embedded and shown to the LLM
    from llama_index.core.schema import MetadataMode

    shown = docs[0].get_content(metadata_mode=MetadataMode.EMBED)
    assert "segments" not in shown and "call-0.wav" in shown


def test_whisper_reader_language_and_a_single_path(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    path = tmp_path / "fr.wav"
    path.write_bytes(synthesize_speech("bonjour"))
    (doc,) = WorkersAIWhisperReader(language="French").load_data(path)
    assert doc.metadata["language"] == "fr"
    assert emulator.last_request(model="@cf/openai/whisper-large-v3-turbo").body["language"] == "fr"


@both
def test_whisper_reader_checks_every_path_first(
    mode: str, tmp_path: Path, emulator: EmulatorServer
) -> None:
    good = tmp_path / "good.wav"
    good.write_bytes(synthesize_speech("fine"))
    with pytest.raises(InvalidRequestError, match=r"missing\.wav' does not exist"):
        load(mode, WorkersAIWhisperReader(), [good, tmp_path / "missing.wav"])
    assert emulator.request_count() == 0


def test_whisper_reader_refuses_another_task_model() -> None:
    with pytest.raises(InvalidRequestError, match="WorkersAIWhisperReader takes"):
        WorkersAIWhisperReader(model="@cf/meta/m2m100-1.2b")


@both
def test_markdown_reader_documents_in_order_with_metadata(
    mode: str, tmp_path: Path, emulator: EmulatorServer
) -> None:
    files = {"report.html": HTML, "sales.csv": CSV, "chart.png": png_image(b"chart", 32, 32)}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    reader = WorkersAIMarkdownReader(files_per_request=2)
    with track_workers_ai_usage() as meter:
        docs = load(mode, reader, paths)
    assert [d.metadata["file_name"] for d in docs] == list(files)
    assert "Quarterly report" in docs[0].text and "north" in docs[1].text
    assert docs[0].metadata["file_type"] == "text/html"
    assert docs[1].metadata["format"] == "markdown" and docs[1].metadata["tokens"] > 0
    assert docs[2].metadata["file_path"] == str(paths[2].resolve())
    assert emulator.request_count(route="tomarkdown") == 2  # 2 files, then 1
    assert meter.snapshot()["toMarkdown"].calls == 2


@both
def test_markdown_reader_failed_files(mode: str, tmp_path: Path, caplog: Any) -> None:
    good, bad = tmp_path / "report.html", tmp_path / "broken.jpg"
    good.write_bytes(HTML)
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(APIError, match=r"1 of 2 files were not converted: broken\.jpg"):
        load(mode, WorkersAIMarkdownReader(), [good, bad])
    docs = load(mode, WorkersAIMarkdownReader(raise_on_error=False), [good, bad])
    assert [d.metadata["file_name"] for d in docs] == ["report.html"]
    assert "skipped" in caplog.text and "broken.jpg" in caplog.text


@both
def test_markdown_reader_checks_files_before_any_request(
    mode: str, tmp_path: Path, emulator: EmulatorServer
) -> None:
    good = tmp_path / "report.html"
    good.write_bytes(HTML)
    script = tmp_path / "run.exe"
    script.write_bytes(b"MZ")
    with pytest.raises(InvalidRequestError, match=r"\.exe"):
        load(mode, WorkersAIMarkdownReader(), [good, script])
    with pytest.raises(InvalidRequestError, match="does not exist"):
        load(mode, WorkersAIMarkdownReader(), [good, tmp_path / "gone.pdf"])
    with pytest.raises(InvalidRequestError, match="file_paths is empty"):
        load(mode, WorkersAIMarkdownReader(), [])
    assert emulator.request_count() == 0


def test_markdown_reader_text_output(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_bytes(HTML)
    (doc,) = WorkersAIMarkdownReader(output="text").load_data([path])
    assert doc.metadata["format"] == "text" and "#" not in doc.text
