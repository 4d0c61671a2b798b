"""Model-id checks against the packaged catalog (``workers_ai.model_checks``; pure, no I/O).

A model of the wrong kind raises before any request and names the class that takes it; a
deprecated model warns once with its date and replacement; a near-miss id warns once with a
did-you-mean and is still sent. Model ids, tasks, deprecation dates and replacements are those
of the packaged catalog (``workers_ai/data/catalog.json``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

import workers_ai
from workers_ai import ConfigurationError, ModelIdError, catalog, model_checks
from workers_ai.model_checks import ModelDeprecatedWarning, UnknownModelWarning, check_model

LLAMA_INDEX = {
    "chat": "WorkersAI",
    "embeddings": "WorkersAIEmbedding",
    "reranker": "WorkersAIRerank",
}
OWNER = "SomeClass"

CHAT = "@cf/meta/llama-3.1-8b-instruct"
EMBED = "@cf/baai/bge-base-en-v1.5"
M3 = "@cf/baai/bge-m3"
RERANKER = "@cf/baai/bge-reranker-base"
GEMMA3 = "@cf/google/gemma-3-12b-it"  # deprecated 2026-05-30 -> gemma-4-26b-a4b-it
KIMI25 = "@cf/moonshotai/kimi-k2.5"  # deprecated 2026-05-30 -> kimi-k2.6
GEMMA4 = "gemma-4-26b-a4b-it"
HERMES = "@hf/nousresearch/hermes-2-pro-mistral-7b"

#: Known models no chat/embeddings/reranker class can use (translation, images, speech...).
NON_TEXT = sorted(
    m.id for m in catalog.models() if not (m.is_text_generation or m.is_embedding or m.is_reranker)
)


pytestmark = pytest.mark.usefixtures("fresh_model_warnings")  # nothing warned yet


@pytest.fixture
def caught() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised in the test, duplicates included (the module must dedupe)."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield records


def _of(records: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    return [str(r.message) for r in records if issubclass(r.category, category)]


# -- wrong kind ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kind", "right_class"),
    [
        (EMBED, "chat", "WorkersAIEmbedding"),
        (M3, "chat", "WorkersAIEmbedding"),
        (RERANKER, "chat", "WorkersAIRerank"),
        (CHAT, "embeddings", "WorkersAI"),
        (RERANKER, "embeddings", "WorkersAIRerank"),
        (CHAT, "reranker", "WorkersAI"),
        (GEMMA3, "embeddings", "WorkersAI"),  # deprecated and of the wrong kind: still an error
        ("workers-ai/" + EMBED, "chat", "WorkersAIEmbedding"),  # provider prefix stripped
    ],
)
def test_wrong_kind_raises_naming_the_owner_and_the_right_class(
    model: str, kind: Any, right_class: str, caught: list[warnings.WarningMessage]
) -> None:
    with pytest.raises(workers_ai.ConfigurationError) as info:
        check_model(model, kind, owner=OWNER, classes=LLAMA_INDEX)

    message = str(info.value)
    assert OWNER in message
    assert f"use {right_class} for it" in message
    assert model.removeprefix("workers-ai/") in message
    assert not caught  # an error, not an error plus a warning


def test_wrong_kind_names_the_core_classes_by_default() -> None:
    with pytest.raises(workers_ai.ConfigurationError) as info:
        check_model(EMBED, "chat", owner=OWNER)
    assert model_checks.CORE_CLASSES["embeddings"] in str(info.value)


def test_the_catalog_has_non_text_models() -> None:
    """The next test is not vacuous: translation and text-to-image models are in the catalog."""
    tasks = {catalog.get(m).task for m in NON_TEXT}
    assert {"Translation", "Text-to-Image"} <= tasks


@pytest.mark.parametrize("kind", ["chat", "embeddings", "reranker"])
@pytest.mark.parametrize("model", NON_TEXT)
def test_non_text_model_points_to_client_run(model: str, kind: Any) -> None:
    with pytest.raises(workers_ai.ConfigurationError) as info:
        check_model(model, kind, owner=OWNER, classes=LLAMA_INDEX)

    message = str(info.value)
    assert "WorkersAIClient.run()" in message
    assert OWNER in message and model in message
    assert not any(name in message for name in ("use WorkersAI ", "use WorkersAIEmbedding"))


@pytest.mark.parametrize("kind", ["chat", "embeddings", "reranker"])
def test_wrong_kind_message_reads_as_english(kind: Any) -> None:
    """The suggestion of another model of the right kind is grammatical ("an embeddings
    model", not "a embeddings model")."""
    wrong = {"chat": EMBED, "embeddings": CHAT, "reranker": CHAT}[kind]
    with pytest.raises(workers_ai.ConfigurationError) as info:
        check_model(wrong, kind, owner=OWNER, classes=LLAMA_INDEX)
    message = str(info.value)
    assert " a embeddings " not in message and " a embedding " not in message


# -- the right kind -----------------------------------------------------------------------------

ACCEPTED = [
    *((m.id, "chat") for m in catalog.models("Text Generation") if m.deprecated is None),
    *((m.id, "embeddings") for m in catalog.models("Text Embeddings")),
    *((m.id, "reranker") for m in catalog.models("Text Embeddings")),  # bge-m3's query mode
    (RERANKER, "reranker"),
    ("workers-ai/" + CHAT, "chat"),
    ("workers-ai/" + M3, "reranker"),
]


@pytest.mark.parametrize(("model", "kind"), ACCEPTED)
def test_models_of_the_right_kind_pass_silently(
    model: str, kind: Any, caught: list[warnings.WarningMessage]
) -> None:
    assert check_model(model, kind, owner=OWNER, classes=LLAMA_INDEX) is None
    assert not caught


# -- deprecation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "today", "tense", "replacement"),
    [
        (GEMMA3, date(2026, 5, 1), "will be deprecated on 2026-05-30", GEMMA4),
        (GEMMA3, date(2026, 5, 29), "will be deprecated on 2026-05-30", GEMMA4),
        (GEMMA3, date(2026, 5, 30), "was deprecated on 2026-05-30", GEMMA4),
        (GEMMA3, date(2026, 6, 15), "was deprecated on 2026-05-30", GEMMA4),
        (KIMI25, date(2027, 1, 1), "was deprecated on 2026-05-30", "kimi-k2.6"),
        (KIMI25, date(2025, 12, 31), "will be deprecated on 2026-05-30", "kimi-k2.6"),
        ("workers-ai/" + KIMI25, date(2027, 1, 1), "was deprecated on", "kimi-k2.6"),
    ],
)
def test_deprecated_model_warns_with_date_and_replacement(
    model: str,
    today: date,
    tense: str,
    replacement: str,
    caught: list[warnings.WarningMessage],
) -> None:
    check_model(model, "chat", owner=OWNER, classes=LLAMA_INDEX, today=today)

    messages = _of(caught, ModelDeprecatedWarning)
    assert len(messages) == 1 and len(caught) == 1
    assert tense in messages[0]
    assert replacement in messages[0] and model.removeprefix("workers-ai/") in messages[0]
    other = "was deprecated" if tense.startswith("will") else "will be deprecated"
    assert other not in messages[0]


