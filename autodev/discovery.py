"""Which files are the project's tests, and which directories are tools' rather than the project's own.

One list of tool directories (:data:`TOOL_DIRS`, :data:`TOOL_DIR_PATTERNS`) serves every part of autodev that
walks a project: finding the tests, the watcher's ignore rules and the scratch copy a candidate is tested in.
A consumer that cannot treat all of them alike takes a subset derived here, with the reason beside it.
A foundation: it imports nothing from autodev but the name of autodev's state directory.
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

from autodev.project import STATE_DIR_NAME

TEST_FILE_PATTERNS = ("test_*.py", "*_test.py")
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


def find_test_files(root: Path) -> list[str]:
    """Test files under root (posix, relative), skipping tool directories; sorted for stable prompts."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not is_tool_dir(d))
        found.extend(
            (Path(directory) / name).relative_to(root).as_posix() for name in sorted(files) if is_test_file(name)
        )
    return found[:MAX_TEST_FILES]
