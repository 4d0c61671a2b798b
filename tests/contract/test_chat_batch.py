"""Bulk chat generation through Workers AI's async batch API (issue #18, item 4; spec §10),
against the emulator, as users of both frameworks meet it.

LangChain: ``ChatWorkersAI(use_batch_api=True).batch`` / ``abatch`` queue one job instead of a
request per input and answer in input order (whatever order and shape the service answers in),
each answer as ``invoke`` would give it; failed inputs, callbacks, the submit/collect split that
survives a restart, the deadline, cancellation, faults on submit and poll, refusals before any
request, usage counting, tool calls. LlamaIndex: ``WorkersAI.chat_batch`` and friends.

Emulator jobs are answered on the emulator's clock: tests that need a job to stay pending swap
that clock for one only the test moves. The client's poll waits are real but tiny
(``batch_poll_interval=0.01``); its retry waits are recorded, not taken.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelAPIError
from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.utils import LC_ID_PREFIX
from llama_index.core.llms import ChatMessage, ChatResponse
from pydantic import BaseModel

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAIEmbeddings,
    get_workers_ai_callback,
)
from llama_index_workers_ai import WorkersAI, track_workers_ai_usage
from tests.support.emulator import adapter_kwargs
from tests.support.tools import get_weather
from tests.support.waits import Waits, fake_waits
from workers_ai import AsyncWorkersAIClient, BatchCancelledError, BatchJobError
from workers_ai.batch_api import CANCEL_CHECK_S, wait_for_job
from workers_ai.budget import worst_case
from workers_ai.embeddings import BatchPollPolicy
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator import app as app_module
from workers_ai.errors import (
    BudgetExceededError,
    ConfigurationError,
    InternalServerError,
    InvalidRequestError,
)

L33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
LLAMA31 = "@cf/meta/llama-3.1-8b-instruct"  # no async_queue
BATCH_MODELS = [
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "@cf/meta/llama-4-scout-17b-16e-instruct",
    "@cf/openai/gpt-oss-120b",
    "@cf/qwen/qwen3-30b-a3b-fp8",
]
BGE = "@cf/baai/bge-base-en-v1.5"
MAX_TOKENS = 64
PROMPTS: list[Any] = [
    "Tell me about lighthouses",
    "Tell me about glaciers",
    "Tell me about volcanoes",
    "Tell me about comets",
]
MODES = pytest.mark.parametrize("mode", ["sync", "async"])
SHAPES = pytest.mark.parametrize("shape", ["flat", "nested"])


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    """Retry waits are recorded, not taken."""
    return fake_waits(monkeypatch, engine=True)


@dataclass
class Sent:
    """What the adapters asked the core client's ``run`` for: batch submits (with the job ids
    they got back), polls, and other runs."""

    kinds: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    on_request: Callable[[], None] | None = None

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    record = Sent()
    original = AsyncWorkersAIClient.run

    async def run(self: Any, model: str, inputs: Mapping[str, Any], **kw: Any) -> Any:
        queued = str((kw.get("params") or {}).get("queueRequest", "")).lower() == "true"
        kind = "poll" if set(inputs) == {"request_id"} else "submit" if queued else "run"
        record.kinds.append(kind)
        if record.on_request is not None:
            record.on_request()
        data = await original(self, model, inputs, **kw)
        if kind == "submit":
            record.job_ids.append(data["request_id"])
        return data

    monkeypatch.setattr(AsyncWorkersAIClient, "run", run)
    return record


class EmulatorClock:
    """The emulator's monotonic clock, moved only by the test: a job with a delay stays
    pending until the test says time has passed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emulator_clock(monkeypatch: pytest.MonkeyPatch) -> EmulatorClock:
    clock = EmulatorClock()
    monkeypatch.setattr(app_module, "_clock", clock)
    return clock


