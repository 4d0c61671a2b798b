"""Pure conversions between LlamaIndex chat types and the core's neutral types."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.utils import parse_partial_json

from workers_ai.envelope import json_too_deep
from workers_ai.errors import InvalidRequestError
from workers_ai.messages import ContentPart, ImagePart, Message, TextPart
from workers_ai.tools import coerce_arguments, synthesize_tool_call_id
from workers_ai.types import ChatDelta, ChatResult, ResponseMeta, ToolCall, Usage

__all__ = [
    "StreamedMessage",
    "assistant_message",
    "coerced_calls",
    "li_messages_to_neutral",
    "partial_json_arguments",
    "response_kwargs",
    "result_to_message",
    "tool_calls_to_kwargs",
    "usage_to_kwargs",
]

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


# -- LlamaIndex -> neutral ----------------------------------------------------------------------
def _image_to_part(block: ImageBlock, index: int) -> ImagePart:
    url = str(block.url) if block.url is not None else None
    if url is not None and not url.startswith("data:"):
        raise InvalidRequestError(
            f"Message {index}: image URL {url[:60]!r} is not a data URI. Workers AI accepts only "
            "base64 images; load it as ImageBlock(image=...) or ImageBlock(path=...)."
        )
    if url is not None:
        return ImagePart(url)
    block = block.model_copy()
    if not block.image_mimetype:
        block.image_mimetype = "image/png"
    return ImagePart(block.inline_url())


def _arguments_from(value: Any) -> tuple[dict[str, Any], str]:
    if isinstance(value, Mapping):
        return dict(value), json.dumps(value, ensure_ascii=False)
    raw = str(value or "{}")
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return (parsed if isinstance(parsed, dict) else {}), raw


def _tool_call_from_block(block: ToolCallBlock, index: int) -> ToolCall:
    args, raw = _arguments_from(block.tool_kwargs)
    call_id = block.tool_call_id or synthesize_tool_call_id(block.tool_name, raw, index)
    return ToolCall(id=call_id, name=block.tool_name, arguments=args, raw_arguments=raw)


def _tool_call_from_kwargs(raw: Any, index: int) -> ToolCall:
    """A tool call stored in ``additional_kwargs["tool_calls"]`` (dict or OpenAI object)."""
    data = raw if isinstance(raw, Mapping) else getattr(raw, "model_dump", lambda: {})()
    function = data.get("function") or {}
    args, text = _arguments_from(function.get("arguments"))
    name = str(function.get("name"))
    call_id = data.get("id") or synthesize_tool_call_id(name, text, index)
    return ToolCall(id=str(call_id), name=name, arguments=args, raw_arguments=text)


def _blocks_to_content(
    message: ChatMessage, index: int
) -> tuple[str | list[ContentPart], list[ToolCall]]:
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append(TextPart(block.text))
        elif isinstance(block, ImageBlock):
            parts.append(_image_to_part(block, index))
        elif isinstance(block, ToolCallBlock):
            calls.append(_tool_call_from_block(block, len(calls)))
        elif isinstance(block, ThinkingBlock):
            continue  # the model's own earlier reasoning is not sent back
        else:
            raise InvalidRequestError(
                f"Message {index}: {type(block).__name__} is not supported by Workers AI; "
                "use text and image blocks."
            )
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart)), calls
    return parts, calls


def li_messages_to_neutral(messages: Sequence[ChatMessage]) -> list[Message]:
    """Convert a LlamaIndex conversation to neutral messages (raises on what cannot be sent)."""
    out: list[Message] = []
    for index, message in enumerate(messages):
        role = _ROLES.get(MessageRole(message.role))
        if role is None:
            raise InvalidRequestError(f"Message {index} has unsupported role {message.role!r}.")
        content, calls = _blocks_to_content(message, index)
        extra = message.additional_kwargs
        if role == "assistant":
            if not calls:
                calls = [
                    _tool_call_from_kwargs(c, i)
                    for i, c in enumerate(extra.get("tool_calls") or [])
                ]
            text = (
                content
                if isinstance(content, str)
                else "".join(p.text for p in content if isinstance(p, TextPart))
            )
            blocks = extra.get("reasoning_blocks")  # ours, from an earlier answer: sent back
            reasoning_blocks = (
                [b for b in blocks if isinstance(b, Mapping)] if isinstance(blocks, list) else []
            )
            out.append(
                Message("assistant", text, tool_calls=calls, reasoning_blocks=reasoning_blocks)
            )
        elif role == "tool":
            text = (
                content
                if isinstance(content, str)
                else "".join(p.text for p in content if isinstance(p, TextPart))
            )
            out.append(
                Message(
                    "tool",
                    text,
                    tool_call_id=extra.get("tool_call_id"),
                    name=extra.get("name") or extra.get("tool_name"),
                )
            )
        else:
            out.append(Message(role, content, name=extra.get("name")))  # type: ignore[arg-type]
    return out


# -- neutral -> LlamaIndex ----------------------------------------------------------------------
def coerced_calls(calls: Sequence[ToolCall], schemas: Mapping[str, Any]) -> list[ToolCall]:
    """Tool calls with arguments coerced to their tool's schema when lossless."""
    out = []
    for call in calls:
        schema = schemas.get(call.name)
        if call.arguments is not None and schema:
            args = coerce_arguments(call.arguments, schema)
            out.append(ToolCall(call.id, call.name, args, json.dumps(args, ensure_ascii=False)))
        else:
            out.append(call)
    return out


