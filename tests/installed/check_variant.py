"""Run inside a fresh environment holding only the built wheel (+ one extra), outside the checkout.

    python check_variant.py VARIANT CHECKOUT

Checks what a user of that install variant gets: every public name of each package the variant
promises imports; each package the variant does not promise fails with a message naming the extra
to install; every package ships ``py.typed`` and reports the distribution's version; where the
emulator is installed, one chat round trip and one embedding per framework run against it. The
``aiohttp`` extra promises a feature rather than a package: the async client's aiohttp transport
carries a chat (to a standard-library server); without the extra, choosing it fails naming it.
Prints one line per check; exits non-zero on the first failure. Standard library + the wheel only.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "workers-ai-python"
CORE, LANGCHAIN, LLAMA_INDEX, EMULATOR = (
    "workers_ai",
    "langchain_workers_ai",
    "llama_index_workers_ai",
    "workers_ai.emulator",
)
#: Not a package: ``async_transport="aiohttp"`` of the async client (the ``aiohttp`` extra).
AIOHTTP = "aiohttp transport"
#: What each install variant promises (the core always comes with the wheel).
PROMISES = {
    "core": {CORE},
    "langchain": {CORE, LANGCHAIN},
    "llama-index": {CORE, LLAMA_INDEX},
    "emulator": {CORE, EMULATOR},
    "aiohttp": {CORE, AIOHTTP},
    "all": {CORE, LANGCHAIN, LLAMA_INDEX, EMULATOR, AIOHTTP},
}
#: The extra a user must install to get each optional package (or feature).
EXTRA = {
    LANGCHAIN: "langchain",
    LLAMA_INDEX: "llama-index",
    EMULATOR: "emulator",
    AIOHTTP: "aiohttp",
}
CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct"
EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"


def ok(message: str) -> None:
    print(f"  ok  {message}", flush=True)


def fail(message: str) -> None:
    print(f"  FAIL {message}", flush=True)
    sys.exit(1)


def check_outside_checkout(checkout: Path) -> None:
    spec = importlib.util.find_spec(CORE)
    if spec is None or spec.origin is None:
        fail(f"{CORE} is not importable at all")
    origin = Path(spec.origin).resolve()
    if origin.is_relative_to(checkout):
        fail(f"{CORE} was imported from the checkout ({origin}), not from the installed wheel")
    ok(f"{CORE} comes from the installed wheel ({origin.parent.parent})")


def check_shipped(package: str) -> None:
    """py.typed next to every top-level package, whatever the variant (found without import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        fail(f"{package} is not in the installed wheel")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / "py.typed").is_file():
        fail(f"{package} ships no py.typed: type checkers treat it as untyped")
    ok(f"{package} is installed with py.typed")


def check_promised(package: str) -> None:
    if package == AIOHTTP:
        check_aiohttp_transport()
        return
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    if not names:
        fail(f"{package} has no __all__ to check")
    missing = [name for name in names if not hasattr(module, name)]
    if missing:
        fail(f"{package}.__all__ names what it does not define: {missing}")
    version = getattr(module, "__version__", None)
    if "." not in package and version != metadata.version(DISTRIBUTION):
        fail(
            f"{package}.__version__ is {version!r}, the installed distribution is "
            f"{metadata.version(DISTRIBUTION)!r}"
        )
    ok(f"{package}: {len(names)} public names import" + (f", version {version}" if version else ""))


def expect_failure(what: str, extra: str, action: Callable[[], object]) -> None:
    hint = f'pip install "{DISTRIBUTION}[{extra}]"'
    try:
        action()
    except Exception as exc:
        if hint not in str(exc):
            fail(f"{what} failed without naming the extra ({hint}): {type(exc).__name__}: {exc}")
        ok(f"{what} says: {type(exc).__name__}: {exc}")
        return
    fail(f"{what} worked, though the variant does not install the '{extra}' extra")


