"""Watches one project for the loop: the change pipeline fed by a supervised observer, in one small wait loop.

Three threads meet here. watchdog's emitter and dispatcher threads only queue events
(:mod:`autodev.watch.events`); the loop thread calls :meth:`ProjectWatcher.wait_for_change`, which checks the
observer's health (:mod:`autodev.watch.supervisor`) and runs the queued events through the filter, the
debounce and the gate (:mod:`autodev.watch.pipeline`). A rebuilt observer is followed by a reconcile.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from pathlib import Path

from structlog.typing import FilteringBoundLogger
from watchdog.observers import Observer

from autodev.config import MonitoringConfig
from autodev.logs import get_logger
from autodev.watch.gate import ContentGate
from autodev.watch.pipeline import ChangePipeline
from autodev.watch.supervisor import STOP_TIMEOUT_S, ObserverFactory, ObserverSupervisor


def _log() -> FilteringBoundLogger:
    """Looked up at each use, so that logging configured after import (by the CLI, by tests) applies."""
    return get_logger(component="watch")


class ProjectWatcher:
    """Watches one project root and reports bursts of relevant content changes.

    Life cycle: :meth:`start` (watch up, baseline taken: the loop runs its first pass after it), then
    :meth:`wait_for_change` in a loop, then :meth:`stop`. Not thread-safe apart from the handler: call
    everything from the loop thread. Own writes go to :attr:`gate` (``gate.record_own_write``); the
    observer's state is :attr:`supervisor`'s.
    """

    def __init__(
        self,
        root: Path,
        monitoring: MonitoringConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        observer_factory: ObserverFactory = Observer,
        gate: ContentGate | None = None,
    ) -> None:
        """``clock`` must be monotonic seconds (it also times the waits); ``observer_factory`` makes the
        native observer (injectable to simulate inotify limits); the polling fallback is built here.
        ``gate`` defaults to a :class:`ContentGate` on ``root``.
        """
        self.root = Path(root).resolve()
        self._clock = clock
        self.gate = gate if gate is not None else ContentGate(self.root)
        self.pipeline = ChangePipeline(self.root, monitoring, clock, self.gate)
        self.supervisor = ObserverSupervisor(
            self.root,
            self.pipeline.events.handler,
            clock=clock,
            observer_factory=observer_factory,
            poll_interval_s=monitoring.poll_interval_s,
            prune=self.pipeline.is_ignored_directory,
            on_rebuilt=self.pipeline.reconcile,
        )

    def start(self) -> None:
        """Start watching and take the baseline; returns once events are being collected.

        Raises WatchError when the root cannot be watched at all; inotify limits fall back to polling.
        """
        if self.supervisor.observer is not None:
            return
        self.pipeline.reload_rules()
        self.supervisor.start()
        self.pipeline.take_baseline()  # once events are collected, so an edit made meanwhile is not lost
        _log().info("watch_started", root=str(self.root), polling=self.supervisor.using_polling)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the observer and its threads (waiting up to ``timeout_s``); safe to call twice."""
        if self.supervisor.stop(timeout_s):
            _log().info("watch_stopped", root=str(self.root))

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
        self.supervisor.poll_interval_s = monitoring.poll_interval_s
        self.pipeline.reconfigure(monitoring)

    def wait_for_change(self, timeout_s: float) -> set[str] | None:
        """Block until a burst of events is over and some relevant file's content changed; None on timeout.

        Returns rel posix paths (``autodev.toml`` among them means "reload the configuration"); the gate
        now remembers their content as seen by the pass that follows. Events that arrived while the caller
        was busy (during a pass) are all here: they make at most one burst, due as soon as it is collected
        if the last of them is older than the debounce. Checks the observer's health once a second.
        """
        if self.supervisor.observer is None:
            raise RuntimeError("ProjectWatcher.wait_for_change() called before start()")
        deadline = self._clock() + timeout_s
        while True:
            now = self._clock()
            self.supervisor.check_health(now)
            changes = self.pipeline.take_burst(now)
            if changes:
                return changes
            if changes is None:
                if now >= deadline:
                    return None
                self.pipeline.collect(self._wait_budget(now, deadline))

    def _wait_budget(self, now: float, deadline: float) -> float:
        waits = [deadline - now, self.supervisor.next_health_check - now]
        until_due = self.pipeline.time_until_due(now)
        if until_due is not None:
            waits.append(until_due)
        return max(0.0, min(waits))
