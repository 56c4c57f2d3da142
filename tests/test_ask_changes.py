"""ask/changes.py: an answer's code blocks proposed, checked against the user's work, applied, tested, committed."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest
from helpers import commit_files, git, head, snapshot, status_lines, write_files

from autodev.ask.changes import Applied, apply_changes, diff_text, propose, refuse_uncommitted
from autodev.errors import EditRejectedError, UnsafeWorkspaceError, UsageError
from autodev.journal import EditTransaction
from autodev.project import ProjectPaths
from autodev.vcs.trailers import CONVERSATION_TRAILER, MODEL_TRAILER
from autodev.verify.runner import TestRun, run_tests

TRAILERS = {MODEL_TRAILER: "test/model", CONVERSATION_TRAILER: "c0ffee"}
CODE = "def double(n):\n    return n * 2\n"
TEST = "from x import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
ANSWER = (
    "Here you go.\n\n"
    "a.py\n```python\nA = 2\n```\n\n"
    "pkg/new.py\n```python\nNEW = 1\n```\n\n"
    "b.py\n```python\n<<<<<<< SEARCH\nB = 1\n=======\nB = 3\n>>>>>>> REPLACE\n```\n"
)


def _project(repo: Path) -> ProjectPaths:
    commit_files(repo, {"a.py": "A = 1\n", "b.py": "# b\nB = 1\n", "x.py": CODE, "tests/test_x.py": TEST}, "start")
    git(repo, "config", "core.excludesFile", "/dev/null")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text(".autodev/\n__pycache__/\n.pytest_cache/\n", encoding="utf-8")
    return ProjectPaths(root=repo)


def _tests(tmp_path: Path) -> functools.partial[TestRun]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return functools.partial(run_tests, command=command, timeout_s=60, scratch_dir=tmp_path / "scratch")


def _committed_files(repo: Path) -> list[str]:
    return git(repo, "show", "--name-only", "--format=", "HEAD").split()


@pytest.mark.req("ASK-3")
class TestPropose:
    def test_several_files_in_both_formats_from_one_answer(self, repo: Path) -> None:
        """Whole-file blocks with path lines and a SEARCH/REPLACE block: each file's complete new text."""
        _project(repo)
        proposal = propose(repo, ANSWER, ["a.py"])
        assert proposal.changes == {"a.py": "A = 2\n", "pkg/new.py": "NEW = 1\n", "b.py": "# b\nB = 3\n"}
        assert proposal.created == ("pkg/new.py",)

    def test_a_bare_block_goes_to_the_only_file(self, repo: Path) -> None:
        """With one -f file an unlabelled block replaces it."""
        _project(repo)
        assert propose(repo, "```python\nA = 5\n```\n", ["a.py"]).changes == {"a.py": "A = 5\n"}

    def test_unchanged_files_are_dropped(self, repo: Path) -> None:
        """A block repeating a file as it is proposes nothing for it."""
        _project(repo)
        assert propose(repo, "a.py\n```python\nA = 1\n```\nb.py\n```python\nB = 2\n```\n", []).changes == {
            "b.py": "B = 2\n"
        }

    @pytest.mark.parametrize("path", ["../x.py", "/etc/passwd_autodev.py", ".git/config", ".autodev/state.json"])
    def test_a_path_outside_the_project_is_refused(self, repo: Path, path: str) -> None:
        """Paths leaving the project, or into .git and .autodev, are refused before anything is read."""
        _project(repo)
        with pytest.raises(EditRejectedError):
            propose(repo, f"{path}\n```python\nX = 1\n```\n", ["a.py"])

    def test_a_symbolic_link_leading_outside_is_refused(self, repo: Path, tmp_path: Path) -> None:
        """A path inside the project that a link sends outside it is refused like ../ is."""
        _project(repo)
        outside = tmp_path / "outside"
        outside.mkdir()
        (repo / "out").symlink_to(outside)
        with pytest.raises(EditRejectedError, match="outside the project"):
            propose(repo, "out/x.py\n```python\nX = 1\n```\n", ["a.py"])
        assert not (outside / "x.py").exists()

    def test_an_answer_without_a_file_edit_says_how_to_write_one(self, repo: Path) -> None:
        """Prose alone is refused with a message for people."""
        _project(repo)
        with pytest.raises(EditRejectedError, match="no code block with a file path"):
            propose(repo, "Just rename the variable.", ["a.py", "b.py"])

    def test_a_binary_file_is_refused_by_name(self, repo: Path) -> None:
        """A non-UTF-8 target cannot be edited; the error names it."""
        (repo / "blob.py").write_bytes(b"\xff\xfe\x00")
        with pytest.raises(EditRejectedError, match=r"blob\.py"):
            propose(repo, "blob.py\n```python\nX = 1\n```\n", ["blob.py"])


