"""The emulator as a testing tool (issue #19, items 1-2): scripted replies and the request log.

A test scripts what the model says -- text, tool calls, reasoning, JSON, stream chunks, usage,
a finish reason, a Cloudflare error or a fault -- and the emulator renders it in the model
family's real wire shape, so the adapters' real parsing runs: Workers AI's classic shape (and
its legacy tool-call format), its chat-completion shape, the OpenAI-compatible route, and the
gateway's OpenAI chat completions, Responses and Anthropic Messages shapes, streamed or not.
Rules match on model, route, the last user message or any message (substring, regex,
predicate), in order, one-shot or repeating; strict mode refuses unmatched requests. Rules
can be added over the token-protected control route. Every API request is logged with its
credentials masked, readable in process and over HTTP.

The first tests are the issue's own example: an agent that calls ``refund_order`` when the
customer asks for a refund, then apologises -- with a LangChain tool-calling loop and a
LlamaIndex ``FunctionAgent``.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import httpx
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool, tool
from llama_index.core.llms import ChatMessage
from pydantic import BaseModel

from langchain_workers_ai import ChatWorkersAI
from llama_index_workers_ai import WorkersAI
from tests.support.emulator import adapter_kwargs, clean_emulator
from tests.support.waits import fake_waits
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.request_log import MAX_REQUESTS, RecordedRequest, RequestLog
from workers_ai.emulator.scripts import ROUTES, Reply, Rule, ScriptError, ToolCall
from workers_ai.errors import (
    APIConnectionError,
    BadRequestError,
    CapacityError,
    InternalServerError,
    RateLimitError,
    StreamError,
)

CF = "@cf/meta/llama-3.1-8b-instruct"
LEGACY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # classic shape, legacy tool-call format
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # chat-completion shape, reasoning_content
GPT = "openai/gpt-4.1"
CLAUDE = "anthropic/claude-sonnet-4-5"
ROOT = Path(__file__).resolve().parents[2]

APOLOGY = "I'm so sorry about the broken order -- your refund of $12.50 is on its way."
REFUND_ARGS = {"order_id": "A-17", "amount": "12.50"}  # a string amount: the client coerces it


@dataclass(frozen=True)
class Family:
    """One wire shape the scripted replies are rendered in, and what it shows."""

    id: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)
    route: str = "run"  # the request log's route_name
    reasoning: bool = True  # LangChain's additional_kwargs["reasoning_content"]
    finish_reason: bool = True  # response_metadata["finish_reason"] as scripted
    json_mode: bool = True


FAMILIES = [
    Family("classic", CF, reasoning=False, finish_reason=False),
    Family("classic-legacy-tools", LEGACY, reasoning=False, finish_reason=False),
    Family("chat-completion", QWEN),
    Family("openai-route", CF, {"endpoint": "openai"}, route="chat/completions"),
    Family("gateway-openai", GPT, route="chat/completions"),
    # the Responses API shows reasoning only as a summary of a reasoning model's
    Family("gateway-responses", GPT, {"endpoint": "responses"}, "responses", reasoning=False),
    Family("gateway-anthropic", CLAUDE, route="messages", json_mode=False),  # no JSON mode
]
BY_FAMILY = pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.id)
MODES = pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
STREAMS = pytest.mark.parametrize("mode", ["stream", "astream"])
SYNC_AND_STREAMS = pytest.mark.parametrize("mode", ["sync", "stream", "astream"])
URL_ROUTED = {"gateway_id": "scripts-gw", "gateway_options": {"routing": "url"}}


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


def lc(emulator: EmulatorServer, family: Family, **kw: Any) -> ChatWorkersAI:
    defaults = {"model": family.model, **adapter_kwargs(emulator), "max_retries": 0}
    return ChatWorkersAI(**{**defaults, **family.options, **kw})


def li(emulator: EmulatorServer, family: Family, **kw: Any) -> WorkersAI:
    defaults = {"model": family.model, **adapter_kwargs(emulator), "max_retries": 0}
    return WorkersAI(**{**defaults, **family.options, **kw})


async def ask(model: Any, mode: str, messages: Any, **kw: Any) -> AIMessage:
    """The whole answer, however it was asked for (stream chunks merged)."""
    if mode == "sync":
        return model.invoke(messages, **kw)  # type: ignore[no-any-return]
    if mode == "async":
        return await model.ainvoke(messages, **kw)  # type: ignore[no-any-return]
    chunks = await stream_chunks(model, mode, messages, **kw)
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    return whole  # type: ignore[no-any-return]


async def stream_chunks(model: Any, mode: str, messages: Any, **kw: Any) -> list[Any]:
    if mode == "stream":
        return list(model.stream(messages, **kw))
    return [c async for c in model.astream(messages, **kw)]


def refund_tool(done: list[tuple[str, float]]) -> BaseTool:
    @tool
    def refund_order(order_id: str, amount: float) -> str:
        """Refund a customer's order (the amount in dollars)."""
        done.append((order_id, amount))
        return f"Refund of {amount} issued for order {order_id}."

    return refund_order


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny in {city}."


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            _text(b.get("text", b.get("content"))) for b in content if isinstance(b, dict)
        )
    return ""


def tool_results(request: RecordedRequest) -> list[tuple[str, str]]:
    """``(call id, result text)`` of every tool result a request carried, in any API's shape:
    an OpenAI ``tool`` message, an Anthropic ``tool_result`` block, a Responses
    ``function_call_output`` item."""
    found: list[tuple[str, str]] = []
    for item in request.messages:
        if not isinstance(item, dict):
            continue
        if item.get("role") == "tool":
            found.append((item.get("tool_call_id", ""), _text(item.get("content"))))
        elif item.get("type") == "function_call_output":
            found.append((item.get("call_id", ""), _text(item.get("output"))))
        elif isinstance(item.get("content"), list):
            found += [
                (block.get("tool_use_id", ""), _text(block.get("content")))
                for block in item["content"]
                if isinstance(block, dict) and block.get("type") == "tool_result"
            ]
    return found


