"""Atomic writes on a real filesystem: exact bytes and modes, simulated full disks, short writes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from filetree import current_umask, enospc, make_project, mode_of, tree
from helpers import fresh_python, modules_loaded_by

from autodev.fileio import atomic_write, move_aside, remove_durably, remove_stale_temps

pytestmark = pytest.mark.req("CORE-2")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


class TestAtomicWrite:
    def test_replaces_content_and_keeps_the_existing_mode(self, project: Path) -> None:
        """New bytes replace the old ones; an executable stays executable."""
        script = project / "run.sh"
        atomic_write(script, b"#!/bin/sh\necho new\n")
        assert script.read_bytes() == b"#!/bin/sh\necho new\n"
        assert mode_of(script) == 0o755

    def test_an_explicit_mode_wins(self, project: Path) -> None:
        """mode= sets the file's permission bits, for new and existing files."""
        atomic_write(project / "run.sh", b"x", mode=0o600)
        atomic_write(project / "fresh.txt", b"y", mode=0o751)
        assert mode_of(project / "run.sh") == 0o600
        assert mode_of(project / "fresh.txt") == 0o751

    def test_a_new_file_gets_the_umask_default_mode(self, project: Path) -> None:
        """A new file is as readable as any file the user's tools would create, not mkstemp's 0600."""
        atomic_write(project / "new.txt", b"n")
        assert mode_of(project / "new.txt") == 0o666 & ~current_umask()

    def test_short_writes_are_completed(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """os.write may write less than asked; every byte still ends up in the file."""
        real_write = os.write

        def two_bytes_at_a_time(fd: int, data: bytes | memoryview) -> int:
            return real_write(fd, bytes(data[:2]))

        monkeypatch.setattr(os, "write", two_bytes_at_a_time)
        atomic_write(project / "data.bin", b"0123456789")
        monkeypatch.undo()
        assert (project / "data.bin").read_bytes() == b"0123456789"

    def test_enospc_on_fsync_leaves_the_original_and_no_temp_file(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full disk reported at fsync re-raises; the file keeps its bytes and no temporary file remains."""
        before = tree(project)
        monkeypatch.setattr(os, "fsync", enospc)
        with pytest.raises(OSError) as caught:
            atomic_write(project / "src" / "app.py", b"replacement" * 1000)
        monkeypatch.undo()
        assert caught.value.errno == errno.ENOSPC
        assert tree(project) == before

    def test_enospc_midway_through_writing_leaves_the_original(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full disk after a partial write re-raises, with the original intact and no temporary file."""
        before = tree(project)
        real_write = os.write
        calls: list[int] = []

        def fill_disk_after_first_chunk(fd: int, data: bytes | memoryview) -> int:
            calls.append(len(data))
            if len(calls) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, bytes(data[:4]))

        monkeypatch.setattr(os, "write", fill_disk_after_first_chunk)
        with pytest.raises(OSError, match="No space"):
            atomic_write(project / "src" / "app.py", b"replacement text")
        monkeypatch.undo()
        assert len(calls) == 2
        assert tree(project) == before


class TestMovingAndRemoving:
    def test_move_aside_keeps_the_bytes_under_a_new_name_and_never_overwrites(self, tmp_path: Path) -> None:
        """Two damaged files set aside in the same second get two names; both keep their bytes."""
        damaged = tmp_path / "ledger.json"
        damaged.write_bytes(b"first")
        first = move_aside(damaged, "corrupt")
        damaged.write_bytes(b"second")
        second = move_aside(damaged, "corrupt")
        assert first != second
        assert first.name.startswith("ledger.json.corrupt-") and second.name.startswith("ledger.json.corrupt-")
        assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")
        assert not damaged.exists()

    def test_remove_durably_accepts_a_file_that_is_already_gone(self, tmp_path: Path) -> None:
        """Removing twice is not an error: a journal may be gone after a crash between two steps."""
        path = tmp_path / "journal.json"
        path.write_bytes(b"x")
        remove_durably(path)
        remove_durably(path)
        assert not path.exists()

    def test_stale_temporary_files_of_a_killed_write_are_removed_and_nothing_else(self, project: Path) -> None:
        """Only atomic_write's own temporary names for that file go; look-alikes and other files stay."""
        target = project / "src" / "app.py"
        stale = project / "src" / ".app.py.0123456789ab.autodev-tmp"
        other_file = project / "src" / ".other.py.0123456789ab.autodev-tmp"
        not_a_token = project / "src" / ".app.py.not-hex-token.autodev-tmp"
        for path in (stale, other_file, not_a_token):
            path.write_bytes(b"partial")
        remove_stale_temps(target)
        assert not stale.exists()
        assert other_file.exists() and not_a_token.exists() and target.exists()

    def test_the_temporary_file_of_a_write_killed_before_its_rename_is_recognised(self, project: Path) -> None:
        """A process killed between writing and renaming leaves the very name remove_stale_temps removes."""
        target = project / "src" / "app.py"
        child = (
            "import os, sys\n"
            "from pathlib import Path\n"
            "from autodev.fileio import atomic_write\n"
            "os.replace = lambda *args: os._exit(9)  # killed at the rename\n"
            "atomic_write(Path(sys.argv[1]), b'never renamed')\n"
        )
        done = fresh_python(child, str(target))
        assert done.returncode == 9, done.stderr
        left = [path for path in target.parent.iterdir() if path != target]
        assert len(left) == 1 and left[0].read_bytes() == b"never renamed"
        remove_stale_temps(target)
        assert sorted(target.parent.iterdir()) == [target]
        assert target.read_bytes() == b"print('hello')\r\n# trailing no newline"


def test_a_foundation_that_imports_nothing_from_autodev() -> None:
    """Any module may write through fileio, so fileio may import no other part of autodev."""
    assert modules_loaded_by("autodev.fileio") == {"autodev", "autodev.fileio"}
