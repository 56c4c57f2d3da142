"""The pytest plugin autodev runs and collects tests with: the ``req`` marker, the running test, the report.

Every pytest run autodev starts loads it (``-p autodev.spec.pytest_plugin``, or a copy of this file when pytest
runs in another interpreter), so it always registers the marker: a project run with ``--strict-markers`` accepts
``@pytest.mark.req("REQ-1")`` under autodev whether or not its own configuration registers it. With
``AUTODEV_RUNNING_OUT`` in the environment it keeps the node ID of the test in progress in that file, so that a
run killed at its timeout can say which test hung. With ``AUTODEV_COLLECT_OUT``, at the end of collection it
writes JSON to that path: every collected test with its line, the requirement IDs it is marked with or
mentions, the modules its file imports, and the collectors that failed (a syntax error, a module that is not
written yet), which autodev then reads without importing them. With ``AUTODEV_RESULTS_DIR`` it writes pytest's junit
report there (``junit.xml``: the path is on no command line) and a record of the session (``session.json``: pytest's
own exit status and each test's outcome as its hooks saw them), which autodev compares with the report and with the
process's exit status: code under test that rewrites the report or exits early with status 0 is caught that way.
The private variables are taken out of ``os.environ`` when this module is imported, before any test module is.
(PYTEST_DONT_REWRITE: the module is imported before pytest loads it, and has no asserts to rewrite.)

This module uses only the standard library and never imports pytest or autodev at run time: it runs inside the
project's interpreter, which may have neither autodev nor its dependencies, and autodev itself (which does not
depend on pytest) imports its helpers to read test files that could not be collected.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import json
import os
import re
import signal
import sys
import textwrap
import threading
import tokenize
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only
    import pytest

OUT_ENV = "AUTODEV_COLLECT_OUT"
RUNNING_ENV = "AUTODEV_RUNNING_OUT"
RESULTS_ENV = "AUTODEV_RESULTS_DIR"
TEST_TIMEOUT_ENV = "AUTODEV_TEST_TIMEOUT_S"
TEST_BOUND_PLUGIN_NAME = "autodev-test-bound"
JUNIT_NAME = "junit.xml"
SESSION_NAME = "session.json"
SESSION_PLUGIN_NAME = "autodev-session"
REQ_MARKER = "req"
PLUGIN_NAME = "autodev-collect"
RUNNING_PLUGIN_NAME = "autodev-running"
AUTODEV_MARKER_LINE = f"{REQ_MARKER}(*ids): the requirement IDs this test proves (autodev)"
MESSAGE_CAP = 4000
REQUIREMENT_ID = re.compile(r"(?<![\w-])[A-Z]+(?:-[A-Z]+)*-\d+(?:\.\d+)*(?![\w-])")
"""A requirement ID in prose, as the spec parser reads them: ``REQ-12``, ``AUTH-LOGIN-3``, ``REQ-1.2``."""


_PRIVATE: dict[str, str] = {}
"""The variables that name autodev's files, out of the environment the tests see."""


def _take_private() -> None:
    """Move the private variables from ``os.environ`` here, so that code under test cannot read where they point."""
    for name in (RUNNING_ENV, RESULTS_ENV, TEST_TIMEOUT_ENV):
        value = os.environ.pop(name, None)
        if value is not None:
            _PRIVATE[name] = value


