"""``cargo test`` through libtest's lines: ``test NAME ... ok``, then a ``---- NAME stdout ----`` section a failure.

Test ids are the target's source file and the test's path, ``tests/roman.rs::two`` or ``src/lib.rs::tests::it_works``
(doc tests: ``doc-tests CRATE::src/lib.rs - f (line 3)``). ``#[ignore]`` tests are skipped unless the adapter is
made with ``include_ignored`` (``-- --include-ignored``). A build that fails is a load failure of every test target
it stopped (the library's error stops them all), with rustc's first errors as the details. Colours are turned
off and ``-q``/``--format terse`` dropped (they hide the lines read here); CARGO_HOME, CARGO_TARGET_DIR and the
rest of the user's environment are left as they are, except in a candidate's scratch copy (``own_target_dir``):
copies tested side by side build the same crate, and in one target directory one copy's test binary would replace
the other's between its build and its run. The whole output is read (up to the report cap), not only
the tail a TestRun keeps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from autodev.verify.adapters.base import RunPlace, load_failure, trim_lines
from autodev.verify.junit import OutcomeKind, TestOutcome

__all__ = ["CargoAdapter", "cargo_outcomes", "compile_errors", "is_cargo_test_command"]

COMPILE_FAILURE_ID = "<compile>"
"""A build failure autodev cannot place in a test target (a build script, a dependency)."""
MAX_COMPILE_ERRORS = 3

_RUNNING = re.compile(r"^\s+Running (?:unittests )?(?P<source>\S+) \(")
_DOC_TESTS = re.compile(r"^\s+Doc-tests (?P<crate>\S+)")
_RESULT = re.compile(r"^test (?P<name>.+?) \.\.\. (?P<result>ok|FAILED|ignored(?:, (?P<reason>.*))?)$")
_SECTION = re.compile(r"^---- (?P<name>.+?) std(?:out|err) ----$")
_PANIC = re.compile(r"^thread '.*' (?:\(\d+\) )?panicked at (?P<where>\S+?):?$")
_ERROR = re.compile(r"^error(\[E\d+\])?: ")
_NOT_AN_ERROR = re.compile(r"^error: (could not compile|test failed|\d+ targets? failed|aborting due)")
_COULD_NOT_COMPILE = re.compile(r"^error: could not compile `(?P<crate>[^`]+)` \((?P<what>[^)]*)\)")
_RAN_SOME = re.compile(r"^test result: \w+\. (?:[1-9]\d* passed|\d+ passed; [1-9]\d* failed)", re.MULTILINE)
_KINDS: dict[str, OutcomeKind] = {"ok": "passed", "FAILED": "failed"}


def is_cargo_test_command(argv: Sequence[str]) -> bool:
    """``cargo [+toolchain] [options] test ...``."""
    if not argv or re.split(r"[\\/]", argv[0])[-1].lower() not in ("cargo", "cargo.exe"):
        return False
    words = [arg for arg in argv[1:] if not arg.startswith(("-", "+"))]
    return bool(words) and words[0] in ("test", "t")


class CargoAdapter:
    """``cargo test --no-fail-fast`` (every test target runs), optionally ``-- --include-ignored``."""

    name = "cargo"

    def __init__(self, *, include_ignored: bool = False, own_target_dir: bool = False) -> None:
        self.include_ignored = include_ignored
        self.own_target_dir = own_target_dir

    def argv(self, command: Sequence[str], place: RunPlace) -> list[str]:
        place.env["CARGO_TERM_COLOR"] = "never"
        if self.own_target_dir:  # a candidate's copy: a shared CARGO_TARGET_DIR would mix the copies' builds
            place.env["CARGO_TARGET_DIR"] = str(place.root / "target")
        argv = list(command)
        cut = argv.index("--") if "--" in argv else len(argv)
        cargo_part, test_part = _loud(argv[:cut]), _loud(argv[cut + 1 :])
        if "--no-fail-fast" not in cargo_part:
            cargo_part.append("--no-fail-fast")
        if self.include_ignored and "--include-ignored" not in test_part and "--ignored" not in test_part:
            test_part.append("--include-ignored")
        return [*cargo_part, "--", *test_part] if test_part or cut < len(argv) else cargo_part

    reads_output = True

    def outcomes(self, place: RunPlace, output: str) -> dict[str, TestOutcome] | None:
        return cargo_outcomes(output, place.root)

    def running(self, place: RunPlace) -> str | None:
        return None


def _loud(arguments: list[str]) -> list[str]:
    """Without ``-q``/``--quiet``/``--format terse``: they hide the ``Running`` and ``test ... ok`` lines read here."""
    kept: list[str] = []
    skip_next = False
    for index, argument in enumerate(arguments):
        if skip_next:
            skip_next = False
            continue
        if argument in ("-q", "--quiet", "--format=terse"):
            continue
        if argument == "--format" and arguments[index + 1 : index + 2] == ["terse"]:
            skip_next = True
            continue
        kept.append(argument)
    return kept


def cargo_outcomes(output: str, root: Path) -> dict[str, TestOutcome] | None:
    """Outcomes read from cargo's output; None when it shows neither a test run nor a compile error."""
    lines = output.splitlines()
    errors = compile_errors(lines)
    build_failed = any(_COULD_NOT_COMPILE.match(line) for line in lines)
    if errors and (build_failed or not any(_RUNNING.match(line) for line in lines)):
        return _compile_failures(lines, errors, root)
    outcomes: dict[str, TestOutcome] = {}
    target = ""
    seen_a_run = False
    sections = _failure_sections(lines)
    for line in lines:
        if (running := _RUNNING.match(line)) is not None:
            target, seen_a_run = running.group("source"), True
        elif (doc := _DOC_TESTS.match(line)) is not None:
            target, seen_a_run = f"doc-tests {doc.group('crate')}", True
        elif (result := _RESULT.match(line)) is not None and target:
            name = result.group("name")
            test_id = f"{target}::{name}"
            outcomes[test_id] = _outcome(test_id, result.group("result"), result.group("reason"), sections.get(name))
    if not seen_a_run or (not outcomes and _RAN_SOME.search(output)):
        return None  # no run, or tests ran in a format autodev cannot read one by one
    return outcomes


