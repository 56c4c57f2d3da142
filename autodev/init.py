"""`autodev init`: make a directory ready for autodev without touching anything that is already there."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autodev.errors import NotARepositoryError
from autodev.project import ProjectPaths
from autodev.vcs import GitRepo, init_repository
from autodev.workspace import atomic_write

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


def init_project(root: Path) -> InitReport:
    """Write autodev.toml and a SPEC.md template if missing, ignore .autodev/, and git init if needed."""
    paths = ProjectPaths(root=root)
    report = InitReport()
    try:
        GitRepo.open(root)
    except NotARepositoryError:
        init_repository(root)
        report.git_initialised = True
    for target, name in ((paths.config_file, "autodev.toml"), (paths.spec_file, "SPEC.md")):
        if target.exists():
            report.kept.append(target.name)
        else:
            atomic_write(target, template(name).encode("utf-8"))
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
