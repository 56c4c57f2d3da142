"""From a configured model name to everything LiteLLM needs to call it.

Pure and import-light: resolution happens before any call, and commands that call no model never load LiteLLM.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, SecretStr

from autodev.config import LLMConfig, ModelConfig
from autodev.errors import ConfigError, UsageError
from autodev.model_catalog import CATALOG, LOCAL_PREFIX, is_local_alias

OLLAMA_DEFAULT_API_BASE = "http://localhost:11434"
# Local OpenAI-compatible servers (llama.cpp, the scripted test server) want some key but check none.
LOOPBACK_PLACEHOLDER_KEY = "sk-autodev-local"


OLLAMA_PREFIXES = ("ollama/", "ollama_chat/")


class ResolvedModel(BaseModel):
    """A model ready to be called; ``note`` explains any guess made about a bare name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    litellm_model: str
    api_base: str | None = None
    api_key: SecretStr | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    temperature: float = 0.0
    max_tokens: int | None = None
    timeout_s: float = 600.0
    seed: int | None = None
    context_tokens: int | None = None  # the context window configured ([llm.models.NAME] context_tokens)
    gguf: str | None = None  # a local model autodev serves itself: a catalog alias or a file path
    api_key_env: str | None = None  # where the key came from, to name it when the provider refuses it
    note: str | None = None

    @property
    def served_locally(self) -> bool:
        """A model on this machine (autodev's llama.cpp, Ollama): small, short context, every prompt token slow."""
        return self.gguf is not None or self.litellm_model.startswith(OLLAMA_PREFIXES)

    @property
    def has_configured_price(self) -> bool:
        return self.input_cost_per_token is not None or self.output_cost_per_token is not None


def is_loopback(api_base: str | None) -> bool:
    if not api_base:
        return False
    host = urlparse(api_base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_model(
    name: str,
    llm: LLMConfig,
    env: Mapping[str, str],
    *,
    provider_known: Callable[[str], bool],
    local_seed: int = 0,
    local_max_tokens: int | None = None,
) -> ResolvedModel:
    """Resolve through ``[llm.models.NAME]``, else pass the name to LiteLLM as is.

    A bare name (no ``provider/`` prefix) that LiteLLM does not know is what Ollama users write (``phi-2``):
    with ``local_models_preferred`` it becomes ``ollama/NAME`` and the note says so, unless it is close to a
    configured or bundled name (:func:`misspelt`): then it is a configuration error before any call, not a
    connection error to an Ollama server after retries. A ``local/`` name that is no bundled model is one too.
    """
    configured = llm.models.get(name)
    if configured is not None:
        resolved = _from_config(name, configured, env, local_seed)
        if resolved.gguf is not None and resolved.max_tokens is None:
            resolved = resolved.model_copy(update={"max_tokens": local_max_tokens})
        return resolved
    if is_local_alias(name):
        return ResolvedModel(
            name=name,
            litellm_model=f"openai/{name}",
            api_key=SecretStr(LOOPBACK_PLACEHOLDER_KEY),
            gguf=name,
            seed=local_seed,
            max_tokens=local_max_tokens,
            input_cost_per_token=0.0,
            output_cost_per_token=0.0,
        )
    if name.startswith(LOCAL_PREFIX):
        raise _unknown(name, llm, _suggestion(name, CATALOG, cutoff=0.6), "bundled models are " + ", ".join(CATALOG))
    if "/" not in name and llm.local_models_preferred and not provider_known(name):
        suggestion = misspelt(name, llm)
        if suggestion is not None:
            ollama = f"a bare name with no [llm.models] entry is sent to Ollama as ollama/{name}"
            raise _unknown(name, llm, suggestion, ollama)
        api_base = env.get("OLLAMA_API_BASE") or OLLAMA_DEFAULT_API_BASE
        return ResolvedModel(
            name=name,
            litellm_model=f"ollama/{name}",
            api_base=api_base,
            note=f"{name!r} has no provider prefix and no [llm.models.{name}] entry: calling it as "
            f"ollama/{name} at {api_base} (local_models_preferred = true)",
        )
    return ResolvedModel(name=name, litellm_model=name)


# How close (difflib's ratio) a bare name must be to one the user configured, or to a bundled model, to be taken
# for a misspelling of it. Bundled names need more: a real Ollama name (qwen2.5-coder-7b) may be near one.
_CLOSE_TO_CONFIGURED = 0.8
_CLOSE_TO_BUNDLED = 0.9


def misspelt(name: str, llm: LLMConfig) -> str | None:
    """The configured or bundled model a bare unknown name is most likely a misspelling of, if any.

    A bare name close to nothing stays an Ollama name (``phi-2``); one close to ``[llm.models.scripted]`` is a
    typo that would otherwise retry against an Ollama server that is not there. Ollama tags (``name:7b``) are
    never compared with the bundled models, whose names look alike.
    """
    configured = _suggestion(name, llm.models, cutoff=_CLOSE_TO_CONFIGURED)
    if configured is not None or ":" in name:
        return configured
    bare = {alias.removeprefix(LOCAL_PREFIX): alias for alias in CATALOG}
    close = _suggestion(name, bare, cutoff=_CLOSE_TO_BUNDLED)
    return bare[close] if close is not None else None


def _suggestion(name: str, names: Iterable[str], *, cutoff: float) -> str | None:
    matches = difflib.get_close_matches(name, list(names), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def _unknown(name: str, llm: LLMConfig, suggestion: str | None, why: str) -> UsageError:
    """A configuration error naming the tier that holds ``name``; ``--model`` when no tier does."""
    guess = f"; did you mean {suggestion!r}?" if suggestion else ""
    problem = f"no model {name!r}{guess} ({why})"
    tier = next((tier for tier, models in llm.tier_models().items() if name in models), None)
    if tier is None:
        return UsageError(f"--model {name}: {problem}")
    return ConfigError("autodev.toml", f"[llm.tiers] {tier}", problem)


def _from_config(name: str, configured: ModelConfig, env: Mapping[str, str], local_seed: int) -> ResolvedModel:
    api_key: str | None = None
    if configured.api_key_env:
        api_key = env.get(configured.api_key_env)
        if not api_key:
            raise ConfigError(
                "autodev.toml",
                f"llm.models.{name}.api_key_env",
                f"environment variable {configured.api_key_env} is not set; export it or remove api_key_env",
            )
    served_locally = configured.gguf is not None
    if api_key is None and (served_locally or is_loopback(configured.api_base)):
        api_key = LOOPBACK_PLACEHOLDER_KEY
    return ResolvedModel(
        name=name,
        litellm_model=configured.model or f"openai/{name}",
        gguf=configured.gguf,
        seed=configured.seed if configured.seed is not None else (local_seed if served_locally else None),
        api_base=configured.api_base,
        api_key=SecretStr(api_key) if api_key else None,
        api_key_env=configured.api_key_env,
        input_cost_per_token=configured.input_cost_per_token,
        output_cost_per_token=configured.output_cost_per_token,
        temperature=configured.temperature,
        max_tokens=configured.max_tokens,
        timeout_s=configured.timeout_s,
        context_tokens=configured.context_tokens,
    )
