"""Tests for autodev.verify.verdict: when an attempt is green, and what the model is told when it is not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers import outcome, pytest_run

from autodev.verify.runner import run_tests
from autodev.verify.verdict import failure_summary, judge

pytestmark = pytest.mark.req("CORE-4")

DEEP_FAILURE = """\
def test_freezing():
>       assert to_f(0) == 32

tests/test_temps.py:4:{TRAILING_SPACE}
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

c = 0

    def to_f(c):
>       return c * 9 / 5 + offset
E       NameError: name 'offset' is not defined

temps.py:2: NameError""".format(TRAILING_SPACE=" ")

COLLECTION_FAILURE = """\
/venv/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule
    mod = import_path(
<frozen importlib._bootstrap>:1204: in _gcd_import
    ???
tests/test_temps.py:1: in <module>
    from temps import to_f
E   ModuleNotFoundError: No module named 'temps'"""


A = "tests/test_temps.py::test_freezing"
B = "tests/test_temps.py::test_boiling"
C = "tests/test_other.py::test_other"


class TestJudge:
    def test_target_now_passing_with_nothing_broken_is_green(self) -> None:
        """The usual success: the target tests went from failing to passing, the rest still pass."""
        verdict = judge(
            pytest_run({A: "failed", B: "failed", C: "passed"}),
            pytest_run({A: "passed", B: "passed", C: "passed"}),
            [A, B],
        )
        assert verdict.green
        assert verdict.fixed == sorted([A, B])
        assert verdict.newly_failing == [] and verdict.still_failing == []
        assert verdict.reason == "2 target tests pass and nothing that passed before broke"

    def test_baseline_passing_test_now_failing_is_not_green(self) -> None:
        """Fixing the target by breaking another test is a regression, never committed."""
        verdict = judge(pytest_run({A: "failed", C: "passed"}), pytest_run({A: "passed", C: "failed"}), [A])
        assert not verdict.green
        assert verdict.newly_failing == [C]
        assert verdict.reason == f"1 test that passed before no longer passes: {C}"

    def test_baseline_passing_test_that_disappeared_is_not_green(self) -> None:
        """A test that passed and no longer runs at all counts as lost, not as fine."""
        verdict = judge(pytest_run({A: "failed", C: "passed"}), pytest_run({A: "passed"}), [A])
        assert not verdict.green
        assert verdict.newly_failing == [C]

    def test_collection_error_of_a_file_breaks_its_baseline_tests(self) -> None:
        """When a file stops importing, each test of it that passed before is newly failing."""
        baseline = pytest_run({A: "failed", B: "passed"})
        attempt = pytest_run({"tests/test_temps.py": "error"}, exit_code=2)
        verdict = judge(baseline, attempt, [A])
        assert not verdict.green
        assert verdict.newly_failing == [B]
        assert verdict.still_failing == ["tests/test_temps.py"]

    def test_target_still_failing_is_named(self) -> None:
        """The reason names the target tests that still fail."""
        verdict = judge(pytest_run({A: "failed", B: "failed"}), pytest_run({A: "failed", B: "failed"}), [A, B])
        assert not verdict.green
        assert verdict.reason == f"2 target tests still fail: {A}, {B}"
        assert verdict.still_failing == sorted([A, B])

    def test_only_skipped_targets_are_not_green(self) -> None:
        """A skipped target proves nothing: at least one target must actually pass."""
        verdict = judge(pytest_run({A: "failed"}), pytest_run({A: "skipped"}), [A])
        assert not verdict.green
        assert verdict.reason == "no target test passed (1 skipped)"

    def test_skipped_target_beside_a_passing_one_is_green(self) -> None:
        """Skipped targets are neither pass nor failure when another target passes."""
        verdict = judge(pytest_run({A: "failed", B: "skipped"}), pytest_run({A: "passed", B: "skipped"}), [A, B])
        assert verdict.green
        assert verdict.reason == "1 target test passes (1 skipped) and nothing that passed before broke"

    def test_target_that_did_not_run_is_not_green(self) -> None:
        """A target test missing from the run is not a pass, whatever the rest did."""
        verdict = judge(pytest_run({A: "failed"}), pytest_run({A: "passed"}), [A, B])
        assert not verdict.green
        assert verdict.reason == f"1 target test did not run: {B}"
        assert verdict.still_failing == [B]

    def test_similar_names_do_not_stand_in_for_each_other(self) -> None:
        """test_a_edge passing does not make test_a pass: ids match exactly or extend by "::" or "["."""
        short, longer = "tests/t.py::test_a", "tests/t.py::test_a_edge"
        verdict = judge(
            pytest_run({short: "failed", longer: "failed"}), pytest_run({short: "failed", longer: "passed"}), [short]
        )
        assert not verdict.green
        assert verdict.reason == f"1 target test still fails: {short}"

    def test_targets_may_name_files_and_unparametrised_tests(self) -> None:
        """A file or a parametrised test without its ids covers every test under it, brackets and all."""
        cases = ["tests/t.py::test_p[a::b]", "tests/t.py::test_p[c d]", "tests/t.py::TestX::test_m"]
        baseline = pytest_run(dict.fromkeys(cases, "failed"))
        attempt = pytest_run(dict.fromkeys(cases, "passed"))
        assert judge(baseline, attempt, ["tests/t.py::test_p", "./tests/t.py::TestX"]).green
        assert judge(baseline, attempt, ["tests/t.py"]).green
        half = pytest_run({cases[0]: "passed", cases[1]: "failed", cases[2]: "passed"})
        assert not judge(baseline, half, ["tests/t.py::test_p"]).green

    def test_without_targets_every_test_must_pass(self) -> None:
        """None means every test in the attempt is a target: an old failure elsewhere blocks green."""
        baseline = pytest_run({A: "failed", C: "failed"})
        attempt = pytest_run({A: "passed", C: "failed"})
        assert not judge(baseline, attempt).green
        assert judge(baseline, attempt).reason == f"1 test still fails: {C}"
        assert judge(baseline, attempt, [A]).green
        assert judge(baseline, pytest_run({A: "passed", C: "passed"})).reason == "all 2 tests pass"

    def test_timeout_is_never_green(self) -> None:
        """A run cut off by the timeout proves nothing, even if some outcomes were recorded."""
        verdict = judge(pytest_run({A: "failed"}), pytest_run({A: "passed"}, timed_out=True), [A])
        assert not verdict.green
        assert verdict.reason == "the tests ran longer than 300 s ([tests] timeout_s in autodev.toml)"

    def test_timeout_names_the_test_that_was_running(self) -> None:
        """When the plugin saw which test was in progress, the reason and the model's summary name it."""
        hung = pytest_run({A: "passed"}, timed_out=True).model_copy(update={"running": B})
        assert judge(pytest_run({A: "passed"}), hung, [A, B]).reason == (
            "the tests ran longer than 300 s ([tests] timeout_s in autodev.toml); "
            f"{B} was running when the time ran out"
        )
        assert failure_summary(hung).startswith(f"Tests timed out after 300 s while {B} was running.")

    def test_collection_error_of_a_target_carries_pytests_message(self) -> None:
        """A target that fails because its file no longer collects says why in pytest's words, not only its name."""
        broken = pytest_run([outcome("tests/test_temps.py", "error", message="SyntaxError: invalid syntax")])
        assert judge(pytest_run({A: "failed"}), broken, [A]).reason == (
            f"1 target test still fails: {A}; pytest cannot collect tests/test_temps.py: SyntaxError: invalid syntax"
        )

    def test_pytest_stopping_without_a_report_carries_its_error_lines(self) -> None:
        """No junit report (a conftest.py that raises): the reason quotes pytest's error lines, not only the status."""
        output = "warning noise\nImportError while loading conftest '/p/conftest.py'.\nE   RuntimeError: boom\n"
        run = pytest_run(used_junit=False, exit_code=4, output=output)
        assert judge(run, run).reason == (
            "pytest exited with status 4: ImportError while loading conftest '/p/conftest.py'. E   RuntimeError: boom"
        )

    def test_no_tests_collected_is_never_green(self) -> None:
        """An empty run is red both with a junit report and by pytest's exit status 5 without one."""
        assert judge(pytest_run(), pytest_run()).reason == "no tests were collected"
        assert not judge(pytest_run(), pytest_run(used_junit=False, exit_code=5)).green

    def test_without_junit_the_exit_status_decides(self) -> None:
        """A command other than pytest is green exactly when it exits 0."""
        make = ["make", "test"]
        baseline = pytest_run(used_junit=False, exit_code=1).model_copy(update={"command": make})
        assert judge(baseline, baseline.model_copy(update={"exit_code": 0})).green
        red = judge(baseline, baseline.model_copy(update={"exit_code": 4}))
        assert not red.green
        assert red.reason == "the test command exited with status 4"

    def test_pytest_exiting_zero_without_its_report_is_not_green(self) -> None:
        """Code under test that ends the process early (os._exit(0)) leaves no report and is not a pass."""
        verdict = judge(pytest_run(used_junit=False, exit_code=1), pytest_run(used_junit=False, exit_code=0))
        assert not verdict.green
        assert "without writing its report" in verdict.reason

    def test_real_pytest_killed_by_the_code_under_test_is_not_green(self, tmp_path: Path) -> None:
        """End to end: a module that calls os._exit(0) on import makes pytest exit 0 with no report: red."""
        project = tmp_path / "project"
        (project / "tests").mkdir(parents=True)
        (project / "pytest.ini").write_text("[pytest]\n")
        (project / "tests" / "test_quit.py").write_text("import quitter\n\ndef test_a():\n    assert False\n")
        (project / "quitter.py").write_text("import os\nos._exit(0)\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        attempt = run_tests(
            project,
            [sys.executable, "-m", "pytest"],
            timeout_s=60,
            scratch_dir=tmp_path / "scratch",
            env=env | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": str(project)},
        )
        assert attempt.exit_code == 0 and not attempt.used_junit
        assert not judge(pytest_run({"tests/test_quit.py::test_a": "failed"}), attempt).green

    def test_pytest_stopped_early_is_not_green(self) -> None:
        """Interrupted or internal-error runs are incomplete even when every recorded target passed."""
        verdict = judge(pytest_run({A: "failed"}), pytest_run({A: "passed"}, exit_code=3), [A])
        assert not verdict.green
        assert verdict.reason.startswith("pytest stopped early (exit status 3)")

    def test_empty_target_collection_is_not_green(self) -> None:
        """No targets means nothing was shown to work, so there is nothing to commit."""
        assert judge(pytest_run({A: "failed"}), pytest_run({A: "passed"}), []).reason == "no target tests were given"


class TestFailureSummary:
    def test_shows_id_message_and_where_it_failed(self) -> None:
        """The test's own line, the raising line in user code and the exception, without function bodies."""
        failing = outcome(A, "failed", "NameError: name 'offset' is not defined", DEEP_FAILURE)
        summary = failure_summary(pytest_run([failing]))
        assert summary == (
            f"FAILED {A} - NameError: name 'offset' is not defined\n"
            "  at tests/test_temps.py:4: assert to_f(0) == 32\n"
            "  at temps.py:2: return c * 9 / 5 + offset"
        )

    def test_drops_verbosity_hints_and_blank_exception_lines(self) -> None:
        """pytest's "use -v" advice and empty E lines cost tokens and tell the model nothing."""
        details = (
            ">       assert {'b': [1, 2, 3]} == {'b': [1, 2, 4]}\n"
            "E       AssertionError: assert {'b': [1, 2, 3]} == {'b': [1, 2, 4]}\n"
            "E         \n"
            "E         Omitting 1 identical items, use -vv to show\n"
            "E         Differing items:\n"
            "E         {'b': [1, 2, 3]} != {'b': [1, 2, 4]}\n"
            "E         Use -v to get more diff\n\n"
            "tests/test_d.py:2: AssertionError"
        )
        message = "AssertionError: assert {'b': [1, 2, 3]} == {'b': [1, 2, 4]}"
        summary = failure_summary(pytest_run([outcome(A, "failed", message, details)]))
        assert summary.splitlines()[1:] == [
            "  at tests/test_d.py:2: assert {'b': [1, 2, 3]} == {'b': [1, 2, 4]}",
            "  E         Differing items:",
            "  E         {'b': [1, 2, 3]} != {'b': [1, 2, 4]}",
        ]

    def test_collection_error_leaves_out_pytest_internals(self) -> None:
        """Frames in site-packages and importlib are noise; the test file's line and the error stay."""
        error = outcome(
            "tests/test_temps.py", "error", "ModuleNotFoundError: No module named 'temps'", COLLECTION_FAILURE
        )
        summary = failure_summary(pytest_run([error]))
        assert "site-packages" not in summary and "frozen" not in summary
        assert "at tests/test_temps.py:1: from temps import to_f" in summary
        assert summary.startswith("ERROR tests/test_temps.py - ModuleNotFoundError")

    def test_identical_messages_are_shown_once(self) -> None:
        """Tests failing for the same reason share one section listing the other ids."""
        message = "ModuleNotFoundError: No module named 'temps'"
        failures = [outcome(f"tests/t.py::test_{n}", "failed", message, COLLECTION_FAILURE) for n in range(3)]
        summary = failure_summary(pytest_run(failures))
        assert summary.count(message) == 1
        assert "(same failure: tests/t.py::test_1, tests/t.py::test_2)" in summary

    def test_stays_within_the_limit_and_counts_what_it_left_out(self) -> None:
        """Many distinct failures are cut at whole sections with a '(N more failures not shown)' line."""
        failures = [
            outcome(f"tests/t.py::test_{n}", "failed", f"AssertionError: value {n}", DEEP_FAILURE) for n in range(40)
        ]
        summary = failure_summary(pytest_run(failures), limit_chars=1000)
        assert len(summary) <= 1000
        shown = summary.count("FAILED ")
        assert 0 < shown < 40
        assert summary.endswith(f"({40 - shown} more failures not shown)")

    def test_single_huge_failure_is_cut_to_the_limit(self) -> None:
        """Even one enormous assertion message cannot exceed the cap."""
        huge = outcome(A, "failed", "AssertionError", "E   " + "x" * 5000 + "\n" + ("E   line\n" * 500))
        summary = failure_summary(pytest_run([huge]), limit_chars=500)
        assert len(summary) <= 500
        assert summary.startswith(f"FAILED {A} - AssertionError")

    def test_without_outcomes_shows_the_end_of_the_output(self) -> None:
        """No junit report: the tail of the output (where errors are) is shown, starting at a whole line."""
        output = "".join(f"line {n}\n" for n in range(1000)) + "ImportError while loading conftest\n"
        summary = failure_summary(pytest_run(used_junit=False, exit_code=4, output=output), limit_chars=300)
        assert len(summary) <= 300
        assert summary.startswith("Test output (end):\nline ")
        assert summary.endswith("ImportError while loading conftest")

    def test_timeout_and_empty_runs_say_so(self) -> None:
        """A timeout and a run without tests are stated before any output."""
        assert failure_summary(pytest_run(timed_out=True, output="collected 3 items")).startswith(
            "Tests timed out after 300 s.\nTest output (end):\ncollected 3 items"
        )
        assert failure_summary(pytest_run(output="no tests ran")).startswith("No tests were collected.")

    def test_green_run_has_nothing_to_report(self) -> None:
        """A passing run yields an empty summary, so no retry prompt is padded with noise."""
        assert failure_summary(pytest_run({A: "passed"})) == ""
