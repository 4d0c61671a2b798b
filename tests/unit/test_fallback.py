"""The fallback decision table, the chain checks and the bookkeeping (no sockets)."""

from __future__ import annotations

import logging

import pytest

from workers_ai.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CapacityError,
    ConfigurationError,
    ContentBlockedError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitError,
    SpendLimitError,
    StreamError,
)
from workers_ai.fallback import (
    MAX_FALLBACKS,
    ChatTarget,
    FallbackRun,
    check_chain,
    max_attempts,
    should_fall_back,
)
from workers_ai.messages import Message
from workers_ai.prepare import prepare_chat
from workers_ai.types import ResponseMeta

CF = "@cf/meta/llama-3.1-8b-instruct"
GPT = "openai/gpt-4.1"


def status(cls: type[APIStatusError], status_code: int, code: int | None = None) -> APIError:
    return cls("failed", status_code=status_code, code=code)


FALLS_BACK = [
    ("capacity 3040", status(CapacityError, 429, 3040)),
    ("daily quota 3036", status(QuotaExceededError, 429, 3036)),
    ("daily quota 4006", status(QuotaExceededError, 429, 4006)),
    ("rate limit 3021", status(RateLimitError, 429, 3021)),
    ("gateway rate limit 2003", status(RateLimitError, 429, 2003)),
    ("gateway provider 2005 as a 400", status(BadRequestError, 400, 2005)),
    ("gateway provider 2005 as a 502", status(InternalServerError, 502, 2005)),
    ("no credits 2021", status(InsufficientCreditsError, 402, 2021)),
    ("spend limit 2041", status(SpendLimitError, 429, 2041)),
    ("server error", status(InternalServerError, 500)),
    ("any 5xx", status(APIStatusError, 503)),
    ("connection", APIConnectionError("Connection error")),
    ("timeout", APITimeoutError("Request timed out")),
    ("stream cut before its first event", StreamError("cut")),
    ("capacity event", StreamError("busy", code=3040, error_class=CapacityError)),
]

NEVER = [
    ("bad request", status(BadRequestError, 400)),
    ("bad request 5006", status(BadRequestError, 400, 5006)),
    ("authentication", status(AuthenticationError, 401, 10000)),
    ("not found", status(NotFoundError, 404)),
    ("too large", status(PayloadTooLargeError, 413)),
    ("guardrails 2016", status(ContentBlockedError, 400, 2016)),
    ("bad input event", StreamError("bad", code=5006, error_class=BadRequestError)),
    ("not an API error", ValueError("x")),
]


@pytest.mark.parametrize(("name", "error"), FALLS_BACK, ids=[n for n, _ in FALLS_BACK])
def test_capacity_quota_gateway_and_server_failures_fall_back(
    name: str, error: BaseException
) -> None:
    assert should_fall_back(error)


@pytest.mark.parametrize(("name", "error"), NEVER, ids=[n for n, _ in NEVER])
def test_input_errors_never_fall_back(name: str, error: BaseException) -> None:
    assert not should_fall_back(error)