class Recorder(BaseCallbackHandler):
    """LangChain callback events: ``(event, run_id, payload)``."""

    run_inline = True

    def __init__(self) -> None:
        self.events: list[tuple[str, UUID, Any]] = []

    def on_chat_model_start(
        self, serialized: Any, messages: list[list[Any]], *, run_id: UUID, **kw: Any
    ) -> None:
        self.events.append(("start", run_id, messages[0][-1].content))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        self.events.append(("end", run_id, response.generations[0][0].message))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.events.append(("error", run_id, error))

    def starts(self) -> dict[str, UUID]:
        """Prompt -> its run id."""
        return {payload: run_id for kind, run_id, payload in self.events if kind == "start"}

    def outcomes(self) -> dict[UUID, tuple[str, Any]]:
        """Run id -> how it ended (exactly once each)."""
        ends = [(run_id, (kind, p)) for kind, run_id, p in self.events if kind != "start"]
        assert len({run_id for run_id, _ in ends}) == len(ends), "a run ended twice"
        return dict(ends)


def lc(emulator: EmulatorServer, **kw: Any) -> ChatWorkersAI:
    return ChatWorkersAI(
        **{"model": L33, **adapter_kwargs(emulator), "max_tokens": MAX_TOKENS,
           "use_batch_api": True, "batch_poll_interval": 0.01, **kw}
    )  # fmt: skip


def li(emulator: EmulatorServer, **kw: Any) -> WorkersAI:
    return WorkersAI(
        **{"model": L33, **adapter_kwargs(emulator), "max_tokens": MAX_TOKENS,
           "batch_poll_interval": 0.01, **kw}
    )  # fmt: skip


def conversations(prompts: list[str] = PROMPTS) -> list[list[ChatMessage]]:
    return [[ChatMessage(role="user", content=p)] for p in prompts]


def requests(emulator: EmulatorServer) -> int:
    return int(emulator.stats()["requests"])


def reference(emulator: EmulatorServer, prompts: list[str] = PROMPTS) -> list[AIMessage]:
    """What a plain ``invoke`` answers for each prompt (the emulator is deterministic)."""
    plain = lc(emulator, use_batch_api=False)
    return [plain.invoke(p) for p in prompts]


def assert_same_answer(batched: Any, invoked: AIMessage) -> None:
    """A batched answer is the answer ``invoke`` gives, with its usage and cost."""
    assert isinstance(batched, AIMessage)
    assert batched.content == invoked.content
    assert batched.content or batched.tool_calls  # an answer either way
    assert batched.usage_metadata == invoked.usage_metadata
    assert [(c["name"], c["args"]) for c in batched.tool_calls] == [
        (c["name"], c["args"]) for c in invoked.tool_calls
    ]
    for key in ("model_name", "neurons", "estimated_cost_usd"):
        assert batched.response_metadata[key] == invoked.response_metadata[key], key
    assert batched.response_metadata["neurons"] > 0
    assert batched.response_metadata["estimated_cost_usd"] > 0


async def lc_batch(model: Any, mode: str, inputs: list[Any], **kw: Any) -> list[Any]:
    if mode == "sync":
        return list(model.batch(inputs, **kw))
    return list(await model.abatch(inputs, **kw))


async def lc_collect(model: ChatWorkersAI, mode: str, ids: list[str], **kw: Any) -> list[Any]:
    if mode == "sync":
        return model.collect_batch(ids, **kw)
    return await model.acollect_batch(ids, **kw)


async def li_batch(llm: WorkersAI, mode: str, lists: Any, **kw: Any) -> list[Any]:
    if mode == "sync":
        return llm.chat_batch(lists, **kw)
    return await llm.achat_batch(lists, **kw)


# -- 1. batch / abatch: one job, answers in input order ------------------------------------------


