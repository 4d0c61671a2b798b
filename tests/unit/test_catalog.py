"""Tests for workers_ai.catalog: packaged facts, lookups, costs, search items, validation.

Expected values are transcribed from /work/shared/workers-ai-api.md (the section is named on
each table) and the langchain-cloudflare observed behaviours.
"""

from __future__ import annotations

import copy
import json
import re
import string
from importlib import resources
from typing import Any

import pytest

from workers_ai import catalog
from workers_ai.catalog import CatalogError, ModelInfo, UnitPrice, load_catalog
from workers_ai.errors import WorkersAIError

LLAMA_33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


def _raw() -> dict[str, Any]:
    """A fresh copy of the packaged document, as read from the installed package."""
    text = (resources.files("workers_ai") / "data" / "catalog.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# ----------------------------------------------------------------- spec §12 facts

RF, GJ = "response_format", "guided_json"

# (id, context window, function calling, JSON mode, LoRA)
TEXT_GENERATION = [
    ("@cf/meta/llama-3.1-8b-instruct", 7968, None, RF, False),
    ("@cf/meta/llama-3.1-8b-instruct-fp8", 32000, None, None, False),
    ("@cf/meta/llama-3.1-8b-instruct-awq", 8192, None, None, False),
    ("@cf/meta/llama-3.1-8b-instruct-fast", 128000, None, RF, False),
    ("@cf/meta/llama-3.2-1b-instruct", 60000, False, None, False),
    ("@cf/meta/llama-3.2-3b-instruct", 128000, False, None, False),
    ("@cf/meta/llama-3.2-11b-vision-instruct", 128000, False, RF, True),
    (LLAMA_33, 24000, True, RF, True),
    ("@cf/meta/llama-4-scout-17b-16e-instruct", 131000, True, RF, False),
    ("@cf/mistralai/mistral-small-3.1-24b-instruct", 128000, True, GJ, True),
    ("@cf/google/gemma-3-12b-it", 80000, False, GJ, True),
    ("@cf/qwen/qwq-32b", 24000, False, GJ, True),
    ("@cf/qwen/qwen2.5-coder-32b-instruct", None, False, RF, True),
    ("@cf/qwen/qwen3-30b-a3b-fp8", 32768, True, RF, False),
    ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", 80000, False, RF, True),
    ("@cf/openai/gpt-oss-120b", 128000, True, RF, False),
    ("@cf/openai/gpt-oss-20b", 128000, True, RF, False),
    ("@cf/ibm-granite/granite-4.0-h-micro", 131000, None, None, False),
    ("@cf/zai-org/glm-4.7-flash", 131072, True, None, False),
    ("@cf/nvidia/nemotron-3-120b-a12b", 256000, True, None, False),
    ("@cf/moonshotai/kimi-k2.5", None, None, None, False),
    ("@cf/moonshotai/kimi-k2.6", None, None, None, False),
    ("@cf/google/gemma-4-26b-a4b-it", 256000, True, None, False),
    ("@hf/nousresearch/hermes-2-pro-mistral-7b", None, True, RF, False),
    ("@cf/meta/llama-guard-3-8b", 131072, False, "json_object", True),
]

# (id, USD in, USD out, neurons in, neurons out), per million tokens
TEXT_GENERATION_PRICES = [
    ("@cf/meta/llama-3.1-8b-instruct", 0.282, 0.827, 25608, 75147),
    ("@cf/meta/llama-3.1-8b-instruct-fp8", 0.152, 0.287, 13778, 26128),
    ("@cf/meta/llama-3.1-8b-instruct-awq", 0.123, 0.266, 11161, 24215),
    ("@cf/meta/llama-3.1-8b-instruct-fast", 0.045, 0.384, 4119, 34868),
    ("@cf/meta/llama-3.2-1b-instruct", 0.027, 0.201, 2457, 18252),
    ("@cf/meta/llama-3.2-3b-instruct", 0.051, 0.335, 4625, 30475),
    ("@cf/meta/llama-3.2-11b-vision-instruct", 0.049, 0.676, 4410, 61493),
    (LLAMA_33, 0.293, 2.253, 26668, 204805),
    ("@cf/meta/llama-4-scout-17b-16e-instruct", 0.27, 0.85, 24545, 77273),
    ("@cf/mistralai/mistral-small-3.1-24b-instruct", 0.351, 0.555, 31876, 50488),
    ("@cf/google/gemma-3-12b-it", 0.345, 0.556, 31371, 50560),
    ("@cf/qwen/qwq-32b", 0.66, 1.00, 60000, 90909),
    ("@cf/qwen/qwen2.5-coder-32b-instruct", 0.66, 1.00, 60000, 90909),
    ("@cf/qwen/qwen3-30b-a3b-fp8", 0.051, 0.335, 4625, 30475),
    ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", 0.497, 4.881, 45170, 443756),
    ("@cf/openai/gpt-oss-120b", 0.35, 0.75, 31818, 68182),
    ("@cf/openai/gpt-oss-20b", 0.20, 0.30, 18182, 27273),
    ("@cf/ibm-granite/granite-4.0-h-micro", 0.017, 0.112, 1542, 10158),
    ("@cf/zai-org/glm-4.7-flash", 0.06, 0.40, 5500, 36400),
    ("@cf/nvidia/nemotron-3-120b-a12b", 0.50, 1.50, 45455, 136364),
    ("@cf/moonshotai/kimi-k2.5", 0.60, 3.00, 54545, 272727),
    ("@cf/moonshotai/kimi-k2.6", 0.95, 4.00, 86364, 363636),
    ("@cf/google/gemma-4-26b-a4b-it", 0.10, 0.30, 9091, 27273),
    ("@hf/nousresearch/hermes-2-pro-mistral-7b", None, None, None, None),
    ("@cf/meta/llama-guard-3-8b", 0.484, 0.030, 44003, 2730),
]


@pytest.mark.parametrize(("model", "ctx", "fc", "json_mode", "lora"), TEXT_GENERATION)
def test_text_generation_capabilities_match_spec(
    model: str, ctx: int | None, fc: bool | None, json_mode: str | None, lora: bool
) -> None:
    info = catalog.get(model)
    assert info.known and info.is_text_generation
    assert info.context_window == ctx
    assert info.function_calling is fc
    assert (info.json_mode, info.lora) == (json_mode, lora)


@pytest.mark.parametrize(("model", "usd_in", "usd_out", "n_in", "n_out"), TEXT_GENERATION_PRICES)
def test_text_generation_prices_match_spec(
    model: str, usd_in: float | None, usd_out: float | None, n_in: int | None, n_out: int | None
) -> None:
    info = catalog.get(model)
    assert (info.price_usd_per_m_input, info.price_usd_per_m_output) == (usd_in, usd_out)
    assert (info.neurons_per_m_input, info.neurons_per_m_output) == (n_in, n_out)


def test_catalog_holds_exactly_the_spec_text_generation_models() -> None:
    ids = {m.id for m in catalog.models("Text Generation")}
    assert ids == {row[0] for row in TEXT_GENERATION} == {row[0] for row in TEXT_GENERATION_PRICES}


# (id, output shape §2b, tool-call format §4, reasoning format §5, streams §3, Responses API)
SHAPES = [
    (LLAMA_33, "classic", "legacy", None, True, False),
    ("@cf/meta/llama-4-scout-17b-16e-instruct", "classic", "openai_object", None, True, False),
    ("@cf/mistralai/mistral-small-3.1-24b-instruct", "classic", "legacy", None, True, False),
    ("@hf/nousresearch/hermes-2-pro-mistral-7b", "classic", "legacy", None, True, False),
    ("@cf/qwen/qwq-32b", "classic", "legacy", "think_tags", True, False),
    ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", "classic", None, "think_tags", True, False),
    ("@cf/qwen/qwen3-30b-a3b-fp8", "chat_completion", "openai", "reasoning_content", True, False),
    ("@cf/openai/gpt-oss-120b", "chat_completion", "openai", "reasoning_content", False, True),
    ("@cf/openai/gpt-oss-20b", "chat_completion", "openai", "reasoning_content", False, True),
    ("@cf/zai-org/glm-4.7-flash", "chat_completion", "openai", "reasoning_content", True, False),
    ("@cf/moonshotai/kimi-k2.5", "chat_completion", "openai", "reasoning_content", True, False),
    (
        "@cf/google/gemma-4-26b-a4b-it",
        "chat_completion",
        "openai",
        "reasoning_content",
        True,
        False,
    ),
    ("@cf/nvidia/nemotron-3-120b-a12b", "chat_completion", "openai", "reasoning", True, False),
    ("@cf/qwen/qwen2.5-coder-32b-instruct", None, None, None, True, False),
]


@pytest.mark.parametrize(("model", "shape", "tools", "reasoning", "streams", "responses"), SHAPES)
def test_output_shape_tool_format_and_reasoning(
    model: str,
    shape: str | None,
    tools: str | None,
    reasoning: str | None,
    streams: bool,
    responses: bool,
) -> None:
    info = catalog.get(model)
    assert (info.output_shape, info.tool_call_format, info.reasoning_format) == (
        shape,
        tools,
        reasoning,
    )
    assert (info.streaming, info.responses_api) == (streams, responses)
    assert info.reasoning is (reasoning is not None)
    assert info.think_tags is (reasoning == "think_tags")


def test_openai_extras_and_reasoning_effort_only_on_the_newer_models() -> None:
    newer = {
        "@cf/openai/gpt-oss-120b",
        "@cf/openai/gpt-oss-20b",
        "@cf/qwen/qwen3-30b-a3b-fp8",
        "@cf/zai-org/glm-4.7-flash",
        "@cf/moonshotai/kimi-k2.5",
        "@cf/moonshotai/kimi-k2.6",
        "@cf/google/gemma-4-26b-a4b-it",
        "@cf/nvidia/nemotron-3-120b-a12b",
    }
    text_models = catalog.models("Text Generation")
    assert {m.id for m in text_models if m.openai_params} == newer
    assert {m.id for m in text_models if m.reasoning_effort} == newer


def test_vision_models_per_spec() -> None:
    assert {m.id for m in catalog.models("Text Generation") if m.vision} == {
        "@cf/meta/llama-3.2-11b-vision-instruct",
        "@cf/meta/llama-4-scout-17b-16e-instruct",
        "@cf/mistralai/mistral-small-3.1-24b-instruct",
        "@cf/google/gemma-3-12b-it",
        "@cf/google/gemma-4-26b-a4b-it",
    }


def test_parameter_quirks_from_observed_behaviours() -> None:
    mistral = catalog.get("@cf/mistralai/mistral-small-3.1-24b-instruct")
    assert mistral.unsupported_params == ("tool_choice",)
    pattern = re.compile(mistral.tool_call_id_pattern or "")
    assert pattern.match("000000001") and not pattern.match("call_abc123")
    glm = catalog.get("@cf/zai-org/glm-4.7-flash")
    assert set(glm.unsupported_params) == {"max_tokens", "repetition_penalty"}
    assert catalog.get(LLAMA_33).unsupported_params == ()


@pytest.mark.parametrize(
    ("model", "default"),
    [
        (LLAMA_33, 256),
        ("@cf/meta/llama-4-scout-17b-16e-instruct", 256),
        ("@cf/mistralai/mistral-small-3.1-24b-instruct", 256),
        ("@cf/qwen/qwen3-30b-a3b-fp8", 2000),
        ("@cf/zai-org/glm-4.7-flash", None),
    ],
)
def test_default_max_tokens(model: str, default: int | None) -> None:
    assert catalog.get(model).default_max_tokens == default


def test_async_queue_and_deprecation_dates() -> None:
    queued = {m.id for m in catalog.models() if m.async_queue}
    assert queued == {
        LLAMA_33,
        "@cf/meta/llama-4-scout-17b-16e-instruct",
        "@cf/qwen/qwen3-30b-a3b-fp8",
        "@cf/openai/gpt-oss-120b",
        "@cf/baai/bge-small-en-v1.5",
        "@cf/baai/bge-base-en-v1.5",
        "@cf/baai/bge-large-en-v1.5",
        "@cf/baai/bge-m3",
        "@cf/meta/m2m100-1.2b",
    }
    assert catalog.get("@cf/google/gemma-3-12b-it").deprecated == "2026-05-30"
    assert catalog.get("@cf/moonshotai/kimi-k2.5").deprecated == "2026-05-30"
    assert catalog.get(LLAMA_33).deprecated is None


@pytest.mark.parametrize(
    ("model", "supports"),
    [
        (LLAMA_33, True),
        ("@cf/qwen/qwq-32b", False),  # reports function_calling false
        ("@cf/moonshotai/kimi-k2.6", True),  # unknown flag: permissive
        ("@cf/meta/llama-3.1-8b-instruct", True),  # schema accepts tools, no badge
        ("@cf/baai/bge-base-en-v1.5", False),
        ("@cf/acme/not-in-catalog", True),
    ],
)
def test_supports_tools(model: str, supports: bool) -> None:
    assert catalog.get(model).supports_tools is supports


# ------------------------------------------------------------- spec §6, §7, §8

# (id, dims, max batch, max tokens/input, input style, pooling, truncate_inputs, $/M, neurons/M)
EMBEDDINGS = [
    ("@cf/baai/bge-small-en-v1.5", 384, 100, 512, "text", True, False, 0.020, 1841),
    ("@cf/baai/bge-base-en-v1.5", 768, 100, 512, "text", True, False, 0.067, 6058),
    ("@cf/baai/bge-large-en-v1.5", 1024, 100, 512, "text", True, False, 0.204, 18582),
    ("@cf/baai/bge-m3", 1024, 100, 60000, "text", False, True, 0.0118, None),
    ("@cf/google/embeddinggemma-300m", 768, 100, 2048, "text", False, False, None, None),
    ("@cf/qwen/qwen3-embedding-0.6b", 1024, 32, 8192, "qwen3", False, False, 0.012, None),
]


@pytest.mark.parametrize(
    ("model", "dims", "batch", "tokens", "style", "pooling", "truncate", "usd", "neurons"),
    EMBEDDINGS,
)
def test_embedding_rows_match_spec(
    model: str,
    dims: int,
    batch: int,
    tokens: int,
    style: str,
    pooling: bool,
    truncate: bool,
    usd: float | None,
    neurons: int | None,
) -> None:
    info = catalog.get(model)
    assert info.known and info.is_embedding and not info.is_text_generation
    assert (info.dimensions, info.max_batch, info.max_input_tokens) == (dims, batch, tokens)
    assert (info.input_style, info.pooling, info.truncate_inputs) == (style, pooling, truncate)
    assert (info.price_usd_per_m_input, info.neurons_per_m_input) == (usd, neurons)
    assert not info.streaming and not info.supports_tools


def test_embedding_instructions() -> None:
    qwen = catalog.get("@cf/qwen/qwen3-embedding-0.6b")
    assert qwen.default_instruction == (
        "Given a web search query, retrieve relevant passages that answer the query"
    )
    bge = catalog.get("@cf/baai/bge-base-en-v1.5")
    assert bge.query_instruction == "Represent this sentence for searching relevant passages: "
    assert {m.id for m in catalog.models("Text Embeddings")} == {row[0] for row in EMBEDDINGS}


def test_reranker_is_a_text_classification_model() -> None:
    info = catalog.get(catalog.default_reranker_model())
    assert info.id == "@cf/baai/bge-reranker-base"
    assert info.task == "Text Classification" and info.is_reranker
    assert (info.max_contexts, info.max_input_tokens) == (100, 512)
    assert not catalog.get("@cf/huggingface/distilbert-sst-2-int8").is_reranker


@pytest.mark.parametrize(
    ("model", "task"),
    [
        ("@cf/meta/m2m100-1.2b", "Translation"),
        ("@cf/openai/whisper", "Automatic Speech Recognition"),
        ("@cf/openai/whisper-large-v3-turbo", "Automatic Speech Recognition"),
        ("@cf/microsoft/resnet-50", "Image Classification"),
        ("@cf/facebook/detr-resnet-50", "Object Detection"),
        ("@cf/huggingface/distilbert-sst-2-int8", "Text Classification"),
        ("@cf/facebook/bart-large-cnn", "Summarization"),
        ("@cf/llava-hf/llava-1.5-7b-hf", "Image-to-Text"),
        ("@cf/black-forest-labs/flux-1-schnell", "Text-to-Image"),
        ("@cf/myshell-ai/melotts", "Text-to-Speech"),
    ],
)
def test_other_task_models(model: str, task: str) -> None:
    info = catalog.get(model)
    assert info.known and info.task == task
    assert not info.is_text_generation and not info.supports_tools


def test_non_token_prices_are_kept_as_unit_prices() -> None:
    whisper = catalog.get("@cf/openai/whisper")
    assert whisper.other_prices == (UnitPrice("per audio minute", 0.0005, 41.14),)
    flux = catalog.get("@cf/black-forest-labs/flux-1-schnell")
    assert [(p.unit, p.neurons) for p in flux.other_prices] == [
        ("per 512 by 512 tile", 4.8),
        ("per step", 9.6),
    ]


def test_models_rejects_a_misspelt_task() -> None:
    with pytest.raises(ValueError, match="unknown task 'text-generation'"):
        catalog.models("text-generation")


# ------------------------------------------------------------- lookups, defaults


def test_unknown_model_gets_permissive_defaults() -> None:
    info = catalog.get("@cf/acme/brand-new-model")
    assert info == ModelInfo(id="@cf/acme/brand-new-model")
    assert not info.known and info.task is None
    assert info.function_calling is None and info.supports_tools
    assert info.output_shape is None and info.streaming
    assert info.unsupported_params == () and info.dimensions is None
    assert info.max_batch == 100 and info.rate_limit_per_minute is None
    assert catalog.estimate_cost(info.id, 1000, 1000) == catalog.Cost(None, None)


@pytest.mark.parametrize("model", ["", "   ", "meta/llama-3.3-70b-instruct-fp8-fast", "dynamic/x"])
def test_odd_ids_never_raise(model: str) -> None:
    assert catalog.get(model).known is False


def test_ai_gateway_provider_prefix_is_stripped_but_cf_prefix_is_required() -> None:
    assert catalog.get(f"workers-ai/{LLAMA_33}") is catalog.get(LLAMA_33)
    assert catalog.get(f"workers-ai/{LLAMA_33}").id == LLAMA_33
    assert not catalog.get(LLAMA_33.removeprefix("@cf/")).known


def test_defaults_come_from_data() -> None:
    assert catalog.default_chat_model() == LLAMA_33
    assert catalog.get(catalog.default_chat_model()).function_calling is True
    assert catalog.default_embedding_model() == "@cf/baai/bge-base-en-v1.5"
    data = _raw()
    data["_meta"]["defaults"]["chat"] = "@cf/qwen/qwen3-30b-a3b-fp8"
    assert load_catalog(data).default_chat_model() == "@cf/qwen/qwen3-30b-a3b-fp8"


def test_meta_records_snapshot_sources_and_assumptions() -> None:
    meta = _raw()["_meta"]
    assert meta["snapshot_date"] == "2026-11-27"
    assert {s["ref"] for s in meta["sources"]} >= {"R3", "R21", "R22", "R33"}
    assumptions = " ".join(meta["assumptions"])
    assert "embeddinggemma" in assumptions and "max_contexts" in assumptions
    assert catalog.packaged_catalog().snapshot_date == "2026-11-27"
    assert catalog.packaged_catalog().free_neurons_per_day == 10000


# ------------------------------------------------------------------ rate limits

TASK_RATE_LIMITS = {
    "Automatic Speech Recognition": 720,
    "Image Classification": 3000,
    "Image-to-Text": 720,
    "Object Detection": 3000,
    "Summarization": 1500,
    "Text Classification": 2000,
    "Text Embeddings": 3000,
    "Text Generation": 300,
    "Text-to-Image": 720,
    "Translation": 720,
}


def test_task_rate_limits_match_spec_section_9() -> None:
    assert dict(catalog.packaged_catalog().task_rate_limits) == TASK_RATE_LIMITS


@pytest.mark.parametrize(
    ("model", "rpm"),
    [
        (LLAMA_33, 300),
        ("@cf/openai/gpt-oss-120b", 300),
        ("@cf/baai/bge-base-en-v1.5", 3000),
        ("@cf/baai/bge-large-en-v1.5", 1500),
        ("@cf/baai/bge-reranker-base", 2000),
        ("@cf/openai/whisper", 720),
        ("@cf/myshell-ai/melotts", None),
    ],
)
def test_model_rate_limits(model: str, rpm: int | None) -> None:
    assert catalog.get(model).rate_limit_per_minute == rpm


# --------------------------------------------------------------------- cost


@pytest.mark.parametrize(
    ("model", "tokens_in", "tokens_out", "neurons", "usd"),
    [
        (LLAMA_33, 1_000_000, 1_000_000, 26668 + 204805, 0.293 + 2.253),
        (LLAMA_33, 1_000, 0, 26.668, 0.000293),
        ("@cf/meta/llama-guard-3-8b", 2_000_000, 500_000, 2 * 44003 + 1365, 2 * 0.484 + 0.015),
        ("@cf/baai/bge-base-en-v1.5", 1_000_000, 0, 6058, 0.067),
        # USD only: neurons derived at $0.011 per 1,000 neurons.
        ("@cf/baai/bge-m3", 1_000_000, 0, 0.0118 / 0.011 * 1000, 0.0118),
        # Neurons only: USD derived.
        ("@cf/meta/m2m100-1.2b", 1_000_000, 1_000_000, 62100, 62100 * 0.011 / 1000),
    ],
)
def test_estimate_cost(
    model: str, tokens_in: int, tokens_out: int, neurons: float, usd: float
) -> None:
    cost = catalog.estimate_cost(model, tokens_in, tokens_out)
    assert cost.neurons == pytest.approx(neurons)
    assert cost.usd == pytest.approx(usd)


def test_estimate_cost_bills_cached_input_at_the_cached_rate() -> None:
    cost = catalog.estimate_cost(
        "@cf/moonshotai/kimi-k2.5", 1_000_000, 0, cached_input_tokens=400_000
    )
    assert cost.usd == pytest.approx(0.6 * 0.6 + 0.4 * 0.1)
    assert cost.neurons == pytest.approx(0.6 * 54545 + 0.4 * 9091)
    # No cached rate published: cached tokens cost the same as other input tokens.
    plain = catalog.estimate_cost(LLAMA_33, 1_000_000, cached_input_tokens=400_000)
    assert plain.usd == pytest.approx(0.293)


@pytest.mark.parametrize(
    "model", ["@hf/nousresearch/hermes-2-pro-mistral-7b", "@cf/openai/whisper"]
)
def test_estimate_cost_is_unknown_without_token_prices(model: str) -> None:
    assert catalog.estimate_cost(model, 1000, 10) == catalog.Cost(neurons=None, usd=None)


def test_estimate_cost_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        catalog.estimate_cost(LLAMA_33, -1)
    with pytest.raises(ValueError, match="exceed"):
        catalog.estimate_cost(LLAMA_33, 10, cached_input_tokens=11)


# ------------------------------------------------------------ models/search items

# Verbatim from spec §1 ("Model search result (example shape)"), ids shortened there.
SPEC_SEARCH_ITEM: dict[str, Any] = {
    "id": "7a143886-...",
    "source": 1,
    "name": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "description": "...",
    "task": {"id": "c329a1f9-...", "name": "Text Generation", "description": "..."},
    "tags": [],
    "properties": [
        {"property_id": "context_window", "value": "24000"},
        {"property_id": "function_calling", "value": "true"},
        {
            "property_id": "price",
            "value": [{"unit": "per M input tokens", "price": 0.29, "currency": "USD"}],
        },
    ],
}


def test_parse_spec_search_item_merges_onto_the_catalog_entry() -> None:
    info = catalog.model_info_from_search_result(SPEC_SEARCH_ITEM)
    assert info.known and info.task == "Text Generation"
    assert (info.context_window, info.function_calling) == (24000, True)
    assert info.price_usd_per_m_input == 0.29
    assert info.neurons_per_m_input is None  # stale once the USD price changed
    assert (info.price_usd_per_m_output, info.neurons_per_m_output) == (2.253, 204805)
    # Facts the API does not report survive the refresh.
    assert (info.output_shape, info.tool_call_format, info.lora) == ("classic", "legacy", True)
    assert info.rate_limit_per_minute == 300


def test_parse_search_item_for_an_unknown_model() -> None:
    item = {
        "name": "@cf/acme/new-embedder",
        "description": "New.",
        "task": {"name": "Text Embeddings"},
        "properties": [
            {"property_id": "output_dimensions", "value": "512"},
            {"property_id": "max_input_tokens", "value": "1024"},
            {"property_id": "beta", "value": "true"},
            {"property_id": "planned_deprecation_date", "value": "2027-01-31T00:00:00Z"},
            {"property_id": "info", "value": "https://example.com"},
            {"property_id": "price", "value": [{"unit": "per audio minute", "price": 0.1}]},
        ],
    }
    info = catalog.model_info_from_search_result(item)
    assert not info.known and info.is_embedding
    assert (info.dimensions, info.max_input_tokens, info.beta) == (512, 1024, True)
    assert info.deprecated == "2027-01-31"
    assert info.other_prices == (UnitPrice("per audio minute", 0.1, None),)
    assert info.rate_limit_per_minute == 3000


@pytest.mark.parametrize("bad", [{}, {"name": ""}, {"name": 3}, []])
def test_search_item_without_name_is_rejected(bad: Any) -> None:
    with pytest.raises(CatalogError, match="name"):
        catalog.model_info_from_search_result(bad)


def test_to_search_result_has_the_documented_shape() -> None:
    item = catalog.to_search_result(catalog.get(LLAMA_33))
    assert item["name"] == LLAMA_33 and item["source"] == 1
    assert item["task"]["name"] == "Text Generation" and item["tags"] == []
    props = {p["property_id"]: p["value"] for p in item["properties"]}
    assert props["context_window"] == "24000"
    assert props["function_calling"] == "true" and props["lora"] == "true"
    assert props["price"] == [
        {"unit": "per M input tokens", "price": 0.293, "currency": "USD"},
        {"unit": "per M output tokens", "price": 2.253, "currency": "USD"},
    ]
    assert "reasoning" not in props
    assert json.loads(json.dumps(item)) == item  # servable as JSON
    assert catalog.to_search_result(catalog.get(LLAMA_33))["id"] == item["id"]  # stable


@pytest.mark.parametrize("model", [m.id for m in catalog.models()])
def test_search_result_round_trip(model: str) -> None:
    info = catalog.get(model)
    assert catalog.model_info_from_search_result(catalog.to_search_result(info)) == info
    fresh = catalog.model_info_from_search_result(catalog.to_search_result(info), merge=False)
    assert (fresh.task, fresh.context_window, fresh.dimensions) == (
        info.task,
        info.context_window,
        info.dimensions,
    )
    assert fresh.function_calling == (True if info.function_calling else None)
    assert fresh.price_usd_per_m_input == info.price_usd_per_m_input
    assert fresh.deprecated == info.deprecated


def test_unknown_model_search_result_reports_no_invented_facts() -> None:
    props = catalog.to_search_result(catalog.get("@cf/acme/unknown"))["properties"]
    assert props == []


# ------------------------------------------------------------------- validation


_DELETE = object()
L33 = ("models", LLAMA_33)
BGE = ("models", "@cf/baai/bge-base-en-v1.5")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            (*L33, "contex_window"),
            1,
            f"model '{LLAMA_33}': unknown field 'contex_window' (did you mean 'context_window'?)",
        ),
        (
            (*L33, "context_window"),
            "24000",
            "'context_window' must be an integer or null, got \"24000\"",
        ),
        ((*L33, "function_calling"), "yes", "'function_calling' must be true or false or null"),
        (
            (*L33, "output_shape"),
            "chat",
            '\'output_shape\' must be one of "classic", "chat_completion" or null',
        ),
        ((*L33, "streaming"), _DELETE, "required field 'streaming' is missing"),
        ((*L33, "task"), "text-generation", "field 'task' must be one of"),
        ((*L33, "deprecated"), "May 2026", "must be a YYYY-MM-DD date"),
        ((*L33, "unsupported_params"), ["x", 3], "'unsupported_params'[1] must be a string"),
        ((*L33, "price_usd_per_m_input"), -1, "'price_usd_per_m_input' must not be negative"),
        ((*L33, "tool_call_id_pattern"), "([", "is not a regex"),
        ((*BGE, "dimensions"), True, f"model '{BGE[1]}': field 'dimensions' must be an integer"),
        ((*BGE, "rate_limit_per_minute"), "1500", "'rate_limit_per_minute' must be an integer"),
        (
            ("models", "@cf/openai/whisper", "other_prices"),
            [{"unit": "x", "usd_": 1}],
            "unknown field 'usd_'",
        ),
        (("_meta", "defaults", "chat"), BGE[1], "_meta.defaults.chat"),
        (("_meta", "defaults", "chat"), "@cf/qwen/qwq-32b", "with function_calling true"),
        (("task_rate_limits", "Text generation"), 300, "unknown task 'Text generation'"),
        (("modelz",), {}, "catalog: unknown field 'modelz' (did you mean 'models'?)"),
        (("_meta", "sources"), "R33", "field 'sources' is missing or not a JSON array"),
        (("models",), [], "field 'models' is missing or not a JSON object"),
    ],
)
def test_bad_documents_fail_with_a_clear_error(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    data = copy.deepcopy(_raw())
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(data)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, WorkersAIError) and isinstance(excinfo.value, ValueError)


