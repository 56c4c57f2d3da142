"""`autodev spec check` end to end: real projects, pytest's own collection, what the user reads and the exit code.

The findings themselves are tested in process in test_spec_lint.py; here each test is a project a user could have.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import autodev, write_files

pytestmark = pytest.mark.req("SPEC-1")

SPEC = """# Slugs

## SLUG-1: slugify

Files: ../outside.py, /etc/passwd

- WHEN slug("A b") is called THE SYSTEM SHALL return "a-b"

## SLUG-2: lower case

- WHEN slug("AB") is called THE SYSTEM SHALL return "ab"

## SLUG-1: again

- WHEN slug("") is called THE SYSTEM SHALL return ""

## SLUG-3: itself

Depends: SLUG-3

- WHEN slug("-") is called THE SYSTEM SHALL return ""
"""
TESTS = """import pytest


@pytest.mark.req("SLUG-2")
def test_lower():
    pass


@pytest.mark.req("SLUG-22")
@pytest.mark.parametrize("text", ["a", "b"])
def test_typo(text):
    pass
"""
UNREGISTERED = (
    "pytest.ini:1: warning: the tests use @pytest.mark.req, but the pytest configuration does not register it: "
    "autodev's runs do, a plain `pytest` warns (and fails under --strict-markers); add `req: the requirement a test "
    "proves` to its `markers`"
)
FINDINGS = [
    "SPEC.md:5: error: Files: '../outside.py' is outside the project",
    "SPEC.md:5: error: Files: '/etc/passwd' is outside the project",
    "SPEC.md:13: error: duplicate requirement ID SLUG-1 (first defined at SPEC.md:3)",
    "SPEC.md:17: error: dependency cycle: SLUG-3 -> SLUG-3",
    UNREGISTERED,
    "tests/test_a.py:9: error: test test_typo names requirement SLUG-22, which no spec defines; did you mean SLUG-2?",
]
CALC_SPEC = "# Calculator\n\n## CALC-1: add\n\nFiles: calc.py\n\n- WHEN add(1, 2) THE SYSTEM SHALL return 3\n"
CALC_TEST = '"""CALC-1"""\nfrom calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n'


def project(root: Path, files: dict[str, str]) -> Path:
    config = f"[project]\ntest_command = {json.dumps(f'{sys.executable} -m pytest')}\n"
    write_files(root, {"autodev.toml": config, **files})
    return root


def check(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = autodev(root, "spec", "check", *args)
    return code, capsys.readouterr().out.splitlines()


class TestLint:
    def test_every_finding_in_one_format_and_the_lint_goes_on_after_each(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Duplicate IDs, a cycle, Files: outside the project and a marker naming no requirement: all reported as
        `file:line: error: message`, exit 1 (a duplicate ID no longer stops the lint with exit 2); the req marker
        the project's pytest configuration does not register is a warning."""
        root = project(tmp_path, {"SPEC.md": SPEC, "tests/test_a.py": TESTS})
        assert check(root, capsys) == (1, FINDINGS)

    def test_json_is_one_object_with_counts_and_the_same_findings(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--json prints one object (requirements, errors, warnings, diagnostics) and exits as the text form does."""
        root = project(tmp_path, {"SPEC.md": SPEC, "tests/test_a.py": TESTS})
        capsys.readouterr()
        assert autodev(root, "spec", "check", "--json") == 1
        report: dict[str, Any] = json.loads(capsys.readouterr().out)
        assert {key: report[key] for key in ("requirements", "errors", "warnings")} == {
            "requirements": 4,
            "errors": 5,
            "warnings": 1,
        }
        shown = [f"{d['file']}:{d['line']}: {d['level']}: {d['message']}" for d in report["diagnostics"]]
        assert shown == FINDINGS


class TestCollectionProblems:
    def test_a_conftest_that_raises_is_an_error_in_pytests_words(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """pytest cannot even start collecting: the conftest.py is named with pytest's exception line, exit 1."""
        files = {"SPEC.md": CALC_SPEC, "tests/test_calc.py": CALC_TEST}
        root = project(tmp_path, {**files, "tests/conftest.py": "\nraise RuntimeError('the fixtures are broken')\n"})
        assert check(root, capsys) == (
            1,
            ["tests/conftest.py:2: error: pytest cannot collect the tests: RuntimeError: the fixtures are broken"],
        )

    def test_a_syntax_error_in_a_test_file_is_an_error_at_its_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A test file that does not parse is the user's to fix (the model may not edit tests): error, exit 1; the
        test importing a module nobody wrote yet is autodev's work and is not reported, nor is a req marker that
        the configuration registers."""
        marked = 'import pytest\nfrom calc import add\n\n\n@pytest.mark.req("CALC-1")\ndef test_add():\n    pass\n'
        files = {
            "SPEC.md": CALC_SPEC,
            "pytest.ini": "[pytest]\nmarkers =\n    req(id): the requirement a test proves\n",
            "tests/test_calc.py": marked,
            "tests/test_bad.py": "\n\ndef test_x(:\n",
        }
        assert check(project(tmp_path, files), capsys) == (
            1,
            ["tests/test_bad.py:3: error: pytest cannot collect the tests: SyntaxError: invalid syntax"],
        )

    def test_an_unregistered_marker_under_strict_markers_is_an_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--strict-markers with a marker the configuration does not know: pytest's message; `req` itself is fine."""
        slow = 'import pytest\n\n\n@pytest.mark.req("CALC-1")\n@pytest.mark.slow\ndef test_slow():\n    pass\n'
        files = {"SPEC.md": CALC_SPEC, "pytest.ini": "[pytest]\naddopts = --strict-markers\n", "tests/test_s.py": slow}
        assert check(project(tmp_path, files), capsys) == (
            1,
            [
                UNREGISTERED,
                "tests/test_s.py:1: error: pytest cannot collect the tests: "
                "'slow' not found in `markers` configuration option",
            ],
        )
