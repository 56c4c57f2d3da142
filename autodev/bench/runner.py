"""Runs exercises through `run_once`, one fresh project each, and judges them with their original tests.

The harness, not autodev, decides pass or fail: after the pass the original test files are put back and run in a
separate pytest process. Strategies (the cascade and its baselines) run over the same exercises with the same
models, so their ratios are measured in one run rather than claimed.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from autodev.bench.exercise import Exercise, build_project, restore_tests
from autodev.bench.learning_runs import LearningColumn, column_home, store_env
from autodev.bench.records import CallRecord, ExerciseResult
from autodev.bench.scripted import ORACLE, SIM_PREFIX, SIM_PRICES, BenchResponder, model_string
from autodev.bench.spec_only import (
    TestsMode,
    TestsWritten,
    generate_tests,
    hide_tests,
    remove_generated,
    strategy_label,
    unchecked_answer,
)
from autodev.bench.tracks import TRACK_SETTINGS, RunnerSetup, prepare_runners, test_command
from autodev.config import TIER_NAMES, Config
from autodev.core.one_pass import run_once
from autodev.errors import AutodevError
from autodev.llm.client import ChatClient, LiteLLMClient, load_litellm
from autodev.local.files import installed_local_ladder
from autodev.local.serving import model_client
from autodev.project import ProjectPaths
from autodev.results import PassResult
from autodev.testing import ScriptedServer
from autodev.verify.adapters.choose import adapter_for
from autodev.verify.runner import TestRun, run_tests

Mode = Literal["models", "oracle", "simulate"]
STRATEGY_HELP = "tiered | fixed:TIER | single-shot[:TIER] | cheapest"


class BenchOptions(BaseModel):
    """Everything one bench run needs besides the exercises."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    mode: Mode = "models"
    config: Config = Config()
    rates: dict[str, float] = {}
    seed: int = 0
    tries: int = 3
    timeout_s: float = 600.0
    jobs: int = 1
    strategies: list[str] = ["tiered"]
    tests: list[TestsMode] = ["visible"]  # --tests: visible, generated (from the spec by the tester), none
    setup: RunnerSetup | None = None  # the shared JavaScript install and Cargo target (made by run_strategy if None)
    results_dir: Path | None = None  # where each column's learning store is kept (None: one per exercise)


def check_strategy(strategy: str) -> str:
    """The strategy name, or ValueError saying what is accepted."""
    name, _, tier = strategy.partition(":")
    if name in ("tiered", "cheapest") and not tier:
        return strategy
    if name == "fixed" and tier in TIER_NAMES[1:]:
        return strategy
    if name == "single-shot" and (not tier or tier in TIER_NAMES[1:]):
        return strategy
    raise ValueError(f"unknown strategy {strategy!r}; use {STRATEGY_HELP} (TIER: tier1..tier4)")


def strategy_config(config: Config, strategy: str) -> tuple[Config, int | None]:
    """The configuration a strategy runs with, and its attempts limit (None: the --tries budget)."""
    name, _, tier = strategy.partition(":")
    llm = config.llm
    if name == "tiered":
        return config.model_copy(update={"llm": llm.model_copy(update={"routing_strategy": "tiered"})}), None
    if name == "cheapest":
        return config.model_copy(update={"llm": llm.model_copy(update={"routing_strategy": "cheapest"})}), None
    update: dict[str, Any] = {"routing_strategy": "fixed", "fixed_tier": tier or None}
    if name == "single-shot":
        update["retries"] = 0
        return config.model_copy(update={"llm": llm.model_copy(update=update)}), 1
    return config.model_copy(update={"llm": llm.model_copy(update=update)}), None


