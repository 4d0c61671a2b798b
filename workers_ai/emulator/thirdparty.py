"""Stand-in answers of third-party models behind AI Gateway (pure, no I/O).

The same deterministic generation as the Workers AI chat stand-ins
(:func:`workers_ai.emulator.standins.generate_chat`: text from the conversation, tool choice,
JSON mode), fed from the emulator's third-party facts (:mod:`workers_ai.emulator.providers`)
and rendered in the shape of the route (spec §1.4, §1.5):

* chat completions as OpenAI does: a bare ``chat.completion`` or ``chat.completion.chunk``
  events (tool calls in fragments, ``usage`` with ``stream_options.include_usage``);
* OpenAI's embeddings list;
* the Responses API (:func:`responses`): the ``response`` object, or its ``response.*`` events;
* Anthropic's Messages API (:func:`messages`, rendered by :mod:`workers_ai.emulator.anthropic`).

Bad requests are :class:`~workers_ai.emulator.gateway.ProviderError`\\ s in the provider's
error format (OpenAI's; Anthropic's on the Messages API), as the provider's own answer passes
through the gateway (§1.10).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from workers_ai.emulator import anthropic, scripts, shapes, standins, tasks
from workers_ai.emulator.anthropic import AnthropicError, CachePrefix
from workers_ai.emulator.facts import TEXT_GENERATION, ModelFacts
from workers_ai.emulator.gateway import ProviderError
from workers_ai.emulator.providers import ThirdPartyModel
from workers_ai.emulator.standins import Generation, count_tokens
from workers_ai.emulator.validation import EmulatorError, validate_chat_body

__all__ = [
    "chat",
    "embeddings",
    "messages",
    "model_facts",
    "responses",
    "responses_error_event",
    "responses_events",
]

_BAD_INPUT_PREFIX = "AiError: Bad input: "
_EMBEDDING_SALT = 7_301  # third-party vectors differ from any Workers AI model's


def model_facts(row: ThirdPartyModel, name: str, *, reasoning: bool = False) -> ModelFacts:
    """The facts the chat stand-in needs: an OpenAI-style model, reasoning only when asked
    (Anthropic's ``thinking``, the Responses API on a reasoning model)."""
    return ModelFacts(
        id=name,
        task=TEXT_GENERATION,
        description=f"Stand-in for {name} (not the real model)",
        context_window=row.context_window,
        function_calling=row.tools,
        json_mode="response_format" if row.json_mode else None,
        output_shape="chat_completion",
        tool_call_format="openai" if row.tools else None,
        reasoning_format="reasoning_content" if reasoning else None,
        streaming=True,
        default_max_tokens=1024,
        vision=True,
    )


def _check_kind(row: ThirdPartyModel, name: str, kind: str) -> None:
    if row.kind != kind:
        what = "an embeddings" if row.kind == "embeddings" else "a chat"
        route = "embeddings" if row.kind == "embeddings" else "chat/completions"
        raise ProviderError(
            400, f"{name} is {what} model: send it to {route}.", code="model_not_supported"
        )


def _check_chat(row: ThirdPartyModel, name: str, body: Mapping[str, Any]) -> None:
    _check_kind(row, name, "chat")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise ProviderError(
            400,
            "Missing required parameter: 'messages' (a non-empty list).",
            code="missing_required_parameter",
            param="messages",
        )
    if body.get("tools") and not row.tools:
        raise ProviderError(400, f"{name} does not support tools; remove 'tools'.", param="tools")
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind in ("json_object", "json_schema") and not row.json_mode:
        raise ProviderError(
            400, f"{name} does not support response_format {kind}.", param="response_format"
        )
    if kind == "json_schema" and not (
        isinstance(fmt, Mapping)
        and isinstance(fmt.get("json_schema"), Mapping)
        and isinstance(fmt["json_schema"].get("schema"), Mapping)
    ):
        raise ProviderError(
            400,
            "response_format json_schema needs {'name': ..., 'schema': {...}}.",
            param="response_format.json_schema",
        )


def _check_context_window(row: ThirdPartyModel, gen: Generation, param: str) -> None:
    if row.context_window is not None and gen.prompt_tokens > row.context_window:
        raise ProviderError(
            400,
            f"This model's maximum context length is {row.context_window} tokens; your "
            f"{param} have {gen.prompt_tokens}. Shorten the {param}.",
            code="context_length_exceeded",
            param=param,
        )


def _clean_completion(completion: dict[str, Any]) -> dict[str, Any]:
    """Drop the vLLM-style fields the Workers AI renderer adds (OpenAI has none of them)."""
    for choice in completion.get("choices", []):
        choice.pop("stop_reason", None)
        message = choice.get("message") or {}
        if message.get("reasoning_content") is None:
            message.pop("reasoning_content", None)
        if not message.get("tool_calls"):
            message.pop("tool_calls", None)
    return completion


def chat(
    row: ThirdPartyModel, name: str, body: Mapping[str, Any], *, stream: bool
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer an OpenAI chat-completions body for the third-party model ``row``.

    Args:
        row: The model's facts.
        name: The name to give in ``model`` (the model that answered).
        body: The request body.
        stream: Return the chunk events (without ``[DONE]``) instead of one completion.

    Raises:
        ProviderError: 400 for a body the provider would reject (no messages, tools or JSON
            mode the model lacks, a prompt beyond its context window).
    """
    _check_chat(row, name, body)
    info = model_facts(row, name)
    native = tasks.openai_to_native(body)
    try:
        validate_chat_body(info, native, openai=True)
    except EmulatorError as exc:
        raise ProviderError(400, exc.message.removeprefix(_BAD_INPUT_PREFIX)) from exc
    gen = scripts.generate(info, native)
    _check_context_window(row, gen, "messages")
    if not stream:
        return _clean_completion(shapes.render_openai_completion(name, gen))
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return shapes.render_openai_stream(name, gen, include_usage)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ProviderError(
        400,
        "'input' must be a non-empty string or a non-empty list of non-empty strings.",
        param="input",
    )


def _encode(vector: list[float], encoding: Any) -> Any:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def embeddings(row: ThirdPartyModel, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Answer an OpenAI embeddings body: ``{"object": "list", "data": [...], "usage"}``.

    ``dimensions`` shortens the vectors (text-embedding-3); ``encoding_format: "base64"``
    sends little-endian float32 bytes in base64, as OpenAI does.

    Raises:
        ProviderError: 400 for a bad ``input``, ``dimensions`` or ``encoding_format``.
    """
    _check_kind(row, name, "embeddings")
    texts = _texts(body.get("input"))
    size = row.dimensions or 1536
    wanted = body.get("dimensions", size)
    if not isinstance(wanted, int) or isinstance(wanted, bool) or not 1 <= wanted <= size:
        raise ProviderError(
            400, f"'dimensions' must be a whole number from 1 to {size}.", param="dimensions"
        )
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise ProviderError(
            400, "'encoding_format' must be 'float' or 'base64'.", param="encoding_format"
        )
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encode(tasks.embed_text(text, wanted, _EMBEDDING_SALT), encoding),
        }
        for index, text in enumerate(texts)
    ]
    tokens = sum(standins.count_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# -- the Responses API (/ai/v1/responses, {gateway}/openai/responses) ----------------------------

_INPUT_ROLES = ("user", "assistant", "system", "developer")
_INPUT_ITEMS = ("message", "function_call", "function_call_output", "reasoning")
_INPUT_PARTS = ("input_text", "output_text", "input_image", "refusal")
_TOOL_CHOICES = ("auto", "none", "required")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_SUMMARIES = ("auto", "concise", "detailed")
_TEXT_FORMATS = ("text", "json_object", "json_schema")
_MIN_OUTPUT_TOKENS = 16  # OpenAI's minimum max_output_tokens
_TOKENS_PER_DELTA = 4


def _missing(param: str) -> ProviderError:
    return ProviderError(
        400,
        f"Missing required parameter: '{param}'.",
        code="missing_required_parameter",
        param=param,
    )


def _bad_value(param: str, value: Any, allowed: Sequence[str]) -> ProviderError:
    listed = ", ".join(repr(a) for a in allowed)
    return ProviderError(
        400,
        f"Invalid value: {value!r}. Supported values are: {listed}.",
        code="invalid_value",
        param=param,
    )


def _check_input_message(item: Mapping[str, Any], where: str) -> None:
    if item.get("role") not in _INPUT_ROLES:
        raise _bad_value(f"{where}.role", item.get("role"), _INPUT_ROLES)
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _missing(f"{where}.content")
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in _INPUT_PARTS:
            raise _bad_value(f"{where}.content[{index}].type", kind, _INPUT_PARTS)


def _check_input(value: Any) -> None:
    """``input``: a string, or items (messages, function calls and their outputs, reasoning
    items passed back); a ``function_call_output`` answers an earlier ``function_call``."""
    if value is None:
        raise _missing("input")
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise ProviderError(
            400,
            "Invalid type for 'input': expected a string or an array of input items.",
            code="invalid_type",
            param="input",
        )
    calls: set[Any] = set()
    for index, item in enumerate(value):
        where = f"input[{index}]"
        kind = item.get("type", "message") if isinstance(item, Mapping) else None
        if kind not in _INPUT_ITEMS:
            raise _bad_value(f"{where}.type", kind, _INPUT_ITEMS)
        assert isinstance(item, Mapping)
        if kind == "message":
            _check_input_message(item, where)
        elif kind == "function_call":
            for key in ("call_id", "name", "arguments"):
                if not isinstance(item.get(key), str):
                    raise _missing(f"{where}.{key}")
            calls.add(item["call_id"])
        elif kind == "function_call_output" and item.get("call_id") not in calls:
            raise ProviderError(
                400,
                f"No tool call found for function call output with call_id "
                f"{item.get('call_id')}. Send the function_call item before its output.",
                param="input",
            )


def _check_response_tools(row: ThirdPartyModel, name: str, body: Mapping[str, Any]) -> None:
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise ProviderError(400, "'tools' must be an array of function tools.", param="tools")
    if tools and not row.tools:
        raise ProviderError(400, f"{name} does not support tools; remove 'tools'.", param="tools")
    names: list[str] = []
    for index, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if kind != "function":
            raise ProviderError(
                400,
                f"The emulator's stand-ins serve function tools only; {kind!r} is not emulated.",
                code="invalid_value",
                param=f"tools[{index}].type",
            )
        assert isinstance(tool, Mapping)
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _missing(f"tools[{index}].name")
        names.append(tool["name"])
    choice = body.get("tool_choice")
    if choice is None or choice in ("auto", "none") or (choice == "required" and names):
        return
    forced = choice.get("name") if isinstance(choice, Mapping) else None
    if isinstance(choice, Mapping) and choice.get("type") == "function" and forced in names:
        return
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        message = f"Tool choice 'function' with name '{forced}' not found in 'tools' parameter."
    elif choice == "required":
        message = "Tool choice 'required' must be specified with 'tools' parameter."
    else:
        message = "'tool_choice' must be 'auto', 'none', 'required' or {type: function, name}."
    raise ProviderError(400, message, param="tool_choice")


def _check_reasoning(row: ThirdPartyModel, reasoning: Any) -> None:
    if reasoning is None:
        return
    if not isinstance(reasoning, Mapping):
        raise ProviderError(400, "'reasoning' must be {effort, summary}.", param="reasoning")
    given = [key for key in ("effort", "summary") if reasoning.get(key) is not None]
    if given and not row.reasoning:
        raise ProviderError(
            400,
            f"Unsupported parameter: 'reasoning.{given[0]}' is not supported with this model.",
            code="unsupported_parameter",
            param=f"reasoning.{given[0]}",
        )
    for key, allowed in (("effort", _EFFORTS), ("summary", _SUMMARIES)):
        if key in given and reasoning[key] not in allowed:
            raise _bad_value(f"reasoning.{key}", reasoning[key], allowed)


def _check_text_format(row: ThirdPartyModel, name: str, text: Any) -> None:
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind not in _TEXT_FORMATS:
        raise _bad_value("text.format.type", kind, _TEXT_FORMATS)
    assert isinstance(fmt, Mapping)
    if kind != "text" and not row.json_mode:
        raise ProviderError(400, f"{name} does not support text.format {kind}.", param="text")
    if kind == "json_schema":
        if not isinstance(fmt.get("name"), str) or not fmt["name"]:
            raise _missing("text.format.name")
        if not isinstance(fmt.get("schema"), Mapping):
            raise _missing("text.format.schema")


def _check_response_numbers(body: Mapping[str, Any]) -> None:
    limit = body.get("max_output_tokens")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or limit < _MIN_OUTPUT_TOKENS
    ):
        raise ProviderError(
            400,
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
            f"{_MIN_OUTPUT_TOKENS}, but got {limit!r} instead.",
            code="integer_below_min_value",
            param="max_output_tokens",
        )
    for key, high in (("temperature", 2.0), ("top_p", 1.0)):
        value = body.get(key)
        if value is not None and (
            not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= high
        ):
            raise ProviderError(
                400,
                f"Invalid '{key}': expected a number from 0 to {high:g}, but got {value!r}.",
                code="invalid_value",
                param=key,
            )
    if not isinstance(body.get("stream", False), bool):
        raise ProviderError(400, "'stream' must be a boolean.", code="invalid_type", param="stream")


