"""Input validation for the emulator's stand-in models (pure, no I/O).

Each ``validate_*`` function checks one task's request body and raises :class:`EmulatorError`
with Cloudflare's code and a message in Workers AI's style, naming the JSON path of the
offending field, e.g. ``AiError: Bad input: Error: minLength at '/prompt' not met, ...``
(spec §9). Validators that normalise their input (embedding texts, rerank contexts) return it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers_ai.emulator.facts import ModelFacts
from workers_ai.emulator.standins import count_tokens

__all__ = [
    "EmulatorError",
    "bad_input",
    "unsupported_param_effects",
    "validate_chat_body",
    "validate_embedding_texts",
    "validate_lora",
    "validate_messages",
    "validate_rerank_body",
    "validate_text_field",
    "validate_tools",
]

_NATIVE_ROLES = ("system", "user", "assistant", "tool")
_OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool")
_PART_TYPES = ("text", "image_url")
_COMPOSITE_SCHEMA_KEYS = ("$ref", "anyOf", "oneOf", "allOf", "enum", "const")
_JSON_MODE_TYPES = ("json_object", "json_schema", "text")


class EmulatorError(Exception):
    """A Workers AI error the emulator answers with.

    Attributes:
        status: HTTP status (400 for bad input, 405 for LoRA on a non-LoRA model, ...).
        code: Cloudflare's ``errors[].code`` (5006 bad input, 5007 no such model, ...).
        message: Cloudflare-style message.
    """

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"EmulatorError({self.status}, {self.code}, {self.message!r})"


def bad_input(path: str, rule: str, detail: str) -> EmulatorError:
    """A 400 / 5006 error: ``AiError: Bad input: Error: <rule> at '<path>' not met, <detail>``."""
    return EmulatorError(
        400, 5006, f"AiError: Bad input: Error: {rule} at '{path}' not met, {detail}"
    )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Shared
# ---------------------------------------------------------------------------------------------


def validate_lora(info: ModelFacts, body: Mapping[str, Any]) -> None:
    """Reject ``lora`` on a model that cannot load adapters (5005, HTTP 405)."""
    if body.get("lora") is not None and not info.lora:
        raise EmulatorError(405, 5005, "Model does not support LoRA")


def validate_text_field(body: Mapping[str, Any], name: str) -> str:
    """Return the required, non-empty string field ``name``."""
    if name not in body:
        raise bad_input("/", "required", f"must have required property '{name}'")
    value = body[name]
    if not isinstance(value, str):
        raise bad_input(f"/{name}", "type", f"'{name}' must be string, got {_type_name(value)}")
    if not value.strip():
        raise bad_input(f"/{name}", "minLength", f"'{name}' must NOT have fewer than 1 characters")
    return value


# ---------------------------------------------------------------------------------------------
# Text generation
# ---------------------------------------------------------------------------------------------


def _validate_content_part(part: Any, path: str, vision: bool) -> None:
    if not isinstance(part, Mapping):
        raise bad_input(path, "type", f"content part must be object, got {_type_name(part)}")
    kind = part.get("type")
    if kind not in _PART_TYPES:
        raise bad_input(
            f"{path}/type",
            "enum",
            f"content part type must be one of text, image_url, got {kind!r}",
        )
    if kind == "text" and not isinstance(part.get("text"), str):
        raise bad_input(f"{path}/text", "type", "'text' of a text part must be string")
    if kind == "image_url":
        if not vision:
            raise bad_input(f"{path}/type", "enum", "this model does not accept image_url parts")
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else None
        if not isinstance(url, str) or not url.startswith("data:"):
            raise bad_input(
                f"{path}/image_url/url",
                "format",
                "image_url.url must be a data: URI (data:image/...;base64,...); "
                "HTTP URLs are not accepted",
            )


def _validate_content(message: Mapping[str, Any], path: str, *, openai: bool, vision: bool) -> None:
    has_calls = message.get("role") == "assistant" and bool(message.get("tool_calls"))
    if "content" not in message:
        if has_calls:
            return
        raise bad_input(path, "required", "must have required property 'content'")
    content = message["content"]
    if content is None and openai and has_calls:
        return
    if isinstance(content, str):
        return
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, list):
        raise bad_input(
            f"{path}/content",
            "type",
            f"'content' must be string or array, got {_type_name(content)}",
        )
    for index, part in enumerate(content):
        _validate_content_part(part, f"{path}/content/{index}", vision)


def validate_messages(messages: Any, *, openai: bool = False, vision: bool = True) -> None:
    """Check ``messages``: a non-empty list of ``{role, content}`` objects.

    Args:
        messages: The ``messages`` value.
        openai: ``/ai/v1`` rules: ``developer`` is a role and an assistant message with
            ``tool_calls`` may have ``content: null``.
        vision: Whether ``image_url`` parts are accepted (the model's ``vision`` flag).

    Raises:
        EmulatorError: 5006 naming the path, e.g. ``/messages/1/role``.
    """
    if not isinstance(messages, list):
        raise bad_input(
            "/messages", "type", f"'messages' must be array, got {_type_name(messages)}"
        )
    if not messages:
        raise bad_input("/messages", "minItems", "'messages' must NOT have fewer than 1 items")
    roles = _OPENAI_ROLES if openai else _NATIVE_ROLES
    for index, message in enumerate(messages):
        path = f"/messages/{index}"
        if not isinstance(message, Mapping):
            raise bad_input(path, "type", f"message must be object, got {_type_name(message)}")
        if message.get("role") not in roles:
            raise bad_input(
                f"{path}/role",
                "enum",
                f"'role' must be one of {', '.join(roles)}, got {message.get('role')!r}",
            )
        _validate_content(message, path, openai=openai, vision=vision)


def _validate_properties(properties: Any, tool: str, path: str) -> None:
    if not isinstance(properties, Mapping):
        raise bad_input(path, "type", f"tool '{tool}': 'properties' must be object")
    for name, schema in properties.items():
        where = f"{path}/{name}"
        if not isinstance(schema, Mapping):
            raise bad_input(where, "type", f"tool '{tool}' property '{name}' must be object")
        if "type" not in schema and not any(key in schema for key in _COMPOSITE_SCHEMA_KEYS):
            raise bad_input(
                where,
                "required",
                f"tool '{tool}' property '{name}' must have required property 'type'",
            )


def validate_tools(tools: Any) -> None:
    """Check ``tools`` (flat or ``{"type": "function", "function": {...}}`` items).

    Every tool needs a ``name``; ``parameters`` must be an object whose ``properties`` each
    have a ``type`` (or a ``$ref``/``anyOf``/``oneOf``/``allOf``/``enum``/``const``).
    """
    if tools is None:
        return
    if not isinstance(tools, list):
        raise bad_input("/tools", "type", f"'tools' must be array, got {_type_name(tools)}")
    for index, tool in enumerate(tools):
        path = f"/tools/{index}"
        if not isinstance(tool, Mapping):
            raise bad_input(path, "type", f"tool must be object, got {_type_name(tool)}")
        nested = isinstance(tool.get("function"), Mapping)
        fn: Mapping[str, Any] = tool["function"] if nested else tool
        path = f"{path}/function" if nested else path
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise bad_input(f"{path}/name", "required", "a tool must have a non-empty 'name'")
        params = fn.get("parameters")
        if params is None:
            continue
        if not isinstance(params, Mapping):
            raise bad_input(
                f"{path}/parameters", "type", f"tool '{name}': 'parameters' must be object"
            )
        if "properties" in params:
            _validate_properties(params["properties"], name, f"{path}/parameters/properties")


def _validate_generation_options(body: Mapping[str, Any]) -> None:
    for key in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        if key in body and body[key] is not None:
            value = body[key]
            if not _is_int(value) or value < 1:
                raise bad_input(
                    f"/{key}", "type", f"'{key}' must be an integer >= 1, got {value!r}"
                )
    stop = body.get("stop")
    stop_ok = stop is None or isinstance(stop, str)
    if not stop_ok and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise bad_input("/stop", "type", "'stop' must be a string or an array of strings")
    fmt = body.get("response_format")
    if fmt is not None and (
        not isinstance(fmt, Mapping) or fmt.get("type") not in _JSON_MODE_TYPES
    ):
        raise bad_input(
            "/response_format/type",
            "enum",
            "'response_format.type' must be json_object or json_schema",
        )
    guided = body.get("guided_json")
    if guided is not None and not isinstance(guided, (Mapping, str)):
        raise bad_input("/guided_json", "type", "'guided_json' must be a JSON Schema object")


def validate_chat_body(info: ModelFacts, body: Mapping[str, Any], *, openai: bool = False) -> None:
    """Check a text-generation body: exactly one of ``prompt``/``messages``, then the rest.

    Args:
        info: The model's facts (``vision`` decides whether images are accepted).
        body: The request body.
        openai: Apply ``/ai/v1/chat/completions`` rules (``messages`` only).

    Raises:
        EmulatorError: 5006 naming the field.
    """
    has_prompt, has_messages = "prompt" in body, "messages" in body
    if has_prompt and has_messages:
        raise bad_input("/", "oneOf", "2 matches: send either 'prompt' or 'messages', not both")
    if openai and not has_messages:
        raise bad_input("/", "required", "must have required property 'messages'")
    if not has_prompt and not has_messages:
        raise bad_input(
            "/", "oneOf", "0 matches: must have required property 'prompt' or 'messages'"
        )
    if has_prompt:
        validate_text_field(body, "prompt")
    else:
        validate_messages(body["messages"], openai=openai, vision=info.vision)
        validate_tools(body.get("tools"))
    _validate_generation_options(body)


#: What Workers AI does when a request sends one of the model's ``unsupported_params``
#: (reference observed-api-behaviors.json, "glm-4.7-flash params"): ``max_tokens`` gives null
#: content and ``repetition_penalty`` times out (answered at once here, 408 / 3007). Any other
#: listed parameter is rejected with 400 / 5006 ("mistral-small-3.1 tool_choice": HTTP 400).
_UNSUPPORTED_EFFECTS = {"max_tokens": "null_content", "repetition_penalty": "timeout"}


def unsupported_param_effects(info: ModelFacts, body: Mapping[str, Any]) -> frozenset[str]:
    """Apply the model's ``unsupported_params`` to a native text-generation body.

    Returns:
        The effects to apply to the answer (``{"null_content"}`` or empty).

    Raises:
        EmulatorError: 400 / 5006 naming the parameter for a rejected one; 408 / 3007 for one
            that makes Workers AI time out.
    """
    effects: set[str] = set()
    for name in info.unsupported_params:
        if body.get(name) is None:
            continue
        effect = _UNSUPPORTED_EFFECTS.get(name, "reject")
        if effect == "reject":
            raise bad_input(
                f"/{name}", "additionalProperties", f"'{name}' is not supported by {info.id}"
            )
        if effect == "timeout":
            raise EmulatorError(
                408,
                3007,
                f"AiError: Request timeout ({info.id} does not finish with '{name}'; "
                "the emulator answers at once)",
            )
        effects.add(effect)
    return frozenset(effects)


# ---------------------------------------------------------------------------------------------
# Embeddings and reranking
# ---------------------------------------------------------------------------------------------


def _texts_from_value(value: Any, path: str) -> tuple[list[str], list[str]]:
    """``(texts, item paths)`` from a string or an array of strings."""
    if isinstance(value, str):
        if not value:
            raise bad_input(
                path, "minLength", f"'{path[1:]}' must NOT have fewer than 1 characters"
            )
        return [value], [path]
    if not isinstance(value, list):
        raise bad_input(
            path,
            "type",
            f"'{path[1:]}' must be string or array of strings, got {_type_name(value)}",
        )
    if not value:
        raise bad_input(path, "minItems", f"'{path[1:]}' must NOT have fewer than 1 items")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise bad_input(
                f"{path}/{index}", "type", f"item must be string, got {_type_name(item)}"
            )
        if not item:
            raise bad_input(
                f"{path}/{index}", "minLength", "item must NOT have fewer than 1 characters"
            )
    return list(value), [f"{path}/{i}" for i in range(len(value))]


def validate_embedding_texts(
    info: ModelFacts, value: Any, field: str, *, truncate: bool = False
) -> list[str]:
    """Check and return the texts of an embedding field (``text``, ``input``, ``queries``...).

    Args:
        info: The model's facts (``max_batch``, ``max_input_tokens``).
        value: The field's value: a string or an array of strings.
        field: The field name, for messages.
        truncate: Cut over-long texts to ``max_input_tokens`` instead of failing.

    Raises:
        EmulatorError: 5006 for a missing/empty field, a non-string or empty item, more
            than ``max_batch`` items or an item over ``max_input_tokens`` tokens.
    """
    if value is None:
        raise bad_input("/", "required", f"must have required property '{field}'")
    texts, paths = _texts_from_value(value, f"/{field}")
    if info.max_batch is not None and len(texts) > info.max_batch:
        raise bad_input(
            f"/{field}", "maxItems", f"'{field}' must NOT have more than {info.max_batch} items"
        )
    limit = info.max_input_tokens
    if limit is None or truncate:
        return texts
    for text, path in zip(texts, paths, strict=True):
        tokens = count_tokens(text)
        if tokens > limit:
            raise bad_input(
                path, "maxTokens", f"'{field}' input has {tokens} tokens, the model accepts {limit}"
            )
    return texts


def _contexts_from_value(contexts: Any, limit: int | None) -> list[str]:
    if contexts is None:
        raise bad_input("/", "required", "must have required property 'contexts'")
    if not isinstance(contexts, list):
        raise bad_input(
            "/contexts", "type", f"'contexts' must be array, got {_type_name(contexts)}"
        )
    if not contexts:
        raise bad_input("/contexts", "minItems", "'contexts' must NOT have fewer than 1 items")
    if limit is not None and len(contexts) > limit:
        raise bad_input(
            "/contexts", "maxItems", f"'contexts' must NOT have more than {limit} items"
        )
    texts: list[str] = []
    for index, item in enumerate(contexts):
        text = item.get("text") if isinstance(item, Mapping) else None
        if not isinstance(text, str):
            raise bad_input(
                f"/contexts/{index}/text",
                "type",
                "each context must be an object with string 'text'",
            )
        texts.append(text)
    return texts


def validate_rerank_body(
    info: ModelFacts, body: Mapping[str, Any], *, query_required: bool = True
) -> tuple[str | None, list[str], int | None]:
    """Check a reranker (or bge-m3 query/contexts) body.

    Returns:
        ``(query, context texts, top_k)``; ``query`` is ``None`` only when not required and
        absent.

    Raises:
        EmulatorError: 5006 for a missing/empty ``query``, missing/empty ``contexts``, a
            context without string ``text``, or ``top_k`` that is not an integer >= 1.
    """
    query: str | None = None
    if query_required or "query" in body:
        query = validate_text_field(body, "query")
    texts = _contexts_from_value(body.get("contexts"), info.max_contexts)
    top_k = body.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 1):
        raise bad_input("/top_k", "minimum", f"'top_k' must be an integer >= 1, got {top_k!r}")
    return query, texts, top_k
