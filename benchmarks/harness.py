"""Shared machinery of the benchmark suite (``benchmarks/run_all.py``).

- :class:`Emulator`: the emulator CLI in its own process on 127.0.0.1, with its control routes.
- :class:`Summary` and :func:`summarize`: median, min and max of several rounds; ratios.
- :class:`Row` and :class:`ScenarioResult`: one table per scenario, rendered by
  :func:`render_markdown` and drawn by :func:`plot` (matplotlib, Agg backend, imported lazily
  so this module also loads in the project's test environment, which lacks matplotlib).
- :func:`machine_description` and :func:`run_python`: the machine, and fresh interpreters.

Nothing here imports an alternative client: the scenarios do, in the bench environment only.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ACCOUNT = "emulator-account"
TOKEN = "emulator-token"  # noqa: S105 - the emulator's documented stand-in token
#: The control routes (``/__emulator/*``) need the API token too.
CONTROL = {"Authorization": f"Bearer {TOKEN}"}
CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct"
EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"


# --- the emulator ------------------------------------------------------------------------------


class Emulator:
    """``python -m workers_ai.emulator`` in a subprocess (loopback only), stopped on exit.

    Args:
        latency_ms: Latency added to every API request.
        rate_limit: Requests per minute for every task (``None``: no limit).
    """

    def __init__(self, latency_ms: float = 0.0, rate_limit: int | None = None) -> None:
        self.latency_ms = latency_ms
        self.rate_limit = rate_limit
        cmd = [sys.executable, "-m", "workers_ai.emulator", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--latency-ms", str(latency_ms)]
        if rate_limit is not None:
            cmd += ["--rate-limit", str(rate_limit)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self.base_url = self._read_base_url()
        self.root = self.base_url.removesuffix("/client/v4")
        #: The OpenAI-compatible base URL (``.../accounts/{id}/ai/v1``).
        self.openai_base = f"{self.base_url}/accounts/{ACCOUNT}/ai/v1"

    def _read_base_url(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            match = re.search(r"Base URL: (\S+)", line)
            if match:
                return match.group(1)
        self.proc.kill()
        raise RuntimeError("the emulator did not start")

    def describe(self) -> str:
        """The settings, for the results: ``50 ms latency, 3,000 requests/min``."""
        limit = f"{self.rate_limit:,} requests/min" if self.rate_limit else "no rate limit"
        return f"{self.latency_ms:g} ms latency, {limit}"

    def run_url(self, model: str) -> str:
        return f"{self.base_url}/accounts/{ACCOUNT}/ai/run/{model}"

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.root}/__emulator/stats", headers=CONTROL, timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        url = f"{self.root}/__emulator/reset"
        httpx.post(url, json={}, headers=CONTROL, timeout=30).raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def non_200(stats: dict[str, Any]) -> int:
    """Answers other than 200 (429s included) in an emulator stats snapshot."""
    return sum(int(n) for status, n in stats.get("by_status", {}).items() if status != "200")


# --- statistics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Median, min and max of the rounds of one measurement."""

    median: float
    low: float
    high: float
    n: int

    def fmt(self, spec: str = ".2f", unit: str = "") -> str:
        """``4.21 s (min 4.02, max 4.80)``; a single round prints just the value."""
        value = f"{self.median:{spec}}{unit}"
        if self.n < 2:
            return f"{value} (1 round)"
        return f"{value} (min {self.low:{spec}}, max {self.high:{spec}})"

    def scaled(self, factor: float) -> Summary:
        return Summary(self.median * factor, self.low * factor, self.high * factor, self.n)


def summarize(values: Sequence[float]) -> Summary:
    """Summary of one or more rounds."""
    if not values:
        raise ValueError("no values to summarize")
    return Summary(statistics.median(values), min(values), max(values), len(values))


def ratio(values: Sequence[float], baseline: float) -> Summary:
    """Each round's value over ``baseline`` (a median, or a fixed bound), summarized."""
    if baseline <= 0:
        raise ValueError("baseline must be positive")
    return summarize([v / baseline for v in values])


def goal_met(value: float, limit: float) -> str:
    """``yes`` / ``no`` for a lower-is-better figure against its goal."""
    return "yes" if value <= limit else "no"


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Move every object alive now (imports, built clients) out of the garbage collector's
    reach, so the ``gc.collect()`` a scenario runs between measurements stays cheap and the
    collections inside a measurement only see that measurement's own garbage."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn()`` took (perf_counter) and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


# --- results -----------------------------------------------------------------------------------


@dataclass
class Row:
    """One client in a scenario table.

    Attributes:
        client: Who was measured.
        kind: ``ours``, ``floor`` (raw httpx or a computed bound) or ``alternative``.
        cells: The scenario's figure columns, already formatted.
        ratio: Ratio to the scenario's baseline (plotted); ``None`` for n/a rows.
        goal: ``yes``, ``no``, ``-`` (no goal applies) or ``n/a``.
    """

    client: str
    kind: str
    cells: list[str]
    ratio: Summary | None = None
    goal: str = "-"


