"""The emulator's AI Search (formerly AutoRAG) routes over HTTP, against the platform spec's §3.

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §3 (AI Search REST API) and §2.5 (the
Vectorize filter syntax the new routes take). One conformance test per example the spec
transcribes (the legacy page, the new search result, the chat completion, the streaming
framing, the legacy "starts with" filter, cross-instance errors), then what a user of the
emulator relies on: the relevant file ranks first, filters in both syntaxes and their
refusals, thresholds, result limits, namespaces, both streams, 404s, and faults, latency,
stats and the request log applying to these routes like to the others.

Plain httpx, no client of this package: the AI Search client is checked against this
emulator, not the other way round. The corpus is added per test with
``add_ai_search_instance`` (``reset()`` forgets it), except where configured instances are
the point.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from workers_ai.emulator import EmulatorServer
from workers_ai.emulator import app as app_module
from workers_ai.emulator.ai_search import NO_RESULTS_ANSWER
from workers_ai.emulator.ai_search_corpus import DEFAULT_MODEL

LLAMA = "llama/logistics/llama-logistics.md"
START = "getting-started.md"
PROFILE_A = "customer-a/profile.md"
CONTRACT_A = "customer-a/contracts/property/contract-1.md"
PROFILE_B = "customer-b/profile.md"
JAN_2025 = 1_735_689_600_000
MAR_2025 = 1_740_787_200_000
#: The corpus: the spec's llama example, its "getting started" example and the legacy filter
#: page's customer-a folder tree (with custom metadata).
FILES: dict[str, Any] = {
    LLAMA: {
        "text": "Llamas can carry 3 drinks max.\n\n"
        "To train a llama to deliver coffee, build trust first and then practise short "
        "walks with an empty tray.",
        "timestamp": JAN_2025,
    },
    START: "Welcome to AI Search.\n\nTo get started, create an instance and upload your files.",
    PROFILE_A: {
        "text": "Customer A prefers invoices by email every month.",
        "metadata": {"tier": "gold", "priority": 3},
        "timestamp": MAR_2025 + 999,
    },
    CONTRACT_A: {
        "text": "The property contract of customer A renews every year in March.",
        "metadata": {"tier": "gold", "priority": 1},
        "timestamp": MAR_2025,
    },
    PROFILE_B: {
        "text": "Customer B prefers invoices by post every quarter.",
        "metadata": {"tier": "silver", "priority": 2},
    },
}
COFFEE = "How do I train a llama to deliver coffee?"
ANY = {"ai_search_options": {"retrieval": {"match_threshold": 0}}}


@dataclass
class AiSearch:
    """The emulator's AI Search routes, over plain httpx (``base``: the account's URL)."""

    server: EmulatorServer
    http: httpx.Client
    base: str

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["json"] = body
        return self.http.post(self.base + path, **kwargs)

    def ok(self, path: str, body: Any, **kwargs: Any) -> Any:
        """The ``result`` of a request that must succeed in the v4 envelope."""
        response = self.post(path, body, **kwargs)
        payload = response.json()
        assert response.status_code == 200, payload
        assert list(payload) == ["result", "success", "errors", "messages"]
        assert (payload["success"], payload["errors"], payload["messages"]) == (True, [], [])
        return payload["result"]

    def fails(self, path: str, body: Any, status: int, code: int, **kwargs: Any) -> str:
        """The message of a request that must fail with ``status`` / ``code``, in the v4
        failure envelope (§3.5) and nothing else."""
        response = self.post(path, body, **kwargs)
        payload = response.json()
        assert response.status_code == status, payload
        message = payload["errors"][0]["message"]
        error = {"code": code, "message": message}
        assert payload == {"result": None, "success": False, "errors": [error], "messages": []}
        return str(message)

    def keys(self, path: str, body: Any) -> list[str]:
        """The item keys of a new-route search, best first."""
        return [c["item"]["key"] for c in self.ok(path, body)["chunks"]]


@pytest.fixture
def ais(emulator: EmulatorServer) -> Iterator[AiSearch]:
    emulator.add_ai_search_instance("docs", FILES)
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(headers=emulator.control_headers()) as http:
        yield AiSearch(emulator, http, base)


def _events(text: str) -> list[tuple[str | None, str]]:
    """``(event name, data)`` of each SSE event."""
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name = data = None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value
        assert data is not None, block
        events.append((name, data))
    return events


def _search(query: str, **retrieval: Any) -> dict[str, Any]:
    return {"query": query, "ai_search_options": {"retrieval": retrieval}}


def _chat(question: str, **options: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question}], **options}


# -- conformance: one test per example of §3 -------------------------------------------------
def test_legacy_ai_search_answers_the_documented_page(ais: AiSearch) -> None:
    """§3.2's verbatim response: field set and order, one item per file, REST envelope."""
    result = ais.ok("/autorag/rags/docs/ai-search", {"query": COFFEE})

    assert list(result) == ["object", "search_query", "response", "data", "has_more", "next_page"]
    assert result["object"] == "vector_store.search_results.page"
    assert (result["search_query"], result["has_more"], result["next_page"]) == (
        COFFEE,
        False,
        None,
    )
    first = result["data"][0]
    assert list(first) == ["file_id", "filename", "score", "attributes", "content"]
    assert first["filename"] == LLAMA
    assert first["attributes"] == {"modified_date": JAN_2025, "folder": "llama/logistics/"}
    assert [list(part) for part in first["content"]] == [["id", "type", "text"]] * 2
    assert {part["type"] for part in first["content"]} == {"text"}
    assert first["content"][0]["text"].startswith("To train a llama")
    assert len({item["file_id"] for item in result["data"]}) == len(result["data"])
    assert first["score"] == max(item["score"] for item in result["data"])
    assert "train a llama to deliver coffee" in result["response"]


