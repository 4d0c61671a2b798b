"""Run the emulator: in a background thread (tests, notebooks, demos) or in the foreground (CLI)."""

from __future__ import annotations

import abc
import ipaddress
import json
import socket
import threading
import time
import warnings
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from workers_ai._distribution import install_hint
from workers_ai.emulator.config import DEFAULT_API_TOKEN, EmulatorConfig
from workers_ai.errors import ConfigurationError
from workers_ai.settings import ACCOUNT_ID_ENV_VARS, API_TOKEN_ENV_VARS, BASE_URL_ENV_VAR

if TYPE_CHECKING:  # the clients are imported when asked for, keeping the emulator import light
    from typing_extensions import Self

    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
    from workers_ai.emulator.app import EmulatorApp
    from workers_ai.emulator.request_log import RecordedRequest
    from workers_ai.emulator.scripts import Matcher, Reply, Rule, ScriptBook

__all__ = [
    "EmulatorExposedWarning",
    "EmulatorServer",
    "ServedApp",
    "exposure_warning",
    "is_loopback",
    "require_uvicorn",
]

_MISSING_EXTRA = f"The emulator needs uvicorn, which is not installed: {install_hint('emulator')}"


def require_uvicorn() -> Any:
    """The uvicorn module, or a ``ConfigurationError`` that names the extra to install."""
    try:
        import uvicorn
    except ImportError as exc:  # the installed-wheel stage checks this without the extra
        raise ConfigurationError(_MISSING_EXTRA) from exc
    return uvicorn


class EmulatorExposedWarning(UserWarning):
    """The emulator listens where other machines can reach it (see :func:`exposure_warning`)."""


