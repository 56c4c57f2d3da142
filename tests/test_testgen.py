"""Examples become tests without a model: each form translated deterministically, refusals named with their spec
line, the file written under tests/generated/ only when it is autodev's, and the tests run by real pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import autodev, config_text, git, head, run_json

from autodev.spec.parser import parse_spec_text
from autodev.testgen.criteria import reply_code
from autodev.testgen.examples import Check, translate
from autodev.testgen.render import HEADER, render
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("TG-1")

SPEC = """# Temperatures

## TEMP-1: Conversions
Files: temps.py

Examples:
- `to_kelvin(0)` -> `273.15`
- to_fahrenheit(100) == 212
- `to_kelvin(-300)` -> raises ValueError("below absolute zero")
- `minus forty` -> the same in both scales

```python
>>> to_celsius(212)
100.0
>>> to_kelvin(-274)
Traceback (most recent call last):
  ...
ValueError: below absolute zero
```

| call | expected |
|---|---|
| `to_celsius(32)` | `0.0` |
"""
RIGHT = """def _check(celsius):
    if celsius < -273.15:
        raise ValueError("below absolute zero")
    return celsius


def to_kelvin(celsius):
    return _check(celsius) + 273.15


def to_fahrenheit(celsius):
    return _check(celsius) * 9 / 5 + 32


def to_celsius(fahrenheit):
    return _check((fahrenheit - 32) * 5 / 9)
