"""``WorkersAI.chat_batch`` and friends: bulk chat through Workers AI's async batch API.

The message lists are prepared exactly as ``chat`` prepares them
(:func:`workers_ai.prepare.prepare_chat`), queued as batch jobs (:mod:`workers_ai.chat_batch`),
polled, and answered in input order as ``ChatResponse`` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from workers_ai.concurrency import run_sync

if TYPE_CHECKING:
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse

    from llama_index_workers_ai.llms import WorkersAI
    from workers_ai.chat_batch import ItemResult
    from workers_ai.prepare import PreparedChat

__all__ = ["acollect", "asubmit", "collect", "prepare", "probe", "submit", "to_responses"]


def prepare(
    llm: WorkersAI, message_lists: Sequence[Sequence[ChatMessage]], kwargs: dict[str, Any]
) -> tuple[str, list[dict[str, Any]], PreparedChat]:
    """``(model, queue items, one preparation)``; refuses what a batch cannot carry (before
    any request)."""
    from workers_ai.chat_batch import check_batch_model, check_batchable

    check_batch_model(llm.model, fallbacks=llm.fallbacks)
    preps = [llm._prepare(messages, dict(kwargs)) for messages in message_lists]
    items = [check_batchable(p.model, p.body, p.call_options()) for p in preps]
    return preps[0].model, items, preps[0]


def probe(llm: WorkersAI, kwargs: dict[str, Any]) -> PreparedChat:
    """A preparation with the call's options (model, tools), to read collected answers."""
    from llama_index.core.base.llms.types import ChatMessage

    return llm._prepare([ChatMessage(role="user", content="")], dict(kwargs))


def _policy(llm: WorkersAI) -> Any:
    from workers_ai.embeddings import BatchPollPolicy

    return BatchPollPolicy(interval=llm.batch_poll_interval, timeout=llm.batch_timeout)


async def asubmit(llm: WorkersAI, model: str, items: list[dict[str, Any]]) -> list[str]:
    from workers_ai import chat_batch

    return await chat_batch.submit(llm._async_client().run, model, items)


def submit(llm: WorkersAI, model: str, items: list[dict[str, Any]]) -> list[str]:
    return run_sync(asubmit(llm, model, items))


async def acollect(
    llm: WorkersAI,
    request_ids: Sequence[str],
    prep: PreparedChat,
    cancel: Callable[[], bool] | None,
) -> list[ItemResult]:
    from workers_ai import chat_batch
    from workers_ai.batch_api import check_request_ids

    check_request_ids(request_ids)
    return await chat_batch.collect(
        llm._async_client().run,
        prep.model,
        request_ids,
        _policy(llm),
        tool_names=prep.tool_names,
        cancel=cancel,
    )


def collect(
    llm: WorkersAI,
    request_ids: Sequence[str],
    prep: PreparedChat,
    cancel: Callable[[], bool] | None,
) -> list[ItemResult]:
    return run_sync(acollect(llm, request_ids, prep, cancel))


def to_responses(
    results: Sequence[ItemResult], prep: PreparedChat, return_exceptions: bool
) -> list[Any]:
    """``ChatResponse`` per input, in order (a failed input's error in its place with
    ``return_exceptions``, else the first one raised)."""
    from llama_index.core.base.llms.types import ChatResponse

    from llama_index_workers_ai._convert import response_kwargs, result_to_message

    out: list[ChatResponse | Exception] = []
    for result in results:
        if isinstance(result, Exception):
            if not return_exceptions:
                raise result
            out.append(result)
            continue
        out.append(
            ChatResponse(
                message=result_to_message(result, prep.schemas),
                raw=result.raw,
                additional_kwargs=response_kwargs(result, None, prep.model),
            )
        )
    return out
