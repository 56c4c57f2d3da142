"""`autodev bench EXERCISES_DIR` and `autodev bench compare A B`: the benchmark harness's command line."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from autodev.bench.exercise import Exercise, ExerciseError, find_exercises
from autodev.bench.learning_runs import LearningColumn, column_home
from autodev.bench.records import ExerciseResult, RunInfo, SkippedExercise
from autodev.bench.report import append_result, compare, summarize, write_report
from autodev.bench.runner import STRATEGY_HELP, BenchOptions, check_strategy, machine_description, run_strategy
from autodev.bench.scripted import parse_simulate
from autodev.bench.spec_only import TESTS_MODES, check_tests_mode, strategy_label
from autodev.bench.tracks import BenchSetupError, RunnerSetup, prepare_runners
from autodev.cli.options import GlobalOptions
from autodev.config import Config, load_config
from autodev.errors import UsageError, VcsError
from autodev.logs import configure_logging
from autodev.vcs import head_commit


class _RunByDefault(click.Group):
    """`autodev bench DIR ...` means `autodev bench run DIR ...`; `compare` is the other subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RunByDefault)
def bench() -> None:
    """Measure solve rate, cost and time on Exercism-style exercises (see benchmarks/README.md)."""


@bench.command("run")
@click.argument("exercises_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="An autodev.toml.")
@click.option("--oracle", is_flag=True, help="A scripted model that answers with the reference solution.")
@click.option(
    "--simulate", metavar="TIER=P,...", help='Scripted tiers right with probability P: "tier1=0.3,tier2=0.9".'
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulator.")
@click.option("--only", metavar="A,B", help="Only these exercises.")
@click.option("--tries", type=click.IntRange(1, 20), default=3, show_default=True, help="Attempts per exercise.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1), default=600, show_default=True, help="Seconds.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Exercises in parallel.")
@click.option(
    "--strategy", "strategies", default="tiered", show_default=True, help=f"Comma-separated: {STRATEGY_HELP}."
)
@click.option(
    "--tests",
    "tests_modes",
    default="visible",
    show_default=True,
    help="Comma-separated: visible (the exercise's tests), generated (removed; the tester writes tests from the "
    "description, Python only), none (removed: one answer written unjudged). Each is a column of its own; the "
    "verdict always uses the exercise's tests.",
)
@click.option("--spec-only", is_flag=True, help="Short for --tests visible,generated,none: the spec-only measurement.")
@click.option(
    "--learn-from",
    "learn_from",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run DIR's exercises first to fill a learning store, then EXERCISES_DIR (a variant set) with that store "
    "and without learning: reuse rate, solve rate and cost side by side.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Results directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the results and the per-language totals as JSON.")
@click.pass_obj
def run_bench(options: GlobalOptions, /, exercises_dir: Path, out: Path | None, as_json: bool, **settings: Any) -> None:
    """Run every exercise of EXERCISES_DIR through one `autodev run --once` pass per strategy, and report.

    Python (pytest), JavaScript (Jest + Babel, package.json) and Rust (cargo test) exercises; the JavaScript
    runner is installed once into the user's cache and reused offline, `--oracle` checks every example solution."""
    bench_options = _options(options, settings)
    only = set(settings["only"].split(",")) if settings["only"] else None
    try:
        exercises, unusable = find_exercises(exercises_dir, only)
        fill_only = {name.removesuffix("-variant") for name in only} if only else None
        filling = find_exercises(settings["learn_from"], fill_only)[0] if settings["learn_from"] else []
    except ExerciseError as error:
        raise UsageError(str(error)) from error
    skipped = [SkippedExercise(exercise=name, reason=reason) for name, reason in unusable]
    for item in skipped:
        click.echo(f"skipped {item.exercise}: {item.reason}", err=True)
    if not exercises:
        raise UsageError(f"no usable exercise in {exercises_dir}")
    setup = _prepare([*exercises, *filling], quiet=as_json)
    out = out or Path("bench-results") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    bench_options = bench_options.model_copy(update={"setup": setup, "results_dir": out})
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.jsonl").unlink(missing_ok=True)
    configure_logging(log_file=out / "bench.jsonl", console_level="error")
    run = _run_info(bench_options, exercises_dir, settings).model_copy(update={"setup": _setup_line(setup)})
    columns = _columns(bench_options, out, filling)
    results = _run_all(exercises, bench_options, out, columns, as_json=options.log_json or as_json)
    labels = [label for _, _, column, _ in columns for label in column]
    summary = summarize(results, run, skipped, labels)
    written = write_report(out, summary, results)
    if as_json:
        data = {"summary": summary.model_dump(mode="json"), "results": [r.model_dump(mode="json") for r in results]}
        click.echo(json.dumps({**data, "written": [str(path) for path in written]}, indent=2))
        return
    for result in results:
        click.echo(_exercise_line(result))
    for line in _totals(summary.model_dump()):
        click.echo(line)
    click.echo(f"results: {', '.join(str(path) for path in written)}")


def _prepare(exercises: list[Exercise], *, quiet: bool) -> RunnerSetup:
    """The shared test runners (the JavaScript install, Cargo's target directory), made before the first exercise."""
    if not quiet and any(exercise.track == "javascript" for exercise in exercises):
        click.echo("JavaScript test runner: checking the shared install (npm runs only the first time)...", err=True)
    try:
        setup = prepare_runners((exercise.track, exercise.directory) for exercise in exercises)
    except BenchSetupError as error:
        raise UsageError(str(error)) from error
    if not quiet and setup.js_runner is not None:
        click.echo(f"JavaScript test runner: {_setup_line(setup)}", err=True)
    return setup


def _setup_line(setup: RunnerSetup) -> str:
    parts = []
    if setup.js_runner is not None:
        how = f"installed in {setup.install_seconds:.1f} s" if setup.installed else "reused, offline"
        parts.append(f"jest from {setup.js_runner} ({how})")
    if setup.cargo_target is not None:
        parts.append(f"CARGO_TARGET_DIR={setup.cargo_target}")
    return "; ".join(parts)


def _exercise_line(result: ExerciseResult) -> str:
    verdict = "pass" if result.passed else f"FAIL ({result.status}{': ' + result.reason if result.reason else ''})"
    line = f"{result.strategy} {result.language} {result.exercise}: {verdict}, {result.wall_seconds:.1f} s"
    if result.reference_passed is not None:
        line += "; example solution passes" if result.reference_passed else "; example solution FAILS"
        line += f" ({result.reference_failure})" if result.reference_failure else ""
    return line


@bench.command("compare")
@click.argument("first", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("second", type=click.Path(exists=True, file_okay=False, path_type=Path))
def compare_runs(first: Path, second: Path) -> None:
    """Two result directories side by side: per exercise and in total (Markdown)."""
    click.echo(compare(first, second))


def _options(options: GlobalOptions, settings: dict[str, Any]) -> BenchOptions:
    if settings["oracle"] and settings["simulate"]:
        raise UsageError("--oracle and --simulate exclude each other")
    if settings.pop("spec_only"):
        if settings["tests_modes"] != "visible":
            raise UsageError("--spec-only is --tests visible,generated,none: give one of them, not both")
        settings["tests_modes"] = ",".join(TESTS_MODES)
    try:
        strategies = [check_strategy(s.strip()) for s in settings["strategies"].split(",") if s.strip()]
        rates = parse_simulate(settings["simulate"]) if settings["simulate"] else {}
        tests = [check_tests_mode(mode.strip()) for mode in settings["tests_modes"].split(",") if mode.strip()]
    except ValueError as error:
        raise UsageError(str(error)) from error
    config_file: Path | None = settings["config_file"]
    config = load_config(config_file) if config_file else Config()
    if config_file and not config_file.exists():
        raise UsageError(f"{config_file} does not exist")
    mode = "oracle" if settings["oracle"] else "simulate" if rates else "models"
    return BenchOptions(
        mode=mode,
        config=config,
        rates=rates,
        seed=settings["seed"],
        tries=settings["tries"],
        timeout_s=settings["timeout_s"],
        jobs=settings["jobs"],
        strategies=strategies or ["tiered"],
        tests=tests or ["visible"],
    )


def _run_info(options: BenchOptions, exercises_dir: Path, settings: dict[str, Any]) -> RunInfo:
    return RunInfo(
        command=_command_line(exercises_dir, settings),
        commit=_autodev_commit(),
        machine=machine_description(),
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        mode=options.mode,
        seed=options.seed if options.mode == "simulate" else None,
        simulate=settings["simulate"],
        tries=options.tries,
        timeout_s=options.timeout_s,
        exercises_dir=str(exercises_dir),
    )


def _command_line(exercises_dir: Path, settings: dict[str, Any]) -> str:
    """The command as it ran, rebuilt from the parsed options (defaults included), so it can be run again."""
    words = ["autodev", "bench", str(exercises_dir)]
    if settings["oracle"]:
        words.append("--oracle")
    if settings["simulate"]:
        words += ["--simulate", settings["simulate"], "--seed", str(settings["seed"])]
    for option, key in (("--config", "config_file"), ("--only", "only"), ("--learn-from", "learn_from")):
        if settings[key]:
            words += [option, str(settings[key])]
    words += ["--tries", str(settings["tries"]), "--timeout", f"{settings['timeout_s']:g}"]
    words += ["--jobs", str(settings["jobs"]), "--strategy", settings["strategies"]]
    if settings["tests_modes"] != "visible":
        words += ["--tests", settings["tests_modes"]]
    return shlex.join(words)


def _autodev_commit() -> str | None:
    """The commit of the autodev checkout that runs, when it runs from one (an editable install)."""
    source = Path(__file__).resolve().parents[2]
    try:
        return head_commit(source)
    except VcsError:  # no git
        return None


Column = tuple[str, LearningColumn | None, list[str], list[Exercise] | None]  # strategy, learning, labels, exercises


def _columns(options: BenchOptions, out: Path, filling: list[Exercise]) -> list[Column]:
    """What runs, in order: each strategy over the exercises (in each tests mode); with --learn-from, each
    strategy over the filling exercises, then over the exercises with that store and without learning."""
    modes = options.tests
    if not filling:
        return [(s, None, [strategy_label(s, mode) for mode in modes], None) for s in options.strategies]
    columns: list[Column] = []
    for strategy in options.strategies:
        home = column_home(out, f"{strategy}+learned")
        for phase in ("fill", "learned", "no-learning"):
            learning = LearningColumn(home=home if phase != "no-learning" else None, phase=phase)
            labels = [learning.label(strategy_label(strategy, mode)) for mode in modes]
            columns.append((strategy, learning, labels, filling if phase == "fill" else None))
    return columns


def _run_all(exercises: list[Exercise], options: BenchOptions, out: Path, columns: list[Column], *,
             as_json: bool) -> list[ExerciseResult]:  # fmt: skip
    """Every column over its exercises, with a progress bar (current exercise, running solve rate)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results: list[ExerciseResult] = []
    total = sum(len(own or exercises) * len(options.tests) for _, _, _, own in columns)
    progress_columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*progress_columns, transient=False, disable=as_json) as progress:
        task = progress.add_task("starting", total=total)

        def started(exercise: Exercise) -> None:
            progress.update(task, description=f"{exercise.name:24.24} {_rate(results)}")

        def finished(result: ExerciseResult) -> None:
            results.append(result)
            append_result(out, result)
            progress.update(task, advance=1, description=f"{result.exercise:24.24} {_rate(results)}")

        for strategy, learning, _, own in columns:
            run_strategy(own or exercises, strategy, options, on_result=finished, on_start=started, learning=learning)
    return results


def _rate(results: list[ExerciseResult]) -> str:
    solved = sum(result.passed for result in results)
    return f"solved {solved}/{len(results)}" if results else ""


def _totals(summary: dict[str, Any]) -> list[str]:
    lines = []
    for item in summary["strategies"]:
        per_solved = item["cost_per_solved_usd"]
        cost = f"${item['cost_usd']:.4f}" + (f" (${per_solved:.4f} per solved)" if per_solved is not None else "")
        lines.append(
            f"{item['strategy']}: solved {item['solved']}/{item['exercises']} ({item['solve_rate']:.0%}), {cost}, "
            f"{item['wall_seconds']:.0f} s, autodev's own share {item['own_share']:.1%}"
        )
        for language, total in item["by_language"].items():
            line = f"  {language}: {total['solved']}/{total['exercises']} passed, {total['wall_seconds']:.1f} s"
            if total["reference_passed"] is not None:
                line += (
                    f"; example solutions {total['reference_passed']}/{total['exercises']} pass"
                    f" ({total['reference_seconds']:.1f} s checking those the pass did not deliver)"
                )
            lines.append(line)
    return lines
