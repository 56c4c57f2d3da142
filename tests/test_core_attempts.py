"""The attempt log: one record per candidate, numbered, and one metrics line each, labelled in one place."""

from __future__ import annotations

import pytest

from autodev.core.attempts import AttemptLog, call_facts
from autodev.errors import ModelError
from autodev.llm.client import Completion
from autodev.llm.models import ResolvedModel
from autodev.records import CallEvent

pytestmark = pytest.mark.req("ROUTE-1")

COMPLETION = Completion(
    text="x", model="openai/small", input_tokens=120, output_tokens=30, cost_usd=0.002, duration_s=1.23456
)


@pytest.fixture
def events() -> list[CallEvent]:
    return []


@pytest.fixture
def log(events: list[CallEvent]) -> AttemptLog:
    attempts = AttemptLog("R1", events)
    attempts.size = "small"
    return attempts


class TestAttemptLog:
    def test_records_are_numbered_and_carry_the_calls_facts(self, log: AttemptLog) -> None:
        """Each candidate gets the next number; tokens, cost and seconds (rounded to ms) come from its completion."""
        first = log.attempt(call_facts("small", "tier1", COMPLETION), "red", "2 of 6 pass", files=["a.py"])
        second = log.attempt(call_facts("small", "tier1", COMPLETION), "green", "tests pass", test_seconds=0.51234)
        assert (first.number, second.number) == (1, 2)
        assert (first.input_tokens, first.output_tokens, first.cost_usd) == (120, 30, 0.002)
        assert first.model_seconds == 1.235
        assert second.test_seconds == 0.512
        assert first.files == ["a.py"]
        assert log.last_model == "small"
        assert [r.requirement for r in log.records] == ["R1", "R1"]

    def test_every_attempt_is_one_metrics_line_with_its_outcome_and_size(
        self, log: AttemptLog, events: list[CallEvent]
    ) -> None:
        """green, red and rejected say whether the model could do the work; a failed commit counts as an error."""
        for outcome in ("green", "red", "rejected", "commit_failed"):
            log.attempt(call_facts("small", "tier1", COMPLETION), outcome, "why")
        assert [e.outcome for e in events] == ["green", "red", "rejected", "error"]
        assert {(e.kind, e.requirement, e.size_class, e.tier, e.model_seconds) for e in events} == {
            ("call", "R1", "small", "tier1", 1.235)
        }

    def test_a_green_replay_is_marked_replayed_and_costs_nothing(
        self, log: AttemptLog, events: list[CallEvent]
    ) -> None:
        """A replay made no call: no tokens, no cost, and its metrics line does not count as a solve."""
        record = log.attempt(call_facts("tier0/replay", "tier0", None), "green", "tests pass", metric="replayed")
        assert (record.input_tokens, record.cost_usd, record.model_seconds) == (0, 0.0, 0.0)
        assert events[-1].outcome == "replayed"

    def test_failed_requests_and_escalations_are_metrics_lines_but_not_attempts(
        self, log: AttemptLog, events: list[CallEvent]
    ) -> None:
        model = ResolvedModel(name="small", litellm_model="openai/small")
        log.call_failed("tier1", model, ModelError("small", "cannot connect", "refused", retryable=True))
        log.escalated("tier1", "small", "tier2", "not cheap to fix")
        assert log.records == []
        error, escalation = events
        assert (error.outcome, error.litellm_model, error.tier) == ("error", "openai/small", "tier1")
        assert "cannot connect" in error.reason
        assert (escalation.kind, escalation.tier, escalation.to_tier) == ("escalation", "tier1", "tier2")


class TestCallEventNames:
    def test_an_old_metrics_line_with_duration_s_still_reads(self) -> None:
        """Lines written before the records shared their names said ``duration_s``."""
        event = CallEvent.model_validate(
            {"at": 1.0, "requirement": "R1", "tier": "tier1", "model": "m", "duration_s": 2.5}
        )
        assert event.model_seconds == 2.5
        assert "duration_s" not in event.model_dump()
