"""Cassettes for the recorded ChatWorkersAI suite: vcrpy with pytest-recording's switches.

Three sources, chosen by ``WORKERS_AI_CASSETTES`` and pytest-recording's ``--record-mode``
(``docs/cassettes.md`` has the commands):

- **replay** (default, CI): no emulator, no network. Requests go to Cloudflare's real base URLs
  with account ``cassette-account`` and token ``cassette-token``; vcrpy answers them from
  ``tests/cassettes/langchain/*.yaml.gz`` in record mode ``none``, so a request the cassette does
  not hold raises instead of leaving the machine, and every socket connection is refused
  (pytest-recording's network block) in case anything bypasses vcrpy.
- **emulator**: a private :class:`EmulatorServer` (account ``cassette-account``) answers;
  recorded URLs are rewritten to the real Cloudflare hosts so replay matches them.
- **live**: real Workers AI with ``CLOUDFLARE_ACCOUNT_ID`` / ``CLOUDFLARE_API_TOKEN``.

Whatever the source, what is saved is scrubbed: no ``Authorization`` or ``cf-aig-authorization``
value, no cookies, request and ray ids replaced by a placeholder, the account id replaced by
``cassette-account`` in URLs, bodies and headers, response headers reduced to an allowlist.
After saving, the cassette is read back and deleted again if any secret survived.

Requests match on method, scheme, host, path (account id normalised), query, the JSON body with
tool-call ids ignored, and the ``cf-aig-*`` / ``x-session-affinity`` headers, so any other change
to a payload the builder produces fails replay. The comparisons are
``workers_ai.emulator.cassettes``' (shared with the replay server, ``--replay``); the matchers
here wrap them for vcrpy.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import vcr
from pytest_recording.network import blocking_context
from vcr.cassette import Cassette
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.request import Request
from vcr.serialize import deserialize, serialize
from vcr.serializers import yamlserializer

from tests.support.env import CONNECTION_ENV  # unset in every mode: only the source decides
from workers_ai.emulator import DEFAULT_ACCOUNT_ID, DEFAULT_API_TOKEN, EmulatorServer
from workers_ai.emulator.cassettes import (
    body_mismatch,
    headers_mismatch,
    normalize_json,
    normalized_path,
    parse_body,
    path_mismatch,
)
from workers_ai.settings import DEFAULT_BASE_URL, DEFAULT_GATEWAY_BASE_URL

CASSETTE_DIR = Path(__file__).resolve().parents[2] / "cassettes" / "langchain"
SUFFIX = ".yaml.gz"
MODE_ENV = "WORKERS_AI_CASSETTES"
MODES = ("replay", "emulator", "live")

CASSETTE_ACCOUNT = "cassette-account"
CASSETTE_TOKEN = "cassette-token"  # a placeholder, never a real token
CASSETTE_GATEWAY_TOKEN = "cassette-gateway-token"  # a placeholder
GATEWAY_TOKEN_ENV = "CF_AIG_TOKEN"  # the name ChatWorkersAI.lc_secrets uses
REDACTED = "REDACTED"
REQUEST_ID = "cassette-request-id"

#: Request headers worth keeping (the rest is transport noise); secrets among them redacted.
_KEPT_REQUEST_HEADERS = ("authorization", "content-type", "accept", "x-session-affinity")
_SECRET_REQUEST_HEADERS = ("authorization", "cf-aig-authorization", "cookie")
#: Response headers kept: what the client reads. Id headers keep a placeholder value.
_KEPT_RESPONSE_HEADERS = (
    "content-type",
    "content-encoding",
    "cache-control",
    "retry-after",
    "retry-after-ms",
    "cf-aig-cache-status",
    "cf-aig-step",
    "x-emulator",
)
_ID_RESPONSE_HEADERS = ("cf-ray", "cf-ai-req-id", "x-request-id", "cf-aig-log-id")
#: Account ids as they appear in saved URLs (REST and AI Gateway forms).
ACCOUNT_IN_URL = re.compile(
    r"https://(?:api\.cloudflare\.com/client/v4/accounts|gateway\.ai\.cloudflare\.com/v1)/([^/\s]+)/"
)


# -- gz YAML on disk ------------------------------------------------------------------------------
class GzipYamlPersister:
    """vcrpy persister: the YAML serializer's text, gzip-compressed (``.yaml.gz``).

    ``mtime=0`` and no file name in the header, so re-recording identical traffic gives
    identical bytes.
    """

    @staticmethod
    def load_cassette(cassette_path: str | Path, serializer: ModuleType) -> tuple[list, list]:
        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError(str(path))
        return deserialize(gzip.decompress(path.read_bytes()).decode("utf-8"), serializer)

    @staticmethod
    def save_cassette(
        cassette_path: str | Path, cassette_dict: Mapping[str, Any], serializer: ModuleType
    ) -> None:
        path = Path(cassette_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = serialize(cassette_dict, serializer)
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def read_cassette_text(path: Path) -> str:
    """The YAML inside a ``.yaml.gz`` cassette (for checks and for humans)."""
    return gzip.decompress(path.read_bytes()).decode("utf-8")


# -- matching -------------------------------------------------------------------------------------
# The comparisons live in the package (workers_ai.emulator.cassettes), shared with the replay
# server; these wrap them as vcrpy matchers (which raise AssertionError on a mismatch).
def _body_bytes(request: Request) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return bytes(body.read())
    if not isinstance(body, (bytes, bytearray)):
        return b"".join(body)
    return bytes(body)


def parsed_body(request: Request) -> Any:
    """The request body as normalised JSON, or the raw bytes when it is not JSON."""
    return parse_body(_body_bytes(request))


def json_body(r1: Request, r2: Request) -> None:
    """vcrpy matcher: equal JSON bodies once tool-call ids are ignored."""
    problem = body_mismatch(_body_bytes(r1), _body_bytes(r2))
    if problem:
        raise AssertionError(problem)


def account_path(r1: Request, r2: Request) -> None:
    """vcrpy matcher: equal paths once the account id is replaced by a placeholder."""
    problem = path_mismatch(r1.path, r2.path)
    if problem:
        raise AssertionError(problem)


def pinned_headers(r1: Request, r2: Request) -> None:
    """vcrpy matcher: equal ``cf-aig-*`` (not the gateway token) and session-affinity headers."""
    problem = headers_mismatch(r1.headers, r2.headers)
    if problem:
        raise AssertionError(problem)


MATCHERS: dict[str, Callable[[Request, Request], None]] = {
    "account_path": account_path,
    "json_body": json_body,
    "pinned_headers": pinned_headers,
}
MATCH_ON = ("method", "scheme", "host", "account_path", "query", "json_body", "pinned_headers")


# -- scrubbing ------------------------------------------------------------------------------------
@dataclass
class Scrubber:
    """Makes what is saved look like anonymous Cloudflare traffic.

    Attributes:
        account_id: The account id actually used; replaced by ``cassette-account``.
        secrets: Values that must never reach a cassette (tokens); redacted wherever seen.
        hosts: ``(recorded prefix, saved prefix)`` URL rewrites (emulator -> Cloudflare).
    """

    account_id: str
    secrets: tuple[str, ...] = ()
    hosts: tuple[tuple[str, str], ...] = ()

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        if self.account_id != CASSETTE_ACCOUNT:
            value = value.replace(self.account_id, CASSETTE_ACCOUNT)
        return value

    def _bytes(self, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            try:
                return self.text(bytes(value).decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                return value
        if isinstance(value, str):
            return self.text(value)
        return value

    def request(self, request: Request) -> Request:
        """``before_record_request``: also applied to requests being matched during replay."""
        uri = request.uri
        for recorded, saved in self.hosts:
            if uri.startswith(recorded + "/"):
                uri = saved + uri[len(recorded) :]
        request.uri = self.text(uri)
        request.body = self._bytes(_body_bytes(request)) if request.body is not None else None
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            lower = name.lower()
            if lower in _SECRET_REQUEST_HEADERS:
                headers[lower] = f"Bearer {REDACTED}" if "authorization" in lower else REDACTED
            elif lower in _KEPT_REQUEST_HEADERS or lower.startswith("cf-aig-"):
                headers[lower] = self.text(str(value))
        request.headers = headers
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """``before_record_response``: allowlisted headers, ids replaced, secrets removed."""
        headers: dict[str, list[str]] = {}
        for name, values in response["headers"].items():
            lower = name.lower()
            if lower in _ID_RESPONSE_HEADERS:
                headers[lower] = [REQUEST_ID]
            elif lower in _KEPT_RESPONSE_HEADERS or (
                lower.startswith("cf-aig-") and lower != "cf-aig-authorization"
            ):
                headers[lower] = [self.text(str(v)) for v in values]
        response["headers"] = headers
        body = response.get("body") or {}
        if "string" in body:
            body["string"] = self._bytes(body["string"])
        return response


# -- sources --------------------------------------------------------------------------------------
@dataclass
class Source:
    """Where requests go while a cassette is in use, and how to record them.

    Attributes:
        mode: ``replay``, ``emulator`` or ``live``.
        record_mode: pytest-recording's mode (``none`` when replaying; ``rewrite`` by default
            when recording).
        connection: ``account_id``, ``api_token``, ``base_url`` for ``ChatWorkersAI``.
        gateway_token: The AI Gateway token to send (``None``: the gateway is not
            authenticated).
        scrubber: What to remove before saving.
        forbidden: Strings a saved cassette must not contain.
        emulator: The private emulator (emulator mode only).
    """

    mode: str
    record_mode: str
    connection: dict[str, str]
    gateway_token: str | None
    scrubber: Scrubber
    forbidden: tuple[str, ...] = ()
    emulator: EmulatorServer | None = None

    @property
    def recording(self) -> bool:
        return self.mode != "replay"

    def model_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        """Constructor arguments for ``ChatWorkersAI``: this source's connection, no retries
        (a retried request would be recorded twice)."""
        return {**self.connection, "max_retries": 0, **kwargs}


def choose_mode(record_mode: str, env: Mapping[str, str]) -> tuple[str, str]:
    """``(source mode, record mode)`` from ``WORKERS_AI_CASSETTES`` and ``--record-mode``.

    Either one alone is enough to record: ``--record-mode=rewrite`` alone records from the
    emulator (never the paid API by accident); ``WORKERS_AI_CASSETTES=emulator|live`` alone
    means ``--record-mode=rewrite``.
    """
    mode = (env.get(MODE_ENV) or "").strip().lower() or "replay"
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV}={mode!r}: use one of {', '.join(MODES)}")
    if mode == "replay" and record_mode != "none":
        mode = "emulator"
    if mode != "replay" and record_mode == "none":
        record_mode = "rewrite"
    return mode, record_mode


@contextmanager
def open_source(record_mode: str, env: Mapping[str, str] | None = None) -> Iterator[Source]:
    """The :class:`Source` for this run; starts (and stops) the private emulator if needed."""
    env = os.environ if env is None else env
    mode, record_mode = choose_mode(record_mode, env)
    if mode == "replay":
        yield Source(
            mode,
            "none",
            _connection(CASSETTE_ACCOUNT, CASSETTE_TOKEN, DEFAULT_BASE_URL),
            CASSETTE_GATEWAY_TOKEN,
            Scrubber(CASSETTE_ACCOUNT),
        )
        return
    if mode == "live":
        account = (env.get("CLOUDFLARE_ACCOUNT_ID") or "").strip()
        token = (env.get("CLOUDFLARE_API_TOKEN") or "").strip()
        if not account or not token:
            raise RuntimeError(
                f"{MODE_ENV}=live re-records against real Workers AI and needs "
                "CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"
            )
        gateway_token = (env.get(GATEWAY_TOKEN_ENV) or "").strip() or None
        secrets = (token, gateway_token) if gateway_token else (token,)
        yield Source(
            mode,
            record_mode,
            _connection(account, token, DEFAULT_BASE_URL),
            gateway_token,
            Scrubber(account, secrets=secrets),
            forbidden=(*secrets, account),
        )
        return
    server = EmulatorServer(
        account_id=CASSETTE_ACCOUNT,
        api_token=CASSETTE_TOKEN,
        gateway_token=CASSETTE_GATEWAY_TOKEN,
    )
    with server:
        yield emulator_source(server, record_mode, gateway_token=CASSETTE_GATEWAY_TOKEN)


def emulator_source(
    server: EmulatorServer, record_mode: str, *, gateway_token: str | None = None
) -> Source:
    """Record from ``server``: its URLs become Cloudflare's, its credentials are scrubbed."""
    account, token = server.account_id, server.api_token
    secrets = tuple(s for s in (token, gateway_token) if s)
    local = (DEFAULT_API_TOKEN, DEFAULT_ACCOUNT_ID, server.root_url, server.host)
    own_account = () if account == CASSETTE_ACCOUNT else (account,)
    return Source(
        "emulator",
        record_mode,
        _connection(account, token, server.base_url),
        gateway_token,
        Scrubber(
            account,
            secrets=secrets,
            hosts=(
                (server.base_url, DEFAULT_BASE_URL),
                (server.gateway_base_url, DEFAULT_GATEWAY_BASE_URL),
            ),
        ),
        forbidden=(*secrets, *own_account, *local),
        emulator=server,
    )


