"""Deterministic stand-in "models" for the Workers AI emulator (pure: no I/O, no global state).

Nothing here is a language model. Every output is a cheap, repeatable function of the request:
chat replies echo the key words of the last user message, tool calls are synthesized from
the tool's JSON schema and the user's text, JSON mode fills a schema, and an output format
the prompt itself asks for (JSON schema or keys, ReAct) is followed by
:mod:`workers_ai.emulator.formats`. The same model and body
always give the same output; :func:`seed_for` derives the only "randomness". The non-chat
stand-ins (embeddings, reranker, classification...) live in :mod:`workers_ai.emulator.tasks`.
Rendering into wire shapes lives in :mod:`workers_ai.emulator.shapes`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workers_ai.emulator import jsonbody
from workers_ai.emulator.facts import ModelFacts

if TYPE_CHECKING:  # formats builds on this module; it is imported when a prompt is read
    from workers_ai.emulator.formats import FormatReply

__all__ = [
    "Generation",
    "content_terms",
    "content_to_text",
    "count_prompt_tokens",
    "count_tokens",
    "generate_chat",
    "json_schema_from_body",
    "messages_from_body",
    "seed_for",
    "split_tokens",
    "truncate_tokens",
    "value_from_schema",
]

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_PIECE_RE = re.compile(r"\s*(?:\w+|[^\w\s])")
_WORD_RE = re.compile(r"[^\W_]+")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_QUOTED_RE = re.compile(r"\"([^\"\n]{1,200})\"|(?<!\w)'([^'\n]{1,200})'(?!\w)")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][\w-]{0,63}")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_CAPITALISED_RE = re.compile(r"\b[A-Z][\w-]*(?:[ \t]+[A-Z][\w-]*)*")

_STOPWORD_TEXT = (
    "a about also an and any are as at be been but by can could did do does for from give "
    "has have he hello her hey hi his how i if in into is it its just let like me my no not of "
    "ok okay on or our please she show so some tell than thank thanks that the their them then "
    "there these they this to up us use using was we were what whats when where which who why "
    "will with would yes you your find explain describe write define compare create generate "
    "provide need want know help return"
)
_GENERIC_TOOL_TEXT = (
    "get set tool function call run make return returns value values input output data result "
    "results current given specified fetch retrieve lookup look information info provided "
    "argument arguments parameter parameters string number object list item items new"
)
_QUERY_LIKE_TEXT = (
    "query question text prompt message content input search topic description summary "
    "answer reason explanation comment note body sentence keywords"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_GENERIC_TOOL_WORDS = frozenset(_GENERIC_TOOL_TEXT.split())
_QUERY_LIKE_NAMES = frozenset(_QUERY_LIKE_TEXT.split())
_STRING_FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_TRANSPORT_TEXT = (
    "stream stream_options max_tokens max_completion_tokens max_output_tokens stop model "
    "external_reference options"
)
_TRANSPORT_KEYS = frozenset(_TRANSPORT_TEXT.split())
_OPENERS = ("Here is a short answer about {}.", "You asked about {}.", "Let me help with {}.")
_CLOSERS = ("The key points are {}.", "This touches on {}.", "In short, it comes down to {}.")
_GREETING = "Hello! How can I help you today?"
_MAX_SCHEMA_DEPTH = 12
_THINK_CLOSE_TOKENS = 1  # "</think>" is one special token for these models

# --- Tokens and seeds --------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Estimate tokens: one per ``\\w+`` run, one per other non-space (``"Hello, world!"``: 4)."""
    return len(_TOKEN_RE.findall(text))


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into one piece per token, each with its leading whitespace.

    ``"".join(split_tokens(t)) == t`` and ``len(split_tokens(t)) == count_tokens(t)`` (trailing
    whitespace rides on the last piece), so a stream of these pieces has one event per token.
    """
    pieces = _PIECE_RE.findall(text)
    consumed = sum(map(len, pieces))
    if consumed < len(text):
        if not pieces:
            return [text] if text.strip() else []
        pieces[-1] += text[consumed:]
    return pieces


def truncate_tokens(text: str, limit: int) -> str:
    """Return the longest prefix of ``text`` holding at most ``limit`` tokens."""
    if limit <= 0:
        return ""
    for count, match in enumerate(_PIECE_RE.finditer(text), start=1):
        if count == limit:
            return text[: match.end()]
    return text


def seed_for(model: str, body: Mapping[str, Any]) -> int:
    """Return a 64-bit seed from the model id and the canonical JSON of the body.

    Transport-only fields (``stream``, ``stream_options``, ``max_tokens``, ``stop``, ...) are
    left out, so a streamed and a non-streamed call, or a truncated one, produce the same
    content; ``seed``, ``temperature`` and the conversation are in.
    """
    kept = {key: value for key, value in body.items() if key not in _TRANSPORT_KEYS}
    blob = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{model}\x00{blob}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# --- Words -------------------------------------------------------------------------------------


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_terms(text: str, *, split_camel: bool = False) -> list[str]:
    """Lower-cased, lightly stemmed content words of ``text`` (stopwords dropped).

    ``split_camel`` also splits ``camelCase`` (tool names); ``snake_case`` always splits.
    """
    if split_camel:
        text = _CAMEL_RE.sub(" ", text)
    words = (w.lower() for w in _WORD_RE.findall(text))
    return [_stem(w) for w in words if w not in _STOPWORDS]


def _keywords(text: str, limit: int = 6) -> list[str]:
    """Content words of ``text`` in their original case, de-duplicated, in order."""
    seen: set[str] = set()
    found: list[str] = []
    for word in _WORD_RE.findall(text):
        lower = word.lower()
        if lower in _STOPWORDS or lower in seen or (len(word) == 1 and not word.isdigit()):
            continue
        seen.add(lower)
        found.append(word)
        if len(found) == limit:
            break
    return found


def _list_phrase(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# --- Conversation ------------------------------------------------------------------------------


def content_to_text(content: Any) -> str:
    """Text of a message ``content``: a string or the text of its ``text`` parts."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content] if isinstance(content, dict) else []
    texts = [p.get("text") for p in parts if isinstance(p, dict)]
    return " ".join(t for t in texts if isinstance(t, str))


