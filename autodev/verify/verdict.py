"""Decide whether an attempt may be committed, and say what failed in as few tokens as a model can use.

Commit only on green: the target tests pass and nothing that passed before the attempt stopped passing. The
failure summary is what the model sees on a retry; on a CPU prompt tokens cost the most time, so it is short.

The code under test ran inside the run it is judged by, so a pytest run is believed only when its exit status and
junit report agree with pytest's own record of the session (:mod:`autodev.verify.session`), every test the pristine
test files define that the baseline ran has a result (:mod:`autodev.verify.pristine`), a skip comes from a test
file or a ``conftest.py`` rather than from the code, and no test that failed in the baseline vanished or was skipped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import PurePath
from typing import Literal

from pydantic import BaseModel, ConfigDict

from autodev.synth.guard import is_test_path
from autodev.verify.collection import cannot_load, pytest_lines
from autodev.verify.junit import TestOutcome
from autodev.verify.pristine import PristineTests
from autodev.verify.runner import TestRun
from autodev.verify.session import disagreement
from autodev.verify.timeout import seconds, timed_out_reason

__all__ = ["Verdict", "failure_summary", "judge"]

TargetStatus = Literal["passed", "failing", "skipped", "missing"]

PYTEST_STOPPED_EARLY = frozenset({2, 3, 4})
"""Interrupted, internal error, usage error: the outcomes are incomplete, whatever they say."""
REPORTING_RUNNERS = frozenset({"node", "jest", "vitest"})
"""Runners that always write their report when they finish (cargo's results are read from its output instead)."""
NAMES_IN_REASON = 3
TOOL_RUNNERS = frozenset({"node", "jest", "vitest", "cargo"})
"""Runners whose failures are shown to the model as the tool wrote them (pytest's are cut down to frames)."""
TOOL_LINES = 14
"""Lines of another runner's failure shown to the model: rustc's error, its location and snippet, node's assertion."""
MAX_E_LINES = 10
MAX_LINE_CHARS = 200
MAX_SAME_FAILURE_IDS = 5

_LOCATION = re.compile(r"^(?P<path>\S[^:]*):(?P<line>\d+):(?P<rest>.*)$")
_INTERNAL_PATH = re.compile(r"site-packages|dist-packages|/_pytest/|/pluggy/|^<|/lib/python\d[\d.]*/")
_SEPARATOR = re.compile(r"^(_ )+_?\s*$")
_VERBOSITY_HINT = re.compile(r"use -v|use '-vv'|-vv to show", re.IGNORECASE)
"""pytest's advice to rerun verbosely: the model cannot act on it."""


class Verdict(BaseModel):
    """Whether to commit, and the sentence that explains it in logs and to the user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    green: bool
    reason: str
    newly_failing: list[str]
    still_failing: list[str]
    fixed: list[str]


def judge(
    baseline: TestRun,
    attempt: TestRun,
    target_tests: Collection[str] | None = None,
    expected: PristineTests | None = None,
) -> Verdict:
    """Green iff the attempt finished, its target tests pass (at least one) and no baseline pass was lost.

    ``target_tests`` may name node ids, files or classes (``tests/test_x.py``, ``tests/test_x.py::TestA``)
    or a test without its parameters; ``None`` means every test in the attempt. An empty collection is never
    green: nothing would have been shown to work. Baseline and attempt must have run the same selection of
    tests, otherwise tests missing from the attempt count as lost. ``expected``: the tests the pristine test files
    define, each of which the attempt must have a result for where the baseline ran it.
    """
    if attempt.timed_out:
        return _red(timed_out_reason(attempt))
    untrusted = _untrusted(attempt)
    if untrusted is not None:
        return _red(untrusted)
    if not attempt.used_junit:
        return _judge_by_exit_status(attempt)
    if attempt.no_tests_collected:
        return _red("no tests were collected")
    newly_failing = sorted(test_id for test_id in baseline.passed_ids if status_of(attempt, test_id) != "passed")
    targets = _normalised(target_tests) if target_tests is not None else list(attempt.outcomes)
    statuses = {target: status_of(attempt, target) for target in targets}
    missing = [target for target, status in statuses.items() if status == "missing"]
    still_failing = sorted((attempt.failing_ids - baseline.passed_ids) | set(missing))
    fixed = sorted(attempt.passed_ids - baseline.passed_ids)
    reason = _red_reason(attempt, newly_failing, statuses, everything=target_tests is None) or _hidden_reason(
        baseline, attempt, expected
    )
    return Verdict(
        green=reason is None,
        reason=reason or _green_reason(statuses, everything=target_tests is None),
        newly_failing=newly_failing,
        still_failing=still_failing,
        fixed=fixed,
    )


def _untrusted(attempt: TestRun) -> str | None:
    """Why the run's exit status or report cannot be believed: they disagree with pytest's record of the session."""
    if attempt.session is None:
        return None
    problem = disagreement(attempt.session, attempt.exit_code, attempt.outcomes if attempt.used_junit else None)
    if problem is None and attempt.exit_code == 0 and attempt.failing_ids:
        count = len(attempt.failing_ids)
        problem = f"the run's exit status 0 does not agree with its {_counted(count, 'failing test')}"
    return problem


def _hidden_reason(baseline: TestRun, attempt: TestRun, expected: PristineTests | None) -> str | None:
    """Tests the code under test made disappear: skipped by it, vanished, or failing before and gone now."""
    if not (attempt.ran_pytest and attempt.used_junit):
        return None
    blamed = [
        (outcome.test_id, place)
        for outcome in attempt.outcomes.values()
        if outcome.outcome == "skipped"
        and (place := _skipped_by_code(outcome, expected)) is not None
        and not _skipped_alike(baseline, outcome)
    ]
    if blamed:
        test_id, place = blamed[0]
        more = f" (and {_counted(len(blamed) - 1, 'other')})" if len(blamed) > 1 else ""
        return f"{test_id} was skipped by the code under test ({place}){more}"
    vanished = _vanished(baseline, attempt, expected)
    if vanished:
        has = "has" if len(vanished) == 1 else "have"
        return f"{_counted(len(vanished), 'test')} the test files define {has} no result (vanished): {_names(vanished)}"
    gone = sorted(
        test_id
        for test_id in baseline.failing_ids
        if "::" in test_id and status_of(attempt, test_id) in ("missing", "skipped")
    )
    if gone:
        verb = "is" if len(gone) == 1 else "are"
        return f"{_counted(len(gone), 'test')} that failed before {verb} skipped or gone now: {_names(gone)}"
    return None


def _skipped_by_code(outcome: TestOutcome, expected: PristineTests | None) -> str | None:
    """Where the code under test skipped this test (its ``path:line``), or None when a test file or conftest did.

    A skip located in a file no reply may write (a test file, a ``conftest.py``, a helper under ``tests/``:
    ``synth.guard.is_test_path``) is the tests' own (a marker, ``pytest.skip``,
    ``importorskip``); one located elsewhere in the project is the code's. pytest names its own frames for some
    skips (``unittest.SkipTest``) and none for an xfail: then the test's file must say skip or xfail somewhere.
    """
    place = outcome.location
    path = place.rpartition(":")[0]
    if is_test_path(path) or (expected is not None and path in expected.files):
        return None  # a file no reply may write (a test file, a conftest.py, anything under tests/)
    if path and not PurePath(path).is_absolute() and not path.startswith("../"):
        return place
    file = outcome.test_id.split("::", 1)[0]
    if expected is None or file not in expected.files or file in expected.skipping_files:
        return None
    return place or "a place the report does not name"


def _skipped_alike(baseline: TestRun, outcome: TestOutcome) -> bool:
    """The baseline skipped this test at the same place: the project's code as committed did, not the attempt."""
    before = baseline.outcomes.get(outcome.test_id)
    return before is not None and before.outcome == "skipped" and before.location == outcome.location


