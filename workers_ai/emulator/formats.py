"""Stand-ins that answer in the output format a prompt asks for (pure: no I/O, no global state).

Frameworks often put the output protocol in the prompt text instead of the request's fields; a
real model reads it and complies. The stand-ins recognise the *protocol* by its structure, never
by one framework's exact sentence, and answer in it:

- **JSON Schema**: a schema-shaped JSON object in the prompt (``properties`` of sub-schemas, an
  array's ``items``, or ``$ref`` with ``$defs``) plus a sentence that asks for JSON or for the
  schema to be followed -> an instance valid against that schema. A fenced schema wins over
  inline ones (the inline ones are usually examples), the last over earlier ones; text from a
  template whose ``{{``/``}}`` were left doubled is read too.
- **Keys**: a sentence asking for JSON "with (the) keys/fields a, b (integer) and c", or a
  ```json block of ``"key": type  // comment`` lines -> an object with exactly those keys.
- **Plain JSON**: an imperative (not a question) to answer, return or output JSON ("Return a
  JSON object.", "Respond only with JSON") -> ``{"answer": ...}``, or the keys the prompt quotes.
- **Few-shot JSON**: a worked example whose label line (``<Output>``, ``Output:``) is followed
  by JSON, then a new case ending with the same label -> JSON of the example's shape. A string
  field whose example values are keys of a JSON object in the example's input (tool names, say)
  takes keys of the new case's matching object: one item per key relevant to the question.
- **ReAct**: a tool list and the ``Thought``/``Action``/``Action Input``/``Observation``
  grammar -> one action step per listed tool that fits the question (by shared words, as native
  tool calls are chosen), ``Action Input`` as JSON kwargs when the grammar asks for JSON, else
  plain text; then a final answer under the grammar's own label (``Answer:`` or ``Final
  Answer:``) quoting the observations; a direct final answer when no tool fits.

JSON is wrapped in a ```json fence only when a line asks for JSON in markdown or a code block
without negating it (or the few-shot example is fenced). Values come from the prompt's own
words through :func:`workers_ai.emulator.standins.value_from_schema`. A prompt that merely
mentions JSON gets prose as before. Nothing here is a language model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workers_ai.emulator import jsonbody
from workers_ai.emulator.grounded import grounded_answer
from workers_ai.emulator.standins import (
    _STOPWORDS,
    _answer_from_tool_results,
    _Evidence,
    _json_answer,
    _keywords,
    _list_phrase,
    _reply_to_conversation,
    _Tool,
    _tool_relevance,
    content_terms,
    content_to_text,
    value_from_schema,
)

__all__ = ["FormatReply", "follow_format"]

_DECODER = json.JSONDecoder()
_MAX_SCAN_CHARS = 200_000
_MAX_DECODE_ATTEMPTS = 500
_MAX_ITEMS = 3
_MAX_REACT_STEPS = 5
_OPEN_RE = re.compile(r"[{\[]")
_FENCE_BLOCK_RE = re.compile(r"^[ \t]*```[^\n`]*\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)
_FENCE_LINE_RE = re.compile(r"^\s*```")
_SENTENCE_SPLIT_RE = re.compile(r"\n|(?<=[.!?])\s+")
_QUESTION_START_RE = re.compile(
    r"^\W*(?:how|what|why|when|where|which|who|can|could|should|would|is|are|do|does)\b", re.I
)
_JSON_WORD_RE = re.compile(r"\b(?:json|schema)\b", re.I)
_DIRECTIVE_RE = re.compile(
    r"\b(?:output|respond|response|return|format(?:ted)?|conform(?:s|ing)?|follow(?:s|ing)?|"
    r"answer|reply|produce|generate|emit|give|write|provide|adhere|match(?:es|ing)?)\b",
    re.I,
)
_JSON_TAIL = r"json(?:\s+(?:object|array|list|dict|dictionary|format|only|document|string))?"
_JSON_TAIL += r"\s*(?:[.!:;,]|$)"
_PLAIN_JSON_RES = (
    re.compile(
        r"\b(?:respond|reply|answer|output|return|format|give|write|provide|produce|emit)\b"
        r"[^.?!\n]{0,40}?\b(?:in|as|with|using)\s+(?:(?:a|an|the|valid|only|strict|raw|pure|"
        r"plain|single|proper)\s+)*" + _JSON_TAIL,
        re.I,
    ),
    re.compile(
        r"\b(?:respond|reply|answer|output|return|produce|emit|generate|give)\s+(?:(?:only|just|"
        r"a|an|one|the|valid|strict|raw|pure|single|proper)\s+)*" + _JSON_TAIL,
        re.I,
    ),
    re.compile(
        r"\b(?:response|answer|output|reply)\s+(?:must|should|has to|needs to)\s+be\s+"
        r"(?:(?:a|an|valid|only|strict|raw|pure|single|in)\s+)*json\b",
        re.I,
    ),
)
_KEYS_RE = re.compile(
    r"\b(?:keys?|fields?|properties|attributes)\b\s*(?:named|called|are|is|as follows)?\s*:?"
    r"\s*(.+)$",
    re.I,
)
_KEY_PART_SPLIT_RE = re.compile(r"\s*(?:,|;|/|\band\b|\bor\b)\s*", re.I)
_KEY_ITEM_RE = re.compile(
    r"^(?:the\s+)?(?P<q>[`'\"])?(?P<key>[A-Za-z_][\w-]{0,63})(?(q)(?P=q))\s*"
    r"(?:\((?P<hint>[^)]*)\))?\s*(?P<rest>.*)$",
    re.I | re.S,
)
_PSEUDO_FIELD_RE = re.compile(
    r"^\s*\"([^\"\n]{1,64})\"\s*:\s*([A-Za-z][\w\[\]]*)\s*,?\s*(?://.*)?$", re.M
)
_TYPE_WORDS = {
    "str": "string",
    "string": "string",
    "text": "string",
    "int": "integer",
    "integer": "integer",
    "number": "number",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "dict": "object",
    "object": "object",
}
_FENCE_ASK_RE = re.compile(r"\bjson\b.*\bmarkdown\b|\bmarkdown\b.*\bjson\b|.```json", re.I)
_NEGATION_RE = re.compile(r"\b(?:not|no|never|without|don't|avoid|nor)\b", re.I)
_INSTRUCTION_VOCAB_RE = re.compile(
    r"\b(?:json|schema|objects?|keys?|fields?|properties|format(?:ted)?|valid|instance|"
    r"markdown|conform(?:s|ing)?|answer|user|query|question|output|response|respond|"
    r"follow(?:ing)?|below|above|given|only|reply)\b",
    re.I,
)
_SPAN_MARK = "\x00"
_TYPE_HINT_RE = re.compile(r"\((?:[^()]*)\)")
_ANSWER_FIELDS = frozenset(("answer", "response", "reply", "summary", "explanation"))
_LABEL_RE = re.compile(r"(?:<[^<>\n]{1,40}>|[A-Za-z][\w \-]{0,40}:)")
_HEADING_RE = re.compile(r"^\s*(?:#{1,6}\s|<[^<>\n]{1,40}>\s*$|[A-Za-z][\w \-]{0,40}:\s*$)")
_INTERROGATIVE_RE = re.compile(r"^(?:what|how|why|when|where|which|who|is|are|does|do|can)\b", re.I)

# ReAct grammar: line-initial labels (markdown quote/list marks allowed).
_LINE = r"(?im)^[ \t>*-]*"
_THOUGHT_RE = re.compile(_LINE + r"Thought[ \t]*:")
_ACTION_RE = re.compile(_LINE + r"Action[ \t]*:")
_ACTION_INPUT_RE = re.compile(_LINE + r"Action[ \t]*Input[ \t]*:([^\n]*)")
_FINAL_ANSWER_RE = re.compile(_LINE + r"Final[ \t]+Answer[ \t]*:")
_ONE_OF_RE = re.compile(_LINE + r"Action[ \t]*:[^\n]*?\bone of\s*[\[(]?([^\])\n]*)")
_TOOL_NAME_RE = re.compile(_LINE + r"Tool[ \t]*Name[ \t]*:[ \t]*(\S+)[ \t]*$")
_TOOL_DESC_RE = re.compile(
    r"Tool[ \t]*Description[ \t]*:[ \t]*(.*?)(?=\n[ \t]*Tool[ \t]*Args|\Z)", re.S
)
_TOOL_ARGS_RE = re.compile(r"Tool[ \t]*Args[ \t]*:[ \t]*")
_QUESTION_LINE_RE = re.compile(
    r"(?ims)^[ \t]*(?:Question|Query|Input|New input|Human|User)[ \t]*:[ \t]*(.*?)"
    r"(?=^[ \t]*(?:Thought|Action|Observation|Final Answer|Answer)[ \t]*:|\Z)"
)
_STEP_RE = re.compile(
    r"(?ims)^[ \t]*Action[ \t]*:[ \t]*(?P<tool>[^\n]+?)[ \t]*\n+[ \t]*Action[ \t]*Input[ \t]*:"
    r"(?P<input>.*?)\n+[ \t]*Observation[ \t]*:[ \t]*(?P<obs>.*?)"
    r"(?=\n[ \t]*(?:Thought|Action|Final Answer|Answer|Question)[ \t]*:|\Z)"
)
_GRAMMAR_LINE_RE = re.compile(
    r"(?i)^[ \t>*-]*(?:Thought|Action|Action Input|Observation|Final Answer|Answer)[ \t]*:"
)
_PY_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_PY_TYPES |= {"list": "array", "dict": "object"}


@dataclass(frozen=True)
class FormatReply:
    """An answer in the format the prompt asked for.

    Attributes:
        kind: ``"json"`` (text is JSON, possibly fenced), ``"action"`` (a ReAct tool step) or
            ``"answer"`` (a ReAct final answer).
        text: The answer text, exactly as the model sends it.
        value: The JSON value for ``"json"``; else ``None``.
        tool: The tool an ``"action"`` step calls.
        observed: A final answer that quotes tool observations.
    """

    kind: str
    text: str
    value: Any = None
    tool: str = ""
    observed: bool = False


# --- Reading the prompt ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    value: Any
    fenced: bool


def _json_spans(text: str) -> list[_Span]:
    """Every top-level JSON object or array in ``text``, in order.

    Hostile text is cheap: nothing is decoded when brackets nest deeper than
    :data:`jsonbody.MAX_DEPTH`, and at most ``_MAX_DECODE_ATTEMPTS`` openings are tried.
    """
    text = text[:_MAX_SCAN_CHARS]
    raw = text.encode("utf-8", "surrogatepass")
    if jsonbody.nesting_depth(raw, jsonbody.MAX_DEPTH) > jsonbody.MAX_DEPTH:
        return []
    fences = [(m.start(1), m.end(1)) for m in _FENCE_BLOCK_RE.finditer(text)]
    spans: list[_Span] = []
    found = _OPEN_RE.search(text)
    for _ in range(_MAX_DECODE_ATTEMPTS):
        if found is None:
            break
        start = found.start()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            found = _OPEN_RE.search(text, start + 1)
            continue
        if isinstance(value, (dict, list)) and value:
            fenced = any(a <= start and end <= b for a, b in fences)
            spans.append(_Span(start, end, value, fenced))
        found = _OPEN_RE.search(text, max(end, start + 1))
    return spans


def _readable(text: str) -> str:
    """``text``, with ``{{``/``}}`` undoubled when that reveals more JSON (unrendered templates)."""
    if "{{" not in text or not _JSON_WORD_RE.search(text):
        return text
    undoubled = text.replace("{{", "{").replace("}}", "}")
    covered = sum(s.end - s.start for s in _json_spans(text))
    return undoubled if sum(s.end - s.start for s in _json_spans(undoubled)) > covered else text


def _without_spans(text: str, spans: Sequence[_Span], mark: str = " ") -> str:
    for span in reversed(spans):
        text = text[: span.start] + mark + text[span.end :]
    return text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT_RE.split(text) if s.strip()]


def _is_question(sentence: str) -> bool:
    """The sentence (up to a colon: "Answer in JSON: what is X?" is an order) asks something."""
    head = sentence.split(": ", 1)[0]
    return head.rstrip().endswith("?") or bool(_QUESTION_START_RE.match(head))


def _asks_for_json(sentence: str) -> bool:
    """A sentence that tells the model to answer in JSON or follow a schema."""
    return (
        not _is_question(sentence)
        and bool(_JSON_WORD_RE.search(sentence))
        and bool(_DIRECTIVE_RE.search(sentence))
    )


def _wants_fence(text: str) -> bool:
    """A line asks for JSON in markdown or for a ```json fence, without saying not to."""
    return any(
        _FENCE_ASK_RE.search(line) and not _NEGATION_RE.search(line) for line in text.splitlines()
    )


def _about_format(sentence: str) -> bool:
    """A sentence about the output format: names JSON/a schema, or shows JSON and says so."""
    if _JSON_WORD_RE.search(sentence) or "```" in sentence:
        return True
    return _SPAN_MARK in sentence and bool(_INSTRUCTION_VOCAB_RE.search(sentence))


