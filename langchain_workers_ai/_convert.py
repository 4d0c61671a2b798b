"""Pure conversions between LangChain messages and the core's neutral types."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolMessage,
    UsageMetadata,
)
from langchain_core.messages import ToolCall as LCToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from workers_ai.catalog import ModelInfo
from workers_ai.errors import InvalidRequestError
from workers_ai.messages import ContentPart, ImagePart, Message, TextPart
from workers_ai.tools import coerce_arguments, synthesize_tool_call_id
from workers_ai.types import ChatDelta, ChatResult, ResponseMeta, ToolCall, Usage

__all__ = [
    "PROVIDER",
    "catalog_to_profile",
    "delta_to_ai_chunk",
    "lc_messages_to_neutral",
    "response_metadata",
    "result_to_ai_message",
    "tool_calls_to_chunks",
    "tool_calls_to_lc",
    "usage_to_lc",
]

PROVIDER = "cloudflare-workers-ai"

# Blocks that carry no content the model should see again (they are our own output).
_SKIPPED_BLOCKS = {"reasoning", "thinking", "redacted_thinking", "tool_call", "tool_call_chunk"}


# -- LangChain -> neutral ---------------------------------------------------------------------
def _image_url_from_block(block: Mapping[str, Any], index: int) -> str:
    """A data URI from a LangChain standard, v0 or OpenAI image block."""
    kind = block.get("type")
    if kind == "image_url":
        raw = block.get("image_url")
        url = raw.get("url") if isinstance(raw, Mapping) else raw
        return str(url or "")
    data = block.get("base64") or (
        block.get("data") if block.get("source_type") == "base64" else None
    )
    if data:
        mime = block.get("mime_type") or "image/png"
        return f"data:{mime};base64,{data}"
    if block.get("url"):
        return str(block["url"])
    if kind == "image" and isinstance(block.get("source"), Mapping):  # Anthropic style
        source = block["source"]
        if source.get("type") == "base64":
            return f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        return str(source.get("url", ""))
    raise InvalidRequestError(
        f"Message {index}: an image block needs base64 data or a data URI; "
        f"got keys {sorted(block)}."
    )


def _block_to_part(block: Any, index: int) -> ContentPart | ToolCall | None:
    if isinstance(block, str):
        return TextPart(block)
    if not isinstance(block, Mapping):
        raise InvalidRequestError(f"Message {index}: content item {block!r} is not a block.")
    kind = block.get("type")
    if kind == "text":
        return TextPart(str(block.get("text", "")))
    if kind in ("image", "image_url"):
        return ImagePart(_image_url_from_block(block, index))
    if kind == "tool_use":  # Anthropic-style tool call in an AI message's content
        args = block.get("input") or {}
        raw = json.dumps(args, ensure_ascii=False)
        return ToolCall(
            id=str(block.get("id") or ""),
            name=str(block.get("name")),
            arguments=args,
            raw_arguments=raw,
        )
    if kind in _SKIPPED_BLOCKS:
        return None
    raise InvalidRequestError(
        f"Message {index}: content block type {kind!r} is not supported by Workers AI; "
        "use text and image blocks (images as base64 data)."
    )


def _content_to_neutral(
    content: str | list[Any], index: int
) -> tuple[str | list[ContentPart], list[ToolCall]]:
    if isinstance(content, str):
        return content, []
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    for block in content:
        item = _block_to_part(block, index)
        if isinstance(item, ToolCall):
            calls.append(item)
        elif item is not None:
            parts.append(item)
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart)), calls
    return parts, calls


def _lc_tool_call_to_neutral(call: Mapping[str, Any], index: int) -> ToolCall:
    args = call.get("args") or {}
    raw = json.dumps(args, ensure_ascii=False)
    call_id = call.get("id") or synthesize_tool_call_id(str(call.get("name")), raw, index)
    return ToolCall(
        id=str(call_id), name=str(call.get("name")), arguments=dict(args), raw_arguments=raw
    )


def _ai_to_neutral(message: AIMessage, index: int) -> Message:
    content, content_calls = _content_to_neutral(message.content, index)
    calls = [_lc_tool_call_to_neutral(c, i) for i, c in enumerate(message.tool_calls)]
    known = {c.id for c in calls}
    calls += [c for c in content_calls if c.id not in known]
    if isinstance(content, list):
        content = "".join(p.text for p in content if isinstance(p, TextPart))
    return Message(
        "assistant", content, tool_calls=calls, name=message.name,
        reasoning_blocks=_reasoning_blocks(message),
    )  # fmt: skip


def _reasoning_blocks(message: AIMessage) -> list[Mapping[str, Any]]:
    """The provider's reasoning blocks of an earlier answer, to send back: ours
    (``additional_kwargs["reasoning_blocks"]``), or ``thinking`` blocks in the content (as
    langchain-anthropic keeps them). Which ones an API takes is the core's decision."""
    ours = message.additional_kwargs.get("reasoning_blocks")
    if isinstance(ours, list):
        return [b for b in ours if isinstance(b, Mapping)]
    if isinstance(message.content, str):
        return []
    kinds = ("thinking", "redacted_thinking")
    return [b for b in message.content if isinstance(b, Mapping) and b.get("type") in kinds]


