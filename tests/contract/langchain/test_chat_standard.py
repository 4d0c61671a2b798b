"""langchain-tests standard suites for ChatWorkersAI, against the emulator (no network)."""

from __future__ import annotations

import importlib
import os
from typing import Any
from unittest import mock

import pytest
from langchain_core.load import dumpd, load
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_workers_ai import ChatWorkersAI

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


_CLASS_PATH = ("langchain_workers_ai", "chat_models", "ChatWorkersAI")


@pytest.fixture(autouse=True, scope="module")
def _allow_our_class_in_standard_serdes() -> Any:
    """The standard ``test_serdes`` loads with ``allowed_objects="all"``, which since
    langchain-core 1.3.3 covers only classes in langchain-core's own partner mapping.
    Register ours there for this module only, so the unmodified standard test runs."""
    load_module = importlib.import_module("langchain_core.load.load")
    mapping = importlib.import_module("langchain_core.load.mapping")

    mapping.SERIALIZABLE_MAPPING[_CLASS_PATH] = _CLASS_PATH
    load_module.ALL_SERIALIZABLE_MAPPINGS[_CLASS_PATH] = _CLASS_PATH
    load_module._default_class_paths_cache.clear()
    yield
    mapping.SERIALIZABLE_MAPPING.pop(_CLASS_PATH, None)
    load_module.ALL_SERIALIZABLE_MAPPINGS.pop(_CLASS_PATH, None)
    load_module._default_class_paths_cache.clear()


_ENV_VARS = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CF_AI_API_TOKEN")


@pytest.fixture
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit suites must not see a developer's (or the emulator's) settings."""
    for name in (*_ENV_VARS, "WORKERS_AI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("_no_env")
class TestChatWorkersAIUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "account_id": "acct", "api_key": "unit-test-token"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"CLOUDFLARE_ACCOUNT_ID": "acct-env", "CLOUDFLARE_API_TOKEN": "env-token"}
        return env, {"model": MODEL}, {"account_id": "acct-env", "api_token": "env-token"}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    def test_load_with_explicit_allowlist(self, model: Any) -> None:
        """How users load a dumped ChatWorkersAI: name the class in ``allowed_objects``."""
        env_params, _, _ = self.init_from_env_params
        with mock.patch.dict(os.environ, env_params):
            serialized = dumpd(model)
            assert "unit-test-token" not in str(serialized)
            restored = load(
                dumpd(model),
                valid_namespaces=model.get_lc_namespace()[:1],
                allowed_objects=[ChatWorkersAI],
                secrets_from_env=True,
            )
            assert model.dict() == restored.dict()


@pytest.mark.usefixtures("workers_ai_emulator_env")
class TestChatWorkersAIIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "@cf/qwen/qwen3-30b-a3b-fp8"

    @property
    def supports_image_inputs(self) -> bool:
        # The standard test downloads an image from the internet; we cover image input with a
        # bundled asset in test_chat_models.py instead.
        return False
