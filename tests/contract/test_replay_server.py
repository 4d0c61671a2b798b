"""The replay server (``python -m workers_ai.emulator --replay``): recorded answers over HTTP.

It runs on the project's own cassettes (``tests/cassettes/``, recorded from the emulator, which
their ``x-emulator`` header says) and is driven by ChatWorkersAI (sync and async, streaming
included), by a bare httpx client and from the command line. The matcher it shares with the
cassette suite is checked against the suite's vcrpy matchers on every recorded request.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage

from langchain_workers_ai import ChatWorkersAI
from tests.contract.langchain import cassette_support as cs
from tests.support.env import CONNECTION_ENV
from tests.support.tools import get_weather
from workers_ai.emulator import ReplayServer
from workers_ai.emulator.cassettes import (
    Interaction,
    load_cassette,
    load_cassettes,
    matches,
    mismatches,
    request_key,
)
from workers_ai.emulator.replay import (
    NO_MATCH_CODE,
    ReplayApp,
    ReplayExposedWarning,
)
from workers_ai.errors import NotFoundError

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "tests" / "cassettes"
LLAMA = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SECRET = "sk-replay-" + "s3cr3t" * 6  # a token the server must never echo
ACCOUNT = "0123456789abcdef0123456789abcdef"  # any account id matches the placeholder
SAMPLING = {"temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "seed": 7}
CHEESE = [SystemMessage("Answer in one sentence."), HumanMessage("Name a French cheese.")]


# -- fixtures and helpers --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def _server() -> Iterator[ReplayServer]:
    with ReplayServer(CASSETTES) as server:
        yield server


@pytest.fixture
def replay(_server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    """The replay server, rewound; no connection settings in the environment."""
    for name in CONNECTION_ENV:
        monkeypatch.delenv(name, raising=False)
    _server.reset()
    return _server


def connection(server: ReplayServer, **kwargs: Any) -> dict[str, Any]:
    """ChatWorkersAI keywords for ``server``, with a real-looking account and a secret token."""
    return {
        "account_id": ACCOUNT,
        "api_key": SECRET,
        "base_url": server.base_url,
        "max_retries": 0,
        **kwargs,
    }


def recorded(cassette: str, index: int = 0) -> Interaction:
    return load_cassette(CASSETTES / "langchain" / cassette).interactions[index]


def recorded_text(interaction: Interaction) -> str:
    """The text a recorded answer carries: ``result.response``, or the SSE deltas joined."""
    body = interaction.response.body.decode()
    if interaction.response.header("content-type") == "text/event-stream":
        events = [line[6:] for line in body.splitlines() if line.startswith("data: {")]
        return "".join(json.loads(event).get("response") or "" for event in events)
    return str(json.loads(body)["result"]["response"])


async def invoke(llm: Any, kind: str, value: Any) -> Any:
    return llm.invoke(value) if kind == "sync" else await llm.ainvoke(value)


async def stream(llm: Any, kind: str, value: Any) -> list[AIMessageChunk]:
    if kind == "sync":
        return list(llm.stream(value))
    return [chunk async for chunk in llm.astream(value)]


# -- through ChatWorkersAI -------------------------------------------------------------------------
async def test_langchain_gets_the_recorded_answer(
    replay: ReplayServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointed at the server by the environment alone (``env()``)."""
    for name, value in replay.env().items():
        monkeypatch.setenv(name, value)
    llm = ChatWorkersAI(model=LLAMA, max_retries=0, **SAMPLING)
    message = await invoke(llm, kind, CHEESE)
    answer = recorded("invoke_with_sampling_params-sync.yaml.gz")
    assert message.content == recorded_text(answer)
    assert message.response_metadata["request_id"] == cs.REQUEST_ID  # the recorded cf-ray
    assert message.usage_metadata["total_tokens"] == 24
    (served,) = replay.served()
    assert served["status"] == 200
    assert served["interaction"].startswith("langchain/invoke_with_sampling_params-")