def is_loopback(host: str) -> bool:
    """``host`` is reachable only from this machine: ``localhost``, ``127.0.0.0/8``, ``::1``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name, or "" (every interface): reachable, as far as we know
        return False


def exposure_warning(host: str, config: EmulatorConfig) -> str | None:
    """What to tell someone who serves the emulator on ``host``; ``None`` on loopback."""
    if is_loopback(host):
        return None
    token = (
        f"the fixed, published token {DEFAULT_API_TOKEN!r}"
        if config.api_token == DEFAULT_API_TOKEN
        else "one static token"
    )
    control = (
        "its control routes (/__emulator/*, which change its behaviour) need no token at all "
        "(open_control)"
        if config.open_control
        else "the same token opens its control routes (/__emulator/*, which change its behaviour)"
    )
    return (
        f"The Workers AI emulator listens on {host or 'every interface'} and is reachable from "
        f"the network, but it has no real security: {token} is all its API checks, {control}, "
        "and it answers with stand-in models. Bind to 127.0.0.1 unless other machines must "
        "reach it, and then only on a trusted network."
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({exc.strerror}); pick another --port or use 0"
        ) from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class ServedApp(abc.ABC):
    """What :class:`EmulatorServer` and the replay server share: a loopback port, the URLs and
    environment that point clients at it, and a uvicorn server in a daemon thread.

    Subclasses set ``app`` (an ASGI app), ``host``, and ``account_id`` / ``api_token``.
    """

    app: Any
    host: str
    #: Names the server in messages and its thread.
    _what = "the emulator"
    _thread_name = "wai-emulator"

    def _init_served(self, host: str, port: int) -> None:
        self.host = host
        self._requested_port = port
        self._sock: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    @abc.abstractmethod
    def account_id(self) -> str:
        """The account id clients are given."""

    @property
    @abc.abstractmethod
    def api_token(self) -> str:
        """The token clients are given."""

    # -- addresses -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError(f"{self._what} is not started")
        return int(self._sock.getsockname()[1])

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The REST base to give clients (``base_url=`` / ``WORKERS_AI_BASE_URL``)."""
        return f"{self.root_url}/client/v4"

    @property
    def gateway_base_url(self) -> str:
        """The AI Gateway base (``gateway_base_url=``); derived automatically by the client."""
        return f"{self.root_url}/v1"

    def env(self) -> dict[str, str]:
        """Environment variables that point any client of this package at this server."""
        return {
            ACCOUNT_ID_ENV_VARS[0]: self.account_id,
            API_TOKEN_ENV_VARS[0]: self.api_token,
            BASE_URL_ENV_VAR: self.base_url,
        }

    def client_kwargs(self) -> dict[str, str]:
        """``account_id``, ``api_token`` and ``base_url`` for a client constructor."""
        return {
            "account_id": self.account_id,
            "api_token": self.api_token,
            "base_url": self.base_url,
        }

    def client(self, **kwargs: Any) -> WorkersAIClient:
        """A :class:`~workers_ai.WorkersAIClient` pointed at this server."""
        from workers_ai.client import WorkersAIClient

        return WorkersAIClient(**{**self.client_kwargs(), **kwargs})

    def async_client(self, **kwargs: Any) -> AsyncWorkersAIClient:
        """An :class:`~workers_ai.AsyncWorkersAIClient` pointed at this server."""
        from workers_ai.client import AsyncWorkersAIClient

        return AsyncWorkersAIClient(**{**self.client_kwargs(), **kwargs})

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> Self:
        """Start serving in a daemon thread; returns when the port accepts connections."""
        if self._thread is not None:
            return self
        uvicorn = require_uvicorn()
        self.bind()
        self._server = uvicorn.Server(self._uvicorn_config(uvicorn))
        sock = self._sock
        assert sock is not None
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=self._thread_name
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self._what} did not start; see the log above")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._thread = self._server = None

    def bind(self) -> None:
        """Reserve the port now (so ``port`` is known before serving)."""
        if self._sock is None:
            self._sock = _bind(self.host, self._requested_port)

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (the CLI)."""
        uvicorn = require_uvicorn()
        self.bind()
        uvicorn.Server(self._uvicorn_config(uvicorn)).run(sockets=[self._sock])

    def _uvicorn_config(self, uvicorn: Any) -> Any:
        return uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=1,
            backlog=2048,
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmulatorServer(ServedApp):
    """A Workers AI emulator on 127.0.0.1 (deterministic stand-in models, not real Workers AI).

    Any other ``host`` than a loopback address (``127.0.0.1``, ``::1``, ``localhost``) makes it
    reachable from the network and emits an :class:`EmulatorExposedWarning` (it has no real
    security). The control routes (``/__emulator/*``) need the API token, like the API
    (:meth:`control_headers`); :meth:`stats`, :meth:`reset` and :meth:`configure` act in
    process and need nothing.

    Example:
        >>> from workers_ai.emulator import EmulatorServer
        >>> with EmulatorServer() as emulator:  # doctest: +SKIP
        ...     client = emulator.client()
        ...     client.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hi"})

    Attributes:
        app: The ASGI application (its ``state`` has stats, faults and caches).
    """

    app: EmulatorApp

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **config_fields: Any,
    ) -> None:
        if config is not None and config_fields:
            raise ConfigurationError("pass either config= or config fields, not both")
        from workers_ai.emulator.app import EmulatorApp  # the model side loads on first use

        self.app = EmulatorApp(config or EmulatorConfig(**config_fields))
        self._init_served(host, port)
        exposed = exposure_warning(host, self.app.config)
        if exposed is not None:
            warnings.warn(exposed, EmulatorExposedWarning, stacklevel=2)

    @property
    def account_id(self) -> str:
        return self.app.config.account_id

    @property
    def api_token(self) -> str:
        return self.app.config.api_token

    # -- control -------------------------------------------------------------------------------
    def control_headers(self) -> dict[str, str]:
        """The ``Authorization`` header the control routes (``/__emulator/*``) need over HTTP.

        Example: ``httpx.get(f"{emulator.root_url}/__emulator/stats",
        headers=emulator.control_headers())``. In process, :meth:`stats` is simpler.
        """
        return {"Authorization": f"Bearer {self.api_token}"}

    def stats(self) -> dict[str, Any]:
        """Requests per route template, model, status and fault since the last reset.

        Same as ``GET /__emulator/stats``: ``by_status["reset"]`` counts connections dropped
        by a ``reset`` or ``reset_mid_body`` fault (see ``EmulatorState.stats``).
        """
        return self.app.state.stats()

    def gateway_logs(self, gateway: str = "default") -> list[dict[str, Any]]:
        """The AI Gateway logs of ``gateway``, oldest first, with the feedback, score and
        metadata given by ``PATCH .../logs/{id}`` (copies; in process, no token needed).

        Example: ``emulator.gateway_logs("my-gw")[-1]["feedback"]`` after a client sent
        feedback for its last request.
        """
        return self.app.state.gateway_logs.entries(gateway)

    # -- scripted replies (workers_ai.emulator.scripts) ---------------------------------------
    @property
    def scripts(self) -> ScriptBook:
        """The scripted rules: ``.rules()``, ``.clear()``, ``.strict = True`` (an unmatched
        chat request then fails with a 400 listing the rules)."""
        return self.app.state.scripts

    def script(
        self,
        reply: Reply | str,
        *,
        model: str | None = None,
        route: str | None = None,
        last_user: Matcher | None = None,
        any_message: Matcher | None = None,
        times: int | None = 1,
    ) -> Rule:
        """Make the next matching request get ``reply`` (a :class:`Reply`, or a string: its
        text). Conditions: ``model``, ``route`` (``run``, ``chat/completions``, ``responses``,
        ``messages``, ``embeddings``, ``universal``), ``last_user`` / ``any_message`` (a
        substring, a compiled regex or a predicate on the message text); ``times`` requests
        (``None``: all). Rules are tried in the order they were added.

        Example:
            >>> emulator.script(Reply(tool_calls=[ToolCall("refund_order", {"id": 17})]),
            ...                 last_user="refund")  # doctest: +SKIP
        """
        from workers_ai.emulator.scripts import Reply, Rule

        answer = Reply(text=reply) if isinstance(reply, str) else reply
        rule = Rule(answer, model, route, last_user, any_message, times)
        return self.app.state.scripts.add(rule)

    # -- the request log (workers_ai.emulator.request_log) -----------------------------------
    def requests(
        self, *, model: str | None = None, route: str | None = None
    ) -> list[RecordedRequest]:
        """The API requests received since the last reset, oldest first (credentials
        masked), optionally only those for ``model`` and/or ``route`` (a route name such as
        ``run`` or ``chat/completions``, or a template such as ``POST /ai/run/{model}``)."""
        return [
            entry
            for entry in self.app.state.requests.entries()
            if (model is None or entry.model == model)
            and (route is None or route in (entry.route_name, entry.route))
        ]

    def last_request(
        self, *, model: str | None = None, route: str | None = None
    ) -> RecordedRequest:
        """The latest request (for ``model`` / ``route``); its ``messages``, ``tools``,
        ``params``, ``headers`` and ``body`` are what the client sent.

        Raises:
            LookupError: None received (the message says what was).
        """
        found = self.requests(model=model, route=route)
        if not found:
            seen = sorted({(e.route_name, e.model or "-") for e in self.requests()})
            raise LookupError(
                f"the emulator received no request for model={model!r} route={route!r}; "
                f"it received: {seen or 'nothing'}"
            )
        return found[-1]

    def request_count(self, *, model: str | None = None, route: str | None = None) -> int:
        """How many requests were received (for ``model`` / ``route``)."""
        return len(self.requests(model=model, route=route))

    # -- Vectorize (workers_ai.emulator.vectorize) ---------------------------------------------
    def vectorize_indexes(self) -> list[str]:
        """The names of the Vectorize indexes that exist, oldest first (in process, no token;
        :meth:`reset` deletes them all).

        Example: ``assert emulator.vectorize_indexes() == ["docs"]`` after an app created its
        index; a test wanting eventual consistency uses
        ``emulator.configure(vectorize_mutation_lag_ms=200)``.
        """
        return self.app.state.vectorize.names()

    # -- AI Search (workers_ai.emulator.ai_search) ---------------------------------------------
    def add_ai_search_instance(
        self,
        name: str,
        files: Mapping[str, str | Mapping[str, Any]],
        *,
        namespace: str = "default",
        model: str | None = None,
    ) -> None:
        """Serve an AI Search instance (and, in namespace ``default``, the legacy AutoRAG of
        that name) until :meth:`reset`; instances given in
        ``EmulatorConfig.ai_search_instances`` stay across resets.

        Args:
            name: The instance name (the legacy rag id).
            files: Path -> text, or -> ``{"text", "metadata"?: {...}, "timestamp"?: ms}``.
            namespace: Its namespace.
            model: Its generation model (default ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``).

        Raises:
            ValueError: naming the file and field to change.

        Example:
            >>> emulator.add_ai_search_instance(  # doctest: +SKIP
            ...     "docs", {"llama/care.md": "Llamas can carry 3 drinks max."})
        """
        from workers_ai.emulator.ai_search_corpus import parse_instance

        spec: dict[str, Any] = {"files": files, "namespace": namespace}
        if model is not None:
            spec["model"] = model
        self.app.state.ai_search.add(parse_instance(name, spec))

    def ai_search_instances(self) -> list[str]:
        """``namespace/name`` of every AI Search instance served, sorted (in process)."""
        return self.app.state.ai_search.names()

    def reset(self) -> None:
        """Forget stats, rate-limit windows, gateway cache and logs, batch jobs, fault rules,
        scripted replies, the request log, the Vectorize indexes and the AI Search instances
        added at run time (configured ones stay)."""
        self.app.state.reset()
        self.app.state.faults.replace([])

    def configure(self, **changes: Any) -> None:
        """Change settings while running: ``latency_ms``, ``jitter_ms``,
        ``stream_event_delay_ms``, ``rate_limit_per_minute``, the batch route's
        (``batch_delay_s``, ``batch_pending_polls``, ``batch_result_shape``, ``batch_shuffle``,
        ``batch_failed_items``, ``batch_failure_rate``: :class:`EmulatorConfig`),
        ``vectorize_mutation_lag_ms``, or ``faults`` (list of dicts / FaultSpec). A bad value
        raises and changes nothing."""
        faults = changes.pop("faults", None)
        payload: dict[str, Any] = dict(changes)
        if faults is not None:
            payload["faults"] = [
                f if isinstance(f, dict) else {k: v for k, v in vars(f).items() if v is not None}
                for f in faults
            ]
        self.app.apply_runtime_config(json.loads(json.dumps(payload)))

    def __repr__(self) -> str:
        where = self.root_url if self._sock is not None else "not started"
        return f"EmulatorServer({where})"
