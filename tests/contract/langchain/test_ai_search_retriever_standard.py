"""langchain-tests ``RetrieversIntegrationTests`` for WorkersAISearchRetriever on the emulator,
once on an AI Search instance and once on a legacy AutoRAG (the same corpus)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from langchain_workers_ai import WorkersAISearchRetriever
from tests.support.emulator import adapter_kwargs
from workers_ai.emulator import EmulatorServer

#: Five files sharing the query's words (each one chunk), so k=3 finds three.
FILES = {
    f"guides/{name}.md": f"Llamas deliver coffee {detail}."
    for name, detail in [
        ("mornings", "every morning"),
        ("routes", "along short routes"),
        ("loads", "three cups at a time"),
        ("training", "after patient training"),
        ("weather", "unless it rains"),
    ]
}


class TestWorkersAISearchRetrieverStandard(RetrieversIntegrationTests):
    target: dict[str, str] = {"instance": "guides"}

    @pytest.fixture(autouse=True)
    def _corpus(self, emulator: EmulatorServer) -> None:
        emulator.add_ai_search_instance("guides", files=FILES)
        self.connection = adapter_kwargs(emulator)

    @property
    def retriever_constructor(self) -> type[WorkersAISearchRetriever]:
        return WorkersAISearchRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {**self.connection, **self.target, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "Do llamas deliver coffee?"


class TestWorkersAISearchRetrieverStandardAutoRAG(TestWorkersAISearchRetrieverStandard):
    target = {"autorag": "guides"}
