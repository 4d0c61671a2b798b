"""Drop-in parity of the LlamaIndex classes: the keywords LlamaIndex users type, connection
options named like LlamaIndex's OpenAI classes, model checks at construction, and two real
model outputs.

Requests go to the emulator (``workers_ai_emulator``) where it can show the effect (the model
it was asked for, headers that drive its faults, retries, timeouts), and to an
``httpx.MockTransport`` where the test must read the request itself (headers, body, the timeout
in ``request.extensions``) or replay a real response.

The real responses come from ``/work/shared/reference/real-responses/dropin-captures.json``:
``gemma4_json_schema`` (a public lab report of real Workers AI calls, 2026-10-07, raw response
body pasted verbatim) and ``llama33_tool_args_as_strings`` (a public repository's test fixture
captured verbatim from ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``, tool schema types beside
it). They are transcribed below so the suite does not depend on that path.
"""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

import workers_ai
from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding, WorkersAIRerank
from tests.real_captures import (
    GEMMA4_EXPECTED_PARSE,
    GEMMA4_RESULT,
    LLAMA33_ARGUMENTS,
)
from tests.support.emulator import adapter_kwargs
from tests.support.waits import fake_waits
from workers_ai.emulator import EmulatorServer
from workers_ai.model_checks import ModelDeprecatedWarning, UnknownModelWarning

LLAMA8B = "@cf/meta/llama-3.1-8b-instruct"
LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
LLAMA32_3B = "@cf/meta/llama-3.2-3b-instruct"  # catalog: json_mode null, function_calling false
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"
GEMMA4 = "@cf/google/gemma-4-26b-a4b-it"
GEMMA3 = "@cf/google/gemma-3-12b-it"  # catalog: deprecated 2026-05-30 -> GEMMA4
KIMI25 = "@cf/moonshotai/kimi-k2.5"  # catalog: deprecated 2026-05-30 -> kimi-k2.6
BGE_BASE = "@cf/baai/bge-base-en-v1.5"
BGE_SMALL = "@cf/baai/bge-small-en-v1.5"
M3 = "@cf/baai/bge-m3"
RERANKER = "@cf/baai/bge-reranker-base"
FLUX = "@cf/black-forest-labs/flux-1-schnell"  # Text-to-Image
M2M = "@cf/meta/m2m100-1.2b"  # Translation

ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "tok_dropin_0123456789"
QUESTION = [ChatMessage(role="user", content="Why is the sky blue?")]

# -- real captures (dropin-captures.json) -------------------------------------------------------

LLAMA33_RESULT = {
    "response": "",
    "tool_calls": [{"name": "score_job_fit", "arguments": LLAMA33_ARGUMENTS}],
}


class Facts(BaseModel):
    """Facts the user stated about themselves."""

    facts: list[str]


def score_job_fit(
    company: str,
    domainFit: int,
    experienceFit: int,
    gaps: list[str],
    jobDescription: str,
    jobTitle: str,
    reasoning: str,
    skillsFit: int,
    strengths: list[str],
    trajectoryFit: int,
) -> str:
    """Score how well a candidate fits a job (0-100 per dimension)."""
    average = (domainFit + experienceFit + skillsFit + trajectoryFit) // 4
    return f"{company}: {average} ({len(strengths)} strengths, {len(gaps)} gaps)"


SCORE_TOOL = FunctionTool.from_defaults(score_job_fit)

# -- fixtures and helpers -----------------------------------------------------------------------


#: Each test starts as a new process would: no model warned about yet.
pytestmark = pytest.mark.usefixtures("fresh_model_warnings")


@pytest.fixture
def emu(workers_ai_emulator_env: EmulatorServer) -> EmulatorServer:
    """The session emulator, reset, with the environment pointing every class at it."""
    return workers_ai_emulator_env


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[EmulatorServer]:
    """An emulator of our own for requests the client abandons (timeouts): the server finishes
    them after the client gave up, which must not count on the shared emulator's stats."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits of the embeddings/rerank engines, recorded instead of slept."""
    return fake_waits(monkeypatch, client=False, engine=True).delays


