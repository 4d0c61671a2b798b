"""langchain-tests standard suites for the Workers AI task tools, against the emulator.

The unit suites build each tool from keywords and from the environment (no request); the
integration suites invoke it with and without a ``ToolCall``, sync and async, on the emulator.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_workers_ai import (
    WorkersAIDescribeImageTool,
    WorkersAIImageClassifyTool,
    WorkersAIImageGenerateTool,
    WorkersAIObjectDetectTool,
    WorkersAISpeakTool,
    WorkersAISummarizeTool,
    WorkersAITranscribeTool,
    WorkersAITranslateTool,
)
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.media import png_image, synthesize_speech

CREDENTIALS = {"account_id": "acct", "api_key": "unit-test-token"}
ENV = (
    {"CLOUDFLARE_ACCOUNT_ID": "acct-env", "CLOUDFLARE_API_TOKEN": "env-token"},
    {},
    {"account_id": "acct-env", "api_token": "env-token"},
)
TRANSLATE_ARGS = {"text": "Good morning", "target_language": "French"}
GENERATE_ARGS = {"prompt": "a lighthouse at dusk"}

#: Input files the tools read (made once; removed when the interpreter exits).
_FILES = Path(tempfile.mkdtemp(prefix="wai-standard-tools-"))
atexit.register(shutil.rmtree, _FILES, True)
AUDIO = _FILES / "hello.wav"
AUDIO.write_bytes(synthesize_speech("hello from the standard suite"))
IMAGE = _FILES / "cat.png"
IMAGE.write_bytes(png_image(b"cat", 64, 48))


@pytest.mark.usefixtures("no_env")
class TestTranslateToolUnit(ToolsUnitTests):
    tool_constructor = WorkersAITranslateTool
    tool_constructor_params = CREDENTIALS
    tool_invoke_params_example = TRANSLATE_ARGS
    init_from_env_params = ENV


@pytest.mark.usefixtures("workers_ai_emulator_env")
class TestTranslateToolIntegration(ToolsIntegrationTests):
    tool_constructor = WorkersAITranslateTool
    tool_invoke_params_example = TRANSLATE_ARGS


@pytest.mark.usefixtures("no_env")
class TestImageGenerateToolUnit(ToolsUnitTests):
    tool_constructor = WorkersAIImageGenerateTool
    tool_constructor_params = CREDENTIALS
    tool_invoke_params_example = GENERATE_ARGS
    init_from_env_params = ENV


class TestImageGenerateToolIntegration(ToolsIntegrationTests):
    tool_invoke_params_example = GENERATE_ARGS

    @pytest.fixture(autouse=True)
    def _out(self, workers_ai_emulator_env: EmulatorServer, tmp_path: Path) -> None:
        self.output_dir = tmp_path

    @property
    def tool_constructor(self) -> type[WorkersAIImageGenerateTool]:
        return WorkersAIImageGenerateTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"output_dir": str(self.output_dir)}


#: The other tools: (constructor, invoke arguments, whether it writes files).
OTHER_TOOLS: dict[str, tuple[type[Any], dict[str, Any], bool]] = {
    "Summarize": (
        WorkersAISummarizeTool,
        {"text": "Cloudflare runs AI models at the edge."},
        False,
    ),
    "Speak": (WorkersAISpeakTool, {"text": "Good morning"}, True),
    "Transcribe": (WorkersAITranscribeTool, {"audio_path": str(AUDIO)}, False),
    "ImageClassify": (WorkersAIImageClassifyTool, {"image_path": str(IMAGE)}, False),
    "ObjectDetect": (WorkersAIObjectDetectTool, {"image_path": str(IMAGE)}, False),
    "DescribeImage": (WorkersAIDescribeImageTool, {"image_path": str(IMAGE)}, False),
}


def _unit_suite(name: str) -> type:
    constructor, arguments, _ = OTHER_TOOLS[name]
    suite = type(
        f"Test{name}ToolUnit",
        (ToolsUnitTests,),
        {
            "tool_constructor": constructor,
            "tool_constructor_params": CREDENTIALS,
            "tool_invoke_params_example": arguments,
            "init_from_env_params": ENV,
        },
    )
    return pytest.mark.usefixtures("no_env")(suite)


def _integration_suite(name: str) -> type:
    constructor, arguments, writes = OTHER_TOOLS[name]

    class Suite(ToolsIntegrationTests):
        tool_invoke_params_example = arguments

        @pytest.fixture(autouse=True)
        def _out(self, workers_ai_emulator_env: EmulatorServer, tmp_path: Path) -> None:
            self.output_dir = tmp_path

        @property
        def tool_constructor(self) -> type[Any]:
            return constructor

        @property
        def tool_constructor_params(self) -> dict[str, Any]:
            return {"output_dir": str(self.output_dir)} if writes else {}

    Suite.__name__ = Suite.__qualname__ = f"Test{name}ToolIntegration"
    return Suite


TestSummarizeToolUnit = _unit_suite("Summarize")
TestSummarizeToolIntegration = _integration_suite("Summarize")
TestSpeakToolUnit = _unit_suite("Speak")
TestSpeakToolIntegration = _integration_suite("Speak")
TestTranscribeToolUnit = _unit_suite("Transcribe")
TestTranscribeToolIntegration = _integration_suite("Transcribe")
TestImageClassifyToolUnit = _unit_suite("ImageClassify")
TestImageClassifyToolIntegration = _integration_suite("ImageClassify")
TestObjectDetectToolUnit = _unit_suite("ObjectDetect")
TestObjectDetectToolIntegration = _integration_suite("ObjectDetect")
TestDescribeImageToolUnit = _unit_suite("DescribeImage")
TestDescribeImageToolIntegration = _integration_suite("DescribeImage")
