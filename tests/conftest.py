"""Settings and fixtures for the whole suite (shared helpers are in ``tests/support``).

Hypothesis: the test command runs a fixed, derandomized set of examples (profile ``ci``), so a
run is reproducible and CI cannot fail by chance; ``HYPOTHESIS_PROFILE=explore`` searches with
fresh random examples and ten times as many (run it when touching parsers or normalisers).

Fixtures:

- ``kind``: parametrized ``sync``/``async``.
- ``no_env``: no credentials or base URL in the environment, so only a test's keywords count.
- ``fresh_model_warnings``: the once-per-process model warnings start unwarned.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.support.env import CREDENTIAL_ENV
from workers_ai import model_checks

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials or base URL in the environment: only the keywords count (and a
    developer's or the emulator's settings do not leak in)."""
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh_model_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Model warnings are once per process; each test starts as a new process would."""
    monkeypatch.setattr(model_checks, "_warned", set())