def tool_name(spec: dict[str, Any]) -> str:
    """A tool's name in a request's ``tools``, whichever API's shape it is in."""
    return str(spec.get("name") or spec.get("function", {}).get("name"))


def control(
    emulator: EmulatorServer, method: str, what: str, *, token: bool = True, **kw: Any
) -> httpx.Response:
    headers = emulator.control_headers() if token else {}
    return httpx.request(
        method, f"{emulator.root_url}/__emulator/{what}", headers=headers, timeout=10, **kw
    )


def chat_text(emulator: EmulatorServer, user: str, *, model: str = CF, system: str = "") -> str:
    """One native chat call through the core client; the answer's text."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    with emulator.client(max_retries=0) as client:
        return client.chat(model, {"messages": messages}).result.text


# -- 1. the example: an agent that refunds, then apologises -----------------------------


@BY_FAMILY
@MODES
async def test_langchain_agent_calls_refund_order_when_asked_then_apologises(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.script(Reply(tool_calls=[ToolCall("refund_order", REFUND_ARGS)]), last_user="refund")
    emulator.script(Reply(text=APOLOGY))
    done: list[tuple[str, float]] = []
    refund_order = refund_tool(done)
    model = lc(emulator, family).bind_tools([refund_order])
    messages: list[BaseMessage] = [
        SystemMessage("You are a support agent for an online shop."),
        HumanMessage("My order A-17 arrived broken. I want a REFUND of $12.50."),
    ]

    first = await ask(model, mode, messages)
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("refund_order", {"order_id": "A-17", "amount": 12.5})
    ]
    assert not first.invalid_tool_calls
    [call] = first.tool_calls
    messages += [first, refund_order.invoke(call)]
    final = await ask(model, mode, messages)

    assert final.content == APOLOGY and not final.tool_calls
    assert done == [("A-17", 12.5)]
    sent = emulator.last_request()
    assert sent.route_name == family.route and sent.model == family.model
    assert tool_results(sent) == [(call["id"], "Refund of 12.5 issued for order A-17.")]
    assert [tool_name(t) for t in sent.tools] == ["refund_order"]
    assert emulator.request_count(model=family.model) == 2
    assert emulator.scripts.rules() == []  # both one-shot rules answered


@BY_FAMILY
@pytest.mark.filterwarnings(  # LlamaIndex's workflow inspects the agent's pydantic members
    "ignore::pydantic.warnings.PydanticDeprecatedSince20",
    "ignore::pydantic.warnings.PydanticDeprecatedSince211",
)
async def test_llama_index_function_agent_refunds_then_apologises(
    emulator: EmulatorServer, family: Family
) -> None:
    from llama_index.core.agent.workflow import AgentOutput, FunctionAgent
    from llama_index.core.tools import FunctionTool

    done: list[tuple[str, float]] = []

    def refund_order(order_id: str, amount: float) -> str:
        """Refund a customer's order (the amount in dollars)."""
        done.append((order_id, amount))
        return f"Refund of {amount} issued for order {order_id}."

    emulator.script(Reply(tool_calls=[ToolCall("refund_order", REFUND_ARGS)]), last_user="refund")
    emulator.script(Reply(text=APOLOGY))
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(refund_order)],
        llm=li(emulator, family),
        system_prompt="You are a support agent for an online shop.",
    )
    handler = agent.run(user_msg="My order A-17 arrived broken. I want a refund of $12.50.")
    result = cast(AgentOutput, await handler)

    assert str(result) == APOLOGY
    assert done == [("A-17", 12.5)]
    assert [(c.tool_name, c.tool_kwargs) for c in result.tool_calls] == [
        ("refund_order", {"order_id": "A-17", "amount": 12.5})
    ]
    sent = emulator.last_request()
    assert [text for _, text in tool_results(sent)] == ["Refund of 12.5 issued for order A-17."]
    assert emulator.request_count(model=family.model) == 2


# -- 2. every reply kind in every family ---------------------------------------------------------


@BY_FAMILY
@SYNC_AND_STREAMS  # async without a stream: the agent test
async def test_text_usage_and_finish_reason_as_scripted(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.script(
        Reply(
            text="Workers AI runs models on Cloudflare's network.",
            usage={"prompt_tokens": 11, "completion_tokens": 7},
            finish_reason="length",
        )
    )
    reply = await ask(lc(emulator, family), mode, "What is Workers AI?")
    assert reply.content == "Workers AI runs models on Cloudflare's network."
    assert reply.usage_metadata is not None
    usage = reply.usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (11, 7, 18)
    expected = "length" if family.finish_reason else None
    assert reply.response_metadata.get("finish_reason") == expected
    assert emulator.last_request().route_name == family.route


@BY_FAMILY
@SYNC_AND_STREAMS  # async without a stream: the agent test
async def test_tool_calls_parse_to_the_scripted_calls(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.script(
        Reply(
            tool_calls=[
                ToolCall("get_weather", {"city": "Paris"}),
                {"name": "refund_order", "arguments": {"order_id": "B-2", "amount": "3"}},
            ]
        )
    )
    model = lc(emulator, family).bind_tools([get_weather, refund_tool([])])
    reply = await ask(model, mode, "Weather in Paris, and refund B-2 please")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("refund_order", {"order_id": "B-2", "amount": 3.0}),  # "3" coerced to the schema
    ]
    ids = [c["id"] for c in reply.tool_calls]
    assert all(ids) and len(set(ids)) == 2
    assert not reply.invalid_tool_calls
    assert reply.response_metadata.get("finish_reason") == "tool_calls"


@BY_FAMILY
@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_reasoning_shows_where_the_family_has_a_place_and_never_in_the_text(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.script(Reply(text="42", reasoning="Six times seven is forty-two."))
    reply = await ask(lc(emulator, family), mode, "What is six times seven?")
    assert reply.content == "42"
    shown = reply.additional_kwargs.get("reasoning_content")
    assert shown == ("Six times seven is forty-two." if family.reasoning else None)


class Person(BaseModel):
    name: str
    age: int


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.json_mode], ids=lambda f: f.id)
@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_json_reply_comes_back_as_the_structured_object(
    emulator: EmulatorServer,
    family: Family,
    method: Literal["json_schema", "json_mode"],
    mode: str,
) -> None:
    emulator.script(Reply(json={"name": "Ada", "age": 36}))
    structured = lc(emulator, family).with_structured_output(Person, method=method)
    if mode == "sync":
        person = structured.invoke("Who wrote the first program? As JSON.")
    else:
        person = [p async for p in structured.astream("Who wrote the first program?")][-1]
    assert person == Person(name="Ada", age=36)


