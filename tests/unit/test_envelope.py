"""Envelope unwrapping and the error table: every code of spec §9 maps to a typed error."""

from __future__ import annotations

import json
import pickle
import random
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers_ai import envelope
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


# --- Two parsers, one result (issue "Performance", embeddings decode) ---------------------------
# loads_json reads with orjson when it is importable, else with json. Every input gets the
# same value, or the same error with the same message, from both; what orjson reads otherwise
# (integers beyond 64 bits become floats) or rejects (NaN, 1e400, lone surrogates) goes to json.

ORJSON = envelope._ORJSON
needs_orjson = pytest.mark.skipif(ORJSON is None, reason="orjson is not installed")


class _Spy:
    """Stands in for orjson's ``loads`` and records what it was given and what came of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, data: bytes) -> object:
        assert ORJSON is not None
        try:
            value = ORJSON(data)
        except ValueError:
            self.calls.append("rejected")
            raise
        self.calls.append("read")
        return value


def _outcome(call: Callable[..., object], *args: object, **kwargs: object) -> tuple[object, ...]:
    try:
        value = call(*args, **kwargs)
    except Exception as error:  # compared between the parsers, whatever it is
        return ("error", type(error), str(error))
    return ("value", repr(value))  # repr: 1, 1.0 and True differ, and so do -0.0 and 0.0


def _both(call: Callable[..., object], *args: object, **kwargs: object) -> tuple[object, list[str]]:
    """The outcome with orjson (asserted equal to the one with json only) and orjson's calls."""
    spy = _Spy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(envelope, "_ORJSON", spy)
        fast = _outcome(call, *args, **kwargs)
        patch.setattr(envelope, "_ORJSON", None)
        slow = _outcome(call, *args, **kwargs)
    assert fast == slow
    return fast, spy.calls


def test_orjson_is_used_wherever_it_is_installed() -> None:
    try:
        import orjson
    except ImportError:
        assert ORJSON is None
    else:
        assert ORJSON is orjson.loads  # it reads the probes as json does: not switched off


def _embeddings_body(rows: int, dims: int) -> bytes:
    rng = random.Random(rows * dims)
    vectors = [[struct.unpack("f", struct.pack("f", rng.gauss(0, 0.04)))[0] for _ in range(dims)]]
    vectors = [vectors[0][i:] + vectors[0][:i] for i in range(rows)]
    result = {"shape": [rows, dims], "data": vectors, "pooling": "mean"}
    return json.dumps({"result": result, "success": True, "errors": [], "messages": []}).encode()


HUGE = "1" + "0" * 400
# (JSON text, what orjson does with it: "read", "rejected" or "skipped" before it is called)
DIVERGENT = [
    # integers: orjson reads 64 bits exactly and turns larger ones into floats; json keeps them
    ("18446744073709551615", "skipped"),  # 2**64 - 1: read exactly by both, but 20 digits
    ("18446744073709551616", "skipped"),
    ("-9223372036854775808", "skipped"),
    ("-9223372036854775809", "skipped"),
    ("[0.5, 100000000000000000000]", "skipped"),
    ('{"neurons": -12345678901234567890123}', "skipped"),
    (HUGE, "skipped"),
    ("4" * 4301, "skipped"),  # json refuses over 4,300 digits: the same ValueError
    ("1e19", "read"),
    ("123456789012345678", "read"),  # 18 digits: always within 64 bits
    ("[0.0012345678901234567890123]", "read"),  # long fractions are no integers
    ('"12345678901234567890"', "skipped"),  # digits in a string cost only the fast path
    # lone surrogates: json keeps them, orjson rejects them
    ('"\\ud800"', "rejected"),
    ('"\\udc00x"', "rejected"),
    ('"\\ud83d\\u0041"', "rejected"),
    ('{"\\ud800": 1}', "rejected"),
    ('"\\ud83d\\ude00"', "read"),  # a pair is one character for both
    ('"\ud800"', "skipped"),  # a Python str holding one: not UTF-8
    # NaN, infinities and numbers beyond a double: json's constants and inf, orjson rejects
    ("NaN", "rejected"),
    ("[Infinity, -Infinity]", "rejected"),
    ('{"score": NaN}', "rejected"),
    ("1e400", "rejected"),
    ("-1e400", "rejected"),
    ("1.7976931348623159e308", "rejected"),
    ("1e-400", "read"),
    ("-0", "read"),
    ("-0.0", "read"),
    # nesting: json_too_deep decides first, for both
    ("[" * 127 + "]" * 127, "read"),
    ("[" * 128 + "]" * 128, "read"),
    ("[" * 129 + "]" * 129, "skipped"),
    ('{"a":' * 128 + "1" + "}" * 128, "read"),
    ('{"a":' * 129 + "1" + "}" * 129, "skipped"),
    ("[" * 100_000, "skipped"),
    ("[" * 129 + "]", "skipped"),  # too deep although not JSON: the depth error, as ever
    ("[" * 100 + '"' + "]" * 100, "rejected"),  # unterminated string: json's error
    # not JSON: orjson rejects, json's error (and message) is the one raised
    ("", "rejected"),
    (" ", "rejected"),
    ("[1,]", "rejected"),
    ('{"a": 1,}', "rejected"),
    ("01", "rejected"),
    ("1.", "rejected"),
    (".5", "rejected"),
    ("+1", "rejected"),
    ("[1] x", "rejected"),
    ("\x0c[1]", "rejected"),
    ("[1\u00a0]", "rejected"),
    ("/* c */ [1]", "rejected"),
    ("'a'", "rejected"),
    ('"\x01"', "rejected"),
    ('"\\x"', "rejected"),
    ("\ufeff[1]", "rejected"),  # json.loads refuses a BOM in a str
    # the same value from both
    ('{"a": 1, "b": 2, "a": 3}', "read"),
    ('"\\u0000\\/\\"\u2028é😀"', "read"),
    ("[true, false, null, 1, 1.0, 1E2, 0.1]", "read"),
]


