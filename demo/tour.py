"""The main job: a short tour of workers-ai-python.

With ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` set it talks to real Workers AI.
Without them it starts the local emulator and says so: every request still goes over HTTP
through the real client code, but the answers come from deterministic stand-in models.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
REASONING_MODEL = "@cf/qwen/qwen3-30b-a3b-fp8"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


@contextlib.contextmanager
def backend() -> Iterator[str]:
    """Real Workers AI when credentials are set, else the emulator (env vars point at it)."""
    if os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"):
        yield "real Workers AI (requests are billed to your account)"
        return
    from workers_ai.emulator import EmulatorServer

    with EmulatorServer() as emulator:
        os.environ.update(emulator.env())
        yield (
            f"OFFLINE on the local emulator at {emulator.base_url}: deterministic stand-in "
            "models, not real AI"
        )


def core_tour() -> None:
    from workers_ai import ModelNotFoundError, WorkersAIClient

    with WorkersAIClient() as client:
        section("core: one JSON round trip")
        answer = client.chat(MODEL, {"messages": [{"role": "user", "content": "Hello there!"}]})
        print("answer:", answer.result.text)
        print("usage :", answer.result.usage)

        section("core: typed errors carry Cloudflare's code and a hint")
        try:
            client.run("@cf/meta/no-such-model", {"prompt": "x"})
        except ModelNotFoundError as error:
            print(f"{type(error).__name__}: {error}")


def langchain_tour() -> None:
    from langchain_core.tools import tool
    from pydantic import BaseModel

    from langchain_workers_ai import ChatWorkersAI

    llm = ChatWorkersAI(model=MODEL, max_tokens=64)
    section("LangChain: token streaming")
    for chunk in llm.stream("Write one sentence about the sea."):
        print(chunk.content, end="", flush=True)
    print()

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"Sunny and 21 C in {city}"

    section("LangChain: tool calling")
    message = llm.bind_tools([get_weather]).invoke("What is the weather in Lisbon?")
    print("tool calls:", message.tool_calls)

    class Person(BaseModel):
        name: str
        age: int

    section("LangChain: structured output")
    print(llm.with_structured_output(Person).invoke("Ada Lovelace is 36 years old."))

    section("LangChain: reasoning kept apart from the answer")
    reasoned: Any = ChatWorkersAI(model=REASONING_MODEL).invoke("Why is the sky blue?")
    print("reasoning:", reasoned.additional_kwargs.get("reasoning_content"))
    print("answer   :", reasoned.content)


def main() -> int:
    started = time.perf_counter()
    with backend() as mode:
        print(f"workers-ai-python tour -- {mode}")
        core_tour()
        langchain_tour()
    print(f"\nDone in {time.perf_counter() - started:.2f}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
