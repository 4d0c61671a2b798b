"""Micro-benchmark: client CPU to decode embeddings replies, with json and with orjson (offline).

:func:`workers_ai.envelope.loads_json` reads with orjson when it is importable and with
:mod:`json` otherwise (same values, same errors; module docs). This measures both, in one
process, by switching the loader's parser (``envelope._ORJSON = None`` is the json-only
loader, exactly the code path of the package without orjson):

1. **one reply**: a 100 x 768 ``@cf/baai/bge-base-en-v1.5`` reply (about 1.6 MB) decoded
   ``--repeat`` times: ``json.loads``, ``orjson.loads`` (the bare parsers), and ``loads_json``
   with each parser (the bounds included: size, depth, the 64-bit integer test);
2. **one job's replies**: the client's whole per-reply path (``unwrap_response`` +
   ``parse_embedding_response``) for the 200 replies of a 20,000-text job;
3. **the engine, end to end**: ``Embedder.embed_documents`` of 20,000 texts in batches of 100
   over ``httpx.MockTransport`` answering with precomputed reply bytes (no socket, no server):
   process CPU seconds (every thread) and wall seconds.

Replies are built like Workers AI's: float32 values written as JavaScript writes doubles (up
to 17 significant digits, fixed notation down to 1e-7). Figures are the median of ``--rounds``
rounds (min and max beside), as CPU time of this process (``time.process_time``), the garbage
collector live, a collection between rounds.

Run ``python -m benchmarks.json_decode`` from the repository root (``--quick`` for a smoke run,
``--out FILE`` to also write the Markdown).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from workers_ai import envelope  # noqa: E402
from workers_ai.embedder import Embedder  # noqa: E402
from workers_ai.embeddings import embedding_spec, parse_embedding_response  # noqa: E402
from workers_ai.settings import resolve_settings  # noqa: E402

MODEL = "@cf/baai/bge-base-en-v1.5"
ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "benchmark-token"  # noqa: S105 - never sent anywhere: MockTransport answers
BATCH = 100
TEXTS = 20_000
DISTINCT_REPLIES = 8  # the transport cycles through these


# --- replies -----------------------------------------------------------------------------------


def _js_number(value: float) -> str:
    """``value`` as JavaScript's ``Number.prototype.toString`` writes it (JSON.stringify)."""
    text = repr(value)
    if "e-" in text and int(text.split("e-")[1]) <= 7:  # JS: fixed notation down to 1e-7
        text = format(Decimal(text), "f")
    return text


def embeddings_reply(rows: int, dims: int, seed: int) -> bytes:
    """A v4 envelope around ``rows`` L2-normalised float32 vectors of ``dims`` components."""
    rng = random.Random(seed)
    vectors = []
    for _ in range(rows):
        raw = [rng.gauss(0.0, 1.0) for _ in range(dims)]
        norm = math.sqrt(sum(x * x for x in raw))
        floats = (struct.unpack("f", struct.pack("f", x / norm))[0] for x in raw)
        vectors.append("[" + ",".join(map(_js_number, floats)) + "]")
    data = "[" + ",".join(vectors) + "]"
    result = f'{{"shape":[{rows},{dims}],"data":{data},"pooling":"mean"}}'
    return f'{{"result":{result},"success":true,"errors":[],"messages":[]}}'.encode()


# --- timing ------------------------------------------------------------------------------------


@contextlib.contextmanager
def parser(name: str) -> Iterator[None]:
    """``loads_json`` with orjson (as installed) or with json only."""
    saved = envelope._ORJSON
    if name == "json":
        envelope._ORJSON = None
    elif saved is None:
        raise SystemExit("orjson is not installed (or not used): nothing to compare")
    try:
        yield
    finally:
        envelope._ORJSON = saved


def rounds(fn: Callable[[], Any], count: int) -> list[float]:
    """CPU seconds of this process for ``fn()``, in ``count`` rounds (CPU, not wall: other
    processes on the machine slow the wall clock, not this figure)."""
    out = []
    for _ in range(count):
        gc.collect()
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return out


def fmt(values: list[float], scale: float, digits: int) -> str:
    med, low, high = (statistics.median(values), min(values), max(values))
    return f"{med * scale:.{digits}f} ({low * scale:.{digits}f}-{high * scale:.{digits}f})"


# --- 1 and 2 -----------------------------------------------------------------------------------


