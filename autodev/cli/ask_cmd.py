"""`autodev ask`: one question about code, the answer streamed, written to a file or applied to the project.

Parsing and printing only; the conversation, the model call and the changes are ``autodev.ask``'s. Exit codes:
0 answered (and applied, when asked), 1 not done (the model failed, nothing to apply, the change declined or
rolled back), 2 usage.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from autodev.cli.ask_options import answer_options, check_answer_flags
from autodev.cli.options import GlobalOptions

if TYPE_CHECKING:
    from autodev.ask.changes import Applied
    from autodev.ask.session import Answer, AskSession
    from autodev.config import Config
    from autodev.project import ProjectPaths


@click.command()
@click.argument("prompt", nargs=-1)
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Send FILE with the question (repeatable).")
@answer_options
@click.pass_context
def ask(ctx: click.Context, /, prompt: tuple[str, ...], files: tuple[str, ...], **flags: Any) -> None:
    """Ask a model about code: files and piped input are context; the answer streams as it arrives.

    \b
    autodev ask -f broken.py "Fix this code" --output fixed.py
    git diff | autodev ask "review this"
    autodev ask -f app.py "add a --verbose flag" --apply --test
    """
    options: GlobalOptions = ctx.obj
    check_answer_flags(flags)
    stdin_text = read_stdin()
    question = " ".join(prompt).strip() or (stdin_text or "").strip()
    if not question:
        raise click.UsageError('no question: autodev ask "QUESTION" (or pipe one in)')
    if not prompt:
        stdin_text = None  # the piped text is the question itself
    paths, config = prepare_place(options, no_cache=flags["no_cache"])
    session_files = [relative_to_root(paths.root, options.start, name) for name in files]
    ask_question(ctx, paths, config, Question(text=question, stdin_text=stdin_text, files=session_files), flags)


@dataclass(frozen=True)
class Question:
    """One question as the command line gathered it: its words, what was piped in, the files sent with it."""

    text: str
    stdin_text: str | None
    files: list[str]  # as the conversation keeps them (relative_to_root)


def ask_question(
    ctx: click.Context, paths: ProjectPaths, config: Config, question: Question, flags: dict[str, Any]
) -> None:
    """The one way a question is asked from the command line (`ask`, `cmd`): answered, written, applied, reported.

    Exits 1 when an --apply was not kept, else 0.
    """
    with open_session(paths, config, flags) as session:
        session.add_files(question.files)
        answer = show_answer(session, question.text, question.stdin_text, quiet=flags["as_json"])
        written = _write_output(_under(ctx.obj.start, flags["output"]), answer)
        applied = _apply(paths, config, session, answer, question.text, flags) if flags["apply_"] else None
    if flags["as_json"]:
        click.echo(json.dumps(_payload(answer, written, applied), indent=2))
    ctx.exit(1 if applied is not None and not applied.kept else 0)


def read_stdin() -> str | None:
    """Piped standard input (``git diff | autodev ask ...``); None on a terminal."""
    stream = sys.stdin
    if stream is None or stream.isatty():
        return None
    text = stream.read()
    return text or None


def prepare_place(options: GlobalOptions, *, no_cache: bool) -> tuple[ProjectPaths, Config]:
    from autodev.ask.place import ask_paths, in_project, keep_state_out_of_git
    from autodev.logs import configure_logging

    paths = ask_paths(options.start, os.environ)
    config = options.config(paths.root if in_project(paths) else None)  # outside a project: user config, defaults
    if no_cache:
        config = config.without_response_cache()
    paths.ensure_state_dirs()
    keep_state_out_of_git(paths)
    level = "debug" if options.console_level == "debug" else "warning"
    configure_logging(log_file=paths.log_file, console_level=level, json_console=options.log_json,
                      human=level != "debug")  # fmt: skip
    return paths, config


def relative_to_root(root: Path, start: Path, name: str) -> str:
    """A -f path as the conversation keeps it: relative to the root when inside it, else absolute."""
    full = (start / name).resolve()
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(full)


@contextlib.contextmanager
def open_session(paths: ProjectPaths, config: Config, flags: dict[str, Any]) -> Iterator[AskSession]:
    """The conversation asked for (new, last, or by id) with the model chosen; local models served meanwhile."""
    from autodev.ask.conversation import ConversationStore
    from autodev.ask.session import AskSession
    from autodev.errors import UsageError
    from autodev.local.serving import model_client

    store = ConversationStore(paths.conversations_dir)
    if flags["continue_"]:
        conversation = store.last()
        if conversation is None:
            raise UsageError("--continue: there is no conversation yet; ask without it to start one")
    elif flags["conversation_ref"]:
        conversation = store.load(flags["conversation_ref"])
    else:
        conversation = store.start()
    with model_client(config, os.environ) as client:
        session = AskSession(paths, config, client, os.environ, store, conversation, system=flags["system"])
        if flags["model_name"] or flags["tier"]:
            session.choose(model=flags["model_name"], tier=flags["tier"])
        yield session


def show_answer(session: AskSession, question: str, stdin_text: str | None, *, quiet: bool = False) -> Answer:
    """Ask, printing the answer as it streams in; ``quiet`` (--json): stdout is for one JSON object only."""
    from autodev.cli.answer_view import AnswerView
    from autodev.progress import listening

    view = AnswerView(out=io.StringIO(), notes=False) if quiet else AnswerView()
    with listening(view):
        answer = session.ask(question, stdin_text=stdin_text)
    view.finish(answer.text)
    if answer.dropped:
        view.note(
            f"note: {answer.dropped} earlier message(s) were left out to fit {answer.model}'s context window "
            f"(~{answer.window:,} tokens); a summary of them was sent instead"
        )
    view.note(_summary(answer))
    return answer


def _summary(answer: Answer) -> str:
    if answer.cached:
        return f"— {answer.model} · from the cache (--no-cache asks afresh) · conversation {answer.conversation}"
    tokens = answer.input_tokens + answer.output_tokens
    return (
        f"— {answer.model} · {tokens:,} tokens · ${answer.cost_usd:.4f} · {answer.duration_s:.1f} s"
        f" · conversation {answer.conversation}"
    )


def _under(start: Path, path: Path | None) -> Path | None:
    """A relative --output is relative to where autodev was started (``-C DIR``), like every other path."""
    return None if path is None else start / path


def _write_output(path: Path | None, answer: Answer) -> str | None:
    if path is None:
        return None
    from autodev.ask.output import output_text, write_output

    content = output_text(answer.text)
    write_output(path, content)
    click.echo(f"wrote {path}: {content.what}", err=True)
    return content.what


def _apply(
    paths: ProjectPaths, config: Config, session: AskSession, answer: Answer, question: str, flags: dict[str, Any]
) -> Applied:
    from autodev.cli.apply_flow import ApplyChoices, apply_answer

    choices = ApplyChoices(force=flags["force"], confirm=not flags["yes"] and not flags["as_json"],
                           commit=not flags["no_commit"], test=flags["test_"])  # fmt: skip
    return apply_answer(paths, config, session.conversation.files, answer, question, choices)


def _payload(answer: Answer, written: str | None, applied: Applied | None) -> dict[str, Any]:
    payload: dict[str, Any] = answer.model_dump(mode="json")
    payload["answer"] = payload.pop("text")
    payload["output"] = written
    payload["applied"] = applied.model_dump(mode="json") if applied is not None else None
    payload["exit_code"] = 1 if applied is not None and not applied.kept else 0
    return payload
