"""Anthropic's Messages API (``/ai/v1/messages``): request building and answer reading (no I/O).

Cloudflare's REST API serves Anthropic's Messages API for any model behind AI Gateway (spec:
AI platform §1.4, §1.5); it carries what the OpenAI-shaped route loses: thinking blocks,
prompt-cache usage, ``tool_use``/``tool_result`` blocks and stop reasons. This module turns a
neutral :class:`~workers_ai.messages.ChatRequest` into a Messages body and a ``message`` answer
(or its stream events, :class:`MessagesStreamState`) into the core's neutral parts, so both
framework adapters gain the route without code of their own.

Request rules (Anthropic's, and what the spec saw through Cloudflare):

- ``max_tokens`` is required: the caller's, else :data:`DEFAULT_MAX_TOKENS` (plus the thinking
  budget when thinking is on, which must stay below ``max_tokens``);
- ``system`` is one string: the leading system messages joined by a blank line (a system
  message after the first turn has no place in the Messages API and is refused, naming it);
- tool results are ``tool_result`` blocks of a ``user`` turn; consecutive tool results (and a
  user message right after them) share that turn;
- assistant tool calls are ``tool_use`` blocks (``input`` is the arguments object);
- images are ``image`` blocks: a ``data:`` URI becomes a base64 source, an ``https`` URL a
  URL source;
- ``tool_choice``: ``auto`` / ``any`` (``required``) / ``tool`` (a name) / ``none``;
  ``parallel_tool_calls=False`` sets ``disable_parallel_tool_use``; with thinking on, a forced
  choice (structured output forces one), a ``temperature`` other than 1, ``top_k`` or a
  ``top_p`` below 0.95 are refused before the request (Anthropic's rules);
- reasoning: ``thinking={"type": "enabled", "budget_tokens": n}`` through the extra body
  fields, or ``reasoning_effort`` (``low``/``medium``/``high``: 1,024 / 4,096 / 16,384 budget
  tokens, :data:`EFFORT_BUDGETS`);
- ``stop`` becomes ``stop_sequences``; parameters the API does not take (``seed``,
  ``frequency_penalty``, ``presence_penalty``, ``repetition_penalty``, ``lora``) are left out
  with a ``UserWarning``; JSON mode does not exist there: structured output uses a tool call
  (LangChain's ``with_structured_output`` default for these models), and a JSON-mode request
  is refused before any request, saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers_ai.errors import InvalidRequestError
from workers_ai.messages import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    check_against_catalog,
    check_generation_param,
    function_tools,
    sendable_params,
    text_only,
)
from workers_ai.types import ToolCall, Usage, WireDelta
from workers_ai.wire_numbers import float_from_wire, int_from_wire

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "EFFORT_BUDGETS",
    "MessagesStreamState",
    "build_messages_body",
    "is_messages_answer",
    "messages_parts",
    "messages_usage",
]

#: ``max_tokens`` when the caller gave none (the Messages API requires one).
DEFAULT_MAX_TOKENS = 4096
#: ``reasoning_effort`` -> thinking budget (``budget_tokens``; Anthropic's minimum is 1,024).
EFFORT_BUDGETS: Mapping[str, int] = {"low": 1024, "medium": 4096, "high": 16384}
#: Generation parameters the Messages API has no field for.
_UNSUPPORTED = ("seed", "frequency_penalty", "presence_penalty", "repetition_penalty", "lora")
#: Anthropic ``stop_reason`` -> the neutral (OpenAI) finish reason.
STOP_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_DATA_URI_RE = re.compile(r"^data:(image/[a-zA-Z0-9.+-]+);base64,(.*)$", re.DOTALL)


# -- request --------------------------------------------------------------------------------------
def _image_block(part: ImagePart, index: int) -> dict[str, Any]:
    match = _DATA_URI_RE.match(part.url)
    if match:
        data = "".join(match.group(2).split())
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": match.group(1), "data": data},
        }
    if part.url.startswith("https://"):
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    shown = part.url if len(part.url) <= 60 else part.url[:57] + "..."
    raise InvalidRequestError(
        f"Message {index}: image {shown!r} is neither a base64 data URI nor an https URL; "
        "Anthropic's Messages API takes those two forms."
    )


def _content_blocks(content: str | Sequence[ContentPart], index: int) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(_image_block(part, index))
    return blocks


def _tool_use(call: ToolCall, index: int) -> dict[str, Any]:
    arguments = call.arguments
    if arguments is None:
        raise InvalidRequestError(
            f"Message {index}: tool call {call.name!r} has arguments that are not a JSON object "
            f"({call.error or 'unparseable'}); Anthropic's tool_use blocks need an object."
        )
    if not call.id:
        raise InvalidRequestError(f"Message {index}: tool call {call.name!r} has no id.")
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(arguments)}


#: Reasoning blocks the Messages API takes back.
_REASONING_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def _reasoning_blocks(blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """An assistant message's own thinking blocks, sent back as received (Anthropic checks
    their signatures; it needs them with the tool calls of a turn when thinking is on).
    Blocks of other providers or without their signature are not Anthropic's to take back."""
    kept: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "thinking" and isinstance(block.get("signature"), str):
            kept.append({"type": kind, "thinking": str(block.get("thinking") or ""),
                         "signature": block["signature"]})  # fmt: skip
        elif kind == "redacted_thinking" and isinstance(block.get("data"), str):
            kept.append({"type": kind, "data": block["data"]})
    return kept  # the documented fields only (langchain-anthropic's blocks carry an index)


