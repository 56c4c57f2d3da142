"""The ledger: what autodev knows about each requirement between runs (``.autodev/ledger.json``).

It remembers the hash of each requirement's text when it was last worked on, so a run redoes only what the user
changed, plus the tests linked to it, its status, what it cost and the commit that satisfied it. It is a cache
of facts that git and the tests also hold: when it is lost or damaged, it is set aside (never deleted; the user
may want to look at it) and rebuilt from the ``Autodev-Requirement`` trailers of the commits, and the next pass
runs the tests to find out the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autodev.errors import VcsError
from autodev.fileio import atomic_write, move_aside
from autodev.results import RequirementResult
from autodev.spec.model import Requirement
from autodev.vcs import trailer_log
from autodev.vcs.trailers import MODEL_TRAILER, REQUIREMENT_TRAILER

LEDGER_SCHEMA = 1

LedgerStatus = Literal["pending", "satisfied", "failing", "blocked", "unverified", "removed"]


def now_iso() -> str:
    """The time an entry changed, in UTC, to the second: readable in the file and sortable as text."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LedgerEntry(BaseModel):
    """One requirement's record; fields a newer autodev added are ignored so its ledger is not thrown away."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    id: str
    title: str = ""
    source: str = ""
    line: int = 1
    content_hash: str = ""  # the requirement's hash when it was last worked on; "" means never
    tests: list[str] = Field(default_factory=list)  # node ids linked to it
    passing: int = 0  # how many of them passed at the end of the last pass
    status: LedgerStatus = "pending"
    attempts: int = 0
    model: str | None = None
    tier: str | None = None
    cost_usd: float = 0.0
    commit: str | None = None  # the last commit made for it
    reason: str = ""
    updated: str = Field(default_factory=now_iso)


class Ledger(BaseModel):
    """Every requirement autodev has seen, by ID (including removed ones, kept for their history)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    entries: dict[str, LedgerEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_are_ids(self) -> Ledger:
        for key, entry in self.entries.items():
            if key != entry.id:
                raise ValueError(f"entry {key!r} holds requirement {entry.id!r}")
        return self


class LedgerDiff(BaseModel):
    """How the specs moved since the ledger was written; IDs in spec order (``removed`` in ledger order)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    added: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)  # its text (content hash) differs from what was worked on
    removed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)


def load_ledger(path: Path, *, rebuild: Callable[[], Ledger]) -> tuple[Ledger, str | None]:
    """The ledger at ``path`` and a warning for the user when it had to be rebuilt.

    No file is a fresh project: an empty ledger and no warning. A file that cannot be read, is not JSON, has
    another schema or does not validate is moved aside to ``ledger.json.corrupt-<time>`` and ``rebuild()`` takes
    its place.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Ledger(), None
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
    else:
        ledger, problem = _parse(raw)
        if ledger is not None:
            return ledger, None
    try:
        moved = move_aside(path, "corrupt")
        kept = f"moved it to {moved.name}"
    except OSError as exc:
        kept = f"could not move it aside ({exc.strerror or exc})"
    return rebuild(), f"the ledger {path} {problem}; {kept} and rebuilt it from the git history"


def _parse(raw: bytes) -> tuple[Ledger | None, str]:
    try:
        data = json.loads(raw)
    except ValueError as exc:  # includes UnicodeDecodeError
        return None, f"is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, "is not a JSON object"
    schema = data.get("schema")
    if type(schema) is not int or schema != LEDGER_SCHEMA:
        return None, f"has schema {schema!r}, and this autodev reads schema {LEDGER_SCHEMA}"
    try:
        return Ledger.model_validate({"entries": data.get("requirements", {})}), ""
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return None, f"is damaged ({where}: {first['msg']})"


def save_ledger(path: Path, ledger: Ledger) -> None:
    """Write the ledger atomically: a crash leaves the old ledger or the new one, never half of one."""
    data = {
        "schema": LEDGER_SCHEMA,
        "requirements": {key: entry.model_dump(mode="json") for key, entry in ledger.entries.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def diff_ledger(ledger: Ledger, requirements: Sequence[Requirement]) -> LedgerDiff:
    """Compare the specs with the ledger.

    A requirement the ledger has as ``removed`` and the specs have again counts as added: it is new work again.
    A removed one is reported once; after the engine marks it ``removed`` it is no longer in the diff.
    """
    added: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    current: dict[str, Requirement] = {}
    for requirement in requirements:
        current.setdefault(requirement.id, requirement)
    for requirement_id, requirement in current.items():
        entry = ledger.entries.get(requirement_id)
        if entry is None or entry.status == "removed":
            added.append(requirement_id)
        elif entry.content_hash != requirement.content_hash:
            changed.append(requirement_id)
        else:
            unchanged.append(requirement_id)
    removed = [key for key, entry in ledger.entries.items() if key not in current and entry.status != "removed"]
    return LedgerDiff(added=added, changed=changed, removed=removed, unchanged=unchanged)


def rebuild_from_git(repo_root: Path, requirements: Sequence[Requirement]) -> Ledger:
    """A ledger from the commits autodev made under ``repo_root``: each requirement's newest commit and model.

    A requirement with a commit gets its current content hash, so a rebuild does not redo finished work; its
    status is ``pending`` all the same, because only the tests can say it is still satisfied. One without a
    commit has an empty hash: work to do. Without git history (no repository, no commits) every requirement is
    such work.
    """
    latest = _latest_commits(repo_root)
    entries: dict[str, LedgerEntry] = {}
    for requirement in requirements:
        if requirement.id in entries:
            continue
        found = latest.get(requirement.id)
        entries[requirement.id] = LedgerEntry(
            id=requirement.id,
            title=requirement.title,
            source=requirement.source,
            line=requirement.line,
            content_hash=requirement.content_hash if found else "",
            commit=found[0] if found else None,
            model=found[1] if found else None,
            reason=f"rebuilt from git history: last commit {found[0][:12]}" if found else "",
        )
    return Ledger(entries=entries)


def _latest_commits(repo_root: Path) -> dict[str, tuple[str, str | None]]:
    """Requirement ID -> (newest commit, its model), from the trailers of the commits touching ``repo_root``."""
    try:
        commits = trailer_log(repo_root, (REQUIREMENT_TRAILER, MODEL_TRAILER))
    except VcsError:  # no git, or a history too slow to read: nothing to recover
        return {}
    latest: dict[str, tuple[str, str | None]] = {}
    for commit in commits:
        models = commit.trailers[MODEL_TRAILER]
        for value in commit.trailers[REQUIREMENT_TRAILER]:
            for requirement_id in value.replace(",", " ").split():
                latest.setdefault(requirement_id, (commit.sha, models[0] if models else None))
    return latest


_STATUS_OF_RESULT: dict[str, LedgerStatus] = {
    "failed": "failing",
    "satisfied": "satisfied",
    "blocked": "blocked",
    "unverified": "unverified",
}


def entry_after(
    requirement: Requirement | None, result: RequirementResult, previous: LedgerEntry | None
) -> LedgerEntry:
    """What the ledger remembers of a requirement after this pass; attempts and cost add up across passes."""
    status = _STATUS_OF_RESULT.get(result.status, "removed")
    return LedgerEntry(
        id=result.requirement,
        title=result.title,
        source=requirement.source if requirement else (previous.source if previous else ""),
        line=requirement.line if requirement else (previous.line if previous else 1),
        content_hash=requirement.content_hash if requirement else (previous.content_hash if previous else ""),
        tests=list(result.tests) if requirement else (list(previous.tests) if previous else []),
        status=status,
        attempts=(previous.attempts if previous else 0) + len(result.attempts),
        model=result.model or (previous.model if previous else None),
        tier=result.tier or (previous.tier if previous else None),
        cost_usd=(previous.cost_usd if previous else 0.0) + result.cost_usd,
        commit=result.commit or (previous.commit if previous else None),
        reason=result.reason,
        updated=now_iso(),
    )
