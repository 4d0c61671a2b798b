"""langchain-tests standard suites for the Workers AI task tools, against the emulator.

The unit suites build each tool from keywords and from the environment (no request); the
integration suites invoke it with and without a ``ToolCall``, sync and async, on the emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_workers_ai import WorkersAIImageGenerateTool, WorkersAITranslateTool
from workers_ai.emulator import EmulatorServer

CREDENTIALS = {"account_id": "acct", "api_key": "unit-test-token"}
ENV = (
    {"CLOUDFLARE_ACCOUNT_ID": "acct-env", "CLOUDFLARE_API_TOKEN": "env-token"},
    {},
    {"account_id": "acct-env", "api_token": "env-token"},
)
TRANSLATE_ARGS = {"text": "Good morning", "target_language": "French"}
GENERATE_ARGS = {"prompt": "a lighthouse at dusk"}


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
