"""An answer's code blocks as file changes: read, confined, checked against the user's work, shown, applied.

The engine's parts do the work (``synth/`` reads and confines, the journal makes writes undoable, git commits
exactly the files): `ask --apply` differs from a pass only in that the user asked, so any file of the project may
change (tests and config too), and the user's uncommitted work is refused unless they say ``--force``. With
tests, both runs happen in the project's disposable copy (the code is a model's even when the user asked for it),
and the user's tree is written only when the tests did not get worse.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.config import Config
from autodev.errors import (
    EditRejectedError,
    NoEditError,
    NotARepositoryError,
    UnsafeWorkspaceError,
    UsageError,
    VcsError,
    WorkspaceWriteError,
)
from autodev.fileio import atomic_write, bytes_on_disk
from autodev.journal import EditTransaction, pending_attempt, recover
from autodev.logs import get_logger
from autodev.passlock import pass_lock
from autodev.project import ProjectPaths
from autodev.synth.apply import apply_edits
from autodev.synth.diff import unified_diff
from autodev.synth.guard import confine
from autodev.synth.reply import parse_reply
from autodev.vcs import GitRepo
from autodev.vcs.git import run_git
from autodev.vcs.landed import keep_landed_commit
from autodev.verify.adapters.choose import project_tests
from autodev.verify.compare import counts, got_worse
from autodev.verify.confine import Confinement
from autodev.verify.copy import copy_for
from autodev.verify.runner import TestRun, run_tests

TestCommand = Callable[[Path], TestRun]

_NO_EDIT = (
    "the answer has no code block with a file path to apply (put the path alone on the line before a fenced block)"
)


class Proposal(BaseModel):
    """The answer's changes: posix path relative to the root -> the file's complete new text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    changes: dict[str, str]
    created: tuple[str, ...] = ()


class Applied(BaseModel):
    """What `--apply` did: the files, whether they were kept, the commit, and one sentence for people."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    files: tuple[str, ...]
    kept: bool
    commit: str | None
    reason: str
    tests_before: str | None = None
    tests_after: str | None = None


class UncommittedWorkError(UnsafeWorkspaceError):
    """Files the user changed and did not commit: `--apply` would overwrite their work."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__(paths)
        self.args = (
            f"{', '.join(paths)} {'has' if len(paths) == 1 else 'have'} uncommitted changes autodev did not make; "
            "commit or stash them first, or pass --force",
        )


def _read_text(root: Path, rel: str) -> str | None:
    """A file's text, None when it does not exist; binary or non-UTF-8 files cannot be edited."""
    try:
        return confine(root, rel).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise EditRejectedError(f"{rel} is not UTF-8 text; autodev cannot edit it") from exc
    except IsADirectoryError as exc:
        raise EditRejectedError(f"{rel} is a directory; autodev cannot write a file there") from exc


def propose(root: Path, answer: str, files: Sequence[str]) -> Proposal:
    """The answer's code blocks as new file texts, every path confined to the project; unchanged files dropped.

    Any file of the project may change (the user asked, so tests and config too); an answer whose code is what
    the files already hold is an empty proposal. EditRejectedError with a reason for people otherwise.
    """
    try:
        edits = parse_reply(answer, targets=list(files))
    except NoEditError as error:
        raise EditRejectedError(_NO_EDIT) from error
    if not edits:
        raise EditRejectedError(_NO_EDIT)
    for edit in edits:
        confine(root, edit.path)
    current = {edit.path: _read_text(root, edit.path) for edit in edits}
    new = apply_edits(edits, lambda rel: current[rel] if rel in current else _read_text(root, rel))
    changes = {rel: text for rel, text in new.items() if text != current.get(rel)}
    created = tuple(rel for rel in changes if current.get(rel) is None)
    return Proposal(changes=changes, created=created)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _written(written_file: Path) -> dict[str, str]:
    """What autodev wrote last (path -> sha256); an unreadable record counts as empty, so nothing is trusted."""
    try:
        data = json.loads(written_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(key): str(value) for key, value in data.items()}


def _made_by_autodev(root: Path, rel: str, written: Mapping[str, str]) -> bool:
    recorded = written.get(rel)
    if recorded is None:
        return False
    try:
        return _sha256((root / rel).read_bytes()) == recorded
    except OSError:
        return False


