"""Connection settings shared by the LlamaIndex classes (same names and env fallbacks as the
LangChain ones), resolved without I/O."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from workers_ai.settings import WorkersAISettings, resolve_settings

ACCOUNT_ENV = ("CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID")
TOKEN_ENV = ("CLOUDFLARE_API_TOKEN", "CF_AI_API_TOKEN")


def env_first(names: Sequence[str]) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def connection_defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Fill ``account_id``, ``api_token`` (alias ``api_key``) and ``base_url`` from the env."""
    kwargs = dict(kwargs)
    kwargs.setdefault("account_id", env_first(ACCOUNT_ENV))
    kwargs["api_token"] = (
        kwargs.pop("api_key", None) or kwargs.get("api_token") or env_first(TOKEN_ENV)
    )
    kwargs.setdefault("base_url", os.environ.get("WORKERS_AI_BASE_URL"))
    return kwargs


def settings_from(obj: Any) -> WorkersAISettings:
    """Settings from an object with the connection fields; raises ConfigurationError."""
    return resolve_settings(
        account_id=obj.account_id,
        api_token=obj.api_token,
        base_url=obj.base_url,
        gateway=obj.gateway_id,
        gateway_options=obj.gateway_options,
        gateway_token=obj.gateway_token,
        timeout=obj.timeout,
        max_retries=obj.max_retries,
    )
