"""autodev.toml as validated pydantic models.

Unknown keys are errors (``extra="forbid"``): a misspelt key that silently does nothing is worse than a
clear message. Keys of the project's original plan that no code uses yet are still accepted and documented in
docs/configuration.md, so that plan's file loads unchanged.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autodev.errors import ConfigError
from autodev.model_catalog import is_local_alias
from autodev.workflow_model import RoleConfig, Workflow, is_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CONFIG_FILE_NAME = "autodev.toml"
TIER_NAMES = ("tier0", "tier1", "tier2", "tier3", "tier4")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectConfig(_Section):
    """How the project's tests are run."""

    test_command: str = "python -m pytest"


TestRunnerName = Literal["auto", "pytest", "node", "jest", "vitest", "cargo", "command"]
"""How per-test results are read (docs/configuration.md); ``command``: the exit status alone."""


class TestsConfig(_Section):
    """Limits on the user's test run, which executes model-written code, and the runner that reads its results."""

    __test__ = False

    timeout_s: float = Field(default=300.0, gt=0)
    # pytest: each test (and each test file's import) stopped after this long, so that one endless loop costs a
    # minute, not the whole run's timeout, and the model is told which test; 0 turns it off
    test_timeout_s: float = Field(default=60.0, ge=0)
    runner: TestRunnerName = "auto"
    include_ignored: bool = False  # cargo: `-- --include-ignored`, so #[ignore] tests run too
    # variables (names or fnmatch patterns) the tests see beyond the allowlist of verify/environment.py
    pass_env: list[str] = Field(default_factory=list)
    # Linux namespaces around the run (verify/confine.py): "auto" where available, "on" or an error, "off"
    confine: Literal["auto", "on", "off"] = "auto"
    network: bool = False  # a confined run has no network but loopback unless this is true
    home: Literal["scratch", "user"] = "scratch"  # HOME of the run: an empty directory of its own, or the user's
    # code that imports pytest, walks gc's objects, calls os._exit... is refused before its tests run
    # (synth/runner_access.py); true for a project whose code legitimately imports pytest (a pytest plugin)
    allow_runner_access: bool = False
    # a green candidate that hard-codes the tests' expected results is red (verify/special_case.py)
    special_case_check: bool = True


class MonitoringConfig(_Section):
    """Watch settings (used by `autodev loop`)."""

    watch_patterns: list[str] = Field(default_factory=lambda: ["*.md", "tests/**"])
    debounce_ms: int = Field(default=500, ge=0)
    max_wait_ms: int = Field(default=2000, ge=0)
    poll_interval_s: float = Field(default=1.0, gt=0)  # only when inotify limits force the polling observer


class SynthesisConfig(_Section):
    """How code is asked for and retried."""

    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_temperature: float = Field(default=0.7, ge=0, le=2)
    # false: a repair is a fresh sample of the first prompt with the failure in it (small models copy their own
    # reply when it is shown); true: the failed reply and the failure follow the first prompt as a conversation
    repair_shows_reply: bool = False
    # a repair after a candidate that passed at least half the tests shows its files as the targets to correct;
    # off: on the development set the small models fixed none of ten such drafts (benchmarks/results/solve-rate/)
    fix_nearly_right: bool = False
    # a reply of prose alone (the model explained and stopped) is followed, in the same attempt, by a request for
    # the files
    ask_for_files: bool = True
    # true: the next tier's first round is told the lower tier's best failure; false: it gets the clean first
    # prompt and its repairs work on its own failures (the climb solved 12/30 against 9/30 on the development set)
    escalation_shows_failure: bool = False
    # the model is asked to explain how the code must work before it writes it: true for every tier, false for
    # none, or the names of the tiers that are asked (["tier1"])
    explain_first: bool | list[str] = True
    incremental: bool = True
    # the specs' examples written as tests (tests/generated/) and committed before any code; "review": written and
    # left for the user to commit, the requirement waiting until they do
    test_first: bool | Literal["review"] = False
    # a tester's kept test must also pass an implementation written from the description alone, when that one
    # passes most of them (autodev.testgen.criteria.agreed): a test it fails likely expects a wrong value
    tester_agreement: bool = False
    max_increment_size: int = Field(default=50, ge=1)

    @field_validator("explain_first")
    @classmethod
    def _explaining_tiers(cls, explain: bool | list[str]) -> bool | list[str]:
        unknown = [] if isinstance(explain, bool) else [name for name in explain if name not in TIER_NAMES[1:]]
        if unknown:
            raise ValueError(f"unknown tier {unknown[0]!r}; use true, false or tiers from {', '.join(TIER_NAMES[1:])}")
        return explain

    def explains(self, tier: str) -> bool:
        """Whether prompts to ``tier`` ask the model to explain before it writes (``explain_first``)."""
        return self.explain_first if isinstance(self.explain_first, bool) else tier in self.explain_first


