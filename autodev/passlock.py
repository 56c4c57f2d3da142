"""One pass at a time per project: `.autodev/pass.lock`, held with an exclusive flock while files may change.

A pass (`run --once`, each of the loop's passes, the bench on a project), `ask --apply` and `undo` all write the
user's files through the journal; two at once would see each other's half-done attempt as an interrupted one and
roll it back, or commit a file the other had just overwritten. The kernel drops the lock when its holder dies,
however it dies, so a crash never blocks the next start; the file itself is never removed (so no second lock can
be taken on a new file while the old one is held). The holder's pid and what it is doing are written in it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from autodev.errors import UsageError

LOCK_FILE_NAME: Final = "pass.lock"
_POLL_S: Final = 0.2
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


class ProjectBusyError(UsageError):
    """Another autodev process is changing this project's files; exit 2, like a loop already running."""


@contextlib.contextmanager
def pass_lock(state_dir: Path, *, doing: str, wait: bool = False) -> Iterator[None]:
    """Hold the project's pass lock for the block; ``wait``: until it is free, else fail at once naming the holder.

    ``doing`` ("run --once", "loop pass", "ask --apply", "undo") is written for the message another process shows.
    The descriptor is close-on-exec: test processes never inherit the lock and never keep it after autodev dies.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o644)
    try:
        _take(fd, path, wait=wait)
        data = f"{os.getpid()} {doing}\n".encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        yield
    finally:
        os.close(fd)  # closing drops the flock


def _take(fd: int, path: Path, *, wait: bool) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not wait:
                raise ProjectBusyError(_busy_message(fd, path)) from None
            time.sleep(_POLL_S)  # a poll, not a blocking flock: Ctrl-C and SIGTERM stay prompt


def _busy_message(fd: int, path: Path) -> str:
    words = os.pread(fd, 200, 0).decode("utf-8", "replace").split(maxsplit=1)
    holder = f"pid {words[0]}" if words and words[0].isdigit() else "another process"
    doing = words[1].strip() if len(words) > 1 else "a pass"
    return (
        f"another autodev is changing this project's files ({holder}: {doing}; lock {path}); "
        "wait for it to finish, or give `run --once --wait`"
    )
