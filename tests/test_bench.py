"""`autodev bench`: real exercises, real git projects, real pytest, scripted models over real HTTP."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from autodev.bench.exercise import ExerciseError, build_project, find_exercises, load_exercise
from autodev.bench.scripted import parse_simulate, wrong_answer
from autodev.cli.main import run_cli

pytestmark = pytest.mark.req("BENCH-1")

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exercism"
TWO = "grains,reverse-string"
VARIANTS_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "variants.py"


def bench(*args: str) -> int:
    return run_cli(["bench", *args])


def results(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


def without_timings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everything but wall-clock measurements, which no seed can fix."""
    timing = {"model_seconds", "test_seconds", "own_seconds", "wall_seconds"}
    return [
        {
            key: re.sub(r"committed [0-9a-f]{12}", "committed <sha>", value) if key == "reason" else value
            for key, value in row.items()
            if key not in timing
        }
        | {"calls": [{**call, "model_seconds": 0} for call in row["calls"]]}
        for row in rows
    ]


class TestOracle:
    def test_the_oracle_solves_every_exercise_and_reports_the_overhead(self, tmp_path: Path) -> None:
        """Reference solutions through the whole pipeline: 3/3 passed, the harness's verdict, own time measured."""
        out = tmp_path / "out"
        assert bench(str(FIXTURES), "--oracle", "--out", str(out)) == 0
        rows = results(out)
        assert sorted(r["exercise"] for r in rows) == ["grains", "pangram", "reverse-string"]
        assert all(r["passed"] and r["status"] == "satisfied" and r["solved_by_tier"] == "tier1" for r in rows)
        assert all(r["own_seconds"] > 0 and r["test_seconds"] > 0 for r in rows)
        totals = summary(out)["strategies"][0]
        assert (totals["solved"], totals["exercises"]) == (3, 3)
        report = (out / "report.md").read_text(encoding="utf-8")
        assert f"autodev bench {FIXTURES} --oracle" in report and "| grains |" in report


class TestSpecOnly:
    @pytest.mark.req("TG-5")
    def test_generated_and_no_tests_are_columns_of_their_own_judged_by_the_exercises_tests(
        self, tmp_path: Path
    ) -> None:
        """--spec-only: the oracle tester writes the exercise's tests (kept: they fail on the stub; its call is
        counted), the oracle coder then passes them; without tests one unjudged answer is written; the verdict is
        always the original tests'."""
        out = tmp_path / "out"
        assert bench(str(FIXTURES), "--oracle", "--only", "grains", "--spec-only", "--out", str(out)) == 0
        rows = {row["strategy"]: row for row in results(out)}
        assert set(rows) == {"tiered", "tiered+generated-tests", "tiered+none-tests"}
        assert all(row["passed"] for row in rows.values())
        generated = rows["tiered+generated-tests"]
        assert generated["tests_mode"] == "generated" and generated["generated_tests"] >= 5
        assert "def test_" in generated["generated_text"]
        assert generated["calls"][0]["role"] == "tester" and generated["calls"][0]["outcome"] == "tests"
        assert generated["output_tokens"] == sum(call["output_tokens"] for call in generated["calls"])
        unchecked = rows["tiered+none-tests"]
        assert unchecked["attempts"] == 1 and [call["outcome"] for call in unchecked["calls"]] == ["unchecked"]
        report = (out / "report.md").read_text(encoding="utf-8")
        assert "## Tests from the spec" in report and "| tiered+generated-tests |" in report
        assert "--tests visible,generated,none" in summary(out)["run"]["command"]

    @pytest.mark.req("TG-5")
    def test_an_unjudged_answer_that_is_wrong_is_not_solved(self, tmp_path: Path) -> None:
        """--tests none: the highest tier's answer (the best a user can ask for without tests) is checked by
        nothing before the harness; a wrong one fails there."""
        out = tmp_path / "out"
        args = ["--simulate", "tier1=0,tier2=0,tier3=0", "--only", "grains", "--tests", "none", "--out", str(out)]
        assert bench(str(FIXTURES), *args) == 0  # an exercise not solved is a result, not a failure of the run
        (row,) = results(out)
        assert row["strategy"] == "tiered+none-tests" and not row["passed"] and row["attempts"] == 1
        assert [call["tier"] for call in row["calls"]] == ["tier3"]

    def test_spec_only_and_tests_together_are_a_usage_error(self, tmp_path: Path) -> None:
        args = ["--oracle", "--spec-only", "--tests", "generated", "--out", str(tmp_path / "o")]
        assert bench(str(FIXTURES), *args) == 2

    def test_an_unknown_tests_mode_is_a_usage_error(self, tmp_path: Path) -> None:
        assert bench(str(FIXTURES), "--oracle", "--tests", "hidden", "--out", str(tmp_path / "o")) == 2


