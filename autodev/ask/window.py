"""The messages of a request trimmed to the model's context window: oldest turns first, with a summary of them.

STUB: interface agreed for the helper that implements it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from autodev.config import Config
from autodev.llm.client import Message
from autodev.llm.models import ResolvedModel


class Fitted(BaseModel):
    """What is sent: ``messages``; ``dropped`` turns of history left out (and summarised); the estimated tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message]
    dropped: int
    tokens: int
    window: int


def estimate_tokens(text: str) -> int:
    raise NotImplementedError


def window_tokens(model: ResolvedModel, config: Config) -> int:
    """The model's context window in tokens (see the module docstring for where it comes from)."""
    raise NotImplementedError


def fit_to_window(
    head: Sequence[Message], history: Sequence[Message], latest: Message, *, window: int, reserve: int
) -> Fitted:
    """``head`` (instructions, files) + as much of ``history`` as fits, newest kept + ``latest``.

    UsageError (ContextTooLongError) when ``head`` and ``latest`` alone exceed ``window - reserve``.
    """
    raise NotImplementedError