def run(
    kind: str, sync_fn: Callable[..., Any], async_fn: Callable[..., Any], *a: Any, **k: Any
) -> Any:
    if kind == "sync":
        return sync_fn(*a, **k)
    return asyncio.run(async_fn(*a, **k))


def envelope(result: Any) -> dict[str, Any]:
    return {"result": result, "success": True, "errors": [], "messages": []}


@dataclass
class Wire:
    """A MockTransport handler: answers with ``responses`` in turn (the last one repeats),
    each as ``(status, json body, headers)``; records every request."""

    responses: list[tuple[int, Any, dict[str, str]]]
    requests: list[httpx.Request] = field(default_factory=list)

    @classmethod
    def answering(cls, result: Any) -> Wire:
        return cls([(200, envelope(result), {})])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body, headers = self.responses[min(len(self.requests), len(self.responses)) - 1]
        return httpx.Response(status, json=body, headers=headers)

    def clients(self) -> dict[str, Any]:
        transport = httpx.MockTransport(self)
        return {
            "http_client": httpx.Client(transport=transport),
            "async_http_client": httpx.AsyncClient(transport=transport),
        }

    def body(self, index: int = -1) -> dict[str, Any]:
        return dict(json.loads(self.requests[index].content))


def mocked_llm(wire: Wire, **kwargs: Any) -> WorkersAI:
    """A WorkersAI whose requests go to ``wire``, with explicit credentials."""
    return WorkersAI(**{"account_id": ACCOUNT, "api_key": TOKEN, **wire.clients(), **kwargs})


NODES = [
    NodeWithScore(node=TextNode(text="Paris is the capital of France."), score=0.2),
    NodeWithScore(node=TextNode(text="Bananas are rich in potassium."), score=0.9),
    NodeWithScore(node=TextNode(text="France's capital city is Paris."), score=0.5),
]


def embed(kind: str, emb: WorkersAIEmbedding) -> tuple[list[float], list[list[float]]]:
    """One query and a two-document batch."""
    if kind == "sync":
        return emb.get_query_embedding("capital"), emb.get_text_embedding_batch(["a", "b"])

    async def go() -> tuple[list[float], list[list[float]]]:
        query = await emb.aget_query_embedding("capital")
        return query, await emb.aget_text_embedding_batch(["a", "b"])

    return asyncio.run(go())


def rerank(kind: str, reranker: WorkersAIRerank) -> list[NodeWithScore]:
    query = QueryBundle("What is the capital of France?")
    nodes = [NodeWithScore(node=n.node, score=n.score) for n in NODES]
    if kind == "sync":
        return reranker.postprocess_nodes(nodes, query_bundle=query)
    return asyncio.run(reranker.apostprocess_nodes(nodes, query_bundle=query))


# -- 1. the model keywords LlamaIndex users type ------------------------------------------------


@pytest.mark.usefixtures("emu")
@pytest.mark.parametrize(
    ("cls", "keyword", "attribute", "model"),
    [
        (WorkersAI, "model", "model", LLAMA8B),
        (WorkersAI, "model_name", "model", LLAMA8B),
        (WorkersAIEmbedding, "model", "model_name", M3),
        (WorkersAIEmbedding, "model_name", "model_name", M3),
        (WorkersAIRerank, "model", "model", M3),
        (WorkersAIRerank, "model_name", "model", M3),
    ],
)
def test_model_and_model_name_both_set_the_model(
    cls: type[Any], keyword: str, attribute: str, model: str
) -> None:
    assert getattr(cls(**{keyword: model}), attribute) == model