def test_legacy_search_is_the_same_page_without_response(ais: AiSearch) -> None:
    searched = ais.ok("/autorag/rags/docs/search", {"query": COFFEE})
    generated = ais.ok("/autorag/rags/docs/ai-search", {"query": COFFEE})

    assert "response" not in searched
    assert searched == {k: v for k, v in generated.items() if k != "response"}


def test_new_search_has_the_documented_shape(ais: AiSearch) -> None:
    """§3.4's verbatim search result (a file without custom metadata has no item.metadata)."""
    result = ais.ok("/ai-search/instances/docs/search", {"query": "How do I get started?"})

    assert list(result) == ["search_query", "chunks"]
    assert result["search_query"] == "How do I get started?"
    chunk = result["chunks"][0]
    assert list(chunk) == ["id", "type", "score", "text", "item", "scoring_details"]
    assert chunk["type"] == "text"
    assert chunk["item"] == {"key": START, "timestamp": JAN_2025}
    assert chunk["scoring_details"] == {"vector_score": chunk["score"]}
    assert chunk["text"] == "To get started, create an instance and upload your files."
    assert 0 < chunk["score"] <= 1


def test_custom_metadata_is_in_item_metadata_and_legacy_attributes(ais: AiSearch) -> None:
    chunk = ais.ok("/ai-search/instances/docs/search", {"query": "property contract renews"})[
        "chunks"
    ][0]
    assert chunk["item"] == {
        "key": CONTRACT_A,
        "timestamp": MAR_2025,
        "metadata": {"tier": "gold", "priority": 1},
    }
    legacy = ais.ok("/autorag/rags/docs/search", {"query": "property contract renews"})
    assert legacy["data"][0]["attributes"] == {
        "modified_date": MAR_2025,
        "folder": "customer-a/contracts/property/",
        "tier": "gold",
        "priority": 1,
    }


def test_chat_completion_has_the_documented_shape_without_envelope(ais: AiSearch) -> None:
    """§3.4's verbatim chat completion: no v4 envelope, OpenAI fields plus chunks."""
    response = ais.post("/ai-search/instances/docs/chat/completions", _chat(COFFEE))
    body = response.json()

    assert response.status_code == 200
    assert list(body) == ["id", "object", "created", "model", "choices", "usage", "chunks"]
    assert body["id"].startswith("chatcmpl-")
    assert (body["object"], body["model"]) == ("chat.completion", DEFAULT_MODEL)
    assert isinstance(body["created"], int)
    [choice] = body["choices"]
    assert list(choice) == ["index", "message", "finish_reason"]
    assert (choice["index"], choice["finish_reason"]) == (0, "stop")
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == (
        "According to the context: To train a llama to deliver coffee, build trust first and "
        "then practise short walks with an empty tray."
    )
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 10 and usage["completion_tokens"] > 10
    assert body["chunks"][0]["item"]["key"] == LLAMA
    searched = ais.ok("/ai-search/instances/docs/search", {"query": COFFEE})
    assert body["chunks"] == searched["chunks"]


def test_chat_completion_uses_the_model_asked_for_or_the_instances(ais: AiSearch) -> None:
    ais.server.add_ai_search_instance("own", FILES, model="@cf/meta/llama-3.1-8b-instruct")
    path = "/ai-search/instances/{}/chat/completions"
    asked = _chat(COFFEE, model="openai/gpt-5-mini")

    assert ais.post(path.format("own"), _chat(COFFEE)).json()["model"] == (
        "@cf/meta/llama-3.1-8b-instruct"
    )
    assert ais.post(path.format("own"), asked).json()["model"] == "openai/gpt-5-mini"


