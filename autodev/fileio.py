"""Writing files so that a crash, a full disk or a reader never sees half of one: autodev's file-writing foundation.

Atomic replacement (:func:`atomic_write`), durable removal and renames, and :func:`move_aside` for a damaged file
that must be kept for the user, never deleted. Every module that writes state (the ledger, the response cache, the
budget, the attempt journal ...) writes through here. Pure filesystem (and pydantic, for
:func:`read_or_discard`): it imports nothing from autodev, so any module may import it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

TEMP_SUFFIX = ".autodev-tmp"  # every temporary file atomic_write makes ends so (the watcher ignores them)
_TEMP_TOKEN_HEX = 12
_NAME_ROOM = 200  # leaves room for the temp name's dot, token and suffix under NAME_MAX (255)
# fsync on a directory is unsupported on some filesystems; the rename itself already happened.
_DIR_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EBADF}


def texts_on_disk(root: Path, rels: Iterable[str]) -> dict[str, str | None]:
    """The text of each file under ``root`` (undecodable bytes replaced), None for one that does not exist: what a
    prompt shows of a file, and what a replay's key is made of."""
    found: dict[str, str | None] = {}
    for rel in rels:
        try:
            found[rel] = (root / rel).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            found[rel] = None
    return found


def bytes_on_disk(root: Path, rels: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of each file under ``root``, None for one that does not exist or cannot be read: what an attempt
    compares before and after its tests ran, to know whether the user saved a file meanwhile."""
    found: dict[str, bytes | None] = {}
    for rel in rels:
        try:
            found[rel] = (root / rel).read_bytes()
        except OSError:
            found[rel] = None
    return found


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` so that readers, and a crash, see either all the old bytes or all the new ones.

    The temporary file sits in the same directory (``os.replace`` is atomic only within a filesystem) and is
    created with the umask's default mode, then set to ``mode`` or the existing file's mode. Any failure
    before the rename (ENOSPC, EIO, an interrupt) removes the temporary file and leaves ``path`` untouched.
    """
    final_mode = mode if mode is not None else _existing_mode(path)
    temp = _temp_path_for(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            if final_mode is not None:
                os.fchmod(fd, final_mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def remove_stale_temps(target: Path) -> None:
    """Remove the temporary files a process killed inside :func:`atomic_write` left next to ``target``."""
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return
    for sibling in siblings:
        if _is_temp_of(sibling.name, target.name):
            with contextlib.suppress(OSError):
                sibling.unlink()


def remove_durably(path: Path) -> None:
    """Delete ``path`` (already gone is fine) so that a power loss cannot bring it back."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_directory(path.parent)


def move_aside(path: Path, why: str) -> Path:
    """Rename to ``<name>.<why>-<UTC time>`` (with a counter if that exists): kept for the user, out of the way."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    destination = path.with_name(f"{path.name}.{why}-{stamp}")
    counter = 1
    while os.path.lexists(destination):
        destination = path.with_name(f"{path.name}.{why}-{stamp}-{counter}")
        counter += 1
    path.rename(destination)
    fsync_directory(path.parent)
    return destination


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink durable: without it a power loss can bring the old directory entry back."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _DIR_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def _existing_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def _temp_path_for(path: Path) -> Path:
    return path.parent / f".{path.name[:_NAME_ROOM]}.{secrets.token_hex(_TEMP_TOKEN_HEX // 2)}{TEMP_SUFFIX}"


def _is_temp_of(candidate: str, name: str) -> bool:
    """Recognises a temporary file :func:`atomic_write` left for ``name`` when its process was killed."""
    prefix = f".{name[:_NAME_ROOM]}."
    if not (candidate.startswith(prefix) and candidate.endswith(TEMP_SUFFIX)):
        return False
    token = candidate[len(prefix) : -len(TEMP_SUFFIX)]
    return len(token) == _TEMP_TOKEN_HEX and all(char in "0123456789abcdef" for char in token)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_or_discard(path: Path, model: type[Model]) -> Model | None:
    """A JSON record of a cache-like store (one that can be rebuilt), or None: a missing file is a miss, an
    unreadable one too, and it is removed so that the next write starts clean."""
    try:
        return model.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError, ValueError):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None