def tool_calls_to_kwargs(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """OpenAI-style dicts for ``additional_kwargs["tool_calls"]``."""
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.raw_arguments},
        }
        for c in calls
    ]


def _tool_call_to_block(call: ToolCall) -> ToolCallBlock:
    kwargs: dict[str, Any] | str = (
        call.arguments if call.arguments is not None else call.raw_arguments
    )
    return ToolCallBlock(tool_call_id=call.id, tool_name=call.name, tool_kwargs=kwargs)


def assistant_message(
    text: str,
    reasoning: str | None,
    calls: Sequence[ToolCall],
    reasoning_blocks: Sequence[Mapping[str, Any]] = (),
) -> ChatMessage:
    """An assistant ``ChatMessage``: thinking, text and tool-call blocks (+ kwargs copy; the
    provider's own reasoning blocks in ``additional_kwargs["reasoning_blocks"]``, sent back
    with this message on later turns)."""
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    blocks.append(TextBlock(text=text))
    blocks.extend(_tool_call_to_block(call) for call in calls)
    extra: dict[str, Any] = {}
    if calls:
        extra["tool_calls"] = tool_calls_to_kwargs(calls)
    if reasoning:
        extra["reasoning_content"] = reasoning
    if reasoning_blocks:
        extra["reasoning_blocks"] = [dict(b) for b in reasoning_blocks]
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def response_kwargs(result: ChatResult, meta: ResponseMeta | None, model: str) -> dict[str, Any]:
    """A ``ChatResponse``'s ``additional_kwargs``: token counts (:func:`usage_to_kwargs`), the
    estimated cost (``estimated_cost_usd``, and ``estimated_neurons`` where none were
    reported: :func:`workers_ai.usage.cost_fields`), the model that answered (``model``: the
    one asked, when the response does not say), and the request's ids and AI Gateway facts
    (:meth:`~workers_ai.types.ResponseMeta.summary`)."""
    from workers_ai.usage import cost_fields

    answered = result.model or (meta.answered_by if meta is not None else None) or model
    out = usage_to_kwargs(result.usage)
    out.update(cost_fields(answered, result.usage))
    if result.model:
        out["model"] = result.model
    if meta is not None:
        out.update(meta.summary())
    return out


def usage_to_kwargs(usage: Usage | None) -> dict[str, Any]:
    """Token counts in the keys LlamaIndex's token counter reads."""
    if usage is None:
        return {}
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens is not None:
        out["cached_tokens"] = usage.cached_tokens
    if usage.cache_creation_tokens is not None:
        out["cache_creation_tokens"] = usage.cache_creation_tokens
    if usage.neurons is not None:
        out["neurons"] = usage.neurons
    if usage.cost is not None:  # USD, as the response reported it (never estimated)
        out["cost"] = usage.cost
    return out