def _is_schema(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    properties = value.get("properties")
    if isinstance(properties, dict) and properties:
        return all(isinstance(p, dict) for p in properties.values())
    if value.get("type") == "array" and isinstance(value.get("items"), dict):
        return True
    defs = value.get("$defs", value.get("definitions"))
    return isinstance(defs, dict) and any(k in value for k in ("$ref", "anyOf", "oneOf"))


# --- JSON answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prompt:
    """What the JSON protocols read: the instructions and the user's own words."""

    instructions: str  # system texts and the last user text, made readable
    user: str  # the last user text, made readable
    context: list[str]  # system texts (for grounded answers)
    seed: int
    results_reply: str | None

    def evidence_text(self, names: Sequence[str] = ()) -> str:
        """The user's words for the values: :func:`_prose_only`, without format vocabulary.

        When the request and the format share a sentence, that sentence is kept, without the
        type hints and the field ``names`` it lists.
        """
        cleaned = _prose_only(self.user)
        if not _keywords(_INSTRUCTION_VOCAB_RE.sub(" ", cleaned)):
            cleaned = _TYPE_HINT_RE.sub(" ", _without_spans(self.user, _json_spans(self.user)))
            for name in names:
                cleaned = re.sub(rf"[`'\"]?\b{re.escape(name)}\b[`'\"]?", " ", cleaned)
        return _INSTRUCTION_VOCAB_RE.sub(" ", cleaned)

    def reply(self) -> str:
        """A prose answer for answer-like fields: tool results, the context, or the words."""
        if self.results_reply:
            return self.results_reply
        words = self.evidence_text()
        user = _prose_only(self.user)
        grounded = grounded_answer(user, [_prose_only(text) for text in self.context])
        return grounded or _reply_to_conversation(words, self.seed)


def _prose_only(text: str) -> str:
    """``text`` without JSON, fenced blocks and the sentences about the output format."""
    marked = _FENCE_BLOCK_RE.sub(" ", _without_spans(text, _json_spans(text), _SPAN_MARK))
    lines = (
        " ".join(s for s in _sentences(line) if not _about_format(s)) for line in marked.split("\n")
    )
    return "\n".join(lines).replace(_SPAN_MARK, " ")


def _json_text(value: Any, fence: bool) -> str:
    if fence:
        return f"```json\n{json.dumps(value, ensure_ascii=False, indent=2)}\n```"
    return json.dumps(value, ensure_ascii=False)


def _fill_answer_fields(value: Any, schema: Mapping[str, Any], reply: str) -> Any:
    """Put the prose reply into top-level answer-like string fields (``answer``, ``summary``)."""
    properties = schema.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, Mapping):
        return value
    for key, sub in properties.items():
        if str(key).lower() not in _ANSWER_FIELDS or not isinstance(value.get(key), str):
            continue
        plain = isinstance(sub, Mapping) and sub.get("type") == "string"
        plain = plain and not any(k in sub for k in ("enum", "const", "format", "pattern"))
        limit = sub.get("maxLength") if isinstance(sub, Mapping) else None
        if plain and (not isinstance(limit, int) or len(reply) <= limit):
            value[key] = reply
    return value


