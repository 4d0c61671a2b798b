"""``ChatWorkersAI.batch`` through Workers AI's async batch API (``use_batch_api=True``).

The inputs are prepared exactly as ``invoke`` prepares them (one preparation:
:func:`workers_ai.prepare.prepare_chat`), queued as batch jobs
(:mod:`workers_ai.chat_batch`), polled, and answered in input order. Each input is a run of
its own for LangChain's callbacks (``on_chat_model_start`` before the job is submitted,
``on_llm_end`` / ``on_llm_error`` when its answer is known), as with ``batch`` without the
batch API; tracing and ``get_workers_ai_callback`` see every input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.messages import LC_ID_PREFIX, BaseMessage
from langchain_core.outputs import Generation, LLMResult
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_config_list

from langchain_workers_ai.errors import langchain_errors, to_langchain_error
from workers_ai.concurrency import run_sync
from workers_ai.errors import InvalidRequestError

if TYPE_CHECKING:
    from langchain_workers_ai.chat_models import ChatWorkersAI
    from workers_ai.chat_batch import ItemResult
    from workers_ai.prepare import PreparedChat

__all__ = [
    "BatchPlan",
    "abatch",
    "acollect",
    "answers",
    "asubmit",
    "batch",
    "collect",
    "plan",
    "probe",
    "submit",
    "to_outputs",
]


@dataclass(frozen=True)
class BatchPlan:
    """The prepared inputs of one batch: their messages, calls and queue items."""

    model: str
    messages: list[list[BaseMessage]]
    preps: list[PreparedChat]
    items: list[dict[str, Any]]
    stop: list[str] | None
    kwargs: dict[str, Any]


def plan(llm: ChatWorkersAI, inputs: Sequence[Any], kwargs: dict[str, Any]) -> BatchPlan:
    """Prepare every input as ``invoke`` would; refuse what a batch cannot carry (before any
    request)."""
    from workers_ai.chat_batch import check_batchable

    options = dict(kwargs)
    stop = options.pop("stop", None)
    messages = [llm._convert_input(value).to_messages() for value in inputs]
    preps = [llm._prepare(m, stop, dict(options))[0] for m in messages]
    models = {prep.model for prep in preps}
    if len(models) > 1:  # cannot happen through batch(); guards the plan's single model
        raise InvalidRequestError(f"a batch goes to one model, not {sorted(models)}")
    items = [check_batchable(p.model, p.body, p.call_options()) for p in preps]
    return BatchPlan(preps[0].model, messages, preps, items, stop, options)


def _policy(llm: ChatWorkersAI) -> Any:
    from workers_ai.embeddings import BatchPollPolicy

    return BatchPollPolicy(interval=llm.batch_poll_interval, timeout=llm.batch_timeout)


async def asubmit(llm: ChatWorkersAI, the_plan: BatchPlan) -> list[str]:
    """Queue the plan's items; the jobs' request ids."""
    from workers_ai import chat_batch

    with langchain_errors():
        return await chat_batch.submit(llm._async_client().run, the_plan.model, the_plan.items)


async def acollect(
    llm: ChatWorkersAI,
    request_ids: Sequence[str],
    *,
    model: str | None = None,
    tool_names: tuple[str, ...] = (),
    cancel: Callable[[], bool] | None = None,
) -> list[ItemResult]:
    """Wait for the jobs; one result per input, in order (a failed input as its error)."""
    from workers_ai import chat_batch
    from workers_ai.batch_api import check_request_ids

    check_request_ids(request_ids)
    with langchain_errors():
        return await chat_batch.collect(
            llm._async_client().run,
            model or llm.model,
            request_ids,
            _policy(llm),
            tool_names=tool_names,
            cancel=cancel,
        )


def submit(llm: ChatWorkersAI, the_plan: BatchPlan) -> list[str]:
    return run_sync(asubmit(llm, the_plan))


def collect(
    llm: ChatWorkersAI,
    request_ids: Sequence[str],
    *,
    model: str | None = None,
    tool_names: tuple[str, ...] = (),
    cancel: Callable[[], bool] | None = None,
) -> list[ItemResult]:
    return run_sync(acollect(llm, request_ids, model=model, tool_names=tool_names, cancel=cancel))


def to_outputs(
    llm: ChatWorkersAI, prep: PreparedChat, results: Sequence[ItemResult], expected: int
) -> list[Any]:
    """Each input's LangChain result, or its error as a LangChain-typed exception (``prep``:
    any input's preparation: they share the model and tools)."""
    from workers_ai.types import ResponseMeta

    if len(results) != expected:
        error = InvalidRequestError(
            f"the batch jobs answered {len(results)} results for {expected} inputs"
        )
        return [to_langchain_error(error)] * expected
    return [
        to_langchain_error(r)
        if isinstance(r, Exception)
        else llm._to_lc_result(r, ResponseMeta(200), prep)
        for r in results
    ]


def probe(llm: ChatWorkersAI, kwargs: dict[str, Any]) -> PreparedChat:
    """A preparation with the call's options (model, tools) for converting collected
    answers, when the inputs are not at hand (:meth:`ChatWorkersAI.collect_batch`)."""
    from langchain_core.messages import HumanMessage

    options = dict(kwargs)
    return llm._prepare([HumanMessage("")], options.pop("stop", None), options)[0]


