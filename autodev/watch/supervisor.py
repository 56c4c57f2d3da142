"""Keeps a watchdog observer running on the project: native where it can, polling where it must, rebuilt when dead.

inotify has per-user limits (watches, instances); running out of them is not an error to report but a reason
to poll, with a warning that names the sysctl to raise. Any other failure to watch is a WatchError. watchdog's
threads can die (a warning turned error, a kernel hiccup), so the observer's health is checked once a second
and a dead one is rebuilt, after which the owner reconciles: events may have been lost meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from structlog.typing import FilteringBoundLogger
from watchdog.events import FileSystemEventHandler
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from autodev.errors import WatchError
from autodev.logs import get_logger
from autodev.watch.events import WATCHED_EVENT_TYPES

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

ObserverFactory = Callable[[], BaseObserver]


def _log() -> FilteringBoundLogger:
    """Looked up at each use, so that logging configured after import (by the CLI, by tests) applies."""
    return get_logger(component="watch")


class ObserverSupervisor:
    """The observer that feeds ``handler`` with the events under ``root``, and its health.

    ``observer_factory`` makes the native observer (injectable to simulate inotify limits); the polling one
    lists directories without those ``prune`` says are ignored. ``on_rebuilt`` runs after a dead observer
    was replaced. ``poll_interval_s`` may change between starts (a reloaded configuration).
    """

    def __init__(
        self,
        root: Path,
        handler: FileSystemEventHandler,
        *,
        clock: Callable[[], float],
        observer_factory: ObserverFactory,
        poll_interval_s: float,
        prune: Callable[[str], bool],
        on_rebuilt: Callable[[], None],
    ) -> None:
        self.root = root
        self.poll_interval_s = poll_interval_s
        self._handler = handler
        self._clock = clock
        self._observer_factory = observer_factory
        self._prune = prune
        self._on_rebuilt = on_rebuilt
        self._observer: BaseObserver | None = None
        self._polling = False
        self.next_health_check = 0.0

    @property
    def observer(self) -> BaseObserver | None:
        """The watchdog observer in use (None before start and after stop)."""
        return self._observer

    @property
    def using_polling(self) -> bool:
        """True once inotify limits forced the polling observer (kept until the loop restarts)."""
        return self._polling

    def start(self) -> None:
        """Start the observer; returns once events are being delivered.

        Raises WatchError when the root cannot be watched at all; inotify limits fall back to polling.
        """
        _ignore_watchdog_duplicate_watch_warning()
        self._observer = self._start_observer()
        self.next_health_check = self._clock() + HEALTH_CHECK_INTERVAL_S

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the observer and its threads (waiting up to ``timeout_s``); False when none was running."""
        observer, self._observer = self._observer, None
        if observer is None:
            return False
        _discard(observer, timeout_s)
        return True

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

    def check_health(self, now: float) -> None:
        """Once every HEALTH_CHECK_INTERVAL_S: :meth:`ensure_alive`."""
        if now >= self.next_health_check:
            self.next_health_check = now + HEALTH_CHECK_INTERVAL_S
            self.ensure_alive()

    def ensure_alive(self) -> bool:
        """Rebuild a dead observer, then run ``on_rebuilt``; True when a rebuild happened.

        Raises WatchError when the watch cannot be set up again (the root is gone).
        """
        if self._observer is None or self.healthy():
            return False
        _log().warning("watch_observer_dead", action="rebuild", polling=self._polling)
        _discard(self._observer, STOP_TIMEOUT_S)
        self._observer = None
        self._observer = self._start_observer()
        self._on_rebuilt()
        return True

    def _start_observer(self) -> BaseObserver:
        if not self._polling:
            try:
                return _start_native(self._observer_factory, self.root, self._handler)
            except OSError as exc:
                sysctl = _LIMIT_SYSCTLS.get(exc.errno or 0)
                if sysctl is None:
                    raise WatchError(f"cannot watch {self.root}: {exc}") from exc
                self._polling = True
                _log().warning(
                    "watch_inotify_limit",
                    error=str(exc),
                    sysctl=sysctl,
                    fallback="polling",
                    hint=_LIMIT_HINTS[exc.errno or 0],
                )
        try:
            return _start_polling(self.root, self._handler, self.poll_interval_s, self._prune)
        except OSError as exc:
            raise WatchError(f"cannot watch {self.root}: {exc}") from exc


def _start_native(factory: ObserverFactory, root: Path, handler: FileSystemEventHandler) -> BaseObserver:
    directories = _directories_below(str(root))
    observer = factory()
    try:
        _schedule_and_start(observer, root, handler)
        unwatched = _unwatched_directories(observer, directories)
    except BaseException:
        _discard(observer, STOP_TIMEOUT_S)
        raise
    if unwatched:
        # watchdog skips subdirectories it fails to watch; a partial watch would miss edits silently.
        _discard(observer, STOP_TIMEOUT_S)
        raise OSError(errno.ENOSPC, f"{len(unwatched)} directories could not be watched, e.g. {unwatched[0]}")
    return observer


def _start_polling(
    root: Path, handler: FileSystemEventHandler, interval_s: float, prune: Callable[[str], bool]
) -> BaseObserver:
    def pruned_scandir(path: str | None) -> Iterator[os.DirEntry[str]]:
        """The directory listing without ignored trees (.git, .venv, ...): polling them every second would
        cost far more than the files that matter.
        """
        with os.scandir(path) as entries:
            kept = [entry for entry in entries if not (entry.is_dir(follow_symlinks=False) and prune(entry.path))]
        return iter(kept)

    observer = PollingObserverVFS(os.stat, pruned_scandir, polling_interval=interval_s)
    try:
        _schedule_and_start(observer, root, handler)
    except BaseException:
        _discard(observer, STOP_TIMEOUT_S)
        raise
    return observer


def _schedule_and_start(observer: BaseObserver, root: Path, handler: FileSystemEventHandler) -> None:
    if not root.is_dir():
        raise FileNotFoundError(errno.ENOENT, "project root is not a directory", str(root))
    observer.schedule(handler, str(root), recursive=True, event_filter=list(WATCHED_EVENT_TYPES))
    observer.start()


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
