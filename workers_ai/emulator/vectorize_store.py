"""Vectorize V2 indexes in memory: vectors, metadata indexes and mutations (spec §2.2-§2.8).

Every write (insert, upsert, delete by ids, metadata index create/delete) is a *mutation*: it
is checked and given an id when it arrives, and applied -- in arrival order -- once
``EmulatorConfig.vectorize_mutation_lag_ms`` has passed since then (monotonic clock). Reads
(query, get by ids, list vectors, info, metadata index list) first apply every mutation that
is due, so with a lag of 0 each write is visible at once (the spec's advice for emulators,
§2.8) and with a lag clients see Vectorize's eventual consistency; ``info`` names the last
applied mutation (``processedUpToMutation``) and when it became visible
(``processedUpToDatetime``).

One lock guards all indexes (:meth:`VectorStore.open` holds it while a handler reads or
writes one index).
"""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from workers_ai.emulator.validation import EmulatorError
from workers_ai.emulator.vectorize_filters import Scalar, indexed_value

__all__ = [
    "BAD_BODY",
    "BAD_FILTER",
    "BAD_INDEX_CONFIG",
    "BAD_LIST_REQUEST",
    "BAD_METADATA_INDEX",
    "BAD_QUERY_VECTOR",
    "BAD_VECTOR",
    "DELETED",
    "DUPLICATE_NAME",
    "INDEX_FULL",
    "MAX_NAMESPACES",
    "MAX_VECTORS_PER_INDEX",
    "METADATA_TOO_LARGE",
    "NOT_FOUND",
    "TOO_MANY_INDEXES",
    "TOO_MANY_VECTORS",
    "TOP_K_TOO_HIGH",
    "ListCursor",
    "MetadataIndex",
    "Mutation",
    "StoredVector",
    "VectorIndex",
    "VectorStore",
    "iso_time",
]

#: Vectors per index (§2.9: 20,000,000 since 2026-08-04).
MAX_VECTORS_PER_INDEX = 20_000_000
#: Namespaces per index (§2.9: 50,000 on Workers Paid).
MAX_NAMESPACES = 50_000

# -- error codes ---------------------------------------------------------------------------------
#: Codes the spec gives (§2.10).
NOT_FOUND = 3000
DUPLICATE_NAME = 3002
DELETED = 3005
BAD_QUERY_VECTOR = 40006
TOP_K_TOO_HIGH = 40025
BAD_BODY = 40026
#: The emulator's own codes, where the spec leaves them open ("[?]", §2.10).
BAD_INDEX_CONFIG = 40001
TOO_MANY_INDEXES = 40002
BAD_VECTOR = 40003
TOO_MANY_VECTORS = 40004
METADATA_TOO_LARGE = 40007
BAD_FILTER = 40008
BAD_METADATA_INDEX = 40009
BAD_LIST_REQUEST = 40010
INDEX_FULL = 40011


def iso_time(moment: datetime.datetime | None = None) -> str:
    """``2025-05-13T05:38:04.487284Z``: microseconds and ``Z``, as the verbatim create result
    of §2.2 shows."""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StoredVector:
    """A vector as stored: values as float32 (read back as Python floats).

    ``indexed``: property -> (metadata index generation, value) for each metadata index that
    existed when the vector was written (a later index does not cover it, §2.7).
    """

    id: str
    values: tuple[float, ...]
    namespace: str | None
    metadata: dict[str, Any]
    indexed: dict[str, tuple[int, Scalar]] = field(default_factory=dict)


@dataclass(frozen=True)
class MetadataIndex:
    """A metadata index; ``generation`` tells it apart from an earlier one on the same
    property (vectors indexed by a deleted index are not indexed by its successor)."""

    property: str
    type: str
    generation: int


@dataclass(frozen=True)
class Mutation:
    """An accepted write: ``kind`` is ``insert``, ``upsert``, ``delete``,
    ``create_metadata_index`` or ``delete_metadata_index``."""

    id: str
    kind: str
    payload: Any
    ready_at: float
    ready_on: str


@dataclass
class ListCursor:
    """A page position in a list-vectors snapshot (§2.6: taken at the first call)."""

    ids: tuple[str, ...]
    offset: int
    expires_at: float
    expires_on: str


