"""A requirement's example read as checks, without a model: the call, and the value it returns or the error it raises.

The forms (docs/spec-format.md, "Examples"): ``f(x) -> value`` (also ``=>``, ``→``), ``f(x) == value``,
``f(x) -> ValueError`` or ``-> raises ValueError("message")``, doctest blocks (``>>> f(2)`` then ``4``, a
traceback's last line for an error, ``>>>`` lines without output as set-up), table rows with a call column and an
expected column, and a block of ``assert`` lines. Both sides must be Python expressions (``ast`` says so): an
example that is not (``2024-01-31 -> a date``) is refused with the reason, never guessed at.
"""

from __future__ import annotations

import ast
import doctest
import re
from dataclasses import dataclass

_ARROW = re.compile(r"\s*(?:->|=>|\u2192|\u21d2)\s*")
_RAISES = re.compile(
    r"^(?:raises?\s+|throws?\s+)?(?P<name>[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning))"
    r"(?:\s*\(\s*(?P<args>.*)\)|\s*:\s*(?P<text>.+))?$"
)
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?")
_CALL_HEADERS = ("call", "input", "expression", "code", "given")
_OUTPUT_HEADERS = ("output", "expected", "result", "returns", "answer")


@dataclass(frozen=True)
class Check:
    """One line of a generated test: a set-up statement, a value compared, or an error expected."""

    source: str  # the expression called (or the statement run, for a set-up line)
    expected: str | None = None  # an expression of the value it returns
    raises: str | None = None  # the exception class's name
    message: str | None = None  # a literal the error message contains

    @property
    def is_setup(self) -> bool:
        return self.expected is None and self.raises is None


@dataclass(frozen=True)
class Translated:
    """An example as checks (in order), or why it cannot be one."""

    checks: tuple[Check, ...] = ()
    refused: str = ""


def translate(text: str) -> Translated:
    """The checks of one example, as the spec parser kept it (a line, a table row, or a whole code block)."""
    stripped = text.strip()
    if ">>>" in stripped:
        return _doctest(stripped)
    if " | " in stripped and ":" in stripped.split(" | ", 1)[0]:
        return _row(stripped)
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if len(lines) > 1 or lines[0].startswith("assert "):
        return _asserts(lines)
    return _line(_unmarked(lines[0]))


def _line(line: str) -> Translated:
    parts = _ARROW.split(line, maxsplit=1)
    if len(parts) == 2:
        return _pair(_code(parts[0]), _code(parts[1]))
    try:
        node = ast.parse(line, mode="eval").body
    except SyntaxError:
        return Translated(refused="not a Python expression: write it as f(...) -> expected")
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
        return _pair(ast.unparse(node.left), ast.unparse(node.comparators[0]))
    return Translated(refused="no expected value: write it as f(...) -> expected or f(...) == expected")


def _pair(call: str, result: str) -> Translated:
    problem = _not_expression(call, "the call")
    if problem:
        return Translated(refused=problem)
    raised = _RAISES.match(result.strip().rstrip("."))
    if raised:
        message = _message(raised.group("args"), raised.group("text"))
        return Translated(checks=(Check(source=call, raises=raised.group("name"), message=message),))
    problem = _not_expression(result, "the expected value")
    if problem:
        return Translated(refused=problem)
    return Translated(checks=(Check(source=call, expected=result),))


def _message(args: str | None, text: str | None) -> str | None:
    """The literal an error's message must contain: ``ValueError("x")``'s string, or ``ValueError: x``'s text."""
    if args:
        try:
            value = ast.literal_eval(args.strip())
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, str) else None
    return text.strip().strip("`'\"") if text else None


def _doctest(text: str) -> Translated:
    try:
        examples = doctest.DocTestParser().get_examples(text)
    except ValueError as error:
        return Translated(refused=f"the doctest cannot be read: {error}")
    checks: list[Check] = []
    for example in examples:
        source = example.source.strip()
        if example.exc_msg is not None:
            raised = _RAISES.match(example.exc_msg.strip().split("\n")[-1])
            if raised is None:
                return Translated(refused=f"line {example.lineno + 1}: the error {example.exc_msg.strip()!r} has no "
                                          "exception class to expect")  # fmt: skip
            checks.append(
                Check(source=source, raises=raised.group("name"), message=_message(None, raised.group("text")))
            )
            continue
        want = example.want.strip()
        if not want:
            checks.append(Check(source=source))  # a statement: set-up for the lines after it
            continue
        problem = _not_expression(source, "the call") or _not_expression(want, "the output")
        if problem:
            return Translated(refused=f"line {example.lineno + 1}: {problem}")
        checks.append(Check(source=source, expected=want))
    if not any(not check.is_setup for check in checks):
        return Translated(refused="the doctest shows no output to compare")
    return Translated(checks=tuple(checks))


def _row(text: str) -> Translated:
    """``input: `f(1)` | expected: `2```: the call from the first call-like column, the value from the output one."""
    cells = {}
    for cell in text.split(" | "):
        name, _, value = cell.partition(":")
        cells[name.strip().strip("*_` ").lower()] = _code(value)
    call = next((value for name, value in cells.items() if name.startswith(_CALL_HEADERS)), None)
    result = next((value for name, value in cells.items() if name.startswith(_OUTPUT_HEADERS)), None)
    if call is None or result is None:
        return Translated(refused="a table row needs a call column (call, input) and an expected column (expected, "
                                  "output)")  # fmt: skip
    return _pair(call, result)


def _asserts(lines: list[str]) -> Translated:
    """A block of ``assert`` statements (and set-up lines) is already a test: kept as written."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return Translated(refused="the block is not Python that runs as a test (assert lines)")
    if not any(isinstance(node, ast.Assert) for node in tree.body):
        return Translated(refused="the block has no assert line to check")
    return Translated(checks=tuple(Check(source=ast.unparse(node)) for node in tree.body))


def _not_expression(text: str, what: str) -> str:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return f"{what} {text!r} is not a Python expression"
    if what == "the call" and not isinstance(node, (ast.Call, ast.Subscript, ast.Attribute, ast.BinOp)):
        return f"{what} {text!r} calls nothing: write it as a call, f(...)"
    return ""


def _code(text: str) -> str:
    """A cell or side without its Markdown: backticks, a trailing full stop."""
    value = text.strip().rstrip(".,;").strip()
    if len(value) >= 2 and value.startswith("`") and value.endswith("`"):
        value = value.strip("`").strip()
    return value


def _unmarked(line: str) -> str:
    return _LIST_MARK.sub("", line).strip()
