"""WorkersAIEmbeddings and WorkersAIReranker against the emulator (sync and async).

Reference vectors are "the same text embedded alone": the emulator's own model function run
on a single text (``tasks.run_model(model, {"text": text})``), checked against real one-text
HTTP requests on a sample. Retry waits are shortened 100x (and recorded) so fault tests stay
fast while still honouring the server's ``retry-after``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.exceptions import ModelAPIError
from langchain_core.indexing import InMemoryRecordManager, aindex, index
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.stores import InMemoryByteStore
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings, WorkersAIReranker
from workers_ai import ConfigurationError, InternalServerError, concurrency
from workers_ai.embeddings import InputTruncatedWarning
from workers_ai.emulator import EmulatorServer, tasks

SMALL = "@cf/baai/bge-small-en-v1.5"
BASE = "@cf/baai/bge-base-en-v1.5"
QWEN = "@cf/qwen/qwen3-embedding-0.6b"
M3 = "@cf/baai/bge-m3"
RUN_ROUTE = "POST /ai/run/{model}"

WORDS = [
    *("alpha", "bravo", "charlie", "delta", "echo", "foxtrot"),
    *("golf", "hotel", "india", "juliet", "kilo", "lima"),
]


def corpus(n: int) -> list[str]:
    """``n`` distinct short texts, so any misplaced vector is detected."""
    return [
        f"chunk {i}: {WORDS[i % 12]} {WORDS[(i // 12) % 12]} item {i * 7919 % 10007}"
        for i in range(n)
    ]


def alone(model: str, text: str, **body: Any) -> list[float]:
    return [float(x) for x in tasks.run_model(model, {"text": [text], **body})["data"][0]]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def docs(emb: WorkersAIEmbeddings, texts: list[Any], mode: str) -> list[list[float]]:
    if mode == "sync":
        return emb.embed_documents(texts)
    return asyncio.run(emb.aembed_documents(texts))


def query(emb: WorkersAIEmbeddings, text: Any, mode: str) -> list[float]:
    if mode == "sync":
        return emb.embed_query(text)
    return asyncio.run(emb.aembed_query(text))


@pytest.fixture
def make(emulator: EmulatorServer) -> Iterator[Callable[..., WorkersAIEmbeddings]]:
    made: list[WorkersAIEmbeddings] = []

    def factory(**kwargs: Any) -> WorkersAIEmbeddings:
        emb = WorkersAIEmbeddings(**{**emulator.client_kwargs(), "model": SMALL, **kwargs})
        made.append(emb)
        return emb

    yield factory
    for emb in made:
        emb.close()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry and throttle waits shortened 100x; the full delays are recorded."""
    recorded: list[float] = []

    def scaled(n: int, headers: Any = None) -> float:
        delay = concurrency.retry_delay(n, headers)
        recorded.append(delay)
        return delay / 100

    monkeypatch.setattr(concurrency, "_retry_delay", scaled)
    return recorded


def requests_sent(emulator: EmulatorServer) -> int:
    return int(emulator.stats()["by_route"].get(RUN_ROUTE, 0))


# -- order, faults, concurrency ----------------------------------------------------------------


def test_ten_thousand_texts_keep_their_order_through_faults(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], quick_retries, mode
) -> None:
    texts = corpus(10_000)
    emulator.configure(
        latency_ms=5,  # requests overlap, so concurrency > 1 is real
        faults=[
            {"kind": "rate_limit", "count": 8, "probability": 0.1},
            {"kind": "capacity", "count": 8, "probability": 0.1},
            {"kind": "server_error", "count": 8, "probability": 0.1},
            {"kind": "reset", "count": 8, "probability": 0.1},
        ],
    )
    emb = make(max_concurrency=8, max_retries=8)
    vectors = docs(emb, texts, mode)
    stats = emulator.stats()
    assert set(stats["by_fault"]) == {"rate_limit", "capacity", "server_error", "reset"}
    assert stats["max_in_flight"] > 1
    assert 1.0 in quick_retries  # the faults' retry-after: 1 was honoured
    assert emb.stats()["failed"] == 0 and emb.stats()["throttled"] >= 1
    assert len(vectors) == len(texts)
    assert vectors == [alone(SMALL, text) for text in texts]
    emulator.configure(faults=[], latency_ms=0)
    sample = [0, 1, 99, 100, 4321, 9999]
    assert [query(make(coalesce=False), texts[i], mode) for i in sample] == [
        vectors[i] for i in sample
    ]