def base_config(
    options: BenchOptions, exercise: Exercise, server_url: str | None, setup: RunnerSetup | None = None
) -> Config:
    """The exercise's configuration: scripted tiers for the oracle and the simulator, the user's models otherwise;
    the track's runner and test command (the shared JavaScript install's jest, ``cargo test``, pytest)."""
    data = options.config.model_dump(exclude_none=True)
    settings = TRACK_SETTINGS[exercise.track]
    js_runner = (setup or options.setup or RunnerSetup()).js_runner
    command = test_command(exercise.track, js_runner)
    data["project"] = {"test_command": command or f"{sys.executable} -m pytest"}
    tests = data.setdefault("tests", {})
    tests["timeout_s"] = min(options.config.tests.timeout_s, options.timeout_s)
    tests["runner"] = settings.runner
    tests["include_ignored"] = settings.include_ignored
    llm = data.setdefault("llm", {})
    if options.mode == "oracle":
        llm["tiers"] = {"tier1": [ORACLE]}
        llm["models"] = {ORACLE: _scripted_model(ORACLE, exercise, server_url, (0.0, 0.0))}
    elif options.mode == "simulate":
        names = {tier: f"{SIM_PREFIX}{tier}" for tier in options.rates}
        llm["tiers"] = {tier: [name] for tier, name in names.items()}
        llm["models"] = {
            name: _scripted_model(name, exercise, server_url, SIM_PRICES[tier]) for tier, name in names.items()
        }
    elif not options.config.llm.tier_models():
        llm["tiers"] = {f"tier{i}": [name] for i, name in enumerate(installed_local_ladder()[:4], start=1)}
    for model in llm.get("models", {}).values():
        model["timeout_s"] = min(float(model.get("timeout_s", 600.0)), options.timeout_s)
    return Config.model_validate(data)


def _scripted_model(name: str, exercise: Exercise, url: str | None, prices: tuple[float, float]) -> dict[str, Any]:
    return {
        "model": model_string(name, exercise.name),
        "api_base": url,
        "input_cost_per_token": prices[0] / 1e6,
        "output_cost_per_token": prices[1] / 1e6,
        "max_tokens": 2048,
    }


@contextmanager
def bench_client(options: BenchOptions, exercises: Sequence[Exercise]) -> Iterator[tuple[ChatClient, str | None]]:
    """The model client for the whole run (local servers stay up across exercises) and the scripted server URL."""
    load_litellm()  # its import (seconds) is paid once here, not by the first exercise's timings
    if options.mode == "models":
        with model_client(options.config) as client:
            yield client, None
        return
    responder = BenchResponder({e.name: e for e in exercises}, rates=options.rates, seed=options.seed)
    with ScriptedServer(responder=responder) as server:
        yield LiteLLMClient(retries=0), server.url


class BenchTestRunner:
    """The pass's test runs for one exercise: its track's runner (``include_ignored`` for Rust) and the shared Cargo
    target directory, whatever the pass itself would pick. Options the pass gives win over these defaults."""

    def __init__(self, exercise: Exercise, config: Config, setup: RunnerSetup) -> None:
        self.runner = config.tests.runner
        self.include_ignored = config.tests.include_ignored
        self.env = setup.test_env()

    def __call__(self, root: Path, command: str | Sequence[str], *, timeout_s: float, scratch_dir: Path,
                 **options: Any) -> TestRun:  # fmt: skip
        options.setdefault("env", self.env)
        if "runner" not in options:
            argv = shlex.split(command) if isinstance(command, str) else list(command)
            options["runner"] = adapter_for(self.runner, argv, root, include_ignored=self.include_ignored)
        return run_tests(root, command, timeout_s=timeout_s, scratch_dir=scratch_dir, **options)


def judge(exercise: Exercise, root: Path, config: Config, setup: RunnerSetup, *, timeout_s: float,
          scratch_dir: Path) -> tuple[bool, TestRun]:  # fmt: skip
    """The harness's verdict: the original tests, run with the track's real runner. JavaScript and Rust must also
    show every test passing in the runner's report (an exit status 0 with tests skipped or none run is no pass)."""
    restore_tests(exercise, root)
    verdict = BenchTestRunner(exercise, config, setup)(
        root, config.project.test_command, timeout_s=timeout_s, scratch_dir=scratch_dir
    )
    passed = verdict.exit_code == 0 and not verdict.timed_out
    if exercise.track != "python" and verdict.used_junit:  # every test ran (no xtest, no #[ignore] left) and passed
        passed = passed and bool(verdict.passed_ids) and not verdict.failing_ids and not verdict.skipped_ids
    return passed, verdict


