"""LlamaIndex RAG on Workers AI against the emulator: embeddings, retrieval, rerank, answer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.schema import NodeWithScore, TextNode

from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding, WorkersAIRerank

DOCS = Path(__file__).parents[3] / "demo" / "docs"
CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
QUESTION = "How long do refunds take to appear?"

pytestmark = pytest.mark.usefixtures("workers_ai_emulator_env")


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    return SimpleDirectoryReader(str(DOCS)).load_data()


def _engine(documents: list[Document], **kwargs: Any) -> Any:
    index = VectorStoreIndex.from_documents(documents, embed_model=WorkersAIEmbedding())
    return index.as_query_engine(
        llm=WorkersAI(model=CHAT),
        similarity_top_k=4,
        node_postprocessors=[WorkersAIRerank(top_n=2)],
        **kwargs,
    )


def test_rag_pipeline_answers_with_reranked_sources(documents: list[Document]) -> None:
    response = _engine(documents).query(QUESTION)
    assert "5 to 7 business days" in str(response)
    names = [n.metadata["file_name"] for n in response.source_nodes]
    assert names[0] == "refunds.md" and len(names) == 2
    scores = [n.score for n in response.source_nodes]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_rag_pipeline_async(documents: list[Document]) -> None:
    async def go() -> Any:
        index = await asyncio.to_thread(
            VectorStoreIndex.from_documents, documents, embed_model=WorkersAIEmbedding()
        )
        engine = index.as_query_engine(
            llm=WorkersAI(model=CHAT), node_postprocessors=[WorkersAIRerank(top_n=2)]
        )
        return await engine.aquery(QUESTION)

    response = asyncio.run(go())
    assert "5 to 7 business days" in str(response)
    assert response.source_nodes[0].metadata["file_name"] == "refunds.md"


def test_streaming_query_engine(documents: list[Document]) -> None:
    response = _engine(documents, streaming=True).query(QUESTION)
    tokens = list(response.response_gen)
    assert len(tokens) > 3
    assert "5 to 7 business days" in "".join(tokens)
    assert response.source_nodes[0].metadata["file_name"] == "refunds.md"


@pytest.mark.parametrize(
    ("model", "dims"),
    [("@cf/baai/bge-small-en-v1.5", 384), ("@cf/baai/bge-large-en-v1.5", 1024)],
)
def test_embeddings_batch_concurrently_and_keep_order(
    workers_ai_emulator: Any, model: str, dims: int
) -> None:
    embed = WorkersAIEmbedding(model_name=model, embed_batch_size=50)
    texts = [f"text number {i} about topic {i % 7}" for i in range(230)]
    vectors = embed.get_text_embedding_batch(texts)
    assert len(vectors) == 230 and {len(v) for v in vectors} == {dims}
    assert workers_ai_emulator.stats()["requests"] == 5  # ceil(230 / 50)
    assert vectors[137] == embed.get_text_embedding(texts[137])
    again = asyncio.run(embed.aget_text_embedding_batch(texts))
    assert again == vectors
    assert embed.model_name == model


def test_embedding_batch_size_is_capped_by_the_catalog() -> None:
    assert WorkersAIEmbedding(model_name="@cf/baai/bge-base-en-v1.5").embed_batch_size == 100
    assert WorkersAIEmbedding(model_name="@cf/qwen/qwen3-embedding-0.6b").embed_batch_size == 32
    with pytest.raises(ValueError, match="at most 100"):
        WorkersAIEmbedding(model_name="@cf/baai/bge-base-en-v1.5", embed_batch_size=500)


def test_query_and_text_instructions() -> None:
    plain = WorkersAIEmbedding()
    instructed = WorkersAIEmbedding(query_instruction=True)
    assert plain.get_query_embedding("refund time") != instructed.get_query_embedding("refund time")
    assert plain.get_text_embedding("refund time") == instructed.get_text_embedding("refund time")


def test_bad_input_names_the_index_before_any_request(workers_ai_emulator: Any) -> None:
    embed = WorkersAIEmbedding()
    with pytest.raises(ValueError, match="1"):
        embed.get_text_embedding_batch(["fine", ""])
    with pytest.raises(ValueError, match="2"):
        embed.get_text_embedding_batch(["fine", "ok", "word " * 2000])
    assert workers_ai_emulator.stats()["requests"] == 0


def test_rerank_scores_nodes_and_emits_events() -> None:
    seen: list[str] = []

    class Recorder(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "Recorder"

        def handle(self, event: Any, **kwargs: Any) -> None:
            seen.append(type(event).__name__)

    nodes = [
        NodeWithScore(node=TextNode(text="Paris is the capital of France."), score=0.1),
        NodeWithScore(node=TextNode(text="Bananas are yellow fruit."), score=0.9),
        NodeWithScore(
            node=TextNode(text="France has many cities; its capital is Paris."), score=0.5
        ),
    ]
    recorder = Recorder()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(recorder)
    try:
        rerank = WorkersAIRerank(top_n=2, keep_retrieval_score=True)
        top = rerank.postprocess_nodes(nodes, query_str="What is the capital of France?")
        async_top = asyncio.run(
            rerank.apostprocess_nodes(nodes, query_str="What is the capital of France?")
        )
    finally:
        dispatcher.event_handlers.remove(recorder)
    assert [n.node.get_content() for n in top] == [n.node.get_content() for n in async_top]
    assert "Bananas" not in " ".join(n.node.get_content() for n in top)
    assert top[0].score >= top[1].score
    assert "retrieval_score" in top[0].node.metadata
    assert seen.count("ReRankStartEvent") == 2 and seen.count("ReRankEndEvent") == 2
