"""The emulator's async batch API (spec §10) as a test bed for bulk clients.

``POST /ai/run/{model}?queueRequest=true`` with ``{"requests": [...]}`` queues a job; posting
``{"request_id": ...}`` answers ``queued``/``running`` until it is done, then the responses.
Covered here over HTTP, mostly through the public helpers of :mod:`workers_ai.batch_api`: the
processing delay (on the emulator's clock, faked, so no test sleeps), failed items, the flat
and nested result shapes, out-of-order responses, usage, faults on submit and poll, runtime
configuration by the control route and the checks of bad settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from tests.support.emulator import DEFAULT_RUNTIME
from tests.support.waits import Waits, fake_waits
from workers_ai import (
    APIStatusError,
    AsyncWorkersAIClient,
    BadRequestError,
    CapacityError,
    InternalServerError,
    ModelNotFoundError,
    WorkersAIClient,
)
from workers_ai.batch_api import (
    BatchJobError,
    Send,
    ordered_results,
    parse_status,
    parse_submit,
    submit_job,
    wait_for_job,
)
from workers_ai.embeddings import BatchPollPolicy
from workers_ai.emulator import EmulatorConfig, EmulatorServer, facts
from workers_ai.emulator import __main__ as cli
from workers_ai.emulator import app as app_module

LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
LLAMA31 = "@cf/meta/llama-3.1-8b-instruct"  # no async_queue (spec §10)
BGE_SMALL = "@cf/baai/bge-small-en-v1.5"
QUEUE = {"queueRequest": "true"}
TOPICS = ["lighthouses", "glaciers", "volcanoes", "tides", "comets"]

#: The batch settings as the emulator starts (``clean_emulator`` does not restore them).
BATCH_DEFAULTS: dict[str, Any] = {
    k: v for k, v in DEFAULT_RUNTIME.items() if k.startswith("batch_")
}


class FakeClock:
    """The emulator's monotonic clock, moved only by the test (or the client's poll waits)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay


