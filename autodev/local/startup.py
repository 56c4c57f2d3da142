"""Starting one local model server until it is ready: a free port, its own session, then a real completion.

A server counts as ready only once it has computed a completion: listing the model proves the process is up,
not that this CPU can run the build. A server that exits while starting is diagnosed from its log; one that dies
on its first completion, or by a signal, would fail the same way again, which :class:`ServerCannotRunError` tells
the caller. A taken port is retried on another, and nothing is left running after a failure or a Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from autodev.errors import LocalModelError
from autodev.local.crash import describe_exit, log_tail
from autodev.local.health import answers, healthy
from autodev.local.registry import RunningServer, ServerRegistry
from autodev.logs import get_logger

if TYPE_CHECKING:  # a type only: structlog itself is imported at the first event (autodev.logs)
    from structlog.typing import FilteringBoundLogger

HEALTH_POLL_S = 0.2
STOP_GRACE_S = 5.0
PORT_TRIES = 3  # another program can take the free port between choosing it and the server binding it


class ServerCannotRunError(LocalModelError):
    """The server died in a way that would repeat (on its first completion, or by a signal): do not start it again."""


class _PortTakenError(LocalModelError):
    """The server could not bind its port: worth another try on another port."""


def _log() -> FilteringBoundLogger:
    return get_logger(component="local-models")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_ready_server(
    alias: str,
    model_path: Path,
    command_for_port: Callable[[int], list[str]],
    registry: ServerRegistry,
    *,
    startup_timeout_s: float,
    threads: int,
) -> tuple[subprocess.Popen[bytes], RunningServer]:
    """A server for ``alias`` that has answered a completion, and its registry entry (not yet registered).

    Raises LocalModelError (ServerCannotRunError when a new start would fail alike) with the server's log.
    """
    registry.directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, PORT_TRIES + 1):
        port = free_port()
        command = command_for_port(port)
        process = _launch(alias, command, port, registry, threads=threads)
        entry = RunningServer(
            alias=alias, model_path=str(model_path), pid=process.pid, port=port, started_at=time.time()
        )
        try:
            _wait_ready(process, entry, registry, startup_timeout_s)
        except _PortTakenError:
            if attempt == PORT_TRIES:
                raise
            _log().warning("port taken before the server bound it; trying another", alias=alias, port=port)
            continue
        except BaseException:
            terminate(process)  # a timeout or Ctrl-C must not leave an orphan server behind
            raise
        return process, entry
    raise AssertionError("unreachable: the last try returns or raises")


def _launch(
    alias: str, command: list[str], port: int, registry: ServerRegistry, *, threads: int
) -> subprocess.Popen[bytes]:
    """Start the server in its own session, so that stopping it stops its whole process group."""
    _log().info("starting local model server", alias=alias, port=port, threads=threads)
    with registry.log_file(alias).open("wb") as log:  # one start's log, not every start's since install
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_ready(
    process: subprocess.Popen[bytes], entry: RunningServer, registry: ServerRegistry, startup_timeout_s: float
) -> None:
    """Until the model list names the alias, then one completion: only a server that computed is ready."""
    started = time.monotonic()
    deadline = started + startup_timeout_s
    checks: list[tuple[bool, Callable[[], bool]]] = [
        (False, lambda: healthy(entry.port, timeout_s=1.0, alias=entry.alias)),
        (True, lambda: answers(entry.port, entry.alias, timeout_s=max(1.0, deadline - time.monotonic()))),
    ]
    for first_completion, passed in checks:
        while not passed():
            _check_alive(process, entry, registry, first_completion=first_completion)
            if time.monotonic() >= deadline:
                _not_ready(process, entry, registry, startup_timeout_s)
            time.sleep(HEALTH_POLL_S)
    _log().info("local model server ready", alias=entry.alias, seconds=round(time.monotonic() - started, 2))


def _check_alive(
    process: subprocess.Popen[bytes], entry: RunningServer, registry: ServerRegistry, *, first_completion: bool
) -> None:
    try:
        process.wait(timeout=0.3 if first_completion else 0)  # a dying server needs a moment to be reaped
    except subprocess.TimeoutExpired:
        return
    log_path = registry.log_file(entry.alias)
    if "address already in use" in log_tail(log_path, chars=20_000).lower():  # uvicorn logs more after
        raise _PortTakenError(
            f"the llama.cpp server for {entry.alias} exited with status {process.returncode}: address already "
            f"in use on port {entry.port}; gave up after {PORT_TRIES} tries on other free ports; its log: "
            f"{log_path}"
        )
    when = "on its first completion" if first_completion else "while starting"
    message = describe_exit(entry.alias, process.returncode, log_path, when=when)
    if first_completion or process.returncode < 0:  # a build that cannot run here fails the same way again
        raise ServerCannotRunError(message + " It is not started again until autodev restarts.")
    raise LocalModelError(message)


def _not_ready(
    process: subprocess.Popen[bytes], entry: RunningServer, registry: ServerRegistry, startup_timeout_s: float
) -> NoReturn:
    terminate(process)
    log_path = registry.log_file(entry.alias)
    raise LocalModelError(
        f"the llama.cpp server for {entry.alias} was not ready after {startup_timeout_s:g} s "
        f"([local] startup_timeout_s); it was stopped; its log: {log_path}: {log_tail(log_path, 300)}"
    )


def terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this process started: SIGTERM to its process group, SIGKILL after STOP_GRACE_S."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE_S)
