"""Making commits: exactly autodev's files in a user's repository, or everything in a repository autodev laid out.

Nothing here resets, stashes, cleans or checks out: in a user's work tree only the exact paths given to
:func:`commit_paths` are ever staged, and whatever else the user staged stays staged.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from autodev.errors import VcsError
from autodev.vcs.git import COMMIT_TIMEOUT_S, git_output, run_git, split_nul, stderr_of
from autodev.vcs.history import head_commit

FALLBACK_NAME = "autodev"
FALLBACK_EMAIL = "autodev@localhost"
NO_HOOKS = {"core.hooksPath": os.devnull}  # an empty hooks directory: no hook of the repository runs
_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def commit_paths(
    root: Path, paths: Sequence[str], message: str, trailers: Mapping[str, str], *, run_hooks: bool = False
) -> str:
    """Commit exactly ``paths`` as they are on disk, leaving whatever else the user staged staged.

    ``git commit --only`` builds the commit from HEAD plus these paths in a temporary index and on success
    updates the real index for these paths alone. Files git does not know yet must be added first; if the
    commit fails those additions are undone, so the index is as it was. The repository's hooks run only with
    ``run_hooks`` (``[vcs] run_hooks``): code under test can write ``.git/hooks``, and a hook that ran in
    autodev's commit would run what it wrote. Either way git gets an environment without credentials.
    """
    full_message = _full_message(message, trailers)
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        raise VcsError("nothing to commit: no paths were given")
    known = set(split_nul(git_output(root, "ls-files", "-z", "--", *wanted)))
    new = [path for path in wanted if path not in known and os.path.lexists(root / path)]
    committable = [path for path in wanted if path in known or path in new]
    if not committable:
        raise VcsError(f"nothing to commit: {', '.join(wanted)} neither exist nor are tracked")
    if new:
        # -f: these are autodev's own files, to be committed even if a broad ignore rule covers them.
        git_output(root, "add", "--force", "--", *new)
    try:
        return _commit_only(root, committable, full_message, run_hooks=run_hooks)
    except BaseException:
        if new:
            run_git(root, ["rm", "--cached", "--quiet", "--ignore-unmatch", "--", *new])
        raise


def commit_all(root: Path, message: str, *, name: str, email: str) -> str:
    """Commit the whole work tree as it is, as ``name <email>`` and unsigned, whatever git's configuration says.

    Only for repositories autodev lays out itself (the benchmark's projects), never a user's: it stages
    everything that is not ignored.
    """
    identity = {"user.name": name, "user.email": email, "commit.gpgsign": "false"} | NO_HOOKS
    git_output(root, "add", "--all")
    git_output(root, "commit", "--quiet", "-m", message, timeout=COMMIT_TIMEOUT_S, config=identity)
    sha = head_commit(root)
    if sha is None:
        raise VcsError(f"git made no commit in {root}")
    return sha


def _commit_only(root: Path, paths: list[str], message: str, *, run_hooks: bool) -> str:
    before = head_commit(root)
    with tempfile.TemporaryDirectory(prefix="autodev-commit-") as scratch:
        message_file = Path(scratch) / "message"
        message_file.write_text(message, encoding="utf-8")
        done = run_git(
            root,
            ["commit", "--quiet", "--only", "--cleanup=whitespace", "-F", str(message_file), "--", *paths],
            timeout=COMMIT_TIMEOUT_S,
            config=_fallback_identity(root) | ({} if run_hooks else NO_HOOKS),
            clean_env=True,
        )
    after = head_commit(root)
    if done.returncode != 0 or after is None or after == before:
        detail = stderr_of(done) or f"git exited with status {done.returncode} and said nothing"
        raise VcsError(f"git refused to commit {', '.join(paths)}: {detail}")
    return after


def _fallback_identity(root: Path) -> dict[str, str]:
    """Supply an identity only for what git has none of, so a configured identity always wins."""
    fallback: dict[str, str] = {}
    if not _identity_known(root, "user.name", ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")):
        fallback["user.name"] = FALLBACK_NAME
    if not _identity_known(root, "user.email", ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")) and not (
        os.environ.get("EMAIL")
    ):
        fallback["user.email"] = FALLBACK_EMAIL
    return fallback


def _identity_known(root: Path, key: str, env_names: tuple[str, str]) -> bool:
    if all(os.environ.get(name) for name in env_names):
        return True
    done = run_git(root, ["config", "--get", key])
    return done.returncode == 0 and bool(done.stdout.strip())


def _full_message(message: str, trailers: Mapping[str, str]) -> str:
    """Message, blank line, ``Key: value`` lines: the layout ``git interpret-trailers`` parses."""
    body = message.strip()
    if not body:
        raise ValueError("a commit needs a message")
    lines = []
    for key, value in trailers.items():
        if not _TRAILER_KEY.match(key):
            raise ValueError(f"invalid commit trailer key {key!r}: letters, digits and '-' only")
        lines.append(f"{key}: {' '.join(str(value).split())}")
    if not lines:
        return body + "\n"
    return body + "\n\n" + "\n".join(lines) + "\n"
