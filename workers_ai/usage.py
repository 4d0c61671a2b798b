"""What calls used and cost: the one usage hook every component reports to (no I/O).

The core clients report each model call once, when its answer is complete: a chat answer, a
chat stream when it has been read to its end, and every ``run`` (embeddings, reranking, other
tasks), with the model, what kind of call it was, its :class:`~workers_ai.types.Usage` and
the HTTP attempts it took (retries and fallback steps included). Whoever listens gets a
:class:`UsageRecord`:

- :func:`track_usage` listens for the code it wraps (a ``ContextVar``: the current thread and
  the asyncio tasks started inside it; LangChain's ``batch`` copies the context into its
  worker threads), into a :class:`UsageMeter`;
- :func:`add_listener` / :func:`remove_listener` listen everywhere (framework handlers that
  are registered globally, such as a LlamaIndex event handler).

:class:`UsageMeter` totals per model, thread-safe, and prices each record (:func:`price`):
neurons as reported, else estimated from the catalog's per-token prices (marked estimated);
USD from the reported neurons, or the catalog estimate, or (third-party models) the cost the
response reported, else unknown -- never invented.

A meter with a :class:`~workers_ai.budget.Budget` also guards calls: before sending, the
clients call :func:`reserve` with the call's worst case, which every listening meter with a
budget reserves (or refuses with :class:`~workers_ai.errors.BudgetExceededError`); the
:class:`Hold` it returns is settled by :func:`report_usage` with the actual usage, released
when the call fails, and charged at its worst case when a stream is abandoned before its end.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Union

from workers_ai.budget import Budget, BudgetWarning, CallEstimate
from workers_ai.errors import BudgetExceededError
from workers_ai.types import Usage

__all__ = [
    "CallPrice",
    "Hold",
    "ModelUsage",
    "UsageMeter",
    "UsageRecord",
    "add_listener",
    "cost_fields",
    "is_listening",
    "listening",
    "price",
    "releasing",
    "remove_listener",
    "report_usage",
    "reserve",
    "track_usage",
]

logger = logging.getLogger("workers_ai")

#: A listener: a function given each record, or a :class:`UsageMeter` (which can also guard
#: a budget).
Listener = Union[Callable[["UsageRecord"], None], "UsageMeter"]


@dataclass(frozen=True)
class UsageRecord:
    """One model call, complete.

    Attributes:
        model: The model that answered (after a fallback: the fallback).
        kind: ``chat`` or the model's catalog task (``Text Embeddings``, ``Text Classification``
            for rerankers...), ``run`` when the catalog does not know it.
        usage: What the response reported, if anything.
        attempts: HTTP attempts the call took (retries and fallback steps included).
        streamed: Whether it was a stream.
    """

    model: str
    kind: str
    usage: Usage | None
    attempts: int = 1
    streamed: bool = False


_CONTEXT: ContextVar[tuple[Listener, ...]] = ContextVar("workers_ai_usage_listeners", default=())
_GLOBAL: list[Listener] = []
_GLOBAL_LOCK = threading.Lock()


def _listeners() -> tuple[Listener, ...]:
    return (*_GLOBAL, *_CONTEXT.get())


def listening() -> bool:
    """Whether anyone listens (the clients skip building records when nobody does)."""
    return bool(_GLOBAL) or bool(_CONTEXT.get())


def is_listening(listener: Listener) -> bool:
    """Whether ``listener`` hears the calls made here (globally, or through a
    :func:`track_usage` block around this code)."""
    return listener in _GLOBAL or any(listener is other for other in _CONTEXT.get())


def report_usage(record: UsageRecord, hold: Hold | None = None) -> None:
    """Hand a record to every listener (the clients call this; a failing listener is logged,
    never raised into the call). ``hold``: the call's reservation, settled by this record."""
    held = hold.meters if hold is not None else ()
    estimates = hold.estimates if hold is not None else ()
    for listener in _listeners():
        try:
            if isinstance(listener, UsageMeter):
                listener.record(record, held=estimates if listener in held else ())
            else:
                listener(record)
        except Exception:  # a listener's bug must not fail the user's call
            logger.exception("usage listener %r failed", listener)
    if hold is not None:
        hold.settled = True


