"""Embeddings without I/O: options, input checks, request bodies, response parsing, batching.

Everything here is a small pure function over an :class:`EmbeddingSpec` (the resolved options
of one model). :mod:`workers_ai.embedder` sends what these functions build; the LangChain and
LlamaIndex adapters only translate their types.

Request bodies per catalog ``input_style`` (spec §6):

- ``"text"`` (bge, bge-m3, embeddinggemma): ``{"text": [...]}`` plus ``pooling`` where the
  model takes it and ``truncate_inputs`` (bge-m3) when truncation is on. Query instructions are
  prefixes of the query text (model cards).
- ``"qwen3"``: ``{"queries": [...], "instruction": ...}`` for queries and
  ``{"documents": [...]}`` for documents; the server applies its default instruction when none
  is sent.

Example:
    >>> from workers_ai.embeddings import embedding_spec, prepare_texts, build_embedding_body
    >>> spec = embedding_spec("@cf/baai/bge-base-en-v1.5", pooling="cls", query_instruction=True)
    >>> texts = prepare_texts(["What is RAG?"], spec, kind="query").texts
    >>> build_embedding_body(spec, texts, kind="query")
    {'text': ['Represent this sentence for searching relevant passages: What is RAG?'], \
'pooling': 'cls'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from workers_ai import catalog
from workers_ai.catalog import ModelInfo
from workers_ai.envelope import value_excerpt
from workers_ai.errors import APIResponseValidationError, ConfigurationError, InvalidRequestError
from workers_ai.messages import find_unencodable
from workers_ai.model_checks import check_model
from workers_ai.settings import (
    DEFAULT_COALESCE_WINDOW_MS,
    DEFAULT_MAX_CONCURRENCY,
    validate_model_id,
)
from workers_ai.tokens import estimate_tokens, fits, truncate_to_tokens

__all__ = [
    "DEFAULT_COALESCE_WINDOW_MS",
    "DEFAULT_MAX_CONCURRENCY",
    "MAX_CONCURRENCY",
    "BatchPollPolicy",
    "EmbeddingSpec",
    "InputTruncatedWarning",
    "Kind",
    "PreparedTexts",
    "build_embedding_body",
    "embedding_spec",
    "parse_embedding_response",
    "plan_batches",
    "prepare_texts",
    "truncation_warning",
    "vectors_to_floats",
]

Kind = Literal["query", "document"]
Pooling = Literal["mean", "cls"]

# DEFAULT_MAX_CONCURRENCY and DEFAULT_COALESCE_WINDOW_MS are defined in workers_ai.settings.
#: Upper bound of ``max_concurrency``: the client's connection pool size.
MAX_CONCURRENCY = 100


class InputTruncatedWarning(UserWarning):
    """Some inputs were over the model's token limit and were cut (``truncate=True``)."""


@dataclass(frozen=True)
class BatchPollPolicy:
    """How to poll an async batch job (spec §10).

    Attributes:
        interval: Seconds before the first poll.
        multiplier: Growth of the interval after each pending answer.
        max_interval: Longest wait between polls.
        timeout: Give up after this many seconds (``None``: wait as long as it takes).
    """

    interval: float = 1.0
    multiplier: float = 1.5
    max_interval: float = 30.0
    timeout: float | None = None

    def delay(self, polls_done: int) -> float:
        """Seconds to wait before poll number ``polls_done + 1``."""
        return min(self.interval * self.multiplier**polls_done, self.max_interval)


@dataclass(frozen=True)
class EmbeddingSpec:
    """The resolved embedding options of one model. Build with :func:`embedding_spec`.

    Attributes:
        model: Model id.
        info: The model's catalog entry.
        batch_size: Texts per request (at most the model's ``max_batch``).
        max_concurrency: Most requests in flight (the adaptive limit never exceeds it).
        pooling: ``"mean"``/``"cls"`` sent as ``pooling``; ``None`` sends nothing.
        query_prefix: Prepended to query texts of ``"text"``-style models.
        instruction: ``instruction`` sent with qwen3 queries (``None``: server default).
        truncate: Cut over-long inputs (with a warning) instead of raising.
        max_retries: Retries of a failed batch (5xx, connection errors, timeouts); rate
            limits and capacity errors are retried adaptively and do not count.
        coalesce: Merge concurrent single-query calls into batched requests.
        coalesce_window: Seconds a query waits for others to join its request.
        use_batch_api: Send document batches through the async batch API.
        poll: How to poll batch jobs.
    """

    model: str
    info: ModelInfo
    batch_size: int
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    pooling: Pooling | None = None
    query_prefix: str = ""
    instruction: str | None = None
    truncate: bool = False
    max_retries: int = 2
    coalesce: bool = True
    coalesce_window: float = DEFAULT_COALESCE_WINDOW_MS / 1000.0
    use_batch_api: bool = False
    poll: BatchPollPolicy = field(default_factory=BatchPollPolicy)

    @property
    def max_input_tokens(self) -> int | None:
        """The per-input token limit the client enforces (``None``: unknown, not checked)."""
        return self.info.max_input_tokens


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name}={value!r}: use a whole number >= 1")
    return value


