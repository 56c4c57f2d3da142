"""Who answers a step: its own ``model`` or ``tier``, else its role's (``[roles.NAME]``, else the built-in default),
else the cheapest tier; and the instructions the role adds to the system message.

A role's ``prompt_file`` is read when the step runs (edit it between runs and the next run uses it); a missing or
unreadable one is a WorkflowError naming the role and the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from autodev.config import Config
from autodev.roles import HIGHEST_TIER_ROLES, default_tier, role_instructions
from autodev.workflow_model import WorkflowStep


@dataclass(frozen=True)
class Choice:
    """The model or tier to ask (neither: the cheapest tier), the role's instructions, and the choice in words."""

    model: str | None
    tier: str | None
    system: str | None
    words: str


def choose(step: WorkflowStep, config: Config, tiers: Sequence[str]) -> Choice:
    """The choice for ``step`` among ``tiers`` (cheapest first; empty for a dry run, which names no tier).

    A fan-out step (``models``) asks each of its models; its role, if any, still gives the instructions and
    answers the merge.
    """
    single = _single(step, config, tiers)
    if not step.models:
        return single
    merger = single.words if step.role else step.models[0]
    merging = f"; {merger} merges" if step.combine == "merge" else ""
    return replace(single, words=f"models {', '.join(step.models)}, {step.combine}{merging}")


def _single(step: WorkflowStep, config: Config, tiers: Sequence[str]) -> Choice:
    if step.model:
        return Choice(model=step.model, tier=None, system=None, words=f"model {step.model}")
    if step.tier:
        return Choice(model=None, tier=step.tier, system=None, words=f"tier {step.tier}")
    if step.role is None:
        cheapest = tiers[0] if tiers else None
        return Choice(model=None, tier=cheapest, system=None, words=f"the cheapest tier{_named(cheapest)}")
    role = config.roles.get(step.role)
    system = role_instructions(step.role, role.prompt_file if role else None)
    if role is not None and role.model:
        return Choice(model=role.model, tier=None, system=system, words=f"role {step.role}: model {role.model}")
    if role is not None and role.tier:
        return Choice(model=None, tier=role.tier, system=system, words=f"role {step.role}: tier {role.tier}")
    tier = default_tier(step.role, tiers)
    which = "highest" if step.role in HIGHEST_TIER_ROLES else "cheapest"
    return Choice(model=None, tier=tier, system=system, words=f"role {step.role}: the {which} tier{_named(tier)}")


def _named(tier: str | None) -> str:
    return f" ({tier})" if tier else ""