@pytest.mark.req("ASK-3")
class TestRefuseUncommitted:
    def test_a_dirty_file_is_refused_and_force_allows_it(self, repo: Path) -> None:
        """The user's uncommitted edit is refused, naming it and saying --force; force=True skips the check."""
        paths = _project(repo)
        (repo / "a.py").write_text("A = 'mine'\n", encoding="utf-8")
        with pytest.raises(UnsafeWorkspaceError, match=r"a\.py.*or pass --force$"):
            refuse_uncommitted(repo, ["a.py", "b.py"], paths.ask_written_file, force=False)
        refuse_uncommitted(repo, ["a.py"], paths.ask_written_file, force=True)

    def test_clean_and_new_files_are_fine(self, repo: Path) -> None:
        """Committed files and files that do not exist yet hold no work of the user's."""
        paths = _project(repo)
        refuse_uncommitted(repo, ["a.py", "pkg/new.py"], paths.ask_written_file, force=False)

    def test_a_file_autodev_wrote_uncommitted_is_fine_until_the_user_changes_it(self, repo: Path) -> None:
        """After --no-commit the file's bytes are recorded: applying again is allowed, until the user edits it."""
        paths = _project(repo)
        apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=False)
        refuse_uncommitted(repo, ["a.py"], paths.ask_written_file, force=False)
        (repo / "a.py").write_text("A = 'mine'\n", encoding="utf-8")
        with pytest.raises(UnsafeWorkspaceError):
            refuse_uncommitted(repo, ["a.py"], paths.ask_written_file, force=False)

    def test_outside_a_repository_nothing_is_checked(self, tmp_path: Path) -> None:
        """No git, no uncommitted work to protect."""
        (tmp_path / "a.py").write_text("A = 1\n", encoding="utf-8")
        refuse_uncommitted(tmp_path, ["a.py"], tmp_path / "written.json", force=False)


@pytest.mark.req("ASK-3")
class TestDiffText:
    def test_a_unified_diff_with_new_files_from_dev_null(self, repo: Path) -> None:
        """a/ and b/ headers for a changed file, /dev/null for a new one."""
        _project(repo)
        diff = diff_text(repo, {"a.py": "A = 2\n", "new.py": "N = 1\n"}, color=False)
        assert "--- a/a.py\n+++ b/a.py\n" in diff and "-A = 1\n+A = 2\n" in diff
        assert "--- /dev/null\n+++ b/new.py\n" in diff and "+N = 1\n" in diff
        assert "\x1b[" not in diff

    def test_color_marks_removed_added_and_hunk_lines(self, repo: Path) -> None:
        """Red for removed, green for added, cyan for hunk headers."""
        _project(repo)
        diff = diff_text(repo, {"a.py": "A = 2\n"}, color=True)
        assert "\x1b[31m-A = 1" in diff and "\x1b[32m+A = 2" in diff and "\x1b[36m@@" in diff


