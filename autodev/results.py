"""What a pass reports: its attempts and its outcome, for the CLI's summary, `--json`, the loop and the log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PassStatus = Literal["satisfied", "failed", "blocked"]
AttemptOutcome = Literal["green", "red", "rejected", "commit_failed"]


class AttemptRecord(BaseModel):
    """One candidate (a model call or a replay) and what became of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    model: str
    outcome: AttemptOutcome
    reason: str
    tier: str = ""
    cached: bool = False
    files: list[str] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_seconds: float = 0.0
    test_seconds: float = 0.0


class PassResult(BaseModel):
    """What one pass did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str
    title: str
    status: PassStatus
    reason: str
    already_satisfied: bool = False
    commit: str | None = None
    model: str | None = None
    tier: str | None = None
    targets: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)
    attempts: list[AttemptRecord] = Field(default_factory=list)
    route: list[str] = Field(default_factory=list)  # every routing decision with its reason, in order
    recovered: list[str] = Field(default_factory=list)
    baseline_seconds: float = 0.0
    duration_s: float = 0.0

    @property
    def cost_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts)


def finish(draft: PassResult, **update: Any) -> PassResult:
    """A copy of the result with some fields set, validated again (model_copy alone would not check them)."""
    return PassResult.model_validate(draft.model_dump() | update)
