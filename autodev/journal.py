"""The attempt journal: edits undoable byte for byte, even after a crash.

An :class:`EditTransaction` records every file's original bytes and mode in a journal, fsynced, before it
touches the first file; :meth:`EditTransaction.rollback` puts them back, and :func:`recover` does the same
on the next start when a process died mid-attempt. A file someone else changed after autodev wrote it is never
overwritten by a restore: it is reported as a conflict and the journal (holding the original) is kept aside.
Pure filesystem, written through :mod:`autodev.fileio`; git lives in :mod:`autodev.vcs`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from autodev.errors import AutodevError, EditRejectedError, JournalError
from autodev.fileio import atomic_write, fsync_directory, move_aside, remove_durably, remove_stale_temps
from autodev.interrupts import deferred_interrupts
from autodev.processes import process_alive

JOURNAL_SCHEMA_VERSION: Final = 1
JOURNAL_MODE = 0o600  # the journal holds file contents, which may be private


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------- journal models


def _check_relative(rel: str) -> str:
    """Journal and change paths are posix, relative, and cannot climb out of the project."""
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or ".." in pure.parts or "\0" in rel or str(pure) in ("", "."):
        raise ValueError(f"{rel!r} is not a relative path inside the project")
    return str(pure)


class FileSnapshot(BaseModel):
    """A file as it was before autodev touched it: enough to put back its exact bytes and mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    existed: bool
    content_b64: str | None
    mode: int | None

    @field_validator("path")
    @classmethod
    def _path_is_relative(cls, value: str) -> str:
        return _check_relative(value)

    @model_validator(mode="after")
    def _content_matches_existence(self) -> FileSnapshot:
        if self.existed != (self.content_b64 is not None) or self.existed != (self.mode is not None):
            raise ValueError("a file that existed has content and a mode; a missing one has neither")
        if self.content_b64 is not None:
            try:
                base64.b64decode(self.content_b64, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"content of {self.path} is not valid base64") from exc
        return self

    @classmethod
    def capture(cls, root: Path, rel: str) -> FileSnapshot:
        target = root / rel
        try:
            data = target.read_bytes()
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            return cls(path=rel, existed=False, content_b64=None, mode=None)
        return cls(path=rel, existed=True, content_b64=base64.b64encode(data).decode("ascii"), mode=mode)

    def content(self) -> bytes | None:
        return None if self.content_b64 is None else base64.b64decode(self.content_b64)


class Journal(BaseModel):
    """What an attempt in progress has changed; on disk until the attempt is kept or undone.

    ``written_sha256`` lists the hashes of every content autodev wrote to a path, so a restore can tell its
    own bytes (safe to replace) from bytes someone else wrote since (never replaced).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = JOURNAL_SCHEMA_VERSION
    root: str
    pid: int
    started_at: str
    snapshots: tuple[FileSnapshot, ...]
    written_sha256: dict[str, tuple[str, ...]]
    created_dirs: tuple[str, ...]
    requirement: str | None = None  # whose attempt, for `autodev status` (absent in journals before it)
    # Set just before `git commit` of these files: a kill after the commit and before the journal's removal leaves
    # a journal whose changes HEAD already holds (vcs/landed.py tells, and then keeps them instead of restoring).
    committing: bool = False
    commit_parent: str | None = None  # HEAD before that commit (None: the branch had no commit yet)

    @field_validator("created_dirs")
    @classmethod
    def _dirs_are_relative(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_relative(item) for item in value)


class RecoveryReport(BaseModel):
    """What :func:`recover` found, for the caller to log; recovery itself never raises."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    restored: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # changed by someone else since autodev wrote them; left as they are
    moved_aside: str | None = None  # where a corrupt journal, or one holding conflicts' originals, now lies
    problem: str | None = None  # set whenever something needs the user's eyes

    @property
    def clean(self) -> bool:
        return self.problem is None and not self.conflicts


class _RestoreOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    restored: tuple[str, ...]
    conflicts: tuple[str, ...]


# --------------------------------------------------------------------------------------------- transactions


