"""The climb for one requirement, only the loop: decide (the router's policy), ask and try (a round), log.

Replay (tier 0) comes first, then a stored solution renamed to fit (core/learned.py); then model tiers from the
first one worth calling, until the tests pass, the policy stops, or the budget refuses a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autodev.core.assignment import Assignment
from autodev.core.attempts import AttemptLog
from autodev.core.learned import LEARNED_MODEL, LEARNED_TIER, Learned
from autodev.core.prompt import memory_for, merge_round_messages, reply_tokens, round_messages
from autodev.core.replay import REPLAY_MODEL, REPLAY_TIER, assignment_key, replay
from autodev.core.review import PassReviewer
from autodev.core.rounds import Rounds
from autodev.core.trial import Trial
from autodev.core.tried import Round, Tried
from autodev.core.verified import VerifiedStore
from autodev.errors import BudgetExceededError, ModelError
from autodev.logs import get_logger
from autodev.progress import Decided, report
from autodev.records import AttemptRecord
from autodev.results import RequirementStatus
from autodev.route import Decision, EscalationPolicy, Failure, Router, TierPlan, merge_pair, size_class
from autodev.synth.context import Feedback
from autodev.verify.runner import TestRun


@dataclass(frozen=True)
class ClimbEnd:
    """How the climb ended: the requirement's status and why, the attempts and route, the green run if any."""

    status: RequirementStatus
    reason: str
    tier: str
    model: str | None
    attempts: list[AttemptRecord] = field(default_factory=list)
    route: list[str] = field(default_factory=list)
    green_run: TestRun | None = None  # the test run that made the requirement green: the next baseline


