"""The messages of one request: instructions and the conversation's files, the history, the new question.

The files go into the first (system) message with their current content, read afresh for every request: in a
conversation the model always sees the files as they are now, not as they were when they were added, and a
long conversation does not carry a copy of every file per turn. Standard input is part of the question it came
with, since it exists only then.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.errors import UsageError
from autodev.llm.client import Message

INSTRUCTIONS = (
    "You are a coding assistant answering questions about the user's code. Be direct and concise.\n"
    "When you change or create a file, put the file's path alone on a line, then its complete new content in a "
    "fenced code block (or SEARCH/REPLACE blocks for the changed parts): autodev can then apply it."
)
_BACKTICK_FENCE = re.compile(r"^[ \t]*(`{3,})", re.MULTILINE)
MAX_FILE_CHARS = 200_000  # one context file; beyond it, the user should pick the part that matters


class ContextFile(BaseModel):
    """A file sent with the question: its path as the model sees it, and its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    text: str


def read_context_files(root: Path, paths: Sequence[str]) -> list[ContextFile]:
    """Each file's current text (paths relative to ``root``, or absolute); a clear UsageError when one cannot be."""
    return [_read(root, path) for path in paths]


def _read(root: Path, path: str) -> ContextFile:
    try:
        return ContextFile(path=path, text=file_text(root / path))
    except FileNotFoundError:
        raise UsageError(f"-f {path}: no such file (drop it with /drop {path} in chat)") from None
    except ValueError as error:
        raise UsageError(f"-f {path}: {error}") from None


def file_text(full: Path) -> str:
    """A file's text for a model: FileNotFoundError, or ValueError saying what is wrong (a directory, not UTF-8,
    too long, unreadable); also for workflow prompts (autodev.workflow.render)."""
    try:
        data = full.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ValueError("is a directory; name the files in it one by one") from None
    except OSError as error:
        raise ValueError(f"cannot be read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text; autodev sends only text files to models") from None
    if len(text) > MAX_FILE_CHARS:
        raise ValueError(
            f"{len(text):,} characters, over the limit of {MAX_FILE_CHARS:,} for one file; send the part that matters"
        )
    return text


def head_messages(files: Sequence[ContextFile], system: str | None, memory: str = "") -> list[Message]:
    """The system message: autodev's instructions, the project's memory, the user's own (``--system``), then every
    file with its path: what changes least comes first, for the servers' prefix caches."""
    parts = [INSTRUCTIONS]
    if memory:
        parts.append(memory)
    if system:
        parts.append(system.strip())
    if files:
        parts.append("The user's files:")
        parts.extend(_fenced(file.path, file.text) for file in files)
    return [{"role": "system", "content": "\n\n".join(parts)}]


def question_message(question: str, stdin_text: str | None) -> Message:
    """The user's question, with what came on standard input (``git diff | autodev ask "review this"``)."""
    if stdin_text and stdin_text.strip():
        return {"role": "user", "content": f"{question.strip()}\n\n{_fenced('standard input', stdin_text)}"}
    return {"role": "user", "content": question.strip()}


def _fenced(label: str, text: str) -> str:
    """``label`` on its own line, then the text in a fence longer than any backtick run inside it."""
    longest = max((len(match) for match in _BACKTICK_FENCE.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{label}\n{fence}\n{body}{fence}"
