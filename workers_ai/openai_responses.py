"""OpenAI's Responses API (``/ai/v1/responses``): request building and stream reading (no I/O).

Cloudflare's REST API serves the Responses API for any model behind AI Gateway (spec: AI
platform §1.4), and Workers AI itself for its models (``/ai/v1/responses``). A neutral
:class:`~workers_ai.messages.ChatRequest` becomes a Responses body here; the ``response``
object is read by :func:`workers_ai.chat.normalize_chat_result` (its ``output[]`` shape), and the
stream's ``response.*`` events by :class:`ResponsesStreamState`.

Request rules:

- the leading system messages become ``instructions``; later ones stay in ``input`` as
  ``system`` items;
- user messages are ``{"role": "user", "content": [input_text / input_image]}``, assistant
  text ``{"role": "assistant", "content": "<text>"}`` (after its own ``reasoning`` items when
  they came with ``encrypted_content``: OpenAI's stateless mode, ``store=False`` with
  ``include=["reasoning.encrypted_content"]``), assistant tool calls
  ``{"type": "function_call", "call_id", "name", "arguments"}`` and tool results
  ``{"type": "function_call_output", "call_id", "output"}``;
- tools are flat ``{"type": "function", "name", "description", "parameters"}``;
  ``tool_choice`` ``auto``/``none``/``required`` or ``{"type": "function", "name"}``;
- ``max_tokens`` is ``max_output_tokens``, ``reasoning_effort`` is ``reasoning.effort``,
  JSON mode is ``text.format`` (``json_schema`` with a name, or ``json_object``);
- parameters the API does not take (``stop``, ``seed``, ``top_k``, ``frequency_penalty``,
  ``presence_penalty``, ``repetition_penalty``, ``lora``) are left out with a ``UserWarning``
  (a ``lora`` on a model without LoRA is refused first, as images on a model without vision
  and tools on one without function calling: :func:`~workers_ai.messages.check_against_catalog`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from workers_ai.chat import finish_reason_from_responses, is_encrypted_reasoning, usage_from_wire
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
from workers_ai.types import WireDelta

__all__ = ["RESPONSES_EVENTS", "ResponsesStreamState", "build_responses_body"]

_UNSUPPORTED = (
    "stop", "seed", "top_k", "frequency_penalty", "presence_penalty", "repetition_penalty",
    "lora",
)  # fmt: skip


def _user_content(content: str | Sequence[ContentPart]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            parts.append({"type": "input_image", "image_url": part.url})
    return parts


def _items(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(instructions, input items)``."""
    leading: list[str] = []
    start = 0
    while start < len(messages) and messages[start].role == "system":
        leading.append(text_only(messages[start].content, start, "a system message"))
        start += 1
    items: list[dict[str, Any]] = []
    for index in range(start, len(messages)):
        message = messages[index]
        if message.role == "system":
            items.append({"role": "system", "content": text_only(message.content, index, "system")})
        elif message.role == "user":
            items.append({"role": "user", "content": _user_content(message.content)})
        elif message.role == "assistant":
            # its own reasoning, from an answer with encrypted_content
            items.extend(dict(b) for b in message.reasoning_blocks if is_encrypted_reasoning(b))
            text = text_only(message.content, index, "an assistant message")
            if text:
                items.append({"role": "assistant", "content": text})
            for call in message.tool_calls:
                if not call.id:
                    raise InvalidRequestError(
                        f"Message {index}: tool call {call.name!r} has no id."
                    )
                items.append({
                    "type": "function_call", "call_id": call.id, "name": call.name,
                    "arguments": call.raw_arguments or "{}",
                })  # fmt: skip
        elif message.role == "tool":
            if not message.tool_call_id:
                raise InvalidRequestError(
                    f"Message {index} is a tool result without tool_call_id; pass the id of "
                    "the tool call it answers."
                )
            output = text_only(message.content, index, "a tool result")
            items.append(
                {"type": "function_call_output", "call_id": message.tool_call_id, "output": output}
            )
        else:
            raise InvalidRequestError(
                f"Message {index} has role {message.role!r}; use system, user, assistant or tool."
            )
    return ("\n\n".join(t for t in leading if t) or None), items


def _tools(request: ChatRequest) -> dict[str, Any]:
    functions, choice = function_tools(request)
    if not functions:
        return {}
    body: dict[str, Any] = {"tools": [{"type": "function", **f} for f in functions]}
    if isinstance(choice, dict):
        body["tool_choice"] = {"type": "function", "name": choice["function"]["name"]}
    elif choice is not None:
        body["tool_choice"] = "required" if choice == "any" else choice
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    return body


def _json_mode(request: ChatRequest) -> dict[str, Any]:
    if request.json_schema is not None:
        schema = dict(request.json_schema)
        name = re.sub(r"[^a-zA-Z0-9_-]", "_", str(schema.get("title") or "response"))[:64]
        return {"text": {"format": {"type": "json_schema", "name": name, "schema": schema}}}
    if request.json_object:
        return {"text": {"format": {"type": "json_object"}}}
    return {}