def test_streamed_chat_follows_the_documented_framing(ais: AiSearch) -> None:
    """§3.4's verbatim stream: ``event: chunks`` first, content chunks, ``data: [DONE]``."""
    path = "/ai-search/instances/docs/chat/completions"
    whole = ais.post(path, _chat(COFFEE)).json()
    response = ais.post(path, _chat(COFFEE, stream=True))

    assert response.headers["content-type"] == "text/event-stream"
    assert response.text.startswith("event: chunks\ndata: [{")
    assert response.text.endswith("\n\ndata: [DONE]\n\n")
    events = _events(response.text)
    assert events[0][0] == "chunks" and json.loads(events[0][1]) == whole["chunks"]
    assert events[-1] == (None, "[DONE]")
    deltas = [json.loads(data) for name, data in events[1:-1]]
    assert {name for name, _ in events[1:]} == {None}
    assert [list(d) for d in deltas[:-1]] == [["id", "created", "model", "object", "choices"]] * (
        len(deltas) - 1
    )
    assert len(deltas) > 3  # a few words per event
    assert {(d["id"], d["object"], d["model"]) for d in deltas} == {
        (deltas[0]["id"], "chat.completion.chunk", DEFAULT_MODEL)
    }
    assert deltas[0]["id"].startswith("id-")
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in deltas)
    assert text == whole["choices"][0]["message"]["content"]
    assert deltas[-1]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert deltas[-1]["usage"] == whole["usage"]


def test_the_legacy_starts_with_filter_example(ais: AiSearch) -> None:
    """§3.2's verbatim "starts with" filter matches the subfolders of ``customer-a/``.

    Strings compare in plain string order, as Vectorize's do, so the folder's own files
    (``"customer-a/" < "customer-a//"``) are not matched, although the docs describe the
    filter as "all paths starting with customer-a/" (reported as a spec ambiguity).
    """
    starts_with = {
        "type": "and",
        "filters": [
            {"type": "gt", "key": "folder", "value": "customer-a//"},
            {"type": "lte", "key": "folder", "value": "customer-a/z"},
        ],
    }
    result = ais.ok("/autorag/rags/docs/search", {"query": "customer", "filters": starts_with})

    assert [item["filename"] for item in result["data"]] == [CONTRACT_A]


def test_cross_instance_search_tags_chunks_and_lists_unknown_instances(ais: AiSearch) -> None:
    """§3.4: cross-instance chunks carry ``instance_id``; unknown instances are ``errors``."""
    ais.server.add_ai_search_instance("faq", {"faq/coffee.md": "Coffee is served at nine."})
    body = {"query": "coffee", "ai_search_options": {"instance_ids": ["docs", "faq", "gone"]}}
    result = ais.ok("/ai-search/namespaces/default/search", body)

    assert list(result) == ["search_query", "chunks", "errors"]
    assert {(c["instance_id"], c["item"]["key"]) for c in result["chunks"]} == {
        ("docs", LLAMA),
        ("faq", "faq/coffee.md"),
    }
    assert list(result["chunks"][0])[-1] == "instance_id"
    scores = [c["score"] for c in result["chunks"]]
    assert scores == sorted(scores, reverse=True)
    assert result["errors"] == [
        {
            "instance_id": "gone",
            "message": "AI Search instance 'gone' not found in namespace 'default'",
        }
    ]


def test_cross_instance_chat_completion_answers_from_every_instance(ais: AiSearch) -> None:
    ais.server.add_ai_search_instance("faq", {"faq/coffee.md": "Coffee is served at nine."})
    body = _chat("When is coffee served?", ai_search_options={"instance_ids": ["faq", "docs"]})
    response = ais.post("/ai-search/namespaces/default/chat/completions", body).json()

    assert response["object"] == "chat.completion" and "errors" not in response
    assert response["chunks"][0]["instance_id"] == "faq"
    assert response["choices"][0]["message"]["content"] == (
        "According to the context: Coffee is served at nine."
    )


def test_cross_instance_routes_need_instance_ids(ais: AiSearch) -> None:
    for path, body in [
        ("/ai-search/namespaces/default/search", {"query": "coffee"}),
        ("/ai-search/namespaces/default/chat/completions", _chat("coffee")),
    ]:
        message = ais.fails(path, body, 400, 41002)
        assert "ai_search_options.instance_ids" in message


# -- ranking ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (COFFEE, LLAMA),
        ("How many drinks can a llama carry?", LLAMA),
        ("How do I get started with AI Search?", START),
        ("When does the property contract renew?", CONTRACT_A),
        ("Does customer B want invoices by post?", PROFILE_B),
    ],
)
def test_the_relevant_file_ranks_first_in_both_families(
    ais: AiSearch, query: str, expected: str
) -> None:
    assert ais.keys("/ai-search/instances/docs/search", {"query": query, **ANY})[0] == expected
    legacy = ais.ok("/autorag/rags/docs/search", {"query": query})
    assert legacy["data"][0]["filename"] == expected


