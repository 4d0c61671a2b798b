"""Settings resolution, URL routing and AI Gateway headers (no sockets)."""

from __future__ import annotations

import httpx
import pytest

from workers_ai import ConfigurationError, GatewayOptions, InvalidRequestError, resolve_settings
from workers_ai.settings import DEFAULT_BASE_URL, DEFAULT_GATEWAY_BASE_URL

TOKEN = "tok_SECRET_123"


def settings(**kw):
    kw.setdefault("env", {})
    return resolve_settings(**kw)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ({"account_id": "arg", "api_token": "argtok"}, {"CLOUDFLARE_ACCOUNT_ID": "env"}, "arg"),
        ({}, {"CLOUDFLARE_ACCOUNT_ID": "cf", "CF_ACCOUNT_ID": "legacy"}, "cf"),
        ({}, {"CF_ACCOUNT_ID": "legacy"}, "legacy"),
        ({}, {"CLOUDFLARE_ACCOUNT_ID": "  ", "CF_ACCOUNT_ID": "legacy"}, "legacy"),
        ({"account_id": ""}, {"CF_ACCOUNT_ID": " legacy\n"}, "legacy"),
    ],
)
def test_account_id_resolution_order(args, env, expected):
    env = {"CLOUDFLARE_API_TOKEN": "t", **env}
    assert resolve_settings(env=env, **args).account_id == expected


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ({"api_token": "arg"}, {"CLOUDFLARE_API_TOKEN": "env"}, "arg"),
        ({}, {"CLOUDFLARE_API_TOKEN": "new", "CF_AI_API_TOKEN": "legacy"}, "new"),
        ({}, {"CF_AI_API_TOKEN": "legacy"}, "legacy"),
    ],
)
def test_token_resolution_order(args, env, expected):
    s = resolve_settings(env={"CF_ACCOUNT_ID": "a", **env}, **args)
    assert s.api_token.get_secret_value() == expected


@pytest.mark.parametrize(
    ("env", "missing", "present"),
    [
        ({}, ["account_id=", "CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID", "CF_AI_API_TOKEN"], []),
        ({"CF_ACCOUNT_ID": "a"}, ["api_token=", "CLOUDFLARE_API_TOKEN"], ["account_id="]),
        ({"CLOUDFLARE_API_TOKEN": "t"}, ["account_id="], ["api_token="]),
    ],
)
def test_missing_credentials_name_arguments_and_env_vars(env, missing, present):
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(env=env)
    for text in missing:
        assert text in str(info.value)
    for text in present:
        assert text not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_account_and_token_are_rejected_with_a_fix():
    with pytest.raises(ConfigurationError, match="dashboard"):
        settings(account_id="my account", api_token="t")
    with pytest.raises(ConfigurationError, match="whitespace"):
        settings(account_id="a", api_token="to ken")


def test_base_url_argument_env_and_default():
    assert settings(account_id="a", api_token="t").base_url == DEFAULT_BASE_URL
    s = settings(account_id="a", api_token="t", base_url="http://127.0.0.1:8787/client/v4/")
    assert s.base_url == "http://127.0.0.1:8787/client/v4"
    env = {"WORKERS_AI_BASE_URL": "http://localhost:9/client/v4"}
    assert settings(account_id="a", api_token="t", env=env).base_url.startswith("http://localhost")
    with pytest.raises(ConfigurationError, match="http"):
        settings(account_id="a", api_token="t", base_url="api.cloudflare.com")


def test_run_url_keeps_model_slashes_and_account():
    s = settings(account_id="acc", api_token="t")
    assert s.run_url("@cf/meta/llama-3.1-8b-instruct") == (
        "https://api.cloudflare.com/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct"
    )
    assert s.openai_url("chat/completions").endswith("/accounts/acc/ai/v1/chat/completions")
    assert s.account_url("ai/models/search").endswith("/accounts/acc/ai/models/search")


@pytest.mark.parametrize("model", ["", "  ", None, "@cf/a b", "@cf/../x", "m?x=1", 3])
def test_invalid_model_ids_are_rejected_before_io(model):
    with pytest.raises(InvalidRequestError, match="model"):
        settings(account_id="a", api_token="t").run_url(model)


def test_gateway_url_routing():
    s = settings(account_id="acc", api_token="t", gateway="my-gw")
    assert s.run_url("@cf/meta/llama-3.1-8b-instruct") == (
        f"{DEFAULT_GATEWAY_BASE_URL}/acc/my-gw/workers-ai/@cf/meta/llama-3.1-8b-instruct"
    )
    assert s.openai_url("chat/completions") == (
        f"{DEFAULT_GATEWAY_BASE_URL}/acc/my-gw/workers-ai/v1/chat/completions"
    )
    # Model search is an account route; the gateway does not proxy it.
    assert s.account_url("ai/models/search").startswith(DEFAULT_BASE_URL)
    assert "cf-aig-gateway-id" not in s.headers()