def _answer_schema(prompt: _Prompt, schema: Mapping[str, Any], fence: bool) -> FormatReply:
    properties = schema.get("properties")
    evidence_text = prompt.evidence_text(
        list(properties) if isinstance(properties, Mapping) else []
    )
    if prompt.results_reply:
        evidence_text += " " + prompt.results_reply
    value = value_from_schema(schema, _Evidence.from_text(evidence_text))
    value = _fill_answer_fields(value, schema, prompt.reply())
    return FormatReply("json", _json_text(value, fence), value)


def _schema_instruction(prompt: _Prompt) -> Mapping[str, Any] | None:
    spans = _json_spans(prompt.instructions)
    schemas = [s for s in spans if _is_schema(s.value)]
    if not schemas:
        return None
    prose = _without_spans(prompt.instructions, spans)
    if not any(_asks_for_json(s) for s in _sentences(prose)):
        return None
    fenced = [s for s in schemas if s.fenced]
    chosen: Mapping[str, Any] = (fenced or schemas)[-1].value
    return chosen


def _type_from_hint(hint: str) -> dict[str, Any]:
    words = re.findall(r"[A-Za-z]+", hint.lower())
    found = (_TYPE_WORDS.get(w) or _TYPE_WORDS.get(w[:-1]) for w in words)
    kinds = [kind for kind in found if kind]
    if not kinds:
        return {"type": "string"}
    if kinds[0] == "array":
        return {"type": "array", "items": {"type": kinds[1] if len(kinds) > 1 else "string"}}
    return {"type": kinds[0]}


