"""``node --test`` through a small reporter of autodev's own, which writes one JSON line per test event.

Node's junit reporter does not say which file a test is in, so a reporter module is written into the run's own
directory and named with ``--test-reporter``; the spec reporter still writes to the output, which is what a user
and a model read. Test ids are ``tests/slug.test.js > slugify > lowercases``: the file, then the names of the
enclosing suites and of the test. A file that fails before it reports any test (a syntax error, a module that
cannot be found) is a load failure, with what node printed on its stderr as the details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from autodev.verify.adapters.base import RunPlace, load_failure, one_line, relative_to_root, trim_lines
from autodev.verify.junit import MAX_REPORT_BYTES, TestOutcome

__all__ = ["NodeAdapter", "is_node_test_command", "read_node_events"]

REPORT_NAME = "node-events.jsonl"
REPORTER_NAME = "autodev-node-reporter.mjs"
STDERR_MAX_CHARS = 16_000

# One JSON object a line: start, pass, fail (and stderr of a file). `suite` is a describe() block.
REPORTER_SOURCE = r"""
const text = (value) => {
  if (value === undefined || value === null) return "";
  const error = value.cause !== undefined && value.code === "ERR_TEST_FAILURE" ? value.cause : value;
  if (error && typeof error === "object" && typeof error.stack === "string") return error.stack;
  return String(error);
};
export default async function* autodevReporter(source) {
  for await (const event of source) {
    const data = event.data || {};
    const line = { event: event.type.replace("test:", ""), file: data.file, name: data.name, nesting: data.nesting };
    if (event.type === "test:start") {
      yield JSON.stringify(line) + "\n";
    } else if (event.type === "test:pass" || event.type === "test:fail") {
      const details = data.details || {};
      line.suite = details.type === "suite";
      line.skip = Boolean(data.skip) || Boolean(data.todo);
      if (event.type === "test:fail") line.error = text(details.error);
      yield JSON.stringify(line) + "\n";
    } else if (event.type === "test:stderr" && data.file) {
      yield JSON.stringify({ event: "stderr", file: data.file, message: String(data.message) }) + "\n";
    }
  }
}
"""

_SUBTESTS_FAILED = re.compile(r"^\d+ subtests? failed")
_CANCELLED = "was cancelled"
_NODE_PROGRAM = re.compile(r"^node(js)?(\.exe)?$")
_NODE_INTERNAL = re.compile(r"^\s+at .*(node:internal|node:async_hooks|\(node:)|^Node\.js v\d")


def is_node_test_command(argv: Sequence[str]) -> bool:
    """``node [options] --test [files]``: the only form whose options autodev can add to."""
    return bool(argv) and bool(_NODE_PROGRAM.match(re.split(r"[\\/]", argv[0])[-1].lower())) and "--test" in argv


class NodeAdapter:
    """``node --test``: the spec reporter to the output, autodev's JSON-lines reporter to a file."""

    name = "node"
    reads_output = False

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        reporter = place.work / REPORTER_NAME
        reporter.write_text(REPORTER_SOURCE, encoding="utf-8")
        options = [
            "--test-reporter=spec",
            "--test-reporter-destination=stdout",
            f"--test-reporter={reporter}",
            f"--test-reporter-destination={place.work / REPORT_NAME}",
        ]
        argv = list(command)
        at = argv.index("--test") + 1 if "--test" in argv else len(argv)  # before the files: they end node's options
        place.env.setdefault("NO_COLOR", "1")
        return [*argv[:at], *options, *argv[at:]]

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        events = read_node_events(place.work / REPORT_NAME)
        return None if events is None else outcomes_from_events(events, place.root)

    def running(self, place: RunPlace) -> str | None:
        """Unknown: node replays a test file's events only once the file's own process has finished."""
        return None


