"""Solve rate and time on the Exercism development set with the bundled local models (CPU, offline).

Each exercise becomes a fresh git project (see oracle_pass.py); one `run_once` pass runs with the given ladder;
then the harness, not autodev, judges by running the original test file on the result.

    .venv/bin/python benchmarks/local_solve_rate.py [EXERCISES_DIR] [--only a,b] [--ladder A,B] [--attempts N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oracle_pass import DEFAULT_EXERCISES, build_project

from autodev.config import parse_config
from autodev.engine import run_once
from autodev.logs import configure_logging
from autodev.project import ProjectPaths

DEFAULT_LADDER = "local/smollm2-135m,local/qwen2.5-coder-0.5b"


def judge(root: Path) -> bool:
    """The harness's own verdict: the exercise's tests pass on what autodev left in the tree."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        timeout=300,
        check=False,
    )
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exercises", nargs="?", type=Path, default=DEFAULT_EXERCISES)
    parser.add_argument("--only", help="comma-separated exercise names")
    parser.add_argument("--ladder", default=DEFAULT_LADDER, help="comma-separated models, cheapest first")
    parser.add_argument("--attempts", type=int, default=3)
    args = parser.parse_args()
    names = set(args.only.split(",")) if args.only else None
    exercises = sorted(p for p in args.exercises.iterdir() if (p / ".meta").is_dir())
    exercises = [p for p in exercises if names is None or p.name in names]
    tiers = {f"tier{n}": [name] for n, name in enumerate(args.ladder.split(","), start=1)}
    config = parse_config(
        {
            "project": {"test_command": f"{sys.executable} -m pytest"},
            "synthesis": {"max_attempts": args.attempts},
            "llm": {"tiers": tiers},
        },
        source="benchmark",
    )
    configure_logging(log_file=None, console_level="error")
    print(f"ladder {args.ladder}, {args.attempts} attempts")
    print(f"{'exercise':28} {'solved':6} {'by':28} {'attempts':>8} {'tokens':>7} {'wall_s':>7} {'model_s':>7}")
    solved, total_wall, total_tokens = 0, 0.0, 0
    for exercise in exercises:
        with tempfile.TemporaryDirectory(prefix=f"local-{exercise.name}-") as tmp:
            root = Path(tmp)
            build_project(exercise, root)
            started = time.perf_counter()
            result = run_once(ProjectPaths(root=root), config)
            wall = time.perf_counter() - started
            passed = judge(root)
        tokens = sum(a.input_tokens + a.output_tokens for a in result.attempts)
        model_s = sum(a.model_seconds for a in result.attempts)
        solved += passed
        total_wall += wall
        total_tokens += tokens
        by = (result.model or "-") if passed else "-"
        row = f"{exercise.name:28} {'yes' if passed else 'no':6} {by:28} {len(result.attempts):8}"
        print(f"{row} {tokens:7} {wall:7.1f} {model_s:7.1f}", flush=True)
    count = len(exercises)
    print(f"solved {solved}/{count} ({100 * solved / max(count, 1):.0f}%), {total_wall / max(count, 1):.1f} s and")
    print(f"{total_tokens / max(count, 1):.0f} tokens per exercise on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())
