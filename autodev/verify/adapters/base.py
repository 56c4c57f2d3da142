"""What a test runner adapter is: the options it adds to the command and how it reads the per-test results.

An adapter knows one tool (pytest, ``node --test``, jest, vitest, ``cargo test``): :meth:`RunnerAdapter.argv` adds
its reporter options (a report file in the run's own directory where the tool can write one),
:meth:`RunnerAdapter.outcomes` reads what happened per test afterwards. ``None`` from ``outcomes`` means the results
could not be read: the run is then judged by its exit status, as for a plain command.

A file (or crate) that could not be compiled or collected is reported the way pytest's collection errors always
were: an ``error`` outcome whose id is the file's path, with no test name after it (:func:`load_failure`;
``TestRun.load_failures`` lists them). Its message is the tool's first error line and its details the tool's
first errors, trimmed for a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from autodev.verify.junit import TestOutcome
from autodev.verify.session import SessionRecord

__all__ = [
    "CommandAdapter",
    "RecordsSession",
    "RunPlace",
    "RunnerAdapter",
    "is_load_failure",
    "load_failure",
    "relative_to_root",
]

TEST_ID_SEPARATORS = ("::", " > ")
"""Between a file and a test's name: pytest and cargo ids use ``::``, JavaScript runners `` > `` (as they print)."""
DETAILS_MAX_LINES = 40
DETAILS_MAX_CHARS = 4_000
MESSAGE_MAX_CHARS = 300


@dataclass(frozen=True)
class RunPlace:
    """Where one run happens: the project (``root``), a private directory for reports (``work``) and the child's
    environment (``env``, already scrubbed; an adapter may add to it in :meth:`RunnerAdapter.argv`)."""

    root: Path
    work: Path
    env: dict[str, str]


class RunnerAdapter(Protocol):
    """One test runner: its options, its per-test results, and the test in progress when a run was killed."""

    @property
    def name(self) -> str:
        """``pytest``, ``node``, ``jest``, ``vitest``, ``cargo`` or ``command`` (exit status only)."""
        ...

    @property
    def reads_output(self) -> bool:
        """Whether :meth:`outcomes` reads the output (then it gets all of it, not only the tail a TestRun keeps)."""
        ...

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        """The command with the runner's reporter options added (``place.env`` may be added to as well)."""
        ...

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        """Per-test outcomes by test id, or ``None`` when they could not be read (judge by the exit status)."""
        ...

    def running(self, place: RunPlace) -> str | None:
        """The test in progress when the run was killed at its timeout, when the runner can tell."""
        ...


@runtime_checkable
class RecordsSession(Protocol):
    """An adapter whose runner keeps its own record of the run (pytest, through autodev's plugin), which the judge
    compares with the exit status and the report (:mod:`autodev.verify.session`)."""

    def session(self, place: RunPlace) -> SessionRecord:
        """The record; one with no status when the runner wrote none."""
        ...


class CommandAdapter:
    """Any other command (``[tests] runner = "command"``): run as given, judged by its exit status alone."""

    name = "command"
    reads_output = False

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        return list(command)

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        return None

    def running(self, place: RunPlace) -> str | None:
        return None


def load_failure(file: str, message: str, details: str) -> TestOutcome:
    """The outcome of a file that could not be compiled or collected: an error with the file's path as its id."""
    return TestOutcome(test_id=file, outcome="error", message=one_line(message), details=trim_lines(details))


def is_load_failure(outcome: TestOutcome) -> bool:
    """A file that did not compile or collect: an error whose id names no test (``tests/x.py``, ``<compile>``)."""
    return outcome.outcome == "error" and not any(sep in outcome.test_id for sep in TEST_ID_SEPARATORS)


def one_line(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= MESSAGE_MAX_CHARS else first[: MESSAGE_MAX_CHARS - 3] + "..."


def trim_lines(text: str, *, max_lines: int = DETAILS_MAX_LINES, max_chars: int = DETAILS_MAX_CHARS) -> str:
    """The first lines of a tool's message (where it says what and where), within a line and character budget."""
    lines = text.strip("\n").splitlines()
    kept = lines[:max_lines]
    trimmed = "\n".join(kept)
    if len(trimmed) > max_chars:
        trimmed = trimmed[: max_chars - 3].rstrip() + "..."
    elif len(lines) > max_lines:
        trimmed += f"\n[... {len(lines) - max_lines} more lines not shown ...]"
    return trimmed


def relative_to_root(path: str, root: Path) -> str:
    """A path the tool printed, relative to the project when it lies inside it (posix), else as printed."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return re.sub(r"^\./", "", path.replace("\\", "/"))
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path
