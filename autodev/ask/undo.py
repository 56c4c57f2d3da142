"""`autodev undo`: autodev's last commit reverted, when nothing was committed on top of it.

A revert is itself a commit (``Autodev-Undoes: <sha>``), so `git revert HEAD` brings the change back and
history keeps both. Nothing is checked out over the user's tree: the commit's files must be clean against HEAD,
and only then are their parent's bytes written, atomically and through the journal.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.ask.changes import recover_first
from autodev.errors import UndoRefusedError
from autodev.journal import EditTransaction
from autodev.passlock import pass_lock
from autodev.project import ProjectPaths
from autodev.vcs import GitRepo
from autodev.vcs.git import git_output, run_git, split_nul
from autodev.vcs.trailers import MODEL_TRAILER, UNDOES_TRAILER

_LOOK_BACK = 200
_REGULAR = ("100644", "100755")


class Undone(BaseModel):
    """The commit undone (``undone``, its ``subject``), the new commit restoring its ``files``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    undone: str
    subject: str
    commit: str
    files: tuple[str, ...]


class _Commit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sha: str
    subject: str
    autodev: bool
    undoes: str | None


def _log(root: Path, count: int) -> list[_Commit]:
    """The newest ``count`` commits of HEAD with whether autodev made them and what they undo."""
    fmt = f"%H%x00%s%x00%(trailers:valueonly,separator=%x1f,key={MODEL_TRAILER})%x00"
    fmt += f"%(trailers:valueonly,separator=%x1f,key={UNDOES_TRAILER})%x1e"
    done = run_git(root, ["log", "--no-show-signature", f"-{count}", f"--format={fmt}", "HEAD"])
    if done.returncode != 0:
        return []
    commits = []
    for record in os.fsdecode(done.stdout).split("\x1e"):
        fields = record.strip("\n").split("\x00")
        if len(fields) != 4:
            continue
        sha, subject, model, undoes = fields
        undone = undoes.split("\x1f")[0].strip() or None
        commits.append(_Commit(sha=sha.strip(), subject=subject, autodev=bool(model.strip()), undoes=undone))
    return commits


def _subject_of(root: Path, sha: str) -> str:
    done = run_git(root, ["log", "-1", "--format=%s", sha])
    return os.fsdecode(done.stdout).strip() if done.returncode == 0 else "?"


def _target(root: Path) -> _Commit:
    """HEAD, when it is autodev's and not itself an undo; UndoRefusedError saying why and what to do otherwise."""
    commits = _log(root, _LOOK_BACK)
    if not commits:
        raise UndoRefusedError("there is no commit of autodev's to undo (the repository has no commits)")
    head = commits[0]
    if head.undoes is not None:
        raise UndoRefusedError(
            f"the last commit already undoes {head.undoes[:7]} ({_subject_of(root, head.undoes)}); "
            "`git revert HEAD` brings it back"
        )
    if head.autodev:
        return head
    for above, commit in enumerate(commits):
        if commit.autodev:
            raise UndoRefusedError(
                f"{above} commit(s) were made on top of autodev's last commit {commit.sha[:7]} ({commit.subject}); "
                f"undo it yourself with `git revert {commit.sha[:7]}`"
            )
    raise UndoRefusedError("there is no commit of autodev's to undo")


def _parent(root: Path, sha: str) -> str | None:
    done = run_git(root, ["rev-parse", "--verify", "--quiet", f"{sha}^1"])
    return os.fsdecode(done.stdout).strip() or None if done.returncode == 0 else None


def _changed(root: Path, sha: str) -> list[tuple[str, str]]:
    """(status letter, path) of every file the commit changed; a root commit added all of its files."""
    entries = split_nul(git_output(root, "diff-tree", "--no-commit-id", "--name-status", "-r", "-z", "--root", sha))
    return [(entries[i][0], entries[i + 1]) for i in range(0, len(entries) - 1, 2)]


def _modes(root: Path, sha: str, files: list[str]) -> dict[str, str]:
    """The tree entry mode (``100644``, ``100755``, ``120000`` a link, ``160000`` a submodule) of each file."""
    entries = split_nul(git_output(root, "ls-tree", "-z", sha, "--", *files))
    modes: dict[str, str] = {}
    for entry in entries:
        meta, _, path = entry.partition("\t")
        modes[path] = meta.split(" ", 1)[0]
    return modes


