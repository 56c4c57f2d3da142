"""Turns queued file events into "these relevant files changed": queue, then filter, then debounce, then gate.

Each stage is one of the watch's parts: the :class:`~autodev.watch.events.EventQueue` brings the events to
the loop thread, :class:`~autodev.watch.filters.PathFilter` drops irrelevant paths,
:class:`~autodev.watch.debounce.Debouncer` waits for the burst to end and
:class:`~autodev.watch.gate.ContentGate` keeps only real content changes. Everything here runs on the loop
thread. Whatever might have lost events is followed by a reconcile: every relevant file is hashed against
the gate, since a missed edit costs more than a pass too many.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from structlog.typing import FilteringBoundLogger

from autodev.config import MonitoringConfig
from autodev.logs import get_logger
from autodev.watch.debounce import Debouncer
from autodev.watch.events import EventQueue, RawEvent
from autodev.watch.filters import GIT_INFO_EXCLUDE, GITIGNORE_NAME, PathFilter
from autodev.watch.gate import ContentGate


def _log() -> FilteringBoundLogger:
    """Looked up at each use, so that logging configured after import (by the CLI, by tests) applies."""
    return get_logger(component="watch")


class ChangePipeline:
    """The project's pending changes, from raw events to the burst the loop is given.

    :meth:`reload_rules` and :meth:`take_baseline` at the start; then :meth:`collect` and :meth:`take_burst`
    in turn, all from one thread.
    """

    def __init__(self, root: Path, monitoring: MonitoringConfig, clock: Callable[[], float], gate: ContentGate) -> None:
        self.root = root
        self._root_str = str(root)
        self._clock = clock
        self.gate = gate
        self.events = EventQueue(clock)
        self._pending: set[str] = set()
        self._patterns = tuple(monitoring.watch_patterns)
        self.path_filter = PathFilter(root, self._patterns)
        self._debouncer = Debouncer(monitoring.debounce_ms / 1000, monitoring.max_wait_ms / 1000, clock)

    def reload_rules(self) -> None:
        """Read the ignore rules (.gitignore files, git's exclude file) again."""
        self.path_filter = PathFilter.load(self.root, self._patterns)

    def take_baseline(self) -> None:
        """Remember every relevant file's content: the state the first pass sees."""
        self.gate.snapshot(self.path_filter.walk_relevant())

    def reconfigure(self, monitoring: MonitoringConfig) -> None:
        """Apply new patterns and times; files that become relevant are taken as seen now (their first change
        starts a pass, their mere existence does not); a burst in progress is kept.
        """
        self._patterns = tuple(monitoring.watch_patterns)
        self.reload_rules()
        had_burst = self._debouncer.pending
        debounce_s = monitoring.debounce_ms / 1000
        self._debouncer = Debouncer(debounce_s, monitoring.max_wait_ms / 1000, self._clock)
        if had_burst:
            self._debouncer.touch()
        known = self.gate.known()
        self.gate.snapshot(rel for rel in self.path_filter.walk_relevant() if rel not in known)
        _log().info("watch_reconfigured", patterns=list(self._patterns), debounce_s=debounce_s)

    def reconcile(self) -> None:
        """Queue every relevant file, and every remembered one, for a content check in the next burst.

        After events may have been missed, hashing is the only way to know what changed; the gate keeps
        it cheap in effect (only files whose bytes differ come out).
        """
        candidates = set(self.path_filter.walk_relevant()) | self.gate.known()
        if candidates:
            self._pending |= candidates
            self._debouncer.touch()

    def collect(self, wait_s: float) -> None:
        """Wait up to ``wait_s`` for events, then take in everything queued."""
        batch = self.events.take(wait_s)
        if batch:
            self._absorb(batch)

    def take_burst(self, now: float) -> set[str] | None:
        """The real changes of a burst that is due (possibly none), or None while no burst is due.

        Reconciles first when events may have been lost, so the edits they carried join this burst.
        """
        if self.events.take_lost():
            _log().warning("watch_events_lost", action="reconcile")
            self.reconcile()
        if not self._debouncer.due(now):
            return None
        return self._settle()

    def time_until_due(self, now: float) -> float | None:
        """Seconds until the pending burst is due; None when there is none."""
        return self._debouncer.time_until_due(now)

    def is_ignored_directory(self, path: str) -> bool:
        """Whether a directory inside the project is ignored as a whole tree (.git, .venv, ...)."""
        rel = _relative_path(self._root_str, path)
        return rel is not None and self.path_filter.is_ignored(rel, is_dir=True)

    def _absorb(self, batch: list[RawEvent]) -> None:
        try:
            if any(
                _changes_ignore_rules(self.path_filter, _relative_path(self._root_str, event.path)) for event in batch
            ):
                self.reload_rules()
                _log().info("watch_ignore_rules_reloaded")
        except Exception:
            _log().exception("watch_ignore_rules_failed", action="reconcile")
            self.events.mark_lost()
        for event in batch:
            try:
                candidates = _candidates(
                    _relative_path(self._root_str, event.path), event.is_directory, self.path_filter, self.gate
                )
                if candidates:
                    self._pending |= candidates
                    self._debouncer.touch(event.at)
            except Exception:
                # A failure here must not lose the user's edit: hash everything on the next round.
                _log().exception("watch_event_failed", path=event.path, action="reconcile")
                self.events.mark_lost()

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


def _candidates(rel: str | None, is_directory: bool, path_filter: PathFilter, gate: ContentGate) -> set[str]:
    """The paths one event asks to check: a relevant file, or every relevant and remembered file of a tree
    that watchdog reports at once (moved in, moved out, deleted)."""
    if rel is None:
        return set()
    if is_directory:
        if path_filter.is_ignored(rel, is_dir=True):
            return set()
        return gate.known(rel) | set(path_filter.walk_relevant(rel))
    return {rel} if path_filter.is_relevant(rel) else set()


def _changes_ignore_rules(path_filter: PathFilter, rel: str | None) -> bool:
    """A .gitignore that counts (not one inside an ignored tree, e.g. node_modules) or git's exclude file."""
    if rel is None:
        return False
    if rel == GIT_INFO_EXCLUDE:
        return True
    return rel.rsplit("/", 1)[-1] == GITIGNORE_NAME and not path_filter.is_ignored(rel)


def _relative_path(root: str, path: str) -> str | None:
    """``path`` relative to ``root`` in posix form, or None when it is not inside ``root``."""
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return None
    rel = path[len(prefix) :]
    return rel.replace(os.sep, "/") if os.sep != "/" else rel
