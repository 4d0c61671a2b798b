"""The AI Search core's pure parts: options per route family, filters, answers, stream events.

Examples marked "verbatim" are the platform spec's (§3), copied field for field.
"""

from __future__ import annotations

import json

import pytest

from workers_ai.ai_search import SearchOptions
from workers_ai.ai_search.client import autorag_route, instance_route, namespace_route
from workers_ai.ai_search.options import instance_body, legacy_body, legacy_filter
from workers_ai.ai_search.wire import parse_answer, parse_search, stream_delta
from workers_ai.errors import InvalidRequestError
from workers_ai.streaming import SSEEvent, parse_event_data
from workers_ai.vectorize import FilterError

# -- request bodies -------------------------------------------------------------------------------


def test_one_set_of_options_is_written_as_each_family_names_it() -> None:
    options = SearchOptions(
        max_results=5, score_threshold=0.3, rewrite_query=True, reranking=True,
        reranking_model="@cf/baai/bge-reranker-base", filters={"folder": "docs/"},
    )  # fmt: skip
    assert legacy_body("How?", options, generate=False) == {
        "query": "How?",
        "rewrite_query": True,
        "max_num_results": 5,
        "ranking_options": {"score_threshold": 0.3},
        "reranking": {"enabled": True, "model": "@cf/baai/bge-reranker-base"},
        "filters": {"type": "eq", "key": "folder", "value": "docs/"},
    }
    assert instance_body("How?", options, generate=False) == {
        "query": "How?",
        "ai_search_options": {
            "retrieval": {"match_threshold": 0.3, "max_num_results": 5,
                          "filters": {"folder": "docs/"}},
            "query_rewrite": {"enabled": True},
            "reranking": {"enabled": True, "model": "@cf/baai/bge-reranker-base"},
        },
    }  # fmt: skip


def test_answers_take_messages_model_system_prompt_and_stream() -> None:
    options = SearchOptions(
        model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", system_prompt="Be brief."
    )
    body = instance_body("How do I get started?", options, generate=True, stream=True)
    assert body == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "How do I get started?"},
        ],
        "model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        "stream": True,
    }
    legacy = legacy_body("How?", options, generate=True, stream=True)
    assert legacy == {
        "query": "How?",
        "model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        "system_prompt": "Be brief.",
        "stream": True,
    }
    with pytest.raises(InvalidRequestError, match="apply to answers"):
        instance_body("How?", SearchOptions(model="m"), generate=False)


def test_cross_instance_requests_name_their_instances() -> None:
    body = instance_body("q", SearchOptions(), generate=False, instance_ids=["docs", "blog"])
    assert body == {"query": "q", "ai_search_options": {"instance_ids": ["docs", "blog"]}}


