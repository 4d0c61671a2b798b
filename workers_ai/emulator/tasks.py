"""The emulator's model dispatcher: request body -> stand-in output in the right wire shape.

The server calls :func:`run_model` / :func:`stream_model` for ``/ai/run/{model}`` (and once
per item of an async batch), :func:`openai_chat`, :func:`openai_embeddings` and
:func:`responses` for ``/ai/v1/...``, and :func:`model_schema` for ``/ai/models/schema``.
The task and every other model fact come from :mod:`workers_ai.emulator.facts`; unknown
models are 5007 errors. The non-chat stand-ins (hashed-feature embeddings, a BM25 reranker, a
lexicon sentiment classifier, tagged "translation", lead-sentence summaries) live here too;
the media tasks of spec §8 (speech, images) are in :mod:`workers_ai.emulator.media`. Pure: no
I/O.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from workers_ai.emulator import facts, media, scripts, shapes
from workers_ai.emulator.facts import (
    SUMMARIZATION,
    TEXT_CLASSIFICATION,
    TEXT_EMBEDDINGS,
    TEXT_GENERATION,
    TRANSLATION,
    ModelFacts,
)
from workers_ai.emulator.standins import (
    Generation,
    content_terms,
    content_to_text,
    count_tokens,
    messages_from_body,
    split_tokens,
    truncate_tokens,
)
from workers_ai.emulator.validation import (
    EmulatorError,
    bad_input,
    unsupported_param_effects,
    validate_chat_body,
    validate_embedding_texts,
    validate_lora,
    validate_rerank_body,
    validate_text_field,
)

__all__ = [
    "classify_sentiment",
    "cosine",
    "embed_text",
    "model_schema",
    "openai_chat",
    "openai_embeddings",
    "openai_to_native",
    "prompt_keys",
    "rerank_scores",
    "responses",
    "responses_for",
    "responses_generation",
    "run_model",
    "stream_model",
    "summarize",
    "translate",
]

_M3_POOLING = "cls"
_SUMMARY_DEFAULT_MAX_LENGTH = 1024


def _known_model(model: str) -> ModelFacts:
    info = facts.get(model)
    if info is None:
        raise EmulatorError(400, 5007, f"No such model {model} or task")
    return info


def _unsupported_task(info: ModelFacts) -> EmulatorError:
    return EmulatorError(
        400,
        5006,
        f"AiError: Bad input: the emulator has no stand-in for task '{info.task}' ({info.id})",
    )


def _is_responses_input(info: ModelFacts, body: Mapping[str, Any]) -> bool:
    if not info.responses_api or "messages" in body or "prompt" in body:
        return False
    return "input" in body or "instructions" in body


# --- Native /ai/run ----------------------------------------------------------------------------


def run_model(model: str, body: Mapping[str, Any], *, cached_tokens: int | None = None) -> Any:
    """Answer a non-streamed ``/ai/run/{model}`` call (or one batch item).

    Args:
        model: The model id from the path.
        body: The JSON body (without ``stream``); media models may hold raw ``bytes`` under
            ``audio``/``image`` (the request body was the file).
        cached_tokens: Prompt tokens served from the session's prefix cache
            (``x-session-affinity``), reported in ``usage.prompt_tokens_details``.

    Returns:
        The ``result`` object (a list for text classification, image classification and
        object detection), or raw PNG bytes for Stable-Diffusion-style text-to-image models.

    Raises:
        EmulatorError: 5007 for an unknown model, 5005 for ``lora`` on a non-LoRA model, 5006
            for bad input or a task the emulator has no stand-in for; what the model's
            ``unsupported_params`` call for (see :func:`unsupported_param_effects`).
    """
    info = _known_model(model)
    validate_lora(info, body)
    if info.task == TEXT_GENERATION:
        if _is_responses_input(info, body):
            return responses_for(info, body, cached_tokens)
        gen = _generate_native(info, body, cached_tokens)
        return shapes.render_native(info, gen, body)
    if info.task == TEXT_EMBEDDINGS:
        return _run_embeddings(info, body)
    if info.task == TEXT_CLASSIFICATION:
        return _run_rerank(info, body) if info.reranker else _run_sentiment(body)
    if info.task == TRANSLATION:
        return _run_translation(body)
    if info.task == SUMMARIZATION:
        return _run_summarization(body)
    if info.task in media.MEDIA_TASKS:
        return media.run_media(info, body)
    raise _unsupported_task(info)


def stream_model(
    model: str,
    body: Mapping[str, Any],
    *,
    cached_tokens: int | None = None,
    usage_per_chunk: bool = False,
) -> list[dict[str, Any]]:
    """Answer a streamed ``/ai/run/{model}`` call: the SSE events, without ``[DONE]``.

    Args:
        model: The model id.
        body: The JSON body.
        cached_tokens: As :func:`run_model`.
        usage_per_chunk: Put usage deltas on every event instead of one final usage event.

    Raises:
        EmulatorError: As :func:`run_model`; 5006 for a model that is not text generation.
    """
    info = _known_model(model)
    validate_lora(info, body)
    if info.task != TEXT_GENERATION:
        raise EmulatorError(
            400,
            5006,
            f"AiError: Bad input: 'stream' is only supported by text generation "
            f"models, not {info.id}",
        )
    if _is_responses_input(info, body):
        # the Responses API does not stream (spec §3)
        return [responses_for(info, body, cached_tokens)]
    gen = _generate_native(info, body, cached_tokens)
    return shapes.render_native_stream(info, gen, body, usage_per_chunk=usage_per_chunk)


def _generate_native(
    info: ModelFacts, body: Mapping[str, Any], cached_tokens: int | None
) -> Generation:
    """Validate a native chat/prompt body, generate, and apply the model's quirks."""
    validate_chat_body(info, body)
    effects = unsupported_param_effects(info, body)
    gen = _with_cache(scripts.generate(info, body), cached_tokens)
    if "null_content" in effects and not gen.tool_calls:
        answer_tokens = count_tokens(gen.text)
        gen = replace(
            gen,
            text="",
            parsed=None,
            null_content=True,
            completion_tokens=gen.completion_tokens - answer_tokens,
        )
    return gen


