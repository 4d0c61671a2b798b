"""Pytest fixtures for testing your app against the emulator.

Enable with ``pytest_plugins = ["workers_ai.emulator.pytest_plugin"]`` in a ``conftest.py``:

- ``workers_ai_emulator`` (session): a running :class:`EmulatorServer`;
- ``workers_ai_emulator_env`` (function): sets ``CLOUDFLARE_ACCOUNT_ID``,
  ``CLOUDFLARE_API_TOKEN`` and ``WORKERS_AI_BASE_URL`` for the test, and resets the emulator
  before and after it (stats, faults, scripted replies, strict mode, the request log) so each
  test starts clean.

Script what the models say with ``emulator.script(Reply(...), last_user=...)``
(:mod:`workers_ai.emulator.scripts`), assert on what was sent with ``emulator.last_request()``,
``.requests()`` and ``.request_count()``, count with ``.stats()``, and change behaviour with
``.configure(...)`` / ``.reset()``: these act in process and need no token (guide:
``docs/testing-your-app.md``). Over
HTTP the control routes (``/__emulator/*``) need the API token like the API does:
``httpx.get(f"{emulator.root_url}/__emulator/stats", headers=emulator.control_headers())``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workers_ai.emulator.server import EmulatorServer

__all__ = ["workers_ai_emulator", "workers_ai_emulator_env"]


@pytest.fixture(scope="session")
def workers_ai_emulator() -> Iterator[EmulatorServer]:
    """One emulator for the whole session, on a free loopback port."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def workers_ai_emulator_env(
    workers_ai_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorServer]:
    """The emulator, reset, with the environment pointing every client at it."""
    workers_ai_emulator.reset()
    for name, value in workers_ai_emulator.env().items():
        monkeypatch.setenv(name, value)
    yield workers_ai_emulator
    workers_ai_emulator.reset()
