"""Extra inputs to compare green candidates on, derived from the tests' own calls (MBR-exec, CodeT).

Candidates that all pass the tests can still differ on inputs the tests do not try; the one whose outputs agree
with most others is most likely right. The inputs come from the pristine tests' ``assert f(ARGS) == EXPECTED``
calls (:func:`autodev.verify.special_case.expectations`), one argument varied at a time: a number +1, -1, *2; a
string shortened and extended; a list, tuple or dict with one element dropped or one repeated. Nothing else is
varied (booleans, None, calls, names).

The probes run the way tests run: a generated test module in the candidate's scratch copy only, next to the
test file whose call it varies (so its imports and the project's collection settings apply alike), run by the
project's test command with its confinement. Each probe test raises ``AssertionError`` with the result's
canonical form (sets sorted, floats rounded) in its message, so the junit report carries every output; an input
the candidate raises on is an output too (the exception's line). The module's tests are new ids, never the
pristine tests, so the pristine-test checks (verify/pristine.py, verify/session.py) are not asked of these runs:
only their outcomes are read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict

from autodev.verify.junit import TestOutcome
from autodev.verify.special_case import Expectation, expectations

PROBE_TEST = "test_autodev_probe_"
NO_RESULT = "no result"
_MESSAGE_CHARS = 120
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")

_HEADER = '''\
"""Probe inputs written by autodev to compare green candidates; it exists only in a scratch copy."""

import hashlib as _autodev_hashlib


def _autodev_canon(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (set, frozenset)):
        return ("set", sorted(repr(_autodev_canon(item)) for item in value))
    if isinstance(value, dict):
        return ("dict", sorted((repr(_autodev_canon(k)), repr(_autodev_canon(v))) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_autodev_canon(item) for item in value])
    return value


def _autodev_report(value):
    text = repr(_autodev_canon(value))
    digest = _autodev_hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    raise AssertionError("probe " + digest + " " + text[:{chars}])
'''.replace("{chars}", str(_MESSAGE_CHARS))


class Probe(BaseModel):
    """One call to make: the function as the test writes it, and arguments the tests do not try."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    test_file: str
    function: str
    args: tuple[object, ...]
    keywords: tuple[str, ...] = ()

    @property
    def call(self) -> str:
        positional = len(self.args) - len(self.keywords)
        shown = [repr(arg) for arg in self.args[:positional]]
        shown += [f"{name}={value!r}" for name, value in zip(self.keywords, self.args[positional:], strict=True)]
        return f"{self.function}({', '.join(shown)})"


def derive_probes(tests: Mapping[str, str], limit: int) -> list[Probe]:
    """Up to ``limit`` calls with one argument of a tested call varied, taken in turn from each tested call.

    Only calls of a name the test module imports are used (the probe module copies its imports); a varied call
    that a test already makes is left out.
    """
    if limit <= 0:
        return []
    usable = [e for e in expectations(tests, distinctive_only=False) if _callable_from_imports(e, tests)]
    seen = {(e.function, _shown(e.args)) for e in usable}  # what the tests try, then what is taken
    per_call = [_varied(e) for e in usable]
    probes: list[Probe] = []
    while per_call and len(probes) < limit:
        for variants in list(per_call):
            probe = next((p for p in variants if (p.function, _shown(p.args)) not in seen), None)
            if probe is None:
                per_call.remove(variants)
                continue
            seen.add((probe.function, _shown(probe.args)))
            probes.append(probe)
            if len(probes) >= limit:
                break
    return probes


