"""LlamaIndex integrations for Cloudflare Workers AI (the ``llama-index`` extra)."""

from workers_ai._distribution import __version__, framework_imports

with framework_imports("llama_index_workers_ai", "llama-index", "llama-index-core", "llama_index"):
    from llama_index_workers_ai.embeddings import WorkersAIEmbedding
    from llama_index_workers_ai.feedback import (
        asend_response_feedback,
        response_log_id,
        send_response_feedback,
    )
    from llama_index_workers_ai.llms import WorkersAI
    from llama_index_workers_ai.postprocessors import WorkersAIRerank
    from llama_index_workers_ai.query_engines import WorkersAISearchQueryEngine
    from llama_index_workers_ai.readers import WorkersAIMarkdownReader, WorkersAIWhisperReader
    from llama_index_workers_ai.retrievers import WorkersAISearchRetriever
    from llama_index_workers_ai.tools import WorkersAIToolSpec
    from llama_index_workers_ai.usage import WorkersAIUsageHandler, track_workers_ai_usage
    from llama_index_workers_ai.vector_stores import WorkersAIVectorizeStore

__all__ = [
    "WorkersAI",
    "WorkersAIEmbedding",
    "WorkersAIMarkdownReader",
    "WorkersAIRerank",
    "WorkersAISearchQueryEngine",
    "WorkersAISearchRetriever",
    "WorkersAIToolSpec",
    "WorkersAIUsageHandler",
    "WorkersAIVectorizeStore",
    "WorkersAIWhisperReader",
    "__version__",
    "asend_response_feedback",
    "response_log_id",
    "send_response_feedback",
    "track_workers_ai_usage",
]
