"""The climb for one requirement: replay (tier 0), then model tiers from the cheapest, until the tests pass.

:mod:`autodev.route.policy` decides (repair, escalate, stop) and says why; this module carries the decisions
out: it builds prompts, calls a tier through the dispatcher (cache, budget, retries, fallback), tests candidates
in place or in scratch copies, commits a green one, rolls back a red one byte for byte, and records every call
in the metrics.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autodev.candidate import read_text, reply_changes, try_all_in_scratch
from autodev.config import Config
from autodev.errors import BudgetExceededError, EditRejectedError, ModelError, VcsError, WorkspaceWriteError
from autodev.journal import EditTransaction
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.results import AttemptOutcome, AttemptRecord, RequirementResult, RequirementStatus, finish
from autodev.route.budget import Budget
from autodev.route.dispatch import TierDispatcher
from autodev.route.metrics import CallEvent, MetricsStore
from autodev.route.policy import Cascade, Decision, Failure, TierPlan, describe_failure, size_class, starting_tier
from autodev.route.replay import VerifiedStore, keyed_files, state_key
from autodev.spec.model import Requirement
from autodev.synth.context import Feedback, SourceFile, build_messages
from autodev.vcs import GitRepo
from autodev.verify.runner import TestRun
from autodev.verify.verdict import Verdict, failure_summary, judge

_LOGGED_REPLY_CHARS = 8000
REPLAY_MODEL = "tier0/replay"


@dataclass
class PassState:
    """Everything the climb needs to know about the project at the start of the pass."""

    paths: ProjectPaths
    config: Config
    repo: GitRepo
    requirement: Requirement
    tests: list[SourceFile]
    targets: list[str]
    baseline: TestRun
    run_tests: Callable[[str, Path], TestRun]  # (label, root) -> run
    target_tests: list[str] | None = None  # the requirement's linked tests; None: every test of the suite

    @property
    def root(self) -> Path:
        return self.paths.root


@dataclass
class _Tried:
    """One candidate after its test run (or its rejection)."""

    record: AttemptRecord
    feedback: Feedback | None = None
    failure: Failure | None = None

    @property
    def green(self) -> bool:
        return self.record.outcome == "green"


@dataclass
class _Round:
    tried: list[_Tried] = field(default_factory=list)

    @property
    def green(self) -> _Tried | None:
        return next((t for t in self.tried if t.green), None)

    def best_failure(self) -> _Tried | None:
        """The failing candidate closest to green: most tests passing; a rejected reply counts least."""
        failed = [t for t in self.tried if t.failure is not None]
        return max(failed, key=lambda t: t.failure.passed if t.failure else 0, default=None)


class PassObserver:
    """Sees every real call for the budget and records failed ones in the metrics."""

    def __init__(self, budget: Budget, metrics: MetricsStore, requirement: str) -> None:
        self.budget = budget
        self.metrics = metrics
        self.requirement = requirement
        self.tier = ""
        self.size = ""

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        self.budget.before_call(model, messages)

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        self.budget.after_call(model, completion, error)
        if error is not None:
            self.metrics.append(
                CallEvent(
                    at=time.time(),
                    requirement=self.requirement,
                    size_class=self.size,
                    tier=self.tier,
                    model=model.name,
                    litellm_model=model.litellm_model,
                    outcome="error",
                    reason=str(error),
                )
            )


class Climb:
    """Carries out the cascade for one requirement."""

    def __init__(
        self,
        state: PassState,
        dispatcher: TierDispatcher,
        observer: PassObserver,
        metrics: MetricsStore,
        tiers: Sequence[TierPlan],
        resolve: Callable[[str], ResolvedModel],
    ) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.observer = observer
        self.metrics = metrics
        self.tiers = list(tiers)
        self.resolve = resolve
        self.log = get_logger()
        self.records: list[AttemptRecord] = []
        self.green_run: TestRun | None = None  # the test run that made the requirement green: the next baseline
        self.route: list[str] = []
        self.protected = {t.path for t in state.tests} | {state.requirement.source}
        self.size = ""
        self.best: Failure | None = None
        self.verified = VerifiedStore(state.paths.verified_dir)
        self.state_key = state_key(
            state.requirement.text,
            keyed_files(state.root, [*(t.path for t in state.tests), *state.targets]),
            state.config.project.test_command,
        )

    # ------------------------------------------------------------------------------------------------ the climb

    def run(self, draft: RequirementResult, max_attempts: int) -> RequirementResult:
        replayed = self._replay()
        if replayed is not None:
            return self._result(draft, "satisfied", replayed.record.reason, tier="tier0", model=REPLAY_MODEL)
        first_messages = self._messages(None, self.tiers[0].models[0])
        self.size = self.observer.size = size_class(sum(len(m["content"]) for m in first_messages))
        cascade = Cascade(self.tiers, start=self._start(), max_attempts=max_attempts)
        decision = cascade.first()
        feedback: Feedback | None = None
        while True:
            self._decided(decision)
            if decision.action == "stop":
                return self._result(draft, decision.status or "failed", decision.reason, tier=self._tier(decision))
            samples = 1 if decision.action == "repair" else self.tiers[decision.tier].samples
            samples = max(1, min(samples, max_attempts - cascade.attempts))
            try:
                round_ = self._round(self.tiers[decision.tier], feedback, samples, repair=decision.action == "repair")
            except BudgetExceededError as error:
                self.log.warning("blocked by the budget", reason=str(error))
                return self._result(draft, "blocked", str(error), tier=self._tier(decision))
            except ModelError as error:
                self.log.error("no model of the tier answered", tier=self._tier(decision), error=str(error))
                decision = cascade.after_call_error(str(error))
                continue
            green = round_.green
            if green is not None:
                return self._result(draft, "satisfied", green.record.reason, tier=green.record.tier)
            best = round_.best_failure()
            assert best is not None and best.failure is not None  # a round without green has a failure
            feedback, self.best = best.feedback, best.failure
            decision = cascade.after_failure(best.failure, attempts=len(round_.tried))

    def _start(self) -> int:
        """The first tier worth calling; only the tiered strategy skips tiers on history."""
        llm = self.state.config.llm
        if llm.routing_strategy != "tiered" or len(self.tiers) < 2:
            return 0
        start, skipped = starting_tier(
            self.tiers,
            self.size,
            self.metrics.solve_rate,
            min_history=llm.min_history,
            threshold=llm.skip_below_solve_rate,
        )
        for reason in skipped:
            self.route.append(reason)
            self.log.info("route", action="skip", reason=reason)
        return start

    def _decided(self, decision: Decision) -> None:
        self.route.append(f"{decision.action}: {decision.reason}")
        self.log.info("route", action=decision.action, tier=self._tier(decision), reason=decision.reason)
        if decision.action == "escalate":
            previous = self.tiers[decision.tier - 1]
            self.metrics.append(
                CallEvent(
                    kind="escalation",
                    at=time.time(),
                    requirement=self.state.requirement.id,
                    size_class=self.size,
                    tier=previous.name,
                    model=previous.models[0],
                    to_tier=self.tiers[decision.tier].name,
                    reason=decision.reason,
                )
            )

    def _tier(self, decision: Decision) -> str:
        return self.tiers[min(decision.tier, len(self.tiers) - 1)].name

    def _result(
        self, draft: RequirementResult, status: RequirementStatus, reason: str, *, tier: str, model: str | None = None
    ) -> RequirementResult:
        last_model = model or (self.records[-1].model if self.records else None)
        commit = self.state.repo.head_sha() if status == "satisfied" else None
        return finish(
            draft,
            status=status,
            reason=reason,
            tier=tier,
            model=last_model,
            commit=commit,
            attempts=self.records,
            route=self.route,
        )

    # ------------------------------------------------------------------------------------------------ tier 0

    def _replay(self) -> _Tried | None:
        """Apply changes verified green before for exactly this state; None when there are none or they fail."""
        if not self.state.config.llm.cache_responses:
            return None
        entry = self.verified.get(self.state_key)
        if entry is None:
            return None
        self.route.append("replay: these tests and files were made green before; replaying without a model call")
        self.log.info("route", action="replay", tier="tier0", reason="verified result for this exact state")
        completion = Completion(text="", model=REPLAY_MODEL, input_tokens=0, output_tokens=0, cost_usd=0, duration_s=0)
        tried = self._in_place(REPLAY_MODEL, "tier0", completion, dict(entry.changes))
        self._note(tried.record, outcome="replayed" if tried.green else tried.record.outcome)
        return tried if tried.green else None

    # ------------------------------------------------------------------------------------------------ one round

    def _round(self, tier: TierPlan, feedback: Feedback | None, samples: int, *, repair: bool) -> _Round:
        """Ask the tier for ``samples`` candidates and test them; stops at the first green one."""
        self.observer.tier = tier.name
        models = [self._model_for(name, repair=repair) for name in tier.models]
        messages = self._messages(feedback, tier.models[0])
        if samples == 1:
            model, completion = self.dispatcher.complete(models, messages)
            return _Round([self._tried_in_place(tier, model, completion)])
        return self._sampled_round(tier, models, messages, samples)

    def _model_for(self, name: str, *, repair: bool) -> ResolvedModel:
        """A repair by the same model samples (greedy decoding repeats itself), with a seed that varies per try."""
        model = self.resolve(name)
        retry_temperature = self.state.config.synthesis.retry_temperature
        if repair and retry_temperature > model.temperature:
            seed = (model.seed or 0) + len(self.records) + 1
            model = model.model_copy(update={"temperature": retry_temperature, "seed": seed})
        return model

    def _messages(self, feedback: Feedback | None, model_name: str) -> list[Message]:
        """Show the failed reply to the model that wrote it, or to the next tier when it was nearly right."""
        targets = [SourceFile(path=p, content=read_text(self.state.root / p)) for p in self.state.targets]
        nearly = self.best is not None and self.best.total > 0 and self.best.passed * 2 >= self.best.total
        show = feedback is not None and (feedback.model == model_name or nearly)
        return build_messages(self.state.requirement, self.state.tests, targets, feedback, show_reply=show)

    def _tried_in_place(self, tier: TierPlan, model: ResolvedModel, completion: Completion) -> _Tried:
        self.log.debug("model reply", model=model.name, reply=completion.text[:_LOGGED_REPLY_CHARS])
        try:
            changes = self._changes(completion)
        except EditRejectedError as rejected:
            tried = self._rejected(model.name, tier.name, completion, rejected)
        else:
            tried = self._in_place(model.name, tier.name, completion, changes)
        self._note(tried.record)
        return tried

    def _sampled_round(
        self, tier: TierPlan, models: Sequence[ResolvedModel], messages: list[Message], samples: int
    ) -> _Round:
        """Several candidates, each tested in its own scratch copy; the first green one is applied and committed."""
        temperature = self.state.config.llm.sample_temperature
        answers: list[tuple[ResolvedModel, Completion]] = []
        for index in range(samples):
            sampled = [m.model_copy(update={"temperature": temperature, "seed": (m.seed or 0) + index}) for m in models]
            try:
                answers.append(self.dispatcher.complete(sampled, messages))
            except ModelError:
                if not answers:
                    raise
                break
        self.log.info("candidates", tier=tier.name, count=len(answers))
        round_ = _Round()
        testable: list[tuple[ResolvedModel, Completion, dict[str, str]]] = []
        for model, completion in answers:
            try:
                testable.append((model, completion, self._changes(completion)))
            except EditRejectedError as rejected:
                round_.tried.append(self._noted(self._rejected(model.name, tier.name, completion, rejected)))
        runs = try_all_in_scratch(
            self.state.root,
            [changes for _, _, changes in testable],
            lambda copy: self.state.run_tests("candidate", copy),
            workers=os.cpu_count() or 1,
        )
        for (model, completion, changes), run in zip(testable, runs, strict=True):
            verdict = judge(self.state.baseline, run, self.state.target_tests)
            if verdict.green and round_.green is None:
                round_.tried.append(self._noted(self._in_place(model.name, tier.name, completion, changes)))
                continue
            reason = "another candidate was green first" if verdict.green else verdict.reason
            red = self._red(model.name, tier.name, completion, run, verdict, reason, changes)
            round_.tried.append(self._noted(red))
        return round_

    # ------------------------------------------------------------------------------------------------ candidates

    def _changes(self, completion: Completion) -> dict[str, str]:
        state = self.state
        changes = reply_changes(
            state.root, completion.text, targets=state.targets, tests=state.tests, protected=self.protected
        )
        dirty = state.repo.uncommitted(changes)
        if dirty:
            raise EditRejectedError(
                f"{', '.join(dirty)} has uncommitted changes by the user and must not be edited; change other files."
            )
        return changes

    def _in_place(self, model: str, tier: str, completion: Completion, changes: dict[str, str]) -> _Tried:
        """Apply through the journal, test, and commit when green or restore the exact bytes when not."""
        transaction = EditTransaction(self.state.root, self.state.paths.journal_file)
        _apply(transaction, changes)
        files = sorted(changes)
        try:
            self.log.info("edits applied", files=files)
            run = self.state.run_tests(f"attempt {len(self.records) + 1}", self.state.root)
            verdict = judge(self.state.baseline, run, self.state.target_tests)
        except BaseException:
            transaction.rollback()
            raise
        if not verdict.green:
            restored = transaction.rollback()
            self.log.info("rolled back", reason=verdict.reason, restored=restored)
            return self._red(model, tier, completion, run, verdict, verdict.reason, changes)
        return self._commit(model, tier, completion, transaction, changes, run)

    def _commit(
        self,
        model: str,
        tier: str,
        completion: Completion,
        transaction: EditTransaction,
        changes: dict[str, str],
        run: TestRun,
    ) -> _Tried:
        files = sorted(changes)
        trailers = {"Autodev-Requirement": self.state.requirement.id, "Autodev-Model": completion.model}
        extra = {"files": files, "test_seconds": round(run.duration_s, 3)}
        try:
            sha = self.state.repo.commit_paths(files, f"autodev: {self.state.requirement.title}", trailers)
        except VcsError as error:
            transaction.rollback()
            self.log.error("commit failed; rolled back", error=str(error))
            record = self._record(model, tier, completion, "commit_failed", f"commit failed: {error}", **extra)
            failure = Failure(signature=f"commit failed: {error}", cheap=False, why="the commit failed")
            return _Tried(record, None, failure)
        transaction.finish()
        self.green_run = run
        self.log.info("committed", commit=sha, files=files, model=model, tier=tier)
        if model != REPLAY_MODEL:
            self.verified.put(self.state_key, model, changes)
        return _Tried(self._record(model, tier, completion, "green", f"tests pass; committed {sha[:12]}", **extra))

    def _red(
        self,
        model: str,
        tier: str,
        completion: Completion,
        run: TestRun,
        verdict: Verdict,
        reason: str,
        changes: dict[str, str],
    ) -> _Tried:
        extra = {"files": sorted(changes), "test_seconds": round(run.duration_s, 3)}
        record = self._record(model, tier, completion, "red", reason, **extra)
        summary = failure_summary(run)
        text = f"{verdict.reason}\n{summary}" if summary else verdict.reason
        feedback = Feedback(reply=completion.text, failure=text, model=model)
        return _Tried(record, feedback, describe_failure(run, None, self._target_count()))

    def _rejected(self, model: str, tier: str, completion: Completion, rejected: EditRejectedError) -> _Tried:
        record = self._record(model, tier, completion, "rejected", str(rejected))
        feedback = Feedback(reply=completion.text, failure=str(rejected), model=model)
        return _Tried(record, feedback, describe_failure(None, str(rejected), self._target_count()))

    def _record(
        self, model: str, tier: str, completion: Completion, outcome: AttemptOutcome, reason: str, **extra: Any
    ) -> AttemptRecord:
        record = AttemptRecord(
            number=len(self.records) + 1,
            requirement=self.state.requirement.id,
            model=model,
            tier=tier,
            outcome=outcome,
            reason=reason,
            cached=completion.cached,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=completion.cost_usd,
            model_seconds=round(completion.duration_s, 3),
            **extra,
        )
        self.records.append(record)
        self.log.info("attempt", number=record.number, tier=tier, model=model, outcome=outcome, reason=reason)
        return record

    def _target_count(self) -> int:
        targets = self.state.target_tests
        return len(targets) if targets is not None else len(self.state.baseline.outcomes)

    def _noted(self, tried: _Tried) -> _Tried:
        self._note(tried.record)
        return tried

    def _note(self, record: AttemptRecord, outcome: str | None = None) -> None:
        """One metrics line per candidate, with the outcome the tests gave it."""
        kind = outcome or {"green": "green", "red": "red", "rejected": "rejected"}.get(record.outcome, "error")
        self.metrics.append(
            CallEvent(
                at=time.time(),
                requirement=self.state.requirement.id,
                size_class=self.size,
                tier=record.tier,
                model=record.model,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cost_usd=record.cost_usd,
                cached=record.cached,
                duration_s=record.model_seconds,
                outcome=kind,
            )
        )


def _apply(transaction: EditTransaction, changes: dict[str, str]) -> None:
    """Write through the journal; a failing disk ends the pass (it is not the model's fault) with nothing changed."""
    try:
        transaction.apply({path: text.encode("utf-8") for path, text in changes.items()})
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkspaceWriteError(
            f"could not write {', '.join(sorted(changes))}: {reason}; every file is as it was"
        ) from exc
