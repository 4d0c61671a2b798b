"""WorkersAISearchRetriever and WorkersAISearchAnswer against the emulator's AI Search, each
behaviour sync and async, on the AI Search instance routes and the legacy AutoRAG routes.

The emulator's AI Search (``workers_ai.emulator.ai_search``) cuts each file into one chunk per
paragraph, scores chunks lexically (texts sharing words are close) and answers with a
stand-in that quotes the retrieved sentence closest to the question, so which file comes
first, and what the answer says, are predictable. A legacy AutoRAG id is the name of an
instance in namespace ``default``: one corpus serves both route families.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.exceptions import ModelNotFoundError as LangChainNotFoundError
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAISearchAnswer,
    WorkersAISearchRetriever,
    get_workers_ai_callback,
)
from tests.support.emulator import adapter_kwargs
from workers_ai import errors as core_errors
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import ConfigurationError, InvalidRequestError, UnknownArgumentError
from workers_ai.vectorize import FilterError

CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
QUESTION = "How do I train a llama to deliver coffee?"
TRAINING = "llamas/training.md"
#: The corpus of instance ``docs`` (namespace ``default``; also AutoRAG ``docs``).
FILES: dict[str, Any] = {
    TRAINING: {
        "text": "Train a llama to deliver coffee with patience, treats and a short daily route.",
        "metadata": {"team": "farm"},
        "timestamp": 1_735_689_600_000,
    },
    "llamas/logistics.md": {
        "text": "A llama can carry three coffee cups at most on one delivery.",
        "metadata": {"team": "farm"},
    },
    "coffee/roasting.md": "Coffee beans are roasted before the coffee is brewed.",
    "billing/refunds.md": {
        "text": "Refunds for coffee orders take five days to reach the bank.",
        "metadata": {"team": "finance"},
    },
    "billing/invoices.md": {
        "text": "Invoices are emailed on the first day of each month.",
        "metadata": {"team": "finance"},
    },
}
#: Two instances of namespace ``team``, for cross-instance searches.
TEAM = {
    "handbook": {"people/holidays.md": "Holidays for the llama keepers are booked in spring."},
    "wiki": {"farm/llamas.md": "Our llama herd delivers coffee to the farm office daily."},
}
ROUTES = {"instance": "ai_search_search", "autorag": "autorag_search"}
ANSWER_ROUTES = {"instance": "ai_search_chat", "autorag": "autorag_ai_search"}


class Api:
    """Calls a runnable the sync way, or as its async twin in a fresh event loop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def invoke(self, runnable: Any, value: Any, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return runnable.invoke(value, **kwargs)
        return asyncio.run(runnable.ainvoke(value, **kwargs))

    def stream(self, runnable: Any, value: Any, **kwargs: Any) -> list[Any]:
        """The streamed pieces, in order."""
        if self.kind == "sync":
            return list(runnable.stream(value, **kwargs))

        async def collect() -> list[Any]:
            return [piece async for piece in runnable.astream(value, **kwargs)]

        return asyncio.run(collect())


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Api:
    return Api(request.param)


@pytest.fixture
def corpus(emulator: EmulatorServer) -> EmulatorServer:
    """The emulator with instance ``docs`` (default namespace) and ``team``'s two instances."""
    emulator.add_ai_search_instance("docs", files=FILES)
    for name, files in TEAM.items():
        emulator.add_ai_search_instance(name, files=files, namespace="team")
    return emulator


Make = Callable[..., Any]


@pytest.fixture
def retriever(corpus: EmulatorServer) -> Make:
    def make(**fields: Any) -> WorkersAISearchRetriever:
        return WorkersAISearchRetriever(**adapter_kwargs(corpus), **fields)

    return make


@pytest.fixture
def answerer(corpus: EmulatorServer) -> Make:
    def make(**fields: Any) -> WorkersAISearchAnswer:
        return WorkersAISearchAnswer(**adapter_kwargs(corpus), **fields)

    return make


def target(family: str) -> dict[str, str]:
    """The fields that pick instance ``docs`` on ``family``'s routes."""
    return {family: "docs"}


def sent(emulator: EmulatorServer, family: str, answer: bool = False) -> dict[str, Any]:
    """The body of the last search (or answer) request of ``family``."""
    routes = ANSWER_ROUTES if answer else ROUTES
    body: dict[str, Any] = emulator.last_request(route=routes[family]).body
    return body


# --- documents and metadata -------------------------------------------------------------------
@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_documents_best_first_with_their_metadata(
    corpus: EmulatorServer, retriever: Make, api: Api, family: str
) -> None:
    docs = api.invoke(retriever(**target(family), k=3), QUESTION)
    assert 1 <= len(docs) <= 3
    assert all(isinstance(doc, Document) for doc in docs)
    best = docs[0]
    assert best.page_content.startswith("Train a llama to deliver coffee")
    assert best.metadata["filename"] == best.metadata["source"] == TRAINING
    scores = [doc.metadata["score"] for doc in docs]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    assert len({doc.id for doc in docs}) == len(docs) and all(doc.id for doc in docs)
    if family == "instance":  # chunks: chunk ids, file times, custom metadata, score details
        assert best.metadata["timestamp"] == 1_735_689_600_000  # as the service sent it (ms)
        assert best.metadata["team"] == "farm"  # custom metadata, flat
        assert "vector_score" in best.metadata["scoring_details"]
        assert "file_id" not in best.metadata and "instance_id" not in best.metadata
    else:  # files: the file id is the document's id, attributes as the AutoRAG gives them
        assert best.id == best.metadata["file_id"]
        assert best.metadata["folder"] == "llamas/" and best.metadata["team"] == "farm"
        assert best.metadata["modified_date"] == 1_735_689_600_000
        assert "scoring_details" not in best.metadata
    assert corpus.last_request(route=ROUTES[family]).body["query"] == QUESTION


@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_the_chunks_own_keys_win_over_custom_attributes_of_the_same_name(
    emulator: EmulatorServer, api: Api, family: str
) -> None:
    meta = {"source": "crm export", "score": 99, "owner": "ops"}
    emulator.add_ai_search_instance(
        "crm", files={"crm/a.md": {"text": "Llama sales.", "metadata": meta}}
    )
    retriever = WorkersAISearchRetriever(**adapter_kwargs(emulator), **{family: "crm"})
    (doc,) = api.invoke(retriever, "llama sales", score_threshold=0.0)
    assert doc.metadata["source"] == "crm/a.md" and doc.metadata["score"] <= 1
    assert doc.metadata["owner"] == "ops"


def test_documents_across_instances_say_their_instance(retriever: Make, api: Api) -> None:
    docs = api.invoke(
        retriever(instance_ids=["handbook", "wiki"], namespace="team", score_threshold=0.0),
        "llama coffee delivery",
    )
    assert {doc.metadata["instance_id"] for doc in docs} == {"handbook", "wiki"}
    assert docs[0].metadata["instance_id"] == "wiki"  # the closer text wins across instances


def test_an_instance_missing_from_a_cross_instance_search_warns(retriever: Make, api: Api) -> None:
    with pytest.warns(UserWarning, match="'nowhere' was not searched"):
        docs = api.invoke(retriever(instance_ids=["wiki", "nowhere"], namespace="team"), "llama")
    assert docs and {doc.metadata["instance_id"] for doc in docs} == {"wiki"}


def test_a_namespaced_instance(corpus: EmulatorServer, retriever: Make, api: Api) -> None:
    docs = api.invoke(retriever(instance="wiki", namespace="team"), "llama herd coffee")
    assert docs[0].metadata["filename"] == "farm/llamas.md"
    assert corpus.last_request().path.endswith("/ai-search/namespaces/team/instances/wiki/search")


# --- options reaching the request -------------------------------------------------------------
@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_fields_reach_the_request(
    corpus: EmulatorServer, retriever: Make, api: Api, family: str
) -> None:
    fields = {"k": 2, "score_threshold": 0.1, "rewrite_query": True, "reranking": False}
    api.invoke(retriever(**target(family), **fields, filter={"team": "farm"}), QUESTION)
    body = sent(corpus, family)
    if family == "instance":
        options = body["ai_search_options"]
        assert options["retrieval"] == {
            "max_num_results": 2,
            "match_threshold": 0.1,
            "filters": {"team": "farm"},
        }
        assert options["query_rewrite"] == {"enabled": True}
        assert options["reranking"] == {"enabled": False}
    else:
        assert body["max_num_results"] == 2
        assert body["ranking_options"] == {"score_threshold": 0.1}
        assert body["rewrite_query"] is True and body["reranking"] == {"enabled": False}
        assert body["filters"] == {"type": "eq", "key": "team", "value": "farm"}


@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_k_and_filter_per_call_override_the_fields(
    corpus: EmulatorServer, retriever: Make, api: Api, family: str
) -> None:
    r = retriever(**target(family), k=4, score_threshold=0.0, filter={"team": "farm"})
    docs = api.invoke(r, "coffee", k=1, filter={"folder": "billing/"})
    assert len(docs) == 1 and docs[0].metadata["filename"].startswith("billing/")
    body = sent(corpus, family)
    if family == "instance":
        assert body["ai_search_options"]["retrieval"]["max_num_results"] == 1
        assert body["ai_search_options"]["retrieval"]["filters"] == {"folder": "billing/"}
    else:
        assert body["max_num_results"] == 1
        assert body["filters"] == {"type": "eq", "key": "folder", "value": "billing/"}
    assert len(api.invoke(r, "coffee")) > 1  # the fields again on the next call


@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_filters_narrow_the_results(retriever: Make, api: Api, family: str) -> None:
    r = retriever(**target(family), score_threshold=0.0)
    finance = api.invoke(r, "coffee", filter={"team": {"$in": ["finance"]}})
    assert finance and {d.metadata["filename"] for d in finance} <= {
        "billing/refunds.md",
        "billing/invoices.md",
    }
    lc_or = api.invoke(r, "coffee", filter={"$or": [{"team": "farm"}, {"team": "finance"}]})
    assert "coffee/roasting.md" not in {d.metadata["filename"] for d in lc_or}


def test_search_options_pass_any_other_option(
    corpus: EmulatorServer, retriever: Make, api: Api
) -> None:
    r = retriever(instance="docs", search_options={"retrieval_type": "hybrid"})
    api.invoke(r, QUESTION, search_options={"fusion_method": "max"})
    retrieval = sent(corpus, "instance")["ai_search_options"]["retrieval"]
    assert retrieval["retrieval_type"] == "hybrid" and retrieval["fusion_method"] == "max"


# --- refused before any request ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "bad"),
    [
        ("instance", {"$or": [{"team": "farm"}, {"folder": "billing/"}]}),  # OR across keys
        ("instance", {"team": {"$regex": "f.*"}}),
        ("autorag", {"team": {"$in": ["farm", "finance"]}, "folder": "llamas/"}),  # no nesting
        ("autorag", {"team": {"$in": [["farm"]]}}),
    ],
)
def test_filter_errors_are_raised_before_any_request(
    corpus: EmulatorServer, retriever: Make, api: Api, family: str, bad: dict[str, Any]
) -> None:
    r = retriever(**target(family))
    before = len(corpus.requests())
    with pytest.raises(FilterError):
        api.invoke(r, QUESTION, filter=bad)
    with pytest.raises(FilterError):
        retriever(**target(family), filter=bad)
    assert len(corpus.requests()) == before


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"filters": {"team": "farm"}}, UnknownArgumentError, "did you mean 'filter'"),
        ({"top_k": 2}, UnknownArgumentError, "'top_k'"),
        ({"k": 0}, InvalidRequestError, "max_results must be an int from 1 to 50"),
        ({"k": 51}, InvalidRequestError, "max_results"),
        ({"score_threshold": 1.5}, InvalidRequestError, "score_threshold"),
        ({"search_options": {"max_results": 2}, "k": 3}, InvalidRequestError, "give it once"),
        ({"search_options": {"model": CHAT}}, InvalidRequestError, "apply to answers"),
    ],
)
def test_bad_per_call_options_are_refused_before_any_request(
    corpus: EmulatorServer,
    retriever: Make,
    api: Api,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    r = retriever(instance="docs")
    before = len(corpus.requests())
    with pytest.raises(error, match=match):
        api.invoke(r, QUESTION, **kwargs)
    assert len(corpus.requests()) == before


def test_options_the_legacy_routes_lack_are_refused_at_construction(retriever: Make) -> None:
    with pytest.raises(InvalidRequestError, match="retrieval_type: only the AI Search"):
        retriever(autorag="docs", search_options={"retrieval_type": "hybrid"})
    with pytest.raises(InvalidRequestError, match="ranker: only the legacy"):
        retriever(instance="docs", search_options={"ranker": "default"})


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"instance": "../docs"}, ConfigurationError, "AI Search instance name"),
        ({"instance": "a/b"}, ConfigurationError, "AI Search instance name"),
        ({"autorag": "my rag"}, ConfigurationError, "AutoRAG id"),
        ({"instance": "docs", "namespace": ".."}, ConfigurationError, "namespace"),
        ({"instance_ids": ["ok", "no/pe"]}, ConfigurationError, "instance name"),
        ({}, ConfigurationError, "search one target: instance="),
        ({"instance": "docs", "autorag": "docs"}, ConfigurationError, "got instance, autorag"),
        ({"autorag": "docs", "namespace": "team"}, ConfigurationError, "namespace applies"),
        ({"instance": "docs", "k": 100}, InvalidRequestError, "max_results"),
        ({"instance": "docs", "kk": 3}, UnknownArgumentError, "did you mean 'k'"),
    ],
)
def test_construction_checks_names_and_fields_without_io(
    corpus: EmulatorServer, fields: dict[str, Any], error: type[Exception], match: str
) -> None:
    for cls in (WorkersAISearchRetriever, WorkersAISearchAnswer):
        with pytest.raises(error, match=match):
            cls(**adapter_kwargs(corpus), **fields)
    assert corpus.requests() == []


