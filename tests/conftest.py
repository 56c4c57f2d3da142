"""Shared fixtures: real git repositories in temporary directories, and the scripted model server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import git

from autodev.testing import ScriptedServer

# The suite never reaches a real provider: LiteLLMClient refuses any api_base that is not loopback.
os.environ["AUTODEV_NO_NETWORK"] = "1"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository with an identity, isolated from the user's global git config."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    return root


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A scripted OpenAI-compatible server on loopback, stopped after the test."""
    with ScriptedServer() as scripted:
        yield scripted
