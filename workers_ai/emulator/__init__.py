"""A local Workers AI emulator: the real HTTP API with deterministic stand-in models.

It serves the routes of Cloudflare's API (``/client/v4/accounts/{id}/ai/run/{model}``, the
OpenAI-compatible ``/ai/v1/*`` routes, model search/schema, the async batch API and the AI
Gateway URL forms) with the same envelope, SSE framing and error codes, so apps and tests run
offline. Its "models" are deterministic stand-ins, **not real models**: answers are built from
the conversation, embeddings are lexical hashes, rerank scores are word overlap.

Start it from Python (``with EmulatorServer() as emulator: ...``), from pytest
(``pytest_plugins = ["workers_ai.emulator.pytest_plugin"]`` gives a ``workers_ai_emulator``
fixture) or from the shell (``python -m workers_ai.emulator --port 8787``). Script what its
models say (``emulator.script(Reply(...))``), read what it received
(``emulator.last_request()``), or replay recorded cassettes instead
(``ReplayServer(dir)``, ``--replay DIR``); guide: ``docs/testing-your-app.md``.

It is a test tool with no real security: one static bearer token (``emulator-token`` by
default) guards the API and the control routes (``/__emulator/stats``, ``/reset``,
``/faults``; ``EmulatorServer.control_headers()`` gives the header, ``open_control=True`` /
``--open-control`` drops it), and it warns (:class:`EmulatorExposedWarning`, or a line on
stderr from the CLI) when asked to listen anywhere but loopback.
"""

from typing import TYPE_CHECKING, Any

from workers_ai.emulator.config import DEFAULT_ACCOUNT_ID, DEFAULT_API_TOKEN, EmulatorConfig
from workers_ai.emulator.faults import FaultSpec
from workers_ai.emulator.replay import ReplayServer
from workers_ai.emulator.server import EmulatorExposedWarning, EmulatorServer

if TYPE_CHECKING:
    from workers_ai.emulator.request_log import RecordedRequest
    from workers_ai.emulator.scripts import Reply, Rule, ToolCall

#: Loaded on first use (they bring the stand-in models).
_LAZY = {
    "RecordedRequest": "workers_ai.emulator.request_log",
    "Reply": "workers_ai.emulator.scripts",
    "Rule": "workers_ai.emulator.scripts",
    "ToolCall": "workers_ai.emulator.scripts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workers_ai.emulator' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_TOKEN",
    "EmulatorConfig",
    "EmulatorExposedWarning",
    "EmulatorServer",
    "FaultSpec",
    "RecordedRequest",
    "ReplayServer",
    "Reply",
    "Rule",
    "ToolCall",
]
