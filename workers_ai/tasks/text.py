"""Text tasks (spec §8): translation (m2m100), text classification (distilbert-sst-2) and
summarisation (bart-large-cnn).

Each task is a pure body builder and a pure reader, and two thin senders:
``translate(client, ...)`` / ``atranslate(aclient, ...)``, ``classify_text`` /
``aclassify_text``, ``summarize`` / ``asummarize``. Inputs are checked before any request
(empty text, a language m2m100 does not know, a model of another task); each ``run`` reports
its usage to :mod:`workers_ai.usage` through the client.

Several texts go one request each by default, in order (fast: an agent's tool call cannot
wait for a queue). ``use_batch_api=True`` sends them through the model's ``requests: [...]``
form instead, which Workers AI serves as an async batch job (spec §8, §10; workerd's types:
"Batch of the ... requests to run using async-queue"): one job is queued, polled
(:data:`TRANSLATION_POLL`) and its answers put back in input order by their ``id``; each text
is then reported to the usage hook as one call -- for bulk work that can wait.

Example:
    >>> from workers_ai import WorkersAIClient
    >>> from workers_ai.tasks.text import translate
    >>> with WorkersAIClient() as client:  # doctest: +SKIP
    ...     translate(client, "Good morning", target_lang="French")
    'Bonjour'
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers_ai import catalog
from workers_ai.batch_api import (
    QUEUE_PARAMS,
    BatchJobError,
    BatchStatus,
    ordered_results,
    parse_status,
    parse_submit,
    split_into_jobs,
    submit_job,
    wait_for_job,
)
from workers_ai.budget import worst_case
from workers_ai.embeddings import BatchPollPolicy
from workers_ai.errors import APIResponseValidationError, InvalidRequestError
from workers_ai.tasks.media import Label
from workers_ai.types import Usage
from workers_ai.usage import UsageRecord, listening, report_usage, reserve
from workers_ai.validators import validate_model_id

if TYPE_CHECKING:
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient

__all__ = [
    "DEFAULT_CLASSIFICATION_MODEL",
    "DEFAULT_SUMMARIZATION_MODEL",
    "DEFAULT_TRANSLATION_MODEL",
    "LANGUAGES",
    "TRANSLATION_POLL",
    "Label",
    "TranslationPlan",
    "aclassify_text",
    "asummarize",
    "atranslate",
    "classification_body",
    "classify_text",
    "plan_translation",
    "read_labels",
    "read_summary",
    "read_translation",
    "resolve_language",
    "summarization_body",
    "summarize",
    "translate",
]

DEFAULT_TRANSLATION_MODEL = "@cf/meta/m2m100-1.2b"
DEFAULT_CLASSIFICATION_MODEL = "@cf/huggingface/distilbert-sst-2-int8"
DEFAULT_SUMMARIZATION_MODEL = "@cf/facebook/bart-large-cnn"
TRANSLATION = "Translation"
SUMMARIZATION = "Summarization"

#: How a batch of translations is polled: a job of a few texts is usually done within
#: seconds; ``timeout`` raises :class:`~workers_ai.batch_api.BatchJobError` (with the job's
#: request id) rather than wait for ever.
TRANSLATION_POLL = BatchPollPolicy(interval=0.5, multiplier=1.5, max_interval=10.0, timeout=600.0)

# --- Languages -------------------------------------------------------------------------------

#: The 100 languages of m2m100 as its model card lists them ("Languages covered",
#: https://huggingface.co/facebook/m2m100_1.2B): ISO 639 code and English name; a ``;``
#: separates the card's alternative names. The card's "Greeek" is spelled Greek here.
_M2M100_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("af", "Afrikaans"), ("am", "Amharic"), ("ar", "Arabic"), ("ast", "Asturian"),
    ("az", "Azerbaijani"), ("ba", "Bashkir"), ("be", "Belarusian"), ("bg", "Bulgarian"),
    ("bn", "Bengali"), ("br", "Breton"), ("bs", "Bosnian"), ("ca", "Catalan; Valencian"),
    ("ceb", "Cebuano"), ("cs", "Czech"), ("cy", "Welsh"), ("da", "Danish"), ("de", "German"),
    ("el", "Greek"), ("en", "English"), ("es", "Spanish"), ("et", "Estonian"),
    ("fa", "Persian"), ("ff", "Fulah"), ("fi", "Finnish"), ("fr", "French"),
    ("fy", "Western Frisian"), ("ga", "Irish"), ("gd", "Gaelic; Scottish Gaelic"),
    ("gl", "Galician"), ("gu", "Gujarati"), ("ha", "Hausa"), ("he", "Hebrew"), ("hi", "Hindi"),
    ("hr", "Croatian"), ("ht", "Haitian; Haitian Creole"), ("hu", "Hungarian"),
    ("hy", "Armenian"), ("id", "Indonesian"), ("ig", "Igbo"), ("ilo", "Iloko"),
    ("is", "Icelandic"), ("it", "Italian"), ("ja", "Japanese"), ("jv", "Javanese"),
    ("ka", "Georgian"), ("kk", "Kazakh"), ("km", "Central Khmer"), ("kn", "Kannada"),
    ("ko", "Korean"), ("lb", "Luxembourgish; Letzeburgesch"), ("lg", "Ganda"),
    ("ln", "Lingala"), ("lo", "Lao"), ("lt", "Lithuanian"), ("lv", "Latvian"),
    ("mg", "Malagasy"), ("mk", "Macedonian"), ("ml", "Malayalam"), ("mn", "Mongolian"),
    ("mr", "Marathi"), ("ms", "Malay"), ("my", "Burmese"), ("ne", "Nepali"),
    ("nl", "Dutch; Flemish"), ("no", "Norwegian"), ("ns", "Northern Sotho"),
    ("oc", "Occitan (post 1500)"), ("or", "Oriya"), ("pa", "Panjabi; Punjabi"),
    ("pl", "Polish"), ("ps", "Pushto; Pashto"), ("pt", "Portuguese"),
    ("ro", "Romanian; Moldavian; Moldovan"), ("ru", "Russian"), ("sd", "Sindhi"),
    ("si", "Sinhala; Sinhalese"), ("sk", "Slovak"), ("sl", "Slovenian"), ("so", "Somali"),
    ("sq", "Albanian"), ("sr", "Serbian"), ("ss", "Swati"), ("su", "Sundanese"),
    ("sv", "Swedish"), ("sw", "Swahili"), ("ta", "Tamil"), ("th", "Thai"), ("tl", "Tagalog"),
    ("tn", "Tswana"), ("tr", "Turkish"), ("uk", "Ukrainian"), ("ur", "Urdu"), ("uz", "Uzbek"),
    ("vi", "Vietnamese"), ("wo", "Wolof"), ("xh", "Xhosa"), ("yi", "Yiddish"),
    ("yo", "Yoruba"), ("zh", "Chinese"), ("zu", "Zulu"),
)  # fmt: skip

#: Other common English names of the same languages (not on the card).
_ALIASES = {"farsi": "fa", "khmer": "km", "frisian": "fy", "occitan": "oc", "filipino": "tl"}

#: m2m100's languages: ISO 639 code -> English name (the card's first name).
LANGUAGES: Mapping[str, str] = {code: names.split(";")[0] for code, names in _M2M100_LANGUAGES}


def _name_index() -> dict[str, str]:
    index = dict(_ALIASES)
    for code, names in _M2M100_LANGUAGES:
        for name in names.split(";"):
            clean = re.sub(r"\s*\(.*\)", "", name).strip().lower()
            index[clean] = code
    return index


_BY_NAME = _name_index()


def resolve_language(value: object, *, what: str = "target_lang") -> str:
    """The m2m100 code of a language given as a code or an English name, any case
    (``"fr"``, ``"FR"``, ``"French"``, ``"french"`` -> ``"fr"``).

    Raises:
        InvalidRequestError: Not a string, or not one of m2m100's languages (with a
            did-you-mean).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{what} must be a language code or name such as 'fr'")
    key = value.strip().lower()
    if key in LANGUAGES:
        return key
    if key in _BY_NAME:
        return _BY_NAME[key]
    raise InvalidRequestError(
        f"{what} {value!r} is not a language {DEFAULT_TRANSLATION_MODEL} translates."
        f"{_suggest(key)} It takes ISO 639 codes or English names of its "
        f"{len(LANGUAGES)} languages (workers_ai.tasks.text.LANGUAGES)"
    )


