"""The `autodev` command: parses arguments, builds the config, calls the library, maps errors to exit codes.

Exit codes: 0 done (requirement satisfied), 1 not done (the reason is printed), 2 usage or configuration error.
Nothing here decides anything about code, models or git; that is the library's job.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import click

from autodev import __version__
from autodev.cli.bench_cmd import bench
from autodev.cli.console import run_console
from autodev.cli.loop_cmd import loop, service_group
from autodev.cli.metrics_cmd import metrics
from autodev.cli.models_cmd import models
from autodev.cli.options import GlobalOptions
from autodev.cli.spec_cmd import spec, status
from autodev.config import load_config
from autodev.core.one_pass import run_once
from autodev.errors import AutodevError
from autodev.logs import configure_logging
from autodev.project import ProjectPaths
from autodev.results import PassResult


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="autodev")
@click.option(
    "-C",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="Run as if autodev was started in DIR (like git -C).",
    metavar="DIR",
)
@click.option("--log-json", is_flag=True, help="Log JSON lines to stderr instead of readable lines.")
@click.option("-v", "--verbose", is_flag=True, help="Show debug events on the console.")
@click.option("-q", "--quiet", is_flag=True, help="Show only warnings and errors on the console.")
@click.pass_context
def cli(ctx: click.Context, directory: Path, log_json: bool, verbose: bool, quiet: bool) -> None:
    """autodev writes the code your spec and tests ask for, and commits it only when the tests pass.

    \b
    Start here:
      autodev init            create autodev.toml and a SPEC.md template
      autodev run --once      one pass: spec + tests -> code -> tests -> commit
    """
    level = "debug" if verbose else "warning" if quiet else "info"
    _stop_cleanly_on_sigterm()  # every command: its `finally` blocks (rollback, stopping local servers) must run
    ctx.obj = GlobalOptions(root=directory.resolve(), log_json=log_json, console_level=level)


@cli.command()
@click.pass_obj
def init(options: GlobalOptions) -> None:
    """Prepare this directory: autodev.toml, SPEC.md template, .gitignore entry, git init if needed."""
    from autodev.init import init_project

    configure_logging(log_file=None, json_console=options.log_json, console_level=options.console_level)
    for line in init_project(options.root).lines():
        click.echo(line)


@cli.command()
@click.option("--once", is_flag=True, help="Run one pass and exit (the watch loop is `autodev loop`).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("--model", "model_name", help="Use this model instead of the first one of the lowest tier.")
@click.option("--max-attempts", type=click.IntRange(1, 20), help="Model calls for this pass (default from config).")
@click.option("--no-cache", is_flag=True, help="Ask the models afresh: no response cache read or written this pass.")
@click.pass_context
def run(
    ctx: click.Context, once: bool, as_json: bool, model_name: str | None, max_attempts: int | None, no_cache: bool
) -> None:
    """Turn SPEC.md and the tests into committed, passing code."""
    options: GlobalOptions = ctx.obj
    if not once:
        raise click.UsageError("only one-shot passes exist so far: use `autodev run --once`")
    paths = ProjectPaths(root=options.root)
    config = load_config(paths.config_file)
    if no_cache:  # overrides [llm] cache_responses for this pass only
        config = config.model_copy(update={"llm": config.llm.model_copy(update={"cache_responses": False})})
    paths.ensure_state_dirs()
    with run_console(options, paths.log_file):  # the steps as they happen; Ctrl-C says what it undid
        result = run_once(paths, config, model_name=model_name, max_attempts=max_attempts)
    if as_json:
        payload = result.model_dump(mode="json") | {
            "cost_usd": result.cost_usd,
            "exit_code": _exit_code(result.status),
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(_summary(result))
    ctx.exit(_exit_code(result.status))


cli.add_command(models)
cli.add_command(bench)
cli.add_command(spec)
cli.add_command(status)
cli.add_command(metrics)
cli.add_command(loop)
cli.add_command(service_group)


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM (kill, a service manager) unwinds like Ctrl-C: an attempt in progress is rolled back at once, and the
    local model servers this process started are stopped, never orphaned."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _exit_code(status: str) -> int:
    return 0 if status == "satisfied" else 1


_MARKS = {"satisfied": "ok", "failed": "FAILED", "blocked": "BLOCKED", "unverified": "UNVERIFIED", "removed": "removed"}


def _summary(result: PassResult) -> str:
    """One line per requirement (with its attempts), then the pass's totals."""
    lines: list[str] = []
    for item in result.requirements:
        lines.append(f"{_MARKS[item.status]}: {item.requirement} ({item.title}): {_first_line(item.reason, 300)}")
        for attempt in item.attempts:
            where = f"{attempt.tier} {attempt.model}" if attempt.tier else attempt.model
            lines.append(f"  attempt {attempt.number} ({where}): {attempt.outcome}: {_first_line(attempt.reason)}")
    if not result.requirements:
        lines.append(f"{_MARKS[result.status]}: {result.reason}")
    attempts = result.attempts
    if attempts:
        tokens = sum(a.input_tokens + a.output_tokens for a in attempts)
        cached = sum(1 for a in attempts if a.cached)
        from_cache = f" ({cached} from the cache)" if cached else ""
        lines.append(
            f"{len(attempts)} attempt(s){from_cache}, last by {result.model}, {tokens} tokens, "
            f"${result.cost_usd:.4f}, {result.duration_s:.1f} s"
        )
    if len(result.requirements) > 1:
        lines.append(f"{_MARKS[result.status]}: {result.reason}")
    return "\n".join(lines)


def _first_line(text: str, limit: int = 150) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status; autodev's own errors become one line, not a traceback."""
    try:
        status = cli.main(args=list(argv) if argv is not None else None, prog_name="autodev", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except AutodevError as error:
        click.echo(f"error: {error}", err=True)
        return error.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted; no attempt was left half-applied", err=True)
        return 130
    except OSError as error:
        click.echo(f"error: {error}", err=True)
        return 1
    return status if isinstance(status, int) else 0


def main() -> None:
    sys.exit(run_cli())
