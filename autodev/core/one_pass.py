"""One pass: spec -> prompt -> model -> edits -> tests -> commit or exact rollback, as four explicit steps.

The pass is synchronous and self-contained so that `autodev run --once`, the watch loop and the benchmark share it.
It never leaves the tree half-changed: edits go through a journaled transaction, a red attempt is rolled back
byte for byte, and only a green one is committed, with only the files autodev wrote.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from autodev.config import Config
from autodev.core import record
from autodev.core.assignment import labelled_runner
from autodev.core.criteria_first import CriteriaTester
from autodev.core.prepare import prepare
from autodev.core.survey import SurveyFailed, survey
from autodev.core.tests_first import tests_first
from autodev.core.work import Work
from autodev.learn.store import open_learning
from autodev.llm.client import ChatClient
from autodev.local.serving import model_client
from autodev.passlock import pass_lock
from autodev.plan import items_for, orphan_items
from autodev.project import ProjectPaths
from autodev.results import PassResult
from autodev.roles import TESTER
from autodev.route import Router
from autodev.verify.runner import TestRunner, run_tests


def run_once(
    paths: ProjectPaths,
    config: Config,
    *,
    client: ChatClient | None = None,
    model_name: str | None = None,
    max_attempts: int | None = None,
    env: Mapping[str, str] | None = None,
    test_runner: TestRunner = run_tests,
    wait: bool = False,
    doing: str = "run --once",
) -> PassResult:
    """Run one pass over every requirement of the specs, in dependency order, one commit per satisfied one.

    Without a client, LiteLLM is used, and local models are served for the duration of the pass. ``test_runner``
    runs the project's tests (a double in tests of routing decisions; the real subprocess runner otherwise).
    The project's pass lock is held throughout (``wait``: until it is free; else ProjectBusyError at once), so a
    second pass never takes this one's live attempt for an interrupted one.
    """
    started = time.monotonic()
    environment = env if env is not None else os.environ
    limit = max_attempts or config.synthesis.max_attempts
    with pass_lock(paths.state_dir, doing=doing, wait=wait):
        if client is None:
            with model_client(config, environment) as serving:
                result = _pass(paths, config, serving, environment, test_runner, model_name, limit)
        else:
            result = _pass(paths, config, client, environment, test_runner, model_name, limit)
    return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})


def _pass(
    paths: ProjectPaths,
    config: Config,
    client: ChatClient,
    env: Mapping[str, str],
    test_runner: TestRunner,
    model_name: str | None,
    max_attempts: int,
) -> PassResult:
    """prepare -> tests first (with [synthesis] test_first) -> survey -> work -> record."""
    repo, recovered = prepare(paths)
    run = labelled_runner(paths, config, test_runner)
    router = Router(paths, config, client, env, model_override=model_name)
    tester = CriteriaTester(paths, config, router, run) if TESTER in config.roles else None
    first = tests_first(paths, config, repo, tester)
    try:
        found = survey(paths, config, run)
    except SurveyFailed as failed:
        return PassResult(status="failed", reason=str(failed), recovered=recovered)
    with open_learning(config.learning.enabled, env) as learning:
        work = Work(paths, config, repo, router, run, baseline=found.baseline, suite=found.suite,
                    max_attempts=max_attempts, memory=found.memory, tests_first=first, learning=learning)  # fmt: skip
        results = [work.requirement(item) for item in items_for(found.requirements, found.links)]
        results += [work.requirement(item) for item in orphan_items(found.links, work.baseline)]
    results += [record.removed(found.ledger.entries[rid]) for rid in found.diff.removed]
    record.save(paths, found.ledger, found.requirements, results, work.baseline)
    return record.aggregate(results, recovered, found.baseline)