def _system_prompt(messages: Sequence[Message]) -> tuple[str | None, int]:
    """The leading system messages joined, and how many there were."""
    texts: list[str] = []
    for index, message in enumerate(messages):
        if message.role != "system":
            break
        texts.append(text_only(message.content, index, "a system message"))
    return ("\n\n".join(t for t in texts if t) or None), len(texts)


def _turns(messages: Sequence[Message], start: int) -> list[dict[str, Any]]:
    """Anthropic turns: tool results join the next user turn; same-role turns are merged."""
    turns: list[dict[str, Any]] = []
    for index in range(start, len(messages)):
        message = messages[index]
        if message.role == "system":
            raise InvalidRequestError(
                f"Message {index} is a system message after the conversation started; "
                "Anthropic's Messages API takes one system prompt, first. Move it to the start "
                "or make it a user message."
            )
        if message.role == "tool":
            if not message.tool_call_id:
                raise InvalidRequestError(
                    f"Message {index} is a tool result without tool_call_id; pass the id of "
                    "the tool call it answers."
                )
            text = text_only(message.content, index, "a tool result")
            blocks: list[dict[str, Any]] = [
                {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": text}
            ]
            role = "user"
        elif message.role == "assistant":
            blocks = _reasoning_blocks(message.reasoning_blocks)  # first, as they came
            blocks += _content_blocks(message.content, index)
            blocks += [_tool_use(call, index) for call in message.tool_calls]
            role = "assistant"
        elif message.role == "user":
            blocks = _content_blocks(message.content, index)
            role = "user"
        else:
            raise InvalidRequestError(
                f"Message {index} has role {message.role!r}; use system, user, assistant or tool."
            )
        if not blocks:
            if role == "user":
                raise InvalidRequestError(
                    f"Message {index} is an empty user message; Anthropic's Messages API "
                    "rejects empty text. Leave it out or give it text."
                )
            continue  # an empty assistant turn says nothing
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise InvalidRequestError(
            "messages has no user or assistant message; Anthropic's Messages API needs at least "
            "one besides the system prompt."
        )
    return turns


def _tools(request: ChatRequest) -> dict[str, Any]:
    functions, choice = function_tools(request)
    if not functions:
        return {}
    tools = []
    for function in functions:
        wire = {"name": function["name"], "input_schema": function.get("parameters")}
        if function.get("description"):
            wire["description"] = function["description"]
        wire["input_schema"] = wire["input_schema"] or {"type": "object", "properties": {}}
        tools.append(wire)
    body: dict[str, Any] = {"tools": tools}
    wire_choice: dict[str, Any] | None = None
    if isinstance(choice, dict):
        wire_choice = {"type": "tool", "name": choice["function"]["name"]}
    elif choice is not None:
        kinds = {"auto": "auto", "none": "none", "required": "any", "any": "any"}
        wire_choice = {"type": kinds.get(choice, "auto")}
    if request.parallel_tool_calls is False:
        wire_choice = wire_choice or {"type": "auto"}
        if wire_choice["type"] != "none":
            wire_choice["disable_parallel_tool_use"] = True
    if wire_choice is not None:
        body["tool_choice"] = wire_choice
    return body


def _params(model: str, request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {}
    effort = None
    api = "Anthropic's Messages API"
    for name, value in sendable_params(
        model, request.params, api=api, unsupported=_UNSUPPORTED, stacklevel=6
    ):
        if name == "stop":
            body["stop_sequences"] = [value] if isinstance(value, str) else list(value)
        elif name == "reasoning_effort":
            effort = value
        else:
            body[name] = value
    thinking = request.extra.get("thinking")
    if effort is not None and thinking is None:
        if effort not in EFFORT_BUDGETS:
            raise InvalidRequestError(
                f"reasoning_effort={effort!r}: use {', '.join(EFFORT_BUDGETS)} (thinking budgets "
                f"{', '.join(map(str, EFFORT_BUDGETS.values()))}), or pass thinking="
                "{'type': 'enabled', 'budget_tokens': n}."
            )
        body["thinking"] = {"type": "enabled", "budget_tokens": EFFORT_BUDGETS[effort]}
    return body


def _check_thinking(body: dict[str, Any], max_tokens_given: bool) -> None:
    thinking = body.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
        raise InvalidRequestError(
            f"thinking.budget_tokens={budget!r}: Anthropic needs a whole number of at least 1024."
        )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise InvalidRequestError(
            "Anthropic's extended thinking allows tool_choice auto or none only, and this call "
            f"forces a tool ({choice}; structured output does): turn thinking off for it "
            "(reasoning_effort=None, no thinking=...) or let the model choose (tool_choice="
            "'auto')."
        )
    for name, allowed in (("temperature", (1, 1.0)), ("top_k", ())):
        if name in body and body[name] not in allowed:
            raise InvalidRequestError(
                f"{name}={body[name]!r} cannot be used with Anthropic's extended thinking"
                + (" (only 1)" if allowed else "")
                + f"; leave {name} unset or turn thinking off."
            )
    top_p = body.get("top_p")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.95 <= top_p <= 1):
        raise InvalidRequestError(
            f"top_p={top_p!r}: with Anthropic's extended thinking it must be from 0.95 to 1; "
            "leave it unset or turn thinking off."
        )
    if not max_tokens_given:
        body["max_tokens"] = budget + DEFAULT_MAX_TOKENS
    elif body["max_tokens"] <= budget:
        raise InvalidRequestError(
            f"max_tokens={body['max_tokens']} must be more than thinking.budget_tokens={budget} "
            "(the budget is part of max_tokens); raise max_tokens or lower the budget."
        )


def build_messages_body(model: str, request: ChatRequest) -> dict[str, Any]:
    """The Messages API body for ``request`` (``model`` and ``stream`` are added by the client).

    Raises:
        InvalidRequestError: What the Messages API cannot take (module docs), before any
            request: a late system message, a tool result without its call id, JSON mode, an
            image that is neither a data URI nor an https URL, a thinking budget that does not
            fit ``max_tokens``, an unknown parameter.
    """
    if not request.messages:
        raise InvalidRequestError("messages is empty; send at least one message.")
    check_against_catalog(model, request)
    if request.json_schema is not None or request.json_object:
        raise InvalidRequestError(
            f"{model}: Anthropic's Messages API has no JSON mode. Use structured output by tool "
            "call (LangChain with_structured_output(method='function_calling'), the default "
            "for this model) or send this model through the OpenAI-shaped route "
            "(endpoint='openai')."
        )
    system, count = _system_prompt(request.messages)
    body: dict[str, Any] = {}
    if system is not None:
        body["system"] = system
    body["messages"] = _turns(request.messages, count)
    body.update(_params(model, request))
    max_tokens_given = "max_tokens" in body
    body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    body.update(_tools(request))
    for key, value in request.extra.items():
        if key in ("messages", "stream", "model"):
            raise InvalidRequestError(f"{key!r} cannot be set through model_kwargs.")
        if key == "system" and not isinstance(value, str):
            raise InvalidRequestError(
                "system must be a string on Anthropic's Messages route through Cloudflare."
            )
        check_generation_param(key, value)
        body[key] = value
    _check_thinking(body, max_tokens_given or "max_tokens" in request.extra)
    return body


# -- answer ---------------------------------------------------------------------------------------
def is_messages_answer(body: Any) -> bool:
    """Whether ``body`` is an Anthropic ``message`` object."""
    return (
        isinstance(body, Mapping)
        and body.get("type") == "message"
        and isinstance(body.get("content"), list)
    )


def messages_usage(raw: Any) -> Usage | None:
    """A Messages ``usage`` as :class:`Usage`: ``input_tokens`` counts every prompt token (the
    wire's ``input_tokens`` excludes the cached ones, so cache reads and writes are added, as
    LangChain's Anthropic integration does); ``cached_tokens`` are the cache reads,
    ``cache_creation_tokens`` the cache writes."""
    if not isinstance(raw, Mapping):
        return None
    fresh = int_from_wire(raw.get("input_tokens"))
    output = int_from_wire(raw.get("output_tokens"))
    read = int_from_wire(raw.get("cache_read_input_tokens"))
    written = int_from_wire(raw.get("cache_creation_input_tokens"))
    if fresh is None and output is None and read is None and written is None:
        return None
    prompt = (fresh or 0) + (read or 0) + (written or 0)
    return Usage(
        input_tokens=prompt,
        output_tokens=output or 0,
        total_tokens=prompt + (output or 0),
        cached_tokens=read,
        cache_creation_tokens=written,
        cost=float_from_wire(raw.get("cost")),
    )


@dataclass
class MessagesParts:
    """What a ``message`` says, before the common result rules.

    Attributes:
        text: The text blocks joined.
        reasoning: The thinking blocks joined.
        raw_tool_calls: ``tool_use`` blocks as ``{"id", "name", "arguments"}``.
        finish_reason: The neutral finish reason for ``stop_reason``.
        reasoning_blocks: The ``thinking`` / ``redacted_thinking`` blocks, to send back.
    """

    text: str = ""
    reasoning: list[str] = field(default_factory=list)
    raw_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    reasoning_blocks: list[dict[str, Any]] = field(default_factory=list)


def messages_parts(body: Mapping[str, Any]) -> MessagesParts:
    """Read a ``message``'s content blocks (text, thinking, tool_use) and stop reason;
    ``redacted_thinking`` and unknown blocks carry nothing to show."""
    parts = MessagesParts()
    texts: list[str] = []
    for block in body.get("content") or ():
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            if block["thinking"]:
                parts.reasoning.append(block["thinking"])
            parts.reasoning_blocks.extend(_reasoning_blocks([block]))
        elif kind == "redacted_thinking":
            parts.reasoning_blocks.extend(_reasoning_blocks([block]))
        elif kind == "tool_use":
            parts.raw_tool_calls.append(
                {"id": block.get("id"), "name": block.get("name"), "arguments": block.get("input")}
            )
    parts.text = "".join(texts)
    reason = body.get("stop_reason")
    if isinstance(reason, str) and reason:
        parts.finish_reason = STOP_REASONS.get(reason, reason)
    return parts


# -- stream ---------------------------------------------------------------------------------------
#: Event types of the Messages stream (spec §1.5; Anthropic's streaming docs).
MESSAGES_EVENTS = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
     "message_delta", "message_stop", "ping"}
)  # fmt: skip


