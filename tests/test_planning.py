"""The architect inside a pass: a planned requirement is written increment by increment, one commit per green
increment, each judged by the tests it names; the plan is saved, shown by `autodev status REQ --plan`, and reused
by the next pass. End to end over LiteLLM to the scripted server, with real git and pytest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import RIGHT, WRONG, autodev, config_text, git, head, run_json, setup_example

from autodev.increments import PlanStore, read_plan
from autodev.roles import ROLE_PROMPTS
from autodev.spec.parser import parse_spec_text
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("WF-8")

TESTS = [
    "tests/test_temps.py::test_freezing_point_in_kelvin",
    "tests/test_temps.py::test_boiling_point_in_fahrenheit",
    "tests/test_temps.py::test_body_temperature_round_trip",
    "tests/test_temps.py::test_below_absolute_zero_is_rejected[to_kelvin--274]",
    "tests/test_temps.py::test_below_absolute_zero_is_rejected[to_fahrenheit--300]",
    "tests/test_temps.py::test_below_absolute_zero_is_rejected[to_celsius--500]",
]
PLAN = """FILES
- temps.py: to_kelvin(celsius), to_fahrenheit(celsius), to_celsius(fahrenheit), each returning a float

INCREMENTS
1. The three conversions
   Files: temps.py
   Tests: test_freezing_point_in_kelvin, test_boiling_point_in_fahrenheit, test_body_temperature_round_trip
2. Absolute zero
   Files: temps.py
   Tests: test_below_absolute_zero_is_rejected
