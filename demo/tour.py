"""The main job: a short tour of the core client.

With ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` set it talks to real Workers AI.
Without them it runs offline: the HTTP layer is served by an in-process replay of the
responses documented in Cloudflare's docs (``../shared/workers-ai-api.md`` §2b, §3, §9), so
every byte goes through the real client code (envelope, SSE decoding, retries, typed errors).
The local emulator (a later issue) will replace this replay.
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

from workers_ai import (
    ModelNotFoundError,
    WorkersAIClient,
)

MODEL = "@cf/meta/llama-3.1-8b-instruct"
REASONING_MODEL = "@cf/qwen/qwen3-30b-a3b-fp8"


def _envelope(result: object) -> dict[str, object]:
    return {"result": result, "success": True, "errors": [], "messages": []}


def _replay(request: httpx.Request) -> httpx.Response:
    """Documented Workers AI responses (spec §2b, §3, §9), chosen by route and body."""
    body = json.loads(request.content or b"{}")
    if "no-such-model" in request.url.path:
        error = {"code": 5007, "message": "No such model @cf/no-such-model or task"}
        return httpx.Response(400, json={"result": None, "success": False, "errors": [error]})
    if body.get("stream"):
        events = [
            {"response": "Hello", "p": "abdefgh"},
            {"response": " there", "p": "abdefgh"},
            {"response": "", "usage": {"prompt_tokens": 10, "completion_tokens": 2}},
        ]
        text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
    if REASONING_MODEL in request.url.path:
        message = {
            "role": "assistant",
            "content": "A cow is a mammal.",
            "reasoning_content": "Okay.",
        }
        result = {
            "object": "chat.completion",
            "model": REASONING_MODEL,
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
        }
        return httpx.Response(200, json=_envelope(result))
    result = {
        "response": "Hello, World first appeared in 1974.",
        "tool_calls": [],
        "usage": {"prompt_tokens": 86, "completion_tokens": 9, "total_tokens": 95},
    }
    return httpx.Response(200, json=_envelope(result))


def _client() -> tuple[WorkersAIClient, str]:
    live = os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN")
    if live:
        return WorkersAIClient(), "real Workers AI"
    http = httpx.Client(transport=httpx.MockTransport(_replay))
    client = WorkersAIClient(
        account_id="demo-account",
        api_token="demo-token",  # noqa: S106 - a placeholder; the replay checks nothing
        http_client=http,
    )
    return client, "OFFLINE: in-process replay of Cloudflare's documented responses (no real model)"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def main() -> int:
    started = time.perf_counter()
    client, mode = _client()
    print(f"workers-ai-python tour -- {mode}")
    with client:
        section("run(): one JSON round trip")
        answer = client.chat(MODEL, {"messages": [{"role": "user", "content": "Hello?"}]})
        print("answer:", answer.result.text)
        print("usage :", answer.result.usage)

        section("stream_chat(): SSE deltas, usage once at the end")
        stream = client.stream_chat(MODEL, {"messages": [{"role": "user", "content": "Hi"}]})
        for delta in stream:
            if delta.text:
                print(delta.text, end="", flush=True)
            if delta.usage:
                print(f"\nusage : {delta.usage}")

        section("reasoning: chain of thought kept apart from the answer")
        reasoned = client.chat(REASONING_MODEL, {"messages": [{"role": "user", "content": "Cow?"}]})
        print("reasoning:", reasoned.result.reasoning)
        print("answer   :", reasoned.result.text)

        section("typed errors: Cloudflare's code and a hint")
        try:
            client.run("@cf/no-such-model", {"prompt": "x"})
        except ModelNotFoundError as error:
            print(f"{type(error).__name__}: {error}")
    print(f"\nDone in {time.perf_counter() - started:.2f}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
