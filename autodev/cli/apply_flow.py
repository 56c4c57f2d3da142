"""Applying an answer from the command line (`ask --apply`, chat's `/apply`): check, show, confirm, apply, say.

The decisions are ``autodev.ask.changes``'s; this module only talks to the person: the diff and the question
on a terminal (read from /dev/tty when stdin is a pipe, as in ``git diff | autodev ask ... --apply``), and one
line saying what became of the change.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from autodev.ask.changes import Applied, apply_changes, diff_text, project_test_command, propose, refuse_uncommitted
from autodev.logs import colours_wanted
from autodev.vcs.trailers import CONVERSATION_TRAILER, MODEL_TRAILER

if TYPE_CHECKING:
    from autodev.ask.session import Answer
    from autodev.config import Config
    from autodev.project import ProjectPaths


@dataclass(frozen=True)
class ApplyChoices:
    """--force, not --yes (and a terminal to ask on), not --no-commit, --test."""

    force: bool = False
    confirm: bool = True
    commit: bool = True
    test: bool = False


def apply_answer(
    paths: ProjectPaths, config: Config, files: Sequence[str], answer: Answer, question: str, choices: ApplyChoices
) -> Applied:
    """The answer's edits applied as chosen; a refused or declined change leaves every file as it was."""
    proposal = propose(paths.root, answer.text, files)
    if not proposal.changes:
        click.echo("nothing to apply: the answer's files are already as it says", err=True)
        return Applied(files=(), kept=False, commit=None, reason="the answer changes nothing")
    refuse_uncommitted(paths.root, list(proposal.changes), paths.ask_written_file, force=choices.force)
    if choices.confirm and terminal_available():
        click.echo(diff_text(paths.root, proposal.changes, color=colours_wanted(sys.stderr)), err=True)
        if not confirm(f"Apply these changes to {named(proposal.changes)}?"):
            click.echo("not applied: nothing was changed", err=True)
            return Applied(files=tuple(proposal.changes), kept=False, commit=None, reason="declined",
                           tests_before=None, tests_after=None)  # fmt: skip
    tests = project_test_command(config, paths) if choices.test else None
    applied = apply_changes(
        paths,
        proposal.changes,
        message=f"autodev ask: {_subject(question)}",
        trailers={MODEL_TRAILER: answer.model, CONVERSATION_TRAILER: answer.conversation},
        commit=choices.commit,
        tests=tests,
        run_hooks=config.vcs.run_hooks,
    )
    click.echo(applied_line(applied), err=True)
    return applied


def applied_line(applied: Applied) -> str:
    tests = f" (tests: {applied.tests_before} -> {applied.tests_after})" if applied.tests_after else ""
    if not applied.kept:
        return f"rolled back {named(applied.files)}: {applied.reason}{tests}"
    where = f"committed {applied.commit[:8]}" if applied.commit else applied.reason
    return f"applied {named(applied.files)}: {where}{tests}"


def named(paths: Sequence[str] | dict[str, str]) -> str:
    names = list(paths)
    return ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:3])} and {len(names) - 3} more"


def _subject(question: str) -> str:
    line = question.strip().splitlines()[0] if question.strip() else "answer applied"
    return line if len(line) <= 60 else line[:57] + "..."


def terminal_available() -> bool:
    return sys.stderr.isatty() and (sys.stdin.isatty() or Path("/dev/tty").exists())


def confirm(question: str) -> bool:
    """Ask on the terminal even when stdin is a pipe; no terminal to ask on is a no."""
    if sys.stdin.isatty():
        return click.confirm(question, default=False, err=True)
    try:
        with Path("/dev/tty").open("r+", encoding="utf-8") as tty:
            tty.write(f"{question} [y/N]: ")
            tty.flush()
            return tty.readline().strip().lower() in ("y", "yes")
    except OSError:
        return False
