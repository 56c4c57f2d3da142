"""A git work tree autodev works in: find it, see what is uncommitted, and commit autodev's files.

:class:`GitRepo` is the one object the engine holds. It answers the read-only questions itself; what writes
(:mod:`autodev.vcs.commit`, :mod:`autodev.vcs.lock`) lives in modules of its own and the class only hands its
root to them. Nothing here resets, stashes, cleans or checks out: the user's work tree and index are only ever
read, except the exact paths given to :meth:`GitRepo.commit_paths`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path

from autodev.errors import NotARepositoryError, VcsError
from autodev.fileio import atomic_write
from autodev.project import OLD_STATE_IGNORE, STATE_IGNORES
from autodev.vcs import commit, lock
from autodev.vcs.control import GitDirs
from autodev.vcs.git import git_output, git_path, run_git, split_nul, stderr_of
from autodev.vcs.history import head_commit


def _not_a_repository(path: Path) -> NotARepositoryError:
    return NotARepositoryError(f"{path} is not inside a git repository; run `autodev init` (or `git init`) first")


def _nearest_existing_dir(path: Path) -> Path:
    """git needs a real directory to start from; a path autodev is about to create has none yet."""
    candidate = path.absolute()
    while not candidate.is_dir():
        if candidate.parent == candidate:
            break
        candidate = candidate.parent
    return candidate


class GitRepo:
    """A git work tree autodev may commit into; ``root`` is the top of the work tree."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """Find the work tree containing ``path`` the way git itself does (parents, worktrees, GIT_DIR)."""
        start = _nearest_existing_dir(path)
        done = run_git(start, ["rev-parse", "--show-toplevel"], env={"LC_ALL": "C", "LANGUAGE": "C"})
        if done.returncode == 0:
            return cls(Path(os.fsdecode(done.stdout).rstrip("\n")))
        message = stderr_of(done)
        if "not a git repository" in message:
            raise _not_a_repository(path)
        if "must be run in a work tree" in message:
            raise NotARepositoryError(
                f"{path} is in a bare repository or inside a .git directory; autodev needs a work tree"
            )
        raise VcsError(f"git cannot open the repository at {path}: {message}")

    # ------------------------------------------------------------------------------------------ queries

    @cached_property
    def dirs(self) -> GitDirs:
        """Its git directory and common directory, asked of git once (a linked worktree's ``.git`` is a file)."""
        return GitDirs.of(self.root)

    def head_sha(self) -> str | None:
        return head_commit(self.root)

    def status_porcelain(self) -> str:
        return os.fsdecode(git_output(self.root, "status", "--porcelain=v1", "-uall"))

    def uncommitted(self, paths: Iterable[str]) -> list[str]:
        """Which of ``paths`` hold something HEAD does not: the files autodev must not overwrite.

        One ``git status`` over exactly these paths answers it: staged or unstaged changes, deletions,
        untracked and ignored files all show up there, and it works before the first commit (everything
        in the index then reads as added). A directory counts when anything under it is listed.
        """
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return []
        output = git_output(
            self.root, "status", "--porcelain=v1", "-z", "-uall", "--ignored", "--no-renames", "--", *wanted
        )
        listed = {entry[3:] for entry in split_nul(output) if len(entry) > 3}
        return [path for path in wanted if _listed(path, listed)]

    def is_ignored(self, rel: str) -> bool:
        """True when git's ignore rules exclude ``rel``; a tracked file is never ignored, as in git."""
        done = run_git(self.root, ["check-ignore", "--quiet", "--", rel], literal=False)
        if done.returncode in (0, 1):
            return done.returncode == 0
        raise VcsError(f"`git check-ignore {rel}` failed in {self.root}: {stderr_of(done)}")

    # ------------------------------------------------------------------------------------------- writes

    def ensure_excluded(self, patterns: Sequence[str] = STATE_IGNORES) -> bool:
        """Keep autodev's state out of ``git status`` without editing the user's tracked .gitignore; True when
        ``info/exclude`` changed.

        ``info/exclude`` is resolved through git so a linked worktree uses its repository's file. The
        ``.autodev/`` line autodev wrote before is replaced, so that the workflows and commands under it become
        committable.
        """
        exclude = git_path(self.root, "info/exclude")
        text = os.fsdecode(exclude.read_bytes()) if exclude.exists() else ""
        lines = text.splitlines()
        kept = [line for line in lines if line.strip() != OLD_STATE_IGNORE]
        missing = [pattern for pattern in patterns if pattern not in {line.strip() for line in kept}]
        if not missing and len(kept) == len(lines):
            return False
        exclude.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(exclude, os.fsencode("".join(f"{line}\n" for line in [*kept, *missing])))
        return True

    def clear_stale_index_lock(self, *, older_than_s: float | None = None) -> str | None:
        """Remove an ``index.lock`` no git process holds (:func:`autodev.vcs.lock.clear_stale_index_lock`)."""
        return lock.clear_stale_index_lock(self.root, older_than_s=older_than_s)

    def commit_paths(
        self, paths: Sequence[str], message: str, trailers: Mapping[str, str], *, run_hooks: bool = False
    ) -> str:
        """Commit exactly ``paths`` and nothing the user staged (:func:`autodev.vcs.commit.commit_paths`)."""
        return commit.commit_paths(self.root, paths, message, trailers, run_hooks=run_hooks)


def _listed(path: str, listed: set[str]) -> bool:
    prefix = path.rstrip("/") + "/"
    return path in listed or any(entry.startswith(prefix) for entry in listed)


def init_repository(path: Path) -> GitRepo:
    """Create a repository (branch ``main``) at ``path``; an existing one is left as git leaves it."""
    path.mkdir(parents=True, exist_ok=True)
    done = run_git(path, ["init", "--quiet", "--initial-branch=main"])
    if done.returncode != 0:
        raise VcsError(f"`git init` failed in {path}: {stderr_of(done)}")
    return GitRepo.open(path)
