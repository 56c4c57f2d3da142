"""A step that asks several models the same prompt and makes one answer of theirs: by vote, by the tests, or by a
merge that a model writes given all of them and where they disagree.

- ``vote`` (answers of a fixed format: a verdict, a label, a number): answers equal up to case and whitespace
  count as one; the most common wins, a tie going to the one first asked.
- ``best-by-tests`` (code): each answer's files are tested in the project's disposable copy; the one passing the
  most tests wins (ties: the smaller change, then the one first asked). An answer without files, or one that makes
  the tests worse, can still win only when every other is worse.
- ``merge``: one more call, given every answer and the lines where each differs from the first.

Every choice comes with its reason in words, for the run's record and the console.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from autodev.ask.changes import Proposal, project_test_command, propose, tested_in_copy
from autodev.config import Config
from autodev.core.consensus import changed_lines
from autodev.errors import EditRejectedError
from autodev.passlock import pass_lock
from autodev.project import ProjectPaths
from autodev.verify.compare import counts, got_worse

MAX_DIFF_LINES = 80  # per answer, in a merge prompt: the disagreements, not a second copy of every answer


@dataclass(frozen=True)
class Pick:
    """The answer chosen (its index among the answers given), why, and per answer what the tests said."""

    index: int
    reason: str
    tests: tuple[str, ...] = ()


def vote(models: Sequence[str], texts: Sequence[str]) -> Pick:
    keys = [_normal(text) for text in texts]
    tally = Counter(keys)
    best = max(tally.values())
    index = next(i for i, key in enumerate(keys) if tally[key] == best)
    agreeing = [model for model, key in zip(models, keys, strict=True) if key == keys[index]]
    if best == 1:
        return Pick(index, f"vote: all {len(texts)} answers differ; the first, {models[index]}'s, is kept")
    return Pick(index, f"vote: {best} of {len(texts)} answers agree ({', '.join(agreeing)})")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def merge_prompt(prompt: str, models: Sequence[str], texts: Sequence[str]) -> str:
    """The request, every answer under its model's name, then where each answer differs from the first."""
    parts = [f"This request was sent to {len(texts)} models:\n\n{prompt}"]
    parts.extend(f"The answer of {model}:\n\n{text}" for model, text in zip(models, texts, strict=True))
    parts.append("Where they disagree (each against the first answer):\n\n" + disagreements(models, texts))
    parts.append(
        "Write one answer to the request that keeps what is right in each answer and settles each disagreement; "
        "say in one line per disagreement which way you settled it and why, then give the answer in full."
    )
    return "\n\n".join(parts)


def disagreements(models: Sequence[str], texts: Sequence[str]) -> str:
    sections: list[str] = []
    first = texts[0].splitlines()
    for model, text in zip(models[1:], texts[1:], strict=True):
        lines = list(difflib.unified_diff(first, text.splitlines(), models[0], model, lineterm="", n=1))
        if not lines:
            sections.append(f"{model} agrees with {models[0]} word for word.")
            continue
        shown = lines[:MAX_DIFF_LINES]
        more = f"\n({len(lines) - MAX_DIFF_LINES} more lines of difference)" if len(lines) > MAX_DIFF_LINES else ""
        sections.append("\n".join(shown) + more)
    return "\n\n".join(sections)


def best_by_tests(
    paths: ProjectPaths, config: Config, models: Sequence[str], texts: Sequence[str], targets: Sequence[str]
) -> Pick:
    """Each answer's files tested in the project's copy (never in the user's tree); the best one chosen.

    Under the project's pass lock, as `ask --apply --test`: the loop's passes use the same copy.
    """
    with pass_lock(paths.state_dir, doing="workflow best-by-tests"):
        return _best_by_tests(paths, config, models, texts, targets)


def _best_by_tests(
    paths: ProjectPaths, config: Config, models: Sequence[str], texts: Sequence[str], targets: Sequence[str]
) -> Pick:
    proposals = [_proposal(paths, text, targets) for text in texts]
    testable = [proposal for proposal in proposals if proposal is not None and proposal.changes]
    before, after = tested_in_copy(paths, [p.changes for p in testable], project_test_command(config, paths))
    runs = iter(after)  # in the order of the testable proposals
    scored: list[tuple[int, int, int]] = []  # (worse, -passed, changed lines) per answer: the smallest wins
    said: list[str] = []
    for proposal in proposals:
        if proposal is None or not proposal.changes:
            scored.append((2, 0, 0))
            said.append("no file to write" if proposal is None else "changes nothing")
            continue
        run = next(runs)
        worse = got_worse(before, run)
        current = {rel: _current(paths, rel) for rel in proposal.changes}
        scored.append((1 if worse else 0, -len(run.passed_ids), changed_lines(current, proposal.changes)))
        said.append(counts(run) + (f" ({worse})" if worse else ""))
    index = min(range(len(texts)), key=lambda i: (scored[i], i))
    others = "; ".join(
        f"{model}: {words}" for i, (model, words) in enumerate(zip(models, said, strict=True)) if i != index
    )
    reason = f"best-by-tests: {models[index]}'s answer ({said[index]}); {others}"
    return Pick(index, reason, tuple(said))


def _proposal(paths: ProjectPaths, text: str, targets: Sequence[str]) -> Proposal | None:
    try:
        return propose(paths.root, text, targets)
    except EditRejectedError:
        return None


def _current(paths: ProjectPaths, rel: str) -> str | None:
    path = paths.root / rel
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