def _keys_from_list(listing: str) -> dict[str, dict[str, Any]]:
    """``"a, b (integer) and `c` for ..."`` -> ``{a: string, b: integer, c: string}``.

    The list ends at the first item followed by other words ("... and age for Paris").
    """
    fields: dict[str, dict[str, Any]] = {}
    for part in _KEY_PART_SPLIT_RE.split(listing.strip().rstrip(".:;")):
        item = _KEY_ITEM_RE.match(part.strip())
        if item is None or item.group("key").lower() in _STOPWORDS:
            break
        hint = item.group("hint")
        fields[item.group("key")] = _type_from_hint(hint) if hint else {"type": "string"}
        if item.group("rest").strip():
            break
    return fields


def _keys_instruction(prompt: _Prompt) -> Mapping[str, Any] | None:
    """A schema for "JSON with keys a, b" or a ```json block of ``"key": type`` lines."""
    for block in _FENCE_BLOCK_RE.findall(prompt.instructions):
        pseudo = _PSEUDO_FIELD_RE.findall(block)
        if pseudo and not _json_spans(block):
            props = {key: _type_from_hint(kind) for key, kind in pseudo}
            return {"type": "object", "properties": props, "required": list(props)}
    prose = _without_spans(prompt.instructions, _json_spans(prompt.instructions))
    for sentence in _sentences(prose):
        at = sentence.lower().find("json")
        found = _KEYS_RE.search(sentence[at:]) if at >= 0 and _asks_for_json(sentence) else None
        fields = _keys_from_list(found.group(1)) if found else {}
        if fields:
            return {"type": "object", "properties": fields, "required": list(fields)}
    return None


