"""A model's reply as a candidate change: parsed, checked, and tested without touching the user's tree.

Several samples of one tier are tested side by side, each in its own scratch copy of the project, so that the
user's working tree only ever receives a change that already made the tests pass somewhere.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autodev.errors import EditRejectedError, WorkspaceWriteError
from autodev.logs import get_logger
from autodev.synth.apply import apply_edits
from autodev.synth.context import SourceFile
from autodev.synth.edit import FileEdit
from autodev.synth.guard import check_writable, confine, is_test_path
from autodev.synth.reply import parse_reply
from autodev.synth.strip_tests import without_test_code
from autodev.verify.copy import ProjectCopy
from autodev.verify.runner import TestRun

TestCommand = Callable[[Path], TestRun]


def read_text(path: Path) -> str | None:
    """A file's text, None when it does not exist; a binary file cannot be edited."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise EditRejectedError(f"{path.name} is not UTF-8 text; autodev cannot edit it") from exc


def reply_changes(
    root: Path,
    reply: str,
    *,
    targets: Sequence[str],
    tests: Sequence[SourceFile],
    protected: Collection[str],
) -> dict[str, str]:
    """The reply as new file contents, every path checked, or EditRejectedError with a reason for the model.

    Small models often send a test file back, edited or under another path (``test/x_test.py``), next to the
    code: the test edit is dropped and the code is tried, rather than wasting a whole attempt. A reply with only
    test edits, or any other refused path (outside the project, .git), is rejected as a whole.
    """
    edits = [edit for edit in parse_reply(reply, targets) if not _is_echo(root, edit, tests)]
    kept: list[FileEdit] = []
    refused: list[EditRejectedError] = []
    for edit in edits:
        try:
            check_writable(root, edit.path, protected=protected)
        except EditRejectedError as error:
            if not is_test_path(edit.path):
                raise
            refused.append(error)
            continue
        kept.append(edit)
    if refused and not kept:
        raise refused[0]
    if refused:
        get_logger().info("test edits in the reply dropped", reasons=[str(error) for error in refused])
    edits = kept
    changes = _without_pasted_tests(apply_edits(edits, lambda path: read_text(root / path)))
    changes = {path: text for path, text in changes.items() if text != read_text(root / path)}
    if not changes:
        raise EditRejectedError("Your reply changed nothing; the tests still fail. Send the corrected files.")
    return changes


def _without_pasted_tests(changes: dict[str, str]) -> dict[str, str]:
    """Python code files with the test classes and functions a model pasted into them removed (synth/strip_tests.py)."""
    cleaned: dict[str, str] = {}
    for path, text in changes.items():
        if path.endswith(".py") and not is_test_path(path):
            text, removed = without_test_code(text)
            if removed:
                get_logger().info("test code in the reply dropped", path=path, removed=removed)
        cleaned[path] = text
    return cleaned


def _is_echo(root: Path, edit: FileEdit, tests: Sequence[SourceFile]) -> bool:
    """Small models often repeat a file unchanged, typically a test, sometimes under another path.

    Such a block is no edit at all, so it is dropped instead of failing the whole reply as a test edit.
    """
    if edit.kind != "whole":
        return False
    content = edit.content.rstrip()
    if any(content == (test.content or "").rstrip() for test in tests):
        return True
    try:
        current = read_text(confine(root, edit.path))
    except EditRejectedError:
        return False
    return current is not None and current.rstrip() == content


def try_in_scratch(root: Path, changes: Mapping[str, str], run: TestCommand) -> TestRun:
    """Copy the project (:class:`~autodev.verify.copy.ProjectCopy`, as the pass's own copy is made), apply
    ``changes`` to the copy, run the tests there; the copy is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="autodev-candidate-") as scratch:
        copy = ProjectCopy(root, Path(scratch) / root.name)
        try:
            copy.sync()
            copy.write(changes)
        except ValueError as exc:
            raise EditRejectedError(f"{exc}; autodev will not write it") from exc
        except OSError as exc:
            raise WorkspaceWriteError(
                f"could not copy the project to test a candidate in {scratch}: {exc}; your files are untouched"
            ) from exc
        return run(copy.root)


def try_all_in_scratch(
    root: Path, candidates: Sequence[Mapping[str, str]], run: TestCommand, *, workers: int
) -> list[TestRun]:
    """Test several candidates in parallel, each in its own copy; results in the candidates' order."""
    if not candidates:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(candidates)))) as pool:
        return list(pool.map(lambda changes: try_in_scratch(root, changes, run), candidates))
