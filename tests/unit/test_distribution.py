"""The installed distribution's facts: one version everywhere, and import errors that say what
to install (the installed-wheel stage checks the same against real installs without an extra)."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

import langchain_workers_ai
import llama_index_workers_ai
import workers_ai
from workers_ai._distribution import extra_requirement, framework_imports, install_hint


@pytest.mark.parametrize("package", [workers_ai, langchain_workers_ai, llama_index_workers_ai])
def test_every_package_reports_the_installed_version(package: object) -> None:
    assert package.__version__ == metadata.version("workers-ai-python")


def test_user_agent_carries_the_version() -> None:
    from workers_ai.client import USER_AGENT

    assert USER_AGENT.startswith(f"workers-ai-python/{workers_ai.__version__} ")


@pytest.mark.parametrize(
    ("extra", "distribution", "floor"),
    [("langchain", "langchain-core", ">="), ("llama-index", "llama-index-core", ">=")],
)
def test_extra_requirements_come_from_the_metadata(
    extra: str, distribution: str, floor: str
) -> None:
    requirement = extra_requirement(extra, distribution)
    assert requirement is not None and requirement.startswith(distribution)
    assert floor in requirement
    assert extra_requirement("no-such-extra", distribution) is None


def test_a_missing_framework_names_the_extra_to_install() -> None:
    hint = re.escape('pip install "workers-ai-python[langchain]"')
    with (
        pytest.raises(ModuleNotFoundError, match=hint) as caught,
        framework_imports("langchain_workers_ai", "langchain", "no-such-dist", "no_such_fw"),
    ):
        import no_such_fw  # type: ignore[import-not-found]  # noqa: F401
    assert caught.value.name == "no_such_fw"
    assert "no-such-dist, which is not installed" in str(caught.value)


def test_a_too_old_framework_names_the_range_we_need() -> None:
    needed = extra_requirement("langchain", "langchain-core")
    assert needed is not None
    with (
        pytest.raises(ImportError) as caught,
        framework_imports("langchain_workers_ai", "langchain", "langchain-core", "langchain_core"),
    ):
        from langchain_core.exceptions import NameOnlyAFutureReleaseHas  # type: ignore[attr-defined]  # noqa: F401
    message = str(caught.value)
    assert f"langchain-core {metadata.version('langchain-core')}" in message
    assert needed in message
    assert 'pip install --upgrade "workers-ai-python[langchain]"' in message


def test_other_import_errors_pass_unchanged() -> None:
    with (
        pytest.raises(ModuleNotFoundError) as caught,
        framework_imports("langchain_workers_ai", "langchain", "langchain-core", "langchain_core"),
    ):
        import not_the_framework  # type: ignore[import-not-found]  # noqa: F401
    assert str(caught.value) == "No module named 'not_the_framework'"


def test_install_hint_is_a_command_users_can_paste() -> None:
    assert install_hint("emulator") == 'pip install "workers-ai-python[emulator]"'
