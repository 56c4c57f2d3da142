"""The built-in roles (architect, coder, reviewer, tester): their instructions, which tier answers for each when
``[roles.NAME]`` does not say, and a role's ``prompt_file`` read when it is needed.

Workflow steps (autodev.workflow.roles) and a pass's reviewer (autodev.core.review) both read roles from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autodev.errors import ConfigError

TESTER = "tester"  # the role that writes tests for acceptance criteria (autodev tests gen, test_first)

ROLE_PROMPTS = {
    "architect": (
        "You are the architect of a software project. You plan before anything is written: which files change, "
        "the interface of each (names, signatures, what they return or raise), and the order of small "
        "increments, each with the tests that prove it. Be concrete and brief. Write no implementation code."
    ),
    "coder": (
        "You are a careful programmer. Write complete, working code that does what is asked, in the style of the "
        "code around it, and nothing the task does not ask for."
    ),
    "reviewer": (
        "You are a code reviewer. Read the change against what it is for. Report real problems only: bugs, "
        "behaviour the specification asks for that is missing or removed, code that special-cases the tests' "
        "inputs instead of implementing the rule, edits unrelated to the task, missing tests. For each finding "
        "give the file, the function or line, what is wrong and how to fix it, the most serious first. End with "
        "one line, VERDICT: approve or VERDICT: reject."
    ),
    "tester": (
        "You write tests. From a specification, write pytest tests that check each stated behaviour and its edge "
        "cases, with concrete expected values taken from the specification, never from an implementation."
    ),
}

# Roles without a [roles.NAME] entry: the architect and the reviewer answer with the highest tier (a plan and a
# judgement are worth the better model), the others with the cheapest, as `autodev ask` does.
HIGHEST_TIER_ROLES = frozenset({"architect", "reviewer"})


def default_tier(role: str, tiers: Sequence[str]) -> str | None:
    """The tier that answers for ``role`` when ``[roles.NAME]`` names none: of ``tiers`` (cheapest first), the
    highest for the architect and the reviewer, the cheapest for the others; None without tiers."""
    if not tiers:
        return None
    return tiers[-1] if role in HIGHEST_TIER_ROLES else tiers[0]


def role_instructions(role: str, prompt_file: str | None) -> str | None:
    """The role's instructions: its ``prompt_file``'s text, read now, else the built-in role's own (else none)."""
    if prompt_file is None:
        return ROLE_PROMPTS.get(role)
    try:
        return Path(prompt_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            "autodev.toml",
            f"roles.{role}.prompt_file",
            f"{prompt_file} cannot be read ({error}); fix the path (relative to the autodev.toml that sets it) "
            "or remove the key for the built-in instructions",
        ) from None
