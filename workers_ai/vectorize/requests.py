"""What the sync and async Vectorize clients share: their calls and their cached index facts.

No I/O: :class:`IndexRequests` builds each request (checked) and reads each answer; the client
classes only send and await. It also remembers what it learnt of its index (dimensions,
metadata indexes) so that writes and filtered queries are checked before they are sent.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from workers_ai.errors import (
    APIStatusError,
    InvalidRequestError,
    MutationTimeoutError,
    WorkersAIError,
)
from workers_ai.validators import quote_segment
from workers_ai.vectorize import wire
from workers_ai.vectorize.mutations import MutationWait, accepted_at, check_timeout
from workers_ai.vectorize.types import Effect, IndexInfo, MetadataIndex, Mutation, Vector

if TYPE_CHECKING:
    from workers_ai._base_client import BaseClient, _Call
    from workers_ai.responses import APIResponse

__all__ = [
    "INDEXES_ROUTE",
    "IndexRequests",
    "create_index_call",
    "dimensions_of_model",
    "effect_ids",
    "list_indexes_call",
    "note_partial_write",
    "reflects",
    "reflects_indexes",
    "resolve_dimensions",
    "same_config",
    "write_effect",
]

INDEXES_ROUTE = "/accounts/{account_id}/vectorize/v2/indexes"
_INDEX_ROUTE = INDEXES_ROUTE + "/{index_name}"
_INDEX_TYPES = ("string", "number", "boolean")


def dimensions_of_model(model: str) -> int:
    """An embedding model's vector size, from the catalog (for ``create_index(model=...)``)."""
    from workers_ai import catalog

    info = catalog.get(model)
    if info.dimensions is None:
        raise InvalidRequestError(
            f"{model} has no known embedding size in the catalog (is it an embedding model?); "
            "pass dimensions=... instead"
        )
    return info.dimensions


def resolve_dimensions(dimensions: int | None, model: str | None, preset: str | None) -> int | None:
    """``dimensions``, else the embedding ``model``'s (without a preset)."""
    if model is not None and dimensions is None and preset is None:
        return dimensions_of_model(model)
    return dimensions


def create_index_call(
    client: BaseClient,
    name: str,
    *,
    dimensions: int | None,
    metric: str,
    description: str | None,
    preset: str | None,
) -> _Call:
    body = wire.create_index_body(name, dimensions, metric, description, preset)
    url = client.settings.account_url("vectorize/v2/indexes")
    return client._call("POST", url, INDEXES_ROUTE, body=body, service="vectorize")


def list_indexes_call(client: BaseClient) -> _Call:
    url = client.settings.account_url("vectorize/v2/indexes")
    return client._call("GET", url, INDEXES_ROUTE, service="vectorize")


def same_config(found: IndexInfo, dimensions: int | None, metric: str, preset: str | None) -> None:
    """For ``exist_ok``: the existing index must be the one asked for."""
    if preset is not None and found.preset not in (None, preset):
        raise InvalidRequestError(f"index {found.name!r} exists with preset {found.preset!r}")
    wanted = (dimensions, metric) if preset is None else (found.dimensions, found.metric)
    if (found.dimensions, found.metric) != wanted and found.dimensions is not None:
        raise InvalidRequestError(
            f"index {found.name!r} exists with {found.dimensions} dimensions and metric "
            f"{found.metric!r}, not the {dimensions} / {metric!r} asked for: use another name, "
            "or delete it first"
        )


