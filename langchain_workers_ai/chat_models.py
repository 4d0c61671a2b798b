"""``ChatWorkersAI``: a LangChain chat model for Cloudflare Workers AI."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, convert_to_messages
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk
from langchain_core.outputs import ChatResult as LCChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool  # at run time: bind_tools' hints must resolve
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import AliasChoices, Field, PrivateAttr, model_validator

from langchain_workers_ai._connection import WorkersAIConnection
from langchain_workers_ai.errors import langchain_errors
from workers_ai.arguments import argument_names, caller_stacklevel, check_arguments
from workers_ai.connection import ClientPairOwner
from workers_ai.errors import ConfigurationError, InvalidRequestError, WorkersAIError
from workers_ai.model_checks import default_model
from workers_ai.settings import (
    API_TOKEN_ENV_VARS,
    GATEWAY_TOKEN_ENV_VAR,
    WorkersAISettings,
    validate_header_value,
)
from workers_ai.tokens import count_text_tokens, estimate_chat_tokens, estimate_token_ids

# What only a built or called model needs (the catalog, request preparation, the clients, the
# message conversions) is imported where it is used, so ``import langchain_workers_ai`` stays
# light; constructing a model loads it.
if TYPE_CHECKING:
    from workers_ai.client import ClientPair
    from workers_ai.prepare import PreparedChat
    from workers_ai.types import ChatResult, ResponseMeta
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    ClientPair = Any  # without loading the module behind it


def _is_pydantic_class(obj: Any) -> bool:
    return isinstance(obj, type) and is_basemodel_subclass(obj)


class ChatWorkersAI(WorkersAIConnection, ClientPairOwner, BaseChatModel):
    """Cloudflare Workers AI chat models (``/ai/run`` or the OpenAI-compatible route).

    Setup:
        ``pip install ".[langchain]"``; set ``CLOUDFLARE_ACCOUNT_ID`` and
        ``CLOUDFLARE_API_TOKEN`` (a token with *Workers AI* permission), or pass them. Offline:
        ``python -m workers_ai.emulator`` prints the variables of a local stand-in server.

    Key init args:
        model (alias ``model_name``): a Workers AI model id (``workers_ai.catalog.models()``).
        temperature, max_tokens (alias ``max_completion_tokens``; Workers AI's default is
        only 256), top_p, top_k, seed, stop, frequency/presence/repetition_penalty.
        api_key (alias ``api_token``), account_id, base_url, timeout (alias
        ``request_timeout``; seconds, ``(connect, read)`` or ``httpx.Timeout``), max_retries,
        default_headers, http_client / http_async_client, gateway_id + gateway_options,
        stream_usage, reasoning_effort, session_affinity, endpoint, model_kwargs.
        Misspelt keywords raise with a did-you-mean; other unknown ones go to ``model_kwargs``.

    Instantiate:
        .. code-block:: python

            from langchain_workers_ai import ChatWorkersAI

            llm = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", temperature=0)

    Invoke / Stream / Async:
        .. code-block:: python

            llm.invoke([("system", "Be brief."), ("human", "Name three French cheeses.")])
            for chunk in llm.stream("Count to five."):
                print(chunk.content, end="")
            await llm.ainvoke("Hi"); [c async for c in llm.astream("Hi")]
            llm.invoke("Hi", timeout=5)  # the HTTP timeout of this call only

    Tool calling:
        .. code-block:: python

            msg = llm.bind_tools([get_weather]).invoke("Weather in Lisbon?")
            msg.tool_calls  # [{"name": "get_weather", "args": {"city": "Lisbon"}, ...}]

        Arguments are coerced to the tool's schema when lossless (``"85"`` -> ``85``); streams
        deliver each tool call complete in the last chunk.

    Structured output:
        .. code-block:: python

            llm.with_structured_output(Person).invoke("Ada Lovelace was 36.")
            llm.with_structured_output(Person, method="json_schema", include_raw=True)

    Reasoning:
        Reasoning models (``@cf/qwen/qwen3-30b-a3b-fp8``, deepseek-r1, gpt-oss...) put the chain
        of thought in ``additional_kwargs["reasoning_content"]`` and a ``reasoning`` block of
        ``msg.content_blocks``; ``content`` is the answer only. ``reasoning_effort="low"``
        where the model takes it.

    Token usage:
        ``msg.usage_metadata`` -> ``{"input_tokens": 12, "output_tokens": 30,
        "total_tokens": 42}`` (cached input tokens under ``input_token_details``); once per
        stream, on the last chunk (``stream_usage=False`` leaves it out).
        ``llm.get_num_tokens_from_messages(msgs)`` estimates without a tokenizer download.

    Response metadata:
        ``msg.response_metadata`` -> ``{"model_name": ..., "model_provider":
        "cloudflare-workers-ai", "finish_reason": "stop", "neurons": 3.1, "request_id": ...,
        "gateway_cache_status": "HIT"}`` (the last three when the service sends them).
        Errors carry Cloudflare's ``code``, ``status_code`` and a ``hint``, and are also
        ``langchain_core.exceptions`` types (``ModelRateLimitError``...).
    """

    model: str = Field(
        default_factory=lambda: default_model("chat"),
        validation_alias=AliasChoices("model", "model_name"),
    )
    """Workers AI model id (alias ``model_name``), e.g.
    ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``. Checked against the catalog at construction:
    an embedding model raises, a deprecated one warns, a near-miss id warns with a did-you-mean."""
    streaming: bool = False
    """Stream by default, also inside ``invoke`` (callbacks then get every token)."""
    stream_usage: bool = True
    """Put token usage on the last chunk of a stream (``False`` leaves it out); also per call:
    ``llm.stream(..., stream_usage=False)``."""
    temperature: float | None = None
    """Sampling temperature (sent only when set)."""
    max_tokens: int | None = Field(
        default=None, validation_alias=AliasChoices("max_tokens", "max_completion_tokens")
    )
    """Most tokens to generate (alias ``max_completion_tokens``). Workers AI's own default is
    only 256 on most models (qwen3: 2000), so set it for long answers."""
    top_p: float | None = None
    """Nucleus sampling: keep the most likely tokens up to this probability mass."""
    top_k: int | None = None
    """Sample from the ``top_k`` most likely tokens."""
    seed: int | None = None
    """Random seed, for repeatable sampling."""
    repetition_penalty: float | None = None
    """Penalty for repeated tokens (Workers AI's native name)."""
    frequency_penalty: float | None = None
    """Penalty growing with how often a token appeared."""
    presence_penalty: float | None = None
    """Penalty for any token that appeared."""
    stop: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("stop", "stop_sequences")
    )
    """Stop sequences (alias ``stop_sequences``)."""
    n: int | None = None
    """Completions per prompt: Workers AI returns one, so only ``1`` is accepted (larger
    values raise before any request)."""
    lora: str | None = None
    """A LoRA fine-tune name or id (LoRA-capable models only)."""
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    """Reasoning effort for models that accept it (gpt-oss, qwen3...)."""
    session_affinity: str | None = None
    """Sent as ``x-session-affinity`` so repeated prefixes hit the prompt cache."""
    endpoint: Literal["native", "openai", "messages", "responses"] = "native"
    """The API calls speak. ``native``: Workers AI models ``/ai/run/{model}``, ``anthropic/...``
    models Anthropic's Messages API (``/ai/v1/messages``), other models chat completions;
    ``openai``: ``/ai/v1/chat/completions``; ``messages``: Anthropic's Messages API (not for
    ``@cf`` models); ``responses``: OpenAI's Responses API (``/ai/v1/responses``). Per call:
    ``invoke(..., endpoint=...)``."""
    force_tools: bool = False
    """Send tools even when the catalog says the model cannot call functions."""
    fallbacks: list[str] = Field(default_factory=list)
    """Models tried in order when ``model`` still fails after its retries with capacity,
    quota, gateway or server errors (never input errors), e.g.
    ``["openai/gpt-4.1"]``; at most 4, each checked like ``model``. A call's
    ``fallbacks=[...]`` replaces them. ``response_metadata`` names the model that answered
    (``answered_by``), the ``attempts`` and the ``fallback_steps``."""
    use_batch_api: bool = False
    """``batch``/``abatch`` queue the inputs as Workers AI async batch jobs (``queueRequest``,
    spec §10) instead of one request each: for bulk work that can wait (minutes), on models
    whose catalog entry says ``async_queue`` (checked at construction; no ``fallbacks``).
    Answers come back in input order. ``submit_batch`` / ``collect_batch`` split the two
    halves, so a long job survives a restart (keep the request ids)."""
    batch_poll_interval: float = 1.0
    """Seconds before the first poll of a batch job (later polls wait longer, up to 30 s)."""
    batch_timeout: float | None = None
    """Most seconds to wait for batch jobs; then ``BatchJobError`` carries the request id to
    collect later (``None``: wait as long as it takes)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other request-body fields, sent as they are. Unknown constructor keywords land here
    with a warning, unless they look like a misspelt argument (then they raise)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to use instead of the built-in pool (you close it)."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to use instead of the built-in pool (you close it)."""

    _settings: WorkersAISettings = PrivateAttr()
    _clients: ClientPair = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_kwargs(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        known = argument_names(cls)
        extra = dict(values.get("model_kwargs") or {})
        for name in list(values):
            if name not in known:  # __init__ has warned (with the user's line) and checked typos
                extra[name] = values.pop(name)
        clash = set(extra) & known
        if clash:
            raise ValueError(f"Set {sorted(clash)} as constructor arguments, not model_kwargs.")
        values["model_kwargs"] = extra
        return values

    @classmethod
    def _check_kwargs(cls, kwargs: Mapping[str, Any]) -> None:
        """Misspelt keywords raise; other unknown ones go to ``model_kwargs``, with a warning
        on the user's line (langchain-openai's convention)."""
        unknown = check_arguments(cls.__name__, kwargs, argument_names(cls), allow_unknown=True)
        for name in unknown:
            warnings.warn(
                f"{name} is not a {cls.__name__} parameter; it was moved to model_kwargs "
                "and will be sent in the request body.",
                stacklevel=caller_stacklevel(),
            )

    def _after_init(self) -> None:
        """Check the model against the catalog and resolve the settings (no I/O)."""
        from workers_ai.prepare import check_n

        self._check_chat_models(self.model, self.fallbacks, self.endpoint)
        try:
            check_n(self.n)
        except InvalidRequestError as error:
            raise ConfigurationError(str(error)) from None
        if self.session_affinity is not None:
            validate_header_value(
                self.session_affinity, "session_affinity", header="x-session-affinity"
            )
        if self.use_batch_api:
            from workers_ai.chat_batch import check_batch_model

            check_batch_model(self.model, fallbacks=self.fallbacks)
            if self.endpoint != "native":
                raise ConfigurationError(
                    f"use_batch_api sends Workers AI's /ai/run batches; endpoint="
                    f"{self.endpoint!r} cannot be batched: use endpoint='native'"
                )
        if not self.batch_poll_interval > 0 or not (
            self.batch_timeout is None or self.batch_timeout > 0
        ):
            raise ConfigurationError(
                "batch_poll_interval must be > 0 and batch_timeout > 0 or None, not "
                f"{self.batch_poll_interval!r} and {self.batch_timeout!r}"
            )
        self._settings = self._resolve_settings()
        self._check_chat_routes(self._settings, self.model, self.fallbacks, self.endpoint)
        self._clients = self._make_clients(
            self._settings, http_client=self.http_client, async_http_client=self.http_async_client
        )

    def _resolve_model_profile(self) -> ModelProfile | None:
        from langchain_workers_ai._convert import catalog_to_profile
        from workers_ai import catalog

        return catalog_to_profile(catalog.get(self.model))

    # -- token counting (the core's conservative estimator; no tokenizer download) -------------
    def get_token_ids(self, text: str) -> list[int]:
        """Stable pseudo token ids, as many as the estimator counts (not the model's vocabulary;
        ``custom_get_token_ids`` wins when set)."""
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return estimate_token_ids(text)

    def get_num_tokens(self, text: str) -> int:
        """Estimated tokens of ``text`` (leans high, so trimming to it stays within limits)."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return count_text_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Estimated prompt tokens of ``messages`` (and ``tools``), for ``trim_messages`` and
        summarisation: text, tool calls and schemas as sent, images at a flat cost."""
        from langchain_workers_ai._convert import lc_messages_to_neutral

        schemas = [convert_to_openai_tool(t) for t in tools or []]
        messages = convert_to_messages(messages)
        try:
            neutral = lc_messages_to_neutral(messages)
        except WorkersAIError:  # not sendable as is (e.g. an image URL): count its text
            return sum(self.get_num_tokens(m.text) for m in messages) + estimate_chat_tokens(
                [], schemas
            )
        return estimate_chat_tokens(neutral, schemas)

    # -- LangChain plumbing ----------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "workers-ai-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_workers_ai", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_token": API_TOKEN_ENV_VARS[0], "gateway_token": GATEWAY_TOKEN_ENV_VAR}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        from workers_ai.prepare import generation_params

        return {"model": self.model, "endpoint": self.endpoint, **generation_params(self)}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="cloudflare",
            ls_model_name=kwargs.get("model", self.model),
            ls_model_type="chat",
        )
        if (temperature := kwargs.get("temperature", self.temperature)) is not None:
            params["ls_temperature"] = temperature
        if max_tokens := kwargs.get("max_tokens", self.max_tokens):
            params["ls_max_tokens"] = max_tokens
        if ls_stop := stop or kwargs.get("stop") or self.stop:
            params["ls_stop"] = list(ls_stop)
        return params

    # -- request building --------------------------------------------------------------------------
    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[PreparedChat, bool]:
        """The prepared call (the core's one preparation) and whether streams carry usage."""
        from langchain_workers_ai._convert import lc_messages_to_neutral
        from workers_ai.prepare import generation_params, prepare_chat

        options = dict(kwargs)
        stream_usage = bool(options.pop("stream_usage", self.stream_usage))
        prep = prepare_chat(
            lc_messages_to_neutral(messages),
            options,
            model=self.model,
            params=generation_params(self),
            extra=self.model_kwargs,
            endpoint=self.endpoint,
            force_tools=self.force_tools,
            session_affinity=self.session_affinity,
            stop=stop,
            check_model=lambda model: self._check_model(model, "chat"),
            settings=self._clients.settings,
            fallbacks=self.fallbacks,
        )
        return prep, stream_usage

    def _to_lc_result(
        self, result: ChatResult, meta: ResponseMeta, prep: PreparedChat
    ) -> LCChatResult:
        from langchain_workers_ai._convert import result_to_ai_message, usage_to_lc

        model = meta.answered_by or prep.model
        message = result_to_ai_message(result, meta, model, prep.schemas)
        llm_output: dict[str, Any] = {"model_name": result.model or model}
        if result.usage is not None:
            llm_output["token_usage"] = dict(usage_to_lc(result.usage))
        generation = ChatGeneration(
            message=message, generation_info={"finish_reason": result.finish_reason}
        )
        return LCChatResult(generations=[generation], llm_output=llm_output)

    def _final_chunk(
        self, result: ChatResult, meta: ResponseMeta, prep: PreparedChat, stream_usage: bool
    ) -> ChatGenerationChunk:
        """The last chunk: complete tool calls (coerced), usage once (``stream_usage``),
        metadata."""
        from langchain_workers_ai._convert import (
            response_metadata,
            tool_calls_to_chunks,
            usage_to_lc,
        )

        usage = result.usage if stream_usage else None
        blocks = [dict(b) for b in result.reasoning_blocks]
        chunk = AIMessageChunk(
            content="",
            additional_kwargs={"reasoning_blocks": blocks} if blocks else {},
            tool_call_chunks=tool_calls_to_chunks(
                result.tool_calls, result.invalid_tool_calls, prep.schemas
            ),
            usage_metadata=usage_to_lc(usage) if usage else None,
            response_metadata=response_metadata(
                result.model or meta.answered_by or prep.model,
                meta,
                finish_reason=result.finish_reason,
                usage=usage,
            ),
            chunk_position="last",
        )
        return ChatGenerationChunk(
            message=chunk, generation_info={"finish_reason": result.finish_reason}
        )

    def _should_stream(self, *, async_api: bool, **kwargs: Any) -> bool:
        # JSON mode cannot stream on Workers AI (spec §2): answer in one chunk instead.
        if kwargs.get("response_format"):
            return False
        return super()._should_stream(async_api=async_api, **kwargs)

    # -- the batch API (use_batch_api) -----------------------------------------------------------
    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Answer several inputs, in order. With ``use_batch_api=True`` through Workers AI's
        async batch API (one queued job instead of one request per input; callbacks still see
        one run per input), else as every LangChain model does (a thread per input)."""
        if not self.use_batch_api or not inputs:
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        from langchain_workers_ai import _batch

        return _batch.batch(self, inputs, config, return_exceptions, kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Async :meth:`batch` (cancel the task to stop waiting; queued jobs go on)."""
        if not self.use_batch_api or not inputs:
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        from langchain_workers_ai import _batch

        return await _batch.abatch(self, inputs, config, return_exceptions, kwargs)

    def submit_batch(self, inputs: Sequence[LanguageModelInput], **kwargs: Any) -> list[str]:
        """Queue ``inputs`` as batch jobs (no waiting) and return the jobs' request ids; keep
        them: :meth:`collect_batch` picks the answers up later, in this or another process.
        Works whatever ``use_batch_api`` says (the model must take batches).

        Tools go in as arguments, ``submit_batch(inputs, tools=[get_weather])`` (and the same
        ``tools`` to ``collect_batch``): on a ``bind_tools(...)`` binding LangChain hands these
        methods its config only, not the bound tools -- use ``batch`` there."""
        from langchain_workers_ai import _batch
        from workers_ai.chat_batch import check_batch_model

        check_batch_model(self.model, fallbacks=self.fallbacks)
        options = _batch.options_of(self, kwargs)
        return _batch.submit(self, _batch.plan(self, inputs, options)) if inputs else []

    async def asubmit_batch(self, inputs: Sequence[LanguageModelInput], **kwargs: Any) -> list[str]:
        """Async :meth:`submit_batch`."""
        from langchain_workers_ai import _batch
        from workers_ai.chat_batch import check_batch_model

        check_batch_model(self.model, fallbacks=self.fallbacks)
        options = _batch.options_of(self, kwargs)
        return await _batch.asubmit(self, _batch.plan(self, inputs, options)) if inputs else []

    def collect_batch(
        self,
        request_ids: Sequence[str],
        *,
        return_exceptions: bool = False,
        cancel: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Wait for the jobs of :meth:`submit_batch` and return the answers in input order.

        Args:
            request_ids: The ids ``submit_batch`` returned, in order.
            return_exceptions: Put a failed input's error in its place instead of raising it.
            cancel: Checked while waiting (e.g. ``threading.Event().is_set``): once true,
                ``BatchCancelledError`` (the jobs go on; collect them again later).
            **kwargs: The options given to ``submit_batch`` that shape answers (``tools``).
        """
        from langchain_workers_ai import _batch

        prep = _batch.probe(self, _batch.options_of(self, kwargs))
        results = _batch.collect(
            self, request_ids, model=prep.model, tool_names=prep.tool_names, cancel=cancel
        )
        outputs = _batch.to_outputs(self, prep, results, len(results))
        return _batch.answers(outputs, return_exceptions)

    async def acollect_batch(
        self,
        request_ids: Sequence[str],
        *,
        return_exceptions: bool = False,
        cancel: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Async :meth:`collect_batch` (cancelling the task stops waiting too)."""
        from langchain_workers_ai import _batch

        prep = _batch.probe(self, _batch.options_of(self, kwargs))
        results = await _batch.acollect(
            self, request_ids, model=prep.model, tool_names=prep.tool_names, cancel=cancel
        )
        outputs = _batch.to_outputs(self, prep, results, len(results))
        return _batch.answers(outputs, return_exceptions)

    # -- generation ------------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LCChatResult:
        if self.streaming and not kwargs.get("response_format"):
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        prep, _ = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            response = self._sync_client().chat(prep.model, prep.body, **prep.call_options())
        return self._to_lc_result(response.result, response.meta, prep)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LCChatResult:
        if self.streaming and not kwargs.get("response_format"):
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        prep, _ = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            response = await self._async_client().chat(prep.model, prep.body, **prep.call_options())
        return self._to_lc_result(response.result, response.meta, prep)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from langchain_workers_ai._convert import delta_to_ai_chunk  # once, not per chunk

        prep, stream_usage = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            stream = self._sync_client().stream_chat(prep.model, prep.body, **prep.call_options())
            try:
                for delta in stream:
                    if not (delta.text or delta.reasoning):
                        continue
                    chunk = ChatGenerationChunk(message=delta_to_ai_chunk(delta))
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            finally:  # left early: the connection closes now, not when collected
                stream.close()
            final = self._final_chunk(stream.result(), stream.meta, prep, stream_usage)
        if run_manager:
            run_manager.on_llm_new_token(final.text, chunk=final)
        yield final

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        from langchain_workers_ai._convert import delta_to_ai_chunk  # once, not per chunk

        prep, stream_usage = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            stream = await self._async_client().stream_chat(
                prep.model, prep.body, **prep.call_options()
            )
            try:
                async for delta in stream:
                    if not (delta.text or delta.reasoning):
                        continue
                    chunk = ChatGenerationChunk(message=delta_to_ai_chunk(delta))
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            finally:  # left early: the connection closes now, not when collected
                await stream.aclose()
            final = self._final_chunk(stream.result(), stream.meta, prep, stream_usage)
        if run_manager:
            await run_manager.on_llm_new_token(final.text, chunk=final)
        yield final

    # -- tools and structured output ------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (any kind ``convert_to_openai_tool`` accepts).

        Args:
            tools: Tools, Pydantic models, TypedDicts, functions or OpenAI tool dicts.
            tool_choice: ``"auto"``, ``"any"``/``"required"``, ``"none"``, a tool name,
                ``True`` (the only tool, or any tool when several) or an OpenAI dict.
                Families that reject ``tool_choice`` get the tools without it (a warning
                says so).
            parallel_tool_calls: Allow several calls per turn (models that accept it).
            **kwargs: Bound as call arguments.
        """
        from workers_ai.tools import tool_choice_to_wire

        kwargs.pop("strict", None)  # Workers AI has no strict tool mode
        formatted = [convert_to_openai_tool(t) for t in tools]
        names = [t["function"]["name"] for t in formatted]
        if tool_choice is True and len(names) == 1:
            tool_choice = names[0]
        if tool_choice is not None:
            tool_choice_to_wire(tool_choice, tool_names=names)  # validate before any request
            kwargs["tool_choice"] = tool_choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Return a runnable whose output matches ``schema``.

        Args:
            schema: A Pydantic class, TypedDict, JSON Schema or OpenAI function dict.
            method: ``function_calling`` (a forced tool call; default for models that call
                functions), ``json_schema`` (Workers AI JSON mode with the schema:
                ``response_format`` or ``guided_json`` per family; default otherwise), or
                ``json_mode`` (any JSON object; put the format in your prompt).
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising.
            strict: Accepted for API compatibility; Workers AI has no strict mode.
        """
        from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser

        from workers_ai import catalog

        if method is None:
            method = "function_calling" if catalog.get(self.model).supports_tools else "json_schema"
        if schema is None and method != "json_mode":
            raise ValueError(f"schema is required for method={method!r}")
        is_pydantic = _is_pydantic_class(schema)
        parser: OutputParserLike[Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema)  # type: ignore[arg-type]
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema],  # type: ignore[list-item]
                tool_choice=name,
                ls_structured_output_format={
                    "kwargs": {"method": method},
                    "schema": tool,
                },
                **kwargs,
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            response_format: dict[str, Any] = {"type": "json_object"}
            if method == "json_schema":
                json_schema = convert_to_json_schema(schema)  # type: ignore[arg-type]
                response_format = {"type": "json_schema", "json_schema": json_schema}
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
                **kwargs,
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"Unknown method {method!r}; use 'function_calling', 'json_schema' or 'json_mode'."
            )
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )


__all__ = ["ChatWorkersAI"]