@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_an_unknown_instance_is_a_typed_not_found_error(
    retriever: Make, answerer: Make, api: Api, family: str
) -> None:
    for runnable in (retriever(**{family: "missing"}), answerer(**{family: "missing"})):
        with pytest.raises(core_errors.NotFoundError) as caught:
            api.invoke(runnable, QUESTION)
        error = caught.value
        assert isinstance(error, core_errors.AISearchNotFoundError)
        # a missing instance is the user's input, not a missing model
        assert isinstance(error, ModelInvalidRequestError)
        assert not isinstance(error, LangChainNotFoundError)
        assert error.status_code == 404 and "missing" in str(error)
    with pytest.raises(core_errors.AISearchNotFoundError):
        api.stream(answerer(**{family: "missing"}), QUESTION)


# --- the answer -------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_answer_with_its_sources(
    corpus: EmulatorServer, answerer: Make, api: Api, family: str
) -> None:
    out = api.invoke(answerer(**target(family), k=2), QUESTION)
    assert set(out) == {"input", "context", "answer"}
    assert out["input"] == QUESTION
    assert "patience" in out["answer"]  # the stand-in quotes the best sentence
    assert out["context"] and out["context"][0].metadata["filename"] == TRAINING
    assert all(isinstance(doc, Document) for doc in out["context"])
    body = sent(corpus, family, answer=True)
    if family == "instance":
        assert body["messages"] == [{"role": "user", "content": QUESTION}]
        assert body["ai_search_options"]["retrieval"]["max_num_results"] == 2
    else:
        assert body["query"] == QUESTION and body["max_num_results"] == 2