def test_keyword_retrieval_scores_word_overlap(ais: AiSearch) -> None:
    path = "/ai-search/instances/docs/search"
    chunks = ais.ok(path, _search("invoices post", retrieval_type="keyword", match_threshold=0))[
        "chunks"
    ]

    assert [c["item"]["key"] for c in chunks] == [PROFILE_B, PROFILE_A]  # "or": any word
    assert chunks[0]["scoring_details"] == {"keyword_score": 1.0}
    assert 0 < chunks[1]["score"] < 1
    both = _search("invoices post", retrieval_type="keyword", keyword_match_mode="and")
    assert ais.keys(path, both) == [PROFILE_B]  # "and": all words
    assert ais.keys(path, _search("zebra", retrieval_type="keyword", match_threshold=0)) == []


@pytest.mark.parametrize("fusion", ["rrf", "max"])
def test_hybrid_retrieval_fuses_both_lists(ais: AiSearch, fusion: str) -> None:
    body = _search("invoices by post", retrieval_type="hybrid", fusion_method=fusion)
    chunks = ais.ok("/ai-search/instances/docs/search", body)["chunks"]

    first = chunks[0]
    assert first["item"]["key"] == PROFILE_B
    details = first["scoring_details"]
    assert list(details) == [
        "vector_score",
        "keyword_score",
        "vector_rank",
        "keyword_rank",
        "fusion_method",
    ]
    assert (details["vector_rank"], details["keyword_rank"], details["fusion_method"]) == (
        1,
        1,
        fusion,
    )
    expected = 1.0 if fusion == "rrf" else max(details["vector_score"], details["keyword_score"])
    assert first["score"] == expected


def test_reranking_orders_by_the_reranker_and_reports_its_score(ais: AiSearch) -> None:
    def reranked(threshold: float) -> list[dict[str, Any]]:
        body = {
            "query": "invoices by post",
            "ai_search_options": {
                "retrieval": {"match_threshold": 0},
                "reranking": {"enabled": True, "match_threshold": threshold},
            },
        }
        return list(ais.ok("/ai-search/instances/docs/search", body)["chunks"])

    strict, loose = reranked(0.5), reranked(0)
    assert strict[0]["item"]["key"] == PROFILE_B
    assert all(c["score"] == c["scoring_details"]["reranking_score"] >= 0.5 for c in strict)
    assert "vector_score" in strict[0]["scoring_details"]
    assert len(strict) < len(loose) == 7  # the reranking threshold drops chunks
    scores = [c["score"] for c in loose]
    assert scores == sorted(scores, reverse=True)


def test_boost_by_moves_files_by_their_metadata(ais: AiSearch) -> None:
    """Each entry adds up to 0.1: all of it to the best value, none to the worst."""
    path = "/ai-search/instances/docs/search"

    def scores(*boost_by: dict[str, str]) -> dict[str, float]:
        body = _search("customer", match_threshold=0, max_num_results=3, boost_by=list(boost_by))
        return {c["item"]["key"]: c["score"] for c in ais.ok(path, body)["chunks"]}

    plain = scores()
    assert list(plain) == [PROFILE_A, PROFILE_B, CONTRACT_A]
    lowest_first = scores({"field": "priority", "direction": "asc"})  # contract 1, A 3
    assert lowest_first[CONTRACT_A] == pytest.approx(plain[CONTRACT_A] + 0.1)
    assert lowest_first[PROFILE_A] == plain[PROFILE_A]
    assert list(lowest_first).index(CONTRACT_A) < list(lowest_first).index(PROFILE_A)
    highest_first = scores({"field": "priority", "direction": "desc"})
    assert highest_first[PROFILE_A] == pytest.approx(plain[PROFILE_A] + 0.1)
    assert next(iter(highest_first)) == PROFILE_A
    assert scores({"field": "tier", "direction": "not_exists"}) == plain  # all have a tier


def test_query_rewriting_changes_the_search_query(ais: AiSearch) -> None:
    legacy = ais.ok("/autorag/rags/docs/search", {"query": COFFEE, "rewrite_query": True})
    body = {"query": COFFEE, "ai_search_options": {"query_rewrite": {"enabled": True}}}
    new = ais.ok("/ai-search/instances/docs/search", body)

    assert legacy["search_query"] == new["search_query"] == "train llama deliver coffee"
    assert new["chunks"][0]["item"]["key"] == LLAMA
    assert ais.ok("/ai-search/instances/docs/search", {"query": COFFEE})["search_query"] == COFFEE


