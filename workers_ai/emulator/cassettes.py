"""Cassettes in this project's format, and how a request matches a recorded one.

A cassette is vcrpy's YAML (``version: 1``, a list of ``interactions`` each with a ``request``
and a ``response``), gzip-compressed when the file name ends in ``.gz``; the project's own are in
``tests/cassettes/``. Reading them needs neither vcrpy nor PyYAML (:mod:`.cassette_yaml`).

Matching is the one the project's cassette suite uses (``docs/cassettes.md``), as pure
functions both the suite (through vcrpy matchers) and the replay server call. A request matches
a recorded one when these are equal:

- the method;
- the path, once the account id is replaced by ``{account}`` (``/accounts/{id}/`` in REST
  paths, ``/v1/{id}/{gateway}/workers-ai/`` in AI Gateway paths);
- the query, as vcrpy compares it (sorted pairs, blank values dropped);
- the body: parsed JSON with every ``id`` and ``tool_call_id`` value (anywhere) replaced by
  ``"<id>"`` (the keys must be there; their values may differ between recordings), or the raw
  bytes when the body is not JSON;
- the ``cf-aig-*`` headers (except ``cf-aig-authorization``) and ``x-session-affinity``.

Scheme and host are the suite's business (it also pins them); a replay server answers on its
own address, so it compares the rest.

Where a cassette was recorded: the only mark the format carries is the emulator's own response
header ``x-emulator`` (``stand-in models, not real Workers AI``), which the recording keeps.
:attr:`Interaction.recorded_from` reports ``"emulator"`` when it is there and ``"unmarked"``
otherwise: nothing in a cassette proves an answer came from real Workers AI.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from workers_ai.emulator.cassette_yaml import CassetteFormatError, load

__all__ = [
    "CASSETTE_SUFFIXES",
    "EMULATOR_MARK",
    "IGNORED_BODY_KEYS",
    "Cassette",
    "CassetteFormatError",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "RequestKey",
    "body_mismatch",
    "closeness",
    "first_difference",
    "headers_mismatch",
    "load_cassette",
    "load_cassettes",
    "matches",
    "mismatches",
    "normalize_json",
    "normalized_path",
    "parse_body",
    "path_mismatch",
    "pinned_headers",
    "query_items",
    "request_key",
    "short",
]

#: File names read as cassettes (``.gz``: gzip-compressed).
CASSETTE_SUFFIXES = (".yaml", ".yml", ".yaml.gz", ".yml.gz")
#: Body keys whose values differ between recordings of the same flow (tool-call ids).
IGNORED_BODY_KEYS = frozenset({"id", "tool_call_id"})
#: The response header the emulator sets on every answer (kept by the recording scrubber).
EMULATOR_MARK = "x-emulator"
_ID_PLACEHOLDER = "<id>"
_ACCOUNT_PATHS = (
    re.compile(r"^(.*/accounts/)[^/]+(/|$)"),  # REST: /client/v4/accounts/{id}/ai/...
    re.compile(r"^(/v1/)[^/]+(/[^/]+/workers-ai/)"),  # AI Gateway: /v1/{id}/{gateway}/...
)


# -- the parts compared ---------------------------------------------------------------------------
def normalize_json(value: Any) -> Any:
    """``value`` with each ``id`` / ``tool_call_id`` value replaced by ``"<id>"`` (key kept)."""
    if isinstance(value, dict):
        return {
            k: _ID_PLACEHOLDER if k in IGNORED_BODY_KEYS else normalize_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalize_json(v) for v in value]
    return value


def parse_body(raw: bytes | str | None) -> Any:
    """A request body as normalised JSON, or the raw bytes when it is not JSON."""
    data = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
    try:
        return normalize_json(json.loads(data))
    except ValueError:
        return data


def normalized_path(path: str) -> str:
    """``path`` with the account id replaced by ``{account}`` (REST and AI Gateway forms)."""
    for pattern in _ACCOUNT_PATHS:
        path = pattern.sub(r"\1{account}\2", path, count=1)
    return path


def query_items(query: str) -> list[tuple[str, str]]:
    """The query string as vcrpy compares it: sorted pairs, blank values dropped."""
    return sorted(parse_qsl(query))


def pinned_headers(headers: Mapping[str, str | Sequence[str]]) -> dict[str, str]:
    """The headers that must match: ``cf-aig-*`` (not the gateway token) and
    ``x-session-affinity``, names lower-cased; a list of values counts by its first, as in
    vcrpy."""
    pinned: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if (
            lower.startswith("cf-aig-") or lower == "x-session-affinity"
        ) and lower != "cf-aig-authorization":
            pinned[lower] = value if isinstance(value, str) else str(value[0]) if value else ""
    return pinned


def short(value: Any, limit: int = 600) -> str:
    """``value`` as compact JSON (bytes as ``repr``), cut at ``limit`` characters."""
    text = repr(value) if isinstance(value, bytes) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def body_mismatch(now: bytes | str | None, recorded: bytes | str | None) -> str | None:
    """Why two request bodies do not match (``None``: they match); the suite's message."""
    b1, b2 = parse_body(now), parse_body(recorded)
    if b1 == b2:
        return None
    return f"request bodies differ:\n  now:      {short(b1)}\n  recorded: {short(b2)}"


