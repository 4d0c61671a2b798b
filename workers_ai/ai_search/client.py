"""AI Search (formerly AutoRAG) over REST (platform spec §3): sync and async, both route families.

``client.ai_search`` (an :class:`AISearch`) gives handles on what can be searched:

- ``.instance(name, namespace=None)``: an AI Search instance (``ai-search/instances/{name}``,
  or ``ai-search/namespaces/{namespace}/instances/{name}`` when a namespace is given);
- ``.instances(namespace, instance_ids)``: several instances of a namespace at once;
- ``.autorag(rag_id)``: a legacy AutoRAG (``autorag/rags/{id}``), deprecated but served.

Each handle has the same three methods: ``search(query, **options)`` (chunks),
``answer(query, **options)`` (a generated answer with its sources) and
``stream_answer(query, **options)`` (the answer as it is generated; sources first on the AI
Search routes). Options are :class:`~workers_ai.ai_search.options.SearchOptions`' fields,
checked before any request and written the way each route family names them. Answers report
their usage to the usage hook (meters, budgets' accounting, framework handlers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from workers_ai.ai_search import wire
from workers_ai.ai_search.options import SearchOptions, instance_body, legacy_body
from workers_ai.ai_search.types import AnswerDelta, SearchAnswer, SearchChunk, SearchResult
from workers_ai.errors import InvalidRequestError
from workers_ai.fallback import Tally
from workers_ai.usage import UsageRecord, report_usage
from workers_ai.validators import quote_segment, validate_path_segment

if TYPE_CHECKING:
    from workers_ai._base_client import BaseClient, _Call
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
    from workers_ai.responses import AsyncEventStream, EventStream
    from workers_ai.types import Usage

__all__ = [
    "AISearch",
    "AISearchTarget",
    "AnswerStream",
    "AsyncAISearch",
    "AsyncAISearchTarget",
    "AsyncAnswerStream",
    "autorag_route",
    "instance_route",
    "namespace_route",
    "target_route",
]

#: The model name usage is reported under when an answer does not say its model.
USAGE_MODEL = "ai-search"
C = TypeVar("C", "WorkersAIClient", "AsyncWorkersAIClient")
Query = str | Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class _Route:
    """Where a target's search and answer go, and which family's body they take."""

    legacy: bool
    search_path: str
    answer_path: str
    search_route: str
    answer_route: str
    label: str
    instance_ids: tuple[str, ...] | None = None


def _name(value: object, what: str) -> str:
    return validate_path_segment(value, what)


def autorag_route(rag_id: str) -> _Route:
    base = f"autorag/rags/{quote_segment(_name(rag_id, 'AutoRAG id'))}"
    template = "/accounts/{account_id}/autorag/rags/{rag_id}"
    return _Route(True, f"{base}/search", f"{base}/ai-search", f"{template}/search",
                  f"{template}/ai-search", f"AutoRAG {rag_id!r}")  # fmt: skip


def instance_route(name: str, namespace: str | None) -> _Route:
    instance = quote_segment(_name(name, "AI Search instance name"))
    if namespace is None:  # the bare path serves namespace "default"
        base, template = (
            f"ai-search/instances/{instance}",
            "/accounts/{account_id}/ai-search/instances/{name}",
        )
    else:
        ns = quote_segment(_name(namespace, "AI Search namespace"))
        base = f"ai-search/namespaces/{ns}/instances/{instance}"
        template = "/accounts/{account_id}/ai-search/namespaces/{namespace}/instances/{name}"
    return _Route(False, f"{base}/search", f"{base}/chat/completions", f"{template}/search",
                  f"{template}/chat/completions", f"AI Search instance {name!r}")  # fmt: skip


def namespace_route(namespace: str, instance_ids: Sequence[str]) -> _Route:
    ns = quote_segment(_name(namespace, "AI Search namespace"))
    if isinstance(instance_ids, str) or not instance_ids:
        raise InvalidRequestError("instance_ids must be a non-empty list of instance names")
    ids = tuple(_name(i, "AI Search instance name") for i in instance_ids)
    base, template = (
        f"ai-search/namespaces/{ns}",
        "/accounts/{account_id}/ai-search/namespaces/{namespace}",
    )
    label = f"AI Search namespace {namespace!r}"
    return _Route(False, f"{base}/search", f"{base}/chat/completions", f"{template}/search",
                  f"{template}/chat/completions", label, ids)  # fmt: skip


#: The namespace every account has (``instance_ids`` without a namespace search there).
DEFAULT_NAMESPACE = "default"


def target_route(
    *,
    instance: str | None = None,
    instance_ids: Sequence[str] | None = None,
    autorag: str | None = None,
    namespace: str | None = None,
) -> _Route:
    """What to search, checked (no I/O): exactly one of an ``instance`` (in ``namespace``),
    several ``instance_ids`` of ``namespace`` (default ``default``), or a legacy ``autorag``.

    Raises:
        InvalidRequestError: naming what to change.
    """
    given = [n for n, v in (("instance", instance), ("instance_ids", instance_ids),
                            ("autorag", autorag)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise InvalidRequestError(
            "search one target: instance= (an AI Search instance name), instance_ids= "
            "(several instances of a namespace) or autorag= (a legacy AutoRAG id); got "
            f"{', '.join(given) or 'none'}"
        )
    if autorag is not None:
        if namespace is not None:
            raise InvalidRequestError("namespace applies to AI Search instances, not autorag")
        return autorag_route(autorag)
    if instance_ids is not None:
        return namespace_route(namespace or DEFAULT_NAMESPACE, instance_ids)
    return instance_route(str(instance), namespace)


def _call(client: BaseClient, route: _Route, query: Query, options: Mapping[str, Any],
          *, generate: bool, stream: bool = False) -> _Call:  # fmt: skip
    opts = SearchOptions.of(options)
    if route.legacy:
        if not isinstance(query, str):
            raise InvalidRequestError("the legacy AutoRAG routes take a query string, not messages")
        body = legacy_body(query, opts, generate=generate, stream=stream)
    else:
        body = instance_body(query, opts, generate=generate, stream=stream,
                             instance_ids=route.instance_ids)  # fmt: skip
    path = route.answer_path if generate else route.search_path
    template = route.answer_route if generate else route.search_route
    url = client.settings.account_url(path)
    return client._call("POST", url, template, body=body, service="ai_search")


def _report(
    answer: SearchAnswer, options: Mapping[str, Any], attempts: int, streamed: bool
) -> None:
    model = answer.model or options.get("model") or USAGE_MODEL
    report_usage(UsageRecord(model, "chat", answer.usage, attempts, streamed))


class _Accumulator:
    """A streamed answer as it arrives (pure): its text, sources, usage and end."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.chunks: tuple[SearchChunk, ...] = ()
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None

    def feed(self, event: Mapping[str, Any]) -> AnswerDelta | None:
        delta = wire.stream_delta(event)
        if delta is None:
            return None
        self.parts.append(delta.text)
        if delta.chunks is not None:
            self.chunks = delta.chunks
        self.usage = delta.usage or self.usage
        self.finish_reason = delta.finish_reason or self.finish_reason
        self.model = delta.model or self.model
        return delta

    def answer(self) -> SearchAnswer:
        return SearchAnswer("".join(self.parts), self.chunks, None, self.model, self.usage,
                            self.finish_reason)  # fmt: skip


