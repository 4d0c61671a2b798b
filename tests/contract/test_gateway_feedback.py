"""Rating answers: feedback on AI Gateway logs (spec: AI platform §1.12), against the emulator.

The core API (:mod:`workers_ai.feedback`) and the LangChain and LlamaIndex helpers send
``PATCH .../ai-gateway/gateways/{gateway}/logs/{id}``; the emulator records what it received,
which ``EmulatorServer.gateway_logs`` reads back. Sync and async each time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.llms import ChatMessage, ChatResponse, MessageRole

import langchain_workers_ai as lcw
from langchain_workers_ai import ChatWorkersAI, asend_message_feedback, send_message_feedback
from llama_index_workers_ai import WorkersAI, asend_response_feedback, send_response_feedback
from tests.support.emulator import adapter_kwargs
from workers_ai import (
    AsyncWorkersAIClient,
    GatewayLogNotFoundError,
    InvalidRequestError,
    NotFoundError,
    WorkersAIClient,
    alist_logs,
    asend_feedback,
    list_logs,
    send_feedback,
)
from workers_ai.emulator import EmulatorServer

GPT = "openai/gpt-4.1"
GEMINI = "google/gemini-3-flash"
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
MESSAGES = {"messages": [{"role": "user", "content": "What is Cloudflare?"}]}
MODES = pytest.mark.parametrize("mode", ["sync", "async"])
#: Nothing listens on port 9: a request would be a connection error, not a validation error.
CLOSED: dict[str, Any] = {
    "account_id": "a" * 32,
    "api_token": "t0ken",
    "base_url": "http://127.0.0.1:9",
}


async def _core(emulator: EmulatorServer, mode: str, action: str, *args: Any, **kw: Any) -> Any:
    """Answer with a third-party model through the gateway, then call ``action`` with the
    client and the answer's log id (``*args`` replace the log id when given)."""
    client_kw = {**emulator.client_kwargs(), "max_retries": 0, **kw.pop("client", {})}
    functions: dict[str, Any] = {
        "sync": {"feedback": send_feedback, "list": list_logs},
        "async": {"feedback": asend_feedback, "list": alist_logs},
    }[mode]
    if mode == "sync":
        with WorkersAIClient(**client_kw) as client:
            log_id = client.chat(GPT, MESSAGES).meta.gateway_log_id
            if action == "list":
                return log_id, functions["list"](client, **kw)
            functions["feedback"](client, *(args or (log_id,)), **kw)
            return log_id
    async with AsyncWorkersAIClient(**client_kw) as aclient:
        log_id = (await aclient.chat(GPT, MESSAGES)).meta.gateway_log_id
        if action == "list":
            return log_id, await functions["list"](aclient, **kw)
        await functions["feedback"](aclient, *(args or (log_id,)), **kw)
        return log_id


def _log(emulator: EmulatorServer, log_id: str, gateway: str = "default") -> dict[str, Any]:
    return next(entry for entry in emulator.gateway_logs(gateway) if entry["id"] == log_id)


# -- the core API ------------------------------------------------------------------------------
@MODES
async def test_feedback_score_and_metadata_are_recorded_on_the_answers_log(
    emulator: EmulatorServer, mode: str
) -> None:
    log_id = await _core(
        emulator, mode, "feedback", feedback=1, score=87.5, metadata={"user": "123", "n": 2}
    )

    log = _log(emulator, log_id)
    assert (log["feedback"], log["score"]) == (1, 87.5)
    assert log["metadata"] == {"user": "123", "n": 2}


@MODES
async def test_booleans_are_thumbs_up_and_down(emulator: EmulatorServer, mode: str) -> None:
    up = await _core(emulator, mode, "feedback", feedback=True)
    down = await _core(emulator, mode, "feedback", feedback=False)

    assert _log(emulator, up)["feedback"] == 1
    assert _log(emulator, down)["feedback"] == -1
    assert _log(emulator, down)["score"] is None  # fields not given are left alone


@MODES
async def test_feedback_goes_to_the_clients_gateway_or_the_one_named(
    emulator: EmulatorServer, mode: str
) -> None:
    log_id = await _core(emulator, mode, "feedback", feedback=-1, client={"gateway": "support"})
    assert _log(emulator, log_id, "support")["feedback"] == -1

    with pytest.raises(GatewayLogNotFoundError) as info:
        await _core(emulator, mode, "feedback", feedback=1, gateway="elsewhere")
    assert "'elsewhere'" in str(info.value)


