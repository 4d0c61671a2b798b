"""``GET /ai/models/search`` items <-> :class:`~workers_ai.catalog.ModelInfo` (no I/O).

:func:`model_info_from_search_result` reads a live item onto a catalog entry (the refresh tool,
:mod:`workers_ai.catalog_refresh`); :func:`to_search_result` renders an entry in the same
shape. The API reports capabilities and prices as ``properties``; it does not report the family
facts (output shape, tool-call format), which stay as the packaged catalog has them.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Mapping
from typing import Any

from workers_ai.catalog import (
    Catalog,
    CatalogError,
    ModelInfo,
    UnitPrice,
    _as_number,
    _is_date,
    packaged_catalog,
)

__all__ = ["model_info_from_search_result", "to_search_result"]

_UUID_NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4c1e-9a0d-2f8e4b6c7d90")

# ---------------------------------------------------------- models/search conversion

# property_id -> ModelInfo field
# fmt: off
_INT_PROPERTIES = {"context_window": "context_window", "max_input_tokens": "max_input_tokens",
                   "output_dimensions": "dimensions"}
_BOOL_PROPERTIES = {"function_calling": "function_calling", "reasoning": "reasoning",
                    "reasoning_effort": "reasoning_effort", "async_queue": "async_queue",
                    "lora": "lora", "beta": "beta"}
# fmt: on
# Flags whose permissive default for unknown models is True: not reported for unknown models.
_PERMISSIVE_TRUE = {"reasoning_effort", "async_queue", "lora"}
# price unit -> (USD field, neurons field)
_TOKEN_PRICE_UNITS = {
    "per M input tokens": ("price_usd_per_m_input", "neurons_per_m_input"),
    "per M cached input tokens": ("price_usd_per_m_cached_input", "neurons_per_m_cached_input"),
    "per M output tokens": ("price_usd_per_m_output", "neurons_per_m_output"),
}
_TOKEN_PRICE_UNITS_LOWER = {unit.lower(): fields for unit, fields in _TOKEN_PRICE_UNITS.items()}


def model_info_from_search_result(
    obj: Mapping[str, Any], *, merge: bool = True, catalog: Catalog | None = None
) -> ModelInfo:
    """Parse one item of ``GET /accounts/{id}/ai/models/search``'s ``result`` list.

    The reported facts (task, description, context window, function calling, prices, ...)
    override the catalog entry; facts the API does not report (output shape, tool-call
    format, parameter quirks, neurons for an unchanged USD price) are kept. A USD price
    that changed drops the now-stale neuron price. Unknown property ids are ignored.

    Args:
        obj: The search item (``name``, ``description``, ``task.name``, ``properties``).
        merge: Merge onto the catalog entry when the model is known; ``False`` starts from
            the permissive unknown-model defaults.
        catalog: Catalog to merge onto and take task rate limits from; the packaged one
            by default.

    Raises:
        CatalogError: ``obj`` is not an object or has no ``name``.
    """
    cat = catalog if catalog is not None else packaged_catalog()
    name = obj.get("name") if isinstance(obj, Mapping) else None
    if not isinstance(name, str) or not name:
        raise CatalogError("a models/search item needs a non-empty string 'name'")
    base = cat.get(name) if merge else ModelInfo(id=name)
    changes: dict[str, Any] = {}
    if isinstance(obj.get("description"), str) and obj["description"]:
        changes["description"] = obj["description"]
    task = obj.get("task")
    if isinstance(task, Mapping) and isinstance(task.get("name"), str) and task["name"]:
        changes["task"] = task["name"]
        changes["task_rate_limit"] = cat.task_rate_limits.get(task["name"])
    props = _properties(obj.get("properties"))
    changes.update(_changes_from_properties(props, base))
    return dataclasses.replace(base, **changes)


def _properties(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, list):
        return {}
    return {
        p["property_id"]: p.get("value")
        for p in raw
        if isinstance(p, Mapping) and isinstance(p.get("property_id"), str)
    }


def _changes_from_properties(props: Mapping[str, Any], base: ModelInfo) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for prop, field in _INT_PROPERTIES.items():
        number = _as_int(props.get(prop))
        if number is not None:
            changes[field] = number
    for prop, field in _BOOL_PROPERTIES.items():
        flag = _as_bool(props.get(prop))
        if flag is not None:
            changes[field] = flag
    deprecation = props.get("planned_deprecation_date")
    if isinstance(deprecation, str) and _is_date(deprecation[:10]):
        changes["deprecated"] = deprecation[:10]
    if isinstance(props.get("price"), list):
        changes.update(_prices_from_search(props["price"], base))
    return changes


def _prices_from_search(items: list[Any], base: ModelInfo) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    others = {p.unit: p for p in base.other_prices}
    for item in items:
        if not isinstance(item, Mapping) or item.get("currency", "USD") != "USD":
            continue
        price, unit = item.get("price"), item.get("unit")
        usd = _as_number(price)
        if usd is None or not isinstance(unit, str):
            continue
        fields = _TOKEN_PRICE_UNITS_LOWER.get(" ".join(unit.lower().split()))
        if fields is not None:
            usd_field, neurons_field = fields
            changes[usd_field] = usd
            if not _same_price(getattr(base, usd_field), usd):
                changes[neurons_field] = None
        else:
            old = others.get(unit)
            keep = old is not None and _same_price(old.usd, usd)
            others[unit] = UnitPrice(
                unit=unit, usd=usd, neurons=old.neurons if keep and old else None
            )
    if tuple(others.values()) != base.other_prices:
        changes["other_prices"] = tuple(others.values())
    return changes


def _same_price(old: float | None, new: float) -> bool:
    """A catalog neuron price stays valid if the USD price did not change (or was unknown)."""
    return old is None or math.isclose(old, new, rel_tol=1e-9)


def _as_int(value: Any) -> int | None:
    """Read an integer property (Cloudflare sends ``"24000"``; a JSON number is accepted)."""
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    return int(text) if text.isdigit() and not isinstance(value, bool) else None


def _as_bool(value: Any) -> bool | None:
    """Read a flag property (``"true"``/``"false"`` strings or JSON booleans)."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    return text == "true" if text in ("true", "false") else None


