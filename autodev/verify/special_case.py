"""Tell a candidate that special-cases the tests' inputs from one that implements the rule.

Small models "solve" a test such as ``assert fizzbuzz(15) == ["1", "2", "Fizz", ...]`` by returning that very list
when ``n == 15``. The tests pass and nothing is solved. This check reads the pristine tests (Python's ``assert
f(ARGS) == EXPECTED``, ``assert EXPECTED == f(ARGS)`` and unittest's ``assertEqual(f(ARGS), EXPECTED)``, with
literal ARGS and EXPECTED, a name assigned a literal once in the same test standing for it) and flags a pair when
the literals the candidate adds contain the EXPECTED value and every non-trivial literal of ARGS as well.

Only distinctive results count, so that a real solution is never flagged: a container of 3 or more elements, a
string of 6 or more characters, an int of magnitude 1000 or more, and none that the spec given to the model
mentions (a spec that says "return 'Hello, World!'" makes that string legitimate). Literals already in the file
before the candidate changed it are the project's, not the candidate's. Python only: other languages' candidates
are not checked.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from autodev.discovery import is_test_path
from autodev.spec.model import Requirement

_EQUAL_ASSERTS = frozenset(
    {"assertEqual", "assertEquals", "assertListEqual", "assertTupleEqual", "assertDictEqual", "assertSetEqual",
     "assertCountEqual", "assertMultiLineEqual", "assertSequenceEqual"}
)  # fmt: skip
_MIN_ELEMENTS = 3
_MIN_CHARS = 6
_MIN_INT = 1000
_TRIVIAL_NUMBERS = frozenset({-1, 0, 1, 2})

_LITERAL_NODES = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp)

Key = tuple[object, ...]  # a literal made hashable and comparable across list and tuple (see _key)


@dataclass(frozen=True)
class Expectation:
    """One tested call with literal arguments and its literal expected result."""

    test_file: str
    call: str  # the call as written in the test, e.g. ``fizzbuzz(15)``
    expected: object
    args: tuple[object, ...]
    function: str = ""  # the called expression as written, e.g. ``fizzbuzz`` or ``Shop().price``
    keywords: tuple[str, ...] = ()  # the names of the last ``len(keywords)`` of ``args``, passed by keyword


@dataclass(frozen=True)
class SpecialCase:
    """A candidate file that holds a tested call's expected result and its arguments as literals."""

    path: str
    expectation: Expectation

    def __str__(self) -> str:
        return (
            f"{self.path} hard-codes the expected result of {self.expectation.call} from "
            f"{self.expectation.test_file}: write the general rule"
        )


def expectations(tests: Mapping[str, str], *, distinctive_only: bool = True) -> list[Expectation]:
    """The (call, expected) pairs of the Python test files (path -> text) whose expected result is distinctive
    (with ``distinctive_only`` false: every pair, as the consensus probes derive inputs from them all)."""
    found: list[Expectation] = []
    for path, text in sorted(tests.items()):
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(text, filename=path)
        except (SyntaxError, ValueError):
            continue
        found.extend(e for e in _expectations(path, tree) if not distinctive_only or _distinctive(e.expected))
    return found


def special_cases(
    changes: Mapping[str, str],
    before: Mapping[str, str | None],
    tests: Mapping[str, str],
    spec: str,
) -> list[SpecialCase]:
    """The tested calls whose results the changed Python files (``changes``; ``before``: their text as it was)
    hard-code, leaving out results that the ``spec`` text mentions."""
    wanted = [e for e in expectations(tests) if not _mentioned(e.expected, spec)]
    if not wanted:
        return []
    found: list[SpecialCase] = []
    for path, text in sorted(changes.items()):
        if not path.endswith(".py") or is_test_path(path):
            continue
        added = _literals(text) - _literals(before.get(path) or "")
        for expectation in wanted:
            needed = [_key(expectation.expected), *(_key(a) for a in _nontrivial(expectation.args))]
            if all(added[key] > 0 for key in needed):
                found.append(SpecialCase(path, expectation))
    return found


def _expectations(path: str, tree: ast.Module) -> Iterator[Expectation]:
    for scope in _scopes(tree):
        names = _assigned_literals(scope)
        for node in ast.walk(scope):
            for call, expected in _compared(node):
                pair = _literal_pair(call, expected, names)
                if pair is not None:
                    keywords = tuple(k.arg or "" for k in call.keywords)
                    yield Expectation(path, _shown(call), pair[1], pair[0], ast.unparse(call.func), keywords)


