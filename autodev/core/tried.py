"""A tried candidate: its attempt record, and what the next round learns from it (feedback, a failure to classify).

Every way a candidate can end (committed, red, rejected before testing, commit failed) is turned into a record
here, so a replay and a model's reply are recorded alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from autodev.core.attempts import AttemptLog
from autodev.core.review import Review
from autodev.core.trial import TrialOutcome
from autodev.errors import EditRejectedError
from autodev.logs import get_logger
from autodev.records import AttemptRecord, CallFacts, Outcome
from autodev.route import Failure, describe_failure
from autodev.synth.context import Feedback
from autodev.verify.runner import TestRun
from autodev.verify.verdict import Verdict, failure_summary


@dataclass(frozen=True)
class Tried:
    """One candidate after its test run (or its rejection); ``run`` is the green run, the next baseline."""

    record: AttemptRecord
    feedback: Feedback | None = None
    failure: Failure | None = None
    run: TestRun | None = None
    changes: Mapping[str, str] = field(default_factory=dict)  # a red candidate's files, for a merge attempt
    passed: frozenset[str] = frozenset()  # the tests a red candidate passed
    failing: frozenset[str] = frozenset()  # and those it failed

    @property
    def green(self) -> bool:
        return self.record.outcome == "green"


@dataclass
class Round:
    """The candidates of one round at one tier, in the order they were tried."""

    tried: list[Tried] = field(default_factory=list)

    @property
    def green(self) -> Tried | None:
        return next((t for t in self.tried if t.green), None)

    def best_failure(self) -> Tried | None:
        """The failing candidate closest to green: most tests passing; a rejected reply counts least."""
        failed = [t for t in self.tried if t.failure is not None]
        return max(failed, key=lambda t: t.failure.passed if t.failure else 0, default=None)


def after_trial(
    log: AttemptLog,
    facts: CallFacts,
    outcome: TrialOutcome,
    changes: Mapping[str, str],
    *,
    reply: str,
    target_count: int,
    metric: Outcome | None = None,
) -> Tried:
    """Record a trial in the user's tree: committed, red, or rolled back because the commit failed.

    ``facts`` are the coder's call; the trial's review, if any, is recorded with it (:meth:`AttemptLog.attempt`).
    """
    files, seconds, review = sorted(changes), outcome.run.duration_s, outcome.review
    if outcome.kind == "green":
        assert outcome.commit is not None
        get_logger().info("committed", commit=outcome.commit, files=files, model=facts.model, tier=facts.tier)
        reason = f"tests pass; committed {outcome.commit[:12]}"
        record = log.attempt(facts, "green", reason, files=files, test_seconds=seconds, metric=metric, review=review)
        return Tried(record, run=outcome.run)
    if outcome.kind == "commit_failed":
        reason = f"commit failed: {outcome.error}"
        record = log.attempt(facts, "commit_failed", reason, files=files, test_seconds=seconds, metric=metric,
                             review=review)  # fmt: skip
        return Tried(record, None, Failure(signature=reason, cheap=False, why="the commit failed"))
    return red(log, facts, outcome.run, outcome.verdict, outcome.verdict.reason, changes, reply=reply,
               target_count=target_count, metric=metric, review=review)  # fmt: skip


def red(
    log: AttemptLog,
    facts: CallFacts,
    run: TestRun,
    verdict: Verdict,
    reason: str,
    changes: Mapping[str, str],
    *,
    reply: str,
    target_count: int,
    metric: Outcome | None = None,
    review: Review | None = None,
) -> Tried:
    """A candidate whose tests failed (or its reviewer rejected); the model sees its reply and the failure in a
    repair round."""
    record = log.attempt(facts, "red", reason, files=sorted(changes), test_seconds=run.duration_s, metric=metric,
                         review=review)  # fmt: skip
    summary = failure_summary(run)
    text = f"{verdict.reason}\n{summary}" if summary else verdict.reason
    feedback = Feedback(reply=reply, failure=text, model=facts.model, files=dict(changes))
    return Tried(record, feedback, describe_failure(run, None, target_count), changes=dict(changes),
                 passed=frozenset(run.passed_ids), failing=frozenset(run.failing_ids))  # fmt: skip


def rejected(log: AttemptLog, facts: CallFacts, reply: str, error: EditRejectedError, target_count: int) -> Tried:
    """A reply that could not be turned into changes (no code, a protected path, ...): never tested.

    The model is told what to do differently (the error's message, in the repair prompt); people read the short
    form (:func:`for_people`) in the record, so on the console, in ``--json``, the ledger and the route.
    """
    reason = for_people(error)
    record = log.attempt(facts, "rejected", reason)
    feedback = Feedback(reply=reply, failure=str(error), model=facts.model)
    return Tried(record, feedback, describe_failure(None, reason, target_count))


_ADDRESSED = (("Your reply ", "the reply "), ("You cannot write ", "the reply writes "), ("Your ", "the reply's "))
_INSTRUCTION = re.compile(r"(?:\.|;)\s")  # where a rejection's advice to the model begins


def for_people(error: EditRejectedError) -> str:
    """What went wrong, said about the reply rather than to its model, without the advice meant for the model.

    A rejection's message is written for the model ("Your reply contains no file edit. To change a file, ...");
    the raiser may give a summary, otherwise the first clause is taken and turned to the third person.
    """
    if error.summary:
        return error.summary
    text = str(error).strip()
    for addressed, described in _ADDRESSED:
        if text.startswith(addressed):
            text = described + text[len(addressed) :]
            break
    first = _INSTRUCTION.split(text, maxsplit=1)[0].rstrip(".")
    return first[:1].lower() + first[1:] if first else "the reply was rejected"
