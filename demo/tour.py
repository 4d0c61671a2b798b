"""The main job: a one-command tour of workers-ai-python.

Without ``CLOUDFLARE_ACCOUNT_ID``/``CLOUDFLARE_API_TOKEN`` it starts the local emulator and
says so plainly: every request goes over HTTP through the real client code, but the answers
come from deterministic stand-in models, not real AI. With them it uses real Workers AI, after
printing a cost estimate, under a spending limit. It ends with a table of calls, tokens,
neurons and cost per section and per model, counted by the package's own components
(``get_workers_ai_callback`` and LlamaIndex's ``WorkersAIUsageHandler``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
AGENT = "@cf/qwen/qwen3-30b-a3b-fp8"
REASONING = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
GPT = "openai/gpt-4.1"
CLAUDE = "anthropic/claude-sonnet-4-5"  # Anthropic's Messages API, its default route
GEMINI = "google/gemini-3-flash"
EMBED = "@cf/baai/bge-base-en-v1.5"
RERANK = "@cf/baai/bge-reranker-base"
DOCS = Path(__file__).parent / "docs"
#: The Vectorize index the RAG section makes (and deletes at its end).
TOUR_INDEX = "workers-ai-python-tour"
#: Rough tokens per section (input, output) for the up-front estimate on real Workers AI.
ESTIMATE = {CHAT: (2_500, 1_500), AGENT: (3_000, 800), REASONING: (200, 1_200)}


#: Per section: what its calls used (``get_workers_ai_callback``, one block per section).
SECTION_USAGE: dict[str, Any] = {}
#: The whole tour, per model: LlamaIndex's event handler (counts every call, both frameworks).
TOUR_USAGE: list[Any] = []


def _install_accounting() -> None:
    """Count the tour with the package's own components: a ``WorkersAIUsageHandler`` on
    LlamaIndex's dispatcher for the whole tour (per model, with a spending limit on real
    Workers AI), and ``get_workers_ai_callback()`` per section."""
    from llama_index.core.instrumentation import get_dispatcher

    from llama_index_workers_ai import WorkersAIUsageHandler

    limit = _budget_neurons() if _real() else None
    handler = WorkersAIUsageHandler(max_neurons=limit)
    get_dispatcher().add_event_handler(handler)
    TOUR_USAGE.append(handler)


@contextlib.contextmanager
def section(number: int, total: int, title: str) -> Iterator[None]:
    from langchain_workers_ai import get_workers_ai_callback

    print(f"\n[{number}/{total}] {title} ...", flush=True)
    started = time.perf_counter()
    try:
        with get_workers_ai_callback() as usage:
            SECTION_USAGE[title] = usage
            yield
    finally:
        print(f"      ({time.perf_counter() - started:.1f}s)", flush=True)


# -- sections ---------------------------------------------------------------------------------
def chat_and_streaming() -> None:
    from langchain_workers_ai import ChatWorkersAI

    llm = ChatWorkersAI(model=CHAT, max_tokens=80)
    print("invoke :", llm.invoke("In one sentence, what is Cloudflare Workers AI?").content)
    print("stream : ", end="")
    for chunk in llm.stream("Write one sentence about the sea."):
        print(chunk.content, end="", flush=True)
    print()


def any_model() -> None:
    from llama_index.core.llms import ChatMessage

    from langchain_workers_ai import ChatWorkersAI, send_message_feedback
    from llama_index_workers_ai import WorkersAI, send_response_feedback

    if _real() and not os.environ.get("TOUR_THIRD_PARTY"):
        print("skipped: third-party models bill AI Gateway credits; TOUR_THIRD_PARTY=1 runs it")
        return
    if not _real():
        print(f"(offline: {GPT}, {CLAUDE} and {GEMINI} are the emulator's deterministic stand-ins,")
        print(" not real AI; the requests take the real route and AI Gateway headers)")
    llm = ChatWorkersAI(model=GPT, max_tokens=60)
    print(f"{GPT} stream : ", end="")
    answer: Any = None
    for chunk in llm.stream("In one sentence, why put every model behind one gateway?"):
        print(chunk.content, end="", flush=True)
        answer = chunk if answer is None else answer + chunk
    print()
    print("gateway log id :", answer.response_metadata["gateway_log_id"])
    send_message_feedback(llm, answer, feedback=1, score=90, metadata={"source": "tour"})
    print("feedback sent  : thumbs up, score 90, on that log")

    claude = ChatWorkersAI(model=CLAUDE, reasoning_effort="low")
    reply_c = claude.invoke("In one sentence, what does a gateway add?")
    print(f"{CLAUDE} (Messages API, thinking on) :", str(reply_c.content).strip())
    print("  its thinking :", reply_c.additional_kwargs.get("reasoning_content", "")[:70])

    li_llm = WorkersAI(model=GEMINI, max_tokens=60)
    reply = li_llm.chat([ChatMessage(role="user", content="Name one benefit of AI Gateway.")])
    print(f"{GEMINI} (LlamaIndex) :", str(reply.message.content).strip())
    send_response_feedback(li_llm, reply, feedback=-1, metadata={"source": "tour"})
    print("feedback sent  : thumbs down, on log", reply.additional_kwargs["gateway_log_id"])


def tool_agent() -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    from langchain_workers_ai import ChatWorkersAI

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"Sunny and 21 C in {city}"

    @tool
    def convert_celsius(celsius: int) -> str:
        """Convert a celsius temperature to fahrenheit."""
        return f"{celsius * 9 / 5 + 32:.0f} F"

    agent = create_agent(ChatWorkersAI(model=AGENT), [get_weather, convert_celsius])
    question = "What is the weather in Lisbon, and what is 21 celsius in fahrenheit?"
    state = agent.invoke({"messages": [("user", question)]})
    for message in state["messages"][1:]:
        calls = getattr(message, "tool_calls", None)
        if calls:
            print("tool call :", ", ".join(f"{c['name']}({c['args']})" for c in calls))
        elif message.type == "tool":
            print("tool says :", message.content)
        else:
            print("answer    :", message.content)


def structured_output() -> None:
    from pydantic import BaseModel, Field

    from langchain_workers_ai import ChatWorkersAI

    class Person(BaseModel):
        """A person mentioned in the text."""

        name: str = Field(description="Full name")
        age: int = Field(description="Age in years")

    llm = ChatWorkersAI(model=CHAT).with_structured_output(Person)
    person = llm.invoke("Ada Lovelace published the first algorithm when she was 28.")
    print(f"{type(person).__name__}: {person!r}")


def chain_of_thought() -> None:
    from langchain_workers_ai import ChatWorkersAI

    llm = ChatWorkersAI(model=REASONING, max_tokens=400)
    message = llm.invoke("Is 17 a prime number? Answer yes or no.")
    print("reasoning:", message.additional_kwargs.get("reasoning_content", "").strip()[:300])
    print("answer   :", message.content.strip())


def llamaindex_rag() -> None:
    """Workers AI embeddings stored in a Vectorize index, reranked, answered with sources."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex

    from llama_index_workers_ai import (
        WorkersAI,
        WorkersAIEmbedding,
        WorkersAIRerank,
        WorkersAIVectorizeStore,
    )
    from workers_ai import WorkersAIClient

    store = WorkersAIVectorizeStore(index_name=TOUR_INDEX)  # made on the first write
    try:
        documents = SimpleDirectoryReader(str(DOCS)).load_data()
        index = VectorStoreIndex.from_documents(
            documents,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=WorkersAIEmbedding(model_name=EMBED),
        )
        stats = store.client.stats()
        print(f"vectorize: index {TOUR_INDEX!r}, {stats.vector_count} vectors stored")
        engine = index.as_query_engine(
            llm=WorkersAI(model=CHAT, max_tokens=120),
            similarity_top_k=4,
            node_postprocessors=[WorkersAIRerank(model=RERANK, top_n=2)],
        )
        response = engine.query("How long do refunds take to appear?")
        print("answer :", str(response).strip())
        for node in response.source_nodes:
            print(f"source : {node.metadata.get('file_name')} (score {node.score:.2f})")
    finally:
        store.close()
        with WorkersAIClient() as client:  # the tour leaves no index behind
            client.vectorize.delete_index(TOUR_INDEX, missing_ok=True)