def answers(outputs: list[Any], return_exceptions: bool) -> list[Any]:
    """The messages (errors in place with ``return_exceptions``, else the first raised)."""
    found = [o if isinstance(o, Exception) else o.generations[0].message for o in outputs]
    if not return_exceptions:
        for answer in found:
            if isinstance(answer, Exception):
                raise answer
    return found


def _runs(
    llm: ChatWorkersAI, the_plan: BatchPlan, configs: list[RunnableConfig]
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Per input: the callback manager's ``configure`` arguments and ``on_chat_model_start``'s
    (what ``generate`` does for each ``invoke``)."""
    params = llm._get_invocation_params(stop=the_plan.stop, **the_plan.kwargs)
    traced = llm._get_ls_params(stop=the_plan.stop, **the_plan.kwargs)
    for messages, config in zip(the_plan.messages, configs, strict=True):
        metadata = {**(config.get("metadata") or {}), **traced}
        configure = (
            config.get("callbacks"), llm.callbacks, llm.verbose, config.get("tags"), llm.tags,
            metadata, llm.metadata,
        )  # fmt: skip
        start = {
            "serialized": llm._serialized, "messages": [messages], "invocation_params": params,
            "options": {"stop": the_plan.stop}, "name": config.get("run_name"),
            "run_id": config.get("run_id"), "batch_size": len(the_plan.messages),
        }  # fmt: skip
        yield configure, start


def _start(llm: ChatWorkersAI, the_plan: BatchPlan, configs: list[RunnableConfig]) -> list[Any]:
    """One callback run per input."""
    return [
        CallbackManager.configure(*configure).on_chat_model_start(**start)[0]
        for configure, start in _runs(llm, the_plan, configs)
    ]


async def _astart(
    llm: ChatWorkersAI, the_plan: BatchPlan, configs: list[RunnableConfig]
) -> list[Any]:
    """Async :func:`_start`."""
    return [
        (await AsyncCallbackManager.configure(*configure).on_chat_model_start(**start))[0]
        for configure, start in _runs(llm, the_plan, configs)
    ]


def batch(
    llm: ChatWorkersAI,
    inputs: Sequence[Any],
    config: RunnableConfig | list[RunnableConfig] | None,
    return_exceptions: bool,
    kwargs: dict[str, Any],
) -> list[Any]:
    """``ChatWorkersAI.batch`` with ``use_batch_api=True`` (module docs)."""
    configs = get_config_list(config, len(inputs))
    the_plan = plan(llm, inputs, kwargs)
    managers = _start(llm, the_plan, configs)
    try:
        ids = submit(llm, the_plan)
        results = collect(llm, ids, model=the_plan.model, tool_names=_tools(the_plan))
    except BaseException as error:
        for manager in managers:
            manager.on_llm_error(error)
        raise
    outputs = to_outputs(llm, the_plan.preps[0], results, len(inputs))
    _name_messages(outputs, managers)
    for manager, output in zip(managers, outputs, strict=True):
        if isinstance(output, Exception):
            manager.on_llm_error(output)
        else:
            manager.on_llm_end(_llm_result(output))
    return answers(outputs, return_exceptions)


async def abatch(
    llm: ChatWorkersAI,
    inputs: Sequence[Any],
    config: RunnableConfig | list[RunnableConfig] | None,
    return_exceptions: bool,
    kwargs: dict[str, Any],
) -> list[Any]:
    """``ChatWorkersAI.abatch`` with ``use_batch_api=True`` (cancel the task to stop
    waiting; the jobs go on server-side)."""
    configs = get_config_list(config, len(inputs))
    the_plan = plan(llm, inputs, kwargs)
    managers = await _astart(llm, the_plan, configs)
    try:
        ids = await asubmit(llm, the_plan)
        results = await acollect(llm, ids, model=the_plan.model, tool_names=_tools(the_plan))
    except BaseException as error:
        await asyncio.gather(*(m.on_llm_error(error) for m in managers))
        raise
    outputs = to_outputs(llm, the_plan.preps[0], results, len(inputs))
    _name_messages(outputs, managers)
    for manager, output in zip(managers, outputs, strict=True):
        if isinstance(output, Exception):
            await manager.on_llm_error(output)
        else:
            await manager.on_llm_end(_llm_result(output))
    return answers(outputs, return_exceptions)


def _name_messages(outputs: list[Any], managers: list[Any]) -> None:
    """Message ids as ``invoke`` gives them (``lc_run--<run id>-0``) where the service
    gave none."""
    for output, manager in zip(outputs, managers, strict=True):
        if not isinstance(output, Exception):
            message = output.generations[0].message
            if message.id is None:
                message.id = f"{LC_ID_PREFIX}-{manager.run_id}-0"


def options_of(llm: ChatWorkersAI, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Per-call options for ``submit_batch`` / ``collect_batch``: ``tools`` (and
    ``tool_choice``) converted as ``bind_tools`` converts them (a binding's own arguments do
    not reach these methods: LangChain passes only its config)."""
    options = dict(kwargs)
    if "tools" in options:
        tools = options.pop("tools")
        choice = options.pop("tool_choice", None)
        bound: Any = llm.bind_tools(tools, tool_choice=choice)
        options = {**bound.kwargs, **options}
    return options


def _tools(the_plan: BatchPlan) -> tuple[str, ...]:
    return tuple(the_plan.preps[0].tool_names) if the_plan.preps else ()


def _llm_result(output: Any) -> LLMResult:
    generations: list[Generation] = list(output.generations)
    return LLMResult(generations=[generations], llm_output=output.llm_output)
