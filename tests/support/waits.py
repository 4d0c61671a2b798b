"""The library's waits, recorded instead of taken, on one fake clock.

``workers_ai.client`` waits between retries with ``_sleep`` / ``_asleep``;
``workers_ai.concurrency`` (the embeddings and rerank engines) waits between retries and throttle
pauses with ``_asleep`` and reads the time from ``_clock``. Tests swap these seams here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from workers_ai import client as client_module
from workers_ai import concurrency


@dataclass
class Waits:
    """Every wait asked for, in order; ``now`` is a clock that only the waits move on."""

    delays: list[float] = field(default_factory=list)
    now: float = 0.0

    def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += max(delay, 0.0)

    async def asleep(self, delay: float) -> None:
        self.sleep(delay)

    def clock(self) -> float:
        return self.now


def fake_waits(
    monkeypatch: pytest.MonkeyPatch,
    *,
    client: bool = True,
    engine: bool = False,
    clock: bool = False,
) -> Waits:
    """Record waits instead of sleeping: the core client's retry waits (``client``), the
    embeddings/rerank engine's retry waits and throttle pauses (``engine``), and the engine's
    clock reading the fake time (``clock``)."""
    waits = Waits()
    if client:
        monkeypatch.setattr(client_module, "_sleep", waits.sleep)
        monkeypatch.setattr(client_module, "_asleep", waits.asleep)
    if engine:
        monkeypatch.setattr(concurrency, "_asleep", waits.asleep)
    if clock:
        monkeypatch.setattr(concurrency, "_clock", waits.clock)
    return waits