@dataclass
class VectorIndex:
    """One index: its config, its applied state and its pending mutations."""

    name: str
    description: str | None
    dimensions: int
    metric: str
    created_on: str
    vectors: dict[str, StoredVector] = field(default_factory=dict)
    metadata_indexes: dict[str, MetadataIndex] = field(default_factory=dict)
    #: Metadata indexes once every accepted mutation is applied (to check new requests).
    declared: dict[str, str] = field(default_factory=dict)
    pending: deque[Mutation] = field(default_factory=deque)
    processed_mutation: str | None = None
    processed_on: str | None = None
    cursors: dict[str, ListCursor] = field(default_factory=dict)
    namespaces: Counter[str] = field(default_factory=Counter)
    generation: int = 0

    def describe(self) -> dict[str, Any]:
        """The create/get/list ``result`` object (§2.2)."""
        out: dict[str, Any] = {"created_on": self.created_on, "modified_on": self.created_on}
        out["name"] = self.name
        if self.description is not None:
            out["description"] = self.description
        out["config"] = {"dimensions": self.dimensions, "metric": self.metric}
        return out

    def info(self) -> dict[str, Any]:
        """``GET .../info`` (§2.2): the processed fields once a mutation has been applied."""
        out: dict[str, Any] = {"dimensions": self.dimensions, "vectorCount": len(self.vectors)}
        if self.processed_mutation is not None:
            out["processedUpToDatetime"] = self.processed_on
            out["processedUpToMutation"] = self.processed_mutation
        return out

    # -- mutations -----------------------------------------------------------------------------
    def accept(self, kind: str, payload: Any, now: float, lag_s: float) -> str:
        """Queue a checked write; its mutation id. Due writes (lag 0) apply at once."""
        if kind == "create_metadata_index":
            self.declared[payload[0]] = payload[1]
        elif kind == "delete_metadata_index":
            self.declared.pop(payload, None)
        ready_on = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lag_s)
        mutation = Mutation(str(uuid.uuid4()), kind, payload, now + lag_s, iso_time(ready_on))
        self.pending.append(mutation)
        self.catch_up(now)
        return mutation.id

    def catch_up(self, now: float) -> None:
        """Apply, in order, every pending mutation whose lag has passed."""
        while self.pending and self.pending[0].ready_at <= now:
            mutation = self.pending.popleft()
            self._apply(mutation)
            self.processed_mutation = mutation.id
            self.processed_on = mutation.ready_on

    def _apply(self, mutation: Mutation) -> None:
        kind, payload = mutation.kind, mutation.payload
        if kind in ("insert", "upsert"):
            for vector in payload:
                if kind == "upsert" or vector.id not in self.vectors:
                    self._write(vector)
        elif kind == "delete":
            for vector_id in payload:
                self._remove(vector_id)
        elif kind == "create_metadata_index":
            self.generation += 1
            prop, index_type = payload
            self.metadata_indexes[prop] = MetadataIndex(prop, index_type, self.generation)
        else:
            self.metadata_indexes.pop(payload, None)

    def _write(self, vector: StoredVector) -> None:
        """Store ``vector`` (whole: values and metadata, no merge), indexed by the metadata
        indexes that exist now."""
        self._remove(vector.id)
        indexed = {
            prop: (index.generation, indexed_value(vector.metadata, prop, index.type))
            for prop, index in self.metadata_indexes.items()
        }
        stored = StoredVector(vector.id, vector.values, vector.namespace, vector.metadata, indexed)
        self.vectors[vector.id] = stored
        if vector.namespace is not None:
            self.namespaces[vector.namespace] += 1

    def _remove(self, vector_id: str) -> None:
        old = self.vectors.pop(vector_id, None)
        if old is not None and old.namespace is not None:
            self.namespaces[old.namespace] -= 1
            if not self.namespaces[old.namespace]:
                del self.namespaces[old.namespace]

    def check_capacity(self, vectors: list[StoredVector]) -> None:
        """The vectors-per-index and namespaces-per-index limits (§2.9), counted against the
        applied state plus this request.

        Raises:
            EmulatorError: 400 / :data:`INDEX_FULL`.
        """
        if len(self.vectors) + len(vectors) > MAX_VECTORS_PER_INDEX:
            raise EmulatorError(
                400,
                INDEX_FULL,
                f"index {self.name!r} would hold more than {MAX_VECTORS_PER_INDEX} vectors",
            )
        new = {v.namespace for v in vectors if v.namespace is not None} - set(self.namespaces)
        if len(self.namespaces) + len(new) > MAX_NAMESPACES:
            raise EmulatorError(
                400,
                INDEX_FULL,
                f"index {self.name!r} would have more than {MAX_NAMESPACES} namespaces",
            )


def _not_found(name: str) -> EmulatorError:
    # 3000 was seen with both 400 and 404 (§2.10); 404 is what a REST client expects.
    return EmulatorError(404, NOT_FOUND, f'vectorize.index.not_found - Index name "{name}"')


class VectorStore:
    """The account's indexes (thread-safe); names deleted since the last reset answer 3005."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._indexes: dict[str, VectorIndex] = {}
        self._deleted: set[str] = set()

    def create(self, index: VectorIndex, max_indexes: int) -> dict[str, Any]:
        """Add ``index``; its description.

        Raises:
            EmulatorError: 409 / 3002 for a name in use, 400 / :data:`TOO_MANY_INDEXES` past
                ``max_indexes``.
        """
        with self._lock:
            if index.name in self._indexes:
                raise EmulatorError(
                    409,
                    DUPLICATE_NAME,
                    f'vectorize.index.duplicate_name - Index name "{index.name}"',
                )
            if len(self._indexes) >= max_indexes:
                raise EmulatorError(
                    400,
                    TOO_MANY_INDEXES,
                    f"the account already has {max_indexes} indexes (the limit)",
                )
            self._deleted.discard(index.name)
            self._indexes[index.name] = index
            return index.describe()

    def names(self) -> list[str]:
        """The names of the indexes, oldest first."""
        with self._lock:
            return list(self._indexes)

    def describe_all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [index.describe() for index in self._indexes.values()]

    def delete(self, name: str) -> None:
        """Delete index ``name`` (its name answers 3005 afterwards, until re-created)."""
        with self._lock:
            self._find(name)
            del self._indexes[name]
            self._deleted.add(name)

    @contextmanager
    def open(self, name: str) -> Iterator[VectorIndex]:
        """Index ``name`` with its due mutations applied, the store locked meanwhile.

        Raises:
            EmulatorError: 404 / 3000 for an unknown name, 404 / 3005 for a deleted one.
        """
        with self._lock:
            index = self._find(name)
            index.catch_up(self.clock())
            yield index

    def _find(self, name: str) -> VectorIndex:
        index = self._indexes.get(name)
        if index is not None:
            return index
        if name in self._deleted:  # the spec gives no status for 3005 (§2.10): 404 here
            raise EmulatorError(
                404, DELETED, f'vectorize.index.deleted - Index name "{name}" was deleted'
            )
        raise _not_found(name)

    def clear(self) -> None:
        """Forget every index and every deleted name."""
        with self._lock:
            self._indexes.clear()
            self._deleted.clear()
