"""Which paths may trigger a pass: the watch patterns, minus everything that is never the user's edit.

Watch patterns use .gitignore syntax (one syntax for both lists, so users need to learn only one): a pattern
without a slash matches at any depth (``*.md`` is every Markdown file in the project), a pattern with a slash
is anchored at the root (``tests/**`` is everything under ``./tests``), and ``!pattern`` takes paths back out.

Ignored, whatever the patterns say: tool and cache directories at any depth (``.git``, ``.autodev``,
virtualenvs, ``__pycache__`` ..., from :mod:`autodev.discovery`'s one list), editor swap/backup/temporary files,
autodev's own temporary files, and what the project's ``.gitignore`` files and ``.git/info/exclude`` ignore.
``autodev.toml`` at the root is always relevant, so that configuration edits are seen even when a pattern or
.gitignore would hide it.

Paths are relative to the project root, with ``/`` separators ("rel posix"), everywhere in this package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from pathspec import GitIgnoreSpec

from autodev.config import CONFIG_FILE_NAME
from autodev.discovery import TOOL_DIR_PATTERNS, WATCH_IGNORED_DIRS
from autodev.fileio import TEMP_SUFFIX

# Files editors and autodev create next to the real file while saving; their events are noise.
IGNORED_FILE_PATTERNS = (
    ".*.sw?",  # vim swap files (.x.swp, .x.swo, ...)
    "*~",  # vim/emacs backups
    ".#*",  # emacs lock files
    "#*#",  # emacs auto-save files
    "4913",  # vim's "can I write here?" probe file
    "*___jb_tmp___",  # JetBrains safe write: new content
    "*___jb_old___",  # JetBrains safe write: previous content
    f"*{TEMP_SUFFIX}",  # autodev.fileio.atomic_write's temporary file
)

VENV_MARKER = "pyvenv.cfg"
GITIGNORE_NAME = ".gitignore"
GIT_INFO_EXCLUDE = ".git/info/exclude"


class PathFilter:
    """Decides, from a path alone, whether an event on it can matter to the next pass.

    Immutable once built (except a cache of virtualenv directories), so the watchdog polling thread and the
    loop thread may share one; a changed .gitignore means building a new filter.
    """

    def __init__(
        self,
        root: Path,
        watch_patterns: Sequence[str],
        gitignores: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``gitignores`` maps the rel posix directory of each ignore file ("" for the root) to its lines.

        Files at the root apply first and deeper ones after, so a deeper file's rule wins, as in git.
        """
        self.root = root
        self.watch_patterns = tuple(watch_patterns)
        self._watch_spec = GitIgnoreSpec.from_lines(self.watch_patterns)
        ordered = sorted((gitignores or {}).items(), key=lambda item: _depth(item[0]))
        self._ignore_specs = tuple(
            (tuple(base.split("/")) if base else (), GitIgnoreSpec.from_lines(lines)) for base, lines in ordered
        )
        self._venv_dirs: set[str] = set()

    @classmethod
    def load(cls, root: Path, watch_patterns: Sequence[str]) -> PathFilter:
        """Build the filter from the project's own ignore files, as they are on disk now."""
        return cls(root, watch_patterns, read_gitignores(root))

    # ------------------------------------------------------------------------------------------ questions

    @staticmethod
    def is_config(rel: str) -> bool:
        """The project's autodev.toml: its changes mean "reload the configuration", not only "run a pass"."""
        return rel == CONFIG_FILE_NAME

    def is_relevant(self, rel: str) -> bool:
        """A change to this file may need a pass: it matches a watch pattern and nothing ignores it."""
        if self.is_config(rel):
            return True
        if self._watch_spec.check_file(rel).include is not True:
            return False
        return not self.is_ignored(rel)

    def is_ignored(self, rel: str, *, is_dir: bool = False) -> bool:
        """Ignored by autodev's fixed rules or by the project's ignore files (at this path or any parent)."""
        parts = rel.split("/")
        dir_parts = parts if is_dir else parts[:-1]
        if any(_is_tool_directory(part) for part in dir_parts):
            return True
        if not is_dir and any(fnmatchcase(parts[-1], pattern) for pattern in IGNORED_FILE_PATTERNS):
            return True
        if self._inside_virtualenv(dir_parts):
            return True
        return self._ignored_by_gitignore(parts, is_dir=is_dir)

    def walk_relevant(self, under: str = "") -> Iterator[str]:
        """Every relevant file below ``under`` (rel posix, "" for the whole project), skipping ignored trees.

        Used to take the first snapshot and to reconcile after events may have been lost, so it must agree
        with :meth:`is_relevant` exactly; it only adds the pruning that keeps it cheap.
        """
        start = self.root / under if under else self.root
        if under and self.is_ignored(under, is_dir=True):
            return
        for dirpath, dirnames, filenames in os.walk(start):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            prefix = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(d for d in dirnames if not self.is_ignored(prefix + d, is_dir=True))
            for name in sorted(filenames):
                rel = prefix + name
                if self.is_relevant(rel):
                    yield rel

    # ------------------------------------------------------------------------------------------- details

    def _inside_virtualenv(self, dir_parts: Sequence[str]) -> bool:
        """A virtualenv under any name is recognised by its pyvenv.cfg; found ones are remembered."""
        for depth in range(1, len(dir_parts) + 1):
            rel_dir = "/".join(dir_parts[:depth])
            if rel_dir in self._venv_dirs:
                return True
            if (self.root / rel_dir / VENV_MARKER).is_file():
                self._venv_dirs.add(rel_dir)
                return True
        return False

    def _ignored_by_gitignore(self, parts: Sequence[str], *, is_dir: bool) -> bool:
        """Git's rule: once a directory is excluded, nothing below it can be re-included."""
        for depth in range(1, len(parts) + 1):
            last = depth == len(parts)
            if self._gitignore_decision(parts[:depth], is_dir=is_dir if last else True):
                return True
        return False

    def _gitignore_decision(self, parts: Sequence[str], *, is_dir: bool) -> bool:
        decision: bool | None = None
        for base, spec in self._ignore_specs:
            if len(parts) <= len(base) or tuple(parts[: len(base)]) != base:
                continue
            local = "/".join(parts[len(base) :]) + ("/" if is_dir else "")
            include = spec.check_file(local).include
            if include is not None:
                decision = include
        return decision is True


def read_gitignores(root: Path) -> dict[str, list[str]]:
    """Every .gitignore of the project (outside ignored trees) plus .git/info/exclude, by directory.

    ``.git/info/exclude`` is listed first under the root, so the root .gitignore overrides it, as in git.
    """
    found: dict[str, list[str]] = {}
    exclude = _read_lines(root / GIT_INFO_EXCLUDE)
    partial = PathFilter(root, ())
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if GITIGNORE_NAME in filenames:
            found[rel_dir] = _read_lines(Path(dirpath) / GITIGNORE_NAME)
            if rel_dir == "":
                found[""] = exclude + found[""]
            partial = PathFilter(root, (), {"": exclude, **found})
        prefix = rel_dir + "/" if rel_dir else ""
        dirnames[:] = [d for d in dirnames if not partial.is_ignored(prefix + d, is_dir=True)]
    if exclude and "" not in found:
        found[""] = exclude
    return found


def _is_tool_directory(name: str) -> bool:
    """autodev.discovery's tool directories, less the names a project may also give its own directories."""
    return name in WATCH_IGNORED_DIRS or any(fnmatchcase(name, pattern) for pattern in TOOL_DIR_PATTERNS)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _depth(rel_dir: str) -> int:
    return 0 if not rel_dir else rel_dir.count("/") + 1
