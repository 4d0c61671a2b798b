"""Mistakes a type checker must catch in user code: the wheel's types are real, not Any."""

from __future__ import annotations

from langchain_workers_ai import WorkersAIEmbeddings
from workers_ai import WorkersAIClient

client = WorkersAIClient(max_retries="2")  # expect-error: arg-type
tokens: int = client.chat("@cf/x", {}).result.text  # expect-error: assignment
print(client.chat("@cf/x", {}).result.answer)  # expect-error: attr-defined
WorkersAIEmbeddings().embed_query(42)  # expect-error: arg-type
