"""AI Search (formerly AutoRAG) in the emulator: both route families (platform spec §3).

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §3 (and §2.5 for the new routes'
filters). Routes (under ``/client/v4/accounts/{account}``; route kinds in
:data:`workers_ai.emulator.routing.AI_SEARCH_ROUTES`):

- ``autorag_search``: ``POST /autorag/rags/{id}/search``
- ``autorag_ai_search``: ``POST /autorag/rags/{id}/ai-search``
- ``ai_search_search``: ``POST /ai-search/instances/{name}/search`` and
  ``POST /ai-search/namespaces/{namespace}/instances/{name}/search``
- ``ai_search_chat``: ``POST /ai-search/instances/{name}/chat/completions`` and
  ``POST /ai-search/namespaces/{namespace}/instances/{name}/chat/completions``
- ``ai_search_multi_search``: ``POST /ai-search/namespaces/{namespace}/search``
- ``ai_search_multi_chat``: ``POST /ai-search/namespaces/{namespace}/chat/completions``

The bare ``instances/{name}`` path serves namespace ``default``; a legacy AutoRAG id is the
name of an instance in ``default`` (one corpus, both families). Instances and their chunks:
:mod:`workers_ai.emulator.ai_search_corpus`; request bodies:
:mod:`workers_ai.emulator.ai_search_requests`; retrieval:
:mod:`workers_ai.emulator.ai_search_retrieval`.

Answers (§3.4): legacy ``search`` / ``ai-search`` in the v4 envelope as
``vector_store.search_results.page`` with one ``data`` item per file (best file first; its
``score`` is its best chunk's, ``content`` its retrieved chunks best first; ``attributes``
``modified_date`` (ms), ``folder`` and the file's custom metadata); new ``search`` in the
envelope as ``{search_query, chunks}``; ``chat/completions`` without the envelope, an OpenAI
``chat.completion`` with ``usage`` and ``chunks``. Cross-instance answers tag chunks with
``instance_id`` and list unknown instances in ``errors`` (``[{"instance_id", "message"}]``).

Generated answers are **stand-ins**: :func:`~workers_ai.emulator.grounded.grounded_answer`
quotes the retrieved sentence sharing the most words with the question ("According to the
context: ..."; for a context too short for it, the emulator picks that sentence itself);
with no chunk past the thresholds the answer is :data:`NO_RESULTS_ANSWER` and ``chunks`` /
``data`` are empty (§3.4 leaves this output open). Usage counts the conversation and the
retrieved text as prompt tokens (the stand-in tokenizer).

Streams (``"stream": true``): the new routes send ``event: chunks`` with the chunks array,
``chat.completion.chunk`` events of a few words, a last one with ``finish_reason`` and
``usage``, then ``data: [DONE]``; legacy ``ai-search`` sends Workers AI's
``data: {"response": "..."}`` events then ``data: [DONE]`` (no sources), as §3.2 says.
A cross-instance stream carries no ``errors`` (the format has no place for them).

Error codes (§3.5 leaves them open; the emulator's choices), all in the v4 failure envelope:

=====  ===========================================================================
41000  404: no such instance / AutoRAG / namespace
41001  400: the body is not a JSON object
41002  400: a field missing, of the wrong type or out of range (message names it)
41003  400: an invalid filter in either syntax (message names the key or rule)
=====  ===========================================================================

Control route: ``GET /__emulator/ai-search`` lists ``namespace/name`` of each instance;
``POST`` adds one (``{"name", "namespace"?, "files", "model"?}``); ``DELETE`` forgets those
added at run time (as ``reset`` does; configured instances stay).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workers_ai.emulator import jsonbody
from workers_ai.emulator.ai_search_corpus import (
    DEFAULT_MODEL,
    DEFAULT_NAMESPACE,
    AiSearchStore,
    Instance,
    parse_instance,
)
from workers_ai.emulator.ai_search_requests import (
    BAD_BODY,
    NOT_FOUND,
    SearchRequest,
    legacy_request,
    new_request,
)
from workers_ai.emulator.ai_search_retrieval import Hit, search
from workers_ai.emulator.grounded import grounded_answer
from workers_ai.emulator.responses import Request, Response, error_response, json_response
from workers_ai.emulator.routing import Route
from workers_ai.emulator.shapes import sse_frame, stream_pieces
from workers_ai.emulator.standins import content_terms, content_to_text, count_tokens
from workers_ai.emulator.validation import EmulatorError

__all__ = ["NO_RESULTS_ANSWER", "answer", "control"]

#: The answer when no chunk passes the thresholds (§3.4: "no response is generated").
NO_RESULTS_ANSWER = "No relevant documents were found to answer this question."
#: Stand-in tokens per streamed content event.
_TOKENS_PER_EVENT = 4
_CREATED_BASE = 1_750_000_000
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n{2,}")

Handler = Callable[[AiSearchStore, Route, Request], Response]


def answer(store: AiSearchStore, route: Route, request: Request) -> Response:
    """The answer of an AI Search route (``route.kind`` in ``AI_SEARCH_ROUTES``)."""
    try:
        return _HANDLERS[route.kind](store, route, request)
    except EmulatorError as exc:
        return error_response(exc.status, exc.code, exc.message)


def _json_body(request: Request) -> Mapping[str, Any]:
    try:
        body = jsonbody.loads(request.body) if request.body.strip() else None
    except ValueError as exc:
        raise EmulatorError(400, BAD_BODY, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise EmulatorError(400, BAD_BODY, "the body must be a JSON object")
    return body


def _instance(store: AiSearchStore, namespace: str, name: str, legacy: bool = False) -> Instance:
    found = store.get(namespace, name)
    if found is not None:
        return found
    if legacy:
        raise EmulatorError(404, NOT_FOUND, f"AutoRAG not found: there is no AutoRAG {name!r}")
    if not store.has_namespace(namespace):
        raise EmulatorError(404, NOT_FOUND, f"AI Search namespace {namespace!r} not found")
    raise EmulatorError(
        404, NOT_FOUND, f"AI Search instance {name!r} not found in namespace {namespace!r}"
    )


# -- legacy AutoRAG (§3.2) -------------------------------------------------------------------
def _autorag(store: AiSearchStore, route: Route, request: Request, generate: bool) -> Response:
    instance = _instance(store, DEFAULT_NAMESPACE, route.instance or "", legacy=True)
    wanted = legacy_request(_json_body(request))
    hits = search(instance, wanted.retrieval)
    result: dict[str, Any] = {
        "object": "vector_store.search_results.page",
        "search_query": wanted.retrieval.query,
    }
    if generate:
        text = _answer_text(wanted.question, hits)
        if wanted.stream:
            pieces = stream_pieces(text, _TOKENS_PER_EVENT)
            return Response(200, None, frames=[sse_frame({"response": p}) for p in pieces])
        result["response"] = text
    result.update(data=_files_to_wire(hits), has_more=False, next_page=None)
    return json_response(result)


def _autorag_search(store: AiSearchStore, route: Route, request: Request) -> Response:
    return _autorag(store, route, request, generate=False)


def _autorag_ai_search(store: AiSearchStore, route: Route, request: Request) -> Response:
    return _autorag(store, route, request, generate=True)


def _files_to_wire(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """One ``data`` item per file, in order of its best chunk (hits come best first)."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.chunk.file.id, []).append(hit)
    data: list[dict[str, Any]] = []
    for group in groups.values():
        file = group[0].chunk.file
        attributes = {"modified_date": file.timestamp, "folder": file.folder, **file.metadata}
        content = [{"id": h.chunk.id, "type": "text", "text": h.text} for h in group]
        data.append(
            {
                "file_id": file.id,
                "filename": file.key,
                "score": group[0].score,
                "attributes": attributes,
                "content": content,
            }
        )
    return data


