"""Reliability and security hardening of the emulator, as a user of it would notice.

- The control routes (``/__emulator/*``) answer Cloudflare's 401 / code 10000 envelope, the one
  the API answers, unless they get the API token (or the server runs with ``open_control``); a
  refused control request changes nothing.
- Malformed or absurdly nested JSON bodies get a 400 / code 5006 envelope on every route,
  never a 500, and the server keeps serving.
- A bad runtime configuration is refused whole: the server stays usable.
- The ``reset_mid_body`` fault sends the status, the headers and part of the body, then drops
  the connection; the core client turns it into a retried ``APIConnectionError``.
- Stats count dropped connections (``reset``, ``reset_mid_body``) under ``"reset"``.
- The CLI prints that the control routes need the token, honours ``--open-control`` and warns
  on stderr when it listens beyond loopback.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.clients import Streamed
from tests.support.emulator import Runner
from workers_ai import APIConnectionError, APITimeoutError, WorkersAIClient
from workers_ai.emulator import DEFAULT_API_TOKEN, EmulatorServer, FaultSpec
from workers_ai.emulator.faults import FaultConfigError

MODEL = "@cf/meta/llama-3.1-8b-instruct"
BGE_SMALL = "@cf/baai/bge-small-en-v1.5"
PROMPT = {"prompt": "Tell me about lighthouses"}
CHAT = {"messages": [{"role": "user", "content": "Tell me about lighthouses"}]}
AUTH_ERROR = {
    "result": None,
    "success": False,
    "errors": [{"code": 10000, "message": "Authentication error"}],
    "messages": [],
}

#: Every control route, with a body that is valid for it.
CONTROL_CALLS = [
    pytest.param("GET", "stats", None, id="GET-stats"),
    pytest.param("POST", "reset", None, id="POST-reset"),
    pytest.param("POST", "faults", {"latency_ms": 0}, id="POST-faults"),
    pytest.param("PUT", "faults", {"faults": []}, id="PUT-faults"),
    pytest.param("DELETE", "faults", None, id="DELETE-faults"),
]

BAD_AUTH = [
    pytest.param({}, id="no-header"),
    pytest.param({"Authorization": "Bearer not-the-token"}, id="wrong-token"),
    pytest.param({"Authorization": DEFAULT_API_TOKEN}, id="token-without-bearer"),
    pytest.param({"Authorization": f"Basic {DEFAULT_API_TOKEN}"}, id="basic-scheme"),
    pytest.param({"Authorization": "Bearer"}, id="bearer-without-token"),
]


def _control(
    server: EmulatorServer, method: str, action: str, payload: Any, headers: dict[str, str]
) -> httpx.Response:
    url = f"{server.root_url}/__emulator/{action}"
    return httpx.request(method, url, json=payload, headers=headers, timeout=10)


def _run_url(server: EmulatorServer, model: str = MODEL) -> str:
    return f"{server.base_url}/accounts/{server.account_id}/ai/run/{model}"


def _fault(value: str) -> dict[str, str]:
    return {"x-emulator-fault": value}


@pytest.fixture(scope="module")
def open_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(open_control=True) as server:
        yield server


@pytest.fixture(scope="module")
def custom_token_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_token="a-custom-token") as server:
        yield server


# -- control routes need the API token ---------------------------------------------------------


@pytest.mark.parametrize(("method", "action", "payload"), CONTROL_CALLS)
@pytest.mark.parametrize("headers", BAD_AUTH)
def test_control_routes_refuse_a_missing_or_wrong_token_like_the_api(
    emulator: EmulatorServer, method: str, action: str, payload: Any, headers: dict[str, str]
) -> None:
    response = _control(emulator, method, action, payload, headers)
    api = httpx.post(_run_url(emulator), json=PROMPT, headers=headers)

    assert response.status_code == api.status_code == 401
    assert response.json() == api.json() == AUTH_ERROR
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("method", "action", "payload"), CONTROL_CALLS)
def test_control_routes_accept_the_api_token(
    emulator: EmulatorServer, method: str, action: str, payload: Any
) -> None:
    response = _control(emulator, method, action, payload, emulator.control_headers())

    assert response.status_code == 200, response.text


def test_unknown_control_action_with_the_token_is_no_route(emulator: EmulatorServer) -> None:
    response = _control(emulator, "GET", "meteor", None, emulator.control_headers())

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 7000


def test_refused_control_requests_change_nothing(emulator: EmulatorServer) -> None:
    with emulator.client() as client:
        client.run(MODEL, PROMPT)
    wrong = {"Authorization": "Bearer not-the-token"}

    _control(emulator, "POST", "reset", None, wrong)
    _control(emulator, "POST", "faults", {"faults": [{"kind": "quota"}], "latency_ms": 9}, wrong)

    assert emulator.stats()["requests"] == 1
    assert emulator.app.config.latency_ms == 0
    with emulator.client(max_retries=0) as client:
        assert client.run(MODEL, PROMPT)["response"]


def test_stats_route_with_the_token_matches_stats(runner: Runner) -> None:
    runner.call("run", MODEL, PROMPT)
    server = runner.server

    over_http = _control(server, "GET", "stats", None, server.control_headers()).json()

    assert over_http["requests"] == 1
    assert over_http == server.stats()


def test_control_headers_carry_a_custom_token(custom_token_emulator: EmulatorServer) -> None:
    server = custom_token_emulator
    default = {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}

    assert server.control_headers() == {"Authorization": "Bearer a-custom-token"}
    assert _control(server, "GET", "stats", None, server.control_headers()).status_code == 200
    assert _control(server, "GET", "stats", None, default).status_code == 401


@pytest.mark.parametrize(("method", "action", "payload"), CONTROL_CALLS)
def test_open_control_serves_control_routes_without_a_token(
    open_emulator: EmulatorServer, method: str, action: str, payload: Any
) -> None:
    response = _control(open_emulator, method, action, payload, {})

    assert response.status_code == 200, response.text


def test_open_control_leaves_the_api_guarded(open_emulator: EmulatorServer) -> None:
    response = httpx.post(_run_url(open_emulator), json=PROMPT)

    assert response.status_code == 401
    assert response.json() == AUTH_ERROR


def test_the_in_process_controls_need_no_token(runner: Runner) -> None:
    runner.server.configure(faults=[{"kind": "capacity", "count": 1}])
    runner.call("run", MODEL, PROMPT)

    assert runner.server.stats()["by_status"] == {"429": 1, "200": 1}
    runner.server.reset()
    assert runner.server.stats()["requests"] == 0


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback_serves_quietly() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        server = EmulatorServer(host="::1")
    with server, server.client() as client:
        assert server.root_url.startswith("http://[::1]:")
        assert client.run(MODEL, PROMPT)["response"]


# -- malformed and deeply nested bodies --------------------------------------------------------


def _routes(server: EmulatorServer) -> dict[str, str]:
    account = f"{server.base_url}/accounts/{server.account_id}"
    gateway = f"{server.gateway_base_url}/{server.account_id}/my-gateway"
    return {
        "run-chat": f"{account}/ai/run/{MODEL}",
        "run-embeddings": f"{account}/ai/run/{BGE_SMALL}",
        "run-asr": f"{account}/ai/run/@cf/openai/whisper",
        "openai-chat": f"{account}/ai/v1/chat/completions",
        "openai-embeddings": f"{account}/ai/v1/embeddings",
        "openai-responses": f"{account}/ai/v1/responses",
        "gateway-run": f"{gateway}/workers-ai/{MODEL}",
        "gateway-compat": f"{gateway}/compat/chat/completions",
        "gateway-universal": gateway,
    }


DEEP = 100_000
BAD_BODIES = [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b'{"prompt": "unterminated', id="truncated"),
    pytest.param(b"[" * DEEP, id="100k-open-brackets"),
    pytest.param(b"{" * DEEP, id="100k-open-braces"),
    pytest.param(b'{"prompt": ' + b"[" * DEEP + b"]" * DEEP + b"}", id="100k-levels-balanced"),
    pytest.param(b'{"model": ' + b"[" * DEEP + b"}", id="100k-levels-in-model"),
    pytest.param(b'{"prompt": ' + b"[" * 128 + b"]" * 128 + b"}", id="129-levels"),
    pytest.param(b'{"prompt": "\xff\xfe"}', id="not-utf8"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize(
    "route",
    [
        "run-chat",
        "run-embeddings",
        "run-asr",
        "openai-chat",
        "openai-embeddings",
        "openai-responses",
        "gateway-run",
        "gateway-compat",
        "gateway-universal",
    ],
)
def test_bad_json_body_is_a_400_5006_envelope_on_every_route(
    emulator: EmulatorServer, route: str, body: bytes
) -> None:
    headers = {**emulator.control_headers(), "content-type": "application/json"}

    response = httpx.post(_routes(emulator)[route], content=body, headers=headers, timeout=10)

    assert response.status_code == 400, response.text
    payload = response.json()
    assert set(payload) == {"result", "success", "errors", "messages"}
    assert payload["success"] is False
    assert payload["errors"][0]["code"] == 5006
    assert "JSON" in payload["errors"][0]["message"]


def test_too_deep_body_names_the_limit(emulator: EmulatorServer) -> None:
    body = b'{"prompt": ' + b"[" * DEEP + b"]" * DEEP + b"}"

    response = httpx.post(_run_url(emulator), content=body, headers=emulator.control_headers())

    assert "nested more than 128 levels" in response.json()["errors"][0]["message"]


def test_nesting_within_the_limit_is_validated_as_usual(emulator: EmulatorServer) -> None:
    body = b'{"prompt": ' + b"[" * 100 + b"]" * 100 + b"}"

    response = httpx.post(_run_url(emulator), content=body, headers=emulator.control_headers())

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 5006
    assert "prompt" in response.json()["errors"][0]["message"]


def test_brackets_inside_strings_are_not_nesting(runner: Runner) -> None:
    prompt = "[" * 5000 + " what are these brackets? " + "{" * 5000

    assert runner.call("run", MODEL, {"prompt": prompt})["response"]


def test_deeply_nested_guided_json_string_does_not_break_the_answer(runner: Runner) -> None:
    result = runner.call("run", MODEL, {**CHAT, "guided_json": "[" * DEEP})

    assert result["response"] is not None


def test_the_server_keeps_serving_after_hostile_bodies(runner: Runner) -> None:
    headers = runner.server.control_headers()
    for body in (b"[" * DEEP, b"{" * DEEP, b"{not json"):
        httpx.post(_run_url(runner.server), content=body, headers=headers)

    assert runner.call("run", MODEL, PROMPT)["response"]
    assert runner.server.stats()["by_status"] == {"400": 3, "200": 1}


def test_too_deep_control_body_is_a_400(emulator: EmulatorServer) -> None:
    url = f"{emulator.root_url}/__emulator/faults"

    response = httpx.post(url, content=b"[" * DEEP, headers=emulator.control_headers())

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 5006


# -- a bad runtime configuration is refused whole ----------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"latency_ms": "slow"}, id="latency-text"),
        pytest.param({"latency_ms": -5}, id="latency-negative"),
        pytest.param({"jitter_ms": None}, id="jitter-null"),
        pytest.param({"rate_limit_per_minute": 2.5}, id="rate-limit-fraction"),
        pytest.param({"rate_limit_per_minute": {"Text Generation": "x"}}, id="rate-limit-map"),
        pytest.param({"usage_per_chunk": "yes"}, id="usage-text"),
        pytest.param({"faults": "capacity"}, id="faults-not-a-list"),
        pytest.param({"faults": [5]}, id="fault-not-an-object"),
        pytest.param({"faults": [{"kind": "capacity", "status": "abc"}]}, id="status-text"),
        pytest.param({"faults": [{"kind": "capacity", "status": 99}]}, id="status-99"),
        pytest.param({"faults": [{"kind": "stream_cut", "after": 1.5}]}, id="after-fraction"),
        pytest.param({"faults": [{"kind": ["capacity"]}]}, id="kind-list"),
        pytest.param({"latency_ms": 5000, "faults": [{"kind": "meteor"}]}, id="half-good"),
        pytest.param([1, 2], id="not-an-object"),
        pytest.param({"open_control": True}, id="open-control-not-at-run-time"),
    ],
)
def test_bad_runtime_configuration_is_refused_and_changes_nothing(
    runner: Runner, payload: Any
) -> None:
    server = runner.server
    url = f"{server.root_url}/__emulator/faults"

    response = httpx.post(url, json=payload, headers=server.control_headers())

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 5006
    assert (server.app.config.latency_ms, server.app.config.open_control) == (0, False)
    assert runner.call("run", MODEL, PROMPT, client_kwargs={"max_retries": 0})["response"]
    assert server.stats()["by_status"] == {"200": 1}


def test_configure_refuses_a_bad_setting_before_changing_anything(
    emulator: EmulatorServer,
) -> None:
    with pytest.raises(FaultConfigError, match="latency_ms"):
        emulator.configure(latency_ms="slow", faults=[{"kind": "quota"}])

    with emulator.client(max_retries=0) as client:
        assert client.run(MODEL, PROMPT)["response"]


# -- reset_mid_body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "sent"),
    [
        pytest.param("reset_mid_body", lambda n: n // 2, id="half-by-default"),
        pytest.param("reset_mid_body;after=10", lambda n: 10, id="after-10-bytes"),
    ],
)
def test_reset_mid_body_sends_headers_then_part_of_the_body(
    emulator: EmulatorServer, fault: str, sent: Any
) -> None:
    url, auth = _run_url(emulator), emulator.control_headers()
    whole = httpx.post(url, json=PROMPT, headers=auth).content
    received = bytearray()

    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", url, json=PROMPT, headers={**auth, **_fault(fault)}) as response,
    ):
        assert response.status_code == 200
        length = int(response.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_raw():
                received += chunk

    assert length == len(whole)
    assert len(received) == sent(length)
    assert whole.startswith(bytes(received))
    stats = emulator.stats()
    assert stats["by_status"] == {"200": 1, "reset": 1}
    assert stats["by_fault"] == {"reset_mid_body": 1}


RETRIED_CALLS = [
    pytest.param("run", (MODEL, PROMPT), id="run-chat"),
    pytest.param("run", (BGE_SMALL, {"text": ["a lighthouse"]}), id="run-embeddings"),
    pytest.param("openai", ("chat/completions", {"model": MODEL, **CHAT}), id="openai-chat"),
]


@pytest.mark.parametrize(("method", "args"), RETRIED_CALLS)
def test_reset_mid_body_is_a_retried_connection_error(
    runner: Runner, method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(APIConnectionError) as info:
        runner.call(method, *args, headers=_fault("reset_mid_body"))

    assert not isinstance(info.value, APITimeoutError)
    assert "Connection error" in info.value.message
    stats = runner.server.stats()
    assert stats["requests"] == 3  # the first attempt and two retries
    assert stats["by_status"] == {"reset": 3}
    assert stats["by_fault"] == {"reset_mid_body": 3}
    assert len(runner.sleeps) == 2


@pytest.mark.parametrize(("method", "args"), RETRIED_CALLS)
def test_one_reset_mid_body_is_retried_and_succeeds(
    runner: Runner, method: str, args: tuple[Any, ...]
) -> None:
    runner.server.configure(faults=[FaultSpec("reset_mid_body", count=1)])

    assert runner.call(method, *args)
    stats = runner.server.stats()
    assert stats["by_status"] == {"reset": 1, "200": 1}
    assert stats["by_fault"] == {"reset_mid_body": 1}
    assert len(runner.sleeps) == 1


def test_reset_mid_body_leaves_streams_alone(runner: Runner) -> None:
    whole = runner.call("chat", MODEL, CHAT).result.text

    streamed: Streamed = runner.call("stream_chat", MODEL, CHAT, headers=_fault("reset_mid_body"))

    assert streamed.stream.result().text == whole
    assert runner.server.stats()["by_status"] == {"200": 2}


# -- stats count dropped connections -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["reset", "reset_mid_body"])
def test_dropped_connections_are_counted_as_resets_not_200(runner: Runner, kind: str) -> None:
    runner.server.configure(faults=[{"kind": kind, "count": 2}])

    assert runner.call("run", MODEL, PROMPT)["response"]

    stats = runner.server.stats()
    assert stats["requests"] == 3
    assert stats["by_status"] == {"reset": 2, "200": 1}
    assert stats["by_fault"] == {kind: 2}


# -- the CLI -----------------------------------------------------------------------------------


class _CLI:
    """``python -m workers_ai.emulator`` on a free port: stdout up to ``Stats:``, then stderr."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers_ai.emulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.stdout = self._read_until("Stats:", timeout=20)
        base = next(ln.split(": ", 1)[1] for ln in self.stdout if ln.startswith("Base URL"))
        port = base.rsplit(":", 1)[1].split("/", 1)[0]
        self.root = f"http://127.0.0.1:{port}"

    def _read_until(self, marker: str, timeout: float) -> list[str]:
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        seen: list[str] = []
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {marker!r} from the CLI: {seen}") from None
            if line is None:
                raise AssertionError(f"the CLI exited before {marker!r}: {seen}")
            seen.append(line.rstrip("\n"))
            if line.startswith(marker):
                return seen

    def stop(self) -> str:
        """Stop the CLI; its stderr."""
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
        return str(err)


