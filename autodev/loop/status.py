"""What the running loop is doing, on disk: `.autodev/loop.json`, so `autodev loop status` and `start` can tell.

The loop rewrites the file atomically at every change of phase, so a reader sees a whole state or the previous
one; it is a report, not a lock (the lock is :mod:`autodev.loop.pidlock`), and a reader never fails on it:
a missing, partial or foreign file reads as "no state".
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from autodev.fileio import atomic_write

STATE_FILE_NAME: Final = "loop.json"
STATE_SCHEMA_VERSION: Final = 1

LoopPhase = Literal["starting", "watching", "running pass", "stopping"]
# Phases in which the watch is up: `autodev loop start` returns once the loop reaches one of them.
READY_PHASES: Final[frozenset[str]] = frozenset({"watching", "running pass"})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LastPass(BaseModel):
    """The outcome of the most recent finished pass, as `autodev loop status` reports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    started_at: datetime
    finished_at: datetime
    status: str  # the engine's PassStatus ("satisfied", "failed", "blocked"), or "error" when the pass raised
    reason: str
    commit: str | None = None


class LoopState(BaseModel):
    """One loop process's state; ``pid`` ties it to the lock holder, so a leftover file is never mistaken."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = STATE_SCHEMA_VERSION
    pid: int
    root: Path
    started_at: datetime
    updated_at: datetime
    state: LoopPhase
    pass_started_at: datetime | None = None  # set while a pass runs
    passes: int = 0  # finished passes since the loop started
    last_pass: LastPass | None = None
    # autodev.toml became invalid while the loop ran: the one-line error; the loop runs no pass until it is fixed
    config_error: str | None = None
    # what the last reload found wrong but could work around: a broken memory import, a broken command file
    problems: list[str] = []

    @classmethod
    def starting(cls, root: Path, pid: int | None = None) -> LoopState:
        """The first state a loop writes, before its watch is up."""
        now = utc_now()
        return cls(pid=os.getpid() if pid is None else pid, root=root, started_at=now, updated_at=now, state="starting")

    def entering(self, phase: LoopPhase) -> LoopState:
        return self.model_copy(update={"state": phase, "updated_at": utc_now()})

    def with_config_error(self, error: str | None) -> LoopState:
        return self.model_copy(update={"config_error": error, "updated_at": utc_now()})

    def with_problems(self, problems: list[str]) -> LoopState:
        return self.model_copy(update={"problems": list(problems), "updated_at": utc_now()})

    def pass_started(self) -> LoopState:
        now = utc_now()
        return self.model_copy(update={"state": "running pass", "pass_started_at": now, "updated_at": now})

    def pass_finished(self, status: str, reason: str, commit: str | None = None) -> LoopState:
        """Back to watching, with this pass as the last one (its start is the recorded ``pass_started_at``)."""
        now = utc_now()
        finished = LastPass(
            started_at=self.pass_started_at or now, finished_at=now, status=status, reason=reason, commit=commit
        )
        return self.model_copy(
            update={
                "state": "watching",
                "pass_started_at": None,
                "passes": self.passes + 1,
                "last_pass": finished,
                "updated_at": now,
            }
        )


def write_state(path: Path, state: LoopState) -> None:
    """Replace the state file atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (state.model_dump_json(indent=2) + "\n").encode("utf-8"), mode=0o644)


def read_state(path: Path) -> LoopState | None:
    """The state in the file, or None when it is missing, corrupt or of another schema; never raises."""
    try:
        return LoopState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None
