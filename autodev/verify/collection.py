"""Tell a collection failure the project must fix from one that code can cure, and keep pytest's own words.

A test file that imports a module nobody has written yet fails to collect, and that is autodev's everyday work:
the model writes the module. A syntax error in a test file, a ``conftest.py`` that raises, an unregistered
marker under ``--strict-markers`` or a broken pytest configuration is different: test files and configuration
are protected from the model, so no reply can cure it, and calling a model would only blame it. The rule: a
failure is the project's unless its exception is an import of something missing, or it was raised in a project
file that is not a test file or ``conftest.py`` (code the model may write).

Other runners report a file that does not load or compile as a load failure (``TestRun.load_failures``). It is
the project's when no reply can cure it: a syntax error in a test file (node's ``SyntaxError`` there, rustc's
error without a code there), or a broken manifest (package.json, Cargo.toml). A module that cannot be found or
a compile error in the code is the model's, and its first errors go back to it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from autodev.discovery import is_test_file, is_test_path
from autodev.verify.runner import TestRun

PYTEST_USAGE_ERRORS = frozenset({3, 4})
"""Internal error and usage error: pytest stopped before writing a report (a broken conftest.py, bad options)."""
MAX_LINES = 12
MAX_LINE_CHARS = 200
CONFIG_FILES = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")

_IMPORT_ERRORS = frozenset({"ModuleNotFoundError", "ImportError"})
_EXCEPTION = re.compile(r"^E\s+(?P<name>[A-Za-z_][\w.]*)(?::\s*(?P<text>.*))?$")
_MODULE_ATTRIBUTE = re.compile(r"^module '[\w.]+' has no attribute")
_SYNTAX_LOCATION = re.compile(r'^E\s+File "(?P<path>[^"]+)", line (?P<line>\d+)')
_FRAME = re.compile(r"^(?P<path>\S[^:]*):(?P<line>\d+): in ")
_INTERNAL = re.compile(r"site-packages|dist-packages|/_pytest/|/pluggy/|^<|/lib/python\d[\d.]*/")
_CONFTEST = re.compile(r"while loading conftest '(?P<path>[^']+)'")
_CONFIG_ERROR = re.compile(r"^ERROR: (?P<path>[^\s:]+):(?P<line>\d+):")
_HEADER = re.compile(r"^_+ (?P<title>ERROR collecting .+?) _+$")
_SHOWN = re.compile(r"^(ERROR\b|E\s|E$|ImportError while loading conftest|\S.*: error: |\s+inifile: )")
_ARGUMENT_ERROR = re.compile(r"^\S.*: error: ")
_E_PREFIX = re.compile(r"^E\s+")


class CollectionProblem(BaseModel):
    """One failure to collect that only the user can fix: where, and pytest's own lines about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str  # relative to the project root
    line: int
    message: str  # pytest's lines, trimmed, newline-separated

    @property
    def summary(self) -> str:
        """The line that names the error (pytest's exception line, else its last line), for one-line displays."""
        lines = [line for line in self.message.splitlines() if not line.startswith("ERROR collecting ")]
        exception = [line for line in lines if _EXCEPTION.match(line) or _ARGUMENT_ERROR.match(line)]
        return _E_PREFIX.sub("", (exception or lines or [self.message])[-1]).strip()

    def describe(self) -> str:
        """pytest's lines under a header naming the file, indented: the block a user reads in a reason."""
        lines = self.message.splitlines()
        if not lines or not lines[0].startswith(("ERROR", "ImportError while loading conftest")):
            lines.insert(0, f"ERROR collecting {self.file}")
        return "\n".join(f"  {line}" for line in lines)


def project_problems(run: TestRun, root: Path) -> list[CollectionProblem]:
    """The collection failures in ``run`` that no change to the code can cure, in report order."""
    if run.timed_out:
        return []
    if not run.ran_pytest:
        return load_problems(run, root)
    problems: list[CollectionProblem] = []
    for outcome in run.outcomes.values():
        if outcome.outcome == "error" and "::" not in outcome.test_id and not outcome.test_id.startswith("<"):
            found = problem_in(outcome.details or outcome.message, root, outcome.test_id, message=outcome.message)
            problems.extend([found] if found else [])
    if not run.outcomes and run.exit_code in PYTEST_USAGE_ERRORS:
        found = problem_in(run.output, root, _file_named(run.output, root))
        problems.extend([found] if found else [])
    return problems