def _resolve_concurrency(value: int) -> int:
    """At most the connection pool's size: beyond it requests only queue inside httpx, whose
    pool slows down sharply with many waiters (encode/httpx#3215)."""
    concurrency = _positive_int("max_concurrency", value)
    if concurrency > MAX_CONCURRENCY:
        raise ConfigurationError(
            f"max_concurrency={concurrency}: use at most {MAX_CONCURRENCY} (the connection "
            "pool's size); 16 already reaches Workers AI's 3,000 requests/minute"
        )
    return concurrency


def _check_numbers(max_retries: int, window_ms: float, poll_interval: float) -> None:
    if max_retries < 0:
        raise ConfigurationError(f"max_retries={max_retries}: use 0 or more")
    if window_ms < 0 or poll_interval <= 0:
        raise ConfigurationError("coalesce_window_ms must be >= 0 and batch_poll_interval > 0")


def _resolve_batch_size(info: ModelInfo, batch_size: int | None) -> int:
    limit = info.max_batch
    if batch_size is None:
        return limit or 100
    size = _positive_int("batch_size", batch_size)
    if limit is not None and size > limit:
        raise ConfigurationError(
            f"batch_size={size}: {info.id} accepts at most {limit} inputs per request"
        )
    return size


def _resolve_pooling(info: ModelInfo, pooling: str | None) -> Pooling | None:
    if pooling is None:
        return None
    if pooling not in ("mean", "cls"):
        raise ConfigurationError(f"pooling={pooling!r}: use 'mean' or 'cls'")
    if not info.pooling:
        raise ConfigurationError(
            f"{info.id} has no pooling option; leave pooling unset (only the bge-*-en-v1.5 "
            "models take 'mean' or 'cls')"
        )
    return "mean" if pooling == "mean" else "cls"


def _resolve_instruction(info: ModelInfo, query_instruction: str | bool) -> tuple[str, str | None]:
    """``(query prefix, qwen3 instruction)`` from the ``query_instruction`` option."""
    if query_instruction is False or query_instruction == "":
        return "", None
    if isinstance(query_instruction, str):
        text = query_instruction
    elif query_instruction is True:
        found = info.default_instruction if info.input_style == "qwen3" else None
        found = found or info.query_instruction
        if not found:
            raise ConfigurationError(
                f"{info.id} has no recommended query instruction in the catalog; pass the "
                "instruction text instead of True"
            )
        text = found
    else:
        raise ConfigurationError(f"query_instruction={query_instruction!r}: use a str or bool")
    return ("", text) if info.input_style == "qwen3" else (text, None)


def embedding_spec(
    model: str | None = None,
    *,
    batch_size: int | None = None,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    pooling: str | None = None,
    query_instruction: str | bool = False,
    truncate: bool = False,
    max_retries: int = 2,
    coalesce: bool = True,
    coalesce_window_ms: float = DEFAULT_COALESCE_WINDOW_MS,
    use_batch_api: bool = False,
    batch_poll_interval: float = 1.0,
) -> EmbeddingSpec:
    """Validate embedding options against the catalog (no I/O).

    Args:
        model: Model id; the catalog's default embedding model when ``None``.
        batch_size: Texts per request; default and upper bound: the model's ``max_batch``.
        max_concurrency: Most requests in flight (1 to :data:`MAX_CONCURRENCY`).
        pooling: ``"mean"`` or ``"cls"`` (bge-*-en-v1.5 only); ``None`` keeps the server's
            default (mean).
        query_instruction: ``False``: none. ``True``: the model's recommended instruction from
            the catalog (a prefix for bge/embeddinggemma, the ``instruction`` field for qwen3).
            A string: that instruction.
        truncate: Cut inputs over the model's token limit instead of raising.
        max_retries: Retries per batch for transient failures.
        coalesce: Merge concurrent single queries into one request.
        coalesce_window_ms: How long a query waits for others (0: only calls made in the
            same event-loop iteration are merged).
        use_batch_api: Embed document lists through the async batch API (``queueRequest``).
        batch_poll_interval: Seconds before the first poll of a batch job.

    Raises:
        ConfigurationError: An option is invalid for this model.
    """
    model_id = validate_model_id(model or catalog.default_embedding_model())
    check_model(model_id, "embeddings", owner="the embeddings engine")
    info = catalog.get(model_id)
    if use_batch_api and not info.async_queue:
        raise ConfigurationError(
            f"{model_id} does not support the async batch API (queueRequest); "
            "set use_batch_api=False"
        )
    prefix, instruction = _resolve_instruction(info, query_instruction)
    _check_numbers(max_retries, coalesce_window_ms, batch_poll_interval)
    return EmbeddingSpec(
        model=model_id,
        info=info,
        batch_size=_resolve_batch_size(info, batch_size),
        max_concurrency=_resolve_concurrency(max_concurrency),
        pooling=_resolve_pooling(info, pooling),
        query_prefix=prefix,
        instruction=instruction,
        truncate=bool(truncate),
        max_retries=max_retries,
        coalesce=bool(coalesce),
        coalesce_window=coalesce_window_ms / 1000.0,
        use_batch_api=bool(use_batch_api),
        poll=BatchPollPolicy(interval=batch_poll_interval),
    )


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedTexts:
    """Texts ready to send.

    Attributes:
        texts: The texts, with query prefixes applied and over-long ones truncated.
        truncated: Indices (into the caller's list) of the texts that were cut.
    """

    texts: list[str]
    truncated: tuple[int, ...] = ()


