"""Bad inputs are typed errors raised before any request, naming what to fix.

Each row is one input a user can get wrong: settings (``ConfigurationError`` at construction),
per-call values (``InvalidRequestError`` at the call), through the core clients (sync and
async) and the LangChain and LlamaIndex classes. Every test counts the requests that reached
the ``httpx.MockTransport``: there must be none. The rows cover URL path segments (dot
segments, ``?``/``#``), base URLs, tokens and headers HTTP cannot carry (CR/LF, non-ASCII),
NaN/infinite numbers, surrogates in texts, and a closed ``http_client``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage
from pydantic import SecretStr

from langchain_workers_ai import ChatWorkersAI
from llama_index_workers_ai import WorkersAI
from tests.support.mock_transport import ACCOUNT, TOKEN, Recorder, Runner
from workers_ai import (
    APIResponseValidationError,
    AsyncWorkersAIClient,
    ConfigurationError,
    GatewayOptions,
    InvalidRequestError,
    WorkersAIClient,
)
from workers_ai.batch_api import parse_submit, wait_for_job
from workers_ai.client import _Call
from workers_ai.embeddings import BatchPollPolicy
from workers_ai.messages import ChatRequest, Message, TextPart, build_chat_body
from workers_ai.settings import (
    RedactedHeaders,
    is_secret_header,
    resolve_settings,
    validate_header,
    validate_header_value,
    validate_model_id,
    validate_path_segment,
)
from workers_ai.types import ToolCall

MODEL = "@cf/meta/llama-3.1-8b-instruct"
CHAT = {"messages": [{"role": "user", "content": "Hi"}]}
OK = httpx.Response(200, json={"result": {"response": "ok"}, "success": True, "errors": []})


@dataclass
class Counter:
    """A MockTransport handler that answers OK and counts what it was sent."""

    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return OK


def build(kind: str, counter: Counter, **kwargs: Any) -> WorkersAIClient | AsyncWorkersAIClient:
    """A sync or async core client whose transport is ``counter``."""
    options = {"account_id": ACCOUNT, "api_token": TOKEN, **kwargs}
    if kind == "sync":
        return WorkersAIClient(
            http_client=httpx.Client(transport=httpx.MockTransport(counter)), **options
        )
    return AsyncWorkersAIClient(
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(counter)), **options
    )


# -- settings: ConfigurationError at construction ------------------------------------------------
CONFIG_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("account-dotdot", {"account_id": ".."}, "account_id"),
    ("account-dot", {"account_id": "."}, "account_id"),
    ("account-slash", {"account_id": "a/b"}, "account_id"),
    ("account-query", {"account_id": "a?b=1"}, "account_id"),
    ("gateway-dotdot", {"gateway": ".."}, "gateway id"),
    ("gateway-dot", {"gateway": "."}, "gateway id"),
    ("gateway-hash", {"gateway": "gw#x"}, "gateway id"),
    ("base-query", {"base_url": "https://proxy.example/client/v4?x=1"}, "base_url"),
    ("base-empty-query", {"base_url": "https://proxy.example/client/v4?"}, "base_url"),
    ("base-fragment", {"base_url": "https://proxy.example/client/v4#f"}, "base_url"),
    ("base-dot-segment", {"base_url": "https://proxy.example/a/../client/v4"}, "base_url"),
    ("base-userinfo", {"base_url": "https://user:SECRET@proxy.example/client/v4"}, "base_url"),
    ("base-bad-port", {"base_url": "https://proxy.example:port/client/v4"}, "base_url"),
    ("base-newline", {"base_url": "https://proxy.example/client\n/v4"}, "base_url"),
    ("gw-base-query", {"gateway_base_url": "https://gw.example/v1?x=1"}, "gateway_base_url"),
    ("token-non-ascii", {"api_token": "tok_é_SECRET"}, "API token"),
    ("token-control", {"api_token": "tok_\x01_SECRET"}, "API token"),
    ("token-del", {"api_token": "tok_\x7f_SECRET"}, "API token"),
    ("token-nbsp", {"api_token": "tok_\xa0_SECRET"}, "API token"),
    ("header-crlf", {"default_headers": {"x-team": "a\r\nx-evil: 1"}}, "default_headers"),
    ("header-lf", {"default_headers": {"x-team": "a\nb"}}, "default_headers"),
    ("header-nul", {"default_headers": {"x-team": "a\x00b"}}, "default_headers"),
    ("header-non-ascii", {"default_headers": {"x-team": "équipe"}}, "default_headers"),
    ("header-trailing-space", {"default_headers": {"x-team": "a "}}, "default_headers"),
    ("header-name-space", {"default_headers": {"x team": "a"}}, "default_headers"),
    ("header-name-colon", {"default_headers": {"x-team:": "a"}}, "default_headers"),
    ("header-name-crlf", {"default_headers": {"x\r\nteam": "a"}}, "default_headers"),
    ("header-value-int", {"default_headers": {"x-team": 1}}, "default_headers"),
    ("timeout-nan", {"timeout": math.nan}, "timeout"),
    ("timeout-inf", {"timeout": math.inf}, "timeout"),
    ("timeout-tuple-nan", {"timeout": (math.nan, 10)}, "timeout"),
    ("timeout-httpx-nan", {"timeout": httpx.Timeout(math.nan)}, "timeout"),
    ("timeout-httpx-inf", {"timeout": httpx.Timeout(10, read=math.inf)}, "timeout"),
    ("timeout-httpx-negative", {"timeout": httpx.Timeout(-1)}, "timeout"),
]


@pytest.mark.parametrize(
    ("overrides", "names"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES]
)
def test_bad_settings_fail_at_construction_naming_the_argument(
    kind: str, overrides: dict[str, Any], names: str
) -> None:
    counter = Counter()
    with pytest.raises(ConfigurationError) as info:
        build(kind, counter, **overrides)
    message = str(info.value)
    assert names in message
    assert "SECRET" not in message and TOKEN not in message
    assert counter.requests == []


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"auth_token": SecretStr("gw_é_SECRET")}, "AI Gateway token"),
        ({"auth_token": SecretStr("gw_\r\n_SECRET")}, "AI Gateway token"),
        ({"cache_key": "k\r\nx-evil: 1"}, "cache_key"),
        ({"metadata": {"score": math.nan}}, "metadata"),
        ({"metadata": {"score": -math.inf}}, "metadata"),
    ],
)
def test_bad_gateway_options_fail_at_construction(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        GatewayOptions("gw", **kwargs)
    assert names in str(info.value)
    assert "SECRET" not in str(info.value)


def test_a_gateway_token_with_a_control_character_fails_in_resolve_settings() -> None:
    with pytest.raises(ConfigurationError, match="AI Gateway token") as info:
        resolve_settings(
            account_id=ACCOUNT, api_token=TOKEN, gateway="gw", gateway_token="gw\x00SECRET", env={}
        )
    assert "SECRET" not in str(info.value)


# -- per-call values: InvalidRequestError at the call, before any request ------------------------
def _run(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    return "run", args, kwargs


def _chat(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    return "chat", args, kwargs


SURROGATE = "caf\udce9"  # bytes decoded with errors="surrogateescape"

CALL_CASES: list[tuple[str, tuple[str, tuple[Any, ...], dict[str, Any]], type[Exception], str]] = [
    ("model-dot", _run(".", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-dotdot", _run("..", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-inner-dot", _run("@cf/./llama", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-inner-dotdot", _run("@cf/meta/../x", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-empty-part", _run("@cf//llama", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-trailing-slash", _run("@cf/meta/", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-leading-slash", _run("/@cf/meta/x", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-query", _run("@cf/meta/x?y=1", {"prompt": "x"}), InvalidRequestError, "model"),
    ("model-percent", _run("@cf/meta/%2e%2e", {"prompt": "x"}), InvalidRequestError, "model"),
    (
        "openai-model-dotdot",
        _chat("..", CHAT, endpoint="openai"),
        InvalidRequestError,
        "model",
    ),
    ("openai-path-dotdot", ("openai", ("../../x", CHAT), {}), InvalidRequestError, "path"),
    ("openai-path-query", ("openai", ("chat?x=1", CHAT), {}), InvalidRequestError, "path"),
    (
        "temperature-nan",
        _run(MODEL, {"prompt": "x", "temperature": math.nan}),
        InvalidRequestError,
        "temperature",
    ),
    ("top-p-inf", _chat(MODEL, {**CHAT, "top_p": math.inf}), InvalidRequestError, "top_p"),
    (
        "nested-nan",
        _run(MODEL, {"prompt": "x", "a": [{"b": -math.inf}]}),
        InvalidRequestError,
        "a[0].b",
    ),
    ("prompt-surrogate", _run(MODEL, {"prompt": SURROGATE}), InvalidRequestError, "prompt"),
    (
        "message-surrogate",
        _chat(MODEL, {"messages": [{"role": "user", "content": "ok"}, {"content": SURROGATE}]}),
        InvalidRequestError,
        "messages[1].content",
    ),
    ("not-json", _run(MODEL, {"prompt": "x", "when": object()}), InvalidRequestError, "when"),
    (
        "header-crlf",
        _chat(MODEL, CHAT, headers={"x-session-affinity": "s1\r\nx-evil: 1"}),
        InvalidRequestError,
        "x-session-affinity",
    ),
    ("header-name", _chat(MODEL, CHAT, headers={"bad name": "v"}), InvalidRequestError, "headers"),
    ("header-non-ascii", _run(MODEL, CHAT, headers={"x-a": "é"}), InvalidRequestError, "x-a"),
    ("timeout-nan", _run(MODEL, {"prompt": "x"}, timeout=math.nan), ConfigurationError, "timeout"),
    (
        "timeout-httpx-inf",
        _chat(MODEL, CHAT, timeout=httpx.Timeout(math.inf)),
        ConfigurationError,
        "timeout",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "names"), [c[1:] for c in CALL_CASES], ids=[c[0] for c in CALL_CASES]
)
@pytest.mark.parametrize("method_kind", ["plain", "stream"])
def test_bad_call_values_fail_before_any_request(
    runner: Runner,
    call: tuple[str, tuple[Any, ...], dict[str, Any]],
    error: type[Exception],
    names: str,
    method_kind: str,
) -> None:
    method, args, kwargs = call
    if method_kind == "stream":
        method = {"run": "stream", "chat": "stream_chat", "openai": "openai_stream"}[method]
    rec = Recorder([OK])
    with pytest.raises(error) as info:
        runner.call(rec, method, *args, **kwargs)
    assert names in str(info.value)
    assert rec.requests == []


# -- the closed http_client you passed -----------------------------------------------------------
def test_a_closed_user_http_client_is_a_typed_error_before_any_request(kind: str) -> None:
    counter = Counter()
    client = build(kind, counter)
    if isinstance(client, WorkersAIClient):
        client._http_client.close()  # type: ignore[union-attr]
        with pytest.raises(ConfigurationError, match="http_client"):
            client.run(MODEL, {"prompt": "x"})
    else:

        async def go() -> None:
            await client._http_client.aclose()  # type: ignore[union-attr]
            with pytest.raises(ConfigurationError, match="http_client"):
                await client.run(MODEL, {"prompt": "x"})

        asyncio.run(go())
    assert counter.requests == []


# -- the neutral payload builder: the message index and the parameter ---------------------------
def _tool_call(arguments: str) -> ToolCall:
    return ToolCall(id="call_1", name="lookup", arguments=None, raw_arguments=arguments)


BODY_CASES: list[tuple[str, ChatRequest, str]] = [
    (
        "user-text",
        ChatRequest(messages=[Message("system", "Be brief."), Message("user", SURROGATE)]),
        "Message 1",
    ),
    (
        "text-part",
        ChatRequest(messages=[Message("user", [TextPart("ok"), TextPart(SURROGATE)])]),
        "Message 0",
    ),
    (
        "tool-result",
        ChatRequest(
            messages=[
                Message("user", "Look it up"),
                Message("assistant", "", tool_calls=[_tool_call('{"q": "x"}')]),
                Message("tool", SURROGATE, tool_call_id="call_1", name="lookup"),
            ]
        ),
        "Message 2",
    ),
    (
        "tool-call-arguments",
        ChatRequest(
            messages=[
                Message("user", "Look it up"),
                Message("assistant", "", tool_calls=[_tool_call(f'{{"q": "{SURROGATE}"}}')]),
            ]
        ),
        "Message 1",
    ),
    (
        "speaker-name",
        ChatRequest(messages=[Message("user", "hi", name=SURROGATE)]),
        "Message 0: its name",
    ),
    (
        "temperature-nan",
        ChatRequest([Message("user", "hi")], params={"temperature": math.nan}),
        "temperature",
    ),
    ("top-p-inf", ChatRequest([Message("user", "hi")], params={"top_p": math.inf}), "top_p"),
    (
        "penalty-minus-inf",
        ChatRequest([Message("user", "hi")], params={"presence_penalty": -math.inf}),
        "presence_penalty",
    ),
    (
        "stop-surrogate",
        ChatRequest([Message("user", "hi")], params={"stop": ["ok", SURROGATE]}),
        "stop[1]",
    ),
]


@pytest.mark.parametrize(
    ("request_", "names"), [c[1:] for c in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
@pytest.mark.parametrize("endpoint", ["native", "openai"])
def test_build_chat_body_names_the_message_or_parameter(
    request_: ChatRequest, names: str, endpoint: Any
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_chat_body(MODEL, request_, endpoint=endpoint)
    assert names in str(info.value)
    assert SURROGATE not in str(info.value)


def test_good_unicode_and_numbers_still_pass() -> None:
    request = ChatRequest(
        messages=[Message("user", "Grüße 👋 — 你好")],
        params={"temperature": 0.0, "top_p": 1, "seed": 7, "stop": ["\n\n"]},
    )
    body = build_chat_body(MODEL, request)
    assert body["messages"][0]["content"] == "Grüße 👋 — 你好"


# -- the framework classes -----------------------------------------------------------------------
def _lc(counter: Counter, **kwargs: Any) -> ChatWorkersAI:
    return ChatWorkersAI(
        model=MODEL,
        account_id=ACCOUNT,
        api_token=TOKEN,
        http_client=httpx.Client(transport=httpx.MockTransport(counter)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(counter)),
        **kwargs,
    )


def _li(counter: Counter, **kwargs: Any) -> WorkersAI:
    return WorkersAI(
        model=MODEL,
        account_id=ACCOUNT,
        api_token=TOKEN,
        http_client=httpx.Client(transport=httpx.MockTransport(counter)),
        async_http_client=httpx.AsyncClient(transport=httpx.MockTransport(counter)),
        **kwargs,
    )


FRAMEWORK_CASES: list[tuple[str, dict[str, Any], Any, dict[str, Any], str]] = [
    ("temperature-nan", {"temperature": math.nan}, "hi", {}, "temperature"),
    ("call-top-p-inf", {}, "hi", {"top_p": math.inf}, "top_p"),
    ("frequency-penalty-nan", {}, "hi", {"frequency_penalty": math.nan}, "frequency_penalty"),
    ("surrogate-message", {}, ["ok", SURROGATE], {}, "Message 1"),
    ("session-affinity-crlf", {"session_affinity": "s1\r\nx-evil: 1"}, "hi", {}, "session"),
    ("session-affinity-non-ascii", {"session_affinity": "sé"}, "hi", {}, "session"),
    ("model-dotdot", {}, "hi", {"model": "@cf/meta/.."}, "model"),
]


def _lc_messages(value: Any) -> Any:
    if isinstance(value, list):
        return [HumanMessage(value[0]), AIMessage(value[1])]
    return value


@pytest.mark.parametrize(
    ("fields", "prompt", "call_kwargs", "names"),
    [c[1:] for c in FRAMEWORK_CASES],
    ids=[c[0] for c in FRAMEWORK_CASES],
)
def test_langchain_chat_rejects_before_any_request(
    kind: str, fields: dict[str, Any], prompt: Any, call_kwargs: dict[str, Any], names: str
) -> None:
    counter = Counter()
    with pytest.raises((InvalidRequestError, ConfigurationError)) as info:
        llm = _lc(counter, **fields)
        if kind == "sync":
            llm.invoke(_lc_messages(prompt), **call_kwargs)
        else:
            asyncio.run(llm.ainvoke(_lc_messages(prompt), **call_kwargs))
    assert names in str(info.value)
    assert counter.requests == []


@pytest.mark.parametrize(
    ("fields", "prompt", "call_kwargs", "names"),
    [c[1:] for c in FRAMEWORK_CASES],
    ids=[c[0] for c in FRAMEWORK_CASES],
)
def test_llama_index_chat_rejects_before_any_request(
    kind: str, fields: dict[str, Any], prompt: Any, call_kwargs: dict[str, Any], names: str
) -> None:
    counter = Counter()
    texts = prompt if isinstance(prompt, list) else [prompt]
    roles = ["user", "assistant"]
    messages = [ChatMessage(role=roles[i % 2], content=t) for i, t in enumerate(texts)]
    with pytest.raises((InvalidRequestError, ConfigurationError)) as info:
        llm = _li(counter, **fields)
        if kind == "sync":
            llm.chat(messages, **call_kwargs)
        else:
            asyncio.run(llm.achat(messages, **call_kwargs))
    assert names in str(info.value)
    assert counter.requests == []


def test_a_langchain_tool_result_with_a_surrogate_names_its_message() -> None:
    counter = Counter()
    messages = [
        HumanMessage("Look it up"),
        AIMessage("", tool_calls=[{"id": "call_1", "name": "lookup", "args": {"q": "x"}}]),
        ToolMessage(SURROGATE, tool_call_id="call_1"),
    ]
    with pytest.raises(InvalidRequestError, match="Message 2"):
        _lc(counter).invoke(messages)
    assert counter.requests == []


# -- the validators themselves -------------------------------------------------------------------
@pytest.mark.parametrize(
    "model",
    [
        "@cf/meta/llama-3.1-8b-instruct",
        "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        "@hf/thebloke/deepseek-coder-6.7b-base-awq",
        "@cf/baai/bge-m3",
        "@cf/black-forest-labs/flux-1-schnell",
        "@cf/openai/gpt-oss-120b",
        "@cf/myorg/model..v2",  # '..' inside a part is not a dot segment
        "my-finetune:v1",
    ],
)
def test_real_model_ids_pass(model: str) -> None:
    assert validate_model_id(model) == model


def test_url_segments_are_percent_encoded() -> None:
    s = resolve_settings(account_id="acc:1", api_token=TOKEN, gateway="gw@x", env={})
    assert "/acc%3A1/gw%40x/workers-ai/@cf/meta/" in s.run_url(MODEL)
    direct = resolve_settings(account_id="acc:1", api_token=TOKEN, env={})
    assert "/accounts/acc%3A1/ai/run/@cf/meta/" in direct.run_url(MODEL)
    assert direct.run_url("@cf/x/a+b:c").endswith("/ai/run/@cf/x/a%2Bb%3Ac")


@pytest.mark.parametrize("value", ["", ".", "..", "a/b", "a b", "a?b", "a#b", "a%2e", "é", 3, None])
def test_path_segment_validator(value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="index_name"):
        validate_path_segment(value, "index_name")


def test_path_segment_validator_can_raise_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="index_name"):
        validate_path_segment("..", "index_name", error=ConfigurationError)
    assert validate_path_segment("docs-v2.1", "index_name") == "docs-v2.1"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("s1", True),
        ("a b\tc", True),
        ("a\r\nb", False),
        ("a\rb", False),
        ("a\x00", False),
        ("a\x7f", False),
        ("é", False),
        (" a", False),
        ("a\t", False),
    ],
)
def test_header_value_validator(value: str, ok: bool) -> None:
    if ok:
        assert validate_header_value(value, "session_affinity") == value
        validate_header("x-session-affinity", value, "headers")
        return
    with pytest.raises(ConfigurationError, match="session_affinity") as info:
        validate_header_value(value, "session_affinity", header="x-session-affinity")
    assert "x-session-affinity" in str(info.value)
    with pytest.raises(InvalidRequestError, match="x-session-affinity"):
        validate_header("x-session-affinity", value, "headers", error=InvalidRequestError)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("cf-aig-authorization", True),
        ("Proxy-Authorization", True),
        ("x-api-key", True),
        ("X-Auth-Token", True),
        ("Cookie", True),
        ("x-client-secret", True),
        ("User-Agent", False),
        ("x-session-affinity", False),
        ("cf-aig-metadata", False),
        ("Content-Type", False),
    ],
)
def test_secret_header_names(name: str, secret: bool) -> None:
    assert is_secret_header(name) is secret


def test_request_headers_mask_tokens_in_repr_and_str() -> None:
    settings = resolve_settings(
        account_id=ACCOUNT, api_token=TOKEN, gateway="gw", gateway_token="GW_SECRET", env={}
    )
    headers = settings.headers()
    assert headers["Authorization"] == f"Bearer {TOKEN}"  # still the real values to send
    assert headers["cf-aig-authorization"] == "Bearer GW_SECRET"
    for text in (repr(headers), str(headers), f"{headers}", repr([headers])):
        assert TOKEN not in text and "GW_SECRET" not in text
        assert "[secure]" in text
    assert settings.gateway is not None
    assert "GW_SECRET" not in repr(settings.gateway.headers())


def test_a_call_masks_tokens_and_sends_the_same_json_as_httpx() -> None:
    client = WorkersAIClient(account_id=ACCOUNT, api_token=TOKEN)  # no pool: nothing is sent
    body = {"prompt": "Grüße 👋", "temperature": 0.5, "nested": {"a": [1, None, True]}}
    call = client._run_call(
        MODEL, body, stream=False, timeout=None, headers={"x-trace": "t1"}, params=None
    )
    assert isinstance(call, _Call) and isinstance(call.headers, RedactedHeaders)
    assert TOKEN not in repr(call) and "x-trace" in repr(call)
    sent = call.request()
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.content == httpx.Request("POST", "http://x", json=body).content


# -- batch request ids ---------------------------------------------------------------------------
@pytest.mark.parametrize("request_id", ["", "..", "a/b", "a b", None, 7])
def test_a_bad_batch_request_id_is_rejected_before_polling(request_id: Any) -> None:
    sent: list[Any] = []

    async def send(model: str, body: Any, *, params: Any = None) -> Any:
        sent.append(body)
        return {"status": "queued"}

    async def no_sleep(delay: float) -> None:
        return None

    with pytest.raises(InvalidRequestError, match="request_id"):
        asyncio.run(wait_for_job(send, MODEL, request_id, BatchPollPolicy(), sleep=no_sleep))
    assert sent == []


def test_the_batch_api_returning_an_unusable_request_id_is_a_response_error() -> None:
    with pytest.raises(APIResponseValidationError, match="request_id"):
        parse_submit({"status": "queued", "request_id": "../x"})
    assert parse_submit({"request_id": "9b0b54b8-1c8a-4f4e-9e6b-0f5c1f0b8a2d"})
