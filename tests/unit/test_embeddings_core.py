"""The embeddings/rerank core without sockets: token estimates, options, bodies, parsing,
batching, the batch-API helpers, and the adaptive limiter, sender and coalescer (driven by a
fake client whose answers are scripted; time is patched, never slept)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workers_ai import concurrency
from workers_ai import errors as E
from workers_ai.batch_api import (
    BatchJobError,
    BatchStatus,
    ordered_results,
    parse_status,
    parse_submit,
    split_into_jobs,
    wait_for_job,
)
from workers_ai.concurrency import (
    AdaptiveLimiter,
    AdaptiveSender,
    AIMDState,
    Coalescer,
    is_throttle,
    run_all,
    run_sync,
)
from workers_ai.embeddings import (
    BatchPollPolicy,
    PreparedTexts,
    build_embedding_body,
    embedding_spec,
    parse_embedding_response,
    plan_batches,
    prepare_texts,
    truncation_warning,
)
from workers_ai.emulator.standins import count_tokens
from workers_ai.rerank import (
    RerankResult,
    merge_rerank_results,
    normalise_scores,
    parse_rerank_response,
    plan_rerank_bodies,
    rerank_spec,
)
from workers_ai.tokens import SPECIAL_TOKENS, estimate_tokens, fits, truncate_to_tokens

BGE = "@cf/baai/bge-base-en-v1.5"
M3 = "@cf/baai/bge-m3"
GEMMA = "@cf/google/embeddinggemma-300m"
QWEN = "@cf/qwen/qwen3-embedding-0.6b"
RERANKER = "@cf/baai/bge-reranker-base"

texts_strategy = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
)


# -- tokens ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts_strategy)
def test_estimate_never_below_the_emulators_count(text: str) -> None:
    assert estimate_tokens(text) >= count_tokens(text) + SPECIAL_TOKENS


@settings(max_examples=300, deadline=None)
@given(texts_strategy, st.integers(min_value=0, max_value=80))
@example("\x85", 2)  # whitespace only (NEL): no tokens, so it fits the bare special tokens
@example("  a", 2)
def test_truncation_is_a_prefix_that_fits(text: str, limit: int) -> None:
    cut = truncate_to_tokens(text, limit)
    assert text.startswith(cut)
    if limit > SPECIAL_TOKENS:
        assert estimate_tokens(cut) <= limit
        assert count_tokens(cut) + SPECIAL_TOKENS <= limit
    if estimate_tokens(text) <= limit:
        assert cut == text


@settings(max_examples=300, deadline=None)
@given(texts_strategy, st.integers(min_value=0, max_value=400))
def test_fits_agrees_with_the_estimate(text: str, limit: int) -> None:
    assert fits(text, limit) is (estimate_tokens(text) <= limit)


@settings(max_examples=200, deadline=None)
@given(texts_strategy)
def test_estimate_grows_with_the_prefix(text: str) -> None:
    estimates = [estimate_tokens(text[:n]) for n in range(0, len(text) + 1, 7)]
    assert estimates == sorted(estimates)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 2),
        ("Hello, world!", 6),
        ("the cat sat", 5),
        ("internationalization", 6),  # 20 letters: 4 tokens (real WordPiece: 2-3)
        ("2024-05-01", 12),  # every digit counts (BPE models split numbers)
        ("日本語", 5),  # one per CJK character
        ("👍", 4),  # emoji: 2
    ],
)
def test_estimate_table(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


# -- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "batch", "prefix", "instruction"),
    [
        (BGE, 100, "Represent this sentence for searching relevant passages: ", None),
        (GEMMA, 100, "task: search result | query: ", None),
        (
            QWEN,
            32,
            "",
            "Given a web search query, retrieve relevant passages that answer the query",
        ),
    ],
)
def test_spec_defaults_come_from_the_catalog(model, batch, prefix, instruction) -> None:
    spec = embedding_spec(model, query_instruction=True)
    assert (spec.batch_size, spec.query_prefix, spec.instruction) == (batch, prefix, instruction)
    assert embedding_spec(model).query_prefix == "" and embedding_spec(model).instruction is None


def test_spec_custom_instruction_and_default_model() -> None:
    assert embedding_spec(QWEN, query_instruction="Find code").instruction == "Find code"
    assert embedding_spec(BGE, query_instruction="q: ").query_prefix == "q: "
    assert embedding_spec().model == BGE


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        (BGE, {"batch_size": 101}, "at most 100"),
        (QWEN, {"batch_size": 33}, "at most 32"),
        (BGE, {"batch_size": 0}, ">= 1"),
        (BGE, {"max_concurrency": 0}, ">= 1"),
        (BGE, {"max_concurrency": 101}, "at most 100"),
        (M3, {"pooling": "cls"}, "no pooling option"),
        (BGE, {"pooling": "max"}, "'mean' or 'cls'"),
        (QWEN, {"use_batch_api": True}, "batch API"),
        (M3, {"query_instruction": True}, "no recommended query instruction"),
        ("@cf/meta/llama-3.1-8b-instruct", {}, "so the embeddings engine cannot use it"),
        (BGE, {"max_retries": -1}, "max_retries"),
    ],
)
def test_spec_rejects_bad_options(model, options, message) -> None:
    with pytest.raises(E.ConfigurationError, match=message):
        embedding_spec(model, **options)


def test_unknown_models_get_permissive_defaults() -> None:
    spec = embedding_spec("@cf/acme/new-embedder", pooling="cls")
    assert spec.batch_size == 100 and spec.max_input_tokens is None


# -- inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["ok", ""], r"texts\[1\] is an empty string"),
        (["ok", "fine", 3], r"texts\[2\] is a int, not a string"),
        (["ok", None], r"texts\[1\] is a NoneType"),
        (["word " * 600], r"texts\[0\] has about 602 tokens; .* accepts 512"),
        ("a single string", "got a single string"),
    ],
)
def test_bad_inputs_name_their_index(texts, message) -> None:
    with pytest.raises(E.InvalidRequestError, match=message):
        prepare_texts(texts, embedding_spec(BGE), kind="document")


def test_truncate_cuts_long_inputs_and_reports_them() -> None:
    spec = embedding_spec(BGE, truncate=True)
    prepared = prepare_texts(["short", "word " * 600, "x" * 4000], spec, kind="document")
    assert prepared.truncated == (1, 2)
    assert prepared.texts[0] == "short"
    assert all(estimate_tokens(t) <= 512 for t in prepared.texts)
    warning = truncation_warning(prepared, spec, 3)
    assert warning is not None and warning.startswith("2 of 3 texts were longer than 512")
    assert truncation_warning(PreparedTexts(["a"]), spec, 1) is None


def test_query_prefix_applies_to_queries_only() -> None:
    spec = embedding_spec(BGE, query_instruction="q: ")
    assert prepare_texts(["x"], spec, kind="query").texts == ["q: x"]
    assert prepare_texts(["x"], spec, kind="document").texts == ["x"]
    with pytest.raises(E.InvalidRequestError, match="the query is an empty string"):
        prepare_texts([""], spec, kind="query")


@pytest.mark.parametrize(
    ("count", "size", "plan"),
    [
        (0, 100, []),
        (1, 100, [(0, 1)]),
        (100, 100, [(0, 100)]),
        (250, 100, [(0, 100), (100, 200), (200, 250)]),
        (70, 32, [(0, 32), (32, 64), (64, 70)]),
    ],
)
def test_plan_batches(count, size, plan) -> None:
    assert plan_batches(count, size) == plan


# -- bodies and responses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "kind", "body"),
    [
        (BGE, {}, "document", {"text": ["a", "b"]}),
        (BGE, {"pooling": "cls"}, "query", {"text": ["a", "b"], "pooling": "cls"}),
        (M3, {"truncate": True}, "document", {"text": ["a", "b"], "truncate_inputs": True}),
        (BGE, {"truncate": True}, "document", {"text": ["a", "b"]}),
        (GEMMA, {}, "document", {"text": ["a", "b"]}),
        (QWEN, {}, "document", {"documents": ["a", "b"]}),
        (QWEN, {}, "query", {"queries": ["a", "b"]}),
        (
            QWEN,
            {"query_instruction": "Find"},
            "query",
            {"queries": ["a", "b"], "instruction": "Find"},
        ),
    ],
)
def test_request_bodies(model, options, kind, body) -> None:
    assert build_embedding_body(embedding_spec(model, **options), ["a", "b"], kind=kind) == body


@pytest.mark.parametrize(
    "data",
    [
        {"shape": [2, 2], "data": [[1, 0.5], [0.25, 0]], "pooling": "mean"},
        {"response": [[1, 0.5], [0.25, 0]], "shape": [2, 2], "pooling": "cls"},  # bge-m3 contexts
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.25, 0]},
                {"object": "embedding", "index": 0, "embedding": [1, 0.5]},
            ],
        },
        {"result": {"data": [[1, 0.5], [0.25, 0]]}},  # a batch item nesting result.result
    ],
)
def test_parse_every_response_shape_to_python_floats(data) -> None:
    vectors = parse_embedding_response(data, 2)
    assert vectors == [[1.0, 0.5], [0.25, 0.0]]
    assert all(type(x) is float for v in vectors for x in v)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"data": [[0.1]]}, "1 vectors for 2 inputs"),
        ({"shape": [0]}, "no vectors"),
        ({"data": [[0.1], []]}, "no vectors"),
        ({"data": [["x"], [0.2]]}, "non-numeric"),
        (None, "no vectors"),
    ],
)
def test_bad_responses_raise_validation_errors(data, message) -> None:
    with pytest.raises(E.APIResponseValidationError, match=message):
        parse_embedding_response(data, 2)


# -- batch API (pure parts) --------------------------------------------------------------------


def test_split_into_jobs_respects_size_and_count() -> None:
    requests = [{"text": ["x" * 100]} for _ in range(10)]
    assert [len(j) for j in split_into_jobs(requests, max_requests=4)] == [4, 4, 2]
    assert [len(j) for j in split_into_jobs(requests, max_bytes=300)] == [2] * 5
    with pytest.raises(E.InvalidRequestError, match="input 0 alone"):
        split_into_jobs(requests, max_bytes=50)


def test_batch_status_parsing_orders_items() -> None:
    assert parse_submit({"status": "queued", "request_id": "r1", "model": BGE}) == "r1"
    with pytest.raises(E.APIResponseValidationError):
        parse_submit({"status": "queued"})
    assert parse_status({"status": "running", "request_id": "r1"}, "r1") == BatchStatus(
        "r1", "running"
    )
    done = parse_status(
        {
            "responses": [
                {"id": 1, "success": True, "result": "b"},
                {"id": 0, "success": True, "result": "a", "external_reference": "x"},
            ]
        },
        "r1",
    )
    assert done.done and ordered_results(done, 2) == ["a", "b"]
    assert done.items[0].external_reference == "x"
    with pytest.raises(E.APIResponseValidationError):
        parse_status({"status": "exploded"}, "r1")


def test_failed_or_missing_batch_items_raise() -> None:
    failed = parse_status(
        {
            "responses": [
                {"id": 0, "success": True, "result": 1},
                {"id": 1, "success": False, "errors": [{"code": 5006, "message": "bad"}]},
            ]
        },
        "r9",
    )
    with pytest.raises(BatchJobError, match="1 of 2 inputs of batch job r9 failed") as info:
        ordered_results(failed)
    assert info.value.request_id == "r9" and info.value.failures[0].id == 1
    gap = parse_status({"responses": [{"id": 1, "success": True, "result": 1}]}, "r2")
    with pytest.raises(BatchJobError, match="ids"):
        ordered_results(gap)


def test_poll_policy_backs_off_to_a_cap() -> None:
    policy = BatchPollPolicy(interval=1.0, multiplier=2.0, max_interval=5.0)
    assert [policy.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_wait_for_job_polls_until_done_and_times_out() -> None:
    answers = [{"status": "queued"}, {"status": "running"}, {"responses": []}]
    sent: list[Any] = []
    naps: list[float] = []

    async def send(model: str, body: Any, *, params: Any = None) -> Any:
        sent.append((body, params))
        return answers.pop(0)

    async def nap(seconds: float) -> None:
        naps.append(seconds)

    policy = BatchPollPolicy(interval=0.5, multiplier=2.0)
    status = asyncio.run(wait_for_job(send, BGE, "r1", policy, sleep=nap))
    assert status.done and naps == [0.5, 1.0, 2.0]
    assert sent[0] == ({"request_id": "r1"}, {"queueRequest": "true"})

    async def always_pending(model: str, body: Any, *, params: Any = None) -> Any:
        return {"status": "running"}

    ticks = iter(range(100))
    timeout = BatchPollPolicy(interval=0.1, timeout=2.5)
    with pytest.raises(BatchJobError, match="still running"):
        asyncio.run(
            wait_for_job(always_pending, BGE, "r1", timeout, sleep=nap, clock=lambda: next(ticks))
        )


# -- rerank (pure parts) -----------------------------------------------------------------------


def test_rerank_bodies_split_skip_empties_and_send_top_k_to_rerankers_only() -> None:
    texts = [f"passage {i}" for i in range(5)]
    texts[2] = "  "
    plans = plan_rerank_bodies(rerank_spec(RERANKER, max_contexts=2), "q", texts, 3)
    assert [indices for indices, _ in plans] == [[0, 1], [3, 4]]
    assert plans[0][1] == {
        "query": "q",
        "contexts": [{"text": "passage 0"}, {"text": "passage 1"}],
        "top_k": 2,
    }
    m3 = plan_rerank_bodies(rerank_spec(M3), "q", texts, 3)
    assert "top_k" not in m3[0][1]
    with pytest.raises(E.InvalidRequestError, match="non-empty"):
        plan_rerank_bodies(rerank_spec(), " ", texts, 3)
    with pytest.raises(E.InvalidRequestError, match="passage 1 is a int"):
        plan_rerank_bodies(rerank_spec(), "q", ["a", 1], 3)


def test_rerank_spec_limits() -> None:
    assert rerank_spec().max_contexts == 100
    with pytest.raises(E.ConfigurationError, match="1 to 100"):
        rerank_spec(max_contexts=101)
    with pytest.raises(E.ConfigurationError, match="so the reranker cannot use it"):
        rerank_spec("@cf/meta/llama-3.1-8b-instruct")


def test_rerank_parsing_maps_ids_back_and_merging_sorts() -> None:
    parsed = parse_rerank_response(
        {"response": [{"id": 1, "score": 0.9}, {"id": 0, "score": 0.1}]}, [7, 9]
    )
    assert parsed == [RerankResult(9, 0.9), RerankResult(7, 0.1)]
    with pytest.raises(E.APIResponseValidationError):
        parse_rerank_response({"response": [{"id": 5, "score": 0.1}]}, [7, 9])
    merged = merge_rerank_results([parsed, [RerankResult(3, 0.9), RerankResult(4, 0.5)]], 3)
    assert merged == [RerankResult(3, 0.9), RerankResult(9, 0.9), RerankResult(4, 0.5)]


def test_raw_logits_go_through_the_sigmoid() -> None:
    assert normalise_scores([RerankResult(0, 0.3)]) == [RerankResult(0, 0.3)]
    logits = normalise_scores([RerankResult(0, 2.0), RerankResult(1, -3.0)])
    assert logits[0].score == pytest.approx(1 / (1 + math.exp(-2)))
    assert logits[1].score == pytest.approx(1 / (1 + math.exp(3)))


# -- adaptive concurrency ----------------------------------------------------------------------


def test_aimd_cuts_once_per_round_and_climbs_back() -> None:
    state = AIMDState(8)
    assert state.limit == 8
    assert state.on_throttle(0) and state.limit == 4
    assert not state.on_throttle(0) and state.limit == 4  # same round: no second cut
    for epoch in (1, 2, 3, 4):
        state.on_throttle(epoch)
    assert state.limit == 1  # never below 1
    grew = [state.on_success() for _ in range(1 + 2 + 3)]
    assert grew == [True, False, True, False, False, True] and state.limit == 4
    for _ in range(100):
        state.on_success()
    assert state.limit == 8  # never above max


def _status(cls: type[E.APIStatusError], status: int, headers: dict[str, str] | None = None):
    return cls("x", status_code=status, headers=headers or {})


@pytest.mark.parametrize(
    ("error", "throttle"),
    [
        (_status(E.RateLimitError, 429), True),
        (_status(E.CapacityError, 429), True),
        (_status(E.QuotaExceededError, 429), False),
        (_status(E.InternalServerError, 500), False),
    ],
)
def test_what_counts_as_throttling(error, throttle) -> None:
    assert is_throttle(error) is throttle


class FakeClient:
    """Scripted ``run``: each item is a result or an exception; records concurrency."""

    def __init__(self, script: list[Any], delay: float = 0.0) -> None:
        self.script = list(script)
        self.calls = 0
        self.in_flight = 0
        self.peak = 0
        self.delay = delay

    async def run(self, model: str, body: Any, *, params: Any = None) -> Any:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            item = self.script.pop(0) if self.script else {"ok": True}
            if isinstance(item, BaseException):
                raise item
            return item
        finally:
            self.in_flight -= 1


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Record the sender's and limiter's waits (advancing a fake clock) instead of sleeping."""
    fake = FakeTime()
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        fake.waits.append(seconds)
        fake.now += seconds
        await real_sleep(0)

    def no_jitter(n: int, headers: Any = None) -> float:
        return concurrency.retry_delay(n, headers, rand=lambda: 0.0)

    monkeypatch.setattr(concurrency, "_asleep", fake_sleep)
    monkeypatch.setattr(concurrency, "_retry_delay", no_jitter)
    return fake