# -- AI Search (§3.3, §3.4) ------------------------------------------------------------------
def _search(store: AiSearchStore, route: Route, request: Request) -> Response:
    instance = _instance(store, route.namespace or DEFAULT_NAMESPACE, route.instance or "")
    wanted = new_request(_json_body(request), chat=False, multi=False)
    hits = search(instance, wanted.retrieval)
    chunks = [_chunk_to_wire(hit, wanted.metadata_only) for hit in hits]
    return json_response({"search_query": wanted.retrieval.query, "chunks": chunks})


def _chat(store: AiSearchStore, route: Route, request: Request) -> Response:
    instance = _instance(store, route.namespace or DEFAULT_NAMESPACE, route.instance or "")
    wanted = new_request(_json_body(request), chat=True, multi=False)
    hits = search(instance, wanted.retrieval)
    return _completion(wanted, hits, wanted.model or instance.model)


def _multi(
    store: AiSearchStore, route: Route, request: Request, chat: bool
) -> tuple[SearchRequest, list[Hit], list[dict[str, str]], str]:
    """A cross-instance request: its hits (tagged, best first), errors and model."""
    namespace = route.namespace or DEFAULT_NAMESPACE
    if not store.has_namespace(namespace):
        raise EmulatorError(404, NOT_FOUND, f"AI Search namespace {namespace!r} not found")
    wanted = new_request(_json_body(request), chat=chat, multi=True)
    hits: list[Hit] = []
    errors: list[dict[str, str]] = []
    model = wanted.model
    for name in wanted.instance_ids:
        instance = store.get(namespace, name)
        if instance is None:
            message = f"AI Search instance {name!r} not found in namespace {namespace!r}"
            errors.append({"instance_id": name, "message": message})
            continue
        model = model or instance.model
        hits += search(instance, wanted.retrieval)
    hits.sort(key=lambda hit: -hit.sort_score)  # stable: ties keep the instances' order
    hits = hits[: wanted.retrieval.max_num_results]
    return wanted, hits, errors, model or DEFAULT_MODEL


