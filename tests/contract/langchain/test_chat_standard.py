"""langchain-tests standard suites for ChatWorkersAI, against the emulator (no network).

``tests/live/test_chat_live.py`` runs :class:`TestChatWorkersAIIntegration` itself against real
Workers AI, overriding only where the requests go (the ``backend`` fixture) and the base URL.
"""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

import pytest
from langchain_core.load import dumpd, load
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_workers_ai import ChatWorkersAI
from workers_ai.emulator import EmulatorServer

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


class ChatWorkersAIFeatures:
    """The standard suites' feature flags for what ChatWorkersAI supports, shared by both."""

    @property
    def chat_model_class(self) -> type[ChatWorkersAI]:
        return ChatWorkersAI

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


@pytest.mark.usefixtures("no_env")  # no developer's or emulator's settings leak in
class TestChatWorkersAIUnit(ChatWorkersAIFeatures, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "account_id": "acct", "api_key": "unit-test-token"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"CLOUDFLARE_ACCOUNT_ID": "acct-env", "CLOUDFLARE_API_TOKEN": "env-token"}
        return env, {"model": MODEL}, {"account_id": "acct-env", "api_token": "env-token"}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason="since langchain-core 1.3.3, allowed_objects='all' loads only the classes in "
        "langchain-core's own serialization mapping, and ChatWorkersAI is not one of them; users "
        "name the class instead (test_load_with_explicit_allowlist)",
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: ChatWorkersAI, snapshot: Any) -> None:
        """The standard ``test_serdes``, unmodified; the standard suite's own rule for a test
        that cannot pass here is an override marked ``xfail`` with a reason.

        It still checks the serialized form against the snapshot, which runs before the load:
        only the ``ValueError`` of the ``allowed_objects="all"`` load is expected (``raises``), so
        a changed snapshot fails, and ``strict`` fails the day the load succeeds."""
        super().test_serdes(model, snapshot)

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


class TestChatWorkersAIIntegration(ChatWorkersAIFeatures, ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def backend(self, workers_ai_emulator_env: EmulatorServer) -> None:
        """Where the requests go: the session emulator, through the environment that the
        standard ``model`` fixture builds the model from (the live suite overrides this)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL}

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


THIRD_PARTY_MODEL = "openai/gpt-4.1"


class TestChatWorkersAIThirdPartyIntegration(TestChatWorkersAIIntegration):
    """The same standard suite with a third-party model: one class, any model behind Cloudflare.

    ``openai/gpt-4.1`` goes to ``/ai/v1/chat/completions`` with ``cf-aig-gateway-id: default``
    (AI Gateway's unified REST route), answered by the emulator's OpenAI-shaped stand-in;
    invoke, streams, tools (streamed too), structured output and usage all run through it."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": THIRD_PARTY_MODEL}

    @property
    def model_override_value(self) -> str:
        return "google/gemini-3-flash"


ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-5"


class TestChatWorkersAIAnthropicMessagesIntegration(TestChatWorkersAIIntegration):
    """The standard suite on an Anthropic model through Anthropic's own API, ``/ai/v1/messages``
    (the default route of ``anthropic/...`` models): content blocks, ``tool_use`` /
    ``tool_result`` round trips, streamed ``input_json_delta`` tool calls and usage, read from
    the emulator's Anthropic-shaped stand-in. The Messages API has no JSON mode, so structured
    output runs by tool call (the suite's default method) and ``test_json_mode`` is off."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": ANTHROPIC_MODEL}

    @property
    def model_override_value(self) -> str:
        return "anthropic/claude-haiku-4.5"

    @property
    def supports_json_mode(self) -> bool:
        return False


class TestChatWorkersAIResponsesIntegration(TestChatWorkersAIIntegration):
    """The standard suite on ``openai/gpt-4.1`` through OpenAI's Responses API
    (``endpoint="responses"``, ``/ai/v1/responses``): input items, function calls and their
    outputs, ``response.*`` stream events."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": THIRD_PARTY_MODEL, "endpoint": "responses"}

    @property
    def model_override_value(self) -> str:
        return "google/gemini-3-flash"


class TestChatWorkersAIAnthropicUnit(TestChatWorkersAIUnit):
    """The standard unit suite on an Anthropic model (its default route: the Messages API)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": ANTHROPIC_MODEL, "account_id": "acct", "api_key": "unit-test-token"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env, _, expected = super().init_from_env_params
        return env, {"model": ANTHROPIC_MODEL}, expected

    @property
    def supports_json_mode(self) -> bool:
        return False
