"""`autodev tests gen`: a requirement's examples written as pytest tests, without a model and without touching code."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.config import Config
    from autodev.project import ProjectPaths
    from autodev.spec.model import Requirement
    from autodev.testgen.render import GeneratedTests
    from autodev.testgen.write import Written


@click.group()
def tests() -> None:
    """Tests from the specs: examples become pytest tests under tests/generated/, without a model."""


@tests.command("gen")
@click.argument("requirement_ids", metavar="[REQ]...", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Print the files that would be written; write nothing.")
@click.option(
    "--criteria",
    is_flag=True,
    help="Also have the tester role write tests for the acceptance criteria; only tests that assert something and "
    "fail on the current code for the requirement's reason are kept.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: per requirement its file and tests.")
@click.pass_obj
def gen(options: GlobalOptions, requirement_ids: tuple[str, ...], dry_run: bool, criteria: bool, as_json: bool) -> None:
    """Write each requirement's examples (REQ: only those) as one test file, tests/generated/test_<id>.py.

    Exit 1 when an example could not be translated (each is named with its spec line), a tester's test was
    refused, or a file is the user's.
    """
    from autodev.project import ProjectPaths
    from autodev.spec.parser import load_specs
    from autodev.testgen.render import render
    from autodev.testgen.write import Written, criteria_settled, write_generated

    paths = ProjectPaths(root=options.root)
    config = options.config(paths.root)
    requirements = load_specs(paths.root, config.specs.paths).requirements
    known = [r.id for r in requirements]
    unknown = [rid for rid in requirement_ids if rid not in known]
    if unknown:
        raise click.UsageError(f"no requirement {', '.join(unknown)} (the requirements: {', '.join(known[:12])})")
    chosen = [r for r in requirements if (r.id in requirement_ids if requirement_ids else r.examples)]
    rows = []
    failed = False
    for requirement in chosen:
        generated = render(requirement, paths.root)
        written = Written("nothing", "dry run") if dry_run else write_generated(paths.root, generated)
        failed = failed or bool(generated.refused) or written.outcome == "kept"
        rows.append((generated, written))
    tested = []
    if criteria:
        with_criteria = [r for r in requirements if r.criteria and (r.id in requirement_ids or not requirement_ids)]
        settled = [] if requirement_ids else [r for r in with_criteria if criteria_settled(paths.root, r)]
        asked = [r for r in with_criteria if r not in settled]
        tested = _criteria_tests(paths, config, asked, dry_run) + [_settled_row(r) for r in settled]
        failed = failed or any(row["refused"] or row["outcome"] == "kept" or row["problem"] for row in tested)
    if as_json:
        payload = {"requirements": [_row(g, w, dry_run) for g, w in rows], "criteria": tested}
        click.echo(json.dumps(payload, indent=2))
    else:
        for row in tested:
            click.echo(_criteria_line(row, dry_run))
        for generated, written in rows:
            click.echo(_line(generated, written, dry_run))
            if dry_run and generated.text:
                click.echo(generated.text)
        if not rows and not tested:
            click.echo('no requirement has examples (docs/spec-format.md, "Examples")')
    if failed:
        raise click.exceptions.Exit(1)


def _criteria_tests(
    paths: ProjectPaths, config: Config, requirements: list[Requirement], dry_run: bool
) -> list[dict[str, Any]]:
    """The tester's kept tests per requirement, written unless ``dry_run``; one row each, for text or JSON."""
    import os

    from autodev.local.serving import model_client
    from autodev.testgen.write import write_generated
    from autodev.workflow.tester import criteria_tests

    rows: list[dict[str, Any]] = []
    with model_client(config, os.environ) as client:
        for requirement in requirements:
            made = criteria_tests(paths, config, client, os.environ, requirement)
            written = write_generated(paths.root, made.as_generated()) if made.text and not dry_run else None
            rows.append({
                "requirement": made.requirement, "path": made.path if made.text else None, "model": made.model,
                "kept": made.kept, "refused": made.refused, "problem": made.problem,
                "outcome": "dry-run" if dry_run else (written.outcome if written else "nothing"),
                "reason": written.reason if written else "", "text": made.text if dry_run else None,
            })  # fmt: skip
    return rows


def _settled_row(requirement: Requirement) -> dict[str, Any]:
    from autodev.testgen.coverage import criteria_path

    return {"requirement": requirement.id, "path": criteria_path(requirement), "model": "", "kept": [], "refused": {},
            "problem": "", "outcome": "settled", "reason": "", "text": None}  # fmt: skip


def _criteria_line(row: dict[str, Any], dry_run: bool) -> str:
    kept, refused = row["kept"], row["refused"]
    if row["outcome"] == "settled":
        return (f"{row['requirement']}: {row['path']} is current (written for the requirement as it is) or yours; "
                "name the requirement to ask the tester again")  # fmt: skip
    if row["problem"]:
        said = f"no test kept: {row['problem']}"
    elif not kept:
        said = "no test kept"
    else:
        where = (
            "(dry run: not written)"
            if dry_run
            else {"written": "written", "unchanged": "unchanged"}.get(row["outcome"], f"not written: {row['reason']}")
        )
        said = f"{row['path']}: {len(kept)} of {len(kept) + len(refused)} criteria test(s) kept, {where}"
    lines = [f"{row['requirement']}: {said} (tester: {row['model']})"]
    lines += [f"  refused {name}: {why}" for name, why in refused.items()]
    return "\n".join(lines)


def _line(generated: GeneratedTests, written: Written, dry_run: bool) -> str:
    count = len(generated.tests)
    if not generated.text:
        said = "no test: no example could be translated" if generated.refused else "no examples"
    elif dry_run:
        said = f"{generated.path}: {count} test(s) (dry run: not written)"
    else:
        said = {
            "written": f"{generated.path}: {count} test(s) written",
            "unchanged": f"{generated.path}: {count} test(s), unchanged",
            "kept": f"not written: {written.reason}",
            "nothing": "nothing written",
        }[written.outcome]
    lines = [f"{generated.requirement}: {said}"]
    lines += [f"  refused {refusal}" for refusal in generated.refused]
    return "\n".join(lines)


def _row(generated: GeneratedTests, written: Written, dry_run: bool) -> dict[str, object]:
    return {
        "requirement": generated.requirement,
        "path": generated.path if generated.text else None,
        "tests": [{"name": name, "line": line} for name, line in generated.tests],
        "refused": [{"file": r.source, "line": r.line, "reason": r.reason} for r in generated.refused],
        "outcome": "dry-run" if dry_run else written.outcome,
        "reason": written.reason,
        "text": generated.text if dry_run else None,
    }
