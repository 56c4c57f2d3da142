"""Bench totals, the files a run leaves (results.jsonl, summary.json, report.md, report.png) and comparing two runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autodev.bench.records import BenchSummary, CallRecord, ExerciseResult, RunInfo, SkippedExercise
from autodev.bench.report import (
    CHART_HINT,
    append_result,
    compare,
    load_run,
    ratio_line,
    summarize,
    write_report,
    write_results,
)
from autodev.errors import UsageError

pytestmark = pytest.mark.req("BENCH-2")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUN = RunInfo(
    command="autodev bench exercises --strategy tiered --strategy fixed:tier3 --seed 7",
    commit="0123abc",
    machine="linux x86_64, 2 cores",
    started="2025-01-02T03:04:05Z",
    mode="simulate",
    simulate="mixed",
    seed=7,
    exercises_dir="exercises",
)
STRATEGIES = ["tiered", "fixed:tier3"]


def call(tier: str, cost: float) -> CallRecord:
    return CallRecord(tier=tier, model=f"{tier}-model", outcome="green", cost_usd=cost)


def result(exercise: str, strategy: str, **fields: object) -> ExerciseResult:
    values: dict[str, object] = {"exercise": exercise, "strategy": strategy, "passed": False, "status": "failed"}
    return ExerciseResult.model_validate(values | fields)


def sample_results() -> list[ExerciseResult]:
    """Three exercises under two strategies; the expected totals below are worked out by hand from these."""
    return [
        result(
            "ex-a", "tiered", passed=True, status="satisfied", solved_by_tier="tier1", calls=[call("tier1", 0.01)],
            cost_usd=0.01, input_tokens=100, output_tokens=20,
            wall_seconds=10, model_seconds=4, test_seconds=3, own_seconds=3,
        ),
        result(
            "ex-b", "tiered", passed=True, status="satisfied", solved_by_tier="tier2",
            calls=[call("tier1", 0.01), call("tier2", 0.05)], cost_usd=0.06, input_tokens=300, output_tokens=60,
            wall_seconds=20, model_seconds=10, test_seconds=5, own_seconds=5,
        ),
        result(
            "ex-c", "tiered", calls=[call("tier1", 0.01), call("tier2", 0.05), call("tier3", 0.2)],
            cost_usd=0.26, input_tokens=600, output_tokens=120,
            wall_seconds=40, model_seconds=30, test_seconds=6, own_seconds=4,
        ),
        result(
            "ex-a", "fixed:tier3", passed=True, status="satisfied", solved_by_tier="tier3", calls=[call("tier3", 0.2)],
            cost_usd=0.2, input_tokens=500, output_tokens=100,
            wall_seconds=15, model_seconds=10, test_seconds=3, own_seconds=2,
        ),
        result(
            "ex-b", "fixed:tier3", status="error", reason="model 'big': timeout | retried",
            wall_seconds=5, own_seconds=5,
        ),
        result(
            "ex-c", "fixed:tier3", calls=[call("tier3", 0.3)], cost_usd=0.3, input_tokens=700, output_tokens=140,
            wall_seconds=25, model_seconds=20, test_seconds=3, own_seconds=2,
        ),
    ]  # fmt: skip


def sample_summary(results: list[ExerciseResult] | None = None) -> BenchSummary:
    skipped = [SkippedExercise(exercise="ex-broken", reason="no .meta/config.json")]
    return summarize(results if results is not None else sample_results(), RUN, skipped, STRATEGIES)


def write_run(out: Path, results: list[ExerciseResult]) -> None:
    write_results(out, results)
    write_report(out, sample_summary(results), results)


class TestSummarize:
    def test_totals_per_strategy_match_the_hand_computed_numbers(self) -> None:
        """Counts, sums, per-solved figures and autodev's own share come out as worked out by hand."""
        tiered, fixed = sample_summary().strategies
        assert (tiered.strategy, tiered.exercises, tiered.solved) == ("tiered", 3, 2)
        assert tiered.solve_rate == pytest.approx(2 / 3)
        assert tiered.cost_usd == pytest.approx(0.33)
        assert tiered.cost_per_solved_usd == pytest.approx(0.165)
        assert (tiered.tokens, tiered.tokens_per_solved, tiered.calls) == (1200, 600, 6)
        assert (tiered.wall_seconds, tiered.model_seconds, tiered.test_seconds, tiered.own_seconds) == (70, 44, 14, 12)
        assert tiered.own_share == pytest.approx(12 / 70)
        assert (fixed.strategy, fixed.exercises, fixed.solved, fixed.calls, fixed.tokens) == (
            "fixed:tier3",
            3,
            1,
            2,
            1440,
        )
        assert fixed.solve_rate == pytest.approx(1 / 3)
        assert fixed.cost_per_solved_usd == pytest.approx(0.5)
        assert fixed.tokens_per_solved == 1440
        assert fixed.own_share == pytest.approx(9 / 45)

    def test_by_tier_counts_calls_cost_and_confirmed_solves(self) -> None:
        """Each tier the calls used gets its calls and cost; solves count only exercises that passed there."""
        tiered, fixed = sample_summary().strategies
        assert list(tiered.by_tier) == ["tier1", "tier2", "tier3"]
        assert [(use.calls, use.solved) for use in tiered.by_tier.values()] == [(3, 1), (2, 1), (1, 0)]
        assert [use.cost_usd for use in tiered.by_tier.values()] == pytest.approx([0.03, 0.10, 0.2])
        assert list(fixed.by_tier) == ["tier3"]
        assert (fixed.by_tier["tier3"].calls, fixed.by_tier["tier3"].solved) == (2, 1)
        assert fixed.by_tier["tier3"].cost_usd == pytest.approx(0.5)

    def test_strategies_keep_the_given_order_and_an_unlisted_one_is_appended(self) -> None:
        """The order is the caller's; a strategy only seen in the results is kept, after the named ones."""
        results = [*sample_results(), result("ex-a", "fixed:tier1")]
        summary = summarize(results, RUN, [], ["fixed:tier3", "tiered"])
        assert [item.strategy for item in summary.strategies] == ["fixed:tier3", "tiered", "fixed:tier1"]

    def test_a_strategy_without_results_has_zero_rates_and_no_per_solved_figures(self) -> None:
        """Nothing ran, so nothing is divided by zero: rates are 0 and per-solved figures are absent."""
        empty = summarize([], RUN, [], ["tiered"]).strategies[0]
        assert (empty.exercises, empty.solved, empty.solve_rate, empty.own_share) == (0, 0, 0.0, 0.0)
        assert empty.cost_per_solved_usd is None
        assert empty.tokens_per_solved is None
        assert empty.by_tier == {}

    def test_run_info_and_skipped_exercises_are_carried_over(self) -> None:
        """The summary alone tells how the run was made and what it could not use."""
        summary = sample_summary()
        assert summary.run == RUN
        assert [item.exercise for item in summary.skipped] == ["ex-broken"]