def llamaindex_agent() -> None:
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.core.tools import FunctionTool

    from llama_index_workers_ai import WorkersAI

    def order_total(items: int, price_euros: float) -> str:
        """Compute an order total in euros from the number of items and the unit price."""
        return f"{items * price_euros:.2f} euros"

    def shipping_time(country: str) -> str:
        """Delivery time for shipping to a country."""
        return "3 to 5 days" if country.lower() in {"portugal", "spain", "france"} else "7 days"

    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(order_total), FunctionTool.from_defaults(shipping_time)],
        llm=WorkersAI(model=AGENT),
    )

    async def run() -> Any:
        return await agent.run(
            "What is the order total for 3 items at 25 euros, and the shipping time to Portugal?"
        )

    result = asyncio.run(run())
    for call in result.tool_calls:
        print(f"tool call : {call.tool_name}({call.tool_kwargs}) -> {call.tool_output}")
    print("answer    :", str(result).strip())


def model_chaining() -> None:
    """The Workers AI guide's pattern: speech -> text -> translation -> summary -> speech."""
    from langchain_workers_ai import ChatWorkersAI
    from workers_ai import WorkersAIClient
    from workers_ai.tasks import synthesize, transcribe, translate

    call = (
        "Hello, this is Ana from the Lisbon office. The shipment of two hundred chairs left "
        "on Monday and should reach the Porto warehouse on Thursday morning."
    )
    with WorkersAIClient() as client:
        audio = synthesize(client, call)  # a voicemail to work on
        heard = transcribe(client, audio.data)
        french = translate(client, heard.text, target_lang="French")
        summary = ChatWorkersAI(model=CHAT, max_tokens=60).invoke(
            f"Summarise this voicemail in one sentence: {heard.text}"
        )
        spoken = synthesize(client, str(summary.content))
    print(f"voicemail  : {audio.media_type}, {len(audio.data):,} bytes")
    print(f"transcript : {heard.text[:90]}")
    print(f"in French  : {french[:90]}")
    print(f"summary    : {str(summary.content)[:90]}")
    print(f"read aloud : {spoken.media_type}, {len(spoken.data):,} bytes")


