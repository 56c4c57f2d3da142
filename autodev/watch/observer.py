"""Turns the project's file-system events into "these relevant files changed", and keeps the watch alive.

Three threads meet here. watchdog's emitter and dispatcher threads call the handler, which only puts the
event's path and time on a queue (inside try/except: an exception there would kill watchdog's thread and
end the watch silently). The loop thread calls :meth:`ProjectWatcher.wait_for_change`, which drains the
queue, drops irrelevant paths (:class:`~autodev.watch.filters.PathFilter`), waits for the burst to end
(:class:`~autodev.watch.debounce.Debouncer`) and keeps only real content changes
(:class:`~autodev.watch.gate.ContentGate`). Everything but the handler runs on the loop thread.

Only created, modified, moved, deleted and closed-after-write events are subscribed to, through watchdog's
``event_filter`` (so inotify is not even asked for opens and read-only closes: pytest reading the tests
cannot start a pass). Whatever might have lost events (a dead observer rebuilt, a handler failure, a
switch to polling) is followed by a reconcile: every relevant file is hashed against the gate.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from structlog.typing import FilteringBoundLogger
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from autodev.config import MonitoringConfig
from autodev.errors import WatchError
from autodev.logs import get_logger
from autodev.watch.debounce import Debouncer
from autodev.watch.filters import GIT_INFO_EXCLUDE, GITIGNORE_NAME, PathFilter
from autodev.watch.gate import ContentGate

# Directory events matter only where watchdog reports a whole tree at once (moved out, deleted, moved in).
WATCHED_EVENT_TYPES: tuple[type[FileSystemEvent], ...] = (
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
)

HEALTH_CHECK_INTERVAL_S = 1.0
STOP_TIMEOUT_S = 5.0

# Which kernel limit an inotify error means, the sysctl that raises it, and how.
_LIMIT_SYSCTLS = {
    errno.ENOSPC: "fs.inotify.max_user_watches",
    errno.EMFILE: "fs.inotify.max_user_instances",
}
_LIMIT_HINTS = {
    errno.ENOSPC: "raise it (e.g. `sudo sysctl fs.inotify.max_user_watches=524288`) and restart the loop",
    errno.EMFILE: (
        "raise it (e.g. `sudo sysctl fs.inotify.max_user_instances=1024`), or the open-files limit "
        "(`ulimit -n`) if that is what ran out, and restart the loop"
    ),
}


def _log() -> FilteringBoundLogger:
    """Looked up at each use, so that logging configured after import (by the CLI, by tests) applies."""
    return get_logger(component="watch")


ObserverFactory = Callable[[], BaseObserver]


class RawEvent(NamedTuple):
    """What the handler keeps of a watchdog event: enough to filter it later, on the loop thread."""

    path: str
    is_directory: bool
    at: float


# Queued only to wake the loop thread; its empty path belongs to no project, so it is dropped.
_WAKE_UP = RawEvent("", is_directory=False, at=0.0)


class _EnqueueHandler(FileSystemEventHandler):
    """The only code that runs on watchdog's thread; it must never raise."""

    def __init__(self, enqueue: Callable[[FileSystemEvent], None], on_failure: Callable[[], None]) -> None:
        super().__init__()
        self._enqueue = enqueue
        self._on_failure = on_failure

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._enqueue(event)
        except Exception:
            self._on_failure()