def _plain_instruction(prompt: _Prompt) -> bool:
    prose = _without_spans(prompt.instructions, _json_spans(prompt.instructions))
    return any(
        not _is_question(s) and any(r.search(s) for r in _PLAIN_JSON_RES) for s in _sentences(prose)
    )


# --- Few-shot JSON (question generation and the like) ------------------------------------------


@dataclass(frozen=True)
class _Shot:
    question: str
    example_inputs: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    fenced: bool


def _json_after(text: str, at: int) -> tuple[Any, int, bool] | None:
    """The JSON value right after ``at`` (optionally in a ``` fence): ``(value, end, fenced)``."""
    rest = text[at:]
    fence = re.match(r"\s*```[^\n`]*\n", rest)
    start = at + (fence.end() if fence else len(rest) - len(rest.lstrip()))
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    if fence:
        closing = re.match(r"\s*```", text[end:])
        end += closing.end() if closing else 0
    return value, end, fence is not None


def _few_shot(text: str) -> tuple[Any, _Shot] | None:
    """``(example output, the new case)`` when ``text`` ends with a label the example answered."""
    body = text.rstrip()
    label_at = body.rfind("\n") + 1
    label = body[label_at:].strip()
    if not _LABEL_RE.fullmatch(label):
        return None
    label_line = re.compile(rf"(?m)^[ \t]*{re.escape(label)}[ \t]*$")
    outputs: list[tuple[int, Any, int, bool]] = []
    for match in label_line.finditer(body, 0, label_at):
        after = _json_after(body, match.end())
        if after is not None and isinstance(after[0], (dict, list)):
            outputs.append((match.start(), *after))
    if not outputs:
        return None
    begin = outputs[-2][2] if len(outputs) > 1 else 0
    example_at, example, example_end, fenced = outputs[-1]
    spans = [s for s in _json_spans(body) if isinstance(s.value, dict)]
    example_inputs = [s.value for s in spans if begin <= s.start and s.end <= example_at]
    inputs = [s.value for s in spans if example_end <= s.start and s.end <= label_at]
    case = _without_spans(body[example_end:label_at], _json_spans(body[example_end:label_at]))
    lines = [ln.strip() for ln in case.splitlines()]
    words = [ln for ln in lines if ln and not (_HEADING_RE.match(ln) or _FENCE_LINE_RE.match(ln))]
    return example, _Shot(" ".join(words), example_inputs, inputs, fenced)


