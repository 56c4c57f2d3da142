"""The attempt log of one requirement: the only writer of its attempt records and of the metrics events.

Each candidate becomes one :class:`~autodev.records.AttemptRecord` (reported by the pass) and one metrics line
with the outcome the tests gave it; a request that failed and an escalation are metrics lines too. The calls of
other roles (the pass's reviewer, the architect, `autodev ask`, a workflow's steps) are lines of their own, with
their role (:meth:`AttemptLog.role_call`). The router's solve rates and `autodev metrics` read those lines, so
their labels (role, tier, size class) are set in one place: :class:`~autodev.route.CallLog`, which this extends.
"""

from __future__ import annotations

from autodev.core.review import REVIEWER, Review
from autodev.logs import get_logger
from autodev.records import AttemptOutcome, AttemptRecord, CallFacts, EventSink, Outcome
from autodev.route import CallLog, call_facts

__all__ = ["AttemptLog", "call_facts", "with_review"]

_METRIC_OUTCOMES: dict[str, Outcome] = {"green": "green", "red": "red", "rejected": "rejected"}


def with_review(facts: CallFacts, review: Review | None) -> CallFacts:
    """The attempt's facts with the pass reviewer's call added: a reviewed attempt costs both calls.

    This is what the attempt record (and so the pass's cost, `run --json`) carries; the metrics keep the two calls
    apart, one line each (:meth:`AttemptLog.attempt`).
    """
    completion = review.completion if review is not None else None
    if completion is None or completion.cached:
        return facts
    return facts.model_copy(
        update={
            "input_tokens": facts.input_tokens + completion.input_tokens,
            "output_tokens": facts.output_tokens + completion.output_tokens,
            "cost_usd": facts.cost_usd + completion.cost_usd,
            "model_seconds": round(facts.model_seconds + completion.duration_s, 3),
        }
    )


class AttemptLog(CallLog):
    """Numbers the attempts of one requirement and writes their records; ``size`` labels its metrics lines.

    The lines of other roles' calls (:meth:`role_call`) and of failed requests (:meth:`call_failed`) are written as
    any :class:`~autodev.route.CallLog` writes them.
    """

    def __init__(self, requirement: str, metrics: EventSink) -> None:
        super().__init__(requirement, metrics)
        self.records: list[AttemptRecord] = []
        self.log = get_logger()

    @property
    def last_model(self) -> str | None:
        return self.records[-1].model if self.records else None

    def attempt(
        self,
        facts: CallFacts,
        outcome: AttemptOutcome,
        reason: str,
        *,
        files: list[str] | None = None,
        test_seconds: float = 0.0,
        metric: Outcome | None = None,
        review: Review | None = None,
    ) -> AttemptRecord:
        """Record one candidate; ``metric`` overrides the metrics outcome (a green replay is "replayed").

        ``facts`` are the coder's call alone. With the pass reviewer's ``review`` of it, the record carries both
        calls' tokens, cost and seconds (:func:`with_review`: what the attempt cost), while the metrics get two
        lines: the coder's, with the outcome, and the reviewer's (role "reviewer", its verdict as the reason), so
        `autodev metrics` counts each call once, under its own role.
        """
        record = AttemptRecord(
            **with_review(facts, review).model_dump(),
            number=len(self.records) + 1,
            requirement=self.requirement,
            outcome=outcome,
            reason=reason,
            files=files or [],
            test_seconds=round(test_seconds, 3),
        )
        self.records.append(record)
        self.log.info("attempt", number=record.number, tier=record.tier, model=record.model, outcome=outcome,
                      reason=reason)  # fmt: skip
        self._append(facts, outcome=metric or _METRIC_OUTCOMES.get(outcome, "error"))
        if review is not None and review.completion is not None:  # no answer: its failed requests are lines already
            self.role_call(REVIEWER, call_facts(review.model, review.tier, review.completion), reason=review.said)
        return record

    def escalated(self, tier: str, model: str, to_tier: str, reason: str) -> None:
        self._append(CallFacts(model=model, tier=tier), kind="escalation", to_tier=to_tier, reason=reason)

    def merged(self, tier: str, model: str, reason: str) -> None:
        """A merge round was decided at ``tier`` (``autodev metrics`` counts them)."""
        self._append(CallFacts(model=model, tier=tier), kind="merge", reason=reason)
