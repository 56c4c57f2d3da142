"""Row 7, user edits: the user saves, deletes or chmods the target while an attempt's tests run.

The project has a committed stub temps.py and a slow test (1.5 s once temps imports), so the attempt's tests
take long enough for a thread to touch the user's file when the copy is synced plus a random delay. The user's
bytes (and mode) must win, and nothing untested is committed: when the user changed the target's bytes during
the attempt, no commit; when the bytes are the same again (a save of identical bytes, or a change undone), a
commit may land, holding the tested candidate, with the tree equal to it.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from adversary import common
from adversary.common import Case, Options
from autodev.testing import ScriptedServer

STUB = "def to_kelvin(celsius):\n    raise NotImplementedError\n"
USER = "# the user's own version, saved while autodev's tests ran\n" + common.RIGHT_CODE
SLOW_TEST = (
    "import time\n\n\ndef test_slow_once_temps_imports():\n    import temps  # noqa: F401\n\n    time.sleep(1.5)\n"
)


def _save(path: Path) -> None:
    path.write_text(USER, encoding="utf-8")


def _delete(path: Path) -> None:
    path.unlink()


def _chmod(path: Path) -> None:
    path.chmod(0o600)


def _chmod_exec(path: Path) -> None:
    path.chmod(0o755)


def _touch(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")


def _aba(path: Path) -> None:
    original = path.read_bytes()
    path.write_text(USER, encoding="utf-8")
    time.sleep(0.05)
    path.write_bytes(original)


def _save_twice(path: Path) -> None:
    path.write_text(USER, encoding="utf-8")
    time.sleep(0.3)
    path.write_text(USER + "# and again\n", encoding="utf-8")


ACTIONS: dict[str, tuple[Callable[[Path], None], bool]] = {  # name -> (action, bytes still the stub's)
    "save new bytes": (_save, False),
    "delete the file": (_delete, False),
    "chmod 600": (_chmod, True),
    "chmod 755": (_chmod_exec, True),
    "save identical bytes": (_touch, True),
    "change and undo (A-B-A)": (_aba, True),
    "save twice": (_save_twice, False),
}


def plans(options: Options) -> list[tuple[str, float]]:
    rng = random.Random(options.seed)  # noqa: S311 - a seeded, repeatable trial plan
    names = list(ACTIONS)
    items = [(name, rng.uniform(0.2, 1.0)) for name in names]
    items += [(rng.choice(names), rng.uniform(0.0, 1.4)) for _ in range(options.count(0, 5))]
    return items[:: 3 if options.quick else 1][: options.limit or None]


def one(item: object) -> Case:
    action_name, delay = item  # type: ignore[misc]
    action, same_bytes = ACTIONS[action_name]
    name = f"{action_name} {delay:.2f} s into the attempt's tests"
    with common.trial("edit") as tr, ScriptedServer(responder=lambda r: common.RIGHT) as server:
        common.make_project(tr.project, server.url, extra_files={"temps.py": STUB, "tests/test_slow.py": SLOW_TEST})
        target = tr.project / common.TARGET
        before, before_head, dirty = (
            common.snapshot(tr.project),
            common.head(tr.project),
            common.dirty_paths(tr.project),
        )
        user_state: dict[str, object] = {}
        process = common.start_autodev(tr, "run", "--once", "--json", log_json=True)
        editor = threading.Thread(target=_edit_when_synced, args=(process, target, action, delay, user_state))
        editor.start()
        out = _stdout(process)
        editor.join(timeout=30)
        problems = _judge(tr, before, before_head, dirty, user_state, same_bytes)
        if process.returncode not in (0, 1):
            problems.append(f"autodev exited {process.returncode}")
        return Case(
            name=name,
            problems=problems,
            note=str(common.result_json(common.Done(0, out.decode(), "", 0)).get("reason", ""))[:100],
        )


def _stdout(process: subprocess.Popen[bytes], timeout: float = 120) -> bytes:
    """stdout to its end (stderr is the editor thread's), the whole session killed after ``timeout``."""
    timer = threading.Timer(timeout, common.kill_group, args=(process.pid,))
    timer.start()
    try:
        assert process.stdout is not None
        out = process.stdout.read()
        process.wait(timeout=30)
        return out
    finally:
        timer.cancel()


def _edit_when_synced(
    process: subprocess.Popen[bytes],
    target: Path,
    action: Callable[[Path], None],
    delay: float,
    state: dict[str, object],
) -> None:
    """Read autodev's log until the attempt's copy is synced, wait ``delay``, act; record what the user left."""
    assert process.stderr is not None
    for raw in process.stderr:
        if any(item.get("event") == "copy synced" for item in common.events(raw.decode("utf-8", "replace"))):
            time.sleep(delay)
            action(target)
            state["at"] = time.time()
            state["bytes"] = target.read_bytes() if target.exists() else None
            state["mode"] = target.stat().st_mode & 0o7777 if target.exists() else None
            break
    for _ in process.stderr:
        pass


def _judge(
    tr: common.Trial,
    before: dict[str, tuple[bytes, int]],
    before_head: str,
    dirty: set[str],
    user: dict[str, object],
    same_bytes: bool,
) -> list[str]:
    if "at" not in user:
        return ["the attempt's tests never started (no 'copy synced' logged)"]
    target = tr.project / common.TARGET
    problems = []
    history, committed = common.history_problems(tr.project, before_head)
    problems += history
    expected = committed[common.TARGET] if same_bytes and common.TARGET in committed else user["bytes"]
    now = target.read_bytes() if target.exists() else None
    if now != expected:
        problems.append(
            "the user's bytes of temps.py did not win" + (" (it was deleted)" if user["bytes"] is None else "")
        )
    elif now is not None and target.stat().st_mode & 0o7777 != user["mode"]:
        problems.append(
            f"the user's mode of temps.py did not win ({user['mode']:o} -> {target.stat().st_mode & 0o7777:o})"
        )
    if committed and not same_bytes:
        problems.append("committed although the user changed temps.py during the attempt")
    others = {rel: value for rel, value in before.items() if rel != common.TARGET}
    problems += [p for p in common.files_problems(others, tr.project, {}, dirty) if common.TARGET not in p]
    problems += common.state_problems(tr.project) + common.leftovers(tr)
    for sha in common.commits_since(tr.project, before_head)[:2]:
        problems += common.fresh_clone_problems(tr, sha)
    return problems


def run(options: Options) -> list[Case]:
    return common.run_cases(list(plans(options)), one, options.jobs)
