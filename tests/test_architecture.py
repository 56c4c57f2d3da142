"""The layers of docs/architecture.md, read from the imports: no module imports a layer above its own.

Every import statement counts, including those inside functions and under ``TYPE_CHECKING``: a lazy import is
still a dependency. A module that no layer names fails the test, so a new package is placed on purpose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autodev"

# Lowest first; a module may import its own layer and those below. Keep in step with docs/architecture.md.
LAYERS: list[tuple[str, list[str]]] = [
    ("leaf", ["autodev", "autodev.errors", "autodev.logs", "autodev.records", "autodev.templates",
              "autodev.progress", "autodev.interrupts", "autodev.tokens", "autodev.processes"]),
    ("foundation", ["autodev.fileio", "autodev.journal", "autodev.discovery", "autodev.model_catalog",
                    "autodev.config", "autodev.project", "autodev.config_layers", "autodev.config_show",
                    "autodev.results", "autodev.commands", "autodev.credentials", "autodev.passlock",
                    "autodev.workflow_model", "autodev.roles"]),
    ("domain", ["autodev.spec", "autodev.verify", "autodev.vcs", "autodev.synth", "autodev.ledger", "autodev.plan",
                "autodev.memory", "autodev.increments", "autodev.testgen", "autodev.learn"]),
    ("models", ["autodev.llm"]),
    ("local models", ["autodev.local"]),
    ("routing", ["autodev.route"]),
    ("pass", ["autodev.core"]),
    ("applications", ["autodev.ask", "autodev.bench", "autodev.loop", "autodev.watch", "autodev.init",
                      "autodev.testing", "autodev.workflow"]),
    ("command line", ["autodev.cli", "autodev.__main__"]),
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of the longest prefix naming ``module``; -1 when no layer names it."""
    best, best_length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "autodev" or name.startswith("autodev.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


class TestLayers:
    @pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
    def test_module_imports_nothing_above_its_layer(self, path: Path) -> None:
        """Imports go down (or sideways within a layer), never up: the CLI over the library, errors a leaf."""
        module = module_name(path)
        own = layer_of(module)
        assert own >= 0, f"{module} is in no layer: add it to LAYERS and to docs/architecture.md"
        upward = sorted(
            f"{name} ({LAYERS[layer_of(name)][0]})" for name in imported_modules(path) if layer_of(name) > own
        )
        assert not upward, f"{module} ({LAYERS[own][0]}) imports a layer above it: {', '.join(upward)}"

    def test_the_pass_reaches_routing_only_through_its_facade(self) -> None:
        """autodev.core asks the router (``autodev.route``) and imports none of routing's modules itself."""
        offenders = {
            module_name(path): sorted(n for n in imported_modules(path) if n.startswith("autodev.route."))
            for path in sorted((PACKAGE / "core").rglob("*.py"))
        }
        assert {module: names for module, names in offenders.items() if names} == {}

    def test_errors_is_a_leaf(self) -> None:
        assert imported_modules(PACKAGE / "errors.py") == set()

    def test_an_upward_import_is_reported(self, tmp_path: Path) -> None:
        """The check itself can fail: a domain module importing the pass is named with both layers."""
        probe = tmp_path / "probe.py"
        probe.write_text("from autodev.core.one_pass import run_once\n", encoding="utf-8")
        assert imported_modules(probe) == {"autodev.core.one_pass"}
        assert layer_of("autodev.core.one_pass") > layer_of("autodev.spec.parser")