def _with_cache(gen: Generation, cached_tokens: int | None) -> Generation:
    if cached_tokens is None:
        return gen
    return replace(gen, cached_tokens=min(cached_tokens, gen.prompt_tokens))


def prompt_keys(model: str, body: Mapping[str, Any]) -> list[int] | None:
    """Per-token keys of a text-generation request's prompt, for prefix caching.

    Returns:
        The keys (see :func:`_prompt_token_keys`), or ``None`` when the model is not a
        known text-generation model or the body is not a chat/prompt/Responses body.
    """
    info = facts.get(model)
    if info is None or info.task != TEXT_GENERATION:
        return None
    if _is_responses_input(info, body):
        try:
            body = _responses_to_chat(body)
        except EmulatorError:
            return None
    if "messages" not in body and "prompt" not in body:
        return None
    return _prompt_token_keys(body)


def _prompt_token_keys(body: Mapping[str, Any]) -> list[int]:
    """One key per prompt token: the tools' tokens first (as a chat template puts them in the
    system prompt), then each message's tokens keyed with its position and role.

    Two prompts share a key prefix exactly as far as their token streams agree; there are as
    many keys as :func:`standins.count_prompt_tokens` counts (none for an empty prompt). Keys
    are ``hash()`` values: stable within the process, which is all an in-memory cache needs.
    """
    keys: list[int] = []
    tools = body.get("tools")
    if tools:
        text = json.dumps(tools, ensure_ascii=False, default=str)
        keys += [hash(("tools", token)) for token in split_tokens(text)]
    for index, message in enumerate(messages_from_body(body)):
        role = message.get("role")
        tokens = split_tokens(content_to_text(message.get("content")))
        keys += [hash((index, role, token)) for token in tokens]
    return keys