@BY_FAMILY
async def test_structured_output_by_tool_call_in_every_family(
    emulator: EmulatorServer, family: Family
) -> None:
    """Anthropic's Messages API has no JSON mode: a scripted tool call is its structured
    output (the default method for models that call tools)."""
    emulator.script(Reply(tool_calls=[ToolCall("Person", {"name": "Ada", "age": "36"})]))
    structured = lc(emulator, family).with_structured_output(Person, method="function_calling")
    assert await structured.ainvoke("Who wrote the first program?") == Person(name="Ada", age=36)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_core_client_json_mode_answer_is_the_parsed_object(
    emulator: EmulatorServer, kind: str
) -> None:
    emulator.script(Reply(json={"name": "Ada", "tags": ["math", 1815]}), times=2)
    body = {
        "messages": [{"role": "user", "content": "As JSON please"}],
        "response_format": {"type": "json_object"},
    }
    if kind == "sync":
        with emulator.client(max_retries=0) as client:
            answer = client.chat(CF, body).result
            raw = client.run(CF, body)
    else:
        async with emulator.async_client(max_retries=0) as aclient:
            answer = (await aclient.chat(CF, body)).result
            raw = await aclient.run(CF, body)
    assert answer.parsed == {"name": "Ada", "tags": ["math", 1815]}
    assert json.loads(answer.text) == answer.parsed
    assert raw["response"] == {"name": "Ada", "tags": ["math", 1815]}  # JSON mode: an object


def test_json_reply_outside_json_mode_is_text_in_the_classic_shape(
    emulator: EmulatorServer,
) -> None:
    emulator.script(Reply(json={"name": "Ada"}))
    with emulator.client(max_retries=0) as client:
        raw = client.run(CF, {"messages": [{"role": "user", "content": "Who?"}]})
    assert raw["response"] == '{"name": "Ada"}'