@SHAPES
@MODES
async def test_batch_queues_one_job_and_answers_in_input_order_like_invoke(
    emulator: EmulatorServer, sent: Sent, mode: str, shape: str
) -> None:
    """The emulator answers reversed (``batch_shuffle``), flat or doubly nested
    (``result.result``); each answer is still the one ``invoke`` gives for its input."""
    emulator.configure(batch_result_shape=shape, batch_shuffle=True, batch_pending_polls=1)

    answers = await lc_batch(lc(emulator), mode, PROMPTS)

    assert (sent.count("submit"), sent.count("poll"), sent.count("run")) == (1, 2, 0)
    assert requests(emulator) == 1 + 2  # no request per input
    for answer, invoked in zip(answers, reference(emulator), strict=True):
        assert_same_answer(answer, invoked)
    assert len({a.content for a in answers}) == len(PROMPTS)  # four different answers


def test_a_batch_over_the_job_size_limit_is_split_and_keeps_its_order(
    emulator: EmulatorServer, sent: Sent
) -> None:
    """More inputs than one job takes (500): two jobs, still one answer per input in order."""
    prompts: list[Any] = [f"Question number {i}" for i in range(502)]

    answers = lc(emulator, max_tokens=8).batch(prompts)

    assert sent.count("submit") == 2 and len(answers) == len(prompts)
    plain = lc(emulator, max_tokens=8, use_batch_api=False)
    for index in (0, 1, 499, 500, 501):
        assert answers[index].content == plain.invoke(prompts[index]).content


