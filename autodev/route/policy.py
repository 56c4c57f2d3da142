"""The escalation policy as pure functions and one small state machine (docs/routing.md).

No I/O here: every rule has a unit test, every decision carries the reason that is logged, and a decision costs
microseconds (benchmarks/router_overhead.py measures it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autodev.config import LLMConfig
from autodev.verify.runner import TestRun

SolveRate = Callable[[str, str], tuple[int, int]]  # (tier, size class) -> (green attempts, attempts)
Price = Callable[[str], float]  # model name -> price of one prompt plus one completion token

# Failures whose fix is usually one line: worth one more call at the same tier before paying for a larger model.
_CHEAP_ERRORS = re.compile(r"\b(SyntaxError|IndentationError|TabError|ImportError|ModuleNotFoundError|NameError)\b")
_VOLATILE = re.compile(r"0x[0-9a-fA-F]+|\d+\.\d+s\b")


class TierPlan(BaseModel):
    """One rung of the ladder: alternative models (for reliability, in order) and candidates per round."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    models: list[str] = Field(min_length=1)
    samples: int = 1


def plan_tiers(
    llm: LLMConfig,
    *,
    model_override: str | None = None,
    fallback_models: Sequence[str] = (),
    price: Price | None = None,
) -> tuple[list[TierPlan], str]:
    """The tiers this pass may use, lowest first, and why.

    ``--model`` wins; then the configured tiers shaped by ``routing_strategy``; then ``fallback_models`` (the
    installed local ladder), one tier each.
    """
    if model_override:
        return [TierPlan(name="tier1", models=[model_override])], "--model given: that model only"
    configured = llm.tier_models()
    if not configured:
        tiers = [TierPlan(name=f"tier{i}", models=[name]) for i, name in enumerate(fallback_models[:4], start=1)]
        return tiers, "no [llm.tiers] configured: the installed local models, smallest first"
    tiers = [
        TierPlan(name=name, models=models, samples=llm.samples.get(name, 1)) for name, models in configured.items()
    ]
    if llm.routing_strategy == "fixed":
        chosen = llm.fixed_tier or tiers[-1].name
        fixed = [tier for tier in tiers if tier.name == chosen]
        if not fixed:
            return tiers[-1:], f"fixed_tier {chosen} has no models: using {tiers[-1].name}"
        return fixed, f"routing_strategy fixed: {chosen} only"
    if llm.routing_strategy == "cheapest" and price is not None:
        return _cheapest(tiers, price)
    return tiers, "routing_strategy tiered: cheapest tier first, escalate when the tests fail"


def _cheapest(tiers: list[TierPlan], price: Price) -> tuple[list[TierPlan], str]:
    pairs = [(price(model), index, tier, model) for index, tier in enumerate(tiers) for model in tier.models]
    cost, _, tier, model = min(pairs, key=lambda pair: (pair[0], pair[1]))
    chosen = tier.model_copy(update={"models": [model]})
    return [chosen], f"routing_strategy cheapest: {model} ({tier.name}) at ${cost:.3g} per token pair, no escalation"


def size_class(prompt_chars: int) -> str:
    """A coarse size of a requirement (its first prompt), so that solve rates compare like with like."""
    if prompt_chars < 6_000:
        return "small"
    if prompt_chars < 20_000:
        return "medium"
    return "large"


def starting_tier(
    tiers: Sequence[TierPlan], size: str, solve_rate: SolveRate, *, min_history: int, threshold: float
) -> tuple[int, list[str]]:
    """The index of the first tier worth calling, and one reason per skipped tier.

    A tier is skipped when at least ``min_history`` attempts on requirements of this size were made there and
    fewer than ``threshold`` of them were green. The top tier is never skipped.
    """
    reasons: list[str] = []
    for index, tier in enumerate(tiers[:-1]):
        green, total = solve_rate(tier.name, size)
        if total >= min_history and green / total < threshold:
            reasons.append(f"{tier.name} skipped: {green}/{total} green on {size} requirements (< {threshold:.0%})")
            continue
        return index, reasons
    return len(tiers) - 1, reasons