def add_listener(listener: Listener) -> None:
    """Listen to every call in the process (until :func:`remove_listener`)."""
    with _GLOBAL_LOCK:
        if listener not in _GLOBAL:
            _GLOBAL.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop a listener added with :func:`add_listener` (unknown ones are ignored)."""
    with _GLOBAL_LOCK:
        if listener in _GLOBAL:
            _GLOBAL.remove(listener)


@contextlib.contextmanager
def track_usage(meter: UsageMeter | None = None) -> Iterator[UsageMeter]:
    """Count the calls made inside the ``with`` block (this thread, the asyncio tasks it
    starts, and worker threads that copy the context) into ``meter`` (a new one by default;
    give one with a ``budget`` to cap what the block may spend).

    Example:
        >>> from workers_ai.usage import track_usage
        >>> with track_usage() as meter:  # doctest: +SKIP
        ...     chat.invoke("Hi")
        >>> meter.total.calls  # doctest: +SKIP
        1
    """
    meter = meter if meter is not None else UsageMeter()
    token = _CONTEXT.set((*_CONTEXT.get(), meter))
    try:
        yield meter
    finally:
        _CONTEXT.reset(token)


@dataclass(eq=False)
class Hold:
    """A call's reservation in the budgets of the meters listening when it was sent.

    :func:`report_usage` settles it; :meth:`release` (the call failed: nothing billed) and
    :meth:`abandon` (a stream left before its end: the worst case stays charged) end it
    otherwise. Ending it twice is harmless.
    """

    estimates: tuple[CallEstimate, ...]
    meters: tuple[UsageMeter, ...]
    settled: bool = False

    def release(self) -> None:
        """The call failed before an answer: give the reservation back."""
        if not self.settled:
            self.settled = True
            for meter in self.meters:
                meter._end_hold(self.estimates, charge=False)

    def abandon(self) -> None:
        """A stream ended before its usage was known: charge its worst case."""
        if not self.settled:
            self.settled = True
            for meter in self.meters:
                meter._end_hold(self.estimates, charge=True)


def reserve(estimates: Callable[[], Sequence[CallEstimate]]) -> Hold | None:
    """Reserve a call's worst case in every listening meter with a budget (the clients call
    this before sending; ``estimates``: one per model the call may reach, reserved together,
    computed only when a budget listens).

    Returns:
        The hold to settle, or ``None`` when no meter has a budget.

    Raises:
        BudgetExceededError: A budget has no room; nothing stays reserved.
    """
    meters = tuple(
        listener
        for listener in _listeners()
        if isinstance(listener, UsageMeter) and listener.budget is not None
    )
    if not meters:
        return None
    wanted = tuple(estimates())
    taken: list[UsageMeter] = []
    try:
        for meter in meters:
            meter._reserve(wanted)
            taken.append(meter)
    except BudgetExceededError:
        for meter in taken:
            meter._end_hold(wanted, charge=False)
        raise
    return Hold(wanted, meters)


@contextlib.contextmanager
def releasing(hold: Hold | None) -> Iterator[Hold | None]:
    """Release ``hold`` if the block raises (the call failed: nothing to settle)."""
    try:
        yield hold
    except BaseException:
        if hold is not None:
            hold.release()
        raise


def _combined(estimates: Sequence[CallEstimate]) -> CallEstimate:
    """The total of several models' worst cases (a fallback chain through the gateway may
    reach any), named after the first."""
    if len(estimates) == 1:
        return estimates[0]
    neurons = [e.neurons for e in estimates]
    usd = [e.usd for e in estimates]
    return CallEstimate(
        estimates[0].model,
        sum(e.input_tokens for e in estimates),
        sum(e.output_tokens for e in estimates),
        None if None in neurons else sum(n for n in neurons if n is not None),
        None if None in usd else sum(u for u in usd if u is not None),
    )


@dataclass
class ModelUsage:
    """Totals of one model (or of all: :attr:`UsageMeter.total`).

    Attributes:
        calls: Calls that completed.
        attempts: HTTP attempts they took.
        input_tokens: Prompt tokens (cached ones included), as reported; for the text tasks
            that report none (embeddings, rerankers, translation, summarisation), estimated
            from the inputs (their neurons are then marked estimated); media inputs (audio,
            images) count no tokens.
        output_tokens: Completion tokens, as reported.
        cached_tokens: Prompt tokens served from a cache, as reported.
        neurons: Neurons, reported or estimated (see ``neurons_estimated``).
        neurons_estimated: Whether any of ``neurons`` is a catalog estimate.
        usd: US dollars, reported or estimated, of the calls whose cost is known.
        calls_without_cost: Calls whose cost is unknown (a third-party model that reported
            none, or a model without catalog prices): ``usd`` leaves them out.
    """

    calls: int = 0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    neurons: float = 0.0
    neurons_estimated: bool = False
    usd: float = 0.0
    calls_without_cost: int = 0

    def add(self, other: ModelUsage) -> None:
        """Add another total into this one."""
        self.calls += other.calls
        self.attempts += other.attempts
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.neurons += other.neurons
        self.neurons_estimated = self.neurons_estimated or other.neurons_estimated
        self.usd += other.usd
        self.calls_without_cost += other.calls_without_cost


@dataclass(frozen=True)
class CallPrice:
    """What one call cost, as well as can be told.

    Attributes:
        neurons: Reported, else estimated from catalog prices; ``None`` when neither.
        neurons_estimated: ``neurons`` is a catalog estimate.
        usd: US dollars (from reported neurons, a reported cost, or the estimate); ``None``
            when unknown.
        usd_estimated: ``usd`` comes from catalog prices rather than the response.
    """

    neurons: float | None
    neurons_estimated: bool
    usd: float | None
    usd_estimated: bool


def price(model: str, usage: Usage | None) -> CallPrice:
    """Price one call's usage (module docs): reported neurons win, then a reported cost, then
    the catalog's per-token prices (cached prompt tokens at the cached rate)."""
    from workers_ai import catalog

    usage = usage or Usage()
    book = catalog.packaged_catalog()
    if usage.neurons is not None:
        usd = usage.neurons * book.neurons_usd_per_thousand / 1000
        return CallPrice(usage.neurons, False, usage.cost if usage.cost is not None else usd,
                         usage.cost is None)  # fmt: skip
    if usage.cost is not None:
        return CallPrice(None, False, usage.cost, False)
    cached = min(usage.cached_tokens or 0, usage.input_tokens)
    estimate = book.estimate_cost(
        model, usage.input_tokens, usage.output_tokens, cached_input_tokens=cached
    )
    return CallPrice(estimate.neurons, estimate.neurons is not None, estimate.usd, True)


