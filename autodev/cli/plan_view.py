"""`autodev status REQ --plan`: the architect's plan of a requirement and how far its increments got (pure text)."""

from __future__ import annotations

from autodev.increments import IncrementPlan
from autodev.spec.model import Requirement

NO_PLAN = (
    "{id} has no plan: the architect plans a requirement whose spec says Plan: yes, and a large one "
    "([planning] min_files, min_failing_tests) when [roles.architect] is set"
)
_MARKS = {"done": "done", "failed": "FAILED", "pending": "to do"}


def plan_lines(requirement: Requirement, plan: IncrementPlan) -> list[str]:
    count = len(plan.increments)
    done = sum(increment.status == "done" for increment in plan.increments)
    lines = [f"{requirement.id} ({requirement.title}): planned by {plan.model} on {plan.created}, "
             f"{done} of {count} increment(s) done"]  # fmt: skip
    if plan.content_hash != requirement.content_hash:
        lines.append("  the requirement changed since: the next pass plans it again")
    if plan.files:
        lines.append("  files:")
        lines += [f"    {path}: {interface}" if interface else f"    {path}" for path, interface in plan.files.items()]
    for number, increment in enumerate(plan.increments, 1):
        commit = f" {increment.commit[:7]}" if increment.commit else ""
        lines.append(f"  {number}. [{_MARKS[increment.status]}{commit}] {increment.title}")
        if increment.files:
            lines.append(f"     files: {', '.join(increment.files)}")
        lines.append(f"     tests: {', '.join(test.split('::')[-1] for test in increment.tests)}")
        if increment.status == "failed" and increment.reason:
            lines.append(f"     why: {increment.reason.splitlines()[0][:200]}")
    return lines
