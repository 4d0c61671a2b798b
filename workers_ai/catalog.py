"""Model capabilities, limits and prices, kept as data.

The facts live in ``workers_ai/data/catalog.json`` (a dated snapshot with its sources and
assumptions in ``_meta``); this module validates that file once, lazily, and answers questions
about a model id. Nothing here does network I/O.

Unknown model ids never raise: :func:`get` returns a permissive :class:`ModelInfo`
(``known=False``) whose capability flags let every request through, so a model Cloudflare adds
tomorrow works today. ``None`` always means *unknown*, never *no*.

Example:
    >>> from workers_ai import catalog
    >>> info = catalog.get("@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    >>> info.context_window, info.supports_tools, info.rate_limit_per_minute
    (24000, True, 300)
    >>> catalog.get("workers-ai/@cf/acme/brand-new").known
    False
    >>> cost = catalog.estimate_cost(catalog.default_chat_model(), 1_000_000, 1_000_000)
    >>> round(cost.usd, 3), cost.neurons
    (2.546, 231473.0)
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from types import MappingProxyType, UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from workers_ai.errors import WorkersAIError

# fmt: off
__all__ = [
    "TASKS", "TEXT_CLASSIFICATION", "TEXT_EMBEDDINGS", "TEXT_GENERATION", "Catalog",
    "CatalogError", "Cost", "ModelInfo", "UnitPrice", "default_chat_model",
    "default_embedding_model", "default_reranker_model", "estimate_cost", "get", "load_catalog",
    "model_info_from_search_result", "models", "packaged_catalog", "to_search_result",
    "tool_call_id_shape",
]
# fmt: on

TEXT_GENERATION = "Text Generation"
TEXT_EMBEDDINGS = "Text Embeddings"
TEXT_CLASSIFICATION = "Text Classification"
TASKS: tuple[str, ...] = (
    TEXT_GENERATION,
    TEXT_EMBEDDINGS,
    TEXT_CLASSIFICATION,
    "Translation",
    "Automatic Speech Recognition",
    "Image Classification",
    "Object Detection",
    "Image-to-Text",
    "Text-to-Image",
    "Summarization",
    "Text-to-Speech",
)
"""Task names exactly as ``GET /ai/models/search`` reports them (the reranker is a
Text Classification model)."""

JsonMode = Literal["response_format", "guided_json", "json_object"]
OutputShape = Literal["classic", "chat_completion"]
ToolCallFormat = Literal["legacy", "openai_object", "openai"]
ReasoningFormat = Literal["think_tags", "reasoning_content", "reasoning"]
InputStyle = Literal["text", "qwen3"]

_PROVIDER_PREFIX = "workers-ai/"


class CatalogError(WorkersAIError, ValueError):
    """The catalog data (packaged file, custom document or search item) is malformed."""


@dataclass(frozen=True)
class UnitPrice:
    """A price that is not per token (audio minutes, images, image tiles, steps).

    Attributes:
        unit: Cloudflare's unit text, e.g. ``"per audio minute"``.
        usd: Published USD price per unit, or ``None`` when unknown.
        neurons: Neurons per unit, or ``None`` when unknown.
    """

    unit: str
    usd: float | None = None
    neurons: float | None = None


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """What the catalog knows about one model. ``None`` means unknown.

    The defaults are the permissive values used for models missing from the catalog: every
    capability flag that could make a client refuse or strip something is ``True``.

    Attributes:
        id: Model id, e.g. ``"@cf/meta/llama-3.3-70b-instruct-fp8-fast"``.
        known: ``True`` when the id is in the catalog.
        task: Task name (see :data:`TASKS`), ``None`` when unknown.
        description: Short description.
        context_window: Input + output token limit.
        function_calling: Advertised function calling; ``None`` unknown.
        json_mode: Request field that gives JSON output: ``"response_format"``,
            ``"guided_json"`` or ``"json_object"`` (``response_format`` type only).
        lora: Accepts a ``lora`` fine-tune.
        output_shape: ``"classic"`` (``response``/``tool_calls``) or ``"chat_completion"``
            (``choices[0].message`` inside ``result``); ``None``: auto-detect.
        responses_api: Served by ``/ai/v1/responses`` (gpt-oss).
        tool_call_format: ``"legacy"`` (object arguments, no id), ``"openai_object"``
            (llama-4-scout: id + object arguments) or ``"openai"`` (id + JSON-string arguments).
        reasoning_format: ``"think_tags"`` (inline, opening ``<think>`` missing),
            ``"reasoning_content"`` or ``"reasoning"`` (message field names).
        reasoning: Emits reasoning; ``None`` unknown.
        reasoning_effort: Accepts ``reasoning_effort``.
        streaming: ``stream: true`` works on ``/ai/run`` (not gpt-oss).
        default_max_tokens: Server default for ``max_tokens``.
        unsupported_params: Request fields the model rejects or mishandles.
        openai_params: Accepts the Chat-Completions extras on ``/ai/run``.
        vision: Accepts data-URI images in message content.
        tool_call_id_pattern: Regex tool-call ids must match (Mistral).
        dimensions: Embedding size.
        max_batch: Most inputs per embedding request.
        max_input_tokens: Token limit per input (embeddings, reranker).
        input_style: ``"text"`` (``{"text": [...]}``) or ``"qwen3"`` (``queries``/``documents``).
        pooling: Accepts the ``pooling`` parameter.
        truncate_inputs: Accepts ``truncate_inputs``.
        query_instruction: Recommended query prefix (model card), applied by callers only.
        default_instruction: Server-side default ``instruction``.
        reranker: A query/contexts reranker.
        max_contexts: Most contexts per rerank request.
        async_queue: Accepts ``?queueRequest=true`` batches.
        deprecated: Planned deprecation date (``YYYY-MM-DD``).
        replacement: A catalog model to move to from a deprecated one (our suggestion: the
            catalog says where it comes from).
        beta: Marked beta; ``None`` when not reported.
        price_usd_per_m_input: USD per million input tokens.
        price_usd_per_m_output: USD per million output tokens.
        price_usd_per_m_cached_input: USD per million prefix-cached input tokens.
        neurons_per_m_input: Neurons per million input tokens.
        neurons_per_m_output: Neurons per million output tokens.
        neurons_per_m_cached_input: Neurons per million cached input tokens.
        other_prices: Prices not per token.
        rate_limit_override: Per-model requests/minute (JSON key ``rate_limit_per_minute``).
        task_rate_limit: Requests/minute of the model's task.
        notes: Provenance and caveats for this model.
        provider: The AI Gateway provider of a third-party model (``openai``,
            ``google-ai-studio``, ``dynamic``...), from its id; ``None`` for Workers AI models.
    """

    id: str
    known: bool = False
    task: str | None = None
    description: str = ""
    context_window: int | None = None
    function_calling: bool | None = None
    json_mode: JsonMode | None = None
    lora: bool = True
    output_shape: OutputShape | None = None
    responses_api: bool = False
    tool_call_format: ToolCallFormat | None = None
    reasoning_format: ReasoningFormat | None = None
    reasoning: bool | None = None
    reasoning_effort: bool = True
    streaming: bool = True
    default_max_tokens: int | None = None
    unsupported_params: tuple[str, ...] = ()
    openai_params: bool = True
    vision: bool = True
    tool_call_id_pattern: str | None = None
    dimensions: int | None = None
    max_batch: int | None = 100
    max_input_tokens: int | None = None
    input_style: InputStyle | None = "text"
    pooling: bool = True
    truncate_inputs: bool = True
    query_instruction: str | None = None
    default_instruction: str | None = None
    reranker: bool = False
    max_contexts: int | None = None
    async_queue: bool = True
    deprecated: str | None = None
    replacement: str | None = None
    beta: bool | None = None
    price_usd_per_m_input: float | None = None
    price_usd_per_m_output: float | None = None
    price_usd_per_m_cached_input: float | None = None
    neurons_per_m_input: float | None = None
    neurons_per_m_output: float | None = None
    neurons_per_m_cached_input: float | None = None
    other_prices: tuple[UnitPrice, ...] = ()
    rate_limit_override: int | None = None
    task_rate_limit: int | None = None
    notes: tuple[str, ...] = ()
    provider: str | None = None

    @property
    def third_party(self) -> bool:
        """A model served through AI Gateway (``provider/model``), not by Workers AI."""
        return self.provider is not None

    @property
    def is_text_generation(self) -> bool:
        """Whether the model is a text-generation (chat/completion) model."""
        return self.task == TEXT_GENERATION

    @property
    def is_embedding(self) -> bool:
        """Whether the model is a text-embedding model."""
        return self.task == TEXT_EMBEDDINGS

    @property
    def is_reranker(self) -> bool:
        """Whether the model reranks contexts against a query."""
        return self.reranker

    @property
    def supports_tools(self) -> bool:
        """Whether to send tools: advertised, or unknown for a (possibly) generative model."""
        if self.function_calling is not None:
            return self.function_calling
        return self.task in (None, TEXT_GENERATION)

    @property
    def think_tags(self) -> bool:
        """Whether reasoning arrives inline in the text, closed by ``</think>``."""
        return self.reasoning_format == "think_tags"

    @property
    def rate_limit_per_minute(self) -> int | None:
        """Requests per minute: the per-model override, else the task's limit."""
        if self.rate_limit_override is not None:
            return self.rate_limit_override
        return self.task_rate_limit


