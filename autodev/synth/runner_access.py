"""Refuse code that reaches into the test runner from inside the process the tests run in.

No sandbox stops code under test from patching the runner it is loaded into: it can import pytest and replace
``pytest.raises``, find pytest's objects through ``gc.get_objects()`` and flip every report to passed, end the
process early with ``os._exit(0)`` from an ``atexit`` handler, trace the test functions, or rebind builtins. A
module that is meant to be solving an exercise has no reason to do any of that, so a reply whose Python code
does is refused before any test runs, with a reason the model can act on. Projects whose code legitimately
imports pytest (a pytest plugin) turn the check off with ``[tests] allow_runner_access = true``.

The check reads the code's syntax tree only; it is a second line of defence next to the copy the tests run in,
not a proof: code that builds a module name at run time is not caught here.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from autodev.errors import EditRejectedError
from autodev.synth.guard import is_test_path

RUNNER_MODULES: frozenset[str] = frozenset({"pytest", "_pytest", "pluggy", "py", "atexit"})
"""Modules code under test may not import at all: the runner, its plugin system and helpers, and exit hooks."""

_WATCHED_MODULES = RUNNER_MODULES | {"gc", "os", "posix", "sys", "threading", "builtins", "importlib"}
_FORBIDDEN_ATTRIBUTES: dict[str, frozenset[str]] = {
    "gc": frozenset({"get_objects", "get_referrers", "get_referents"}),
    "os": frozenset({"_exit"}),
    "posix": frozenset({"_exit"}),
    "sys": frozenset({"settrace", "setprofile", "monitoring"}),
    "threading": frozenset({"settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads"}),
}
_WHY = {
    "gc": "reaches the test runner's objects through the garbage collector",
    "os": "ends the process without letting the test runner report",
    "posix": "ends the process without letting the test runner report",
    "sys": "traces or hooks the interpreter the test runner runs in",
    "threading": "traces the threads the test runner runs in",
}
_ADVICE = "code under test must not touch the test runner; write the module's own logic"


@dataclass(frozen=True)
class RunnerAccess:
    """One place where a file reaches into the test runner."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.what}"


def runner_access(changes: Mapping[str, str]) -> list[RunnerAccess]:
    """Every place in the changed Python files (not the tests) that reaches into the test runner."""
    found: list[RunnerAccess] = []
    for path, text in sorted(changes.items()):
        if not path.endswith(".py") or is_test_path(path):
            continue
        try:
            tree = ast.parse(text, filename=path)
        except (SyntaxError, ValueError):
            continue  # the tests will say it does not compile
        found.extend(RunnerAccess(path, line, what) for line, what in _Finder().findings(tree))
    return found


def check_runner_access(changes: Mapping[str, str]) -> None:
    """EditRejectedError naming the first few places, when any changed file reaches into the test runner."""
    found = runner_access(changes)
    if not found:
        return
    shown = "; ".join(map(str, found[:3])) + ("; ..." if len(found) > 3 else "")
    raise EditRejectedError(
        f"Your reply was not tested: {shown}: {_ADVICE}.",
        summary=f"the reply's code reaches into the test runner ({shown})",
    )


def _top(name: str) -> str:
    return name.split(".", 1)[0]


class _Finder(ast.NodeVisitor):
    """Walks one module, knowing which local names are bound to the watched modules (``import os as o``)."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {name: name for name in _WATCHED_MODULES}
        self.aliases["__builtins__"] = "builtins"
        self.found: list[tuple[int, str]] = []

    def findings(self, tree: ast.Module) -> list[tuple[int, str]]:
        for node in ast.walk(tree):  # the aliases first, so a use before the import's line is still known
            if isinstance(node, ast.Import):
                self._bind_imports(node)
        self.visit(tree)
        return sorted(set(self.found))

    def _flag(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what))

    def _bind_imports(self, node: ast.Import) -> None:
        for alias in node.names:
            if _top(alias.name) in _WATCHED_MODULES:
                self.aliases[alias.asname or _top(alias.name)] = alias.name if alias.asname else _top(alias.name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _top(alias.name) in RUNNER_MODULES:
                self._flag(node, f"imports {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not module:
            return
        if _top(module) in RUNNER_MODULES:
            self._flag(node, f"imports {module}")
            return
        forbidden = _FORBIDDEN_ATTRIBUTES.get(module, frozenset())
        for alias in node.names:
            if alias.name in forbidden:
                self._flag(node, f"imports {module}.{alias.name}, which {_WHY[module]}")
            elif module == "importlib" and alias.name == "import_module":
                self.aliases[alias.asname or alias.name] = "importlib.import_module"
            elif module == "sys" and alias.name == "modules":
                self.aliases[alias.asname or alias.name] = "sys.modules"
        self.generic_visit(node)

    def _module(self, node: ast.expr) -> str | None:
        """The watched module ``node`` stands for: a bound name, ``__import__("x")`` or ``sys.modules["x"]``."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Call):
            return _literal_module(node, self._callee(node.func))
        if isinstance(node, ast.Subscript) and self._callee(node.value) == "sys.modules":
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return key.value
        return None

    def _callee(self, func: ast.expr) -> str | None:
        """``importlib.import_module``, ``__import__`` or ``sys.modules`` when ``func`` names one of them."""
        if isinstance(func, ast.Name):
            if func.id == "__import__":
                return "__import__"
            return self.aliases.get(func.id) if func.id in self.aliases else None
        if isinstance(func, ast.Attribute):
            return f"{self._module(func.value)}.{func.attr}"
        return None

    def visit_Call(self, node: ast.Call) -> None:
        module = _literal_module(node, self._callee(node.func))
        if module is not None and _top(module) in RUNNER_MODULES:
            self._flag(node, f"imports {module}")
        if self._sets_attribute(node) and self._module(node.args[0]) == "builtins":
            self._flag(node, "changes a builtin for every module, the test runner's too")
        self.generic_visit(node)

    @staticmethod
    def _sets_attribute(node: ast.Call) -> bool:
        return isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") and bool(node.args)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        module = self._module(node)
        if module is not None and _top(module) in RUNNER_MODULES and self._callee(node.value) == "sys.modules":
            self._flag(node, f"takes {module} from sys.modules")
        if isinstance(node.ctx, (ast.Store, ast.Del)) and self._module(node.value) == "builtins":
            self._flag(node, "changes a builtin for every module, the test runner's too")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        module = self._module(node.value)
        if module is not None:
            if node.attr in _FORBIDDEN_ATTRIBUTES.get(module, frozenset()):
                self._flag(node, f"uses {module}.{node.attr}, which {_WHY[module]}")
            if module == "builtins" and isinstance(node.ctx, (ast.Store, ast.Del)):
                self._flag(node, "changes a builtin for every module, the test runner's too")
        self.generic_visit(node)


def _literal_module(call: ast.Call, callee: str | None) -> str | None:
    """The module a dynamic import with a literal name asks for: ``__import__("pytest")``."""
    if callee not in ("__import__", "importlib.import_module", "importlib.__import__", "builtins.__import__"):
        return None
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None
