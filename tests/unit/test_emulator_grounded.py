"""The emulator's extractive answers for RAG prompts."""

from __future__ import annotations

import pytest

from workers_ai.emulator.grounded import grounded_answer

CONTEXT = (
    "Customers can ask for a refund within 30 days of purchase. Refunds go back to the\n"
    "original payment method and take 5 to 7 business days to appear.\n\n"
    "Orders ship from our warehouse in Lisbon within two business days."
)
LLAMA_INDEX_PROMPT = (  # llama-index-core's default text QA template
    f"Context information is below.\n---------------------\n{CONTEXT}\n"
    "---------------------\nGiven the context information and not prior knowledge, answer "
    "the query.\nQuery: How long do refunds take to appear?\nAnswer: "
)


@pytest.mark.parametrize(
    ("user_text", "system", "expected"),
    [
        (LLAMA_INDEX_PROMPT, [], "take 5 to 7 business days to appear"),
        ("Where do orders ship from?", [f"Answer from this context:\n{CONTEXT}"], "Lisbon"),
        ("Question: when can I get a refund?\n" + CONTEXT, [], "within 30 days"),
    ],
)
def test_quotes_the_best_matching_context_sentence(user_text, system, expected):
    answer = grounded_answer(user_text, system)
    assert answer is not None and expected in answer
    assert "\n" not in answer  # hard-wrapped lines are joined into one sentence


@pytest.mark.parametrize(
    ("user_text", "system"),
    [
        ("Why is the sky blue?", []),  # no context
        ("Tell me a story.\n" + CONTEXT, []),  # no question
        ("What is the capital of Peru?", [CONTEXT]),  # nothing in the context matches
    ],
)
def test_no_grounded_answer_without_context_question_and_overlap(user_text, system):
    assert grounded_answer(user_text, system) is None
