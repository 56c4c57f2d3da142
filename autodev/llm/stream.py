"""A streamed reply read to its end: the text reassembled, progress reported as it arrives, usage from the end.

Streaming is what lets a person see a slow model working (tokens and seconds on the console) instead of a silent
terminal for minutes. The model's ``timeout_s`` stays a bound on the whole call, not only on the silence between
two chunks, so a model that streams forever is still cut off.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from autodev.errors import ModelError
from autodev.llm.repetition import looping
from autodev.progress import ModelStreaming, report

TIMEOUT_HINT = "raise [llm.models.NAME] timeout_s, or use a faster model"
LOOP_CHECK_EVERY = 32  # chunks between two looks for a loop (llm/repetition.py)
LOOPED = "repetition"  # the finish reason of a reply cut off because it looped
ENOUGH = "enough"  # the finish reason of a reply whose caller had what it asked for (see reading_until)

ReplyDone = Callable[[str], bool]
"""Whether the text so far holds everything the caller asked for; asked each time a line ends."""

_reply_done: contextvars.ContextVar[ReplyDone | None] = contextvars.ContextVar("reply_done", default=None)


@contextlib.contextmanager
def reading_until(done: ReplyDone) -> Iterator[None]:
    """Replies streamed in this context stop being read once ``done(text)`` is true.

    Why: a model that has sent the file goes on explaining it, and on a CPU each of those tokens costs the time of a
    token of code (the 1.5B model's explanations after the block were a third of its replies). A context
    variable rather than a parameter, so every ChatClient keeps the one-method interface; worker threads of a
    sampled round run in a copy of the caller's context and see it too.
    """
    token = _reply_done.set(done)
    try:
        yield
    finally:
        _reply_done.reset(token)


@dataclass(frozen=True)
class StreamedReply:
    """The reply's text and finish reason; the tokens the provider counted (None when it sent no usage)."""

    text: str
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    chunks: list[Any] = field(default_factory=list)  # for LiteLLM's cost and token counting


def read_stream(
    stream: Iterable[Any],
    model: str,
    *,
    timeout_s: float,
    started: float,
    clock: Callable[[], float] = time.monotonic,
) -> StreamedReply:
    """Every chunk of ``stream``; each content delta reported as :class:`ModelStreaming` for ``model``.

    A reply that loops (:func:`~autodev.llm.repetition.looping`) is cut off: its text so far, finish reason
    ``repetition``.
    """
    parts: list[str] = []
    chunks: list[Any] = []
    finish_reason: str | None = None
    usage: Any = None
    done = _reply_done.get()
    for chunk in stream:
        chunks.append(chunk)
        usage = getattr(chunk, "usage", None) or usage
        for choice in getattr(chunk, "choices", None) or ():
            content = getattr(getattr(choice, "delta", None), "content", None)
            if content:
                parts.append(content)
                report(ModelStreaming(model=model, tokens=len(parts), text=content))
            finish_reason = getattr(choice, "finish_reason", None) or finish_reason
        if len(parts) % LOOP_CHECK_EVERY == 0 and parts and looping("".join(parts)):
            _close(stream)
            finish_reason = LOOPED
            break
        if done is not None and parts and "\n" in parts[-1] and done("".join(parts)):
            _close(stream)
            finish_reason = ENOUGH
            break
        if clock() - started > timeout_s:
            _close(stream)
            detail = f"no complete reply within {timeout_s:g} s ({TIMEOUT_HINT})"
            raise ModelError(model, "timed out", detail, retryable=True)
    return StreamedReply(
        text="".join(parts),
        finish_reason=finish_reason,
        input_tokens=_count(usage, "prompt_tokens"),
        output_tokens=_count(usage, "completion_tokens"),
        chunks=chunks,
    )


def _count(usage: Any, name: str) -> int | None:
    value = getattr(usage, name, None)
    return int(value) if isinstance(value, int) else None


def _close(stream: Any) -> None:
    """Drop the connection of a stream given up on (best effort: LiteLLM's wrapper closes nothing itself)."""
    close = getattr(getattr(stream, "completion_stream", None), "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


_NOT_AN_API = "(is api_base an OpenAI-compatible API?)"


def unstreamed_reply(stream: Any, model: str, where: str) -> StreamedReply | None:
    """The reply of a server that answered a streaming request with something other than events, or None.

    LiteLLM reads such a body as an empty stream (or fails on a codec), which would pass for a model that said
    nothing. A server that ignores ``stream`` and sends one chat completion is answered from it; any other body is
    a wrong api_base, said so without LiteLLM's internals.
    """
    response = getattr(getattr(stream, "completion_stream", None), "response", None)
    headers = getattr(response, "headers", None)
    if response is None or headers is None or "text/event-stream" in str(headers.get("content-type", "")):
        return None
    status = getattr(response, "status_code", 200)
    try:
        document = json.loads(response.read())
    except (ValueError, UnicodeDecodeError):
        detail = f"the server at {where} answered HTTP {status} with a body that is not JSON {_NOT_AN_API}"
        raise ModelError(model, "invalid answer", detail, retryable=False) from None
    finally:
        _close(stream)
    reply = _completion_reply(document)
    if reply is None:
        detail = f"the server at {where} answered HTTP {status} with JSON that is not a chat completion {_NOT_AN_API}"
        raise ModelError(model, "invalid answer", detail, retryable=False)
    return reply


def _completion_reply(document: Any) -> StreamedReply | None:
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str):
        return None
    usage = document.get("usage") if isinstance(document.get("usage"), dict) else {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    finish = choices[0].get("finish_reason")
    return StreamedReply(
        text=text,
        finish_reason=finish if isinstance(finish, str) else None,
        input_tokens=prompt if isinstance(prompt, int) else 0,
        output_tokens=completion if isinstance(completion, int) else 0,
    )