def _outcome(test_id: str, result: str, reason: str | None, section: str | None) -> TestOutcome:
    if result.startswith("ignored"):
        return TestOutcome(test_id=test_id, outcome="skipped", message=reason or "ignored")
    kind = _KINDS[result]
    if kind == "passed":
        return TestOutcome(test_id=test_id, outcome="passed")
    details = section or ""
    return TestOutcome(test_id=test_id, outcome="failed", message=_panic_message(details), details=details)


def _failure_sections(lines: list[str]) -> dict[str, str]:
    """Each failing test's captured output, without the stack backtrace (its frames are libtest's and std's)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_backtrace = False
    for line in lines:
        header = _SECTION.match(line)
        if header is not None:
            current = sections.setdefault(header.group("name"), [])
            in_backtrace = False
            continue
        if current is None:
            continue
        if line in ("failures:", "successes:") or line.startswith("test result: "):
            current = None
            continue
        if line.startswith("stack backtrace:"):
            in_backtrace = True
            continue
        if in_backtrace:
            in_backtrace = not line.startswith("note: ")
            continue
        current.append(line)
    return {name: trim_lines("\n".join(text).strip("\n")) for name, text in sections.items()}


def _panic_message(details: str) -> str:
    """The panic's own words and where (``assertion `left == right` failed: two is II at tests/roman.rs:5:12``)."""
    lines = details.splitlines()
    for index, line in enumerate(lines):
        panic = _PANIC.match(line)
        if panic is not None:
            said = lines[index + 1].strip() if index + 1 < len(lines) else ""
            return f"{said} (at {panic.group('where')})" if said else f"panicked at {panic.group('where')}"
    return next((line.strip() for line in lines if line.strip()), "the test failed")


def compile_errors(lines: Sequence[str]) -> list[str]:
    """rustc's error blocks (``error[E0425]: ...`` with its ``-->`` location and snippet), in order."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if _ERROR.match(line) and not _NOT_AN_ERROR.match(line):
            current = [line]
            blocks.append(current)
        elif current is not None and (not line.strip() or re.match(r"^(warning|error)\b", line)):
            current = None
        elif current is not None:
            current.append(line)
    return ["\n".join(block) for block in blocks]


def _compile_failures(lines: list[str], errors: list[str], root: Path) -> dict[str, TestOutcome]:
    """A load failure for each test target the failed build stopped; the message names the first error."""
    shown = errors[:MAX_COMPILE_ERRORS]
    more = len(errors) - len(shown)
    details = "\n\n".join(shown) + (f"\n\n[... {more} more errors not shown ...]" if more > 0 else "")
    message = _error_with_location(errors[0])
    targets: dict[str, None] = {}
    for line in lines:
        failed = _COULD_NOT_COMPILE.match(line)
        if failed is not None:
            targets.update(dict.fromkeys(_targets_of(failed.group("what"), root)))
    files = list(targets) or [COMPILE_FAILURE_ID]
    return {file: load_failure(file, message, trim_lines(details, max_lines=60)) for file in files}


def _error_with_location(block: str) -> str:
    first, *rest = block.splitlines()
    location = next((line.strip()[3:].strip() for line in rest if line.strip().startswith("-->")), "")
    return f"{first} ({location})" if location else first


def _targets_of(what: str, root: Path) -> list[str]:
    """The test targets a failed unit stops: ``test "roman"`` only its own file; the library (or a build script)
    every target, because they all link it."""
    named = re.match(r'^(test|bin|example|bench) "(?P<name>[^"]+)"', what)
    if named is not None and named.group(1) == "test":
        return [_test_source(named.group("name"), root)]
    if named is not None:
        return [f"src/bin/{named.group('name')}.rs"] if (root / "src/bin").is_dir() else ["src/main.rs"]
    return _all_test_targets(root)


def _test_source(name: str, root: Path) -> str:
    return f"tests/{name}/main.rs" if (root / "tests" / name / "main.rs").is_file() else f"tests/{name}.rs"


def _all_test_targets(root: Path) -> list[str]:
    own = [name for name in ("src/lib.rs", "src/main.rs") if (root / name).is_file()]
    tests_dir = root / "tests"
    integration = sorted(
        path.relative_to(root).as_posix()
        for path in [*tests_dir.glob("*.rs"), *tests_dir.glob("*/main.rs")]
        if path.is_file()
    )
    return [*own, *integration] or [COMPILE_FAILURE_ID]