def result_to_message(result: ChatResult, schemas: Mapping[str, Any]) -> ChatMessage:
    calls = coerced_calls(result.tool_calls, schemas) + list(result.invalid_tool_calls)
    return assistant_message(result.text, result.reasoning, calls, result.reasoning_blocks)


# -- neutral stream -> LlamaIndex ---------------------------------------------------------------
def partial_json_arguments(text: str) -> dict[str, Any] | None:
    """Arguments parsed from a (possibly incomplete) JSON object, ``None`` if not yet one."""
    if not text.strip():
        return {}
    if json_too_deep(text):  # LlamaIndex's parser recurses without a bound
        return None
    try:
        parsed = parse_partial_json(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class _PartialCall:
    """One streamed tool call so far, and its block and wire dict once built."""

    __slots__ = ("args", "block", "id", "name", "wire")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.args = ""
        self.block: ToolCallBlock | None = None  # None: changed since last built
        self.wire: dict[str, Any] = {}

    def build(self) -> None:
        call = ToolCall(self.id, self.name, partial_json_arguments(self.args), self.args)
        self.block = _tool_call_to_block(call)
        self.wire = tool_calls_to_kwargs([call])[0]


class StreamedMessage:
    """The whole assistant message of a stream so far, as LlamaIndex streams carry it.

    :meth:`add` each :class:`~workers_ai.types.ChatDelta`; :meth:`response` gives the
    ``ChatResponse`` for it: equal to ``assistant_message(text, reasoning, partial calls)``
    with ``delta`` and ``thinking_delta``, but built incrementally: a delta rebuilds only what
    it changed (the text block; the thinking block when reasoning grew; the tool calls it
    extended, whose partial arguments are parsed once per change). Unchanged blocks and
    tool-call dicts are shared by consecutive messages, so treat streamed messages as
    read-only. There is a thinking block only with reasoning, tool-call blocks only for calls.
    """

    def __init__(self) -> None:
        self.text = ""
        self.reasoning = ""
        self._thinking: ThinkingBlock | None = None
        self._calls: dict[int, _PartialCall] = {}
        self._ordered: list[_PartialCall] = []  # by index
        self.reasoning_blocks: list[dict[str, Any]] = []  # on the final delta only

    def add(self, delta: ChatDelta) -> None:
        """Add one delta to the message."""
        self.text += delta.text
        if delta.reasoning_blocks:
            self.reasoning_blocks = [dict(b) for b in delta.reasoning_blocks]
        if delta.reasoning:
            self.reasoning += delta.reasoning
            self._thinking = None
        for fragment in delta.tool_calls:
            call = self._calls.get(fragment.index)
            if call is None:
                call = self._calls[fragment.index] = _PartialCall()
                self._ordered = [self._calls[index] for index in sorted(self._calls)]
            call.id = fragment.id or call.id
            call.name = fragment.name or call.name
            call.args += fragment.arguments
            call.block = None

    def message(self) -> ChatMessage:
        """The message so far."""
        blocks: list[Any] = []
        extra: dict[str, Any] = {}
        if self.reasoning:
            if self._thinking is None:
                self._thinking = ThinkingBlock(content=self.reasoning)
            blocks.append(self._thinking)
        blocks.append(TextBlock(text=self.text))
        if self._ordered:
            for call in self._ordered:
                if call.block is None:
                    call.build()
                blocks.append(call.block)
            extra["tool_calls"] = [call.wire for call in self._ordered]
        if self.reasoning:
            extra["reasoning_content"] = self.reasoning
        if self.reasoning_blocks:
            extra["reasoning_blocks"] = self.reasoning_blocks
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)

    def response(self, delta: ChatDelta) -> ChatResponse:
        """The ``ChatResponse`` for ``delta`` (already added): the message so far, the text
        delta, and the reasoning delta as ``additional_kwargs["thinking_delta"]``."""
        extra = {"thinking_delta": delta.reasoning} if delta.reasoning else {}
        return ChatResponse(message=self.message(), delta=delta.text, additional_kwargs=extra)
