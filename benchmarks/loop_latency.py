"""How fast the watch loop reacts: from saving SPEC.md to the start of the pass it triggers.

A real loop process (LoopRunner with the real watchdog observer, pid lock and state file) runs on a temporary git
project; only the pass is a stand-in that records ``time.time()`` as it starts and returns at once, so what is
measured is the watch, the debounce and the content gate, not a model or the tests. Two measurements:

* N separate saves (default 30), each its own burst: latency from just after the write to the pass start,
  reported as p50, p95 and max against the target "debounce + 100 ms at p95";
* one burst of 100 saves within 50 ms: how many passes it gave (one expected) and how long after the last save.

    .venv/bin/python benchmarks/loop_latency.py [--saves 30] [--debounce-ms 500] [--burst 100]

This is a measurement, not a test: it prints numbers and exits 0 unless the loop itself fails.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The loop process: LoopRunner exactly as `autodev loop run` builds it, with an instant pass that stamps its start.
DRIVER = """
import sys, time
from pathlib import Path
from autodev.results import RequirementResult, single
from autodev.logs import configure_logging
from autodev.loop.runner import LoopRunner

root, record = Path(sys.argv[1]), Path(sys.argv[2])
configure_logging(log_file=root / ".autodev" / "logs" / "autodev.jsonl", console_level="warning")

def instant_pass(paths, config, client):
    started = time.time()
    with record.open("a") as out:
        out.write(f"{started!r}\\n")
    return single(RequirementResult(requirement="SPEC.md", title="benchmark", status="satisfied", reason="instant"))

sys.exit(LoopRunner(root, run_pass=instant_pass).run())
"""

SPACING_S = 0.2  # quiet time after a pass before the next save, so every save starts a burst of its own
PASS_TIMEOUT_S = 15.0


def make_project(root: Path, debounce_ms: int) -> None:
    root.mkdir()
    (root / "SPEC.md").write_text("# Benchmark\n", encoding="utf-8")
    (root / "autodev.toml").write_text(f"[monitoring]\ndebounce_ms = {debounce_ms}\n", encoding="utf-8")
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "spec"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *command], cwd=root, check=True)


def pass_starts(record: Path) -> list[float]:
    if not record.exists():
        return []
    complete = record.read_text().split("\n")[:-1]  # a line still being written has no newline yet
    return [float(line) for line in complete if line.strip()]


def loop_phase(root: Path) -> str | None:
    try:
        data = json.loads((root / ".autodev" / "loop.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    phase = data.get("state") if isinstance(data, dict) else None
    return phase if isinstance(phase, str) else None


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + PASS_TIMEOUT_S
    while not condition():
        if process.poll() is not None:
            raise SystemExit(f"the loop exited with status {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {PASS_TIMEOUT_S:g} s waiting for {what}")
        time.sleep(0.002)  # polls the record file; finer than the latencies measured


def wait_for_passes(record: Path, count: int, what: str, process: subprocess.Popen[bytes]) -> None:
    wait_for(lambda: len(pass_starts(record)) >= count, what, process)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with 30 samples, p95 is the 29th smallest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure_single_saves(root: Path, record: Path, process: subprocess.Popen[bytes], saves: int) -> list[float]:
    latencies = []
    for number in range(saves):
        before = len(pass_starts(record))
        (root / "SPEC.md").write_text(f"# Benchmark\n\nsave {number}\n", encoding="utf-8")
        saved = time.time()
        wait_for_passes(record, before + 1, f"the pass after save {number}", process)
        latencies.append(pass_starts(record)[before] - saved)
        wait_for(lambda: loop_phase(root) == "watching", "the loop to go back to watching", process)
        time.sleep(SPACING_S)
    return latencies


def measure_burst(
    root: Path, record: Path, process: subprocess.Popen[bytes], count: int, settle_s: float
) -> tuple[float, int, float]:
    """(seconds the saves took, passes they gave, seconds from the last save to the first pass)."""
    before = len(pass_starts(record))
    spec = root / "SPEC.md"
    first = time.time()
    for number in range(count):
        spec.write_text(f"# Benchmark\n\nburst save {number}\n", encoding="utf-8")
    last = time.time()
    wait_for_passes(record, before + 1, "the pass after the burst", process)
    time.sleep(settle_s)  # long enough for any second pass to have started
    starts = pass_starts(record)
    return last - first, len(starts) - before, starts[before] - last


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=30, help="separate saves to time (default 30)")
    parser.add_argument("--debounce-ms", type=int, default=500, help="[monitoring] debounce_ms (default 500)")
    parser.add_argument("--burst", type=int, default=100, help="saves in the burst (default 100)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="autodev-loop-latency-") as tmp:
        root, record, out = Path(tmp) / "project", Path(tmp) / "passes.log", Path(tmp) / "loop.out"
        make_project(root, args.debounce_ms)
        with out.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-c", DRIVER, str(root), str(record)], stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_for_passes(record, 1, "the first pass", process)
            wait_for(lambda: loop_phase(root) == "watching", "the loop to watch", process)
            latencies = measure_single_saves(root, record, process, args.saves)
            settle_s = 2 * (args.debounce_ms / 1000 + 2.0)  # two debounce + max-wait periods
            took, burst_passes, burst_latency = measure_burst(root, record, process, args.burst, settle_s)
        except SystemExit:
            print(out.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    target = args.debounce_ms / 1000 + 0.100
    p95 = percentile(latencies, 0.95)
    print(f"save -> pass start, {len(latencies)} separate saves of SPEC.md, debounce {args.debounce_ms} ms:")
    print(f"  p50 {ms(percentile(latencies, 0.50))}")
    print(f"  p95 {ms(p95)}   target <= {ms(target)} (debounce + 100 ms): {'met' if p95 <= target else 'MISSED'}")
    print(f"  max {ms(max(latencies))}")
    print(f"  min {ms(min(latencies))}")
    print(f"burst of {args.burst} saves written in {ms(took)}:")
    print(f"  passes {burst_passes} (expected 1): {'met' if burst_passes == 1 else 'MISSED'}")
    print(f"  last save -> pass start {ms(burst_latency)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