def to_search_result(info: ModelInfo) -> dict[str, Any]:
    """Render ``info`` as a ``GET /ai/models/search`` result item (the inverse of
    :func:`model_info_from_search_result`, for round-trip tests and offline refresh runs).

    Numbers and flags are strings, as Cloudflare sends them; flags appear only when true,
    and only known facts are reported (not an unknown model's permissive defaults). The
    ``id``s are stable UUIDs derived from the names, not Cloudflare's own.
    """
    props: list[dict[str, Any]] = []
    for prop, field in _INT_PROPERTIES.items():
        if getattr(info, field) is not None:
            props.append({"property_id": prop, "value": str(getattr(info, field))})
    for prop, field in _BOOL_PROPERTIES.items():
        if getattr(info, field) is True and (info.known or field not in _PERMISSIVE_TRUE):
            props.append({"property_id": prop, "value": "true"})
    prices = _prices_to_search(info)
    if prices:
        props.append({"property_id": "price", "value": prices})
    if info.deprecated is not None:
        props.append({"property_id": "planned_deprecation_date", "value": info.deprecated})
    task = None
    if info.task is not None:
        task_id = str(uuid.uuid5(_UUID_NAMESPACE, f"task:{info.task}"))
        task = {"id": task_id, "name": info.task, "description": ""}
    return {
        "id": str(uuid.uuid5(_UUID_NAMESPACE, f"model:{info.id}")),
        "source": 1,
        "name": info.id,
        "description": info.description,
        "task": task,
        "tags": [],
        "properties": props,
    }


def _prices_to_search(info: ModelInfo) -> list[dict[str, Any]]:
    usd_by_unit = [(unit, getattr(info, fields[0])) for unit, fields in _TOKEN_PRICE_UNITS.items()]
    usd_by_unit += [(p.unit, p.usd) for p in info.other_prices]
    return [
        {"unit": unit, "price": usd, "currency": "USD"}
        for unit, usd in usd_by_unit
        if usd is not None
    ]
