"""``reject_if_busy`` (issue #18, item 3): a latency-sensitive caller fails fast when the model
or gateway is busy -- no retry and no fallback on capacity or rate limits -- while every other
failure is retried and falls back as usual. Both frameworks, the core client and the
embeddings engine, against the emulator's faults.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_workers_ai import WorkersAIEmbeddings
from tests.contract.test_fallbacks import CF, GPT, MODES, _lc_call, _li_call, _requests, lc, li
from tests.support.emulator import adapter_kwargs
from tests.support.waits import fake_waits
from workers_ai import WorkersAIClient
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.faults import FaultSpec
from workers_ai.errors import CapacityError, RateLimitError
from workers_ai.retry import RetryPolicy, RetryState, is_busy


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


@pytest.mark.parametrize("kind", ["capacity", "rate_limit"])
@MODES
async def test_a_busy_model_fails_at_once_without_retry_or_fallback(
    emulator: EmulatorServer, mode: str, kind: str
) -> None:
    emulator.configure(faults=[FaultSpec(kind=kind, model=CF)])
    with pytest.raises(RateLimitError):
        await _lc_call(lc(emulator, fallbacks=[GPT], max_retries=3, reject_if_busy=True), mode)
    with pytest.raises(RateLimitError):
        await _li_call(li(emulator, fallbacks=[GPT], max_retries=3, reject_if_busy=True), mode)
    assert _requests(emulator, CF) == 2  # one attempt per framework
    assert _requests(emulator, GPT) == 0


@MODES
async def test_other_failures_are_still_retried_and_fall_back(
    emulator: EmulatorServer, mode: str
) -> None:
    emulator.configure(faults=[FaultSpec(kind="unavailable", model=CF)])
    text, meta = await _lc_call(lc(emulator, fallbacks=[GPT], reject_if_busy=True), mode)
    assert text and meta["answered_by"] == GPT
    assert _requests(emulator, CF) == 2  # the first attempt and its one retry


@pytest.mark.parametrize("mode", ["sync", "stream"])
async def test_url_routing_keeps_the_client_walk_so_busy_is_not_passed_over(
    emulator: EmulatorServer, mode: str
) -> None:
    """The gateway's universal endpoint falls back on any failure, busy ones included: with
    ``reject_if_busy`` the chain is walked by the client instead."""
    emulator.configure(faults=[FaultSpec(kind="capacity", model=CF)])
    routing = {"gateway_id": "busy-gw", "gateway_options": {"routing": "url"}}
    with pytest.raises(CapacityError):
        await _lc_call(lc(emulator, fallbacks=[GPT], reject_if_busy=True, **routing), mode)
    assert not [e for e in emulator.gateway_logs("busy-gw") if "universal" in e["path"]]


def test_the_core_client_and_the_embeddings_engine_fail_fast_too(emulator: EmulatorServer) -> None:
    emulator.configure(faults=[FaultSpec(kind="capacity")])
    with WorkersAIClient(**emulator.client_kwargs(), reject_if_busy=True) as client:
        with pytest.raises(CapacityError):
            client.run(CF, {"prompt": "hi"})
    embeddings = WorkersAIEmbeddings(
        model="@cf/baai/bge-base-en-v1.5", **adapter_kwargs(emulator), reject_if_busy=True
    )
    with pytest.raises(CapacityError):
        embeddings.embed_query("hello")
    assert emulator.stats()["requests"] == 2


@pytest.mark.parametrize(
    ("error", "busy"),
    [
        (CapacityError("busy", status_code=429, code=3040), True),
        (RateLimitError("slow down", status_code=429, code=3021), True),
        (RateLimitError("gateway rule", status_code=429, code=2003), True),
    ],
)
def test_busy_errors_are_not_retried_when_rejecting(error: Any, busy: bool) -> None:
    assert is_busy(error) is busy
    assert RetryPolicy(3).next(RetryState(), error) is not None
    assert RetryPolicy(3, reject_if_busy=True).next(RetryState(), error) is None


def test_the_daily_quota_is_not_busy() -> None:
    from workers_ai.errors import QuotaExceededError

    assert not is_busy(QuotaExceededError("quota", status_code=429, code=3036))
