"""Objects that belong to one event loop, and their clean-up when that loop shuts down.

asyncio primitives and httpx connection pools belong to the loop that created them. A model
object used from ``asyncio.run`` twice, a notebook and a background loop needs one per loop
(:class:`LoopLocal`), and each must be closed *on its own loop* before that loop closes, or its
sockets leak (``ResourceWarning: unclosed transport``).

:func:`close_at_loop_shutdown` registers that clean-up with the loop itself: it starts an async
generator that waits at a ``yield`` and runs the clean-up in its ``finally``. asyncio closes
every unfinished async generator of a loop when the loop shuts down (``asyncio.run``,
``asyncio.Runner``, pytest-asyncio call ``loop.shutdown_asyncgens()``), and schedules
``aclose()`` on the loop when such a generator is garbage-collected, so the clean-up runs when
the loop ends or when its owner is dropped, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["LoopLocal", "close_at_loop_shutdown"]

T = TypeVar("T")


async def _guard(cleanup: Callable[[], Awaitable[object]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await cleanup()


def close_at_loop_shutdown(cleanup: Callable[[], Awaitable[object]]) -> AsyncGenerator[None, None]:
    """Run ``cleanup()`` on the running loop when it shuts down (or the guard is dropped).

    Call from code running in the loop. Keep the returned guard referenced as long as the
    resource lives; ``await guard.aclose()`` runs the clean-up now.
    """
    guard = _guard(cleanup)
    step = guard.__anext__()  # registers the generator with the running loop's shutdown list
    with contextlib.suppress(StopIteration):
        step.send(None)  # runs to the ``yield`` without suspending
    return guard


class LoopLocal(Generic[T]):
    """One ``T`` per running event loop, created on first use (thread-safe).

    asyncio primitives and httpx connection pools belong to the loop that created them; a
    model object used from ``asyncio.run`` twice, a notebook and the background loop gets one
    per loop. Entries of closed loops are dropped.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._items: dict[int, tuple[asyncio.AbstractEventLoop, T]] = {}

    def get(self) -> T:
        """The ``T`` of the running loop (call from a coroutine)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for key in [k for k, (lp, _) in self._items.items() if lp.is_closed()]:
                del self._items[key]
            entry = self._items.get(id(loop))
            if entry is None or entry[0] is not loop:
                entry = (loop, self._factory())
                self._items[id(loop)] = entry
            return entry[1]

    def values(self) -> list[T]:
        """Every live ``T`` (for statistics)."""
        with self._lock:
            return [item for _, item in self._items.values()]

    def pop(self) -> T | None:
        """Forget and return the ``T`` of the running loop, if any."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._items.pop(id(loop), None)
        return entry[1] if entry is not None and entry[0] is loop else None