def _multi_search(store: AiSearchStore, route: Route, request: Request) -> Response:
    wanted, hits, errors, _ = _multi(store, route, request, chat=False)
    chunks = [_chunk_to_wire(hit, wanted.metadata_only, tagged=True) for hit in hits]
    result: dict[str, Any] = {"search_query": wanted.retrieval.query, "chunks": chunks}
    if errors:
        result["errors"] = errors
    return json_response(result)


def _multi_chat(store: AiSearchStore, route: Route, request: Request) -> Response:
    wanted, hits, errors, model = _multi(store, route, request, chat=True)
    return _completion(wanted, hits, model, errors, tagged=True)


def _chunk_to_wire(hit: Hit, metadata_only: bool, tagged: bool = False) -> dict[str, Any]:
    file = hit.chunk.file
    item: dict[str, Any] = {"key": file.key, "timestamp": file.timestamp}
    if file.metadata:
        item["metadata"] = dict(file.metadata)
    chunk: dict[str, Any] = {
        "id": hit.chunk.id,
        "type": "text",
        "score": hit.score,
        "text": "" if metadata_only else hit.text,
        "item": item,
        "scoring_details": hit.details,
    }
    if tagged:
        chunk["instance_id"] = hit.instance
    return chunk


# -- generation ------------------------------------------------------------------------------
def _answer_text(question: str, hits: Sequence[Hit]) -> str:
    """The stand-in answer (module docstring)."""
    if not hits:
        return NO_RESULTS_ANSWER
    context = "\n\n".join(hit.text for hit in hits)
    quoted = grounded_answer(f"Query: {question}", [context])
    if quoted is not None:
        return quoted
    # grounded_answer wants a longer context; quote the closest sentence ourselves
    wanted = set(content_terms(question))
    sentences = [s for hit in hits for s in _SENTENCE_END.split(hit.text.strip()) if s.strip()]
    best = max(sentences, key=lambda s: (len(wanted & set(content_terms(s))), -sentences.index(s)))
    return f"According to the context: {' '.join(best.split())}"


