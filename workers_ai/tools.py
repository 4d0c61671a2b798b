"""Tool schemas, ``tool_choice``, tool-call parsing and argument coercion (pure, no I/O).

Workers AI returns tool calls in several shapes (spec §4):

* classic / legacy models: ``{"name": ..., "arguments": {...}}`` - an object, no id;
* ``llama-4-scout``: ``{"id", "type": "function", "function": {"name", "arguments": {...}}}``;
* chat-completion models: ``{"id", "type", "function": {"name", "arguments": "<json string>"}}``;
* the Responses API: ``{"type": "function_call", "call_id", "name", "arguments": "<json>"}``;
* classic llama models sometimes write the call as JSON *text* in ``response``.

Everything here turns those into :class:`~workers_ai.types.ToolCall` values, never dropping a
call whose arguments cannot be parsed (it becomes an invalid call that keeps the raw text).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from workers_ai.envelope import json_too_deep, loads_json
from workers_ai.errors import InvalidRequestError
from workers_ai.types import ToolCall

__all__ = [
    "coerce_arguments",
    "parse_text_tool_calls",
    "parse_tool_call",
    "parse_tool_calls",
    "synthesize_tool_call_id",
    "tool_choice_to_wire",
    "tool_to_wire",
]

_TOOL_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_JSON_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MAX_SCHEMA_DEPTH = 64
# Python-literal argument strings ("['a', 'b']"): longer or deeper ones are left as text.
_MAX_LITERAL_CHARS = 100_000
_MAX_LITERAL_DEPTH = 32
_LITERAL_TOKEN_RE = re.compile(r"\\.|'''|\"\"\"|['\"()\[\]{}]", re.DOTALL)

# ---------------------------------------------------------------------------------------------
# Tool-call parsing (wire -> ToolCall)
# ---------------------------------------------------------------------------------------------


def synthesize_tool_call_id(name: str, raw_arguments: str, index: int) -> str:
    """Return a stable id for a tool call that arrived without one.

    The id is ``"call_"`` followed by 24 hex characters of a SHA-256 over the name, the raw
    arguments and the call's position, so the same response always yields the same ids (which
    keeps recorded cassettes and retries reproducible) and two calls in one message differ.
    Lone surrogates (from JSON escapes such as ``"\\ud83d"``) are hashed as they are.

    Args:
        name: The tool's name.
        raw_arguments: The arguments as a JSON string.
        index: Position of the call in its message (0 for the first).

    Returns:
        An id such as ``"call_3f1c0a9b2d4e5f60718293a4"``.
    """
    text = f"{index}\x00{name}\x00{raw_arguments}"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return "call_" + digest[:24]


def _dump_json(value: Any) -> str:
    """Serialise deterministically (key order kept, non-ASCII kept, OpenAI-like separators)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _wire_arguments_to_object(value: Any) -> tuple[dict[str, Any] | None, str, str | None]:
    """Turn wire ``arguments`` into ``(object or None, raw JSON string, error or None)``."""
    if value is None:
        return {}, "{}", None
    if isinstance(value, Mapping):
        obj = dict(value)
        return obj, _dump_json(obj), None
    if not isinstance(value, str):
        error = f"tool call arguments must be a JSON object, got {type(value).__name__}"
        return None, _dump_json(value), error
    if not value.strip():
        return {}, "{}", None
    try:
        parsed = loads_json(value)
    except ValueError as exc:  # also > 4300-digit integers, too deep, too long
        return None, value, f"tool call arguments are not valid JSON: {exc}"
    if parsed is None:  # the JSON text "null": no arguments
        return {}, "{}", None
    if isinstance(parsed, str) and parsed.lstrip().startswith("{"):  # double-encoded object
        with contextlib.suppress(ValueError):
            parsed = loads_json(parsed)
    if not isinstance(parsed, dict):
        error = f"tool call arguments must be a JSON object, got JSON {_json_type_of(parsed)}"
        return None, value, error
    return parsed, value, None


def _tool_call_id_from_wire(raw: Mapping[str, Any], function: Mapping[str, Any]) -> str | None:
    """The call id as sent (Responses ``call_id`` wins over the item ``id``), or ``None``."""
    for candidate in (raw.get("call_id"), raw.get("id"), function.get("id")):
        if candidate is not None and candidate != "" and not isinstance(candidate, bool):
            return str(candidate)
    return None


