"""The prompt of a merge attempt: two red candidates that pass different tests, and one file asked for.

Built as the first prompt is (synth/context.py): the tests, the spec, then each candidate's files labelled with
what it passes and fails, and last the instruction, so that what a small model most likely copies (the last block)
is code, and what it follows (the last sentence) is the task.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from autodev.spec.model import Requirement
from autodev.synth.context import (
    EXPLAIN_FIRST,
    Message,
    SourceFile,
    fence,
    language_of,
    system_prompt,
)

_NAMES_SHOWN = 8


class MergeCandidate(BaseModel):
    """One candidate shown in a merge prompt: its label (A, B), the tests it passes and fails, its files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    passes: list[str]
    fails: list[str]
    files: list[SourceFile]


def merge_messages(
    requirement: Requirement,
    tests: Sequence[SourceFile],
    targets: Sequence[SourceFile],
    candidates: Sequence[MergeCandidate],
    *,
    memory: str = "",
) -> list[Message]:
    """The chat for one merge attempt (see the module docstring)."""
    system = system_prompt(targets) + (f"\n\n{memory}" if memory else "")
    parts = [f"The tests in {t.path}, already written:\n{fence(t.content or '', language_of(t.path))}" for t in tests]
    parts.append(f"{requirement.source}:\n{requirement.text}")
    parts.extend(_describe(candidate) for candidate in candidates)
    parts.append(_instruction(targets, candidates))
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]


def _describe(candidate: MergeCandidate) -> str:
    files = "\n".join(f"{f.path}\n{fence(f.content or '', language_of(f.path))}" for f in candidate.files)
    return f"Candidate {candidate.label} passes {_names(candidate.passes)}, fails {_names(candidate.fails)}:\n{files}"


def _names(test_ids: Sequence[str]) -> str:
    """Test names without their file, the first few; ``none`` for an empty list."""
    names = [test_id.rsplit("::", 1)[-1] for test_id in sorted(test_ids)]
    if not names:
        return "none"
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown if len(names) <= _NAMES_SHOWN else f"{shown} and {len(names) - _NAMES_SHOWN} more"


def _instruction(targets: Sequence[SourceFile], candidates: Sequence[MergeCandidate]) -> str:
    paths = sorted({f.path for c in candidates for f in c.files} | {t.path for t in targets})
    names = " and ".join(paths)
    block = "one fenced code block" if len(paths) == 1 else "a fenced code block for each file"
    labels = " and ".join(c.label for c in candidates)
    return (
        f"Candidates {labels} each pass tests the other fails. Send the whole {names}: the path on one line, then "
        f"the complete file in {block}. {EXPLAIN_FIRST} Combine what each candidate gets right: write {names} so "
        "that all the tests pass."
    )