class EditTransaction:
    """File writes that are either kept (:meth:`finish`) or undone byte for byte (:meth:`rollback`).

    The checks on a path to write (:func:`_checked_path`, :func:`_missing_dirs`) are functions of the project
    root alone and live outside the class; the class holds only what one attempt has changed so far.
    """

    def __init__(self, root: Path, journal_path: Path, *, requirement: str | None = None) -> None:
        self._root = root.absolute()
        self._requirement = requirement
        self._journal_path = journal_path.absolute()
        self._snapshots: dict[str, FileSnapshot] = {}
        self._written: dict[str, tuple[str, ...]] = {}
        self._created_dirs: tuple[str, ...] = ()
        self._started_at = datetime.now(timezone.utc).isoformat()
        self._closed = False
        self._conflicts: tuple[str, ...] = ()
        self._preserved_journal: Path | None = None

    @property
    def touched(self) -> list[str]:
        return list(self._snapshots)

    @property
    def conflicts(self) -> list[str]:
        """Paths the last rollback left alone because someone else changed them after autodev wrote them."""
        return list(self._conflicts)

    @property
    def preserved_journal(self) -> Path | None:
        """Where the journal (with the conflicts' original bytes) was moved when a rollback met conflicts."""
        return self._preserved_journal

    def apply(self, changes: Mapping[str, bytes]) -> None:
        """Write ``changes``; the journal covering them is durable before the first byte changes.

        A later call adds files to the same transaction. If any write fails, the whole transaction is
        rolled back (the journal only knows the originals) and the error re-raised.
        """
        if self._closed:
            raise RuntimeError("this transaction was already finished or rolled back")
        normalized = {_checked_path(self._root, self._journal_path, rel): data for rel, data in changes.items()}
        if not normalized:
            return
        self._refuse_stale_journal()
        new_dirs = _missing_dirs(self._root, normalized)
        written = dict(self._written)
        for rel, data in normalized.items():
            written[rel] = (*written.get(rel, ()), _sha256(data))
        created_dirs = self._created_dirs + tuple(d for d in new_dirs if d not in self._created_dirs)
        self._record(list(normalized), written, created_dirs)
        try:
            for rel_dir in new_dirs:
                (self._root / rel_dir).mkdir(exist_ok=True)
            for rel, data in normalized.items():
                atomic_write(self._root / rel, data)
        except BaseException as failure:
            self._rollback_after(failure)
            raise

    def remove(self, paths: Sequence[str]) -> None:
        """Delete ``paths``; like :meth:`apply`, the journal holding their bytes is durable before the first goes.

        A rollback (or :func:`recover` after a crash) writes each one back, since a file missing where the journal
        has its original is restored like any other. Paths that do not exist are fine: nothing to delete.
        """
        if self._closed:
            raise RuntimeError("this transaction was already finished or rolled back")
        normalized = list(dict.fromkeys(_checked_path(self._root, self._journal_path, rel) for rel in paths))
        if not normalized:
            return
        self._refuse_stale_journal()
        self._record(normalized, dict(self._written), self._created_dirs)
        try:
            for rel in normalized:
                remove_durably(self._root / rel)
        except BaseException as failure:
            self._rollback_after(failure)
            raise

    def _refuse_stale_journal(self) -> None:
        if not self._snapshots and os.path.lexists(self._journal_path):
            raise JournalError(
                f"{self._journal_path} is left from an interrupted attempt; recover it before writing again"
            )

    def _record(self, paths: list[str], written: dict[str, tuple[str, ...]], created_dirs: tuple[str, ...]) -> None:
        """Snapshot ``paths`` not yet covered and make the journal durable: nothing is touched before this returns."""
        snapshots = dict(self._snapshots)
        for rel in paths:
            snapshots.setdefault(rel, FileSnapshot.capture(self._root, rel))
        self._journal_path.parent.mkdir(parents=True, exist_ok=True)
        journal = self._journal(snapshots, written, created_dirs)
        atomic_write(self._journal_path, journal.model_dump_json().encode("utf-8"), mode=JOURNAL_MODE)
        self._snapshots, self._written, self._created_dirs = snapshots, written, created_dirs

    def rollback(self) -> list[str]:
        """Put every touched file back as it was; returns the paths now back in their original state.

        A Ctrl-C while restoring waits until every file is back (see :mod:`autodev.interrupts`).
        """
        if self._closed:
            return []
        if not self._snapshots:
            self._closed = True
            return []
        journal = self._journal(self._snapshots, self._written, self._created_dirs)
        with deferred_interrupts():
            outcome = _restore(self._root, journal)  # raises with the journal kept if a restore fails
            self._closed = True
            self._conflicts = outcome.conflicts
            self._preserved_journal = _dispose_journal(self._journal_path, keep=bool(outcome.conflicts))
        return list(outcome.restored)

    def mark_committing(self, parent: str | None) -> None:
        """Say durably, before `git commit` runs, that these changes are being committed on top of ``parent``."""
        if self._closed or not self._snapshots:
            return
        journal = self._journal(self._snapshots, self._written, self._created_dirs)
        marked = journal.model_copy(update={"committing": True, "commit_parent": parent})
        atomic_write(self._journal_path, marked.model_dump_json().encode("utf-8"), mode=JOURNAL_MODE)

    def finish(self) -> None:
        """Keep the changes: the journal is no longer needed."""
        self._closed = True
        remove_durably(self._journal_path)

    def _rollback_after(self, failure: BaseException) -> None:
        try:
            self.rollback()
        except Exception as rollback_failure:
            raise JournalError(
                f"writing failed ({failure}) and restoring failed too ({rollback_failure}); "
                f"the journal {self._journal_path} is kept so the next start can finish restoring"
            ) from rollback_failure

    def _journal(
        self,
        snapshots: Mapping[str, FileSnapshot],
        written: Mapping[str, tuple[str, ...]],
        created_dirs: tuple[str, ...],
    ) -> Journal:
        return Journal(
            root=str(self._root),
            pid=os.getpid(),
            started_at=self._started_at,
            snapshots=tuple(snapshots.values()),
            written_sha256=dict(written),
            created_dirs=created_dirs,
            requirement=self._requirement,
        )


