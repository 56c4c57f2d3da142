"""The layers of the configuration: defaults < user config < autodev.toml < AUTODEV_* < --set (config_layers.py).

Every test passes its own environment, with XDG_CONFIG_HOME in tmp_path: the real home is never read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import git, write_files

from autodev.config import parse_config, tomllib
from autodev.config_layers import (
    LEVEL_RULES,
    LayeredConfig,
    deep_merge,
    effective_config,
    load_effective_config,
    parse_set_option,
    parse_value,
    user_config_file,
)
from autodev.config_show import mask_url, render_toml, show_json
from autodev.errors import ConfigError

pytestmark = pytest.mark.req("CFG-1")


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose config home is in tmp_path."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def user_config(env: dict[str, str], text: str) -> Path:
    path = user_config_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(root: Path | None, env: dict[str, str], flags: dict[str, Any] | None = None) -> LayeredConfig:
    return load_effective_config(root, env, flags, start=root)


class TestLevels:
    def test_defaults_only_without_any_file(self, project: Path, home: dict[str, str]) -> None:
        layered = load(project, home)
        assert layered.config.llm.retries == 2
        assert layered.origin(("llm", "retries")) == "default"
        assert set(layered.origins.values()) == {"default"}

    def test_each_level_overrides_the_one_below_and_is_named(self, project: Path, home: dict[str, str]) -> None:
        user = user_config(home, "[llm]\nretries = 3\ncooldown_s = 5\nsample_temperature = 0.5\nmin_history = 7\n")
        write_files(project, {"autodev.toml": "[llm]\nretries = 4\ncooldown_s = 6\nsample_temperature = 0.6\n"})
        env = home | {"AUTODEV_LLM__RETRIES": "5", "AUTODEV_LLM__COOLDOWN_S": "7"}
        layered = load(project, env, {"llm.retries": 6})
        llm = layered.config.llm
        assert (llm.retries, llm.cooldown_s, llm.sample_temperature, llm.min_history) == (6, 7, 0.6, 7)
        assert layered.origins["llm.retries"] == "flag --set"
        assert layered.origins["llm.cooldown_s"] == "env AUTODEV_LLM__COOLDOWN_S"
        assert layered.origins["llm.sample_temperature"] == "autodev.toml"
        assert layered.origins["llm.min_history"] == f"user config {user}"
        assert layered.origins["llm.cooldown_after"] == "default"

    def test_tables_merge_key_by_key_and_lists_replace(self, project: Path, home: dict[str, str]) -> None:
        """The user's [llm.models.X] with the project's [llm.tiers]; the project's list replaces the user's."""
        user_config(
            home,
            '[llm.models.big]\nmodel = "openai/big"\napi_base = "http://127.0.0.1:9/v1"\n'
            '[llm.tiers]\ntier1 = ["a", "b"]\ntier2 = ["big"]\n[monitoring]\ndebounce_ms = 100\n',
        )
        write_files(
            project,
            {
                "autodev.toml": '[llm.tiers]\ntier1 = ["c"]\n[llm.models.big]\ntemperature = 0.3\n'
                '[monitoring]\nwatch_patterns = ["*.rst"]\n'
            },
        )
        layered = load(project, home)
        config = layered.config
        assert config.llm.tiers == {"tier1": ["c"], "tier2": ["big"]}
        assert config.llm.models["big"].model == "openai/big"
        assert config.llm.models["big"].temperature == 0.3
        assert config.monitoring.watch_patterns == ["*.rst"]
        assert config.monitoring.debounce_ms == 100
        assert layered.origins["llm.tiers.tier1"] == "autodev.toml"
        assert layered.origins["llm.tiers.tier2"].startswith("user config ")
        assert layered.origins["llm.models.big.temperature"] == "autodev.toml"

    def test_deep_merge_replaces_a_value_by_a_table_and_back(self) -> None:
        assert deep_merge({"a": {"b": 1, "c": [1, 2]}}, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}}
        assert deep_merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
        assert deep_merge({"a": {"b": 2}}, {"a": 1}) == {"a": 1}

    def test_outside_a_project_the_user_config_and_the_defaults(self, home: dict[str, str]) -> None:
        user_config(home, "[synthesis]\nmax_attempts = 9\n")
        assert load(None, home).config.synthesis.max_attempts == 9
        assert effective_config(None, home).synthesis.max_attempts == 9


class TestUserConfigFile:
    def test_missing_is_nothing(self, home: dict[str, str]) -> None:
        assert not user_config_file(home).exists()
        assert load(None, home).config.llm.retries == 2

    def test_xdg_config_home_else_home(self, tmp_path: Path) -> None:
        assert user_config_file({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "autodev" / "config.toml"
        home = {"HOME": str(tmp_path / "h"), "XDG_CONFIG_HOME": "relative"}
        assert user_config_file(home) == tmp_path / "h" / ".config" / "autodev" / "config.toml"

    def test_a_directory_is_a_clear_error(self, home: dict[str, str]) -> None:
        user_config_file(home).mkdir(parents=True)
        with pytest.raises(ConfigError, match=r"user config .*config\.toml: is a directory"):
            load(None, home)

    def test_invalid_toml_names_the_user_config(self, home: dict[str, str]) -> None:
        user_config(home, "[llm\n")
        with pytest.raises(ConfigError, match=r"^user config .*config\.toml: not valid TOML"):
            load(None, home)

    def test_a_bad_value_names_the_user_config_and_the_key(self, project: Path, home: dict[str, str]) -> None:
        path = user_config(home, "[llm]\nretries = 99\n")
        with pytest.raises(ConfigError) as caught:
            load(project, home)
        assert caught.value.file == f"user config {path}"
        assert caught.value.key == "llm.retries"

    def test_a_bad_value_names_only_the_level_that_set_it(self, project: Path, home: dict[str, str]) -> None:
        user_config(home, "[llm]\nretries = 3\n")
        write_files(project, {"autodev.toml": "[llm]\nretries = 99\n"})
        with pytest.raises(ConfigError) as caught:
            load(project, home)
        assert caught.value.file == str(project / "autodev.toml")
        assert caught.value.key == "llm.retries"

    def test_a_project_only_key_is_rejected_with_the_reason(self, home: dict[str, str]) -> None:
        path = user_config(home, '[project]\ntest_command = "make test"\n')
        with pytest.raises(ConfigError) as caught:
            load(None, home)
        assert str(caught.value) == (
            f"user config {path}: project.test_command: only valid in a project's autodev.toml (it describes one "
            "project)"
        )

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("[specs]\npaths = ['x.md']\n", "specs.paths"),
            ("[tests]\ntimeout_s = 5\n", "tests.timeout_s"),
            ("[monitoring]\nwatch_patterns = ['*.md']\n", "monitoring.watch_patterns"),
        ],
    )
    def test_every_project_only_key_is_rejected(self, home: dict[str, str], text: str, key: str) -> None:
        user_config(home, text)
        with pytest.raises(ConfigError, match=r"only valid in a project's autodev\.toml") as caught:
            load(None, home)
        assert caught.value.key == key

    def test_the_rules_are_one_table(self) -> None:
        assert {rule.key for rule in LEVEL_RULES} == {
            ("project",),
            ("specs",),
            ("tests",),
            ("monitoring", "watch_patterns"),
        }

    def test_project_only_keys_are_valid_in_autodev_toml(self, project: Path, home: dict[str, str]) -> None:
        write_files(project, {"autodev.toml": '[project]\ntest_command = "make test"\n'})
        layered = load(project, home)
        assert layered.config.project.test_command == "make test"
        assert layered.origins["project.test_command"] == "autodev.toml"

    def test_a_relative_gguf_is_anchored_at_the_user_config_dir(self, project: Path, home: dict[str, str]) -> None:
        path = user_config(home, '[llm.models.mine]\ngguf = "models/mine.gguf"\n[local]\nmodels_dir = "cache"\n')
        write_files(project, {"autodev.toml": "[llm.models.mine]\ntemperature = 0.2\n"})
        config = load(project, home).config
        assert config.llm.models["mine"].gguf == str((path.parent / "models" / "mine.gguf").resolve())
        assert config.local.models_dir == str((path.parent / "cache").resolve())

    def test_a_relative_gguf_in_autodev_toml_is_the_projects(self, project: Path, home: dict[str, str]) -> None:
        write_files(project, {"autodev.toml": '[llm.models.mine]\ngguf = "m.gguf"\n'})
        assert load(project, home).config.llm.models["mine"].gguf == str((project / "m.gguf").resolve())


class TestEnvironment:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("3", 3),
            ("false", False),
            ("0.5", 0.5),
            ('"x"', "x"),
            ('["a", "b"]', ["a", "b"]),
            ("{ tier1 = 2 }", {"tier1": 2}),
            ("openai/gpt-4o", "openai/gpt-4o"),
            ("", ""),
            ("3\nx = 4", "3\nx = 4"),
            ("1979-05-27", "1979-05-27"),
        ],
    )
    def test_values_are_toml_else_plain_strings(self, text: str, value: Any) -> None:
        assert parse_value(text) == value

    def test_int_bool_list_and_string(self, project: Path, home: dict[str, str]) -> None:
        env = home | {
            "AUTODEV_LLM__RETRIES": "4",
            "AUTODEV_LLM__CACHE_RESPONSES": "false",
            "AUTODEV_CONTEXT__MEMORY_FILES": '["docs/a.md"]',
            "AUTODEV_LLM__ROUTING_STRATEGY": "cheapest",
            "AUTODEV_LLM__TIERS__TIER1": '["scripted"]',
            "AUTODEV_LLM__MODELS__SCRIPTED__MODEL": "openai/scripted",
            "AUTODEV_PROJECT__TEST_COMMAND": "make check",
        }
        layered = load(project, env)
        config = layered.config
        assert config.llm.retries == 4
        assert config.llm.cache_responses is False
        assert config.context.memory_files == ["docs/a.md"]
        assert config.llm.routing_strategy == "cheapest"
        assert config.llm.tiers == {"tier1": ["scripted"]}
        assert config.llm.models["scripted"].model == "openai/scripted"
        assert config.project.test_command == "make check"
        assert layered.origins["llm.models.scripted.model"] == "env AUTODEV_LLM__MODELS__SCRIPTED__MODEL"

    def test_names_are_case_insensitive_below_the_prefix(self, project: Path, home: dict[str, str]) -> None:
        assert load(project, home | {"AUTODEV_Llm__Retries": "1"}).config.llm.retries == 1

    def test_variables_without_a_double_underscore_are_not_configuration(
        self, project: Path, home: dict[str, str]
    ) -> None:
        env = home | {"AUTODEV_NO_NETWORK": "1", "AUTODEV_MARKER_LINE": "x", "OTHER__KEY": "1"}
        assert set(load(project, env).origins.values()) == {"default"}

    def test_an_unknown_key_names_the_variable(self, project: Path, home: dict[str, str]) -> None:
        with pytest.raises(ConfigError) as caught:
            load(project, home | {"AUTODEV_LLM__RETRYS": "3"})
        assert caught.value.file == "env AUTODEV_LLM__RETRYS"
        assert caught.value.key == "llm.retrys"
        assert "unknown key" in str(caught.value)

    def test_an_unknown_section_names_the_variable(self, project: Path, home: dict[str, str]) -> None:
        with pytest.raises(ConfigError, match=r"^env AUTODEV_NOPE__X: nope"):
            load(project, home | {"AUTODEV_NOPE__X": "1"})

    def test_a_bad_value_names_the_variable(self, project: Path, home: dict[str, str]) -> None:
        with pytest.raises(ConfigError, match=r"^env AUTODEV_LLM__RETRIES: llm.retries: "):
            load(project, home | {"AUTODEV_LLM__RETRIES": "many"})

    def test_an_empty_part_is_an_error(self, project: Path, home: dict[str, str]) -> None:
        with pytest.raises(ConfigError, match="AUTODEV_LLM____RETRIES"):
            load(project, home | {"AUTODEV_LLM____RETRIES": "1"})


class TestFlags:
    def test_set_option_parsing(self) -> None:
        assert parse_set_option("llm.retries=3") == ("llm.retries", 3)
        assert parse_set_option("llm.routing_strategy=fixed") == ("llm.routing_strategy", "fixed")
        assert parse_set_option('llm.tiers.tier1=["a","b"]') == ("llm.tiers.tier1", ["a", "b"])
        assert parse_set_option("a.b=x=y") == ("a.b", "x=y")

    @pytest.mark.parametrize("text", ["llm.retries", "=3", "llm..retries=3"])
    def test_malformed_set_options(self, text: str) -> None:
        with pytest.raises(ConfigError, match="flag --set"):
            parse_set_option(text)

    def test_quoted_keys_reach_names_with_dots(self, project: Path, home: dict[str, str]) -> None:
        flags = {'llm.models."gpt-4.1".model': "openai/gpt-4.1"}
        layered = load(project, home, flags)
        assert layered.config.llm.models["gpt-4.1"].model == "openai/gpt-4.1"
        assert layered.origins['llm.models."gpt-4.1".model'] == "flag --set"

    def test_an_unknown_flag_key_names_the_flag(self, project: Path, home: dict[str, str]) -> None:
        with pytest.raises(ConfigError, match=r"^flag --set: llm.nope: unknown key"):
            load(project, home, {"llm.nope": 1})

    def test_a_flag_may_set_a_project_key_for_one_run(self, project: Path, home: dict[str, str]) -> None:
        assert load(project, home, {"tests.timeout_s": 5}).config.tests.timeout_s == 5


class TestShown:
    def test_the_toml_reads_back_to_the_same_configuration(self, project: Path, home: dict[str, str]) -> None:
        user_config(
            home, '[llm.models.big]\nmodel = "openai/big"\nseed = 3\n[context]\nmemory_tokens = { tier1 = 9 }\n'
        )
        write_files(
            project,
            {"autodev.toml": '[llm.tiers]\ntier1 = ["big"]\n[local]\nserver_command = ["s", "{model}", "{port}"]\n'},
        )
        layered = load(project, home, {"llm.retry_backoff_s": 0.25})
        text = render_toml(layered)
        assert parse_config(tomllib.loads(text), source="shown") == layered.config
        assert parse_config(tomllib.loads(render_toml(layered, origins=True)), source="shown") == layered.config

    def test_origins_are_comments(self, project: Path, home: dict[str, str]) -> None:
        write_files(project, {"autodev.toml": "[llm]\nretries = 1\n"})
        text = render_toml(load(project, home | {"AUTODEV_LLM__COOLDOWN_S": "2"}), origins=True)
        assert "retries = 1  # autodev.toml\n" in text
        assert "cooldown_s = 2.0  # env AUTODEV_LLM__COOLDOWN_S\n" in text
        assert "cooldown_after = 3  # default\n" in text

    def test_no_credential_is_printed(self, project: Path, home: dict[str, str]) -> None:
        url = "https://me:hunter2@llm.example.com/v1?api_key=sk-123&x=1"
        write_files(
            project,
            {"autodev.toml": f'[llm.models.m]\nmodel = "openai/m"\napi_base = "{url}"\napi_key_env = "MY_KEY"\n'},
        )
        layered = load(project, home | {"MY_KEY": "sk-secret-value"})
        for shown in (render_toml(layered, origins=True), show_json(layered)):
            assert "hunter2" not in shown and "sk-123" not in shown and "sk-secret-value" not in shown
            assert "MY_KEY" in shown
        assert mask_url(url) == "https://me:***@llm.example.com/v1?api_key=%2A%2A%2A&x=1"
        assert mask_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"

    def test_a_servers_key_argument_is_masked(self, project: Path, home: dict[str, str]) -> None:
        command = '["llama-server", "-m", "{model}", "--port", "{port}", "--api-key", "k-1", "--auth-token=k-2"]'
        write_files(project, {"autodev.toml": f"[local]\nserver_command = {command}\n"})
        shown = render_toml(load(project, home))
        assert "k-1" not in shown and "k-2" not in shown
        assert '"--api-key", "***", "--auth-token=***"' in shown
        assert '"--port", "{port}"' in shown


class TestTheLoopReadsEveryLevel:
    def test_preflight_and_runner_take_env_and_flags(self, home: dict[str, str], tmp_path: Path) -> None:
        from autodev.loop.preflight import check_project
        from autodev.loop.runner import LoopRunner

        root = tmp_path / "repo"
        root.mkdir()
        git(root, "init", "-q")
        write_files(root, {"autodev.toml": "[llm]\nretries = 1\n"})
        user_config(home, "[llm]\ncooldown_after = 9\n")
        env = home | {"AUTODEV_LLM__RETRIES": "4"}
        config = check_project(root, env, {"llm.min_history": 2})
        assert (config.llm.retries, config.llm.cooldown_after, config.llm.min_history) == (4, 9, 2)
        runner = LoopRunner(root, env=env, flags={"llm.min_history": 3})
        assert (runner.config.llm.retries, runner.config.llm.cooldown_after, runner.config.llm.min_history) == (4, 9, 3)
