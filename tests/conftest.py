"""Shared fixtures: real git repositories in temporary directories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# The suite never reaches a real provider: LiteLLMClient refuses any api_base that is not loopback.
os.environ["AUTODEV_NO_NETWORK"] = "1"


def git(cwd: Path, *args: str) -> str:
    """Run real git in ``cwd`` and return its stdout; tests use it to set up and inspect repositories."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


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
