"""Rendering of stand-in generations into every Workers AI wire shape (pure, no I/O).

* Native ``/ai/run`` result objects: the classic ``{response, tool_calls, usage}`` shape (with
  inline ``reasoning</think>answer`` for think-tag models and the object itself in JSON mode),
  or the chat-completion shape inside ``result`` (``text_completion`` for prompt input).
* Native streams: classic ``{"response", "p"}`` events, or OpenAI ``chat.completion.chunk``
  events mixed with native fields; both end with ``{"response": "", "usage": {...}}`` (with a
  float ``neurons``), or carry usage deltas on every event (the opt-in per-chunk variant).
* ``/ai/v1/chat/completions`` bodies and chunk streams, and the Responses shape.
* ``GET /ai/models/search`` items (§1) from the emulator's model facts.

Ids, timestamps and the ``p`` padding derive from the generation's seed, so the same request
always renders the same bytes. Events are dicts; :func:`sse_frame` turns one into bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from workers_ai.emulator import facts
from workers_ai.emulator.facts import ModelFacts
from workers_ai.emulator.standins import Generation, split_tokens
from workers_ai.tools import synthesize_tool_call_id

__all__ = [
    "chunked",
    "render_native",
    "render_native_stream",
    "render_openai_completion",
    "render_openai_stream",
    "render_responses",
    "render_search_item",
    "sse_frame",
    "stream_pieces",
    "text_pieces",
]

_THINK_CLOSE = "</think>"
_CREATED_BASE = 1_750_000_000
_PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ARGUMENT_TOKENS_PER_FRAGMENT = 4


def sse_frame(event: Mapping[str, Any] | str, *, name: str | None = None) -> bytes:
    """Frame one event: ``data: <compact JSON>\\n\\n`` (a string such as ``"[DONE]"`` as is).

    With ``name``, an ``event: <name>`` line comes first: the framing of Anthropic's and the
    Responses API's streams (spec §1.5), whose events are named by their ``type``.
    """
    if isinstance(event, str):
        payload = event
    else:
        payload = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    head = b"" if name is None else b"event: " + name.encode() + b"\n"
    return head + b"data: " + payload.encode() + b"\n\n"


def text_pieces(gen: Generation) -> list[str]:
    """The streamed pieces of the answer text: a scripted reply's own chunks
    (:class:`~workers_ai.emulator.scripts.ScriptedGeneration`), else one per token."""
    chunks = getattr(gen, "text_chunks", None)
    return list(chunks) if chunks else split_tokens(gen.text)


def chunked(text: str, chunks: Sequence[str] | None, tokens_per_piece: int) -> list[str]:
    """``text`` in a scripted reply's ``chunks`` when they make it up, else in pieces of
    ``tokens_per_piece`` tokens (:func:`stream_pieces`)."""
    if chunks and "".join(chunks) == text:
        return list(chunks)
    return stream_pieces(text, tokens_per_piece)


def stream_pieces(text: str, tokens_per_piece: int) -> list[str]:
    """``text`` in stream deltas of ``tokens_per_piece`` tokens each (they join to ``text``)."""
    return list(_groups(split_tokens(text), tokens_per_piece))


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------


def _hex_for(seed: int, label: str, length: int = 24) -> str:
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()[:length]


def _created_from_seed(seed: int) -> int:
    """A stable, plausible Unix time (2025-2026) for ``created`` fields."""
    return _CREATED_BASE + seed % 40_000_000


def _usage_to_wire(gen: Generation, info: ModelFacts | None = None) -> dict[str, Any]:
    """``{prompt_tokens, completion_tokens, total_tokens}``, ``prompt_tokens_details`` when the
    request named a session (``x-session-affinity``), and with ``info`` (native ``/ai/run``
    answers) the float ``neurons`` when the model has neuron rates."""
    if info is not None:
        return _native_usage(info, gen.prompt_tokens, gen.completion_tokens, gen.cached_tokens)
    usage: dict[str, Any] = {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "total_tokens": gen.total_tokens,
    }
    if gen.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": gen.cached_tokens}
    return usage


def _neurons(info: ModelFacts, prompt: int, completion: int, cached: int = 0) -> float | None:
    """Neurons billed for the tokens at the model's rates; ``None`` when a rate is unknown.

    Cached prompt tokens are billed at the cached-input rate when the model has one.
    """
    rate_in, rate_out = info.neurons_per_m_input, info.neurons_per_m_output
    if rate_in is None or rate_out is None:
        return None
    rate_cached = info.neurons_per_m_cached_input
    rate_cached = rate_in if rate_cached is None else rate_cached
    total = (prompt - cached) * rate_in + cached * rate_cached + completion * rate_out
    return round(total / 1_000_000, 6)


def _native_usage(
    info: ModelFacts, prompt: int, completion: int, cached: int | None
) -> dict[str, Any]:
    """A native usage object: counts, ``prompt_tokens_details`` and float ``neurons``.

    Spec §2b/§3 report ``neurons`` in stream usage; the emulator reports them in native
    non-streamed usage too, so a streamed and a non-streamed call bill the same.
    """
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    neurons = _neurons(info, prompt, completion, cached or 0)
    if neurons is not None:
        usage["neurons"] = neurons
    return usage


def _tool_call_id(gen: Generation, index: int) -> str:
    return "chatcmpl-tool-" + _hex_for(gen.seed, f"tool-call-{index}", 16)


def _arguments_to_json(arguments: Mapping[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False)


def _tool_calls_to_wire(gen: Generation, tool_format: str | None) -> list[dict[str, Any]]:
    """Tool calls in a family's format: legacy, ``openai_object`` or ``openai``."""
    calls: list[dict[str, Any]] = []
    for index, (name, arguments) in enumerate(gen.tool_calls):
        if tool_format == "legacy" or tool_format is None:
            calls.append({"name": name, "arguments": dict(arguments)})
            continue
        args: Any = dict(arguments)
        if tool_format != "openai_object":
            args = _arguments_to_json(arguments)
        calls.append(
            {
                "id": _tool_call_id(gen, index),
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
        )
    return calls


def _inline_think_text(gen: Generation) -> str:
    """``reasoning</think>\\n\\nanswer`` with the opening tag missing (DeepSeek-R1, QwQ).

    With thinking off the block is empty (``</think>answer``), as on Workers AI.
    """
    if not gen.thinking_done:
        return gen.reasoning
    return gen.reasoning + _THINK_CLOSE + ("\n\n" + gen.text if gen.text else "")


def _inline_think_pieces(gen: Generation) -> list[str]:
    """Stream pieces of :func:`_inline_think_text`: one per token, ``</think>`` whole."""
    pieces = split_tokens(gen.reasoning)
    if gen.thinking_done:
        pieces.append(_THINK_CLOSE)
        pieces += split_tokens("\n\n" + gen.text) if gen.text else []
    return pieces


def _reasoning_key(info: ModelFacts) -> str | None:
    """The message field reasoning goes in, or ``None`` for think tags / no reasoning."""
    if info.reasoning_format in ("reasoning_content", "reasoning"):
        return info.reasoning_format
    return None


def _padding_from_rng(rng: random.Random) -> str:
    return "".join(rng.choices(_PAD_ALPHABET, k=rng.randint(1, 24)))


def _groups(pieces: Sequence[str], size: int) -> Iterator[str]:
    for start in range(0, len(pieces), size):
        yield "".join(pieces[start : start + size])


def _tool_call_fragments(gen: Generation) -> list[dict[str, Any]]:
    """OpenAI stream fragments: id/name first, then the arguments string in pieces."""
    fragments: list[dict[str, Any]] = []
    for index, (name, arguments) in enumerate(gen.tool_calls):
        fragments.append(
            {
                "index": index,
                "id": _tool_call_id(gen, index),
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        )
        raw = split_tokens(_arguments_to_json(arguments))
        fragments += [
            {"index": index, "function": {"arguments": piece}}
            for piece in _groups(raw, _ARGUMENT_TOKENS_PER_FRAGMENT)
        ]
    return fragments


# ---------------------------------------------------------------------------------------------
# Chat-completion bodies and chunks
# ---------------------------------------------------------------------------------------------


def _chat_message(gen: Generation, reasoning_key: str | None, inline_think: bool) -> dict[str, Any]:
    text = _inline_think_text(gen) if inline_think else gen.text
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if (text or not gen.tool_calls) and not gen.null_content else None,
    }
    if reasoning_key is not None:
        message[reasoning_key] = gen.reasoning or None
    message["tool_calls"] = _tool_calls_to_wire(gen, "openai")
    return message


def _chat_completion_body(
    model: str,
    gen: Generation,
    reasoning_key: str | None,
    inline_think: bool,
    native: ModelFacts | None = None,
) -> dict[str, Any]:
    choice = {
        "index": 0,
        "message": _chat_message(gen, reasoning_key, inline_think),
        "finish_reason": gen.finish_reason,
        "stop_reason": None,
        "logprobs": None,
    }
    return {
        "id": "chatcmpl-" + _hex_for(gen.seed, "completion", 32),
        "object": "chat.completion",
        "created": _created_from_seed(gen.seed),
        "model": model,
        "choices": [choice],
        "usage": _usage_to_wire(gen, native),
    }


def _text_completion_body(info: ModelFacts, gen: Generation) -> dict[str, Any]:
    """qwen3's typed ``text_completion`` variant for prompt input (``choices[0].text``)."""
    return {
        "id": "cmpl-" + _hex_for(gen.seed, "completion", 32),
        "object": "text_completion",
        "created": _created_from_seed(gen.seed),
        "model": info.id,
        "choices": [
            {"index": 0, "text": gen.text, "finish_reason": gen.finish_reason, "logprobs": None}
        ],
        "usage": _usage_to_wire(gen, info),
    }


def _chunk_factory(model: str, gen: Generation) -> Callable[..., dict[str, Any]]:
    base = {
        "id": "chatcmpl-" + _hex_for(gen.seed, "completion", 32),
        "object": "chat.completion.chunk",
        "created": _created_from_seed(gen.seed),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**base, "choices": [choice], **extra}

    return chunk


def _chat_chunks(
    model: str, gen: Generation, reasoning_key: str | None, inline_think: bool, *, mixed: bool
) -> list[dict[str, Any]]:
    """Chunks for reasoning, content and tool calls, then the finish chunk.

    ``mixed`` (native ``/ai/run``) adds the native fields observed on Workers AI (spec §3):
    each content chunk repeats its piece as ``response`` next to ``"tool_calls": []``, and the
    finish chunk carries ``"usage": {"prompt_tokens": 0, "completion_tokens": 0}`` (the real
    usage follows in the native usage event).
    """
    chunk = _chunk_factory(model, gen)
    events: list[dict[str, Any]] = []
    if reasoning_key is not None:
        events += [chunk({reasoning_key: piece}) for piece in split_tokens(gen.reasoning)]
    pieces = _inline_think_pieces(gen) if inline_think else text_pieces(gen)
    for piece in pieces:
        native = {"response": piece, "tool_calls": []} if mixed else {}
        events.append(chunk({"content": piece}, **native))
    events += [chunk({"tool_calls": [fragment]}) for fragment in _tool_call_fragments(gen)]
    finish_extra = {"usage": {"prompt_tokens": 0, "completion_tokens": 0}} if mixed else {}
    events.append(chunk({}, gen.finish_reason, **finish_extra))
    return events


def _text_completion_chunks(model: str, gen: Generation) -> list[dict[str, Any]]:
    base = {
        "id": "cmpl-" + _hex_for(gen.seed, "completion", 32),
        "object": "text_completion",
        "created": _created_from_seed(gen.seed),
        "model": model,
    }
    events = [
        {**base, "choices": [{"index": 0, "text": piece, "finish_reason": None}]}
        for piece in text_pieces(gen)
    ]
    events.append(
        {**base, "choices": [{"index": 0, "text": "", "finish_reason": gen.finish_reason}]}
    )
    return events


# ---------------------------------------------------------------------------------------------
# Native /ai/run
# ---------------------------------------------------------------------------------------------


def _classic_result(info: ModelFacts, gen: Generation) -> dict[str, Any]:
    response: Any = gen.parsed if gen.parsed is not None else gen.text
    if gen.parsed is None and info.think_tags:
        response = _inline_think_text(gen)
    if gen.null_content:
        response = None
    result: dict[str, Any] = {
        "response": response,
        "tool_calls": _tool_calls_to_wire(gen, info.tool_call_format),
        "usage": _usage_to_wire(gen, info),
    }
    key = _reasoning_key(info)
    if key is not None and gen.reasoning:
        result[key] = gen.reasoning
    return result


def render_native(info: ModelFacts, gen: Generation, body: Mapping[str, Any]) -> dict[str, Any]:
    """Render the ``result`` object of a non-streamed ``/ai/run`` call.

    Args:
        info: The model's facts (its ``output_shape``, ``tool_call_format`` and
            ``reasoning_format`` pick the shape).
        gen: The generation.
        body: The request body (prompt input gets ``text_completion`` on chat-completion
            models).

    Returns:
        Classic ``{response, tool_calls, usage}`` (``response`` is the object in JSON mode),
        or a ``chat.completion`` / ``text_completion`` object.
    """
    if info.output_shape == "chat_completion":
        if "prompt" in body and "messages" not in body:
            return _text_completion_body(info, gen)
        key = _reasoning_key(info)
        return _chat_completion_body(info.id, gen, key, inline_think=False, native=info)
    return _classic_result(info, gen)


def _classic_stream(info: ModelFacts, gen: Generation) -> list[dict[str, Any]]:
    rng = random.Random(gen.seed)
    pieces = _inline_think_pieces(gen) if info.think_tags else text_pieces(gen)
    events: list[dict[str, Any]] = []
    key = _reasoning_key(info)
    if key is not None:
        events += [{key: p, "p": _padding_from_rng(rng)} for p in split_tokens(gen.reasoning)]
    events += [{"response": piece, "p": _padding_from_rng(rng)} for piece in pieces]
    if gen.tool_calls:
        calls = _streamed_native_calls(gen, info.tool_call_format in (None, "legacy"))
        events.append({"tool_calls": calls, "p": _padding_from_rng(rng)})
        events.append({"finish_reason": "tool_calls"})
    return events


def _streamed_native_calls(gen: Generation, legacy: bool) -> list[dict[str, Any]]:
    """Streamed native calls have one form for every family (spec §3): ``id``, ``type``,
    ``index`` and JSON-string ``arguments``; non-streamed results keep the family's format.

    The ids are the ones a client reads from the non-streamed answer: the family's own ids, or
    for legacy calls (sent without one) the id the core synthesizes for them, so a streamed
    and a non-streamed call of the same request agree.
    """
    calls: list[dict[str, Any]] = []
    for index, (name, arguments) in enumerate(gen.tool_calls):
        raw = _arguments_to_json(arguments)
        call_id = synthesize_tool_call_id(name, raw, index) if legacy else _tool_call_id(gen, index)
        function = {"name": name, "arguments": raw}
        calls.append({"id": call_id, "type": "function", "index": index, "function": function})
    return calls


def _has_token_piece(event: Mapping[str, Any]) -> bool:
    """Whether a stream event carries one piece of text or reasoning (one token)."""
    if event.get("response") or event.get("reasoning_content") or event.get("reasoning"):
        return True
    choices = event.get("choices")
    if not choices:
        return False
    delta = choices[0].get("delta") or {}
    keys = ("content", "reasoning_content", "reasoning")
    return bool(choices[0].get("text") or any(delta.get(key) for key in keys))


def _with_usage_per_chunk(
    info: ModelFacts, gen: Generation, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The per-chunk variant (reference inline-values.json): usage deltas on every event.

    A first ``{"response": "", "usage": <prompt>}`` event bills the prompt; each event then
    carries its own delta (one token per text or reasoning piece; the last event the rest, e.g.
    tool-call tokens), each with its ``neurons``. The deltas add up to the totals.
    """
    prompt = _native_usage(info, gen.prompt_tokens, 0, gen.cached_tokens)
    out: list[dict[str, Any]] = [{"response": "", "usage": prompt}]
    events = events or [{"response": ""}]
    remaining = gen.completion_tokens
    for index, event in enumerate(events):
        last = index == len(events) - 1
        tokens = remaining if last else min(remaining, int(_has_token_piece(event)))
        remaining -= tokens
        out.append({**event, "usage": _native_usage(info, 0, tokens, None)})
    return out


def render_native_stream(
    info: ModelFacts, gen: Generation, body: Mapping[str, Any], *, usage_per_chunk: bool = False
) -> list[dict[str, Any]]:
    """Render the events of a streamed ``/ai/run`` call (without ``[DONE]``).

    Classic models: one ``{"response": <token>, "p": <padding>}`` event per token (think-tag
    models stream ``reasoning``, ``</think>``, then the answer), tool calls as one native
    ``{"tool_calls": [...]}`` event followed by ``{"finish_reason": "tool_calls"}``.
    Chat-completion models: ``chat.completion.chunk`` events (``reasoning_content`` deltas,
    ``content`` deltas that also carry ``response``, tool-call fragments by ``index``), then a
    finish chunk. Both end with the native usage event ``{"response": "", "usage": {...}}``,
    whose usage adds a float ``neurons`` when the model has neuron rates.

    With ``usage_per_chunk`` (opt-in) there is no final usage event: every event carries its
    usage delta instead (see :func:`_with_usage_per_chunk`).
    """
    if info.output_shape != "chat_completion":
        events = _classic_stream(info, gen)
    elif "prompt" in body and "messages" not in body:
        events = _text_completion_chunks(info.id, gen)
    else:
        events = _chat_chunks(info.id, gen, _reasoning_key(info), inline_think=False, mixed=True)
    if usage_per_chunk:
        return _with_usage_per_chunk(info, gen, events)
    usage = _native_usage(info, gen.prompt_tokens, gen.completion_tokens, gen.cached_tokens)
    return [*events, {"response": "", "usage": usage}]


# ---------------------------------------------------------------------------------------------
# /ai/v1 (OpenAI-compatible) and Responses
# ---------------------------------------------------------------------------------------------


def _openai_reasoning(model: str) -> tuple[str | None, bool]:
    """``(reasoning field, inline think tags)`` for ``model`` on ``/ai/v1``."""
    info = facts.get(model)
    if info is not None and info.think_tags:
        return None, True
    reasoning = info.reasoning_format if info is not None else None
    return reasoning or "reasoning_content", False


def render_openai_completion(model: str, gen: Generation) -> dict[str, Any]:
    """Render a bare ``chat.completion`` body for ``/ai/v1/chat/completions``.

    Tool calls carry ids and JSON-string arguments; reasoning goes in ``reasoning_content``
    (``reasoning`` for models that use it, inline ``</think>`` for think-tag models).
    """
    key, inline = _openai_reasoning(model)
    return _chat_completion_body(model, gen, key, inline_think=inline)


def render_openai_stream(model: str, gen: Generation, include_usage: bool) -> list[dict[str, Any]]:
    """Render ``/ai/v1/chat/completions`` stream chunks (without ``[DONE]``).

    A role chunk, reasoning and content deltas, tool-call fragments, the finish chunk and,
    when ``include_usage`` (``stream_options.include_usage``), a last chunk with
    ``"choices": []`` and ``usage``.
    """
    key, inline = _openai_reasoning(model)
    chunk = _chunk_factory(model, gen)
    events = [chunk({"role": "assistant", "content": ""})]
    events += _chat_chunks(model, gen, key if gen.reasoning else None, inline, mixed=False)
    if include_usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = _usage_to_wire(gen)
        events.append(last)
    return events


def _responses_output(gen: Generation) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if gen.reasoning:
        output.append(
            {
                "type": "reasoning",
                "id": "rs_" + _hex_for(gen.seed, "reasoning"),
                "summary": [],
                "content": [{"type": "reasoning_text", "text": gen.reasoning}],
            }
        )
    for index, (name, arguments) in enumerate(gen.tool_calls):
        output.append(
            {
                "type": "function_call",
                "id": "fc_" + _hex_for(gen.seed, f"fc-{index}"),
                "call_id": "call_" + _hex_for(gen.seed, f"call-{index}"),
                "name": name,
                "arguments": _arguments_to_json(arguments),
                "status": "completed",
            }
        )
    if gen.text or not gen.tool_calls:
        output.append(
            {
                "type": "message",
                "id": "msg_" + _hex_for(gen.seed, "message"),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": gen.text, "annotations": []}],
            }
        )
    return output


def render_responses(model: str, gen: Generation) -> dict[str, Any]:
    """Render the Responses shape (gpt-oss ``input``/``instructions`` and ``/ai/v1/responses``).

    ``output`` holds a ``reasoning`` item, ``function_call`` items and a ``message`` item;
    ``status`` is ``"incomplete"`` (``max_output_tokens``) when the answer was truncated.
    """
    created = _created_from_seed(gen.seed)
    body: dict[str, Any] = {
        "id": f"id-{created * 1000 + gen.seed % 1000}",
        "object": "response",
        "created_at": created,
        "model": model,
        "output": _responses_output(gen),
        "status": "incomplete" if gen.finish_reason == "length" else "completed",
        "usage": {
            "input_tokens": gen.prompt_tokens,
            "output_tokens": gen.completion_tokens,
            "total_tokens": gen.total_tokens,
        },
    }
    if gen.cached_tokens is not None:
        body["usage"]["input_tokens_details"] = {"cached_tokens": gen.cached_tokens}
    if gen.finish_reason == "length":
        body["incomplete_details"] = {"reason": "max_output_tokens"}
    return body


# ---------------------------------------------------------------------------------------------
# GET /ai/models/search
# ---------------------------------------------------------------------------------------------

#: Stable ids derived from the names (Cloudflare's own are random UUIDs).
_SEARCH_ID_NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4c1e-9a0d-2f8e4b6c7d90")
#: ``property_id`` -> facts field, for numbers (reported as strings, as Cloudflare does).
_NUMBER_PROPERTIES = {
    "context_window": "context_window",
    "max_input_tokens": "max_input_tokens",
    "output_dimensions": "dimensions",
}
#: ``property_id`` -> facts field, for flags (reported as ``"true"`` only when true).
_FLAG_PROPERTIES = {
    "function_calling": "function_calling",
    "reasoning": "reasoning",
    "reasoning_effort": "reasoning_effort",
    "async_queue": "async_queue",
    "lora": "lora",
    "beta": "beta",
}
#: Price unit -> facts field with the USD price per million tokens.
_TOKEN_PRICE_UNITS = {
    "per M input tokens": "price_usd_per_m_input",
    "per M cached input tokens": "price_usd_per_m_cached_input",
    "per M output tokens": "price_usd_per_m_output",
}


def _search_prices(info: ModelFacts) -> list[dict[str, Any]]:
    usd_by_unit = [(unit, getattr(info, name)) for unit, name in _TOKEN_PRICE_UNITS.items()]
    usd_by_unit += [(price.unit, price.usd) for price in info.other_prices]
    return [
        {"unit": unit, "price": usd, "currency": "USD"}
        for unit, usd in usd_by_unit
        if usd is not None
    ]


def render_search_item(info: ModelFacts) -> dict[str, Any]:
    """One ``GET /ai/models/search`` result item (spec §1 [R2]).

    ``properties`` holds the known numbers as strings, the flags that are true as ``"true"``,
    the USD ``price`` list and ``planned_deprecation_date``; ``id`` and ``task.id`` are UUIDs
    derived from the names.
    """
    properties: list[dict[str, Any]] = [
        {"property_id": prop, "value": str(getattr(info, name))}
        for prop, name in _NUMBER_PROPERTIES.items()
        if getattr(info, name) is not None
    ]
    properties += [
        {"property_id": prop, "value": "true"}
        for prop, name in _FLAG_PROPERTIES.items()
        if getattr(info, name) is True
    ]
    prices = _search_prices(info)
    if prices:
        properties.append({"property_id": "price", "value": prices})
    if info.deprecated is not None:
        properties.append({"property_id": "planned_deprecation_date", "value": info.deprecated})
    task_id = str(uuid.uuid5(_SEARCH_ID_NAMESPACE, f"task:{info.task}"))
    return {
        "id": str(uuid.uuid5(_SEARCH_ID_NAMESPACE, f"model:{info.id}")),
        "source": 1,
        "name": info.id,
        "description": info.description,
        "task": {"id": task_id, "name": info.task, "description": ""},
        "tags": [],
        "properties": properties,
    }