def test_deprecated_model_uses_todays_date_by_default(
    caught: list[warnings.WarningMessage],
) -> None:
    check_model(GEMMA3, "chat", owner=OWNER)
    expected = "was" if date.today().isoformat() >= "2026-05-30" else "will be"
    assert f"{GEMMA3} {expected} deprecated on 2026-05-30" in _of(caught, ModelDeprecatedWarning)[0]


def test_deprecation_warning_is_a_user_warning() -> None:
    """Shown by Python's default filters (a DeprecationWarning from a library would be hidden)."""
    assert issubclass(ModelDeprecatedWarning, UserWarning)
    assert issubclass(UnknownModelWarning, UserWarning)


def test_deprecation_warns_once_per_model(caught: list[warnings.WarningMessage]) -> None:
    today = date(2026, 6, 1)
    for model in (GEMMA3, GEMMA3, "workers-ai/" + GEMMA3, KIMI25, KIMI25):
        check_model(model, "chat", owner=OWNER, classes=LLAMA_INDEX, today=today)
    check_model(GEMMA3, "chat", owner="AnotherClass", today=date(2026, 1, 1))

    messages = _of(caught, ModelDeprecatedWarning)
    assert len(messages) == 2
    assert GEMMA3 in messages[0] and KIMI25 in messages[1]


# -- unknown ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kind", "meant"),
    [
        ("@cf/meta/llama-3.1-8b-instruc", "chat", CHAT),  # 1 edit
        ("@cf/meta/llama-3.1-8b-instr", "chat", CHAT),  # 3 edits: still a typo
        ("@cf/meta/lamma-3.1-8b-instruct", "chat", CHAT),
        ("@cf/meta/llama-3.1-8b-insturct", "chat", CHAT),  # a swap
        ("@cf/Meta/Llama-3.1-8B-Instruct", "chat", CHAT),  # case only
        ("@cf/baai/bge-bsae-en-v1.5", "embeddings", EMBED),
        ("@cf/baai/bge-reranker-bsae", "reranker", RERANKER),
        # an unknown id is never an error, even when the near one is of another kind
        ("@cf/meta/llama-3.1-8b-instruc", "embeddings", CHAT),
        ("@cf/baai/bge-bsae-en-v1.5", "chat", EMBED),
    ],
)
def test_near_miss_warns_with_did_you_mean_and_never_raises(
    model: str, kind: Any, meant: str, caught: list[warnings.WarningMessage]
) -> None:
    assert check_model(model, kind, owner=OWNER, classes=LLAMA_INDEX) is None

    messages = _of(caught, UnknownModelWarning)
    assert len(messages) == 1 and len(caught) == 1
    assert f"did you mean {meant!r}?" in messages[0]
    assert model.removeprefix("workers-ai/") in messages[0]


