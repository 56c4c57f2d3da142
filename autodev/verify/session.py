"""pytest's own record of a run, and whether the run's exit status and junit report agree with it.

The code under test runs inside the pytest process, so what that process leaves behind (its exit status, the junit
file) is only evidence when it agrees with what pytest's hooks saw: autodev's plugin records the session's exit
status and each test's outcome at the end of the session (``session.json``, beside the report, in a private
directory named on no command line). An ``atexit`` handler that calls ``os._exit(0)`` changes the exit status but
not the record; a report rewritten after pytest wrote it no longer matches the record. Either is a red run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from autodev.verify.junit import INTERNAL_ERROR_ID, OutcomeKind, TestOutcome

__all__ = ["SessionRecord", "disagreement", "read_session"]

MAX_RECORD_BYTES = 64 * 1024 * 1024
NAMES_SHOWN = 3
CHANGED_IT = "something in the code under test changed it"


class SessionRecord(BaseModel):
    """What the plugin wrote at the end of the session; ``status`` None: it wrote nothing (the run was cut short)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int | None = None
    outcomes: dict[str, OutcomeKind] = {}


def read_session(path: Path) -> SessionRecord:
    """The record at ``path``; a missing, oversized or malformed one reads as no record (``status`` None)."""
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            return SessionRecord()
        data = json.loads(path.read_bytes())
        return SessionRecord.model_validate(data)
    except (OSError, ValueError, ValidationError):
        return SessionRecord()


def disagreement(record: SessionRecord, exit_code: int | None, report: Mapping[str, TestOutcome] | None) -> str | None:
    """Why the run's exit status or report cannot be believed, or None when they agree with pytest's record."""
    if record.status is None:
        code = "no exit status" if exit_code is None else f"exit status {exit_code}"
        return (
            f"pytest did not finish its session (the run ended with {code} before pytest recorded its results): "
            "the code under test may have ended it"
        )
    if exit_code != record.status:
        return f"the run's exit status {exit_code} does not agree with pytest's {record.status}: {CHANGED_IT}"
    if report is None:
        return f"pytest's junit report is missing although pytest finished its session: {CHANGED_IT}"
    return _report_disagreement(record.outcomes, report)


def _report_disagreement(recorded: Mapping[str, OutcomeKind], report: Mapping[str, TestOutcome]) -> str | None:
    """The report must hold the same outcomes as the record: per test where both name it, and in number."""
    written: dict[str, str] = {t: outcome.outcome for t, outcome in report.items() if t != INTERNAL_ERROR_ID}
    changed = sorted(test_id for test_id in recorded.keys() & written.keys() if recorded[test_id] != written[test_id])
    if changed:
        shown = ", ".join(f"{t} ({written[t]} in the report, {recorded[t]} in pytest)" for t in changed[:NAMES_SHOWN])
        return f"the junit report does not agree with pytest on {shown}: {CHANGED_IT}"
    in_record, in_report = Counter[str](recorded.values()), Counter[str](written.values())
    if in_record != in_report:
        return f"the junit report counts {_counts(in_report)} but pytest saw {_counts(in_record)}: {CHANGED_IT}"
    return None


def _counts(counts: Counter[str]) -> str:
    said = ", ".join(f"{counts[kind]} {kind}" for kind in ("passed", "failed", "error", "skipped") if counts[kind])
    return said or "no tests"
