"""AI Gateway decisions of the emulator (pure, no I/O): errors, credentials, routing, logs.

Spec: ``/work/shared/cloudflare-ai-platform-api.md`` §1. The app
(:mod:`workers_ai.emulator.gateway_app`) sends and records; this module decides:

* :class:`GatewayError`: a gateway-originated error in the body of §1.10
  (``{"success": false, "result": [], "messages": [], "error": [{code, message}], "name":
  "AiGatewayError", "httpCode", "internalCode"}``); :class:`ProviderError`: a provider error
  passed through in OpenAI's format (``{"error": {message, type, param, code}}``).
* :func:`billing_for`: provider key, stored key (BYOK alias) or Unified Billing (§1.2).
* :func:`resolve_model`: a model name on a surface (§1.3) -> a third-party model, Workers AI,
  a dynamic route or the Auto Router, or the error the gateway answers.
* :func:`auto_route`: the Auto Router's choice within ``cf-aig-allowed-models`` (§1.9).
* :func:`log_id`, :func:`parse_metadata`, :func:`check_log_patch`, :class:`GatewayLogs`: logs
  and human feedback (§1.12).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from workers_ai.emulator import providers
from workers_ai.emulator.providers import Surface, ThirdPartyModel

__all__ = [
    "AUTO_ROUTER",
    "DYNAMIC_PREFIX",
    "GatewayError",
    "GatewayLogs",
    "ProviderError",
    "Resolved",
    "auto_route",
    "billing_for",
    "check_log_patch",
    "decision_id",
    "is_workers_ai_model",
    "log_id",
    "new_log_entry",
    "parse_metadata",
    "parse_name_list",
    "resolve_model",
]

AUTO_ROUTER = "cloudflare/auto"
DYNAMIC_PREFIX = "dynamic/"
_WORKERS_AI_PREFIXES = ("@cf/", "@hf/", "workers-ai/")
#: 2026-10-08T00:00:00Z, when log ids became UUIDv7 (§1.7); log ids count up from here (ms).
_LOG_EPOCH_MS = 1_791_417_600_000
_METADATA_LIMIT = 5  # §1.6: more entries -> the first five are kept
_TRUE = ("true", "1", "yes")


class GatewayError(Exception):
    """An error AI Gateway itself answers (spec §1.10 body)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} / {self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        """The gateway's own body (singular ``error``, ``name``, ``httpCode``, ``internalCode``)."""
        return {
            "success": False,
            "result": [],
            "messages": [],
            "error": [{"code": self.code, "message": self.message}],
            "name": "AiGatewayError",
            "httpCode": self.status,
            "internalCode": self.code,
        }

    def v4_body(self) -> dict[str, Any]:
        """The same error in the v4 envelope (the other variant §1.10 leaves open for REST)."""
        return {
            "result": None,
            "success": False,
            "errors": [{"code": self.code, "message": self.message}],
            "messages": [],
        }


class ProviderError(Exception):
    """A provider's own error, passed through in OpenAI's format (§1.10)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": self.type, "param": self.param}
        return {"error": {**error, "code": self.code}}


# -- model names (§1.3) -------------------------------------------------------------------------


def is_workers_ai_model(model: str) -> bool:
    """``@cf/...``, ``@hf/...`` or ``workers-ai/@cf/...``: Workers AI's own routing."""
    return model.startswith(_WORKERS_AI_PREFIXES)


@dataclass(frozen=True)
class Resolved:
    """What a model name on a surface stands for.

    Attributes:
        kind: ``"third_party"``, ``"workers_ai"``, ``"dynamic"`` or ``"auto"``.
        name: The name as the answer's ``model`` field gives it.
        model: The third-party model (``third_party`` only).
        route: The dynamic route's name (``dynamic`` only).
    """

    kind: Literal["third_party", "workers_ai", "dynamic", "auto"]
    name: str
    model: ThirdPartyModel | None = None
    route: str | None = None


def _not_found(model: str) -> GatewayError:
    return GatewayError(404, 7003, f"Model not found: {model}")


def resolve_model(model: str, surface: Surface) -> Resolved:
    """Resolve ``model`` as the REST routes (``surface="rest"``) or compat route name it.

    Raises:
        GatewayError: REST: ``404 / 7003 Model not found: <slug>`` for any unknown name.
            Compat: ``400 / 2005`` for a name without a provider (``@cf/...``, ``gpt-4o``) or
            an unknown model of a listed provider, ``400 / 2008 Invalid provider`` for an
            unknown provider slug.
    """
    if model == AUTO_ROUTER:
        return Resolved("auto", model)
    if model.startswith(DYNAMIC_PREFIX) and len(model) > len(DYNAMIC_PREFIX):
        return Resolved("dynamic", model, route=model[len(DYNAMIC_PREFIX) :])
    if surface == "rest":
        if is_workers_ai_model(model):
            return Resolved("workers_ai", model.removeprefix("workers-ai/"))
        row = providers.by_rest_id(model)
        if row is None:
            raise _not_found(model)
        return Resolved("third_party", model, model=row)
    provider, slash, rest = model.partition("/")
    if provider == "workers-ai" and rest.startswith(("@cf/", "@hf/")):
        return Resolved("workers_ai", rest)
    if not slash or not rest or model.startswith("@"):
        raise GatewayError(
            400,
            2005,
            f"Failed to get response from provider: model {model!r} names no provider; "
            "use '<provider>/<model>', e.g. 'openai/gpt-5-mini' or 'workers-ai/@cf/...'",
        )
    if not providers.is_gateway_provider(provider):
        raise GatewayError(400, 2008, f"Invalid provider: {provider!r}")
    row = providers.by_compat_id(model)
    if row is not None:
        return Resolved("third_party", model, model=row)
    if provider in providers.COMPAT_CHECKED_PROVIDERS:
        raise GatewayError(
            400, 2005, f"Failed to get response from provider: {provider} has no model {rest!r}"
        )
    return Resolved("third_party", model, model=providers.generic_compat_model(model))


# -- credentials and billing (§1.2) -------------------------------------------------------------

Billing = Literal["provider_key", "byok", "unified"]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def billing_for(
    row: ThirdPartyModel,
    headers: Mapping[str, str],
    *,
    provider_key: bool,
    byok_aliases: Mapping[str, Sequence[str]] | None,
) -> tuple[Billing, str | None]:
    """How a third-party request is paid: ``(kind, BYOK alias or None)``.

    A provider key (``Authorization`` on gateway.ai.cloudflare.com) wins; else the stored key
    named by ``cf-aig-byok-alias`` (``default`` when absent); else Unified Billing.

    Args:
        row: The model.
        headers: The request headers (lowercase names).
        provider_key: The request carries the provider's own key.
        byok_aliases: Stored keys per provider; ``None``: none stored (Unified Billing, the
            state of a new gateway).

    Raises:
        GatewayError: 400 / 2040 for an alias the provider has no key under (no fallback);
            400 for ``cf-aig-no-wholesale: true`` without any credential; 402 / 2021 for a
            model Unified Billing does not cover.
    """
    if provider_key:
        return "provider_key", None
    aliases = tuple((byok_aliases or {}).get(row.provider, ()))
    requested = (headers.get("cf-aig-byok-alias") or "").strip()
    if requested:
        if requested not in aliases:
            listed = ", ".join(aliases) if aliases else "(none)"
            raise GatewayError(
                400,
                2040,
                f"Provider '{row.provider}' has no BYOK credential named '{requested}'. "
                f"Configured aliases: {listed}",
            )
        return "byok", requested
    if "default" in aliases:
        return "byok", "default"
    if _truthy(headers.get("cf-aig-no-wholesale")):
        raise GatewayError(
            400,
            400,
            f"cf-aig-no-wholesale: true requires provider credentials: send the {row.provider} "
            "key in Authorization or store a BYOK key for the provider",
        )
    if not row.unified_billing:
        raise GatewayError(
            402,
            2021,
            f"Model {row.name_on('compat')!r} is not eligible for Unified Billing; use BYOK "
            "or send the provider's key",
        )
    return "unified", None


# -- Auto Router (§1.9) -------------------------------------------------------------------------


def parse_name_list(raw: str | None) -> list[str] | None:
    """A ``cf-aig-allowed-models`` / ``-providers`` value: a JSON array or comma-separated."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise GatewayError(400, 7003, f"Bad model list {raw!r}: use a JSON array of names")
        return [i.strip() for i in items if i.strip()]
    return [part.strip() for part in text.split(",") if part.strip()]


def _entry_matches(entry: str, row: ThirdPartyModel) -> bool:
    names = (*row.rest_ids, *row.compat_ids)
    authors = {name.partition("/")[0] for name in names} | {row.provider}
    if entry.endswith("/*"):
        return entry[:-2] in authors
    return entry in names or entry in authors


def auto_route(
    surface: Surface, allowed_models: list[str] | None, allowed_providers: list[str] | None
) -> tuple[ThirdPartyModel, str]:
    """``cloudflare/auto``: the cheapest model of the pool, and the routing reason.

    Raises:
        GatewayError: 400 / 7003 naming an allowed-models or -providers entry matching nothing.
    """
    pool = providers.auto_router_pool(surface)
    for header, entries in (
        ("cf-aig-allowed-models", allowed_models),
        ("cf-aig-allowed-providers", allowed_providers),
    ):
        if entries is None:
            continue
        unmatched = [e for e in entries if not any(_entry_matches(e, r) for r in pool)]
        if unmatched:
            raise GatewayError(
                400, 7003, f"Model not found: {unmatched[0]} ({header} matches no model)"
            )
        pool = [r for r in pool if any(_entry_matches(e, r) for e in entries)]
    if not pool:
        raise GatewayError(
            400, 7003, "Model not found: the allowed models and providers overlap nowhere"
        )
    reason = "forced_by_candidate_pool" if len(pool) == 1 else "cost_optimal_within_pool"
    return pool[0], reason


# -- ids and metadata ---------------------------------------------------------------------------


def _uuid_from(counter: int, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}:{counter}".encode()).hexdigest()
    millis = f"{(_LOG_EPOCH_MS + counter) % (1 << 48):012x}"
    variant = f"{8 | (int(digest[3], 16) & 3):x}"
    raw = millis + "7" + digest[:3] + variant + digest[4:7] + digest[7:19]
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def log_id(counter: int, seed: int = 0) -> str:
    """A lowercase UUIDv7-like log id, deterministic per request counter (§1.7: opaque)."""
    return _uuid_from(counter, f"log:{seed}")


def decision_id(counter: int, seed: int = 0) -> str:
    """The Auto Router's ``cf-aig-routing-decision-id`` for request ``counter``."""
    return _uuid_from(counter, f"route:{seed}")


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))


