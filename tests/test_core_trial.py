"""A trial in the user's tree: commit on green with only the changed files, the exact bytes back on red.

Real git and a real journal; the tests are judged by a function of the files (autodev.testing's runner), since
what is proved here is what the trial does with a verdict, not how pytest reaches it.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import NoReturn

import pytest
from helpers import git, head

from autodev.config import Config, ProjectConfig
from autodev.core.assignment import Assignment, labelled_runner
from autodev.core.trial import Trial
from autodev.project import ProjectPaths
from autodev.spec.model import Requirement
from autodev.synth.context import SourceFile
from autodev.testing import FunctionTestRunner
from autodev.vcs import GitRepo
from autodev.verify.junit import OutcomeKind

pytestmark = pytest.mark.req("CORE-1")

TEST_ID = "tests/test_calc.py::test_answer"
STUB = b"def answer():\r\n    raise NotImplementedError\r\n"
RIGHT = "def answer():\n    return 42\n"
WRONG = "def answer():\n    return 41\n"


def judged_by_file(root: Path) -> dict[str, OutcomeKind]:
    """Green exactly when calc.py returns 42."""
    return {TEST_ID: "passed" if "return 42" in (root / "calc.py").read_text(encoding="utf-8") else "failed"}


@pytest.fixture
def trial(repo: Path) -> Trial:
    (repo / "calc.py").write_bytes(STUB)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import answer\n\ndef test_answer():\n    assert answer() == 42\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "stub and test")
    paths = ProjectPaths(root=repo)
    paths.ensure_state_dirs()
    config = Config(project=ProjectConfig(test_command=f"{sys.executable} -m pytest"))
    run = labelled_runner(paths, config, FunctionTestRunner(judged_by_file))
    requirement = Requirement(
        id="CALC-1", title="the answer", text="answer() is 42", source="SPEC.md", content_hash="0"
    )
    tests = [SourceFile(path="tests/test_calc.py", content="...")]
    assignment = Assignment(
        paths, config, GitRepo.open(repo), requirement, tests, ["calc.py"], run("baseline", repo), run, [TEST_ID]
    )
    return Trial(assignment)


class TestTrial:
    def test_green_changes_are_committed_alone_with_the_trailers(self, trial: Trial, repo: Path) -> None:
        before = head(repo)
        outcome = trial.run({"calc.py": RIGHT}, label="attempt 1", author="openai/small")
        assert outcome.green and outcome.commit == head(repo) != before
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
        trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)")
        assert "Autodev-Requirement: CALC-1" in trailers and "Autodev-Model: openai/small" in trailers
        assert not trial.assignment.paths.journal_file.exists()

    def test_red_changes_are_rolled_back_to_the_exact_bytes(self, trial: Trial, repo: Path) -> None:
        """CRLF line ends and all: the user's file is as it was, and nothing is committed."""
        before = head(repo)
        outcome = trial.run({"calc.py": WRONG}, label="attempt 1", author="openai/small")
        assert (outcome.kind, outcome.commit) == ("red", None)
        assert outcome.verdict.still_failing == [TEST_ID]
        assert (repo / "calc.py").read_bytes() == STUB
        assert head(repo) == before

    def test_an_interruption_while_testing_restores_the_files_and_propagates(self, repo: Path, trial: Trial) -> None:
        """Ctrl-C during the test run: the bytes come back before the KeyboardInterrupt goes on."""

        def interrupted(label: str, root: Path) -> NoReturn:
            raise KeyboardInterrupt

        interrupting = Trial(dataclasses.replace(trial.assignment, run_tests=interrupted))
        with pytest.raises(KeyboardInterrupt):
            interrupting.run({"calc.py": RIGHT}, label="attempt 1", author="openai/small")
        assert (repo / "calc.py").read_bytes() == STUB

    def test_a_failing_commit_rolls_back_and_says_why(self, trial: Trial, repo: Path) -> None:
        """A git that cannot commit (here another process's index.lock) leaves the tree as it was."""
        (repo / ".git" / "index.lock").write_text("")
        outcome = trial.run({"calc.py": RIGHT}, label="attempt 1", author="openai/small")
        assert outcome.kind == "commit_failed" and outcome.error
        assert (repo / "calc.py").read_bytes() == STUB
