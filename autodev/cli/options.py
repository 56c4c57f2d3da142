"""Options given before the command, shared by every command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autodev.config import Config
    from autodev.config_layers import LayeredConfig


@dataclass(frozen=True)
class GlobalOptions:
    """What `autodev [-C DIR] [--log-json] [-v|-q] [--set KEY=VALUE]...` said, handed to each command.

    ``start`` is where autodev was started (the cwd or ``-C DIR``); the project root is found from it upward only
    when a command asks for it, so `autodev status --help` works anywhere and `init` never needs a project. A
    dataclass, not a pydantic model, and project.py imported on use: `autodev --help` must not pay for either.
    """

    start: Path
    log_json: bool
    console_level: str
    settings: tuple[str, ...] = ()  # --set KEY=VALUE, in the order given (a later one wins)

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

    @property
    def project_root(self) -> Path | None:
        """The project's root, or None outside any project."""
        from autodev.project import find_project_root

        return find_project_root(self.start)

    @property
    def config_flags(self) -> dict[str, Any]:
        """The --set values by key, each value read like an AUTODEV_* variable's (a TOML value, else a string)."""
        from autodev.config_layers import parse_set_option

        return dict(parse_set_option(text) for text in self.settings)

    def layered_config(self, root: Path | None) -> LayeredConfig:
        """Every level of the configuration for ``root`` (None: no project), with this process's environment."""
        from autodev.config_layers import load_effective_config

        return load_effective_config(root, os.environ, self.config_flags, start=self.start)

    def config(self, root: Path | None) -> Config:
        """The effective configuration for ``root``: defaults, user config, autodev.toml, AUTODEV_*, --set."""
        return self.layered_config(root).config
