"""The console of `autodev run`: one line per step a person cares about, and a live status while a model works.

On a terminal the last line is a status rewritten in place every half second (the model, seconds, tokens so
far); elsewhere (a pipe, a CI log) there are only whole lines, with a "still waiting" line now and then during a
long call. Colour only on a terminal without NO_COLOR. Log events reach the console through the same writer, so
a warning never lands in the middle of the status line: as ``warning: ...`` lines by default, structured with
``-v``; with ``--log-json`` the console is JSON lines only. The JSON log file gets every event whatever is shown.

Ctrl-C: the first one stops the pass (the attempt in progress is rolled back by the pass itself); the console
then says what was restored, or that nothing had been applied. Further ones are ignored until autodev has exited,
so that no restore and no clean-up is cut short.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import click

from autodev.cli.options import GlobalOptions
from autodev.cli.steps import INDENT, step_line
from autodev.cli.terminal import LogLines, Terminal
from autodev.logs import colours_wanted, configure_logging, get_logger
from autodev.progress import (
    Committed,
    EditsApplied,
    ModelAnswered,
    ModelAsked,
    ModelFailed,
    ModelStreaming,
    RequirementStarted,
    RolledBack,
    Step,
    TestsFinished,
    TestsStarted,
    listening,
)

TICK_S = 0.5
STILL_WAITING_S = 10.0
JOIN_S = 2.0


class Activity:
    """What the pass is waiting for now (a model, the tests) and since when."""

    def __init__(self, what: str, *, model: str = "", now: float) -> None:
        self.what = what
        self.model = model
        self.since = now
        self.tokens = 0
        self.noticed = now  # when plain output last said it is still waiting


class ProgressConsole:
    """The listener for a pass's steps: prints their lines, keeps the status, and remembers what Ctrl-C stops."""

    def __init__(self, terminal: Terminal, *, still_waiting_s: float = STILL_WAITING_S) -> None:
        self.terminal = terminal
        self.still_waiting_s = still_waiting_s
        self._lock = threading.Lock()
        self.activity: Activity | None = None
        self.requirement: RequirementStarted | None = None
        self.applied: EditsApplied | None = None  # changes in the user's files, neither committed nor restored
        self.interrupted_rollback: RolledBack | None = None
        self.commits: list[Committed] = []

    def __call__(self, step: Step) -> None:
        with self._lock:
            self._track(step)
            shown = step_line(step, started=self.requirement is not None)
        if isinstance(step, ModelStreaming):  # tokens are shown by the next tick: no redraw per token
            return
        if shown is not None:
            self.terminal.line(*shown, redraw=False)
        self.tick()

    def _track(self, step: Step) -> None:
        now = time.monotonic()
        if isinstance(step, RequirementStarted):
            self.requirement = step
        elif isinstance(step, ModelAsked):
            self.activity = Activity(f"{step.model} ({step.tier})", model=step.model, now=now)
        elif isinstance(step, ModelStreaming) and self.activity is not None and self.activity.model == step.model:
            self.activity.tokens = step.tokens
        elif isinstance(step, TestsStarted):
            self.activity = Activity(f"running the tests ({step.label})", now=now)
        elif isinstance(step, ModelAnswered | ModelFailed | TestsFinished):
            self.activity = None
        elif isinstance(step, EditsApplied):
            self.applied = step
        elif isinstance(step, Committed):
            self.applied = None
            self.commits.append(step)
        elif isinstance(step, RolledBack):
            self.applied = None
            if step.interrupted:
                self.interrupted_rollback = step

    def tick(self) -> None:
        """Refresh the status line (a terminal), or say now and then that a long wait goes on (plain output)."""
        with self._lock:
            activity = self.activity
            if activity is None:
                text, notice = "", None
            else:
                now = time.monotonic()
                text = _status_text(activity, now)
                notice = None
                if not self.terminal.live and now - activity.noticed >= self.still_waiting_s:
                    activity.noticed = now
                    notice = f"still waiting: {text.strip()}"
        self.terminal.status(text)
        if notice is not None:
            self.terminal.line(INDENT + notice)

    def interruption(self) -> str:
        """What Ctrl-C stopped, and what became of the user's files."""
        with self._lock:
            where = f" on {self.requirement.requirement} ({self.requirement.title})" if self.requirement else ""
            rollback, applied, activity = self.interrupted_rollback, self.applied, self.activity
            kept = "; ".join(f"committed {c.sha[:7]} ({c.requirement}) is kept" for c in self.commits)
        if rollback is not None:
            files = ", ".join(rollback.files) or "no file needed it"
            message = f"interrupted{where}: the attempt was rolled back; restored byte for byte: {files}"
        elif applied is not None:
            message = (
                f"interrupted{where} while {', '.join(applied.files)} held an attempt's changes; "
                "the next `autodev run` restores them from the journal"
            )
        else:
            during = f" while {_waiting(activity)}" if activity is not None else ""
            message = f"interrupted{where}{during}: nothing had been applied to your files"
        return message + (f"; {kept}" if kept else "")