def _suggest(key: str) -> str:
    base = re.split(r"[-_ ]", key, maxsplit=1)[0]
    if base in LANGUAGES:  # a regional tag: pt-BR, zh_CN
        return f" Did you mean {base!r} ({LANGUAGES[base]})?"
    close = difflib.get_close_matches(key, [*LANGUAGES, *_BY_NAME], n=3, cutoff=0.7)
    codes = list(dict.fromkeys(c if c in LANGUAGES else _BY_NAME[c] for c in close))
    if not codes:
        return ""
    return " Did you mean " + " or ".join(f"{c!r} ({LANGUAGES[c]})" for c in codes) + "?"


# --- Shared checks ---------------------------------------------------------------------------


def _check_text(text: object, what: str = "text") -> str:
    if not isinstance(text, str):
        raise InvalidRequestError(f"{what} must be a str, not {type(text).__name__}")
    if not text.strip():
        raise InvalidRequestError(f"{what} is empty")
    return text


def _check_model(model: object, task: str) -> str:
    """``model`` if it may do ``task``: a catalog model of another task is refused (an unknown
    model is let through: the service decides)."""
    model_id = validate_model_id(model)
    info = catalog.get(model_id)
    if info.reranker and task == catalog.TEXT_CLASSIFICATION:
        raise InvalidRequestError(
            f"{model_id} is a reranker (a query and documents -> relevance scores), not a text "
            "classifier: use workers_ai.rerank.Reranker (LangChain: WorkersAIReranker, "
            f"LlamaIndex: WorkersAIRerank); classify_text takes {_models_of(task)}"
        )
    if info.known and info.task != task:
        raise InvalidRequestError(
            f"{model_id} is a {info.task} model, not {task}; use {_models_of(task)}"
        )
    return model_id


