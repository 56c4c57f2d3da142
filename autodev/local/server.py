"""llama.cpp servers for local models: started on first use, health-checked, reused, stopped.

Each local model gets one `python -m llama_cpp.server` process on a free loopback port. A small registry file
per model (in the models directory) lets later processes reuse a healthy server and lets `autodev models stop`
find it. LiteLLM then talks to it like to any OpenAI-compatible server.
"""

from __future__ import annotations

import contextlib
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
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.errors import LocalModelError
from autodev.logs import get_logger

HEALTH_POLL_S = 0.2
STOP_GRACE_S = 5.0


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(port: int, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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

    def remove(self, alias: str) -> None:
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

    def __init__(self, settings: ServerSettings, registry: ServerRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.log = get_logger(component="local-models")

    def api_base(self, alias: str, model_path: Path) -> str:
        """A healthy server for this model: reused if one runs with the same file, else started now."""
        entry = self.registry.get(alias)
        if entry is not None and entry.model_path == str(model_path) and healthy(entry.port):
            return entry.api_base
        if not llama_server_available():
            raise LocalModelError(
                "serving local models needs llama.cpp's server: pip install 'autodev[local]' "
                "(it builds llama-cpp-python from source, a few minutes)"
            )
        return self._start(alias, model_path).api_base

    def _start(self, alias: str, model_path: Path) -> RunningServer:
        port = free_port()
        command = [
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
            str(self.settings.context_size),
            "--n_threads",
            str(self.settings.thread_count),
        ]
        self.registry.directory.mkdir(parents=True, exist_ok=True)
        log_path = self.registry.log_file(alias)
        self.log.info("starting local model server", alias=alias, port=port, threads=self.settings.thread_count)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        entry = RunningServer(
            alias=alias, model_path=str(model_path), pid=process.pid, port=port, started_at=time.time()
        )
        self._wait_healthy(process, entry, log_path)
        self.started[alias] = process
        self.registry.put(entry)
        return entry

    def _wait_healthy(self, process: subprocess.Popen[bytes], entry: RunningServer, log_path: Path) -> None:
        started = time.monotonic()
        deadline = started + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalModelError(
                    f"the llama.cpp server for {entry.alias} exited with status {process.returncode}: {_tail(log_path)}"
                )
            if healthy(entry.port, timeout_s=1.0):
                self.log.info(
                    "local model server ready", alias=entry.alias, seconds=round(time.monotonic() - started, 2)
                )
                return
            time.sleep(HEALTH_POLL_S)
        _terminate(process)
        raise LocalModelError(
            f"the llama.cpp server for {entry.alias} was not ready after {self.settings.startup_timeout_s:.0f} s "
            f"([local] startup_timeout_s); its log: {log_path}"
        )

    def close(self) -> None:
        for alias, process in list(self.started.items()):
            _terminate(process)
            self.registry.remove(alias)
            self.log.info("stopped local model server", alias=alias)
        self.started.clear()


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
    registry.remove(entry.alias)


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
