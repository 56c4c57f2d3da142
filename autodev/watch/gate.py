"""The content gate: a pass is due only when a relevant file's bytes differ from what the last pass saw.

Events say that something happened to a file, not that its content changed: an mtime-only touch, an editor
saving identical bytes, autodev writing or restoring a file, or a reader closing it all produce events. The
gate remembers a SHA-256 per relevant file and lets through only real content changes, so none of those
start a pass and autodev can never trigger itself.

A file that does not exist has no digest; "absent before and absent now" is no change, "present before and
absent now" (a deletion) is one. The gate is shared between the loop thread and whatever records autodev's
own writes, hence the lock.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

from structlog.typing import FilteringBoundLogger

from autodev.logs import get_logger

_CHUNK_SIZE = 1 << 20
_ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})


def _log() -> FilteringBoundLogger:
    """Looked up at each use, so that logging configured after import (by the CLI, by tests) applies."""
    return get_logger(component="watch")


def hash_bytes(data: bytes) -> str:
    """The digest the gate uses, for callers that hold the bytes they are about to write."""
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> str | None:
    """SHA-256 of a regular file read in chunks (specs and tests can be large); None when there is none.

    Anything that is not a regular file (vanished, a directory, a FIFO that would block a read) has no
    content to compare, so it counts as absent. Other read errors (permissions, I/O) are raised.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in _ABSENT_ERRNOS:
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK_SIZE):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


class _Unreadable:
    """Marks a file whose content cannot be read now: neither a change nor a new baseline."""


_UNREADABLE = _Unreadable()


class ContentGate:
    """Remembers each relevant file's digest as the last pass saw it and answers "did its content change?".

    Keys are rel posix paths under ``root``. Only present files are remembered: forgetting a path and
    remembering it as absent mean the same thing.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- recording

    def snapshot(self, paths: Iterable[str]) -> None:
        """Take the current content of ``paths`` as seen: the baseline at start, before the first pass."""
        for rel in paths:
            current = self._current(rel)
            if not isinstance(current, _Unreadable):
                self.seen(rel, current)

    def seen(self, rel: str, digest: str | None) -> None:
        """Remember ``digest`` (None: absent) as the content of ``rel`` that a pass has seen."""
        with self._lock:
            self._remember(rel, digest)

    def record_own_write(self, rel: str, digest: str | None) -> None:
        """autodev wrote (or restored, or deleted: None) this file; its events must not start a pass.

        Recorded as seen, so that only a later, different content counts; if the user then brings back the
        bytes the file had before autodev's write, that is a change too, as it should be.
        """
        with self._lock:
            self._remember(rel, digest)
        _log().debug("watch_own_write", path=rel, digest=digest)

    # -------------------------------------------------------------------------------------------- questions

    def digest_of(self, rel: str) -> str | None:
        """The remembered digest of ``rel``; None when it is remembered as absent or was never seen."""
        with self._lock:
            return self._seen.get(rel)

    def known(self, under: str = "") -> set[str]:
        """Remembered paths at or below the rel posix directory ``under`` ("" for all).

        A directory moved out of the project or deleted at once produces one event for the directory only;
        these are the files that event may have taken away.
        """
        with self._lock:
            if not under:
                return set(self._seen)
            prefix = under.rstrip("/") + "/"
            return {rel for rel in self._seen if rel.startswith(prefix)}

    def changed(self, rel: str) -> bool:
        """Whether the file's content now differs from the remembered one (hashing it now)."""
        current = self._current(rel)
        if isinstance(current, _Unreadable):
            return False
        with self._lock:
            return current != self._seen.get(rel)

    def consume(self, paths: Iterable[str]) -> set[str]:
        """The paths whose content changed, each now remembered with the content that was just hashed.

        Called when a burst is due, right before the pass reads these files: the digests taken here are
        "what the pass saw". An edit landing between this call and the pass's read makes one extra pass,
        never a missed one.
        """
        changed: set[str] = set()
        for rel in paths:
            current = self._current(rel)
            if isinstance(current, _Unreadable):
                continue
            with self._lock:
                if current != self._seen.get(rel):
                    self._remember(rel, current)
                    changed.add(rel)
        return changed

    # --------------------------------------------------------------------------------------------- details

    def _remember(self, rel: str, digest: str | None) -> None:
        if digest is None:
            self._seen.pop(rel, None)
        else:
            self._seen[rel] = digest

    def _current(self, rel: str) -> str | _Unreadable | None:
        try:
            return hash_file(self.root / rel)
        except OSError as exc:
            # Not a change now and not a baseline either: the next event on it will look again.
            _log().warning("watch_unreadable", path=rel, error=str(exc))
            return _UNREADABLE