class ProjectWatcher:
    """Watches one project root and reports bursts of relevant content changes.

    Life cycle: :meth:`start` (watch up, baseline taken: the loop runs its first pass after it), then
    :meth:`wait_for_change` in a loop, then :meth:`stop`. Not thread-safe apart from the handler: call
    everything from the loop thread. Own writes go to :attr:`gate` (``gate.record_own_write``).
    """

    def __init__(
        self,
        root: Path,
        monitoring: MonitoringConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        observer_factory: ObserverFactory = Observer,
    ) -> None:
        """``clock`` must be monotonic seconds (it also times the waits); ``observer_factory`` makes the
        native observer (injectable to simulate inotify limits); the polling fallback is built here.
        """
        self.root = Path(root).resolve()
        self._root_str = str(self.root)
        self._clock = clock
        self._observer_factory = observer_factory
        self.gate = ContentGate(self.root)
        self._events: queue.SimpleQueue[RawEvent] = queue.SimpleQueue()
        self._lost_events = threading.Event()
        self._observer: BaseObserver | None = None
        self._polling = False
        self._pending: set[str] = set()
        self._next_health_check = 0.0
        self._apply_settings(monitoring)
        self._filter = PathFilter(self.root, self._watch_patterns)
        self._debouncer = Debouncer(self._debounce_s, self._max_wait_s, clock)

    # ------------------------------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start watching and take the baseline; returns once events are being collected.

        Raises WatchError when the root cannot be watched at all; inotify limits fall back to polling.
        """
        if self._observer is not None:
            return
        _ignore_watchdog_duplicate_watch_warning()
        self._filter = PathFilter.load(self.root, self._watch_patterns)
        self._observer = self._start_observer()
        self.gate.snapshot(self._filter.walk_relevant())
        self._next_health_check = self._clock() + HEALTH_CHECK_INTERVAL_S
        _log().info("watch_started", root=self._root_str, polling=self._polling)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the observer and its threads (waiting up to ``timeout_s``); safe to call twice."""
        observer, self._observer = self._observer, None
        if observer is not None:
            _discard(observer, timeout_s)
            _log().info("watch_stopped", root=self._root_str)

    def __enter__(self) -> ProjectWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.stop()

    def reconfigure(self, monitoring: MonitoringConfig) -> None:
        """Apply a reloaded ``[monitoring]`` section without restarting the observer.

        Files that become relevant are taken as seen now (their first change starts a pass, their mere
        existence does not); a burst in progress is kept.
        """
        self._apply_settings(monitoring)
        self._filter = PathFilter.load(self.root, self._watch_patterns)
        had_burst = self._debouncer.pending
        self._debouncer = Debouncer(self._debounce_s, self._max_wait_s, self._clock)
        if had_burst:
            self._debouncer.touch()
        known = self.gate.known()
        self.gate.snapshot(rel for rel in self._filter.walk_relevant() if rel not in known)
        _log().info("watch_reconfigured", patterns=list(self._watch_patterns), debounce_s=self._debounce_s)

    # ------------------------------------------------------------------------------------------ properties

    @property
    def observer(self) -> BaseObserver | None:
        """The watchdog observer in use (None before start and after stop)."""
        return self._observer

    @property
    def using_polling(self) -> bool:
        """True once inotify limits forced the polling observer (kept until the loop restarts)."""
        return self._polling

    @property
    def path_filter(self) -> PathFilter:
        return self._filter

    # ------------------------------------------------------------------------------------------- waiting

    def wait_for_change(self, timeout_s: float) -> set[str] | None:
        """Block until a burst of events is over and some relevant file's content changed; None on timeout.

        Returns rel posix paths (``autodev.toml`` among them means "reload the configuration"); the gate
        now remembers their content as seen by the pass that follows. Events that arrived while the caller
        was busy (during a pass) are all here: they make at most one burst, due as soon as it is collected
        if the last of them is older than the debounce. Checks the observer's health once a second.
        """
        if self._observer is None:
            raise RuntimeError("ProjectWatcher.wait_for_change() called before start()")
        deadline = self._clock() + timeout_s
        while True:
            now = self._clock()
            if now >= self._next_health_check:
                self._next_health_check = now + HEALTH_CHECK_INTERVAL_S
                self.ensure_alive()
            if self._lost_events.is_set():
                self._lost_events.clear()
                _log().warning("watch_events_lost", action="reconcile")
                self.reconcile()
            if self._debouncer.due(now):
                changes = self._settle()
                if changes:
                    return changes
                continue
            if now >= deadline:
                return None
            self._collect(self._wait_budget(now, deadline))

    def reconcile(self) -> None:
        """Queue every relevant file, and every remembered one, for a content check in the next burst.

        After events may have been missed, hashing is the only way to know what changed; the gate keeps
        it cheap in effect (only files whose bytes differ come out).
        """
        candidates = set(self._filter.walk_relevant()) | self.gate.known()
        if candidates:
            self._pending |= candidates
            self._debouncer.touch()

    # -------------------------------------------------------------------------------------------- health

    def healthy(self) -> bool:
        """The observer thread and all its emitter threads (and inotify's reader) are alive."""
        observer = self._observer
        if observer is None or not observer.is_alive():
            return False
        emitters = list(observer.emitters)
        if not emitters or not all(emitter.is_alive() for emitter in emitters):
            return False
        reader = getattr(observer, "_inotify_fd", None)  # watchdog's inotify reader thread, where it has one
        return not (isinstance(reader, threading.Thread) and not reader.is_alive())

    def ensure_alive(self) -> bool:
        """Rebuild a dead observer and reconcile; True when a rebuild happened.

        Raises WatchError when the watch cannot be set up again (the root is gone).
        """
        if self._observer is None or self.healthy():
            return False
        _log().warning("watch_observer_dead", action="rebuild", polling=self._polling)
        _discard(self._observer, STOP_TIMEOUT_S)
        self._observer = None
        self._observer = self._start_observer()
        self.reconcile()
        return True

    # ---------------------------------------------------------------------------------- handler (watchdog)

    def _enqueue(self, event: FileSystemEvent) -> None:
        """Runs on watchdog's thread: record and return, nothing that could block or be slow."""
        if not isinstance(event, WATCHED_EVENT_TYPES):
            return
        at = self._clock()
        self._events.put(RawEvent(os.fsdecode(event.src_path), event.is_directory, at))
        if event.dest_path:
            self._events.put(RawEvent(os.fsdecode(event.dest_path), event.is_directory, at))

    def _note_lost_event(self) -> None:
        self._lost_events.set()
        with contextlib.suppress(Exception):
            self._events.put(_WAKE_UP)  # so the loop reconciles now, not at its next timeout
        with contextlib.suppress(Exception):
            _log().exception("watch_handler_failed", action="reconcile")

    # ---------------------------------------------------------------------------------- consumer (loop)

    def _wait_budget(self, now: float, deadline: float) -> float:
        waits = [deadline - now, self._next_health_check - now]
        until_due = self._debouncer.time_until_due(now)
        if until_due is not None:
            waits.append(until_due)
        return max(0.0, min(waits))

    def _collect(self, wait_s: float) -> None:
        """Wait up to ``wait_s`` for events, then take in everything queued."""
        try:
            first = self._events.get(timeout=wait_s) if wait_s > 0 else self._events.get_nowait()
        except queue.Empty:
            return
        batch = [first]
        with contextlib.suppress(queue.Empty):
            while True:
                batch.append(self._events.get_nowait())
        self._absorb(batch)

    def _absorb(self, batch: list[RawEvent]) -> None:
        try:
            if any(self._changes_ignore_rules(event.path) for event in batch):
                self._filter = PathFilter.load(self.root, self._watch_patterns)
                _log().info("watch_ignore_rules_reloaded")
        except Exception:
            _log().exception("watch_ignore_rules_failed", action="reconcile")
            self._lost_events.set()
        for event in batch:
            try:
                self._absorb_one(event)
            except Exception:
                # A failure here must not lose the user's edit: hash everything on the next round.
                _log().exception("watch_event_failed", path=event.path, action="reconcile")
                self._lost_events.set()

    def _absorb_one(self, event: RawEvent) -> None:
        rel = self._relative(event.path)
        if rel is None:
            return
        if event.is_directory:
            if self._filter.is_ignored(rel, is_dir=True):
                return
            candidates = self.gate.known(rel) | set(self._filter.walk_relevant(rel))
        else:
            candidates = {rel} if self._filter.is_relevant(rel) else set()
        if candidates:
            self._pending |= candidates
            self._debouncer.touch(event.at)

    def _settle(self) -> set[str]:
        """The burst is due: hand its paths to the gate and keep the real changes."""
        paths, self._pending = self._pending, set()
        self._debouncer.reset()
        try:
            changed = self.gate.consume(paths)
        except Exception:
            # Never drop an edit because the gate failed: a pass too many is the cheaper mistake.
            _log().exception("watch_gate_failed", paths=sorted(paths))
            changed = set(paths)
        if changed:
            _log().info("watch_change", paths=sorted(changed))
        return changed

    def _relative(self, path: str) -> str | None:
        prefix = self._root_str.rstrip(os.sep) + os.sep
        if not path.startswith(prefix):
            return None
        rel = path[len(prefix) :]
        return rel.replace(os.sep, "/") if os.sep != "/" else rel

    def _changes_ignore_rules(self, path: str) -> bool:
        """A .gitignore that counts (not one inside an ignored tree, e.g. node_modules) or git's exclude file."""
        rel = self._relative(path)
        if rel is None:
            return False
        if rel == GIT_INFO_EXCLUDE:
            return True
        return rel.rsplit("/", 1)[-1] == GITIGNORE_NAME and not self._filter.is_ignored(rel)

    # ------------------------------------------------------------------------------------------ observers

    def _start_observer(self) -> BaseObserver:
        if not self._polling:
            try:
                return self._start_native()
            except OSError as exc:
                sysctl = _LIMIT_SYSCTLS.get(exc.errno or 0)
                if sysctl is None:
                    raise WatchError(f"cannot watch {self._root_str}: {exc}") from exc
                self._polling = True
                _log().warning(
                    "watch_inotify_limit",
                    error=str(exc),
                    sysctl=sysctl,
                    fallback="polling",
                    hint=_LIMIT_HINTS[exc.errno or 0],
                )
        try:
            return self._start_polling()
        except OSError as exc:
            raise WatchError(f"cannot watch {self._root_str}: {exc}") from exc

    def _start_native(self) -> BaseObserver:
        directories = _directories_below(self._root_str)
        observer = self._observer_factory()
        try:
            self._schedule_and_start(observer)
            unwatched = _unwatched_directories(observer, directories)
        except BaseException:
            _discard(observer, STOP_TIMEOUT_S)
            raise
        if unwatched:
            # watchdog skips subdirectories it fails to watch; a partial watch would miss edits silently.
            _discard(observer, STOP_TIMEOUT_S)
            raise OSError(errno.ENOSPC, f"{len(unwatched)} directories could not be watched, e.g. {unwatched[0]}")
        return observer

    def _start_polling(self) -> BaseObserver:
        observer = PollingObserverVFS(os.stat, self._pruned_scandir, polling_interval=self._poll_interval_s)
        try:
            self._schedule_and_start(observer)
        except BaseException:
            _discard(observer, STOP_TIMEOUT_S)
            raise
        return observer

    def _schedule_and_start(self, observer: BaseObserver) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(errno.ENOENT, "project root is not a directory", self._root_str)
        observer.schedule(
            _EnqueueHandler(self._enqueue, self._note_lost_event),
            self._root_str,
            recursive=True,
            event_filter=list(WATCHED_EVENT_TYPES),
        )
        observer.start()

    def _pruned_scandir(self, path: str | None) -> Iterator[os.DirEntry[str]]:
        """The polling observer's directory listing, without ignored trees (.git, .venv, ...): polling
        them every second would cost far more than the files that matter.
        """
        with os.scandir(path) as entries:
            kept = [entry for entry in entries if not self._prunable(entry)]
        return iter(kept)

    def _prunable(self, entry: os.DirEntry[str]) -> bool:
        if not entry.is_dir(follow_symlinks=False):
            return False
        rel = self._relative(entry.path)
        return rel is not None and self._filter.is_ignored(rel, is_dir=True)

    # ------------------------------------------------------------------------------------------- settings

    def _apply_settings(self, monitoring: MonitoringConfig) -> None:
        # max_wait_ms and poll_interval_s are read with defaults until MonitoringConfig declares them.
        self._watch_patterns = tuple(monitoring.watch_patterns)
        self._debounce_s = monitoring.debounce_ms / 1000
        self._max_wait_s = monitoring.max_wait_ms / 1000
        self._poll_interval_s = monitoring.poll_interval_s