def _refuse_links(root: Path, target: _Commit, parent: str | None, files: list[str]) -> None:
    """Only regular files are restored byte for byte: a link or submodule on either side is the user's to undo."""
    special = {
        path
        for sha in (target.sha, parent)
        if sha is not None
        for path, mode in _modes(root, sha, files).items()
        if mode not in _REGULAR
    }
    if special:
        raise UndoRefusedError(
            f"{', '.join(sorted(special))} {'is a' if len(special) == 1 else 'are'} symbolic link or submodule "
            f"entries autodev does not restore; undo it yourself with `git revert {target.sha[:7]}`"
        )


def undo_last(root: Path, *, run_hooks: bool = False) -> Undone:
    """Revert autodev's HEAD commit with a new commit of exactly its files; refused when unsafe, nothing changed.

    ``run_hooks``: the repository's hooks run for the undo commit too (``[vcs] run_hooks``)."""
    repo = GitRepo.open(root)
    top = repo.root
    target = _target(top)
    parent = _parent(top, target.sha)
    changed = _changed(top, target.sha)
    files = [rel for _, rel in changed]
    if not files:
        raise UndoRefusedError(f"{target.sha[:7]} ({target.subject}) changed no file; there is nothing to undo")
    dirty = repo.uncommitted(files)
    if dirty:
        raise UndoRefusedError(
            f"{', '.join(dirty)} {'has' if len(dirty) == 1 else 'have'} uncommitted changes; commit or stash them first"
        )
    _refuse_links(top, target, parent, files)
    parent_modes = {} if parent is None else _modes(top, parent, files)
    restore: dict[str, bytes] = {}
    executable: list[str] = []
    remove: list[str] = []
    for status, rel in changed:
        if status == "A" or parent is None:
            remove.append(rel)
            continue
        restore[rel] = git_output(top, "cat-file", "blob", f"{parent}:{rel}")
        if parent_modes.get(rel) == "100755":
            executable.append(rel)
    commit = _restore_and_commit(repo, target, restore, executable, remove, run_hooks=run_hooks)
    return Undone(undone=target.sha, subject=target.subject, commit=commit, files=tuple(files))


def _restore_and_commit(
    repo: GitRepo, target: _Commit, restore: dict[str, bytes], executable: list[str], remove: list[str], *,
    run_hooks: bool,
) -> str:  # fmt: skip
    """All or nothing: the parent's bytes written and the added files removed through the journal, one commit.

    A failure (a hook refusing the commit, Ctrl-C) rolls every file back; a crash is rolled back on the next start.
    """
    paths = ProjectPaths(root=repo.root)
    repo.ensure_excluded()  # the pass lock and the journal live there, out of `git status`
    with pass_lock(paths.state_dir, doing="undo"):
        return _restore_locked(paths, repo, target, restore, executable, remove, run_hooks=run_hooks)


def _restore_locked(
    paths: ProjectPaths, repo: GitRepo, target: _Commit, restore: dict[str, bytes], executable: list[str],
    remove: list[str], *, run_hooks: bool,
) -> str:  # fmt: skip
    recover_first(paths)
    transaction = EditTransaction(repo.root, paths.journal_file)
    try:
        transaction.apply(restore)
        for rel in restore:
            _set_executable(repo.root / rel, executable=rel in executable)
        transaction.remove(remove)
        transaction.mark_committing(repo.head_sha())
        sha = repo.commit_paths([*restore, *remove], f"autodev undo: {target.subject}", {UNDOES_TRAILER: target.sha},
                                run_hooks=run_hooks)  # fmt: skip
    except BaseException:
        transaction.rollback()
        raise
    transaction.finish()
    return sha


def _set_executable(path: Path, *, executable: bool) -> None:
    """The parent tree's executable bit back on the file (an atomic write keeps the current file's mode)."""
    mode = path.stat().st_mode
    path.chmod(mode | 0o111 if executable else mode & ~0o111)