def _connection(account_id: str, api_token: str, base_url: str) -> dict[str, str]:
    return {"account_id": account_id, "api_token": api_token, "base_url": base_url}


# -- one cassette ---------------------------------------------------------------------------------
def cassette_name(test_name: str) -> str:
    """``test_tool_turn[async]`` -> ``tool_turn-async`` (safe in shells and on Windows)."""
    name = test_name.removeprefix("test_").replace("[", "-").replace("]", "")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def cassette_path(name: str, directory: Path = CASSETTE_DIR) -> Path:
    return directory / f"{cassette_name(name)}{SUFFIX}"


def make_vcr(source: Source, record_mode: str, directory: Path = CASSETTE_DIR) -> vcr.VCR:
    recorder = vcr.VCR(
        cassette_library_dir=str(directory),
        path_transformer=vcr.VCR.ensure_suffix(SUFFIX),
        record_mode=record_mode,
        match_on=MATCH_ON,
        before_record_request=source.scrubber.request,
        before_record_response=source.scrubber.response,
        decode_compressed_response=True,
        record_on_exception=False,
    )
    recorder.register_persister(GzipYamlPersister)
    for name, matcher in MATCHERS.items():
        recorder.register_matcher(name, matcher)
    return recorder


@dataclass
class Recording:
    """A cassette in use by one test, and how to build models that go through it."""

    source: Source
    path: Path
    cassette: Cassette

    def connection(self, **kwargs: Any) -> dict[str, Any]:
        """Constructor arguments for ``ChatWorkersAI`` (see :meth:`Source.model_kwargs`)."""
        return self.source.model_kwargs(**kwargs)