def _models_of(task: str) -> str:
    found = [m.id for m in catalog.models(task) if not m.reranker and not m.deprecated]
    return " or ".join(found) or f"a {task} model"


def _answer_field(data: Any, key: str, what: str) -> str:
    """``data[key]`` as a string (a batch item may nest the answer under ``result``)."""
    if isinstance(data, Mapping) and key not in data and isinstance(data.get("result"), Mapping):
        data = data["result"]
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, str):
        raise APIResponseValidationError(
            f"the {what} answer has no {key!r} string", body=repr(data)[:300]
        )
    return value


# --- Translation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TranslationPlan:
    """What :func:`translate` sends (pure; from :func:`plan_translation`).

    Attributes:
        model: The model.
        items: One body per text (``text``, ``source_lang``, ``target_lang``), in input order.
        single: A single string was given: answer a single string.
        batch: Send the items as an async batch job (``requests: [...]``).
    """

    model: str
    items: tuple[dict[str, str], ...]
    single: bool
    batch: bool


def translation_body(
    text: str, *, target_lang: str, source_lang: str = "en", model: str = DEFAULT_TRANSLATION_MODEL
) -> dict[str, str]:
    """The ``/ai/run`` body of one translation, languages resolved to codes for m2m100.

    Raises:
        InvalidRequestError: Empty text, or a language the model does not know.
    """
    body = {"text": _check_text(text)}
    if model == DEFAULT_TRANSLATION_MODEL:
        body["source_lang"] = resolve_language(source_lang, what="source_lang")
        body["target_lang"] = resolve_language(target_lang, what="target_lang")
    else:  # another translation model: its languages are not known here
        body["source_lang"] = _check_text(source_lang, "source_lang").strip()
        body["target_lang"] = _check_text(target_lang, "target_lang").strip()
    return body


def plan_translation(
    text: str | Sequence[str],
    *,
    target_lang: str,
    source_lang: str = "en",
    model: str = DEFAULT_TRANSLATION_MODEL,
    use_batch_api: bool | None = None,
) -> TranslationPlan:
    """Check a translation call and decide how to send it (no I/O).

    Args:
        text: One text, or several.
        target_lang: Code or English name of the language to translate into.
        source_lang: Code or name of the texts' language.
        model: A Translation model.
        use_batch_api: ``True``: several texts go as one async batch job (the model must take
            batches: catalog ``async_queue``), for bulk work that can wait; ``False``/``None``
            (default): one request each, in order.

    Raises:
        InvalidRequestError: A text that is empty or not a string, an unknown language, a
            model of another task, or ``use_batch_api=True`` for a model without batches.
    """
    model_id = _check_model(model, TRANSLATION)
    given: object = text
    single = isinstance(given, str)
    texts: Sequence[object]
    if isinstance(given, str):
        texts = [given]
    elif isinstance(given, Sequence) and not isinstance(given, (bytes, bytearray)):
        texts = given
    else:
        raise InvalidRequestError(
            f"text must be a str or a list of str, not {type(given).__name__}"
        )
    items = tuple(
        translation_body(
            _check_text(t, "text" if single else f"text[{i}]"),
            target_lang=target_lang,
            source_lang=source_lang,
            model=model_id,
        )
        for i, t in enumerate(texts)
    )
    queues = catalog.get(model_id).async_queue
    if use_batch_api and not queues:
        raise InvalidRequestError(f"{model_id} does not take async batches: use_batch_api=False")
    batch = not single and len(items) > 1 and bool(use_batch_api)
    return TranslationPlan(model_id, items, single, bool(batch))


