"""Processes a test run left behind: found by a mark in their environment, and killed.

Killing the run's process group catches what stays in it, but code under test can leave it: a double fork with
`setsid` starts a session of its own, and a `kill -9` of autodev ends the run with nobody left to kill the group.
Every process the run starts inherits its environment, so each run carries :data:`RUN_MARK` (a token and the
project root); after the run, any process still carrying its token is killed, and at the start of the next pass
any process carrying the project's root is (one pass at a time per project: such a process can only be left from
a run that is over). Code that scrubs its own environment escapes this; docs/configuration.md says so.
Linux only (it reads /proc); elsewhere the process group is the only net.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import MutableMapping
from pathlib import Path
from typing import Final

RUN_MARK: Final = "AUTODEV_TEST_RUN"
_PROC: Final = Path("/proc")
_PREFIX: Final = f"{RUN_MARK}=".encode()


def mark_environment(env: MutableMapping[str, str], root: Path) -> str:
    """Put a fresh run's mark into ``env``; returns its token."""
    token = uuid.uuid4().hex
    env[RUN_MARK] = f"{token} {root.resolve()}"
    return token


def reap(*, token: str | None = None, root: Path | None = None) -> list[int]:
    """SIGKILL every process whose mark has ``token`` (or names ``root``); their pids. Never this process."""
    if not _PROC.is_dir():
        return []
    wanted_root = str(root.resolve()) if root is not None else None
    killed: list[int] = []
    for pid, mark in _marked_processes():
        found_token, _, found_root = mark.partition(" ")
        if (token is not None and found_token == token) or (wanted_root is not None and found_root == wanted_root):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


def _marked_processes() -> list[tuple[int, str]]:
    """Every process with a mark, but this one and its ancestors (autodev started from a test run is not its
    leftover: the tests that started it are still running)."""
    spared = _ancestors()
    found: list[tuple[int, str]] = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, a kernel thread, or another user's
            continue
        for item in environ.split(b"\0"):
            if item.startswith(_PREFIX):
                found.append((int(entry.name), item[len(_PREFIX) :].decode("utf-8", "replace")))
                break
    return found


def _ancestors() -> set[int]:
    """This process and its parents up to init, from /proc/PID/stat (the field after the command's parenthesis)."""
    chain = {os.getpid()}
    pid = os.getppid()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        try:
            stat = (_PROC / str(pid) / "stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain
