"""Rate a LangChain answer: feedback on the AI Gateway log of an ``AIMessage``.

The answer's ``response_metadata["gateway_log_id"]`` names its AI Gateway log; these helpers send
the rating through the chat model's own connection (account, token, gateway), with the checks
and typed errors of :func:`workers_ai.feedback.send_feedback`.

Example:
    >>> from langchain_workers_ai import ChatWorkersAI, send_message_feedback
    >>> llm = ChatWorkersAI(model="openai/gpt-4.1")  # doctest: +SKIP
    >>> answer = llm.invoke("What is Cloudflare?")  # doctest: +SKIP
    >>> send_message_feedback(llm, answer, feedback=1, score=90)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_workers_ai.errors import langchain_errors
from workers_ai.connection import client_pair_owner
from workers_ai.errors import InvalidRequestError
from workers_ai.feedback import asend_feedback, log_id_from_metadata, send_feedback

__all__ = ["asend_message_feedback", "message_log_id", "send_message_feedback"]


def message_log_id(message: BaseMessage | Mapping[str, Any]) -> str:
    """The AI Gateway log id of ``message`` (an ``AIMessage``, a stream's last or summed chunk,
    or its ``response_metadata``).

    Raises:
        InvalidRequestError: the answer has no log id (it did not go through AI Gateway).
    """
    if isinstance(message, BaseMessage):
        return log_id_from_metadata(message.response_metadata, f"This {type(message).__name__}")
    if isinstance(message, Mapping):
        return log_id_from_metadata(message, "This response_metadata")
    raise InvalidRequestError(
        f"Pass the AIMessage (or its response_metadata) to rate, not a {type(message).__name__}"
    )


def send_message_feedback(
    model: Any,
    message: BaseMessage | Mapping[str, Any],
    *,
    feedback: int | bool | None = None,
    score: float | None = None,
    metadata: Mapping[str, str | int | float | bool] | None = None,
    gateway: str | None = None,
) -> None:
    """Send feedback for the AI Gateway log of ``message``, through ``model``'s connection.

    Args:
        model: The ``ChatWorkersAI`` that answered (its account, token and gateway are used).
        message: The answer (``AIMessage``, the last or summed stream chunk) or its
            ``response_metadata``.
        feedback: ``1``/``True`` thumbs up, ``-1``/``False`` thumbs down, ``0`` not evaluated.
        score: A number from 0 to 100.
        metadata: String, number or boolean values to attach to the log.
        gateway: The gateway the answer went through, when a per-call option named another
            one than the model's (default: the model's gateway, else ``default``).

    Raises:
        InvalidRequestError: no log id on the message, or a bad argument (before any request).
        GatewayLogNotFoundError: the gateway has no such log (the LangChain twin, also a
            ``langchain_core`` ``ModelInvalidRequestError``); other API errors as their twins.
    """
    owner = client_pair_owner(model, "ChatWorkersAI")
    log_id = message_log_id(message)
    with langchain_errors():
        send_feedback(
            owner._sync_client(),
            log_id,
            gateway=gateway,
            feedback=feedback,
            score=score,
            metadata=metadata,
        )


async def asend_message_feedback(
    model: Any,
    message: BaseMessage | Mapping[str, Any],
    *,
    feedback: int | bool | None = None,
    score: float | None = None,
    metadata: Mapping[str, str | int | float | bool] | None = None,
    gateway: str | None = None,
) -> None:
    """Async :func:`send_message_feedback`."""
    owner = client_pair_owner(model, "ChatWorkersAI")
    log_id = message_log_id(message)
    with langchain_errors():
        await asend_feedback(
            owner._async_client(),
            log_id,
            gateway=gateway,
            feedback=feedback,
            score=score,
            metadata=metadata,
        )
