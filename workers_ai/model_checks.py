"""Checks of a model id against the catalog, before any request (no I/O).

Every class that takes a model calls :func:`check_model` at construction:

- a known model of the wrong kind raises :class:`~workers_ai.ConfigurationError` naming the class
  that takes it (an embedding model given to a chat class, a chat model to an embeddings class);
- a model past or near its deprecation date warns once per process (:class:`ModelDeprecatedWarning`)
  with the date and, where the catalog has one, a replacement;
- an id the catalog does not know but that is a few edits from one it does warns once
  (:class:`UnknownModelWarning`) with a did-you-mean. Never an error: the catalog can lag the
  service, and an unknown model still gets a request.

Example:
    >>> import warnings
    >>> from workers_ai.model_checks import check_model
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_model("@cf/meta/llama-3.1-8b-instruc", "chat", owner="ChatWorkersAI")
    >>> "did you mean '@cf/meta/llama-3.1-8b-instruct'?" in str(caught[0].message)
    True
"""

from __future__ import annotations

import datetime
import threading
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from workers_ai.arguments import caller_stacklevel, edit_distance
from workers_ai.errors import ConfigurationError

# The catalog is loaded by the first check or default, not on import: the framework classes
# import this module to be defined, and need the catalog only once an object is built.
if TYPE_CHECKING:
    from workers_ai.catalog import ModelInfo

__all__ = [
    "Kind",
    "ModelDeprecatedWarning",
    "UnknownModelWarning",
    "check_model",
    "default_model",
]

Kind = Literal["chat", "embeddings", "reranker"]

#: What each kind of class is called in the core; adapters pass their own names.
CORE_CLASSES: Mapping[Kind, str] = {
    "chat": "WorkersAIClient.chat()",
    "embeddings": "workers_ai.embedder.Embedder",
    "reranker": "workers_ai.rerank.Reranker",
}
_KIND_NOUNS: Mapping[Kind, str] = {
    "chat": "a chat model",
    "embeddings": "an embedding model",
    "reranker": "a reranker",
}
#: Most edits between a typed id and a catalog id for a did-you-mean (ids are long).
_MAX_ID_DISTANCE = 3
_PREFIXES = ("@cf/", "@hf/")
_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


class ModelDeprecatedWarning(UserWarning):
    """The model is deprecated (or will be soon) according to the catalog."""


class UnknownModelWarning(UserWarning):
    """The model id is not in the catalog but close to one that is (a likely typo)."""


def _fits(info: ModelInfo, kind: Kind) -> bool:
    if kind == "chat":
        return info.is_text_generation
    if kind == "embeddings":
        return info.is_embedding
    return info.is_reranker or info.is_embedding  # bge-m3 reranks in its query mode


def _kind_of(info: ModelInfo) -> Kind | None:
    for kind in ("chat", "embeddings", "reranker"):
        if _fits(info, kind):
            return kind
    return None


def _warn_once(key: str, what: str, message: str, category: type[Warning]) -> None:
    with _lock:
        if (key, what) in _warned:
            return
        _warned.add((key, what))
    warnings.warn(message, category, stacklevel=caller_stacklevel())


def _closest_id(model: str) -> str | None:
    from workers_ai import catalog

    known = [m.id for m in catalog.models()]
    for prefix in _PREFIXES:  # "meta/llama-3.1-8b-instruct" for "@cf/meta/..."
        if not model.startswith("@") and prefix + model in known:
            return prefix + model
    scored = sorted((edit_distance(model.lower(), k.lower()), k) for k in known)
    return scored[0][1] if scored and scored[0][0] <= _MAX_ID_DISTANCE else None


def check_model(
    model: str,
    kind: Kind,
    *,
    owner: str,
    classes: Mapping[Kind, str] = CORE_CLASSES,
    today: datetime.date | None = None,
) -> None:
    """Raise if ``model`` cannot work with a ``kind`` class; warn on deprecation or a typo.

    Args:
        model: The model id (a ``workers-ai/`` provider prefix is allowed).
        kind: What the calling class does.
        owner: The calling class's name, for messages.
        classes: The class for each kind in the caller's framework, named in the error.
        today: For tests; defaults to the current date.

    Raises:
        ConfigurationError: The catalog knows the model and it is of another kind; a routing
            alias (``dynamic/...``, ``cloudflare/auto``) for embeddings or a third-party model
            for a reranker.
        ModelIdError: The id is malformed or names a provider AI Gateway does not list (see
            :func:`workers_ai.providers.parse_model`).
    """
    from workers_ai import catalog
    from workers_ai.providers import parse_model

    ref = parse_model(model)  # a malformed id or an unknown provider: ModelIdError
    info = catalog.get(model)
    if not ref.is_workers_ai:
        _check_gateway_model(ref.kind, info, kind, owner)
        if not info.known:  # never a typo warning: no catalog lists every provider's models
            return
    if not info.known:
        suggestion = _closest_id(info.id)
        if suggestion is not None:
            _warn_once(
                info.id,
                "typo",
                f"{info.id} is not in the model catalog (snapshot "
                f"{catalog.packaged_catalog().snapshot_date}); did you mean {suggestion!r}? "
                "It is sent as given, in case the model is newer than the catalog.",
                UnknownModelWarning,
            )
        return
    if not _fits(info, kind):
        right = _kind_of(info)
        use = (
            f"use {classes[right]} for it"
            if right is not None
            else "call it with workers_ai.WorkersAIClient.run()"
        )
        raise ConfigurationError(
            f"{info.id} is a {info.task} model, so {owner} cannot use it: {use}, or pick "
            f"{_KIND_NOUNS[kind]} such as {default_model(kind)} (see workers_ai.catalog.models())."
        )
    if info.deprecated is not None:
        _warn_deprecated(info, today or datetime.date.today())


def _check_gateway_model(model_kind: str, info: ModelInfo, kind: Kind, owner: str) -> None:
    """A third-party model or routing alias where ``kind`` cannot take it."""
    if kind == "reranker":
        raise ConfigurationError(
            f"{info.id} is served through AI Gateway, so {owner} cannot use it: rerankers run "
            f"on Workers AI; pick one such as {default_model('reranker')}."
        )
    if kind == "embeddings" and model_kind in ("dynamic", "auto"):
        raise ConfigurationError(
            f"{info.id} is an AI Gateway routing alias, which serves chat completions only, so "
            f"{owner} cannot use it; pick an embedding model such as "
            f"'openai/text-embedding-3-small' or {default_model('embeddings')}."
        )


def default_model(kind: Kind) -> str:
    """The catalog's default model id for a ``kind`` class.

    The framework classes' ``model`` fields take their default from here (``default_factory``),
    so the catalog is read when a model object is built, not when its class is defined.
    """
    from workers_ai import catalog

    if kind == "chat":
        return catalog.default_chat_model()
    if kind == "embeddings":
        return catalog.default_embedding_model()
    return catalog.default_reranker_model()


def _warn_deprecated(info: ModelInfo, today: datetime.date) -> None:
    date = info.deprecated or ""
    tense = "was deprecated on" if date <= today.isoformat() else "will be deprecated on"
    instead = f"; move to {info.replacement}" if info.replacement else ""
    _warn_once(
        info.id,
        "deprecated",
        f"{info.id} {tense} {date} (model catalog){instead}. Requests may fail once Cloudflare "
        "removes it.",
        ModelDeprecatedWarning,
    )
