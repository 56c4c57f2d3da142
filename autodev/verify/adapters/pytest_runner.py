"""pytest through its junit XML report (xunit1, which has the file attribute) and autodev's plugin.

The pytest-specific part of a run: which commands run pytest (so options may be added), the options (no cache,
collection errors that do not stop the run, the plugin) and the report read back. The code under test runs inside
the pytest process, so the run is arranged so that it cannot stand in for pytest or quietly rewrite its verdict:

- ``python -m pytest`` runs as ``python -c BOOTSTRAP``, which imports pytest, its built-in plugins and autodev's
  plugin with the project's directory off ``sys.path`` and puts the directory back before the tests are collected
  (a ``pytest.py`` or ``xml/`` package in the project cannot shadow them; the tests import the project as before).
  A ``pytest`` console script already starts with its own directory, not the project's, on ``sys.path``.
- The junit report and the plugin's record of the session go to a fresh private directory named by a variable the
  plugin takes out of the environment at import, not by a path on the command line.
- :meth:`PytestAdapter.session` reads that record, which the judge compares with the exit status and the report.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from autodev.spec.pytest_plugin import JUNIT_NAME, RESULTS_ENV, SESSION_NAME
from autodev.verify.adapters.base import RunPlace
from autodev.verify.junit import TestOutcome, read_junit_file
from autodev.verify.plugin import plugin_options, running_test
from autodev.verify.session import SessionRecord, read_session

__all__ = ["PYTEST_NO_TESTS_COLLECTED", "PytestAdapter", "is_pytest_command", "unshadowed"]

PYTEST_NO_TESTS_COLLECTED = 5

BOOTSTRAP = """\
import importlib, os, sys
here = os.getcwd()
def elsewhere(entry):
    try:
        return os.path.realpath(entry or os.curdir) != os.path.realpath(here)
    except (OSError, ValueError, TypeError):
        return True
sys.path[:] = [entry for entry in sys.path if elsewhere(entry)]
import pytest
try:
    from _pytest.config import default_plugins
except ImportError:
    default_plugins = ()
for name in default_plugins:
    try:
        importlib.import_module("_pytest." + name)
    except Exception:
        pass
for name in PLUGINS:
    importlib.import_module(name)
sys.path.insert(0, here)
sys.argv[0] = os.path.join(os.path.dirname(pytest.__file__), "__main__.py")
main = getattr(pytest, "console_main", None)
raise SystemExit(main() if main is not None else pytest.main())
"""
"""Run as ``python -c``: what ``python -m pytest`` does, but with pytest and the plugins found where they are
installed, never in the project (``-m`` would put the project first on ``sys.path``). Plain Python 3.8 and later,
no ``-P`` (3.11); ``PLUGINS`` is replaced with the plugin modules' names."""

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
    return _module_option(interpreter_args) is not None


def _module_option(interpreter_args: Sequence[str]) -> tuple[int, int] | None:
    """Where ``-m pytest`` is among the interpreter's arguments: (its index, how many arguments it takes)."""
    index = 0
    while index < len(interpreter_args):
        argument = interpreter_args[index]
        if argument == "-m":
            following = interpreter_args[index + 1] if index + 1 < len(interpreter_args) else ""
            return (index, 2) if following in ("pytest", "py.test") else None
        if argument.startswith("-m"):
            return (index, 1) if argument[2:] in ("pytest", "py.test") else None
        if argument in _PYTHON_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if not argument.startswith("-") or argument == "-c":
            return None
        index += 1
    return None


def unshadowed(argv: Sequence[str], plugins: Sequence[str]) -> list[str]:
    """``python [options] -m pytest ARGS`` as ``python [options] -c BOOTSTRAP ARGS`` (through ``uv run`` and the
    like too); any other command as it is (a ``pytest`` console script does not put the project on ``sys.path``).
    """
    program = re.split(r"[\\/]", argv[0])[-1].lower() if argv else ""
    if program in _ENVIRONMENT_RUNNERS and len(argv) > 2 and argv[1] == "run":
        return [*argv[:2], *unshadowed(argv[2:], plugins)]
    if not _PYTHON_PROGRAM.match(program):
        return list(argv)
    found = _module_option(argv[1:])
    if found is None:
        return list(argv)
    index, width = found
    bootstrap = BOOTSTRAP.replace("PLUGINS", repr(tuple(plugins)))
    return [argv[0], *argv[1 : 1 + index], "-c", bootstrap, *argv[1 + index + width :]]


class PytestAdapter:
    """pytest: a junit report per run, autodev's plugin loaded, the running test known on a timeout."""

    name = "pytest"
    reads_output = False

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        """Per-test outcomes via junit (xunit1 has the file attribute), autodev's plugin, nothing in the user's tree.

        A test file that cannot be imported yet (its module is another requirement's, not written) must not stop
        the tests of the requirement being worked on: collection errors are reported, and the other tests still run.
        The report's directory is a fresh one in the run's own, named only in the environment (see the module).
        """
        place.env[RESULTS_ENV] = tempfile.mkdtemp(dir=place.work, prefix="results-")
        plugin = plugin_options(command, place.root, place.work, place.env)
        options = ["-o", "junit_family=xunit1", "-p", "no:cacheprovider", "--continue-on-collection-errors", *plugin]
        already_quiet = any(arg == "--quiet" or re.fullmatch(r"-q+", arg) for arg in command)
        runnable = unshadowed(command, plugin[1::2])
        return [*runnable, *(options if already_quiet else [*options, "-q"])]

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        return read_junit_file(_results(place) / JUNIT_NAME, root=place.root)

    def session(self, place: RunPlace) -> SessionRecord:
        """pytest's own record of the run (its exit status, each test's outcome), read for the judge to compare."""
        return read_session(_results(place) / SESSION_NAME)

    def running(self, place: RunPlace) -> str | None:
        return running_test(place.work)


def _results(place: RunPlace) -> Path:
    return Path(place.env.get(RESULTS_ENV) or place.work)
