"""WorkersAIVectorize against the emulator's Vectorize V2, each behaviour sync and async.

The embeddings are ``WorkersAIEmbeddings`` on the emulator, whose vectors are lexical (texts
sharing words are close), so nearest-neighbour and MMR outcomes are predictable. Writes wait
for their mutations (``wait_for_mutations``), so no test sleeps; some run with the emulator's
Vectorize mutation lag so that waiting is what makes a write visible.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAIEmbeddings,
    WorkersAIVectorize,
)
from tests.support.emulator import adapter_kwargs
from workers_ai import InvalidRequestError, MutationTimeoutError, VectorizeIndexNotFoundError
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import UnknownArgumentError
from workers_ai.vectorize import FilterError, IngestProgress
from workers_ai.vectorize import client as vectorize_client

#: What the ``make`` fixture is: builds a store on a fresh index.
Make = Callable[..., WorkersAIVectorize]
SMALL = "@cf/baai/bge-small-en-v1.5"
CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
QUERY_ROUTE = "vectorize_query"

#: A small library: two near-duplicates, and properties to filter on.
LIBRARY = {
    "Paris travel guide: museums, cafes and the river Seine": {"genre": "travel", "year": 2019},
    "Rome travel guide: ruins, piazzas and fountains": {"genre": "travel", "year": 2021},
    "Sourdough bread recipe with a long cold proof": {"genre": "food", "year": 2020},
    "Ramen noodle recipe with a rich pork broth": {"genre": "food", "year": 2023},
    "Chess opening theory for club players": {"genre": "games", "year": 2022},
}
PARIS, ROME, BREAD, RAMEN, CHESS = LIBRARY


class Api:
    """Calls a method the sync way or as its ``a``-prefixed twin, on one event loop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    def __call__(self, target: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.loop is None:
            return getattr(target, method)(*args, **kwargs)
        return self.loop.run_until_complete(getattr(target, "a" + method)(*args, **kwargs))


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    runner = Api(request.param)
    yield runner
    if runner.loop is not None:
        runner.loop.close()


@pytest.fixture
def make(emulator: EmulatorServer, api: Api) -> Iterator[Make]:
    """Stores on fresh indexes (created on first use) with emulator embeddings."""
    made: list[WorkersAIVectorize] = []

    def build(**fields: Any) -> WorkersAIVectorize:
        fields.setdefault("embedding", WorkersAIEmbeddings(model=SMALL, **adapter_kwargs(emulator)))
        fields.setdefault("index_name", f"lc-{uuid.uuid4().hex[:12]}")
        fields.setdefault("create_index", True)
        store = WorkersAIVectorize(**adapter_kwargs(emulator), **fields)
        made.append(store)
        return store

    yield build
    for store in made:
        store.close()
        if api.loop is not None:
            api.loop.run_until_complete(store.aclose())


@pytest.fixture
def lag(emulator: EmulatorServer) -> Iterator[Callable[[float], None]]:
    """Sets the emulator's Vectorize mutation lag (ms) for this test."""
    before = emulator.app.config.vectorize_mutation_lag_ms

    def set_lag(ms: float) -> None:
        emulator.configure(vectorize_mutation_lag_ms=ms)

    yield set_lag
    emulator.configure(vectorize_mutation_lag_ms=before)


def library(make: Make, api: Api, **fields: Any) -> WorkersAIVectorize:
    fields.setdefault("metadata_indexes", {"genre": "string", "year": "number"})
    store = make(**fields)
    api(store, "add_texts", list(LIBRARY), list(LIBRARY.values()))
    return store


def texts(docs: list[Document]) -> list[str]:
    return [doc.page_content for doc in docs]


def vector_count(emulator: EmulatorServer, store: WorkersAIVectorize) -> int:
    with emulator.client() as client:
        return client.vectorize.index(store.index_name).stats().vector_count


# --- writes and reads -------------------------------------------------------------------------
@pytest.mark.parametrize("lag_ms", [0, 150])
def test_a_write_is_searchable_when_it_returns(
    make: Make, api: Api, lag: Callable[[float], None], lag_ms: float
) -> None:
    lag(lag_ms)
    store = make()
    ids = api(store, "add_texts", [PARIS, BREAD], [{"genre": "travel"}, {"genre": "food"}])
    found = api(store, "similarity_search", "bread recipe", k=2)
    assert texts(found) == [BREAD, PARIS]
    assert api(store, "get_by_ids", ids) == [
        Document(id=ids[0], page_content=PARIS, metadata={"genre": "travel"}),
        Document(id=ids[1], page_content=BREAD, metadata={"genre": "food"}),
    ]
    api(store, "delete", [ids[1]])
    assert texts(api(store, "similarity_search", "bread recipe", k=2)) == [PARIS]


def test_without_waiting_a_lagging_write_is_not_yet_visible(
    make: Make, api: Api, lag: Callable[[float], None]
) -> None:
    lag(60_000)
    store = make(wait_for_mutations=False)
    api(store, "add_texts", [PARIS])
    assert api(store, "similarity_search", "Paris", k=1) == []


def test_a_write_not_applied_in_time_raises(
    make: Make, api: Api, lag: Callable[[float], None]
) -> None:
    lag(60_000)
    store = make(mutation_timeout=0.2)
    with pytest.raises(MutationTimeoutError, match="had not applied"):
        api(store, "add_texts", [PARIS])


def test_ids_are_kept_or_deterministic(emulator: EmulatorServer, make: Make, api: Api) -> None:
    store = make()
    docs = [Document(PARIS, id="paris"), Document(ROME), Document(BREAD, metadata={"n": 1})]
    ids = api(store, "add_documents", docs)
    assert ids[0] == "paris" and len(ids[1]) == 64
    assert api(store, "add_documents", docs[1:]) == ids[1:]  # same text, same id
    assert api(store, "add_texts", [CHESS], ids=["chess"]) == ["chess"]
    assert vector_count(emulator, store) == 4
    assert docs[1].id is None  # the caller's documents are not changed


def test_unchanged_documents_are_not_embedded_again(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    store = make()
    api(store, "add_texts", [PARIS, ROME, BREAD], ids=["p", "r", "b"])
    embedded = emulator.request_count(model=SMALL)
    api(store, "add_texts", [PARIS, ROME, BREAD], ids=["p", "r", "b"])
    assert emulator.request_count(model=SMALL) == embedded
    api(store, "add_texts", [PARIS, ROME, CHESS], ids=["p", "r", "b"])  # "b" changed
    assert emulator.last_request(model=SMALL).body["text"] == [CHESS]
    assert texts(api(store, "get_by_ids", ["b"])) == [CHESS]


def test_bulk_add_reports_progress_per_batch(make: Make, api: Api) -> None:
    store = make(batch_size=2)
    seen: list[IngestProgress] = []
    ids = api(store, "add_texts", list(LIBRARY), on_progress=seen.append)
    assert [(p.done, p.total, p.chunk, p.chunks) for p in seen] == [
        (2, 5, 1, 3),
        (4, 5, 2, 3),
        (5, 5, 3, 3),
    ]
    assert len(api(store, "get_by_ids", ids)) == 5


def test_a_document_too_large_raises_before_any_request(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    store = make()
    before = emulator.request_count()
    long_text = "A very long chapter. " * 600
    with pytest.raises(InvalidRequestError) as raised:
        api(store, "add_texts", [PARIS, long_text], ids=["ok", "long"])
    message = str(raised.value)
    assert "document 1 (id 'long')" in message
    assert "split long documents" in message and "RecursiveCharacterTextSplitter" in message
    assert emulator.request_count() == before
    assert emulator.vectorize_indexes() == []  # not even created


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"tags": [1, 2]}, "'tags'"),
        ({"page": None}, "'page'"),
        ({"a.b": "x"}, "'a.b'"),
        ({"when": datetime.date(2024, 1, 1)}, "'when'"),
    ],
)
def test_metadata_vectorize_cannot_store_is_refused_before_any_request(
    emulator: EmulatorServer,
    make: Make,
    api: Api,
    metadata: dict[str, Any],
    named: str,
) -> None:
    store = make()
    with pytest.raises(InvalidRequestError, match="document 0") as raised:
        api(store, "add_texts", [PARIS], [metadata])
    assert named in str(raised.value)
    assert emulator.request_count() == 0


