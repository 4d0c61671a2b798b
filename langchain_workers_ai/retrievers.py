"""LangChain components for Cloudflare AI Search (formerly AutoRAG), platform spec §3.

A thin adapter over :mod:`workers_ai.ai_search` (``client.ai_search``): the core builds and
checks the requests of both route families and reads their answers into neutral
:class:`~workers_ai.ai_search.SearchChunk` s; this module turns those into LangChain
``Document`` s and LangChain inputs into queries.

- :class:`WorkersAISearchRetriever`: a ``BaseRetriever`` over an AI Search instance (or a
  namespace's instances, or a legacy AutoRAG): the service's own retrieval, no embeddings.
- :class:`WorkersAISearchAnswer`: a runnable returning the service's generated answer with its
  sources, in the keys of LangChain's ``create_retrieval_chain`` (``input``, ``context``,
  ``answer``), streamed in the same order.

Documents (both classes): ``page_content`` is the chunk's text, ``id`` the chunk id (a legacy
AutoRAG answers one item per file: the file id), and ``metadata`` is flat, as LangChain's
document prompts and the LlamaIndex adapter's nodes have it: the file's attributes as the
service gives them (``folder``, ``modified_date``, an instance's custom metadata: the keys
filters name), then what the service said of the chunk, each key only when given --
``source`` and ``filename`` (the file's key, e.g. ``docs/intro.md``), ``file_id``, ``score``
(0 to 1), ``timestamp`` (the file's time, as the service gives it), ``scoring_details``
(``vector_score``, ``keyword_score``, ``reranking_score``...) and ``instance_id``
(cross-instance searches). These win over a custom attribute of the same name.

Filters (``filter=``) take the same dict form as :class:`~langchain_workers_ai.WorkersAIVectorize`
(Vectorize's syntax: ``{"folder": "docs/"}``, ``{"timestamp": {"$gte": 1735689600}}``,
``$in``, ``$and``, ``$or`` of one key's values); the core translates them for the legacy
routes or refuses what those cannot express, before any request.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.utils import AddableDict
from pydantic import Field

from langchain_workers_ai._connection import ClientConnection
from langchain_workers_ai._vectorize_filters import filter_to_vectorize
from langchain_workers_ai.errors import langchain_errors
from workers_ai.arguments import check_arguments
from workers_ai.errors import ConfigurationError, InvalidRequestError

# The core's AI Search modules (and the chat and catalog modules under them) are loaded when
# an object is built, not when the package is imported.
if TYPE_CHECKING:
    from workers_ai.ai_search import (
        AISearchTarget,
        AnswerDelta,
        AsyncAISearchTarget,
        SearchChunk,
        SearchResult,
    )

__all__ = ["WorkersAISearchAnswer", "WorkersAISearchRetriever"]

#: The namespace every account has (cross-instance searches default to it).
DEFAULT_NAMESPACE = "default"
#: This package's names of retrieval options -> ``SearchOptions`` field names.
_RETRIEVAL_NAMES = {
    "k": "max_results",
    "score_threshold": "score_threshold",
    "rewrite_query": "rewrite_query",
    "reranking": "reranking",
    "filter": "filters",
}
#: The answer's own options (same names in ``SearchOptions``).
_ANSWER_NAMES = {"model": "model", "system_prompt": "system_prompt"}
#: What LangChain itself passes along with ``invoke``'s keywords (ignored here).
_LANGCHAIN_KWARGS = frozenset({"verbose"})
_ROLES = {HumanMessage: "user", AIMessage: "assistant", SystemMessage: "system"}

Query = str | list[dict[str, Any]]
AnswerInput = str | dict[str, Any] | Sequence[BaseMessage] | PromptValue
T_co = TypeVar("T_co", covariant=True)


class _Search(Protocol[T_co]):
    """``client.ai_search``, sync or async: what a target is picked from."""

    def instance(self, name: str, namespace: str | None = None) -> T_co: ...
    def instances(self, namespace: str, instance_ids: Sequence[str]) -> T_co: ...
    def autorag(self, rag_id: str) -> T_co: ...
    def target(self, **which: Any) -> T_co: ...


# --- pure conversions -------------------------------------------------------------------------
def _chunk_to_metadata(chunk: SearchChunk) -> dict[str, Any]:
    """A chunk's metadata (module docs): the core's (attributes flat, then the chunk's own
    keys), with LangChain's ``source`` and the ``score``."""
    from workers_ai.ai_search.types import chunk_metadata

    own = {"source": chunk.filename, "score": chunk.score}
    metadata = chunk_metadata(chunk)
    metadata.update({k: v for k, v in own.items() if v is not None})
    return metadata