def _option_score(key: str, description: Any, terms: set[str]) -> int:
    return _tool_relevance(_Tool(key, str(description), {}), terms)


def _options(source: Mapping[str, Any], question: str) -> list[str]:
    """The keys of ``source`` relevant to the question (all of them when none is)."""
    terms = set(content_terms(question))
    relevant = [k for k, v in source.items() if _option_score(k, v, terms) > 0]
    return relevant or list(source)


def _focus(question: str, option: str, source: Mapping[str, Any]) -> str:
    """The question's key words, without those that belong only to the other options."""
    mine = set(content_terms(f"{option} {source.get(option, '')}", split_camel=True))
    others = {
        term
        for key, text in source.items()
        if key != option
        for term in content_terms(f"{key} {text}", split_camel=True)
    }
    words = _keywords(question, 8)
    kept = [w for w in words if not set(content_terms(w)) & (others - mine)]
    return _list_phrase(kept or words) or question.strip() or option


def _string_like(examples: Sequence[str], phrase: str) -> str:
    """A string in the style of the example values: a question if they are questions."""
    if examples and all(_INTERROGATIVE_RE.match(e) or e.rstrip().endswith("?") for e in examples):
        mark = "?" if any(e.rstrip().endswith("?") for e in examples) else ""
        return f"What is known about {phrase}{mark}"
    return phrase


def _shaped(example: Any, shot: _Shot, evidence: _Evidence, phrase: str) -> Any:
    """A value shaped like ``example`` with the new case's words."""
    if isinstance(example, dict):
        return {k: _shaped(v, shot, evidence, phrase) for k, v in example.items()}
    if isinstance(example, list):
        return _shaped_list(example, shot, evidence, phrase)
    if isinstance(example, str):
        return _string_like([example], phrase)
    if isinstance(example, (int, float)) and not isinstance(example, bool):
        found = evidence.take_number()
        return found if found is not None else example
    return example


def _choice_field(items: Sequence[dict[str, Any]], shot: _Shot) -> tuple[str, int] | None:
    """A field whose example values are all keys of one example input (and its source index)."""
    for key in dict.fromkeys(k for item in items for k in item):
        values = [item.get(key) for item in items]
        if not all(isinstance(v, str) for v in values):
            continue
        for index, source in enumerate(shot.example_inputs[: len(shot.inputs)]):
            if all(v in source for v in values):
                return key, index
    return None


def _shaped_list(items: list[Any], shot: _Shot, evidence: _Evidence, phrase: str) -> list[Any]:
    records = [item for item in items if isinstance(item, dict)]
    choice = _choice_field(records, shot) if records else None
    if choice is None:
        count = min(len(items), _MAX_ITEMS)
        return [_shaped(items[0], shot, evidence, phrase) for _ in range(count)]
    field, index = choice
    source = shot.inputs[index]
    shaped: list[Any] = []
    for option in _options(source, shot.question):
        focus = _focus(shot.question, option, source)
        item: dict[str, Any] = {}
        for key in dict.fromkeys(k for record in records for k in record):
            examples = [r[key] for r in records if key in r]
            if key == field:
                item[key] = option
            elif all(isinstance(e, str) for e in examples):
                item[key] = _string_like(examples, focus)
            else:
                item[key] = _shaped(examples[0], shot, evidence, focus)
        shaped.append(item)
    return shaped


