"""The decisions behind a pass on a JavaScript or Rust project, in process: which runner and command, which files
to write, which a reply may not touch, whose problem a load failure is, and what the model is told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import write_files

from autodev.config import parse_config
from autodev.core.candidate import try_in_scratch
from autodev.errors import EditRejectedError
from autodev.route.policy import describe_failure
from autodev.synth.context import language_of
from autodev.synth.guard import check_writable
from autodev.synth.targets import choose_targets
from autodev.verify.adapters.base import RunPlace, load_failure
from autodev.verify.adapters.choose import project_tests
from autodev.verify.collection import cannot_collect_reason, project_problems
from autodev.verify.junit import TestOutcome
from autodev.verify.runner import TestRun
from autodev.verify.verdict import failure_summary, judge

pytestmark = pytest.mark.req("LANG-2")

CARGO_TOML = '[package]\nname = "roman-numerals"\nversion = "0.1.0"\nedition = "2021"\n'


def tool_run(runner: str, outcomes: list[TestOutcome], *, exit_code: int = 1) -> TestRun:
    command = {"node": ["node", "--test"], "cargo": ["cargo", "test"]}[runner]
    return TestRun(
        command=command,
        exit_code=exit_code,
        timed_out=False,
        duration_s=0.5,
        output="",
        outcomes={item.test_id: item for item in outcomes},
        used_junit=True,
        runner=runner,
    )


class TestTheProjectsRunner:
    def test_cargo_toml_means_cargo_test_and_rust_tests(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"Cargo.toml": CARGO_TOML})
        chosen = project_tests(parse_config({"tests": {"include_ignored": True}}, source="t"), tmp_path)
        assert (chosen.command, chosen.runner, chosen.languages) == ("cargo test", "cargo", ("rust",))
        assert getattr(chosen.adapter, "include_ignored", False) is True

    def test_a_candidates_copy_builds_into_its_own_target_directory(self, tmp_path: Path) -> None:
        """Copies tested side by side must not share CARGO_TARGET_DIR: one's test binary would replace another's."""
        write_files(tmp_path, {"Cargo.toml": CARGO_TOML})
        chosen = project_tests(parse_config({}, source="t"), tmp_path)
        place = RunPlace(root=tmp_path / "copy", work=tmp_path, env={"CARGO_TARGET_DIR": "/shared"})
        chosen.adapter.argv(["cargo", "test"], place)
        assert place.env["CARGO_TARGET_DIR"] == "/shared"
        chosen.in_copy().argv(["cargo", "test"], place)
        assert place.env["CARGO_TARGET_DIR"] == str(tmp_path / "copy" / "target")

    def test_package_json_means_node_test(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"package.json": json.dumps({"type": "module"})})
        chosen = project_tests(parse_config({}, source="t"), tmp_path)
        assert (chosen.command, chosen.runner, chosen.languages) == ("node --test", "node", ("javascript",))

    def test_a_plain_command_finds_the_tests_of_the_projects_language(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"package.json": json.dumps({"scripts": {"test": "node --test"}})})
        chosen = project_tests(parse_config({"project": {"test_command": "npm test"}}, source="t"), tmp_path)
        assert (chosen.runner, chosen.languages) == ("command", ("javascript",))

    def test_a_python_project_is_as_before(self, tmp_path: Path) -> None:
        chosen = project_tests(parse_config({}, source="t"), tmp_path)
        assert (chosen.command, chosen.runner, chosen.languages) == ("python -m pytest", "pytest", ("python",))


class TestTargets:
    def test_relative_javascript_imports_are_resolved_to_files(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"lib/util.mjs": "", "lib/parts/index.js": ""})
        source = (
            'import { test } from "node:test";\nimport { a } from "../src/slug.js";\n'
            'const b = require("../lib/util");\nimport c from "../lib/parts";\nimport "./helpers.js";\n'
            'export { d } from "../src/more";\nimport lodash from "lodash";\n'
        )
        targets = choose_targets(tmp_path, [], ["tests/slug.test.js"], [source])
        assert targets == ["src/slug.js", "lib/util.mjs", "lib/parts/index.js", "src/more.js"]

    def test_a_typescript_test_gets_typescript_files(self, tmp_path: Path) -> None:
        assert choose_targets(tmp_path, [], ["src/slug.test.ts"], ['import { s } from "./slug";\n']) == ["src/slug.ts"]

    def test_a_rust_test_using_the_crate_needs_the_library_and_its_modules(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"Cargo.toml": CARGO_TOML, "src/lib.rs": "mod table;\npub mod parse;\n// mod old;\n",
                               "src/parse/mod.rs": ""})  # fmt: skip
        source = 'use roman_numerals::to_roman;\n#[test]\nfn one() { assert_eq!(to_roman(1), "I"); }\n'
        targets = choose_targets(tmp_path, [], ["tests/roman.rs"], [source])
        assert targets == ["src/lib.rs", "src/table.rs", "src/parse/mod.rs"]

    def test_a_rust_test_that_does_not_use_the_crate_names_nothing(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"Cargo.toml": CARGO_TOML})
        assert choose_targets(tmp_path, [], ["tests/other.rs"], ["use std::fmt;\n"]) == []

    def test_files_in_the_spec_still_win(self, tmp_path: Path) -> None:
        assert choose_targets(tmp_path, ["src/x.js"], ["tests/a.test.js"], ['import "../src/y.js";']) == ["src/x.js"]


class TestProtectedFiles:
    @pytest.mark.parametrize(
        "name",
        ["package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock"],
    )
    def test_manifests_and_lock_files_are_refused(self, tmp_path: Path, name: str) -> None:
        with pytest.raises(EditRejectedError, match="controls how the tests run"):
            check_writable(tmp_path, name)

    def test_cargo_toml_is_refused_unless_the_requirement_names_it(self, tmp_path: Path) -> None:
        with pytest.raises(EditRejectedError, match="Files: does not name it"):
            check_writable(tmp_path, "Cargo.toml", protected={"Cargo.toml"})
        assert check_writable(tmp_path, "Cargo.toml", protected=set()) == "Cargo.toml"

    @pytest.mark.parametrize("path", ["tests/slug.test.js", "src/slug.spec.ts", "tests/roman.rs"])
    def test_test_files_are_refused(self, tmp_path: Path, path: str) -> None:
        with pytest.raises(EditRejectedError, match="test file"):
            check_writable(tmp_path, path)


class TestWhoseProblem:
    def test_a_syntax_error_in_a_javascript_test_is_the_projects(self, tmp_path: Path) -> None:
        details = f"file://{tmp_path}/tests/a.test.js:8\n  oops(;\n\nSyntaxError: missing ) after argument list"
        run = tool_run("node", [load_failure("tests/a.test.js", "SyntaxError: missing )", details)])
        problems = project_problems(run, tmp_path)
        assert [(p.file, p.line) for p in problems] == [("tests/a.test.js", 8)]
        reason = cannot_collect_reason(problems, runner="node")
        assert reason.startswith("node cannot load the tests before any change (tests/a.test.js)")
        assert str(tmp_path) not in reason

    def test_a_module_not_written_yet_or_a_syntax_error_in_the_code_is_the_models(self, tmp_path: Path) -> None:
        missing = load_failure("tests/a.test.js", "Error [ERR_MODULE_NOT_FOUND]: Cannot find module", "")
        broken = load_failure("tests/b.test.js", "SyntaxError: Unexpected token", f"{tmp_path}/src/b.js:2\nx(;")
        assert project_problems(tool_run("node", [missing, broken]), tmp_path) == []

    def test_a_name_the_code_does_not_export_yet_is_the_models(self, tmp_path: Path) -> None:
        """node reports it as a SyntaxError at the test's import line; writing the export is the work."""
        said = "SyntaxError: The requested module '../src/slug.js' does not provide an export named 'slugify'"
        details = f"file://{tmp_path}/tests/slug.test.js:3\nimport {{ slugify }} from '../src/slug.js';\n\n{said}"
        run = tool_run("node", [load_failure("tests/slug.test.js", said, details)])
        assert project_problems(run, tmp_path) == []

    def test_a_broken_package_json_is_the_projects(self, tmp_path: Path) -> None:
        said = f"SyntaxError: Error parsing {tmp_path}/package.json: Expected ',' in JSON at position 9"
        run = tool_run("node", [load_failure("tests/a.test.js", said, said)])
        assert [p.file for p in project_problems(run, tmp_path)] == ["package.json"]

    def test_rustc_parse_error_in_a_test_is_the_projects_a_type_error_the_models(self, tmp_path: Path) -> None:
        parse = load_failure("tests/roman.rs", "error: this file contains an unclosed delimiter (tests/roman.rs:12:14)",
                             "error: this file contains an unclosed delimiter\n  --> tests/roman.rs:12:14")  # fmt: skip
        unresolved = load_failure("tests/roman.rs", "error[E0432]: unresolved import `roman::x` (tests/roman.rs:1:5)",
                                  "error[E0432]: unresolved import `roman::x`\n --> tests/roman.rs:1:5")  # fmt: skip
        in_code = load_failure("tests/roman.rs", "error: expected one of `;` (src/lib.rs:3:9)", "")
        assert [p.file for p in project_problems(tool_run("cargo", [parse]), tmp_path)] == ["tests/roman.rs"]
        assert project_problems(tool_run("cargo", [unresolved]), tmp_path) == []
        assert project_problems(tool_run("cargo", [in_code]), tmp_path) == []

    def test_a_broken_cargo_toml_is_the_projects(self, tmp_path: Path) -> None:
        bad = load_failure("<compile>", "error: unclosed table, expected `]` (Cargo.toml:7:9)", "")
        problems = project_problems(tool_run("cargo", [bad]), tmp_path)
        assert [(p.file, p.line) for p in problems] == [("Cargo.toml", 7)]
        assert cannot_collect_reason(problems, runner="cargo").startswith("cargo cannot build the tests")


