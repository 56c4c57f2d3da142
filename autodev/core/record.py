"""Step 4 of a pass: the ledger written, and the pass's result from its requirements'."""

from __future__ import annotations

from collections.abc import Sequence

from autodev.ledger import Ledger, LedgerEntry, entry_after, save_ledger
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.results import PassResult, PassStatus, RequirementResult
from autodev.spec.model import Requirement
from autodev.verify.runner import TestRun
from autodev.verify.verdict import failing_tests


def save(
    paths: ProjectPaths,
    ledger: Ledger,
    requirements: Sequence[Requirement],
    results: Sequence[RequirementResult],
    final: TestRun,
) -> None:
    """Each requirement's entry after the pass, with how many of its tests pass now; an unwritable file is logged."""
    by_id = {r.id: r for r in requirements}
    entries = dict(ledger.entries)
    for result in results:
        previous = entries.get(result.requirement)
        entry = entry_after(by_id.get(result.requirement), result, previous)
        passing = len(entry.tests) - len(failing_tests(entry.tests, final))
        entries[result.requirement] = entry.model_copy(update={"passing": passing})
    try:
        save_ledger(paths.ledger_file, Ledger(entries=entries))
    except OSError as error:
        get_logger().error("ledger not written", error=str(error))


def removed(entry: LedgerEntry) -> RequirementResult:
    reason = "removed from the specs; its code and commits are left as they are"
    return RequirementResult(requirement=entry.id, title=entry.title, status="removed", reason=reason)


def aggregate(results: Sequence[RequirementResult], recovered: list[str], baseline: TestRun) -> PassResult:
    """Satisfied only when every requirement is; otherwise the first that is not says why."""
    live = [r for r in results if r.status != "removed"]
    open_items = [r for r in live if r.status != "satisfied"]
    if not live:
        status: PassStatus = "failed"
        reason = "no requirement found in the specs"
    elif not open_items:
        status, reason = "satisfied", _satisfied_reason(live)
    else:
        first = open_items[0]
        status = "blocked" if all(r.status == "blocked" for r in open_items) else "failed"
        more = f" (and {len(open_items) - 1} more)" if len(open_items) > 1 else ""
        reason = f"{first.requirement} {first.status}: {first.reason}{more}" if len(live) > 1 else first.reason
    return PassResult(
        status=status,
        reason=reason,
        requirements=list(results),
        recovered=recovered,
        baseline_seconds=round(baseline.duration_s, 3),
    )


def _satisfied_reason(results: Sequence[RequirementResult]) -> str:
    if len(results) == 1:
        only = results[0]
        return "all tests already pass" if only.already_satisfied else only.reason
    built = sum(1 for r in results if r.commit)
    return f"all {len(results)} requirements satisfied ({built} built in this pass)"
