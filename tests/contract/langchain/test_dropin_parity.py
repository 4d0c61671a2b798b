"""What langchain-openai users type works on the LangChain classes (drop-in parity).

Argument names and aliases, per-call options that are client options (never body fields),
misspelt keywords, model checks against the catalog, ``profile``, token counting, and the
LangChain utilities that rely on them. Requests go through an ``httpx.MockTransport`` where the
test must see exactly what was sent (headers, body, timeouts), else through the emulator.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.messages.utils import trim_messages
from langchain_core.rate_limiters import InMemoryRateLimiter

import workers_ai
from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings, WorkersAIReranker
from tests.support.waits import fake_waits
from workers_ai import model_checks
from workers_ai.emulator import EmulatorServer

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SMALL = "@cf/meta/llama-3.1-8b-instruct"
BGE = "@cf/baai/bge-base-en-v1.5"
CREDS: dict[str, Any] = {
    "account_id": "acct",
    "api_key": "tok",
    "base_url": "https://api.cloudflare.com/client/v4",
}
CLASSIC_REPLY = {"response": "Blue.", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
SSE = (
    'data: {"response":"Bl"}\n\n'
    'data: {"response":"ue."}\n\n'
    'data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\n'
    "data: [DONE]\n\n"
)


#: Model warnings are once per process; each test starts without that memory.
pytestmark = pytest.mark.usefixtures("fresh_model_warnings")


class Recorder:
    """An ``httpx.MockTransport`` handler: answers like /ai/run and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if json.loads(request.content).get("stream"):
            return httpx.Response(
                200, content=SSE.encode(), headers={"content-type": "text/event-stream"}
            )
        envelope = {"result": CLASSIC_REPLY, "success": True, "errors": [], "messages": []}
        return httpx.Response(200, json=envelope)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def timeouts(self) -> list[dict[str, float | None]]:
        return [r.extensions["timeout"] for r in self.requests]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def mocked(recorder: Recorder, **kwargs: Any) -> ChatWorkersAI:
    transport = httpx.MockTransport(recorder)
    return ChatWorkersAI(
        **{**CREDS, "model": SMALL, **kwargs},
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )


def invoke(llm: ChatWorkersAI, mode: str, text: str = "Hi", **kwargs: Any) -> AIMessage:
    if mode == "sync":
        return llm.invoke(text, **kwargs)
    return asyncio.run(llm.ainvoke(text, **kwargs))


def stream(llm: ChatWorkersAI, mode: str, text: str = "Hi", **kwargs: Any) -> list[AIMessageChunk]:
    if mode == "sync":
        return list(llm.stream(text, **kwargs))

    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in llm.astream(text, **kwargs)]

    return asyncio.run(collect())


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


# -- names users type --------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [ChatWorkersAI, WorkersAIEmbeddings, WorkersAIReranker])
@pytest.mark.parametrize("keyword", ["model", "model_name"])
def test_model_and_model_name_both_choose_the_model(cls: type[Any], keyword: str) -> None:
    default = cls(**CREDS).model
    chosen = {
        ChatWorkersAI: SMALL,
        WorkersAIEmbeddings: "@cf/baai/bge-m3",
        WorkersAIReranker: "@cf/baai/bge-m3",
    }[cls]
    assert chosen != default
    obj = cls(**CREDS, **{keyword: chosen})
    assert obj.model == chosen
    assert obj.model_name == chosen


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        # A number or tuple bounds the request; waiting for a pooled connection gets 300 s.
        (5, {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 300.0}),
        (30.0, {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 300.0}),
        ((2, 40), {"connect": 2.0, "read": 40.0, "write": 40.0, "pool": 300.0}),
        (
            httpx.Timeout(7.0, connect=1.0, pool=99.0),
            {"connect": 1.0, "read": 7.0, "write": 7.0, "pool": 99.0},
        ),
    ],
)
@pytest.mark.parametrize("keyword", ["timeout", "request_timeout"])
@MODES
def test_timeout_is_the_http_timeout(
    recorder: Recorder, mode: str, keyword: str, timeout: Any, expected: dict[str, float]
) -> None:
    llm = mocked(recorder, **{keyword: timeout})
    invoke(llm, mode)
    assert recorder.timeouts() == [expected]
    assert not {"timeout", "request_timeout"} & set(recorder.bodies[0])