@BY_FAMILY
@STREAMS
async def test_stream_chunks_are_the_scripted_pieces(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    pieces = ["Cloud", "flare ", "runs ", "models", " at the edge."]
    emulator.script(Reply(chunks=pieces, usage={"prompt_tokens": 4, "completion_tokens": 5}))
    chunks = await stream_chunks(lc(emulator, family), mode, "Where do models run?")
    assert [c.content for c in chunks if c.content] == pieces
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert len(usage) == 1  # once, on the last chunk
    assert (usage[0]["input_tokens"], usage[0]["output_tokens"]) == (4, 5)


@BY_FAMILY
@STREAMS
async def test_llama_index_stream_deltas_are_the_scripted_pieces(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    pieces = ["Hel", "lo, ", "wor", "ld!"]
    emulator.script(Reply(chunks=pieces))
    llm = li(emulator, family)
    messages = [ChatMessage(role="user", content="Say hello")]
    if mode == "stream":
        responses = list(llm.stream_chat(messages))
    else:
        responses = [r async for r in await llm.astream_chat(messages)]
    assert [r.delta for r in responses if r.delta] == pieces
    assert responses[-1].message.content == "Hello, world!"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_core_client_stream_deltas_and_usage_are_the_scripted_ones(
    emulator: EmulatorServer, kind: str
) -> None:
    pieces = ["a", "bc", "def"]
    emulator.script(
        Reply(chunks=pieces, usage={"prompt_tokens": 9, "completion_tokens": 3, "cached_tokens": 4})
    )
    body = {"messages": [{"role": "user", "content": "Spell it"}]}
    if kind == "sync":
        with emulator.client(max_retries=0) as client:
            stream = client.stream_chat(QWEN, body)
            texts = [d.text for d in stream]
            usage = stream.result().usage
    else:
        async with emulator.async_client(max_retries=0) as aclient:
            astream = await aclient.stream_chat(QWEN, body)
            texts = [d.text async for d in astream]
            usage = astream.result().usage
    assert [t for t in texts if t] == pieces
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (9, 3, 4)


# -- 3. errors and faults -------------------------------------------------------------------------


@BY_FAMILY
@pytest.mark.parametrize("mode", ["sync", "astream"])
async def test_scripted_capacity_error_is_retried_and_the_retry_gets_the_stand_in(
    emulator: EmulatorServer, family: Family, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = fake_waits(monkeypatch)
    emulator.script(Reply(error={"status": 429, "code": 3040}), model=family.model, times=1)
    reply = await ask(lc(emulator, family, max_retries=1), mode, "What is Cloudflare?")
    assert isinstance(reply.content, str) and reply.content  # the stand-in's answer
    assert [r.status for r in emulator.requests()] == [429, 200]
    assert len(waits.delays) == 1


@BY_FAMILY
@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
async def test_scripted_error_raises_the_typed_error_without_retries(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.script(
        Reply(error={"status": 429, "code": 3040, "message": "Scripted: out of capacity"})
    )
    with pytest.raises(CapacityError) as raised:
        await ask(lc(emulator, family), mode, "Hi")
    assert raised.value.status_code == 429 and raised.value.code == 3040
    assert "Scripted: out of capacity" in str(raised.value)


@BY_FAMILY
async def test_scripted_server_error_fault(emulator: EmulatorServer, family: Family) -> None:
    emulator.script(Reply(fault="server_error"))
    with pytest.raises(InternalServerError) as raised:
        await lc(emulator, family).ainvoke("Hi")
    assert raised.value.status_code == 500
    assert emulator.last_request().status == 500


@BY_FAMILY
@STREAMS
async def test_scripted_stream_cut_breaks_the_real_stream(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.script(Reply(fault="stream_cut"))
    with pytest.raises(StreamError):
        await stream_chunks(lc(emulator, family), mode, "Tell me a long story")
    assert emulator.last_request().status == 200  # the answer started, then was cut


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [("reset", APIConnectionError, 0), ("rate_limit", RateLimitError, 429)],
)
def test_scripted_connection_reset_and_rate_limit_faults(
    emulator: EmulatorServer, fault: str, error: type[Exception], status: int
) -> None:
    emulator.script(Reply(fault=fault))
    with pytest.raises(error):
        chat_text(emulator, "Hi")
    assert emulator.last_request().status == status  # a dropped connection is logged as 0
    assert chat_text(emulator, "Hi")  # one-shot: the next request is answered


async def test_concurrent_requests_share_a_rule_s_times_exactly(emulator: EmulatorServer) -> None:
    emulator.script("Scripted.", times=5)
    body = [{"messages": [{"role": "user", "content": f"Question {i}?"}]} for i in range(30)]
    async with emulator.async_client(max_retries=0) as aclient:
        answers = await asyncio.gather(*(aclient.chat(CF, b) for b in body))
    assert [a.result.text for a in answers].count("Scripted.") == 5
    assert emulator.scripts.describe()["rules"][0]["used"] == 5
    assert emulator.request_count(model=CF) == 30


def test_errors_are_answered_before_the_model_runs(emulator: EmulatorServer) -> None:
    """A content rule queued behind an error rule is not used by the failed request."""
    emulator.script(Reply(error={"status": 503, "code": 3040}))
    content = emulator.script("Answered after the error.")
    with pytest.raises(CapacityError):
        chat_text(emulator, "Hi")
    assert content.used == 0
    [failed] = emulator.requests()
    assert (failed.status, failed.route_name, failed.model) == (503, "run", CF)
    assert chat_text(emulator, "Hi") == "Answered after the error."
    assert [r.status for r in emulator.requests()] == [503, 200]


NATIVE_PATHS = pytest.mark.parametrize(
    ("family", "path", "bare"),
    [
        (FAMILIES[6], "POST gateway /anthropic/v1/messages", "claude-sonnet-4-5"),
        (FAMILIES[5], "POST gateway /openai/responses", "gpt-4.1"),
    ],
    ids=["anthropic", "openai-responses"],
)
_NATIVE_ALIAS_BUG = (
    "library bug: on the gateway's provider-native paths ({gateway}/anthropic/v1/messages, "
    "{gateway}/openai/responses) the body names the model without its provider "
    "('claude-sonnet-4-5'); app.handle passes that bare name to scripts.answering() and "
    "app._scripted_failure to scripts.failure_for(), and thirdparty's ModelFacts id is the "
    "bare name too (generate()'s also=), so scripted_request's models are only "
    "{'claude-sonnet-4-5'} and a rule with model='anthropic/claude-sonnet-4-5' never matches "
    "there, contrary to Rule.model's docstring (app._pick_fault builds the alias "
    "f'{route.provider}/{model}' for fault rules; scripts need the same)"
)


@NATIVE_PATHS
def test_content_rule_for_the_full_model_id_applies_on_the_provider_native_path(
    emulator: EmulatorServer, family: Family, path: str, bare: str
) -> None:
    emulator.script("Scripted on the native path.", model=family.model)
    chat = lc(emulator, family, **URL_ROUTED)
    assert chat.invoke("Hi").content == "Scripted on the native path."


@NATIVE_PATHS
def test_error_rule_for_the_full_model_id_applies_on_the_provider_native_path(
    emulator: EmulatorServer, family: Family, path: str, bare: str
) -> None:
    emulator.script(Reply(error={"status": 429, "code": 3040}), model=family.model)
    with pytest.raises(CapacityError):
        lc(emulator, family, **URL_ROUTED).invoke("Hi")


@NATIVE_PATHS
def test_rules_for_the_bare_model_name_apply_on_the_provider_native_path(
    emulator: EmulatorServer, family: Family, path: str, bare: str
) -> None:
    """What works today on those paths: the provider's own model name (or no model)."""
    chat = lc(emulator, family, **URL_ROUTED)
    emulator.script("Scripted on the native path.", model=bare)
    assert chat.invoke("Hi").content == "Scripted on the native path."
    emulator.script(Reply(error={"status": 429, "code": 3040}), model=bare)
    with pytest.raises(CapacityError):
        chat.invoke("Hi")
    sent = emulator.last_request()
    assert (sent.route, sent.route_name, sent.model) == (path, family.route, bare)


def test_error_rule_fails_its_model_inside_the_universal_endpoint(
    emulator: EmulatorServer,
) -> None:
    model = lc(emulator, FAMILIES[0], fallbacks=[GPT], **URL_ROUTED)
    emulator.script(Reply(error={"status": 429, "code": 3040}), model=CF)
    reply = model.invoke("What is Cloudflare?")
    assert reply.response_metadata["answered_by"] == GPT


def test_content_rules_answer_inside_the_universal_endpoint(emulator: EmulatorServer) -> None:
    emulator.script("From the universal endpoint.", route="universal", model=CF)
    reply = lc(emulator, FAMILIES[0], fallbacks=[GPT], **URL_ROUTED).invoke("Hi")
    assert reply.content == "From the universal endpoint."
    assert reply.response_metadata["answered_by"] == CF
    assert emulator.last_request().route_name == "universal"


# -- 4. matching -----------------------------------------------------------------------------------


def test_model_rule_answers_only_that_model(emulator: EmulatorServer) -> None:
    baseline = chat_text(emulator, "What is Cloudflare?")
    emulator.script("Only Qwen says this.", model=QWEN, times=None)
    assert chat_text(emulator, "What is Cloudflare?") == baseline  # falls through
    assert chat_text(emulator, "What is Cloudflare?", model=QWEN) == "Only Qwen says this."


def test_a_third_party_rule_matches_with_or_without_the_provider(
    emulator: EmulatorServer,
) -> None:
    emulator.script("Bare name.", model="gpt-4.1")
    assert lc(emulator, FAMILIES[4]).invoke("Hi").content == "Bare name."


def test_route_rule_answers_only_that_route(emulator: EmulatorServer) -> None:
    emulator.script("Only the OpenAI route says this.", route="chat/completions", times=None)
    assert lc(emulator, FAMILIES[0]).invoke("Hi").content != "Only the OpenAI route says this."
    for family in (FAMILIES[3], FAMILIES[4]):  # the REST route, a @cf model and openai/
        assert lc(emulator, family).invoke("Hi").content == "Only the OpenAI route says this."
    assert lc(emulator, FAMILIES[5]).invoke("Hi").content != "Only the OpenAI route says this."


def test_last_user_is_a_case_insensitive_substring_of_the_last_user_message(
    emulator: EmulatorServer,
) -> None:
    emulator.script("Refund path.", last_user="REFUND", times=None)
    assert chat_text(emulator, "Please refund my order") == "Refund path."
    with emulator.client(max_retries=0) as client:
        messages = [
            {"role": "user", "content": "I want a refund"},
            {"role": "assistant", "content": "Sure."},
            {"role": "user", "content": "Thanks, bye"},
        ]
        later = client.chat(CF, {"messages": messages}).result.text
    assert later != "Refund path."  # only the last user message counts


def test_regex_and_predicate_matchers(emulator: EmulatorServer) -> None:
    def long_question(text: str) -> bool:
        return text.endswith("?") and len(text.split()) > 6

    emulator.script("Order lookup.", last_user=re.compile(r"order\s+#?\d+"), times=None)
    emulator.script("A long question.", last_user=long_question, times=None)
    assert chat_text(emulator, "Where is order #4711") == "Order lookup."
    assert chat_text(emulator, "Where is my order") != "Order lookup."  # no number
    assert chat_text(emulator, "Why is the sky blue on a sunny day?") == "A long question."
    assert chat_text(emulator, "Why?") != "A long question."
    described = [r.describe() for r in emulator.scripts.rules()]
    assert described[0]["last_user"] == {"regex": r"order\s+#?\d+"}
    assert described[1]["last_user"] == {"predicate": "long_question"}


def test_any_message_matches_a_system_prompt(emulator: EmulatorServer) -> None:
    emulator.script("Arr, matey!", any_message="pirate")
    assert chat_text(emulator, "Hello", system="Talk like a PIRATE.") == "Arr, matey!"
    emulator.script("Arr again!", any_message="pirate")
    assert chat_text(emulator, "Hello") != "Arr again!"  # no message mentions pirates


@BY_FAMILY
async def test_last_user_and_any_message_read_every_family_s_request(
    emulator: EmulatorServer, family: Family
) -> None:
    emulator.script("Matched.", last_user="bananas", any_message="fruit seller")
    messages = [SystemMessage("You are a fruit seller."), HumanMessage("Price of BANANAS?")]
    assert (await lc(emulator, family).ainvoke(messages)).content == "Matched."


def test_rules_answer_in_order_and_spent_rules_are_skipped(emulator: EmulatorServer) -> None:
    first = emulator.script("first")
    second = emulator.script("second", times=2)
    always = emulator.script("always", times=None)
    answers = [chat_text(emulator, "Hi") for _ in range(6)]
    assert answers == ["first", "second", "second", "always", "always", "always"]
    assert (first.used, second.used, always.used) == (1, 2, 3)
    assert first.spent and second.spent and not always.spent
    assert emulator.scripts.rules() == [always]  # spent rules are no longer listed as live
    assert [r["used"] for r in emulator.scripts.describe()["rules"]] == [1, 2, 3]


def test_an_error_queued_after_a_text_reply_answers_the_second_request(
    emulator: EmulatorServer,
) -> None:
    emulator.script("First answer.")
    emulator.script(Reply(error={"status": 429, "code": 3040}))
    assert chat_text(emulator, "Hi") == "First answer."
    with pytest.raises(CapacityError):
        chat_text(emulator, "Hi again")


def test_a_later_rule_answers_what_an_earlier_one_does_not_match(
    emulator: EmulatorServer,
) -> None:
    emulator.script("weather", last_user="weather")
    emulator.script("anything")
    assert chat_text(emulator, "Hello") == "anything"
    assert chat_text(emulator, "And the weather?") == "weather"


def test_unmatched_requests_fall_through_to_the_stand_ins(emulator: EmulatorServer) -> None:
    baseline = chat_text(emulator, "What is Workers AI?")
    emulator.script("never", last_user="zebra", times=None)
    assert chat_text(emulator, "What is Workers AI?") == baseline


@pytest.mark.parametrize(
    ("family", "mode"),
    [*((f, "sync") for f in FAMILIES), (FAMILIES[0], "stream"), (FAMILIES[6], "astream")],
    ids=[*(f"sync-{f.id}" for f in FAMILIES), "stream-classic", "astream-gateway-anthropic"],
)
async def test_strict_mode_refuses_unmatched_requests_with_a_400_listing_the_rules(
    emulator: EmulatorServer, family: Family, mode: str
) -> None:
    emulator.scripts.strict = True
    emulator.script("Only for zebras.", last_user="zebra")
    with pytest.raises(BadRequestError) as raised:
        await ask(lc(emulator, family), mode, "Hello there")
    message = str(raised.value)
    assert "no rule matches this request" in message
    assert f"route {family.route}" in message and "'Hello there'" in message
    assert '"last_user": "zebra"' in message and "Only for zebras." in message
    assert raised.value.status_code == 400
    reply = await ask(lc(emulator, family), mode, "Tell me about zebras")
    assert reply.content == "Only for zebras."  # a matching request still answers
    with pytest.raises(BadRequestError, match="none left"):
        await ask(lc(emulator, family), mode, "Tell me about zebras")


def test_reset_and_the_fixture_clear_rules_and_strict_mode(emulator: EmulatorServer) -> None:
    emulator.script("x", times=None)
    emulator.scripts.strict = True
    emulator.reset()
    assert emulator.scripts.rules() == [] and not emulator.scripts.strict
    emulator.script("y", times=None)
    emulator.scripts.strict = True
    clean_emulator(emulator)  # what the contract fixture does between tests
    assert emulator.scripts.describe() == {"strict": False, "rules": []}
    assert emulator.script("z").id == 1  # numbering restarts
    emulator.scripts.clear()
    assert len(emulator.scripts) == 0


# -- 5. the control route -------------------------------------------------------------------------


def test_rules_over_http_need_the_token(emulator: EmulatorServer) -> None:
    rules = {"rules": [{"reply": {"text": "over http"}}], "strict": True}
    for method in ("GET", "POST", "DELETE"):
        denied = control(emulator, method, "scripts", token=False, json=rules)
        assert denied.status_code == 401
        assert denied.json()["errors"][0]["code"] == 10000
    assert emulator.scripts.describe() == {"strict": False, "rules": []}


def test_rules_over_http_answer_and_list_their_use(emulator: EmulatorServer) -> None:
    payload = {
        "rules": [
            {
                "reply": {"text": "Hello over HTTP."},
                "last_user": {"regex": r"^hello\b"},
                "times": 2,
            },
            {
                "reply": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
                "model": QWEN,
                "route": "run",
                "any_message": "weather",
            },
            {"reply": {"error": {"status": 429, "code": 3040}}, "model": GPT, "times": None},
        ]
    }
    added = control(emulator, "POST", "scripts", json=payload)
    assert added.status_code == 200 and added.json() == {"added": [1, 2, 3], "strict": False}
    assert chat_text(emulator, "hello, world") == "Hello over HTTP."
    assert chat_text(emulator, "Say hello") != "Hello over HTTP."  # ^hello only
    reply = lc(emulator, FAMILIES[2]).bind_tools([get_weather]).invoke("What's the weather?")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("get_weather", {"city": "Oslo"})]
    for _ in range(2):
        with pytest.raises(CapacityError):
            lc(emulator, FAMILIES[4]).invoke("Hi")

    listed = control(emulator, "GET", "scripts").json()
    assert listed["strict"] is False
    assert [(r["id"], r["times"], r["used"]) for r in listed["rules"]] == [
        (1, 2, 1),
        (2, 1, 1),
        (3, None, 2),
    ]
    assert listed["rules"][0]["last_user"] == {"regex": r"^hello\b"}
    assert listed["rules"][1]["reply"] == {
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    }

    cleared = control(emulator, "DELETE", "scripts")
    assert cleared.status_code == 200
    assert control(emulator, "GET", "scripts").json() == {"strict": False, "rules": []}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"rules": [{"reply": {}}]}, "a reply needs text, tool_calls"),
        ({"rules": [{"reply": {"text": "x"}, "route": "chat"}]}, "route 'chat': use one of run"),
        ({"rules": [{"reply": {"text": "x"}, "times": 0}]}, "times=0: a whole number >= 1"),
        ({"rules": [{"reply": {"text": "x"}, "last_user": {"regex": "("}}]}, "bad regex"),
        (
            {"rules": [{"reply": {"text": "x"}, "last_user": {"predicate": "f"}}]},
            "predicates only in process",
        ),
        ({"rules": [{"reply": {"text": "x"}, "colour": "red"}]}, "unknown rule fields ['colour']"),
        ({"rules": [{"reply": {"text": "x", "speed": 1}}]}, "unknown reply fields ['speed']"),
        ({"rules": [{"text": "x"}]}, "a rule is an object with a 'reply'"),
        ({"rules": [{"reply": {"fault": "explode"}}]}, "fault 'explode': use one of"),
        ({"rules": [{"reply": {"error": {"status": 200}}}]}, "use an HTTP error status"),
        ({"rules": {"reply": {"text": "x"}}}, "'rules' must be a list"),
        ({"strict": "yes"}, "'strict' must be true or false"),
        ({"rule": []}, '{"rules": [...], "strict": true|false}'),
    ],
)
def test_bad_rules_over_http_are_a_400_naming_the_problem_and_add_nothing(
    emulator: EmulatorServer, payload: dict[str, Any], problem: str
) -> None:
    good = {"reply": {"text": "good"}}
    if isinstance(payload.get("rules"), list):
        payload = {**payload, "rules": [good, *payload["rules"]], "strict": True}
    refused = control(emulator, "POST", "scripts", json=payload)
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert error["message"].startswith("Bad script: ") and problem in error["message"]
    assert emulator.scripts.describe() == {"strict": False, "rules": []}


