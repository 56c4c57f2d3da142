"""The totals of a benchmark run and the files a reader looks at: results.jsonl, summary.json, report.md, report.png.

Numbers are computed once here (``summarize``) and only formatted afterwards, so the markdown, the chart and
``compare`` can never disagree with summary.json. results.jsonl is appended to one exercise at a time while the run
goes, so a run that is killed keeps what it already measured. The chart needs matplotlib, an optional extra: without
it the report says how to get the chart instead of failing the run it describes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from autodev.bench.learning_runs import LEARNING_PHASES
from autodev.bench.records import (
    BaselineRatio,
    BenchSummary,
    ExerciseResult,
    LanguageTotal,
    RunInfo,
    SkippedExercise,
    StrategySummary,
    TierUse,
)
from autodev.core.learned import LEARNED_MODEL
from autodev.errors import UsageError

RESULTS_FILE: Final = "results.jsonl"
SUMMARY_FILE: Final = "summary.json"
REPORT_FILE: Final = "report.md"
CHART_FILE: Final = "report.png"
CHART_HINT: Final = "`pip install 'autodev[bench]'` gives the chart (report.png): matplotlib is not installed."
_REASON_WIDTH: Final = 80


# --- numbers -------------------------------------------------------------------------------------------------------


def summarize(
    results: Sequence[ExerciseResult],
    run: RunInfo,
    skipped: Sequence[SkippedExercise],
    strategies: Sequence[str],
) -> BenchSummary:
    """Totals per strategy, in the given order, and the first strategy against each of the others.

    A strategy found in ``results`` but not named in ``strategies`` is appended after the named ones rather than
    dropped: a report that silently loses measured work would mislead more than one with an unexpected column.
    """
    order = list(dict.fromkeys([*strategies, *(result.strategy for result in results)]))
    summaries = [_strategy_summary(name, [r for r in results if r.strategy == name]) for name in order]
    ratios = [_ratio(summaries[0], other) for other in summaries[1:]] if summaries else []
    return BenchSummary(run=run, strategies=summaries, ratios=ratios, skipped=list(skipped))


def _strategy_summary(name: str, results: Sequence[ExerciseResult]) -> StrategySummary:
    solved = sum(1 for result in results if result.passed)
    cost = sum(result.cost_usd for result in results)
    tokens = sum(result.input_tokens + result.output_tokens for result in results)
    wall = sum(result.wall_seconds for result in results)
    own = sum(result.own_seconds for result in results)
    return StrategySummary(
        strategy=name,
        exercises=len(results),
        solved=solved,
        solve_rate=solved / len(results) if results else 0.0,
        cost_usd=cost,
        cost_per_solved_usd=cost / solved if solved else None,
        tokens=tokens,
        tokens_per_solved=tokens / solved if solved else None,
        calls=sum(len(result.calls) for result in results),
        wall_seconds=wall,
        model_seconds=sum(result.model_seconds for result in results),
        test_seconds=sum(result.test_seconds for result in results),
        own_seconds=own,
        own_share=own / wall if wall else 0.0,
        by_tier=_by_tier(results),
        by_language=by_language(results),
    )


def by_language(results: Sequence[ExerciseResult]) -> dict[str, LanguageTotal]:
    """Exercises, passes and wall time per language, in the order the languages first appear."""
    totals: dict[str, LanguageTotal] = {}
    for result in results:
        total = totals.get(result.language, LanguageTotal())
        reference = total.reference_passed
        if result.reference_passed is not None:
            reference = (reference or 0) + result.reference_passed
        totals[result.language] = LanguageTotal(
            exercises=total.exercises + 1,
            solved=total.solved + result.passed,
            wall_seconds=round(total.wall_seconds + result.wall_seconds, 3),
            reference_passed=reference,
            reference_seconds=round(total.reference_seconds + result.reference_seconds, 3),
        )
    return totals


def _by_tier(results: Sequence[ExerciseResult]) -> dict[str, TierUse]:
    """Calls and cost per tier the calls used; ``solved`` counts only exercises the harness confirmed as passed."""
    calls: dict[str, int] = {}
    cost: dict[str, float] = {}
    solved: dict[str, int] = {}
    for result in results:
        for call in result.calls:
            calls[call.tier] = calls.get(call.tier, 0) + 1
            cost[call.tier] = cost.get(call.tier, 0.0) + call.cost_usd
        if result.passed and result.solved_by_tier:
            solved[result.solved_by_tier] = solved.get(result.solved_by_tier, 0) + 1
    return {
        tier: TierUse(calls=calls.get(tier, 0), solved=solved.get(tier, 0), cost_usd=cost.get(tier, 0.0))
        for tier in sorted(calls.keys() | solved.keys())
    }


def _ratio(first: StrategySummary, other: StrategySummary) -> BaselineRatio:
    return BaselineRatio(
        strategy=first.strategy,
        baseline=other.strategy,
        cost_ratio=first.cost_usd / other.cost_usd if other.cost_usd else None,
        solve_rate_delta=first.solve_rate - other.solve_rate,
        wall_ratio=first.wall_seconds / other.wall_seconds if other.wall_seconds else None,
    )


# --- files ---------------------------------------------------------------------------------------------------------


def write_results(out: Path, results: Iterable[ExerciseResult]) -> Path:
    """Write results.jsonl afresh, one ExerciseResult per line."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    path.write_text("".join(result.model_dump_json() + "\n" for result in results), encoding="utf-8")
    return path


