"""A ChatClient answering with a function, in process: for tests of decisions that need no HTTP round trip.

The scripted server (:mod:`autodev.testing.server`) proves the LiteLLM path; a test about which tier answers,
what the prompt held or when the budget stops needs only the engine's side of the ChatClient interface. Like
pydantic-ai's FunctionModel or httpx's MockTransport, the test supplies a function; this module wraps what it
returns into a Completion priced the way LiteLLMClient prices configured models, and records every call.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from autodev.errors import ModelError
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.testing.server import estimate_tokens

__all__ = ["ChatCall", "ChatFunction", "FunctionClient", "Reply", "ReplyScript", "completion_for"]

ChatFunction = Callable[[ResolvedModel, list[Message]], "str | Completion"]
"""Answers one call: a str is the reply text, a Completion is returned as is; raising ModelError fails the call."""

Reply = str | Completion | ModelError | ChatFunction
"""One entry of a ReplyScript: a reply, an error to raise, or a function to answer that one call."""


class ChatCall(BaseModel):
    """One call as the client received it, so tests can assert on the model chosen and the prompt sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ResolvedModel
    messages: list[Message]

    @property
    def prompt_text(self) -> str:
        """All message contents joined by newlines: one string to search with ``in`` in assertions."""
        return "\n".join(message.get("content", "") for message in self.messages)


def completion_for(
    model: ResolvedModel,
    messages: Sequence[Message],
    text: str,
    *,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    finish_reason: str = "stop",
) -> Completion:
    """A Completion for ``text``: tokens estimated like the scripted server's, cost from the configured prices.

    A model without configured prices costs nothing, as an unknown model does through LiteLLM.
    """
    prompt = "\n".join(message.get("content", "") for message in messages)
    prompt_tokens = estimate_tokens(prompt) if input_tokens is None else input_tokens
    completion_tokens = estimate_tokens(text) if output_tokens is None else output_tokens
    cost = prompt_tokens * (model.input_cost_per_token or 0.0) + completion_tokens * (
        model.output_cost_per_token or 0.0
    )
    return Completion(
        text=text,
        model=model.litellm_model,
        input_tokens=prompt_tokens,
        output_tokens=completion_tokens,
        cost_usd=cost,
        duration_s=0.0,
        finish_reason=finish_reason,
    )


class FunctionClient:
    """A ChatClient whose every answer comes from ``function(model, messages)``; ``calls`` records them in order.

    Calls may come from several threads (sampled rounds), so recording is locked; the function itself is not.
    """

    def __init__(self, function: ChatFunction) -> None:
        self.function = function
        self._lock = threading.Lock()
        self._calls: list[ChatCall] = []

    @classmethod
    def replying(cls, *replies: Reply) -> FunctionClient:
        """A client answering with ``replies`` in order (see ReplyScript)."""
        return cls(ReplyScript(replies))

    @property
    def calls(self) -> list[ChatCall]:
        """A snapshot of the calls so far."""
        with self._lock:
            return list(self._calls)

    @property
    def model_names(self) -> list[str]:
        """The configured name of the model of each call, in order: the route the pass took."""
        return [call.model.name for call in self.calls]

    def complete(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        call = ChatCall(model=model, messages=[dict(message) for message in messages])
        with self._lock:
            self._calls.append(call)
        answer = self.function(model, list(call.messages))
        return answer if isinstance(answer, Completion) else completion_for(model, messages, answer)


class ReplyScript:
    """Replies in order, one per call; a ModelError entry is raised, a function entry answers its call.

    Once the script is used up every call fails with a non-retryable ModelError naming its number, so a test that
    makes more calls than it scripted fails at once instead of waiting out retries.
    """

    def __init__(self, replies: Iterable[Reply] = ()) -> None:
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque(replies)
        self._taken = 0

    @property
    def remaining(self) -> int:
        """Replies not yet used."""
        with self._lock:
            return len(self._replies)

    def push(self, *replies: Reply) -> None:
        """Add replies to the end of the script, e.g. between two passes of one test."""
        with self._lock:
            self._replies.extend(replies)

    def __call__(self, model: ResolvedModel, messages: list[Message]) -> str | Completion:
        with self._lock:
            self._taken += 1
            number = self._taken
            reply = self._replies.popleft() if self._replies else None
        if reply is None:
            raise ModelError(
                model.name, "no reply left", f"reply script: nothing scripted for call #{number}", retryable=False
            )
        if isinstance(reply, ModelError):
            raise reply
        if isinstance(reply, (str, Completion)):
            return reply
        return reply(model, messages)
