"""A disposable copy of the project, where an attempt's tests run so that the code under test never sees the user's
tree: it may delete, rewrite or commit there as it likes, and the next sync puts the copy back.

The copy is reused across attempts (and passes, within one process): a sync walks both trees and copies only the
files whose stamp changed, on either side, since the last sync (size, mtime, ctime and inode: a write in the copy
changes its ctime, which no process can set back), deletes what the project no longer has, and drops what the code
under test added. Files are copied, never hard-linked: a write through a hard link would change the user's file.
Where the filesystem can (btrfs, XFS), a copy is a reflink (``FICLONE``), which shares the blocks until one side
writes; elsewhere ``copy_file_range`` copies in the kernel.

Directories tools make are left out (at the top: version control, autodev's state, environments; anywhere: caches,
:mod:`autodev.discovery`). The copy's own caches are removed at each sync (bytecode planted in a ``__pycache__``
would otherwise run in the next attempt); its other tool directories (cargo's ``target``) stay between syncs.
``node_modules`` is linked, not copied. A copy inside the project gets a ``.git`` of its own, so that a git
command run by the code under test finds that empty repository and not the user's one above it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shlex
import shutil
import stat
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from autodev.discovery import CACHE_DIRS, NOT_COPIED_AT_TOP, is_test_file
from autodev.errors import WorkspaceWriteError

__all__ = ["PRISTINE_AT_TOP", "ProjectCopy", "SyncStats", "anchored_command", "copy_for", "is_pristine"]

SHARED_WITH_COPIES = "node_modules"
"""Not copied but linked from the copy: the installed packages a JavaScript project's tests need."""
RUST_BUILD_DIR = "target"
"""cargo's build output: a Rust project's copy builds into its own (kept between syncs), never copies the user's."""
PRISTINE_AT_TOP = frozenset(
    {"pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "package.json", "Cargo.toml", "autodev.toml"}
)
"""Configuration the code under test must not change while its tests run (conftest.py and tests: anywhere)."""
PRISTINE_ANYWHERE = frozenset({"conftest.py"})
_RACY_NS = 50_000_000
"""A file changed this recently (50 ms) is copied again at the next sync: timestamps are coarse (a clock tick), so
a second save of the same size may not change its stamp (git's "racy" files)."""
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_GIT_GUARD = {"HEAD": "ref: refs/heads/main\n", "config": "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"}

Stamp = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, mode


@dataclass
class SyncStats:
    """What one sync did: files copied (``copied`` of them as reflinks), entries removed, seconds taken."""

    copied: int = 0
    reflinked: int = 0
    removed: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class _Entry:
    kind: str  # "f" file, "l" symlink, "d" directory
    stamp: Stamp
    link: str = ""


class ProjectCopy:
    """The project's files under ``place``, brought back to the project's state by each :meth:`sync`."""

    def __init__(self, project: Path, place: Path, *, git_guard: bool | None = None) -> None:
        self.project = project.resolve()
        self.root = place
        inside = place.resolve().is_relative_to(self.project)
        self.git_guard = inside if git_guard is None else git_guard
        self._synced: dict[str, tuple[Stamp, Stamp]] = {}  # rel -> (project's stamp, copy's stamp) at the sync
        self._reflinks = True
        rust = (self.project / "Cargo.toml").is_file()
        self.skip_top = frozenset({SHARED_WITH_COPIES, *((RUST_BUILD_DIR,) if rust else ())})

    # ------------------------------------------------------------------------------------------------ sync

    def sync(self) -> SyncStats:
        """Make the copy hold exactly the project's files; only what changed on either side is copied."""
        started = time.perf_counter()
        stats = SyncStats()
        self.root.mkdir(parents=True, exist_ok=True)
        source = _walk(self.project, self.skip_top)
        caches: list[str] = []
        present = _walk(self.root, self.skip_top, caches)
        for rel in caches:  # bytecode planted there would be run by the next attempt (a forged test's .pyc)
            _remove(self.root / rel)
        for rel in sorted(set(present) - set(source), key=lambda r: r.count("/"), reverse=True):
            _remove(self.root / rel)
            self._synced.pop(rel, None)
            stats.removed += 1
        for rel, entry in source.items():  # parents before children: the walk is top-down
            self._sync_entry(rel, entry, present.get(rel), stats)
        for rel in set(self._synced) - set(source):
            del self._synced[rel]
        self._link_installed_packages()
        if self.git_guard:
            self._guard_git()
        stats.seconds = time.perf_counter() - started
        return stats

    def _sync_entry(self, rel: str, entry: _Entry, there: _Entry | None, stats: SyncStats) -> None:
        target = self.root / rel
        if entry.kind == "d":
            if there is not None and there.kind != "d":
                _remove(target)
                there = None
            if there is None:
                target.mkdir()
            return
        if entry.kind == "l":
            link = self._link_target(entry.link)
            if there is not None and (there.kind != "l" or there.link != link):
                _remove(target)
                there = None
            if there is None:
                target.symlink_to(link)
            return
        if there is not None and there.kind == "f" and self._synced.get(rel) == (entry.stamp, there.stamp):
            return
        if there is not None:
            _remove(target)
        self._copy_file(self.project / rel, target, stats)
        _drop_bytecode(target)
        if time.time_ns() - max(entry.stamp[1], entry.stamp[2]) < _RACY_NS:
            self._synced.pop(rel, None)  # changed within a clock tick of now: a second save may share its stamp
        else:
            self._synced[rel] = (entry.stamp, _stamp(os.lstat(target)))

    def _link_target(self, link: str) -> str:
        """An absolute link into the project points at the copy's own file instead (never at the user's)."""
        resolved = Path(link)
        if resolved.is_absolute() and resolved.is_relative_to(self.project):
            return str(self.root / resolved.relative_to(self.project))
        return link

    def _copy_file(self, source: Path, target: Path, stats: SyncStats) -> None:
        with source.open("rb") as src, target.open("xb") as dst:
            if self._reflinks:
                try:
                    fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
                    stats.reflinked += 1
                except OSError:
                    self._reflinks = False  # this filesystem cannot: copy from now on
            if not self._reflinks:
                _copy_bytes(src.fileno(), dst.fileno())
        shutil.copystat(source, target, follow_symlinks=False)
        stats.copied += 1

    def _link_installed_packages(self) -> None:
        installed = self.project / SHARED_WITH_COPIES
        link = self.root / SHARED_WITH_COPIES
        if link.is_symlink() and link.readlink() == installed:
            return
        if link.exists() or link.is_symlink():
            _remove(link)  # a link the code under test pointed elsewhere, or a directory it planted
        if installed.is_dir():
            link.symlink_to(installed, target_is_directory=True)

    def _guard_git(self) -> None:
        """An empty repository of the copy's own: git run by the tests stops there, never reaches the user's.

        Made anew at each sync: the code under test may have pointed it elsewhere (a link to the user's .git, a
        ``core.worktree`` in its config), which the next attempt would otherwise inherit."""
        guard = self.root / ".git"
        if guard.exists() or guard.is_symlink():
            _remove(guard)
        for sub in ("objects", "refs/heads"):
            (guard / sub).mkdir(parents=True, exist_ok=True)
        for name, text in _GIT_GUARD.items():
            (guard / name).write_text(text, encoding="utf-8")

    def prepare(self, changes: Mapping[str, str]) -> SyncStats:
        """:meth:`sync`, then :meth:`write` ``changes``: the copy as the project is now, with an attempt's files in it.

        A failure is WorkspaceWriteError, whose message says the user's files are untouched (only the copy is)."""
        try:
            stats = self.sync()
            self.write(changes)
        except (OSError, ValueError) as exc:
            raise WorkspaceWriteError(
                f"could not prepare the copy of the project in {self.root} to test the changes: {exc}; "
                "your files are untouched"
            ) from exc
        return stats

    def write(self, changes: Mapping[str, str]) -> None:
        """The attempt's files, written into the copy (new directories made as needed)."""
        for rel, text in changes.items():
            target = self.inside(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                _remove(target)
            target.write_bytes(text.encode("utf-8"))
            _drop_bytecode(target)

    def inside(self, rel: str) -> Path:
        """Where ``rel`` lives in the copy, through no symlink: the real path in the project, relative to it."""
        relative = (self.project / rel).resolve().relative_to(self.project)
        target = self.root / relative
        if not target.parent.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"{rel} leads out of the project through a link")
        return target

    def tampered(self, pristine: Iterable[str], changes: Mapping[str, str]) -> list[str]:
        """The files the tests and their configuration live in that are not, in the copy, the bytes they should
        hold after the last sync and ``changes``: rewritten, deleted, or added by the code under test."""
        expected = {rel: text.encode("utf-8") for rel, text in changes.items()}
        watched = set(pristine) | {rel for rel in _walk(self.project, self.skip_top) if is_pristine(rel)}
        found = {rel for rel, e in _walk(self.root, self.skip_top).items() if e.kind == "f" and is_pristine(rel)}
        changed = []
        for rel in sorted(watched | found):
            copy_file, user_file = self.root / rel, self.project / rel
            try:
                now = copy_file.read_bytes() if not copy_file.is_symlink() else None
            except OSError:
                now = None
            want = expected.get(rel)
            if want is None:
                synced = self._synced.get(rel)
                if synced is not None and now is not None and synced[1] == _stamp(os.lstat(copy_file)):
                    continue  # untouched since the sync
                try:
                    want = user_file.read_bytes() if not user_file.is_symlink() else None
                except OSError:
                    want = None
            if now != want or user_file.is_symlink() != copy_file.is_symlink():
                changed.append(rel)
        return changed

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._synced.clear()


def anchored_command(command: str, project: Path) -> str:
    """The test command as run in a copy: a program named relative to the project (``.venv/bin/pytest``) is the
    project's own, by its absolute path, since environments are not copied."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return command  # run_tests says what is wrong with it
    if argv and "/" in argv[0] and not Path(argv[0]).is_absolute() and (project / argv[0]).exists():
        return shlex.join([str(project / argv[0]), *argv[1:]])
    return command


def is_pristine(rel: str) -> bool:
    """A test file, a conftest.py (anywhere) or a top-level configuration file of the tests or of autodev."""
    name = rel.rsplit("/", 1)[-1]
    return ("/" not in rel and rel in PRISTINE_AT_TOP) or name in PRISTINE_ANYWHERE or is_test_file(name)


_COPIES: dict[Path, ProjectCopy] = {}
_COPIES_LOCK = threading.Lock()


def copy_for(project: Path, place: Path) -> ProjectCopy:
    """The one copy of ``project`` at ``place`` in this process: a watch loop's passes share it, and its sync."""
    key = place.resolve()
    with _COPIES_LOCK:
        copy = _COPIES.get(key)
        if copy is None or copy.project != project.resolve():
            if copy is None and place.exists():
                shutil.rmtree(place, ignore_errors=True)  # left by another process: nothing in it is known
            copy = _COPIES[key] = ProjectCopy(project, place)
        return copy


# ------------------------------------------------------------------------------------------------ helpers


def _stamp(info: os.stat_result) -> Stamp:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_mode)