def _answer_few_shot(user: str) -> FormatReply | None:
    found = _few_shot(user)
    if found is None:
        return None
    example, shot = found
    phrase = _list_phrase(_keywords(shot.question, 6)) or shot.question
    value = _shaped(example, shot, _Evidence.from_text(shot.question), phrase)
    return FormatReply("json", _json_text(value, shot.fenced or _wants_fence(user)), value)


# --- ReAct -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReactTool:
    name: str
    description: str
    schema: Mapping[str, Any]


def _is_react_grammar(text: str) -> bool:
    return all(r.search(text) for r in (_THOUGHT_RE, _ACTION_RE, _ACTION_INPUT_RE)) and (
        "Observation" in text
    )


def _signature_schema(signature: str) -> dict[str, Any]:
    """``(city: str, days: int = 3)`` -> a JSON Schema of those arguments."""
    properties: dict[str, Any] = {}
    for part in signature.strip("()").split(","):
        found = re.match(r"\s*([A-Za-z_]\w*)\s*(?::\s*([^=]+?))?\s*(?:=.*)?$", part)
        if found and found.group(1) not in ("self", "cls"):
            annotation = (found.group(2) or "str").strip("'\" ")  # quoted: future annotations
            kind = _PY_TYPES.get(annotation.split("[")[0].strip(), "string")
            properties[found.group(1)] = {"type": kind}
    return {"type": "object", "properties": properties} if properties else {}


def _described(text: str, name: str) -> _ReactTool:
    """A tool named in the grammar, described by a ``name(args) - text``/``name: text`` line."""
    line = re.search(
        rf"(?m)^[ \t>*-]*{re.escape(name)}(\([^\n]*?\))?(?:[ \t]*->[ \t]*[^\n]*?)?"
        r"[ \t]*(?::|-|—)[ \t]*(.+)$",
        text,
    )
    if line is None:
        return _ReactTool(name, "", {})
    return _ReactTool(name, line.group(2), _signature_schema(line.group(1) or ""))


def _react_tools(text: str) -> list[_ReactTool]:
    tools: dict[str, _ReactTool] = {}
    starts = list(_TOOL_NAME_RE.finditer(text))
    for index, found in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        block = text[found.end() : end]
        desc = _TOOL_DESC_RE.search(block)
        args = _TOOL_ARGS_RE.search(block)
        schema = _json_after(block, args.end()) if args else None
        tools[found.group(1)] = _ReactTool(
            found.group(1),
            desc.group(1).split("\n\n")[0].strip() if desc else "",
            schema[0] if schema and isinstance(schema[0], dict) else {},
        )
    listed = _ONE_OF_RE.search(text)
    for raw in listed.group(1).split(",") if listed else []:
        name = raw.strip().strip("`'\"")
        if re.fullmatch(r"[\w.\-]+", name) and name not in tools:
            tools[name] = _described(text, name)
    return list(tools.values())


def _is_observation(message: Mapping[str, Any]) -> bool:
    return content_to_text(message.get("content")).lstrip().startswith("Observation")


def _react_state(messages: Sequence[Mapping[str, Any]]) -> tuple[str, str, bool] | None:
    """``(question, transcript after it, output continues a "Thought:")``."""
    users = [
        i for i, m in enumerate(messages) if m.get("role") == "user" and not _is_observation(m)
    ]
    if not users:
        return None
    text = content_to_text(messages[users[-1]].get("content"))
    later = "\n".join(content_to_text(m.get("content")) for m in messages[users[-1] + 1 :])
    marked = list(_QUESTION_LINE_RE.finditer(text))
    if marked:
        question, transcript = marked[-1].group(1).strip(), text[marked[-1].end(1) :]
    elif _is_react_grammar(text):
        lines = [ln for ln in text.splitlines() if ln.strip() and not _GRAMMAR_LINE_RE.match(ln)]
        question, transcript = (lines[-1] if lines else ""), ""
    else:
        question, transcript = text, ""
    last = content_to_text(messages[-1].get("content")).rstrip()
    return question, f"{transcript}\n{later}", last.endswith("Thought:")


def _observations(transcript: str, names: set[str]) -> list[tuple[str, str]]:
    return [
        (m.group("tool"), m.group("obs").strip())
        for m in _STEP_RE.finditer(transcript)
        if m.group("tool") in names
    ]


