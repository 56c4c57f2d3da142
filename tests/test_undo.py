"""ask/undo.py and `autodev undo`: autodev's last commit reverted by a new commit, or a refusal changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import autodev, commit_files, git, head, snapshot, status_lines

from autodev.ask.undo import Undone, undo_last
from autodev.errors import NotARepositoryError, UndoRefusedError, VcsError

pytestmark = pytest.mark.req("ASK-5")

BY_AUTODEV = "Autodev-Model: test/model"


def _history(repo: Path) -> tuple[str, str]:
    """The user's commit (keep, change, gone, tool.sh executable), then autodev's changing, adding, deleting."""
    commit_files(
        repo, {"keep.py": "K = 1\n", "change.py": "C = 1\n", "gone.py": "G = 1\n", "tool.sh": "#!/bin/sh\n"}, "user"
    )
    (repo / "tool.sh").chmod(0o755)
    git(repo, "add", "tool.sh")
    git(repo, "commit", "-q", "-m", "executable")
    parent = head(repo)
    (repo / "gone.py").unlink()
    git(repo, "rm", "-q", "--cached", "gone.py")
    (repo / "tool.sh").write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    git(repo, "add", "tool.sh")
    autodev_sha = commit_files(repo, {"change.py": "C = 2\n", "added.py": "A = 1\n"}, "ask: fix it", BY_AUTODEV)
    return parent, autodev_sha


def _tree(repo: Path, sha: str) -> str:
    return git(repo, "ls-tree", "-r", sha)


class TestUndoLast:
    def test_a_new_commit_restores_exactly_the_parents_files(self, repo: Path) -> None:
        """Modified, added and deleted files come back as the parent had them, modes too, in one new commit."""
        parent, undone = _history(repo)
        done = undo_last(repo)
        assert done == Undone(
            undone=undone,
            subject="ask: fix it",
            commit=head(repo),
            files=done.files,
        )
        assert sorted(done.files) == ["added.py", "change.py", "gone.py", "tool.sh"]
        assert _tree(repo, "HEAD") == _tree(repo, parent)
        assert git(repo, "log", "-1", "--format=%s").strip() == "autodev undo: ask: fix it"
        assert f"Autodev-Undoes: {undone}" in git(repo, "log", "-1", "--format=%B")
        assert not (repo / "added.py").exists()
        assert (repo / "gone.py").read_text(encoding="utf-8") == "G = 1\n"
        assert (repo / "tool.sh").stat().st_mode & 0o111
        assert status_lines(repo) == []

    def test_the_users_staged_changes_stay_staged(self, repo: Path) -> None:
        """Only the undone commit's files are committed; another staged file stays staged, uncommitted."""
        _history(repo)
        (repo / "keep.py").write_text("K = 'staged'\n", encoding="utf-8")
        git(repo, "add", "keep.py")
        undo_last(repo)
        assert "keep.py" not in git(repo, "show", "--name-only", "--format=", "HEAD").split()
        assert status_lines(repo) == ["M  keep.py"]

    def test_a_root_commit_of_autodevs_removes_its_files(self, repo: Path) -> None:
        """Without a parent every file of the commit was added: undoing removes them all."""
        commit_files(repo, {"a.py": "A = 1\n"}, "ask: start", BY_AUTODEV)
        done = undo_last(repo)
        assert done.files == ("a.py",) and not (repo / "a.py").exists()
        assert _tree(repo, "HEAD") == ""

    def test_a_refused_commit_changes_nothing(self, repo: Path) -> None:
        """A hook refusing the undo commit: every file (restored, removed) comes back, HEAD and index unchanged."""
        _history(repo)
        before, files = head(repo), snapshot(repo)
        hook = repo / ".git" / "hooks" / "pre-commit"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text("#!/bin/sh\necho no >&2\nexit 1\n", encoding="utf-8")
        hook.chmod(0o755)
        with pytest.raises(VcsError, match="no"):
            undo_last(repo, run_hooks=True)
        assert head(repo) == before and snapshot(repo) == files and status_lines(repo) == []
        assert (repo / "tool.sh").stat().st_mode & 0o111
        assert not (repo / ".autodev" / "journal.json").exists()


class TestUndoRefusals:
    def _refused(self, repo: Path, match: str) -> None:
        before, files = head(repo), snapshot(repo)
        with pytest.raises(UndoRefusedError, match=match):
            undo_last(repo)
        assert head(repo) == before and snapshot(repo) == files

    def test_commits_on_top_of_autodevs(self, repo: Path) -> None:
        """Two user commits after autodev's: it says how many and which `git revert` to run."""
        _, undone = _history(repo)
        commit_files(repo, {"u1.py": "U = 1\n"}, "user one")
        commit_files(repo, {"u2.py": "U = 2\n"}, "user two")
        self._refused(
            repo, rf"^2 commit\(s\) were made on top of .*{undone[:7]} \(ask: fix it\).*git revert {undone[:7]}"
        )

    def test_no_commit_of_autodevs(self, repo: Path) -> None:
        """A history autodev never committed to."""
        commit_files(repo, {"u.py": "U = 1\n"}, "user")
        self._refused(repo, "no commit of autodev's to undo")

    def test_head_already_an_undo(self, repo: Path) -> None:
        """Undoing twice would revert the revert: it points at `git revert HEAD` instead."""
        _, undone = _history(repo)
        undo_last(repo)
        self._refused(repo, rf"already undoes {undone[:7]} \(ask: fix it\).*git revert HEAD")

    def test_a_file_of_the_commit_with_uncommitted_changes(self, repo: Path) -> None:
        """The user's edit to one of the commit's files is never overwritten."""
        _history(repo)
        (repo / "change.py").write_text("C = 'mine'\n", encoding="utf-8")
        self._refused(repo, r"change\.py.*commit or stash them first")

    def test_a_symbolic_link_in_the_commit(self, repo: Path) -> None:
        """A link cannot be restored byte for byte as a file: it points at `git revert` instead."""
        commit_files(repo, {"a.py": "A = 1\n"}, "user")
        (repo / "link.py").symlink_to("a.py")
        git(repo, "add", "link.py")
        git(repo, "commit", "-q", "-m", "ask: link", "-m", BY_AUTODEV)
        self._refused(repo, r"link\.py.*git revert")

    def test_not_a_repository(self, tmp_path: Path) -> None:
        """Outside git there is nothing to undo: a usage error."""
        with pytest.raises(NotARepositoryError):
            undo_last(tmp_path)


class TestUndoCommand:
    def test_json_and_exit_codes(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`autodev undo --json` exits 0 with the object; a second undo exits 1 and changes nothing."""
        _, undone = _history(repo)
        capsys.readouterr()
        assert autodev(repo, "undo", "--json") == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["undone"] == undone and payload["commit"] == head(repo)
        assert payload["subject"] == "ask: fix it" and "change.py" in payload["files"]
        before = head(repo)
        assert autodev(repo, "undo") == 1
        assert "already undoes" in capsys.readouterr().err
        assert head(repo) == before

    def test_the_plain_line(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """One line: what was undone, which files, the new commit."""
        _, undone = _history(repo)
        capsys.readouterr()
        assert autodev(repo, "undo") == 0
        out = capsys.readouterr().out
        assert out.startswith(f"undid {undone[:7]} ask: fix it: ") and f"(commit {head(repo)[:7]})" in out