def _repository(root: Path) -> GitRepo | None:
    try:
        return GitRepo.open(root)
    except NotARepositoryError:
        return None


def _repo_relative(repo: GitRepo, root: Path, rel: str) -> str:
    return (root.resolve() / rel).relative_to(repo.root.resolve()).as_posix()


def refuse_uncommitted(root: Path, paths: Sequence[str], written_file: Path, *, force: bool) -> None:
    """UncommittedWorkError for the paths holding uncommitted work autodev did not write; nothing outside git.

    A file autodev wrote itself (``--no-commit``) has the bytes it recorded, so applying again over it is fine.
    """
    if force:
        return
    repo = _repository(root)
    if repo is None:
        return
    by_repo = {_repo_relative(repo, root, rel): rel for rel in paths}
    dirty = [by_repo[path] for path in repo.uncommitted(by_repo)]
    dirty = [rel for rel in dirty if (root / rel).exists() or _tracked(repo, _repo_relative(repo, root, rel))]
    written = _written(written_file)
    refused = [rel for rel in dirty if not _made_by_autodev(root, rel, written)]
    if refused:
        raise UncommittedWorkError(refused)


def _tracked(repo: GitRepo, rel: str) -> bool:
    return run_git(repo.root, ["ls-files", "--error-unmatch", "--", rel]).returncode == 0


def diff_text(root: Path, changes: Mapping[str, str], *, color: bool) -> str:
    """A unified diff of every change against the files as they are (synth/diff.py), ANSI-coloured on request."""
    diff = unified_diff(changes, {rel: _read_text(root, rel) for rel in changes})
    return _colored(diff) if color else diff


def _colored(diff: str) -> str:
    def paint(line: str) -> str:
        if line.startswith(("+++", "---")):
            return f"\x1b[1m{line}\x1b[0m"
        if line.startswith("+"):
            return f"\x1b[32m{line}\x1b[0m"
        if line.startswith("-"):
            return f"\x1b[31m{line}\x1b[0m"
        if line.startswith("@@"):
            return f"\x1b[36m{line}\x1b[0m"
        return line

    return "\n".join(paint(line) for line in diff.split("\n"))


def recover_first(paths: ProjectPaths) -> None:
    """Refuse while another autodev writes here; restore an interrupted attempt's files before applying."""
    pending = pending_attempt(paths.journal_file)
    if pending is None:
        return
    if pending.running:
        raise UsageError(
            f"autodev is changing files in this project right now (pid {pending.pid}); try again when it is done"
        )
    log = get_logger()
    repo = _repository(paths.root)
    landed = None if repo is None else keep_landed_commit(repo, paths.root, paths.journal_file)
    if landed is not None:
        log.warning("an interrupted change had committed its files; kept", commit=landed)
    report = recover(paths.root, paths.journal_file)
    if report.restored:
        log.warning("rolled back an interrupted attempt", restored=list(report.restored))
    if report.conflicts:
        log.warning("files changed since the interrupted attempt were left as they are", files=list(report.conflicts))
    if report.problem:
        log.error("journal could not be used", problem=report.problem, moved_to=report.moved_aside)


def _record_written(paths: ProjectPaths, files: Sequence[str], *, keep: bool) -> None:
    """Remember (``keep``) or forget each file's sha256 in ``ask_written_file``, written atomically."""
    written = _written(paths.ask_written_file)
    for rel in files:
        if keep:
            written[rel] = _sha256((paths.root / rel).read_bytes())
        else:
            written.pop(rel, None)
    if not written and not paths.ask_written_file.exists():
        return
    paths.ask_written_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(paths.ask_written_file, json.dumps(written, indent=2, sort_keys=True).encode("utf-8"))


def _write(paths: ProjectPaths, changes: Mapping[str, str]) -> EditTransaction:
    transaction = EditTransaction(paths.root, paths.journal_file)
    try:
        transaction.apply({rel: text.encode("utf-8") for rel, text in changes.items()})
    except OSError as exc:
        raise WorkspaceWriteError(f"could not write the changes: {exc}; every file is as it was") from exc
    return transaction


