"""Contract fixtures: the core client against the emulator over 127.0.0.1.

- ``emulator``: the session emulator (``workers_ai_emulator`` from the pytest plugin), reset and
  restored to its default configuration before and after each test, so counted faults, rate-limit
  windows, latency, stats, the gateway cache and batch jobs never leak between tests.
- ``runner``: parametrized ``sync``/``async``; builds a fresh client against the emulator for each
  call and records retry delays (``workers_ai.client._sleep`` / ``_asleep`` patched) instead of
  sleeping, so tests can assert the waits without taking them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from workers_ai import AsyncWorkersAIClient, WorkersAIClient
from workers_ai import client as client_module
from workers_ai.emulator import EmulatorServer

STREAM_METHODS = frozenset({"stream", "stream_chat", "openai_stream"})

#: What ``reset()`` does not touch but a test may have changed with ``configure()``.
DEFAULT_RUNTIME = {
    "latency_ms": 0.0,
    "jitter_ms": 0.0,
    "stream_event_delay_ms": 0.0,
    "rate_limit_per_minute": None,
}


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


def clean_emulator(server: EmulatorServer) -> None:
    server.configure(**DEFAULT_RUNTIME)
    server.reset()


@pytest.fixture
def emulator(_session_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    """The running emulator, clean (no faults, limits, latency, stats, cache or batch jobs)."""
    clean_emulator(_session_emulator)
    yield _session_emulator
    clean_emulator(_session_emulator)


@dataclass
class Streamed:
    """A consumed stream: what it yielded, the stream object, and the error that ended it."""

    items: list[Any]
    stream: Any
    error: BaseException | None = None


@dataclass
class Runner:
    """Calls one client method the same way through the sync and the async client."""

    kind: str
    server: EmulatorServer
    sleeps: list[float] = field(default_factory=list)

    def client_kwargs(self, **kw: Any) -> dict[str, Any]:
        return {**self.server.client_kwargs(), "max_retries": 2, **kw}

    def call(
        self,
        method: str,
        *args: Any,
        client_kwargs: dict[str, Any] | None = None,
        keep_error: bool = False,
        **kw: Any,
    ) -> Any:
        """Call ``method`` on a fresh client; streams are consumed into a :class:`Streamed`.

        With ``keep_error=True`` an exception raised while iterating a stream is returned in
        ``Streamed.error`` together with the items received before it; otherwise it propagates.
        """
        ctor = self.client_kwargs(**(client_kwargs or {}))
        if self.kind == "sync":
            return self._call_sync(ctor, method, args, kw, keep_error)
        return asyncio.run(self._call_async(ctor, method, args, kw, keep_error))

    @staticmethod
    def _call_sync(ctor: dict[str, Any], method: str, args: Any, kw: Any, keep_error: bool) -> Any:
        with WorkersAIClient(**ctor) as client:
            out = getattr(client, method)(*args, **kw)
            if method not in STREAM_METHODS:
                return out
            streamed = Streamed([], out)
            try:
                for item in out:
                    streamed.items.append(item)
            except Exception as exc:
                if not keep_error:
                    raise
                streamed.error = exc
            return streamed

    @staticmethod
    async def _call_async(
        ctor: dict[str, Any], method: str, args: Any, kw: Any, keep_error: bool
    ) -> Any:
        async with AsyncWorkersAIClient(**ctor) as client:
            out = await getattr(client, method)(*args, **kw)
            if method not in STREAM_METHODS:
                return out
            streamed = Streamed([], out)
            try:
                async for item in out:
                    streamed.items.append(item)
            except Exception as exc:
                if not keep_error:
                    raise
                streamed.error = exc
            return streamed


@pytest.fixture(params=["sync", "async"])
def runner(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer
) -> Runner:
    """A sync or async :class:`Runner` against the clean emulator; retry waits are recorded."""
    sleeps: list[float] = []

    async def fake_asleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr(client_module, "_sleep", sleeps.append)
    monkeypatch.setattr(client_module, "_asleep", fake_asleep)
    return Runner(request.param, emulator, sleeps)
