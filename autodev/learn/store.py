"""The learning store: verified solutions and failures, on the user's machine only, in one SQLite file.

``$XDG_DATA_HOME/autodev/learning.sqlite3`` (else ``~/.local/share/autodev/``), private to the user (0600). Every
write is one transaction, so a killed process leaves the store as it was before or after; a file that cannot be
read, or that another schema wrote, is moved aside (``.corrupt-TIME`` / ``.schema-N``) and a new one started. The
store is bounded: past its limits the least useful entries go (retired ones, then the never reused, oldest
first). Learning is a shortcut: an error reading or writing it is logged and the pass goes on without it.

Requirement and test text are indexed by code-aware words (``autodev.learn.words``) in an FTS5 table ranked by
BM25, so retrieval needs no network and no model.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autodev.learn.words import key_words, words
from autodev.logs import get_logger

SCHEMA = 1
STORE_NAME = "learning.sqlite3"
MAX_SOLUTIONS = 2000
MAX_FAILURES = 10000
MAX_EVENTS = 50000
LOCK_TIMEOUT_S = 10.0  # how long a write waits for another process's transaction
EventKind = Literal["worked", "reused", "few_shot"]

_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS solutions(id INTEGER PRIMARY KEY, state_key TEXT UNIQUE NOT NULL, data TEXT NOT NULL,
    reused INTEGER NOT NULL DEFAULT 0, retired INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL,
    last_used REAL NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS solution_words USING fts5(requirement, tests);
CREATE TABLE IF NOT EXISTS failures(id INTEGER PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL,
    data TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, requirement TEXT NOT NULL,
    state TEXT NOT NULL, cost_avoided REAL NOT NULL, at REAL NOT NULL);
"""


class Solution(BaseModel):
    """A change that made a requirement's tests pass, with what it was for and what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement_id: str
    requirement_text: str
    tests: dict[str, str]  # test file -> its text, as the change was judged by
    signature: list[str]  # the tests that failed before the change
    changes: dict[str, str]  # file -> its text after the change
    model: str
    tier: str
    cost_usd: float = 0.0
    state_key: str  # the exact state it was made for (autodev.core.verified): a rerun of it is no reuse
    entry_id: int = Field(default=0, exclude=True)  # the store's id once stored
    reused: int = Field(default=0, exclude=True)
    retired: bool = Field(default=False, exclude=True)  # once reused and red: never reused again

    def tests_text(self) -> str:
        return "\n".join(self.tests[path] for path in sorted(self.tests))


class FailureEntry(BaseModel):
    """What a model did that did not pass: its outcome (red, no edit, unchanged...) and why, for one requirement."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement_id: str
    model: str
    tier: str
    kind: str
    detail: str
    signature: list[str]


