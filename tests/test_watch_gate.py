"""The content gate on a real filesystem: only real content changes pass, whatever the events were."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from autodev.watch.gate import ContentGate, hash_bytes, hash_file

pytestmark = pytest.mark.req("LOOP-1")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "SPEC.md").write_bytes(b"# spec\n")
    (root / "tests" / "test_a.py").write_bytes(b"def test_a():\n    pass\n")
    return root


class TestHashFile:
    def test_large_file_is_hashed_in_full(self, tmp_path: Path) -> None:
        """A file larger than one read chunk gets the digest of all its bytes."""
        data = os.urandom(3 * (1 << 20) + 17)
        path = tmp_path / "big.bin"
        path.write_bytes(data)
        assert hash_file(path) == sha(data) == hash_bytes(data)

    def test_missing_file_and_directory_have_no_digest(self, tmp_path: Path) -> None:
        """Nothing to compare where there is no regular file: a vanished path or a directory."""
        (tmp_path / "dir").mkdir()
        assert hash_file(tmp_path / "gone") is None
        assert hash_file(tmp_path / "dir") is None
        assert hash_file(tmp_path / "file" / "below-a-file") is None

    def test_fifo_is_not_read(self, tmp_path: Path) -> None:
        """A FIFO named like a test file would block a read forever; it counts as absent instead."""
        fifo = tmp_path / "pipe.md"
        os.mkfifo(fifo)
        result: list[str | None] = []
        reader = threading.Thread(target=lambda: result.append(hash_file(fifo)))
        reader.start()
        reader.join(5)
        assert not reader.is_alive()
        assert result == [None]

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
    def test_unreadable_file_raises(self, tmp_path: Path) -> None:
        """A permission error is not "absent": the caller must know the content is unknown."""
        path = tmp_path / "secret.md"
        path.write_bytes(b"x")
        path.chmod(0)
        with pytest.raises(PermissionError):
            hash_file(path)


class TestContentGate:
    def test_identical_save_and_mtime_touch_are_not_changes(self, project: Path) -> None:
        """Rewriting the same bytes or touching the mtime leaves the content, so no change."""
        gate = ContentGate(project)
        gate.snapshot(["SPEC.md"])
        (project / "SPEC.md").write_bytes(b"# spec\n")
        os.utime(project / "SPEC.md", (1, 1))
        assert not gate.changed("SPEC.md")
        assert gate.consume(["SPEC.md"]) == set()

    def test_edit_is_a_change_once(self, project: Path) -> None:
        """An edit is reported once; consume remembers the new content as seen."""
        gate = ContentGate(project)
        gate.snapshot(["SPEC.md"])
        (project / "SPEC.md").write_bytes(b"# spec v2\n")
        assert gate.changed("SPEC.md")
        assert gate.consume(["SPEC.md"]) == {"SPEC.md"}
        assert gate.digest_of("SPEC.md") == sha(b"# spec v2\n")
        assert not gate.changed("SPEC.md")
        assert gate.consume(["SPEC.md"]) == set()

    def test_deleting_a_remembered_file_is_a_change(self, project: Path) -> None:
        """A deleted spec or test file matters: the pass must see that it is gone."""
        gate = ContentGate(project)
        gate.snapshot(["tests/test_a.py"])
        (project / "tests" / "test_a.py").unlink()
        assert gate.consume(["tests/test_a.py"]) == {"tests/test_a.py"}
        assert gate.digest_of("tests/test_a.py") is None
        assert gate.consume(["tests/test_a.py"]) == set()

    def test_file_that_came_and_went_is_not_a_change(self, project: Path) -> None:
        """An editor's temporary file created and removed before the burst ends leaves nothing to do."""
        gate = ContentGate(project)
        assert gate.consume(["tests/tmp_probe.py"]) == set()

    def test_new_file_is_a_change(self, project: Path) -> None:
        """A file the gate never saw, now present, is new content."""
        gate = ContentGate(project)
        (project / "tests" / "test_b.py").write_bytes(b"def test_b(): pass\n")
        assert gate.consume(["tests/test_b.py"]) == {"tests/test_b.py"}

    def test_own_write_is_not_a_change(self, project: Path) -> None:
        """Content autodev wrote and recorded does not start a pass."""
        gate = ContentGate(project)
        gate.snapshot(["SPEC.md", "tests/test_a.py"])
        new = b"def test_a():\n    assert True\n"
        (project / "tests" / "test_a.py").write_bytes(new)
        gate.record_own_write("tests/test_a.py", hash_bytes(new))
        assert gate.consume(["tests/test_a.py"]) == set()

    def test_own_delete_is_not_a_change(self, project: Path) -> None:
        """A file autodev removed (a rollback of a file it created) does not start a pass."""
        gate = ContentGate(project)
        gate.snapshot(["tests/test_a.py"])
        (project / "tests" / "test_a.py").unlink()
        gate.record_own_write("tests/test_a.py", None)
        assert gate.consume(["tests/test_a.py"]) == set()

    def test_user_restoring_old_bytes_after_own_write_is_a_change(self, project: Path) -> None:
        """After autodev's write, the user bringing back the previous bytes is an edit like any other."""
        gate = ContentGate(project)
        gate.snapshot(["tests/test_a.py"])
        original = (project / "tests" / "test_a.py").read_bytes()
        own = b"# written by autodev\n"
        (project / "tests" / "test_a.py").write_bytes(own)
        gate.record_own_write("tests/test_a.py", hash_bytes(own))
        (project / "tests" / "test_a.py").write_bytes(original)
        assert gate.consume(["tests/test_a.py"]) == {"tests/test_a.py"}

    def test_user_edit_after_own_write_is_a_change(self, project: Path) -> None:
        """Only the exact recorded bytes are autodev's; anything else is the user's edit."""
        gate = ContentGate(project)
        own = b"# written by autodev\n"
        (project / "SPEC.md").write_bytes(own)
        gate.record_own_write("SPEC.md", hash_bytes(own))
        (project / "SPEC.md").write_bytes(own + b"user line\n")
        assert gate.changed("SPEC.md")

    def test_known_lists_remembered_paths_below_a_directory(self, project: Path) -> None:
        """A directory moved away is resolved to the remembered files it held, and nothing outside it."""
        (project / "tests_extra").mkdir()
        (project / "tests_extra" / "x.py").write_bytes(b"x")
        gate = ContentGate(project)
        gate.snapshot(["SPEC.md", "tests/test_a.py", "tests_extra/x.py"])
        assert gate.known("tests") == {"tests/test_a.py"}
        assert gate.known() == {"SPEC.md", "tests/test_a.py", "tests_extra/x.py"}

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
    def test_unreadable_file_is_neither_change_nor_baseline(self, project: Path) -> None:
        """While a file cannot be read it triggers nothing, and its remembered content is kept."""
        gate = ContentGate(project)
        gate.snapshot(["SPEC.md"])
        before = gate.digest_of("SPEC.md")
        (project / "SPEC.md").write_bytes(b"changed")
        (project / "SPEC.md").chmod(0)
        assert gate.consume(["SPEC.md"]) == set()
        assert gate.digest_of("SPEC.md") == before
        (project / "SPEC.md").chmod(0o644)
        assert gate.consume(["SPEC.md"]) == {"SPEC.md"}

    def test_unreadable_file_via_read_error_is_skipped(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An I/O error while hashing (simulated: EIO at the read) counts as no change, and is retried later."""
        gate = ContentGate(project)
        gate.snapshot(["SPEC.md"])
        (project / "SPEC.md").write_bytes(b"changed")
        real_read = os.read

        def failing_read(fd: int, size: int) -> bytes:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "read", failing_read)
        assert gate.consume(["SPEC.md"]) == set()
        monkeypatch.setattr(os, "read", real_read)
        assert gate.consume(["SPEC.md"]) == {"SPEC.md"}
