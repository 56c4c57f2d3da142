"""Where `ask` and `chat` work: the project found upward from the start directory, else that directory itself
with autodev's state (conversations, cache, spend) in the user's data directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from autodev.project import ProjectPaths, find_project_root, user_data_dir


def ask_paths(start: Path, env: Mapping[str, str]) -> ProjectPaths:
    """The project's paths when ``start`` is in a project; otherwise ``start`` with state in the data directory."""
    root = find_project_root(start)
    if root is not None:
        return ProjectPaths(root=root)
    return ProjectPaths(root=start, state_root=user_data_dir(env))


def in_project(paths: ProjectPaths) -> bool:
    return paths.state_root is None


def keep_state_out_of_git(paths: ProjectPaths) -> None:
    """`.autodev/` stays out of ``git status`` (as a pass keeps it), when the project is a repository."""
    from autodev.errors import AutodevError
    from autodev.vcs import GitRepo

    if not in_project(paths):
        return
    try:
        GitRepo.open(paths.root).ensure_excluded()
    except AutodevError:  # not a repository (ask works without one), or git cannot say
        return
