"""Shared fixtures: real git repositories in temporary directories, and the scripted model server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import git

from autodev.testing import ScriptedServer

# The suite never reaches a real provider: LiteLLMClient refuses any api_base that is not loopback.
os.environ["AUTODEV_NO_NETWORK"] = "1"
# Nor does it read the user's own configuration: an empty config home, and no AUTODEV_SECTION__KEY variables.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="autodev-tests-config-")
for _name in [name for name in os.environ if name.startswith("AUTODEV_") and "__" in name[len("AUTODEV_") :]]:
    del os.environ[_name]


@pytest.fixture(autouse=True)
def learning_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has a learning store of its own (``$XDG_DATA_HOME/autodev/``), empty at the start: one test's
    solutions are never reused by another, and the user's own store is never touched."""
    home = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


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