def messages_from_body(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "messages" in body and isinstance(body["messages"], list):
        return [m for m in body["messages"] if isinstance(m, Mapping)]
    prompt = body.get("prompt")
    return [{"role": "user", "content": prompt if isinstance(prompt, str) else ""}]


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_to_text(message.get("content"))
    return ""


def count_prompt_tokens(body: Mapping[str, Any]) -> int:
    """Prompt tokens: the tokens of every message's text plus the tools' JSON (at least 1)."""
    total = sum(count_tokens(content_to_text(m.get("content"))) for m in messages_from_body(body))
    tools = body.get("tools")
    if tools:
        total += count_tokens(json.dumps(tools, ensure_ascii=False, default=str))
    return max(total, 1)


def _has_function(item: Mapping[str, Any]) -> bool:
    return isinstance(item.get("function"), Mapping)


def _tool_call_names(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Map ``tool_call_id -> tool name`` from the assistant messages' ``tool_calls``."""
    names: dict[str, str] = {}
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, Mapping):
                continue
            fn: Mapping[str, Any] = call["function"] if _has_function(call) else call
            if isinstance(call.get("id"), str) and isinstance(fn.get("name"), str):
                names[call["id"]] = fn["name"]
    return names


def _trailing_tool_results(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(tool name, result text)`` of the ``tool`` messages that end the conversation."""
    names = _tool_call_names(messages)
    results: list[tuple[str, str]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        call_id = message.get("tool_call_id")
        name = message.get("name") or (names.get(call_id) if isinstance(call_id, str) else None)
        text = content_to_text(message.get("content"))
        results.append((name if isinstance(name, str) and name else "the tool", text))
    return results[::-1]


# --- Evidence from the user's text (for tool arguments and JSON mode) --------------------------


def _capitalised_phrases(text: str) -> list[str]:
    """Runs of capitalised words (names), without leading stopwords.

    A single capitalised word that starts a sentence ("Book 2 rooms", "Weather in Oslo") is
    usually not a name and is skipped.
    """
    phrases: list[str] = []
    for match in _CAPITALISED_RE.finditer(text):
        words = match.group(0).split()
        before = text[: match.start()].rstrip()
        initial = not before or before[-1] in ".!?:"
        while words and words[0].lower().rstrip("'") in _STOPWORDS:
            words.pop(0)
            initial = False
        if words and not (initial and len(words) == 1):
            phrases.append(" ".join(words))
    return phrases


@dataclass
class _Evidence:
    """Values found in the user's text, handed out in order to the fields that need them."""

    text: str
    numbers: list[int | float]
    phrases: list[str]
    keywords: list[str]
    quoted: int = 0
    next_number: int = 0
    next_phrase: int = 0

    @classmethod
    def from_text(cls, text: str) -> _Evidence:
        quoted = [a or b for a, b in _QUOTED_RE.findall(text)]
        names = [p for p in _capitalised_phrases(text) if not any(p in q for q in quoted)]
        phrases = list(dict.fromkeys([*quoted, *names]))  # no "Blue" again from 'Kind of Blue'
        numbers = [float(n) if "." in n else int(n) for n in _NUMBER_RE.findall(text)]
        keywords = _keywords(text, 8)
        return cls(text, numbers, phrases, keywords, quoted=len(dict.fromkeys(quoted)))

    def take_number(self) -> int | float | None:
        if self.next_number >= len(self.numbers):
            return None
        self.next_number += 1
        return self.numbers[self.next_number - 1]

    def take_phrase(self) -> str | None:
        if self.next_phrase >= len(self.phrases):
            return None
        self.next_phrase += 1
        return self.phrases[self.next_phrase - 1]

    def remaining(self, kind: str) -> int:
        """How many phrases (``kind="phrase"``) or numbers are still unused."""
        if kind == "phrase":
            return len(self.phrases) - self.next_phrase
        return len(self.numbers) - self.next_number

    def summary(self) -> str:
        return " ".join(self.keywords) or self.text.strip()[:80] or "example"


# --- JSON Schema -> value ----------------------------------------------------------------------


def _resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref`` pointers (``#/$defs/X``, ``#/definitions/X``)."""
    for _ in range(_MAX_SCHEMA_DEPTH):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        target: Any = root
        for part in ref[1:].split("/"):
            if part:
                key = part.replace("~1", "/").replace("~0", "~")
                target = target.get(key) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return {}
        schema = target
    return schema


def _schema_type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    concrete = [t for t in types if isinstance(t, str) and t != "null"]
    if concrete:
        return concrete[0]
    if types:
        return "null"
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _clamp_number(value: float, schema: Mapping[str, Any], step: float) -> float:
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool) and value <= ex_low:
        value = ex_low + step
    if isinstance(low, (int, float)) and not isinstance(low, bool) and value < low:
        value = low
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool) and value >= ex_high:
        value = ex_high - step
    if isinstance(high, (int, float)) and not isinstance(high, bool) and value > high:
        value = high
    return value


def _number_value(schema: Mapping[str, Any], evidence: _Evidence, integer: bool) -> int | float:
    found = evidence.take_number()
    default = schema.get("default")
    if found is None:
        usable = isinstance(default, (int, float)) and not isinstance(default, bool)
        found = default if usable else 1
    value = _clamp_number(float(found or 0), schema, 1.0 if integer else 0.5)
    if integer:
        return round(value)
    return int(value) if isinstance(found, int) and value == int(value) else value


def _string_value(schema: Mapping[str, Any], name: str, evidence: _Evidence) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _STRING_FORMATS:
        return _STRING_FORMATS[fmt]
    query_like = bool(set(content_terms(name, split_camel=True)) & _QUERY_LIKE_NAMES)
    quoted_left = evidence.next_phrase < evidence.quoted
    value = evidence.take_phrase() if quoted_left or not query_like else None
    value = value or evidence.summary()
    min_length, max_length = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_length, int) and len(value) < min_length:
        value = value.ljust(min_length, ".")
    if isinstance(max_length, int) and len(value) > max_length:
        value = value[:max_length]
    return value


