"""`autodev bench --tests generated|none`: an exercise without its tests, as a user who wrote only the spec has it.

``none`` removes the exercise's test files (a pass then has nothing to judge by); ``generated`` also has the
tester role write tests from the description (``autodev.workflow.tester``: kept only when they assert something
and fail on the stub for the requirement's reason), committed as the user's, before the pass. Either way the
harness judges with the original tests put back and the generated ones taken away, so the verdict is the same
as with the tests visible.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Literal

from autodev.bench.exercise import Exercise
from autodev.config import Config
from autodev.llm.client import ChatClient
from autodev.project import ProjectPaths
from autodev.spec.parser import load_specs
from autodev.testgen.coverage import GENERATED_DIR
from autodev.testgen.write import write_generated
from autodev.vcs import GitRepo, commit_all
from autodev.workflow.tester import criteria_tests

TestsMode = Literal["visible", "generated", "none"]
TESTS_MODES: tuple[TestsMode, ...] = ("visible", "generated", "none")
NO_TEST_FILE = "no test file in the reply"


def check_tests_mode(mode: str) -> TestsMode:
    """The mode, or ValueError saying which there are."""
    for known in TESTS_MODES:
        if mode == known:
            return known
    raise ValueError(f"unknown --tests {mode!r}; use {', '.join(TESTS_MODES)}")


def strategy_label(strategy: str, mode: TestsMode) -> str:
    """How a strategy run without the visible tests is named in the results: ``tiered+generated-tests``."""
    return strategy if mode == "visible" else f"{strategy}+{mode}-tests"


def hide_tests(exercise: Exercise, root: Path) -> None:
    """The exercise's test files removed and the stub named under ``Files:``, committed."""
    for test in exercise.tests:
        (root / "tests" / Path(test).name if exercise.track == "python" else root / test).unlink(missing_ok=True)
    if exercise.track == "python":
        spec = root / "SPEC.md"
        files = ", ".join(f"`{name}`" for name in exercise.solution)
        spec.write_text(spec.read_text(encoding="utf-8") + f"\nFiles: {files}\n", encoding="utf-8")
    commit_all(root, "the spec alone", name="autodev bench", email="bench@autodev.invalid")


def generate_tests(root: Path, config: Config, client: ChatClient) -> tuple[int, dict[str, int]]:
    """The tester's tests for the exercise, written and committed: (tests kept, refusals counted by reason)."""
    paths = ProjectPaths(root=root)
    paths.ensure_state_dirs()
    GitRepo.open(root).ensure_excluded()  # the tester's copy of the project is under .autodev/: never committed
    requirement = load_specs(root, config.specs.paths).requirements[0]
    made = criteria_tests(paths, config, client, os.environ, requirement)
    reasons = [*made.refused.values(), *([made.problem] if made.problem else [])]
    refused = dict(Counter(refusal_kind(reason) for reason in reasons))
    if made.text:
        write_generated(root, made.as_generated())
        commit_all(root, "tests from the spec", name="autodev bench", email="bench@autodev.invalid")
    return len(made.kept), refused


def refusal_kind(reason: str) -> str:
    """A refusal's reason without its particulars: ``passes on the current code``, ``asserts nothing``."""
    return re.split(r"[:(]", reason, maxsplit=1)[0].strip()


def remove_generated(root: Path) -> None:
    """Before the verdict: the generated tests go, so only the exercise's own tests judge."""
    shutil.rmtree(root / GENERATED_DIR, ignore_errors=True)
