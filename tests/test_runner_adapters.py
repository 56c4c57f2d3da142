"""The runner adapters' parsing and choice without running a tool: recorded outputs and reports (LANG-1).

The jest report in tests/fixtures/runners/jest-report.json is real: jest 30.5 run once on a slug project with one
failing test, one skipped test and a test file with a syntax error (its root replaced by ``<ROOT>``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import write_files

from autodev.config import parse_config
from autodev.discovery import find_test_files, is_js_test_file, is_rust_test_file
from autodev.verify.adapters import adapter_for, default_test_command, detect_runner, project_test_command
from autodev.verify.adapters.base import RunPlace, is_load_failure
from autodev.verify.adapters.cargo import CargoAdapter, cargo_outcomes
from autodev.verify.adapters.choose import languages_of, runner_of_command
from autodev.verify.adapters.javascript import JestAdapter, VitestAdapter, jest_outcomes, vitest_outcomes
from autodev.verify.adapters.node import NodeAdapter, outcomes_from_events
from autodev.verify.runner import TestRun, run_tests
from autodev.verify.verdict import judge, status_of

pytestmark = pytest.mark.req("LANG-1")

FIXTURES = Path(__file__).parent / "fixtures" / "runners"

CARGO_RUN = """\
   Compiling roman v0.1.0 (/p/roman)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.61s
     Running unittests src/lib.rs (target/debug/deps/roman-6981f4c9c0f862d7)

running 1 test
test tests::it_works ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/roman.rs (target/debug/deps/roman-ec7715c3ddfcfeac)

running 3 tests
test slow ... ignored, takes a minute
test one ... ok
test two ... FAILED

failures:

---- two stdout ----

thread 'two' (11779) panicked at tests/roman.rs:5:12:
assertion `left == right` failed: two is II
  left: "X"
 right: "II"
stack backtrace:
   0: __rustc::rust_begin_unwind
             at /rustc/59807616e1fa/library/std/src/panicking.rs:689:5
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.


failures:
    two

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.06s

error: test failed, to rerun pass `--test roman`
"""

CARGO_COMPILE_ERROR = """\
   Compiling roman v0.1.0 (/p/roman)
error[E0425]: cannot find value `undefined_thing` in this scope
 --> src/lib.rs:1:37
  |
1 | pub fn to_roman(n: u32) -> String { undefined_thing }
  |                                     ^^^^^^^^^^^^^^^ not found in this scope

