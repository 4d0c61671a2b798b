"""Neutral chat requests and the one payload builder for every Workers AI model family.

Adapters convert framework messages into :class:`Message` / :class:`ChatRequest` once; this
module turns them into the request body for ``/ai/run/{model}`` or ``/ai/v1/chat/completions``,
applying each family's quirks from the catalog (spec §2, §4): ``""`` instead of ``null``
content, tool shapes, Mistral's 9-character tool-call ids, Llama's tool call echoed in the
assistant content, JSON-mode fields, parameters a model rejects, data-URI images only.
Nothing here does I/O; everything that can be rejected is rejected before a request is sent.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from workers_ai import catalog
from workers_ai.catalog import ModelInfo
from workers_ai.errors import InvalidRequestError
from workers_ai.tools import tool_choice_to_wire, tool_to_wire
from workers_ai.types import ToolCall

__all__ = [
    "GENERATION_PARAMS",
    "ChatRequest",
    "ContentPart",
    "Endpoint",
    "ImagePart",
    "Message",
    "Role",
    "TextPart",
    "build_chat_body",
    "check_against_catalog",
    "check_generation_param",
    "find_unencodable",
    "function_tools",
    "messages_to_wire",
    "sendable_params",
    "text_only",
]

Role = Literal["system", "user", "assistant", "tool"]
Endpoint = Literal["native", "openai"]

#: Sampling and generation parameters a caller may set (sent only when set).
GENERATION_PARAMS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "seed",
    "repetition_penalty",
    "frequency_penalty",
    "presence_penalty",
    "stop",
    "lora",
    "reasoning_effort",
)
_DATA_URI_RE = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+$")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class TextPart:
    """A text content part."""

    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image content part: a ``data:image/...;base64,...`` URI (Workers AI rejects URLs)."""

    url: str


ContentPart = TextPart | ImagePart


@dataclass(frozen=True)
class Message:
    """One conversation message in neutral form.

    Attributes:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        content: Text, or a list of text/image parts.
        tool_calls: Tool calls an assistant message made (sent back on later turns).
        tool_call_id: For ``tool`` messages: the call this result answers.
        name: The tool's name (``tool`` messages) or the speaker's name.
        reasoning_blocks: An assistant message's own reasoning blocks, as the provider sent
            them (:attr:`~workers_ai.types.ChatResult.reasoning_blocks`): sent back where the
            API takes them (Anthropic's Messages API), ignored elsewhere.
    """

    role: Role
    content: str | Sequence[ContentPart] = ""
    tool_calls: Sequence[ToolCall] = ()
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_blocks: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class ChatRequest:
    """A neutral chat request.

    Attributes:
        messages: The conversation.
        tools: Tool definitions (OpenAI ``{"type": "function", "function": ...}`` or bare).
        tool_choice: ``auto``/``none``/``required``/a tool name/an OpenAI dict, or ``None``.
        parallel_tool_calls: Allow several calls in one turn (``None``: model default).
        json_schema: Ask for JSON output valid against this schema (JSON mode).
        json_object: Ask for any JSON object (JSON mode without a schema).
        params: Generation parameters the caller set (see :data:`GENERATION_PARAMS`).
        extra: Other body fields passed through unchanged (``model_kwargs``).
        force_tools: Send tools even to a model the catalog marks as not function-calling.
    """

    messages: Sequence[Message]
    tools: Sequence[Mapping[str, Any]] = ()
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    json_schema: Mapping[str, Any] | None = None
    json_object: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    force_tools: bool = False


