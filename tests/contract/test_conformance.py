"""Conformance of the emulator's wire format with the documented Workers AI examples.

Every request/response example of ``../shared/workers-ai-api.md`` (the offline API spec) and
of ``../shared/reference/real-responses/langchain-cloudflare/`` (data derived from real calls)
is transcribed into :data:`CASES`. Each case is sent to a running emulator with plain
``httpx`` (not this package's client, so the wire format itself is under test) and the answer
is compared with the documented example by **structure**, not by value:

* same JSON types (int and float are both "number"; ``null`` in the documentation accepts
  anything; :class:`OneOf` lists documented alternatives);
* every key of a documented object is present in the answer (extra keys are allowed; the
  SSE padding key ``p`` may be absent, and is a string when present);
* lists: an empty documented list accepts any list; a documented list whose elements all have
  the same structure requires every answered element to have it; a mixed documented list
  (e.g. model ``properties``, Responses ``output``) requires each documented element to match
  some answered element;
* the v4 envelope (``result``/``success``/``errors``/``messages``) and HTTP status as
  documented (spec §1, §9), or no envelope for OpenAI-compatible routes and streams;
* SSE (spec §3): ``text/event-stream``, every event a single ``data: <json>\\n\\n`` frame, the
  last one ``data: [DONE]``, and the documented events appear in the stream in order (the
  last documented event is the last event before ``[DONE]`` when the spec says so).

Cases the emulator cannot serve are kept and marked ``xfail(strict=True)`` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from workers_ai.emulator import EmulatorServer

# ---------------------------------------------------------------------------------------------
# Structural comparison
# ---------------------------------------------------------------------------------------------


class OneOf:
    """A documented value with alternatives (e.g. failure ``result``: ``null | {}``)."""

    def __init__(self, *options: Any) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"OneOf{self.options!r}"


class Null:
    """A documented ``null`` that must stay ``null`` (a plain ``None`` accepts any value)."""

    def __repr__(self) -> str:
        return "NULL"


NULL = Null()
PADDING_KEYS = frozenset({"p"})  # spec §3: random-length padding, may vary


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, OneOf):
        return "oneof"
    if isinstance(value, Null):
        return "strict-null"
    raise TypeError(f"not a JSON value: {value!r}")


def _signature(value: Any) -> Any:
    """A hashable description of a documented value's structure."""
    kind = _kind(value)
    if kind == "object":
        return tuple(sorted((key, _signature(item)) for key, item in value.items()))
    if kind == "array":
        return ("array", _signature(value[0]) if value else None)
    if kind == "oneof":
        return ("oneof", tuple(_signature(option) for option in value.options))
    return kind


def assert_same_structure(documented: Any, actual: Any, path: str = "$") -> None:
    """Assert ``actual`` has the structure of the ``documented`` example (see module doc)."""
    kind = _kind(documented)
    if kind == "null":
        return
    if kind == "strict-null":
        assert actual is None, f"{path}: documented null, got {actual!r:.200}"
        return
    if kind == "oneof":
        failures = []
        for option in documented.options:
            try:
                assert_same_structure(option, actual, path)
            except AssertionError as exc:
                failures.append(str(exc))
            else:
                return
        raise AssertionError(f"{path}: matches none of {documented!r}: {failures}")
    actual_kind = _kind(actual)
    assert actual_kind == kind, f"{path}: documented {kind}, got {actual_kind} ({actual!r:.200})"
    if kind == "object":
        for key, item in documented.items():
            if key in PADDING_KEYS and key not in actual:
                continue
            assert key in actual, f"{path}: documented key {key!r} missing (has {sorted(actual)})"
            assert_same_structure(item, actual[key], f"{path}.{key}")
    elif kind == "array" and documented:
        assert actual, f"{path}: documented a non-empty list, got []"
        if len({_signature(item) for item in documented}) == 1:
            for index, item in enumerate(actual):
                assert_same_structure(documented[0], item, f"{path}[{index}]")
        else:
            for doc_index, item in enumerate(documented):
                errors = []
                for candidate in actual:
                    try:
                        assert_same_structure(item, candidate, f"{path}[*]")
                    except AssertionError as exc:
                        errors.append(str(exc))
                    else:
                        break
                else:
                    raise AssertionError(
                        f"{path}: documented element #{doc_index} matches no element: {errors}"
                    )


def _matches(documented: Any, actual: Any) -> bool:
    try:
        assert_same_structure(documented, actual)
    except AssertionError:
        return False
    return True


def test_assert_same_structure_rules() -> None:
    """The comparison itself: types, keys, lists, numbers, nulls, padding, alternatives."""
    assert _matches({"a": 1, "b": [0.5]}, {"a": 2.5, "b": [1, 2], "extra": True})
    assert _matches({"a": None}, {"a": {"anything": []}})
    assert _matches({"p": "pad", "r": "x"}, {"r": "y"})
    assert _matches({"e": []}, {"e": [{"x": 1}]})
    assert _matches(OneOf(NULL, {}), None)
    assert _matches(OneOf(NULL, {}), {"x": 1})
    assert _matches(
        [{"k": "a", "v": "1"}, {"k": "b", "v": [1]}], [{"k": "b", "v": [2]}, {"k": "c", "v": "9"}]
    )
    assert not _matches({"a": 1}, {"b": 1})
    assert not _matches({"a": 1}, {"a": True})
    assert not _matches({"a": "1"}, {"a": 1})
    assert not _matches({"p": "pad"}, {"p": 3})
    assert not _matches([{"id": 0}], [{"id": 0}, {"other": 1}])
    assert not _matches([1], [])
    assert not _matches([{"k": "a", "v": "1"}, {"k": "b", "v": [1]}], [{"k": "c", "v": "9"}])
    assert not _matches(OneOf(NULL, {}), [])
    assert not _matches(NULL, 0)


# ---------------------------------------------------------------------------------------------
# The table of documented examples
# ---------------------------------------------------------------------------------------------

LLAMA31 = "@cf/meta/llama-3.1-8b-instruct"
LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
VISION = "@cf/meta/llama-3.2-11b-vision-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
MISTRAL = "@cf/mistralai/mistral-small-3.1-24b-instruct"
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"
QWQ = "@cf/qwen/qwq-32b"
DEEPSEEK = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
GPT_OSS = "@cf/openai/gpt-oss-120b"
GLM = "@cf/zai-org/glm-4.7-flash"
NEMOTRON = "@cf/nvidia/nemotron-3-120b-a12b"
KIMI = "@cf/moonshotai/kimi-k2.5"
BGE_SMALL = "@cf/baai/bge-small-en-v1.5"
BGE_BASE = "@cf/baai/bge-base-en-v1.5"
BGE_LARGE = "@cf/baai/bge-large-en-v1.5"
BGE_M3 = "@cf/baai/bge-m3"
GEMMA_EMB = "@cf/google/embeddinggemma-300m"
QWEN3_EMB = "@cf/qwen/qwen3-embedding-0.6b"
RERANKER = "@cf/baai/bge-reranker-base"
M2M = "@cf/meta/m2m100-1.2b"
WHISPER = "@cf/openai/whisper"
WHISPER_TURBO = "@cf/openai/whisper-large-v3-turbo"
RESNET = "@cf/microsoft/resnet-50"
DETR = "@cf/facebook/detr-resnet-50"
DISTILBERT = "@cf/huggingface/distilbert-sst-2-int8"
BART = "@cf/facebook/bart-large-cnn"
LLAVA = "@cf/llava-hf/llava-1.5-7b-hf"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
MELOTTS = "@cf/myshell-ai/melotts"

GATEWAY = "conformance-gw"
GATEWAY_TOKEN = "gateway-secret"
DONE = "[DONE]"
CACHE_STATUS = ("HIT", "MISS")