def _tool_to_neutral(message: ToolMessage, index: int) -> Message:
    content, _ = _content_to_neutral(message.content, index)
    if not isinstance(content, str):
        content = "".join(p.text for p in content if isinstance(p, TextPart))
    if message.status == "error" and not content.lower().startswith("error"):
        content = f"Error: {content}"
    return Message("tool", content, tool_call_id=message.tool_call_id, name=message.name)


def lc_messages_to_neutral(messages: Sequence[BaseMessage]) -> list[Message]:
    """Convert a LangChain conversation to neutral messages (raises on what cannot be sent)."""
    out: list[Message] = []
    for index, message in enumerate(messages):
        if isinstance(message, AIMessage):
            out.append(_ai_to_neutral(message, index))
        elif isinstance(message, ToolMessage):
            out.append(_tool_to_neutral(message, index))
        elif isinstance(message, (HumanMessage, SystemMessage)):
            content, _ = _content_to_neutral(message.content, index)
            if isinstance(message, HumanMessage):
                out.append(Message("user", content, name=message.name))
            else:
                out.append(Message("system", content, name=message.name))
        elif isinstance(message, ChatMessage) and message.role in ("user", "system", "assistant"):
            content, _ = _content_to_neutral(message.content, index)
            out.append(Message(message.role, content, name=message.name))  # type: ignore[arg-type]
        elif isinstance(message, FunctionMessage):
            raise InvalidRequestError(
                f"Message {index} is a FunctionMessage; use ToolMessage with a tool_call_id."
            )
        else:
            raise InvalidRequestError(
                f"Message {index} has unsupported type {type(message).__name__}; use System, "
                "Human, AI or Tool messages."
            )
    return out


# -- neutral -> LangChain ---------------------------------------------------------------------
def usage_to_lc(usage: Usage) -> UsageMetadata:
    """LangChain ``usage_metadata`` from core usage (cache reads and writes when reported)."""
    metadata = cast(
        "UsageMetadata",
        {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
        },
    )
    details: dict[str, int] = {}
    if usage.cached_tokens is not None:
        details["cache_read"] = usage.cached_tokens
    if usage.cache_creation_tokens is not None:
        details["cache_creation"] = usage.cache_creation_tokens
    if details:
        metadata["input_token_details"] = cast("Any", details)
    return metadata


def _coerced(call: ToolCall, schemas: Mapping[str, Any]) -> dict[str, Any]:
    args = call.arguments or {}
    schema = schemas.get(call.name)
    return coerce_arguments(args, schema) if schema else dict(args)


def tool_calls_to_lc(
    calls: Sequence[ToolCall], invalid: Sequence[ToolCall], schemas: Mapping[str, Any]
) -> tuple[list[LCToolCall], list[InvalidToolCall]]:
    """Valid calls (arguments coerced to the bound schema when lossless) and invalid ones."""
    valid = [tool_call(name=c.name, args=_coerced(c, schemas), id=c.id) for c in calls]
    bad = [
        invalid_tool_call(name=c.name, args=c.raw_arguments, id=c.id, error=c.error)
        for c in invalid
    ]
    return valid, bad