class TestRatios:
    def test_first_strategy_is_measured_against_each_other_one(self) -> None:
        """Cost and wall are ratios first/other; the solve rate difference is first minus other."""
        (ratio,) = sample_summary().ratios
        assert (ratio.strategy, ratio.baseline) == ("tiered", "fixed:tier3")
        assert ratio.cost_ratio == pytest.approx(0.33 / 0.5)
        assert ratio.wall_ratio == pytest.approx(70 / 45)
        assert ratio.solve_rate_delta == pytest.approx(1 / 3)

    def test_a_baseline_that_cost_nothing_has_no_cost_ratio(self) -> None:
        """Dividing by a zero cost or a zero wall time gives no ratio rather than an infinity."""
        results = [result("ex-a", "tiered", cost_usd=0.1, wall_seconds=1), result("ex-a", "oracle")]
        (ratio,) = summarize(results, RUN, [], ["tiered", "oracle"]).ratios
        assert ratio.cost_ratio is None
        assert ratio.wall_ratio is None
        assert "cost not comparable" in ratio_line(ratio)

    def test_ratio_line_reads_as_a_sentence(self) -> None:
        """The line names both strategies, the cost and wall multiples and the solve rate in points."""
        (ratio,) = sample_summary().ratios
        assert (
            ratio_line(ratio) == "tiered vs fixed:tier3: 0.66x the cost, +33.3 points solve rate, 1.56x the wall time"
        )


