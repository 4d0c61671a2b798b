"""Scripted replies: make the emulator's models say what a test needs (issue #19).

A :class:`Rule` matches requests -- on the model, the route, the last user message or any
message (a substring, a regex, or in process a predicate) -- and answers with a
:class:`Reply`: text, tool calls, reasoning, a JSON object, a stream in given chunks, usage
figures, or a Cloudflare error / an emulator fault. Rules are tried in the order they were
added; a rule answers ``times`` requests (``1`` by default, ``None``: every one) and is then
spent. Unmatched requests fall through to the stand-in models, or, in strict mode, fail with
a 400 that lists the rules.

A content reply becomes the same intermediate answer the stand-ins produce
(:class:`~workers_ai.emulator.standins.Generation`), so it is rendered in the model family's
real wire shape by the same code -- Workers AI's classic and chat-completion shapes, the
OpenAI-compatible route, the gateway's OpenAI, Responses and Anthropic shapes, streamed or
not -- and a scripted test still exercises the client's real parsing. Errors and faults are
answered before the model runs, as an injected fault is.

Example:
    >>> from workers_ai.emulator import EmulatorServer
    >>> from workers_ai.emulator.scripts import Reply, ToolCall
    >>> with EmulatorServer() as emulator:  # doctest: +SKIP
    ...     emulator.script(
    ...         Reply(tool_calls=[ToolCall("refund_order", {"order_id": "A-17"})]),
    ...         last_user="refund",
    ...     )
    ...     emulator.script(Reply(text="Sorry about that -- your refund is on its way."))
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from workers_ai.emulator.facts import ModelFacts
from workers_ai.emulator.faults import FAULT_KINDS, FaultSpec
from workers_ai.emulator.standins import (
    Generation,
    content_to_text,
    count_prompt_tokens,
    count_tokens,
    generate_chat,
    json_schema_from_body,
    seed_for,
)
from workers_ai.emulator.validation import EmulatorError

__all__ = [
    "ROUTES",
    "Matcher",
    "Reply",
    "Rule",
    "ScriptBook",
    "ScriptError",
    "ScriptedGeneration",
    "ToolCall",
    "generate",
    "route_name",
]

#: Route names a rule can match: Workers AI's ``/ai/run``, the OpenAI-shaped and Anthropic
#: routes (REST ``/ai/v1/*``, the gateway's compat and provider-native paths), the universal
#: endpoint, embeddings.
ROUTES = ("run", "chat/completions", "responses", "messages", "embeddings", "universal")

#: A message matcher: a substring (case-insensitive), a compiled regex, or (in process) a
#: predicate on the message's text.
Matcher = str | re.Pattern[str] | Callable[[str], bool]


class ScriptError(ValueError):
    """A rule or reply that cannot be used (raised when it is added, naming what to fix)."""


@dataclass(frozen=True)
class ToolCall:
    """A tool call a scripted reply makes: the tool's name and its arguments."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What a matched request gets.

    Content (any combination; rendered in the model family's wire shape):

    Attributes:
        text: The answer text.
        tool_calls: Tool calls, in order (``ToolCall`` or ``{"name", "arguments"}``).
        reasoning: Chain of thought (for any model; rendered where the family has a place).
        json: A JSON value answered as the text (and as the parsed object in JSON mode).
        chunks: The streamed text in these pieces, in every stream shape (joined, they are
            the text; a ``stop`` sequence that cuts the text falls back to per-token pieces).
        usage: ``prompt_tokens``, ``completion_tokens`` and/or ``cached_tokens`` to report
            instead of the counted ones.
        finish_reason: Instead of ``stop`` / ``tool_calls``.

    Or a failure (alone):

    Attributes:
        error: ``{"status": 429, "code": 3040, "message": "..."}``: a Cloudflare error envelope.
        fault: An emulator fault kind (``capacity``, ``server_error``, ``stream_cut``...), as
            ``x-emulator-fault`` would inject it.
    """

    text: str | None = None
    tool_calls: Sequence[ToolCall | Mapping[str, Any]] = ()
    reasoning: str | None = None
    json: Any = None
    chunks: Sequence[str] | None = None
    usage: Mapping[str, int] | None = None
    finish_reason: str | None = None
    error: Mapping[str, Any] | None = None
    fault: str | None = None

    def __post_init__(self) -> None:
        calls = tuple(_tool_call(c) for c in self.tool_calls)
        object.__setattr__(self, "tool_calls", calls)
        if self.chunks is not None:
            chunks = tuple(self.chunks)
            if not chunks or not all(isinstance(c, str) for c in chunks):
                raise ScriptError("chunks: give a non-empty list of strings")
            if self.text is not None and "".join(chunks) != self.text:
                raise ScriptError("chunks must join to text (or leave text out)")
            object.__setattr__(self, "chunks", chunks)
            if self.text is None:
                object.__setattr__(self, "text", "".join(chunks))
        failure = self.error is not None or self.fault is not None
        content = (
            self.text is not None or calls or self.reasoning is not None or self.json is not None
        )
        if failure and content:
            raise ScriptError("a reply is either content or an error/fault, not both")
        if not failure and not content:
            raise ScriptError("a reply needs text, tool_calls, reasoning, json, error or fault")
        if self.error is not None and self.fault is not None:
            raise ScriptError("give error or fault, not both")
        if self.error is not None:
            _check_error(self.error)
        if self.fault is not None and self.fault not in FAULT_KINDS:
            raise ScriptError(f"fault {self.fault!r}: use one of {', '.join(sorted(FAULT_KINDS))}")
        for key, value in (self.usage or {}).items():
            if key not in ("prompt_tokens", "completion_tokens", "cached_tokens"):
                raise ScriptError(
                    f"usage: unknown key {key!r}; use prompt_tokens, completion_tokens, "
                    "cached_tokens"
                )
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ScriptError(f"usage[{key!r}] must be a whole number >= 0")
        if self.json is not None and self.text is not None and _loads(self.text) != self.json:
            raise ScriptError("text and json disagree: give one of them")
        if self.json is not None:
            try:
                json.dumps(self.json)
            except (TypeError, ValueError) as exc:
                raise ScriptError(f"json: not JSON-serialisable ({exc})") from None

    @property
    def is_failure(self) -> bool:
        return self.error is not None or self.fault is not None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Reply:
        """A reply from JSON (the control route)."""
        if not isinstance(data, Mapping):
            raise ScriptError(f"a reply is an object, not {data!r}")
        allowed = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - allowed
        if unknown:
            raise ScriptError(f"unknown reply fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        return cls(**dict(data))

    def describe(self) -> dict[str, Any]:
        """The reply as JSON."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None or value == ():
                continue
            if name == "tool_calls":
                value = [{"name": c.name, "arguments": dict(c.arguments)} for c in value]
            elif name == "chunks":
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[name] = value
        return out


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _tool_call(value: ToolCall | Mapping[str, Any]) -> ToolCall:
    if isinstance(value, ToolCall):
        call = value
    elif isinstance(value, Mapping) and set(value) <= {"name", "arguments"} and "name" in value:
        call = ToolCall(value["name"], value.get("arguments") or {})
    else:
        raise ScriptError(f"a tool call is ToolCall(name, arguments) or a dict, not {value!r}")
    if not isinstance(call.name, str) or not call.name:
        raise ScriptError("a tool call needs a name")
    if not isinstance(call.arguments, Mapping):
        raise ScriptError(f"tool call {call.name!r}: arguments must be an object")
    return call


def _check_error(error: Mapping[str, Any]) -> None:
    if not isinstance(error, Mapping) or not set(error) <= {"status", "code", "message"}:
        raise ScriptError("error: give {'status': ..., 'code': ..., 'message': ...}")
    status, code = error.get("status", 400), error.get("code", 5006)
    if not isinstance(status, int) or not 400 <= status < 600:
        raise ScriptError(f"error status {status!r}: use an HTTP error status, 400 to 599")
    if not isinstance(code, int):
        raise ScriptError(f"error code {code!r}: use a Cloudflare error code (a number)")


@dataclass
class Rule:
    """When a reply applies (every condition given must hold).

    Attributes:
        reply: The reply.
        model: The model id as the request names it (``@cf/...``, ``openai/gpt-4.1``; a
            provider-native path's ``claude-sonnet-4-5`` matches ``anthropic/claude-...``).
        route: One of :data:`ROUTES`.
        last_user: Matches the last user message's text.
        any_message: Matches the text of any message (system prompts included).
        times: How many requests it answers (``None``: every one).
        id: Its number, in the order rules were added.
        used: How many requests it answered.
    """

    reply: Reply
    model: str | None = None
    route: str | None = None
    last_user: Matcher | None = None
    any_message: Matcher | None = None
    times: int | None = 1
    id: int = 0
    used: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.reply, Reply):
            raise ScriptError(f"reply must be a Reply, not {self.reply!r}")
        if self.route is not None and self.route not in ROUTES:
            raise ScriptError(f"route {self.route!r}: use one of {', '.join(ROUTES)}")
        if self.times is not None and (
            not isinstance(self.times, int) or isinstance(self.times, bool) or self.times < 1
        ):
            raise ScriptError(f"times={self.times!r}: a whole number >= 1, or None (always)")
        for name in ("last_user", "any_message"):
            matcher = getattr(self, name)
            if matcher is not None and not (
                isinstance(matcher, (str, re.Pattern)) or callable(matcher)
            ):
                raise ScriptError(f"{name}: a substring, a compiled regex or a predicate")

    @property
    def spent(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, request: ScriptedRequest) -> bool:
        if self.model is not None and self.model not in request.models:
            return False
        if self.route is not None and self.route not in request.routes:
            return False
        if self.last_user is not None and not _text_matches(self.last_user, request.last_user):
            return False
        return self.any_message is None or any(
            _text_matches(self.any_message, text) for text in request.texts
        )

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "reply": self.reply.describe()}
        for name in ("model", "route", "last_user", "any_message"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _describe_matcher(value)
        out.update(times=self.times, used=self.used)
        return out

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from JSON: ``{"reply": {...}, "model": ..., "route": ..., "last_user":
        "substring" | {"regex": "..."}, "any_message": ..., "times": 1}``."""
        if not isinstance(data, Mapping) or "reply" not in data:
            raise ScriptError("a rule is an object with a 'reply'")
        allowed = {"reply", "model", "route", "last_user", "any_message", "times"}
        unknown = set(data) - allowed
        if unknown:
            raise ScriptError(f"unknown rule fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        fields = dict(data)
        fields["reply"] = Reply.from_mapping(data["reply"])
        for name in ("last_user", "any_message"):
            if name in fields:
                fields[name] = _matcher_from_json(name, fields[name])
        return cls(**fields)


def _text_matches(matcher: Matcher, text: str) -> bool:
    if isinstance(matcher, str):
        return matcher.lower() in text.lower()
    if isinstance(matcher, re.Pattern):
        return matcher.search(text) is not None
    return bool(matcher(text))


def _describe_matcher(value: Any) -> Any:
    if isinstance(value, re.Pattern):
        return {"regex": value.pattern}
    if callable(value) and not isinstance(value, str):
        return {"predicate": getattr(value, "__name__", repr(value))}
    return value


def _matcher_from_json(name: str, value: Any) -> Matcher:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"regex"} and isinstance(value["regex"], str):
        try:
            return re.compile(value["regex"])
        except re.error as exc:
            raise ScriptError(f"{name}: bad regex ({exc})") from None
    raise ScriptError(f"{name}: a substring or {{'regex': '...'}} (predicates only in process)")


@dataclass(frozen=True)
class ScriptedRequest:
    """What rules look at: the request's model names, route names (a universal-endpoint
    entry is ``universal`` and its own route) and message texts."""

    models: frozenset[str]
    routes: frozenset[str]
    last_user: str
    texts: tuple[str, ...]


class ScriptBook:
    """The rules of one emulator (thread-safe: the server thread matches, tests add)."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.strict = False

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            rule.id = next(self._ids)
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget every rule and leave strict mode."""
        with self._lock:
            self._rules.clear()
            self._ids = itertools.count(1)
            self.strict = False

    def rules(self) -> list[Rule]:
        """The rules not yet spent, in order."""
        with self._lock:
            return [r for r in self._rules if not r.spent]

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"strict": self.strict, "rules": [r.describe() for r in self._rules]}

    def take(self, request: ScriptedRequest, *, failures: bool) -> Rule | None:
        """The first live rule matching ``request``, counted as used -- if its reply is a
        failure (``failures``) or content as asked; else ``None`` (rules answer in order: a
        content rule before a failure rule answers first)."""
        with self._lock:
            for rule in self._rules:
                if rule.spent or not rule.matches(request):
                    continue
                if rule.reply.is_failure != failures:
                    return None
                rule.used += 1
                return rule
        return None

    def unmatched_error(self, request: ScriptedRequest) -> EmulatorError:
        """Strict mode's 400: the request and the rules it did not match."""
        live = [r.describe() for r in self.rules()]
        listed = json.dumps(live, ensure_ascii=False)[:1500] if live else "none left"
        return EmulatorError(
            400,
            5006,
            f"emulator strict scripts: no rule matches this request (route "
            f"{'/'.join(sorted(request.routes))}, "
            f"model {sorted(request.models)}, last user message {request.last_user[:80]!r}); "
            f"rules: {listed}",
        )

    def __len__(self) -> int:
        return len(self.rules())


