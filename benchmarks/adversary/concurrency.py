"""Row 5, concurrency: a second `run --once` (with and without `--wait`) started while a first pass, or the
watch loop's pass, is at a given step; the model answers slowly so that the passes overlap.

Contained: no process rolls back another's live attempt or kills its test processes (the recovery of an
interrupted attempt is never logged: nothing was interrupted); the first pass's commit is in the history; at
most one autodev commit, whose tree passes its tests in a fresh clone; exit codes 0, 1 or 2 (a second pass
without `--wait` may be refused with 2); no journal, lock or process left; user bytes as before.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

from adversary import common
from adversary.common import Case, Options, Trial
from autodev.testing import ScriptedReply, ScriptedServer

RECOVERY_EVENTS = ("rolled back an interrupted attempt", "killed test processes left by an interrupted run")
# (first: "run" or "loop", the first's event at which the second starts, the second's extra flag)
PLANS = [
    ("run", "route", ""),
    ("run", "route", "--wait"),
    ("run", "copy synced", ""),
    ("run", "copy synced", "--wait"),
    ("run", "edits applied", ""),
    ("run", "edits applied", "--wait"),
    ("loop", "route", ""),
    ("loop", "route", "--wait"),
]


class Watched:
    """A process whose --log-json stderr is read as it comes; ``wait_for`` blocks until an event was logged."""

    def __init__(self, tr: Trial, *args: str) -> None:
        self.process = common.start_autodev(tr, *args, log_json=True)
        self.events: list[str] = []
        self.stdout = b""
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            for item in common.events(raw.decode("utf-8", "replace")):
                with self.changed:
                    self.events.append(str(item.get("event")))
                    self.changed.notify_all()
        with self.changed:
            self.events.append("<exit>")
            self.changed.notify_all()

    def wait_for(self, event: str, timeout: float = 60) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: event in self.events or "<exit>" in self.events, timeout)

    def finish(self, timeout: float = 120) -> int | None:
        try:
            out, _ = self.process.communicate(timeout=timeout)
            self.stdout = out or b""
        except subprocess.TimeoutExpired:
            common.kill_group(self.process.pid)
            self.process.communicate(timeout=10)
            return None
        self.reader.join(timeout=5)
        return self.process.returncode


def one(item: object) -> Case:
    first_kind, event, flag = item  # type: ignore[misc]
    name = f"run --once{' ' + flag if flag else ''} while the {first_kind}'s pass is at {event!r}"
    slow = ScriptedReply(content=common.RIGHT, delay_s=2.0)
    with common.trial("conc") as tr, ScriptedServer(responder=lambda r: slow) as server:
        common.make_project(tr.project, server.url)
        before, before_head, dirty = (
            common.snapshot(tr.project),
            common.head(tr.project),
            common.dirty_paths(tr.project),
        )
        first = Watched(tr, *(["loop", "run"] if first_kind == "loop" else ["run", "--once", "--json"]))
        problems = [] if first.wait_for(event) else [f"the first never logged {event!r}"]
        second = Watched(tr, "run", "--once", "--json", *([flag] if flag else []))
        second_code = second.finish()
        if first_kind == "loop":
            first.wait_for("requirement done", timeout=60)
            time.sleep(0.5)
            first.process.send_signal(signal.SIGTERM)
        first_code = first.finish()
        problems += _codes(first_kind, first_code, second_code, flag)
        for label, watched in (("first", first), ("second", second)):
            problems += [f"the {label} logged {e!r}" for e in RECOVERY_EVENTS if e in watched.events]
        history, committed = common.history_problems(tr.project, before_head)
        problems += history
        problems += _first_commit_kept(tr, first_kind, first)
        problems += common.files_problems(before, tr.project, committed, dirty)
        problems += common.state_problems(tr.project)
        problems += common.leftovers(tr)
        for sha in common.commits_since(tr.project, before_head)[:2]:
            problems += common.fresh_clone_problems(tr, sha)
        return Case(name=name, problems=problems, note=f"exits {first_code}, {second_code}")


def _codes(first_kind: str, first: int | None, second: int | None, flag: str) -> list[str]:
    problems = []
    if first is None or second is None:
        problems.append(f"hang: first {first}, second {second}")
    if first_kind == "run" and first != 0:
        problems.append(f"the first pass exited {first}, not 0")
    if first_kind == "loop" and first not in (0, 130, -15):
        problems.append(f"the loop exited {first} on SIGTERM")
    if second not in ((0,) if flag == "--wait" else (0, 2)):
        problems.append(f"the second pass exited {second}")
    return problems


def _first_commit_kept(tr: Trial, first_kind: str, first: Watched) -> list[str]:
    if first_kind != "run":
        return []
    result = common.result_json(common.Done(0, first.stdout.decode("utf-8", "replace"), "", 0))
    sha = result.get("commit")
    if not isinstance(sha, str):
        return ["the first pass committed nothing"]
    done = subprocess.run(["git", "merge-base", "--is-ancestor", sha, "HEAD"], cwd=tr.project, check=False)
    return [] if done.returncode == 0 else [f"the first pass's commit {sha[:8]} is not in the history"]


def run(options: Options) -> list[Case]:
    plans = PLANS[:: 4 if options.quick else 1]
    if options.limit:
        plans = plans[: options.limit]
    return common.run_cases(list(plans), one, options.jobs)
