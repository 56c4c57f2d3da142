"""Carries file-system events from watchdog's threads to the loop thread, and says when some may be lost.

watchdog's emitter and dispatcher threads call the handler, which only puts the event's path and time on a
queue (inside try/except: an exception there would kill watchdog's thread and end the watch silently). A
failure there raises the "lost" flag, which the loop answers with a reconcile; so does anything else that
may have missed events.

Only created, modified, moved, deleted and closed-after-write events are subscribed to, through watchdog's
``event_filter`` (so inotify is not even asked for opens and read-only closes: pytest reading the tests
cannot start a pass).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
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

from autodev.logs import get_logger

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


def _log() -> FilteringBoundLogger:
    """Looked up at each use, so that logging configured after import (by the CLI, by tests) applies."""
    return get_logger(component="watch")


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


class EventQueue:
    """The events of every observer in turn; ``handler`` is what each observer is scheduled with.

    ``clock`` stamps the events (monotonic seconds, as the debouncer reads them).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._events: queue.SimpleQueue[RawEvent] = queue.SimpleQueue()
        self._lost = threading.Event()
        self.handler: FileSystemEventHandler = _EnqueueHandler(self._put, self._note_handler_failure)

    def take(self, wait_s: float) -> list[RawEvent]:
        """Everything queued, waiting up to ``wait_s`` for the first event; empty when none came."""
        try:
            first = self._events.get(timeout=wait_s) if wait_s > 0 else self._events.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        with contextlib.suppress(queue.Empty):
            while True:
                batch.append(self._events.get_nowait())
        return batch

    def mark_lost(self) -> None:
        """Some events may be lost: the loop is to reconcile."""
        self._lost.set()

    def take_lost(self) -> bool:
        """Whether events may have been lost since the last call."""
        if not self._lost.is_set():
            return False
        self._lost.clear()
        return True

    def _put(self, event: FileSystemEvent) -> None:
        """Runs on watchdog's thread: record and return, nothing that could block or be slow."""
        if not isinstance(event, WATCHED_EVENT_TYPES):
            return
        at = self._clock()
        self._events.put(RawEvent(os.fsdecode(event.src_path), event.is_directory, at))
        if event.dest_path:
            self._events.put(RawEvent(os.fsdecode(event.dest_path), event.is_directory, at))

    def _note_handler_failure(self) -> None:
        self._lost.set()
        with contextlib.suppress(Exception):
            self._events.put(_WAKE_UP)  # so the loop reconciles now, not at its next timeout
        with contextlib.suppress(Exception):
            _log().exception("watch_handler_failed", action="reconcile")
