"""Which of several green candidates is tried in the user's tree: the one the others agree with, else the smallest.

Candidates that all pass the tests can still differ where the tests do not look. With ``[llm.consensus]
probe_inputs`` > 0 and Python targets, each green candidate is run on extra inputs derived from the tests' calls
(:mod:`autodev.verify.probes`), in its own scratch copy through the project's test command, and the candidate
whose outputs agree with the most others wins (MBR-exec, CodeT). Ties go to the smallest change (changed lines
against the current files), then to the earliest. Without probes the smallest change wins.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autodev.core.assignment import Assignment
from autodev.core.candidate import read_text, try_all_in_scratch
from autodev.logs import get_logger
from autodev.verify.probes import derive_probes, probe_modules, probe_outputs
from autodev.verify.runner import TestRun
from autodev.verify.session import disagreement

ONLY_ONE = "only green candidate"


@dataclass(frozen=True)
class Green:
    """A green candidate as the choice sees it: how many lines it changes, and its probe outputs (None: none)."""

    changed_lines: int
    outputs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Choice:
    """The candidate to try (an index into the green ones), why, and why each other green one is not tried."""

    index: int
    reason: str
    others: dict[int, str] = field(default_factory=dict)


def choose(greens: Sequence[Green], *, probes: int = 0, why_no_probes: str = "") -> Choice:
    """Most agreement on the probes, then the smallest change, then the earliest (see the module docstring).

    ``probes``: how many inputs the outputs cover (0: none ran); ``why_no_probes`` is said when none ran.
    """
    if len(greens) == 1:
        return Choice(0, ONLY_ONE)
    probed = probes > 0 and any(g.outputs is not None for g in greens)
    if not probed:
        return _smallest(greens, range(len(greens)), why_no_probes)
    scores = [_agreeing(greens, index) for index in range(len(greens))]
    top = max(scores)
    if top == 0:
        note = f"no two of {len(greens)} green agree on {probes} probes"
        return _smallest(greens, range(len(greens)), note)
    best = [index for index, score in enumerate(scores) if score == top]
    winner = min(best, key=lambda index: (greens[index].changed_lines, index))

    def lines(index: int) -> int:
        return greens[index].changed_lines

    agrees = f"agrees with {top} of {len(greens) - 1} others on {probes} probes"
    reason = agrees if len(best) == 1 else f"{agrees}; smallest change of the {len(best)} that do"
    if len(best) == len(greens):
        reason = f"all {len(greens)} green agree on {probes} probes; smallest change ({lines(winner)} changed lines)"
    others: dict[int, str] = {}
    for index, score in enumerate(scores):
        if index == winner:
            continue
        if score < top:
            others[index] = f"green, not chosen: agrees with {score} of {len(greens) - 1} others on {probes} probes"
        else:
            others[index] = "green, not chosen: " + _larger(greens, index, winner)
    return Choice(winner, reason, others)


def changed_lines(current: Mapping[str, str | None], changes: Mapping[str, str]) -> int:
    """Lines added plus lines removed, over the changed files, against their current text (none: a new file)."""
    total = 0
    for path, text in changes.items():
        before = (current.get(path) or "").splitlines()
        for line in difflib.unified_diff(before, text.splitlines(), lineterm="", n=0):
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                total += 1
    return total


def _agreeing(greens: Sequence[Green], index: int) -> int:
    """How many other candidates gave exactly this candidate's outputs on every probe."""
    mine = greens[index].outputs
    if mine is None:
        return 0
    return sum(1 for other, green in enumerate(greens) if other != index and green.outputs == mine)


def _smallest(greens: Sequence[Green], among: Sequence[int] | range, note: str) -> Choice:
    winner = min(among, key=lambda index: (greens[index].changed_lines, index))
    lines = greens[winner].changed_lines
    reason = f"smallest change of {len(greens)} green ({lines} changed lines)"
    reason = f"{note}; {reason}" if note else reason
    others = {index: "green, not chosen: " + _larger(greens, index, winner) for index in among if index != winner}
    return Choice(winner, reason, others)


def _larger(greens: Sequence[Green], index: int, winner: int) -> str:
    mine, theirs = greens[index].changed_lines, greens[winner].changed_lines
    if mine == theirs:
        return f"a change as small ({mine} changed lines) as an earlier candidate's"
    return f"a larger change ({mine} changed lines against {theirs})"


class Consensus:
    """Chooses among a round's green candidates for one assignment, running the probes where they apply."""

    def __init__(self, assignment: Assignment) -> None:
        self.assignment = assignment
        self.logger = get_logger()

    def choose(self, candidates: Sequence[Mapping[str, str]]) -> Choice:
        """The candidate to try in the user's tree; each probe run happens in a scratch copy of its own."""
        work = self.assignment
        current = {path: read_text(work.root / path) for c in candidates for path in c}
        greens = [Green(changed_lines(current, changes)) for changes in candidates]
        if len(greens) == 1:
            return choose(greens)
        wanted = work.config.llm.consensus.probe_inputs
        if wanted == 0:
            return choose(greens, why_no_probes="probe_inputs = 0")
        if not _python(work.targets, candidates):
            return choose(greens, why_no_probes="no probes for targets that are not Python")
        tests = {t.path: t.content or "" for t in work.tests}
        probes = derive_probes(tests, wanted)
        modules = {path: text for path, text in probe_modules(tests, probes).items() if not (work.root / path).exists()}
        if not probes or not modules:
            return choose(greens, why_no_probes="no tested call to vary")
        runs = try_all_in_scratch(
            work.root,
            [{**changes, **modules} for changes in candidates],
            lambda copy: work.run_tests("probe inputs", copy),
            workers=os.cpu_count() or 1,
        )
        outputs = [None if _untrusted(run) else probe_outputs(run.outcomes, len(probes)) for run in runs]
        self.logger.info("probes run", probes=[p.call for p in probes], candidates=len(candidates))
        probed = [Green(g.changed_lines, out) for g, out in zip(greens, outputs, strict=True)]
        return choose(probed, probes=len(probes), why_no_probes="the probes gave no result")


def _untrusted(run: TestRun) -> bool:
    """A probe run whose report pytest's own record contradicts (verify/session.py) gives no outputs."""
    return run.session is not None and disagreement(run.session, run.exit_code, run.outcomes) is not None


def _python(targets: Sequence[str], candidates: Sequence[Mapping[str, str]]) -> bool:
    paths = set(targets) | {path for changes in candidates for path in changes}
    return bool(paths) and all(path.endswith(".py") for path in paths)
