"""Which files the model should write, and which files are the tests.

Targets come from the spec's ``Files:`` hints when the user gave them, otherwise from what the tests import
(``from temps import to_kelvin`` -> ``temps.py``). When neither names a file, the prompt asks the model to name
the files itself in its reply, which costs no extra model call.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

TEST_FILE_PATTERNS = ("test_*.py", "*_test.py")
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".autodev",
        ".venv",
        "venv",
        "env",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "build",
        "dist",
        "site-packages",
    }
)
# Modules a test file imports that are tools, never code to write.
TEST_TOOL_MODULES = frozenset({"pytest", "hypothesis", "unittest", "mock", "_pytest", "pytest_asyncio"})
MAX_TEST_FILES = 50


def find_test_files(root: Path) -> list[str]:
    """Test files under root (posix, relative), skipping virtualenvs and tool caches; sorted for stable prompts."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if any(fnmatch.fnmatch(name, pattern) for pattern in TEST_FILE_PATTERNS):
                found.append((Path(directory) / name).relative_to(root).as_posix())
    return found[:MAX_TEST_FILES]


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
    """The spec's hints win; the tests' imports come next; an empty list lets the model name the files."""
    if hinted:
        return list(hinted)
    return targets_from_tests(root, test_files, test_sources)
