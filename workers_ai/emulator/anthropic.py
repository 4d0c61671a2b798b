"""Anthropic's Messages API on the emulator: checks, conversion, rendering (pure, no I/O).

Served on ``POST /accounts/{a}/ai/v1/messages`` (REST, spec §1.1, verbatim example §1.4) and
on the gateway's provider-native ``{gateway}/anthropic/v1/messages`` (§1.4 "provider request/
response schema unchanged"). The answers are deterministic stand-ins, not Claude: the text,
the tool choice and the tool arguments come from the same generator as every other chat
stand-in (:func:`workers_ai.emulator.standins.generate_chat`), fed with the conversation this
module converts (:func:`to_native`, as :func:`workers_ai.emulator.tasks.openai_to_native` does
for OpenAI bodies).

* :func:`check_request`: Anthropic's checks, each a 400 ``invalid_request_error`` naming the
  field (:class:`AnthropicError`, Anthropic's error body: provider errors pass through in the
  provider's format, §1.10). Cloudflare's own rules seen on the run path (§1.4): ``max_tokens``
  is required and, on the REST route, ``system`` must be one string; the provider-native route
  is Anthropic's own API and also takes a list of ``text`` blocks.
* :func:`render_message`: the ``message`` object; :func:`stream_events`: the same answer as
  Anthropic's event stream (``message_start``, per block ``content_block_start`` /
  ``content_block_delta`` / ``content_block_stop``, one ``ping``, ``message_delta``,
  ``message_stop``; no ``[DONE]``, §1.5).

Stand-in rules:

* ``tool_use`` when ``tool_choice`` forces a tool (``any``, ``tool``) or the last user turn
  shares words with a tool's name or description (none for ``tool_choice: none``); after
  ``tool_result`` blocks the text quotes the results and ``stop_reason`` is ``end_turn``.
* ``thinking`` (``{"type": "enabled", "budget_tokens"}``, reasoning models only): a short,
  deterministic ``thinking`` block first, signed with a digest of its text; it counts towards
  ``max_tokens`` as Anthropic's does.
* ``stop_sequences``: the text is cut before the first one it contains (``stop_reason:
  "stop_sequence"`` and ``stop_sequence`` name it).
* Prompt caching (:func:`cache_prefix`): the prompt up to the last block carrying
  ``cache_control`` (in Anthropic's order: tools, system, messages) is the cached prefix. The
  first request with a prefix reports its tokens as ``cache_creation_input_tokens``; a later
  request with the identical prefix (same model) as ``cache_read_input_tokens``;
  ``input_tokens`` counts only the rest, as Anthropic's does. Unlike Anthropic, there is no
  minimum prefix length (1,024 tokens on Sonnet) and no expiry: the emulator's ``reset()``
  forgets the prefixes, so short test prompts show the behaviour.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from workers_ai.emulator.gateway import ProviderError
from workers_ai.emulator.shapes import chunked, stream_pieces
from workers_ai.emulator.standins import Generation, count_prompt_tokens, count_tokens

__all__ = [
    "AnthropicError",
    "CachePrefix",
    "Surface",
    "cache_prefix",
    "check_request",
    "render_message",
    "stream_error_event",
    "stream_events",
    "thinking_enabled",
    "to_native",
]

#: ``rest``: ``/ai/v1/messages`` (Cloudflare's checks, §1.4); ``native``: the gateway's
#: ``anthropic/v1/messages`` (Anthropic's API as is).
Surface = Literal["rest", "native"]

#: HTTP status -> Anthropic's error ``type``.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ROLES = ("user", "assistant")
_BLOCKS = {
    "user": ("text", "image", "tool_result"),
    "assistant": ("text", "tool_use", "thinking", "redacted_thinking"),
}
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_THINKING_MIN_BUDGET = 1024
_TOKENS_PER_DELTA = 4  # Anthropic's deltas carry a few tokens each


class AnthropicError(ProviderError):
    """An Anthropic error: ``{"type": "error", "error": {"type", "message"}}``.

    The ``type`` follows the status (400 ``invalid_request_error``, 404 ``not_found_error``,
    429 ``rate_limit_error``, 529 ``overloaded_error``...).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message, type=_ERROR_TYPES.get(status, "api_error"))

    @classmethod
    def from_provider(cls, exc: ProviderError) -> AnthropicError:
        """The same error (status, message) in Anthropic's body."""
        return exc if isinstance(exc, AnthropicError) else cls(exc.status, exc.message)

    def body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.type, "message": self.message}}