@pytest.mark.req("ASK-3")
class TestApplyChanges:
    def test_one_commit_of_exactly_those_files_with_the_trailers(self, repo: Path) -> None:
        """Several files, a new one in a new directory, committed together; the user's staged file stays staged."""
        paths = _project(repo)
        write_files(repo, {"staged.py": "S = 1\n"})
        git(repo, "add", "staged.py")
        changes = propose(repo, ANSWER, ["a.py"]).changes
        applied = apply_changes(paths, changes, message="ask: fix it", trailers=TRAILERS, commit=True)
        assert applied.kept and applied.commit == head(repo)
        assert sorted(_committed_files(repo)) == ["a.py", "b.py", "pkg/new.py"]
        message = git(repo, "log", "-1", "--format=%B")
        assert "Autodev-Model: test/model" in message and "Autodev-Conversation: c0ffee" in message
        assert (repo / "pkg/new.py").read_text(encoding="utf-8") == "NEW = 1\n"
        assert "A  staged.py" in status_lines(repo)
        assert not paths.journal_file.exists()

    def test_no_commit_leaves_the_files_unstaged_and_recorded(self, repo: Path) -> None:
        """--no-commit: the change is on disk, not staged, and its sha256 recorded as autodev's."""
        paths = _project(repo)
        before = head(repo)
        applied = apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=False)
        assert applied.kept and applied.commit is None and head(repo) == before
        assert applied.reason == "left uncommitted"
        assert status_lines(repo) == [" M a.py"]
        assert set(json.loads(paths.ask_written_file.read_text(encoding="utf-8"))) == {"a.py"}

    def test_a_refused_commit_keeps_the_files_uncommitted(self, repo: Path) -> None:
        """A hook that refuses ([vcs] run_hooks): the files stay, recorded as autodev's, the reason says so."""
        paths = _project(repo)
        hook = repo / ".git" / "hooks" / "pre-commit"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text("#!/bin/sh\necho no >&2\nexit 1\n", encoding="utf-8")
        hook.chmod(0o755)
        applied = apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=True,
                                run_hooks=True)  # fmt: skip
        assert applied.kept and applied.commit is None and "commit failed" in applied.reason
        assert (repo / "a.py").read_text(encoding="utf-8") == "A = 2\n"
        assert "a.py" in json.loads(paths.ask_written_file.read_text(encoding="utf-8"))

    def test_nothing_to_change_writes_and_commits_nothing(self, repo: Path) -> None:
        """An empty proposal (the files already hold the code) is kept as it is: no write, no commit, no tests."""
        paths = _project(repo)
        before, files = head(repo), snapshot(repo)

        def tests(root: Path) -> TestRun:
            raise AssertionError("no test run for no change")

        applied = apply_changes(paths, {}, message="m", trailers=TRAILERS, commit=True, tests=tests)
        assert applied.kept and applied.commit is None and applied.files == ()
        assert "nothing to change" in applied.reason
        assert head(repo) == before and snapshot(repo) == files

    def test_a_stale_journal_is_recovered_first(self, repo: Path) -> None:
        """An attempt interrupted earlier is rolled back before the new change is written."""
        paths = _project(repo)
        stale = EditTransaction(repo, paths.journal_file)
        stale.apply({"b.py": b"B = 'half written'\n"})
        journal = json.loads(paths.journal_file.read_text(encoding="utf-8"))
        journal["pid"] = 0  # no process: interrupted
        paths.journal_file.write_text(json.dumps(journal), encoding="utf-8")
        apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=True)
        assert (repo / "b.py").read_text(encoding="utf-8") == "# b\nB = 1\n"
        assert _committed_files(repo) == ["a.py"]

    def test_a_running_attempt_is_not_interfered_with(self, repo: Path) -> None:
        """A journal whose process is alive (another autodev writing) refuses, naming its pid."""
        paths = _project(repo)
        paths.journal_file.parent.mkdir(parents=True, exist_ok=True)
        EditTransaction(repo, paths.journal_file).apply({"b.py": b"B = 2\n"})
        journal = json.loads(paths.journal_file.read_text(encoding="utf-8"))
        journal["pid"] = 1  # init: alive, and not this process
        paths.journal_file.write_text(json.dumps(journal), encoding="utf-8")
        with pytest.raises(UsageError, match="pid 1"):
            apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=True)


