"""The one place autodev talks to git: find the repository, see what is uncommitted, commit autodev's files.

Every command runs the real ``git`` binary with an argument list (never a shell), ``--literal-pathspecs`` so
a file named ``*.py`` means that file, and a timeout. Nothing here resets, stashes, cleans or checks out: the
user's work tree and index are only ever read, except the exact paths given to :meth:`GitRepo.commit_paths`.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from autodev.errors import NotARepositoryError, VcsError
from autodev.fileio import atomic_write

FALLBACK_NAME = "autodev"
FALLBACK_EMAIL = "autodev@localhost"
QUERY_TIMEOUT_S = 60.0
# Commits run the user's hooks (pre-commit frameworks may install environments on first use).
COMMIT_TIMEOUT_S = 900.0
_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_PROC = Path("/proc")  # where running git processes are looked for; absent on macOS


def _not_a_repository(path: Path) -> NotARepositoryError:
    return NotARepositoryError(f"{path} is not inside a git repository; run `autodev init` (or `git init`) first")


def _run_git(
    cwd: Path,
    args: Sequence[str],
    *,
    timeout: float = QUERY_TIMEOUT_S,
    config: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    literal: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git without raising on a non-zero exit, so each caller decides what a failure means.

    Output stays bytes: file names are not necessarily UTF-8, and ``-z`` output is split on NUL.
    ``literal`` is off only for the few commands that take plain path names and refuse pathspec magic.
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
            env=None if env is None else {**os.environ, **env},
        )
    except subprocess.TimeoutExpired as exc:
        raise VcsError(f"`git {' '.join(args)}` did not finish within {timeout:.0f} s") from exc
    except FileNotFoundError as exc:
        raise VcsError("git is not installed or not on PATH; autodev needs it to commit and roll back") from exc


def _stderr(done: subprocess.CompletedProcess[bytes]) -> str:
    return os.fsdecode(done.stderr).strip() or os.fsdecode(done.stdout).strip()


def _nearest_existing_dir(path: Path) -> Path:
    """git needs a real directory to start from; a path autodev is about to create has none yet."""
    candidate = path.absolute()
    while not candidate.is_dir():
        if candidate.parent == candidate:
            break
        candidate = candidate.parent
    return candidate


def _split_nul(output: bytes) -> list[str]:
    return [os.fsdecode(item) for item in output.split(b"\0") if item]


class GitRepo:
    """A git work tree autodev may commit into; ``root`` is the top of the work tree."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """Find the work tree containing ``path`` the way git itself does (parents, worktrees, GIT_DIR)."""
        start = _nearest_existing_dir(path)
        done = _run_git(start, ["rev-parse", "--show-toplevel"], env={"LC_ALL": "C", "LANGUAGE": "C"})
        if done.returncode == 0:
            return cls(Path(os.fsdecode(done.stdout).rstrip("\n")))
        message = _stderr(done)
        if "not a git repository" in message:
            raise _not_a_repository(path)
        if "must be run in a work tree" in message:
            raise NotARepositoryError(
                f"{path} is in a bare repository or inside a .git directory; autodev needs a work tree"
            )
        raise VcsError(f"git cannot open the repository at {path}: {message}")

    def _git(self, *args: str, timeout: float = QUERY_TIMEOUT_S) -> bytes:
        """Run a git query that must succeed; its failure means the repository is broken."""
        done = _run_git(self.root, args, timeout=timeout)
        if done.returncode != 0:
            raise VcsError(f"`git {' '.join(args)}` failed in {self.root}: {_stderr(done)}")
        return done.stdout

    def head_sha(self) -> str | None:
        done = _run_git(self.root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        if done.returncode != 0:
            return None
        return os.fsdecode(done.stdout).strip()

    def status_porcelain(self) -> str:
        return os.fsdecode(self._git("status", "--porcelain=v1", "-uall"))

    def uncommitted(self, paths: Iterable[str]) -> list[str]:
        """Which of ``paths`` hold something HEAD does not: the files autodev must not overwrite.

        One ``git status`` over exactly these paths answers it: staged or unstaged changes, deletions,
        untracked and ignored files all show up there, and it works before the first commit (everything
        in the index then reads as added). A directory counts when anything under it is listed.
        """
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return []
        output = self._git("status", "--porcelain=v1", "-z", "-uall", "--ignored", "--no-renames", "--", *wanted)
        listed = {entry[3:] for entry in _split_nul(output) if len(entry) > 3}
        return [path for path in wanted if _listed(path, listed)]

    def is_ignored(self, rel: str) -> bool:
        """True when git's ignore rules exclude ``rel``; a tracked file is never ignored, as in git."""
        done = _run_git(self.root, ["check-ignore", "--quiet", "--", rel], literal=False)
        if done.returncode in (0, 1):
            return done.returncode == 0
        raise VcsError(f"`git check-ignore {rel}` failed in {self.root}: {_stderr(done)}")

    def ensure_excluded(self, pattern: str = ".autodev/") -> bool:
        """Keep autodev's state out of ``git status`` without editing the user's tracked .gitignore.

        ``info/exclude`` is resolved through git so a linked worktree uses its repository's file.
        """
        exclude = self.root / os.fsdecode(self._git("rev-parse", "--git-path", "info/exclude")).rstrip("\n")
        existing = exclude.read_bytes() if exclude.exists() else b""
        lines = {line.strip() for line in os.fsdecode(existing).splitlines()}
        if pattern in lines:
            return False
        separator = b"" if not existing or existing.endswith(b"\n") else b"\n"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(exclude, existing + separator + os.fsencode(pattern) + b"\n")
        return True

    def clear_stale_index_lock(self, *, older_than_s: float = 10.0) -> str | None:
        """Remove an ``index.lock`` that no git process holds, so a crash or ``kill -9`` does not block git forever.

        Removing a live lock would let two gits write the index at once, so the lock goes only when it is
        older than ``older_than_s`` *and* no ``git`` process runs with its working directory in this work tree
        or its git directory (found through /proc; where there is no /proc, age alone decides). A lock that
        looks live is left for git to report in its own words. Returns a line for the log when it removed one.
        """
        lock = self.root / os.fsdecode(self._git("rev-parse", "--git-path", "index.lock")).rstrip("\n")
        try:
            age_s = time.time() - lock.lstat().st_mtime
        except FileNotFoundError:
            return None
        if age_s < older_than_s:
            return None
        places = [self.root.resolve(), lock.parent.resolve()]
        if _git_process_in(places) is not None:
            return None
        try:
            lock.unlink()
        except FileNotFoundError:  # its git finished in the meantime
            return None
        checked = "no git process is running there" if _PROC.is_dir() else "/proc is unavailable, so by age alone"
        return f"removed a stale git lock {lock} ({age_s:.0f} s old; {checked})"

    def commit_paths(self, paths: Sequence[str], message: str, trailers: Mapping[str, str]) -> str:
        """Commit exactly ``paths`` as they are on disk, leaving whatever else the user staged staged.

        ``git commit --only`` builds the commit from HEAD plus these paths in a temporary index, runs the
        user's hooks against it, and on success updates the real index for these paths alone. Files git
        does not know yet must be added first; if the commit fails those additions are undone, so the index
        is as it was.
        """
        full_message = _full_message(message, trailers)
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            raise VcsError("nothing to commit: no paths were given")
        known = set(_split_nul(self._git("ls-files", "-z", "--", *wanted)))
        new = [path for path in wanted if path not in known and os.path.lexists(self.root / path)]
        committable = [path for path in wanted if path in known or path in new]
        if not committable:
            raise VcsError(f"nothing to commit: {', '.join(wanted)} neither exist nor are tracked")
        if new:
            # -f: these are autodev's own files, to be committed even if a broad ignore rule covers them.
            self._git("add", "--force", "--", *new)
        try:
            return self._commit_only(committable, full_message)
        except BaseException:
            if new:
                _run_git(self.root, ["rm", "--cached", "--quiet", "--ignore-unmatch", "--", *new])
            raise

    def _commit_only(self, paths: list[str], message: str) -> str:
        before = self.head_sha()
        with tempfile.TemporaryDirectory(prefix="autodev-commit-") as scratch:
            message_file = Path(scratch) / "message"
            message_file.write_text(message, encoding="utf-8")
            done = _run_git(
                self.root,
                [
                    "commit",
                    "--quiet",
                    "--only",
                    "--cleanup=whitespace",
                    "-F",
                    str(message_file),
                    "--",
                    *paths,
                ],
                timeout=COMMIT_TIMEOUT_S,
                config=self._fallback_identity(),
            )
        after = self.head_sha()
        if done.returncode != 0 or after is None or after == before:
            detail = _stderr(done) or f"git exited with status {done.returncode} and said nothing"
            raise VcsError(f"git refused to commit {', '.join(paths)}: {detail}")
        return after

    def _fallback_identity(self) -> dict[str, str]:
        """Supply an identity only for what git has none of, so a configured identity always wins."""
        fallback: dict[str, str] = {}
        if not self._identity_known("user.name", ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")):
            fallback["user.name"] = FALLBACK_NAME
        if not self._identity_known("user.email", ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")) and not (
            os.environ.get("EMAIL")
        ):
            fallback["user.email"] = FALLBACK_EMAIL
        return fallback

    def _identity_known(self, key: str, env_names: tuple[str, str]) -> bool:
        if all(os.environ.get(name) for name in env_names):
            return True
        done = _run_git(self.root, ["config", "--get", key])
        return done.returncode == 0 and bool(done.stdout.strip())


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


def _listed(path: str, listed: set[str]) -> bool:
    prefix = path.rstrip("/") + "/"
    return path in listed or any(entry.startswith(prefix) for entry in listed)


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


def init_repository(path: Path) -> GitRepo:
    """Create a repository (branch ``main``) at ``path``; an existing one is left as git leaves it."""
    path.mkdir(parents=True, exist_ok=True)
    done = _run_git(path, ["init", "--quiet", "--initial-branch=main"])
    if done.returncode != 0:
        raise VcsError(f"`git init` failed in {path}: {_stderr(done)}")
    return GitRepo.open(path)
