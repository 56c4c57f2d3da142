"""A trial: apply a candidate's changes to the user's tree, run the tests, judge, and commit or restore.

This is the only code that changes the user's files. Edits go through the journal, so a crash mid-trial is rolled
back on the next start; a red verdict (or any exception, Ctrl-C included) restores the exact bytes; a green one is
committed with only the changed files and the requirement and model trailers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from autodev.core.assignment import Assignment
from autodev.errors import VcsError, WorkspaceWriteError
from autodev.journal import EditTransaction
from autodev.logs import get_logger
from autodev.progress import Committed, EditsApplied, RolledBack, report
from autodev.vcs.trailers import MODEL_TRAILER, REQUIREMENT_TRAILER
from autodev.verify.runner import TestRun
from autodev.verify.verdict import Verdict, judge

TrialKind = Literal["green", "red", "commit_failed"]


@dataclass(frozen=True)
class TrialOutcome:
    """What became of one candidate in the user's tree: committed, rolled back red, or rolled back unsaved."""

    kind: TrialKind
    run: TestRun
    verdict: Verdict
    commit: str | None = None
    error: str = ""  # why the commit failed

    @property
    def green(self) -> bool:
        return self.kind == "green"


class Trial:
    """Tries changes for one assignment; ``author`` (the model, or the replay) goes into the commit's trailer."""

    def __init__(self, assignment: Assignment) -> None:
        self.assignment = assignment
        self.log = get_logger()

    def judge(self, run: TestRun) -> Verdict:
        """The one green-or-red decision for a candidate, wherever its tests ran."""
        return judge(self.assignment.baseline, run, self.assignment.target_tests)

    def run(self, changes: Mapping[str, str], *, label: str, author: str) -> TrialOutcome:
        """Apply through the journal, test, and commit when green or restore the exact bytes when not."""
        work = self.assignment
        transaction = EditTransaction(work.root, work.paths.journal_file, requirement=work.requirement.id)
        _apply(transaction, changes)
        try:
            self.log.info("edits applied", files=sorted(changes))
            report(EditsApplied(requirement=work.requirement.id, files=tuple(sorted(changes))))
            run = work.run_tests(label, work.root)
            verdict = self.judge(run)
        except BaseException as stop:  # Ctrl-C included: the bytes come back before it goes on
            reason = f"{type(stop).__name__}: {stop}" if str(stop) else type(stop).__name__
            self._restore(transaction, reason, interrupted=isinstance(stop, KeyboardInterrupt))
            raise
        if not verdict.green:
            self._restore(transaction, verdict.reason)
            return TrialOutcome("red", run, verdict)
        return self._commit(transaction, sorted(changes), run, verdict, author)

    def _restore(self, transaction: EditTransaction, reason: str, *, interrupted: bool = False) -> None:
        """The exact bytes back, told to the log and to whoever watches the pass."""
        restored = transaction.rollback()
        self.log.info("rolled back", reason=reason, restored=restored)
        report(RolledBack(requirement=self.assignment.requirement.id, files=tuple(restored), reason=reason,
                          interrupted=interrupted))  # fmt: skip

    def _commit(
        self, transaction: EditTransaction, files: list[str], run: TestRun, verdict: Verdict, author: str
    ) -> TrialOutcome:
        requirement = self.assignment.requirement
        trailers = {REQUIREMENT_TRAILER: requirement.id, MODEL_TRAILER: author}
        try:
            transaction.mark_committing(self.assignment.repo.head_sha())
            sha = self.assignment.repo.commit_paths(files, f"autodev: {requirement.title}", trailers,
                                                    run_hooks=self.assignment.config.vcs.run_hooks)  # fmt: skip
        except VcsError as error:
            restored = transaction.rollback()
            self.log.error("commit failed; rolled back", error=str(error))
            report(RolledBack(requirement=requirement.id, files=tuple(restored), reason=f"commit failed: {error}"))
            return TrialOutcome("commit_failed", run, verdict, error=str(error))
        transaction.finish()
        report(Committed(requirement=requirement.id, sha=sha, files=tuple(files)))
        return TrialOutcome("green", run, verdict, commit=sha)


def _apply(transaction: EditTransaction, changes: Mapping[str, str]) -> None:
    """Write through the journal; a failing disk ends the pass (it is not the model's fault) with nothing changed."""
    try:
        transaction.apply({path: text.encode("utf-8") for path, text in changes.items()})
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkspaceWriteError(
            f"could not write {', '.join(sorted(changes))}: {reason}; every file is as it was"
        ) from exc
