"""A user's own test suite: their app on our classes, offline on our emulator and pytest plugin.

Copied by ``stage.py`` into a project folder outside the checkout as ``test_user_suite.py``, next
to a ``conftest.py`` holding ``pytest_plugins = ["workers_ai.emulator.pytest_plugin"]``.
"""

from __future__ import annotations

from llama_index.core.llms import ChatMessage

from langchain_workers_ai import ChatWorkersAI
from llama_index_workers_ai import WorkersAI
from workers_ai.emulator import EmulatorServer

MODEL = "@cf/meta/llama-3.1-8b-instruct"


def summarise(llm: ChatWorkersAI, text: str) -> str:
    """The user's app code."""
    return str(llm.invoke(f"Summarise in one line: {text}").content)


def test_langchain_app_offline(workers_ai_emulator_env: EmulatorServer) -> None:
    assert summarise(ChatWorkersAI(model=MODEL), "Cloudflare runs models at the edge.")
    assert workers_ai_emulator_env.stats()["requests"] == 1


def test_llama_index_app_offline(workers_ai_emulator_env: EmulatorServer) -> None:
    reply = WorkersAI(model=MODEL).chat([ChatMessage(role="user", content="Hello")])
    assert reply.message.content
    assert workers_ai_emulator_env.stats()["by_model"] == {MODEL: 1}
