"""Feedback on AI Gateway logs: rate an answer by its ``cf-aig-log-id`` (spec: AI platform §1.12).

Every request through AI Gateway is logged, and its answer carries the log id
(:attr:`ResponseMeta.gateway_log_id <workers_ai.types.ResponseMeta.gateway_log_id>`; LangChain's
``response_metadata["gateway_log_id"]``, LlamaIndex's ``additional_kwargs["gateway_log_id"]``).
:func:`send_feedback` attaches a human rating to that log::

    PATCH /accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{log_id}
    {"feedback": 1, "score": 100, "metadata": {"user": "123"}}

The token needs the *AI Gateway - Edit* permission (*AI Gateway - Read* for :func:`list_logs`).

Choices where the spec is silent:

* ``feedback`` takes ``1`` (thumbs up), ``-1`` (thumbs down) or ``0`` (back to "not
  evaluated"); ``True``/``False`` are accepted as thumbs up/down. ``None`` (the default) leaves
  the field out of the request, so it is unchanged.
* ``score`` is a finite number from 0 to 100 (booleans refused); ``metadata`` an object of
  string, number or boolean values (finite numbers, non-empty string keys), at most
  :data:`MAX_METADATA_ENTRIES` entries.
* Nothing to send (every field ``None``) is an error, not a silent no-op.
* The gateway is ``gateway=`` if given, else the client's ``GatewayOptions.id``, else
  ``default`` (where third-party models go when no gateway is set).
* The answer's ``result`` is not documented: :func:`send_feedback` returns ``None``.

Example:
    >>> from workers_ai import WorkersAIClient
    >>> from workers_ai.feedback import send_feedback
    >>> with WorkersAIClient() as client:  # doctest: +SKIP
    ...     answer = client.chat("openai/gpt-4.1", {"messages": [...]})
    ...     send_feedback(client, answer.meta.gateway_log_id, feedback=1, score=90)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workers_ai.errors import InvalidRequestError, NotFoundError
from workers_ai.validators import validate_path_segment

if TYPE_CHECKING:
    from workers_ai._base_client import BaseClient, _Call
    from workers_ai.client import AsyncWorkersAIClient, WorkersAIClient

__all__ = [
    "MAX_METADATA_ENTRIES",
    "GatewayLogNotFoundError",
    "alist_logs",
    "asend_feedback",
    "feedback_body",
    "list_logs",
    "log_id_from_metadata",
    "send_feedback",
]

#: The most metadata entries one feedback carries (a guard against sending a whole object;
#: the gateway's limit is not documented).
MAX_METADATA_ENTRIES = 50
#: AI Gateway ids are 1-64 characters (spec §1.12).
_MAX_GATEWAY_ID = 64
#: ``per_page`` of ``GET .../logs`` (Cloudflare's list APIs page at most 50).
_MAX_PER_PAGE = 50
_LOG_ROUTE = "/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{log_id}"
_LOGS_ROUTE = "/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs"


class GatewayLogNotFoundError(NotFoundError):
    """The gateway has no log with that id (HTTP 404 on ``PATCH .../logs/{id}``).

    The message names the log id and the gateway: check that the answer went through this
    gateway (pass ``gateway=`` when a per-call gateway option named another one), and that the
    log was collected (``collect_log=False`` keeps no log).
    """


# -- checks and request building (no I/O) -------------------------------------------------------
def _check_feedback(feedback: object) -> int | None:
    if feedback is None:
        return None
    if isinstance(feedback, bool):
        return 1 if feedback else -1
    if isinstance(feedback, int) and feedback in (-1, 0, 1):
        return int(feedback)
    raise InvalidRequestError(
        f"feedback={feedback!r}: use 1 (thumbs up, or True), -1 (thumbs down, or False), "
        "0 (not evaluated) or None (leave unchanged)"
    )


def _check_score(score: object) -> float | int | None:
    if score is None:
        return None
    if (
        isinstance(score, (int, float))
        and not isinstance(score, bool)
        and math.isfinite(score)
        and 0 <= score <= 100
    ):
        return score
    raise InvalidRequestError(f"score={score!r}: use a number from 0 to 100, or None")


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    return f"is a {type(value).__name__}; use a string, number or boolean"


def _check_metadata(metadata: object) -> dict[str, Any] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(
            f"metadata must be a mapping such as {{'user': '123'}}, got {type(metadata).__name__}"
        )
    if len(metadata) > MAX_METADATA_ENTRIES:
        raise InvalidRequestError(
            f"metadata has {len(metadata)} entries; send at most {MAX_METADATA_ENTRIES}"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise InvalidRequestError(f"metadata key {key!r}: use a non-empty string")
        problem = _scalar_problem(value)
        if problem:
            raise InvalidRequestError(f"metadata[{key!r}] {problem}")
    return dict(metadata)


def feedback_body(
    *, feedback: object = None, score: object = None, metadata: object = None
) -> dict[str, Any]:
    """The ``PATCH .../logs/{id}`` body: the given fields, checked (``None`` ones left out).

    Raises:
        InvalidRequestError: naming the field and what it takes, or when nothing is given.
    """
    values = {
        "feedback": _check_feedback(feedback),
        "score": _check_score(score),
        "metadata": _check_metadata(metadata),
    }
    body = {name: value for name, value in values.items() if value is not None}
    if not body:
        raise InvalidRequestError(
            "Nothing to send: give feedback (1 or -1), score (0-100) and/or metadata"
        )
    return body


def log_id_from_metadata(metadata: Mapping[str, Any] | None, where: str) -> str:
    """The ``gateway_log_id`` of an answer's metadata (what the adapters put there), checked.

    Args:
        metadata: LangChain's ``response_metadata``, LlamaIndex's ``additional_kwargs``...
        where: What the metadata belongs to, for the message (``"This AIMessage"``).

    Raises:
        InvalidRequestError: no log id, saying why an answer may have none.
    """
    value = metadata.get("gateway_log_id") if isinstance(metadata, Mapping) else None
    if isinstance(value, str) and value:
        return value
    raise InvalidRequestError(
        f"{where} has no gateway_log_id, so there is no AI Gateway log to rate. Only answers "
        "that went through AI Gateway have one: use a third-party model (e.g. 'openai/gpt-4.1') "
        "or set a gateway (gateway_id=...) on the model. A streamed answer carries it on its "
        "last chunk: rate the last chunk, or the chunks added up."
    )


def _gateway_id(client: BaseClient, gateway: object) -> str:
    """``gateway`` if given, else the client's gateway id, else ``default``; checked."""
    if gateway is None:
        from workers_ai.providers import DEFAULT_GATEWAY_ID  # settings (pydantic) behind it

        options = client.settings.gateway
        gateway = options.id if options is not None else DEFAULT_GATEWAY_ID
    value = validate_path_segment(gateway, "gateway")
    if len(value) > _MAX_GATEWAY_ID:
        raise InvalidRequestError(
            f"gateway {value[:16]!r}... is {len(value)} characters; gateway ids have 1 to 64"
        )
    return value


