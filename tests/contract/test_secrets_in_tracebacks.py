"""No API token in what error reports show: traceback locals, messages, causes.

Error reporters show more than ``str(error)``: ``pytest -l``, rich's ``show_locals`` and Sentry
print the ``repr`` of every local of every frame of the traceback, and of the exceptions it was
caused by. Each test here makes one public class fail one way against the emulator, then walks
every frame of the error (and of its ``__cause__``/``__context__`` chain, and of errors it
carries) and checks that the token used appears in no local's ``repr``, and not in the
error's ``str``/``repr``/attributes. Failures: a 401 (a wrong token, which is the secret),
a 500 after all retries, a connection reset by the server after the request was sent, and a
refused connection; and the errors raised before sending (a bad header, NaN, a surrogate),
whose frames are the ones that built the headers. Retry waits are patched out, so nothing
sleeps.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from langchain_workers_ai import ChatWorkersAI, WorkersAIEmbeddings
from llama_index_workers_ai import WorkersAI
from tests.support.waits import fake_waits
from workers_ai import (
    APIConnectionError,
    AsyncWorkersAIClient,
    AuthenticationError,
    InternalServerError,
    WorkersAIClient,
    WorkersAIError,
)
from workers_ai.emulator import EmulatorServer

MODEL = "@cf/meta/llama-3.1-8b-instruct"
EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"
CHAT = {"messages": [{"role": "user", "content": "Say hi"}]}
#: A wrong token: the emulator answers 401, and this string must show up nowhere.
WRONG_TOKEN = "wai-secret-3c9f1e7a52d04b8e"


# -- the walk ----------------------------------------------------------------------------------
def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a broken repr cannot leak; note it and go on
        return f"<repr failed: {type(exc).__name__}>"


def _frames(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _nested_errors(error: BaseException) -> Iterator[BaseException]:
    """The causes, contexts and errors kept as attributes (e.g. a job error's ``errors``)."""
    yield from (e for e in (error.__cause__, error.__context__) if e is not None)
    for value in getattr(error, "__dict__", {}).values():
        items = value if isinstance(value, (list, tuple)) else (value,)
        yield from (item for item in items if isinstance(item, BaseException))


def find_secret(error: BaseException, secret: str) -> list[str]:
    """Where ``secret`` shows: ``str``/``repr``/attributes of each error, each frame's locals."""
    found: list[str] = []
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        name = type(current).__name__
        for what, text in (
            ("str", _safe_str(current)),
            ("repr", _safe_repr(current)),
            ("args", _safe_repr(current.args)),
            ("attributes", _safe_repr(getattr(current, "__dict__", {}))),
        ):
            if secret in text:
                found.append(f"{name}: {what}")
        for tb in _frames(current.__traceback__):
            code = tb.tb_frame.f_code
            if code.co_filename == __file__ and code.co_name.startswith(("test_", "_bad_")):
                continue  # the user's own frames hold the token the user passed: not a leak
            for local, value in tb.tb_frame.f_locals.items():
                if secret in _safe_repr(value):
                    found.append(f"{name}: {code.co_filename}:{code.co_name} local {local!r}")
        pending.extend(_nested_errors(current))
    return found


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except Exception as exc:
        return f"<str failed: {type(exc).__name__}>"


def rich_report(error: BaseException) -> str:
    """The traceback as ``rich`` prints it with ``show_locals=True`` (long values in full)."""
    rich_traceback = pytest.importorskip("rich.traceback")
    from rich.console import Console

    report = rich_traceback.Traceback.from_exception(
        type(error),
        error,
        error.__traceback__,
        show_locals=True,
        locals_max_length=10_000,
        locals_max_string=100_000,
    )
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(report)
    return out.getvalue()


# -- the failures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """How to make a call fail, and the error class it must end in."""

    name: str
    expected: type[WorkersAIError]
    wrong_token: bool = False
    fault: str | None = None
    refused: bool = False


FAILURES = [
    Failure("401", AuthenticationError, wrong_token=True),
    Failure("500-after-retries", InternalServerError, fault="server_error"),
    Failure("reset-after-send", APIConnectionError, fault="reset"),
    Failure("refused", APIConnectionError, wrong_token=True, refused=True),
]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_waits(monkeypatch, engine=True)


@pytest.fixture(params=FAILURES, ids=lambda failure: failure.name)
def failing(
    request: pytest.FixtureRequest, emulator: EmulatorServer, no_retry_waits: None
) -> tuple[Failure, dict[str, Any], str]:
    """The failure, connection keywords that produce it, and the token that must not show."""
    failure: Failure = request.param
    token = WRONG_TOKEN if failure.wrong_token else emulator.api_token
    base_url = emulator.base_url
    if failure.refused:
        base_url = f"http://127.0.0.1:{_closed_port()}/client/v4"
    if failure.fault:
        emulator.configure(faults=[{"kind": failure.fault}])
    kwargs = {
        "account_id": emulator.account_id,
        "api_token": token,
        "base_url": base_url,
        "max_retries": 2,
    }
    return failure, kwargs, token


# -- the surfaces: build with the token, then call in a frame that never held it ----------------
_OPENED: list[Any] = []


def _opened(obj: Any) -> Any:
    """Keep ``obj`` to close its connection pool after the test."""
    _OPENED.append(obj)
    return obj


@pytest.fixture(autouse=True)
def _close_opened() -> Iterator[None]:
    yield
    while _OPENED:  # async pools closed with their event loop; close the sync ones
        close = getattr(_OPENED.pop(), "close", None)
        if callable(close):
            close()


def _consume(stream: Any) -> None:
    for _ in stream:
        pass


async def _aconsume(stream: Any) -> None:
    async for _ in stream:
        pass


def _core_chat(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(WorkersAIClient(**kw))
    return lambda: client.chat(MODEL, CHAT)


def _core_achat(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(AsyncWorkersAIClient(**kw))
    return lambda: asyncio.run(client.chat(MODEL, CHAT))


def _core_stream(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(WorkersAIClient(**kw))
    return lambda: _consume(client.stream_chat(MODEL, CHAT))


def _core_astream(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(AsyncWorkersAIClient(**kw))

    async def go() -> None:
        await _aconsume(await client.stream_chat(MODEL, CHAT))

    return lambda: asyncio.run(go())


def _lc_invoke(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(ChatWorkersAI(model=MODEL, **kw))
    return lambda: llm.invoke([HumanMessage("Say hi")])


def _lc_ainvoke(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(ChatWorkersAI(model=MODEL, **kw))
    return lambda: asyncio.run(llm.ainvoke([HumanMessage("Say hi")]))


def _lc_stream(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(ChatWorkersAI(model=MODEL, **kw))
    return lambda: _consume(llm.stream([HumanMessage("Say hi")]))


def _lc_astream(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(ChatWorkersAI(model=MODEL, **kw))
    return lambda: asyncio.run(_aconsume(llm.astream([HumanMessage("Say hi")])))


def _lc_embed(kw: dict[str, Any]) -> Callable[[], Any]:
    embeddings = _opened(WorkersAIEmbeddings(model=EMBEDDING_MODEL, **kw))
    return lambda: embeddings.embed_documents(["alpha", "bravo", "charlie"])


def _lc_aembed(kw: dict[str, Any]) -> Callable[[], Any]:
    embeddings = _opened(WorkersAIEmbeddings(model=EMBEDDING_MODEL, **kw))
    return lambda: asyncio.run(embeddings.aembed_query("alpha"))


def _li_chat(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(WorkersAI(model=MODEL, **kw))
    return lambda: llm.chat([ChatMessage(role="user", content="Say hi")])


def _li_achat(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(WorkersAI(model=MODEL, **kw))
    return lambda: asyncio.run(llm.achat([ChatMessage(role="user", content="Say hi")]))


def _li_stream_chat(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(WorkersAI(model=MODEL, **kw))
    return lambda: _consume(llm.stream_chat([ChatMessage(role="user", content="Say hi")]))


SURFACES: dict[str, Callable[[dict[str, Any]], Callable[[], Any]]] = {
    "core-chat": _core_chat,
    "core-achat": _core_achat,
    "core-stream": _core_stream,
    "core-astream": _core_astream,
    "langchain-invoke": _lc_invoke,
    "langchain-ainvoke": _lc_ainvoke,
    "langchain-stream": _lc_stream,
    "langchain-astream": _lc_astream,
    "langchain-embed-documents": _lc_embed,
    "langchain-aembed-query": _lc_aembed,
    "llama-index-chat": _li_chat,
    "llama-index-achat": _li_achat,
    "llama-index-stream-chat": _li_stream_chat,
}


def _raised(call: Callable[[], Any]) -> BaseException:
    """Run ``call`` and return what it raised (this frame never holds the token)."""
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("the call did not fail")


def _ends_in(error: BaseException, expected: type[BaseException]) -> bool:
    """``error`` is ``expected``, or carries one (a bulk embedding job keeps its batches')."""
    if isinstance(error, expected):
        return True
    carried = getattr(error, "errors", ())
    return isinstance(carried, tuple) and any(isinstance(e, expected) for e in carried)


@pytest.mark.parametrize("surface", SURFACES)
def test_token_is_in_no_traceback_local_and_no_message(
    surface: str, failing: tuple[Failure, dict[str, Any], str]
) -> None:
    failure, kwargs, token = failing
    call = SURFACES[surface](kwargs)
    error = _raised(call)

    assert _ends_in(error, failure.expected), repr(error)
    assert find_secret(error, token) == []
    if surface in ("core-chat", "langchain-invoke"):  # rich's report: once per failure is enough
        assert token not in rich_report(error)


def _bad_header(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(WorkersAIClient(**kw))
    return lambda: client.chat(MODEL, CHAT, headers={"x-trace": "a\r\nb"})


def _bad_number(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(AsyncWorkersAIClient(**kw))
    return lambda: asyncio.run(client.chat(MODEL, {**CHAT, "temperature": float("nan")}))


def _bad_text(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(WorkersAIClient(**kw))
    return lambda: _consume(client.stream(MODEL, {"prompt": "caf\udce9"}))


def _bad_model(kw: dict[str, Any]) -> Callable[[], Any]:
    client = _opened(WorkersAIClient(**kw))
    return lambda: client.run("@cf/meta/..", {"prompt": "x"})


def _bad_affinity(kw: dict[str, Any]) -> Callable[[], Any]:
    llm = _opened(ChatWorkersAI(model=MODEL, session_affinity="s\nx-evil: 1", **kw))
    return lambda: llm.invoke("hi")


BAD_CALLS: dict[str, Callable[[dict[str, Any]], Callable[[], Any]]] = {
    "per-call-header-crlf": _bad_header,
    "async-body-nan": _bad_number,
    "stream-surrogate": _bad_text,
    "model-dot-segment": _bad_model,
    "langchain-session-affinity": _bad_affinity,
}


@pytest.mark.parametrize("bad_call", BAD_CALLS)
def test_errors_raised_before_sending_carry_no_token(bad_call: str) -> None:
    """Validation errors come from frames that built the headers: those mask the token too."""
    kwargs = {"account_id": "acc", "api_token": WRONG_TOKEN, "base_url": "http://127.0.0.1:9"}
    try:
        call = BAD_CALLS[bad_call](kwargs)
    except WorkersAIError as error:  # rejected at construction (e.g. session_affinity)
        assert find_secret(error, WRONG_TOKEN) == []
        return
    error = _raised(call)
    assert isinstance(error, WorkersAIError), repr(error)
    assert find_secret(error, WRONG_TOKEN) == []


def test_the_walk_finds_a_token_in_a_local() -> None:
    """The check above can fail: a frame holding the token is reported."""

    def leaky(headers: dict[str, str]) -> None:
        raise RuntimeError("boom")

    error = _raised(lambda: leaky({"Authorization": f"Bearer {WRONG_TOKEN}"}))
    assert find_secret(error, WRONG_TOKEN) == [f"RuntimeError: {__file__}:leaky local 'headers'"]
