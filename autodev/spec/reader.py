"""``Files:`` lines: the target files a spec names, in the forms people write them.

The Markdown parser (:mod:`autodev.spec.parser`) calls this for each requirement's own text.
"""

from __future__ import annotations

import re
from pathlib import Path

_DRIVE = re.compile(r"^[A-Za-z]:")
_FILES_LINE = re.compile(r"^\s*(?:[-*]\s+)?\**Files\**\s*:\**\s*(?P<files>.+)$", re.IGNORECASE | re.MULTILINE)


def files_hints(text: str) -> list[str]:
    """Paths named on ``Files:`` lines, in order, without duplicates (commas or spaces separate them)."""
    found: list[str] = []
    for match in _FILES_LINE.finditer(text):
        for token in re.split(r"[,\s]+", match.group("files")):
            path = token.strip("`*'\"()[]").rstrip(".;:")
            path = path.removeprefix("./")
            if path and ("." in path or "/" in path) and path not in found:
                found.append(path)
    return found


def leaves_project(entry: str, root: Path | None = None) -> bool:
    """Whether a ``Files:`` entry names something outside the project: absolute, ``~``, climbing out with ``..``,
    or (given ``root``) reaching out through a symlink. autodev reads and writes these files, so it refuses them."""
    text = entry.strip().replace("\\", "/")
    if text.startswith(("/", "~")) or _DRIVE.match(text):
        return True
    depth = 0
    for part in text.split("/"):
        depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
        if depth < 0:
            return True
    if root is None:
        return False
    try:
        (root / text).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return True
    return False


def outside_message(entry: str) -> str:
    """The one sentence `spec check` and `run` both say about such an entry."""
    return f"Files: '{entry}' is outside the project"


def files_line(requirement_text: str, entry: str) -> int:
    """How many lines below the requirement's heading the ``Files:`` line naming ``entry`` is (0 when not found)."""
    for offset, line in enumerate(requirement_text.split("\n")):
        if _FILES_LINE.match(line) and entry in line:
            return offset
    return 0
