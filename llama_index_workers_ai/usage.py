"""What a pipeline used and cost, for LlamaIndex (issue #18): an event handler for its
instrumentation dispatcher, counting through the core's usage hook (:mod:`workers_ai.usage`).

LlamaIndex's event handlers are process-wide; so is this one once added: every Workers AI and
AI Gateway call (chat, plain or streamed, once; embeddings; reranking), with the HTTP attempts
it took, until :meth:`WorkersAIUsageHandler.close`. :func:`track_workers_ai_usage` counts only
the calls inside a ``with`` block instead.

Both take limits (``max_neurons``, ``max_usd``, ``per_model``, ``warn_at``, ``unpriced``, or
a ready ``budget``): a call whose worst case (prompt estimate + ``max_tokens``) would cross one
raises :class:`~workers_ai.BudgetExceededError` before it is sent (:mod:`workers_ai.budget`).

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

from workers_ai.meter_view import MeterView

if TYPE_CHECKING:  # typing.Unpack is 3.11+; type checkers know typing_extensions either way
    from typing_extensions import Unpack

    from workers_ai.budget import Budget, BudgetLimits
    from workers_ai.usage import ModelUsage, UsageMeter

__all__ = ["WorkersAIUsageHandler", "track_workers_ai_usage"]


class WorkersAIUsageHandler(MeterView, BaseEventHandler):
    """Calls, HTTP attempts, tokens, neurons and USD per model and in total (module docs).

    It counts from its creation (the core's hook, not the dispatcher's events, so embeddings,
    reranking and retries are counted too and nothing twice) until :meth:`close`; adding it to
    the dispatcher is what LlamaIndex users expect, and harmless. Limits as the module says.
    """

    _meter: Any = PrivateAttr()

    def __init__(self, *, budget: Budget | None = None, **limits: Unpack[BudgetLimits]) -> None:
        super().__init__()
        from workers_ai.budget import Budget
        from workers_ai.usage import UsageMeter, add_listener

        self._meter = UsageMeter(budget=Budget.of(budget=budget, **limits))
        add_listener(self._meter)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIUsageHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        """Nothing to do per event: calls are counted when they complete (module docs)."""

    def close(self) -> None:
        """Stop counting (what was counted stays readable)."""
        from workers_ai.usage import remove_listener

        remove_listener(self._meter)

    @property
    def meter(self) -> UsageMeter:
        return self._meter  # type: ignore[no-any-return]

    @property
    def total(self) -> ModelUsage:
        """All models together."""
        return self.meter.total


@contextlib.contextmanager
def track_workers_ai_usage(
    *, budget: Budget | None = None, **limits: Unpack[BudgetLimits]
) -> Iterator[UsageMeter]:
    """Count only the calls made inside the ``with`` block (its thread and the asyncio tasks
    it starts) into a :class:`~workers_ai.usage.UsageMeter`, held to the limits given
    (:class:`~workers_ai.budget.BudgetLimits`)."""
    from workers_ai.budget import Budget
    from workers_ai.usage import UsageMeter, track_usage

    with track_usage(UsageMeter(budget=Budget.of(budget=budget, **limits))) as meter:
        yield meter
