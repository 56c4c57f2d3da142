"""autodev's own overhead per pass, with zero model time: every exercise answered by its reference solution.

For each Exercism exercise (default: ../shared/bench/exercism) this builds a fresh git project (SPEC.md from the
docs, the stub, the test file under tests/), serves the exercise's .meta/example.py as the model's reply from the
scripted OpenAI-compatible server, and runs one `run_once` pass through the real LiteLLM HTTP path. Every pass must
commit; the time not spent in tests or in the (instant) model call is autodev's own.

    .venv/bin/python benchmarks/oracle_pass.py [EXERCISES_DIR] [--only a,b]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autodev.config import Config, parse_config
from autodev.engine import PassResult, run_once
from autodev.logs import configure_logging
from autodev.project import ProjectPaths
from autodev.testing import ScriptedServer

DEFAULT_EXERCISES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "exercism"
DOC_ORDER = ("introduction.md", "instructions.md", "instructions.append.md")


def build_project(exercise: Path, root: Path) -> str:
    """Lay the exercise out as a user's project; returns the reference solution as a whole-file reply."""
    meta = json.loads((exercise / ".meta" / "config.json").read_text(encoding="utf-8"))
    docs = [exercise / ".docs" / name for name in DOC_ORDER if (exercise / ".docs" / name).exists()]
    (root / "SPEC.md").write_text("\n\n".join(d.read_text(encoding="utf-8") for d in docs), encoding="utf-8")
    (root / "tests").mkdir()
    for test in meta["files"]["test"]:
        shutil.copy(exercise / test, root / "tests" / Path(test).name)
    for name in meta["files"]["solution"] + meta["files"].get("editor", []):
        shutil.copy(exercise / name, root / name)
        (root / name).chmod(0o644)
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "exercise"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *command], cwd=root, check=True)
    solution = meta["files"]["solution"][0]
    example = (exercise / meta["files"]["example"][0]).read_text(encoding="utf-8")
    return f"{solution}\n```python\n{example}```\n"


def config_for(url: str) -> Config:
    return parse_config(
        {
            "project": {"test_command": f"{sys.executable} -m pytest"},
            "llm": {"tiers": {"tier1": ["oracle"]}, "models": {"oracle": {"model": "openai/oracle", "api_base": url}}},
        },
        source="benchmark",
    )


def run_exercise(exercise: Path) -> tuple[PassResult, float, int]:
    with tempfile.TemporaryDirectory(prefix=f"oracle-{exercise.name}-") as tmp, ScriptedServer() as server:
        root = Path(tmp)
        server.push(build_project(exercise, root))
        started = time.perf_counter()
        result = run_once(ProjectPaths(root=root), config_for(server.url))
        wall = time.perf_counter() - started
        prompt_chars = sum(len(request.prompt_text) for request in server.requests)

    return result, wall, prompt_chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exercises", nargs="?", type=Path, default=DEFAULT_EXERCISES)
    parser.add_argument("--only", help="comma-separated exercise names")
    args = parser.parse_args()
    names = set(args.only.split(",")) if args.only else None
    exercises = sorted(p for p in args.exercises.iterdir() if (p / ".meta").is_dir())
    exercises = [p for p in exercises if names is None or p.name in names]
    configure_logging(log_file=None, console_level="error")
    print(f"{'exercise':28} {'ok':3} {'wall_s':>7} {'tests_s':>7} {'model_s':>7} {'own_s':>6} {'prompt_tok':>10}")
    print("(tests_s: baseline and attempt test runs; own_s: everything else, i.e. autodev itself)")
    own_times: list[float] = []
    solved = 0
    run_exercise(exercises[0])  # warm-up: LiteLLM's import is paid once per process, not per pass
    for exercise in exercises:
        result, wall, prompt_chars = run_exercise(exercise)
        tests = result.baseline_seconds + sum(a.test_seconds for a in result.attempts)
        model = sum(a.model_seconds for a in result.attempts)
        own = wall - tests - model
        own_times.append(own)
        solved += result.status == "satisfied"
        ok = "yes" if result.status == "satisfied" else "NO"
        print(f"{exercise.name:28} {ok:3} {wall:7.2f} {tests:7.2f} {model:7.3f} {own:6.2f} {prompt_chars // 4:10}")
        if result.status != "satisfied":
            print(f"    {result.reason[:300]}")
    print(f"solved {solved}/{len(exercises)}")
    median, worst = statistics.median(own_times), max(own_times)
    print(f"autodev's own time per pass (outside test runs and model calls): median {median:.2f} s, max {worst:.2f} s")
    return 0 if solved == len(exercises) else 1


if __name__ == "__main__":
    sys.exit(main())
