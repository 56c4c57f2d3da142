"""Which files are the project's tests, and which directories are tools' rather than the project's own.

One list of tool directories (:data:`TOOL_DIRS`, :data:`TOOL_DIR_PATTERNS`) serves every part of autodev that
walks a project: finding the tests, the watcher's ignore rules and the scratch copy a candidate is tested in.
A consumer that cannot treat all of them alike takes a subset derived here, with the reason beside it.
A foundation: it imports nothing from autodev but the name of autodev's state directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Literal

from autodev.project import STATE_DIR_NAME

TEST_FILE_PATTERNS = ("test_*.py", "*_test.py")
Language = Literal["python", "javascript", "rust"]
PYTHON_ONLY: tuple[Language, ...] = ("python",)
JS_EXTENSIONS = frozenset({".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx"})
JS_TEST_DIRS = frozenset({"test", "tests", "__tests__"})
_JS_TEST_NAME = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
RUST_BUILD_DIR = "target"
"""cargo's build output: skipped when Rust tests are looked for (a Python project may have a target/ of its own)."""
MAX_TEST_FILES = 50

# The one list: directories tools make, never code, tests or specs the user writes. Version control and autodev's
# state; environments (virtualenvs, tox and nox, npm, an installed site-packages); caches; packaging output.
TOOL_DIRS = frozenset(
    {
        ".git",
        STATE_DIR_NAME,
        ".venv",
        "venv",
        "env",
        ".tox",
        ".nox",
        "node_modules",
        "site-packages",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "build",
        "dist",
    }
)
# Tool directories known by the shape of their name: pytest builds .pytest_cache under a temporary name and then
# renames it; setuptools writes NAME.egg-info next to the package.
TOOL_DIR_PATTERNS = ("pytest-cache-files-*", "*.egg-info")

# ---------------------------------------------------------------------------------- subsets, each with its reason

# Names a project may also give a directory of its own (an ``env/`` package, a ``build/`` folder of scripts). The
# watcher does not ignore them by name, so that the user's edits there are seen; a virtualenv under such a name is
# still recognised, by its pyvenv.cfg. Test discovery does skip them: tests under build/ or dist/ are nearly always
# copies that packaging made, and each copy would take a place among the MAX_TEST_FILES.
OWN_DIR_NAMES = frozenset({"env", "build", "dist"})
WATCH_IGNORED_DIRS = TOOL_DIRS - OWN_DIR_NAMES

# Caches: rebuilt on demand and never read by a test, so a candidate's scratch copy leaves them out at any depth.
CACHE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
# What a test run may read, so a scratch copy keeps it: packaging output (an extension built into build/, a wheel
# in dist/) and hypothesis's database, from which it replays the examples that failed before.
READ_BY_TESTS = frozenset({"build", "dist", ".hypothesis"})
# The rest a scratch copy leaves out at the top only: version control, autodev's state and environments are large
# and no test reads them, while a deeper directory of such a name may be the project's own (``app/env/``).
NOT_COPIED_AT_TOP = TOOL_DIRS - READ_BY_TESTS


def is_tool_dir(name: str) -> bool:
    """A directory name of the one list, or of one of its patterns."""
    return name in TOOL_DIRS or any(fnmatchcase(name, pattern) for pattern in TOOL_DIR_PATTERNS)


def is_test_file(name: str) -> bool:
    """pytest's default test file names: ``test_*.py`` and ``*_test.py``."""
    return any(fnmatchcase(name, pattern) for pattern in TEST_FILE_PATTERNS)


def is_js_test_file(relative: str) -> bool:
    """``*.test.js``, ``*.spec.ts`` (and the other JavaScript/TypeScript extensions), or any such file under a
    ``test/``, ``tests/`` or ``__tests__/`` directory."""
    path = PurePosixPath(relative)
    if path.suffix not in JS_EXTENSIONS:
        return False
    return bool(_JS_TEST_NAME.search(path.name)) or any(part in JS_TEST_DIRS for part in path.parts[:-1])


def is_rust_test_file(relative: str) -> bool:
    """cargo's integration tests: ``tests/NAME.rs`` and ``tests/NAME/main.rs`` (of any crate in the tree)."""
    parts = PurePosixPath(relative).parts
    if len(parts) >= 2 and parts[-2] == "tests" and parts[-1].endswith(".rs"):
        return True
    return len(parts) >= 3 and parts[-3] == "tests" and parts[-1] == "main.rs"


def is_test_path(relative: str, languages: Collection[Language] = PYTHON_ONLY) -> bool:
    """Whether a project file (posix, relative to the root) is a test file of one of ``languages``."""
    name = PurePosixPath(relative).name
    return (
        ("python" in languages and is_test_file(name))
        or ("javascript" in languages and is_js_test_file(relative))
        or ("rust" in languages and is_rust_test_file(relative))
    )


def find_test_files(root: Path, languages: Collection[Language] = PYTHON_ONLY) -> list[str]:
    """Test files under root (posix, relative), skipping tool directories; sorted for stable prompts.

    Python's by default; ``languages`` adds JavaScript/TypeScript (:func:`is_js_test_file`) and Rust
    (:func:`is_rust_test_file`, cargo's ``target/`` skipped).
    """
    found: list[str] = []
    skip_target = "rust" in languages
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not is_tool_dir(d) and not (skip_target and d == RUST_BUILD_DIR))
        relatives = ((Path(directory) / name).relative_to(root).as_posix() for name in sorted(files))
        found.extend(rel for rel in relatives if is_test_path(rel, languages))
    return found[:MAX_TEST_FILES]