def run_exercise(
    exercise: Exercise,
    strategy: str,
    options: BenchOptions,
    client: ChatClient,
    server_url: str | None,
    setup: RunnerSetup | None = None,
    tests_mode: TestsMode = "visible",
    learning: LearningColumn | None = None,
) -> ExerciseResult:
    """One fresh project, one pass, then the harness's own verdict; an error is a result, never a crash.

    With ``--oracle`` the example solution is also checked on its own (copied into place, the tests run with the
    track's real runner) unless the pass already delivered it and passed: ``reference_passed`` says whether the
    exercise, its runner and its example agree, whatever the pass could do with the language.
    """
    setup = setup or options.setup or RunnerSetup()
    with tempfile.TemporaryDirectory(prefix=f"autodev-bench-{exercise.name}-") as scratch:
        root = Path(scratch) / exercise.name
        build_project(exercise, root, js_runner=setup.js_runner)
        config, limit = strategy_config(base_config(options, exercise, server_url, setup), strategy)
        column = learning or LearningColumn(home=column_home(options.results_dir, strategy_label(strategy, tests_mode)))
        label, config = column.label(strategy_label(strategy, tests_mode)), column.config(config)
        env = store_env(column.home or Path(scratch) / "learning")
        started = time.perf_counter()
        written = TestsWritten()
        try:
            if tests_mode != "visible":
                hide_tests(exercise, root)
            if tests_mode == "none":
                record = _unchecked(exercise, root, config, client, setup, options, label, started)
                passed = record.passed
            else:
                if tests_mode == "generated" and exercise.track == "python":
                    written = generate_tests(root, config, client)
                result = run_once(
                    ProjectPaths(root=root), config, client=client, max_attempts=limit or options.tries,
                    test_runner=BenchTestRunner(exercise, config, setup), env=env,
                )  # fmt: skip
                wall = time.perf_counter() - started
                remove_generated(root)
                passed, _verdict = judge(
                    exercise, root, config, setup, timeout_s=options.timeout_s, scratch_dir=Path(scratch) / "judge"
                )
                record = _result(exercise, label, result, passed, wall, options.timeout_s)
        except (AutodevError, OSError) as error:
            wall = time.perf_counter() - started
            message = f"{type(error).__name__}: {error}"
            record = ExerciseResult(
                exercise=exercise.name, strategy=label, passed=False, status="error", reason=message,
                wall_seconds=round(wall, 3), language=exercise.track,
            )  # fmt: skip
            passed = False
        record = _with_tests(record, tests_mode, written)
        if options.mode != "oracle":
            return record
        if passed and has_reference(exercise, root):
            return record.model_copy(update={"reference_passed": True})
        reference_passed, seconds, why = check_reference(
            exercise, root, config, setup, timeout_s=options.timeout_s, scratch_dir=Path(scratch) / "reference"
        )
    update = {"reference_passed": reference_passed, "reference_seconds": round(seconds, 3), "reference_failure": why}
    return record.model_copy(update=update)


def has_reference(exercise: Exercise, root: Path) -> bool:
    """Whether every solution file the example replaces holds the example's text (what the oracle answers)."""
    for name, text in exercise.reference_files().items():
        try:
            if (root / name).read_text(encoding="utf-8").strip() != text.strip():
                return False
        except OSError:
            return False
    return True


def check_reference(exercise: Exercise, root: Path, config: Config, setup: RunnerSetup, *, timeout_s: float,
                    scratch_dir: Path) -> tuple[bool, float, str]:  # fmt: skip
    """The example solution copied into place and judged like a pass's result: (passed, seconds, why not)."""
    started = time.perf_counter()
    for name, text in exercise.reference_files().items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    passed, verdict = judge(exercise, root, config, setup, timeout_s=timeout_s, scratch_dir=scratch_dir)
    return passed, time.perf_counter() - started, "" if passed else failure_line(verdict)


def failure_line(verdict: TestRun) -> str:
    """One line saying why a run failed: a timeout, the first error line of the output, else its last line."""
    if verdict.timed_out:
        return f"timed out after {verdict.timeout_s or 0:g} s"
    lines = [line.strip() for line in verdict.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "caused by")) or "Error:" in line]
    chosen = errors[0] if errors else (lines[-1] if lines else f"exit status {verdict.exit_code}")
    return chosen[:300]


