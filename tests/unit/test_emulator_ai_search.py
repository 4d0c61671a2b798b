"""The emulator's AI Search pieces that need no server: routing, chunking, instance
configuration, the legacy filter translation and the stand-in query rewrite (platform spec §3).

The routes' behaviour over HTTP is in ``tests/contract/test_emulator_ai_search.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from workers_ai.emulator.ai_search_corpus import (
    DEFAULT_TIMESTAMP_MS,
    MAX_CHUNK_TOKENS,
    chunk_texts,
    parse_instance,
)
from workers_ai.emulator.ai_search_requests import rewrite_query
from workers_ai.emulator.ai_search_retrieval import legacy_to_vectorize
from workers_ai.emulator.routing import match_route
from workers_ai.emulator.standins import count_tokens
from workers_ai.emulator.vectorize_filters import FilterError

ACCOUNT = "/client/v4/accounts/acc/"


@pytest.mark.parametrize(
    ("path", "kind", "template", "namespace", "instance"),
    [
        ("autorag/rags/r1/search", "autorag_search", "/autorag/rags/{id}/search", None, "r1"),
        (
            "autorag/rags/r1/ai-search",
            "autorag_ai_search",
            "/autorag/rags/{id}/ai-search",
            None,
            "r1",
        ),
        (
            "ai-search/instances/kb/search",
            "ai_search_search",
            "/ai-search/instances/{name}/search",
            None,
            "kb",
        ),
        (
            "ai-search/instances/kb/chat/completions",
            "ai_search_chat",
            "/ai-search/instances/{name}/chat/completions",
            None,
            "kb",
        ),
        (
            "ai-search/namespaces/ns/instances/kb/search",
            "ai_search_search",
            "/ai-search/namespaces/{namespace}/instances/{name}/search",
            "ns",
            "kb",
        ),
        (
            "ai-search/namespaces/ns/instances/kb/chat/completions",
            "ai_search_chat",
            "/ai-search/namespaces/{namespace}/instances/{name}/chat/completions",
            "ns",
            "kb",
        ),
        (
            "ai-search/namespaces/ns/search",
            "ai_search_multi_search",
            "/ai-search/namespaces/{namespace}/search",
            "ns",
            None,
        ),
        (
            "ai-search/namespaces/ns/chat/completions",
            "ai_search_multi_chat",
            "/ai-search/namespaces/{namespace}/chat/completions",
            "ns",
            None,
        ),
    ],
)
def test_ai_search_routes(
    path: str, kind: str, template: str, namespace: str | None, instance: str | None
) -> None:
    route = match_route("POST", ACCOUNT + path)
    assert route is not None
    assert (route.kind, route.template, route.account) == (kind, f"POST {template}", "acc")
    assert (route.namespace, route.instance) == (namespace, instance)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "ai-search/instances/kb/search"),
        ("POST", "ai-search/instances//search"),
        ("POST", "ai-search/instances/kb/query"),
        ("POST", "autorag/rags/r1/chat/completions"),
        ("POST", "ai-search/namespaces/ns/instances/kb"),
    ],
)
def test_other_ai_search_paths_are_no_route(method: str, path: str) -> None:
    route = match_route(method, ACCOUNT + path)
    assert route is not None and route.kind == "unknown"


# -- chunking --------------------------------------------------------------------------------
def test_a_file_is_cut_into_paragraphs() -> None:
    text = "# Title\r\n\r\nFirst paragraph,\nhard-wrapped.\n\n\n  \nSecond.  \n"
    assert chunk_texts(text) == ["# Title", "First paragraph,\nhard-wrapped.", "Second."]
    assert chunk_texts(" \n\n ") == []


def test_a_long_paragraph_is_cut_at_sentence_ends_within_the_bound() -> None:
    sentence = "Llamas carry small loads across the high plains every single day. "
    paragraph = (sentence * 60).strip()
    pieces = chunk_texts(paragraph)

    assert len(pieces) > 1
    assert all(count_tokens(p) <= MAX_CHUNK_TOKENS for p in pieces)
    assert all(p.endswith("day.") for p in pieces)  # cut between sentences
    assert " ".join(pieces) == paragraph


def test_a_sentence_longer_than_the_bound_is_cut_by_tokens() -> None:
    words = " ".join(f"w{i}" for i in range(MAX_CHUNK_TOKENS * 2 + 10))
    pieces = chunk_texts(words)
    assert [count_tokens(p) for p in pieces] == [MAX_CHUNK_TOKENS, MAX_CHUNK_TOKENS, 10]
    assert " ".join(pieces) == words


# -- instances -------------------------------------------------------------------------------
def test_files_get_ids_chunks_folders_and_seconds() -> None:
    files = {
        "a/b/c.md": {"text": "One.\n\nTwo.", "timestamp": 1_740_000_000_999},
        "top.md": "Top.",
    }
    instance = parse_instance("kb", {"files": files})
    nested, top = instance.files

    assert [c.id for c in instance.chunks] == [f"{nested.id}-0", f"{nested.id}-1", f"{top.id}-0"]
    assert (nested.folder, top.folder) == ("a/b/", "")
    assert (nested.timestamp, top.timestamp) == (1_740_000_000_000, DEFAULT_TIMESTAMP_MS)
    assert nested.attributes() == {
        "folder": "a/b/",
        "filename": "a/b/c.md",
        "timestamp": 1_740_000_000_000,
    }
    other = parse_instance("kb", {"files": files, "namespace": "ns"})
    assert other.files[0].id != nested.id  # ids differ between instances
    assert parse_instance("kb", {"files": files}).files[0].id == nested.id  # and are stable


def test_attributes_is_another_name_of_metadata() -> None:
    spec = {"files": {"a.md": {"text": "x", "attributes": {"team": "a", "rank": 2}}}}
    assert parse_instance("kb", spec).files[0].metadata == {"team": "a", "rank": 2}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"files": {"a.md": {"text": "x", "metadata": {}, "attributes": {}}}}, "not both"),
        ({"files": {"a.md": {"text": "x", "metadata": {"a.b": 1}}}}, "metadata key 'a.b'"),
        ({"files": {"a.md": {"text": "x", "metadata": {"n": [1]}}}}, "metadata 'n'"),
        ({"files": {"a.md": {"text": "x", "timestamp": -1}}}, "timestamp"),
        ({"files": {"a.md": {"text": "x", "timestamp": True}}}, "timestamp"),
        ({"files": ["a.md"]}, "files must map"),
        ({"files": {}, "namespace": "a/b"}, "namespace 'a/b'"),
        ({"files": {}, "model": 3}, "model"),
    ],
)
def test_bad_instance_configuration_names_the_field(spec: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match="AI Search instance 'kb'") as info:
        parse_instance("kb", spec)
    assert words in str(info.value)


# -- the legacy filter format (§3.2) as Vectorize's (§2.5) -----------------------------------
@pytest.mark.parametrize(
    ("legacy", "vectorize"),
    [
        ({"type": "eq", "key": "folder", "value": "a/"}, {"folder": {"$eq": "a/"}}),
        ({"type": "lte", "key": "rank", "value": 3}, {"rank": {"$lte": 3}}),
        ({"type": "ne", "key": "draft", "value": True}, {"draft": {"$ne": True}}),
        (
            {"type": "gte", "key": "timestamp", "value": "1735689600000"},
            {"timestamp": {"$gte": 1735689600000}},
        ),
        ({"type": "lt", "key": "modified_date", "value": 5}, {"timestamp": {"$lt": 5}}),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "gt", "key": "folder", "value": "customer-a//"},
                    {"type": "lte", "key": "folder", "value": "customer-a/z"},
                    {"type": "eq", "key": "team", "value": "x"},
                ],
            },
            {"folder": {"$gt": "customer-a//", "$lte": "customer-a/z"}, "team": {"$eq": "x"}},
        ),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "folder", "value": "a/"},
                    {"type": "eq", "key": "folder", "value": "b/"},
                ],
            },
            {"folder": {"$in": ["a/", "b/"]}},
        ),
    ],
)
def test_legacy_filters_translate_to_vectorize_filters(
    legacy: dict[str, Any], vectorize: dict[str, Any]
) -> None:
    assert legacy_to_vectorize(legacy) == vectorize


@pytest.mark.parametrize(
    ("legacy", "words"),
    [
        ("folder", "must be an object"),
        ({"type": "eq", "key": "", "value": "a"}, "filters.key"),
        ({"type": "eq", "key": "a", "value": None}, "filters.value"),
        ({"type": "eq", "key": "a", "value": float("nan")}, "filters.value"),
        ({"type": "and", "filters": ["x"]}, "filters.filters[0] must be a comparison"),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "gt", "key": "a", "value": 1},
                    {"type": "gt", "key": "a", "value": 2},
                ],
            },
            "two 'gt' comparisons on key 'a'",
        ),
    ],
)
def test_legacy_filters_that_mean_nothing_are_refused(legacy: Any, words: str) -> None:
    with pytest.raises(FilterError) as info:
        legacy_to_vectorize(legacy)
    assert words in str(info.value)


# -- the stand-in query rewrite ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "rewritten"),
    [
        ("How do I train a llama to deliver coffee?", "train llama deliver coffee"),
        ("Llamas, LLAMAS and llamas!", "llama"),  # once, singular
        ("How do I?", "How do I?"),  # no content words: kept as it is
    ],
)
def test_query_rewrite_stand_in(query: str, rewritten: str) -> None:
    assert rewrite_query(query) == rewritten