def check_not_promised(package: str) -> None:
    extra = EXTRA[package]
    if package == EMULATOR:
        from workers_ai.emulator import EmulatorServer

        expect_failure("EmulatorServer().start()", extra, lambda: EmulatorServer().start())
        cli = subprocess.run(
            [sys.executable, "-m", EMULATOR, "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        hint = f'pip install "{DISTRIBUTION}[{extra}]"'
        if cli.returncode != 2 or hint not in cli.stderr or "Traceback" in cli.stderr:
            fail(f"python -m {EMULATOR} without uvicorn: exit {cli.returncode}, {cli.stderr!r}")
        ok(f"python -m {EMULATOR} exits 2 with: {cli.stderr.strip()}")
        return
    if package == AIOHTTP:
        from workers_ai import AsyncWorkersAIClient

        expect_failure(
            'AsyncWorkersAIClient(async_transport="aiohttp")',
            extra,
            lambda: AsyncWorkersAIClient(account_id="a", api_token="t", async_transport="aiohttp"),
        )
        return
    expect_failure(f"import {package}", extra, lambda: importlib.import_module(package))


class _Answer(BaseHTTPRequestHandler):
    """Answers every POST as Workers AI answers a chat (no emulator in the aiohttp variant)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"result": {"response": "hello"}, "success": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def check_aiohttp_transport() -> None:
    """A chat through ``async_transport="aiohttp"``: the pool is aiohttp's, the answer arrives."""
    from workers_ai import AsyncWorkersAIClient

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/client/v4"

    async def chat() -> tuple[str, str]:
        async with AsyncWorkersAIClient(
            account_id="acct", api_token="tok", base_url=base_url, async_transport="aiohttp"
        ) as client:
            reply = await client.chat(CHAT_MODEL, {"prompt": "Hi"})
            return type(client._http()).__name__, reply.result.text

    try:
        pool, text = asyncio.run(chat())
    finally:
        server.shutdown()
        server.server_close()
    if pool != "HttpxAiohttpClient" or text != "hello":
        fail(f"the aiohttp transport: pool {pool}, answer {text!r}")
    ok(f"{AIOHTTP}: a chat through {pool}")


def round_trips(promised: set[str]) -> None:
    """One chat round trip and one embedding per framework against the emulator."""
    from workers_ai import WorkersAIClient
    from workers_ai.emulator import EmulatorServer

    with EmulatorServer() as emulator:
        os.environ.update(emulator.env())
        with WorkersAIClient() as client:
            text = client.chat(CHAT_MODEL, {"messages": [{"role": "user", "content": "Hi"}]})
            vectors = client.run(EMBEDDING_MODEL, {"text": ["hello"]})["data"]
        if not text.result.text or len(vectors[0]) != 768:
            fail(f"core round trip: {text.result!r}, {len(vectors[0])} dimensions")
        ok("core: chat and embedding against the emulator")
        if LANGCHAIN in promised:
            from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings

            chat = ChatWorkersAI(model=CHAT_MODEL)
            reply = chat.invoke("Name a colour.")
            vector = WorkersAIEmbeddings(model=EMBEDDING_MODEL).embed_query("hello")
            chat.close()
            if not reply.content or reply.usage_metadata is None or len(vector) != 768:
                fail(f"LangChain round trip: {reply!r}, {len(vector)} dimensions")
            ok("LangChain: ChatWorkersAI.invoke and WorkersAIEmbeddings.embed_query")
        if LLAMA_INDEX in promised:
            from llama_index.core.llms import ChatMessage

            from llama_index_workers_ai import WorkersAI, WorkersAIEmbedding

            answer = WorkersAI(model=CHAT_MODEL).chat([ChatMessage(role="user", content="Hi")])
            vector = WorkersAIEmbedding(model_name=EMBEDDING_MODEL).get_text_embedding("hello")
            if not answer.message.content or len(vector) != 768:
                fail(f"LlamaIndex round trip: {answer!r}, {len(vector)} dimensions")
            ok("LlamaIndex: WorkersAI.chat and WorkersAIEmbedding.get_text_embedding")
        expected = 2 * (1 + len(promised & {LANGCHAIN, LLAMA_INDEX}))
        served = emulator.stats()["requests"]
        if served != expected:
            fail(f"the emulator served {served} requests, expected {expected} (one per call)")
        ok(f"the emulator served {served} requests, one per call")


def main(variant: str, checkout: Path) -> None:
    promised = PROMISES[variant]
    check_outside_checkout(checkout.resolve())
    for package in (CORE, LANGCHAIN, LLAMA_INDEX):
        check_shipped(package)
    for package in sorted(promised):
        check_promised(package)
    for package in sorted(set(EXTRA) - promised):
        check_not_promised(package)
    if EMULATOR in promised:
        round_trips(promised)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