def _invalid(field: str, detail: str) -> AnthropicError:
    return AnthropicError(400, f"{field}: {detail}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


# -- request checks -----------------------------------------------------------------------------


def check_request(body: Mapping[str, Any], surface: Surface) -> None:
    """Check a Messages body as Anthropic (and, on ``rest``, Cloudflare) does.

    Raises:
        AnthropicError: 400 ``invalid_request_error`` whose message starts with the field's
            path (``messages.1.content.0.tool_use_id: ...``) and says what to change.
    """
    _check_max_tokens(body, surface)
    _check_system(body.get("system"), surface)
    names = _check_tools(body.get("tools"))
    _check_messages(body.get("messages"))
    _check_tool_choice(body.get("tool_choice"), names)
    _check_sampling(body)
    _check_thinking(body)
    _check_thinking_turns(body)


def _check_max_tokens(body: Mapping[str, Any], surface: Surface) -> None:
    if body.get("max_tokens") is None:
        # Cloudflare's run path answers 7003 "Model execution failed (User Input Error):
        # Required value missing: max_tokens" (§1.4, §1.10); this route passes the provider's
        # own 400 through, in Anthropic's body, with the same wording on REST.
        if surface == "rest":
            raise AnthropicError(400, "Required value missing: max_tokens")
        raise _invalid("max_tokens", "Field required")
    value = body["max_tokens"]
    if not _is_int(value) or value < 1:
        raise _invalid("max_tokens", f"must be a whole number >= 1, got {value!r}")


def _check_system(system: Any, surface: Surface) -> None:
    if system is None or isinstance(system, str):
        return
    if surface == "rest":
        raise _invalid(
            "system",
            "must be a string on Cloudflare's /ai/v1/messages (a list of blocks is refused); "
            "join the blocks' text into one string",
        )
    if not isinstance(system, list):
        raise _invalid("system", "must be a string or a list of text blocks")
    for index, block in enumerate(system):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise _invalid(f"system.{index}", "must be a text block {'type': 'text', 'text'}")
        if not isinstance(block.get("text"), str):
            raise _invalid(f"system.{index}.text", "must be a string")


def _check_tools(tools: Any) -> list[str]:
    """Custom tools ``{name, description?, input_schema}``; returns their names."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _invalid("tools", "must be a list of {name, description, input_schema}")
    names: list[str] = []
    for index, tool in enumerate(tools):
        where = f"tools.{index}"
        if not isinstance(tool, Mapping):
            raise _invalid(where, "must be an object {name, description, input_schema}")
        kind = tool.get("type", "custom")
        if kind != "custom":
            raise _invalid(
                f"{where}.type",
                f"the emulator's stand-ins serve custom tools only; {kind!r} (a server tool) "
                "is not emulated",
            )
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise _invalid(f"{where}.name", "must match ^[a-zA-Z0-9_-]{1,128}$")
        schema = tool.get("input_schema")
        if not isinstance(schema, Mapping):
            raise _invalid(f"{where}.input_schema", "Field required (a JSON Schema object)")
        if schema.get("type") != "object":
            raise _invalid(f"{where}.input_schema.type", "Input should be 'object'")
        if name in names:
            raise _invalid("tools", f"Tool names must be unique; {name!r} is given twice")
        names.append(name)
    return names


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages", "at least one message is required (a non-empty list)")
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, Mapping):
            raise _invalid(where, "must be an object {role, content}")
        role = message.get("role")
        if role not in _ROLES:
            raise _invalid(f"{where}.role", f"Input should be 'user' or 'assistant', got {role!r}")
        _check_content(message.get("content"), where, role, last=index == len(messages) - 1)
    _check_tool_pairs(messages)


def _check_content(content: Any, where: str, role: str, *, last: bool) -> None:
    if content in ("", []) and not (last and role == "assistant"):
        raise _invalid(
            where,
            "all messages must have non-empty content except for the optional final "
            "assistant message",
        )
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _invalid(f"{where}.content", "must be a string or a list of content blocks")
    for index, block in enumerate(content):
        _check_block(block, f"{where}.content.{index}", role)


def _check_block(block: Any, where: str, role: str) -> None:
    if not isinstance(block, Mapping):
        raise _invalid(where, "must be a content block object with a 'type'")
    kind = block.get("type")
    if kind not in _BLOCKS[role]:
        allowed = ", ".join(_BLOCKS[role])
        raise _invalid(f"{where}.type", f"a {role} message takes {allowed} blocks, not {kind!r}")
    if kind == "text" and not isinstance(block.get("text"), str):
        raise _invalid(f"{where}.text", "must be a string")
    if kind == "image":
        _check_image(block.get("source"), f"{where}.source")
    if kind == "tool_use":
        for name, ok in (
            ("id", isinstance(block.get("id"), str) and bool(block.get("id"))),
            ("name", isinstance(block.get("name"), str) and bool(block.get("name"))),
            ("input", isinstance(block.get("input"), Mapping)),
        ):
            if not ok:
                raise _invalid(f"{where}.{name}", "Field required")
    if kind == "tool_result":
        _check_tool_result(block, where)
    if kind == "thinking" and not isinstance(block.get("thinking"), str):
        raise _invalid(f"{where}.thinking", "must be a string (send thinking blocks back as is)")


def _check_image(source: Any, where: str) -> None:
    kind = source.get("type") if isinstance(source, Mapping) else None
    if kind == "base64":
        assert isinstance(source, Mapping)
        if source.get("media_type") not in _MEDIA_TYPES:
            listed = ", ".join(repr(m) for m in _MEDIA_TYPES)
            raise _invalid(f"{where}.media_type", f"Input should be {listed}")
        if not isinstance(source.get("data"), str) or not source["data"]:
            raise _invalid(f"{where}.data", "must be the base64 image data")
    elif kind == "url":
        assert isinstance(source, Mapping)
        url = source.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise _invalid(f"{where}.url", "must be an http(s) URL")
    else:
        raise _invalid(
            where,
            "must be {'type': 'base64', 'media_type', 'data'} or {'type': 'url', 'url'}",
        )


def _check_tool_result(block: Mapping[str, Any], where: str) -> None:
    if not isinstance(block.get("tool_use_id"), str) or not block["tool_use_id"]:
        raise _invalid(f"{where}.tool_use_id", "Field required")
    content = block.get("content", "")
    if isinstance(content, list):
        for index, part in enumerate(content):
            if not isinstance(part, Mapping) or part.get("type") not in ("text", "image"):
                raise _invalid(f"{where}.content.{index}", "must be a text or image block")
    elif not isinstance(content, str):
        raise _invalid(f"{where}.content", "must be a string or a list of text/image blocks")
    if not isinstance(block.get("is_error", False), bool):
        raise _invalid(f"{where}.is_error", "must be a boolean")


def _block_ids(message: Any, kind: str, key: str) -> list[str]:
    """The ``key`` of each ``kind`` block of a message (``tool_use`` ids, ``tool_result``
    answered ids)."""
    content = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(content, list):
        return []
    return [b[key] for b in content if isinstance(b, Mapping) and b.get("type") == kind]


def _check_tool_pairs(messages: Sequence[Mapping[str, Any]]) -> None:
    """Every ``tool_result`` answers a ``tool_use`` of the assistant turn just before it, and
    every ``tool_use`` (but in the last turn) is answered in the next turn (Anthropic's rule and
    wording)."""
    for index, message in enumerate(messages):
        previous = messages[index - 1] if index else {}
        asked = set(_block_ids(previous, "tool_use", "id"))
        answered = _block_ids(message, "tool_result", "tool_use_id")
        stray = [i for i in answered if i not in asked]
        if stray:
            raise _invalid(
                f"messages.{index}.content",
                f"unexpected `tool_use_id` found in `tool_result` blocks: {', '.join(stray)}. "
                "Each `tool_result` block must have a corresponding `tool_use` block in the "
                "previous message.",
            )
        if index and asked - set(answered):
            missing = ", ".join(
                i for i in _block_ids(previous, "tool_use", "id") if i not in answered
            )
            raise _invalid(
                f"messages.{index}",
                f"`tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{missing}. Each `tool_use` block must have a corresponding `tool_result` "
                "block in the next message.",
            )


def _check_tool_choice(choice: Any, names: Sequence[str]) -> None:
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind not in _TOOL_CHOICES:
        raise _invalid("tool_choice", "must be {'type': 'auto' | 'any' | 'tool' | 'none'}")
    assert isinstance(choice, Mapping)
    if kind in ("any", "tool") and not names:
        raise _invalid("tool_choice", "may only be specified while providing tools")
    if kind == "tool" and choice.get("name") not in names:
        raise _invalid(
            "tool_choice.name",
            f"{choice.get('name')!r} is not one of the tools ({', '.join(names)})",
        )
    parallel = choice.get("disable_parallel_tool_use", False)
    if not isinstance(parallel, bool):
        raise _invalid("tool_choice.disable_parallel_tool_use", "must be a boolean")


def _check_range(body: Mapping[str, Any], name: str, low: float, high: float | None) -> None:
    value = body.get(name)
    if value is None:
        return
    top = "" if high is None else f" and <= {high:g}"
    if not _is_number(value) or value < low or (high is not None and value > high):
        raise _invalid(name, f"must be a number >= {low:g}{top}, got {value!r}")


def _check_sampling(body: Mapping[str, Any]) -> None:
    _check_range(body, "temperature", 0.0, 1.0)
    _check_range(body, "top_p", 0.0, 1.0)
    if body.get("top_k") is not None and (not _is_int(body["top_k"]) or body["top_k"] < 0):
        raise _invalid("top_k", f"must be a whole number >= 0, got {body['top_k']!r}")
    stops = body.get("stop_sequences")
    if stops is not None and not (
        isinstance(stops, list) and all(isinstance(s, str) and s.strip() for s in stops)
    ):
        raise _invalid("stop_sequences", "must be a list of strings with non-whitespace text")
    if not isinstance(body.get("stream", False), bool):
        raise _invalid("stream", "must be a boolean")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise _invalid("metadata", "must be an object {'user_id': ...}")
        extra = sorted(set(metadata) - {"user_id"})
        if extra:
            raise _invalid(f"metadata.{extra[0]}", "Extra inputs are not permitted")


def thinking_enabled(body: Mapping[str, Any]) -> bool:
    """``thinking: {"type": "enabled", ...}`` (a checked body)."""
    thinking = body.get("thinking")
    return isinstance(thinking, Mapping) and thinking.get("type") == "enabled"


def _check_thinking(body: Mapping[str, Any]) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, Mapping) else None
    if kind not in ("enabled", "disabled"):
        raise _invalid("thinking", "must be {'type': 'enabled', 'budget_tokens': n} or disabled")
    if kind == "disabled":
        return
    assert isinstance(thinking, Mapping)
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < _THINKING_MIN_BUDGET:
        raise _invalid(
            "thinking.enabled.budget_tokens",
            f"Input should be greater than or equal to {_THINKING_MIN_BUDGET}, got {budget!r}",
        )
    if budget >= body["max_tokens"]:
        raise _invalid(
            "max_tokens",
            f"must be greater than thinking.budget_tokens ({budget}); raise max_tokens or "
            "lower the budget",
        )
    if body.get("temperature") not in (None, 1, 1.0):
        raise _invalid("temperature", "may only be set to 1 when thinking is enabled")
    if body.get("top_k") is not None:
        raise _invalid("top_k", "is not supported when thinking is enabled; remove it")
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") in ("any", "tool"):
        raise _invalid(
            "tool_choice", "Thinking may not be enabled when tool_choice forces tool use."
        )


def _check_thinking_turns(body: Mapping[str, Any]) -> None:
    """With thinking on, the assistant turn whose ``tool_use`` the last turn answers must start
    with its thinking block, sent back as received (Anthropic's rule)."""
    messages = body["messages"]
    if not thinking_enabled(body) or len(messages) < 2:
        return
    if not _block_ids(messages[-1], "tool_result", "tool_use_id"):
        return
    content = messages[-2].get("content")
    first = content[0].get("type") if isinstance(content, list) and content else "text"
    if first not in ("thinking", "redacted_thinking"):
        raise _invalid(
            f"messages.{len(messages) - 2}.content.0.type",
            f"Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` "
            "is enabled, a final `assistant` message must start with a thinking block "
            "(preceding the lastmost set of `tool_use` and `tool_result` blocks); send the "
            "thinking blocks of earlier turns back, or disable `thinking`.",
        )


# -- conversion to the stand-in's chat body -----------------------------------------------------


def _system_text(system: Any) -> str:
    if isinstance(system, list):
        return "\n\n".join(b.get("text", "") for b in system if isinstance(b, Mapping))
    return system if isinstance(system, str) else ""


def _image_part(source: Mapping[str, Any]) -> dict[str, Any]:
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    else:
        url = str(source.get("url"))
    return {"type": "image_url", "image_url": {"url": url}}


def _result_text(block: Mapping[str, Any]) -> str:
    content = block.get("content", "")
    if isinstance(content, list):
        content = " ".join(
            p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"
        )
    text = content if isinstance(content, str) else ""
    return f"Error: {text}" if block.get("is_error") else text


def _user_messages(content: Any) -> list[dict[str, Any]]:
    """A user turn: its ``tool_result`` blocks as ``tool`` messages, then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    blocks = [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": b["tool_use_id"], "content": _result_text(b)}
        for b in blocks
        if b.get("type") == "tool_result"
    ]
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif block.get("type") == "image" and isinstance(block.get("source"), Mapping):
            parts.append(_image_part(block["source"]))
    return [*out, {"role": "user", "content": parts}] if parts else out


def _assistant_message(content: Any) -> dict[str, Any]:
    """An assistant turn: text blocks joined, ``tool_use`` blocks as tool calls (thinking is
    the model's own and not part of the conversation text)."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    blocks = [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = [
        {
            "id": b.get("id"),
            "type": "function",
            "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input") or {})},
        }
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    return message


