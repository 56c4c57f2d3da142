"""Jest through its built-in JSON report (``--json --outputFile``), Vitest through its junit reporter.

Both are usually run as ``npm test`` (the package.json script) or ``npx jest``; the options go after ``--`` for
npm, yarn and pnpm, straight after the command otherwise. Test ids are ``tests/slug.test.js > slugify >
lowercases``, as for ``node --test``; a test file that failed to run (a syntax error, a missing module) is a load
failure with the runner's message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from autodev.verify.adapters.base import RunPlace, load_failure, one_line, relative_to_root, trim_lines
from autodev.verify.junit import MAX_REPORT_BYTES, OutcomeKind, TestOutcome, parse_xml_safely

__all__ = ["JestAdapter", "VitestAdapter", "jest_outcomes", "vitest_outcomes"]

JEST_REPORT = "jest.json"
VITEST_REPORT = "vitest-junit.xml"
SCRIPT_RUNNERS = frozenset({"npm", "yarn", "pnpm", "bun"})

_JEST_KINDS: dict[str, OutcomeKind] = {
    "passed": "passed",
    "failed": "failed",
    "pending": "skipped",
    "skipped": "skipped",
    "todo": "skipped",
    "disabled": "skipped",
    "focused": "passed",
}
_INTERNAL_FRAME = re.compile(r"^\s+at .*(node_modules[\\/]|node:internal|\(<anonymous>\))")
_SUITE_FAILED = re.compile(r"^\s*●\s*Test suite failed to run\s*$")


def with_options(command: Sequence[str], options: Sequence[str]) -> list[str]:
    """``npm test`` takes the runner's options after ``--``; ``npx jest`` and ``jest`` take them directly."""
    argv = list(command)
    program = re.split(r"[\\/]", argv[0])[-1].lower() if argv else ""
    if program in SCRIPT_RUNNERS and "--" not in argv:
        return [*argv, "--", *options]
    return [*argv, *options]


class JestAdapter:
    """jest: ``--ci`` (snapshots are not written by model-written code) and the JSON report."""

    name = "jest"
    reads_output = False

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        place.env.setdefault("NO_COLOR", "1")
        place.env.setdefault("CI", "true")  # no watch mode, no interactive prompts
        return with_options(command, ["--ci", "--json", f"--outputFile={place.work / JEST_REPORT}"])

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        return jest_outcomes(_read_capped(place.work / JEST_REPORT), place.root)

    def running(self, place: RunPlace) -> str | None:
        return None


class VitestAdapter:
    """vitest: its junit reporter to a file (the default reporter is replaced: the output shows the summary)."""

    name = "vitest"
    reads_output = False

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        place.env.setdefault("NO_COLOR", "1")
        place.env.setdefault("CI", "true")
        argv = list(command)
        runs_once = [] if "run" in argv or program_of(argv) in SCRIPT_RUNNERS else ["--run"]  # never watch mode
        report = f"--outputFile={place.work / VITEST_REPORT}"
        return with_options(argv, [*runs_once, "--reporter=default", "--reporter=junit", report])

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        data = _read_capped(place.work / VITEST_REPORT)
        return None if data is None else vitest_outcomes(data, place.root)

    def running(self, place: RunPlace) -> str | None:
        return None


def program_of(argv: Sequence[str]) -> str:
    return re.split(r"[\\/]", argv[0])[-1].lower() if argv else ""


def _read_capped(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def jest_outcomes(data: bytes | None, root: Path) -> dict[str, TestOutcome] | None:
    """Outcomes from jest's ``--json`` report, or None when it is missing or not jest's shape."""
    if data is None:
        return None
    try:
        report = json.loads(data)
    except ValueError:
        return None
    files = report.get("testResults") if isinstance(report, dict) else None
    if not isinstance(files, list):
        return None
    outcomes: dict[str, TestOutcome] = {}
    for file_result in files:
        if not isinstance(file_result, dict):
            return None
        relative = relative_to_root(str(file_result.get("name", "")), root) or "<jest>"
        tests = file_result.get("assertionResults")
        tests = tests if isinstance(tests, list) else []
        message = str(file_result.get("message") or file_result.get("testExecError") or "")
        if file_result.get("status") == "failed" and (not tests or "Test suite failed to run" in message):
            outcomes[relative] = load_failure(relative, _jest_error_line(message), _clean_frames(message))
        for test in tests:
            if not isinstance(test, dict):
                return None
            names = [str(title) for title in test.get("ancestorTitles") or [] if isinstance(title, str)]
            test_id = " > ".join([relative, *names, str(test.get("title", ""))])
            kind = _JEST_KINDS.get(str(test.get("status")), "failed")
            failures = "\n".join(str(text) for text in test.get("failureMessages") or [])
            outcomes[test_id] = TestOutcome(
                test_id=test_id,
                outcome=kind,
                message=one_line(failures) if kind == "failed" else "",
                details=_clean_frames(failures) if kind == "failed" else "",
            )
    return outcomes


def vitest_outcomes(data: bytes, root: Path) -> dict[str, TestOutcome] | None:
    """Outcomes from vitest's junit report: ``classname`` is the file, ``name`` the suites and test joined by
    `` > `` already; a test case named like its file is the file failing to load."""
    document = parse_xml_safely(data)
    if document is None:
        return None
    outcomes: dict[str, TestOutcome] = {}
    for case in document.iter("testcase"):
        file = relative_to_root(case.get("classname", "") or "", root)
        name = case.get("name", "") or ""
        problem = next((child for child in case if child.tag in ("failure", "error")), None)
        if problem is not None and (not name or name == file or relative_to_root(name, root) == file):
            text = problem.text or problem.get("message", "") or ""
            outcomes[file] = load_failure(file, _jest_error_line(text), _clean_frames(text))
            continue
        test_id = f"{file} > {name}" if file else name
        if problem is not None:
            text = problem.text or ""
            message = problem.get("message", "") or one_line(text)
            outcomes[test_id] = TestOutcome(
                test_id=test_id, outcome="failed", message=one_line(message), details=_clean_frames(text)
            )
        elif case.find("skipped") is not None:
            outcomes[test_id] = TestOutcome(test_id=test_id, outcome="skipped")
        else:
            outcomes[test_id] = TestOutcome(test_id=test_id, outcome="passed")
    return outcomes


def _jest_error_line(message: str) -> str:
    for line in message.splitlines():
        if re.match(r"^\s*[\w.]*(Error|Exception)\b:", line):
            return one_line(line)
    meaningful = [line for line in message.splitlines() if line.strip() and not _SUITE_FAILED.match(line)]
    return one_line(meaningful[0]) if meaningful else "the test file failed to run"


def _clean_frames(text: str) -> str:
    return trim_lines("\n".join(line for line in text.splitlines() if not _INTERNAL_FRAME.match(line)))
