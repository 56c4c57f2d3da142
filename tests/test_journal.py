"""The attempt journal on a real filesystem: exact restores, simulated full disks, and real crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from filetree import enospc, make_project, mode_of, tree

import autodev.journal as journal_module
from autodev.errors import EditRejectedError, JournalError
from autodev.journal import EditTransaction, FileSnapshot, recover

pytestmark = pytest.mark.req("CORE-2")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".autodev" / "journal"


class TestFileSnapshot:
    def test_captures_bytes_and_mode_or_absence(self, project: Path) -> None:
        """A snapshot holds exact bytes and mode of an existing file, and only `existed=False` otherwise."""
        present = FileSnapshot.capture(project, "run.sh")
        absent = FileSnapshot.capture(project, "nope.py")
        assert present.content() == b"#!/bin/sh\necho run\n"
        assert present.mode == 0o755
        assert absent == FileSnapshot(path="nope.py", existed=False, content_b64=None, mode=None)

    def test_rejects_paths_that_climb_out(self) -> None:
        """A snapshot read from a tampered journal cannot point outside the project."""
        with pytest.raises(ValueError, match="relative path inside"):
            FileSnapshot(path="../etc/passwd", existed=False, content_b64=None, mode=None)


class TestEditTransaction:
    def test_rollback_restores_exact_bytes_and_modes_and_removes_what_it_created(
        self, project: Path, journal: Path
    ) -> None:
        """After apply then rollback the tree is byte-for-byte and mode-for-mode what it was."""
        before = tree(project)
        transaction = EditTransaction(project, journal)
        transaction.apply(
            {
                "src/app.py": b"new app",
                "run.sh": b"#!/bin/sh\necho changed\n",
                "data.bin": b"\x00",
                "new/deep/dir/mod.py": b"created",
                "src/extra.py": b"created too",
            }
        )
        assert (project / "new" / "deep" / "dir" / "mod.py").read_bytes() == b"created"

        restored = transaction.rollback()

        assert sorted(restored) == sorted(["src/app.py", "run.sh", "data.bin", "new/deep/dir/mod.py", "src/extra.py"])
        assert not journal.exists()
        after = tree(project)
        after.pop(".autodev")  # the state directory itself stays
        assert after == before

    def test_a_lost_executable_bit_comes_back_even_when_the_bytes_are_unchanged(
        self, project: Path, journal: Path
    ) -> None:
        """A file whose bytes are already original but whose mode changed still gets its mode back."""
        transaction = EditTransaction(project, journal)
        transaction.apply({"run.sh": b"#!/bin/sh\necho run\n"})
        (project / "run.sh").chmod(0o644)
        transaction.rollback()
        assert mode_of(project / "run.sh") == 0o755
        assert (project / "run.sh").read_bytes() == b"#!/bin/sh\necho run\n"

    def test_the_journal_is_durable_before_any_file_is_touched(
        self, project: Path, journal: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """At every project write, the journal already holds that file's original bytes."""
        real_atomic_write = journal_module.atomic_write
        seen: list[tuple[str, bool]] = []

        def checking_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
            if path != journal:
                recorded = json.loads(journal.read_bytes())
                rel = path.relative_to(project).as_posix()
                snapshot = next(s for s in recorded["snapshots"] if s["path"] == rel)
                seen.append((rel, FileSnapshot(**snapshot).content() == _original(rel)))
            real_atomic_write(path, data, mode=mode)

        originals = {"src/app.py": (project / "src" / "app.py").read_bytes(), "fresh.py": None}

        def _original(rel: str) -> bytes | None:
            return originals[rel]

        monkeypatch.setattr(journal_module, "atomic_write", checking_write)
        EditTransaction(project, journal).apply({"src/app.py": b"x", "fresh.py": b"y"})
        assert seen == [("src/app.py", True), ("fresh.py", True)]
        recorded = json.loads(journal.read_bytes())
        assert recorded["schema_version"] == 1
        assert mode_of(journal) == 0o600

    def test_a_failed_write_midway_rolls_back_what_was_written(
        self, project: Path, journal: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the second file's write fails, the first file is restored, the error re-raised, no journal."""
        before = tree(project)
        real_atomic_write = journal_module.atomic_write

        def fail_on_data(path: Path, data: bytes, *, mode: int | None = None) -> None:
            if path.name == "data.bin" and data == b"new data":
                enospc()
            real_atomic_write(path, data, mode=mode)

        monkeypatch.setattr(journal_module, "atomic_write", fail_on_data)
        transaction = EditTransaction(project, journal)
        with pytest.raises(OSError, match="No space"):
            transaction.apply({"src/app.py": b"new app", "new/x.py": b"x", "data.bin": b"new data"})
        assert not journal.exists()
        after = tree(project)
        after.pop(".autodev")
        assert after == before

    def test_a_full_disk_while_writing_the_journal_touches_nothing(
        self, project: Path, journal: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the journal cannot be made durable, no project file is written at all."""
        before = tree(project)
        monkeypatch.setattr(os, "fsync", enospc)
        with pytest.raises(OSError, match="No space"):
            EditTransaction(project, journal).apply({"src/app.py": b"x", "brand/new.py": b"y"})
        monkeypatch.undo()
        assert not journal.exists()
        after = tree(project)
        after.pop(".autodev")
        assert after == before

    def test_a_second_apply_extends_the_journal_and_rollback_returns_originals(
        self, project: Path, journal: Path
    ) -> None:
        """Files added by a later apply are covered, and a file written twice returns to its first bytes."""
        before = tree(project)
        transaction = EditTransaction(project, journal)
        transaction.apply({"src/app.py": b"first"})
        transaction.apply({"src/app.py": b"second", "more.py": b"more"})
        assert transaction.touched == ["src/app.py", "more.py"]
        assert {s["path"] for s in json.loads(journal.read_bytes())["snapshots"]} == {"src/app.py", "more.py"}
        transaction.rollback()
        after = tree(project)
        after.pop(".autodev")
        assert after == before

    def test_finish_keeps_the_changes_and_drops_the_journal(self, project: Path, journal: Path) -> None:
        """finish leaves the new bytes in place and removes the journal."""
        transaction = EditTransaction(project, journal)
        transaction.apply({"src/app.py": b"kept", "pkg/new.py": b"new"})
        transaction.finish()
        assert (project / "src" / "app.py").read_bytes() == b"kept"
        assert (project / "pkg" / "new.py").read_bytes() == b"new"
        assert not journal.exists()

    @pytest.mark.parametrize("bad", ["../outside.py", "/etc/passwd", "", "src", "link.py", "via/x.py"])
    def test_unsafe_targets_are_rejected_before_anything_is_written(
        self, project: Path, journal: Path, tmp_path: Path, bad: str
    ) -> None:
        """Paths out of the project, directories and symbolic links are refused with no journal written."""
        (tmp_path / "elsewhere").mkdir()
        (project / "link.py").symlink_to(project / "run.sh")
        (project / "via").symlink_to(tmp_path / "elsewhere")
        before = tree(project)
        with pytest.raises(EditRejectedError):
            EditTransaction(project, journal).apply({"src/app.py": b"x", bad: b"y"})
        assert tree(project) == before
        assert not journal.exists()

    def test_refuses_to_start_over_an_unrecovered_journal(self, project: Path, journal: Path) -> None:
        """A journal left by a crash holds originals; a new transaction must not overwrite it."""
        journal.parent.mkdir()
        journal.write_bytes(b"left by a crash")
        with pytest.raises(JournalError, match="recover"):
            EditTransaction(project, journal).apply({"src/app.py": b"x"})
        assert journal.read_bytes() == b"left by a crash"
        assert (project / "src" / "app.py").read_bytes() == b"print('hello')\r\n# trailing no newline"

    def test_rollback_never_overwrites_a_file_someone_changed_after_autodev(self, project: Path, journal: Path) -> None:
        """A user's edit made during the attempt survives rollback; the original is kept in the journal."""
        transaction = EditTransaction(project, journal)
        transaction.apply({"src/app.py": b"autodev's", "run.sh": b"autodev's too"})
        (project / "src" / "app.py").write_bytes(b"the user's edit")

        restored = transaction.rollback()

        assert restored == ["run.sh"]
        assert transaction.conflicts == ["src/app.py"]
        assert (project / "src" / "app.py").read_bytes() == b"the user's edit"
        preserved = transaction.preserved_journal
        assert preserved is not None
        assert preserved.name.startswith("journal.conflict-")
        kept = json.loads(preserved.read_bytes())["snapshots"]
        assert FileSnapshot(**kept[0]).content() == b"print('hello')\r\n# trailing no newline"


CRASHING_CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from autodev.journal import EditTransaction
    root, journal = Path(sys.argv[1]), Path(sys.argv[2])
    EditTransaction(root, journal).apply({"src/app.py": b"half-done", "gen/new.py": b"generated"})
    os._exit(9)
    """
)


class TestEditTransactionRemove:
    def test_removed_files_come_back_on_rollback_with_their_bytes_and_modes(self, project: Path, journal: Path) -> None:
        """Deleting is journaled like writing: a rollback writes each removed file back exactly."""
        before = tree(project)
        transaction = EditTransaction(project, journal)
        transaction.apply({"src/app.py": b"changed"})
        transaction.remove(["run.sh", "data.bin", "never-there.py"])
        assert not (project / "run.sh").exists() and not (project / "data.bin").exists()
        transaction.rollback()
        after = tree(project)
        after.pop(".autodev")
        assert after == before and not journal.exists()

    def test_a_crash_after_removing_is_recovered(self, project: Path, journal: Path) -> None:
        """The journal is durable before the file goes, so the next start's recovery brings it back."""
        before = tree(project)
        EditTransaction(project, journal).remove(["run.sh"])  # never finished: as if the process died
        report = recover(project, journal)
        after = tree(project)
        after.pop(".autodev")
        assert report.restored == ("run.sh",) and after == before

    def test_finish_keeps_the_removal(self, project: Path, journal: Path) -> None:
        """Kept: the file stays gone and the journal is deleted."""
        transaction = EditTransaction(project, journal)
        transaction.remove(["run.sh"])
        transaction.finish()
        assert not (project / "run.sh").exists() and not journal.exists()

    def test_a_path_outside_the_project_is_refused(self, project: Path, journal: Path) -> None:
        """The same path checks as for writing, before any journal is written."""
        with pytest.raises(EditRejectedError):
            EditTransaction(project, journal).remove(["../outside.py"])
        assert not journal.exists()


class TestRecover:
    def crash_mid_attempt(self, project: Path, journal: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-c", CRASHING_CHILD, str(project), str(journal)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 9, done.stderr.decode()
        assert (project / "src" / "app.py").read_bytes() == b"half-done"

    def test_a_killed_attempt_is_rolled_back_on_the_next_start(self, project: Path, journal: Path) -> None:
        """A process killed after applying leaves a journal; recover restores the original bytes."""
        before = tree(project)
        self.crash_mid_attempt(project, journal)
        stale_temp = project / "src" / ".app.py.0123456789ab.autodev-tmp"
        stale_temp.write_bytes(b"partial write of a killed process")

        report = recover(project, journal)

        assert sorted(report.restored) == ["gen/new.py", "src/app.py"]
        assert report.clean
        assert not journal.exists()
        after = tree(project)
        after.pop(".autodev")
        assert after == before

    def test_without_a_journal_there_is_nothing_to_do(self, project: Path, journal: Path) -> None:
        """A clean previous exit leaves no journal, and recover changes nothing."""
        before = tree(project)
        report = recover(project, journal)
        assert report.restored == ()
        assert report.clean
        assert tree(project) == before

    def test_a_restore_that_fails_keeps_the_journal_and_blocks_new_writes(
        self, project: Path, journal: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When restoring itself fails, recover reports it without raising and the journal stays for later."""
        self.crash_mid_attempt(project, journal)
        journal_bytes = journal.read_bytes()
        monkeypatch.setattr(journal_module, "atomic_write", enospc)

        report = recover(project, journal)

        monkeypatch.undo()
        assert report.problem is not None and "kept" in report.problem
        assert journal.read_bytes() == journal_bytes
        with pytest.raises(JournalError, match="recover"):
            EditTransaction(project, journal).apply({"other.py": b"x"})
        assert recover(project, journal).restored == ("src/app.py", "gen/new.py")
        assert (project / "src" / "app.py").read_bytes() == b"print('hello')\r\n# trailing no newline"

    @pytest.mark.parametrize(
        "content",
        [
            b"\x00\xffnot json",
            b'{"schema_version": 99, "root": "/", "pid": 1, "started_at": "", "snapshots": [], '
            b'"written_sha256": {}, "created_dirs": []}',
            b'{"schema_version": 1, "root": "/", "pid": 1, "started_at": "", "snapshots": '
            b'[{"path": "../outside.txt", "existed": false, "content_b64": null, "mode": null}], '
            b'"written_sha256": {}, "created_dirs": []}',
        ],
        ids=["garbage", "unknown-schema", "path-outside"],
    )
    def test_an_unreadable_journal_is_moved_aside_not_fatal(
        self, project: Path, journal: Path, tmp_path: Path, content: bytes
    ) -> None:
        """A corrupt journal becomes <journal>.corrupt-<timestamp>, bytes intact; nothing else moves."""
        (tmp_path / "outside.txt").write_bytes(b"outside")
        journal.parent.mkdir()
        journal.write_bytes(content)
        before = tree(project)
        before.pop(".autodev/journal")

        report = recover(project, journal)

        assert report.moved_aside is not None
        moved = Path(report.moved_aside)
        assert moved.parent == journal.parent
        assert moved.name.startswith("journal.corrupt-")
        assert moved.read_bytes() == content
        assert not journal.exists()
        assert report.problem is not None and "unreadable" in report.problem
        after = tree(project)
        after.pop(f".autodev/{moved.name}")
        assert after == before
        assert (tmp_path / "outside.txt").read_bytes() == b"outside"

    def test_a_file_edited_after_the_crash_is_left_alone(self, project: Path, journal: Path) -> None:
        """If the user changed a file after the crash, recover keeps their bytes and reports a conflict."""
        self.crash_mid_attempt(project, journal)
        (project / "src" / "app.py").write_bytes(b"user fixed it by hand")

        report = recover(project, journal)

        assert report.restored == ("gen/new.py",)
        assert report.conflicts == ("src/app.py",)
        assert (project / "src" / "app.py").read_bytes() == b"user fixed it by hand"
        assert not (project / "gen").exists()
        assert report.moved_aside is not None
        assert Path(report.moved_aside).name.startswith("journal.conflict-")
