"""Which workflows a project has: autodev.toml's ``[workflows.NAME]``, then ``.autodev/workflows/NAME.toml``, then
the built-in ones, the first of these naming a workflow being the one that runs.

A file that cannot be used is a problem reported with its path and the key at fault; the other workflows stay
usable (``autodev workflow list`` shows the problems, running the broken one raises them). Roles are checked
here too: a step naming a role that is neither built in nor in ``[roles]`` cannot run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from autodev.config import CONFIG_FILE_NAME, Config, first_problem, loads_toml, read_config_file
from autodev.errors import ConfigError, WorkflowError
from autodev.workflow.builtin import BUILTIN_WORKFLOWS
from autodev.workflow_model import BUILTIN_ROLES, Workflow, is_name

WORKFLOW_SUFFIX = ".toml"
BUILT_IN = "built-in"


class FoundWorkflow(BaseModel):
    """A workflow as found: its name, where it was defined, and the definitions of the same name it replaces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    origin: str  # "autodev.toml", a workflow file's path relative to the project, or "built-in"
    workflow: Workflow
    shadows: tuple[str, ...] = ()


@dataclass
class WorkflowSet:
    """The usable workflows by name, and what could not be read (each a message naming its file)."""

    found: dict[str, FoundWorkflow] = field(default_factory=dict)
    problems: dict[str, WorkflowError] = field(default_factory=dict)  # by workflow name

    def get(self, name: str) -> FoundWorkflow:
        """The workflow called ``name``; its own problem, or "no such workflow" with a guess, otherwise."""
        if name in self.found:
            return self.found[name]
        if name in self.problems:
            raise self.problems[name]
        names = sorted({*self.found, *self.problems})
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        raise WorkflowError(
            f"no workflow called {name!r}{guess} (there are: {', '.join(names)}; `autodev workflow list`)"
        )


def find_workflows(root: Path, directory: Path, config: Config) -> WorkflowSet:
    """Every workflow of the project (its files in ``directory``), the highest definition of each name winning."""
    found = WorkflowSet()
    layers: list[list[tuple[str, str, Workflow | WorkflowError]]] = [
        [(name, BUILT_IN, _builtin(name, text)) for name, text in BUILTIN_WORKFLOWS.items()],
        _files(root, directory),
        [(name, CONFIG_FILE_NAME, workflow) for name, workflow in config.workflows.items()],
    ]
    for layer in layers:
        for name, origin, item in layer:
            earlier = found.found.pop(name, None)
            found.problems.pop(name, None)
            shadows = (earlier.origin, *earlier.shadows) if earlier else ()
            if isinstance(item, WorkflowError):
                found.problems[name] = item
                continue
            problem = role_problem(item, config, origin=origin)
            if problem is not None:
                found.problems[name] = problem
            else:
                found.found[name] = FoundWorkflow(name=name, origin=origin, workflow=item, shadows=shadows)
    return found


def _builtin(name: str, text: str) -> Workflow:
    return Workflow.model_validate(loads_toml(text, source=f"built-in workflow {name}"))


def _files(root: Path, directory: Path) -> list[tuple[str, str, Workflow | WorkflowError]]:
    if not directory.is_dir():
        return []
    entries: list[tuple[str, str, Workflow | WorkflowError]] = []
    for path in sorted(directory.glob(f"*{WORKFLOW_SUFFIX}")):
        name = path.name.removesuffix(WORKFLOW_SUFFIX)
        shown = _shown(root, path)
        entries.append((name, shown, read_workflow_file(path, name, shown)))
    return entries


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def read_workflow_file(path: Path, name: str, shown: str) -> Workflow | WorkflowError:
    """The workflow in ``path``, or the error to report (never raised here: one bad file hides no other)."""
    if not is_name(name):
        return WorkflowError(f"{shown}: the file name must be the workflow's name (letters, digits, - and _)")
    try:
        data = read_config_file(path, source=shown)
    except ConfigError as error:
        return WorkflowError(str(error))
    return validated(data, shown)


def validated(data: dict[str, Any], source: str) -> Workflow | WorkflowError:
    try:
        return Workflow.model_validate(data)
    except ValidationError as error:
        key, problem = first_problem(error)
        return WorkflowError(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


def role_problem(workflow: Workflow, config: Config, *, origin: str) -> WorkflowError | None:
    """A step naming a role that nobody defined: said before any step runs, with the roles there are."""
    known = sorted({*BUILTIN_ROLES, *config.roles})
    for step in workflow.steps:
        if step.role is not None and step.role not in known:
            close = difflib.get_close_matches(step.role, known, n=1, cutoff=0.6)
            guess = f"did you mean {close[0]!r}? " if close else ""
            return WorkflowError(
                f"{origin}: step {step.name}: no role called {step.role!r}; {guess}add [roles.{step.role}] with "
                f"model or tier to autodev.toml (the roles are {', '.join(known)})"
            )
    return None
