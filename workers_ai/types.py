"""Neutral result types: the seam between the wire formats and the framework adapters.

Every Workers AI output shape (classic ``{response, tool_calls, usage}``, chat-completion
``choices[0].message`` inside ``result``, the Responses shape, OpenAI stream chunks, native
stream events) is normalised into these types by :mod:`workers_ai.chat` and
:mod:`workers_ai.streaming`. Adapters convert these to LangChain / LlamaIndex types and never
look at raw JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ChatDelta",
    "ChatResult",
    "MediaPayload",
    "ResponseMeta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "WireDelta",
]


@dataclass(frozen=True)
class Usage:
    """Token accounting for one request.

    Attributes:
        input_tokens: Prompt tokens (``prompt_tokens`` / ``input_tokens`` on the wire).
        output_tokens: Completion tokens (``completion_tokens`` / ``output_tokens``).
        total_tokens: Total as reported, else ``input_tokens + output_tokens``.
        cached_tokens: Prompt tokens served from the prefix cache
            (``prompt_tokens_details.cached_tokens``), when reported.
        neurons: Neurons billed for the request, when reported (a float).
        cache_creation_tokens: Prompt tokens written to a prompt cache (Anthropic's
            ``cache_creation_input_tokens``), when reported; they are part of ``input_tokens``.
        cost: What the request cost in USD, when the response reports it (``usage.cost``, as
            some providers behind AI Gateway send it); never estimated here: ``None`` means
            unknown (Workers AI prices: :func:`workers_ai.catalog.estimate_cost`).

    A wire number that is negative, not finite, or 2**53 or more (beyond what a JavaScript
    server counts exactly) is read as unknown: ``None`` for ``cached_tokens`` and
    ``neurons``, ``0`` for the token counts (see :func:`workers_ai.chat.usage_from_wire`).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    neurons: float | None = None
    cost: float | None = None
    cache_creation_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        def _opt_add(a: Any, b: Any) -> Any:
            if a is None and b is None:
                return None
            return (a or 0) + (b or 0)

        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_tokens=_opt_add(self.cached_tokens, other.cached_tokens),
            neurons=_opt_add(self.neurons, other.neurons),
            cost=_opt_add(self.cost, other.cost),
            cache_creation_tokens=_opt_add(self.cache_creation_tokens, other.cache_creation_tokens),
        )


