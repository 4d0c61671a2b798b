"""A LlamaIndex RAG pipeline on Vectorize: VectorStoreIndex over WorkersAIVectorizeStore, Workers
AI embeddings and chat, all against the emulator (the demo documents of ``test_rag.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, SimpleDirectoryReader, StorageContext, VectorStoreIndex

from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding, WorkersAIVectorizeStore
from tests.support.emulator import adapter_kwargs
from workers_ai.emulator import EmulatorServer

DOCS = Path(__file__).parents[3] / "demo" / "docs"
CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
QUESTION = "How long do refunds take to appear?"


#: Document ids longer than the 64 bytes Vectorize indexes of a string, all with the same
#: first 64 bytes: deleting one document must not touch the others.
PREFIX = "kb://example-company/knowledge-base/customer-service/policies/2025/"


def _doc_id(name: str) -> str:
    return PREFIX + name


@pytest.fixture
def documents() -> list[Document]:
    loaded = SimpleDirectoryReader(str(DOCS)).load_data()
    for document in loaded:
        document.id_ = _doc_id(document.metadata["file_name"])
    return loaded


@pytest.fixture
def kw(emulator: EmulatorServer) -> Iterator[dict[str, Any]]:
    before = emulator.app.config.vectorize_mutation_lag_ms
    yield adapter_kwargs(emulator)
    emulator.configure(vectorize_mutation_lag_ms=before)


def _index(documents: list[Document], kw: dict[str, Any]) -> VectorStoreIndex:
    store = WorkersAIVectorizeStore(index_name="demo-docs", **kw)
    return VectorStoreIndex.from_documents(
        documents,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=WorkersAIEmbedding(**kw),
    )


def _stored(index: VectorStoreIndex) -> list[Any]:
    store = index.vector_store
    assert isinstance(store, WorkersAIVectorizeStore)
    return store.get_nodes()


def test_query_engine_answers_from_vectorize_with_sources(
    documents: list[Document], kw: dict[str, Any]
) -> None:
    index = _index(documents, kw)
    response = index.as_query_engine(llm=WorkersAI(model=CHAT, **kw)).query(QUESTION)
    assert "5 to 7 business days" in str(response)
    assert response.source_nodes[0].metadata["file_name"] == "refunds.md"
    assert "5 to 7 business days" in response.source_nodes[0].node.get_content()

    retrieved = index.as_retriever(similarity_top_k=3).retrieve(QUESTION)
    scores = [n.score or 0.0 for n in retrieved]
    assert len(retrieved) == 3 and scores == sorted(scores, reverse=True)
    assert retrieved[0].node.ref_doc_id == _doc_id("refunds.md")


def test_async_query_engine(documents: list[Document], kw: dict[str, Any]) -> None:
    async def go() -> Any:
        store = WorkersAIVectorizeStore(index_name="demo-async", **kw)
        index = VectorStoreIndex(
            [],
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=WorkersAIEmbedding(**kw),
        )
        for document in documents:
            await index.ainsert(document)
        engine = index.as_query_engine(llm=WorkersAI(model=CHAT, **kw))
        response = await engine.aquery(QUESTION)
        await index.adelete_ref_doc(_doc_id("refunds.md"))
        retrieved = await index.as_retriever(similarity_top_k=10).aretrieve(QUESTION)
        await store.aclose()
        return response, retrieved

    response, retrieved = asyncio.run(go())
    assert "5 to 7 business days" in str(response)
    assert response.source_nodes[0].metadata["file_name"] == "refunds.md"
    names = {n.metadata["file_name"] for n in retrieved}
    assert "refunds.md" not in names and len(names) == len(documents) - 1


@pytest.mark.parametrize("lag_ms", [0, 150], ids=["applied-at-once", "mutation-lag"])
def test_refresh_and_delete_documents(
    documents: list[Document], kw: dict[str, Any], emulator: EmulatorServer, lag_ms: int
) -> None:
    emulator.configure(vectorize_mutation_lag_ms=lag_ms)
    index = _index(documents, kw)
    count = len(_stored(index))

    refunds = next(d for d in documents if d.metadata["file_name"] == "refunds.md")
    changed = Document(text="Refunds now take 2 business days.", metadata=refunds.metadata,
                       id_=refunds.doc_id)  # fmt: skip
    refreshed = index.refresh_ref_docs([changed if d is refunds else d for d in documents])
    assert refreshed == [d is refunds for d in documents]
    texts = [n.get_content() for n in _stored(index)]
    assert "Refunds now take 2 business days." in texts
    assert not any("5 to 7 business days" in t for t in texts)

    shipping = next(d for d in documents if d.metadata["file_name"] == "shipping.md")
    shipping_nodes = [n for n in _stored(index) if n.ref_doc_id == shipping.doc_id]
    index.delete_ref_doc(shipping.doc_id)
    left = _stored(index)
    assert not any(n.metadata["file_name"] == "shipping.md" for n in left)
    assert shipping_nodes and len(left) == count - len(shipping_nodes)
    retrieved = index.as_retriever(similarity_top_k=2).retrieve(QUESTION)
    assert retrieved[0].node.get_content() == "Refunds now take 2 business days."
