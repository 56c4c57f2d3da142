"""Ctrl-C during a rollback waits until every file is back, and is then delivered (or dropped if a stop is on)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from autodev import journal
from autodev.interrupts import deferred_interrupts
from autodev.journal import EditTransaction

pytestmark = pytest.mark.req("CORE-2")


def interrupt_self() -> None:
    os.kill(os.getpid(), signal.SIGINT)


class TestDeferredInterrupts:
    def test_a_sigint_inside_is_raised_when_the_block_ends(self) -> None:
        """The block runs to its end; the KeyboardInterrupt comes after it."""
        finished = []
        with pytest.raises(KeyboardInterrupt), deferred_interrupts():
            interrupt_self()
            finished.append(True)
        assert finished == [True]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def test_a_sigint_during_the_stop_it_cleans_up_after_is_dropped(self) -> None:
        """Inside an except block (the rollback after a first Ctrl-C) a second one is not raised over the first."""
        with pytest.raises(KeyboardInterrupt, match="first"):
            try:
                raise KeyboardInterrupt("first")
            except KeyboardInterrupt:
                with deferred_interrupts():
                    interrupt_self()
                raise


class TestRollbackUnderCtrlC:
    def test_every_file_is_restored_although_sigint_came_after_the_first(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SIGINT while the first of three files is restored: all three get their bytes back, then Ctrl-C counts."""
        root = tmp_path / "project"
        root.mkdir()
        originals = {f"f{index}.txt": f"original {index}\r\n".encode() for index in range(3)}
        for name, data in originals.items():
            (root / name).write_bytes(data)
        transaction = EditTransaction(root, root / ".autodev" / "journal.json")
        transaction.apply({name: b"changed" for name in originals})
        restore_one = journal._restore_one

        def interrupted_restore(root: Path, snapshot: journal.FileSnapshot, written: tuple[str, ...]) -> bool:
            if not interrupted:
                interrupted.append(True)
                interrupt_self()
            return restore_one(root, snapshot, written)

        interrupted: list[bool] = []
        monkeypatch.setattr(journal, "_restore_one", interrupted_restore)
        with pytest.raises(KeyboardInterrupt):
            transaction.rollback()
        assert interrupted == [True]
        assert {name: (root / name).read_bytes() for name in originals} == originals
        assert not (root / ".autodev" / "journal.json").exists()
