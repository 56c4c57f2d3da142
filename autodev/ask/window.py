"""The messages of a request trimmed to the model's context window: oldest turns first, with a summary of them.

The window comes from, in order: ``[llm.models.NAME] context_tokens``; ``[local] context_size`` for a model
autodev serves itself; LiteLLM's bundled price list (``max_input_tokens``, else ``max_tokens``), read as a file so
that LiteLLM is never imported; 2048 for an Ollama model the list does not know (Ollama's default ``num_ctx``);
else 8192. Tokens are estimated, never counted with a tokenizer: the estimate errs on the high side, so what is
sent fits even when the estimate is off.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from autodev.ask.conversation import first_line, shorten
from autodev.config import Config
from autodev.errors import ContextTooLongError
from autodev.llm.client import Message
from autodev.llm.models import OLLAMA_PREFIXES, ResolvedModel
from autodev.llm.price_list import bundled_price_list
from autodev.tokens import estimate_tokens

MESSAGE_OVERHEAD_TOKENS: Final = 4  # the role and the separators a chat template adds around each message
OLLAMA_DEFAULT_WINDOW: Final = 2048  # Ollama's default num_ctx, whatever the model could take
UNKNOWN_WINDOW: Final = 8192
TOPIC_WIDTH: Final = 80


class Fitted(BaseModel):
    """What is sent: ``messages``; ``dropped`` turns of history left out (and summarised); the estimated tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message]
    dropped: int
    tokens: int
    window: int


def message_tokens(message: Message) -> int:
    """One message's estimate: its content and the few tokens of its framing."""
    return estimate_tokens(message.get("content", "")) + MESSAGE_OVERHEAD_TOKENS


def messages_tokens(messages: Sequence[Message]) -> int:
    return sum(message_tokens(message) for message in messages)


def window_tokens(model: ResolvedModel, config: Config) -> int:
    """The model's context window in tokens (see the module docstring for where it comes from)."""
    if model.context_tokens is not None:
        return model.context_tokens
    if model.gguf is not None:
        return config.local.context_size
    listed = _listed_window(model.litellm_model)
    if listed is not None:
        return listed
    if model.litellm_model.startswith(OLLAMA_PREFIXES):
        return OLLAMA_DEFAULT_WINDOW
    return UNKNOWN_WINDOW


def _listed_window(litellm_model: str) -> int | None:
    """The price list's window for the full name, else for the name without its provider prefix."""
    prices = _price_list()
    names = [litellm_model]
    if "/" in litellm_model:
        names.append(litellm_model.split("/", 1)[1])
    for name in names:
        entry = prices.get(name)
        if not isinstance(entry, dict):
            continue
        for key in ("max_input_tokens", "max_tokens"):
            value = entry.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


@functools.lru_cache(maxsize=1)
def _price_list() -> dict[str, Any]:
    """Read once per process: the file is several megabytes of JSON."""
    return bundled_price_list()


def fit_to_window(
    head: Sequence[Message], history: Sequence[Message], latest: Message, *, window: int, reserve: int
) -> Fitted:
    """``head`` (instructions, files) + as much of ``history`` as fits, newest kept + ``latest``.

    Whole exchanges (a user turn and its answer) are dropped from the oldest, so the model never sees an answer
    without its question; what was dropped is named in one summary message after ``head``, so the model (and the
    user, told by the count) knows that something is missing.

    UsageError (ContextTooLongError) when ``head`` and ``latest`` alone exceed ``window - reserve``.
    """
    budget = window - reserve
    fixed = messages_tokens(head) + message_tokens(latest)
    if fixed > budget:
        raise ContextTooLongError(fixed, window, reserve)
    exchanges = _exchanges(history)
    # an answer whose question is not in the history must not follow the head: that exchange always goes
    first_kept = 1 if exchanges and exchanges[0][0].get("role") == "assistant" else 0
    for start in range(first_kept, len(exchanges) + 1):
        dropped = [message for exchange in exchanges[:start] for message in exchange]
        kept = [message for exchange in exchanges[start:] for message in exchange]
        # the topics may be left out (then the summary) only once all history is gone: a summary always comes first
        summaries = _summaries(dropped) if start == len(exchanges) else _summaries(dropped)[:1]
        for summary in summaries:
            messages = [*head, *summary, *kept, latest]
            tokens = messages_tokens(messages)
            if tokens <= budget:
                return Fitted(messages=messages, dropped=len(dropped), tokens=tokens, window=window)
    raise AssertionError("unreachable: head and latest alone fit")  # pragma: no cover


def _exchanges(history: Sequence[Message]) -> list[list[Message]]:
    """``history`` cut before each user turn: every exchange is a question with its answers (a leading answer
    without its question is an exchange of its own, dropped first)."""
    exchanges: list[list[Message]] = []
    for message in history:
        if message.get("role") == "user" or not exchanges:
            exchanges.append([])
        exchanges[-1].append(dict(message))
    return exchanges


def _summaries(dropped: Sequence[Message]) -> list[list[Message]]:
    """The summary messages to try, longest first: none when nothing was dropped; with the topics, then without
    them (many topics could fill a small window), then none at all (only when the question alone just fits)."""
    if not dropped:
        return [[]]
    count = f"Earlier in this conversation, {len(dropped)} messages were left out to fit the model's context window."
    topics = [shorten(first_line(m.get("content", "")), TOPIC_WIDTH) for m in dropped if m.get("role") == "user"]
    about = f" They were about: {'; '.join(topic for topic in topics if topic)}" if any(topics) else ""
    full = {"role": "user", "content": f"({count}{about})"}
    bare = {"role": "user", "content": f"({count})"}
    return [[full], [bare], []] if about else [[bare], []]
