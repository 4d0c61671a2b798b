"""Pure conversions between LlamaIndex chat types and the core's neutral types."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from workers_ai.errors import InvalidRequestError
from workers_ai.messages import ContentPart, ImagePart, Message, TextPart
from workers_ai.tools import coerce_arguments, synthesize_tool_call_id
from workers_ai.types import ChatResult, ToolCall, Usage

__all__ = [
    "assistant_message",
    "coerced_calls",
    "li_messages_to_neutral",
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
            out.append(Message("assistant", text, tool_calls=calls))
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


def assistant_message(text: str, reasoning: str | None, calls: Sequence[ToolCall]) -> ChatMessage:
    """An assistant ``ChatMessage``: thinking, text and tool-call blocks (+ kwargs copy)."""
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    blocks.append(TextBlock(text=text))
    for call in calls:
        kwargs: dict[str, Any] | str = (
            call.arguments if call.arguments is not None else call.raw_arguments
        )
        blocks.append(ToolCallBlock(tool_call_id=call.id, tool_name=call.name, tool_kwargs=kwargs))
    extra: dict[str, Any] = {}
    if calls:
        extra["tool_calls"] = tool_calls_to_kwargs(calls)
    if reasoning:
        extra["reasoning_content"] = reasoning
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


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
    if usage.neurons is not None:
        out["neurons"] = usage.neurons
    return out


def result_to_message(result: ChatResult, schemas: Mapping[str, Any]) -> ChatMessage:
    calls = coerced_calls(result.tool_calls, schemas) + list(result.invalid_tool_calls)
    return assistant_message(result.text, result.reasoning, calls)