def test_context_expansion_and_metadata_only_change_the_text(ais: AiSearch) -> None:
    path = "/ai-search/instances/docs/search"
    expanded = ais.ok(path, _search("drinks", context_expansion=1))["chunks"][0]
    bare = ais.ok(path, _search("drinks", metadata_only=True))["chunks"][0]

    assert expanded["text"] == FILES[LLAMA]["text"]  # both paragraphs of the file
    assert bare["text"] == "" and bare["item"]["key"] == LLAMA


# -- filters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tier": "gold"}, {PROFILE_A, CONTRACT_A}),
        ({"tier": {"$ne": "gold"}}, {LLAMA, START, PROFILE_B}),
        ({"folder": {"$in": ["customer-a/", "customer-b/"]}}, {PROFILE_A, PROFILE_B}),
        ({"folder": {"$gte": "customer-a/", "$lt": "customer-a0"}}, {PROFILE_A, CONTRACT_A}),
        ({"filename": START}, {START}),
        ({"priority": {"$gt": 1, "$lte": 3}}, {PROFILE_A, PROFILE_B}),
        ({"timestamp": {"$gte": MAR_2025}}, {PROFILE_A, CONTRACT_A}),
        ({"timestamp": {"$gt": MAR_2025 + 500}}, set()),  # compared in whole seconds
        ({"tier": "gold", "priority": 3}, {PROFILE_A}),
        ({"tier": "g" * 64 + "old"}, set()),
    ],
)
def test_vectorize_syntax_filters_on_the_new_routes(
    ais: AiSearch, filters: dict[str, Any], expected: set[str]
) -> None:
    body = _search("anything", match_threshold=0, filters=filters, max_num_results=50)
    assert set(ais.keys("/ai-search/instances/docs/search", body)) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": "eq", "key": "folder", "value": "customer-a/"}, {PROFILE_A}),
        ({"type": "ne", "key": "tier", "value": "gold"}, {LLAMA, START, PROFILE_B}),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "folder", "value": "customer-a/"},
                    {"type": "eq", "key": "folder", "value": "customer-b/"},
                ],
            },
            {PROFILE_A, PROFILE_B},
        ),
        ({"type": "gte", "key": "timestamp", "value": str(MAR_2025)}, {PROFILE_A, CONTRACT_A}),
        ({"type": "lt", "key": "modified_date", "value": MAR_2025}, {LLAMA, START, PROFILE_B}),
        ({"type": "eq", "key": "filename", "value": LLAMA}, {LLAMA}),
    ],
)
def test_legacy_filters(ais: AiSearch, filters: dict[str, Any], expected: set[str]) -> None:
    body = {"query": "anything", "filters": filters, "max_num_results": 50}
    result = ais.ok("/autorag/rags/docs/search", body)
    assert {item["filename"] for item in result["data"]} == expected


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        (
            {
                "type": "and",
                "filters": [{"type": "or", "filters": [{"type": "eq", "key": "a", "value": 1}]}],
            },
            "cannot be nested",
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "folder", "value": "a/"},
                    {"type": "gt", "key": "folder", "value": "b/"},
                ],
            },
            "only 'eq'",
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "folder", "value": "a/"},
                    {"type": "eq", "key": "tier", "value": "gold"},
                ],
            },
            "one key",
        ),
        ({"type": "like", "key": "folder", "value": "a"}, "'like' is unknown"),
        ({"type": "eq", "key": "folder"}, "filters.value"),
        ({"type": "and", "filters": []}, "non-empty list"),
    ],
)
def test_legacy_filters_the_spec_forbids_are_refused(
    ais: AiSearch, filters: dict[str, Any], words: str
) -> None:
    body = {"query": "anything", "filters": filters}
    message = ais.fails("/autorag/rags/docs/search", body, 400, 41003)
    assert message.startswith("filters: invalid filter") and words in message


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"folder": {"$regex": "a"}}, "unknown operator '$regex'"),
        ({"tier": {"$eq": "a", "$ne": "b"}}, "cannot be combined"),
        ({}, "non-empty object"),
        ({"$tier": "gold"}, 'must not start with "$"'),
        ({"tier": {"$in": "gold"}}, "$in takes an array"),
    ],
)
def test_vectorize_filters_the_syntax_forbids_are_refused(
    ais: AiSearch, filters: dict[str, Any], words: str
) -> None:
    message = ais.fails(
        "/ai-search/instances/docs/search", _search("x", filters=filters), 400, 41003
    )
    assert message.startswith("ai_search_options.retrieval.filters") and words in message