def _vanished(baseline: TestRun, attempt: TestRun, expected: PristineTests | None) -> list[str]:
    """Tests the pristine files define, that the baseline ran (or could not import), without a result now."""
    if expected is None:
        return []
    return [
        test_id
        for test_id in expected.ids
        if status_of(baseline, test_id) != "missing" and status_of(attempt, test_id) == "missing"
    ]


def _red(reason: str) -> Verdict:
    return Verdict(green=False, reason=reason, newly_failing=[], still_failing=[], fixed=[])


def _judge_by_exit_status(attempt: TestRun) -> Verdict:
    """Without a readable junit report the exit status is all we know; a run of no tests is still red.

    pytest writes its report whenever it finishes, so a pytest run without one ended abnormally: code under
    test calling ``os._exit(0)`` must not pass for green. The same holds for node, jest and vitest.
    """
    if attempt.no_tests_collected:
        return _red("no tests were collected")
    if attempt.exit_code == 0 and attempt.ran_pytest:
        return _red("pytest exited with status 0 without writing its report, so the run ended abnormally")
    if attempt.exit_code == 0 and attempt.runner in REPORTING_RUNNERS:
        return _red(f"{attempt.runner} exited with status 0 without writing its report, so the run ended abnormally")
    if attempt.exit_code == 0:
        return Verdict(
            green=True,
            reason="the test command exited with status 0",
            newly_failing=[],
            still_failing=[],
            fixed=[],
        )
    if attempt.exit_code is None:
        return _red("the test command did not report an exit status")
    if attempt.ran_pytest and attempt.output.strip():
        said = _clip(" ".join(line.strip() for line in pytest_lines(attempt.output).splitlines()))
        return _red(f"pytest exited with status {attempt.exit_code}: {said}")
    return _red(f"the test command exited with status {attempt.exit_code}")


