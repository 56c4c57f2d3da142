"""`autodev bench --tests generated|none`: an exercise without its tests, as a user who wrote only the spec has it.

``none`` removes the exercise's test files; a pass then refuses to start (nothing would judge the code), so the
code is one unjudged answer (:func:`unchecked_answer`); ``generated`` also has the
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from autodev.bench.exercise import Exercise
from autodev.config import Config
from autodev.llm.client import ChatClient
from autodev.project import ProjectPaths
from autodev.records import CODER, RoleCall
from autodev.spec.parser import load_specs
from autodev.testgen.coverage import GENERATED_DIR
from autodev.testgen.write import write_generated
from autodev.vcs import GitRepo, commit_all
from autodev.workflow.tester import criteria_tests, implementation_from_spec, role_call

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


@dataclass(frozen=True)
class TestsWritten:
    """What the tester did for one exercise: the tests kept (and the file with them), refusals by reason, its call."""

    kept: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    text: str = ""
    calls: list[RoleCall] = field(default_factory=list)  # the tester's, and the agreement's implementation


def generate_tests(root: Path, config: Config, client: ChatClient) -> TestsWritten:
    """The tester's tests for the exercise, written and committed."""
    paths = _state(root)
    requirement = load_specs(root, config.specs.paths).requirements[0]
    made = criteria_tests(paths, config, client, os.environ, requirement)
    if made.text:
        write_generated(root, made.as_generated())
        commit_all(root, "tests from the spec", name="autodev bench", email="bench@autodev.invalid")
    refused = dict(Counter(refusal_kind(reason) for reason in made.reasons()))
    return TestsWritten(kept=len(made.kept), refused=refused, text=made.text, calls=[*filter(None, [made.call]),
                                                                                   *made.calls])  # fmt: skip


def unchecked_answer(root: Path, config: Config, client: ChatClient, files: Sequence[str]) -> tuple[RoleCall, bool]:
    """``none``: what a user with a spec and no tests can get, since a pass refuses to work without tests: one
    answer from the strategy's highest tier (as ``autodev ask --apply`` would ask it), written unjudged. The call,
    and whether the answer had code to write."""
    changes, answer = implementation_from_spec(_state(root), config, client, os.environ, ["SPEC.md"], list(files))
    for name, text in changes.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return role_call(answer, CODER), bool(changes)


def _state(root: Path) -> ProjectPaths:
    paths = ProjectPaths(root=root)
    paths.ensure_state_dirs()
    GitRepo.open(root).ensure_excluded()  # conversations and the tester's copy are under .autodev/: never committed
    return paths


def refusal_kind(reason: str) -> str:
    """A refusal's reason without its particulars: ``passes on the current code``, ``asserts nothing``."""
    return re.split(r"[:(]", reason, maxsplit=1)[0].strip()


def remove_generated(root: Path) -> None:
    """Before the verdict: the generated tests go, so only the exercise's own tests judge."""
    shutil.rmtree(root / GENERATED_DIR, ignore_errors=True)