def test_known_model_omitting_an_optional_flag_does_not_get_it() -> None:
    data = _raw()
    data["models"]["@cf/acme/tiny"] = {
        "task": "Summarization",
        "description": "x",
        "async_queue": False,
    }
    info = load_catalog(data).get("@cf/acme/tiny")
    assert info.known and not info.streaming and not info.supports_tools and not info.lora
    assert info.rate_limit_per_minute == 1500


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        ("^[a-zA-Z0-9]{9}$", (string.ascii_letters + string.digits, 9)),
        ("[a-f0-9]{12}", ("abcdef0123456789", 12)),
        ("^[A-Z_]{4}$", ("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", 4)),
        ("^call_.*$", None),
        ("^[a-z]+$", None),
    ],
)
def test_tool_call_id_patterns_are_read_as_an_alphabet_and_a_length(
    pattern: str, shape: tuple[str, int] | None
) -> None:
    assert catalog.tool_call_id_shape(pattern) == shape


@pytest.mark.parametrize("pattern", ["^[a-zA-Z0-9]{9}$", "^[a-f0-9]{12}$", "^[A-Z]{3}$"])
def test_tool_call_ids_sent_to_a_model_match_its_catalog_pattern(pattern: str) -> None:
    from workers_ai.messages import _id_matching

    for given in ["call_abc123", "x", "toolu_01A09q90qw90lq917835lq9", "abcDEF123"]:
        made = _id_matching(given, pattern)
        assert re.fullmatch(pattern, made)
        assert made == _id_matching(given, pattern)  # deterministic: the same on every turn
    assert _id_matching("abcDEF123", "^[a-zA-Z0-9]{9}$") == "abcDEF123"  # kept when it fits


def test_a_tool_call_id_pattern_without_a_shape_is_rejected_when_loading() -> None:
    data = _raw()
    mistral = data["models"]["@cf/mistralai/mistral-small-3.1-24b-instruct"]
    mistral["tool_call_id_pattern"] = "^c_.*$"
    with pytest.raises(catalog.CatalogError, match="character class and a length"):
        catalog.load_catalog(data)
