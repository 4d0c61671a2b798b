"""langchain-tests ``VectorStoreIntegrationTests`` for WorkersAIVectorize on the emulator.

Each test gets an empty store on a fresh index (created on first use with the suite's
6-dimension embeddings, deleted afterwards). The suite runs twice: with writes applied at
once, and with the emulator's Vectorize mutation lag, where only ``wait_for_mutations``
makes a write visible to the read that follows it (eventual consistency, as in Cloudflare).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from langchain_workers_ai import WorkersAIVectorize
from tests.support.emulator import adapter_kwargs
from workers_ai.emulator import EmulatorServer

LAG_MS = 150


class TestWorkersAIVectorizeStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    async def vectorstore(self, emulator: EmulatorServer) -> AsyncIterator[WorkersAIVectorize]:
        store = WorkersAIVectorize(
            embedding=self.get_embeddings(),
            index_name=f"std-{uuid.uuid4().hex[:12]}",
            create_index=True,
            **adapter_kwargs(emulator),
        )
        try:
            yield store
        finally:
            await store.adelete_index()
            await store.aclose()
            store.close()


class TestWorkersAIVectorizeStandardWithLag(TestWorkersAIVectorizeStandard):
    @pytest.fixture(autouse=True)
    def _mutation_lag(self, emulator: EmulatorServer) -> Iterator[None]:
        before = emulator.app.config.vectorize_mutation_lag_ms
        emulator.configure(vectorize_mutation_lag_ms=LAG_MS)
        yield
        emulator.configure(vectorize_mutation_lag_ms=before)