def response_metadata(
    model: str, meta: ResponseMeta | None, *, finish_reason: str | None, usage: Usage | None
) -> dict[str, Any]:
    """``response_metadata``: the model that answered, finish reason, neurons, the cost the
    response reported (USD, ``cost``), the estimated cost (``estimated_cost_usd``, and
    ``estimated_neurons`` where none were reported: :func:`workers_ai.usage.cost_fields`), and
    the request's ids and AI Gateway facts (:meth:`~workers_ai.types.ResponseMeta.summary`)."""
    from workers_ai.usage import cost_fields

    out: dict[str, Any] = {"model_name": model, "model_provider": PROVIDER}
    if finish_reason:
        out["finish_reason"] = finish_reason
    if usage is not None and usage.neurons is not None:
        out["neurons"] = usage.neurons
    if usage is not None and usage.cost is not None:
        out["cost"] = usage.cost
    out.update(cost_fields(model, usage))
    if meta is not None:
        out.update(meta.summary())
    return out


def result_to_ai_message(
    result: ChatResult, meta: ResponseMeta | None, model: str, schemas: Mapping[str, Any]
) -> AIMessage:
    """A complete answer as an ``AIMessage`` (reasoning in ``additional_kwargs``)."""
    valid, invalid = tool_calls_to_lc(result.tool_calls, result.invalid_tool_calls, schemas)
    additional: dict[str, Any] = {}
    if result.reasoning:
        additional["reasoning_content"] = result.reasoning
    if result.reasoning_blocks:  # sent back on the next turn (Anthropic's thinking blocks)
        additional["reasoning_blocks"] = [dict(b) for b in result.reasoning_blocks]
    return AIMessage(
        content=result.text,
        additional_kwargs=additional,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage_metadata=usage_to_lc(result.usage) if result.usage else None,
        response_metadata=response_metadata(
            result.model or model, meta, finish_reason=result.finish_reason, usage=result.usage
        ),
        id=result.id,
    )


def delta_to_ai_chunk(delta: ChatDelta) -> AIMessageChunk:
    """One streamed increment (text, reasoning) as an ``AIMessageChunk``.

    Tool calls and usage are added by the caller at the end of the stream, once.
    """
    if delta.reasoning:
        return AIMessageChunk(
            content=delta.text, additional_kwargs={"reasoning_content": delta.reasoning}
        )
    return AIMessageChunk(content=delta.text)  # no dict of ours: LangChain's default is empty


def tool_calls_to_chunks(
    calls: Sequence[ToolCall], invalid: Sequence[ToolCall], schemas: Mapping[str, Any]
) -> list[Any]:
    """``tool_call_chunks`` for complete calls (arguments coerced), in order, by index."""
    chunks = []
    for index, call in enumerate([*calls, *invalid]):
        args = (
            json.dumps(_coerced(call, schemas), ensure_ascii=False)
            if call.is_valid
            else call.raw_arguments
        )
        chunks.append(tool_call_chunk(name=call.name, args=args, id=call.id, index=index))
    return chunks


# -- catalog -> LangChain -----------------------------------------------------------------------
def catalog_to_profile(info: ModelInfo) -> ModelProfile | None:
    """``ChatWorkersAI.profile`` from a catalog entry: only what the catalog knows.

    ``max_output_tokens`` is the context window: Workers AI publishes no separate output limit,
    the window bounds input and output together (the *default* ``max_tokens`` is 256).
    Unknown models get ``None`` (LangChain's "no profile").
    """
    if not info.known:
        return None
    profile = ModelProfile(
        text_inputs=True,
        text_outputs=True,
        image_inputs=info.vision,
        image_url_inputs=False,  # data URIs only; Workers AI does not fetch URLs
        pdf_inputs=False,
        audio_inputs=False,
        video_inputs=False,
        tool_call_streaming=info.streaming,
    )
    if info.context_window is not None:
        profile["max_input_tokens"] = info.context_window
        profile["max_output_tokens"] = info.context_window
    if info.function_calling is not None:
        profile["tool_calling"] = info.function_calling
        profile["tool_choice"] = info.function_calling and "tool_choice" not in (
            info.unsupported_params
        )
    if info.json_mode is not None:
        profile["structured_output"] = True
    if info.reasoning is not None:
        profile["reasoning_output"] = info.reasoning
    if info.reasoning and info.reasoning_effort:
        profile["reasoning_effort_levels"] = ["low", "medium", "high"]
    return profile