SECTIONS: list[tuple[str, Callable[[], None]]] = [
    ("LangChain chat and token streaming", chat_and_streaming),
    ("One class, any model behind Cloudflare", any_model),
    ("A tool-calling agent (create_agent) on a two-step task", tool_agent),
    ("Structured output into a Pydantic model", structured_output),
    ("Chain of thought on a reasoning model", chain_of_thought),
    ("LlamaIndex RAG on Vectorize, reranked, with cited sources", llamaindex_rag),
    ("A LlamaIndex FunctionAgent", llamaindex_agent),
    ("Chaining tasks: speech -> text -> French -> summary -> speech", model_chaining),
]


# -- accounting -------------------------------------------------------------------------------
def print_table() -> None:
    """The tour's cost: per section (calls, HTTP attempts, tokens, neurons, USD) from each
    section's ``get_workers_ai_callback``, then per model from the LlamaIndex handler."""
    print("\n| section | calls | attempts | tokens in | tokens out | neurons | USD |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for title, usage in SECTION_USAGE.items():
        t = usage.meter.total
        neurons = f"{'~' if t.neurons_estimated else ''}{t.neurons:,.1f}"
        usd = "n/a" if t.calls and t.calls_without_cost == t.calls else f"{t.usd:.5f}"
        if t.calls_without_cost and usd != "n/a":
            usd += " + n/a"
        row = [title, t.calls, t.attempts, t.input_tokens, t.output_tokens, neurons, usd]
        print("| " + " | ".join(map(str, row)) + " |")
    if TOUR_USAGE:
        print("\nPer model (llama_index_workers_ai.WorkersAIUsageHandler):\n")
        print(TOUR_USAGE[0].table())
    print(
        "\nNeurons as the service reported them (~: estimated from catalog prices); free tier: "
        "10,000 neurons/day. n/a: third-party models (openai/..., google/...) bill through AI "
        "Gateway and report no price here."
    )


def _budget_neurons() -> float:
    """The tour's spending limit on real Workers AI: three times the up-front estimate."""
    from workers_ai import catalog

    neurons = sum(catalog.estimate_cost(m, i, o).neurons or 0.0 for m, (i, o) in ESTIMATE.items())
    return max(3 * neurons, 1_000.0)


def _upfront_estimate() -> None:
    from workers_ai import catalog

    usd = sum(catalog.estimate_cost(m, i, o).usd or 0.0 for m, (i, o) in ESTIMATE.items())
    neurons = sum(catalog.estimate_cost(m, i, o).neurons or 0.0 for m, (i, o) in ESTIMATE.items())
    print(f"Estimated cost of this tour on Workers AI: about ${usd:.4f} (~{neurons:,.0f} neurons).")
    print(
        f"It refuses any call that could take it past {_budget_neurons():,.0f} neurons "
        "(WorkersAIUsageHandler(max_neurons=...))."
    )


def _credentials_set() -> bool:
    return bool(os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"))


#: Whether the tour talks to real Workers AI (set by :func:`backend`), not the emulator.
REAL: list[bool] = [False]


def _real() -> bool:
    return REAL[0]


@contextlib.contextmanager
def backend() -> Iterator[str]:
    if _credentials_set():
        REAL[0] = True
        _upfront_estimate()
        yield "REAL Workers AI (billed to your account)"
        return
    from workers_ai.emulator import EmulatorServer

    with EmulatorServer() as emulator:
        os.environ.update(emulator.env())
        yield (
            f"OFFLINE on the local emulator ({emulator.base_url}): deterministic stand-in models, "
            "not real AI. Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN to use Workers AI."
        )


def _explain(error: BaseException) -> str:
    import workers_ai

    if isinstance(error, ImportError):
        return f'{error}\nThe tour needs every extra: pip install ".[all]" (python3 dev.py demo).'
    if isinstance(error, workers_ai.BudgetExceededError):
        return f"{error}\nThe tour's spending limit stopped it before the request was sent."
    if isinstance(error, workers_ai.AuthenticationError):
        return f"{error}\nCheck CLOUDFLARE_API_TOKEN (it needs Workers AI permission)."
    if isinstance(error, workers_ai.AccountNotFoundError):
        return f"{error}\nCheck CLOUDFLARE_ACCOUNT_ID."
    if isinstance(error, workers_ai.APIConnectionError):
        base = os.environ.get("WORKERS_AI_BASE_URL", "https://api.cloudflare.com/client/v4")
        return f"{error}\nCannot reach {base}: check the network or WORKERS_AI_BASE_URL."
    return f"{type(error).__name__}: {error}"


def main() -> int:
    started = time.perf_counter()
    try:
        with backend() as mode:
            print(f"workers-ai-python tour -- {mode}")
            _install_accounting()
            for number, (title, run) in enumerate(SECTIONS, start=1):
                with section(number, len(SECTIONS), title):
                    run()
    except Exception as error:  # the tour's job is to say what to do next
        print(f"\nThe tour stopped: {_explain(error)}", file=sys.stderr)
        return 1
    print_table()
    print(f"\nDone in {time.perf_counter() - started:.1f}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
