"""autodev.toml loading: the original plan's file loads, and every mistake names the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.config import Config, load_config
from autodev.errors import ConfigError

pytestmark = pytest.mark.req("CORE-5")

ORIGINAL_PLAN_TOML = """\
[monitoring]
watch_patterns = ["*.md", "*.yaml", "tests/**"]
debounce_ms = 500

[synthesis]
incremental = true
test_first = true
max_increment_size = 50  # lines

[llm]
routing_strategy = "tiered"
cache_responses = true
local_models_preferred = true

[llm.tiers]
tier1 = ["phi-2", "tinyllama"]
tier2 = ["codellama-7b", "mistral-7b"]
tier3 = ["mixtral", "codellama-34b"]
tier4 = ["claude-3-opus", "gpt-4"]

[learning]
enabled = true
pattern_extraction = true
min_pattern_quality = 0.7
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "autodev.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


class TestLoadConfig:
    def test_original_plan_file_loads_unchanged(self, tmp_path: Path) -> None:
        """The configuration from the project's original plan is accepted as it is."""
        config = load_config(write(tmp_path, ORIGINAL_PLAN_TOML))
        assert config.llm.tiers["tier4"] == ["claude-3-opus", "gpt-4"]
        assert config.monitoring.debounce_ms == 500
        assert config.learning.min_pattern_quality == 0.7
        assert config.llm.first_model() == "phi-2"

    def test_missing_file_means_defaults(self, tmp_path: Path) -> None:
        """No autodev.toml is not an error: every key has a default."""
        config = load_config(tmp_path / "autodev.toml")
        assert config == Config()
        assert config.project.test_command == "python -m pytest"
        assert config.synthesis.max_attempts == 3
        assert config.tests.timeout_s == 300

    def test_unknown_key_names_file_and_dotted_key(self, tmp_path: Path) -> None:
        """A misspelt key is an error naming the file and the full key, not silently ignored."""
        path = write(tmp_path, "[synthesis]\nmax_atempts = 4\n")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert caught.value.key == "synthesis.max_atempts"
        assert str(path) in str(caught.value)
        assert "unknown key" in str(caught.value)
        assert caught.value.exit_code == 2

    def test_wrong_type_says_what_is_expected(self, tmp_path: Path) -> None:
        """A value of the wrong type names the key and the expected type."""
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, '[tests]\ntimeout_s = "soon"\n'))
        assert caught.value.key == "tests.timeout_s"
        assert "number" in caught.value.problem

    def test_invalid_toml_reports_line(self, tmp_path: Path) -> None:
        """A TOML syntax error names the file and where the parser stopped."""
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, "[llm\nrouting_strategy = 1\n"))
        assert "not valid TOML" in str(caught.value)
        assert "line 1" in str(caught.value)

    def test_not_utf8_is_a_config_error(self, tmp_path: Path) -> None:
        """Binary junk in the file gives a config error, not a traceback."""
        with pytest.raises(ConfigError, match="not UTF-8"):
            load_config(write(tmp_path, b"\xff\xfe[llm]\n"))

    def test_unknown_tier_name_is_rejected(self, tmp_path: Path) -> None:
        """Tiers are tier0..tier4; anything else is a mistake worth naming."""
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, '[llm.tiers]\ntop = ["gpt-4"]\n'))
        assert caught.value.key == "llm.tiers"
        assert "unknown tier 'top'" in caught.value.problem

    def test_explain_first_takes_a_switch_or_tier_names(self, tmp_path: Path) -> None:
        """``explain_first`` is true, false or a list of tiers; a tier name that is none names the choices."""
        config = load_config(write(tmp_path, '[synthesis]\nexplain_first = ["tier1"]\n'))
        assert (config.synthesis.explains("tier1"), config.synthesis.explains("tier2")) == (True, False)
        assert load_config(write(tmp_path, "[synthesis]\nexplain_first = false\n")).synthesis.explains("tier1") is False
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, '[synthesis]\nexplain_first = ["small"]\n'))
        assert caught.value.key == "synthesis.explain_first"
        assert "unknown tier 'small'" in caught.value.problem and "true, false" in caught.value.problem

    def test_model_entry_without_model_or_gguf(self, tmp_path: Path) -> None:
        """A [llm.models.NAME] table with neither `model` nor `gguf` names the table and both choices."""
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, '[llm.models.local]\napi_base = "http://127.0.0.1:1/v1"\n'))
        assert caught.value.key == "llm.models.local"
        assert caught.value.problem.startswith("give `model`")
        assert "`gguf`" in caught.value.problem

    def test_first_model_skips_empty_tiers(self, tmp_path: Path) -> None:
        """The first model comes from the lowest tier that has any."""
        config = load_config(write(tmp_path, '[llm.tiers]\ntier1 = []\ntier2 = ["b", "c"]\n'))
        assert config.llm.first_model() == "b"

    def test_config_written_by_init_is_valid(self) -> None:
        """The commented autodev.toml that `autodev init` writes loads, with the local ladder first."""
        from autodev.config import parse_config, tomllib
        from autodev.init import render_config

        text = render_config({}, ["local/smollm2-135m", "local/qwen2.5-coder-0.5b"])
        config = parse_config(tomllib.loads(text), source="template")
        assert config.llm.ladder() == ["local/smollm2-135m", "local/qwen2.5-coder-0.5b"]
        assert "pip install 'autodev[local-medium]'" in text

    def test_init_adds_hosted_models_for_keys_present(self) -> None:
        """With provider keys set, init adds their models as the top tier and says why."""
        from autodev.config import parse_config, tomllib
        from autodev.init import render_config

        env = {"OPENAI_API_KEY": "sk-x", "GROQ_API_KEY": "g"}
        text = render_config(env, ["local/qwen2.5-coder-0.5b"])
        config = parse_config(tomllib.loads(text), source="template")
        assert config.llm.tiers["tier4"] == ["openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
        assert "OPENAI_API_KEY, GROQ_API_KEY set" in text
        assert "sk-x" not in text


class TestRelativePaths:
    def test_relative_paths_are_the_projects_not_the_working_directorys(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """models_dir and gguf written relative in autodev.toml resolve against its directory; aliases stay."""
        project = tmp_path / "project"
        project.mkdir()
        (project / "autodev.toml").write_text(
            '[local]\nmodels_dir = "models"\n'
            '[llm.models.mine]\ngguf = "weights/m.gguf"\n'
            '[llm.models.bundled]\ngguf = "local/qwen2.5-coder-0.5b"\n'
            '[llm.models.home]\ngguf = "~/m.gguf"\n',
            encoding="utf-8",
        )
        monkeypatch.chdir(tmp_path)
        config = load_config(project / "autodev.toml")
        assert config.local.models_dir == str((project / "models").resolve())
        assert config.llm.models["mine"].gguf == str((project / "weights" / "m.gguf").resolve())
        assert config.llm.models["bundled"].gguf == "local/qwen2.5-coder-0.5b"
        assert config.llm.models["home"].gguf == "~/m.gguf"


class TestLocalServerKeys:
    def test_a_server_command_without_model_or_port_names_what_is_missing(self, tmp_path: Path) -> None:
        """[local] server_command must say where the model file and the port go; the error lists the placeholders."""
        path = write(tmp_path, '[local]\nserver_command = ["llama-server", "--alias", "{alias}"]\n')
        with pytest.raises(ConfigError, match=r"local\.server_command: .*must contain \{model\} and \{port\}"):
            load_config(path)

    def test_extra_buffers_accepts_only_auto_on_off(self, tmp_path: Path) -> None:
        """A typo in extra_buffers is an error naming the key, not a silently different build behaviour."""
        assert load_config(write(tmp_path, '[local]\nextra_buffers = "off"\n')).local.extra_buffers == "off"
        with pytest.raises(ConfigError, match=r"local\.extra_buffers"):
            load_config(write(tmp_path, '[local]\nextra_buffers = "no"\n'))
