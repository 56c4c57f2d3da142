"""Find the project's tests the way pytest does, and what links each of them to requirements.

pytest itself collects (``--collect-only`` with :mod:`autodev.spec.pytest_plugin`), so node IDs, parametrized
tests, ``conftest.py`` and the project's own pytest configuration all count exactly as in a real run. It runs
like the tests do: the project's interpreter, in the project root, its own process group, a timeout and an
environment without credentials, because collecting imports the test files and so runs code.

A test file pytest cannot import (a syntax error, or, most often for autodev, a module the tests need and the
model has not written yet) yields no tests in pytest; those files are read with ``ast`` instead, so their tests
are still linked and still become work. Without pytest at all there is nothing to do, and that is an error.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autodev.discovery import find_test_files
from autodev.errors import TestRunError
from autodev.logs import get_logger
from autodev.spec import pytest_plugin
from autodev.spec.model import TestItem
from autodev.verify.collection import CollectionProblem, project_problems
from autodev.verify.confine import UNCONFINED, Confinement
from autodev.verify.runner import TestRun, is_pytest_command, run_tests

_PYTHON_PROGRAM = re.compile(r"^python(\d+(\.\d+)?)?[tw]?(\.exe)?$")
_PYTEST_PROGRAMS = frozenset({"pytest", "py.test"})
_NO_PYTEST = re.compile(r"No module named '?pytest'?(?![\w.])")
_NOT_WRITTEN_YET = re.compile(r"ModuleNotFoundError|ImportError")


class _ReportedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    nodeid: str
    file: str
    line: int = 0
    marked: list[str] = Field(default_factory=list)
    mentioned: list[str] = Field(default_factory=list)


class _ReportedError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str
    message: str = ""


class _Report(BaseModel):
    """What the plugin wrote; validated because it comes from a process that ran the project's code."""

    model_config = ConfigDict(extra="ignore")

    items: list[_ReportedItem] = Field(default_factory=list)
    imports: dict[str, list[str]] = Field(default_factory=dict)
    errors: list[_ReportedError] = Field(default_factory=list)
    req_registered: bool = True
    config_file: str = ""


def collect_argv(test_command: str | Sequence[str], *, root: Path | None = None) -> list[str]:
    """The pytest to collect with: the test command's own interpreter when it names one, else autodev's.

    ``.venv/bin/python -X dev -m pytest tests -x`` gives ``[.venv/bin/python, -X, dev, -m, pytest]`` (arguments
    after ``pytest`` are left out: the project's pytest configuration says where the tests are, and options such
    as ``-x`` or ``-n 4`` mean nothing to a collection); ``.venv/bin/pytest`` gives the ``python`` beside it
    when there is one (a relative path is looked up under ``root``, the project root).
    """
    try:
        argv = shlex.split(test_command) if isinstance(test_command, str) else list(test_command)
    except ValueError:
        argv = []
    default = [sys.executable, "-m", "pytest"]
    if not argv:
        return default
    program = PurePosixPath(argv[0].replace("\\", "/")).name.lower()
    if _PYTHON_PROGRAM.match(program) and is_pytest_command(argv):
        module_at = next(i for i, arg in enumerate(argv) if arg == "-m" or arg.startswith("-m"))
        return argv[: module_at + 1] if argv[module_at] != "-m" else argv[: module_at + 2]
    if program in _PYTEST_PROGRAMS and ("/" in argv[0] or "\\" in argv[0]):
        sibling = str(PurePosixPath(argv[0].replace("\\", "/")).with_name("python"))
        if ((root or Path.cwd()) / sibling).is_file():
            return [sibling, "-m", "pytest"]
    return default


