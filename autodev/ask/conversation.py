"""Conversations of `autodev ask`/`chat`, one JSONL file each: written line by line, so a crash loses no turn.

Each line is one record with a ``kind``: ``started`` (id, at) first, then ``message`` (a :class:`Turn`), ``files``
(the paths in context) and ``model`` (the model chosen). Appending one line and fsyncing it is the whole write, so
an interrupted write can at worst cut the last line short; such a line is skipped with a warning when loading, and
the rest of the conversation survives. Files are created 0600: conversations may hold private code.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autodev.errors import UsageError
from autodev.llm.client import Message
from autodev.logs import get_logger

SUFFIX = ".jsonl"
FIRST_PROMPT_WIDTH = 60


class Turn(BaseModel):
    """One message of a conversation as it was sent (user) or received (assistant), with what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    content: str
    at: str  # ISO 8601, UTC
    model: str | None = None  # assistant turns: the model that answered
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False


class Conversation(BaseModel):
    """A conversation as loaded: its turns in order and the files it has in context (paths relative to the root)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    started_at: str
    turns: tuple[Turn, ...] = ()
    files: tuple[str, ...] = ()
    model: str | None = None  # the model last chosen (`/model`, --model), None: the default
    path: Path = Field(exclude=True)

    def messages(self) -> list[Message]:
        """The turns as chat messages (role and content only), oldest first."""
        return [{"role": turn.role, "content": turn.content} for turn in self.turns]

    @property
    def total_tokens(self) -> int:
        """Input and output tokens of every turn together."""
        return sum(turn.input_tokens + turn.output_tokens for turn in self.turns)

    @property
    def total_cost_usd(self) -> float:
        """What the conversation's answers cost so far."""
        return sum(turn.cost_usd for turn in self.turns)

    def first_prompt(self) -> str:
        """The first line of the first user turn, shortened: what a listing shows to recognise it by."""
        for turn in self.turns:
            if turn.role == "user":
                return shorten(first_line(turn.content), FIRST_PROMPT_WIDTH)
        return ""


