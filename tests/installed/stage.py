"""The installed-wheel stage of ``python3 dev.py test``: what users install is what we test.

1. Builds the sdist and, from it, the wheel, once, with the locked toolchain (the pinned uv and
   the hatchling locked in ``uv.lock``, no build isolation) into ``dist/``.
2. Checks what they carry: every file of every import package of the checkout (``py.typed`` and
   the catalog data included) is in the wheel; the sdist holds every tracked file but what it
   deliberately leaves out (benchmark results, CI glue).
3. Installs the wheel into one fresh environment per install variant (core, ``[langchain]``,
   ``[llama-index]``, ``[emulator]``, ``[aiohttp]``, ``[all]``), with dependency versions from
   ``uv.lock``, and
   runs ``check_variant.py`` in each from a folder outside the checkout.
4. In the ``[all]`` environment, type-checks the user code in ``typecheck/`` with
   ``mypy --strict`` and runs a user's pytest suite that uses our pytest plugin.

Run by ``dev.py`` with the project's ``.venv`` interpreter: ``python tests/installed/stage.py``
(``--build-only`` stops after step 1: ``python3 dev.py build``; ``--use-built`` checks what
it left in ``dist/`` instead of building again).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
UV = ROOT / ".tools" / ("Scripts" if os.name == "nt" else "bin") / "uv"
DIST = ROOT / "dist"
#: Top-level folders with an ``__init__.py`` that are not shipped in the wheel.
NOT_SHIPPED = {"tests", "benchmarks"}
#: Tracked paths the sdist leaves out on purpose (everything else must be in it).
SDIST_LEAVES_OUT = (".ci/", "benchmarks/results/")
VARIANTS = {
    "core": "",
    "langchain": "[langchain]",
    "llama-index": "[llama-index]",
    "emulator": "[emulator]",
    "aiohttp": "[aiohttp]",
    "all": "[all]",
}
#: Tools a user adds to their own project; versions from ``uv.lock``'s dev group.
USER_TOOLS = ("mypy", "pytest")
_MYPY_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z0-9-]+)\]$")
_EXPECT = re.compile(r"#\s*expect-error:\s*(?P<code>[a-z0-9-]+)")


class StageError(Exception):
    """One check of the stage failed; the message says which and why."""


def run(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path = ROOT, quiet: bool = False) -> str:
    """Run a command; raise StageError with its output when it fails."""
    argv = [str(part) for part in cmd]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    if not quiet and done.stdout:
        print(done.stdout, end="", flush=True)
    if done.returncode:
        raise StageError(f"`{' '.join(argv)}` exited {done.returncode}:\n{output}")
    return output


def build() -> tuple[Path, Path]:
    """sdist, then the wheel built from that sdist (so the sdist is proven buildable)."""
    shutil.rmtree(DIST, ignore_errors=True)
    venv_python = Path(sys.executable)
    run([UV, "build", "--no-build-isolation", "--python", venv_python, "-o", DIST], quiet=True)
    wheels, sdists = sorted(DIST.glob("*.whl")), sorted(DIST.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise StageError(f"expected one wheel and one sdist in dist/, found {wheels + sdists}")
    return wheels[0], sdists[0]


def built() -> tuple[Path, Path]:
    """The artefacts ``--build-only`` left in dist/ (the test command builds once)."""
    wheels, sdists = sorted(DIST.glob("*.whl")), sorted(DIST.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise StageError(f"expected one wheel and one sdist in dist/, found {wheels + sdists}")
    return wheels[0], sdists[0]


def tracked_files() -> list[str]:
    """Files under version control (a walk of the tree when there is no git checkout)."""
    if (ROOT / ".git").exists():
        listed = run(["git", "ls-files"], quiet=True).splitlines()
        return [path for path in listed if (ROOT / path).is_file()]  # not deleted, uncommitted
    skip = {"__pycache__", ".git", ".venv", ".tools", "dist"}
    return [
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*")
        if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts)
    ]


def import_packages() -> list[str]:
    return sorted(
        child.name
        for child in ROOT.iterdir()
        if (child / "__init__.py").is_file() and child.name not in NOT_SHIPPED
    )


def check_wheel(wheel: Path, tracked: list[str]) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = import_packages()
    expected = {path for path in tracked if path.split("/", 1)[0] in packages and "/" in path} | {
        f"{package}/py.typed" for package in packages
    }
    missing = sorted(expected - names)
    if missing:
        raise StageError(f"the wheel lacks {len(missing)} file(s) users need: {missing[:10]}")
    stray = sorted(n for n in names if n.split("/", 1)[0] in NOT_SHIPPED)
    if stray:
        raise StageError(f"the wheel carries files that are not part of the package: {stray[:10]}")
    print(f"  ok  wheel: {', '.join(packages)}, {len(expected)} files incl. py.typed and data")


def check_sdist(sdist: Path, tracked: list[str]) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {path for path in tracked if not path.startswith(SDIST_LEAVES_OUT)}
    missing = sorted(expected - names)
    if missing:
        raise StageError(f"the sdist lacks {len(missing)} tracked file(s): {missing[:10]}")
    extra = sorted(name for name in names if name.startswith(SDIST_LEAVES_OUT))
    if extra:
        raise StageError(f"the sdist carries what it should leave out: {extra[:10]}")
    print(f"  ok  sdist: {len(expected)} tracked files, without {', '.join(SDIST_LEAVES_OUT)}")


def export_pins(work: Path) -> tuple[Path, Path]:
    """uv.lock's versions as constraint files: the runtime dependencies, and the dev group."""
    runtime, dev = work / "runtime-constraints.txt", work / "dev-constraints.txt"
    common = ["export", "--frozen", "--no-emit-project", "--no-hashes", "--no-header"]
    run([UV, *common, "--all-extras", "--no-dev", "-o", runtime], quiet=True)
    run([UV, *common, "--only-group", "dev", "-o", dev], quiet=True)
    return runtime, dev