class _StreamedAnswer:
    """What both answer streams share: the events, the accumulated answer, the reporting."""

    def __init__(self, options: Mapping[str, Any], tally: Tally) -> None:
        self._options = options
        self._tally = tally
        self._acc = _Accumulator()

    def _finished(self) -> None:
        _report(self._acc.answer(), self._options, self._tally.attempts, True)

    @property
    def answer(self) -> SearchAnswer:
        """The answer so far (all of it once the stream is read to the end)."""
        return self._acc.answer()

    @property
    def chunks(self) -> tuple[SearchChunk, ...]:
        """The sources, once their event has been read."""
        return self._acc.chunks


class AnswerStream(_StreamedAnswer):
    """A streamed answer: iterate it for :class:`AnswerDelta` s (the sources come as a delta
    with ``chunks`` first, on the AI Search routes); then :attr:`answer` is the whole answer.
    Use it as a context manager (or iterate to the end) to release the connection."""

    def __init__(self, events: EventStream, options: Mapping[str, Any], tally: Tally) -> None:
        super().__init__(options, tally)
        self._events = events

    def __iter__(self) -> Iterator[AnswerDelta]:
        with self._events:
            for event in self._events:
                delta = self._acc.feed(event)
                if delta is not None:
                    yield delta
        self._finished()

    def close(self) -> None:
        self._events.close()

    def __enter__(self) -> AnswerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncAnswerStream(_StreamedAnswer):
    """The async twin of :class:`AnswerStream` (``async for``, ``async with``)."""

    def __init__(self, events: AsyncEventStream, options: Mapping[str, Any], tally: Tally) -> None:
        super().__init__(options, tally)
        self._events = events

    async def __aiter__(self) -> AsyncIterator[AnswerDelta]:
        async with self._events:
            async for event in self._events:
                delta = self._acc.feed(event)
                if delta is not None:
                    yield delta
        self._finished()

    async def aclose(self) -> None:
        await self._events.aclose()

    async def __aenter__(self) -> AsyncAnswerStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.aclose()


