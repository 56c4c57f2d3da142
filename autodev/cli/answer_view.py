"""An answer printed as it streams in: the text on stdout, and on a terminal what is happening on stderr.

Piped (`autodev ask ... > notes.md`, `| less`) stdout gets the answer's text and nothing else. On a terminal,
stderr shows which model is being asked until the first words arrive, a fallback to another model when one
fails, and a one-line summary (model, tokens, cost, seconds) once the answer is complete.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from autodev.progress import ModelAsked, ModelFailed, ModelStreaming, Step

_CLEAR_LINE = "\r\033[K"


class AnswerView:
    """The listener for one question's steps (``progress.listening``); ``printed`` is what stdout got."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, notes: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.notes = _is_terminal(self.err) if notes is None else notes
        self.printed = ""
        self._waiting = False
        self._lock = threading.Lock()

    def __call__(self, step: Step) -> None:
        with self._lock:
            if isinstance(step, ModelStreaming) and step.text:
                self._clear_waiting()
                self.out.write(step.text)
                self.out.flush()
                self.printed += step.text
            elif isinstance(step, ModelAsked) and self.notes:
                self._clear_waiting()
                self.err.write(f"asking {step.model}…")
                self.err.flush()
                self._waiting = True
            elif isinstance(step, ModelFailed):
                self._clear_waiting()
                gap = "\n" if self.printed and not self.printed.endswith("\n") else ""
                self.err.write(f"{gap}warning: {step.model} failed: {step.error}\n")
                self.err.flush()

    def finish(self, text: str) -> None:
        """The answer complete: whatever did not stream (a cached answer streams nothing) and a final newline."""
        with self._lock:
            self._clear_waiting()
            rest = (
                text[len(self.printed) :] if text.startswith(self.printed) else ("\n" + text if self.printed else text)
            )
            self.out.write(rest)
            if not (self.printed + rest).endswith("\n"):
                self.out.write("\n")
            self.out.flush()

    def note(self, text: str) -> None:
        """A line about the answer (its summary, a trimmed conversation) on a terminal only."""
        if self.notes:
            self.err.write(f"\033[2m{text}\033[0m\n" if _is_terminal(self.err) else f"{text}\n")
            self.err.flush()

    def _clear_waiting(self) -> None:
        if self._waiting:
            self.err.write(_CLEAR_LINE)
            self.err.flush()
            self._waiting = False


def _unprinted(text: str, printed: str) -> str:
    """What stdout still needs: the rest of the text, or all of it after a model that failed half-way."""
    if text.startswith(printed):
        return text[len(printed) :]
    return "\n" + text if printed else text


def _is_terminal(stream: TextIO) -> bool:
    isatty: Any = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
