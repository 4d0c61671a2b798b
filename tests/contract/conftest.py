"""Contract fixtures: the core client against the emulator over 127.0.0.1.

- ``emulator``: the session emulator (``workers_ai_emulator`` from the pytest plugin), reset and
  restored to its default configuration before and after each test, so counted faults, rate-limit
  windows, latency, stats, the gateway cache and batch jobs never leak between tests.
- ``runner``: parametrized ``sync``/``async``; builds a fresh client against the emulator for each
  call and records retry delays (``tests.support.waits``) instead of sleeping, so tests can assert
  the waits without taking them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import Runner, clean_emulator
from tests.support.waits import fake_waits
from workers_ai.emulator import EmulatorServer


@pytest.fixture(scope="session")
def _session_emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """The plugin's session emulator; one of our own if the plugin is not enabled."""
    try:
        server: EmulatorServer = request.getfixturevalue("workers_ai_emulator")
    except pytest.FixtureLookupError:
        with EmulatorServer() as own:
            yield own
        return
    yield server


@pytest.fixture
def emulator(_session_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    """The running emulator, clean (no faults, limits, latency, stats, cache or batch jobs)."""
    clean_emulator(_session_emulator)
    yield _session_emulator
    clean_emulator(_session_emulator)


@pytest.fixture(params=["sync", "async"])
def runner(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer
) -> Runner:
    """A sync or async :class:`Runner` against the clean emulator; retry waits are recorded."""
    return Runner(request.param, emulator, fake_waits(monkeypatch).delays)