class _TargetBase(Generic[C]):
    def __init__(self, client: C, route: _Route) -> None:
        self._client: C = client
        self._route = route

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._route.label})"

    @property
    def legacy(self) -> bool:
        """Whether this is a legacy AutoRAG (its own request and result format)."""
        return self._route.legacy


class AISearchTarget(_TargetBase["WorkersAIClient"]):
    """Something to search (an instance, several instances, or a legacy AutoRAG), sync."""

    def search(self, query: Query, **options: Any) -> SearchResult:
        """The chunks most relevant to ``query`` (options: see ``SearchOptions``)."""
        call = _call(self._client, self._route, query, options, generate=False)
        return wire.parse_search(self._client._send(call).data)

    def answer(self, query: Query, **options: Any) -> SearchAnswer:
        """A generated answer to ``query`` (a string, or chat messages on the AI Search
        routes) with the chunks it used."""
        call = _call(self._client, self._route, query, options, generate=True)
        tally = Tally()
        answer = wire.parse_answer(self._client._send(call, tally).data)
        _report(answer, options, tally.attempts, False)
        return answer

    def stream_answer(self, query: Query, **options: Any) -> AnswerStream:
        """The answer as it is generated (the legacy route streams no sources)."""
        call = _call(self._client, self._route, query, options, generate=True, stream=True)
        tally = Tally()
        return AnswerStream(self._client._open_stream(call, tally), options, tally)


class AsyncAISearchTarget(_TargetBase["AsyncWorkersAIClient"]):
    """The async twin of :class:`AISearchTarget`."""

    async def search(self, query: Query, **options: Any) -> SearchResult:
        call = _call(self._client, self._route, query, options, generate=False)
        return wire.parse_search((await self._client._send(call)).data)

    async def answer(self, query: Query, **options: Any) -> SearchAnswer:
        call = _call(self._client, self._route, query, options, generate=True)
        tally = Tally()
        answer = wire.parse_answer((await self._client._send(call, tally)).data)
        _report(answer, options, tally.attempts, False)
        return answer

    async def stream_answer(self, query: Query, **options: Any) -> AsyncAnswerStream:
        call = _call(self._client, self._route, query, options, generate=True, stream=True)
        tally = Tally()
        return AsyncAnswerStream(await self._client._open_stream(call, tally), options, tally)


class AISearch:
    """``client.ai_search``: handles on instances, namespaces and legacy AutoRAGs (no I/O)."""

    def __init__(self, client: WorkersAIClient) -> None:
        self._client = client

    def instance(self, name: str, namespace: str | None = None) -> AISearchTarget:
        return AISearchTarget(self._client, instance_route(name, namespace))

    def instances(self, namespace: str, instance_ids: Sequence[str]) -> AISearchTarget:
        return AISearchTarget(self._client, namespace_route(namespace, instance_ids))

    def autorag(self, rag_id: str) -> AISearchTarget:
        return AISearchTarget(self._client, autorag_route(rag_id))

    def target(self, **which: Any) -> AISearchTarget:
        """The target :func:`target_route` picks (``instance=``, ``instance_ids=``,
        ``autorag=``, ``namespace=``): what framework classes with those fields call."""
        return AISearchTarget(self._client, target_route(**which))


class AsyncAISearch:
    """``async_client.ai_search``: :class:`AISearch` for the async client."""

    def __init__(self, client: AsyncWorkersAIClient) -> None:
        self._client = client

    def instance(self, name: str, namespace: str | None = None) -> AsyncAISearchTarget:
        return AsyncAISearchTarget(self._client, instance_route(name, namespace))

    def instances(self, namespace: str, instance_ids: Sequence[str]) -> AsyncAISearchTarget:
        return AsyncAISearchTarget(self._client, namespace_route(namespace, instance_ids))

    def autorag(self, rag_id: str) -> AsyncAISearchTarget:
        return AsyncAISearchTarget(self._client, autorag_route(rag_id))

    def target(self, **which: Any) -> AsyncAISearchTarget:
        return AsyncAISearchTarget(self._client, target_route(**which))
