"""A local Workers AI emulator: the real HTTP API with deterministic stand-in models.

It serves the routes of Cloudflare's API (``/client/v4/accounts/{id}/ai/run/{model}``, the
OpenAI-compatible ``/ai/v1/*`` routes, model search/schema, the async batch API and the AI
Gateway URL forms) with the same envelope, SSE framing and error codes, so apps and tests run
offline. Its "models" are deterministic stand-ins, **not real models**: answers are built from
the conversation, embeddings are lexical hashes, rerank scores are word overlap.

Start it from Python (``with EmulatorServer() as emulator: ...``), from pytest
(``pytest_plugins = ["workers_ai.emulator.pytest_plugin"]`` gives a ``workers_ai_emulator``
fixture) or from the shell (``python -m workers_ai.emulator --port 8787``).

It is a test tool with no real security: one static bearer token (``emulator-token`` by
default) guards the API and the control routes (``/__emulator/stats``, ``/reset``,
``/faults``; ``EmulatorServer.control_headers()`` gives the header, ``open_control=True`` /
``--open-control`` drops it), and it warns (:class:`EmulatorExposedWarning`, or a line on
stderr from the CLI) when asked to listen anywhere but loopback.
"""

from workers_ai.emulator.config import DEFAULT_ACCOUNT_ID, DEFAULT_API_TOKEN, EmulatorConfig
from workers_ai.emulator.faults import FaultSpec
from workers_ai.emulator.server import EmulatorExposedWarning, EmulatorServer

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_TOKEN",
    "EmulatorConfig",
    "EmulatorExposedWarning",
    "EmulatorServer",
    "FaultSpec",
]