def _checked_path(root: Path, journal_path: Path, rel: str) -> str:
    """``rel`` made canonical, or EditRejectedError: outside the project, the journal, a link or not a file."""
    try:
        clean = _check_relative(rel)
    except ValueError as exc:
        raise EditRejectedError(str(exc)) from exc
    target = root / clean
    if not target.resolve().is_relative_to(root.resolve()):
        raise EditRejectedError(f"{rel} leads outside the project through a symbolic link")
    if target.absolute() == journal_path:
        raise EditRejectedError(f"{rel} is autodev's own journal")
    if target.is_symlink():
        raise EditRejectedError(f"{rel} is a symbolic link; autodev does not write through links")
    if target.exists() and not target.is_file():
        raise EditRejectedError(f"{rel} exists and is not a regular file")
    return clean


def _missing_dirs(root: Path, changes: Mapping[str, bytes]) -> list[str]:
    """Parent directories to create, outermost first, so a rollback can remove exactly these."""
    missing: list[str] = []
    for rel in changes:
        parents = list(PurePosixPath(rel).parents)[:-1]  # drop "."
        for parent in reversed(parents):
            key = str(parent)
            directory = root / key
            if key in missing or directory.is_dir():
                continue
            if os.path.lexists(directory):
                raise EditRejectedError(f"cannot write {rel}: {key} exists and is not a directory")
            missing.append(key)
    return missing


# --------------------------------------------------------------------------------------------- restoring


def recover(root: Path, journal_path: Path) -> RecoveryReport:
    """Undo an attempt a killed process left half done; never raises, the report says what happened.

    A journal that cannot be read is moved aside (never deleted: it may hold the only copy of a user's
    original bytes) and reported; so is one whose restore met conflicts. If a restore fails outright
    (permissions, disk full), the journal stays where it is so the next start tries again, and a new
    transaction refuses to start meanwhile.
    """
    if not os.path.lexists(journal_path):
        return RecoveryReport()
    try:
        journal = Journal.model_validate_json(journal_path.read_bytes())
    except (OSError, ValueError) as exc:
        return _set_aside_corrupt(journal_path, exc)
    try:
        outcome = _restore(root.absolute(), journal)
        moved = _dispose_journal(journal_path, keep=bool(outcome.conflicts))
    except (OSError, AutodevError) as exc:
        return RecoveryReport(problem=f"could not finish restoring from {journal_path}: {exc}; it is kept")
    problem = None
    if outcome.conflicts:
        problem = (
            f"{', '.join(outcome.conflicts)} changed after autodev wrote them and were left as they are; "
            f"their original bytes are in {moved}"
        )
    return RecoveryReport(
        restored=outcome.restored,
        conflicts=outcome.conflicts,
        moved_aside=None if moved is None else str(moved),
        problem=problem,
    )


