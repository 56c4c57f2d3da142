"""How many of the tests the tester kept are right: each kept file run against the exercise's example solution.

`autodev bench --tests generated` records the file of kept tests for each exercise (`generated_text` in
results.jsonl). A kept test is right when the reference solution passes it; red first (the test fails on the
stub) cannot tell a right one from one that expects a wrong value, and this says how often that happens.

    python benchmarks/generated_tests_check.py RESULTS.jsonl EXERCISES_DIR

Prints one line per exercise and the total; exits 2 when a file cannot be read.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from autodev.bench.exercise import ExerciseError, load_exercise


def right_and_wrong(text: str, exercise_dir: Path) -> tuple[int, int]:
    """(passed, failed or errored) of a kept test file run by pytest beside the exercise's example solution."""
    exercise = load_exercise(exercise_dir)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name, solution in exercise.reference_files().items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(solution, encoding="utf-8")
        (root / "test_generated.py").write_text(text, encoding="utf-8")
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_generated.py"],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error)", run.stdout)}
    return counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results, exercises = Path(argv[0]), Path(argv[1])
    try:
        rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        print(f"generated_tests_check: {results}: {error}", file=sys.stderr)
        return 2
    right = kept = 0
    for row in rows:
        if not row.get("generated_text"):
            continue
        try:
            passed, failed = right_and_wrong(row["generated_text"], exercises / row["exercise"])
        except ExerciseError as error:
            print(f"generated_tests_check: {row['exercise']}: {error}", file=sys.stderr)
            return 2
        right, kept = right + passed, kept + passed + failed
        print(f"{row['strategy']} {row['exercise']}: {passed} of {passed + failed} kept test(s) right, "
              f"solved: {'yes' if row['passed'] else 'no'}")  # fmt: skip
    print(f"total: {right} of {kept} kept test(s) pass on the example solutions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
