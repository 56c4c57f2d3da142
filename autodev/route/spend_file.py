"""The day totals of ``.autodev/spend.json``: what every process spent on each local calendar day.

The daily cap holds across runs and processes only if each charge is merged into what is on file, so the file is
re-read before every write. It is never fatal: a corrupt file is moved aside (kept for the user) and counts as
empty, and a failed write is logged while the caller keeps counting in memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from autodev.fileio import atomic_write
from autodev.logs import get_logger

SPEND_SCHEMA_VERSION: Final = 1
SPEND_DAYS_KEPT: Final = 31
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


class SpendFile:
    """The per-day totals on file at ``path``; each charge is one locked read-modify-write across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log = get_logger(component="budget")

    def total(self, day: date) -> float:
        """What is on file for ``day``."""
        return self._read().get(day.isoformat(), 0.0)

    def add(self, day: date, cost_usd: float) -> float:
        """Add ``cost_usd`` to ``day`` (merged with other processes' charges); the day's new total on file.

        The read and the write happen under an exclusive lock on ``spend.json.lock``: two processes charging at
        once (a pass and an `ask`) would otherwise both read the old total, and one charge would be lost.
        """
        with self._locked():
            days = self._read()
            key = day.isoformat()
            on_file = days.get(key, 0.0) + cost_usd
            days[key] = on_file
            self._write(days, day)
        return on_file

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The file's lock for one read-modify-write; without one (a read-only directory) the charge still counts."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o644)
        except OSError as exc:
            self._log.warning("spend_file_not_locked", path=str(self.path), error=str(exc))
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, float]:
        """The per-day totals on file; a missing file is empty, a corrupt one is moved aside and counts as empty."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            return self._set_aside(f"unreadable: {exc}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return self._set_aside(f"not JSON: {exc}")
        days = _valid_days(data)
        if days is None:
            return self._set_aside(f"not a schema {SPEND_SCHEMA_VERSION} spend file")
        return days

    def _set_aside(self, problem: str) -> dict[str, float]:
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            self.path.replace(aside)
        except OSError as exc:
            self._log.warning("spend_file_corrupt", path=str(self.path), problem=problem, moved=False, error=str(exc))
        else:
            self._log.warning("spend_file_corrupt", path=str(self.path), problem=problem, moved_to=str(aside))
        return {}

    def _write(self, days: dict[str, float], today: date) -> None:
        """Keep the last 31 days; a failed write is logged, and the caller still counts what it spent."""
        oldest = (today - timedelta(days=SPEND_DAYS_KEPT - 1)).isoformat()
        kept = {key: round(value, 10) for key, value in sorted(days.items()) if key >= oldest}
        payload = {"schema": SPEND_SCHEMA_VERSION, "days": kept}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
        except OSError as exc:
            self._log.warning("spend_file_not_written", path=str(self.path), error=str(exc))


def _valid_days(data: object) -> dict[str, float] | None:
    """The ``days`` mapping of a schema-1 spend file, or None when anything in it is not what autodev writes."""
    if not isinstance(data, dict) or data.get("schema") != SPEND_SCHEMA_VERSION:
        return None
    days = data.get("days")
    if not isinstance(days, dict):
        return None
    valid: dict[str, float] = {}
    for key, value in days.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or not math.isfinite(value):
            return None
        try:
            date.fromisoformat(key)
        except (TypeError, ValueError):
            return None
        valid[key] = float(value)
    return valid
