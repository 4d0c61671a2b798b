"""ChatWorkersAI end to end against the emulator: what a LangChain user would notice."""

from __future__ import annotations

import asyncio
import base64
import json
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelAuthenticationError, ModelNotFoundError
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

import workers_ai
from langchain_workers_ai import ChatWorkersAI
from tests.support.tools import get_weather

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # classic shape, legacy tool calls
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # chat-completion shape, reasoning_content
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # vision
PNG = base64.b64encode((Path(__file__).parents[2] / "assets" / "red_square.png").read_bytes())

pytestmark = pytest.mark.usefixtures("workers_ai_emulator_env")


@tool
def convert_celsius(celsius: int) -> str:
    """Convert a celsius temperature to fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.0f} F"


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="The person's full name")
    age: int = Field(description="Age in years")


class PersonDict(TypedDict):
    """A person mentioned in the text."""

    name: str
    age: int


def invoke(llm: Any, kind: str, value: Any, **kw: Any) -> Any:
    if kind == "sync":
        return llm.invoke(value, **kw)
    return asyncio.run(llm.ainvoke(value, **kw))


def stream(llm: Any, kind: str, value: Any, **kw: Any) -> list[Any]:
    if kind == "sync":
        return list(llm.stream(value, **kw))

    async def collect() -> list[Any]:
        return [c async for c in llm.astream(value, **kw)]

    return asyncio.run(collect())


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


# -- agents ---------------------------------------------------------------------------------
def test_create_agent_runs_two_tools_and_answers_from_their_results(kind: str) -> None:
    from langchain.agents import create_agent

    agent = create_agent(ChatWorkersAI(model=QWEN), tools=[get_weather, convert_celsius])
    question = {"messages": [("user", "What is the weather in Paris, and convert 21 celsius?")]}
    state = agent.invoke(question) if kind == "sync" else asyncio.run(agent.ainvoke(question))
    messages: list[BaseMessage] = state["messages"]
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert {m.name for m in tool_messages} == {"get_weather", "convert_celsius"}
    calls = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    assert {"city": "Paris"} in [c["args"] for c in calls]
    assert {"celsius": 21} in [c["args"] for c in calls]  # an int, as the schema says
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "70 F" in final.text and "clear" in final.text  # the answer uses the results


# -- streaming tool calls ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "endpoint"), [(LLAMA, "native"), (QWEN, "native"), (QWEN, "openai")]
)
def test_streamed_tool_calls_assemble_like_invoke(kind: str, model: str, endpoint: str) -> None:
    llm = ChatWorkersAI(model=model, endpoint=endpoint).bind_tools([get_weather])
    question = "What is the weather in Lisbon?"
    invoked = invoke(llm, kind, question)
    chunks = stream(llm, kind, question)
    streamed = aggregate(chunks)
    assert invoked.tool_calls and invoked.tool_calls[0]["args"] == {"city": "Lisbon"}
    assert streamed.tool_calls == invoked.tool_calls
    assert streamed.content == ""  # no JSON fragments of the call leaked as text
    assert chunks[-1].chunk_position == "last"
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1
    assert streamed.usage_metadata == invoked.usage_metadata


# -- reasoning --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model",
    [
        QWEN,  # reasoning_content
        "@cf/nvidia/nemotron-3-120b-a12b",  # reasoning
        "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",  # <think> with the opening tag missing
        "@cf/openai/gpt-oss-120b",  # reasoning_content, cannot stream on /ai/run
    ],
)
def test_reasoning_is_kept_apart_from_the_answer(kind: str, model: str) -> None:
    llm = ChatWorkersAI(model=model)
    question = "Why is the sky blue?"
    message = invoke(llm, kind, question)
    streamed = aggregate(stream(llm, kind, question))
    for result in (message, streamed):
        reasoning = result.additional_kwargs["reasoning_content"]
        assert reasoning and "think>" not in reasoning
        assert result.content and "think>" not in result.content
        assert result.content_blocks[0] == {"type": "reasoning", "reasoning": reasoning}
    assert streamed.content == message.content
    assert (
        streamed.additional_kwargs["reasoning_content"]
        == message.additional_kwargs["reasoning_content"]
    )


# -- structured output ------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
@pytest.mark.parametrize("schema", [Person, PersonDict, Person.model_json_schema()])
def test_structured_output_methods_and_schema_kinds(kind: str, method: str, schema: Any) -> None:
    llm = ChatWorkersAI(model=LLAMA).with_structured_output(schema, method=method)
    result = invoke(llm, kind, "Ada Lovelace is 36 years old.")
    data = result.model_dump() if isinstance(result, BaseModel) else result
    assert data == {"name": "Ada Lovelace", "age": 36}


def test_json_mode_and_include_raw(kind: str) -> None:
    llm = ChatWorkersAI(model=LLAMA).with_structured_output(
        None, method="json_mode", include_raw=True
    )
    out = invoke(llm, kind, "Return a JSON object with 'city' and 'country' for Paris.")
    assert isinstance(out["raw"], AIMessage)
    assert set(out["parsed"]) == {"city", "country"}
    assert out["parsing_error"] is None


def test_structured_output_works_when_streamed(kind: str) -> None:
    for method in ("function_calling", "json_schema"):
        llm = ChatWorkersAI(model=QWEN).with_structured_output(Person, method=method)
        parts = stream(llm, kind, "Grace Hopper is 85 years old.")
        assert parts[-1] == Person(name="Grace Hopper", age=85)


def test_default_method_for_a_model_without_function_calling() -> None:
    llm = ChatWorkersAI(model="@cf/qwen/qwq-32b").with_structured_output(Person)
    assert llm.invoke("Alan Turing is 41 years old.") == Person(name="Alan Turing", age=41)


# -- messages ---------------------------------------------------------------------------------
def _capturing_client(bodies: list[dict[str, Any]]) -> httpx.Client:
    def record(request: httpx.Request) -> None:
        bodies.append(json.loads(request.content))

    return httpx.Client(event_hooks={"request": [record]})


def test_every_message_kind_reaches_the_wire_as_documented() -> None:
    bodies: list[dict[str, Any]] = []
    llm = ChatWorkersAI(model=QWEN, http_client=_capturing_client(bodies))
    history = [
        SystemMessage("You are terse."),
        SystemMessage("Answer in English."),
        HumanMessage([{"type": "text", "text": "Weather "}, {"type": "text", "text": "in Rome?"}]),
        AIMessage(
            "",
            tool_calls=[{"name": "get_weather", "args": {"city": "Rome"}, "id": "call_1"}],
        ),
        ToolMessage('{"sky": "rain"}', tool_call_id="call_1", name="get_weather"),
        AIMessage(
            [
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                }
            ]
        ),
        ToolMessage("upstream timeout", tool_call_id="toolu_2", status="error"),
        HumanMessage("Summarise.", name="ada"),
    ]
    message = llm.bind_tools([get_weather]).invoke(history)
    assert isinstance(message, AIMessage)
    wire = bodies[0]["messages"]
    assert wire[0] == {"role": "system", "content": "You are terse.\n\nAnswer in English."}
    assert wire[1] == {"role": "user", "content": "Weather in Rome?"}
    assert wire[2]["content"] == "" and wire[2]["tool_calls"][0]["id"] == "call_1"
    assert json.loads(wire[2]["tool_calls"][0]["function"]["arguments"]) == {"city": "Rome"}
    assert wire[3] == {
        "role": "tool",
        "content": '{"sky": "rain"}',
        "tool_call_id": "call_1",
        "name": "get_weather",
    }
    assert wire[4]["tool_calls"][0]["function"]["name"] == "get_weather"  # from tool_use
    assert wire[5]["content"] == "Error: upstream timeout"
    assert wire[6] == {"role": "user", "content": "Summarise.", "name": "ada"}


@pytest.mark.parametrize(
    "image_block",
    [
        {"type": "image", "base64": PNG.decode(), "mime_type": "image/png"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG.decode()}"}},
    ],
)
def test_vision_input_from_a_bundled_image(image_block: dict[str, Any]) -> None:
    bodies: list[dict[str, Any]] = []
    llm = ChatWorkersAI(model=SCOUT, http_client=_capturing_client(bodies))
    message = llm.invoke([HumanMessage([{"type": "text", "text": "What colour?"}, image_block])])
    assert message.content
    parts = bodies[0]["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


@pytest.mark.parametrize(
    ("model", "value", "match"),
    [
        (QWEN, [], "empty"),
        (QWEN, [HumanMessage([{"type": "file", "file_id": "f1"}])], "not supported"),
        (
            SCOUT,
            [HumanMessage([{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}])],
            "data URI",
        ),
        (
            LLAMA,
            [HumanMessage([{"type": "image", "base64": "aaaa", "mime_type": "image/png"}])],
            "images",
        ),
    ],
)
def test_bad_input_fails_before_any_request(
    workers_ai_emulator: Any, model: str, value: Any, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        ChatWorkersAI(model=model).invoke(value)
    assert workers_ai_emulator.stats()["requests"] == 0


def test_tools_on_a_model_without_function_calling(workers_ai_emulator: Any) -> None:
    llm = ChatWorkersAI(model="@cf/qwen/qwq-32b")
    with pytest.raises(ValueError, match="function calling"):
        llm.bind_tools([get_weather]).invoke("weather in Rome?")
    assert workers_ai_emulator.stats()["requests"] == 0
    forced = ChatWorkersAI(model="@cf/qwen/qwq-32b", force_tools=True).bind_tools([get_weather])
    assert forced.invoke("weather in Rome?") is not None


# -- metadata, callbacks, caching, errors -------------------------------------------------------
def test_metadata_usage_and_gateway_cache_status(kind: str) -> None:
    llm = ChatWorkersAI(
        model=LLAMA, gateway_id="my-gateway", gateway_options={"cache_ttl": 300}, max_tokens=32
    )
    first = invoke(llm, kind, "Tell me about caching.")
    second = invoke(llm, kind, "Tell me about caching.")
    for message, status in ((first, "MISS"), (second, "HIT")):
        meta = message.response_metadata
        assert meta["model_name"] == LLAMA
        assert meta["gateway_cache_status"] == status
        assert meta["request_id"]
        usage = message.usage_metadata
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def test_callbacks_fire_per_token_when_streaming() -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    handler = Tokens()
    llm = ChatWorkersAI(model=LLAMA, streaming=True, callbacks=[handler])
    message = llm.invoke("Count to five please.")
    assert len([t for t in handler.tokens if t]) > 3
    assert "".join(handler.tokens) == message.content


def test_llm_cache_serves_repeats_without_a_request(workers_ai_emulator: Any) -> None:
    from langchain_core.caches import InMemoryCache

    llm = ChatWorkersAI(model=LLAMA, cache=InMemoryCache())
    assert llm.invoke("Hello cache").content == llm.invoke("Hello cache").content
    assert workers_ai_emulator.stats()["requests"] == 1


def test_errors_are_core_and_langchain_types(workers_ai_emulator: Any) -> None:
    with pytest.raises(ModelAuthenticationError) as info:
        ChatWorkersAI(model=LLAMA, api_key="wrong").invoke("hi")
    assert isinstance(info.value, workers_ai.AuthenticationError)
    assert info.value.code == 10000
    with pytest.raises(ModelNotFoundError) as missing:
        ChatWorkersAI(model="@cf/nope/not-a-model").invoke("hi")
    assert isinstance(missing.value, workers_ai.ModelNotFoundError)
    assert "wrong" not in str(info.value)


def test_tool_arguments_are_coerced_to_the_bound_schema() -> None:
    """Real Workers AI returns "123" for an integer field (reference chat.ipynb cell 17)."""

    @tool
    def validate_user(user_id: int, addresses: list[str]) -> bool:
        """Validate a user by id and addresses."""
        return True

    result = {
        "response": None,
        "tool_calls": [
            {"name": "validate_user", "arguments": {"user_id": "123", "addresses": ["A", "B"]}}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }
    events = [{"tool_calls": result["tool_calls"]}, {"response": "", "usage": result["usage"]}]

    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json={"result": result, "success": True, "errors": []})

    llm = ChatWorkersAI(
        model=LLAMA, http_client=httpx.Client(transport=httpx.MockTransport(handler))
    ).bind_tools([validate_user])
    expected = {"user_id": 123, "addresses": ["A", "B"]}
    assert llm.invoke("validate user 123").tool_calls[0]["args"] == expected
    assert aggregate(list(llm.stream("validate user 123"))).tool_calls[0]["args"] == expected


def test_unknown_constructor_arguments_warn_and_are_sent(workers_ai_emulator: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = ChatWorkersAI(model=QWEN, chat_template_kwargs={"enable_thinking": False})
    assert any("model_kwargs" in str(w.message) for w in caught)
    assert llm.model_kwargs == {"chat_template_kwargs": {"enable_thinking": False}}
    assert not llm.invoke("Why is the sky blue?").additional_kwargs.get("reasoning_content")


def test_model_name_alias_and_secret_safety() -> None:
    llm = ChatWorkersAI(model_name=QWEN, api_key="super-secret-token")
    assert llm.model == QWEN
    assert "super-secret-token" not in repr(llm) and "super-secret-token" not in str(
        llm.model_dump()
    )


def test_close_releases_the_pools_and_the_model_keeps_working() -> None:
    llm = ChatWorkersAI(model=LLAMA)
    llm.invoke("hi")
    asyncio.run(llm.ainvoke("hi"))
    pool = llm._sync_client()._http()
    llm.close()
    asyncio.run(llm.aclose())
    assert pool.is_closed
    assert llm.invoke("hi again").content  # a new pool is built on demand
    llm.close()