def run(model: str) -> str:
    """Path of ``POST /accounts/{account_id}/ai/run/{model}`` (model keeps its slashes)."""
    return f"/client/v4/accounts/{{account}}/ai/run/{model}"


def api(rest: str) -> str:
    return f"/client/v4/accounts/{{account}}/{rest}"


def gateway(rest: str) -> str:
    """Path on ``gateway.ai.cloudflare.com``: ``/v1/{account_id}/{gateway_id}/{rest}``."""
    return f"/v1/{{account}}/{GATEWAY}/{rest}"


def ok(result: Any) -> dict[str, Any]:
    """The documented success envelope (spec §1) around ``result``."""
    return {"result": result, "success": True, "errors": [], "messages": []}


def failure(code: int, message: str = "AiError: ...") -> dict[str, Any]:
    """The documented failure envelope (spec §1, §9): ``result`` is ``null | {}``."""
    return {
        "result": OneOf(NULL, {}),
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
    }


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


USAGE = {"prompt_tokens": 86, "completion_tokens": 171, "total_tokens": 257}

# spec §4 request shapes (the result example has latitude and longitude, so both are declared)
WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "latitude": {"type": "string", "description": "lat"},
        "longitude": {"type": "string", "description": "long"},
    },
    "required": ["latitude", "longitude"],
}
WEATHER_TOOL_LEGACY = {
    "name": "getWeather",
    "description": "Return the weather for a lat/long",
    "parameters": WEATHER_PARAMS,
}
WEATHER_TOOL_OPENAI = {"type": "function", "function": WEATHER_TOOL_LEGACY}
WEATHER_QUESTION = user("What is the weather at latitude 51.5 and longitude -0.12 in London?")
LOCATION_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
        },
    },
}
LOCATION_QUESTION = user("What is the weather in London?")

# reference docs/chat.ipynb: the LangChain tutorial's tools as langchain-cloudflare sends them
VALIDATE_USER_TOOL = {
    "type": "function",
    "function": {
        "name": "validate_user",
        "description": "Validate user using historical addresses.",
        "parameters": {
            "type": "object",
            "properties": {
                "user_id": {"type": "integer", "description": "(int) the user ID."},
                "addresses": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "(List[str]) Previous addresses as a list of strings.",
                },
            },
            "required": ["user_id", "addresses"],
        },
    },
}
ADDRESSES_AS_STRING = '["123 Fake St in Boston MA", "234 Pretend Boulevard in Houston TX"]'
JOKE_TOOL = {
    "type": "function",
    "function": {
        "name": "joke",
        "description": "Joke to tell user.",
        "parameters": {
            "type": "object",
            "properties": {
                "setup": {"type": "string", "description": "The setup of the joke"},
                "punchline": {"type": "string", "description": "The punchline to the joke"},
                "rating": {"type": "integer", "description": "How funny the joke is, from 1 to 10"},
            },
            "required": ["setup", "punchline"],
        },
    },
}

# spec §6 native embeddings response; "..." of the example dropped
EMBEDDINGS = {"shape": [2, 768], "data": [[0.012, -0.034]], "pooling": "cls"}
RERANKED = {"response": [{"id": 0, "score": 0.98}]}
CONTEXTS = [{"text": "Paris is the capital of France."}, {"text": "Berlin is in Germany."}]

# spec §2b
CLASSIC = {"response": "Generated text", "tool_calls": [], "usage": USAGE}
CHAT_COMPLETION = {
    "id": "chatcmpl-ef1d...",
    "object": "chat.completion",
    "created": 1751560708,
    "model": QWEN3,
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "stop_reason": None,
            "logprobs": None,
            "message": {
                "role": "assistant",
                "content": "A cow is ...",
                "reasoning_content": "Okay, ...",
                "tool_calls": [],
            },
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
}
RESPONSES = {
    "id": "id-1763094420786",
    "object": "response",
    "created_at": 1763094420,
    "model": GPT_OSS,
    "output": [
        {
            "type": "reasoning",
            "id": "rs_...",
            "content": [{"type": "reasoning_text", "text": "..."}],
        },
        {
            "type": "message",
            "id": "msg_...",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Generated text"}],
        },
    ],
    "status": "completed",
    "usage": {"input_tokens": 7, "output_tokens": 1231, "total_tokens": 1238},
}
# OpenAI-standard bodies (spec §1 [R5]; field details "assumed OpenAI-standard", open question 4)
OPENAI_COMPLETION = {
    "id": "chatcmpl-...",
    "object": "chat.completion",
    "created": 1751560708,
    "model": LLAMA31,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
}
OPENAI_EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.012, -0.034]}],
    "model": BGE_LARGE,
    "usage": {"prompt_tokens": 4, "total_tokens": 4},
}
SEARCH_ITEM = {
    "id": "7a143886-...",
    "source": 1,
    "name": LLAMA33,
    "description": "...",
    "task": {"id": "c329a1f9-...", "name": "Text Generation", "description": "..."},
    "tags": [],
    "properties": [
        {"property_id": "context_window", "value": "24000"},
        {"property_id": "function_calling", "value": "true"},
        {
            "property_id": "price",
            "value": [{"unit": "per M input tokens", "price": 0.29, "currency": "USD"}],
        },
    ],
}


# -- extra documented facts (beyond structure) -------------------------------------------------
def _result(body: Any) -> Any:
    return body["result"] if isinstance(body, dict) and "result" in body else body


def check_shape_matches_data(dims: int) -> Callable[[Any], None]:
    """spec §6: ``shape`` is ``[len(data), dims]`` (dims from the §6 table / reference)."""

    def check(body: Any) -> None:
        result = _result(body)
        data = result["data"]
        assert result["shape"] == [len(data), dims], result["shape"]
        assert all(len(row) == dims for row in data)

    return check


def check_dims(dims: int) -> Callable[[Any], None]:
    """reference text_embedding.ipynb: ``result.data`` rows of ``dims`` floats."""

    def check(body: Any) -> None:
        assert [len(row) for row in _result(body)["data"]] == [dims] * len(_result(body)["data"])

    return check


def check_rerank_sorted(top_k: int | None, contexts: int) -> Callable[[Any], None]:
    """spec §7: sorted best first, ``id`` indexes ``contexts``, at most ``top_k`` items."""

    def check(body: Any) -> None:
        items = _result(body)["response"]
        scores = [item["score"] for item in items]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= item["id"] < contexts for item in items)
        assert len(items) == (min(top_k, contexts) if top_k else contexts)

    return check


def check_think_tags(body: Any) -> None:
    """spec §5: chain of thought inline, ``</think>`` present, opening ``<think>`` missing."""
    text = _result(body)["response"]
    assert "</think>" in text and not text.lstrip().startswith("<think>"), text


def check_search_has(name: str, prop: str | None = None, value: str | None = None) -> Any:
    """spec §1 / reference: the search returns ``name`` (with ``prop`` = ``value``)."""

    def check(body: Any) -> None:
        items = {item["name"]: item for item in body["result"]}
        assert name in items, sorted(items)
        if prop is not None:
            props = {p["property_id"]: p["value"] for p in items[name]["properties"]}
            assert props.get(prop) == value, props

    return check


def check_json_schemas(body: Any) -> None:
    """spec §1: ``result.input`` and ``result.output`` are JSON Schemas."""
    for part in ("input", "output"):
        schema = body["result"][part]
        assert {"type", "oneOf", "anyOf", "properties", "items"} & set(schema), schema


def check_status(*allowed: str) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        assert _result(body)["status"] in allowed, _result(body)

    return check