def build_responses_body(model: str, request: ChatRequest) -> dict[str, Any]:
    """The Responses API body for ``request`` (``model`` and ``stream`` are added by the client).

    Raises:
        InvalidRequestError: A tool result without its call id, a tool call without an id,
            images in a system or tool message, an unknown parameter; before any request.
    """
    if not request.messages:
        raise InvalidRequestError("messages is empty; send at least one message.")
    check_against_catalog(model, request)
    instructions, items = _items(request.messages)
    if not items:
        raise InvalidRequestError(
            "messages has only system messages; the Responses API needs at least one input item."
        )
    body: dict[str, Any] = {}
    if instructions is not None:
        body["instructions"] = instructions
    body["input"] = items
    api = "the Responses API"
    for name, value in sendable_params(
        model, request.params, api=api, unsupported=_UNSUPPORTED, stacklevel=5
    ):
        if name == "max_tokens":
            body["max_output_tokens"] = value
        elif name == "reasoning_effort":
            body["reasoning"] = {"effort": value}
        else:
            body[name] = value
    body.update(_tools(request))
    body.update(_json_mode(request))
    for key, value in request.extra.items():
        if key in ("input", "messages", "stream", "model"):
            raise InvalidRequestError(f"{key!r} cannot be set through model_kwargs.")
        check_generation_param(key, value)
        body[key] = value
    return body


# -- stream ---------------------------------------------------------------------------------------
#: Event types that end a Responses stream (no ``[DONE]`` follows them).
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete"})
#: The prefix of every Responses stream event type.
RESPONSES_EVENTS = "response."


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class ResponsesStreamState:
    """Reads the ``response.*`` events of one Responses stream.

    Text from ``response.output_text.delta`` (and ``response.refusal.delta``), reasoning from
    ``response.reasoning_summary_text.delta`` / ``response.reasoning_text.delta``, a
    ``function_call`` item from ``response.output_item.added`` (``call_id`` and ``name`` at its
    ``output_index``) and its arguments from ``response.function_call_arguments.delta`` (or
    whole from ``response.output_item.done`` when no delta came); usage, model and the finish
    reason from ``response.completed`` / ``response.incomplete``. Errors
    (``response.failed``, ``error``) are raised by the event reader before they get here.
    """

    def __init__(self) -> None:
        self._calls: dict[int, bool] = {}  # output index -> argument delta seen
        self._reasoning_part: tuple[Any, ...] | None = None  # where the last reasoning came from

    def read(self, event: Mapping[str, Any]) -> WireDelta:
        kind = event.get("type")
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return WireDelta(text=_str(event.get("delta")) or "")
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return WireDelta(reasoning=self._reasoning(event))
        index = event.get("output_index")
        if kind == "response.output_item.added" and isinstance(index, int):
            return self._item_added(index, event.get("item"))
        if kind == "response.function_call_arguments.delta" and isinstance(index, int):
            self._calls[index] = True
            delta = _str(event.get("delta")) or ""
            return WireDelta(tool_fragments=[{"index": index, "function": {"arguments": delta}}])
        if kind == "response.output_item.done" and isinstance(index, int):
            item = event.get("item")
            done = self._item_done(index, item)
            if is_encrypted_reasoning(item):
                done.reasoning_blocks.append(dict(item))  # sent back on the next turn
            return done
        if kind in ("response.created", "response.in_progress"):
            return self._response_facts(event.get("response"), final=False)
        if kind in TERMINAL_EVENTS:
            return self._response_facts(event.get("response"), final=True)
        return WireDelta()

    def _reasoning(self, event: Mapping[str, Any]) -> str:
        """A reasoning delta; the first of a new part (another item, summary or content index)
        starts with a blank line, as the parts of a whole response are joined."""
        text = _str(event.get("delta")) or ""
        if not text:
            return ""
        part = tuple(
            event.get(k) for k in ("item_id", "output_index", "summary_index", "content_index")
        )
        if self._reasoning_part is not None and part != self._reasoning_part:
            text = "\n\n" + text
        self._reasoning_part = part
        return text

    def _item_added(self, index: int, item: Any) -> WireDelta:
        if not isinstance(item, Mapping) or item.get("type") != "function_call":
            return WireDelta()
        self._calls[index] = False
        fragment = {
            "index": index,
            "id": _str(item.get("call_id")) or _str(item.get("id")),
            "function": {"name": item.get("name"), "arguments": ""},
        }
        return WireDelta(tool_fragments=[fragment])

    def _item_done(self, index: int, item: Any) -> WireDelta:
        if self._calls.get(index) is not False or not isinstance(item, Mapping):
            return WireDelta()
        self._calls[index] = True
        arguments = _str(item.get("arguments")) or ""
        return WireDelta(tool_fragments=[{"index": index, "function": {"arguments": arguments}}])

    def _response_facts(self, response: Any, *, final: bool) -> WireDelta:
        if not isinstance(response, Mapping):
            return WireDelta()
        piece = WireDelta(model=_str(response.get("model")), id=_str(response.get("id")))
        if not final:
            return piece
        raw_usage = response.get("usage")
        piece.usage = usage_from_wire(raw_usage) if isinstance(raw_usage, Mapping) else None
        piece.finish_reason = finish_reason_from_responses(response, bool(self._calls))
        return piece
