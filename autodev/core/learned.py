"""Tier 0 widened, and what a climb teaches: the learning store (``autodev.learn``) used for one requirement.

Before any model (after the exact replay), a stored solution whose tests are this requirement's tests with names
changed (functions, classes, modules, test names: ``autodev.learn.rename``) and whose requirement says much the
same is renamed to fit and tried like any candidate: judged by the tests, committed only when they pass. A stored
change that is red here is retired, never reused again. After the climb, a green change is stored with what it
was for and what it cost, and every failed attempt with its outcome and the model that made it.

A requirement worked on counts once per state for the reuse rate (the loop's passes over one that stays red are
one), and not at all when the exact replay or a stored solution of this very state answered it: a rerun of the
same state is no reuse.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from autodev.core.assignment import Assignment
from autodev.core.attempts import AttemptLog, call_facts
from autodev.core.trial import Trial
from autodev.core.tried import Tried, after_trial
from autodev.fileio import texts_on_disk
from autodev.learn.rename import apply_renames, rename_map, renamed_path
from autodev.learn.store import FailureEntry, LearningStore, Solution
from autodev.learn.words import similarity
from autodev.logs import get_logger
from autodev.progress import Decided, report
from autodev.records import AttemptRecord
from autodev.synth.runner_access import runner_access
from autodev.tokens import estimate_tokens
from autodev.verify.verdict import unmet

LEARNED_MODEL = "tier0/learned"
LEARNED_TIER = "tier0"
SIMILAR_REQUIREMENT = 0.3  # key-word overlap (Jaccard, after renaming) below which a requirement is another one
CANDIDATES = 5
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Learned:
    """One requirement's reuse of the store, and what its climb adds to it."""

    def __init__(self, assignment: Assignment, store: LearningStore, key: str) -> None:
        self.assignment, self.store, self.key = assignment, store, key
        self.tests = {test.path: test.content or "" for test in assignment.tests}
        self.tests_text = "\n".join(self.tests[path] for path in sorted(self.tests))  # as Solution.tests_text
        self.signature = unmet(assignment.baseline, assignment.target_tests)

    def reuse(self, trial: Trial, log: AttemptLog, route: list[str]) -> Tried | None:
        """A stored solution renamed to fit, tried before any model; None when there is none or it was red.

        One stored for this very state (another clone of the project, a benchmark's fresh copy) is tried too, but
        neither the work nor its reuse counts: a rerun of the same state is no reuse."""
        config = self.assignment.config
        found = self._fitting() if config.learning.reuse and config.llm.cache_responses else None  # --no-cache: ask
        rerun = found is not None and found[0].state_key == self.key
        if not rerun:
            self.store.note("worked", self.assignment.requirement.id, self.key)
        if found is None:
            return None
        solution, changes = found
        reason = (f"these tests and files were made green before, by {solution.requirement_id}" if rerun else
                  f"the tests are those of {solution.requirement_id}, solved before, with names changed")  # fmt: skip
        route.append(f"learned: {reason}; trying its change renamed, without a model call")
        get_logger().info("route", action="learned", tier=LEARNED_TIER, reason=reason, entry=solution.entry_id)
        report(Decided(action="learned", tier=LEARNED_TIER, reason=reason))
        outcome = trial.run(changes, label=f"attempt {len(log.records) + 1}", author=LEARNED_MODEL)
        tried = after_trial(log, call_facts(LEARNED_MODEL, LEARNED_TIER, None), outcome, changes, reply="",
                            target_count=self.assignment.target_count,
                            metric="replayed" if outcome.green else None)  # fmt: skip
        self.store.used(solution, green=tried.green)
        if not tried.green:
            return None
        if not rerun:
            self.store.note("reused", self.assignment.requirement.id, self.key, cost_avoided=solution.cost_usd)
        self.green(changes, LEARNED_MODEL, LEARNED_TIER, solution.cost_usd)  # what reusing it again avoids
        return tried

    def example(self, budget_tokens: int) -> str:
        """The most similar stored solution that fits in ``budget_tokens``, as a part of the system prompt, or
        nothing; never one made for this very state (the benchmark's leave-one-out: an exercise's own entry)."""
        for solution in self._similar:
            if solution.state_key == self.key:
                continue
            text = _example_text(solution)
            if estimate_tokens(text) <= budget_tokens:
                self.store.note("few_shot", self.assignment.requirement.id, self.key)
                return text
        return ""

    def green(self, changes: Mapping[str, str], model: str, tier: str, cost_usd: float) -> None:
        requirement = self.assignment.requirement
        self.store.add_solution(Solution(
            requirement_id=requirement.id, requirement_text=requirement.text, tests=self.tests,
            signature=self.signature, changes=dict(changes), model=model, tier=tier, cost_usd=cost_usd,
            state_key=self.key,
        ))  # fmt: skip

    def ended(self, records: Sequence[AttemptRecord]) -> None:
        """Each attempt that did not pass, with what the model did, for the hints a later session derives."""
        for record in records:
            if record.outcome != "green" and not record.model.startswith("tier0/"):  # a model's, not a replay
                self.store.add_failure(FailureEntry(
                    requirement_id=self.assignment.requirement.id, model=record.model, tier=record.tier,
                    kind=record.outcome, detail=record.reason[:500], signature=self.signature,
                ))  # fmt: skip

    @functools.cached_property
    def _similar(self) -> list[Solution]:
        """The stored solutions most like this requirement, searched once for the reuse and the few-shot."""
        return self.store.similar(f"{self.assignment.requirement.text}\n{self.tests_text}", limit=CANDIDATES)

    def _fitting(self) -> tuple[Solution, dict[str, str]] | None:
        for solution in self._similar:
            if solution.retired:
                continue  # red once: never again
            changes = self._renamed(solution)
            if changes is not None:
                return solution, changes
        return None

    def _renamed(self, solution: Solution) -> dict[str, str] | None:
        """The solution's change with the new names, when its tests are these up to names, its requirement says
        much the same, and it changes only files this requirement may change, and not to what they hold already
        (a planned requirement's earlier increment, say)."""
        renames = rename_map(solution.tests_text(), self.tests_text)
        if renames is None:
            return None
        said = _IDENTIFIER.sub(lambda match: renames.get(match.group(), match.group()), solution.requirement_text)
        if similarity(said, self.assignment.requirement.text) < SIMILAR_REQUIREMENT:
            return None
        try:
            changes = {renamed_path(path, renames): _renamed_text(path, text, renames)
                       for path, text in solution.changes.items()}  # fmt: skip
        except ValueError:
            return None
        if not set(changes) <= set(self.assignment.targets):
            return None
        if not self.assignment.config.tests.allow_runner_access and runner_access(changes):
            return None  # verified while [tests] allow_runner_access was on: the models are asked
        current = texts_on_disk(self.assignment.root, changes)
        return None if all(current[path] == text for path, text in changes.items()) else changes  # else: done already


def _example_text(solution: Solution) -> str:
    code = "\n\n".join(f"{path}:\n```{'python' if path.endswith('.py') else ''}\n{text.strip()}\n```"
                       for path, text in sorted(solution.changes.items()))  # fmt: skip
    said = solution.requirement_text.strip()[:1500]
    return (f"For reference, a similar requirement solved before (its tests passed); your task is the one given "
            f"below, which may differ:\n{said}\n\nIts solution:\n{code}")  # fmt: skip


def _renamed_text(path: str, text: str, renames: Mapping[str, str]) -> str:
    return apply_renames(text, renames) if path.endswith(".py") else text
