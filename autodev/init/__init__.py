"""`autodev init`: make a directory ready for autodev without touching anything that is already there.

Submodules: :mod:`~autodev.init.models` (which models, and why) and :mod:`~autodev.init.markers` (the ``req``
pytest marker for the user's own pytest).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autodev.config import load_config
from autodev.errors import ConfigError, NotARepositoryError, UsageError
from autodev.fileio import atomic_write
from autodev.init.markers import MarkerOutcome, register_req_marker
from autodev.init.models import HOSTED_BY_KEY, choose_models
from autodev.local.files import installed_local_ladder
from autodev.project import OLD_STATE_IGNORE, STATE_IGNORES, ProjectPaths
from autodev.vcs import GitRepo, init_repository

__all__ = ["HOSTED_BY_KEY", "InitReport", "init_project", "render_config", "tiers_block"]

GITIGNORE_ENTRY = "\n".join(STATE_IGNORES)  # .autodev/ but its workflows/ and commands/, which are yours to commit
# Written with SPEC.md's template only: its tests prove that template's requirements, and nothing else.
STARTER_TEST = "tests/test_mymodule.py"


class InitReport(BaseModel):
    """What init created or changed, so the CLI can tell the user exactly that."""

    model_config = ConfigDict(extra="forbid")

    root: Path
    created: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    git_initialised: bool = False
    gitignore_updated: bool = False
    models: list[str] = Field(default_factory=list)  # one line per tier decision, when autodev.toml was written
    marker: MarkerOutcome | None = None

    def lines(self) -> list[str]:
        out = [f"initialised a git repository in {self.root}"] if self.git_initialised else []
        out += [f"created {name}" for name in self.created]
        out += [f"kept existing {name}" for name in self.kept]
        if self.gitignore_updated:
            out.append("added .autodev/* to .gitignore (its workflows/ and commands/ stay yours to commit)")
        if self.marker is not None:
            out.append(self.marker.line())
        if self.models:
            out.append("models (autodev.toml [llm.tiers]):")
            out += [f"  {line}" for line in self.models]
        if STARTER_TEST in self.created:
            out.append(f"next: run `autodev run --once` to make {STARTER_TEST} pass, then write your own")
        else:
            out.append("next: describe what you want in SPEC.md, write tests in tests/, then run `autodev run --once`")
        return out


def template(name: str) -> str:
    return resources.files("autodev.templates").joinpath(name).read_text(encoding="utf-8")


def tiers_block(env: Mapping[str, str], installed: Collection[str]) -> str:
    """The [llm.tiers] table init writes: the local ladder, then hosted models for the keys that are set."""
    return choose_models(env, installed).tiers_toml


def render_config(env: Mapping[str, str], installed: Collection[str]) -> str:
    choice = choose_models(env, installed)
    return template("autodev.toml").replace("{tiers}", choice.tiers_toml).replace("{budget}", choice.budget_toml)


def init_project(root: Path, env: Mapping[str, str] | None = None) -> InitReport:
    """Write autodev.toml, a SPEC.md template and its starter test if missing, register the req marker,
    ignore .autodev/, and git init if needed.

    Raises UsageError, before changing anything, over an autodev.toml that does not load: "kept existing"
    would leave the user with a project no command can run.
    """
    paths = ProjectPaths(root=root)
    _refuse_invalid_config(paths)
    report = InitReport(root=root)
    try:
        GitRepo.open(root)
    except NotARepositoryError:
        init_repository(root)
        report.git_initialised = True
    source = os.environ if env is None else env
    if _write_new(paths.config_file, render_config(source, installed_local_ladder()), report):
        report.models = choose_models(source, installed_local_ladder()).lines
    if _write_new(paths.spec_file, template("SPEC.md"), report):
        _write_new(root / STARTER_TEST, template("test_mymodule.py.txt"), report)
    report.marker = register_req_marker(root)
    report.gitignore_updated = _ignore_state_dir(root / ".gitignore")
    return report


def _refuse_invalid_config(paths: ProjectPaths) -> None:
    if not paths.config_file.exists():
        return
    try:
        load_config(paths.config_file)
    except ConfigError as error:
        problem = f"{error.key}: {error.problem}" if error.key else error.problem
        raise UsageError(
            f"{paths.config_file.name} exists but is invalid: {problem}; "
            f"fix it or remove it and run `autodev init` again"
        ) from error


def _write_new(target: Path, text: str, report: InitReport) -> bool:
    """Write ``target`` unless it exists (then it is kept, byte for byte); True when written."""
    name = target.relative_to(report.root).as_posix()
    if target.exists():
        report.kept.append(name)
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text.encode("utf-8"))
    report.created.append(name)
    return True


def _ignore_state_dir(gitignore: Path) -> bool:
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    lines = {line.strip() for line in existing.splitlines()}
    if {STATE_IGNORES[0], "/.autodev/*", ".autodev", OLD_STATE_IGNORE, "/.autodev/", "/.autodev"} & lines:
        return False
    separator = "" if not existing or existing.endswith("\n") else "\n"
    atomic_write(gitignore, f"{existing}{separator}{GITIGNORE_ENTRY}\n".encode())
    return True