def _sender(client: FakeClient, fake: FakeTime, limit: int = 4, retries: int = 2) -> AdaptiveSender:
    limiter = AdaptiveLimiter(limit, clock=fake.clock)
    return AdaptiveSender(client, limiter, retries)  # type: ignore[arg-type]


def test_throttles_are_retried_beyond_max_retries_honouring_retry_after(fake_time) -> None:
    limited = _status(E.RateLimitError, 429, {"retry-after": "3"})
    client = FakeClient([limited, limited, limited, _status(E.CapacityError, 429), {"ok": 1}])
    sender = _sender(client, fake_time, retries=0)
    assert asyncio.run(sender.run(BGE, {})) == {"ok": 1}
    assert client.calls == 5 and sender.stats["throttled"] == 4
    assert fake_time.waits[:3] == [3.0, 3.0, 3.0]  # the pause before each retry is the server's
    # 4 -> 2 -> 1 -> 1 -> 1 (never below 1), then one success at limit 1 adds one
    assert (sender.limiter.state.epoch, sender.limiter.state.limit) == (4, 2)


def test_transient_errors_use_max_retries_with_backoff(fake_time) -> None:
    boom = _status(E.InternalServerError, 500)
    client = FakeClient([boom, E.APIConnectionError(), boom])
    sender = _sender(client, fake_time, retries=2)
    with pytest.raises(E.InternalServerError):
        asyncio.run(sender.run(BGE, {}))
    assert client.calls == 3 and fake_time.waits == [0.5, 1.0]
    assert sender.stats == {"requests": 3, "throttled": 0, "retried": 2, "failed": 1}


