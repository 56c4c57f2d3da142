"""Target files: from Files: hints, else from the tests' imports."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_files

from autodev.synth.targets import choose_targets, imported_modules, targets_from_tests

pytestmark = pytest.mark.req("CORE-1")


class TestImportedModules:
    def test_absolute_imports_in_order(self) -> None:
        """Both import forms count; relative imports and duplicates do not."""
        source = "import os\nfrom temps import to_kelvin\nfrom . import x\nimport temps\nimport a.b\n"
        assert imported_modules(source) == ["os", "temps", "a.b"]

    def test_syntax_error_gives_nothing(self) -> None:
        """A broken test file yields no guess rather than an exception."""
        assert imported_modules("def (:\n") == []


class TestTargetsFromTests:
    def test_module_to_write_is_named_from_import(self, tmp_path: Path) -> None:
        """`from temps import to_kelvin` names temps.py even before it exists; stdlib and pytest do not count."""
        source = "import pytest\nimport json\nfrom temps import to_kelvin\n"
        write_files(tmp_path, {"tests/test_temps.py": source})
        assert targets_from_tests(tmp_path, ["tests/test_temps.py"], [source]) == ["temps.py"]

    def test_existing_package_and_src_layout(self, tmp_path: Path) -> None:
        """Existing modules are found as packages, plain modules or under src/."""
        write_files(tmp_path, {"pkg/__init__.py": "", "src/lib.py": "", "pkg/sub.py": ""})
        source = "import pkg\nfrom lib import f\nfrom pkg.sub import g\n"
        assert targets_from_tests(tmp_path, [], [source]) == ["pkg/__init__.py", "src/lib.py", "pkg/sub.py"]

    def test_installed_packages_and_sibling_tests_are_not_targets(self, tmp_path: Path) -> None:
        """Installed third-party modules, conftest and other test modules are never written."""
        source = "import pydantic\nimport conftest\nfrom test_helpers import x\n"
        assert targets_from_tests(tmp_path, ["tests/test_helpers.py"], [source]) == []


class TestChooseTargets:
    def test_hints_win_over_imports(self, tmp_path: Path) -> None:
        """What the user wrote in Files: is what autodev writes."""
        assert choose_targets(tmp_path, ["impl.py"], ["t.py"], ["from temps import x\n"]) == ["impl.py"]

    def test_imports_when_no_hints(self, tmp_path: Path) -> None:
        """Without hints the tests decide."""
        assert choose_targets(tmp_path, [], ["t.py"], ["from temps import x\n"]) == ["temps.py"]