@dataclass(frozen=True)
class Cost:
    """Estimated price of a request, before the daily free allocation.

    Attributes:
        neurons: Neurons billed, or ``None`` when the model has no per-token price.
        usd: US dollars, or ``None`` when the model has no per-token price.
    """

    neurons: float | None
    usd: float | None


@dataclass(frozen=True, eq=False)
class Catalog:
    """A validated catalog document. Build one with :func:`load_catalog`.

    Attributes:
        models_by_id: Known models by id, in file order.
        task_rate_limits: Requests per minute by task name.
        neurons_usd_per_thousand: USD price of 1,000 neurons.
        free_neurons_per_day: Daily free allocation in neurons.
        snapshot_date: Date the data was taken (``YYYY-MM-DD``).
        defaults: Default model ids under ``chat``, ``embedding`` and ``reranker``.
        assumptions: The assumptions recorded in ``_meta``.
        third_party_by_id: Third-party models (``openai/gpt-4.1``...) the AI Gateway spec
            names, from ``data/third_party.json``; :meth:`get` answers for them, :meth:`models`
            lists Workers AI models only (:meth:`third_party_models` lists these).
    """

    models_by_id: Mapping[str, ModelInfo]
    task_rate_limits: Mapping[str, int]
    neurons_usd_per_thousand: float
    free_neurons_per_day: int
    snapshot_date: str
    defaults: Mapping[str, str]
    assumptions: tuple[str, ...] = ()
    third_party_by_id: Mapping[str, ModelInfo] = field(default_factory=dict)

    def get(self, model: str) -> ModelInfo:
        """Return the entry for ``model``; permissive defaults when unknown. Never raises.

        A third-party id (``openai/gpt-4.1``, ``dynamic/<route>``, ``cloudflare/auto``) the
        catalog does not list gets permissive OpenAI-shaped defaults marked with its
        ``provider`` (chat completion output, OpenAI tool calls, streaming, tools, no price).

        Args:
            model: A model id. AI Gateway's ``workers-ai/`` provider prefix is stripped; the
                ``@cf/``/``@hf/`` prefix is part of the id and must be present.
        """
        model_id = model[len(_PROVIDER_PREFIX) :] if model.startswith(_PROVIDER_PREFIX) else model
        info = self.models_by_id.get(model_id) or self.third_party_by_id.get(model_id)
        if info is not None:
            return info
        provider = _provider_of(model_id)
        if provider is None:
            return ModelInfo(id=model_id)
        return ModelInfo(
            id=model_id,
            provider=provider,
            output_shape="chat_completion",
            tool_call_format="openai",
            lora=False,
            async_queue=False,
            pooling=False,
            truncate_inputs=False,
        )

    def third_party_models(self, task: str | None = None) -> list[ModelInfo]:
        """The third-party models the catalog lists, optionally only those of ``task``."""
        return [m for m in self.third_party_by_id.values() if task is None or m.task == task]

    def models(self, task: str | None = None) -> list[ModelInfo]:
        """Return the known models, optionally only those of ``task``.

        Raises:
            ValueError: ``task`` is not one of :data:`TASKS`.
        """
        if task is None:
            return list(self.models_by_id.values())
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        return [m for m in self.models_by_id.values() if m.task == task]

    def default_chat_model(self) -> str:
        """Return the id of the default chat model (a function-calling model)."""
        return self.defaults["chat"]

    def default_embedding_model(self) -> str:
        """Return the id of the default embedding model."""
        return self.defaults["embedding"]

    def default_reranker_model(self) -> str:
        """Return the id of the default reranker model."""
        return self.defaults["reranker"]

    def estimate_cost(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int = 0,
        *,
        cached_input_tokens: int = 0,
    ) -> Cost:
        """Estimate what a request costs from the per-token prices.

        USD comes from the published USD per-token price when there is one (it wins), else
        from neurons at ``neurons_usd_per_thousand``; neurons come from the published neuron
        price, else from USD at the same rate. The daily free allocation is not deducted.

        Args:
            model: Model id.
            input_tokens: Prompt tokens, including cached ones.
            output_tokens: Completion tokens.
            cached_input_tokens: Part of ``input_tokens`` served from the prefix cache; billed
                at the cached-input rate when the model has one, else at the input rate.

        Returns:
            The cost; both fields ``None`` when the model has no per-token input price, or
            a field is ``None`` when output tokens are asked for and have no price.

        Raises:
            ValueError: A count is negative or ``cached_input_tokens > input_tokens``.
        """
        if min(input_tokens, output_tokens, cached_input_tokens) < 0:
            raise ValueError("token counts must not be negative")
        if cached_input_tokens > input_tokens:
            raise ValueError("cached_input_tokens cannot exceed input_tokens")
        info = self.get(model)
        if info.price_usd_per_m_input is None and info.neurons_per_m_input is None:
            return Cost(neurons=None, usd=None)
        uncached = (info.price_usd_per_m_input, info.neurons_per_m_input)
        cached = (info.price_usd_per_m_cached_input, info.neurons_per_m_cached_input)
        output = (info.price_usd_per_m_output, info.neurons_per_m_output)
        usd_per_neuron = self.neurons_usd_per_thousand / 1000
        parts = [
            _part_cost(input_tokens - cached_input_tokens, uncached, usd_per_neuron),
            _part_cost(
                cached_input_tokens, uncached if cached == (None, None) else cached, usd_per_neuron
            ),
            _part_cost(output_tokens, output, usd_per_neuron),
        ]
        return Cost(neurons=_total(p[0] for p in parts), usd=_total(p[1] for p in parts))


