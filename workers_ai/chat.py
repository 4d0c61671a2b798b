"""Normalisation of every text-generation output shape into :class:`ChatResult` (pure, no I/O).

Shapes handled (spec §2b): the classic ``{response, tool_calls, usage}``; the chat-completion
shape (``choices[0].message``) that newer models return inside ``result`` and that
``/ai/v1/chat/completions`` returns bare; qwen3's ``text_completion`` (``choices[0].text``); the
Responses shape (``output[]`` of ``reasoning`` / ``message`` / ``function_call`` items);
objects that mix these; and Anthropic's ``message`` (``content`` blocks, read by
:mod:`workers_ai.anthropic`). Reasoning is taken from ``reasoning_content`` / ``reasoning``,
Responses ``reasoning`` items, thinking blocks, or inline ``<think>...</think>`` (spec §5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from workers_ai.anthropic import is_messages_answer, messages_parts, messages_usage
from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError
from workers_ai.tools import parse_text_tool_calls, parse_tool_calls
from workers_ai.types import ChatResult, Usage
from workers_ai.wire_numbers import float_from_wire, int_from_wire

__all__ = [
    "finish_reason_from_responses",
    "is_encrypted_reasoning",
    "normalize_chat_result",
    "split_think",
    "usage_from_wire",
]

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_THINK_TAG_RE = re.compile(r"(</?think>)")
_KNOWN_RESULT_KEYS = frozenset({"response", "choices", "output", "output_text", "tool_calls"})
_TEXT_PART_TYPES = frozenset({"text", "output_text", "refusal"})

#: Whether :func:`normalize_chat_result` reads plain text replies (a classic ``response`` string,
#: a chat-completion message with only string ``content``) without the general merge of every
#: shape; the result is identical (``tests/unit/test_fast_paths.py`` compares both). ``False``
#: is for those tests and for ruling the fast path out when debugging.
FAST_PATHS = True

# ---------------------------------------------------------------------------------------------
# Reasoning
# ---------------------------------------------------------------------------------------------


def split_think(text: str) -> tuple[str | None, str]:
    """Split inline ``<think>...</think>`` reasoning from the answer.

    DeepSeek-R1 and QwQ on Workers AI usually omit the opening ``<think>`` (the chat template
    pre-fills it) but keep ``</think>``: everything before the first ``</think>`` is then
    reasoning. An unterminated ``<think>`` makes the rest of the text reasoning (the model was
    cut off while thinking). Several blocks are joined with a blank line.

    Args:
        text: The model's text.

    Returns:
        ``(reasoning, answer)``. ``reasoning`` is ``None`` when there is none (no tags, or an
        empty block); both parts are stripped of surrounding whitespace. Text with neither tag is
        returned unchanged as ``(None, text)``.
    """
    if _THINK_OPEN not in text and _THINK_CLOSE not in text:
        return None, text
    pieces = _THINK_TAG_RE.split(text)
    first_tag = next(p for p in pieces if p in (_THINK_OPEN, _THINK_CLOSE))
    thinking = first_tag == _THINK_CLOSE
    blocks: list[list[str]] = [[]] if thinking else []
    answer: list[str] = []
    for piece in pieces:
        if piece == _THINK_OPEN:
            if not thinking:
                blocks.append([])
            thinking = True
        elif piece == _THINK_CLOSE:
            thinking = False
        elif thinking:
            blocks[-1].append(piece)
        else:
            answer.append(piece)
    reasoning = "\n\n".join(b for b in ("".join(block).strip() for block in blocks) if b)
    return reasoning or None, "".join(answer).strip()


# ---------------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------------


def _cached_tokens_from_wire(raw: Mapping[str, Any]) -> int | None:
    for key in ("prompt_tokens_details", "input_tokens_details"):
        details = raw.get(key)
        if isinstance(details, Mapping):
            cached = int_from_wire(details.get("cached_tokens"))
            if cached is not None:
                return cached
    return int_from_wire(raw.get("cached_tokens"))


def usage_from_wire(raw: Mapping[str, Any] | None) -> Usage | None:
    """Read a wire ``usage`` object (chat-completion or Responses naming).

    Accepts ``prompt_tokens``/``completion_tokens`` or ``input_tokens``/``output_tokens``,
    ``total_tokens`` (computed when absent), ``prompt_tokens_details.cached_tokens`` or
    ``input_tokens_details.cached_tokens``, a float ``neurons`` and a float ``cost`` (USD, as
    a provider behind AI Gateway reports it). Numbers sent as strings are accepted; unreadable
    fields are ignored, and so are numbers out of range (negative, not finite, or 2**53 and
    above, like ``1e400`` or a 400-digit integer): they mean unknown.

    Args:
        raw: The ``usage`` object, or ``None``.

    Returns:
        A :class:`Usage`, or ``None`` when ``raw`` is not an object or carries no known field.
    """
    if not isinstance(raw, Mapping):
        return None
    input_tokens = int_from_wire(raw.get("prompt_tokens", raw.get("input_tokens")))
    output_tokens = int_from_wire(raw.get("completion_tokens", raw.get("output_tokens")))
    total_tokens = int_from_wire(raw.get("total_tokens"))
    cached_tokens = _cached_tokens_from_wire(raw)
    neurons = float_from_wire(raw.get("neurons"))
    cost = float_from_wire(raw["cost"]) if "cost" in raw else None
    if (
        input_tokens is None
        and output_tokens is None
        and total_tokens is None
        and cached_tokens is None
        and neurons is None
        and cost is None
    ):
        return None
    if total_tokens is None:
        total_tokens = (input_tokens or 0) + (output_tokens or 0)
    return Usage(
        input_tokens=input_tokens or 0,
        output_tokens=output_tokens or 0,
        total_tokens=total_tokens,
        cached_tokens=cached_tokens,
        neurons=neurons,
        cost=cost,
    )


# ---------------------------------------------------------------------------------------------
# Output shapes -> parts
# ---------------------------------------------------------------------------------------------


@dataclass
class _Parts:
    """What one output shape contributed; merged by :func:`normalize_chat_result`."""

    text: str = ""
    parsed: Any = None
    reasoning: list[str] = field(default_factory=list)
    raw_tool_calls: list[Any] = field(default_factory=list)
    finish_reason: str | None = None


def _json_value_to_text(value: Any) -> tuple[str, Any]:
    """``(text, parsed)`` of a wire text field: a string, ``None``, or a JSON-mode value."""
    if value is None:
        return "", None
    if isinstance(value, str):
        return value, None
    return json.dumps(value, ensure_ascii=False), value


def _content_to_text(content: Any) -> tuple[str, Any]:
    """Message ``content``: a string, ``None``, a list of text parts, or a JSON-mode object."""
    if not isinstance(content, list):
        return _json_value_to_text(content)
    texts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping) and part.get("type", "text") in _TEXT_PART_TYPES:
            text = part.get("text", part.get("refusal"))
            if isinstance(text, str):
                texts.append(text)
    return "".join(texts), None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _wire_tool_calls(value: Any) -> list[Any]:
    """A wire ``tool_calls`` value as a list (a lone object is wrapped; junk is ignored)."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [value]
    return []


