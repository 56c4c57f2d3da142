"""`autodev init`: make a directory ready for autodev without touching anything that is already there."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autodev.errors import NotARepositoryError
from autodev.fileio import atomic_write
from autodev.local.catalog import CATALOG, DEFAULT_LADDER
from autodev.local.files import installed_local_ladder
from autodev.project import ProjectPaths
from autodev.vcs import GitRepo, init_repository

GITIGNORE_ENTRY = ".autodev/"


class InitReport(BaseModel):
    """What init created or changed, so the CLI can tell the user exactly that."""

    model_config = ConfigDict(extra="forbid")

    created: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    git_initialised: bool = False
    gitignore_updated: bool = False


def template(name: str) -> str:
    return resources.files("autodev.templates").joinpath(name).read_text(encoding="utf-8")


# Environment variable -> a hosted model to add above the local ladder when its key is present.
HOSTED_BY_KEY = {
    "ANTHROPIC_API_KEY": "anthropic/claude-3-5-haiku-latest",
    "OPENAI_API_KEY": "openai/gpt-4o-mini",
    "OPENROUTER_API_KEY": "openrouter/qwen/qwen-2.5-coder-32b-instruct",
    "GROQ_API_KEY": "groq/llama-3.3-70b-versatile",
}


def tiers_block(env: Mapping[str, str], installed: Collection[str]) -> str:
    """The [llm.tiers] table init writes: the local ladder, then hosted models for the keys that are set."""
    lines = ["[llm.tiers]"]
    for number, alias in enumerate(DEFAULT_LADDER, start=1):
        spec = CATALOG[alias]
        if alias in installed:
            lines.append(f'tier{number} = ["{alias}"]')
        else:
            lines.append(f"# tier{number} = [\"{alias}\"]   # not installed: pip install 'autodev[{spec.extra}]'")
    hosted = [model for key, model in HOSTED_BY_KEY.items() if env.get(key)]
    keys = [key for key in HOSTED_BY_KEY if env.get(key)]
    if hosted:
        lines.append(f"# {', '.join(keys)} set: hosted models are the last resort")
        lines.append("tier4 = [" + ", ".join(f'"{model}"' for model in hosted) + "]")
    else:
        lines.append('# tier4 = ["openai/gpt-4o-mini"]   # a hosted model as the last resort (needs OPENAI_API_KEY)')
    return "\n".join(lines)


def render_config(env: Mapping[str, str], installed: Collection[str]) -> str:
    return template("autodev.toml").replace("{tiers}", tiers_block(env, installed))


def init_project(root: Path, env: Mapping[str, str] | None = None) -> InitReport:
    """Write autodev.toml and a SPEC.md template if missing, ignore .autodev/, and git init if needed."""
    paths = ProjectPaths(root=root)
    report = InitReport()
    try:
        GitRepo.open(root)
    except NotARepositoryError:
        init_repository(root)
        report.git_initialised = True
    config_text = render_config(os.environ if env is None else env, installed_local_ladder())
    for target, text in ((paths.config_file, config_text), (paths.spec_file, template("SPEC.md"))):
        if target.exists():
            report.kept.append(target.name)
        else:
            atomic_write(target, text.encode("utf-8"))
            report.created.append(target.name)
    report.gitignore_updated = _ignore_state_dir(root / ".gitignore")
    return report


def _ignore_state_dir(gitignore: Path) -> bool:
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    lines = {line.strip() for line in existing.splitlines()}
    if {GITIGNORE_ENTRY, ".autodev", "/.autodev/", "/.autodev"} & lines:
        return False
    separator = "" if not existing or existing.endswith("\n") else "\n"
    atomic_write(gitignore, f"{existing}{separator}{GITIGNORE_ENTRY}\n".encode())
    return True