# Issue #16: an id without '@cf/' whose first part is no AI Gateway provider cannot be routed,
# so it is now an error before any request (it was a did-you-mean warning, then a 400).
@pytest.mark.parametrize(
    ("model", "meant"),
    [
        ("meta/llama-3.1-8b-instruct", CHAT),  # @cf/ prefix missing
        ("nousresearch/hermes-2-pro-mistral-7b", HERMES),
        ("baai/bge-m3", M3),
        ("workers-ai/meta/llama-3.1-8b-instruct", None),
        ("gpt-4o", None),
    ],
)
def test_unroutable_ids_raise_with_the_accepted_forms(
    model: str, meant: str | None, caught: list[warnings.WarningMessage]
) -> None:
    with pytest.raises(ModelIdError) as info:
        check_model(model, "chat", owner=OWNER, classes=LLAMA_INDEX)
    message = str(info.value)
    assert repr(model) in message and "'openai'" not in message
    assert "'@cf/author/model'" in message and "cloudflare/auto" in message
    if meant is not None:
        assert f"did you mean {meant!r}?" in message
    assert not caught


@pytest.mark.parametrize(
    "model",
    [
        "@cf/acme/brand-new-model",
        "@cf/meta/llama-3.1-8b-inst",  # 4 edits from the nearest id
        "@cf/qwen/qwen3-30b-a3b",  # 4 edits
        "workers-ai/@cf/acme/brand-new-model",
    ],
)
@pytest.mark.parametrize("kind", ["chat", "embeddings", "reranker"])
def test_far_unknown_ids_pass_silently(
    model: str, kind: Any, caught: list[warnings.WarningMessage]
) -> None:
    assert check_model(model, kind, owner=OWNER, classes=LLAMA_INDEX) is None
    assert not caught


@pytest.mark.parametrize(
    "model",
    ["openai/gpt-4.2", "openai/gpt-4.1-mimi", "google-ai-studio/gemini-9", "custom-acme/m1"],
)
@pytest.mark.parametrize("kind", ["chat", "embeddings"])
def test_unknown_third_party_models_never_warn_nor_raise(
    model: str, kind: Any, caught: list[warnings.WarningMessage]
) -> None:
    # one edit from 'openai/gpt-4.1' is still no typo warning: no catalog lists every model
    assert check_model(model, kind, owner=OWNER, classes=LLAMA_INDEX) is None
    assert not caught


def test_known_third_party_model_of_the_wrong_kind_raises() -> None:
    with pytest.raises(ConfigurationError, match=r"openai/gpt-4\.1 is a Text Generation model"):
        check_model("openai/gpt-4.1", "embeddings", owner=OWNER, classes=LLAMA_INDEX)
    with pytest.raises(ConfigurationError, match="text-embedding-3-small"):
        check_model("openai/text-embedding-3-small", "chat", owner=OWNER, classes=LLAMA_INDEX)


@pytest.mark.parametrize("model", ["dynamic/support", "cloudflare/auto"])
def test_routing_aliases_serve_chat_only(model: str) -> None:
    assert check_model(model, "chat", owner=OWNER) is None
    with pytest.raises(ConfigurationError, match="chat completions only"):
        check_model(model, "embeddings", owner=OWNER)


def test_third_party_models_cannot_rerank() -> None:
    with pytest.raises(ConfigurationError, match="rerankers run on Workers AI"):
        check_model("openai/gpt-4.1", "reranker", owner=OWNER)


def test_near_miss_warns_once_per_id(caught: list[warnings.WarningMessage]) -> None:
    for model in ("@cf/meta/llama-3.1-8b-instruc", "@cf/meta/llama-3.1-8b-instruc"):
        check_model(model, "chat", owner=OWNER)
    check_model("@cf/baai/bge-m4", "chat", owner=OWNER)
    check_model("@cf/meta/llama-3.1-8b-instruc", "embeddings", owner="AnotherClass")

    messages = _of(caught, UnknownModelWarning)
    assert len(messages) == 2
    assert "@cf/meta/llama-3.1-8b-instruc" in messages[0] and "@cf/baai/bge-m4" in messages[1]


# -- where the warning points -------------------------------------------------------------------


def _call_check(model: str) -> None:
    check_model(model, "chat", owner=OWNER, today=date(2026, 6, 1))


@pytest.mark.parametrize(
    ("model", "category"),
    [(GEMMA3, ModelDeprecatedWarning), ("@cf/meta/llama-3.1-8b-instruc", UnknownModelWarning)],
)
def test_both_warnings_point_at_the_same_frame(
    model: str, category: type[Warning], caught: list[warnings.WarningMessage]
) -> None:
    """The deprecation and the typo warning are attributed to the same caller frame: the line
    that called ``check_model`` (here ``_call_check`` in this file), as Python shows it."""
    call: Callable[[str], None] = _call_check
    call(model)

    (record,) = caught
    assert issubclass(record.category, category)
    assert record.filename == __file__
    assert record.lineno == _call_check.__code__.co_firstlineno + 1
