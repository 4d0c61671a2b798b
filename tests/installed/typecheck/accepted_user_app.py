"""What a user's application looks like: every public class, typed as users type it."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from llama_index.core.llms import ChatMessage, ChatResponse
from llama_index.core.schema import NodeWithScore, TextNode

import workers_ai
from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAIEmbeddings,
    WorkersAIReranker,
    WorkersAIVectorize,
    get_workers_ai_callback,
)
from llama_index_workers_ai import (
    WorkersAI,
    WorkersAIEmbedding,
    WorkersAIRerank,
    WorkersAIUsageHandler,
    WorkersAIVectorizeStore,
)
from workers_ai import (
    APIStatusError,
    AsyncWorkersAIClient,
    ChatResult,
    GatewayOptions,
    RateLimitError,
    Usage,
    WorkersAIClient,
    WorkersAIError,
)
from workers_ai.emulator import EmulatorConfig, EmulatorServer

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


def core(client: WorkersAIClient) -> tuple[str, Usage | None]:
    try:
        answer = client.chat(MODEL, {"messages": [{"role": "user", "content": "Hi"}]})
    except RateLimitError as error:
        code: int | None = error.code
        return f"rate limited ({code})", None
    except APIStatusError as error:
        status: int = error.status_code
        return f"HTTP {status}", None
    result: ChatResult = answer.result
    return result.text, result.usage


async def core_async() -> str:
    async with AsyncWorkersAIClient(gateway=GatewayOptions(id="gw")) as client:
        pieces = [
            delta.text
            async for delta in await client.stream_chat(
                MODEL, {"messages": [{"role": "user", "content": "Count"}]}
            )
        ]
    return "".join(pieces)


def constructors() -> None:
    """The names each framework's users type (as for the OpenAI classes) type-check."""
    ChatWorkersAI(
        model=MODEL,
        api_key="token",
        account_id="account",
        base_url="http://127.0.0.1:8787/client/v4",
        timeout=(2.0, 60.0),
        max_tokens=512,
        max_retries=3,
        stream_usage=False,
        default_headers={"x-team": "search"},
        model_kwargs={"raw": True},
    )
    WorkersAIEmbeddings(model="@cf/baai/bge-m3", timeout=30.0)
    WorkersAIReranker(model="@cf/baai/bge-reranker-base", top_n=5)
    WorkersAI(model=MODEL, api_key="token", timeout=10.0, additional_kwargs={"raw": True})
    WorkersAIEmbedding(model_name="@cf/baai/bge-m3", embed_batch_size=50)
    WorkersAIRerank(model="@cf/baai/bge-reranker-base", top_n=3)


def langchain_app() -> list[float]:
    llm = ChatWorkersAI(model=MODEL, temperature=0)
    history: list[BaseMessage] = [HumanMessage("Name a colour.")]
    reply: BaseMessage = llm.invoke(history)
    if isinstance(reply, AIMessage) and reply.usage_metadata is not None:
        print(reply.usage_metadata["total_tokens"])
    for chunk in llm.stream("Count to three."):
        print(chunk.content)
    reranked: list[Document] = list(
        WorkersAIReranker(top_n=1).compress_documents([Document(page_content="a")], "a")
    )
    print(reranked)
    with get_workers_ai_callback(max_neurons=500, per_model={MODEL: {"max_usd": 0.01}}) as cb:
        bulk = ChatWorkersAI(model=MODEL, use_batch_api=True, batch_timeout=60.0)
        ids: list[str] = bulk.submit_batch(["One?", "Two?"])
        answers: list[AIMessage] = bulk.collect_batch(ids)
        print(answers, cb.total_cost, cb.remaining("usd"), cb.table())
    return WorkersAIEmbeddings().embed_query("hello")


def llama_index_app() -> list[float]:
    llm = WorkersAI(model=MODEL)
    answer: ChatResponse = llm.chat([ChatMessage(role="user", content="Hi")])
    print(answer.message.content)
    nodes = [NodeWithScore(node=TextNode(text="a"), score=0.5)]
    print(WorkersAIRerank(top_n=1).postprocess_nodes(nodes, query_str="a"))
    usage = WorkersAIUsageHandler(max_usd=0.05, warn_at=0.5)
    responses: list[ChatResponse] = llm.chat_batch([[ChatMessage(role="user", content="Hi")]])
    print(responses, usage.table())
    usage.close()
    return WorkersAIEmbedding().get_text_embedding("hello")


def vectorize_app(client: WorkersAIClient) -> list[str]:
    from workers_ai.vectorize import IngestProgress, Match, Vector, ingest

    client.vectorize.create_index("docs", model="@cf/baai/bge-base-en-v1.5", exist_ok=True)
    index = client.vectorize.index("docs")
    index.ensure_metadata_indexes({"source": "string"})
    index.upsert([Vector("a", [0.1] * 768, {"source": "a.md"})], wait=True)
    matches: tuple[Match, ...] = index.query([0.1] * 768, top_k=3, return_metadata="all").matches
    progress: list[IngestProgress] = []
    ingest(index, WorkersAIEmbeddings().embed_documents, ["b"], on_progress=progress.append)
    store = WorkersAIVectorize(
        embedding=WorkersAIEmbeddings(), index_name="docs", metadata_indexes={"source": "string"}
    )
    found: list[Document] = store.similarity_search("a", k=2, filter={"source": "a.md"})
    li_store = WorkersAIVectorizeStore(index_name="docs", mutation_timeout=30.0)
    from langchain_workers_ai import WorkersAISearchAnswer, WorkersAISearchRetriever
    from llama_index_workers_ai import WorkersAISearchQueryEngine

    docs: list[Document] = WorkersAISearchRetriever(instance="docs", k=3).invoke("refunds?")
    answer: dict[str, Any] = WorkersAISearchAnswer(autorag="docs").invoke("refunds?")
    engine = WorkersAISearchQueryEngine(instance="docs", namespace="prod", similarity_top_k=2)
    chunks = client.ai_search.instance("docs").search("refunds?", max_results=3).chunks
    print(docs, answer, engine.query("refunds?"), [c.filename for c in chunks])
    print(matches, found, li_store.client.stats().vector_count)
    return store.add_texts(["c"], metadatas=[{"source": "c.md"}])


def main() -> None:
    print(workers_ai.__version__)
    with EmulatorServer(EmulatorConfig(latency_ms=1.0)) as emulator, emulator.client() as client:
        try:
            print(core(client))
        except WorkersAIError as error:
            print(error)
    print(asyncio.run(core_async()), langchain_app(), llama_index_app())
