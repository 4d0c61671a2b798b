"""LangChain integrations for Cloudflare Workers AI."""

from langchain_workers_ai.chat_models import ChatWorkersAI
from langchain_workers_ai.embeddings import WorkersAIEmbeddings
from langchain_workers_ai.rerankers import WorkersAIReranker

__all__ = ["ChatWorkersAI", "WorkersAIEmbeddings", "WorkersAIReranker"]