@MODES
async def test_an_unknown_log_id_is_a_typed_not_found_error_naming_it(
    emulator: EmulatorServer, mode: str
) -> None:
    with pytest.raises(GatewayLogNotFoundError) as info:
        await _core(emulator, mode, "feedback", "01JNOSUCHLOG", feedback=1)

    error = info.value
    assert isinstance(error, NotFoundError) and error.status_code == 404
    assert "'01JNOSUCHLOG'" in str(error) and "'default'" in str(error)
    assert emulator.api_token not in str(error) and emulator.api_token not in repr(error)


@MODES
async def test_list_logs_shows_the_feedback_newest_first(
    emulator: EmulatorServer, mode: str
) -> None:
    first = await _core(emulator, mode, "feedback", score=10)
    second, logs = await _core(emulator, mode, "list", per_page=2)

    assert [log["id"] for log in logs] == [second, first]
    assert logs[1]["score"] == 10 and logs[0]["model"] == GPT


BAD_ARGUMENTS = [
    ({"feedback": 2}, "feedback=2"),
    ({"feedback": "up"}, "feedback='up'"),
    ({"score": 101}, "score=101"),
    ({"score": -1}, "score=-1"),
    ({"score": math.nan}, "score=nan"),
    ({"score": True}, "score=True"),
    ({"metadata": ["user"]}, "metadata must be a mapping"),
    ({"metadata": {"user": {"id": 1}}}, "metadata['user'] is a dict"),
    ({"metadata": {"": 1}}, "metadata key ''"),
    ({"metadata": {"x": math.inf}}, "metadata['x'] is not a finite number"),
    ({"metadata": {str(i): i for i in range(51)}}, "at most 50"),
    ({}, "Nothing to send"),
    ({"feedback": 1, "gateway": "a/b"}, "gateway 'a/b'"),
    ({"feedback": 1, "gateway": "g" * 65}, "gateway ids have 1 to 64"),
]


@MODES
@pytest.mark.parametrize(("kw", "message"), BAD_ARGUMENTS, ids=[m for _, m in BAD_ARGUMENTS])
async def test_bad_arguments_fail_before_any_request(mode: str, kw: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message.replace("[", r"\[").replace("(", r"\(")):
        if mode == "sync":
            with WorkersAIClient(**CLOSED, max_retries=0) as client:
                send_feedback(client, "01JLOG", **kw)
        else:
            async with AsyncWorkersAIClient(**CLOSED, max_retries=0) as aclient:
                await asend_feedback(aclient, "01JLOG", **kw)


@pytest.mark.parametrize("log_id", ["", "..", "a/b", "id?x", None])
def test_a_log_id_that_is_not_one_path_segment_is_refused(log_id: Any) -> None:
    with WorkersAIClient(**CLOSED) as client, pytest.raises(InvalidRequestError, match="log_id"):
        send_feedback(client, log_id, feedback=1)


