"""Facts about the installed distribution: its version and what each extra brings.

``pyproject.toml`` is the one source of truth: the version and the extras' requirements are read
from the installed distribution's metadata, never repeated here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from importlib import metadata

__all__ = [
    "DISTRIBUTION",
    "__version__",
    "extra_requirement",
    "framework_imports",
    "install_hint",
]

DISTRIBUTION = "workers-ai-python"

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, e.g. ``pip install "workers-ai-python[langchain]"``."""
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_requirement(extra: str, distribution: str) -> str | None:
    """How ``extra`` constrains ``distribution``, e.g. ``langchain-core<2,>=1.6``, from metadata."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # pragma: no cover - never installed
        return None
    for line in requirements:
        requirement, _, marker = line.partition(";")
        match = _NAME.match(requirement)
        if (
            match
            and _normalise(match.group(1)) == _normalise(distribution)
            and re.search(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]", marker)
        ):
            return requirement.strip()
    return None


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def framework_imports(package: str, extra: str, distribution: str, module: str) -> Iterator[None]:
    """Turn a failed import of a framework into an error that says what to install.

    Args:
        package: Our package doing the imports (``langchain_workers_ai``).
        extra: The extra that brings the framework (``langchain``).
        distribution: The framework's distribution (``langchain-core``).
        module: Its top-level import name (``langchain_core``).

    Only errors about ``module`` are rewritten; any other import error passes unchanged.
    """
    try:
        yield
    except ImportError as exc:
        missing = exc.name or ""
        if missing != module and not missing.startswith(module + "."):
            raise
        installed = _installed_version(distribution)
        needed = extra_requirement(extra, distribution) or distribution
        if installed is None:
            message = (
                f"{package} needs {distribution}, which is not installed. "
                f"Install the '{extra}' extra: {install_hint(extra)}"
            )
            raise ModuleNotFoundError(message, name=module) from exc
        message = (
            f"{package} cannot use the installed {distribution} {installed} ({exc}); "
            f'it needs {needed}. Upgrade it: pip install --upgrade "{DISTRIBUTION}[{extra}]"'
        )
        raise ImportError(message, name=module) from exc