class TestResultsFile:
    def test_results_round_trip_through_load_run(self, tmp_path: Path) -> None:
        """What write_results and write_report leave reads back equal."""
        results = sample_results()
        write_run(tmp_path, results)
        summary, loaded = load_run(tmp_path)
        assert loaded == results
        assert summary == sample_summary()

    def test_append_result_adds_one_line_per_exercise(self, tmp_path: Path) -> None:
        """Appending as the run goes leaves the same file as writing everything at the end."""
        out = tmp_path / "run"
        for item in sample_results():
            append_result(out, item)
        appended = (out / "results.jsonl").read_text()
        write_results(tmp_path / "whole", sample_results())
        assert appended == (tmp_path / "whole" / "results.jsonl").read_text()
        assert len(appended.splitlines()) == len(sample_results())


class TestLoadRun:
    def test_missing_summary_names_the_path(self, tmp_path: Path) -> None:
        """A directory that is not a bench output says which file is missing."""
        write_results(tmp_path, sample_results())
        with pytest.raises(UsageError, match=r"summary\.json: missing"):
            load_run(tmp_path)

    def test_malformed_summary_is_a_usage_error(self, tmp_path: Path) -> None:
        """A summary.json that is not a summary is reported with its path, not as a traceback."""
        write_run(tmp_path, sample_results())
        (tmp_path / "summary.json").write_text('{"run": {"command": "x"}, "strategies": [{"strategy": 1}]}')
        with pytest.raises(UsageError, match=r"summary\.json: not a bench summary"):
            load_run(tmp_path)

    def test_malformed_results_line_names_the_line(self, tmp_path: Path) -> None:
        """A broken results line points at its line number."""
        write_run(tmp_path, sample_results())
        with (tmp_path / "results.jsonl").open("a") as stream:
            stream.write('{"exercise": "ex-d"\n')
        with pytest.raises(UsageError, match=r"results\.jsonl: line 7"):
            load_run(tmp_path)


class TestReportMarkdown:
    def test_report_shows_the_run_and_every_table(self, tmp_path: Path) -> None:
        """report.md has the exact command, commit, mode and seed, the totals, ratios, per exercise, tiers, skips."""
        write_run(tmp_path, sample_results())
        text = (tmp_path / "report.md").read_text()
        assert f"`{RUN.command}`" in text
        assert "0123abc" in text
        assert "Mode: simulate (mixed), seed 7" in text
        assert "| tiered | 3 | 2 | 66.7 | 0.3300 | 0.1650 | 600 | 70.0 | 44.0 | 14.0 | 12.0 | 17.1 |" in text
        assert "| fixed:tier3 | 3 | 1 | 33.3 | 0.5000 | 0.5000 | 1440 | 45.0 | 30.0 | 6.0 | 9.0 | 20.0 |" in text
        assert "- tiered vs fixed:tier3: 0.66x the cost, +33.3 points solve rate, 1.56x the wall time" in text
        assert "| Exercise | tiered | fixed:tier3 |" in text
        assert "| ex-a | yes tier1 (1) | yes tier3 (1) |" in text
        assert r"| ex-b | yes tier2 (2) | error: model 'big': timeout \| retried |" in text
        assert "| ex-c | no | no |" in text
        assert "| tiered | tier2 | 2 | 1 | 0.1000 |" in text
        assert "- ex-broken: no .meta/config.json" in text

    def test_summary_json_and_report_are_the_returned_paths(self, tmp_path: Path) -> None:
        """write_report returns what it wrote, and summary.json reads back as the summary it was given."""
        summary = sample_summary()
        written = write_report(tmp_path, summary, sample_results())
        assert {path.name for path in written} >= {"summary.json", "report.md"}
        assert all(path.is_file() for path in written)
        assert BenchSummary.model_validate_json((tmp_path / "summary.json").read_text()) == summary


