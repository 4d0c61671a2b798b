"""LlamaIndex integrations for Cloudflare Workers AI."""

from llama_index_workers_ai.embeddings import WorkersAIEmbedding
from llama_index_workers_ai.llms import WorkersAI
from llama_index_workers_ai.postprocessors import WorkersAIRerank

__all__ = ["WorkersAI", "WorkersAIEmbedding", "WorkersAIRerank"]
