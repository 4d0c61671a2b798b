"""WorkersAISearchRetriever and WorkersAISearchQueryEngine against the emulator's AI Search.

Both route families (AI Search instances, legacy AutoRAG) serve the same corpus (the emulator
makes each instance of namespace ``default`` the AutoRAG of that name). Every call runs sync
and async (``caller``), on one event loop kept for the test.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from llama_index_workers_ai import (
    WorkersAI,
    WorkersAISearchQueryEngine,
    WorkersAISearchRetriever,
    WorkersAIUsageHandler,
)
from llama_index_workers_ai.retrievers import chunks_to_nodes
from tests.support.emulator import adapter_kwargs
from workers_ai.ai_search import SearchChunk
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import ConfigurationError, NotFoundError, UnknownArgumentError
from workers_ai.vectorize import FilterError

CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
QUESTION = "How many drinks can a llama carry?"
FILES: dict[str, Any] = {
    "guides/llama.md": {
        "text": "Llamas can carry 3 drinks max.\n\nLlamas like hay and quiet mountain paths.",
        "metadata": {"team": "ops", "level": 2},
    },
    "guides/coffee.md": {
        "text": "Coffee is brewed hot before a llama delivers the drinks.",
        "metadata": {"team": "cafe", "level": 1},
    },
    "faq/billing.md": {
        "text": "Invoices are sent monthly by email.",
        "metadata": {"team": "billing", "level": 3},
    },
}
ROUTES = {  # the search and answer route templates of each family
    "instance": (
        "/ai-search/instances/{name}/search",
        "/ai-search/instances/{name}/chat/completions",
    ),
    "autorag": ("/autorag/rags/{id}/search", "/autorag/rags/{id}/ai-search"),
}


class Caller:
    """Runs a retriever's or engine's method sync, or its async twin on the test's loop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None
        self.made: list[Any] = []

    def run(self, coroutine: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(coroutine)

    def retrieve(self, retriever: Any, query: str = QUESTION) -> list[NodeWithScore]:
        if self.loop is None:
            return retriever.retrieve(query)  # type: ignore[no-any-return]
        return self.run(retriever.aretrieve(query))  # type: ignore[no-any-return]

    def query(self, engine: Any, query: str = QUESTION) -> Any:
        if self.loop is None:
            return engine.query(query)
        return self.run(engine.aquery(query))

    def close(self) -> None:
        for made in self.made:
            made.close()
            if self.loop is not None:
                self.run(made.aclose())
        if self.loop is not None:
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def caller(request: pytest.FixtureRequest) -> Iterator[Caller]:
    made = Caller(request.param)
    yield made
    made.close()


@pytest.fixture
def corpus(emulator: EmulatorServer) -> EmulatorServer:
    """Instance (and AutoRAG) ``docs`` with :data:`FILES`; ``papers`` and ``notes`` in
    namespace ``research``."""
    emulator.add_ai_search_instance("docs", FILES)
    emulator.add_ai_search_instance(
        "papers", {"p/llama.md": "Llamas carry drinks in mountain studies."}, namespace="research"
    )
    emulator.add_ai_search_instance(
        "notes", {"n/llama.md": "Notes: a llama carries three drinks."}, namespace="research"
    )
    return emulator


@pytest.fixture
def make(corpus: EmulatorServer, caller: Caller) -> Any:
    """Build a retriever (or ``cls``) on the emulator, closed after the test."""

    def build(cls: type[Any] = WorkersAISearchRetriever, **kw: Any) -> Any:
        made = cls(**{**adapter_kwargs(corpus), **kw})
        caller.made.append(made)
        return made

    return build


def _target(family: str) -> dict[str, str]:
    return {family: "docs"}


def _search_body(emulator: EmulatorServer) -> dict[str, Any]:
    body = emulator.last_request().body
    assert isinstance(body, dict)
    return body


# -- retrieval ----------------------------------------------------------------------------------
def test_instance_chunks_become_scored_nodes_best_first(make: Any, caller: Caller) -> None:
    nodes = caller.retrieve(make(instance="docs"))
    assert nodes[0].node.get_content() == "Llamas can carry 3 drinks max."
    scores = [n.score for n in nodes]
    assert all(s is not None and 0 < s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    first = nodes[0].node
    assert first.node_id.endswith("-0")  # the chunk id: <file id>-<n>
    assert len({n.node.node_id for n in nodes}) == len(nodes)
    meta = first.metadata
    assert meta["filename"] == "guides/llama.md" and meta["team"] == "ops"
    assert meta["scoring_details"]["vector_score"] == nodes[0].score
    assert isinstance(meta["timestamp"], int)  # epoch milliseconds, as sent


def test_the_llm_sees_the_filename_and_attributes_not_scoring_details(
    make: Any, caller: Caller
) -> None:
    node = caller.retrieve(make(instance="docs"))[0].node
    for mode in (MetadataMode.LLM, MetadataMode.EMBED):
        shown = node.get_content(metadata_mode=mode)
        assert "filename: guides/llama.md" in shown and "team: ops" in shown
        assert "scoring_details" not in shown and "timestamp" not in shown
    assert "scoring_details" in node.get_content(metadata_mode=MetadataMode.ALL)


def test_legacy_autorag_gives_one_node_per_file(make: Any, caller: Caller) -> None:
    nodes = caller.retrieve(make(autorag="docs"))
    assert make(autorag="docs").legacy
    first = nodes[0].node
    assert first.metadata["filename"] == "guides/llama.md"
    assert first.node_id == first.metadata["file_id"]
    assert first.metadata["folder"] == "guides/"
    assert "Llamas like hay" in first.get_content()  # the file's parts, joined
    assert "file_id" not in first.get_content(metadata_mode=MetadataMode.LLM)
    assert len({n.node.metadata["filename"] for n in nodes}) == len(nodes)


def test_top_k_threshold_rewrite_and_reranking_reach_the_instance_route(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    retriever = make(
        instance="docs",
        similarity_top_k=2,
        score_threshold=0.1,
        rewrite_query=False,
        reranking=True,
        search_options={
            "retrieval_type": "hybrid",
            "reranking_model": "@cf/baai/bge-reranker-base",
        },
    )
    nodes = caller.retrieve(retriever)
    assert 1 <= len(nodes) <= 2  # reranking may drop some
    assert nodes[0].score == nodes[0].node.metadata["scoring_details"]["reranking_score"]
    options = _search_body(corpus)["ai_search_options"]
    assert options["retrieval"] == {
        "retrieval_type": "hybrid",
        "match_threshold": 0.1,
        "max_num_results": 2,
    }
    assert options["query_rewrite"] == {"enabled": False}
    assert options["reranking"] == {"enabled": True, "model": "@cf/baai/bge-reranker-base"}
    assert corpus.last_request().route.endswith(ROUTES["instance"][0])


def test_top_k_and_threshold_reach_the_legacy_route(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    nodes = caller.retrieve(make(autorag="docs", similarity_top_k=1, score_threshold=0.2))
    assert len(nodes) == 1
    body = _search_body(corpus)
    assert body["max_num_results"] == 1
    assert body["ranking_options"] == {"score_threshold": 0.2}
    assert corpus.last_request().route.endswith(ROUTES["autorag"][0])


def test_a_high_threshold_leaves_nothing(make: Any, caller: Caller) -> None:
    assert caller.retrieve(make(instance="docs", score_threshold=0.99)) == []


# -- filters ------------------------------------------------------------------------------------
def _teams(*teams: str) -> MetadataFilter:
    return MetadataFilter(key="team", value=list(teams), operator=FilterOperator.IN)


def test_metadata_filters_go_in_vectorize_syntax_and_narrow_the_chunks(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    filters = MetadataFilters(
        filters=[_teams("ops", "cafe"), MetadataFilter(key="level", value=2, operator=">=")]
    )
    nodes = caller.retrieve(make(instance="docs", filters=filters))
    assert {n.node.metadata["filename"] for n in nodes} == {"guides/llama.md"}
    sent = _search_body(corpus)["ai_search_options"]["retrieval"]["filters"]
    assert sent == {"team": {"$in": ["ops", "cafe"]}, "level": {"$gte": 2}}


def test_an_or_of_one_keys_values_is_sent_as_in(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    filters = MetadataFilters(
        filters=[MetadataFilter(key="team", value="cafe"), MetadataFilter(key="team", value="ops")],
        condition=FilterCondition.OR,
    )
    nodes = caller.retrieve(make(instance="docs", filters=filters))
    assert {n.node.metadata["team"] for n in nodes} == {"cafe", "ops"}
    assert _search_body(corpus)["ai_search_options"]["retrieval"]["filters"] == {
        "team": {"$in": ["cafe", "ops"]}
    }


def test_metadata_filters_are_translated_for_the_legacy_route(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    filters = MetadataFilters(filters=[MetadataFilter(key="team", value="cafe")])
    nodes = caller.retrieve(make(autorag="docs", filters=filters))
    assert [n.node.metadata["filename"] for n in nodes] == ["guides/coffee.md"]
    assert _search_body(corpus)["filters"] == {"type": "eq", "key": "team", "value": "cafe"}


def test_a_vectorize_syntax_dict_is_sent_as_given(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    retriever = make(instance="docs", filters={"team": "billing"})
    nodes = caller.retrieve(retriever, "When are invoices sent?")
    assert [n.node.metadata["filename"] for n in nodes] == ["faq/billing.md"]
    assert _search_body(corpus)["ai_search_options"]["retrieval"]["filters"] == {"team": "billing"}


def test_document_id_keys_are_sent_as_named(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    """The vector store's document-id rewrite (to ``_ref_doc_key``) does not apply here."""
    long_id = "d" * 80
    filters = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=long_id)])
    assert caller.retrieve(make(instance="docs", filters=filters)) == []
    sent = _search_body(corpus)["ai_search_options"]["retrieval"]["filters"]
    assert sent == {"doc_id": long_id}


@pytest.mark.parametrize(
    ("family", "filters", "named"),
    [
        ("instance", MetadataFilters(filters=[MetadataFilter(key="team", value="x")],
                                     condition=FilterCondition.NOT), "NOT"),
        ("instance", MetadataFilters(filters=[MetadataFilter(
            key="team", value="op", operator=FilterOperator.TEXT_MATCH)]), "text_match"),
        ("instance", MetadataFilters(filters=[MetadataFilter(
            key="doc_id", value="op", operator=FilterOperator.CONTAINS)]), "'doc_id'"),
        ("instance", MetadataFilters(
            filters=[MetadataFilter(key="team", value="a"), MetadataFilter(key="level", value=1)],
            condition=FilterCondition.OR), "team"),
        ("autorag", MetadataFilters(filters=[_teams("a", "b"), MetadataFilter(key="level",
                                                                             value=1)]), "$in"),
    ],
)  # fmt: skip
def test_filters_the_service_cannot_express_are_refused_before_any_request(
    corpus: EmulatorServer, family: str, filters: MetadataFilters, named: str
) -> None:
    with pytest.raises(FilterError) as caught:
        WorkersAISearchRetriever(**_target(family), filters=filters, **adapter_kwargs(corpus))
    assert named in str(caught.value)
    assert "ai-search-own-key" not in str(caught.value)
    assert corpus.requests() == []


# -- settings -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({}, "none"),
        ({"instance": "docs", "autorag": "docs"}, "instance, autorag"),
        ({"instance": "a/b"}, "'a/b'"),
        ({"instance": ""}, "instance name"),
        ({"autorag": "docs", "namespace": "research"}, "namespace"),
        ({"instance_ids": [], "namespace": "research"}, "non-empty"),
        ({"instance": "docs", "namespace": "bad name"}, "namespace"),
        ({"instance": "docs", "similarity_top_k": 51}, "max_results"),
        ({"instance": "docs", "similarity_top_k": 0}, "max_results"),
        ({"instance": "docs", "score_threshold": 1.5}, "score_threshold"),
        ({"instance": "docs", "search_options": {"max_results": 3}}, "similarity_top_k="),
        ({"instance": "docs", "search_options": {"retrieval": "x"}}, "unknown AI Search option"),
        ({"instance": "docs", "search_options": {"ranker": "x"}}, "legacy"),
        ({"autorag": "docs", "search_options": {"retrieval_type": "hybrid"}}, "retrieval_type"),
        ({"instance": "docs", "search_options": {"model": CHAT}}, "answers"),
    ],
)
def test_settings_are_checked_when_built_before_any_request(
    corpus: EmulatorServer, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=r"WorkersAISearchRetriever|search_options") as e:
        WorkersAISearchRetriever(**kwargs, **adapter_kwargs(corpus))
    assert named in str(e.value)
    assert corpus.requests() == []


def test_a_misspelt_keyword_says_what_was_meant(corpus: EmulatorServer) -> None:
    with pytest.raises(UnknownArgumentError, match="instance"):
        WorkersAISearchRetriever(instanse="docs", **adapter_kwargs(corpus))  # type: ignore[call-arg]


def test_the_query_engine_checks_its_answer_options(corpus: EmulatorServer) -> None:
    with pytest.raises(ConfigurationError, match="model="):
        WorkersAISearchQueryEngine(
            instance="docs", search_options={"model": CHAT}, **adapter_kwargs(corpus)
        )
    with pytest.raises(ConfigurationError, match="retrieval_type"):
        WorkersAISearchQueryEngine(
            autorag="docs", search_options={"retrieval_type": "keyword"}, **adapter_kwargs(corpus)
        )
    assert corpus.requests() == []


@pytest.mark.parametrize("family", ["instance", "autorag"])
@pytest.mark.parametrize("cls", [WorkersAISearchRetriever, WorkersAISearchQueryEngine])
def test_a_missing_instance_is_a_typed_404(
    make: Any, caller: Caller, family: str, cls: type[Any]
) -> None:
    made = make(cls, **{family: "nope"})
    with pytest.raises(NotFoundError) as caught:
        caller.query(made) if cls is WorkersAISearchQueryEngine else caller.retrieve(made)
    assert caught.value.status_code == 404
    assert "nope" in str(caught.value)


# -- namespaces ---------------------------------------------------------------------------------
def test_a_namespaced_instance_is_searched_on_its_route(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    nodes = caller.retrieve(make(instance="papers", namespace="research"))
    assert [n.node.metadata["filename"] for n in nodes] == ["p/llama.md"]
    assert "/namespaces/{namespace}/instances/{name}/search" in corpus.last_request().route


def test_instances_of_a_namespace_are_searched_together(
    make: Any, caller: Caller, corpus: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    retriever = make(instance_ids=["papers", "notes", "gone"], namespace="research")
    with caplog.at_level(logging.WARNING, logger="llama_index_workers_ai.retrievers"):
        nodes = caller.retrieve(retriever)
    assert {n.node.metadata["instance_id"] for n in nodes} == {"papers", "notes"}
    assert _search_body(corpus)["ai_search_options"]["instance_ids"] == ["papers", "notes", "gone"]
    assert "'gone' failed" in caplog.text  # the others' chunks still came back


def test_repeated_chunk_ids_of_two_instances_stay_distinct_nodes() -> None:
    chunks = [
        SearchChunk(id="c1", text="a", instance_id="one"),
        SearchChunk(id="c1", text="b", instance_id="two"),
        SearchChunk(id="c2", text="c", instance_id="one"),
        SearchChunk(id="", text="d", filename="f.md"),
    ]
    ids = [n.node.node_id for n in chunks_to_nodes(chunks)]
    assert ids[:3] == ["one/c1", "two/c1", "c2"]
    assert ids[3] and ids[3] == chunks_to_nodes(chunks[3:])[0].node.node_id  # deterministic


# -- the query engine ---------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_the_query_engine_answers_with_its_sources(
    make: Any, caller: Caller, corpus: EmulatorServer, family: str
) -> None:
    engine = make(WorkersAISearchQueryEngine, **_target(family), similarity_top_k=2)
    response = caller.query(engine)
    assert isinstance(response, Response)
    assert "3 drinks" in str(response)
    assert corpus.last_request().route.endswith(ROUTES[family][1])
    retrieved = caller.retrieve(make(**_target(family), similarity_top_k=2))
    assert [n.node.node_id for n in response.source_nodes] == [n.node.node_id for n in retrieved]
    assert [n.score for n in response.source_nodes] == [n.score for n in retrieved]
    meta = response.metadata
    assert meta[retrieved[0].node.node_id] == retrieved[0].node.metadata
    if family == "instance":
        assert meta["model"] == CHAT and meta["finish_reason"] == "stop"
        assert meta["usage"]["total_tokens"] > 0
    else:  # the legacy answer says neither
        assert meta["model"] is None and meta["usage"] is None


def test_model_and_system_prompt_reach_the_request(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    model = "@cf/meta/llama-3.1-8b-instruct"
    engine = make(WorkersAISearchQueryEngine, instance="docs", model=model, system_prompt="Brief.")
    response = caller.query(engine)
    body = _search_body(corpus)
    assert body["model"] == model
    assert body["messages"][0] == {"role": "system", "content": "Brief."}
    assert response.metadata["model"] == model


def _stream(caller: Caller, engine: Any) -> tuple[Any, list[str], list[str], str]:
    """The response, the source ids it had before the first token, and its text pieces."""
    response = caller.query(engine)
    before = [n.node.node_id for n in response.source_nodes]
    if caller.loop is None:
        assert isinstance(response, StreamingResponse)
        pieces = list(response.response_gen)
    else:
        assert isinstance(response, AsyncStreamingResponse)

        async def read() -> list[str]:
            return [piece async for piece in response.async_response_gen()]

        pieces = caller.run(read())
    return response, before, pieces, "".join(pieces)


@pytest.mark.parametrize("family", ["instance", "autorag"])
def test_a_streamed_answer_is_the_answer(make: Any, caller: Caller, family: str) -> None:
    whole = caller.query(make(WorkersAISearchQueryEngine, **_target(family)))
    streaming = make(WorkersAISearchQueryEngine, **_target(family), streaming=True)
    response, before, pieces, text = _stream(caller, streaming)
    assert len(pieces) > 1 and text == whole.response
    if family == "instance":  # the sources come first on the AI Search routes
        assert before == [n.node.node_id for n in whole.source_nodes] != []
        assert response.metadata["usage"] == whole.metadata["usage"]
        assert response.metadata["finish_reason"] == "stop"
    else:  # a legacy stream has no sources
        assert before == [] and response.source_nodes == []


def test_a_stream_left_unread_is_closed_with_its_generator(corpus: EmulatorServer) -> None:
    engine = WorkersAISearchQueryEngine(
        instance="docs", streaming=True, max_connections=1, timeout=10, **adapter_kwargs(corpus)
    )
    try:
        response = engine.query(QUESTION)
        assert response.source_nodes and next(response.response_gen)
        response.response_gen.close()  # a caller that stops reading
        assert "usage" not in response.metadata  # known only at the end
        # the one pooled connection was given back: the next query gets it
        assert "3 drinks" in engine.query(QUESTION).get_response().response
    finally:
        engine.close()


# -- LlamaIndex around them ---------------------------------------------------------------------
def test_the_retriever_serves_a_retriever_query_engine_with_workers_ai(
    make: Any, caller: Caller, corpus: EmulatorServer
) -> None:
    retriever = make(instance="docs", similarity_top_k=2)
    llm = WorkersAI(model=CHAT, **adapter_kwargs(corpus))
    caller.made.append(llm)
    engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
    response = caller.query(engine)
    routes = [r.route for r in corpus.requests()]
    assert len(routes) == 2 and routes[0].endswith(ROUTES["instance"][0])  # search, then chat
    prompt = str(corpus.last_request(model=CHAT).body)
    assert "Llamas can carry 3 drinks max." in prompt and "guides/llama.md" in prompt
    assert "scoring_details" not in prompt
    assert "3 drinks" in str(response)
    assert response.source_nodes[0].node.metadata["filename"] == "guides/llama.md"


@pytest.mark.parametrize("streaming", [False, True])
def test_usage_of_answers_reaches_the_usage_handler(
    make: Any, caller: Caller, streaming: bool
) -> None:
    usage = WorkersAIUsageHandler()
    try:
        engine = make(WorkersAISearchQueryEngine, instance="docs", streaming=streaming)
        response = caller.query(engine)
        if streaming:
            _ = "".join(response.response_gen) if caller.loop is None else caller.run(
                response.get_response())  # fmt: skip
        caller.retrieve(make(instance="docs"))  # a search reports no usage
    finally:
        usage.close()
    counted = usage.by_model[CHAT]
    assert counted.calls == 1
    assert counted.input_tokens == response.metadata["usage"]["prompt_tokens"] > 0
    assert counted.output_tokens == response.metadata["usage"]["completion_tokens"] > 0
    assert list(usage.by_model) == [CHAT]


def test_queries_and_retrievals_are_instrumented(make: Any, caller: Caller) -> None:
    seen: list[str] = []

    class Recorder(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "Recorder"

        def handle(self, event: Any, **kwargs: Any) -> None:
            seen.append(type(event).__name__)

    debug = LlamaDebugHandler()
    callbacks = CallbackManager([debug])
    recorder = Recorder()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(recorder)
    try:
        caller.query(make(WorkersAISearchQueryEngine, instance="docs", callback_manager=callbacks))
        caller.retrieve(make(instance="docs", callback_manager=callbacks))
    finally:
        dispatcher.event_handlers.remove(recorder)
    assert seen == ["QueryStartEvent", "QueryEndEvent", "RetrievalStartEvent", "RetrievalEndEvent"]
    [(_, query_end)] = debug.get_event_pairs(CBEventType.QUERY)
    assert "3 drinks" in str(query_end.payload["response"])  # type: ignore[index]
    [(_, retrieve_end)] = debug.get_event_pairs(CBEventType.RETRIEVE)
    assert retrieve_end.payload["nodes"]  # type: ignore[index]