@dataclass(frozen=True)
class Case:
    """One documented example.

    ``path`` is relative to the emulator root with ``{account}`` filled in; ``expected`` is the
    documented JSON body, ``sse`` the documented event payloads (JSON strings and ``[DONE]``).
    """

    id: str
    source: str
    method: str
    path: str
    body: Any = None
    expected: Any = None
    sse: tuple[str, ...] | None = None
    status: int | tuple[int, ...] = 200
    envelope: bool = True
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    expect_headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    error_code: int | None = None
    token: str | None = None
    account: str | None = None
    absent: tuple[str, ...] = ()
    check: Callable[[Any], None] | None = None
    queue_first: dict[str, Any] | None = None
    poll_until_done: bool = False
    repeat: int = 1
    sse_last: bool = True
    server: str = "default"
    marks: tuple[Any, ...] = ()


def gap(reason: str) -> tuple[Any, ...]:
    return (pytest.mark.xfail(strict=True, reason=f"emulator gap: {reason}"),)


def bug(reason: str) -> tuple[Any, ...]:
    return (pytest.mark.xfail(strict=True, reason=f"BUG: {reason}"),)


CASES: list[Case] = [
    # -- §1 REST endpoints, envelope --------------------------------------------------------
    Case(
        id="s1-success-envelope",
        source="spec §1 success envelope [R1]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "Where did the phrase Hello World come from"},
        expected=ok({"response": "Hello, World first appeared in 1974 ..."}),
    ),
    Case(
        id="s1-failure-envelope",
        source="spec §1 failure envelope (5006 body of §9)",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": ""},
        status=400,
        error_code=5006,
        expected=failure(5006, "AiError: Bad input: ..."),
    ),
    Case(
        id="s1-models-search-result-item",
        source="spec §1 model search result item [R2]",
        method="GET",
        path=api("ai/models/search"),
        params={"search": "llama-3.3-70b-instruct-fp8-fast"},
        expected=ok([SEARCH_ITEM]),
        check=check_search_has(LLAMA33, "function_calling", "true"),
    ),
    Case(
        id="s1-models-search-result-info",
        source="spec §1 model search example with result_info [R2][obs R32]",
        method="GET",
        path=api("ai/models/search"),
        params={"search": "llama-3.3-70b-instruct-fp8-fast", "page": "1", "per_page": "100"},
        expected={
            **ok([SEARCH_ITEM]),
            "result_info": {"count": 1, "page": 1, "per_page": 100, "total_count": 105},
        },
    ),
    Case(
        id="s1-models-search-task-reranker",
        source="spec §1 task names: Text Classification holds the reranker [R2][R3]",
        method="GET",
        path=api("ai/models/search"),
        params={"task": "Text Classification"},
        expected=ok([{**SEARCH_ITEM, "properties": [], "name": RERANKER}]),
        check=check_search_has(RERANKER),
    ),
    Case(
        id="s1-models-schema",
        source="spec §1 model schema: result {input: <JSON Schema>, output: <JSON Schema>} [R31]",
        method="GET",
        path=api("ai/models/schema"),
        params={"model": LLAMA31},
        expected=ok({"input": {}, "output": {}}),
        check=check_json_schemas,
    ),
    Case(
        id="s1-openai-chat-completions",
        source="spec §1 OpenAI chat route [R5]; reference observed: bare chat.completion",
        method="POST",
        path=api("ai/v1/chat/completions"),
        body={"model": LLAMA31, "messages": user("Say hello")},
        expected=OPENAI_COMPLETION,
        envelope=False,
    ),
    Case(
        id="s1-session-affinity-cached-tokens",
        source="spec §1 x-session-affinity -> usage.prompt_tokens_details.cached_tokens [R27]",
        method="POST",
        path=run(KIMI),
        body={"messages": user("Summarise the history of the Hello World program")},
        headers={"x-session-affinity": "conformance-session-1"},
        repeat=2,
        expected=ok({"usage": {**USAGE, "prompt_tokens_details": {"cached_tokens": 64}}}),
    ),
    # -- §2 input forms / JSON mode -----------------------------------------------------------
    Case(
        id="s2-json-mode-object-response",
        source="spec §2 JSON mode: response is an object [R7]",
        method="POST",
        path=run(LLAMA31),
        body={
            "messages": user("Tell me about India: its name, capital and languages."),
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "capital": {"type": "string"},
                        "languages": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["name", "capital", "languages"],
                },
            },
        },
        expected=ok(
            {
                "response": {
                    "name": "India",
                    "capital": "New Delhi",
                    "languages": ["Hindi", "English"],
                }
            }
        ),
    ),
    Case(
        id="s2-vision-data-uri",
        source="spec §2 messages content parts with a data-URI image_url [R6]",
        method="POST",
        path=run(VISION),
        body={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                        },
                    ],
                }
            ]
        },
        expected=ok(CLASSIC),
    ),
    Case(
        id="s2-vision-http-url-rejected",
        source="spec §2 HTTP image URLs are rejected; data URIs only [R6]",
        method="POST",
        path=run(VISION),
        body={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    ],
                }
            ]
        },
        status=400,
        expected=failure(5006),
    ),
    # -- §2b output shapes --------------------------------------------------------------------
    Case(
        id="s2b-classic-shape",
        source="spec §2b classic shape [R6][R8]",
        method="POST",
        path=run(LLAMA31),
        body={"messages": user("Tell me about cows")},
        expected=ok(CLASSIC),
    ),
    Case(
        id="s2b-chat-completion-shape-qwen3",
        source="spec §2b chat-completion shape inside result (qwen3) [R6]",
        method="POST",
        path=run(QWEN3),
        body={"messages": user("Tell me about cows")},
        expected=ok(CHAT_COMPLETION),
    ),
    Case(
        id="s2b-chat-completion-shape-gpt-oss-messages",
        source="spec §2b chat-completion shape: gpt-oss with messages input [R6]",
        method="POST",
        path=run(GPT_OSS),
        body={"messages": user("Tell me about cows")},
        expected=ok({**CHAT_COMPLETION, "model": GPT_OSS}),
    ),
    Case(
        id="s2b-qwen3-text-completion-variant",
        source="spec §2b qwen3 text_completion variant (choices[].text) for prompt input [R6]",
        method="POST",
        path=run(QWEN3),
        body={"prompt": "Tell me about cows"},
        expected=ok({"choices": [{"text": "A cow is ..."}], "usage": CHAT_COMPLETION["usage"]}),
    ),
    Case(
        id="s2b-responses-shape-run",
        source="spec §2b Responses shape: gpt-oss with input/instructions on /ai/run [R8][R4]",
        method="POST",
        path=run(GPT_OSS),
        body={
            "input": "What is the origin of the phrase Hello, World?",
            "instructions": "You are a concise assistant.",
            "reasoning": {"effort": "low", "summary": "auto"},
        },
        expected=ok(RESPONSES),
    ),
    Case(
        id="s2b-responses-shape-v1",
        source="spec §1/§2b Responses shape on /ai/v1/responses (bare) [R5][R29]",
        method="POST",
        path=api("ai/v1/responses"),
        body={"model": GPT_OSS, "input": "What is the origin of the phrase Hello, World?"},
        expected=RESPONSES,
        envelope=False,
    ),
    # -- §3 streaming -------------------------------------------------------------------------
    Case(
        id="s3-classic-sse",
        source="spec §3 classic SSE stream with p padding and final usage event [R8][obs R9]",
        method="POST",
        path=run(LLAMA31),
        body={"messages": user("Say hello there"), "stream": True},
        sse=(
            '{"response":"Hello","p":"abdefgh"}',
            '{"response":" there","p":"abdefgh"}',
            '{"response":"","usage":{"prompt_tokens":10,"completion_tokens":50,"total_tokens":60}}',
            DONE,
        ),
    ),
    Case(
        id="s3-openai-backed-mixed-stream",
        source="spec §3 OpenAI-backed mixed stream over /ai/run ending with native usage [obs R9]",
        method="POST",
        path=run(QWEN3),
        body={"messages": user("Let me hear about cows"), "stream": True},
        sse=(
            '{"id":"chatcmpl-...","object":"chat.completion.chunk","choices":[{"index":0,'
            '"delta":{"reasoning_content":"Let"},"finish_reason":null}]}',
            '{"choices":[{"delta":{"content":"Here"}}],"response":"Here","tool_calls":[]}',
            '{"choices":[{"delta":{},"finish_reason":"stop","index":0}],'
            '"usage":{"prompt_tokens":0,"completion_tokens":0}}',
            '{"response":"","usage":{"prompt_tokens":175,"completion_tokens":17,'
            '"total_tokens":192,"neurons":3.15}}',
            DONE,
        ),
        sse_last=True,
    ),
    Case(
        id="s3-native-streamed-tool-call",
        source="spec §3 native streamed tool call then finish_reason tool_calls [client R14]",
        method="POST",
        path=run(SCOUT),
        body={"messages": LOCATION_QUESTION, "tools": [LOCATION_TOOL], "stream": True},
        sse=(
            '{"tool_calls":[{"id":"call123","type":"function","index":0,"function":'
            '{"name":"get_weather","arguments":"{\\"location\\": \\"London\\"}"}}]}',
            '{"finish_reason":"tool_calls"}',
            DONE,
        ),
        sse_last=False,
    ),
    Case(
        id="s3-openai-streamed-tool-call",
        source="spec §3 OpenAI-form streamed tool call: delta.tool_calls[] fragments by index",
        method="POST",
        path=run(QWEN3),
        body={"messages": LOCATION_QUESTION, "tools": [LOCATION_TOOL], "stream": True},
        sse=(
            '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"chatcmpl-tool-abc",'
            '"function":{"name":"get_weather","arguments":""}}]}}]}',
            '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
            '"function":{"arguments":"{\\"location\\""}}]}}]}',
            '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
            DONE,
        ),
        sse_last=False,
    ),
    Case(
        id="s3-v1-chat-completions-stream",
        source="spec §3 /ai/v1/chat/completions stream: chat.completion.chunk events + [DONE]",
        method="POST",
        path=api("ai/v1/chat/completions"),
        body={"model": LLAMA31, "messages": user("Say hello"), "stream": True},
        sse=(
            '{"id":"chatcmpl-...","object":"chat.completion.chunk","created":1751560708,'
            f'"model":"{LLAMA31}","choices":[{{"index":0,"delta":{{"content":"Hello"}},'
            '"finish_reason":null}]}',
            '{"id":"chatcmpl-...","object":"chat.completion.chunk","choices":[{"index":0,'
            '"delta":{},"finish_reason":"stop"}]}',
            DONE,
        ),
    ),
    Case(
        id="s3-gpt-oss-stream-comes-back-as-json",
        source="spec §3 gpt-oss stream:true on /ai/run comes back as JSON [client R12]",
        method="POST",
        path=run(GPT_OSS),
        body={"messages": user("Say hello"), "stream": True},
        expected=ok({}),
    ),
    Case(
        id="s3-stream-starts-with-error-event",
        source="spec §3 a stream can start with an error event (3040) [obs R9]",
        method="POST",
        path=run(LLAMA31),
        body={"messages": user("Say hello"), "stream": True},
        headers={"x-emulator-fault": "stream_error;after=0"},
        sse=('{"errors":[{"code":3040,"message":"Capacity exceeded"}]}',),
    ),
    # -- §4 tool calling ------------------------------------------------------------------------
    Case(
        id="s4-legacy-tool-call-flat-tool",
        source="spec §4 legacy result: object arguments, no id (flat tool shape) [R17][R6]",
        method="POST",
        path=run(LLAMA33),
        body={"messages": WEATHER_QUESTION, "tools": [WEATHER_TOOL_LEGACY]},
        expected=ok(
            {
                "tool_calls": [
                    {"name": "getWeather", "arguments": {"latitude": "51.5", "longitude": "-0.12"}}
                ]
            }
        ),
        absent=("result.tool_calls.0.id",),
    ),
    Case(
        id="s4-legacy-tool-call-openai-tool",
        source="spec §4 legacy result for the {type: function, function} tool shape [R3][R6]",
        method="POST",
        path=run(LLAMA33),
        body={"messages": WEATHER_QUESTION, "tools": [WEATHER_TOOL_OPENAI]},
        expected=ok(
            {
                "tool_calls": [
                    {"name": "getWeather", "arguments": {"latitude": "51.5", "longitude": "-0.12"}}
                ]
            }
        ),
        absent=("result.tool_calls.0.id",),
    ),
    Case(
        id="s4-llama4-scout-tool-call",
        source="spec §2b/§4 llama-4-scout: classic, tool_calls {id, type, function{object args}}",
        method="POST",
        path=run(SCOUT),
        body={"messages": WEATHER_QUESTION, "tools": [WEATHER_TOOL_OPENAI]},
        expected=ok(
            {
                "response": None,
                "tool_calls": [
                    {
                        "id": "...",
                        "type": "function",
                        "function": {
                            "name": "getWeather",
                            "arguments": {"latitude": "51.5", "longitude": "-0.12"},
                        },
                    }
                ],
            }
        ),
    ),
    Case(
        id="s4-chat-completion-tool-calls",
        source="spec §4 chat-completion tool calls: string arguments with id [R6][client R14]",
        method="POST",
        path=run(QWEN3),
        body={"messages": LOCATION_QUESTION, "tools": [LOCATION_TOOL]},
        expected=ok(
            {
                "choices": [
                    {
                        "finish_reason": "tool_calls",
                        "message": {
                            "tool_calls": [
                                {
                                    "id": "chatcmpl-tool-abc",
                                    "type": "function",
                                    "function": {
                                        "name": "get_weather",
                                        "arguments": '{"location": "London"}',
                                    },
                                }
                            ]
                        },
                    }
                ]
            }
        ),
    ),
    Case(
        id="s4-send-tool-results-back",
        source="spec §4 sending results back (assistant tool_calls + tool message) [R17]",
        method="POST",
        path=run(LLAMA33),
        body={
            "messages": [
                {"role": "user", "content": "Weather in London?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call123",
                            "type": "function",
                            "function": {
                                "name": "getWeather",
                                "arguments": '{"latitude":"51.5"}',
                            },
                        }
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": "call123",
                    "name": "getWeather",
                    "content": '{"temp":12}',
                },
            ],
            "tools": [WEATHER_TOOL_LEGACY],
        },
        expected=ok(CLASSIC),
    ),
    # -- §5 reasoning -------------------------------------------------------------------------
    Case(
        id="s5-deepseek-r1-inline-think",
        source="spec §5 deepseek-r1: classic, reasoning inline, '</think>' without '<think>'",
        method="POST",
        path=run(DEEPSEEK),
        body={"messages": user("Why is the sky blue?")},
        expected=ok(CLASSIC),
        check=check_think_tags,
    ),
    Case(
        id="s5-qwq-inline-think",
        source="spec §5 qwq-32b: classic, reasoning inline, '</think>' without '<think>'",
        method="POST",
        path=run(QWQ),
        body={"messages": user("Why is the sky blue?")},
        expected=ok(CLASSIC),
        check=check_think_tags,
    ),
    # -- §6 embeddings --------------------------------------------------------------------------
    Case(
        id="s6-embeddings-native",
        source="spec §6 native bge request/response (shape/data/pooling) [R21]",
        method="POST",
        path=run(BGE_BASE),
        body={"text": ["first passage", "second passage"], "pooling": "cls"},
        expected=ok(EMBEDDINGS),
        check=check_shape_matches_data(768),
    ),
    Case(
        id="s6-embeddinggemma",
        source="spec §6 table embeddinggemma: {text} -> {data, shape} [R21]",
        method="POST",
        path=run(GEMMA_EMB),
        body={"text": "first passage"},
        expected=ok({"shape": [1, 768], "data": [[0.012, -0.034]]}),
        check=check_shape_matches_data(768),
    ),
    Case(
        id="s6-qwen3-embedding",
        source="spec §6 table qwen3-embedding: queries/documents/instruction -> {data, shape}",
        method="POST",
        path=run(QWEN3_EMB),
        body={"queries": ["capital of France?"], "documents": ["Paris is the capital."]},
        expected=ok({"shape": [2, 1024], "data": [[0.012, -0.034]]}),
        check=check_shape_matches_data(1024),
    ),
    Case(
        id="s6-bge-m3-query-contexts",
        source="spec §6 bge-m3 query+contexts -> response [{id, score}] [R21]",
        method="POST",
        path=run(BGE_M3),
        body={"query": "capital of France?", "contexts": CONTEXTS},
        expected=ok({"response": [{"id": 0, "score": 0.74}]}),
    ),
    Case(
        id="s6-bge-m3-contexts-only",
        source="spec §6 bge-m3 contexts without query -> {response: [[...]], shape, pooling}",
        method="POST",
        path=run(BGE_M3),
        body={"contexts": CONTEXTS},
        expected=ok({"response": [[0.012, -0.034]], "shape": [2, 1024], "pooling": "mean"}),
    ),
    Case(
        id="s6-openai-embeddings",
        source="spec §6 /ai/v1/embeddings {model, input} -> OpenAI list (fields assumed) [R5]",
        method="POST",
        path=api("ai/v1/embeddings"),
        body={"model": BGE_LARGE, "input": "I love matcha"},
        expected=OPENAI_EMBEDDINGS,
        envelope=False,
    ),
    # -- §7 reranker ----------------------------------------------------------------------------
    Case(
        id="s7-reranker",
        source="spec §7 bge-reranker-base request/response, top_k [R21][client R13]",
        method="POST",
        path=run(RERANKER),
        body={"query": "capital of France?", "contexts": CONTEXTS, "top_k": 1},
        expected=ok(RERANKED),
        check=check_rerank_sorted(1, len(CONTEXTS)),
    ),
    # -- §8 other tasks (Stable Diffusion: tests/contract/test_tasks_vision.py) ---------------
    Case(
        id="s8-translation",
        source="spec §8 translation m2m100 -> translated_text [R6][R24]",
        method="POST",
        path=run(M2M),
        body={"text": "I love programming.", "source_lang": "en", "target_lang": "fr"},
        expected=ok({"translated_text": "..."}),
    ),
    Case(
        id="s8-asr-whisper-json-audio",
        source="spec §8 ASR whisper {audio: [u8]} -> text, word_count, words, vtt [R24][R6]",
        method="POST",
        path=run(WHISPER),
        body={"audio": [82, 73, 70, 70, 36, 0, 0, 0, 87, 65, 86, 69]},
        expected=ok(
            {
                "text": "...",
                "word_count": 6,
                "words": [{"word": "The", "start": 0.0, "end": 0.2}],
                "vtt": "WEBVTT...",
            }
        ),
    ),
    Case(
        id="s8-asr-whisper-raw-bytes",
        source="spec §1/§8 ASR whisper with the raw audio file as body (--data-binary) [R24]",
        method="POST",
        path=run(WHISPER),
        body=b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00",
        expected=ok({"text": "...", "word_count": 6, "vtt": "WEBVTT..."}),
    ),
    Case(
        id="s8-asr-whisper-large-v3-turbo",
        source="spec §8 whisper-large-v3-turbo {audio: base64} -> segments, transcription_info",
        method="POST",
        path=run(WHISPER_TURBO),
        body={"audio": "UklGRiQAAABXQVZFZm10IBAAAAABAAEA", "task": "transcribe"},
        expected=ok(
            {
                "text": "...",
                "word_count": 6,
                "segments": [{"start": 0.0, "end": 1.0, "text": "...", "words": []}],
                "transcription_info": {
                    "language": "en",
                    "language_probability": 0.9,
                    "duration": 1.0,
                    "duration_after_vad": 1.0,
                },
                "vtt": "WEBVTT...",
            }
        ),
    ),
    Case(
        id="s8-image-classification",
        source="spec §8 resnet-50 {image: [u8]} -> [{label, score}] [R6]",
        method="POST",
        path=run(RESNET),
        body={"image": [137, 80, 78, 71, 13, 10, 26, 10]},
        expected=ok([{"label": "EGYPTIAN CAT", "score": 0.8}]),
    ),
    Case(
        id="s8-object-detection",
        source="spec §8 detr-resnet-50 {image} -> [{score, label, box{xmin..ymax}}] [R6]",
        method="POST",
        path=run(DETR),
        body={"image": [137, 80, 78, 71, 13, 10, 26, 10]},
        expected=ok(
            [
                {
                    "score": 0.99,
                    "label": "cat",
                    "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4},
                }
            ]
        ),
    ),
    Case(
        id="s8-text-classification",
        source="spec §8 distilbert-sst-2 {text} -> [{label, score}] [R6]",
        method="POST",
        path=run(DISTILBERT),
        body={"text": "I love this library"},
        expected=ok([{"label": "POSITIVE", "score": 0.99}]),
    ),
    Case(
        id="s8-summarization",
        source="spec §8 bart-large-cnn {input_text, max_length} -> {summary} [R6]",
        method="POST",
        path=run(BART),
        body={
            "input_text": "Workers AI runs models on Cloudflare's network. It has many models.",
            "max_length": 20,
        },
        expected=ok({"summary": "..."}),
    ),
    Case(
        id="s8-image-to-text",
        source="spec §8 llava-1.5-7b {image, prompt, max_tokens} -> {description} [R6]",
        method="POST",
        path=run(LLAVA),
        body={"image": [137, 80, 78, 71], "prompt": "Describe the image", "max_tokens": 64},
        expected=ok({"description": "..."}),
    ),
    Case(
        id="s8-text-to-image-flux",
        source="spec §8 flux-1-schnell {prompt, steps} -> {image: base64} [R6]",
        method="POST",
        path=run(FLUX),
        body={"prompt": "a cyberpunk lizard", "steps": 4},
        expected=ok({"image": "<base64 jpeg>"}),
    ),
    Case(
        id="s8-text-to-speech",
        source="spec §8 melotts {prompt, lang} -> {audio: base64} [R6]",
        method="POST",
        path=run(MELOTTS),
        body={"prompt": "Hello world", "lang": "en"},
        expected=ok({"audio": "<base64>"}),
    ),
    # -- §9 errors --------------------------------------------------------------------------------
    Case(
        id="s9-10000-authentication",
        source="spec §9 10000 401/403 Authentication error [obs R39]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "hi"},
        token="not-the-token",
        status=(401, 403),
        error_code=10000,
        expected=failure(10000, "Authentication error"),
    ),
    Case(
        id="s9-7003-account",
        source="spec §9 7003 404 Could not route to ... object identifier is invalid [obs R39]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "hi"},
        account="0000000000000000000000000000dead",
        status=404,
        error_code=7003,
        expected=failure(7003, "Could not route to /client/v4/accounts/..., perhaps ..."),
    ),
    Case(
        id="s9-7000-no-route",
        source="spec §9 7000 400 No route for that URI [obs R39]",
        method="POST",
        path=api("ai/no-such-route"),
        body={"prompt": "hi"},
        status=400,
        error_code=7000,
        expected=failure(7000, "No route for that URI"),
    ),
    Case(
        id="s9-5007-unknown-model-run",
        source="spec §9 5007 400 No such model or task [R25]",
        method="POST",
        path=run("@cf/acme/no-such-model"),
        body={"prompt": "hi"},
        status=400,
        error_code=5007,
        expected=failure(5007, "No such model or task"),
    ),
    Case(
        id="s9-5007-unknown-model-schema",
        source="spec §9 5007 on GET /ai/models/schema for an unknown model [R25][R31]",
        method="GET",
        path=api("ai/models/schema"),
        params={"model": "@cf/acme/no-such-model"},
        status=400,
        error_code=5007,
        expected=failure(5007, "No such model or task"),
    ),
    Case(
        id="s9-5006-bad-input",
        source="spec §9 5006 400 schema validation: oneOf at '/' not met [obs R37]",
        method="POST",
        path=run(LLAMA31),
        body={"temperature": 0.5},
        status=400,
        error_code=5006,
        expected=failure(5006, "AiError: Bad input: Error: oneOf at '/' not met, ..."),
    ),
    Case(
        id="s9-5005-lora-unsupported",
        source="spec §9 5005 405 Model does not support LoRA [R25][R18]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "hi", "lora": "my-finetune"},
        status=405,
        error_code=5005,
        expected=failure(5005),
    ),
    Case(
        id="s9-3003-missing-body",
        source="spec §9 3003 400 Request missing headers or body [R25]",
        method="POST",
        path=run(LLAMA31),
        body=b"",
        status=400,
        error_code=3003,
        expected=failure(3003),
    ),
    Case(
        id="s9-3006-too-large",
        source="spec §9 3006 413 Request too large (numeric cap unknown; > 10 MB here) [R25]",
        method="POST",
        path=run(LLAMA31),
        body=lambda: b'{"prompt": "' + b"a" * 10_000_100 + b'"}',
        status=413,
        error_code=3006,
        expected=failure(3006),
    ),
    Case(
        id="s9-3040-capacity",
        source="spec §9 3040 429 Capacity temporarily exceeded (rejectIfBusy) [R28]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "hi", "options": {"rejectIfBusy": True}},
        headers={"x-emulator-fault": "capacity"},
        status=429,
        error_code=3040,
        expected=failure(3040, "Capacity temporarily exceeded, please try again."),
    ),
    Case(
        id="s9-3021-rate-limit",
        source="spec §9 3021 429 rate limiting: inference request per min rate reached [R38]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "hi"},
        headers={"x-emulator-fault": "rate_limit"},
        status=429,
        error_code=3021,
        expected=failure(3021, "rate limiting: inference request per min rate reached"),
    ),
    Case(
        id="s9-3036-daily-allocation",
        source="spec §9 3036 429 daily free allocation used up [R25]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "hi"},
        headers={"x-emulator-fault": "quota"},
        status=429,
        error_code=3036,
        expected=failure(3036),
    ),
    Case(
        id="s9-2009-gateway-token",
        source="spec §9 AI Gateway error {success:false, error:[{code,message}]}, 2009 [obs R39]",
        method="POST",
        path=gateway(f"workers-ai/{LLAMA31}"),
        body={"prompt": "hi"},
        headers={"cf-aig-authorization": "Bearer wrong"},
        status=401,
        envelope=False,
        expected={"success": False, "error": [{"code": 2009, "message": "Unauthorized"}]},
        server="gateway_token",
    ),
    # -- §10 async batch ------------------------------------------------------------------------
    Case(
        id="s10-batch-ack",
        source="spec §10 queueRequest=true send + ack [R10]",
        method="POST",
        path=run(LLAMA33),
        params={"queueRequest": "true"},
        body={
            "requests": [
                {"prompt": "Tell me a joke", "external_reference": "ref1", "max_tokens": 100},
                {"prompt": "Tell me a story", "external_reference": "ref2"},
            ]
        },
        expected=ok(
            {
                "status": "queued",
                "request_id": "768f15b7-4fd6-4498-906e-ad94ffc7f8d2",
                "model": BGE_M3,
            }
        ),
        check=check_status("queued"),
    ),
    Case(
        id="s10-batch-pending-poll",
        source="spec §10 poll {request_id} while pending -> {status queued|running, request_id}",
        method="POST",
        path=run(BGE_M3),
        queue_first={"requests": [{"query": "capital of France?", "contexts": CONTEXTS}]},
        body={"request_id": "{request_id}"},
        expected=ok({"status": "queued", "request_id": "768f15b7-..."}),
        check=check_status("queued", "running"),
    ),
    Case(
        id="s10-batch-done",
        source="spec §10 poll when done: HTTP 200 with responses + usage [R10]",
        method="POST",
        path=run(BGE_M3),
        params={"queueRequest": "true"},
        queue_first={
            "requests": [
                {"query": "capital of France?", "contexts": CONTEXTS, "external_reference": "ref1"}
            ]
        },
        body={"request_id": "{request_id}"},
        poll_until_done=True,
        expected=ok(
            {
                "responses": [
                    {
                        "id": 0,
                        "success": True,
                        "external_reference": "ref1",
                        "result": {"response": [{"id": 0, "score": 0.7397}]},
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 0, "total_tokens": 12},
            }
        ),
    ),
    Case(
        id="s10-batch-done-llm",
        source="spec §10 poll when done for an LLM batch (result per request) [R10]",
        method="POST",
        path=run(LLAMA33),
        queue_first={
            "requests": [
                {"prompt": "Tell me a joke", "external_reference": "ref1", "max_tokens": 100},
                {"prompt": "Tell me a story", "external_reference": "ref2"},
            ]
        },
        body={"request_id": "{request_id}"},
        poll_until_done=True,
        expected=ok(
            {
                "responses": [
                    {"id": 0, "success": True, "external_reference": "ref1", "result": {}}
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 0, "total_tokens": 12},
            }
        ),
    ),
    # -- §11 AI Gateway -------------------------------------------------------------------------
    Case(
        id="s11-gateway-provider-native",
        source="spec §11 .../{gateway}/workers-ai/{model}, body as /ai/run [R26]",
        method="POST",
        path=gateway(f"workers-ai/{LLAMA31}"),
        body={"prompt": "Say hello"},
        expected=ok(CLASSIC),
        expect_headers={"cf-aig-cache-status": CACHE_STATUS, "cf-aig-log-id": ()},
    ),
    Case(
        id="s11-gateway-run-prefix",
        source="spec §11 .../{gateway}/workers-ai/run/{model} (official REST shim) [client R12]",
        method="POST",
        path=gateway(f"workers-ai/run/{LLAMA31}"),
        body={"prompt": "Say hello"},
        expected=ok(CLASSIC),
        expect_headers={"cf-aig-cache-status": CACHE_STATUS},
    ),
    Case(
        id="s11-gateway-cache-hit",
        source="spec §11 cf-aig-cache-ttl then cf-aig-cache-status: HIT [R26]",
        method="POST",
        path=gateway(f"workers-ai/{LLAMA31}"),
        body={"prompt": "Say hello"},
        headers={"cf-aig-cache-ttl": "60"},
        repeat=2,
        expected=ok(CLASSIC),
        expect_headers={"cf-aig-cache-status": ("HIT",)},
    ),
    Case(
        id="s11-gateway-openai-chat",
        source="spec §11 .../{gateway}/workers-ai/v1/chat/completions [R26]",
        method="POST",
        path=gateway("workers-ai/v1/chat/completions"),
        body={"model": LLAMA31, "messages": user("Say hello")},
        expected=OPENAI_COMPLETION,
        envelope=False,
        expect_headers={"cf-aig-cache-status": CACHE_STATUS},
    ),
    Case(
        id="s11-gateway-openai-embeddings",
        source="spec §11 .../{gateway}/workers-ai/v1/embeddings [R26]",
        method="POST",
        path=gateway("workers-ai/v1/embeddings"),
        body={"model": BGE_LARGE, "input": "I love matcha"},
        expected=OPENAI_EMBEDDINGS,
        envelope=False,
        expect_headers={"cf-aig-cache-status": CACHE_STATUS},
    ),
    Case(
        id="s11-gateway-unified-compat",
        source="spec §11 unified .../{gateway}/compat/chat/completions, model workers-ai/@cf/..",
        method="POST",
        path=gateway("compat/chat/completions"),
        body={"model": f"workers-ai/{LLAMA31}", "messages": user("Say hello")},
        expected={**OPENAI_COMPLETION, "model": None},
        envelope=False,
        expect_headers={"cf-aig-cache-status": CACHE_STATUS},
    ),
    Case(
        id="s11-gateway-universal",
        source="spec §11 universal POST .../v1/{account}/{gateway} fallback chain [R26]",
        method="POST",
        path=f"/v1/{{account}}/{GATEWAY}",
        body=[
            {
                "provider": "workers-ai",
                "endpoint": LLAMA31,
                "headers": {"Content-Type": "application/json"},
                "query": {"prompt": "Say hello"},
                "config": {"requestTimeout": 1000, "maxAttempts": 2},
            }
        ],
        expected=ok(CLASSIC),
        expect_headers={"cf-aig-cache-status": CACHE_STATUS},
    ),
    Case(
        id="s11-unified-rest-gateway-header",
        source="spec §1/§11 api.cloudflare.com /ai/run + header cf-aig-gateway-id [R26]",
        method="POST",
        path=run(LLAMA31),
        body={"prompt": "Say hello"},
        headers={"cf-aig-gateway-id": "default"},
        expected=ok(CLASSIC),
        expect_headers={"cf-aig-cache-status": CACHE_STATUS},
    ),
    # -- reference: langchain-cloudflare real-API-derived data ------------------------------------
    Case(
        id="ref-chat-invoke-usage",
        source="reference docs/chat.ipynb cell 10: invoke -> result.response + usage",
        method="POST",
        path=run(LLAMA33),
        body={
            "messages": [
                {
                    "role": "system",
                    "content": "You are a helpful assistant that translates English to French. "
                    "Translate the user sentence.",
                },
                {"role": "user", "content": "I love programming."},
            ],
            "temperature": 1e-08,
            "max_tokens": 1024,
        },
        expected=ok(
            {
                "response": "J'adore la programmation.",
                "usage": {"prompt_tokens": 37, "completion_tokens": 9, "total_tokens": 46},
            }
        ),
    ),
    Case(
        id="ref-chat-tool-call-validate-user",
        source="reference docs/chat.ipynb cell 17: validate_user(user_id: int, addresses: list)",
        method="POST",
        path=run(LLAMA33),
        body={
            "messages": user(
                "Could you validate user 123? They previously lived at 123 Fake St in Boston MA "
                "and 234 Pretend Boulevard in Houston TX."
            ),
            "tools": [VALIDATE_USER_TOOL],
            "temperature": 1e-08,
            "max_tokens": 1024,
        },
        # the real API returned "123" and a JSON-encoded string (args not type-coerced); the
        # tool schema's own types (int, list of str) are the other documented possibility
        expected=ok(
            {
                "tool_calls": [
                    {
                        "name": "validate_user",
                        "arguments": {
                            "user_id": OneOf("123", 123),
                            "addresses": OneOf(ADDRESSES_AS_STRING, ["123 Fake St in Boston MA"]),
                        },
                    }
                ],
                "usage": USAGE,
            }
        ),
        absent=("result.tool_calls.0.id",),
    ),
    Case(
        id="ref-chat-structured-output-joke",
        source="reference docs/chat.ipynb cell 15: structured output via function calling",
        method="POST",
        path=run(LLAMA33),
        body={
            "messages": user("Tell me a joke about cats"),
            "tools": [JOKE_TOOL],
            "temperature": 1e-08,
            "max_tokens": 1024,
        },
        expected=ok(
            {
                "tool_calls": [
                    {
                        "name": "joke",
                        "arguments": {
                            "setup": "Why did the cat join a band?",
                            "punchline": "Because it wanted to be the purr-cussionist",
                            "rating": OneOf("8", 8),
                        },
                    }
                ]
            }
        ),
        absent=("result.tool_calls.0.id",),
    ),
    Case(
        id="ref-streamed-usage-with-neurons",
        source="reference inline-values.json streamed_usage_with_neurons single_chunk_usage",
        method="POST",
        path=run(LLAMA33),
        body={"messages": user("Say hi"), "stream": True},
        sse=(
            '{"usage":{"prompt_tokens":39,"completion_tokens":1,"total_tokens":40,'
            '"neurons":0.204805}}',
            DONE,
        ),
    ),
    Case(
        id="ref-streamed-usage-per-chunk",
        source="reference inline-values.json streamed_usage_with_neurons two_chunk_usage_sequence",
        method="POST",
        path=run(LLAMA33),
        body={"messages": user("Say hi"), "stream": True},
        headers={"x-emulator-usage": "per-chunk"},  # opt-in; the default is §3's final event
        sse=(
            '{"usage":{"prompt_tokens":39,"completion_tokens":0,"total_tokens":39,"neurons":1.04}}',
            '{"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1,"neurons":0.2048}}',
            DONE,
        ),
    ),
    Case(
        id="ref-reranker-binding-response",
        source="reference inline-values.json reranker_binding_response (REST: inside result)",
        method="POST",
        path=run(RERANKER),
        body={
            "query": "Workers AI",
            "contexts": [
                {"text": "Vectorize is a vector database."},
                {"text": "D1 is a SQL database."},
                {"text": "Workers AI runs models."},
            ],
        },
        expected=ok(
            {
                "response": [{"id": 2, "score": 0.999}, {"id": 0, "score": 0.998}],
                "usage": {"prompt_tokens": 8785, "completion_tokens": 0, "total_tokens": 8785},
            }
        ),
        check=check_rerank_sorted(None, 3),
    ),
    Case(
        id="ref-text-embedding-bge-small",
        source="reference docs/text_embedding.ipynb: {text: [..]} -> result.data, 384 dims",
        method="POST",
        path=run(BGE_SMALL),
        body={"text": ["test1", "test2", "test3"]},
        expected=ok({"data": [[-0.033660888671875, 0.039764404296875, 0.03558349609375]]}),
        check=check_dims(384),
    ),
    Case(
        id="ref-native-shape-newer-model-glm",
        source="reference observed 'native /ai/run response shapes': chat.completion in result",
        method="POST",
        path=run(GLM),
        body={"messages": LOCATION_QUESTION, "tools": [LOCATION_TOOL]},
        expected=ok(
            {
                "choices": [
                    {
                        "message": {
                            "content": None,
                            "reasoning_content": None,
                            "tool_calls": [
                                {
                                    "id": "...",
                                    "type": "function",
                                    "function": {"name": "get_weather", "arguments": "{}"},
                                }
                            ],
                        }
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
            }
        ),
    ),
    Case(
        id="ref-reasoning-field-nemotron",
        source="reference observed 'reasoning field names': Nemotron uses message.reasoning",
        method="POST",
        path=run(NEMOTRON),
        body={"messages": user("Why is the sky blue?")},
        expected=ok({"choices": [{"message": {"content": "...", "reasoning": "..."}}]}),
    ),
    Case(
        id="ref-reasoning-field-kimi",
        source="reference observed 'reasoning field names': Kimi uses message.reasoning_content",
        method="POST",
        path=run(KIMI),
        body={"messages": user("Why is the sky blue?")},
        expected=ok({"choices": [{"message": {"content": "...", "reasoning_content": "..."}}]}),
    ),
    Case(
        id="ref-openai-endpoint-bare",
        source="reference observed 'OpenAI-compatible endpoint': no result envelope",
        method="POST",
        path=api("ai/v1/chat/completions"),
        body={"model": QWEN3, "messages": user("Say hello")},
        expected={"choices": [{"message": {"content": "..."}}], "model": QWEN3},
        envelope=False,
    ),
    Case(
        id="ref-openai-endpoint-stream",
        source="reference observed: stream emits {choices:[{delta:{content}}], model} + [DONE]",
        method="POST",
        path=api("ai/v1/chat/completions"),
        body={"model": QWEN3, "messages": user("Say hello"), "stream": True},
        sse=(f'{{"choices":[{{"delta":{{"content":"Hi"}}}}],"model":"{QWEN3}"}}', DONE),
        sse_last=False,
    ),
    Case(
        id="ref-dynamic-route-7000",
        source="reference observed 'dynamic routes': /ai/run/dynamic/<route> -> 400 code 7000",
        method="POST",
        path=run("dynamic/my-route"),
        body={"messages": user("Say hello")},
        status=400,
        error_code=7000,
        expected=failure(7000, "No route for that URI"),
    ),
    Case(
        id="ref-mistral-tool-choice-400",
        source="reference observed 'mistral-small-3.1 tool_choice' -> HTTP 400 (spec §2 too)",
        method="POST",
        path=run(MISTRAL),
        body={
            "messages": WEATHER_QUESTION,
            "tools": [WEATHER_TOOL_OPENAI],
            "tool_choice": "auto",
        },
        status=400,
        expected=failure(5006),
    ),
    Case(
        id="ref-models-search-deprecation",
        source="reference observed: models/search properties.planned_deprecation_date (kimi)",
        method="GET",
        path=api("ai/models/search"),
        params={"search": "kimi-k2.5"},
        expected=ok(
            [
                {
                    **SEARCH_ITEM,
                    "name": KIMI,
                    "properties": [
                        *SEARCH_ITEM["properties"],
                        {"property_id": "planned_deprecation_date", "value": "2026-05-30"},
                    ],
                }
            ]
        ),
        check=check_search_has(KIMI, "planned_deprecation_date", "2026-05-30"),
    ),
]


# ---------------------------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_emulator(workers_ai_emulator: EmulatorServer) -> None:
    workers_ai_emulator.reset()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def gateway_token_emulator() -> Iterator[EmulatorServer]:
    """A second emulator whose AI Gateway requires ``cf-aig-authorization``."""
    with EmulatorServer(gateway_token=GATEWAY_TOKEN) as server:
        yield server


def _fill(value: Any, request_id: str | None) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, request_id) for key, item in value.items()}
    if value == "{request_id}" and request_id is not None:
        return request_id
    return value


