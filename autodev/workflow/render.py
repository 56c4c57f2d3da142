"""A step's prompt with its placeholders filled in: the input, files, the working tree's diff, requirements from
the spec, the outputs of earlier steps.

Everything is read when the step runs, so a step sees the files as the steps before it left them. A placeholder
that cannot be filled (a missing file, an empty diff, an unknown requirement) is a WorkflowError naming the
workflow, the step and the placeholder, before any model is asked for that step.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autodev.ask.prompt import file_text
from autodev.errors import SpecError, WorkflowError
from autodev.project import STATE_DIR_NAME
from autodev.spec.parser import load_specs
from autodev.synth.context import fence, language_of
from autodev.synth.diff import unified_diff
from autodev.vcs.git import run_git, split_nul, stderr_of
from autodev.workflow_model import Placeholder, scan

DRY_RUN_OUTPUT = "<the output of step {name}>"


@dataclass
class Sources:
    """What placeholders stand for in one run; ``outputs`` grows as steps finish."""

    root: Path
    input: str
    spec_paths: Sequence[str]
    outputs: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False  # earlier outputs do not exist yet: a marker stands in for each


@dataclass(frozen=True)
class Rendered:
    """The prompt to send, and the project files it shows (the paths a ``files`` step may answer with)."""

    text: str
    files: tuple[str, ...]


def render(template: str, sources: Sources, *, where: str) -> Rendered:
    """``template`` filled in from ``sources``; ``where`` ("workflow review, step review") starts every error."""
    parts: list[str] = []
    files: list[str] = []
    for piece in scan(template):
        if isinstance(piece, str):
            parts.append(piece)
            continue
        try:
            parts.append(_fill(piece, sources, files))
        except WorkflowError as error:
            raise WorkflowError(f"{where}: {{{piece.kind}{_separator(piece)}{piece.arg}}}: {error}") from None
    return Rendered(text="".join(parts), files=tuple(dict.fromkeys(files)))


def _separator(piece: Placeholder) -> str:
    return "." if piece.kind == "step" else ":" if piece.arg else ""


def _fill(piece: Placeholder, sources: Sources, files: list[str]) -> str:
    fillers: dict[str, Callable[[], str]] = {
        "input": lambda: sources.input,
        "diff": lambda: working_tree_diff(sources.root),
        "step": lambda: _output(sources, piece.arg),
        "spec": lambda: _requirement(sources, piece.arg),
        "file": lambda: _file(sources, sources.input.strip() if piece.arg == "{input}" else piece.arg, files),
    }
    return fillers[piece.kind]()


def _output(sources: Sources, name: str) -> str:
    if sources.dry_run:
        return DRY_RUN_OUTPUT.format(name=name)
    return sources.outputs[name]  # the workflow's own check makes sure the step ran before


def _file(sources: Sources, path: str, files: list[str]) -> str:
    """The file's path on a line, then its text in a fenced block, as autodev's own prompts show a file."""
    if not path:
        raise WorkflowError("no file named: give the path as the input (--input PATH)")
    full = sources.root / path
    try:
        text = file_text(full)
    except FileNotFoundError:
        raise WorkflowError(f"{path}: no such file") from None
    except ValueError as error:
        raise WorkflowError(f"{path}: {error}") from None
    relative = _inside(sources.root, full)
    if relative is not None:
        files.append(relative)
    return f"{relative or path}\n{fence(text, language_of(path))}"


def _inside(root: Path, full: Path) -> str | None:
    try:
        return full.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _requirement(sources: Sources, requirement_id: str) -> str:
    try:
        requirements = load_specs(sources.root, sources.spec_paths).requirements
    except SpecError as error:
        raise WorkflowError(f"the spec cannot be read: {error}") from None
    by_id = {requirement.id: requirement for requirement in requirements}
    if requirement_id in by_id:
        return by_id[requirement_id].text.strip()
    close = difflib.get_close_matches(requirement_id, list(by_id), n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]}?" if close else ""
    raise WorkflowError(f"no requirement {requirement_id} in the spec{guess} (`autodev spec` lists them)")


def working_tree_diff(root: Path) -> str:
    """The working tree against the last commit, staged or not, and each new file that git does not ignore.

    Empty is an error: a review of nothing would make a model invent findings.
    """
    head = run_git(root, ["rev-parse", "--verify", "--quiet", "HEAD"])
    if head.returncode not in (0, 1):
        raise WorkflowError("needs a git repository (git init, then commit what the diff should be against)")
    against = ["HEAD"] if head.returncode == 0 else ["--cached"]
    tracked = run_git(root, ["diff", "--no-color", "--no-ext-diff", *against, "--", "."])
    untracked = run_git(root, ["ls-files", "--others", "--exclude-standard", "-z", "--", "."])
    for done in (tracked, untracked):
        if done.returncode != 0:
            raise WorkflowError(f"git cannot show the diff: {stderr_of(done)}")
    new = [name for name in split_nul(untracked.stdout) if not name.startswith(f"{STATE_DIR_NAME}/")]  # autodev's
    text = tracked.stdout.decode("utf-8", "replace") + "".join(_new_file_diff(root, name) for name in new)
    if not text.strip():
        raise WorkflowError("the working tree has no changes against the last commit: nothing to show")
    return text.rstrip("\n")


def _new_file_diff(root: Path, name: str) -> str:
    try:
        text = (root / name).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return f"new file {name} (binary or unreadable, not shown)\n"
    return f"diff --git a/{name} b/{name}\nnew file\n{unified_diff({name: text}, {})}"
