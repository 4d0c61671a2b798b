"""The environment variables that decide where a client sends its requests, and with what."""

from __future__ import annotations

#: Credentials and base URL: what a client or model reads when not given them as keywords.
CREDENTIAL_ENV = (
    "CLOUDFLARE_ACCOUNT_ID",
    "CF_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "CF_AI_API_TOKEN",
    "WORKERS_AI_BASE_URL",
)

#: Everything that would send a model elsewhere than the test chose (the gateway's base too).
CONNECTION_ENV = (*CREDENTIAL_ENV, "WORKERS_AI_GATEWAY_BASE_URL")
