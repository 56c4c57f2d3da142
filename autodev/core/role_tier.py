"""Which tier answers for a role inside a pass: ``[roles.NAME]``'s model, its tier, else the role's default."""

from __future__ import annotations

from autodev.config import Config
from autodev.roles import default_tier
from autodev.route import TierPlan


def role_tier(config: Config, role: str, tiers: list[TierPlan]) -> TierPlan | None:
    """The role's tier (a model of its own is a one-model tier named after the role); None without tiers.

    A ``tier`` that names no planned tier falls back to the role's default, as an unconfigured tier of
    ``[llm.tiers]`` would (the configuration check has already named any that is misspelt).
    """
    if not tiers:
        return None
    configured = config.roles.get(role)
    if configured is not None and configured.model:
        return TierPlan(name=role, models=[configured.model])
    names = [tier.name for tier in tiers]
    wanted = configured.tier if configured is not None and configured.tier in names else None
    wanted = wanted or default_tier(role, names)
    return next((tier for tier in tiers if tier.name == wanted), tiers[-1])
