"""`autodev memory show`: the project memory files autodev reads (AGENTS.md, CLAUDE.md, ...), for one file or all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.memory import MemoryFile


@click.group()
def memory() -> None:
    """The project memory autodev reads: AGENTS.md, CLAUDE.md, CONVENTIONS.md and their imports."""


@memory.command("show")
@click.option("--for", "target", metavar="FILE", help="Only what applies to FILE (nested AGENTS.md files included).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: files (path, scope, tokens, text).")
@click.pass_context
def show(ctx: click.Context, target: str | None, as_json: bool) -> None:
    """Every memory file in order, general first, with its estimated size in tokens; problems on stderr."""
    from autodev.ask.place import ask_paths
    from autodev.memory import find_memory

    options: GlobalOptions = ctx.obj
    root = ask_paths(options.start, os.environ).root
    found = find_memory(root)
    files = list(found.files) if target is None else found.for_file(_relative(root, options.start, target))
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    rows = [_row(file) for file in files]
    total = sum(row["tokens"] for row in rows)
    if as_json:
        click.echo(json.dumps({"files": rows, "tokens": total, "problems": list(found.problems)}, indent=2))
    elif not rows:
        click.echo("no memory files (AGENTS.md, CLAUDE.md, .claude/CLAUDE.md, CLAUDE.local.md, CONVENTIONS.md)")
    else:
        for row in rows:
            where = f"applies under {row['scope']}/" if row["scope"] else "applies everywhere"
            via = f", imported by {row['imported_by']}" if row["imported_by"] else ""
            click.echo(f"── {row['path']} ({where}{via}, ~{row['tokens']:,} tokens)")
            click.echo(row["text"].rstrip("\n"))
        click.echo(f"── {len(rows)} file(s), ~{total:,} tokens")


def _row(file: MemoryFile) -> dict[str, Any]:
    from autodev.ask.window import estimate_tokens

    return file.model_dump() | {"tokens": estimate_tokens(file.text)}


def _relative(root: Path, start: Path, target: str) -> str:
    full = (start / target).resolve()
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise click.UsageError(f"--for {target}: not inside the project {root}") from None