def cost_fields(model: str, usage: Usage | None) -> dict[str, float]:
    """A response's cost for its metadata: ``estimated_cost_usd`` (from reported neurons or
    catalog prices; a cost the response reported stays the adapters' ``cost``) and
    ``estimated_neurons`` when the response reported none; only what is known."""
    if usage is None:
        return {}
    cost = price(model, usage)
    out: dict[str, float] = {}
    if cost.usd is not None and cost.usd_estimated:
        out["estimated_cost_usd"] = cost.usd
    if cost.neurons is not None and cost.neurons_estimated:
        out["estimated_neurons"] = cost.neurons
    return out


def _priced(record: UsageRecord) -> ModelUsage:
    """One record as a total of one call, priced (:func:`price`)."""
    usage = record.usage or Usage()
    cost = price(record.model, usage)
    return ModelUsage(
        calls=1,
        attempts=record.attempts,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens or 0,
        neurons=cost.neurons or 0.0,
        neurons_estimated=cost.neurons_estimated,
        usd=cost.usd or 0.0,
        calls_without_cost=int(cost.usd is None),
    )


@dataclass
class _Ledger:
    """What a budget has seen: spent (settled calls and abandoned streams) and reserved."""

    spent_neurons: float = 0.0
    spent_usd: float = 0.0
    reserved_neurons: float = 0.0
    reserved_usd: float = 0.0


