"""One loop per project: `.autodev/loop.pid`, held with an exclusive flock for as long as the loop lives.

flock rather than fcntl record locks (lockf): a record lock belongs to the process, so closing *any* descriptor
of the file (as a status probe does) silently drops it, and a second lock from the same process succeeds. An
flock belongs to the open file, so a probe from another descriptor sees it held, even in the same process.
The kernel drops the lock when its holder dies, however it dies, so a stale pid file (a crash, `kill -9`)
never blocks a start: the file is there but its lock is free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from autodev.errors import UsageError
from autodev.processes import process_alive

PID_FILE_NAME: Final = "loop.pid"
# A status probe holds a shared lock for microseconds; a start that meets one retries this long before failing.
_PROBE_GRACE_S: Final = 0.25
# How long a probe waits for a fresh holder to write its pid (it writes right after taking the lock).
_PID_WRITE_GRACE_S: Final = 1.0
_POLL_S: Final = 0.01
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


class LoopLock:
    """The project's loop lock; hold it (``acquire``) for the whole life of the loop process.

    The descriptor is close-on-exec, so test processes the loop starts never inherit (and never keep) the lock.
    """

    def __init__(self, path: Path, *, root: Path | None = None) -> None:
        self.path = path
        self.root = root if root is not None else path.parent.parent
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock and write our pid, or raise at once if a live loop holds it.

        Raises UsageError naming the holder's pid and how to stop it.
        """
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this LoopLock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = self._lock_current_file()
        _write_pid(fd, os.getpid())
        self._fd = fd

    def release(self) -> None:
        """Remove the pid file and drop the lock; a clean stop leaves no pid file, so status says "not running".

        The file is unlinked *before* the lock is dropped: a starter that opened the old file meanwhile finds,
        after locking it, that it is no longer the file at ``path`` and starts over (see ``_lock_current_file``).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _is_file_at(fd, self.path):
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
        finally:
            os.close(fd)

    def __enter__(self) -> LoopLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def _lock_current_file(self) -> int:
        deadline = time.monotonic() + _PROBE_GRACE_S
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _pid_in(fd)
                os.close(fd)
                # A live pid means a real loop; a dead or missing one means a status probe, which is gone soon.
                if (holder is not None and process_alive(holder)) or time.monotonic() >= deadline:
                    raise already_running_error(self.root, holder) from None
                time.sleep(_POLL_S)
                continue
            except BaseException:
                os.close(fd)
                raise
            if _is_file_at(fd, self.path):
                return fd
            os.close(fd)  # we locked a file a stopping loop had just unlinked: lock the current one


def already_running_error(root: Path, pid: int | None) -> UsageError:
    """The one message for "a loop already runs here", shared by the lock and by ``autodev loop start``."""
    who = f"pid {pid}" if pid is not None else "pid unknown"
    return UsageError(f"autodev loop already running for {root} ({who}); stop it with `autodev loop stop`")


def read_holder(path: Path) -> int | None:
    """The pid of the live process holding the lock at ``path``, or None when nobody holds it.

    Probes with a shared lock from a new descriptor (which fails while the exclusive lock is held). In the
    pathological case of a holder that locked but has not written its pid within a second, the pid in the file
    (possibly stale) is returned, or None when the file holds none.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _wait_for_holder_pid(fd)
        return None
    finally:
        os.close(fd)  # also drops our shared lock


def read_pid_file(path: Path) -> int | None:
    """The pid written in the file, whether or not its process still lives (None: no file, or no pid in it)."""
    try:
        return _parse_pid(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError):
        return None


def _wait_for_holder_pid(fd: int) -> int | None:
    deadline = time.monotonic() + _PID_WRITE_GRACE_S
    pid = _pid_in(fd)
    while not (pid is not None and process_alive(pid)) and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        pid = _pid_in(fd)
    return pid


def _write_pid(fd: int, pid: int) -> None:
    """Write then truncate, so a concurrent reader sees the old pid or the new one, never an empty file."""
    data = f"{pid}\n".encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def _pid_in(fd: int) -> int | None:
    return _parse_pid(os.pread(fd, 64, 0))


def _parse_pid(data: bytes) -> int | None:
    lines = data.split(b"\n", 1)
    text = lines[0].strip()
    if not text.isdigit():
        return None
    pid = int(text)
    return pid if pid > 0 else None


def _is_file_at(fd: int, path: Path) -> bool:
    try:
        at_path = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)
