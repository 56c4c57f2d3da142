"""The code under test cannot change the verdict from inside the pytest process that judges it.

Each case is a small project with a test that fails on the code as written, then hostile code of a few lines that
tries to pass for green from inside the run: a ``pytest.py`` standing in for pytest, an ``atexit`` handler that
rewrites the report and exits 0, a module-level skip, a test made to vanish. Every run is a real pytest subprocess
through ``run_tests``, judged against a baseline run and the tests the pristine files define. Legitimate skips in
the tests themselves (markers, ``importorskip``) and parametrized tests stay green.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import (
    HOPELESS,
    NO_SERVER,
    RIGHT,
    config_text,
    empty_pytest_project,
    git,
    pytest_child_env,
    run_pass,
    setup_example,
)

from autodev.testing import FunctionClient
from autodev.verify.adapters.pytest_runner import unshadowed
from autodev.verify.junit import TestOutcome
from autodev.verify.pristine import defined_tests, pristine_tests
from autodev.verify.runner import TestRun, run_tests
from autodev.verify.session import SessionRecord, disagreement
from autodev.verify.verdict import Verdict, judge

pytestmark = pytest.mark.req("CORE-8")

PYTEST = [sys.executable, "-m", "pytest"]
PASSING_OTHER = {"tests/test_other.py": "def test_other():\n    assert True\n"}
FIZZ_TEST = {"tests/test_fizz.py": "from fizz import fizz\n\n\ndef test_fizz():\n    assert fizz(3) == 'Fizz'\n"}
STUB = "def fizz(n):\n    return str(n)\n"
FIZZ = "def fizz(n):\n    return 'Fizz' if n % 3 == 0 else str(n)\n"
FAKE_REPORT = (
    '<testsuites><testsuite><testcase classname="tests.test_fizz" name="test_fizz" file="tests/test_fizz.py"/>'
    "</testsuite></testsuites>"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return empty_pytest_project(tmp_path)


def write(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def run(root: Path, command: list[str] | None = None, *, path_too: bool = False) -> TestRun:
    """A real run; ``path_too``: with the project on PYTHONPATH as well (a user's setting)."""
    env = pytest_child_env()
    if path_too:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(root)]))
    return run_tests(root, command or PYTEST, timeout_s=60, scratch_dir=root.parent / "scratch", env=env)


def tried(root: Path, tests: Mapping[str, str], before: Mapping[str, str], after: Mapping[str, str]) -> Verdict:
    """The whole suite judged as a trial judges it: the baseline on ``before``, the attempt on ``after``."""
    write(root, {**tests, **before})
    baseline = run(root)
    write(root, after)
    return judge(baseline, run(root), None, pristine_tests(dict(tests)))


