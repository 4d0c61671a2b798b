"""The user-facing notebooks run top to bottom: offline on the emulator, live with credentials.

Each notebook in ``notebooks/`` is executed with nbclient in a fresh ``python3`` kernel (the
interpreter running pytest), from ``notebooks/`` as working directory. Offline, the credentials
and base URL are removed from the kernel's environment, so the notebook's setup cell starts the
emulator. The committed files must carry no outputs, so no real-API answer is committed by
accident.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.support.env import CONNECTION_ENV  # would send the kernel away from the emulator
from workers_ai.emulator import DEFAULT_ACCOUNT_ID

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 120
OFFLINE_BANNER = "OFFLINE: emulator with deterministic stand-in models, not real AI"
LIVE_BANNER = "LIVE: real Cloudflare Workers AI"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Text each notebook must print when run offline, beyond the banner: evidence that its main
#: flows ran, not just that no cell raised.
EXPECTED_OFFLINE = {
    "any_model_behind_cloudflare": [
        "response_metadata['model_name'] = 'openai/gpt-4.1'",
        "response_metadata['gateway_log_id'] = '",
        "model calls : get_weather({'city': 'Paris'})",
        "structured -> Person(name='Ada Lovelace', age=36)",
        "additional_kwargs['model'] = 'google/gemini-3-flash'",
        "gateway_event_id: order-42",
        "answered_by   : openai/gpt-4.1",
        "'error': 'CapacityError', 'code': 3040",
        "gateway_step  : 1",
        "'error': 'unknown', 'where': 'gateway'",
        "'feedback': 1, 'score': 90",
        "InsufficientCreditsError: HTTP 402, code 2021",
    ],
    "chain_of_thought": ["--- THINKING ---", "--- ANSWER ---", "ThinkingBlock", "'reasoning'"],
    "langchain_agents_and_structured_output": [
        "model calls : get_weather({'city': 'Paris'})",
        "model calls : convert_celsius({'celsius': 21})",
        "tool returns: 70 F",
        "function_calling -> Person(name='Ada Lovelace', age=36)",
        "json_schema      -> Person(name='Ada Lovelace', age=36)",
        "tool_call_chunks:",
    ],
    "langchain_quickstart": [
        "AuthenticationError: HTTP 401, code 10000",
        "ModelNotFoundError: HTTP 400, code 5007",
        "'request_id'",
        "French cheese",
        "calls: 3, tokens: ",
        "| **total** | 3 | 3 |",
        "BudgetExceededError: A call to @cf/meta/llama-3.3-70b-instruct-fp8-fast could cost",
        "requests sent under the tiny budget: 0",
        "batch API: Name a French cheese.",
    ],
    "llamaindex_agents": [
        "tool: get_weather({'city': 'Paris'}) -> Sunny and 21 C in Paris",
        "tool: convert_celsius({'celsius': 21}) -> 70 F",
        "Person(name='Ada Lovelace', age=36)",
    ],
    "llamaindex_rag": [
        "source: refunds.md",
        "768 dimensions",
        "sources: [",
        "vectorize: 5 vectors in 'kettle-shop-docs'",
        "shipping.md",
        "FilterError: filter on 'file_size', but the index has no metadata index",
        "index deleted",
        "ai search : ",
        "refunds.md",
        "sources   : ['refunds.md'",
        "answer    : ",
    ],
    "model_chaining": [
        "voicemail  : audio/wav",
        "transcript : Hello, this is Ana from the Lisbon office.",
        "in French  : [fr] Hello, this is Ana",
        "read aloud : audio/wav",
        "| @cf/openai/whisper-large-v3-turbo | 1 |",
        "| @cf/meta/m2m100-1.2b | 1 |",
        "tool translate: ",
        "tool generate_image: ",
        "agent: Done: the French text and the picture are ready.",
    ],
    "offline_testing_with_the_emulator": [
        "3 passed",
        "pytest exit code: 0",
        "3 requests, statuses {'429': 2, '200': 1}",
        "call 1: MISS",
        "call 2: HIT",
        "CapacityError: HTTP 429, code 3040",
        "requests the emulator served: 1\n  answers from the cassette: 1",
        "model calls : refund_order {'order_id': 'A-17'}",
        "streamed    : ['Sorry for the trouble', ' -- your refund is on its way.']",
        "| last message role: tool",
        "its auth    : Bearer ***",
        "BadRequestError: emulator strict scripts: no rule matches",
        "rules after reset: []",
        "replay server: True | served: 1",
        "not recorded -> ",
    ],
}


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _execute(path: Path) -> str:
    """Run the notebook; return everything it printed (stdout/stderr streams and results)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name}: a cell raised\n{ANSI.sub('', str(error))}", pytrace=False)
    printed = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{path.name}: {output.get('ename')}"
            if output["output_type"] == "stream":
                printed.append(output["text"])
            elif "data" in output:
                printed.append(output["data"].get("text/plain", ""))
    return "".join(printed)


def test_every_required_notebook_is_there() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(EXPECTED_OFFLINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs: clear them"
            assert cell.execution_count is None, f"{path.name} cell {index} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_offline_on_the_emulator(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONNECTION_ENV:
        monkeypatch.delenv(name, raising=False)
    printed = _execute(path)
    assert OFFLINE_BANNER in printed
    assert LIVE_BANNER not in printed
    missing = [text for text in EXPECTED_OFFLINE[path.stem] if text not in printed]
    assert not missing, f"{path.name} did not print {missing}\n--- output ---\n{printed}"


def _live_credentials() -> bool:
    account = os.environ.get("CLOUDFLARE_ACCOUNT_ID", "")
    token = os.environ.get("CLOUDFLARE_API_TOKEN", "")
    return bool(account and token) and account != DEFAULT_ACCOUNT_ID


@pytest.mark.live
@pytest.mark.skipif(
    not _live_credentials(),
    reason="needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (not the emulator's)",
)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_against_real_workers_ai(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORKERS_AI_BASE_URL", "WORKERS_AI_GATEWAY_BASE_URL"):  # Cloudflare itself
        monkeypatch.delenv(name, raising=False)
    printed = _execute(path)
    if path.stem == "offline_testing_with_the_emulator":  # always on the emulator, by design
        assert OFFLINE_BANNER in printed
    else:
        assert LIVE_BANNER in printed and OFFLINE_BANNER not in printed
