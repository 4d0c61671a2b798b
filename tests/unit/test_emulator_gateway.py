"""The emulator's pure AI Gateway pieces: model names, billing, metadata, log patches, config."""

from __future__ import annotations

from typing import Any

import pytest

from workers_ai.emulator import EmulatorConfig, providers
from workers_ai.emulator.gateway import (
    GatewayError,
    billing_for,
    check_log_patch,
    parse_metadata,
    parse_name_list,
    resolve_model,
)


@pytest.mark.parametrize(
    ("model", "surface", "kind", "code"),
    [
        ("openai/gpt-4.1", "rest", "third_party", None),
        ("anthropic/claude-sonnet-4.5", "rest", "third_party", None),
        ("anthropic/claude-haiku-4-5-20251001", "rest", None, 7003),
        ("google-ai-studio/gemini-2.5-flash", "rest", None, 7003),
        ("@cf/meta/llama-3.1-8b-instruct", "rest", "workers_ai", None),
        ("dynamic/support", "rest", "dynamic", None),
        ("cloudflare/auto", "compat", "auto", None),
        ("google-ai-studio/gemini-2.5-flash", "compat", "third_party", None),
        ("custom-acme/anything", "compat", "third_party", None),
        ("workers-ai/@cf/meta/llama-3.1-8b-instruct", "compat", "workers_ai", None),
        ("@cf/meta/llama-3.1-8b-instruct", "compat", None, 2005),
        ("openai/gpt-9", "compat", None, 2005),
        ("nope/model", "compat", None, 2008),
        ("custom-/model", "compat", None, 2008),
    ],
)
def test_resolve_model_per_surface(
    model: str, surface: Any, kind: str | None, code: int | None
) -> None:
    if code is None:
        assert resolve_model(model, surface).kind == kind
    else:
        with pytest.raises(GatewayError) as info:
            resolve_model(model, surface)
        assert info.value.code == code


def test_gateway_error_bodies() -> None:
    error = GatewayError(402, 2021, "Insufficient balance")
    assert error.body() == {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": 2021, "message": "Insufficient balance"}],
        "name": "AiGatewayError",
        "httpCode": 402,
        "internalCode": 2021,
    }
    assert error.v4_body()["errors"] == [{"code": 2021, "message": "Insufficient balance"}]


def test_billing_order_key_then_alias_then_unified() -> None:
    row = providers.by_rest_id("openai/gpt-4.1")
    assert row is not None
    assert billing_for(row, {}, provider_key=True, byok_aliases={}) == ("provider_key", None)
    stored = {"openai": ["default"]}
    assert billing_for(row, {}, provider_key=False, byok_aliases=stored) == ("byok", "default")
    assert billing_for(row, {}, provider_key=False, byok_aliases=None) == ("unified", None)
    assert billing_for(row, {}, provider_key=False, byok_aliases={}) == ("unified", None)
    with pytest.raises(GatewayError) as info:
        billing_for(row, {"cf-aig-no-wholesale": "true"}, provider_key=False, byok_aliases={})
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"user": "1", "n": 2, "ok": true}', {"user": "1", "n": 2, "ok": True}),
        ('{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}', {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}),
        ('{"a": null}', None),
        ('{"a": {"b": 1}}', None),
        ("[1]", None),
        ("not json", None),
        (None, None),
    ],
)
def test_parse_metadata(raw: str | None, expected: Any) -> None:
    assert parse_metadata(raw) == expected


def test_parse_name_list_accepts_commas_and_json() -> None:
    assert parse_name_list("a/b, c/d") == ["a/b", "c/d"]
    assert parse_name_list('["a/b"]') == ["a/b"]
    assert parse_name_list(None) is None


@pytest.mark.parametrize(
    "body", [[], {"feedback": True}, {"feedback": 2}, {"score": -1}, {"metadata": [1]}, {"x": 1}]
)
def test_check_log_patch_rejects(body: Any) -> None:
    with pytest.raises(ValueError):
        check_log_patch(body)


def test_check_log_patch_keeps_given_fields() -> None:
    assert check_log_patch({"feedback": None, "score": 55.5}) == {"feedback": None, "score": 55.5}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"dynamic_routes": {"r": ["openai/gpt-99"]}}, "openai/gpt-99"),
        ({"dynamic_routes": {"r": []}}, "non-empty"),
        ({"byok_aliases": {"openia": ["default"]}}, "openia"),
        ({"authenticated_gateways": "secure-gw"}, "set of gateway ids"),
        ({"rest_gateway_errors": "plural"}, "'gateway' or 'v4'"),
    ],
)
def test_config_rejects_bad_gateway_settings(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        EmulatorConfig(**fields)
