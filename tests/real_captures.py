"""Outputs captured from the real Workers AI service, as test fixtures (not the emulator's).

``tests/assets/dropin-captures.json`` is a verbatim copy of the project's reference file
``reference/real-responses/dropin-captures.json``; each entry says where it was found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CAPTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "assets" / "dropin-captures.json").read_text(encoding="utf-8")
)

#: gemma-4 answering ``response_format: {type: json_schema}`` (a chat-completion ``result``).
GEMMA4 = CAPTURES["gemma4_json_schema"]["model"]
GEMMA4_RESULT: dict[str, Any] = CAPTURES["gemma4_json_schema"]["result"]
GEMMA4_EXPECTED_PARSE: dict[str, Any] = CAPTURES["gemma4_json_schema"]["expected_parse"]

#: llama-3.3's ``score_job_fit`` arguments: integers as ``"85"``, string lists as Python reprs.
LLAMA33 = CAPTURES["llama33_tool_args_as_strings"]["model"]
LLAMA33_ARGUMENTS: dict[str, Any] = CAPTURES["llama33_tool_args_as_strings"]["arguments"]
LLAMA33_SCHEMA_TYPES: dict[str, str] = CAPTURES["llama33_tool_args_as_strings"]["schema_types"]