def _unchecked(exercise: Exercise, root: Path, config: Config, client: ChatClient, setup: RunnerSetup,
               options: BenchOptions, label: str, started: float) -> ExerciseResult:  # fmt: skip
    """``--tests none``: one unjudged answer written, then the harness's verdict."""
    call, wrote = unchecked_answer(root, config, client, exercise.solution)
    wall = time.perf_counter() - started
    scratch = root.parent / "judge"
    passed, _verdict = judge(exercise, root, config, setup, timeout_s=options.timeout_s, scratch_dir=scratch)
    return ExerciseResult(
        exercise=exercise.name, language=exercise.track, strategy=label, passed=passed,
        status="satisfied" if passed else "failed",
        reason="one answer, written with no test to judge it" if wrote else "the answer had no code to write",
        attempts=1, solved_by_tier=call.tier if passed else None, solved_by_model=call.model if passed else None,
        calls=[CallRecord.of_role(call, outcome="unchecked")], input_tokens=call.input_tokens,
        output_tokens=call.output_tokens, cost_usd=call.cost_usd, model_seconds=round(call.model_seconds, 3),
        own_seconds=round(max(0.0, wall - call.model_seconds), 3), wall_seconds=round(wall, 3),
    )  # fmt: skip


def _with_tests(record: ExerciseResult, tests_mode: TestsMode, written: TestsWritten) -> ExerciseResult:
    """The record with what the tester did: its tests and refusals, and its call counted in the cost."""
    update: dict[str, Any] = {"tests_mode": tests_mode, "generated_tests": written.kept,
                              "refused_tests": written.refused, "generated_text": written.text}  # fmt: skip
    if written.calls:
        calls = [CallRecord.of_role(call, outcome="tests") for call in written.calls]
        seconds = sum(call.model_seconds for call in calls)
        update |= {
            "calls": [*calls, *record.calls],
            "input_tokens": record.input_tokens + sum(call.input_tokens for call in calls),
            "output_tokens": record.output_tokens + sum(call.output_tokens for call in calls),
            "cost_usd": record.cost_usd + sum(call.cost_usd for call in calls),
            "model_seconds": round(record.model_seconds + seconds, 3),
            "own_seconds": round(max(0.0, record.own_seconds - seconds), 3),
        }
    return record.model_copy(update=update)


def _result(
    exercise: Exercise, strategy: str, result: PassResult, passed: bool, wall: float, timeout_s: float
) -> ExerciseResult:
    role_calls = [call for requirement in result.requirements for call in requirement.role_calls]
    calls = [CallRecord.of_role(call) for call in role_calls] + [CallRecord.of(a) for a in result.attempts]
    model_seconds = sum(call.model_seconds for call in calls)
    test_seconds = result.baseline_seconds + sum(a.test_seconds for a in result.attempts)
    status = "timeout" if wall > timeout_s and not passed else result.status
    solved = passed and result.status == "satisfied"
    return ExerciseResult(
        exercise=exercise.name,
        language=exercise.track,
        strategy=strategy,
        passed=passed,
        status=status,
        reason=result.reason,
        attempts=len(result.attempts),
        solved_by_tier=result.tier if solved else None,
        solved_by_model=result.model if solved else None,
        calls=calls,
        input_tokens=sum(call.input_tokens for call in calls),
        output_tokens=sum(call.output_tokens for call in calls),
        cost_usd=sum(call.cost_usd for call in calls),
        model_seconds=round(model_seconds, 3),
        test_seconds=round(test_seconds, 3),
        own_seconds=round(max(0.0, wall - model_seconds - test_seconds), 3),
        wall_seconds=round(wall, 3),
    )


def run_strategy(
    exercises: Sequence[Exercise],
    strategy: str,
    options: BenchOptions,
    *,
    on_result: Callable[[ExerciseResult], None],
    on_start: Callable[[Exercise], None] = lambda exercise: None,
    learning: LearningColumn | None = None,
) -> list[ExerciseResult]:
    """Every exercise under one strategy, ``options.jobs`` at a time; results reported as they finish.
    ``learning``: the store and phase of a `--learn-from` column (default: a fresh store per column)."""
    setup = options.setup or prepare_runners((e.track, e.directory) for e in exercises)
    with bench_client(options, exercises) as (client, url):

        def one(exercise: Exercise, mode: TestsMode) -> ExerciseResult:
            on_start(exercise)
            result = run_exercise(exercise, strategy, options, client, url, setup, tests_mode=mode, learning=learning)
            on_result(result)
            return result

        work = [(exercise, mode) for mode in options.tests for exercise in exercises]
        if options.jobs <= 1:
            return [one(exercise, mode) for exercise, mode in work]
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            return list(pool.map(lambda item: one(*item), work))


def machine_description(env: Mapping[str, str] | None = None) -> str:
    """CPU model, cores and memory: enough to compare timings across machines."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {sys.version.split()[0]}, {sys.platform}"
