"""The LlamaIndex WorkersAI LLM against the emulator: chat, completion, tools, agents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_workers_ai import WorkersAI

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # classic shape
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # chat-completion shape + reasoning_content
GPT = "openai/gpt-4.1"  # a third-party model through AI Gateway's unified route
CLAUDE = "anthropic/claude-sonnet-4-5"  # Anthropic's Messages API, its default route
GPT_RESPONSES = "openai/gpt-4.1 responses"  # OpenAI's Responses API (endpoint="responses")


def llm_for(model: str) -> WorkersAI:
    """``WorkersAI`` for a parametrized model: ``"<id> <endpoint>"`` sets the endpoint."""
    name, _, endpoint = model.partition(" ")
    return WorkersAI(model=name, **({"endpoint": endpoint} if endpoint else {}))


R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"  # <think> reasoning
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # vision
PNG = (Path(__file__).parents[2] / "assets" / "red_square.png").read_bytes()

pytestmark = pytest.mark.usefixtures("workers_ai_emulator_env")


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny and 21 C in {city}"


def convert_celsius(celsius: int) -> str:
    """Convert a celsius temperature to fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.0f} F"


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(convert_celsius)]


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str
    age: int


def run(kind: str, sync_fn: Any, async_fn: Any, *args: Any, **kwargs: Any) -> Any:
    if kind == "sync":
        return sync_fn(*args, **kwargs)
    return asyncio.run(async_fn(*args, **kwargs))


def collect(kind: str, llm: WorkersAI, method: str, value: Any) -> list[Any]:
    if kind == "sync":
        return list(getattr(llm, method)(value))

    async def go() -> list[Any]:
        stream = await getattr(llm, f"a{method}")(value)
        return [item async for item in stream]

    return asyncio.run(go())


QUESTION = [ChatMessage(role="user", content="Why is the sky blue?")]


@pytest.mark.parametrize("model", [LLAMA, QWEN, R1])
def test_chat_and_stream_chat_agree(kind: str, model: str) -> None:
    llm = WorkersAI(model=model)
    response = run(kind, llm.chat, llm.achat, QUESTION)
    chunks = collect(kind, llm, "stream_chat", QUESTION)
    assert response.message.content
    assert "".join(c.delta or "" for c in chunks) == response.message.content
    assert chunks[-1].message.content == response.message.content
    assert response.additional_kwargs["total_tokens"] > 0
    thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    if model == LLAMA:
        assert not thinking
    else:  # both reasoning formats become ThinkingBlocks, apart from the answer
        assert thinking and thinking[0].content and "think>" not in response.message.content
        streamed = [b for b in chunks[-1].message.blocks if isinstance(b, ThinkingBlock)]
        assert streamed[0].content == thinking[0].content
        assert any(c.additional_kwargs.get("thinking_delta") for c in chunks)


@pytest.mark.parametrize("model", [LLAMA, QWEN])
def test_complete_and_stream_complete(kind: str, model: str) -> None:
    llm = WorkersAI(model=model)
    completion = run(kind, llm.complete, llm.acomplete, "Hello there")
    chunks = collect(kind, llm, "stream_complete", "Hello there")
    assert completion.text
    assert "".join(c.delta or "" for c in chunks) == completion.text


def test_metadata_comes_from_the_catalog() -> None:
    meta = WorkersAI(model=QWEN).metadata
    assert (meta.context_window, meta.is_function_calling_model, meta.model_name) == (
        32768,
        True,
        QWEN,
    )
    assert WorkersAI(model="@cf/qwen/qwq-32b").metadata.is_function_calling_model is False
    assert WorkersAI(model="@cf/x/unknown").metadata.context_window == 8192


@pytest.mark.parametrize("model", [LLAMA, QWEN])
def test_tool_calls_as_blocks_and_kwargs(kind: str, model: str) -> None:
    llm = WorkersAI(model=model)
    history = [ChatMessage(role="system", content="Be brief.")]
    response = run(
        kind,
        llm.chat_with_tools,
        llm.achat_with_tools,
        TOOLS,
        user_msg="What is the weather in Paris?",
        chat_history=history,
    )
    assert len(history) == 1  # the caller's history is not mutated
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert [(b.tool_name, b.tool_kwargs) for b in blocks] == [("get_weather", {"city": "Paris"})]
    assert response.message.additional_kwargs["tool_calls"][0]["id"] == blocks[0].tool_call_id
    (selection,) = llm.get_tool_calls_from_response(response)
    assert selection.tool_kwargs == {"city": "Paris"}


