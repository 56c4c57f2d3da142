"""The loop lock: one loop per project, and a stale pid file never blocks a start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autodev.errors import UsageError
from autodev.loop.pidlock import LoopLock, read_holder, read_pid_file
from autodev.processes import process_alive

pytestmark = pytest.mark.req("LOOP-2")

# Holds the lock until its stdin closes; with "spawn-child" it first starts a grandchild that inherits every
# descriptor (close_fds=False), as a carelessly started test run would.
HOLDER = """
import subprocess, sys
from pathlib import Path
from autodev.loop.pidlock import LoopLock
lock = LoopLock(Path(sys.argv[1]))
lock.acquire()
if len(sys.argv) > 2:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], close_fds=False)
    print(child.pid, flush=True)
print("locked", flush=True)
sys.stdin.read()
"""


def start_holder(pid_file: Path, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(pid_file), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process


@pytest.fixture
def pid_file(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".autodev" / "loop.pid"


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def dead_pid() -> int:
    """A pid whose process has exited and been reaped."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


class TestLoopLock:
    def test_acquire_creates_the_directory_and_writes_our_pid(self, pid_file: Path) -> None:
        """The holder's pid is in the file, and a probe sees the lock held by it."""
        lock = LoopLock(pid_file)
        lock.acquire()
        try:
            assert lock.held
            assert pid_file.read_text() == f"{os.getpid()}\n"
            assert read_holder(pid_file) == os.getpid()
        finally:
            lock.release()

    def test_second_acquire_in_the_same_process_fails_with_the_message(self, pid_file: Path) -> None:
        """flock is per open file, so even a second lock from the same process is refused, naming the holder."""
        root = pid_file.parent.parent
        with LoopLock(pid_file), pytest.raises(UsageError) as raised:
            LoopLock(pid_file).acquire()
        message = str(raised.value)
        assert message == (
            f"autodev loop already running for {root} (pid {os.getpid()}); stop it with `autodev loop stop`"
        )

    def test_second_acquire_from_another_process_fails_fast(
        self, pid_file: Path, holders: list[subprocess.Popen[str]]
    ) -> None:
        """A live holder in another process makes acquire fail at once, naming that process."""
        holder = start_holder(pid_file)
        holders.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        with pytest.raises(UsageError, match=rf"already running .*\(pid {holder.pid}\)"):
            LoopLock(pid_file).acquire()
        assert time.monotonic() - started < 0.2

    def test_stale_pid_file_does_not_block(self, pid_file: Path) -> None:
        """A pid file left by a dead process (lock free) is taken over and rewritten with our pid."""
        pid_file.parent.mkdir(parents=True)
        stale = dead_pid()
        pid_file.write_text(f"{stale}\n")
        assert read_holder(pid_file) is None
        with LoopLock(pid_file):
            assert read_holder(pid_file) == os.getpid()
            assert pid_file.read_text() == f"{os.getpid()}\n"

    def test_stale_pid_file_with_a_longer_pid_is_fully_overwritten(self, pid_file: Path) -> None:
        """Leftover digits of a longer old pid do not survive the rewrite."""
        pid_file.parent.mkdir(parents=True)
        pid_file.write_text("99999999999\nrubbish\n")
        with LoopLock(pid_file):
            assert pid_file.read_text() == f"{os.getpid()}\n"

    def test_lock_is_released_when_the_holder_is_killed_9(
        self, pid_file: Path, holders: list[subprocess.Popen[str]]
    ) -> None:
        """kill -9 leaves the pid file behind but the kernel frees the lock, so the next acquire succeeds."""
        holder = start_holder(pid_file)
        holders.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        assert read_holder(pid_file) == holder.pid
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert read_holder(pid_file) is None
        assert read_pid_file(pid_file) == holder.pid  # the stale file remains
        with LoopLock(pid_file):
            assert read_holder(pid_file) == os.getpid()

    def test_children_started_with_inherited_descriptors_do_not_keep_the_lock(
        self, pid_file: Path, holders: list[subprocess.Popen[str]]
    ) -> None:
        """The lock is close-on-exec: a grandchild still running after the loop died does not hold it."""
        holder = start_holder(pid_file, "spawn-child")
        holders.append(holder)
        assert holder.stdout is not None
        grandchild = int(holder.stdout.readline())
        try:
            assert holder.stdout.readline() == "locked\n"
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
            assert process_alive(grandchild)
            assert read_holder(pid_file) is None
        finally:
            os.kill(grandchild, signal.SIGKILL)

    def test_release_removes_the_pid_file_and_frees_the_lock(self, pid_file: Path) -> None:
        """A clean stop leaves no pid file (status: not running) and another loop may start."""
        lock = LoopLock(pid_file)
        lock.acquire()
        lock.release()
        assert not lock.held
        assert not pid_file.exists()
        assert read_holder(pid_file) is None
        lock.release()  # a second release does nothing
        with LoopLock(pid_file):
            assert read_holder(pid_file) == os.getpid()

    def test_release_leaves_a_successors_file_alone(self, pid_file: Path) -> None:
        """If the file at the path is no longer ours, release must not delete another loop's pid file."""
        lock = LoopLock(pid_file)
        lock.acquire()
        pid_file.unlink()
        pid_file.write_text("12345\n")
        lock.release()
        assert pid_file.read_text() == "12345\n"

    def test_a_lock_object_cannot_be_acquired_twice(self, pid_file: Path) -> None:
        """Acquiring a held LoopLock again is a programming error, not a silent second descriptor."""
        with LoopLock(pid_file) as lock, pytest.raises(RuntimeError):
            lock.acquire()


class TestReadHolder:
    def test_no_file_means_no_holder(self, tmp_path: Path) -> None:
        """A project that never ran a loop has no holder."""
        assert read_holder(tmp_path / "loop.pid") is None

    def test_probe_does_not_take_the_lock(self, pid_file: Path) -> None:
        """After a probe of a free lock, a start still succeeds: the probe holds nothing afterwards."""
        pid_file.parent.mkdir(parents=True)
        pid_file.write_text("1\n")
        assert read_holder(pid_file) is None
        with LoopLock(pid_file):
            pass


class TestReadPidFile:
    def test_reads_the_pid_or_none(self, tmp_path: Path) -> None:
        """The recorded pid is read whatever its process's fate; garbage and absence read as None."""
        path = tmp_path / "loop.pid"
        assert read_pid_file(path) is None
        path.write_text("4242\n")
        assert read_pid_file(path) == 4242
        path.write_text("not a pid\n")
        assert read_pid_file(path) is None
        path.write_text("")
        assert read_pid_file(path) is None


class TestIsAlive:
    def test_tells_live_from_dead(self) -> None:
        """Our own process lives; a reaped one and impossible pids do not."""
        assert process_alive(os.getpid())
        assert not process_alive(dead_pid())
        assert not process_alive(0)
        assert not process_alive(-1)
