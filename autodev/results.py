"""What a pass reports: per requirement its attempts and outcome, and the pass as a whole.

The pass-level fields (``attempts``, ``commit``, ``model``, ``tier``, ``route``) are computed from the requirements
so that scripts reading `autodev run --once --json` for a one-requirement project see what they always saw.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from autodev.records import AttemptRecord, RoleCall

PassStatus = Literal["satisfied", "failed", "blocked"]
RequirementStatus = Literal["satisfied", "failed", "blocked", "unverified", "removed"]


class RequirementResult(BaseModel):
    """What the pass did for one requirement."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str
    title: str
    status: RequirementStatus
    reason: str
    already_satisfied: bool = False
    commit: str | None = None
    model: str | None = None
    tier: str | None = None
    targets: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)
    attempts: list[AttemptRecord] = Field(default_factory=list)
    route: list[str] = Field(default_factory=list)  # every routing decision with its reason, in order
    role_calls: list[RoleCall] = Field(default_factory=list)  # the architect's plan: calls that are no attempt
    duration_s: float = 0.0

    @property
    def cost_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts) + sum(call.cost_usd for call in self.role_calls)


class PassResult(BaseModel):
    """One pass over every requirement: satisfied only when every requirement is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: PassStatus
    reason: str
    requirements: list[RequirementResult] = Field(default_factory=list)
    recovered: list[str] = Field(default_factory=list)
    baseline_seconds: float = 0.0
    duration_s: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def attempts(self) -> list[AttemptRecord]:
        return [attempt for result in self.requirements for attempt in result.attempts]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def commit(self) -> str | None:
        return next((r.commit for r in reversed(self.requirements) if r.commit), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def model(self) -> str | None:
        return next((r.model for r in reversed(self.requirements) if r.model), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tier(self) -> str | None:
        return next((r.tier for r in reversed(self.requirements) if r.tier), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def route(self) -> list[str]:
        return [line for result in self.requirements for line in result.route]

    @property
    def cost_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts)


def finish(draft: RequirementResult, **update: Any) -> RequirementResult:
    """A copy of the result with some fields set, validated again (model_copy alone would not check them)."""
    return RequirementResult.model_validate(draft.model_dump() | update)


def single(result: RequirementResult, **fields: Any) -> PassResult:
    """A pass of one requirement (the loop's fakes and simple callers)."""
    status = result.status if result.status in ("satisfied", "blocked") else "failed"
    return PassResult(status=status, reason=result.reason, requirements=[result], **fields)