@dataclass
class ScenarioResult:
    """One scenario's table, notes and plot panel."""

    number: str
    title: str
    setup: list[str]
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ratio_label: str = "ratio"
    ratio_spec: str = ".2f"
    goal_line: float | None = None
    #: Where the plot draws its reference line (the baseline's ratio, 1.0); None: none.
    reference: float | None = 1.0
    seconds: float = 0.0

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def na(self, client: str, kind: str, why: str) -> None:
        """A client that cannot do this scenario: ``n/a (why)`` rather than no row."""
        cells = [f"n/a ({why})"] + ["n/a"] * (len(self.columns) - 1)
        self.rows.append(Row(client, kind, cells, None, "n/a"))


def table(result: ScenarioResult) -> list[str]:
    """The scenario's markdown table; this project's rows in bold."""
    header = ["client", *result.columns, result.ratio_label, "goal met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result.rows:
        label = f"**{row.client}**" if row.kind == "ours" else row.client
        figure = row.ratio.fmt(result.ratio_spec) if row.ratio is not None else "n/a"
        cells = [label, *row.cells, figure, row.goal]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(
    results: Sequence[ScenarioResult], machine: str, header_notes: Sequence[str]
) -> str:
    lines = [
        "# Benchmarks against the alternatives (benchmarks/run_all.py)",
        "",
        f"Machine: {machine}.",
        "",
        *header_notes,
        "",
    ]
    for result in results:
        lines += [f"## {result.number}. {result.title}", ""]
        lines += [f"- {item}" for item in result.setup]
        lines += ["", *table(result), ""]
        if result.notes:
            lines += [*result.notes, ""]
        lines += [f"_Scenario run time: {result.seconds:.0f} s._", ""]
    return "\n".join(lines).rstrip() + "\n"


_COLOURS = {"ours": "#f38020", "floor": "#7f7f7f", "alternative": "#4a78b5"}


def plot(results: Sequence[ScenarioResult], path: Path, title: str) -> None:
    """One panel per scenario: each client's ratio (median, min-max whiskers), goal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [r for r in results if any(row.ratio is not None for row in r.rows)]
    if not panels:
        return
    cols = 2 if len(panels) > 1 else 1
    rows_n = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(7.5 * cols, 3.6 * rows_n), squeeze=False)
    for ax, result in zip(axes.flat, panels, strict=False):
        _panel(ax, result)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    from matplotlib.patches import Patch

    legend = [
        Patch(color=_COLOURS["ours"], label="this project"),
        Patch(color=_COLOURS["floor"], label="floor (raw httpx, computed)"),
        Patch(color=_COLOURS["alternative"], label="alternatives"),
    ]
    fig.legend(handles=legend, loc="upper right", fontsize=8, ncol=3)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _panel(ax: Any, result: ScenarioResult) -> None:
    rows = [r for r in result.rows if r.ratio is not None]
    names = [r.client.replace("`", "") for r in rows]
    labels = [n if len(n) <= 52 else n[:50] + "..." for n in names]
    medians = [r.ratio.median for r in rows if r.ratio is not None]
    lows = [r.ratio.median - r.ratio.low for r in rows if r.ratio is not None]
    highs = [r.ratio.high - r.ratio.median for r in rows if r.ratio is not None]
    ys = list(range(len(rows)))[::-1]
    colours = [_COLOURS.get(r.kind, "#4a78b5") for r in rows]
    ax.barh(ys, medians, xerr=[lows, highs], color=colours, capsize=3)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=7)
    positive = [m for m in medians if m > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_xscale("log")
    if result.goal_line is not None:
        ax.axvline(result.goal_line, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(result.goal_line, len(rows) - 0.4, " goal", color="#c0392b", fontsize=7)
    if result.reference is not None:
        ax.axvline(result.reference, color="black", linewidth=0.6)
    ax.set_xlabel(result.ratio_label, fontsize=8)
    ax.set_title(f"{result.number}. {result.title}", fontsize=9)
    ax.tick_params(axis="x", labelsize=7)


# --- the machine and fresh interpreters -------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        pass
    return "RAM unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> str:
    return (
        f"{_cpu_model()} ({platform.machine()}), {os.cpu_count()} cores, {_memory_gb()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    Linux's ``VmHWM`` is per address space, so it starts afresh in each new interpreter;
    ``resource.getrusage(...).ru_maxrss`` is the fallback elsewhere, but on Linux it carries
    the parent's peak over ``fork`` + ``exec``, which would hide a small child behind a large
    benchmark process.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run_python(code: str, timeout: float = 300, env: Mapping[str, str] | None = None) -> Any:
    """Run ``code`` in a fresh interpreter (this one's, repo on the path); it must print one
    JSON document as its last line, which is returned. ``env`` adds variables."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(ROOT),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"subprocess failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
