"""The watcher with a real watchdog observer on temporary projects: editors' saves, reads, own writes, faults.

No fixed sleeps: every wait is ``wait_for_change`` with a deadline. "Nothing happened" is proven with a
sentinel: after the action under test, an edit of NOTES.md must come out as a burst of exactly {NOTES.md};
events are delivered in order, so a wrongly counted earlier event would have shown up before or with it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs
from watchdog.observers.api import BaseObserver
from watchdog.observers.inotify_c import InotifyFD

from autodev.config import MonitoringConfig
from autodev.errors import WatchError
from autodev.watch import ProjectWatcher, hash_bytes
from autodev.watch.filters import PathFilter
from autodev.watch.gate import ContentGate

pytestmark = pytest.mark.req("LOOP-1")

SENTINEL = "NOTES.md"
BURST_DEADLINE_S = 5.0


def quick_monitoring(**overrides: Any) -> MonitoringConfig:
    """[monitoring] with short times, so the tests wait little."""
    return MonitoringConfig.model_validate(
        {"debounce_ms": 100, "max_wait_ms": 1000, "poll_interval_s": 0.1} | overrides
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "SPEC.md").write_bytes(b"# Spec\n\nv1\n")
    (root / SENTINEL).write_bytes(b"notes\n")
    (root / "tests" / "test_spec.py").write_bytes(b"def test_spec():\n    assert True\n")
    (root / ".gitignore").write_bytes(b"build/\n")
    return root


@pytest.fixture
def watcher(project: Path) -> Iterator[ProjectWatcher]:
    with ProjectWatcher(project, quick_monitoring()) as started:
        yield started


def next_burst(watcher: ProjectWatcher, deadline_s: float = BURST_DEADLINE_S) -> set[str]:
    """The next non-empty burst, failing the test if none comes before the deadline."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        changes = watcher.wait_for_change(0.25)
        if changes is not None:
            return changes
    pytest.fail(f"no change burst within {deadline_s} s")


def assert_nothing_else(watcher: ProjectWatcher) -> None:
    """Everything that happened before now produced no change: the next burst is only the sentinel's."""
    (watcher.root / SENTINEL).write_text(f"notes {uuid.uuid4()}\n")
    assert next_burst(watcher) == {SENTINEL}


def write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)


