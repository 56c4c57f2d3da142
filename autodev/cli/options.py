"""Options given before the command, shared by every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GlobalOptions:
    """What `autodev [-C DIR] [--log-json] [-v|-q]` said, handed to each command.

    ``start`` is where autodev was started (the cwd or ``-C DIR``); the project root is found from it upward only
    when a command asks for it, so `autodev status --help` works anywhere and `init` never needs a project. A
    dataclass, not a pydantic model, and project.py imported on use: `autodev --help` must not pay for either.
    """

    start: Path
    log_json: bool
    console_level: str

    @property
    def root(self) -> Path:
        """The project's root: the nearest directory upward with autodev.toml; a usage error when there is none."""
        from autodev.project import require_project_root

        return require_project_root(self.start)

    @property
    def root_or_start(self) -> Path:
        """The project's root when there is one, else the start directory (commands that work outside projects)."""
        from autodev.project import find_project_root

        return find_project_root(self.start) or self.start
