"""The emulator's model facts against the client's catalog (HOUSE §10).

The emulator keeps its own facts, transcribed from the spec (``workers_ai/emulator/facts.py``);
the client keeps its catalog (``workers_ai/data/catalog.json``). Were the emulator to serve the
catalog, a wrong catalog row would pass on both sides and only a live run would notice. So this
compares the two: every model both know, every fact both hold under the same name. A ``None``
in the client catalog means *unknown* there, not a claim, and is skipped; a disagreement fails
with the model, the fact and both values.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Iterable
from typing import Any

import pytest

from workers_ai import catalog
from workers_ai.catalog import ModelInfo
from workers_ai.emulator import facts
from workers_ai.emulator.facts import ModelFacts, UnitPrice

#: Models the emulator may serve although the client catalog does not list them, and why
#: (e.g. a model added to the emulator for tests). Every other model the emulator serves must
#: be in the catalog.
EMULATOR_ONLY: dict[str, str] = {}
#: Models the client catalog may list although the emulator does not serve them, and why.
CATALOG_ONLY: dict[str, str] = {}
#: Facts the comparison must cover: if a rename on either side drops one from the shared
#: names, the comparison would silently stop checking it.
CORE_FACTS = {
    "task",
    "description",
    "context_window",
    "function_calling",
    "json_mode",
    "lora",
    "async_queue",
    "deprecated",
    "output_shape",
    "tool_call_format",
    "reasoning_format",
    "think_tags",
    "responses_api",
    "streaming",
    "default_max_tokens",
    "unsupported_params",
    "vision",
    "dimensions",
    "max_batch",
    "max_input_tokens",
    "input_style",
    "pooling",
    "truncate_inputs",
    "reranker",
    "max_contexts",
    "price_usd_per_m_input",
    "price_usd_per_m_output",
    "price_usd_per_m_cached_input",
    "neurons_per_m_input",
    "neurons_per_m_output",
    "neurons_per_m_cached_input",
    "other_prices",
    "rate_limit_per_minute",
}


def _names(cls: type) -> set[str]:
    """Dataclass fields and properties of ``cls``."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return fields | {name for name, value in vars(cls).items() if isinstance(value, property)}


def shared_facts() -> list[str]:
    """The facts both sides hold under the same name (``id`` is the key, not a fact)."""
    return sorted((_names(ModelFacts) & _names(ModelInfo)) - {"id"})


def _plain(value: Any) -> Any:
    """Compare tuples of prices by value and tuples of names as sets (order is no fact)."""
    if isinstance(value, tuple):
        items = [dataclasses.astuple(v) if dataclasses.is_dataclass(v) else v for v in value]
        return sorted(items, key=repr)
    return value


def _same(emulator: Any, client: Any) -> bool:
    numbers = (int, float)
    if isinstance(emulator, numbers) and isinstance(client, numbers):
        if isinstance(emulator, bool) or isinstance(client, bool):
            return emulator is client
        return math.isclose(emulator, client, rel_tol=1e-9)
    return bool(_plain(emulator) == _plain(client))


def disagreements(emulator: ModelFacts, client: ModelInfo, names: Iterable[str]) -> list[str]:
    """One line per fact on which the two disagree; a client ``None`` is no claim."""
    lines: list[str] = []
    for name in names:
        ours, theirs = getattr(emulator, name), getattr(client, name)
        if theirs is None or _same(ours, theirs):
            continue
        lines.append(
            f"{name} of {emulator.id}: emulator says {ours!r}, client catalog says {theirs!r}"
        )
    return lines


# --- the comparison ----------------------------------------------------------------------------


def test_every_model_both_sides_know_agrees_on_every_shared_fact() -> None:
    names = shared_facts()
    problems = [
        line
        for model in facts.models()
        if catalog.get(model.id).known
        for line in disagreements(model, catalog.get(model.id), names)
    ]
    assert not problems, "emulator facts and client catalog disagree:\n" + "\n".join(problems)


def test_both_sides_know_the_same_models() -> None:
    served = {m.id for m in facts.models()}
    listed = {m.id for m in catalog.models()}
    problems = [
        f"{model}: the emulator serves it, the client catalog does not list it"
        for model in sorted(served - listed - set(EMULATOR_ONLY))
    ]
    problems += [
        f"{model}: the client catalog lists it, the emulator does not serve it"
        for model in sorted(listed - served - set(CATALOG_ONLY))
    ]
    assert not problems, "models known to one side only:\n" + "\n".join(problems)