def _completion(
    wanted: SearchRequest,
    hits: Sequence[Hit],
    model: str,
    errors: Sequence[dict[str, str]] = (),
    tagged: bool = False,
) -> Response:
    text = _answer_text(wanted.question, hits)
    chunks = [_chunk_to_wire(hit, wanted.metadata_only, tagged) for hit in hits]
    prompt = sum(count_tokens(content_to_text(m.get("content"))) for m in wanted.messages)
    prompt += sum(count_tokens(hit.text) for hit in hits)
    completion = count_tokens(text)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    seed = _seed(model, wanted, hits)
    created = _CREATED_BASE + seed % 40_000_000
    if wanted.stream:
        return _chat_stream(chunks, text, model, usage, created, seed)
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
    }
    body: dict[str, Any] = {
        "id": f"chatcmpl-{seed:016x}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": usage,
        "chunks": chunks,
    }
    if errors:
        body["errors"] = list(errors)
    return json_response(body, wrap=False)


def _seed(model: str, wanted: SearchRequest, hits: Sequence[Hit]) -> int:
    """Ids and dates derive from the request and what it found (the same answer each time)."""
    blob = json.dumps([model, list(wanted.messages), [h.chunk.id for h in hits]], default=str)
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")


def _chat_stream(
    chunks: list[dict[str, Any]],
    text: str,
    model: str,
    usage: dict[str, int],
    created: int,
    seed: int,
) -> Response:
    """§3.4's framing: ``event: chunks``, content chunks, the finish chunk with usage
    (``data: [DONE]`` is added by the server)."""
    base = {
        "id": f"id-{created * 1000 + seed % 1000}",
        "created": created,
        "model": model,
        "object": "chat.completion.chunk",
    }
    array = json.dumps(chunks, separators=(",", ":"), ensure_ascii=False)
    frames = [sse_frame(array, name="chunks")]
    for piece in stream_pieces(text, _TOKENS_PER_EVENT):
        frames.append(sse_frame({**base, "choices": [{"index": 0, "delta": {"content": piece}}]}))
    last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    frames.append(sse_frame({**base, "choices": [last], "usage": usage}))
    return Response(200, None, frames=frames)


# -- control ---------------------------------------------------------------------------------
def control(store: AiSearchStore, request: Request) -> Response:
    """``/__emulator/ai-search``: GET lists, POST (or PUT) adds an instance, DELETE forgets the
    instances added at run time."""
    action = _CONTROL.get(request.method)
    if action is None:
        return error_response(400, 7000, "No route for that URI")
    try:
        return json_response(action(store, request), wrap=False)
    except EmulatorError as exc:
        return error_response(exc.status, exc.code, exc.message)


def _list_instances(store: AiSearchStore, _: Request) -> dict[str, Any]:
    return {"instances": store.names()}


def _forget_instances(store: AiSearchStore, _: Request) -> dict[str, Any]:
    store.reset()
    return {"ok": True}


def _add_instance(store: AiSearchStore, request: Request) -> dict[str, Any]:
    try:
        payload = jsonbody.loads(request.body or b"{}")
        if not isinstance(payload, dict) or "name" not in payload:
            raise ValueError('send {"name": ..., "files": {...}, "namespace"?, "model"?}')
        spec = {k: v for k, v in payload.items() if k != "name"}
        instance = parse_instance(payload["name"], spec)
    except ValueError as exc:
        raise EmulatorError(400, 5006, f"Bad AI Search instance: {exc}") from exc
    store.add(instance)
    return {"added": f"{instance.namespace}/{instance.name}"}


_CONTROL: dict[str, Callable[[AiSearchStore, Request], dict[str, Any]]] = {
    "GET": _list_instances,
    "DELETE": _forget_instances,
    "POST": _add_instance,
    "PUT": _add_instance,
}

_HANDLERS: dict[str, Handler] = {
    "autorag_search": _autorag_search,
    "autorag_ai_search": _autorag_ai_search,
    "ai_search_search": _search,
    "ai_search_chat": _chat,
    "ai_search_multi_search": _multi_search,
    "ai_search_multi_chat": _multi_chat,
}
