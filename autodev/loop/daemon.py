"""`autodev loop start | stop | status`: drive the background loop through its lock and its state file only.

The loop process is the single source of truth: the lock says whether it lives (the kernel drops it on any
death), the state file what it does. So start, stop and status need no shared memory with the loop, work the
same for a loop started by hand or by a service manager, and a crash can never leave them lying.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from autodev.errors import AutodevError
from autodev.loop.notify import NOTIFY_SOCKET_ENV
from autodev.loop.pidlock import PID_FILE_NAME, already_running_error, read_holder, read_pid_file
from autodev.loop.status import READY_PHASES, STATE_FILE_NAME, LastPass, LoopState, read_state, utc_now
from autodev.project import ProjectPaths

OUT_FILE_NAME: Final = "loop.out"
_POLL_S: Final = 0.05
_KILL_WAIT_S: Final = 5.0
_TAIL_LINES: Final = 40
_TAIL_BYTES: Final = 8192

# LSB init-script status codes, which `autodev loop status` exits with.
STATUS_RUNNING: Final = 0
STATUS_DEAD_WITH_PID_FILE: Final = 1
STATUS_NOT_RUNNING: Final = 3


class LoopFiles(BaseModel):
    """The files through which the loop and these commands meet, all under `.autodev/`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Path
    pid_file: Path
    state_file: Path
    out_file: Path  # the background loop's stdout and stderr (tracebacks before logging is set up land here)

    @classmethod
    def for_root(cls, root: Path) -> LoopFiles:
        paths = ProjectPaths(root=root)
        return cls(
            root=root,
            pid_file=paths.state_dir / PID_FILE_NAME,
            state_file=paths.state_dir / STATE_FILE_NAME,
            out_file=paths.logs_dir / OUT_FILE_NAME,
        )


def autodev_program() -> list[str]:
    """The absolute command that runs this very autodev, for a detached process or a service definition.

    The console script next to the interpreter is preferred to ``python -m autodev``: ``-m`` puts the working
    directory first on ``sys.path``, so a project with its own ``autodev/`` package would shadow this one.
    """
    script = Path(sys.executable).parent / "autodev"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "autodev"]


def loop_run_command(root: Path, settings: Sequence[str] = ()) -> list[str]:
    """``autodev -C ROOT [--set KEY=VALUE]... loop run``: the loop with the --set values its starter was given."""
    flags = [word for setting in settings for word in ("--set", setting)]
    return [*autodev_program(), "-C", str(root), *flags, "loop", "run"]


# --------------------------------------------------------------------------------------------- start


def start_background(root: Path, command: Sequence[str] | None = None, *, ready_timeout_s: float = 30.0) -> int:
    """Start the loop detached and return its pid once its watch is up (the first pass goes on in the background).

    ``command`` replaces ``autodev -C ROOT loop run`` (tests start a small stand-in loop). Raises UsageError
    before spawning anything when a loop already holds the lock, and AutodevError, with the tail of its
    output, when the loop exits before it is up. A loop that is merely slow is left running and reported.
    """
    files = LoopFiles.for_root(root)
    holder = read_holder(files.pid_file)
    if holder is not None:
        raise already_running_error(root, holder)
    argv = list(command) if command is not None else loop_run_command(root)
    files.out_file.parent.mkdir(parents=True, exist_ok=True)
    with files.out_file.open("ab") as out:
        offset = out.seek(0, os.SEEK_END)
        out.write(f"--- {utc_now().isoformat()} starting: {' '.join(argv)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            argv,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # no terminal's Ctrl-C or hang-up reaches it
            close_fds=True,
            env=_detached_environment(),
        )
    try:
        _wait_until_up(process, files, ready_timeout_s, offset)
    finally:
        _reap_when_done(process)
    return process.pid


def _detached_environment() -> dict[str, str]:
    """A background loop is nobody's service: it must not answer a service manager that started its parent."""
    env = {key: value for key, value in os.environ.items() if key != NOTIFY_SOCKET_ENV}
    env["PYTHONUNBUFFERED"] = "1"  # so loop.out has every line at once, even if the loop dies
    return env


