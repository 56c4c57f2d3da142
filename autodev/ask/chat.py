"""What a line typed at `autodev chat`'s prompt means: a question, a slash command, or a custom command.

Pure, so that every command's reading is tested without a terminal; the REPL (``autodev.cli.chat_cmd``) acts on
the result.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Collection, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

CommandName = Literal["add", "drop", "files", "model", "apply", "undo", "cost", "help", "exit"]

# name -> (argument, what it does); the order is the help's.
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("FILE...", "send these files with every question from now on"),
    "drop": ("FILE...", "stop sending these files"),
    "files": ("", "the files in the conversation"),
    "model": ("NAME", "answer with this model from now on (no NAME: say which model answers)"),
    "apply": ("", "apply the last answer's code blocks to the files (diff shown, then asked)"),
    "undo": ("", "revert autodev's last commit"),
    "cost": ("", "tokens and money spent in this conversation"),
    "help": ("", "this list"),
    "exit": ("", "leave (Ctrl-D does too)"),
}
_ALIASES = {"quit": "exit", "q": "exit", "?": "help"}


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: CommandName
    args: tuple[str, ...] = ()


class Custom(BaseModel):
    """``/NAME ARGS`` for a custom command (``autodev.commands``): its prompt, expanded, is the next question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    args: tuple[str, ...] = ()


class Unknown(BaseModel):
    """A line that looks like a command but is none: said so, with the closest command, and not sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: str


def read_line(line: str, custom: Collection[str] = ()) -> Question | Command | Custom | Unknown | None:
    """None for an empty line; ``//text`` sends ``/text`` as a question (a path, say).

    ``custom`` are the names of the custom commands; a built-in command of the same name wins, so a project's
    command file can never change what ``/exit`` or ``/apply`` do.
    """
    text = line.strip()
    if not text:
        return None
    if text.startswith("//"):
        return Question(text=text[1:])
    if not text.startswith("/"):
        return Question(text=text)
    try:
        words = shlex.split(text[1:])
    except ValueError as error:
        return Unknown(message=f"cannot read {text!r}: {error}")
    if not words:
        return Unknown(message="a command after /, for example /help")
    name = _ALIASES.get(words[0].lower(), words[0].lower())
    args = tuple(words[1:])
    if name in COMMANDS:
        problem = _argument_problem(name, args)
        return Unknown(message=problem) if problem else Command(name=name, args=args)
    if words[0] in custom:
        return Custom(name=words[0], args=args)
    return _unknown(words[0], custom)


def _unknown(word: str, custom: Collection[str]) -> Unknown:
    """No such command, with the closest one (built-in names compared in lower case, custom ones as written)."""
    close = difflib.get_close_matches(word, list(custom), n=1, cutoff=0.6) or difflib.get_close_matches(
        word.lower(), [*COMMANDS, *_ALIASES], n=1, cutoff=0.6
    )
    guess = f"; did you mean /{close[0]}?" if close else ""
    return Unknown(message=f"no command /{word}{guess} (/help lists them; //text sends /text as a question)")


def _argument_problem(name: str, args: tuple[str, ...]) -> str | None:
    wanted = COMMANDS[name][0]
    if wanted == "FILE..." and not args:
        return f"/{name} needs at least one FILE"
    if wanted == "" and args:
        return f"/{name} takes no argument"
    if name == "model" and len(args) > 1:
        return "/model takes one NAME"
    return None


def help_text(custom: Mapping[str, str] | None = None) -> str:
    """The built-in commands, then the custom ones (``custom``: ``NAME ARGUMENT-HINT`` -> the description)."""
    rows = [(f"/{name} {arg}".rstrip(), what) for name, (arg, what) in COMMANDS.items()]
    extra = [(f"/{usage}", what) for usage, what in (custom or {}).items()]
    width = max(len(usage) for usage, _ in [*rows, *extra])
    lines = ["Type a question, or:", *(f"  {usage:<{width}}  {what}" for usage, what in rows)]
    if extra:
        lines.append("Custom commands (autodev cmd list says where they are):")
        lines.extend(f"  {usage:<{width}}  {what}".rstrip() for usage, what in extra)
    return "\n".join(lines)
