"""``WorkersAI``: a LlamaIndex function-calling LLM for Cloudflare Workers AI."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.program.function_program import get_function_tool
from llama_index.core.program.utils import FlexibleModel, process_streaming_objects
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import Model

from llama_index_workers_ai._connection import WorkersAIConnection, model_field
from workers_ai.connection import ClientPairOwner
from workers_ai.settings import WorkersAISettings, validate_header_value

# What only a built or called model needs (the catalog, request preparation, the clients, the
# message conversions) is imported where it is used, so ``import llama_index_workers_ai`` stays
# light; constructing a model loads it.
if TYPE_CHECKING:
    from workers_ai.client import ClientPair
    from workers_ai.prepare import PreparedChat
    from workers_ai.types import ChatResult, ResponseMeta
else:  # a private attribute's annotation: typing.get_type_hints(cls) resolves it (to Any)
    ClientPair = Any  # without loading the module behind it

_DEFAULT_CONTEXT_WINDOW = 8192


class WorkersAI(WorkersAIConnection, ClientPairOwner, FunctionCallingLLM):
    """Cloudflare Workers AI text generation for LlamaIndex, with tool calling.

    Credentials come from the arguments, else ``CLOUDFLARE_ACCOUNT_ID`` /
    ``CLOUDFLARE_API_TOKEN`` (or ``CF_ACCOUNT_ID`` / ``CF_AI_API_TOKEN``). Every text-generation
    family in the catalog works: tool calls arrive as ``ToolCallBlock``\\ s (and in
    ``additional_kwargs["tool_calls"]``), reasoning as ``ThinkingBlock``\\ s.

    Example:
        .. code-block:: python

            from llama_index_workers_ai import WorkersAI

            llm = WorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast")
            print(llm.complete("Name three French cheeses.").text)
            for chunk in llm.stream_chat([ChatMessage(role="user", content="Count to 5")]):
                print(chunk.delta, end="")
    """

    model: str = model_field("chat", "Workers AI model id (alias model_name).")
    """Workers AI model id (alias ``model_name``), e.g.
    ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``. Checked against the catalog at construction."""
    temperature: float | None = Field(default=None, description="Sampling temperature.")
    """Sampling temperature (sent only when set)."""
    max_tokens: int | None = Field(default=None, description="Most tokens to generate.")
    """Most tokens to generate. Workers AI's own default is only 256 on most models."""
    top_p: float | None = Field(default=None, description="Nucleus sampling mass.")
    """Nucleus sampling: keep the most likely tokens up to this probability mass."""
    top_k: int | None = Field(default=None, description="Sample from the top k tokens.")
    """Sample from the ``top_k`` most likely tokens."""
    seed: int | None = Field(default=None, description="Random seed.")
    """Random seed, for repeatable sampling."""
    repetition_penalty: float | None = Field(default=None, description="Repetition penalty.")
    """Penalty for repeated tokens (Workers AI's native name)."""
    frequency_penalty: float | None = Field(default=None, description="Frequency penalty.")
    """Penalty growing with how often a token appeared."""
    presence_penalty: float | None = Field(default=None, description="Presence penalty.")
    """Penalty for any token that appeared."""
    stop: list[str] | None = Field(default=None, description="Stop sequences.")
    """Stop sequences."""
    lora: str | None = Field(default=None, description="LoRA fine-tune name or id.")
    """A LoRA fine-tune name or id (LoRA-capable models only)."""
    reasoning_effort: Literal["low", "medium", "high"] | None = Field(
        default=None, description="Reasoning effort (gpt-oss, qwen3...)."
    )
    """Reasoning effort for models that accept it (gpt-oss, qwen3...)."""
    session_affinity: str | None = Field(default=None, description="x-session-affinity.")
    """Sent as ``x-session-affinity`` so repeated prefixes hit the prompt cache."""
    endpoint: Literal["native", "openai", "messages", "responses"] = Field(
        default="native",
        description="native: the model's own API; openai: chat completions; messages; responses.",
    )
    """The API calls speak. ``native``: Workers AI models ``/ai/run/{model}``, ``anthropic/...``
    models Anthropic's Messages API (``/ai/v1/messages``), other models chat completions;
    ``openai``: ``/ai/v1/chat/completions``; ``messages``: Anthropic's Messages API (not for
    ``@cf`` models); ``responses``: OpenAI's Responses API (``/ai/v1/responses``). Per call:
    ``chat(..., endpoint=...)``."""
    context_window: int | None = Field(default=None, description="Override the catalog's.")
    """Context window for LlamaIndex's prompt helper (default: the catalog's)."""
    force_tools: bool = Field(default=False, description="Send tools to non-FC models.")
    """Send tools even when the catalog says the model cannot call functions."""
    fallbacks: list[str] = Field(
        default_factory=list, description="Models tried in order when the model fails."
    )
    """Models tried in order when ``model`` still fails after its retries with capacity,
    quota, gateway or server errors (never input errors), e.g. ``["openai/gpt-4.1"]``; at most
    4, each checked like ``model``. A call's ``fallbacks=[...]`` replaces them. The response's
    ``additional_kwargs`` name the model that answered (``answered_by``), the ``attempts`` and
    the ``fallback_steps``."""
    batch_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds before the first poll of a batch job."
    )
    """Seconds before the first poll of a batch job (:meth:`chat_batch`; later polls wait
    longer, up to 30 s)."""
    batch_timeout: float | None = Field(
        default=None, gt=0, description="Most seconds to wait for batch jobs."
    )
    """Most seconds to wait for batch jobs; then ``BatchJobError`` carries the request id to
    collect later (``None``: wait as long as it takes)."""
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request body fields."
    )
    """Other request-body fields, sent as they are."""
    http_client: Any = Field(default=None, exclude=True, description="An httpx.Client.")
    """An ``httpx.Client`` to use instead of the built-in pool (you close it)."""
    async_http_client: Any = Field(default=None, exclude=True, description="An httpx.AsyncClient.")
    """An ``httpx.AsyncClient`` to use instead of the built-in pool (you close it)."""

    _settings: WorkersAISettings = PrivateAttr()
    _clients: ClientPair = PrivateAttr()

    def _after_init(self) -> None:
        """Check the model against the catalog and resolve the settings (no I/O)."""
        self._check_chat_models(self.model, self.fallbacks, self.endpoint)
        if self.session_affinity is not None:
            validate_header_value(
                self.session_affinity, "session_affinity", header="x-session-affinity"
            )
        self._settings = self._resolve_settings()
        self._check_chat_routes(self._settings, self.model, self.fallbacks, self.endpoint)
        self._clients = self._make_clients(
            self._settings, http_client=self.http_client, async_http_client=self.async_http_client
        )

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAI_LLM"

    @property
    def metadata(self) -> LLMMetadata:
        from workers_ai import catalog

        info = catalog.get(self.model)
        return LLMMetadata(
            context_window=self.context_window or info.context_window or _DEFAULT_CONTEXT_WINDOW,
            num_output=self.max_tokens or info.default_max_tokens or 256,
            is_chat_model=True,
            is_function_calling_model=self.force_tools or info.supports_tools,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    # -- request building -------------------------------------------------------------------------
    def _prepare(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> PreparedChat:
        from llama_index_workers_ai._convert import li_messages_to_neutral
        from workers_ai.prepare import generation_params, prepare_chat

        return prepare_chat(
            li_messages_to_neutral(messages),
            kwargs,
            model=self.model,
            params=generation_params(self),
            extra=self.additional_kwargs,
            endpoint=self.endpoint,
            force_tools=self.force_tools,
            session_affinity=self.session_affinity,
            check_model=lambda model: self._check_model(model, "chat"),
            settings=self._clients.settings,
            fallbacks=self.fallbacks,
        )

    # -- the batch API -----------------------------------------------------------------------------
    def chat_batch(
        self,
        message_lists: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: bool = False,
        cancel: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse]:
        """Answer many conversations through Workers AI's async batch API (one queued job
        instead of a request each; spec §10), in input order. For bulk work that can wait,
        on models whose catalog entry says ``async_queue``.

        Args:
            message_lists: One conversation per input.
            return_exceptions: Put a failed input's error in its place instead of raising.
            cancel: Checked while waiting (e.g. ``threading.Event().is_set``); once true,
                ``BatchCancelledError`` (the jobs go on server-side).
            **kwargs: Per-call options, as for :meth:`chat` (the same for every input).
        """
        from llama_index_workers_ai import _batch

        if not message_lists:
            return []
        model, items, prep = _batch.prepare(self, message_lists, kwargs)
        ids = _batch.submit(self, model, items)
        results = _batch.collect(self, ids, prep, cancel)
        return _batch.to_responses(results, prep, return_exceptions)

    async def achat_batch(
        self,
        message_lists: Sequence[Sequence[ChatMessage]],
        *,
        return_exceptions: bool = False,
        cancel: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse]:
        """Async :meth:`chat_batch` (cancelling the task stops waiting too)."""
        from llama_index_workers_ai import _batch

        if not message_lists:
            return []
        model, items, prep = _batch.prepare(self, message_lists, kwargs)
        ids = await _batch.asubmit(self, model, items)
        results = await _batch.acollect(self, ids, prep, cancel)
        return _batch.to_responses(results, prep, return_exceptions)

    def submit_chat_batch(
        self, message_lists: Sequence[Sequence[ChatMessage]], **kwargs: Any
    ) -> list[str]:
        """Queue conversations as batch jobs (no waiting); the jobs' request ids. Keep them:
        :meth:`collect_chat_batch` picks the answers up later, in this or another process."""
        from llama_index_workers_ai import _batch

        if not message_lists:
            return []
        model, items, _ = _batch.prepare(self, message_lists, kwargs)
        return _batch.submit(self, model, items)

    async def asubmit_chat_batch(
        self, message_lists: Sequence[Sequence[ChatMessage]], **kwargs: Any
    ) -> list[str]:
        """Async :meth:`submit_chat_batch`."""
        from llama_index_workers_ai import _batch

        if not message_lists:
            return []
        model, items, _ = _batch.prepare(self, message_lists, kwargs)
        return await _batch.asubmit(self, model, items)

    def collect_chat_batch(
        self,
        request_ids: Sequence[str],
        *,
        return_exceptions: bool = False,
        cancel: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse]:
        """Wait for the jobs of :meth:`submit_chat_batch`; the answers in input order
        (``kwargs``: the options given to ``submit_chat_batch`` that shape answers, such as
        ``tools``)."""
        from llama_index_workers_ai import _batch

        prep = _batch.probe(self, kwargs)
        results = _batch.collect(self, request_ids, prep, cancel)
        return _batch.to_responses(results, prep, return_exceptions)

    async def acollect_chat_batch(
        self,
        request_ids: Sequence[str],
        *,
        return_exceptions: bool = False,
        cancel: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[ChatResponse]:
        """Async :meth:`collect_chat_batch`."""
        from llama_index_workers_ai import _batch

        prep = _batch.probe(self, kwargs)
        results = await _batch.acollect(self, request_ids, prep, cancel)
        return _batch.to_responses(results, prep, return_exceptions)

    # -- chat -----------------------------------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        from llama_index_workers_ai._convert import response_kwargs, result_to_message

        prep = self._prepare(messages, kwargs)
        response = self._sync_client().chat(prep.model, prep.body, **prep.call_options())
        return ChatResponse(
            message=result_to_message(response.result, prep.schemas),
            raw=response.result.raw,
            additional_kwargs=response_kwargs(response.result, response.meta, prep.model),
        )

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        from llama_index_workers_ai._convert import response_kwargs, result_to_message

        prep = self._prepare(messages, kwargs)
        client = self._async_client()
        response = await client.chat(prep.model, prep.body, **prep.call_options())
        return ChatResponse(
            message=result_to_message(response.result, prep.schemas),
            raw=response.result.raw,
            additional_kwargs=response_kwargs(response.result, response.meta, prep.model),
        )

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        prep = self._prepare(messages, kwargs)

        def gen() -> Generator[ChatResponse, None, None]:
            from llama_index_workers_ai._convert import StreamedMessage  # once, not per chunk

            stream = self._sync_client().stream_chat(prep.model, prep.body, **prep.call_options())
            state = StreamedMessage()
            try:
                for delta in stream:
                    state.add(delta)
                    if delta.text or delta.reasoning or delta.tool_calls:
                        yield state.response(delta)
            finally:  # left early: the connection closes now, not when collected
                stream.close()
            yield _final_response(stream.result(), stream.meta, prep)

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        prep = self._prepare(messages, kwargs)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            from llama_index_workers_ai._convert import StreamedMessage  # once, not per chunk

            stream = await self._async_client().stream_chat(
                prep.model, prep.body, **prep.call_options()
            )
            state = StreamedMessage()
            try:
                async for delta in stream:
                    state.add(delta)
                    if delta.text or delta.reasoning or delta.tool_calls:
                        yield state.response(delta)
            finally:  # left early: the connection closes now, not when collected
                await stream.aclose()
            yield _final_response(stream.result(), stream.meta, prep)

        return gen()

    # -- completion (derived from chat) ---------------------------------------------------------
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)

    # -- tools ------------------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        specs = [t.metadata.to_openai_tool(skip_length_check=True) for t in tools]
        messages = list(chat_history or [])  # never mutate the caller's history
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        if tool_choice is None and specs:
            tool_choice = "required" if tool_required else "auto"
        out: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            out.update(
                tools=specs, tool_choice=tool_choice, parallel_tool_calls=allow_parallel_tool_calls
            )
        return out

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[Any],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            _keep_first_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not blocks and error_on_no_tool_call:
            raise ValueError(
                f"Expected at least one tool call from {self.model}, got none: "
                f"{response.message.content!r}"
            )
        selections = []
        for block in blocks:
            kwargs_ = block.tool_kwargs
            if isinstance(kwargs_, str):  # only arguments that were not (yet) valid JSON
                from llama_index_workers_ai._convert import partial_json_arguments

                kwargs_ = partial_json_arguments(kwargs_) or {}
            selections.append(
                ToolSelection(
                    tool_id=block.tool_call_id or "",
                    tool_name=block.tool_name,
                    tool_kwargs=kwargs_,
                )
            )
        return selections

    # -- structured output (native JSON mode where the model has it) ----------------------------
    def _json_mode(self) -> bool:
        """Structured output through JSON mode: for models that cannot call tools. A model whose
        JSON mode the catalog does not know (``None``) gets it too: the service decides."""
        from workers_ai import catalog

        return not (catalog.get(self.model).supports_tools or self.force_tools)

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._json_mode():
            result: Model = super().structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return result
        messages = prompt.format_messages(llm=self, **prompt_args)
        kwargs = {**(llm_kwargs or {}), "response_format": _schema_format(output_cls)}
        text = self.chat(messages, **kwargs).message.content or ""
        return output_cls.model_validate_json(text)

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._json_mode():
            awaited: Model = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return awaited
        messages = prompt.format_messages(llm=self, **prompt_args)
        kwargs = {**(llm_kwargs or {}), "response_format": _schema_format(output_cls)}
        response = await self.achat(messages, **kwargs)
        return output_cls.model_validate_json(response.message.content or "")

    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None, None]:
        """Stream partial objects. Unlike the base class, the tool call is *required*: a
        structured-output request is not a question the model may answer in prose."""
        messages = prompt.format_messages(llm=self, **prompt_args)
        if self._json_mode():  # JSON mode cannot stream on Workers AI: one final object
            kwargs = {**(llm_kwargs or {}), "response_format": _schema_format(output_cls)}
            text = self.chat(messages, **kwargs).message.content or ""
            return (obj for obj in [output_cls.model_validate_json(text)])
        tool = get_function_tool(output_cls)
        responses = self.stream_chat_with_tools(
            [tool], chat_history=messages, tool_required=True, **(llm_kwargs or {})
        )
        return _partial_objects(self, output_cls, responses)

    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None]:
        """Async twin of :meth:`stream_structured_predict`."""
        messages = prompt.format_messages(llm=self, **prompt_args)
        if self._json_mode():
            kwargs = {**(llm_kwargs or {}), "response_format": _schema_format(output_cls)}
            text = (await self.achat(messages, **kwargs)).message.content or ""
            obj = output_cls.model_validate_json(text)

            async def one() -> AsyncGenerator[Model, None]:
                yield obj

            return one()
        tool = get_function_tool(output_cls)
        responses = await self.astream_chat_with_tools(
            [tool], chat_history=messages, tool_required=True, **(llm_kwargs or {})
        )

        async def gen() -> AsyncGenerator[Any, None]:
            current: Any = None
            async for response in responses:
                current = _next_objects(self, output_cls, response, current)
                yield current[0] if len(current) == 1 else current

        return gen()