def test_namespaces_isolate(emulator: EmulatorServer, make: Make, api: Api) -> None:
    store = make(namespace="a")
    api(store, "add_texts", [PARIS, ROME])
    api(store, "add_texts", [PARIS], namespace="b")  # same text, its own vector
    assert set(texts(api(store, "similarity_search", "travel", k=5))) == {PARIS, ROME}
    assert texts(api(store, "similarity_search", "travel", k=5, namespace="b")) == [PARIS]
    everything = make(index_name=store.index_name)
    assert len(api(everything, "similarity_search", "travel guide", k=5)) == 3
    api(store, "delete")  # only namespace "a"
    assert api(store, "similarity_search", "travel", k=5) == []
    assert texts(api(everything, "similarity_search", "travel", k=5)) == [PARIS]
    assert vector_count(emulator, store) == 1


def test_a_namespaced_store_reads_and_deletes_by_id_only_its_own(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    store = make(namespace="a")
    api(store, "add_texts", [PARIS], ids=["mine"])
    everything = make(index_name=store.index_name)
    api(everything, "add_texts", [ROME], ids=["theirs"])  # no namespace: not store a's
    assert [d.id for d in api(store, "get_by_ids", ["mine", "theirs"])] == ["mine"]
    api(store, "delete", ["mine", "theirs"])
    assert [d.id for d in api(everything, "get_by_ids", ["mine", "theirs"])] == ["theirs"]


def test_a_document_re_added_to_another_namespace_moves_there(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    store = make()
    api(store, "add_texts", [PARIS], ids=["p"], namespace="a")
    api(store, "add_texts", [PARIS], ids=["p"], namespace="b")  # same id, text and metadata
    assert texts(api(store, "similarity_search", "Paris", namespace="b")) == [PARIS]
    assert api(store, "similarity_search", "Paris", namespace="a") == []


def test_delete_without_ids_deletes_everything_page_by_page(
    emulator: EmulatorServer,
    make: Make,
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vectorize_client, "DELETE_PAGE", 2)
    store = library(make, api)
    api(store, "delete", [])  # an empty list deletes nothing
    assert vector_count(emulator, store) == 5
    assert api(store, "delete") is True
    assert vector_count(emulator, store) == 0
    assert api(store, "similarity_search", "recipe", k=5) == []
    assert emulator.request_count(route="vectorize_delete_by_ids") == 3


# --- filters ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"genre": "food"}, {BREAD, RAMEN}),
        ({"genre": {"$eq": "food"}}, {BREAD, RAMEN}),
        ({"genre": {"$ne": "food"}}, {PARIS, ROME, CHESS}),
        ({"genre": {"$in": ["food", "games"]}}, {BREAD, RAMEN, CHESS}),
        ({"genre": {"$nin": ["food", "games"]}}, {PARIS, ROME}),
        ({"year": {"$lt": 2020}}, {PARIS}),
        ({"year": {"$lte": 2020}}, {PARIS, BREAD}),
        ({"year": {"$gt": 2021}}, {RAMEN, CHESS}),
        ({"year": {"$gte": 2021}}, {ROME, RAMEN, CHESS}),
        ({"year": {"$gte": 2020, "$lt": 2023}}, {BREAD, ROME, CHESS}),
        ({"genre": "travel", "year": {"$gt": 2020}}, {ROME}),
        ({"$and": [{"genre": "food"}, {"year": {"$gte": 2021}}]}, {RAMEN}),
        ({"$or": [{"genre": "travel"}, {"genre": "games"}]}, {PARIS, ROME, CHESS}),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_filters(
    make: Make,
    api: Api,
    filter: dict[str, Any],
    expected: set[str],
) -> None:
    store = library(make, api)
    found = api(store, "similarity_search", "guide recipe theory", k=5, filter=filter)
    assert set(texts(found)) == expected


def test_an_or_on_one_key_is_sent_as_in(emulator: EmulatorServer, make: Make, api: Api) -> None:
    store = library(make, api)
    api(store, "similarity_search", "x", filter={"$or": [{"genre": "food"}, {"genre": "games"}]})
    assert emulator.last_request(route=QUERY_ROUTE).body["filter"] == {
        "genre": {"$in": ["food", "games"]}
    }


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ({"$or": [{"genre": "food"}, {"year": 2020}]}, "no OR"),
        ({"genre": {"$like": "fo%"}}, "'$like'"),
        ({"genre": {"$exists": True}}, "'$exists'"),
        ({"$not": {"genre": "food"}}, "'$not'"),
        ({"genre": {"kind": "x"}}, "'genre.kind'"),
        ({"genre": {"$eq": "food", "$ne": "games"}}, "combines"),
        ({"genre": ["food", "games"]}, "use $in"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_filters_vectorize_cannot_express_are_refused(
    emulator: EmulatorServer,
    make: Make,
    api: Api,
    filter: dict[str, Any],
    message: str,
) -> None:
    store = make(metadata_indexes={"genre": "string"})
    with pytest.raises(FilterError, match=re.escape(message)):
        api(store, "similarity_search", "food", filter=filter)
    assert emulator.request_count(route=QUERY_ROUTE) == 0


def test_a_filter_on_a_property_without_metadata_index_says_how_to_fix(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    store = library(make, api)
    with pytest.raises(FilterError, match=r"create_metadata_index\('author'"):
        api(store, "similarity_search", "x", filter={"author": "Ann"})
    api(store, "create_metadata_index", "author", "string")
    api(store, "add_texts", [CHESS], [{"author": "Ann"}], ids=["ann"])  # written after it
    found = api(store, "similarity_search", "x", filter={"author": "Ann"})
    assert [doc.id for doc in found] == ["ann"]


# --- scores, MMR, retrievers --------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot-product"])
def test_relevance_scores_follow_the_index_metric(make: Make, api: Api, metric: str) -> None:
    store = library(make, api, metric=metric)
    raw = api(store, "similarity_search_with_score", "ramen noodle broth", k=3)
    scored = api(store, "similarity_search_with_relevance_scores", "ramen noodle broth", k=3)
    assert [doc for doc, _ in scored] == [doc for doc, _ in raw]
    assert scored[0][0].page_content == RAMEN
    relevances = [score for _, score in scored]
    assert relevances == sorted(relevances, reverse=True) and relevances[0] > relevances[-1]
    assert all(0.0 <= score <= 1.0 for score in relevances)
    raws = [score for _, score in raw]
    assert raws == sorted(raws, reverse=metric == "cosine")  # distances grow, similarity falls
    threshold = (relevances[0] + relevances[1]) / 2
    kept = api(
        store, "similarity_search_with_relevance_scores", "ramen noodle broth", k=3,
        score_threshold=threshold,
    )  # fmt: skip
    assert [doc.page_content for doc, _ in kept] == [RAMEN]
    reader = make(index_name=store.index_name, create_index=False)  # metric left at cosine
    again = api(reader, "similarity_search_with_relevance_scores", "ramen noodle broth", k=3)
    assert again == scored  # scored by the index's own metric


def test_mmr_trades_relevance_for_diversity(emulator: EmulatorServer, make: Make, api: Api) -> None:
    store = make()
    louvre = [
        "Paris museum guide: the Louvre and its paintings",
        "Paris museum guide: the Louvre and its paintings, revised",
        "Paris museum guide: the Louvre and its paintings, abridged",
    ]
    api(store, "add_texts", [*louvre, "Paris bakery guide: croissants and baguettes"])
    similar = texts(api(store, "similarity_search", "Paris museum guide", k=2))
    assert set(similar) <= set(louvre)
    diverse = texts(
        api(store, "max_marginal_relevance_search", "Paris museum guide", k=2, fetch_k=200,
            lambda_mult=0.2)
    )  # fmt: skip
    assert diverse[0] in louvre and diverse[1] not in louvre
    body = emulator.last_request(route=QUERY_ROUTE).body
    assert body["topK"] == 50 and body["returnValues"] is True  # fetch_k within the limit


def test_retrievers(make: Make, api: Api) -> None:
    store = library(make, api)
    similarity = store.as_retriever(search_kwargs={"k": 2, "filter": {"genre": "food"}})
    assert set(texts(api(similarity, "invoke", "recipe"))) == {BREAD, RAMEN}
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 5})
    assert len(api(mmr, "invoke", "travel guide")) == 2
    strict = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.99}
    )
    assert api(strict, "invoke", "unrelated quantum chromodynamics") == []


