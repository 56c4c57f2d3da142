"""`autodev conversations list|show|rm`: the conversations `ask` and `chat` keep (autodev/ask/conversation.py).

They live in the project's ``.autodev/conversations/``, or in the user's data directory when autodev was started
outside a project, exactly where `ask` would write them. Reading them imports no model code: listing is instant.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import click

from autodev.ask.conversation import ConversationStore, Turn, shorten
from autodev.ask.place import ask_paths
from autodev.cli.options import GlobalOptions
from autodev.errors import UsageError

_PROMPT_COLUMN = 82  # the width of the columns before the first prompt, spaces included
_NARROWEST_PROMPT = 20
_RULE = "──"


@click.group()
def conversations() -> None:
    """The conversations of `autodev ask` and `autodev chat`: list, show, rm."""


@conversations.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list: one object per conversation.")
@click.pass_obj
def list_conversations(options: GlobalOptions, as_json: bool) -> None:
    """Every conversation, the most recently updated first: id, updated, turns, model, cost, first prompt."""
    store = _store(options)
    summaries = store.summaries()
    if as_json:
        click.echo(json.dumps([summary.model_dump(mode="json") for summary in summaries], indent=2))
        return
    if not summaries:
        click.echo(f"no conversations in {store.directory}")
        return
    width = _prompt_width()
    for summary in summaries:
        prompt = summary.first_prompt if width is None else shorten(summary.first_prompt, width)
        click.echo(
            f"{summary.id:20}  {_when(summary.updated_at):16}  {summary.turns:>3} turns  "
            f"{shorten(summary.model or 'default', 24):24}  ${summary.cost_usd:<7.4f}  {prompt}".rstrip()
        )


@conversations.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the id, the turns and the files.")
@click.pass_obj
def show(options: GlobalOptions, ref: str, as_json: bool) -> None:
    """One conversation's transcript; REF is its id or the start of it."""
    conversation = _store(options).load(ref)
    if as_json:
        click.echo(json.dumps(conversation.model_dump(mode="json"), indent=2))
        return
    click.echo(f"conversation {conversation.id}, started {_when(conversation.started_at)}")
    if conversation.files:
        click.echo(f"files: {', '.join(conversation.files)}")
    for turn in conversation.turns:
        click.echo("")
        click.echo(_header(turn))
        click.echo(turn.content.rstrip("\n"))
    click.echo("")
    totals = f"{conversation.total_tokens} tokens, ${conversation.total_cost_usd:.4f}"
    click.echo(f"{len(conversation.turns)} turns, {totals}")


@conversations.command("rm")
@click.argument("refs", nargs=-1, metavar="REF...")
@click.option("--all", "remove_all", is_flag=True, help="Remove every conversation.")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"removed": [ids]}.')
@click.pass_obj
def remove(options: GlobalOptions, refs: tuple[str, ...], remove_all: bool, as_json: bool) -> None:
    """Delete conversations by id (or the start of it), or --all of them; every REF is checked before any goes."""
    if remove_all == bool(refs):
        raise UsageError("give the conversations to remove (REF...) or --all, not both")
    store = _store(options)
    ids = [summary.id for summary in store.summaries()] if remove_all else [store.resolve(ref) for ref in refs]
    removed = [store.remove(conversation_id) for conversation_id in dict.fromkeys(ids)]
    if as_json:
        click.echo(json.dumps({"removed": removed}, indent=2))
        return
    for conversation_id in removed:
        click.echo(f"removed {conversation_id}")
    if not removed:
        click.echo(f"no conversations in {store.directory}")


def _store(options: GlobalOptions) -> ConversationStore:
    """The store `ask` writes to from the same start directory."""
    return ConversationStore(ask_paths(options.start, os.environ).conversations_dir)


def _header(turn: Turn) -> str:
    """``── you · 2026-12-03 04:16`` for a question, ``── MODEL · 412 tokens · $0.0012`` for an answer."""
    if turn.role == "user":
        return f"{_RULE} you · {_when(turn.at)}"
    tokens = turn.input_tokens + turn.output_tokens
    spent = "from the cache" if turn.cached else f"{tokens} tokens · ${turn.cost_usd:.4f}"
    return f"{_RULE} {turn.model or 'assistant'} · {spent}"


def _when(iso: str) -> str:
    """An ISO 8601 time to the minute, as people read it: ``2026-12-03 04:16`` (UTC, as recorded)."""
    return iso[:16].replace("T", " ")


def _prompt_width() -> int | None:
    """On a terminal, what is left of its width after the other columns; elsewhere no limit (scripts, pipes)."""
    if not sys.stdout.isatty():
        return None
    return max(shutil.get_terminal_size().columns - 1 - _PROMPT_COLUMN, _NARROWEST_PROMPT)
