"""The attempt log of one requirement: the only writer of its attempt records and of the metrics events.

Each candidate becomes one :class:`~autodev.records.AttemptRecord` (reported by the pass) and one metrics line
with the outcome the tests gave it; a request that failed and an escalation are metrics lines too. The router's
solve rates and `autodev metrics` read those lines, so their labels (tier, size class) are set here, in one place.
"""

from __future__ import annotations

import time

from autodev.core.review import Review
from autodev.errors import ModelError
from autodev.llm.client import Completion
from autodev.llm.models import ResolvedModel
from autodev.logs import get_logger
from autodev.records import AttemptOutcome, AttemptRecord, CallEvent, CallFacts, EventSink, Outcome

_METRIC_OUTCOMES: dict[str, Outcome] = {"green": "green", "red": "red", "rejected": "rejected"}


def call_facts(model: str, tier: str, completion: Completion | None) -> CallFacts:
    """A call's facts from its completion; a replay has none and costs nothing."""
    if completion is None:
        return CallFacts(model=model, tier=tier)
    return CallFacts(
        model=model,
        tier=tier,
        cached=completion.cached,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cost_usd=completion.cost_usd,
        model_seconds=round(completion.duration_s, 3),
    )


def with_review(facts: CallFacts, review: Review | None) -> CallFacts:
    """The attempt's facts with the pass reviewer's call added: a reviewed attempt costs both calls."""
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


class AttemptLog:
    """Numbers the attempts of one requirement and writes their records; ``size`` labels its metrics lines."""

    def __init__(self, requirement: str, metrics: EventSink) -> None:
        self.requirement = requirement
        self.metrics = metrics
        self.records: list[AttemptRecord] = []
        self.size = ""
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
    ) -> AttemptRecord:
        """Record one candidate; ``metric`` overrides the metrics outcome (a green replay is "replayed")."""
        record = AttemptRecord(
            **facts.model_dump(),
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
        return record

    def call_failed(self, tier: str, model: ResolvedModel, error: ModelError) -> None:
        """A request that got no answer: it says nothing about solving, but it shows in `autodev metrics`."""
        facts = CallFacts(model=model.name, tier=tier)
        self._append(facts, outcome="error", litellm_model=model.litellm_model, reason=str(error))

    def escalated(self, tier: str, model: str, to_tier: str, reason: str) -> None:
        self._append(CallFacts(model=model, tier=tier), kind="escalation", to_tier=to_tier, reason=reason)

    def merged(self, tier: str, model: str, reason: str) -> None:
        """A merge round was decided at ``tier`` (``autodev metrics`` counts them)."""
        self._append(CallFacts(model=model, tier=tier), kind="merge", reason=reason)

    def _append(self, facts: CallFacts, **fields: object) -> None:
        event = CallEvent.model_validate(
            facts.model_dump() | {"at": time.time(), "requirement": self.requirement, "size_class": self.size} | fields
        )
        self.metrics.append(event)