def check_variants_cover_extras() -> None:
    """A new extra in pyproject.toml gets its own installed variant here, or this stage fails."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {f"[{name}]" for name in project["optional-dependencies"]}
    if extras != {spec for spec in VARIANTS.values() if spec}:
        raise StageError(
            f"install variants {sorted(VARIANTS.values())} differ from the "
            f"extras in pyproject.toml {sorted(extras)}: add one per extra"
        )


def make_env(work: Path, variant: str, wheel: Path, runtime: Path, dev: Path) -> Path:
    env = work / f"venv-{variant}"
    run([UV, "venv", "-q", "--python", _base_python(), env], quiet=True)
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = [UV, "pip", "install", "-q", "--python", python, "-c", runtime]
    run([*install, f"{wheel}{VARIANTS[variant]}"], quiet=True)
    if variant == "all":
        run([*install, "-c", dev, *USER_TOOLS], quiet=True)
    return python


def _base_python() -> str:
    """The interpreter the project's venv was made from (a user's plain Python)."""
    return str(Path(sys.base_prefix) / ("python.exe" if os.name == "nt" else "bin/python3"))


def check_variant(work: Path, variant: str, python: Path) -> None:
    folder = work / f"app-{variant}"
    folder.mkdir()
    run([python, HERE / "check_variant.py", variant, ROOT], cwd=folder)


def typecheck(work: Path, python: Path) -> None:
    """mypy --strict on user code, outside the checkout, against the installed wheel."""
    folder = work / "typecheck"
    shutil.copytree(HERE / "typecheck", folder, ignore=shutil.ignore_patterns("*.md"))
    accepted = sorted(folder.glob("accepted_*.py"))
    rejected = sorted(folder.glob("rejected_*.py"))
    mypy = [python, "-m", "mypy", "--strict", "--no-color-output", "--cache-dir", work / ".mypy"]
    run([*mypy, *(path.name for path in accepted)], cwd=folder, quiet=True)
    print(f"  ok  mypy --strict accepts {', '.join(path.name for path in accepted)}")
    for path in rejected:
        expected = {
            (index, match.group("code"))
            for index, line in enumerate(path.read_text().splitlines(), start=1)
            if (match := _EXPECT.search(line))
        }
        done = subprocess.run(
            [str(part) for part in [*mypy, path.name]],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        found = {
            (int(match.group("line")), match.group("code"))
            for line in done.stdout.splitlines()
            if (match := _MYPY_LINE.match(line.strip()))
        }
        if found != expected or done.returncode != 1:
            raise StageError(
                f"mypy --strict on {path.name}: expected errors {sorted(expected)}, "
                f"got {sorted(found)} (exit {done.returncode}):\n{done.stdout}{done.stderr}"
            )
        print(f"  ok  mypy --strict rejects the {len(expected)} marked mistakes in {path.name}")


def user_suite(work: Path, python: Path) -> None:
    """A user's own pytest suite on our pytest plugin and emulator."""
    folder = work / "user-project"
    folder.mkdir()
    shutil.copy(HERE / "user_suite.py", folder / "test_user_suite.py")
    (folder / "conftest.py").write_text('pytest_plugins = ["workers_ai.emulator.pytest_plugin"]\n')
    output = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder, quiet=True)
    print(f"  ok  a user's pytest suite on our plugin: {output.strip().splitlines()[-1]}")


def main(argv: list[str]) -> int:
    started = time.monotonic()
    try:
        check_variants_cover_extras()
        wheel, sdist = built() if argv == ["--use-built"] else build()
        print(f"built {wheel.name} and {sdist.name}", flush=True)
        if argv == ["--build-only"]:
            return 0
        tracked = tracked_files()
        check_wheel(wheel, tracked)
        check_sdist(sdist, tracked)
        with tempfile.TemporaryDirectory(prefix="workers-ai-installed-") as tmp:
            work = Path(tmp)
            runtime, dev = export_pins(work)
            for variant in VARIANTS:
                print(f"variant {variant}: pip install {wheel.name}{VARIANTS[variant]}", flush=True)
                python = make_env(work, variant, wheel, runtime, dev)
                check_variant(work, variant, python)
                if variant == "all":
                    typecheck(work, python)
                    user_suite(work, python)
    except StageError as error:
        print(f"FAILED (installed-wheel stage): {error}", flush=True)
        return 1
    print(f"installed-wheel stage passed in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