# -- thresholds and result limits ------------------------------------------------------------
def test_when_no_chunk_passes_the_threshold_nothing_is_retrieved(ais: AiSearch) -> None:
    """§3.4 leaves the output open: no chunks, and a fixed stand-in reply."""
    legacy = ais.ok(
        "/autorag/rags/docs/ai-search",
        {"query": COFFEE, "ranking_options": {"score_threshold": 1}},
    )
    assert (legacy["data"], legacy["response"]) == ([], NO_RESULTS_ANSWER)
    strict = {"ai_search_options": {"retrieval": {"match_threshold": 0.99}}}
    assert ais.ok("/ai-search/instances/docs/search", {"query": COFFEE, **strict})["chunks"] == []
    chat = ais.post("/ai-search/instances/docs/chat/completions", _chat(COFFEE, **strict)).json()
    assert chat["chunks"] == []
    assert chat["choices"][0]["message"]["content"] == NO_RESULTS_ANSWER


def test_the_default_threshold_drops_unrelated_files_on_the_new_routes(ais: AiSearch) -> None:
    """New routes default to ``match_threshold`` 0.4; legacy ``score_threshold`` to 0 (§3.2)."""
    assert set(ais.keys("/ai-search/instances/docs/search", {"query": COFFEE})) == {LLAMA}
    legacy = ais.ok("/autorag/rags/docs/search", {"query": COFFEE})
    assert len(legacy["data"]) == len(FILES)


def test_max_num_results_caps_the_chunks(ais: AiSearch) -> None:
    assert len(ais.keys("/ai-search/instances/docs/search", _search("x", match_threshold=0))) == 7
    capped = _search("customer", match_threshold=0, max_num_results=2)
    assert len(ais.keys("/ai-search/instances/docs/search", capped)) == 2
    legacy = ais.ok("/autorag/rags/docs/search", {"query": COFFEE, "max_num_results": 1})
    assert [len(item["content"]) for item in legacy["data"]] == [1]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/autorag/rags/docs/search", {"query": COFFEE, "max_num_results": 0}, "max_num_results"),
        ("/autorag/rags/docs/search", {"query": COFFEE, "max_num_results": 51}, "max_num_results"),
        ("/autorag/rags/docs/search", {}, "query"),
        ("/autorag/rags/docs/search", {"query": "  "}, "query"),
        (
            "/autorag/rags/docs/search",
            {"query": "x", "ranking_options": {"score_threshold": 1.5}},
            "ranking_options.score_threshold",
        ),
        (
            "/autorag/rags/docs/ai-search",
            {"query": "x", "reranking": {"model": "@cf/other"}},
            "reranking.model",
        ),
        ("/autorag/rags/docs/ai-search", {"query": "x", "stream": "yes"}, "stream"),
        (
            "/ai-search/instances/docs/search",
            _search("x", max_num_results=100),
            "ai_search_options.retrieval.max_num_results",
        ),
        (
            "/ai-search/instances/docs/search",
            _search("x", retrieval_type="semantic"),
            "ai_search_options.retrieval.retrieval_type",
        ),
        (
            "/ai-search/instances/docs/search",
            _search("x", match_threshold=2),
            "ai_search_options.retrieval.match_threshold",
        ),
        (
            "/ai-search/instances/docs/search",
            _search("x", context_expansion=4),
            "ai_search_options.retrieval.context_expansion",
        ),
        (
            "/ai-search/instances/docs/search",
            _search("x", boost_by=[{"field": "a"}] * 4),
            "ai_search_options.retrieval.boost_by",
        ),
        (
            "/ai-search/instances/docs/search",
            _search("x", boost_by=[{"field": "a", "direction": "up"}]),
            "ai_search_options.retrieval.boost_by[0].direction",
        ),
        (
            "/ai-search/instances/docs/search",
            {"query": "x", "messages": [{"role": "user", "content": "x"}]},
            "exactly one of query and messages",
        ),
        (
            "/ai-search/instances/docs/search",
            {"query": "x", "ai_search_options": {"cache": {"cache_threshold": "loose"}}},
            "ai_search_options.cache.cache_threshold",
        ),
        (
            "/ai-search/instances/docs/chat/completions",
            {"query": "x"},
            "messages: required",
        ),
        (
            "/ai-search/instances/docs/chat/completions",
            {"messages": [{"role": "system", "content": "Be brief."}]},
            "at least one user message",
        ),
        (
            "/ai-search/instances/docs/chat/completions",
            {"messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        (
            "/ai-search/instances/docs/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "model": 7},
            "model",
        ),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    ais: AiSearch, path: str, body: dict[str, Any], field: str
) -> None:
    message = ais.fails(path, body, 400, 41002)
    assert field in message


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]"])
def test_a_body_that_is_no_json_object_is_refused(ais: AiSearch, raw: bytes) -> None:
    ais.fails("/ai-search/instances/docs/search", None, 400, 41001, content=raw)


