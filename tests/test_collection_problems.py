"""Which collection failures are the project's to fix, and pytest's own lines about them (verify/collection.py).

The texts are pytest's formats as it prints them (the end-to-end runs are in test_cli_run.py and
test_spec_check.py); the rule: a failure is the project's unless it is an import of something missing or was
raised in a project file that is not a test file or conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import outcome, pytest_run

from autodev.verify.collection import cannot_collect_reason, problem_in, project_problems, pytest_lines

pytestmark = pytest.mark.req("CORE-1")

ROOT = Path("/work/project")
INTERNAL = "/venv/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule\n    mod = import_path(\n"
SYNTAX_IN_TEST = (
    INTERNAL + 'E     File "/work/project/tests/test_bad.py", line 3\nE       def test_x(:\n'
    "E                  ^\nE   SyntaxError: invalid syntax"
)
SYNTAX_IN_CODE = (
    INTERNAL + "tests/test_calc.py:2: in <module>\n    from calc import add\n"
    'E     File "/work/project/calc.py", line 2\nE       return a +\nE   SyntaxError: invalid syntax'
)
MISSING_MODULE = (
    "tests/test_calc.py:2: in <module>\n    from calc import add\nE   ModuleNotFoundError: No module named 'calc'"
)
RAISED_IN_CODE = (
    "tests/test_calc.py:2: in <module>\n    import calc\ncalc.py:1: in <module>\n    raise ValueError\nE   ValueError"
)
CONFTEST_OUTPUT = (
    "/venv/lib/python3.11/site-packages/pytest_asyncio/plugin.py:306: PytestDeprecationWarning: unset\n"
    "  warnings.warn(PytestDeprecationWarning(_DEFAULT_FIXTURE_LOOP_SCOPE_UNSET))\n"
    "ImportError while loading conftest '/work/project/tests/conftest.py'.\n"
    "tests/conftest.py:1: in <module>\n    raise RuntimeError('boom')\nE   RuntimeError: boom\n"
)


class TestWhoseProblem:
    @pytest.mark.parametrize(
        "text",
        [
            MISSING_MODULE,
            SYNTAX_IN_CODE,
            RAISED_IN_CODE,
            "tests/test_c.py:3: in <module>\n    X = calc.X\nE   AttributeError: module 'calc' has no attribute 'X'",
        ],
        ids=["missing-module", "syntax-error-in-code", "raised-in-code", "missing-attribute"],
    )
    def test_what_writing_code_can_cure_is_not_a_problem(self, text: str) -> None:
        """A module not written yet, or code (not a test file) that breaks at import: the model's work."""
        assert problem_in(text, ROOT, "tests/test_calc.py") is None

    def test_a_syntax_error_in_a_test_file_is_the_projects_at_its_line(self) -> None:
        """A test file that does not parse: the project's, at the line pytest names, with pytest's E lines."""
        problem = problem_in(SYNTAX_IN_TEST, ROOT, "tests/test_bad.py")
        assert problem is not None
        assert (problem.file, problem.line, problem.summary) == ("tests/test_bad.py", 3, "SyntaxError: invalid syntax")
        assert problem.message.splitlines() == [
            'E     File "/work/project/tests/test_bad.py", line 3',
            "E       def test_x(:",
            "E                  ^",
            "E   SyntaxError: invalid syntax",
        ]

    def test_a_failure_without_a_traceback_is_the_projects(self) -> None:
        """An unregistered marker under --strict-markers: one line from pytest, no frame: the project's."""
        text = "'slow' not found in `markers` configuration option"
        problem = problem_in(text, ROOT, "tests/test_s.py")
        assert problem is not None
        assert problem.summary == text

    def test_a_report_message_decides_when_the_details_have_no_e_lines(self) -> None:
        """A junit report whose details are bare still says the exception in its message."""
        assert problem_in("", ROOT, "tests/test_a.py", message="ModuleNotFoundError: No module named 'a'") is None


class TestProjectProblems:
    def test_a_conftest_that_stops_pytest_is_named_from_the_output(self) -> None:
        """pytest exits 4 without a report: the conftest.py it names, pytest's lines without the warnings."""
        run = pytest_run(used_junit=False, exit_code=4, output=CONFTEST_OUTPUT)
        [problem] = project_problems(run, ROOT)
        assert (problem.file, problem.line) == ("tests/conftest.py", 1)
        assert problem.message == (
            "ImportError while loading conftest '/work/project/tests/conftest.py'.\nE   RuntimeError: boom"
        )
        assert cannot_collect_reason([problem]).splitlines() == [
            "pytest cannot collect the tests before any change (tests/conftest.py), so no model was called: fix the "
            "test files, conftest.py or pytest configuration as pytest says below (autodev never edits them), then "
            "run again",
            "  ImportError while loading conftest '/work/project/tests/conftest.py'.",
            "  E   RuntimeError: boom",
        ]

    def test_only_the_projects_collection_errors_are_problems(self) -> None:
        """Of two files that fail to collect, the one waiting for its module is not a problem; passed tests never."""
        run = pytest_run(
            [
                outcome("tests/test_bad.py", "error", "SyntaxError: invalid syntax", SYNTAX_IN_TEST),
                outcome("tests/test_calc.py", "error", "ModuleNotFoundError: No module named 'calc'", MISSING_MODULE),
                outcome("tests/test_ok.py::test_ok", "passed"),
            ]
        )
        assert [problem.file for problem in project_problems(run, ROOT)] == ["tests/test_bad.py"]
        assert "ERROR collecting tests/test_bad.py" in cannot_collect_reason(project_problems(run, ROOT))

    def test_a_directorys_conftest_is_named_rather_than_the_directory(self) -> None:
        """A conftest.py loaded during collection fails as its directory's collector: the conftest.py is named."""
        details = (
            INTERNAL + "tests/sub/conftest.py:1: in <module>\n    raise RuntimeError('sub')\nE   RuntimeError: sub"
        )
        run = pytest_run([outcome("tests/sub", "error", "RuntimeError: sub", details)])
        [problem] = project_problems(run, ROOT)
        assert (problem.file, problem.line, problem.summary) == ("tests/sub/conftest.py", 1, "RuntimeError: sub")

    def test_timed_out_and_non_pytest_runs_have_no_collection_problems(self) -> None:
        """A timeout is reported as one; a command that is not pytest has no collection to judge."""
        timed_out = pytest_run(timed_out=True, output=CONFTEST_OUTPUT)
        other = pytest_run(used_junit=False, exit_code=4, output=CONFTEST_OUTPUT).model_copy(
            update={"command": ["make", "test"]}
        )
        assert project_problems(timed_out, ROOT) == []
        assert project_problems(other, ROOT) == []


def test_pytest_lines_are_trimmed() -> None:
    """Only pytest's error lines, each at most 200 characters, at most the last 12 of them."""
    text = "noise\n" + "".join(f"E   line {n} " + "x" * 300 + "\n" for n in range(20))
    lines = pytest_lines(text).splitlines()
    assert len(lines) == 12
    assert lines[0].startswith("E   line 8 ")
    assert all(len(line) <= 200 and line.endswith("...") for line in lines)