def path_mismatch(now: str, recorded: str) -> str | None:
    """Why two paths do not match once the account id is ignored (``None``: they match)."""
    p1, p2 = normalized_path(now), normalized_path(recorded)
    return None if p1 == p2 else f"{p1} != {p2}"


def headers_mismatch(
    now: Mapping[str, str | Sequence[str]], recorded: Mapping[str, str | Sequence[str]]
) -> str | None:
    """Why the pinned headers differ (``None``: they match)."""
    h1, h2 = pinned_headers(now), pinned_headers(recorded)
    return None if h1 == h2 else f"{h1} != {h2}"


# -- whole requests -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RequestKey:
    """What matching compares, computed once per request.

    Attributes:
        method: Upper-case HTTP method.
        path: The path with the account id replaced by ``{account}``.
        query: Sorted query pairs (blank values dropped).
        headers: The pinned headers (:func:`pinned_headers`).
        body: Normalised JSON, or the raw bytes.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: Any

    def describe(self) -> str:
        """``POST /client/v4/accounts/{account}/ai/run/@cf/...`` (query included)."""
        query = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


def request_key(
    method: str,
    path: str,
    query: str = "",
    headers: Mapping[str, str | Sequence[str]] | None = None,
    body: bytes | str | None = None,
) -> RequestKey:
    """The :class:`RequestKey` of a request as sent (``path`` not percent-decoded)."""
    return RequestKey(
        method.upper(),
        normalized_path(path),
        tuple(query_items(query)),
        tuple(sorted(pinned_headers(headers or {}).items())),
        parse_body(body),
    )


def matches(now: RequestKey, recorded: RequestKey) -> bool:
    """Whether ``now`` matches ``recorded`` (:func:`mismatches` is empty), without explaining."""
    return (
        now.method == recorded.method
        and now.path == recorded.path
        and now.query == recorded.query
        and now.headers == recorded.headers
        and now.body == recorded.body
    )


def mismatches(now: RequestKey, recorded: RequestKey) -> list[str]:
    """Why ``now`` does not match ``recorded``, part by part (empty: it matches)."""
    reasons: list[str] = []
    if now.method != recorded.method:
        reasons.append(f"method {now.method} here, {recorded.method} recorded")
    if now.path != recorded.path:
        reasons.append(f"path {now.path} here, {recorded.path} recorded")
    if now.query != recorded.query:
        reasons.append(f"query {list(now.query)} here, {list(recorded.query)} recorded")
    if now.headers != recorded.headers:
        reasons.append(f"headers {dict(now.headers)} here, {dict(recorded.headers)} recorded")
    if now.body != recorded.body:
        reasons.append(f"body {first_difference(now.body, recorded.body)}")
    return reasons


def closeness(now: RequestKey, recorded: RequestKey) -> tuple[int, ...]:
    """A sort key: greater is closer (method, path, query, headers equal, then fewer body
    differences)."""
    return (
        int(now.method == recorded.method),
        int(now.path == recorded.path),
        int(now.query == recorded.query),
        int(now.headers == recorded.headers),
        -_count_differences(now.body, recorded.body),
    )


def first_difference(now: Any, recorded: Any, where: str = "") -> str | None:
    """The first place two (normalised) bodies differ, e.g. ``at temperature: 0.3 here, 0.2
    recorded``; ``None`` when equal. Keys are visited in the recorded order, then new ones."""
    if now == recorded:
        return None
    label = f"at {where}" if where else "at the top level"
    if isinstance(now, dict) and isinstance(recorded, dict):
        for key, value in recorded.items():
            inner = f"{where}.{key}" if where else str(key)
            if key not in now:
                return f"at {inner}: missing here, {short(value, 120)} recorded"
            found = first_difference(now[key], value, inner)
            if found:
                return found
        extra = next(k for k in now if k not in recorded)
        inner = f"{where}.{extra}" if where else str(extra)
        return f"at {inner}: {short(now[extra], 120)} here, not recorded"
    if isinstance(now, list) and isinstance(recorded, list):
        for index, (a, b) in enumerate(zip(now, recorded, strict=False)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        return f"{label}: {len(now)} items here, {len(recorded)} recorded"
    return f"{label}: {short(now, 120)} here, {short(recorded, 120)} recorded"


def _count_differences(now: Any, recorded: Any) -> int:
    if now == recorded:
        return 0
    if isinstance(now, dict) and isinstance(recorded, dict):
        keys = set(now) | set(recorded)
        return sum(
            _count_differences(now[k], recorded[k]) if k in now and k in recorded else 1
            for k in keys
        )
    if isinstance(now, list) and isinstance(recorded, list):
        paired = sum(_count_differences(a, b) for a, b in zip(now, recorded, strict=False))
        return paired + abs(len(now) - len(recorded))
    return 1


# -- cassettes on disk ----------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordedRequest:
    """A request as the cassette holds it (the account id is the recording's placeholder)."""

    method: str
    uri: str
    headers: dict[str, list[str]]
    body: bytes | None

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> str:
        return urlsplit(self.uri).query

    def key(self) -> RequestKey:
        """Its :class:`RequestKey`, the path percent-decoded (as a server receives paths)."""
        return request_key(self.method, unquote(self.path), self.query, self.headers, self.body)


@dataclass(frozen=True)
class RecordedResponse:
    """A response as recorded: status, headers (lower-case names, in order), body bytes."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its answer.

    Attributes:
        cassette: The cassette's name (its path relative to the folder it was loaded from).
        index: Its position in the cassette (0-based).
    """

    cassette: str
    index: int
    request: RecordedRequest
    response: RecordedResponse

    @property
    def recorded_from(self) -> str:
        """``"emulator"`` when the answer carries the emulator's ``x-emulator`` header,
        otherwise ``"unmarked"`` (the format says nothing more about where it came from)."""
        return "emulator" if self.response.header(EMULATOR_MARK) is not None else "unmarked"

    @property
    def label(self) -> str:
        return f"{self.cassette} #{self.index}"


@dataclass(frozen=True)
class Cassette:
    """A loaded cassette: its file and its interactions in recorded order."""

    name: str
    path: Path
    interactions: tuple[Interaction, ...]


def load_cassette(path: str | Path, name: str | None = None) -> Cassette:
    """Read one cassette (``.yaml``/``.yml``, gzip-compressed when the name ends in ``.gz``).

    Raises:
        CassetteFormatError: The file is not a vcrpy cassette (format version 1).
    """
    file = Path(path)
    raw = file.read_bytes()
    if file.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    label = name or file.name
    try:
        data = load(raw.decode("utf-8"))
    except CassetteFormatError as exc:
        raise CassetteFormatError(f"{label}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise CassetteFormatError(f"{label}: not a vcrpy cassette (format version 1)")
    interactions = data.get("interactions") or []
    return Cassette(
        label,
        file,
        tuple(_interaction(label, i, item) for i, item in enumerate(interactions)),
    )


def load_cassettes(sources: str | Path | Iterable[str | Path]) -> list[Cassette]:
    """The cassettes in ``sources``: files, or folders searched recursively for
    :data:`CASSETTE_SUFFIXES`, each folder's files in name order.

    Raises:
        FileNotFoundError: A source does not exist, or a folder holds no cassette.
        CassetteFormatError: A file is not a cassette.
    """
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    cassettes: list[Cassette] = []
    for item in items:
        source = Path(item)
        if source.is_dir():
            files = sorted(
                p for p in source.rglob("*") if p.is_file() and p.name.endswith(CASSETTE_SUFFIXES)
            )
            if not files:
                raise FileNotFoundError(f"no cassette ({', '.join(CASSETTE_SUFFIXES)}) in {source}")
            cassettes += [load_cassette(p, p.relative_to(source).as_posix()) for p in files]
        elif source.is_file():
            cassettes.append(load_cassette(source))
        else:
            raise FileNotFoundError(f"no such cassette or folder: {source}")
    return cassettes


def _interaction(cassette: str, index: int, item: Any) -> Interaction:
    where = f"{cassette} #{index}"
    try:
        request, response = item["request"], item["response"]
        recorded = RecordedRequest(
            str(request["method"]).upper(),
            str(request["uri"]),
            _header_lists(request.get("headers") or {}),
            _bytes(request.get("body")),
        )
        status = response.get("status") or {}
        body = response.get("body") or {}
        answer = RecordedResponse(
            int(status.get("code", 200)),
            str(status.get("message") or ""),
            [
                (name.lower(), value)
                for name, values in (response.get("headers") or {}).items()
                for value in _header_lists({name: values})[name]
            ],
            _bytes(body.get("string") if isinstance(body, dict) else body) or b"",
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CassetteFormatError(f"{where}: not a vcrpy interaction ({exc!r})") from None
    return Interaction(cassette, index, recorded, answer)


def _header_lists(headers: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        str(name): [str(v) for v in values] if isinstance(values, list) else [str(values)]
        for name, values in headers.items()
    }


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"a body must be text or bytes, not {type(value).__name__}")
