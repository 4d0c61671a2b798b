"""The emulator's own facts about third-party models behind AI Gateway (pure data, no I/O).

Transcribed from ``/work/shared/cloudflare-ai-platform-api.md`` §1.3 (model naming per surface)
and §1.2 (billing), never from the client's catalog (:mod:`workers_ai.catalog`), so the two can
be checked against each other.

* Surfaces (§1.3): the REST routes (``/accounts/{a}/ai/v1/...``) name models
  ``author/model`` from Cloudflare's catalog (``openai/gpt-4.1``, ``google/gemini-3-flash``,
  ``xai/grok-3``); the compat route (``.../{gateway}/compat/chat/completions``) names them by
  gateway provider slug (``google-ai-studio/gemini-2.5-flash``, ``grok/grok-4``,
  ``custom-<slug>/<model>``, ``workers-ai/@cf/...``).
* REST authors (Unified Billing): ``openai``, ``anthropic``, ``google``, ``xai``, ``groq``,
  ``deepseek``, ``alibaba``, ``minimax`` (§1.3 [client R13]); an unknown model of one of them
  is ``404 / 7003 Model not found: <slug>``. Dotted versions resolve, dated ones do not
  (``anthropic/claude-haiku-4.5`` yes, ``anthropic/claude-haiku-4-5-20251001`` no [obs R15]).
* Compat provider slugs: ``AIGatewayProviders`` (§1.4); models are checked only for the
  providers this table lists, the long tail (mistral, openrouter, ``custom-*``...) takes any
  model name but needs a provider key or a stored (BYOK) key: it is not Unified-Billing
  eligible (§1.3 "BYOK-only long tail").

Not in the spec, and the emulator's own choices (stated so nobody mistakes them for facts):
the model lists beyond the spec's examples (``groq/...`` and ``deepseek/...`` rows, the
universal example's ``gpt-4o-mini``), the context windows (the providers' published values,
used only for a ``context_length_exceeded`` stand-in error) and ``cost_rank`` (the Auto
Router's ordering, cheapest first; no real prices).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "COMPAT_CHECKED_PROVIDERS",
    "GATEWAY_PROVIDERS",
    "REST_AUTHORS",
    "THIRD_PARTY_MODELS",
    "ThirdPartyModel",
    "auto_router_pool",
    "by_compat_id",
    "by_rest_id",
    "generic_compat_model",
    "is_gateway_provider",
]

Surface = Literal["rest", "compat"]

#: §1.3: authors of the REST catalog (Unified Billing).
REST_AUTHORS = frozenset(
    {"openai", "anthropic", "google", "xai", "groq", "deepseek", "alibaba", "minimax"}
)

#: §1.4: ``AIGatewayProviders`` (+ the later slugs); ``custom-<slug>`` is matched separately.
GATEWAY_PROVIDERS = frozenset(
    {
        "workers-ai",
        "anthropic",
        "aws-bedrock",
        "azure-openai",
        "google-vertex-ai",
        "huggingface",
        "openai",
        "perplexity-ai",
        "replicate",
        "groq",
        "cohere",
        "google-ai-studio",
        "mistral",
        "grok",
        "openrouter",
        "deepseek",
        "cerebras",
        "cartesia",
        "elevenlabs",
        "adobe-firefly",
        "baseten",
        "parallel",
        "fal",
        "ideogram",
        "deepgram",
    }
)

#: Compat providers whose models this table lists: another model name of theirs is unknown
#: (``2005``). ``workers-ai`` models are the Workers AI facts (:mod:`.facts`).
COMPAT_CHECKED_PROVIDERS = frozenset(
    {"openai", "anthropic", "google-ai-studio", "grok", "groq", "deepseek", "workers-ai"}
)

_CUSTOM_PREFIX = "custom-"


def is_gateway_provider(slug: str) -> bool:
    """A compat provider slug AI Gateway knows (``custom-<slug>`` included)."""
    return slug in GATEWAY_PROVIDERS or (
        slug.startswith(_CUSTOM_PREFIX) and len(slug) > len(_CUSTOM_PREFIX)
    )


@dataclass(frozen=True, kw_only=True)
class ThirdPartyModel:
    """One third-party model as AI Gateway serves it.

    Attributes:
        provider: Gateway provider slug (BYOK keys are stored per provider, §1.2).
        rest_ids: Names on the REST routes (first = canonical, e.g. ``openai/gpt-4.1``);
            empty when only compat serves it.
        compat_ids: Names on the compat route (``google-ai-studio/gemini-2.5-flash``).
        kind: ``"chat"`` or ``"embeddings"``.
        context_window: Prompt token limit (not in the spec: the provider's published value).
        tools: Accepts ``tools`` (OpenAI function format).
        json_mode: Accepts ``response_format`` ``json_object`` / ``json_schema``.
        dimensions: Embedding size (embedding models).
        reasoning: A reasoning model: takes Anthropic's ``thinking`` on ``/v1/messages`` and
            the Responses API's ``reasoning`` (OpenAI's reason on the Responses API even
            without it, as OpenAI's reasoning models do); other models refuse both with the
            provider's 400.
        unified_billing: Payable with Unified Billing credits; otherwise a provider key or a
            stored key is needed (402 / 2021 "use BYOK", §1.2).
        cost_rank: Auto Router order, cheapest first (the emulator's own ordering).
    """

    provider: str
    rest_ids: tuple[str, ...] = ()
    compat_ids: tuple[str, ...] = ()
    kind: Literal["chat", "embeddings"] = "chat"
    context_window: int | None = None
    tools: bool = True
    json_mode: bool = True
    dimensions: int | None = None
    reasoning: bool = False
    unified_billing: bool = True
    cost_rank: int = 100

    def name_on(self, surface: Surface) -> str:
        """The canonical name on ``surface`` (what the ``model`` field of an answer says)."""
        names = self.rest_ids if surface == "rest" else self.compat_ids
        return names[0] if names else (self.compat_ids or self.rest_ids)[0]


def _chat(
    provider: str,
    rest: Iterable[str],
    compat: Iterable[str],
    *,
    context_window: int,
    cost_rank: int,
    reasoning: bool = False,
) -> ThirdPartyModel:
    return ThirdPartyModel(
        provider=provider,
        rest_ids=tuple(rest),
        compat_ids=tuple(compat),
        context_window=context_window,
        cost_rank=cost_rank,
        reasoning=reasoning,
    )


#: The table. REST names: §1.3 examples (``openai/gpt-4.1``, ``anthropic/claude-sonnet-4-5``,
#: ``google/gemini-3-flash``, ``xai/grok-3``) and the dotted form of §1.3's standardized ids;
#: compat names: §1.3/§1.4 examples (``openai/gpt-5-mini``, ``google-ai-studio/gemini-2.5-flash``
#: and ``-pro``, ``groq/llama-3.3-70b-versatile``, ``grok/grok-4``), the universal example's
#: ``openai`` ``gpt-4o-mini`` (§1.8).
THIRD_PARTY_MODELS: tuple[ThirdPartyModel, ...] = (
    _chat("openai", ["openai/gpt-4.1"], ["openai/gpt-4.1"], context_window=1_047_576, cost_rank=60),
    _chat(
        "openai",
        ["openai/gpt-4o-mini"],
        ["openai/gpt-4o-mini"],
        context_window=128_000,
        cost_rank=12,
    ),
    _chat(
        "openai",
        ["openai/gpt-5-mini"],
        ["openai/gpt-5-mini"],
        context_window=400_000,
        cost_rank=20,
        reasoning=True,
    ),
    _chat(
        "anthropic",
        ["anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"],
        ["anthropic/claude-sonnet-4-5"],
        context_window=200_000,
        cost_rank=80,
        reasoning=True,
    ),
    _chat(
        "anthropic",
        ["anthropic/claude-haiku-4.5"],
        ["anthropic/claude-haiku-4-5"],
        context_window=200_000,
        cost_rank=40,
        reasoning=True,
    ),
    _chat(
        "google-ai-studio",
        ["google/gemini-3-flash"],
        ["google-ai-studio/gemini-3-flash"],
        context_window=1_048_576,
        cost_rank=15,
        reasoning=True,
    ),
    _chat(
        "google-ai-studio",
        ["google/gemini-2.5-flash"],
        ["google-ai-studio/gemini-2.5-flash"],
        context_window=1_048_576,
        cost_rank=10,
        reasoning=True,
    ),
    _chat(
        "google-ai-studio",
        ["google/gemini-2.5-pro"],
        ["google-ai-studio/gemini-2.5-pro"],
        context_window=1_048_576,
        cost_rank=70,
        reasoning=True,
    ),
    _chat("grok", ["xai/grok-3"], ["grok/grok-3"], context_window=131_072, cost_rank=75),
    _chat(
        "grok",
        ["xai/grok-4"],
        ["grok/grok-4"],
        context_window=256_000,
        cost_rank=85,
        reasoning=True,
    ),
    _chat(
        "groq",
        ["groq/llama-3.3-70b-versatile"],
        ["groq/llama-3.3-70b-versatile"],
        context_window=131_072,
        cost_rank=25,
    ),
    _chat(
        "deepseek",
        ["deepseek/deepseek-chat"],
        ["deepseek/deepseek-chat"],
        context_window=128_000,
        cost_rank=18,
    ),
    ThirdPartyModel(
        provider="openai",
        rest_ids=("openai/text-embedding-3-small",),
        compat_ids=("openai/text-embedding-3-small",),
        kind="embeddings",
        context_window=8191,
        tools=False,
        json_mode=False,
        dimensions=1536,
    ),
    ThirdPartyModel(
        provider="openai",
        rest_ids=("openai/text-embedding-3-large",),
        compat_ids=("openai/text-embedding-3-large",),
        kind="embeddings",
        context_window=8191,
        tools=False,
        json_mode=False,
        dimensions=3072,
    ),
)


def _index(surface: Surface) -> Mapping[str, ThirdPartyModel]:
    table: dict[str, ThirdPartyModel] = {}
    for row in THIRD_PARTY_MODELS:
        for name in row.rest_ids if surface == "rest" else row.compat_ids:
            if name in table:
                raise ValueError(f"emulator providers: {name} is listed twice")
            table[name] = row
    return MappingProxyType(table)


_BY_REST = _index("rest")
_BY_COMPAT = _index("compat")


def by_rest_id(model: str) -> ThirdPartyModel | None:
    """The model a REST name (``openai/gpt-4.1``) stands for, or ``None``."""
    return _BY_REST.get(model)


def by_compat_id(model: str) -> ThirdPartyModel | None:
    """The model a compat name (``google-ai-studio/gemini-2.5-flash``) stands for, or ``None``."""
    return _BY_COMPAT.get(model)


def generic_compat_model(model: str) -> ThirdPartyModel:
    """A model of a long-tail compat provider (``mistral/...``, ``custom-x/...``): any name
    answers, with a provider key or a stored key only (no Unified Billing)."""
    provider = model.partition("/")[0]
    return ThirdPartyModel(
        provider=provider, rest_ids=(), compat_ids=(model,), unified_billing=False
    )


def auto_router_pool(surface: Surface) -> list[ThirdPartyModel]:
    """Chat models ``cloudflare/auto`` may route to on ``surface``, cheapest first."""
    rows = [
        r
        for r in THIRD_PARTY_MODELS
        if r.kind == "chat" and (r.rest_ids if surface == "rest" else r.compat_ids)
    ]
    return sorted(rows, key=lambda r: r.cost_rank)
