"""A small, deliberately conservative token estimator (pure, no tokenizer download).

Embedding models reject inputs over their token limit (bge: 512) with HTTP 400, and one bad
input fails the whole batch of 100. The client checks inputs *before* sending, so its estimate
must never be lower than what the server counts. We have no model tokenizers, so we
over-estimate a little instead:

- every word (``\\w+`` run) and every other non-space character is at least one token (the
  emulator's count, and a lower bound for WordPiece/BPE tokenizers);
- a run of ASCII letters costs one token per 6 letters (``"internationalization"``: 4; real
  WordPiece gives 2-3), every digit and every non-ASCII character one token (BPE models split
  numbers digit by digit; CJK text has no spaces), a non-ASCII symbol (emoji) two;
- 2 more for the special tokens (``[CLS]``/``[SEP]``) the model adds to every input.

English prose comes out at about 1.3 tokens per word, close to real tokenizers; the estimate is
monotone in the prefix length, which :func:`truncate_to_tokens` relies on.

Example:
    >>> from workers_ai.tokens import estimate_tokens, truncate_to_tokens
    >>> estimate_tokens("Hello, world!")
    6
    >>> truncate_to_tokens("one two three four", 4)
    'one two'
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers_ai.messages import Message

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_TOKENS",
    "REPLY_TOKENS",
    "SPECIAL_TOKENS",
    "count_text_tokens",
    "estimate_chat_tokens",
    "estimate_token_ids",
    "estimate_tokens",
    "fits",
    "truncate_to_tokens",
]

#: Tokens a model adds to every input (``[CLS]`` and ``[SEP]`` for BERT-style encoders).
SPECIAL_TOKENS = 2
#: Chat-template tokens around each message (role markers and separators), as OpenAI counts.
MESSAGE_TOKENS = 4
#: Tokens that prime the assistant's reply.
REPLY_TOKENS = 3
#: What one image costs in a prompt: vision models count image tiles, and we cannot see the
#: size, so a generous flat figure keeps estimates on the safe side for trimming.
IMAGE_TOKENS = 1_000
_LETTERS_PER_TOKEN = 6

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_PIECE_RE = re.compile(r"[A-Za-z_]+|.", re.DOTALL)


def _piece_tokens(piece: str) -> int:
    """Tokens of one ``\\w+`` run or one symbol (at least 1)."""
    if len(piece) == 1:
        if piece.isascii() or piece.isalnum() or piece == "_":
            return 1
        return 2  # a non-ASCII symbol (emoji, arrows...) is often several byte-level tokens
    total = 0
    for part in _PIECE_RE.findall(piece):
        if part[0].isascii() and (part[0].isalpha() or part[0] == "_"):
            total += -(-len(part) // _LETTERS_PER_TOKEN)
        else:
            total += 1
    return total


def estimate_tokens(text: str) -> int:
    """Estimate the tokens an embedding model counts for ``text`` (never fewer than it does).

    Args:
        text: The input text.

    Returns:
        The estimate, including :data:`SPECIAL_TOKENS`.
    """
    return SPECIAL_TOKENS + sum(_piece_tokens(m.group(0)) for m in _TOKEN_RE.finditer(text))


def fits(text: str, limit: int) -> bool:
    """Whether ``estimate_tokens(text) <= limit``, without counting short texts.

    No character costs more than 2, so a text of at most ``(limit - 2) / 2`` characters fits.
    """
    return 2 * len(text) + SPECIAL_TOKENS <= limit or estimate_tokens(text) <= limit


def _longest_piece_prefix(piece: str, budget: int) -> int:
    """Characters of ``piece`` whose estimate fits ``budget`` (binary search; monotone)."""
    low, high = 0, len(piece)
    while low < high:
        mid = (low + high + 1) // 2
        if _piece_tokens(piece[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def truncate_to_tokens(text: str, limit: int) -> str:
    """Return the longest prefix of ``text`` whose :func:`estimate_tokens` is at most ``limit``.

    Cuts between words where it can, inside a word only when a single word is over budget.
    ``limit`` includes :data:`SPECIAL_TOKENS`; a limit that leaves no room gives ``""``.
    """
    budget = limit - SPECIAL_TOKENS
    if budget < 0:
        return ""
    used = 0
    for match in _TOKEN_RE.finditer(text):
        cost = _piece_tokens(match.group(0))
        if used + cost > budget:
            keep = _longest_piece_prefix(match.group(0), budget - used) if budget > used else 0
            return text[: match.start() + keep] if keep else text[: match.start()].rstrip()
        used += cost
    return text


def count_text_tokens(text: str) -> int:
    """Estimated tokens of ``text`` inside a prompt (no special tokens added)."""
    return estimate_tokens(text) - SPECIAL_TOKENS


def estimate_chat_tokens(
    messages: Sequence[Message], tools: Sequence[Mapping[str, Any]] = ()
) -> int:
    """Estimated prompt tokens of a conversation (and tool schemas) for a chat model.

    Text is counted with :func:`count_text_tokens`, tool calls and tool schemas as their JSON,
    images as :data:`IMAGE_TOKENS`, plus :data:`MESSAGE_TOKENS` per message and
    :data:`REPLY_TOKENS` once. Like :func:`estimate_tokens`, it leans high: trimming a history to
    an estimate leaves it within the real limit.
    """
    total = REPLY_TOKENS
    for message in messages:
        total += MESSAGE_TOKENS + count_text_tokens(message.role)
        if isinstance(message.content, str):
            total += count_text_tokens(message.content)
        else:
            for part in message.content:
                text = getattr(part, "text", None)
                total += count_text_tokens(text) if text is not None else IMAGE_TOKENS
        for call in message.tool_calls:
            total += count_text_tokens(call.name) + count_text_tokens(call.raw_arguments)
        for extra in (message.name, message.tool_call_id):
            total += count_text_tokens(extra) if extra else 0
    for tool in tools:
        total += count_text_tokens(json.dumps(tool, sort_keys=True, default=str))
    return total


def estimate_token_ids(text: str) -> list[int]:
    """Pseudo token ids: one stable id per counted token (CRC-32 of the piece it belongs to).

    For APIs that want ids (LangChain's ``get_token_ids``); their number is
    :func:`count_text_tokens`, the ids are not any model's vocabulary.
    """
    ids: list[int] = []
    for match in _TOKEN_RE.finditer(text):
        piece = match.group(0)
        ids.extend([zlib.crc32(piece.encode("utf-8", "surrogatepass"))] * _piece_tokens(piece))
    return ids
