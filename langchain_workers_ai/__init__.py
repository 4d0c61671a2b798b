"""LangChain integrations for Cloudflare Workers AI."""

from langchain_workers_ai.chat_models import ChatWorkersAI

__all__ = ["ChatWorkersAI"]
