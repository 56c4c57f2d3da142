"""Candidates: a reply turned into checked file changes, and tested in a scratch copy, never in the user's tree."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from helpers import pytest_child_env

from autodev.core.candidate import reply_changes, try_all_in_scratch, try_in_scratch
from autodev.errors import EditRejectedError, WorkspaceWriteError
from autodev.synth.context import SourceFile
from autodev.verify.copy import ProjectCopy
from autodev.verify.runner import TestRun, run_tests

pytestmark = pytest.mark.req("CORE-3")

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
PYTEST = [sys.executable, "-m", "pytest"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny pytest project with a wrong add(), its own pytest.ini, and git and autodev state directories."""
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "calc.py").write_text(BROKEN)
    (root / "tests" / "test_calc.py").write_text(TEST)
    (root / "SPEC.md").write_text("# Calc\n\nR1: add returns the sum.\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".autodev").mkdir()
    (root / ".autodev" / "metrics.jsonl").write_text("")
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for a directory): equal snapshots mean an untouched tree."""
    return {
        path.relative_to(root).as_posix(): (None if path.is_dir() else path.read_bytes())
        for path in sorted(root.rglob("*"))
    }


def fake_run(copy: Path, output: str = "") -> TestRun:
    return TestRun(
        command=["true"], exit_code=0, timed_out=False, duration_s=0.0, output=output, outcomes={}, used_junit=False
    )


def changes_for(project: Path, reply: str) -> dict[str, str]:
    tests = [SourceFile(path="tests/test_calc.py", content=TEST)]
    return reply_changes(project, reply, targets=["calc.py"], tests=tests, protected=["tests", "SPEC.md"])


class TestReplyChanges:
    def test_a_changed_target_becomes_its_new_content(self, project: Path) -> None:
        """A whole-file block for a target yields that file's new text."""
        assert changes_for(project, f"calc.py\n```python\n{FIXED}```\n") == {"calc.py": FIXED}

    def test_a_search_replace_block_is_applied_to_the_current_text(self, project: Path) -> None:
        """SEARCH/REPLACE edits are applied to the file on disk, giving its whole new text."""
        reply = "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
        assert changes_for(project, reply) == {"calc.py": FIXED}

    def test_an_edit_to_a_test_file_alone_is_rejected(self, project: Path) -> None:
        """A reply that only changes a test is refused with a reason the model can act on."""
        reply = f"tests/test_calc.py\n```python\n{TEST.replace('== 3', '== -1')}```\n"
        with pytest.raises(EditRejectedError, match="it is a test file"):
            changes_for(project, reply)

    def test_a_test_edit_next_to_code_is_dropped_and_the_code_tried(self, project: Path) -> None:
        """Small models send tests back (here under test/, edited): the code is still tried, the test never written."""
        edited = TEST.replace("== 3", "== -1")
        reply = f"test/test_calc.py\n```python\n{edited}```\n\ncalc.py\n```python\n{FIXED}```\n"
        assert changes_for(project, reply) == {"calc.py": FIXED}
        assert not (project / "test").exists()

    def test_a_search_replace_on_a_test_file_is_rejected(self, project: Path) -> None:
        """Partial edits of a test are refused like whole-file ones."""
        reply = (
            "tests/test_calc.py\n<<<<<<< SEARCH\n    assert add(1, 2) == 3\n=======\n    assert True\n>>>>>>> REPLACE\n"
        )
        with pytest.raises(EditRejectedError, match="test file"):
            changes_for(project, reply)

    def test_an_edit_to_a_protected_spec_file_is_rejected(self, project: Path) -> None:
        """Paths in ``protected`` (the spec) cannot be written either."""
        reply = f"SPEC.md\n```markdown\n# Calc\n\nR1: anything goes.\n```\n\ncalc.py\n```python\n{FIXED}```\n"
        with pytest.raises(EditRejectedError, match="specification"):
            changes_for(project, reply)

    def test_an_unchanged_echo_of_a_test_is_dropped(self, project: Path) -> None:
        """A test repeated verbatim is no edit: it is ignored and the real change goes through."""
        reply = f"tests/test_calc.py\n```python\n{TEST}```\n\ncalc.py\n```python\n{FIXED}```\n"
        assert changes_for(project, reply) == {"calc.py": FIXED}

    def test_a_test_echoed_under_another_path_is_dropped(self, project: Path) -> None:
        """A test's text under a new name is an echo too, not a new file."""
        reply = f"checks.py\n```python\n{TEST}```\n\ncalc.py\n```python\n{FIXED}```\n"
        assert changes_for(project, reply) == {"calc.py": FIXED}

    def test_a_reply_that_changes_nothing_is_rejected(self, project: Path) -> None:
        """Repeating the current code is refused with a message telling the model to send corrected files."""
        with pytest.raises(EditRejectedError, match="changed nothing"):
            changes_for(project, f"calc.py\n```python\n{BROKEN}```\n")

    def test_a_reply_of_only_echoed_tests_is_rejected(self, project: Path) -> None:
        """When every block was an echo there is nothing left to try."""
        with pytest.raises(EditRejectedError, match="changed nothing"):
            changes_for(project, f"tests/test_calc.py\n```python\n{TEST}```\n")

    def test_the_user_tree_is_not_written(self, project: Path) -> None:
        """Parsing and checking a reply only computes changes; the files stay as they were."""
        before = snapshot(project)
        changes_for(project, f"calc.py\n```python\n{FIXED}```\n")
        assert snapshot(project) == before