class ModelConfig(_Section):
    """One named model: what LiteLLM calls, where, with which key and at what price.

    ``gguf`` names a local GGUF file (or a bundled ``local/...`` alias) that autodev serves itself with llama.cpp;
    ``model`` then defaults to ``openai/NAME``.
    """

    model: str | None = None
    gguf: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=600.0, gt=0)
    seed: int | None = None
    context_tokens: int | None = Field(default=None, ge=256)  # the model's context window, when autodev cannot know it

    @model_validator(mode="after")
    def _model_or_gguf(self) -> ModelConfig:
        if self.model is None and self.gguf is None:
            raise ValueError("give `model` (a LiteLLM model string) or `gguf` (a local model file)")
        return self


class LocalConfig(_Section):
    """How autodev serves local GGUF models with llama.cpp."""

    models_dir: str | None = None
    context_size: int = Field(default=8192, ge=512)
    threads: int | None = Field(default=None, ge=1)
    startup_timeout_s: float = Field(default=120.0, gt=0)
    seed: int = 0
    max_tokens: int = Field(default=2048, ge=16)  # a rambling small model must not fill the context
    # ggml's extra weight buffers (AMX, repacked weights): "auto" turns them off where AMX code would trap
    extra_buffers: Literal["auto", "on", "off"] = "auto"
    # another OpenAI-compatible server for GGUF files (llama.cpp's own llama-server, say), with placeholders
    server_command: list[str] | None = None

    @field_validator("server_command")
    @classmethod
    def _command_has_model_and_port(cls, command: list[str] | None) -> list[str] | None:
        if command is None:
            return None
        if not command:
            raise ValueError("give the program and its arguments, or leave server_command out")
        joined = " ".join(command)
        missing = [name for name in ("{model}", "{port}") if name not in joined]
        if missing:
            raise ValueError(
                f"the command must contain {' and '.join(missing)} (placeholders: {{model}}, {{alias}}, {{host}}, "
                "{port}, {context_size}, {threads}, {parent})"
            )
        return command


class ConsensusConfig(_Section):
    """How the candidates of a sampled round are gathered and one of them chosen (docs/routing.md, "Consensus")."""

    across_models: bool = False  # a sampled round asks each model of the tier in turn, not only the first
    parallel_calls: int = Field(default=4, ge=1, le=16)  # hosted calls of one round at once (local ones: one)
    probe_inputs: int = Field(default=8, ge=0, le=64)  # extra inputs that green candidates are compared on; 0: off
    merge: bool = True  # no green candidate, two passing different tests: one attempt given both