def _next_objects(
    llm: WorkersAI, output_cls: type[Any], response: ChatResponse, current: Any
) -> Any:
    objects = process_streaming_objects(
        response, output_cls, cur_objects=current, flexible_mode=True, llm=llm
    )
    return objects if isinstance(objects, list) else [objects]


def _partial_objects(
    llm: WorkersAI, output_cls: type[Any], responses: ChatResponseGen
) -> Generator[Any, None, None]:
    current: Any = None
    for response in responses:
        current = _next_objects(llm, output_cls, response, current)
        yield current[0] if len(current) == 1 else current


def _schema_format(output_cls: type[Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": output_cls.model_json_schema()}


def _final_response(
    result: ChatResult, meta: ResponseMeta | None, prep: PreparedChat
) -> ChatResponse:
    """The last response of a stream: the whole message (tool calls coerced), usage and the
    response's ids (:func:`~llama_index_workers_ai._convert.response_kwargs`)."""
    from llama_index_workers_ai._convert import response_kwargs, result_to_message

    return ChatResponse(
        message=result_to_message(result, prep.schemas),
        delta="",
        raw=result.raw,
        additional_kwargs=response_kwargs(result, meta, prep.model),
    )


def _keep_first_tool_call(response: ChatResponse) -> None:
    """Drop every tool call after the first (``allow_parallel_tool_calls=False``)."""
    seen = False
    blocks = []
    for block in response.message.blocks:
        if isinstance(block, ToolCallBlock):
            if seen:
                continue
            seen = True
        blocks.append(block)
    response.message.blocks = blocks
    calls = response.message.additional_kwargs.get("tool_calls")
    if calls:
        response.message.additional_kwargs["tool_calls"] = calls[:1]


__all__ = ["WorkersAI"]
