"""The words for each step of a pass: what a person reads on the console, one line a step (pure functions).

Lines under a requirement are indented, so a pass over many requirements reads as an outline. Test IDs and file
names are shown as they are, never as Python reprs.
"""

from __future__ import annotations

from autodev.progress import (
    Committed,
    Decided,
    ModelAnswered,
    ModelAsked,
    ModelFailed,
    RequirementFinished,
    RequirementStarted,
    RolledBack,
    Step,
    TestsFinished,
)

INDENT = "  "
_SHOWN_FAILING = 3
_ESCALATIONS = {
    "escalate": "escalating to {tier}: {reason}",
    "repair": "repair at {tier}: {reason}",
    "merge": "{reason}",
    "choose": "chose {reason}",
    "replay": "replaying a change verified for this exact state ({tier}, no model call)",
    "skip": "skipped: {reason}",
    "plan": "plan: {reason}",
    "increment": "{reason}",
}
Mark = str  # "ok", "bad", "warn" or "": how the line may be coloured


def step_line(step: Step, *, started: bool) -> tuple[str, Mark] | None:
    """The line for ``step`` and its mark, or None for steps shown only in the live status (or not at all).

    ``started``: whether the step's requirement was announced (a requirement refused without work was not).
    """
    if isinstance(step, RequirementStarted):
        return requirement_line(step), ""
    if isinstance(step, ModelAsked):
        return f"{INDENT}asking {step.model} ({step.tier})", ""
    if isinstance(step, ModelAnswered):
        if step.cached:
            return f"{INDENT}{step.model} answered from the response cache", ""
        return f"{INDENT}{step.model} answered: {step.output_tokens} tokens in {step.seconds:.1f} s", ""
    if isinstance(step, ModelFailed):
        return f"{INDENT}{step.model} failed: {first_line(step.error)}", "warn"
    if isinstance(step, TestsFinished):
        return tests_line(step)
    if isinstance(step, Committed):
        return f"{INDENT}committed {step.sha[:7]}: {', '.join(step.files)}", "ok"
    if isinstance(step, RolledBack) and not step.interrupted:
        files = ", ".join(step.files) or "nothing to restore"
        return f"{INDENT}rolled back ({files}): {first_line(step.reason)}", "warn"
    if isinstance(step, Decided):
        return decided_line(step)
    if isinstance(step, RequirementFinished):
        return finished_line(step, started=started)
    return None


def requirement_line(step: RequirementStarted) -> str:
    failing = list(step.failing)
    if failing == ["the test suite"]:
        what = "the test suite fails"
    else:
        shown = ", ".join(failing[:_SHOWN_FAILING]) + (f" and {len(failing) - _SHOWN_FAILING} more" if
                                                       len(failing) > _SHOWN_FAILING else "")  # fmt: skip
        what = f"{len(failing)} test(s) fail: {shown}"
    targets = f"; writing {', '.join(step.targets)}" if step.targets else ""
    return f"{step.requirement} ({step.title}): {what}{targets}"


def tests_line(step: TestsFinished) -> tuple[str, Mark]:
    """The baseline (before any change) is the pass's, not a requirement's: it is not indented."""
    name = "tests before any change" if step.label == "baseline" else f"{INDENT}tests ({step.label})"
    if step.timed_out:
        return f"{name}: timed out after {step.seconds:.1f} s", "bad"
    mark = "ok" if step.failing == 0 and step.passed else ""
    return f"{name}: {step.passed} passed, {step.failing} failing ({step.seconds:.1f} s)", mark


def decided_line(step: Decided) -> tuple[str, Mark] | None:
    template = _ESCALATIONS.get(step.action)
    if template is None:  # a first attempt (the model's line says which tier) or a stop (the end says why)
        return None
    return INDENT + template.format(tier=step.tier, reason=first_line(step.reason)), ""


def finished_line(step: RequirementFinished, *, started: bool) -> tuple[str, Mark] | None:
    """Only what no other line said: a requirement settled without work, or a climb that ended short of green."""
    if started and step.status == "satisfied":
        return None
    mark = "ok" if step.status == "satisfied" else "bad"
    text = f"{step.status}: {first_line(step.reason)}"
    return (f"{INDENT}{text}" if started else f"{step.requirement}: {text}"), mark


def first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