# -- the request being answered (set by the app per request) -----------------------------------
@dataclass(frozen=True)
class _Context:
    book: ScriptBook
    route: str
    model: str | None
    alias: str | None = None


_CURRENT: ContextVar[_Context | None] = ContextVar("emulator_script_context", default=None)


@contextmanager
def answering(
    book: ScriptBook, route: str, model: str | None, alias: str | None = None
) -> Iterator[None]:
    """Make ``book`` the rules of the request being answered (the app wraps each request,
    and each entry of a universal-endpoint request); ``alias``: the model's provider-qualified
    name on a provider-native path (``anthropic/claude-sonnet-4-5``)."""
    token = _CURRENT.set(_Context(book, route, model, alias))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def route_name(kind: str, openai_path: str | None) -> str:
    """The :data:`ROUTES` name of a matched route."""
    if kind == "openai" and openai_path:
        return openai_path
    return "universal" if kind == "universal" else "run"


def scripted_request(
    route: str, model: str | None, body: Any, *also: str | None
) -> ScriptedRequest:
    """What rules match on, from any of the documented request bodies (``messages`` with an
    optional ``system``, a ``prompt``, or the Responses API's ``input`` / ``instructions``);
    ``route`` is a route name, or several joined by ``+`` (``universal+run``)."""
    texts: list[str] = []
    last_user = ""
    if isinstance(body, Mapping):
        for key in ("system", "instructions"):
            if body.get(key):
                texts.append(content_to_text(body[key]))
        messages = body.get("messages")
        items = body.get("input")
        if isinstance(items, str):
            messages = [{"role": "user", "content": items}]
        elif isinstance(items, list) and not messages:
            messages = [m for m in items if isinstance(m, Mapping) and "role" in m]
        if isinstance(body.get("prompt"), str):
            messages = [*(messages or []), {"role": "user", "content": body["prompt"]}]
        for message in messages or []:
            if not isinstance(message, Mapping):
                continue
            text = content_to_text(message.get("content"))
            texts.append(text)
            if message.get("role") == "user":
                last_user = text
    models = {m for m in (model, *also) if m}
    models |= {m.split("/", 1)[1] for m in models if "/" in m and not m.startswith("@")}
    routes = frozenset(route.split("+"))
    return ScriptedRequest(frozenset(models), routes, last_user, tuple(texts))