def test_an_option_the_family_lacks_is_refused_by_name() -> None:
    with pytest.raises(InvalidRequestError, match="retrieval_type: only the AI Search instance"):
        legacy_body("q", SearchOptions(retrieval_type="hybrid"), generate=False)
    with pytest.raises(InvalidRequestError, match="ranker: only the legacy"):
        instance_body("q", SearchOptions(ranker="default"), generate=False)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_results": 51}, "max_results must be an int from 1 to 50"),
        ({"max_results": 0}, "from 1 to 50"),
        ({"score_threshold": 1.5}, "score_threshold must be a number from 0 to 1"),
        ({"rewrite_query": "yes"}, "True or False"),
        ({"retrieval_type": "semantic"}, "vector, keyword, hybrid"),
        ({"max_result": 3}, "unknown AI Search option(s) 'max_result'"),
    ],
)
def test_bad_options_are_refused_before_any_request(options: dict, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        SearchOptions.of(options)
    assert words in str(caught.value)


def test_names_are_checked_like_path_segments_and_routes_follow_the_spec() -> None:
    assert autorag_route("my-rag").search_path == "autorag/rags/my-rag/search"
    assert autorag_route("my-rag").answer_path == "autorag/rags/my-rag/ai-search"
    assert instance_route("docs", None).answer_path == "ai-search/instances/docs/chat/completions"
    assert (
        instance_route("docs", "prod").search_path
        == "ai-search/namespaces/prod/instances/docs/search"
    )
    assert namespace_route("prod", ["a", "b"]).search_path == "ai-search/namespaces/prod/search"
    for bad in ("", "..", "a/b", "a b"):
        with pytest.raises(InvalidRequestError):
            instance_route(bad, None)
        with pytest.raises(InvalidRequestError):
            autorag_route(bad)
    with pytest.raises(InvalidRequestError, match="non-empty list"):
        namespace_route("prod", [])


# -- filters -------------------------------------------------------------------------------------
def test_vectorize_syntax_filters_become_legacy_filters() -> None:
    # the legacy "starts with" example (verbatim result)
    starts_with = {"folder": {"$gt": "customer-a//", "$lte": "customer-a/z"}}
    assert legacy_filter(starts_with) == {
        "type": "and",
        "filters": [
            {"type": "gt", "key": "folder", "value": "customer-a//"},
            {"type": "lte", "key": "folder", "value": "customer-a/z"},
        ],
    }
    assert legacy_filter({"folder": {"$in": ["a/", "b/"]}}) == {
        "type": "or",
        "filters": [
            {"type": "eq", "key": "folder", "value": "a/"},
            {"type": "eq", "key": "folder", "value": "b/"},
        ],
    }
    legacy = {"type": "and", "filters": [{"type": "gt", "key": "folder", "value": "customer-a//"}]}
    assert legacy_filter(legacy) == legacy  # already legacy: kept


@pytest.mark.parametrize(
    ("filter", "words"),
    [
        ({"folder": {"$in": ["a/", "b/"]}, "year": 2024}, "cannot combine a $in"),
        ({"a": {"$in": [1, 2]}, "b": {"$in": [3, 4]}}, "one OR ($in) per filter"),
        ({"folder": None}, "not None"),
        ({"type": "or", "filters": [{"type": "gt", "key": "a", "value": 1}]}, "'or' only of 'eq'"),
        (
            {"type": "or", "filters": [{"type": "eq", "key": "a", "value": 1},
                                       {"type": "eq", "key": "b", "value": 1}]},
            "on one key",
        ),
        ({"type": "and", "filters": [{"type": "and", "filters": []}]}, "a comparison is"),
        ({"type": "eq", "key": "a", "value": [1]}, "string, number or boolean"),
        ({"$or": [{"a": 1}]}, "'$or'"),
    ],
)  # fmt: skip
def test_legacy_filters_vectorize_cannot_send_are_refused_naming_the_problem(
    filter: dict, words: str
) -> None:
    with pytest.raises(FilterError) as caught:
        legacy_body("q", SearchOptions(filters=filter), generate=False)
    assert words in str(caught.value)


def test_instance_routes_check_filters_as_vectorize_does() -> None:
    with pytest.raises(FilterError, match="unknown operator '\\$like'"):
        instance_body("q", SearchOptions(filters={"folder": {"$like": "x"}}), generate=False)


# -- answers -------------------------------------------------------------------------------------
LEGACY = {  # verbatim (abridged in the spec)
    "object": "vector_store.search_results.page",
    "search_query": "How do I train a llama to deliver coffee?",
    "response": "To train a llama to deliver coffee:\n\n1. **Build trust** — ...",
    "data": [
        {"file_id": "llama001", "filename": "llama/logistics/llama-logistics.md", "score": 0.45,
         "attributes": {"modified_date": 1735689600000, "folder": "llama/logistics/"},
         "content": [{"id": "llama001", "type": "text", "text": "Llamas can carry 3 drinks max."}]}
    ],
    "has_more": False,
    "next_page": None,
}  # fmt: skip
CHUNK = {
    "id": "chunk001", "type": "text", "score": 0.85, "text": "Welcome to AI Search...",
    "item": {"key": "getting-started.md", "timestamp": 1735689600},
    "scoring_details": {"vector_score": 0.85},
}  # fmt: skip


def test_the_legacy_result_becomes_neutral_chunks() -> None:
    result = parse_search(LEGACY)
    (chunk,) = result.chunks
    assert result.query == "How do I train a llama to deliver coffee?"
    assert (chunk.file_id, chunk.filename, chunk.score) == (
        "llama001", "llama/logistics/llama-logistics.md", 0.45,
    )  # fmt: skip
    assert chunk.attributes == {"modified_date": 1735689600000, "folder": "llama/logistics/"}
    assert chunk.text == "Llamas can carry 3 drinks max."
    assert chunk.content[0].id == "llama001"
    answer = parse_answer(LEGACY)
    assert answer.text.startswith("To train a llama") and answer.chunks == result.chunks


def test_the_new_search_and_chat_completion_become_the_same_types() -> None:
    search = parse_search({"search_query": "How do I get started?", "chunks": [CHUNK]})
    (chunk,) = search.chunks
    assert (chunk.id, chunk.filename, chunk.timestamp, chunk.score) == (
        "chunk001", "getting-started.md", 1735689600, 0.85,
    )  # fmt: skip
    assert chunk.scoring_details == {"vector_score": 0.85}
    answer = parse_answer(
        {
            "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1771886959,
            "model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
            "choices": [{"index": 0, "message": {"role": "assistant",
                         "content": "To get started with AI Search..."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 6507, "completion_tokens": 137, "total_tokens": 6644},
            "chunks": [CHUNK],
        }
    )  # fmt: skip
    assert answer.text == "To get started with AI Search..."
    assert answer.model == "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    assert answer.usage is not None and answer.usage.total_tokens == 6644
    assert answer.chunks == search.chunks and answer.finish_reason == "stop"


def test_the_verbatim_stream_framing_yields_sources_then_text() -> None:
    chunks_event = SSEEvent(
        event="chunks",
        data=json.dumps([{**CHUNK, "id": "chunk-001", "item": {"key": "about-cloudflare.md",
                                                               "timestamp": 1775925540000}}]),
    )  # fmt: skip
    first = stream_delta(parse_event_data(chunks_event))  # type: ignore[arg-type]
    assert first is not None and first.chunks is not None
    assert first.chunks[0].filename == "about-cloudflare.md"
    text_event = {
        "id": "id-1776072781845", "created": 1776072781,
        "model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": " document"}}],
    }  # fmt: skip
    delta = stream_delta(text_event)
    assert delta is not None and delta.text == " document" and delta.chunks is None
    legacy = stream_delta({"response": "Llamas"})
    assert legacy is not None and legacy.text == "Llamas"
    assert stream_delta({"p": "keepalive"}) is None


