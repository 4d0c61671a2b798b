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

:class:`UsageMeter` totals per model, thread-safe, and prices each record: neurons as
reported, else estimated from the catalog's per-token prices (marked estimated); USD from the
reported neurons, or the catalog estimate, or (third-party models) the cost the response
reported, else unknown -- never invented.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from workers_ai.types import Usage

__all__ = [
    "ModelUsage",
    "UsageMeter",
    "UsageRecord",
    "add_listener",
    "listening",
    "remove_listener",
    "report_usage",
    "track_usage",
]

logger = logging.getLogger("workers_ai")

Listener = Callable[["UsageRecord"], None]


@dataclass(frozen=True)
class UsageRecord:
    """One model call, complete.

    Attributes:
        model: The model that answered (after a fallback: the fallback).
        kind: ``chat`` or the model's catalog task (``text-embeddings``, ``text-classification``
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


def listening() -> bool:
    """Whether anyone listens (the clients skip building records when nobody does)."""
    return bool(_GLOBAL) or bool(_CONTEXT.get())


def report_usage(record: UsageRecord) -> None:
    """Hand a record to every listener (the clients call this; a failing listener is logged,
    never raised into the call)."""
    listeners = (*_GLOBAL, *_CONTEXT.get())
    for listener in listeners:
        try:
            listener(record)
        except Exception:  # a listener's bug must not fail the user's call
            logger.exception("usage listener %r failed", listener)


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
    starts, and worker threads that copy the context) into ``meter`` (a new one by default).

    Example:
        >>> from workers_ai.usage import track_usage
        >>> with track_usage() as meter:  # doctest: +SKIP
        ...     chat.invoke("Hi")
        >>> meter.total.calls  # doctest: +SKIP
        1
    """
    meter = meter if meter is not None else UsageMeter()
    token = _CONTEXT.set((*_CONTEXT.get(), meter.record))
    try:
        yield meter
    finally:
        _CONTEXT.reset(token)


@dataclass
class ModelUsage:
    """Totals of one model (or of all: :attr:`UsageMeter.total`).

    Attributes:
        calls: Calls that completed.
        attempts: HTTP attempts they took.
        input_tokens: Prompt tokens (cached ones included), as reported.
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


def _priced(record: UsageRecord) -> ModelUsage:
    """One record as a total of one call, priced (module docs)."""
    from workers_ai import catalog

    usage = record.usage or Usage()
    out = ModelUsage(
        calls=1,
        attempts=record.attempts,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens or 0,
    )
    book = catalog.packaged_catalog()
    usd_per_neuron = book.neurons_usd_per_thousand / 1000
    if usage.neurons is not None:
        out.neurons, out.usd = usage.neurons, usage.neurons * usd_per_neuron
        return out
    if usage.cost is not None:
        out.usd = usage.cost
        return out
    cached = min(usage.cached_tokens or 0, usage.input_tokens)
    estimate = book.estimate_cost(
        record.model, usage.input_tokens, usage.output_tokens, cached_input_tokens=cached
    )
    if estimate.neurons is not None:
        out.neurons, out.neurons_estimated = estimate.neurons, True
    if estimate.usd is not None:
        out.usd = estimate.usd
    else:
        out.calls_without_cost = 1
    return out


@dataclass
class UsageMeter:
    """Usage and cost per model, from the records it is given (thread-safe).

    Attributes:
        by_model: Model -> its totals (read a snapshot with :meth:`snapshot`).
    """

    by_model: dict[str, ModelUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, record: UsageRecord) -> None:
        """Count one call (the listener :func:`track_usage` installs)."""
        priced = _priced(record)
        with self._lock:
            self.by_model.setdefault(record.model, ModelUsage()).add(priced)

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
        """Forget everything counted so far."""
        with self._lock:
            self.by_model.clear()

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


def _copy(totals: ModelUsage) -> ModelUsage:
    copy = ModelUsage()
    copy.add(totals)
    return copy