def read_translation(data: Any) -> str:
    """The ``translated_text`` of an answer.

    Raises:
        APIResponseValidationError: It has none.
    """
    return _answer_field(data, "translated_text", "translation")


def _reserve_batch(plan: TranslationPlan) -> None:
    """Refuse a job a listening budget has no room for (reserving nothing: each text is
    counted when the job is collected)."""
    hold = reserve(lambda: [worst_case(plan.model, item, chat=False) for item in plan.items])
    if hold is not None:
        hold.release()


def _read_job(model: str, job: Sequence[Mapping[str, Any]], status: BatchStatus) -> list[str]:
    """A finished job's translations in input order; each text reported as one call (its
    input tokens estimated, as for a single call: the answers report no usage per text).

    Raises:
        BatchJobError: Some texts failed, or the answer's ids do not match the inputs.
    """
    texts = [read_translation(result) for result in ordered_results(status, len(job))]
    if listening():
        for item in job:
            tokens = worst_case(model, item, chat=False).input_tokens
            usage = Usage(input_tokens=tokens, total_tokens=tokens)
            report_usage(UsageRecord(model, TRANSLATION, usage))
    return texts


def _wait_sync(
    client: WorkersAIClient, model: str, request_id: str, policy: BatchPollPolicy
) -> BatchStatus:
    """:func:`workers_ai.batch_api.wait_for_job`, blocking (the same waits and deadline)."""
    start = time.monotonic()
    polls = 0
    while True:
        wait = policy.delay(polls)
        if policy.timeout is not None:
            wait = min(wait, max(policy.timeout - (time.monotonic() - start), 0.0))
        time.sleep(wait)
        polls += 1
        data = client.run(model, {"request_id": request_id}, params=QUEUE_PARAMS)
        status = parse_status(data, request_id)
        if status.done:
            return status
        if policy.timeout is not None and time.monotonic() - start >= policy.timeout:
            raise BatchJobError(
                f"batch job {request_id} is still {status.status} after {policy.timeout:g} s",
                request_id=request_id,
            )


def translate(
    client: WorkersAIClient,
    text: str | Sequence[str],
    *,
    target_lang: str,
    source_lang: str = "en",
    model: str = DEFAULT_TRANSLATION_MODEL,
    use_batch_api: bool | None = None,
    poll: BatchPollPolicy = TRANSLATION_POLL,
) -> str | list[str]:
    """Translate one text (-> ``str``) or several (-> ``list[str]``, in input order).

    Args:
        client: The client.
        text: A text, or a list of texts.
        target_lang: Language code or English name (``"fr"``, ``"French"``).
        source_lang: The texts' language (default English).
        model: A Translation model.
        use_batch_api: See :func:`plan_translation`.
        poll: How a batch job is polled.

    Raises:
        InvalidRequestError: Bad input (before any request).
        BatchJobError: A text of a batch failed, or the job is still pending at
            ``poll.timeout``.
    """
    plan = plan_translation(
        text, target_lang=target_lang, source_lang=source_lang, model=model,
        use_batch_api=use_batch_api,
    )  # fmt: skip
    if plan.single:
        return read_translation(client.run(plan.model, plan.items[0]))
    if not plan.batch:
        return [read_translation(client.run(plan.model, item)) for item in plan.items]
    _reserve_batch(plan)
    out: list[str] = []
    for job in split_into_jobs(plan.items):
        request_id = parse_submit(client.run(plan.model, {"requests": job}, params=QUEUE_PARAMS))
        status = _wait_sync(client, plan.model, request_id, poll)
        out.extend(_read_job(plan.model, job, status))
    return out