def _status_text(activity: Activity, now: float) -> str:
    seconds = f"{now - activity.since:.0f} s"
    tokens = f", {activity.tokens} tokens" if activity.model else ""
    return f"{INDENT}{activity.what}: {seconds}{tokens}"


def _waiting(activity: Activity) -> str:
    return f"waiting for {activity.what}" if activity.model else activity.what


class Ticker:
    """Calls ``console.tick`` every ``interval`` seconds in a daemon thread until stopped (a bounded join)."""

    def __init__(self, console: ProgressConsole, interval: float = TICK_S) -> None:
        self.console = console
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autodev-console", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_S)
        if self._thread.is_alive():
            get_logger().warning("the console's status thread did not stop", waited_s=JOIN_S)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.console.tick()
            except Exception as error:  # watched: a broken display ends the status line, not the pass
                get_logger().debug("console status failed", error=repr(error))
                return


class _InterruptOnce:
    """SIGINT handler: the first one stops the pass (KeyboardInterrupt); repeats are told to wait, not obeyed."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            raise KeyboardInterrupt
        if self.count == 2:
            self.terminal.line("stopping: restoring your files first; autodev exits as soon as that is done", "warn")


@contextlib.contextmanager
def run_console(options: GlobalOptions, log_file: Path) -> Iterator[None]:
    """Logging and the console for one `autodev run`; Ctrl-C inside ends it with exit 130 and says what it undid."""
    stream = sys.stderr
    terminal = Terminal(live=_is_terminal(stream), colors=colours_wanted(stream))
    _configure_logging(options, log_file, terminal)
    console = ProgressConsole(terminal)
    shows_steps = options.console_level != "warning" and not options.log_json
    with _interrupt_once(terminal), _showing(console, enabled=shows_steps):
        try:
            yield
        except KeyboardInterrupt:
            _say_interrupted(console, json_console=options.log_json)
            raise click.exceptions.Exit(130) from None


def _configure_logging(options: GlobalOptions, log_file: Path, terminal: Terminal) -> None:
    """JSON lines for --log-json; with -v structured events beside the steps; else warnings and errors, plainly."""
    level = options.console_level
    if options.log_json:
        configure_logging(log_file=log_file, json_console=True, console_level=level)
        return
    verbose = level == "debug"
    lines: Any = LogLines(terminal)  # a file for structlog's PrintLogger, not a full TextIO
    configure_logging(log_file=log_file, console_level=level if verbose else "warning", stream=lines,
                      human=not verbose)  # fmt: skip


@contextlib.contextmanager
def _showing(console: ProgressConsole, *, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    ticker = Ticker(console)
    with listening(console):
        ticker.start()
        try:
            yield
        finally:
            ticker.stop()
            console.terminal.status("")


@contextlib.contextmanager
def _interrupt_once(terminal: Terminal) -> Iterator[None]:
    """The SIGINT handler for the block (main thread only); after a SIGINT, later ones are ignored to the exit.

    A process started with SIGINT ignored (a background job of a script) keeps ignoring it.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        yield
        return
    handler = _InterruptOnce(terminal)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        # Exiting after a Ctrl-C: a repeat must not cut the clean-up short (nor kill the interpreter's teardown).
        signal.signal(signal.SIGINT, signal.SIG_IGN if handler.count else previous)


def _say_interrupted(console: ProgressConsole, *, json_console: bool) -> None:
    message = console.interruption()
    if json_console:
        get_logger().warning("interrupted", detail=message)
    else:
        console.terminal.line(message, "warn")


def _is_terminal(stream: TextIO) -> bool:
    isatty: Any = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
