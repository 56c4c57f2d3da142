"""The metrics lines of the calls made for one requirement (or one scope: ``"ask"``, a workflow's step).

Every line of ``.autodev/metrics.jsonl`` is written through a :class:`CallLog`, so its labels (role, requirement,
size class, time) are set in one place: the pass's attempt log (``autodev.core.attempts.AttemptLog``) extends it
with the attempt records, and `autodev ask`, `chat` and the workflow steps write their calls with it directly
(``autodev.ask.session``). Light on purpose: nothing here imports the model client.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from autodev.records import CODER, CallEvent, CallFacts, EventSink, Outcome

if TYPE_CHECKING:
    from autodev.errors import ModelError
    from autodev.llm.client import Completion
    from autodev.llm.models import ResolvedModel


def call_facts(model: str, tier: str, completion: Completion | None) -> CallFacts:
    """A call's facts from its completion; a replay has none and costs nothing."""
    if completion is None:
        return CallFacts(model=model, tier=tier)
    return CallFacts(
        model=model,
        tier=tier,
        cached=completion.cached,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cost_usd=completion.cost_usd,
        model_seconds=round(completion.duration_s, 3),
    )


class CallLog:
    """Writes the metrics lines of one requirement's (or scope's) calls; ``size`` labels them with a size class."""

    def __init__(self, requirement: str, metrics: EventSink) -> None:
        self.requirement = requirement
        self.metrics = metrics
        self.size = ""

    def role_call(self, role: str, facts: CallFacts, *, outcome: Outcome | None = None, reason: str = "") -> None:
        """One call made for ``role`` (not a pass's candidate: no attempt record, never a solve), a line of its own.

        A reply from the response cache is a line with ``cached`` set, as for a candidate (no tokens spent).
        """
        self._append(facts, role=role, outcome=outcome, reason=reason)

    def call_failed(self, tier: str, model: ResolvedModel, error: ModelError, role: str = CODER) -> None:
        """A request that got no answer: it says nothing about solving, but it shows in `autodev metrics`, under the
        role that made it (the router's caller says which)."""
        facts = CallFacts(model=model.name, tier=tier)
        self._append(facts, role=role, outcome="error", litellm_model=model.litellm_model, reason=str(error))

    def _append(self, facts: CallFacts, **fields: object) -> None:
        event = CallEvent.model_validate(
            facts.model_dump() | {"at": time.time(), "requirement": self.requirement, "size_class": self.size} | fields
        )
        self.metrics.append(event)