# -- namespaces and 404s ---------------------------------------------------------------------
def test_namespaces_keep_instances_apart(ais: AiSearch) -> None:
    ais.server.add_ai_search_instance("handbook", {"hr.md": "Holidays: 25 days."}, namespace="hr")
    named = "/ai-search/namespaces/hr/instances/handbook/search"

    assert ais.keys(named, {"query": "holidays"}) == ["hr.md"]
    assert "namespace 'default'" in ais.fails(
        "/ai-search/instances/handbook/search", {"query": "x"}, 404, 41000
    )
    ais.fails("/autorag/rags/handbook/search", {"query": "x"}, 404, 41000)  # legacy: default
    default = "/ai-search/namespaces/default/instances/docs/search"
    assert ais.keys(default, {"query": COFFEE})[0] == LLAMA  # the bare path's namespace
    multi = {"query": "holidays", "ai_search_options": {"instance_ids": ["handbook"]}}
    assert ais.keys("/ai-search/namespaces/hr/search", multi) == ["hr.md"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/autorag/rags/nope/search", "AutoRAG not found"),
        ("/autorag/rags/nope/ai-search", "AutoRAG not found"),
        ("/ai-search/instances/nope/search", "instance 'nope' not found"),
        ("/ai-search/instances/nope/chat/completions", "instance 'nope' not found"),
        ("/ai-search/namespaces/nowhere/instances/docs/search", "namespace 'nowhere' not found"),
        ("/ai-search/namespaces/nowhere/search", "namespace 'nowhere' not found"),
    ],
)
def test_unknown_instances_rags_and_namespaces_are_404(
    ais: AiSearch, path: str, words: str
) -> None:
    response = ais.post(path, _chat("x") if "chat" in path else {"query": "x"})
    body = response.json()
    assert response.status_code == 404
    assert body["success"] is False and body["result"] is None
    assert body["errors"][0]["code"] == 41000 and words in body["errors"][0]["message"]


def test_other_methods_on_ai_search_paths_are_no_route(ais: AiSearch) -> None:
    response = ais.http.get(ais.base + "/ai-search/instances/docs/search")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, 7000)


# -- streams ---------------------------------------------------------------------------------
def test_legacy_stream_sends_workers_ai_events_without_sources(ais: AiSearch) -> None:
    """§3.2: only the generated text, as ``data: {"response": ...}`` events, then [DONE]."""
    whole = ais.ok("/autorag/rags/docs/ai-search", {"query": COFFEE})
    response = ais.post("/autorag/rags/docs/ai-search", {"query": COFFEE, "stream": True})

    assert response.headers["content-type"] == "text/event-stream"
    events = _events(response.text)
    assert events[-1] == (None, "[DONE]")
    parsed = [json.loads(data) for _, data in events[:-1]]
    assert len(parsed) > 3 and all(list(event) == ["response"] for event in parsed)
    assert "".join(event["response"] for event in parsed) == whole["response"]


def test_a_cross_instance_stream_starts_with_tagged_chunks(ais: AiSearch) -> None:
    body = _chat(COFFEE, stream=True, ai_search_options={"instance_ids": ["docs"]})
    response = ais.post("/ai-search/namespaces/default/chat/completions", body)

    name, data = _events(response.text)[0]
    assert name == "chunks" and json.loads(data)[0]["instance_id"] == "docs"


# -- the emulator as a test tool -------------------------------------------------------------
def test_configured_instances_survive_reset_and_added_ones_do_not() -> None:
    config = {"kb": {"files": {"a.md": "Alpacas hum when they are curious."}}}
    with EmulatorServer(ai_search_instances=config) as server:
        server.add_ai_search_instance("extra", {"b.md": "Beta."})
        assert server.ai_search_instances() == ["default/extra", "default/kb"]
        server.reset()
        assert server.ai_search_instances() == ["default/kb"]
        url = f"{server.base_url}/accounts/{server.account_id}/autorag/rags/kb/search"
        result = httpx.post(url, json={"query": "alpacas"}, headers=server.control_headers())
        assert result.json()["result"]["data"][0]["filename"] == "a.md"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"kb": {"files": {"/abs.md": "x"}}}, "file key '/abs.md'"),
        ({"kb": {"files": {"a.md": {"text": "x", "metadata": {"folder": "y"}}}}}, "built-in"),
        ({"kb": {"files": {"a.md": {"text": "x", "timestamp": "soon"}}}}, "timestamp"),
        ({"kb": {"files": {"a.md": {"body": "x"}}}}, "unknown fields ['body']"),
        ({"kb": {"files": {}, "size": 3}}, "unknown fields ['size']"),
        ({"k b": {"files": {}}}, "instance name 'k b'"),
    ],
)
def test_bad_configured_instances_fail_at_construction(config: Any, words: str) -> None:
    with pytest.raises(ValueError, match="ai_search_instances") as info:
        EmulatorServer(ai_search_instances=config)
    assert words in str(info.value)