@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_streamed_answer_sources_before_text(
    corpus: EmulatorServer, answerer: Make, api: Api, family: str
) -> None:
    rag = answerer(**target(family), k=4)
    pieces = api.stream(rag, QUESTION, k=2)
    body = sent(corpus, family, answer=True)
    assert body["stream"] is True
    assert 2 in (
        body.get("max_num_results"),
        body.get("ai_search_options", {}).get("retrieval", {}).get("max_num_results"),
    )
    keys = [next(iter(piece)) for piece in pieces]
    assert keys[0] == "input" and pieces[0] == {"input": QUESTION}
    answers = [piece["answer"] for piece in pieces if "answer" in piece]
    assert len(answers) > 1  # streamed in pieces
    whole = api.invoke(rag, QUESTION, k=2)
    assert "".join(answers) == whole["answer"]
    if family == "instance":
        assert keys.count("context") == 1 and keys.index("context") < keys.index("answer")
        (context,) = [piece["context"] for piece in pieces if "context" in piece]
        assert [d.id for d in context] == [d.id for d in whole["context"]]
    else:  # the legacy route streams no sources
        assert "context" not in keys
    total = pieces[0]
    for piece in pieces[1:]:
        total = total + piece  # the pieces add up, as LangChain's streamed dicts do
    assert total["answer"] == whole["answer"]


