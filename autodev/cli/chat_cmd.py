"""`autodev chat`: a conversation at an interactive prompt, with line editing and history (GNU readline or
libedit, whichever this Python has), slash commands, and the answer streamed as it arrives.

``/NAME ARGS`` runs a custom command (``autodev.commands``, as `autodev cmd NAME ARGS`): its expanded prompt is the
next question, its ``@path`` files join the conversation, and its front matter's model or tier answers that one
question. Built-in commands win over custom ones of the same name.

Ctrl-C while a model answers stops that answer and returns to the prompt (nothing is recorded for it); at the
prompt it clears the line. Ctrl-D or /exit leaves. The session is one ``AskSession``, so `autodev ask --continue`
and `autodev conversations show` see the same conversation.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.ask_options import check_model_choice, conversation_options
from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.ask.chat import Command, Custom
    from autodev.ask.session import AskSession
    from autodev.commands import CommandSet
    from autodev.config import Config
    from autodev.project import ProjectPaths

PROMPT = "autodev> "
HISTORY_LINES = 1000


@click.command()
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Start with FILE in the conversation.")
@conversation_options
@click.pass_context
def chat(ctx: click.Context, /, files: tuple[str, ...], **flags: Any) -> None:
    """Talk with a model about code at an interactive prompt (/help lists the commands)."""
    from autodev.cli.ask_cmd import open_session, prepare_place, relative_to_root

    options: GlobalOptions = ctx.obj
    check_model_choice(flags)
    paths, config = prepare_place(options, no_cache=flags["no_cache"])
    with open_session(paths, config, flags) as session:
        session.metrics_role = session.metrics_scope = "chat"  # `autodev metrics --by role` tells chat from ask
        session.add_files([relative_to_root(paths.root, options.start, name) for name in files])
        commands = _custom_commands(paths)
        with _line_editing(paths.chat_history_file):
            _greet(session)
            _loop(session, paths, config, options.start, commands)


def _custom_commands(paths: ProjectPaths) -> CommandSet:
    """The project's and the user's custom commands, read once; a broken file is a warning, the chat starts."""
    from autodev.ask.place import in_project
    from autodev.commands import find_commands

    found = find_commands(paths.root if in_project(paths) else None, os.environ)
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    return found


def _greet(session: AskSession) -> None:
    files = ", ".join(session.conversation.files) or "none (/add FILE)"
    click.echo(f"autodev chat · {session.described()} · conversation {session.conversation.id} · files: {files}")
    click.echo("/help for commands, /exit or Ctrl-D to leave")


def _loop(session: AskSession, paths: ProjectPaths, config: Config, start: Path, commands: CommandSet) -> None:
    from autodev.ask.chat import Command, Custom, Question, Unknown, read_line
    from autodev.errors import AutodevError

    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            click.echo()
            return
        except KeyboardInterrupt:
            click.echo("^C (/exit or Ctrl-D to leave)")
            continue
        read = read_line(line, custom=[*commands.commands, *commands.broken])
        try:
            if isinstance(read, Question):
                _ask(session, read.text)
            elif isinstance(read, Custom):
                _custom(session, paths, start, commands, read)
            elif isinstance(read, Unknown):
                click.echo(read.message, err=True)
            elif isinstance(read, Command) and not _command(session, paths, config, start, read, commands):
                return
        except AutodevError as error:  # the conversation goes on: a failed call or a refused apply is one message
            click.echo(f"error: {error}", err=True)


def _ask(session: AskSession, question: str) -> None:
    from autodev.cli.ask_cmd import show_answer

    try:
        show_answer(session, question, None)
    except KeyboardInterrupt:
        click.echo("\n(answer interrupted; nothing was recorded)", err=True)


def _custom(session: AskSession, paths: ProjectPaths, start: Path, commands: CommandSet, custom: Custom) -> None:
    """A custom command as the next question: its files join the conversation, its model answers this one only."""
    from autodev.cli.ask_cmd import relative_to_root
    from autodev.commands import expand, locate_references, lookup

    command = lookup(commands, custom.name, listing="/help")
    expansion = expand(command, custom.args)
    if not expansion.prompt:
        click.echo(f"/{custom.name}: {command.path} has no prompt (write one)", err=True)
        return
    located = locate_references(command, expansion.files, start=start, root=paths.root)
    session.add_files([relative_to_root(paths.root, start, str(path)) for path in located])
    with session.choice_for_now(model=expansion.model, tier=expansion.tier):
        _ask(session, expansion.prompt)


def _custom_help(commands: CommandSet) -> dict[str, str]:
    """Each custom command's usage (``NAME ARGUMENT-HINT``) with its description, for /help."""
    return {
        command.usage: command.description or f"({command.origin}: {command.path.name})"
        for command in commands.commands.values()
    }


def _command(
    session: AskSession, paths: ProjectPaths, config: Config, start: Path, command: Command, commands: CommandSet
) -> bool:
    """Carry out one slash command; False when the chat should end."""
    from autodev.ask.chat import help_text
    from autodev.cli.ask_cmd import relative_to_root

    name, args = command.name, command.args
    if name == "exit":
        return False
    if name == "help":
        click.echo(help_text(_custom_help(commands)))
    elif name == "add":
        session.add_files([relative_to_root(paths.root, start, arg) for arg in args])
        click.echo(f"files: {', '.join(session.conversation.files)}")
    elif name == "drop":
        unknown = session.drop_files([relative_to_root(paths.root, start, arg) for arg in args])
        if unknown:
            click.echo(f"not in the conversation: {', '.join(unknown)}", err=True)
        click.echo(f"files: {', '.join(session.conversation.files) or 'none'}")
    elif name == "files":
        click.echo(f"files: {', '.join(session.conversation.files) or 'none (/add FILE)'}")
    elif name == "model":
        click.echo(f"model: {session.choose(model=args[0]) if args else session.described()}")
    elif name == "cost":
        click.echo(_cost(session))
    elif name == "apply":
        _apply_last(session, paths, config)
    elif name == "undo":
        _undo(paths, config)
    return True


def _apply_last(session: AskSession, paths: ProjectPaths, config: Config) -> None:
    from autodev.cli.apply_flow import ApplyChoices, apply_answer

    answer = session.last
    if answer is None:
        click.echo("nothing to apply yet: ask first", err=True)
        return
    apply_answer(paths, config, session.conversation.files, answer, answer.question, ApplyChoices())


def _undo(paths: ProjectPaths, config: Config) -> None:
    from autodev.ask.undo import undo_last

    undone = undo_last(paths.root, run_hooks=config.vcs.run_hooks)
    click.echo(f"undid {undone.undone[:8]} {undone.subject}: {', '.join(undone.files)} restored")


def _cost(session: AskSession) -> str:
    conversation = session.conversation
    answers = [turn for turn in conversation.turns if turn.role == "assistant"]
    cached = sum(1 for turn in answers if turn.cached)
    from_cache = f" ({cached} from the cache)" if cached else ""
    tokens, cost = conversation.total_tokens, conversation.total_cost_usd  # questions are recorded at no cost
    return f"{len(answers)} answer(s){from_cache}, {tokens:,} tokens, ${cost:.4f}"


@contextlib.contextmanager
def _line_editing(history: Path) -> Iterator[None]:
    """Line editing and a history kept between chats, when this Python has readline (it need not)."""
    try:
        import readline
    except ImportError:
        yield
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(HISTORY_LINES)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
            history.chmod(0o600)
