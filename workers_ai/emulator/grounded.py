"""Extractive stand-in answers for retrieval-augmented prompts (no I/O, deterministic).

RAG frameworks send the retrieved context and the question together (LlamaIndex: "Context
information is below ... Query: ..."; LangChain chains: context in the system message, the
question from the user). A real model answers from the context; the stand-in does the
simplest honest equivalent: it quotes the context sentence that shares the most content words
with the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from workers_ai.emulator.standins import content_terms

__all__ = ["grounded_answer"]

_QUESTION_MARKERS = re.compile(r"(?:^|\n)\s*(?:query|question)\s*:\s*(.+)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_MIN_CONTEXT_CHARS = 200


def _question(user_text: str) -> str | None:
    marked = _QUESTION_MARKERS.findall(user_text)
    if marked:
        return str(marked[-1]).strip()
    lines = [line.strip() for line in user_text.splitlines() if line.strip()]
    return lines[-1] if lines and lines[-1].endswith("?") else None


def _sentences(context: str) -> list[str]:
    # Hard-wrapped paragraphs: a single newline continues the sentence, a blank line ends it.
    unwrapped = re.sub(r"(?<!\n)\n(?!\n)", " ", context)
    parts = (p.strip(" -#*\t") for p in _SENTENCE_END.split(unwrapped))
    return [p for p in parts if len(p.split()) >= 4 and not p.lower().startswith("file_path")]


def grounded_answer(user_text: str, other_texts: Sequence[str] = ()) -> str | None:
    """The best-matching context sentence for a RAG-style prompt, else ``None``.

    Args:
        user_text: The last user message (question, and for LlamaIndex also the context).
        other_texts: Earlier message texts (e.g. a system message carrying the context).
    """
    question = _question(user_text)
    context = "\n".join([*other_texts, user_text.replace(question or "", " ")])
    if question is None or len(context) < _MIN_CONTEXT_CHARS:
        return None
    wanted = set(content_terms(question))
    scored = [
        (len(wanted & set(content_terms(s))), -i, s) for i, s in enumerate(_sentences(context))
    ]
    scored = [item for item in scored if item[0] > 0 and item[2] != question]
    if not scored:
        return None
    best = max(scored)[2]
    return f"According to the context: {best}"