def _ignore_watchdog_duplicate_watch_warning() -> None:
    """watchdog's inotify reader warns "Callback with id ... already exists" when a directory tree appears
    faster than its events are read (``mkdir -p a/b``, pytest renaming its cache directory into place).

    The warning is harmless (the same watch is registered twice), but it is noise in the loop's output and,
    where warnings are errors (``-W error``, test suites), it kills the reader thread and forces a rebuild.
    Narrowed to this message from watchdog; applied at each start since warning filters may be reset.
    """
    warnings.filterwarnings(
        "ignore",
        message=r"Callback with id .* already exists",
        category=RuntimeWarning,
        module=r"watchdog\.",
    )


def _discard(observer: BaseObserver, timeout_s: float) -> None:
    """Stop an observer that may be half-started or already dead; nothing here may raise."""
    with contextlib.suppress(Exception):
        observer.stop()
    with contextlib.suppress(Exception):
        if observer.is_alive():
            observer.join(timeout_s)


def _directories_below(root: str) -> list[str]:
    """Every real directory inside ``root``, as watchdog's recursive inotify watch walks them."""
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        found.extend(Path(dirpath) / name for name in dirnames)
    return [str(path) for path in found if not path.is_symlink()]


def _unwatched_directories(observer: BaseObserver, directories: list[str]) -> list[str]:
    """Directories that existed before the start and still exist but got no inotify watch.

    Reads watchdog's inotify internals when they are there; any other observer (or a watchdog whose
    internals differ) is taken as complete, which is what the observer itself claims.
    """
    watched: set[bytes] = set()
    for emitter in list(observer.emitters):
        group = getattr(emitter, "_inotify", None)
        paths = getattr(group, "_active_callbacks_by_path", None)
        if not isinstance(paths, dict):
            return []
        try:
            watched.update(paths.copy())
        except RuntimeError:
            return []
    return [path for path in directories if os.fsencode(path) not in watched and Path(path).is_dir()]
