"""`autodev loop ...` and `autodev service ...`: the watch loop in the foreground, in the background, as a service."""

from __future__ import annotations

import json
import os

import click

from autodev.cli.options import GlobalOptions
from autodev.logs import configure_logging
from autodev.loop import daemon, service
from autodev.project import ProjectPaths


@click.group()
def loop() -> None:
    """Watch the project and run a pass on every change of the spec or the tests."""


@loop.command("run")
@click.pass_obj
def loop_run(options: GlobalOptions) -> None:
    """Run the loop in the foreground (what a service manager starts); Ctrl-C stops it cleanly."""
    from autodev.loop.preflight import check_project
    from autodev.loop.runner import LoopRunner

    flags = options.config_flags
    check_project(options.root, os.environ, flags)
    paths = ProjectPaths(root=options.root)
    paths.ensure_state_dirs()
    configure_logging(log_file=paths.log_file, json_console=options.log_json, console_level=options.console_level)
    raise click.exceptions.Exit(LoopRunner(options.root, env=os.environ, flags=flags).run())


@loop.command("start")
@click.option("--timeout", "timeout_s", default=30.0, show_default=True, help="Seconds to wait for the watch.")
@click.pass_obj
def loop_start(options: GlobalOptions, timeout_s: float) -> None:
    """Start the loop in the background; returns once its watch is up."""
    from autodev.loop.preflight import check_project

    check_project(options.root, os.environ, options.config_flags)
    ProjectPaths(root=options.root).ensure_state_dirs()
    command = daemon.loop_run_command(options.root, options.settings)
    pid = daemon.start_background(options.root, command, ready_timeout_s=timeout_s)
    files = daemon.LoopFiles.for_root(options.root)
    click.echo(f"autodev loop started (pid {pid}); log: {files.out_file}; stop it with `autodev loop stop`")


@loop.command("stop")
@click.option("--timeout", "timeout_s", default=30.0, show_default=True, help="Seconds to wait after SIGTERM.")
@click.option("--force", is_flag=True, help="SIGKILL the loop if it is still running at the timeout.")
@click.pass_obj
def loop_stop(options: GlobalOptions, timeout_s: float, force: bool) -> None:
    """Stop the background loop (SIGTERM: the attempt in progress is rolled back first)."""
    report = daemon.stop(options.root, timeout_s=timeout_s, force=force)
    click.echo(report.text)
    raise click.exceptions.Exit(report.exit_code)


@loop.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (running, pid, last pass, ...).")
@click.pass_obj
def loop_status(options: GlobalOptions, as_json: bool) -> None:
    """Exit 0 running (with pid, uptime, last pass), 3 not running, 1 dead with a stale pid file."""
    report = daemon.loop_status(options.root)
    click.echo(json.dumps(report.payload(), indent=2) if as_json else report.text)
    raise click.exceptions.Exit(report.exit_code)


@click.group("service")
def service_group() -> None:
    """Run the loop as a systemd user service or a launchd agent."""


def _kind(systemd: bool, launchd: bool) -> service.ServiceKind | None:
    if systemd and launchd:
        raise click.UsageError("choose one of --systemd and --launchd")
    return "systemd" if systemd else "launchd" if launchd else None


@service_group.command("install")
@click.option("--systemd", is_flag=True, help="A systemd user unit (the default on Linux).")
@click.option("--launchd", is_flag=True, help="A launchd agent (the default on macOS).")
@click.option("--dry-run", is_flag=True, help="Print what would be written and run; change nothing.")
@click.option(
    "--env-file",
    "env_file",
    is_flag=True,
    help="Also write the provider keys set now (OPENAI_API_KEY, ...) to ~/.config/autodev/env (0600) for the service.",
)
@click.pass_obj
def service_install(options: GlobalOptions, systemd: bool, launchd: bool, dry_run: bool, env_file: bool) -> None:
    """Install and start the loop for this project as a service."""
    from autodev.loop.preflight import check_project

    check_project(options.root, os.environ, options.config_flags)
    report = service.install(options.root, _kind(systemd, launchd), dry_run=dry_run, env_file=env_file)
    for line in report.lines():
        click.echo(line)


@service_group.command("uninstall")
@click.option("--systemd", is_flag=True)
@click.option("--launchd", is_flag=True)
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.pass_obj
def service_uninstall(options: GlobalOptions, systemd: bool, launchd: bool, dry_run: bool) -> None:
    """Stop and remove this project's service."""
    report = service.uninstall(options.root, _kind(systemd, launchd), dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