For more information about this error, try `rustc --explain E0425`.
error: could not compile `roman` (lib) due to 1 previous error
warning: build failed, waiting for other jobs to finish...
error: could not compile `roman` (lib test) due to 1 previous error
"""


def place(root: Path) -> RunPlace:
    return RunPlace(root=root, work=root / ".work", env={})


class TestCargoOutput:
    def test_each_test_of_each_target_with_the_failure_and_the_ignored_reason(self, tmp_path: Path) -> None:
        outcomes = cargo_outcomes(CARGO_RUN, tmp_path)
        assert outcomes is not None
        assert {test_id: o.outcome for test_id, o in outcomes.items()} == {
            "src/lib.rs::tests::it_works": "passed",
            "tests/roman.rs::slow": "skipped",
            "tests/roman.rs::one": "passed",
            "tests/roman.rs::two": "failed",
        }
        failed = outcomes["tests/roman.rs::two"]
        assert failed.message == "assertion `left == right` failed: two is II (at tests/roman.rs:5:12)"
        assert 'right: "II"' in failed.details
        assert "rust_begin_unwind" not in failed.details  # the backtrace is libtest's and std's
        assert outcomes["tests/roman.rs::slow"].message == "takes a minute"

    def test_a_failed_build_is_a_load_failure_of_every_target_it_stopped(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"Cargo.toml": "", "src/lib.rs": "", "tests/roman.rs": "", "tests/common/mod.rs": ""})
        outcomes = cargo_outcomes(CARGO_COMPILE_ERROR, tmp_path)
        assert outcomes is not None
        assert list(outcomes) == ["src/lib.rs", "tests/roman.rs"]
        failure = outcomes["tests/roman.rs"]
        assert is_load_failure(failure)
        assert failure.message == "error[E0425]: cannot find value `undefined_thing` in this scope (src/lib.rs:1:37)"
        assert "not found in this scope" in failure.details
        assert "could not compile" not in failure.details

    def test_an_error_in_one_test_target_stops_only_that_target(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"src/lib.rs": "", "tests/roman.rs": "", "tests/other.rs": ""})
        output = (
            "error[E0308]: mismatched types\n --> tests/roman.rs:3:1\n\n"
            'error: could not compile `roman` (test "roman")\n'
        )
        outcomes = cargo_outcomes(output, tmp_path)
        assert outcomes is not None and list(outcomes) == ["tests/roman.rs"]

    def test_a_test_printing_error_lines_is_not_a_build_failure(self, tmp_path: Path) -> None:
        output = CARGO_RUN.replace('  left: "X"', 'error: the input was bad\n  left: "X"')
        outcomes = cargo_outcomes(output, tmp_path)
        assert outcomes is not None and outcomes["tests/roman.rs::two"].outcome == "failed"

    def test_tests_that_ran_without_their_lines_cannot_be_read(self, tmp_path: Path) -> None:
        terse = "     Running tests/roman.rs (target/x)\n\nrunning 2 tests\n..\ntest result: ok. 2 passed; 0 failed;\n"
        assert cargo_outcomes(terse, tmp_path) is None
        nothing = "     Running tests/roman.rs (target/x)\n\nrunning 0 tests\ntest result: ok. 0 passed; 0 failed;\n"
        assert cargo_outcomes(nothing, tmp_path) == {}  # a run of no tests: never green

    def test_quiet_options_are_dropped_they_hide_the_lines(self, tmp_path: Path) -> None:
        argv = CargoAdapter().argv(["cargo", "test", "-q", "--", "--format", "terse", "--quiet"], place(tmp_path))
        assert argv == ["cargo", "test", "--no-fail-fast", "--"]

    def test_output_without_a_test_run_cannot_be_read(self, tmp_path: Path) -> None:
        assert cargo_outcomes("error: no such command: `tset`\n", tmp_path) is not None  # an error: no run at all
        assert cargo_outcomes("something else entirely\n", tmp_path) is None

    def test_options_no_fail_fast_and_include_ignored_only_when_asked(self, tmp_path: Path) -> None:
        where = place(tmp_path)
        assert CargoAdapter().argv(["cargo", "test"], where) == ["cargo", "test", "--no-fail-fast"]
        assert where.env["CARGO_TERM_COLOR"] == "never"
        asked = CargoAdapter(include_ignored=True)
        assert asked.argv(["cargo", "test", "--", "--nocapture"], where) == [
            "cargo", "test", "--no-fail-fast", "--", "--nocapture", "--include-ignored",
        ]  # fmt: skip


class TestNodeEvents:
    ROOT = Path("/p")

    def events(self) -> list[dict[str, object]]:
        file = "/p/tests/slug.test.js"
        broken = "/p/tests/broken.test.js"
        syntax = "SyntaxError: Unexpected token ';'\n    at wrapSafe (node:internal/modules/cjs/loader:1464:18)\n"
        assertion = (
            "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n\n'a-b' !== 'a_b'\n"
            "    at TestContext.<anonymous> (/p/tests/slug.test.js:6:36)\n"
            "    at Test.run (node:internal/test_runner/test:796:25)"
        )
        suite_failed = {"suite": True, "error": "1 subtest failed"}
        return [
            {"event": "stderr", "file": broken, "message": "/p/tests/broken.test.js:1\nconst x = ;\n          ^\n\n"},
            {"event": "stderr", "file": broken, "message": syntax},
            {"event": "start", "file": broken, "name": broken, "nesting": 0},
            {"event": "fail", "file": broken, "name": broken, "nesting": 0, "error": "Error: test failed"},
            {"event": "start", "file": file, "name": "slugify", "nesting": 0},
            {"event": "start", "file": file, "name": "lowercases", "nesting": 1},
            {"event": "pass", "file": file, "name": "lowercases", "nesting": 1},
            {"event": "start", "file": file, "name": "dashes", "nesting": 1},
            {"event": "fail", "file": file, "name": "dashes", "nesting": 1, "error": assertion},
            {"event": "start", "file": file, "name": "later", "nesting": 1},
            {"event": "pass", "file": file, "name": "later", "nesting": 1, "skip": True},
            {"event": "fail", "file": file, "name": "slugify", "nesting": 0, **suite_failed},
            {"event": "start", "file": file, "name": "top", "nesting": 0},
        ]  # fmt: skip

    def test_ids_are_the_file_and_the_names_and_a_broken_file_is_a_load_failure(self) -> None:
        outcomes = outcomes_from_events(self.events(), self.ROOT)
        assert {test_id: o.outcome for test_id, o in outcomes.items()} == {
            "tests/broken.test.js": "error",
            "tests/slug.test.js > slugify > lowercases": "passed",
            "tests/slug.test.js > slugify > dashes": "failed",
            "tests/slug.test.js > slugify > later": "skipped",
        }
        broken = outcomes["tests/broken.test.js"]
        assert broken.message == "SyntaxError: Unexpected token ';'"
        assert "tests/broken.test.js:1" in broken.details and "node:internal" not in broken.details
        dashes = outcomes["tests/slug.test.js > slugify > dashes"]
        assert dashes.message == "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:"
        assert "slug.test.js:6:36" in dashes.details and "node:internal" not in dashes.details

    def test_tests_cancelled_by_their_suite_get_the_suites_error(self) -> None:
        file = "/p/tests/a.test.js"
        cancelled = "test did not finish before its parent and was cancelled"
        events: list[dict[str, object]] = [
            {"event": "start", "file": file, "name": "hooks", "nesting": 0},
            {"event": "start", "file": file, "name": "h1", "nesting": 1},
            {"event": "fail", "file": file, "name": "h1", "nesting": 1, "error": cancelled},
            {"event": "fail", "file": file, "name": "hooks", "nesting": 0, "suite": True, "error": "Error: broke"},
        ]
        outcome = outcomes_from_events(events, self.ROOT)["tests/a.test.js > hooks > h1"]
        assert (outcome.outcome, outcome.message) == ("failed", "Error: broke")

    def test_reporter_options_go_before_the_files(self, tmp_path: Path) -> None:
        where = place(tmp_path)
        where.work.mkdir()
        argv = NodeAdapter().argv(["node", "--test", "tests/"], where)
        assert argv[:2] == ["node", "--test"] and argv[-1] == "tests/"
        assert "--test-reporter=spec" in argv and (where.work / "autodev-node-reporter.mjs").is_file()

    def test_a_damaged_report_cannot_be_read(self, tmp_path: Path) -> None:
        where = place(tmp_path)
        where.work.mkdir()
        (where.work / "node-events.jsonl").write_text('{"event": "start"}\n{not json\n{"event": "pass"}\n')
        assert NodeAdapter().outcomes(where, "") is None
        assert NodeAdapter().outcomes(place(tmp_path / "missing"), "") is None


class TestJestReport:
    def test_a_real_report_gives_each_test_and_the_file_that_failed_to_run(self) -> None:
        root = Path("<ROOT>")
        outcomes = jest_outcomes((FIXTURES / "jest-report.json").read_bytes(), root)
        assert outcomes is not None
        kinds = {test_id.replace("<ROOT>/", ""): o.outcome for test_id, o in outcomes.items()}
        assert kinds == {
            "tests/slug.test.js > slugify > lowercases": "passed",
            "tests/slug.test.js > slugify > dashes": "failed",
            "tests/slug.test.js > slugify > skipped one": "skipped",
            "tests/slug.test.js > top level": "passed",
            "tests/broken.test.js": "error",
        }
        broken = next(o for test_id, o in outcomes.items() if test_id.endswith("broken.test.js"))
        assert broken.message.startswith("SyntaxError:") and "Unexpected token (1:10)" in broken.message
        dashes = next(o for test_id, o in outcomes.items() if test_id.endswith("dashes"))
        assert dashes.message == "Error: expect(received).toBe(expected) // Object.is equality"
        assert "jest-circus" not in dashes.details and "slug.test.js:4:49" in dashes.details

    def test_not_jest_json_cannot_be_read(self, tmp_path: Path) -> None:
        assert jest_outcomes(b"{", tmp_path) is None
        assert jest_outcomes(json.dumps({"results": []}).encode(), tmp_path) is None
        assert jest_outcomes(None, tmp_path) is None

    def test_options_follow_a_double_dash_for_npm(self, tmp_path: Path) -> None:
        argv = JestAdapter().argv(["npm", "test"], place(tmp_path))
        assert argv[:4] == ["npm", "test", "--", "--ci"] and "--json" in argv
        assert VitestAdapter().argv(["npx", "vitest"], place(tmp_path))[2] == "--run"


class TestVitestReport:
    """Written against vitest's documented junit layout (vitest is not installed here)."""

    REPORT = b"""<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="1" errors="0">
  <testsuite name="tests/slug.test.ts" tests="3" failures="1" errors="0" skipped="1">
    <testcase classname="tests/slug.test.ts" name="slugify &gt; lowercases" time="0.001"/>
    <testcase classname="tests/slug.test.ts" name="slugify &gt; dashes" time="0.002">
      <failure message="expected 'a-b' to be 'a_b'" type="AssertionError">AssertionError: expected 'a-b' to be 'a_b'
 at tests/slug.test.ts:6:30</failure>
    </testcase>
    <testcase classname="tests/slug.test.ts" name="slugify &gt; later" time="0"><skipped/></testcase>
  </testsuite>
  <testsuite name="tests/broken.test.ts" tests="1" failures="1">
    <testcase classname="tests/broken.test.ts" name="tests/broken.test.ts">
      <failure>SyntaxError: Unexpected token</failure>
    </testcase>
  </testsuite>
</testsuites>"""

    def test_ids_and_a_file_that_did_not_load(self, tmp_path: Path) -> None:
        outcomes = vitest_outcomes(self.REPORT, tmp_path)
        assert outcomes is not None
        assert {test_id: o.outcome for test_id, o in outcomes.items()} == {
            "tests/slug.test.ts > slugify > lowercases": "passed",
            "tests/slug.test.ts > slugify > dashes": "failed",
            "tests/slug.test.ts > slugify > later": "skipped",
            "tests/broken.test.ts": "error",
        }
        assert outcomes["tests/slug.test.ts > slugify > dashes"].message == "expected 'a-b' to be 'a_b'"

    def test_a_doctype_is_refused(self, tmp_path: Path) -> None:
        assert vitest_outcomes(b'<!DOCTYPE x [<!ENTITY a "b">]><testsuites/>', tmp_path) is None


