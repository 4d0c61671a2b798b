"""GatewayOptions (spec: cloudflare-ai-platform-api.md §1.2, §1.6): headers, validation,
contradictions, per-call merging, and the provider key kept secret."""

from __future__ import annotations

import pickle
import traceback

import pytest

from tests.support.mock_transport import ACCOUNT, TOKEN
from workers_ai import ConfigurationError, GatewayOptions
from workers_ai.settings import gateway_call_headers, merge_gateway_options, resolve_settings

KEY = "sk-provider-secret-9f8e7d"


def test_every_option_becomes_its_header() -> None:
    options = GatewayOptions(
        "gw",
        routing="header",
        byok_alias="prod",
        no_wholesale=True,
        zdr=False,
        collect_log_payload=False,
        event_id="ev-1",
        custom_cost={"per_token_in": 0.000001, "per_token_out": 0.000002},
        session_id="s1",
        turn_id="t1",
        no_session_affinity=True,
        allowed_models=["openai/gpt-4.1", "anthropic/claude-sonnet-4-5"],
        allowed_providers=("openai",),
        cache_ttl=60,
        metadata={"user": "u1", "n": 3, "ok": True},
    )
    assert options.headers() == {
        "cf-aig-gateway-id": "gw",
        "cf-aig-byok-alias": "prod",
        "cf-aig-no-wholesale": "true",
        "cf-aig-zdr": "false",
        "cf-aig-collect-log-payload": "false",
        "cf-aig-event-id": "ev-1",
        "cf-aig-custom-cost": '{"per_token_in":1e-06,"per_token_out":2e-06}',
        "cf-aig-session-id": "s1",
        "cf-aig-turn-id": "t1",
        "cf-aig-no-session-affinity": "true",
        "cf-aig-allowed-models": "openai/gpt-4.1,anthropic/claude-sonnet-4-5",
        "cf-aig-allowed-providers": "openai",
        "cf-aig-cache-ttl": "60",
        "cf-aig-metadata": '{"user":"u1","n":3,"ok":true}',
    }


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"cache_ttl": 59}, "cache_ttl=59"),
        ({"cache_ttl": 30 * 24 * 3600 + 1}, "one month"),
        ({"metadata": {str(i): i for i in range(6)}}, "at most 5"),
        ({"metadata": {"a": None}}, "drop the whole metadata"),
        ({"metadata": {"a": {"b": 1}}}, "drop the whole metadata"),
        ({"custom_cost": {"per_token_in": -1}}, "non-negative"),
        ({"custom_cost": {"total_cost": float("inf")}}, "non-negative finite"),
        ({"custom_cost": {"per_cache_read_token": 1}}, "either per_token_in"),
        ({"custom_cost": {"total_cost": 1, "per_token_in": 1}}, "not both"),
        ({"custom_cost": {"price": 1}}, "unknown keys"),
        ({"zdr": "yes"}, "zdr='yes'"),
        ({"byok_alias": "a\nb"}, "line break"),
        ({"allowed_models": ["a,b"]}, "without ','"),
        ({"event_id": ""}, "event_id is empty"),
    ],
)
def test_bad_values_fail_at_construction_naming_the_option(options, words) -> None:
    with pytest.raises(ConfigurationError, match="Invalid AI Gateway option") as info:
        GatewayOptions("gw", **options)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"routing": "header", "provider_api_key": KEY}, "pick it with byok_alias"),
        ({"provider_api_key": KEY, "zdr": True}, "zdr applies to Unified Billing only"),
        ({"provider_api_key": KEY, "byok_alias": "prod"}, "byok_alias and provider_api_key"),
    ],
)
def test_contradictions_name_both_options(options, words) -> None:
    with pytest.raises(ConfigurationError) as info:
        GatewayOptions("gw", **options)
    assert words in str(info.value) and KEY not in str(info.value)


def test_provider_key_never_shows() -> None:
    options = GatewayOptions("gw", provider_api_key=KEY)
    settings = resolve_settings(account_id=ACCOUNT, api_token=TOKEN, gateway=options, env={})
    headers = gateway_call_headers(settings, {"event_id": "e"}, model="openai/gpt-4.1")
    assert headers["Authorization"] == f"Bearer {KEY}"
    for shown in (repr(options), str(options), repr(settings), repr(headers)):
        assert KEY not in shown
    with pytest.raises(ConfigurationError) as info:
        GatewayOptions("gw", provider_api_key=KEY + " x")
    report = "".join(traceback.format_exception(info.value)) + repr(pickle.dumps(info.value))
    assert KEY not in report and "provider_api_key" in str(info.value)


def test_per_call_options_merge_onto_the_settings() -> None:
    base = GatewayOptions("gw", routing="header", cache_ttl=120, byok_alias="prod")
    merged = merge_gateway_options(base, {"cache_ttl": 300, "event_id": "e1", "zdr": None})
    assert merged is not None
    assert (merged.id, merged.cache_ttl, merged.byok_alias, merged.event_id, merged.zdr) == (
        "gw", 300, "prod", "e1", None
    )  # fmt: skip
    assert merge_gateway_options(base, {}) is base
    fresh = merge_gateway_options(None, {"skip_cache": True})
    assert fresh is not None and fresh.headers() == {
        "cf-aig-gateway-id": "default", "cf-aig-skip-cache": "true"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("base", "overrides", "words"),
    [
        (GatewayOptions("gw", routing="header"), {"cache_tll": 60}, "did you mean 'cache_ttl'"),
        (GatewayOptions("gw", routing="header"), {"cache_ttl": 5}, "cache_ttl=5"),
        (GatewayOptions("gw"), {"routing": "header"}, "build another model"),
        (GatewayOptions("gw"), {"id": "other"}, "part of the URL"),
    ],
)
def test_per_call_options_are_validated_the_same_way(base, overrides, words) -> None:
    settings = resolve_settings(account_id=ACCOUNT, api_token=TOKEN, gateway=base, env={})
    with pytest.raises(ConfigurationError, match="Invalid AI Gateway option") as info:
        gateway_call_headers(settings, overrides)
    assert words in str(info.value)


def test_gateway_options_mapping_at_settings_takes_the_new_fields() -> None:
    settings = resolve_settings(
        account_id=ACCOUNT,
        api_token=TOKEN,
        gateway="gw",
        gateway_options={"routing": "header", "no_wholesale": True},
        env={},
    )
    assert settings.headers()["cf-aig-no-wholesale"] == "true"
