"""The architect inside a pass: whether a requirement gets a plan, and the plan itself, asked for or reused.

A requirement is planned when its spec says ``Plan: yes``, or, with ``[roles.architect]`` configured, when it is
large (``[planning] min_files`` target files or ``min_failing_tests`` failing tests); ``Plan: no`` never is. The
architect is asked once through the requirement's tier caller (budget, cache, retries, metrics as role
"architect"); its plan is saved under ``.autodev/plans/`` and reused while the requirement's text and tests are
the same, so a pass that stopped halfway goes on from the first unfinished increment without asking again.
A plan is an aid, never a gate: no answer, or an answer without increments, and the requirement is worked in one
piece as it would have been without an architect.
"""

from __future__ import annotations

from collections.abc import Sequence

from autodev.config import Config
from autodev.core.assignment import Assignment
from autodev.core.role_tier import role_tier
from autodev.errors import BudgetExceededError, ModelError
from autodev.fileio import texts_on_disk
from autodev.increments import IncrementPlan, PlanStore, now, read_plan
from autodev.llm.client import Message
from autodev.logs import get_logger
from autodev.progress import Decided, report
from autodev.records import RoleCall
from autodev.roles import role_instructions
from autodev.route import CallLog, Router, call_facts
from autodev.synth.context import SourceFile, fence, language_of
from autodev.verify.pristine import pristine_tests
from autodev.verify.runner import TestRun

ARCHITECT = "architect"
MAX_SHOWN_CHARS = 12_000  # of each file the architect reads (a plan needs the shape, not every line)
MAX_TOTAL_CHARS = 48_000
PLAN_REPLY_TOKENS = 1024  # a plan is a list: a small local model that writes the code instead is cut off here

REPLY_FORMAT = """Answer in exactly this form, with no implementation code:

FILES
- path/to/file.py: the interface it will have (functions and classes with their signatures)

INCREMENTS
1. what this increment does
   Files: path/to/file.py
   Tests: test_name, test_other_name
2. ...

Each increment is small and leaves every test that passed before still passing. Name under Tests: the tests that
pass once it is done, by name, from the list above; the last increment makes the rest pass."""


def suite_tests(baseline: TestRun, tests: Sequence[SourceFile]) -> list[str]:
    """The tests of a requirement the whole suite proves: those the test files define (even where the baseline
    could not import them), then any other the baseline ran (a runner other than pytest names its own)."""
    defined = list(pristine_tests({test.path: test.content or "" for test in tests}).ids)
    covered = set(defined)
    ran = [test for test in sorted(baseline.outcomes) if "::" in test and test.split("[", 1)[0] not in covered]
    return defined + ran


def may_plan(assignment: Assignment) -> bool:
    """Whether a plan is possible at all (``Plan: yes``, or an architect without ``Plan: no``): before this says
    so, nothing about the requirement's tests is worked out."""
    requirement, role = assignment.requirement, assignment.config.roles.get(ARCHITECT)
    if requirement.plan is not None:
        return requirement.plan
    return role is not None and role.passes


def plan_wanted(assignment: Assignment, failing: Sequence[str]) -> str | None:
    """Why the requirement is planned, or None: ``Plan:`` decides, else its size when an architect is configured."""
    requirement, planning = assignment.requirement, assignment.config.planning
    if not may_plan(assignment):
        return None
    if requirement.plan:
        return "its spec says Plan: yes"
    if len(assignment.targets) >= planning.min_files:
        return f"it has {len(assignment.targets)} target files ([planning] min_files = {planning.min_files})"
    if len(failing) >= planning.min_failing_tests:
        return f"{len(failing)} of its tests fail ([planning] min_failing_tests = {planning.min_failing_tests})"
    return None


class Architect:
    """Plans one requirement: the stored plan when it still fits, else one asked of the architect now."""

    def __init__(self, assignment: Assignment, router: Router) -> None:
        self.assignment, self.router = assignment, router
        self.store = PlanStore(assignment.paths.plans_dir)
        self.calls: list[RoleCall] = []  # the architect's call, if one was made: the requirement's cost counts it
        self.logger = get_logger()

    def plan(self, tests: Sequence[str], why: str) -> IncrementPlan | None:
        """The plan to work by: the saved one when it still fits, else one asked for now (and saved); None: none."""
        requirement = self.assignment.requirement
        stored = self.store.get(requirement.id)
        if stored is not None and stored.fits(requirement.content_hash, tests) and stored.increments:
            self._said(f"working by the saved plan of {len(stored.increments)} increments")
            return stored
        made = self._ask(tests, why)
        if made is not None:
            self.store.put(made)
        return made

    def _ask(self, tests: Sequence[str], why: str) -> IncrementPlan | None:
        requirement, config = self.assignment.requirement, self.assignment.config
        log = CallLog(requirement.id, self.router.metrics)
        caller = self.router.caller(requirement.id, log.call_failed)
        tier = role_tier(config, ARCHITECT, caller.tiers)
        if tier is None:
            return None
        messages = architect_messages(self.assignment, tests, _instructions(config))
        try:
            model, completion = caller.ask(tier, messages, repair=False, attempt=0, role=ARCHITECT,
                                           reply_tokens=PLAN_REPLY_TOKENS)  # fmt: skip
        except (ModelError, BudgetExceededError) as error:
            self._said(f"no plan ({error}); working the requirement in one piece")
            return None
        facts = call_facts(model.name, tier.name, completion)
        log.role_call(ARCHITECT, facts)
        self.calls.append(RoleCall(**facts.model_dump(), role=ARCHITECT))
        files, increments = read_plan(completion.text, tests, max_increments=config.planning.max_increments)
        if not increments:
            self._said(f"{model.name}'s plan named none of the tests; working the requirement in one piece")
            return None
        plan = IncrementPlan(requirement=requirement.id, content_hash=requirement.content_hash, tests=list(tests),
                             model=model.name, created=now(), files=files, increments=increments,
                             reply=completion.text)  # fmt: skip
        titles = "; ".join(f"{number}. {inc.title}" for number, inc in enumerate(increments, 1))
        self._said(f"{model.name} planned {len(increments)} increment(s) because {why}: {titles}")
        return plan

    def _said(self, reason: str) -> None:
        self.logger.info("plan", requirement=self.assignment.requirement.id, reason=reason)
        report(Decided(action="plan", tier="", reason=reason))


def _instructions(config: Config) -> str | None:
    role = config.roles.get(ARCHITECT)
    return role_instructions(ARCHITECT, role.prompt_file if role is not None else None)


def architect_messages(assignment: Assignment, tests: Sequence[str], system: str | None) -> list[Message]:
    """The requirement, the files it may change as they are now, its tests' text and names, and the reply's form."""
    budget = MAX_TOTAL_CHARS
    parts = [f"The requirement ({assignment.requirement.source}):\n{assignment.requirement.text.strip()}"]
    for path, text in texts_on_disk(assignment.root, assignment.targets).items():
        shown = "(does not exist yet)" if text is None else fence(text[: min(MAX_SHOWN_CHARS, budget)],
                                                                   language_of(path))  # fmt: skip
        budget -= len(shown)
        parts.append(f"File {path}:\n{shown}")
    for test in assignment.tests:
        shown = fence((test.content or "")[: max(0, min(MAX_SHOWN_CHARS, budget))], language_of(test.path))
        budget -= len(shown)
        parts.append(f"Test file {test.path}:\n{shown}")
    parts.append("The tests that must pass:\n" + "\n".join(f"- {test}" for test in tests))
    parts.append(REPLY_FORMAT)
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": "\n\n".join(parts)})
    return messages