def test_gateway_header_routing_keeps_api_url():
    s = settings(account_id="acc", api_token="t", gateway=GatewayOptions("gw", routing="header"))
    assert s.run_url("@cf/x/y").startswith(DEFAULT_BASE_URL + "/accounts/acc/ai/run/")
    assert s.headers()["cf-aig-gateway-id"] == "gw"


def test_gateway_on_emulator_base_derives_gateway_base():
    s = settings(account_id="a", api_token="t", base_url="http://127.0.0.1:8787/client/v4")
    assert s.gateway_base_url == "http://127.0.0.1:8787/v1"


def test_gateway_options_become_documented_headers():
    from pydantic import SecretStr

    options = GatewayOptions(
        "gw",
        cache_ttl=3600,
        skip_cache=True,
        cache_key="k1",
        metadata={"user": "u1", "n": 3, "beta": True},
        request_timeout_ms=1500,
        max_attempts=3,
        retry_delay_ms=200,
        backoff="exponential",
        collect_log=False,
        auth_token=SecretStr("gwtok"),
    )
    assert options.headers() == {
        "cf-aig-cache-ttl": "3600",
        "cf-aig-skip-cache": "true",
        "cf-aig-cache-key": "k1",
        "cf-aig-metadata": '{"user":"u1","n":3,"beta":true}',
        "cf-aig-request-timeout": "1500",
        "cf-aig-max-attempts": "3",
        "cf-aig-retry-delay": "200",
        "cf-aig-backoff": "exponential",
        "cf-aig-collect-log": "false",
        "cf-aig-authorization": "Bearer gwtok",
    }
    assert "gwtok" not in repr(options)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cache_ttl": 10}, "cache_ttl"),
        ({"max_attempts": 6}, "max_attempts"),
        ({"retry_delay_ms": 6000}, "retry_delay_ms"),
        ({"metadata": {str(i): i for i in range(6)}}, "at most 5"),
        ({"metadata": {"k": {"nested": 1}}}, "metadata"),
        ({"backoff": "random"}, "backoff"),
        ({"routing": "dns"}, "routing"),
    ],
)
def test_gateway_option_validation(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        GatewayOptions("gw", **kwargs)


def test_gateway_id_validation():
    with pytest.raises(ConfigurationError, match="gateway id"):
        GatewayOptions("bad/id")


def test_timeout_and_retries():
    s = settings(account_id="a", api_token="t", timeout=12, max_retries=0)
    # Waiting for a pooled connection is not the request being slow: it gets its own bound.
    assert s.timeout == httpx.Timeout(12.0, connect=10.0, pool=300.0)
    assert s.max_retries == 0
    with pytest.raises(ConfigurationError):
        settings(account_id="a", api_token="t", timeout=-1)
    with pytest.raises(ConfigurationError):
        settings(account_id="a", api_token="t", max_retries=-1)


def test_token_never_in_repr_or_str():
    s = settings(account_id="a", api_token=TOKEN, gateway="gw")
    assert TOKEN not in repr(s)
    assert TOKEN not in str(s)
    assert s.headers()["Authorization"] == f"Bearer {TOKEN}"


def test_gateway_from_id_options_and_token():
    s = settings(
        account_id="a",
        api_token="t",
        gateway="gw",
        gateway_options={"cache_ttl": 120, "routing": "header"},
        gateway_token="gw-secret",
    )
    assert s.gateway is not None and s.gateway.cache_ttl == 120
    assert s.headers()["cf-aig-authorization"] == "Bearer gw-secret"
    assert "gw-secret" not in repr(s)
    with pytest.raises(ConfigurationError, match="GatewayOptions"):
        settings(account_id="a", api_token="t", gateway="gw", gateway_options={"ttl": 1})
    with pytest.raises(ConfigurationError, match="gateway id"):
        settings(account_id="a", api_token="t", gateway_options={"cache_ttl": 120})


def test_the_gateway_token_variable_is_read_only_for_a_gateway_given_by_id():
    env = {"CF_AIG_TOKEN": "gw-secret"}
    with_gateway = resolve_settings(account_id="a", api_token="t", gateway="gw", env=env)
    assert with_gateway.gateway is not None and with_gateway.gateway.auth_token is not None
    assert with_gateway.gateway.auth_token.get_secret_value() == "gw-secret"
    assert resolve_settings(account_id="a", api_token="t", env=env).gateway is None
    explicit = resolve_settings(
        account_id="a", api_token="t", gateway="gw", gateway_token="mine", env=env
    )
    assert explicit.gateway is not None and explicit.gateway.auth_token is not None
    assert explicit.gateway.auth_token.get_secret_value() == "mine"