async def test_langchain_streams_the_recorded_events(replay: ReplayServer, kind: str) -> None:
    llm = ChatWorkersAI(model=LLAMA, **connection(replay, max_tokens=64))
    chunks = await stream(llm, kind, "Count from one to five.")
    expected = recorded_text(recorded("streaming-sync.yaml.gz"))
    assert expected and "".join(str(c.content) for c in chunks) == expected
    assert len(chunks) > 2
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1

    streaming = ChatWorkersAI(model=LLAMA, **connection(replay, max_tokens=64, streaming=True))
    assert (await invoke(streaming, kind, "Count from one to five.")).content == expected


async def test_a_tool_turn_matches_whatever_the_tool_call_ids(
    replay: ReplayServer, kind: str
) -> None:
    """The recorded ids differ from the ones LangChain makes now: ignored, as in the suite."""
    llm = ChatWorkersAI(model=LLAMA, **connection(replay)).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Lisbon?")
    first = await invoke(llm, kind, [question])
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("get_weather", {"city": "Lisbon"})
    ]
    result = get_weather.invoke({**first.tool_calls[0], "id": "call_made_up_now"})
    first.tool_calls[0]["id"] = "call_made_up_now"
    final = await invoke(llm, kind, [question, first, result])
    assert final.content == recorded_text(
        recorded("tool_call_and_tool_result_turn-sync.yaml.gz", 1)
    )


async def test_the_gateway_answers_in_order_then_repeats_the_last(
    replay: ReplayServer, kind: str
) -> None:
    llm = ChatWorkersAI(
        model=LLAMA,
        **connection(
            replay,
            gateway_id="default",
            gateway_options={"cache_ttl": 60, "metadata": {"suite": "cassettes"}},
            gateway_token="any-gateway-token",
            max_tokens=32,
        ),
    )
    prompt = f"Reply with one word: hello ({kind} client)."
    answers = [await invoke(llm, kind, prompt) for _ in range(3)]
    statuses = [m.response_metadata.get("gateway_cache_status") for m in answers]
    assert statuses == ["MISS", "HIT", "HIT"]  # two recorded; the last answers again
    assert [s["repeated"] for s in replay.served()] == [False, False, True]
    assert {s["path"] for s in replay.served()} == {f"/v1/{{account}}/default/workers-ai/{LLAMA}"}


async def test_a_request_no_cassette_holds_names_the_closest(
    replay: ReplayServer, kind: str
) -> None:
    llm = ChatWorkersAI(model=LLAMA, **connection(replay, **{**SAMPLING, "temperature": 0.3}))
    with pytest.raises(NotFoundError) as caught:
        await invoke(llm, kind, CHEESE)
    message = caught.value.message
    assert message.startswith("No recorded interaction matches POST /client/v4/accounts/{account}")
    assert "langchain/invoke_with_sampling_params-" in message
    assert "body at temperature: 0.3 here, 0.2 recorded" in message
    assert caught.value.status_code == 404 and caught.value.code == NO_MATCH_CODE
    assert SECRET not in str(caught.value) and ACCOUNT not in str(caught.value)


# -- any HTTP client -------------------------------------------------------------------------------
def _raw(interaction: Interaction, server: ReplayServer, **headers: str) -> httpx.Response:
    path = interaction.request.path.replace(cs.CASSETTE_ACCOUNT, ACCOUNT)
    return httpx.post(
        server.root_url + path,
        content=interaction.request.body,
        headers={
            "Authorization": f"Bearer {SECRET}",
            "Content-Type": "application/json",
            **headers,
        },
    )


