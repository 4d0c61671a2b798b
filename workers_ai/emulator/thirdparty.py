"""Stand-in answers of third-party models behind AI Gateway (pure, no I/O).

The same deterministic generation as the Workers AI chat stand-ins
(:func:`workers_ai.emulator.standins.generate_chat`: text from the conversation, tool choice,
JSON mode), fed from the emulator's third-party facts (:mod:`workers_ai.emulator.providers`)
and rendered as OpenAI does: a bare ``chat.completion`` or ``chat.completion.chunk`` events
(tool calls in fragments, ``usage`` with ``stream_options.include_usage``), and OpenAI's
embeddings list. Bad requests are :class:`~workers_ai.emulator.gateway.ProviderError`\\ s in
OpenAI's error format, as the provider's own answer passes through the gateway (§1.10).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any

from workers_ai.emulator import shapes, standins, tasks
from workers_ai.emulator.facts import TEXT_GENERATION, ModelFacts
from workers_ai.emulator.gateway import ProviderError
from workers_ai.emulator.providers import ThirdPartyModel
from workers_ai.emulator.validation import EmulatorError, validate_chat_body

__all__ = ["chat", "embeddings", "model_facts", "responses"]

_BAD_INPUT_PREFIX = "AiError: Bad input: "
_EMBEDDING_SALT = 7_301  # third-party vectors differ from any Workers AI model's


def model_facts(row: ThirdPartyModel, name: str) -> ModelFacts:
    """The facts the chat stand-in needs: an OpenAI-style model without reasoning."""
    return ModelFacts(
        id=name,
        task=TEXT_GENERATION,
        description=f"Stand-in for {name} (not the real model)",
        context_window=row.context_window,
        function_calling=row.tools,
        json_mode="response_format" if row.json_mode else None,
        output_shape="chat_completion",
        tool_call_format="openai" if row.tools else None,
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
    gen = standins.generate_chat(info, native)
    if row.context_window is not None and gen.prompt_tokens > row.context_window:
        raise ProviderError(
            400,
            f"This model's maximum context length is {row.context_window} tokens; your "
            f"messages have {gen.prompt_tokens}. Shorten the messages.",
            code="context_length_exceeded",
            param="messages",
        )
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


def responses(row: ThirdPartyModel, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Answer an OpenAI Responses body (``/ai/v1/responses``, not streamed) with the
    ``response`` object.

    Raises:
        ProviderError: 400 for an embeddings model or a body the provider would reject.
    """
    _check_kind(row, name, "chat")
    try:
        return tasks.responses_for(model_facts(row, name), body)
    except EmulatorError as exc:
        raise ProviderError(400, exc.message.removeprefix(_BAD_INPUT_PREFIX)) from exc