@contextmanager
def use_cassette(
    name: str,
    source: Source,
    *,
    record_mode: str | None = None,
    directory: Path = CASSETTE_DIR,
) -> Iterator[Cassette]:
    """vcrpy's cassette ``name``; in replay (record mode ``none``) with the network blocked."""
    mode = record_mode or source.record_mode
    path = cassette_path(name, directory)
    if mode == "rewrite":
        path.unlink(missing_ok=True)
        mode = "new_episodes"
    elif mode == "none" and not path.is_file():
        raise FileNotFoundError(
            f"No cassette {path}; record it with {MODE_ENV}=emulator (see docs/cassettes.md)"
        )
    block = blocking_context() if mode == "none" else nullcontext()
    recorder = make_vcr(source, mode, directory)
    with block, recorder.use_cassette(path.name, record_mode=mode) as cassette:
        yield cassette


def check_saved(path: Path, source: Source) -> None:
    """Fail (and delete the file) if a saved cassette still holds a secret or local URL."""
    if not path.is_file():
        raise AssertionError(f"recording {path.name} saved nothing")
    text = read_cassette_text(path)
    leaked = [secret for secret in source.forbidden if secret and secret in text]
    if leaked:
        path.unlink()
        raise AssertionError(
            f"{path.name} contained {len(leaked)} secret or local value(s); it was deleted. "
            "Extend Scrubber before recording again."
        )


def check_all_played(cassette: Cassette) -> None:
    """In replay every recorded interaction must be used: the flow made the same requests."""
    if cassette.play_count != len(cassette):
        raise AssertionError(
            f"the test made {cassette.play_count} of the {len(cassette)} recorded requests; "
            "the flow changed, re-record the cassette (docs/cassettes.md)"
        )


__all__ = [
    "ACCOUNT_IN_URL",
    "CASSETTE_ACCOUNT",
    "CASSETTE_DIR",
    "CASSETTE_TOKEN",
    "CONNECTION_ENV",
    "MATCH_ON",
    "REDACTED",
    "REQUEST_ID",
    "SUFFIX",
    "GzipYamlPersister",
    "Recording",
    "Request",
    "Scrubber",
    "Source",
    "account_path",
    "cassette_name",
    "cassette_path",
    "check_all_played",
    "check_saved",
    "choose_mode",
    "emulator_source",
    "json_body",
    "normalize_json",
    "normalized_path",
    "open_source",
    "parsed_body",
    "pinned_headers",
    "read_cassette_text",
    "use_cassette",
    "yamlserializer",
]