# -- what JSON cannot carry -------------------------------------------------------------------
def find_unencodable(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first place in a JSON-like ``value`` that cannot be sent, as ``(path, problem)``.

    Finds what would make encoding the request body fail after the request was built: a
    surrogate code point in a string (UTF-8 cannot encode it; it comes from decoding bytes
    with ``errors="surrogateescape"`` or from broken JSON ``\\ud800`` escapes), a NaN or
    infinite float (JSON has neither) and objects JSON cannot represent. ``path`` is like
    ``messages[2].content``. The problem never repeats the value.
    """
    if isinstance(value, str):
        found = _SURROGATE_RE.search(value)
        if found is None:
            return None
        return path, (
            f"contains a surrogate code point (U+{ord(found.group()):04X} at index "
            f"{found.start()}), which UTF-8 cannot encode; fix or re-decode the text "
            "(e.g. with errors='replace')"
        )
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"is {value!r}, not a finite number")
    if isinstance(value, _JSON_SCALARS):
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = _key_path(path, key)
            found_item = (find_unencodable(key, where) if isinstance(key, str) else None) or (
                find_unencodable(item, where)
            )
            if found_item:
                return found_item
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found_item = find_unencodable(item, f"{path}[{index}]")
            if found_item:
                return found_item
        return None
    return path, f"is a {type(value).__name__}, which JSON cannot encode"


def _key_path(path: str, key: object) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _check_encodable(wire: Mapping[str, Any], index: int) -> None:
    found = find_unencodable(wire)
    if found is not None:
        path, problem = found
        raise InvalidRequestError(f"Message {index}: its {path} {problem}")


# -- messages -----------------------------------------------------------------------------------
def _check_image(url: str, index: int) -> str:
    if _DATA_URI_RE.match(url):
        return url
    shown = url if len(url) <= 60 else url[:57] + "..."
    raise InvalidRequestError(
        f"Message {index}: image {shown!r} is not a base64 data URI. Workers AI accepts only "
        "'data:image/<type>;base64,...' images; download the image and encode it first."
    )


def _content_to_wire(
    content: str | Sequence[ContentPart], info: ModelInfo, index: int
) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = list(content)
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    _check_vision(info, index)
    wire: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            wire.append({"type": "text", "text": part.text})
        else:
            wire.append({"type": "image_url", "image_url": {"url": _check_image(part.url, index)}})
    return wire


def _id_matching(call_id: str, pattern: str) -> str:
    """``call_id`` if it matches the model's ``tool_call_id_pattern``, else a deterministic id
    that does (Mistral rejects ids other than ``[a-zA-Z0-9]{9}``)."""
    if re.fullmatch(pattern, call_id):
        return call_id
    shape = catalog.tool_call_id_shape(pattern)
    assert shape is not None  # the catalog checks every pattern has a shape
    alphabet, length = shape
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).digest()
    while len(digest) < length:
        digest += hashlib.sha256(digest).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _tool_call_to_wire(call: ToolCall, call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.raw_arguments or "{}"},
    }


def _assistant_to_wire(message: Message, info: ModelInfo, index: int) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": "assistant"}
    content = _content_to_wire(message.content, info, index)
    if message.tool_calls:
        ids = [_wire_call_id(c.id, info) for c in message.tool_calls]
        wire["tool_calls"] = [
            _tool_call_to_wire(c, i) for c, i in zip(message.tool_calls, ids, strict=True)
        ]
        if not content and info.tool_call_format == "legacy":
            # Llama templates need the previous call echoed as JSON text to continue (spec §4).
            echoed = [
                {"name": c.name, "parameters": c.arguments if c.arguments is not None else {}}
                for c in message.tool_calls
            ]
            content = json.dumps(echoed[0] if len(echoed) == 1 else echoed)
    wire["content"] = content if content is not None else ""
    if message.name:
        wire["name"] = message.name
    return wire


def _wire_call_id(call_id: str | None, info: ModelInfo) -> str:
    call_id = call_id or "000000001"
    pattern = info.tool_call_id_pattern
    return _id_matching(call_id, pattern) if pattern else call_id


def _message_to_wire(message: Message, info: ModelInfo, index: int) -> dict[str, Any]:
    if message.role not in ("system", "user", "assistant", "tool"):
        raise InvalidRequestError(
            f"Message {index} has role {message.role!r}; use system, user, assistant or tool."
        )
    if message.role == "assistant":
        wire = _assistant_to_wire(message, info, index)
        _check_encodable(wire, index)
        return wire
    wire = {
        "role": message.role,
        "content": _content_to_wire(message.content, info, index),
    }
    if message.role == "tool":
        if not message.tool_call_id:
            raise InvalidRequestError(
                f"Message {index} is a tool result without tool_call_id; pass the id of the "
                "tool call it answers."
            )
        wire["tool_call_id"] = _wire_call_id(message.tool_call_id, info)
        if message.name:
            wire["name"] = message.name
    elif message.name:
        wire["name"] = message.name
    _check_encodable(wire, index)
    return wire


def _merge_leading_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge consecutive leading system messages: chat templates take one system prompt."""
    count = 0
    while count < len(messages) and messages[count]["role"] == "system":
        count += 1
    if count < 2 or not all(isinstance(m["content"], str) for m in messages[:count]):
        return messages
    merged = {"role": "system", "content": "\n\n".join(m["content"] for m in messages[:count])}
    return [merged, *messages[count:]]


def messages_to_wire(messages: Sequence[Message], info: ModelInfo) -> list[dict[str, Any]]:
    """Convert neutral messages to the wire ``messages`` array for ``info``'s family."""
    if not messages:
        raise InvalidRequestError("messages is empty; send at least one message.")
    wire = [_message_to_wire(m, info, i) for i, m in enumerate(messages)]
    return _merge_leading_system(wire)


def text_only(content: str | Sequence[ContentPart], index: int, what: str) -> str:
    """``content`` as one string, for the places a wire format takes text only (system
    prompts, tool results on the Messages and Responses routes).

    Raises:
        InvalidRequestError: ``content`` holds an image, naming message ``index`` and ``what``.
    """
    if isinstance(content, str):
        return content
    if any(isinstance(p, ImagePart) for p in content):
        raise InvalidRequestError(f"Message {index}: {what} takes text only, not images.")
    return "".join(p.text for p in content if isinstance(p, TextPart))


# -- what the catalog says a model cannot take (one place, every API's builder) ---------------
def _check_vision(info: ModelInfo, index: int) -> None:
    if info.known and not info.vision:
        raise InvalidRequestError(
            f"Message {index} contains an image but {info.id} does not accept images; use a "
            "vision model such as @cf/meta/llama-4-scout-17b-16e-instruct."
        )


def _check_function_calling(info: ModelInfo, request: ChatRequest) -> None:
    if info.known and info.function_calling is False and not request.force_tools:
        raise InvalidRequestError(
            f"{info.id} does not support function calling; use a model such as "
            f"{catalog.default_chat_model()} (see workers_ai.catalog.models()), or pass "
            "force_tools=True if you know the model can."
        )


def _check_lora(info: ModelInfo) -> None:
    if info.known and not info.lora:
        raise InvalidRequestError(
            f"{info.id} does not support LoRA adapters; remove `lora` or use a LoRA-capable "
            "model such as @cf/mistralai/mistral-small-3.1-24b-instruct."
        )


def check_against_catalog(model: str, request: ChatRequest) -> None:
    """What the catalog says ``model`` cannot take, for the builders of the other APIs
    (Messages, Responses; :func:`build_chat_body` checks the same as it goes): images on a
    model without vision, tools on one without function calling, a LoRA on one without LoRA.

    Raises:
        InvalidRequestError: Naming the message or parameter, before any request.
    """
    info = catalog.get(model)
    for index, message in enumerate(request.messages):
        if not isinstance(message.content, str) and any(
            isinstance(p, ImagePart) for p in message.content
        ):
            _check_vision(info, index)
    if request.tools:
        _check_function_calling(info, request)
    if request.params.get("lora") is not None:
        _check_lora(info)


# -- parameters, tools, JSON mode -------------------------------------------------------------
def _warn_dropped(model: str, name: str, why: str) -> None:
    warnings.warn(
        f"{model} does not accept `{name}` ({why}); it was not sent.", UserWarning, stacklevel=4
    )


def _params_to_wire(info: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name not in GENERATION_PARAMS:
            raise InvalidRequestError(
                f"Unknown generation parameter {name!r}; use one of {', '.join(GENERATION_PARAMS)}"
                " or pass it through model_kwargs."
            )
        check_generation_param(name, value)
        if name in info.unsupported_params:
            _warn_dropped(info.id, name, "the catalog marks it unsupported for this model")
            continue
        if name == "lora":
            _check_lora(info)
        if name == "reasoning_effort" and info.known and not info.reasoning_effort:
            _warn_dropped(info.id, name, "it is not a reasoning-effort model")
            continue
        body[name] = value
    return body


def sendable_params(
    model: str,
    params: Mapping[str, Any],
    *,
    api: str,
    unsupported: Collection[str],
    stacklevel: int,
) -> Iterator[tuple[str, Any]]:
    """The generation parameters an API other than Workers AI's own takes, checked
    (:func:`check_generation_param`): unset ones skipped, ``unsupported`` ones left out with a
    ``UserWarning`` naming ``api`` (at ``stacklevel``, counted from this generator's frame);
    the builders rename the rest to their API's fields."""
    for name, value in params.items():
        if value is None:
            continue
        check_generation_param(name, value)
        if name in unsupported:
            warnings.warn(
                f"{model}: {api} has no `{name}`; it was not sent.",
                UserWarning,
                stacklevel=stacklevel,
            )
            continue
        yield name, value


def check_generation_param(name: str, value: Any) -> None:
    """Reject what cannot be sent (NaN, infinity, surrogates); the service judges the rest."""
    found = find_unencodable(value, name)
    if found is not None:
        path, problem = found
        raise InvalidRequestError(f"{path} {problem}")


def _check_choice_without_tools(request: ChatRequest) -> None:
    if not request.tools and request.tool_choice not in (None, "none", "auto"):
        raise InvalidRequestError("tool_choice was given without any tools.")


def function_tools(
    request: ChatRequest,
) -> tuple[list[dict[str, Any]], str | dict[str, Any] | None]:
    """The request's tools as OpenAI ``function`` definitions (``name``, ``description``,
    ``parameters``) and its ``tool_choice`` in OpenAI's wire form, for the other APIs'
    builders to reshape; ``([], None)`` without tools.

    Raises:
        InvalidRequestError: A tool without a valid name, a forced tool that is not offered,
            or a ``tool_choice`` that needs tools without any.
    """
    _check_choice_without_tools(request)
    if not request.tools:
        return [], None
    functions = [tool_to_wire(tool, style="openai")["function"] for tool in request.tools]
    names = [function["name"] for function in functions]
    return functions, tool_choice_to_wire(request.tool_choice, tool_names=names)


def _tools_to_wire(info: ModelInfo, request: ChatRequest, endpoint: Endpoint) -> dict[str, Any]:
    _check_choice_without_tools(request)
    if not request.tools:
        return {}
    _check_function_calling(info, request)
    legacy = endpoint == "native" and info.tool_call_format == "legacy"
    style: Literal["openai", "legacy"] = "legacy" if legacy else "openai"
    classic = endpoint == "native" and info.output_shape == "classic"
    tools = [tool_to_wire(t, style=style, classic_schema=classic) for t in request.tools]
    names = [t["name"] if legacy else t["function"]["name"] for t in tools]
    body: dict[str, Any] = {"tools": tools}
    choice = tool_choice_to_wire(request.tool_choice, tool_names=names)
    if choice is not None:
        if "tool_choice" in info.unsupported_params:
            _warn_dropped(info.id, "tool_choice", "the model rejects it")
        else:
            body["tool_choice"] = choice
    if request.parallel_tool_calls is not None and info.openai_params:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    return body


def _json_mode_to_wire(info: ModelInfo, request: ChatRequest, endpoint: Endpoint) -> dict[str, Any]:
    schema = dict(request.json_schema) if request.json_schema is not None else None
    if schema is None and not request.json_object:
        return {}
    if endpoint == "openai":
        if schema is None:
            return {"response_format": {"type": "json_object"}}
        name = str(schema.get("title") or "response")
        wrapper = {"name": re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64], "schema": schema}
        return {"response_format": {"type": "json_schema", "json_schema": wrapper}}
    # ``None`` is *unknown* (the catalog cannot say "no"): send the documented
    # ``response_format`` and let the service decide, as for models missing from the catalog.
    mode = info.json_mode or "response_format"
    if mode == "guided_json":
        return {"guided_json": schema if schema is not None else {"type": "object"}}
    if mode == "json_object" or schema is None:
        return {"response_format": {"type": "json_object"}}
    return {"response_format": {"type": "json_schema", "json_schema": schema}}


def build_chat_body(
    model: str, request: ChatRequest, *, endpoint: Endpoint = "native"
) -> dict[str, Any]:
    """The request body for ``request`` to ``model`` (``stream`` is added by the client).

    Raises:
        InvalidRequestError: the request cannot work on this model (images on a text-only
            model, an http image URL, tools on a model without function calling, LoRA on a
            model without LoRA, an unknown parameter...). Parameters a model is known to
            reject are left out with a ``UserWarning`` instead.
    """
    info = catalog.get(model)
    body: dict[str, Any] = {"messages": messages_to_wire(request.messages, info)}
    body.update(_params_to_wire(info, request.params))
    body.update(_tools_to_wire(info, request, endpoint))
    body.update(_json_mode_to_wire(info, request, endpoint))
    for key, value in request.extra.items():
        if key in ("messages", "stream", "model"):
            raise InvalidRequestError(f"{key!r} cannot be set through model_kwargs.")
        body[key] = value
    return body