@pytest.mark.parametrize(
    ("fallbacks", "message"),
    [
        (GPT, "pass a list of model ids"),
        ([GPT, 3], "is not a model id"),
        ([""], "is not a model id"),
        ([GPT, GPT], "appears twice"),
        ([CF], "appears twice"),
        ([f"openai/m{i}" for i in range(MAX_FALLBACKS + 1)], f"at most {MAX_FALLBACKS}"),
    ],
)
def test_a_bad_chain_is_refused_with_what_to_change(fallbacks: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_chain(CF, fallbacks)  # type: ignore[arg-type]


def test_a_good_chain_keeps_its_order() -> None:
    assert check_chain(CF, [GPT, "google/gemini-3-flash"]) == (GPT, "google/gemini-3-flash")
    assert check_chain(CF, []) == ()


def test_the_attempts_cap_multiplies_retries_gateway_attempts_and_models() -> None:
    assert max_attempts(2, 1, None) == 3
    assert max_attempts(2, 3, 5) == 45
    assert max_attempts(0, MAX_FALLBACKS + 1, None) == MAX_FALLBACKS + 1


def _run() -> FallbackRun:
    return FallbackRun((ChatTarget(CF, {}), ChatTarget(GPT, {}, "openai")))


def test_a_step_is_recorded_and_logged_then_the_last_models_error_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = _run()
    with caplog.at_level(logging.INFO, logger="workers_ai"):
        run.failed(0, status(CapacityError, 429, 3040))
    assert [s.as_dict() for s in run.steps] == [
        {"model": CF, "error": "CapacityError", "code": 3040, "status_code": 429, "where": "client"}
    ]
    assert f"model {CF} failed (CapacityError 3040); falling back to {GPT}" in caplog.text
    last = status(InternalServerError, 500)
    with pytest.raises(InternalServerError) as raised:
        run.failed(1, last)
    assert raised.value is last


@pytest.mark.parametrize(
    ("step", "answered", "failed"),
    [(1, GPT, [CF]), (0, CF, []), (None, CF, []), (7, CF, [])],
)
def test_a_gateway_walk_records_the_entries_before_cf_aig_step(
    step: int | None, answered: str, failed: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    run = _run()
    with caplog.at_level(logging.INFO, logger="workers_ai"):
        assert run.gateway_answered(step).model == answered
    assert [s.as_dict() for s in run.steps] == [
        {"model": m, "error": "unknown", "where": "gateway"} for m in failed
    ]
    assert ("fell back server-side" in caplog.text) == bool(failed)


def test_an_input_error_is_raised_at_once() -> None:
    run = _run()
    error = status(BadRequestError, 400)
    with pytest.raises(BadRequestError):
        run.failed(0, error)
    assert run.steps == []


def test_each_fallback_gets_the_body_of_its_family() -> None:
    prep = prepare_chat(
        [Message(role="user", content="hi")],
        {"temperature": 0.5},
        model=CF,
        params={"max_tokens": 50},
        fallbacks=[GPT, "@cf/qwen/qwen3-30b-a3b-fp8"],
    )
    assert prep.endpoint == "native" and "model" not in prep.body
    gpt, qwen = prep.fallbacks
    assert (gpt.model, gpt.endpoint) == (GPT, "openai")
    assert gpt.body["temperature"] == 0.5 and gpt.body["max_tokens"] == 50
    assert qwen.endpoint == "native"
    assert prep.call_options()["fallbacks"] == prep.fallbacks


def test_per_call_fallbacks_replace_the_objects_and_are_checked() -> None:
    checked: list[str] = []
    prep = prepare_chat(
        [Message(role="user", content="hi")],
        {"fallbacks": ["google/gemini-3-flash"]},
        model=CF,
        params={},
        fallbacks=[GPT],
        check_model=checked.append,
    )
    assert [t.model for t in prep.fallbacks] == ["google/gemini-3-flash"]
    assert checked == ["google/gemini-3-flash"]
    off = prepare_chat(
        [Message(role="user", content="hi")],
        {"fallbacks": []},
        model=CF,
        params={},
        fallbacks=[GPT],
    )
    assert off.fallbacks == ()


def test_metadata_names_who_answered_only_for_calls_with_fallbacks() -> None:
    plain = ResponseMeta(200, request_id="r1")
    assert "answered_by" not in plain.summary() and "fallback_steps" not in plain.summary()
    run = _run()
    run.failed(0, status(CapacityError, 429, 3040))
    meta = ResponseMeta(200, answered_by=GPT, attempts=4, fallback_steps=tuple(run.steps))
    summary = meta.summary()
    assert summary["answered_by"] == GPT and summary["attempts"] == 4
    assert summary["fallback_steps"] == [
        {"model": CF, "error": "CapacityError", "code": 3040, "status_code": 429, "where": "client"}
    ]


@pytest.mark.parametrize(
    ("fallbacks", "compatible", "message"),
    [
        (["@cf/google/embeddinggemma-300m"], False, "fallback_compatible=True"),
        (["@cf/baai/bge-small-en-v1.5"], True, "384-dimensional vectors"),
        (["openai/text-embedding-3-small"], True, "1536-dimensional vectors"),
        (["@cf/meta/llama-3.1-8b-instruct"], True, "."),  # a chat model: not for embeddings
    ],
)
def test_embeddings_fallbacks_are_refused_unless_declared_and_same_dimensions(
    fallbacks: list[str], compatible: bool, message: str
) -> None:
    from workers_ai.embeddings import check_embedding_fallbacks

    with pytest.raises(ConfigurationError, match=message):
        check_embedding_fallbacks("@cf/baai/bge-base-en-v1.5", fallbacks, compatible=compatible)


def test_same_dimension_embeddings_fallbacks_declared_compatible_are_kept() -> None:
    from workers_ai.embeddings import check_embedding_fallbacks

    gemma = "@cf/google/embeddinggemma-300m"
    assert check_embedding_fallbacks("@cf/baai/bge-base-en-v1.5", [gemma], compatible=True) == (
        gemma,
    )
    assert check_embedding_fallbacks("@cf/baai/bge-base-en-v1.5", [], compatible=False) == ()


def test_a_per_call_model_that_is_a_fallback_is_not_tried_twice() -> None:
    prep = prepare_chat(
        [Message(role="user", content="hi")],
        {"model": GPT},
        model=CF,
        params={},
        fallbacks=[GPT, "google/gemini-3-flash"],
    )
    assert prep.model == GPT
    assert [t.model for t in prep.fallbacks] == ["google/gemini-3-flash"]


def test_a_prepared_chain_shows_no_body_or_headers_in_its_repr() -> None:
    target = ChatTarget(GPT, {"messages": ["secret text"]}, "openai", {"authorization": "tok"})
    assert "tok" not in repr(target) and "secret text" not in repr(target)