def _choice_message_from_wire(body: Mapping[str, Any]) -> _Parts:
    """``choices[0]``: message content/reasoning/tool calls, ``text``, ``finish_reason``."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return _Parts()
    choice = choices[0]
    message = choice.get("message")
    message = message if isinstance(message, Mapping) else {}
    text, parsed = _content_to_text(message.get("content"))
    if not text.strip():
        text, parsed = _json_value_to_text(choice.get("text"))  # text_completion
    reasoning = _str_or_none(message.get("reasoning_content")) or _str_or_none(
        message.get("reasoning")
    )
    tool_calls = _wire_tool_calls(message.get("tool_calls"))
    if not tool_calls and isinstance(message.get("function_call"), Mapping):
        tool_calls = [message["function_call"]]  # deprecated OpenAI single-call form
    return _Parts(
        text=text,
        parsed=parsed,
        reasoning=[reasoning] if reasoning else [],
        raw_tool_calls=tool_calls,
        finish_reason=_str_or_none(choice.get("finish_reason")),
    )


def _responses_item_texts(item: Mapping[str, Any], key: str, types: frozenset[str]) -> list[str]:
    parts = item.get(key)
    if not isinstance(parts, list):
        return []
    texts = (  # a refusal part carries its text in "refusal"
        part.get("text", part.get("refusal"))
        for part in parts
        if isinstance(part, Mapping) and part.get("type") in types
    )
    return [text for text in texts if isinstance(text, str)]


def _responses_output_to_result(body: Mapping[str, Any]) -> _Parts:
    """Responses ``output[]``: ``reasoning``, ``message`` and ``function_call`` items."""
    output = body.get("output")
    parts = _Parts()
    if not isinstance(output, list):
        return parts
    texts: list[str] = []
    for item in output:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            found = _responses_item_texts(item, "content", frozenset({"reasoning_text", "text"}))
            found = found or _responses_item_texts(item, "summary", frozenset({"summary_text"}))
            parts.reasoning.extend(text for text in found if text)
        elif kind == "message":
            kinds = frozenset({"output_text", "text", "refusal"})
            texts.extend(_responses_item_texts(item, "content", kinds))
        elif kind == "function_call":
            parts.raw_tool_calls.append(item)
    parts.text = "".join(texts)
    parts.finish_reason = finish_reason_from_responses(body, bool(parts.raw_tool_calls))
    return parts


def is_encrypted_reasoning(item: Any) -> TypeGuard[Mapping[str, Any]]:
    """A Responses ``reasoning`` item with ``encrypted_content`` (asked for with
    ``include=["reasoning.encrypted_content"]``, for ``store=False``): sent back with its turn
    so a reasoning model keeps its reasoning across tool calls (OpenAI's stateless mode)."""
    return (
        isinstance(item, Mapping)
        and item.get("type") == "reasoning"
        and isinstance(item.get("encrypted_content"), str)
    )


def _encrypted_reasoning_items(body: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    """A Responses answer's reasoning items to send back (:func:`is_encrypted_reasoning`)."""
    output = body.get("output")
    if not isinstance(output, list):
        return ()
    return tuple(dict(item) for item in output if is_encrypted_reasoning(item))


def finish_reason_from_responses(body: Mapping[str, Any], has_tool_calls: bool) -> str | None:
    """Map a Responses ``status`` to a chat finish reason."""
    status = _str_or_none(body.get("status"))
    if status == "completed":
        return "tool_calls" if has_tool_calls else "stop"
    if status == "incomplete":
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return "content_filter" if reason == "content_filter" else "length"
    return status


def _classic_response_from_wire(body: Mapping[str, Any]) -> _Parts:
    """Classic ``{response, tool_calls, finish_reason}`` (``response`` may be a JSON object)."""
    text, parsed = _json_value_to_text(body.get("response"))
    if not text.strip() and isinstance(body.get("output_text"), str):
        text, parsed = body["output_text"], None
    reasoning = _str_or_none(body.get("reasoning_content")) or _str_or_none(body.get("reasoning"))
    return _Parts(
        text=text,
        parsed=parsed,
        reasoning=[reasoning] if reasoning else [],
        raw_tool_calls=_wire_tool_calls(body.get("tool_calls")),
        finish_reason=_str_or_none(body.get("finish_reason")),
    )


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def _keys_excerpt(body: Mapping[str, Any], limit: int = 20) -> str:
    """The sorted keys of an object for an error message (at most ``limit`` of them)."""
    keys = sorted(value_excerpt(k, 40) if not isinstance(k, str) else k[:40] for k in body)
    return str(keys[:limit])[:-1] + ", ...]" if len(keys) > limit else str(keys)


def _body_from_wire(result: Any) -> Mapping[str, Any]:
    """Check the shape; unwrap a ``{"result": {...}, "success": ...}`` envelope if given one."""
    body = result
    for _ in range(3):
        if not isinstance(body, Mapping):
            raise APIResponseValidationError(
                "Expected a JSON object from a text-generation model, got "
                f"{type(body).__name__}: {value_excerpt(body)}",
                body=value_excerpt(result),
            )
        inner = body.get("result")
        if body.keys() & _KNOWN_RESULT_KEYS or not isinstance(inner, Mapping):
            break
        body = inner
    checked: Mapping[str, Any] = body
    if not checked.keys() & _KNOWN_RESULT_KEYS:
        raise APIResponseValidationError(
            "Unrecognised text-generation result: expected 'response', 'choices' or 'output', "
            f"got keys {_keys_excerpt(checked)}",
            body=value_excerpt(result),
        )
    for key in ("choices", "output"):
        if checked.get(key) is not None and not isinstance(checked[key], list):
            raise APIResponseValidationError(
                f"Unrecognised text-generation result: {key!r} should be a list, "
                f"got {type(checked[key]).__name__}",
                body=value_excerpt(result),
            )
    return checked


#: When a reply carries several output shapes, which one wins, field by field (first first):
#: the chat-completion message (``choices[0].message``), the Responses ``output``, or the classic
#: ``response``/``tool_calls``. Text: visible text wins over whitespace-only text; reasoning:
#: every source's, in this order, without repeats; tool calls: top-level ``tool_calls`` win.
_PRIORITY: dict[str, tuple[str, ...]] = {
    "text": ("choice", "responses", "classic"),
    "reasoning": ("choice", "responses", "classic"),
    "tool_calls": ("classic", "choice", "responses"),
    "finish_reason": ("choice", "classic", "responses"),
}


def _merge_parts(sources: Mapping[str, _Parts]) -> _Parts:
    """Merge the shapes found in one reply per :data:`_PRIORITY`."""

    def ordered(field_name: str) -> list[_Parts]:
        return [sources[name] for name in _PRIORITY[field_name]]

    merged = _Parts()
    texts = ordered("text")
    for source in (*(s for s in texts if s.text.strip()), *(s for s in texts if s.text)):
        merged.text, merged.parsed = source.text, source.parsed
        break
    for source in ordered("reasoning"):
        merged.reasoning.extend(r for r in source.reasoning if r not in merged.reasoning)
    merged.raw_tool_calls = next(
        (s.raw_tool_calls for s in ordered("tool_calls") if s.raw_tool_calls), merged.raw_tool_calls
    )
    merged.finish_reason = next(
        (s.finish_reason for s in ordered("finish_reason") if s.finish_reason), None
    )
    return merged


#: Keys of a plain classic reply (``tool_calls`` only when null or empty).
_PLAIN_CLASSIC_KEYS = frozenset({"response", "usage", "tool_calls", "finish_reason"})
#: Keys of a plain chat-completion reply, its first choice and its message; the fields that
#: could add reasoning or tool calls are checked to be empty.
_PLAIN_COMPLETION_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint"}
)
_PLAIN_CHOICE_KEYS = frozenset({"index", "message", "finish_reason", "stop_reason", "logprobs"})
_PLAIN_MESSAGE_KEYS = frozenset(
    {"role", "content", "reasoning_content", "reasoning", "tool_calls", "function_call",
     "refusal", "annotations"}
)  # fmt: skip
_EMPTY_FIELDS = (None, "")


def _no_tool_calls(value: Any) -> bool:
    return value is None or (type(value) is list and not value)


def _plain_parts(result: Any) -> _Parts | None:
    """The parts of a plain text reply, else ``None`` (the general reading is needed).

    Plain: a classic ``{"response": str}`` (with ``usage``, ``finish_reason``, and
    ``tool_calls`` null or empty), or a chat-completion body whose first choice's message has
    string ``content`` and no reasoning, tool calls or ``function_call``. For those,
    :func:`_body_from_wire` keeps the body and :func:`_merge_parts` finds exactly this text
    and finish reason.
    """
    if type(result) is not dict:
        return None
    choices = result.get("choices")
    if choices is None:
        text = result.get("response")
        if (
            type(text) is not str
            or not result.keys() <= _PLAIN_CLASSIC_KEYS
            or not _no_tool_calls(result.get("tool_calls"))
        ):
            return None
        return _Parts(text=text, finish_reason=_str_or_none(result.get("finish_reason")))
    if type(choices) is not list or not choices or not result.keys() <= _PLAIN_COMPLETION_KEYS:
        return None
    choice = choices[0]
    if type(choice) is not dict or not choice.keys() <= _PLAIN_CHOICE_KEYS:
        return None
    message = choice.get("message")
    if type(message) is not dict or not message.keys() <= _PLAIN_MESSAGE_KEYS:
        return None
    content = message.get("content")
    if (
        type(content) is not str
        or message.get("reasoning_content") not in _EMPTY_FIELDS
        or message.get("reasoning") not in _EMPTY_FIELDS
        or not _no_tool_calls(message.get("tool_calls"))
        or message.get("function_call") is not None
    ):
        return None
    return _Parts(
        text=content if content.strip() else "",  # blank content reads as no text
        finish_reason=_str_or_none(choice.get("finish_reason")),
    )


def normalize_chat_result(
    result: Any, *, think_tags: bool | None = None, tool_names: Collection[str] = ()
) -> ChatResult:
    """Normalise any Workers AI text-generation result into a :class:`ChatResult`.

    Args:
        result: The unwrapped ``result`` object of ``/ai/run``, a bare chat-completion body from
            ``/ai/v1/chat/completions``, or a Responses object. A full ``{"result": ...,
            "success": ...}`` envelope is unwrapped too.
        think_tags: ``True`` splits ``<think>`` reasoning out of the text; ``None`` (default)
            splits only when ``</think>`` occurs; ``False`` never splits.
        tool_names: Names of the tools offered. When given and no structured tool call came
            back, an answer that is entirely a JSON tool call (classic llama models) becomes a
            tool call and the text becomes ``""``.

    Returns:
        The normalised result. JSON-mode answers that arrived as an object are serialised into
        ``text`` and kept in ``parsed``; a JSON answer sent as a string stays text only.

    Raises:
        APIResponseValidationError: ``result`` is not an object or has none of the known keys.
            (``{"response": ""}`` is a valid empty answer.)
    """
    parts = _plain_parts(result) if FAST_PATHS else None
    usage: Usage | None = None
    reasoning_blocks: tuple[dict[str, Any], ...] = ()
    if parts is None and is_messages_answer(result):  # Anthropic's Messages API
        body = result
        found = messages_parts(body)
        parts = _Parts(found.text, None, found.reasoning, found.raw_tool_calls, found.finish_reason)
        usage = messages_usage(body.get("usage"))
        reasoning_blocks = tuple(found.reasoning_blocks)
    elif parts is None:
        body = _body_from_wire(result)
        reasoning_blocks = _encrypted_reasoning_items(body)
        parts = _merge_parts(
            {
                "choice": _choice_message_from_wire(body),
                "responses": _responses_output_to_result(body),
                "classic": _classic_response_from_wire(body),
            }
        )
    else:
        body = result
    text, reasoning = parts.text, list(parts.reasoning)
    if parts.parsed is None and (think_tags or (think_tags is None and _THINK_CLOSE in text)):
        inline_reasoning, text = split_think(text)
        if inline_reasoning:
            reasoning.append(inline_reasoning)
    valid, invalid = parse_tool_calls(parts.raw_tool_calls) if parts.raw_tool_calls else ([], [])
    if not valid and not invalid and tool_names and parts.parsed is None:
        text_calls = parse_text_tool_calls(text, tool_names)
        if text_calls is not None:
            valid = [call for call in text_calls if call.is_valid]
            invalid = [call for call in text_calls if not call.is_valid]
            text = ""
    finish_reason = parts.finish_reason
    if finish_reason is None and (valid or invalid):
        finish_reason = "tool_calls"
    return ChatResult(
        text=text,
        reasoning="\n\n".join(reasoning) or None,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage=usage if usage is not None else usage_from_wire(body.get("usage")),
        finish_reason=finish_reason,
        model=_str_or_none(body.get("model")),
        id=_str_or_none(body.get("id")),
        parsed=parts.parsed,
        raw=result,
        reasoning_blocks=reasoning_blocks,
    )