async def atranslate(
    client: AsyncWorkersAIClient,
    text: str | Sequence[str],
    *,
    target_lang: str,
    source_lang: str = "en",
    model: str = DEFAULT_TRANSLATION_MODEL,
    use_batch_api: bool | None = None,
    poll: BatchPollPolicy = TRANSLATION_POLL,
) -> str | list[str]:
    """:func:`translate` on the async client."""
    plan = plan_translation(
        text, target_lang=target_lang, source_lang=source_lang, model=model,
        use_batch_api=use_batch_api,
    )  # fmt: skip
    if plan.single:
        return read_translation(await client.run(plan.model, plan.items[0]))
    if not plan.batch:
        return [read_translation(await client.run(plan.model, item)) for item in plan.items]
    _reserve_batch(plan)
    out: list[str] = []
    for job in split_into_jobs(plan.items):
        request_id = await submit_job(client.run, plan.model, job)
        status = await wait_for_job(client.run, plan.model, request_id, poll)
        out.extend(_read_job(plan.model, job, status))
    return out


# --- Text classification ---------------------------------------------------------------------


def classification_body(text: str) -> dict[str, str]:
    """The ``/ai/run`` body of a text classification.

    Raises:
        InvalidRequestError: Empty text.
    """
    return {"text": _check_text(text)}


def read_labels(data: Any) -> list[Label]:
    """The answer's labels, best first.

    Raises:
        APIResponseValidationError: Not a list of ``{"label", "score"}``.
    """
    if isinstance(data, Mapping) and isinstance(data.get("result"), list):
        data = data["result"]
    if not isinstance(data, list):
        raise APIResponseValidationError(
            "the classification answer is not a list of labels", body=repr(data)[:300]
        )
    labels: list[Label] = []
    for item in data:
        label = item.get("label") if isinstance(item, Mapping) else None
        score = item.get("score") if isinstance(item, Mapping) else None
        if not isinstance(label, str) or isinstance(score, bool):
            raise APIResponseValidationError("a label without a name", body=repr(item)[:300])
        if not isinstance(score, (int, float)):
            raise APIResponseValidationError("a label without a score", body=repr(item)[:300])
        labels.append(Label(label, float(score)))
    return sorted(labels, key=lambda found: -found.score)


def classify_text(
    client: WorkersAIClient, text: str, *, model: str = DEFAULT_CLASSIFICATION_MODEL
) -> list[Label]:
    """Classify ``text`` (sentiment with the default model): labels, best first.

    Raises:
        InvalidRequestError: Empty text, or the reranker or another task's model.
    """
    body = classification_body(text)
    return read_labels(client.run(_check_model(model, catalog.TEXT_CLASSIFICATION), body))


async def aclassify_text(
    client: AsyncWorkersAIClient, text: str, *, model: str = DEFAULT_CLASSIFICATION_MODEL
) -> list[Label]:
    """:func:`classify_text` on the async client."""
    body = classification_body(text)
    return read_labels(await client.run(_check_model(model, catalog.TEXT_CLASSIFICATION), body))


# --- Summarisation ---------------------------------------------------------------------------


def summarization_body(text: str, *, max_length: int | None = None) -> dict[str, Any]:
    """The ``/ai/run`` body of a summary (``input_text``, ``max_length`` when given).

    Raises:
        InvalidRequestError: Empty text, or ``max_length`` not a whole number >= 1.
    """
    body: dict[str, Any] = {"input_text": _check_text(text)}
    if max_length is not None:
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            raise InvalidRequestError(
                f"max_length must be a whole number of tokens >= 1, not {max_length!r}"
            )
        body["max_length"] = max_length
    return body


def read_summary(data: Any) -> str:
    """The answer's ``summary``.

    Raises:
        APIResponseValidationError: It has none.
    """
    return _answer_field(data, "summary", "summarization")


def summarize(
    client: WorkersAIClient,
    text: str,
    *,
    max_length: int | None = None,
    model: str = DEFAULT_SUMMARIZATION_MODEL,
) -> str:
    """Summarise ``text`` in at most ``max_length`` tokens (``None``: the model's default).

    Raises:
        InvalidRequestError: Empty text, a bad ``max_length``, or another task's model.
    """
    body = summarization_body(text, max_length=max_length)
    return read_summary(client.run(_check_model(model, SUMMARIZATION), body))


async def asummarize(
    client: AsyncWorkersAIClient,
    text: str,
    *,
    max_length: int | None = None,
    model: str = DEFAULT_SUMMARIZATION_MODEL,
) -> str:
    """:func:`summarize` on the async client."""
    body = summarization_body(text, max_length=max_length)
    return read_summary(await client.run(_check_model(model, SUMMARIZATION), body))
