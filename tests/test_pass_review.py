"""The reviewer inside a pass: `[roles.reviewer]` reads each green change before its commit; a rejection is a red
attempt whose reasons the next prompt shows; its calls are metrics lines of their own (role "reviewer"). End to end
over LiteLLM to the scripted server, with real git and pytest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import RIGHT, autodev, config_text, git, head, run_json, setup_example

from autodev.core.review import read_verdict
from autodev.roles import ROLE_PROMPTS
from autodev.synth.diff import unified_diff
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("WF-7")

RIGHT_AGAIN = RIGHT.replace("ABSOLUTE_ZERO_C = -273.15", "ABSOLUTE_ZERO_C = -273.15  # degrees Celsius")
REVIEWER = '[roles.reviewer]\nmodel = "scripted"\n'


def metrics_lines(project: Path) -> list[dict[str, Any]]:
    text = (project / ".autodev" / "metrics.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def reviewed_project(repo: Path, server: ScriptedServer, roles: str = REVIEWER, max_attempts: str = "3") -> Path:
    setup_example(repo, server.url, config=config_text(server.url, max_attempts=max_attempts) + roles, stub=True)
    return repo


class TestVerdict:
    def test_the_last_verdict_line_decides_and_the_lines_above_it_are_the_reasons(self) -> None:
        assert read_verdict("Fine.\nVERDICT: approve") == (True, "Fine.", "approve")
        assert read_verdict("It returns 212 for 100 only.\n**Verdict: REJECT**\n") == (
            False,
            "It returns 212 for 100 only.",
            "reject",
        )
        approved, _, said = read_verdict("Looks fine to me.")
        assert approved and said == "no verdict line (counted as approve)"

    def test_the_change_is_shown_as_a_diff_with_new_files_against_dev_null(self) -> None:
        diff = unified_diff({"a.py": "x = 2\n", "new.py": "n = 1\n"}, {"a.py": "x = 1\n", "new.py": None})
        assert "--- a/a.py\n+++ b/a.py" in diff and "-x = 1\n+x = 2" in diff
        assert "--- /dev/null\n+++ b/new.py" in diff


class TestReviewInAPass:
    def test_a_rejection_is_fed_back_and_the_approved_change_is_committed(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = reviewed_project(repo, server)
        server.push(
            RIGHT, "It names no unit for the constant.\nVERDICT: reject", RIGHT_AGAIN, "Good.\nVERDICT: approve"
        )
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 0, result
        assert len(server.requests) == 4
        review = server.requests[1].prompt_text
        assert ROLE_PROMPTS["reviewer"] in review and "+ABSOLUTE_ZERO_C = -273.15" in review
        assert "It names no unit for the constant." in server.requests[2].prompt_text
        attempts = result["requirements"][0]["attempts"]
        assert [a["outcome"] for a in attempts] == ["red", "green"]
        assert attempts[0]["reason"].startswith("the reviewer (scripted) rejected the change: It names no unit")
        assert git(project, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
        assert "# degrees Celsius" in (project / "temps.py").read_text(encoding="utf-8")

    def test_the_reviewers_calls_are_metrics_lines_of_their_own_and_metrics_by_role_counts_them(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Coder, reviewer (reject), coder, reviewer (approve): four lines; each coder line has only the coder's
        tokens (the attempt record, the pass's cost, has both calls'), and `metrics --by role` shows a coder row
        (2 calls, 1 of 2 green) and a reviewer row (2 calls, no attempts)."""
        project = reviewed_project(repo, server)
        server.push(
            ScriptedReply(content=RIGHT, prompt_tokens=100, completion_tokens=50),
            ScriptedReply(content="No unit.\nVERDICT: reject", prompt_tokens=30, completion_tokens=7),
            ScriptedReply(content=RIGHT_AGAIN, prompt_tokens=100, completion_tokens=50),
            ScriptedReply(content="Good.\nVERDICT: approve", prompt_tokens=30, completion_tokens=3),
        )
        code, result = run_json(project, capsys)
        assert code == 0, result
        calls = [line for line in metrics_lines(project) if line["kind"] == "call"]
        assert [(c["role"], c["outcome"]) for c in calls] == [
            ("coder", "red"), ("reviewer", None), ("coder", "green"), ("reviewer", None)
        ]  # fmt: skip
        assert [c["reason"] for c in calls if c["role"] == "reviewer"] == ["reject", "approve"]
        assert [(c["input_tokens"], c["output_tokens"]) for c in calls] == [(100, 50), (30, 7), (100, 50), (30, 3)]
        assert {c["requirement"] for c in calls} == {result["requirements"][0]["requirement"]}
        attempts = result["requirements"][0]["attempts"]
        assert [(a["input_tokens"], a["output_tokens"]) for a in attempts] == [(130, 57), (130, 53)]

        capsys.readouterr()
        assert autodev(project, "metrics", "--by", "role", "--json") == 0
        rows = {row["role"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
        assert list(rows) == ["coder", "reviewer"]
        coder, reviewer = rows["coder"], rows["reviewer"]
        assert (coder["calls"], coder["prompt_tokens"], coder["green"], coder["attempts"]) == (2, 200, 1, 2)
        assert (reviewer["calls"], reviewer["prompt_tokens"], reviewer["completion_tokens"]) == (2, 60, 10)
        assert (reviewer["attempts"], reviewer["errors"]) == (0, 0)
        assert autodev(project, "metrics", "--by", "role") == 0
        table = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
        assert table["coder"][1:3] == ["2", "200"] and table["coder"][6:8] == ["1/2", "50%"]
        assert table["reviewer"][1:4] == ["2", "60", "10"] and table["reviewer"][6:8] == ["0/0", "-"]
        assert table["total"][1:3] == ["4", "260"]

    def test_a_reviewer_that_gives_no_answer_leaves_the_change_uncommitted(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        project = reviewed_project(repo, server, max_attempts="1")
        server.push(RIGHT, ScriptedReply(status=400, error_message="no reviewer here"))
        before = head(project)
        code, result = run_json(project, capsys)
        assert code == 1
        reason = result["requirements"][0]["attempts"][0]["reason"]
        assert "the reviewer gave no answer" in reason and "the change was not committed" in reason
        assert head(project) == before
        calls = [(line["role"], line["outcome"]) for line in metrics_lines(project) if line["kind"] == "call"]
        assert calls == [("reviewer", "error"), ("coder", "red")]  # the failed request, as it failed, is the reviewer's

    def test_without_a_reviewer_role_a_pass_asks_no_reviewer(self, repo: Path, server: ScriptedServer) -> None:
        project = reviewed_project(repo, server, roles='[roles.reviewer]\nmodel = "scripted"\npasses = false\n')
        server.push(RIGHT)
        assert autodev(project, "run", "--once") == 0
        assert len(server.requests) == 1