# --- Embeddings and reranking ------------------------------------------------------------------


def _add_feature(weights: dict[int, float], feature: str, weight: float, salt: int) -> None:
    h = zlib.crc32(feature.encode(), salt)
    index = h >> 1  # the low bit carries the sign
    weights[index] = weights.get(index, 0.0) + (weight if h & 1 else -weight)


def embed_text(text: str, dimensions: int, salt: int = 0) -> list[float]:
    """Return a deterministic, L2-normalised, lexically meaningful vector for ``text``.

    Each content word adds weight 1 and each of its character trigrams 0.25 at a hashed
    position (with a hashed sign), so texts that share words or word parts are close; a small
    whole-text hash component keeps different texts apart. ``salt`` separates models/poolings.
    Work is proportional to the text, not the dimension (features are summed sparsely).

    Args:
        text: The text.
        dimensions: The vector length.
        salt: Per-model (and pooling) salt.

    Returns:
        ``dimensions`` floats with unit L2 norm (rounded to 8 decimals).
    """
    hashed: dict[int, float] = {}
    for term in content_terms(text):
        _add_feature(hashed, term, 1.0, salt)
        padded = f"#{term}#"
        for start in range(len(padded) - 2):
            _add_feature(hashed, padded[start : start + 3], 0.25, salt)
    for index in range(4):
        _add_feature(hashed, f"\x00{index}\x00{text}", 0.1, salt)
    weights: dict[int, float] = {}
    for index, weight in hashed.items():
        weights[index % dimensions] = weights.get(index % dimensions, 0.0) + weight
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    vector = [0.0] * dimensions
    for index, weight in weights.items():
        vector[index] = round(weight / norm, 8)
    return vector


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0.0 when either is zero)."""
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def rerank_scores(query: str, documents: Sequence[str]) -> list[float]:
    """Score each document's relevance to ``query`` in (0, 1), in document order.

    BM25 (k1 = 1.2, b = 0.75, idf over the given documents) plus three times the idf-weighted
    share of query words the document contains, mapped through ``sigmoid(2x - 4)``: a document
    with none of the query's words scores about 0.02, one with all of them above 0.9.
    """
    query_terms = list(dict.fromkeys(content_terms(query)))
    docs = [content_terms(d) for d in documents]
    count = len(docs) or 1
    avg_len = sum(map(len, docs)) / count or 1.0
    idf = {
        t: math.log(1 + (count - df + 0.5) / (df + 0.5))
        for t in query_terms
        for df in [sum(1 for d in docs if t in d)]
    }
    total_idf = sum(idf.values()) or 1.0
    scores: list[float] = []
    for doc in docs:
        bm25 = 0.0
        covered = 0.0
        for term in query_terms:
            tf = doc.count(term)
            if tf:
                bm25 += idf[term] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(doc) / avg_len))
                covered += idf[term]
        scores.append(_sigmoid(2.0 * (bm25 + 3.0 * covered / total_idf) - 4.0))
    return scores


_SENTENCE_RE = re.compile(r"[^.!?]+[.!?]*")

# --- Other tasks -------------------------------------------------------------------------------

_POSITIVE_TEXT = (
    "good great excellent amazing love loved like liked wonderful fantastic happy best nice "
    "awesome perfect enjoy enjoyed brilliant superb delightful glad pleased recommend"
)
_NEGATIVE_TEXT = (
    "bad terrible awful hate hated horrible worst poor sad angry disappointing disappointed "
    "boring ugly broken useless annoying slow wrong fail failed"
)
_POSITIVE = frozenset(_POSITIVE_TEXT.split())
_NEGATIVE = frozenset(_NEGATIVE_TEXT.split())
_NEGATIONS = frozenset({"not", "no", "never", "don't", "dont", "isn't", "wasn't", "didn't"})


def classify_sentiment(text: str) -> list[dict[str, Any]]:
    """POSITIVE/NEGATIVE scores from a small word lexicon (a negation flips the next word).

    Returns:
        ``[{"label", "score"}, ...]`` best first; the two scores sum to 1.
    """
    balance = 0.0
    negate = False
    for word in re.findall(r"[\w']+", text.lower()):
        polarity = (word in _POSITIVE) - (word in _NEGATIVE)
        balance += -polarity if negate else polarity
        negate = word in _NEGATIONS
    jitter = (zlib.crc32(text.encode()) % 1000) / 5000.0 - 0.1
    positive = round(_sigmoid(2.0 * balance + jitter), 6)
    labels = [
        {"label": "POSITIVE", "score": positive},
        {"label": "NEGATIVE", "score": round(1 - positive, 6)},
    ]
    return sorted(labels, key=lambda item: -float(item["score"]))


def translate(text: str, target_lang: str) -> str:
    """A visibly fake translation: ``"[fr] original text"``."""
    return f"[{target_lang}] {text}"


def summarize(text: str, max_length: int) -> str:
    """The leading sentences of ``text`` (about a third of it, at least one sentence),
    cut to ``max_length`` tokens."""
    sentences = [s.strip() for s in _SENTENCE_RE.findall(text) if s.strip()]
    target = max(count_tokens(text) // 3, 1)
    chosen: list[str] = []
    for sentence in sentences:
        chosen.append(sentence)
        if count_tokens(" ".join(chosen)) >= target:
            break
    return truncate_tokens(" ".join(chosen) or text.strip(), max_length)


# --- Embeddings, reranking, other tasks --------------------------------------------------------


def _embedding_salt(info: ModelFacts, pooling: str) -> int:
    return zlib.crc32(f"{info.id}|{pooling}".encode())


def _embed_all(info: ModelFacts, texts: list[str], pooling: str = "mean") -> list[list[float]]:
    dims = info.dimensions or 768
    salt = _embedding_salt(info, pooling)
    return [embed_text(text, dims, salt) for text in texts]


def _pooling_from_body(info: ModelFacts, body: Mapping[str, Any]) -> str:
    pooling = body.get("pooling", "mean")
    if pooling not in ("mean", "cls"):
        raise bad_input("/pooling", "enum", "'pooling' must be one of mean, cls")
    return str(pooling) if info.pooling else "mean"


def _run_embeddings(info: ModelFacts, body: Mapping[str, Any]) -> dict[str, Any]:
    if info.input_style == "qwen3":
        return _run_qwen3_embeddings(info, body)
    if info.query_contexts and "text" not in body and "contexts" in body:
        return _run_query_contexts(info, body)
    truncate = bool(body.get("truncate_inputs")) and info.truncate_inputs
    texts = validate_embedding_texts(info, body.get("text"), "text", truncate=truncate)
    texts = _truncated(info, texts) if truncate else texts
    pooling = _pooling_from_body(info, body)
    vectors = _embed_all(info, texts, pooling)
    result: dict[str, Any] = {"shape": [len(vectors), len(vectors[0])], "data": vectors}
    if info.pooling:
        result["pooling"] = pooling
    elif info.query_contexts:
        result["pooling"] = _M3_POOLING
    return result


def _truncated(info: ModelFacts, texts: list[str]) -> list[str]:
    limit = info.max_input_tokens
    return texts if limit is None else [truncate_tokens(t, limit) for t in texts]


def _run_qwen3_embeddings(info: ModelFacts, body: Mapping[str, Any]) -> dict[str, Any]:
    """``queries`` then ``documents`` (``text`` is an alias of ``documents``)."""
    fields = [f for f in ("queries", "documents", "text") if body.get(f) is not None]
    if not fields:
        raise bad_input(
            "/", "anyOf", "must have required property 'queries', 'documents' or 'text'"
        )
    texts: list[str] = []
    for field in fields:
        texts += validate_embedding_texts(info, body[field], field)
    instruction = body.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise bad_input("/instruction", "type", "'instruction' must be string")
    vectors = _embed_all(info, texts)
    return {"data": vectors, "shape": [len(vectors), len(vectors[0])]}


def _run_query_contexts(info: ModelFacts, body: Mapping[str, Any]) -> dict[str, Any]:
    """bge-m3: scores of contexts against ``query``, or context embeddings without one."""
    query, texts, _ = validate_rerank_body(info, body, query_required=False)
    vectors = _embed_all(info, texts, _M3_POOLING)
    if query is None:
        return {"response": vectors, "shape": [len(vectors), len(vectors[0])], "pooling": "cls"}
    query_vector = _embed_all(info, [query], _M3_POOLING)[0]
    scores = [
        {"id": index, "score": round(max(cosine(query_vector, vector), 0.0), 6)}
        for index, vector in enumerate(vectors)
    ]
    return {"response": sorted(scores, key=lambda item: -item["score"])}


def _run_rerank(info: ModelFacts, body: Mapping[str, Any]) -> dict[str, Any]:
    query, texts, top_k = validate_rerank_body(info, body)
    assert query is not None
    scores = rerank_scores(query, texts)
    ranked = sorted(range(len(texts)), key=lambda index: (-scores[index], index))
    if top_k is not None:
        ranked = ranked[:top_k]
    tokens = count_tokens(query) * len(texts) + sum(map(count_tokens, texts))
    return {
        "response": [{"id": index, "score": round(scores[index], 6)} for index in ranked],
        "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
    }


def _run_sentiment(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return classify_sentiment(validate_text_field(body, "text"))


def _run_translation(body: Mapping[str, Any]) -> dict[str, Any]:
    text = validate_text_field(body, "text")
    target = validate_text_field(body, "target_lang")
    if "source_lang" in body and not isinstance(body["source_lang"], str):
        raise bad_input("/source_lang", "type", "'source_lang' must be string")
    return {"translated_text": translate(text, target)}


def _run_summarization(body: Mapping[str, Any]) -> dict[str, Any]:
    text = validate_text_field(body, "input_text")
    max_length = body.get("max_length", _SUMMARY_DEFAULT_MAX_LENGTH)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise bad_input("/max_length", "minimum", "'max_length' must be an integer >= 1")
    return {"summary": summarize(text, max_length)}


# --- /ai/v1 and the Responses API --------------------------------------------------------------


def _model_from_body(body: Mapping[str, Any], task: str) -> ModelFacts:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_input("/", "required", "must have required property 'model'")
    info = _known_model(model)
    if info.task != task:
        raise EmulatorError(
            400, 5006, f"AiError: Bad input: model {info.id} is a {info.task} model, not {task}"
        )
    return info


def openai_to_native(body: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``/ai/v1`` chat fields onto the native body (``json_schema: {name, schema}``)."""
    native = {k: v for k, v in body.items() if k not in ("model", "stream", "stream_options")}
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and isinstance(fmt.get("json_schema"), Mapping):
        wrapper = fmt["json_schema"]
        if isinstance(wrapper.get("schema"), Mapping):
            native["response_format"] = {"type": fmt.get("type"), "json_schema": wrapper["schema"]}
    return native