def test_unreadable_answers_are_response_errors() -> None:
    from workers_ai.errors import APIResponseValidationError

    for bad in ([], {"chunks": "x"}, {"chunks": [{"id": "a"}]}, {"nothing": 1}):
        with pytest.raises(APIResponseValidationError, match="AI Search answered"):
            parse_answer(bad)


def test_a_legacy_filter_given_to_the_instance_routes_is_translated_not_misread() -> None:
    from workers_ai.ai_search.options import vectorize_filter

    assert vectorize_filter({"type": "eq", "key": "folder", "value": "docs/"}) == {
        "folder": {"$eq": "docs/"}
    }
    starts_with = {
        "type": "and",
        "filters": [
            {"type": "gt", "key": "folder", "value": "customer-a//"},
            {"type": "lte", "key": "folder", "value": "customer-a/z"},
        ],
    }
    assert vectorize_filter(starts_with) == {
        "folder": {"$gt": "customer-a//", "$lte": "customer-a/z"}
    }
    one_key_or = {
        "type": "or",
        "filters": [
            {"type": "eq", "key": "folder", "value": "a/"},
            {"type": "eq", "key": "folder", "value": "b/"},
        ],
    }
    assert vectorize_filter(one_key_or) == {"folder": {"$in": ["a/", "b/"]}}
    # a Vectorize filter on a property named "type" stays one
    assert vectorize_filter({"type": "eq"}) == {"type": "eq"}
    body = instance_body("q", SearchOptions(filters=starts_with), generate=False)
    assert body["ai_search_options"]["retrieval"]["filters"] == {
        "folder": {"$gt": "customer-a//", "$lte": "customer-a/z"}
    }