def test_a_bare_http_client_gets_the_recorded_bytes_and_headers(replay: ReplayServer) -> None:
    for name in ("invoke_with_sampling_params-sync.yaml.gz", "streaming-sync.yaml.gz"):
        interaction = recorded(name)
        response = _raw(interaction, replay)
        assert response.status_code == 200
        assert response.content == interaction.response.body  # SSE included, byte for byte
        assert response.headers["content-type"] == interaction.response.header("content-type")
        assert response.headers["x-emulator"] == "stand-in models, not real Workers AI"
        assert response.headers["x-replay-interaction"].endswith(".yaml.gz #0")
        assert SECRET not in response.text and SECRET not in str(response.headers)

    interaction = recorded("invoke_with_sampling_params-sync.yaml.gz")
    encoded = interaction.request.path.replace("@cf/meta/", "%40cf%2Fmeta%2F")
    assert "%40" in encoded  # as JavaScript's encodeURIComponent writes a model id
    response = httpx.post(
        replay.root_url + encoded,
        content=interaction.request.body,
        headers={"Authorization": "Bearer x"},
    )
    assert response.status_code == 200 and response.content == interaction.response.body


def test_misses_answer_in_cloudflares_envelope_without_echoing_secrets(
    replay: ReplayServer,
) -> None:
    interaction = recorded("openai_endpoint-sync.yaml.gz")
    body = json.loads(interaction.request.body or b"{}")
    body["messages"][0]["content"] = "Say hello in German."
    response = httpx.post(
        replay.root_url + interaction.request.path,
        json=body,
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert response.status_code == 404
    envelope = response.json()
    assert envelope["success"] is False and envelope["result"] is None
    (error,) = envelope["errors"]
    assert error["code"] == NO_MATCH_CODE
    assert "langchain/openai_endpoint-" in error["message"]
    assert "body at messages[0].content:" in error["message"]
    assert SECRET not in response.text

    missing = httpx.post(
        replay.root_url + interaction.request.path, content=interaction.request.body
    )
    assert missing.status_code == 401 and missing.json()["errors"][0]["code"] == 10000

    listing = httpx.get(f"{replay.root_url}/__replay/interactions").text
    assert SECRET not in listing


def test_the_control_route_lists_what_is_loaded_and_served(replay: ReplayServer) -> None:
    _raw(recorded("streaming-sync.yaml.gz"), replay)
    data = httpx.get(f"{replay.root_url}/__replay/interactions").json()
    assert len(data["cassettes"]) == len(list(CASSETTES.rglob("*.yaml.gz")))
    assert {c["name"].split("/")[0] for c in data["cassettes"]} == {"langchain"}
    # The only origin the cassettes state: the emulator's own header (never "real").
    assert {i["recorded_from"] for i in data["interactions"]} == {"emulator"}
    assert sum(i["served"] for i in data["interactions"]) == 1
    assert [s["interaction"] for s in data["served"]] == ["langchain/streaming-async.yaml.gz #0"]
    assert data["repeat"] is True

    assert httpx.post(f"{replay.root_url}/__replay/reset").json() == {"reset": True}
    assert replay.served() == []


def test_without_repeats_an_exhausted_request_is_a_404() -> None:
    interaction = recorded("invoke_with_sampling_params-sync.yaml.gz")
    app = ReplayApp([load_cassette(CASSETTES / "langchain" / interaction.cassette)], repeat=False)
    request = ("POST", interaction.request.path, "", {"authorization": "Bearer x"})
    assert app.answer(*request, interaction.request.body or b"").status == 200
    again = app.answer(*request, interaction.request.body or b"")
    assert again.status == 404
    assert b"has answered once" in (again.body or b"")


# -- the command line ------------------------------------------------------------------------------
def test_the_command_line_serves_a_cassette_folder() -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONNECTION_ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "workers_ai.emulator", "--replay", str(CASSETTES), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        assert "26 recorded interactions from 16 cassettes" in lines[0]
        assert "26 marked as recorded from the emulator" in lines[0]
        base_url = lines[1].removeprefix("Base URL: ").strip()
        interaction = recorded("reasoning_model-sync.yaml.gz")
        model_path = interaction.request.path.split("/ai/run/")[1]
        response = httpx.post(
            f"{base_url}/accounts/anything/ai/run/{model_path}",
            content=interaction.request.body,
            headers={"Authorization": "Bearer whatever"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.content == interaction.response.body
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_command_line_refuses_emulator_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workers_ai.emulator", "--replay", str(CASSETTES), "--fault", "x"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 2 and "--fault do not apply" in done.stderr


# -- security and loading --------------------------------------------------------------------------
def test_listening_beyond_loopback_warns() -> None:
    with pytest.warns(ReplayExposedWarning, match="accepts any token"):
        ReplayServer(CASSETTES, host="0.0.0.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ReplayServer(CASSETTES / "langchain" / "streaming-sync.yaml.gz")


def test_loading_needs_neither_pyyaml_nor_vcrpy() -> None:
    """The ``emulator`` extra brings neither: the reader is the package's own."""
    code = (
        "import sys; sys.modules['yaml'] = sys.modules['vcr'] = None\n"
        "from workers_ai.emulator.replay import ReplayApp\n"
        "from workers_ai.emulator.cassettes import load_cassettes\n"
        f"print(sum(len(c.interactions) for c in load_cassettes({str(CASSETTES)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "26"


def test_loading_reads_what_vcrpy_reads() -> None:
    for cassette in load_cassettes(CASSETTES / "langchain"):
        requests, responses = cs.GzipYamlPersister.load_cassette(cassette.path, cs.yamlserializer)
        assert len(requests) == len(responses) == len(cassette.interactions)
        for ours, request, response in zip(cassette.interactions, requests, responses, strict=True):
            assert (ours.request.method, ours.request.uri) == (request.method, request.uri)
            assert ours.request.body == request.body
            assert ours.response.status == response["status"]["code"]
            assert ours.response.body == response["body"]["string"]
            assert ours.response.headers == [
                (k, v) for k, values in response["headers"].items() for v in values
            ]


# -- the shared matcher decides as the suite's vcrpy matchers do -----------------------------------
def _vcr_decision(now: Any, recorded_request: Any) -> bool:
    for name in ("account_path", "json_body", "pinned_headers"):
        try:
            cs.MATCHERS[name](now, recorded_request)
        except AssertionError:
            return False
    return now.method == recorded_request.method and now.query == recorded_request.query


def _variants(request: Any) -> Iterator[Any]:
    """The request itself and changes the suite ignores or pins."""
    yield request
    other_account = copy.deepcopy(request)
    other_account.uri = request.uri.replace(cs.CASSETTE_ACCOUNT, ACCOUNT)
    yield other_account
    other_model = copy.deepcopy(request)
    other_model.uri = request.uri.replace("llama-3.3-70b", "llama-3.1-8b")
    yield other_model
    body = json.loads(request.body)
    for change in ("id", "content", "extra"):
        changed = copy.deepcopy(request)
        new = copy.deepcopy(body)
        for message in new.get("messages", []):
            if change == "id" and "tool_call_id" in message:
                message["tool_call_id"] = "call_other"
            elif change == "content" and isinstance(message.get("content"), str):
                message["content"] += "!"
        if change == "extra":
            new["temperature"] = 1.5
        changed.body = json.dumps(new).encode()
        yield changed
    ttl = copy.deepcopy(request)
    ttl.headers = {**request.headers, "cf-aig-cache-ttl": "999"}
    yield ttl
    method = copy.deepcopy(request)
    method.method = "PUT"
    yield method


def _key(request: Any) -> Any:
    return request_key(
        request.method, request.path, request.uri.partition("?")[2], request.headers, request.body
    )


def test_the_moved_matcher_decides_as_the_suite_did() -> None:
    requests = [
        request
        for path in sorted((CASSETTES / "langchain").glob("*.yaml.gz"))
        for request in cs.GzipYamlPersister.load_cassette(path, cs.yamlserializer)[0]
    ]
    decisions = {True: 0, False: 0}
    for original in requests:
        for variant in _variants(original):
            for candidate in (original, requests[0]):
                vcr_says = _vcr_decision(variant, candidate)
                assert (not mismatches(_key(variant), _key(candidate))) == vcr_says
                assert matches(_key(variant), _key(candidate)) == vcr_says
                decisions[vcr_says] += 1
    assert decisions[True] > 20 and decisions[False] > 100  # both outcomes well exercised
