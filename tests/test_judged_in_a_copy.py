"""Attempts are judged in a copy of the project: the code under test cannot reach the user's tree or HEAD.

Each hostile reply is the right temps.py plus a few lines that run at import, while pytest collects the tests in a
real subprocess. Whatever they do lands in the copy; the user's files keep their bytes (but for the committed
target of a genuinely green attempt), HEAD gets no commit autodev did not make, and a change to the tests or their
configuration makes the attempt red whatever the tests said.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, git, run_pass, setup_example, snapshot, temperature_runner

from autodev.project import ProjectPaths
from autodev.results import PassResult
from autodev.testing import FunctionClient
from autodev.verify.copy import ProjectCopy, anchored_command, is_pristine

pytestmark = pytest.mark.req("CORE-6")

START = "spec and tests"


def hostile(*lines: str) -> str:
    """The right reply with ``lines`` run when temps is imported."""
    head = "temps.py\n```python\n"
    assert RIGHT.count(head) == 1
    return RIGHT.replace(head, head + "import os, shutil, subprocess\n" + "".join(f"{line}\n" for line in lines))


@pytest.fixture
def project(repo: Path) -> Path:
    """The temperature example with the user's own files around it: a README, a tracked guide they are editing,
    and an untracked draft."""
    (repo / "README.md").write_text("# my project\n", encoding="utf-8")
    (repo / "docs").mkdir()
    (repo / "docs" / "guide.txt").write_text("committed guide\n", encoding="utf-8")
    setup_example(repo, NO_SERVER, stub=True)
    (repo / "docs" / "guide.txt").write_text("the user's edit, not committed\n", encoding="utf-8")
    (repo / "notes").mkdir()
    (repo / "notes" / "draft.txt").write_text("untracked draft\n", encoding="utf-8")
    return repo


def attempt(project: Path, reply: str) -> tuple[PassResult, dict[str, bytes]]:
    """One pass of one attempt with the real pytest runner; the tree's snapshot taken before it."""
    before = snapshot(project)
    return run_pass(project, FunctionClient.replying(reply), max_attempts=1), before


def subjects(project: Path) -> list[str]:
    return git(project, "log", "--format=%s").splitlines()


def assert_green_and_contained(project: Path, result: PassResult, before: dict[str, bytes]) -> None:
    assert result.status == "satisfied", result.reason
    after = snapshot(project)
    assert after.pop("temps.py") != before.pop("temps.py")
    assert after == before
    assert subjects(project) == ["autodev: Temperature converter", START]
    assert git(project, "status", "--porcelain", "--", "README.md", "tests", "autodev.toml").strip() == ""


def assert_red_and_untouched(project: Path, result: PassResult, before: dict[str, bytes], changed: str) -> None:
    assert result.status != "satisfied"
    reason = str(result.requirements[0].attempts[0].reason)
    assert f"the code under test changed {changed}" in reason, reason
    assert snapshot(project) == before
    assert subjects(project) == [START]


class TestDamageStaysInTheCopy:
    @pytest.mark.parametrize(
        "lines",
        [
            ['os.remove("README.md")'],
            ['os.remove("notes/draft.txt")', 'shutil.rmtree("docs")'],
            ['open("docs/guide.txt", "w").write("overwritten")', 'open("README.md", "a").write("pwned")'],
            ['subprocess.run("git add -A && git commit -qm x", shell=True, capture_output=True)'],
        ],
        ids=["removes-readme", "deletes-untracked-and-edited", "edits-uncommitted", "git-commit"],
    )
    def test_a_green_attempt_commits_its_target_and_nothing_else(self, project: Path, lines: list[str]) -> None:
        result, before = attempt(project, hostile(*lines))
        assert_green_and_contained(project, result, before)

    def test_the_next_sync_puts_the_copy_back(self, project: Path) -> None:
        """What an attempt deleted in the copy is there again for the next one."""
        result, _ = attempt(project, hostile('os.remove("README.md")'))
        assert result.status == "satisfied"
        copy = ProjectCopy(project, ProjectPaths(root=project).trial_copy_dir)
        assert not (copy.root / "README.md").exists()
        copy.sync()
        assert (copy.root / "README.md").read_bytes() == (project / "README.md").read_bytes()


