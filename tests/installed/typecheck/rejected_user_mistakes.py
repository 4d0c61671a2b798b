"""Mistakes a type checker must catch in user code: the wheel's types are real, not Any."""

from __future__ import annotations

from langchain_workers_ai import (
    ChatWorkersAI,
    WorkersAIEmbeddings,
    WorkersAIReranker,
    WorkersAIVectorize,
    get_workers_ai_callback,
)
from llama_index_workers_ai import (
    WorkersAI,
    WorkersAIEmbedding,
    WorkersAIRerank,
    WorkersAIUsageHandler,
    WorkersAIVectorizeStore,
)
from workers_ai import WorkersAIClient

client = WorkersAIClient(max_retries="2")  # expect-error: arg-type
tokens: int = client.chat("@cf/x", {}).result.text  # expect-error: assignment
print(client.chat("@cf/x", {}).result.answer)  # expect-error: attr-defined
WorkersAIEmbeddings().embed_query(42)  # expect-error: arg-type

# Misspelt constructor arguments (run time raises UnknownArgumentError too).
ChatWorkersAI(modle="@cf/x")  # expect-error: call-arg
ChatWorkersAI(temprature=0.2)  # expect-error: call-arg
ChatWorkersAI(max_tokens="many")  # expect-error: arg-type
WorkersAIEmbeddings(modle="@cf/baai/bge-m3")  # expect-error: call-arg
WorkersAIReranker(top_k=3)  # expect-error: call-arg
WorkersAI(temprature=0.3)  # expect-error: call-arg
WorkersAIEmbedding(model_nmae="@cf/baai/bge-m3")  # expect-error: call-arg
WorkersAIRerank(topn=2)  # expect-error: call-arg

# Budgets: misspelt or mistyped limits.
get_workers_ai_callback(max_neuron=5)  # expect-error: call-arg
get_workers_ai_callback(max_usd="0.10")  # expect-error: arg-type
WorkersAIUsageHandler(unpriced="deny")  # expect-error: arg-type
ChatWorkersAI(use_batch_api="yes")  # expect-error: arg-type

# Vectorize: misspelt store options and wrong literal values.
WorkersAIVectorize(embedding=WorkersAIEmbeddings(), index_nmae="docs")  # expect-error: call-arg
WorkersAIVectorizeStore(index_name="docs", metric="l2")  # expect-error: arg-type
client.vectorize.index("docs").query([0.1], return_metadata=True)  # expect-error: arg-type
client.vectorize.create_index("docs", metric="cos")  # expect-error: arg-type

# AI Search: misspelt fields.
from langchain_workers_ai import WorkersAISearchRetriever  # noqa: E402

WorkersAISearchRetriever(instanse="docs")  # expect-error: call-arg
WorkersAISearchRetriever(instance="docs", k="3")  # expect-error: arg-type
