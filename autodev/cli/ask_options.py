"""The options `autodev ask` and `autodev chat` share: which model answers, in which conversation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--model", "-m", "model_name", help="Any LiteLLM model, [llm.models] name, local/... or Ollama name."),
    click.option("--tier", help="Ask the models of this [llm.tiers] tier (default: the cheapest tier)."),
    click.option("--system", help="Extra instructions for the model."),
    click.option("--continue", "-c", "continue_", is_flag=True, help="Continue the last conversation."),
    click.option("--conversation", "conversation_ref", metavar="ID", help="Continue conversation ID."),
    click.option("--no-cache", is_flag=True, help="Ask the model afresh: no response cache read or written."),
)


def conversation_options(command: F) -> F:
    """--model, --tier, --system, --continue, --conversation and --no-cache, in the order --help lists them."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def check_model_choice(flags: dict[str, Any]) -> None:
    """--model and --tier both choose who answers: one of them, or neither."""
    if flags["model_name"] and flags["tier"]:
        raise click.UsageError("--model and --tier choose the same thing: give one")
