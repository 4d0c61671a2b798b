"""Connection fields shared by the embeddings and reranker classes (same names and env
fallbacks as :class:`~langchain_workers_ai.ChatWorkersAI`)."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, Field, SecretStr

from workers_ai.settings import WorkersAISettings, resolve_settings

_ACCOUNT_ENV = ["CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID"]
_TOKEN_ENV = ["CLOUDFLARE_API_TOKEN", "CF_AI_API_TOKEN"]


class WorkersAIConnection(BaseModel):
    """Credentials, base URL, AI Gateway, timeout and retries; resolved without I/O."""

    account_id: str | None = Field(default_factory=from_env(_ACCOUNT_ENV, default=None))
    """Cloudflare account id (env ``CLOUDFLARE_ACCOUNT_ID`` / ``CF_ACCOUNT_ID``)."""
    api_token: SecretStr | None = Field(
        default_factory=secret_from_env(_TOKEN_ENV, default=None), alias="api_key"
    )
    """API token with Workers AI permission (env ``CLOUDFLARE_API_TOKEN``)."""
    base_url: str | None = Field(default_factory=from_env("WORKERS_AI_BASE_URL", default=None))
    """REST base URL; set it to target the emulator or a proxy."""
    gateway_id: str | None = None
    """Route requests through this AI Gateway."""
    gateway_options: dict[str, Any] = Field(default_factory=dict)
    """AI Gateway options (see ``workers_ai.GatewayOptions``)."""
    gateway_token: SecretStr | None = None
    """Token of an authenticated AI Gateway (``cf-aig-authorization``)."""
    timeout: float | None = None
    """Request timeout in seconds (default: 300 s read, 10 s connect)."""
    max_retries: int = 2
    """Retries of a failed request (5xx, resets, timeouts). Rate limits and capacity errors are
    retried adaptively on top of this, so long jobs slow down instead of failing."""
    default_headers: dict[str, str] | None = None
    """Extra headers on every request."""

    def _resolve_settings(self) -> WorkersAISettings:
        """Validated settings; raises ``ConfigurationError`` naming what is missing."""
        return resolve_settings(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway=self.gateway_id,
            gateway_options=self.gateway_options,
            gateway_token=self.gateway_token,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
            env=os.environ,
        )
