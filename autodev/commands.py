"""Custom commands: reusable prompts kept as Markdown files, read the way Claude Code reads its own.

A project keeps them in ``.autodev/commands/`` or ``.claude/commands/`` (so a team's existing Claude Code commands
work unchanged), a user in ``$XDG_CONFIG_HOME/autodev/commands/`` (else ``~/.config/autodev/commands/``). The file
name is the command's name; a subdirectory namespaces it (``frontend/test.md`` is ``frontend:test``). A file may
start with front matter between ``---`` lines; the rest is the prompt, with ``$ARGUMENTS``, ``$1``..``$9`` and
``@path`` file references. This module only reads and expands them; the CLI runs the prompt.

Front matter is read without a YAML library: autodev needs four single-line strings from it, and a dependency
for that would be heavier than the parser. Claude Code's other keys (``allowed-tools``, ...) are accepted, even as
indented YAML lists, and ignored.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from autodev.errors import CommandError, UsageError
from autodev.project import STATE_DIR_NAME, user_config_dir

Origin = Literal["project", "user"]

COMMAND_SUFFIX = ".md"
NAMESPACE_SEPARATOR = ":"  # Claude Code's: .claude/commands/frontend/test.md is /frontend:test
FENCE = "---"
# The front matter keys autodev uses, by their attribute on CommandFile; any other key is Claude Code's, ignored.
KNOWN_KEYS = {"description": "description", "model": "model", "tier": "tier", "argument-hint": "argument_hint"}

_KEY_LINE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:(?:\s+(?P<value>.*))?\s*$")
# `$$` first, so that `$$1` is a literal `$1`; `$10` is `$1` then `0` (Claude Code's positions stop at 9 too).
_PLACEHOLDER = re.compile(r"\$(\$|ARGUMENTS|[1-9])")
# `@` must start a token, perhaps after an opening bracket or quote (so `a@b.c` is no reference, `(@a.py)` is one),
# and be followed by a relative path (not `/`, not `@`).
_REFERENCE = re.compile(r"(?<![^\s(\[{'\"`])@(?P<path>[^\s/@][^\s@]*)")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"`"


class CommandFile(BaseModel):
    """One command file as read: where it is, what its front matter says and the prompt it holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    path: Path
    origin: Origin
    description: str | None
    model: str | None
    tier: str | None
    argument_hint: str | None
    body: str
    body_line: int  # 1-based line of the file where the body starts, so errors about it can name the line

    @property
    def usage(self) -> str:
        """``NAME ARGUMENT-HINT``, as `autodev cmd list` and chat's /help show how to call it."""
        return f"{self.name} {self.argument_hint}" if self.argument_hint else self.name