def _send(
    http: httpx.Client, server: EmulatorServer, case: Case, body: Any, params: dict[str, str]
) -> httpx.Response:
    account = case.account or server.account_id
    headers = {"Authorization": f"Bearer {case.token or server.api_token}", **case.headers}
    content: bytes
    if isinstance(body, bytes):
        content = body
        if body:
            headers.setdefault("Content-Type", "application/octet-stream")
    else:
        content = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    url = server.root_url + case.path.format(account=account)
    return http.request(case.method, url, params=params, headers=headers, content=content)


def _exchange(http: httpx.Client, server: EmulatorServer, case: Case) -> httpx.Response:
    request_id = None
    if case.queue_first is not None:
        ack = _send(http, server, case, case.queue_first, {"queueRequest": "true"})
        assert ack.status_code == 200, ack.text
        request_id = ack.json()["result"]["request_id"]
    raw = case.body() if callable(case.body) else case.body
    body = _fill(raw, request_id) if case.method != "GET" else b""
    response = None
    for _ in range(case.repeat):
        response = _send(http, server, case, body, case.params)
    assert response is not None
    if case.poll_until_done:
        for _ in range(10):
            result = response.json().get("result") or {}
            if result.get("status") not in ("queued", "running"):
                break
            response = _send(http, server, case, body, case.params)
    return response


