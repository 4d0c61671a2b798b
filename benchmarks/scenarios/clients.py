"""Every client of the comparison, built against one emulator, and how each was pointed at it.

This project's classes take ``base_url``. The alternatives:

- langchain-cloudflare ``ChatCloudflareWorkersAI``: ``base_url`` (alias ``cloudflare_api_base``)
  replaces ``https://api.cloudflare.com/client/v4``; ``CloudflareWorkersAIEmbeddings``:
  ``api_base_url`` replaces ``https://api.cloudflare.com/client/v4/accounts``.
- llama-index-embeddings-cloudflare-workersai ``CloudflareEmbedding``: the URL is the module
  constant ``API_URL_TEMPLATE``; the harness patches it (in this process only).
- langchain-openai ``ChatOpenAI`` / ``OpenAIEmbeddings`` and llama-index-llms-openai-like
  ``OpenAILike``: ``base_url`` / ``api_base`` = ``{base}/accounts/{account}/ai/v1``.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import httpx

from benchmarks.harness import ACCOUNT, CHAT_MODEL, EMBEDDING_MODEL, TOKEN, Emulator

#: How each alternative reached the emulator (printed under the results).
POINTING = [
    "langchain-cloudflare `ChatCloudflareWorkersAI(base_url=<emulator>/client/v4)`, "
    "`CloudflareWorkersAIEmbeddings(api_base_url=<emulator>/client/v4/accounts)`: "
    "constructor arguments.",
    "llama-index-embeddings-cloudflare-workersai `CloudflareEmbedding`: no URL argument; the "
    "harness sets the module constant `llama_index.embeddings.cloudflare_workersai.base."
    "API_URL_TEMPLATE` to the emulator's `/accounts/{}/ai/run/{}` (benchmark process only).",
    "langchain-openai `ChatOpenAI` / `OpenAIEmbeddings` and llama-index-llms-openai-like "
    "`OpenAILike`: `base_url` / `api_base` = `<emulator>/client/v4/accounts/<account>/ai/v1` "
    "(Workers AI's OpenAI-compatible route), `api_key` = the token. `OpenAIEmbeddings` also "
    "needs `check_embedding_ctx_length=False` (else it sends tiktoken ids, which Workers AI "
    "does not take, and tiktoken downloads its tables) and `chunk_size=100` (Workers AI's "
    "maximum batch; its default of 1,000 is rejected).",
]


# --- this project ------------------------------------------------------------------------------


def chat_workers_ai(emu: Emulator, **kwargs: Any) -> Any:
    from langchain_workers_ai import ChatWorkersAI

    return ChatWorkersAI(
        model=CHAT_MODEL, account_id=ACCOUNT, api_token=TOKEN, base_url=emu.base_url, **kwargs
    )


def llama_workers_ai(emu: Emulator, **kwargs: Any) -> Any:
    from llama_index_workers_ai import WorkersAI

    return WorkersAI(
        model=CHAT_MODEL, account_id=ACCOUNT, api_token=TOKEN, base_url=emu.base_url, **kwargs
    )


def lc_embeddings(emu: Emulator, **kwargs: Any) -> Any:
    from langchain_workers_ai import WorkersAIEmbeddings

    return WorkersAIEmbeddings(
        model=EMBEDDING_MODEL, account_id=ACCOUNT, api_token=TOKEN, base_url=emu.base_url, **kwargs
    )


def li_embedding(emu: Emulator, **kwargs: Any) -> Any:
    from llama_index_workers_ai import WorkersAIEmbedding

    return WorkersAIEmbedding(
        model_name=EMBEDDING_MODEL,
        account_id=ACCOUNT,
        api_token=TOKEN,
        base_url=emu.base_url,
        **kwargs,
    )


# --- the alternatives --------------------------------------------------------------------------


def chat_cloudflare(emu: Emulator, **kwargs: Any) -> Any:
    from langchain_cloudflare import ChatCloudflareWorkersAI

    return ChatCloudflareWorkersAI(
        model=CHAT_MODEL, account_id=ACCOUNT, api_token=TOKEN, base_url=emu.base_url, **kwargs
    )


def chat_openai(emu: Emulator, **kwargs: Any) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=CHAT_MODEL, base_url=emu.openai_base, api_key=TOKEN, **kwargs)


def openai_like(emu: Emulator, **kwargs: Any) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=CHAT_MODEL,
        api_base=emu.openai_base,
        api_key=TOKEN,
        is_chat_model=True,
        context_window=8192,
        **kwargs,
    )


def cloudflare_embeddings(emu: Emulator) -> Any:
    from langchain_cloudflare import CloudflareWorkersAIEmbeddings

    return CloudflareWorkersAIEmbeddings(
        model_name=EMBEDDING_MODEL,
        account_id=ACCOUNT,
        api_token=TOKEN,
        api_base_url=f"{emu.base_url}/accounts",
    )


def openai_embeddings(emu: Emulator) -> Any:
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(
        model=EMBEDDING_MODEL,
        base_url=emu.openai_base,
        api_key=TOKEN,  # type: ignore[arg-type]
        check_embedding_ctx_length=False,
        chunk_size=100,
    )


def llama_cloudflare_embedding(emu: Emulator, **kwargs: Any) -> Any:
    import llama_index.embeddings.cloudflare_workersai.base as module
    from llama_index.embeddings.cloudflare_workersai import CloudflareEmbedding

    module.API_URL_TEMPLATE = emu.base_url + "/accounts/{}/ai/run/{}"  # type: ignore[misc]
    return CloudflareEmbedding(
        account_id=ACCOUNT, auth_token=TOKEN, model=EMBEDDING_MODEL, **kwargs
    )


async def aclose(obj: Any) -> None:
    """Close a client's async HTTP pool inside the loop that opened it (each round runs in a
    fresh loop; a pool left open would be reused from a closed loop)."""
    embedder = getattr(obj, "_embedder", None)  # WorkersAIEmbedding has close() but no aclose()
    method = getattr(obj, "aclose", None) or getattr(embedder, "aclose", None)
    if method is not None:
        result = method()
        if inspect.isawaitable(result):
            await result
        return
    pool = getattr(obj, "async_client", None)  # ChatCloudflareWorkersAI
    if isinstance(pool, httpx.AsyncClient):
        await pool.aclose()
    root = getattr(obj, "root_async_client", None)  # ChatOpenAI
    if root is not None:
        await root.close()
    private = getattr(obj, "__pydantic_private__", None) or {}
    aclient = private.get("_aclient")  # OpenAILike
    if aclient is not None:
        await aclient.close()
    if "langchain_openai" in sys.modules:  # its default pools are cached per base URL
        from langchain_openai.chat_models import _client_utils

        _client_utils._cached_async_httpx_client.cache_clear()
        _client_utils._cached_sync_httpx_client.cache_clear()


def close(obj: Any) -> None:
    """Close a client's sync HTTP pool (the sync counterpart of :func:`aclose`)."""
    method = getattr(obj, "close", None)
    if callable(method) and not hasattr(obj, "root_client"):
        method()
        return
    pool = getattr(obj, "client", None)  # ChatCloudflareWorkersAI
    if isinstance(pool, httpx.Client):
        pool.close()
    root = getattr(obj, "root_client", None)  # ChatOpenAI
    if root is not None:
        root.close()
    private = getattr(obj, "__pydantic_private__", None) or {}
    client = private.get("_client")  # OpenAILike
    if client is not None and hasattr(client, "close"):
        client.close()
    if "langchain_openai" in sys.modules:
        from langchain_openai.chat_models import _client_utils

        _client_utils._cached_sync_httpx_client.cache_clear()


def core_client(emu: Emulator) -> Any:
    """This project's core sync client (no framework)."""
    from workers_ai import WorkersAIClient

    return WorkersAIClient(account_id=ACCOUNT, api_token=TOKEN, base_url=emu.base_url)


def core_async_client(emu: Emulator) -> Any:
    """This project's core async client (no framework)."""
    from workers_ai import AsyncWorkersAIClient

    return AsyncWorkersAIClient(account_id=ACCOUNT, api_token=TOKEN, base_url=emu.base_url)
