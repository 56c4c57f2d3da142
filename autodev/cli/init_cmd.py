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
    if report.git_initialised:
        click.echo(f"initialised a git repository in {root}")
    for name in report.created:
        click.echo(f"created {name}")
    for name in report.kept:
        click.echo(f"kept existing {name}")
    if report.gitignore_updated:
        click.echo("added .autodev/ to .gitignore")
    click.echo("next: describe what you want in SPEC.md, write tests in tests/, then run `autodev run --once`")
