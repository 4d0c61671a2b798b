"""What a pipeline used and cost, for LlamaIndex (issue #18): an event handler for its
instrumentation dispatcher, counting through the core's usage hook (:mod:`workers_ai.usage`).

LlamaIndex's event handlers are process-wide; so is this one once added: every Workers AI and
AI Gateway call (chat, plain or streamed, once; embeddings; reranking), with the HTTP attempts
it took, until :meth:`WorkersAIUsageHandler.close`. :func:`track_workers_ai_usage` counts only
the calls inside a ``with`` block instead.

Example:
    >>> from llama_index.core.instrumentation import get_dispatcher
    >>> from llama_index_workers_ai import WorkersAIUsageHandler
    >>> usage = WorkersAIUsageHandler()  # doctest: +SKIP
    >>> get_dispatcher().add_event_handler(usage)  # doctest: +SKIP
    >>> ...  # run the query engine, the agent
    >>> print(usage.table())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from workers_ai.usage import ModelUsage, UsageMeter

__all__ = ["WorkersAIUsageHandler", "track_workers_ai_usage"]


class WorkersAIUsageHandler(BaseEventHandler):
    """Calls, HTTP attempts, tokens, neurons and USD per model and in total (module docs).

    It counts from its creation (the core's hook, not the dispatcher's events, so embeddings,
    reranking and retries are counted too and nothing twice) until :meth:`close`; adding it to
    the dispatcher is what LlamaIndex users expect, and harmless.
    """

    _meter: Any = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        from workers_ai.usage import UsageMeter, add_listener

        self._meter = UsageMeter()
        add_listener(self._meter.record)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIUsageHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        """Nothing to do per event: calls are counted when they complete (module docs)."""

    def close(self) -> None:
        """Stop counting (what was counted stays readable)."""
        from workers_ai.usage import remove_listener

        remove_listener(self._meter.record)

    @property
    def meter(self) -> UsageMeter:
        return self._meter  # type: ignore[no-any-return]

    @property
    def total(self) -> ModelUsage:
        """All models together."""
        return self.meter.total

    @property
    def by_model(self) -> dict[str, ModelUsage]:
        """Model -> its totals (a snapshot)."""
        return self.meter.snapshot()

    def table(self) -> str:
        """A Markdown table per model and in total."""
        return self.meter.table()


@contextlib.contextmanager
def track_workers_ai_usage() -> Iterator[UsageMeter]:
    """Count only the calls made inside the ``with`` block (its thread and the asyncio tasks
    it starts) into a :class:`~workers_ai.usage.UsageMeter`."""
    from workers_ai.usage import track_usage

    with track_usage() as meter:
        yield meter
