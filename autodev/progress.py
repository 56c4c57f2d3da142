"""What a pass is doing right now, as typed steps, for whoever shows them to a person (the CLI's console).

The log records what happened, for afterwards; these steps say what is happening now, while a model streams or the
tests run, so that a terminal is never silent for minutes. Reporting is process-wide rather than per context: a
model may stream in a worker thread, and a display wants every step of the pass. With no listener installed (the
default) :func:`report` does nothing, so the library, the watch loop and the tests run unchanged; a listener that
raises is dropped from that one step, never allowed to break the pass.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from pydantic import BaseModel, ConfigDict

from autodev.logs import get_logger


class Step(BaseModel):
    """One thing a person watching a pass cares about."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RequirementStarted(Step):
    """Work on a requirement begins: its tests fail (``failing``) and these files may change (``targets``)."""

    requirement: str
    title: str
    targets: tuple[str, ...]
    failing: tuple[str, ...]


class RequirementFinished(Step):
    requirement: str
    status: str
    reason: str


class Decided(Step):
    """The router's next move for the requirement: attempt, repair, merge, escalate, replay, skip or stop; or which
    green candidate of a round is tried (choose)."""

    action: str
    tier: str
    reason: str


class ModelAsked(Step):
    """A real request is about to be sent (each retry is one too)."""

    model: str
    tier: str


class ModelStreaming(Step):
    """Part of a reply has arrived: ``tokens`` so far (content chunks; providers send about one token each).

    ``text`` is the piece that just arrived, so that `autodev ask` can print the answer as it comes.
    """

    model: str
    tokens: int
    text: str = ""


class ModelAnswered(Step):
    model: str
    tier: str
    output_tokens: int
    seconds: float
    cached: bool = False


class ModelFailed(Step):
    model: str
    tier: str
    error: str


class TestsStarted(Step):
    """The project's tests start; ``label`` says which run (baseline, attempt 2, candidate)."""

    __test__ = False  # not a pytest test class, whatever its name
    label: str


class TestsFinished(Step):
    __test__ = False
    label: str
    passed: int
    failing: int
    seconds: float
    timed_out: bool = False


class EditsApplied(Step):
    """The user's files now hold a candidate's changes (journaled): from here on a stop means a rollback."""

    requirement: str
    files: tuple[str, ...]


class Committed(Step):
    requirement: str
    sha: str
    files: tuple[str, ...]


class RolledBack(Step):
    """The exact bytes are back; ``interrupted``: because of Ctrl-C (or SIGTERM), not a red verdict."""

    requirement: str
    files: tuple[str, ...]
    reason: str
    interrupted: bool = False


Listener = Callable[[Step], None]

_lock = threading.Lock()
_listeners: tuple[Listener, ...] = ()


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every step reported in this process to ``listener`` until the block ends.

    The listener is called in the thread that reports (the pass, a model stream, a scratch test run), so it must be
    quick and thread-safe.
    """
    global _listeners
    with _lock:
        _listeners = (*_listeners, listener)
    try:
        yield
    finally:
        with _lock:
            _listeners = tuple(item for item in _listeners if item is not listener)


def report(step: Step) -> None:
    """Hand ``step`` to the installed listeners, if any; never raises."""
    for listener in _listeners:
        try:
            listener(step)
        except Exception as error:  # a display must not stop the work it displays
            get_logger().debug("progress listener failed", step=type(step).__name__, error=repr(error))
