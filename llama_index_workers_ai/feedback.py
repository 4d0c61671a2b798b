"""Rate a LlamaIndex answer: feedback on the AI Gateway log of a ``ChatResponse``.

The answer's ``additional_kwargs["gateway_log_id"]`` names its AI Gateway log; these helpers
send the rating through the LLM's own connection (account, token, gateway), with the checks and
typed errors of :func:`workers_ai.feedback.send_feedback`.

Example:
    >>> from llama_index.core.llms import ChatMessage
    >>> from llama_index_workers_ai import WorkersAI, send_response_feedback
    >>> llm = WorkersAI(model="google/gemini-3-flash")  # doctest: +SKIP
    >>> answer = llm.chat([ChatMessage(role="user", content="Hi")])  # doctest: +SKIP
    >>> send_response_feedback(llm, answer, feedback=-1, metadata={"user": "42"})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from workers_ai.connection import client_pair_owner
from workers_ai.errors import InvalidRequestError
from workers_ai.feedback import asend_feedback, log_id_from_metadata, send_feedback

__all__ = ["asend_response_feedback", "response_log_id", "send_response_feedback"]

Answer = ChatResponse | CompletionResponse | Mapping[str, Any]


def response_log_id(response: Answer) -> str:
    """The AI Gateway log id of ``response`` (a ``ChatResponse``, ``CompletionResponse``, a
    stream's last response, or its ``additional_kwargs``).

    Raises:
        InvalidRequestError: the answer has no log id (it did not go through AI Gateway).
    """
    if isinstance(response, (ChatResponse, CompletionResponse)):
        return log_id_from_metadata(response.additional_kwargs, f"This {type(response).__name__}")
    if isinstance(response, Mapping):
        return log_id_from_metadata(response, "These additional_kwargs")
    raise InvalidRequestError(
        "Pass the ChatResponse or CompletionResponse (or its additional_kwargs) to rate, not a "
        f"{type(response).__name__}"
    )


def send_response_feedback(
    llm: Any,
    response: Answer,
    *,
    feedback: int | bool | None = None,
    score: float | None = None,
    metadata: Mapping[str, str | int | float | bool] | None = None,
    gateway: str | None = None,
) -> None:
    """Send feedback for the AI Gateway log of ``response``, through ``llm``'s connection.

    Args:
        llm: The ``WorkersAI`` LLM that answered (its account, token and gateway are used).
        response: The answer (``ChatResponse``, ``CompletionResponse``, a stream's last one) or
            its ``additional_kwargs``.
        feedback: ``1``/``True`` thumbs up, ``-1``/``False`` thumbs down, ``0`` not evaluated.
        score: A number from 0 to 100.
        metadata: String, number or boolean values to attach to the log.
        gateway: The gateway the answer went through, when a per-call option named another
            one than the LLM's (default: the LLM's gateway, else ``default``).

    Raises:
        InvalidRequestError: no log id on the response, or a bad argument (before any request).
        GatewayLogNotFoundError: the gateway has no such log.
    """
    owner = client_pair_owner(llm, "WorkersAI LLM")
    send_feedback(
        owner._sync_client(),
        response_log_id(response),
        gateway=gateway,
        feedback=feedback,
        score=score,
        metadata=metadata,
    )


async def asend_response_feedback(
    llm: Any,
    response: Answer,
    *,
    feedback: int | bool | None = None,
    score: float | None = None,
    metadata: Mapping[str, str | int | float | bool] | None = None,
    gateway: str | None = None,
) -> None:
    """Async :func:`send_response_feedback`."""
    owner = client_pair_owner(llm, "WorkersAI LLM")
    await asend_feedback(
        owner._async_client(),
        response_log_id(response),
        gateway=gateway,
        feedback=feedback,
        score=score,
        metadata=metadata,
    )
