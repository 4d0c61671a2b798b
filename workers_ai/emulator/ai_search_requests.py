"""AI Search request bodies in the emulator, checked (platform spec §3.2, §3.3; pure).

Both body formats become one :class:`SearchRequest` holding a
:class:`~workers_ai.emulator.ai_search_retrieval.Retrieval`. A field of the wrong type, out
of its range or missing where required answers 400 / :data:`BAD_FIELD` with a message naming
the field (``ai_search_options.retrieval.max_num_results: expected a whole number from 1 to
50, got 100``); a bad filter 400 / :data:`BAD_FILTER`; a body that is not a JSON object 400 /
:data:`BAD_BODY`. Unknown fields are ignored (the binding's types allow extra keys).

Defaults the spec does not give (taken from the binding types it cites, R26; the emulator's
choices): new routes' ``match_threshold`` and ``reranking.match_threshold`` 0.4,
``context_expansion`` 0 (0-3), ``return_on_failure`` true, ``boost_by`` at most 3 entries
(``direction`` default ``desc``), ``instance_ids`` 1 to 10, ``retrieval_type`` ``vector``
(an instance's default index method), ``fusion_method`` ``rrf``; ``keyword_match_mode`` ``or``
(the emulator's choice). Legacy ``score_threshold`` defaults to 0 (§3.2).

Query rewriting (``rewrite_query`` / ``query_rewrite.enabled``) is a deterministic stand-in:
the query's content words, lower-cased, stopwords dropped, plurals singular, each once
(``"How do I train a llama to deliver coffee?"`` -> ``"train llama deliver coffee"``); it is
what is searched and what ``search_query`` shows. ``cache`` and ``return_on_failure`` are
checked but change nothing (the emulator neither caches nor fails retrieval on its own:
use faults for failures).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workers_ai.emulator.ai_search_retrieval import (
    BOOST_DIRECTIONS,
    FUSION_METHODS,
    KEYWORD_MODES,
    RETRIEVAL_TYPES,
    Retrieval,
    legacy_to_vectorize,
)
from workers_ai.emulator.standins import content_terms
from workers_ai.emulator.validation import EmulatorError
from workers_ai.emulator.vectorize_filters import FilterError, parse_filter

__all__ = [
    "BAD_BODY",
    "BAD_FIELD",
    "BAD_FILTER",
    "NOT_FOUND",
    "ROLES",
    "SearchRequest",
    "legacy_request",
    "new_request",
    "rewrite_query",
]

# -- error codes (§3.5: "Specific numeric codes [?]": the emulator's choices) -----------------
#: 404: no such instance, AutoRAG or namespace.
NOT_FOUND = 41000
#: 400: the body is not a JSON object.
BAD_BODY = 41001
#: 400: a field missing, of the wrong type or out of range (the message names it).
BAD_FIELD = 41002
#: 400: a filter the syntax does not allow (the message names the key or the rule).
BAD_FILTER = 41003

ROLES = ("system", "developer", "user", "assistant", "tool")
LEGACY_RERANKERS = ("@cf/baai/bge-reranker-base", "")
CACHE_THRESHOLDS = ("super_strict_match", "close_enough", "flexible_friend", "anything_goes")
MAX_RESULTS = 50
MAX_CONTEXT_EXPANSION = 3
MAX_BOOSTS = 3
MAX_INSTANCE_IDS = 10
#: Defaults of the new routes (see the module docstring).
NEW_MATCH_THRESHOLD = 0.4
NEW_RERANK_THRESHOLD = 0.4


@dataclass(frozen=True)
class SearchRequest:
    """A checked request of either family.

    Attributes:
        question: The user's question as sent (``query``, or the last user message).
        retrieval: What to retrieve (``retrieval.query`` is the possibly rewritten query).
        messages: The conversation (chat completions; legacy: the query as a user message).
        model: The generation model asked for (``None``: the instance's).
        stream: Answer as a stream.
        metadata_only: Chunks without their text.
        instance_ids: The instances of a cross-instance request.
    """

    question: str
    retrieval: Retrieval
    messages: tuple[Mapping[str, Any], ...] = ()
    model: str | None = None
    stream: bool = False
    metadata_only: bool = False
    instance_ids: tuple[str, ...] = ()


def rewrite_query(text: str) -> str:
    """The stand-in query rewrite (module docstring); ``text`` if it has no content words."""
    return " ".join(dict.fromkeys(content_terms(text))) or text


class _Fields:
    """Typed reads of one JSON object; errors name the field by its path."""

    def __init__(self, data: Any, path: str = "") -> None:
        if data is not None and not isinstance(data, Mapping):
            raise _bad(f"{path.rstrip('.')}: expected an object")
        self.data: Mapping[str, Any] = data or {}
        self.path = path

    def _bad(self, name: str, expected: str) -> EmulatorError:
        value = self.data.get(name)
        return _bad(f"{self.path}{name}: expected {expected}, got {_shown(value)}")

    def obj(self, name: str) -> _Fields:
        return _Fields(self.data.get(name), f"{self.path}{name}.")

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.data.get(name, default)
        finite = isinstance(value, (int, float)) and math.isfinite(value)
        if isinstance(value, bool) or not finite or not low <= value <= high:
            raise self._bad(name, f"a number from {low:g} to {high:g}")
        return float(value)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.data.get(name, default)
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole or not low <= value <= high:
            raise self._bad(name, f"a whole number from {low} to {high}")
        return int(value)

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise self._bad(name, "a non-empty string" if required else "a string")
        return value

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self.data.get(name, default)
        if value not in options:
            raise self._bad(name, "one of " + ", ".join(repr(o) for o in options))
        return str(value)


def _bad(message: str) -> EmulatorError:
    return EmulatorError(400, BAD_FIELD, message)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _conditions(value: Any, legacy: bool) -> tuple[Any, ...]:
    if value is None:
        return ()
    try:
        return parse_filter(legacy_to_vectorize(value) if legacy else value)
    except FilterError as exc:
        where = "filters" if legacy else "ai_search_options.retrieval.filters"
        raise EmulatorError(400, BAD_FILTER, f"{where}: invalid filter: {exc}") from exc


# -- legacy AutoRAG (§3.2) -------------------------------------------------------------------
def legacy_request(body: Mapping[str, Any]) -> SearchRequest:
    """A legacy ``search`` / ``ai-search`` body (``model``, ``system_prompt`` and ``stream``
    matter to ``ai-search`` only, and are checked on both)."""
    fields = _Fields(body)
    question = fields.string("query", required=True) or ""
    model = fields.string("model") or None
    fields.string("system_prompt")  # the stand-in answer does not use it
    rewrite = fields.boolean("rewrite_query", False)
    ranking = fields.obj("ranking_options")
    ranking.string("ranker")
    reranking = fields.obj("reranking")
    reranking.choice("model", "", LEGACY_RERANKERS)
    retrieval = Retrieval(
        query=rewrite_query(question) if rewrite else question,
        match_threshold=ranking.number("score_threshold", 0.0, 0.0, 1.0),
        max_num_results=fields.integer("max_num_results", 10, 1, MAX_RESULTS),
        conditions=_conditions(body.get("filters"), legacy=True),
        rerank=reranking.boolean("enabled", False),
    )
    return SearchRequest(
        question=question,
        retrieval=retrieval,
        messages=({"role": "user", "content": question},),
        model=model,
        stream=fields.boolean("stream", False),
    )


# -- AI Search (§3.3) ------------------------------------------------------------------------
def new_request(body: Mapping[str, Any], *, chat: bool, multi: bool) -> SearchRequest:
    """A ``search`` or ``chat/completions`` body; ``multi``: a cross-instance one, which must
    name ``ai_search_options.instance_ids``."""
    fields = _Fields(body)
    messages, question = _question(body, chat)
    options = fields.obj("ai_search_options")
    retrieval = _retrieval(options, question)
    return SearchRequest(
        question=question,
        retrieval=retrieval,
        messages=messages,
        model=fields.string("model") or None,
        stream=fields.boolean("stream", False),
        metadata_only=options.obj("retrieval").boolean("metadata_only", False),
        instance_ids=_instance_ids(options) if multi else (),
    )


def _question(body: Mapping[str, Any], chat: bool) -> tuple[tuple[Mapping[str, Any], ...], str]:
    """The conversation and the question: the last user message with text, or ``query``."""
    has_query, has_messages = "query" in body, "messages" in body
    if chat and not has_messages:
        raise _bad("messages: required (a list of {role, content})")
    if not chat and has_query == has_messages:
        raise _bad("give exactly one of query and messages")
    if not has_messages:
        question = _Fields(body).string("query", required=True) or ""
        return ({"role": "user", "content": question},), question
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise _bad(f"messages: expected a non-empty list of messages, got {_shown(messages)}")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise _bad(f"{where}: expected an object with role and content")
        _Fields(message, f"{where}.").choice("role", "", ROLES)
        if message.get("content") is not None and not isinstance(message["content"], str):
            raise _bad(f"{where}.content: expected a string or null")
    asked = [m["content"] for m in messages if m["role"] == "user" and (m.get("content") or "")]
    asked = [text for text in asked if text.strip()]
    if not asked:
        raise _bad("messages: at least one user message with non-empty content is required")
    return tuple(messages), asked[-1]


def _retrieval(options: _Fields, question: str) -> Retrieval:
    settings = options.obj("retrieval")
    settings.boolean("return_on_failure", True)
    rewrite = options.obj("query_rewrite")
    rewrite.string("model")
    rewrite.string("rewrite_prompt")
    reranking = options.obj("reranking")
    reranking.string("model")
    cache = options.obj("cache")
    cache.boolean("enabled", False)
    cache.choice("cache_threshold", CACHE_THRESHOLDS[0], CACHE_THRESHOLDS)
    rewritten = rewrite_query(question) if rewrite.boolean("enabled", False) else question
    return Retrieval(
        query=rewritten,
        retrieval_type=settings.choice("retrieval_type", "vector", RETRIEVAL_TYPES),
        fusion_method=settings.choice("fusion_method", "rrf", FUSION_METHODS),
        keyword_match_mode=settings.choice("keyword_match_mode", "or", KEYWORD_MODES),
        match_threshold=settings.number("match_threshold", NEW_MATCH_THRESHOLD, 0.0, 1.0),
        max_num_results=settings.integer("max_num_results", 10, 1, MAX_RESULTS),
        conditions=_conditions(settings.data.get("filters"), legacy=False),
        context_expansion=settings.integer("context_expansion", 0, 0, MAX_CONTEXT_EXPANSION),
        boost_by=_boosts(settings),
        rerank=reranking.boolean("enabled", False),
        rerank_threshold=reranking.number("match_threshold", NEW_RERANK_THRESHOLD, 0.0, 1.0),
    )


def _boosts(settings: _Fields) -> tuple[tuple[str, str], ...]:
    raw = settings.data.get("boost_by")
    if raw is None:
        return ()
    where = f"{settings.path}boost_by"
    if not isinstance(raw, list) or len(raw) > MAX_BOOSTS:
        raise _bad(f"{where}: expected a list of at most {MAX_BOOSTS} {{field, direction}}")
    boosts: list[tuple[str, str]] = []
    for index, entry in enumerate(raw):
        fields = _Fields(entry, f"{where}[{index}].")
        name = fields.string("field", required=True) or ""
        boosts.append((name, fields.choice("direction", "desc", BOOST_DIRECTIONS)))
    return tuple(boosts)


def _instance_ids(options: _Fields) -> tuple[str, ...]:
    raw = options.data.get("instance_ids")
    names = raw if isinstance(raw, list) else []
    if not 1 <= len(names) <= MAX_INSTANCE_IDS or not all(isinstance(i, str) and i for i in names):
        raise _bad(
            f"{options.path}instance_ids: required on cross-instance routes, a list of 1 to "
            f"{MAX_INSTANCE_IDS} instance names, got {_shown(raw)}"
        )
    return tuple(dict.fromkeys(names))