def _action_input(tool: _ReactTool, question: str, as_json: bool) -> str:
    schema = tool.schema if isinstance(tool.schema.get("properties"), Mapping) else {}
    if as_json:
        schema = schema or {"type": "object", "properties": {"input": {"type": "string"}}}
        value = value_from_schema(schema, question)
        return json.dumps(value if isinstance(value, dict) else {}, ensure_ascii=False)
    properties: Mapping[str, Any] = schema.get("properties", {}) if schema else {}
    name, sub = next(iter(properties.items()), ("input", {"type": "string"}))
    value = value_from_schema(sub if isinstance(sub, Mapping) else {}, question, name=str(name))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _answer_react(
    messages: Sequence[Mapping[str, Any]], grammar: str, seed: int
) -> FormatReply | None:
    state = _react_state(messages)
    if state is None:
        return None
    question, transcript, continues = state
    tools = _react_tools(grammar)
    seen = _observations(transcript, {t.name for t in tools})
    terms = set(content_terms(question))
    scored = [(_option_score(t.name, t.description, terms), -i, t) for i, t in enumerate(tools)]
    fitting = [t for score, _, t in sorted(scored, key=lambda s: s[:2], reverse=True) if score]
    called = {name for name, _ in seen}
    pending = [t for t in fitting if t.name not in called]
    thought = "" if continues else "Thought: "
    if pending and len(seen) < _MAX_REACT_STEPS:
        tool = pending[0]
        grammar_line = _ACTION_INPUT_RE.search(grammar)
        as_json = grammar_line is not None and "json" in grammar_line.group(0).lower()
        lines = [
            f"{thought}The {tool.name} tool can help answer this.",
            f"Action: {tool.name}",
            f"Action Input: {_action_input(tool, question, as_json)}",
        ]
        return FormatReply("action", "\n".join(lines), tool=tool.name)
    label = "Final Answer" if _FINAL_ANSWER_RE.search(grammar) else "Answer"
    if seen:
        answer = _answer_from_tool_results(seen)
        text = f"{thought}I have what I need to answer.\n{label}: {answer}"
        return FormatReply("answer", text, observed=True)
    answer = _reply_to_conversation(question, seed)
    return FormatReply("answer", f"{thought}No listed tool is needed for this.\n{label}: {answer}")


# --- Entry point -------------------------------------------------------------------------------


def follow_format(
    messages: Sequence[Mapping[str, Any]],
    seed: int,
    *,
    results_reply: str | None = None,
    json_only: bool = False,
) -> FormatReply | None:
    """The answer in the format the conversation's prompt asks for, or ``None`` if it asks none.

    Args:
        messages: The conversation (``role``/``content`` mappings).
        seed: The request's seed (picks the wording of prose parts).
        results_reply: The answer drawn from trailing native tool results, if any.
        json_only: JSON mode is on without a schema: only a schema, keys or a few-shot example
            in the prompt counts (no ReAct, no plain "answer in JSON").

    Returns:
        The :class:`FormatReply`, or ``None`` for prose as usual.
    """
    systems = [content_to_text(m.get("content")) for m in messages if m.get("role") == "system"]
    users = [m for m in messages if m.get("role") == "user"]
    user = content_to_text(users[-1].get("content")) if users else ""
    if not json_only:
        for text in [*systems, *(content_to_text(m.get("content")) for m in reversed(users))]:
            if _is_react_grammar(text):
                return _answer_react(messages, text, seed)
    readable = _readable(user)
    found = _answer_few_shot(readable)
    if found is not None:
        return found
    prompt = _Prompt(
        "\n\n".join([*(_readable(s) for s in systems), readable]),
        readable,
        systems,
        seed,
        results_reply,
    )
    if not _JSON_WORD_RE.search(prompt.instructions):
        return None
    schema = _schema_instruction(prompt) or _keys_instruction(prompt)
    if schema is not None:
        return _answer_schema(prompt, schema, _wants_fence(prompt.instructions))
    if json_only or not _plain_instruction(prompt):
        return None
    value = _json_answer({}, user, prompt.reply())
    return FormatReply("json", _json_text(value, _wants_fence(prompt.instructions)), value)
