"""Bulk ingest into Vectorize: embed many texts and store them, with progress and resume.

:func:`ingest` (and :func:`aingest`) take the texts in chunks: each chunk is embedded through
the caller's embedding function (for Workers AI, the :class:`~workers_ai.embedder.Embedder`
engine: batching, adaptive concurrency, rate-limit slow-down, order kept) and upserted in
Vectorize batches. Ids are the caller's or derived from the content (:func:`document_id`),
so running the same ingest again never duplicates a document; with ``skip_existing`` it also
skips what is already stored unchanged, without embedding it again -- which is how a run that
failed part-way resumes: call it again with the same arguments. A failure raises
:class:`IngestError` saying how far it got.

Everything about the documents is checked before the first request: ids, metadata keys and
types, and each document's stored metadata (text included) against Vectorize's 10 KiB.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers_ai.errors import InvalidRequestError, WorkersAIError
from workers_ai.vectorize import wire
from workers_ai.vectorize.types import Mutation, Vector

if TYPE_CHECKING:
    from workers_ai.vectorize.client import AsyncVectorizeIndex, VectorizeIndex

__all__ = [
    "IngestError",
    "IngestProgress",
    "IngestResult",
    "aingest",
    "document_id",
    "ingest",
    "plan_documents",
]

logger = logging.getLogger("workers_ai")

DEFAULT_CHUNK = 1000


def document_id(
    text: str, metadata: Mapping[str, Any] | None = None, namespace: str | None = None
) -> str:
    """A deterministic id for a document: SHA-256 of its text, metadata and namespace (64 hex
    chars, the id limit), so ingesting the same document twice writes one vector. Ids are
    unique across an index, so the same document in two namespaces gets two ids.

    Raises:
        InvalidRequestError: A metadata value JSON cannot hold (a date, a set...).
    """
    parts: list[Any] = [text, dict(metadata or {})]
    if namespace is not None:
        parts.append({"namespace": namespace})
    try:
        canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        wire.check_metadata(metadata, "document")  # names the key and what is wrong
        raise InvalidRequestError(f"document metadata cannot be stored: {error}") from error
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IngestProgress:
    """Reported after each chunk: ``done`` of ``total`` documents handled (``skipped`` of them
    were stored unchanged already), ``chunk`` of ``chunks``."""

    done: int
    total: int
    skipped: int
    chunk: int
    chunks: int


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: every document's ``ids`` in input order, how many were ``written``
    (embedded and upserted) or ``skipped``, and the last write's ``mutation`` (``None`` if
    nothing was written)."""

    ids: list[str]
    written: int
    skipped: int
    mutation: Mutation | None


class IngestError(WorkersAIError):
    """An ingest stopped part-way; the cause is chained (``__cause__``).

    Attributes:
        done: Documents handled (stored or skipped) before the failure, in input order.
        total: Documents in the ingest.
        ids: Every document's id (the same on the next run).
    """

    def __init__(self, message: str, *, done: int, total: int, ids: list[str]) -> None:
        super().__init__(message)
        self.done = done
        self.total = total
        self.ids = ids


@dataclass(frozen=True)
class _Plan:
    ids: list[str]
    metadatas: list[dict[str, Any]]


