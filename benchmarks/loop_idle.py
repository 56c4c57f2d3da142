"""What an idle watch loop costs: CPU time and resident memory of a real `autodev loop run` doing nothing.

The project is already done (SPEC.md, a passing test and the implementation, committed), so the loop's first
pass runs the tests, finds them green and calls no model; its config names no model at all, so a model call
would fail loudly instead of hiding in the numbers. Once the state file says the loop is watching after that
pass, the loop process (and any child it has) is sampled from /proc for --seconds (default 60): CPU as a
percentage of one core, and RSS (VmRSS, plus VmHWM, the peak since the process started).

Targets: under 0.5 % of one core, under 150 MB before any model call.

    .venv/bin/python benchmarks/loop_idle.py [--seconds 60]

Linux only (it reads /proc). A measurement, not a test: it prints numbers and exits 0 unless the loop fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPEC = """# Adder

Files: adder.py

- `add(a, b)` returns the sum of `a` and `b`.
"""
TEST = """from adder import add


def test_add() -> None:
    assert add(2, 3) == 5
"""
IMPLEMENTATION = """def add(a, b):
    return a + b
"""
STARTUP_TIMEOUT_S = 120.0
SAMPLE_EVERY_S = 1.0
CPU_TARGET_PERCENT = 0.5
RSS_TARGET_MB = 150.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def make_project(root: Path) -> None:
    """A finished project whose config has no [llm] section: the first pass must find it green."""
    (root / "tests").mkdir(parents=True)
    (root / "SPEC.md").write_text(SPEC, encoding="utf-8")
    (root / "tests" / "test_adder.py").write_text(TEST, encoding="utf-8")
    (root / "adder.py").write_text(IMPLEMENTATION, encoding="utf-8")
    (root / "autodev.toml").write_text(
        f"[project]\ntest_command = {json.dumps(f'{sys.executable} -m pytest -q')}\n", encoding="utf-8"
    )
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "done"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *command], cwd=root, check=True)


def loop_state(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / ".autodev" / "loop.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def wait_until_idle(root: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """The state once the first pass has finished and the loop is back to watching."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        state = loop_state(root)
        if state.get("pid") == process.pid and state.get("state") == "watching" and state.get("passes", 0) >= 1:
            return state
        if process.poll() is not None:
            raise SystemExit(f"the loop exited with status {process.returncode} before it was idle")
        if time.monotonic() > deadline:
            raise SystemExit(f"the loop was not idle after {STARTUP_TIMEOUT_S:g} s (state: {state})")
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ /proc


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may itself hold spaces and parentheses)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (the test runs, a local model server), found through their ppid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time of the process tree: own utime+stime, reaped children's cutime+cstime, and live descendants'."""
    total_ticks = 0
    for member in [pid, *descendants(pid)]:
        fields = stat_fields(member)
        if fields is not None:  # fields[11:15]: utime, stime, cutime, cstime
            total_ticks += sum(int(value) for value in fields[11:15])
    return total_ticks / CLOCK_TICKS


def memory_kb(pid: int, key: str) -> int:
    """A line of /proc/PID/status such as VmRSS or VmHWM, in kB (0 when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def tree_rss_kb(pid: int) -> int:
    return sum(memory_kb(member, "VmRSS") for member in [pid, *descendants(pid)])


# ------------------------------------------------------------------------------------------------ main


def sample(pid: int, seconds: float) -> tuple[float, float, list[int], int]:
    """(CPU seconds used, wall seconds, RSS samples of the tree in kB, children seen) over ``seconds``."""
    rss_samples = [tree_rss_kb(pid)]
    children_seen = len(descendants(pid))
    cpu_start, wall_start = cpu_seconds(pid), time.monotonic()
    deadline = wall_start + seconds
    while (now := time.monotonic()) < deadline:
        time.sleep(min(SAMPLE_EVERY_S, deadline - now))
        rss_samples.append(tree_rss_kb(pid))
        children_seen = max(children_seen, len(descendants(pid)))
    return cpu_seconds(pid) - cpu_start, time.monotonic() - wall_start, rss_samples, children_seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to sample the idle loop (default 60)")
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        raise SystemExit("this benchmark reads /proc: run it on Linux")

    with tempfile.TemporaryDirectory(prefix="autodev-loop-idle-") as tmp:
        root = Path(tmp) / "project"
        make_project(root)
        out = Path(tmp) / "loop.out"
        env = {key: value for key, value in os.environ.items() if key != "NOTIFY_SOCKET"}
        with out.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "autodev", "-C", str(root), "loop", "run"],
                cwd=tmp,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        started = time.monotonic()
        try:
            state = wait_until_idle(root, process)
            ready_s = time.monotonic() - started
            cpu_s, wall_s, rss, children = sample(process.pid, args.seconds)
            hwm_kb = memory_kb(process.pid, "VmHWM")
        except SystemExit:
            print(out.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)

    last = state.get("last_pass") or {}
    cpu_percent = 100.0 * cpu_s / wall_s
    rss_mb = [kb / 1024 for kb in rss]
    print(f"idle `autodev loop run` (pid {process.pid}), sampled for {wall_s:.1f} s after its first pass:")
    print(f"  first pass: {last.get('status')}: {last.get('reason', '')[:100]} ({ready_s:.1f} s after launch)")
    print(
        f"  CPU {cpu_percent:.3f} % of one core ({cpu_s * 1000:.0f} ms CPU, "
        f"resolution {1000 / CLOCK_TICKS:.0f} ms)   "
        f"target < {CPU_TARGET_PERCENT} %: {'met' if cpu_percent < CPU_TARGET_PERCENT else 'MISSED'}"
    )
    print(
        f"  RSS {rss_mb[-1]:.1f} MB at the end, max {max(rss_mb):.1f} MB, peak since start (VmHWM) "
        f"{hwm_kb / 1024:.1f} MB   target < {RSS_TARGET_MB:g} MB: {'met' if max(rss_mb) < RSS_TARGET_MB else 'MISSED'}"
    )
    print(f"  child processes seen while idle: {children}; loop exit status after SIGTERM: {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