def _lookup(body: Any, dotted: str) -> Any:
    """Follow ``a.b.0.c``; raises ``KeyError`` when a step is absent."""
    node = body
    for step in dotted.split("."):
        if isinstance(node, list):
            index = int(step)
            if index >= len(node):
                raise KeyError(dotted)
            node = node[index]
        elif isinstance(node, dict):
            node = node[step]
        else:
            raise KeyError(dotted)
    return node


def _check_envelope(case: Case, response: httpx.Response, body: Any) -> None:
    """spec §1: the v4 envelope on /ai/run and models routes; none on OpenAI routes."""
    if not case.envelope:
        if isinstance(body, dict) and case.status == 200:
            assert not ({"success", "result"} <= set(body)), f"unexpected v4 envelope: {body}"
        return
    assert isinstance(body, dict), body
    assert {"result", "success", "errors", "messages"} <= set(body), sorted(body)
    assert isinstance(body["success"], bool)
    assert isinstance(body["errors"], list) and isinstance(body["messages"], list)
    assert body["success"] is response.is_success, (response.status_code, body["success"])
    if body["success"]:
        assert body["errors"] == [], body["errors"]
    else:
        assert body["errors"], "a failure envelope needs at least one error"
        for error in body["errors"]:
            assert isinstance(error.get("code"), int) and not isinstance(error["code"], bool)
            assert isinstance(error.get("message"), str) and error["message"]


