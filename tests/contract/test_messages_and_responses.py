"""Anthropic's Messages API and OpenAI's Responses API in both frameworks (issue #17).

Against the emulator's Anthropic-shaped and Responses-shaped stand-ins: which route each model
and option reaches, streamed tool calls arriving whole with usage once, thinking as reasoning,
cache-token usage, typed errors naming the provider, fallbacks across APIs, and what is refused
before any request. Sync and async (and streamed) each time.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from llama_index.core.llms import ChatMessage
from pydantic import BaseModel

from langchain_workers_ai import ChatWorkersAI
from llama_index_workers_ai import WorkersAI
from tests.support.emulator import adapter_kwargs
from tests.support.tools import get_weather
from tests.support.waits import fake_waits
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.errors import InvalidRequestError, ModelIdError, SpendLimitError

CLAUDE = "anthropic/claude-sonnet-4-5"
GPT = "openai/gpt-4.1"
MESSAGES = "POST /ai/v1/messages"
RESPONSES = "POST /ai/v1/responses"
CHAT = "POST /ai/v1/chat/completions"
MODES = pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


def lc(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(**{"model": CLAUDE, **adapter_kwargs(emulator), "max_retries": 0, **kw})


def li(emulator: EmulatorServer, **kw: Any) -> WorkersAI:
    return WorkersAI(**{"model": CLAUDE, **adapter_kwargs(emulator), "max_retries": 0, **kw})


async def _lc(model: Any, mode: str, messages: Any, **kw: Any) -> tuple[AIMessage, int]:
    """The whole answer, and how many chunks carried usage (1 for a plain call)."""
    if mode in ("sync", "async"):
        msg = (
            model.invoke(messages, **kw) if mode == "sync" else await model.ainvoke(messages, **kw)
        )
        return msg, 1
    if mode == "stream":
        chunks = list(model.stream(messages, **kw))
    else:
        chunks = [c async for c in model.astream(messages, **kw)]
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    return whole, sum(1 for c in chunks if c.usage_metadata)


def _routes(emulator: EmulatorServer) -> dict[str, int]:
    return {k: v for k, v in emulator.stats()["by_route"].items() if v}


# -- which route ----------------------------------------------------------------------------------


@MODES
async def test_anthropic_models_speak_the_messages_api_by_default(
    emulator: EmulatorServer, mode: str
) -> None:
    reply, with_usage = await _lc(lc(emulator), mode, [HumanMessage("What is Cloudflare?")])
    assert isinstance(reply.content, str) and reply.content
    assert reply.response_metadata["finish_reason"] == "stop"
    assert with_usage == 1 and reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0
    assert _routes(emulator) == {MESSAGES: 1}


@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_endpoint_openai_keeps_anthropic_on_chat_completions(
    emulator: EmulatorServer, mode: str
) -> None:
    reply, _ = await _lc(lc(emulator, endpoint="openai"), mode, "What is Cloudflare?")
    assert reply.content
    assert _routes(emulator) == {CHAT: 1}


@MODES
async def test_per_call_endpoint_responses(emulator: EmulatorServer, mode: str) -> None:
    reply, with_usage = await _lc(lc(emulator, model=GPT), mode, "Hi", endpoint="responses")
    assert reply.content and with_usage == 1
    assert _routes(emulator) == {RESPONSES: 1}


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
async def test_llama_index_takes_both_apis(emulator: EmulatorServer, mode: str) -> None:
    messages = [ChatMessage(role="user", content="What is Cloudflare?")]
    for llm in (li(emulator), li(emulator, model=GPT, endpoint="responses")):
        if mode == "sync":
            reply = llm.chat(messages)
        elif mode == "async":
            reply = await llm.achat(messages)
        else:
            reply = list(llm.stream_chat(messages))[-1]
        assert reply.message.content
        assert reply.additional_kwargs["total_tokens"] > 0
    assert _routes(emulator) == {MESSAGES: 1, RESPONSES: 1}


# -- tools, reasoning, usage ----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["native", "responses"])
@MODES
async def test_tool_calls_round_trip_and_arrive_whole_in_streams(
    emulator: EmulatorServer, mode: str, endpoint: str
) -> None:
    model = lc(emulator, endpoint=endpoint).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    reply, with_usage = await _lc(model, mode, [question])
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert reply.tool_calls[0]["id"]
    assert not reply.invalid_tool_calls and with_usage == 1
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    result = get_weather.invoke(reply.tool_calls[0])
    final, _ = await _lc(model, mode, [question, reply, result])
    assert isinstance(final.content, str) and final.content and not final.tool_calls


@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_thinking_arrives_as_reasoning(emulator: EmulatorServer, mode: str) -> None:
    reply, _ = await _lc(lc(emulator, reasoning_effort="low"), mode, "Why is the sky blue?")
    assert reply.additional_kwargs.get("reasoning_content")
    assert reply.content  # the answer stays apart from the thinking
    assert reply.additional_kwargs["reasoning_content"] not in reply.content


# -- errors and fallbacks -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
async def test_gateway_errors_on_the_messages_route_are_typed_and_name_the_provider(
    emulator: EmulatorServer, mode: str
) -> None:
    emulator.configure(faults=[FaultSpec(kind="gateway_spend_limit", model=CLAUDE)])
    with pytest.raises(SpendLimitError) as raised:
        await _lc(lc(emulator), mode, "Hi")
    assert raised.value.provider == "anthropic"
    assert "anthropic" in str(raised.value)


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_a_fallback_chain_crosses_apis(emulator: EmulatorServer, mode: str) -> None:
    """Claude (Messages API) out of capacity hands the call to GPT (chat completions), each
    with the body of its own API."""
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CLAUDE)])
    reply, _ = await _lc(lc(emulator, fallbacks=[GPT]), mode, "What is Cloudflare?")
    assert reply.content and reply.response_metadata["answered_by"] == GPT
    assert _routes(emulator) == {MESSAGES: 1, CHAT: 1}


# -- refused before any request -------------------------------------------------------------------


async def test_what_the_messages_api_cannot_take_fails_before_any_request(
    emulator: EmulatorServer,
) -> None:
    class Person(BaseModel):
        name: str

    model = lc(emulator)
    late_system = [HumanMessage("Hi"), SystemMessage("Be brief.")]
    with pytest.raises(InvalidRequestError, match="Message 1 is a system message"):
        model.invoke(late_system)
    with pytest.raises(InvalidRequestError, match="no JSON mode"):
        model.with_structured_output(Person, method="json_schema").invoke("Ada")
    with pytest.raises(InvalidRequestError, match="budget_tokens"):
        model.invoke("Hi", thinking={"type": "enabled", "budget_tokens": 10})
    with pytest.raises((ModelIdError, ValueError), match="no Messages API route"):
        lc(emulator, model="@cf/meta/llama-3.1-8b-instruct", endpoint="messages")
    with pytest.raises((ModelIdError, ValueError), match="routing alias"):
        li(emulator, model="dynamic/support", endpoint="responses")
    assert emulator.stats()["requests"] == 0


def test_structured_output_by_tool_call_works_on_the_messages_api(emulator: EmulatorServer) -> None:
    class Person(BaseModel):
        name: str
        age: int

    person = lc(emulator).with_structured_output(Person).invoke("Ada Lovelace is 36 years old.")
    assert person == Person(name="Ada Lovelace", age=36)


# -- thinking blocks go back with the turn's tool calls ----------------------------------------


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_thinking_blocks_are_sent_back_with_the_turns_tool_calls(
    emulator: EmulatorServer, mode: str
) -> None:
    """With thinking on, Anthropic needs an assistant turn's thinking blocks (signature
    included) back before its tool_use blocks; the answer carries them in
    ``additional_kwargs["reasoning_blocks"]`` and the next request sends them."""
    import json

    import httpx

    sent: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> None:
        sent.append(json.loads(request.read()))

    client = httpx.Client(event_hooks={"request": [record]})
    model = lc(emulator, reasoning_effort="low", http_client=client).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    reply, _ = await _lc(model, mode, [question])
    blocks = reply.additional_kwargs["reasoning_blocks"]
    assert blocks and blocks[0]["type"] == "thinking" and blocks[0]["signature"]
    assert blocks[0]["thinking"] == reply.additional_kwargs["reasoning_content"]
    await _lc(model, mode, [question, reply, get_weather.invoke(reply.tool_calls[0])])
    assistant = sent[-1]["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0]["type"] == "thinking"
    assert assistant["content"][0] == blocks[0]
    assert "tool_use" in [b["type"] for b in assistant["content"]]


def test_llama_index_sends_thinking_blocks_back_too(emulator: EmulatorServer) -> None:
    from llama_index.core.tools import FunctionTool

    from llama_index_workers_ai._convert import li_messages_to_neutral

    def weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    tools = [FunctionTool.from_defaults(fn=weather, name="get_weather")]
    llm = li(emulator, reasoning_effort="low")
    reply = llm.chat_with_tools(tools, user_msg="What is the weather in Paris?")
    blocks = reply.message.additional_kwargs["reasoning_blocks"]
    assert blocks[0]["signature"]
    streamed = list(llm.stream_chat_with_tools(tools, user_msg="What is the weather in Paris?"))
    assert streamed[-1].message.additional_kwargs["reasoning_blocks"] == blocks
    [sent_back] = li_messages_to_neutral([reply.message])
    assert list(sent_back.reasoning_blocks) == blocks


# -- errors in the providers' own formats ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "endpoint", "provider"),
    [(CLAUDE, "native", "anthropic"), (GPT, "responses", "openai")],
)
@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_a_providers_error_body_becomes_a_typed_error_naming_it(
    emulator: EmulatorServer, mode: str, model: str, endpoint: str, provider: str
) -> None:
    from workers_ai.errors import BadRequestError

    emulator.configure(faults=[FaultSpec(kind="provider_error", model=model)])
    with pytest.raises(BadRequestError) as raised:
        await _lc(lc(emulator, model=model, endpoint=endpoint), mode, "Hi")
    assert raised.value.provider == provider and provider in str(raised.value)
    assert raised.value.status_code == 400


# -- the gateway's URL surfaces (routing="url") -------------------------------------------------


def _url(emulator: EmulatorServer) -> dict[str, Any]:
    return {"gateway_id": "gw-17", "gateway_options": {"routing": "url"}}


@pytest.mark.parametrize(("model", "endpoint"), [(CLAUDE, "native"), (GPT, "responses")])
@MODES
async def test_url_routing_uses_the_provider_native_paths(
    emulator: EmulatorServer, mode: str, model: str, endpoint: str
) -> None:
    chat = lc(emulator, model=model, endpoint=endpoint, **_url(emulator))
    reply, with_usage = await _lc(chat, mode, "What is Cloudflare?")
    assert reply.content and with_usage == 1
    [log] = emulator.gateway_logs("gw-17")
    path = "anthropic/v1/messages" if endpoint == "native" else "openai/responses"
    assert log["path"].endswith(path), log["path"]


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_the_gateways_fallback_takes_messages_entries(
    emulator: EmulatorServer, mode: str
) -> None:
    """Claude (Messages API, provider-native entry) out of capacity; the universal endpoint
    moves on to GPT (compat entry); the answer is read in GPT's shape."""
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CLAUDE)])
    chat = lc(emulator, fallbacks=[GPT], **_url(emulator))
    reply, _ = await _lc(chat, mode, "What is Cloudflare?")
    assert reply.content
    assert reply.response_metadata["answered_by"] == GPT
    assert reply.response_metadata["gateway_step"] == 1


@pytest.mark.parametrize(("model", "endpoint"), [(CLAUDE, "native"), (GPT, "responses")])
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_an_error_right_after_a_typed_streams_opening_still_falls_back(
    emulator: EmulatorServer, mode: str, model: str, endpoint: str
) -> None:
    """``message_start`` / ``response.created`` say nothing yet: an error event right after
    them is a start-of-stream failure (retried, then handed to the next model)."""
    other = GPT if model == CLAUDE else CLAUDE
    emulator.configure(faults=[FaultSpec(kind="stream_error", model=model, after=1)])
    chat = lc(emulator, model=model, endpoint=endpoint, fallbacks=[other])
    reply, _ = await _lc(chat, mode, "What is Cloudflare?")
    assert reply.content and reply.response_metadata["answered_by"] == other
