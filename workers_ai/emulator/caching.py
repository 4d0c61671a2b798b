"""Prompt (prefix) caching behind ``x-session-affinity`` (spec §1 [R27]).

Requests that name the same session are routed to the same replica on Workers AI, whose prefix
cache then serves the part of the prompt shared with that session's earlier request; the
usage reports it as ``prompt_tokens_details.cached_tokens``. The emulator keeps, per session,
the token keys of the last prompt (:func:`workers_ai.emulator.tasks.prompt_keys`) and reports
the length of the common prefix. Bounded: the least recently used sessions are forgotten
beyond :data:`MAX_SESSIONS`. Dependency-free, so building the server state stays cheap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

__all__ = ["MAX_SESSIONS", "PromptCache"]

MAX_SESSIONS = 1_000


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


class PromptCache:
    """Per-session last prompt, LRU-bounded; thread-safe."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._max = max_sessions
        self._sessions: OrderedDict[str, list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def match(self, session: str, keys: Sequence[int]) -> int:
        """How many leading ``keys`` the session's last prompt shares (0 for a new session)."""
        with self._lock:
            previous = self._sessions.get(session)
            if previous is not None:
                self._sessions.move_to_end(session)
        return 0 if previous is None else _common_prefix(previous, keys)

    def remember(self, session: str, keys: list[int]) -> None:
        """Store ``keys`` as the session's last prompt (after a request it served)."""
        with self._lock:
            self._sessions[session] = keys
            self._sessions.move_to_end(session)
            if len(self._sessions) > self._max:
                self._sessions.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