def test_a_batch_that_keeps_failing_raises_a_typed_error(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], quick_retries, mode
) -> None:
    emulator.configure(faults=[{"kind": "server_error"}])
    emb = make(max_retries=2)
    with pytest.raises(InternalServerError) as info:
        docs(emb, corpus(50), mode)
    assert isinstance(info.value, ModelAPIError)  # also LangChain's type
    assert requests_sent(emulator) == 3


# -- coalescing --------------------------------------------------------------------------------


def test_a_thousand_concurrent_queries_share_a_few_requests(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings]
) -> None:
    texts = corpus(1000)
    emb = make()

    async def burst() -> list[list[float]]:
        return await asyncio.gather(*(emb.aembed_query(t) for t in texts))

    vectors = asyncio.run(burst())
    assert requests_sent(emulator) == 10
    assert vectors == [alone(SMALL, t) for t in texts]


def test_concurrent_sync_queries_from_threads_are_coalesced(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings]
) -> None:
    texts = corpus(64)
    emb = make(coalesce_window_ms=100)
    barrier = threading.Barrier(len(texts))

    def one(text: str) -> list[float]:
        barrier.wait()
        return emb.embed_query(text)

    with ThreadPoolExecutor(len(texts)) as pool:
        vectors = list(pool.map(one, texts))
    assert vectors == [alone(SMALL, t) for t in texts]
    assert requests_sent(emulator) <= 8


def test_without_coalescing_every_query_is_a_request(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings]
) -> None:
    emb = make(coalesce=False)

    async def burst() -> None:
        await asyncio.gather(*(emb.aembed_query(t) for t in corpus(50)))

    asyncio.run(burst())
    assert requests_sent(emulator) == 50


# -- bad input, truncation, model options ------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["fine", ""], r"texts\[1\] is an empty string"),
        (["fine", "also fine", 42], r"texts\[2\] is a int"),
        (["fine", "word " * 600], r"texts\[1\] has about 602 tokens"),
    ],
)
def test_bad_input_raises_before_any_request(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode, texts, message
) -> None:
    with pytest.raises(ValueError, match=message):
        docs(make(), texts, mode)
    with pytest.raises(ValueError, match="the query is"):
        query(make(), "" if "empty" in message else 42, mode)
    assert requests_sent(emulator) == 0