@pytest.mark.parametrize("keyword", ["timeout", "request_timeout"])
@MODES
def test_a_per_call_timeout_applies_to_that_call_only(
    recorder: Recorder, mode: str, keyword: str
) -> None:
    llm = mocked(recorder, timeout=60)
    invoke(llm, mode, **{keyword: 0.5})
    invoke(llm, mode)
    assert [t["read"] for t in recorder.timeouts()] == [0.5, 60.0]
    assert all("timeout" not in body for body in recorder.bodies)


@MODES
def test_max_completion_tokens_is_max_tokens(recorder: Recorder, mode: str) -> None:
    llm = mocked(recorder, max_completion_tokens=42)
    assert llm.max_tokens == 42
    invoke(llm, mode)
    invoke(llm, mode, max_completion_tokens=7)
    assert [b["max_tokens"] for b in recorder.bodies] == [42, 7]
    assert all("max_completion_tokens" not in b for b in recorder.bodies)


@pytest.mark.parametrize(
    ("field_value", "call_value", "expect_usage"),
    [(True, None, True), (False, None, False), (True, False, False), (False, True, True)],
)
@MODES
def test_stream_usage_controls_usage_in_streams(
    recorder: Recorder, mode: str, field_value: bool, call_value: bool | None, expect_usage: bool
) -> None:
    llm = mocked(recorder, stream_usage=field_value)
    extra = {} if call_value is None else {"stream_usage": call_value}
    chunks = stream(llm, mode, **extra)
    with_usage = [c for c in chunks if c.usage_metadata]
    assert "".join(str(c.content) for c in chunks) == "Blue."
    assert len(with_usage) == (1 if expect_usage else 0)
    if expect_usage:
        assert with_usage[0].usage_metadata == {
            "input_tokens": 5,
            "output_tokens": 2,
            "total_tokens": 7,
        }
    assert all("stream_usage" not in b for b in recorder.bodies)


def test_n_other_than_one_is_a_clear_error_before_any_request(recorder: Recorder) -> None:
    with pytest.raises(workers_ai.ConfigurationError, match="one completion per request"):
        mocked(recorder, n=2)
    llm = mocked(recorder, n=1)
    with pytest.raises(workers_ai.InvalidRequestError, match="n=3"):
        llm.invoke("Hi", n=3)
    assert recorder.requests == []
    llm.invoke("Hi", n=1)
    assert "n" not in recorder.bodies[0]


@MODES
def test_connection_options_reach_the_wire(recorder: Recorder, mode: str) -> None:
    llm = mocked(
        recorder,
        base_url="https://proxy.example.com/cf/client/v4",
        default_headers={"x-team": "search"},
        api_key="secret-token",
    )
    invoke(llm, mode)
    request = recorder.requests[0]
    assert str(request.url) == (
        f"https://proxy.example.com/cf/client/v4/accounts/acct/ai/run/{SMALL}"
    )
    assert request.headers["x-team"] == "search"
    assert request.headers["authorization"] == "Bearer secret-token"
    assert "secret-token" not in repr(llm)


def test_injected_http_clients_are_used_and_left_open(recorder: Recorder) -> None:
    transport = httpx.MockTransport(recorder)
    sync_client = httpx.Client(transport=transport)
    llm = ChatWorkersAI(**CREDS, model=SMALL, http_client=sync_client)
    llm.invoke("Hi")
    llm.close()
    assert len(recorder.requests) == 1
    assert not sync_client.is_closed


