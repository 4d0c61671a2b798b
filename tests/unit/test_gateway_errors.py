"""AI Gateway failures -> typed errors (spec: cloudflare-ai-platform-api.md §1.10): the
gateway's own body, the v4 form, and provider errors passed through (OpenAI, Anthropic)."""

from __future__ import annotations

import json
import pickle

import httpx
import pytest

from tests.support.mock_transport import Recorder
from workers_ai import (
    AuthenticationError,
    BadRequestError,
    BYOKAliasError,
    ContentBlockedError,
    GatewayNotFoundError,
    GatewayOptions,
    InsufficientCreditsError,
    InternalServerError,
    RateLimitError,
    SpendLimitError,
)
from workers_ai.envelope import status_error_from_response
from workers_ai.retry import is_retryable


def gateway_body(code: int, message: str, http_code: int) -> bytes:
    """The gateway's own failure body (§1.10, verbatim shape: singular ``error``)."""
    return json.dumps(
        {"success": False, "result": [], "messages": [],
         "error": [{"code": code, "message": message}], "name": "AiGatewayError",
         "httpCode": http_code, "internalCode": code}
    ).encode()  # fmt: skip


ALIAS_MESSAGE = (
    "Provider 'openai' has no BYOK credential named 'prod'. Configured aliases: default, staging"
)


@pytest.mark.parametrize(
    ("status", "code", "message", "cls", "retried", "hint_words"),
    [
        (401, 2009, "Unauthorized", AuthenticationError, False, "cf-aig-authorization"),
        (402, 2021, "Insufficient balance; add money to your gateway or use BYOK",
         InsufficientCreditsError, False, "Unified Billing"),
        (400, 2040, ALIAS_MESSAGE, BYOKAliasError, False, "configured aliases"),
        (429, 2041, "Spend limit exceeded: rule 'r1'", SpendLimitError, False, "spend limit"),
        (429, 2003, "Rate limited", RateLimitError, True, "rate-limiting"),
        (502, 2005, "Failed to get response from provider", InternalServerError, True,
         "no answer from the provider"),
        (400, 2005, "Failed to get response from provider", BadRequestError, False,
         "check the model id"),
        (400, 2008, "Invalid provider", BadRequestError, False, "Unknown provider"),
        (400, 2001, "Gateway does not exist", GatewayNotFoundError, False, "Create the gateway"),
        (424, 2016, "Prompt blocked", ContentBlockedError, False, "blocked the prompt"),
        (424, 2017, "Response blocked", ContentBlockedError, False, "blocked the model"),
    ],
)  # fmt: skip
def test_gateway_codes_map_to_typed_errors(status, code, message, cls, retried, hint_words):
    error = status_error_from_response(
        status, {}, gateway_body(code, message, 999), provider="openai", gateway_id="gw"
    )
    assert type(error) is cls
    assert (error.status_code, error.code, error.provider) == (status, code, "openai")
    assert is_retryable(error) is retried
    assert hint_words in str(error) and "provider openai" in str(error)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is cls and str(clone) == str(error) and clone.provider == "openai"


def test_byok_alias_error_lists_the_configured_aliases() -> None:
    error = status_error_from_response(400, {}, gateway_body(2040, ALIAS_MESSAGE, 400))
    assert isinstance(error, BYOKAliasError)
    assert error.aliases == ("default", "staging")


def test_missing_gateway_is_named() -> None:
    body = gateway_body(2001, "Gateway does not exist", 400)
    error = status_error_from_response(400, {}, body, gateway_id="my-gw")
    assert "'my-gw'" in str(error)


def test_the_status_wins_over_the_bodys_http_code() -> None:
    error = status_error_from_response(401, {}, gateway_body(2009, "Unauthorized", 400))
    assert error.status_code == 401


def test_v4_errors_form_is_read_too() -> None:
    body = json.dumps({"success": False, "errors": [{"code": 2021, "message": "No credits"}]})
    error = status_error_from_response(402, {}, body.encode(), provider="google")
    assert isinstance(error, InsufficientCreditsError) and error.message == "No credits"


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                         "code": "invalid_api_key", "param": None}},
         AuthenticationError, "Incorrect API key provided"),
        (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}},
         RateLimitError, "Slow down"),
        (400, {"type": "error", "error": {"type": "invalid_request_error",
                                          "message": "max_tokens: required"}},
         BadRequestError, "max_tokens: required"),
    ],
)  # fmt: skip
def test_provider_errors_pass_through_with_the_provider_named(status, body, cls, message):
    error = status_error_from_response(status, {}, json.dumps(body).encode(), provider="anthropic")
    assert type(error) is cls and error.message == message
    assert "provider anthropic" in str(error)
    assert "Workers AI Read" not in str(error)  # the gateway's hints, not Workers AI's


def test_workers_ai_errors_are_unchanged() -> None:
    body = json.dumps({"success": False, "errors": [{"code": 10000, "message": "Auth"}]})
    error = status_error_from_response(401, {}, body.encode())
    assert error.provider is None and "Workers AI Read" in str(error)
    assert "provider" not in str(error)


def test_client_errors_name_provider_and_are_not_retried(runner) -> None:
    body = gateway_body(2021, "Insufficient balance", 402)
    rec = Recorder([httpx.Response(402, content=body)])
    with pytest.raises(InsufficientCreditsError) as info:
        runner.call(
            rec,
            "chat",
            "google/gemini-3-flash",
            {"messages": [{"role": "user", "content": "Hi"}]},
            client_kwargs={"gateway": GatewayOptions("gw", routing="header")},
        )
    assert info.value.provider == "google" and len(rec.requests) == 1


def test_client_retries_gateway_rate_limits(runner) -> None:
    ok = {"object": "chat.completion", "model": "openai/gpt-4.1",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}  # fmt: skip
    rec = Recorder(
        [httpx.Response(429, content=gateway_body(2003, "Rate limited", 429)),
         httpx.Response(200, json=ok)]
    )  # fmt: skip
    result = runner.call(
        rec, "chat", "openai/gpt-4.1", {"messages": [{"role": "user", "content": "Hi"}]}
    )
    assert result.result.text == "ok" and len(rec.requests) == 2
