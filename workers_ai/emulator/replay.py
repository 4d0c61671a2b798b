"""A replay server: answers HTTP requests with the answers recorded in cassettes.

Point any HTTP client (Python or not) at it to test against recorded answers::

    python -m workers_ai.emulator --replay tests/cassettes --port 8788

or from Python::

    with ReplayServer("tests/cassettes") as replay:
        llm = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast",
                            **replay.client_kwargs())

Cassettes are the project's format (vcrpy YAML, ``.yaml.gz`` or ``.yaml``;
:mod:`workers_ai.emulator.cassettes`). A request is answered by a recorded interaction whose
request matches it as the project's cassette suite matches (method, path with any account id,
query, JSON body with tool-call ids ignored, ``cf-aig-*`` / ``x-session-affinity`` headers;
scheme and host are the server's own; paths are compared percent-decoded, so ``%40cf%2F...``
matches ``@cf/...``). REST (``/client/v4/...``) and AI Gateway (``/v1/...``)
paths are both served, so ``base_url=replay.base_url`` covers both.

- **Order:** the matching interactions answer in recorded order (cassettes in name order), one
  request each; once all have answered, the last one answers again (``repeat=False``: a 404
  instead, as vcrpy with ``allow_playback_repeats=False``).
- **Answers** are as recorded: status, headers (without hop-by-hop ones and
  ``content-length``, which is recomputed) and body; an SSE body is sent as recorded, event by
  event. ``x-replay-interaction: <cassette> #<index>`` names the interaction used.
- **Misses:** a request no interaction matches gets a 404 in Cloudflare's envelope
  (``{"success": false, "errors": [{"code": 404, "message": ...}]}``, code 404 being the replay
  server's own, not Cloudflare's) whose message names the closest recorded request (method,
  path, the first differing part or body field) and its cassette.
- **Auth:** any bearer token is accepted and never echoed; a request without
  ``Authorization`` gets a 401 (code 10000) when the recorded one carried the header.
- **Where answers come from:** only what the cassette says. An answer recorded from the emulator
  carries its ``x-emulator`` header (``stand-in models, not real Workers AI``) and is replayed
  with it; ``GET /__replay/interactions`` reports ``recorded_from: "emulator"`` or
  ``"unmarked"`` per interaction. Nothing here claims an answer came from real Workers AI.
- **Control:** ``GET /__replay/interactions`` lists the loaded interactions (with how often
  each answered) and the requests served (the last 10,000: method, path with ``{account}``,
  status, the interaction used, or the 404's message for a miss); ``POST /__replay/reset``
  rewinds. No request headers are kept, so no token.
- **Security:** it listens on 127.0.0.1 by default and warns
  (:class:`ReplayExposedWarning`) for any other address: it accepts any token.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from workers_ai.emulator.cassettes import (
    Cassette,
    Interaction,
    RequestKey,
    closeness,
    load_cassettes,
    matches,
    mismatches,
    request_key,
)
from workers_ai.emulator.responses import (
    Receive,
    Response,
    Scope,
    Send,
    error_response,
    json_response,
    lifespan,
    read_body,
)
from workers_ai.emulator.server import EmulatorExposedWarning, ServedApp, is_loopback

__all__ = [
    "NO_MATCH_CODE",
    "REPLAY_ACCOUNT_ID",
    "REPLAY_API_TOKEN",
    "ReplayApp",
    "ReplayExposedWarning",
    "ReplayServer",
    "replay_exposure_warning",
]


#: The ``errors[0].code`` of a request no recorded interaction answers (not a Cloudflare code).
NO_MATCH_CODE = 404
#: What :meth:`ReplayServer.env` hands out: any account id and token are accepted.
REPLAY_ACCOUNT_ID = "replay-account"
REPLAY_API_TOKEN = "replay-token"  # noqa: S105 - a placeholder; any token is accepted
CONTROL_PREFIX = "/__replay/"
#: How many served requests :meth:`ReplayApp.served` keeps (the oldest are dropped).
SERVED_LOG_SIZE = 10_000
LABEL = "workers-ai-python replay server: answers recorded in cassettes"
#: Response headers never replayed (RFC 9110 hop-by-hop, and the length, recomputed).
_DROPPED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "date",
        "server",
    }
)
_AUTH_HEADERS = ("authorization", "cf-aig-authorization")
_MAX_BODY = 32 * 1024 * 1024


class ReplayExposedWarning(EmulatorExposedWarning):
    """The replay server listens where other machines can reach it."""


def replay_exposure_warning(host: str) -> str | None:
    """What to tell someone who serves recorded answers on ``host``; ``None`` on loopback."""
    if is_loopback(host):
        return None
    return (
        f"The Workers AI replay server listens on {host or 'every interface'} and is reachable "
        "from the network: it accepts any token and its control routes (/__replay/*) need "
        "none, and it serves whatever the cassettes hold. Bind to 127.0.0.1 unless other "
        "machines must reach it, and then only on a trusted network."
    )


@dataclass
class _Entry:
    interaction: Interaction
    key: RequestKey
    served: int = 0


class ReplayApp:
    """ASGI callable answering from ``cassettes`` (see the module docstring).

    :meth:`answer` does the matching without a server (thread-safe).
    """

    def __init__(self, cassettes: Sequence[Cassette], *, repeat: bool = True) -> None:
        self.cassettes = list(cassettes)
        self.repeat = repeat
        self._entries = [
            _Entry(interaction, interaction.request.key())
            for cassette in self.cassettes
            for interaction in cassette.interactions
        ]
        self._served: deque[dict[str, Any]] = deque(maxlen=SERVED_LOG_SIZE)
        self._lock = threading.Lock()

    # -- ASGI ----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive, _MAX_BODY)
        if body is None:
            response = error_response(413, 3006, "Request is too large")
        else:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            query = scope.get("query_string", b"").decode("latin-1")
            response = self.handle(scope["method"], scope["path"], query, headers, body)
        await _send(response, send)

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """The answer to one request: a control route, or :meth:`answer`."""
        if path.startswith(CONTROL_PREFIX):
            return self._control(method, path)
        if path in ("", "/") and method == "GET":
            text = f"{LABEL} ({len(self._entries)} interactions)\n".encode()
            return Response(200, text, headers=[(b"content-type", b"text/plain")])
        return self.answer(method, path, query, headers, body)

    def answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        """The recorded answer to a request (``path`` percent-decoded, as ASGI's
        ``scope["path"]``), a 401 when it lacks the ``Authorization`` the recording had, or the
        404 naming the closest recorded request."""
        key = request_key(method, path, query, headers, body)
        with self._lock:
            entry, reason = self._pick(key)
            if entry is not None and _missing_auth(entry.interaction, headers):
                entry, reason = None, "auth"
            if entry is not None:
                entry.served += 1
            self._served.append(_served_record(key, entry, reason))
        if entry is not None:
            return _recorded(entry)
        if reason == "auth":
            return error_response(
                401,
                10000,
                "Authentication error: the request has no Authorization header and the "
                "recorded one had it (the replay server accepts any bearer token)",
            )
        return error_response(404, NO_MATCH_CODE, reason)

    def _pick(self, key: RequestKey) -> tuple[_Entry | None, str]:
        matching = [e for e in self._entries if matches(key, e.key)]
        if not matching:
            return None, self._no_match(key)
        fresh = next((e for e in matching if not e.served), None)
        if fresh is not None:
            return fresh, "recorded"
        if self.repeat:
            return matching[-1], "repeat"
        labels = ", ".join(e.interaction.label for e in matching)
        return None, (
            f"Every recorded interaction matching {key.describe()} has answered once "
            f"({labels}) and the replay server does not repeat answers (repeat=False)."
        )

    def _no_match(self, key: RequestKey) -> str:
        text = f"No recorded interaction matches {key.describe()}."
        if not self._entries:
            return f"{text} No interactions are loaded."
        closest = max(self._entries, key=lambda e: closeness(key, e.key))
        why = "; ".join(mismatches(key, closest.key))
        return (
            f"{text} Closest recorded request: {closest.key.describe()} in "
            f"{closest.interaction.cassette} (interaction {closest.interaction.index}): {why}."
        )

    # -- state ---------------------------------------------------------------------------------
    def interactions(self) -> list[dict[str, Any]]:
        """The loaded interactions, in the order they are tried, with how often each answered."""
        with self._lock:
            return [_describe(e) for e in self._entries]

    def served(self) -> list[dict[str, Any]]:
        """The requests answered so far, oldest first (method, path with ``{account}``,
        status, the interaction used, or why none): never their headers."""
        with self._lock:
            return [dict(record) for record in self._served]

    def reset(self) -> None:
        """Rewind: every interaction answers again as if none had, and the log is emptied."""
        with self._lock:
            for entry in self._entries:
                entry.served = 0
            self._served.clear()

    def _control(self, method: str, path: str) -> Response:
        action = path[len(CONTROL_PREFIX) :].strip("/")
        if action == "interactions" and method == "GET":
            return json_response(
                {
                    "cassettes": [_cassette_summary(c) for c in self.cassettes],
                    "interactions": self.interactions(),
                    "served": self.served(),
                    "repeat": self.repeat,
                },
                wrap=False,
            )
        if action == "reset" and method == "POST":
            self.reset()
            return json_response({"reset": True}, wrap=False)
        return error_response(
            404,
            NO_MATCH_CODE,
            "Replay control routes: GET /__replay/interactions, POST /__replay/reset",
        )


def _missing_auth(interaction: Interaction, headers: dict[str, str]) -> bool:
    recorded = interaction.request.headers
    had = any(name.lower() in _AUTH_HEADERS for name in recorded)
    return had and not any(name.lower() in _AUTH_HEADERS for name in headers)


def _recorded(entry: _Entry) -> Response:
    answer = entry.interaction.response
    headers = [
        (name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
        for name, value in answer.headers
        if name not in _DROPPED_HEADERS
    ]
    label = quote(entry.interaction.label, safe="/ #.-_")
    headers.append((b"x-replay-interaction", label.encode("ascii")))
    content_type = (answer.header("content-type") or "").lower()
    if content_type.startswith("text/event-stream"):
        return Response(answer.status, None, frames=_sse_events(answer.body), headers=headers)
    return Response(answer.status, answer.body, headers=headers)


def _sse_events(body: bytes) -> list[bytes]:
    """``body`` cut after each blank line (an SSE event boundary): joined, it is ``body``."""
    events: list[bytes] = []
    start = 0
    while (end := body.find(b"\n\n", start)) >= 0:
        events.append(body[start : end + 2])
        start = end + 2
    if start < len(body):
        events.append(body[start:])
    return events


def _served_record(key: RequestKey, entry: _Entry | None, reason: str) -> dict[str, Any]:
    record: dict[str, Any] = {"method": key.method, "path": key.path, "time": time.time()}
    if entry is None:
        record.update(status=401 if reason == "auth" else 404, interaction=None)
        record["reason"] = "missing Authorization" if reason == "auth" else reason
    else:
        record.update(
            status=entry.interaction.response.status,
            interaction=entry.interaction.label,
            repeated=reason == "repeat",
        )
    return record


def _describe(entry: _Entry) -> dict[str, Any]:
    interaction = entry.interaction
    return {
        "cassette": interaction.cassette,
        "index": interaction.index,
        "method": entry.key.method,
        "path": entry.key.path,
        "query": dict(entry.key.query),
        "status": interaction.response.status,
        "content_type": interaction.response.header("content-type"),
        "recorded_from": interaction.recorded_from,
        "served": entry.served,
    }


def _cassette_summary(cassette: Cassette) -> dict[str, Any]:
    origins = [i.recorded_from for i in cassette.interactions]
    return {
        "name": cassette.name,
        "interactions": len(origins),
        "recorded_from": {o: origins.count(o) for o in sorted(set(origins))},
    }


# -- ASGI plumbing ---------------------------------------------------------------------------------
async def _send(response: Response, send: Send) -> None:
    headers = list(response.headers)
    if response.frames is None:
        body = response.body or b""
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    for frame in response.frames:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
        await asyncio.sleep(0)
    await send({"type": "http.response.body", "body": b""})


# -- the server ------------------------------------------------------------------------------------
class ReplayServer(ServedApp):
    """A replay server on 127.0.0.1 (answers recorded in cassettes; module docstring).

    Same lifecycle as :class:`~workers_ai.emulator.EmulatorServer`: ``start()`` / ``stop()``
    or ``with``, ``base_url``, ``env()``, ``client_kwargs()``, ``client()``.

    Example:
        >>> with ReplayServer("tests/cassettes") as replay:  # doctest: +SKIP
        ...     client = replay.client()
        ...     replay.served()[-1]["interaction"]

    Args:
        cassettes: A cassette file or folder (searched recursively), or several.
        host: Where to listen; anything but loopback warns (:class:`ReplayExposedWarning`).
        port: The port; 0 picks a free one.
        repeat: Once every matching interaction has answered, answer again with the last
            (``True``) or with a 404 (``False``).
        account_id: The account id :meth:`env` and :meth:`client_kwargs` hand out (any is
            accepted).
        api_token: The token they hand out (any is accepted).

    Raises:
        FileNotFoundError: A source is missing or a folder holds no cassette.
        CassetteFormatError: A file is not a cassette.
    """

    app: ReplayApp
    _what = "the replay server"
    _thread_name = "wai-replay"

    def __init__(
        self,
        cassettes: str | Path | Iterable[str | Path],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        repeat: bool = True,
        account_id: str = REPLAY_ACCOUNT_ID,
        api_token: str = REPLAY_API_TOKEN,
    ) -> None:
        self.app = ReplayApp(load_cassettes(cassettes), repeat=repeat)
        self._init_served(host, port)
        self._account_id = account_id
        self._api_token = api_token
        exposed = replay_exposure_warning(host)
        if exposed is not None:
            warnings.warn(exposed, ReplayExposedWarning, stacklevel=2)

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def api_token(self) -> str:
        return self._api_token

    # -- state ---------------------------------------------------------------------------------
    @property
    def cassettes(self) -> list[Cassette]:
        return self.app.cassettes

    def interactions(self) -> list[dict[str, Any]]:
        """The loaded interactions (``GET /__replay/interactions``'s ``interactions``)."""
        return self.app.interactions()

    def served(self) -> list[dict[str, Any]]:
        """The requests answered so far (``GET /__replay/interactions``'s ``served``)."""
        return self.app.served()

    def reset(self) -> None:
        """Rewind every interaction and empty the log (``POST /__replay/reset``)."""
        self.app.reset()

    def __repr__(self) -> str:
        where = self.root_url if self._sock is not None else "not started"
        return f"ReplayServer({where}, {len(self.app.interactions())} interactions)"