class RecordingGate(ContentGate):
    """The real gate, remembering which paths were handed to it: what the filter let through."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.asked: list[set[str]] = []

    def consume(self, paths: Iterable[str]) -> set[str]:
        paths = set(paths)
        self.asked.append(paths)
        return super().consume(paths)


class TestProjectWatcher:
    def test_edit_gives_one_burst_with_the_path(self, watcher: ProjectWatcher) -> None:
        """A plain save of SPEC.md comes out as {"SPEC.md"}, with the saved content remembered."""
        write(watcher.root / "SPEC.md", b"# Spec\n\nv2\n")
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.gate.digest_of("SPEC.md") == hash_bytes(b"# Spec\n\nv2\n")

    def test_hundred_saves_in_fifty_ms_give_one_burst(self, watcher: ProjectWatcher) -> None:
        """A save storm is one burst, on the last content."""
        started = time.monotonic()
        for number in range(100):
            write(watcher.root / "SPEC.md", f"# Spec\n\nsave {number}\n".encode())
        assert time.monotonic() - started < 0.5  # a storm, far inside the debounce window's reach
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.gate.digest_of("SPEC.md") == hash_bytes(b"# Spec\n\nsave 99\n")
        assert_nothing_else(watcher)

    def test_vim_style_save_gives_one_change(self, watcher: ProjectWatcher) -> None:
        """vim: probe file 4913, rename the original to a backup, write the new file, delete the backup."""
        root = watcher.root
        write(root / "4913", b"")
        (root / "4913").unlink()
        (root / "SPEC.md").rename(root / "SPEC.md~")
        write(root / "SPEC.md", b"# Spec\n\nvim\n")
        (root / "SPEC.md~").unlink()
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.gate.digest_of("SPEC.md") == hash_bytes(b"# Spec\n\nvim\n")
        assert_nothing_else(watcher)

    def test_jetbrains_safe_write_gives_one_change(self, watcher: ProjectWatcher) -> None:
        """JetBrains: write a ___jb_tmp___ file, move the original to ___jb_old___, move tmp in, delete old."""
        root = watcher.root
        write(root / "SPEC.md___jb_tmp___", b"# Spec\n\njetbrains\n")
        (root / "SPEC.md").rename(root / "SPEC.md___jb_old___")
        (root / "SPEC.md___jb_tmp___").rename(root / "SPEC.md")
        (root / "SPEC.md___jb_old___").unlink()
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.gate.digest_of("SPEC.md") == hash_bytes(b"# Spec\n\njetbrains\n")
        assert_nothing_else(watcher)

    def test_vscode_truncate_then_write_gives_one_change(self, watcher: ProjectWatcher) -> None:
        """VS Code: truncate the file in place (an empty file is visible for a moment), then write it."""
        with (watcher.root / "SPEC.md").open("r+b") as handle:
            handle.truncate(0)
            handle.flush()
            os.fsync(handle.fileno())
            handle.write(b"# Spec\n\nvscode\n")
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.gate.digest_of("SPEC.md") == hash_bytes(b"# Spec\n\nvscode\n")
        assert_nothing_else(watcher)

    def test_reads_reach_neither_the_gate_nor_a_pass(self, project: Path) -> None:
        """Opening and reading files, and a real pytest run over the tests, produce no relevant event at all."""
        recording = RecordingGate(project.resolve())
        watcher = ProjectWatcher(project, quick_monitoring(), gate=recording)
        with watcher:
            for _ in range(20):
                for rel in ("SPEC.md", "tests/test_spec.py", SENTINEL):
                    with (project / rel).open("rb") as handle:
                        handle.read()
                    (project / rel).stat()
            # Like a user's run: bytecode and cache files get written next to the tests.
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHONDONTWRITEBYTECODE"))}
            subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "tests"], cwd=project, env=env, check=True, capture_output=True
            )
            assert (project / "tests" / "__pycache__").is_dir()
            assert (project / ".pytest_cache").is_dir()
            assert_nothing_else(watcher)
        assert recording.asked == [{SENTINEL}]

    def test_mtime_only_touch_gives_none(self, watcher: ProjectWatcher) -> None:
        """Changing only the timestamps (utime, or open-for-append-and-close like `touch`) is no change."""
        os.utime(watcher.root / "SPEC.md", (1_000_000, 1_000_000))
        (watcher.root / "tests" / "test_spec.py").open("ab").close()
        assert_nothing_else(watcher)

    def test_identical_save_gives_none(self, watcher: ProjectWatcher) -> None:
        """An editor saving the same bytes produces events but no change."""
        write(watcher.root / "SPEC.md", (watcher.root / "SPEC.md").read_bytes())
        assert_nothing_else(watcher)

    def test_own_writes_give_none(self, watcher: ProjectWatcher) -> None:
        """Files autodev writes, restores or deletes, recorded in the gate, never start a pass."""
        new_test = b"def test_spec():\n    assert 1 + 1 == 2\n"
        write(watcher.root / "tests" / "test_spec.py", new_test)
        watcher.gate.record_own_write("tests/test_spec.py", hash_bytes(new_test))
        generated = b"def test_generated():\n    pass\n"
        write(watcher.root / "tests" / "test_generated.py", generated)
        watcher.gate.record_own_write("tests/test_generated.py", hash_bytes(generated))
        (watcher.root / "tests" / "test_generated.py").unlink()
        watcher.gate.record_own_write("tests/test_generated.py", None)
        assert_nothing_else(watcher)

    def test_ignored_locations_give_none(self, watcher: ProjectWatcher) -> None:
        """Writes under .git, .autodev, a virtualenv, __pycache__, gitignored and swap files are never seen."""
        root = watcher.root
        for rel in [
            ".git/notes.md",
            ".autodev/logs/pass.md",
            ".venv/lib/README.md",
            "tests/__pycache__/test_spec.cpython-311.pyc",
            "tests/.pytest_cache/README.md",
            "build/report.md",
            ".SPEC.md.swp",
            "tests/.test_spec.py.swx",
            "SPEC.md~",
        ]:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path, b"noise\n")
        assert_nothing_else(watcher)

    def test_new_gitignore_rule_applies_without_restart(self, watcher: ProjectWatcher) -> None:
        """Editing .gitignore reloads the ignore rules: a newly ignored directory stops triggering."""
        write(watcher.root / ".gitignore", b"build/\ndrafts/\n")
        assert_nothing_else(watcher)
        (watcher.root / "drafts").mkdir()
        write(watcher.root / "drafts" / "idea.md", b"idea\n")
        assert_nothing_else(watcher)

    def test_config_edit_is_reported(self, watcher: ProjectWatcher) -> None:
        """autodev.toml is always relevant, so the loop can reload it."""
        write(watcher.root / "autodev.toml", b"[monitoring]\ndebounce_ms = 100\n")
        assert next_burst(watcher) == {"autodev.toml"}

    def test_directory_moved_out_reports_its_files(self, watcher: ProjectWatcher, tmp_path: Path) -> None:
        """Moving tests/ out of the project (one event for the directory) reports the test files it took."""
        (watcher.root / "tests").rename(tmp_path / "tests-elsewhere")
        assert next_burst(watcher) == {"tests/test_spec.py"}

    def test_directory_moved_in_reports_its_files(self, watcher: ProjectWatcher, tmp_path: Path) -> None:
        """A directory of tests moved in from outside reports each relevant file in it."""
        outside = tmp_path / "incoming"
        (outside / "deep").mkdir(parents=True)
        (outside / "deep" / "test_deep.py").write_bytes(b"def test_deep(): pass\n")
        outside.rename(watcher.root / "tests" / "incoming")
        assert next_burst(watcher) == {"tests/incoming/deep/test_deep.py"}

    def test_file_in_a_new_directory_tree_is_seen_without_rebuild(self, watcher: ProjectWatcher) -> None:
        """Trees made at once (`mkdir -p`) get watched as they appear: a file at the bottom is seen at once."""
        observer = watcher.supervisor.observer
        for number in range(50):
            (watcher.root / "tests" / f"pkg{number}" / "a" / "b" / "c").mkdir(parents=True)
        write(watcher.root / "tests" / "pkg49" / "a" / "b" / "c" / "test_deep.py", b"def test_deep(): pass\n")
        assert next_burst(watcher) == {"tests/pkg49/a/b/c/test_deep.py"}
        assert watcher.supervisor.observer is observer

    def test_watchdog_duplicate_watch_warning_is_silenced(self, watcher: ProjectWatcher) -> None:
        """watchdog's reader warns about a duplicate watch when a tree appears faster than it reads events;
        under warnings-as-errors (as in this suite) that killed its thread. After start() that one warning
        is ignored, and other warnings from watchdog still are not."""
        duplicate = "Callback with id '1' already exists for watch <Watch>. It will be Overwritten."
        warnings.warn_explicit(duplicate, RuntimeWarning, "inotify.py", 1, module="watchdog.observers.inotify")
        with pytest.raises(RuntimeWarning, match="something else"):
            warnings.warn_explicit(
                "something else", RuntimeWarning, "inotify.py", 2, module="watchdog.observers.inotify"
            )

    def test_reconfigure_applies_new_patterns(self, watcher: ProjectWatcher) -> None:
        """A reloaded config with a new pattern makes those files relevant, without counting them as changed."""
        (watcher.root / "src").mkdir()
        write(watcher.root / "src" / "model.md.txt", b"v1\n")
        watcher.reconfigure(quick_monitoring(watch_patterns=["*.md", "tests/**", "src/**"]))
        assert_nothing_else(watcher)
        write(watcher.root / "src" / "model.md.txt", b"v2\n")
        assert next_burst(watcher) == {"src/model.md.txt"}

    def test_edits_made_while_not_waiting_come_out_as_one_burst(self, watcher: ProjectWatcher) -> None:
        """Edits during a pass (nobody waiting) are all kept and come out together in one follow-up burst."""
        write(watcher.root / "SPEC.md", b"# Spec\n\nduring pass 1\n")
        write(watcher.root / "tests" / "test_spec.py", b"def test_spec():\n    assert False\n")
        write(watcher.root / "SPEC.md", b"# Spec\n\nduring pass 2\n")
        assert next_burst(watcher) == {"SPEC.md", "tests/test_spec.py"}
        assert watcher.gate.digest_of("SPEC.md") == hash_bytes(b"# Spec\n\nduring pass 2\n")


class TestProjectWatcherFaults:
    def test_failing_handler_does_not_stop_the_watch(self, project: Path) -> None:
        """Even a handler that fails on every event (here: its clock) keeps the observer alive, and the
        edits are still found, by the reconcile that a failed event schedules."""
        failures = threading.Event()

        def clock_failing_off_main_thread() -> float:
            if threading.current_thread() is not threading.main_thread():
                failures.set()
                raise RuntimeError("simulated handler failure")
            return time.monotonic()

        with ProjectWatcher(project, quick_monitoring(), clock=clock_failing_off_main_thread) as watcher:
            write(project / "SPEC.md", b"# Spec\n\nfirst\n")
            assert next_burst(watcher) == {"SPEC.md"}
            assert failures.is_set()
            write(project / "SPEC.md", b"# Spec\n\nsecond\n")
            assert next_burst(watcher) == {"SPEC.md"}
            assert watcher.supervisor.healthy()

    def test_filter_failure_once_loses_no_edit(self, watcher: ProjectWatcher, monkeypatch: pytest.MonkeyPatch) -> None:
        """A filter that raises on one event: logged, the edit is still found, later edits work as before."""
        real = PathFilter.is_relevant
        calls = {"failed": False}

        def failing_once(self: PathFilter, rel: str) -> bool:
            if not calls["failed"]:
                calls["failed"] = True
                raise RuntimeError("simulated filter failure")
            return real(self, rel)

        monkeypatch.setattr(PathFilter, "is_relevant", failing_once)
        with capture_logs() as logs:
            write(watcher.root / "SPEC.md", b"# Spec\n\nafter failure\n")
            assert next_burst(watcher) == {"SPEC.md"}
        assert calls["failed"]
        assert any(entry["event"] == "watch_event_failed" for entry in logs)
        write(watcher.root / "SPEC.md", b"# Spec\n\nlater\n")
        assert next_burst(watcher) == {"SPEC.md"}

    def test_gate_failure_once_reports_the_paths_anyway(
        self, watcher: ProjectWatcher, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the gate raises, the burst's paths come out as changed: an extra pass, never a lost edit."""
        real_consume = watcher.gate.consume
        calls = {"failed": False}

        def failing_once(paths: Iterable[str]) -> set[str]:
            if not calls["failed"]:
                calls["failed"] = True
                raise RuntimeError("simulated gate failure")
            return real_consume(paths)

        monkeypatch.setattr(watcher.gate, "consume", failing_once)
        write(watcher.root / "SPEC.md", b"# Spec\n\ngate failure\n")
        assert next_burst(watcher) == {"SPEC.md"}
        assert calls["failed"]
        write(watcher.root / "SPEC.md", b"# Spec\n\nafter gate failure\n")
        assert next_burst(watcher) == {"SPEC.md"}

    @pytest.mark.parametrize("victim", ["observer", "emitter", "inotify reader"])
    def test_dead_thread_is_detected_rebuilt_and_reconciled(self, watcher: ProjectWatcher, victim: str) -> None:
        """A stopped observer, emitter or inotify reader thread makes healthy() false; ensure_alive()
        rebuilds the observer, and the edit made while nothing was watching is found by the reconcile."""
        observer = watcher.supervisor.observer
        assert observer is not None and watcher.supervisor.healthy()
        if victim == "observer":
            observer.stop()
            observer.join(5)
        elif victim == "emitter":
            emitter = next(iter(observer.emitters))
            emitter.stop()
            emitter.join(5)
        else:
            reader = observer._inotify_fd  # type: ignore[attr-defined]  # watchdog's inotify reading thread
            reader.stop()
            reader.join(5)
        assert not watcher.supervisor.healthy()
        write(watcher.root / "SPEC.md", b"# Spec\n\nwritten while blind\n")
        assert watcher.supervisor.ensure_alive() is True
        assert watcher.supervisor.healthy()
        assert watcher.supervisor.observer is not observer
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.supervisor.ensure_alive() is False
        write(watcher.root / "SPEC.md", b"# Spec\n\nwatched again\n")
        assert next_burst(watcher) == {"SPEC.md"}

    def test_waiting_heals_a_dead_observer_by_itself(self, watcher: ProjectWatcher) -> None:
        """wait_for_change checks health once a second, so a loop that only waits still recovers."""
        observer = watcher.supervisor.observer
        assert observer is not None
        observer.stop()
        observer.join(5)
        write(watcher.root / "SPEC.md", b"# Spec\n\nwritten while blind\n")
        assert next_burst(watcher) == {"SPEC.md"}
        assert watcher.supervisor.healthy()

    @pytest.mark.parametrize(
        ("code", "sysctl"),
        [(errno.ENOSPC, "fs.inotify.max_user_watches"), (errno.EMFILE, "fs.inotify.max_user_instances")],
    )
    def test_inotify_limit_falls_back_to_polling(self, project: Path, code: int, sysctl: str) -> None:
        """Out of inotify watches or instances: a warning that names the sysctl, then polling that works."""

        def limited_observer() -> BaseObserver:
            raise OSError(code, os.strerror(code))

        with capture_logs() as logs:
            watcher = ProjectWatcher(project, quick_monitoring(), observer_factory=limited_observer)
            watcher.start()
        try:
            assert watcher.supervisor.using_polling
            assert watcher.supervisor.healthy()
            warnings = [entry for entry in logs if entry["event"] == "watch_inotify_limit"]
            assert len(warnings) == 1
            assert warnings[0]["log_level"] == "warning"
            assert warnings[0]["sysctl"] == sysctl
            assert sysctl in warnings[0]["hint"]
            write(project / "SPEC.md", b"# Spec\n\npolled\n")
            assert next_burst(watcher) == {"SPEC.md"}
            (project / ".venv").mkdir()
            write(project / ".venv" / "README.md", b"noise\n")
            assert_nothing_else(watcher)
        finally:
            watcher.stop()

    def test_partial_inotify_watch_falls_back_to_polling(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """watchdog skips subdirectories it cannot watch; running out of watches there also means polling."""
        (project / "tests" / "unit").mkdir()
        real_add = InotifyFD.add_callback
        unit = os.fsencode(project / "tests" / "unit")

        def add_callback_enospc(self: InotifyFD, path: bytes, *args: object, **kwargs: object) -> object:
            if path == unit:
                raise OSError(errno.ENOSPC, "inotify watch limit reached")
            return real_add(self, path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(InotifyFD, "add_callback", add_callback_enospc)
        with ProjectWatcher(project, quick_monitoring()) as watcher:
            assert watcher.supervisor.using_polling
            write(project / "tests" / "unit" / "test_unit.py", b"def test_unit(): pass\n")
            assert next_burst(watcher) == {"tests/unit/test_unit.py"}

    def test_unwatchable_root_is_an_error(self, tmp_path: Path) -> None:
        """A root that does not exist is not a limit to work around but an error for the loop to report."""
        watcher = ProjectWatcher(tmp_path / "missing", quick_monitoring())
        with pytest.raises(WatchError, match="cannot watch"):
            watcher.start()
        assert watcher.supervisor.observer is None

    def test_other_observer_errors_are_not_hidden_by_polling(self, project: Path) -> None:
        """Only the inotify limits fall back to polling; any other OSError is raised as a WatchError."""

        def broken_observer() -> BaseObserver:
            raise OSError(errno.EACCES, "permission denied")

        watcher = ProjectWatcher(project, quick_monitoring(), observer_factory=broken_observer)
        with pytest.raises(WatchError, match="permission denied"):
            watcher.start()
        assert not watcher.supervisor.using_polling

    def test_stop_ends_the_observer_threads(self, project: Path) -> None:
        """After stop() no watchdog thread of this watcher is left running, and stop() may be repeated."""
        watcher = ProjectWatcher(project, quick_monitoring())
        watcher.start()
        observer = watcher.supervisor.observer
        assert observer is not None
        threads: list[threading.Thread] = [observer, *observer.emitters]
        watcher.stop()
        watcher.stop()
        assert not any(thread.is_alive() for thread in threads)
        assert not watcher.supervisor.healthy()
