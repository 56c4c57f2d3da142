"""llama.cpp servers for local models: started on first use, ready only once they answer, reused, stopped.

Each local model gets one server process (autodev's launcher around llama-cpp-python's server) on a free loopback
port; LiteLLM then talks to it like to any OpenAI-compatible server. What happens when a server dies is policy, kept
here in one place: a crash on its first completion (a build this CPU cannot run) is diagnosed and never restarted by
this manager; a later crash fails the call that saw it and the server is restarted once; a call that timed out gets
its server restarted too, because llama.cpp keeps generating for a client that gave up. Starting one server until
it is ready is :mod:`autodev.local.startup`'s job.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from autodev.errors import LocalModelError, ModelError
from autodev.local.crash import describe_exit
from autodev.local.health import busy, healthy
from autodev.local.registry import RunningServer, ServerRegistry, pid_alive
from autodev.local.startup import STOP_GRACE_S, ServerCannotRunError, start_ready_server, terminate
from autodev.logs import get_logger

RESTARTS_AFTER_CRASH = 1  # a server that crashed after it had answered is started again this often, then no more
PLACEHOLDERS = ("model", "alias", "host", "port", "context_size", "threads", "parent")


class ServerSettings(BaseModel):
    """What every server is started with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context_size: int = 8192
    threads: int | None = None
    startup_timeout_s: float = 120.0
    extra_buffers: Literal["auto", "on", "off"] = "auto"
    command: tuple[str, ...] | None = None  # [local] server_command, with {model}, {port}, ... placeholders

    @property
    def thread_count(self) -> int:
        return self.threads or max(1, os.cpu_count() or 1)


def llama_server_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None


CommandFactory = Callable[[str, Path, int, ServerSettings], list[str]]  # (alias, model file, port, settings)


def llama_server_command(alias: str, model_path: Path, port: int, settings: ServerSettings) -> list[str]:
    """The server's command line: ``[local] server_command`` filled in, else autodev's llama.cpp launcher."""
    values = {
        "model": str(model_path),
        "alias": alias,
        "host": "127.0.0.1",
        "port": str(port),
        "context_size": str(settings.context_size),
        "threads": str(settings.thread_count),
        "parent": str(os.getpid()),
    }
    if settings.command is not None:
        return [_fill(part, values) for part in settings.command]
    if not llama_server_available():
        raise LocalModelError(
            "serving local models needs llama.cpp's server: pip install 'autodev[local]' "
            "(it builds llama-cpp-python from source, a few minutes)"
        )
    launcher = [sys.executable, "-m", "autodev.local.launch", "--parent", values["parent"]]
    launcher += ["--extra-buffers", settings.extra_buffers, "--"]
    return [
        *launcher,
        "--model",
        values["model"],
        "--model_alias",
        alias,
        "--host",
        values["host"],
        "--port",
        values["port"],
        "--n_ctx",
        values["context_size"],
        "--n_threads",
        values["threads"],
        # a second client must wait its turn, not cut the first one's reply short
        "--interrupt_requests",
        "False",
        # llama-cpp-python's server default (True) computes every prompt token's logits and keeps them in an
        # n_ctx x n_vocab array, for logprobs autodev never asks for (benchmarks/server_logits.py)
        "--logits_all",
        "False",
    ]


def _fill(part: str, values: dict[str, str]) -> str:
    for name in PLACEHOLDERS:
        part = part.replace("{" + name + "}", values[name])
    return part


class ServerManager:
    """Starts servers on demand and stops, at close, the ones it started (never another process's)."""

    def __init__(
        self,
        settings: ServerSettings,
        registry: ServerRegistry,
        command_factory: CommandFactory = llama_server_command,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.command_factory = command_factory
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.broken: dict[str, str] = {}  # alias -> why it is not started again by this manager
        self.crashes: dict[str, int] = {}
        self.log = get_logger(component="local-models")

    def api_base(self, alias: str, model_path: Path) -> str:
        """A ready server for this model: reused if one runs with the same file, else started now."""
        if alias in self.broken:
            raise LocalModelError(self.broken[alias])
        entry = self.registry.get(alias)
        if entry is not None and entry.model_path == str(model_path):
            if healthy(entry.port, alias=alias):
                return entry.api_base
            if busy(entry.port):
                self.log.info("local model server busy; reusing it", alias=alias, port=entry.port, pid=entry.pid)
                return entry.api_base
        return self._start(alias, model_path).api_base

    def call_failed(self, alias: str, error: ModelError) -> ModelError:
        """What a failed call to ``alias`` means, and what to do about its server (see the module docstring)."""
        process = self.started.get(alias)
        if process is None:
            return error
        if error.kind == "cannot connect":  # a dying server drops its connections a moment before it is reaped
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)
        if process.poll() is not None:
            return self._crashed(alias, process, error)
        if error.kind == "timed out":
            self.log.warning("stopping a server still generating for a call that timed out", alias=alias)
            self._stop_own(alias)
        return error

    def _crashed(self, alias: str, process: subprocess.Popen[bytes], error: ModelError) -> ModelError:
        self._stop_own(alias)
        self.crashes[alias] = self.crashes.get(alias, 0) + 1
        message = describe_exit(alias, process.returncode, self.registry.log_file(alias), when="during a request")
        if self.crashes[alias] > RESTARTS_AFTER_CRASH:
            message += f" (it crashed {self.crashes[alias]} times; not started again)"
            self.broken[alias] = message
        else:
            message += " (it will be started once more)"
        self.log.error("local model server crashed", alias=alias, status=process.returncode)
        return ModelError(error.model, "local server crashed", message, retryable=False)

    def _start(self, alias: str, model_path: Path) -> RunningServer:
        self._stop_own(alias)  # ours but dead or unresponsive: replaced, never leaked
        try:
            process, entry = start_ready_server(
                alias,
                model_path,
                lambda port: self.command_factory(alias, model_path, port, self.settings),
                self.registry,
                startup_timeout_s=self.settings.startup_timeout_s,
                threads=self.settings.thread_count,
            )
        except ServerCannotRunError as error:
            self.broken[alias] = str(error)
            raise
        self.started[alias] = process
        self.registry.put(entry)
        return entry

    def _stop_own(self, alias: str) -> None:
        process = self.started.pop(alias, None)
        if process is not None:
            terminate(process)
            self.registry.remove(alias, pid=process.pid)

    def close(self) -> None:
        for alias in list(self.started):
            self._stop_own(alias)
            self.log.info("stopped local model server", alias=alias)


def stop_server(entry: RunningServer, registry: ServerRegistry) -> None:
    """Stop a server another process started (`autodev models stop`)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(entry.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while pid_alive(entry.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(entry.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(entry.pid, signal.SIGKILL)
    registry.remove(entry.alias, pid=entry.pid)
