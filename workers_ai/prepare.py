"""One chat call, prepared: neutral messages + the model's settings + per-call options -> what
the client sends (no I/O).

Both framework adapters convert their messages to :class:`~workers_ai.messages.Message` and call
:func:`prepare_chat`; everything else a chat call needs is decided here, once, for a plain call
and a stream alike:

- per-call options that are client options, never body fields: ``timeout`` (alias
  ``request_timeout``), ``model`` (alias ``model_name``, checked like the constructor's), ``n``
  (only 1), ``stream``;
- names the OpenAI integrations use (``max_completion_tokens`` is ``max_tokens``);
- tools, ``tool_choice``, ``parallel_tool_calls`` and ``response_format`` (JSON mode) into a
  :class:`~workers_ai.messages.ChatRequest`, generation parameters (the object's, then the
  call's), the rest of the options as extra body fields;
- the body for the model's family (:func:`~workers_ai.messages.build_chat_body`), the
  ``x-session-affinity`` header, and the tool schemas arguments are coerced to;
- ``fallbacks`` (the object's, or the call's ``fallbacks=`` instead): each fallback model is
  checked like a per-call ``model=`` and gets its own body for its family
  (:class:`~workers_ai.fallback.ChatTarget`); the client walks the chain
  (:mod:`workers_ai.fallback`).

Adding a model family or quirk never touches this module or the adapters: it is a catalog row
(and at most one branch in :mod:`~workers_ai.messages` or :mod:`~workers_ai.chat`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers_ai.anthropic import build_messages_body
from workers_ai.errors import ConfigurationError, InvalidRequestError
from workers_ai.fallback import ChatTarget, check_chain
from workers_ai.gateway import gateway_call_headers, merge_gateway_options
from workers_ai.messages import GENERATION_PARAMS, ChatRequest, Message, build_chat_body
from workers_ai.openai_responses import build_responses_body
from workers_ai.providers import ChatEndpoint, chat_api, check_chat_chain
from workers_ai.settings import TimeoutTypes, WorkersAISettings

__all__ = ["TIMEOUT_KEYS", "PreparedChat", "check_n", "generation_params", "prepare_chat"]

Endpoint = ChatEndpoint

#: Per-call keywords that set the HTTP timeout of that call (never sent in the body).
TIMEOUT_KEYS = ("timeout", "request_timeout")


@dataclass(frozen=True)
class PreparedChat:
    """Everything one chat call needs, built once for a plain call and a stream alike.

    Attributes:
        model: The model id the call goes to (the object's, or the call's ``model=``).
        body: The request body for the model's family.
        endpoint: The API the body is for (:func:`workers_ai.providers.chat_api`): ``native``
            (``/ai/run``), ``openai`` (chat completions), ``messages`` or ``responses``.
        headers: Per-call headers (``x-session-affinity``).
        tool_names: The bound tools' names (to recognise tool calls written as text).
        schemas: Tool name -> its parameters' JSON Schema (arguments are coerced to it).
        timeout: The call's HTTP timeout, or ``None`` for the client's.
        fallbacks: The models tried after ``model`` fails, each prepared for its family.
    """

    model: str
    body: dict[str, Any]
    endpoint: Endpoint = "native"
    headers: dict[str, str] = field(default_factory=dict)
    tool_names: tuple[str, ...] = ()
    schemas: dict[str, Any] = field(default_factory=dict)
    timeout: TimeoutTypes = None
    fallbacks: tuple[ChatTarget, ...] = ()

    def call_options(self) -> dict[str, Any]:
        """Keyword arguments for ``chat`` / ``stream_chat`` of the core clients."""
        return {
            "endpoint": self.endpoint,
            "tool_names": self.tool_names,
            "headers": self.headers,
            "timeout": self.timeout,
            "fallbacks": self.fallbacks,
        }


def check_n(n: object) -> None:
    """Workers AI returns one completion per request: ``n`` may only be ``None`` or 1."""
    if n not in (None, 1):
        raise InvalidRequestError(
            f"n={n!r}: Workers AI returns one completion per request; call batch() or invoke() "
            "several times for more."
        )


def generation_params(source: object) -> dict[str, Any]:
    """The generation parameters set on a model object (unset ones are not sent)."""
    values = {name: getattr(source, name, None) for name in GENERATION_PARAMS}
    return {name: value for name, value in values.items() if value is not None}


def _tool_names(tools: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(t["function"]["name"] for t in tools if "function" in t)


#: The body builders of the APIs that are not Workers AI's own families.
_BUILDERS: dict[str, Callable[[str, ChatRequest], dict[str, Any]]] = {
    "messages": build_messages_body,
    "responses": build_responses_body,
}


def prepare_chat(
    messages: Sequence[Message],
    options: Mapping[str, Any],
    *,
    model: str,
    params: Mapping[str, Any],
    extra: Mapping[str, Any] = {},
    endpoint: Endpoint = "native",
    force_tools: bool = False,
    session_affinity: str | None = None,
    stop: Sequence[str] | None = None,
    check_model: Callable[[str], None] = lambda _model: None,
    settings: WorkersAISettings | None = None,
    fallbacks: Sequence[str] = (),
) -> PreparedChat:
    """Prepare one chat call.

    Args:
        messages: The conversation, converted by the adapter.
        options: The call's keyword arguments (the framework's own already taken out).
        model: The object's model id.
        params: The object's generation parameters (:func:`generation_params`).
        extra: The object's extra body fields (``model_kwargs`` / ``additional_kwargs``).
        endpoint: The object's endpoint (a per-call ``endpoint=`` replaces it):
            :data:`~workers_ai.providers.ChatEndpoint`, resolved per model by
            :func:`~workers_ai.providers.chat_api` (``native`` means Anthropic's Messages API
            for ``anthropic/...`` models).
        force_tools: Send tools to models the catalog marks as not function-calling.
        session_affinity: Sent as ``x-session-affinity`` (prompt caching).
        stop: Stop sequences given to this call, if any.
        check_model: Called with a per-call ``model=`` that differs from ``model`` (the
            adapter's catalog check, naming its own classes).
        settings: The object's settings: a per-call ``gateway_options`` mapping (AI Gateway
            options for this call only) is merged onto their gateway
            (:func:`~workers_ai.gateway.gateway_call_headers`); a call that changes the model,
            fallbacks, endpoint or gateway options has its chain's routes and provider key
            checked on them (:func:`~workers_ai.providers.check_chat_chain`; the object's own
            configuration was at construction).
        fallbacks: The object's fallback models; a per-call ``fallbacks=`` replaces them
            (``fallbacks=[]`` turns them off for the call). A per-call ``model=`` that is one
            of the object's fallbacks is not tried twice.

    Raises:
        InvalidRequestError: The call cannot work (``n > 1``, tools on a model without
            function calling, images on a text-only model...), before any request; for a
            fallback model too.
        ConfigurationError: ``fallbacks`` is not a list of model ids, is longer than
            :data:`~workers_ai.fallback.MAX_FALLBACKS`, or names a model twice.
    """
    opts = dict(options)
    chosen = opts.pop("model", None) or opts.pop("model_name", None) or model
    if chosen != model:
        check_model(chosen)
    per_call = opts.pop("fallbacks", None)
    # what this call changes from the object's own configuration (checked at construction)
    changed = chosen != model or per_call is not None or "endpoint" in opts
    if per_call is None:  # the object's, without a per-call model=... that is one of them
        per_call = [name for name in fallbacks if name != chosen]
    chain = check_chain(chosen, per_call)
    for fallback in chain:
        check_model(fallback)
    opts.pop("stream", None)
    endpoint = opts.pop("endpoint", None) or endpoint
    check_n(opts.pop("n", None))
    timeout = next((opts.pop(key) for key in TIMEOUT_KEYS if key in opts), None)
    gateway_options = opts.pop("gateway_options", None)
    if "max_completion_tokens" in opts:
        opts["max_tokens"] = opts.pop("max_completion_tokens")
    tools = list(opts.pop("tools", None) or [])
    response_format = opts.pop("response_format", None) or {}
    merged = {**params, **{key: opts.pop(key) for key in list(opts) if key in GENERATION_PARAMS}}
    if stop is not None:
        merged["stop"] = list(stop)
    request = ChatRequest(
        messages=list(messages),
        tools=tools,
        tool_choice=opts.pop("tool_choice", None),
        parallel_tool_calls=opts.pop("parallel_tool_calls", None),
        json_schema=response_format.get("json_schema"),
        json_object=response_format.get("type") == "json_object",
        params=merged,
        extra={**extra, **opts},
        force_tools=force_tools,
    )

    if settings is not None and (changed or gateway_options):  # before any request
        merged_gateway = merge_gateway_options(settings.gateway, gateway_options)
        key = merged_gateway is not None and merged_gateway.provider_api_key is not None
        check_chat_chain([chosen, *chain], endpoint, settings, provider_key=key)

    def target(name: str) -> ChatTarget:
        family = chat_api(name, endpoint)  # the API this model is called with
        headers = {"x-session-affinity": session_affinity} if session_affinity else {}
        if gateway_options is not None:
            if settings is None:
                raise ConfigurationError("gateway_options needs the model's settings")
            headers.update(gateway_call_headers(settings, gateway_options, model=name))
        body = (
            _BUILDERS[family](name, request)
            if family in _BUILDERS
            else (
                build_chat_body(
                    name, request, endpoint="openai" if family == "openai" else "native"
                )
            )
        )
        return ChatTarget(model=name, body=body, endpoint=family, headers=headers)

    first = target(chosen)
    return PreparedChat(
        model=chosen,
        body=dict(first.body),
        endpoint=first.endpoint,
        headers=dict(first.headers),
        tool_names=_tool_names(tools),
        schemas={t["function"]["name"]: t["function"].get("parameters") for t in tools},
        timeout=timeout,
        fallbacks=tuple(target(name) for name in chain),
    )