_take_private()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker always, the reporter and the running-test file only when autodev asked for them.

    The junit report's path is set here rather than on the command line: this plugin is loaded with ``-p`` after
    pytest's own plugins, so its ``pytest_configure`` runs before the junitxml plugin's reads the option.
    """
    config.addinivalue_line("markers", AUTODEV_MARKER_LINE)
    _take_private()
    out = os.environ.get(OUT_ENV)
    if out and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(_Reporter(Path(out), config.rootpath), PLUGIN_NAME)
    running = _PRIVATE.get(RUNNING_ENV)
    if running and not config.pluginmanager.has_plugin(RUNNING_PLUGIN_NAME):
        config.pluginmanager.register(_RunningTest(Path(running)), RUNNING_PLUGIN_NAME)
    results = _PRIVATE.get(RESULTS_ENV)
    if results and not config.pluginmanager.has_plugin(SESSION_PLUGIN_NAME):
        config.option.xmlpath = str(Path(results) / JUNIT_NAME)
        config.pluginmanager.register(_session_recorder(Path(results) / SESSION_NAME), SESSION_PLUGIN_NAME)
    bound = _seconds(_PRIVATE.get(TEST_TIMEOUT_ENV, ""))
    usable = bound > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if (
        usable
        and not _bounded_by_pytest_timeout(config)
        and not config.pluginmanager.has_plugin(TEST_BOUND_PLUGIN_NAME)
    ):
        config.pluginmanager.register(_test_bound(bound), TEST_BOUND_PLUGIN_NAME)


def _bounded_by_pytest_timeout(config: pytest.Config) -> bool:
    """Whether the project bounds its tests with pytest-timeout (a ``timeout`` set): then its rules apply."""
    if not config.pluginmanager.has_plugin("timeout"):
        return False
    try:
        value = getattr(config.option, "timeout", None) or config.getini("timeout") or os.environ.get("PYTEST_TIMEOUT")
        return _seconds(str(value or 0)) > 0
    except (ValueError, KeyError):
        return False


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


class TookTooLong(BaseException):
    """Raised in a test that ran past autodev's bound: a BaseException, so that ``except Exception`` in a loop of
    the code under test does not swallow it (the timer fires again every second if something does)."""


def _test_bound(seconds: float) -> object:
    """Each test's setup, call and teardown, and each test file's import, stopped after ``seconds``: one endless loop
    costs that, not the whole run's timeout, and the failure names the test that hung."""
    import pytest  # only ever called inside a pytest run

    @contextlib.contextmanager
    def alarm(what: str) -> Any:
        def stop(signum: int, frame: object) -> None:
            __tracebackhide__ = True  # the failure shows the line the test was stuck on, not this one
            raise TookTooLong(
                f"{what} ran longer than {seconds:g} s, autodev's bound for one test ([tests] test_timeout_s): "
                "does it loop forever?"
            )

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    class TestBound:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_setup(self, item: pytest.Item) -> Any:
            with alarm("the setup of this test"):
                yield

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_call(self, item: pytest.Item) -> Any:
            with alarm("this test"):
                yield

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_teardown(self, item: pytest.Item) -> Any:
            with alarm("the teardown of this test"):
                yield

        @pytest.hookimpl(hookwrapper=True)
        def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
            if type(collector).__name__ != "Module":
                yield
                return
            with alarm(f"importing {collector.nodeid} (and the code it imports)"):
                yield

    return TestBound()


_SEVERITY = {"passed": 0, "skipped": 1, "failed": 2, "error": 2}


def _session_recorder(out: Path) -> object:
    """The outcome of each test as pytest's hooks report it, and the session's exit status, written at its end.

    The outcomes follow the junit report's rules (a failure outside the call is an error, the first of two
    failures counts) so that the two can be compared one for one. pytest is imported here, inside pytest, so
    that autodev itself can import this module without it.
    """
    import pytest  # only ever called inside a pytest run

    class SessionRecord:
        def __init__(self) -> None:
            self.outcomes: dict[str, str] = {}

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.passed and report.when != "call":
                return
            kind = "error" if report.failed and report.when != "call" else report.outcome
            self._add(report.nodeid, kind)

        def pytest_collectreport(self, report: pytest.CollectReport) -> None:
            if not report.passed:
                self._add(report.nodeid, "error" if report.failed else "skipped")

        def _add(self, nodeid: str, kind: str) -> None:
            if kind not in _SEVERITY:  # a plugin's own kind (``rerun``): its final report follows
                return
            previous = self.outcomes.get(nodeid)
            if previous is None or _SEVERITY[kind] > _SEVERITY[previous]:
                self.outcomes[nodeid] = kind

        @pytest.hookimpl(hookwrapper=True, tryfirst=True)
        def pytest_sessionfinish(self, session: pytest.Session) -> Any:
            yield  # the outermost wrapper: what every other plugin did to the exit status is done
            data = {"status": int(session.exitstatus), "outcomes": self.outcomes}
            with contextlib.suppress(OSError):
                temp = out.with_name(out.name + ".part")
                temp.write_text(json.dumps(data), encoding="utf-8")
                temp.replace(out)

    return SessionRecord()