def _red_reason(
    attempt: TestRun, newly_failing: list[str], statuses: dict[str, TargetStatus], *, everything: bool
) -> str | None:
    """The most important reason the attempt is not green, or None when it is."""
    noun = "test" if everything else "target test"
    failing = [target for target, status in statuses.items() if status == "failing"]
    missing = [target for target, status in statuses.items() if status == "missing"]
    if attempt.exit_code in PYTEST_STOPPED_EARLY and not failing and not newly_failing:
        errors = sorted(attempt.failing_ids)
        after = f" after {_counted(len(errors), 'error')} in {_names(errors)}" if errors else ""
        return f"pytest stopped early (exit status {attempt.exit_code}){after}, so the results are incomplete"
    if newly_failing:
        count = len(newly_failing)
        verb = "no longer passes" if count == 1 else "no longer pass"
        reason = f"{_counted(count, 'test')} that passed before {verb}: {_names(newly_failing)}"
        return _with_collection_error(reason, attempt, newly_failing)
    if failing:
        verb = "still fails" if len(failing) == 1 else "still fail"
        return _with_collection_error(f"{_counted(len(failing), noun)} {verb}: {_names(failing)}", attempt, failing)
    if missing:
        return f"{_counted(len(missing), noun)} did not run: {_names(missing)}"
    if not statuses:
        return "no target tests were given"
    if "passed" not in statuses.values():
        return f"no {noun} passed ({len(statuses)} skipped)"
    return None


def _with_collection_error(reason: str, attempt: TestRun, ids: list[str]) -> str:
    """Tests that failed because their file did not collect: pytest's message says why, their names do not."""
    for test_id in ids:
        for outcome in _outcomes_covering(attempt, test_id):
            if outcome.outcome == "error" and "::" not in outcome.test_id and outcome.message:
                cannot = "pytest cannot collect" if attempt.ran_pytest else cannot_load(attempt.runner or "")
                return f"{reason}; {cannot} {outcome.test_id}: {_clip(outcome.message)}"
    return reason


def _green_reason(statuses: dict[str, TargetStatus], *, everything: bool) -> str:
    passed = sum(1 for status in statuses.values() if status == "passed")
    skipped = len(statuses) - passed
    skipped_note = f" ({skipped} skipped)" if skipped else ""
    verb = "passes" if passed == 1 else "pass"
    if everything:
        return f"{'all ' if passed > 1 else ''}{_counted(passed, 'test')} {verb}{skipped_note}"
    return f"{_counted(passed, 'target test')} {verb}{skipped_note} and nothing that passed before broke"