def parse_tool_call(raw: Mapping[str, Any], index: int) -> ToolCall:
    """Parse one tool call in any documented wire shape.

    Accepted shapes: legacy ``{"name", "arguments": {...}}``; ``{"id", "type": "function",
    "function": {"name", "arguments": {...} | "<json>"}}``; Responses
    ``{"type": "function_call", "call_id", "name", "arguments"}``; ``parameters`` in place of
    ``arguments``. Missing, ``None``, ``""`` or ``"null"`` arguments mean ``{}``. A JSON
    string that holds a JSON string of an object (double encoding) is unwrapped once.

    Args:
        raw: One element of a wire ``tool_calls`` array.
        index: Its position, used to synthesize an id when the wire sent none.

    Returns:
        A :class:`ToolCall`. When the arguments are not a JSON object, ``arguments`` is ``None``,
        ``raw_arguments`` keeps the text verbatim and ``error`` says what is wrong.
    """
    obj: object = raw
    if not isinstance(obj, Mapping):
        text = _dump_json(obj)
        return ToolCall(
            id=synthesize_tool_call_id("", text, index),
            name="",
            arguments=None,
            raw_arguments=text,
            error=f"tool call must be a JSON object, got {type(obj).__name__}",
        )
    fn_value = obj.get("function")
    function: Mapping[str, Any] = fn_value if isinstance(fn_value, Mapping) else obj
    name_value = function.get("name", obj.get("name"))
    name = name_value if isinstance(name_value, str) else ""
    args_value = function.get("arguments")
    if args_value is None:
        args_value = function.get("parameters")
    arguments, raw_arguments, error = _wire_arguments_to_object(args_value)
    if not name and error is None:
        error = "tool call has no function name"
    call_id = _tool_call_id_from_wire(obj, function) or synthesize_tool_call_id(
        name, raw_arguments, index
    )
    return ToolCall(
        id=call_id,
        name=name,
        arguments=arguments if error is None else None,
        raw_arguments=raw_arguments,
        error=error,
    )


def parse_tool_calls(raw_list: Any) -> tuple[list[ToolCall], list[ToolCall]]:
    """Parse a wire ``tool_calls`` array into ``(valid, invalid)`` lists, order preserved.

    Args:
        raw_list: The array (``None`` and a single object are tolerated).

    Returns:
        Valid calls and invalid calls (bad JSON, non-object arguments, no name).
    """
    if raw_list is None:
        return [], []
    items: list[Any] = [raw_list] if isinstance(raw_list, Mapping) else list(raw_list)
    valid: list[ToolCall] = []
    invalid: list[ToolCall] = []
    for index, item in enumerate(items):
        call = parse_tool_call(item, index)
        (valid if call.is_valid else invalid).append(call)
    return valid, invalid


# ---------------------------------------------------------------------------------------------
# Tool calls written as text (classic llama models)
# ---------------------------------------------------------------------------------------------

_FENCE_RE = re.compile(r"\A```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)\n?```\Z", re.DOTALL)
_TAGGED_RE = re.compile(r"\s*<tool_call>(.*?)</tool_call>\s*", re.DOTALL)
_LLAMA_FUNCTION_RE = re.compile(
    r"\s*<function=([a-zA-Z0-9_-]{1,64})>(.*?)</function>\s*", re.DOTALL
)
_TEXT_CALL_KEYS = frozenset({"name", "arguments", "parameters", "type", "id", "function"})


def _unwrap_text_call(text: str) -> list[str]:
    """Strip ``<|python_tag|>``, code fences and ``<tool_call>`` tags; return JSON chunks."""
    s = text.strip()
    for _ in range(3):
        before = s
        s = s.removeprefix("<|python_tag|>").strip()
        fence = _FENCE_RE.match(s)
        if fence:
            s = fence.group(1).strip()
        if s == before:
            break
    if s.startswith("<tool_call>"):
        if "</tool_call>" not in s:  # generation stopped before the closing tag
            return [s.removeprefix("<tool_call>").strip()]
        chunks = _TAGGED_RE.findall(s)
        if chunks and not _TAGGED_RE.sub("", s).strip():
            return [chunk.strip() for chunk in chunks]
        return []
    return [s]


