"""`autodev cmd`: run a custom command (a prompt kept in a Markdown file) as `autodev ask` would, or list them.

A command is found by name (``autodev.commands``), expanded with the words after its name, and asked through
``ask_cmd.ask_question``, the code path of `autodev ask` itself: the same options, conversation, output, --apply
and exit codes. Its ``@path`` references are sent as ``-f`` files. Options go anywhere after the name; after
``--`` every word is an argument of the command, even one starting with a dash. ``list`` is this command's own
word, never a custom command's name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.ask_options import answer_options, check_answer_flags
from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.commands import CommandFile, CommandSet, Expansion

LIST = "list"
LISTING = "`autodev cmd list`"


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("name", metavar="NAME|list")
@click.argument("arguments", nargs=-1, metavar="[ARGS]...")
@answer_options
@click.pass_context
def cmd(ctx: click.Context, /, name: str, arguments: tuple[str, ...], **flags: Any) -> None:
    """Run a custom command from .autodev/commands/, .claude/commands/ or your own, as `autodev ask` would.

    \b
    autodev cmd list                      the commands, where they are, which are shadowed
    autodev cmd review src/app.py         NAME's prompt with $ARGUMENTS, $1.. filled in
    autodev cmd fix-issue 123 --apply --test
    autodev cmd explain -- --verbose      after --, every word is an argument
    """
    if name == LIST:
        _list(ctx, arguments, flags)
    else:
        _run(ctx, name, arguments, flags)


def _run(ctx: click.Context, name: str, arguments: tuple[str, ...], flags: dict[str, Any]) -> None:
    """Expand the command and ask it exactly as `autodev ask` asks a question, its references as -f files."""
    from autodev.cli.ask_cmd import Question, ask_question, prepare_place, read_stdin, relative_to_root
    from autodev.commands import expand, find_commands, locate_references, lookup
    from autodev.errors import UsageError
    from autodev.project import find_project_root

    options: GlobalOptions = ctx.obj
    check_answer_flags(flags)
    project_root = find_project_root(options.start)
    command = lookup(find_commands(project_root, os.environ), name, listing=LISTING)
    expansion = expand(command, arguments)
    if not expansion.prompt:
        raise UsageError(f"{command.path}:{command.body_line}: the command `{name}` has no prompt (write one)")
    root = project_root or options.start  # where `ask` works (autodev.ask.place)
    located = locate_references(command, expansion.files, start=options.start, root=root)
    stdin_text = read_stdin()
    paths, config = prepare_place(options, no_cache=flags["no_cache"])
    files = [relative_to_root(paths.root, options.start, str(path)) for path in located]
    question = Question(text=expansion.prompt, stdin_text=stdin_text, files=files)
    ask_question(ctx, paths, config, question, _with_command_model(flags, expansion))


def _with_command_model(flags: dict[str, Any], expansion: Expansion) -> dict[str, Any]:
    """The front matter's model or tier, unless --model or --tier chose already: the command line wins."""
    if flags["model_name"] or flags["tier"]:
        return flags
    return {**flags, "model_name": expansion.model, "tier": expansion.tier}


# ---------------------------------------------------------------------------------------------- list


def _list(ctx: click.Context, arguments: tuple[str, ...], flags: dict[str, Any]) -> None:
    """The commands with where they come from; broken files are warnings, never a failure of the listing."""
    from autodev.commands import find_commands
    from autodev.project import find_project_root

    given = [key for key, value in flags.items() if value and key != "as_json"]
    if arguments or given:
        raise click.UsageError("`autodev cmd list` takes only --json (to run a command called list, rename it)")
    options: GlobalOptions = ctx.obj
    root = find_project_root(options.start)
    found = find_commands(root, os.environ)
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    if flags["as_json"]:
        click.echo(json.dumps(_listing_payload(found, root), indent=2))
    else:
        click.echo(_listing_text(found, root))


def _entry(command: CommandFile, root: Path | None) -> dict[str, Any]:
    return {
        "name": command.name,
        "origin": command.origin,
        "description": command.description,
        "argument_hint": command.argument_hint,
        "model": command.model,
        "tier": command.tier,
        "path": _shown(command.path, root),
    }


def _shadower(found: CommandSet, name: str, root: Path | None) -> str:
    """The path of what hides a command: the effective command of that name, or the broken file claiming it."""
    if name in found.commands:
        return _shown(found.commands[name].path, root)
    return _shown(Path(found.broken[name].path), root)


def _listing_payload(found: CommandSet, root: Path | None) -> dict[str, Any]:
    return {
        "commands": [_entry(command, root) for command in found.commands.values()],
        "shadowed": [
            {**_entry(command, root), "shadowed_by": _shadower(found, command.name, root)} for command in found.shadowed
        ],
        "problems": [
            {"path": _shown(Path(error.path), root), "line": error.line, "problem": error.problem}
            for error in found.problems
        ],
    }


def _listing_text(found: CommandSet, root: Path | None) -> str:
    if not found.commands and not found.shadowed:
        return (
            "no custom commands: write NAME.md in .autodev/commands/ (the project's) or in "
            "~/.config/autodev/commands/ (yours), then `autodev cmd NAME`"
        )
    rows = [(command.usage, command.origin, command.description or "", _shown(command.path, root))
            for command in found.commands.values()]  # fmt: skip
    lines = _columns(rows)
    for command in found.shadowed:
        lines.append(
            f"shadowed: {command.name} ({command.origin}, {_shown(command.path, root)}) "
            f"by {_shadower(found, command.name, root)}"
        )
    return "\n".join(lines)


def _columns(rows: Sequence[tuple[str, str, str, str]]) -> list[str]:
    widths = [max((len(row[index]) for row in rows), default=0) for index in range(3)]
    return [
        f"{usage:<{widths[0]}}  {origin:<{widths[1]}}  {description:<{widths[2]}}  {path}"
        for usage, origin, description, path in rows
    ]


def _shown(path: Path, root: Path | None) -> str:
    """A project's file relative to its root (as the user would type it), any other one absolute."""
    if root is not None and path.is_relative_to(root.resolve()):
        return path.relative_to(root.resolve()).as_posix()
    return str(path)