class Collected(BaseModel):
    """What a collection found: the tests, and the failures only the user can fix (see verify/collection.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tests: list[TestItem]
    problems: list[CollectionProblem] = Field(default_factory=list)
    req_registered: bool = True  # by the project's own pytest configuration (unknown: True)
    config_file: str = ""  # the project's pytest configuration file (or where it would go), relative


def collect_tests(root: Path, pytest_argv: Sequence[str], *, scratch_dir: Path, timeout_s: float) -> list[TestItem]:
    """Every test of the project, in pytest's order, with the IDs and imports that link it to requirements.

    ``pytest_argv`` runs pytest (``[python, "-m", "pytest"]``, see :func:`collect_argv`). Test files pytest could
    not import are read from their source and logged as a warning; when pytest produced no report at all (a
    broken ``conftest.py``, a timeout) every test file is read from its source. Raises TestRunError when pytest
    is not installed for that interpreter or the command cannot be started.
    """
    return collect(root, pytest_argv, scratch_dir=scratch_dir, timeout_s=timeout_s).tests


def collect(
    root: Path,
    pytest_argv: Sequence[str],
    *,
    scratch_dir: Path,
    timeout_s: float,
    pass_env: Sequence[str] = (),
    confine: Confinement = UNCONFINED,
) -> Collected:
    """:func:`collect_tests`, with the collection failures that are the project's (``spec check`` reports them);
    the collection sees the environment a test run sees (``[tests] pass_env`` included)."""
    log = get_logger()
    root = root.resolve()
    scratch = scratch_dir.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    argv = list(pytest_argv)
    if not argv:
        raise TestRunError("cannot collect the tests: the pytest command is empty")
    with tempfile.TemporaryDirectory(dir=scratch, prefix="collect-") as work_dir:
        work = Path(work_dir)
        out = work / "tests.json"
        env = {**os.environ, pytest_plugin.OUT_ENV: str(out)}
        options = ["--collect-only"]  # run_tests loads the plugin into every pytest it recognises
        run = run_tests(root, argv, timeout_s=timeout_s, scratch_dir=work, env=env, extra_args=options,
                        pass_env=pass_env, confine=confine)  # fmt: skip
        report = _read_report(out)
    problems = project_problems(run, root)
    if report is not None:
        config_file = _relative(root, report.config_file) if report.config_file else _config_to_write(root)
        tests = _from_report(root, report, run)
        return Collected(tests=tests, problems=problems, req_registered=report.req_registered, config_file=config_file)
    if run.exit_code is not None and _NO_PYTEST.search(run.output):
        raise TestRunError(
            f"cannot collect the tests: pytest is not installed for `{' '.join(argv)}`; install it there "
            "(`pip install pytest`) or point `[project] test_command` in autodev.toml at an interpreter "
            "that has it"
        )
    log.warning(
        "pytest could not collect the tests; reading the test files instead",
        exit_code=run.exit_code,
        timed_out=run.timed_out,
        output=_last_lines(run.output),
    )
    tests = _dedupe(item for rel in find_test_files(root) for item in static_tests(root, rel))
    return Collected(tests=tests, problems=problems)


def _read_report(out: Path) -> _Report | None:
    try:
        return _Report.model_validate(json.loads(out.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError):  # missing (pytest stopped early) or garbled
        return None


def _from_report(root: Path, report: _Report, run: TestRun) -> list[TestItem]:
    log = get_logger()
    items = [
        TestItem(
            nodeid=entry.nodeid,
            file=_relative(root, entry.file),
            line=entry.line,
            marked=tuple(entry.marked),
            mentioned=tuple(entry.mentioned),
            imports=tuple(report.imports.get(entry.file, ())),
        )
        for entry in report.items
    ]
    collected_files = {item.file for item in items}
    for error in report.errors:
        files = _test_files_under(root, Path(error.path))
        # Tests that import a module not written yet are the normal start of test-first work, not a problem.
        notice = log.info if _NOT_WRITTEN_YET.search(error.message) else log.warning
        notice(
            "pytest could not collect a test file; reading its tests from the source instead",
            path=_relative(root, error.path),
            error=_last_lines(error.message, count=1),
        )
        for rel in files:
            if rel not in collected_files:
                collected_files.add(rel)
                items.extend(static_tests(root, rel))
    if run.timed_out:
        log.warning("collecting the tests timed out after the report was written", timeout_s=run.timeout_s)
    return _dedupe(items)


def _config_to_write(root: Path) -> str:
    """Where a project without pytest configuration would put it: its pyproject.toml when it has one."""
    return "pyproject.toml" if (root / "pyproject.toml").is_file() else "pytest.ini"


def _test_files_under(root: Path, path: Path) -> list[str]:
    """The test files a failed collector stood for: a module is itself, a directory (a broken conftest) all in it."""
    if path.is_dir():
        prefix = _relative(root, str(path))
        return [prefix + "/" + rel if prefix not in ("", ".") else rel for rel in find_test_files(path)]
    return [_relative(root, str(path))]


def _relative(root: Path, file: str) -> str:
    path = Path(file)
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:  # outside the project (a test path given on the command line): keep it whole
        return path.as_posix()


def _dedupe(items: Iterator[TestItem] | list[TestItem]) -> list[TestItem]:
    seen: dict[str, TestItem] = {}
    for item in items:
        seen.setdefault(item.nodeid, item)
    return list(seen.values())


def _last_lines(text: str, *, count: int = 5) -> str:
    lines = [line.removeprefix("E").strip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def static_tests(root: Path, rel: str) -> list[TestItem]:
    """The tests of one file as pytest would collect them by default, read without importing it.

    Top-level ``test*`` functions and ``test*`` methods of top-level ``Test*`` classes without ``__init__``;
    a parametrized test is one item under its base node ID. A file that does not parse has no tests.
    """
    path = root / rel
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    imports = tuple(pytest_plugin.file_imports(path, is_module=lambda name: _module_exists(root, name)))
    module_marks = _module_marks(tree)
    items: list[TestItem] = []
    for node, prefix, outer_marks in _test_functions(tree):
        mentioned = pytest_plugin.ids_in(ast.get_docstring(node) or "")
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        segment = "\n".join(lines[first - 1 : node.end_lineno or node.lineno])
        mentioned += pytest_plugin.ids_in(" ".join(pytest_plugin.comments_in(segment)))
        marked = pytest_plugin.marked_ids([*_req_args(node.decorator_list), *outer_marks, *module_marks])
        items.append(
            TestItem(
                nodeid=f"{rel}::{prefix}{node.name}",
                file=rel,
                marked=tuple(marked),
                mentioned=tuple(dict.fromkeys(mentioned)),
                imports=imports,
                line=first,
            )
        )
    return items


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _test_functions(
    tree: ast.Module,
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str, list[tuple[Any, ...]]]]:
    for node in tree.body:
        if isinstance(node, _FUNCTIONS) and node.name.startswith("test"):
            yield node, "", []
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test") and not _has_init(node):
            class_marks = [*_req_args(node.decorator_list), *_pytestmark_args(node.body)]
            for member in node.body:
                if isinstance(member, _FUNCTIONS) and member.name.startswith("test"):
                    yield member, f"{node.name}::", class_marks


def _has_init(node: ast.ClassDef) -> bool:
    return any(isinstance(member, _FUNCTIONS) and member.name == "__init__" for member in node.body)


def _module_marks(tree: ast.Module) -> list[tuple[Any, ...]]:
    return _pytestmark_args(tree.body)


def _pytestmark_args(body: list[ast.stmt]) -> list[tuple[Any, ...]]:
    """``pytestmark = pytest.mark.req(...)`` or a list of marks, at module or class level."""
    found: list[tuple[Any, ...]] = []
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in statement.targets
        ):
            value = statement.value
            marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            found.extend(_req_args(marks))
    return found


def _req_args(expressions: Sequence[ast.expr]) -> list[tuple[Any, ...]]:
    """The literal arguments of ``pytest.mark.req(...)`` / ``mark.req(...)`` calls among ``expressions``."""
    found: list[tuple[Any, ...]] = []
    for expression in expressions:
        if not (isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute)):
            continue
        if expression.func.attr != pytest_plugin.REQ_MARKER or _last_name(expression.func.value) != "mark":
            continue
        found.append(tuple(arg.value for arg in expression.args if isinstance(arg, ast.Constant)))
    return found


def _last_name(expression: ast.expr) -> str:
    if isinstance(expression, ast.Attribute):
        return expression.attr
    if isinstance(expression, ast.Name):
        return expression.id
    return ""


def _module_exists(root: Path, module: str) -> bool:
    """Whether the project has a file for ``module`` (flat or ``src/`` layout), for ``from pkg import mod``."""
    stem = "/".join(module.split("."))
    return any(
        (root / base / candidate).is_file()
        for base in ("", "src")
        for candidate in (f"{stem}.py", f"{stem}/__init__.py")
    )