def one_reply(body: bytes, repeat: int, count: int) -> list[list[str]]:
    import orjson

    def each(call: Callable[[bytes], Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(repeat):
                call(body)

        return run

    decoders: list[tuple[str, str, Callable[[bytes], Any]]] = [
        ("`json.loads` (stdlib, no bounds)", "json", json.loads),
        ("`orjson.loads` (no bounds)", "json", orjson.loads),
        ("`loads_json`, json only (before)", "json", envelope.loads_json),
        ("`loads_json`, orjson (after)", "orjson", envelope.loads_json),
    ]
    rows = []
    for label, name, call in decoders:
        with parser(name):
            times = [t / repeat for t in rounds(each(call), count)]
        rows.append([label, fmt(times, 1e3, 2)])
    return rows


def job_replies(bodies: list[bytes], count: int) -> tuple[list[list[str]], dict[str, float]]:
    replies = [bodies[i % len(bodies)] for i in range(TEXTS // BATCH)]

    def run() -> None:
        for body in replies:
            parse_embedding_response(envelope.unwrap_response(200, {}, body), BATCH)

    rows, medians = [], {}
    for name in ("json", "orjson"):
        with parser(name):
            times = rounds(run, count)
        medians[name] = statistics.median(times)
        rows.append([f"{name} ({'after' if name == 'orjson' else 'before'})", fmt(times, 1, 2)])
    return rows, medians


# --- 3 -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def mock_async_clients(handler: Callable[[httpx.Request], httpx.Response]) -> Iterator[None]:
    """Every ``httpx.AsyncClient`` built inside answers through ``MockTransport(handler)``."""
    real = httpx.AsyncClient

    class Mocked(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["transport"] = httpx.MockTransport(handler)
            super().__init__(*args, **kwargs)

    httpx.AsyncClient = Mocked  # type: ignore[misc]
    try:
        yield
    finally:
        httpx.AsyncClient = real  # type: ignore[misc]


def engine(bodies: list[bytes], count: int) -> tuple[list[list[str]], dict[str, float]]:
    sent = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        body = bodies[sent % len(bodies)]
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    texts = [f"chunk {i}: the quick brown fox jumps over the lazy dog" for i in range(TEXTS)]
    settings = resolve_settings(account_id=ACCOUNT, api_token=TOKEN, env={})
    rows, medians = [], {}
    for name in ("json", "orjson"):
        cpus, walls = [], []
        with parser(name), mock_async_clients(handler):
            for _ in range(count):
                embedder = Embedder(embedding_spec(MODEL, batch_size=BATCH), settings)
                gc.collect()
                cpu, wall = time.process_time(), time.perf_counter()
                vectors = embedder.embed_documents(texts)
                cpus.append(time.process_time() - cpu)
                walls.append(time.perf_counter() - wall)
                assert len(vectors) == TEXTS
                embedder.close()
        medians[name] = statistics.median(cpus)
        label = f"{name} ({'after' if name == 'orjson' else 'before'})"
        rows.append([label, fmt(cpus, 1, 2), fmt(walls, 1, 2)])
    return rows, medians


# --- report ------------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def main(argv: list[str] | None = None) -> str:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--rounds", type=int, default=5)
    args.add_argument("--repeat", type=int, default=50, help="decodes per round in 1")
    args.add_argument("--quick", action="store_true", help="1 round, 5 decodes")
    args.add_argument("--out", type=Path, help="also write the Markdown here")
    opts = args.parse_args(argv)
    count, repeat = (1, 5) if opts.quick else (opts.rounds, opts.repeat)

    import orjson

    bodies = [embeddings_reply(BATCH, 768, seed) for seed in range(DISTINCT_REPLIES)]
    body = bodies[0]
    lines = [
        "# Embeddings replies: JSON decoding CPU, json vs orjson",
        "",
        f"Python {sys.version.split()[0]}, orjson {orjson.__version__}; one reply: "
        f"{BATCH} x 768 floats, {len(body) / 1e6:.2f} MB. Median (min-max) of {count} rounds.",
        "",
        f"## 1. One reply, decoded (CPU ms per decode, {repeat} per round)",
        "",
        *table(["decoder", "ms"], one_reply(body, repeat, count)),
    ]
    rows, job = job_replies(bodies, count)
    lines += [
        "",
        f"## 2. A job's replies: `unwrap_response` + `parse_embedding_response` x {TEXTS // BATCH}",
        "",
        *table(["loader", "CPU s"], rows),
        "",
        f"after / before: {job['orjson'] / job['json']:.2f}",
    ]
    rows, cpu = engine(bodies, count)
    lines += [
        "",
        f"## 3. `Embedder.embed_documents`, {TEXTS:,} texts in batches of {BATCH}, MockTransport",
        "",
        *table(["loader", "process CPU s", "wall s"], rows),
        "",
        f"after / before (CPU): {cpu['orjson'] / cpu['json']:.2f}",
    ]
    text = "\n".join(lines) + "\n"
    if opts.out:
        opts.out.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    print(main(), end="")
