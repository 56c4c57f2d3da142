"""The escalation policy: which tiers a pass may use, where it starts, how failures are judged, when it climbs."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from autodev.config import LLMConfig, parse_config
from autodev.errors import ConfigError
from autodev.route.policy import (
    EscalationPolicy,
    Failure,
    TierPlan,
    describe_failure,
    failure_signature,
    plan_tiers,
    size_class,
    starting_tier,
)
from autodev.verify.junit import OutcomeKind, TestOutcome
from autodev.verify.runner import TestRun

pytestmark = pytest.mark.req("ROUTE-1")

Row = tuple[str, OutcomeKind, str]  # test id, outcome, message

THREE_TIERS = LLMConfig(tiers={"tier1": ["small", "tiny"], "tier2": ["medium"], "tier4": ["big"]})


def make_run(
    outcomes: Iterable[Row] = (),
    *,
    output: str = "",
    exit_code: int | None = 1,
    timed_out: bool = False,
    duration_s: float = 0.5,
) -> TestRun:
    """A TestRun as run_tests would return it, from (test id, outcome, message) triples."""
    return TestRun(
        command=["python", "-m", "pytest"],
        exit_code=None if timed_out else exit_code,
        timed_out=timed_out,
        duration_s=duration_s,
        output=output,
        outcomes={
            test_id: TestOutcome(test_id=test_id, outcome=kind, message=message) for test_id, kind, message in outcomes
        },
        used_junit=True,
    )


def red_run(passed: int, failed: int, message: str = "AssertionError: assert 1 == 2") -> TestRun:
    passing: list[Row] = [(f"tests/test_a.py::test_pass_{i}", "passed", "") for i in range(passed)]
    failing: list[Row] = [(f"tests/test_a.py::test_fail_{i}", "failed", message) for i in range(failed)]
    return make_run([*passing, *failing], output=f"{failed} failed, {passed} passed in 0.12s")


def tiers(*names: str) -> list[TierPlan]:
    return [TierPlan(name=name, models=[f"model-{name}"]) for name in names]


def failure(signature: str, *, cheap: bool) -> Failure:
    return Failure(signature=signature, cheap=cheap, why="cheap reason" if cheap else "costly reason")


class TestPlanTiers:
    def test_model_override_is_the_only_tier(self) -> None:
        """--model replaces every configured tier with one tier holding just that model."""
        plan, reason = plan_tiers(THREE_TIERS, model_override="cli-model", fallback_models=["local"])
        assert plan == [TierPlan(name="tier1", models=["cli-model"])]
        assert "--model" in reason

    def test_configured_tiers_come_lowest_first_with_their_samples(self) -> None:
        """Non-empty tiers keep their models in order, lowest tier first, each with its configured sample count."""
        llm = LLMConfig(tiers={"tier4": ["big"], "tier1": ["small", "tiny"], "tier2": []}, samples={"tier1": 3})
        plan, reason = plan_tiers(llm, fallback_models=["local"])
        assert plan == [
            TierPlan(name="tier1", models=["small", "tiny"], samples=3),
            TierPlan(name="tier4", models=["big"], samples=1),
        ]
        assert "tiered" in reason

    def test_fixed_strategy_uses_the_named_tier_only(self) -> None:
        """routing_strategy fixed with fixed_tier keeps that tier and no other."""
        llm = THREE_TIERS.model_copy(update={"routing_strategy": "fixed", "fixed_tier": "tier2"})
        plan, reason = plan_tiers(llm)
        assert [tier.name for tier in plan] == ["tier2"]
        assert reason == "routing_strategy fixed: tier2 only"

    def test_fixed_strategy_without_a_tier_uses_the_highest(self) -> None:
        """Without fixed_tier the fixed strategy calls the highest configured tier."""
        llm = THREE_TIERS.model_copy(update={"routing_strategy": "fixed"})
        plan, reason = plan_tiers(llm)
        assert plan == [TierPlan(name="tier4", models=["big"])]
        assert "tier4 only" in reason

    def test_fixed_tier_without_models_falls_back_to_the_highest_and_says_so(self) -> None:
        """A fixed_tier naming an empty tier uses the highest configured tier, and the reason names the problem."""
        llm = THREE_TIERS.model_copy(update={"routing_strategy": "fixed", "fixed_tier": "tier3"})
        plan, reason = plan_tiers(llm)
        assert [tier.name for tier in plan] == ["tier4"]
        assert "tier3 has no models" in reason

    def test_cheapest_strategy_picks_the_cheapest_model_of_any_tier(self) -> None:
        """With a price function the cheapest model alone is used, in its own tier, without escalation."""
        prices = {"small": 3e-6, "tiny": 1e-6, "medium": 2e-6, "big": 9e-6}
        llm = THREE_TIERS.model_copy(update={"routing_strategy": "cheapest", "samples": {"tier1": 2}})
        plan, reason = plan_tiers(llm, price=prices.__getitem__)
        assert plan == [TierPlan(name="tier1", models=["tiny"], samples=2)]
        assert "tiny (tier1)" in reason
        assert "no escalation" in reason

    def test_cheapest_strategy_breaks_a_price_tie_towards_the_lower_tier(self) -> None:
        """Equal prices (free local models) choose the model of the lowest tier."""
        llm = THREE_TIERS.model_copy(update={"routing_strategy": "cheapest"})
        plan, _ = plan_tiers(llm, price=lambda model: 0.0)
        assert plan == [TierPlan(name="tier1", models=["small"])]

    def test_cheapest_strategy_without_prices_climbs_the_tiers(self) -> None:
        """Without a price function the cheapest strategy cannot compare models and behaves as tiered."""
        llm = THREE_TIERS.model_copy(update={"routing_strategy": "cheapest"})
        plan, reason = plan_tiers(llm)
        assert [tier.name for tier in plan] == ["tier1", "tier2", "tier4"]
        assert "tiered" in reason

    def test_fallback_models_make_one_tier_each_up_to_four(self) -> None:
        """Without configured tiers the installed local models become tier1 to tier4, smallest first."""
        plan, reason = plan_tiers(LLMConfig(), fallback_models=["a", "b", "c", "d", "e"])
        assert plan == [
            TierPlan(name="tier1", models=["a"]),
            TierPlan(name="tier2", models=["b"]),
            TierPlan(name="tier3", models=["c"]),
            TierPlan(name="tier4", models=["d"]),
        ]
        assert "no [llm.tiers]" in reason

    def test_no_tiers_and_no_fallback_plans_nothing(self) -> None:
        """With nothing configured and nothing installed the plan is empty (the caller reports it)."""
        plan, _ = plan_tiers(LLMConfig())
        assert plan == []

    def test_an_empty_tier0_is_accepted_and_never_planned(self) -> None:
        """tier0 is the replay store: an empty tier0 entry loads, and no model tier is made of it."""
        plan, _ = plan_tiers(LLMConfig(tiers={"tier0": [], "tier1": ["small"]}))
        assert [tier.name for tier in plan] == ["tier1"]

    def test_tier0_with_models_is_a_config_error(self) -> None:
        """A model listed under tier0 is rejected when autodev.toml is read, naming the key and the reason."""
        with pytest.raises(ConfigError) as caught:
            parse_config({"llm": {"tiers": {"tier0": ["small"], "tier1": ["medium"]}}}, source="autodev.toml")
        assert caught.value.key == "llm.tiers"
        assert "tier0" in caught.value.problem
        assert "takes no models" in caught.value.problem


class TestSizeClass:
    @pytest.mark.parametrize(
        ("prompt_chars", "expected"),
        [(0, "small"), (5_999, "small"), (6_000, "medium"), (19_999, "medium"), (20_000, "large"), (10**6, "large")],
    )
    def test_boundaries(self, prompt_chars: int, expected: str) -> None:
        """Below 6,000 characters is small, below 20,000 medium, anything longer large."""
        assert size_class(prompt_chars) == expected


class TestStartingTier:
    LADDER = tiers("tier1", "tier2", "tier3")

    def test_a_tier_that_rarely_solves_this_size_is_skipped_with_a_reason(self) -> None:
        """Enough history below the threshold skips the tier; the reason gives the numbers."""
        table = {("tier1", "small"): (0, 10)}
        start, reasons = starting_tier(
            self.LADDER, "small", lambda tier, size: table.get((tier, size), (0, 0)), min_history=5, threshold=0.1
        )
        assert start == 1
        assert reasons == ["tier1 skipped: 0/10 green on small requirements (< 10%)"]

    def test_too_little_history_never_skips(self) -> None:
        """Fewer than min_history attempts say nothing yet, however bad they were."""
        table = {("tier1", "small"): (0, 4)}
        start, reasons = starting_tier(
            self.LADDER, "small", lambda tier, size: table.get((tier, size), (0, 0)), min_history=5, threshold=0.1
        )
        assert (start, reasons) == (0, [])

    def test_a_rate_at_the_threshold_is_kept(self) -> None:
        """Only a rate strictly below the threshold skips the tier."""
        table = {("tier1", "small"): (1, 10)}
        start, reasons = starting_tier(
            self.LADDER, "small", lambda tier, size: table.get((tier, size), (0, 0)), min_history=5, threshold=0.1
        )
        assert (start, reasons) == (0, [])

    def test_history_of_another_size_class_does_not_count(self) -> None:
        """A tier that fails large requirements is still tried first on small ones."""
        table = {("tier1", "large"): (0, 50)}
        start, reasons = starting_tier(
            self.LADDER, "small", lambda tier, size: table.get((tier, size), (0, 0)), min_history=5, threshold=0.1
        )
        assert (start, reasons) == (0, [])

    def test_several_tiers_are_skipped_in_order(self) -> None:
        """Skipping continues up the ladder until a tier is worth calling, one reason per skipped tier."""
        table = {("tier1", "medium"): (0, 8), ("tier2", "medium"): (1, 20)}
        start, reasons = starting_tier(
            self.LADDER, "medium", lambda tier, size: table.get((tier, size), (0, 0)), min_history=5, threshold=0.1
        )
        assert start == 2
        assert [reason.split(" ")[0] for reason in reasons] == ["tier1", "tier2"]
        assert "1/20 green on medium requirements" in reasons[1]

    def test_the_top_tier_is_never_skipped(self) -> None:
        """Even a top tier that never solved anything stays: it is the last resort."""
        start, reasons = starting_tier(self.LADDER, "small", lambda tier, size: (0, 100), min_history=5, threshold=0.5)
        assert start == 2
        assert len(reasons) == 2
        assert not any(reason.startswith("tier3") for reason in reasons)

    def test_a_single_tier_starts_there(self) -> None:
        """With one tier there is nothing to skip."""
        start, reasons = starting_tier(tiers("tier2"), "small", lambda tier, size: (0, 100), min_history=1, threshold=1)
        assert (start, reasons) == (0, [])


class TestDescribeFailure:
    def test_a_rejected_reply_is_not_cheap_and_its_reason_is_the_signature(self) -> None:
        """A model that sent an unusable reply tends to send another: escalate; its reason's first line is the loop
        signature."""
        result = describe_failure(None, "Your reply changed nothing.\nSend the files.", target_tests=3)
        assert not result.cheap
        assert result.signature == "rejected: Your reply changed nothing."
        assert result.why == "the reply was unusable: Your reply changed nothing.\nSend the files."

    def test_a_rejection_without_a_reason_is_still_described(self) -> None:
        """A missing rejection text falls back to a generic one."""
        result = describe_failure(None, None, target_tests=3)
        assert not result.cheap
        assert result.signature == "rejected: reply rejected"

    @pytest.mark.parametrize(
        "error", ["SyntaxError", "IndentationError", "TabError", "ImportError", "ModuleNotFoundError", "NameError"]
    )
    def test_errors_fixed_in_one_line_are_cheap_even_when_nothing_passes(self, error: str) -> None:
        """Syntax, import and name errors in the output make a repair look cheap, whatever the pass count."""
        run = make_run(
            [("tests/test_a.py::test_one", "error", f"{error}: bad")],
            output=f"E   {error}: something is wrong\n1 error in 0.05s",
        )
        result = describe_failure(run, None, target_tests=4)
        assert result.cheap
        assert result.why == f"a {error}"
        assert (result.passed, result.total) == (0, 4)

    def test_an_error_name_inside_a_word_is_not_cheap(self) -> None:
        """Only whole error names count: a custom MyNameErrorX is an ordinary failure."""
        run = make_run([("tests/test_a.py::test_one", "failed", "MyNameErrorX")], output="E   MyNameErrorX: no")
        assert not describe_failure(run, None, target_tests=1).cheap

    def test_at_least_half_passing_is_cheap(self) -> None:
        """Half of the target tests passing means the code is close: one repair round first."""
        result = describe_failure(red_run(passed=2, failed=2), None, target_tests=4)
        assert result.cheap
        assert result.why == "2 of 4 tests pass"
        assert (result.passed, result.total) == (2, 4)

    def test_fewer_than_half_passing_is_not_cheap(self) -> None:
        """Most tests failing means the model is out of its depth: escalate."""
        result = describe_failure(red_run(passed=1, failed=3), None, target_tests=4)
        assert not result.cheap
        assert result.why == "only 1 of 4 tests pass"

    def test_target_tests_that_did_not_run_count_as_not_passing(self) -> None:
        """The total is the larger of the target count and the tests seen, so unrun tests are not forgotten."""
        result = describe_failure(red_run(passed=2, failed=1), None, target_tests=6)
        assert not result.cheap
        assert (result.passed, result.total) == (2, 6)

    def test_more_tests_seen_than_targeted_raise_the_total(self) -> None:
        """Failing tests outside the target set still count in the total."""
        result = describe_failure(red_run(passed=1, failed=4), None, target_tests=2)
        assert (result.passed, result.total) == (1, 5)
        assert not result.cheap

    def test_a_timeout_is_never_cheap(self) -> None:
        """A timed-out run (a hang, an endless loop) escalates, even with a NameError in its output."""
        run = make_run([("tests/test_a.py::test_one", "passed", "")], output="NameError: x", timed_out=True)
        result = describe_failure(run, None, target_tests=1)
        assert not result.cheap
        assert result.why == "the tests timed out"

    def test_a_red_run_without_outcomes_is_not_cheap(self) -> None:
        """A failing command that reported no tests gives nothing to repair from."""
        result = describe_failure(make_run(output="boom", exit_code=2), None, target_tests=0)
        assert not result.cheap
        assert result.why == "the tests fail"


class TestFailureSignature:
    def test_memory_addresses_and_timings_do_not_change_it(self) -> None:
        """Two runs differing only in object addresses, timings and duration have the same signature."""
        first = make_run(
            [("tests/test_a.py::test_x", "failed", "AssertionError: <Foo object at 0x7f3a2b1c> took 0.52s")],
            output="1 failed in 0.52s",
            duration_s=0.6,
        )
        second = make_run(
            [("tests/test_a.py::test_x", "failed", "AssertionError: <Foo object at 0x55d0e1ff90> took 1.03s")],
            output="1 failed in 1.03s",
            duration_s=1.1,
        )
        assert failure_signature(first) == failure_signature(second)

    def test_it_does_not_depend_on_the_order_of_outcomes(self) -> None:
        """Failing tests are listed sorted, so report order does not matter."""
        a: Row = ("tests/test_a.py::test_a", "failed", "assert 1 == 2")
        b: Row = ("tests/test_a.py::test_b", "error", "TypeError: no")
        assert failure_signature(make_run([a, b])) == failure_signature(make_run([b, a]))

    def test_only_the_first_line_of_each_message_counts(self) -> None:
        """Details after the first line (diffs, values) do not make a loop look like progress."""
        first = make_run([("tests/test_a.py::test_x", "failed", "assert f(1) == 2\n+ where 3 = f(1)")])
        second = make_run([("tests/test_a.py::test_x", "failed", "assert f(1) == 2\n+ where 4 = f(1)")])
        assert failure_signature(first) == failure_signature(second)

    def test_a_different_message_changes_it(self) -> None:
        """A new error on the same test is progress (or at least a change), not a loop."""
        first = make_run([("tests/test_a.py::test_x", "failed", "assert 3 == 2")])
        second = make_run([("tests/test_a.py::test_x", "failed", "TypeError: unsupported operand")])
        assert failure_signature(first) != failure_signature(second)

    def test_a_different_failing_test_changes_it(self) -> None:
        """The same message on other tests is a different failure."""
        first = make_run([("tests/test_a.py::test_x", "failed", "assert 3 == 2")])
        second = make_run([("tests/test_a.py::test_y", "failed", "assert 3 == 2")])
        assert failure_signature(first) != failure_signature(second)

    def test_passing_tests_do_not_enter_it(self) -> None:
        """Only failing tests make the signature; one more passing test leaves it alone."""
        failing: Row = ("tests/test_a.py::test_x", "failed", "assert 3 == 2")
        more = make_run([failing, ("tests/test_a.py::test_ok", "passed", "")])
        assert failure_signature(make_run([failing])) == failure_signature(more)

    def test_without_failing_tests_the_exit_code_and_output_are_used(self) -> None:
        """A red run with no failing outcome is told apart by its exit code and output, timings removed."""
        first = make_run(output="ERROR: collection aborted after 0.31s", exit_code=2)
        second = make_run(output="ERROR: collection aborted after 2.07s", exit_code=2)
        other_exit = make_run(output="ERROR: collection aborted after 0.31s", exit_code=4)
        assert failure_signature(first) == failure_signature(second) == "exit 2: ERROR: collection aborted after *"
        assert failure_signature(first) != failure_signature(other_exit)


class TestCascade:
    def test_it_starts_with_an_attempt_at_the_start_tier(self) -> None:
        """The first decision is an attempt at the tier starting_tier chose."""
        decision = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=1, max_attempts=5).first()
        assert (decision.action, decision.tier, decision.reason) == ("attempt", 1, "start at tier2")
        assert decision.status is None

    def test_a_cheap_failure_is_repaired_once_then_escalated(self) -> None:
        """A cheap failure earns one repair round at the same tier; a second failure there escalates."""
        policy = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=0, max_attempts=10)
        repair = policy.after_failure(failure("A", cheap=True), attempts=1)
        assert (repair.action, repair.tier) == ("repair", 0)
        assert repair.reason == "looks cheap to fix: cheap reason"
        escalate = policy.after_failure(failure("B", cheap=True), attempts=1)
        assert (escalate.action, escalate.tier) == ("escalate", 1)
        assert escalate.reason == "escalate to tier2: its repair round failed too"

    def test_each_tier_gets_its_own_repair_round(self) -> None:
        """Escalating resets the repair allowance: the next tier may repair a cheap failure again."""
        policy = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=0, max_attempts=10)
        policy.after_failure(failure("A", cheap=False), attempts=1)
        decision = policy.after_failure(failure("B", cheap=True), attempts=1)
        assert (decision.action, decision.tier) == ("repair", 1)

    def test_a_costly_failure_escalates_at_once(self) -> None:
        """A failure that does not look cheap goes straight to the next tier, saying why."""
        policy = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=0, max_attempts=10)
        decision = policy.after_failure(failure("A", cheap=False), attempts=1)
        assert (decision.action, decision.tier) == ("escalate", 1)
        assert decision.reason == "escalate to tier2: not cheap to fix: costly reason"

    def test_the_same_failure_twice_in_a_row_escalates(self) -> None:
        """A repair that reproduces the same failure is a loop: escalate without waiting for more rounds."""
        policy = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=0, max_attempts=10)
        assert policy.after_failure(failure("tests/t.py::x: assert 1 == 2", cheap=True), attempts=1).action == "repair"
        decision = policy.after_failure(failure("tests/t.py::x: assert 1 == 2", cheap=True), attempts=1)
        assert (decision.action, decision.tier) == ("escalate", 1)
        assert "the same failure twice in a row (tests/t.py::x: assert 1 == 2)" in decision.reason

    def test_the_same_failure_twice_at_the_top_tier_is_blocked(self) -> None:
        """At the top tier a loop has nowhere to go: the requirement ends as blocked."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=1, max_attempts=10)
        assert policy.after_failure(failure("A", cheap=False), attempts=1).action == "repair"
        decision = policy.after_failure(failure("A", cheap=False), attempts=1)
        assert (decision.action, decision.status, decision.tier) == ("stop", "blocked", 1)
        assert "at the top tier" in decision.reason

    def test_the_same_failure_at_the_next_tier_is_a_loop_when_it_was_shown(self) -> None:
        """A tier told the lower tier's failure that fails the same way did not fix it: blocked at the top."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=0, max_attempts=10)
        assert policy.after_failure(failure("A", cheap=False), attempts=1).action == "escalate"
        decision = policy.after_failure(failure("A", cheap=False), attempts=1)
        assert (decision.action, decision.status) == ("stop", "blocked")

    def test_after_a_fresh_start_the_same_failure_is_the_tier_s_first(self) -> None:
        """A tier that started from the clean first prompt never saw the lower tier's failure: failing the same way
        earns its repair round; failing so again is its own loop."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=0, max_attempts=10)
        assert policy.after_failure(failure("A", cheap=False), attempts=1).action == "escalate"
        policy.start_afresh()
        assert policy.after_failure(failure("A", cheap=False), attempts=1).action == "repair"
        decision = policy.after_failure(failure("A", cheap=False), attempts=1)
        assert (decision.action, decision.status) == ("stop", "blocked")

    def test_the_top_tier_repairs_until_attempts_run_out(self) -> None:
        """At the top, any changing failure, cheap or not, is repaired until max_attempts is used up."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=1, max_attempts=3)
        first = policy.after_failure(failure("A", cheap=False), attempts=1)
        second = policy.after_failure(failure("B", cheap=True), attempts=1)
        assert [(d.action, d.tier) for d in (first, second)] == [("repair", 1), ("repair", 1)]
        assert first.reason == "top tier: repair (costly reason)"
        last = policy.after_failure(failure("C", cheap=False), attempts=1)
        assert (last.action, last.status) == ("stop", "failed")
        assert "max_attempts = 3" in last.reason

    def test_max_attempts_counts_every_sample(self) -> None:
        """A round of several samples uses that many attempts of the budget."""
        policy = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=0, max_attempts=4)
        assert policy.after_failure(failure("A", cheap=True), attempts=3).action == "repair"
        decision = policy.after_failure(failure("B", cheap=True), attempts=1)
        assert (decision.action, decision.status) == ("stop", "failed")
        assert decision.reason.startswith("4 attempt(s) used")

    def test_a_single_round_can_use_up_all_attempts(self) -> None:
        """When the first round's samples reach max_attempts, nothing follows, cheap or not."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=0, max_attempts=3)
        decision = policy.after_failure(failure("A", cheap=True), attempts=3)
        assert (decision.action, decision.status, decision.tier) == ("stop", "failed", 0)

    def test_the_attempt_limit_wins_over_loop_detection(self) -> None:
        """A loop on the last allowed attempt reports the exhausted budget (failed), not blocked."""
        policy = EscalationPolicy(tiers("tier1"), start=0, max_attempts=2)
        policy.after_failure(failure("A", cheap=False), attempts=1)
        decision = policy.after_failure(failure("A", cheap=False), attempts=1)
        assert (decision.action, decision.status) == ("stop", "failed")

    def test_a_call_error_escalates_to_the_next_tier(self) -> None:
        """When no model of a tier answers, the next tier is tried and the error is in the reason."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=0, max_attempts=3)
        decision = policy.after_call_error("connection refused")
        assert (decision.action, decision.tier) == ("escalate", 1)
        assert decision.reason == "escalate to tier2: no answer from tier1: connection refused"

    def test_a_call_error_at_the_top_tier_stops(self) -> None:
        """With no tier left, a call error ends the requirement as failed with the error as the reason."""
        policy = EscalationPolicy(tiers("tier1", "tier2"), start=1, max_attempts=3)
        decision = policy.after_call_error("rate limited")
        assert (decision.action, decision.status, decision.tier, decision.reason) == (
            "stop",
            "failed",
            1,
            "rate limited",
        )

    def test_a_call_error_does_not_use_attempts(self) -> None:
        """Unanswered calls tested nothing, so they leave the attempt budget alone."""
        policy = EscalationPolicy(tiers("tier1", "tier2", "tier3"), start=0, max_attempts=1)
        policy.after_call_error("timeout")
        assert policy.attempts == 0
        assert policy.first().tier == 1
