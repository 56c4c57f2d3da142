"""Two test runs compared: did the second get worse? The one decision behind `ask --test` keeping a change.

Pure functions, so the rule is tested without running anything.
"""

from __future__ import annotations

from autodev.verify.runner import TestRun

_NAMED = 5


def counts(run: TestRun) -> str:
    """The run's outcomes in words, e.g. "5 passed, 1 failed"; the exit status when there is no junit report."""
    if not run.used_junit:
        return "timed out" if run.timed_out else f"exit status {run.exit_code}"
    passed, failing, skipped = len(run.passed_ids), len(run.failing_ids), len(run.skipped_ids)
    parts = [f"{passed} passed"]
    if failing:
        parts.append(f"{failing} failed")
    if skipped:
        parts.append(f"{skipped} skipped")
    return ", ".join(parts)


def _named(ids: list[str]) -> str:
    shown = ", ".join(ids[:_NAMED])
    rest = len(ids) - _NAMED
    return f"{shown} and {rest} more" if rest > 0 else shown


def got_worse(before: TestRun, after: TestRun) -> str | None:
    """None when ``after`` is no worse than ``before``; else one sentence saying what broke.

    Worse: the run timed out; a test that passed before does not pass now (or a test new in ``after`` fails:
    a change that adds a failing test is not kept either); a readable junit report before and none now (the run
    broke); without junit on either side, exit status 0 before and non-zero now. Tests that failed before and
    still fail are not worse.
    """
    if after.timed_out and not before.timed_out:
        return "the test run timed out after the change"
    if before.used_junit and not after.used_junit:
        return f"the test run broke after the change (exit status {after.exit_code}, no test report)"
    if before.used_junit and after.used_junit:
        broke = sorted(before.passed_ids - after.passed_ids)
        known = set(before.outcomes)
        new_failing = sorted(test for test in after.failing_ids if test not in known)
        if broke:
            return f"tests that passed before fail now: {_named(broke)}"
        if new_failing:
            return f"new tests fail: {_named(new_failing)}"
        return None
    if before.exit_code == 0 and after.exit_code != 0:
        return f"the tests passed before and fail now (exit status {after.exit_code})"
    return None