class TestWhatTheModelIsTold:
    def test_a_compile_error_is_shown_with_rustcs_lines_and_is_cheap(self) -> None:
        block = (
            "error[E0425]: cannot find value `foo` in this scope\n --> src/lib.rs:2:5\n  |\n2 |     foo\n  |     ^^^"
        )
        failure = load_failure("tests/roman.rs", "error[E0425]: cannot find value `foo` (src/lib.rs:2:5)", block)
        run = tool_run("cargo", [failure], exit_code=101)
        summary = failure_summary(run)
        assert "ERROR tests/roman.rs - error[E0425]" in summary
        assert "^^^" in summary and "2 |     foo" in summary
        assert "cargo cannot build tests/roman.rs" in judge(run, run).reason
        assert describe_failure(run, None, 5).cheap

    def test_a_failing_rust_test_shows_left_and_right(self) -> None:
        details = "\n".join(
            ["thread 'two' (7) panicked at tests/roman.rs:5:5:", "assertion `left == right` failed", '  left: "I"',
             ' right: "II"']
        )  # fmt: skip
        failed = TestOutcome(
            test_id="tests/roman.rs::two", outcome="failed", message="assertion failed", details=details
        )
        summary = failure_summary(tool_run("cargo", [failed], exit_code=101))
        assert 'left: "I"' in summary and 'right: "II"' in summary

    @pytest.mark.parametrize(
        ("path", "fence"),
        [("a.js", "javascript"), ("a.mjs", "javascript"), ("a.cjs", "javascript"), ("a.ts", "typescript"),
         ("src/lib.rs", "rust"), ("package.json", "json"), ("a.py", "python")],
    )  # fmt: skip
    def test_fences_know_the_language(self, path: str, fence: str) -> None:
        assert language_of(path) == fence


class TestScratchCopies:
    def test_node_modules_is_linked_not_copied(self, tmp_path: Path) -> None:
        """A candidate's copy of a JavaScript project reaches the installed packages through a link."""
        project = tmp_path / "project"
        write_files(project, {"package.json": "{}", "node_modules/jest/package.json": "{}", "tests/a.test.js": ""})
        seen: dict[str, object] = {}

        def run(copy: Path) -> TestRun:
            seen["link"] = (copy / "node_modules").is_symlink()
            seen["jest"] = (copy / "node_modules" / "jest" / "package.json").is_file()
            return tool_run("node", [])

        try_in_scratch(project, {"src/a.js": "export const a = 1;\n"}, run)
        assert seen == {"link": True, "jest": True}
        assert (project / "node_modules" / "jest" / "package.json").is_file()  # the project's own, untouched
