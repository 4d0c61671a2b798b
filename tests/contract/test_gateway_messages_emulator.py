"""The emulator's Anthropic Messages and OpenAI Responses routes against the spec
(``../shared/cloudflare-ai-platform-api.md`` §1.1-1.5, §1.10).

Raw HTTP (plain ``httpx``, so the wire format itself is under test): ``POST /ai/v1/messages``
and the gateway's ``{gateway}/anthropic/v1/messages`` answer Anthropic's ``message`` and event
stream; ``POST /ai/v1/responses`` and ``{gateway}/openai/responses`` the OpenAI ``response``
and its ``response.*`` events. The answers are deterministic stand-ins; what is checked is the
shape, the stand-in rules (tool use, thinking, prompt caching) and that the gateway's own
behaviour (billing, faults, cache, logs) is the same as on chat completions. The emulator is
the chat-completions suite's (an authenticated gateway, stored ``openai`` and ``anthropic``
keys).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.contract import test_gateway_emulator as chat_suite
from tests.contract.test_gateway_emulator import SECURE, UUID7, assert_gateway_error
from workers_ai.emulator import EmulatorServer

CLAUDE = "anthropic/claude-sonnet-4-5"
#: spec §1.4, the verbatim body of the /ai/v1/messages example.
MESSAGES_EXAMPLE: dict[str, Any] = {
    "model": CLAUDE,
    "max_tokens": 512,
    "messages": [{"role": "user", "content": "What is Cloudflare?"}],
}
#: spec §1.4, the /ai/v1/responses body.
RESPONSES_EXAMPLE: dict[str, Any] = {"model": "openai/gpt-4.1", "input": "What is Cloudflare?"}
WEATHER = "What is the weather in Paris?"
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city"}},
    "required": ["city"],
}
ANTHROPIC_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "input_schema": WEATHER_SCHEMA,
}
RESPONSES_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": WEATHER_SCHEMA,
}
THINKING = {"type": "enabled", "budget_tokens": 1024}
PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


#: The chat-completions suite's emulator and client (fixtures).
server, emu, http = chat_suite.server, chat_suite.emu, chat_suite.http


# -- helpers --------------------------------------------------------------------------------------


def rest_url(emu: EmulatorServer, api: str = "messages") -> str:
    return f"{emu.base_url}/accounts/{emu.account_id}/ai/v1/{api}"


def native_url(emu: EmulatorServer, path: str = "anthropic/v1/messages", gw: str = "my-gw") -> str:
    return f"{emu.gateway_base_url}/{emu.account_id}/{gw}/{path}"


ANTHROPIC_VERSION = "2023-06-01"


def cf_auth(emu: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_token}"}


#: (url, headers, model) of each surface, for the tests every route must pass.
def surfaces(emu: EmulatorServer, api: str) -> dict[str, tuple[str, dict[str, str], str]]:
    if api == "messages":
        key = {"x-api-key": "sk-ant-provider", "anthropic-version": ANTHROPIC_VERSION}
        native = (native_url(emu), key, "claude-sonnet-4-5")
        return {"rest": (rest_url(emu), cf_auth(emu), CLAUDE), "native": native}
    native = (native_url(emu, "openai/responses"), {"Authorization": "Bearer sk-o"}, "gpt-4.1")
    return {"rest": (rest_url(emu, "responses"), cf_auth(emu), "openai/gpt-4.1"), "native": native}


def named_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, data)`` of a stream whose frames are ``event: <type>\\ndata: <json>``;
    the name is the data's ``type`` and no ``[DONE]`` ends it (§1.5)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "[DONE]" not in response.text
    events = []
    for frame in response.text.strip().split("\n\n"):
        head, _, data = frame.partition("\n")
        assert head.startswith("event: ") and data.startswith("data: "), frame
        payload = json.loads(data.removeprefix("data: "))
        assert head.removeprefix("event: ") == payload["type"]
        events.append((payload["type"], payload))
    return events


def assert_anthropic_error(response: httpx.Response, status: int, kind: str) -> str:
    """Anthropic's error body: ``{"type": "error", "error": {"type", "message"}}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and set(body) == {"type", "error"}
    assert body["error"]["type"] == kind
    return str(body["error"]["message"])