def _part_cost(
    tokens: int, rates: tuple[float | None, float | None], usd_per_neuron: float
) -> tuple[float | None, float | None]:
    """Return ``(neurons, usd)`` for ``tokens`` at ``(USD, neurons)`` per-million rates."""
    usd_per_m, neurons_per_m = rates
    if tokens == 0:
        return 0.0, 0.0
    millions = tokens / 1_000_000
    neurons: float | None = None
    if neurons_per_m is not None:
        neurons = neurons_per_m * millions
    elif usd_per_m is not None:
        neurons = usd_per_m * millions / usd_per_neuron
    usd = usd_per_m * millions if usd_per_m is not None else None
    if usd is None and neurons is not None:
        usd = neurons * usd_per_neuron
    return neurons, usd


def _total(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


# --------------------------------------------------------------------------- loading

# fmt: off
_TOP_LEVEL_KEYS = {"_meta", "neurons_usd_per_thousand", "free_neurons_per_day", "task_rate_limits",
                   "models"}
_META_KEYS = {"schema_version", "snapshot_date", "description", "sources", "notes", "assumptions",
              "defaults"}
_DEFAULT_KINDS = ("chat", "embedding", "reranker")
_JSON_RENAMES = {"rate_limit_per_minute": "rate_limit_override"}
_NOT_IN_JSON = {"id", "known", "task_rate_limit", "rate_limit_override", "provider"}
_REQUIRED_ALL = ("task", "description", "async_queue")
_REQUIRED_BY_TASK: dict[str, tuple[str, ...]] = {
    TEXT_GENERATION: (
        "context_window", "function_calling", "json_mode", "lora", "output_shape",
        "responses_api", "tool_call_format", "reasoning_format", "reasoning_effort", "streaming",
        "default_max_tokens", "unsupported_params", "openai_params", "vision", "deprecated",
        "tool_call_id_pattern", "price_usd_per_m_input", "price_usd_per_m_output",
        "neurons_per_m_input", "neurons_per_m_output",
    ),
    TEXT_EMBEDDINGS: (
        "dimensions", "max_batch", "max_input_tokens", "input_style", "pooling", "truncate_inputs",
        "price_usd_per_m_input", "neurons_per_m_input",
    ),
}
_REQUIRED_RERANKER = ("max_contexts", "max_input_tokens")
# A known model that omits one of these lacks the capability; the permissive ModelInfo
# defaults are for unknown models only.
_KNOWN_DEFAULTS: dict[str, Any] = {
    "function_calling": False, "lora": False, "reasoning": False, "reasoning_effort": False,
    "streaming": False, "openai_params": False, "vision": False, "pooling": False,
    "truncate_inputs": False, "max_batch": None, "input_style": None,
}
_POSITIVE_INTS = ("context_window", "default_max_tokens", "dimensions", "max_batch",
                  "max_input_tokens", "max_contexts", "rate_limit_override")
# fmt: on
_MISMATCH = object()


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def load_catalog(data: Mapping[str, Any], third_party: Mapping[str, Any] | None = None) -> Catalog:
    """Validate a catalog document (the parsed ``catalog.json``) and build a :class:`Catalog`.

    ``third_party`` is the parsed ``third_party.json`` (``{"_meta": ..., "models": {...}}``):
    entries as in ``catalog.json``, for ``provider/model`` ids; their prices stay ``null``
    unless published.

    Raises:
        CatalogError: Unknown field names, wrong types, missing required fields or
            inconsistent defaults; the message names the model and the field.
    """
    if not isinstance(data, Mapping):
        raise CatalogError(f"catalog must be a JSON object, got {type(data).__name__}")
    _reject_unknown(data.keys(), _TOP_LEVEL_KEYS, "catalog")
    meta = _require(data, "_meta", dict, "catalog")
    _reject_unknown(meta.keys(), _META_KEYS, "catalog _meta")
    snapshot = _require(meta, "snapshot_date", str, "catalog _meta")
    _check_date(snapshot, "catalog _meta: field 'snapshot_date'")
    _require(meta, "sources", list, "catalog _meta")
    defaults = _require(meta, "defaults", dict, "catalog _meta")
    _reject_unknown(defaults.keys(), set(_DEFAULT_KINDS), "catalog _meta.defaults")
    assumptions = _coerce(meta.get("assumptions", []), tuple[str, ...], "_meta: 'assumptions'")
    rates = _parse_task_rates(_require(data, "task_rate_limits", dict, "catalog"))
    per_thousand = _coerce(data.get("neurons_usd_per_thousand"), float, "neurons_usd_per_thousand")
    free = _coerce(data.get("free_neurons_per_day"), int, "free_neurons_per_day")
    if per_thousand <= 0 or free < 0:
        raise CatalogError("neurons_usd_per_thousand must be > 0 and free_neurons_per_day >= 0")
    raw_models = _require(data, "models", dict, "catalog")
    built = {mid: _build_model(mid, entry, rates) for mid, entry in raw_models.items()}
    catalog = Catalog(
        third_party_by_id=MappingProxyType(_third_party_models(third_party)),
        models_by_id=MappingProxyType(built),
        task_rate_limits=MappingProxyType(rates),
        neurons_usd_per_thousand=per_thousand,
        free_neurons_per_day=free,
        snapshot_date=snapshot,
        defaults=MappingProxyType(
            {k: _coerce(v, str, f"defaults.{k}") for k, v in defaults.items()}
        ),
        assumptions=assumptions,
    )
    _check_defaults(catalog)
    _check_replacements(catalog)
    return catalog


def _third_party_models(document: Mapping[str, Any] | None) -> dict[str, ModelInfo]:
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise CatalogError("third_party catalog must be a JSON object")
    _reject_unknown(document.keys(), {"_meta", "models"}, "third_party catalog")
    raw = _require(document, "models", dict, "third_party catalog")
    built: dict[str, ModelInfo] = {}
    for model_id, entry in raw.items():
        provider = _provider_of(model_id)
        if provider is None:
            raise CatalogError(f"third_party model {model_id!r} is not a 'provider/model' id")
        info = _build_model(model_id, entry, {})
        built[model_id] = replace(info, provider=provider)
    return built


def _provider_of(model_id: str) -> str | None:
    """The AI Gateway provider of a third-party id, ``None`` for Workers AI or malformed ids."""
    from workers_ai.errors import ModelIdError
    from workers_ai.providers import parse_model

    try:
        ref = parse_model(model_id)
    except ModelIdError:
        return None
    return None if ref.is_workers_ai else ref.provider


def _read_packaged(name: str) -> Any:
    path = resources.files("workers_ai") / "data" / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CatalogError(f"packaged {name} is not valid JSON: {exc}") from exc


@functools.cache
def packaged_catalog() -> Catalog:
    """Return the catalog shipped in ``workers_ai/data/catalog.json`` (Workers AI) and
    ``third_party.json`` (AI Gateway models), loaded once, cached."""
    return load_catalog(_read_packaged("catalog.json"), _read_packaged("third_party.json"))


def _require(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind):
        names: dict[type, str] = {dict: "object", list: "array", str: "string"}
        json_name = names.get(kind, kind.__name__)
        raise CatalogError(f"{where}: field {key!r} is missing or not a JSON {json_name}")
    return value


def _reject_unknown(keys: Iterable[str], allowed: Iterable[str], where: str) -> None:
    allowed = sorted(allowed)
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CatalogError(f"{where}: unknown field {key!r}{hint}")


def _parse_task_rates(raw: Mapping[str, Any]) -> dict[str, int]:
    rates: dict[str, int] = {}
    for task, value in raw.items():
        if task not in TASKS:
            raise CatalogError(f"task_rate_limits: unknown task {task!r}")
        rates[task] = _coerce(value, int, f"task_rate_limits[{task!r}]")
        if rates[task] <= 0:
            raise CatalogError(f"task_rate_limits[{task!r}] must be positive")
    return rates


def _build_model(model_id: str, entry: Any, rates: Mapping[str, int]) -> ModelInfo:
    where = f"model {model_id!r}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: entry must be a JSON object")
    hints = _hints(ModelInfo)
    allowed = (set(hints) - _NOT_IN_JSON) | set(_JSON_RENAMES)
    _reject_unknown(entry.keys(), allowed, where)
    values: dict[str, Any] = {}
    for key, raw in entry.items():
        name = _JSON_RENAMES.get(str(key), str(key))
        values[name] = _coerce(raw, hints[name], f"{where}: field {key!r}")
    task = values.get("task")
    if task not in TASKS:
        raise CatalogError(f"{where}: field 'task' must be one of {', '.join(TASKS)}")
    required = list(_REQUIRED_ALL) + list(_REQUIRED_BY_TASK.get(str(task), ()))
    if values.get("reranker"):
        required += _REQUIRED_RERANKER
    for name in required:
        if name not in entry:
            raise CatalogError(f"{where}: required field {name!r} is missing (use null if unknown)")
    _check_model_values(where, values)
    merged = {**_KNOWN_DEFAULTS, **values}
    if task == TEXT_GENERATION and "reasoning" not in values:
        merged["reasoning"] = values["reasoning_format"] is not None
    return ModelInfo(id=model_id, known=True, task_rate_limit=rates.get(str(task)), **merged)


