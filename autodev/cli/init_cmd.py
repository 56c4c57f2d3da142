"""`autodev init`: the one command that needs no project, because it makes one."""

from __future__ import annotations

import click

from autodev.cli.options import GlobalOptions
from autodev.logs import configure_logging
from autodev.project import find_project_root


@click.command()
@click.pass_obj
def init(options: GlobalOptions) -> None:
    """Prepare this directory: autodev.toml, SPEC.md template, .gitignore entry, git init if needed."""
    from autodev.init import init_project

    configure_logging(log_file=None, json_console=options.log_json, console_level=options.console_level)
    root = options.start
    enclosing = find_project_root(root)
    if enclosing is not None and enclosing != root:
        click.echo(
            f"warning: {enclosing} is already an autodev project and {root} is inside it; this makes a separate "
            f"project here (to use the existing one, run autodev anywhere inside it without init)",
            err=True,
        )
    report = init_project(root)
    for line in report.lines():
        click.echo(line)