@MODES
async def test_without_use_batch_api_batch_sends_a_request_per_input(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    answers = await lc_batch(lc(emulator, use_batch_api=False), mode, PROMPTS)

    assert sent.count("submit") == sent.count("poll") == 0
    assert requests(emulator) == len(PROMPTS)
    for answer, invoked in zip(answers, reference(emulator), strict=True):
        assert_same_answer(answer, invoked)


# -- 3. failed items, callbacks, runs ------------------------------------------------------------


@MODES
async def test_a_failed_input_is_an_error_in_its_place_and_the_others_answer(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    emulator.configure(batch_failed_items=[1])
    recorder = Recorder()

    results = await lc_batch(
        lc(emulator), mode, PROMPTS, config={"callbacks": [recorder]}, return_exceptions=True
    )

    (job,) = sent.job_ids
    failed = results[1]
    assert isinstance(failed, BatchJobError)
    assert failed.request_id == job
    assert "input 1" in str(failed) and job in str(failed) and "3030" in str(failed)
    assert [item.id for item in failed.failures] == [1]
    invoked = reference(emulator)
    for index in (0, 2, 3):
        assert_same_answer(results[index], invoked[index])
    # callbacks: one run per input, ended once each, the failed one with its error
    runs = recorder.starts()
    assert list(runs) == PROMPTS and len(set(runs.values())) == len(PROMPTS)
    outcomes = recorder.outcomes()
    assert set(outcomes) == set(runs.values())
    for index, prompt in enumerate(PROMPTS):
        kind, payload = outcomes[runs[prompt]]
        if index == 1:
            assert kind == "error" and payload is failed
        else:
            assert kind == "end" and payload.content == results[index].content


@MODES
async def test_without_return_exceptions_the_first_failed_input_raises(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    emulator.configure(batch_failed_items=[2, 1])
    recorder = Recorder()

    with pytest.raises(BatchJobError) as info:
        await lc_batch(lc(emulator), mode, PROMPTS, config={"callbacks": [recorder]})

    assert "input 1 " in str(info.value) and info.value.request_id == sent.job_ids[0]
    runs = recorder.starts()
    outcomes = recorder.outcomes()
    assert [outcomes[runs[p]][0] for p in PROMPTS] == ["end", "error", "error", "end"]


def test_each_answer_carries_its_runs_message_id_like_invoke(emulator: EmulatorServer) -> None:
    recorder = Recorder()

    answers = lc(emulator).batch(PROMPTS[:2], config={"callbacks": [recorder]})

    runs = recorder.starts()
    assert [a.id for a in answers] == [f"{LC_ID_PREFIX}-{runs[p]}-0" for p in PROMPTS[:2]]


# -- 4. submit / collect across a restart --------------------------------------------------------


@MODES
async def test_langchain_submit_then_collect_with_a_fresh_object(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    emulator.configure(batch_pending_polls=2)
    submitter = lc(emulator, use_batch_api=False)  # submit/collect work either way
    if mode == "sync":
        ids = submitter.submit_batch(PROMPTS)
    else:
        ids = await submitter.asubmit_batch(PROMPTS)
    assert sent.count("poll") == 0 and requests(emulator) == 1  # submitted, nothing waited
    stored = json.dumps(ids)  # what a caller persists
    del submitter

    fresh = lc(emulator, use_batch_api=False)
    answers = await lc_collect(fresh, mode, json.loads(stored))

    assert ids == sent.job_ids and sent.count("poll") == 3
    for answer, invoked in zip(answers, reference(emulator), strict=True):
        assert_same_answer(answer, invoked)


@MODES
async def test_llama_index_submit_then_collect_with_a_fresh_object(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    if mode == "sync":
        ids = li(emulator).submit_chat_batch(conversations())
    else:
        ids = await li(emulator).asubmit_chat_batch(conversations())
    assert requests(emulator) == 1
    stored = json.dumps(ids)

    fresh = li(emulator)
    if mode == "sync":
        responses = fresh.collect_chat_batch(json.loads(stored))
    else:
        responses = await fresh.acollect_chat_batch(json.loads(stored))

    plain = li(emulator)
    for response, messages in zip(responses, conversations(), strict=True):
        assert response.message.content == plain.chat(messages).message.content


def test_submit_and_collect_with_tools_given_to_both(emulator: EmulatorServer) -> None:
    prompts = ["What is the weather in Paris?", "What is the weather in Rome?"]
    tools = [convert_to_openai_tool(get_weather)]  # per-call tools go as dicts, as for invoke
    ids = lc(emulator).submit_batch(prompts, tools=tools)

    answers = lc(emulator).collect_batch(ids, tools=tools)

    assert [[(c["name"], c["args"]) for c in a.tool_calls] for a in answers] == [
        [("get_weather", {"city": "Paris"})],
        [("get_weather", {"city": "Rome"})],
    ]


def test_submit_batch_takes_tools_as_arguments_as_documented(emulator: EmulatorServer) -> None:
    """A ``bind_tools`` binding hands ``submit_batch`` its config only (LangChain's
    ``RunnableBinding``), so tools go in as arguments -- functions too, converted as
    ``bind_tools`` converts them."""
    llm = lc(emulator)
    ids = llm.submit_batch(["What is the weather in Paris?"], tools=[get_weather])

    (answer,) = llm.collect_batch(ids, tools=[get_weather])

    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


BAD_IDS = [["../etc/passwd"], [None], ["a job"], ["", "x"]]


@pytest.mark.parametrize("ids", BAD_IDS, ids=["slash", "none", "space", "empty"])
async def test_collect_refuses_bad_ids_before_any_request(
    emulator: EmulatorServer, ids: list[Any]
) -> None:
    good = lc(emulator).submit_batch(PROMPTS[:1])
    before = requests(emulator)
    mixed = [*good, *ids]  # a good id first: nothing is polled either

    with pytest.raises(InvalidRequestError, match="request_id"):
        lc(emulator).collect_batch(mixed)
    with pytest.raises(InvalidRequestError, match="request_id"):
        await lc(emulator).acollect_batch(mixed)
    with pytest.raises(InvalidRequestError, match="request_id"):
        li(emulator).collect_chat_batch(mixed)
    with pytest.raises(InvalidRequestError, match="request_id"):
        await li(emulator).acollect_chat_batch(mixed)

    assert requests(emulator) == before


def test_collect_refuses_a_single_id_string_before_any_request(emulator: EmulatorServer) -> None:
    (job,) = lc(emulator).submit_batch(PROMPTS[:1])
    before = requests(emulator)

    with pytest.raises(InvalidRequestError):
        lc(emulator).collect_batch(job)  # a str is a Sequence[str]

    assert requests(emulator) == before


# -- 5. deadline and cancellation ----------------------------------------------------------------


@MODES
async def test_the_deadline_raises_with_the_job_id_and_the_job_can_be_collected_later(
    emulator: EmulatorServer, emulator_clock: EmulatorClock, sent: Sent, mode: str
) -> None:
    emulator.configure(batch_delay_s=3600.0)
    model = lc(emulator, batch_timeout=0.05)
    recorder = Recorder()

    with pytest.raises(BatchJobError) as info:
        await lc_batch(model, mode, PROMPTS, config={"callbacks": [recorder]})

    assert not isinstance(info.value, BatchCancelledError)
    assert info.value.request_id == sent.job_ids[0]
    assert "collect it later" in str(info.value)
    assert [kind for kind, _ in recorder.outcomes().values()] == ["error"] * len(PROMPTS)
    polls = sent.count("poll")
    assert polls >= 1

    emulator_clock.now += 3600.0  # the job is done by now
    answers = await lc_collect(lc(emulator), mode, [info.value.request_id])

    assert sent.count("submit") == 1 and sent.count("poll") == polls + 1
    for answer, invoked in zip(answers, reference(emulator), strict=True):
        assert_same_answer(answer, invoked)


class _FakeTime:
    """A clock that moves only when the code under test sleeps (no timed assertions)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.naps: list[float] = []
        self.on_nap: Callable[[], None] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds
        if self.on_nap is not None:
            self.on_nap()


async def _pending(model: str, body: Any, *, params: Any = None) -> dict[str, str]:
    return {"status": "running", "request_id": body["request_id"]}


JOB = "768f15b7-4fd6-4498-906e-ad94ffc7f8d2"


def test_the_deadline_is_not_overrun_by_the_poll_interval() -> None:
    fake = _FakeTime()
    policy = BatchPollPolicy(interval=0.15, timeout=0.2)
    with pytest.raises(BatchJobError) as info:
        asyncio.run(wait_for_job(_pending, L33, JOB, policy, sleep=fake.sleep, clock=fake.clock))
    assert info.value.request_id == JOB
    assert sum(fake.naps) == pytest.approx(0.2)  # the last wait is cut to the time left
    assert fake.naps == pytest.approx([0.15, 0.05])


def test_one_deadline_spans_every_job_of_a_collection() -> None:
    fake = _FakeTime()
    policy = BatchPollPolicy(interval=0.1, timeout=0.25)
    started = fake.clock() - 0.2  # an earlier job already used 0.2 s of the deadline
    with pytest.raises(BatchJobError):
        asyncio.run(
            wait_for_job(
                _pending, L33, JOB, policy, sleep=fake.sleep, clock=fake.clock, started=started
            )
        )
    assert sum(fake.naps) == pytest.approx(0.05)


@MODES
async def test_cancel_stops_collecting_and_the_job_goes_on(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    ids = lc(emulator).submit_batch(PROMPTS)
    stop = threading.Event()
    stop.set()

    with pytest.raises(BatchCancelledError) as info:
        await lc_collect(lc(emulator), mode, ids, cancel=stop.is_set)

    assert info.value.request_id == ids[0]
    assert sent.count("poll") == 0  # cancelled before the first poll
    answers = await lc_collect(lc(emulator), mode, ids)  # the job went on
    assert [a.content for a in answers] == [a.content for a in reference(emulator)]


def test_cancel_is_seen_during_a_long_wait_between_polls() -> None:
    fake = _FakeTime()
    stop = threading.Event()
    fake.on_nap = stop.set  # cancelled while the first slice of a 30 s wait sleeps
    policy = BatchPollPolicy(interval=30.0)
    with pytest.raises(BatchCancelledError) as info:
        asyncio.run(
            wait_for_job(
                _pending, L33, JOB, policy, sleep=fake.sleep, clock=fake.clock, cancel=stop.is_set
            )
        )
    assert info.value.request_id == JOB
    assert fake.naps == [CANCEL_CHECK_S]  # seen at the next slice, not after 30 s


async def test_cancelling_the_abatch_task_stops_waiting(
    emulator: EmulatorServer, emulator_clock: EmulatorClock, sent: Sent
) -> None:
    emulator.configure(batch_delay_s=3600.0, batch_pending_polls=0)
    recorder = Recorder()
    model = lc(emulator, batch_poll_interval=0.02)
    polling = asyncio.Event()
    sent.on_request = lambda: polling.set() if sent.count("poll") >= 2 else None
    task = asyncio.create_task(model.abatch(PROMPTS, config={"callbacks": [recorder]}))
    await asyncio.wait_for(polling.wait(), timeout=2)  # submitted, polling

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    polls = sent.count("poll")
    await asyncio.sleep(0.1)  # several poll intervals

    assert sent.count("poll") == polls  # nothing polls any more
    assert sent.count("submit") == 1
    outcomes = recorder.outcomes()
    assert len(outcomes) == len(PROMPTS)
    assert all(kind == "error" for kind, _ in outcomes.values())
    # the job went on: collecting it later answers
    emulator_clock.now += 3600.0
    answers = await lc(emulator).acollect_batch(sent.job_ids)
    assert len(answers) == len(PROMPTS)


@MODES
async def test_llama_index_cancel_then_collect_by_the_errors_request_id(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    with pytest.raises(BatchCancelledError) as info:
        await li_batch(li(emulator), mode, conversations(), cancel=lambda: True)

    assert sent.count("poll") == 0
    responses = li(emulator).collect_chat_batch([info.value.request_id])
    assert len(responses) == len(PROMPTS) and all(r.message.content for r in responses)


# -- 6. faults on submit and poll ----------------------------------------------------------------


@MODES
async def test_capacity_errors_on_polls_are_retried_and_the_batch_answers(
    emulator: EmulatorServer, waits: Waits, mode: str
) -> None:
    emulator.configure(faults=[{"kind": "capacity", "route": "batch_poll", "count": 2}])

    answers = await lc_batch(lc(emulator, max_retries=2), mode, PROMPTS)

    stats = emulator.stats()
    assert stats["by_fault"] == {"capacity": 2} and stats["by_status"]["429"] == 2
    assert len(waits.delays) == 2  # the client's retry waits (recorded)
    for answer, invoked in zip(answers, reference(emulator), strict=True):
        assert_same_answer(answer, invoked)


@MODES
async def test_a_server_error_on_submit_raises_typed_and_every_run_errors(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    emulator.configure(faults=[{"kind": "server_error", "route": "batch_submit", "count": 1}])
    recorder = Recorder()

    with pytest.raises(InternalServerError) as info:
        await lc_batch(lc(emulator, max_retries=0), mode, PROMPTS, config={"callbacks": [recorder]})

    assert isinstance(info.value, ModelAPIError)  # LangChain's type too
    assert info.value.status_code == 500
    assert requests(emulator) == 1 and sent.count("poll") == 0
    outcomes = recorder.outcomes()
    assert len(outcomes) == len(PROMPTS)
    assert all(kind == "error" and error is info.value for kind, error in outcomes.values())


# -- 7. refusals before any request --------------------------------------------------------------


def test_a_model_without_async_queue_is_refused_naming_the_models_that_can(
    emulator: EmulatorServer,
) -> None:
    with pytest.raises(ConfigurationError) as info:
        lc(emulator, model=LLAMA31)
    for model in BATCH_MODELS:
        assert model in str(info.value)
    assert LLAMA31 in str(info.value)

    with pytest.raises(ConfigurationError, match="async batches"):
        li(emulator, model=LLAMA31).chat_batch(conversations())
    with pytest.raises(ConfigurationError, match="async batches"):
        lc(emulator, model=LLAMA31, use_batch_api=False).submit_batch(PROMPTS)

    assert requests(emulator) == 0


async def test_fallbacks_are_refused(emulator: EmulatorServer) -> None:
    with pytest.raises(ConfigurationError, match="fallbacks"):
        lc(emulator, fallbacks=[LLAMA31])
    with pytest.raises(ConfigurationError, match="fallbacks"):
        lc(emulator).batch(PROMPTS, fallbacks=[LLAMA31])
    with pytest.raises(ConfigurationError, match="fallbacks"):
        await lc(emulator).abatch(PROMPTS, fallbacks=[LLAMA31])
    with pytest.raises(ConfigurationError, match="fallbacks"):
        li(emulator, fallbacks=[LLAMA31]).chat_batch(conversations())

    assert requests(emulator) == 0


async def test_another_endpoint_is_refused(emulator: EmulatorServer) -> None:
    with pytest.raises(InvalidRequestError, match="endpoint='openai'"):
        lc(emulator).batch(PROMPTS, endpoint="openai")
    with pytest.raises(InvalidRequestError, match="endpoint='openai'"):
        await lc(emulator).abatch(PROMPTS, endpoint="openai")
    with pytest.raises(ConfigurationError, match="endpoint='openai'"):  # at construction
        lc(emulator, endpoint="openai")
    with pytest.raises(InvalidRequestError, match="endpoint='openai'"):
        li(emulator).chat_batch(conversations(), endpoint="openai")

    assert requests(emulator) == 0


def _worst_case(prompt: str) -> float:
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": MAX_TOKENS}
    neurons = worst_case(L33, body, chat=True).neurons
    assert neurons is not None
    return neurons


@MODES
async def test_a_budget_too_small_for_the_whole_job_is_refused_before_it_is_sent(
    emulator: EmulatorServer, mode: str
) -> None:
    needed = sum(_worst_case(p) for p in PROMPTS)
    limit = _worst_case(PROMPTS[0]) * 1.5  # one input fits, the job does not
    recorder = Recorder()

    with get_workers_ai_callback(max_neurons=limit, warn_at=None) as cb:
        with pytest.raises(BudgetExceededError) as info:
            await lc_batch(lc(emulator), mode, PROMPTS, config={"callbacks": [recorder]})
        assert requests(emulator) == 0
        assert info.value.needed == pytest.approx(needed)
        assert cb.remaining() == limit  # nothing stays reserved
        assert all(kind == "error" for kind, _ in recorder.outcomes().values())

    with get_workers_ai_callback(max_neurons=needed * 1.01, warn_at=None) as cb:
        answers = await lc_batch(lc(emulator), mode, PROMPTS)
    spent = sum(a.response_metadata["neurons"] for a in answers)
    assert cb.neurons == pytest.approx(spent) and spent < needed
    assert cb.remaining() == pytest.approx(needed * 1.01 - spent)


# -- 8. usage --------------------------------------------------------------------------------


@MODES
async def test_the_callback_counts_a_call_per_answered_input_not_per_request(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    emulator.configure(batch_pending_polls=3, batch_failed_items=[2])

    with get_workers_ai_callback() as cb:
        results = await lc_batch(lc(emulator), mode, PROMPTS, return_exceptions=True)

    assert (sent.count("submit"), sent.count("poll")) == (1, 4)
    answered = [r for r in results if isinstance(r, AIMessage)]
    assert len(answered) == 3 and isinstance(results[2], BatchJobError)
    assert cb.successful_requests == 3  # not the 5 requests, not the failed input
    usages = [a.usage_metadata for a in answered]
    assert all(u is not None for u in usages)
    assert cb.prompt_tokens == sum(u["input_tokens"] for u in usages if u)
    assert cb.completion_tokens == sum(u["output_tokens"] for u in usages if u)
    assert cb.neurons == pytest.approx(sum(a.response_metadata["neurons"] for a in answered))
    assert cb.total_cost == pytest.approx(
        sum(a.response_metadata["estimated_cost_usd"] for a in answered)
    )
    assert list(cb.by_model) == [L33]


@MODES
async def test_llama_index_usage_tracking_counts_a_call_per_input(
    emulator: EmulatorServer, mode: str
) -> None:
    emulator.configure(batch_pending_polls=2)

    with track_workers_ai_usage() as meter:
        responses = await li_batch(li(emulator), mode, conversations())

    assert meter.total.calls == len(PROMPTS)
    assert meter.total.input_tokens == sum(r.additional_kwargs["prompt_tokens"] for r in responses)
    assert meter.total.output_tokens == sum(
        r.additional_kwargs["completion_tokens"] for r in responses
    )
    assert meter.total.usd == pytest.approx(
        sum(r.additional_kwargs["estimated_cost_usd"] for r in responses)
    )


def test_embeddings_through_the_batch_api_count_a_call_per_job(
    emulator: EmulatorServer, sent: Sent
) -> None:
    emulator.configure(batch_pending_polls=3)
    embeddings = WorkersAIEmbeddings(
        model=BGE, use_batch_api=True, batch_poll_interval=0.01, batch_size=2,
        **adapter_kwargs(emulator),
    )  # fmt: skip

    with get_workers_ai_callback() as cb:
        vectors = embeddings.embed_documents([f"passage {i}" for i in range(5)])

    assert len(vectors) == 5
    assert (sent.count("submit"), sent.count("poll")) == (1, 4)
    assert cb.successful_requests == 1  # one job, whatever its polls
    assert list(cb.by_model) == [BGE] and cb.prompt_tokens > 0


# -- 9. tools and structured output through the batch API ----------------------------------------


@MODES
async def test_bound_tools_come_back_as_parsed_tool_calls(
    emulator: EmulatorServer, sent: Sent, mode: str
) -> None:
    prompts = ["What is the weather in Paris?", "What is the weather in Rome?"]

    answers = await lc_batch(lc(emulator).bind_tools([get_weather]), mode, prompts)

    assert sent.count("submit") == 1
    plain = lc(emulator, use_batch_api=False).bind_tools([get_weather])
    for answer, prompt, city in zip(answers, prompts, ["Paris", "Rome"], strict=True):
        assert_same_answer(answer, plain.invoke(prompt))
        assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
            ("get_weather", {"city": city})
        ]
        assert answer.tool_calls[0]["id"] and not answer.invalid_tool_calls
        assert answer.response_metadata["finish_reason"] == "tool_calls"


class Weather(BaseModel):
    city: str


def test_structured_output_through_the_batch_api(emulator: EmulatorServer, sent: Sent) -> None:
    model = lc(emulator).with_structured_output(Weather)

    answers = model.batch(["Weather in Paris?", "Weather in Rome?"])

    assert answers == [Weather(city="Paris"), Weather(city="Rome")]
    assert sent.count("submit") == 1


# -- 10. LlamaIndex chat_batch ---------------------------------------------------------------------


@SHAPES
@MODES
async def test_llama_index_chat_batch_answers_in_order_like_chat(
    emulator: EmulatorServer, sent: Sent, mode: str, shape: str
) -> None:
    emulator.configure(batch_result_shape=shape)

    responses = await li_batch(li(emulator), mode, conversations())

    assert (sent.count("submit"), sent.count("poll")) == (1, 2)
    plain = li(emulator)
    for response, messages in zip(responses, conversations(), strict=True):
        assert isinstance(response, ChatResponse)
        chatted = plain.chat(messages)
        assert response.message.content == chatted.message.content
        extra, expected = response.additional_kwargs, chatted.additional_kwargs
        for key in ("prompt_tokens", "completion_tokens", "total_tokens", "neurons"):
            assert extra[key] == expected[key], key
        assert extra["estimated_cost_usd"] == pytest.approx(expected["estimated_cost_usd"])
        assert extra["estimated_cost_usd"] > 0


@MODES
async def test_llama_index_failed_inputs(emulator: EmulatorServer, sent: Sent, mode: str) -> None:
    emulator.configure(batch_failed_items=[0])

    results = await li_batch(li(emulator), mode, conversations(), return_exceptions=True)

    assert isinstance(results[0], BatchJobError)
    assert results[0].request_id == sent.job_ids[0] and "input 0" in str(results[0])
    assert all(isinstance(r, ChatResponse) and r.message.content for r in results[1:])
    with pytest.raises(BatchJobError, match="input 0"):
        await li_batch(li(emulator), mode, conversations())