class TestTryInScratch:
    def test_the_tests_run_on_the_changed_copy_and_the_original_is_untouched(
        self, project: Path, tmp_path: Path
    ) -> None:
        """A real pytest run in the copy sees the change (green); the user's tree stays byte-identical."""
        before = snapshot(project)
        copies: list[Path] = []

        def run(copy: Path) -> TestRun:
            copies.append(copy)
            return run_tests(copy, PYTEST, timeout_s=60, scratch_dir=tmp_path / "verify", env=pytest_child_env())

        result = try_in_scratch(project, {"calc.py": FIXED}, run)
        assert result.exit_code == 0
        assert result.passed_ids == {"tests/test_calc.py::test_add"}
        assert copies[0] != project
        assert not copies[0].exists()  # the scratch copy is removed afterwards
        assert snapshot(project) == before

    def test_without_the_change_the_copy_is_red(self, project: Path, tmp_path: Path) -> None:
        """The copy holds the project as it is: no changes, the same failing test as in the user's tree."""
        before = snapshot(project)

        def run(copy: Path) -> TestRun:
            return run_tests(copy, PYTEST, timeout_s=60, scratch_dir=tmp_path / "verify", env=pytest_child_env())

        result = try_in_scratch(project, {}, run)
        assert result.failing_ids == {"tests/test_calc.py::test_add"}
        assert snapshot(project) == before

    def test_version_control_and_autodev_state_are_not_copied(self, project: Path) -> None:
        """.git, .autodev and caches stay behind; the code, tests and spec are in the copy."""
        seen: dict[str, bool] = {}

        def run(copy: Path) -> TestRun:
            for name in (".git", ".autodev", "pkg/__pycache__", "calc.py", "tests/test_calc.py", "SPEC.md"):
                seen[name] = (copy / name).exists()
            return fake_run(copy)

        try_in_scratch(project, {}, run)
        assert seen == {
            ".git": False,
            ".autodev": False,
            "pkg/__pycache__": False,
            "calc.py": True,
            "tests/test_calc.py": True,
            "SPEC.md": True,
        }

    def test_a_package_named_env_below_the_top_is_copied(self, project: Path) -> None:
        """Environments are skipped at the top only: app/env/ is code and must be in the copy."""
        (project / "app" / "env").mkdir(parents=True)
        (project / "app" / "env" / "settings.py").write_text("DEBUG = True\n", encoding="utf-8")
        seen: list[bool] = []

        def run(copy: Path) -> TestRun:
            seen.append((copy / "app" / "env" / "settings.py").is_file())
            return fake_run(copy)

        try_in_scratch(project, {}, run)
        assert seen == [True]

    def test_nox_environments_and_ruff_caches_are_not_copied(self, project: Path) -> None:
        """.nox (environments, as .tox) at the top and .ruff_cache (a cache, as .mypy_cache) anywhere stay out."""
        for rel in (".nox/py311/lib/site.py", ".ruff_cache/0.5/x", "pkg/.ruff_cache/0.5/x"):
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_text("x", encoding="utf-8")
        seen: dict[str, bool] = {}

        def run(copy: Path) -> TestRun:
            for name in (".nox", ".ruff_cache", "pkg/.ruff_cache", "pkg"):
                seen[name] = (copy / name).exists()
            return fake_run(copy)

        try_in_scratch(project, {}, run)
        assert seen == {".nox": False, ".ruff_cache": False, "pkg/.ruff_cache": False, "pkg": True}

    def test_what_tests_may_read_is_copied(self, project: Path) -> None:
        """Packaging output and hypothesis's database of failing examples come along: a test may read them."""
        for rel in ("build/lib/ext.so", "dist/calc-1.0.tar.gz", ".hypothesis/examples/ab/cd"):
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_text("x", encoding="utf-8")
        seen: list[bool] = []

        def run(copy: Path) -> TestRun:
            seen.extend((copy / rel).is_file() for rel in ("build/lib/ext.so", "dist/calc-1.0.tar.gz"))
            seen.append((copy / ".hypothesis" / "examples" / "ab" / "cd").is_file())
            return fake_run(copy)

        try_in_scratch(project, {}, run)
        assert seen == [True, True, True]

    def test_an_absolute_link_back_into_the_project_is_not_written_through(self, project: Path) -> None:
        """pkg -> /abs/project/real_pkg: the copy's change lands in the copy, the user's file keeps its bytes."""
        (project / "real_pkg").mkdir()
        original = project / "real_pkg" / "mod.py"
        original.write_text("VALUE = 1\n", encoding="utf-8")
        (project / "pkg_link").symlink_to(project / "real_pkg", target_is_directory=True)
        written: list[str] = []

        def run(copy: Path) -> TestRun:
            written.append((copy / "real_pkg" / "mod.py").read_text(encoding="utf-8"))
            return fake_run(copy)

        try_in_scratch(project, {"pkg_link/mod.py": "VALUE = 2\n"}, run)
        assert original.read_text(encoding="utf-8") == "VALUE = 1\n"
        assert written == ["VALUE = 2\n"]

    def test_new_files_are_created_in_new_directories_of_the_copy(self, project: Path) -> None:
        """A change may add a file under a directory that does not exist yet; only the copy gets it."""
        contents: list[str] = []

        def run(copy: Path) -> TestRun:
            contents.append((copy / "src" / "deep" / "new.py").read_text(encoding="utf-8"))
            return fake_run(copy)

        try_in_scratch(project, {"src/deep/new.py": "VALUE = 'ü'\n"}, run)
        assert contents == ["VALUE = 'ü'\n"]
        assert not (project / "src").exists()


