"""The attempt log: one record per candidate, numbered, and one metrics line each, labelled in one place; the calls
of other roles (the pass's reviewer, the architect) are lines of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.core.attempts import AttemptLog, call_facts
from autodev.core.review import Review
from autodev.core.tried import for_people, rejected
from autodev.errors import EditRejectedError, ModelError
from autodev.llm.client import Completion
from autodev.llm.models import ResolvedModel
from autodev.records import CallEvent
from autodev.synth.guard import check_writable
from autodev.synth.reply import parse_reply

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


REVIEW_COMPLETION = Completion(
    text="VERDICT: approve", model="openai/big", input_tokens=400, output_tokens=10, cost_usd=0.004, duration_s=0.5
)


class TestRoleLines:
    def test_a_reviewed_attempt_is_two_lines_and_its_record_costs_both_calls(
        self, log: AttemptLog, events: list[CallEvent]
    ) -> None:
        """The coder's line carries the coder's call only (and the outcome); the reviewer's line its own call, role
        "reviewer" and the verdict; the attempt record (the pass's cost) adds the two."""
        review = Review(True, "", "approve", "big", REVIEW_COMPLETION, tier="tier2")
        record = log.attempt(call_facts("small", "tier1", COMPLETION), "green", "tests pass", review=review)
        coder, reviewer = events
        assert (coder.role, coder.outcome, coder.input_tokens, coder.cost_usd) == ("coder", "green", 120, 0.002)
        assert (reviewer.role, reviewer.outcome, reviewer.reason) == ("reviewer", None, "approve")
        assert (reviewer.model, reviewer.tier, reviewer.input_tokens, reviewer.cost_usd) == ("big", "tier2", 400, 0.004)
        assert (reviewer.requirement, reviewer.size_class) == ("R1", "small")
        assert (record.input_tokens, record.output_tokens, record.model_seconds) == (520, 40, 1.735)
        assert record.cost_usd == pytest.approx(0.006)

    def test_a_cached_review_is_a_cached_line_and_costs_the_attempt_nothing(
        self, log: AttemptLog, events: list[CallEvent]
    ) -> None:
        cached = REVIEW_COMPLETION.model_copy(update={"cached": True})
        review = Review(False, "no", "reject", "big", cached, tier="tier2")
        record = log.attempt(call_facts("small", "tier1", COMPLETION), "red", "rejected", review=review)
        assert [(e.role, e.cached) for e in events] == [("coder", False), ("reviewer", True)]
        assert events[1].reason == "reject"
        assert (record.input_tokens, record.cost_usd) == (120, 0.002)

    def test_a_review_that_got_no_answer_adds_no_line(self, log: AttemptLog, events: list[CallEvent]) -> None:
        """Its failed requests were lines already, heard through the caller with the reviewer's role."""
        model = ResolvedModel(name="big", litellm_model="openai/big")
        log.call_failed("tier2", model, ModelError("big", "server error", "500", retryable=True), "reviewer")
        review = Review(False, "the reviewer gave no answer", "no answer", "big", tier="tier2")
        log.attempt(call_facts("small", "tier1", COMPLETION), "red", "not reviewed", review=review)
        assert [(e.role, e.outcome) for e in events] == [("reviewer", "error"), ("coder", "red")]

    def test_role_call_is_a_call_line_with_that_role_and_no_attempt(
        self, log: AttemptLog, events: list[CallEvent]
    ) -> None:
        """How the architect's plan call is recorded: no attempt record, no solve outcome unless one is given."""
        log.role_call("architect", call_facts("big", "tier2", REVIEW_COMPLETION))
        log.role_call("architect", call_facts("big", "tier2", None), outcome="error", reason="no plan")
        assert log.records == []
        plan, failed = events
        assert (plan.kind, plan.role, plan.outcome, plan.input_tokens, plan.requirement) == (
            "call", "architect", None, 400, "R1"
        )  # fmt: skip
        assert (failed.outcome, failed.reason) == ("error", "no plan")


class TestCallEventNames:
    def test_an_old_metrics_line_with_duration_s_still_reads(self) -> None:
        """Lines written before the records shared their names said ``duration_s``."""
        event = CallEvent.model_validate(
            {"at": 1.0, "requirement": "R1", "tier": "tier1", "model": "m", "duration_s": 2.5}
        )
        assert event.model_seconds == 2.5
        assert "duration_s" not in event.model_dump()


class TestRejectionsForPeople:
    """A rejection's message is written for the model; the record carries a short description for people."""

    @staticmethod
    def rejection(reply: str) -> EditRejectedError:
        with pytest.raises(EditRejectedError) as caught:
            parse_reply(reply, ["temps.py"])
        return caught.value

    @pytest.mark.parametrize(
        ("reply", "for_model", "for_people_text"),
        [
            (
                "I cannot do that.",
                "Your reply contains no file edit. To change a file,",
                "the reply contains no file edit",
            ),
            ("", "Your reply was empty. To change a file,", "the reply was empty"),
            (
                "```diff\n--- a/temps.py\n+++ b/temps.py\n@@ -1 +1 @@\n-a\n+b\n```\n",
                "Your reply is a diff",
                "the reply is a diff, which autodev cannot apply",
            ),
        ],
    )
    def test_the_reply_is_described_without_the_advice_to_its_model(
        self, reply: str, for_model: str, for_people_text: str
    ) -> None:
        """The first clause, in the third person; the instructions stay in the message the model is sent."""
        error = self.rejection(reply)
        assert str(error).startswith(for_model)
        assert for_people(error) == for_people_text

    def test_a_protected_path_names_the_file_and_the_reason(self, tmp_path: Path) -> None:
        """The guard's own summary: which file and why, not 'change the code, not the tests'."""
        with pytest.raises(EditRejectedError) as caught:
            check_writable(tmp_path, "tests/test_x.py")
        assert "change the code, not the tests" in str(caught.value)
        assert for_people(caught.value) == (
            "the reply writes 'tests/test_x.py': it is a test file, and the tests are the specification"
        )

    def test_the_record_has_the_description_and_the_feedback_the_message(self, log: AttemptLog) -> None:
        """rejected(): the record (console, --json, ledger) reads for people, the repair prompt for the model."""
        error = self.rejection("I cannot do that.")
        tried = rejected(log, call_facts("small", "tier1", COMPLETION), "I cannot do that.", error, 3)
        assert tried.record.reason == "the reply contains no file edit"
        assert tried.feedback is not None and tried.feedback.failure == str(error)
        assert (
            tried.failure is not None and tried.failure.why == "the reply was unusable: the reply contains no file edit"
        )
