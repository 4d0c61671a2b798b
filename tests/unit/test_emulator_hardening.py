"""The emulator's hardening helpers (pure; no sockets): bounded JSON, loopback detection and
the network warning, fault and runtime-setting checks, where ``reset_mid_body`` cuts."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from workers_ai.emulator import (
    DEFAULT_API_TOKEN,
    EmulatorConfig,
    EmulatorExposedWarning,
    EmulatorServer,
    FaultSpec,
    jsonbody,
)
from workers_ai.emulator.app import _cut_point
from workers_ai.emulator.faults import (
    FAULT_KINDS,
    LATE_FAULTS,
    FaultConfigError,
    check_runtime_setting,
    parse_fault_header,
)
from workers_ai.emulator.server import exposure_warning, is_loopback

# -- bounded JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"", 0),
        (b"1", 0),
        (b'"[[[{{{"', 0),
        (b"{}", 1),
        (b"[]", 1),
        (b"[[], []]", 2),
        (b'[{"a": [1]}]', 3),
        (b'{"a": "[[[[", "b": {"c": "]]]"}}', 2),
        (rb'["say \"[[[\" here", [1]]', 2),
        (rb'["a backslash \\", [[1]]]', 3),
        (b"[[[", 3),  # unbalanced: measured as far as it goes
        (b"]]][", 1),
    ],
)
def test_nesting_depth_ignores_brackets_in_strings(raw: bytes, depth: int) -> None:
    assert jsonbody.nesting_depth(raw) == depth


def test_nesting_depth_stops_past_the_limit() -> None:
    assert jsonbody.nesting_depth(b"[" * 1_000_000, limit=5) == 6


def _nested_lists(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": [1, {"b": null}]}', {"a": [1, {"b": None}]}),
        ('{"text": "' + "[" * 1000 + '"}', {"text": "[" * 1000}),
        (b"[" * 128 + b"]" * 128, _nested_lists(128)),  # exactly the limit
        ('"\ud800"', "\ud800"),  # a str (guided_json) keeps json.loads' own leniency
    ],
)
def test_loads_parses_ordinary_and_bracket_heavy_json(raw: bytes | str, expected: Any) -> None:
    assert jsonbody.loads(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 129 + b"]" * 129, id="129-levels"),
        pytest.param(b"[" * 100_000, id="100k-open"),
        pytest.param("{" * 100_000, id="100k-open-str"),
        pytest.param(b'{"a": ' * 200 + b"1" + b"}" * 200, id="200-objects"),
    ],
)
def test_loads_refuses_deep_nesting_with_a_value_error(raw: bytes | str) -> None:
    with pytest.raises(jsonbody.JSONDepthError, match="nested more than 128 levels"):
        jsonbody.loads(raw)
    assert issubclass(jsonbody.JSONDepthError, ValueError)


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"a": "\xff"}', b"[1,]"])
def test_loads_raises_value_error_for_invalid_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        jsonbody.loads(raw)


# -- loopback and the network warning ----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("app.localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.10", False),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_warning_says_what_is_at_stake() -> None:
    text = exposure_warning("0.0.0.0", EmulatorConfig())

    assert text is not None
    for words in ("0.0.0.0", "reachable from the network", "no real security"):
        assert words in text
    assert repr(DEFAULT_API_TOKEN) in text  # the published token: everyone knows it
    assert "/__emulator/" in text and "127.0.0.1" in text


def test_exposure_warning_keeps_a_custom_token_secret_and_names_open_control() -> None:
    config = EmulatorConfig(api_token="my-private-token", open_control=True)

    text = exposure_warning("192.168.1.10", config)

    assert text is not None
    assert "my-private-token" not in text
    assert "need no token" in text


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_emulator_server_on_loopback_is_silent(host: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EmulatorServer(host=host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_emulator_server_beyond_loopback_warns(host: str) -> None:
    with pytest.warns(EmulatorExposedWarning, match="reachable from the network") as record:
        EmulatorServer(host=host)

    assert issubclass(EmulatorExposedWarning, UserWarning)
    assert record[0].filename == __file__  # points at the caller's line


def test_control_headers_carry_the_api_token() -> None:
    assert EmulatorServer().control_headers() == {"Authorization": f"Bearer {DEFAULT_API_TOKEN}"}
    server = EmulatorServer(api_token="other")
    assert server.control_headers() == {"Authorization": "Bearer other"}


# -- faults ------------------------------------------------------------------------------------


def test_reset_mid_body_is_a_late_fault_kind() -> None:
    assert "reset_mid_body" in FAULT_KINDS and "reset_mid_body" in LATE_FAULTS
    assert LATE_FAULTS <= FAULT_KINDS


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("reset_mid_body", FaultSpec("reset_mid_body")),
        ("reset_mid_body;after=10", FaultSpec("reset_mid_body", after=10)),
        ("server_error; status=504", FaultSpec("server_error", status=504)),
    ],
)
def test_parse_fault_header(header: str, expected: FaultSpec) -> None:
    assert parse_fault_header(header) == expected


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"kind": "meteor"}, id="unknown-kind"),
        pytest.param({"kind": ["capacity"]}, id="kind-list"),
        pytest.param({"kind": "capacity", "status": "abc"}, id="status-text"),
        pytest.param({"kind": "capacity", "status": 700}, id="status-700"),
        pytest.param({"kind": "stream_cut", "after": 1.5}, id="after-fraction"),
        pytest.param({"kind": "stream_cut", "after": -1}, id="after-negative"),
        pytest.param({"kind": "capacity", "count": True}, id="count-bool"),
        pytest.param({"kind": "capacity", "probability": "often"}, id="probability-text"),
        pytest.param({"kind": "capacity", "probability": 2}, id="probability-2"),
        pytest.param({"kind": "capacity", "model": 5}, id="model-number"),
    ],
)
def test_fault_spec_refuses_values_that_would_break_a_request(fields: dict[str, Any]) -> None:
    with pytest.raises(FaultConfigError):
        FaultSpec.from_mapping(fields)


@pytest.mark.parametrize("data", [5, "capacity", None, ["kind"]])
def test_fault_rule_must_be_an_object(data: Any) -> None:
    with pytest.raises(FaultConfigError, match="object"):
        FaultSpec.from_mapping(data)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("latency_ms", 0),
        ("latency_ms", 12.5),
        ("jitter_ms", 3),
        ("stream_event_delay_ms", 0.0),
        ("rate_limit_per_minute", None),
        ("rate_limit_per_minute", 300),
        ("rate_limit_per_minute", "catalog"),
        ("rate_limit_per_minute", {"Text Generation": 1}),
        ("usage_per_chunk", True),
    ],
)
def test_runtime_setting_accepts_valid_values(name: str, value: Any) -> None:
    check_runtime_setting(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("latency_ms", "50"),
        ("latency_ms", -1),
        ("latency_ms", float("nan")),
        ("latency_ms", True),
        ("jitter_ms", None),
        ("rate_limit_per_minute", 2.5),
        ("rate_limit_per_minute", -1),
        ("rate_limit_per_minute", "fast"),
        ("rate_limit_per_minute", {"Text Generation": "1"}),
        ("usage_per_chunk", "yes"),
        ("open_control", True),  # not a run-time setting
        ("api_token", "x"),
    ],
)
def test_runtime_setting_refuses_invalid_values(name: str, value: Any) -> None:
    with pytest.raises(FaultConfigError, match=name):
        check_runtime_setting(name, value)


@pytest.mark.parametrize(
    ("size", "after", "cut"),
    [
        (100, 0, 50),
        (101, 0, 50),
        (100, 10, 10),
        (100, 99, 99),
        (100, 100, 99),  # never the whole body: the point is an incomplete answer
        (100, 10_000, 99),
        (1, 0, 0),
    ],
)
def test_reset_mid_body_cut_point(size: int, after: int, cut: int) -> None:
    assert _cut_point(size, after) == cut
