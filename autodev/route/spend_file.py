"""The day totals of ``.autodev/spend.json``: what every process spent on each local calendar day, and what the
calls in flight may still cost.

The daily cap holds across runs and processes only if the check and the spend are one step: a process reserves a
call's worst case (:meth:`SpendFile.reserve`) under the file's lock, against what is spent and what the other
processes' calls in flight have reserved, and replaces the reservation with the real cost when the answer is in
(:meth:`SpendFile.settle`). A reservation whose process is gone (killed mid-call) or whose time is up is ignored and
dropped at the next write. The file is never fatal: a corrupt file is moved aside (kept for the user) and counts as
empty, and a failed write is logged while the caller keeps counting in memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autodev.fileio import atomic_write
from autodev.logs import get_logger
from autodev.processes import process_alive

SPEND_SCHEMA_VERSION: Final = 1
SPEND_DAYS_KEPT: Final = 31
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


class Reservation(BaseModel):
    """One call in flight: its worst case, on the day it was reserved, held by ``pid`` until ``expires``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: str
    usd: float = Field(ge=0, allow_inf_nan=False)
    pid: int
    expires: float  # seconds since the epoch


class Reserved(BaseModel):
    """What :meth:`SpendFile.reserve` found: the reservation's id (None when refused) and the day's committed total
    before it (spent plus the live reservations)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None
    committed_usd: float


class _State(BaseModel):
    """The file's content as read: per-day totals and the reservations, keyed by id."""

    days: dict[str, float] = Field(default_factory=dict)
    reservations: dict[str, Reservation] = Field(default_factory=dict)


class SpendFile:
    """The per-day totals on file at ``path``; each change is one locked read-modify-write across processes."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, alive: Callable[[int], bool] = process_alive
    ) -> None:
        self.path = path
        self._clock = clock
        self._alive = alive
        self._log = get_logger(component="budget")

    def total(self, day: date) -> float:
        """What is on file for ``day``."""
        return self._read().days.get(day.isoformat(), 0.0)

    def reserved(self, day: date) -> float:
        """What the live reservations of ``day`` hold (this process's included)."""
        return sum(r.usd for r in self._live(self._read()).values() if r.day == day.isoformat())

    def add(self, day: date, cost_usd: float) -> float:
        """Add ``cost_usd`` to ``day`` (merged with other processes' charges); the day's new total on file.

        The read and the write happen under an exclusive lock on ``spend.json.lock``: two processes charging at
        once (a pass and an `ask`) would otherwise both read the old total, and one charge would be lost.
        """
        return self.settle(None, day, cost_usd)

    def reserve(self, day: date, usd: float, *, cap: float, floor_usd: float, ttl_s: float) -> Reserved:
        """Reserve ``usd`` on ``day`` if spent + live reservations (at least ``floor_usd``, what this process knows
        of) + ``usd`` stays within ``cap``; refused (``id`` None) otherwise. One locked step, so two processes
        cannot both take the last of the cap."""
        with self._locked():
            state = self._read()
            live = self._live(state)
            key = day.isoformat()
            on_file = state.days.get(key, 0.0) + sum(r.usd for r in live.values() if r.day == key)
            committed = max(on_file, floor_usd)
            if committed + usd > cap:
                return Reserved(id=None, committed_usd=committed)
            reservation_id = uuid.uuid4().hex
            live[reservation_id] = Reservation(day=key, usd=usd, pid=os.getpid(), expires=self._clock() + ttl_s)
            self._write(_State(days=state.days, reservations=live), day)
        return Reserved(id=reservation_id, committed_usd=committed)

    def settle(self, reservation_id: str | None, day: date, cost_usd: float) -> float:
        """Replace the reservation (if any, and still on file) by the real cost on ``day``; the day's new total."""
        with self._locked():
            state = self._read()
            live = self._live(state)
            if reservation_id is not None:
                live.pop(reservation_id, None)
            key = day.isoformat()
            days = dict(state.days)
            days[key] = days.get(key, 0.0) + cost_usd
            self._write(_State(days=days, reservations=live), day)
        return days[key]

    def release(self, reservation_id: str, day: date) -> None:
        """Drop a reservation whose call cost nothing (it failed, or was never made)."""
        self.settle(reservation_id, day, 0.0)

    def _live(self, state: _State) -> dict[str, Reservation]:
        """The reservations still held: unexpired, by a process that still runs."""
        now = self._clock()
        return {key: r for key, r in state.reservations.items() if r.expires > now and self._alive(r.pid)}

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

    def _read(self) -> _State:
        """The totals and reservations on file; a missing file is empty, a corrupt one is moved aside and counts as
        empty. Reservations that do not read are dropped (what is spent stays); their calls settle all the same."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _State()
        except (OSError, UnicodeDecodeError) as exc:
            return self._set_aside(f"unreadable: {exc}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return self._set_aside(f"not JSON: {exc}")
        days = _valid_days(data)
        if days is None:
            return self._set_aside(f"not a schema {SPEND_SCHEMA_VERSION} spend file")
        return _State(days=days, reservations=self._valid_reservations(data.get("reservations")))

    def _valid_reservations(self, raw: object) -> dict[str, Reservation]:
        if raw is None:
            return {}
        try:
            if not isinstance(raw, dict):
                raise TypeError("not an object")
            return {str(key): Reservation.model_validate(value) for key, value in raw.items()}
        except (TypeError, ValidationError) as exc:
            self._log.warning("spend_file_reservations_dropped", path=str(self.path), problem=str(exc)[:200])
            return {}

    def _set_aside(self, problem: str) -> _State:
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            self.path.replace(aside)
        except OSError as exc:
            self._log.warning("spend_file_corrupt", path=str(self.path), problem=problem, moved=False, error=str(exc))
        else:
            self._log.warning("spend_file_corrupt", path=str(self.path), problem=problem, moved_to=str(aside))
        return _State()

    def _write(self, state: _State, today: date) -> None:
        """Keep the last 31 days and the live reservations; a failed write is logged, and the caller still counts
        what it spent."""
        oldest = (today - timedelta(days=SPEND_DAYS_KEPT - 1)).isoformat()
        kept = {key: round(value, 10) for key, value in sorted(state.days.items()) if key >= oldest}
        payload: dict[str, object] = {"schema": SPEND_SCHEMA_VERSION, "days": kept}
        if state.reservations:
            payload["reservations"] = {key: r.model_dump() for key, r in state.reservations.items()}
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