def test_answer_options_and_conversation_reach_the_request(
    corpus: EmulatorServer, answerer: Make, api: Api
) -> None:
    rag = answerer(instance="docs", system_prompt="Be brief.", filter={"team": "farm"})
    history = [HumanMessage("Hi, I keep llamas."), AIMessage("Nice! How can I help?")]
    out = api.invoke(rag, {"input": QUESTION, "chat_history": history}, model=CHAT)
    assert out["chat_history"] == history and out["input"] == QUESTION
    body = sent(corpus, "instance", answer=True)
    assert body["model"] == CHAT
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi, I keep llamas."},
        {"role": "assistant", "content": "Nice! How can I help?"},
        {"role": "user", "content": QUESTION},
    ]
    assert body["ai_search_options"]["retrieval"]["filters"] == {"team": "farm"}
    assert {d.metadata["team"] for d in out["context"]} == {"farm"}


def test_answer_takes_a_prompt_in_a_chain(corpus: EmulatorServer, answerer: Make, api: Api) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer farm questions."), ("human", "{question}")]
    )
    chain = prompt | answerer(instance="docs") | RunnableLambda(lambda out: out["answer"])
    assert "patience" in api.invoke(chain, {"question": QUESTION})
    roles = [m["role"] for m in sent(corpus, "instance", answer=True)["messages"]]
    assert roles == ["system", "user"]


