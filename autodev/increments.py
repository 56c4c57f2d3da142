"""The architect's plan for one requirement: the files to touch with their interfaces, and ordered increments,
each with the tests that prove it; read from the architect's reply, stored under ``.autodev/plans/``.

Pure reading and a small store: the pass (``autodev.core.planning``) asks the architect and works the increments.
The reply format is plain text so that small models can write it; reading it is lenient (numbered or headed
increments, ``Tests:`` with node ids or bare test names) and strict only where it matters: every test the plan
names must be one of the requirement's, and every one of the requirement's tests ends up in some increment (the
ones it leaves out go to the last), so a finished plan means a satisfied requirement.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autodev.fileio import atomic_write, read_or_discard

SCHEMA = 1
IncrementStatus = Literal["pending", "done", "failed"]

_INCREMENT = re.compile(r"^\s*(?:#+\s*)?(?:[*_]*\s*)?(?:increment|step)?\s*(?P<n>\d+)\s*[.):\-]\s*(?P<title>\S.*)$",
                        re.IGNORECASE)  # fmt: skip
_HEADED = re.compile(r"^\s*(?:#+\s*)?[*_]*\s*(?:increment|step)\s+(?P<n>\d+)\s*[*_]*\s*$", re.IGNORECASE)
_FIELD = re.compile(r"^\s*[-*]?\s*[*_]*(?P<key>files?|tests?|interface)[*_]*\s*:[*_]*\s*(?P<value>.*)$",
                    re.IGNORECASE)  # fmt: skip
_SECTION = re.compile(r"^\s*(?:#+\s*)?[*_]*(?P<name>files|increments)[*_]*\s*:?\s*$", re.IGNORECASE)
_FILE_LINE = re.compile(r"^\s*[-*]\s*`?(?P<path>[\w./-]+\.\w+)`?\s*(?::|-|\u2014)\s*(?P<interface>.*)$")
_SPLIT = re.compile(r"[,;\s]+")


class Increment(BaseModel):
    """One small step of a plan: what it does, the files it touches, and the tests that must pass after it."""

    model_config = ConfigDict(extra="forbid")

    title: str
    files: list[str] = Field(default_factory=list)
    tests: list[str]  # node ids, of the requirement's tests
    interface: str = ""
    status: IncrementStatus = "pending"
    commit: str | None = None
    reason: str = ""


class IncrementPlan(BaseModel):
    """A requirement's plan, valid while the requirement's text and its tests are those it was made for."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA
    requirement: str
    content_hash: str
    tests: list[str]
    model: str
    created: str
    files: dict[str, str] = Field(default_factory=dict)  # path -> its interface, as the architect wrote it
    increments: list[Increment]
    reply: str = ""  # the architect's whole answer, for `autodev status REQ --plan`

    def fits(self, content_hash: str, tests: Sequence[str]) -> bool:
        return self.content_hash == content_hash and sorted(self.tests) == sorted(tests)

    def outline(self) -> str:
        """The plan as the coder's prompt shows it: the files with their interfaces, then the increments."""
        lines = ["Files and their interfaces:"] if self.files else []
        lines += [f"- {path}: {interface}" if interface else f"- {path}" for path, interface in self.files.items()]
        lines.append("Increments, in order:")
        for number, increment in enumerate(self.increments, 1):
            lines.append(f"{number}. {increment.title}" + (f" (files: {', '.join(increment.files)})"
                                                              if increment.files else ""))  # fmt: skip
        return "\n".join(lines)


def read_plan(reply: str, tests: Sequence[str], *, max_increments: int) -> tuple[dict[str, str], list[Increment]]:
    """The files and increments of an architect's reply; increments that name none of ``tests`` are folded into
    the next one, tests no increment names go to the last, and more than ``max_increments`` are joined at the end.

    An empty list of increments means the reply held no plan (the pass then works the requirement in one piece).
    """
    files, drafts = _drafts(reply)
    increments: list[Increment] = []
    placed: set[str] = set()
    carried: list[str] = []  # titles of increments that named no test, said in the next one's title
    for title, fields in drafts:
        named = [test for test in _matched(fields.get("tests", ""), tests) if test not in placed]
        if not named:
            carried.append(title)
            continue
        placed.update(named)
        increments.append(
            Increment(
                title="; ".join([*carried, title]),
                files=_paths(fields.get("files", "")),
                tests=named,
                interface=fields.get("interface", "").strip(),
            )
        )
        carried = []
    if not increments:
        return files, []
    rest = [test for test in tests if test not in placed]
    increments[-1].tests.extend(rest)
    while len(increments) > max(1, max_increments):
        last = increments.pop()
        increments[-1].title += f"; {last.title}"
        increments[-1].tests.extend(last.tests)
        increments[-1].files.extend(path for path in last.files if path not in increments[-1].files)
    return files, increments


def _drafts(reply: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str]]]]:
    files: dict[str, str] = {}
    drafts: list[tuple[str, dict[str, str]]] = []
    section = "files"
    for line in reply.splitlines():
        heading = _SECTION.match(line)
        if heading:
            section = heading.group("name").lower()
            continue
        start = _HEADED.match(line) or _INCREMENT.match(line)
        if start and (section == "increments" or _HEADED.match(line) or not _FILE_LINE.match(line)):
            title = (start.groupdict().get("title") or f"increment {start.group('n')}").strip(" *_#")
            drafts.append((title, {}))
            section = "increments"
            continue
        field = _FIELD.match(line)
        if field and drafts and section == "increments":
            key = field.group("key").lower().rstrip("s") + ("" if field.group("key").lower() == "interface" else "s")
            drafts[-1][1][key] = (drafts[-1][1].get(key, "") + " " + field.group("value")).strip()
            continue
        entry = _FILE_LINE.match(line)
        if entry and section == "files":
            files[entry.group("path")] = entry.group("interface").strip()
    return files, drafts


def _matched(value: str, tests: Sequence[str]) -> list[str]:
    """The requirement's tests a ``Tests:`` line names: by node id, by ``file::name`` tail, or by bare name."""
    found: list[str] = []
    for token in (part.strip("`'\"()[]*.") for part in _SPLIT.split(value)):
        if not token:
            continue
        for test in tests:
            name = test.split("::")[-1]
            named = token in (test, name, name.split("[", 1)[0]) or test.endswith(f"::{token}")
            if named and test not in found:
                found.append(test)
    return found


def _paths(value: str) -> list[str]:
    return [part.strip("`'\"()[]*") for part in _SPLIT.split(value) if "." in part or "/" in part]


class PlanStore:
    """One JSON file per requirement; an unreadable one is no plan (the architect is asked again), never an error."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, requirement: str) -> IncrementPlan | None:
        return read_or_discard(self.path(requirement), IncrementPlan)

    def put(self, plan: IncrementPlan) -> None:
        """Atomically; a full disk loses the record of the plan, never the pass (the tests still say what is done)."""
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path(plan.requirement), plan.model_dump_json(indent=2).encode("utf-8"))

    def path(self, requirement: str) -> Path:
        """A file name any requirement ID can have (a whole-file one is a path): readable part and a digest."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", requirement).strip("._")[:60] or "requirement"
        digest = hashlib.sha256(requirement.encode("utf-8")).hexdigest()[:8]
        return self.directory / f"{readable}-{digest}.json"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