class ConversationSummary(BaseModel):
    """One line of `autodev conversations list`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    started_at: str
    updated_at: str
    turns: int
    model: str | None
    first_prompt: str  # the first line of the first user turn, shortened
    cost_usd: float


class _Started(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["started"]
    id: str
    at: str


class _Files(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["files"]
    paths: tuple[str, ...]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["model"]
    name: str | None


def utc_now() -> str:
    """Now in ISO 8601, UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_id() -> str:
    """A sortable, unique id: the UTC time and 4 random hex digits (two starts in one second differ)."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis when it is longer."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


class ConversationStore:
    """The conversations in one directory (``ProjectPaths.conversations_dir``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def start(self) -> Conversation:
        """A new conversation with a new id; nothing is written until its first record."""
        conversation_id = new_id()
        while self._path(conversation_id).exists():
            conversation_id = new_id()
        return Conversation(id=conversation_id, started_at=utc_now(), path=self._path(conversation_id))

    def load(self, ref: str) -> Conversation:
        """The conversation whose id is ``ref`` or starts with it; UsageError naming the candidates otherwise."""
        return _read(self._resolve(ref))

    def last(self) -> Conversation | None:
        """The conversation updated most recently, or None when there is none."""
        paths = self._paths_newest_first()
        return _read(paths[0]) if paths else None

    def append(self, conversation: Conversation, turn: Turn) -> Conversation:
        """The turn written durably to the conversation's file; the conversation with it."""
        self._write(conversation, {"kind": "message", **turn.model_dump()})
        return conversation.model_copy(update={"turns": (*conversation.turns, turn)})

    def set_files(self, conversation: Conversation, files: tuple[str, ...]) -> Conversation:
        """The files in context recorded (they are sent with every later question)."""
        self._write(conversation, {"kind": "files", "paths": list(files)})
        return conversation.model_copy(update={"files": tuple(files)})

    def set_model(self, conversation: Conversation, model: str | None) -> Conversation:
        """The model chosen recorded, so a continued conversation keeps it; None: the default."""
        self._write(conversation, {"kind": "model", "name": model})
        return conversation.model_copy(update={"model": model})

    def summaries(self) -> list[ConversationSummary]:
        """Every conversation, the most recently updated first."""
        return [_summary(_read(path), path) for path in self._paths_newest_first()]

    def resolve(self, ref: str) -> str:
        """The id ``ref`` names (exactly or as a unique prefix), so a command can check every ref before acting."""
        return self._resolve(ref).name.removesuffix(SUFFIX)

    def remove(self, ref: str) -> str:
        """Delete one conversation (``ref`` as for :meth:`load`); its id."""
        path = self._resolve(ref)
        path.unlink()
        return path.name.removesuffix(SUFFIX)

    def _path(self, conversation_id: str) -> Path:
        return self.directory / f"{conversation_id}{SUFFIX}"

    def _all_paths(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(path for path in self.directory.glob(f"*{SUFFIX}") if path.is_file())

    def _paths_newest_first(self) -> list[Path]:
        """By file mtime (the last append), ties broken by id: ids sort by start time."""
        return sorted(self._all_paths(), key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)

    def _resolve(self, ref: str) -> Path:
        """The one file whose id is ``ref`` or starts with it."""
        ids = [path.name.removesuffix(SUFFIX) for path in self._all_paths()]
        if ref in ids:
            return self._path(ref)
        matches = [conversation_id for conversation_id in ids if ref and conversation_id.startswith(ref)]
        if not matches:
            raise UsageError(f"no conversation {ref} (see `autodev conversations list`)")
        if len(matches) > 1:
            raise UsageError(f"{ref} names several conversations: {', '.join(matches)}; give more of the id")
        return self._path(matches[0])

    def _write(self, conversation: Conversation, record: dict[str, Any]) -> None:
        """One record appended and fsynced; the "started" record first when the file is new."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = []
        if not conversation.path.exists():
            lines.append({"kind": "started", "id": conversation.id, "at": conversation.started_at})
        lines.append(record)
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        fd = os.open(conversation.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def _read(path: Path) -> Conversation:
    """The conversation in ``path``; damaged lines skipped with a warning, the id from the name when not recorded."""
    fields: dict[str, Any] = {"id": path.name.removesuffix(SUFFIX), "started_at": "", "path": path}
    turns: list[Turn] = []
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            _apply(json.loads(line), fields, turns)
        except (ValueError, ValidationError, TypeError) as error:
            get_logger().warning(
                "conversation_line_skipped", file=str(path), line=number, why=str(error).splitlines()[0]
            )
    if not fields["started_at"]:
        fields["started_at"] = turns[0].at if turns else _mtime_iso(path)
    return Conversation(turns=tuple(turns), **fields)


def _apply(raw: object, fields: dict[str, Any], turns: list[Turn]) -> None:
    """One record read into the conversation being loaded; ValueError when it is none autodev writes."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    kind = raw.get("kind")
    if kind == "started":
        started = _Started.model_validate(raw)
        fields.update(id=started.id, started_at=started.at)
    elif kind == "message":
        turns.append(Turn.model_validate({key: value for key, value in raw.items() if key != "kind"}))
    elif kind == "files":
        fields["files"] = _Files.model_validate(raw).paths
    elif kind == "model":
        fields["model"] = _Model.model_validate(raw).name
    else:
        raise ValueError(f"unknown kind {kind!r}")


def _mtime_iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def _summary(conversation: Conversation, path: Path) -> ConversationSummary:
    return ConversationSummary(
        id=conversation.id,
        started_at=conversation.started_at,
        updated_at=_mtime_iso(path),
        turns=len(conversation.turns),
        model=conversation.model or next((t.model for t in reversed(conversation.turns) if t.model), None),
        first_prompt=conversation.first_prompt(),
        cost_usd=conversation.total_cost_usd,
    )
