"""Text tasks against the emulator (issue #20): translation, text classification, summaries.

Every call runs through the sync and the async function; bad input must fail before any
request reaches the emulator.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workers_ai.batch_api import BatchJobError
from workers_ai.embeddings import BatchPollPolicy
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import InvalidRequestError, ModelIdError
from workers_ai.tasks import text
from workers_ai.tasks.text import LANGUAGES, Label, resolve_language
from workers_ai.usage import track_usage

M2M = "@cf/meta/m2m100-1.2b"
SST2 = "@cf/huggingface/distilbert-sst-2-int8"
BART = "@cf/facebook/bart-large-cnn"
#: Polls without waiting: the emulator's jobs are done by the second poll.
FAST = BatchPollPolicy(interval=0.001, multiplier=1.0, max_interval=0.001, timeout=10.0)

both = pytest.mark.parametrize("mode", ["sync", "async"])


def call(emulator: EmulatorServer, mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """``text.<name>(client, ...)``, or ``text.a<name>`` on the async client."""
    if mode == "sync":
        with emulator.client(max_retries=0) as client:
            return getattr(text, name)(client, *args, **kwargs)

    async def go() -> Any:
        async with emulator.async_client(max_retries=0) as client:
            return await getattr(text, "a" + name)(client, *args, **kwargs)

    return asyncio.run(go())


# --- translation -----------------------------------------------------------------------------


@both
@pytest.mark.parametrize("target", ["fr", "FR", "French", "french", " French "])
def test_languages_are_taken_as_codes_or_names(
    emulator: EmulatorServer, mode: str, target: str
) -> None:
    out = call(
        emulator, mode, "translate", "Good morning", target_lang=target, source_lang="German"
    )
    assert out == "[fr] Good morning"
    body = emulator.last_request(model=M2M).body
    assert body == {"text": "Good morning", "source_lang": "de", "target_lang": "fr"}


@both
@pytest.mark.parametrize(
    ("target", "suggestion"),
    [("frnch", "'fr' (French)"), ("pt-BR", "'pt' (Portuguese)"), ("Portugese", "'pt'")],
)
def test_an_unknown_language_fails_before_any_request_with_a_suggestion(
    emulator: EmulatorServer, mode: str, target: str, suggestion: str
) -> None:
    with pytest.raises(InvalidRequestError, match="Did you mean") as info:
        call(emulator, mode, "translate", "Hi", target_lang=target)
    assert suggestion in str(info.value) and "100 languages" in str(info.value)
    with pytest.raises(InvalidRequestError, match="source_lang 'klingon'"):
        call(emulator, mode, "translate", "Hi", target_lang="fr", source_lang="klingon")
    assert emulator.request_count() == 0


@both
@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ("", "text is empty"),
        ("   ", "text is empty"),
        (["fine", ""], r"text\[1\] is empty"),
        (["fine", 3], r"text\[1\] must be a str"),
        (b"bytes", "must be a str or a list of str"),
        (None, "must be a str or a list of str"),
    ],
)
def test_empty_or_non_text_input_fails_before_any_request(
    emulator: EmulatorServer, mode: str, texts: object, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        call(emulator, mode, "translate", texts, target_lang="fr")
    assert emulator.request_count() == 0


@both
def test_with_the_batch_api_several_texts_go_as_one_job_and_come_back_in_input_order(
    emulator: EmulatorServer, mode: str
) -> None:
    texts = [f"sentence {i}" for i in range(5)]
    emulator.configure(batch_shuffle=True)  # the job answers in reverse order
    with track_usage() as meter:
        out = call(
            emulator, mode, "translate", texts, target_lang="es", poll=FAST, use_batch_api=True
        )
    assert out == [f"[es] sentence {i}" for i in range(5)]
    submit = emulator.requests(model=M2M)[0]
    assert submit.query == {"queueRequest": ["true"]}
    assert [item["text"] for item in submit.body["requests"]] == texts
    assert meter.snapshot()[M2M].calls == 5  # each text counted once, the polls not at all


@both
def test_by_default_each_text_is_one_request_in_order(emulator: EmulatorServer, mode: str) -> None:
    with track_usage() as meter:
        out = call(emulator, mode, "translate", ["a", "b"], target_lang="de")
    assert out == ["[de] a", "[de] b"]
    assert [r.body["text"] for r in emulator.requests(model=M2M)] == ["a", "b"]
    assert meter.snapshot()[M2M].calls == 2


@both
def test_a_list_of_one_text_is_one_plain_request(emulator: EmulatorServer, mode: str) -> None:
    assert call(emulator, mode, "translate", ["solo"], target_lang="it") == ["[it] solo"]
    assert emulator.request_count() == 1 and emulator.last_request().query == {}
    assert call(emulator, mode, "translate", [], target_lang="it") == []
    assert emulator.request_count() == 1


@both
def test_a_failed_text_of_a_batch_raises_naming_the_job(
    emulator: EmulatorServer, mode: str
) -> None:
    emulator.configure(batch_failed_items=[1])
    with pytest.raises(BatchJobError, match="1 of 3 inputs") as info:
        call(
            emulator, mode, "translate", ["a", "b", "c"], target_lang="fr", poll=FAST,
            use_batch_api=True,
        )  # fmt: skip
    assert info.value.request_id and [f.id for f in info.value.failures] == [1]


@both
def test_a_batch_still_pending_at_the_timeout_raises(emulator: EmulatorServer, mode: str) -> None:
    emulator.configure(batch_pending_polls=1000)
    quick = BatchPollPolicy(interval=0.001, multiplier=1.0, max_interval=0.001, timeout=0.05)
    with pytest.raises(BatchJobError, match="still") as info:
        call(
            emulator, mode, "translate", ["a", "b"], target_lang="fr", poll=quick,
            use_batch_api=True,
        )  # fmt: skip
    assert info.value.request_id


# --- text classification ---------------------------------------------------------------------


@both
def test_text_classification_answers_typed_labels_best_first(
    emulator: EmulatorServer, mode: str
) -> None:
    with track_usage() as meter:
        labels = call(emulator, mode, "classify_text", "I love this wonderful, great film")
    assert all(isinstance(label, Label) for label in labels)
    assert [label.label for label in labels] == ["POSITIVE", "NEGATIVE"]
    assert labels[0].score > labels[1].score and abs(sum(lb.score for lb in labels) - 1) < 1e-6
    assert emulator.last_request(model=SST2).body == {"text": "I love this wonderful, great film"}
    assert meter.snapshot()[SST2].calls == 1


@both
def test_the_reranker_is_refused_naming_the_class_that_takes_it(
    emulator: EmulatorServer, mode: str
) -> None:
    with pytest.raises(InvalidRequestError, match="Reranker") as info:
        call(emulator, mode, "classify_text", "hi", model="@cf/baai/bge-reranker-base")
    assert SST2 in str(info.value)
    with pytest.raises(InvalidRequestError, match="Translation model"):
        call(emulator, mode, "classify_text", "hi", model=M2M)
    with pytest.raises(ModelIdError):
        call(emulator, mode, "classify_text", "hi", model="@cf/bad model")
    with pytest.raises(InvalidRequestError, match="text is empty"):
        call(emulator, mode, "classify_text", " ")
    assert emulator.request_count() == 0


# --- summarisation ---------------------------------------------------------------------------


@both
def test_a_summary_is_text_within_max_length(emulator: EmulatorServer, mode: str) -> None:
    article = "The cat sat on the mat. It was warm. " * 10
    with track_usage() as meter:
        summary = call(emulator, mode, "summarize", article, max_length=4)
    assert isinstance(summary, str) and summary and len(summary.split()) <= 4
    assert emulator.last_request(model=BART).body == {"input_text": article, "max_length": 4}
    assert meter.snapshot()[BART].calls == 1
    call(emulator, mode, "summarize", article)
    assert "max_length" not in emulator.last_request(model=BART).body


@both
@pytest.mark.parametrize("max_length", [0, -3, True, 2.5, "10"])
def test_a_bad_max_length_fails_before_any_request(
    emulator: EmulatorServer, mode: str, max_length: object
) -> None:
    with pytest.raises(InvalidRequestError, match="max_length"):
        call(emulator, mode, "summarize", "Some text.", max_length=max_length)
    with pytest.raises(InvalidRequestError, match="Text Generation model"):
        call(emulator, mode, "summarize", "Some text.", model="@cf/meta/llama-3.1-8b-instruct")
    assert emulator.request_count() == 0


@both
def test_an_unknown_model_is_sent_as_given(emulator: EmulatorServer, mode: str) -> None:
    from workers_ai.errors import APIStatusError

    with pytest.raises(APIStatusError):  # the service decides: the emulator knows no such model
        call(emulator, mode, "translate", "Hi", target_lang="xx-any", model="@cf/acme/translator")
    assert emulator.last_request().body["target_lang"] == "xx-any"


# --- the language table (no requests) ---------------------------------------------------------


def test_the_language_table_is_m2m100s_hundred_languages() -> None:
    assert len(LANGUAGES) == 100 and LANGUAGES["el"] == "Greek" and LANGUAGES["zh"] == "Chinese"
    aliases = {"Flemish": "nl", "valencian": "ca", "Occitan": "oc", "Farsi": "fa", "CEB": "ceb"}
    assert {name: resolve_language(name) for name in aliases} == aliases
