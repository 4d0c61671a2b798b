"""Many requests at once, politely: adaptive concurrency, job-level retries, request coalescing.

- :class:`AIMDState` (pure) and :class:`AdaptiveLimiter`: at most ``limit`` requests in flight.
  A rate limit (429 / 3021) or capacity error (3040) halves the limit (once per "round": answers
  to requests sent before the cut do not cut again) and pauses new requests for the server's
  ``retry-after`` (else the core backoff); every ``limit`` successes in a row add one, up to
  ``max_concurrency``. The limit never drops below 1.
- :class:`AdaptiveSender`: sends one request through the limiter. Throttling is retried until
  the server lets it through (up to :data:`MAX_THROTTLE_RETRIES` per request), so a long job
  slows down instead of failing; other transient failures (5xx, resets, timeouts) get
  ``max_retries`` retries. Decisions and delays come from :mod:`workers_ai.retry`, the one
  retry policy; the HTTP client under a sender has its own retries off so that every throttle
  reaches the limiter.
- :class:`Coalescer`: concurrent single-item calls that arrive within a window are merged into
  one request of up to ``max_batch`` items; each caller gets its own result.
- :class:`BackgroundLoop` and :class:`LoopLocal`: sync entry points run the async code on one
  private event-loop thread (so sync and async share one implementation, and sync calls from
  many threads coalesce on that loop), and asyncio objects are kept per event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from workers_ai._loops import LoopLocal
from workers_ai.client import AsyncWorkersAIClient
from workers_ai.errors import APIError
from workers_ai.retry import (
    MAX_THROTTLE_RETRIES,
    RetryPolicy,
    RetryState,
    is_throttle,
    retry_delay,
)

__all__ = [
    "MAX_THROTTLE_RETRIES",
    "AIMDState",
    "AdaptiveLimiter",
    "AdaptiveSender",
    "BackgroundLoop",
    "Coalescer",
    "LoopEngines",
    "LoopLocal",
    "is_throttle",
    "run_all",
    "run_sync",
]

logger = logging.getLogger("workers_ai")

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

# Indirections so tests can patch time without sleeping.
_asleep = asyncio.sleep
_clock = time.monotonic
_retry_delay = retry_delay


@dataclass
class AIMDState:
    """Additive-increase / multiplicative-decrease concurrency limit (pure).

    Attributes:
        max_limit: The ceiling (the user's ``max_concurrency``).
        limit: Requests allowed in flight now; starts at ``max_limit``.
        epoch: Bumped by every cut; a throttle from an older epoch does not cut again.
        successes: Successes since the last change of ``limit``.
    """

    max_limit: int
    limit: int = 0
    epoch: int = 0
    successes: int = 0

    def __post_init__(self) -> None:
        if self.max_limit < 1:
            raise ValueError("max_limit must be >= 1")
        if not 1 <= self.limit <= self.max_limit:
            self.limit = self.max_limit

    def on_success(self) -> bool:
        """Count a success; return ``True`` when the limit grew."""
        self.successes += 1
        if self.limit < self.max_limit and self.successes >= self.limit:
            self.limit += 1
            self.successes = 0
            return True
        return False

    def on_throttle(self, epoch: int) -> bool:
        """Halve the limit (at least 1) unless this round already did; ``True`` if cut."""
        self.successes = 0
        if epoch != self.epoch:
            return False
        self.limit = max(1, self.limit // 2)
        self.epoch += 1
        return True


class AdaptiveLimiter:
    """Gate requests by an :class:`AIMDState` and a shared pause. Use on one event loop.

    Example:
        >>> async def send(limiter: AdaptiveLimiter) -> None:
        ...     epoch = await limiter.acquire()
        ...     try:
        ...         ...  # the request
        ...     finally:
        ...         limiter.release()
        ...     limiter.record_success()
    """

    def __init__(self, max_concurrency: int, *, clock: Callable[[], float] | None = None):
        self.state = AIMDState(max_concurrency)
        self.in_flight = 0
        self.paused_until = 0.0
        self.throttle_streak = 0
        self._clock = clock if clock is not None else lambda: _clock()
        self._changed = asyncio.Event()

    async def acquire(self) -> int:
        """Wait for a free slot (and the end of any pause); return the current epoch."""
        while True:
            pause = self.paused_until - self._clock()
            if pause > 0:
                await _asleep(pause)
                continue
            if self.in_flight < self.state.limit:
                self.in_flight += 1
                return self.state.epoch
            self._changed.clear()
            await self._changed.wait()

    def release(self) -> None:
        """Free the slot taken by :meth:`acquire`."""
        self.in_flight -= 1
        self._changed.set()

    def record_success(self) -> None:
        """A request succeeded: end the throttle streak and maybe raise the limit."""
        self.throttle_streak = 0
        if self.state.on_success():
            self._changed.set()

    def record_throttle(self, epoch: int, delay: float) -> None:
        """A request sent in ``epoch`` was throttled: cut the limit and pause ``delay`` s."""
        self.throttle_streak += 1
        if self.state.on_throttle(epoch):
            logger.info(
                "throttled: concurrency lowered to %d, pausing %.2fs", self.state.limit, delay
            )
        self.paused_until = max(self.paused_until, self._clock() + delay)


@dataclass
class AdaptiveSender:
    """Send ``/ai/run`` requests through an :class:`AdaptiveLimiter`, retrying per the policy.

    Attributes:
        client: An async client whose own ``max_retries`` is 0 (the sender retries).
        limiter: The limiter shared by every request of this model on this event loop.
        max_retries: Retries for transient failures other than throttling.
        reject_if_busy: Fail fast on a busy model (the settings' ``reject_if_busy``): no
            throttled retry, no slow-down.
        stats: Counters: ``requests``, ``throttled``, ``retried``, ``failed``.
    """

    client: AsyncWorkersAIClient
    limiter: AdaptiveLimiter
    max_retries: int = 2
    reject_if_busy: bool = False
    stats: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "throttled": 0, "retried": 0, "failed": 0}
    )
    policy: RetryPolicy = field(init=False)

    def __post_init__(self) -> None:
        # The module's _retry_delay is looked up per call, so tests can scale the waits.
        self.policy = RetryPolicy(
            self.max_retries,
            adaptive=True,
            reject_if_busy=self.reject_if_busy,
            delay=lambda n, h: _retry_delay(n, h),
        )

    async def _attempt(
        self, model: str, body: Mapping[str, Any], params: Mapping[str, Any] | None
    ) -> tuple[Any, APIError | None, int]:
        epoch = await self.limiter.acquire()
        self.stats["requests"] += 1
        try:
            return await self.client.run(model, body, params=params), None, epoch
        except APIError as error:
            return None, error, epoch
        finally:
            self.limiter.release()

    async def run(
        self, model: str, body: Mapping[str, Any], *, params: Mapping[str, Any] | None = None
    ) -> Any:
        """``POST /ai/run/{model}``; returns the unwrapped result or raises the final error."""
        state = RetryState()
        while True:
            data, error, epoch = await self._attempt(model, body, params)
            if error is None:
                self.limiter.record_success()
                return data
            step = self.policy.next(state, error, throttle_streak=self.limiter.throttle_streak)
            if step is None:
                self.stats["failed"] += 1
                raise error
            state = step.state
            if step.throttle:  # the limiter pauses every request of the job, this one included
                self.stats["throttled"] += 1
                self.limiter.record_throttle(epoch, step.delay)
            else:
                self.stats["retried"] += 1
                await _asleep(step.delay)


async def run_all(coros: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run coroutines concurrently; on the first failure cancel the rest and re-raise it."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Coalescer(Generic[K, R]):
    """Merge concurrent single-item calls into batched calls (one event loop).

    A call waits at most ``window`` seconds for others; a batch leaves as soon as it holds
    ``max_batch`` distinct items. Identical items in one batch are sent once. Every caller
    gets its own result; a failed batch raises its error in every caller of that batch.

    Args:
        send: Sends a batch of distinct items, returning one result per item, in order.
        max_batch: Most items per batch.
        window: Seconds to wait for more items (0: only calls in the same loop iteration).
        copy: Copies a result for a second caller of the same item.

    Example:
        >>> async def lengths(items: list[str]) -> list[int]:
        ...     return [len(item) for item in items]
        >>> async def main() -> list[int]:
        ...     coalescer = Coalescer(lengths, max_batch=100, window=0.005)
        ...     results = await asyncio.gather(*(coalescer.submit(w) for w in ["a", "bb", "a"]))
        ...     return [*results, coalescer.batches_sent]
        >>> asyncio.run(main())
        [1, 2, 1, 1]
    """

    def __init__(
        self,
        send: Callable[[list[K]], Awaitable[list[R]]],
        *,
        max_batch: int,
        window: float,
        copy: Callable[[R], R] = lambda r: r,
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._window = window
        self._copy = copy
        self._pending: dict[K, list[asyncio.Future[R]]] = {}
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches_sent = 0

    async def submit(self, item: K) -> R:
        """Add ``item`` to the next batch and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.setdefault(item, []).append(future)
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = (
                loop.call_later(self._window, self._flush)
                if self._window > 0
                else loop.call_soon(self._flush)
            )
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        self.batches_sent += 1
        task = asyncio.get_running_loop().create_task(self._deliver(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, batch: dict[K, list[asyncio.Future[R]]]) -> None:
        items = list(batch)
        try:
            results = await self._send(items)
            if len(results) != len(items):
                raise RuntimeError(f"batch of {len(items)} items got {len(results)} results")
        except BaseException as error:
            for futures in batch.values():
                for future in futures:
                    if future.done():
                        continue
                    if isinstance(error, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for item, result in zip(items, results, strict=True):
            for n, future in enumerate(batch[item]):
                if not future.done():
                    future.set_result(result if n == 0 else self._copy(result))


class LoopEngines:
    """For engines kept per event loop in ``_engines`` (each with a ``client``): closing."""

    _engines: LoopLocal[Any]

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop."""
        engine = self._engines.pop()
        if engine is not None:
            await engine.client.aclose()

    def close(self) -> None:
        """Close the connection pool used by the sync methods."""
        run_sync(self.aclose())


class BackgroundLoop:
    """An event loop on a daemon thread that runs coroutines for synchronous callers.

    Why a loop thread rather than a thread pool: the batching, adaptive limiter, retries and
    coalescing exist once (async), sync calls from many threads meet on one loop (so they
    coalesce), and a sync call works even inside a running event loop (notebooks).
    """

    def __init__(self, name: str = "workers-ai-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or not alive or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=serve, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop thread and block until it finishes (re-raising errors)."""
        loop = self._ensure()
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync Workers AI call was made from its own background loop")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise


_BACKGROUND = BackgroundLoop()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shared :class:`BackgroundLoop` and return its result."""
    return _BACKGROUND.run(coro)
