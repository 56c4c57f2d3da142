"""`autodev spec show|check`: the requirements as parsed and linted (`autodev status` is cli/status_cmd.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from autodev.cli.options import GlobalOptions
from autodev.config import Config
from autodev.errors import SpecError
from autodev.logs import configure_logging
from autodev.project import ProjectPaths
from autodev.spec.collect import Collected
from autodev.spec.links import link_tests, project_collection
from autodev.spec.lint import check_specs
from autodev.spec.model import Requirement, SpecSet
from autodev.spec.parser import load_specs, read_specs
from autodev.verify.adapters.choose import project_test_command
from autodev.verify.confine import Confinement
from autodev.verify.runner import pytest_argv


@click.group()
def spec() -> None:
    """The specifications as autodev reads them."""


@spec.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of requirements.")
@click.pass_obj
def show(options: GlobalOptions, as_json: bool) -> None:
    """The parsed requirements: ID, title, file:line, criteria, examples, files and dependencies."""
    root = options.root
    specs = load_specs(root, options.config(root).specs.paths)  # logs nothing
    if as_json:
        click.echo(json.dumps([_shown(r) for r in specs.requirements], indent=2))
        return
    for requirement in specs.requirements:
        click.echo(
            f"{requirement.id:18} {requirement.title[:50]:50} {requirement.source}:{requirement.line}  "
            f"criteria {len(requirement.criteria)}, examples {len(requirement.examples)}"
            + (f", files {' '.join(requirement.files)}" if requirement.files else "")
            + (f", depends {' '.join(requirement.depends)}" if requirement.depends else "")
        )
    for context in specs.context_files:
        click.echo(f"(context) {context}")


@spec.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--no-tests", is_flag=True, help="Do not collect tests (links are then not checked).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: counts and the diagnostics.")
@click.pass_obj
def check(options: GlobalOptions, paths: tuple[Path, ...], no_tests: bool, as_json: bool) -> None:
    """Lint the specs and tests like a compiler: `file:line: error|warning: message`; exit 1 on errors."""
    specs = _load(options, paths, allow_duplicates=True)
    collected = None if no_tests else _collected(options.root, options.config(options.root))
    links = link_tests(specs.requirements, collected.tests) if collected else None
    diagnostics = check_specs(specs, links.by_requirement if links else None, collected=collected, root=options.root)
    errors = sum(1 for d in diagnostics if d.level == "error")
    warnings = len(diagnostics) - errors
    if as_json:
        counts = {"requirements": len(specs.requirements), "errors": errors, "warnings": warnings}
        click.echo(json.dumps({**counts, "diagnostics": [d.model_dump(mode="json") for d in diagnostics]}, indent=2))
    else:
        for diagnostic in diagnostics:
            click.echo(str(diagnostic))
        click.echo(f"{len(specs.requirements)} requirement(s), {errors} error(s), {warnings} warning(s)", err=True)
    if errors:
        raise click.exceptions.Exit(1)


def _load(options: GlobalOptions, paths: tuple[Path, ...], *, allow_duplicates: bool = False) -> SpecSet:
    """The specs; `spec check` reads them with duplicate IDs, which it reports like every other finding."""
    configure_logging(log_file=None, json_console=options.log_json, console_level="warning")
    root = options.root
    config = options.config(root)
    patterns = [_pattern(root, path) for path in paths] or config.specs.paths
    return (read_specs if allow_duplicates else load_specs)(root, patterns)


def _pattern(root: Path, path: Path) -> str:
    """A directory means every Markdown file under it; paths are taken relative to the project."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        relative = absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError as exc:
        raise SpecError(f"{path} is outside the project {root}") from exc
    return f"{relative}/**/*.md" if absolute.is_dir() else relative


def _collected(root: Path, config: Config) -> Collected | None:
    """The tests as pytest collects them, or None when the test command is not pytest."""
    paths = ProjectPaths(root=root)
    command = project_test_command(config, root)
    if pytest_argv(command) is None:
        return None
    paths.ensure_state_dirs()
    return project_collection(root, command, scratch_dir=paths.scratch_dir, timeout_s=config.tests.timeout_s,
                              pass_env=config.tests.pass_env,
                              confine=Confinement.from_config(config.tests, root))  # fmt: skip


def _shown(requirement: Requirement) -> dict[str, object]:
    return {
        "id": requirement.id,
        "title": requirement.title,
        "file": requirement.source,
        "line": requirement.line,
        "parent": requirement.parent,
        "criteria": list(requirement.criteria),
        "examples": list(requirement.examples),
        "files": list(requirement.files),
        "depends": list(requirement.depends),
        "priority": requirement.priority,
    }
