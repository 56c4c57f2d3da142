"""`autodev workflow`: list, show, run and resume workflows (named chains of model steps, docs/workflows.md).

Parsing and printing only; ``autodev.workflow`` does the work. Each step's answer streams to stdout as it
arrives, the step headers and summaries go to stderr; ``--output FILE`` writes the last step's answer, ``--json``
prints one JSON object (the run's record) instead. Exit codes: 0 every step done, 1 a step failed (its model, its
files refused or its tests worse; `autodev workflow resume ID` goes on from it), 2 usage (an unknown workflow, a
placeholder that cannot be filled, a role without a model).
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.config import Config
    from autodev.project import ProjectPaths
    from autodev.workflow.catalog import FoundWorkflow, WorkflowSet
    from autodev.workflow.fanout_step import CandidateAnswered
    from autodev.workflow.runner import StepEnded, StepStarted
    from autodev.workflow.runs import RunRecord

_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of text.")
_NO_COMMIT = click.option("--no-commit", is_flag=True, help="Leave the files a step writes uncommitted.")
_FORCE = click.option("--force", is_flag=True, help="Let a step write over your uncommitted changes to its files.")
_OUTPUT = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the last step's answer to FILE."
)


@click.group("workflow")
def workflow_group() -> None:
    """Run named chains of model steps (review, spec-from-code, your own): list, show, run, resume.

    Each step's answer can feed the next; workflows live in .autodev/workflows/NAME.toml and [workflows.NAME].

    \b
    autodev workflow list                          the workflows, where each is defined
    autodev workflow show review                   its steps and prompts
    autodev workflow run review --input "the retry fix"
    autodev workflow run spec-from-code -i src/slug.py -o section.md
    autodev workflow resume 20261207-1130          go on from the first step not done
    """


@workflow_group.command("list")
@_JSON
@click.pass_context
def list_workflows(ctx: click.Context, /, as_json: bool) -> None:
    """The workflows there are (built in, the project's files, autodev.toml) and the ones that cannot be used."""
    paths, config = _place(ctx.obj)
    found = _catalog(paths, config)
    if as_json:
        payload = {
            "workflows": [
                {"name": f.name, "origin": f.origin, "description": f.workflow.description, "shadows": list(f.shadows),
                 "steps": [step.name for step in f.workflow.steps]}
                for f in found.found.values()
            ],
            "problems": {name: str(error) for name, error in found.problems.items()},
        }  # fmt: skip
        click.echo(json.dumps(payload, indent=2))
        return
    width = max((len(name) for name in found.found), default=0)
    for item in sorted(found.found.values(), key=lambda f: f.name):
        shadows = f"; replaces {', '.join(item.shadows)}" if item.shadows else ""
        description = item.workflow.description or "(no description)"
        click.echo(f"{item.name.ljust(width)}  {description}  [{item.origin}{shadows}]")
    for name, error in sorted(found.problems.items()):
        click.echo(f"cannot be used: {name}: {error}", err=True)


@workflow_group.command("show")
@click.argument("name")
@_JSON
@click.pass_context
def show_workflow(ctx: click.Context, /, name: str, as_json: bool) -> None:
    """A workflow's steps: who answers each, what becomes of its answer, and its prompt."""
    from autodev.workflow.roles import choose

    paths, config = _place(ctx.obj)
    found = _catalog(paths, config).get(name)
    if as_json:
        payload = {"name": found.name, "origin": found.origin, "shadows": list(found.shadows)}
        click.echo(json.dumps(payload | found.workflow.model_dump(mode="json"), indent=2))
        return
    click.echo(f"{found.name}: {found.workflow.description or '(no description)'}  [{found.origin}]")
    for number, step in enumerate(found.workflow.steps, start=1):
        click.echo(f"\nstep {number}: {step.name} ({choose(step, config, []).words}; output: {step.output})")
        click.echo(_indented(step.prompt))


@workflow_group.command("run")
@click.argument("name")
@click.option("-i", "--input", "input_text", metavar="TEXT", help="The workflow's {input}.")
@click.option(
    "-f", "--input-file", type=click.Path(dir_okay=False, path_type=Path), help="Read {input} from FILE ('-': stdin)."
)
@click.option("--dry-run", is_flag=True, help="Print each step's prompt as it would be sent; ask no model.")
@_OUTPUT
@_NO_COMMIT
@_FORCE
@_JSON
@click.pass_context
def run_workflow(
    ctx: click.Context,
    /,
    name: str,
    input_text: str | None,
    input_file: Path | None,
    dry_run: bool,
    **flags: Any,
) -> None:
    """Run a workflow: each step's prompt filled in, asked, saved under .autodev/runs/ID/, its files written."""
    options: GlobalOptions = ctx.obj
    if input_text is not None and input_file is not None:
        raise click.UsageError("give --input or --input-file, not both")
    text = input_text if input_file is None else _read_input(options.start, input_file)
    paths, config = _place(options, writes=not dry_run)
    found = _catalog(paths, config).get(name)
    if dry_run:
        _dry_run(paths, config, found, text or "")
        return
    from autodev.workflow.runs import RunStore

    record = RunStore(paths.runs_dir).start(found.name, found.origin, found.workflow, text or "")
    _run(ctx, paths, config, record, flags)


@workflow_group.command("resume")
@click.argument("run_id", metavar="ID")
@_OUTPUT
@_NO_COMMIT
@_FORCE
@_JSON
@click.pass_context
def resume_workflow(ctx: click.Context, /, run_id: str, **flags: Any) -> None:
    """Go on with a run from its first step that is not done (ID or the start of one: `autodev workflow runs`)."""
    from autodev.errors import WorkflowError
    from autodev.workflow.runs import RunStore

    paths, config = _place(ctx.obj, writes=True)
    record = RunStore(paths.runs_dir).load(run_id)
    if record.next_step() is None:
        raise WorkflowError(f"run {record.id} is done: every step finished (start a new one with workflow run)")
    _run(ctx, paths, config, record, flags)


@workflow_group.command("runs")
@_JSON
@click.pass_context
def list_runs(ctx: click.Context, /, as_json: bool) -> None:
    """The runs of this project, oldest first: their workflow, status and the steps done."""
    from autodev.workflow.runs import RunStore

    paths, _ = _place(ctx.obj)
    records, problems = RunStore(paths.runs_dir).all()
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if as_json:
        click.echo(json.dumps([_run_payload(record) for record in records], indent=2))
        return
    if not records:
        click.echo("no workflow runs yet (autodev workflow run NAME)", err=True)
    for record in records:
        done = sum(1 for step in record.steps if step.status == "done")
        click.echo(f"{record.id}  {record.workflow}  {record.status}  {done}/{len(record.steps)} steps")


def _place(options: GlobalOptions, *, writes: bool = False) -> tuple[ProjectPaths, Config]:
    """The project and its configuration; ``writes``: a run's state directories made (and logged to) first."""
    from autodev.logs import configure_logging
    from autodev.project import ProjectPaths

    paths = ProjectPaths(root=options.root)
    config = options.config(paths.root)
    if writes:
        from autodev.ask.place import keep_state_out_of_git

        paths.ensure_state_dirs()
        keep_state_out_of_git(paths)  # the runs never show in `git status`, nor in a later {diff}
    level = "debug" if options.console_level == "debug" else "warning"
    configure_logging(log_file=paths.log_file if paths.state_dir.is_dir() else None, console_level=level,
                      json_console=options.log_json, human=level != "debug")  # fmt: skip
    return paths, config


def _catalog(paths: ProjectPaths, config: Config) -> WorkflowSet:
    from autodev.workflow.catalog import find_workflows

    return find_workflows(paths.root, paths.workflows_dir, config)


def _read_input(start: Path, path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    full = start / path
    try:
        return full.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.UsageError(f"--input-file {path}: cannot be read ({error})") from None


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


def _dry_run(paths: ProjectPaths, config: Config, found: FoundWorkflow, input_text: str) -> None:
    """Each prompt as it would be sent, the outputs of earlier steps marked, and who would answer it."""
    from autodev.workflow.render import Sources, render
    from autodev.workflow.roles import choose

    sources = Sources(root=paths.root, input=input_text, spec_paths=config.specs.paths, dry_run=True)
    steps = found.workflow.steps
    for number, step in enumerate(steps, start=1):
        rendered = render(step.prompt, sources, where=f"workflow {found.name}, step {step.name}")
        heading = f"--- step {number}/{len(steps)}: {step.name} ({choose(step, config, []).words}; {step.output})"
        click.echo(f"{heading}\n{rendered.text}\n")


def _run(ctx: click.Context, paths: ProjectPaths, config: Config, record: RunRecord, flags: dict[str, Any]) -> None:
    from autodev.cli.answer_view import AnswerView
    from autodev.local.serving import model_client
    from autodev.progress import listening
    from autodev.workflow.files import FilesOptions
    from autodev.workflow.runner import WorkflowRunner

    quiet = flags["as_json"]
    view = AnswerView(out=io.StringIO(), notes=False) if quiet else AnswerView()
    files = FilesOptions(commit=not flags["no_commit"], force=flags["force"])
    click.echo(f"workflow {record.workflow}: run {record.id}", err=True)
    with model_client(config, os.environ) as client, listening(view):
        runner = WorkflowRunner(paths, config, client, os.environ, files=files,
                                listener=lambda event: _told(event, view, quiet=quiet))  # fmt: skip
        record = runner.run(record)
    last = record.steps[-1]
    if flags["output"] is not None and last.status == "done" and last.output_file:
        from autodev.ask.output import OutputText, write_output
        from autodev.workflow.runs import RunStore

        target = ctx.obj.start / flags["output"]
        answer = RunStore(paths.runs_dir).read_text(record, last.output_file)
        write_output(target, OutputText(text=answer, what=f"the answer of step {last.name}"))
        click.echo(f"wrote {target}: the answer of step {last.name}", err=True)
    if quiet:
        click.echo(json.dumps(_run_payload(record) | {"exit_code": _exit_code(record)}, indent=2))
    else:
        click.echo(_closing_line(record, paths), err=True)
    ctx.exit(_exit_code(record))


def _told(event: StepStarted | StepEnded | CandidateAnswered, view: Any, *, quiet: bool) -> None:
    from autodev.workflow.fanout_step import CandidateAnswered
    from autodev.workflow.runner import StepStarted

    if quiet:
        return
    if isinstance(event, StepStarted):
        click.echo(f"step {event.index + 1}/{event.total}: {event.name} ({event.chosen})", err=True)
        return
    view.finish(event.answer)  # a cached answer streams nothing: printed now
    view.printed = ""
    if isinstance(event, CandidateAnswered):
        said = "answered" if event.candidate.answered else f"failed: {event.candidate.error}"
        click.echo(f"  ({event.number}/{event.total}) {event.candidate.model} {said}", err=True)
        return
    step = event.record
    if step.status == "done":
        tokens = step.input_tokens + step.output_tokens
        cost = "from the cache" if step.cached else f"{tokens:,} tokens · ${step.cost_usd:.4f}"
        files = f" · {step.outcome}" if step.outcome else ""
        combined = f" · {step.combined}" if step.combined else ""
        click.echo(f"— {step.name}: {step.model} · {cost} · {step.duration_s:.1f} s{combined}{files}", err=True)
    else:
        click.echo(f"— {step.name} FAILED: {step.outcome}", err=True)


def _closing_line(record: RunRecord, paths: ProjectPaths) -> str:
    where = paths.runs_dir / record.id
    if record.status == "done":
        return f"workflow {record.workflow}: every step done; prompts and answers in {where}"
    return f"workflow {record.workflow}: stopped; after fixing the cause, `autodev workflow resume {record.id}`"


def _exit_code(record: RunRecord) -> int:
    return 0 if record.status == "done" else 1


def _run_payload(record: RunRecord) -> dict[str, Any]:
    payload: dict[str, Any] = record.model_dump(mode="json", exclude={"definition"})
    payload["status"] = record.status
    return payload