def test_retriever_in_a_rag_chain(emulator: EmulatorServer, make: Make, api: Api) -> None:
    store = make()
    tokens = (
        "API tokens live in the dashboard under My Profile. To rotate an API token, open the "
        "dashboard, choose the token and press Roll. The old token stops working at once, so "
        "update every service that uses it before you roll it."
    )
    limits = "Rate limits: text embeddings allow 3000 requests per minute; generation 300."
    api(store, "add_texts", [tokens, limits])
    retriever = store.as_retriever(search_kwargs={"k": 1})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\n\n{context}"), ("human", "{question}")]
    )
    llm = ChatWorkersAI(model=CHAT, **adapter_kwargs(emulator))
    join = RunnableLambda(lambda docs: "\n\n".join(d.page_content for d in docs))
    chain = (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | prompt
        | llm
        | StrOutputParser()
    )
    answer = api(chain, "invoke", "How do I rotate an API token?")
    assert "press Roll" in answer
    assert "Rate limits" not in emulator.last_request(model=CHAT).body["messages"][0]["content"]


# --- construction and errors ----------------------------------------------------------------
def test_from_texts_creates_the_index_with_the_embedding_size(
    emulator: EmulatorServer, api: Api
) -> None:
    kw = adapter_kwargs(emulator)
    workers = WorkersAIEmbeddings(model=SMALL, **kw)
    store = api(WorkersAIVectorize, "from_texts", [PARIS], workers, index_name="w", **kw)
    fake = DeterministicFakeEmbedding(size=6)
    other = api(
        WorkersAIVectorize, "from_documents", [Document(ROME, id="rome")], fake,
        index_name="f", **kw,
    )  # fmt: skip
    with emulator.client() as client:
        assert client.vectorize.get_index("w").dimensions == 384  # from the catalog
        assert client.vectorize.get_index("f").dimensions == 6  # from one embed_query
    assert emulator.request_count(model=SMALL) == 1  # the documents only: no probe
    assert texts(api(store, "similarity_search", "Paris", k=1)) == [PARIS]
    assert api(other, "get_by_ids", ["rome"])[0].page_content == ROME
    for made in (store, other):
        made.close()
        if api.loop is not None:
            api.loop.run_until_complete(made.aclose())