@pytest.mark.parametrize(
    ("kwargs", "model", "dimensions"),
    [
        ({}, BGE_BASE, 768),
        ({"model": M3}, M3, 1024),
        ({"model_name": M3}, M3, 1024),
        ({"model": BGE_SMALL}, BGE_SMALL, 384),
    ],
)
def test_embedding_model_keyword_is_the_model_that_embeds(
    emu: EmulatorServer, kind: str, kwargs: dict[str, str], model: str, dimensions: int
) -> None:
    """``WorkersAIEmbedding(model=...)`` (the name most LlamaIndex classes use) really embeds
    with that model: the vectors have its size and the server saw only that model."""
    query, documents = embed(kind, WorkersAIEmbedding(**kwargs))

    assert len(query) == dimensions
    assert [len(v) for v in documents] == [dimensions, dimensions]
    assert emu.stats()["by_model"] == {model: 2}


@pytest.mark.parametrize("model", [LLAMA8B, QWEN])
def test_llm_model_name_is_the_model_requested(emu: EmulatorServer, kind: str, model: str) -> None:
    llm = WorkersAI(model_name=model)
    response = run(kind, llm.chat, llm.achat, QUESTION)

    assert response.message.content
    assert emu.stats()["by_model"] == {model: 1}


@pytest.mark.parametrize(
    ("kwargs", "model"),
    [
        ({}, RERANKER),
        ({"model_name": M3}, M3),
        ({"model": M3}, M3),
        ({"model_name": RERANKER}, RERANKER),
    ],
)
def test_rerank_model_name_is_the_model_requested(
    emu: EmulatorServer, kind: str, kwargs: dict[str, str], model: str
) -> None:
    reranked = rerank(kind, WorkersAIRerank(top_n=2, **kwargs))

    assert len(reranked) == 2
    assert "Paris" in reranked[0].node.get_content()
    assert emu.stats()["by_model"] == {model: 1}


# -- 2. unknown keywords ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs", "argument", "suggestion"),
    [
        (WorkersAI, {"temprature": 0.3}, "temprature", "temperature"),
        (WorkersAI, {"max_token": 64}, "max_token", "max_tokens"),
        (WorkersAI, {"modle": LLAMA8B}, "modle", "model"),
        (WorkersAI, {"model_nmae": LLAMA8B}, "model_nmae", "model_name"),
        (WorkersAI, {"api_kye": TOKEN}, "api_kye", "api_key"),
        (WorkersAI, {"foo": 1}, "foo", None),
        (WorkersAI, {"model": LLAMA8B, "frobnicate": True}, "frobnicate", None),
        (WorkersAIEmbedding, {"model_nmae": M3}, "model_nmae", "model_name"),
        (WorkersAIEmbedding, {"embed_batch_sise": 10}, "embed_batch_sise", "embed_batch_size"),
        (WorkersAIEmbedding, {"foo": 1}, "foo", None),
        (WorkersAIRerank, {"top_m": 3}, "top_m", "top_n"),
        (WorkersAIRerank, {"modle": M3}, "modle", "model"),
        (WorkersAIRerank, {"foo": 1}, "foo", None),
    ],
)
def test_unknown_keyword_raises_with_did_you_mean_before_any_request(
    emu: EmulatorServer,
    cls: type[Any],
    kwargs: dict[str, Any],
    argument: str,
    suggestion: str | None,
) -> None:
    with pytest.raises(workers_ai.UnknownArgumentError) as info:
        cls(**kwargs)

    error = info.value
    assert (error.owner, error.argument, error.suggestion) == (cls.__name__, argument, suggestion)
    assert isinstance(error, TypeError)
    assert ("did you mean" in str(error)) is (suggestion is not None)
    assert emu.stats()["requests"] == 0


@pytest.mark.usefixtures("emu")
@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (WorkersAI, {"system_prompt": "Be brief.", "temperature": 0.2, "max_tokens": 64}),
        (WorkersAI, {"callback_manager": CallbackManager([]), "context_window": 4096}),
        (WorkersAIEmbedding, {"embed_batch_size": 10, "num_workers": 2}),
        (WorkersAIEmbedding, {"callback_manager": CallbackManager([])}),
        (WorkersAIRerank, {"top_n": 3, "callback_manager": CallbackManager([])}),
    ],
)
def test_llamaindex_base_keywords_are_accepted(cls: type[Any], kwargs: dict[str, Any]) -> None:
    """Keywords of LlamaIndex's own base classes are not mistaken for typos."""
    obj = cls(**kwargs)
    for name, value in kwargs.items():
        assert getattr(obj, name) == value