def _chunks_to_documents(chunks: Sequence[SearchChunk]) -> list[Document]:
    """Chunks (best first) as ``Document`` s, in the same order, with the core's ids."""
    from workers_ai.ai_search.types import chunk_ids

    return [
        Document(id=doc_id, page_content=chunk.text, metadata=_chunk_to_metadata(chunk))
        for chunk, doc_id in zip(chunks, chunk_ids(chunks), strict=True)
    ]


def _result_to_documents(result: SearchResult) -> list[Document]:
    """A search's documents; instances that failed in a cross-instance search are warned
    about (the others' results are still returned)."""
    for error in result.errors:
        warnings.warn(
            f"AI Search instance {error.get('instance_id')!r} was not searched: "
            f"{error.get('message')}",
            UserWarning,
            stacklevel=4,
        )
    return _chunks_to_documents(result.chunks)


def _messages_to_query(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """A conversation as AI Search's chat messages (``{"role", "content"}``; text only)."""
    out = []
    for index, message in enumerate(messages):
        role = next((r for cls, r in _ROLES.items() if isinstance(message, cls)), None)
        if isinstance(message, ChatMessage) and message.role in ("user", "assistant", "system"):
            role = message.role
        if role is None:
            raise InvalidRequestError(
                f"message {index} is a {type(message).__name__}; AI Search answers take "
                "system, human and AI messages"
            )
        out.append({"role": role, "content": message.text})
    return out


def _input_to_query(value: AnswerInput) -> tuple[Query, dict[str, Any]]:
    """The query for the service, and the output's passed-through keys.

    A string or messages (or a prompt value) is the output's ``input``; a dict is passed
    through whole (as ``create_retrieval_chain`` does), its ``input`` being the question and an
    optional ``chat_history`` the conversation before it.
    """
    if isinstance(value, PromptValue):
        text = value.to_string()
        messages = value.to_messages()
        is_chat = not (len(messages) == 1 and isinstance(messages[0], HumanMessage))
        return (_messages_to_query(messages) if is_chat else text), {"input": value}
    if isinstance(value, str):
        return value, {"input": value}
    if isinstance(value, Mapping):
        if "input" not in value:
            raise InvalidRequestError(
                "a dict input needs an 'input' key (the question; as create_retrieval_chain), "
                f"got keys {sorted(map(str, value))}"
            )
        question, history = value["input"], value.get("chat_history") or []
        query, _ = _input_to_query(question)
        if history:
            turn = [{"role": "user", "content": query}] if isinstance(query, str) else query
            query = _messages_to_query(history) + turn
        return query, dict(value)
    if isinstance(value, Sequence):
        messages = [m for m in value if isinstance(m, BaseMessage)]
        if len(messages) == len(value):
            return _messages_to_query(messages), {"input": value}
    raise InvalidRequestError(
        "input must be a question (str), a dict with 'input' (and 'chat_history'), chat "
        f"messages or a prompt value, got {type(value).__name__}"
    )


# --- the shared fields ------------------------------------------------------------------------
class _AISearchBase(ClientConnection):
    """What to search, how, and the connection (no I/O at construction)."""

    instance: str | None = None
    """The AI Search instance (its name); exactly one of ``instance``, ``instance_ids`` and
    ``autorag``."""
    autorag: str | None = None
    """A legacy AutoRAG (its id), on the deprecated ``autorag/rags/{id}`` routes."""
    instance_ids: list[str] | None = None
    """Several instances of ``namespace`` searched at once (cross-instance; each document's
    ``metadata["instance_id"]`` says where it was found)."""
    namespace: str | None = None
    """The namespace of ``instance`` / ``instance_ids``; ``None``: ``default``."""
    k: int | None = None
    """Results to return, 1 to 50; ``None``: the instance's setting (10 unless changed)."""
    score_threshold: float | None = None
    """Least relevance score of a result, 0 to 1; ``None``: the instance's setting."""
    rewrite_query: bool | None = None
    """Let the service rewrite the query before searching; ``None``: the instance's setting."""
    reranking: bool | None = None
    """Rerank the results; ``None``: the instance's setting."""
    filter: dict[str, Any] | None = None
    """A metadata filter (module docs), e.g. ``{"folder": "docs/"}``."""
    search_options: dict[str, Any] = Field(default_factory=dict)
    """Any other option of :class:`workers_ai.ai_search.SearchOptions` (``retrieval_type``,
    ``fusion_method``, ``reranking_model``, ``context_expansion``, ``boost_by``, ``extra``...);
    an option set both here and by a field above raises. ``filters`` here is sent as given
    (the core's syntax, e.g. a legacy AutoRAG's ``{"type": "eq", ...}``)."""

    #: The per-call and field names of the options (``SearchOptions`` name by ours).
    _option_names: ClassVar[Mapping[str, str]] = _RETRIEVAL_NAMES
    #: Whether the options are those of an answer (else of a search).
    _generate: ClassVar[bool] = False

    def _after_init(self) -> None:
        """Check the target and the options (no I/O); the clients are made on first use."""
        self._check_target()
        self._core_options({})
        super()._after_init()

    def _which(self) -> dict[str, Any]:
        return {"instance": self.instance, "instance_ids": self.instance_ids,
                "autorag": self.autorag, "namespace": self.namespace}  # fmt: skip

    def _check_target(self) -> None:
        from workers_ai.ai_search.client import target_route

        try:
            target_route(**self._which())
        except InvalidRequestError as error:
            raise ConfigurationError(f"{type(self).__name__}: {error}") from error

    def _target_of(self, search: _Search[T_co]) -> T_co:
        return search.target(**self._which())

    def _sync_target(self) -> AISearchTarget:
        return self._target_of(self._sync_client().ai_search)

    def _async_target(self) -> AsyncAISearchTarget:
        return self._target_of(self._async_client().ai_search)

    def _core_options(self, call: Mapping[str, Any]) -> dict[str, Any]:
        """The core's options for one call: the fields, overridden by ``call`` (per-call
        keywords), checked as the route family takes them -- all before any request.

        Raises:
            UnknownArgumentError: An unknown per-call keyword (with a did-you-mean).
            InvalidRequestError: An option out of range, set twice, or not taken by the
                route family (``FilterError`` for filters).
        """
        from workers_ai.ai_search.options import SearchOptions, instance_body, legacy_body

        known = (*self._option_names, "search_options", *_LANGCHAIN_KWARGS)
        check_arguments(f"{type(self).__name__}.invoke", call, known, allow_unknown=False)
        options = {**self.search_options, **(call.get("search_options") or {})}
        for name, option in self._option_names.items():
            value = call[name] if name in call else getattr(self, name)
            if value is None:
                continue
            if option in options:
                raise InvalidRequestError(
                    f"{option!r} is given in search_options and as {name}; give it once"
                )
            options[option] = filter_to_vectorize(value) if name == "filter" else value
        opts = SearchOptions.of(options)
        # Workaround: the core checks an option against its route family only while building
        # a body (no check-only call), so a body is built for a stand-in query and dropped.
        if self.autorag is not None:
            legacy_body("probe", opts, generate=self._generate)
        else:
            instance_body("probe", opts, generate=self._generate, instance_ids=self.instance_ids)
        return {key: value for key, value in options.items() if value is not None}


# --- the retriever ----------------------------------------------------------------------------
class WorkersAISearchRetriever(_AISearchBase, BaseRetriever):
    """Retrieve from a Cloudflare AI Search instance: the service's own search of an indexed R2
    bucket or website (vector, keyword or hybrid, optional query rewriting and reranking).

    Setup:
        ``pip install ".[langchain]"``; ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN``
        (a token with AI Search:Run), or pass ``account_id`` / ``api_key``; ``base_url``
        targets the emulator.

    Key init args:
        instance | instance_ids (+ namespace) | autorag; k, score_threshold, rewrite_query,
        reranking, filter, search_options; the connection fields of every class here
        (api_key, account_id, base_url, timeout, max_retries, default_headers...).

    Instantiate:
        .. code-block:: python

            from langchain_workers_ai import WorkersAISearchRetriever

            retriever = WorkersAISearchRetriever(instance="docs", k=5, score_threshold=0.3)

    Invoke:
        .. code-block:: python

            docs = retriever.invoke("How do I rotate an API token?")
            docs[0].metadata["filename"], docs[0].metadata["score"]
            retriever.invoke("billing", k=2, filter={"folder": "billing/"})  # per call

    Per call, ``invoke`` (and ``ainvoke``, ``batch``...) takes ``k``, ``score_threshold``,
    ``rewrite_query``, ``reranking``, ``filter`` and ``search_options`` (merged over the
    field's); another keyword raises ``UnknownArgumentError`` with a did-you-mean.

    In a chain:
        .. code-block:: python

            chain = (
                {"context": retriever | format_docs, "question": RunnablePassthrough()}
                | prompt | ChatWorkersAI() | StrOutputParser()
            )

    Async: ``ainvoke`` runs on the async client. Documents: see the module docs. Errors are
    this package's LangChain twins (an unknown instance: ``NotFoundError``); options the route
    family does not take, and filters it cannot express, raise before any request (at
    construction when set as fields).
    """

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        options = self._core_options(kwargs)
        with langchain_errors():
            result = self._sync_target().search(query, **options)
        return _result_to_documents(result)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        options = self._core_options(kwargs)
        with langchain_errors():
            result = await self._async_target().search(query, **options)
        return _result_to_documents(result)


# --- the answer -------------------------------------------------------------------------------
class _StreamShape:
    """Deltas -> the streamed output's pieces: sources (``context``) before any answer text
    on the AI Search routes, and an ``answer`` key even when the answer is empty (pure)."""

    def __init__(self, legacy: bool) -> None:
        self.legacy = legacy
        self.sent_context = False
        self.sent_answer = False

    def pieces(self, delta: AnswerDelta) -> list[AddableDict]:
        out = []
        if delta.chunks is not None and not self.sent_context:
            out.append(AddableDict(context=_chunks_to_documents(delta.chunks)))
            self.sent_context = True
        if delta.text:
            if not self.legacy and not self.sent_context:
                out.append(AddableDict(context=[]))
                self.sent_context = True
            out.append(AddableDict(answer=delta.text))
            self.sent_answer = True
        return out

    def end(self) -> list[AddableDict]:
        out = []
        if not self.legacy and not self.sent_context:
            out.append(AddableDict(context=[]))
        if not self.sent_answer:
            out.append(AddableDict(answer=""))
        return out


class WorkersAISearchAnswer(_AISearchBase, RunnableSerializable[AnswerInput, dict[str, Any]]):
    """Cloudflare AI Search's generated answer with its sources, as a LangChain runnable.

    The service retrieves and generates in one request (``chat/completions`` of an instance;
    ``ai-search`` of a legacy AutoRAG); the output has the keys of LangChain's
    ``create_retrieval_chain``, so it can take that chain's place:

    - ``input``: the input (a dict input is passed through whole, ``chat_history`` included);
    - ``context``: the sources, as ``Document`` s (module docs);
    - ``answer``: the answer's text.

    Input: a question (``str``), ``{"input": question, "chat_history": [messages]}``, chat
    messages or a prompt value (messages need an AI Search instance: a legacy AutoRAG takes one
    question).

    Setup, key init args and errors: as :class:`WorkersAISearchRetriever`, plus ``model`` (the
    generation model) and ``system_prompt``; per call, ``invoke(input, model=..., k=...)``.

    Example:
        .. code-block:: python

            from langchain_workers_ai import WorkersAISearchAnswer

            rag = WorkersAISearchAnswer(instance="docs", k=5)
            out = rag.invoke("How do I rotate an API token?")
            out["answer"], [d.metadata["filename"] for d in out["context"]]

    Streaming (``stream`` / ``astream``) yields partial dicts in ``create_retrieval_chain``'s
    order, which add up (``+``) to ``invoke``'s output: ``{"input": ...}``, then
    ``{"context": [...]}`` (always before any text on the AI Search routes; ``[]`` when the
    service sent none), then ``{"answer": "..."}`` pieces. A legacy AutoRAG streams no sources:
    its stream has no ``context`` (``invoke`` has it).

    Usage (tokens) is reported like every model call here: ``get_workers_ai_callback()``
    counts it (under the answering model).
    """

    model: str | None = None
    """The generation model (e.g. ``@cf/meta/llama-3.3-70b-instruct-fp8-fast``); ``None``: the
    instance's."""
    system_prompt: str | None = None
    """The system prompt of the generation; ``None``: the instance's."""

    _option_names: ClassVar[Mapping[str, str]] = {**_RETRIEVAL_NAMES, **_ANSWER_NAMES}
    _generate: ClassVar[bool] = True

    def _answer(self, value: AnswerInput, **kwargs: Any) -> dict[str, Any]:
        query, out = _input_to_query(value)
        options = self._core_options(kwargs)
        with langchain_errors():
            answer = self._sync_target().answer(query, **options)
        return {**out, "context": _chunks_to_documents(answer.chunks), "answer": answer.text}

    async def _aanswer(self, value: AnswerInput, **kwargs: Any) -> dict[str, Any]:
        query, out = _input_to_query(value)
        options = self._core_options(kwargs)
        with langchain_errors():
            answer = await self._async_target().answer(query, **options)
        return {**out, "context": _chunks_to_documents(answer.chunks), "answer": answer.text}

    def invoke(
        self, input: AnswerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The answer with its sources (class docs)."""
        return self._call_with_config(self._answer, input, config, **kwargs)

    async def ainvoke(
        self, input: AnswerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Async :meth:`invoke`, on the async client."""
        return await self._acall_with_config(self._aanswer, input, config, **kwargs)

    def _stream_pieces(self, inputs: Iterator[AnswerInput], **kwargs: Any) -> Iterator[AddableDict]:
        query, out = _input_to_query(next(iter(inputs)))
        options = self._core_options(kwargs)
        shape = _StreamShape(self.autorag is not None)
        with langchain_errors():  # opened first: a refused request yields nothing
            stream = self._sync_target().stream_answer(query, **options)
        with stream:
            yield AddableDict(out)
            with langchain_errors():
                for delta in stream:
                    yield from shape.pieces(delta)
        yield from shape.end()

    async def _astream_pieces(
        self, inputs: AsyncIterator[AnswerInput], **kwargs: Any
    ) -> AsyncIterator[AddableDict]:
        query, out = _input_to_query(await anext(inputs))
        options = self._core_options(kwargs)
        shape = _StreamShape(self.autorag is not None)
        with langchain_errors():  # opened first: a refused request yields nothing
            stream = await self._async_target().stream_answer(query, **options)
        async with stream:
            yield AddableDict(out)
            with langchain_errors():
                async for delta in stream:
                    for piece in shape.pieces(delta):
                        yield piece
        for piece in shape.end():
            yield piece

    def stream(
        self, input: AnswerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """Partial outputs as they come (class docs)."""
        yield from self._transform_stream_with_config(
            iter([input]), self._stream_pieces, config, **kwargs
        )

    async def astream(
        self, input: AnswerInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Async :meth:`stream`, on the async client."""

        async def single() -> AsyncIterator[AnswerInput]:
            yield input

        async for piece in self._atransform_stream_with_config(
            single(), self._astream_pieces, config, **kwargs
        ):
            yield piece
