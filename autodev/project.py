"""Where autodev keeps its state inside a project (`.autodev/`, git-ignored)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.config import CONFIG_FILE_NAME

STATE_DIR_NAME = ".autodev"


class ProjectPaths(BaseModel):
    """Every path autodev reads or writes for one project, derived from its root."""

    model_config = ConfigDict(frozen=True)

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE_NAME

    @property
    def spec_file(self) -> Path:
        return self.root / "SPEC.md"

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR_NAME

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
    def scratch_dir(self) -> Path:
        return self.state_dir / "tmp"

    @property
    def last_pass_file(self) -> Path:
        return self.state_dir / "last_pass.json"

    def ensure_state_dirs(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
