"""Bulk chat generation through Workers AI's async batch API (spec §10), for the adapters.

Each input is the body a plain chat call to the model would send (prepared by
:func:`workers_ai.prepare.prepare_chat`), queued as items of one or more jobs
(``?queueRequest=true``, split under the size limit); :func:`collect` polls them and returns
one :class:`~workers_ai.types.ChatResult` per input, in input order, or -- for an input the
service failed -- a :class:`~workers_ai.batch_api.BatchJobError` naming it. Submitting and
collecting are separate, so a long job survives a restart: keep the request ids
:func:`submit` returns and collect them later, in this or another process.

Only Workers AI models whose catalog entry says ``async_queue`` take batches; a call
prepared with fallbacks, another endpoint or a streamed body is refused before any request
(:func:`check_batchable`). Before submitting, the job's worst case (every input's prompt
estimate + ``max_tokens``) must fit the listening budgets; each collected input is reported
to the usage hook as one chat call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workers_ai import catalog
from workers_ai.batch_api import (
    BatchItem,
    BatchJobError,
    BatchStatus,
    Send,
    check_request_ids,
    split_into_jobs,
    submit_job,
    wait_for_job,
)
from workers_ai.budget import worst_case
from workers_ai.chat import normalize_chat_result
from workers_ai.embeddings import BatchPollPolicy
from workers_ai.errors import ConfigurationError, InvalidRequestError
from workers_ai.types import ChatResult
from workers_ai.usage import UsageRecord, listening, report_usage, reserve

__all__ = ["ItemResult", "check_batch_model", "check_batchable", "collect", "read_job", "submit"]

logger = logging.getLogger("workers_ai")

#: One input's outcome: its answer, or the error the service gave for it.
ItemResult = ChatResult | BatchJobError


def check_batch_model(model: str, *, fallbacks: Sequence[str] = ()) -> None:
    """Raise unless ``model`` takes batches (catalog ``async_queue``) and no fallbacks are set.

    Raises:
        ConfigurationError: What to change.
    """
    info = catalog.get(model)
    if info.provider is not None or not info.async_queue:
        able = sorted(
            m.id
            for m in catalog.models(catalog.TEXT_GENERATION)
            if m.async_queue and not m.deprecated
        )
        raise ConfigurationError(
            f"{model} does not take async batches (Workers AI's batch API, spec §10); "
            f"use_batch_api needs one of: {', '.join(able) or 'none in the catalog'}"
        )
    if fallbacks:
        raise ConfigurationError(
            "use_batch_api queues every input for the model alone, so fallbacks cannot apply; "
            "remove fallbacks or use_batch_api"
        )


def check_batchable(
    model: str, body: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The batch item for one prepared call (``body`` without ``stream``), or raise before
    any request when the call cannot be queued.

    Args:
        model: The prepared call's model.
        body: Its body.
        options: Its :meth:`~workers_ai.prepare.PreparedChat.call_options`.

    Raises:
        ConfigurationError: Fallbacks, or a model without batches.
        InvalidRequestError: Another endpoint than ``native``, or per-call headers.
    """
    check_batch_model(model, fallbacks=tuple(options.get("fallbacks") or ()))
    if options.get("endpoint", "native") != "native":
        raise InvalidRequestError(
            f"endpoint={options['endpoint']!r}: the batch API is Workers AI's /ai/run route; "
            "use endpoint='native' for batches"
        )
    if options.get("headers"):
        raise InvalidRequestError(
            "per-call headers (session_affinity, ...) cannot be sent per input of a batch; "
            "remove them for batches"
        )
    return {k: v for k, v in body.items() if k != "stream"}


async def submit(send: Send, model: str, items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Queue ``items`` (from :func:`check_batchable`) as jobs; their request ids in order.

    Raises:
        BudgetExceededError: The job's worst case does not fit a listening budget (nothing is
            sent; the check reserves nothing: the job is counted when collected).
    """
    hold = reserve(lambda: [worst_case(model, item, chat=True) for item in items])
    if hold is not None:
        hold.release()
    ids = []
    for job in split_into_jobs(items):
        ids.append(await submit_job(send, model, job))
    return ids


async def collect(
    send: Send,
    model: str,
    request_ids: Sequence[str],
    policy: BatchPollPolicy,
    *,
    think_tags: bool | None = None,
    tool_names: tuple[str, ...] = (),
    cancel: Callable[[], bool] | None = None,
) -> list[ItemResult]:
    """Wait for the jobs (in order) and return every input's result, in input order.

    Raises:
        BatchJobError: A job still pending after ``policy.timeout`` (collect it again later).
        BatchCancelledError: ``cancel()`` became true.
    """
    ids = check_request_ids(request_ids)
    started = time.monotonic()  # one deadline for all the jobs
    results: list[ItemResult] = []
    for request_id in ids:
        status = await wait_for_job(send, model, request_id, policy, cancel=cancel, started=started)
        results.extend(
            read_job(
                model, status, think_tags=think_tags, tool_names=tool_names, first=len(results)
            )
        )
    return results


def read_job(
    model: str,
    status: BatchStatus,
    *,
    think_tags: bool | None = None,
    tool_names: tuple[str, ...] = (),
    first: int = 0,
) -> list[ItemResult]:
    """A finished job's results in input order, each reported to the usage hook (``first``:
    the index of the job's first input among all the inputs, for error messages).

    Raises:
        BatchJobError: Ids missing or duplicated (the job's answer cannot be placed).
    """
    ids = [item.id for item in status.items]
    if ids != list(range(len(ids))):
        raise BatchJobError(
            f"batch job {status.request_id} returned ids {ids[:10]}...; expected 0..{len(ids) - 1}",
            request_id=status.request_id,
        )
    out: list[ItemResult] = []
    for item in status.items:
        if not item.success:
            out.append(_item_error(status.request_id, item, first))
            continue
        result = normalize_chat_result(
            _unnest(item.result), think_tags=think_tags, tool_names=tool_names
        )
        if listening():
            report_usage(UsageRecord(result.model or model, "chat", result.usage))
        out.append(result)
    return out


def _unnest(result: Any) -> Any:
    """The binding example nests an LLM's answer once more (``result.result.response``)."""
    while isinstance(result, Mapping) and set(result) == {"result"}:
        result = result["result"]
    if (
        isinstance(result, Mapping)
        and isinstance(result.get("result"), Mapping)
        and "response" not in result
        and "choices" not in result
    ):
        inner = dict(result["result"])
        if "usage" not in inner and isinstance(result.get("usage"), Mapping):
            inner["usage"] = result["usage"]
        return inner
    return result


def _item_error(request_id: str, item: BatchItem, offset: int) -> BatchJobError:
    error = item.errors[0] if item.errors else {}
    code = error.get("code") if isinstance(error, Mapping) else None
    message = error.get("message") if isinstance(error, Mapping) else str(error)
    return BatchJobError(
        f"input {offset + item.id} (item {item.id} of batch job {request_id}) failed: "
        f"{message or 'no details'}" + (f" (code {code})" if code is not None else ""),
        request_id=request_id,
        failures=(item,),
    )
