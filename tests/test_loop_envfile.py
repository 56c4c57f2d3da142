"""The service's PATH, network and provider keys: what `autodev service install` writes, through the real CLI.

The CLI runs as a real process with HOME and XDG_CONFIG_HOME in a temporary directory and no systemctl on
PATH, so no real service manager is ever told anything.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import git

from autodev.llm.client import _KEY_VARIABLES
from autodev.loop.envfile import PROVIDER_KEY_VARIABLES
from autodev.loop.service import systemd_unit

pytestmark = pytest.mark.req("LOOP-2")

FAKE_KEYS = {"OPENAI_API_KEY": "sk-fake-openai-123", "ANTHROPIC_API_KEY": "sk-ant-fake-456"}


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "autodev.toml").write_text("", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "config")
    return repo


def install(project: Path, home: Path, *args: str, keys: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bare = home / "bin"  # git, but no systemctl: the install writes files and lists the commands to run
    bare.mkdir(parents=True, exist_ok=True)
    if not (bare / "git").exists():
        (bare / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    env = {name: value for name, value in os.environ.items() if name not in PROVIDER_KEY_VARIABLES}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "PATH": str(bare), **keys}
    return subprocess.run(
        [sys.executable, "-m", "autodev", "-C", str(project), "service", "install", "--systemd", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


class TestUnitEnvironment:
    def test_path_is_deduplicated_autodevs_directory_and_the_systems(self, tmp_path: Path) -> None:
        """Not the caller's PATH: the program's directory first, then /usr/local/bin:/usr/bin:/bin, once each."""
        unit = systemd_unit(tmp_path, ["/usr/bin/autodev"])
        assert 'Environment="PATH=/usr/bin:/usr/local/bin:/bin"\n' in unit
        venv = systemd_unit(tmp_path, ["/home/me/.venv/bin/autodev"])
        assert 'Environment="PATH=/home/me/.venv/bin:/usr/local/bin:/usr/bin:/bin"\n' in venv
        assert os.environ.get("PATH", "") not in venv.replace("/home/me/.venv/bin:/usr/local/bin:/usr/bin:/bin", "")

    def test_network_online_is_wanted_and_waited_for(self, tmp_path: Path) -> None:
        """After= alone orders nothing when nobody pulls the target in: Wants= comes with it."""
        unit = systemd_unit(tmp_path, ["/usr/bin/autodev"])
        assert "\nWants=network-online.target\nAfter=network-online.target\n" in unit

    def test_keys_come_from_the_users_env_file_and_usage_errors_are_not_restarted(self, tmp_path: Path) -> None:
        """EnvironmentFile=- (optional) names the env file; exit 2 (a config error) stops the restarts."""
        unit = systemd_unit(tmp_path, ["/usr/bin/autodev"], env_file=Path("/home/me/.config/autodev/env"))
        assert "\nEnvironmentFile=-/home/me/.config/autodev/env\n" in unit
        assert "\nRestartPreventExitStatus=2\n" in unit

    def test_the_key_list_covers_every_provider_autodev_calls(self) -> None:
        """The service's list of key variables is the model client's (it cannot import it: layers)."""
        assert set(PROVIDER_KEY_VARIABLES) == set(_KEY_VARIABLES.values())


class TestEnvFileFlag:
    def test_writes_the_set_keys_mode_0600_and_the_unit_reads_that_file(self, project: Path, tmp_path: Path) -> None:
        """--env-file: ~/.config/autodev/env holds the keys set now (names and values), private to the user."""
        home = tmp_path / "home"
        done = install(project, home, "--env-file", keys=FAKE_KEYS)
        assert done.returncode == 0, done.stdout + done.stderr
        env_file = home / ".config" / "autodev" / "env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        text = env_file.read_text(encoding="utf-8")
        assert "OPENAI_API_KEY='sk-fake-openai-123'\n" in text
        assert "ANTHROPIC_API_KEY='sk-ant-fake-456'\n" in text
        assert "sk-fake" not in done.stdout + done.stderr
        assert "ANTHROPIC_API_KEY, OPENAI_API_KEY" in done.stdout
        unit = next((home / ".config" / "systemd" / "user").glob("*.service")).read_text(encoding="utf-8")
        assert f"EnvironmentFile=-{env_file}\n" in unit
        assert "sk-fake" not in unit

    def test_a_second_install_replaces_its_keys_and_keeps_other_lines(self, project: Path, tmp_path: Path) -> None:
        """A rotated key is replaced, not duplicated; lines the user added by hand stay."""
        home = tmp_path / "home"
        assert install(project, home, "--env-file", keys=FAKE_KEYS).returncode == 0
        env_file = home / ".config" / "autodev" / "env"
        env_file.write_text(env_file.read_text(encoding="utf-8") + "MY_SETTING='x'\n", encoding="utf-8")
        assert install(project, home, "--env-file", keys={"OPENAI_API_KEY": "sk-rotated"}).returncode == 0
        text = env_file.read_text(encoding="utf-8")
        assert text.count("OPENAI_API_KEY=") == 1
        assert "OPENAI_API_KEY='sk-rotated'\n" in text
        assert "ANTHROPIC_API_KEY='sk-ant-fake-456'\n" in text
        assert "MY_SETTING='x'\n" in text

    def test_dry_run_names_the_keys_and_prints_no_value(self, project: Path, tmp_path: Path) -> None:
        """--dry-run --env-file says which keys it would write, shows no value, and writes nothing."""
        home = tmp_path / "home"
        done = install(project, home, "--env-file", "--dry-run", keys=FAKE_KEYS)
        assert done.returncode == 0, done.stderr
        assert "would write" in done.stdout
        assert "(mode 0600) with ANTHROPIC_API_KEY, OPENAI_API_KEY" in done.stdout
        assert "sk-fake" not in done.stdout + done.stderr
        assert "sk-ant" not in done.stdout + done.stderr
        assert not (home / ".config").exists()

    def test_without_the_flag_a_set_key_is_pointed_out(self, project: Path, tmp_path: Path) -> None:
        """A key set in the shell but absent from the env file would be missing under the service: say so."""
        done = install(project, tmp_path / "home", "--dry-run", keys={"GROQ_API_KEY": "gsk-fake"})
        assert "GROQ_API_KEY set here, but the service reads keys only from" in done.stdout
        assert "--env-file" in done.stdout
        assert "gsk-fake" not in done.stdout
