"""The pytest plugin autodev collects tests with: it registers the ``req`` marker and reports what links each test.

Loaded with ``-p autodev.spec.pytest_plugin``. Without ``AUTODEV_COLLECT_OUT`` in the environment it only
registers the marker, so a project run with ``--strict-markers`` accepts ``@pytest.mark.req("REQ-1")``. With it,
at the end of collection it writes JSON to that path: every collected test with the requirement IDs it is
marked with or mentions, the modules its file imports, and the collectors that failed (a syntax error, a module
that is not written yet), which autodev then reads without importing them.

This module uses only the standard library and never imports pytest or autodev at run time: it runs inside the
project's interpreter, which may have neither autodev nor its dependencies, and autodev itself (which does not
depend on pytest) imports its helpers to read test files that could not be collected.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import os
import re
import sys
import textwrap
import tokenize
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only
    import pytest

OUT_ENV = "AUTODEV_COLLECT_OUT"
REQ_MARKER = "req"
PLUGIN_NAME = "autodev-collect"
MESSAGE_CAP = 4000
REQUIREMENT_ID = re.compile(r"(?<![\w-])[A-Z]+(?:-[A-Z]+)*-\d+(?:\.\d+)*(?![\w-])")
"""A requirement ID in prose, as the spec parser reads them: ``REQ-12``, ``AUTH-LOGIN-3``, ``REQ-1.2``."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker always, and the reporter only when autodev asked for a report."""
    config.addinivalue_line("markers", f"{REQ_MARKER}(*ids): the requirement IDs this test proves (autodev)")
    out = os.environ.get(OUT_ENV)
    if out and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(_Reporter(Path(out), config.rootpath), PLUGIN_NAME)


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
        data = {"items": items, "imports": self.imports, "errors": self.errors}
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
            "marked": marked_ids(mark.args for mark in item.iter_markers(name=REQ_MARKER)),
            "mentioned": _mentioned_by(item),
        }


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