class Failure(BaseModel):
    """What the policy needs to know about a failed round: its best candidate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signature: str
    cheap: bool
    why: str
    passed: int = 0
    total: int = 0


def describe_failure(run: TestRun | None, rejection: str | None, target_tests: int) -> Failure:
    """Classify a failed candidate: its signature (for loop detection) and whether a repair looks cheap."""
    if run is None:
        # Measured on the development set: a small model whose reply was unusable (no change, only a test file)
        # sends the same kind of reply again, so a repair round at its tier wastes the attempt. The top tier still
        # repairs (it has nowhere to go).
        reason = rejection or "reply rejected"
        return Failure(signature=f"rejected: {_normal(reason)}", cheap=False, why="the reply was unusable: " + reason)
    passed = len(run.passed_ids)
    total = max(target_tests, passed + len(run.failing_ids))
    signature = failure_signature(run)
    if run.timed_out:
        return Failure(signature=signature, cheap=False, why="the tests timed out", passed=passed, total=total)
    match = _CHEAP_ERRORS.search(run.output)
    if match:
        why = f"a {match.group(1)}"
        return Failure(signature=signature, cheap=True, why=why, passed=passed, total=total)
    if run.runner == "cargo" and run.load_failures:  # rustc's errors name the line and usually the fix
        return Failure(signature=signature, cheap=True, why="a compile error", passed=passed, total=total)
    if total and passed * 2 >= total:
        why = f"{passed} of {total} tests pass"
        return Failure(signature=signature, cheap=True, why=why, passed=passed, total=total)
    why = f"only {passed} of {total} tests pass" if total else "the tests fail"
    return Failure(signature=signature, cheap=False, why=why, passed=passed, total=total)


def failure_signature(run: TestRun) -> str:
    """The failing tests and their first error lines, with addresses and timings removed: equal means a loop."""
    failing = sorted(run.failing_ids)
    if not failing:
        return f"exit {run.exit_code}: {_normal(run.output[-300:])}"
    parts = [f"{test_id}: {_normal(run.outcomes[test_id].message)}" for test_id in failing if test_id in run.outcomes]
    return "\n".join(parts or failing)


def _normal(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return _VOLATILE.sub("*", first)[:300]


def merge_pair(passed: Sequence[frozenset[str]]) -> tuple[int, int] | None:
    """Two red candidates worth one merge attempt: each passes a test the other fails (neither set holds the
    other). Of several such pairs: the one passing the most tests together, then the earliest."""
    pairs = [
        (len(passed[i] | passed[j]), -i, -j)
        for i in range(len(passed))
        for j in range(i + 1, len(passed))
        if passed[i] - passed[j] and passed[j] - passed[i]
    ]
    if not pairs:
        return None
    _, i, j = max(pairs)
    return -i, -j


Action = Literal["attempt", "repair", "merge", "escalate", "stop"]


class Decision(BaseModel):
    """What the cascade does next, at which tier, and why (logged as is)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    tier: int
    reason: str
    status: Literal["failed", "blocked"] | None = None  # for "stop"


class EscalationPolicy:
    """The state of one requirement's climb: which tier, whether it was repaired there, the last failure.

    Rules: a failed round of several candidates, two of which pass different tests, gets one merge round at the
    same tier (when the climb says merging is on: ``mergeable``); otherwise a failed round gets one repair round at
    the same tier when the failure looks cheap to fix, otherwise the next tier; the top tier repairs while attempts
    remain; the same failure ``loop_after`` times in a row (2, or 3 for fresh repairs) escalates at once (at the
    top tier it ends the requirement as blocked); ``max_attempts`` bounds the whole climb.
    """

    def __init__(self, tiers: Sequence[TierPlan], *, start: int, max_attempts: int, loop_after: int = 2) -> None:
        self.tiers = list(tiers)
        self.tier = start
        self.max_attempts = max_attempts
        self.loop_after = loop_after  # the same failure this many times in a row is a loop
        self.attempts = 0
        self.repaired_here = False
        self.last_signature: str | None = None
        self.repeats = 0

    @property
    def at_top(self) -> bool:
        return self.tier >= len(self.tiers) - 1

    def first(self) -> Decision:
        return Decision(action="attempt", tier=self.tier, reason=f"start at {self.tiers[self.tier].name}")

    def after_failure(self, failure: Failure, *, attempts: int, mergeable: str | None = None) -> Decision:
        """The next step after a red round that used ``attempts`` candidates; ``mergeable`` says which two of
        them pass different tests (:func:`merge_pair`), None when there are no such two or merging is off."""
        self.attempts += attempts
        self.repeats = self.repeats + 1 if failure.signature == self.last_signature else 1
        self.last_signature = failure.signature
        needed = 2 if failure.signature.startswith("rejected:") else self.loop_after  # unusable replies recur
        looped = self.repeats >= needed
        if self.attempts >= self.max_attempts:
            reason = f"{self.attempts} attempt(s) used, the limit ([synthesis] max_attempts = {self.max_attempts})"
            return self._stop("failed", reason)
        if mergeable:
            reason = f"merge at {self.tiers[self.tier].name}: {mergeable}"
            return Decision(action="merge", tier=self.tier, reason=reason)
        if looped:
            if self.at_top:
                return self._stop(
                    "blocked", f"the same failure {self._times} in a row at the top tier: {_first(failure)}"
                )
            return self._escalate(f"the same failure {self._times} in a row ({_first(failure)})")
        if self.at_top:
            self.repaired_here = True
            return Decision(action="repair", tier=self.tier, reason=f"top tier: repair ({failure.why})")
        if failure.cheap and not self.repaired_here:
            self.repaired_here = True
            return Decision(action="repair", tier=self.tier, reason=f"looks cheap to fix: {failure.why}")
        why = "its repair round failed too" if self.repaired_here else f"not cheap to fix: {failure.why}"
        return self._escalate(why)

    @property
    def _times(self) -> str:
        return {2: "twice", 3: "three times"}.get(self.repeats, f"{self.repeats} times")

    def start_afresh(self) -> None:
        """The tier just escalated to starts from the clean first prompt: it was not told the lower tier's failure,
        so failing the same way is its own first failure, not a loop."""
        self.last_signature, self.repeats = None, 0

    def after_call_error(self, error: str) -> Decision:
        """Every model of the tier failed to answer: the next tier, or the end at the top."""
        if self.at_top:
            return self._stop("failed", error)
        return self._escalate(f"no answer from {self.tiers[self.tier].name}: {error}")

    def _escalate(self, why: str) -> Decision:
        self.tier += 1
        self.repaired_here = False
        return Decision(action="escalate", tier=self.tier, reason=f"escalate to {self.tiers[self.tier].name}: {why}")

    def _stop(self, status: Literal["failed", "blocked"], reason: str) -> Decision:
        return Decision(action="stop", tier=self.tier, reason=reason, status=status)


def _first(failure: Failure) -> str:
    return failure.signature.splitlines()[0][:200] if failure.signature else failure.why
