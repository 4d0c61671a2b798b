"""Spending limits: what a call may cost at worst, and whether a budget has room for it (pure).

A :class:`Budget` caps neurons and/or US dollars, in total and per model. A
:class:`~workers_ai.usage.UsageMeter` given one checks each call *before* it is sent: the
clients work out the call's worst case (:func:`worst_case`: the prompt's estimated tokens plus
``max_tokens``, priced from the catalog), the meter reserves it -- or raises
:class:`~workers_ai.errors.BudgetExceededError` when spent + reserved + this worst case would
cross a limit -- and settles to the call's actual usage when it completes (released when it
fails; a stream abandoned before its end stays charged at its worst case). Concurrent calls
each reserve their own worst case, so a budget holds under threads and asyncio tasks.

A call whose worst case cannot be priced (a third-party model without catalog prices, a task
priced per image or per audio minute) is let through and counted from what it reports, unless
the budget says ``unpriced="refuse"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from workers_ai.errors import ConfigurationError
from workers_ai.tokens import IMAGE_TOKENS, MESSAGE_TOKENS, REPLY_TOKENS, count_text_tokens

if TYPE_CHECKING:  # typing.Unpack is 3.11+; type checkers know typing_extensions either way
    from typing_extensions import Unpack

__all__ = ["Budget", "BudgetLimits", "BudgetWarning", "CallEstimate", "worst_case"]

Unpriced = Literal["allow", "refuse"]

#: Request fields that never reach the prompt (numbers, flags, ids) -- not counted.
_NOT_PROMPT = frozenset(
    {"model", "stream", "stream_options", "temperature", "top_p", "top_k", "seed",
     "max_tokens", "max_completion_tokens", "max_output_tokens", "frequency_penalty",
     "presence_penalty", "repetition_penalty", "n", "store", "reasoning", "thinking",
     "metadata", "raw", "lora", "response_format", "tool_choice", "parallel_tool_calls"}
)  # fmt: skip
#: An unbroken string this long (base64 media, a data URL) is media, not prompt text.
_MEDIA_CHARS = 4_096
_MAX_TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


class BudgetWarning(UserWarning):
    """A budget passed its warning threshold (once per limit)."""


@dataclass(frozen=True)
class Budget:
    """Limits on what calls may cost.

    Attributes:
        max_neurons: Most neurons (reported or estimated) in total; ``None``: no limit.
        max_usd: Most US dollars in total; ``None``: no limit.
        per_model: Model id -> its own :class:`Budget` (``max_neurons``/``max_usd`` only).
        warn_at: Fraction of a limit (spent + reserved) that warns once (``BudgetWarning``
            and a log line); ``None`` never warns.
        unpriced: ``"allow"`` (default) lets a call whose worst case has no price through and
            counts what it reports; ``"refuse"`` raises ``BudgetExceededError`` for it.

    Raises:
        ConfigurationError: A negative or non-finite limit, ``warn_at`` outside (0, 1], or a
            per-model budget with its own ``per_model``.
    """

    max_neurons: float | None = None
    max_usd: float | None = None
    per_model: Mapping[str, Budget] = field(default_factory=dict)
    warn_at: float | None = 0.8
    unpriced: Unpriced = "allow"

    def __post_init__(self) -> None:
        for name in ("max_neurons", "max_usd"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigurationError(f"Budget {name} must be a number >= 0, not {value!r}")
        if self.warn_at is not None and not (
            isinstance(self.warn_at, (int, float)) and 0 < self.warn_at <= 1
        ):
            raise ConfigurationError(
                f"Budget warn_at must be a fraction in (0, 1] or None, not {self.warn_at!r}"
            )
        if self.unpriced not in ("allow", "refuse"):
            raise ConfigurationError(
                f"Budget unpriced must be 'allow' or 'refuse', not {self.unpriced!r}"
            )
        if not isinstance(self.per_model, Mapping):
            raise ConfigurationError("Budget per_model must map model ids to Budget objects")
        for model, limit in self.per_model.items():
            if not isinstance(limit, Budget) or limit.per_model:
                raise ConfigurationError(
                    f"Budget per_model[{model!r}] must be a Budget(max_neurons=..., "
                    "max_usd=...) without its own per_model"
                )
        object.__setattr__(self, "per_model", dict(self.per_model))

    @classmethod
    def of(cls, *, budget: Budget | None = None, **limits: Unpack[BudgetLimits]) -> Budget | None:
        """A budget from keyword arguments (:class:`BudgetLimits`; ``per_model`` values may be
        plain dicts such as ``{"max_neurons": 500}``), or ``budget`` as given; ``None`` when
        no limit is given.

        Raises:
            ConfigurationError: Both ``budget`` and limits, an unknown argument, or a bad limit.
        """
        unknown = set(limits) - set(BudgetLimits.__annotations__)
        if unknown:
            raise ConfigurationError(
                f"Unknown budget argument(s) {sorted(unknown)}; expected "
                f"{', '.join(BudgetLimits.__annotations__)} or budget"
            )
        max_neurons, max_usd = limits.get("max_neurons"), limits.get("max_usd")
        per_model = limits.get("per_model") or {}
        if budget is not None:
            if max_neurons is not None or max_usd is not None or per_model:
                raise ConfigurationError("Give either budget=Budget(...) or the limits, not both")
            if not isinstance(budget, Budget):
                raise ConfigurationError(f"budget must be a workers_ai.Budget, not {budget!r}")
            return budget
        if not isinstance(per_model, Mapping):
            raise ConfigurationError("per_model must map model ids to limits")
        models = {
            model: limit if isinstance(limit, Budget) else _limit_from(model, limit)
            for model, limit in per_model.items()
        }
        if max_neurons is None and max_usd is None and not models:
            return None
        warn_at = limits.get("warn_at", 0.8)
        return cls(max_neurons, max_usd, models, warn_at, limits.get("unpriced", "allow"))


class BudgetLimits(TypedDict, total=False):
    """The keyword arguments of a budget, as the framework handlers take them.

    Attributes:
        max_neurons: Most neurons in total.
        max_usd: Most US dollars in total.
        per_model: Model id -> its own limits (``{"max_neurons": 500}`` or a ``Budget``).
        warn_at: Fraction of a limit that warns once (default 0.8; ``None`` never warns).
        unpriced: ``"allow"`` (default) or ``"refuse"`` calls that cannot be priced first.
    """

    max_neurons: float | None
    max_usd: float | None
    per_model: Mapping[str, Budget | Mapping[str, float]] | None
    warn_at: float | None
    unpriced: Unpriced


def _limit_from(model: str, limit: Any) -> Budget:
    if not isinstance(limit, Mapping) or not set(limit) <= {"max_neurons", "max_usd"}:
        raise ConfigurationError(
            f"per_model[{model!r}] must be a Budget or a dict with 'max_neurons' and/or "
            f"'max_usd', not {limit!r}"
        )
    return Budget(**limit)


@dataclass(frozen=True)
class CallEstimate:
    """The most one call may cost.

    Attributes:
        model: Model id.
        input_tokens: Estimated prompt tokens (leaning high).
        output_tokens: The most it may generate (``max_tokens`` or the model's default).
        neurons: Their neurons; ``None`` when the catalog has no price for the model.
        usd: Their US dollars; ``None`` likewise.
    """

    model: str
    input_tokens: int
    output_tokens: int
    neurons: float | None
    usd: float | None


def worst_case(model: str, body: Any, *, chat: bool) -> CallEstimate:
    """The worst case of sending ``body`` to ``model``: every string of the prompt counted
    (media as :data:`~workers_ai.tokens.IMAGE_TOKENS`), plus ``max_tokens`` (else the model's
    default ``max_tokens``, else the rest of its context window) for a chat call."""
    from workers_ai import catalog

    info = catalog.get(model)
    input_tokens = _prompt_tokens(body) + (REPLY_TOKENS if chat else 0)
    output_tokens = 0
    if chat:
        asked = next(
            (body[k] for k in _MAX_TOKEN_KEYS if isinstance(body, Mapping) and k in body), None
        )
        if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
            output_tokens = asked
        elif info.default_max_tokens:
            output_tokens = info.default_max_tokens
        elif info.context_window:
            output_tokens = max(info.context_window - input_tokens, 0)
    cost = catalog.estimate_cost(model, input_tokens, output_tokens)
    return CallEstimate(model, input_tokens, output_tokens, cost.neurons, cost.usd)


def _prompt_tokens(value: Any, key: str | None = None) -> int:
    """Estimated tokens of every prompt string in a request body (module docs)."""
    if key in _NOT_PROMPT:
        return 0
    if isinstance(value, str):
        if len(value) >= _MEDIA_CHARS and " " not in value[:_MEDIA_CHARS]:
            return IMAGE_TOKENS
        return count_text_tokens(value)
    if isinstance(value, Mapping):
        extra = MESSAGE_TOKENS if "role" in value else 0
        return extra + sum(_prompt_tokens(v, k) for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        if value and all(isinstance(v, int) for v in value[:16]):
            return IMAGE_TOKENS  # media as a list of byte values
        return sum(_prompt_tokens(v) for v in value)
    return 0
