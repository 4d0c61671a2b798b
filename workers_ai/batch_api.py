"""Workers AI's async batch API (spec §10): queue many inputs, poll, collect them in order.

``POST /ai/run/{model}?queueRequest=true`` with ``{"requests": [input, ...]}`` answers
``{"status": "queued", "request_id": ...}``. Posting ``{"request_id": ...}`` to the same URL
answers ``queued``/``running`` until the job is done, then ``{"responses": [{"id", "success",
"result"}, ...]}`` -- possibly out of order; ``id`` is the index of the input. Payloads must stay
under 10 MB. A job is resumable: keep its request id and poll it later.

The pure parts (:func:`split_into_jobs`, :func:`parse_submit`, :func:`parse_status`,
:func:`ordered_results`) are separate from the two awaitables, which take any ``send`` with
the signature of :meth:`workers_ai.concurrency.AdaptiveSender.run`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from workers_ai.embeddings import BatchPollPolicy
from workers_ai.errors import APIError, APIResponseValidationError, InvalidRequestError
from workers_ai.settings import validate_batch_request_id

__all__ = [
    "BATCH_MAX_BYTES",
    "BATCH_MAX_REQUESTS",
    "BatchCancelledError",
    "BatchItem",
    "BatchJobError",
    "BatchStatus",
    "check_request_ids",
    "is_batch_call",
    "ordered_results",
    "parse_status",
    "parse_submit",
    "split_into_jobs",
    "submit_job",
    "wait_for_job",
]

logger = logging.getLogger("workers_ai")

#: Body size per job: the documented limit is "< 10 MB"; keep a margin for the envelope.
BATCH_MAX_BYTES = 9_000_000
#: Inputs per job. Not documented; a conservative assumption.
BATCH_MAX_REQUESTS = 500
QUEUE_PARAMS = {"queueRequest": "true"}
_PENDING = frozenset({"queued", "running", "pending"})


class Send(Protocol):
    async def __call__(
        self, model: str, body: Mapping[str, Any], /, *, params: Mapping[str, Any] | None = None
    ) -> Any: ...


@dataclass(frozen=True)
class BatchItem:
    """One input's outcome in a finished job.

    Attributes:
        id: Index of the input in the job's ``requests``.
        success: Whether it succeeded.
        result: The model's result (as ``/ai/run`` would return it).
        errors: Cloudflare's errors for a failed item.
        external_reference: The ``external_reference`` sent with the input, if any.
    """

    id: int
    success: bool
    result: Any = None
    errors: tuple[Any, ...] = ()
    external_reference: str | None = None


@dataclass(frozen=True)
class BatchStatus:
    """A poll answer: ``status`` is ``"done"`` once ``items`` are there (with the job's
    summed ``usage``, when it reports one)."""

    request_id: str
    status: str
    items: tuple[BatchItem, ...] = ()
    usage: Mapping[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.status == "done"


class BatchJobError(APIError):
    """A batch job failed, timed out, or some of its items failed.

    Attributes:
        request_id: The job's id (poll it again later to resume after a timeout).
        failures: The failed items.
    """

    def __init__(
        self, message: str, *, request_id: str, failures: tuple[BatchItem, ...] = ()
    ) -> None:
        super().__init__(message, body=[f.errors for f in failures[:5]] or None)
        self.request_id = request_id
        self.failures = failures


class BatchCancelledError(BatchJobError):
    """Waiting for a batch job was cancelled (``cancel`` was set); the job itself goes on:
    collect it later with its ``request_id``."""


def check_request_ids(request_ids: Any) -> list[str]:
    """The job ids to collect, checked before any request.

    Raises:
        InvalidRequestError: Not a list of ids (a single id string is refused: wrap it in a
            list), or an id that is not one.
    """
    if isinstance(request_ids, (str, bytes)) or not isinstance(request_ids, Sequence):
        raise InvalidRequestError(
            f"request_ids must be a list of job ids (as submit returned them), not "
            f"{type(request_ids).__name__}; for one job pass [request_id]"
        )
    return [validate_batch_request_id(request_id) for request_id in request_ids]


def is_batch_call(inputs: Mapping[str, Any], params: Mapping[str, Any] | None) -> bool:
    """Whether a ``run`` submits a batch job (``?queueRequest=true``) or polls one: not a
    model call of its own (its items are reported when they are collected)."""
    queued = str((params or {}).get("queueRequest", "")).lower() == "true"
    return queued or set(inputs) == {"request_id"}


#: How often a wait between polls checks ``cancel``.
CANCEL_CHECK_S = 0.25


async def _wait(
    nap: Callable[[float], Any], seconds: float, cancel: Callable[[], bool] | None, job: str
) -> None:
    """Sleep ``seconds`` in slices, raising :class:`BatchCancelledError` once ``cancel()``."""
    while True:
        if cancel is not None and cancel():
            raise BatchCancelledError(
                f"stopped waiting for batch job {job} (cancelled); it goes on server-side: "
                "collect it later with its request id",
                request_id=job,
            )
        if seconds <= 0:
            return
        step = seconds if cancel is None else min(seconds, CANCEL_CHECK_S)
        await nap(step)
        seconds -= step


def split_into_jobs(
    requests: Sequence[Mapping[str, Any]],
    *,
    max_bytes: int = BATCH_MAX_BYTES,
    max_requests: int = BATCH_MAX_REQUESTS,
) -> list[list[Mapping[str, Any]]]:
    """Group inputs into jobs under the size and count limits, keeping their order.

    Raises:
        InvalidRequestError: One input alone is larger than ``max_bytes``.
    """
    jobs: list[list[Mapping[str, Any]]] = []
    current: list[Mapping[str, Any]] = []
    size = 0
    for index, request in enumerate(requests):
        item_size = len(json.dumps(request, ensure_ascii=False).encode()) + 1
        if item_size > max_bytes:
            raise InvalidRequestError(f"batch input {index} alone is over {max_bytes} bytes")
        if current and (size + item_size > max_bytes or len(current) >= max_requests):
            jobs.append(current)
            current, size = [], 0
        current.append(request)
        size += item_size
    if current:
        jobs.append(current)
    return jobs


def parse_submit(data: Any) -> str:
    """The ``request_id`` of a queued job.

    Raises:
        APIResponseValidationError: The answer has no request id.
    """
    request_id = data.get("request_id") if isinstance(data, Mapping) else None
    try:
        return validate_batch_request_id(request_id)
    except InvalidRequestError:
        raise APIResponseValidationError(
            "The batch API did not return a usable request_id", body=repr(data)[:300]
        ) from None


def _item(raw: Any) -> BatchItem:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), int):
        raise APIResponseValidationError("A batch response item has no integer id", body=raw)
    errors = raw.get("errors")
    ref = raw.get("external_reference")
    return BatchItem(
        id=raw["id"],
        success=raw.get("success", True) is not False and "result" in raw,
        result=raw.get("result"),
        errors=tuple(errors) if isinstance(errors, list) else (),
        external_reference=ref if isinstance(ref, str) else None,
    )


def parse_status(data: Any, request_id: str) -> BatchStatus:
    """Read a poll answer: pending (``queued``/``running``) or done with its items.

    Raises:
        APIResponseValidationError: Neither a pending status nor ``responses``.
    """
    if isinstance(data, Mapping) and isinstance(data.get("responses"), list):
        items = tuple(sorted((_item(r) for r in data["responses"]), key=lambda i: i.id))
        usage = data.get("usage")
        return BatchStatus(request_id, "done", items, usage if isinstance(usage, Mapping) else None)
    status = data.get("status") if isinstance(data, Mapping) else None
    if isinstance(status, str) and status.lower() in _PENDING:
        return BatchStatus(request_id, status.lower())
    raise APIResponseValidationError(
        f"Unexpected answer while polling batch job {request_id}", body=repr(data)[:300]
    )


def ordered_results(status: BatchStatus, expected: int | None = None) -> list[Any]:
    """The items' results in input order.

    Raises:
        BatchJobError: Items failed, or ids are missing or duplicated.
    """
    failures = tuple(item for item in status.items if not item.success)
    if failures:
        first = failures[0].errors[0] if failures[0].errors else "no details"
        raise BatchJobError(
            f"{len(failures)} of {len(status.items)} inputs of batch job {status.request_id} "
            f"failed (first: {first})",
            request_id=status.request_id,
            failures=failures,
        )
    ids = [item.id for item in status.items]
    count = len(ids) if expected is None else expected
    if ids != list(range(count)):
        raise BatchJobError(
            f"batch job {status.request_id} returned ids {ids[:10]}... for {count} inputs",
            request_id=status.request_id,
        )
    return [item.result for item in status.items]


async def submit_job(send: Send, model: str, requests: Sequence[Mapping[str, Any]]) -> str:
    """Queue one job; return its request id."""
    data = await send(model, {"requests": list(requests)}, params=QUEUE_PARAMS)
    request_id = parse_submit(data)
    logger.info("queued batch job %s (%d inputs) for %s", request_id, len(requests), model)
    return request_id


async def wait_for_job(
    send: Send,
    model: str,
    request_id: str,
    policy: BatchPollPolicy,
    *,
    sleep: Callable[[float], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    cancel: Callable[[], bool] | None = None,
    started: float | None = None,
) -> BatchStatus:
    """Poll until the job is done, waiting longer between polls (``policy``); ``policy.timeout``
    counts from ``started`` (a ``clock()`` reading: one deadline for several jobs), else
    from now, and no wait sleeps past it.

    ``cancel`` (e.g. ``threading.Event().is_set``) is checked before each poll and every
    :data:`CANCEL_CHECK_S` seconds while waiting; cancelling an ``await`` of this coroutine
    works too. Either way the job goes on server-side: collect it later with its id.

    Raises:
        InvalidRequestError: ``request_id`` is not a job id (checked before any request).
        BatchJobError: Still pending after ``policy.timeout`` seconds (resume with the id).
        BatchCancelledError: ``cancel()`` became true.
    """
    validate_batch_request_id(request_id)
    nap = sleep or asyncio.sleep
    start = clock() if started is None else started
    polls = 0
    while True:
        wait = policy.delay(polls)
        if policy.timeout is not None:  # never sleep past the deadline
            wait = min(wait, max(policy.timeout - (clock() - start), 0.0))
        await _wait(nap, wait, cancel, request_id)
        polls += 1
        data = await send(model, {"request_id": request_id}, params=QUEUE_PARAMS)
        status = parse_status(data, request_id)
        if status.done:
            return status
        if policy.timeout is not None and clock() - start >= policy.timeout:
            raise BatchJobError(
                f"batch job {request_id} is still {status.status} after {policy.timeout:g} s; "
                "collect it later with its request id",
                request_id=request_id,
            )
