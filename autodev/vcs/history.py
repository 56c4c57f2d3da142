"""Reading history from any directory, repository or not: the commit checked out, and commits' trailers.

Both answer "nothing" (None, an empty list) where there is no history to read: outside a repository, or
before its first commit. Only git itself failing (not installed, too slow) raises VcsError.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.vcs.git import run_git

_FIELD = "\x00"
_RECORD = "\x1e"
_VALUES = "\x1f"


class TrailedCommit(BaseModel):
    """One commit and the values of the trailers asked for (``Key: value`` lines at the end of its message)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha: str
    trailers: dict[str, list[str]]  # every key asked for, in order of appearance; [] when the commit has none


def head_commit(directory: Path) -> str | None:
    """The commit checked out in the work tree holding ``directory``; None outside one or before a first commit."""
    if not directory.is_dir():
        return None
    done = run_git(directory, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
    if done.returncode != 0:
        return None
    return os.fsdecode(done.stdout).strip() or None


def trailer_log(directory: Path, keys: Sequence[str]) -> list[TrailedCommit]:
    """The commits that touch ``directory``, newest first, each with its values of the trailers ``keys``."""
    if not directory.is_dir():
        return []
    trailer_fields = "".join(f"%x00%(trailers:valueonly,separator=%x1f,key={key})" for key in keys)
    done = run_git(directory, ["log", "--no-show-signature", f"--format=%H{trailer_fields}%x1e", "--", "."])
    if done.returncode != 0:  # not a repository, or no commits yet
        return []
    commits: list[TrailedCommit] = []
    for record in done.stdout.decode("utf-8", errors="replace").split(_RECORD):
        fields = record.strip("\n").split(_FIELD)
        if len(fields) != 1 + len(keys):
            continue
        values = {
            key: [v.strip() for v in field.split(_VALUES) if v.strip()]
            for key, field in zip(keys, fields[1:], strict=True)
        }
        commits.append(TrailedCommit(sha=fields[0].strip(), trailers=values))
    return commits
