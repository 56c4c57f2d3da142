"""Helpers for tests on a real filesystem: a small project, its whole state, and a simulated full disk."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tree(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every entry under root with its bytes and mode (None for directories): the state to compare."""
    entries: dict[str, tuple[bytes, int] | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        entries[rel] = None if path.is_dir() else (path.read_bytes(), mode_of(path))
    return entries


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def enospc(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def make_project(tmp_path: Path) -> Path:
    """A project with a text file, an executable script and binary data, in a nested directory."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_bytes(b"print('hello')\r\n# trailing no newline")
    script = root / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho run\n")
    script.chmod(0o755)
    (root / "data.bin").write_bytes(bytes(range(256)))
    (root / "data.bin").chmod(0o640)
    return root