def test_an_empty_list_sends_nothing(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    assert docs(make(), [], mode) == []
    assert requests_sent(emulator) == 0


def test_truncate_cuts_long_texts_with_a_warning(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    texts = ["short one", "word " * 700, "another short one", "longer " * 2000]
    with pytest.warns(InputTruncatedWarning, match="2 of 4 texts were longer than 512"):
        vectors = docs(make(truncate=True), texts, mode)
    assert len(vectors) == 4 and requests_sent(emulator) == 1
    assert vectors[0] == alone(SMALL, "short one")


def test_bge_m3_long_inputs_are_truncated(make: Callable[..., WorkersAIEmbeddings]) -> None:
    with pytest.warns(InputTruncatedWarning, match="1 of 1 texts were longer than 60000"):
        vectors = docs(make(model=M3, truncate=True), ["many words " * 40_000], "sync")
    assert len(vectors[0]) == 1024


def test_qwen3_queries_and_documents(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    emb = make(model=QWEN, query_instruction=True)
    vectors = docs(emb, corpus(70), mode)
    assert len(vectors) == 70 and len(vectors[0]) == 1024
    assert requests_sent(emulator) == 3  # batches of 32
    assert len(query(emb, "what is chunk 3?", mode)) == 1024


def test_pooling_changes_vectors_and_is_refused_where_unsupported(
    make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    text = ["the same sentence"]
    cls = docs(make(model=BASE, pooling="cls"), text, mode)[0]
    mean = docs(make(model=BASE, pooling="mean"), text, mode)[0]
    assert cls == alone(BASE, text[0], pooling="cls") and cls != mean
    with pytest.raises(ConfigurationError, match="no pooling option"):
        make(model=M3, pooling="cls")
    with pytest.raises(ConfigurationError, match="at most 100"):
        make(batch_size=500)


def test_query_instruction_prefixes_queries_only(
    make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    emb = make(model=BASE, query_instruction=True)
    prefix = "Represent this sentence for searching relevant passages: "
    assert query(emb, "what is golf?", mode) == alone(BASE, prefix + "what is golf?")
    assert docs(emb, ["what is golf?"], mode)[0] == alone(BASE, "what is golf?")


def test_progress_bar(make: Callable[..., WorkersAIEmbeddings], capsys, mode) -> None:
    docs(make(show_progress=True), corpus(250), mode)
    assert "250/250" in capsys.readouterr().err


# -- LangChain integrations ---------------------------------------------------------------------


def test_cache_backed_embeddings_and_in_memory_vector_store(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings]
) -> None:
    emb = make()
    cached = CacheBackedEmbeddings.from_bytes_store(
        emb, InMemoryByteStore(), namespace=emb.model, query_embedding_cache=True
    )
    texts = corpus(150)
    first = cached.embed_documents(texts)
    sent = requests_sent(emulator)
    assert cached.embed_documents(texts) == first and requests_sent(emulator) == sent == 2
    store = InMemoryVectorStore(embedding=cached)
    store.add_texts(texts)
    assert requests_sent(emulator) == sent  # every vector came from the cache
    assert store.similarity_search(texts[42], k=1)[0].page_content == texts[42]


def test_indexing_api_skips_unchanged_documents(emulator: EmulatorServer, make, mode) -> None:
    store = InMemoryVectorStore(embedding=make())
    manager = InMemoryRecordManager(namespace="workers-ai-test")
    manager.create_schema()
    documents = [Document(t, metadata={"source": f"doc{i % 5}"}) for i, t in enumerate(corpus(120))]

    def run() -> dict[str, Any]:
        if mode == "sync":
            return dict(index(documents, manager, store, cleanup="full", source_id_key="source"))
        return dict(
            asyncio.run(aindex(documents, manager, store, cleanup="full", source_id_key="source"))
        )

    assert run()["num_added"] == 120
    sent = requests_sent(emulator)
    again = run()
    assert again["num_skipped"] == 120 and again["num_added"] == 0
    assert requests_sent(emulator) == sent


# -- async batch API -----------------------------------------------------------------------------


def test_batch_api_returns_vectors_in_input_order(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    texts = corpus(250)
    emb = make(use_batch_api=True, batch_poll_interval=0.01)
    assert docs(emb, texts, mode) == [alone(SMALL, t) for t in texts]
    # one job (3 inputs of <= 100 texts): submit, one "queued" poll, then the results
    assert requests_sent(emulator) == 3


def test_batch_api_resumes_from_request_ids(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    texts = corpus(120)
    if mode == "sync":
        ids = make(use_batch_api=True).submit_batch(texts)
        vectors = make(batch_poll_interval=0.01, use_batch_api=True).collect_batch(ids)
    else:
        ids = asyncio.run(make(use_batch_api=True).asubmit_batch(texts))
        later = make(batch_poll_interval=0.01, use_batch_api=True)
        vectors = asyncio.run(later.acollect_batch(ids))
    assert len(ids) == 1 and vectors == [alone(SMALL, t) for t in texts]


def test_batch_api_is_refused_for_models_without_it(make) -> None:
    with pytest.raises(ConfigurationError, match="batch API"):
        make(model=QWEN, use_batch_api=True)


# -- reranker ------------------------------------------------------------------------------------

PASSAGES = [
    "Paris is the capital and largest city of France.",
    "Berlin is the capital of Germany.",
    "The Eiffel Tower stands in Paris, the French capital.",
    "Bananas are rich in potassium.",
    "Madrid is the capital of Spain.",
]


def compress(reranker: WorkersAIReranker, documents: list[Document], q: str, mode: str) -> Any:
    if mode == "sync":
        return reranker.compress_documents(documents, q)
    return asyncio.run(reranker.acompress_documents(documents, q))


@pytest.mark.parametrize("model", ["@cf/baai/bge-reranker-base", M3])
def test_reranker_orders_by_relevance_with_scores(emulator: EmulatorServer, mode, model) -> None:
    reranker = WorkersAIReranker(**emulator.client_kwargs(), model=model, top_n=2)
    documents = [Document(p, metadata={"n": i}, id=str(i)) for i, p in enumerate(PASSAGES)]
    ranked = compress(reranker, documents, "What is the capital of France, Paris?", mode)
    assert len(ranked) == 2 and ranked[0].metadata["n"] in (0, 2)
    scores = [d.metadata["relevance_score"] for d in ranked]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert ranked[0].id == str(ranked[0].metadata["n"])
    assert "relevance_score" not in documents[0].metadata  # the caller's documents are untouched


def test_reranker_splits_long_candidate_lists_and_merges(emulator: EmulatorServer, mode) -> None:
    filler = [f"Unrelated note {i} about {WORDS[i % 12]}." for i in range(249)]
    texts = [*filler[:180], "The zebra crossing rule: pedestrians first.", *filler[180:]]
    reranker = WorkersAIReranker(**emulator.client_kwargs(), top_n=3)
    ranked = compress(reranker, [Document(t) for t in texts], "zebra crossing pedestrians", mode)
    assert ranked[0].page_content.startswith("The zebra crossing")
    assert requests_sent(emulator) == 3  # 250 candidates in requests of 100
    assert reranker.rerank([], "anything") == [] and requests_sent(emulator) == 3


def test_reranker_in_a_contextual_compression_retriever(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], mode
) -> None:
    store = InMemoryVectorStore.from_texts(PASSAGES, make())
    retriever = ContextualCompressionRetriever(
        base_compressor=WorkersAIReranker(**emulator.client_kwargs(), top_n=1),
        base_retriever=store.as_retriever(search_kwargs={"k": 4}),
    )
    q = "Which city is the capital of Spain? Madrid?"
    found = retriever.invoke(q) if mode == "sync" else asyncio.run(retriever.ainvoke(q))
    assert [d.page_content for d in found] == [PASSAGES[4]]


# -- a RAG chain end to end ----------------------------------------------------------------------


def test_rag_chain_end_to_end(
    emulator: EmulatorServer, make: Callable[..., WorkersAIEmbeddings], tmp_path: Path, mode
) -> None:
    notes = {
        "tokens.md": "API tokens. To rotate an API token, open the dashboard, choose the token "
        "and press Roll. The old token stops working at once.\n\n" + "Filler line. " * 40,
        "limits.md": "Rate limits. Text embeddings allow 3000 requests per minute; text "
        "generation allows 300.\n\n" + "Other text. " * 40,
    }
    for name, text in notes.items():
        (tmp_path / name).write_text(text)
    loaded = [Document(p.read_text(), metadata={"source": p.name}) for p in tmp_path.iterdir()]
    chunks = RecursiveCharacterTextSplitter(chunk_size=200, chunk_overlap=20).split_documents(
        loaded
    )
    store = InMemoryVectorStore.from_documents(chunks, make(model=BASE))
    retriever = ContextualCompressionRetriever(
        base_compressor=WorkersAIReranker(**emulator.client_kwargs(), top_n=2),
        base_retriever=store.as_retriever(search_kwargs={"k": 6}),
    )
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\n\n{context}"), ("human", "{question}")]
    )
    llm = ChatWorkersAI(
        **emulator.client_kwargs(), model="@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    )
    question = "How do I rotate an API token?"

    def context(q: str) -> str:
        found = retriever.invoke(q)
        assert found[0].metadata["source"] == "tokens.md"
        return "\n\n".join(d.page_content for d in found)

    chain = {"context": context, "question": lambda q: q} | prompt | llm | StrOutputParser()
    answer = chain.invoke(question) if mode == "sync" else asyncio.run(chain.ainvoke(question))
    assert isinstance(answer, str) and answer.strip()
    by_model = emulator.stats()["by_model"]
    assert {BASE, "@cf/baai/bge-reranker-base", llm.model} <= set(by_model)
