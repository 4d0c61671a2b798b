"""The feedback body for ``PATCH .../logs/{id}`` (spec: AI platform §1.12): what is sent for
each combination of arguments (no I/O; the refusals are in the contract suite)."""

from __future__ import annotations

from typing import Any

import pytest

from workers_ai.errors import InvalidRequestError
from workers_ai.feedback import feedback_body, log_id_from_metadata

BODIES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"feedback": 1}, {"feedback": 1}),
    ({"feedback": -1}, {"feedback": -1}),
    ({"feedback": 0}, {"feedback": 0}),
    ({"feedback": True}, {"feedback": 1}),
    ({"feedback": False}, {"feedback": -1}),
    ({"score": 0}, {"score": 0}),
    ({"score": 100.0}, {"score": 100.0}),
    ({"metadata": {}}, {"metadata": {}}),
    (
        {"feedback": None, "score": 42.5, "metadata": {"user": "1", "n": 2, "ok": False}},
        {"score": 42.5, "metadata": {"user": "1", "n": 2, "ok": False}},
    ),
]


@pytest.mark.parametrize(("kw", "body"), BODIES)
def test_the_body_carries_the_given_fields_only(kw: dict[str, Any], body: dict[str, Any]) -> None:
    sent = feedback_body(**kw)
    assert sent == body
    assert [type(v) for v in sent.values()] == [type(v) for v in body.values()]  # True -> 1


@pytest.mark.parametrize(
    "metadata",
    [{"gateway_log_id": ""}, {"gateway_log_id": 7}, {}, None, {"request_id": "cf-ray"}],
)
def test_metadata_without_a_log_id_is_refused(metadata: Any) -> None:
    with pytest.raises(InvalidRequestError, match="This answer has no gateway_log_id"):
        log_id_from_metadata(metadata, "This answer")


def test_the_log_id_is_read_from_the_metadata() -> None:
    assert log_id_from_metadata({"gateway_log_id": "01JLOG", "x": 1}, "it") == "01JLOG"
