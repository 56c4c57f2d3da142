"""Tests a model wrote for a requirement's acceptance criteria, and which of them are worth keeping.

A model that writes both the tests and the code can make anything pass, so a written test is kept only when:
1. it asserts something: an ``assert`` (not of a constant, nor of a value against itself), a ``pytest.raises``
   or an ``assert*`` call (:func:`static_refusals`);
2. it fails on the current code, for the requirement's reason (:func:`red_first`): a test that already passes
   proves nothing about the work to do; one that fails with an error of its own (a syntax or name error, a missing
   fixture, a module that is neither installed nor one the requirement's ``Files:`` names) tests nothing at all.
The caller asks the model (``autodev.workflow.tester`` for ``autodev tests gen``, ``autodev.core.tests_first`` in a
pass) and gives :func:`judged_tests` the reply and a way to run a test file in the project's disposable copy.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from autodev.records import RoleCall
from autodev.spec.model import Requirement
from autodev.testgen.coverage import CRITERIA_MARK, criteria_digest, criteria_path
from autodev.testgen.render import HEADER, GeneratedTests, python_modules, stamped
from autodev.verify.junit import TestOutcome
from autodev.verify.pristine import defined_test_nodes, is_test_class
from autodev.verify.runner import TestRun

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(?P<code>.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(?![\s\S]*```)")  # the last opening fence, never closed
_CUT_LINES = 60  # how far back from the end of a cut-off reply a parsable file is looked for
_OWN_ERRORS = ("SyntaxError", "IndentationError", "NameError", "fixture '", "UnboundLocalError")
_ARITY = re.compile(
    r"TypeError: (?P<name>[\w.]+)\(\) (?:takes|missing \d+ required|got an unexpected keyword|got multiple)"
)
_MISSING = re.compile(r"(?:No module named|cannot import name) '?(?P<name>[\w.]+)'?(?: from '(?P<module>[\w.]+)')?")

TESTER_MARK = "Write pytest tests for the requirement above"  # how a scripted tester (the bench's oracle) knows it
TESTER_FORMAT = f"""{TESTER_MARK}: one test function for each behaviour it states (each acceptance criterion,
each rule, each case it describes, and each error it says to raise, with its message), so that code which passes
them all does what the requirement asks. Expected values come from the requirement's own words and numbers, or
follow from them by simple arithmetic, never from an implementation: leave out a test whose expected value you are
not sure of. Import what you test from the files the requirement names, by the names they define. Each test's
docstring quotes the sentence it checks. Where a behaviour holds "for every" input, a hypothesis property test is
preferred if hypothesis is installed. Send one Python code block with the whole test file, and nothing else."""


@dataclass
class CriteriaTests:
    """The tester's tests for one requirement: the file to write (empty when none is kept), kept and refused."""

    requirement: str
    path: str
    text: str = ""
    kept: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # test name -> why
    model: str = ""
    problem: str = ""  # why there is no test at all (no code in the reply)
    call: RoleCall | None = None  # the tester's call: what it cost
    code: str = ""  # the test file of the reply, all its tests
    calls: list[RoleCall] = field(default_factory=list)  # other calls made for it (the agreement's implementation)

    def as_generated(self) -> GeneratedTests:
        return GeneratedTests(self.requirement, self.path, self.text, [(name, 0) for name in self.kept],
                              author=self.model)  # fmt: skip

    def reasons(self) -> list[str]:
        """Every refusal's reason, and the problem when there was no test at all."""
        return [*self.refused.values(), *([self.problem] if self.problem else [])]


RunInCopy = Callable[[dict[str, str]], TestRun]  # the project's tests with these files added, in the copy


def judged_tests(requirement: Requirement, reply: str, model: str, run_in_copy: RunInCopy) -> CriteriaTests:
    """The tests of a tester's reply that assert something and fail on the current code for the requirement's
    reason, as the file to write (its header names the model and the criteria's digest)."""
    path = criteria_path(requirement)
    result = CriteriaTests(requirement.id, path, model=model)
    code = reply_code(reply)
    if code is None:
        result.problem = "the tester's reply has no Python test file"
        return result
    result.code = code
    result.refused = static_refusals(code)
    names = [name for name in defined_test_names(code) if name not in result.refused]
    if not names:
        result.problem = "the tester wrote no test that asserts something" if result.refused else "no test function"
        return result
    for name, why in red_first(run_in_copy({path: code}), path, names, list(python_modules(requirement))).items():
        if why is None:
            result.kept.append(name)
        else:
            result.refused[name] = why
    if result.kept:
        result.text = _criteria_file(requirement, model, kept_file(code, result.kept))
    return result


DISPUTED = (
    "fails on an implementation written from the description alone that passes most of the other tests: its "
    "expected value is likely wrong"
)


