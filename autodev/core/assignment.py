"""One requirement to work on, and the project as it stands when the work begins."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autodev.config import Config
from autodev.learn.store import LearningStore
from autodev.logs import get_logger
from autodev.memory import NO_MEMORY, Memory
from autodev.progress import TestsFinished, TestsStarted, report
from autodev.project import ProjectPaths
from autodev.spec.model import Requirement
from autodev.synth.context import SourceFile
from autodev.synth.guard import MANIFEST_FILE_NAMES
from autodev.vcs import GitRepo
from autodev.verify.adapters.choose import project_tests
from autodev.verify.confine import Confinement
from autodev.verify.copy import anchored_command
from autodev.verify.environment import withheld
from autodev.verify.relative import relative_to
from autodev.verify.runner import TestRun, TestRunner

LabelledTestRun = Callable[[str, Path], TestRun]  # (label for the log, project root) -> the run


@dataclass(frozen=True)
class Assignment:
    """What every step of a requirement's climb reads; nothing here changes while the climb runs."""

    paths: ProjectPaths
    config: Config
    repo: GitRepo
    requirement: Requirement
    tests: list[SourceFile]
    targets: list[str]
    baseline: TestRun
    run_tests: LabelledTestRun
    target_tests: list[str] | None = None  # the requirement's linked tests; None: every test of the suite
    memory: Memory = NO_MEMORY  # the project memory files found at the start of the pass
    learning: LearningStore | None = None  # the learning store, unless [learning] enabled = false

    @property
    def root(self) -> Path:
        return self.paths.root

    @property
    def protected(self) -> set[str]:
        """Files a reply may not change: the tests, the spec that holds the requirement, and Cargo.toml unless the
        requirement's ``Files:`` names it (package.json and the lock files are protected everywhere: synth/guard.py).
        """
        named = set(self.requirement.files)
        manifests = {name for name in MANIFEST_FILE_NAMES if (self.root / name).exists() and name not in named}
        return {t.path for t in self.tests} | {self.requirement.source} | manifests

    @property
    def target_count(self) -> int:
        """How many tests must pass: the linked ones, or the whole suite's."""
        return len(self.target_tests) if self.target_tests is not None else len(self.baseline.outcomes)


def labelled_runner(paths: ProjectPaths, config: Config, runner: TestRunner) -> LabelledTestRun:
    """The project's test command through ``runner``, each run logged under its label (baseline, attempt 2...).

    The command and its adapter are the project's (:func:`autodev.verify.adapters.choose.project_tests`): the
    configured ones, else what its files show (Cargo.toml: ``cargo test``; package.json: ``node --test``)."""
    log = get_logger()
    chosen = project_tests(config, paths.root)
    in_copy = chosen.in_copy()
    confine = Confinement.from_config(config.tests, paths.root)
    held_back = withheld(os.environ, config.tests.pass_env)
    if held_back:  # a test that needs one of them fails for a reason the log should name
        log.info("tests run without some of your variables ([tests] pass_env lets them through)", names=held_back)

    def run(label: str, root: Path) -> TestRun:
        report(TestsStarted(label=label))
        adapter = chosen.adapter if root == paths.root else in_copy  # a copy: the pass's, or a candidate's
        command = chosen.command if root == paths.root else anchored_command(chosen.command, paths.root)
        result = runner(root, command, timeout_s=config.tests.timeout_s, scratch_dir=paths.scratch_dir,
                        runner=adapter, pass_env=config.tests.pass_env, confine=confine)  # fmt: skip
        result = relative_to(result, root)
        log.info(
            f"{label} tests",
            passed=len(result.passed_ids),
            failing=len(result.failing_ids),
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            seconds=round(result.duration_s, 2),
        )
        report(TestsFinished(label=label, passed=len(result.passed_ids), failing=len(result.failing_ids),
                             seconds=result.duration_s, timed_out=result.timed_out))  # fmt: skip
        return result

    return run
