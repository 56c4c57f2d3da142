"""Model names resolve to LiteLLM calls: configured entries, bare Ollama names, loopback keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import fresh_python

from autodev.config import LLMConfig, ModelConfig
from autodev.errors import ConfigError, UsageError
from autodev.llm.models import LOOPBACK_PLACEHOLDER_KEY, is_loopback, resolve_model

pytestmark = pytest.mark.req("LOCAL-3")


def known(name: str) -> bool:
    return name in {"gpt-4"}


class TestResolveModel:
    def test_configured_entry(self) -> None:
        """[llm.models.NAME] supplies the LiteLLM string, api_base, prices and the key from the environment."""
        llm = LLMConfig(
            models={
                "big": ModelConfig(
                    model="openai/gpt-4o",
                    api_key_env="MY_KEY",
                    input_cost_per_token=1e-6,
                    output_cost_per_token=2e-6,
                )
            }
        )
        model = resolve_model("big", llm, {"MY_KEY": "sk-123"}, provider_known=known)
        assert model.litellm_model == "openai/gpt-4o"
        assert model.api_key is not None and model.api_key.get_secret_value() == "sk-123"
        assert "sk-123" not in repr(model)
        assert model.has_configured_price

    def test_missing_key_variable_is_a_config_error(self) -> None:
        """api_key_env naming an unset variable says which variable to export."""
        llm = LLMConfig(models={"big": ModelConfig(model="openai/gpt-4o", api_key_env="NOPE_KEY")})
        with pytest.raises(ConfigError, match="NOPE_KEY is not set"):
            resolve_model("big", llm, {}, provider_known=known)

    def test_loopback_server_gets_placeholder_key(self) -> None:
        """A local OpenAI-compatible server needs some key; the user should not have to invent one."""
        llm = LLMConfig(models={"l": ModelConfig(model="openai/l", api_base="http://127.0.0.1:8080/v1")})
        model = resolve_model("l", llm, {}, provider_known=known)
        assert model.api_key is not None
        assert model.api_key.get_secret_value() == LOOPBACK_PLACEHOLDER_KEY

    def test_bare_unknown_name_becomes_ollama_with_note(self) -> None:
        """`phi-2` with local models preferred is called as ollama/phi-2, and the note says so."""
        model = resolve_model("phi-2", LLMConfig(), {"OLLAMA_API_BASE": "http://10.0.0.5:11434"}, provider_known=known)
        assert model.litellm_model == "ollama/phi-2"
        assert model.api_base == "http://10.0.0.5:11434"
        assert model.note is not None and "ollama/phi-2" in model.note

    def test_bare_known_name_passes_through(self) -> None:
        """A name LiteLLM knows (gpt-4) goes to its provider, not to Ollama."""
        assert resolve_model("gpt-4", LLMConfig(), {}, provider_known=known).litellm_model == "gpt-4"

    def test_prefixed_name_passes_through(self) -> None:
        """provider/model strings are LiteLLM's to interpret."""
        model = resolve_model("anthropic/claude-3-opus", LLMConfig(), {}, provider_known=known)
        assert model.litellm_model == "anthropic/claude-3-opus"
        assert model.note is None

    def test_local_not_preferred_passes_bare_name(self) -> None:
        """With local_models_preferred = false a bare name is not rewritten."""
        model = resolve_model("phi-2", LLMConfig(local_models_preferred=False), {}, provider_known=known)
        assert model.litellm_model == "phi-2"


SCRIPTED = {"scripted": ModelConfig(model="openai/scripted", api_base="http://127.0.0.1:8080/v1")}


