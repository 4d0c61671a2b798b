"""Await a sync object's methods like its async twin's, so one test body serves both."""

from __future__ import annotations

from typing import Any


class Awaitable:
    """A sync object whose methods are awaited like the async twin's (``wrap`` names the
    methods whose results are wrapped too, e.g. handle factories)."""

    def __init__(self, target: Any, wrap: frozenset[str] = frozenset()) -> None:
        self._target = target
        self._wrap = wrap

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            return Awaitable(result) if name in self._wrap else result

        return call
