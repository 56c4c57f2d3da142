"""Watching a project: which edits matter, when a burst of them is over, and whether content really changed.

:class:`ProjectWatcher` is what the loop uses; :class:`PathFilter`, :class:`Debouncer` and
:class:`ContentGate` are its parts, usable (and tested) on their own.
"""

from __future__ import annotations

from autodev.watch.debounce import Debouncer
from autodev.watch.filters import PathFilter
from autodev.watch.gate import ContentGate, hash_bytes, hash_file
from autodev.watch.observer import ProjectWatcher

__all__ = ["ContentGate", "Debouncer", "PathFilter", "ProjectWatcher", "hash_bytes", "hash_file"]