def _label(kind: Kind, index: int) -> str:
    return "the query" if kind == "query" else f"texts[{index}]"


def _check_text(text: object, index: int, kind: Kind) -> str:
    if not isinstance(text, str):
        raise InvalidRequestError(
            f"{_label(kind, index)} is a {type(text).__name__}, not a string; "
            "embeddings take strings only"
        )
    if not text:
        raise InvalidRequestError(
            f"{_label(kind, index)} is an empty string; Workers AI rejects empty inputs "
            "(drop it or replace it before embedding)"
        )
    found = find_unencodable(text)
    if found is not None:
        raise InvalidRequestError(f"{_label(kind, index)} {found[1]}")
    return text


def prepare_texts(texts: Sequence[object], spec: EmbeddingSpec, *, kind: Kind) -> PreparedTexts:
    """Check every input before any request and apply the query prefix.

    Raises:
        InvalidRequestError: ``texts`` is a single string, or an item is not a string, is
            empty, or is over the model's token limit (unless ``spec.truncate``); the message
            names the index.
    """
    if isinstance(texts, (str, bytes)):
        raise InvalidRequestError("expected a list of strings, got a single string")
    prefix = spec.query_prefix if kind == "query" else ""
    limit = spec.max_input_tokens
    out: list[str] = []
    cut: list[int] = []
    for index, raw in enumerate(texts):
        text = prefix + _check_text(raw, index, kind)
        if limit is not None and not fits(text, limit):
            if not spec.truncate:
                raise InvalidRequestError(
                    f"{_label(kind, index)} has about {estimate_tokens(text)} tokens; "
                    f"{spec.model} accepts {limit} per input. Split it into smaller chunks, "
                    "or set truncate=True to cut it."
                )
            text = truncate_to_tokens(text, limit) or text[:1]
            cut.append(index)
        out.append(text)
    return PreparedTexts(out, tuple(cut))


def truncation_warning(prepared: PreparedTexts, spec: EmbeddingSpec, total: int) -> str | None:
    """The warning text for truncated inputs, or ``None`` when none was cut."""
    if not prepared.truncated:
        return None
    shown = ", ".join(map(str, prepared.truncated[:10]))
    more = ", ..." if len(prepared.truncated) > 10 else ""
    return (
        f"{len(prepared.truncated)} of {total} texts were longer than {spec.max_input_tokens} "
        f"tokens (estimated) and were truncated for {spec.model} (indices {shown}{more})"
    )