def openai_chat(
    body: Mapping[str, Any], stream: bool, *, cached_tokens: int | None = None
) -> dict[str, Any] | list[dict[str, Any]]:
    """Answer ``/ai/v1/chat/completions``: a bare ``chat.completion``, or its chunk events.

    Raises:
        EmulatorError: 5006 for a missing ``model``, a non-chat model or bad messages; 5007 for
            an unknown model.
    """
    info = _model_from_body(body, TEXT_GENERATION)
    native = openai_to_native(body)
    validate_chat_body(info, native, openai=True)
    gen = _with_cache(scripts.generate(info, native), cached_tokens)
    if not stream:
        return shapes.render_openai_completion(info.id, gen)
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return shapes.render_openai_stream(info.id, gen, include_usage)


def openai_embeddings(body: Mapping[str, Any]) -> dict[str, Any]:
    """Answer ``/ai/v1/embeddings`` with OpenAI's ``{"object": "list", "data": [...]}``."""
    info = _model_from_body(body, TEXT_EMBEDDINGS)
    texts = validate_embedding_texts(info, body.get("input"), "input")
    vectors = _embed_all(info, texts)
    tokens = sum(map(count_tokens, texts))
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": vector}
            for index, vector in enumerate(vectors)
        ],
        "model": info.id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def responses(body: Mapping[str, Any], *, cached_tokens: int | None = None) -> dict[str, Any]:
    """Answer ``/ai/v1/responses`` (gpt-oss only; not streamed) with the Responses shape."""
    info = _model_from_body(body, TEXT_GENERATION)
    if not info.responses_api:
        raise EmulatorError(
            400, 5006, f"AiError: Bad input: model {info.id} does not support the Responses API"
        )
    return responses_for(info, body, cached_tokens)