def assert_openai_error(response: httpx.Response, status: int, param: str | None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    return str(error["message"])


def weather_turns(first_answer: dict[str, Any], result: str) -> list[dict[str, Any]]:
    """The conversation after a ``tool_use`` answer: the question, the answer as received and
    the ``tool_result`` of each of its ``tool_use`` blocks."""
    results = [
        {"type": "tool_result", "tool_use_id": block["id"], "content": result}
        for block in first_answer["content"]
        if block["type"] == "tool_use"
    ]
    return [
        {"role": "user", "content": WEATHER},
        {"role": "assistant", "content": first_answer["content"]},
        {"role": "user", "content": results},
    ]


def message_from_stream(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rebuild the content blocks of a Messages stream from its block events."""
    blocks: list[dict[str, Any]] = []
    partial: dict[int, str] = {}
    for name, data in events:
        if name == "content_block_start":
            assert data["index"] == len(blocks)
            blocks.append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            else:
                assert delta["type"] == "input_json_delta"
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial:
            blocks[data["index"]]["input"] = json.loads(partial[data["index"]])
    return blocks


# -- §1.4 /ai/v1/messages -------------------------------------------------------------------------


def test_spec_messages_example_answers_a_message(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.post(rest_url(emu), headers=cf_auth(emu), json=MESSAGES_EXAMPLE)

    assert response.status_code == 200, response.text
    message = response.json()
    assert list(message) == [
        "id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage",
    ]  # fmt: skip
    assert message["id"].startswith("msg_") and message["type"] == "message"
    assert (message["role"], message["model"]) == ("assistant", CLAUDE)
    [block] = message["content"]
    assert block["type"] == "text" and "Cloudflare" in block["text"]
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    usage = message["usage"]
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert UUID7.match(response.headers["cf-aig-log-id"])
    assert response.headers["cf-aig-cache-status"] == "MISS"
    assert response.headers["x-emulator-billing"] == "byok:default"  # a stored anthropic key
    [log] = emu.gateway_logs("default")
    assert (log["path"], log["model"], log["provider"]) == (
        "POST /ai/v1/messages",
        CLAUDE,
        "anthropic",
    )
    assert (log["tokens_in"], log["tokens_out"]) == (usage["input_tokens"], usage["output_tokens"])


@pytest.mark.parametrize(
    "model", ["openai/gpt-4.1", "google/gemini-3-flash", "anthropic/claude-haiku-4.5"]
)
def test_messages_serves_any_chat_model(
    emu: EmulatorServer, http: httpx.Client, model: str
) -> None:
    body = {**MESSAGES_EXAMPLE, "model": model}
    message = http.post(rest_url(emu), headers=cf_auth(emu), json=body).json()
    assert message["type"] == "message" and message["model"] == model


@pytest.mark.parametrize("surface", ["rest", "native"])
def test_missing_max_tokens_is_400_naming_it(
    emu: EmulatorServer, http: httpx.Client, surface: str
) -> None:
    url, headers, model = surfaces(emu, "messages")[surface]
    body = {"model": model, "messages": MESSAGES_EXAMPLE["messages"]}
    message = assert_anthropic_error(
        http.post(url, headers=headers, json=body), 400, "invalid_request_error"
    )
    expected = (
        "Required value missing: max_tokens" if surface == "rest" else "max_tokens: Field required"
    )
    assert message == expected


def test_system_must_be_a_string_on_rest_but_not_native(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    system = [{"type": "text", "text": "You are terse."}]
    rest = http.post(
        rest_url(emu), headers=cf_auth(emu), json={**MESSAGES_EXAMPLE, "system": system}
    )
    url, headers, model = surfaces(emu, "messages")["native"]
    native = http.post(
        url, headers=headers, json={**MESSAGES_EXAMPLE, "model": model, "system": system}
    )
    as_string = http.post(
        rest_url(emu), headers=cf_auth(emu), json={**MESSAGES_EXAMPLE, "system": "You are terse."}
    )

    assert assert_anthropic_error(rest, 400, "invalid_request_error").startswith(
        "system: must be a string"
    )
    assert native.status_code == 200 and as_string.status_code == 200


TOOL_USE_TURN = {
    "role": "assistant",
    "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ],
}
BMP = {"type": "base64", "media_type": "image/bmp", "data": "x"}
BAD_IMAGE = [{"type": "text", "text": "What is this?"}, {"type": "image", "source": BMP}]
STRAY_RESULT = [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "18C"}]
ASK_WEATHER = {"role": "user", "content": WEATHER}
BAD_MESSAGES_BODIES = [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "system", "content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": ""}]}, "messages.0"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"temperature": 1.5}, "temperature"),
    ({"stop_sequences": ["  "]}, "stop_sequences"),
    ({"metadata": {"team": "x"}}, "metadata.team"),
    ({"tools": [{"name": "bad name", "input_schema": WEATHER_SCHEMA}]}, "tools.0.name"),
    ({"tools": [{"name": "t", "input_schema": {"type": "array"}}]}, "tools.0.input_schema.type"),
    (
        {"tools": [ANTHROPIC_TOOL], "tool_choice": {"type": "tool", "name": "no"}},
        "tool_choice.name",
    ),
    ({"tool_choice": {"type": "any"}}, "tool_choice"),
    ({"thinking": {"type": "enabled", "budget_tokens": 512}}, "thinking.enabled.budget_tokens"),
    ({"thinking": THINKING}, "max_tokens"),
    ({"max_tokens": 2048, "thinking": THINKING, "temperature": 0.5}, "temperature"),
    ({"model": "openai/gpt-4.1", "max_tokens": 2048, "thinking": THINKING}, "thinking"),
    (
        {"messages": [{"role": "user", "content": BAD_IMAGE}]},
        "messages.0.content.1.source.media_type",
    ),
    (
        {
            "messages": [
                ASK_WEATHER,
                {"role": "assistant", "content": "Let me check."},
                {"role": "user", "content": STRAY_RESULT},
            ]
        },
        "messages.2.content",
    ),
    (
        {"messages": [ASK_WEATHER, TOOL_USE_TURN, {"role": "user", "content": "Never mind."}]},
        "messages.2",
    ),
]


@pytest.mark.parametrize(("change", "field"), BAD_MESSAGES_BODIES)
def test_bad_messages_bodies_are_400_naming_the_field(
    emu: EmulatorServer, http: httpx.Client, change: dict[str, Any], field: str
) -> None:
    body = {**MESSAGES_EXAMPLE, **change}
    response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
    assert assert_anthropic_error(response, 400, "invalid_request_error").startswith(f"{field}: ")


def test_images_are_accepted_as_base64_and_url_sources(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "text", "text": "Describe these images"},
    ]
    body = {**MESSAGES_EXAMPLE, "messages": [{"role": "user", "content": content}]}
    response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"]


# -- tools, thinking, stop sequences ------------------------------------------------------------


def test_tool_use_round_trip(emu: EmulatorServer, http: httpx.Client) -> None:
    ask = {
        **MESSAGES_EXAMPLE,
        "tools": [ANTHROPIC_TOOL],
        "messages": [{"role": "user", "content": WEATHER}],
    }
    first = http.post(rest_url(emu), headers=cf_auth(emu), json=ask).json()

    assert first["stop_reason"] == "tool_use"
    [call] = first["content"]
    assert call["type"] == "tool_use" and call["id"].startswith("toolu_")
    assert (call["name"], call["input"]) == ("get_weather", {"city": "Paris"})

    reply = {**ask, "messages": weather_turns(first, "18°C and sunny")}
    second = http.post(rest_url(emu), headers=cf_auth(emu), json=reply).json()

    assert second["stop_reason"] == "end_turn"
    [text] = second["content"]
    assert text["type"] == "text" and "18°C and sunny" in text["text"]


@pytest.mark.parametrize(
    ("question", "choice", "expected"),
    [
        ("Tell me a joke", {"type": "any"}, "tool_use"),
        ("Tell me a joke", {"type": "tool", "name": "get_weather"}, "tool_use"),
        (WEATHER, {"type": "none"}, "end_turn"),
        (WEATHER, {"type": "auto"}, "tool_use"),
        ("Tell me a joke", {"type": "auto"}, "end_turn"),
    ],
)
def test_tool_choice(
    emu: EmulatorServer, http: httpx.Client, question: str, choice: dict[str, Any], expected: str
) -> None:
    body = {
        **MESSAGES_EXAMPLE,
        "tools": [ANTHROPIC_TOOL],
        "tool_choice": choice,
        "messages": [{"role": "user", "content": question}],
    }
    assert (
        http.post(rest_url(emu), headers=cf_auth(emu), json=body).json()["stop_reason"] == expected
    )


def test_thinking_blocks_come_first_and_must_be_sent_back(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    body = {**MESSAGES_EXAMPLE, "max_tokens": 2048, "thinking": THINKING}
    plain = http.post(rest_url(emu), headers=cf_auth(emu), json=body).json()

    thinking, text = plain["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] and thinking["signature"]
    assert text["type"] == "text" and text["text"]

    ask = {**body, "tools": [ANTHROPIC_TOOL], "messages": [{"role": "user", "content": WEATHER}]}
    first = http.post(rest_url(emu), headers=cf_auth(emu), json=ask).json()
    assert [b["type"] for b in first["content"]] == ["thinking", "tool_use"]
    turns = weather_turns(first, "18°C")
    answered = http.post(rest_url(emu), headers=cf_auth(emu), json={**ask, "messages": turns})
    turns[1] = {"role": "assistant", "content": first["content"][1:]}  # thinking dropped
    refused = http.post(rest_url(emu), headers=cf_auth(emu), json={**ask, "messages": turns})

    assert answered.status_code == 200 and answered.json()["stop_reason"] == "end_turn"
    message = assert_anthropic_error(refused, 400, "invalid_request_error")
    assert message.startswith("messages.1.content.0.type: Expected `thinking`")


def test_stop_sequences_and_max_tokens(emu: EmulatorServer, http: httpx.Client) -> None:
    full = http.post(rest_url(emu), headers=cf_auth(emu), json=MESSAGES_EXAMPLE).json()
    text = full["content"][0]["text"]
    stop = text.split()[3]
    cut = http.post(
        rest_url(emu), headers=cf_auth(emu), json={**MESSAGES_EXAMPLE, "stop_sequences": [stop]}
    ).json()
    short = http.post(
        rest_url(emu), headers=cf_auth(emu), json={**MESSAGES_EXAMPLE, "max_tokens": 3}
    ).json()

    assert (cut["stop_reason"], cut["stop_sequence"]) == ("stop_sequence", stop)
    assert cut["content"][0]["text"] == text[: text.index(stop)]
    assert cut["usage"]["output_tokens"] < full["usage"]["output_tokens"]
    assert short["stop_reason"] == "max_tokens" and short["usage"]["output_tokens"] == 3


# -- prompt caching -------------------------------------------------------------------------------


def test_cache_control_writes_then_reads_the_prefix(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    document = "Cloudflare runs a global network. " * 40

    def ask(question: str, *, cached: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": "text", "text": document}
        if cached:
            doc["cache_control"] = {"type": "ephemeral"}
        content = [doc, {"type": "text", "text": question}]
        body = {**MESSAGES_EXAMPLE, "messages": [{"role": "user", "content": content}]}
        return dict(http.post(rest_url(emu), headers=cf_auth(emu), json=body).json()["usage"])

    written = ask("What does Cloudflare run?")
    read = ask("Where is the network?")  # same prefix, another question
    uncached = ask("What does Cloudflare run?", cached=False)
    emu.reset()
    after_reset = ask("What does Cloudflare run?")

    prefix = written["cache_creation_input_tokens"]
    assert prefix > 100 and written["cache_read_input_tokens"] == 0
    assert (read["cache_read_input_tokens"], read["cache_creation_input_tokens"]) == (prefix, 0)
    assert uncached["input_tokens"] == written["input_tokens"] + prefix  # input excludes the cache
    assert uncached["cache_creation_input_tokens"] == uncached["cache_read_input_tokens"] == 0
    assert after_reset == written
    [log] = emu.gateway_logs("default")
    assert log["tokens_in"] == written["input_tokens"] + prefix  # logs count every prompt token


def test_cache_control_on_native_system_blocks(emu: EmulatorServer, http: httpx.Client) -> None:
    url, headers, model = surfaces(emu, "messages")["native"]
    system = [
        {
            "type": "text",
            "text": "You answer about networks. " * 30,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    body = {**MESSAGES_EXAMPLE, "model": model, "system": system}
    first, second = (http.post(url, headers=headers, json=body).json()["usage"] for _ in range(2))
    assert first["cache_creation_input_tokens"] == second["cache_read_input_tokens"] > 0


# -- §1.5 the Messages stream ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "tool_use", "thinking"])
def test_messages_stream_event_sequence(emu: EmulatorServer, http: httpx.Client, kind: str) -> None:
    body: dict[str, Any] = dict(MESSAGES_EXAMPLE)
    if kind == "tool_use":
        body.update(tools=[ANTHROPIC_TOOL], messages=[{"role": "user", "content": WEATHER}])
    if kind == "thinking":
        body.update(max_tokens=2048, thinking=THINKING)
    plain = http.post(rest_url(emu), headers=cf_auth(emu), json=body).json()
    events = named_events(
        http.post(rest_url(emu), headers=cf_auth(emu), json={**body, "stream": True})
    )
    names = [name for name, _ in events]

    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("ping") == 1 and names.index("ping") <= 2
    assert message_from_stream(events) == plain["content"]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert {k: v for k, v in start.items() if k not in ("content", "stop_reason", "usage")} == {
        k: v for k, v in plain.items() if k not in ("content", "stop_reason", "usage")
    }
    assert start["usage"] == {**plain["usage"], "output_tokens": 1}
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": plain["stop_reason"], "stop_sequence": None}
    assert delta["usage"] == {"output_tokens": plain["usage"]["output_tokens"]}
    assert [n for n, d in events if "usage" in d or "usage" in d.get("message", {})] == [
        "message_start", "message_delta",
    ]  # fmt: skip
    if kind == "tool_use":
        fragments = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
        assert len(fragments) > 2 and json.loads("".join(fragments)) == {"city": "Paris"}
    logs = emu.gateway_logs("default")
    assert logs[0]["tokens_out"] == logs[1]["tokens_out"] == plain["usage"]["output_tokens"]


# -- §1.4 /ai/v1/responses ------------------------------------------------------------------------


def test_spec_responses_example(emu: EmulatorServer, http: httpx.Client) -> None:
    response = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=RESPONSES_EXAMPLE)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("resp_") and body["object"] == "response"
    assert (body["status"], body["model"], body["error"]) == ("completed", "openai/gpt-4.1", None)
    [item] = body["output"]
    assert (
        item["type"] == "message" and item["role"] == "assistant" and item["status"] == "completed"
    )
    [part] = item["content"]
    assert (
        part["type"] == "output_text" and "Cloudflare" in part["text"] and part["annotations"] == []
    )
    usage = body["usage"]
    assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"] > 0
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    [log] = emu.gateway_logs("default")
    assert (log["tokens_in"], log["tokens_out"]) == (usage["input_tokens"], usage["output_tokens"])


def test_responses_reasoning_summary_and_tools(emu: EmulatorServer, http: httpx.Client) -> None:
    body = {
        "model": "openai/gpt-5-mini",
        "input": WEATHER,
        "tools": [RESPONSES_TOOL],
        "reasoning": {"effort": "low", "summary": "auto"},
    }
    answer = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=body).json()
    quiet = http.post(
        rest_url(emu, "responses"),
        headers=cf_auth(emu),
        json={**body, "reasoning": {"effort": "low"}},
    ).json()

    reasoning, call = answer["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"][0]["type"] == "summary_text" and reasoning["summary"][0]["text"]
    assert quiet["output"][0]["summary"] == []  # no summary unless asked
    assert call["type"] == "function_call" and call["call_id"].startswith("call_")
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris"})
    assert answer["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


def test_responses_input_items_round_trip(emu: EmulatorServer, http: httpx.Client) -> None:
    image = {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_1PX}"}
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather"}
    body = {
        "model": "openai/gpt-4.1",
        "instructions": "Answer briefly.",
        "tools": [RESPONSES_TOOL],
        "input": [
            {"role": "developer", "content": "Use Celsius."},
            {"role": "user", "content": [{"type": "input_text", "text": WEATHER}, image]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {**call, "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "18°C and sunny"},
        ],
    }
    answer = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=body).json()
    [item] = answer["output"]
    assert "18°C and sunny" in item["content"][0]["text"]
    assert answer["instructions"] == "Answer briefly."


def test_responses_json_schema_format(emu: EmulatorServer, http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["name", "population"],
    }
    text = {"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}}
    body = {**RESPONSES_EXAMPLE, "text": text}
    answer = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=body).json()
    parsed = json.loads(answer["output"][0]["content"][0]["text"])
    assert isinstance(parsed["name"], str) and isinstance(parsed["population"], int)


UNKNOWN_OUTPUT = {"type": "function_call_output", "call_id": "call_9", "output": "x"}
BAD_RESPONSES_BODIES = [
    ({"input": None}, "input"),
    ({"reasoning": {"effort": "high"}}, "reasoning.effort"),
    ({"model": "openai/gpt-5-mini", "reasoning": {"effort": "huge"}}, "reasoning.effort"),
    ({"input": [{"role": "robot", "content": "hi"}]}, "input[0].role"),
    ({"input": [UNKNOWN_OUTPUT]}, "input"),
    ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
    ({"tools": [RESPONSES_TOOL], "tool_choice": {"type": "function", "name": "no"}}, "tool_choice"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"max_output_tokens": 5}, "max_output_tokens"),
    ({"temperature": 3}, "temperature"),
]


@pytest.mark.parametrize(("change", "param"), BAD_RESPONSES_BODIES)
def test_bad_responses_bodies_are_openai_errors(
    emu: EmulatorServer, http: httpx.Client, change: dict[str, Any], param: str
) -> None:
    body = {k: v for k, v in {**RESPONSES_EXAMPLE, **change}.items() if v is not None}
    response = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=body)
    assert assert_openai_error(response, 400, param)


@pytest.mark.parametrize("kind", ["text", "tools"])
def test_responses_stream_event_sequence(
    emu: EmulatorServer, http: httpx.Client, kind: str
) -> None:
    body: dict[str, Any] = dict(RESPONSES_EXAMPLE)
    if kind == "tools":
        body = {
            "model": "openai/gpt-5-mini",
            "input": WEATHER,
            "tools": [RESPONSES_TOOL],
            "reasoning": {"summary": "auto"},
        }
    plain = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=body).json()
    events = named_events(
        http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json={**body, "stream": True})
    )
    names = [name for name, _ in events]

    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] == "response.completed" and events[-1][1]["response"] == plain
    created = events[0][1]["response"]
    assert (created["id"], created["status"], created["output"], created["usage"]) == (
        plain["id"], "in_progress", [], None,
    )  # fmt: skip
    added = [d["item"]["type"] for n, d in events if n == "response.output_item.added"]
    assert added == [item["type"] for item in plain["output"]]
    done = [d["item"] for n, d in events if n == "response.output_item.done"]
    assert done == plain["output"]

    def joined(name: str) -> str:
        return "".join(d["delta"] for n, d in events if n == name)

    for item in plain["output"]:
        if item["type"] == "message":
            assert names.index("response.content_part.added") < names.index(
                "response.output_text.delta"
            )
            assert joined("response.output_text.delta") == item["content"][0]["text"]
            assert "response.output_text.done" in names and "response.content_part.done" in names
        elif item["type"] == "function_call":
            assert len([n for n in names if n == "response.function_call_arguments.delta"]) > 1
            assert joined("response.function_call_arguments.delta") == item["arguments"]
            [args_done] = [d for n, d in events if n == "response.function_call_arguments.done"]
            assert (
                args_done["arguments"] == item["arguments"] and args_done["item_id"] == item["id"]
            )
        else:
            assert joined("response.reasoning_summary_text.delta") == item["summary"][0]["text"]
    assert events[-1][1]["response"]["usage"]["total_tokens"] > 0


# -- provider-native paths (§1.4) -----------------------------------------------------------------


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_provider_native_paths_take_the_provider_names(
    emu: EmulatorServer, http: httpx.Client, api: str
) -> None:
    url, headers, model = surfaces(emu, api)["native"]
    example = MESSAGES_EXAMPLE if api == "messages" else RESPONSES_EXAMPLE
    with_key = http.post(url, headers=headers, json={**example, "model": model})
    stored = http.post(url, json={**example, "model": model})
    streamed = named_events(
        http.post(url, headers=headers, json={**example, "model": model, "stream": True})
    )

    assert with_key.status_code == 200, with_key.text
    assert with_key.json()["model"] == model
    assert with_key.headers["x-emulator-billing"] == "provider_key"
    assert stored.headers["x-emulator-billing"] == "byok:default"
    assert UUID7.match(with_key.headers["cf-aig-log-id"])
    assert streamed[-1][0] in ("message_stop", "response.completed")
    path = (
        "POST gateway /anthropic/v1/messages"
        if api == "messages"
        else "POST gateway /openai/responses"
    )
    assert {log["path"] for log in emu.gateway_logs("my-gw")} == {path}


def test_openai_native_chat_and_embeddings_paths(emu: EmulatorServer, http: httpx.Client) -> None:
    key = {"Authorization": "Bearer sk-o"}
    chat_body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": WEATHER}]}
    chat = http.post(native_url(emu, "openai/chat/completions"), headers=key, json=chat_body)
    embed_body = {"model": "text-embedding-3-small", "input": "Cloudflare"}
    embedded = http.post(native_url(emu, "openai/embeddings"), headers=key, json=embed_body)

    assert chat.status_code == 200 and chat.json()["model"] == "gpt-4.1"
    assert chat.json()["object"] == "chat.completion"
    assert embedded.status_code == 200 and len(embedded.json()["data"][0]["embedding"]) == 1536


def test_auto_router_serves_responses_but_not_messages(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    auto = {**RESPONSES_EXAMPLE, "model": "cloudflare/auto"}
    routed = http.post(rest_url(emu, "responses"), headers=cf_auth(emu), json=auto)
    refused = http.post(
        rest_url(emu), headers=cf_auth(emu), json={**MESSAGES_EXAMPLE, "model": "cloudflare/auto"}
    )

    assert routed.status_code == 200, routed.text
    assert routed.json()["model"] == routed.headers["cf-aig-routed-model"]
    assert routed.json()["object"] == "response"
    assert "chat/completions and responses" in assert_gateway_error(refused, 400, 7000)


def test_provider_native_unknown_model(emu: EmulatorServer, http: httpx.Client) -> None:
    url, headers, _ = surfaces(emu, "messages")["native"]
    anthropic = http.post(url, headers=headers, json={**MESSAGES_EXAMPLE, "model": "claude-nope"})
    url, headers, _ = surfaces(emu, "responses")["native"]
    openai = http.post(url, headers=headers, json={**RESPONSES_EXAMPLE, "model": "gpt-nope"})

    assert "claude-nope" in assert_anthropic_error(anthropic, 404, "not_found_error")
    assert openai.status_code == 404 and openai.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_authenticated_gateway_on_native_paths(
    emu: EmulatorServer, http: httpx.Client, api: str
) -> None:
    _, headers, model = surfaces(emu, api)["native"]
    path = "anthropic/v1/messages" if api == "messages" else "openai/responses"
    url = native_url(emu, path, SECURE)
    body = {**(MESSAGES_EXAMPLE if api == "messages" else RESPONSES_EXAMPLE), "model": model}
    missing = http.post(url, headers=headers, json=body)
    right = http.post(
        url, headers={**headers, "cf-aig-authorization": f"Bearer {emu.api_token}"}, json=body
    )
    assert assert_gateway_error(missing, 401, 2009) == "Unauthorized"
    assert right.status_code == 200


def test_rest_messages_model_errors(emu: EmulatorServer, http: httpx.Client) -> None:
    unknown = http.post(
        rest_url(emu),
        headers=cf_auth(emu),
        json={**MESSAGES_EXAMPLE, "model": "anthropic/claude-9"},
    )
    llama = {**MESSAGES_EXAMPLE, "model": "@cf/meta/llama-3.1-8b-instruct"}
    workers_ai = http.post(rest_url(emu), headers=cf_auth(emu), json=llama)
    embeddings = {**MESSAGES_EXAMPLE, "model": "openai/text-embedding-3-small"}
    no_model = {k: v for k, v in MESSAGES_EXAMPLE.items() if k != "model"}

    assert assert_gateway_error(unknown, 404, 7003) == "Model not found: anthropic/claude-9"
    assert "/ai/v1/chat/completions" in assert_anthropic_error(
        workers_ai, 400, "invalid_request_error"
    )
    for body, field in ((embeddings, "model"), (no_model, "model")):
        response = http.post(rest_url(emu), headers=cf_auth(emu), json=body)
        assert assert_anthropic_error(response, 400, "invalid_request_error").startswith(
            f"{field}: "
        )


# -- §1.10 gateway errors and faults on the new routes ------------------------------------------

ROUTES = [
    ("messages", "rest"),
    ("messages", "native"),
    ("responses", "rest"),
    ("responses", "native"),
]


def route_call(
    emu: EmulatorServer, api: str, surface: str, **body: Any
) -> tuple[str, dict[str, str], dict[str, Any]]:
    url, headers, model = surfaces(emu, api)[surface]
    example = MESSAGES_EXAMPLE if api == "messages" else RESPONSES_EXAMPLE
    return url, headers, {**example, "model": model, **body}


@pytest.mark.parametrize(("api", "surface"), ROUTES)
@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("gateway_spend_limit", 429, 2041), ("gateway_insufficient_balance", 402, 2021)],
)
def test_gateway_faults_answer_the_gateway_body(
    emu: EmulatorServer,
    http: httpx.Client,
    api: str,
    surface: str,
    kind: str,
    status: int,
    code: int,
) -> None:
    url, headers, body = route_call(emu, api, surface)
    response = http.post(url, headers={**headers, "x-emulator-fault": kind}, json=body)
    assert_gateway_error(response, status, code)
    assert emu.stats()["by_fault"] == {kind: 1}
    [log] = emu.gateway_logs("default" if surface == "rest" else "my-gw")
    assert log["status_code"] == status


@pytest.mark.parametrize(("api", "surface"), ROUTES)
def test_server_wide_fault_filtered_by_model(
    emu: EmulatorServer, http: httpx.Client, api: str, surface: str
) -> None:
    url, headers, body = route_call(emu, api, surface)
    emu.configure(faults=[{"kind": "gateway_spend_limit", "model": body["model"], "count": 1}])
    failed = http.post(url, headers=headers, json=body)
    recovered = http.post(url, headers=headers, json=body)
    assert "Spend limit exceeded" in assert_gateway_error(failed, 429, 2041)
    assert recovered.status_code == 200


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_real_gateway_errors_on_the_new_routes(
    emu: EmulatorServer, http: httpx.Client, api: str
) -> None:
    url, headers, body = route_call(emu, api, "rest")
    alias = http.post(url, headers={**headers, "cf-aig-byok-alias": "nope"}, json=body)
    url, headers, body = route_call(emu, api, "native")
    long_gateway = url.replace("/my-gw/", "/" + "g" * 65 + "/")
    too_long = http.post(long_gateway, headers=headers, json=body)

    assert "no BYOK credential named 'nope'" in assert_gateway_error(alias, 400, 2040)
    assert_gateway_error(too_long, 400, 2001)


def test_provider_error_fault_in_the_provider_format(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    fault = {"x-emulator-fault": "provider_error"}
    url, headers, body = route_call(emu, "messages", "rest")
    anthropic = http.post(url, headers={**headers, **fault}, json=body)
    url, headers, body = route_call(emu, "responses", "native")
    openai = http.post(url, headers={**headers, **fault}, json=body)

    assert "provider_error" in assert_anthropic_error(anthropic, 400, "invalid_request_error")
    assert "provider_error" in assert_openai_error(openai, 400, None)


@pytest.mark.parametrize(("api", "surface"), ROUTES)
def test_injected_stream_error_ends_with_the_api_error_event(
    emu: EmulatorServer, http: httpx.Client, api: str, surface: str
) -> None:
    url, headers, body = route_call(emu, api, surface, stream=True)
    fault = {"x-emulator-fault": "stream_error;after=3"}
    whole = named_events(http.post(url, headers=headers, json=body))
    events = named_events(http.post(url, headers={**headers, **fault}, json=body))

    assert events[:3] == whole[:3] and len(events) == 4
    name, error = events[-1]
    assert name == "error"
    if api == "messages":
        assert error["error"]["type"] == "overloaded_error" and error["error"]["message"]
    else:
        assert (error["code"], error["sequence_number"], error["param"]) == (
            "server_error",
            3,
            None,
        )
    assert emu.stats()["by_fault"] == {"stream_error": 1}


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_gateway_cache_on_the_new_routes(emu: EmulatorServer, http: httpx.Client, api: str) -> None:
    url, headers, body = route_call(emu, api, "rest")
    answers = [
        http.post(url, headers={**headers, "cf-aig-cache-ttl": "60"}, json=body) for _ in range(2)
    ]
    assert [a.headers["cf-aig-cache-status"] for a in answers] == ["MISS", "HIT"]
    assert answers[0].json() == answers[1].json()
    assert [log["cached"] for log in emu.gateway_logs()] == [False, True]


def test_anthropics_native_path_needs_its_version_header(
    emu: EmulatorServer, http: httpx.Client
) -> None:
    url, headers, model = surfaces(emu, "messages")["native"]
    body = {**MESSAGES_EXAMPLE, "model": model}
    without = {k: v for k, v in headers.items() if k != "anthropic-version"}
    missing = http.post(url, headers=without, json=body)
    assert "anthropic-version" in assert_anthropic_error(missing, 400, "invalid_request_error")
    assert http.post(url, headers=headers, json=body).status_code == 200
