"""Options given before the command, shared by every command."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class GlobalOptions(BaseModel):
    """What `autodev [-C DIR] [--log-json] [-v|-q]` said, handed to each command."""

    model_config = ConfigDict(frozen=True)

    root: Path
    log_json: bool
    console_level: str