def plan_documents(
    texts: Sequence[str],
    *,
    ids: Sequence[str | None] | None,
    metadatas: Sequence[Mapping[str, Any] | None] | None,
    text_key: str | None,
    namespace: str | None = None,
) -> _Plan:
    """Ids and stored metadata of every document, all checked before any request; a missing
    id (``ids`` ``None``, or ``None`` in it) is :func:`document_id`'s."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidRequestError("texts must be a list of strings")
    for name, values in (("ids", ids), ("metadatas", metadatas)):
        if values is not None and len(values) != len(texts):
            raise InvalidRequestError(
                f"{name} has {len(values)} items for {len(texts)} texts; give one per text"
            )
    out_ids: list[str] = []
    out_meta: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidRequestError(f"texts[{i}] is a {type(text).__name__}, not a string")
        meta = wire.check_metadata(metadatas[i] if metadatas is not None else None, f"document {i}")
        given = ids[i] if ids is not None else None
        doc_id = given if given is not None else document_id(text, meta, namespace)
        if text_key is not None:
            if text_key in meta:
                raise InvalidRequestError(
                    f"texts[{i}]: metadata has a {text_key!r} key, where the text is stored; "
                    "rename it or pass another text_key"
                )
            meta[text_key] = text
        where = f"document {i} (id {doc_id!r})"
        out_meta.append(wire.check_metadata(meta, where))
        out_ids.append(doc_id)
    wire.check_ids(out_ids)
    duplicates = len(out_ids) - len(set(out_ids))
    if duplicates:
        raise InvalidRequestError(
            f"{duplicates} documents share an id with another (same text and metadata, or "
            "repeated ids); a write keeps one vector per id: remove the repeats"
        )
    return _Plan(out_ids, out_meta)


def _unchanged(
    stored: Sequence[Vector], plan: _Plan, start: int, end: int, namespace: str | None
) -> set[int]:
    """Positions (in the plan) whose stored vector has the metadata we would write, in the
    namespace we would write it to (an id stored in another namespace is moved by the write)."""
    by_id = {v.id: dict(v.metadata) for v in stored if v.namespace == namespace}
    return {i for i in range(start, end) if by_id.get(plan.ids[i]) == plan.metadatas[i]}


def _vectors(
    plan: _Plan, todo: list[int], values: list[list[float]], namespace: str | None
) -> list[Vector]:
    if len(values) != len(todo):
        raise InvalidRequestError(
            f"the embed function returned {len(values)} vectors for {len(todo)} texts; it "
            "must return one per text, in order"
        )
    return [
        Vector(plan.ids[i], vector, plan.metadatas[i], namespace)
        for i, vector in zip(todo, values, strict=True)
    ]


@dataclass
class _Run:
    """An ingest's bookkeeping (no I/O): which documents a chunk must write, and what is done.

    A chunk counts as done once its write was accepted; progress is reported then, in order.
    """

    plan: _Plan
    chunks: list[tuple[int, int]]
    namespace: str | None
    on_progress: Callable[[IngestProgress], None] | None
    written: int = 0
    skipped: int = 0
    done: int = 0
    mutation: Mutation | None = None

    def select(self, found: Sequence[Vector], start: int, end: int) -> tuple[list[int], int]:
        """The positions to embed and write (those not stored unchanged), and how many are."""
        same = _unchanged(found, self.plan, start, end, self.namespace)
        return [i for i in range(start, end) if i not in same], len(same)

    def settle(self, step: _Step, mutation: Mutation | None) -> None:
        self.written += step.written
        self.skipped += step.skipped
        self.done = step.end
        self.mutation = mutation or self.mutation
        if self.on_progress is not None:
            total = len(self.plan.ids)
            self.on_progress(
                IngestProgress(step.end, total, self.skipped, step.number, len(self.chunks))
            )

    def failure(self, error: BaseException) -> IngestError:
        plan, done = self.plan, self.done
        return IngestError(
            f"ingest stopped after {done:,} of {len(plan.ids):,} documents: {error}. Run the "
            "same ingest again to resume: stored documents are found and skipped "
            "(skip_existing=True), and ids do not change, so nothing is stored twice",
            done=done,
            total=len(plan.ids),
            ids=plan.ids,
        )

    def result(self) -> IngestResult:
        return IngestResult(self.plan.ids, self.written, self.skipped, self.mutation)


@dataclass(frozen=True)
class _Step:
    """One chunk in flight: its number, end, and how many documents it writes and skips."""

    number: int
    end: int
    written: int
    skipped: int


def _can_skip(skip_existing: bool, ids: Sequence[str] | None, text_key: str | None) -> bool:
    """Whether "stored unchanged" can be told: with given ids and no stored text, a changed
    text would look unchanged (its metadata is), so every document is written."""
    return skip_existing and not (ids is not None and text_key is None)


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidRequestError(f"chunk_size must be a positive int, got {size!r}")
    return [(a, min(a + size, total)) for a in range(0, total, size)]


def ingest(
    index: VectorizeIndex,
    embed: Callable[[list[str]], list[list[float]]],
    texts: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    metadatas: Sequence[Mapping[str, Any] | None] | None = None,
    namespace: str | None = None,
    text_key: str | None = "text",
    chunk_size: int = DEFAULT_CHUNK,
    skip_existing: bool = True,
    wait: bool = True,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> IngestResult:
    """Embed ``texts`` with ``embed`` and upsert them into ``index``, chunk by chunk.

    Args:
        embed: Texts to vectors, in order (``Embedder.embed_documents``, or a framework's
            ``embed_documents``).
        ids: One id per text; default :func:`document_id` of text, metadata and namespace.
        metadatas: One mapping (or ``None``) per text.
        text_key: Metadata key the text is stored under (``None``: not stored).
        chunk_size: Documents embedded and written per step (progress is reported per step).
        skip_existing: Skip documents stored already with the same metadata (and text): a
            re-run resumes without embedding them again. Off when ids are given and the
            text is not stored (``text_key=None``): a changed text could not be seen.
        wait: Return once Vectorize has applied the last write (and, when a chunk fails,
            wait for what was written before raising, so that a re-run finds it).
        on_progress: Called after every chunk.

    Raises:
        InvalidRequestError: A document is unusable (before any request).
        IngestError: A request failed for good part-way (``done`` says how far it got).
    """
    wire.check_namespace(namespace)
    plan = plan_documents(
        texts, ids=ids, metadatas=metadatas, text_key=text_key, namespace=namespace
    )
    run = _Run(plan, _chunks(len(plan.ids), chunk_size), namespace, on_progress)
    skip_existing = _can_skip(skip_existing, ids, text_key)
    if skip_existing and len(run.chunks) > 1:  # an empty index has nothing to skip: ask once
        skip_existing = index.stats().vector_count > 0
    # A chunk's write goes out in the background while the next chunk is embedded.
    writing: _Writing | None = None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            for number, (start, end) in enumerate(run.chunks, 1):
                found = index.get_by_ids(plan.ids[start:end]) if skip_existing else []
                todo, same = run.select(found, start, end)
                values = embed([texts[i] for i in todo]) if todo else []
                batch = _vectors(plan, todo, values, namespace)
                pending, writing = writing, None
                _settle(run, pending)
                future = pool.submit(index.upsert, batch) if batch else None
                writing = (_Step(number, end, len(todo), same), future)
            pending, writing = writing, None
            _settle(run, pending)
        except Exception as error:  # any embedder's failure: resumable all the same
            with contextlib.suppress(Exception):  # let the last write finish, and be found
                _settle(run, writing)
                if wait and run.mutation is not None:
                    index.wait_for_mutation(run.mutation)
            if isinstance(error, InvalidRequestError):
                raise  # the embedder answered wrongly: a re-run would not help
            raise run.failure(error) from error
    if wait and run.mutation is not None:
        index.wait_for_mutation(run.mutation)
    return run.result()


_Writing = tuple[_Step, "concurrent.futures.Future[Mutation] | None"]
_AWriting = tuple[_Step, "asyncio.Task[Mutation] | None"]


def _settle(run: _Run, writing: _Writing | None) -> None:
    """Count a chunk done once its write was accepted (waiting for it if need be)."""
    if writing is not None:
        step, future = writing
        run.settle(step, future.result() if future else None)


async def _asettle(run: _Run, writing: _AWriting | None) -> None:
    if writing is not None:
        step, task = writing
        run.settle(step, await task if task else None)


async def aingest(
    index: AsyncVectorizeIndex,
    embed: Callable[[list[str]], Awaitable[list[list[float]]]],
    texts: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    metadatas: Sequence[Mapping[str, Any] | None] | None = None,
    namespace: str | None = None,
    text_key: str | None = "text",
    chunk_size: int = DEFAULT_CHUNK,
    skip_existing: bool = True,
    wait: bool = True,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> IngestResult:
    """Async :func:`ingest` (``embed`` is awaited)."""
    wire.check_namespace(namespace)
    plan = plan_documents(
        texts, ids=ids, metadatas=metadatas, text_key=text_key, namespace=namespace
    )
    run = _Run(plan, _chunks(len(plan.ids), chunk_size), namespace, on_progress)
    skip_existing = _can_skip(skip_existing, ids, text_key)
    if skip_existing and len(run.chunks) > 1:
        skip_existing = (await index.stats()).vector_count > 0
    writing: _AWriting | None = None
    try:
        for number, (start, end) in enumerate(run.chunks, 1):
            found = await index.get_by_ids(plan.ids[start:end]) if skip_existing else []
            todo, same = run.select(found, start, end)
            values = await embed([texts[i] for i in todo]) if todo else []
            batch = _vectors(plan, todo, values, namespace)
            pending, writing = writing, None
            await _asettle(run, pending)
            task = asyncio.create_task(index.upsert(batch)) if batch else None
            writing = (_Step(number, end, len(todo), same), task)
        pending, writing = writing, None
        await _asettle(run, pending)
    except Exception as error:  # any embedder's failure: resumable all the same
        with contextlib.suppress(Exception):  # let the last write finish, and be found
            pending, writing = writing, None
            await _asettle(run, pending)
            if wait and run.mutation is not None:
                await index.wait_for_mutation(run.mutation)
        if isinstance(error, InvalidRequestError):
            raise
        raise run.failure(error) from error
    finally:  # cancelled: the write in flight is abandoned too (a re-run finds what landed)
        if writing is not None and writing[1] is not None and not writing[1].done():
            writing[1].cancel()
    if wait and run.mutation is not None:
        await index.wait_for_mutation(run.mutation)
    return run.result()
