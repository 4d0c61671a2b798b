"""Unit fixtures: ``runner`` runs the same table through the sync and the async client
(``httpx.MockTransport``; the helpers are in ``tests.support.mock_transport``)."""

from __future__ import annotations

import pytest

from tests.support.mock_transport import Runner
from tests.support.waits import fake_waits


@pytest.fixture(params=["sync", "async"])
def runner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """A sync or async :class:`Runner`; retry waits are recorded in ``runner.sleeps``."""
    return Runner(request.param, fake_waits(monkeypatch).delays)
