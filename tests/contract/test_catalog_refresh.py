"""Refreshing the catalog from model search (the emulator serves search from the catalog)."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from workers_ai import catalog
from workers_ai.catalog_refresh import Change, apply_changes, diff_catalog, main


def test_the_packaged_catalog_round_trips_through_model_search(workers_ai_emulator: Any) -> None:
    items = workers_ai_emulator.client().models_search(per_page=1000)
    assert len(items) == len(catalog.models())
    assert diff_catalog(items) == []


def test_changes_new_and_missing_models_are_reported_and_written() -> None:
    items = [catalog.to_search_result(m) for m in catalog.models()]
    llama = next(i for i in items if i["name"] == "@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    for prop in llama["properties"]:
        if prop["property_id"] == "context_window":
            prop["value"] = "65536"
    items = [i for i in items if i["name"] != "@cf/baai/bge-small-en-v1.5"]
    items.append({"name": "@cf/new/model-x", "task": {"name": "Text Generation"}, "properties": []})
    changes = diff_catalog(items)
    assert (
        Change("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "context_window", 24000, 65536)
        in changes
    )
    assert Change("@cf/new/model-x", "new model") in changes
    assert Change("@cf/baai/bge-small-en-v1.5", "not listed") in changes
    document = json.loads((resources.files("workers_ai") / "data" / "catalog.json").read_text())
    before = copy.deepcopy(document)
    assert apply_changes(document, changes) == 1
    assert document["models"]["@cf/meta/llama-3.3-70b-instruct-fp8-fast"]["context_window"] == 65536
    assert "@cf/new/model-x" not in document["models"]  # family facts need a person
    assert catalog.load_catalog(document).get("@cf/meta/llama-3.3-70b-instruct-fp8-fast")
    assert before != document


def test_cli_prints_the_diff(workers_ai_emulator_env: Any, capsys: Any) -> None:
    assert main([]) == 0
    assert "matches" in capsys.readouterr().out
