"""Which files the model should write (the tests are found by :mod:`autodev.discovery`).

Targets come from the spec's ``Files:`` hints when the user gave them, otherwise from what the tests import
(``from temps import to_kelvin`` -> ``temps.py``; JavaScript's and Rust's imports: ``foreign_targets.py``). When
neither names a file, the prompt asks the model to name the files itself in its reply, which costs no extra model
call.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from autodev.synth.foreign_targets import is_foreign_test, js_targets, rust_targets

# Modules a test file imports that are tools, never code to write.
TEST_TOOL_MODULES = frozenset({"pytest", "hypothesis", "unittest", "mock", "_pytest", "pytest_asyncio"})


def imported_modules(source: str) -> list[str]:
    """Absolute module names a Python file imports, in order; relative imports are the test package's own."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return list(dict.fromkeys(names))


def module_file(root: Path, module: str, *, test_files: Sequence[str]) -> str | None:
    """The project file that provides ``module``, existing or to be written; None for outside modules."""
    parts = module.split(".")
    for base in ("", "src/"):
        stem = base + "/".join(parts)
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if (root / candidate).is_file():
                return candidate
    if not _could_be_project_module(parts[0], test_files):
        return None
    return "/".join(parts) + ".py"


def _could_be_project_module(top: str, test_files: Sequence[str]) -> bool:
    if top in sys.stdlib_module_names or top in TEST_TOOL_MODULES or top == "conftest":
        return False
    if any(Path(test).stem == top for test in test_files):
        return False
    return importlib.util.find_spec(top) is None


def targets_from_tests(root: Path, test_files: Sequence[str], test_sources: Iterable[str]) -> list[str]:
    """Files the tests import from the project, in the order the tests first import them."""
    targets: list[str] = []
    for source in test_sources:
        for module in imported_modules(source):
            path = module_file(root, module, test_files=test_files)
            if path is not None and path not in targets:
                targets.append(path)
    return targets


def choose_targets(
    root: Path, hinted: Sequence[str], test_files: Sequence[str], test_sources: Sequence[str]
) -> list[str]:
    """The spec's hints win; the tests' imports come next; an empty list lets the model name the files.

    JavaScript and Rust tests are read by :mod:`autodev.synth.foreign_targets`, Python's here.
    """
    if hinted:
        return list(hinted)
    pairs = list(zip(test_files, test_sources, strict=False))
    if not any(is_foreign_test(path) for path, _source in pairs):
        return targets_from_tests(root, test_files, test_sources)
    python = [source for path, source in pairs if not is_foreign_test(path)]
    targets = targets_from_tests(root, test_files, python)
    foreign = [(path, source) for path, source in pairs if is_foreign_test(path)]
    targets += [t for t in [*js_targets(root, foreign), *rust_targets(root, foreign)] if t not in targets]
    return targets
