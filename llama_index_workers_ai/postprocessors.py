"""``WorkersAIRerank``: a LlamaIndex node postprocessor on Workers AI rerankers."""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr, SecretStr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from llama_index_workers_ai._connection import connection_defaults, settings_from
from workers_ai import catalog
from workers_ai.rerank import Reranker, RerankResult, rerank_spec

dispatcher = get_dispatcher(__name__)


class WorkersAIRerank(BaseNodePostprocessor):
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

    model: str = Field(default_factory=catalog.default_reranker_model, description="Model id.")
    top_n: int = Field(default=2, description="Nodes to return.")
    keep_retrieval_score: bool = Field(default=False)
    account_id: str | None = Field(default=None)
    api_token: SecretStr | None = Field(default=None, exclude=True)
    base_url: str | None = Field(default=None)
    gateway_id: str | None = Field(default=None)
    gateway_options: dict[str, Any] = Field(default_factory=dict)
    gateway_token: SecretStr | None = Field(default=None, exclude=True)
    timeout: float | None = Field(default=None)
    max_retries: int = Field(default=2)

    _reranker: Reranker = PrivateAttr()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**connection_defaults(kwargs))
        if self.top_n < 1:
            raise ValueError(f"top_n={self.top_n}: use 1 or more")
        spec = rerank_spec(self.model, max_retries=self.max_retries)
        self._reranker = Reranker(spec, settings_from(self))

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
