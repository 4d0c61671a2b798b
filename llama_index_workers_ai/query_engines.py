"""A LlamaIndex query engine answered by Cloudflare AI Search itself (issue #22): the service
retrieves and generates in one request; :class:`WorkersAISearchQueryEngine` gives its answer as
a LlamaIndex ``Response`` with the chunks it used as ``source_nodes``.

Responses:

- ``query`` / ``aquery``: ``Response(response=answer, source_nodes=[...])``; with
  ``streaming=True``, ``StreamingResponse`` (``aquery``: ``AsyncStreamingResponse``) whose
  ``source_nodes`` are known before the first token on the AI Search routes (they stream the
  sources first); a legacy AutoRAG streams no sources, so there they stay empty.
- ``metadata``: each source node's metadata under its id (as LlamaIndex's synthesizers give
  it), and ``model``, ``search_query`` (the query searched with, where the service says it),
  ``finish_reason`` and ``usage`` (``prompt_tokens``, ``completion_tokens``,
  ``total_tokens``); a stream fills these in once it has been read to the end.

Usage also reaches the core's usage hook (``WorkersAIUsageHandler``, budgets) as for any chat
call. To generate with your own LLM instead, use ``WorkersAISearchRetriever`` in a
``RetrieverQueryEngine``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import (
    RESPONSE_TYPE,
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeWithScore, QueryBundle

from llama_index_workers_ai.retrievers import AISearchFields, chunks_to_nodes
from workers_ai.errors import ConfigurationError

if TYPE_CHECKING:
    from workers_ai.ai_search import (
        AnswerDelta,
        AnswerStream,
        AsyncAnswerStream,
        SearchAnswer,
    )

__all__ = ["WorkersAISearchQueryEngine"]


# -- answers -> responses (pure) ----------------------------------------------------------------
def _answer_metadata(answer: SearchAnswer) -> dict[str, Any]:
    from llama_index_workers_ai._convert import usage_to_kwargs  # loads the catalog: not on import

    return {
        "model": answer.model,
        "search_query": answer.query,
        "finish_reason": answer.finish_reason,
        "usage": usage_to_kwargs(answer.usage) or None,
    }


def _nodes_metadata(nodes: list[NodeWithScore]) -> dict[str, Any]:
    return {n.node.node_id: n.node.metadata for n in nodes}


def answer_to_response(answer: SearchAnswer) -> Response:
    """A service answer as a LlamaIndex ``Response`` (module docs)."""
    nodes = chunks_to_nodes(answer.chunks)
    metadata = {**_nodes_metadata(nodes), **_answer_metadata(answer)}
    return Response(response=answer.text, source_nodes=nodes, metadata=metadata)


class _Streamed:
    """A streamed answer as it is read (pure): the source nodes once their delta has come (the
    same list the response holds), and the response's metadata, filled in at the end."""

    def __init__(self) -> None:
        self.nodes: list[NodeWithScore] = []
        self.metadata: dict[str, Any] = {}
        self.has_sources = False

    def feed(self, delta: AnswerDelta) -> str:
        """The delta's text, after taking its sources (the first chunks delta only)."""
        if delta.chunks is not None and not self.has_sources:
            self.has_sources = True
            self.nodes.extend(chunks_to_nodes(delta.chunks))
            self.metadata.update(_nodes_metadata(self.nodes))
        return delta.text

    def head_done(self, text: str) -> bool:
        """Whether to stop reading ahead: the sources have come, or the text has started."""
        return self.has_sources or bool(text)

    def finish(self, answer: SearchAnswer) -> None:
        self.metadata.update(_answer_metadata(answer))


def _tokens(
    head: list[str], deltas: Iterator[AnswerDelta], stream: AnswerStream, state: _Streamed
) -> Generator[str, None, None]:
    """The answer's text pieces: those read ahead, then the rest; the stream closed after."""
    try:
        yield from head
        for delta in deltas:
            text = state.feed(delta)
            if text:
                yield text
    finally:
        stream.close()
    state.finish(stream.answer)


async def _atokens(
    head: list[str],
    deltas: AsyncIterator[AnswerDelta],
    stream: AsyncAnswerStream,
    state: _Streamed,
) -> AsyncGenerator[str, None]:
    """The async twin of :func:`_tokens`."""
    try:
        for text in head:
            yield text
        async for delta in deltas:
            text = state.feed(delta)
            if text:
                yield text
    finally:
        await stream.aclose()
    state.finish(stream.answer)


