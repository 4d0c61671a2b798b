"""Helpers to run the same table through the sync and the async client (MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from workers_ai import AsyncWorkersAIClient, WorkersAIClient
from workers_ai import client as client_module

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

    def call(self, handler: Callable[..., Any], method: str, *args: Any, **kw: Any) -> Any:
        """Call ``method``; streams are consumed into a list."""
        ctor_kw = kw.pop("client_kwargs", {})
        if self.kind == "sync":
            transport = httpx.MockTransport(handler)
            with WorkersAIClient(
                http_client=httpx.Client(transport=transport), **self.client_kwargs(**ctor_kw)
            ) as client:
                out = getattr(client, method)(*args, **kw)
                if method in {"stream", "stream_chat", "openai_stream"}:
                    return list(out), out
                return out

        async def go() -> Any:
            transport = httpx.MockTransport(handler)
            async with AsyncWorkersAIClient(
                http_client=httpx.AsyncClient(transport=transport),
                **self.client_kwargs(**ctor_kw),
            ) as client:
                out = await getattr(client, method)(*args, **kw)
                if method in {"stream", "stream_chat", "openai_stream"}:
                    return [x async for x in out], out
                return out

        return asyncio.run(go())


@pytest.fixture(params=["sync", "async"])
def runner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Runner:
    sleeps: list[float] = []

    async def fake_asleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr(client_module, "_sleep", sleeps.append)
    monkeypatch.setattr(client_module, "_asleep", fake_asleep)
    return Runner(request.param, sleeps)
