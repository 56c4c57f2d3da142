"""Test code a model pasted into the module it was asked to write, taken out again.

Small models often end a solution with the tests they were shown (measured: the 0.5B model on the development
set's pangram appended the whole ``unittest`` class, without its import, so the module failed to load and a correct
function would have been judged red). Test classes and functions in a code module are never needed: test runners
collect only test files. So they are removed by line range, the rest of the text kept byte for byte.

Models also check their own code at import time (measured on the development set: roman-numerals and
isbn-verifier ended with ``def test_roman(): ...`` and a call ``test_roman()``, bob with twenty module-level
``assert response(...) == ...`` lines, one of them wrong): the call of a removed test function and a module-level
``assert`` on a call of the module's own code go too, or the module fails to import and no test says what the code
gets wrong.

Python only; a module that does not parse is left as it is (the test run reports the syntax error).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence

_TEST_CASE_BASES = frozenset({"TestCase", "unittest.TestCase"})
_MAIN_CALLS = ("unittest.main", "pytest.main")
_DEFINITIONS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
# A top-level line where pasted tests begin: a test class, a test framework import, a __main__ guard. Not a ``test_``
# function: a solution may name a helper so, and a reply still streaming is read with this (synth/reply_done.py).
_TESTS_BEGIN = re.compile(
    r"^(?:class\s+\w*Tests?\b|class\s+Test|import\s+(?:unittest|pytest)\b"
    r"|from\s+(?:unittest|pytest)\b|if\s+__name__\s*==)"
)


def without_test_code(code: str) -> tuple[str, list[str]]:
    """``code`` without top-level test classes, ``test_`` functions and a ``__main__`` block that runs tests;
    with the names removed (empty when nothing was)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code, []
    test_code = [node for node in tree.body if _is_test_code(node)]
    tests = {node.name for node in test_code if isinstance(node, _DEFINITIONS)}
    own = {node.name for node in tree.body if isinstance(node, _DEFINITIONS)} - tests
    doomed = [node for node in tree.body if node in test_code or _checks_at_import(node, tests, own)]
    if not doomed or len(doomed) == len(tree.body):
        return code, []  # nothing to remove, or nothing would be left: not this module's business
    lines = code.splitlines(keepends=True)
    drop = {number for node in doomed for number in _line_numbers(node)}
    kept = "".join(line for number, line in enumerate(lines, start=1) if number not in drop)
    kept = _without_unused_unittest_import(kept)
    return kept.rstrip("\n") + "\n", [_name(node) for node in doomed]


def _is_test_code(node: ast.stmt) -> bool:
    if isinstance(node, ast.ClassDef):
        return any(ast.unparse(base) in _TEST_CASE_BASES for base in node.bases) or any(
            isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test_")
            for item in node.body
        )
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name.startswith("test_")
    if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
        body = ast.unparse(node)
        return any(call in body for call in _MAIN_CALLS)
    return False


def _checks_at_import(node: ast.stmt, tests: set[str], own: set[str]) -> bool:
    """A call of a removed test function, or an ``assert`` on what the module's own code returns."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return isinstance(node.value.func, ast.Name) and node.value.func.id in tests
    return isinstance(node, ast.Assert) and bool(_called_names(node.test) & own)


def _called_names(node: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _line_numbers(node: ast.stmt) -> Iterable[int]:
    first = min([node.lineno, *(decorator.lineno for decorator in getattr(node, "decorator_list", []))])
    return range(first, (node.end_lineno or node.lineno) + 1)


def _name(node: ast.stmt) -> str:
    if isinstance(node, _DEFINITIONS):
        return node.name
    if isinstance(node, ast.Assert):
        return f"assert on line {node.lineno}"
    if isinstance(node, ast.Expr):
        return f"call on line {node.lineno}"
    return "__main__ block"


def _without_unused_unittest_import(code: str) -> str:
    lines = code.splitlines(keepends=True)
    imports = [line for line in lines if line.strip() == "import unittest"]
    others = [line for line in lines if "unittest" in line and line.strip() != "import unittest"]
    if imports and not others:
        return "".join(line for line in lines if line.strip() != "import unittest")
    return code


def code_before_pasted_tests(lines: Sequence[str]) -> list[str] | None:
    """The lines of a cut-off Python block before the tests the model ran on into, when they stand alone.

    A small model that pastes the tests after its solution often runs out of tokens inside them, and the block never
    closes. The solution before them is whole: it is used when it parses and defines something; otherwise None
    (the block really was cut off inside the code).
    """
    start = next((n for n, line in enumerate(lines) if n and _TESTS_BEGIN.match(line)), None)
    if start is None:
        return None
    head = list(lines[:start])
    try:
        tree = ast.parse("\n".join(head))
    except (SyntaxError, ValueError):
        return None
    defines = any(isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) for node in tree.body)
    return head if defines else None


def defines_code(code: str) -> bool:
    """Whether Python ``code`` parses and defines a class or function that is not test code."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, _DEFINITIONS) and not _is_test_code(node) for node in tree.body)
