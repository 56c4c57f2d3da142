"""What a loop needs before it may start: a git repository, an autodev.toml, and one that is valid.

Checked by `loop start`, `loop run` and `service install` before anything is spawned or written, so that a
project that cannot work fails once, with one line saying what to do, instead of a loop (or a service that
restarts it forever) failing every pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autodev.config import Config
from autodev.config_layers import load_effective_config
from autodev.errors import NotARepositoryError, UsageError
from autodev.project import ProjectPaths
from autodev.vcs import GitRepo


def check_project(root: Path, env: Mapping[str, str] | None = None, flags: Mapping[str, Any] | None = None) -> Config:
    """The project's valid configuration (every level: config_layers.py), or UsageError (exit 2) naming the first
    thing to fix. ``env`` is the environment the loop will run with (default: none of its variables).

    ConfigError already names the file, the key and the problem in one line; it is passed on as it is.
    """
    try:
        GitRepo.open(root)
    except NotARepositoryError:
        raise NotARepositoryError(
            f"{root} is not a git repository: run `autodev init` (it runs git init) or `git init`"
        ) from None
    paths = ProjectPaths(root=root)
    if not paths.config_file.is_file():
        raise UsageError(f"{root} has no {paths.config_file.name}: run `autodev init` to create one")
    return load_effective_config(root, env or {}, flags).config