class TestMisspeltNames:
    def test_a_tier_name_close_to_a_configured_model_is_a_config_error_naming_the_tier(self) -> None:
        """tier1 = ["scriptd"] beside [llm.models.scripted]: the tier, the name, the guess and why it matters."""
        llm = LLMConfig(tiers={"tier1": ["scriptd"]}, models=SCRIPTED)
        with pytest.raises(ConfigError) as caught:
            resolve_model("scriptd", llm, {}, provider_known=known)
        assert str(caught.value) == (
            "autodev.toml: [llm.tiers] tier1: no model 'scriptd'; did you mean 'scripted'? (a bare name with no "
            "[llm.models] entry is sent to Ollama as ollama/scriptd)"
        )

    def test_a_model_option_close_to_a_configured_model_is_a_usage_error(self) -> None:
        """A name from --model (in no tier) is named as the option, not as a key of autodev.toml."""
        with pytest.raises(UsageError, match=r"^--model scriptd: no model 'scriptd'; did you mean 'scripted'\?"):
            resolve_model("scriptd", LLMConfig(models=SCRIPTED), {}, provider_known=known)

    def test_a_name_close_to_a_bundled_model_suggests_its_alias(self) -> None:
        """qwen2.5-coder-1.5 (local/ left out, one letter short) is taken for the bundled local/qwen2.5-coder-1.5b."""
        with pytest.raises(UsageError, match=r"did you mean 'local/qwen2\.5-coder-1\.5b'"):
            resolve_model("qwen2.5-coder-1.5", LLMConfig(), {}, provider_known=known)

    def test_an_unknown_local_name_lists_the_bundled_models(self) -> None:
        """local/ names only the bundled models: another one is an error with the closest alias, never a call."""
        with pytest.raises(UsageError, match=r"did you mean 'local/smollm2-135m'.*bundled models are local/"):
            resolve_model("local/smollm-135m", LLMConfig(), {}, provider_known=known)

    @pytest.mark.parametrize("name", ["phi-2", "tinyllama", "codellama-7b", "mixtral", "qwen2.5-coder:1.5b", "llama3"])
    def test_names_close_to_nothing_stay_ollama_names(self, name: str) -> None:
        """The plan's bare names and real Ollama tags are not taken for misspellings, even beside similar ones."""
        llm = LLMConfig(tiers={"tier1": [name]}, models=SCRIPTED)
        assert resolve_model(name, llm, {}, provider_known=known).litellm_model == f"ollama/{name}"

    def test_a_name_litellm_knows_is_never_a_misspelling(self) -> None:
        """gpt-4 beside [llm.models.gpt-4o] is the provider's gpt-4, not a typo."""
        models = {"gpt-4o": ModelConfig(model="openai/gpt-4o")}
        llm = LLMConfig(tiers={"tier1": ["gpt-4"]}, models=models)
        assert resolve_model("gpt-4", llm, {}, provider_known=known).litellm_model == "gpt-4"


class TestIsLoopback:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("http://127.0.0.1:1/v1", True),
            ("http://localhost:8080", True),
            ("http://[::1]:80/", True),
            ("http://10.0.0.1/", False),
            ("https://api.openai.com/v1", False),
            (None, False),
        ],
    )
    def test_loopback_detection(self, url: str | None, expected: bool) -> None:
        """Only loopback addresses count as local servers."""
        assert is_loopback(url) is expected


ALONE = """
import json, sys
from pathlib import Path
from autodev.config import load_config
from autodev.llm.models import resolve_model
root = Path(sys.argv[1])
(root / "autodev.toml").write_text(
    '[llm.models.bundled]\\ngguf = "local/qwen2.5-coder-0.5b"\\n[llm.models.mine]\\ngguf = "weights/m.gguf"\\n'
)
config = load_config(root / "autodev.toml")
alias = resolve_model("local/smollm2-135m", config.llm, {}, provider_known=lambda name: False)
print(json.dumps({
    "bundled": config.llm.models["bundled"].gguf,
    "mine": config.llm.models["mine"].gguf,
    "alias": [alias.litellm_model, alias.gguf, alias.input_cost_per_token],
    "local_modules": sorted(name for name in sys.modules if name.startswith("autodev.local")),
}))
"""


class TestWithoutTheLocalPackage:
    def test_config_and_resolution_know_the_bundled_aliases_on_their_own(self, tmp_path: Path) -> None:
        """In a fresh interpreter that imports only them, load_config and resolve_model behave as always, and
        autodev.local (which depends on llm) is never imported."""
        done = fresh_python(ALONE, str(tmp_path), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["bundled"] == "local/qwen2.5-coder-0.5b"  # an alias, not a path to anchor
        assert seen["mine"] == str((tmp_path / "weights" / "m.gguf").resolve())
        assert seen["alias"] == ["openai/local/smollm2-135m", "local/smollm2-135m", 0.0]
        assert seen["local_modules"] == []