class LLMConfig(_Section):
    """Which models are called, in which order, and how calls are retried (docs/routing.md)."""

    routing_strategy: Literal["tiered", "fixed", "cheapest"] = "tiered"
    fixed_tier: str | None = None  # for routing_strategy = "fixed"; default: the highest configured tier
    cache_responses: bool = True
    local_models_preferred: bool = True
    tiers: dict[str, list[str]] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    samples: dict[str, int] = Field(default_factory=dict)  # candidates per tier, default 1
    sample_temperature: float = Field(default=0.8, ge=0, le=2)
    consensus: ConsensusConfig = Field(default_factory=ConsensusConfig)
    retries: int = Field(default=2, ge=0, le=10)  # per call, on rate limits, 5xx, timeouts and lost connections
    retry_backoff_s: float = Field(default=1.0, ge=0)  # doubles with each retry
    cooldown_after: int = Field(default=3, ge=1)  # failed calls in a row (after retries) before a rest
    cooldown_s: float = Field(default=60.0, ge=0)
    skip_below_solve_rate: float = Field(default=0.10, ge=0, le=1)
    min_history: int = Field(default=5, ge=1)  # attempts of a size class before its solve rate can skip a tier

    @field_validator("tiers")
    @classmethod
    def _known_tier_names(cls, tiers: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, models in tiers.items():
            if name not in TIER_NAMES:
                raise ValueError(f"unknown tier {name!r}; use {', '.join(TIER_NAMES)}")
            if name == "tier0" and models:
                raise ValueError("tier0 is the replay of verified results and takes no models; start at tier1")
        return tiers

    @field_validator("samples")
    @classmethod
    def _samples_per_tier(cls, samples: dict[str, int]) -> dict[str, int]:
        for name, count in samples.items():
            if name not in TIER_NAMES[1:]:
                raise ValueError(f"unknown tier {name!r}; use {', '.join(TIER_NAMES[1:])}")
            if not 1 <= count <= 16:
                raise ValueError(f"{name}: samples must be between 1 and 16, not {count}")
        return samples

    @field_validator("fixed_tier")
    @classmethod
    def _fixed_tier_name(cls, tier: str | None) -> str | None:
        if tier is not None and tier not in TIER_NAMES[1:]:
            raise ValueError(f"unknown tier {tier!r}; use {', '.join(TIER_NAMES[1:])}")
        return tier

    def tier_models(self) -> dict[str, list[str]]:
        """The non-empty model tiers, lowest first (tier0 never holds models)."""
        return {name: list(self.tiers[name]) for name in TIER_NAMES[1:] if self.tiers.get(name)}

    def ladder(self) -> list[str]:
        """The first model of each non-empty tier, lowest tier first: the escalation order."""
        return [self.tiers[name][0] for name in TIER_NAMES if self.tiers.get(name)]

    def first_model(self) -> str | None:
        """The first model of the lowest non-empty tier: the cheapest one to try first."""
        for name in TIER_NAMES:
            models = self.tiers.get(name)
            if models:
                return models[0]
        return None


DEFAULT_SPEC_PATHS = ("SPEC.md", "requirements.md", "specs/**/*.md")


class SpecsConfig(_Section):
    """Where the specifications are: spec files (requirements) and other documents (context)."""

    paths: list[str] = Field(default_factory=lambda: list(DEFAULT_SPEC_PATHS), min_length=1)


class BudgetConfig(_Section):
    """Hard spending caps in US dollars, checked before every call; none by default."""

    per_requirement_usd: float | None = Field(default=None, ge=0)
    per_run_usd: float | None = Field(default=None, ge=0)
    per_day_usd: float | None = Field(default=None, ge=0)


class LearningConfig(_Section):
    """Learning from outcomes (docs/learning.md): ``enabled`` keeps and reuses verified solutions; the pattern keys
    are accepted so existing files load, and not used yet."""

    enabled: bool = True
    reuse: bool = True  # tier 0 widened: a stored change whose tests are these up to names, before any model
    few_shot: bool = False  # the most similar stored solution in the cheapest tier's prompts (not measured yet)
    few_shot_tokens: int = Field(default=800, ge=0)  # its budget in the prompt
    pattern_extraction: bool = True
    min_pattern_quality: float = Field(default=0.7, ge=0, le=1)


class ContextConfig(_Section):
    """What a prompt carries besides the requirement: the project memory (docs/memory.md).

    Memory costs tokens on every call, and a small local model with a short context loses more by it than it
    gains, so local models get none unless a tier is given a budget here.
    """

    memory: bool = True  # false: no memory file is read at all
    memory_files: list[str] = Field(default_factory=list)  # more files that apply everywhere, after AGENTS.md & co
    memory_tokens: dict[str, int] = Field(default_factory=dict)  # per tier (tier1..tier4); overrides the two below
    local_memory_tokens: int = Field(default=0, ge=0)  # models autodev serves itself, and Ollama's
    hosted_memory_tokens: int = Field(default=4000, ge=0)

    @field_validator("memory_tokens")
    @classmethod
    def _budget_per_tier(cls, budgets: dict[str, int]) -> dict[str, int]:
        for name, tokens in budgets.items():
            if name not in TIER_NAMES[1:]:
                raise ValueError(f"unknown tier {name!r}; use {', '.join(TIER_NAMES[1:])}")
            if tokens < 0:
                raise ValueError(f"{name}: a budget of tokens cannot be negative")
        return budgets

    @field_validator("memory_files")
    @classmethod
    def _relative_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.strip() or path.startswith(("/", "~")) or ".." in Path(path).parts:
                raise ValueError(f"{path!r}: give a path inside the project, relative to its root")
        return paths


class PlanningConfig(_Section):
    """When the architect plans a requirement before the coder writes it (docs/workflows.md, "A plan in a pass").

    A requirement whose spec says ``Plan: yes`` is always planned; with ``[roles.architect]`` configured, so is one
    that is large: this many target files or failing tests. ``Plan: no`` never is.
    """

    min_files: int = Field(default=3, ge=1)
    min_failing_tests: int = Field(default=8, ge=1)
    max_increments: int = Field(default=5, ge=1, le=20)  # a longer plan has its last increments joined


class VcsConfig(_Section):
    """How autodev commits (docs/configuration.md)."""

    # The repository's hooks in autodev's own commits. Off: code under test can write .git/hooks, and a hook run
    # by autodev's commit would run what it wrote. On: pre-commit checks apply to autodev's commits too.
    run_hooks: bool = False


class Config(_Section):
    """The whole of autodev.toml; every section is optional."""

    project: ProjectConfig = Field(default_factory=ProjectConfig)
    tests: TestsConfig = Field(default_factory=TestsConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    synthesis: SynthesisConfig = Field(default_factory=SynthesisConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    specs: SpecsConfig = Field(default_factory=SpecsConfig)
    local: LocalConfig = Field(default_factory=LocalConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    vcs: VcsConfig = Field(default_factory=VcsConfig)
    planning: PlanningConfig = Field(default_factory=PlanningConfig)
    roles: dict[str, RoleConfig] = Field(default_factory=dict)  # autodev.workflow_model; docs/workflows.md
    workflows: dict[str, Workflow] = Field(default_factory=dict)

    def without_response_cache(self) -> Config:
        """This configuration with ``[llm] cache_responses`` off: every model is asked afresh (--no-cache)."""
        return self.model_copy(update={"llm": self.llm.model_copy(update={"cache_responses": False})})

    @field_validator("roles", "workflows")
    @classmethod
    def _names(cls, entries: dict[str, Any]) -> dict[str, Any]:
        for name in entries:
            if not is_name(name):
                raise ValueError(f"{name!r}: a name starts with a letter and has only letters, digits, - and _")
        return entries

    @field_validator("roles")
    @classmethod
    def _role_tiers(cls, roles: dict[str, RoleConfig]) -> dict[str, RoleConfig]:
        """A misspelt tier would quietly give the role another model: an error, with the tiers there are."""
        for name, role in roles.items():
            if role.tier is not None and role.tier not in TIER_NAMES[1:]:
                raise ValueError(f"roles.{name}.tier: unknown tier {role.tier!r}; use {', '.join(TIER_NAMES[1:])}")
        return roles


def load_config(path: Path) -> Config:
    """Read and validate one autodev.toml; a missing file means all defaults (the layers: config_layers.py)."""
    if not (path.exists() or path.is_symlink()):  # a broken link is an error to report, not "no file"
        return Config()
    data = read_config_file(path, source=str(path))
    return parse_config(anchor_paths(data, path.parent), source=str(path))


MAX_CONFIG_BYTES = 1024 * 1024  # a configuration file is a few kilobytes; more is a mistake (or /dev/zero)
MAX_CONFIG_DEPTH = 16  # tables and lists inside each other; autodev's deepest key is 4 levels down


def read_config_file(path: Path, *, source: str) -> dict[str, Any]:
    """One configuration file as TOML data, unvalidated; errors name ``source`` (the file, said the user's way).

    Only a regular file is read, and at most :data:`MAX_CONFIG_BYTES` of it: a FIFO would hang every command and
    a link to a device would read forever. A UTF-8 byte-order mark (Windows editors write one) is accepted.
    """
    data = _regular_file_bytes(path, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, None, f"not UTF-8 text ({exc.reason})") from exc
    return checked_data(loads_toml(text, source=source), source=source)


def _regular_file_bytes(path: Path, source: str) -> bytes:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError as exc:
        raise ConfigError(source, None, "is a directory, not a file") from exc
    except OSError as exc:
        raise ConfigError(source, None, f"cannot be read ({exc.strerror or exc})") from exc
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise ConfigError(source, None, "is a directory, not a file")
        raise ConfigError(source, None, "is not a regular file (a pipe or a device?); make it a plain TOML file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(source, None, f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(source, None, f"is over {MAX_CONFIG_BYTES // 1024} KiB; a configuration is a few lines")
    return data


def loads_toml(text: str, *, source: str) -> dict[str, Any]:
    """TOML text as data; a syntax error, or nesting so deep that the parser gives up, is a ConfigError."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError(source, None, f"nested more than {MAX_CONFIG_DEPTH} levels deep") from None
    return data


def checked_data(data: dict[str, Any], *, source: str) -> dict[str, Any]:
    """``data`` unchanged, once no value is nested too deep and no key or string holds a NUL character.

    A NUL in `test_command` would reach ``subprocess`` and fail there with a traceback; checked here, every level
    (files, variables, ``--set``) gets the same clear message. The walk uses its own stack, not recursion.
    """
    stack: list[tuple[tuple[str, ...], Any]] = [((), data)]
    while stack:
        path, node = stack.pop()
        key = ".".join(path) or None
        if len(path) > MAX_CONFIG_DEPTH:
            raise ConfigError(source, key, f"nested more than {MAX_CONFIG_DEPTH} levels deep")
        if isinstance(node, str) and "\x00" in node:
            raise ConfigError(source, key, "contains a NUL character (\\u0000); remove it")
        if isinstance(node, dict):
            for name, value in node.items():
                if "\x00" in name:
                    raise ConfigError(source, key, "a key contains a NUL character (\\u0000); remove it")
                stack.append(((*path, name), value))
        elif isinstance(node, list):
            stack.extend(((*path, str(index)), value) for index, value in enumerate(node))
    return data


# The keys holding paths: a relative one means the directory of the file that set it, not the working directory.
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("local", "models_dir"),
    ("llm", "models", "*", "gguf"),
    ("roles", "*", "prompt_file"),
)


def anchor_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` (raw TOML) with its relative paths (PATH_KEYS) made absolute under ``base``; nothing else changes."""

    def anchored(value: Any) -> Any:
        if not isinstance(value, str) or value.startswith("~") or Path(value).is_absolute():
            return value
        if is_local_alias(value):
            return value  # a bundled model, not a path
        return str((base / value).resolve())

    def walk(node: Any, pattern: tuple[str, ...]) -> Any:
        if not pattern:
            return anchored(node)
        if not isinstance(node, dict):
            return node
        head, rest = pattern[0], pattern[1:]
        return {key: walk(value, rest) if head in ("*", key) else value for key, value in node.items()}

    for pattern in PATH_KEYS:
        data = dict(walk(data, pattern))
    return data


def parse_config(data: dict[str, Any], *, source: str) -> Config:
    """Validate already-parsed TOML, naming the first bad key the way the user wrote it."""
    checked_data(data, source=source)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        key, problem = first_problem(exc)
        raise ConfigError(source, key, problem) from exc


def first_problem(error: ValidationError) -> tuple[str | None, str]:
    """The first key a validation error is about (dotted, as the user wrote it) and the problem in words."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    return key or None, _describe(first["type"], first["msg"])


def _describe(error_type: str, message: str) -> str:
    if error_type == "extra_forbidden":
        return "unknown key (see docs/configuration.md for the keys autodev reads)"
    if error_type == "missing":
        return "required key is missing"
    return message.removeprefix("Value error, ")
