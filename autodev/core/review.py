"""The reviewer inside a pass: a green change read with its requirement before it is committed.

On only when ``[roles.reviewer]`` is configured (and its ``passes`` is not false): a pass without it behaves as
before. The reviewer is asked through the requirement's tier caller (budget, cache, retries, fallbacks), with the
role's instructions, the requirement's text and the change as a diff. Its reply ends with ``VERDICT: approve`` or
``VERDICT: reject``, the reasons above it; a reply without a verdict line counts as approve and is logged as such.
A rejection makes the attempt red with the reviewer's reasons, which the next attempt's prompt shows; a reviewer
that gives no answer leaves the change uncommitted (the gate fails closed), with the reason. Its call is a
metrics line of its own, with role "reviewer" (written by the attempt log with the attempt it reviewed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from autodev.config import Config
from autodev.core.role_tier import role_tier
from autodev.errors import ModelError
from autodev.llm.client import Completion, Message
from autodev.logs import get_logger
from autodev.roles import role_instructions
from autodev.route import TierCaller, TierPlan
from autodev.spec.model import Requirement
from autodev.synth.context import fence
from autodev.synth.diff import unified_diff

REVIEWER = "reviewer"
_VERDICT = re.compile(
    r"^[\s*_#>`-]*verdict[\s*_`]*:[\s*_`]*(approve|reject)\w*[\s*_.`]*$", re.IGNORECASE | re.MULTILINE
)
MAX_REASONS_CHARS = 1500  # what the next attempt's prompt shows of a rejection


@dataclass(frozen=True)
class Review:
    """What the reviewer said of one change: approved or not, its reasons, and the call it cost."""

    approved: bool
    reasons: str
    said: str  # "approve", "reject", or that the reply had no verdict line
    model: str
    completion: Completion | None = None
    tier: str = ""  # the tier it was asked at ("reviewer" for [roles.reviewer] model)


def read_verdict(text: str) -> tuple[bool, str, str]:
    """(approved, the reasons above the verdict line, what was said): the last verdict line decides."""
    found = list(_VERDICT.finditer(text))
    if not found:
        return True, text.strip(), "no verdict line (counted as approve)"
    last = found[-1]
    verdict = last.group(1).lower()
    return verdict == "approve", text[: last.start()].strip(), verdict


def review_messages(requirement: Requirement, diff: str, system: str | None) -> list[Message]:
    task = (
        f"The requirement ({requirement.source}):\n{requirement.text.strip()}\n\n"
        f"The change, which passes the tests:\n{fence(diff, 'diff')}\n\n"
        "Review the change against the requirement. Reject it for code that special-cases the tests' inputs "
        "instead of implementing the rule, for behaviour the requirement asks for that is missing or removed, "
        "or for edits unrelated to it; give each reason on its own line. End with one line, VERDICT: approve or "
        "VERDICT: reject."
    )
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": task})
    return messages


class PassReviewer:
    """Asks the configured reviewer about each green change of one requirement's climb."""

    def __init__(self, caller: TierCaller, tier: TierPlan, system: str | None) -> None:
        self.caller, self.tier, self.system = caller, tier, system
        self.logger = get_logger()

    @classmethod
    def configured(cls, config: Config, caller: TierCaller) -> PassReviewer | None:
        """The reviewer ``[roles.reviewer]`` asks for (its model, its tier, else the highest), or None."""
        role = config.roles.get(REVIEWER)
        tier = role_tier(config, REVIEWER, caller.tiers) if role is not None and role.passes else None
        if role is None or tier is None:
            return None
        return cls(caller, tier, role_instructions(REVIEWER, role.prompt_file))

    def review(self, requirement: Requirement, changes: Mapping[str, str], before: Mapping[str, str | None]) -> Review:
        messages = review_messages(requirement, unified_diff(changes, before), self.system)
        try:
            model, completion = self.caller.ask(self.tier, messages, repair=False, attempt=0, role=REVIEWER)
        except ModelError as error:
            reason = f"the reviewer gave no answer ({error}); the change was not committed"
            self.logger.warning("not reviewed", requirement=requirement.id, reason=reason)
            return Review(
                approved=False, reasons=reason, said="no answer", model=self.tier.models[0], tier=self.tier.name
            )
        approved, reasons, said = read_verdict(completion.text)
        self.logger.info("reviewed", requirement=requirement.id, model=model.name, verdict=said,
                         reasons=reasons[:MAX_REASONS_CHARS])  # fmt: skip
        return Review(approved, reasons[:MAX_REASONS_CHARS], said, model.name, completion, self.tier.name)