"""
GENERATED = "tests/generated/test_temp_1.py"


def spec_project(repo: Path, spec: str = SPEC) -> Path:
    (repo / "SPEC.md").write_text(spec, encoding="utf-8")
    (repo / "autodev.toml").write_text("[project]\n", encoding="utf-8")
    (repo / "temps.py").write_text("def to_kelvin(celsius):\n    raise NotImplementedError\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "spec")
    return repo


def pytest_outcome(project: Path, test_file: str = GENERATED) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file], cwd=project,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


class TestTranslate:
    @pytest.mark.parametrize(
        ("example", "check"),
        [
            ("`to_kelvin(0)` -> `273.15`", Check("to_kelvin(0)", expected="273.15")),
            ("to_kelvin(0) => 273.15.", Check("to_kelvin(0)", expected="273.15")),
            ("parse('a b') \u2192 ['a', 'b']", Check("parse('a b')", expected="['a', 'b']")),
            ("to_fahrenheit(100) == 212", Check("to_fahrenheit(100)", expected="212")),
            ("`parse('')` -> `ValueError`", Check("parse('')", raises="ValueError")),
            ("f(-1) -> raises ValueError: negative", Check("f(-1)", raises="ValueError", message="negative")),
            ('f(-1) -> ValueError("no negatives")', Check("f(-1)", raises="ValueError", message="no negatives")),
            ("input: `f(1)` | expected: `2`", Check("f(1)", expected="2")),
        ],
    )
    def test_each_line_form_is_one_check(self, example: str, check: Check) -> None:
        assert translate(example).checks == (check,)

    def test_a_doctest_keeps_its_setup_lines_its_outputs_and_its_tracebacks_in_order(self) -> None:
        doctest = ">>> c = Counter()\n>>> c.add(\n...     2)\n>>> c.total\n2\n>>> c.add(-1)\n" \
                  "Traceback (most recent call last):\n  ...\nValueError: negative\n"  # fmt: skip
        assert translate(doctest).checks == (
            Check("c = Counter()"),
            Check("c.add(\n    2)"),
            Check("c.total", expected="2"),
            Check("c.add(-1)", raises="ValueError", message="negative"),
        )

    def test_a_block_of_asserts_is_kept_as_written(self) -> None:
        assert translate("assert f(1) == 2\nassert f(2) == 3").checks == (Check("assert f(1) == 2"),
                                                                          Check("assert f(2) == 3"))  # fmt: skip

    @pytest.mark.parametrize(
        ("example", "reason"),
        [
            ("`2024-01-31` -> a date", "is not a Python expression"),
            ("`5` -> `25`", "calls nothing"),
            ("f(1) is small", "no expected value"),
            ("f(1) is very small", "not a Python expression"),
            ("input: 3 | expected: 9", "calls nothing"),
            (">>> x = 1\n>>> y = 2", "shows no output to compare"),
            ("print('a')\nprint('b')", "has no assert line"),
        ],
    )
    def test_what_is_not_python_or_checks_nothing_is_refused_with_the_reason(self, example: str, reason: str) -> None:
        translated = translate(example)
        assert not translated.checks and reason in translated.refused


class TestRender:
    def test_names_are_imported_from_the_files_module_and_standard_modules_as_themselves(self, tmp_path: Path) -> None:
        spec = (
            "# S\n\n## R-1: dates\nFiles: dates/parse.py\n\n- `parse('2024-01-31')` -> `datetime.date(2024, 1, 31)`\n"
        )
        (requirement,), _ = parse_spec_text(spec, "SPEC.md")
        text = render(requirement, tmp_path).text
        assert "import datetime\n" in text and "from dates.parse import parse\n" in text
        assert text.startswith(HEADER) and "pytestmark = pytest.mark.req('R-1')" in text

    def test_a_name_no_named_file_can_be_said_to_define_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "a.py").write_text("def f():\n    pass\n", encoding="utf-8")
        (tmp_path / "b.py").write_text("def g():\n    pass\n", encoding="utf-8")
        spec = "# S\n\n## R-1: two modules\nFiles: a.py, b.py\n\n- `f(1)` -> `2`\n- `h(1)` -> `3`\n"
        (requirement,), _ = parse_spec_text(spec, "SPEC.md")
        generated = render(requirement, tmp_path)
        assert "from a import f" in generated.text and len(generated.tests) == 1
        (refusal,) = generated.refused
        assert str(refusal) == "SPEC.md:7: `h` is defined nowhere the requirement names (Files: a, b): name its " \
                               "file under Files:"  # fmt: skip


class TestTestsGen:
    def test_the_examples_become_a_file_that_fails_on_the_stub_and_passes_on_the_right_code(
        self, repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = spec_project(repo)
        assert autodev(project, "tests", "gen") == 1  # one example is refused
        out = capsys.readouterr().out
        assert f"TEMP-1: {GENERATED}: 5 test(s) written" in out
        assert "refused SPEC.md:10: the call 'minus forty' is not a Python expression" in out
        assert "raise NotImplementedError" in (project / "temps.py").read_text(encoding="utf-8")  # code untouched
        assert pytest_outcome(project).returncode != 0  # the stub defines no to_celsius: nothing passes
        (project / "temps.py").write_text(RIGHT, encoding="utf-8")
        passed = pytest_outcome(project)
        assert passed.returncode == 0 and "5 passed" in passed.stdout, passed.stdout

    def test_dry_run_writes_nothing_and_json_names_each_test_with_its_line(
        self, repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = spec_project(repo)
        assert autodev(project, "tests", "gen", "TEMP-1", "--dry-run", "--json") == 1
        (row,) = json.loads(capsys.readouterr().out)["requirements"]
        assert [test["line"] for test in row["tests"]] == [7, 8, 9, 13, 23]
        assert row["refused"] == [{"file": "SPEC.md", "line": 10,
                                   "reason": "the call 'minus forty' is not a Python expression"}]  # fmt: skip
        assert row["outcome"] == "dry-run" and not (project / GENERATED).exists()

    def test_a_file_the_user_wrote_is_never_overwritten(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        project = spec_project(repo)
        (project / "tests" / "generated").mkdir(parents=True)
        (project / GENERATED).write_text("def test_mine():\n    assert True\n", encoding="utf-8")
        assert autodev(project, "tests", "gen") == 1
        assert "is not autodev's" in capsys.readouterr().out
        assert (project / GENERATED).read_text(encoding="utf-8") == "def test_mine():\n    assert True\n"

    def test_an_edited_example_renames_only_its_own_test(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        project = spec_project(repo)
        autodev(project, "tests", "gen", "--json")
        before = [t["name"] for t in json.loads(capsys.readouterr().out)["requirements"][0]["tests"]]
        (project / "SPEC.md").write_text(SPEC.replace("to_fahrenheit(100) == 212", "to_fahrenheit(0) == 32"),
                                         encoding="utf-8")  # fmt: skip
        autodev(project, "tests", "gen", "--json")
        after = [t["name"] for t in json.loads(capsys.readouterr().out)["requirements"][0]["tests"]]
        assert [b == a for b, a in zip(before, after, strict=True)] == [True, False, True, True, True]

    def test_status_counts_the_examples_with_a_generated_test(
        self, repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = spec_project(repo)
        assert autodev(project, "status", "--json") == 0
        assert json.loads(capsys.readouterr().out)["spec_coverage"]["examples_tested"] == 0
        autodev(project, "tests", "gen")
        capsys.readouterr()
        assert autodev(project, "status", "--json") == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["spec_coverage"] == {"requirements": 1, "with_passing_test": 0, "share": 0.0, "examples": 6,
                                          "examples_tested": 5, "criteria": 0, "criteria_tested": 0}  # fmt: skip
        assert shown["requirements"][0]["coverage"] == {"criteria": 0, "examples": 6, "examples_tested": 5,
                                                        "criteria_tested": 0}  # fmt: skip

    def test_an_unknown_requirement_is_a_usage_error(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        project = spec_project(repo)
        assert autodev(project, "tests", "gen", "TEMP-9") == 2
        assert "no requirement TEMP-9" in capsys.readouterr().err


def project_testing_first(repo: Path, server: ScriptedServer, mode: str) -> Path:
    (repo / "SPEC.md").write_text(SPEC, encoding="utf-8")
    config = config_text(server.url).replace("[synthesis]\n", f"[synthesis]\ntest_first = {mode}\n")
    (repo / "autodev.toml").write_text(config, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "spec")
    return repo


class TestTestsFirstInAPass:
    def test_the_examples_tests_are_committed_on_their_own_before_the_code(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = project_testing_first(repo, server, "true")
        server.push(f"temps.py\n```python\n{RIGHT}```\n")
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 0, result
        log = git(project, "log", "--format=%s", "--reverse", f"{before}..HEAD").splitlines()
        assert log == ["autodev: tests for TEMP-1", "autodev: Conversions"]
        assert "def test_to_kelvin_" in server.requests[0].prompt_text  # the coder is shown the generated tests
        assert git(project, "show", "--stat", "--format=", "HEAD~1").split()[0] == GENERATED
        assert len(result["requirements"][0]["tests"]) == 5
        assert autodev(project, "status") == 0
        assert "spec coverage: 1 of 1 requirement(s) have a passing linked test (100%); 5 of 6 example(s) have a " \
               "generated test" in capsys.readouterr().out  # fmt: skip

    def test_review_writes_the_tests_and_waits_until_the_user_commits_them(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = project_testing_first(repo, server, '"review"')
        before = head(project)
        code, result = run_json(project, capsys)
        assert code != 0 and not server.requests and head(project) == before
        requirement = result["requirements"][0]
        assert (
            requirement["status"] == "blocked"
            and f"its generated tests {GENERATED} await your review" in (requirement["reason"])
        )
        edited = (project / GENERATED).read_text(encoding="utf-8") + "\n\ndef test_mine() -> None:\n    pass\n"
        (project / GENERATED).write_text(edited, encoding="utf-8")
        run_json(project, capsys)  # still uncommitted: the user's edit is not written over
        assert (project / GENERATED).read_text(encoding="utf-8") == edited
        git(project, "add", GENERATED)
        git(project, "commit", "-qm", "reviewed")
        server.push(f"temps.py\n```python\n{RIGHT}```\n")
        code, result = run_json(project, capsys)
        assert code == 0, result
        assert (project / GENERATED).read_text(encoding="utf-8") == edited

    def test_without_test_first_no_tests_are_generated(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = project_testing_first(repo, server, "false")
        (project / "tests").mkdir()
        (project / "tests" / "test_mine.py").write_text("def test_mine():\n    assert False\n", encoding="utf-8")
        git(project, "add", "-A")
        git(project, "commit", "-qm", "a test")
        server.push("nothing to say")
        run_json(project, capsys)
        assert not (project / GENERATED).exists()


CRITERIA_SPEC = """# Temperatures

