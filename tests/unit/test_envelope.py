"""Envelope unwrapping and the error table: every code of spec §9 maps to a typed error."""

from __future__ import annotations

import json
import pickle

import pytest

from workers_ai import errors as E
from workers_ai.envelope import meta_from_headers, status_error_from_response, unwrap_response


def body(code: int | None, message: str) -> bytes:
    errors = [{"code": code, "message": message}] if code is not None else []
    return json.dumps({"result": None, "success": False, "errors": errors, "messages": []}).encode()


# (HTTP status, Cloudflare code, message, expected class, text the hint must contain)
# Codes and statuses transcribed from spec §9 (R25 table, R37-R39 observed bodies).
ERROR_TABLE = [
    (401, 10000, "Authentication error", E.AuthenticationError, "CLOUDFLARE_API_TOKEN"),
    (403, 10000, "Authentication error", E.AuthenticationError, "Workers AI Read"),
    (
        404,
        7003,
        "Could not route to /client/v4/accounts/x/ai/run, perhaps your object identifier is "
        "invalid?",
        E.AccountNotFoundError,
        "account id",
    ),
    (400, 7000, "No route for that URI", E.AccountNotFoundError, "CLOUDFLARE_ACCOUNT_ID"),
    (400, 5007, "No such model @cf/x/y or task", E.ModelNotFoundError, "model id"),
    (404, 3042, "Invalid model name", E.ModelNotFoundError, "models_search"),
    (400, 5006, "AiError: Bad input: Error: oneOf at '/' not met", E.BadRequestError, None),
    (400, 3030, "AiError: Max context reached", E.BadRequestError, None),
    (400, 5004, "Invalid data type for base64 input", E.BadRequestError, "base64"),
    (400, 3003, "Request missing headers or body", E.BadRequestError, None),
    (405, 5005, "Model does not support LoRA", E.LoRANotSupportedError, "lora"),
    (403, 5018, "Account not allowed to access model", E.PermissionDeniedError, "may not"),
    (403, 3041, "Account not allowed to access model", E.PermissionDeniedError, "may not"),
    (403, 5016, "Model agreement required", E.PermissionDeniedError, "agree"),
    (403, 3023, "Service unavailable for account", E.PermissionDeniedError, None),
    (413, 3006, "Request too large", E.PayloadTooLargeError, "fewer"),
    (408, 3007, "Request timeout", E.RequestTimeoutError, "Stream"),
    (408, 3008, "Request aborted", E.RequestTimeoutError, None),
    (
        429,
        3021,
        "rate limiting: inference request per min rate reached",
        E.RateLimitError,
        "per minute",
    ),
    (429, 3040, "Capacity temporarily exceeded, please try again.", E.CapacityError, "Retry"),
    (429, 3036, "Daily free allocation exhausted", E.QuotaExceededError, "00:00 UTC"),
    (429, 4006, "you have used up your daily free allocation", E.QuotaExceededError, "UTC"),
    (500, None, "", E.InternalServerError, None),
    (502, None, "", E.InternalServerError, None),
    (503, 9999, "Service Unavailable", E.InternalServerError, None),
]


@pytest.mark.parametrize(("status", "code", "message", "cls", "hint"), ERROR_TABLE)
def test_every_documented_code_maps_to_a_typed_error(status, code, message, cls, hint):
    headers = {"cf-ray": "8a1b2c3d4e5f-LHR"}
    error = status_error_from_response(status, headers, body(code, message))
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == code
    assert error.request_id == "8a1b2c3d4e5f-LHR"
    if message:
        assert message in error.message
    if hint:
        assert hint in (error.hint or "")
        assert hint in str(error)
    assert f"HTTP {status}" in str(error)
    with pytest.raises(cls):
        unwrap_response(status, headers, body(code, message))


def test_all_errors_are_catchable_by_family():
    error = status_error_from_response(429, {}, body(3040, "Capacity"))
    assert isinstance(error, E.RateLimitError)
    assert isinstance(error, E.APIStatusError)
    assert isinstance(error, E.APIError)
    assert isinstance(error, E.WorkersAIError)


def test_html_error_body_gives_typed_error_with_short_excerpt():
    html = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 5000 + b"</body>"
    error = status_error_from_response(502, {}, html)
    assert isinstance(error, E.InternalServerError)
    assert "502 Bad Gateway" in error.message
    assert "<html>" not in error.message
    assert len(error.message) < 300


def test_empty_error_body():
    error = status_error_from_response(401, {}, b"")
    assert isinstance(error, E.AuthenticationError)
    assert "CLOUDFLARE_API_TOKEN" in str(error)


def test_success_false_with_200_status_raises():
    # Spec §1 failure envelope; some proxies answer it with HTTP 200.
    with pytest.raises(E.BadRequestError, match="Bad input"):
        unwrap_response(200, {}, body(5006, "AiError: Bad input: missing prompt"))


def test_ai_gateway_singular_error_key():
    # Spec §9: AI Gateway errors use {"success": false, "error": [{code, message}]}; 2009 = token.
    content = json.dumps(
        {"success": False, "error": [{"code": 2009, "message": "Unauthorized"}]}
    ).encode()
    error = status_error_from_response(401, {}, content)
    assert isinstance(error, E.AuthenticationError)
    assert error.code == 2009
    assert "cf-aig-authorization" in str(error)


def test_openai_style_error_object():
    content = json.dumps({"error": {"message": "model not found", "type": "invalid"}}).encode()
    error = status_error_from_response(404, {}, content)
    assert isinstance(error, E.NotFoundError)
    assert "model not found" in error.message


def test_several_codes_are_all_kept():
    content = json.dumps(
        {
            "success": False,
            "errors": [{"code": 9001, "message": "a"}, {"code": 5007, "message": "b"}],
        }
    ).encode()
    error = status_error_from_response(400, {}, content)
    assert isinstance(error, E.ModelNotFoundError)
    assert error.codes == (9001, 5007)
    assert error.code == 5007
    assert error.message == "a; b"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # spec §1 success envelope
        (
            b'{"result": {"response": "Hello"}, "success": true, "errors": [], "messages": []}',
            {"response": "Hello"},
        ),
        # observed: OpenAI-compatible route answers without the envelope
        (
            b'{"object": "chat.completion", "choices": []}',
            {"object": "chat.completion", "choices": []},
        ),
        # spec §10 batch ack
        (
            b'{"result": {"status": "queued", "request_id": "r1"}, "success": true, "errors": []}',
            {"status": "queued", "request_id": "r1"},
        ),
    ],
)
def test_unwrap_success(content, expected):
    assert unwrap_response(200, {}, content) == expected


def test_non_json_success_body_is_a_validation_error():
    with pytest.raises(E.APIResponseValidationError, match="non-JSON"):
        unwrap_response(200, {}, b"<html>oops</html>")


def test_meta_from_headers():
    meta = meta_from_headers(
        200,
        {"CF-AIG-Cache-Status": "HIT", "cf-aig-log-id": "log1", "cf-ai-req-id": "req1"},
    )
    assert meta.gateway_cache_status == "HIT"
    assert meta.gateway_log_id == "log1"
    assert meta.request_id == "req1"


def test_status_errors_pickle_round_trip():
    error = status_error_from_response(429, {"retry-after": "3"}, body(3040, "Capacity"))
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is E.CapacityError
    assert clone.code == 3040
    assert clone.headers == {"retry-after": "3"}
    assert str(clone) == str(error)