# -- 3. connection options ----------------------------------------------------------------------


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize("token_keyword", ["api_key", "api_token"])
def test_llm_connection_keywords_shape_the_request(kind: str, token_keyword: str) -> None:
    wire = Wire.answering({"response": "Rayleigh scattering."})
    llm = WorkersAI(
        model=LLAMA8B,
        account_id=ACCOUNT,
        base_url="https://proxy.example/client/v4",
        default_headers={"x-test": "1"},
        additional_kwargs={"raw": True},
        **{token_keyword: TOKEN},
        **wire.clients(),
    )

    response = run(kind, llm.chat, llm.achat, QUESTION)

    assert response.message.content == "Rayleigh scattering."
    (request,) = wire.requests
    assert (
        str(request.url) == f"https://proxy.example/client/v4/accounts/{ACCOUNT}/ai/run/{LLAMA8B}"
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-test"] == "1"
    assert wire.body()["raw"] is True


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (None, {"connect": 10.0, "read": 300.0, "write": 300.0, "pool": 300.0}),
        (7.0, {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 300.0}),
        ((2.0, 30.0), {"connect": 2.0, "read": 30.0, "write": 30.0, "pool": 300.0}),
        (
            httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0),
            {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0},
        ),
        (
            httpx.Timeout(5.0, read=None),
            {"connect": 5.0, "read": None, "write": 5.0, "pool": 5.0},
        ),
    ],
)
def test_llm_timeout_is_the_http_timeout(kind: str, timeout: Any, expected: dict[str, Any]) -> None:
    wire = Wire.answering({"response": "ok"})
    llm = mocked_llm(wire, model=LLAMA8B, timeout=timeout)

    run(kind, llm.chat, llm.achat, QUESTION)

    assert wire.requests[0].extensions["timeout"] == expected


def test_per_call_timeout_applies_to_that_call_only(kind: str) -> None:
    wire = Wire.answering({"response": "ok"})
    llm = mocked_llm(wire, model=LLAMA8B, timeout=60.0)

    run(kind, llm.chat, llm.achat, QUESTION, timeout=1.5)
    run(kind, llm.chat, llm.achat, QUESTION)

    first, second = (r.extensions["timeout"] for r in wire.requests)
    assert first == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 300.0}
    assert second["read"] == 60.0
    assert "timeout" not in wire.body(0) and "timeout" not in wire.body(1)


@pytest.mark.parametrize(("max_retries", "succeeds", "requests"), [(0, False, 1), (1, True, 2)])
def test_llm_max_retries(kind: str, max_retries: int, succeeds: bool, requests: int) -> None:
    """A 503 is retried ``max_retries`` times (``retry-after: 0``, so no wait)."""
    unavailable = {"success": False, "errors": [{"code": 1000, "message": "Service unavailable"}]}
    wire = Wire([(503, unavailable, {"retry-after": "0"}), (200, envelope({"response": "ok"}), {})])
    llm = mocked_llm(wire, model=LLAMA8B, max_retries=max_retries)

    if succeeds:
        assert run(kind, llm.chat, llm.achat, QUESTION).message.content == "ok"
    else:
        with pytest.raises(workers_ai.APIStatusError) as info:
            run(kind, llm.chat, llm.achat, QUESTION)
        assert info.value.status_code == 503
    assert len(wire.requests) == requests


