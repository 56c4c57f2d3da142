"""A stale ``index.lock`` is removed when no git process holds it: a crash or ``kill -9`` must not block git forever."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from autodev.vcs.git import git_path

_PROC = Path("/proc")  # where running git processes are looked for; absent on macOS
# With /proc the running gits are seen, so a lock only has to outlive a git that is just starting; without it,
# age alone decides and must be generous. A restart seconds after a kill -9 must not fail its commits.
PROC_AGE_S = 2.0
AGE_ALONE_S = 10.0


def clear_stale_index_lock(root: Path, *, older_than_s: float | None = None) -> str | None:
    """Remove the work tree's ``index.lock`` if no git process holds it; a line for the log when it did.

    Removing a live lock would let two gits write the index at once, so the lock goes only when it is
    older than ``older_than_s`` (default: :data:`PROC_AGE_S`, or :data:`AGE_ALONE_S` without /proc) *and* no
    ``git`` process runs with its working directory in this work tree
    or its git directory (found through /proc; where there is no /proc, age alone decides). A lock that
    looks live is left for git to report in its own words.
    """
    if older_than_s is None:
        older_than_s = PROC_AGE_S if _PROC.is_dir() else AGE_ALONE_S
    lock = git_path(root, "index.lock")
    try:
        age_s = time.time() - lock.lstat().st_mtime
    except FileNotFoundError:
        return None
    if age_s < older_than_s:
        return None
    places = [root.resolve(), lock.parent.resolve()]
    if _git_process_in(places) is not None:
        return None
    try:
        lock.unlink()
    except FileNotFoundError:  # its git finished in the meantime
        return None
    checked = "no git process is running there" if _PROC.is_dir() else "/proc is unavailable, so by age alone"
    return f"removed a stale git lock {lock} ({age_s:.0f} s old; {checked})"


def _git_process_in(places: Sequence[Path]) -> int | None:
    """The pid of a running ``git`` whose working directory is inside one of ``places``, if any.

    git moves to the top of the work tree (or into the git directory) before it takes the index lock, so
    its cwd tells which repository it works on. Processes whose cwd cannot be read (another user's) are not
    counted: where they work cannot be told, and another user's git in this project would be unusual.
    """
    if not _PROC.is_dir():
        return None
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
            if not _is_git_program(Path(os.fsdecode(argv0)).name):
                continue
            cwd = (entry / "cwd").readlink()
        except OSError:  # gone, a kernel thread, or not ours to read
            continue
        if any(cwd == place or cwd.is_relative_to(place) for place in places):
            return int(entry.name)
    return None


def _is_git_program(name: str) -> bool:
    """``git`` itself and the ``git-*`` programs it runs (``git-upload-pack``, ``git-remote-https``)."""
    return name == "git" or name.startswith("git-")