def _hex(seed: int, label: str, length: int = 48) -> str:
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()[:length]


def _provider_item(item: Mapping[str, Any], summary: bool) -> dict[str, Any]:
    """An output item as OpenAI sends it: a reasoning item shows a summary (when the request
    asked for one, ``reasoning.summary``), never the reasoning itself."""
    if item.get("type") != "reasoning":
        return dict(item)
    texts = [p.get("text", "") for p in item.get("content") or () if isinstance(p, Mapping)]
    parts = [{"type": "summary_text", "text": " ".join(texts)}] if summary else []
    return {"type": "reasoning", "id": item["id"], "summary": parts}


def _response_object(name: str, gen: Generation, body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``response`` object: the Workers AI rendering (:func:`shapes.render_responses`) with
    OpenAI's ``resp_`` id, the request's settings echoed, and usage details."""
    rendered = shapes.render_responses(name, gen)
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), Mapping) else {}
    assert isinstance(reasoning, Mapping)
    summary = reasoning.get("summary") is not None
    return {
        "id": "resp_" + _hex(gen.seed, "response"),
        "object": "response",
        "created_at": rendered["created_at"],
        "status": rendered["status"],
        "error": None,
        "incomplete_details": rendered.get("incomplete_details"),
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": name,
        "output": [_provider_item(item, summary) for item in rendered["output"]],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": gen.prompt_tokens,
            "input_tokens_details": {"cached_tokens": gen.cached_tokens or 0},
            "output_tokens": gen.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": count_tokens(gen.reasoning)},
            "total_tokens": gen.total_tokens,
        },
        "metadata": body.get("metadata") or {},
    }


def responses(
    row: ThirdPartyModel, name: str, body: Mapping[str, Any], *, stream: bool = False
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer an OpenAI Responses body with the ``response`` object, or its stream events.

    Reasoning models (``row.reasoning``) reason when the request sends ``reasoning`` (OpenAI's
    always do): a ``reasoning`` item first, its ``summary`` filled when ``reasoning.summary``
    is set, and ``output_tokens_details.reasoning_tokens``. Tool calls are ``function_call``
    items; JSON comes with ``text.format``. ``input_tokens_details.cached_tokens`` is 0: the
    stand-ins do no automatic prompt caching.

    Raises:
        ProviderError: 400 in OpenAI's format naming the ``param`` (``input[2].role``,
            ``reasoning.effort``, ``text.format.name``...), for an embeddings model, or a
            prompt beyond the context window.
    """
    _check_kind(row, name, "chat")
    _check_input(body.get("input"))
    _check_response_tools(row, name, body)
    _check_reasoning(row, body.get("reasoning"))
    _check_text_format(row, name, body.get("text"))
    _check_response_numbers(body)
    reasoning = row.reasoning and (row.provider == "openai" or body.get("reasoning") is not None)
    try:
        gen = tasks.responses_generation(model_facts(row, name, reasoning=reasoning), body)
    except EmulatorError as exc:
        raise ProviderError(400, exc.message.removeprefix(_BAD_INPUT_PREFIX)) from exc
    _check_context_window(row, gen, "input")
    response = _response_object(name, gen, body)
    return responses_events(response, getattr(gen, "text_chunks", None)) if stream else response


def _item_events(
    index: int, item: Mapping[str, Any], text_chunks: Sequence[str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """``(event type, fields)`` of one output item: added, its parts and deltas, done
    (``text_chunks``: a scripted reply's pieces of the message text)."""
    at: dict[str, Any] = {"item_id": item["id"], "output_index": index}
    middle: list[tuple[str, dict[str, Any]]] = []
    if item["type"] == "message":
        started: dict[str, Any] = {**item, "status": "in_progress", "content": []}
        part, part_at = item["content"][0], {**at, "content_index": 0}
        middle.append(("response.content_part.added", {**part_at, "part": {**part, "text": ""}}))
        middle += [
            ("response.output_text.delta", {**part_at, "delta": piece, "logprobs": []})
            for piece in shapes.chunked(part["text"], text_chunks, _TOKENS_PER_DELTA)
        ]
        middle.append(("response.output_text.done", {**part_at, "text": part["text"]}))
        middle.append(("response.content_part.done", {**part_at, "part": part}))
    elif item["type"] == "function_call":
        started = {**item, "status": "in_progress", "arguments": ""}
        middle += [
            ("response.function_call_arguments.delta", {**at, "delta": piece})
            for piece in shapes.stream_pieces(item["arguments"], _TOKENS_PER_DELTA)
        ]
        done = {**at, "name": item["name"], "arguments": item["arguments"]}
        middle.append(("response.function_call_arguments.done", done))
    else:  # reasoning: the summary parts, if any
        started = {**item, "summary": []}
        for number, part in enumerate(item["summary"]):
            part_at = {**at, "summary_index": number}
            middle.append(
                ("response.reasoning_summary_part.added", {**part_at, "part": {**part, "text": ""}})
            )
            middle += [
                ("response.reasoning_summary_text.delta", {**part_at, "delta": piece})
                for piece in shapes.stream_pieces(part["text"], _TOKENS_PER_DELTA)
            ]
            middle.append(
                ("response.reasoning_summary_text.done", {**part_at, "text": part["text"]})
            )
            middle.append(("response.reasoning_summary_part.done", {**part_at, "part": part}))
    return [
        ("response.output_item.added", {"output_index": index, "item": started}),
        *middle,
        ("response.output_item.done", {"output_index": index, "item": dict(item)}),
    ]


def responses_events(
    response: Mapping[str, Any], text_chunks: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The Responses API stream of ``response`` (each event's ``type`` is its SSE name).

    ``response.created`` and ``response.in_progress`` (the response ``in_progress``, no output,
    no usage), per output item ``response.output_item.added`` ... ``response.output_item.done``
    (text deltas, function-call argument fragments, reasoning summary deltas in between), then
    ``response.completed`` (``response.incomplete`` when cut by ``max_output_tokens``) with the
    whole response and its usage. Every event has its ``sequence_number``.
    """
    pending = {
        **response,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "incomplete_details": None,
    }
    pairs: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": pending}),
        ("response.in_progress", {"response": pending}),
    ]
    for index, item in enumerate(response["output"]):
        pairs += _item_events(index, item, text_chunks)
    final = "response.completed" if response["status"] == "completed" else "response.incomplete"
    pairs.append((final, {"response": dict(response)}))
    return [
        {"type": kind, "sequence_number": number, **fields}
        for number, (kind, fields) in enumerate(pairs)
    ]


def responses_error_event(sequence_number: int, message: str) -> dict[str, Any]:
    """The ``error`` event that ends a failing Responses stream."""
    return {
        "type": "error",
        "code": "server_error",
        "message": message,
        "param": None,
        "sequence_number": sequence_number,
    }


# -- Anthropic's Messages API (/ai/v1/messages, {gateway}/anthropic/v1/messages) ----------------


def messages(
    row: ThirdPartyModel,
    name: str,
    body: Mapping[str, Any],
    *,
    surface: anthropic.Surface,
    cache: CachePrefix | None = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer an Anthropic Messages body with the ``message``, or its stream events
    (``"stream": true``); the stand-in rules are :mod:`workers_ai.emulator.anthropic`'s.

    Args:
        row: The model's facts (any chat model; ``thinking`` needs a reasoning model).
        name: The name to give in ``model``.
        body: The request body.
        surface: ``rest`` (``/ai/v1/messages``) or ``native`` (the gateway's Anthropic path).
        cache: The request's cached prefix (:func:`anthropic.cache_prefix`) and whether an
            identical one was cached before; ``None`` without ``cache_control``.

    Raises:
        AnthropicError: 400 naming the field, for a body Anthropic would refuse, an
            embeddings model, or a prompt beyond the context window.
    """
    if row.kind != "chat":
        raise AnthropicError(400, f"model: {name} is an embeddings model; send it to embeddings")
    anthropic.check_request(body, surface)
    thinking = anthropic.thinking_enabled(body)
    if body.get("tools") and not row.tools:
        raise AnthropicError(400, f"tools: {name} does not support tools; remove 'tools'")
    if thinking and not row.reasoning:
        raise AnthropicError(
            400, f"thinking: {name} does not support extended thinking; remove 'thinking'"
        )
    gen = scripts.generate(model_facts(row, name, reasoning=thinking), anthropic.to_native(body))
    try:
        _check_context_window(row, gen, "messages")
    except ProviderError as exc:
        raise AnthropicError.from_provider(exc) from exc
    message = anthropic.render_message(name, gen, body.get("stop_sequences") or [], cache)
    if not body.get("stream"):
        return message
    return anthropic.stream_events(message, getattr(gen, "text_chunks", None))
