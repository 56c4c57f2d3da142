"""llama.cpp servers for local models: started on first use, health-checked, reused, stopped.

Each local model gets one `python -m llama_cpp.server` process on a free loopback port. A small registry file
per model (in the models directory) lets later processes reuse a healthy server and lets `autodev models stop`
find it. LiteLLM then talks to it like to any OpenAI-compatible server.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.errors import LocalModelError
from autodev.logs import get_logger

HEALTH_POLL_S = 0.2
STOP_GRACE_S = 5.0
PORT_TRIES = 3  # another program can take the free port between choosing it and the server binding it


class ServerSettings(BaseModel):
    """What every server is started with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context_size: int = 8192
    threads: int | None = None
    startup_timeout_s: float = 120.0

    @property
    def thread_count(self) -> int:
        return self.threads or max(1, os.cpu_count() or 1)


class RunningServer(BaseModel):
    """A registry entry: enough to reuse, show or stop a server from another process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str
    model_path: str
    pid: int
    port: int
    started_at: float

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def llama_server_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None


CommandFactory = Callable[[str, Path, int, ServerSettings], list[str]]  # (alias, model file, port, settings)


def llama_server_command(alias: str, model_path: Path, port: int, settings: ServerSettings) -> list[str]:
    """The llama.cpp server command line; the one place that knows llama.cpp is what serves the models."""
    if not llama_server_available():
        raise LocalModelError(
            "serving local models needs llama.cpp's server: pip install 'autodev[local]' "
            "(it builds llama-cpp-python from source, a few minutes)"
        )
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--model_alias",
        alias,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(settings.context_size),
        "--n_threads",
        str(settings.thread_count),
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def busy(port: int, timeout_s: float = 2.0) -> bool:
    """Something accepts connections on ``port`` but has not answered: llama.cpp while it generates.

    Its HTTP server answers the model list only between requests, so a server shared with another autodev (or
    a tool using `autodev models serve`) looks dead exactly when it is working hardest.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
            connection.settimeout(timeout_s)
            connection.sendall(b"GET /v1/models HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            connection.recv(1)  # an answer (or a close) means it is idle, and was not healthy: not ours
            return False
    except TimeoutError:
        return True
    except OSError:
        return False


def healthy(port: int, timeout_s: float = 2.0, alias: str | None = None) -> bool:
    """The server on ``port`` answers its model list, and (given ``alias``) serves that model.

    Checking the alias keeps a recycled port, now held by some other server, from passing for ours.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=timeout_s) as response:
            if response.status != 200:
                return False
            if alias is None:
                return True
            listing = json.loads(response.read())
    except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError):
        return False
    data = listing.get("data") if isinstance(listing, dict) else None
    return isinstance(data, list) and any(isinstance(item, dict) and item.get("id") == alias for item in data)


def pid_alive(pid: int) -> bool:
    """Whether the process runs; a zombie (exited, not yet reaped by its parent) does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:  # no procfs (macOS): trust the signal
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class ServerRegistry:
    """One JSON file per alias under ``directory``/servers; entries of dead processes are dropped on read."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "servers"

    def _file(self, alias: str) -> Path:
        return self.directory / (alias.replace("/", "__") + ".json")

    def log_file(self, alias: str) -> Path:
        return self.directory / (alias.replace("/", "__") + ".log")

    def get(self, alias: str) -> RunningServer | None:
        try:
            entry = RunningServer.model_validate_json(self._file(alias).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not pid_alive(entry.pid):
            self.remove(alias)
            return None
        return entry

    def put(self, entry: RunningServer) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self._file(entry.alias).with_suffix(".tmp")
        temporary.write_text(entry.model_dump_json(), encoding="utf-8")
        temporary.replace(self._file(entry.alias))

    def remove(self, alias: str, pid: int | None = None) -> None:
        """Drop the entry; given ``pid``, only if it is still that process's (another may have replaced it)."""
        if pid is not None:
            try:
                entry = RunningServer.model_validate_json(self._file(alias).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                entry = None
            if entry is not None and entry.pid != pid:
                return
        with contextlib.suppress(FileNotFoundError):
            self._file(alias).unlink()

    def all(self) -> list[RunningServer]:
        if not self.directory.is_dir():
            return []
        aliases = []
        for path in sorted(self.directory.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                aliases.append(json.loads(path.read_text(encoding="utf-8"))["alias"])
        return [entry for alias in aliases if (entry := self.get(alias)) is not None]


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
        self.log = get_logger(component="local-models")

    def api_base(self, alias: str, model_path: Path) -> str:
        """A healthy server for this model: reused if one runs with the same file, else started now."""
        entry = self.registry.get(alias)
        if entry is not None and entry.model_path == str(model_path):
            if healthy(entry.port, alias=alias):
                return entry.api_base
            if busy(entry.port):
                self.log.info("local model server busy; reusing it", alias=alias, port=entry.port, pid=entry.pid)
                return entry.api_base
        return self._start(alias, model_path).api_base

    def _start(self, alias: str, model_path: Path) -> RunningServer:
        self._stop_own(alias)  # ours but dead or unresponsive: replaced, never leaked
        self.registry.directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, PORT_TRIES + 1):
            port = free_port()
            command = self.command_factory(alias, model_path, port, self.settings)
            process = self._launch(alias, command, port)
            entry = RunningServer(
                alias=alias, model_path=str(model_path), pid=process.pid, port=port, started_at=time.time()
            )
            try:
                self._wait_healthy(process, entry)
            except _PortTakenError:
                if attempt == PORT_TRIES:
                    raise
                self.log.warning("port taken before the server bound it; trying another", alias=alias, port=port)
                continue
            except BaseException:
                _terminate(process)  # a timeout or Ctrl-C must not leave an orphan server behind
                raise
            self.started[alias] = process
            self.registry.put(entry)
            return entry
        raise AssertionError("unreachable: the last try returns or raises")

    def _launch(self, alias: str, command: list[str], port: int) -> subprocess.Popen[bytes]:
        """Start the server in its own session, so that stopping it stops its whole process group."""
        self.log.info("starting local model server", alias=alias, port=port, threads=self.settings.thread_count)
        with self.registry.log_file(alias).open("wb") as log:  # one start's log, not every start's since install
            return subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_healthy(self, process: subprocess.Popen[bytes], entry: RunningServer) -> None:
        log_path = self.registry.log_file(entry.alias)
        started = time.monotonic()
        deadline = started + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                exited = f"the llama.cpp server for {entry.alias} exited with status {process.returncode}"
                if "address already in use" in _tail(log_path, chars=20_000).lower():  # uvicorn logs more after
                    raise _PortTakenError(
                        f"{exited}: address already in use on port {entry.port}; gave up after {PORT_TRIES} tries "
                        f"on other free ports; its log: {log_path}"
                    )
                raise LocalModelError(f"{exited}: {_tail(log_path)}")
            if healthy(entry.port, timeout_s=1.0, alias=entry.alias):
                self.log.info(
                    "local model server ready", alias=entry.alias, seconds=round(time.monotonic() - started, 2)
                )
                return
            time.sleep(HEALTH_POLL_S)
        _terminate(process)
        raise LocalModelError(
            f"the llama.cpp server for {entry.alias} was not ready after {self.settings.startup_timeout_s:g} s "
            f"([local] startup_timeout_s); it was stopped; its log: {log_path}: {_tail(log_path, 300)}"
        )

    def _stop_own(self, alias: str) -> None:
        process = self.started.pop(alias, None)
        if process is not None:
            _terminate(process)
            self.registry.remove(alias, pid=process.pid)

    def close(self) -> None:
        for alias in list(self.started):
            self._stop_own(alias)
            self.log.info("stopped local model server", alias=alias)


class _PortTakenError(LocalModelError):
    """The server could not bind its port: worth another try on another port."""


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


def _terminate(process: subprocess.Popen[bytes]) -> None:
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


def _tail(path: Path, chars: int = 600) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:].strip()
    except OSError:
        return "(no log)"
