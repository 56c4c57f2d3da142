"""Running the real ``git`` binary: the only place in autodev that starts a git process.

Every command runs with an argument list (never a shell), ``--literal-pathspecs`` so a file named ``*.py``
means that file, no standard input, and a timeout. Output stays bytes: file names are not necessarily UTF-8,
and ``-z`` output is split on NUL.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from autodev.credentials import without_credentials
from autodev.errors import VcsError

QUERY_TIMEOUT_S = 60.0
# Commits may run the user's hooks ([vcs] run_hooks; pre-commit frameworks install environments on first use).
COMMIT_TIMEOUT_S = 900.0


def run_git(
    cwd: Path,
    args: Sequence[str],
    *,
    timeout: float = QUERY_TIMEOUT_S,
    config: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    literal: bool = True,
    clean_env: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run git without raising on a non-zero exit, so each caller decides what a failure means.

    ``literal`` is off only for the few commands that take plain path names and refuse pathspec magic.
    ``clean_env``: without the variables that hold credentials, for a git that may run the repository's hooks
    (a hook is a program anyone who could write into ``.git/`` chose, model-written code included).
    Raises VcsError when git is not installed or does not finish within ``timeout``.
    """
    command = ["git", "--literal-pathspecs"] if literal else ["git"]
    for key, value in (config or {}).items():
        command += ["-c", f"{key}={value}"]
    command += list(args)
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            env=_environment(env, clean_env),
        )
    except subprocess.TimeoutExpired as exc:
        raise VcsError(f"`git {' '.join(args)}` did not finish within {timeout:.0f} s") from exc
    except FileNotFoundError as exc:
        raise VcsError("git is not installed or not on PATH; autodev needs it to commit and roll back") from exc


def _environment(extra: Mapping[str, str] | None, clean: bool) -> dict[str, str] | None:
    if not clean:
        return None if extra is None else {**os.environ, **extra}
    return {**without_credentials(os.environ), **(extra or {})}


def git_output(
    cwd: Path, *args: str, timeout: float = QUERY_TIMEOUT_S, config: Mapping[str, str] | None = None
) -> bytes:
    """Run a git command that must succeed; its failure means the repository is broken (VcsError)."""
    done = run_git(cwd, args, timeout=timeout, config=config)
    if done.returncode != 0:
        raise VcsError(f"`git {' '.join(args)}` failed in {cwd}: {stderr_of(done)}")
    return done.stdout


def stderr_of(done: subprocess.CompletedProcess[bytes]) -> str:
    """What git said about a failure, for a message: its stderr, else its stdout."""
    return os.fsdecode(done.stderr).strip() or os.fsdecode(done.stdout).strip()


def split_nul(output: bytes) -> list[str]:
    return [os.fsdecode(item) for item in output.split(b"\0") if item]


def git_path(root: Path, name: str) -> Path:
    """A file of the repository's git directory (``info/exclude``, ``index.lock``), as git resolves it.

    Resolved through git so that a linked worktree uses its own or its repository's file, as git does.
    """
    return root / os.fsdecode(git_output(root, "rev-parse", "--git-path", name)).rstrip("\n")
