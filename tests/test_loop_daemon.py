"""Background start, stop and LSB status, driven by a small stand-in loop that uses the real lock and state file.

The stand-in is what `autodev loop run` will do around its passes: take the lock, write "starting", then
"watching", wait for SIGTERM, write "stopping" and release.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from autodev.errors import AutodevError, UsageError
from autodev.loop.daemon import (
    STATUS_DEAD_WITH_PID_FILE,
    STATUS_NOT_RUNNING,
    STATUS_RUNNING,
    LoopFiles,
    loop_run_command,
    loop_status,
    start_background,
    stop,
)
from autodev.loop.pidlock import LoopLock, read_holder
from autodev.loop.status import LastPass, LoopState, read_state, utc_now, write_state
from autodev.processes import process_alive

pytestmark = pytest.mark.req("LOOP-2")

FAKE_LOOP = """
import signal, sys, time
from pathlib import Path
from autodev.loop.pidlock import LoopLock
from autodev.loop.status import LoopState, write_state

root, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "die":
    print("fake loop: autodev.toml is broken", flush=True)
    sys.exit(3)
state_file = root / ".autodev" / "loop.json"
stop = []
signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else lambda *_: stop.append(1))
lock = LoopLock(root / ".autodev" / "loop.pid", root=root)
lock.acquire()
state = LoopState.starting(root)
write_state(state_file, state)
if mode == "slow":
    time.sleep(0.6)
if mode != "never-ready":
    state = state.entering("watching")
    write_state(state_file, state)
while not stop:
    time.sleep(0.01)
write_state(state_file, state.entering("stopping"))
lock.release()
"""


def fake_loop(root: Path, mode: str = "ok") -> list[str]:
    return [sys.executable, "-c", FAKE_LOOP, str(root), mode]


def wait_until_gone(pid: int, timeout_s: float = 5.0) -> bool:
    """The start's reaper thread reaps the loop once it exits; until then it is a zombie."""
    deadline = time.monotonic() + timeout_s
    while process_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A project directory; any loop a test left running is killed afterwards."""
    project = tmp_path / "project"
    project.mkdir()
    yield project
    files = LoopFiles.for_root(project)
    pid = read_holder(files.pid_file)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        wait_until_gone(pid)


class TestStartBackground:
    def test_returns_only_once_the_watch_is_up(self, root: Path) -> None:
        """A loop that takes 0.6 s to come up is already "watching", with the returned pid, when start returns."""
        started = time.monotonic()
        pid = start_background(root, fake_loop(root, "slow"))
        assert time.monotonic() - started >= 0.6
        state = read_state(LoopFiles.for_root(root).state_file)
        assert state is not None
        assert (state.pid, state.state) == (pid, "watching")
        assert read_holder(LoopFiles.for_root(root).pid_file) == pid

    def test_the_loop_is_detached_in_its_own_session(self, root: Path) -> None:
        """start_new_session: the loop leads its own session, so the terminal's Ctrl-C and hang-up miss it."""
        pid = start_background(root, fake_loop(root))
        assert os.getsid(pid) == pid
        assert os.getsid(pid) != os.getsid(0)

    def test_output_goes_to_loop_out(self, root: Path) -> None:
        """The detached loop's stdout and stderr are appended to .autodev/logs/loop.out."""
        start_background(root, fake_loop(root))
        out = LoopFiles.for_root(root).out_file
        assert out == root / ".autodev" / "logs" / "loop.out"
        assert "starting:" in out.read_text()

    def test_a_second_start_fails_fast_without_spawning(self, root: Path) -> None:
        """With a loop running, start raises the "already running" error before starting anything."""
        pid = start_background(root, fake_loop(root))
        began = time.monotonic()
        with pytest.raises(UsageError, match=rf"autodev loop already running for .* \(pid {pid}\)"):
            start_background(root, fake_loop(root))
        assert time.monotonic() - began < 0.5
        assert LoopFiles.for_root(root).out_file.read_text().count("starting:") == 1

    def test_a_loop_that_dies_at_start_raises_with_its_output(self, root: Path) -> None:
        """The error carries the exit status and the tail of the loop's own output, so the user sees why."""
        with pytest.raises(AutodevError) as raised:
            start_background(root, fake_loop(root, "die"))
        message = str(raised.value)
        assert "exited with status 3 before its watch was up" in message
        assert "fake loop: autodev.toml is broken" in message

    def test_the_error_shows_only_this_starts_output(self, root: Path) -> None:
        """Output of earlier runs in loop.out is not mistaken for this failure's."""
        out = LoopFiles.for_root(root).out_file
        out.parent.mkdir(parents=True)
        out.write_text("an old traceback from last week\n")
        with pytest.raises(AutodevError) as raised:
            start_background(root, fake_loop(root, "die"))
        assert "old traceback" not in str(raised.value)

    def test_a_loop_that_never_comes_up_is_reported_and_left_running(self, root: Path) -> None:
        """After the timeout, start says the loop is still running and how to look at it or stop it."""
        with pytest.raises(AutodevError, match=r"did not report its watch up within 0\.5 s; it is still running"):
            start_background(root, fake_loop(root, "never-ready"), ready_timeout_s=0.5)
        # On a loaded machine the child may not have taken its lock within those 0.5 s; it is still running.
        pid_file = LoopFiles.for_root(root).pid_file
        deadline = time.monotonic() + 10
        while read_holder(pid_file) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read_holder(pid_file) is not None

    def test_a_stale_pid_file_does_not_block_a_start(self, root: Path) -> None:
        """After a kill -9 the pid file remains, and the next start takes over."""
        first = start_background(root, fake_loop(root))
        os.kill(first, signal.SIGKILL)
        assert wait_until_gone(first)
        second = start_background(root, fake_loop(root))
        assert second != first
        assert loop_status(root).pid == second

    def test_the_default_command_runs_autodev_loop_run_on_the_root(self, root: Path) -> None:
        """Without an injected command the loop is this autodev, by absolute path, told `-C ROOT loop run`."""
        command = loop_run_command(root)
        assert Path(command[0]).is_absolute()
        assert Path(command[0]).exists()
        assert command[-4:] == ["-C", str(root), "loop", "run"]