class TestChoosing:
    @pytest.mark.parametrize(
        ("command", "expected"),
        [
            (["python", "-m", "pytest"], "pytest"),
            (["cargo", "test"], "cargo"),
            (["cargo", "+nightly", "test", "--release"], "cargo"),
            (["cargo", "build"], "command"),
            (["node", "--test"], "node"),
            (["node", "script.js"], "command"),
            (["npx", "jest"], "jest"),
            (["npx", "vitest", "run"], "vitest"),
            (["make", "test"], "command"),
        ],
    )
    def test_the_command_names_the_runner(self, tmp_path: Path, command: list[str], expected: str) -> None:
        assert runner_of_command(command, tmp_path) == expected
        assert adapter_for("auto", command, tmp_path).name == expected

    def test_npm_test_reads_the_package_script(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"package.json": json.dumps({"scripts": {"test": "jest --coverage"}})})
        assert runner_of_command(["npm", "test"], tmp_path) == "command"  # jest is not installed
        write_files(tmp_path, {"node_modules/.bin/jest": ""})
        assert runner_of_command(["npm", "test"], tmp_path) == "jest"
        write_files(tmp_path, {"package.json": json.dumps({"scripts": {"test": "vitest run"}})})
        assert runner_of_command(["npm", "run", "test"], tmp_path) == "vitest"

    @pytest.mark.parametrize(
        ("files", "runner", "command"),
        [
            ({"Cargo.toml": "[package]\n"}, "cargo", "cargo test"),
            ({"package.json": '{"scripts": {"test": "vitest"}}'}, "vitest", "npm test"),
            ({"package.json": '{"name": "x"}'}, "node", "node --test"),
            ({"lib/slug.test.mjs": ""}, "node", "node --test"),
            ({"tests/test_x.py": ""}, "pytest", "python -m pytest"),
        ],
    )
    def test_a_project_without_a_command_gets_its_runners(
        self, tmp_path: Path, files: dict[str, str], runner: str, command: str
    ) -> None:
        write_files(tmp_path, files)
        assert detect_runner(tmp_path) == runner
        assert project_test_command(parse_config({}, source="t"), tmp_path) == command
        assert default_test_command(runner) == command

    def test_the_users_command_and_runner_key_win(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"Cargo.toml": ""})
        given = parse_config({"project": {"test_command": "make check"}}, source="t")
        assert project_test_command(given, tmp_path) == "make check"
        assert project_test_command(parse_config({"tests": {"runner": "node"}}, source="t"), tmp_path) == "node --test"
        assert adapter_for("command", ["cargo", "test"], tmp_path).name == "command"

    def test_runner_command_is_judged_by_the_exit_status_alone(self, tmp_path: Path) -> None:
        argv = [sys.executable, "-m", "pytest", "--version"]
        result = run_tests(tmp_path, argv, timeout_s=60, scratch_dir=tmp_path / "scratch", runner="command")
        assert (result.runner, result.used_junit, result.command) == ("command", False, argv)
        assert judge(result, result).green

    def test_an_unknown_runner_key_is_a_config_error(self) -> None:
        with pytest.raises(Exception, match=r"tests\.runner"):
            parse_config({"tests": {"runner": "mocha"}}, source="t")