def test_a_body_that_is_not_json_is_a_400(emulator: EmulatorServer) -> None:
    refused = control(emulator, "POST", "scripts", content=b"{not json")
    assert refused.status_code == 400 and "Bad script" in refused.text


def test_strict_mode_over_http(emulator: EmulatorServer) -> None:
    on = control(emulator, "POST", "scripts", json={"strict": True})
    assert on.json() == {"added": [], "strict": True}
    with pytest.raises(BadRequestError, match="no rule matches"):
        chat_text(emulator, "Hi")
    assert control(emulator, "POST", "scripts", json={"strict": False}).json()["strict"] is False
    assert chat_text(emulator, "Hi")
    control(emulator, "POST", "scripts", json={"strict": True})
    control(emulator, "DELETE", "scripts")  # clearing leaves strict mode too
    assert not emulator.scripts.strict
    assert chat_text(emulator, "Hi")


# -- 6. the request log ----------------------------------------------------------------------------


def test_every_api_request_is_logged_but_no_control_request(emulator: EmulatorServer) -> None:
    model = ChatWorkersAI(
        model=CF, **adapter_kwargs(emulator), max_retries=0, temperature=0.2, max_tokens=50
    ).bind_tools([get_weather])
    model.invoke([SystemMessage("Be brief."), HumanMessage("Weather in Rome?")])
    control(emulator, "GET", "stats")
    control(emulator, "GET", "scripts")
    control(emulator, "GET", "requests")
    emulator.configure(latency_ms=20)
    with emulator.client(max_retries=0) as client:
        client.openai("responses", {"model": GPT, "input": "Hi from Responses"})

    first, second = emulator.requests()
    assert second.index == first.index + 1  # in arrival order
    assert (first.method, first.route, first.route_name, first.model) == (
        "POST",
        "POST /ai/run/{model}",
        "run",
        CF,
    )
    assert first.path == f"/client/v4/accounts/{emulator.account_id}/ai/run/{CF}"
    assert first.status == 200 and first.body_bytes > 0
    assert [m["role"] for m in first.messages] == ["system", "user"]
    assert first.messages[1]["content"] == "Weather in Rome?"
    assert [tool_name(t) for t in first.tools] == ["get_weather"]
    assert first.params["temperature"] == 0.2 and first.params["max_tokens"] == 50
    assert "messages" not in first.params and "tools" not in first.params
    assert first.body["messages"] == first.messages  # the parsed JSON body

    assert (second.route_name, second.model) == ("responses", GPT)
    assert second.messages == [{"role": "user", "content": "Hi from Responses"}]
    assert second.duration_ms > 0 and first.duration_ms > 0  # no timed assertions in tests
    assert second.received_at >= first.received_at
    assert first.received_at.utcoffset() is not None  # timezone-aware (UTC)