def project_test_command(config: Config, paths: ProjectPaths) -> TestCommand:
    """The project's tests as configured (runner, timeout, environment, confinement), to run in a copy."""
    chosen = project_tests(config, paths.root)
    return functools.partial(run_tests, command=chosen.command, timeout_s=config.tests.timeout_s,
                             scratch_dir=paths.scratch_dir, runner=chosen.adapter, pass_env=config.tests.pass_env,
                             confine=Confinement.from_config(config.tests, paths.root))  # fmt: skip


def tested_in_copy(
    paths: ProjectPaths, candidates: Sequence[Mapping[str, str]], tests: TestCommand
) -> tuple[TestRun, list[TestRun]]:
    """The tests before any change, then with each candidate's changes, all in the project's disposable copy
    (autodev.verify.copy): the code under test is the model's even when the user asked for it, so it never runs
    in the user's tree. Callers hold the pass lock: the loop's passes use the same copy."""
    copy = copy_for(paths.root, paths.trial_copy_dir)
    copy.prepare({})
    before = tests(copy.root)
    after: list[TestRun] = []
    for changes in candidates:
        copy.prepare(changes)
        after.append(tests(copy.root))
    return before, after


def apply_changes(
    paths: ProjectPaths,
    changes: Mapping[str, str],
    *,
    message: str,
    trailers: Mapping[str, str],
    commit: bool,
    tests: TestCommand | None = None,
    run_hooks: bool = False,
) -> Applied:
    """Write ``changes`` through the journal, test them when asked, commit exactly those files when asked; under
    the project's pass lock, so no pass of the loop runs its attempt on the same files meanwhile."""
    if not changes:
        return Applied(files=(), kept=True, commit=None, reason="nothing to change: the files already hold this code")
    with pass_lock(paths.state_dir, doing="ask --apply"):
        return _apply_locked(paths, changes, message=message, trailers=trailers, commit=commit, tests=tests,
                             run_hooks=run_hooks)  # fmt: skip


def _apply_locked(
    paths: ProjectPaths,
    changes: Mapping[str, str],
    *,
    message: str,
    trailers: Mapping[str, str],
    commit: bool,
    tests: TestCommand | None,
    run_hooks: bool,
) -> Applied:
    recover_first(paths)
    files = tuple(changes)
    tests_before = tests_after = None
    if tests is not None:
        started = bytes_on_disk(paths.root, files)
        before, (after,) = tested_in_copy(paths, [changes], tests)
        tests_before, tests_after = counts(before), counts(after)
        worse = got_worse(before, after)
        edited = [rel for rel, data in bytes_on_disk(paths.root, files).items() if data != started[rel]]
        if worse is not None or edited:
            reason = f"{worse}; every file is as it was" if worse is not None else _edited_meanwhile(edited)
            return Applied(files=files, kept=False, commit=None, reason=reason,
                           tests_before=tests_before, tests_after=tests_after)  # fmt: skip
    transaction = _write(paths, changes)
    sha, reason = _keep(paths, transaction, files, message, trailers, commit=commit, run_hooks=run_hooks)
    return Applied(
        files=files, kept=True, commit=sha, reason=reason, tests_before=tests_before, tests_after=tests_after
    )


def _edited_meanwhile(edited: Sequence[str]) -> str:
    """Someone saved a file the change writes while its tests ran: their bytes win, and nothing is written."""
    return f"{', '.join(edited)} changed while the tests ran (not by autodev); kept as saved, nothing written"


def _keep(
    paths: ProjectPaths,
    transaction: EditTransaction,
    files: tuple[str, ...],
    message: str,
    trailers: Mapping[str, str],
    *,
    commit: bool,
    run_hooks: bool,
) -> tuple[str | None, str]:
    repo = _repository(paths.root) if commit else None
    if repo is None:
        transaction.finish()
        _record_written(paths, files, keep=True)
        return None, "left uncommitted" if not commit else "not in a git repository, so left uncommitted"
    try:
        transaction.mark_committing(repo.head_sha())
        sha = repo.commit_paths([_repo_relative(repo, paths.root, rel) for rel in files], message, trailers,
                                run_hooks=run_hooks)  # fmt: skip
    except VcsError as exc:
        transaction.finish()
        _record_written(paths, files, keep=True)
        return None, f"the commit failed ({exc}); the changes are in place, uncommitted"
    transaction.finish()
    _record_written(paths, files, keep=False)
    return sha, f"committed {', '.join(files)} as {sha[:7]}"
