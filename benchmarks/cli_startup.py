"""Start-up time of every command that calls no model (target: under 0.3 s each), with `python -c pass` as the floor.

Each command runs as a fresh subprocess (`python -m autodev ...`) in a small prepared project: a git repository
with autodev.toml (a hosted top tier, so `metrics` prices its estimate), a SPEC.md with two requirements, a ledger
and a metrics file. The wall clock of the whole process is timed, N times; the median is printed.

    .venv/bin/python benchmarks/cli_startup.py [--runs 11] [--autodev PATH_TO_CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.3
COMMANDS: list[list[str]] = [
    ["--help"],
    ["--version"],
    [],
    ["status"],
    ["status", "--json"],
    ["metrics"],
    ["spec", "show"],
    ["loop", "status"],
    ["models", "list"],
]
CONFIG = """\
[llm.tiers]
tier1 = ["local/smollm2-135m"]
tier4 = ["gpt-4"]
"""
SPEC = """\
# Temperatures

## TEMP-1: Kelvin

`to_kelvin(celsius)` adds 273.15.

## TEMP-2: Fahrenheit

`to_fahrenheit(celsius)` is celsius * 9 / 5 + 32.
"""


def prepare(root: Path) -> None:
    """A project as it looks after a few passes: config, spec, tests, a ledger-less state dir, metrics lines."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "autodev.toml").write_text(CONFIG, encoding="utf-8")
    (root / "SPEC.md").write_text(SPEC, encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "test_temps.py").write_text("def test_kelvin():\n    assert True\n", encoding="utf-8")
    state = root / ".autodev"
    state.mkdir()
    event = {"schema": 1, "kind": "call", "at": 1.0, "requirement": "TEMP-1", "tier": "tier1", "model": "m"}
    lines = [json.dumps(event | {"input_tokens": 900, "output_tokens": 90, "outcome": "red"})] * 20
    (state / "metrics.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def median_seconds(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per command (default 11)")
    parser.add_argument("--autodev", type=Path, help="the checkout to import autodev from (default: installed)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.autodev:
        env["PYTHONPATH"] = str(args.autodev.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        prepare(root)
        floor = median_seconds([sys.executable, "-c", "pass"], root, env, args.runs)
        print(f"{'python -c pass':28} {floor:6.3f} s  (floor)")
        slow = 0
        for words in COMMANDS:
            seconds = median_seconds([sys.executable, "-m", "autodev", *words], root, env, args.runs)
            slow += seconds >= TARGET_S
            mark = "" if seconds < TARGET_S else f"  over {TARGET_S} s"
            print(f"{' '.join(['autodev', *words]):28} {seconds:6.3f} s{mark}")
    print(f"median of {args.runs} runs each; target under {TARGET_S} s: {len(COMMANDS) - slow}/{len(COMMANDS)} met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
