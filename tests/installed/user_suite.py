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


# -- docs/testing-your-app.md, as a user's project runs it ---------------------------------------
def test_a_refund_request_refunds_then_apologises(workers_ai_emulator_env: EmulatorServer) -> None:
    from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool

    from workers_ai.emulator.scripts import Reply, ToolCall

    @tool
    def refund_order(order_id: str) -> str:
        """Refund an order."""
        return f"refund for {order_id} issued"

    emulator = workers_ai_emulator_env
    emulator.script(
        Reply(tool_calls=[ToolCall("refund_order", {"order_id": "A-17"})]), last_user="refund"
    )
    emulator.script(Reply(text="Sorry for the trouble -- your refund is on its way."))
    llm = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast").bind_tools([refund_order])
    history: list[BaseMessage] = [HumanMessage("I want a refund for order A-17")]
    first = llm.invoke(history)
    call = first.tool_calls[0]
    history += [first, ToolMessage(refund_order.invoke(call["args"]), tool_call_id=call["id"])]
    answer = llm.invoke(history)

    assert call["args"] == {"order_id": "A-17"}
    assert str(answer.content).startswith("Sorry")
    assert emulator.last_request().messages[-1]["role"] == "tool"
    assert emulator.last_request().headers["authorization"] == "Bearer ***"


def test_scripts_do_not_leak_between_tests(workers_ai_emulator_env: EmulatorServer) -> None:
    assert workers_ai_emulator_env.scripts.rules() == []
    assert workers_ai_emulator_env.requests() == []


def test_a_scripted_fault_reaches_the_app_as_a_typed_error(
    workers_ai_emulator_env: EmulatorServer,
) -> None:
    import pytest

    import workers_ai
    from workers_ai.emulator.scripts import Reply

    workers_ai_emulator_env.script(Reply(error={"status": 429, "code": 3036, "message": "used"}))
    with pytest.raises(workers_ai.QuotaExceededError):
        summarise(ChatWorkersAI(model=MODEL), "anything")
    assert workers_ai_emulator_env.last_request().status == 429


# -- a RAG app on Vectorize, tested offline (the plugin's emulator serves Vectorize V2) --------
def test_a_vectorize_rag_store_round_trip(workers_ai_emulator_env: EmulatorServer) -> None:
    from langchain_workers_ai import WorkersAIEmbeddings, WorkersAIVectorize

    store = WorkersAIVectorize(
        embedding=WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5"),
        index_name="faq",
        create_index=True,
        metadata_indexes={"topic": "string"},
    )
    store.add_texts(
        ["Refunds take 5 to 7 business days.", "Shipping is free from 50 euros."],
        metadatas=[{"topic": "refunds"}, {"topic": "shipping"}],
    )
    found = store.similarity_search("How long do refunds take?", k=1, filter={"topic": "refunds"})
    assert [d.page_content for d in found] == ["Refunds take 5 to 7 business days."]
    assert workers_ai_emulator_env.vectorize_indexes() == ["faq"]


def test_vectorize_indexes_do_not_leak_between_tests(
    workers_ai_emulator_env: EmulatorServer,
) -> None:
    assert workers_ai_emulator_env.vectorize_indexes() == []


def test_refund_question_cites_the_policy(workers_ai_emulator_env: EmulatorServer) -> None:
    """docs/testing-your-app.md, "RAG apps": an AI Search answer over the user's corpus."""
    from langchain_workers_ai import WorkersAISearchAnswer

    workers_ai_emulator_env.add_ai_search_instance(
        "docs", {"policies/refunds.md": "Refunds take 5 to 7 business days."}
    )
    result = WorkersAISearchAnswer(instance="docs").invoke("How long do refunds take?")
    assert result["context"][0].metadata["filename"] == "policies/refunds.md"
    assert "5 to 7 business days" in result["answer"]
