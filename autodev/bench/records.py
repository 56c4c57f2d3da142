"""What a benchmark run records, per exercise and in total: the data of results.jsonl and summary.json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autodev.records import CODER, AttemptRecord, CallFacts, RoleCall

ExerciseStatus = Literal["satisfied", "failed", "blocked", "error", "timeout"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallRecord(CallFacts):
    """One call of the pass: a candidate (a model answer or a replay) with its outcome, or a call made for another
    role (the architect's plan: ``role`` says which, ``outcome`` is "plan")."""

    outcome: str
    role: str = CODER

    @classmethod
    def of(cls, attempt: AttemptRecord) -> CallRecord:
        return cls(**attempt.model_dump(include=set(CallFacts.model_fields)), outcome=attempt.outcome)

    @classmethod
    def of_role(cls, call: RoleCall, outcome: str = "plan") -> CallRecord:
        return cls(**call.model_dump(include=set(CallFacts.model_fields)), outcome=outcome, role=call.role)


class ExerciseResult(_Record):
    """One exercise under one strategy. ``passed`` is the harness's verdict (the original tests, run again)."""

    exercise: str
    strategy: str
    passed: bool
    language: str = "python"  # the exercise's track: python, javascript, rust
    status: ExerciseStatus
    reason: str = ""
    attempts: int = 0
    solved_by_tier: str | None = None
    solved_by_model: str | None = None
    calls: list[CallRecord] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_seconds: float = 0.0
    test_seconds: float = 0.0
    own_seconds: float = 0.0  # wall time outside model calls and test runs: autodev itself
    wall_seconds: float = 0.0
    # --oracle: the example solution copied into place passes the tests (None: not checked, another mode)
    reference_passed: bool | None = None
    reference_seconds: float = 0.0  # that check alone (0 when the pass itself delivered and passed the example)
    reference_failure: str = ""  # why the example failed (the runner's first error line)
    tests_mode: str = "visible"  # --tests: the exercise's tests visible, generated from the spec, or none
    generated_tests: int = 0  # --tests generated: the tester's tests kept
    refused_tests: dict[str, int] = Field(default_factory=dict)  # and those refused, by reason
    generated_text: str = ""  # and the file of the kept ones, to read what judged the pass


class SkippedExercise(_Record):
    """An exercise directory the harness could not use (missing config, missing test file), and why."""

    exercise: str
    reason: str


class RunInfo(_Record):
    """How the results were produced, so that anyone can run the same thing again."""

    command: str
    commit: str | None = None
    machine: str = ""
    started: str = ""  # ISO 8601, UTC
    mode: Literal["models", "oracle", "simulate"] = "models"
    seed: int | None = None
    simulate: str | None = None
    tries: int = 3
    timeout_s: float = 600.0
    exercises_dir: str = ""
    setup: str = ""  # the shared test runners: the JavaScript install (made now, or reused offline), Cargo's target


class TierUse(_Record):
    calls: int = 0
    solved: int = 0
    cost_usd: float = 0.0


class LanguageTotal(_Record):
    """One strategy's exercises of one language (track): how many ran, how many passed, their wall time."""

    exercises: int = 0
    solved: int = 0
    wall_seconds: float = 0.0
    reference_passed: int | None = None  # --oracle: examples that pass when copied into place
    reference_seconds: float = 0.0


class StrategySummary(_Record):
    """Totals for one strategy over the exercises it ran."""

    strategy: str
    exercises: int
    solved: int
    solve_rate: float
    cost_usd: float
    cost_per_solved_usd: float | None
    tokens: int
    tokens_per_solved: float | None
    calls: int
    wall_seconds: float
    model_seconds: float
    test_seconds: float
    own_seconds: float
    own_share: float  # own_seconds / wall_seconds: autodev's overhead
    by_tier: dict[str, TierUse] = Field(default_factory=dict)
    by_language: dict[str, LanguageTotal] = Field(default_factory=dict)


class BaselineRatio(_Record):
    """The first strategy (the cascade) against another one measured in the same run."""

    strategy: str
    baseline: str
    cost_ratio: float | None  # strategy cost / baseline cost
    solve_rate_delta: float  # strategy solve rate - baseline solve rate
    wall_ratio: float | None


class BenchSummary(_Record):
    run: RunInfo
    strategies: list[StrategySummary]
    ratios: list[BaselineRatio] = Field(default_factory=list)
    skipped: list[SkippedExercise] = Field(default_factory=list)
