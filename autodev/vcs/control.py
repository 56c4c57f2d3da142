"""Notice when something changes the repository's control files (hooks, config, refs) while the tests run.

The tests run in a copy with a ``.git`` of its own, but code under test can still write through an absolute path
into the user's repository: a ``pre-commit`` hook that runs at autodev's next commit, a ``core.hooksPath`` or an
alias in ``.git/config``, a moved branch. A snapshot of the files that decide what git runs and where the branches
point is taken before a run and compared after it, before autodev's own git calls; what changed is reported, never
restored (the user decides what to do with it). The index is left out: only autodev's commits change it in a pass,
after the comparison.

The stamp of a file is its size, mode, inode and change time (``st_ctime_ns``, which a process cannot set back), so
the snapshot costs a ``stat`` per file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autodev.vcs.git import git_output

_OWN_FILES = ("HEAD", "config.worktree", "commondir", "gitdir")
"""A work tree's own: in a linked worktree's git dir, not the repository's (another worktree's HEAD may move)."""
_SHARED_FILES = ("config", "packed-refs")
_SHARED_TREES = ("hooks", "info")
_SYMBOLIC_REF = "ref: "

Stamp = tuple[int, int, int, int]
Snapshot = dict[str, Stamp]  # the file's path, as shown to people -> its stamp


@dataclass(frozen=True)
class GitDirs:
    """Where a work tree's git files are: its own (HEAD) and the repository's common one (config, hooks, refs).

    For a plain repository both are ``.git``; for a linked worktree ``.git`` is a file and they differ.
    """

    git_dir: Path
    common_dir: Path

    @classmethod
    def of(cls, root: Path) -> GitDirs:
        """Asked of git (``rev-parse --git-dir --git-common-dir``): worktrees and GIT_DIR resolve as git does."""
        lines = os.fsdecode(git_output(root, "rev-parse", "--git-dir", "--git-common-dir")).splitlines()
        git_dir, common_dir = (Path(line) if Path(line).is_absolute() else root / line for line in lines[:2])
        return cls(git_dir.resolve(), common_dir.resolve())


def snapshot(dirs: GitDirs, root: Path) -> Snapshot:
    """The stamp of every control file of the repository (missing ones are simply absent)."""
    found: Snapshot = {}
    for path in _control_files(dirs):
        try:
            st = path.lstat()
        except OSError:
            continue
        found[_shown(path, root)] = (st.st_size, st.st_mode, st.st_ino, st.st_ctime_ns)
    return found


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs, in words: ``.git/hooks/pre-commit (added)``, ``.git/config (changed)``."""
    words: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            words.append(f"{name} (added)")
        elif name not in after:
            words.append(f"{name} (removed)")
        elif before[name] != after[name]:
            words.append(f"{name} (changed)")
    return words


def _control_files(dirs: GitDirs) -> Iterator[Path]:
    """The work tree's HEAD and the branch it names (a commit made there moves it), the repository's config,
    packed refs, hooks and info; other branches are left out: another worktree may commit to them meanwhile."""
    for name in _OWN_FILES:
        yield dirs.git_dir / name
    for name in _SHARED_FILES:
        yield dirs.common_dir / name
    for tree in _SHARED_TREES:
        yield from _walk(dirs.common_dir / tree)
    branch = _current_branch_ref(dirs.git_dir)
    if branch is not None:
        yield dirs.common_dir / branch


def _current_branch_ref(git_dir: Path) -> str | None:
    """``refs/heads/main`` from HEAD's ``ref: refs/heads/main``; None for a detached HEAD or an unreadable one."""
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    ref = head.removeprefix(_SYMBOLIC_REF)
    if ref == head or not ref.startswith("refs/heads/") or ".." in ref:
        return None
    return ref


def _walk(directory: Path) -> Iterator[Path]:
    """Every entry under ``directory``, symbolic links not followed; a link or a new directory counts too."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        yield path
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)


def _shown(path: Path, root: Path) -> str:
    resolved = root.resolve()
    return path.relative_to(resolved).as_posix() if path.is_relative_to(resolved) else str(path)
