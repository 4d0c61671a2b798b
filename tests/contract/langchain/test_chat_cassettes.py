"""ChatWorkersAI user flows replayed from recorded HTTP: the exact request payloads are pinned.

Replay is the default (CI): no emulator, no network, requests to Cloudflare's real URLs answered
from ``tests/cassettes/langchain/``. Record them again from the emulator or from real Workers AI
with the commands in ``docs/cassettes.md``; ``cassette_support`` has the machinery.
"""

from __future__ import annotations

import copy
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from pydantic import BaseModel, Field
from vcr.errors import CannotOverwriteExistingCassetteException

from langchain_workers_ai import ChatWorkersAI
from tests.support.tools import get_weather
from workers_ai.emulator import EmulatorServer

from . import cassette_support as cs

LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # /ai/run, classic shape, legacy tool calls
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # /ai/run, chat-completion shape, reasoning_content
#: What a Cloudflare API token looks like (40 URL-safe characters).
TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40}(?![A-Za-z0-9_-])")


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="The person's full name")
    age: int = Field(description="Age in years")


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cassette_source(record_mode: str) -> Iterator[cs.Source]:
    """Replay, or the emulator / real Workers AI when recording (``record_mode`` is
    pytest-recording's ``--record-mode``)."""
    with cs.open_source(record_mode) as source:
        yield source


@pytest.fixture
def recorded(
    request: pytest.FixtureRequest, cassette_source: cs.Source, monkeypatch: pytest.MonkeyPatch
) -> Iterator[cs.Recording]:
    """This test's cassette, in use; afterwards checked (all played / nothing secret saved)."""
    for name in cs.CONNECTION_ENV:  # only the source decides where requests go
        monkeypatch.delenv(name, raising=False)
    if cassette_source.emulator is not None:
        cassette_source.emulator.reset()  # the gateway cache must start empty
    path = cs.cassette_path(request.node.name)
    failed_before = request.session.testsfailed
    with cs.use_cassette(request.node.name, cassette_source) as cassette:
        yield cs.Recording(cassette_source, path, cassette)
    if cassette_source.recording:
        cs.check_saved(path, cassette_source)
    elif request.session.testsfailed == failed_before:  # the test itself passed
        cs.check_all_played(cassette)


async def invoke(llm: Any, kind: str, value: Any) -> Any:
    return llm.invoke(value) if kind == "sync" else await llm.ainvoke(value)


async def stream(llm: Any, kind: str, value: Any) -> list[AIMessageChunk]:
    if kind == "sync":
        return list(llm.stream(value))
    return [chunk async for chunk in llm.astream(value)]


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def assert_usage(message: AIMessage) -> None:
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


# -- flows ----------------------------------------------------------------------------------------
async def test_invoke_with_sampling_params(recorded: cs.Recording, kind: str) -> None:
    llm = ChatWorkersAI(
        model=LLAMA,
        **recorded.connection(temperature=0.2, max_tokens=64, top_p=0.9, seed=7),
    )
    messages = [SystemMessage("Answer in one sentence."), HumanMessage("Name a French cheese.")]
    message = await invoke(llm, kind, messages)
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str) and message.content.strip()
    assert message.tool_calls == []
    assert_usage(message)
    assert message.response_metadata["model_name"] == LLAMA
    assert message.response_metadata["request_id"]
    if not recorded.source.recording:
        assert message.response_metadata["request_id"] == cs.REQUEST_ID  # scrubbed, still there


