"""`autodev undo`: autodev's last commit reverted by a new commit; works in any git repository, no project needed."""

from __future__ import annotations

import json

import click

from autodev.ask.undo import undo_last
from autodev.cli.options import GlobalOptions
from autodev.vcs import GitRepo


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: undone, subject, commit, files.")
@click.pass_obj
def undo(options: GlobalOptions, as_json: bool) -> None:
    """Revert autodev's last commit, when nothing was committed on top of it."""
    run_hooks = options.config(options.project_root).vcs.run_hooks
    done = undo_last(GitRepo.open(options.start).root, run_hooks=run_hooks)
    if as_json:
        click.echo(json.dumps(done.model_dump(mode="json"), indent=2))
        return
    click.echo(f"undid {done.undone[:7]} {done.subject}: {', '.join(done.files)} restored (commit {done.commit[:7]})")