def _wait_until_up(process: subprocess.Popen[bytes], files: LoopFiles, timeout_s: float, offset: int) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        code = process.poll()
        if code is not None:
            raise AutodevError(
                f"the loop exited with status {code} before its watch was up; "
                f"its output ({files.out_file}):\n{_tail(files.out_file, offset)}"
            )
        state = read_state(files.state_file)
        if state is not None and state.pid == process.pid and state.state in READY_PHASES:
            return
        if time.monotonic() >= deadline:
            raise AutodevError(
                f"the loop (pid {process.pid}) did not report its watch up within {timeout_s:g} s; it is still "
                f"running: see {files.out_file}, `autodev loop status`, or stop it with `autodev loop stop`"
            )
        time.sleep(_POLL_S)


def _reap_when_done(process: subprocess.Popen[bytes]) -> None:
    """Whoever started the loop reaps it if it outlives the loop (a test, a long-lived caller): no zombie.

    A daemon thread, so a CLI that exits right after the start is not held back by it.
    """
    if process.returncode is None:
        threading.Thread(target=process.wait, name=f"reap-loop-{process.pid}", daemon=True).start()


def _tail(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as stream:
            stream.seek(max(offset, stream.seek(0, os.SEEK_END) - _TAIL_BYTES))
            data = stream.read()
    except OSError as error:
        return f"(could not read it: {error})"
    lines = data.decode("utf-8", "replace").splitlines()[-_TAIL_LINES:]
    return "\n".join(lines) if lines else "(no output)"


# --------------------------------------------------------------------------------------------- stop


StopOutcome = Literal["not running", "stopped", "killed", "still running"]


class StopReport(BaseModel):
    """What `autodev loop stop` did, to print and to choose the exit status from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: StopOutcome
    pid: int | None = None
    waited_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.outcome == "still running" else 0

    @property
    def text(self) -> str:
        if self.outcome == "not running":
            return "autodev loop is not running"
        if self.outcome == "stopped":
            return f"stopped the autodev loop (pid {self.pid}) in {self.waited_s:.1f} s"
        if self.outcome == "killed":
            return f"killed the autodev loop (pid {self.pid}) with SIGKILL after {self.waited_s:.1f} s"
        return (
            f"the autodev loop (pid {self.pid}) is still running {self.waited_s:.1f} s after SIGTERM "
            "(it may be finishing a test run); wait, or force it with SIGKILL"
        )


def stop(root: Path, *, timeout_s: float = 30.0, force: bool = False) -> StopReport:
    """SIGTERM the loop and wait until it has let go of its lock, i.e. finished or rolled back its attempt.

    With ``force``, a loop still running at the timeout gets SIGKILL; its interrupted attempt is then restored
    from the journal by the next start.
    """
    files = LoopFiles.for_root(root)
    pid = read_holder(files.pid_file)
    if pid is None:
        return StopReport(outcome="not running")
    started = time.monotonic()
    _send(pid, signal.SIGTERM)
    if _wait_for_release(files.pid_file, pid, started + timeout_s):
        return StopReport(outcome="stopped", pid=pid, waited_s=time.monotonic() - started)
    if force:
        _send(pid, signal.SIGKILL)
        if _wait_for_release(files.pid_file, pid, time.monotonic() + _KILL_WAIT_S):
            return StopReport(outcome="killed", pid=pid, waited_s=time.monotonic() - started)
    return StopReport(outcome="still running", pid=pid, waited_s=time.monotonic() - started)


def _send(pid: int, signum: signal.Signals) -> None:
    # It may have exited between the probe and the signal: the wait that follows then sees the lock free.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _wait_for_release(pid_file: Path, pid: int, deadline: float) -> bool:
    while read_holder(pid_file) == pid:
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


# --------------------------------------------------------------------------------------------- status


class LoopStatusReport(BaseModel):
    """`autodev loop status`: the LSB exit code, the text to print, and the facts behind them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exit_code: int  # STATUS_RUNNING, STATUS_DEAD_WITH_PID_FILE or STATUS_NOT_RUNNING
    pid: int | None = None
    state: LoopState | None = None  # only when it belongs to the running loop
    uptime_s: float | None = None  # only for the running loop, once it has written its state
    text: str

    @property
    def running(self) -> bool:
        return self.exit_code == STATUS_RUNNING

    @property
    def config_error(self) -> str | None:
        return self.state.config_error if self.state is not None else None

    def payload(self) -> dict[str, object]:
        """`loop status --json`: one object whose keys are there in every state (null when unknown)."""
        last = self.state.last_pass if self.state is not None else None
        return {
            "running": self.running,
            "pid": self.pid,
            "uptime_s": self.uptime_s,
            "state": self.state.state if self.state is not None else None,
            "passes": self.state.passes if self.state is not None else None,
            "last_pass": None if last is None else last.model_dump(mode="json"),
            "config_error": self.config_error,
            "problems": list(self.state.problems) if self.state is not None else [],
            "exit_code": self.exit_code,
            "text": self.text,
        }


def loop_status(root: Path, *, now: datetime | None = None) -> LoopStatusReport:
    """Running (0), dead but its pid file remains (1, a crash or kill -9), or not running (3).

    A running loop whose autodev.toml became invalid is still running (0); the text and ``config_error``
    say so first, since the loop runs no pass until the file is fixed.
    """
    files = LoopFiles.for_root(root)
    moment = now or utc_now()
    holder = read_holder(files.pid_file)
    state = read_state(files.state_file)
    if holder is not None:
        own = state if state is not None and state.pid == holder else None
        uptime = None if own is None else max(0.0, (moment - own.started_at).total_seconds())
        return LoopStatusReport(
            exit_code=STATUS_RUNNING,
            pid=holder,
            state=own,
            uptime_s=uptime,
            text=_running_text(root, holder, own, moment),
        )
    last = _last_pass_line(state.last_pass, moment) if state is not None and state.last_pass else None
    stale = read_pid_file(files.pid_file)
    if files.pid_file.exists():
        who = f"pid {stale}" if stale is not None else "no pid in it"
        lines = [
            f"autodev loop is dead for {root}: its pid file {files.pid_file} remains ({who}), so it was killed or "
            "crashed; `autodev loop start` replaces the file and restores any interrupted attempt"
        ]
        return LoopStatusReport(
            exit_code=STATUS_DEAD_WITH_PID_FILE, pid=stale, text="\n".join(lines + ([last] if last else []))
        )
    lines = [f"autodev loop is not running for {root}"]
    return LoopStatusReport(exit_code=STATUS_NOT_RUNNING, text="\n".join(lines + ([last] if last else [])))


def _running_text(root: Path, pid: int, state: LoopState | None, now: datetime) -> str:
    if state is None:
        return f"autodev loop is running for {root} (pid {pid}), starting up"
    lines = [f"autodev loop is running for {root} (pid {pid}, up {_duration(now, state.started_at)})"]
    if state.config_error is not None:
        lines.append(
            f"config error in autodev.toml: {state.config_error}; the loop waits for a valid file (no pass runs)"
        )
    lines.extend(f"warning: {problem}" for problem in state.problems)
    if state.state == "running pass" and state.pass_started_at is not None:
        doing = f"running a pass for {_duration(now, state.pass_started_at)}"
    else:
        doing = state.state
    lines.append(f"state: {doing}; {state.passes} pass(es) finished")
    lines.append(_last_pass_line(state.last_pass, now) if state.last_pass else "last pass: none finished yet")
    return "\n".join(lines)


def _last_pass_line(last: LastPass, now: datetime) -> str:
    reason = last.reason.splitlines()[0] if last.reason else ""
    line = (
        f"last pass: {last.status}, {_duration(now, last.finished_at)} ago, "
        f"took {_duration(last.finished_at, last.started_at)}"
    )
    if reason:
        line += f": {reason}"
    if last.commit:
        line += f"; commit {last.commit[:12]}"
    return line


def _duration(later: datetime, earlier: datetime) -> str:
    seconds = max(0, round((later - earlier).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