class TestLearnFrom:
    @pytest.mark.req("LEARN-6")
    def test_a_variant_set_is_solved_from_the_store_the_development_set_filled_and_compared_without_learning(
        self, tmp_path: Path
    ) -> None:
        """--learn-from: the oracle solves grains (fill); grains with its names changed is then solved by that
        change renamed, with no model call (learned), and by the oracle again without learning."""
        variants = tmp_path / "variants"
        made = subprocess.run([sys.executable, str(VARIANTS_SCRIPT), str(FIXTURES), str(variants), "--only", "grains"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert made.returncode == 0, made.stderr
        out = tmp_path / "out"
        assert bench(str(variants), "--oracle", "--learn-from", str(FIXTURES), "--only", "grains-variant",
                     "--out", str(out)) == 0  # fmt: skip
        rows = {row["strategy"]: row for row in results(out)}
        assert set(rows) == {"tiered+fill", "tiered+learned", "tiered+no-learning"}
        assert rows["tiered+fill"]["exercise"] == "grains" and rows["tiered+learned"]["exercise"] == "grains-variant"
        assert all(row["passed"] for row in rows.values())
        assert [call["model"] for call in rows["tiered+learned"]["calls"]] == ["tier0/learned"]
        assert rows["tiered+no-learning"]["solved_by_model"] == "oracle"
        report = (out / "report.md").read_text(encoding="utf-8")
        assert "## Learning" in report and "| tiered+learned | 1/1 | 1 | 100% | 0 |" in report
        assert (out / "learning" / "tiered+learned" / "autodev" / "learning.sqlite3").exists()


class TestSimulate:
    def test_the_same_seed_gives_the_same_results_bit_for_bit(self, tmp_path: Path) -> None:
        """Two runs with seed 7: the same answers, outcomes, tiers, tokens and costs (timings aside)."""
        runs = []
        for name in ("a", "b"):
            out = tmp_path / name
            args = ["--simulate", "tier1=0.3,tier2=0.6,tier3=0.9", "--seed", "7", "--only", TWO, "--out", str(out)]
            assert bench(str(FIXTURES), *args) in (0, 1)
            runs.append(without_timings(sorted(results(out), key=lambda r: r["exercise"])))
        assert runs[0] == runs[1]
        assert any(call["tier"] != "tier3" for row in runs[0] for call in row["calls"])

    def test_baselines_run_in_the_same_harness_and_are_compared(self, tmp_path: Path) -> None:
        """fixed:tier3 and single-shot call tier3 only; the summary has the cascade's ratio against each."""
        out = tmp_path / "out"
        strategies = "tiered,fixed:tier3,single-shot"
        args = ["--simulate", "tier1=0,tier3=1", "--only", TWO, "--strategy", strategies, "--out", str(out)]
        assert bench(str(FIXTURES), *args) == 0
        rows = results(out)
        for row in rows:
            tiers = [call["tier"] for call in row["calls"]]
            if row["strategy"] == "tiered":
                assert (tiers[0], tiers[-1]) == ("tier1", "tier3")
            else:
                assert tiers == ["tier3"]
        ratios = {(r["strategy"], r["baseline"]) for r in summary(out)["ratios"]}
        assert ratios == {("tiered", "fixed:tier3"), ("tiered", "single-shot")}

    def test_a_wrong_answer_is_the_reference_with_one_return_broken(self) -> None:
        """The simulator's wrong answer differs from the reference in exactly one line, repeatably per seed."""
        exercise = load_exercise(FIXTURES / "grains")
        first = wrong_answer(exercise, random.Random(3))  # noqa: S311
        assert first == wrong_answer(exercise, random.Random(3))  # noqa: S311
        changed = [
            pair for pair in zip(first.splitlines(), exercise.reference.splitlines(), strict=True) if pair[0] != pair[1]
        ]
        assert len(changed) == 1 and changed[0][0].strip() == "return None"

    @pytest.mark.parametrize("text", ["tier9=0.5", "tier1=1.5", "tier1=x", ""])
    def test_a_bad_simulate_spec_is_refused_with_the_reason(self, text: str) -> None:
        """Unknown tiers, probabilities outside [0, 1] and non-numbers are errors naming the part."""
        with pytest.raises(ValueError, match="tier"):
            parse_simulate(text)


class TestExercises:
    def test_a_corrupt_exercise_is_reported_and_skipped(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No .meta/config.json, or a listed test file missing: named in stderr and summary.json; others run."""
        exercises = tmp_path / "exercises"
        shutil.copytree(FIXTURES / "grains", exercises / "grains")
        shutil.copytree(FIXTURES / "pangram", exercises / "no-config")
        (exercises / "no-config" / ".meta" / "config.json").unlink()
        shutil.copytree(FIXTURES / "reverse-string", exercises / "no-tests")
        (exercises / "no-tests" / "reverse_string_test.py").unlink()
        out = tmp_path / "out"
        assert bench(str(exercises), "--oracle", "--out", str(out)) == 0
        skipped = {item["exercise"]: item["reason"] for item in summary(out)["skipped"]}
        assert skipped == {
            "no-config": "no-config: no .meta/config.json",
            "no-tests": "no-tests: reverse_string_test.py is listed in .meta/config.json but missing",
        }
        assert "skipped no-tests" in capsys.readouterr().err
        assert [r["exercise"] for r in results(out)] == ["grains"]

    def test_a_project_is_the_docs_the_stub_and_the_tests_committed(self, tmp_path: Path) -> None:
        """SPEC.md holds introduction then instructions then the append; tests sit under tests/."""
        exercise = load_exercise(FIXTURES / "grains")
        root = tmp_path / "grains"
        build_project(exercise, root)
        spec = (root / "SPEC.md").read_text(encoding="utf-8")
        docs = [(FIXTURES / "grains" / doc).read_text(encoding="utf-8").strip() for doc in exercise.docs]
        assert [spec.index(doc) for doc in docs] == sorted(spec.index(doc) for doc in docs)
        assert (root / "tests" / "grains_test.py").is_file()
        assert (root / "grains.py").read_text(encoding="utf-8") == exercise.stub

    def test_a_missing_directory_is_an_error(self, tmp_path: Path) -> None:
        """Pointing the harness at nothing says so."""
        with pytest.raises(ExerciseError, match="not a directory"):
            find_exercises(tmp_path / "absent")


class TestCommandLine:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--oracle", "--simulate", "tier1=1"], "exclude each other"),
            (["--strategy", "always-big"], "unknown strategy"),
            (["--strategy", "fixed:tier7"], "unknown strategy"),
        ],
    )
    def test_bad_options_exit_2_with_a_message(
        self, args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Contradictory or unknown options are usage errors, before any exercise runs."""
        assert bench(str(FIXTURES), *args, "--out", str(tmp_path / "out")) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "out" / "results.jsonl").exists()

    def test_compare_shows_two_runs_side_by_side(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """bench compare A B prints both runs' totals and each exercise's verdicts."""
        for name, rates in (("a", "tier1=1"), ("b", "tier1=0")):
            args = ["--simulate", rates, "--only", "grains", "--tries", "1", "--out", str(tmp_path / name)]
            bench(str(FIXTURES), *args)
        capsys.readouterr()
        assert bench("compare", str(tmp_path / "a"), str(tmp_path / "b")) == 0
        text = capsys.readouterr().out
        assert "grains" in text and "tiered" in text
