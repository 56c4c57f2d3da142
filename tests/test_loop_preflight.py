"""`loop start`, `loop run` and `service install` refuse a project that cannot work, before starting anything.

Real `python -m autodev` processes, as a user meets them: the exit status, the one line on stderr, and nothing
left behind (no pid file, no loop, no unit).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.req("LOOP-2")

BAD_TOML = "[monitoring\n"
UNKNOWN_KEY = "[monitoring]\nwatch_pattern = ['*.md']\n"


def autodev(root: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if home is not None:
        env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    return subprocess.run(
        [sys.executable, "-m", "autodev", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def assert_nothing_started(root: Path) -> None:
    assert not (root / ".autodev" / "loop.pid").exists()
    assert not (root / ".autodev" / "loop.json").exists()


class TestNotAGitRepository:
    @pytest.mark.parametrize("command", [["loop", "start"], ["loop", "run"]])
    def test_start_and_run_exit_2_naming_the_fix(self, tmp_path: Path, command: list[str]) -> None:
        """A plain directory with an autodev.toml: exit 2, "not a git repository" with both fixes, no loop."""
        root = tmp_path / "plain"
        root.mkdir()
        (root / "autodev.toml").write_text("", encoding="utf-8")
        done = autodev(root, *command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{root} is not a git repository: run `autodev init` (it runs git init) or `git init`" in done.stderr
        assert "started" not in done.stdout
        assert_nothing_started(root)


class TestInvalidConfig:
    @pytest.mark.parametrize("text", [BAD_TOML, UNKNOWN_KEY])
    def test_start_exits_2_with_one_line_and_no_log_dump(self, repo: Path, text: str) -> None:
        """The config error names the file (and the key), on one line; the loop is never spawned."""
        (repo / "autodev.toml").write_text(text, encoding="utf-8")
        done = autodev(repo, "loop", "start")
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(repo / "autodev.toml") in lines[0]
        if text == UNKNOWN_KEY:
            assert "monitoring.watch_pattern: unknown key" in lines[0]
        assert not (repo / ".autodev" / "logs" / "loop.out").exists()
        assert_nothing_started(repo)

    def test_service_install_dry_run_exits_2_and_prints_no_unit(self, repo: Path, tmp_path: Path) -> None:
        """A unit for a project whose loop would exit at once would only crash-loop: no unit is shown or written."""
        (repo / "autodev.toml").write_text(UNKNOWN_KEY, encoding="utf-8")
        home = tmp_path / "home"
        home.mkdir()
        done = autodev(repo, "service", "install", "--systemd", "--dry-run", home=home)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "monitoring.watch_pattern: unknown key" in done.stderr
        assert "[Service]" not in done.stdout
        assert list(home.rglob("*")) == []

    def test_a_missing_autodev_toml_is_refused(self, repo: Path) -> None:
        """A git repository that was never initialised for autodev: exit 2, pointing to `autodev init`."""
        done = autodev(repo, "loop", "start")
        assert done.returncode == 2
        assert "no autodev project in" in done.stderr and "run `autodev init`" in done.stderr
        assert_nothing_started(repo)
