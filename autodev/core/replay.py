"""Tier 0, before any model: replay changes that were verified green for exactly this state of the project.

The replay is an ordinary trial (journal, tests, commit or exact restore) whose author is :data:`REPLAY_MODEL`;
it costs one test run and no model call, and a red replay leaves the climb to the models as if it never happened
(except for its attempt record).
"""

from __future__ import annotations

from autodev.core.assignment import Assignment
from autodev.core.attempts import AttemptLog, call_facts
from autodev.core.trial import Trial
from autodev.core.tried import Tried, after_trial
from autodev.core.verified import VerifiedStore, keyed_files, state_key
from autodev.logs import get_logger
from autodev.progress import Decided, report
from autodev.synth.runner_access import runner_access
from autodev.verify.adapters.choose import project_test_command

REPLAY_MODEL = "tier0/replay"
REPLAY_TIER = "tier0"


def assignment_key(assignment: Assignment) -> str:
    """The key of everything the model would be shown: requirement, tests, target files, test command."""
    files = keyed_files(assignment.root, [*(t.path for t in assignment.tests), *assignment.targets])
    return state_key(assignment.requirement.text, files, project_test_command(assignment.config, assignment.root))


def replay(
    assignment: Assignment, trial: Trial, log: AttemptLog, route: list[str], *, store: VerifiedStore, key: str
) -> Tried | None:
    """The green replay, or None when there is nothing verified for this state (or the cache is off) or it failed."""
    if not assignment.config.llm.cache_responses:
        return None
    entry = store.get(key)
    if entry is None:
        return None
    if not assignment.config.tests.allow_runner_access and runner_access(entry.changes):
        return None  # verified while [tests] allow_runner_access was on: the models are asked again
    route.append("replay: these tests and files were made green before; replaying without a model call")
    reason = "verified result for this exact state"
    get_logger().info("route", action="replay", tier=REPLAY_TIER, reason=reason)
    report(Decided(action="replay", tier=REPLAY_TIER, reason=reason))
    outcome = trial.run(entry.changes, label=f"attempt {len(log.records) + 1}", author=REPLAY_MODEL)
    tried = after_trial(
        log,
        call_facts(REPLAY_MODEL, REPLAY_TIER, None),
        outcome,
        entry.changes,
        reply="",
        target_count=assignment.target_count,
        metric="replayed" if outcome.green else None,
    )
    return tried if tried.green else None