async def test_streaming(recorded: cs.Recording, kind: str) -> None:
    llm = ChatWorkersAI(model=LLAMA, **recorded.connection(max_tokens=64))
    chunks = await stream(llm, kind, "Count from one to five.")
    streamed = aggregate(chunks)
    assert len(chunks) > 2  # several SSE events replayed, then the closing chunk
    assert isinstance(streamed.content, str) and streamed.content.strip()
    assert streamed.content == "".join(str(c.content) for c in chunks)
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1
    assert chunks[-1].chunk_position == "last"
    assert_usage(streamed)

    # streaming=True makes invoke stream too (one more SSE request in the cassette).
    streaming = ChatWorkersAI(model=LLAMA, **recorded.connection(max_tokens=64, streaming=True))
    message = await invoke(streaming, kind, "Count from one to five.")
    assert isinstance(message.content, str) and message.content.strip()
    assert_usage(message)


async def test_tool_call_and_tool_result_turn(recorded: cs.Recording, kind: str) -> None:
    llm = ChatWorkersAI(model=LLAMA, **recorded.connection()).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Lisbon?")
    first = await invoke(llm, kind, [question])
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("get_weather", {"city": "Lisbon"})
    ]
    assert first.tool_calls[0]["id"]
    result = get_weather.invoke(first.tool_calls[0])
    assert result.tool_call_id == first.tool_calls[0]["id"]

    final = await invoke(llm, kind, [question, first, result])
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "21" in str(final.content)  # the answer uses the tool's result
    assert_usage(final)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
async def test_structured_output(recorded: cs.Recording, kind: str, method: str) -> None:
    llm = ChatWorkersAI(model=LLAMA, **recorded.connection()).with_structured_output(
        Person, method=method
    )
    assert await invoke(llm, kind, "Ada Lovelace is 36 years old.") == Person(
        name="Ada Lovelace", age=36
    )


async def test_reasoning_model(recorded: cs.Recording, kind: str) -> None:
    llm = ChatWorkersAI(model=QWEN, **recorded.connection())
    message = await invoke(llm, kind, "Why is the sky blue?")
    streamed = aggregate(await stream(llm, kind, "Why is the sky blue?"))
    for result in (message, streamed):
        reasoning = result.additional_kwargs["reasoning_content"]
        assert reasoning and "think>" not in reasoning
        assert isinstance(result.content, str) and result.content.strip()
        assert "think>" not in result.content
        assert result.content_blocks[0] == {"type": "reasoning", "reasoning": reasoning}
        assert_usage(result)


async def test_openai_endpoint(recorded: cs.Recording, kind: str) -> None:
    llm = ChatWorkersAI(
        model=LLAMA, **recorded.connection(endpoint="openai", temperature=0.3, max_tokens=64)
    )
    message = await invoke(llm, kind, "Say hello in French.")
    assert isinstance(message.content, str) and message.content.strip()
    assert_usage(message)
    streamed = aggregate(await stream(llm, kind, "Say hello in French."))
    assert isinstance(streamed.content, str) and streamed.content.strip()
    assert_usage(streamed)


async def test_ai_gateway_with_cache_ttl(recorded: cs.Recording, kind: str) -> None:
    llm = ChatWorkersAI(
        model=LLAMA,
        **recorded.connection(
            gateway_id="default",
            gateway_options={"cache_ttl": 60, "metadata": {"suite": "cassettes"}},
            gateway_token=recorded.source.gateway_token,
            max_tokens=32,
        ),
    )
    prompt = f"Reply with one word: hello ({kind} client)."  # sync and async cache apart
    first = await invoke(llm, kind, prompt)
    second = await invoke(llm, kind, prompt)
    statuses = [m.response_metadata.get("gateway_cache_status") for m in (first, second)]
    assert statuses == ["MISS", "HIT"]
    assert second.content == first.content and str(first.content).strip()


# -- scrubbing -----------------------------------------------------------------------------------
REAL_ACCOUNT = "0123456789abcdef0123456789abcdef"
REAL_TOKEN = "Xk3" + "q" * 37  # shaped like a Cloudflare API token


