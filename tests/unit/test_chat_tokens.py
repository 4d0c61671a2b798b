"""The chat token estimator behind ``ChatWorkersAI.get_num_tokens*`` (no tokenizer download)."""

from __future__ import annotations

import pytest

from workers_ai.messages import ImagePart, Message, TextPart
from workers_ai.tokens import (
    IMAGE_TOKENS,
    MESSAGE_TOKENS,
    REPLY_TOKENS,
    count_text_tokens,
    estimate_chat_tokens,
    estimate_token_ids,
    estimate_tokens,
)
from workers_ai.types import ToolCall


@pytest.mark.parametrize(
    "text", ["", "Hello, world!", "internationalization", "日本語のテキスト", "x" * 1000, "a 🎉 b"]
)
def test_token_ids_are_as_many_as_the_count_and_stable(text: str) -> None:
    ids = estimate_token_ids(text)
    assert len(ids) == count_text_tokens(text) == estimate_tokens(text) - 2
    assert ids == estimate_token_ids(text)


def test_an_empty_conversation_costs_the_reply_priming() -> None:
    assert estimate_chat_tokens([]) == REPLY_TOKENS


def test_each_message_costs_its_text_plus_the_template() -> None:
    one = [Message(role="user", content="How long do refunds take?")]
    expected = REPLY_TOKENS + MESSAGE_TOKENS + count_text_tokens("user")
    expected += count_text_tokens("How long do refunds take?")
    assert estimate_chat_tokens(one) == expected
    two = [*one, Message(role="assistant", content="Five to seven days.")]
    assert estimate_chat_tokens(two) > estimate_chat_tokens(one)


def test_parts_tool_calls_and_tools_all_count() -> None:
    text = Message(role="user", content=[TextPart("What is in this picture?")])
    image = ImagePart("data:image/png;base64,AA==")
    with_image = Message(role="user", content=[TextPart("What is in this picture?"), image])
    assert estimate_chat_tokens([with_image]) - estimate_chat_tokens([text]) == IMAGE_TOKENS
    call = ToolCall("call_1", "get_weather", {"city": "Lisbon"}, '{"city": "Lisbon"}')
    plain = Message(role="assistant", content="")
    calling = Message(role="assistant", content="", tool_calls=[call])
    assert estimate_chat_tokens([calling]) > estimate_chat_tokens([plain])
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    assert estimate_chat_tokens([plain], [tool]) > estimate_chat_tokens([plain])
