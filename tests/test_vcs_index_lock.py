"""GitRepo.clear_stale_index_lock on real repositories, with real git processes holding them or not.

A lock is made stale by back-dating its mtime, which is exactly what the method judges age by.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import git

from autodev.vcs import lock as lock_module
from autodev.vcs.repo import GitRepo

pytestmark = pytest.mark.req("CORE-2")


@pytest.fixture
def committed(repo: Path) -> Path:
    """A repository with one commit, so git commands that need the index have one."""
    (repo / "a.txt").write_text("a\n", encoding="utf-8")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "a")
    return repo


def make_lock(git_dir: Path, age_s: float) -> Path:
    lock = git_dir / "index.lock"
    lock.write_bytes(b"")
    moment = time.time() - age_s
    os.utime(lock, (moment, moment))
    return lock


@contextmanager
def running_git(cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real git process working in ``cwd`` that stays alive until the block ends (it waits on stdin)."""
    process = subprocess.Popen(
        ["git", "hash-object", "--stdin"], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.communicate(b"", timeout=30)


class TestClearStaleIndexLock:
    def test_stale_lock_is_removed_and_git_works_again(self, committed: Path) -> None:
        """An old lock with no git running is removed, described for the log, and git can stage again."""
        lock = make_lock(committed / ".git", age_s=60)
        (committed / "a.txt").write_text("changed\n", encoding="utf-8")
        with pytest.raises(subprocess.CalledProcessError):
            git(committed, "add", "a.txt")

        removed = GitRepo(committed).clear_stale_index_lock()

        assert removed is not None
        assert "index.lock" in removed and "\n" not in removed
        assert not lock.exists()
        git(committed, "add", "a.txt")

    def test_fresh_lock_is_kept(self, committed: Path) -> None:
        """A lock younger than the threshold may belong to a git that is just starting: it stays."""
        lock = make_lock(committed / ".git", age_s=0)
        assert GitRepo(committed).clear_stale_index_lock() is None
        assert lock.exists()

    def test_threshold_is_the_callers(self, committed: Path) -> None:
        """``older_than_s`` decides what counts as old: a 5 s lock stays under 10 s, goes under 1 s."""
        lock = make_lock(committed / ".git", age_s=5)
        assert GitRepo(committed).clear_stale_index_lock(older_than_s=10.0) is None
        assert lock.exists()
        assert GitRepo(committed).clear_stale_index_lock(older_than_s=1.0) is not None
        assert not lock.exists()

    def test_a_lock_a_few_seconds_old_goes_when_no_git_runs(self, committed: Path) -> None:
        """A restart seconds after a kill -9 of git: with /proc showing no git there, 3 s is old enough."""
        lock = make_lock(committed / ".git", age_s=3)
        assert GitRepo(committed).clear_stale_index_lock() is not None
        assert not lock.exists()

    def test_no_lock_gives_none(self, committed: Path) -> None:
        """Nothing to clear is the common case, and says nothing."""
        assert GitRepo(committed).clear_stale_index_lock() is None
        assert not (committed / ".git" / "index.lock").exists()

    def test_lock_is_kept_while_git_runs_in_the_repository(self, committed: Path) -> None:
        """However old the lock, a git process working in this tree may hold it; once it ends, the lock goes."""
        lock = make_lock(committed / ".git", age_s=3600)
        (committed / "sub").mkdir()
        with running_git(committed / "sub"):
            assert GitRepo(committed).clear_stale_index_lock() is None
            assert lock.exists()
        assert GitRepo(committed).clear_stale_index_lock() is not None
        assert not lock.exists()

    def test_git_in_another_repository_does_not_keep_the_lock(self, committed: Path, tmp_path: Path) -> None:
        """Only a git working in this repository counts; one elsewhere on the machine does not."""
        other = tmp_path / "other"
        other.mkdir()
        git(other, "init", "-q")
        lock = make_lock(committed / ".git", age_s=3600)
        with running_git(other):
            assert GitRepo(committed).clear_stale_index_lock() is not None
        assert not lock.exists()

    def test_linked_worktree_lock_is_found_through_git(self, committed: Path, tmp_path: Path) -> None:
        """In a linked worktree the index lives under the main repository's .git/worktrees/NAME."""
        tree = tmp_path / "linked"
        git(committed, "worktree", "add", "-q", str(tree))
        lock = make_lock(committed / ".git" / "worktrees" / "linked", age_s=60)
        main_lock = make_lock(committed / ".git", age_s=60)

        assert GitRepo(tree).clear_stale_index_lock() is not None

        assert not lock.exists()
        assert main_lock.exists()

    def test_without_proc_age_alone_decides(self, committed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Where there is no /proc (macOS), a running git cannot be seen: an old lock is removed anyway."""
        monkeypatch.setattr(lock_module, "_PROC", committed / "no-proc-here")
        lock = make_lock(committed / ".git", age_s=60)
        with running_git(committed):
            removed = GitRepo(committed).clear_stale_index_lock()
        assert removed is not None and "age alone" in removed
        assert not lock.exists()