@pytest.mark.parametrize(
    "error", [_status(E.QuotaExceededError, 429), _status(E.BadRequestError, 400)]
)
def test_quota_and_bad_requests_are_not_retried(fake_time, error) -> None:
    client = FakeClient([error])
    with pytest.raises(type(error)):
        asyncio.run(_sender(client, fake_time).run(BGE, {}))
    assert client.calls == 1


def test_limiter_caps_in_flight_requests(fake_time) -> None:
    client = FakeClient([], delay=0.001)
    sender = _sender(client, fake_time, limit=3)

    async def many() -> None:
        await asyncio.gather(*(sender.run(BGE, {}) for _ in range(20)))

    asyncio.run(many())
    assert client.calls == 20 and client.peak == 3


def test_a_throttled_limiter_lowers_concurrency_then_recovers(fake_time) -> None:
    limited = _status(E.RateLimitError, 429, {"retry-after": "1"})
    client = FakeClient([limited] * 4, delay=0.001)
    sender = _sender(client, fake_time, limit=8)

    async def many() -> None:
        await asyncio.gather(*(sender.run(BGE, {}) for _ in range(200)))

    asyncio.run(many())
    assert sender.stats["failed"] == 0 and client.calls == 204
    assert sender.limiter.state.epoch >= 1  # it was cut
    assert sender.limiter.state.limit == 8  # and climbed back


