"""langchain-tests standard suites for WorkersAIEmbeddings, against the emulator (no network).

The embeddings suites have no serialization test, so no ``test_serdes`` override is needed
(compare ``test_chat_standard.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_workers_ai import WorkersAIEmbeddings

MODEL = "@cf/baai/bge-small-en-v1.5"


@pytest.mark.usefixtures("no_env")  # no developer's or emulator's settings leak in
class TestWorkersAIEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "account_id": "acct", "api_key": "unit-test-token"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"CLOUDFLARE_ACCOUNT_ID": "acct-env", "CLOUDFLARE_API_TOKEN": "env-token"}
        return env, {"model": MODEL}, {"account_id": "acct-env", "api_token": "env-token"}


@pytest.mark.usefixtures("workers_ai_emulator_env")
class TestWorkersAIEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[WorkersAIEmbeddings]:
        return WorkersAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": MODEL}