class _RunningTest:
    """The node ID of the test in progress, in a file: empty between tests, so a hang elsewhere names no test."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self._write(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self._write("")

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError):  # a full disk must not fail the user's tests
            self.out.write_text(text, encoding="utf-8")


class _Reporter:
    """Remembers failed collectors and writes the report once collection is over."""

    def __init__(self, out: Path, rootpath: Path) -> None:
        self.out = out
        self.rootpath = rootpath
        self.errors: list[dict[str, str]] = []
        self.imports: dict[str, list[str]] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            where = report.nodeid.split("::", 1)[0]
            path = self.rootpath / where if where else self.rootpath
            message = str(report.longreprtext)[-MESSAGE_CAP:]  # the end says what went wrong
            self.errors.append({"path": str(path), "message": message})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        items = [self._describe(item) for item in session.items]
        config = session.config
        inipath = getattr(config, "inipath", None)  # pytest 6.1 and later
        data = {
            "items": items,
            "imports": self.imports,
            "errors": self.errors,
            "req_registered": project_registers_req(config.getini("markers")),
            "config_file": str(inipath) if inipath else "",
        }
        temp = self.out.with_name(self.out.name + ".part")
        temp.write_text(json.dumps(data), encoding="utf-8")
        temp.replace(self.out)  # a reader never sees half a report

    def _describe(self, item: pytest.Item) -> dict[str, Any]:
        path = str(item.path)
        if path not in self.imports:
            self.imports[path] = file_imports(item.path, is_module=sys.modules.__contains__)
        return {
            "nodeid": item.nodeid,
            "file": path,
            "line": _line_of(item),
            "marked": marked_ids(mark.args for mark in item.iter_markers(name=REQ_MARKER)),
            "mentioned": _mentioned_by(item),
        }


def project_registers_req(marker_lines: Iterable[str]) -> bool:
    """Whether the project's own configuration registers ``req`` (a plain ``pytest`` needs it), besides autodev."""
    names = (line.split(":", 1)[0].split("(", 1)[0].strip() for line in marker_lines if line != AUTODEV_MARKER_LINE)
    return REQ_MARKER in names


def _line_of(item: pytest.Item) -> int:
    """The 1-based line of the test's definition; 0 when a custom item cannot say (reportinfo runs user code)."""
    try:
        line = item.location[1]
    except Exception:
        return 0
    return line + 1 if isinstance(line, int) else 0


def marked_ids(marker_args: Iterable[tuple[Any, ...]]) -> list[str]:
    """The IDs given to ``req`` markers, in order: several arguments and several markers all count."""
    found: list[str] = []
    for args in marker_args:
        found.extend(arg.strip() for arg in args if isinstance(arg, str) and arg.strip())
    return list(dict.fromkeys(found))


def _mentioned_by(item: pytest.Item) -> list[str]:
    """IDs in the test function's docstring and comments; a test whose source cannot be read mentions none."""
    try:
        function = getattr(item, "obj", None)
    except Exception:  # accessing .obj imports and may run user code
        return []
    if function is None or not callable(function):
        return []
    doc = getattr(function, "__doc__", None)
    ids = ids_in(doc) if isinstance(doc, str) else []
    try:
        source = inspect.getsource(function)
    except Exception:  # builtins, generated functions, files gone: no comments to read
        return ids
    return list(dict.fromkeys([*ids, *ids_in(" ".join(comments_in(source)))]))


def ids_in(text: str) -> list[str]:
    """Requirement IDs in a piece of prose, first mention first."""
    return list(dict.fromkeys(REQUIREMENT_ID.findall(text)))


def comments_in(source: str) -> list[str]:
    """The comments of a piece of Python source, without the ``#``; strings that contain ``#`` are not comments.

    Source cut out of a file (one indented method) is dedented first; when it still cannot be tokenized, every
    ``#`` starts a comment, which may find an ID in a string but never misses one.
    """
    try:
        tokens = tokenize.generate_tokens(io.StringIO(textwrap.dedent(source)).readline)
        return [token.string.lstrip("#") for token in tokens if token.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        return [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]


def file_imports(path: Path, *, is_module: Callable[[str], bool] = lambda name: False) -> list[str]:
    """Absolute module names a test file imports anywhere in it (inside test functions too), top level first.

    ``from pkg import mod`` imports the module ``pkg.mod`` when ``mod`` is one, which only importing can tell;
    ``is_module`` decides it (after collection, whether the name is in ``sys.modules``). Relative imports are the
    test package's own and are left out; an unreadable or unparsable file imports nothing.
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            submodules = (f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
            names.extend(name for name in submodules if is_module(name))
    return list(dict.fromkeys(names))