def agreed(requirement: Requirement, made: CriteriaTests, run: TestRun) -> None:
    """Keep only the kept tests that an independent implementation passes, when it passes most of them.

    Red first cannot tell a test that expects a wrong value from one that expects the right one: both fail on the
    stub. An implementation written from the description alone, without the tests, is a second reader of it: a
    test it fails while it passes most of the others is likely wrong (a value the description does not give, a
    call it does not describe). One that passes fewer than half tells nothing, and all the tests stay.
    """
    passed = [name for name in made.kept if (found := _outcome_of(run, made.path, name)) and found.outcome == "passed"]
    if len(passed) == len(made.kept) or len(passed) * 2 <= len(made.kept):
        return
    for name in made.kept:
        if name not in passed:
            made.refused[name] = DISPUTED
    made.kept = passed
    made.text = _criteria_file(requirement, made.model, kept_file(made.code, passed))


def _criteria_file(requirement: Requirement, model: str, body: str) -> str:
    written_for = f"({CRITERIA_MARK}{criteria_digest(requirement)})"
    header = f"{HEADER} {requirement.source}, requirement {requirement.id}: tests {model} wrote for its acceptance " \
             f"criteria, each failing on the code as it was {written_for}."  # fmt: skip
    marker = "" if requirement.whole_file else f"\npytestmark = pytest.mark.req({requirement.id!r})\n"
    if marker and "import pytest" not in body:
        body = "import pytest\n" + body
    return stamped(header, body + marker)


def prompt_for_tester(requirement: Requirement, files: dict[str, str | None]) -> str:
    """The requirement, its criteria one per line, the files it names as they are now, and a test file to start
    from that imports what those files define (small models copy a shape far better than they follow a rule)."""
    parts = [f"The requirement ({requirement.source}):\n{requirement.text.strip()}"]
    if requirement.criteria:
        parts.append("Its acceptance criteria:\n" + "\n".join(f"- {criterion}" for criterion in requirement.criteria))
    for path, text in files.items():
        shown = "(does not exist yet)" if text is None else f"```python\n{text[:8000]}\n```"
        parts.append(f"{path}:\n{shown}")
    parts.append(TESTER_FORMAT)
    start = start_of_tests({module: files.get(path) for module, path in python_modules(requirement).items()})
    if start:
        parts.append(f"Start from:\n```python\n{start}```")
    return "\n\n".join(parts)


def start_of_tests(modules: dict[str, str | None]) -> str:
    """The first lines of a test file: pytest and the public functions and classes of each module imported, and
    one test of the first function (empty when the modules define nothing to import yet)."""
    imports: list[str] = []
    first: ast.FunctionDef | None = None
    for module, text in modules.items():
        defined = _public_definitions(text)
        if defined:
            imports.append(f"from {module} import {', '.join(node.name for node in defined)}")
            first = first or next((node for node in defined if isinstance(node, ast.FunctionDef)), None)
    if not imports:
        return ""
    lines = ["import pytest", "", *imports, "", ""]
    if first is not None:
        arguments = ", ".join("..." for _ in first.args.args)
        lines += [f"def test_{first.name}_...():", '    """<the sentence this test checks>"""',
                  f"    assert {first.name}({arguments}) == ...", ""]  # fmt: skip
    return "\n".join(lines)


def _public_definitions(text: str | None) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    try:
        tree = ast.parse(text or "")
    except (SyntaxError, ValueError):
        return []
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [node for node in tree.body if isinstance(node, kinds) and not node.name.startswith("_")]


def reply_code(reply: str) -> str | None:
    """The test file in a reply: its longest Python block, or None when it has none that parses.

    A reply cut off at its token limit leaves its last block open: what of it parses, once the unfinished lines
    at its end are dropped, is kept (the last test, cut in the middle, goes; the ones before it stay)."""
    blocks = sorted((match.group("code") for match in _FENCE.finditer(reply)), key=len, reverse=True)
    for code in [*blocks, *_unclosed(reply, blocks)]:
        try:
            ast.parse(code)
        except SyntaxError:
            continue
        return code
    return None


def _unclosed(reply: str, closed: Sequence[str]) -> list[str]:
    """The open last block of a cut-off reply, shortened line by line from its end (longest first)."""
    opened = _OPEN_FENCE.search(reply)
    if opened is None or (closed and reply.rstrip().endswith("```")):
        return []
    lines = reply[opened.end() :].splitlines()
    return ["\n".join(lines[:end]) + "\n" for end in range(len(lines), max(0, len(lines) - _CUT_LINES), -1)]


def defined_test_names(code: str) -> list[str]:
    """The tests of a test file, in order (``Class::name`` for a method)."""
    return [name for name, _ in defined_test_nodes(ast.parse(code).body)]


