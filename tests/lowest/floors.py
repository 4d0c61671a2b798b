"""Dependency floors, measured: the lowest-direct environment of ``python3 dev.py test``.

    python tests/lowest/floors.py compile   # regenerate constraints/lowest-direct.txt
    python tests/lowest/floors.py check     # pyproject floors == the file's pins
    python tests/lowest/floors.py sync      # .venv-lowest exactly as the file says

(``python3 dev.py floors`` runs ``compile``; ``python3 dev.py test`` runs ``check`` and ``sync``,
then the unit and contract suites in ``.venv-lowest``.)

``compile`` resolves in two steps, with the pinned uv:

1. ``uv pip compile --resolution lowest-direct`` of the runtime dependencies (every extra): each
   of our direct dependencies at the lowest version the resolver accepts.
2. One full resolution of the runtime dependencies and the ``dev`` group, with those direct
   versions pinned, and each dev tool pinned to its ``uv.lock`` version unless it depends on one
   of our runtime dependencies (langchain-tests, langchain...): those take their newest release
   that works with the floors. Everything else takes its newest compatible version.

The result is committed, so the run is reproducible. ``check`` fails when a floor in
``pyproject.toml`` is not exactly the version the file pins, so lowering a floor (or a resolver
that cannot reach it) fails the test command until the file is regenerated and the suites pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the dev group brings tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = "Scripts" if os.name == "nt" else "bin"
UV = ROOT / ".tools" / BIN / "uv"
CONSTRAINTS = ROOT / "constraints" / "lowest-direct.txt"
VENV = ROOT / ".venv-lowest"
DISTRIBUTION = "workers-ai-python"
COMMAND = "python3 dev.py floors"


def _uv(*args: str | os.PathLike[str]) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(UV), *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"uv {' '.join(map(str, args))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_requirements() -> list[Requirement]:
    """Every runtime requirement: the core's and each extra's (not the self-referencing `all`)."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    requirements = [Requirement(line) for line in lines]
    return [r for r in requirements if canonicalize_name(r.name) != DISTRIBUTION]


def dev_requirements() -> list[Requirement]:
    groups = _pyproject()["dependency-groups"]
    assert isinstance(groups, dict)
    return [Requirement(line) for line in groups["dev"] if isinstance(line, str)]


def _pins(text: str) -> dict[str, str]:
    """``name==version`` lines (markers evaluated for this interpreter) as a name -> version map."""
    pins = {}
    for line in text.splitlines():
        requirement, _, marker = line.split("#", 1)[0].partition(";")
        if "==" not in requirement or (marker.strip() and not Marker(marker).evaluate()):
            continue
        name, _, version = requirement.partition("==")
        pins[canonicalize_name(name.split("[", 1)[0])] = version.strip()
    return pins


def _locked_dev_versions() -> dict[str, str]:
    """The dev group's versions in uv.lock, for this interpreter."""
    return _pins(
        _uv(
            "export",
            "--frozen",
            "--only-group",
            "dev",
            "--no-emit-project",
            "--no-hashes",
            "--no-header",
        )
    )


def _lock() -> dict[str, set[str]]:
    """uv.lock's dependency graph by name (every version and marker fork merged)."""
    graph: dict[str, set[str]] = {}
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        deps = graph.setdefault(canonicalize_name(package["name"]), set())
        deps.update(canonicalize_name(dep["name"]) for dep in package.get("dependencies", []))
    return graph


def _depends_on(name: str, targets: set[str], graph: dict[str, set[str]]) -> bool:
    """Whether ``name``'s dependency closure in uv.lock reaches one of ``targets``."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in targets:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(graph.get(current, ()))
    return False


def compile_floors() -> None:
    python = sys.executable
    runtime = runtime_requirements()
    direct = {canonicalize_name(r.name) for r in runtime}
    lowest = _pins(
        _uv(
            "pip",
            "compile",
            "pyproject.toml",
            "--all-extras",
            "--resolution",
            "lowest-direct",
            "--python",
            python,
            "--no-header",
            "--no-annotate",
            "-q",
        )
    )
    lock, locked = _lock(), _locked_dev_versions()
    dev = [r for r in dev_requirements() if r.marker is None or r.marker.evaluate()]
    pinned_tools, free_tools = [], []
    for requirement in dev:
        name = canonicalize_name(requirement.name)
        if _depends_on(name, direct, lock):
            free_tools.append(name)
        else:
            pinned_tools.append(f"{name}=={locked[name]}")
    with tempfile.TemporaryDirectory() as tmp:
        inputs, constraints = Path(tmp) / "in.txt", Path(tmp) / "floors.txt"
        inputs.write_text("\n".join([*map(str, runtime), *map(str, dev)]) + "\n")
        floors = [f"{name}=={lowest[name]}" for name in sorted(direct) if name in lowest]
        constraints.write_text("\n".join([*floors, *pinned_tools]) + "\n")
        _uv(
            "pip",
            "compile",
            inputs,
            "-c",
            constraints,
            "--python",
            python,
            "--no-annotate",
            "--custom-compile-command",
            COMMAND,
            "-o",
            CONSTRAINTS,
            "-q",
        )
    header = (
        "# The lowest-direct environment of `python3 dev.py test` (tests/lowest/floors.py):\n"
        f"# our direct runtime dependencies at their floors: {', '.join(floors)};\n"
        f"# dev tools from uv.lock, except those that need a runtime dependency and so take\n"
        f"# their newest release compatible with the floors: {', '.join(free_tools)}.\n"
    )
    CONSTRAINTS.write_text(header + CONSTRAINTS.read_text())
    print(f"wrote {CONSTRAINTS.relative_to(ROOT)}: {', '.join(floors)}")


def check_floors() -> int:
    """Each runtime dependency's floor in pyproject.toml is exactly the version tested."""
    pins = _pins(CONSTRAINTS.read_text())
    problems = []
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # not installable here (e.g. uvloop on Windows)
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        if not floors:
            problems.append(f"{requirement}: give it a floor (>=) that the suites prove")
        elif name not in pins:
            problems.append(f"{requirement}: not in {CONSTRAINTS.name}")
        elif Version(floors[0]) != Version(pins[name]):
            problems.append(
                f"{requirement}: pyproject's floor is {floors[0]}, the tested version is "
                f"{pins[name]}"
            )
    if problems:
        print(f"FAILED: dependency floors differ from {CONSTRAINTS.relative_to(ROOT)}:")
        for problem in problems:
            print(f"  - {problem}")
        print(f"Set the floors to the tested versions, or run `{COMMAND}` and the suites.")
        return 1
    print(f"ok  every dependency floor is the version {CONSTRAINTS.name} tests")
    return 0


def sync(wheel: Path) -> None:
    """``.venv-lowest`` holds exactly the pinned versions plus the built wheel (no deps)."""
    python = VENV / BIN / "python"
    if not python.exists():
        base = Path(sys.base_prefix) / (BIN if os.name == "nt" else "bin") / "python3"
        _uv("venv", "-q", "--python", base, VENV)
    _uv("pip", "sync", "-q", "--python", python, CONSTRAINTS)
    _uv("pip", "install", "-q", "--no-deps", "--python", python, wheel)


def main(argv: list[str]) -> int:
    if argv[:1] == ["compile"]:
        compile_floors()
        return 0
    if argv[:1] == ["check"]:
        return check_floors()
    if argv[:1] == ["sync"] and len(argv) == 2:
        sync(Path(argv[1]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
