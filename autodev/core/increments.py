"""A planned requirement worked increment by increment: one climb and one commit for each, judged by its tests.

Each increment is climbed like a requirement of its own (``core/climb.py``): the coder is shown the whole plan and
told which increment it writes, and the increment is green when the tests it names pass and nothing that passed
before fails, so an increment can never undo an earlier one. An increment whose tests already pass is done
without a model call (a pass that stopped halfway goes on where it stopped); one that cannot be made green ends
the requirement as failed, with the increments before it committed and the plan saved with how far it got.
"""

from __future__ import annotations

from dataclasses import replace

from autodev.core.assignment import Assignment
from autodev.core.climb import Climb, ClimbEnd
from autodev.increments import Increment, IncrementPlan, IncrementStatus, PlanStore
from autodev.logs import get_logger
from autodev.progress import Decided, report
from autodev.records import AttemptRecord
from autodev.route import Router
from autodev.spec.model import Requirement
from autodev.synth.targets import choose_targets
from autodev.verify.runner import TestRun
from autodev.verify.verdict import unmet

TITLE_CHARS = 72  # the commit subject's title, with the increment said after it


class IncrementClimb:
    """Climbs the increments of one plan in order; see the module docstring."""

    def __init__(self, assignment: Assignment, router: Router, plan: IncrementPlan, max_attempts: int) -> None:
        self.assignment, self.router, self.plan = assignment, router, plan
        self.max_attempts = max_attempts
        self.store = PlanStore(assignment.paths.plans_dir)
        self.attempts: list[AttemptRecord] = []
        self.route: list[str] = []
        self.logger = get_logger()

    def run(self, *, whole_suite: bool = False) -> ClimbEnd:
        """``whole_suite``: the requirement is proven by every test of the suite, and so is its last increment
        (a test the plan could not name, one that is generated, say, must pass too)."""
        baseline = self.assignment.baseline
        count = len(self.plan.increments)
        end: ClimbEnd | None = None
        for number, increment in enumerate(self.plan.increments, 1):
            judged_by = None if whole_suite and number == count else list(increment.tests)
            if not unmet(baseline, judged_by):
                self._settle(increment, "done", increment.commit, "its tests pass")
                continue
            said = f"increment {number}/{count}: {increment.title} ({len(increment.tests)} test(s))"
            self.route.append(f"increment: {said}")
            self.logger.info("increment", requirement=self.plan.requirement, number=number, title=increment.title,
                             tests=increment.tests)  # fmt: skip
            report(Decided(action="increment", tier="", reason=said))
            assignment = self._assignment(number, increment, baseline, judged_by)
            end = Climb(assignment, self.router, continuing=True).run(self.max_attempts)
            self.attempts += end.attempts
            self.route += end.route
            if end.status != "satisfied":
                self._settle(increment, "failed", None, end.reason)
                reason = f"increment {number}/{count} ({increment.title}): {end.reason}"
                return self._end(end, reason=reason)
            self._settle(increment, "done", self.assignment.repo.head_sha(), end.reason)
            baseline = end.green_run or self.assignment.run_tests(f"after increment {number}", self.assignment.root)
        # Some increment was unmet: the plan holds every one of the requirement's tests (read_plan gives the last
        # increment those no other names, a plan is reused only for the same tests), and with the whole suite
        # proving it, the last increment is judged by every test.
        assert end is not None
        return self._end(end, reason=f"its {count} increments are green ({end.reason})", green_run=baseline)

    def _assignment(
        self, number: int, increment: Increment, baseline: TestRun, judged_by: list[str] | None
    ) -> Assignment:
        """The requirement as this increment's climb sees it: the plan and the increment in its text, the
        increment in its title (and so in the commit's subject), the increment's files among its targets."""
        assignment = self.assignment
        hints = [*assignment.requirement.files, *assignment.targets, *increment.files]
        test_files = [test.path for test in assignment.tests]
        targets = choose_targets(assignment.root, tuple(dict.fromkeys(hints)), test_files,
                                 [test.content or "" for test in assignment.tests])  # fmt: skip
        return replace(
            assignment,
            requirement=increment_requirement(assignment.requirement, self.plan, number),
            targets=targets,
            baseline=baseline,
            target_tests=judged_by,
        )

    def _settle(self, increment: Increment, status: IncrementStatus, commit: str | None, reason: str) -> None:
        """Record how far the plan got, for `autodev status REQ --plan` and the next pass."""
        increment.status = status
        increment.commit = commit
        increment.reason = reason
        self.store.put(self.plan)

    def _end(self, last: ClimbEnd, *, reason: str, green_run: TestRun | None = None) -> ClimbEnd:
        return ClimbEnd(last.status, reason, last.tier, last.model, list(self.attempts), list(self.route),
                        green_run if last.status == "satisfied" else None)  # fmt: skip


def increment_requirement(requirement: Requirement, plan: IncrementPlan, number: int) -> Requirement:
    """The requirement's text followed by the architect's plan and what this increment is to do."""
    increment = plan.increments[number - 1]
    count = len(plan.increments)
    lines = [
        requirement.text,
        "",
        f"An architect has planned this requirement in {count} increments:",
        plan.outline(),
        "",
        f"Write increment {number} of {count} now: {increment.title}.",
    ]
    if increment.interface:
        lines.append(f"Its interface: {increment.interface}")
    lines.append(
        "The tests it must make pass: "
        + ", ".join(test.split("::")[-1] for test in increment.tests)
        + (". Later increments do the rest; keep what passes now passing." if number < count else ".")
    )
    title = requirement.title[: TITLE_CHARS - 20]
    return requirement.model_copy(update={"text": "\n".join(lines), "title": f"{title} (increment {number}/{count})"})
