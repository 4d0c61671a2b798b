"""The unit suite's client runs: the sync and the async client over ``httpx.MockTransport``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.clients import Handler, Streamed, call_client

TOKEN = "tok_SECRET_abcdef0123456789"
ACCOUNT = "0123456789abcdef0123456789abcdef"


@dataclass
class Recorder:
    """A MockTransport handler that replays responses in order and records requests."""

    responses: list[Any]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses[min(len(self.requests), len(self.responses)) - 1]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item


@dataclass
class Runner:
    """Runs a client method the same way for ``sync`` and ``async``."""

    kind: str
    sleeps: list[float]

    def client_kwargs(self, **kw: Any) -> dict[str, Any]:
        return {"account_id": ACCOUNT, "api_token": TOKEN, "max_retries": 2, **kw}

    def call(self, handler: Handler, method: str, *args: Any, **kw: Any) -> Any:
        """Call ``method``; streams are consumed into ``(items, stream)``."""
        ctor = self.client_kwargs(**kw.pop("client_kwargs", {}))
        out = call_client(self.kind, ctor, method, args, kw, handler=handler)
        if isinstance(out, Streamed):
            return out.items, out.stream
        return out