class TestTryAllInScratch:
    def test_results_come_back_in_the_candidates_order(self, project: Path) -> None:
        """Candidates finishing out of order are still reported in the order they were given."""
        delays = {"A = 0\n": 0.3, "A = 1\n": 0.0, "A = 2\n": 0.15}

        def run(copy: Path) -> TestRun:
            text = (copy / "calc.py").read_text(encoding="utf-8")
            time.sleep(delays[text])
            return fake_run(copy, output=text)

        results = try_all_in_scratch(project, [{"calc.py": text} for text in delays], run, workers=3)
        assert [result.output for result in results] == list(delays)

    def test_each_candidate_gets_its_own_copy(self, project: Path) -> None:
        """Parallel candidates never share a scratch tree, and none of them reaches the user's tree."""
        before = snapshot(project)
        copies: list[Path] = []

        def run(copy: Path) -> TestRun:
            copies.append(copy)
            return fake_run(copy)

        try_all_in_scratch(project, [{"calc.py": "A = 1\n"}, {"calc.py": "A = 2\n"}], run, workers=2)
        assert len(set(copies)) == 2
        assert snapshot(project) == before

    def test_no_candidates_run_nothing(self, project: Path) -> None:
        """An empty round returns no results and never calls the test command."""

        def run(copy: Path) -> TestRun:
            raise AssertionError("no candidate, no run")

        assert try_all_in_scratch(project, [], run, workers=4) == []


class TestScratchFailures:
    def test_a_copy_that_cannot_be_made_is_a_clear_error_and_the_tree_is_untouched(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full disk while copying is WorkspaceWriteError naming the problem; the user's files keep their bytes."""
        before = snapshot(project)

        def full_disk(*args: object, **kwargs: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(ProjectCopy, "_copy_file", full_disk)
        with pytest.raises(WorkspaceWriteError, match="No space left on device"):
            try_in_scratch(project, {"calc.py": FIXED}, fake_run)
        assert snapshot(project) == before
