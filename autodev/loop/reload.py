"""What the loop reloads between passes: configuration, project memory and custom commands, and whether it matters.

The watcher sees the project's tree through the watch patterns; these sources are partly outside it (the user's
config.toml and commands, `.autodev/commands`, which the watcher ignores with the rest of `.autodev`), so they are
looked at by their files' sizes and modification times on every idle slice: a few ``stat`` calls. A change is a
pass trigger only when it can change an outcome (:func:`triggers_pass`): a new debounce time or an edited command
file cannot; an AGENTS.md edit can only when a requirement is still unmet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from autodev.commands import PROJECT_COMMAND_DIRS, command_directories, command_file_paths
from autodev.config import CONFIG_FILE_NAME, Config
from autodev.config_layers import user_config_file
from autodev.memory import NESTED_FILES, ROOT_FILES, Memory

Source = Literal["config", "memory", "commands"]
Signature = dict[str, tuple[int, int]]  # path -> (size, mtime_ns) of every file a source is read from

MAX_COMMAND_FILES = 500  # a commands directory bigger than this is not worth polling every second


@dataclass
class SourceWatch:
    """The last seen signature of each source; :meth:`changed` says which differ now."""

    root: Path
    env: Mapping[str, str]
    seen: dict[Source, Signature] = field(default_factory=dict)

    def look(self, config: Config, memory: Memory) -> None:
        """Remember the sources as they are now (after a reload, so its own reading is the baseline)."""
        self.seen = self._signatures(config, memory)

    def changed(self, config: Config, memory: Memory, watched: Iterable[str] = ()) -> set[Source]:
        """The sources whose files changed since the last :meth:`look`, plus those the watcher's paths name."""
        now = self._signatures(config, memory)
        found: set[Source] = {source for source, signature in now.items() if signature != self.seen.get(source)}
        found |= {source for path in watched if (source := source_of(path, config)) is not None}
        return found

    def _signatures(self, config: Config, memory: Memory) -> dict[Source, Signature]:
        memory_paths = {*ROOT_FILES, *config.context.memory_files, *(file.path for file in memory.files)}
        return {
            "config": _signature([user_config_file(self.env), self.root / CONFIG_FILE_NAME]),
            "memory": _signature(self.root / rel for rel in sorted(memory_paths)),
            "commands": _signature(_command_files(path for path, _ in command_directories(self.root, self.env))),
        }


def source_of(rel: str, config: Config) -> Source | None:
    """Which source a changed project path belongs to (None: an ordinary file of the project)."""
    if rel == CONFIG_FILE_NAME:
        return "config"
    if any(rel == directory or rel.startswith(f"{directory}/") for directory in PROJECT_COMMAND_DIRS):
        return "commands"
    if rel in ROOT_FILES or rel in config.context.memory_files or PurePosixPath(rel).name in NESTED_FILES:
        return "memory"
    return None


def project_changes(changes: Iterable[str], config: Config) -> set[str]:
    """The changed paths that are neither configuration, memory nor commands: the spec, the tests, the code."""
    return {rel for rel in changes if source_of(rel, config) is None}


def triggers_pass(sources: set[Source], before: Config, after: Config, *, unmet: bool) -> bool:
    """Whether reloaded sources can change what a pass does.

    Configuration: any change but the watch settings (which the watcher takes by itself). Memory: only while a
    requirement is unmet (a green project calls no model) and memory is on. Commands: never; a pass runs none.
    """
    if "config" in sources and before.model_copy(update={"monitoring": after.monitoring}) != after:
        return True
    return "memory" in sources and unmet and after.context.memory


def _signature(paths: Iterable[Path]) -> Signature:
    signature: Signature = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        signature[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return signature


def _command_files(directories: Iterable[Path]) -> list[Path]:
    """Every command file (few and small), up to :data:`MAX_COMMAND_FILES`."""
    files: list[Path] = []
    for directory in directories:
        files.extend(itertools.islice(command_file_paths(directory), MAX_COMMAND_FILES - len(files)))
    return files
