"""The messages of a round: the requirement, its tests, the target files as they are now, and maybe the failure."""

from __future__ import annotations

from collections.abc import Sequence

from autodev.core.assignment import Assignment
from autodev.core.candidate import read_text
from autodev.core.tried import Tried
from autodev.llm.client import Message
from autodev.route import Failure, TierPlan
from autodev.synth.context import Feedback, SourceFile, build_messages, file_request, offers_search_replace
from autodev.synth.memory_prompt import MemorySection, memory_budget, memory_section
from autodev.synth.merge_prompt import MergeCandidate, merge_messages
from autodev.synth.reply_bound import reply_token_bound


def round_messages(
    assignment: Assignment,
    feedback: Feedback | None,
    best: Failure | None,
    tier: TierPlan,
    *,
    memory: str = "",
) -> list[Message]:
    """The first prompt with the best failure so far in it; with ``fix_nearly_right``, its code when it was nearly
    right.

    Measured (benchmarks/results/solve-rate/): shown its own failed reply, a small model sends it back character
    for character, even when sampling. So a failure is told in a fresh prompt. With ``fix_nearly_right`` a
    candidate that passed at least half the tests stands there as the current file to correct, its failures below
    it (off by default: the small models of the bundled ladder corrected none of ten such drafts, and made one
    worse). With ``repair_shows_reply`` the reply is shown as the model's own turn instead, to the model that wrote
    it or, when it was nearly right, to the next tier.

    ``memory`` is the project memory this tier may carry (:func:`memory_for`), the same for every round of it;
    whether the model is asked to explain first is the tier's setting (``explain_first``).
    """
    synthesis, model_name = assignment.config.synthesis, tier.models[0]
    targets = _targets(assignment)
    nearly = best is not None and best.total > 0 and best.passed * 2 >= best.total
    show = synthesis.repair_shows_reply and feedback is not None and (feedback.model == model_name or nearly)
    draft = nearly and not synthesis.repair_shows_reply and synthesis.fix_nearly_right and _drafted(feedback, targets)
    return build_messages(assignment.requirement, assignment.tests, targets, feedback, show_reply=show,
                          show_draft=draft, memory=memory, explain=synthesis.explains(tier.name))  # fmt: skip


def _drafted(feedback: Feedback | None, targets: Sequence[SourceFile]) -> bool:
    """Whether the failed attempt's files can stand in for the targets: it wrote only targets, each in whole-file
    form (a long target invites SEARCH/REPLACE blocks, which would be applied to the real file, not the draft)."""
    if feedback is None or not feedback.files:
        return False
    paths = {target.path for target in targets}
    return set(feedback.files) <= paths and not offers_search_replace(targets)


def files_request_messages(assignment: Assignment, messages: Sequence[Message], reply: str) -> list[Message]:
    """The round's messages, the model's reply of prose alone, and the request for the files it explained."""
    request = file_request(_targets(assignment))
    return [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": request}]


def merge_round_messages(assignment: Assignment, candidates: Sequence[Tried], *, memory: str = "") -> list[Message]:
    """The merge attempt's prompt: the red candidates (A, B) with the target tests each passes and fails."""
    wanted = set(assignment.target_tests) if assignment.target_tests is not None else None
    shown = [
        MergeCandidate(
            label=chr(ord("A") + index),
            passes=sorted(t for t in tried.passed if wanted is None or t in wanted),
            fails=sorted(t for t in tried.failing if wanted is None or t in wanted),
            files=[SourceFile(path=path, content=text) for path, text in sorted(tried.changes.items())],
        )
        for index, tried in enumerate(candidates)
    ]
    return merge_messages(assignment.requirement, assignment.tests, _targets(assignment), shown, memory=memory)


def memory_for(assignment: Assignment, tier: str, *, served_locally: bool) -> MemorySection:
    """The memory that applies to the assignment's target files, within the tier's budget."""
    budget = memory_budget(assignment.config.context, tier, served_locally=served_locally)
    return memory_section(assignment.memory, assignment.targets, budget)


def reply_tokens(assignment: Assignment) -> int:
    """The longest reply worth waiting for from a local model (:func:`~autodev.synth.reply_bound.reply_token_bound`)."""
    return reply_token_bound(_targets(assignment))


def _targets(assignment: Assignment) -> list[SourceFile]:
    return [SourceFile(path=p, content=read_text(assignment.root / p)) for p in assignment.targets]
