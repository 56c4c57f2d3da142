"""Step 3 of a pass: the requirements one after another, each against the tests as the previous ones left them.

A requirement is first checked (linked tests? already passing? a dependency unsatisfied? the user's uncommitted
changes in its files?) and only then climbed; a satisfied one moves the baseline to the run that made it green.
"""

from __future__ import annotations

import time

from autodev.config import Config
from autodev.core.assignment import Assignment, LabelledTestRun
from autodev.core.climb import Climb, ClimbEnd
from autodev.core.increments import IncrementClimb
from autodev.core.planning import Architect, may_plan, plan_wanted, suite_tests
from autodev.core.tests_first import TestsFirst
from autodev.errors import UnsafeWorkspaceError
from autodev.learn.store import LearningStore
from autodev.logs import get_logger
from autodev.memory import NO_MEMORY, Memory
from autodev.plan import WorkItem, blocking_dependency
from autodev.progress import RequirementFinished, RequirementStarted, report
from autodev.project import ProjectPaths
from autodev.records import RoleCall
from autodev.results import RequirementResult, finish
from autodev.route import Router
from autodev.spec.model import Requirement
from autodev.spec.reader import leaves_project, outside_message
from autodev.synth.context import SourceFile
from autodev.synth.targets import choose_targets
from autodev.vcs import GitRepo
from autodev.verify.runner import TestRun
from autodev.verify.verdict import failing_tests, unmet

UNVERIFIED = 'no test is linked to it: write tests that prove it and mark them @pytest.mark.req("{id}")'


class Work:
    """The requirements of one pass; ``suite``: every test file, when the whole suite proves every requirement."""

    def __init__(
        self,
        paths: ProjectPaths,
        config: Config,
        repo: GitRepo,
        router: Router,
        run_tests: LabelledTestRun,
        *,
        baseline: TestRun,
        suite: list[str] | None,
        max_attempts: int,
        memory: Memory = NO_MEMORY,
        tests_first: TestsFirst | None = None,
        learning: LearningStore | None = None,
    ) -> None:
        self.paths, self.config, self.repo, self.router = paths, config, repo, router
        self.run_tests = run_tests
        self.baseline = baseline
        self.suite = suite
        self.max_attempts = max_attempts
        self.memory = memory
        self.tests_first = tests_first or TestsFirst()
        self.learning = learning
        self.satisfied: set[str] = set()
        self.known: set[str] = set()
        self.log = get_logger()

    def requirement(self, item: WorkItem) -> RequirementResult:
        started = time.monotonic()
        result = self._requirement(item)
        if result.status == "satisfied":
            self.satisfied.add(item.requirement.id)
        self.known.add(item.requirement.id)
        self.log.info("requirement done", id=result.requirement, status=result.status, reason=result.reason)
        report(RequirementFinished(requirement=result.requirement, status=result.status, reason=result.reason))
        return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})

    def _requirement(self, item: WorkItem) -> RequirementResult:
        requirement, root = item.requirement, self.paths.root
        test_files = item.test_files if self.suite is None else self.suite
        tests = [
            SourceFile(path=p, content=(root / p).read_text(encoding="utf-8", errors="replace")) for p in test_files
        ]
        targets = choose_targets(root, requirement.files, test_files, [t.content or "" for t in tests])
        draft = RequirementResult(
            requirement=requirement.id, title=requirement.title, status="failed", reason="", targets=targets,
            tests=item.tests,
        )  # fmt: skip
        if not item.tests and self.suite is None:
            return finish(draft, status="unverified", reason=UNVERIFIED.format(id=requirement.id))
        failing = unmet(self.baseline, item.tests or None)
        refusal = self._refusal(item, draft, targets, failing)
        if refusal is not None:
            return refusal
        self.log.info("requirement", id=requirement.id, title=requirement.title, targets=targets, failing=failing)
        report(RequirementStarted(requirement=requirement.id, title=requirement.title, targets=tuple(targets),
                                  failing=tuple(failing)))  # fmt: skip
        assignment = Assignment(
            self.paths, self.config, self.repo, _with_context(requirement), tests, targets, self.baseline,
            self.run_tests, target_tests=item.tests or None, memory=self.memory, learning=self.learning,
        )  # fmt: skip
        end, role_calls = self._climb(assignment, item, failing)
        role_calls = [*self.tests_first.calls.get(requirement.id, []), *role_calls]  # the tester's, then the plan's
        commit = self.repo.head_sha() if end.status == "satisfied" else None
        result = finish(draft, status=end.status, reason=end.reason, tier=end.tier, model=end.model, commit=commit,
                        attempts=end.attempts, route=end.route, role_calls=role_calls)  # fmt: skip
        if result.status == "satisfied":
            self.baseline = end.green_run or self.run_tests("baseline", root)
        return result

    def _climb(self, assignment: Assignment, item: WorkItem, failing: list[str]) -> tuple[ClimbEnd, list[RoleCall]]:
        """Increment by increment when the requirement is planned (core/planning.py), else in one climb; with the
        architect's call, when one was made."""
        if not may_plan(assignment):
            return Climb(assignment, self.router).run(self.max_attempts), []
        tests = item.tests or suite_tests(self.baseline, assignment.tests)  # the suite proves it: all its tests
        why = plan_wanted(assignment, failing if item.tests else failing_tests(tests, self.baseline))
        if not (why and tests):
            return Climb(assignment, self.router).run(self.max_attempts), []
        architect = Architect(assignment, self.router)
        plan = architect.plan(tests, why)
        if plan is None:
            return Climb(assignment, self.router, continuing=True).run(self.max_attempts), architect.calls
        climb = IncrementClimb(assignment, self.router, plan, self.max_attempts)
        return climb.run(whole_suite=not item.tests), architect.calls

    def _refusal(
        self, item: WorkItem, draft: RequirementResult, targets: list[str], failing: list[str]
    ) -> RequirementResult | None:
        """The result without a climb: already satisfied, or blocked; None when there is work to do."""
        requirement = item.requirement
        if not failing:
            count = len(item.tests) or len(self.baseline.passed_ids)
            return finish(draft, status="satisfied", reason=f"its {count} test(s) pass", already_satisfied=True)
        waiting = self.tests_first.refusal(requirement.id)
        if waiting is not None:
            return finish(draft, status="blocked", reason=waiting)
        blocker = blocking_dependency(requirement, self.satisfied, self.known)  # ordered: dependencies came first
        if blocker is not None:
            return finish(draft, status="blocked", reason=f"depends on {blocker}, which is not satisfied")
        outside = [entry for entry in requirement.files if leaves_project(entry, self.paths.root)]
        if outside:  # before git, which fails on such a path, and before a prompt, which would read it
            return finish(draft, status="blocked", reason=outside_message(outside[0]))
        dirty = self.repo.uncommitted(targets)
        if dirty:
            self.log.warning("blocked: uncommitted user changes", files=dirty)
            return finish(draft, status="blocked", reason=str(UnsafeWorkspaceError(dirty)))
        return None


def _with_context(requirement: Requirement) -> Requirement:
    """The shared text of the requirement's file goes to the model with it (it is not part of its hash)."""
    if not requirement.context or requirement.whole_file:
        return requirement
    return requirement.model_copy(update={"text": f"{requirement.context}\n\n{requirement.text}"})
