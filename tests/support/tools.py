"""The LangChain tool the chat suites call: the emulator's, the cassettes' and the live one."""

from __future__ import annotations

import json

from langchain_core.tools import tool


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return json.dumps({"city": city, "temperature_c": 21, "sky": "clear"})