def append_result(out: Path, result: ExerciseResult) -> Path:
    """Add one line to results.jsonl as soon as an exercise is done, so a killed run keeps the finished ones."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    with path.open("a", encoding="utf-8") as stream:
        stream.write(result.model_dump_json() + "\n")
        stream.flush()
    return path


def write_report(out: Path, summary: BenchSummary, results: Sequence[ExerciseResult]) -> list[Path]:
    """Write summary.json, report.png (when matplotlib is there) and report.md; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / SUMMARY_FILE
    summary_path.write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    written = [summary_path]
    chart_path = out / CHART_FILE
    charted = write_chart(chart_path, summary)
    report_path = out / REPORT_FILE
    report_path.write_text(render_report(summary, results, chart=CHART_FILE if charted else None), encoding="utf-8")
    written.append(report_path)
    if charted:
        written.append(chart_path)
    return written


def load_run(directory: Path) -> tuple[BenchSummary, list[ExerciseResult]]:
    """Read back what write_report and write_results left; a missing or malformed file names itself."""
    summary_path = directory / SUMMARY_FILE
    results_path = directory / RESULTS_FILE
    try:
        summary = BenchSummary.model_validate_json(_read(summary_path))
    except ValidationError as error:
        raise UsageError(f"{summary_path}: not a bench summary: {_first_error(error)}") from error
    results: list[ExerciseResult] = []
    for number, line in enumerate(_read(results_path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            results.append(ExerciseResult.model_validate_json(line))
        except ValidationError as error:
            raise UsageError(f"{results_path}: line {number}: not an exercise result: {_first_error(error)}") from error
    return summary, results


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsageError(f"{path}: missing; is {path.parent} the output directory of `autodev bench`?") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot be read: {error}") from error


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


# --- report.md -----------------------------------------------------------------------------------------------------


def render_report(summary: BenchSummary, results: Sequence[ExerciseResult], *, chart: str | None) -> str:
    """The markdown report; ``chart`` is the PNG's file name, or None when it could not be drawn."""
    lines = ["# autodev bench report", "", *_run_lines(summary.run), ""]
    lines += ["## Totals", "", *_totals_table(summary.strategies), ""]
    if any(set(item.by_language) - {"python"} for item in summary.strategies):
        lines += ["## Per language", "", *_language_table(summary.strategies), ""]
    if summary.ratios:
        lines += ["## Against the baselines", ""]
        lines += [f"- {ratio_line(ratio)}" for ratio in summary.ratios]
        lines.append("")
    if any(result.tests_mode == "generated" for result in results):
        lines += ["## Tests from the spec", "", *_generated_table(results), ""]
    if any(result.strategy.endswith("+learned") for result in results):
        lines += ["## Learning", "", *_learning_table(results), ""]
    lines += ["## Chart", "", f"![solve rate and cost per strategy]({chart})" if chart else CHART_HINT, ""]
    lines += ["## Per exercise", "", *_exercise_table(summary, results), ""]
    lines += ["## Per tier", "", *_tier_table(summary.strategies), ""]
    lines += ["## Skipped exercises", ""]
    lines += [f"- {_cell(item.exercise)}: {_cell(item.reason)}" for item in summary.skipped] or ["None."]
    return "\n".join(lines) + "\n"


def _generated_table(results: Sequence[ExerciseResult]) -> list[str]:
    """Per strategy run with generated tests: the tests kept, the exercises that had any, the refusals by reason."""
    rows = []
    for strategy in dict.fromkeys(r.strategy for r in results if r.tests_mode == "generated"):
        mine = [r for r in results if r.strategy == strategy]
        refused = sum((Counter(result.refused_tests) for result in mine), Counter[str]())
        said = "; ".join(f"{reason}: {count}" for reason, count in refused.most_common())
        kept = sum(r.generated_tests for r in mine)
        rows.append([_cell(strategy), str(kept), f"{sum(r.generated_tests > 0 for r in mine)}/{len(mine)}",
                     _cell(said or "none")])  # fmt: skip
    return _table(["Strategy", "Tests kept", "Exercises with a kept test", "Refused, by reason"], rows)


def _learning_table(results: Sequence[ExerciseResult]) -> list[str]:
    """Per column of a --learn-from run: solved, solved by a stored change without a model call (the reuse rate:
    of the exercises), model calls and cost."""
    rows = []
    for strategy in dict.fromkeys(r.strategy for r in results if r.strategy.rsplit("+", 1)[-1] in LEARNING_PHASES):
        mine = [r for r in results if r.strategy == strategy]
        reused = sum(r.passed and r.solved_by_model == LEARNED_MODEL for r in mine)
        calls = sum(1 for r in mine for call in r.calls if call.model != LEARNED_MODEL and not call.cached)
        rows.append([_cell(strategy), f"{sum(r.passed for r in mine)}/{len(mine)}", f"{reused}",
                     f"{reused / len(mine):.0%}" if mine else "-", str(calls),
                     f"{sum(r.cost_usd for r in mine):.4f}"])  # fmt: skip
    headers = ["Column", "Solved", "Solved by a stored change", "Reuse rate", "Model calls", "Cost $"]
    return _table(headers, rows)


def ratio_line(ratio: BaselineRatio) -> str:
    """One sentence a reader can quote: "tiered vs fixed:tier3: 0.31x the cost, +3.3 points solve rate, ..."."""
    cost = f"{_times(ratio.cost_ratio)} the cost" if ratio.cost_ratio is not None else "cost not comparable ($0 base)"
    wall = f"{_times(ratio.wall_ratio)} the wall time" if ratio.wall_ratio is not None else "wall time not comparable"
    points = f"{ratio.solve_rate_delta * 100:+.1f} points solve rate"
    return f"{ratio.strategy} vs {ratio.baseline}: {cost}, {points}, {wall}"


def _run_lines(run: RunInfo) -> list[str]:
    mode = run.mode if run.mode != "simulate" or not run.simulate else f"simulate ({run.simulate})"
    seed = f", seed {run.seed}" if run.seed is not None else ""
    return [
        f"- Command: `{run.command}`",
        f"- Commit: {run.commit or 'unknown'}",
        f"- Machine: {run.machine or 'unknown'}",
        f"- Date: {run.started or 'unknown'}",
        f"- Mode: {mode}{seed}",
        f"- Tries: {run.tries}, timeout {run.timeout_s:g} s",
        f"- Exercises: {run.exercises_dir or 'unknown'}",
        *([f"- Test runners: {run.setup}"] if run.setup else []),
    ]


def _totals_table(strategies: Sequence[StrategySummary]) -> list[str]:
    header = [
        "Strategy",
        "Exercises",
        "Solved",
        "Solve rate %",
        "Cost $",
        "Cost per solved $",
        "Tokens per solved",
        "Wall s",
        "Model s",
        "Test s",
        "autodev own s",
        "Own share %",
    ]
    rows = [
        [
            _cell(item.strategy),
            str(item.exercises),
            str(item.solved),
            f"{item.solve_rate * 100:.1f}",
            _money(item.cost_usd),
            _money(item.cost_per_solved_usd) if item.cost_per_solved_usd is not None else "-",
            f"{item.tokens_per_solved:.0f}" if item.tokens_per_solved is not None else "-",
            f"{item.wall_seconds:.1f}",
            f"{item.model_seconds:.1f}",
            f"{item.test_seconds:.1f}",
            f"{item.own_seconds:.1f}",
            f"{item.own_share * 100:.1f}",
        ]
        for item in strategies
    ]
    return _table(header, rows)


def _language_table(strategies: Sequence[StrategySummary]) -> list[str]:
    rows = [
        [
            _cell(item.strategy),
            language,
            f"{total.solved}/{total.exercises}",
            f"{total.wall_seconds:.1f}",
            f"{total.reference_passed}/{total.exercises}" if total.reference_passed is not None else "-",
            f"{total.reference_seconds:.1f}",
        ]
        for item in strategies
        for language, total in item.by_language.items()
    ]
    header = ["Strategy", "Language", "Solved", "Wall s", "Examples pass (oracle)", "Example check s"]
    return _table(header, rows)


def _exercise_table(summary: BenchSummary, results: Sequence[ExerciseResult]) -> list[str]:
    if not results:
        return ["No exercise ran."]
    names = [item.strategy for item in summary.strategies]
    names += [name for name in dict.fromkeys(result.strategy for result in results) if name not in names]
    by_key = {(result.exercise, result.strategy): result for result in results}
    exercises = sorted({result.exercise for result in results})
    rows = [[_cell(exercise), *(_verdict(by_key.get((exercise, name))) for name in names)] for exercise in exercises]
    legend = "yes TIER (N): passed, solved by TIER after N model calls; no: the harness's tests still fail."
    return [legend, "", *_table(["Exercise", *(_cell(name) for name in names)], rows)]


def _verdict(result: ExerciseResult | None) -> str:
    if result is None:
        return "-"
    if result.passed and not result.calls:
        return "yes (passed before any call)"
    if result.passed:
        return f"yes {result.solved_by_tier or '?'} ({len(result.calls)})"
    if result.status == "error":
        return _cell(f"error: {result.reason}" if result.reason else "error")
    if result.status == "timeout":
        return "timeout"
    return "no"


def _tier_table(strategies: Sequence[StrategySummary]) -> list[str]:
    rows = [
        [_cell(item.strategy), _cell(tier), str(use.calls), str(use.solved), _money(use.cost_usd)]
        for item in strategies
        for tier, use in item.by_tier.items()
    ]
    return _table(["Strategy", "Tier", "Calls", "Solved", "Cost $"], rows) if rows else ["No model calls."]


# --- report.png ----------------------------------------------------------------------------------------------------


def write_chart(path: Path, summary: BenchSummary) -> bool:
    """Draw solve rate and cost per strategy (and, for a single strategy, use per tier); False without matplotlib.

    Fixed size, dpi 100 and no Software tag keep the bytes stable across runs, so a chart diff means the numbers moved.
    """
    try:
        # matplotlib is an optional extra: without it mypy cannot see the modules, with it the ignores are unused.
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # type: ignore[import-not-found, unused-ignore]
        from matplotlib.figure import Figure  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    names = [item.strategy for item in summary.strategies]
    tiers = summary.strategies[0].by_tier if len(summary.strategies) == 1 else {}
    panels = 3 if tiers else 2
    figure = Figure(figsize=(4.5 * panels, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    axes[0].bar(names, [item.solve_rate * 100 for item in summary.strategies], color="tab:green")
    axes[0].set_title("Solve rate")
    axes[0].set_ylabel("% of exercises")
    axes[0].set_ylim(0, 100)
    axes[1].bar(names, [item.cost_usd for item in summary.strategies], color="tab:blue")
    axes[1].set_title("Cost")
    axes[1].set_ylabel("US$")
    for axis in axes[:2]:
        axis.tick_params(axis="x", labelrotation=20)
    if tiers:
        positions = range(len(tiers))
        axes[2].bar([p - 0.2 for p in positions], [use.calls for use in tiers.values()], width=0.4, label="calls")
        axes[2].bar([p + 0.2 for p in positions], [use.solved for use in tiers.values()], width=0.4, label="solved")
        axes[2].set_xticks(list(positions), list(tiers))
        axes[2].set_title(f"Per tier ({names[0]})")
        axes[2].legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return True


# --- compare -------------------------------------------------------------------------------------------------------


def compare(a: Path, b: Path) -> str:
    """Markdown setting two result directories side by side: per exercise and strategy, then totals with deltas."""
    summary_a, results_a = load_run(a)
    summary_b, results_b = load_run(b)
    totals_b = {item.strategy: item for item in summary_b.strategies}
    shared = [item.strategy for item in summary_a.strategies if item.strategy in totals_b]
    lines = ["# autodev bench: A vs B", ""]
    lines += [f"- A: {a} (commit {summary_a.run.commit or 'unknown'}, {summary_a.run.started or 'date unknown'})"]
    lines += [f"- B: {b} (commit {summary_b.run.commit or 'unknown'}, {summary_b.run.started or 'date unknown'})", ""]
    lines += ["## Totals", "", *_compare_totals(summary_a, summary_b, shared), ""]
    only = _only_in_one(summary_a, summary_b, results_a, results_b)
    lines += ["## Per exercise", "", *_compare_exercises(results_a, results_b, shared), ""]
    lines += ["## Only on one side", "", *(only or ["Nothing: both sides ran the same exercises and strategies."])]
    return "\n".join(lines) + "\n"


def _compare_totals(summary_a: BenchSummary, summary_b: BenchSummary, shared: Sequence[str]) -> list[str]:
    if not shared:
        return ["No strategy ran on both sides."]
    totals_a = {item.strategy: item for item in summary_a.strategies}
    totals_b = {item.strategy: item for item in summary_b.strategies}
    header = ["Strategy", "Solve rate A %", "Solve rate B %", "Δ points", "Cost A $", "Cost B $", "Δ $"]
    header += ["Tokens A", "Tokens B", "Δ tokens", "Wall A s", "Wall B s", "Δ s"]
    rows = []
    for name in shared:
        first, second = totals_a[name], totals_b[name]
        rows.append(
            [
                _cell(name),
                f"{first.solve_rate * 100:.1f}",
                f"{second.solve_rate * 100:.1f}",
                f"{(second.solve_rate - first.solve_rate) * 100:+.1f}",
                _money(first.cost_usd),
                _money(second.cost_usd),
                f"{second.cost_usd - first.cost_usd:+.4f}",
                str(first.tokens),
                str(second.tokens),
                f"{second.tokens - first.tokens:+d}",
                f"{first.wall_seconds:.1f}",
                f"{second.wall_seconds:.1f}",
                f"{second.wall_seconds - first.wall_seconds:+.1f}",
            ]
        )
    return ["Δ is B - A.", "", *_table(header, rows)]


def _compare_exercises(
    results_a: Sequence[ExerciseResult], results_b: Sequence[ExerciseResult], shared: Sequence[str]
) -> list[str]:
    by_a = {(result.exercise, result.strategy): result for result in results_a}
    by_b = {(result.exercise, result.strategy): result for result in results_b}
    exercises = sorted({result.exercise for result in results_a} & {result.exercise for result in results_b})
    rows = []
    for exercise in exercises:
        for name in shared:
            first, second = by_a.get((exercise, name)), by_b.get((exercise, name))
            if first is None or second is None:
                continue
            changed = "changed" if first.passed != second.passed else ""
            rows.append(
                [
                    _cell(exercise),
                    _cell(name),
                    _yes_no(first.passed),
                    _yes_no(second.passed),
                    _money(first.cost_usd),
                    _money(second.cost_usd),
                    changed,
                ]
            )
    if not rows:
        return ["No exercise ran under the same strategy on both sides."]
    return _table(["Exercise", "Strategy", "A passed", "B passed", "Cost A $", "Cost B $", "Verdict"], rows)


def _only_in_one(
    summary_a: BenchSummary,
    summary_b: BenchSummary,
    results_a: Sequence[ExerciseResult],
    results_b: Sequence[ExerciseResult],
) -> list[str]:
    exercises_a = {result.exercise for result in results_a}
    exercises_b = {result.exercise for result in results_b}
    strategies_a = [item.strategy for item in summary_a.strategies]
    strategies_b = [item.strategy for item in summary_b.strategies]
    lines = [f"- exercise {_cell(name)}: only in A" for name in sorted(exercises_a - exercises_b)]
    lines += [f"- exercise {_cell(name)}: only in B" for name in sorted(exercises_b - exercises_a)]
    lines += [f"- strategy {_cell(name)}: only in A" for name in strategies_a if name not in strategies_b]
    lines += [f"- strategy {_cell(name)}: only in B" for name in strategies_b if name not in strategies_a]
    return lines


# --- formatting ----------------------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _cell(text: str) -> str:
    """Text safe inside a table cell: one line, no column breaks, short enough to read."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= _REASON_WIDTH else flat[: _REASON_WIDTH - 3] + "..."


def _money(value: float) -> str:
    return f"{value:.4f}"


def _times(value: float) -> str:
    """0.31 -> "0.31x", 0.80 -> "0.8x": two decimals at most, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + "x"


def _yes_no(passed: bool) -> str:
    return "yes" if passed else "no"
