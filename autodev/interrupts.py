"""Ctrl-C held back while files are restored, so that a second Ctrl-C cannot cut a rollback in half.

A user who presses Ctrl-C twice wants autodev to stop, not to leave half of an attempt's files restored. Inside
:class:`deferred_interrupts` a SIGINT is only remembered. When the block ends, a remembered one is handed to the
handler that was in force (the default raises KeyboardInterrupt; the CLI's may ignore a repeat), unless a stop is
already under way: the block ends with an exception, or runs while one is being handled (the rollback after a
first Ctrl-C). Signals reach only the main thread, so elsewhere the block changes nothing.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any


class deferred_interrupts:  # lower case: used like a function, ``with deferred_interrupts():``
    """Hold SIGINT back for the block; see the module docstring."""

    def __init__(self) -> None:
        self._previous: Any = None
        self._received = False
        self._active = False

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.signal(signal.SIGINT, self._remember)
        # None: a handler set outside Python; Python's own is the closest to put back.
        self._previous = signal.default_int_handler if previous is None else previous
        self._active = True

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if not self._active:
            return
        signal.signal(signal.SIGINT, self._previous)
        if self._received and exc_type is None and sys.exc_info()[0] is None:
            _deliver(self._previous)

    def _remember(self, signum: int, frame: FrameType | None) -> None:
        self._received = True


def _deliver(handler: object) -> None:
    """Hand a held-back SIGINT to the handler it was meant for; the default one raises KeyboardInterrupt."""
    if callable(handler):
        handler(signal.SIGINT, None)
    elif handler == signal.SIG_DFL:
        raise KeyboardInterrupt