class IndexRequests:
    """The calls of one index, and what is known about it (dimensions, metadata indexes).

    Attributes:
        name: The index name (checked).
        mutation_timeout: Default seconds a ``wait=True`` write waits for its mutation.
        dimensions: The index's vector size, once known.
        indexed: Its metadata indexes (property -> lowercase type), once listed.
    """

    def __init__(self, client: BaseClient, name: str, mutation_timeout: float) -> None:
        self.client = client
        self.name = wire.check_index_name(name)
        self.mutation_timeout = check_timeout(mutation_timeout)
        self.dimensions: int | None = None
        self.metric: str | None = None
        self.indexed: dict[str, str] | None = None

    def call(
        self,
        method: str,
        op: str = "",
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        raw: bytes | None = None,
    ) -> _Call:
        path = f"vectorize/v2/indexes/{quote_segment(self.name)}" + (f"/{op}" if op else "")
        url = self.client.settings.account_url(path)
        route = _INDEX_ROUTE + (f"/{op}" if op else "")
        content_type = "application/x-ndjson" if raw is not None else None
        return self.client._call(
            method, url, route, body=body, params=params, raw=raw, content_type=content_type,
            service="vectorize",
        )  # fmt: skip

    # -- what is known of the index ---------------------------------------------------------
    def learn_index(self, info: IndexInfo) -> IndexInfo:
        if info.dimensions is not None:
            self.dimensions = info.dimensions
        if info.metric is not None:
            self.metric = info.metric
        return info

    def learn_metadata_indexes(self, items: list[MetadataIndex]) -> list[MetadataIndex]:
        self.indexed = {item.property_name: item.index_type for item in items}
        return items

    def needs_metadata_indexes(self, filter: Mapping[str, Any] | None, check: bool) -> bool:
        """Whether to (re)list the metadata indexes before this filtered query."""
        if filter is None or not check or not isinstance(filter, Mapping):
            return False
        return self.indexed is None or any(key not in self.indexed for key in filter)

    # -- calls --------------------------------------------------------------------------------
    def write_calls(
        self, op: str, vectors: Sequence[Vector | Mapping[str, Any]], batch_size: int
    ) -> tuple[list[_Call], list[tuple[int, int]], Effect]:
        """``insert``/``upsert`` requests for ``vectors`` (all checked first), their ranges,
        and what the last one changes (read back by waits)."""
        lines = wire.encode_vectors(vectors, self.dimensions)
        if not lines:
            raise InvalidRequestError(f"{op}: no vectors to write")
        ranges = wire.plan_batches(lines, batch_size)
        calls = [self.call("POST", op, raw=b"".join(lines[a:b])) for a, b in ranges]
        return calls, ranges, write_effect(op, lines[ranges[-1][0] :])

    def query_call(
        self,
        vector: Sequence[float],
        *,
        top_k: int,
        return_values: bool,
        return_metadata: object,
        filter: Mapping[str, Any] | None,
        namespace: str | None,
        check_filter_fields: bool,
    ) -> _Call:
        body = wire.query_body(
            vector, top_k=top_k, return_values=return_values, return_metadata=return_metadata,
            filter=filter, namespace=namespace, dimensions=self.dimensions,
            indexed=self.indexed if check_filter_fields else None,
        )  # fmt: skip
        return self.call("POST", "query", body=body)

    def ids_calls(self, op: str, ids: object, size: int) -> tuple[list[str], list[_Call]]:
        checked = wire.check_ids(ids)
        chunks = [checked[i : i + size] for i in range(0, len(checked), size)]
        return checked, [self.call("POST", op, body={"ids": chunk}) for chunk in chunks]

    def list_call(self, count: int, cursor: str | None) -> _Call:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise InvalidRequestError(
                f"count must be from 1 to {wire.LIST_PAGE_MAX}, got {count!r}"
            )
        params: dict[str, Any] = {"count": count}
        if cursor is not None:
            if not isinstance(cursor, str) or not cursor:
                raise InvalidRequestError(f"cursor must be a page's next_cursor, got {cursor!r}")
            params["cursor"] = cursor
        return self.call("GET", "list", params=params)

    def metadata_index_call(self, action: str, property_name: object, index_type: object) -> _Call:
        if not isinstance(property_name, str) or not property_name:
            raise InvalidRequestError(
                f"property_name must be a non-empty string, got {property_name!r}"
            )
        body: dict[str, Any] = {"propertyName": property_name}
        if action == "create":
            if index_type not in _INDEX_TYPES:
                raise InvalidRequestError(
                    f"index_type must be one of {', '.join(_INDEX_TYPES)}, got {index_type!r}"
                )
            known = self.indexed or {}
            if property_name not in known and len(known) >= wire.MAX_METADATA_INDEXES:
                raise InvalidRequestError(
                    f"index {self.name!r} has {len(known)} metadata indexes, Vectorize's limit; "
                    "delete one first"
                )
            body["indexType"] = index_type
        return self.call("POST", f"metadata_index/{action}", body=body)

    def missing_metadata_indexes(self, wanted: Mapping[str, str]) -> list[tuple[str, str]]:
        """The metadata indexes of ``wanted`` (property -> type) the index lacks, in order.

        Raises:
            InvalidRequestError: A property is indexed with another type (re-indexing it would
                leave the vectors already written unfilterable: delete it first on purpose),
                or the index would pass Vectorize's 10 metadata indexes (nothing is created).
        """
        known = self.indexed or {}
        new = [name for name in wanted if name not in known]
        if len(known) + len(new) > wire.MAX_METADATA_INDEXES:
            raise InvalidRequestError(
                f"index {self.name!r} has {len(known)} metadata indexes and {len(new)} more "
                f"were asked for ({', '.join(map(repr, new))}); Vectorize allows "
                f"{wire.MAX_METADATA_INDEXES}: index fewer properties"
            )
        todo = []
        for name, index_type in wanted.items():
            have = known.get(name)
            if have is None:
                todo.append((name, index_type))
            elif have.lower() != str(index_type).lower():
                raise InvalidRequestError(
                    f"index {self.name!r} has a {have.lower()} metadata index on {name!r}, not "
                    f"{index_type}: delete it (delete_metadata_index) or use its type"
                )
        return todo

    @staticmethod
    def made_meanwhile(
        error: Exception, name: str, index_type: str, indexes: Sequence[MetadataIndex]
    ) -> None:
        """After a create of metadata index ``name`` failed: fine if it exists now with that
        type (another writer, or our own retried request, made it); else raise ``error``."""
        if not any(
            m.property_name == name and m.index_type.lower() == index_type.lower() for m in indexes
        ):
            raise error

    @staticmethod
    def next_listing_delay(waiter: MutationWait, error: APIStatusError, elapsed: float) -> float:
        """The wait before listing again after a refused create: only a refusal that can mean
        "exists" (4xx) waits, bounded by the mutation timeout; else ``error`` is raised."""
        if error.status_code >= 500 or error.status_code < 400:
            raise error
        try:
            return waiter.next_delay(elapsed)
        except MutationTimeoutError:
            raise error from None

    def probe_vector(self) -> list[float]:
        """A query vector for a filter-only search (the filter applies before ``top_k``)."""
        assert self.dimensions is not None
        return [1.0] + [0.0] * (self.dimensions - 1)

    def delete_round(self, matched: Sequence[str], deleted: set[str]) -> list[str]:
        """The ids to delete this round of :meth:`delete_matching`; raises if the index keeps
        answering ids already deleted (their deletion not applied within the wait)."""
        fresh = [i for i in matched if i not in deleted]
        if matched and not fresh:
            raise WorkersAIError(
                f"index {self.name!r} still returns {len(matched)} deleted vectors for the "
                "filter; Vectorize has not applied their deletion yet: try again later"
            )
        return fresh

    # -- answers ------------------------------------------------------------------------------
    @staticmethod
    def mutation(
        responses: Sequence[APIResponse], count: int, effect: Effect | None = None
    ) -> Mutation:
        ids = tuple(wire.parse_mutation(r.data).id for r in responses)
        when = accepted_at(responses[-1].meta.headers.get("date"))
        return Mutation(ids[-1], count, ids, when, effect)

    @staticmethod
    def ordered(ids: Sequence[str], found: Sequence[Vector]) -> list[Vector]:
        """``get_by_ids``' vectors in the order asked for (ids not stored are left out)."""
        by_id = {v.id: v for v in found}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


