"""`autodev status`: every requirement as the tests left it, and an attempt a crash left awaiting recovery.

Kept apart from `spec check` so that it imports only what it reads (specs, ledger, journal): it must start fast.
"""

from __future__ import annotations

import difflib
import json
import shutil
import sys

import click
from pydantic import BaseModel

from autodev.cli.options import GlobalOptions
from autodev.journal import PendingAttempt, pending_attempt
from autodev.ledger import Ledger, LedgerEntry, load_ledger
from autodev.project import ProjectPaths
from autodev.spec.model import Requirement
from autodev.spec.parser import load_specs
from autodev.testgen.coverage import Coverage, coverage
from autodev.verify.confine import Confinement, state

_REASON_COLUMN = 61  # the width of the columns before the reason, spaces included
_NARROWEST_REASON = 20


@click.command()
@click.argument("requirement_id", metavar="[REQ]", required=False)
@click.option("--plan", "show_plan", is_flag=True, help="Show the architect's plan of REQ and its increments.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the requirements and any recovery.")
@click.pass_obj
def status(options: GlobalOptions, requirement_id: str | None, show_plan: bool, as_json: bool) -> None:
    """Every requirement with its status from the last pass: satisfied, failing, blocked, unverified, pending."""
    paths = ProjectPaths(root=options.root)  # nothing here logs: structlog is not even imported
    config = options.config(paths.root)
    specs = load_specs(paths.root, config.specs.paths)
    if show_plan:
        _plan(paths, specs.requirements, requirement_id, as_json)
        return
    ledger, warning = load_ledger(paths.ledger_file, rebuild=_empty_ledger)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    rows = [_row(r, ledger.entries.get(r.id), coverage(paths.root, r)) for r in specs.requirements]
    known = {r.id for r in specs.requirements}
    rows += [_row(None, entry) for entry in ledger.entries.values() if entry.id not in known]
    if requirement_id is not None:
        _named(requirement_id, [row.id for row in rows])
        rows = [row for row in rows if row.id == requirement_id]
    pending = pending_attempt(paths.journal_file)
    confined = state(Confinement.from_config(config.tests, paths.root))
    if as_json:
        payload = {
            "requirements": [row.model_dump(mode="json") for row in rows],
            "recovery": pending.model_dump(mode="json") if pending else None,
            "tests_confined": confined.model_dump(mode="json"),
            "spec_coverage": _spec_coverage(rows),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    width = _reason_width()
    for row in rows:
        tests = f"{row.tests_passing}/{len(row.tests)}" if row.tests else "-"
        cost = f"${row.cost_usd:.4f}" if row.cost_usd else ""
        click.echo(f"{row.id:18} {row.status:10} tests {tests:7} {row.tier or '':6} {cost:9} {_fit(row.reason, width)}")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    click.echo(", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "no requirements")
    if pending:
        click.echo(_recovery_line(pending))
    click.echo(_coverage_line(_spec_coverage(rows)))
    click.echo(f"tests confined: {confined.description}")


def _spec_coverage(rows: list[StatusRow]) -> dict[str, int | float | None]:
    """How much of the specs the tests prove: requirements with a passing linked test, examples and criteria with a
    generated test."""
    current = [row for row in rows if row.coverage is not None]
    proven = sum(1 for row in current if row.tests_passing > 0 and row.status != "pending")
    return {
        "requirements": len(current),
        "with_passing_test": proven,
        "share": round(proven / len(current), 3) if current else None,
        "examples": sum(row.coverage.examples for row in current if row.coverage),
        "examples_tested": sum(row.coverage.examples_tested for row in current if row.coverage),
        "criteria": sum(row.coverage.criteria for row in current if row.coverage),
        "criteria_tested": sum(row.coverage.criteria_tested for row in current if row.coverage),
    }


def _coverage_line(spec: dict[str, int | float | None]) -> str:
    share = spec["share"]
    line = (f"spec coverage: {spec['with_passing_test']} of {spec['requirements']} requirement(s) have a passing "
            f"linked test" + (f" ({share:.0%})" if isinstance(share, float) else ""))  # fmt: skip
    if spec["examples"]:
        line += (
            f"; {spec['examples_tested']} of {spec['examples']} example(s) have a generated test (autodev tests gen)"
        )
    if spec["criteria"]:
        line += f"; {spec['criteria_tested']} of {spec['criteria']} acceptance criteria have a generated test"
    return line


def _named(requirement_id: str, known: list[str]) -> None:
    """A REQ that names no requirement is a usage error that lists those there are."""
    if requirement_id not in known:
        close = difflib.get_close_matches(requirement_id, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (the requirements: {', '.join(known[:12]) or 'none'})"
        raise click.UsageError(f"no requirement {requirement_id}{hint}")


def _plan(paths: ProjectPaths, requirements: list[Requirement], requirement_id: str | None, as_json: bool) -> None:
    """The plan of REQ, or of every requirement that has one."""
    from autodev.cli.plan_view import NO_PLAN, plan_lines
    from autodev.increments import PlanStore

    if requirement_id is not None:
        _named(requirement_id, [r.id for r in requirements])
    store = PlanStore(paths.plans_dir)
    chosen = [r for r in requirements if requirement_id in (None, r.id)]
    plans = [(r, store.get(r.id)) for r in chosen]
    if as_json:
        payload = [{"requirement": r.id, "current": plan.content_hash == r.content_hash if plan else None,
                    "plan": plan.model_dump(mode="json") if plan else None} for r, plan in plans]  # fmt: skip
        click.echo(json.dumps({"plans": payload}, indent=2))
        return
    shown = [(r, plan) for r, plan in plans if plan is not None]
    if not shown:
        click.echo(NO_PLAN.format(id=requirement_id or "no requirement"))
        return
    for requirement, plan in shown:
        click.echo("\n".join(plan_lines(requirement, plan)))


def _reason_width() -> int | None:
    """On a terminal, what is left of its width after the other columns; elsewhere no limit (scripts, pipes)."""
    if not sys.stdout.isatty():
        return None
    return max(shutil.get_terminal_size().columns - 1 - _REASON_COLUMN, _NARROWEST_REASON)  # the last column free


def _fit(reason: str, width: int | None) -> str:
    """The whole reason on one line; cut with "..." only to fit a terminal."""
    text = " ".join(reason.split())
    if width is None or len(text) <= width:
        return text
    return text[: width - 3] + "..."


def _recovery_line(pending: PendingAttempt) -> str:
    if not pending.readable:
        return (
            f"an attempt's journal ({pending.journal}) cannot be read: the next `autodev run` (or loop pass) moves "
            "it aside, touching no file"
        )
    files = ", ".join(pending.files) or "no file"
    whose = f" at {pending.requirement}" if pending.requirement else ""
    if pending.running:
        return f"an attempt{whose} is in progress (pid {pending.pid}) on {files}"
    return (
        f"an interrupted attempt{whose} (pid {pending.pid}, started {pending.started_at}) left {files} awaiting "
        "recovery: "
        "the next `autodev run` (or loop pass) rolls it back to the bytes it had before"
    )


class StatusRow(BaseModel):
    """One line of `autodev status`; the JSON form lists these under ``requirements``."""

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
    coverage: Coverage | None = None  # None: gone from the specs


def _row(requirement: Requirement | None, entry: LedgerEntry | None, covered: Coverage | None = None) -> StatusRow:
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
        coverage=covered,
    )


def _empty_ledger() -> Ledger:
    return Ledger(entries={})