def variants(value: object) -> list[object]:
    """Values near ``value`` of the same type; none for what cannot be varied (booleans, None, other objects)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        found: list[object] = [value + 1, value - 1, value * 2]
    elif isinstance(value, str):
        found = [value[:-1], value + (value[-1:] or "a")]
    elif isinstance(value, bytes):
        found = [value[:-1], value + (value[-1:] or b"a")]
    elif isinstance(value, list):
        found = [value[:-1], value[1:], [*value, value[0]]] if value else []
    elif isinstance(value, tuple):
        found = [value[:-1], value[1:], (*value, value[0])] if value else []
    elif isinstance(value, dict):
        found = [dict(list(value.items())[:-1])] if value else []
    else:
        return []
    unique: list[object] = []
    for item in found:
        if _shown((item,)) != _shown((value,)) and all(_shown((item,)) != _shown((u,)) for u in unique):
            unique.append(item)
    return unique


def probe_modules(tests: Mapping[str, str], probes: Sequence[Probe]) -> dict[str, str]:
    """The probe test modules (path -> text), one beside each test file a probe came from.

    The ``i``-th probe is the test ``test_autodev_probe_i``; the module copies its test file's imports.
    """
    modules: dict[str, list[str]] = {}
    for index, probe in enumerate(probes):
        path = probe_path(probe.test_file)
        if path not in modules:
            modules[path] = [_HEADER, *_imports(tests[probe.test_file])]
        modules[path].append(f"\n\ndef {PROBE_TEST}{index}():\n    _autodev_report({probe.call})\n")
    return {path: "\n".join(parts) for path, parts in modules.items()}


def probe_path(test_file: str) -> str:
    """The probe module's path beside ``test_file``, named so that the same collection pattern finds it:
    ``tests/test_x.py`` -> ``tests/test_x_autodev_probe.py``, ``x_test.py`` -> ``autodev_probe_x_test.py``."""
    path = PurePosixPath(test_file)
    name = f"{path.stem}_autodev_probe.py" if path.name.startswith("test") else f"autodev_probe_{path.name}"
    return str(path.with_name(name))


def probe_outputs(outcomes: Mapping[str, TestOutcome], count: int) -> tuple[str, ...] | None:
    """Each probe's output in a run's outcomes (its kind and message), None when no probe has a result."""
    by_index: dict[int, str] = {}
    for test_id, outcome in outcomes.items():
        name = test_id.rsplit("::", 1)[-1]
        if name.startswith(PROBE_TEST) and name[len(PROBE_TEST) :].isdigit():
            message = _ADDRESS.sub("0x*", outcome.message)  # an object's default repr differs run by run
            by_index[int(name[len(PROBE_TEST) :])] = f"{outcome.outcome}: {message}"
    if not by_index:
        return None
    return tuple(by_index.get(index, NO_RESULT) for index in range(count))


def _varied(expectation: Expectation) -> Iterator[Probe]:
    for position, arg in enumerate(expectation.args):
        for value in variants(arg):
            args = (*expectation.args[:position], value, *expectation.args[position + 1 :])
            yield Probe(test_file=expectation.test_file, function=expectation.function, args=args,
                        keywords=expectation.keywords)  # fmt: skip


def _callable_from_imports(expectation: Expectation, tests: Mapping[str, str]) -> bool:
    """Whether the call can be made from a module with only the test file's imports: the called name is
    imported there, and every argument is written back as a literal."""
    if not expectation.function or "" in expectation.keywords:
        return False
    try:
        root = ast.parse(expectation.function, mode="eval").body
    except SyntaxError:
        return False
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return False
    return root.id in _imported_names(tests[expectation.test_file]) and _literal_args(expectation.args)


def _literal_args(args: tuple[object, ...]) -> bool:
    try:
        return bool(ast.literal_eval(_shown(args)) == args)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _imported_names(text: str) -> set[str]:
    names: set[str] = set()
    for node in _import_nodes(text):
        for alias in node.names:
            names.add(alias.asname or alias.name.split(".")[0])
    return names


def _import_nodes(text: str) -> list[ast.Import | ast.ImportFrom]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    return [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)) and not _star(node)]


def _star(node: ast.Import | ast.ImportFrom) -> bool:
    return any(alias.name == "*" for alias in node.names)


def _imports(text: str) -> list[str]:
    return [ast.unparse(node) for node in _import_nodes(text)]


def _shown(args: tuple[object, ...]) -> str:
    return repr(tuple(args))