class TestStop:
    def test_stop_terminates_and_status_becomes_not_running(self, root: Path) -> None:
        """SIGTERM, wait for the lock to be let go: stopped, no pid file left, status 3."""
        pid = start_background(root, fake_loop(root))
        report = stop(root)
        assert (report.outcome, report.pid, report.exit_code) == ("stopped", pid, 0)
        assert report.waited_s < 5
        assert f"stopped the autodev loop (pid {pid})" in report.text
        assert not LoopFiles.for_root(root).pid_file.exists()
        assert loop_status(root).exit_code == STATUS_NOT_RUNNING
        assert wait_until_gone(pid)

    def test_stop_when_nothing_runs(self, root: Path) -> None:
        """No loop: nothing is signalled and the report says so."""
        report = stop(root)
        assert (report.outcome, report.pid, report.exit_code) == ("not running", None, 0)
        assert report.text == "autodev loop is not running"

    def test_a_loop_ignoring_sigterm_is_reported_still_running(self, root: Path) -> None:
        """Without force, a loop that outlives the timeout is left alone and the report says so (exit 1)."""
        pid = start_background(root, fake_loop(root, "stubborn"))
        report = stop(root, timeout_s=0.3)
        assert (report.outcome, report.pid, report.exit_code) == ("still running", pid, 1)
        assert report.waited_s >= 0.3
        assert read_holder(LoopFiles.for_root(root).pid_file) == pid

    def test_force_escalates_to_sigkill(self, root: Path) -> None:
        """With force, the stubborn loop is killed after the timeout and its lock is free."""
        pid = start_background(root, fake_loop(root, "stubborn"))
        report = stop(root, timeout_s=0.3, force=True)
        assert (report.outcome, report.pid) == ("killed", pid)
        assert read_holder(LoopFiles.for_root(root).pid_file) is None
        assert wait_until_gone(pid)