@pytest.fixture
def batch(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """The clean emulator with its batch settings at their defaults before and after."""
    emulator.configure(**BATCH_DEFAULTS)
    fake_waits(monkeypatch)  # the client's retry waits are recorded, not slept
    yield emulator
    emulator.configure(**BATCH_DEFAULTS)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(app_module, "_clock", fake)
    return fake


@pytest.fixture
def client(batch: EmulatorServer) -> Iterator[WorkersAIClient]:
    """A client that does not retry, so every fault reaches the test."""
    with batch.client(max_retries=0) as one:
        yield one


def _sender(client: AsyncWorkersAIClient) -> Send:
    """The client's ``run`` as the batch helpers' ``send``."""

    async def send(
        model: str, body: Mapping[str, Any], *, params: Mapping[str, Any] | None = None
    ) -> Any:
        return await client.run(model, body, params=params)

    return send


def _jokes(count: int) -> list[dict[str, Any]]:
    return [
        {"prompt": f"Tell me about {TOPICS[i % 5]}", "external_reference": f"ref{i}"}
        for i in range(count)
    ]


def _submit(client: WorkersAIClient, model: str, requests: list[Any], **kw: Any) -> str:
    return parse_submit(client.run(model, {"requests": requests}, params=QUEUE, **kw))


def _poll(client: WorkersAIClient, model: str, request_id: str, **kw: Any) -> Any:
    return client.run(model, {"request_id": request_id}, params=QUEUE, **kw)


def _finished(client: WorkersAIClient, model: str, request_id: str) -> dict[str, Any]:
    for _ in range(5):
        answer = _poll(client, model, request_id)
        if "responses" in answer:
            return dict(answer)
    raise AssertionError(f"job {request_id} still pending: {answer}")


def _control(server: EmulatorServer, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{server.root_url}/__emulator/faults", json=payload, headers=server.control_headers()
    )


# -- pending, then done ------------------------------------------------------------------------


def test_a_job_pends_until_its_delay_has_passed(
    batch: EmulatorServer, client: WorkersAIClient, clock: FakeClock
) -> None:
    batch.configure(batch_delay_s=30.0, batch_pending_polls=1)
    request_id = _submit(client, LLAMA33, _jokes(2))

    first = _poll(client, LLAMA33, request_id)
    second = _poll(client, LLAMA33, request_id)  # past the pending polls, not the delay
    clock.now += 29.9
    third = _poll(client, LLAMA33, request_id)
    clock.now += 0.1
    done = _poll(client, LLAMA33, request_id)

    assert first == {"status": "queued", "request_id": request_id}
    assert second == third == {"status": "running", "request_id": request_id}
    assert parse_status(done, request_id).done
    assert sorted(item["id"] for item in done["responses"]) == [0, 1]


def test_a_job_pends_until_its_polls_have_happened(
    batch: EmulatorServer, client: WorkersAIClient, clock: FakeClock
) -> None:
    batch.configure(batch_delay_s=5.0, batch_pending_polls=3)
    request_id = _submit(client, BGE_SMALL, [{"text": "a passage"}])
    clock.now += 60  # the delay is over; the polls are not

    statuses = [_poll(client, BGE_SMALL, request_id).get("status") for _ in range(4)]

    assert statuses == ["queued", "running", "running", None]  # the fourth has the responses


def test_without_delay_or_pending_polls_the_first_poll_answers(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    batch.configure(batch_pending_polls=0)
    request_id = _submit(client, BGE_SMALL, [{"text": "a passage"}])

    assert parse_status(_poll(client, BGE_SMALL, request_id), request_id).done


async def test_wait_for_job_polls_through_the_delay(
    batch: EmulatorServer, clock: FakeClock
) -> None:
    """The client's poll waits move the emulator's clock: waits of 1, 2, 4, 8 s pass 15 s."""
    batch.configure(batch_delay_s=10.0, batch_pending_polls=1)
    policy = BatchPollPolicy(interval=1.0, multiplier=2.0, max_interval=60.0, timeout=None)
    texts = [f"passage about {topic}" for topic in TOPICS]

    async with batch.async_client(max_retries=0) as client:
        request_id = await submit_job(_sender(client), BGE_SMALL, [{"text": t} for t in texts])
        status = await wait_for_job(
            _sender(client), BGE_SMALL, request_id, policy, sleep=clock.sleep, clock=clock
        )

    assert status.done and clock.now == 1000.0 + 1 + 2 + 4 + 8
    assert batch.stats()["by_route"]["POST /ai/run/{model}"] == 1 + 4
    assert len(ordered_results(status, expected=len(texts))) == len(texts)


# -- failed items ------------------------------------------------------------------------------


def test_configured_items_fail_like_a_failed_inference(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    batch.configure(batch_failed_items=[1, 3, 99])  # 99: no such input, ignored
    request_id = _submit(client, LLAMA33, _jokes(5))

    status = parse_status(_finished(client, LLAMA33, request_id), request_id)

    failed = {item.id: item for item in status.items if not item.success}
    assert sorted(failed) == [1, 3]
    for item in failed.values():
        assert item.result is None and item.external_reference == f"ref{item.id}"
        assert item.errors[0]["code"] == 3030 and item.errors[0]["message"].startswith("AiError")
    with pytest.raises(BatchJobError) as info:
        ordered_results(status, expected=5)
    assert [item.id for item in info.value.failures] == [1, 3]
    assert info.value.request_id == request_id


def test_a_header_fails_items_of_one_job_only(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    marked = _submit(client, BGE_SMALL, [{"text": "a"}, {"text": "b"}], headers=_fail("0"))
    plain = _submit(client, BGE_SMALL, [{"text": "a"}, {"text": "b"}])

    marked_items = parse_status(_finished(client, BGE_SMALL, marked), marked).items
    plain_items = parse_status(_finished(client, BGE_SMALL, plain), plain).items

    assert [item.success for item in marked_items] == [False, True]
    assert [item.success for item in plain_items] == [True, True]


def _fail(indices: str) -> dict[str, str]:
    return {"x-emulator-batch-fail": indices}


def test_a_failure_rate_fails_the_same_items_of_the_same_job(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    batch.configure(batch_failure_rate=0.3)
    requests = [{"text": f"passage {i}"} for i in range(40)]

    def failed_ids() -> list[int]:
        request_id = _submit(client, BGE_SMALL, requests)
        items = parse_status(_finished(client, BGE_SMALL, request_id), request_id).items
        return [item.id for item in items if not item.success]

    first, second = failed_ids(), failed_ids()

    assert first == second
    assert 0 < len(first) < len(requests)


@pytest.mark.parametrize(("rate", "failures"), [(0.0, 0), (1.0, 4)])
def test_failure_rate_bounds(
    batch: EmulatorServer, client: WorkersAIClient, rate: float, failures: int
) -> None:
    batch.configure(batch_failure_rate=rate)
    request_id = _submit(client, LLAMA33, _jokes(4))

    items = parse_status(_finished(client, LLAMA33, request_id), request_id).items

    assert sum(not item.success for item in items) == failures


def test_an_invalid_input_fails_alone_with_the_models_error(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    request_id = _submit(client, BGE_SMALL, [{"text": "fine"}, {"text": ""}, "not an object"])

    items = parse_status(_finished(client, BGE_SMALL, request_id), request_id).items

    assert [item.success for item in items] == [True, False, False]
    assert all(item.errors[0]["code"] == 5006 for item in items[1:])


# -- result shapes, order, usage ---------------------------------------------------------------


def test_flat_text_generation_results_are_run_answers(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    request_id = _submit(client, LLAMA33, _jokes(1))

    result = _finished(client, LLAMA33, request_id)["responses"][0]["result"]

    assert result == client.run(LLAMA33, {"prompt": "Tell me about lighthouses"})
    assert isinstance(result["response"], str) and result["usage"]["completion_tokens"] > 0


def test_nested_text_generation_results_follow_the_binding_example(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    batch.configure(batch_result_shape="nested")
    llm_job = _submit(client, LLAMA33, _jokes(1))
    embedding_job = _submit(client, BGE_SMALL, [{"text": "a passage"}])

    llm = _finished(client, LLAMA33, llm_job)["responses"][0]["result"]
    embedding = _finished(client, BGE_SMALL, embedding_job)["responses"][0]["result"]

    assert set(llm) == {"result"}  # spec §10: result.result.response
    assert llm["result"] == client.run(LLAMA33, {"prompt": "Tell me about lighthouses"})
    assert embedding["shape"] == [1, 384]  # other tasks stay flat


@pytest.mark.parametrize(("shuffle", "order"), [(True, [4, 3, 2, 1, 0]), (False, [0, 1, 2, 3, 4])])
def test_responses_come_out_of_order_with_their_ids_intact(
    batch: EmulatorServer, client: WorkersAIClient, shuffle: bool, order: list[int]
) -> None:
    batch.configure(batch_shuffle=shuffle)
    texts = [f"a passage about {topic}" for topic in TOPICS]
    requests = [{"text": t, "external_reference": f"ref{i}"} for i, t in enumerate(texts)]
    request_id = _submit(client, BGE_SMALL, requests)

    answer = _finished(client, BGE_SMALL, request_id)
    results = ordered_results(parse_status(answer, request_id), expected=len(texts))

    assert [entry["id"] for entry in answer["responses"]] == order
    assert all(entry["external_reference"] == f"ref{entry['id']}" for entry in answer["responses"])
    for text, result in zip(texts, results, strict=True):
        assert result["data"] == client.run(BGE_SMALL, {"text": [text]})["data"]


def test_job_usage_sums_the_items_usage(batch: EmulatorServer, client: WorkersAIClient) -> None:
    batch.configure(batch_failed_items=[2])
    request_id = _submit(client, LLAMA33, _jokes(4))

    answer = _finished(client, LLAMA33, request_id)

    item_usages = [e["result"]["usage"] for e in answer["responses"] if e["success"]]
    assert len(item_usages) == 3  # a failed item costs nothing
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert answer["usage"][key] == sum(usage[key] for usage in item_usages) > 0


def test_an_embedding_job_counts_its_input_tokens(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    request_id = _submit(client, BGE_SMALL, [{"text": "one two three"}, {"text": ["four five"]}])

    usage = _finished(client, BGE_SMALL, request_id)["usage"]

    assert usage == {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}


# -- faults on submit and poll -----------------------------------------------------------------


def test_a_server_error_on_submit(batch: EmulatorServer, client: WorkersAIClient) -> None:
    batch.configure(faults=[{"kind": "server_error", "route": "batch_submit", "count": 1}])

    assert client.run(LLAMA33, {"prompt": "hi"})["response"]  # plain runs are spared
    with pytest.raises(InternalServerError) as info:
        _submit(client, LLAMA33, _jokes(2))
    request_id = _submit(client, LLAMA33, _jokes(2))

    assert info.value.status_code == 500
    assert parse_status(_finished(client, LLAMA33, request_id), request_id).done


@pytest.mark.parametrize(
    ("kind", "error", "status", "code"),
    [("capacity", CapacityError, 429, 3040), ("server_error", InternalServerError, 500, 1000)],
)
def test_a_fault_on_poll_leaves_the_job_alone(
    batch: EmulatorServer,
    client: WorkersAIClient,
    kind: str,
    error: type[APIStatusError],
    status: int,
    code: int,
) -> None:
    batch.configure(faults=[{"kind": kind, "route": "batch_poll", "count": 2}])
    request_id = _submit(client, LLAMA33, _jokes(2))  # submits are spared

    for _ in range(2):
        with pytest.raises(error) as info:
            _poll(client, LLAMA33, request_id)
        assert (info.value.status_code, info.value.code) == (status, code)
    first = _poll(client, LLAMA33, request_id)

    assert first["status"] == "queued"  # failed polls did not count as polls
    assert parse_status(_poll(client, LLAMA33, request_id), request_id).done
    assert batch.stats()["by_fault"] == {kind: 2}


async def test_wait_for_job_retries_through_capacity_errors_on_poll(
    batch: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: Waits = fake_waits(monkeypatch)
    batch.configure(faults=[{"kind": "capacity", "route": "batch_poll", "count": 2}])
    policy = BatchPollPolicy(interval=0.0, multiplier=1.0)

    async with batch.async_client(max_retries=2) as client:
        request_id = await submit_job(_sender(client), LLAMA33, _jokes(3))
        status = await wait_for_job(_sender(client), LLAMA33, request_id, policy)

    assert len(ordered_results(status, expected=3)) == 3
    assert batch.stats()["by_status"]["429"] == 2 and len(waits.delays) == 2


def test_a_run_rule_and_a_fault_header_hit_batch_requests_too(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    request_id = _submit(client, LLAMA33, _jokes(1))
    batch.configure(faults=[{"kind": "server_error", "route": "run", "model": LLAMA33}])
    with pytest.raises(InternalServerError):
        _poll(client, LLAMA33, request_id)
    with pytest.raises(InternalServerError):
        _submit(client, LLAMA33, _jokes(1))
    batch.configure(faults=[])

    with pytest.raises(CapacityError):
        _poll(client, LLAMA33, request_id, headers={"x-emulator-fault": "capacity"})


def test_a_batch_rule_hits_submit_and_poll_of_its_model_only(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    request_id = _submit(client, LLAMA33, _jokes(1))
    batch.configure(faults=[{"kind": "unavailable", "route": "batch", "model": LLAMA33}])

    with pytest.raises(APIStatusError) as on_poll:
        _poll(client, LLAMA33, request_id)
    with pytest.raises(APIStatusError) as on_submit:
        _submit(client, LLAMA33, _jokes(1))
    other = _submit(client, BGE_SMALL, [{"text": "a"}])

    assert on_poll.value.status_code == on_submit.value.status_code == 503
    assert client.run(LLAMA33, {"prompt": "hi"})["response"]
    assert parse_status(_finished(client, BGE_SMALL, other), other).done


def test_an_unknown_request_id_is_an_error(batch: EmulatorServer, client: WorkersAIClient) -> None:
    with pytest.raises(APIStatusError) as info:
        _poll(client, LLAMA33, "00000000-0000-0000-0000-000000000000")

    assert (info.value.status_code, info.value.code) == (404, 5006)
    assert "Unknown request_id" in info.value.message


# -- models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [m.id for m in facts.models() if m.async_queue])
def test_models_with_async_queue_accept_jobs(batch: EmulatorServer, model: str) -> None:
    url = f"{batch.base_url}/accounts/{batch.account_id}/ai/run/{model}"
    auth = {"Authorization": f"Bearer {batch.api_token}"}

    response = httpx.post(url, params=QUEUE, json={"requests": [{"text": "x"}]}, headers=auth)

    assert response.status_code == 200
    assert response.json()["result"]["status"] == "queued"


def test_a_model_without_async_queue_refuses_jobs(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    info = facts.get(LLAMA31)
    assert info is not None and not info.async_queue

    with pytest.raises(BadRequestError) as refused:
        _submit(client, LLAMA31, _jokes(1))
    with pytest.raises(ModelNotFoundError):
        _submit(client, "@cf/nobody/no-such-model", _jokes(1))

    assert refused.value.code == 5006 and "async batch" in refused.value.message


# -- runtime configuration and validation ------------------------------------------------------


def test_the_control_route_sets_batch_settings_and_jobs_keep_theirs(
    batch: EmulatorServer, client: WorkersAIClient
) -> None:
    settings = {
        "batch_result_shape": "nested",
        "batch_shuffle": False,
        "batch_failed_items": [0],
        "batch_pending_polls": 0,
    }
    assert _control(batch, settings).status_code == 200
    request_id = _submit(client, LLAMA33, _jokes(3))
    batch.configure(**BATCH_DEFAULTS)  # later changes do not touch a queued job

    answer = _poll(client, LLAMA33, request_id)  # no pending poll: done at once

    assert [entry["id"] for entry in answer["responses"]] == [0, 1, 2]
    assert answer["responses"][0]["success"] is False
    assert set(answer["responses"][1]["result"]) == {"result"}


BAD_SETTINGS = [
    ("batch_delay_s", -1),
    ("batch_delay_s", "5"),
    ("batch_delay_s", True),
    ("batch_pending_polls", 1.5),
    ("batch_pending_polls", -1),
    ("batch_result_shape", "deep"),
    ("batch_shuffle", "yes"),
    ("batch_failed_items", [-1]),
    ("batch_failed_items", "0,1"),
    ("batch_failed_items", [1.5]),
    ("batch_failure_rate", 1.5),
]


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_bad_batch_settings_are_refused_and_change_nothing(
    batch: EmulatorServer, client: WorkersAIClient, name: str, value: Any
) -> None:
    response = _control(batch, {"batch_pending_polls": 0, name: value})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 5006
    assert name in response.json()["errors"][0]["message"]
    request_id = _submit(client, BGE_SMALL, [{"text": "a"}])
    assert _poll(client, BGE_SMALL, request_id)["status"] == "queued"  # still one pending poll
    with pytest.raises(ValueError, match=name):
        EmulatorConfig(**{name: value})


def test_a_bad_fail_header_is_refused(batch: EmulatorServer, client: WorkersAIClient) -> None:
    with pytest.raises(BadRequestError) as info:
        _submit(client, BGE_SMALL, [{"text": "a"}], headers=_fail("first"))

    assert info.value.code == 5006 and "x-emulator-batch-fail" in info.value.message


def test_batch_settings_at_construction() -> None:
    config = EmulatorConfig(batch_delay_s=2.5, batch_result_shape="nested", batch_failed_items=(1,))

    assert (config.batch_delay_s, config.batch_result_shape) == (2.5, "nested")
    assert (config.batch_pending_polls, config.batch_shuffle) == (1, True)


def test_cli_flags_set_the_batch_settings() -> None:
    argv = ["--batch-delay-s", "2", "--batch-result-shape", "nested", "--batch-in-order"]
    args = cli._parser().parse_args([*argv, "--batch-fail-items", "0,3"])

    config = EmulatorConfig(**cli._batch_settings(args))

    assert config.batch_failed_items == [0, 3] and config.batch_shuffle is False
    assert (config.batch_delay_s, config.batch_result_shape) == (2.0, "nested")


@pytest.mark.parametrize(
    "argv", [["--batch-delay-s", "-1"], ["--batch-fail-items", "x"], ["--batch-failure-rate", "2"]]
)
def test_cli_refuses_bad_batch_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2  # before any port is bound
    assert "batch" in capsys.readouterr().err
