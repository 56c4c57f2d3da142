"""Watching a project: which edits matter, when a burst of them is over, and whether content really changed.

:class:`ProjectWatcher` is what the loop uses: a :class:`~autodev.watch.pipeline.ChangePipeline` (whose
parts :class:`PathFilter`, :class:`Debouncer` and :class:`ContentGate` are usable, and tested, on their own)
fed by the observer an :class:`~autodev.watch.supervisor.ObserverSupervisor` keeps alive.
"""

from __future__ import annotations

from autodev.watch.debounce import Debouncer
from autodev.watch.filters import PathFilter
from autodev.watch.gate import ContentGate, hash_bytes, hash_file
from autodev.watch.watcher import ProjectWatcher

__all__ = ["ContentGate", "Debouncer", "PathFilter", "ProjectWatcher", "hash_bytes", "hash_file"]
