"""The record of one model call, and the records derived from it.

A call's facts (which model at which tier, tokens, cost, seconds, whether the cache answered) are defined once, in
:class:`CallFacts`. The attempt record of a pass (`autodev run --once --json`), the metrics line
(``.autodev/metrics.jsonl``) and the benchmark's call record all extend it, so the same fact has the same name
everywhere. :class:`autodev.core.attempts.AttemptLog` is the only writer of attempt records and metrics events.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

AttemptOutcome = Literal["green", "red", "rejected", "commit_failed"]
Outcome = Literal["green", "red", "rejected", "error", "replayed"]  # a metrics event's outcome
CODER = "coder"  # the role of a pass's candidates; every other role's call (reviewer, ask, ...) is only counted


class CallFacts(BaseModel):
    """What one model call (or a replay, which costs nothing) was and what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    tier: str = ""
    cached: bool = False  # answered by the response cache: no request was made
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    model_seconds: float = 0.0


class AttemptRecord(CallFacts):
    """One candidate (a model call or a replay) and what the tests made of it."""

    number: int
    outcome: AttemptOutcome
    reason: str
    requirement: str = ""
    files: list[str] = Field(default_factory=list)
    test_seconds: float = 0.0


class RoleCall(CallFacts):
    """A call a pass made for a role other than the coder's (the architect's plan): no candidate, but it cost."""

    role: str


class CallEvent(CallFacts):
    """One line of the metrics: a candidate's call (``kind="call"``), an escalation to ``to_tier``, or a merge
    round decided at ``tier`` (``kind="merge"``: two red candidates given to one call; its call is a line too).

    ``role`` says who made a call: ``"coder"`` for a pass's candidates (the only lines whose outcome is a solve),
    else the role that asked (``"reviewer"``, ``"architect"``, ``"ask"``, ``"chat"``, a workflow step's role);
    their outcome is None (``"error"`` for a failed request) and never counts as a solve, and ``requirement`` is
    the requirement or the scope they were made for (``"ask"``, ``"workflow NAME/STEP"``). Lines written before
    roles were recorded are the coder's.
    ``model_seconds`` was written as ``duration_s`` before the records shared their names; old lines still read.
    """

    kind: Literal["call", "escalation", "merge"] = "call"
    role: str = CODER
    at: float  # unix time
    requirement: str
    size_class: str = ""
    tier: str
    litellm_model: str = ""
    model_seconds: float = Field(default=0.0, validation_alias=AliasChoices("model_seconds", "duration_s"))
    outcome: Outcome | None = None
    to_tier: str | None = None
    reason: str = ""


class EventSink(Protocol):
    """Where metrics events go (``autodev.route.metrics.MetricsStore``); a list's ``append`` will do in tests."""

    def append(self, event: CallEvent) -> None: ...
