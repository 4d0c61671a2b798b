"""ChatWorkersAI on outputs captured from the real Workers AI service (not the emulator).

Source of every fixture here: reference/real-responses/dropin-captures.json (at
/work/shared/reference/real-responses/), which records where each body was found. The
service is replaced by an ``httpx.MockTransport`` that answers with the captured ``result`` in
Cloudflare's v4 envelope, and records the request bodies it saw.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from langchain_workers_ai import ChatWorkersAI
from tests.real_captures import (
    GEMMA4_EXPECTED_PARSE,
    GEMMA4_RESULT,
    LLAMA33_ARGUMENTS,
)

GEMMA4 = "@cf/google/gemma-4-26b-a4b-it"
LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
BASE_URL = "https://api.cloudflare.com/client/v4"


class Facts(BaseModel):
    """Facts the user stated about themselves."""

    facts: list[str] = Field(description="One short sentence per fact")


class score_job_fit(BaseModel):
    """Score how well a candidate fits a job (the capture's schema_types)."""

    company: str
    domainFit: int
    experienceFit: int
    gaps: list[str]
    jobDescription: str
    jobTitle: str
    reasoning: str
    skillsFit: int
    strengths: list[str]
    trajectoryFit: int


class Recorder:
    """A MockTransport handler: answers ``result`` in the v4 envelope, keeps request bodies."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        envelope = {"result": self.result, "success": True, "errors": [], "messages": []}
        return httpx.Response(
            200, content=json.dumps(envelope), headers={"content-type": "application/json"}
        )

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def chat_model(model: str, recorder: Recorder, kind: str) -> ChatWorkersAI:
    transport = httpx.MockTransport(recorder)
    clients: dict[str, Any] = (
        {"http_client": httpx.Client(transport=transport)}
        if kind == "sync"
        else {"http_async_client": httpx.AsyncClient(transport=transport)}
    )
    return ChatWorkersAI(
        model=model,
        account_id="0123456789abcdef0123456789abcdef",
        api_key="test-token",
        base_url=BASE_URL,
        max_retries=0,
        **clients,
    )


def invoke(runnable: Any, kind: str, value: Any) -> Any:
    if kind == "sync":
        return runnable.invoke(value)
    return asyncio.run(runnable.ainvoke(value))


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_gemma4_json_schema_structured_output(kind: str) -> None:
    """gemma-4 (json_mode unknown in the catalog) gets response_format and its answer parses.

    Source: reference/real-responses/dropin-captures.json "gemma4_json_schema".
    """
    recorder = Recorder(GEMMA4_RESULT)
    structured = chat_model(GEMMA4, recorder, kind).with_structured_output(
        Facts, method="json_schema"
    )

    parsed = invoke(structured, kind, "My name is Ahmed and I like Wadi Shab.")

    assert isinstance(parsed, Facts)
    assert parsed.model_dump() == GEMMA4_EXPECTED_PARSE
    (body,) = recorder.bodies()
    assert recorder.requests[0].url.path.endswith(f"/ai/run/{GEMMA4}")
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["properties"]["facts"]["type"] == "array"
    assert "tools" not in body and "guided_json" not in body


@pytest.mark.parametrize("response", [None, ""], ids=["response_null", "response_empty"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_llama33_string_tool_arguments_become_ints_and_lists(kind: str, response: Any) -> None:
    """Integer strings and Python-literal list strings reach the user as ints and lists.

    Source: reference/real-responses/dropin-captures.json "llama33_tool_args_as_strings"
    (arguments verbatim, classic shape; the tool's schema has the capture's schema_types).
    """
    result = {
        "response": response,
        "tool_calls": [{"name": "score_job_fit", "arguments": LLAMA33_ARGUMENTS}],
    }
    recorder = Recorder(result)
    llm = chat_model(LLAMA33, recorder, kind).bind_tools([score_job_fit])

    message = invoke(llm, kind, "Score my fit for the Cloudflare Edge Platform role.")

    assert isinstance(message, AIMessage)
    assert not message.invalid_tool_calls
    (call,) = message.tool_calls
    assert call["name"] == "score_job_fit"
    assert call["args"] == {
        **LLAMA33_ARGUMENTS,
        "domainFit": 85,
        "experienceFit": 80,
        "gaps": ["Kubernetes", "Docker"],
        "skillsFit": 85,
        "strengths": ["TypeScript", "Cloudflare Workers"],
        "trajectoryFit": 80,
    }
    assert score_job_fit.model_validate(call["args"]).strengths == [
        "TypeScript",
        "Cloudflare Workers",
    ]
    (body,) = recorder.bodies()
    assert [t["name"] for t in body["tools"]] == ["score_job_fit"]
