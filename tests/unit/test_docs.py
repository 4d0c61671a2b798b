"""Documentation users read in their editor: field docstrings and class docstring sections.

Read from the source with ``ast`` (field docstrings are not kept at run time), for every class
of the adapters' public modules, so a field added later without a docstring fails here.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

import langchain_workers_ai
import llama_index_workers_ai
from langchain_workers_ai import (
    _connection as lc_connection,
)
from langchain_workers_ai import (
    chat_models,
    document_loaders,
    embeddings,
    rerankers,
)
from langchain_workers_ai import (
    tools as lc_tools,
)
from langchain_workers_ai import vectorstores as lc_vectorstores
from llama_index_workers_ai import (
    _connection as li_connection,
)
from llama_index_workers_ai import (
    embeddings as li_embeddings,
)
from llama_index_workers_ai import (
    llms,
    postprocessors,
    readers,
)
from llama_index_workers_ai import (
    tools as li_tools,
)
from llama_index_workers_ai import (
    vector_stores as li_vector_stores,
)
from workers_ai import connection

MODULES = [
    connection,
    lc_connection,
    chat_models,
    embeddings,
    rerankers,
    li_connection,
    llms,
    li_embeddings,
    postprocessors,
    li_tools,
    readers,
    lc_tools,
    document_loaders,
    lc_vectorstores,
    li_vector_stores,
]
#: The sections langchain-openai's class docstrings carry, by class.
SECTIONS = {
    langchain_workers_ai.ChatWorkersAI: [
        "Setup:",
        "Key init args:",
        "Instantiate:",
        "Invoke",
        "Stream",
        "Async",
        "Tool calling:",
        "Structured output:",
        "Reasoning:",
        "Token usage:",
        "Response metadata:",
    ],
    langchain_workers_ai.WorkersAIEmbeddings: [
        "Setup:",
        "Key init args:",
        "Instantiate:",
        "Embed single text",
        "Async:",
    ],
    langchain_workers_ai.WorkersAIReranker: [
        "Setup:",
        "Key init args:",
        "Instantiate:",
        "Invoke",
        "Async:",
    ],
}


def _undocumented_fields(module: ModuleType) -> list[str]:
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        body = node.body
        for index, statement in enumerate(body):
            if not (
                isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            ):
                continue
            name = statement.target.id
            if name.startswith("_") or "ClassVar" in ast.unparse(statement.annotation):
                continue  # not a constructor argument
            following = body[index + 1] if index + 1 < len(body) else None
            documented = (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                and following.value.value.strip()
            )
            if not documented:
                missing.append(f"{module.__name__}.{node.name}.{name}")
    return missing


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_public_field_has_a_docstring(module: ModuleType) -> None:
    assert _undocumented_fields(module) == []


@pytest.mark.parametrize("cls", list(SECTIONS), ids=lambda c: c.__name__)
def test_langchain_classes_carry_the_ecosystem_docstring_sections(cls: type) -> None:
    doc = textwrap.dedent(cls.__doc__ or "")
    missing = [section for section in SECTIONS[cls] if section not in doc]
    assert missing == []
    assert len(doc.splitlines()) <= 90, "keep class docstrings short; details go to the README"


@pytest.mark.parametrize(
    "cls",
    [getattr(llama_index_workers_ai, name) for name in llama_index_workers_ai.__all__[:3]],
    ids=lambda c: c.__name__,
)
def test_llama_index_classes_have_an_example(cls: type) -> None:
    assert ".. code-block:: python" in (cls.__doc__ or "")
