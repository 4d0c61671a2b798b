"""Unit tests for workers_ai.chat: think splitting, usage, and every output shape.

Fixture sources: "spec" is /work/shared/workers-ai-api.md; "chat.ipynb cell N",
"inline-values" and "observed" are files under
/work/shared/reference/real-responses/langchain-cloudflare/ (docs/chat.ipynb.outputs.json,
libs/.../unit_tests/inline-values.json, observed-api-behaviors.json).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers_ai.chat import normalize_chat_result, split_think, usage_from_wire
from workers_ai.errors import APIResponseValidationError
from workers_ai.types import Usage

# ---------------------------------------------------------------------------------------------
# split_think
# ---------------------------------------------------------------------------------------------

SPLITS: list[tuple[str, str, str | None, str]] = [
    # (case, text, reasoning, answer)
    (
        # spec §5: deepseek-r1 / qwq omit the opening <think> (template pre-fills it)
        "missing_opening_tag",
        "Okay, the user asks for 2+2. That is 4.\n</think>\n\nThe answer is 4.",
        "Okay, the user asks for 2+2. That is 4.",
        "The answer is 4.",
    ),
    ("both_tags", "<think>\nLet me think.\n</think>\n\nHello!", "Let me think.", "Hello!"),
    ("unterminated_at_start", "<think>Still thinking about", "Still thinking about", ""),
    # qwen3 with enable_thinking=false emits an empty block
    ("empty_block", "<think>\n\n</think>\n\nHello", None, "Hello"),
    ("close_tag_first_and_empty", "</think>Answer", None, "Answer"),
    ("two_blocks", "<think>a</think>b <think>c</think> d", "a\n\nc", "b  d"),
    ("text_before_think", "Sure. <think>hmm</think> Done.", "hmm", "Sure.  Done."),
    (
        "unterminated_after_answer",
        "Answer first <think>then thoughts",
        "then thoughts",
        "Answer first",
    ),
    ("think_only", "<think>just thoughts</think>", "just thoughts", ""),
]


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [case[1:] for case in SPLITS],
    ids=[case[0] for case in SPLITS],
)
def test_split_think(text: str, reasoning: str | None, answer: str) -> None:
    assert split_think(text) == (reasoning, answer)


@pytest.mark.parametrize("text", ["  plain answer\n", "", "a < b and c > d", "<thinking>x"])
def test_split_think_without_tags_returns_text_unchanged(text: str) -> None:
    assert split_think(text) == (None, text)


_TAG_RE = re.compile(r"</?think>")
_think_text = st.lists(
    st.sampled_from(["<think>", "</think>", "a", "b", " ", "\n", "<", "/", ">", "think", "é"]),
    max_size=30,
).map("".join)


def _non_space(text: str) -> Counter[str]:
    return Counter(ch for ch in text if not ch.isspace())


@given(_think_text | st.text(max_size=60))
def test_split_think_never_loses_characters_other_than_the_tags(text: str) -> None:
    reasoning, answer = split_think(text)
    assert _non_space((reasoning or "") + answer) == _non_space(_TAG_RE.sub("", text))


# ---------------------------------------------------------------------------------------------
# usage_from_wire
# ---------------------------------------------------------------------------------------------

USAGES: list[tuple[str, Any, Usage | None]] = [
    # (case, raw usage, expected)
    (
        "reported_cost",  # a provider behind AI Gateway reporting the request's USD cost
        {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.00012},
        Usage(10, 5, 15, cost=0.00012),
    ),
    ("cost_only", {"cost": "0.5"}, Usage(0, 0, 0, cost=0.5)),
    ("unreadable_cost_is_unknown", {"prompt_tokens": 1, "cost": -1}, Usage(1, 0, 1)),
    ("cost_not_a_number", {"cost": "free"}, None),
    (
        "spec_2b_classic",  # spec §2b classic shape
        {"prompt_tokens": 86, "completion_tokens": 171, "total_tokens": 257},
        Usage(86, 171, 257),
    ),
    (
        "chat_ipynb_cell10",  # chat.ipynb cell 10 token_usage
        {"prompt_tokens": 37, "completion_tokens": 9, "total_tokens": 46},
        Usage(37, 9, 46),
    ),
    (
        "spec_2b_responses",  # spec §2b Responses shape
        {"input_tokens": 7, "output_tokens": 1231, "total_tokens": 1238},
        Usage(7, 1231, 1238),
    ),
    (
        "inline_values_neurons",  # inline-values single_chunk_usage
        {"prompt_tokens": 39, "completion_tokens": 1, "total_tokens": 40, "neurons": 0.204805},
        Usage(39, 1, 40, neurons=0.204805),
    ),
    (
        "spec_3_final_stream_event",  # spec §3 final native usage event
        {"prompt_tokens": 175, "completion_tokens": 17, "total_tokens": 192, "neurons": 3.15},
        Usage(175, 17, 192, neurons=3.15),
    ),
    (
        "spec_1_prompt_cache",  # spec §1 x-session-affinity -> prompt_tokens_details.cached_tokens
        {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "total_tokens": 105,
            "prompt_tokens_details": {"cached_tokens": 64},
        },
        Usage(100, 5, 105, cached_tokens=64),
    ),
    (
        "responses_cached",  # OpenAI Responses naming of the same
        {"input_tokens": 10, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 8}},
        Usage(10, 2, 12, cached_tokens=8),
    ),
    ("total_computed", {"prompt_tokens": 10, "completion_tokens": 5}, Usage(10, 5, 15)),
    # spec §3 OpenAI-style chunk usage with zeros is still usage
    ("zeros", {"prompt_tokens": 0, "completion_tokens": 0}, Usage(0, 0, 0)),
    (
        "numeric_strings",
        {"prompt_tokens": "12", "completion_tokens": "3", "neurons": "0.5"},
        Usage(12, 3, 15, neurons=0.5),
    ),
    ("integral_floats", {"prompt_tokens": 12.0, "completion_tokens": 3.0}, Usage(12, 3, 15)),
    (
        "junk_fields_ignored",
        {"prompt_tokens": "lots", "completion_tokens": None, "total_tokens": 9, "neurons": "x"},
        Usage(0, 0, 9),
    ),
    ("bool_is_not_a_count", {"prompt_tokens": True, "total_tokens": 4}, Usage(0, 0, 4)),
    # Out of range means unknown: negative, not finite, or 2**53 and above (what a JavaScript
    # server cannot count exactly); never OverflowError (hardening issue, item 1).
    (
        "largest_exact",
        {"prompt_tokens": 2**53 - 1, "neurons": 2**53 - 1},
        Usage(2**53 - 1, 0, 2**53 - 1, neurons=float(2**53 - 1)),
    ),
    ("two_to_the_53", {"prompt_tokens": 2**53, "total_tokens": 2**53, "neurons": 2**53}, None),
    ("huge_int_neurons", {"prompt_tokens": 3, "neurons": 10**400}, Usage(3, 0, 3)),
    ("huge_int_tokens", {"prompt_tokens": 10**400, "completion_tokens": 2}, Usage(0, 2, 2)),
    ("huge_float_tokens", {"prompt_tokens": 1e300, "completion_tokens": 2}, Usage(0, 2, 2)),
    ("huge_string", {"prompt_tokens": "9" * 5000, "neurons": "1e400"}, None),
    ("negative", {"prompt_tokens": -1, "completion_tokens": 4, "neurons": -0.5}, Usage(0, 4, 4)),
    ("negative_cached", {"prompt_tokens": 4, "cached_tokens": -1}, Usage(4, 0, 4)),
    ("not_finite", {"prompt_tokens": float("inf"), "neurons": float("nan")}, None),
    ("none", None, None),
    ("empty", {}, None),
    ("not_an_object", "12 tokens", None),
    ("only_unknown_keys", {"tokens": 5}, None),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [case[1:] for case in USAGES], ids=[case[0] for case in USAGES]
)
def test_usage_from_wire(raw: Any, expected: Usage | None) -> None:
    assert usage_from_wire(raw) == expected


# ---------------------------------------------------------------------------------------------
# normalize_chat_result: every output shape
# ---------------------------------------------------------------------------------------------

QWEN3_CHAT_COMPLETION = {  # spec §2b chat-completion shape (qwen3-30b-a3b-fp8, inside result)
    "id": "chatcmpl-ef1d",
    "object": "chat.completion",
    "created": 1751560708,
    "model": "@cf/qwen/qwen3-30b-a3b-fp8",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "stop_reason": None,
            "logprobs": None,
            "message": {
                "role": "assistant",
                "content": "A cow is a large domesticated animal.",
                "reasoning_content": "Okay, the user asks about cows.",
                "tool_calls": [],
            },
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
}
GPT_OSS_RESPONSES = {  # spec §2b Responses shape (gpt-oss-120b)
    "id": "id-1763094420786",
    "object": "response",
    "created_at": 1763094420,
    "model": "@cf/openai/gpt-oss-120b",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "content": [{"type": "reasoning_text", "text": "The user wants a greeting."}],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Generated text"}],
        },
    ],
    "status": "completed",
    "usage": {"input_tokens": 7, "output_tokens": 1231, "total_tokens": 1238},
}
WEATHER_TOOLS = ["get_weather", "getWeather"]

SHAPES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (case, result, kwargs, expected ChatResult fields; tool calls as [(name, arguments)])
    (
        "spec_2b_classic",
        {
            "response": "Generated text",
            "tool_calls": [],
            "usage": {"prompt_tokens": 86, "completion_tokens": 171, "total_tokens": 257},
        },
        {},
        {"text": "Generated text", "usage": Usage(86, 171, 257), "finish_reason": None},
    ),
    (
        # chat.ipynb cell 10: implied raw result fields response + usage
        "chat_ipynb_cell10",
        {
            "response": "J'adore la programmation.",
            "usage": {"prompt_tokens": 37, "completion_tokens": 9, "total_tokens": 46},
        },
        {},
        {"text": "J'adore la programmation.", "usage": Usage(37, 9, 46)},
    ),
    (
        "spec_1_full_envelope",  # spec §1 success envelope passed whole
        {
            "result": {"response": "Hello, World first appeared in 1974 ..."},
            "success": True,
            "errors": [],
            "messages": [],
        },
        {},
        {"text": "Hello, World first appeared in 1974 ..."},
    ),
    (
        "spec_10_batch_double_nesting",  # spec §10: binding example result.result.response
        {"result": {"response": "Knock knock."}},
        {},
        {"text": "Knock knock."},
    ),
    ("empty_response_is_valid", {"response": ""}, {}, {"text": "", "reasoning": None}),
    ("response_none", {"response": None, "tool_calls": []}, {}, {"text": ""}),
    (
        "spec_2_json_mode_object",  # spec §2 JSON mode: response is an object
        {"response": {"name": "India", "capital": "New Delhi", "languages": ["Hindi", "English"]}},
        {"tool_names": WEATHER_TOOLS},
        {
            "text": '{"name": "India", "capital": "New Delhi", "languages": ["Hindi", "English"]}',
            "parsed": {"name": "India", "capital": "New Delhi", "languages": ["Hindi", "English"]},
            "tool_calls": [],
        },
    ),
    (
        "spec_2_json_mode_string",  # spec §2: some models return the JSON as a string
        {"response": '{"name": "India"}'},
        {},
        {"text": '{"name": "India"}', "parsed": None},
    ),
    (
        "spec_4_legacy_tool_call",  # spec §4 classic tool call: object args, no id, no response
        {
            "response": None,
            "tool_calls": [
                {"name": "getWeather", "arguments": {"latitude": "51.5", "longitude": "-0.12"}}
            ],
        },
        {},
        {
            "text": "",
            "tool_calls": [("getWeather", {"latitude": "51.5", "longitude": "-0.12"})],
            "finish_reason": "tool_calls",
        },
    ),
    (
        "spec_4_llama4_scout",  # spec §2b/§4 llama-4-scout stays classic, calls carry ids
        {
            "response": "",
            "tool_calls": [
                {
                    "id": "call_8f7",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"location": "London"}},
                }
            ],
            "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
        },
        {},
        {"tool_calls": [("get_weather", {"location": "London"})], "finish_reason": "tool_calls"},
    ),
    (
        "spec_2b_qwen3_chat_completion",
        QWEN3_CHAT_COMPLETION,
        {},
        {
            "text": "A cow is a large domesticated animal.",
            "reasoning": "Okay, the user asks about cows.",
            "finish_reason": "stop",
            "model": "@cf/qwen/qwen3-30b-a3b-fp8",
            "id": "chatcmpl-ef1d",
            "usage": Usage(1, 2, 3),
        },
    ),
    (
        # spec §4 chat-completion tool call: content null, JSON-string args, finish tool_calls
        "spec_4_chat_completion_tool_call",
        {
            "object": "chat.completion",
            "choices": [
                {
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "chatcmpl-tool-abc",
                                "type": "function",
                                "function": {
                                    "name": "get_weather",
                                    "arguments": '{"location": "London"}',
                                },
                            }
                        ],
                    },
                }
            ],
        },
        {},
        {
            "text": "",
            "tool_calls": [("get_weather", {"location": "London"})],
            "finish_reason": "tool_calls",
        },
    ),
    (
        # observed: Nemotron puts reasoning in message.reasoning
        "observed_nemotron_reasoning_field",
        {"choices": [{"message": {"content": "42", "reasoning": "Compute."}}]},
        {},
        {"text": "42", "reasoning": "Compute."},
    ),
    (
        # observed: Mistral sends reasoning_content null
        "observed_mistral_null_reasoning",
        {"choices": [{"message": {"content": "Bonjour", "reasoning_content": None}}]},
        {},
        {"text": "Bonjour", "reasoning": None},
    ),
    (
        # observed: /ai/v1/chat/completions returns a bare chat.completion (no envelope)
        "observed_bare_openai_body",
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "@cf/meta/llama-3.1-8b-instruct",
            "choices": [
                {"index": 0, "finish_reason": "length", "message": {"content": "Once upon"}}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
        {},
        {"text": "Once upon", "finish_reason": "length", "id": "chatcmpl-1"},
    ),
    (
        "content_parts_list",  # spec §2 messages content may be an array of text parts
        {
            "choices": [
                {
                    "message": {
                        "content": [
                            {"type": "text", "text": "Hello, "},
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}},
                            {"type": "text", "text": "world"},
                        ]
                    }
                }
            ]
        },
        {},
        {"text": "Hello, world"},
    ),
    (
        "spec_2b_qwen3_text_completion",  # spec §2b: qwen3 text_completion variant
        {
            "id": "cmpl-1",
            "object": "text_completion",
            "model": "@cf/qwen/qwen3-30b-a3b-fp8",
            "choices": [{"index": 0, "text": "completed text", "finish_reason": "stop"}],
        },
        {},
        {"text": "completed text", "finish_reason": "stop"},
    ),
    (
        "spec_2b_responses",
        GPT_OSS_RESPONSES,
        {},
        {
            "text": "Generated text",
            "reasoning": "The user wants a greeting.",
            "finish_reason": "stop",
            "model": "@cf/openai/gpt-oss-120b",
            "id": "id-1763094420786",
            "usage": Usage(7, 1231, 1238),
        },
    ),
    (
        "responses_function_call",  # Responses function_call item (OpenAI Responses format)
        {
            "object": "response",
            "status": "completed",
            "output": [
                {
                    "type": "function_call",
                    "id": "fc_1",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": '{"city": "Paris"}',
                }
            ],
        },
        {},
        {
            "text": "",
            "tool_calls": [("get_weather", {"city": "Paris"})],
            "finish_reason": "tool_calls",
        },
    ),
    (
        "responses_incomplete_max_tokens",
        {
            "object": "response",
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "reasoning", "content": [{"type": "reasoning_text", "text": "x"}]}],
        },
        {},
        {"text": "", "reasoning": "x", "finish_reason": "length"},
    ),
    (
        "responses_reasoning_summary_only",
        {
            "status": "completed",
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Brief."}]},
                {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]},
            ],
        },
        {},
        {"text": "Hi", "reasoning": "Brief."},
    ),
    (
        # spec §3: newer models mix native and OpenAI fields; text must not be doubled
        "spec_3_mixed_same_text",
        {"choices": [{"message": {"content": "Here"}}], "response": "Here", "tool_calls": []},
        {},
        {"text": "Here"},
    ),
    (
        # spec §2b robust client rule: empty message content falls back to response
        "robust_rule_content_empty",
        {"choices": [{"message": {"content": ""}}], "response": "From response"},
        {},
        {"text": "From response"},
    ),
    (
        # spec §2b robust client rule: top-level tool_calls win over message tool_calls
        "robust_rule_top_level_tool_calls",
        {
            "tool_calls": [{"name": "getWeather", "arguments": {"latitude": "1"}}],
            "choices": [
                {
                    "message": {
                        "content": "",
                        "tool_calls": [
                            {"id": "x", "function": {"name": "other", "arguments": "{}"}}
                        ],
                    }
                }
            ],
        },
        {},
        {"tool_calls": [("getWeather", {"latitude": "1"})]},
    ),
    (
        "robust_rule_message_tool_calls_when_top_level_empty",
        {
            "response": "",
            "tool_calls": [],
            "choices": [
                {"message": {"tool_calls": [{"id": "y", "function": {"name": "get_weather"}}]}}
            ],
        },
        {},
        {"tool_calls": [("get_weather", {})], "finish_reason": "tool_calls"},
    ),
    (
        "spec_5_deepseek_r1_missing_open_tag",  # spec §5: split on </think> by default
        {"response": "The user greets me.\n</think>\n\nHello! How can I help?"},
        {},
        {"text": "Hello! How can I help?", "reasoning": "The user greets me."},
    ),
    (
        "think_tags_false_keeps_text",
        {"response": "thoughts</think>answer"},
        {"think_tags": False},
        {"text": "thoughts</think>answer", "reasoning": None},
    ),
    (
        "think_tags_none_ignores_unterminated_open_tag",
        {"response": "<think>partial"},
        {},
        {"text": "<think>partial", "reasoning": None},
    ),
    (
        "think_tags_true_splits_unterminated",  # cut off while thinking (max_tokens)
        {"response": "<think>partial"},
        {"think_tags": True},
        {"text": "", "reasoning": "partial"},
    ),
    (
        "structured_and_inline_reasoning_both_kept",
        {"choices": [{"message": {"content": "x</think>answer", "reasoning_content": "r1"}}]},
        {},
        {"text": "answer", "reasoning": "r1\n\nx"},
    ),
    (
        # spec §3/§4: classic llama writes the call as JSON text in response
        "text_tool_call_with_tool_names",
        {"response": '{"name": "get_weather", "parameters": {"city": "Paris"}}'},
        {"tool_names": WEATHER_TOOLS},
        {
            "text": "",
            "tool_calls": [("get_weather", {"city": "Paris"})],
            "finish_reason": "tool_calls",
        },
    ),
    (
        "text_tool_call_ignored_without_tool_names",
        {"response": '{"name": "get_weather", "parameters": {"city": "Paris"}}'},
        {},
        {"text": '{"name": "get_weather", "parameters": {"city": "Paris"}}', "tool_calls": []},
    ),
    (
        "text_json_that_is_not_a_tool_stays_text",
        {"response": '{"name": "India", "capital": "New Delhi"}'},
        {"tool_names": WEATHER_TOOLS},
        {"text": '{"name": "India", "capital": "New Delhi"}', "tool_calls": []},
    ),
    (
        "qwq_think_then_text_tool_call",  # spec §5 reasoning + spec §4 JSON-text call
        {
            "response": 'Need weather.</think>\n<tool_call>{"name": "get_weather", '
            '"arguments": {"city": "Oslo"}}</tool_call>'
        },
        {"tool_names": WEATHER_TOOLS},
        {
            "text": "",
            "reasoning": "Need weather.",
            "tool_calls": [("get_weather", {"city": "Oslo"})],
        },
    ),
    (
        "structured_call_wins_over_text_call",
        {
            "response": '{"name": "get_weather", "parameters": {"city": "Rome"}}',
            "tool_calls": [{"name": "getWeather", "arguments": {"latitude": "1"}}],
        },
        {"tool_names": WEATHER_TOOLS},
        {
            "text": '{"name": "get_weather", "parameters": {"city": "Rome"}}',
            "tool_calls": [("getWeather", {"latitude": "1"})],
        },
    ),
    (
        "wire_finish_reason_kept_with_tool_calls",  # some models say "stop" with tool calls
        {
            "choices": [
                {
                    "finish_reason": "stop",
                    "message": {"tool_calls": [{"id": "a", "function": {"name": "f"}}]},
                }
            ]
        },
        {},
        {"finish_reason": "stop", "tool_calls": [("f", {})]},
    ),
    (
        "top_level_finish_reason",  # spec §3: native events may carry finish_reason
        {"response": "Hi", "finish_reason": "length"},
        {},
        {"text": "Hi", "finish_reason": "length"},
    ),
]


def _calls(calls: list[Any]) -> list[tuple[str, Any]]:
    return [(c.name, c.arguments) for c in calls]


@pytest.mark.parametrize(
    ("result", "kwargs", "expected"),
    [case[1:] for case in SHAPES],
    ids=[case[0] for case in SHAPES],
)
def test_normalize_chat_result_shapes(
    result: dict[str, Any], kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    chat = normalize_chat_result(result, **kwargs)
    for name, value in expected.items():
        actual = getattr(chat, name)
        if name == "tool_calls":
            actual = _calls(actual)
        assert actual == value, f"{name}: {actual!r} != {value!r}"
    assert chat.raw is result


def test_normalize_keeps_unparseable_tool_calls_as_invalid() -> None:
    # spec §4 chat-completion call whose JSON-string arguments were cut off
    result = {
        "choices": [
            {
                "finish_reason": "length",
                "message": {
                    "content": None,
                    "tool_calls": [
                        {"id": "ok", "function": {"name": "get_time", "arguments": "{}"}},
                        {"id": "cut", "function": {"name": "get_weather", "arguments": '{"ci'}},
                    ],
                },
            }
        ]
    }
    chat = normalize_chat_result(result)
    assert [c.id for c in chat.tool_calls] == ["ok"]
    assert [c.id for c in chat.invalid_tool_calls] == ["cut"]
    assert chat.invalid_tool_calls[0].raw_arguments == '{"ci'
    assert chat.finish_reason == "length"


def test_normalize_text_tool_call_ids_are_stable_across_calls() -> None:
    result = {"response": '{"name": "get_weather", "parameters": {"city": "Paris"}}'}
    first = normalize_chat_result(result, tool_names=WEATHER_TOOLS)
    second = normalize_chat_result(result, tool_names=WEATHER_TOOLS)
    assert first.tool_calls[0].id == second.tool_calls[0].id


@pytest.mark.parametrize(
    ("result", "fragment"),
    [
        (None, "got NoneType"),
        ("Hello", "got str"),
        ([{"response": "x"}], "got list"),
        ({}, "got keys []"),
        ({"foo": 1, "bar": 2}, "got keys ['bar', 'foo']"),
        ({"usage": {"prompt_tokens": 1}}, "got keys ['usage']"),
        # spec §1 failure envelope reaching the normaliser by mistake
        (
            {"result": None, "success": False, "errors": [{"code": 5006, "message": "Bad input"}]},
            "got keys ['errors', 'result', 'success']",
        ),
        ({"choices": "oops"}, "'choices' should be a list"),
        ({"output": {"type": "message"}}, "'output' should be a list"),
    ],
    ids=[
        "none",
        "string",
        "list",
        "empty_dict",
        "unknown_keys",
        "usage_only",
        "failure_envelope",
        "choices_not_list",
        "output_not_list",
    ],
)
def test_normalize_rejects_unrecognised_results(result: Any, fragment: str) -> None:
    with pytest.raises(APIResponseValidationError) as excinfo:
        normalize_chat_result(result)
    assert fragment in str(excinfo.value)
    body = excinfo.value.body
    assert isinstance(body, str) and len(body) <= 200  # an excerpt, never the value itself


def test_unrecognised_result_error_carries_only_a_short_excerpt() -> None:
    result = {f"key{i}": "x" * 10_000 for i in range(1_000)}
    with pytest.raises(APIResponseValidationError) as excinfo:
        normalize_chat_result(result)
    assert isinstance(excinfo.value.body, str) and len(excinfo.value.body) <= 200
    assert len(str(excinfo.value)) < 1_000


@given(st.text(max_size=80).filter(lambda s: "</think>" not in s))
def test_classic_text_without_think_close_is_returned_verbatim(text: str) -> None:
    assert normalize_chat_result({"response": text}).text == text


@given(st.text(max_size=80))
def test_normalize_never_invents_tool_calls_without_tool_names(text: str) -> None:
    chat = normalize_chat_result({"response": text})
    assert chat.tool_calls == [] and chat.invalid_tool_calls == []
