"""Which adapter runs a project's tests: ``[tests] runner``, else the command, else the project's files.

``auto`` reads the command first (``cargo test``, ``node --test``, ``npx jest``, pytest), then, for a script
runner (``npm test``), the package.json test script. With no test command in autodev.toml the project decides
the default one: Cargo.toml means ``cargo test``, a package.json whose test script names jest or vitest means
``npm test``, a package.json or ``*.test.js`` files without one mean ``node --test``, anything else pytest.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from autodev.config import Config, TestRunnerName
from autodev.discovery import PYTHON_ONLY, Language, is_tool_dir
from autodev.verify.adapters.base import CommandAdapter, RunnerAdapter
from autodev.verify.adapters.cargo import CargoAdapter, is_cargo_test_command
from autodev.verify.adapters.javascript import SCRIPT_RUNNERS, JestAdapter, VitestAdapter, program_of
from autodev.verify.adapters.node import NodeAdapter, is_node_test_command
from autodev.verify.adapters.pytest_runner import PytestAdapter, is_pytest_command

__all__ = [
    "ProjectTests",
    "RunnerName",
    "adapter_for",
    "default_test_command",
    "detect_runner",
    "languages_of",
    "project_test_command",
    "project_tests",
]

RunnerName = TestRunnerName
RUNNER_NAMES: tuple[str, ...] = get_args(RunnerName)

DEFAULT_COMMANDS: dict[str, str] = {
    "pytest": "python -m pytest",
    "node": "node --test",
    "jest": "npm test",
    "vitest": "npm test",
    "cargo": "cargo test",
    "command": "python -m pytest",
}
_JS_TEST_FILE = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
_SCAN_LIMIT = 2_000


def adapter_for(
    runner: RunnerName | str,
    command: Sequence[str],
    root: Path,
    *,
    include_ignored: bool = False,
    test_timeout_s: float = 0.0,
) -> RunnerAdapter:
    """The adapter named by ``runner``; for ``auto``, the one the command (and the project's package.json) shows."""
    name = runner if runner != "auto" else runner_of_command(command, root)
    if name == "pytest":
        return PytestAdapter(test_timeout_s=test_timeout_s)
    if name == "node":
        return NodeAdapter()
    if name == "jest":
        return JestAdapter()
    if name == "vitest":
        return VitestAdapter()
    if name == "cargo":
        return CargoAdapter(include_ignored=include_ignored)
    if name == "command":
        return CommandAdapter()
    raise ValueError(f"unknown test runner {runner!r}; use one of {', '.join(RUNNER_NAMES)}")


def runner_of_command(command: Sequence[str], root: Path) -> str:
    """What a command runs: ``pytest``, ``node``, ``jest``, ``vitest``, ``cargo``, else ``command``."""
    if is_pytest_command(command):
        return "pytest"
    if is_cargo_test_command(command):
        return "cargo"
    if is_node_test_command(command):
        return "node"
    program = program_of(command)
    words = [arg for arg in command if not arg.startswith("-")]
    if program in ("jest", "vitest"):
        return program
    if program == "npx" and len(words) > 1 and program_of(words[1:]) in ("jest", "vitest"):
        return program_of(words[1:])
    if program in SCRIPT_RUNNERS and _runs_test_script(words[1:]):
        script = package_test_script(root)
        if script is not None:
            return _runner_of_script(script, root)
    return "command"


def detect_runner(root: Path) -> str:
    """The runner a project without a test command uses, from its files (see the module's docstring)."""
    if (root / "Cargo.toml").is_file():
        return "cargo"
    script = package_test_script(root)
    if script is not None:
        named = _runner_of_script(script, root)
        if named in ("jest", "vitest"):
            return named
    if (root / "package.json").is_file() or _has_js_test_files(root):
        return "node"
    return "pytest"


def default_test_command(runner: str) -> str:
    """The test command of a runner when autodev.toml gives none."""
    return DEFAULT_COMMANDS.get(runner, DEFAULT_COMMANDS["pytest"])


def project_test_command(config: Config, root: Path) -> str:
    """``[project] test_command`` when the user set it; else the default of ``[tests] runner`` or the project's."""
    if "test_command" in config.project.model_fields_set:
        return config.project.test_command
    runner = config.tests.runner
    if runner in ("auto", "command"):
        return default_test_command(detect_runner(root)) if runner == "auto" else config.project.test_command
    return default_test_command(runner)


def package_test_script(root: Path) -> str | None:
    """package.json's ``scripts.test``, or None (no file, not JSON, no such script)."""
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    script = scripts.get("test") if isinstance(scripts, dict) else None
    return script if isinstance(script, str) else None


def _runs_test_script(words: Sequence[str]) -> bool:
    return bool(words) and (words[0] in ("test", "t") or (words[0] in ("run", "run-script") and words[1:2] == ["test"]))


def _runner_of_script(script: str, root: Path) -> str:
    """A test script naming jest (installed in node_modules) or vitest; ``node --test`` is not given options
    through npm (they would land after its file arguments), so it is judged by its exit status."""
    words = re.split(r"[\s;&|()]+", script)
    programs = {program_of([word]) for word in words if word}
    if "jest" in programs and (root / "node_modules" / ".bin" / "jest").exists():
        return "jest"
    if "vitest" in programs:
        return "vitest"
    return "command"


def _has_js_test_files(root: Path) -> bool:
    seen = 0
    for _directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not is_tool_dir(d) and d != "target"]
        for name in files:
            if _JS_TEST_FILE.search(name):
                return True
        seen += len(files)
        if seen > _SCAN_LIMIT:
            return False
    return False


def languages_of(runner: str) -> tuple[Language, ...]:
    """The languages whose test files a runner's project has (for :func:`autodev.discovery.find_test_files`)."""
    if runner in ("node", "jest", "vitest"):
        return ("javascript",)
    if runner == "cargo":
        return ("rust",)
    return PYTHON_ONLY


@dataclass(frozen=True)
class ProjectTests:
    """How a project's tests run: the command, the adapter that reads it, and the languages of its test files."""

    command: str
    adapter: RunnerAdapter
    languages: tuple[Language, ...]

    @property
    def runner(self) -> str:
        """The adapter's name: ``pytest``, ``node``, ``jest``, ``vitest``, ``cargo`` or ``command``."""
        return self.adapter.name

    def in_copy(self) -> RunnerAdapter:
        """The adapter for a candidate's scratch copy: cargo builds into the copy's own target directory."""
        if isinstance(self.adapter, CargoAdapter):
            return CargoAdapter(include_ignored=self.adapter.include_ignored, own_target_dir=True)
        return self.adapter


def project_tests(config: Config, root: Path) -> ProjectTests:
    """The project's test command (:func:`project_test_command`) and its adapter (``[tests] runner``,
    ``include_ignored``); a plain command's test files are those of the runner the project's files show."""
    command = project_test_command(config, root)
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []  # run_tests says what is wrong with it
    adapter = adapter_for(config.tests.runner, argv, root, include_ignored=config.tests.include_ignored,
                          test_timeout_s=config.tests.test_timeout_s)  # fmt: skip
    named = adapter.name if adapter.name != "command" else detect_runner(root)
    return ProjectTests(command=command, adapter=adapter, languages=languages_of(named))