def read_node_events(path: Path) -> list[dict[str, object]] | None:
    """The reporter's events, or None when the file is missing, too big or damaged."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    events: list[dict[str, object]] = []
    lines = text.splitlines()
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            return None
        if not isinstance(event, dict):
            return None
        events.append(event)
    return events


def outcomes_from_events(events: list[dict[str, object]], root: Path) -> dict[str, TestOutcome]:
    """One outcome per test (suites count through their tests), ids built from each file's stack of names."""
    stacks: dict[str, list[str]] = {}
    stderr: dict[str, str] = {}
    outcomes: dict[str, TestOutcome] = {}
    for event in events:
        kind, file, name, nesting = _fields(event)
        if kind == "stderr":
            stderr[file] = (stderr.get(file, "") + str(event.get("message", "")))[:STDERR_MAX_CHARS]
        elif kind == "start":
            stacks[file] = [*stacks.get(file, [])[:nesting], name]
        elif kind == "fail" and event.get("suite"):
            suite_id = " > ".join([relative_to_root(file, root), *stacks.get(file, [])[:nesting], name])
            _blame_the_suite(outcomes, suite_id, str(event.get("error", "")))
        elif kind in ("pass", "fail") and not event.get("suite"):
            relative = relative_to_root(file, root) if file else "<node>"
            if nesting == 0 and file and name == file:  # the file itself: it reported no test of its own
                if kind == "fail":
                    said = stderr.get(file, "") or str(event.get("error", ""))
                    outcomes[relative] = load_failure(relative, _first_error_line(said), _without_internals(said))
                continue
            test_id = " > ".join([relative, *stacks.get(file, [])[:nesting], name])
            outcomes[test_id] = _outcome(test_id, kind, event)
    return {test_id: _with_relative_paths(outcome, root) for test_id, outcome in outcomes.items()}


def _with_relative_paths(outcome: TestOutcome, root: Path) -> TestOutcome:
    """node's ``file:///home/me/app/src/x.js:2`` as ``src/x.js:2``: shorter for a model, the same in any copy."""
    if not outcome.message and not outcome.details:
        return outcome
    bases = list(dict.fromkeys((str(root.resolve()), str(root))))

    def relative(text: str) -> str:
        for base in bases:
            text = text.replace(f"file://{base}/", "").replace(f"{base}/", "")
        return text

    return outcome.model_copy(update={"message": relative(outcome.message), "details": relative(outcome.details)})


def _blame_the_suite(outcomes: dict[str, TestOutcome], suite_id: str, error: str) -> None:
    """A suite whose body or hook threw cancels its tests: each of them gets the suite's error instead."""
    if not error or _SUBTESTS_FAILED.match(error):
        return
    for test_id, outcome in list(outcomes.items()):
        if test_id.startswith(suite_id + " > ") and _CANCELLED in outcome.message:
            outcomes[test_id] = outcome.model_copy(
                update={"message": _first_error_line(error), "details": _without_internals(error)}
            )


def _fields(event: dict[str, object]) -> tuple[str, str, str, int]:
    nesting = event.get("nesting")
    return (
        str(event.get("event", "")),
        str(event.get("file") or ""),
        str(event.get("name") or ""),
        nesting if isinstance(nesting, int) and nesting >= 0 else 0,
    )


def _outcome(test_id: str, kind: str, event: dict[str, object]) -> TestOutcome:
    if event.get("skip"):
        return TestOutcome(test_id=test_id, outcome="skipped")
    if kind == "pass":
        return TestOutcome(test_id=test_id, outcome="passed")
    error = str(event.get("error", ""))
    return TestOutcome(
        test_id=test_id, outcome="failed", message=_first_error_line(error), details=_without_internals(error)
    )


def _first_error_line(text: str) -> str:
    """The line naming the error (``SyntaxError: Unexpected token``), else the first line."""
    for line in text.splitlines():
        if re.match(r"^\s*[\w.]*(Error|Exception)\b(\s*\[\w+\])?:", line):
            return one_line(line)
    return one_line(text)


def _without_internals(text: str) -> str:
    return trim_lines("\n".join(line for line in text.splitlines() if not _NODE_INTERNAL.match(line)))
