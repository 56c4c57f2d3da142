"""Which local model servers run on this machine: one small JSON file per alias, readable by any autodev process.

The registry lets a later process reuse a healthy server and lets `autodev models stop` find one; entries whose
process is gone are dropped when read, so a crash never leaves a server that "runs" only on paper.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict


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