def test_the_allow_lists_name_only_models_one_side_lacks() -> None:
    served = {m.id for m in facts.models()}
    listed = {m.id for m in catalog.models()}
    assert not set(EMULATOR_ONLY) & listed
    assert not set(CATALOG_ONLY) & served


def test_task_names_and_rate_limits_agree() -> None:
    assert facts.TASKS == catalog.TASKS
    assert dict(facts.TASK_RATE_LIMITS) == dict(catalog.packaged_catalog().task_rate_limits)


def test_the_comparison_covers_the_core_facts() -> None:
    missing = CORE_FACTS - set(shared_facts())
    assert not missing, f"no longer compared (renamed on one side?): {sorted(missing)}"


# --- the comparison itself can fail ------------------------------------------------------------

EMU = ModelFacts(
    id="@cf/x",
    task=facts.TEXT_GENERATION,
    description="x",
    context_window=24000,
    output_shape="classic",
    neurons_per_m_input=25608,
    unsupported_params=("a", "b"),
    other_prices=(UnitPrice("per step", neurons=9.6),),
)
CLIENT = ModelInfo(
    id="@cf/x",
    known=True,
    task=catalog.TEXT_GENERATION,
    description="x",
    context_window=24000,
    output_shape="classic",
    neurons_per_m_input=25608.0,
    unsupported_params=("b", "a"),
    other_prices=(catalog.UnitPrice("per step", neurons=9.6),),
)
NAMES = ["context_window", "output_shape", "neurons_per_m_input", "unsupported_params"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        (
            {"context_window": 32000},
            ["context_window of @cf/x: emulator says 24000, client catalog says 32000"],
        ),
        ({"context_window": None}, []),  # null in the catalog: unknown, no claim
        ({"output_shape": None}, []),
        (
            {"output_shape": "chat_completion"},
            [
                "output_shape of @cf/x: emulator says 'classic', "
                "client catalog says 'chat_completion'"
            ],
        ),
        ({"neurons_per_m_input": 25608.0000001}, []),
        (
            {"neurons_per_m_input": 25609.0},
            ["neurons_per_m_input of @cf/x: emulator says 25608, client catalog says 25609.0"],
        ),
        (
            {"unsupported_params": ("a",)},
            ["unsupported_params of @cf/x: emulator says ('a', 'b'), client catalog says ('a',)"],
        ),
    ],
)
def test_disagreements_name_the_fact_the_model_and_both_values(
    change: dict[str, Any], expected: list[str]
) -> None:
    client = dataclasses.replace(CLIENT, **change)
    assert disagreements(EMU, client, NAMES) == expected


def test_prices_compare_by_value_across_the_two_price_types() -> None:
    assert disagreements(EMU, CLIENT, ["other_prices"]) == []
    dearer = (catalog.UnitPrice("per step", neurons=9.7),)
    found = disagreements(EMU, dataclasses.replace(CLIENT, other_prices=dearer), ["other_prices"])
    assert len(found) == 1 and found[0].startswith("other_prices of @cf/x: emulator says")


def test_a_value_the_emulator_lacks_is_a_disagreement() -> None:
    bare = dataclasses.replace(EMU, context_window=None)
    assert disagreements(bare, CLIENT, ["context_window"]) == [
        "context_window of @cf/x: emulator says None, client catalog says 24000"
    ]


# --- the emulator's table on its own -----------------------------------------------------------


@pytest.mark.parametrize("model", facts.models(), ids=lambda m: m.id)
def test_each_row_is_complete_for_its_task(model: ModelFacts) -> None:
    assert model.task in facts.TASKS
    assert model.description
    if model.deprecated is not None:
        datetime.date.fromisoformat(model.deprecated)
    if model.task == facts.TEXT_GENERATION:
        assert model.output_shape is not None and model.default_max_tokens
    if model.task == facts.TEXT_EMBEDDINGS:
        assert model.dimensions and model.max_batch and model.input_style
    if model.reranker:
        assert model.task == facts.TEXT_CLASSIFICATION and model.max_contexts


def test_lookup_ignores_the_gateway_provider_prefix_and_misses_unknown_models() -> None:
    llama = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    assert facts.get(f"workers-ai/{llama}") is facts.get(llama) is facts.MODELS[llama]
    assert facts.get("@cf/acme/brand-new") is None
    assert [m.id for m in facts.models(facts.TEXT_CLASSIFICATION)] == [
        "@cf/baai/bge-reranker-base",
        "@cf/huggingface/distilbert-sst-2-int8",
    ]
