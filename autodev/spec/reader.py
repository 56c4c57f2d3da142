"""SPEC.md as one requirement (the spec-parsing issue splits files into many).

Free prose such as an exercise description must work, so nothing here requires a particular structure; the only
structure recognised is an optional ``Files:`` line naming the target files.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.errors import SpecError

MAX_SPEC_CHARS = 100_000
_FILES_LINE = re.compile(r"^\s*(?:[-*]\s+)?\**Files\**\s*:\**\s*(?P<files>.+)$", re.IGNORECASE | re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)


class Requirement(BaseModel):
    """One unit of work: what the user wants, and where the code should go if they said so."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    text: str
    source: str
    files: tuple[str, ...] = ()
    content_hash: str


def read_requirement(root: Path, spec_path: Path) -> Requirement:
    """Read one spec file as a single requirement whose ID is its path relative to the project."""
    relative = spec_path.relative_to(root).as_posix()
    if not spec_path.is_file():
        raise SpecError(f"{relative} not found: write what you want in it (or run `autodev init` for a template)")
    raw = spec_path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{relative} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise SpecError(f"{relative} is empty: write what you want in it")
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"{relative} has {len(text)} characters; split it (at most {MAX_SPEC_CHARS})")
    return Requirement(
        id=relative,
        title=spec_title(text, fallback=relative),
        text=text,
        source=relative,
        files=tuple(files_hints(text)),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def spec_title(text: str, *, fallback: str) -> str:
    """The first heading, else the first line: a commit subject the user recognises."""
    heading = _HEADING.search(text)
    first = heading.group("title") if heading else text.splitlines()[0]
    title = first.strip().strip("#*_ ").strip()
    return title[:72] if title else fallback


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