def responses_for(
    info: ModelFacts, body: Mapping[str, Any], cached_tokens: int | None = None
) -> dict[str, Any]:
    """The Responses shape of a Responses body (Workers AI's rendering)."""
    return shapes.render_responses(info.id, responses_generation(info, body, cached_tokens))


def responses_generation(
    info: ModelFacts, body: Mapping[str, Any], cached_tokens: int | None = None
) -> Generation:
    """The stand-in's answer to a Responses body (``input``, ``instructions``, ``tools``,
    ``text.format``...), translated to chat and validated as chat; each route renders it.

    Raises:
        EmulatorError: 5006 naming the field.
    """
    chat_body = _responses_to_chat(body)
    validate_chat_body(info, chat_body, openai=True)
    return _with_cache(scripts.generate(info, chat_body), cached_tokens)


def _input_part(part: Any) -> Any:
    """A Responses content part as a chat part: ``input_text``/``output_text`` -> ``text``,
    ``input_image`` (``image_url`` a URL string) -> ``image_url``; others as they are."""
    if not isinstance(part, Mapping):
        return part
    if part.get("type") in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text")}
    if part.get("type") == "input_image" and isinstance(part.get("image_url"), str):
        return {"type": "image_url", "image_url": {"url": part["image_url"]}}
    return part