def _decode_json_values(chunk: str) -> list[Any] | None:
    """Decode one JSON value, or several objects separated by whitespace or ``;``."""
    if json_too_deep(chunk):
        return None
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while pos < len(chunk):
        try:
            value, pos = decoder.raw_decode(chunk, pos)
        except (ValueError, RecursionError, MemoryError):
            return None
        values.append(value)
        while pos < len(chunk) and (chunk[pos].isspace() or chunk[pos] == ";"):
            pos += 1
    return values or None


def _text_object_to_raw_call(value: Any, tool_names: Collection[str]) -> dict[str, Any] | None:
    """Return a wire-shaped call if ``value`` is unmistakably a call of a known tool."""
    if not isinstance(value, dict) or not set(value) <= _TEXT_CALL_KEYS:
        return None
    function = value.get("function")
    if isinstance(function, dict):
        if value.get("type", "function") != "function" or not set(function) <= _TEXT_CALL_KEYS:
            return None
        value = function
        explicit = True  # {"type": "function", "function": {...}} is unmistakably a call
    else:
        explicit = value.get("type") == "function"
    name = value.get("name")
    if not isinstance(name, str) or name not in tool_names:
        return None
    if not explicit and "arguments" not in value and "parameters" not in value:
        return None
    args = value.get("arguments", value.get("parameters"))
    if args is not None and not isinstance(args, (dict, str)):
        return None
    return {"name": name, "arguments": args}


def _llama_function_tags_to_raw_calls(text: str, tool_names: Collection[str]) -> list[Any] | None:
    """Parse Llama 3.1's ``<function=name>{...}</function>`` form (whole text only)."""
    matches = _LLAMA_FUNCTION_RE.findall(text)
    if not matches or _LLAMA_FUNCTION_RE.sub("", text).strip():
        return None
    calls: list[Any] = []
    for name, body in matches:
        if name not in tool_names:
            return None
        calls.append({"name": name, "arguments": body.strip() or None})
    return calls


def parse_text_tool_calls(text: str, tool_names: Collection[str]) -> list[ToolCall] | None:
    """Recognise a tool call that a classic model wrote as JSON text instead of ``tool_calls``.

    The whole text (after stripping whitespace, an optional ``<|python_tag|>`` prefix, optional
    Markdown code fences, or ``<tool_call>...</tool_call>`` tags) must be one JSON object
    ``{"name": <known tool>, "arguments" | "parameters": {...}}``, a list of such objects,
    several such objects separated by ``;``, ``{"type": "function", "name": ...}`` or
    ``{"type": "function", "function": {...}}``. Llama 3.1's
    ``<function=name>{...}</function>`` form is also recognised. Objects with other keys, or
    whose ``name`` is not in ``tool_names``, are ordinary JSON answers, not calls.

    Args:
        text: The model's answer text.
        tool_names: Names of the tools offered in the request.

    Returns:
        The calls (ids synthesized; possibly invalid when the arguments are not an object), or
        ``None`` when the text is not entirely tool calls.
    """
    if isinstance(tool_names, str):
        tool_names = {tool_names}
    if not tool_names or not isinstance(text, str) or not text.strip():
        return None
    raw_calls = _llama_function_tags_to_raw_calls(text.strip(), tool_names)
    if raw_calls is None:
        raw_calls = []
        for chunk in _unwrap_text_call(text):
            values = _decode_json_values(chunk)
            if values is None:
                return None
            for value in values:
                for item in value if isinstance(value, list) and value else [value]:
                    call = _text_object_to_raw_call(item, tool_names)
                    if call is None:
                        return None
                    raw_calls.append(call)
    if not raw_calls:
        return None
    return [parse_tool_call(call, index) for index, call in enumerate(raw_calls)]


# ---------------------------------------------------------------------------------------------
# Argument coercion (arguments -> schema types, lossless only)
# ---------------------------------------------------------------------------------------------