def plan_batches(count: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` slices covering ``range(count)`` in order, at most ``batch_size`` each."""
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def build_embedding_body(
    spec: EmbeddingSpec, texts: Sequence[str], *, kind: Kind
) -> dict[str, Any]:
    """The ``/ai/run/{model}`` body for one batch of prepared texts; for a third-party model
    the OpenAI embeddings body's ``input`` (the client adds ``model`` and routes it to
    ``/ai/v1/embeddings``, see :func:`workers_ai.providers.run_route`)."""
    info = spec.info
    if info.third_party:
        return {"input": list(texts)}
    if info.input_style == "qwen3":
        if kind == "query":
            body: dict[str, Any] = {"queries": list(texts)}
            if spec.instruction is not None:
                body["instruction"] = spec.instruction
            return body
        return {"documents": list(texts)}
    body = {"text": list(texts)}
    if spec.pooling is not None and info.pooling:
        body["pooling"] = spec.pooling
    if spec.truncate and info.truncate_inputs and info.known:
        body["truncate_inputs"] = True
    return body


# -- outputs ---------------------------------------------------------------------------------


def _list_index(item: Mapping[str, Any]) -> int:
    """An OpenAI-list item's ``index`` for sorting (missing or not an integer: 0)."""
    index = item.get("index", 0)
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def _vectors_from(data: Any) -> Any:
    for _ in range(3):  # batch items may nest result.result
        if not isinstance(data, Mapping):
            return None
        if data.get("object") == "list" and isinstance(data.get("data"), list):
            items = sorted((d for d in data["data"] if isinstance(d, Mapping)), key=_list_index)
            return [d.get("embedding") for d in items]
        for key in ("data", "response"):
            if isinstance(data.get(key), list):
                return data[key]
        data = data.get("result")
    return None


def vectors_to_floats(vectors: list[Any]) -> list[list[float]]:
    """Convert each vector to a list of finite Python floats (JS sends ``0`` for ``0.0``).

    Raises:
        TypeError, ValueError: A component is not a number or not finite (``NaN``, ``1e400``
            or a 400-digit integer: a JavaScript server cannot send these).
    """
    floats: list[list[float]] = []
    for vector in vectors:
        try:
            converted = list(map(float, vector))
        except OverflowError:
            raise ValueError("a component is too large for a float") from None
        # A finite sum (one C loop) proves every component finite; an infinite one may be an
        # overflow of finite components, so then each is tested.
        if not math.isfinite(sum(converted)) and not all(map(math.isfinite, converted)):
            raise ValueError("a component is not finite")
        floats.append(converted)
    return floats


def parse_embedding_response(data: Any, expected: int | None) -> list[list[float]]:
    """Vectors from a native (``{shape, data}``; bge-m3 ``{response}``) or OpenAI-list result.

    Raises:
        APIResponseValidationError: The result holds no vectors, or not ``expected`` of them
            (``None``: any number).
    """
    vectors = _vectors_from(data)
    if not isinstance(vectors, list) or not all(isinstance(v, list) and v for v in vectors):
        raise APIResponseValidationError(
            "The embedding response holds no vectors (expected result.data: [[...], ...])",
            body=_excerpt(data),
        )
    if expected is not None and len(vectors) != expected:
        raise APIResponseValidationError(
            f"The embedding response has {len(vectors)} vectors for {expected} inputs",
            body=_excerpt(data),
        )
    try:
        return vectors_to_floats(vectors)
    except (TypeError, ValueError) as exc:
        raise APIResponseValidationError(
            f"The embedding response has a non-numeric or non-finite value: {str(exc)[:200]}",
            body=_excerpt(data),
        ) from exc


def _excerpt(data: Any) -> str:
    return value_excerpt(data, 300)


# -- fallbacks -------------------------------------------------------------------------------


def check_embedding_fallbacks(
    model: str, fallbacks: Sequence[str], *, compatible: bool
) -> tuple[str, ...]:
    """The fallback models of an embeddings object, checked at construction (no I/O).

    Vectors of two models are comparable only when they share one vector space; mixing them
    silently is worse than failing. So a fallback needs the same ``dimensions`` in the catalog
    as ``model`` and the user's declaration that they are compatible
    (``fallback_compatible=True``).

    Raises:
        ConfigurationError: Not declared compatible, a model without known dimensions or with
            other dimensions, or a bad chain (:func:`workers_ai.fallback.check_chain`).
    """
    from workers_ai.fallback import check_chain

    chain = check_chain(model, fallbacks)
    if not chain:
        return ()
    if not compatible:
        raise ConfigurationError(
            f"fallbacks={list(chain)!r} for embeddings: vectors of different models are not "
            "comparable, and a fallback would mix them in one index. If these models share "
            "one vector space, say so with fallback_compatible=True; otherwise remove fallbacks."
        )
    dimensions = catalog.get(model).dimensions
    for fallback in chain:
        check_model(fallback, "embeddings", owner="the embeddings engine")
        other = catalog.get(fallback).dimensions
        if dimensions is None or other is None or other != dimensions:
            raise ConfigurationError(
                f"fallback {fallback} makes {other or 'unknown'}-dimensional vectors and "
                f"{model} {dimensions or 'unknown'}-dimensional ones: an embeddings fallback "
                "needs the same dimensions (and a model the catalog knows); remove it."
            )
    return chain