def test_injected_clients_stay_open_after_close() -> None:
    """``http_client``/``async_http_client`` belong to the caller, as in LlamaIndex's OpenAI."""
    wire = Wire.answering({"response": "ok"})
    clients = wire.clients()
    llm = WorkersAI(model=LLAMA8B, account_id=ACCOUNT, api_key=TOKEN, **clients)

    async def use_and_close() -> None:
        await llm.achat(QUESTION)
        await llm.aclose()

    llm.chat(QUESTION)
    llm.close()
    asyncio.run(use_and_close())

    assert not clients["http_client"].is_closed
    assert not clients["async_http_client"].is_closed
    assert llm.chat(QUESTION).message.content == "ok"  # the same client, still usable
    assert len(wire.requests) == 3


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize("token_keyword", ["api_key", "api_token"])
@pytest.mark.parametrize("cls", [WorkersAIEmbedding, WorkersAIRerank])
def test_embedding_and_rerank_credential_keywords(
    workers_ai_emulator: EmulatorServer, kind: str, cls: type[Any], token_keyword: str
) -> None:
    """The token keyword is the one used: right token works, a wrong one is a 401."""
    workers_ai_emulator.reset()
    right = cls(**adapter_kwargs(workers_ai_emulator, token_keyword))
    wrong = cls(
        **{**adapter_kwargs(workers_ai_emulator, token_keyword), token_keyword: "not-the-token"}
    )

    def call(obj: Any) -> Any:
        return embed(kind, obj) if cls is WorkersAIEmbedding else rerank(kind, obj)

    assert call(right)
    with pytest.raises(workers_ai.AuthenticationError):
        call(wrong)


@pytest.mark.parametrize("max_retries", [0, 1])
@pytest.mark.parametrize("cls", [WorkersAIEmbedding, WorkersAIRerank])
def test_embedding_and_rerank_default_headers_and_max_retries(
    emu: EmulatorServer, retry_waits: list[float], kind: str, cls: type[Any], max_retries: int
) -> None:
    """``default_headers`` reach the server: the emulator's per-request fault header makes every
    attempt a 500, and ``max_retries`` decides how many attempts there are."""
    obj = cls(default_headers={"x-emulator-fault": "server_error"}, max_retries=max_retries)

    with pytest.raises(workers_ai.InternalServerError):
        if cls is WorkersAIEmbedding:
            run(kind, obj.get_query_embedding, obj.aget_query_embedding, "capital")
        else:
            rerank(kind, obj)

    stats = emu.stats()
    assert stats["requests"] == max_retries + 1
    assert stats["by_fault"] == {"server_error": max_retries + 1}
    assert len(retry_waits) == max_retries


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize(
    ("cls", "timeout"),
    [
        (WorkersAIEmbedding, 0.1),
        (WorkersAIEmbedding, (5.0, 0.1)),
        (WorkersAIRerank, httpx.Timeout(5.0, read=0.1)),
    ],
)
def test_embedding_and_rerank_timeout_applies_to_requests(
    slow_emulator: EmulatorServer, kind: str, cls: type[Any], timeout: Any
) -> None:
    """A server slower than ``timeout`` (500 ms of emulator latency) times the request out."""
    slow_emulator.reset()
    obj = cls(
        **adapter_kwargs(slow_emulator),
        timeout=timeout,
        max_retries=0,
        default_headers={"x-emulator-latency-ms": "500"},
    )

    with pytest.raises(workers_ai.APITimeoutError):
        if cls is WorkersAIEmbedding:
            run(kind, obj.get_query_embedding, obj.aget_query_embedding, "capital")
        else:
            rerank(kind, obj)
    assert slow_emulator.stats()["requests"] == 1


@pytest.mark.usefixtures("emu")
@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (7.0, httpx.Timeout(7.0, pool=300.0)),
        ((2.0, 30.0), httpx.Timeout(30.0, connect=2.0, pool=300.0)),
        (httpx.Timeout(1.0, read=None), httpx.Timeout(1.0, read=None)),
    ],
)
@pytest.mark.parametrize("cls", [WorkersAIEmbedding, WorkersAIRerank])
def test_embedding_and_rerank_settings(
    cls: type[Any], timeout: Any, expected: httpx.Timeout
) -> None:
    obj = cls(timeout=timeout, max_retries=5, default_headers={"x-test": "1"})
    settings = obj._resolve_settings()

    assert settings.timeout == expected
    assert settings.max_retries == 5
    assert settings.headers()["x-test"] == "1"