def _input_item_to_message(item: Any, index: int) -> dict[str, Any] | None:
    """One Responses ``input`` item as a chat message (``None`` for reasoning items)."""
    if not isinstance(item, Mapping):
        raise bad_input(f"/input/{index}", "type", "each input item must be an object")
    kind = item.get("type", "message")
    if kind == "function_call_output":
        output = item.get("output")
        return {"role": "tool", "tool_call_id": item.get("call_id"), "content": str(output or "")}
    if kind == "function_call":
        function = {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}
        call = {"id": item.get("call_id") or item.get("id"), "type": "function"}
        return {"role": "assistant", "content": "", "tool_calls": [{**call, "function": function}]}
    if kind == "reasoning":
        return None
    role = item.get("role")
    content = item.get("content")
    if isinstance(content, list):
        content = [_input_part(p) for p in content]
    return {"role": "system" if role == "developer" else role, "content": content}


def _input_to_messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        messages.append({"role": "system", "content": validate_text_field(body, "instructions")})
    raw = body.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": validate_text_field(body, "input")})
    elif isinstance(raw, list):
        found = (_input_item_to_message(item, i) for i, item in enumerate(raw))
        messages += [m for m in found if m is not None]
    elif raw is not None:
        raise bad_input("/input", "type", "'input' must be string or array")
    if not any(m.get("role") in ("user", "tool") for m in messages):
        raise bad_input("/", "required", "must have required property 'input'")
    return messages