def _enum_value(options: Sequence[Any], evidence: _Evidence) -> Any:
    lowered = evidence.text.lower()
    for option in options:
        if isinstance(option, str) and option and option.lower() in lowered:
            return option
    return options[0]


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _array_value(
    schema: Mapping[str, Any], name: str, evidence: _Evidence, root: Mapping[str, Any], depth: int
) -> list[Any]:
    items = schema.get("items")
    item_schema = items[0] if isinstance(items, list) and items else items
    item_schema = _resolve_ref(item_schema, root) if isinstance(item_schema, Mapping) else {}
    low = _int_or(schema.get("minItems"), 1)
    high = _int_or(schema.get("maxItems"), max(low, 3))
    kind = _schema_type(item_schema)
    available = 0
    if "enum" not in item_schema and kind == "string":
        available = evidence.remaining("phrase")
    elif kind in ("integer", "number"):
        available = evidence.remaining("number")
    count = min(max(available, low), high)
    return [value_from_schema(item_schema, evidence, root, name, depth + 1) for _ in range(count)]


def _object_value(
    schema: Mapping[str, Any], evidence: _Evidence, root: Mapping[str, Any], depth: int
) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    return {
        str(key): value_from_schema(sub, evidence, root, str(key), depth + 1)
        for key, sub in properties.items()
        if isinstance(sub, Mapping)
    }