def problem_in(text: str, root: Path, file: str, *, message: str = "") -> CollectionProblem | None:
    """The problem pytest describes in ``text`` about ``file``, or None when writing code may cure it.

    The problem is placed where its traceback ends in the project (a directory's ``conftest.py`` rather than the
    directory pytest reports), else at ``file``. ``message`` is the exception line of a junit report, for a
    ``text`` without pytest's ``E`` lines.
    """
    if _cured_by_code(text, root, message):
        return None
    location = _innermost(text, root)  # a test file or conftest.py here: the file to fix (a directory's conftest)
    file, line = location or (file, 1)
    return CollectionProblem(file=file, line=line, message=pytest_lines(text))


def pytest_lines(text: str) -> str:
    """pytest's own error lines (``ERROR collecting ...``, ``E   ...``), trimmed; the whole text when it has none."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    shown = [_header_or(line) for line in lines if _HEADER.match(line) or _SHOWN.match(line)]
    chosen = [line for line in shown if line.strip()] or [line for line in lines if line.strip()]
    clipped = [line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..." for line in chosen]
    return "\n".join(clipped[-MAX_LINES:])


def _header_or(line: str) -> str:
    match = _HEADER.match(line)
    return match.group("title") if match else line


def _cured_by_code(text: str, root: Path, message: str) -> bool:
    exception = _last_exception(text) or _last_exception(f"E   {message.strip()}")
    if exception is not None:
        name, message = exception
        if name.rsplit(".", 1)[-1] in _IMPORT_ERRORS:
            return True
        if name.endswith("AttributeError") and _MODULE_ATTRIBUTE.match(message):
            return True
    location = _innermost(text, root)
    return location is not None and not _is_test_or_conftest(location[0])


def _last_exception(text: str) -> tuple[str, str] | None:
    found = [(m.group("name"), m.group("text") or "") for line in text.splitlines() if (m := _EXCEPTION.match(line))]
    return found[-1] if found else None


def _innermost(text: str, root: Path) -> tuple[str, int] | None:
    """The last project file and line of the traceback (a syntax error's own location first)."""
    lines = text.splitlines()
    syntax = [m for line in lines if (m := _SYNTAX_LOCATION.match(line))]
    frames = [m for line in lines if (m := _FRAME.match(line))]
    for match in [*syntax[-1:], *reversed(frames)]:
        relative = _in_project(match.group("path"), root)
        if relative is not None:
            return relative, int(match.group("line"))
    return None


def _in_project(path: str, root: Path) -> str | None:
    if _INTERNAL.search(path):
        return None
    candidate = Path(path)
    if not candidate.is_absolute():
        return PurePosixPath(path.replace("\\", "/")).as_posix()
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _is_test_or_conftest(relative: str) -> bool:
    name = PurePosixPath(relative).name
    return name == "conftest.py" or is_test_file(name)


def _file_named(output: str, root: Path) -> str:
    """The file a failed start names (a conftest.py, a configuration line), else the pytest configuration file."""
    for line in output.splitlines():
        match = _CONFTEST.search(line) or _CONFIG_ERROR.match(line)
        if match is not None:
            return _in_project(match.group("path"), root) or match.group("path")
    return next((name for name in CONFIG_FILES if (root / name).is_file()), ".")


def load_problems(run: TestRun, root: Path) -> list[CollectionProblem]:
    """The load failures of a run of node, jest, vitest or cargo that no change to the code can cure."""
    problems: list[CollectionProblem] = []
    for outcome in run.load_failures:
        location = _tool_location(outcome.message, outcome.details, root)
        manifest = _MANIFEST.search(outcome.message)  # the error line itself: a help line may name Cargo.toml
        if manifest is not None:
            file, line = location if location and _MANIFEST.search(location[0]) else (manifest.group(1), 1)
        elif location is not None and _is_syntax_error_in_tests(outcome.message, location):
            file, line = location
        else:
            continue
        said = _relative_paths(outcome.details or outcome.message, root)
        message = _first_lines(f"ERROR loading {outcome.test_id}\n{said}")
        problems.append(CollectionProblem(file=file, line=line, message=message))
    return list({(problem.file, problem.message): problem for problem in problems}.values())


def _relative_paths(text: str, root: Path) -> str:
    """The tool's absolute paths into the project (``file:///home/me/app/tests/x.test.js``) made relative."""
    for base in dict.fromkeys((str(root.resolve()), str(root))):
        text = text.replace(f"file://{base}/", "").replace(f"{base}/", "")
    return text


def _first_lines(text: str) -> str:
    """A tool's first lines (where it says what and where), trimmed for a reason."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    clipped = [line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..." for line in lines]
    return "\n".join(clipped[:MAX_LINES])


_MANIFEST = re.compile(r"(?:^|(?<=[\s/`'\"(]))(package\.json|Cargo\.toml)\b")
_TOOL_LOCATION = re.compile(r"^\s*(?:--> )?(?:file://)?(?P<path>[^\s:()][^:()]*):(?P<line>\d+)(?::\d+)?\)?$")
_IN_PARENTHESES = re.compile(r"\((?P<path>[^\s:()]+):(?P<line>\d+):\d+\)$")
_MISSING_EXPORT = re.compile(r"does not provide an export named")
_RUSTC_SYNTAX = re.compile(r"^error: ")  # rustc's parse errors carry no error code (error[E0425] is a type error)


def _tool_location(message: str, details: str, root: Path) -> tuple[str, int] | None:
    """Where the tool says the error is: rustc's ``(path:line:col)`` in the message, else the first
    ``path:line`` (node: ``file:///.../x.test.js:8``) or ``--> path:line:col`` line of the details."""
    found = _IN_PARENTHESES.search(message)
    if found is None:
        found = next((m for line in details.splitlines() if (m := _TOOL_LOCATION.match(line))), None)
    if found is None:
        return None
    relative = _in_project(found.group("path"), root)
    return (relative, int(found.group("line"))) if relative is not None else None


def _is_syntax_error_in_tests(message: str, location: tuple[str, int]) -> bool:
    """A test file that does not parse: only its author can fix it (the model may not edit it). A name the code
    does not export yet is a SyntaxError at the test's import line too, and writing that export is the work."""
    syntax = message.startswith("SyntaxError") or bool(_RUSTC_SYNTAX.match(message))
    return syntax and not _MISSING_EXPORT.search(message) and is_test_path(location[0], ("javascript", "rust"))


TOOL_WORDS: dict[str, tuple[str, str]] = {
    "cargo": ("cannot build", "the test files or Cargo.toml"),
    "node": ("cannot load", "the test files or package.json"),
    "jest": ("cannot load", "the test files, package.json or jest's configuration"),
    "vitest": ("cannot load", "the test files, package.json or vitest's configuration"),
}
"""What a runner other than pytest could not do, and what the user fixes then (autodev never edits them)."""


def cannot_load(runner: str) -> str:
    """``cargo cannot build``, ``node cannot load``: the words for a file a runner could not load or compile."""
    verb = TOOL_WORDS.get(runner, ("cannot load", ""))[0]
    return f"{runner} {verb}" if runner in TOOL_WORDS else f"the test command {verb}"


def cannot_collect_reason(problems: list[CollectionProblem], *, runner: str = "pytest") -> str:
    """Why a pass stops before calling a model: the tool's words, and what to do (the model may not edit tests)."""
    where = ", ".join(dict.fromkeys(problem.file for problem in problems))
    if runner != "pytest":
        what = TOOL_WORDS.get(runner, ("", "the test files"))[1]
        head = (
            f"{cannot_load(runner)} the tests before any change ({where}), so no model was called: fix {what} "
            f"as {runner} says below (autodev never edits them), then run again"
        )
        return "\n".join([head, *(problem.describe() for problem in problems)])
    head = (
        f"pytest cannot collect the tests before any change ({where}), so no model was called: fix the test "
        "files, conftest.py or pytest configuration as pytest says below (autodev never edits them), then run again"
    )
    return "\n".join([head, *(problem.describe() for problem in problems)])
