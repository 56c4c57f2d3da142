"""An attempt killed between `git commit` and the journal's removal: its commit landed, so its files stay.

Without this, recovery would restore the old bytes under a HEAD that already holds the new ones: the tree would
show the attempt's files as changed by the user, and every later pass would be blocked on "uncommitted changes".
The journal says when it was about to commit and on top of which HEAD (``Journal.committing``); the commit
landed when HEAD's parent is that commit and HEAD holds exactly the bytes the attempt wrote, still on disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from autodev.journal import Journal, drop_journal, read_journal
from autodev.vcs.git import run_git
from autodev.vcs.repo import GitRepo


def keep_landed_commit(repo: GitRepo, project_root: Path, journal_path: Path) -> str | None:
    """Drop the journal of an attempt whose commit is HEAD, and return HEAD; None when there is none such."""
    journal = read_journal(journal_path)
    if journal is None or not journal.committing:
        return None
    head = repo.head_sha()
    if head is None or head == journal.commit_parent or not _parent_is(repo, head, journal.commit_parent):
        return None
    if not all(_head_holds(repo, project_root, journal, snapshot.path) for snapshot in journal.snapshots):
        return None
    drop_journal(journal_path)
    return head


def _parent_is(repo: GitRepo, head: str, parent: str | None) -> bool:
    done = run_git(repo.root, ["rev-parse", "--verify", "--quiet", f"{head}^1"])
    found = done.stdout.decode().strip() if done.returncode == 0 else None
    return found == parent


def _head_holds(repo: GitRepo, project_root: Path, journal: Journal, rel: str) -> bool:
    """HEAD's blob at ``rel`` is the file on disk, and those are bytes the attempt wrote (or both are absent)."""
    full = project_root / rel
    in_repo = full.resolve().relative_to(repo.root.resolve()).as_posix() if full.exists() else None
    written = journal.written_sha256.get(rel, ())
    if in_repo is None:
        target = (project_root.resolve() / rel).relative_to(repo.root.resolve()).as_posix()
        return run_git(repo.root, ["cat-file", "-e", f"HEAD:{target}"]).returncode != 0  # removed in HEAD too
    data = full.read_bytes()
    if hashlib.sha256(data).hexdigest() not in written:
        return False
    blob = run_git(repo.root, ["cat-file", "blob", f"HEAD:{in_repo}"])
    return blob.returncode == 0 and blob.stdout == data