def static_refusals(code: str) -> dict[str, str]:
    """Test name -> why it asserts nothing, for each test that does not check anything."""
    refused: dict[str, str] = {}
    for name, node in defined_test_nodes(ast.parse(code).body):
        checks = [child for child in ast.walk(node) if _is_check(child)]
        if not checks:
            refused[name] = "asserts nothing (no assert, pytest.raises or assert* call)"
        elif all(isinstance(check, ast.Assert) and _tautology(check.test) for check in checks):
            refused[name] = f"asserts only a tautology ({ast.unparse(checks[0])})"
    return refused


def _is_check(node: ast.AST) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func)
        return name.endswith(("pytest.raises", "pytest.fail")) or name.split(".")[-1].startswith("assert")
    return False


def _tautology(test: ast.expr) -> bool:
    if isinstance(test, ast.Constant):
        return True
    if isinstance(test, ast.Compare) and len(test.comparators) == 1:
        left, right = test.left, test.comparators[0]
        constants = isinstance(left, ast.Constant) and isinstance(right, ast.Constant)
        return constants or ast.unparse(left) == ast.unparse(right)
    return False


def red_first(run: TestRun, test_file: str, names: Sequence[str], modules: Collection[str]) -> dict[str, str | None]:
    """Test name -> None when it fails on the current code for the requirement's reason, else why it is refused.

    ``modules`` are the modules the requirement's ``Files:`` name: a test may fail because they (or names in them)
    do not exist yet, which is the work to do; any other missing module is the test's own problem.
    """
    file_error = next((o for tid, o in run.outcomes.items() if tid == test_file and o.outcome == "error"), None)
    verdicts: dict[str, str | None] = {}
    for name in names:
        outcome = file_error or _outcome_of(run, test_file, name)
        if outcome is not None and outcome.is_failing and _wrong_call(outcome, test_file):
            verdicts[name] = f"fails for a reason of its own: {_wrong_call(outcome, test_file)}"
            continue
        if outcome is None:
            verdicts[name] = "was not run (not collected)"
        elif outcome.outcome == "passed":
            verdicts[name] = "passes on the current code: it proves nothing about the work to do"
        elif outcome.outcome == "skipped":
            verdicts[name] = "is skipped on the current code"
        else:
            verdicts[name] = _own_error(outcome, modules)
    return verdicts


def _outcome_of(run: TestRun, test_file: str, name: str) -> TestOutcome | None:
    exact = run.outcomes.get(f"{test_file}::{name}")
    if exact is not None:
        return exact
    prefix = f"{test_file}::{name}["
    params = [outcome for test_id, outcome in run.outcomes.items() if test_id.startswith(prefix)]
    failing = [outcome for outcome in params if outcome.is_failing]
    chosen = failing or params
    return chosen[0] if chosen else None


def _wrong_call(outcome: TestOutcome, test_file: str) -> str:
    """A call the test makes with arguments the definition does not take: the stub fixes the interface, so such a
    test cannot pass without changing it (``value('black', 'brown')`` for ``def value(colors)``)."""
    text = f"{outcome.message}\n{outcome.details}"
    arity = _ARITY.search(text)
    if arity is None or not re.search(rf"{re.escape(test_file)}:\d+: TypeError", text):
        return ""  # raised inside the code under test, not at the test's own call: the work to do
    return f"it calls {arity.group('name')}() with arguments its definition does not take"


def _own_error(outcome: TestOutcome, modules: Collection[str]) -> str | None:
    """Why a failure is the test's own, or None when it is the requirement's (an assertion, a missing target)."""
    text = f"{outcome.message}\n{outcome.details}"
    missing = _MISSING.search(text)
    if missing:
        name = missing.group("module") or missing.group("name")
        if name.split(".")[0] in {module.split(".")[0] for module in modules}:
            return None
        return f"fails for a reason of its own: it imports {name}, which is neither installed nor named in Files:"
    own = next((marker for marker in _OWN_ERRORS if marker in text), None)
    if own is not None:
        return f"fails for a reason of its own: {outcome.message.strip()[:200] or own}"
    return None


def kept_file(code: str, kept: Collection[str]) -> str:
    """The test file with only the kept tests (imports, helpers, fixtures and set-up methods stay)."""
    tree = ast.parse(code)
    _keep_only(tree.body, set(kept), "")
    return ast.unparse(tree) + "\n"


def _keep_only(body: list[ast.stmt], kept: set[str], prefix: str) -> None:
    for node in list(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            if f"{prefix}{node.name}" not in kept:
                body.remove(node)
        elif isinstance(node, ast.ClassDef) and is_test_class(node):
            _keep_only(node.body, kept, f"{prefix}{node.name}::")
            if not node.body:
                node.body.append(ast.Pass())