class LearnStats(BaseModel):
    """What `autodev learn stats` shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    solutions: int
    failures: int
    worked: int  # states of requirements worked on (a rerun of the same state counts once, or not at all)
    reused: int  # of those, solved by a stored change without a model call
    few_shot: int  # prompts that carried a stored solution
    cost_avoided_usd: float
    reuse_rate: float | None


def learning_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/autodev``, else ``~/.local/share/autodev``."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "autodev"


class LearningStore:
    """One connection to the store; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log = get_logger()
        self.db = self._open()

    def add_solution(self, solution: Solution) -> None:
        """Keep a verified solution (the same state again replaces nothing), evicting past the limit."""
        now = time.time()
        with self._writing("solution"):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO solutions(state_key, data, created, last_used) VALUES (?, ?, ?, ?)",
                (solution.state_key, solution.model_dump_json(), now, now),
            )
            if cursor.rowcount:
                self.db.execute(
                    "INSERT INTO solution_words(rowid, requirement, tests) VALUES (?, ?, ?)",
                    (
                        cursor.lastrowid,
                        " ".join(words(solution.requirement_text)),
                        " ".join(words(solution.tests_text())),
                    ),
                )
                self._evict_solutions()

    def add_failure(self, failure: FailureEntry) -> None:
        with self._writing("failure"):
            self.db.execute("INSERT INTO failures(model, kind, data, created) VALUES (?, ?, ?, ?)",
                            (failure.model, failure.kind, failure.model_dump_json(), time.time()))  # fmt: skip
            self.db.execute("DELETE FROM failures WHERE id <= (SELECT MAX(id) FROM failures) - ?", (MAX_FAILURES,))

    def similar(self, text: str, limit: int = 5) -> list[Solution]:
        """The stored solutions whose requirement and tests share most words with ``text``, best first (BM25)."""
        query = " OR ".join(f'"{word}"' for word in sorted(key_words(text))[:512])
        if not query:
            return []
        try:
            rows = self.db.execute(
                "SELECT s.id, s.data, s.reused, s.retired FROM solution_words JOIN solutions s "
                "ON s.id = solution_words.rowid WHERE solution_words MATCH ? ORDER BY bm25(solution_words) LIMIT ?",
                (query, limit),
            ).fetchall()
        except sqlite3.Error as error:
            self.log.warning("learning store not searched", path=str(self.path), error=str(error))
            return []
        return [_solution(*row) for row in rows]

    def used(self, solution: Solution, *, green: bool) -> None:
        """A stored change was tried for another requirement: counted when green, retired when red."""
        with self._writing("reuse"):
            column = "reused = reused + 1" if green else "retired = 1"
            self.db.execute(f"UPDATE solutions SET {column}, last_used = ? WHERE id = ?",  # noqa: S608
                            (time.time(), solution.entry_id))  # fmt: skip

    def note(self, kind: EventKind, requirement: str, state: str, cost_avoided: float = 0.0) -> None:
        """One event of a requirement in one state (its key): worked on, solved by a stored change, given one."""
        with self._writing("event"):
            self.db.execute("INSERT INTO events(kind, requirement, state, cost_avoided, at) VALUES (?, ?, ?, ?, ?)",
                            (kind, requirement, state, cost_avoided, time.time()))  # fmt: skip
            self.db.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", (MAX_EVENTS,))

    def stats(self) -> LearnStats:
        """Work and reuse counted once per state: the loop's passes over a requirement that stays red are one."""
        count = self.db.execute
        states = dict(count("SELECT kind, COUNT(DISTINCT state) FROM events GROUP BY kind").fetchall())
        shown = count("SELECT COUNT(*) FROM events WHERE kind = 'few_shot'").fetchone()[0]
        avoided = count("SELECT COALESCE(SUM(cost_avoided), 0) FROM events WHERE kind = 'reused'").fetchone()[0]
        worked, reused = states.get("worked", 0), states.get("reused", 0)
        return LearnStats(
            path=str(self.path), solutions=count("SELECT COUNT(*) FROM solutions").fetchone()[0],
            failures=count("SELECT COUNT(*) FROM failures").fetchone()[0], worked=worked, reused=reused,
            few_shot=shown, cost_avoided_usd=round(float(avoided), 6),
            reuse_rate=round(reused / worked, 3) if worked else None,
        )  # fmt: skip

    def close(self) -> None:
        self.db.close()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return self._connected()
        except sqlite3.OperationalError:
            raise  # locked by another process, or unreadable for now: not damage, never moved aside
        except sqlite3.DatabaseError as error:
            self._move_aside(f"corrupt-{int(time.time())}", str(error))
            return self._connected()

    def _connected(self) -> sqlite3.Connection:
        created = not self.path.exists()
        db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
        try:
            if created:
                self.path.chmod(0o600)
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("the integrity check failed")
            found = db.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if found else None
            if version is not None and version[0] != str(SCHEMA):
                db.close()
                self._move_aside(f"schema-{version[0]}", f"it was written by schema {version[0]}, not {SCHEMA}")
                return self._connected()
            db.executescript(_TABLES)
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA),))
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self, suffix: str, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.{suffix}")
        self.path.replace(aside)
        self.log.warning("learning store moved aside; starting a new one", path=str(self.path), moved_to=str(aside),
                         reason=why)  # fmt: skip

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One transaction; an error (a full disk, a locked file) loses the entry, never the pass."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as error:
            self.log.warning("learning store not written", what=what, path=str(self.path), error=str(error))

    def _evict_solutions(self) -> None:
        excess = self.db.execute("SELECT COUNT(*) FROM solutions").fetchone()[0] - MAX_SOLUTIONS
        if excess <= 0:
            return
        least_useful = "SELECT id FROM solutions ORDER BY retired DESC, reused ASC, last_used ASC LIMIT ?"
        doomed = [row[0] for row in self.db.execute(least_useful, (excess,))]
        self.db.executemany("DELETE FROM solutions WHERE id = ?", [(i,) for i in doomed])
        self.db.executemany("DELETE FROM solution_words WHERE rowid = ?", [(i,) for i in doomed])


def _solution(entry_id: int, data: str, reused: int, retired: int) -> Solution:
    return Solution.model_validate({**json.loads(data), "entry_id": entry_id, "reused": reused,
                                    "retired": bool(retired)})  # fmt: skip


@contextmanager
def open_learning(enabled: bool, env: Mapping[str, str]) -> Iterator[LearningStore | None]:
    """The user's store for the block, closed after; None when learning is off (nothing is created) or the store
    cannot be opened (said in the log: the pass goes on without it)."""
    if not enabled:
        yield None
        return
    try:
        store = LearningStore(learning_dir(env) / STORE_NAME)
    except (OSError, sqlite3.Error) as error:
        get_logger().warning("no learning store this pass", error=str(error))
        yield None
        return
    try:
        yield store
    finally:
        store.close()


def read_stats(env: Mapping[str, str]) -> LearnStats | None:
    """The user's store's stats; None when there is no store yet (nothing is created to say so)."""
    path = learning_dir(env) / STORE_NAME
    if not path.exists():
        return None
    store = LearningStore(path)
    try:
        return store.stats()
    finally:
        store.close()


def stats_line(stats: LearnStats) -> str:
    """One line for people: the work, the reuse, what it saved."""
    rate = f"{stats.reuse_rate:.0%}" if stats.reuse_rate is not None else "-"
    return (f"{stats.worked} requirement(s) worked on, {stats.reused} solved by a stored change without a model call "
            f"(reuse rate {rate}), cost avoided ${stats.cost_avoided_usd:.4f}")  # fmt: skip


def forget(directory: Path) -> list[Path]:
    """Remove the store and everything moved aside from it; the files removed."""
    removed = []
    for path in sorted(directory.glob(f"{STORE_NAME}*")):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed
