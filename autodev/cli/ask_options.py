"""The options `autodev ask`, `autodev cmd` and `autodev chat` share: which model answers, in which conversation,
and (ask and cmd) what becomes of the answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
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

_ANSWER_OPTIONS = (
    click.option(
        "--output", "-o", type=click.Path(path_type=Path), help="Write the answer (or its one code block) here."
    ),
    click.option("--apply", "apply_", is_flag=True, help="Apply the answer's code blocks with paths to the files."),
    click.option("--test", "test_", is_flag=True, help="With --apply: run the tests, roll back if they get worse."),
    click.option("--force", is_flag=True, help="With --apply: write over files with uncommitted changes."),
    click.option("--yes", "-y", is_flag=True, help="With --apply: do not show the diff and ask first."),
    click.option("--no-commit", is_flag=True, help="With --apply: leave the changes unstaged, no commit."),
)
_JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (answer, model, tokens, cost) instead."
)


def answer_options(command: F) -> F:
    """Every option of one question: --output, --apply and its flags, the conversation's options, --json."""
    for option in reversed((*_ANSWER_OPTIONS, *_OPTIONS, _JSON_OPTION)):
        command = option(command)
    return command


def conversation_options(command: F) -> F:
    """--model, --tier, --system, --continue, --conversation and --no-cache, in the order --help lists them."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def check_model_choice(flags: dict[str, Any]) -> None:
    """--model and --tier both choose who answers: one of them, or neither."""
    if flags["model_name"] and flags["tier"]:
        raise click.UsageError("--model and --tier choose the same thing: give one")


def check_answer_flags(flags: dict[str, Any]) -> None:
    """The combinations `ask` and `cmd` refuse before anything is read or asked."""
    check_model_choice(flags)
    if flags["continue_"] and flags["conversation_ref"]:
        raise click.UsageError("--continue and --conversation both name the conversation: give one")
    if not flags["apply_"]:
        given = [name for name in ("test_", "force", "yes", "no_commit") if flags[name]]
        if given:
            words = ", ".join("--" + name.rstrip("_").replace("_", "-") for name in given)
            raise click.UsageError(f"{words}: only with --apply")