class TestTheRealPytestRuns:
    def test_a_pytest_py_in_the_project_does_not_stand_in_for_pytest(self, project: Path) -> None:
        """``python -m pytest`` would import the project's pytest.py; the bootstrap imports the installed one."""
        fake = f"import os\nopen('report.xml', 'w').write({FAKE_REPORT!r})\nprint('FAKE PYTEST')\nos._exit(0)\n"
        write(project, {**FIZZ_TEST, "fizz.py": STUB, "pytest.py": fake})
        attempt = run(project)
        assert "FAKE PYTEST" not in attempt.output
        assert attempt.exit_code == 1
        assert attempt.outcomes["tests/test_fizz.py::test_fizz"].outcome == "failed"
        verdict = judge(attempt, attempt, None, pristine_tests(FIZZ_TEST))
        assert not verdict.green
        assert "still fails: tests/test_fizz.py::test_fizz" in verdict.reason

    def test_the_tests_still_import_the_project_from_its_root(self, project: Path) -> None:
        """The project's directory is back on sys.path once pytest is imported: ``from fizz import`` works."""
        write(project, {**FIZZ_TEST, "fizz.py": FIZZ, "pytest.py": "raise SystemExit(3)\n"})
        attempt = run(project)
        assert attempt.exit_code == 0, attempt.output
        assert judge(attempt, attempt, None, pristine_tests(FIZZ_TEST)).green

    @pytest.mark.parametrize("command", ["module", "script"])
    def test_not_even_with_the_project_on_pythonpath(self, project: Path, command: str) -> None:
        """PYTHONPATH naming the project would put its pytest.py first for ``-m`` and for a ``pytest`` script."""
        script = Path(sys.executable).with_name("pytest")
        if command == "script" and not script.exists():
            pytest.skip("no pytest console script beside this interpreter")
        write(project, {**FIZZ_TEST, "fizz.py": STUB, "pytest.py": "import os\nos._exit(0)\n"})
        attempt = run(project, [str(script)] if command == "script" else PYTEST, path_too=True)
        assert attempt.exit_code == 1, attempt.output
        assert attempt.outcomes["tests/test_fizz.py::test_fizz"].outcome == "failed"
        assert attempt.session == SessionRecord(status=1, outcomes={"tests/test_fizz.py::test_fizz": "failed"})

    def test_a_pytest_script_keeps_its_own_sys_path(self, project: Path) -> None:
        """Run through the bootstrap, a script still starts from its own directory: the project is not importable
        unless the project says so (``pythonpath``), exactly as when the script runs by itself."""
        script = Path(sys.executable).with_name("pytest")
        if not script.exists():
            pytest.skip("no pytest console script beside this interpreter")
        write(project, {**FIZZ_TEST, "fizz.py": FIZZ})
        assert run(project, [str(script)]).outcomes["tests/test_fizz.py"].outcome == "error"
        (project / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
        assert run(project, [str(script)]).exit_code == 0

    @pytest.mark.parametrize(
        ("command", "kept"),
        [
            (["python", "-X", "dev", "-m", "pytest", "-q"], (["python", "-X", "dev", "-c"], ["-q"])),
            (["python3", "-mpytest", "tests"], (["python3", "-c"], ["tests"])),
            (["uv", "run", "python", "-m", "pytest"], (["uv", "run", "python", "-c"], [])),
        ],
    )
    def test_python_m_pytest_becomes_the_bootstrap(self, command: list[str], kept: tuple[list[str], list[str]]) -> None:
        before, after = kept
        argv = unshadowed(command, ["autodev.spec.pytest_plugin"], Path.cwd(), {})
        assert argv[: len(before)] == before
        assert "import pytest" in argv[len(before)]
        assert argv[len(before) + 1 :] == after

    def test_other_commands_run_as_given(self) -> None:
        for command in (["python", "run_tests.py"], ["python", "-c", "print(1)"], ["make", "test"]):
            assert unshadowed(command, ["p"], Path.cwd(), {}) == command


class TestTheReportIsOutOfSight:
    def test_no_report_path_on_the_command_line_nor_in_the_tests_environment(self, project: Path) -> None:
        write(
            project,
            {
                "tests/test_env.py": """\
                    import os, sys

                    def test_nothing_names_autodevs_files():
                        assert not any("junitxml" in arg for arg in sys.argv)
                        assert not any(name in os.environ for name in ("AUTODEV_RESULTS_DIR", "AUTODEV_RUNNING_OUT"))
                """
            },
        )
        attempt = run(project)
        assert not any("--junitxml" in arg for arg in attempt.command)
        assert attempt.outcomes["tests/test_env.py::test_nothing_names_autodevs_files"].outcome == "passed"
        assert attempt.session is not None
        assert attempt.session.status == 0

    def test_an_atexit_handler_that_rewrites_the_report_and_exits_0_is_red(self, project: Path) -> None:
        """The handler finds no report path in sys.argv; its ``os._exit(0)`` disagrees with pytest's status 1."""
        hostile = (
            "import atexit, os, sys\n\n\n"
            "def _cheat():\n"
            "    for arg in sys.argv:\n"
            "        if arg.startswith('--junitxml='):\n"
            f"            open(arg.split('=', 1)[1], 'w').write({FAKE_REPORT!r})\n"
            "    os._exit(0)\n\n\n"
            f"atexit.register(_cheat)\n{STUB}"
        )
        verdict = tried(project, FIZZ_TEST, {"fizz.py": STUB}, {"fizz.py": hostile})
        assert not verdict.green
        assert verdict.reason == (
            "the run's exit status 0 does not agree with pytest's 1: something in the code under test changed it"
        )

    def test_exiting_before_pytest_finished_is_red(self, project: Path) -> None:
        """``os._exit(0)`` while the tests run: pytest recorded nothing, whatever the exit status says."""
        hostile = "import os\n\n\ndef fizz(n):\n    os._exit(0)\n"
        verdict = tried(project, FIZZ_TEST, {"fizz.py": STUB}, {"fizz.py": hostile})
        assert not verdict.green
        assert verdict.reason.startswith("pytest did not finish its session")


class TestTestsTheCodeHides:
    def test_a_module_level_skip_from_the_code_is_red_while_another_file_passes(self, project: Path) -> None:
        hostile = "import pytest\npytest.skip('not today', allow_module_level=True)\n"
        verdict = tried(project, {**FIZZ_TEST, **PASSING_OTHER}, {"fizz.py": STUB}, {"fizz.py": hostile})
        assert not verdict.green
        assert verdict.reason == "tests/test_fizz.py was skipped by the code under test (fizz.py:2)"

    def test_a_skip_raised_by_the_code_inside_a_test_is_red(self, project: Path) -> None:
        """``unittest.SkipTest`` needs no pytest import; pytest names its own frame, the test file never skips."""
        hostile = "import unittest\n\n\ndef fizz(n):\n    raise unittest.SkipTest('later')\n"
        verdict = tried(project, {**FIZZ_TEST, **PASSING_OTHER}, {"fizz.py": STUB}, {"fizz.py": hostile})
        assert not verdict.green
        assert verdict.reason.startswith("tests/test_fizz.py::test_fizz was skipped by the code under test")

    def test_a_test_that_vanished_is_red(self, project: Path) -> None:
        """A star import that brings ``__test__ = False`` makes pytest collect nothing from the test file."""
        tests = {
            "tests/test_fizz.py": "from fizz import *\n\n\ndef test_fizz():\n    assert fizz(3) == 'Fizz'\n",
            **PASSING_OTHER,
        }
        hostile = f"__all__ = ['fizz', '__test__']\n__test__ = False\n\n\n{STUB}"
        verdict = tried(project, tests, {"fizz.py": STUB}, {"fizz.py": hostile})
        assert not verdict.green
        assert verdict.reason == "1 test the test files define has no result (vanished): tests/test_fizz.py::test_fizz"

    def test_a_target_test_skipped_by_the_code_is_red(self, project: Path) -> None:
        hostile = "import pytest\n\n\ndef fizz(n):\n    pytest.skip('no')\n"
        write(project, {**FIZZ_TEST, **PASSING_OTHER, "fizz.py": STUB})
        baseline = run(project)
        write(project, {"fizz.py": hostile})
        targets = ["tests/test_fizz.py::test_fizz", "tests/test_other.py::test_other"]
        verdict = judge(baseline, run(project), targets, pristine_tests({**FIZZ_TEST, **PASSING_OTHER}))
        assert not verdict.green
        assert verdict.reason == "tests/test_fizz.py::test_fizz was skipped by the code under test (fizz.py:5)"


class TestTheTestsOwnSkipsStayGreen:
    def test_markers_importorskip_and_parameters_in_the_test_files_are_fine(self, project: Path) -> None:
        tests = {
            "tests/test_fizz.py": """\
                import pytest

                from fizz import fizz


                @pytest.mark.parametrize("n, said", [(3, "Fizz"), (4, "4")])
                def test_fizz(n, said):
                    assert fizz(n) == said


                @pytest.mark.skip(reason="not written yet")
                def test_buzz():
                    assert fizz(5) == "Buzz"


                def test_needs_numpy():
                    pytest.importorskip("no_such_module_here")


                class TestMore:
                    @pytest.mark.skipif(True, reason="never here")
                    def test_skipped_in_a_class(self):
                        pass

                    def test_nine(self):
                        assert fizz(9) == "Fizz"
            """,
            "tests/test_optional.py": """\
                import pytest

                pytest.importorskip("no_such_module_either")


                def test_optional():
                    pass
            """,
        }
        verdict = tried(project, tests, {"fizz.py": STUB}, {"fizz.py": FIZZ})
        assert verdict.green, verdict.reason
        assert verdict.reason == "all 3 tests pass (4 skipped)"

    def test_a_skip_from_a_conftest_fixture_is_the_tests_own(self, project: Path) -> None:
        tests = {
            "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef later():\n    pytest.skip('later')\n",
            "tests/test_later.py": "def test_later(later):\n    pass\n",
            **FIZZ_TEST,
        }
        verdict = tried(project, tests, {"fizz.py": STUB}, {"fizz.py": FIZZ})
        assert verdict.green, verdict.reason

    def test_a_skip_from_a_helper_module_under_tests_is_the_tests_own(self, project: Path) -> None:
        """No reply may write under tests/, so a helper there that skips (a missing service, say) is pristine: the
        test, which could not be collected before fizz.py existed, is skipped now, and that is green."""
        helper = {"tests/helpers.py": "import pytest\n\n\ndef need_service():\n    pytest.skip('no service here')\n"}
        tests = {
            "tests/test_service.py": "from fizz import fizz\nfrom helpers import need_service\n\n\n"
            "def test_service():\n    need_service()\n",
            **FIZZ_TEST,
        }
        verdict = tried(project, tests, helper, {"fizz.py": FIZZ})  # the helper is no test file of the pass
        assert verdict.green, verdict.reason


class TestInAPass:
    """The whole path: a reply's code tried in the pass's copy, judged by the trial, nothing committed."""

    @pytest.fixture
    def project(self, repo: Path) -> Path:
        """The temperature example (judged as a whole suite) with a second test file that passes anyway; the check
        that refuses code importing pytest or atexit (CORE-9) is off, so the run itself must catch them."""
        config = config_text(NO_SERVER).replace("[tests]\n", "[tests]\nallow_runner_access = true\n")
        setup_example(repo, NO_SERVER, config=config, stub=True)
        (repo / "tests" / "test_other.py").write_text("def test_other():\n    pass\n", encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "another test")
        return repo

    def reason(self, project: Path, reply: str) -> str:
        result = run_pass(project, FunctionClient.replying(reply), max_attempts=1)
        assert result.status != "satisfied"
        assert git(project, "log", "--format=%s").splitlines()[0] == "another test"
        return str(result.requirements[0].attempts[0].reason)

    def test_code_that_skips_the_test_module_is_not_committed(self, project: Path) -> None:
        head = "temps.py\n```python\n"
        reply = RIGHT.replace(head, head + "import pytest\npytest.skip('later', allow_module_level=True)\n")
        assert self.reason(project, reply) == "tests/test_temps.py was skipped by the code under test (temps.py:2)"

    def test_code_that_rewrites_the_report_at_exit_is_not_committed(self, project: Path) -> None:
        """Wrong code, and an ``atexit`` handler that strips the failures from the report named on the command
        line and exits 0: there is no such path any more, and the exit status disagrees with pytest's."""
        cheat = (
            "import atexit, os, re, sys\n\n\n"
            "def _cheat():\n"
            "    for arg in sys.argv:\n"
            "        if arg.startswith('--junitxml='):\n"
            "            path = arg.split('=', 1)[1]\n"
            "            text = open(path).read()\n"
            "            open(path, 'w').write(re.sub('<failure.*?</failure>', '', text, flags=re.S))\n"
            "    os._exit(0)\n\n\n"
            "atexit.register(_cheat)\n"
        )
        head = "temps.py\n```python\n"
        reason = self.reason(project, HOPELESS.replace(head, head + cheat))
        assert reason == (
            "the run's exit status 0 does not agree with pytest's 1: something in the code under test changed it"
        )


class TestThePristineCollection:
    def test_functions_classes_and_cases_defined_at_the_top_level(self) -> None:
        source = """\
            import unittest

            def test_a(): pass
            async def test_b(): pass
            def helper(): pass

            class TestC:
                def test_d(self): pass
                def setup_method(self): pass
                class TestInner:
                    def test_e(self): pass

            class TestWithInit:
                def __init__(self): pass
                def test_never(self): pass

            class TestOff:
                __test__ = False
                def test_off(self): pass

            class Cases(unittest.TestCase):
                def test_f(self): pass

            if True:
                def test_conditional(): pass
        """
        assert defined_tests(textwrap.dedent(source)) == [
            "test_a",
            "test_b",
            "TestC::test_d",
            "TestC::TestInner::test_e",
            "Cases::test_f",
        ]

    def test_a_file_that_does_not_parse_defines_nothing(self) -> None:
        assert defined_tests("def test_a(:\n") == []
        assert pristine_tests({"tests/test_x.js": "test('a', () => {})"}).ids == ()

    def test_only_tests_the_baseline_ran_are_required(self) -> None:
        """A test the project's own selection leaves out (``-m``, ``--deselect``) is not required to run."""
        run = junit_run(TestOutcome(test_id="tests/test_a.py::test_a", outcome="passed"))
        expected = pristine_tests({"tests/test_a.py": "def test_a(): pass\ndef test_deselected(): pass\n"})
        assert judge(run, run, None, expected).green


def junit_run(*outcomes: TestOutcome) -> TestRun:
    return TestRun(command=PYTEST, exit_code=0, timed_out=False, duration_s=0.1, output="",
                   outcomes={o.test_id: o for o in outcomes}, used_junit=True, runner="pytest")  # fmt: skip


class TestAgainstTheBaseline:
    def test_a_test_that_failed_before_must_not_be_skipped_or_gone(self) -> None:
        failed = TestOutcome(test_id="tests/test_a.py::test_a", outcome="failed")
        other = TestOutcome(test_id="tests/test_b.py::test_b", outcome="passed")
        skipped = TestOutcome(test_id=failed.test_id, outcome="skipped", location="tests/test_a.py:3")
        baseline = junit_run(failed, other)
        for attempt in (junit_run(other), junit_run(skipped, other)):
            verdict = judge(baseline, attempt)
            assert not verdict.green
            assert verdict.reason == "1 test that failed before is skipped or gone now: tests/test_a.py::test_a"

    def test_a_skip_the_baseline_had_at_the_same_place_is_the_committed_codes(self) -> None:
        """Not the attempt's doing: the project's code as committed skipped it already."""
        skipped = TestOutcome(test_id="tests/test_a.py", outcome="skipped", location="lib/compat.py:4")
        passed = TestOutcome(test_id="tests/test_b.py::test_b", outcome="passed")
        files = {"tests/test_a.py": "def test_a(): pass\n", "tests/test_b.py": "def test_b(): pass\n"}
        expected = pristine_tests(files)
        assert judge(junit_run(skipped, passed), junit_run(skipped, passed), None, expected).green
        moved = skipped.model_copy(update={"location": "lib/compat.py:9"})
        verdict = judge(junit_run(skipped, passed), junit_run(moved, passed), None, expected)
        assert verdict.reason == "tests/test_a.py was skipped by the code under test (lib/compat.py:9)"


class TestAgreement:
    def test_a_report_that_disagrees_with_pytests_record_is_red(self) -> None:
        record = SessionRecord(status=0, outcomes={"t.py::a": "failed"})
        report = {"t.py::a": TestOutcome(test_id="t.py::a", outcome="passed")}
        reason = disagreement(record, 0, report)
        assert reason == (
            "the junit report does not agree with pytest on t.py::a (passed in the report, failed in pytest): "
            "something in the code under test changed it"
        )

    def test_a_report_with_tests_pytest_never_saw_is_red(self) -> None:
        record = SessionRecord(status=0, outcomes={})
        report = {"t.py::a": TestOutcome(test_id="t.py::a", outcome="passed")}
        assert disagreement(record, 0, report) == (
            "the junit report counts 1 passed but pytest saw no tests: something in the code under test changed it"
        )

    def test_agreeing_record_report_and_status(self) -> None:
        record = SessionRecord(status=1, outcomes={"t.py::a": "failed"})
        report = {"t.py::a": TestOutcome(test_id="t.py::a", outcome="failed")}
        assert disagreement(record, 1, report) is None