## TEMP-2: Kelvin
Files: temps.py

Acceptance criteria:
- `to_kelvin(0)` is 273.15
- a temperature below absolute zero raises ValueError
"""
TESTER_REPLY = '''Here are the tests.

```python
import pytest
from temps import to_kelvin


def test_freezing():
    """to_kelvin(0) is 273.15"""
    assert to_kelvin(0) == pytest.approx(273.15)


def test_below_zero():
    with pytest.raises(ValueError):
        to_kelvin(-300)


def test_already_true():
    assert to_kelvin(5) is not None


def test_calls_only():
    to_kelvin(1)


def test_tautology():
    assert 1 == 1


def test_own_error():
    assert helper(3) == 3
```
'''
CRITERIA_FILE = "tests/generated/test_temp_2_criteria.py"


class TestCriteriaTests:
    def test_only_tests_that_assert_and_fail_on_the_current_code_for_its_reason_are_kept(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (repo / "SPEC.md").write_text(CRITERIA_SPEC, encoding="utf-8")
        (repo / "autodev.toml").write_text(config_text(server.url), encoding="utf-8")
        (repo / "temps.py").write_text("def to_kelvin(celsius):\n    return celsius\n", encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "spec")
        server.push(TESTER_REPLY)
        assert autodev(repo, "tests", "gen", "--criteria", "--json") == 1  # some were refused
        (row,) = json.loads(capsys.readouterr().out)["criteria"]
        assert row["kept"] == ["test_freezing", "test_below_zero"]
        assert row["refused"] == {
            "test_calls_only": "asserts nothing (no assert, pytest.raises or assert* call)",
            "test_tautology": "asserts only a tautology (assert 1 == 1)",
            "test_already_true": "passes on the current code: it proves nothing about the work to do",
            "test_own_error": "fails for a reason of its own: NameError: name 'helper' is not defined",
        }
        assert "acceptance criteria" in server.requests[0].prompt_text and "- a temperature below absolute zero" in (
            server.requests[0].prompt_text
        )
        written = (repo / CRITERIA_FILE).read_text(encoding="utf-8")
        assert git(repo, "status", "--porcelain", "-uall", "--", ".", ":!.autodev").strip() == f"?? {CRITERIA_FILE}"
        assert written.startswith(HEADER) and "def test_own_error" not in written
        assert "pytestmark = pytest.mark.req('TEMP-2')" in written
        assert pytest_outcome(repo, CRITERIA_FILE).returncode == 1
        (repo / "temps.py").write_text(RIGHT, encoding="utf-8")
        assert "2 passed" in pytest_outcome(repo, CRITERIA_FILE).stdout

    def test_the_tester_is_shown_a_test_file_to_start_from_that_imports_what_the_stub_defines(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Small models copy a shape better than they follow a rule: the prompt ends with the imports to use."""
        project = criteria_project(repo, server, test_first="false")
        server.push("no code today")
        assert autodev(project, "tests", "gen", "--criteria", "--json") == 1
        (row,) = json.loads(capsys.readouterr().out)["criteria"]
        assert row["problem"] == "the tester's reply has no Python test file"
        prompt = server.requests[0].prompt_text
        assert "from temps import to_kelvin" in prompt and "assert to_kelvin(...) == ..." in prompt

    def test_a_criteria_file_written_for_the_requirement_as_it_is_is_asked_for_again_only_when_named(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = criteria_project(repo, server, test_first="false")
        server.push(TESTER_REPLY)
        autodev(project, "tests", "gen", "--criteria")
        capsys.readouterr()
        assert autodev(project, "tests", "gen", "--criteria") == 0 and len(server.requests) == 1
        assert f"TEMP-2: {CRITERIA_FILE} is current" in capsys.readouterr().out
        autodev(project, "tests", "gen", "--criteria", "TEMP-2")  # the same prompt: the response cache answers
        assert "2 of 6 criteria test(s) kept, unchanged (tester: scripted)" in capsys.readouterr().out


def criteria_project(repo: Path, server: ScriptedServer, *, test_first: str = "true", synthesis: str = "") -> Path:
    """TEMP-2 with a stub that is wrong, a tester configured, ``test_first`` (and more ``synthesis`` keys) as given;
    all committed."""
    (repo / "SPEC.md").write_text(CRITERIA_SPEC, encoding="utf-8")
    config = config_text(server.url).replace("[synthesis]\n", f"[synthesis]\ntest_first = {test_first}\n{synthesis}")
    (repo / "autodev.toml").write_text(config + '[roles.tester]\ntier = "tier1"\n', encoding="utf-8")
    (repo / "temps.py").write_text("def to_kelvin(celsius):\n    return celsius\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "spec")
    return repo


@pytest.mark.req("TG-6")
class TestCriteriaTestsInAPass:
    def test_the_testers_kept_tests_are_committed_before_the_code_and_judge_it(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = criteria_project(repo, server)
        server.push(TESTER_REPLY)
        server.push(f"temps.py\n```python\n{RIGHT}```\n")
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 0, result
        log = git(project, "log", "--format=%s", "--reverse", f"{before}..HEAD").splitlines()
        assert log == ["autodev: tests for TEMP-2", "autodev: Kelvin"]
        assert git(project, "show", "--stat", "--format=", "HEAD~1").split()[0] == CRITERIA_FILE
        assert "Autodev-Model: scripted" in git(project, "log", "-1", "--format=%B", "HEAD~1")
        assert "Write pytest tests" in server.requests[0].prompt_text
        assert "def test_freezing" in server.requests[1].prompt_text  # the coder is shown the kept tests
        assert "def test_own_error" not in server.requests[1].prompt_text
        (requirement,) = result["requirements"]
        assert sorted(test.split("::")[-1] for test in requirement["tests"]) == ["test_below_zero", "test_freezing"]
        assert [call["role"] for call in requirement["role_calls"]] == ["tester"]
        assert run_json(project, capsys)[0] == 0 and len(server.requests) == 2  # asked once per version
        assert autodev(project, "status") == 0
        # test_freezing's docstring quotes the first criterion; test_below_zero has none, so it is not counted
        assert "1 of 2 acceptance criteria have a generated test" in capsys.readouterr().out

    def test_a_tester_whose_tests_are_all_refused_is_not_asked_again_until_the_criteria_change(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = criteria_project(repo, server)
        refused = "```python\nfrom temps import to_kelvin\n\n\ndef test_t():\n    assert to_kelvin(5) is not None\n```"
        server.push(refused)
        run_json(project, capsys)
        run_json(project, capsys)
        assert len(server.requests) == 1 and not (project / CRITERIA_FILE).exists()
        assert git(project, "status", "--porcelain", "--", ".", ":!.autodev") == ""  # the red-first run was in a copy
        spec = CRITERIA_SPEC + "- a temperature is a number\n"
        (project / "SPEC.md").write_text(spec, encoding="utf-8")
        git(project, "commit", "-qam", "one more criterion")
        server.push(refused)
        run_json(project, capsys)
        assert len(server.requests) == 2 and "a temperature is a number" in server.requests[1].prompt_text

    def test_review_leaves_the_testers_tests_for_the_user_and_a_criteria_file_they_edited_is_theirs(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = criteria_project(repo, server, test_first='"review"')
        server.push(TESTER_REPLY)
        before = head(project)
        code, result = run_json(project, capsys)
        assert code != 0 and head(project) == before and len(server.requests) == 1
        assert f"its generated tests {CRITERIA_FILE} await your review" in result["requirements"][0]["reason"]
        mine = (project / CRITERIA_FILE).read_text(encoding="utf-8").replace("273.15", "273.150")
        (project / CRITERIA_FILE).write_text(mine, encoding="utf-8")
        git(project, "add", "-A")
        git(project, "commit", "-qm", "reviewed and edited")
        (project / "SPEC.md").write_text(CRITERIA_SPEC + "- a temperature is a number\n", encoding="utf-8")
        git(project, "commit", "-qam", "one more criterion")
        server.push(f"temps.py\n```python\n{RIGHT}```\n")
        code, result = run_json(project, capsys)
        assert code == 0, result
        assert (project / CRITERIA_FILE).read_text(encoding="utf-8") == mine  # edited: the user's, never rewritten
        assert "Write pytest tests" not in server.requests[-1].prompt_text


WRONG_VALUE = "def test_wrong_value():\n    assert to_kelvin(100) == 999\n\n\n"
AGREEMENT_REPLY = TESTER_REPLY.replace("def test_already_true():", WRONG_VALUE + "def test_already_true():")


@pytest.mark.req("TG-4")
class TestAgreement:
    def test_a_kept_test_that_an_implementation_passing_most_others_fails_is_refused_as_likely_wrong(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = criteria_project(repo, server, test_first="false", synthesis="tester_agreement = true\n")
        server.push(AGREEMENT_REPLY, f"temps.py\n```python\n{RIGHT}```\n")
        assert autodev(project, "tests", "gen", "--criteria", "--json") == 1
        (row,) = json.loads(capsys.readouterr().out)["criteria"]
        assert row["kept"] == ["test_freezing", "test_below_zero"]
        assert row["refused"]["test_wrong_value"].startswith("fails on an implementation written from the descr")
        assert "Write the code SPEC.md asks for, in temps.py" in server.requests[1].prompt_text
        assert "def test_" not in server.requests[1].prompt_text  # the implementation is written without the tests
        written = (project / CRITERIA_FILE).read_text(encoding="utf-8")
        assert "test_wrong_value" not in written and "def test_freezing" in written
        assert not (project / "temps.py").read_text(encoding="utf-8").startswith("def _check")  # only in the copy

    def test_an_implementation_that_passes_too_few_tells_nothing_and_every_test_stays(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = criteria_project(repo, server, test_first="false", synthesis="tester_agreement = true\n")
        server.push(AGREEMENT_REPLY, "temps.py\n```python\ndef to_kelvin(celsius):\n    return 0\n```\n")
        autodev(project, "tests", "gen", "--criteria", "--json")
        (row,) = json.loads(capsys.readouterr().out)["criteria"]
        assert row["kept"] == ["test_freezing", "test_below_zero", "test_wrong_value"]


@pytest.mark.req("TG-4")
class TestWrongCalls:
    def test_a_test_that_calls_a_stub_with_arguments_it_does_not_take_is_refused(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The stub fixes the interface: ``to_kelvin(1, 2)`` for ``def to_kelvin(celsius)`` is the test's own error,
        while a TypeError raised inside the code under test is the work to do."""
        project = criteria_project(repo, server, test_first="false")
        stub = "def _half(value):\n    return value / 2\n\n\ndef to_kelvin(celsius):\n    return _half(celsius, 2)\n"
        (project / "temps.py").write_text(stub, encoding="utf-8")
        git(project, "commit", "-qam", "a stub whose own call is wrong")
        reply = ("```python\nfrom temps import to_kelvin\n\n\ndef test_two():\n    assert to_kelvin(1, 2) == 3\n\n\n"
                 "def test_zero():\n    assert to_kelvin(0) == 273.15\n```")  # fmt: skip
        server.push(reply)
        assert autodev(project, "tests", "gen", "--criteria", "--json") == 1
        (row,) = json.loads(capsys.readouterr().out)["criteria"]
        why = "fails for a reason of its own: it calls to_kelvin() with arguments its definition does not take"
        assert row["refused"] == {"test_two": why}
        assert row["kept"] == ["test_zero"]


@pytest.mark.req("TG-4")
class TestCutOffReplies:
    def test_a_reply_cut_off_at_its_token_limit_keeps_the_tests_before_the_cut(self) -> None:
        cut = "Here.\n```python\nfrom g import f\n\n\ndef test_a():\n    assert f(1) == 1\n\n\ndef test_b():\n"
        cut += "    assert f("
        code = reply_code(cut)
        assert code is not None and "def test_a" in code and "test_b" not in code

    def test_a_closed_block_wins_and_prose_after_it_is_not_code(self) -> None:
        reply = "```python\ndef test_a():\n    assert g() == 1\n```\nThat should do it: run them with pytest.\n"
        assert reply_code(reply) == "def test_a():\n    assert g() == 1\n"
        assert reply_code("no code at all, sorry") is None