def test_a_legacy_autorag_refuses_a_conversation_before_any_request(
    corpus: EmulatorServer, answerer: Make, api: Api
) -> None:
    with pytest.raises(InvalidRequestError, match="query string"):
        api.invoke(answerer(autorag="docs"), [HumanMessage("a"), AIMessage("b"), HumanMessage("c")])
    with pytest.raises(InvalidRequestError, match="'input' key"):
        api.invoke(answerer(autorag="docs"), {"question": QUESTION})
    assert corpus.requests() == []


@pytest.mark.parametrize("streamed", [False, True])
def test_answer_usage_is_seen_by_the_callback(answerer: Make, api: Api, streamed: bool) -> None:
    rag = answerer(instance="docs", k=2)
    with get_workers_ai_callback() as cb:
        if streamed:
            api.stream(rag, QUESTION)
        else:
            api.invoke(rag, QUESTION)
    assert cb.successful_requests == 1
    assert cb.prompt_tokens > 0 and cb.completion_tokens > 0
    assert CHAT in cb.by_model


# --- in LCEL ----------------------------------------------------------------------------------
def test_retriever_in_an_lcel_chain_with_chat_workers_ai(
    corpus: EmulatorServer, retriever: Make, api: Api
) -> None:
    system = (
        "You are the farm's assistant. Answer the question from the context below only, and "
        "say so when the context does not hold the answer.\n\nContext:\n{context}"
    )
    prompt = ChatPromptTemplate.from_messages([("system", system), ("human", "{question}")])
    join = RunnableLambda(lambda docs: "\n\n".join(d.page_content for d in docs))
    chain = (
        {"context": retriever(instance="docs", k=1) | join, "question": RunnablePassthrough()}
        | prompt
        | ChatWorkersAI(model=CHAT, **adapter_kwargs(corpus))
        | StrOutputParser()
    )
    answer = api.invoke(chain, QUESTION)
    assert "patience" in answer
    system = corpus.last_request(model=CHAT).body["messages"][0]["content"]
    assert "Train a llama" in system and "Invoices" not in system