def _check_model_values(where: str, values: Mapping[str, Any]) -> None:
    for name in _POSITIVE_INTS:
        if values.get(name) is not None and values[name] <= 0:
            raise CatalogError(f"{where}: field {name!r} must be positive")
    for name, value in values.items():
        if (name.startswith(("price_", "neurons_"))) and value is not None and value < 0:
            raise CatalogError(f"{where}: field {name!r} must not be negative")
    if values.get("deprecated") is not None:
        _check_date(values["deprecated"], f"{where}: field 'deprecated'")
    pattern = values.get("tool_call_id_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CatalogError(
                f"{where}: field 'tool_call_id_pattern' is not a regex: {exc}"
            ) from None
    if pattern is not None and tool_call_id_shape(pattern) is None:
        raise CatalogError(
            f"{where}: field 'tool_call_id_pattern' must look like '^[a-zA-Z0-9]{{9}}$' (a "
            "character class and a length), so clients can make ids that match it"
        )
    if values.get("reranker") and values.get("task") != TEXT_CLASSIFICATION:
        raise CatalogError(f"{where}: a reranker must have task {TEXT_CLASSIFICATION!r}")


_ID_SHAPE_RE = re.compile(r"\^?\[((?:[^\]\\]|\\.)+)\]\{([1-9][0-9]?)\}\$?")


