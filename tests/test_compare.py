"""verify/compare.py: when a test run after a change is worse than the one before it."""

from __future__ import annotations

import pytest
from helpers import pytest_run

from autodev.verify.compare import counts, got_worse

pytestmark = pytest.mark.req("ASK-4")


class TestGotWorse:
    def test_the_same_outcomes_are_not_worse(self) -> None:
        """Two identical runs, green or with the same failure, are no worse."""
        run = pytest_run({"t::a": "passed", "t::b": "failed"})
        assert got_worse(run, run) is None

    def test_a_test_that_was_failing_and_now_passes_is_better(self) -> None:
        """Fixing a failure is never worse."""
        before = pytest_run({"t::a": "failed"})
        assert got_worse(before, pytest_run({"t::a": "passed"})) is None

    def test_a_test_that_passed_and_fails_now_is_named(self) -> None:
        """The sentence names the test that broke."""
        before = pytest_run({"t::a": "passed", "t::b": "passed"})
        reason = got_worse(before, pytest_run({"t::a": "passed", "t::b": "failed"}))
        assert reason is not None and "t::b" in reason and "t::a" not in reason

    def test_a_test_that_passed_and_is_gone_is_worse(self) -> None:
        """A passing test that no longer runs (deleted, not collected) does not pass now."""
        before = pytest_run({"t::a": "passed"})
        assert got_worse(before, pytest_run({"t::b": "passed"})) is not None

    def test_many_broken_tests_are_shortened(self) -> None:
        """At most five names, then how many more."""
        names = [f"t::t{i}" for i in range(8)]
        before = pytest_run(dict.fromkeys(names, "passed"))
        reason = got_worse(before, pytest_run(dict.fromkeys(names, "failed")))
        assert reason is not None and reason.endswith("and 3 more")

    def test_a_new_failing_test_is_worse(self) -> None:
        """A test that did not exist before and fails now counts as worse."""
        before = pytest_run({"t::a": "passed"})
        reason = got_worse(before, pytest_run({"t::a": "passed", "t::new": "failed"}))
        assert reason is not None and "t::new" in reason

    def test_a_timeout_is_worse(self) -> None:
        """A run killed at its timeout after the change is worse, whatever it had finished."""
        before = pytest_run({"t::a": "passed"})
        assert got_worse(before, pytest_run({"t::a": "passed"}, timed_out=True)) is not None

    def test_losing_the_junit_report_is_worse(self) -> None:
        """A run that could be read before and cannot now broke (a collection crash, an import error)."""
        before = pytest_run({"t::a": "passed"})
        assert got_worse(before, pytest_run(used_junit=False, exit_code=2)) is not None

    def test_without_junit_the_exit_status_decides(self) -> None:
        """No report either side: status 0 before and non-zero now is worse; non-zero both times is not."""
        green = pytest_run(used_junit=False, exit_code=0)
        red = pytest_run(used_junit=False, exit_code=1)
        assert got_worse(green, red) is not None
        assert got_worse(red, red) is None
        assert got_worse(red, green) is None


class TestCounts:
    def test_counts_passed_failed_and_skipped(self) -> None:
        """Failed and errored tests count together as failed."""
        run = pytest_run({"a": "passed", "b": "passed", "c": "failed", "d": "error", "e": "skipped"})
        assert counts(run) == "2 passed, 2 failed, 1 skipped"

    def test_without_junit_the_exit_status(self) -> None:
        """A run without a report is told by its exit status."""
        assert counts(pytest_run(used_junit=False, exit_code=3)) == "exit status 3"