def test_the_control_route_adds_lists_and_forgets_instances(emulator: EmulatorServer) -> None:
    url = f"{emulator.root_url}/__emulator/ai-search"
    headers = emulator.control_headers()
    instance = {"name": "kb", "namespace": "ops", "files": {"run.md": "Restart it."}}
    added = httpx.post(url, json=instance, headers=headers)
    assert added.json() == {"added": "ops/kb"}
    assert httpx.get(url, headers=headers).json() == {"instances": ["ops/kb"]}
    bad = httpx.post(url, json={"name": "kb", "files": {"a.md": 3}}, headers=headers)
    assert bad.status_code == 400 and "files['a.md']: give the text" in bad.text
    assert httpx.post(url, json={"files": {}}, headers={}).status_code == 401
    httpx.delete(url, headers=headers)
    assert emulator.ai_search_instances() == []


def test_requests_are_logged_and_counted_by_route_template(ais: AiSearch) -> None:
    ais.ok("/ai-search/instances/docs/search", {"query": COFFEE})
    ais.ok("/ai-search/namespaces/default/instances/docs/search", {"query": COFFEE})
    ais.post("/ai-search/instances/docs/chat/completions", _chat(COFFEE, model="m/x"))
    ais.ok("/autorag/rags/docs/search", {"query": COFFEE})

    stats = ais.server.stats()
    assert stats["by_route"] == {
        "POST /ai-search/instances/{name}/search": 1,
        "POST /ai-search/namespaces/{namespace}/instances/{name}/search": 1,
        "POST /ai-search/instances/{name}/chat/completions": 1,
        "POST /autorag/rags/{id}/search": 1,
    }
    assert stats["by_model"] == {"m/x": 1}
    logged = ais.server.last_request(route="ai_search_search")
    assert logged.route == "POST /ai-search/namespaces/{namespace}/instances/{name}/search"
    assert logged.body == {"query": COFFEE} and logged.status == 200


@pytest.mark.parametrize(
    ("headers", "account", "status", "code"),
    [
        ({"Authorization": "Bearer wrong"}, None, 401, 10000),
        (None, "other-account", 404, 7003),
    ],
)
def test_ai_search_routes_check_the_token_and_account(
    ais: AiSearch, headers: dict[str, str] | None, account: str | None, status: int, code: int
) -> None:
    base = ais.base.replace(ais.server.account_id, account) if account else ais.base
    response = httpx.post(
        base + "/ai-search/instances/docs/search",
        json={"query": "x"},
        headers=headers or ais.http.headers,
    )
    assert (response.status_code, response.json()["errors"][0]["code"]) == (status, code)


def test_faults_apply_to_ai_search_routes(ais: AiSearch) -> None:
    path = "/ai-search/instances/docs/search"
    ais.fails(path, {"query": "x"}, 429, 3040, headers={"x-emulator-fault": "capacity"})
    ais.server.configure(faults=[{"kind": "server_error", "route": "autorag_search", "count": 1}])
    ais.ok(path, {"query": "x"})  # another route kind
    ais.fails("/autorag/rags/docs/search", {"query": "x"}, 500, 1000)
    ais.ok("/autorag/rags/docs/search", {"query": "x"})  # count 1: used up
    assert ais.server.stats()["by_fault"] == {"capacity": 1, "server_error": 1}


def test_a_cut_stream_fault_ends_the_ai_search_stream_without_done(ais: AiSearch) -> None:
    response = ais.post(
        "/ai-search/instances/docs/chat/completions",
        _chat(COFFEE, stream=True),
        headers={"x-emulator-fault": "stream_cut;after=2"},
    )
    events = _events(response.text)
    assert [name for name, _ in events] == ["chunks", None]
    assert "[DONE]" not in response.text


def test_latency_applies_to_ai_search_routes(
    ais: AiSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configured latency is waited out (the wait is recorded, not taken)."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(app_module, "_wait", record)
    ais.server.configure(latency_ms=250)
    ais.ok("/ai-search/instances/docs/search", {"query": COFFEE})
    ais.post("/autorag/rags/docs/ai-search", {"query": COFFEE, "stream": True})

    assert len(waits) == 2 and all(0 < w <= 0.25 for w in waits)


def test_only_an_ai_search_rate_limit_applies_to_ai_search(ais: AiSearch) -> None:
    ais.server.configure(rate_limit_per_minute=1)
    for _ in range(3):
        ais.ok("/ai-search/instances/docs/search", {"query": "x"})
    ais.server.configure(rate_limit_per_minute={"ai_search": 1})
    ais.ok("/autorag/rags/docs/search", {"query": "x"})
    ais.fails("/ai-search/instances/docs/search", {"query": "x"}, 429, 3021)