def _native_tool_choice(choice: Any) -> Any:
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind == "tool":
        assert isinstance(choice, Mapping)
        return {"type": "function", "function": {"name": choice.get("name")}}
    return {"any": "required", "auto": "auto", "none": "none"}.get(str(kind))


def to_native(body: Mapping[str, Any]) -> dict[str, Any]:
    """The stand-in's chat body (OpenAI-style ``messages``, ``tools``, ``tool_choice``) for a
    Messages body: ``system`` first, each ``tool_result`` a ``tool`` message, ``tool_use``
    blocks ``tool_calls``, images ``image_url`` parts. ``stop_sequences`` are applied by
    :func:`render_message`, thinking by the model facts the caller picks. Tolerates partial
    bodies (the prefixes of :func:`cache_prefix`)."""
    messages: list[dict[str, Any]] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    raw = body.get("messages")
    for message in raw if isinstance(raw, list) else []:
        if not isinstance(message, Mapping):
            continue
        if message.get("role") == "assistant":
            messages.append(_assistant_message(message.get("content")))
        else:
            messages += _user_messages(message.get("content"))
    native: dict[str, Any] = {"messages": messages}
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        native["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.get("name"),
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {},
                },
            }
            for t in tools
            if isinstance(t, Mapping)
        ]
    choice = _native_tool_choice(body.get("tool_choice"))
    if choice is not None:
        native["tool_choice"] = choice
    if isinstance(body.get("tool_choice"), Mapping) and body["tool_choice"].get(
        "disable_parallel_tool_use"
    ):
        native["parallel_tool_calls"] = False
    for key in ("max_tokens", "temperature", "top_p", "top_k"):
        if body.get(key) is not None:
            native[key] = body[key]
    return native


