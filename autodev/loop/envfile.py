"""The provider keys a service needs, in one file of the user's: `~/.config/autodev/env`, mode 0600.

A service manager starts the loop without the login shell's environment, so a hosted tier would fail there
for want of its key. One file per user (not per project) because keys belong to the user: every project's
service reads the same file, and a rotated key is changed in one place. The syntax, ``NAME='value'`` lines,
means the same to systemd's ``EnvironmentFile=`` and to ``sh``'s ``.`` (which the launchd agent uses), so a
value is refused when it holds a single quote or a line break rather than being escaped two ways.
Key values are written here and nowhere else: never printed, never put in a unit or a plist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from autodev.fileio import atomic_write

# The variables LiteLLM reads provider keys from (the values of autodev.llm.client's table, which this layer
# may not import; tests/test_loop_envfile.py checks the two agree).
PROVIDER_KEY_VARIABLES: Final = (
    "ANTHROPIC_API_KEY",
    "AZURE_API_KEY",
    "COHERE_API_KEY",
    "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "TOGETHERAI_API_KEY",
)
ENV_FILE_MODE: Final = 0o600
_HEADER: Final = (
    "# Provider keys for autodev's services (systemd EnvironmentFile=, launchd through sh).\n"
    "# Written by `autodev service install --env-file`; keep it private (mode 0600).\n"
)
_ASSIGNMENT: Final = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")


def env_file_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/autodev/env``, else ``~/.config/autodev/env``: where the service definitions look."""
    source = os.environ if env is None else env
    config_home = source.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "autodev" / "env"


class EnvFilePlan(BaseModel):
    """Which keys would go into the file (names only, so it can be printed) and which were refused, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    names: list[str] = Field(default_factory=list)
    refused: dict[str, str] = Field(default_factory=dict)


def plan_env_file(env: Mapping[str, str] | None = None) -> EnvFilePlan:
    """The provider keys set in ``env`` (the current environment by default) that can be written."""
    source = os.environ if env is None else env
    names: list[str] = []
    refused: dict[str, str] = {}
    for name in PROVIDER_KEY_VARIABLES:
        value = source.get(name)
        if not value:
            continue
        if "'" in value or "\n" in value or "\r" in value:
            refused[name] = "its value holds a quote or a line break; add it to the file by hand"
        else:
            names.append(name)
    return EnvFilePlan(path=env_file_path(source), names=names, refused=refused)


def write_env_file(plan: EnvFilePlan, env: Mapping[str, str] | None = None) -> None:
    """Write the planned keys with their current values, keeping every other line of an existing file.

    The directory is made 0700 and the file 0600 before any value is in it.
    """
    source = os.environ if env is None else env
    kept = _lines_without(plan.path, set(plan.names))
    body = "".join(f"{name}='{source[name]}'\n" for name in plan.names)
    plan.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(plan.path, (kept + body).encode("utf-8"), mode=ENV_FILE_MODE)


def _lines_without(path: Path, names: set[str]) -> str:
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _HEADER
    lines = [line for line in existing.splitlines(keepends=True) if _assigned(line) not in names]
    text = "".join(lines)
    return text if not text or text.endswith("\n") else text + "\n"


def _assigned(line: str) -> str | None:
    match = _ASSIGNMENT.match(line)
    return match.group(1) if match else None
