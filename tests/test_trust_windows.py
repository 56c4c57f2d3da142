"""The windows an adversarial run found open: two passes at once, and a kill between `git commit` and the journal's
removal. Each is now closed: one pass at a time per project, and a landed commit kept rather than undone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import git, status_lines, write_files

from autodev.core.prepare import recover_interrupted
from autodev.journal import EditTransaction
from autodev.passlock import ProjectBusyError, pass_lock
from autodev.project import ProjectPaths
from autodev.vcs import GitRepo

pytestmark = pytest.mark.req("CORE-2")

HOLD = """
import sys, time
from pathlib import Path
from autodev.passlock import pass_lock
with pass_lock(Path(sys.argv[1]), doing="run --once"):
    Path(sys.argv[2]).write_text("held")
    time.sleep(float(sys.argv[3]))
"""


@pytest.fixture
def project(repo: Path) -> ProjectPaths:
    write_files(repo, {"app.py": "old\n", "autodev.toml": ""})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    return ProjectPaths(root=repo)


def hold_lock(paths: ProjectPaths, tmp_path: Path, seconds: float) -> subprocess.Popen[bytes]:
    flag = tmp_path / "held"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(paths.state_dir), str(flag), str(seconds)])
    deadline = time.monotonic() + 20
    while not flag.exists():
        assert time.monotonic() < deadline and process.poll() is None, "the holder never took the lock"
        time.sleep(0.02)
    return process


class TestOnePassAtATime:
    def test_a_second_writer_is_refused_at_once_naming_the_first(self, project: ProjectPaths, tmp_path: Path) -> None:
        holder = hold_lock(project, tmp_path, 30)
        try:
            with (
                pytest.raises(ProjectBusyError, match=rf"pid {holder.pid}: run --once"),
                pass_lock(project.state_dir, doing="ask --apply"),
            ):
                pass
        finally:
            holder.kill()
            holder.wait()

    def test_wait_takes_the_lock_once_the_holder_is_done(self, project: ProjectPaths, tmp_path: Path) -> None:
        holder = hold_lock(project, tmp_path, 0.5)
        started = time.monotonic()
        with pass_lock(project.state_dir, doing="a loop pass", wait=True):
            assert holder.poll() is not None or time.monotonic() - started >= 0.3
        holder.wait()

    def test_a_killed_holder_never_blocks_the_next_pass(self, project: ProjectPaths, tmp_path: Path) -> None:
        holder = hold_lock(project, tmp_path, 30)
        holder.kill()
        holder.wait()
        with pass_lock(project.state_dir, doing="run --once"):
            pass

    def test_run_once_exits_2_while_another_pass_holds_the_project(
        self, project: ProjectPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from helpers import autodev

        holder = hold_lock(project, tmp_path, 30)
        try:
            assert autodev(project.root, "run", "--once") == 2
            assert f"pid {holder.pid}" in capsys.readouterr().err
        finally:
            holder.kill()
            holder.wait()


class TestKilledAfterTheCommit:
    def _attempt_committed_then_killed(self, paths: ProjectPaths) -> str:
        """What a kill -9 right after `git commit` leaves: the new bytes committed, the journal still there."""
        repo = GitRepo.open(paths.root)
        transaction = EditTransaction(paths.root, paths.journal_file)
        transaction.apply({"app.py": b"new\n", "added.py": b"x = 1\n"})
        transaction.mark_committing(repo.head_sha())
        return repo.commit_paths(["app.py", "added.py"], "autodev: change", {})

    def test_recovery_keeps_the_committed_files_and_drops_the_journal(self, project: ProjectPaths) -> None:
        sha = self._attempt_committed_then_killed(project)
        restored = recover_interrupted(project, GitRepo.open(project.root))
        assert restored == []
        assert not project.journal_file.exists()
        assert (project.root / "app.py").read_text() == "new\n" and (project.root / "added.py").exists()
        assert git(project.root, "rev-parse", "HEAD").strip() == sha
        assert [line for line in status_lines(project.root) if ".autodev" not in line] == []

    def test_a_kill_before_the_commit_landed_still_restores(self, project: ProjectPaths) -> None:
        repo = GitRepo.open(project.root)
        transaction = EditTransaction(project.root, project.journal_file)
        transaction.apply({"app.py": b"new\n"})
        transaction.mark_committing(repo.head_sha())  # killed here: git never ran
        assert recover_interrupted(project, repo) == ["app.py"]
        assert (project.root / "app.py").read_text() == "old\n"

    def test_a_file_the_user_changed_after_the_commit_is_not_taken_for_landed(self, project: ProjectPaths) -> None:
        """HEAD holds the attempt's bytes but the file on disk is the user's: recovery must not drop the journal
        silently; it restores what it safely can and reports the conflict."""
        self._attempt_committed_then_killed(project)
        (project.root / "app.py").write_text("the user's\n", encoding="utf-8")
        recover_interrupted(project, GitRepo.open(project.root))
        assert (project.root / "app.py").read_text() == "the user's\n"
