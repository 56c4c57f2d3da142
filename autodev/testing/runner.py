"""A TestRunner answering with a function of the project root: for tests where only the decision matters.

Running the real test command costs a pytest subprocess per baseline and per attempt; a test of routing needs
only the outcomes. The function reads the files under ``root`` (the project, or a candidate's scratch copy) and
says per test id what happened; this module turns that into the TestRun that run_tests would have returned for
a pytest command, and records every call.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.verify.adapters.base import RunnerAdapter
from autodev.verify.adapters.choose import RunnerName
from autodev.verify.confine import UNCONFINED, Confinement
from autodev.verify.junit import OutcomeKind, TestOutcome
from autodev.verify.runner import PYTEST_NO_TESTS_COLLECTED, TestRun

__all__ = ["FunctionTestRunner", "Outcomes", "RunnerCall", "RunnerFunction", "run_from_outcomes"]

Outcomes = Mapping[str, "OutcomeKind | TestOutcome"]
"""Per pytest node id, its outcome: a kind alone, or a TestOutcome carrying the message and details too."""

RunnerFunction = Callable[[Path], "TestRun | Outcomes"]
"""Answers one run from the files under the root; a TestRun is returned as is (a time-out, an odd exit status)."""


class RunnerCall(BaseModel):
    """One run as the runner was asked for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Path
    command: str | list[str]
    timeout_s: float
    scratch_dir: Path
    runner: str = "auto"
    """The adapter the pass chose (its name), which a double does not use."""


def run_from_outcomes(command: str | Sequence[str], outcomes: Outcomes, *, timeout_s: float | None = None) -> TestRun:
    """The TestRun a pytest run with these outcomes reports: its exit status, and output laid out as pytest's.

    The output matters: the router looks in it for errors that are cheap to fix (a SyntaxError, an ImportError).
    """
    full = {test_id: _outcome(test_id, outcome) for test_id, outcome in outcomes.items()}
    failing = [outcome for outcome in full.values() if outcome.is_failing]
    exit_code = (1 if failing else 0) if full else PYTEST_NO_TESTS_COLLECTED
    return TestRun(
        command=shlex.split(command) if isinstance(command, str) else list(command),
        exit_code=exit_code,
        timed_out=False,
        duration_s=0.0,
        output=_pytest_output(full.values()),
        outcomes=full,
        used_junit=True,
        timeout_s=timeout_s,
    )


def _outcome(test_id: str, outcome: OutcomeKind | TestOutcome) -> TestOutcome:
    return outcome if isinstance(outcome, TestOutcome) else TestOutcome(test_id=test_id, outcome=outcome)


def _pytest_output(outcomes: Iterable[TestOutcome]) -> str:
    """pytest's layout: each failure's details first, then the short summary and the counts."""
    details: list[str] = []
    summary: list[str] = []
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        if outcome.is_failing:
            label = "ERROR" if outcome.outcome == "error" else "FAILED"
            details.extend([f"_____ {outcome.test_id} _____", *outcome.details.splitlines(), ""])
            summary.append(f"{label} {outcome.test_id}" + (f" - {outcome.message}" if outcome.message else ""))
    if summary:
        summary.insert(0, "=== short test summary info ===")
    totals = ", ".join(f"{count} {kind}" for kind, count in counts.items()) or "no tests ran"
    return "\n".join([*details, *summary, f"{totals} in 0.01s"]) + "\n"


class FunctionTestRunner:
    """A TestRunner: ``function(root)`` decides each run; ``calls`` records them in order.

    Candidates are tested in parallel scratch copies, so recording is locked; the function itself is not.
    """

    def __init__(self, function: RunnerFunction) -> None:
        self.function = function
        self._lock = threading.Lock()
        self._calls: list[RunnerCall] = []

    @property
    def calls(self) -> list[RunnerCall]:
        """A snapshot of the runs so far."""
        with self._lock:
            return list(self._calls)

    def __call__(
        self,
        root: Path,
        command: str | Sequence[str],
        *,
        timeout_s: float,
        scratch_dir: Path,
        runner: RunnerName | RunnerAdapter = "auto",
        pass_env: Sequence[str] = (),
        confine: Confinement = UNCONFINED,
    ) -> TestRun:
        argv = command if isinstance(command, str) else list(command)
        name = runner if isinstance(runner, str) else runner.name
        with self._lock:
            call = RunnerCall(root=root, command=argv, timeout_s=timeout_s, scratch_dir=scratch_dir, runner=name)
            self._calls.append(call)
        answer = self.function(root)
        if isinstance(answer, TestRun):
            return answer
        return run_from_outcomes(command, answer, timeout_s=timeout_s)