def test_max_retries_is_the_number_of_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch)
    calls: list[httpx.Request] = []

    def busy(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        body = {"success": False, "errors": [{"code": 3040, "message": "Capacity"}]}
        return httpx.Response(429, json=body)

    llm = ChatWorkersAI(
        **CREDS,
        model=SMALL,
        max_retries=1,
        http_client=httpx.Client(transport=httpx.MockTransport(busy)),
    )
    with pytest.raises(workers_ai.CapacityError):
        llm.invoke("Hi")
    assert len(calls) == 2


def test_rate_limiter_is_consulted_before_each_request(recorder: Recorder) -> None:
    limiter = InMemoryRateLimiter(requests_per_second=1000, check_every_n_seconds=0.001)
    acquired: list[bool] = []
    original = limiter.acquire

    def counting_acquire(*, blocking: bool = True) -> bool:
        acquired.append(blocking)
        return original(blocking=blocking)

    limiter.acquire = counting_acquire  # type: ignore[method-assign]
    llm = mocked(recorder, rate_limiter=limiter)
    llm.invoke("Hi")
    llm.invoke("Hi again")
    assert len(acquired) == 2 and len(recorder.requests) == 2


def test_disable_streaming_answers_stream_in_one_chunk(recorder: Recorder) -> None:
    llm = mocked(recorder, disable_streaming=True)
    chunks = list(llm.stream("Hi"))
    assert len(chunks) == 1 and chunks[0].content == "Blue."
    assert "stream" not in recorder.bodies[0]


# -- misspelt and unknown keywords -------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "keyword", "suggestion"),
    [
        (ChatWorkersAI, "temprature", "temperature"),
        (ChatWorkersAI, "modle", "model"),
        (ChatWorkersAI, "max_token", "max_tokens"),
        (ChatWorkersAI, "api_kye", "api_key"),
        (ChatWorkersAI, "request_timeuot", "request_timeout"),
        (WorkersAIEmbeddings, "batchsize", "batch_size"),
        (WorkersAIEmbeddings, "model_nmae", "model_name"),
        (WorkersAIReranker, "top_k", "top_n"),
    ],
)
def test_a_misspelt_keyword_raises_with_a_did_you_mean(
    cls: type[Any], keyword: str, suggestion: str, recorder: Recorder
) -> None:
    with pytest.raises(workers_ai.UnknownArgumentError) as caught:
        cls(**CREDS, **{keyword: 1})
    error = caught.value
    assert isinstance(error, TypeError)
    assert (error.owner, error.argument, error.suggestion) == (cls.__name__, keyword, suggestion)
    assert f"did you mean '{suggestion}'?" in str(error)


def test_an_unknown_keyword_far_from_every_field_goes_to_model_kwargs(recorder: Recorder) -> None:
    with pytest.warns(UserWarning, match="guided_json is not a ChatWorkersAI parameter"):
        llm = mocked(recorder, guided_json={"type": "object"})
    llm.invoke("Hi")
    assert recorder.bodies[0]["guided_json"] == {"type": "object"}


def test_names_inside_model_kwargs_are_sent_as_given(recorder: Recorder) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm = mocked(recorder, model_kwargs={"temprature": 0.1, "raw": True})
    llm.invoke("Hi")
    assert recorder.bodies[0]["temprature"] == 0.1 and recorder.bodies[0]["raw"] is True


@pytest.mark.parametrize("cls", [WorkersAIEmbeddings, WorkersAIReranker])
def test_classes_without_model_kwargs_reject_any_unknown_keyword(cls: type[Any]) -> None:
    with pytest.raises(workers_ai.UnknownArgumentError) as caught:
        cls(**CREDS, flux_capacitor=True)
    assert caught.value.suggestion is None


# -- model checks --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "model", "names"),
    [
        (ChatWorkersAI, BGE, "WorkersAIEmbeddings"),
        (ChatWorkersAI, "@cf/baai/bge-reranker-base", "WorkersAIReranker"),
        (WorkersAIEmbeddings, LLAMA, "ChatWorkersAI"),
        (WorkersAIReranker, LLAMA, "ChatWorkersAI"),
        (ChatWorkersAI, "@cf/black-forest-labs/flux-1-schnell", "WorkersAIClient.run()"),
    ],
)
def test_a_model_of_the_wrong_kind_raises_naming_the_right_class(
    cls: type[Any], model: str, names: str
) -> None:
    with pytest.raises(workers_ai.ConfigurationError) as caught:
        cls(**CREDS, model=model)
    message = str(caught.value)
    assert cls.__name__ in message and names in message and model in message


def test_a_deprecated_model_warns_once_with_its_date_and_replacement(recorder: Recorder) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mocked(recorder, model="@cf/google/gemma-3-12b-it")
        mocked(recorder, model="@cf/google/gemma-3-12b-it")
    deprecations = [
        w for w in caught if issubclass(w.category, model_checks.ModelDeprecatedWarning)
    ]
    assert len(deprecations) == 1
    text = str(deprecations[0].message)
    assert "2026-05-30" in text and "@cf/google/gemma-4-26b-a4b-it" in text


def test_warnings_point_at_the_users_line(recorder: Recorder) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mocked(recorder, model="@cf/moonshotai/kimi-k2.5")
        mocked(recorder, guided_json={"type": "object"})
        WorkersAIEmbeddings(**CREDS, model="@cf/baai/bge-bsae-en-v1.5")
    assert len(caught) == 3
    assert [w.filename for w in caught] == [__file__] * 3


@MODES
def test_a_near_miss_model_id_warns_but_is_still_sent(recorder: Recorder, mode: str) -> None:
    with pytest.warns(model_checks.UnknownModelWarning, match="did you mean '@cf/meta/llama"):
        llm = mocked(recorder, model="@cf/meta/llama-3.1-8b-instruc")
    invoke(llm, mode)
    assert recorder.requests[0].url.path.endswith("/ai/run/@cf/meta/llama-3.1-8b-instruc")


