"""structlog set-up: readable lines on the console, JSON lines in .autodev/logs/autodev.jsonl always.

Every decision is logged as an event with fields, so a run can be explained afterwards from the file alone.
The file gets every level; the console only what the user asked for, as structured lines (``-v``), JSON lines
(``--log-json``) or, beside a human console that shows the steps, as plain ``warning: ...`` lines. Colour only on
a terminal, and never when ``NO_COLOR`` is set (https://no-color.org). structlog (with rich, which it loads) is
imported at the first event or configuration, not with this module: `autodev status` and `--help` never log, and
must not pay ~60 ms for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, TextIO, cast

if TYPE_CHECKING:
    import structlog
    from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class JsonLinesFile:
    """A processor that appends each event to a JSONL file and passes it on unchanged."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._stream: IO[str] = path.open("a", encoding="utf-8", buffering=1)

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        # A full disk must not stop the work; the console still shows the event. A closed stream (logging set up
        # again, e.g. by a second CLI invocation in one process) drops the line rather than the work.
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(json.dumps(event_dict, default=str, ensure_ascii=False) + "\n")
        return event_dict

    def close(self) -> None:
        self._stream.close()


class DropBelow:
    """Drops console events under a level; placed after the file writer so the file keeps them."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        if _LEVELS.get(event_dict.get("level", "info"), logging.INFO) < self.level:
            import structlog

            raise structlog.DropEvent
        return event_dict


class HumanRenderer:
    """``warning: event (key: value; ...)``: a problem told to a person, without timestamps or Python reprs."""

    _COLOURS: ClassVar[dict[str, str]] = {"warning": "\x1b[33m", "error": "\x1b[31m", "critical": "\x1b[31m"}
    _HIDDEN: ClassVar[frozenset[str]] = frozenset({"event", "level", "timestamp"})

    def __init__(self, *, colors: bool) -> None:
        self.colors = colors

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
        level = str(event_dict.get("level", method_name))
        details = "; ".join(f"{key}: {plain(value)}" for key, value in event_dict.items() if key not in self._HIDDEN)
        text = f"{level}: {event_dict.get('event', '')}" + (f" ({details})" if details else "")
        colour = self._COLOURS.get(level) if self.colors else None
        return f"{colour}{text}\x1b[0m" if colour else text


def plain(value: Any) -> str:
    """A value as a person reads it: lists joined by commas, strings without quotes."""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {plain(item)}" for key, item in value.items())
    return str(value)


def colours_wanted(stream: TextIO | None = None) -> bool:
    """Colour on a terminal only, and not when NO_COLOR is set to anything."""
    return _is_tty(stream) and not os.environ.get("NO_COLOR")


_open_file: JsonLinesFile | None = None


def configure_logging(
    *,
    log_file: Path | None,
    json_console: bool = False,
    console_level: str = "info",
    stream: TextIO | None = None,
    human: bool = False,
) -> None:
    """Configure structlog for this process; safe to call again (e.g. once the project root is known).

    ``human``: console events as :class:`HumanRenderer` lines (the steps themselves are shown by the CLI's console).
    """
    import structlog

    global _open_file
    if _open_file is not None:
        _open_file.close()
        _open_file = None
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if log_file is not None:
        _open_file = JsonLinesFile(log_file)
        processors.append(_open_file)
    processors.append(DropBelow(_LEVELS[console_level]))
    renderer: Processor
    if json_console:
        renderer = structlog.processors.JSONRenderer(default=str)
    elif human:
        renderer = HumanRenderer(colors=colours_wanted(stream))
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=colours_wanted(stream), pad_event_to=30)
    processors.append(renderer)
    structlog.configure(
        processors=processors,
        logger_factory=structlog.PrintLoggerFactory(file=stream) if stream else _current_stderr,
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=False,
    )


def _current_stderr(*args: Any) -> structlog.PrintLogger:
    """A logger on whatever ``sys.stderr`` is now: a stream captured at configure time may since have been closed."""
    import structlog

    return structlog.PrintLogger(file=sys.stderr)


def _is_tty(stream: TextIO | None) -> bool:
    target = stream or sys.stderr
    isatty: Any = getattr(target, "isatty", None)
    return bool(isatty and isatty())


def get_logger(**context: Any) -> FilteringBoundLogger:
    """A lazy logger: it follows the configuration in force when it logs, not the one when it was created."""
    return cast("FilteringBoundLogger", _DeferredLogger(context))


class _DeferredLogger:
    """Stands for structlog's logger until first used, then imports structlog and hands every call to it.

    A process that logs before anything configured logging gets warnings and errors on stderr: structlog's own
    default would print every event on stdout, into the output of `--json`.
    """

    def __init__(self, context: dict[str, Any]) -> None:
        self._context = context
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # only structlog's public methods are handed on (and copy/pickle probes refused)
            raise AttributeError(name)
        if self._logger is None:
            import structlog

            if not structlog.is_configured():
                configure_logging(log_file=None, console_level="warning")
            self._logger = structlog.get_logger("autodev", **self._context)
        return getattr(self._logger, name)
