"""Errors, faults and limits of the emulator, and what the core client does with each.

For every documented error code: the typed exception, its ``code`` and (for 5006) a message that
names the offending field. For every fault kind: whether the client retried, how many attempts
reached the server (``emulator.stats()``), which exception it raised and how long it would have
waited (``runner.sleeps``: the client's retry delays are recorded, never slept). Plus the stats
and control routes and the ``python -m workers_ai.emulator`` CLI.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.clients import Streamed
from tests.support.emulator import Runner, clean_emulator
from workers_ai import (
    AccountNotFoundError,
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CapacityError,
    InternalServerError,
    LoRANotSupportedError,
    ModelNotFoundError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    WorkersAIClient,
)
from workers_ai.emulator import EmulatorServer

MODEL = "@cf/meta/llama-3.1-8b-instruct"
VISION = "@cf/meta/llama-4-scout-17b-16e-instruct"
BGE_SMALL = "@cf/baai/bge-small-en-v1.5"
RUN_ROUTE = "POST /ai/run/{model}"
PROMPT = {"prompt": "Tell me about lighthouses"}
CHAT = {"messages": [{"role": "user", "content": "Tell me about lighthouses"}]}


def _fault(value: str) -> dict[str, str]:
    return {"x-emulator-fault": value}


def _attempts(server: EmulatorServer) -> int:
    return int(server.stats()["requests"])


def _backoff_ok(delays: list[float]) -> bool:
    """Exponential backoff with up to 25 % jitter: 0.5 s then 1 s (HOUSE §5)."""
    bounds = [(0.375, 0.5), (0.75, 1.0), (1.5, 2.0)]
    return all(lo <= d <= hi for d, (lo, hi) in zip(delays, bounds, strict=False))


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[EmulatorServer]:
    """An emulator for requests the client abandons (timeouts).

    The server keeps working on an abandoned request after the client gave up (as a real one
    would); on the shared emulator that late work would consume the next test's counted faults
    and rate-limit slots.
    """
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def slow_runner(runner: Runner, slow_emulator: EmulatorServer) -> Iterator[Runner]:
    clean_emulator(slow_emulator)
    yield Runner(runner.kind, slow_emulator, runner.sleeps)
    clean_emulator(slow_emulator)


# -- error codes through the client -----------------------------------------------------------


def test_wrong_token_is_an_authentication_error(runner: Runner) -> None:
    with pytest.raises(AuthenticationError) as info:
        runner.call("run", MODEL, PROMPT, client_kwargs={"api_token": "not-the-token"})

    assert (info.value.status_code, info.value.code) == (401, 10000)
    assert info.value.hint and "token" in info.value.hint.lower()
    assert "not-the-token" not in str(info.value)
    assert _attempts(runner.server) == 1 and runner.sleeps == []


def test_missing_token_is_10000(emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/{MODEL}"

    response = httpx.post(url, json=PROMPT)

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False and body["errors"][0]["code"] == 10000


def test_unknown_account_is_7003(runner: Runner) -> None:
    with pytest.raises(AccountNotFoundError) as info:
        runner.call("run", MODEL, PROMPT, client_kwargs={"account_id": "no-such-account"})

    assert (info.value.status_code, info.value.code) == (404, 7003)
    assert "no-such-account" in info.value.message
    assert info.value.hint and "account id" in info.value.hint
    assert _attempts(runner.server) == 1


def test_unknown_model_is_5007(runner: Runner) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        runner.call("run", "@cf/nobody/no-such-model", PROMPT)

    assert info.value.code == 5007
    assert info.value.status_code == 400
    assert _attempts(runner.server) == 1


TOO_LONG = " ".join(["lighthouse"] * 600)  # > 512 tokens, bge's limit per input


@pytest.mark.parametrize(
    ("model", "inputs", "field"),
    [
        pytest.param(MODEL, {"temperature": 0.5}, "prompt", id="missing-prompt-or-messages"),
        pytest.param(BGE_SMALL, {"text": ""}, "text", id="empty-text"),
        pytest.param(BGE_SMALL, {"text": ["x"] * 101}, "text", id="over-100-texts"),
        pytest.param(BGE_SMALL, {"text": ["ok", TOO_LONG]}, "text", id="text-over-token-limit"),
        pytest.param(
            MODEL, {"messages": [{"role": "user", "content": None}]}, "content", id="content-null"
        ),
        pytest.param(
            "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
            {
                "messages": [{"role": "user", "content": "weather?"}],
                "tools": [
                    {
                        "name": "get_weather",
                        "description": "weather",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"description": "a city"}},
                        },
                    }
                ],
            },
            "type",
            id="tool-property-without-type",
        ),
        pytest.param(
            MODEL, {"messages": [{"role": "wizard", "content": "hi"}]}, "role", id="invalid-role"
        ),
        pytest.param(
            VISION,
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What is this?"},
                            {
                                "type": "image_url",
                                "image_url": {"url": "https://example.com/cat.png"},
                            },
                        ],
                    }
                ]
            },
            "url",
            id="image-url-not-data-uri",
        ),
    ],
)
def test_bad_input_is_5006_naming_the_field(
    runner: Runner, model: str, inputs: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadRequestError) as info:
        runner.call("run", model, inputs)

    assert type(info.value) is BadRequestError
    assert (info.value.status_code, info.value.code) == (400, 5006)
    assert field in info.value.message, info.value.message
    assert _attempts(runner.server) == 1 and runner.sleeps == []


def test_lora_on_a_model_without_lora_is_5005(runner: Runner) -> None:
    with pytest.raises(LoRANotSupportedError) as info:
        runner.call("run", MODEL, {**PROMPT, "lora": "my-adapter"})

    assert info.value.code == 5005
    assert info.value.status_code == 405
    assert _attempts(runner.server) == 1


def test_lora_on_a_lora_model_is_accepted(runner: Runner) -> None:
    result = runner.call(
        "run", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", {**PROMPT, "lora": "my-adapter"}
    )
    assert result["response"]


# -- faults answered with an error status ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error", "status", "code"),
    [
        ("capacity", CapacityError, 429, 3040),
        ("rate_limit", RateLimitError, 429, 3021),
    ],
)
def test_429_faults_are_retried_honouring_retry_after(
    runner: Runner, kind: str, error: type[Exception], status: int, code: int
) -> None:
    with pytest.raises(error) as info:
        runner.call("run", MODEL, PROMPT, headers=_fault(kind))

    assert (info.value.status_code, info.value.code) == (status, code)
    retry_after = float(info.value.headers["retry-after"])
    assert runner.sleeps == [retry_after, retry_after]
    stats = runner.server.stats()
    assert stats["requests"] == 3
    assert stats["by_fault"] == {kind: 3}
    assert stats["by_status"] == {"429": 3}


@pytest.mark.parametrize("kind", ["capacity", "rate_limit", "server_error", "unavailable"])
def test_one_transient_fault_is_retried_and_succeeds(runner: Runner, kind: str) -> None:
    runner.server.configure(faults=[{"kind": kind, "count": 1}])

    result = runner.call("run", MODEL, PROMPT)

    assert result["response"]
    stats = runner.server.stats()
    assert stats["by_route"] == {RUN_ROUTE: 2}
    assert stats["by_fault"] == {kind: 1}
    assert len(runner.sleeps) == 1


def test_quota_is_not_retried(runner: Runner) -> None:
    with pytest.raises(QuotaExceededError) as info:
        runner.call("run", MODEL, PROMPT, headers=_fault("quota"))

    assert (info.value.status_code, info.value.code) == (429, 3036)
    assert "00:00 UTC" in (info.value.hint or "")
    assert _attempts(runner.server) == 1
    assert runner.sleeps == []


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("server_error", 500),
        ("bad_gateway", 502),
        ("unavailable", 503),
        ("server_error;status=504", 504),
    ],
)
def test_5xx_faults_are_retried_with_backoff(runner: Runner, fault: str, status: int) -> None:
    with pytest.raises(InternalServerError) as info:
        runner.call("run", MODEL, PROMPT, headers=_fault(fault))

    assert info.value.status_code == status
    assert _attempts(runner.server) == 3
    assert len(runner.sleeps) == 2 and _backoff_ok(runner.sleeps), runner.sleeps


def test_bad_gateway_html_page_gives_a_readable_message(runner: Runner) -> None:
    with pytest.raises(InternalServerError) as info:
        runner.call(
            "run", MODEL, PROMPT, headers=_fault("bad_gateway"), client_kwargs={"max_retries": 0}
        )

    assert "502 Bad Gateway" in info.value.message
    assert "<html>" not in info.value.message
    assert _attempts(runner.server) == 1


def test_max_retries_zero_makes_one_attempt(runner: Runner) -> None:
    with pytest.raises(CapacityError):
        runner.call(
            "run", MODEL, PROMPT, headers=_fault("capacity"), client_kwargs={"max_retries": 0}
        )

    assert _attempts(runner.server) == 1 and runner.sleeps == []


# -- connection-level faults -------------------------------------------------------------------


def test_reset_is_a_retried_connection_error(runner: Runner) -> None:
    with pytest.raises(APIConnectionError) as info:
        runner.call("run", MODEL, PROMPT, headers=_fault("reset"))

    assert not isinstance(info.value, APITimeoutError)
    assert _attempts(runner.server) == 3
    assert runner.server.stats()["by_fault"] == {"reset": 3}
    assert runner.server.stats()["by_status"] == {"reset": 3}  # dropped, not answered
    assert len(runner.sleeps) == 2 and _backoff_ok(runner.sleeps)


def test_one_reset_is_retried_and_succeeds(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "reset", "count": 1}])

    assert runner.call("run", MODEL, PROMPT)["response"]
    assert _attempts(runner.server) == 2


def test_reset_before_a_stream_is_retried(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "reset", "count": 1}])

    streamed: Streamed = runner.call("stream_chat", MODEL, CHAT)

    assert streamed.stream.result().text
    assert _attempts(runner.server) == 2


def test_slow_first_byte_beyond_the_timeout_is_a_retried_timeout(slow_runner: Runner) -> None:
    with pytest.raises(APITimeoutError):
        slow_runner.call(
            "run",
            MODEL,
            PROMPT,
            headers=_fault("slow_first_byte;after=500"),
            client_kwargs={"timeout": 0.1, "max_retries": 1},
        )

    assert _attempts(slow_runner.server) == 2
    assert len(slow_runner.sleeps) == 1 and _backoff_ok(slow_runner.sleeps)


@pytest.mark.parametrize("method", ["run", "stream_chat"])
def test_slow_first_byte_within_the_timeout_still_answers(runner: Runner, method: str) -> None:
    inputs = PROMPT if method == "run" else CHAT

    out = runner.call(method, MODEL, inputs, headers=_fault("slow_first_byte;after=20"))

    text = out["response"] if method == "run" else out.stream.result().text
    assert text
    assert _attempts(runner.server) == 1


# -- malformed JSON ----------------------------------------------------------------------------


def test_malformed_json_body_is_a_validation_error_not_retried(runner: Runner) -> None:
    with pytest.raises(APIResponseValidationError) as info:
        runner.call("run", MODEL, PROMPT, headers=_fault("malformed_json"))

    assert "non-JSON" in info.value.message
    assert _attempts(runner.server) == 1 and runner.sleeps == []


def test_malformed_json_mid_stream_is_a_stream_error_not_retried(runner: Runner) -> None:
    streamed: Streamed = runner.call(
        "stream", MODEL, PROMPT, headers=_fault("malformed_json;after=2"), keep_error=True
    )

    assert isinstance(streamed.error, StreamError)
    assert "malformed JSON" in streamed.error.message
    assert len(streamed.items) == 2
    assert _attempts(runner.server) == 1 and runner.sleeps == []


def test_malformed_first_stream_event_is_retried(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "malformed_json", "count": 1, "after": 0}])

    streamed: Streamed = runner.call("stream_chat", MODEL, CHAT)

    assert streamed.stream.result().text
    assert _attempts(runner.server) == 2


# -- stream faults -----------------------------------------------------------------------------


def test_stream_cut_mid_stream_is_a_stream_error_not_retried(runner: Runner) -> None:
    streamed: Streamed = runner.call(
        "stream_chat", MODEL, CHAT, headers=_fault("stream_cut;after=3"), keep_error=True
    )

    assert isinstance(streamed.error, StreamError)
    assert "[DONE]" in streamed.error.message
    received = "".join(d.text for d in streamed.items)
    assert received  # the caller saw the first tokens: they must not be repeated by a retry
    assert _attempts(runner.server) == 1 and runner.sleeps == []


def test_stream_cut_before_any_event_is_retried(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "stream_cut", "count": 1, "after": 0}])

    streamed: Streamed = runner.call("stream_chat", MODEL, CHAT)

    assert streamed.stream.result().text
    assert _attempts(runner.server) == 2


def test_error_event_at_stream_start_is_retried_and_succeeds(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "stream_error", "count": 1, "after": 0}])

    streamed: Streamed = runner.call("stream_chat", MODEL, CHAT)
    whole = runner.call("chat", MODEL, CHAT)

    assert streamed.stream.result().text == whole.result.text
    assert sum(d.usage is not None for d in streamed.items) == 1
    stats = runner.server.stats()
    assert stats["by_route"] == {RUN_ROUTE: 3}  # two stream attempts + the chat call
    assert stats["by_fault"] == {"stream_error": 1}
    assert len(runner.sleeps) == 1


def test_error_event_mid_stream_is_a_stream_error_not_retried(runner: Runner) -> None:
    streamed: Streamed = runner.call(
        "stream_chat", MODEL, CHAT, headers=_fault("stream_error;after=2"), keep_error=True
    )

    error = streamed.error
    assert isinstance(error, StreamError)
    assert error.code == 3040 and error.error_class is CapacityError
    assert "".join(d.text for d in streamed.items)
    assert _attempts(runner.server) == 1 and runner.sleeps == []


def test_stream_faults_do_not_touch_json_answers(runner: Runner) -> None:
    assert runner.call("run", MODEL, PROMPT, headers=_fault("stream_cut;after=1"))["response"]


# -- limits and latency ------------------------------------------------------------------------


def test_rate_limit_per_minute_gives_429_3021_with_retry_after(runner: Runner) -> None:
    runner.server.configure(rate_limit_per_minute=2)
    no_retry = {"max_retries": 0}

    runner.call("run", MODEL, PROMPT, client_kwargs=no_retry)
    runner.call("run", MODEL, PROMPT, client_kwargs=no_retry)
    with pytest.raises(RateLimitError) as info:
        runner.call("run", MODEL, PROMPT, client_kwargs=no_retry)

    assert (info.value.status_code, info.value.code) == (429, 3021)
    assert 1 <= int(info.value.headers["retry-after"]) <= 60
    assert runner.server.stats()["by_status"] == {"200": 2, "429": 1}


def test_rate_limit_retries_wait_the_servers_retry_after(runner: Runner) -> None:
    runner.server.configure(rate_limit_per_minute=1)
    runner.call("run", MODEL, PROMPT)

    with pytest.raises(RateLimitError) as info:
        runner.call("run", MODEL, PROMPT)

    retry_after = float(info.value.headers["retry-after"])
    assert runner.sleeps == [retry_after, retry_after]
    assert _attempts(runner.server) == 1 + 3


def test_rate_limit_is_per_task(runner: Runner) -> None:
    runner.server.configure(rate_limit_per_minute={"Text Generation": 1})
    runner.call("run", MODEL, PROMPT)

    assert runner.call("run", BGE_SMALL, {"text": ["still allowed"]})["shape"] == [1, 384]
    with pytest.raises(RateLimitError):
        runner.call("run", MODEL, PROMPT, client_kwargs={"max_retries": 0})


def test_configured_latency_beyond_the_timeout_times_out(slow_runner: Runner) -> None:
    slow_runner.server.configure(latency_ms=500)

    with pytest.raises(APITimeoutError):
        slow_runner.call("run", MODEL, PROMPT, client_kwargs={"timeout": 0.1, "max_retries": 1})

    assert _attempts(slow_runner.server) == 2  # a timeout is retried
    assert len(slow_runner.sleeps) == 1


def test_per_request_latency_header_applies_to_that_request_only(slow_runner: Runner) -> None:
    slow = {"x-emulator-latency-ms": "500"}
    quick = {"timeout": 0.1, "max_retries": 0}

    with pytest.raises(APITimeoutError):
        slow_runner.call("run", MODEL, PROMPT, headers=slow, client_kwargs=quick)
    assert slow_runner.call("run", MODEL, PROMPT, client_kwargs={"max_retries": 0})["response"]


def test_latency_within_the_timeout_is_transparent(runner: Runner) -> None:
    runner.server.configure(latency_ms=5, jitter_ms=5)

    assert runner.call("run", MODEL, PROMPT)["response"]
    assert _attempts(runner.server) == 1


# -- stats and control routes ------------------------------------------------------------------


def test_stats_route_counts_requests_per_route_and_model(runner: Runner) -> None:
    runner.call("run", MODEL, PROMPT)
    runner.call("run", BGE_SMALL, {"text": ["a"]})
    runner.call("openai", "chat/completions", {"model": MODEL, **CHAT})

    url, auth = f"{runner.server.root_url}/__emulator/stats", runner.server.control_headers()
    stats = httpx.get(url, headers=auth).json()

    assert stats["requests"] == 3
    assert stats["by_route"] == {RUN_ROUTE: 2, "POST /ai/v1/chat/completions": 1}
    assert stats["by_model"] == {MODEL: 2, BGE_SMALL: 1}
    assert stats["by_status"] == {"200": 3}
    assert stats == runner.server.stats()


def test_reset_route_clears_the_stats(emulator: EmulatorServer) -> None:
    with emulator.client() as client:
        client.run(MODEL, PROMPT)

    url = f"{emulator.root_url}/__emulator/reset"
    httpx.post(url, headers=emulator.control_headers()).raise_for_status()

    assert emulator.stats()["requests"] == 0


def test_control_route_sets_and_clears_server_wide_faults(runner: Runner) -> None:
    control = f"{runner.server.root_url}/__emulator/faults"
    auth = runner.server.control_headers()

    set_ = httpx.post(control, json={"faults": [{"kind": "capacity", "count": 1}]}, headers=auth)
    assert set_.status_code == 200
    assert runner.call("run", MODEL, PROMPT)["response"]
    assert _attempts(runner.server) == 2  # one capacity error, one retry

    httpx.post(control, json={"faults": [{"kind": "quota"}]}, headers=auth).raise_for_status()
    with pytest.raises(QuotaExceededError):
        runner.call("run", MODEL, PROMPT)
    cleared = httpx.delete(control, headers=auth)
    assert cleared.status_code == 200
    assert runner.call("run", MODEL, PROMPT)["response"]


def test_control_route_rejects_a_bad_fault(emulator: EmulatorServer) -> None:
    response = httpx.post(
        f"{emulator.root_url}/__emulator/faults",
        json={"faults": [{"kind": "meteor"}]},
        headers=emulator.control_headers(),
    )

    assert response.status_code == 400
    assert "meteor" in response.json()["errors"][0]["message"]


def test_control_route_sets_latency_and_rate_limit(runner: Runner) -> None:
    control = f"{runner.server.root_url}/__emulator/faults"
    auth = runner.server.control_headers()
    httpx.post(control, json={"rate_limit_per_minute": 1}, headers=auth).raise_for_status()

    runner.call("run", MODEL, PROMPT)
    with pytest.raises(RateLimitError):
        runner.call("run", MODEL, PROMPT, client_kwargs={"max_retries": 0})


def test_fault_scoped_to_a_model_spares_other_models(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "quota", "model": MODEL}])

    assert runner.call("run", BGE_SMALL, {"text": ["fine"]})["shape"] == [1, 384]
    with pytest.raises(QuotaExceededError):
        runner.call("run", MODEL, PROMPT)


def test_fault_scoped_to_a_route_spares_other_routes(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "quota", "route": "openai"}])

    assert runner.call("run", MODEL, PROMPT)["response"]
    with pytest.raises(QuotaExceededError):
        runner.call("chat", MODEL, CHAT, endpoint="openai")


def test_model_schema_of_an_unknown_model_is_5007(runner: Runner) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        runner.call("model_schema", "@cf/nobody/no-such-model")

    assert info.value.code == 5007


def test_openai_route_errors_are_typed_too(runner: Runner) -> None:
    with pytest.raises(ModelNotFoundError):
        runner.call("openai", "chat/completions", {"model": "@cf/nobody/x", **CHAT})
    with pytest.raises(BadRequestError) as info:
        body = {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]}
        runner.call("openai", "chat/completions", body)
    assert info.value.code == 5006 and "role" in info.value.message


def test_bad_fault_header_is_a_5006(runner: Runner) -> None:
    with pytest.raises(BadRequestError) as info:
        runner.call("run", MODEL, PROMPT, headers=_fault("meteor"))

    assert info.value.code == 5006 and "meteor" in info.value.message


# -- the CLI -----------------------------------------------------------------------------------


def _read_lines_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """Lines of ``proc.stdout`` up to the one containing ``marker`` (bounded wait)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {marker!r} from the CLI within {timeout}s: {seen}") from None
        if line is None:
            raise AssertionError(f"the CLI exited before printing {marker!r}: {seen}")
        seen.append(line.rstrip("\n"))
        if marker in line:
            return seen


def test_cli_prints_working_connection_values() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workers_ai.emulator",
            "--port",
            "0",
            "--account-id",
            "cli-account",
            "--api-token",
            "cli-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = _read_lines_until(proc, "Stats:", timeout=20)
        base = next(re.search(r"Base URL: (\S+)", ln) for ln in lines if "Base URL:" in ln)
        assert base is not None
        exports = dict(m.groups() for ln in lines if (m := re.match(r"\s*export (\w+)=(\S+)", ln)))
        assert exports["WORKERS_AI_BASE_URL"] == base.group(1)
        assert re.match(r"http://127\.0\.0\.1:\d+/client/v4$", base.group(1))
        assert "NOT real" in lines[0]
        assert exports["CLOUDFLARE_ACCOUNT_ID"] == "cli-account"
        assert exports["CLOUDFLARE_API_TOKEN"] == "cli-token"

        with WorkersAIClient(
            account_id=exports["CLOUDFLARE_ACCOUNT_ID"],
            api_token=exports["CLOUDFLARE_API_TOKEN"],
            base_url=exports["WORKERS_AI_BASE_URL"],
            timeout=10,
        ) as client:
            result = client.run(MODEL, PROMPT)
        assert result["response"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
