"""The benchmark harness's pure logic: summaries, ratios, tables and the closing verdicts.

Only ``benchmarks.harness`` and ``benchmarks.scenarios.closing`` are imported: neither imports
an alternative client nor matplotlib, which the project's test environment does not have.
"""

from __future__ import annotations

import pytest

from benchmarks.harness import Row, ScenarioResult, Summary, ratio, render_markdown, summarize
from benchmarks.scenarios.closing import notes


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3.0], Summary(3.0, 3.0, 3.0, 1)),
        ([4.0, 1.0, 2.0], Summary(2.0, 1.0, 4.0, 3)),
        ([1.0, 2.0, 3.0, 10.0], Summary(2.5, 1.0, 10.0, 4)),
    ],
)
def test_summarize_is_median_min_max(values: list[float], expected: Summary) -> None:
    assert summarize(values) == expected


def test_summarize_refuses_no_rounds() -> None:
    with pytest.raises(ValueError, match="no values"):
        summarize([])


@pytest.mark.parametrize(
    ("summary", "spec", "text"),
    [
        (Summary(4.214, 4.02, 4.8, 3), ".2f", "4.21 (min 4.02, max 4.80)"),
        (Summary(1234.4, 1000.0, 1500.6, 5), ",.0f", "1,234 (min 1,000, max 1,501)"),
        (Summary(27.96, 27.96, 27.96, 1), ".2f", "27.96 (1 round)"),
    ],
)
def test_summary_format(summary: Summary, spec: str, text: str) -> None:
    assert summary.fmt(spec) == text


def test_ratio_divides_each_round_by_the_baseline() -> None:
    assert ratio([4.0, 6.0, 5.0], 4.0) == Summary(1.25, 1.0, 1.5, 3)
    with pytest.raises(ValueError, match="positive"):
        ratio([1.0], 0.0)


def _result() -> ScenarioResult:
    result = ScenarioResult("3", "Overhead", ["Emulator: 0 ms"], ["framework", "µs"])
    result.add(Row("raw httpx (floor)", "floor", ["-", "800"], summarize([1.0])))
    result.add(Row("Ours.invoke", "ours", ["LangChain", "1100"], summarize([1.4, 1.3]), "no"))
    result.add(Row("core client", "ours", ["core", "850"], summarize([1.05]), "yes"))
    result.na("Other.invoke", "alternative", "no sync API")
    return result


def test_table_bolds_our_rows_and_writes_na_rows() -> None:
    text = render_markdown([_result()], "test machine", ["header note"])
    assert "| **Ours.invoke** | LangChain | 1100 | 1.35 (min 1.30, max 1.40) | no |" in text
    assert "| Other.invoke | n/a (no sync API) | n/a | n/a | n/a |" in text
    assert "Machine: test machine." in text


def test_closing_note_lists_every_goal_and_explains_misses_only() -> None:
    text = "\n".join(notes([_result()]))
    assert "| 3 | Ours.invoke | 1.35 (ratio) |" in text
    assert "| 3 | core client | 1.05 (ratio) |" in text
    assert "- **3.**" in text and "core client is at 1.05x" in text
    met = _result()
    met.rows[1].goal = "yes"
    assert "Every goal was met" in "\n".join(notes([met]))