def test_credentials_are_masked_and_the_token_appears_nowhere(emulator: EmulatorServer) -> None:
    secrets = ("sk-provider-secret-1", "gw-secret-2", "cookie-secret-3")
    httpx.post(
        f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/{CF}",
        headers={
            "Authorization": f"Bearer {emulator.api_token}",
            "x-api-key": secrets[0],
            "cf-aig-authorization": f"Bearer {secrets[1]}",
            "Cookie": secrets[2],
            "x-custom": "kept",
        },
        json={"prompt": "Hi"},
        timeout=10,
    ).raise_for_status()
    headers = emulator.last_request().headers
    assert headers["authorization"] == "Bearer ***"
    assert headers["x-api-key"] == "***"
    assert headers["cf-aig-authorization"] == "Bearer ***"
    assert headers["cookie"] == "***"
    assert headers["x-custom"] == "kept"
    over_http = control(emulator, "GET", "requests")
    assert over_http.status_code == 200
    dumped = json.dumps([r.to_json() for r in emulator.requests()]) + over_http.text
    for secret in (emulator.api_token, *secrets):
        assert secret not in dumped


def test_universal_endpoint_entries_have_their_credentials_masked(
    emulator: EmulatorServer,
) -> None:
    gateway = {
        "gateway_id": "scripts-gw",
        "gateway_options": {"routing": "url", "provider_api_key": "sk-provider-secret-9"},
    }
    reply = lc(emulator, FAMILIES[0], fallbacks=[GPT], **gateway).invoke("Hi")
    assert reply.response_metadata["answered_by"] == CF
    sent = emulator.last_request()
    assert (sent.route_name, sent.route, sent.model) == (
        "universal",
        "POST gateway universal",
        None,
    )
    assert sent.headers["cf-aig-authorization"] == "Bearer ***"
    assert [e["provider"] for e in sent.body] == ["workers-ai", "compat"]
    assert [e["headers"]["authorization"] for e in sent.body] == ["Bearer ***", "Bearer ***"]
    assert sent.body[0]["query"]["messages"] == [{"role": "user", "content": "Hi"}]
    dumped = json.dumps(sent.to_json()) + control(emulator, "GET", "requests").text
    assert emulator.api_token not in dumped and "sk-provider-secret-9" not in dumped