def test_a_missing_index_says_how_to_create_it(make: Make, api: Api) -> None:
    store = make(create_index=False)
    with pytest.raises(VectorizeIndexNotFoundError) as raised:
        api(store, "similarity_search", "x")
    if sys.version_info >= (3, 11):
        assert "create_index=True" in "".join(raised.value.__notes__)


def test_an_existing_metadata_index_of_another_type_is_refused(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    library(make, api, index_name="shared")
    store = make(index_name="shared", metadata_indexes={"year": "string"})
    with pytest.raises(InvalidRequestError, match="number metadata index on 'year'"):
        api(store, "similarity_search", "x")


def test_misspelt_keywords_are_refused_before_any_request(
    emulator: EmulatorServer, make: Make, api: Api
) -> None:
    store = make()
    with pytest.raises(UnknownArgumentError, match="did you mean 'filter'"):
        api(store, "similarity_search_by_vector", [0.1] * 384, filters={"genre": "x"})
    with pytest.raises(UnknownArgumentError, match="did you mean 'namespace'"):
        api(store, "add_texts", [PARIS], namespaces="a")
    assert emulator.request_count() == 0


def test_k_over_vectorize_limit_is_explained(make: Make, api: Api) -> None:
    store = make()
    with pytest.raises(InvalidRequestError, match="top_k must be from 1 to 50"):
        api(store, "similarity_search", "x", k=51)


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"index_name": "a/b"}, "index name"),
        ({"text_key": "a.b"}, "'a.b'"),
        ({"namespace": "n" * 65}, "64 bytes"),
        ({"batch_size": 0}, "batch_size"),
        ({"mutation_timeout": 0}, "mutation_timeout"),
        ({"metadata_indexes": {f"p{i}": "string" for i in range(11)}}, "allows 10"),
    ],
)
def test_construction_checks_fields_without_io(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "embedding": DeterministicFakeEmbedding(size=6),
        "index_name": "docs",
        "account_id": "acct",
        "api_key": "token",
    }
    with pytest.raises(InvalidRequestError, match=message):
        WorkersAIVectorize(**{**base, **fields})


@pytest.mark.usefixtures("no_env")
def test_embedding_and_index_name_may_be_positional() -> None:
    fake = DeterministicFakeEmbedding(size=6)
    store = WorkersAIVectorize(fake, "docs", account_id="acct", api_key="s3cr3t-value")
    assert (store.embeddings, store.index_name) == (fake, "docs")
    assert "s3cr3t" not in repr(store)
    with pytest.raises(TypeError, match="embedding twice"):
        WorkersAIVectorize(fake, embedding=fake, index_name="docs")
