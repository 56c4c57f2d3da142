"""`autodev config show|path`: the effective configuration, where each value came from, and the files read.

Both work outside a project (then: the user config and the defaults, with AUTODEV_* variables and --set).
"""

from __future__ import annotations

import json
import os

import click

from autodev.cli.options import GlobalOptions
from autodev.config_layers import user_config_file
from autodev.config_show import render_toml, show_json
from autodev.project import ProjectPaths


@click.group()
def config() -> None:
    """The effective configuration and where each value came from; the files it is read from."""


@config.command("show")
@click.option("--origin", is_flag=True, help="Say after each key where its value came from.")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"config": ..., "origins": ...}.')
@click.pass_obj
def show(options: GlobalOptions, origin: bool, as_json: bool) -> None:
    """The configuration autodev would use here, as TOML: defaults < user config < autodev.toml < AUTODEV_* < --set."""
    layered = options.layered_config(options.project_root)
    click.echo(show_json(layered) if as_json else render_toml(layered, origins=origin), nl=as_json)


@config.command("path")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: each file and whether it exists.")
@click.pass_obj
def path(options: GlobalOptions, as_json: bool) -> None:
    """The user config file and the project's autodev.toml (or none), and which of them exist."""
    user = user_config_file(os.environ)
    root = options.project_root
    project = ProjectPaths(root=root).config_file if root is not None else None
    if as_json:
        payload = {
            "user": {"path": str(user), "exists": user.is_file()},
            "project": {"path": str(project), "exists": project.is_file()} if project else None,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"user config: {user} ({'exists' if user.is_file() else 'not there'})")
    if project is None:
        click.echo("project:     none (no autodev.toml here or above)")
    else:
        click.echo(f"project:     {project} ({'exists' if project.is_file() else 'not there'})")
