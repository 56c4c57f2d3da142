"""Configuration files and values that once crashed or hung every command: each is now a clear error, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import autodev

from autodev.config import MAX_CONFIG_BYTES, load_config
from autodev.config_layers import load_effective_config
from autodev.errors import ConfigError

pytestmark = pytest.mark.req("CFG-1")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "autodev.toml"


class TestConfigFileShapes:
    def test_a_byte_order_mark_is_accepted(self, config_file: Path) -> None:
        """Windows editors save UTF-8 with a BOM; the file is still the user's configuration."""
        config_file.write_bytes(b"\xef\xbb\xbf[synthesis]\nmax_attempts = 5\n")
        assert load_config(config_file).synthesis.max_attempts == 5

    def test_a_fifo_is_refused_without_waiting_for_a_writer(self, config_file: Path) -> None:
        os.mkfifo(config_file)
        with pytest.raises(ConfigError, match="not a regular file"):
            load_config(config_file)

    def test_a_link_to_a_device_is_refused_not_read_forever(self, config_file: Path) -> None:
        config_file.symlink_to("/dev/zero")
        with pytest.raises(ConfigError, match="not a regular file"):
            load_config(config_file)

    def test_a_file_over_the_size_bound_is_refused(self, config_file: Path) -> None:
        config_file.write_bytes(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
        with pytest.raises(ConfigError, match="KiB"):
            load_config(config_file)

    def test_a_directory_named_autodev_toml_is_a_config_error(self, tmp_path: Path) -> None:
        (tmp_path / "autodev.toml").mkdir()
        (tmp_path / ".autodev").mkdir()  # a project by its state directory, so the directory is its config
        with pytest.raises(ConfigError, match="is a directory"):
            load_effective_config(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})


class TestConfigValues:
    def test_a_nul_in_test_command_is_named_with_its_key(self, config_file: Path) -> None:
        config_file.write_text('[project]\ntest_command = "pytest\\u0000 -x"\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=r"project\.test_command: contains a NUL"):
            load_config(config_file)

    def test_a_list_nested_5000_deep_is_an_error_not_a_recursion_crash(self, config_file: Path) -> None:
        config_file.write_text("[specs]\npaths = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="nested more than"):
            load_config(config_file)

    def test_moderately_deep_nesting_is_refused_by_depth_with_its_key(self, config_file: Path) -> None:
        config_file.write_text("[specs]\npaths = " + "[" * 40 + "]" * 40 + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"specs\.paths.*nested more than"):
            load_config(config_file)

    def test_a_nul_in_a_variable_is_refused_like_one_in_a_file(self, tmp_path: Path) -> None:
        env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "AUTODEV_PROJECT__TEST_COMMAND": "pytest\x00"}
        with pytest.raises(ConfigError, match="NUL"):
            load_effective_config(None, env)

    def test_a_deep_variable_is_refused(self, tmp_path: Path) -> None:
        env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "AUTODEV_SPECS__PATHS": "[" * 5000 + "]" * 5000}
        with pytest.raises(ConfigError):
            load_effective_config(None, env)


class TestThroughTheCommandLine:
    def test_every_case_exits_2_with_the_file_named(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        os.mkfifo(repo / "autodev.toml")
        assert autodev(repo, "status") == 2
        err = capsys.readouterr().err
        assert "autodev.toml" in err and "not a regular file" in err
