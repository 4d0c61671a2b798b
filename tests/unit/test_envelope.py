"""Envelope unwrapping and the error table: every code of spec §9 maps to a typed error."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers_ai import errors as E
from workers_ai.envelope import (
    MAX_JSON_DEPTH,
    code_from_wire,
    error_details_from_body,
    excerpt,
    json_too_deep,
    loads_json,
    meta_from_headers,
    status_error_from_response,
    unwrap_response,
    value_excerpt,
)


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


# --- Hardening (issue "Reliability and security hardening", item 1) ----------------------------

CODES = [
    (3040, 3040),
    ("3040", 3040),
    (" 3040\n", 3040),
    ("0", 0),
    (999_999_999, 999_999_999),
    (10**9, None),
    ("1234567890", None),
    ("²", None),  # str.isdigit() is True, int() raises
    ("\uff13\uff10\uff14\uff10", None),  # fullwidth digits: int() would accept them
    ("٣٠٤٠", None),  # Arabic-Indic digits: int() would accept them
    ("9" * 5000, None),  # int() would raise past 4300 digits
    (-1, None),
    ("-1", None),
    ("+1", None),
    ("3_040", None),
    (3040.0, None),
    ("3040.0", None),
    ([3040], None),
    ({"code": 3040}, None),
    (True, None),
    (None, None),
    ("", None),
    (10**400, None),
]


@pytest.mark.parametrize(("value", "expected"), CODES, ids=[repr(c[0])[:20] for c in CODES])
def test_code_from_wire_accepts_only_ascii_digits(value: object, expected: int | None) -> None:
    assert code_from_wire(value) == expected


ERROR_BODIES = [
    # (body, codes, message)  -- every documented form, plus junk where objects are expected
    ({"errors": [{"code": 3040, "message": "Capacity"}]}, (3040,), "Capacity"),
    (
        {"success": False, "error": [{"code": 2009, "message": "Unauthorized"}]},
        (2009,),
        "Unauthorized",
    ),
    ({"error": {"message": "boom", "type": "server_error"}}, (), "boom"),
    ({"error": {"type": "server_error"}}, (), "server_error"),
    ({"error": "plain text"}, (), "plain text"),
    ({"errors": ["", "a", 3, None, ["x"]]}, (), "a"),
    ({"errors": [{"code": "²"}, {"code": "5007", "message": "m"}]}, (5007,), "m"),
    ({"errors": [{"message": {"nested": [1, 2]}}]}, (), "{'nested': [1, 2]}"),
    ({"errors": {"code": 3021}}, (3021,), ""),
    ({"errors": 42}, (), ""),
    ([{"code": 3040}], (), ""),
    ("error", (), ""),
    (None, (), ""),
]


@pytest.mark.parametrize(("body", "codes", "message"), ERROR_BODIES)
def test_error_details_from_body(body: object, codes: tuple[int, ...], message: str) -> None:
    details = error_details_from_body(body)
    assert details.codes == codes
    assert details.message == message


def test_error_details_message_is_bounded() -> None:
    details = error_details_from_body({"errors": [{"message": "x" * 5000}] * 10})
    assert len(details.message) <= 1000


def test_error_messages_from_huge_bodies_are_bounded() -> None:
    content = json.dumps({"errors": [{"code": 3040, "message": "x" * 100_000}]}).encode()
    error = status_error_from_response(429, {}, content)
    assert type(error) is E.CapacityError
    assert len(str(error)) < 1_500


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00garbage", "é".encode("latin-1"), b"{" * 10, b"\x00", b'{"a": 1} trailing'],
)
def test_non_json_bodies_are_typed_errors(content: bytes) -> None:
    with pytest.raises(E.APIResponseValidationError, match="non-JSON"):
        unwrap_response(200, {}, content)
    assert type(status_error_from_response(503, {}, content)) is E.InternalServerError


def test_empty_2xx_body_is_a_validation_error() -> None:
    with pytest.raises(E.APIResponseValidationError, match="empty body with HTTP 204"):
        unwrap_response(204, {}, b"")


def test_utf16_json_body_is_read_like_json_loads() -> None:
    assert unwrap_response(200, {}, '{"result": 1, "success": true}'.encode("utf-16")) == 1


def test_loads_json_bounds() -> None:
    depth = MAX_JSON_DEPTH
    assert loads_json("[" * depth + "]" * depth) == json.loads("[" * depth + "]" * depth)
    for text in ["[" * (depth + 1) + "]" * (depth + 1), "[" * 100_000, '{"a":' * 100_000]:
        with pytest.raises(ValueError, match=f"deeper than {depth}"):
            loads_json(text)
    with pytest.raises(ValueError, match="over the limit"):
        loads_json('"' + "x" * 100 + '"', max_size=50)
    with pytest.raises(ValueError):
        loads_json("1" * 5000)  # Python refuses int strings over 4300 digits: still ValueError
    assert loads_json('"\\ud83d"') == "\ud83d"


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


_tricky_strings = st.text(alphabet='[]{}"\\ab\n/u', max_size=6)
_nested = st.recursive(
    st.none() | st.integers() | _tricky_strings,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_tricky_strings, children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=_nested, limit=st.integers(min_value=0, max_value=6), ascii_only=st.booleans())
def test_json_too_deep_is_exact_for_valid_json(value: object, limit: int, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert json_too_deep(text, limit) == (_depth(value) > limit)
    assert json_too_deep(text.encode(), limit) == (_depth(value) > limit)


def test_excerpts_are_short_and_cheap() -> None:
    assert len(excerpt(b"<p>" + b"x" * 10_000_000 + b"</p>")) == 200
    assert value_excerpt(10**5000) == "<int>"  # str() of it would raise
    assert len(value_excerpt({"a": [[[[["x" * 1000]]]]] * 1000})) <= 200
