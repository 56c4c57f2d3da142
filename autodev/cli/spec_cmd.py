"""`autodev spec show|check` and `autodev status`: the requirements as parsed, linted, and as the tests left them."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import BaseModel

from autodev.cli.options import GlobalOptions
from autodev.config import load_config
from autodev.errors import SpecError
from autodev.ledger import Ledger, LedgerEntry, load_ledger
from autodev.logs import configure_logging
from autodev.project import ProjectPaths
from autodev.spec.collect import Collected
from autodev.spec.links import link_tests, project_collection
from autodev.spec.lint import check_specs
from autodev.spec.model import Requirement, SpecSet
from autodev.spec.parser import load_specs, read_specs
from autodev.verify.runner import pytest_argv


@click.group()
def spec() -> None:
    """The specifications as autodev reads them."""


@spec.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of requirements.")
@click.pass_obj
def show(options: GlobalOptions, as_json: bool) -> None:
    """The parsed requirements: ID, title, file:line, criteria, examples, files and dependencies."""
    specs = _load(options, ())
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
    collected = None if no_tests else _collected(options.root)
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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per requirement.")
@click.pass_obj
def status(options: GlobalOptions, as_json: bool) -> None:
    """Every requirement with its status from the last pass: satisfied, failing, blocked, unverified, pending."""
    paths = ProjectPaths(root=options.root)
    specs = _load(options, ())
    ledger, warning = load_ledger(paths.ledger_file, rebuild=_empty_ledger)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    rows = [_row(r, ledger.entries.get(r.id)) for r in specs.requirements]
    known = {r.id for r in specs.requirements}
    rows += [_row(None, entry) for entry in ledger.entries.values() if entry.id not in known]
    if as_json:
        click.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    for row in rows:
        tests = f"{row.tests_passing}/{len(row.tests)}" if row.tests else "-"
        cost = f"${row.cost_usd:.4f}" if row.cost_usd else ""
        click.echo(f"{row.id:18} {row.status:10} tests {tests:7} {row.tier or '':6} {cost:9} {row.reason[:70]}")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    click.echo(", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "no requirements")


def _load(options: GlobalOptions, paths: tuple[Path, ...], *, allow_duplicates: bool = False) -> SpecSet:
    """The specs; `spec check` reads them with duplicate IDs, which it reports like every other finding."""
    configure_logging(log_file=None, json_console=options.log_json, console_level="warning")
    root = options.root
    config = load_config(ProjectPaths(root=root).config_file)
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


def _collected(root: Path) -> Collected | None:
    """The tests as pytest collects them, or None when the test command is not pytest."""
    paths = ProjectPaths(root=root)
    config = load_config(paths.config_file)
    if pytest_argv(config.project.test_command) is None:
        return None
    paths.ensure_state_dirs()
    return project_collection(
        root, config.project.test_command, scratch_dir=paths.scratch_dir, timeout_s=config.tests.timeout_s
    )


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


class StatusRow(BaseModel):
    """One line of `autodev status`; the JSON form is a list of these."""

    id: str
    title: str
    status: str
    reason: str
    tests: list[str]
    tests_passing: int
    tier: str | None
    model: str | None
    cost_usd: float
    commit: str | None


def _row(requirement: Requirement | None, entry: LedgerEntry | None) -> StatusRow:
    """A requirement never worked on is pending; one gone from the specs shows what the ledger last said."""
    status = entry.status if entry else "pending"
    if requirement is not None and entry is not None and entry.content_hash != requirement.content_hash:
        status = "pending"
    tests = list(entry.tests) if entry else []
    passing = entry.passing if entry else 0
    identifier = requirement.id if requirement else (entry.id if entry else "")
    return StatusRow(
        id=identifier,
        title=requirement.title if requirement else (entry.title if entry else ""),
        status=status if requirement is not None else "removed",
        reason=entry.reason if entry and status != "pending" else "not worked on since it was written or changed",
        tests=tests,
        tests_passing=passing,
        tier=entry.tier if entry else None,
        model=entry.model if entry else None,
        cost_usd=entry.cost_usd if entry else 0.0,
        commit=entry.commit if entry else None,
    )


def _empty_ledger() -> Ledger:
    return Ledger(entries={})