class TestLoopStatus:
    def test_running_loop_exits_0_with_pid_and_state(self, root: Path) -> None:
        """Status 0 names the pid, the uptime and what the loop is doing."""
        pid = start_background(root, fake_loop(root))
        report = loop_status(root)
        assert (report.exit_code, report.pid) == (STATUS_RUNNING, pid)
        assert report.state is not None
        assert report.state.state == "watching"
        assert f"running for {root} (pid {pid}, up " in report.text
        assert "state: watching; 0 pass(es) finished" in report.text
        assert "last pass: none finished yet" in report.text

    def test_not_running_exits_3(self, root: Path) -> None:
        """A project where no loop ever ran: status 3."""
        report = loop_status(root)
        assert (report.exit_code, report.pid) == (STATUS_NOT_RUNNING, None)
        assert report.text == f"autodev loop is not running for {root}"

    def test_killed_loop_with_its_pid_file_left_exits_1(self, root: Path) -> None:
        """kill -9 leaves the pid file: status 1 (dead, pid file exists) names the dead pid."""
        pid = start_background(root, fake_loop(root))
        os.kill(pid, signal.SIGKILL)
        assert wait_until_gone(pid)
        report = loop_status(root)
        assert (report.exit_code, report.pid) == (STATUS_DEAD_WITH_PID_FILE, pid)
        assert f"pid file {LoopFiles.for_root(root).pid_file} remains (pid {pid})" in report.text

    def test_last_pass_and_uptime_of_the_running_loop(self, root: Path) -> None:
        """The last pass's result, reason, age, duration and commit are shown, with the loop's uptime."""
        files = LoopFiles.for_root(root)
        with LoopLock(files.pid_file, root=root):
            started = utc_now()
            state = LoopState(
                pid=os.getpid(),
                root=root,
                started_at=started,
                updated_at=started,
                state="watching",
                passes=1,
                last_pass=LastPass(
                    started_at=started + timedelta(seconds=5),
                    finished_at=started + timedelta(seconds=17),
                    status="satisfied",
                    reason="R1 done\nmore detail",
                    commit="0123456789abcdef0123",
                ),
            )
            write_state(files.state_file, state)
            report = loop_status(root, now=state.started_at + timedelta(seconds=65))
        assert report.exit_code == STATUS_RUNNING
        assert report.pid == os.getpid()
        assert f"(pid {os.getpid()}, up 1 min 5 s)" in report.text
        assert "state: watching; 1 pass(es) finished" in report.text
        assert "last pass: satisfied, 48 s ago, took 12 s: R1 done; commit 0123456789ab" in report.text

    def test_a_pass_in_progress_shows_for_how_long(self, root: Path) -> None:
        """While a pass runs, status says so and for how long."""
        files = LoopFiles.for_root(root)
        with LoopLock(files.pid_file, root=root):
            state = LoopState.starting(root).pass_started()
            write_state(files.state_file, state)
            assert state.pass_started_at is not None
            report = loop_status(root, now=state.pass_started_at + timedelta(hours=1, minutes=2))
        assert "state: running a pass for 1 h 2 min" in report.text

    def test_a_state_file_of_another_process_is_not_trusted(self, root: Path) -> None:
        """A leftover state naming another pid says nothing about the holder: it reads as starting up."""
        files = LoopFiles.for_root(root)
        write_state(files.state_file, LoopState.starting(root, pid=1).entering("watching"))
        with LoopLock(files.pid_file, root=root):
            report = loop_status(root)
        assert report.state is None
        assert report.text == f"autodev loop is running for {root} (pid {os.getpid()}), starting up"

    def test_not_running_still_shows_the_last_pass(self, root: Path) -> None:
        """After a clean stop, status 3 still reports how the last pass ended."""
        files = LoopFiles.for_root(root)
        state = LoopState.starting(root, pid=1).pass_started().pass_finished("failed", "tests still red")
        write_state(files.state_file, state)
        report = loop_status(root)
        assert report.exit_code == STATUS_NOT_RUNNING
        assert "last pass: failed" in report.text
        assert "tests still red" in report.text


class TestLoopStateFile:
    def test_round_trip(self, tmp_path: Path) -> None:
        """What is written is read back equal, through the pass transitions."""
        path = tmp_path / ".autodev" / "loop.json"
        state = LoopState.starting(tmp_path).entering("watching").pass_started()
        state = state.pass_finished("blocked", "needs a human", commit=None)
        write_state(path, state)
        assert read_state(path) == state
        assert state.state == "watching"
        assert state.passes == 1
        assert state.pass_started_at is None
        assert state.last_pass is not None
        assert state.last_pass.status == "blocked"

    def test_missing_corrupt_or_foreign_file_reads_as_none(self, tmp_path: Path) -> None:
        """A reader never fails on the state file: it is a report, not a source of errors."""
        path = tmp_path / "loop.json"
        assert read_state(path) is None
        path.write_bytes(b'{"pid": 12, "state": "watch')
        assert read_state(path) is None
        path.write_bytes(b"\xff\xfe not json")
        assert read_state(path) is None
        path.write_text('{"schema_version": 99, "pid": 1}')
        assert read_state(path) is None
        path.unlink()
        path.mkdir()
        assert read_state(path) is None

    def test_write_is_atomic_and_leaves_no_temporary_file(self, tmp_path: Path) -> None:
        """Only loop.json itself is left in the directory after writes."""
        path = tmp_path / "loop.json"
        state = LoopState.starting(tmp_path)
        write_state(path, state)
        write_state(path, state.entering("watching"))
        assert sorted(entry.name for entry in tmp_path.iterdir()) == ["loop.json"]
