"""`autodev config show|path` and `autodev --set`, in process; XDG_CONFIG_HOME is in tmp_path, never the real home."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import RIGHT, autodev, git, setup_example, write_files

from autodev.config import parse_config, tomllib
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("CFG-2")


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user config directory ($XDG_CONFIG_HOME/autodev), empty, in tmp_path."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    directory = tmp_path / "xdg" / "autodev"
    directory.mkdir(parents=True)
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_files(root, {"autodev.toml": "[llm]\nretries = 4\n"})
    return root


def output(capsys: pytest.CaptureFixture[str], directory: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = autodev(directory, *args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class TestConfigShow:
    def test_every_level_with_its_origin(
        self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (config_home / "config.toml").write_text("[llm]\nmin_history = 8\nretries = 3\n", encoding="utf-8")
        monkeypatch.setenv("AUTODEV_LLM__COOLDOWN_AFTER", "5")
        code, out, _ = output(capsys, project, "--set", "synthesis.max_attempts=7", "config", "show", "--origin")
        assert code == 0
        assert f"min_history = 8  # user config {config_home / 'config.toml'}\n" in out
        assert "retries = 4  # autodev.toml\n" in out
        assert "cooldown_after = 5  # env AUTODEV_LLM__COOLDOWN_AFTER\n" in out
        assert "max_attempts = 7  # flag --set\n" in out
        assert "retry_backoff_s = 1.0  # default\n" in out

    def test_plain_toml_without_origins_reads_back(
        self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = output(capsys, project, "config", "show")
        assert code == 0 and "#  " not in out and "# autodev.toml" not in out
        assert parse_config(tomllib.loads(out), source="shown").llm.retries == 4

    def test_json(self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = output(capsys, project, "config", "show", "--json")
        payload = json.loads(out)
        assert code == 0
        assert payload["config"]["llm"]["retries"] == 4
        assert payload["origins"]["llm.retries"] == "autodev.toml"
        assert payload["origins"]["llm.cooldown_s"] == "default"

    def test_outside_a_project(self, tmp_path: Path, config_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        (config_home / "config.toml").write_text("[synthesis]\nmax_attempts = 2\n", encoding="utf-8")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        code, out, _ = output(capsys, elsewhere, "config", "show", "--origin")
        assert code == 0
        assert f"max_attempts = 2  # user config {config_home / 'config.toml'}" in out

    def test_a_project_only_key_in_the_user_config_exits_2_with_the_reason(
        self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (config_home / "config.toml").write_text('[project]\ntest_command = "make"\n', encoding="utf-8")
        code, _, err = output(capsys, project, "config", "show")
        assert code == 2
        assert err.strip() == (
            f"error: user config {config_home / 'config.toml'}: project.test_command: only valid in a project's "
            "autodev.toml (it describes one project)"
        )

    def test_an_unknown_variable_key_exits_2_naming_it(
        self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AUTODEV_LLM__RETRIEZ", "1")
        code, _, err = output(capsys, project, "config", "show")
        assert code == 2
        assert "AUTODEV_LLM__RETRIEZ" in err and "llm.retriez" in err

    def test_a_set_without_a_value_is_a_usage_error(
        self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = output(capsys, project, "--set", "llm.retries", "config", "show")
        assert code == 2
        assert "KEY=VALUE" in err


class TestConfigPath:
    def test_in_a_project(self, project: Path, config_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = output(capsys, project, "config", "path")
        assert code == 0
        assert out.splitlines() == [
            f"user config: {config_home / 'config.toml'} (not there)",
            f"project:     {project / 'autodev.toml'} (exists)",
        ]

    def test_json_outside_a_project(
        self, tmp_path: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (config_home / "config.toml").write_text("", encoding="utf-8")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        code, out, _ = output(capsys, elsewhere, "config", "path", "--json")
        assert code == 0
        assert json.loads(out) == {"user": {"path": str(config_home / "config.toml"), "exists": True}, "project": None}

    def test_plain_outside_a_project(
        self, tmp_path: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = output(capsys, tmp_path, "config", "path")
        assert code == 0
        assert "project:     none" in out


@pytest.mark.req("CFG-1")
class TestRunUsesTheUserConfig:
    def test_the_user_configs_models_and_tiers_are_what_run_uses(
        self, repo: Path, server: ScriptedServer, config_home: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """[llm.models.X] and [llm.tiers] only in the user config: `autodev run --once` calls X and commits."""
        (config_home / "config.toml").write_text(
            f'[llm.tiers]\ntier1 = ["mine"]\n[llm.models.mine]\nmodel = "openai/mine"\napi_base = "{server.url}"\n'
            "timeout_s = 20\n",
            encoding="utf-8",
        )
        project_config = (
            f'[project]\ntest_command = "{sys.executable} -m pytest"\n[tests]\ntimeout_s = 60\n'
            "[synthesis]\nmax_attempts = 1\n"
        )
        setup_example(repo, server.url, config=project_config, stub=True)
        server.push(RIGHT)
        assert autodev(repo, "run", "--once") == 0
        assert [request.model for request in server.requests] == ["mine"]
        trailer = git(repo, "log", "-1", "--format=%(trailers:key=Autodev-Model,valueonly)").strip()
        assert trailer == "openai/mine"
        _, out, _ = output(capsys, repo, "config", "show", "--origin")
        assert f'tier1 = ["mine"]  # user config {config_home / "config.toml"}' in out


class TestLoopStartPassesSet:
    def test_the_background_loop_gets_the_set_values(self, tmp_path: Path) -> None:
        from autodev.loop.daemon import loop_run_command

        command = loop_run_command(tmp_path, ["llm.retries=1", "synthesis.max_attempts=2"])
        assert command[-8:] == [
            "-C", str(tmp_path), "--set", "llm.retries=1", "--set", "synthesis.max_attempts=2", "loop", "run"
        ]  # fmt: skip
        assert loop_run_command(tmp_path)[-4:] == ["-C", str(tmp_path), "loop", "run"]
