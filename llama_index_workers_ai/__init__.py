"""LlamaIndex integrations for Cloudflare Workers AI."""

from llama_index_workers_ai.llms import WorkersAI

__all__ = ["WorkersAI"]