def test_the_function_calling_hint_names_the_constructor_argument(recorder: Recorder) -> None:
    llm = mocked(recorder, model="@cf/meta/llama-3.2-3b-instruct")

    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    with pytest.raises(workers_ai.InvalidRequestError, match=r"force_tools=True"):
        llm.bind_tools([lookup]).invoke("Where is Lisbon?")
    assert recorder.requests == []


# -- profile, tokens and the LangChain utilities that use them -----------------------------------
def test_profile_comes_from_the_catalog() -> None:
    profile = ChatWorkersAI(**CREDS, model=LLAMA).profile
    assert profile is not None
    assert profile["max_input_tokens"] == 24000
    assert profile["tool_calling"] is True and profile["structured_output"] is True
    assert profile["image_inputs"] is False
    reasoning = ChatWorkersAI(**CREDS, model="@cf/qwen/qwen3-30b-a3b-fp8").profile
    assert reasoning is not None and reasoning["reasoning_output"] is True
    vision = ChatWorkersAI(**CREDS, model="@cf/meta/llama-4-scout-17b-16e-instruct").profile
    assert vision is not None and vision["image_inputs"] is True
    with pytest.warns(model_checks.UnknownModelWarning):
        assert ChatWorkersAI(**CREDS, model="@cf/meta/llama-3.1-8b-instruc").profile is None


def test_token_counts_come_from_the_core_estimator() -> None:
    llm = ChatWorkersAI(**CREDS, model=LLAMA)
    short, long = "Hello there.", "Hello there. " * 50
    assert 0 < llm.get_num_tokens(short) < llm.get_num_tokens(long)
    assert len(llm.get_token_ids(long)) == llm.get_num_tokens(long)
    history = [SystemMessage("Be brief."), HumanMessage(long)]
    assert llm.get_num_tokens_from_messages(history) > llm.get_num_tokens(long)

    def lookup(city: str) -> str:
        """Look a city up in the atlas."""
        return city

    assert llm.get_num_tokens_from_messages(history, tools=[lookup]) > (
        llm.get_num_tokens_from_messages(history)
    )


def test_trim_messages_uses_the_model_as_token_counter() -> None:
    llm = ChatWorkersAI(**CREDS, model=LLAMA)
    history = [SystemMessage("You are terse.")] + [
        message
        for i in range(20)
        for message in (HumanMessage(f"Question {i}: " + "word " * 30), AIMessage(f"Answer {i}."))
    ]
    budget = 200
    trimmed = trim_messages(
        history, max_tokens=budget, token_counter=llm, strategy="last", include_system=True
    )
    assert 2 < len(trimmed) < len(history)
    assert isinstance(trimmed[0], SystemMessage) and trimmed[-1] == history[-1]
    assert llm.get_num_tokens_from_messages(trimmed) <= budget


def test_summarization_middleware_works_with_fractional_limits(
    workers_ai_emulator_env: EmulatorServer,
) -> None:
    from langchain.agents import create_agent
    from langchain.agents.middleware import SummarizationMiddleware

    llm = ChatWorkersAI(model=LLAMA, max_tokens=64)
    middleware = SummarizationMiddleware(
        model=llm, trigger=("fraction", 0.01), keep=("messages", 2)
    )  # 1 % of 24,000 tokens: a long history triggers a summary
    agent = create_agent(llm, tools=[], middleware=[middleware])
    history = [
        HumanMessage(f"Tell me about edge computing, part {i}. " + "Details please. " * 60)
        for i in range(3)
    ]
    result = agent.invoke({"messages": [*history, HumanMessage("Summarise our chat.")]})
    assert len(result["messages"]) < len(history) + 2
    assert workers_ai_emulator_env.stats()["requests"] >= 2  # the summary, then the answer


# -- the error classes users catch travel between processes --------------------------------------
def test_errors_raised_by_the_chat_model_pickle(recorder: Recorder) -> None:
    def denied(request: httpx.Request) -> httpx.Response:
        body = {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}
        return httpx.Response(401, json=body, headers={"cf-ray": "abc123"})

    llm = ChatWorkersAI(
        **CREDS, model=SMALL, http_client=httpx.Client(transport=httpx.MockTransport(denied))
    )
    with pytest.raises(workers_ai.AuthenticationError) as caught:
        llm.invoke("Hi")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is type(caught.value)
    assert (copy.status_code, copy.code, str(copy)) == (401, 10000, str(caught.value))
