"""``WorkersAIRerank``: a LlamaIndex node postprocessor on Workers AI rerankers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from llama_index_workers_ai._connection import WorkersAIConnection, model_field
from workers_ai.errors import ConfigurationError

# The engine (and the catalog and client under it) is loaded when an object is built.
if TYPE_CHECKING:
    from workers_ai.rerank import Reranker, RerankResult
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    Reranker = Any  # without loading the module behind it

__all__ = [
    "WorkersAIRerank",
]

dispatcher = get_dispatcher(__name__)


class WorkersAIRerank(WorkersAIConnection, BaseNodePostprocessor):
    """Rerank retrieved nodes with ``@cf/baai/bge-reranker-base`` (or bge-m3's query mode).

    Scores (0..1, best first) replace the nodes' scores; the retrieval score is kept in
    ``metadata["retrieval_score"]`` when ``keep_retrieval_score=True``. Long candidate lists
    are split into requests and merged.

    Example:
        .. code-block:: python

            engine = index.as_query_engine(
                similarity_top_k=10, node_postprocessors=[WorkersAIRerank(top_n=3)]
            )
    """

    model: str = model_field("reranker", "Reranker model id (alias model_name).")
    """Reranker model id (alias ``model_name``): ``@cf/baai/bge-reranker-base`` (default) or
    ``@cf/baai/bge-m3``."""
    top_n: int = Field(default=2, description="Nodes to return.")
    """How many nodes to return, best first."""
    keep_retrieval_score: bool = Field(
        default=False, description="Keep the retrieval score in metadata."
    )
    """Keep the retriever's score in ``metadata["retrieval_score"]``."""

    _reranker: Reranker = PrivateAttr()

    def _after_init(self) -> None:
        """Check the model against the catalog and resolve the settings (no I/O)."""
        from workers_ai.rerank import Reranker, rerank_spec

        if self.top_n < 1:
            raise ConfigurationError(f"top_n={self.top_n}: use 1 or more")
        self._check_model(self.model, "reranker")
        spec = rerank_spec(self.model, max_retries=self.max_retries)
        self._reranker = Reranker(spec, self._resolve_settings())

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIRerank"

    def _texts(self, nodes: list[NodeWithScore]) -> list[str]:
        return [n.node.get_content(metadata_mode=MetadataMode.EMBED) or " " for n in nodes]

    def _apply(
        self, nodes: list[NodeWithScore], results: list[RerankResult]
    ) -> list[NodeWithScore]:
        out = []
        for result in results:
            node = nodes[result.index]
            if self.keep_retrieval_score:
                node.node.metadata["retrieval_score"] = node.score
            out.append(NodeWithScore(node=node.node, score=result.score))
        return out

    def _start(self, nodes: list[NodeWithScore], query: QueryBundle | None) -> QueryBundle:
        if query is None:
            raise ValueError("WorkersAIRerank needs the query (a QueryBundle or query_str).")
        dispatcher.event(
            ReRankStartEvent(query=query, nodes=nodes, top_n=self.top_n, model_name=self.model)
        )
        return query

    def _payload(self, nodes: list[NodeWithScore], query: QueryBundle) -> dict[Any, Any]:
        return {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self.model,
            EventPayload.QUERY_STR: query.query_str,
            EventPayload.TOP_K: self.top_n,
        }

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        if not nodes:
            dispatcher.event(ReRankEndEvent(nodes=[]))
            return []
        with self.callback_manager.event(
            CBEventType.RERANKING, payload=self._payload(nodes, query)
        ) as event:
            results = self._reranker.rerank(query.query_str, self._texts(nodes), top_n=self.top_n)
            reranked = self._apply(nodes, results)
            event.on_end(payload={EventPayload.NODES: reranked})
        dispatcher.event(ReRankEndEvent(nodes=reranked))
        return reranked

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        if not nodes:
            dispatcher.event(ReRankEndEvent(nodes=[]))
            return []
        with self.callback_manager.event(
            CBEventType.RERANKING, payload=self._payload(nodes, query)
        ) as event:
            texts = self._texts(nodes)
            results = await self._reranker.arerank(query.query_str, texts, top_n=self.top_n)
            reranked = self._apply(nodes, results)
            event.on_end(payload={EventPayload.NODES: reranked})
        dispatcher.event(ReRankEndEvent(nodes=reranked))
        return reranked