def test_run_all_cancels_the_rest_on_failure() -> None:
    cancelled: list[int] = []

    async def slow(n: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def fail() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        asyncio.run(run_all([slow(1), fail(), slow(2)]))
    assert sorted(cancelled) == [1, 2]


# -- coalescing and the background loop -------------------------------------------------------


def test_coalescer_merges_dedupes_and_copies() -> None:
    batches: list[list[str]] = []

    async def send(items: list[str]) -> list[list[float]]:
        batches.append(items)
        return [[float(len(item))] for item in items]

    async def go() -> list[list[float]]:
        coalescer = Coalescer(send, max_batch=3, window=0.01, copy=list)
        texts = ["a", "bb", "a", "ccc", "dddd", "a"]
        return await asyncio.gather(*(coalescer.submit(t) for t in texts))

    results = asyncio.run(go())
    assert results == [[1.0], [2.0], [1.0], [3.0], [4.0], [1.0]]
    assert batches == [["a", "bb", "ccc"], ["dddd", "a"]]  # full at 3 distinct, then the window
    assert results[0] is not results[2]  # each caller owns its list


def test_coalescer_fails_every_caller_of_a_failed_batch_and_survives_cancellation() -> None:
    async def send(items: list[str]) -> list[str]:
        await asyncio.sleep(0.01)
        if "bad" in items:
            raise E.APIConnectionError("down")
        return items

    async def go() -> tuple[list[Any], str]:
        coalescer: Coalescer[str, str] = Coalescer(send, max_batch=10, window=0)
        first = await asyncio.gather(
            coalescer.submit("x"), coalescer.submit("bad"), return_exceptions=True
        )
        leaver = asyncio.ensure_future(coalescer.submit("gone"))
        stayer = asyncio.ensure_future(coalescer.submit("stay"))
        await asyncio.sleep(0.001)
        leaver.cancel()
        return first, await stayer

    first, stayed = asyncio.run(go())
    assert all(isinstance(r, E.APIConnectionError) for r in first)
    assert stayed == "stay"


def test_background_loop_runs_coroutines_for_sync_callers_even_inside_a_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def fails() -> None:
        raise E.APITimeoutError()

    assert run_sync(answer()) == 42
    with pytest.raises(E.APITimeoutError):
        run_sync(fails())

    async def inside_a_running_loop() -> int:
        return run_sync(answer())

    assert asyncio.run(inside_a_running_loop()) == 42