@pytest.mark.req("ASK-4")
class TestApplyWithTests:
    def test_a_change_that_breaks_a_passing_test_is_rolled_back(self, repo: Path, tmp_path: Path) -> None:
        """Byte for byte as before, no commit, and the reason names the test that broke."""
        paths = _project(repo)
        before, files = head(repo), snapshot(repo)
        bad = {"x.py": "def double(n):\n    return n * 3\n", "a.py": "A = 2\n"}
        applied = apply_changes(paths, bad, message="m", trailers=TRAILERS, commit=True, tests=_tests(tmp_path))
        assert not applied.kept and applied.commit is None
        assert "test_double" in applied.reason and applied.reason.endswith("every file is as it was")
        assert applied.tests_before == "1 passed" and applied.tests_after == "0 passed, 1 failed"
        assert snapshot(repo) == files and head(repo) == before

    def test_a_change_that_keeps_the_tests_green_is_committed(self, repo: Path, tmp_path: Path) -> None:
        """Green before and after: kept and committed, with both counts."""
        paths = _project(repo)
        good = {"x.py": "def double(n):\n    return n + n\n"}
        applied = apply_changes(paths, good, message="m", trailers=TRAILERS, commit=True, tests=_tests(tmp_path))
        assert applied == Applied(
            files=("x.py",),
            kept=True,
            commit=head(repo),
            reason=applied.reason,
            tests_before="1 passed",
            tests_after="1 passed",
        )
        assert _committed_files(repo) == ["x.py"]

    def test_the_tests_run_in_a_copy_so_the_code_under_test_cannot_touch_the_users_files(
        self, repo: Path, tmp_path: Path
    ) -> None:
        """A change whose module deletes README.md and an untracked note at import: both stay, and the change,
        green, is committed."""
        paths = _project(repo)
        write_files(repo, {"README.md": "# mine\n", "notes/draft.txt": "untracked\n"})
        hostile = {"x.py": "import os\nfor f in ('README.md', 'notes/draft.txt'):\n    if os.path.exists(f):\n"
                           "        os.remove(f)\n\n\ndef double(n):\n    return n + n\n"}  # fmt: skip
        applied = apply_changes(paths, hostile, message="m", trailers=TRAILERS, commit=True, tests=_tests(tmp_path))
        assert applied.kept and applied.tests_after == "1 passed"
        assert (repo / "README.md").read_text(encoding="utf-8") == "# mine\n"
        assert (repo / "notes" / "draft.txt").read_text(encoding="utf-8") == "untracked\n"

    def test_a_file_saved_while_the_tests_run_is_kept_and_nothing_is_written(self, repo: Path) -> None:
        """The user's save during the run wins: the change is not applied over it."""
        paths = _project(repo)

        def tests(root: Path) -> TestRun:
            assert root != repo  # the copy, never the user's tree
            (repo / "a.py").write_text("A = 'saved by the user'\n", encoding="utf-8")
            return run_tests(root, [sys.executable, "-c", "pass"], timeout_s=60, scratch_dir=root.parent / "s")

        applied = apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=True, tests=tests)
        assert not applied.kept and "a.py changed while the tests ran" in applied.reason
        assert (repo / "a.py").read_text(encoding="utf-8") == "A = 'saved by the user'\n"

    def test_an_exception_during_the_test_run_leaves_every_file_and_is_raised(self, repo: Path) -> None:
        """A Ctrl-C (or a crash) while the tests run: nothing was written, no journal is left, then it propagates."""
        paths = _project(repo)
        files = snapshot(repo)
        calls: list[Path] = []

        def tests(root: Path) -> TestRun:
            calls.append(root)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return run_tests(root, [sys.executable, "-c", "pass"], timeout_s=60, scratch_dir=root.parent / "s")

        with pytest.raises(KeyboardInterrupt):
            apply_changes(paths, {"a.py": "A = 2\n"}, message="m", trailers=TRAILERS, commit=True, tests=tests)
        assert snapshot(repo) == files and not paths.journal_file.exists()