class Climb:
    """Climbs the tiers for one assignment; see the module docstring."""

    def __init__(self, assignment: Assignment, router: Router, *, continuing: bool = False) -> None:
        """``continuing``: an increment of a planned requirement, whose budget cap the plan and the increments
        before it have already spent from."""
        self.assignment = assignment
        self.router = router
        self.log = AttemptLog(assignment.requirement.id, router.metrics)
        self.caller = router.caller(assignment.requirement.id, self.log.call_failed, continuing=continuing)
        self.tiers = self.caller.tiers
        self.trial = Trial(assignment, reviewer=PassReviewer.configured(assignment.config, self.caller))
        self.route: list[str] = []
        self.best: Failure | None = None  # the failure closest to green so far (most tests passing, latest on a tie)
        self.feedback: Feedback | None = None  # what the next prompt may show of it
        self.memory: dict[str, str] = {}  # tier name -> the project memory its prompts carry
        self.merging: list[Tried] = []  # two red candidates passing different tests: the next round merges them
        self.logger = get_logger()
        store, key = VerifiedStore(assignment.paths.verified_dir), assignment_key(assignment)
        self.learned = Learned(assignment, assignment.learning, key) if assignment.learning is not None else None
        self.rounds = Rounds(assignment, self.caller, self.trial, self.log, store=store, key=key, learned=self.learned)
        self.store, self.key = store, key

    def run(self, max_attempts: int) -> ClimbEnd:
        end = self._climb(max_attempts)
        if self.learned is not None:
            self.learned.ended(end.attempts)
        return end

    def _climb(self, max_attempts: int) -> ClimbEnd:
        replayed = replay(self.assignment, self.trial, self.log, self.route, store=self.store, key=self.key)
        if replayed is not None:
            return self._end("satisfied", replayed.record.reason, REPLAY_TIER, replayed.run, model=REPLAY_MODEL)
        reused = self.learned.reuse(self.trial, self.log, self.route) if self.learned is not None else None
        if reused is not None:
            return self._end("satisfied", reused.record.reason, LEARNED_TIER, reused.run, model=LEARNED_MODEL)
        first = round_messages(self.assignment, None, None, self.tiers[0])
        self.rounds.reply_tokens = reply_tokens(self.assignment)
        self.log.size = size_class(sum(len(m["content"]) for m in first))
        policy = self._policy(max_attempts)
        decision = policy.first()
        while True:
            self._decided(decision)
            if decision.action == "stop":
                return self._end(decision.status or "failed", decision.reason, self._tier(decision))
            try:
                round_ = self._round(decision, max_attempts - policy.attempts)
            except BudgetExceededError as error:
                self.logger.warning("blocked by the budget", reason=str(error))
                return self._end("blocked", str(error), self._tier(decision))
            except ModelError as error:
                self.logger.error("no model of the tier answered", tier=self._tier(decision), error=str(error))
                decision = policy.after_call_error(str(error))
                continue
            green = round_.green
            if green is not None:
                return self._end("satisfied", green.record.reason, green.record.tier, green.run)
            best = round_.best_failure()
            assert best is not None and best.failure is not None  # a round without green has a failure
            if self.best is None or best.failure.passed >= self.best.passed:
                self.feedback, self.best = best.feedback, best.failure  # else the next round repairs the better one
            decision = policy.after_failure(best.failure, attempts=len(round_.tried), mergeable=self._mergeable(round_))
            if decision.action == "escalate" and not self.assignment.config.synthesis.escalation_shows_failure:
                self.feedback, self.best = None, None  # the next tier starts from the first prompt
                policy.start_afresh()

    def _round(self, decision: Decision, attempts_left: int) -> Round:
        """Ask and try: one candidate for a repair or a merge (the two kept by :meth:`_mergeable`), the tier's
        samples otherwise, never more than attempts left."""
        tier = self.tiers[decision.tier]
        if decision.action == "merge":
            messages = merge_round_messages(self.assignment, self.merging, memory=self._memory(tier))
            return self.rounds.run(tier, messages, 1, repair=False)
        repair = decision.action == "repair"
        samples = max(1, min(1 if repair else tier.samples, attempts_left))
        messages = round_messages(self.assignment, self.feedback, self.best, tier, memory=self._memory(tier))
        return self.rounds.run(tier, messages, samples, repair=repair)

    def _mergeable(self, round_: Round) -> str | None:
        """Two red candidates of the round that pass different target tests, when ``[llm.consensus] merge`` is on:
        kept for the merge round; said as the reason for it."""
        self.merging = []
        if not self.assignment.config.llm.consensus.merge:
            return None
        wanted = self.assignment.target_tests
        red = [t for t in round_.tried if t.changes and t.failure is not None]
        passed = [t.passed & set(wanted) if wanted is not None else t.passed for t in red]
        pair = merge_pair(passed)
        if pair is None:
            return None
        self.merging = [red[pair[0]], red[pair[1]]]
        first, second = (len(passed[index]) for index in pair)
        total = max(t.failure.total if t.failure else 0 for t in self.merging)
        return (
            f"two candidates pass different tests ({first} and {second} of {total}, "
            f"{len(passed[pair[0]] | passed[pair[1]])} together): one attempt given both"
        )

    def _memory(self, tier: TierPlan) -> str:
        """The tier's memory text, the same for all its rounds; what its budget kept out is said once per tier."""
        if tier.name not in self.memory:
            local = self.caller.resolve(tier.models[0]).served_locally
            section = memory_for(self.assignment, tier.name, served_locally=local)
            if section.shortened and section.budget > 0:
                self.logger.warning("memory shortened", tier=tier.name, reason=section.shortened_message())
            self.memory[tier.name] = "\n\n".join(part for part in (section.text, self._example(tier)) if part)
        return self.memory[tier.name]

    def _example(self, tier: TierPlan) -> str:
        """With ``[learning] few_shot``, the cheapest tier's prompts carry the most similar stored solution."""
        learning = self.assignment.config.learning
        if self.learned is None or not learning.few_shot or tier.name != self.tiers[0].name:
            return ""
        return self.learned.example(learning.few_shot_tokens)

    def _policy(self, max_attempts: int) -> EscalationPolicy:
        policy, skipped = self.router.policy(self.log.size, max_attempts)
        for reason in skipped:
            self.route.append(reason)
            self.logger.info("route", action="skip", reason=reason)
            report(Decided(action="skip", tier="", reason=reason))
        return policy

    def _decided(self, decision: Decision) -> None:
        self.route.append(f"{decision.action}: {decision.reason}")
        self.logger.info("route", action=decision.action, tier=self._tier(decision), reason=decision.reason)
        report(Decided(action=decision.action, tier=self._tier(decision), reason=decision.reason))
        if decision.action == "escalate":
            previous = self.tiers[decision.tier - 1]
            self.log.escalated(previous.name, previous.models[0], self.tiers[decision.tier].name, decision.reason)
        if decision.action == "merge":
            tier = self.tiers[decision.tier]
            self.log.merged(tier.name, tier.models[0], decision.reason)

    def _tier(self, decision: Decision) -> str:
        return self.tiers[min(decision.tier, len(self.tiers) - 1)].name

    def _end(
        self,
        status: RequirementStatus,
        reason: str,
        tier: str,
        green_run: TestRun | None = None,
        *,
        model: str | None = None,
    ) -> ClimbEnd:
        return ClimbEnd(status, reason, tier, model or self.log.last_model, list(self.log.records), list(self.route),
                        green_run)  # fmt: skip
