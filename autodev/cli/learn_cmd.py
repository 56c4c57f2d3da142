"""`autodev learn stats | forget`: what autodev has learned from outcomes on this machine, and forgetting it."""

from __future__ import annotations

import json
import os
import sqlite3

import click

from autodev.cli.options import GlobalOptions


@click.group()
def learn() -> None:
    """What autodev learned from outcomes (on this machine only): stats, forget."""


@learn.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: entries, reuse, cost avoided.")
@click.pass_obj
def stats(options: GlobalOptions, as_json: bool) -> None:
    """Solutions and failures stored; requirements worked on, how many a stored change solved without a model
    call (the reuse rate: reruns of the same state do not count), prompts that carried one, cost avoided."""
    from autodev.learn.store import STORE_NAME, LearnStats, learning_dir, read_stats, stats_line

    try:
        found = read_stats(os.environ)
    except (OSError, sqlite3.Error) as error:
        click.echo(f"the learning store cannot be read now ({error}): another autodev may be writing to it; try "
                   "again", err=True)  # fmt: skip
        raise click.exceptions.Exit(1) from error
    stats = found or LearnStats(path=str(learning_dir(os.environ) / STORE_NAME), solutions=0, failures=0, worked=0,
                                reused=0, few_shot=0, cost_avoided_usd=0.0, reuse_rate=None)  # fmt: skip
    enabled = options.config(options.project_root).learning.enabled
    if as_json:
        click.echo(json.dumps({**stats.model_dump(mode="json"), "enabled": enabled}, indent=2))
        return
    click.echo(f"learning store: {stats.path}" + ("" if enabled else " (learning is off: [learning] enabled)"))
    click.echo(f"  {stats.solutions} verified solution(s), {stats.failures} failed attempt(s)")
    click.echo(f"  {stats_line(stats)}")
    click.echo(f"  {stats.few_shot} prompt(s) carried a stored solution")


@learn.command("forget")
@click.option("--yes", is_flag=True, help="Do not ask.")
def forget_all(yes: bool) -> None:
    """Delete the learning store (and any copy of it moved aside): everything autodev learned on this machine."""
    from autodev.learn.store import forget, learning_dir

    directory = learning_dir(os.environ)
    if not yes and not click.confirm(f"Delete everything autodev learned, in {directory}?", default=False):
        click.echo("nothing deleted", err=True)
        raise click.exceptions.Exit(1)
    removed = forget(directory)
    click.echo(f"removed {len(removed)} file(s) from {directory}" if removed else f"nothing to remove in {directory}")
