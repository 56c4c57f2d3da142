"""The tests the pristine test files define, read with ``ast``: what an attempt's run must have a result for.

pytest's collection imports the code under test, which can then hide tests (a module-level skip, a test that is
never collected) and still look green. The files as the user wrote them say which tests exist without running
anything: module-level ``def test*`` and ``async def test*``, and the ``test*`` methods of classes named ``Test*``
(without an ``__init__``, which pytest does not collect) or subclassing ``*TestCase``, nested classes too. That is
a subset of what pytest collects (generated and inherited tests are not seen), never more than the defaults
collect; the judge also requires a test only where the baseline ran it or could not import its file, so a
project's own selection (``-m``, ``--deselect``, ``python_functions``) is respected.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping

from pydantic import BaseModel, ConfigDict

__all__ = ["PristineTests", "defined_test_nodes", "is_test_class", "pristine_tests"]
TestFunction = ast.FunctionDef | ast.AsyncFunctionDef

_MENTIONS_SKIP = re.compile(r"skip|xfail", re.IGNORECASE)


class PristineTests(BaseModel):
    """The test ids the pristine files define, the files themselves, and those that can skip or xfail a test."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: tuple[str, ...] = ()
    files: frozenset[str] = frozenset()
    skipping_files: frozenset[str] = frozenset()
    """Files that mention a skip or an xfail (a marker, ``pytest.skip``, ``importorskip``, ``SkipTest``)."""


def pristine_tests(files: Mapping[str, str]) -> PristineTests:
    """The tests defined in ``files`` (posix path relative to the project -> its text); other languages add none."""
    ids: list[str] = []
    for path, text in files.items():
        if path.endswith(".py"):
            ids.extend(f"{path}::{name}" for name in defined_tests(text))
    skipping = frozenset(path for path, text in files.items() if _MENTIONS_SKIP.search(text))
    return PristineTests(ids=tuple(dict.fromkeys(ids)), files=frozenset(files), skipping_files=skipping)


def defined_tests(source: str) -> list[str]:
    """``name`` or ``Class::name`` of each test the module defines at its top level; none when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    return [name for name, _ in defined_test_nodes(tree.body)]


def defined_test_nodes(body: list[ast.stmt], *, prefix: str = "") -> Iterator[tuple[str, TestFunction]]:
    """Each test of a module body as pytest names it (``name``, ``Class::name``), with its definition."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield f"{prefix}{node.name}", node
        elif isinstance(node, ast.ClassDef) and is_test_class(node):
            yield from defined_test_nodes(node.body, prefix=f"{prefix}{node.name}::")


def is_test_class(node: ast.ClassDef) -> bool:
    """A class pytest collects by default: a ``unittest`` case, or ``Test*`` without ``__init__`` or ``__test__``."""
    if any(_base_name(base).endswith("TestCase") for base in node.bases):
        return not _sets_test_false(node)
    if not node.name.startswith("Test") or _sets_test_false(node):
        return False
    return not any(isinstance(item, ast.FunctionDef) and item.name == "__init__" for item in node.body)


def _sets_test_false(node: ast.ClassDef) -> bool:
    return any(
        isinstance(item, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "__test__" for target in item.targets)
        for item in node.body
    )


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""