class TestTheTestsAndTheirConfigurationArePristine:
    @pytest.mark.parametrize(
        ("lines", "changed"),
        [
            (['open("tests/test_temps.py", "w").write("def test_nothing():\\n    pass\\n")'], "tests/test_temps.py"),
            (['open("conftest.py", "w").write("")'], "conftest.py"),
            (['open("autodev.toml", "w").write("[project]\\ntest_command = \\"true\\"\\n")'], "autodev.toml"),
        ],
        ids=["rewrites-tests", "creates-conftest", "rewrites-autodev-toml"],
    )
    def test_a_change_to_them_makes_the_attempt_red(self, project: Path, lines: list[str], changed: str) -> None:
        result, before = attempt(project, hostile(*lines))
        assert_red_and_untouched(project, result, before, changed)


class TestTheUserTree:
    def test_a_red_attempt_never_touches_it(self, project: Path) -> None:
        """No journal, no write, no restore: the wrong code only ever lived in the copy."""
        before = snapshot(project)
        wrong = RIGHT.replace("- ABSOLUTE_ZERO_C", "+ 1")
        result = run_pass(project, FunctionClient.replying(wrong), test_runner=temperature_runner(), max_attempts=1)
        assert result.status != "satisfied"
        assert snapshot(project) == before
        assert not ProjectPaths(root=project).journal_file.exists()

    @pytest.mark.parametrize("linked", [False, True], ids=["whole-suite", "linked-tests"])
    def test_the_baseline_and_the_collection_run_in_the_copy_too(self, project: Path, linked: bool) -> None:
        """Code already committed (by an earlier pass, say) is run by the baseline, and imported by the collection
        that links tests to requirements: there too, only in the copy."""
        (project / "temps.py").write_text('import os\nos.remove("README.md")\n', encoding="utf-8")
        if linked:
            spec = (project / "SPEC.md").read_text(encoding="utf-8")
            (project / "SPEC.md").write_text(
                spec.replace("# Temperature converter", "## TEMP-1: Temperature converter")
            )
            tests = (project / "tests" / "test_temps.py").read_text(encoding="utf-8")
            (project / "tests" / "test_temps.py").write_text(tests + '\npytestmark = pytest.mark.req("TEMP-1")\n')
        git(project, "commit", "-qam", "hostile code, committed")
        before = snapshot(project)
        result = run_pass(project, FunctionClient.replying(RIGHT), max_attempts=1)
        assert result.status == "satisfied", result.reason
        after = snapshot(project)
        assert after.pop("temps.py") != before.pop("temps.py")
        assert after == before