@dataclass(eq=False)
class UsageMeter:
    """Usage and cost per model, from the records it is given (thread-safe); with a
    ``budget``, also the guard of what the calls it listens to may spend (module docs).

    Attributes:
        budget: Limits checked before each call (``None``: only count).
        by_model: Model -> its totals (read a snapshot with :meth:`snapshot`).
        warnings: The budget warnings given so far (also issued as ``BudgetWarning``).
    """

    budget: Budget | None = None
    by_model: dict[str, ModelUsage] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _ledgers: dict[str | None, _Ledger] = field(default_factory=dict, repr=False)
    _warned: set[tuple[str | None, str]] = field(default_factory=set, repr=False)

    def __call__(self, record: UsageRecord) -> None:
        """A meter is a listener: count ``record``."""
        self.record(record)

    def record(self, record: UsageRecord, *, held: Sequence[CallEstimate] = ()) -> None:
        """Count one call; ``held``: its reservation, now settled to what it used."""
        priced = _priced(record)
        with self._lock:
            self.by_model.setdefault(record.model, ModelUsage()).add(priced)
            if self.budget is not None:
                if held:
                    self._move(held, -1, reserved=True)
                for key in (None, record.model):
                    ledger = self._ledgers.setdefault(key, _Ledger())
                    ledger.spent_neurons += priced.neurons
                    ledger.spent_usd += priced.usd
        self._check_warnings(record.model)

    # -- budget ---------------------------------------------------------------------------
    def _limits(self, model: str) -> list[tuple[str | None, Budget]]:
        assert self.budget is not None
        limits: list[tuple[str | None, Budget]] = [(None, self.budget)]
        own = self.budget.per_model.get(model)
        if own is not None:
            limits.append((model, own))
        return limits

    def _reserve(self, estimates: Sequence[CallEstimate]) -> None:
        """Reserve ``estimates`` (their sum in the total, each in its model's own limit) or
        raise :class:`BudgetExceededError` (reserving nothing)."""
        assert self.budget is not None
        total = _combined(estimates)
        wanted: list[tuple[str | None, Budget, CallEstimate]] = [(None, self.budget, total)]
        for one in estimates:
            own = self.budget.per_model.get(one.model)
            if own is not None:
                wanted.append((one.model, own, one))
        with self._lock:
            for key, limit, estimate in wanted:
                ledger = self._ledgers.setdefault(key, _Ledger())
                checks = (
                    ("neurons", limit.max_neurons, estimate.neurons, ledger.spent_neurons,
                     ledger.reserved_neurons),
                    ("usd", limit.max_usd, estimate.usd, ledger.spent_usd, ledger.reserved_usd),
                )  # fmt: skip
                for unit, maximum, needed, spent, reserved in checks:
                    if maximum is None:
                        continue
                    if needed is None and self.budget.unpriced == "refuse":
                        raise _exceeded(estimate, unit, maximum, spent, reserved, None, key)
                    if needed is not None and spent + reserved + needed > maximum:
                        raise _exceeded(estimate, unit, maximum, spent, reserved, needed, key)
            self._move(estimates, +1, reserved=True)
        for one in estimates:
            self._check_warnings(one.model)

    def _end_hold(self, estimates: Sequence[CallEstimate], *, charge: bool) -> None:
        with self._lock:
            self._move(estimates, -1, reserved=True)
            if charge:
                self._move(estimates, +1, reserved=False)

    def _move(self, estimates: Sequence[CallEstimate], sign: int, *, reserved: bool) -> None:
        """Add (``sign=+1``) or take back estimates: their sum in the total's ledger, each in
        its model's (the lock is held)."""
        entries: list[tuple[str | None, CallEstimate]] = []
        if estimates:
            entries.append((None, _combined(estimates)))
        entries += [(one.model, one) for one in estimates]
        for key, estimate in entries:
            ledger = self._ledgers.setdefault(key, _Ledger())
            neurons, usd = sign * (estimate.neurons or 0.0), sign * (estimate.usd or 0.0)
            if reserved:
                ledger.reserved_neurons = max(ledger.reserved_neurons + neurons, 0.0)
                ledger.reserved_usd = max(ledger.reserved_usd + usd, 0.0)
            else:
                ledger.spent_neurons += neurons
                ledger.spent_usd += usd

    def _check_warnings(self, model: str) -> None:
        """Warn once per limit whose spent + reserved passed ``warn_at`` of it."""
        if self.budget is None or self.budget.warn_at is None:
            return
        due: list[str] = []
        with self._lock:
            for key, limit in self._limits(model):
                ledger = self._ledgers.get(key) or _Ledger()
                used = {
                    "neurons": (limit.max_neurons, ledger.spent_neurons + ledger.reserved_neurons),
                    "usd": (limit.max_usd, ledger.spent_usd + ledger.reserved_usd),
                }
                for unit, (maximum, amount) in used.items():
                    if not maximum or (key, unit) in self._warned:  # a zero limit refuses
                        continue
                    if amount >= self.budget.warn_at * maximum:
                        self._warned.add((key, unit))
                        scope = "the total limit" if key is None else f"the limit of {key}"
                        due.append(
                            f"Workers AI budget: {amount / maximum:.0%} of {scope} "
                            f"({_amount(maximum, unit)}) is used or reserved "
                            f"({_amount(amount, unit)})"
                        )
        for message in due:
            self.warnings.append(message)
            logger.warning("%s", message)
            warnings.warn(message, BudgetWarning, stacklevel=2)

    def remaining(self, unit: str = "neurons", model: str | None = None) -> float | None:
        """What is left of a limit (``unit``: ``"neurons"`` or ``"usd"``; ``model``: its own
        limit, ``None`` the total), after what was spent and what calls in flight reserved;
        ``None`` without such a limit."""
        if self.budget is None:
            return None
        limit = self.budget if model is None else self.budget.per_model.get(model)
        maximum = None if limit is None else getattr(limit, f"max_{unit}")
        if maximum is None:
            return None
        with self._lock:
            ledger = self._ledgers.get(model) or _Ledger()
            used = float(getattr(ledger, f"spent_{unit}") + getattr(ledger, f"reserved_{unit}"))
        return max(float(maximum) - used, 0.0)

    # -- totals ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, ModelUsage]:
        """A copy of the per-model totals, consistent at one moment."""
        with self._lock:
            return {model: _copy(totals) for model, totals in self.by_model.items()}

    @property
    def total(self) -> ModelUsage:
        """All models together."""
        total = ModelUsage()
        for totals in self.snapshot().values():
            total.add(totals)
        return total

    def reset(self) -> None:
        """Forget everything counted so far (the budget starts again; calls in flight keep
        their reservations)."""
        with self._lock:
            self.by_model.clear()
            for ledger in self._ledgers.values():
                ledger.spent_neurons = ledger.spent_usd = 0.0
            self._warned.clear()
            self.warnings.clear()

    def table(self) -> str:
        """A Markdown table: calls, attempts, tokens, neurons and USD per model, and the total
        (``~`` marks estimated neurons; ``n/a`` a cost unknown for every call of the row)."""
        rows = [*self.snapshot().items(), ("**total**", self.total)]
        lines = [
            "| model | calls | attempts | tokens in | tokens out | neurons | USD |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for model, t in rows:
            neurons = f"{'~' if t.neurons_estimated else ''}{t.neurons:,.1f}"
            unknown = t.calls_without_cost
            usd = "n/a" if unknown == t.calls and t.calls else f"{t.usd:.6f}"
            if unknown and unknown != t.calls:
                usd += f" + {unknown} n/a"
            cells = [model, t.calls, t.attempts, t.input_tokens, t.output_tokens, neurons, usd]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        return "\n".join(lines)


def _amount(value: float, unit: str) -> str:
    return f"${value:.6f}" if unit == "usd" else f"{value:,.3f} neurons"


def _exceeded(
    estimate: CallEstimate,
    unit: str,
    maximum: float,
    spent: float,
    reserved: float,
    needed: float | None,
    model: str | None,
) -> BudgetExceededError:
    scope = "the total budget" if model is None else f"the budget of {model}"
    if needed is None:
        message = (
            f"A call to {estimate.model} cannot be priced before it is sent, and {scope} "
            f"({_amount(maximum, unit)}) refuses unpriced calls (Budget(unpriced='refuse'))."
        )
    else:
        message = (
            f"A call to {estimate.model} could cost up to {_amount(needed, unit)} "
            f"({estimate.input_tokens} prompt + {estimate.output_tokens} max output tokens); "
            f"{scope} is {_amount(maximum, unit)} with {_amount(spent, unit)} spent and "
            f"{_amount(reserved, unit)} reserved by calls in flight. Raise the limit, lower "
            "max_tokens, or shorten the prompt."
        )
    return BudgetExceededError(
        message, unit=unit, limit=maximum, spent=spent, reserved=reserved, needed=needed,
        model=model,
    )  # fmt: skip


def _copy(totals: ModelUsage) -> ModelUsage:
    copy = ModelUsage()
    copy.add(totals)
    return copy