# -- the framework helpers ----------------------------------------------------------------------
def _lc(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(**{"model": GPT, **adapter_kwargs(emulator), "max_retries": 0, **kw})


def _li(emulator: EmulatorServer, **kw: Any) -> WorkersAI:
    return WorkersAI(**{"model": GEMINI, **adapter_kwargs(emulator), "max_retries": 0, **kw})


@MODES
async def test_langchain_rates_an_answer_from_a_chain(emulator: EmulatorServer, mode: str) -> None:
    llm = _lc(emulator, gateway_id="chat-gw")
    question = [HumanMessage("What is Cloudflare?")]
    if mode == "sync":
        answer = llm.invoke(question)
        send_message_feedback(llm, answer, feedback=1, score=95, metadata={"user": "ada"})
    else:
        answer = await llm.ainvoke(question)
        await asend_message_feedback(llm, answer, feedback=1, score=95, metadata={"user": "ada"})

    log = _log(emulator, answer.response_metadata["gateway_log_id"], "chat-gw")
    assert (log["feedback"], log["score"], log["metadata"]) == (1, 95, {"user": "ada"})


@MODES
async def test_langchain_rates_a_streamed_answer_by_its_summed_chunks(
    emulator: EmulatorServer, mode: str
) -> None:
    llm = _lc(emulator)
    chunks = (
        list(llm.stream("Hi")) if mode == "sync" else [chunk async for chunk in llm.astream("Hi")]
    )
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    if mode == "sync":
        send_message_feedback(llm, whole, feedback=-1)
    else:
        await asend_message_feedback(llm, whole.response_metadata, feedback=-1)

    assert _log(emulator, whole.response_metadata["gateway_log_id"])["feedback"] == -1


@MODES
async def test_llama_index_rates_a_chat_response(emulator: EmulatorServer, mode: str) -> None:
    llm = _li(emulator)
    messages = [ChatMessage(role="user", content="What is Cloudflare?")]
    if mode == "sync":
        answer = llm.chat(messages)
        send_response_feedback(llm, answer, feedback=True, score=60)
    else:
        answer = await llm.achat(messages)
        await asend_response_feedback(llm, answer, feedback=True, score=60)

    log = _log(emulator, answer.additional_kwargs["gateway_log_id"])
    assert (log["feedback"], log["score"], log["model"]) == (1, 60, GEMINI)


@MODES
async def test_llama_index_rates_a_completion(emulator: EmulatorServer, mode: str) -> None:
    llm = _li(emulator)
    if mode == "sync":
        answer = llm.complete("Say hi")
        send_response_feedback(llm, answer, feedback=0, metadata={"reviewed": True})
    else:
        answer = await llm.acomplete("Say hi")
        await asend_response_feedback(llm, answer, feedback=0, metadata={"reviewed": True})

    log = _log(emulator, answer.additional_kwargs["gateway_log_id"])
    assert (log["feedback"], log["metadata"]) == (0, {"reviewed": True})


@MODES
async def test_an_answer_without_a_log_id_says_why(emulator: EmulatorServer, mode: str) -> None:
    """A Workers AI model called directly (no gateway) has no log to rate."""
    lc_llm, li_llm = _lc(emulator, model=LLAMA), _li(emulator, model=LLAMA)
    direct = lc_llm.invoke("Hi") if mode == "sync" else await lc_llm.ainvoke("Hi")
    assert "gateway_log_id" not in direct.response_metadata
    li_answer = ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content="Hi"))
    calls: list[Callable[[], Any]] = [
        lambda: send_message_feedback(lc_llm, direct, feedback=1),
        lambda: send_message_feedback(lc_llm, AIMessage("made up"), feedback=1),
        lambda: send_response_feedback(li_llm, li_answer, feedback=1),
    ]
    if mode == "async":
        calls = [
            lambda: asend_message_feedback(lc_llm, direct, feedback=1),
            lambda: asend_message_feedback(lc_llm, AIMessage("made up"), feedback=1),
            lambda: asend_response_feedback(li_llm, li_answer, feedback=1),
        ]
    for call in calls:
        with pytest.raises(InvalidRequestError, match="no gateway_log_id") as info:
            result = call()
            if mode == "async":
                await result
        assert "third-party model" in str(info.value)
    assert not emulator.gateway_logs()


@MODES
async def test_langchain_raises_the_langchain_twin_for_an_unknown_log(
    emulator: EmulatorServer, mode: str
) -> None:
    llm = _lc(emulator)
    made_up = AIMessage("x", response_metadata={"gateway_log_id": "01JNOSUCHLOG"})
    with pytest.raises(lcw.GatewayLogNotFoundError) as info:
        if mode == "sync":
            send_message_feedback(llm, made_up, feedback=1)
        else:
            await asend_message_feedback(llm, made_up, feedback=1)

    assert isinstance(info.value, GatewayLogNotFoundError)
    assert isinstance(info.value, ModelInvalidRequestError)
    assert "'01JNOSUCHLOG'" in str(info.value)


def test_the_helpers_need_the_model_that_answered(emulator: EmulatorServer) -> None:
    answer = AIMessage("x", response_metadata={"gateway_log_id": "01JLOG"})
    with pytest.raises(InvalidRequestError, match="Pass the ChatWorkersAI"):
        send_message_feedback(object(), answer, feedback=1)
    with pytest.raises(InvalidRequestError, match="Pass the WorkersAI LLM"):
        send_response_feedback(object(), {"gateway_log_id": "01JLOG"}, feedback=1)
    with pytest.raises(InvalidRequestError, match="Pass the AIMessage"):
        send_message_feedback(_lc(emulator), "01JLOG", feedback=1)  # type: ignore[arg-type]