def _resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow one local ``$ref`` (``#/$defs/X``, ``#/definitions/X``); siblings override."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return schema
    target: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or key not in target:
            return schema
        target = target[key]
    if not isinstance(target, Mapping):
        return schema
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def _normalize_schema(
    schema: Any, root: Mapping[str, Any], depth: int = 0
) -> Mapping[str, Any] | None:
    """Resolve ``$ref`` chains and single-branch ``allOf`` wrappers (pydantic v1 style)."""
    while isinstance(schema, Mapping) and depth < _MAX_SCHEMA_DEPTH:
        depth += 1
        if "$ref" in schema:
            resolved = _resolve_ref(schema, root)
            if resolved is schema:
                return schema
            schema = resolved
            continue
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            schema = {**all_of[0], **{k: v for k, v in schema.items() if k != "allOf"}}
            continue
        return schema
    return None


def _json_type_of(value: Any) -> str:
    """The JSON Schema type name of a Python JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _schema_types(schema: Mapping[str, Any]) -> list[str]:
    """Declared or inferable JSON types of a schema (empty when unknown)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    if isinstance(schema.get("enum"), list):
        return list(dict.fromkeys(_json_type_of(v) for v in schema["enum"]))
    if "const" in schema:
        return [_json_type_of(schema["const"])]
    if "properties" in schema:
        return ["object"]
    if "items" in schema or "prefixItems" in schema:
        return ["array"]
    return []


def _matches_type(value: Any, json_type: str) -> bool:
    actual = _json_type_of(value)
    return actual == json_type or (json_type == "number" and actual == "integer")


def _string_to_type(text: str, json_type: str) -> tuple[bool, Any]:
    """Convert a string to ``json_type`` when that loses nothing; ``(ok, value)``."""
    if json_type == "integer":
        if re.fullmatch(r"-?[0-9]+", text) and len(text) <= 400:
            number = int(text)
            if str(number) == text:  # rejects "007", "-0", "+1", "1_000"
                return True, number
    elif json_type == "number":
        if _JSON_NUMBER_RE.fullmatch(text) and len(text) <= 400:
            if re.fullmatch(r"-?[0-9]+", text):
                number = int(text)
                return (str(number) == text), number
            as_float = float(text)
            return math.isfinite(as_float), as_float
    elif json_type == "boolean":
        if text in ("true", "True", "false", "False"):
            return True, text.lower() == "true"
    elif json_type == "null":
        if text == "null":
            return True, None
    elif json_type in ("array", "object"):
        stripped = text.lstrip()
        if stripped.startswith("[" if json_type == "array" else "{"):
            try:
                decoded = loads_json(text, parse_float=_finite_float, parse_constant=_no_constant)
            except ValueError:  # also too many digits, NaN, 1e999, too deep
                return _python_literal_to_type(text, json_type)
            return _matches_type(decoded, json_type), decoded
        if json_type == "array" and stripped.startswith("("):
            return _python_literal_to_type(text, json_type)
    return False, text


def _finite_float(text: str) -> float:
    """``parse_float`` for :func:`json.loads`: ``1e999`` is not a JSON value Python can keep."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _no_constant(text: str) -> Any:
    """``parse_constant`` for :func:`json.loads`: ``NaN`` and ``Infinity`` are not JSON."""
    raise ValueError(f"not a JSON value: {text}")


def _literal_too_deep(text: str) -> bool:
    """Whether brackets outside quoted strings nest deeper than the literal bound (one pass)."""
    depth = 0
    quote = ""
    for match in _LITERAL_TOKEN_RE.finditer(text):
        token = match.group()
        if quote:
            # '''x''' ends a triple-quoted string; 'x''' is 'x' then the empty string ''.
            if token == quote or (len(quote) == 1 and token[0] == quote):
                quote = ""
        elif token[0] in "'\"":
            quote = token
        elif token in ("(", "[", "{"):
            depth += 1
            if depth > _MAX_LITERAL_DEPTH:
                return True
        elif token in (")", "]", "}"):
            depth -= 1
    return False


def _plain_literal(value: Any, depth: int = 0) -> Any:
    """``value`` as a JSON value (tuples become lists); ``ValueError`` when it is not plain."""
    if depth > _MAX_LITERAL_DEPTH:
        raise ValueError("literal nested too deeply")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain_literal(item, depth + 1) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _plain_literal(item, depth + 1) for key, item in value.items()}
    raise ValueError(f"not a plain JSON value: {type(value).__name__}")


def _python_literal_to_type(text: str, json_type: str) -> tuple[bool, Any]:
    """Read a Python literal such as ``"['a', 'b']"`` as a list or dict; ``(ok, value)``.

    Only plain literals count (strings, finite numbers, booleans, ``None`` and lists, tuples
    and string-keyed dicts of those); sets, bytes, complex numbers, names and calls do not.
    The length and nesting are bounded before parsing, and no parsing error escapes.
    """
    if len(text) > _MAX_LITERAL_CHARS or _literal_too_deep(text):
        return False, text
    try:
        value = _plain_literal(ast.literal_eval(text.strip()))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False, text
    if not _matches_type(value, json_type):
        return False, text
    return True, value


def _coerce_value(value: Any, schema: Any, root: Mapping[str, Any], depth: int) -> Any:
    """Coerce ``value`` towards ``schema``; unchanged when no lossless conversion exists."""
    resolved = _normalize_schema(schema, root)
    if resolved is None or depth > _MAX_SCHEMA_DEPTH:
        return value
    for key in ("anyOf", "oneOf"):
        branches = resolved.get(key)
        if isinstance(branches, list) and branches:
            return _coerce_union(value, branches, root, depth)
    types = _schema_types(resolved)
    if types and not any(_matches_type(value, t) for t in types):
        value = _convert_scalar(value, types)
    if isinstance(value, dict) and (not types or "object" in types):
        return _coerce_object(value, resolved, root, depth + 1)
    if isinstance(value, list) and (not types or "array" in types):
        return _coerce_array(value, resolved, root, depth + 1)
    return value


def _convert_scalar(value: Any, types: list[str]) -> Any:
    """Try the lossless conversions of one value to the first type that accepts it."""
    if isinstance(value, str):
        for json_type in ("null", "boolean", "integer", "number", "array", "object"):
            if json_type in types:
                ok, converted = _string_to_type(value, json_type)
                if ok:
                    return converted
    elif "string" in types and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. a zip code sent as a number: 94103 -> "94103"
    return value


def _coerce_union(value: Any, branches: list[Any], root: Mapping[str, Any], depth: int) -> Any:
    """``anyOf``/``oneOf``: keep a value some branch accepts; else take the first conversion."""
    normalized = [_normalize_schema(b, root) for b in branches]
    for branch in normalized:
        if branch is not None and any(_matches_type(value, t) for t in _schema_types(branch)):
            return _coerce_value(value, branch, root, depth + 1)
    for branch in normalized:
        if branch is None:
            continue
        converted = _coerce_value(value, branch, root, depth + 1)
        if any(_matches_type(converted, t) for t in _schema_types(branch)):
            return converted
    return value


def _coerce_object(
    value: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    extra = schema.get("additionalProperties")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in properties:
            result[key] = _coerce_value(item, properties[key], root, depth)
        elif isinstance(extra, Mapping):
            result[key] = _coerce_value(item, extra, root, depth)
        else:
            result[key] = item
    return result


def _coerce_array(
    value: list[Any], schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> list[Any]:
    items = schema.get("items")
    prefix = schema.get("prefixItems")
    if isinstance(items, list) and prefix is None:  # draft-4 tuple form
        prefix, items = items, schema.get("additionalItems")
    prefix = prefix if isinstance(prefix, list) else []
    result: list[Any] = []
    for position, item in enumerate(value):
        if position < len(prefix):
            result.append(_coerce_value(item, prefix[position], root, depth))
        elif isinstance(items, Mapping):
            result.append(_coerce_value(item, items, root, depth))
        else:
            result.append(item)
    return result


def coerce_arguments(arguments: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Coerce tool-call arguments to a JSON Schema where that loses nothing.

    Classic Workers AI models send ``{"user_id": "123", "addresses": "[\\"a\\", \\"b\\"]"}``
    for an integer and an array (``reference/.../chat.ipynb.outputs.json`` cell 17). This turns
    integer strings (``"123"`` but not ``"12.5"``, ``"007"`` or ``" 1"``) into ints, JSON number
    strings into numbers, ``"true"``/``"false"`` into booleans, ``"null"`` into ``None``, JSON
    array/object strings into lists/dicts (``NaN``, ``Infinity`` and ``1e999`` stay text), and
    plain integers into strings for ``string`` properties. It recurses into ``properties``,
    ``additionalProperties``, ``items`` and ``prefixItems`` (also of converted strings), follows
    ``$ref`` into the root's ``$defs``/``definitions``, unwraps single-branch ``allOf``, and for
    ``anyOf``/``oneOf`` keeps any value a branch already accepts (so ``Optional[str]`` keeps
    ``"null"`` as text).

    An array/object string that is not JSON is read as a Python literal when it is a plain one:
    ``llama-3.3-70b-instruct-fp8-fast`` sends ``"['TypeScript', 'Cloudflare Workers']"`` for an
    array of strings (``reference/real-responses/dropin-captures.json``). Plain means strings,
    finite numbers, booleans, ``None``, and lists, tuples (which become lists) and string-keyed
    dicts of those, at most 100,000 characters and 32 levels deep; names, calls, operators,
    sets, bytes, ``1e999`` and anything longer or deeper stay text. No code is run.

    Args:
        arguments: Parsed arguments of one tool call (not mutated).
        schema: The tool's ``parameters`` JSON Schema, or ``None``.

    Returns:
        A new dict. Never raises: values that cannot be coerced losslessly are left as they are.
    """
    copied = copy.deepcopy(arguments)
    if not isinstance(schema, Mapping) or not isinstance(copied, dict):
        return copied
    try:
        result = _coerce_object(copied, _normalize_schema(schema, schema) or {}, schema, 0)
    except (RecursionError, ValueError, TypeError, KeyError, AttributeError):
        return copied
    return result


# ---------------------------------------------------------------------------------------------
# Tool definitions and tool_choice (caller -> wire)
# ---------------------------------------------------------------------------------------------


def _validate_tool_name(name: Any) -> str:
    if not isinstance(name, str) or not _TOOL_NAME_RE.fullmatch(name):
        raise InvalidRequestError(
            f"Invalid tool name {name!r}: a tool name must be 1-64 characters of letters, "
            "digits, '_' or '-'. Rename the tool (for example 'get_weather')."
        )
    return name


def _infer_property_type(schema: Any, root: Mapping[str, Any]) -> str | None:
    """One JSON type for a classic-schema property: declared, or from $ref/anyOf/enum/const."""
    resolved = _normalize_schema(schema, root)
    if resolved is None:
        return None
    types = [t for t in _schema_types(resolved) if t != "null"]
    if not types:
        for key in ("anyOf", "oneOf"):
            branches = resolved.get(key)
            if isinstance(branches, list):
                types = [t for b in branches if (t := _infer_property_type(b, root))]
                types = [t for t in dict.fromkeys(types) if t != "null"]
                break
    if set(types) == {"integer", "number"}:
        return "number"
    return types[0] if len(types) == 1 else None


def _properties_to_classic(
    tool_name: str, parameters: dict[str, Any], root: Mapping[str, Any]
) -> dict[str, Any]:
    """Give every top-level property a single string ``type`` and a ``description``."""
    properties = parameters.get("properties", {})
    if not isinstance(properties, Mapping):
        raise InvalidRequestError(
            f"Tool {tool_name!r}: 'parameters.properties' must be an object mapping property "
            f"names to JSON Schemas, got {type(properties).__name__}."
        )
    converted: dict[str, Any] = {}
    for prop_name, prop_schema in properties.items():
        if not isinstance(prop_schema, Mapping):
            raise InvalidRequestError(
                f"Tool {tool_name!r}: property {prop_name!r} must be a JSON Schema object."
            )
        prop = dict(prop_schema)
        declared = prop.get("type")
        json_type = declared if isinstance(declared, str) else None
        json_type = json_type or _infer_property_type(prop, root)
        if json_type is None:
            raise InvalidRequestError(
                f"Tool {tool_name!r}: property {prop_name!r} has no single 'type' and none can "
                "be inferred. Classic Workers AI models require every parameter to have a "
                '\'type\' (such as "string", "integer" or "object") and a \'description\'; '
                f"add one to {prop_name!r}, or send OpenAI-style tools to a model that accepts "
                "full JSON Schema."
            )
        prop["type"] = json_type
        description = prop.get("description")
        prop["description"] = str(description) if description else str(prop_name)
        converted[str(prop_name)] = prop
    return converted


def tool_to_wire(
    tool: Mapping[str, Any],
    *,
    style: Literal["openai", "legacy"],
    classic_schema: bool | None = None,
) -> dict[str, Any]:
    """Convert a tool definition to the Workers AI wire shape.

    Accepts OpenAI-style ``{"type": "function", "function": {name, description, parameters}}``
    or a bare ``{name, description, parameters}``. Classic models (``style="legacy"``) require
    each top-level property to have a string ``type`` and a ``description``: a missing
    description is filled with the property's name, a missing type is inferred from ``$ref``,
    ``anyOf``/``oneOf`` (``Optional[X]`` -> ``X``), ``enum`` or ``const``, and a
    ``["string", "null"]`` type list becomes ``"string"``. The input is never mutated.

    Args:
        tool: The tool definition.
        style: ``"openai"`` for ``{"type": "function", "function": {...}}``; ``"legacy"`` for the
            bare classic shape.
        classic_schema: Apply the classic property rules above. ``None`` (default) means only
            for ``style="legacy"``; pass ``True`` when sending OpenAI-style tools to a classic
            model such as llama-4-scout.

    Returns:
        A new dict in the requested shape.

    Raises:
        InvalidRequestError: The tool has no valid name, or (classic rules) a property has no
            type that can be inferred.
    """
    if not isinstance(tool, Mapping):
        raise InvalidRequestError(f"A tool must be a dict, got {type(tool).__name__}.")
    nested = tool.get("function")
    function: Mapping[str, Any] = nested if isinstance(nested, Mapping) else tool
    if "name" not in function:
        raise InvalidRequestError(
            "A tool must be {'type': 'function', 'function': {'name', 'description', "
            f"'parameters'}} or {{'name', 'description', 'parameters'}}; got keys {sorted(tool)}."
        )
    name = _validate_tool_name(function.get("name"))
    parameters_in = function.get("parameters")
    if parameters_in is None:
        parameters_in = {"type": "object", "properties": {}}
    if not isinstance(parameters_in, Mapping):
        raise InvalidRequestError(f"Tool {name!r}: 'parameters' must be a JSON Schema object.")
    parameters: dict[str, Any] = copy.deepcopy(dict(parameters_in))
    parameters.setdefault("type", "object")
    description = function.get("description")
    if classic_schema if classic_schema is not None else style == "legacy":
        parameters.setdefault("properties", {})
        parameters["properties"] = _properties_to_classic(name, parameters, parameters)
        description = description or ""
    body: dict[str, Any] = {"name": name}
    if description is not None:
        body["description"] = str(description)
    body["parameters"] = parameters
    if style == "legacy":
        return body
    if "strict" in function:
        body["strict"] = function["strict"]
    return {"type": "function", "function": body}


_CHOICE_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def tool_choice_to_wire(
    choice: Any, *, tool_names: Iterable[str] | None = None
) -> str | dict[str, Any] | None:
    """Convert a caller's ``tool_choice`` to the wire form.

    Args:
        choice: ``None`` (send nothing), ``"auto"``, ``"none"``, ``"required"``, ``"any"``
            (same as ``"required"``), ``True`` (``"required"``), a tool name (force that tool),
            or an OpenAI dict ``{"type": "function", "function": {"name": ...}}``.
        tool_names: When given, a forced tool must be one of these names.

    Returns:
        ``None``, a keyword string, or ``{"type": "function", "function": {"name": ...}}``.

    Raises:
        InvalidRequestError: Anything else, including ``False`` (ambiguous: pass ``"none"`` to
            forbid tool calls or ``None`` for the model default) and unknown tool names.
    """
    if choice is None:
        return None
    if choice is True:
        return "required"
    if isinstance(choice, str):
        if choice in _CHOICE_KEYWORDS:
            return _CHOICE_KEYWORDS[choice]
        name = _forced_tool_name(choice, tool_names)
        return {"type": "function", "function": {"name": name}}
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if choice.get("type") == "function" and isinstance(function, Mapping):
            _forced_tool_name(function.get("name"), tool_names)
            return copy.deepcopy(dict(choice))
    hint = " Pass 'none' to forbid tool calls or None for the default." if choice is False else ""
    raise InvalidRequestError(
        f"Invalid tool_choice {choice!r}: use 'auto', 'none', 'required', 'any', True, a tool "
        "name, or {'type': 'function', 'function': {'name': ...}}." + hint
    )


def _forced_tool_name(name: Any, tool_names: Iterable[str] | None) -> str:
    valid_name = _validate_tool_name(name)
    if tool_names is not None:
        known = list(tool_names)
        if valid_name not in known:
            raise InvalidRequestError(
                f"tool_choice names {valid_name!r}, which is not among the tools offered "
                f"({', '.join(map(repr, known)) or 'none'}). Pass that tool in `tools` or fix "
                "the name."
            )
    return valid_name