def test_the_request_log_over_http(emulator: EmulatorServer) -> None:
    chat_text(emulator, "One")
    emulator.script(Reply(error={"status": 429, "code": 3040}))
    with pytest.raises(CapacityError):
        chat_text(emulator, "Two")
    assert control(emulator, "GET", "requests", token=False).status_code == 401
    listed = control(emulator, "GET", "requests").json()["requests"]
    assert listed == [r.to_json() for r in emulator.requests()]
    assert [(r["index"], r["status"], r["route_name"], r["model"]) for r in listed] == [
        (1, 200, "run", CF),
        (2, 429, "run", CF),
    ]
    assert listed[1]["body"] == {"messages": [{"role": "user", "content": "Two"}]}
    assert isinstance(listed[0]["duration_ms"], float) and listed[0]["received_at"]
    assert control(emulator, "DELETE", "requests", token=False).status_code == 401
    assert control(emulator, "DELETE", "requests").status_code == 200
    assert emulator.requests() == []


def test_filters_counts_and_last_request(emulator: EmulatorServer) -> None:
    with pytest.raises(LookupError, match=r"received no request .* it received: nothing"):
        emulator.last_request()
    chat_text(emulator, "a")
    chat_text(emulator, "b")
    chat_text(emulator, "c", model=QWEN)
    lc(emulator, FAMILIES[3]).invoke("d")  # CF on the OpenAI route
    assert emulator.request_count() == 4
    assert emulator.request_count(model=CF) == 3 and emulator.request_count(model=QWEN) == 1
    assert emulator.request_count(model=CF, route="run") == 2
    assert emulator.request_count(route="chat/completions") == 1
    assert emulator.request_count(route="POST /ai/v1/chat/completions") == 1  # a template
    assert emulator.last_request(model=CF, route="run").messages[-1]["content"] == "b"
    assert emulator.last_request(model=QWEN).messages[-1]["content"] == "c"
    assert emulator.last_request().route_name == "chat/completions"
    with pytest.raises(LookupError) as missing:
        emulator.last_request(model=GPT)
    message = str(missing.value)
    assert "model='openai/gpt-4.1'" in message
    assert f"('run', '{CF}')" in message and f"('run', '{QWEN}')" in message
    assert f"('chat/completions', '{CF}')" in message


