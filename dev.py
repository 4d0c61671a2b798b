#!/usr/bin/env python3
"""Project task runner. Needs only python3 and pip: it bootstraps everything else.

    python3 dev.py demo    # the main job (offline when no Cloudflare credentials are set)
    python3 dev.py test    # lint, types, the suite, the installed wheel, the lowest versions
    python3 dev.py bench   # benchmarks against the alternatives (separate .venv-bench)
    python3 dev.py build   # the sdist and wheel users install, into dist/
    python3 dev.py floors  # regenerate constraints/lowest-direct.txt after changing a floor

It creates ``.tools/`` (a venv holding a pinned ``uv``), ``.venv/`` (the project with all
extras and the dev group, installed exactly from ``uv.lock``) and, for the test command,
``.venv-lowest/`` (the dependency floors, from ``constraints/lowest-direct.txt``). All are
git-ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.8"
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
BENCH_VENV = ROOT / ".venv-bench"
BIN = "Scripts" if os.name == "nt" else "bin"


def _run(*cmd: str | os.PathLike[str], env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)  # noqa: S603 - our own argv


def _uv() -> Path:
    uv = TOOLS / BIN / "uv"
    if not uv.exists():
        print(f"Bootstrapping uv {UV_VERSION} into {TOOLS.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        code = _run(TOOLS / BIN / "python", "-m", "pip", "install", "-q", f"uv=={UV_VERSION}")
        if code:
            sys.exit(f"Could not install uv {UV_VERSION} with pip (exit {code}).")
    return uv


def sync(venv: Path = VENV, *groups: str) -> None:
    """Install the locked dependencies (all extras + dev group [+ groups]) into ``venv``."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": str(venv)}
    extra = [arg for group in groups for arg in ("--group", group)]
    cmd = ["sync", "--frozen", "--all-extras", *extra, "--python", sys.executable]
    code = _run(_uv(), *cmd, env=env)
    if code:
        sys.exit(f"Installing the locked dependencies failed (exit {code}).")


def py(*args: str, venv: Path = VENV) -> int:
    return _run(venv / BIN / "python", *args)


INSTALLED_STAGE = "tests/installed/stage.py"
FLOORS = "tests/lowest/floors.py"
LOWEST_VENV = ROOT / ".venv-lowest"
#: The suites run a second time on the dependency floors (the notebooks and live tests are not).
LOWEST_SUITES = ("tests/unit", "tests/contract")
#: That second run sees eventually consistent Vectorize indexes: each emulated write becomes
#: visible this many milliseconds after it is accepted (the first run: at once).
LOWEST_VECTORIZE_LAG_MS = "40"


def _steps(*steps: tuple[Path, tuple[str, ...]]) -> int:
    for venv_dir, step in steps:
        code = py(*step, venv=venv_dir)
        if code:
            print(f"FAILED: python {' '.join(step)} (exit {code})", flush=True)
            return code
    return 0


def test(extra: list[str]) -> int:
    """Lint, types and the suite; then what users install: the built wheel in one fresh
    environment per extra, and the suites again on the lowest versions pyproject allows.

    The lowest-versions run (its own environment, one process) runs beside the main suite,
    since each keeps about one of the machine's cores busy; its output is shown when it ends.
    """
    sync()
    code = _steps(
        (VENV, ("-m", "ruff", "check", ".")),
        (VENV, ("-m", "ruff", "format", "--check", ".")),
        (VENV, ("-m", "mypy")),
        (VENV, (FLOORS, "check")),
        (VENV, (INSTALLED_STAGE, "--build-only")),
    )
    if code:
        return code
    wheels = sorted((ROOT / "dist").glob("*.whl"))
    code = _steps((VENV, (FLOORS, "sync", str(wheels[0]))))
    if code:
        return code
    with tempfile.TemporaryFile("w+") as log:
        lowest_cmd = [str(LOWEST_VENV / BIN / "python"), "-m", "pytest", "-p", "no:cacheprovider"]
        print(
            f"+ (in the background, Vectorize lag {LOWEST_VECTORIZE_LAG_MS} ms)",
            " ".join([*lowest_cmd, *LOWEST_SUITES]),
            flush=True,
        )
        lag = {"WORKERS_AI_EMULATOR_VECTORIZE_LAG_MS": LOWEST_VECTORIZE_LAG_MS}
        lowest = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*lowest_cmd, *LOWEST_SUITES],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **lag},
        )
        code = _steps(
            (VENV, ("-m", "pytest", *extra)),
            (VENV, (INSTALLED_STAGE, "--use-built")),
        )
        lowest_code = lowest.wait()
        log.seek(0)
        lines = log.read().splitlines()
    shown = lines if lowest_code else lines[-3:]
    print("--- the suites on the lowest versions (.venv-lowest) ---", *shown, sep="\n", flush=True)
    if lowest_code:
        print(f"FAILED: the lowest-versions suites (exit {lowest_code})", flush=True)
    return code or lowest_code


def build(extra: list[str]) -> int:
    sync()
    return py(INSTALLED_STAGE, "--build-only", *extra)


def floors(extra: list[str]) -> int:
    sync()
    return py(FLOORS, "compile", *extra)


def demo(extra: list[str]) -> int:
    sync()
    return py(str(ROOT / "demo" / "tour.py"), *extra)


def bench(extra: list[str]) -> int:
    """Benchmarks, in their own environment: the alternatives they compare against (the
    `bench` dependency group) are never installed next to the project's tests."""
    sync(BENCH_VENV, "bench")
    return py(str(ROOT / "benchmarks" / "run_all.py"), *extra, venv=BENCH_VENV)


def main(argv: list[str]) -> int:
    commands = {"test": test, "demo": demo, "bench": bench, "build": build, "floors": floors}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
