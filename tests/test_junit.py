"""Tests for autodev.verify.junit: pytest's junit XML (xunit1) becomes one outcome per node id."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.verify import junit
from autodev.verify.junit import TestOutcome, parse_junit_xml, read_junit_file

pytestmark = pytest.mark.req("CORE-4")

SYNTAX_ERROR_DETAILS = """\
/venv/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule
    mod = import_path(
&lt;frozen importlib._bootstrap&gt;:1204: in _gcd_import
    ???
/venv/lib/python3.11/site-packages/_pytest/assertion/rewrite.py:339: in _rewrite_test
    tree = ast.parse(source, filename=strfn)
E     File &quot;/tmp/p/tests/test_broken.py&quot;, line 1
E       def test_x(:
E                  ^
E   SyntaxError: invalid syntax"""


def report(*cases: str) -> str:
    """A report shaped like the one pytest 8/9 writes with junit_family=xunit1."""
    body = "".join(cases)
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        f'<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="{len(cases)}">{body}'
        "</testsuite></testsuites>"
    )


def case(classname: str, name: str, file: str | None = "tests/test_a.py", inner: str = "") -> str:
    file_attr = f' file="{file}"' if file is not None else ""
    return f'<testcase classname="{classname}" name="{name}"{file_attr} line="1" time="0.001">{inner}</testcase>'


def parsed(xml: str, root: Path | None = None) -> dict[str, TestOutcome]:
    outcomes = parse_junit_xml(xml, root=root)
    assert outcomes is not None
    return outcomes


class TestParseJunitXml:
    def test_function_ids_join_the_file_and_the_test_name(self) -> None:
        """A module-level test gets the node id pytest prints: file::name."""
        outcomes = parsed(report(case("tests.test_a", "test_ok")))
        assert outcomes == {
            "tests/test_a.py::test_ok": TestOutcome(test_id="tests/test_a.py::test_ok", outcome="passed")
        }

    def test_class_and_nested_class_parts_come_from_the_classname(self) -> None:
        """Classes (also nested ones) become their own :: parts, as in pytest's node ids."""
        outcomes = parsed(
            report(
                case("tests.test_a.TestCls", "test_m"),
                case("tests.test_a.TestCls.TestInner", "test_n"),
                case("tests.sub.test_b.TestX", "test_y", file="tests/sub/test_b.py"),
            )
        )
        assert list(outcomes) == [
            "tests/test_a.py::TestCls::test_m",
            "tests/test_a.py::TestCls::TestInner::test_n",
            "tests/sub/test_b.py::TestX::test_y",
        ]

    def test_directories_with_dots_and_parameters_with_colons_keep_their_names(self) -> None:
        """Dots in directory names and '::' or spaces inside parameter ids do not confuse the id."""
        outcomes = parsed(
            report(
                case("tests.v1.2.test_x", "test_p[x::y]", file="tests/v1.2/test_x.py"),
                case("tests.test_a", "test_p[a b]"),
            )
        )
        assert list(outcomes) == ["tests/v1.2/test_x.py::test_p[x::y]", "tests/test_a.py::test_p[a b]"]

    def test_failure_keeps_the_first_message_line_and_the_traceback(self) -> None:
        """A failure's message is its first line; details hold the traceback text, unescaped."""
        failure = (
            '<failure message="AssertionError: x should be two&#10;assert 1 == 2">'
            "&gt;       assert x == 2\nE       AssertionError: x should be two\n\n"
            "tests/test_a.py:5: AssertionError</failure>"
        )
        outcome = parsed(report(case("tests.test_a", "test_bad", inner=failure)))["tests/test_a.py::test_bad"]
        assert outcome.outcome == "failed"
        assert outcome.message == "AssertionError: x should be two"
        assert outcome.details.startswith(">       assert x == 2")
        assert outcome.details.endswith("tests/test_a.py:5: AssertionError")

    def test_setup_errors_and_skips_are_told_apart(self) -> None:
        """<error> is an error, <skipped> (also xfail) is skipped with its reason."""
        outcomes = parsed(
            report(
                case("tests.test_a", "test_e", inner='<error message="failed on setup with boom">x</error>'),
                case("tests.test_a", "test_s", inner='<skipped type="pytest.skip" message="nope">r</skipped>'),
                case("tests.test_a", "test_xf", inner='<skipped type="pytest.xfail" message=""/>'),
            )
        )
        kinds = {test_id: (o.outcome, o.message) for test_id, o in outcomes.items()}
        assert kinds == {
            "tests/test_a.py::test_e": ("error", "failed on setup with boom"),
            "tests/test_a.py::test_s": ("skipped", "nope"),
            "tests/test_a.py::test_xf": ("skipped", "pytest.xfail"),
        }

    def test_collection_error_is_named_after_the_file_that_failed_to_collect(self) -> None:
        """A module that does not import is an error whose id is its path and whose message is the cause."""
        error = f'<error message="collection failure">{SYNTAX_ERROR_DETAILS}</error>'
        outcomes = parsed(report(case("", "tests.test_broken", file="tests/test_broken.py", inner=error)))
        outcome = outcomes["tests/test_broken.py"]
        assert outcome.outcome == "error"
        assert outcome.message == "SyntaxError: invalid syntax"
        assert "def test_x(:" in outcome.details

    def test_collection_error_without_a_traceback_keeps_pytests_message(self) -> None:
        """An unregistered marker under --strict-markers has no E lines: pytest's one line is the message."""
        error = "<error message=\"collection failure\">'slow' not found in `markers` configuration option</error>"
        outcomes = parsed(report(case("", "tests.test_m", file="tests/test_m.py", inner=error)))
        assert outcomes["tests/test_m.py"].message == "'slow' not found in `markers` configuration option"

    def test_collection_error_without_file_attribute_guesses_the_path(self) -> None:
        """Without a file attribute the dotted module name still leads to a path-like id."""
        error = '<error message="collection failure">E   ImportError: no</error>'
        outcomes = parsed(report(case("", "tests.sub.test_c", file=None, inner=error)))
        assert list(outcomes) == ["tests/sub/test_c.py"]
        assert outcomes["tests/sub/test_c.py"].message == "ImportError: no"

    def test_inherited_test_is_named_after_the_test_module_not_the_base_module(self, tmp_path: Path) -> None:
        """The file attribute names the base class's module; the id must name the collecting module."""
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_d.py").write_text("")
        xml = report(case("tests.test_d.Checks", "test_inh", file="tests/base.py"))
        assert list(parsed(xml, root=tmp_path)) == ["tests/test_d.py::Checks::test_inh"]
        assert list(parsed(report(case("tests.test_d.TestChild", "test_inh", file="tests/base.py")))) == [
            "tests/test_d.py::TestChild::test_inh"
        ]

    def test_teardown_error_after_a_failure_keeps_the_failure(self) -> None:
        """pytest reports a test twice when teardown fails too; the call's failure is the one kept."""
        outcomes = parsed(
            report(
                case("tests.test_a", "test_f", inner='<failure message="assert 0">call</failure>'),
                case("tests.test_a", "test_f", inner='<error message="failed on teardown">td</error>'),
                case("tests.test_a", "test_p"),
                case("tests.test_a", "test_p", inner='<error message="failed on teardown">td</error>'),
            )
        )
        assert outcomes["tests/test_a.py::test_f"].outcome == "failed"
        assert outcomes["tests/test_a.py::test_f"].message == "assert 0"
        assert outcomes["tests/test_a.py::test_p"].outcome == "error"

    def test_message_falls_back_to_the_exception_line_of_the_details(self) -> None:
        """An empty message attribute is replaced by the last exception line of the traceback."""
        failure = "<failure message=\"\">    helper()\nE   KeyError: 'k'\n\ntests/test_a.py:3: KeyError</failure>"
        outcome = parsed(report(case("tests.test_a", "test_k", inner=failure)))["tests/test_a.py::test_k"]
        assert outcome.message == "KeyError: 'k'"

    def test_long_tracebacks_keep_head_and_tail(self) -> None:
        """Huge details are trimmed in the middle, keeping the test frame and the raise site."""
        text = "HEAD\n" + "x" * 50_000 + "\nTAIL"
        outcome = parsed(report(case("tests.test_a", "t", inner=f'<failure message="m">{text}</failure>')))
        details = outcome["tests/test_a.py::t"].details
        assert details.startswith("HEAD") and details.endswith("TAIL")
        assert "characters not shown" in details
        assert len(details) < 9_000

    def test_pytest_internal_error_gets_an_id_no_test_can_have(self) -> None:
        """pytest's own crash (classname 'pytest', name 'internal') must not look like a file's test."""
        error = '<error message="internal error">INTERNALERROR&gt; SystemExit: 0</error>'
        outcomes = parsed(report(case("pytest", "internal", file=None, inner=error)))
        assert outcomes == {
            junit.INTERNAL_ERROR_ID: TestOutcome(
                test_id=junit.INTERNAL_ERROR_ID,
                outcome="error",
                message="internal error",
                details="INTERNALERROR> SystemExit: 0",
            )
        }

    def test_empty_report_has_no_outcomes_but_is_usable(self) -> None:
        """A run that collected nothing yields an empty dict (not None): the caller says 'no tests'."""
        assert parse_junit_xml(report()) == {}

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not xml at all",
            report(case("tests.test_a", "test_ok"))[:-40],  # truncated mid-write
            "<testsuites><testsuite><testcase name='a' classname='m'></testsuite>",
        ],
    )
    def test_malformed_or_truncated_reports_are_unusable(self, text: str) -> None:
        """A damaged report yields None so the caller judges by exit status instead of guessing."""
        assert parse_junit_xml(text) is None

    def test_doctype_and_entities_are_refused(self) -> None:
        """Entity expansion (billion laughs) and DOCTYPE declarations never reach the tree builder."""
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            '<testsuites><testsuite><testcase classname="m" name="&lol2;"/></testsuite></testsuites>'
        )
        assert parse_junit_xml(bomb) is None
        external = '<!DOCTYPE x SYSTEM "file:///etc/passwd"><testsuites/>'
        assert parse_junit_xml(external) is None


class TestReadJunitFile:
    def test_reads_a_report_from_disk(self, tmp_path: Path) -> None:
        """The file form gives the same outcomes as parsing its text."""
        path = tmp_path / "junit.xml"
        path.write_text(report(case("tests.test_a", "test_ok")), encoding="utf-8")
        assert list(read_junit_file(path) or {}) == ["tests/test_a.py::test_ok"]

    def test_missing_file_is_unusable(self, tmp_path: Path) -> None:
        """pytest writes no report when it dies early (conftest import error, SIGKILL): None, not an error."""
        assert read_junit_file(tmp_path / "absent.xml") is None

    def test_oversized_file_is_not_parsed(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A report over the size cap is treated as unusable rather than loaded into memory."""
        path = tmp_path / "junit.xml"
        path.write_text(report(case("tests.test_a", "test_ok")), encoding="utf-8")
        monkeypatch.setattr(junit, "MAX_REPORT_BYTES", 100)
        assert read_junit_file(path) is None
