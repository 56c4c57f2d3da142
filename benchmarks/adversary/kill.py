"""Row 1, kill -9: `autodev run --once` killed with SIGKILL at each step of an attempt and at random moments.

The moments: a log event of ``--log-json`` (the requirement read, the baseline run, the route decided, the reply
read, the copy synced, the attempt's tests done, the edits applied, the commit) plus a random delay of a few
milliseconds; a random time after the start; inside the model request (the scripted server waits before it
answers); during the attempt's tests; between "edits applied" and the commit. Only autodev's own process is
killed: its test processes stay behind, as they would. Then `run --once` again (the recovery) and the checks:
user bytes, HEAD, the journal, leftover processes, index.lock.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
import zlib

from adversary import common
from adversary.common import Case, Options, Trial
from autodev.testing import ScriptedReply, ScriptedServer

EVENTS = (
    "requirements",
    "baseline tests",
    "route",
    "model reply",
    "copy synced",
    "attempt 1 tests",
    "edits applied",
    "committed",
)
# Most recoveries stop at the first model call (a zero run cap on a priced model): the recovery itself happens
# before it, in the pass's prepare step, and the trial costs a second instead of a model call. One in four runs a
# whole pass (the scripted model answers right), so that a pass after a kill is also seen to commit cleanly.
BLOCKED = (
    "--set",
    "budget.per_run_usd=0",
    "--set",
    "llm.models.scripted.input_cost_per_token=0.001",
    "--set",
    "llm.models.scripted.output_cost_per_token=0.001",
)
MODES = ("event", "random", "request", "tests", "commit")


def plans(options: Options) -> list[tuple[str, str, float]]:
    """(mode, event, delay_s) per trial, from the seed: every event first, then a rotation of the modes."""
    rng = random.Random(options.seed)  # noqa: S311 - a seeded, repeatable trial plan
    count = options.count(6, 100)
    items: list[tuple[str, str, float]] = [("event", event, rng.uniform(0, 0.02)) for event in EVENTS]
    while len(items) < count:
        mode = MODES[len(items) % len(MODES)]
        if mode == "event":
            items.append((mode, rng.choice(EVENTS), rng.uniform(0, 0.05)))
        elif mode == "random":
            items.append((mode, "", rng.uniform(0.2, 6.0)))
        elif mode == "request":
            items.append((mode, "", rng.uniform(0.0, 1.4)))
        elif mode == "tests":
            items.append((mode, "copy synced", rng.uniform(0.0, 1.6)))
        else:
            items.append((mode, "edits applied", rng.uniform(0.0, 0.04)))
    return items[:count]


def one(plan: object) -> Case:
    mode, event, delay = plan  # type: ignore[misc]
    name = f"kill -9 at {mode}{' ' + event if event else ''} +{delay:.3f}s"
    with common.trial("kill") as tr:
        slow = ScriptedReply(content=common.RIGHT, delay_s=1.5)
        with ScriptedServer(responder=lambda r: slow if mode == "request" else common.RIGHT) as server:
            common.make_project(tr.project, server.url)
            before, before_head = common.snapshot(tr.project), common.head(tr.project)
            dirty = common.dirty_paths(tr.project)
            seen = _run_and_kill(tr, server, mode, event, delay)
            full = zlib.crc32(name.encode()) % 4 == 0
            recovery = common.run_autodev(tr, *([] if full else BLOCKED), "run", "--once", "--json", timeout=90)
        problems = _check(tr, before, before_head, dirty, recovery)
        kind = "full pass" if full else "recovery only"
        return Case(name=f"{name} ({kind})", problems=problems, note=f"killed after {seen or 'nothing'}")


def _run_and_kill(tr: Trial, server: ScriptedServer, mode: str, event: str, delay: float) -> str:
    """Start the pass, wait for the moment, SIGKILL autodev alone; the last event seen before the kill."""
    process = common.start_autodev(tr, "run", "--once", "--json", log_json=True, stdout=subprocess.DEVNULL)
    seen: list[str] = []
    fire = threading.Event()
    started = time.monotonic()

    def read() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            for item in common.events(raw.decode("utf-8", "replace")):
                seen.append(str(item.get("event")))
                if mode in ("event", "tests", "commit") and item.get("event") == event:
                    fire.set()
        fire.set()  # the pass ended before its moment: the kill is a no-op

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if mode == "random":
        fire.wait(delay)
    elif mode == "request":
        deadline = started + 60
        while not server.requests and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        time.sleep(delay)
    else:
        fire.wait(60)
        time.sleep(delay)
    process.kill()  # SIGKILL, autodev's process only
    process.wait(timeout=10)
    reader.join(timeout=5)
    return seen[-1] if seen else ""


def _check(
    tr: Trial, before: dict[str, tuple[bytes, int]], before_head: str, dirty: set[str], recovery: common.Done
) -> list[str]:
    problems = []
    if recovery.timed_out:
        problems.append("recovery run hung")
    elif recovery.code not in (0, 1) or recovery.traceback:
        problems.append(f"recovery run exit {recovery.code}{' with a traceback' if recovery.traceback else ''}")
    history, committed = common.history_problems(tr.project, before_head)
    problems += history
    problems += common.files_problems(before, tr.project, committed, dirty)
    problems += common.state_problems(tr.project)
    problems += common.leftovers(tr)
    for sha in common.commits_since(tr.project, before_head)[:2]:
        problems += common.fresh_clone_problems(tr, sha)
    return problems


def run(options: Options) -> list[Case]:
    return common.run_cases(list(plans(options)), one, options.jobs)
