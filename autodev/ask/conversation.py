"""Conversations of `autodev ask`/`chat`, one JSONL file each: written line by line, so a crash loses no turn.

STUB: interface agreed for the helper that implements it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autodev.llm.client import Message


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
        raise NotImplementedError


class ConversationSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    started_at: str
    updated_at: str
    turns: int
    model: str | None
    first_prompt: str  # the first line of the first user turn, shortened
    cost_usd: float


class ConversationStore:
    """The conversations in one directory (``ProjectPaths.conversations_dir``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def start(self) -> Conversation:
        """A new conversation with a new id; nothing is written until its first record."""
        raise NotImplementedError

    def load(self, ref: str) -> Conversation:
        """The conversation whose id is ``ref`` or starts with it; UsageError naming the candidates otherwise."""
        raise NotImplementedError

    def last(self) -> Conversation | None:
        """The conversation updated most recently, or None when there is none."""
        raise NotImplementedError

    def append(self, conversation: Conversation, turn: Turn) -> Conversation:
        """The turn written durably to the conversation's file; the conversation with it."""
        raise NotImplementedError

    def set_files(self, conversation: Conversation, files: tuple[str, ...]) -> Conversation:
        raise NotImplementedError

    def set_model(self, conversation: Conversation, model: str | None) -> Conversation:
        raise NotImplementedError

    def summaries(self) -> list[ConversationSummary]:
        """Every conversation, the most recently updated first."""
        raise NotImplementedError

    def remove(self, ref: str) -> str:
        """Delete one conversation (``ref`` as for :meth:`load`); its id."""
        raise NotImplementedError