def failure_for(
    book: ScriptBook, route: str, model: str | None, body: Any, alias: str | None = None
) -> Rule | None:
    """The error/fault rule answering this request, if any (checked before the model runs)."""
    if not book.rules():
        return None
    return book.take(scripted_request(route, model, body, alias), failures=True)


def fault_of(reply: Reply) -> FaultSpec | tuple[int, int, str]:
    """A failure reply as the app answers it: an emulator fault, or ``(status, code,
    message)`` for an error envelope."""
    if reply.fault is not None:
        return FaultSpec(kind=reply.fault)
    assert reply.error is not None
    error = reply.error
    return (
        int(error.get("status", 400)),
        int(error.get("code", 5006)),
        str(error.get("message", "Scripted error (emulator)")),
    )


@dataclass(frozen=True)
class ScriptedGeneration(Generation):
    """A scripted answer, with the stream's pieces when the reply gave them."""

    text_chunks: tuple[str, ...] | None = None


def generate(info: ModelFacts, body: Mapping[str, Any]) -> Generation:
    """The answer to a chat request: the first matching scripted rule's, else the stand-in's
    (:func:`~workers_ai.emulator.standins.generate_chat`); strict mode refuses unmatched
    requests."""
    context = _CURRENT.get()
    if context is None or (not context.book.strict and not context.book.rules()):
        return generate_chat(info, body)
    request = scripted_request(context.route, context.model, body, context.alias, info.id)
    rule = context.book.take(request, failures=False)
    if rule is None:
        if context.book.strict:
            raise context.book.unmatched_error(request)
        return generate_chat(info, body)
    return _rendered(rule.reply, info, body)