# -- prompt caching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CachePrefix:
    """The prompt prefix a ``cache_control`` breakpoint marks.

    Attributes:
        digest: A digest of the prefix (tools, system, messages up to the breakpoint).
        tokens: The prefix's prompt tokens.
        hit: An identical prefix was cached before (the caller knows; ``False`` here).
    """

    digest: str
    tokens: int
    hit: bool = False


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _breakpoints(body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The prefix body ending at each block that carries ``cache_control``, in Anthropic's
    order (tools, system, messages)."""
    tools, system, messages = (
        _list(body.get("tools")),
        body.get("system"),
        _list(body.get("messages")),
    )
    for index, tool in enumerate(tools):
        if isinstance(tool, Mapping) and tool.get("cache_control"):
            yield {"tools": tools[: index + 1]}
    for index, block in enumerate(_list(system)):
        if isinstance(block, Mapping) and block.get("cache_control"):
            yield {"tools": tools, "system": _list(system)[: index + 1]}
    for m, message in enumerate(messages):
        content = _list(message.get("content") if isinstance(message, Mapping) else None)
        for b, block in enumerate(content):
            if isinstance(block, Mapping) and block.get("cache_control"):
                last = {**message, "content": content[: b + 1]}
                yield {"tools": tools, "system": system, "messages": [*messages[:m], last]}


def cache_prefix(body: Mapping[str, Any]) -> CachePrefix | None:
    """The cached prefix of a Messages body: up to its last ``cache_control`` block, or
    ``None`` without one (see the module's caching rule)."""
    prefixes = list(_breakpoints(body))
    if not prefixes:
        return None
    prefix = prefixes[-1]
    blob = json.dumps(prefix, sort_keys=True, separators=(",", ":"), default=str)
    tokens = count_prompt_tokens(to_native(prefix))
    return CachePrefix(hashlib.sha256(blob.encode()).hexdigest(), tokens)


# -- rendering ----------------------------------------------------------------------------------


def _hex(seed: int, label: str, length: int = 22) -> str:
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()[:length]


def _signature(gen: Generation) -> str:
    """A stand-in signature of the thinking text (Anthropic's are opaque base64)."""
    digest = hashlib.sha256(f"{gen.seed}:{gen.reasoning}".encode()).digest()
    return base64.b64encode(digest).decode()


def _cut_at_stop(gen: Generation, stops: Sequence[str]) -> tuple[Generation, str | None]:
    """The generation cut before the earliest stop sequence of its text, and that sequence."""
    found = [(gen.text.find(s), s) for s in stops if s and s in gen.text]
    if gen.tool_calls or gen.parsed is not None or not found:
        return gen, None
    at, stop = min(found)
    text = gen.text[:at]
    tokens = gen.completion_tokens - count_tokens(gen.text) + count_tokens(text)
    return replace(gen, text=text, completion_tokens=tokens, finish_reason="stop"), stop


def _content(gen: Generation) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if gen.reasoning:
        blocks.append({"type": "thinking", "thinking": gen.reasoning, "signature": _signature(gen)})
    if gen.text or not (gen.tool_calls or blocks):
        blocks.append({"type": "text", "text": gen.text})
    blocks += [
        {"type": "tool_use", "id": "toolu_01" + _hex(gen.seed, f"tool-{i}"), "name": n, "input": a}
        for i, (n, a) in enumerate(gen.tool_calls)
    ]
    return blocks


def _usage(gen: Generation, cache: CachePrefix | None) -> dict[str, int]:
    cached = min(cache.tokens, gen.prompt_tokens) if cache is not None else 0
    hit = cache is not None and cache.hit
    return {
        "input_tokens": gen.prompt_tokens - cached,
        "output_tokens": gen.completion_tokens,
        "cache_creation_input_tokens": 0 if hit else cached,
        "cache_read_input_tokens": cached if hit else 0,
    }


def render_message(
    name: str, gen: Generation, stop_sequences: Sequence[str], cache: CachePrefix | None
) -> dict[str, Any]:
    """The ``message`` object: ``thinking`` block first (when the generation reasoned), the
    ``text`` block, the ``tool_use`` blocks; ``stop_reason`` ``tool_use``, ``stop_sequence``,
    ``max_tokens`` or ``end_turn``; usage with the cache counts of ``cache``."""
    gen, stop = _cut_at_stop(gen, stop_sequences)
    if gen.tool_calls:
        reason = "tool_use"
    elif stop is not None:
        reason = "stop_sequence"
    else:
        reason = "max_tokens" if gen.finish_reason == "length" else "end_turn"
    return {
        "id": "msg_01" + _hex(gen.seed, "message"),
        "type": "message",
        "role": "assistant",
        "model": name,
        "content": _content(gen),
        "stop_reason": reason,
        "stop_sequence": stop,
        "usage": _usage(gen, cache),
    }


def _block_events(
    index: int, block: Mapping[str, Any], text_chunks: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """``content_block_start`` (the block emptied), its deltas, ``content_block_stop``
    (``text_chunks``: a scripted reply's pieces of the text)."""
    kind = block["type"]
    deltas: list[dict[str, Any]]
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [
            {"type": "text_delta", "text": p}
            for p in chunked(block["text"], text_chunks, _TOKENS_PER_DELTA)
        ]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": p}
            for p in stream_pieces(block["thinking"], _TOKENS_PER_DELTA)
        ]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = [
            "",
            *stream_pieces(json.dumps(block["input"], ensure_ascii=False), _TOKENS_PER_DELTA),
        ]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in raw]
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def stream_events(
    message: Mapping[str, Any], text_chunks: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The events of ``message`` streamed (each event's ``type`` is its SSE ``event:`` name).

    ``message_start`` carries the message with empty ``content``, no stop reason and the
    usage (``output_tokens`` 1, as Anthropic's does); a ``ping`` follows the first
    ``content_block_start``; ``message_delta`` carries the stop reason and the final
    ``output_tokens``; ``message_stop`` ends the stream.
    """
    usage = dict(message["usage"])
    usage["output_tokens"] = min(1, usage["output_tokens"])
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        events += _block_events(index, block, text_chunks)
    events.insert(min(2, len(events)), {"type": "ping"})
    events.append(
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": message["stop_reason"],
                "stop_sequence": message["stop_sequence"],
            },
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def stream_error_event(message: str) -> dict[str, Any]:
    """The ``error`` event that ends a failing stream (Anthropic's ``overloaded_error``)."""
    return {"type": "error", "error": {"type": "overloaded_error", "message": message}}
