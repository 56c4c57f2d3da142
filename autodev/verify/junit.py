"""Turn pytest's junit XML report (xunit1 family) into one outcome per pytest node id.

The report is written by a process running model-written code, so it is parsed defensively: no DOCTYPE or
entity declarations, a size cap, and any damage (truncated, malformed) yields ``None``, so the caller falls
back to the exit status instead of guessing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import ClassVar, Literal
from xml.etree import ElementTree as ET
from xml.parsers import expat

from pydantic import BaseModel, ConfigDict

OutcomeKind = Literal["passed", "failed", "error", "skipped"]

MAX_REPORT_BYTES = 64 * 1024 * 1024
"""A bigger report is treated as unusable rather than parsed (it would only be noise for a model)."""

MESSAGE_MAX_CHARS = 300
DETAILS_HEAD_CHARS = 2_000
DETAILS_TAIL_CHARS = 6_000
COLLECTION_FAILURE = "collection failure"
INTERNAL_ERROR_ID = "<pytest internal error>"
"""pytest reports its own crashes as a test case named pytest/internal; no test has this id."""

_SEVERITY: dict[str, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 2}
_EXCEPTION_LINE = re.compile(r"^E\s+([\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failed)\b.*)$")
_E_LINE = re.compile(r"^E\s+(.*)$")
_SKIP_LOCATION = re.compile(r"^(?P<path>.+?):(?P<line>\d+): ")
"""xunit1 writes a skipped test's ``path:line: reason`` as the element's text (a skipped module's as a tuple)."""


class TestOutcome(BaseModel):
    """What happened to one test, keyed elsewhere by its pytest node id."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid", frozen=True)

    test_id: str
    outcome: OutcomeKind
    message: str = ""
    details: str = ""
    location: str = ""
    """Where a skip was raised (``path:line``, relative to the project when inside it), when the report says."""

    @property
    def is_failing(self) -> bool:
        """Failed and errored tests are treated alike when deciding whether an attempt is green."""
        return self.outcome in ("failed", "error")


class _UnsafeXmlError(ValueError):
    """The report declares a DOCTYPE or entities; pytest never does, so something else wrote it."""


def read_junit_file(path: Path, *, root: Path | None = None) -> dict[str, TestOutcome] | None:
    """Outcomes from a report file, or ``None`` when it is missing, too big, unsafe or malformed.

    ``root`` (pytest's rootdir, usually the project) only helps to name tests inherited from a base class in
    another module, where the report's ``file`` attribute names the base module instead of the test module.
    """
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return parse_junit_xml(data, root=root)


def parse_junit_xml(data: bytes | str, *, root: Path | None = None) -> dict[str, TestOutcome] | None:
    """Outcomes by node id, in report order, or ``None`` when the document cannot be trusted or read."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    document = parse_xml_safely(data)
    if document is None:
        return None
    outcomes: dict[str, TestOutcome] = {}
    for case in document.iter("testcase"):
        outcome = _outcome_of(case, root)
        previous = outcomes.get(outcome.test_id)
        outcomes[outcome.test_id] = outcome if previous is None else _worse_of(previous, outcome)
    return outcomes


def parse_xml_safely(data: bytes) -> ET.Element | None:
    """Any report's XML under the same rules (no DOCTYPE or entities, the size cap); ``None`` when refused."""
    if len(data) > MAX_REPORT_BYTES:
        return None
    try:
        return _parse_without_declarations(data)
    except (expat.ExpatError, _UnsafeXmlError, ValueError):
        return None


def _parse_without_declarations(data: bytes) -> ET.Element:
    """Parse with expat directly so DOCTYPE and entity declarations can be refused before they take effect.

    The standard library's expat already refuses external entities; refusing the DOCTYPE as a whole also rules
    out entity-expansion bombs, which pytest's output never needs.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise _UnsafeXmlError("junit report declares a DOCTYPE or entities")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.Parse(data, True)
    return builder.close()


def _worse_of(first: TestOutcome, second: TestOutcome) -> TestOutcome:
    """pytest reports a test twice when its teardown fails too; the first failure is the one worth showing."""
    return second if _SEVERITY[second.outcome] > _SEVERITY[first.outcome] else first


def _outcome_of(case: ET.Element, root: Path | None) -> TestOutcome:
    classname = case.get("classname", "") or ""
    name = case.get("name", "") or ""
    file = case.get("file") or None
    problem = _first_child(case, ("failure", "error"))
    if (classname, name, file) == ("pytest", "internal", None):
        message = _one_line(problem.get("message", "") or "") if problem is not None else ""
        details = _trim_details(problem.text or "") if problem is not None else ""
        return TestOutcome(test_id=INTERNAL_ERROR_ID, outcome="error", message=message, details=details)
    if problem is not None:
        kind: OutcomeKind = "error" if problem.tag == "error" else "failed"
        details = _trim_details(problem.text or "")
        raw_message = problem.get("message", "") or ""
        if kind == "error" and (not classname or raw_message == COLLECTION_FAILURE):
            test_id = _collected_file_id(name, file, root)
            message = _message_from(details) or _one_line(details) or f"{COLLECTION_FAILURE} in {test_id}"
            return TestOutcome(test_id=test_id, outcome="error", message=message, details=details)
        message = _one_line(raw_message) or _message_from(details)
        return TestOutcome(
            test_id=_node_id(classname, name, file, root), outcome=kind, message=message, details=details
        )
    test_id = _node_id(classname, name, file, root) if classname else _collected_file_id(name, file, root)
    skipped = case.find("skipped")
    if skipped is not None:
        reason = _one_line(skipped.get("message", "") or "") or _one_line(skipped.get("type", "") or "")
        text = skipped.text or ""
        return TestOutcome(
            test_id=test_id,
            outcome="skipped",
            message=reason,
            details=_trim_details(text),
            location=_skip_location(text, root),
        )
    return TestOutcome(test_id=test_id, outcome="passed")


def _skip_location(text: str, root: Path | None) -> str:
    """``path:line`` of the skip: ``/abs/tests/test_a.py:3: reason`` for a test, ``('/abs/fizz.py', 2, 'Skipped:
    reason')`` for a module skipped while it was imported; the path relative to ``root`` when it lies inside."""
    text = text.strip()
    path, line = "", ""
    if text.startswith("("):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parsed = None
        if isinstance(parsed, tuple) and len(parsed) >= 2 and isinstance(parsed[0], str):
            path, line = parsed[0], str(parsed[1])
    else:
        match = _SKIP_LOCATION.match(text)
        if match is not None:
            path, line = match.group("path"), match.group("line")
    if not path:
        return ""
    return f"{_relative(path, root)}:{line}"


def _relative(path: str, root: Path | None) -> str:
    candidate = Path(path)
    if root is None or not candidate.is_absolute():
        return path.replace("\\", "/")
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def _first_child(case: ET.Element, tags: tuple[str, ...]) -> ET.Element | None:
    for child in case:
        if child.tag in tags:
            return child
    return None


def _node_id(classname: str, name: str, file: str | None, root: Path | None) -> str:
    """Rebuild the node id pytest printed: ``path.py::Class::Inner::name``.

    pytest's report replaced "/" with "." and dropped ".py" in ``classname``; the ``file`` attribute undoes
    the ambiguity in the common case (it names the module the test function is defined in).
    """
    path, classes = _split_classname(classname, file, root)
    return "::".join([path, *classes, name])


def _split_classname(classname: str, file: str | None, root: Path | None) -> tuple[str, list[str]]:
    if file:
        dotted_file = re.sub(r"\.py$", "", file.replace("/", "."))
        if classname == dotted_file:
            return file, []
        if classname.startswith(dotted_file + "."):
            return file, classname[len(dotted_file) + 1 :].split(".")
    parts = classname.split(".")
    module_length = _module_length_on_disk(parts, root) or _module_length_by_convention(parts)
    return "/".join(parts[:module_length]) + ".py", parts[module_length:]


def _module_length_on_disk(parts: list[str], root: Path | None) -> int | None:
    """The longest leading run of ``parts`` that names a module file under ``root``."""
    if root is None:
        return None
    for length in range(len(parts), 0, -1):
        if root.joinpath(*parts[:length]).with_suffix(".py").is_file():
            return length
    return None


def _module_length_by_convention(parts: list[str]) -> int:
    """Without the file system, assume classes follow pytest's default ``Test*`` naming and modules do not."""
    for index, part in enumerate(parts[1:], start=1):
        if part.startswith("Test"):
            return index
    return len(parts)


def _collected_file_id(name: str, file: str | None, root: Path | None) -> str:
    """The node id of a module that failed to collect is its path, which is what pytest prints for it too."""
    if file:
        return file
    if not name:
        return "<collection>"
    parts = name.split(".")
    length = _module_length_on_disk(parts, root) or len(parts)
    return "/".join(parts[:length]) + ".py"


def _message_from(details: str) -> str:
    """The exception line of a traceback, for reports whose message attribute says nothing useful."""
    exception_lines = [m.group(1) for line in details.splitlines() if (m := _EXCEPTION_LINE.match(line))]
    if exception_lines:
        return _one_line(exception_lines[-1])
    e_lines = [m.group(1) for line in details.splitlines() if (m := _E_LINE.match(line))]
    return _one_line(e_lines[-1]) if e_lines else ""


def _one_line(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= MESSAGE_MAX_CHARS else first[: MESSAGE_MAX_CHARS - 3] + "..."


def _trim_details(text: str) -> str:
    """Keep the head (the test's own frame) and the tail (where it raised); the middle rarely helps."""
    text = text.strip("\n")
    if len(text) <= DETAILS_HEAD_CHARS + DETAILS_TAIL_CHARS:
        return text
    cut = len(text) - DETAILS_HEAD_CHARS - DETAILS_TAIL_CHARS
    return f"{text[:DETAILS_HEAD_CHARS]}\n[... {cut} characters not shown ...]\n{text[-DETAILS_TAIL_CHARS:]}"
