"""pytest through its junit XML report (xunit1, which has the file attribute) and autodev's plugin.

The pytest-specific part of a run: which commands run pytest (so options may be added), the options (no cache,
collection errors that do not stop the run, the plugin) and the report read back. The code under test runs inside
the pytest process, so the run is arranged so that it cannot stand in for pytest or quietly rewrite its verdict:

- ``python -m pytest`` runs as ``python -c BOOTSTRAP``, which imports pytest, its built-in plugins and autodev's
  plugin with the project's directory off ``sys.path`` and puts the directory back before the tests are collected
  (a ``pytest.py`` or ``xml/`` package in the project cannot shadow them; the tests import the project as before).
  A ``pytest`` console script starts with its own directory on ``sys.path``, but a ``PYTHONPATH`` naming the
  project would put the project's ``pytest.py`` before the real one: it runs as its interpreter with the bootstrap.
- The junit report and the plugin's record of the session go to a fresh private directory named by a variable the
  plugin takes out of the environment at import, not by a path on the command line.
- :meth:`PytestAdapter.session` reads that record, which the judge compares with the exit status and the report.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from autodev.spec.pytest_plugin import JUNIT_NAME, RESULTS_ENV, SESSION_NAME, TEST_TIMEOUT_ENV
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
safe = getattr(sys.flags, "safe_path", False) or sys.flags.isolated
kept = sys.path[:] if safe else sys.path[1:]
sys.path[:] = [entry for entry in kept if elsewhere(entry)]
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
    try:
        importlib.import_module(name)
    except ImportError:
        pass
sys.path[:] = kept if safe else [FIRST or here] + kept
sys.argv[0] = PROGRAM or os.path.join(os.path.dirname(pytest.__file__), "__main__.py")
main = getattr(pytest, "console_main", None)
raise SystemExit(main() if main is not None else pytest.main())
"""
"""Run as ``python -c``: what ``python -m pytest`` (or a ``pytest`` script) does, but with pytest and the plugins
imported where they are installed, never from the project: ``-m`` puts the project first on ``sys.path``, and a
``PYTHONPATH`` naming it does so for a script too. ``sys.path`` is then put back as ``-m`` (the project's directory,
``FIRST`` None) or the script (``FIRST`` its directory) would have it. Plain Python 3.8 and later, no ``-P`` (3.11).
``PLUGINS``, ``FIRST`` and ``PROGRAM`` are replaced with literals."""

_PYTEST_PROGRAMS = frozenset({"pytest", "py.test", "pytest.exe", "py.test.exe"})
_PYTHON_PROGRAM = re.compile(r"^python(\d+(\.\d+)?)?[tw]?(\.exe)?$")
_PYTHON_OPTIONS_WITH_VALUE = frozenset({"-X", "-W", "-Q"})
_ENVIRONMENT_RUNNERS = frozenset({"uv", "poetry", "pdm", "pipenv", "rye"})
_SCRIPT_HEAD_BYTES = 4096


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


def unshadowed(argv: Sequence[str], plugins: Sequence[str], root: Path, env: Mapping[str, str]) -> list[str]:
    """``python [options] -m pytest ARGS`` as ``python [options] -c BOOTSTRAP ARGS`` (through ``uv run`` and the
    like too), a ``pytest`` script as its interpreter with the bootstrap; any other command as it is."""
    program = re.split(r"[\\/]", argv[0])[-1].lower() if argv else ""
    if program in _ENVIRONMENT_RUNNERS and len(argv) > 2 and argv[1] == "run":
        return [*argv[:2], *unshadowed(argv[2:], plugins, root, env)]
    if program in _PYTEST_PROGRAMS:
        script = _console_script(argv[0], root, env)
        if script is None:
            return list(argv)
        interpreter, path = script
        return [interpreter, "-c", _bootstrap(plugins, first=str(path.parent), program=str(path)), *argv[1:]]
    found = _module_option(argv[1:]) if _PYTHON_PROGRAM.match(program) else None
    if found is None:
        return list(argv)
    index, width = found
    return [argv[0], *argv[1 : 1 + index], "-c", _bootstrap(plugins), *argv[1 + index + width :]]


def _bootstrap(plugins: Sequence[str], *, first: str | None = None, program: str | None = None) -> str:
    return (
        BOOTSTRAP.replace("PLUGINS", repr(tuple(plugins)))
        .replace("FIRST", repr(first))
        .replace("PROGRAM", repr(program))
    )


def _console_script(program: str, root: Path, env: Mapping[str, str]) -> tuple[str, Path] | None:
    """The interpreter and path of a pip-made ``pytest`` script (``#!/path/to/python``), or None for anything else
    (a wrapper, a ``#!/usr/bin/env`` line, a binary): those run as they are."""
    found = str(root / program) if "/" in program else shutil.which(program, path=env.get("PATH"))
    if found is None:
        return None
    path = Path(found)
    try:
        with path.open("rb") as script:
            head = script.read(_SCRIPT_HEAD_BYTES)
    except OSError:
        return None
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    interpreter = first_line[2:].strip() if first_line.startswith("#!") else ""
    name = re.split(r"[\\/]", interpreter)[-1].lower()
    if not interpreter or " " in interpreter or not _PYTHON_PROGRAM.match(name) or b"pytest" not in head:
        return None
    return interpreter, path


class PytestAdapter:
    """pytest: a junit report per run, autodev's plugin loaded, the running test known on a timeout."""

    name = "pytest"
    reads_output = False

    def __init__(self, *, test_timeout_s: float = 0.0) -> None:
        self.test_timeout_s = test_timeout_s
        """Each test's bound (``[tests] test_timeout_s``), enforced by the plugin; 0: none but the run's."""

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        """Per-test outcomes via junit (xunit1 has the file attribute), autodev's plugin, nothing in the user's tree.

        A test file that cannot be imported yet (its module is another requirement's, not written) must not stop
        the tests of the requirement being worked on: collection errors are reported, and the other tests still run.
        The report's directory is a fresh one in the run's own, named only in the environment (see the module).
        """
        place.env[RESULTS_ENV] = tempfile.mkdtemp(dir=place.work, prefix="results-")
        if self.test_timeout_s > 0:
            place.env[TEST_TIMEOUT_ENV] = f"{self.test_timeout_s:g}"
        plugin = plugin_options(command, place.root, place.work, place.env)
        options = ["-o", "junit_family=xunit1", "-p", "no:cacheprovider", "--continue-on-collection-errors", *plugin]
        already_quiet = any(arg == "--quiet" or re.fullmatch(r"-q+", arg) for arg in command)
        runnable = unshadowed(command, plugin[1::2], place.root, place.env)
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