@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [("AISearchTarget", "AsyncAISearchTarget"), ("AISearch", "AsyncAISearch"),
     ("AnswerStream", "AsyncAnswerStream")],
)  # fmt: skip
def test_the_async_twins_take_what_the_sync_methods_take(sync_cls: str, async_cls: str) -> None:
    import inspect

    from workers_ai.ai_search import client as module

    sync, asyn = getattr(module, sync_cls), getattr(module, async_cls)
    names = {n for n in dir(sync) if not n.startswith("_")} - {"close"}
    assert names == {n for n in dir(asyn) if not n.startswith("_")} - {"aclose"}
    for name in sorted(names):
        one, two = getattr(sync, name), getattr(asyn, name)
        if callable(one):
            assert [
                (p.name, p.kind, p.default) for p in inspect.signature(one).parameters.values()
            ] == [
                (p.name, p.kind, p.default) for p in inspect.signature(two).parameters.values()
            ], name


def test_extra_options_merge_into_the_named_ones_instead_of_replacing_them() -> None:
    options = SearchOptions(
        max_results=3,
        filters={"team": "support"},
        extra={"retrieval": {"retrieval_type": "hybrid"}},
    )
    retrieval = instance_body("q", options, generate=False)["ai_search_options"]["retrieval"]
    assert retrieval == {
        "max_num_results": 3,
        "filters": {"team": "support"},
        "retrieval_type": "hybrid",
    }


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"boost_by": {"field": "a", "direction": "asc"}}, "boost_by must be a list"),
        ({"boost_by": [{"field": "a", "direction": "sideways"}]}, "boost_by[0]"),
        ({"boost_by": [{"direction": "asc"}]}, "boost_by[0]"),
        ({"context_expansion": "lots"}, "context_expansion must be an int"),
        ({"context_expansion": -1}, "context_expansion must be an int"),
    ],
)
def test_retrieval_options_are_checked_too(options: dict, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        SearchOptions.of(options)
    assert words in str(caught.value)


def test_one_target_rule_and_one_document_shape_for_both_frameworks() -> None:
    from workers_ai.ai_search import SearchChunk, chunk_ids, chunk_metadata
    from workers_ai.ai_search.client import target_route

    assert (
        target_route(instance_ids=["a", "b"]).search_path == "ai-search/namespaces/default/search"
    )
    refused = [
        ({}, "got none"),
        ({"instance": "a", "autorag": "b"}, "got instance, autorag"),
        ({"autorag": "a", "namespace": "n"}, "namespace applies"),
    ]
    for bad, words in refused:
        with pytest.raises(InvalidRequestError, match=words):
            target_route(**bad)
    chunk = SearchChunk("c1", "text", 0.5, "a.md", "f1", {"team": "x", "filename": "shadowed"},
                        1735689600000, (), {"vector_score": 0.5}, "docs")  # fmt: skip
    assert chunk_metadata(chunk) == {
        "team": "x", "filename": "a.md", "file_id": "f1", "timestamp": 1735689600000,
        "instance_id": "docs", "scoring_details": {"vector_score": 0.5},
    }  # fmt: skip
    twin = SearchChunk("c1", "other", instance_id="blog")
    assert chunk_ids([chunk, twin]) == ["docs/c1", "blog/c1"]  # frameworks drop repeated ids
    assert chunk_ids([SearchChunk("", "t")]) == chunk_ids([SearchChunk("", "t")])
