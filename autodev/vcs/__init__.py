"""autodev's git layer, the only code that runs git: find the repository, check for uncommitted work, commit
only autodev's files, and read commits' trailers."""

from __future__ import annotations

from autodev.vcs.commit import commit_all
from autodev.vcs.history import TrailedCommit, head_commit, trailer_log
from autodev.vcs.repo import GitRepo, init_repository

__all__ = ["GitRepo", "TrailedCommit", "commit_all", "head_commit", "init_repository", "trailer_log"]