# -- 4. model checks at construction ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs", "names"),
    [
        (WorkersAI, {"model": BGE_BASE}, "use WorkersAIEmbedding"),
        (WorkersAI, {"model_name": M3}, "use WorkersAIEmbedding"),
        (WorkersAI, {"model": RERANKER}, "use WorkersAIRerank"),
        (WorkersAI, {"model": FLUX}, "WorkersAIClient.run()"),
        (WorkersAIEmbedding, {"model_name": LLAMA8B}, "use WorkersAI "),
        (WorkersAIEmbedding, {"model": RERANKER}, "use WorkersAIRerank"),
        (WorkersAIEmbedding, {"model": M2M}, "WorkersAIClient.run()"),
        (WorkersAIRerank, {"model": LLAMA8B}, "use WorkersAI "),
        (WorkersAIRerank, {"model_name": FLUX}, "WorkersAIClient.run()"),
    ],
)
def test_wrong_kind_of_model_raises_at_construction(
    emu: EmulatorServer, cls: type[Any], kwargs: dict[str, str], names: str
) -> None:
    with pytest.raises(workers_ai.ConfigurationError) as info:
        cls(**kwargs)

    message = str(info.value)
    assert names in message
    assert cls.__name__ in message and next(iter(kwargs.values())) in message
    assert emu.stats()["requests"] == 0


def test_per_call_model_of_the_wrong_kind_raises_before_the_request(kind: str) -> None:
    wire = Wire.answering({"response": "ok"})
    llm = mocked_llm(wire, model=LLAMA8B)

    with pytest.raises(workers_ai.ConfigurationError, match="WorkersAIEmbedding"):
        run(kind, llm.chat, llm.achat, QUESTION, model=BGE_BASE)
    assert wire.requests == []