@needs_orjson
@pytest.mark.parametrize(("text", "orjson"), DIVERGENT, ids=[repr(t)[:40] for t, _ in DIVERGENT])
def test_both_parsers_give_the_same_value_or_error(text: str, orjson: str) -> None:
    outcome, calls = _both(loads_json, text)
    assert calls == ([] if orjson == "skipped" else [orjson])
    _both(loads_json, text.encode("utf-8", "surrogatepass"))
    if outcome[0] == "value":
        assert outcome == _outcome(json.loads, text)  # json's own value, unchanged


@needs_orjson
@pytest.mark.parametrize(
    ("content", "orjson"),
    [
        (b'"\xed\xa0\x80"', "rejected"),  # UTF-8 of a surrogate: json decodes it (surrogatepass)
        (b'"\xff"', "rejected"),  # not UTF-8: json's UnicodeDecodeError
        (b"\xef\xbb\xbf[1]", "skipped"),  # BOM: json.loads skips it in bytes
        ("[1]".encode("utf-16"), "skipped"),
        ("[1]".encode("utf-32-le"), "skipped"),
        (b"[" * 129 + b"\xff", "skipped"),  # not UTF-8 and too deep: the decoding error, as ever
    ],
)
def test_both_parsers_read_bytes_alike(content: bytes, orjson: str) -> None:
    assert _both(loads_json, content)[1] == ([] if orjson == "skipped" else [orjson])
    _both(unwrap_response, 200, {}, content)
    _both(status_error_from_response, 429, {}, content)


@needs_orjson
@pytest.mark.parametrize(("rows", "dims"), [(100, 768), (100, 1024), (1, 1024)])
def test_large_embeddings_replies_are_read_by_orjson_alike(rows: int, dims: int) -> None:
    content = _embeddings_body(rows, dims)
    outcome, calls = _both(unwrap_response, 200, {}, content)
    assert calls == ["read"]
    assert outcome == ("value", repr(json.loads(content)["result"]))
    with_huge = content.replace(f'"shape": [{rows},'.encode(), f'"shape": [{HUGE},'.encode())
    assert _both(unwrap_response, 200, {}, with_huge)[1] == []
    with_nan = content.replace(b"]]", b", NaN]]")
    outcome, calls = _both(unwrap_response, 200, {}, with_nan)
    assert calls == ["rejected"] and "nan" in str(outcome)


@needs_orjson
def test_max_size_and_keyword_arguments_are_kept() -> None:
    assert _both(loads_json, "[1, 2]", max_size=5)[0][0] == "error"
    outcome, calls = _both(loads_json, "[1.5, 2]", parse_float=str)
    assert outcome == ("value", "['1.5', 2]") and calls == []  # hooks: json only


_json_chars = st.sampled_from(
    [*'[]{}",:-+.eE0123456789 \t\n\r\\/ubfnrtalsNIy', "\x0c", "\x00", "é", "\ud83d", "😀"]
)


@needs_orjson
@settings(max_examples=500, deadline=None)
@given(text=st.lists(_json_chars, max_size=24).map("".join))
def test_fuzz_both_parsers_agree_on_any_text(text: str) -> None:
    _both(loads_json, text)
    _both(loads_json, text.encode("utf-8", "surrogatepass"))


class Raw(str):
    """A number's JSON text, written as is."""


def _dumps(value: object, ascii_only: bool) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v, ascii_only) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(k)}:{_dumps(v, ascii_only)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    return json.dumps(value, ensure_ascii=ascii_only)


_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 10, max_value=2**64 + 10),
    st.integers(min_value=-(2**63) - 10, max_value=-(2**63) + 10),
    st.floats(),
    st.floats(width=32),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Raw(str(d).replace("+", ""))),
    st.from_regex(
        r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?", fullmatch=True
    ).map(Raw),
)
_values = st.recursive(
    _numbers | st.text(max_size=8) | st.booleans() | st.none(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children)
    ),
    max_leaves=20,
)


@needs_orjson
@settings(max_examples=500, deadline=None)
@given(value=_values, ascii_only=st.booleans())
def test_fuzz_both_parsers_agree_on_json_values(value: object, ascii_only: bool) -> None:
    text = _dumps(value, ascii_only)
    _both(loads_json, text)
    _both(loads_json, text.encode("utf-8", "surrogatepass"))
