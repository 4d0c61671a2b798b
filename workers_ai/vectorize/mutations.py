"""Waiting for Vectorize writes (platform spec §2.8), pure: when is a mutation applied?

Writes return a mutation id and are applied asynchronously, in order. A mutation is applied
once the index's info names it as ``processedUpToMutation``, or names a later one: mutation ids
are not ordered, so "later" is read from ``processedUpToDatetime`` -- a processed time a whole
second after the write was accepted (its response's ``Date``, which has one-second resolution)
means the log has moved past it. The sync and async waits only poll and sleep; the delays
grow from ``first_delay`` to ``max_delay``, and the deadline is never overrun by a sleep.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from workers_ai.errors import InvalidRequestError, MutationTimeoutError
from workers_ai.vectorize.types import IndexStats, Mutation

__all__ = ["DEFAULT_MUTATION_TIMEOUT", "MutationWait", "accepted_at", "check_timeout"]

#: Seconds a write waits for its mutation by default ("typically within a few seconds").
DEFAULT_MUTATION_TIMEOUT = 60.0
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0


def check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidRequestError(
            f"mutation_timeout must be a positive number of seconds, got {timeout!r}"
        )
    return float(timeout)


def accepted_at(date_header: str | None) -> str | None:
    """A response's ``Date`` header as ISO 8601 (UTC), or ``None`` if absent or unreadable."""
    if not date_header:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat()


def _parse_iso(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


@dataclass
class MutationWait:
    """The state of one wait: ask :meth:`applied`, then sleep :meth:`next_delay` or give up.

    Attributes:
        index: The index name (for the timeout's message).
        mutation: The write waited for.
        timeout: Seconds before :class:`MutationTimeoutError`.
    """

    index: str
    mutation: Mutation
    timeout: float
    _delay: float = _FIRST_DELAY
    _last: IndexStats | None = None

    def applied(self, stats: IndexStats) -> bool:
        self._last = stats
        if stats.processed_up_to_mutation == self.mutation.id:
            return True
        accepted = _parse_iso(self.mutation.accepted_at)
        processed = _parse_iso(stats.processed_up_to_datetime)
        if accepted is None or processed is None:
            return False
        return processed >= accepted + datetime.timedelta(seconds=1)

    def next_delay(self, elapsed: float) -> float:
        """Seconds to sleep before the next poll; raises once ``timeout`` has passed."""
        left = self.timeout - elapsed
        if left <= 0:
            last = self._last.processed_up_to_mutation if self._last else None
            raise MutationTimeoutError(
                f"Vectorize index {self.index!r} had not applied mutation {self.mutation.id} "
                f"after {elapsed:.1f} s (it has applied up to {last or 'nothing yet'}). The "
                "write was accepted and will be applied: wait longer with "
                "wait_for_mutation(mutation, timeout=...) or a larger mutation_timeout",
                index=self.index,
                mutation_id=self.mutation.id,
                waited=elapsed,
                processed_up_to=last,
            )
        delay = min(self._delay, left)
        self._delay = min(self._delay * 2, _MAX_DELAY)
        return delay