def _responses_to_chat(body: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a Responses body (``input``, ``instructions``, ``text.format``...) to chat."""
    chat: dict[str, Any] = {"messages": _input_to_messages(body)}
    for key in ("tools", "tool_choice", "parallel_tool_calls", "seed", "temperature", "top_p"):
        if key in body:
            chat[key] = body[key]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, Mapping) and "effort" in reasoning:
        chat["reasoning_effort"] = reasoning["effort"]
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": fmt.get("schema") or {}}
    elif isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    return chat


# --- /ai/models/schema -------------------------------------------------------------------------

_STRING: dict[str, Any] = {"type": "string", "minLength": 1}
_STRINGS: dict[str, Any] = {"oneOf": [_STRING, {"type": "array", "items": _STRING}]}
_USAGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        k: {"type": "number"} for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    },
}


def _text_generation_schema(info: ModelFacts) -> dict[str, Any]:
    common = {
        "stream": {"type": "boolean", "default": False},
        "max_tokens": {"type": "integer", "default": info.default_max_tokens or 256},
        "temperature": {"type": "number"},
        "seed": {"type": "integer", "minimum": 1},
        "response_format": {"type": "object"},
    }
    message = {
        "type": "object",
        "properties": {"role": {"type": "string"}, "content": {"type": ["string", "array"]}},
        "required": ["role", "content"],
    }
    return {
        "type": "object",
        "oneOf": [
            {
                "title": "Prompt",
                "properties": {"prompt": _STRING, **common},
                "required": ["prompt"],
            },
            {
                "title": "Messages",
                "properties": {
                    "messages": {"type": "array", "items": message},
                    "tools": {"type": "array"},
                    **common,
                },
                "required": ["messages"],
            },
        ],
    }


def _output_schema(info: ModelFacts) -> dict[str, Any]:
    if info.task == TEXT_GENERATION and info.output_shape == "chat_completion":
        return {"type": "object", "properties": {"choices": {"type": "array"}, "usage": _USAGE}}
    if info.task == TEXT_GENERATION:
        return {
            "type": "object",
            "properties": {
                "response": {"type": "string"},
                "tool_calls": {"type": "array"},
                "usage": _USAGE,
            },
        }
    if info.task == TEXT_EMBEDDINGS:
        vectors = {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
        return {"type": "object", "properties": {"shape": {"type": "array"}, "data": vectors}}
    return {"type": ["object", "array"]}


def _input_schema(info: ModelFacts) -> dict[str, Any]:
    if info.task == TEXT_GENERATION:
        return _text_generation_schema(info)
    if info.task == TEXT_EMBEDDINGS:
        props: dict[str, Any] = {"text": {**_STRINGS, "maxItems": info.max_batch}}
        if info.input_style == "qwen3":
            props = {"queries": _STRINGS, "documents": _STRINGS, "text": _STRINGS}
        if info.pooling:
            props["pooling"] = {"type": "string", "enum": ["mean", "cls"], "default": "mean"}
        return {"type": "object", "properties": props}
    if info.reranker:
        contexts = {"type": "array", "items": {"type": "object", "properties": {"text": _STRING}}}
        return {
            "type": "object",
            "properties": {
                "query": _STRING,
                "contexts": contexts,
                "top_k": {"type": "integer", "minimum": 1},
            },
            "required": ["query", "contexts"],
        }
    return {"type": "object"}


def model_schema(model: str) -> dict[str, Any]:
    """``GET /ai/models/schema?model=...``: ``{"input": <JSON Schema>, "output": <JSON Schema>}``.

    Small schemas describing what the stand-ins accept and return (not Cloudflare's full ones).

    Raises:
        EmulatorError: 5007 for an unknown model.
    """
    info = _known_model(model)
    if info.task in media.MEDIA_TASKS:
        return media.media_schema(info)
    return {"input": _input_schema(info), "output": _output_schema(info)}
