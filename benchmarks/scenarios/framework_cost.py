"""What LangChain and LlamaIndex cost by themselves: no-I/O stand-in models.

Each framework wraps every call (callbacks, tracing hooks, message objects) and every streamed
chunk (a chunk object, callbacks, LlamaIndex's accumulated message). That cost is paid by any
integration, ours and the alternatives alike, and raw httpx does not pay it. These stand-ins
return canned results with no I/O, so timing them measures the framework alone; added to the
raw httpx floor they give the floor an integration of that framework can reach.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

REPLY = "Hello! Let me help with the benchmark."


def langchain_model(pieces: Sequence[str] = ()) -> Any:
    """A LangChain chat model answering ``REPLY`` (``invoke``) or ``pieces`` (``stream``)."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class EchoChatModel(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "echo"

        def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=REPLY))])

        def _stream(
            self, messages: Any, stop: Any = None, **kwargs: Any
        ) -> Iterator[ChatGenerationChunk]:
            for piece in pieces:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    return EchoChatModel()


def llama_index_model(pieces: Sequence[str] = ()) -> Any:
    """A LlamaIndex LLM with ``chat`` and ``stream_chat`` decorated like a real one."""
    from llama_index.core.base.llms.types import (
        ChatMessage,
        ChatResponse,
        ChatResponseAsyncGen,
        ChatResponseGen,
        CompletionResponse,
        CompletionResponseAsyncGen,
        CompletionResponseGen,
        LLMMetadata,
        MessageRole,
    )
    from llama_index.core.llms.callbacks import llm_chat_callback
    from llama_index.core.llms.llm import LLM

    class EchoLLM(LLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True, model_name="echo")

        @llm_chat_callback()
        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=REPLY))

        @llm_chat_callback()
        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
            def gen() -> ChatResponseGen:
                text = ""
                for piece in pieces:
                    text += piece
                    message = ChatMessage(role=MessageRole.ASSISTANT, content=text)
                    yield ChatResponse(message=message, delta=piece)

            return gen()

        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            raise NotImplementedError

        def stream_complete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponseGen:
            raise NotImplementedError

        async def achat(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
            raise NotImplementedError

        async def acomplete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponse:
            raise NotImplementedError

        async def astream_chat(
            self, messages: Sequence[ChatMessage], **kw: Any
        ) -> ChatResponseAsyncGen:
            raise NotImplementedError

        async def astream_complete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponseAsyncGen:
            raise NotImplementedError

    return EchoLLM()


def invoke_cost(framework: str, prompt: str, calls: int) -> float:
    """Seconds per ``invoke`` (LangChain) or ``chat`` (LlamaIndex) of the stand-in."""
    if framework == "LangChain":
        model = langchain_model()
        call = lambda: model.invoke(prompt)  # noqa: E731
    else:
        from llama_index.core.llms import ChatMessage

        model = llama_index_model()
        messages = [ChatMessage(role="user", content=prompt)]
        call = lambda: model.chat(messages)  # noqa: E731
    call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def stream_cost(framework: str, pieces: Sequence[str], messages: Any) -> float:
    """Seconds to consume one stream of ``pieces`` through the framework's stand-in."""
    if framework == "LangChain":
        model = langchain_model(pieces)
        stream = lambda: model.stream(messages)  # noqa: E731
    else:
        model = llama_index_model(pieces)
        stream = lambda: model.stream_chat(messages)  # noqa: E731
    start = time.perf_counter()
    for _ in stream():
        pass
    return time.perf_counter() - start
