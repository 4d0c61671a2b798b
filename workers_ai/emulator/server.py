"""Run the emulator: in a background thread (tests, notebooks, demos) or in the foreground (CLI)."""

from __future__ import annotations

import json
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from workers_ai._distribution import install_hint
from workers_ai.emulator.config import EmulatorConfig
from workers_ai.errors import ConfigurationError

if TYPE_CHECKING:  # the clients are imported when asked for, keeping the emulator import light
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient

_MISSING_EXTRA = f"The emulator needs uvicorn, which is not installed: {install_hint('emulator')}"


def require_uvicorn() -> Any:
    """The uvicorn module, or a ``ConfigurationError`` that names the extra to install."""
    try:
        import uvicorn
    except ImportError as exc:  # the installed-wheel stage checks this without the extra
        raise ConfigurationError(_MISSING_EXTRA) from exc
    return uvicorn


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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


class EmulatorServer:
    """A Workers AI emulator on 127.0.0.1 (deterministic stand-in models, not real Workers AI).

    Example:
        >>> from workers_ai.emulator import EmulatorServer
        >>> with EmulatorServer() as emulator:  # doctest: +SKIP
        ...     client = emulator.client()
        ...     client.run("@cf/meta/llama-3.1-8b-instruct", {"prompt": "Hi"})

    Attributes:
        app: The ASGI application (its ``state`` has stats, faults and caches).
    """

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
        self.host = host
        self._requested_port = port
        self._sock: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- addresses -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("the emulator is not started")
        return int(self._sock.getsockname()[1])

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The REST base to give clients (``base_url=`` / ``WORKERS_AI_BASE_URL``)."""
        return f"{self.root_url}/client/v4"

    @property
    def gateway_base_url(self) -> str:
        """The AI Gateway base (``gateway_base_url=``); derived automatically by the client."""
        return f"{self.root_url}/v1"

    @property
    def account_id(self) -> str:
        return self.app.config.account_id

    @property
    def api_token(self) -> str:
        return self.app.config.api_token

    def env(self) -> dict[str, str]:
        """Environment variables that point any client of this package at the emulator."""
        return {
            "CLOUDFLARE_ACCOUNT_ID": self.account_id,
            "CLOUDFLARE_API_TOKEN": self.api_token,
            "WORKERS_AI_BASE_URL": self.base_url,
        }

    def client_kwargs(self) -> dict[str, str]:
        """``account_id``, ``api_token`` and ``base_url`` for a client constructor."""
        return {
            "account_id": self.account_id,
            "api_token": self.api_token,
            "base_url": self.base_url,
        }

    def client(self, **kwargs: Any) -> WorkersAIClient:
        """A :class:`~workers_ai.WorkersAIClient` pointed at this emulator."""
        from workers_ai.client import WorkersAIClient

        return WorkersAIClient(**{**self.client_kwargs(), **kwargs})

    def async_client(self, **kwargs: Any) -> AsyncWorkersAIClient:
        """An :class:`~workers_ai.AsyncWorkersAIClient` pointed at this emulator."""
        from workers_ai.client import AsyncWorkersAIClient

        return AsyncWorkersAIClient(**{**self.client_kwargs(), **kwargs})

    # -- control -------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Requests per route template, model, status and fault since the last reset."""
        return self.app.state.stats()

    def reset(self) -> None:
        """Forget stats, rate-limit windows, gateway cache, batch jobs and fault rules."""
        self.app.state.reset()
        self.app.state.faults.replace([])

    def configure(self, **changes: Any) -> None:
        """Change ``latency_ms``, ``jitter_ms``, ``stream_event_delay_ms``,
        ``rate_limit_per_minute`` or ``faults`` (list of dicts / FaultSpec) while running."""
        faults = changes.pop("faults", None)
        payload: dict[str, Any] = dict(changes)
        if faults is not None:
            payload["faults"] = [
                f if isinstance(f, dict) else {k: v for k, v in vars(f).items() if v is not None}
                for f in faults
            ]
        self.app.apply_runtime_config(json.loads(json.dumps(payload)))

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Start serving in a daemon thread; returns when the port accepts connections."""
        if self._thread is not None:
            return self
        uvicorn = require_uvicorn()
        self.bind()
        config = uvicorn.Config(
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
        self._server = uvicorn.Server(config)
        sock = self._sock
        assert sock is not None
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="wai-emulator"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start; see the log above")
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
        self._thread = self._server = None

    def bind(self) -> None:
        """Reserve the port now (so ``port`` is known before serving)."""
        if self._sock is None:
            self._sock = _bind(self.host, self._requested_port)

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (the CLI)."""
        uvicorn = require_uvicorn()
        self.bind()
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", backlog=2048
        )
        uvicorn.Server(config).run(sockets=[self._sock])

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.root_url if self._sock is not None else "not started"
        return f"EmulatorServer({where})"