def _scopes(tree: ast.Module) -> Iterator[ast.AST]:
    """Each test function (its own names), and the module for asserts outside any function."""
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    yield from functions
    top = ast.Module(body=[n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                      ast.ClassDef))], type_ignores=[])  # fmt: skip
    yield top


def _compared(node: ast.AST) -> Iterator[tuple[ast.Call, ast.expr]]:
    """``f(...) == x``, ``x == f(...)`` in an assert, and ``assertEqual`` with a call on either side."""
    sides = _sides(node)
    if sides is None:
        return
    left, right = sides
    if isinstance(left, ast.Call):
        yield left, right
    if isinstance(right, ast.Call):
        yield right, left


def _sides(node: ast.AST) -> tuple[ast.expr, ast.expr] | None:
    if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
        test = node.test
        if len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            return test.left, test.comparators[0]
        return None
    is_assert = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _EQUAL_ASSERTS
    if is_assert and isinstance(node, ast.Call) and len(node.args) >= 2:
        return node.args[0], node.args[1]
    return None


def _assigned_literals(scope: ast.AST) -> dict[str, object]:
    """Names assigned exactly once in the scope, to a literal: ``expected = [...]`` then ``assert f(x) == expected``."""
    values: dict[str, object] = {}
    counts: Counter[str] = Counter()
    for node in ast.walk(scope):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                for name in ast.walk(target) if isinstance(target, ast.AST) else ():
                    if isinstance(name, ast.Name):
                        counts[name.id] += 1
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                ok, value = _literal(node.value, {})
                if ok:
                    values[node.targets[0].id] = value
    return {name: value for name, value in values.items() if counts[name] == 1}


def _literal(node: ast.expr, names: Mapping[str, object]) -> tuple[bool, object]:
    if isinstance(node, ast.Name) and node.id in names:
        return True, names[node.id]
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _literal_pair(
    call: ast.Call, expected: ast.expr, names: Mapping[str, object]
) -> tuple[tuple[object, ...], object] | None:
    ok, value = _literal(expected, names)
    if not ok:
        return None
    args: list[object] = []
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(arg, ast.Starred):
            return None
        arg_ok, arg_value = _literal(arg, names)
        if not arg_ok:
            return None
        args.append(arg_value)
    return tuple(args), value


def _shown(call: ast.Call) -> str:
    text = ast.unparse(call)
    return text if len(text) <= 80 else text[:77] + "..."


def _distinctive(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return len(value) >= _MIN_ELEMENTS
    if isinstance(value, (str, bytes)):
        return len(value) >= _MIN_CHARS
    if isinstance(value, int):
        return abs(value) >= _MIN_INT
    return False


def _nontrivial(args: Iterable[object]) -> Iterator[object]:
    """The arguments a special case would have to test for: not None, booleans, tiny numbers or empty values."""
    for arg in args:
        if arg is None or isinstance(arg, bool):
            continue
        if isinstance(arg, (int, float)) and arg in _TRIVIAL_NUMBERS:
            continue
        if isinstance(arg, (str, bytes, list, tuple, set, frozenset, dict)) and len(arg) <= 1:
            continue
        yield arg


def _mentioned(value: object, spec: str) -> bool:
    """Whether the spec text shows the value: a string in it, a number as written, a container's repr."""
    if isinstance(value, str):
        return value in spec or value.strip() in spec
    if isinstance(value, int):
        return str(value) in spec or f"{value:,}" in spec
    squeezed = "".join(spec.split())
    for form in (repr(value), repr(list(value)) if isinstance(value, (tuple, set)) else ""):
        if form and "".join(form.split()) in squeezed:
            return True
        if form and "".join(form.replace("'", '"').split()) in squeezed:
            return True
    return False


def _key(value: object) -> Key:
    """A hashable form under which equal literals meet: a list and a tuple of the same items are one."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float, complex)):
        return ("number", value)
    if isinstance(value, (list, tuple)):
        return ("sequence", tuple(_key(item) for item in value))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(_key(item) for item in value))
    if isinstance(value, dict):
        return ("dict", frozenset((_key(k), _key(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def _literals(text: str) -> Counter[Key]:
    """Every literal value in a module: its constants, and its containers that are literal throughout."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return Counter()
    found: Counter[Key] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            found[_key(node.value)] += 1
        elif isinstance(node, _LITERAL_NODES):  # containers, and negative numbers (a unary minus)
            ok, value = _literal(node, {})
            if ok:
                found[_key(value)] += 1
    return found


def spec_text(requirement: Requirement) -> str:
    """The requirement's text as the model is given it: the results it names are not special cases."""
    return "\n".join([requirement.title, requirement.context, requirement.text, *requirement.criteria,
                      *requirement.examples])  # fmt: skip
