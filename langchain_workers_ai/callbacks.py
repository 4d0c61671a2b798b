"""What a chain used and cost: ``get_workers_ai_callback()``, the shape of LangChain's
``get_openai_callback()`` (issue #18).

Counting is the core's usage hook (:mod:`workers_ai.usage`): every chat call (plain or
streamed, once), every embeddings and rerank request, with the HTTP attempts it took, inside
the ``with`` block -- its thread, the asyncio tasks it starts, and LangChain's ``batch`` worker
threads (they copy the context).

With a limit (``max_neurons``, ``max_usd``, ``per_model``), a call whose worst case (prompt
estimate + ``max_tokens``) would cross it raises :class:`~workers_ai.BudgetExceededError`
before it is sent; concurrent calls each reserve their worst case and settle to what they
used (:mod:`workers_ai.budget`). ``warn_at`` (default 0.8 of a limit) warns once
(``BudgetWarning``; also in ``handler.budget_warnings``).

Example:
    >>> from langchain_workers_ai import ChatWorkersAI, get_workers_ai_callback
    >>> with get_workers_ai_callback() as cb:  # doctest: +SKIP
    ...     ChatWorkersAI().invoke("What is Cloudflare?")
    >>> cb.total_tokens, cb.neurons, cb.total_cost  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import BaseCallbackHandler

from workers_ai.meter_view import MeterView

if TYPE_CHECKING:  # typing.Unpack is 3.11+; type checkers know typing_extensions either way
    from langchain_core.outputs import LLMResult
    from typing_extensions import Unpack

    from workers_ai.budget import Budget, BudgetLimits
    from workers_ai.usage import ModelUsage, UsageMeter, UsageRecord

__all__ = ["WorkersAICallbackHandler", "get_workers_ai_callback"]


class WorkersAICallbackHandler(MeterView, BaseCallbackHandler):
    """Calls, HTTP attempts, tokens, neurons and USD of Workers AI and AI Gateway calls, per
    model and in total, while :func:`get_workers_ai_callback` (or :meth:`tracking`) is active.

    Attributes (as ``OpenAICallbackHandler``'s, plus ours): ``total_tokens``,
    ``prompt_tokens``, ``completion_tokens``, ``prompt_tokens_cached``,
    ``successful_requests`` (calls), ``total_cost`` (USD, estimated from catalog prices where
    not reported; calls of unknown cost left out: ``calls_without_cost``), ``neurons``
    (reported, else estimated: ``neurons_estimated``), ``attempts``, ``by_model`` and
    :meth:`table`.

    Args:
        max_neurons: Most neurons the calls may use (module docs); ``None``: no limit.
        max_usd: Most US dollars; ``None``: no limit.
        per_model: Model id -> its own limits (``{"max_neurons": 500}`` or a ``Budget``).
        warn_at: Fraction of a limit that warns once; ``None`` never warns.
        unpriced: ``"refuse"`` raises for a call that cannot be priced before it is sent
            (default ``"allow"``: counted from what it reports).
        budget: A ready :class:`~workers_ai.Budget` instead of the arguments above.
    """

    def __init__(self, *, budget: Budget | None = None, **limits: Unpack[BudgetLimits]) -> None:
        super().__init__()
        from workers_ai.budget import Budget
        from workers_ai.usage import UsageMeter

        self._meter = UsageMeter(budget=Budget.of(budget=budget, **limits))

    @property
    def meter(self) -> UsageMeter:
        """The meter counting for this handler."""
        return self._meter

    @contextlib.contextmanager
    def tracking(self) -> Iterator[WorkersAICallbackHandler]:
        """Count the calls made inside the ``with`` block into this handler."""
        from workers_ai.usage import track_usage

        with track_usage(self.meter):
            yield self

    @property
    def _total(self) -> ModelUsage:
        return self.meter.total

    @property
    def total_tokens(self) -> int:
        total = self._total
        return total.input_tokens + total.output_tokens

    @property
    def prompt_tokens(self) -> int:
        return self._total.input_tokens

    @property
    def completion_tokens(self) -> int:
        return self._total.output_tokens

    @property
    def prompt_tokens_cached(self) -> int:
        return self._total.cached_tokens

    @property
    def successful_requests(self) -> int:
        return self._total.calls

    @property
    def attempts(self) -> int:
        return self._total.attempts

    @property
    def neurons(self) -> float:
        return self._total.neurons

    @property
    def neurons_estimated(self) -> bool:
        return self._total.neurons_estimated

    @property
    def total_cost(self) -> float:
        return self._total.usd

    @property
    def calls_without_cost(self) -> int:
        return self._total.calls_without_cost

    def __repr__(self) -> str:
        total = self._total
        estimated = " (estimated)" if total.neurons_estimated else ""
        unknown = total.calls_without_cost
        return (
            f"Tokens Used: {total.input_tokens + total.output_tokens}\n"
            f"\tPrompt Tokens: {total.input_tokens}\n"
            f"\t\tPrompt Tokens Cached: {total.cached_tokens}\n"
            f"\tCompletion Tokens: {total.output_tokens}\n"
            f"Successful Requests: {total.calls} (HTTP attempts: {total.attempts})\n"
            f"Neurons: {total.neurons:,.1f}{estimated}\n"
            f"Total Cost (USD): ${total.usd:.6f}"
            + (f" (+ {unknown} of unknown cost)" if unknown else "")
        )

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Count the Workers AI answers of a run this handler was given as a callback
        (``config={"callbacks": [handler]}``) outside its own ``with`` block; inside it, the
        core hook already counted them (nothing twice). Budgets need the block."""
        from workers_ai.usage import is_listening

        if is_listening(self.meter):
            return
        for generations in response.generations:
            for generation in generations:
                record = _record_of(getattr(generation, "message", None))
                if record is not None:
                    self.meter.record(record)

    def __copy__(self) -> Any:
        return self  # one handler per block, as LangChain's own (callbacks are copied per run)

    def __deepcopy__(self, memo: Any) -> Any:
        return self


def _record_of(message: Any) -> UsageRecord | None:
    """A usage record from one of our answers (``None`` for another provider's)."""
    from langchain_workers_ai._convert import PROVIDER
    from workers_ai.types import Usage
    from workers_ai.usage import UsageRecord

    meta = getattr(message, "response_metadata", None) or {}
    if meta.get("model_provider") != PROVIDER:
        return None
    tokens = getattr(message, "usage_metadata", None) or {}
    details = tokens.get("input_token_details") or {}
    usage = Usage(
        input_tokens=tokens.get("input_tokens", 0),
        output_tokens=tokens.get("output_tokens", 0),
        total_tokens=tokens.get("total_tokens", 0),
        cached_tokens=details.get("cache_read"),
        neurons=meta.get("neurons"),
        cost=meta.get("cost"),
    )
    model = meta.get("answered_by") or meta.get("model_name") or "?"
    return UsageRecord(model, "chat", usage if tokens else None, meta.get("attempts") or 1)


@contextlib.contextmanager
def get_workers_ai_callback(
    *, budget: Budget | None = None, **limits: Unpack[BudgetLimits]
) -> Iterator[WorkersAICallbackHandler]:
    """Count what the calls inside the ``with`` block used and cost, and hold them to the
    limits given, if any (module docs; arguments as :class:`WorkersAICallbackHandler`'s)."""
    handler = WorkersAICallbackHandler(budget=budget, **limits)
    with handler.tracking():
        yield handler
