"""The contract suite's helpers around the emulator: clean-up, connection keywords, runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.clients import call_client
from workers_ai.emulator import EmulatorServer
from workers_ai.emulator.config import EmulatorConfig

#: What ``reset()`` does not touch but a test may have changed with ``configure()``.
DEFAULT_RUNTIME = {
    "latency_ms": 0.0,
    "jitter_ms": 0.0,
    "stream_event_delay_ms": 0.0,
    "rate_limit_per_minute": None,
    "batch_delay_s": 0.0,
    "batch_pending_polls": 1,
    "batch_result_shape": "flat",
    "batch_shuffle": True,
    "batch_failed_items": [],
    "batch_failure_rate": 0.0,
    # the session's own (WORKERS_AI_EMULATOR_VECTORIZE_LAG_MS runs the suite with a lag)
    "vectorize_mutation_lag_ms": EmulatorConfig().vectorize_mutation_lag_ms,
}


def clean_emulator(server: EmulatorServer) -> None:
    """No faults, limits, latency, stats, cache or batch jobs: the emulator as it started."""
    server.configure(**DEFAULT_RUNTIME)
    server.reset()


def adapter_kwargs(server: EmulatorServer, token_keyword: str = "api_key") -> dict[str, Any]:
    """The emulator's connection as keywords for the adapters, the token under
    ``token_keyword`` (the core client's ``client_kwargs()`` names it ``api_token``)."""
    kw = server.client_kwargs()
    return {
        "account_id": kw["account_id"],
        token_keyword: kw["api_token"],
        "base_url": kw["base_url"],
    }


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
        """Call ``method`` on a fresh client; streams are consumed into a
        :class:`~tests.support.clients.Streamed`.

        With ``keep_error=True`` an exception raised while iterating a stream is returned in
        ``Streamed.error`` together with the items received before it; otherwise it propagates.
        """
        ctor = self.client_kwargs(**(client_kwargs or {}))
        return call_client(self.kind, ctor, method, args, kw, keep_error=keep_error)