"""
ARCHITECT = '[roles.architect]\nmodel = "scripted"\n'


def planned_project(repo: Path, server: ScriptedServer, *, spec_line: str = "Plan: yes", extra: str = "",
                    max_attempts: str = "3") -> Path:  # fmt: skip
    setup_example(repo, server.url, config=config_text(server.url, max_attempts=max_attempts) + extra, stub=True)
    spec = repo / "SPEC.md"
    spec.write_text(spec.read_text(encoding="utf-8").replace("Files: temps.py", f"Files: temps.py\n{spec_line}"),
                    encoding="utf-8")  # fmt: skip
    git(repo, "commit", "-qam", "plan it")
    return repo


def subjects(project: Path, since: str) -> list[str]:
    return git(project, "log", "--format=%s", "--reverse", f"{since}..HEAD").splitlines()


def metrics_roles(project: Path) -> list[str]:
    lines = (project / ".autodev" / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line).get("role", "coder") for line in lines]


def saved_plan(project: Path) -> dict[str, Any]:
    (path,) = (project / ".autodev" / "plans").glob("*.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


class TestReadPlan:
    def test_increments_are_read_with_their_tests_by_bare_name_and_parametrised_ones_by_their_function(self) -> None:
        files, increments = read_plan(PLAN, TESTS, max_increments=5)
        assert files == {"temps.py": "to_kelvin(celsius), to_fahrenheit(celsius), to_celsius(fahrenheit), each "
                                     "returning a float"}  # fmt: skip
        assert [increment.title for increment in increments] == ["The three conversions", "Absolute zero"]
        assert increments[0].tests == TESTS[:3] and increments[1].tests == TESTS[3:]
        assert increments[0].files == ["temps.py"]

    def test_tests_no_increment_names_go_to_the_last_and_unknown_names_are_dropped(self) -> None:
        reply = (
            "1. Kelvin\n   Tests: test_freezing_point_in_kelvin, test_made_up\n2. Fahrenheit\n"
            "   Tests: tests/test_temps.py::test_boiling_point_in_fahrenheit\n"
        )
        _, increments = read_plan(reply, TESTS, max_increments=5)
        assert increments[0].tests == TESTS[:1]
        assert increments[1].tests == [TESTS[1], *TESTS[2:]]

    def test_an_increment_that_names_no_test_is_folded_into_the_next_and_a_long_plan_is_joined_at_the_end(
        self,
    ) -> None:
        reply = (
            "## Increment 1\nSet up the module\nTests: none\n## Increment 2\nTests: test_freezing_point_in_kelvin\n"
            "3) Boiling\nTests: test_boiling_point_in_fahrenheit\n4) Rest\nTests: test_body_temperature_round_trip\n"
        )
        _, increments = read_plan(reply, TESTS, max_increments=2)
        assert [increment.title for increment in increments] == ["increment 1; increment 2", "Boiling; Rest"]
        assert sum(len(increment.tests) for increment in increments) == len(TESTS)

    def test_a_reply_without_increments_is_no_plan(self) -> None:
        assert read_plan("Just write the three functions.", TESTS, max_increments=5) == ({}, [])

    def test_a_plan_file_that_cannot_be_read_is_no_plan_and_is_removed(self, tmp_path: Path) -> None:
        store = PlanStore(tmp_path)
        store.path("REQ-1").write_text("{not json", encoding="utf-8")
        assert store.get("REQ-1") is None and not store.path("REQ-1").exists()
        assert store.path("SPEC.md") != store.path("SPEC_md") and store.path("a/b.md").parent == tmp_path


class TestPlanField:
    def test_plan_yes_and_no_are_read_and_anything_else_is_an_error_that_says_what_to_write(self) -> None:
        text = (
            "# Spec\n\n## REQ-1: one\nPlan: yes\n\n## REQ-2: two\nPlan: no\n\n"
            "## REQ-3: three\n\n## REQ-4: four\nPlan: maybe\n"
        )
        requirements, diagnostics = parse_spec_text(text, "SPEC.md")
        assert [r.plan for r in requirements] == [True, False, None, None]
        (error,) = [d for d in diagnostics if d.level == "error"]
        assert "unknown plan 'maybe': use yes or no" in error.message


class TestPlanInAPass:
    def test_a_plan_then_two_increments_each_committed_when_its_own_tests_pass(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server)
        server.push(PLAN, WRONG, RIGHT)
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 0, result
        architect, first, second = (request.prompt_text for request in server.requests)
        assert ROLE_PROMPTS["architect"] in architect and "test_below_absolute_zero_is_rejected" in architect
        assert "Write increment 1 of 2 now: The three conversions." in first
        assert "Write increment 2 of 2 now: Absolute zero." in second
        assert subjects(project, before) == [
            "autodev: Temperature converter (increment 1/2)",
            "autodev: Temperature converter (increment 2/2)",
        ]
        requirement = result["requirements"][0]
        assert requirement["status"] == "satisfied" and "its 2 increments are green" in requirement["reason"]
        assert [increment["status"] for increment in saved_plan(project)["increments"]] == ["done", "done"]
        assert metrics_roles(project) == ["architect", "coder", "coder"]
        (plan_call,) = requirement["role_calls"]
        assert plan_call["role"] == "architect" and plan_call["model"] == "scripted" and plan_call["output_tokens"] > 0

    def test_the_plan_and_its_increments_share_the_requirements_budget_cap(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each call may cost up to $1.00 (100 tokens at $0.01): the plan ($0.60) and increment 1 ($0.60) leave
        too little of a $2.00 cap for increment 2, which a cap started afresh per increment would have allowed."""
        priced = "output_cost_per_token = 0.01\ninput_cost_per_token = 0.0\nmax_tokens = 100\n"
        project = planned_project(repo, server, extra=priced + "[budget]\nper_requirement_usd = 2.0\n")
        server.push(*(ScriptedReply(content=text, completion_tokens=60) for text in (PLAN, WRONG)))
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 1 and len(server.requests) == 2
        reason = result["requirements"][0]["reason"]
        assert reason.startswith("increment 2/2 (Absolute zero): ") and "requirement cap of $2.0000" in reason
        assert "spent $1.2000" in reason
        assert subjects(project, before) == ["autodev: Temperature converter (increment 1/2)"]

    def test_status_plan_shows_the_increments_with_their_commits(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server)
        server.push(PLAN, WRONG, RIGHT)
        run_json(project, capsys)
        assert autodev(project, "status", "SPEC.md", "--plan") == 0
        shown = capsys.readouterr().out
        assert "planned by scripted" in shown and "2 of 2 increment(s) done" in shown
        assert "1. [done " in shown and "tests: test_freezing_point_in_kelvin" in shown
        assert autodev(project, "status", "SPEC.md", "--plan", "--json") == 0
        (entry,) = json.loads(capsys.readouterr().out)["plans"]
        assert entry["current"] is True and len(entry["plan"]["increments"]) == 2

    def test_a_failed_increment_keeps_the_ones_before_and_the_next_pass_goes_on_without_asking_again(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server, max_attempts="1")
        server.push(PLAN, WRONG, WRONG)
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 1
        assert result["requirements"][0]["reason"].startswith("increment 2/2 (Absolute zero): ")
        assert len(subjects(project, before)) == 1
        assert [increment["status"] for increment in saved_plan(project)["increments"]] == ["done", "failed"]
        asked = len(server.requests)
        server.push(RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0, result
        (only,) = server.requests[asked:]
        assert "Write increment 2 of 2 now" in only.prompt_text
        assert subjects(project, before)[-1] == "autodev: Temperature converter (increment 2/2)"

    def test_an_answer_without_a_plan_leaves_the_requirement_worked_in_one_piece(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server)
        server.push("I would simply write the functions.", RIGHT)
        before = head(project)
        code, _ = run_json(project, capsys)
        assert code == 0
        assert "increment" not in server.requests[1].prompt_text
        assert subjects(project, before) == ["autodev: Temperature converter"]

    def test_an_architect_that_gives_no_answer_leaves_the_requirement_worked_in_one_piece(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server)
        server.push(ScriptedReply(status=400, error_message="no architect here"), RIGHT)
        code, _ = run_json(project, capsys)
        assert code == 0
        assert metrics_roles(project) == ["architect", "coder"]

    def test_a_large_requirement_is_planned_when_an_architect_is_configured(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server, spec_line="", extra=ARCHITECT + "[planning]\nmin_failing_tests = 6\n")
        server.push(PLAN, WRONG, RIGHT)
        code, _ = run_json(project, capsys)
        assert code == 0 and len(server.requests) == 3

    def test_plan_no_or_no_architect_role_asks_no_architect(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server, spec_line="Plan: no", extra=ARCHITECT + "[planning]\nmin_files = 1\n")
        server.push(RIGHT)
        code, _ = run_json(project, capsys)
        assert code == 0 and len(server.requests) == 1


class TestStatusOfOneRequirement:
    def test_an_unknown_requirement_is_a_usage_error_with_the_closest_name(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server)
        assert autodev(project, "status", "SPEC.mdx", "--plan") == 2
        assert "no requirement SPEC.mdx; did you mean SPEC.md?" in capsys.readouterr().err

    def test_a_requirement_without_a_plan_says_when_one_is_made(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = planned_project(repo, server)
        assert autodev(project, "status", "SPEC.md", "--plan") == 0
        assert "SPEC.md has no plan: the architect plans a requirement whose spec says Plan: yes" in (
            capsys.readouterr().out
        )
