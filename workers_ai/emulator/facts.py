"""The emulator's own model facts, transcribed from the spec (``/work/shared/workers-ai-api.md``).

Which models exist, their task, wire shapes, limits, prices and what ``GET /ai/models/search``
reports about them all come from the table below, never from the client's catalog
(:mod:`workers_ai.catalog`). Keeping the two apart lets ``tests/unit/test_emulator_facts.py``
compare them: a wrong catalog row can no longer pass on both sides and wait for a live run.

Where each fact group comes from (spec sections; ``[Rn]`` are the spec's references):

* Models and tasks: task names §1 [R2]; text generation §12; embeddings §6; the reranker §7;
  the other tasks §8. §8 names the Stable Diffusion/dreamshaper family without ids; two of
  its models are served under the ids of R6's model map (their input bounds are the models'
  pages, see the rows). The models §2 and §12 only mention in passing (llama-3.1-70b, llama-3-8b,
  deepseek-coder-6.7b, the legacy ``*-lora`` models) have too few facts to serve.
* Context window, function calling, JSON-mode field, LoRA, USD and neuron prices: the §12 table
  [R33]; function calling also §4; the kimi cached-input rates from the 2026-07 pricing
  clipping §12 cites [R33]; the other prices from §12 "Other pricing".
* Output shape §2b, tool-call format §4, reasoning format §5, streaming §3, Responses API §1
  and §2b, ``max_tokens`` default §2 and §12, ``reasoning_effort`` §2, image input §2 [R6],
  parameters a model mishandles §2.
* Embedding dimensions, batch and input limits, input style, pooling, ``truncate_inputs`` and
  bge-m3's query/contexts form: §6 [R21]. Reranker: §7.
* Whisper large-v3-turbo's segments: §8. Async batch support: §10. Rate limits: §9 [R22].
* Deprecation dates: §12 (gemma-3); kimi-k2.5 from the models/search property R13 observed
  (``/work/shared/reference/real-responses/langchain-cloudflare/observed-api-behaviors.json``).
* Descriptions: not in the spec. They are the emulator's own one-line summaries, worded as
  the client catalog words them so a models/search round trip matches.

Where the spec is unconfirmed (``?``, ``[?]``, ``[obs]``) the table takes what the spec says
the real service most plausibly does, and says so in a comment. Facts that only change what
``models/search`` reports (context window, function calling) stay ``None`` -- not reported --
when the spec says ``?``; facts that change an answer (shape, tool-call format, limits) are
always a choice, where ``None`` has a stated meaning (no tool calls, no limit). Where a
finer-grained source the spec cites contradicts a summary line of the spec, the row follows
the source and the comment says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ASR",
    "IMAGE_CLASSIFICATION",
    "IMAGE_TO_TEXT",
    "MODELS",
    "OBJECT_DETECTION",
    "SUMMARIZATION",
    "TASKS",
    "TASK_RATE_LIMITS",
    "TEXT_CLASSIFICATION",
    "TEXT_EMBEDDINGS",
    "TEXT_GENERATION",
    "TEXT_TO_IMAGE",
    "TEXT_TO_SPEECH",
    "TRANSLATION",
    "InputStyle",
    "JsonMode",
    "ModelFacts",
    "OutputShape",
    "ReasoningFormat",
    "ToolCallFormat",
    "UnitPrice",
    "get",
    "models",
]

# --- Tasks (§1: the names GET /ai/models/search reports; the reranker is Text Classification)

TEXT_GENERATION = "Text Generation"
TEXT_EMBEDDINGS = "Text Embeddings"
TEXT_CLASSIFICATION = "Text Classification"
TRANSLATION = "Translation"
ASR = "Automatic Speech Recognition"
IMAGE_CLASSIFICATION = "Image Classification"
OBJECT_DETECTION = "Object Detection"
IMAGE_TO_TEXT = "Image-to-Text"
TEXT_TO_IMAGE = "Text-to-Image"
SUMMARIZATION = "Summarization"
TEXT_TO_SPEECH = "Text-to-Speech"
TASKS: tuple[str, ...] = (
    TEXT_GENERATION,
    TEXT_EMBEDDINGS,
    TEXT_CLASSIFICATION,
    TRANSLATION,
    ASR,
    IMAGE_CLASSIFICATION,
    OBJECT_DETECTION,
    IMAGE_TO_TEXT,
    TEXT_TO_IMAGE,
    SUMMARIZATION,
    TEXT_TO_SPEECH,
)

#: Requests per minute per task (§9 [R22]). Text-to-Speech has no published limit; the few
#: legacy per-model text-generation exceptions are not itemised, and no Stable Diffusion
#: img2img model (1500) is listed.
TASK_RATE_LIMITS: Mapping[str, int] = MappingProxyType(
    {
        ASR: 720,
        IMAGE_CLASSIFICATION: 3000,
        IMAGE_TO_TEXT: 720,
        OBJECT_DETECTION: 3000,
        SUMMARIZATION: 1500,
        TEXT_CLASSIFICATION: 2000,
        TEXT_EMBEDDINGS: 3000,
        TEXT_GENERATION: 300,
        TEXT_TO_IMAGE: 720,
        TRANSLATION: 720,
    }
)

JsonMode = Literal["response_format", "guided_json", "json_object"]
OutputShape = Literal["classic", "chat_completion"]
ToolCallFormat = Literal["legacy", "openai_object", "openai"]
ReasoningFormat = Literal["think_tags", "reasoning_content", "reasoning"]
InputStyle = Literal["text", "qwen3"]

_PROVIDER_PREFIX = "workers-ai/"


@dataclass(frozen=True)
class UnitPrice:
    """A price that is not per token (§12 "Other pricing").

    Attributes:
        unit: Cloudflare's unit text, e.g. ``"per audio minute"``.
        usd: USD per unit; ``None`` when only neurons are published.
        neurons: Neurons per unit; ``None`` when not published.
    """

    unit: str
    usd: float | None = None
    neurons: float | None = None


@dataclass(frozen=True, kw_only=True)
class ModelFacts:
    """What the emulator knows about one model. The spec section of each field is given.

    Attributes:
        id: Model id, e.g. ``"@cf/meta/llama-3.3-70b-instruct-fp8-fast"``.
        task: One of :data:`TASKS` (§1).
        description: One-line summary served by ``models/search`` (not in the spec).
        context_window: Reported ``context_window`` property (§12, §6 for bge-m3); ``None``:
            not reported.
        function_calling: Reported ``function_calling`` badge (§4, §12); ``None``: the spec
            does not know, and nothing is reported.
        json_mode: The request field that gives JSON output (§2, §12); ``None``: unknown.
            The stand-ins accept ``response_format`` and ``guided_json`` on every model.
        lora: Accepts a ``lora`` fine-tune; others answer 405 / 5005 (§9, §12).
        async_queue: Accepts ``?queueRequest=true`` batches (§10).
        reasoning_effort: Reported ``reasoning_effort`` property: accepts it (§2).
        beta: Reported ``beta`` property (hidden by ``hide_experimental``); the spec marks
            no model beta.
        deprecated: Reported ``planned_deprecation_date`` (``YYYY-MM-DD``).
        output_shape: ``"classic"`` or ``"chat_completion"`` (§2b).
        tool_call_format: ``"legacy"``, ``"openai_object"`` or ``"openai"`` (§4); ``None``:
            the stand-in never calls tools.
        reasoning_format: ``"think_tags"``, ``"reasoning_content"`` or ``"reasoning"`` (§5).
        responses_api: Answers Responses input and ``/ai/v1/responses`` (§1, §2b).
        streaming: ``stream: true`` on ``/ai/run`` answers SSE (§3).
        default_max_tokens: Server default for ``max_tokens`` (§2, §12).
        unsupported_params: Request fields the model mishandles (§2; effects in
            :mod:`workers_ai.emulator.validation`).
        vision: Accepts data-URI ``image_url`` parts (§2 [R6]).
        dimensions: Embedding size, reported as ``output_dimensions`` (§6).
        max_batch: Most inputs per embedding request (§6).
        max_input_tokens: Token limit per input, reported as ``max_input_tokens`` (§6, §7).
        input_style: ``"text"`` (``{"text": ...}``) or ``"qwen3"`` (``queries``/``documents``)
            (§6).
        pooling: Accepts ``pooling`` (§6).
        truncate_inputs: Accepts ``truncate_inputs`` (§6).
        query_contexts: Also takes ``{query, contexts}`` / ``{contexts}`` (bge-m3, §6).
        reranker: A query/contexts reranker (§7).
        max_contexts: Most contexts per rerank request.
        asr_segments: Speech recognition answers ``segments`` and ``transcription_info``
            (whisper-large-v3-turbo, §8).
        price_usd_per_m_input: USD per million input tokens (§12).
        price_usd_per_m_output: USD per million output tokens (§12).
        price_usd_per_m_cached_input: USD per million prefix-cached input tokens (§12).
        neurons_per_m_input: Neurons per million input tokens: usage ``neurons`` (§12).
        neurons_per_m_output: Neurons per million output tokens (§12).
        neurons_per_m_cached_input: Neurons per million cached input tokens (§12).
        other_prices: Prices not per token (§12).
        rate_limit_override: Requests/minute of this model, when not its task's (§9).
    """

    id: str
    task: str
    description: str
    context_window: int | None = None
    function_calling: bool | None = False
    json_mode: JsonMode | None = None
    lora: bool = False
    async_queue: bool = False
    reasoning_effort: bool = False
    beta: bool = False
    deprecated: str | None = None
    output_shape: OutputShape | None = None
    tool_call_format: ToolCallFormat | None = None
    reasoning_format: ReasoningFormat | None = None
    responses_api: bool = False
    streaming: bool = False
    default_max_tokens: int | None = None
    unsupported_params: tuple[str, ...] = ()
    vision: bool = False
    dimensions: int | None = None
    max_batch: int | None = None
    max_input_tokens: int | None = None
    input_style: InputStyle | None = None
    pooling: bool = False
    truncate_inputs: bool = False
    query_contexts: bool = False
    reranker: bool = False
    max_contexts: int | None = None
    asr_segments: bool = False
    price_usd_per_m_input: float | None = None
    price_usd_per_m_output: float | None = None
    price_usd_per_m_cached_input: float | None = None
    neurons_per_m_input: float | None = None
    neurons_per_m_output: float | None = None
    neurons_per_m_cached_input: float | None = None
    other_prices: tuple[UnitPrice, ...] = ()
    rate_limit_override: int | None = None

    @property
    def think_tags(self) -> bool:
        """Reasoning is inline in the text, closed by ``</think>`` (§5)."""
        return self.reasoning_format == "think_tags"

    @property
    def reasoning(self) -> bool:
        """The model reasons (reported as the ``reasoning`` property)."""
        return self.reasoning_format is not None

    @property
    def rate_limit_per_minute(self) -> int | None:
        """Requests per minute: the model's own limit, else its task's (§9)."""
        if self.rate_limit_override is not None:
            return self.rate_limit_override
        return TASK_RATE_LIMITS.get(self.task)


# --- Family defaults ---------------------------------------------------------------------------
# A row is replace(<family>, id=..., description=..., <the facts that differ>); mypy checks
# the field names and types replace() is given.

#: Text generation (§2, §2b, §3): classic shape, streams, ``max_tokens`` default 256.
_TEXT = ModelFacts(
    id="",
    task=TEXT_GENERATION,
    description="",
    output_shape="classic",
    streaming=True,
    default_max_tokens=256,
)
#: The newer OpenAI-style models (§2, §2b, §4, §5): chat-completion shape inside ``result``,
#: id + JSON-string tool calls, reasoning in ``reasoning_content``, ``reasoning_effort``.
_CHAT_COMPLETION = replace(
    _TEXT,
    output_shape="chat_completion",
    tool_call_format="openai",
    reasoning_format="reasoning_content",
    reasoning_effort=True,
)
#: bge-style embeddings (§6): ``{"text": str | [str]}``, at most 100 inputs.
_EMBEDDING = ModelFacts(
    id="", task=TEXT_EMBEDDINGS, description="", input_style="text", max_batch=100
)
_BGE_EN = replace(_EMBEDDING, max_input_tokens=512, pooling=True, async_queue=True)


# --- The table ---------------------------------------------------------------------------------
# Text generation: §12 columns first (context window, FC, JSON, LoRA, $ and neurons in/out),
# then the family facts. FC "-"/"N" is False, "?" None. Batch support (async_queue) is §10.

_TEXT_GENERATION_MODELS = (
    replace(
        _TEXT,
        id="@cf/meta/llama-3.1-8b-instruct",
        description="Meta Llama 3.1 8B instruct.",
        context_window=7968,
        function_calling=None,  # §12 "schema only": tools accepted without the badge
        json_mode="response_format",
        tool_call_format="legacy",  # §4: the Llama 3.1 schemas accept tools [?]
        price_usd_per_m_input=0.282,
        price_usd_per_m_output=0.827,
        neurons_per_m_input=25608,
        neurons_per_m_output=75147,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.1-8b-instruct-fp8",
        description="Meta Llama 3.1 8B instruct, FP8.",
        context_window=32000,
        function_calling=None,
        tool_call_format="legacy",  # as llama-3.1-8b-instruct
        price_usd_per_m_input=0.152,
        price_usd_per_m_output=0.287,
        neurons_per_m_input=13778,
        neurons_per_m_output=26128,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.1-8b-instruct-awq",
        description="Meta Llama 3.1 8B instruct, AWQ int4.",
        context_window=8192,
        function_calling=None,
        tool_call_format="legacy",  # as llama-3.1-8b-instruct
        price_usd_per_m_input=0.123,
        price_usd_per_m_output=0.266,
        neurons_per_m_input=11161,
        neurons_per_m_output=24215,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.1-8b-instruct-fast",
        description="Meta Llama 3.1 8B instruct, fast variant.",
        context_window=128000,
        function_calling=None,
        json_mode="response_format",
        tool_call_format="legacy",  # as llama-3.1-8b-instruct
        # LoRA "soon": not yet
        price_usd_per_m_input=0.045,  # priced as -fp8-fast
        price_usd_per_m_output=0.384,
        neurons_per_m_input=4119,
        neurons_per_m_output=34868,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.2-1b-instruct",
        description="Meta Llama 3.2 1B instruct.",
        context_window=60000,
        price_usd_per_m_input=0.027,
        price_usd_per_m_output=0.201,
        neurons_per_m_input=2457,
        neurons_per_m_output=18252,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.2-3b-instruct",
        description="Meta Llama 3.2 3B instruct.",
        context_window=128000,  # [?]
        price_usd_per_m_input=0.051,
        price_usd_per_m_output=0.335,
        neurons_per_m_input=4625,
        neurons_per_m_output=30475,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.2-11b-vision-instruct",
        description="Meta Llama 3.2 11B vision instruct: text and data-URI images.",
        context_window=128000,  # [?]
        json_mode="response_format",
        lora=True,
        vision=True,
        price_usd_per_m_input=0.049,
        price_usd_per_m_output=0.676,
        neurons_per_m_input=4410,
        neurons_per_m_output=61493,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        description="Meta Llama 3.3 70B instruct, FP8, speculative decoding.",
        context_window=24000,
        function_calling=True,
        json_mode="response_format",
        lora=True,
        async_queue=True,
        tool_call_format="legacy",
        price_usd_per_m_input=0.293,
        price_usd_per_m_output=2.253,
        neurons_per_m_input=26668,
        neurons_per_m_output=204805,
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-4-scout-17b-16e-instruct",
        description="Meta Llama 4 Scout 17B-16E: multimodal mixture of experts.",
        context_window=131000,
        function_calling=True,
        json_mode="response_format",  # guided_json works too
        async_queue=True,
        tool_call_format="openai_object",  # §4: id + object arguments, classic shape (§2b)
        vision=True,
        price_usd_per_m_input=0.27,
        price_usd_per_m_output=0.85,
        neurons_per_m_input=24545,
        neurons_per_m_output=77273,
    ),
    replace(
        _TEXT,
        id="@cf/mistralai/mistral-small-3.1-24b-instruct",
        description="Mistral Small 3.1 24B instruct: text and data-URI images, 128k context.",
        context_window=128000,
        function_calling=True,
        json_mode="guided_json",
        lora=True,
        tool_call_format="legacy",  # its schema types tool_calls as {name, arguments: object}
        unsupported_params=("tool_choice",),  # §2: Mistral models reject tool_choice
        vision=True,
        price_usd_per_m_input=0.351,
        price_usd_per_m_output=0.555,
        neurons_per_m_input=31876,
        neurons_per_m_output=50488,
    ),
    replace(
        _TEXT,
        id="@cf/google/gemma-3-12b-it",
        description="Google Gemma 3 12B instruct: text and data-URI images.",
        context_window=80000,
        json_mode="guided_json",
        lora=True,
        deprecated="2026-05-30",
        vision=True,
        price_usd_per_m_input=0.345,
        price_usd_per_m_output=0.556,
        neurons_per_m_input=31371,
        neurons_per_m_output=50560,
    ),
    replace(
        _TEXT,
        id="@cf/qwen/qwq-32b",
        description="Qwen QwQ 32B reasoning model; chain of thought inline before </think>.",
        context_window=24000,
        json_mode="guided_json",
        lora=True,
        tool_call_format="legacy",  # §4, though its badge reports false
        reasoning_format="think_tags",
        price_usd_per_m_input=0.66,
        price_usd_per_m_output=1.0,
        neurons_per_m_input=60000,
        neurons_per_m_output=90909,
    ),
    replace(
        _TEXT,
        id="@cf/qwen/qwen2.5-coder-32b-instruct",
        description="Qwen 2.5 Coder 32B instruct.",
        context_window=None,  # "?"
        json_mode="response_format",
        lora=True,
        # output shape undocumented: classic, like every other LoRA base model §2b places
        price_usd_per_m_input=0.66,
        price_usd_per_m_output=1.0,
        neurons_per_m_input=60000,
        neurons_per_m_output=90909,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/qwen/qwen3-30b-a3b-fp8",
        description="Qwen3 30B-A3B mixture of experts, FP8; reasoning in reasoning_content.",
        context_window=32768,
        function_calling=True,
        json_mode="response_format",
        async_queue=True,
        default_max_tokens=2000,
        price_usd_per_m_input=0.051,
        price_usd_per_m_output=0.335,
        neurons_per_m_input=4625,
        neurons_per_m_output=30475,
    ),
    replace(
        _TEXT,
        id="@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
        description="DeepSeek R1 distilled into Qwen 32B; chain of thought inline before </think>.",
        context_window=80000,
        json_mode="response_format",
        lora=True,
        reasoning_format="think_tags",
        price_usd_per_m_input=0.497,
        price_usd_per_m_output=4.881,
        neurons_per_m_input=45170,
        neurons_per_m_output=443756,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/openai/gpt-oss-120b",
        description="OpenAI gpt-oss 120B open-weight reasoning model; Responses API, no streaming.",
        context_window=128000,
        function_calling=True,
        json_mode="response_format",
        async_queue=True,
        responses_api=True,
        streaming=False,  # §3: stream:true comes back as JSON
        price_usd_per_m_input=0.35,
        price_usd_per_m_output=0.75,
        neurons_per_m_input=31818,
        neurons_per_m_output=68182,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/openai/gpt-oss-20b",
        description="OpenAI gpt-oss 20B open-weight reasoning model; Responses API, no streaming.",
        context_window=128000,  # [?]
        function_calling=True,  # [?]
        json_mode="response_format",
        responses_api=True,
        streaming=False,
        price_usd_per_m_input=0.2,
        price_usd_per_m_output=0.3,
        neurons_per_m_input=18182,
        neurons_per_m_output=27273,
    ),
    replace(
        _TEXT,
        id="@cf/ibm-granite/granite-4.0-h-micro",
        description="IBM Granite 4.0 H Micro.",
        context_window=131000,
        function_calling=None,  # "?": no tool calls from the stand-in
        # output shape undocumented: classic (§2b names each chat-completion model; not this)
        price_usd_per_m_input=0.017,
        price_usd_per_m_output=0.112,
        neurons_per_m_input=1542,
        neurons_per_m_output=10158,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/zai-org/glm-4.7-flash",
        description="Z.ai GLM 4.7 Flash; reasoning in reasoning_content.",
        context_window=131072,
        function_calling=True,
        # §2 says GLM rejects max_tokens, top_k and repetition_penalty [client R13]; R13's
        # own verified notes (MODEL_BEHAVIORS at v0.4.1, in observed-api-behaviors.json) say
        # top_k works, max_tokens gives null content and repetition_penalty times out.
        unsupported_params=("max_tokens", "repetition_penalty"),
        price_usd_per_m_input=0.06,
        price_usd_per_m_output=0.4,
        neurons_per_m_input=5500,
        neurons_per_m_output=36400,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/nvidia/nemotron-3-120b-a12b",
        description="NVIDIA Nemotron 3 120B-A12B; reasoning in message.reasoning.",
        context_window=256000,
        function_calling=True,
        # §5 "some models use reasoning": Nemotron (observed-api-behaviors.json)
        reasoning_format="reasoning",
        price_usd_per_m_input=0.5,
        price_usd_per_m_output=1.5,
        neurons_per_m_input=45455,
        neurons_per_m_output=136364,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/moonshotai/kimi-k2.5",
        description="Moonshot AI Kimi K2.5; reasoning in reasoning_content; cached-input pricing.",
        function_calling=None,  # "?" (§4: "likely")
        deprecated="2026-05-30",  # models/search planned_deprecation_date (R13, observed)
        price_usd_per_m_input=0.6,
        price_usd_per_m_output=3.0,
        price_usd_per_m_cached_input=0.1,
        neurons_per_m_input=54545,
        neurons_per_m_output=272727,
        neurons_per_m_cached_input=9091,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/moonshotai/kimi-k2.6",
        description="Moonshot AI Kimi K2.6; reasoning in reasoning_content; cached-input pricing.",
        function_calling=None,  # "?" (§4: "likely")
        price_usd_per_m_input=0.95,
        price_usd_per_m_output=4.0,
        price_usd_per_m_cached_input=0.16,
        neurons_per_m_input=86364,
        neurons_per_m_output=363636,
        neurons_per_m_cached_input=14545,
    ),
    replace(
        _CHAT_COMPLETION,
        id="@cf/google/gemma-4-26b-a4b-it",
        description=(
            "Google Gemma 4 26B-A4B instruct: text and data-URI images; reasoning in "
            "reasoning_content."
        ),
        context_window=256000,  # "256K" [obs]
        function_calling=True,  # [obs]
        vision=True,
        price_usd_per_m_input=0.1,
        price_usd_per_m_output=0.3,
        neurons_per_m_input=9091,
        neurons_per_m_output=27273,
    ),
    replace(
        _TEXT,
        id="@hf/nousresearch/hermes-2-pro-mistral-7b",
        description="Nous Research Hermes 2 Pro on Mistral 7B, tuned for function calling.",
        context_window=None,  # "?"; prices "?" too
        function_calling=True,
        json_mode="response_format",
        tool_call_format="legacy",
    ),
    replace(
        _TEXT,
        id="@cf/meta/llama-guard-3-8b",
        description="Meta Llama Guard 3 8B: classifies prompts and responses as safe or unsafe.",
        context_window=131072,  # [obs]
        json_mode="json_object",
        lora=True,
        price_usd_per_m_input=0.484,
        price_usd_per_m_output=0.03,
        neurons_per_m_input=44003,
        neurons_per_m_output=2730,
    ),
)

# Embeddings (§6) and the reranker (§7); prices from §12 "Other pricing".
_EMBEDDING_MODELS = (
    replace(
        _BGE_EN,
        id="@cf/baai/bge-small-en-v1.5",
        description="BAAI general embedding, small, English (384 dimensions).",
        dimensions=384,
        price_usd_per_m_input=0.02,
        neurons_per_m_input=1841,
    ),
    replace(
        _BGE_EN,
        id="@cf/baai/bge-base-en-v1.5",
        description="BAAI general embedding, base, English (768 dimensions).",
        dimensions=768,
        price_usd_per_m_input=0.067,
        neurons_per_m_input=6058,
    ),
    replace(
        _BGE_EN,
        id="@cf/baai/bge-large-en-v1.5",
        description="BAAI general embedding, large, English (1024 dimensions).",
        dimensions=1024,  # model card
        price_usd_per_m_input=0.204,
        neurons_per_m_input=18582,
        rate_limit_override=1500,  # §9
    ),
    replace(
        _EMBEDDING,
        id="@cf/baai/bge-m3",
        description=(
            "BAAI M3: multilingual, multi-granularity embeddings; also scores query/contexts pairs."
        ),
        dimensions=1024,  # [?]
        context_window=60000,  # §6: reported as context_window; the limit of each input
        max_input_tokens=60000,
        truncate_inputs=True,
        query_contexts=True,
        async_queue=True,
        price_usd_per_m_input=0.0118,
    ),
    replace(
        _EMBEDDING,
        id="@cf/google/embeddinggemma-300m",
        description="Google EmbeddingGemma 300M: multilingual embeddings (100+ languages).",
        dimensions=768,  # [? from model card]
        # "—" in §6: no published limit. 2048 tokens per input is the model card's, and the
        # batch limit the bge family's 100, so over-long input still fails as it would.
        max_input_tokens=2048,
    ),
    replace(
        _EMBEDDING,
        id="@cf/qwen/qwen3-embedding-0.6b",
        description="Qwen3 Embedding 0.6B: separate queries/documents inputs with an instruction.",
        dimensions=1024,  # [?]
        input_style="qwen3",
        max_batch=32,
        max_input_tokens=8192,
        price_usd_per_m_input=0.012,
    ),
    ModelFacts(
        task=TEXT_CLASSIFICATION,
        id="@cf/baai/bge-reranker-base",
        description="BAAI reranker: scores (query, passage) pairs; sigmoid maps a score to [0, 1].",
        reranker=True,
        # §7 states no limits: 100 contexts as the bge input lists, 512 tokens (model card).
        max_contexts=100,
        max_input_tokens=512,
    ),
)

# The other tasks (§8); prices from §12 "Other pricing"; m2m100 batches (§8, §10).
_OTHER_MODELS = (
    ModelFacts(
        task=TRANSLATION,
        id="@cf/meta/m2m100-1.2b",
        description="Meta M2M100 1.2B many-to-many multilingual translation.",
        async_queue=True,
        neurons_per_m_input=31050,
        neurons_per_m_output=31050,
    ),
    ModelFacts(
        task=ASR,
        id="@cf/openai/whisper",
        description='OpenAI Whisper speech recognition; raw audio body or {"audio": [bytes]}.',
        other_prices=(UnitPrice("per audio minute", usd=0.0005, neurons=41.14),),
    ),
    ModelFacts(
        task=ASR,
        id="@cf/openai/whisper-tiny-en",
        description='OpenAI Whisper tiny, English only; raw audio body or {"audio": [bytes]}.',
    ),
    ModelFacts(
        task=ASR,
        id="@cf/openai/whisper-large-v3-turbo",
        description="OpenAI Whisper large-v3 turbo; base64 audio, segments and language detection.",
        asr_segments=True,
    ),
    ModelFacts(
        task=IMAGE_CLASSIFICATION,
        id="@cf/microsoft/resnet-50",
        description="Microsoft ResNet-50 image classification (ImageNet labels).",
        other_prices=(UnitPrice("per M images", neurons=228055),),
    ),
    ModelFacts(
        task=OBJECT_DETECTION,
        id="@cf/facebook/detr-resnet-50",
        description="Facebook DETR with ResNet-50 backbone: labelled boxes.",
    ),
    ModelFacts(
        task=TEXT_CLASSIFICATION,
        id="@cf/huggingface/distilbert-sst-2-int8",
        description="DistilBERT fine-tuned on SST-2: POSITIVE/NEGATIVE sentiment.",
        neurons_per_m_input=2394,
    ),
    ModelFacts(
        task=SUMMARIZATION,
        id="@cf/facebook/bart-large-cnn",
        description="Facebook BART large fine-tuned on CNN/Daily Mail for summarization.",
    ),
    ModelFacts(
        task=IMAGE_TO_TEXT,
        id="@cf/llava-hf/llava-1.5-7b-hf",
        description="LLaVA 1.5 7B: describes an image given a prompt.",
    ),
    ModelFacts(
        task=TEXT_TO_IMAGE,
        id="@cf/black-forest-labs/flux-1-schnell",
        description="Black Forest Labs FLUX.1 [schnell]: fast text-to-image, base64 JPEG output.",
        other_prices=(
            UnitPrice("per 512 by 512 tile", neurons=4.8),
            UnitPrice("per step", neurons=9.6),
        ),
    ),
    # §8 "Stable Diffusion/dreamshaper": {prompt, negative_prompt, height, width, image, mask,
    # num_steps, strength, guidance, seed} -> binary PNG [R6][R24]. The ids are R6's model
    # map; the bounds the stand-in checks (width/height 256-2048, num_steps 1-20, strength
    # 0-1) are the models' pages. No price: §12 gives none.
    ModelFacts(
        task=TEXT_TO_IMAGE,
        id="@cf/stabilityai/stable-diffusion-xl-base-1.0",
        description="Stability AI Stable Diffusion XL base 1.0: text-to-image, PNG output.",
    ),
    ModelFacts(
        task=TEXT_TO_IMAGE,
        id="@cf/lykon/dreamshaper-8-lcm",
        description="Lykon DreamShaper 8 LCM: Stable Diffusion fine-tune, binary PNG output.",
    ),
    ModelFacts(
        task=TEXT_TO_SPEECH,
        id="@cf/myshell-ai/melotts",
        description="MyShell MeloTTS multilingual text-to-speech, base64 audio output.",
    ),
)


def _by_id(rows: Iterable[ModelFacts]) -> Mapping[str, ModelFacts]:
    table: dict[str, ModelFacts] = {}
    for row in rows:
        if row.id in table:
            raise ValueError(f"emulator facts: {row.id} is listed twice")
        table[row.id] = row
    return MappingProxyType(table)


#: Every model the emulator serves, by id, in ``models/search`` order.
MODELS = _by_id((*_TEXT_GENERATION_MODELS, *_EMBEDDING_MODELS, *_OTHER_MODELS))


def get(model: str) -> ModelFacts | None:
    """The facts of ``model``, or ``None`` when the emulator does not serve it (5007).

    Args:
        model: A model id; a leading ``workers-ai/`` (the provider prefix of AI Gateway's
            unified API) is ignored.
    """
    return MODELS.get(model.removeprefix(_PROVIDER_PREFIX))


def models(task: str | None = None) -> list[ModelFacts]:
    """Every served model, or those of ``task``, in table order."""
    return [m for m in MODELS.values() if task is None or m.task == task]
