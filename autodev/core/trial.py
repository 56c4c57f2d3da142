"""A trial: test a candidate's changes in a copy of the project, judge, and only when green apply and commit them.

This is the only code that changes the user's files. The tests run in a disposable copy (:mod:`autodev.verify.copy`,
synced before each attempt), never in the user's tree, so the code under test cannot delete, rewrite or commit
anything there; a red attempt never touches the user's tree at all. After the run the tests and their configuration
in the copy must still hold their bytes, else the attempt is red whatever the tests said. A green one is applied
through the journal (a crash mid-apply is rolled back on the next start) and committed with only the changed files
and the requirement and model trailers, but only when the target files still hold the bytes the attempt started
from: a file the user saved meanwhile is theirs, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from autodev.core.assignment import Assignment
from autodev.core.review import PassReviewer, Review
from autodev.errors import VcsError, WorkspaceWriteError
from autodev.fileio import bytes_on_disk
from autodev.journal import EditTransaction
from autodev.logs import get_logger
from autodev.progress import Committed, EditsApplied, RolledBack, report
from autodev.vcs.control import changed, snapshot
from autodev.vcs.trailers import MODEL_TRAILER, REQUIREMENT_TRAILER
from autodev.verify.copy import ProjectCopy, copy_for
from autodev.verify.pristine import pristine_tests
from autodev.verify.runner import TestRun
from autodev.verify.special_case import spec_text, special_cases
from autodev.verify.verdict import Verdict, judge

TrialKind = Literal["green", "red", "commit_failed"]


@dataclass(frozen=True)
class TrialOutcome:
    """What became of one candidate: committed, red (judged in the copy), or green but not committed."""

    kind: TrialKind
    run: TestRun
    verdict: Verdict
    commit: str | None = None
    error: str = ""  # why the commit failed
    review: Review | None = None  # what the pass's reviewer said of a change the tests passed

    @property
    def green(self) -> bool:
        return self.kind == "green"


class Trial:
    """Tries changes for one assignment; ``author`` (the model, or the replay) goes into the commit's trailer."""

    def __init__(
        self, assignment: Assignment, copy: ProjectCopy | None = None, *, reviewer: PassReviewer | None = None
    ) -> None:
        self.assignment = assignment
        self.reviewer = reviewer
        self.log = get_logger()
        self._copy = copy
        self._test_sources = {t.path: t.content or "" for t in assignment.tests}  # as the user wrote them
        self._expected = pristine_tests(self._test_sources)

    @property
    def copy(self) -> ProjectCopy:
        """The pass's copy of the project (one per project and process, reused across attempts)."""
        if self._copy is None:
            self._copy = copy_for(self.assignment.root, self.assignment.paths.trial_copy_dir)
        return self._copy

    def judge(self, run: TestRun) -> Verdict:
        """The one green-or-red decision for a candidate, wherever its tests ran."""
        return judge(self.assignment.baseline, run, self.assignment.target_tests, self._expected)

    def run(self, changes: Mapping[str, str], *, label: str, author: str) -> TrialOutcome:
        """Test in the copy; when green and the targets are as the attempt found them, apply and commit."""
        work = self.assignment
        started = bytes_on_disk(work.root, changes)
        copy = self._prepared(changes)
        dirs = work.repo.dirs
        control = snapshot(dirs, work.root)
        run = work.run_tests(label, copy.root)
        git_changed = changed(control, snapshot(dirs, work.root))
        verdict = self.judge(run)
        tampered = copy.tampered([t.path for t in work.tests], changes)
        if tampered:
            verdict = _tampered(verdict, tampered)
        if git_changed:
            verdict = self.git_changed(verdict, git_changed)
        if verdict.green:
            verdict = self._special_cased(verdict, changes, started)
        review = None
        if verdict.green and self.reviewer is not None:
            review = self.reviewer.review(work.requirement, changes, _texts(started))
            verdict = _reviewed(verdict, review)
        if not verdict.green:
            self.log.info("red in the copy; the user's tree untouched", reason=verdict.reason)
            report(RolledBack(requirement=work.requirement.id, files=(), reason=verdict.reason))
            return TrialOutcome("red", run, verdict, review=review)
        now = bytes_on_disk(work.root, changes)
        edited = [rel for rel in sorted(changes) if now[rel] != started[rel]]
        if edited:
            return self._user_edited(edited, run, verdict)
        transaction = EditTransaction(work.root, work.paths.journal_file, requirement=work.requirement.id)
        _apply(transaction, changes)
        self.log.info("edits applied", files=sorted(changes))
        report(EditsApplied(requirement=work.requirement.id, files=tuple(sorted(changes))))
        outcome = self._commit(transaction, sorted(changes), run, verdict, author)
        return replace(outcome, review=review)

    def git_changed(self, verdict: Verdict, what: list[str], *, warn: bool = True) -> Verdict:
        """Red, and said loudly: the code under test wrote into the user's repository (a hook runs at the next
        commit). Nothing is restored: the user reviews it."""
        shown = ", ".join(what)
        if warn:
            self.log.warning(f"the code under test changed {shown} in your repository; review it", files=what)
        reason = (
            f"the code under test changed {shown} in the repository (not in its copy); autodev left it as it is: "
            "code under test must not touch git"
        )
        return verdict.model_copy(update={"green": False, "reason": reason})

    def _special_cased(
        self, verdict: Verdict, changes: Mapping[str, str], started: Mapping[str, bytes | None]
    ) -> Verdict:
        """Red when the green code hard-codes the tests' expected results instead of computing them."""
        work = self.assignment
        if not work.config.tests.special_case_check:
            return verdict
        found = special_cases(changes, _texts(started), self._test_sources, spec_text(work.requirement))
        if not found:
            return verdict
        reason = "; ".join(map(str, found[:3])) + ("; ..." if len(found) > 3 else "")
        self.log.info("special-cased the tests", cases=[str(case) for case in found])
        return verdict.model_copy(update={"green": False, "reason": reason})

    def _prepared(self, changes: Mapping[str, str]) -> ProjectCopy:
        """The copy synced to the project as it is now, with the attempt's changes written into it."""
        copy = self.copy
        stats = copy.prepare(changes)
        self.log.debug("copy synced", copied=stats.copied, removed=stats.removed, seconds=round(stats.seconds, 3))
        return copy

    def _user_edited(self, edited: list[str], run: TestRun, verdict: Verdict) -> TrialOutcome:
        """Green, but someone saved a target while the tests ran: those bytes were not tested, so nothing is
        written or committed; the user's files stay as they saved them (a conflict, never overwritten)."""
        reason = f"{', '.join(edited)} changed while the tests ran (not by autodev); kept as saved, nothing committed"
        self.log.info("not applied", reason=reason)
        report(RolledBack(requirement=self.assignment.requirement.id, files=(), reason=reason))
        return TrialOutcome("commit_failed", run, verdict, error=reason)

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


def _texts(started: Mapping[str, bytes | None]) -> dict[str, str | None]:
    return {rel: data.decode("utf-8", "replace") if data is not None else None for rel, data in started.items()}


def _reviewed(verdict: Verdict, review: Review) -> Verdict:
    """Red with the reviewer's reasons when it rejected the change (they reach the next attempt's prompt)."""
    if review.approved:
        return verdict
    reason = f"the reviewer ({review.model}) rejected the change: {review.reasons or 'no reason given'}"
    return verdict.model_copy(update={"green": False, "reason": reason})


def _tampered(verdict: Verdict, changed: list[str]) -> Verdict:
    """Red, whatever the tests said: the code under test changed the tests or their configuration."""
    reason = f"the code under test changed {', '.join(changed)} while the tests ran"
    return verdict.model_copy(update={"green": False, "reason": reason})


def _apply(transaction: EditTransaction, changes: Mapping[str, str]) -> None:
    """Write through the journal; a failing disk ends the pass (it is not the model's fault) with nothing changed."""
    try:
        transaction.apply({path: text.encode("utf-8") for path, text in changes.items()})
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkspaceWriteError(
            f"could not write {', '.join(sorted(changes))}: {reason}; every file is as it was"
        ) from exc