def _parse_sse(response: httpx.Response) -> list[Any]:
    """Parse ``data: <json>\\n\\n`` frames strictly; ``[DONE]`` stays a string."""
    assert response.headers["content-type"].startswith("text/event-stream"), response.headers
    text = response.text
    assert text.endswith("\n\n"), f"stream does not end with a blank line: {text[-80:]!r}"
    events: list[Any] = []
    for frame in text[:-2].split("\n\n"):
        assert frame.startswith("data: "), f"not a data frame: {frame!r}"
        payload = frame[len("data: ") :]
        assert "\n" not in payload, f"multi-line frame: {frame!r}"
        events.append(payload if payload == DONE else json.loads(payload))
    return events


def _check_sse(case: Case, response: httpx.Response) -> None:
    assert case.sse is not None
    events = _parse_sse(response)
    documented = [json.loads(item) for item in case.sse if item != DONE]
    if DONE in case.sse:
        assert events and events[-1] == DONE, f"last event is not [DONE]: {events[-1:]}"
    assert events.count(DONE) == (1 if DONE in case.sse else 0), "[DONE] count"
    actual = [event for event in events if event != DONE]
    for event in actual:
        assert isinstance(event, dict), event
        assert not ({"success", "result"} <= set(event)), f"streamed event is wrapped: {event}"
    position = 0
    for index, doc_event in enumerate(documented):
        last = index == len(documented) - 1
        if last and case.sse_last:
            assert len(actual) > position, f"no event left for documented final event {doc_event}"
            assert_same_structure(doc_event, actual[-1], f"$events[-1] (documented #{index})")
            break
        while position < len(actual) and not _matches(doc_event, actual[position]):
            position += 1
        if position == len(actual):
            raise AssertionError(
                f"documented event #{index} {doc_event} not found in order in {actual}"
            )
        position += 1


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_conformance(
    case: Case, workers_ai_emulator: EmulatorServer, http: httpx.Client, request: Any
) -> None:
    server = workers_ai_emulator
    if case.server == "gateway_token":
        server = request.getfixturevalue("gateway_token_emulator")
        server.reset()
    response = _exchange(http, server, case)
    allowed = case.status if isinstance(case.status, tuple) else (case.status,)
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    for name, values in case.expect_headers.items():
        assert name in response.headers, f"missing header {name}: {dict(response.headers)}"
        if values:
            assert response.headers[name] in values, (name, response.headers[name])
    if case.sse is not None:
        _check_sse(case, response)
        return
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    _check_envelope(case, response, body)
    assert_same_structure(case.expected, body)
    if case.error_code is not None:
        assert [e["code"] for e in body["errors"]][:1] == [case.error_code], body["errors"]
    for dotted in case.absent:
        with pytest.raises(KeyError):
            _lookup(body, dotted)
    if case.check is not None:
        case.check(body)


def test_every_case_names_its_source() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for case in CASES:
        assert case.source.startswith(("spec §", "reference ")), case.id
        assert (case.expected is None) != (case.sse is None), case.id