class MessagesStreamState:
    """Reads the events of one Messages stream.

    Usage is reported once, on ``message_delta``: the prompt side from ``message_start``
    (cache reads and writes included), the output tokens from ``message_delta`` (cumulative).
    A ``thinking`` block (text from ``thinking_delta``, ``signature`` from ``signature_delta``) or
    a ``redacted_thinking`` block is handed over whole when it stops, to be sent back later.
    A ``tool_use`` block becomes a tool-call fragment at its block index (``id`` and ``name``),
    its ``input_json_delta`` pieces the arguments; a block that starts with a non-empty
    ``input`` (sent whole rather than streamed) gives those arguments at once.
    """

    def __init__(self) -> None:
        self._prompt: Usage | None = None
        self._tool_blocks: dict[int, bool] = {}  # block index -> input delta seen
        self._thinking_block: int | None = None  # the block the last reasoning came from
        self._open_blocks: dict[int, dict[str, Any]] = {}  # reasoning blocks being streamed

    def read(self, event: Mapping[str, Any]) -> WireDelta:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message")
            message = message if isinstance(message, Mapping) else {}
            self._prompt = messages_usage(message.get("usage"))
            model, id_ = message.get("model"), message.get("id")
            return WireDelta(
                model=model if isinstance(model, str) and model else None,
                id=id_ if isinstance(id_, str) and id_ else None,
            )
        index = event.get("index")
        if kind == "content_block_start" and isinstance(index, int):
            return self._block_start(index, event.get("content_block"))
        if kind == "content_block_delta" and isinstance(index, int):
            return self._block_delta(index, event.get("delta"))
        if kind == "content_block_stop" and isinstance(index, int):
            finished = self._open_blocks.pop(index, None)
            done: list[Mapping[str, Any]] = [*_reasoning_blocks([finished] if finished else [])]
            return WireDelta(reasoning_blocks=done)
        if kind == "message_delta":
            return self._message_delta(event)
        return WireDelta()  # ping, message_stop, an event type added later

    def _block_start(self, index: int, block: Any) -> WireDelta:
        if not isinstance(block, Mapping):
            return WireDelta()
        kind = block.get("type")
        if kind == "tool_use":
            initial = block.get("input")
            whole = isinstance(initial, Mapping) and bool(initial)  # sent whole, not as deltas
            self._tool_blocks[index] = whole
            arguments = json.dumps(initial, ensure_ascii=False) if whole else ""
            function = {"name": block.get("name"), "arguments": arguments}
            fragment = {"index": index, "id": block.get("id"), "function": function}
            return WireDelta(tool_fragments=[fragment])
        if kind == "text" and isinstance(block.get("text"), str):
            return WireDelta(text=block["text"])
        if kind in _REASONING_BLOCKS:
            self._open_blocks[index] = dict(block)  # completed by deltas, sent at its stop
        if kind == "thinking" and isinstance(block.get("thinking"), str):
            return WireDelta(reasoning=self._reasoning(index, block["thinking"]))
        return WireDelta()

    def _reasoning(self, index: int, text: str) -> str:
        """``text`` of thinking block ``index``; a later block's first piece starts with a blank
        line, as the blocks of a whole message are joined (:func:`messages_parts`)."""
        if not text:
            return ""
        if self._thinking_block is not None and index != self._thinking_block:
            text = "\n\n" + text
        self._thinking_block = index
        return text

    def _block_delta(self, index: int, delta: Any) -> WireDelta:
        if not isinstance(delta, Mapping):
            return WireDelta()
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            return WireDelta(text=delta["text"])
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            if index in self._open_blocks:
                open_block = self._open_blocks[index]
                open_block["thinking"] = str(open_block.get("thinking") or "") + delta["thinking"]
            return WireDelta(reasoning=self._reasoning(index, delta["thinking"]))
        if kind == "signature_delta" and isinstance(delta.get("signature"), str):
            if index in self._open_blocks:
                open_block = self._open_blocks[index]
                open_block["signature"] = (
                    str(open_block.get("signature") or "") + delta["signature"]
                )
            return WireDelta()
        if (
            kind == "input_json_delta"
            and isinstance(delta.get("partial_json"), str)
            and index in self._tool_blocks  # not a server tool's (web search...) input
        ):
            self._tool_blocks[index] = True
            fragment = {"index": index, "function": {"arguments": delta["partial_json"]}}
            return WireDelta(tool_fragments=[fragment])
        return WireDelta()  # signature_delta, citations_delta...

    def _message_delta(self, event: Mapping[str, Any]) -> WireDelta:
        delta = event.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, Mapping) else None
        finish = STOP_REASONS.get(reason, reason) if isinstance(reason, str) and reason else None
        reported = messages_usage(event.get("usage"))
        prompt = self._prompt
        usage = None
        if reported is not None or prompt is not None:
            usage = _combined(prompt, reported, event.get("usage"))
        return WireDelta(finish_reason=finish, usage=usage)


def _combined(prompt: Usage | None, reported: Usage | None, raw: Any) -> Usage:
    """``message_start``'s prompt side with ``message_delta``'s output (a ``message_delta``
    that reports prompt tokens too, as newer API versions do, wins for those)."""
    raw = raw if isinstance(raw, Mapping) else {}
    has_prompt = any(
        int_from_wire(raw.get(k)) is not None
        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    source = reported if (has_prompt and reported is not None) else prompt
    if reported is not None and int_from_wire(raw.get("output_tokens")) is not None:
        output = reported.output_tokens
    else:  # message_delta without output tokens: message_start's count is all there is
        output = prompt.output_tokens if prompt is not None else 0
    input_tokens = source.input_tokens if source is not None else 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output,
        total_tokens=input_tokens + output,
        cached_tokens=source.cached_tokens if source is not None else None,
        cache_creation_tokens=source.cache_creation_tokens if source is not None else None,
    )
