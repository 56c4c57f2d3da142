"""autodev's git layer: find the repository, check for uncommitted work, commit only autodev's files."""

from __future__ import annotations

from autodev.vcs.repo import GitRepo, init_repository

__all__ = ["GitRepo", "init_repository"]
