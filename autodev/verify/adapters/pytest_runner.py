"""pytest through its junit XML report (xunit1, which has the file attribute) and autodev's plugin.

The pytest-specific part of a run, moved here from ``verify/runner.py`` unchanged: which commands run pytest (so
options may be added), the options (report, no cache, collection errors that do not stop the run, the plugin) and
the report read back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from autodev.verify.adapters.base import RunPlace
from autodev.verify.junit import TestOutcome, read_junit_file
from autodev.verify.plugin import plugin_options, running_test

__all__ = ["PYTEST_NO_TESTS_COLLECTED", "PytestAdapter", "is_pytest_command"]

PYTEST_NO_TESTS_COLLECTED = 5
REPORT_NAME = "junit.xml"

_PYTEST_PROGRAMS = frozenset({"pytest", "py.test", "pytest.exe", "py.test.exe"})
_PYTHON_PROGRAM = re.compile(r"^python(\d+(\.\d+)?)?[tw]?(\.exe)?$")
_PYTHON_OPTIONS_WITH_VALUE = frozenset({"-X", "-W", "-Q"})
_ENVIRONMENT_RUNNERS = frozenset({"uv", "poetry", "pdm", "pipenv", "rye"})


def is_pytest_command(argv: Sequence[str]) -> bool:
    """Whether we may add pytest options (junit report, no cache) to this command."""
    if not argv:
        return False
    program = re.split(r"[\\/]", argv[0])[-1].lower()
    if program in _PYTEST_PROGRAMS:
        return True
    if _PYTHON_PROGRAM.match(program):
        return _runs_pytest_module(argv[1:])
    if program in _ENVIRONMENT_RUNNERS and len(argv) > 2 and argv[1] == "run":
        return is_pytest_command(argv[2:])
    return False


def _runs_pytest_module(interpreter_args: Sequence[str]) -> bool:
    """``python [options] -m pytest``: options may precede ``-m``; a script or ``-c`` means something else."""
    arguments = iter(interpreter_args)
    for argument in arguments:
        if argument == "-m":
            return next(arguments, "") in ("pytest", "py.test")
        if argument.startswith("-m"):
            return argument[2:] in ("pytest", "py.test")
        if argument in _PYTHON_OPTIONS_WITH_VALUE:
            next(arguments, None)
            continue
        if not argument.startswith("-") or argument == "-c":
            return False
    return False


class PytestAdapter:
    """pytest: a junit report per run, autodev's plugin loaded, the running test known on a timeout."""

    name = "pytest"
    reads_output = False

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        """Per-test outcomes via junit (xunit1 has the file attribute), autodev's plugin, nothing in the user's tree.

        A test file that cannot be imported yet (its module is another requirement's, not written) must not stop
        the tests of the requirement being worked on: collection errors are reported, and the other tests still run.
        """
        options = [
            f"--junitxml={place.work / REPORT_NAME}",
            "-o",
            "junit_family=xunit1",
            "-p",
            "no:cacheprovider",
            "--continue-on-collection-errors",
            *plugin_options(command, place.root, place.work, place.env),
        ]
        already_quiet = any(arg == "--quiet" or re.fullmatch(r"-q+", arg) for arg in command)
        return [*command, *(options if already_quiet else [*options, "-q"])]

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        return read_junit_file(place.work / REPORT_NAME, root=place.root)

    def running(self, place: RunPlace) -> str | None:
        return running_test(place.work)