def _logs_url(client: BaseClient, gateway_id: str, log_id: str | None = None) -> str:
    """Both ids are checked path segments (letters, digits, ``_ . : @ -``): no quoting needed,
    and ``account_url`` checks every part again."""
    path = f"ai-gateway/gateways/{gateway_id}/logs"
    if log_id is not None:
        path += f"/{log_id}"
    return client.settings.account_url(path)


def _patch_call(
    client: BaseClient,
    log_id: object,
    gateway: object,
    fields: Mapping[str, object],
) -> tuple[_Call, str, str]:
    """The checked ``PATCH`` call, with the log and gateway ids it names."""
    body = feedback_body(**fields)
    checked_log = validate_path_segment(log_id, "log_id")
    gateway_id = _gateway_id(client, gateway)
    url = _logs_url(client, gateway_id, checked_log)
    return client._call("PATCH", url, _LOG_ROUTE, body=body), checked_log, gateway_id


def _check_page(value: object, name: str, maximum: int | None = None) -> int:
    top = f" to {maximum}" if maximum else " or more"
    number = value if isinstance(value, int) and not isinstance(value, bool) else 0
    if number >= 1 and (maximum is None or number <= maximum):
        return number
    raise InvalidRequestError(f"{name}={value!r}: use a whole number from 1{top}")


