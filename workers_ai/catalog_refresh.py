"""Refresh the packaged catalog from a live account: ``python -m workers_ai.catalog_refresh``.

Reads every page of ``GET /ai/models/search`` (credentials from the environment, as for the
clients) and compares what the API reports with ``workers_ai/data/catalog.json``:

- changed facts of known models (description, context window, function calling, LoRA,
  async batch, deprecation date, USD prices) are listed, and written with ``--write``;
- models the catalog does not know are listed but never added automatically: their family
  facts (output shape, tool-call format, reasoning format, quirks) are not reported by the
  API, so a person adds them (unknown models still work with permissive defaults);
- catalog models the account no longer lists are reported (they may be deprecated).

The pure part (:func:`diff_catalog`) is tested against the emulator, which serves model search
from its own facts (transcribed from the spec): an empty diff means the two agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from workers_ai import catalog

__all__ = [
    "REPORTED_FIELDS",
    "Change",
    "apply_changes",
    "diff_catalog",
    "main",
]

#: ModelInfo field -> JSON key, for the facts the search API reports.
REPORTED_FIELDS = {
    "description": "description",
    "context_window": "context_window",
    "function_calling": "function_calling",
    "lora": "lora",
    "async_queue": "async_queue",
    "deprecated": "deprecated",
    "price_usd_per_m_input": "price_usd_per_m_input",
    "price_usd_per_m_output": "price_usd_per_m_output",
}


@dataclass(frozen=True)
class Change:
    """One difference between the account's model list and the packaged catalog."""

    model: str
    field: str  # a JSON key, or "new model" / "not listed"
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.field in ("new model", "not listed"):
            return f"{self.model}: {self.field}"
        return f"{self.model}: {self.field} {self.old!r} -> {self.new!r}"


def diff_catalog(items: Iterable[Mapping[str, Any]]) -> list[Change]:
    """Differences between model-search items and the packaged catalog (no I/O)."""
    changes: list[Change] = []
    listed: set[str] = set()
    for item in items:
        name = item.get("name")
        if not isinstance(name, str):
            continue
        listed.add(name)
        known = catalog.get(name)
        if not known.known:
            changes.append(Change(name, "new model"))
            continue
        fresh = catalog.model_info_from_search_result(item)
        for attr, key in REPORTED_FIELDS.items():
            old, new = getattr(known, attr), getattr(fresh, attr)
            if new is not None and new != old:
                changes.append(Change(name, key, old, new))
    changes += [Change(m.id, "not listed") for m in catalog.models() if m.id not in listed]
    return changes


def apply_changes(document: dict[str, Any], changes: Iterable[Change]) -> int:
    """Write field changes of known models into a catalog document; returns how many."""
    count = 0
    for change in changes:
        entry = document["models"].get(change.model)
        if entry is None or change.field in ("new model", "not listed"):
            continue
        entry[change.field] = change.new
        count += 1
    return count


def _fetch_all(per_page: int = 100) -> list[dict[str, Any]]:
    from workers_ai.client import WorkersAIClient

    items: list[dict[str, Any]] = []
    with WorkersAIClient() as client:
        for page in range(1, 1000):
            batch = client.models_search(page=page, per_page=per_page)
            items += batch
            if len(batch) < per_page:
                break
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers_ai.catalog_refresh")
    parser.add_argument("--write", action="store_true", help="update the packaged catalog.json")
    args = parser.parse_args(argv)
    changes = diff_catalog(_fetch_all())
    for change in changes:
        print(change)
    if not changes:
        print("The catalog matches the account's model list.")
    if args.write:
        path = Path(str(resources.files("workers_ai") / "data" / "catalog.json"))
        document = json.loads(path.read_text())
        written = apply_changes(document, changes)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"Wrote {written} field changes to {path}; review and commit it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