def test_the_log_is_bounded(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert RequestLog().limit == MAX_REQUESTS
    monkeypatch.setattr(emulator.app.state.requests, "limit", 3)
    for word in ("one", "two", "three", "four", "five"):
        chat_text(emulator, word)
    kept = emulator.requests()
    assert [r.index for r in kept] == [3, 4, 5]  # the oldest dropped first
    assert [r.messages[0]["content"] for r in kept] == ["three", "four", "five"]
    assert all(r.status == 200 for r in kept)
    emulator.reset()
    chat_text(emulator, "again")
    assert [r.index for r in emulator.requests()] == [1]  # numbering restarts after a reset


# -- 7. rules and replies that cannot be used --------------------------------------------------


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Reply(), "a reply needs text, tool_calls, reasoning, json, error or fault"),
        (
            lambda: Reply(text="x", error={"status": 429, "code": 3040}),
            "either content or an error/fault, not both",
        ),
        (
            lambda: Reply(error={"status": 500}, fault="server_error"),
            "give error or fault, not both",
        ),
        (lambda: Reply(text="abc", chunks=["a", "b"]), "chunks must join to text"),
        (lambda: Reply(chunks=[]), "chunks: give a non-empty list of strings"),
        (
            lambda: Reply(chunks=["a", 1]),  # type: ignore[list-item]
            "chunks: give a non-empty list of strings",
        ),
        (
            lambda: Reply(text="x", usage={"tokens": 3}),
            "usage: unknown key 'tokens'; use prompt_tokens, completion_tokens, cached_tokens",
        ),
        (
            lambda: Reply(text="x", usage={"prompt_tokens": -1}),
            "usage['prompt_tokens'] must be a whole number >= 0",
        ),
        (lambda: Reply(text="x", usage={"prompt_tokens": True}), "a whole number >= 0"),
        (lambda: Reply(fault="explode"), "fault 'explode': use one of"),
        (lambda: Reply(json={1, 2}), "json: not JSON-serialisable"),
        (lambda: Reply(json=object()), "json: not JSON-serialisable"),
        (lambda: Reply(error={"status": 200}), "use an HTTP error status, 400 to 599"),
        (lambda: Reply(error={"status": 429, "code": "busy"}), "use a Cloudflare error code"),
        (lambda: Reply(error={"retry": 1}), "error: give {'status'"),
        (lambda: Reply(tool_calls=[{"name": ""}]), "a tool call needs a name"),
        (lambda: Reply(tool_calls=[{"nom": "x"}]), "a tool call is ToolCall(name, arguments)"),
        (
            lambda: Reply(tool_calls=[ToolCall("x", ["a"])]),  # type: ignore[arg-type]
            "tool call 'x': arguments must be an object",
        ),
        (lambda: Rule(Reply(text="x"), route="chat"), "route 'chat': use one of run"),
        (lambda: Rule(Reply(text="x"), times=0), "times=0: a whole number >= 1, or None"),
        (lambda: Rule(Reply(text="x"), times=True), "times=True"),
        (lambda: Rule("x"), "reply must be a Reply"),  # type: ignore[arg-type]
        (
            lambda: Rule(Reply(text="x"), last_user=42),  # type: ignore[arg-type]
            "last_user: a substring, a compiled regex or a predicate",
        ),
        (lambda: Reply.from_mapping(["text"]), "a reply is an object"),  # type: ignore[arg-type]
    ],
)
def test_bad_replies_and_rules_raise_a_script_error_naming_the_fix(
    make: Callable[[], object], problem: str
) -> None:
    with pytest.raises(ScriptError) as raised:
        make()
    assert problem in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_bad_script_call_adds_nothing(emulator: EmulatorServer) -> None:
    emulator.script("kept")
    with pytest.raises(ScriptError, match="route 'chat'"):
        emulator.script("x", route="chat")
    with pytest.raises(ScriptError, match="times=0"):
        emulator.script("x", times=0)
    with pytest.raises(ScriptError, match="a reply needs"):
        emulator.script(Reply(text=None))
    assert [r.reply.text for r in emulator.scripts.rules()] == ["kept"]
    assert set(ROUTES) == {
        "run",
        "chat/completions",
        "responses",
        "messages",
        "embeddings",
        "universal",
    }


# -- 8. the pytest plugin in someone else's project ------------------------------------------------

_CONFTEST = 'pytest_plugins = ["workers_ai.emulator.pytest_plugin"]\n'
_USER_TESTS = '''
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from langchain_workers_ai import ChatWorkersAI
from workers_ai.emulator.scripts import Reply, ToolCall

REFUNDS = []


@tool
def refund_order(order_id: str) -> str:
    """Refund an order."""
    REFUNDS.append(order_id)
    return "refunded"


def test_agent_refunds_then_apologises(workers_ai_emulator_env):
    emulator = workers_ai_emulator_env
    emulator.script(Reply(tool_calls=[ToolCall("refund_order", {"order_id": "A-17"})]),
                    last_user="refund")
    emulator.script("Sorry about that, your refund is on its way.", times=None)
    emulator.scripts.strict = True
    model = ChatWorkersAI(model="@cf/meta/llama-3.1-8b-instruct").bind_tools([refund_order])
    question = HumanMessage("Please refund order A-17")
    first = model.invoke([question])
    result = refund_order.invoke(first.tool_calls[0])
    final = model.invoke([question, first, result])
    assert REFUNDS == ["A-17"]
    assert final.content == "Sorry about that, your refund is on its way."
    assert emulator.last_request().messages[-1]["content"] == "refunded"
    assert emulator.request_count() == 2


def test_scripts_do_not_leak_into_the_next_test(workers_ai_emulator_env):
    emulator = workers_ai_emulator_env
    assert emulator.scripts.rules() == [] and not emulator.scripts.strict
    assert emulator.requests() == []
    answer = ChatWorkersAI(model="@cf/meta/llama-3.1-8b-instruct").invoke("Hello")
    assert answer.content and answer.content != "Sorry about that, your refund is on its way."
'''


def test_the_pytest_plugin_in_an_external_project(tmp_path: Path) -> None:
    project = tmp_path / "someone-elses-app"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(_CONFTEST)
    (project / "tests" / "test_support_agent.py").write_text(textwrap.dedent(_USER_TESTS))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),  # the package, as if installed
        # only the plugins the project's conftest asks for (ours), none from entry points
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    done = subprocess.run(  # our own interpreter and arguments
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