@dataclass(frozen=True)
class MediaPayload:
    """A binary answer (an image, audio): its bytes and media type, as the service sent them.

    Attributes:
        data: The bytes.
        media_type: The ``Content-Type`` without parameters (``image/png``...).
    """

    data: bytes = field(repr=False)
    media_type: str

    def __repr__(self) -> str:
        return f"MediaPayload({self.media_type}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class ToolCall:
    """One complete tool call requested by the model.

    Attributes:
        id: The call id from the wire, or a stable synthesized one (``call_<hash>``) when the
            model sent none (classic models never do).
        name: The tool's name.
        arguments: The parsed arguments object. ``None`` when ``raw_arguments`` could not be
            parsed into a JSON object; then ``error`` says why.
        raw_arguments: The arguments exactly as a JSON string (serialised when the wire sent an
            object), so nothing is lost when parsing fails.
        error: ``None`` for a valid call; otherwise why the arguments are unusable.
    """

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str
    error: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ChatResult:
    """A normalised, complete chat/text-generation answer.

    Attributes:
        text: The answer text (reasoning removed). JSON-mode answers that arrived as an object
            are serialised to a JSON string here and also kept in ``parsed``.
        reasoning: Chain of thought, from ``reasoning_content`` / ``reasoning`` /
            ``<think>...</think>`` / Responses ``reasoning`` items; ``None`` when absent.
        tool_calls: Valid tool calls, in the order the model produced them.
        invalid_tool_calls: Tool calls whose arguments could not be parsed (never dropped).
        usage: Token usage when the response carried it.
        finish_reason: ``stop``, ``length``, ``tool_calls``... when known.
        model: The model id the response names, when it names one.
        id: The response id (``chatcmpl-...``), when present.
        parsed: A JSON-mode answer that arrived as an object (``response`` was a dict).
        raw: The unwrapped ``result`` object as received.
        reasoning_blocks: The provider's own reasoning blocks, to send back with this message
            on later turns (Anthropic's ``thinking`` blocks with their ``signature`` and
            ``redacted_thinking`` blocks: its API needs them back next to the tool calls of a
            turn when thinking is on); empty for other APIs.
    """

    text: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    parsed: Any = None
    raw: Any = None
    reasoning_blocks: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a streamed tool call. Fragments with the same ``index`` concatenate.

    Attributes:
        index: Position of the call in the message (0 for the first call).
        id: The call id; usually only on the first fragment of a call.
        name: The tool's name; usually only on the first fragment.
        arguments: A fragment of the JSON arguments string (may be ``""``).
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class ChatDelta:
    """One normalised streaming increment.

    Attributes:
        text: Answer text in this increment (reasoning removed).
        reasoning: Reasoning text in this increment.
        tool_calls: Tool-call fragments in this increment.
        usage: Set on exactly one delta per stream (the final, complete usage).
        finish_reason: Set when the stream reports why generation stopped.
        model: The model id, when the event names one.
        id: The response id, when the event names one.
        reasoning_blocks: On the final delta only: the provider's reasoning blocks to send
            back (:attr:`ChatResult.reasoning_blocks`).
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    reasoning_blocks: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (
            self.text
            or self.reasoning
            or self.tool_calls
            or self.usage is not None
            or self.finish_reason is not None
        )


@dataclass(frozen=True)
class ResponseMeta:
    """What the HTTP layer knows about a response, beyond its body.

    Attributes:
        status_code: HTTP status.
        request_id: ``cf-ray`` / ``cf-ai-req-id`` / ``cf-aig-log-id`` style identifier, if any.
        gateway_cache_status: ``HIT`` / ``MISS`` from ``cf-aig-cache-status`` (AI Gateway).
        gateway_log_id: ``cf-aig-log-id`` (AI Gateway).
        headers: The response headers, lower-cased names. The other AI Gateway headers
            (spec: AI platform §1.7) are read from them by the ``gateway_*`` properties.
        answered_by: For a call with ``fallbacks``: the model of the chain that answered.
        attempts: For a call with ``fallbacks``: HTTP attempts spent, all models together.
        fallback_steps: For a call with ``fallbacks``: the models that failed before, in order
            (:class:`~workers_ai.fallback.FallbackStep`).
    """

    status_code: int
    request_id: str | None = None
    gateway_cache_status: str | None = None
    gateway_log_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    answered_by: str | None = None
    attempts: int | None = None
    fallback_steps: tuple[Any, ...] = ()

    @property
    def gateway_event_id(self) -> str | None:
        """``cf-aig-event-id``: your ``event_id`` echoed back (or the log id)."""
        return self.headers.get("cf-aig-event-id")

    @property
    def gateway_step(self) -> int | None:
        """``cf-aig-step``: which fallback entry answered (``0`` = the first)."""
        step = self.headers.get("cf-aig-step", "").strip()
        return int(step) if step.isascii() and step.isdigit() and len(step) <= 3 else None

    @property
    def gateway_model(self) -> str | None:
        """The model that answered: ``cf-aig-model`` (dynamic routes), else the Auto
        Router's ``cf-aig-routed-model``."""
        return self.headers.get("cf-aig-model") or self.headers.get("cf-aig-routed-model")

    @property
    def gateway_provider(self) -> str | None:
        """``cf-aig-provider``: the provider slug a dynamic route used."""
        return self.headers.get("cf-aig-provider")

    @property
    def gateway_routed_model(self) -> str | None:
        """``cf-aig-routed-model``: the model the Auto Router (``cloudflare/auto``) chose."""
        return self.headers.get("cf-aig-routed-model")

    @property
    def gateway_routing_reason(self) -> str | None:
        """``cf-aig-routing-reason`` (Auto Router), e.g. ``cost_optimal_within_pool``."""
        return self.headers.get("cf-aig-routing-reason")

    @property
    def gateway_routing_decision_id(self) -> str | None:
        """``cf-aig-routing-decision-id`` (Auto Router)."""
        return self.headers.get("cf-aig-routing-decision-id")

    def summary(self) -> dict[str, Any]:
        """What identifies this answer, for a framework's response metadata: the request id and,
        through AI Gateway, the log and event ids, cache status, the fallback step and the model
        and provider a dynamic route or the Auto Router chose, and for a call with ``fallbacks``
        the model that answered, the attempts and the fallback steps (only those present)."""
        fields = {
            "request_id": self.request_id,
            "gateway_log_id": self.gateway_log_id,
            "gateway_event_id": self.gateway_event_id,
            "gateway_cache_status": self.gateway_cache_status,
            "gateway_step": self.gateway_step,
            "gateway_model": self.gateway_model,
            "gateway_provider": self.gateway_provider,
            "gateway_routed_model": self.gateway_routed_model,
            "gateway_routing_reason": self.gateway_routing_reason,
            "gateway_routing_decision_id": self.gateway_routing_decision_id,
            "answered_by": self.answered_by,
            "attempts": self.attempts,
        }
        out: dict[str, Any] = {k: v for k, v in fields.items() if v not in (None, "")}
        if self.answered_by is not None:  # a call with fallbacks: its steps, even none
            out["fallback_steps"] = [step.as_dict() for step in self.fallback_steps]
        return out


@dataclass
class WireDelta:
    """The user-visible fields one stream event adds, before any buffering (what the stream
    readers of each wire shape give :class:`~workers_ai.streaming.ChatStreamAccumulator`).

    Attributes:
        text: Answer text.
        reasoning: Reasoning text.
        tool_fragments: OpenAI-style tool-call fragments (``index``, ``id``,
            ``function.name``, ``function.arguments`` pieces).
        finish_reason: The neutral finish reason, when the event ends the answer.
        usage: Usage the event reports.
        model: The model the event names.
        id: The answer's id.
        reasoning_blocks: Reasoning blocks completed by this event (to send back).
    """

    text: str = ""
    reasoning: str = ""
    tool_fragments: list[Mapping[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    reasoning_blocks: list[Mapping[str, Any]] = field(default_factory=list)