def _set_aside_corrupt(journal_path: Path, exc: Exception) -> RecoveryReport:
    try:
        moved = move_aside(journal_path, "corrupt")
    except OSError as move_failure:
        return RecoveryReport(
            problem=f"journal {journal_path} is unreadable ({exc}) and cannot be moved aside ({move_failure})"
        )
    return RecoveryReport(moved_aside=str(moved), problem=f"journal {journal_path} was unreadable ({exc})")


def _restore(root: Path, journal: Journal) -> _RestoreOutcome:
    """Restore every file it safely can, then remove the directories autodev created if they are empty."""
    restored: list[str] = []
    conflicts: list[str] = []
    failures: list[str] = []
    for snapshot in journal.snapshots:
        try:
            is_restored = _restore_one(root, snapshot, journal.written_sha256.get(snapshot.path, ()))
        except OSError as exc:
            failures.append(f"{snapshot.path}: {exc}")
            continue
        (restored if is_restored else conflicts).append(snapshot.path)
        remove_stale_temps(root / snapshot.path)
    for rel_dir in sorted(journal.created_dirs, key=lambda d: len(PurePosixPath(d).parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (a conflict, a user's file) or already gone
            (root / rel_dir).rmdir()
    if failures:
        raise JournalError("could not restore " + "; ".join(failures))
    return _RestoreOutcome(restored=tuple(restored), conflicts=tuple(conflicts))


def _restore_one(root: Path, snapshot: FileSnapshot, written: tuple[str, ...]) -> bool:
    """Put one file back; False when its current bytes are neither the original nor autodev's (a conflict)."""
    target = root / snapshot.path
    if target.is_symlink() or (target.exists() and not target.is_file()):
        return False
    current = target.read_bytes() if target.exists() else None
    original = snapshot.content()
    if original is None or snapshot.mode is None:
        if current is None:
            return True
        if _sha256(current) not in written:
            return False
        target.unlink()
        fsync_directory(target.parent)
        return True
    if current is not None and current != original and _sha256(current) not in written:
        return False
    if current is None and written:
        return False  # autodev wrote it and someone deleted it since: their deletion stands (a conflict)
    if current != original:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, original, mode=snapshot.mode)
    elif stat.S_IMODE(target.stat().st_mode) != snapshot.mode:
        target.chmod(snapshot.mode)
    return True


def _dispose_journal(journal_path: Path, *, keep: bool) -> Path | None:
    if keep:
        return move_aside(journal_path, "conflict")
    remove_durably(journal_path)
    return None


def read_journal(journal_path: Path) -> Journal | None:
    """The journal at ``journal_path``, or None when there is none or it cannot be read (recover handles that)."""
    try:
        return Journal.model_validate_json(journal_path.read_bytes())
    except (OSError, ValueError):
        return None


def drop_journal(journal_path: Path) -> None:
    """Remove a journal whose changes are known to be kept (committed); durable, like :meth:`EditTransaction.finish`."""
    remove_durably(journal_path)


# --------------------------------------------------------------------------------------------- reporting


class PendingAttempt(BaseModel):
    """An attempt's journal still on disk, for `autodev status`: its files are not yet restored or kept.

    ``running`` is true while the process that wrote it is alive (an attempt in progress, not an interrupted one).
    ``readable`` is false for a journal that cannot be parsed: recovery will move it aside, untouched.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    journal: str
    readable: bool
    files: tuple[str, ...] = ()
    pid: int | None = None
    started_at: str | None = None
    running: bool = False
    requirement: str | None = None


def pending_attempt(journal_path: Path) -> PendingAttempt | None:
    """What the journal at ``journal_path`` holds, read only (:func:`recover` is what restores); None if absent."""
    if not os.path.lexists(journal_path):
        return None
    try:
        journal = Journal.model_validate_json(journal_path.read_bytes())
    except (OSError, ValueError):
        return PendingAttempt(journal=str(journal_path), readable=False)
    return PendingAttempt(
        journal=str(journal_path),
        readable=True,
        files=tuple(snapshot.path for snapshot in journal.snapshots),
        pid=journal.pid,
        started_at=journal.started_at,
        running=journal.pid != os.getpid() and process_alive(journal.pid),
        requirement=journal.requirement,
    )