@pytest.mark.parametrize(
    ("args", "open_", "warned"),
    [
        pytest.param((), False, False, id="defaults"),
        pytest.param(("--open-control",), True, False, id="open-control"),
        pytest.param(("--host", "localhost"), False, False, id="localhost"),
        pytest.param(("--host", "0.0.0.0"), False, True, id="all-interfaces"),
    ],
)
def test_cli_control_auth_hint_and_network_warning(
    args: tuple[str, ...], open_: bool, warned: bool
) -> None:
    cli = _CLI(*args)
    try:
        hint = cli.stdout[-1]
        stats = f"{cli.root}/__emulator/stats"
        without = httpx.get(stats, timeout=10)
        with_token = httpx.get(
            stats, headers={"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}, timeout=10
        )
    finally:
        stderr = cli.stop()

    assert hint.startswith("Stats: GET /__emulator/stats")
    if open_:
        assert "no token needed" in hint
        assert without.status_code == 200
    else:
        assert "Authorization: Bearer $CLOUDFLARE_API_TOKEN" in hint
        assert without.status_code == 401 and without.json() == AUTH_ERROR
    assert with_token.status_code == 200
    assert ("WARNING" in stderr) is warned, stderr
    if warned:
        assert "reachable from the network" in stderr and "no real security" in stderr
        assert stderr.count("reachable from the network") == 1  # not also as a UserWarning


def test_cli_rejects_an_unknown_fault_kind_without_a_traceback() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "workers_ai.emulator", "--port", "0", "--fault", "meteor"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert run.returncode == 2
    assert "meteor" in run.stderr and "Traceback" not in run.stderr


def test_cli_fault_flag_accepts_reset_mid_body() -> None:
    cli = _CLI("--fault", "reset_mid_body")
    try:
        with WorkersAIClient(
            account_id="emulator-account",
            api_token=DEFAULT_API_TOKEN,
            base_url=f"{cli.root}/client/v4",
            max_retries=0,
            timeout=10,
        ) as client:
            with pytest.raises(APIConnectionError):
                client.run(MODEL, PROMPT)
    finally:
        cli.stop()