def parse_metadata(raw: str | None) -> dict[str, Any] | None:
    """``cf-aig-metadata`` as the gateway keeps it (§1.6): the first five entries of a JSON
    object of string/number/bool values; anything else (a ``null`` or object value, not an
    object, not JSON) drops the whole metadata, without an error."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(_scalar(v) for v in value.values()):
        return None
    return dict(list(value.items())[:_METADATA_LIMIT])


# -- logs and feedback (§1.12) ------------------------------------------------------------------

_PATCH_FIELDS = ("feedback", "score", "metadata")


def check_log_patch(body: Any) -> dict[str, Any]:
    """Check a ``PATCH .../logs/{id}`` body; return the fields to change.

    Raises:
        ValueError: naming the field and what it takes.
    """
    if not isinstance(body, dict):
        raise ValueError("send a JSON object with any of 'feedback', 'score', 'metadata'")
    unknown = sorted(set(body) - set(_PATCH_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; use 'feedback', 'score' or 'metadata'")
    feedback = body.get("feedback")
    if "feedback" in body and not (
        feedback is None
        or (isinstance(feedback, int) and not isinstance(feedback, bool) and feedback in (-1, 0, 1))
    ):
        raise ValueError(f"feedback={feedback!r}: use -1 (negative), 1 (positive), 0 or null")
    score = body.get("score")
    if "score" in body and not (
        score is None
        or (
            isinstance(score, (int, float))
            and not isinstance(score, bool)
            and math.isfinite(score)
            and 0 <= score <= 100
        )
    ):
        raise ValueError(f"score={score!r}: use a number from 0 to 100, or null")
    metadata = body.get("metadata")
    if "metadata" in body and not (
        metadata is None
        or (
            isinstance(metadata, dict)
            and all(isinstance(k, str) and _scalar(v) for k, v in metadata.items())
        )
    ):
        raise ValueError("metadata: use an object whose values are strings, numbers or booleans")
    return {name: body[name] for name in _PATCH_FIELDS if name in body}


class GatewayLogs:
    """The logs of each gateway, newest last, bounded per gateway; thread-safe."""

    def __init__(self, max_per_gateway: int = 10_000) -> None:
        self._max = max_per_gateway
        self._logs: dict[str, OrderedDict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add(self, gateway: str, entry: dict[str, Any]) -> None:
        with self._lock:
            logs = self._logs.setdefault(gateway, OrderedDict())
            logs[entry["id"]] = entry
            while len(logs) > self._max:
                logs.popitem(last=False)

    def entries(self, gateway: str) -> list[dict[str, Any]]:
        """Copies of the gateway's logs, oldest first."""
        with self._lock:
            return [dict(e) for e in self._logs.get(gateway, {}).values()]

    def patch(self, gateway: str, log: str, changes: Mapping[str, Any]) -> bool:
        """Apply checked ``changes``; ``False`` when the gateway has no such log."""
        with self._lock:
            logs = self._logs.get(gateway)
            entry = None if logs is None else logs.get(log)
            if entry is None:
                return False
            entry.update(changes)
            return True

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()


def new_log_entry(
    *,
    log: str,
    gateway: str,
    path: str,
    model: str | None,
    provider: str | None,
    status: int,
    cached: bool,
    event_id: str | None,
    metadata: dict[str, Any] | None,
    usage: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One log as ``GET .../logs`` lists it (field names of Cloudflare's log objects)."""
    usage = usage or {}
    return {
        "id": log,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "gateway_id": gateway,
        "path": path,
        "model": model,
        "provider": provider,
        "status_code": status,
        "success": 200 <= status < 300,
        "cached": cached,
        "event_id": event_id,
        "tokens_in": usage.get("prompt_tokens"),
        "tokens_out": usage.get("completion_tokens"),
        "metadata": metadata,
        "feedback": None,
        "score": None,
    }