def value_from_schema(
    schema: Mapping[str, Any],
    evidence: _Evidence | str,
    root: Mapping[str, Any] | None = None,
    name: str = "",
    depth: int = 0,
) -> Any:
    """Build a value valid against a JSON Schema, filled from the user's text where sensible.

    Supports ``type`` (or a list), ``properties`` (all filled), ``items``, ``min/maxItems``,
    ``enum`` (a value the text mentions, else the first), ``const``, ``anyOf``/``oneOf`` (first
    non-null branch), ``allOf``, local ``$ref`` (``$defs``/``definitions``), numeric bounds,
    string ``format``/``min/maxLength``. Numbers come from the text in order (else the default
    or 1); strings from quoted, then capitalised phrases (query-like fields such as ``query``
    take quoted text, else the text's key words); booleans are true.

    Args:
        schema: The JSON Schema.
        evidence: The user's text, or an evidence cursor shared across calls.
        root: The schema that ``$ref`` pointers resolve against (``schema`` by default).
        name: The property name (guides string choice).
        depth: Recursion depth; deeper than 12 gives ``None``.

    Returns:
        A JSON-compatible value.
    """
    if isinstance(evidence, str):
        evidence = _Evidence.from_text(evidence)
    root = schema if root is None else root
    schema = _resolve_ref(schema, root)
    if depth > _MAX_SCHEMA_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return _enum_value(schema["enum"], evidence)
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key) or [] if isinstance(b, Mapping)]
        if branches:
            usable = [b for b in branches if _schema_type(_resolve_ref(b, root)) != "null"]
            return value_from_schema((usable or branches)[0], evidence, root, name, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if isinstance(part, Mapping):
                merged.update(_resolve_ref(part, root))
        return value_from_schema(merged, evidence, root, name, depth + 1)
    return _typed_value(schema, evidence, root, name, depth)


def _typed_value(
    schema: Mapping[str, Any], evidence: _Evidence, root: Mapping[str, Any], name: str, depth: int
) -> Any:
    kind = _schema_type(schema)
    if kind == "object":
        return _object_value(schema, evidence, root, depth)
    if kind == "array":
        return _array_value(schema, name, evidence, root, depth)
    if kind in ("integer", "number"):
        return _number_value(schema, evidence, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_value(schema, name, evidence)


# --- Tools -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]


def _tools_from_body(body: Mapping[str, Any]) -> list[_Tool]:
    """Tools in either documented shape (flat, or ``{"type": "function", "function": {...}}``)."""
    tools: list[_Tool] = []
    raw_tools = body.get("tools")
    for raw in raw_tools if isinstance(raw_tools, list) else []:
        if not isinstance(raw, Mapping):
            continue
        fn: Mapping[str, Any] = raw["function"] if _has_function(raw) else raw
        name, text, params = fn.get("name"), fn.get("description"), fn.get("parameters")
        if isinstance(name, str) and name:
            params = params if isinstance(params, Mapping) else {}
            tools.append(_Tool(name, text if isinstance(text, str) else "", params))
    return tools


def _tool_relevance(tool: _Tool, user_terms: set[str]) -> int:
    """2 per tool-name word and 1 per description word that the user's text contains."""
    name_terms = set(content_terms(tool.name, split_camel=True)) - _GENERIC_TOOL_WORDS
    desc_terms = set(content_terms(tool.description)) - _GENERIC_TOOL_WORDS
    name_terms = {t for t in name_terms if len(t) > 2 and not t.isdigit()}
    desc_terms = {t for t in desc_terms if len(t) > 2 and not t.isdigit()}
    return 2 * len(name_terms & user_terms) + len(desc_terms & user_terms)


def _forced_tool_name(choice: Any) -> str | None:
    """The tool named by ``{"type": "function", "function": {"name"}}`` (or ``{"name"}``)."""
    if not isinstance(choice, Mapping):
        return None
    fn: Mapping[str, Any] = choice["function"] if _has_function(choice) else choice
    name = fn.get("name")
    return name if isinstance(name, str) and name else None


def _tools_to_call(
    tools: Sequence[_Tool], body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]
) -> list[_Tool]:
    """Decide which tools to call: forced by ``tool_choice``, or related to the user's text."""
    choice = body.get("tool_choice")
    if not tools or choice == "none" or not messages or messages[-1].get("role") != "user":
        return []
    forced = _forced_tool_name(choice)
    if forced is not None:
        return [tool for tool in tools if tool.name == forced][:1]
    user_terms = set(content_terms(_last_user_text(messages)))
    scored = [(_tool_relevance(tool, user_terms), index) for index, tool in enumerate(tools)]
    chosen = [index for score, index in scored if score > 0]
    if not chosen and choice in ("required", "any"):
        chosen = [max(scored, key=lambda pair: (pair[0], -pair[1]))[1]]
    if body.get("parallel_tool_calls") is False and len(chosen) > 1:
        chosen = [max(chosen, key=lambda index: (scored[index][0], -index))]
    return [tools[index] for index in chosen]


def _arguments_for(tool: _Tool, user_text: str) -> dict[str, Any]:
    value = value_from_schema(tool.parameters, _Evidence.from_text(user_text))
    return value if isinstance(value, dict) else {}


# --- JSON mode ---------------------------------------------------------------------------------


def _is_openai_schema_wrapper(value: Any) -> bool:
    """OpenAI's ``{name, schema, strict}`` wrapper rather than a bare JSON Schema."""
    if not isinstance(value, Mapping) or not isinstance(value.get("schema"), Mapping):
        return False
    return "properties" not in value and "type" not in value


def json_schema_from_body(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema JSON mode must satisfy: ``{}`` for plain ``json_object``, ``None`` if off.

    Accepts ``guided_json``, native ``response_format: {type, json_schema: <schema>}`` and
    OpenAI's ``{type: "json_schema", json_schema: {name, schema}}`` wrapper.
    """
    guided = body.get("guided_json")
    if isinstance(guided, Mapping):
        return guided
    if isinstance(guided, str):
        try:
            parsed = jsonbody.loads(guided)
        except ValueError:
            parsed = None
        return parsed if isinstance(parsed, Mapping) else {}
    fmt = body.get("response_format")
    if not isinstance(fmt, Mapping) or fmt.get("type") not in ("json_object", "json_schema"):
        return None
    schema = fmt.get("json_schema", fmt.get("schema"))
    if _is_openai_schema_wrapper(schema):
        schema = schema["schema"]
    return schema if isinstance(schema, Mapping) else {}


def _json_answer(schema: Mapping[str, Any], user_text: str, reply: str) -> Any:
    """Fill the schema; without one, use the keys the user quoted (else ``{"answer": ...}``)."""
    if schema:
        return value_from_schema(schema, _Evidence.from_text(user_text))
    quoted = (a or b for a, b in _QUOTED_RE.findall(user_text))
    keys = list(dict.fromkeys(q for q in quoted if _IDENTIFIER_RE.fullmatch(q)))
    sentences = [s for s in _SENTENCE_END_RE.split(reply) if s] or [reply]
    return {k: sentences[i % len(sentences)] for i, k in enumerate(keys)} or {"answer": reply}


# --- Chat replies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generation:
    """What a stand-in chat model produced, before rendering into a wire shape.

    Attributes:
        text: The answer text (a JSON string in JSON mode).
        reasoning: Chain of thought (``""`` when the model does not reason).
        tool_calls: ``(name, arguments)`` of each tool call, in order.
        parsed: The JSON-mode object, else ``None``.
        prompt_tokens: Prompt token estimate.
        completion_tokens: Tokens of reasoning + answer + tool calls (+1 for the ``</think>``
            that think-tag models always emit).
        finish_reason: ``"stop"``, ``"length"`` or ``"tool_calls"``.
        seed: The request's seed; renderers derive ids and padding from it.
        thinking_done: ``False`` when ``max_tokens`` ran out inside the reasoning.
        cached_tokens: Prompt tokens served from the prefix cache (``x-session-affinity``);
            ``None`` when the request asked for no session.
        null_content: Render the answer as ``null`` (glm-4.7-flash with ``max_tokens``).
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    parsed: Any = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    seed: int = 0
    thinking_done: bool = True
    cached_tokens: int | None = None
    null_content: bool = False

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def _reply_to_conversation(user_text: str, seed: int) -> str:
    words = _keywords(user_text, 6)
    if not words:
        return _GREETING
    opener = _OPENERS[seed % len(_OPENERS)].format(_list_phrase(words[:3]))
    if len(words) <= 3:
        return f"{opener} I hope this helps."
    closer = _CLOSERS[(seed >> 8) % len(_CLOSERS)].format(_list_phrase(words[3:]))
    return f"{opener} {closer}"


def _grounded_or_reply(messages: Sequence[Mapping[str, Any]], user_text: str, seed: int) -> str:
    from workers_ai.emulator.grounded import grounded_answer

    earlier = [content_to_text(m.get("content")) for m in messages if m.get("role") == "system"]
    return grounded_answer(user_text, earlier) or _reply_to_conversation(user_text, seed)


def _answer_from_tool_results(results: Sequence[tuple[str, str]]) -> str:
    if len(results) == 1:
        name, text = results[0]
        return f"According to {name}, the result is: {text.strip()[:400]}"
    parts = "; ".join(f"{name} returned {text.strip()[:200]}" for name, text in results)
    return f"Here is what the tools returned: {parts}"


def _reasoning_text(kind: str, subject: str, effort: Any) -> str:
    """A short chain of thought; ``subject`` is the tool names or the user's key words."""
    sentence = {
        "tools": f"The request needs {subject}. I will call it with arguments from the message.",
        "results": "The tool results are in. I will answer from them.",
        "json": "The answer must be JSON that follows the requested schema.",
        "text": f"The user asks about {subject or 'nothing specific'}. A short answer is best.",
    }[kind]
    if effort == "high":
        sentence += " Let me double-check the details before answering."
    return sentence


def _thinking_enabled(info: ModelFacts, body: Mapping[str, Any]) -> bool:
    """Whether the model reasons for this request (gpt-oss always does)."""
    if info.reasoning_format is None:
        return False
    if "prompt" in body and info.output_shape == "chat_completion":
        return False  # text_completion has no reasoning field
    if info.responses_api:
        return True
    if "reasoning_effort" in body and body["reasoning_effort"] is None:
        return False
    kwargs = body.get("chat_template_kwargs")
    return not (isinstance(kwargs, Mapping) and kwargs.get("enable_thinking") is False)


def _stop_sequences(body: Mapping[str, Any]) -> list[str]:
    stop = body.get("stop")
    if isinstance(stop, str):
        return [stop] if stop else []
    return [s for s in stop if isinstance(s, str) and s] if isinstance(stop, list) else []


def _max_tokens(info: ModelFacts, body: Mapping[str, Any]) -> int:
    for key in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return info.default_max_tokens or 256


def _cut_at_stop(text: str, stops: Iterable[str]) -> str:
    """Cut ``text`` just before the earliest stop sequence it contains."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return text[:cut] if cut >= 0 else text


def _limit_output(
    reasoning: str, text: str, budget: int, tag_tokens: int
) -> tuple[str, str, bool, bool]:
    """Apply ``max_tokens`` to reasoning, then text.

    Returns:
        ``(reasoning, text, truncated, thinking_done)``.
    """
    reasoning_tokens = count_tokens(reasoning)
    if (reasoning or tag_tokens) and reasoning_tokens + tag_tokens > budget:
        return truncate_tokens(reasoning, budget), "", True, False
    remaining = budget - reasoning_tokens - tag_tokens
    if count_tokens(text) > remaining:
        return reasoning, truncate_tokens(text, remaining), True, True
    return reasoning, text, False, True


@dataclass(frozen=True)
class _Plan:
    """What to answer. ``kind`` picks the reasoning; ``whole`` text skips stop and max_tokens."""

    kind: str
    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    parsed: Any = None
    subject: str | None = None
    whole: bool = False


def _plan_answer(
    info: ModelFacts, body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]], seed: int
) -> _Plan:
    """Decide what to answer: tool calls, JSON, the prompt's own format, or prose."""
    from workers_ai.emulator.formats import follow_format

    user_text = _last_user_text(messages)
    offered = info.tool_call_format is not None and "messages" in body  # not in prompt form
    tools = _tools_from_body(body) if offered else []
    calls = [(t.name, _arguments_for(t, user_text)) for t in _tools_to_call(tools, body, messages)]
    if calls:
        return _Plan("tools", calls=calls)
    results = _trailing_tool_results(messages)
    results_reply = _answer_from_tool_results(results) if results else None
    schema = json_schema_from_body(body)
    if not schema:  # JSON mode without a schema reads it from the prompt, if the prompt has one
        found = follow_format(messages, seed, results_reply=results_reply, json_only=schema == {})
        if found is not None and schema == {}:
            return _Plan("json", json.dumps(found.value, ensure_ascii=False), parsed=found.value)
        if found is not None:
            return _plan_from_format(found)
    reply = results_reply or _grounded_or_reply(messages, user_text, seed)
    if schema is not None:
        parsed = _json_answer(schema, user_text, reply)
        return _Plan("json", json.dumps(parsed, ensure_ascii=False), parsed=parsed)
    return _Plan("results" if results else "text", reply)


def _plan_from_format(found: FormatReply) -> _Plan:
    """The plan for a :class:`~workers_ai.emulator.formats.FormatReply`."""
    if found.kind == "json":  # JSON in the text, as a model writes it: kept whole
        return _Plan("json", found.text, whole=True)
    if found.kind == "action":
        return _Plan("tools", found.text, subject=found.tool)
    return _Plan("results" if found.observed else "text", found.text)


def generate_chat(info: ModelFacts, body: Mapping[str, Any]) -> Generation:
    """Produce the stand-in answer to a (validated) chat or prompt request.

    Tool calls win when ``tool_choice`` forces one or the last user message shares words with a
    tool's name or description (all related tools, or the best one when
    ``parallel_tool_calls`` is false; none for ``tool_choice: "none"`` or a model without a
    tool-call format). After trailing ``tool`` messages the answer quotes their content. JSON
    mode answers with an object valid against the schema (``max_tokens``/``stop`` are not
    applied to it; without a schema, one given in the prompt is used). A format the prompt
    itself asks for (a JSON schema or keys, a few-shot JSON example, the ReAct grammar; see
    :mod:`workers_ai.emulator.formats`) is followed, JSON kept whole like JSON mode's. Otherwise
    the reply echoes the last user message's key words. Reasoning models reason first;
    ``max_tokens`` covers reasoning and answer, ``stop`` cuts the answer.

    Args:
        info: The model's facts.
        body: The request body (``messages`` or ``prompt`` form).

    Returns:
        The :class:`Generation`.
    """
    seed = seed_for(info.id, body)
    messages = messages_from_body(body)
    plan = _plan_answer(info, body, messages, seed)
    text, calls, parsed = plan.text, plan.calls, plan.parsed
    reasoning = ""
    if _thinking_enabled(info, body) and not (parsed is not None and info.think_tags):
        subject = plan.subject or _list_phrase(
            [name for name, _ in calls] or _keywords(_last_user_text(messages), 3)
        )
        reasoning = _reasoning_text(plan.kind, subject, body.get("reasoning_effort"))
    tag = _THINK_CLOSE_TOKENS if info.think_tags else 0
    truncated, thinking_done = False, True
    if plan.kind != "json" and not calls:
        text = _cut_at_stop(text, _stop_sequences(body))
    if not calls and parsed is None and not plan.whole:
        reasoning, text, truncated, thinking_done = _limit_output(
            reasoning, text, _max_tokens(info, body), tag
        )
    completion = count_tokens(reasoning) + count_tokens(text)
    completion += tag if thinking_done else 0
    completion += sum(count_tokens(n + json.dumps(a, ensure_ascii=False)) for n, a in calls)
    finish = "tool_calls" if calls else "length" if truncated else "stop"
    return Generation(
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        parsed=parsed,
        prompt_tokens=count_prompt_tokens(body),
        completion_tokens=completion,
        finish_reason=finish,
        seed=seed,
        thinking_done=thinking_done,
    )