def _list_call(
    client: BaseClient, gateway: object, page: object, per_page: object, filters: Mapping[str, Any]
) -> _Call:
    params: dict[str, Any] = {
        "page": _check_page(page, "page"),
        "per_page": _check_page(per_page, "per_page", _MAX_PER_PAGE),
    }
    for name, value in filters.items():
        problem = _scalar_problem(value) if value is not None else "is None"
        if problem:
            raise InvalidRequestError(f"filter {name}={value!r} {problem}")
        params[name] = str(value).lower() if isinstance(value, bool) else value
    url = _logs_url(client, _gateway_id(client, gateway))
    return client._call("GET", url, _LOGS_ROUTE, params=params)


def _log_not_found(error: NotFoundError, log_id: str, gateway_id: str) -> NotFoundError:
    """The typed error of a plain 404 on a log: names the log and the gateway. A more precise
    404 (no such gateway, wrong account id) is kept as it is."""
    if type(error) is not NotFoundError:
        return error
    return GatewayLogNotFoundError(
        f"AI Gateway log {log_id!r} not found in gateway {gateway_id!r} ({error.message})",
        status_code=error.status_code,
        code=error.code,
        codes=error.codes,
        errors=error.errors,
        request_id=error.request_id,
        hint=(
            "Use the gateway_log_id of an answer that went through this gateway; pass "
            "gateway=... if it went through another one."
        ),
        headers=error.headers,
        body=error.body,
    )


# -- sync and async: send and await only --------------------------------------------------------
def send_feedback(
    client: WorkersAIClient,
    log_id: str,
    *,
    gateway: str | None = None,
    feedback: int | bool | None = None,
    score: float | None = None,
    metadata: Mapping[str, str | int | float | bool] | None = None,
) -> None:
    """Attach feedback, a score and/or metadata to the AI Gateway log ``log_id``.

    Args:
        client: The client whose account and token to use.
        log_id: The answer's ``gateway_log_id`` (``cf-aig-log-id``).
        gateway: The gateway the answer went through (default: the client's, else ``default``).
        feedback: ``1``/``True`` thumbs up, ``-1``/``False`` thumbs down, ``0`` not evaluated.
        score: A number from 0 to 100.
        metadata: String, number or boolean values to attach (e.g. ``{"user": "123"}``).

    Raises:
        InvalidRequestError: a bad argument, before any request.
        GatewayLogNotFoundError: the gateway has no such log.
        APIStatusError: any other refusal (e.g. ``AuthenticationError`` for a token without
            *AI Gateway - Edit*).
    """
    call, checked_log, gateway_id = _patch_call(
        client, log_id, gateway, {"feedback": feedback, "score": score, "metadata": metadata}
    )
    try:
        client._send(call)
    except NotFoundError as error:
        typed = _log_not_found(error, checked_log, gateway_id)
        if typed is error:
            raise
        raise typed from error


async def asend_feedback(
    client: AsyncWorkersAIClient,
    log_id: str,
    *,
    gateway: str | None = None,
    feedback: int | bool | None = None,
    score: float | None = None,
    metadata: Mapping[str, str | int | float | bool] | None = None,
) -> None:
    """Async :func:`send_feedback`."""
    call, checked_log, gateway_id = _patch_call(
        client, log_id, gateway, {"feedback": feedback, "score": score, "metadata": metadata}
    )
    try:
        await client._send(call)
    except NotFoundError as error:
        typed = _log_not_found(error, checked_log, gateway_id)
        if typed is error:
            raise
        raise typed from error


def list_logs(
    client: WorkersAIClient,
    *,
    gateway: str | None = None,
    page: int = 1,
    per_page: int = 20,
    **filters: str | int | float | bool,
) -> list[dict[str, Any]]:
    """``GET .../ai-gateway/gateways/{gateway}/logs``: one page of logs, newest first.

    ``filters`` go to the query string as given (booleans as ``true``/``false``); which ones
    the gateway honours is its business. Each log is a dict as the API returns it (``id``,
    ``model``, ``provider``, ``feedback``, ``score``, ``metadata``...).
    """
    return _as_logs(client._send(_list_call(client, gateway, page, per_page, filters)).data)


async def alist_logs(
    client: AsyncWorkersAIClient,
    *,
    gateway: str | None = None,
    page: int = 1,
    per_page: int = 20,
    **filters: str | int | float | bool,
) -> list[dict[str, Any]]:
    """Async :func:`list_logs`."""
    response = await client._send(_list_call(client, gateway, page, per_page, filters))
    return _as_logs(response.data)


def _as_logs(data: Any) -> list[dict[str, Any]]:
    return [dict(item) for item in data if isinstance(item, dict)] if isinstance(data, list) else []
