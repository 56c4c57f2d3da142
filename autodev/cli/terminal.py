"""The console's writer: whole lines, and on a terminal one status line below them, rewritten in place.

Everything the console of `autodev run` prints goes through one :class:`Terminal`, log lines included
(:class:`LogLines`), so that nothing is ever written across the status line.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
from typing import Any, TextIO

import click

from autodev.cli.steps import Mark

_STYLES: dict[Mark, dict[str, Any]] = {"ok": {"fg": "green"}, "bad": {"fg": "red"}, "warn": {"fg": "yellow"}}


class Terminal:
    """Writes whole lines, and on a terminal one status line below them that is rewritten in place.

    Without a ``stream`` it writes to whatever ``sys.stderr`` is at the time: log lines may still come after the
    run (logging stays configured), when a stream captured at the start may have been closed.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool, colors: bool) -> None:
        self._stream = stream
        self.live = live
        self.colors = colors
        self._lock = threading.RLock()  # re-entered by the SIGINT handler, which runs in the thread it interrupts
        self._status = ""

    def line(self, text: str, mark: Mark = "", *, redraw: bool = True) -> None:
        """A whole line above the status; ``redraw=False`` when the caller sets the next status itself."""
        if self.colors and mark in _STYLES:
            text = click.style(text, **_STYLES[mark])
        with self._lock:
            shown = self._status
            self._erase()
            self._write(text + "\n")
            if shown and redraw:
                self._show(shown)

    def status(self, text: str) -> None:
        """Replace the status line; an empty text removes it. Nothing happens where output is not a terminal."""
        if not self.live:
            return
        with self._lock:
            if text == self._status:
                return
            self._erase()
            self._show(text)

    def _show(self, text: str) -> None:
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        text = text[:width]
        if text:
            self._write("\r" + (click.style(text, dim=True) if self.colors else text))
        self._status = text

    def _erase(self) -> None:
        if self._status:
            self._write("\r" + " " * len(self._status) + "\r")
            self._status = ""

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stderr
        with contextlib.suppress(OSError, ValueError):  # a closed pipe must not stop the pass
            stream.write(text)
            stream.flush()


class LogLines:
    """A file for structlog's PrintLogger: its lines go through the terminal, below the steps, never across them."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.terminal.line(line)
        return len(text)

    def flush(self) -> None:
        """Lines are written whole, as they complete."""

    def isatty(self) -> bool:
        return self.terminal.colors  # structlog colours what looks like a terminal
