"""ChatWorkersAI against real Workers AI: the standard integration suite and end-to-end checks.

Skipped unless ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` are set (and are not the
emulator's). Every test targets Cloudflare's API even when ``WORKERS_AI_BASE_URL`` points
elsewhere. Run: ``.venv/bin/python -m pytest tests/live -m live`` (these calls use neurons).

The standard suite is the contract suite's own class (``TestChatWorkersAIIntegration`` in
``tests/contract/langchain/test_chat_standard.py``), flags and all, with its requests sent to
Cloudflare instead of the emulator.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_workers_ai import ChatWorkersAI
from tests.contract.langchain import test_chat_standard as contract
from tests.support.env import CONNECTION_ENV
from tests.support.tools import get_weather
from workers_ai.emulator import DEFAULT_ACCOUNT_ID, DEFAULT_API_TOKEN
from workers_ai.settings import DEFAULT_BASE_URL

MODEL = contract.MODEL
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"

#: Read once, at collection: nothing a fixture does to the environment later can change them.
ACCOUNT = os.environ.get("CLOUDFLARE_ACCOUNT_ID", "").strip()
TOKEN = os.environ.get("CLOUDFLARE_API_TOKEN", "").strip()

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (ACCOUNT and TOKEN),
        reason="live: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN to run against real "
        "Workers AI",
    ),
    pytest.mark.skipif(
        ACCOUNT == DEFAULT_ACCOUNT_ID or TOKEN == DEFAULT_API_TOKEN,
        reason="live: CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_TOKEN are the emulator's, not real "
        "Cloudflare credentials",
    ),
]


@pytest.fixture(autouse=True)
def _real_cloudflare(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Cloudflare, whatever the shell or an earlier fixture set (autouse: it runs before
    the standard suite's ``model`` fixture builds the model from the environment)."""
    for name in CONNECTION_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)


def live_model(**kwargs: Any) -> ChatWorkersAI:
    return ChatWorkersAI(**{"model": MODEL, "base_url": DEFAULT_BASE_URL, **kwargs})


class TestChatWorkersAILive(contract.TestChatWorkersAIIntegration):
    """The emulator-backed ``TestChatWorkersAIIntegration``, against Cloudflare."""

    @pytest.fixture(autouse=True)
    def backend(self) -> None:
        """Real Cloudflare, not the emulator: ``_real_cloudflare`` has set the environment."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "base_url": DEFAULT_BASE_URL}


def test_requests_go_to_cloudflare_even_when_the_base_url_env_points_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKERS_AI_BASE_URL", "http://127.0.0.1:9/client/v4")
    hosts: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: hosts.append(r.url.host)]})
    with client:
        message = live_model(max_tokens=16, http_client=client).invoke("Say hi.")
    assert hosts == ["api.cloudflare.com"]
    assert isinstance(message.content, str) and message.content
    assert message.usage_metadata and message.usage_metadata["total_tokens"] > 0


def test_tool_call_then_answer_from_the_result() -> None:
    llm = live_model(temperature=0).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Lisbon? Use the tool.")
    first = llm.invoke([question])
    assert [c["name"] for c in first.tool_calls] == ["get_weather"]
    assert first.tool_calls[0]["args"]["city"].lower().startswith("lisbon")
    final = llm.invoke([question, first, get_weather.invoke(first.tool_calls[0])])
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "21" in str(final.content)


async def test_reasoning_model_keeps_thinking_apart() -> None:
    message = await live_model(model=QWEN).ainvoke("Why is the sky blue? One sentence.")
    reasoning = message.additional_kwargs.get("reasoning_content")
    assert reasoning and "think>" not in reasoning
    assert isinstance(message.content, str) and message.content.strip()
    assert "think>" not in message.content
