"""Project memory: what every prompt should know, read from the files users of coding agents already keep.

AGENTS.md (Codex and others), CLAUDE.md (also ``.claude/CLAUDE.md`` and the personal ``CLAUDE.local.md``) and
CONVENTIONS.md (Aider) at the project's root apply to every file; an AGENTS.md or CLAUDE.md in a subdirectory
applies to the files under it (the AGENTS.md rule: the nearest one is the most specific, so it comes last).
``@path`` imports in CLAUDE.md are followed as Claude Code follows them, confined to the project, at most
:data:`MAX_IMPORT_DEPTH` deep, and a cycle is reported instead of followed. The same text reached twice (CLAUDE.md
is often a link to AGENTS.md) is kept once. Nothing here decides how much of it a model gets: that is the
prompt's budget.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from autodev.discovery import TOOL_DIRS

ROOT_FILES = ("AGENTS.md", "CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md", "CONVENTIONS.md")
NESTED_FILES = ("AGENTS.md", "CLAUDE.md")
MAX_IMPORT_DEPTH = 5
MAX_MEMORY_CHARS = 100_000  # one file; a bigger one is read up to here and the user told
MAX_DIRECTORIES = 2_000  # a walk for nested files stops here: memory is not worth minutes in a huge tree

# `@path` at the start of a token, outside code spans: Claude Code's import syntax.
_IMPORT = re.compile(r"(?:^|(?<=\s))@(?P<path>[\w.\-~/]+[\w\-/])")
_CODE_SPAN = re.compile(r"`[^`\n]*`")


class MemoryFile(BaseModel):
    """One memory file: its path and the directory it applies to (both relative to the root, posix; "" the root)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    scope: str
    text: str
    imported_by: str | None = None


class Memory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    files: tuple[MemoryFile, ...]
    problems: tuple[str, ...]  # said to the user, never fatal: a broken import leaves the rest in place

    def for_file(self, target: str | None) -> list[MemoryFile]:
        """The files that apply to ``target`` (a path relative to the root), general first, nearest last."""
        if target is None:
            return [file for file in self.files if file.scope == ""]
        parents = {str(parent) for parent in PurePosixPath(target).parents} | {""}
        return [file for file in self.files if file.scope in parents or file.scope == ""]

    def for_files(self, targets: Sequence[str]) -> list[MemoryFile]:
        """The files that apply to any of ``targets``, in memory order; the general ones alone when there are none."""
        if not targets:
            return self.for_file(None)
        applying = {file.path for target in targets for file in self.for_file(target)}
        return [file for file in self.files if file.path in applying]


NO_MEMORY = Memory(files=(), problems=())


def find_memory(root: Path, extra: Sequence[str] = (), *, nested: bool = True) -> Memory:
    """Every memory file of the project, the root's first (in :data:`ROOT_FILES` order, then ``extra``), then the
    nested ones by depth (``nested=False``: not searched, for a directory that is no project, like a home);
    each followed by what it imports."""
    reader = _Reader(root)
    for name in ROOT_FILES:
        reader.read(name, scope="")
    for name in extra:
        if not (root / name).is_file():
            reader.problems.append(f"{name}: named in [context] memory_files but not found; left out")
        reader.read(name, scope="")
    for directory in _nested_directories(root) if nested else ():
        for name in NESTED_FILES:
            reader.read(f"{directory}/{name}", scope=directory)
    return Memory(files=tuple(reader.files), problems=tuple(reader.problems))


class _Reader:
    """Reads memory files and their imports once each, collecting what went wrong."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files: list[MemoryFile] = []
        self.problems: list[str] = []
        self._seen_paths: set[Path] = set()
        self._seen_texts: set[str] = set()

    def read(self, rel: str, *, scope: str, chain: tuple[str, ...] = ()) -> None:
        full = (self.root / rel).resolve()
        if not full.is_file():
            if chain:
                self.problems.append(f"{chain[-1]}: imports @{rel}, which does not exist")
            return
        if not full.is_relative_to(self.root):
            self.problems.append(f"{chain[-1] if chain else rel}: @{rel} is outside the project; not read")
            return
        if full in self._seen_paths:
            return
        self._seen_paths.add(full)
        text = self._text(full, rel)
        if text is None:
            return
        name = full.relative_to(self.root).as_posix()
        if text.strip() and text not in self._seen_texts:
            self._seen_texts.add(text)
            self.files.append(MemoryFile(path=name, scope=scope, text=text, imported_by=chain[-1] if chain else None))
        if PurePosixPath(name).name.startswith("CLAUDE") or chain:
            self._follow_imports(name, text, scope, (*chain, name))

    def _text(self, full: Path, rel: str) -> str | None:
        try:
            text = full.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.problems.append(f"{rel}: cannot be read ({error}); left out")
            return None
        if len(text) > MAX_MEMORY_CHARS:
            self.problems.append(f"{rel}: {len(text):,} characters; only the first {MAX_MEMORY_CHARS:,} are used")
            text = text[:MAX_MEMORY_CHARS]
        return text

    def _follow_imports(self, name: str, text: str, scope: str, chain: tuple[str, ...]) -> None:
        for target in imports_in(text):
            rel = _joined(PurePosixPath(name).parent, target)
            if rel is None:
                self.problems.append(f"{name}: @{target} is outside the project; not read")
            elif rel in chain:
                self.problems.append(f"{name}: @{target} imports {' -> '.join((*chain, rel))}, a cycle; not followed")
            elif len(chain) > MAX_IMPORT_DEPTH:
                self.problems.append(f"{name}: @{target} is more than {MAX_IMPORT_DEPTH} imports deep; not followed")
            else:
                self.read(rel, scope=scope, chain=chain)


def imports_in(text: str) -> list[str]:
    """The ``@path`` imports of a CLAUDE.md, in order, outside fenced code and code spans (as Claude Code reads)."""
    found: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        for match in _IMPORT.finditer(_CODE_SPAN.sub("", line)):
            if match["path"] not in found:
                found.append(match["path"])
    return found


def _joined(base: PurePosixPath, target: str) -> str | None:
    """``target`` relative to the importing file's directory, normalised; None when it climbs out of the root."""
    if target.startswith(("/", "~")):
        return None
    parts: list[str] = []
    for part in (*base.parts, *PurePosixPath(target).parts):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) or None


def _nested_directories(root: Path) -> list[str]:
    """Subdirectories (relative, posix), shallow first, without tool directories, hidden ones or links; the walk
    stops after :data:`MAX_DIRECTORIES`."""
    found: list[str] = []
    for current, names, _files in os.walk(root):
        here = Path(current)
        names[:] = sorted(name for name in names if _walked(here, name))
        base = here.relative_to(root).as_posix()
        found.extend(name if base == "." else f"{base}/{name}" for name in names)
        if len(found) > MAX_DIRECTORIES:
            break
    return sorted(found[:MAX_DIRECTORIES], key=lambda path: (path.count("/"), path))


def _walked(directory: Path, name: str) -> bool:
    return name not in TOOL_DIRS and not name.startswith(".") and not (directory / name).is_symlink()