@pytest.mark.usefixtures("emu")
@pytest.mark.parametrize(
    ("kwargs", "replacement"),
    [({"model": GEMMA3}, GEMMA4), ({"model_name": KIMI25}, "@cf/moonshotai/kimi-k2.6")],
)
def test_deprecated_model_warns_once(kwargs: dict[str, str], replacement: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WorkersAI(**kwargs)
        WorkersAI(**kwargs)

    assert [w.category for w in caught] == [ModelDeprecatedWarning]
    message = str(caught[0].message)
    assert next(iter(kwargs.values())) in message and "deprecated on 2026-05-30" in message
    assert replacement in message


def test_typo_model_warns_and_is_sent_as_given(kind: str) -> None:
    typo = "@cf/meta/llama-3.1-8b-instrut"
    wire = Wire.answering({"response": "ok"})
    with pytest.warns(UnknownModelWarning, match=f"did you mean '{LLAMA8B}'"):
        llm = mocked_llm(wire, model=typo)

    run(kind, llm.chat, llm.achat, QUESTION)

    assert wire.requests[0].url.path.endswith(f"/ai/run/{typo}")


@pytest.mark.usefixtures("emu")
@pytest.mark.parametrize(
    ("cls", "kwargs", "category"),
    [
        (WorkersAI, {"model": GEMMA3}, ModelDeprecatedWarning),
        (WorkersAI, {"model": "@cf/meta/llama-3.1-8b-instrut"}, UnknownModelWarning),
        (WorkersAIEmbedding, {"model": "@cf/baai/bge-bsae-en-v1.5"}, UnknownModelWarning),
        (WorkersAIRerank, {"model": "@cf/baai/bge-reranker-bsae"}, UnknownModelWarning),
    ],
)
def test_model_warnings_point_at_the_users_line(
    cls: type[Any], kwargs: dict[str, str], category: type[Warning]
) -> None:
    """Python prints a warning with the file and line it is attributed to; a model warning
    belongs to the line that built the object, not to the library's internals."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        cls(**kwargs)

    # only the model warning: a ResourceWarning from an earlier test's garbage may land here
    (record,) = [r for r in caught if issubclass(r.category, category)]
    assert (record.filename, record.lineno) == (__file__, line)


# -- 5. real model outputs ----------------------------------------------------------------------


def test_gemma4_json_schema_answer_parses(kind: str) -> None:
    """gemma-4's real JSON-schema answer (chat-completion shape, capture
    ``gemma4_json_schema``) comes back as message content that parses to the capture's
    ``expected_parse``; the request carried the schema as ``response_format``."""
    wire = Wire.answering(GEMMA4_RESULT)
    llm = mocked_llm(wire, model=GEMMA4)
    response_format = {"type": "json_schema", "json_schema": Facts.model_json_schema()}

    response = run(kind, llm.chat, llm.achat, QUESTION, response_format=response_format)

    assert json.loads(response.message.content or "") == GEMMA4_EXPECTED_PARSE
    assert (
        Facts.model_validate_json(response.message.content or "").facts
        == GEMMA4_EXPECTED_PARSE["facts"]
    )
    assert wire.body()["response_format"] == response_format
    assert response.additional_kwargs["total_tokens"] == 126


def test_llama33_string_tool_arguments_arrive_typed(kind: str) -> None:
    """llama-3.3's real tool call with every argument a string (capture
    ``llama33_tool_args_as_strings``) reaches the tool with the schema's ints and lists."""
    wire = Wire.answering(LLAMA33_RESULT)
    llm = mocked_llm(wire, model=LLAMA33)

    response = run(
        kind, llm.chat_with_tools, llm.achat_with_tools, [SCORE_TOOL], user_msg="Score this fit."
    )
    (selection,) = llm.get_tool_calls_from_response(response)

    assert selection.tool_name == "score_job_fit"
    assert selection.tool_kwargs == {
        **LLAMA33_ARGUMENTS,
        "domainFit": 85,
        "experienceFit": 80,
        "skillsFit": 85,
        "trajectoryFit": 80,
        "gaps": ["Kubernetes", "Docker"],
        "strengths": ["TypeScript", "Cloudflare Workers"],
    }
    assert str(SCORE_TOOL.call(**selection.tool_kwargs)) == "Cloudflare: 82 (2 strengths, 2 gaps)"
    (sent,) = (t.get("function", t) for t in wire.body()["tools"])  # classic or OpenAI shape
    assert sent["name"] == "score_job_fit"
    assert sent["parameters"]["properties"]["domainFit"]["type"] == "integer"


# -- 6. structured output on a model without function calling -----------------------------------


@pytest.mark.parametrize(
    "result",
    [
        # Cloudflare's JSON-mode docs (developers.cloudflare.com/workers-ai/json-mode) show the
        # object itself in "response"; a JSON string there is the other shape models return.
        {"response": {"facts": ["I live in Muscat.", "I like dates."]}},
        {"response": '{"facts": ["I live in Muscat.", "I like dates."]}'},
    ],
)
def test_structured_predict_uses_json_mode_without_function_calling(
    kind: str, result: dict[str, Any]
) -> None:
    wire = Wire.answering(result)
    llm = mocked_llm(wire, model=LLAMA32_3B)
    prompt = PromptTemplate("List the facts in: {text}")

    facts = run(
        kind,
        llm.structured_predict,
        llm.astructured_predict,
        Facts,
        prompt,
        text="I live in Muscat.",
    )

    assert facts == Facts(facts=["I live in Muscat.", "I like dates."])
    (request,) = wire.requests
    body = json.loads(request.content)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": Facts.model_json_schema(),
    }
    assert "tools" not in body
    assert body["messages"][-1]["content"] == "List the facts in: I live in Muscat."