@pytest.mark.parametrize("model", [QWEN, GPT, CLAUDE, GPT_RESPONSES])
def test_streamed_tool_calls_accumulate_arguments(model: str) -> None:
    llm = llm_for(model)
    chunks = list(llm.stream_chat_with_tools(TOOLS, user_msg="What is the weather in Oslo?"))
    final = llm.get_tool_calls_from_response(chunks[-1])
    assert [(t.tool_name, t.tool_kwargs) for t in final] == [("get_weather", {"city": "Oslo"})]
    partial = [c for c in chunks if c.message.additional_kwargs.get("tool_calls")]
    assert len(partial) > 1  # the whole message so far, on every chunk
    assert all("{" not in (c.delta or "") for c in chunks)  # no JSON leaked as text


@pytest.mark.parametrize("model", [QWEN, GPT, CLAUDE, GPT_RESPONSES])
def test_function_agent_runs_two_tools(kind: str, model: str) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    agent = FunctionAgent(tools=TOOLS, llm=llm_for(model))

    async def go() -> Any:
        return await agent.run("What is the weather in Paris, and convert 21 celsius?")

    result = asyncio.run(go())
    text = str(result)
    assert "Sunny and 21 C in Paris" in text and "70 F" in text
    called = {t.tool_name for t in result.tool_calls}
    assert called == {"get_weather", "convert_celsius"}


def test_react_agent_runs() -> None:
    from llama_index.core.agent.workflow import ReActAgent

    agent = ReActAgent(tools=TOOLS, llm=WorkersAI(model=LLAMA))

    async def go() -> Any:
        return await agent.run("Hello, who are you?")

    assert str(asyncio.run(go()))


@pytest.mark.parametrize("model", [LLAMA, QWEN, "@cf/qwen/qwq-32b", GPT, CLAUDE, GPT_RESPONSES])
def test_structured_predict(kind: str, model: str) -> None:
    llm = llm_for(model)
    prompt = PromptTemplate("Extract the person: {text}")
    person = run(
        kind,
        llm.structured_predict,
        llm.astructured_predict,
        Person,
        prompt,
        text="Ada Lovelace is 36 years old.",
    )
    assert person == Person(name="Ada Lovelace", age=36)


@pytest.mark.parametrize("model", [LLAMA, QWEN, "@cf/qwen/qwq-32b"])
def test_stream_structured_predict(model: str) -> None:
    llm = WorkersAI(model=model)
    prompt = PromptTemplate("Extract the person: {text}")
    parts = list(llm.stream_structured_predict(Person, prompt, text="Grace Hopper is 85."))
    assert parts[-1] == Person(name="Grace Hopper", age=85)

    async def go() -> list[Any]:
        stream = await llm.astream_structured_predict(Person, prompt, text="Grace Hopper is 85.")
        return [p async for p in stream]

    assert asyncio.run(go())[-1] == Person(name="Grace Hopper", age=85)


def test_image_blocks_for_vision_models() -> None:
    llm = WorkersAI(model=SCOUT)
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What colour is this?"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
        ],
    )
    assert llm.chat([message]).message.content
    remote = ChatMessage(role="user", blocks=[ImageBlock(url="https://example.com/cat.png")])
    with pytest.raises(ValueError, match="data URI"):
        llm.chat([remote])


def test_instrumentation_events_fire() -> None:
    class Recorder(BaseEventHandler):
        events: list[str] = []

        @classmethod
        def class_name(cls) -> str:
            return "Recorder"

        def handle(self, event: Any, **kwargs: Any) -> None:
            self.events.append(type(event).__name__)

    recorder = Recorder()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(recorder)
    try:
        WorkersAI(model=LLAMA).complete("Hello there")
    finally:
        dispatcher.event_handlers.remove(recorder)
    assert "LLMCompletionStartEvent" in recorder.events
    assert "LLMCompletionEndEvent" in recorder.events