@functools.cache
def tool_call_id_shape(pattern: str) -> tuple[str, int] | None:
    """The alphabet and length a ``tool_call_id_pattern`` such as ``^[a-zA-Z0-9]{9}$`` allows,
    or ``None`` for another kind of pattern."""
    match = _ID_SHAPE_RE.fullmatch(pattern)
    if match is None:
        return None
    spec, i = match.group(1), 0
    alphabet: list[str] = []
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            alphabet.extend(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            alphabet.append(spec[i + 1] if spec[i] == "\\" and i + 1 < len(spec) else spec[i])
            i += 2 if spec[i] == "\\" else 1
    return "".join(dict.fromkeys(alphabet)), int(match.group(2))


def _check_date(value: str, where: str) -> None:
    if not _is_date(value):
        raise CatalogError(f"{where} must be a YYYY-MM-DD date, got {value!r}")


def _check_defaults(catalog: Catalog) -> None:
    for kind in _DEFAULT_KINDS:
        model_id = catalog.defaults.get(kind)
        info = catalog.models_by_id.get(model_id or "")
        fits = (
            info is not None
            and {
                "chat": info.is_text_generation and info.function_calling is True,
                "embedding": info.is_embedding,
                "reranker": info.is_reranker,
            }[kind]
        )
        if not fits:
            raise CatalogError(
                f"_meta.defaults.{kind}: {model_id!r} is not a known {kind} model"
                + (" with function_calling true" if kind == "chat" else "")
            )


def _check_replacements(catalog: Catalog) -> None:
    for info in catalog.models_by_id.values():
        other = catalog.models_by_id.get(info.replacement or "")
        if info.replacement is not None and (other is None or other.task != info.task):
            raise CatalogError(
                f"models[{info.id!r}].replacement: {info.replacement!r} is not a known "
                f"{info.task} model"
            )


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` checked against (and converted to) type ``tp``."""
    inner = tp
    if get_origin(tp) in (Union, UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        inner = next(a for a in get_args(tp) if a is not type(None))
    result = _convert(value, inner, where)
    if result is _MISMATCH:
        shown = json.dumps(value, default=repr)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise CatalogError(f"{where} must be {_describe(tp)}, got {shown}")
    return result


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        return value if isinstance(value, str) and value in get_args(tp) else _MISMATCH
    if origin is tuple:
        if not isinstance(value, list):
            return _MISMATCH
        item_type = get_args(tp)[0]
        return tuple(_coerce(item, item_type, f"{where}[{i}]") for i, item in enumerate(value))
    if tp is bool:
        return value if isinstance(value, bool) else _MISMATCH
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISMATCH
    if tp is float:
        number = _as_number(value)
        return _MISMATCH if number is None else number
    if tp is str:
        return value if isinstance(value, str) else _MISMATCH
    if tp is UnitPrice:
        if not isinstance(value, dict):
            return _MISMATCH
        hints = _hints(UnitPrice)
        _reject_unknown(value.keys(), hints, where)
        if "unit" not in value:
            raise CatalogError(f"{where}: required field 'unit' is missing")
        return UnitPrice(**{k: _coerce(v, hints[k], f"{where}.{k}") for k, v in value.items()})
    raise TypeError(f"catalog field type {tp!r} is not supported")  # pragma: no cover


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return f"{_describe(inner[0])} or null"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in get_args(tp))
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(tp, "an object with 'unit', 'usd' and 'neurons'")


# ----------------------------------------------------------------- module-level API


def get(model: str) -> ModelInfo:
    """Return the packaged entry for ``model``, or permissive defaults. Never raises.

    Args:
        model: Model id; a leading ``workers-ai/`` (AI Gateway unified API) is stripped.
    """
    return packaged_catalog().get(model)


def models(task: str | None = None) -> list[ModelInfo]:
    """Return the packaged models, optionally only those of ``task`` (see :data:`TASKS`)."""
    return packaged_catalog().models(task)


def default_chat_model() -> str:
    """Return the packaged default chat model id (a function-calling model)."""
    return packaged_catalog().default_chat_model()


def default_embedding_model() -> str:
    """Return the packaged default embedding model id."""
    return packaged_catalog().default_embedding_model()


def default_reranker_model() -> str:
    """Return the packaged default reranker model id."""
    return packaged_catalog().default_reranker_model()


def estimate_cost(
    model: str, input_tokens: int, output_tokens: int = 0, *, cached_input_tokens: int = 0
) -> Cost:
    """Estimate a request's cost with the packaged prices (see :meth:`Catalog.estimate_cost`)."""
    return packaged_catalog().estimate_cost(
        model, input_tokens, output_tokens, cached_input_tokens=cached_input_tokens
    )


def _as_number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# The models/search conversion lives in its own module; these names stay importable from here.
from workers_ai.catalog_search import (  # noqa: E402 - needs the classes above
    model_info_from_search_result,
    to_search_result,
)
