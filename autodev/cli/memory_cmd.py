"""`autodev memory show`: the project memory files autodev reads (AGENTS.md, CLAUDE.md, ...), for one file or all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.config import Config
    from autodev.memory import Memory, MemoryFile
    from autodev.project import ProjectPaths


@click.group()
def memory() -> None:
    """The project memory autodev reads: AGENTS.md, CLAUDE.md, CONVENTIONS.md and their imports."""


@memory.command("show")
@click.option("--for", "target", metavar="FILE", help="Only what applies to FILE (nested AGENTS.md files included).")
@click.option("--tier", metavar="TIER", help="Exactly what TIER's prompts carry, within its memory budget.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: files (path, scope, tokens, text).")
@click.pass_context
def show(ctx: click.Context, target: str | None, tier: str | None, as_json: bool) -> None:
    """Every memory file in order, general first, with its estimated size in tokens; problems on stderr."""
    from autodev.ask.place import ask_paths, in_project
    from autodev.memory import find_memory

    options: GlobalOptions = ctx.obj
    paths = ask_paths(options.start, os.environ)
    root = paths.root
    config = options.config(paths.root if in_project(paths) else None)
    found = find_memory(root, config.context.memory_files)
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    targets = [] if target is None else [_relative(root, options.start, target)]
    if tier is not None:
        _show_tier(paths, config, found, tier, targets, as_json=as_json)
        return
    files = list(found.files) if target is None else found.for_files(targets)
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


def _show_tier(
    paths: ProjectPaths, config: Config, found: Memory, tier: str, targets: list[str], *, as_json: bool
) -> None:
    """The memory section as a prompt of ``tier`` gets it (for ``targets``, or the general files alone)."""
    from autodev.synth.memory_prompt import memory_budget, memory_section

    served_locally = _tier_served_locally(paths, config, tier)
    budget = memory_budget(config.context, tier, served_locally=served_locally)
    section = memory_section(found, targets, budget)
    if as_json:
        click.echo(json.dumps(section.model_dump() | {"tier": tier, "served_locally": served_locally}, indent=2))
        return
    where = "served locally" if served_locally else "hosted"
    if section.text:
        click.echo(section.text)
    click.echo(f"── {tier} ({where}): ~{section.tokens:,} of a budget of {budget:,} tokens", err=not section.text)
    if section.shortened:
        click.echo(f"note: {section.shortened_message()}", err=True)


def _tier_served_locally(paths: ProjectPaths, config: Config, tier: str) -> bool:
    """Whether the tier's first model runs on this machine (its budget is then [context] local_memory_tokens)."""
    from autodev.llm.client import LiteLLMClient
    from autodev.route import Router

    router = Router(paths, config, LiteLLMClient(), os.environ)  # nothing is called: only the tiers are planned
    planned = {plan.name: plan for plan in router.tiers}
    if tier not in planned:
        names = ", ".join(planned) or "none"
        raise click.UsageError(f"--tier {tier}: not one of this project's tiers ({names}); see autodev models")
    return router.resolve(planned[tier].models[0]).served_locally


def _row(file: MemoryFile) -> dict[str, Any]:
    from autodev.tokens import estimate_tokens

    return file.model_dump() | {"tokens": estimate_tokens(file.text)}


def _relative(root: Path, start: Path, target: str) -> str:
    full = (start / target).resolve()
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise click.UsageError(f"--for {target}: not inside the project {root}") from None
