"""Step 2 of a pass: what the specs ask for, which tests prove what, what changed since the ledger, the baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autodev.config import Config
from autodev.core.assignment import LabelledTestRun
from autodev.discovery import find_test_files
from autodev.errors import VcsError, WorkspaceWriteError
from autodev.ledger import Ledger, LedgerDiff, diff_ledger, load_ledger, rebuild_from_git
from autodev.logs import get_logger
from autodev.memory import NO_MEMORY, Memory
from autodev.project import ProjectPaths
from autodev.spec.links import project_links
from autodev.spec.model import Requirement, TestLinks
from autodev.spec.order import order_requirements
from autodev.spec.parser import load_specs
from autodev.synth.memory_prompt import project_memory
from autodev.vcs.control import GitDirs, changed, snapshot
from autodev.verify.adapters.choose import project_tests
from autodev.verify.collection import cannot_collect_reason, project_problems
from autodev.verify.confine import Confinement
from autodev.verify.copy import copy_for
from autodev.verify.runner import TestRun, pytest_argv
from autodev.verify.timeout import timed_out_reason

NO_TESTS = "no test files found (test_*.py or *_test.py): the tests decide when the code is done, so write them first"
NO_TESTS_OF: dict[str, str] = {
    "javascript": "*.test.js, *.spec.ts or files under test/",
    "rust": "tests/*.rs",
}
"""Where the tests of a project in another language are looked for, for the reason a pass without tests gives."""


@dataclass(frozen=True)
class Survey:
    """The project at the start of the pass; ``suite`` is every test file when the whole suite proves everything."""

    requirements: list[Requirement]
    links: TestLinks
    ledger: Ledger
    diff: LedgerDiff
    baseline: TestRun
    suite: list[str] | None
    memory: Memory = NO_MEMORY


class SurveyFailed(Exception):
    """The pass cannot start (no tests, the tests time out unchanged, or pytest cannot collect them); says why."""


def survey(paths: ProjectPaths, config: Config, run_tests: LabelledTestRun) -> Survey:
    root = paths.root
    specs = load_specs(root, config.specs.paths)
    requirements = order_requirements(specs.requirements)
    chosen = project_tests(config, root)
    test_files = find_test_files(root, chosen.languages)
    if not test_files:
        raise SurveyFailed(_no_tests(chosen.languages))
    test_command = chosen.command
    whole_suite = _whole_suite(requirements, test_command)
    links = (
        TestLinks(by_requirement={r.id: [] for r in requirements})
        if whole_suite
        else _links(paths, config, requirements, test_command, _synced_copy(paths))  # collecting imports the code
    )
    ledger = _ledger(paths, requirements)
    diff = diff_ledger(ledger, requirements)
    get_logger().info(
        "requirements", total=len(requirements), added=diff.added, changed=diff.changed, removed=diff.removed
    )
    place = _synced_copy(paths)  # the baseline runs where the attempts will (and what collecting did is undone)
    baseline = _watched_baseline(root, run_tests, place)
    if baseline.timed_out:
        raise SurveyFailed(f"the tests time out before any change: {timed_out_reason(baseline, test_command)}")
    problems = project_problems(baseline, place)
    if problems:
        raise SurveyFailed(cannot_collect_reason(problems, runner=baseline.runner or "pytest"))
    return Survey(requirements, links, ledger, diff, baseline, test_files if whole_suite else None,
                  _memory(root, config))  # fmt: skip


def _watched_baseline(root: Path, run_tests: LabelledTestRun, place: Path) -> TestRun:
    """The baseline run, the repository's control files compared around it: the code as committed may be hostile,
    and what it changed in .git is said (not undone) before autodev's first commit of the pass."""
    try:
        dirs = GitDirs.of(root)
    except VcsError:  # not a repository git can read: prepare says so; nothing to compare
        return run_tests("baseline", place)
    before = snapshot(dirs, root)
    baseline = run_tests("baseline", place)
    what = changed(before, snapshot(dirs, root))
    if what:
        shown = ", ".join(what)
        get_logger().warning(f"the tests of the baseline run changed {shown} in your repository; review it", files=what)
    return baseline


def _synced_copy(paths: ProjectPaths) -> Path:
    """The pass's copy of the project (autodev.verify.copy), synced: the code as committed may be hostile too."""
    copy = copy_for(paths.root, paths.trial_copy_dir)
    try:
        copy.sync()
    except OSError as exc:
        raise WorkspaceWriteError(
            f"could not copy the project to {copy.root} to run its tests: {exc}; your files are untouched"
        ) from exc
    return copy.root


def _no_tests(languages: Sequence[str]) -> str:
    """Why there is nothing to work against, with the file names looked for in the project's language."""
    other = [NO_TESTS_OF[language] for language in languages if language in NO_TESTS_OF]
    if not other:
        return NO_TESTS
    return f"no test files found ({', '.join(other)}): the tests decide when the code is done, so write them first"


def _memory(root: Path, config: Config) -> Memory:
    """AGENTS.md and the like, read once a pass; a broken import is said and the rest still used."""
    memory = project_memory(root, config.context)
    for problem in memory.problems:
        get_logger().warning("memory", problem=problem)
    return memory


def _whole_suite(requirements: Sequence[Requirement], test_command: str) -> bool:
    """Whether every test simply proves everything: one prose spec (no IDs), or a runner other than pytest.

    Then the suite is judged as a whole, as a user with one SPEC.md expects, and no collection run is paid for.
    Tests are linked to requirements only through pytest (``@pytest.mark.req``): in a JavaScript or Rust project
    the whole suite proves every requirement.
    """
    single_prose = len(requirements) == 1 and requirements[0].whole_file
    return single_prose or pytest_argv(test_command) is None


def _links(
    paths: ProjectPaths, config: Config, requirements: Sequence[Requirement], test_command: str, place: Path
) -> TestLinks:
    """Which tests prove which requirement, from pytest's own collection (in ``place``, the pass's copy)."""
    links = project_links(
        place,
        requirements,
        test_command,
        scratch_dir=paths.scratch_dir,
        timeout_s=config.tests.timeout_s,
        pass_env=config.tests.pass_env,
        confine=Confinement.from_config(config.tests, paths.root),
    )
    get_logger().info("tests linked", links=links.by_requirement, unlinked=links.unlinked)
    return links


def _ledger(paths: ProjectPaths, requirements: Sequence[Requirement]) -> Ledger:
    ledger, warning = load_ledger(paths.ledger_file, rebuild=lambda: rebuild_from_git(paths.root, list(requirements)))
    if warning:
        get_logger().warning("ledger rebuilt", reason=warning)
    return ledger