def test_scrubber_removes_what_real_traffic_carries() -> None:
    scrub = cs.Scrubber(REAL_ACCOUNT, secrets=(REAL_TOKEN, "gw-secret"))
    request = cs.Request(
        "POST",
        f"https://gateway.ai.cloudflare.com/v1/{REAL_ACCOUNT}/default/workers-ai/@cf/x",
        json.dumps({"messages": [{"role": "user", "content": f"acct {REAL_ACCOUNT}"}]}).encode(),
        {
            "Authorization": f"Bearer {REAL_TOKEN}",
            "cf-aig-authorization": "Bearer gw-secret",
            "Cookie": "__cf_bm=abc",
            "cf-aig-cache-ttl": "60",
            "User-Agent": "workers-ai-python/0.1.0",
        },
    )
    saved = scrub.request(request)
    assert (
        saved.uri
        == "https://gateway.ai.cloudflare.com/v1/cassette-account/default/workers-ai/@cf/x"
    )
    assert saved.headers == {
        "authorization": "Bearer REDACTED",
        "cf-aig-authorization": "Bearer REDACTED",
        "cookie": "REDACTED",
        "cf-aig-cache-ttl": "60",
    }
    assert REAL_ACCOUNT not in saved.body.decode() and "cassette-account" in saved.body.decode()

    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Type": ["application/json"],
            "CF-RAY": ["8f1e2d3c4b5a6978-LIS"],
            "cf-aig-log-id": ["01JABCDEF"],
            "cf-aig-cache-status": ["MISS"],
            "Set-Cookie": ["__cf_bm=secret; path=/"],
            "NEL": ['{"report_to":"cf-nel"}'],
            "Report-To": ['{"endpoints":[{"url":"https://a.nel.cloudflare.com/report/v4?s=x"}]}'],
            "Server-Timing": ["cfL4;desc=..."],
        },
        "body": {"string": f'{{"result": {{"account": "{REAL_ACCOUNT}"}}}}'.encode()},
    }
    kept = scrub.response(response)
    assert kept["headers"] == {
        "content-type": ["application/json"],
        "cf-ray": [cs.REQUEST_ID],
        "cf-aig-log-id": [cs.REQUEST_ID],
        "cf-aig-cache-status": ["MISS"],
    }
    assert REAL_ACCOUNT.encode() not in kept["body"]["string"]


