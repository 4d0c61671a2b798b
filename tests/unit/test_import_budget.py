"""What importing the packages loads: httpx, the emulator and the engines wait until needed.

httpx's own import costs tens of milliseconds (in some installs it pulls its command line: click,
rich, pygments), so ``import workers_ai`` and the adapters leave it out; a client loads it when it
makes its connection pool. The emulator (a web app) is never loaded by a library import.

Each check runs in a fresh interpreter and records which module first imported each of them.
A framework may import httpx itself: LangSmith (under ``langchain_core``'s ``BaseChatModel``)
imports ``httpx_aiohttp``, and so httpx, whenever that package is installed (our ``aiohttp``
extra), so the checks hide it, as in an install without that extra; older ``llama-index-core``
releases (our floor) import httpx in ``llama_index.core.ingestion``. What the framework loads is
not ours to save, so httpx may be loaded only by a framework module, never by ours or by
anything we import.

Likewise the core modules that only a built or called model uses (the clients, the catalog,
request preparation, the embeddings and rerank engines) are loaded when a model object is
constructed, not when a package is imported: defining the framework classes needs none of them.
Timings are benchmarks' business (``benchmarks/``); these are behaviour checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.env import CONNECTION_ENV

HEAVY = ("httpx", "workers_ai.emulator")
#: Core modules loaded by constructing a model, not by importing a package.
ON_CONSTRUCTION = (
    "workers_ai.catalog",
    "workers_ai.client",
    "workers_ai.embedder",
    "workers_ai.embeddings",
    "workers_ai.messages",
    "workers_ai.prepare",
    "workers_ai.rerank",
)
#: Modules that may import httpx themselves (the frameworks and their tracing client).
FRAMEWORKS = ("langchain_core.", "langsmith.", "llama_index.")

#: Runs ``{statement}`` with ``httpx_aiohttp`` hidden, then prints which modules of ``watch`` are
#: loaded, and which of our modules first imported each (the innermost caller of the import).
PROBE = """
import json, sys
sys.modules["httpx_aiohttp"] = None  # as without the aiohttp extra (see the module docstring)
watch = {watch!r}
importers = {{}}

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in watch and name not in importers:
            frame = sys._getframe(1)
            while frame is not None and (
                frame.f_code.co_filename.startswith("<frozen")
                or "importlib" in frame.f_code.co_filename
            ):
                frame = frame.f_back
            importers[name] = frame.f_globals.get("__name__") if frame else None
        return None

sys.meta_path.insert(0, Spy())
{statement}
print(json.dumps({{"loaded": [m for m in watch if m in sys.modules], "by": importers}}))
"""


def ours(result: dict[str, object]) -> dict[str, str]:
    """The heavy modules loaded, and by what, except httpx loaded by a framework module."""
    loaded, importers = result["loaded"], result["by"]
    assert isinstance(loaded, list)
    assert isinstance(importers, dict)
    return {
        name: str(importers.get(name))
        for name in loaded
        if name != "httpx" or not str(importers.get(name)).startswith(FRAMEWORKS)
    }


def probe(statement: str, watch: tuple[str, ...] = HEAVY) -> dict[str, object]:
    code = PROBE.format(watch=list(watch), statement=textwrap.dedent(statement))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in CONNECTION_ENV},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "package", ["workers_ai", "langchain_workers_ai", "llama_index_workers_ai"]
)
def test_importing_a_package_loads_neither_httpx_nor_the_emulator(package: str) -> None:
    result = probe(f"import {package}")

    assert ours(result) == {}


@pytest.mark.parametrize(
    "package", ["workers_ai", "langchain_workers_ai", "llama_index_workers_ai"]
)
def test_importing_a_package_leaves_the_engines_to_construction(package: str) -> None:
    result = probe(f"import {package}", watch=ON_CONSTRUCTION)

    assert result["loaded"] == [], result["by"]


def test_the_public_names_load_on_first_use_without_httpx() -> None:
    result = probe(
        """
        import workers_ai
        names = [getattr(workers_ai, name) for name in workers_ai.__all__]
        settings = workers_ai.resolve_settings(account_id="a", api_token="t", timeout=5)
        client = workers_ai.AsyncWorkersAIClient(settings=settings.with_options(max_retries=0))
        """
    )

    assert ours(result) == {}


def test_building_models_does_not_load_httpx() -> None:
    result = probe(
        """
        from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
        from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding
        creds = {"account_id": "a", "api_key": "t"}
        ChatWorkersAI(**creds, timeout=(2, 30))
        WorkersAIEmbeddings(**creds)
        WorkersAI(**creds)
        WorkersAIEmbedding(**creds)
        """
    )

    assert ours(result) == {}


@pytest.mark.parametrize("kind", ["WorkersAIClient", "AsyncWorkersAIClient"])
def test_a_client_making_its_pool_loads_httpx(kind: str) -> None:
    result = probe(
        f"""
        import asyncio
        import workers_ai
        client = workers_ai.{kind}(account_id="a", api_token="t")
        assert "httpx" not in sys.modules
        if "{kind}" == "WorkersAIClient":
            pool = client._http()
        else:
            async def main():
                pool = client._http()
                await client.aclose()
                return pool
            pool = asyncio.run(main())
        assert type(pool).__module__.startswith("httpx"), type(pool)
        """
    )

    assert result["loaded"] == ["httpx"]
    importers = result["by"]
    assert isinstance(importers, dict)
    assert str(importers["httpx"]).startswith("workers_ai.")  # the client, making its pool


def test_the_timeout_a_client_is_given_reaches_httpx_unchanged() -> None:
    result = probe(
        """
        import workers_ai
        client = workers_ai.WorkersAIClient(account_id="a", api_token="t", timeout=(2, 30))
        import httpx
        assert client._http().timeout == httpx.Timeout(30.0, connect=2.0, pool=300.0)
        from workers_ai.settings import DEFAULT_TIMEOUT
        assert DEFAULT_TIMEOUT == httpx.Timeout(300.0, connect=10.0)
        """,
        watch=("httpx",),
    )

    assert result["loaded"] == ["httpx"]


def test_the_classes_type_hints_resolve_without_the_deferred_modules() -> None:
    """Tools that read a class's hints (``typing.get_type_hints``: runtime type checkers, doc
    builders) still work although the modules behind private attributes load later."""
    result = probe(
        """
        import typing
        import langchain_workers_ai as lc, llama_index_workers_ai as li
        for cls in (lc.ChatWorkersAI, lc.WorkersAIEmbeddings, lc.WorkersAIReranker,
                    li.WorkersAI, li.WorkersAIEmbedding, li.WorkersAIRerank):
            hints = typing.get_type_hints(cls)
            assert "account_id" in hints, cls
        """,
        watch=("workers_ai.client", "workers_ai.embedder", "workers_ai.rerank"),
    )

    assert result["loaded"] == []