class TestTheCopy:
    @pytest.fixture
    def tree(self, tmp_path: Path) -> tuple[Path, ProjectCopy]:
        root = tmp_path / "project"
        for rel, text in {"a.py": "A = 1\n", "pkg/b.py": "B = 2\n", "tests/test_a.py": "", "data.bin": "x"}.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        time.sleep(0.06)  # older than a clock tick: a file saved just now is copied again at the next sync
        return root, ProjectCopy(root, root / ".autodev" / "scratch" / "copy")

    def test_a_resync_copies_only_what_changed_on_either_side(self, tree: tuple[Path, ProjectCopy]) -> None:
        root, copy = tree
        assert copy.sync().copied == 4
        assert copy.sync().copied == 0
        (root / "a.py").write_text("A = 10\n", encoding="utf-8")
        (copy.root / "pkg" / "b.py").write_text("damaged\n", encoding="utf-8")
        stats = copy.sync()
        assert stats.copied == 2
        assert (copy.root / "a.py").read_text(encoding="utf-8") == "A = 10\n"
        assert (copy.root / "pkg" / "b.py").read_text(encoding="utf-8") == "B = 2\n"

    def test_a_file_saved_just_before_a_sync_is_copied_again_at_the_next(self, tree: tuple[Path, ProjectCopy]) -> None:
        """A second save within the same clock tick may keep the stamp: a fresh file is not trusted yet."""
        root, copy = tree
        copy.sync()
        (root / "a.py").write_text("A = 5\n", encoding="utf-8")
        assert copy.sync().copied == 1
        (root / "a.py").write_text("A = 6\n", encoding="utf-8")  # the same size, perhaps the same tick
        copy.sync()
        assert (copy.root / "a.py").read_text(encoding="utf-8") == "A = 6\n"

    def test_a_rewrite_that_keeps_size_and_mtime_is_still_undone(self, tree: tuple[Path, ProjectCopy]) -> None:
        """The ctime gives it away: no process can set it back."""
        _, copy = tree
        copy.sync()
        target = copy.root / "a.py"
        info = target.stat()
        target.write_text("A = 9\n", encoding="utf-8")
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
        copy.sync()
        assert target.read_text(encoding="utf-8") == "A = 1\n"

    def test_deleted_and_added_files_follow_the_project(self, tree: tuple[Path, ProjectCopy]) -> None:
        root, copy = tree
        copy.sync()
        (root / "pkg" / "b.py").unlink()
        (copy.root / "planted.py").write_text("", encoding="utf-8")
        copy.sync()
        assert not (copy.root / "pkg" / "b.py").exists()
        assert not (copy.root / "planted.py").exists()

    def test_bytecode_planted_in_the_copy_does_not_survive_the_next_sync(self, tree: tuple[Path, ProjectCopy]) -> None:
        """A forged .pyc of a test module would be run by the next attempt: the copy's caches go at each sync."""
        _, copy = tree
        copy.sync()
        planted = copy.root / "tests" / "__pycache__" / "test_a.cpython-311-pytest-9.2.0.pyc"
        planted.parent.mkdir()
        planted.write_bytes(b"forged")
        copy.sync()
        assert not planted.parent.exists()

    def test_no_file_is_shared_with_the_user(self, tree: tuple[Path, ProjectCopy]) -> None:
        """Copies, not hard links: a write in the copy never reaches the user's file."""
        root, copy = tree
        copy.sync()
        for rel in ("a.py", "pkg/b.py", "data.bin"):
            assert (copy.root / rel).stat().st_ino != (root / rel).stat().st_ino
        (copy.root / "a.py").write_text("changed\n", encoding="utf-8")
        assert (root / "a.py").read_text(encoding="utf-8") == "A = 1\n"

    def test_a_copy_inside_the_project_has_its_own_git(self, tree: tuple[Path, ProjectCopy]) -> None:
        """git run in the copy finds the copy's empty repository, never the user's one above it."""
        root, copy = tree
        (root / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n", encoding="utf-8")  # a worktree's
        copy.sync()
        assert (copy.root / ".git" / "HEAD").is_file()
        assert git(copy.root, "rev-parse", "--show-toplevel").strip() == str(copy.root.resolve())

    def test_a_guard_or_a_link_the_code_repointed_is_made_anew(self, tree: tuple[Path, ProjectCopy]) -> None:
        """.git linked to the user's repository, node_modules to elsewhere: the next attempt inherits neither."""
        root, copy = tree
        (root / "node_modules").mkdir()
        copy.sync()
        shutil.rmtree(copy.root / ".git")
        (copy.root / ".git").symlink_to(root / ".git-of-the-user", target_is_directory=True)
        (copy.root / "node_modules").unlink()
        (copy.root / "node_modules").symlink_to(root / "pkg", target_is_directory=True)
        copy.sync()
        assert not (copy.root / ".git").is_symlink() and (copy.root / ".git" / "HEAD").is_file()
        assert (copy.root / "node_modules").readlink() == (root / "node_modules").resolve()

    def test_a_program_relative_to_the_project_is_the_projects_own(self, tree: tuple[Path, ProjectCopy]) -> None:
        """Environments are not copied: `.venv/bin/pytest -q` runs the user's, by its absolute path."""
        root, _ = tree
        (root / ".venv" / "bin").mkdir(parents=True)
        (root / ".venv" / "bin" / "pytest").write_text("", encoding="utf-8")
        assert anchored_command(".venv/bin/pytest -q", root) == f"{root}/.venv/bin/pytest -q"
        assert anchored_command("python -m pytest", root) == "python -m pytest"

    def test_tampering_is_found_by_name_and_by_the_tests_given(self, tree: tuple[Path, ProjectCopy]) -> None:
        _, copy = tree
        copy.sync()
        copy.write({"a.py": "A = 3\n"})
        assert copy.tampered(["tests/test_a.py"], {"a.py": "A = 3\n"}) == []
        (copy.root / "tests" / "test_a.py").write_text("def test_x(): pass\n", encoding="utf-8")
        (copy.root / "pkg" / "conftest.py").write_text("", encoding="utf-8")
        assert copy.tampered([], {"a.py": "A = 3\n"}) == ["pkg/conftest.py", "tests/test_a.py"]

    def test_pristine_names(self) -> None:
        assert all(map(is_pristine, ["pyproject.toml", "autodev.toml", "a/conftest.py", "tests/test_x.py"]))
        assert not any(map(is_pristine, ["a/pyproject.toml", "temps.py", "README.md"]))
