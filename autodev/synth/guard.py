"""Decide whether a path a model wrote may be written: inside the project, and not a test or a control file.

A model's path is untrusted input. ``confine`` keeps it inside the project (no ``..``, no absolute or Windows
paths, no way out through a symbolic link, nothing in ``.git`` or ``.autodev``); ``check_writable`` also keeps
the model away from what judges its work: the tests ("tests are the specification; change the code, not the
tests"), the spec files, and the files that change how tests run or how autodev and git behave.
Every rejection is an EditRejectedError whose text is sent back to the model, so it says what to do instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from autodev.errors import EditRejectedError

# Files that decide how tests run or how autodev and git behave, protected at any depth (case-insensitively,
# since on a case-insensitive file system "Conftest.py" is conftest.py). A model that could write them could
# make red tests pass without fixing anything:
# - conftest.py, pytest.ini/.pytest.ini, pytest.toml/.pytest.toml (pytest 9), tox.ini, setup.cfg,
#   pyproject.toml: pytest plugins and options (addopts, testpaths, deselection);
# - noxfile.py, Makefile/GNUmakefile: the test command may be "nox" or "make test";
# - sitecustomize.py/usercustomize.py: imported by every Python process that finds them on sys.path;
# - autodev.toml: autodev's own configuration (its test command, budgets); AGENTS.md/CLAUDE.md: project
#   memory that goes into future prompts;
# - .gitignore, .gitattributes (filters run commands), .gitmodules, .pre-commit-config.yaml (hooks run at
#   autodev's commits);
# - package.json (its test script, its dependencies) and the lock files of npm, yarn, pnpm and cargo: what runs
#   and what gets installed. Cargo.toml is protected by the pass (it names it unless the requirement's Files:
#   does, see MANIFEST_FILE_NAMES).
# setup.py is not listed: it does not change how the tests run, and generated packages may need it.
PROTECTED_FILE_NAMES: frozenset[str] = frozenset(
    {
        "conftest.py",
        "pytest.ini",
        ".pytest.ini",
        "pytest.toml",
        ".pytest.toml",
        "tox.ini",
        "setup.cfg",
        "pyproject.toml",
        "noxfile.py",
        "Makefile",
        "GNUmakefile",
        "sitecustomize.py",
        "usercustomize.py",
        "autodev.toml",
        "AGENTS.md",
        "CLAUDE.md",
        ".gitignore",
        ".gitattributes",
        ".gitmodules",
        ".pre-commit-config.yaml",
        "package.json",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "Cargo.lock",
    }
)
MANIFEST_FILE_NAMES: frozenset[str] = frozenset({"Cargo.toml"})
"""Manifests a requirement may ask for (``Files: Cargo.toml``, to add a dependency); protected otherwise."""

_PROTECTED_FOLDED = frozenset(name.casefold() for name in PROTECTED_FILE_NAMES)
_FORBIDDEN_DIRECTORIES = frozenset({".git", ".autodev"})
_TEST_DIRECTORIES = frozenset({"tests", "test", "__tests__"})
_JS_TEST_NAME = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_PATH_CHARS = 1024
_MAX_NAME_BYTES = 255
_HOW = "write only files inside the project, with a relative path such as 'src/module.py'"


def _reject(rel: str, problem: str, advice: str = _HOW) -> EditRejectedError:
    shown = rel if len(rel) <= 120 else rel[:117] + "..."
    return EditRejectedError(
        f"You cannot write {shown!r}: {problem}; {advice}.", summary=f"the reply writes {shown!r}: {problem}"
    )


def _syntax_problem(rel: str) -> str | None:
    """What makes ``rel`` unacceptable as written, before the file system is asked anything."""
    if not rel or not rel.strip():
        return "the path is empty"
    if len(rel) > _MAX_PATH_CHARS:
        return f"the path is longer than {_MAX_PATH_CHARS} characters"
    if _CONTROL.search(rel):
        return "the path contains a control character"
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "the path is not valid Unicode"
    if rel != rel.strip():
        return "the path starts or ends with a space"
    if "\\" in rel:
        return "the path contains a backslash (use forward slashes)"
    if rel.startswith("/"):
        return "it is an absolute path"
    if _DRIVE.match(rel):
        return "it starts with a Windows drive"
    if rel.startswith("~"):
        return "it starts with '~'"
    if rel.endswith("/"):
        return "it names a directory, not a file"
    return None


def _normalized_parts(rel: str) -> list[str]:
    """The components of ``rel`` without ``.`` and empty ones; EditRejectedError if any is unacceptable."""
    problem = _syntax_problem(rel)
    if problem is not None:
        raise _reject(rel, problem)
    parts = [part for part in rel.split("/") if part not in ("", ".")]
    if not parts:
        raise _reject(rel, "it names the project directory itself, not a file")
    for part in parts:
        if part == "..":
            raise _reject(rel, "it contains '..'")
        if _is_forbidden_directory(part):
            raise _reject(rel, f"{part!r} belongs to git or autodev")
        if len(part.encode("utf-8")) > _MAX_NAME_BYTES:
            raise _reject(rel, f"a name in it is longer than {_MAX_NAME_BYTES} bytes")
    return parts


def _is_forbidden_directory(part: str) -> bool:
    # Trailing dots and spaces are dropped by Windows file systems, so ".git." is .git there.
    return part.rstrip(". ").casefold() in _FORBIDDEN_DIRECTORIES


def _resolve(candidate: Path, rel: str) -> Path:
    try:
        return candidate.resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise _reject(rel, "it goes through a symbolic link that cannot be resolved") from exc


def _check_parents(resolved: Path, base: Path, rel: str) -> None:
    """The nearest existing parent must be a directory: a file cannot hold another file."""
    for parent in resolved.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _reject(rel, f"{parent.relative_to(base).as_posix()!r} is a file, not a directory")
            return
        if parent == base:
            return


def confine(root: Path, rel: str) -> Path:
    """The absolute, symlink-resolved path of ``rel`` inside ``root``, or EditRejectedError.

    The path returned is the file that would really be written (symbolic links in existing parents, and the
    file itself if it is one, followed), so a writer that uses it writes the file that was checked.
    """
    parts = _normalized_parts(rel)
    base = root.resolve()
    resolved = _resolve(base.joinpath(*parts), rel)
    if resolved == base:
        raise _reject(rel, "it names the project directory itself, not a file")
    if not resolved.is_relative_to(base):
        raise _reject(rel, "it leads outside the project (through a symbolic link)")
    if any(_is_forbidden_directory(part) for part in resolved.relative_to(base).parts):
        raise _reject(rel, "it leads into .git or .autodev (through a symbolic link)")
    if resolved.is_dir():
        raise _reject(rel, "it names a directory, not a file")
    if resolved.exists() and not resolved.is_file():
        raise _reject(rel, "it is not a regular file")
    _check_parents(resolved, base, rel)
    return resolved


def is_test_path(rel: str) -> bool:
    """Whether ``rel`` is part of the tests: pytest's test_*.py and *_test.py, Django's tests.py, conftest.py,
    JavaScript's ``*.test.js`` and ``*.spec.ts`` (any of its extensions), and anything under a ``tests/``,
    ``test/`` or ``__tests__/`` directory (case-insensitively)."""
    parts = [part for part in rel.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts:
        return False
    name = parts[-1].casefold()
    if any(part.casefold() in _TEST_DIRECTORIES for part in parts[:-1]):
        return True
    if name in ("conftest.py", "tests.py"):
        return True
    if _JS_TEST_NAME.search(name):
        return True
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _folded(rel: str) -> str:
    return "/".join(part for part in rel.replace("\\", "/").split("/") if part not in ("", ".")).casefold()


def _is_protected(rel: str, protected: Collection[str]) -> bool:
    """Whether ``rel`` is one of the ``protected`` paths, or lies under one (a protected directory)."""
    folded = _folded(rel)
    return any(folded == entry or folded.startswith(entry + "/") for entry in map(_folded, protected) if entry)


def _check_not_protected(rel: str, protected: Collection[str]) -> None:
    name = PurePosixPath(rel).name
    if name.casefold() in _PROTECTED_FOLDED:
        raise _reject(
            rel,
            f"{name} controls how the tests run or how autodev works",
            "leave it as it is and change the code under test instead",
        )
    if is_test_path(rel):
        raise _reject(
            rel,
            "it is a test file, and the tests are the specification",
            "change the code, not the tests",
        )
    if _is_protected(rel, protected) and name in MANIFEST_FILE_NAMES:
        raise _reject(
            rel,
            f"{name} controls how the tests build and run, and the requirement's Files: does not name it",
            "leave it as it is and change the code under test instead",
        )
    if _is_protected(rel, protected):
        raise _reject(
            rel,
            "it is part of the project's tests or specification",
            "change the code, not the tests or the spec",
        )


def check_writable(root: Path, rel: str, *, protected: Collection[str] = ()) -> str:
    """The normalized posix relative path of ``rel`` if autodev may write it, else EditRejectedError.

    ``protected`` holds posix paths relative to ``root`` (the project's test and spec files; a directory
    protects everything under it). The path is checked both as written and as resolved, so a symbolic link
    in the project cannot lead a write into a test.
    """
    parts = _normalized_parts(rel)
    normalized = "/".join(parts)
    resolved = confine(root, rel)
    _check_not_protected(normalized, protected)
    resolved_rel = resolved.relative_to(root.resolve()).as_posix()
    if resolved_rel != normalized:
        _check_not_protected(resolved_rel, protected)
    return normalized
