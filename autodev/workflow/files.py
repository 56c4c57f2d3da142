"""A ``files`` or ``files+tests`` step's answer written to the project, as `autodev ask --apply` writes one.

The answer's blocks are read and confined by the engine's own parts (``autodev.ask.changes``); the user's
uncommitted work in those files is refused unless the run was started with ``--force``; the write goes through
the journal and is committed with the model and the run as trailers (so `autodev undo` reverts it). A
``files+tests`` step is tested in the project's disposable copy first and written only when the tests did not get
worse: otherwise every file stays as it was and the step has failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autodev.ask.changes import apply_changes, project_test_command, propose, refuse_uncommitted
from autodev.config import Config
from autodev.errors import EditRejectedError, UnsafeWorkspaceError, WorkspaceWriteError
from autodev.project import ProjectPaths
from autodev.vcs.trailers import MODEL_TRAILER, WORKFLOW_RUN_TRAILER


@dataclass(frozen=True)
class FilesOptions:
    """How a run writes files: commit them (else leave them uncommitted), and write over uncommitted work."""

    commit: bool = True
    force: bool = False


@dataclass(frozen=True)
class FilesOutcome:
    kept: bool
    files: tuple[str, ...]
    commit: str | None
    reason: str


def write_answer_files(
    paths: ProjectPaths,
    config: Config,
    answer: str,
    *,
    targets: Sequence[str],
    tested: bool,
    subject: str,
    trailers: tuple[str, str],
    options: FilesOptions,
) -> FilesOutcome:
    """The answer's files written (or not, and why); ``targets`` are the files the prompt showed."""
    try:
        proposal = propose(paths.root, answer, targets)
    except EditRejectedError as error:
        return FilesOutcome(kept=False, files=(), commit=None, reason=str(error))
    if not proposal.changes:
        return FilesOutcome(kept=True, files=(), commit=None, reason="nothing to change: the files already hold this")
    model, run_id = trailers
    try:
        refuse_uncommitted(paths.root, list(proposal.changes), paths.ask_written_file, force=options.force)
        applied = apply_changes(
            paths,
            proposal.changes,
            message=subject,
            trailers={MODEL_TRAILER: model, WORKFLOW_RUN_TRAILER: run_id},
            commit=options.commit,
            tests=project_test_command(config, paths) if tested else None,
            run_hooks=config.vcs.run_hooks,
        )
    except (UnsafeWorkspaceError, WorkspaceWriteError) as error:  # nothing was written: said, for the user to fix
        return FilesOutcome(kept=False, files=tuple(proposal.changes), commit=None, reason=str(error))
    counts = f" (tests: {applied.tests_before} -> {applied.tests_after})" if applied.tests_after else ""
    return FilesOutcome(kept=applied.kept, files=applied.files, commit=applied.commit, reason=applied.reason + counts)
