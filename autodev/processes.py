"""Whether a process with a given pid exists: the one check behind the journal's, the pass lock's, the loop's and
the spend file's "is its owner still running?"."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists; another user's counts (the signal is refused, but it is there), and
    so does a zombie (it has not been reaped yet). 0 and negative numbers name process groups, not a process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