def test_recording_from_the_emulator_scrubs_it_and_replays(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded with the session emulator's own account and token (not the cassette ones):
    none of them, nor its address, reaches the file, and replay with the placeholders works."""
    for name in cs.CONNECTION_ENV:
        monkeypatch.delenv(name, raising=False)
    source = cs.emulator_source(emulator, "rewrite")  # the clean session emulator
    question = "What is the weather in Lisbon?"
    with cs.use_cassette("scrubbed", source, directory=tmp_path), httpx.Client() as http:
        llm = ChatWorkersAI(model=LLAMA, **source.model_kwargs(http_client=http))
        live = llm.bind_tools([get_weather]).invoke(question)
    path = cs.cassette_path("scrubbed", tmp_path)
    cs.check_saved(path, source)
    text = cs.read_cassette_text(path)
    for value in (emulator.api_token, emulator.account_id, "127.0.0.1"):
        assert value not in text
    assert f"https://api.cloudflare.com/client/v4/accounts/{cs.CASSETTE_ACCOUNT}/ai/run/" in text

    with cs.open_source("none", env={}) as replay:
        with cs.use_cassette("scrubbed", replay, directory=tmp_path) as cassette:
            llm = ChatWorkersAI(model=LLAMA, **replay.model_kwargs()).bind_tools([get_weather])
            replayed = llm.invoke(question)
            cs.check_all_played(cassette)
    assert replayed.tool_calls == live.tool_calls
    assert replayed.usage_metadata == live.usage_metadata


# -- the pins hold --------------------------------------------------------------------------------
def _load(name: str) -> list[Any]:
    requests, _ = cs.GzipYamlPersister.load_cassette(cs.cassette_path(name), cs.yamlserializer)
    return requests


def _with_body(request: Any, change: Any) -> Any:
    changed = copy.deepcopy(request)
    body = json.loads(changed.body)
    change(body)
    changed.body = json.dumps(body).encode()
    return changed


def test_matchers_ignore_tool_call_ids_and_the_account_but_pin_the_rest() -> None:
    requests = _load("test_tool_call_and_tool_result_turn[sync]")
    follow_up = next(r for r in requests if b"tool_call_id" in r.body)

    def new_ids(body: dict[str, Any]) -> None:
        body["messages"][1]["tool_calls"][0]["id"] = "call_other"
        body["messages"][2]["tool_call_id"] = "call_other"

    cs.json_body(follow_up, _with_body(follow_up, new_ids))  # no AssertionError

    def new_result(body: dict[str, Any]) -> None:
        body["messages"][2]["content"] = '{"temperature_c": 22}'

    def no_tool_call_id(body: dict[str, Any]) -> None:
        del body["messages"][2]["tool_call_id"]

    for change in (new_result, no_tool_call_id):
        with pytest.raises(AssertionError):
            cs.json_body(follow_up, _with_body(follow_up, change))

    other_account = copy.deepcopy(follow_up)
    other_account.uri = follow_up.uri.replace(cs.CASSETTE_ACCOUNT, "0123456789abcdef")
    cs.account_path(follow_up, other_account)
    other_model = copy.deepcopy(follow_up)
    other_model.uri = follow_up.uri.replace("llama-3.3-70b", "llama-3.1-8b")
    with pytest.raises(AssertionError):
        cs.account_path(follow_up, other_model)

    (gateway, _) = _load("test_ai_gateway_with_cache_ttl[sync]")
    longer = copy.deepcopy(gateway)
    longer.headers = {**gateway.headers, "cf-aig-cache-ttl": "120"}
    with pytest.raises(AssertionError):
        cs.pinned_headers(gateway, longer)


async def test_a_changed_payload_fails_replay(kind: str) -> None:
    """What CI sees when the builder's output changes: an error naming the differing body."""
    with cs.open_source("none", env={}) as replay:
        with cs.use_cassette(f"test_invoke_with_sampling_params[{kind}]", replay) as cassette:
            llm = ChatWorkersAI(
                model=LLAMA,
                **replay.model_kwargs(temperature=0.3, max_tokens=64, top_p=0.9, seed=7),
            )
            messages = [
                SystemMessage("Answer in one sentence."),
                HumanMessage("Name a French cheese."),
            ]
            with pytest.raises(CannotOverwriteExistingCassetteException, match="json_body"):
                await invoke(llm, kind, messages)
            assert cassette.play_count == 0


def test_replay_blocks_the_network() -> None:
    with cs.open_source("none", env={}) as replay:
        with cs.use_cassette("test_invoke_with_sampling_params[sync]", replay):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            with sock, pytest.raises(RuntimeError, match="Network is disabled"):
                sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never reachable anyway


def test_cassettes_hold_no_secrets_and_only_the_placeholder_account() -> None:
    paths = sorted(cs.CASSETTE_DIR.glob(f"*{cs.SUFFIX}"))
    assert paths
    for path in paths:
        text = cs.read_cassette_text(path)
        for local in ("emulator-token", "emulator-account", cs.CASSETTE_TOKEN, "127.0.0.1"):
            assert local not in text, (path.name, local)
        assert not re.search(r"Bearer (?!REDACTED)", text), path.name
        assert not TOKEN_LIKE.search(text), (path.name, TOKEN_LIKE.search(text))
        assert set(cs.ACCOUNT_IN_URL.findall(text)) == {cs.CASSETTE_ACCOUNT}, path.name
        for request in _load(path.name.removesuffix(cs.SUFFIX)):
            assert request.headers.get("authorization") == f"Bearer {cs.REDACTED}"
            assert "cookie" not in request.headers