# -- read-back of a write's effect (when the index's info cannot tell it was applied) ---------
def write_effect(op: str, lines: Sequence[bytes]) -> Effect:
    """What the write's last batch (its NDJSON ``lines``, as sent) changes: ids present
    (insert keeps an existing vector, so only presence is ours to see) or vectors as sent
    (upsert). The lines are kept, not read: only a wait that must look reads them."""
    return Effect("written" if op == "upsert" else "present", lines=lines)


def effect_ids(effect: Effect) -> tuple[str, ...]:
    """The ids to read back for ``effect``."""
    return effect.ids or tuple(json.loads(line)["id"] for line in effect.lines)


def reflects(effect: Effect, found: Sequence[Vector]) -> bool:
    """Whether vectors read back (``get_by_ids`` of :func:`effect_ids`) show it applied."""
    by_id = {v.id: v for v in found}
    if effect.kind == "absent":
        return not by_id
    if effect.kind == "present":
        return set(effect_ids(effect)) <= set(by_id)
    for sent in map(json.loads, effect.lines):
        got = by_id.get(sent["id"])
        if got is None or got.namespace != sent.get("namespace"):
            return False
        if dict(got.metadata) != sent.get("metadata", {}):
            return False
        if array("f", got.values) != array("f", sent["values"]):
            return False
    return True


def reflects_indexes(effect: Effect, indexes: Sequence[MetadataIndex]) -> bool:
    present = any(m.property_name == effect.property for m in indexes)
    return present if effect.kind == "indexed" else not present


def note_partial_write(error: WorkersAIError, done: int, total: int, op: str) -> None:
    """Tell the user what a write that failed part-way had already sent."""
    if done and hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(
            f"{done} of {total} vectors were sent by {op} before this failed; writing them "
            "again with upsert (same ids) is safe"
        )