class Expansion(BaseModel):
    """A command with its arguments filled in: the prompt to send, the files it names and the model it asks for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    files: tuple[str, ...]
    model: str | None
    tier: str | None


@dataclass(frozen=True)
class CommandSet:
    """Every command found: the effective one per name, those hidden by another of the same name, and broken files.

    A broken file is reported and never stops the others from loading; it still claims its name, so a command
    with the same name further down (the user's) is shadowed rather than silently run in its place.
    """

    commands: dict[str, CommandFile] = field(default_factory=dict)
    shadowed: list[CommandFile] = field(default_factory=list)
    problems: list[CommandError] = field(default_factory=list)
    broken: dict[str, CommandError] = field(default_factory=dict)  # the name each broken file claims: its problem


# A project's command directories, relative to its root, the one winning a name first.
PROJECT_COMMAND_DIRS = (f"{STATE_DIR_NAME}/commands", ".claude/commands")


def command_directories(project_root: Path | None, env: Mapping[str, str]) -> list[tuple[Path, Origin]]:
    """Where commands are looked for, the one winning a name first: ``.autodev``, ``.claude``, the user's."""
    found: list[tuple[Path, Origin]] = []
    if project_root is not None:
        found.extend((project_root / rel, "project") for rel in PROJECT_COMMAND_DIRS)
    found.append((user_commands_dir(env), "user"))
    return found


def user_commands_dir(env: Mapping[str, str]) -> Path:
    """The user's commands, in autodev's configuration directory (``project.user_config_dir``) beside config.toml."""
    return user_config_dir(env) / "commands"


def find_commands(project_root: Path | None, env: Mapping[str, str]) -> CommandSet:
    """Read every command file of the project (when there is one) and of the user, names sorted.

    A project command shadows a user one of the same name, and ``.autodev/commands`` shadows ``.claude/commands``:
    the nearer, more specific file is the one meant. The hidden ones are listed so `autodev cmd list` can say so.
    """
    claimed: set[str] = set()
    commands: dict[str, CommandFile] = {}
    shadowed: list[CommandFile] = []
    problems: list[CommandError] = []
    broken: dict[str, CommandError] = {}
    seen_directories: set[Path] = set()
    for directory, origin in command_directories(project_root, env):
        real = directory.resolve()
        if real in seen_directories or not real.is_dir():
            continue
        seen_directories.add(real)
        for name, path in _command_paths(real, problems):
            try:
                command = parse_command(path, name, origin)
            except CommandError as error:
                problems.append(error)
                if name not in claimed:
                    broken[name] = error
                claimed.add(name)
                continue
            if name in claimed:
                shadowed.append(command)
            else:
                commands[name] = command
                claimed.add(name)
    return CommandSet(
        commands=dict(sorted(commands.items())),
        shadowed=sorted(shadowed, key=lambda command: command.name),
        problems=sorted(problems, key=lambda error: (error.path, error.line)),
        broken=dict(sorted(broken.items())),
    )


def lookup(found: CommandSet, name: str, *, listing: str) -> CommandFile:
    """The command called ``name``; a broken file's own problem when it is that one, else a UsageError.

    An unknown name says the closest one, since a misspelt command should not be a dead end, and ``listing``
    (``autodev cmd list``, chat's ``/help``) where to see them all.
    """
    if name in found.commands:
        return found.commands[name]
    if name in found.broken:
        raise found.broken[name]
    close = difflib.get_close_matches(name, list(found.commands), n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"no custom command {name!r}{guess} ({listing} lists them)")


def _command_paths(directory: Path, problems: list[CommandError]) -> Iterator[tuple[str, Path]]:
    """Each ``*.md`` file under ``directory`` (already resolved) with its command name, sorted by path.

    A symlink leading outside the directory is skipped with a problem: a command file may hold instructions, and
    one that points elsewhere is more likely a mistake (or a trick) than a command. A symlinked directory inside is
    not descended (its files are found where they really are, and a loop cannot happen). Hidden files are skipped.
    """
    for path in _walk(directory):
        if path.is_symlink() and not path.resolve().is_relative_to(directory):
            problems.append(CommandError(str(path), 1, "is a symlink leading outside its commands directory (skipped)"))
            continue
        if path.is_file() and path.name.endswith(COMMAND_SUFFIX):
            yield command_name(path.relative_to(directory)), path


def command_file_paths(directory: Path) -> Iterator[Path]:
    """Every ``*.md`` under ``directory`` the way :func:`find_commands` walks it (hidden entries and symlinked
    directories skipped), for whoever watches the files for changes (the loop)."""
    return (path for path in _walk(directory) if path.name.endswith(COMMAND_SUFFIX))


def _walk(directory: Path) -> Iterator[Path]:
    """Every entry under ``directory``, depth first in sorted order, without following symlinked directories."""
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(entry)
        else:
            yield entry


def command_name(relative: Path) -> str:
    """``frontend/test.md`` -> ``frontend:test``, as Claude Code names a command in a subdirectory."""
    parts = [*relative.parts[:-1], relative.name.removesuffix(COMMAND_SUFFIX)]
    return NAMESPACE_SEPARATOR.join(parts)


def parse_command(path: Path, name: str, origin: Origin) -> CommandFile:
    """Read one command file; anything unusable raises CommandError naming the file and line."""
    text = _read_text(path)
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        return _command(path, name, origin, {}, body=text, body_line=1)
    close = _closing_fence(lines)
    if close is None:
        raise CommandError(str(path), 1, f"the front matter opened here is never closed (end it with a {FENCE} line)")
    values = _front_matter(path, [line.rstrip("\r\n") for line in lines[1:close]])
    return _command(path, name, origin, values, body="".join(lines[close + 1 :]), body_line=close + 2)


def _read_text(path: Path) -> str:
    """The file as text; a byte that is not UTF-8 is reported with its line, since an editor can show that."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CommandError(str(path), 1, f"cannot be read: {error.strerror or error}") from error
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CommandError(str(path), line, "is not valid UTF-8 (save it as UTF-8)") from error


def _closing_fence(lines: list[str]) -> int | None:
    """The index of the line closing the front matter opened on the first line; None when it is never closed."""
    for index in range(1, len(lines)):
        if lines[index].strip() == FENCE:
            return index
    return None


def _front_matter(path: Path, lines: list[str]) -> dict[str, tuple[str, int]]:
    """The known keys' values, each with its line: ``key: value`` lines, blank lines and ``#`` comments.

    An indented line continues the key above it (a YAML list under Claude Code's ``allowed-tools``); that is fine
    for a key autodev ignores, and an error for one it reads, which must be a single line.
    """
    values: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for number, line in enumerate(lines, start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            _continuation(path, number, current)
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise CommandError(str(path), number, f"expected `key: value` in the front matter, not {stripped!r}")
        current = match["key"]
        if current in KNOWN_KEYS:
            values[current] = (_value(path, number, current, match["value"] or ""), number)
    _check_model_or_tier(path, values)
    return values


def _continuation(path: Path, number: int, key: str | None) -> None:
    if key is None:
        raise CommandError(str(path), number, "an indented line with no `key:` above it in the front matter")
    if key in KNOWN_KEYS:
        raise CommandError(str(path), number, f"`{key}` must be one line (`{key}: value`)")


def _value(path: Path, number: int, key: str, raw: str) -> str:
    """An unquoted value as written, or a quoted one without its quotes; it must not be empty."""
    value = raw.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        if len(value) < 2 or value[-1] != quote:
            raise CommandError(str(path), number, f"the quote opening `{key}`'s value is not closed with {quote}")
        value = value[1:-1].replace(quote * 2, quote) if quote == "'" else _unescape(value[1:-1])
    if not value.strip():
        raise CommandError(str(path), number, f"`{key}` is empty (give it a value or remove the line)")
    return value


def _unescape(value: str) -> str:
    """The two escapes a double-quoted description needs: ``\\"`` and ``\\\\``."""
    return re.sub(r"\\([\"\\])", r"\1", value)


def _check_model_or_tier(path: Path, values: Mapping[str, tuple[str, int]]) -> None:
    """A command names a model or a tier, not both: which one would win is not obvious, so neither is guessed."""
    if "model" in values and "tier" in values:
        line = max(values["model"][1], values["tier"][1])
        raise CommandError(str(path), line, "give either `model` or `tier`, not both (remove one)")


def _command(
    path: Path, name: str, origin: Origin, values: Mapping[str, tuple[str, int]], *, body: str, body_line: int
) -> CommandFile:
    known = {attribute: values[key][0] if key in values else None for key, attribute in KNOWN_KEYS.items()}
    return CommandFile(name=name, path=path, origin=origin, body=body, body_line=body_line, **known)


def expand(command: CommandFile, arguments: Sequence[str]) -> Expansion:
    """The prompt with the arguments in place, and the files its ``@path`` references name.

    ``$ARGUMENTS`` is all the arguments joined by spaces, ``$1``..``$9`` one each (a missing one is empty) and
    ``$$`` a literal ``$``. When the body has no placeholder the arguments are appended after a blank line:
    Claude Code drops them, but nothing the user typed should be lost without a word. References are read from
    the expanded prompt, so ``@file`` typed as an argument is sent too.
    """
    joined = " ".join(arguments)
    prompt = _substitute(command.body, arguments, joined).strip("\n").rstrip()
    if not has_placeholder(command.body) and joined.strip():
        prompt = f"{prompt}\n\n{joined}" if prompt else joined
    return Expansion(prompt=prompt, files=references(prompt), model=command.model, tier=command.tier)


def has_placeholder(body: str) -> bool:
    """Whether the body takes arguments anywhere (``$$`` is an escaped dollar, not a placeholder)."""
    return any(match[1] != "$" for match in _PLACEHOLDER.finditer(body))


def _substitute(body: str, arguments: Sequence[str], joined: str) -> str:
    def replace(match: re.Match[str]) -> str:
        placeholder = match[1]
        if placeholder == "$":
            return "$"
        if placeholder == "ARGUMENTS":
            return joined
        position = int(placeholder) - 1
        return arguments[position] if position < len(arguments) else ""

    return _PLACEHOLDER.sub(replace, body)


def references(text: str) -> tuple[str, ...]:
    """The ``@path`` references in order of appearance, each once, without the ``@``.

    The ``@`` must start a token (an opening bracket or quote may come first), so an address like ``a@b.c`` is
    not one; punctuation ending a sentence
    (``see @app.py.``) is not part of the path. An absolute path is not a reference: the files sent are the
    project's own.
    """
    found: dict[str, None] = {}
    for match in _REFERENCE.finditer(text):
        path = match["path"].rstrip(_TRAILING_PUNCTUATION)
        if path:
            found.setdefault(path, None)
    return tuple(found)


def locate_references(command: CommandFile, files: Sequence[str], *, start: Path, root: Path) -> list[Path]:
    """Each ``@path`` file, absolute: relative to where autodev started, else to the project root.

    Claude Code reads references from its working directory, which is usually the project root; trying the start
    directory first keeps ``@name`` typed as an argument meaning what ``-f name`` means. A reference to nothing is a
    UsageError naming the command file, before any model call.
    """
    located: list[Path] = []
    for name in files:
        found = next(((base / name).resolve() for base in (start, root) if (base / name).is_file()), None)
        if found is None:
            where = str(start) if start == root else f"{start} or {root}"
            problem = f"@{name}: no such file in {where} (the command `{command.name}` sends it)"
            raise UsageError(f"{command.path}: {problem}")
        located.append(found)
    return located
