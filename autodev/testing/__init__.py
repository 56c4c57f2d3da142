"""Test doubles for autodev's model calls and test runs, shipped with the package for its tests and demos.

ScriptedServer is an OpenAI-compatible server LiteLLM talks to over HTTP; FunctionClient and FunctionTestRunner
stand in, in process, for the ChatClient and the TestRunner when only the engine's decisions are under test.
Imports only the standard library, pydantic and autodev modules that load LiteLLM lazily, so tests and
``make demo`` can use it without loading LiteLLM.
"""

from __future__ import annotations

from autodev.testing.chat import ChatCall, ChatFunction, FunctionClient, Reply, ReplyScript, completion_for
from autodev.testing.runner import FunctionTestRunner, Outcomes, RunnerCall, RunnerFunction, run_from_outcomes
from autodev.testing.server import (
    RecordedRequest,
    Responder,
    ScriptedReply,
    ScriptedServer,
)

__all__ = [
    "ChatCall",
    "ChatFunction",
    "FunctionClient",
    "FunctionTestRunner",
    "Outcomes",
    "RecordedRequest",
    "Reply",
    "ReplyScript",
    "Responder",
    "RunnerCall",
    "RunnerFunction",
    "ScriptedReply",
    "ScriptedServer",
    "completion_for",
    "run_from_outcomes",
]
