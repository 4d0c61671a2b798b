"""What both frameworks' usage handlers read from their :class:`~workers_ai.usage.UsageMeter`
(a mixin with no imports of its own, so importing an adapter stays light)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers_ai.usage import ModelUsage, UsageMeter

__all__ = ["MeterView"]


class MeterView(abc.ABC):
    """Readouts of ``self.meter``: per model, the table, budget warnings and what is left."""

    @property
    @abc.abstractmethod
    def meter(self) -> UsageMeter:
        """The meter counting (each handler provides it)."""

    @property
    def by_model(self) -> dict[str, ModelUsage]:
        """Model -> its totals (a snapshot)."""
        return self.meter.snapshot()

    def table(self) -> str:
        """A Markdown table per model and in total (:meth:`workers_ai.usage.UsageMeter.table`)."""
        return self.meter.table()

    @property
    def budget_warnings(self) -> list[str]:
        """The budget warnings given so far."""
        return list(self.meter.warnings)

    def remaining(self, unit: str = "neurons", model: str | None = None) -> float | None:
        """What is left of a limit (:meth:`workers_ai.usage.UsageMeter.remaining`)."""
        return self.meter.remaining(unit, model)
