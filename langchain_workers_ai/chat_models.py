"""``ChatWorkersAI``: a LangChain chat model for Cloudflare Workers AI."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk
from langchain_core.outputs import ChatResult as LCChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from langchain_workers_ai._connection import WorkersAIConnection
from langchain_workers_ai._convert import (
    delta_to_ai_chunk,
    lc_messages_to_neutral,
    response_metadata,
    result_to_ai_message,
    tool_calls_to_chunks,
    usage_to_lc,
)
from langchain_workers_ai.errors import langchain_errors
from workers_ai import catalog
from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient
from workers_ai.messages import GENERATION_PARAMS, ChatRequest, build_chat_body
from workers_ai.settings import WorkersAISettings
from workers_ai.tools import tool_choice_to_wire
from workers_ai.types import ChatResult, ResponseMeta

_ACCOUNT_ENV = ["CLOUDFLARE_ACCOUNT_ID", "CF_ACCOUNT_ID"]
_TOKEN_ENV = ["CLOUDFLARE_API_TOKEN", "CF_AI_API_TOKEN"]


@dataclass
class _Prepared:
    """Everything one call needs, built once for invoke and stream alike."""

    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    schemas: dict[str, Any] = field(default_factory=dict)
    think_tags: bool = False
    tool_names: tuple[str, ...] = ()


def _is_pydantic_class(obj: Any) -> bool:
    return isinstance(obj, type) and is_basemodel_subclass(obj)


class ChatWorkersAI(WorkersAIConnection, BaseChatModel):
    """Cloudflare Workers AI chat models (``/ai/run`` or the OpenAI-compatible route).

    Credentials come from the arguments, else ``CLOUDFLARE_ACCOUNT_ID`` /
    ``CLOUDFLARE_API_TOKEN`` (or ``CF_ACCOUNT_ID`` / ``CF_AI_API_TOKEN``). Works with every
    text-generation family in the catalog: tool calling, structured output, streaming
    (tool calls and reasoning included), usage metadata and typed errors that are also
    ``langchain_core.exceptions`` types.

    Example:
        .. code-block:: python

            from langchain_workers_ai import ChatWorkersAI

            llm = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", temperature=0)
            llm.invoke("Name three French cheeses.").content
            for chunk in llm.stream("Count to five."):
                print(chunk.content, end="")
            llm.bind_tools([get_weather]).invoke("Weather in Lisbon?").tool_calls
            llm.with_structured_output(Person).invoke("Ada Lovelace, born 1815")

    Reasoning models (``@cf/qwen/qwen3-30b-a3b-fp8``, deepseek-r1, gpt-oss...) put their chain
    of thought in ``additional_kwargs["reasoning_content"]`` and as a ``reasoning`` block of
    ``message.content_blocks``; ``content`` holds only the answer.
    """

    model: str = Field(default_factory=catalog.default_chat_model, alias="model_name")
    """Workers AI model id, e.g. ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``."""
    streaming: bool = False
    """Stream by default, also inside ``invoke`` (callbacks then get every token)."""
    temperature: float | None = None
    """Sampling temperature (sent only when set)."""
    max_tokens: int | None = None
    """Most tokens to generate (Workers AI's default is 256 on most models)."""
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences."""
    lora: str | None = None
    """A LoRA fine-tune name or id (LoRA-capable models only)."""
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    """Reasoning effort for models that accept it (gpt-oss, qwen3...)."""
    session_affinity: str | None = None
    """Sent as ``x-session-affinity`` so repeated prefixes hit the prompt cache."""
    endpoint: Literal["native", "openai"] = "native"
    """``native`` uses ``/ai/run/{model}``; ``openai`` uses ``/ai/v1/chat/completions``."""
    force_tools: bool = False
    """Send tools even when the catalog says the model cannot call functions."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other body fields, sent as they are (unknown constructor arguments land here)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to use instead of the built-in pool."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to use instead of the built-in pool."""

    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    _settings: WorkersAISettings = PrivateAttr()
    _client: WorkersAIClient | None = PrivateAttr(default=None)
    _aclient: AsyncWorkersAIClient | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _move_unknown_kwargs(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        known = {name for name, f in cls.model_fields.items()} | {
            f.alias for f in cls.model_fields.values() if f.alias
        }
        extra = dict(values.get("model_kwargs") or {})
        for name in list(values):
            if name not in known:
                warnings.warn(
                    f"{name} is not a ChatWorkersAI parameter; it was moved to model_kwargs "
                    "and will be sent in the request body.",
                    stacklevel=4,
                )
                extra[name] = values.pop(name)
        clash = set(extra) & known
        if clash:
            raise ValueError(f"Set {sorted(clash)} as constructor arguments, not model_kwargs.")
        values["model_kwargs"] = extra
        return values

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Raised here (not in a validator) so users see ConfigurationError itself.
        self._settings = self._resolve_settings()

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
        return {"api_token": "CLOUDFLARE_API_TOKEN", "gateway_token": "CF_AIG_TOKEN"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "endpoint": self.endpoint, **self._set_params()}

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

    def _sync_client(self) -> WorkersAIClient:
        if self._client is None:
            self._client = WorkersAIClient(settings=self._settings, http_client=self.http_client)
        return self._client

    def _async_client(self) -> AsyncWorkersAIClient:
        if self._aclient is None:
            self._aclient = AsyncWorkersAIClient(
                settings=self._settings, http_client=self.http_async_client
            )
        return self._aclient

    def close(self) -> None:
        """Close the connection pool (an injected ``http_client`` is left open)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the async connection pool (an injected ``http_async_client`` is left open)."""
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    # -- request building --------------------------------------------------------------------------
    def _set_params(self) -> dict[str, Any]:
        """Generation parameters the user set on the model (defaults are not sent)."""
        return {n: getattr(self, n) for n in GENERATION_PARAMS if getattr(self, n) is not None}

    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Prepared:
        kwargs = dict(kwargs)
        model = kwargs.pop("model", None) or self.model
        kwargs.pop("stream", None)
        tools = list(kwargs.pop("tools", None) or [])
        response_format = kwargs.pop("response_format", None) or {}
        params = self._set_params()
        params.update({k: kwargs.pop(k) for k in list(kwargs) if k in GENERATION_PARAMS})
        if stop is not None:
            params["stop"] = stop
        request = ChatRequest(
            messages=lc_messages_to_neutral(messages),
            tools=tools,
            tool_choice=kwargs.pop("tool_choice", None),
            parallel_tool_calls=kwargs.pop("parallel_tool_calls", None),
            json_schema=response_format.get("json_schema"),
            json_object=response_format.get("type") == "json_object",
            params=params,
            extra={**self.model_kwargs, **kwargs},
            force_tools=self.force_tools,
        )
        info = catalog.get(model)
        names = tuple(t["function"]["name"] for t in tools if "function" in t)
        return _Prepared(
            model=model,
            body=build_chat_body(model, request, endpoint=self.endpoint),
            headers={"x-session-affinity": self.session_affinity} if self.session_affinity else {},
            schemas={t["function"]["name"]: t["function"].get("parameters") for t in tools},
            think_tags=info.think_tags,
            tool_names=names,
        )

    def _to_lc_result(
        self, result: ChatResult, meta: ResponseMeta, prep: _Prepared
    ) -> LCChatResult:
        message = result_to_ai_message(result, meta, prep.model, prep.schemas)
        llm_output: dict[str, Any] = {"model_name": result.model or prep.model}
        if result.usage is not None:
            llm_output["token_usage"] = dict(usage_to_lc(result.usage))
        generation = ChatGeneration(
            message=message, generation_info={"finish_reason": result.finish_reason}
        )
        return LCChatResult(generations=[generation], llm_output=llm_output)

    def _final_chunk(
        self, result: ChatResult, meta: ResponseMeta, prep: _Prepared
    ) -> ChatGenerationChunk:
        """The last chunk: complete tool calls (coerced), usage once, metadata."""
        chunk = AIMessageChunk(
            content="",
            tool_call_chunks=tool_calls_to_chunks(
                result.tool_calls, result.invalid_tool_calls, prep.schemas
            ),
            usage_metadata=usage_to_lc(result.usage) if result.usage else None,
            response_metadata=response_metadata(
                result.model or prep.model,
                meta,
                finish_reason=result.finish_reason,
                usage=result.usage,
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
        prep = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            response = self._sync_client().chat(
                prep.model,
                prep.body,
                endpoint=self.endpoint,
                think_tags=prep.think_tags,
                tool_names=prep.tool_names,
                headers=prep.headers,
            )
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
        prep = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            response = await self._async_client().chat(
                prep.model,
                prep.body,
                endpoint=self.endpoint,
                think_tags=prep.think_tags,
                tool_names=prep.tool_names,
                headers=prep.headers,
            )
        return self._to_lc_result(response.result, response.meta, prep)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        prep = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            stream = self._sync_client().stream_chat(
                prep.model,
                prep.body,
                endpoint=self.endpoint,
                think_tags=prep.think_tags,
                tool_names=prep.tool_names,
                headers=prep.headers,
            )
            for delta in stream:
                if not (delta.text or delta.reasoning):
                    continue
                chunk = ChatGenerationChunk(message=delta_to_ai_chunk(delta))
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            final = self._final_chunk(stream.result(), stream.meta, prep)
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
        prep = self._prepare(messages, stop, kwargs)
        with langchain_errors():
            stream = await self._async_client().stream_chat(
                prep.model,
                prep.body,
                endpoint=self.endpoint,
                think_tags=prep.think_tags,
                tool_names=prep.tool_names,
                headers=prep.headers,
            )
            async for delta in stream:
                if not (delta.text or delta.reasoning):
                    continue
                chunk = ChatGenerationChunk(message=delta_to_ai_chunk(delta))
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            final = self._final_chunk(stream.result(), stream.meta, prep)
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