def _json_mode(body: Mapping[str, Any]) -> bool:
    fmt = body.get("response_format")
    return json_schema_from_body(body) is not None or (
        isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema")
    )


def _rendered(reply: Reply, info: ModelFacts, body: Mapping[str, Any]) -> Generation:
    calls = [(c.name, dict(c.arguments)) for c in map(_tool_call, reply.tool_calls)]
    text = reply.text if reply.text is not None else ""
    if reply.json is not None and reply.text is None:
        text = json.dumps(reply.json, ensure_ascii=False)
    # the parsed object only in JSON mode (classic models then answer it as an object)
    parsed = reply.json if _json_mode(body) else None
    reasoning = reply.reasoning or ""
    completion = count_tokens(reasoning) + count_tokens(text)
    completion += sum(count_tokens(n + json.dumps(a, ensure_ascii=False)) for n, a in calls)
    usage = dict(reply.usage or {})
    gen = ScriptedGeneration(
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        parsed=parsed,
        prompt_tokens=usage.get("prompt_tokens", count_prompt_tokens(body)),
        completion_tokens=usage.get("completion_tokens", completion),
        finish_reason=reply.finish_reason or ("tool_calls" if calls else "stop"),
        seed=seed_for(info.id, body),
        text_chunks=tuple(reply.chunks) if reply.chunks is not None else None,
    )
    if "cached_tokens" in usage:
        gen = replace(gen, cached_tokens=usage["cached_tokens"])
    return gen