class TestDiscovery:
    def test_javascript_and_rust_test_files_when_asked_python_alone_by_default(self, tmp_path: Path) -> None:
        write_files(
            tmp_path,
            {
                "tests/test_a.py": "",
                "src/slug.js": "",
                "src/slug.test.ts": "",
                "lib/a.spec.mjs": "",
                "test/helpers.cjs": "",
                "node_modules/x/y.test.js": "",
                "tests/roman.rs": "",
                "tests/big/main.rs": "",
                "src/lib.rs": "",
                "target/debug/tests/gen.rs": "",
            },
        )
        assert find_test_files(tmp_path) == ["tests/test_a.py"]
        assert find_test_files(tmp_path, ("javascript",)) == ["lib/a.spec.mjs", "src/slug.test.ts", "test/helpers.cjs"]
        assert find_test_files(tmp_path, languages_of("cargo")) == ["tests/roman.rs", "tests/big/main.rs"]
        assert is_js_test_file("__tests__/a.jsx") and not is_js_test_file("tests/data.json")
        assert is_rust_test_file("crates/x/tests/a.rs") and not is_rust_test_file("src/tests.rs")


class TestVerdictOnOtherRunners:
    def test_a_reporting_runner_without_its_report_is_red_even_at_status_0(self) -> None:
        base = {"command": ["node", "--test"], "timed_out": False, "duration_s": 0.0, "output": "", "outcomes": {}}
        node = TestRun(**base, exit_code=0, used_junit=False, runner="node")  # type: ignore[arg-type]
        assert not judge(node, node).green and "node exited with status 0" in judge(node, node).reason
        plain = TestRun(**base, exit_code=0, used_junit=False, runner="cargo")  # type: ignore[arg-type]
        assert judge(plain, plain).green

    def test_a_file_target_covers_its_javascript_tests_and_a_load_failure_its_rust_tests(self) -> None:
        def run(outcomes: dict[str, str]) -> TestRun:
            from autodev.verify.junit import TestOutcome

            return TestRun(
                command=["x"], exit_code=1, timed_out=False, duration_s=0.0, output="", used_junit=True,
                outcomes={i: TestOutcome(test_id=i, outcome=k) for i, k in outcomes.items()},  # type: ignore[arg-type]
            )  # fmt: skip

        js = run({"tests/slug.test.js > slugify > a": "passed", "tests/slug.test.js > b": "failed"})
        assert status_of(js, "tests/slug.test.js") == "failing"
        assert status_of(js, "tests/slug.test.js > slugify") == "passed"
        rust = run({"tests/roman.rs": "error"})
        assert status_of(rust, "tests/roman.rs::one") == "failing"
        assert [o.test_id for o in rust.load_failures] == ["tests/roman.rs"]
        assert not judge(rust, rust, ["tests/roman.rs::one"]).green
