"""The retry decision and delay (pure; time is injected, never slept)."""

from __future__ import annotations

import email.utils

import pytest

from workers_ai import errors as E
from workers_ai.retry import RetryPolicy, RetryState, is_retryable, is_throttle, retry_delay


def status_error(cls, status, code=None):
    return cls("x", status_code=status, code=code)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (status_error(E.RateLimitError, 429, 3021), True),
        (status_error(E.CapacityError, 429, 3040), True),
        (status_error(E.QuotaExceededError, 429, 3036), False),
        (status_error(E.RequestTimeoutError, 408, 3007), True),
        (status_error(E.ConflictError, 409), True),
        (status_error(E.InternalServerError, 500), True),
        (status_error(E.InternalServerError, 503), True),
        (status_error(E.BadRequestError, 400, 5006), False),
        (status_error(E.AuthenticationError, 401, 10000), False),
        (status_error(E.ModelNotFoundError, 400, 5007), False),
        (status_error(E.PayloadTooLargeError, 413, 3006), False),
        (status_error(E.APIStatusError, 418), False),
        (E.APIConnectionError(), True),
        (E.APITimeoutError(), True),
        (E.StreamError("e", code=3040, error_class=E.CapacityError), True),
        (E.StreamError("e", code=3036, error_class=E.QuotaExceededError), False),
        (E.StreamError("no [DONE]"), True),  # only ever seen before the first event
        (E.StreamError("e", code=5006, error_class=E.BadRequestError), False),
        (ValueError("x"), False),
    ],
)
def test_retry_decision(error, retryable):
    assert is_retryable(error) is retryable


def test_backoff_doubles_caps_and_jitters_down_by_at_most_a_quarter():
    assert [retry_delay(n, rand=lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert retry_delay(0, rand=lambda: 1.0) == pytest.approx(0.375)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "120"}, 0.5),  # over 60 s: ignored, backoff used
        ({"retry-after": "soon"}, 0.5),
        ({"retry-after": "-3"}, 0.5),
    ],
)
def test_server_retry_after_is_honoured(headers, expected):
    assert retry_delay(0, headers, rand=lambda: 0.0) == pytest.approx(expected)


def test_retry_after_http_date():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 5, usegmt=True)
    assert retry_delay(0, {"retry-after": date}, now=lambda: now) == pytest.approx(5.0)


def test_retry_policy_counts_and_stops():
    error = E.APIConnectionError()
    policy = RetryPolicy(max_retries=2, delay=lambda n, _h: float(n))
    step = policy.next(RetryState(), error)
    assert step is not None and step.state.retries_done == 1 and step.delay == 0.0
    step = policy.next(step.state, error)
    assert step is not None and step.state.retries_done == 2 and step.delay == 1.0
    assert policy.next(step.state, error) is None
    assert RetryPolicy(max_retries=0).next(RetryState(), error) is None
    assert (
        RetryPolicy(max_retries=5).next(RetryState(), status_error(E.BadRequestError, 400)) is None
    )


@pytest.mark.parametrize("adaptive", [False, True])
def test_throttling_has_its_own_budget_only_for_adaptive_callers(adaptive: bool) -> None:
    throttle = status_error(E.CapacityError, 429)
    policy = RetryPolicy(max_retries=1, adaptive=adaptive, max_throttle_retries=3)
    state, steps = RetryState(), []
    while (step := policy.next(state, throttle, throttle_streak=0)) is not None:
        steps.append(step)
        state = step.state
    if adaptive:  # slows the job down, retried past max_retries, and flagged as throttling
        assert len(steps) == 3 and all(s.throttle for s in steps)
        assert state == RetryState(retries_done=0, throttles_done=3)
    else:  # an ordinary retry for the clients
        assert len(steps) == 1 and not steps[0].throttle


def test_the_daily_quota_is_never_a_throttle_or_retried() -> None:
    quota = status_error(E.QuotaExceededError, 429)
    assert not is_throttle(quota)
    assert RetryPolicy(max_retries=5, adaptive=True).next(RetryState(), quota) is None


def test_adaptive_throttle_delays_follow_the_job_streak() -> None:
    policy = RetryPolicy(adaptive=True, delay=lambda n, _h: float(n))
    throttle = status_error(E.RateLimitError, 429)
    step = policy.next(RetryState(), throttle, throttle_streak=4)
    assert step is not None and step.delay == 4.0
