"""Any model behind Cloudflare, for real: third-party models through AI Gateway, fallbacks and
log feedback (issue #16).

Skipped unless ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` are set (the markers and
environment of ``test_chat_live``). Third-party calls spend Unified Billing credits, so they
also need ``WORKERS_AI_LIVE_THIRD_PARTY_MODEL`` (e.g. ``openai/gpt-4.1-mini``); feedback needs
a token with *AI Gateway: Edit* and ``WORKERS_AI_LIVE_FEEDBACK=1``. The gateway is
``WORKERS_AI_LIVE_GATEWAY`` (default ``default``, which Cloudflare creates). Run:
``.venv/bin/python -m pytest tests/live -m live``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_workers_ai import ChatWorkersAI, send_message_feedback
from llama_index_workers_ai import WorkersAI
from tests.contract.langchain import test_chat_standard as contract
from tests.live.test_chat_live import _real_cloudflare  # noqa: F401 - the autouse fixture
from tests.live.test_chat_live import pytestmark as _live_markers
from workers_ai.settings import DEFAULT_BASE_URL

THIRD_PARTY = os.environ.get("WORKERS_AI_LIVE_THIRD_PARTY_MODEL", "").strip()
GATEWAY = os.environ.get("WORKERS_AI_LIVE_GATEWAY", "").strip() or "default"
FEEDBACK = os.environ.get("WORKERS_AI_LIVE_FEEDBACK", "").strip() == "1"
CF_MODEL = contract.MODEL

pytestmark = [
    *_live_markers,
    pytest.mark.skipif(
        not THIRD_PARTY,
        reason="live gateway: set WORKERS_AI_LIVE_THIRD_PARTY_MODEL (e.g. openai/gpt-4.1-mini); "
        "these calls spend Unified Billing credits",
    ),
]


def live(model: str, **kwargs: Any) -> ChatWorkersAI:
    return ChatWorkersAI(model=model, base_url=DEFAULT_BASE_URL, max_tokens=64, **kwargs)


class TestThirdPartyLive(contract.TestChatWorkersAIThirdPartyIntegration):
    """The standard integration suite on a third-party model through the unified REST route."""

    @pytest.fixture(autouse=True)
    def backend(self) -> None:
        """Real Cloudflare: ``_real_cloudflare`` has set the environment."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": THIRD_PARTY, "base_url": DEFAULT_BASE_URL, "gateway_id": GATEWAY,
                "gateway_options": {"routing": "header"}}  # fmt: skip

    @property
    def model_override_value(self) -> str:
        return THIRD_PARTY


@pytest.mark.parametrize("routing", ["header", "url"])
async def test_a_third_party_model_answers_with_the_gateways_facts(routing: str) -> None:
    model = live(THIRD_PARTY, gateway_id=GATEWAY, gateway_options={"routing": routing})
    reply = await model.ainvoke([HumanMessage("Say hello in one word.")])
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.response_metadata.get("gateway_log_id")
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] > 0
    llm = WorkersAI(model=THIRD_PARTY, base_url=DEFAULT_BASE_URL, max_tokens=64)
    assert (await llm.acomplete("Say hello in one word.")).text.strip()


@pytest.mark.parametrize("routing", ["header", "url"])
def test_a_chain_whose_first_model_answers_reports_no_steps(routing: str) -> None:
    """A real failure cannot be provoked safely (input errors never fall back), so this checks
    the chain's bookkeeping when the first model answers, client-side and on the gateway."""
    model = live(
        CF_MODEL, fallbacks=[THIRD_PARTY], gateway_id=GATEWAY,
        gateway_options={"routing": routing},
    )  # fmt: skip
    reply = model.invoke("Say hello in one word.")
    meta = reply.response_metadata
    assert meta["answered_by"] == CF_MODEL and meta["fallback_steps"] == []
    if routing == "url":
        assert meta.get("gateway_step") in (0, None)


@pytest.mark.skipif(not FEEDBACK, reason="live feedback: set WORKERS_AI_LIVE_FEEDBACK=1")
def test_feedback_lands_on_the_answers_gateway_log() -> None:
    model = live(THIRD_PARTY, gateway_id=GATEWAY, gateway_options={"routing": "header"})
    reply = model.invoke("Say hello in one word.")
    send_message_feedback(model, reply, feedback=1, score=90, metadata={"suite": "live"})
