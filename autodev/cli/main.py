"""The `autodev` command: parses arguments, builds the config, calls the library, maps errors to exit codes.

Exit codes (README.md, "Exit codes"): 0 done, 1 not done, 2 usage or configuration error, 3 `loop status`: not
running, 130 interrupted. Nothing here decides anything about code, models or git; that is the library's job.
Commands are imported only when they run (autodev.cli.lazy): `--help` and `status` must not pay for the engine.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from autodev import __version__
from autodev.cli.lazy import LazyCommand, LazyGroup
from autodev.cli.options import GlobalOptions
from autodev.errors import AutodevError

if TYPE_CHECKING:
    from autodev.results import PassResult

# name -> where the command lives and its short help (tests/test_cli_startup.py keeps the help in step).
COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(
        "autodev.cli.init_cmd",
        "init",
        "Prepare this directory: autodev.toml, SPEC.md template, .gitignore entry, git init if needed.",
    ),
    "ask": LazyCommand(
        "autodev.cli.ask_cmd",
        "ask",
        "Ask a model about code: files and piped input are context; the answer streams as it arrives.",
    ),
    "chat": LazyCommand(
        "autodev.cli.chat_cmd",
        "chat",
        "Talk with a model about code at an interactive prompt (/help lists the commands).",
    ),
    "cmd": LazyCommand(
        "autodev.cli.cmd_cmd",
        "cmd",
        "Run a custom command from .autodev/commands/, .claude/commands/ or your own, as `autodev ask` would.",
    ),
    "workflow": LazyCommand(
        "autodev.cli.workflow_cmd",
        "workflow_group",
        "Run named chains of model steps (review, spec-from-code, your own): list, show, run, resume.",
    ),
    "conversations": LazyCommand(
        "autodev.cli.conversations_cmd",
        "conversations",
        "The conversations of `autodev ask` and `autodev chat`: list, show, rm.",
    ),
    "memory": LazyCommand(
        "autodev.cli.memory_cmd",
        "memory",
        "The project memory autodev reads: AGENTS.md, CLAUDE.md, CONVENTIONS.md and their imports.",
    ),
    "models": LazyCommand(
        "autodev.cli.models_cmd", "models", "The bundled local models (pip install 'autodev[local]')."
    ),
    "bench": LazyCommand(
        "autodev.cli.bench_cmd",
        "bench",
        "Measure solve rate, cost and time on Exercism-style exercises (see benchmarks/README.md).",
    ),
    "spec": LazyCommand("autodev.cli.spec_cmd", "spec", "The specifications as autodev reads them."),
    "tests": LazyCommand(
        "autodev.cli.tests_cmd",
        "tests",
        "Tests from the specs: examples become pytest tests under tests/generated/, without a model.",
    ),
    "learn": LazyCommand(
        "autodev.cli.learn_cmd",
        "learn",
        "What autodev learned from outcomes (on this machine only): stats, forget.",
    ),
    "status": LazyCommand(
        "autodev.cli.status_cmd",
        "status",
        "Every requirement with its status from the last pass: satisfied, failing, blocked, unverified, pending.",
    ),
    "metrics": LazyCommand(
        "autodev.cli.metrics_cmd",
        "metrics",
        "Model calls per tier and model, or per role (--by role): tokens, cost, cache hits, solve rates, and the "
        "cost at top-tier prices.",
    ),
    "undo": LazyCommand(
        "autodev.cli.undo_cmd", "undo", "Revert autodev's last commit, when nothing was committed on top of it."
    ),
    "config": LazyCommand(
        "autodev.cli.config_cmd",
        "config",
        "The effective configuration and where each value came from; the files it is read from.",
    ),
    "loop": LazyCommand(
        "autodev.cli.loop_cmd", "loop", "Watch the project and run a pass on every change of the spec or the tests."
    ),
    "service": LazyCommand(
        "autodev.cli.loop_cmd", "service_group", "Run the loop as a systemd user service or a launchd agent."
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="autodev")
@click.option(
    "-C",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="Run as if autodev was started in DIR (like git -C); the project is found from there upward.",
    metavar="DIR",
)
@click.option("--log-json", is_flag=True, help="Log JSON lines to stderr instead of readable lines.")
@click.option("-v", "--verbose", is_flag=True, help="Show debug events on the console.")
@click.option("-q", "--quiet", is_flag=True, help="Show only warnings and errors on the console.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a configuration key for this command, over every file and AUTODEV_* variable (repeatable): "
    "--set llm.retries=3. `autodev config show --origin` shows the result.",
)
@click.pass_context
def cli(
    ctx: click.Context, directory: Path, log_json: bool, verbose: bool, quiet: bool, settings: tuple[str, ...]
) -> None:
    """autodev writes the code your spec and tests ask for, and commits it only when the tests pass.

    \b
    Start here:
      autodev init            create autodev.toml and a SPEC.md template
      autodev run --once      one pass: spec + tests -> code -> tests -> commit
      autodev run             the same on every save: the watch loop (Ctrl-C stops it)
    """
    level = "debug" if verbose else "warning" if quiet else "info"
    _stop_cleanly_on_sigterm()  # every command: its `finally` blocks (rollback, stopping local servers) must run
    for setting in settings:
        if "=" not in setting or not setting.partition("=")[0].strip():
            raise click.BadOptionUsage("--set", f"--set {setting}: give KEY=VALUE, e.g. --set llm.retries=3")
    ctx.obj = GlobalOptions(start=directory.resolve(), log_json=log_json, console_level=level, settings=settings)
    if ctx.invoked_subcommand is None:  # bare `autodev`: the help, as asked for, not a usage error
        click.echo(ctx.get_help())


@cli.command()
@click.option("--once", is_flag=True, help="Run one pass and exit (without it: the watch loop, `autodev loop run`).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("--model", "model_name", help="Use this model instead of the first one of the lowest tier.")
@click.option("--max-attempts", type=click.IntRange(1, 20), help="Model calls for this pass (default from config).")
@click.option("--no-cache", is_flag=True, help="Ask the models afresh: no response cache read or written this pass.")
@click.option("--wait", is_flag=True, help="If another pass (the loop's, another run) is changing files, wait for it.")
@click.pass_context
def run(
    ctx: click.Context,
    once: bool,
    as_json: bool,
    model_name: str | None,
    max_attempts: int | None,
    no_cache: bool,
    wait: bool,
) -> None:
    """Turn SPEC.md and the tests into committed, passing code."""
    options: GlobalOptions = ctx.obj
    if not once:
        _watch_instead(ctx, as_json=as_json, model_name=model_name, max_attempts=max_attempts)
        return
    from autodev.cli.console import run_console
    from autodev.core.one_pass import run_once
    from autodev.project import ProjectPaths

    paths = ProjectPaths(root=options.root)
    config = options.config(paths.root)
    if no_cache:  # overrides [llm] cache_responses for this pass only
        config = config.without_response_cache()
    paths.ensure_state_dirs()
    with run_console(options, paths.log_file):  # the steps as they happen; Ctrl-C says what it undid
        result = run_once(paths, config, model_name=model_name, max_attempts=max_attempts, wait=wait)
    if as_json:
        payload = result.model_dump(mode="json") | {
            "cost_usd": result.cost_usd,
            "exit_code": _exit_code(result.status),
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(_summary(result))
    ctx.exit(_exit_code(result.status))


def _watch_instead(ctx: click.Context, *, as_json: bool, model_name: str | None, max_attempts: int | None) -> None:
    """`autodev run` without --once is the watch loop in the foreground, exactly `autodev loop run`."""
    if as_json or model_name or max_attempts:
        raise click.UsageError("--json, --model and --max-attempts apply to one pass: add --once")
    from autodev.cli.loop_cmd import loop_run

    options: GlobalOptions = ctx.obj
    click.echo(
        f"autodev run: watching {options.root} in the foreground (as `autodev loop run`); Ctrl-C stops it, "
        "`autodev run --once` runs one pass"
    )
    ctx.invoke(loop_run)


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
        tokens = sum(a.input_tokens + a.output_tokens for a in attempts if not a.cached)  # replays cost nothing
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
    """Run the command line and return its exit status; autodev's own errors become one line, not a traceback.

    Errors go to stderr as text; with --json they are also one JSON object on stdout (``error``, ``exit_code``,
    ``kind``), so a script reading stdout always gets exactly one JSON value and the same exit status.
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        status = cli.main(args=args, prog_name="autodev", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return _failed(args, error.format_message(), error.exit_code, "usage", shown=True)
    except click.Abort:
        return _failed(args, "aborted", 130, "interrupted")
    except AutodevError as error:
        return _failed(args, str(error), error.exit_code, type(error).__name__)
    except KeyboardInterrupt:
        return _failed(args, "interrupted; no attempt was left half-applied", 130, "interrupted")
    except OSError as error:
        return _failed(args, str(error), 1, type(error).__name__)
    return status if isinstance(status, int) else 0


def _failed(args: list[str], message: str, exit_code: int, kind: str, *, shown: bool = False) -> int:
    """The error on stderr (unless click showed it already), and as JSON on stdout when --json was asked for."""
    if not shown:
        click.echo(message if kind == "interrupted" else f"error: {message}", err=True)
    if _wants_json(args):
        click.echo(json.dumps({"error": message, "exit_code": exit_code, "kind": kind}))
    return exit_code


def _wants_json(args: list[str]) -> bool:
    """Whether --json was given (before any `--`): read from the words, since the error may precede parsing."""
    words = args[: args.index("--")] if "--" in args else args
    return "--json" in words


def main() -> None:
    sys.exit(run_cli())