def _skipped(entry: os.DirEntry[str], at_top: bool, skip_top: frozenset[str]) -> bool:
    """Tool directories at the top, by name whatever they are (a worktree's .git is a file); caches anywhere."""
    if at_top and (entry.name in NOT_COPIED_AT_TOP or entry.name in skip_top):
        return True
    cache = entry.name in CACHE_DIRS or fnmatchcase(entry.name, "pytest-cache-files-*")
    return cache and entry.is_dir(follow_symlinks=False)


def _walk(top: Path, skip_top: frozenset[str], caches: list[str] | None = None) -> dict[str, _Entry]:
    """Every entry under ``top`` but the skipped directories, parents before their children; the caches skipped
    below the top are listed in ``caches`` when given."""
    found: dict[str, _Entry] = {}
    pending = [("", str(top))]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            if _skipped(entry, not prefix, skip_top):
                if caches is not None and entry.name in CACHE_DIRS:
                    caches.append(prefix + entry.name)
                continue
            rel = prefix + entry.name
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = _Entry("l", _stamp(info), str(Path(entry.path).readlink()))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = _Entry("d", _stamp(info))
                pending.append((rel + "/", entry.path))
            elif stat.S_ISREG(info.st_mode):
                found[rel] = _Entry("f", _stamp(info))
    return dict(sorted(found.items(), key=lambda item: item[0].count("/")))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            shutil.rmtree(path, ignore_errors=True)


def _copy_bytes(src: int, dst: int) -> None:
    """In the kernel where it can (``copy_file_range``), else through a buffer."""
    size = os.fstat(src).st_size
    copied = 0
    try:
        if not hasattr(os, "copy_file_range"):  # not on macOS
            raise OSError(errno.ENOSYS, "copy_file_range")
        while copied < size:
            sent = os.copy_file_range(src, dst, size - copied)
            if sent == 0:
                break
            copied += sent
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP) or copied:
            raise
    while chunk := os.read(src, 1 << 20):
        os.write(dst, chunk)


def _drop_bytecode(path: Path) -> None:
    """A .py file's cached bytecode in the copy goes with it: a stale .pyc of the same size and second would be
    taken for the new source's."""
    if path.suffix != ".py":
        return
    cache = path.parent / "__pycache__"
    if not cache.is_dir():
        return
    for compiled in cache.glob(f"{path.stem}.*.pyc"):
        with contextlib.suppress(OSError):
            compiled.unlink()