def status_of(run: TestRun, target: str) -> TargetStatus:
    """How a node id, file or class fared, counting a collection error of its file as its own failure."""
    outcomes = _outcomes_covering(run, target)
    if not outcomes:
        return "missing"
    kinds = {outcome.outcome for outcome in outcomes}
    if kinds & {"failed", "error"}:
        return "failing"
    if "passed" in kinds:
        return "passed"
    return "skipped"


def _outcomes_covering(run: TestRun, target: str) -> list[TestOutcome]:
    exact = run.outcomes.get(target)
    if exact is not None:
        return [exact]
    return [
        outcome
        for test_id, outcome in run.outcomes.items()
        if test_id.startswith((f"{target}::", f"{target}[", f"{target} > "))
        or target.startswith((f"{test_id}::", f"{test_id} > "))
    ]


def _normalised(target_tests: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for target in target_tests:
        cleaned = target.strip()
        cleaned = cleaned.removeprefix("./")
        if cleaned:
            seen[cleaned] = None
    return list(seen)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _names(ids: list[str]) -> str:
    shown = ", ".join(ids[:NAMES_IN_REASON])
    hidden = len(ids) - NAMES_IN_REASON
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def _timeout_header(run: TestRun) -> str:
    """For the model: the limit and the test that hung (the key to raise is the user's business)."""
    if not run.timed_out:
        return ""
    running = f" while {run.running} was running" if run.running else ""
    return f"Tests timed out after {seconds(run)} s{running}."


def failure_summary(run: TestRun, *, limit_chars: int = 2500) -> str:
    """What went wrong, for the model's next try: per failure its id, message and the lines that locate it.

    Identical messages are shown once, listing the other test ids; the result never exceeds ``limit_chars``.
    An empty string means there is nothing to report.
    """
    header = _timeout_header(run)
    failing = [outcome for outcome in run.outcomes.values() if outcome.is_failing]
    if failing:
        return _fit(header, _failure_sections(failing, tool=run.runner in TOOL_RUNNERS), len(failing), limit_chars)
    if run.no_tests_collected:
        header = _joined(header, "No tests were collected.")
    elif not run.timed_out and run.exit_code == 0:
        return ""
    return _with_output_tail(header, run.output, limit_chars)


def _failure_sections(failing: list[TestOutcome], *, tool: bool = False) -> list[tuple[str, int]]:
    """One section per distinct message, with how many failing tests it covers."""
    groups: dict[str, list[TestOutcome]] = {}
    for outcome in failing:
        groups.setdefault(outcome.message or outcome.details[:200], []).append(outcome)
    return [(_describe(outcomes, tool=tool), len(outcomes)) for outcomes in groups.values()]


def _describe(outcomes: list[TestOutcome], *, tool: bool) -> str:
    first = outcomes[0]
    label = "ERROR" if first.outcome == "error" else "FAILED"
    lines = [f"{label} {first.test_id}" + (f" - {_clip(first.message)}" if first.message else "")]
    useful = _tool_lines(first.details) if tool else _useful_lines(first.details, first.message)
    lines.extend(f"  {line}" for line in useful)
    others = [outcome.test_id for outcome in outcomes[1:]]
    if others:
        shown = ", ".join(others[:MAX_SAME_FAILURE_IDS])
        hidden = len(others) - MAX_SAME_FAILURE_IDS
        lines.append(f"  (same failure: {shown}" + (f" and {hidden} more)" if hidden > 0 else ")"))
    return "\n".join(lines)


def _tool_lines(details: str) -> list[str]:
    """Another runner's failure as it wrote it (rustc's error with its snippet, node's assertion), first lines."""
    return [_clip(line) for line in details.strip("\n").splitlines()][:TOOL_LINES]


def _useful_lines(details: str, message: str) -> list[str]:
    """Where it failed (the test's line and the last line in the user's code) and the exception lines.

    pytest internals, importlib frames and whole function bodies are left out: they cost tokens and do not
    help a model fix the code.
    """
    lines = details.splitlines()
    frames = _frames(lines)
    chosen = [frames[0], frames[-1]] if len(frames) > 1 else frames
    located = [f"at {location}: {code}" if code else f"at {location}" for location, code in _unique(chosen)]
    exception = [
        _clip(line)
        for line in _last_e_block(lines)
        if line[1:].strip() not in ("", message.strip())  # the message line already says it
        and not _VERBOSITY_HINT.search(line)
    ][:MAX_E_LINES]
    if not frames and not exception:
        return [_clip(line) for line in lines if line.strip()][:5]
    return located + exception


def _frames(lines: list[str]) -> list[tuple[str, str]]:
    """(path:line, source line) for each frame outside pytest and the standard library, in traceback order.

    pytest's long format puts a frame's source (the failing line marked with ">") above its location line; the
    short format used for collection errors puts "path:line: in function" first and the source below it.
    """
    frames: list[tuple[str, str]] = []
    pointer = ""
    for index, line in enumerate(lines):
        if line.startswith(">"):
            pointer = line[1:].strip()
            continue
        if _SEPARATOR.match(line):
            pointer = ""
            continue
        match = _LOCATION.match(line)
        if match is None:
            continue
        path = match.group("path")
        source = pointer
        if match.group("rest").startswith(" in "):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            source = following.strip() if following.startswith(" ") else ""
        pointer = ""
        if not _INTERNAL_PATH.search(path):
            frames.append((f"{path}:{match.group('line')}", _clip(source)))
    return frames


def _unique(frames: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(frames))


def _last_e_block(lines: list[str]) -> list[str]:
    """The last run of pytest's "E" lines: the final exception of a chain, with the assertion explanation."""
    block: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("E ") or line == "E":
            current.append(line)
        elif current:
            block, current = current, []
    return current or block


def _fit(header: str, sections: list[tuple[str, int]], failing_count: int, limit_chars: int) -> str:
    """Add whole sections while they fit, then say how many failures were left out; never exceed the limit."""
    text = header
    shown = 0
    for index, (section, covered) in enumerate(sections):
        more_after = failing_count - shown - covered
        reserve = len(_more_line(more_after)) + 1 if more_after > 0 else 0
        candidate = _joined(text, section)
        if len(candidate) + reserve > limit_chars:
            if index == 0:  # even one section is too long: show what fits of it
                room = limit_chars - reserve - len("\n...")
                text = candidate[: max(room, 0)].rstrip() + "\n..."
                shown = covered
            break
        text, shown = candidate, shown + covered
    hidden = failing_count - shown
    if hidden > 0:
        text = _joined(text, _more_line(hidden))
    return text[:limit_chars]


def _more_line(hidden: int) -> str:
    return f"({hidden} more failure{'s' if hidden != 1 else ''} not shown)"


def _with_output_tail(header: str, output: str, limit_chars: int) -> str:
    """No per-test outcomes: the end of the output is where pytest and most tools put the failures."""
    title = _joined(header, "Test output (end):")
    room = limit_chars - len(title) - 1
    stripped = output.strip()
    if room <= 0 or not stripped:
        return (header or "The test command failed without output.")[:limit_chars]
    tail = stripped[-room:]
    if len(stripped) > room and "\n" in tail:
        tail = tail[tail.index("\n") + 1 :]  # start at a whole line
    return _joined(title, tail)[:limit_chars]


def _joined(first: str, second: str) -> str:
    return f"{first}\n{second}" if first else second


def _clip(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."


def failing_tests(tests: Sequence[str], run: TestRun) -> list[str]:
    """The tests among ``tests`` that did not pass in ``run`` (missing ones count as failing)."""
    return [test for test in tests if status_of(run, test) in ("failing", "missing")]


def unmet(run: TestRun, tests: Sequence[str] | None) -> list[str]:
    """What keeps a requirement from being satisfied in ``run``: its failing tests, or the whole suite (``None``).

    With :func:`judge`, the one place that decides whether the tests are green.
    """
    if tests:
        return failing_tests(tests, run)
    return [] if judge(run, run).green else ["the test suite"]
