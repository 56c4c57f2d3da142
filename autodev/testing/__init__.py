"""Test doubles for autodev's model calls: a scripted OpenAI-compatible server LiteLLM talks to over HTTP.

Imports only the standard library and pydantic, so tests and ``make demo`` can use it without loading LiteLLM.
"""

from __future__ import annotations

from autodev.testing.server import (
    RecordedRequest,
    Responder,
    ScriptedReply,
    ScriptedServer,
)

__all__ = ["RecordedRequest", "Responder", "ScriptedReply", "ScriptedServer"]