class WorkersAISearchQueryEngine(AISearchFields, BaseQueryEngine):
    """Answer queries with Cloudflare AI Search's own generation (retrieval and answer in one
    request), the chunks used as ``source_nodes`` (module docs: responses, metadata, streams).

    Target, search options and filters are those of ``WorkersAISearchRetriever`` and checked
    the same way when built; ``model`` and ``system_prompt`` override the instance's own.
    ``query``/``aquery`` are instrumented as LlamaIndex's engines are (dispatcher span and
    query events, callback ``QUERY`` event); ``retrieve`` searches with the same settings.

    Example:
        .. code-block:: python

            from llama_index_workers_ai import WorkersAISearchQueryEngine

            engine = WorkersAISearchQueryEngine(instance="docs", similarity_top_k=5)
            response = engine.query("How do I rotate a token?")
            print(response, [n.node.metadata["filename"] for n in response.source_nodes])

            streaming = WorkersAISearchQueryEngine(instance="docs", streaming=True)
            answer = streaming.query("How do I rotate a token?")
            print(answer.source_nodes)  # before the first token
            answer.print_response_stream()
    """

    model: str | None = Field(default=None)
    """The generation model (``@cf/meta/llama-3.3-70b-instruct-fp8-fast``, an AI Gateway
    model such as ``openai/gpt-5-mini``...); ``None``: the instance's setting."""
    system_prompt: str | None = Field(default=None)
    """The system prompt of the answer; ``None``: the instance's setting."""
    streaming: bool = Field(default=False)
    """Return ``StreamingResponse`` / ``AsyncStreamingResponse`` (module docs)."""

    def _after_init(self) -> None:
        for name in ("model", "system_prompt"):
            if name in self.search_options:
                raise ConfigurationError(f"search_options[{name!r}]: pass {name}= instead")
        super()._after_init()
        self._checked_options(self._answer_options(), generate=True)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAISearchQueryEngine"

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _answer_options(self) -> dict[str, Any]:
        given = {"model": self.model, "system_prompt": self.system_prompt}
        return {**self._options, **{k: v for k, v in given.items() if v is not None}}

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The chunks a search with the engine's settings finds (no answer generated)."""
        return self._search_nodes(self._target().search(query_bundle.query_str, **self._options))

    def _stream(self, query: str) -> StreamingResponse:
        target = self._target()
        stream = target.stream_answer(query, **self._answer_options())
        deltas, state, head = iter(stream), _Streamed(), []
        try:
            if not target.legacy:  # the sources come first: read up to them
                for delta in deltas:
                    text = state.feed(delta)
                    head += [text] if text else []
                    if state.head_done(text):
                        break
        except BaseException:
            stream.close()
            raise
        gen = _tokens(head, deltas, stream, state)
        return StreamingResponse(
            response_gen=gen, source_nodes=state.nodes, metadata=state.metadata
        )

    async def _astream(self, query: str) -> AsyncStreamingResponse:
        target = self._atarget()
        stream = await target.stream_answer(query, **self._answer_options())
        deltas, state, head = stream.__aiter__(), _Streamed(), []
        try:
            if not target.legacy:
                async for delta in deltas:
                    text = state.feed(delta)
                    head += [text] if text else []
                    if state.head_done(text):
                        break
        except BaseException:
            await stream.aclose()
            raise
        gen = _atokens(head, deltas, stream, state)
        return AsyncStreamingResponse(
            response_gen=gen, source_nodes=state.nodes, metadata=state.metadata
        )

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        query = query_bundle.query_str
        with self.callback_manager.event(
            CBEventType.QUERY, payload={EventPayload.QUERY_STR: query}
        ) as event:
            response: RESPONSE_TYPE
            if self.streaming:
                response = self._stream(query)
            else:
                response = answer_to_response(
                    self._target().answer(query, **self._answer_options())
                )
            event.on_end(payload={EventPayload.RESPONSE: response})
        return response

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        query = query_bundle.query_str
        with self.callback_manager.event(
            CBEventType.QUERY, payload={EventPayload.QUERY_STR: query}
        ) as event:
            response: RESPONSE_TYPE
            if self.streaming:
                response = await self._astream(query)
            else:
                answer = await self._atarget().answer(query, **self._answer_options())
                response = answer_to_response(answer)
            event.on_end(payload={EventPayload.RESPONSE: response})
        return response