class TestReportChart:
    def test_png_is_written_and_stable(self, tmp_path: Path) -> None:
        """With matplotlib the chart is a PNG, linked from report.md, and the same numbers give the same bytes."""
        pytest.importorskip("matplotlib")
        written = write_report(tmp_path / "one", sample_summary(), sample_results())
        write_report(tmp_path / "two", sample_summary(), sample_results())
        png = tmp_path / "one" / "report.png"
        assert png in written
        assert png.read_bytes().startswith(PNG_MAGIC)
        assert png.read_bytes() == (tmp_path / "two" / "report.png").read_bytes()
        assert "](report.png)" in (tmp_path / "one" / "report.md").read_text()
        assert int.from_bytes(png.read_bytes()[16:20], "big") == 900  # two panels of 4.5 in at dpi 100

    def test_a_single_strategy_gets_a_third_panel_per_tier(self, tmp_path: Path) -> None:
        """With one strategy there is nothing to set side by side, so the chart adds calls and solves per tier."""
        pytest.importorskip("matplotlib")
        results = [item for item in sample_results() if item.strategy == "tiered"]
        write_report(tmp_path, summarize(results, RUN, [], ["tiered"]), results)
        png = (tmp_path / "report.png").read_bytes()
        assert png.startswith(PNG_MAGIC)
        assert int.from_bytes(png[16:20], "big") == 1350

    def test_without_matplotlib_the_report_says_how_to_get_the_chart(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A missing optional extra costs the PNG only; report.md tells how to install it."""
        for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
            monkeypatch.setitem(sys.modules, name, None)
        written = write_report(tmp_path, sample_summary(), sample_results())
        assert not (tmp_path / "report.png").exists()
        assert [path.name for path in written] == ["summary.json", "report.md"]
        text = (tmp_path / "report.md").read_text()
        assert CHART_HINT in text
        assert "pip install 'autodev[bench]'" in text


class TestCompare:
    def test_per_exercise_rows_show_both_verdicts_and_costs(self, tmp_path: Path) -> None:
        """Each exercise run under the same strategy on both sides shows A and B, and a change is marked."""
        before = sample_results()
        after = [
            item.model_copy(update={"passed": True, "status": "satisfied", "solved_by_tier": "tier3"})
            if (item.exercise, item.strategy) == ("ex-c", "tiered")
            else item
            for item in before
        ]
        write_run(tmp_path / "a", [*before, result("ex-d", "tiered")])
        write_run(tmp_path / "b", after)
        text = compare(tmp_path / "a", tmp_path / "b")
        assert "| ex-c | tiered | no | yes | 0.2600 | 0.2600 | changed |" in text
        assert "| ex-a | fixed:tier3 | yes | yes | 0.2000 | 0.2000 |  |" in text
        assert "- exercise ex-d: only in A" in text

    def test_totals_show_each_side_and_the_delta(self, tmp_path: Path) -> None:
        """Totals per strategy give A, B and B - A for solve rate, cost, tokens and wall time."""
        before = sample_results()
        after = [
            item.model_copy(update={"cost_usd": item.cost_usd * 2, "wall_seconds": item.wall_seconds + 1})
            for item in before
        ]
        write_run(tmp_path / "a", before)
        write_run(tmp_path / "b", after)
        text = compare(tmp_path / "a", tmp_path / "b")
        assert (
            "| tiered | 66.7 | 66.7 | +0.0 | 0.3300 | 0.6600 | +0.3300 | 1200 | 1200 | +0 | 70.0 | 73.0 | +3.0 |"
            in text
        )
        assert "Nothing: both sides ran the same exercises and strategies." in text

    def test_a_strategy_on_one_side_only_is_listed(self, tmp_path: Path) -> None:
        """A baseline dropped from one run is named rather than silently missing from the tables."""
        results = sample_results()
        write_run(tmp_path / "a", results)
        tiered_only = [item for item in results if item.strategy == "tiered"]
        write_results(tmp_path / "b", tiered_only)
        write_report(tmp_path / "b", summarize(tiered_only, RUN, [], ["tiered"]), tiered_only)
        text = compare(tmp_path / "a", tmp_path / "b")
        assert "- strategy fixed:tier3: only in A" in text
        assert "| ex-a | fixed:tier3 |" not in text

    def test_a_directory_without_results_is_a_usage_error(self, tmp_path: Path) -> None:
        """Comparing against a directory that holds no run fails with the path in the message."""
        write_run(tmp_path / "a", sample_results())
        with pytest.raises(UsageError, match="missing"):
            compare(tmp_path / "a", tmp_path / "nothing")
