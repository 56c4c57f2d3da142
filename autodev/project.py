"""Where autodev keeps its state inside a project (`.autodev/`, git-ignored), and where the project is."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.config import CONFIG_FILE_NAME
from autodev.errors import UsageError

STATE_DIR_NAME = ".autodev"
# What git is told to ignore of it: everything but the project's workflows and custom commands, which are the
# user's to commit (a directory pattern, ".autodev/", would let git re-include nothing under it).
STATE_IGNORES = (".autodev/*", "!.autodev/workflows/", "!.autodev/commands/")
OLD_STATE_IGNORE = ".autodev/"  # what autodev wrote before; replaced in info/exclude, left alone in .gitignore


class ProjectPaths(BaseModel):
    """Every path autodev reads or writes for one project, derived from its root.

    Its many properties are kept on purpose: each is only a name for one path, so the whole layout of a project's
    state is read in one place.
    """

    model_config = ConfigDict(frozen=True)

    root: Path
    # Where the state lives when it is not root/.autodev: `autodev ask` outside any project keeps its conversations,
    # cache and spend in the user's data directory (:func:`user_data_dir`).
    state_root: Path | None = None

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE_NAME

    @property
    def spec_file(self) -> Path:
        return self.root / "SPEC.md"

    @property
    def state_dir(self) -> Path:
        return self.state_root if self.state_root is not None else self.root / STATE_DIR_NAME

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "autodev.jsonl"

    @property
    def journal_file(self) -> Path:
        return self.state_dir / "journal.json"

    @property
    def ledger_file(self) -> Path:
        """Each requirement's hash, tests, status and last commit between runs (autodev.ledger)."""
        return self.state_dir / "ledger.json"

    @property
    def scratch_dir(self) -> Path:
        return self.state_dir / "tmp"

    @property
    def trial_copy_dir(self) -> Path:
        """The disposable copy of the project where each attempt's tests run (autodev.verify.copy)."""
        return self.state_dir / "scratch" / "copy"

    @property
    def last_pass_file(self) -> Path:
        return self.state_dir / "last_pass.json"

    @property
    def cache_dir(self) -> Path:
        """Responses of models, keyed by the exact request (docs/routing.md)."""
        return self.state_dir / "cache"

    @property
    def verified_dir(self) -> Path:
        """Edits that made the tests pass, keyed by what the model saw: tier0 replays them without a call."""
        return self.state_dir / "verified"

    @property
    def metrics_file(self) -> Path:
        """One JSON line per model call and per escalation, for `autodev metrics` and per-tier solve rates."""
        return self.state_dir / "metrics.jsonl"

    @property
    def spend_file(self) -> Path:
        """Money spent per local calendar day, for [budget] per_day_usd."""
        return self.state_dir / "spend.json"

    @property
    def conversations_dir(self) -> Path:
        """`autodev ask`/`chat` conversations, one JSONL file each (autodev.ask.conversation)."""
        return self.state_dir / "conversations"

    @property
    def chat_history_file(self) -> Path:
        """The lines typed at `autodev chat`'s prompt, for its line editor's history."""
        return self.state_dir / "chat_history"

    @property
    def ask_written_file(self) -> Path:
        """What `ask --apply --no-commit` last wrote (path -> SHA-256): autodev's own uncommitted changes."""
        return self.state_dir / "ask_written.json"

    @property
    def workflows_dir(self) -> Path:
        """The project's workflow files, NAME.toml each (autodev.workflow.catalog)."""
        return self.state_dir / "workflows"

    @property
    def runs_dir(self) -> Path:
        """One directory per workflow run: its record, and each step's prompt and output (autodev.workflow.runs)."""
        return self.state_dir / "runs"

    @property
    def plans_dir(self) -> Path:
        """The architect's plan of each large requirement, and how far its increments got (autodev.increments)."""
        return self.state_dir / "plans"

    def ensure_state_dirs(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.scratch_dir.mkdir(parents=True, exist_ok=True)


def user_data_dir(env: Mapping[str, str]) -> Path:
    """Where autodev keeps state that belongs to no project: $XDG_DATA_HOME/autodev, else ~/.local/share/autodev."""
    data = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(data) / "autodev"


def user_config_dir(env: Mapping[str, str]) -> Path:
    """The user's autodev configuration (config.toml, commands/): $XDG_CONFIG_HOME/autodev, else ~/.config/autodev.

    A relative XDG_CONFIG_HOME is ignored, as the XDG specification says: it would name a different directory in
    every working directory.
    """
    config_home = env.get("XDG_CONFIG_HOME", "")
    if not config_home or not Path(config_home).is_absolute():
        config_home = str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(config_home) / "autodev"


def is_project_root(directory: Path) -> bool:
    """A project is where autodev.toml is, or where autodev already keeps state (a project run on defaults)."""
    # lexists, not is_file: an autodev.toml that is a directory, a pipe or a broken link still marks the project,
    # so loading it says what is wrong with it instead of "no project here"
    return os.path.lexists(directory / CONFIG_FILE_NAME) or (directory / STATE_DIR_NAME).is_dir()


def find_project_root(start: Path) -> Path | None:
    """The nearest directory from ``start`` upward that is a project, like git finds its repository.

    The search stops at the first repository root (a directory holding ``.git``) after looking there: a project
    is never taken from outside the repository one works in, so a stray autodev.toml in a home directory cannot
    capture every checkout below it.
    """
    for directory in (start, *start.parents):
        if is_project_root(directory):
            return directory
        if (directory / ".git").exists():
            return None
    return None


def require_project_root(start: Path) -> Path:
    """:func:`find_project_root`, or a usage error that says where autodev looked and what to do."""
    root = find_project_root(start)
    if root is None:
        raise UsageError(
            f"no autodev project in {start} or any parent (looked for {CONFIG_FILE_NAME}): "
            "run `autodev init` in the project's root"
        )
    return root
