"""Workflows: definitions checked when read, prompts filled, steps asked over the real LiteLLM path to the scripted
server, saved, resumed after a kill, and files written through the journal and git."""

from __future__ import annotations

import io
import json
import signal
import sys
import time
from pathlib import Path

import pytest
from helpers import autodev, cli_process, config_text, git, head, two_tiers, write_files

from autodev.config import parse_config
from autodev.errors import ConfigError, WorkflowError
from autodev.roles import ROLE_PROMPTS
from autodev.testing import ScriptedReply, ScriptedServer
from autodev.workflow.catalog import find_workflows
from autodev.workflow.fanout import disagreements, merge_prompt, vote
from autodev.workflow.render import Sources, render, working_tree_diff
from autodev.workflow.runs import RunStore
from autodev.workflow_model import Workflow, placeholders

FIXED = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
TEST_ADD = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
CHAIN = """description = "Outline, then a middle step, then a summary of the outline"
[[steps]]
name = "outline"
prompt = "Outline: {input}"
[[steps]]
name = "middle"
prompt = "The middle step."
[[steps]]
name = "final"
prompt = "Summarise this outline:\\n{step.outline}"
"""
FIX_CALC = """description = "Fix calc.py"
[[steps]]
name = "fix"
role = "coder"
prompt = "Make add() add.\\n{file:calc.py}"
output = "%s"
"""
PLAN = '[[steps]]\nname = "plan"\nrole = "architect"\nprompt = "Plan {input}"\n'


def a_workflow(steps: list[dict[str, str]]) -> Workflow:
    return Workflow.model_validate({"steps": steps})


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    """calc.py (broken) with its test, one scripted model, the workflows `chain` and `fix` and `fix-tested`."""
    write_files(
        repo,
        {
            "calc.py": BROKEN,
            "tests/test_calc.py": TEST_ADD,
            "autodev.toml": config_text(server.url),
            ".autodev/workflows/chain.toml": CHAIN,
            ".autodev/workflows/fix.toml": FIX_CALC % "files",
            ".autodev/workflows/fix-tested.toml": FIX_CALC % "files+tests",
            ".gitignore": ".autodev/\n",
        },
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    return repo


def run_json(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = autodev(project, "workflow", *args, "--json")
    return code, json.loads(capsys.readouterr().out)


def run_dir(project: Path, payload: dict[str, object]) -> Path:
    return project / ".autodev" / "runs" / str(payload["id"])


@pytest.mark.req("WF-1")
class TestDefinitions:
    def test_placeholders_are_read_with_their_arguments_and_double_braces_are_literal(self) -> None:
        found = placeholders("{input} {{not}} {file:a/b.py} {file:{input}} {step.plan} {spec:REQ-1} {diff}")
        assert [(p.kind, p.arg) for p in found] == [
            ("input", ""), ("file", "a/b.py"), ("file", "{input}"), ("step", "plan"), ("spec", "REQ-1"), ("diff", "")
        ]  # fmt: skip

    def test_a_misspelt_placeholder_is_an_error_with_a_guess(self) -> None:
        with pytest.raises(ValueError, match=r"unknown placeholder \{stp\.plan\}; did you mean \{step\.plan\}\?"):
            placeholders("{stp.plan}")
        with pytest.raises(ValueError, match=r"\{file\}: write it as \{file:PATH\}"):
            placeholders("{file}")

    def test_a_step_may_use_only_the_outputs_of_the_steps_before_it(self) -> None:
        with pytest.raises(ValueError, match=r"step a: \{step\.b\} names a later step"):
            a_workflow([{"name": "a", "prompt": "{step.b}"}, {"name": "b", "prompt": "x"}])
        with pytest.raises(ValueError, match=r"\{step\.c\} names no step"):
            a_workflow([{"name": "a", "prompt": "x"}, {"name": "b", "prompt": "{step.c}"}])
        with pytest.raises(ValueError, match="two steps are called 'a'"):
            a_workflow([{"name": "a", "prompt": "x"}, {"name": "a", "prompt": "y"}])

    def test_a_step_names_one_of_role_model_or_tier(self) -> None:
        with pytest.raises(ValueError, match="give one of role, model or tier, not role and model"):
            a_workflow([{"name": "a", "prompt": "x", "role": "coder", "model": "gpt-4o-mini"}])

    def test_autodev_toml_workflows_and_roles_are_validated_with_the_key_named(self) -> None:
        data = {"workflows": {"w": {"steps": [{"name": "a", "prompt": "x", "outptu": "text"}]}}}
        with pytest.raises(ConfigError, match=r"autodev.toml: workflows.w.steps.0.outptu: unknown key"):
            parse_config(data, source="autodev.toml")
        with pytest.raises(ConfigError, match=r"roles.r: give model or tier, not both"):
            parse_config({"roles": {"r": {"model": "m", "tier": "tier1"}}}, source="autodev.toml")


@pytest.mark.req("WF-1")
class TestCatalog:
    def test_autodev_toml_replaces_a_file_which_replaces_the_built_in(self, tmp_path: Path) -> None:
        directory = tmp_path / ".autodev" / "workflows"
        write_files(directory, {"review.toml": 'description = "mine"\n[[steps]]\nname = "r"\nprompt = "x"\n',
                                "other.toml": 'description = "o"\n[[steps]]\nname = "o"\nprompt = "y"\n'})  # fmt: skip
        config = parse_config({"workflows": {"other": {"steps": [{"name": "z", "prompt": "z"}]}}}, source="t")
        found = find_workflows(tmp_path, directory, config)
        assert found.get("review").origin == ".autodev/workflows/review.toml"
        assert found.get("review").shadows == ("built-in",)
        assert found.get("other").origin == "autodev.toml"
        assert found.get("other").shadows == (".autodev/workflows/other.toml",)
        assert found.get("spec-from-code").origin == "built-in"

    def test_a_broken_file_is_a_problem_of_its_own_and_the_others_stay_usable(self, tmp_path: Path) -> None:
        directory = tmp_path / "workflows"
        files = {
            "bad.toml": "[[steps]\n",
            "good.toml": '[[steps]]\nname = "g"\nprompt = "x"\n',
            "norole.toml": '[[steps]]\nname = "n"\nrole = "architekt"\nprompt = "x"\n',
        }
        write_files(directory, files)
        found = find_workflows(tmp_path, directory, parse_config({}, source="t"))
        assert "good" in found.found
        with pytest.raises(WorkflowError, match=r"workflows/bad.toml: not valid TOML"):
            found.get("bad")
        with pytest.raises(WorkflowError, match=r"no role called 'architekt'; did you mean 'architect'\?"):
            found.get("norole")
        with pytest.raises(WorkflowError, match=r"no workflow called 'gods'; did you mean 'good'\?"):
            found.get("gods")

    def test_list_and_show_say_where_each_workflow_comes_from(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, payload = run_json(project, capsys, "list")
        assert code == 0
        origins = {item["name"]: item["origin"] for item in payload["workflows"]}  # type: ignore[attr-defined]
        assert origins["chain"] == ".autodev/workflows/chain.toml" and origins["review"] == "built-in"
        assert autodev(project, "workflow", "show", "chain") == 0
        shown = capsys.readouterr().out
        assert "step 3: final (the cheapest tier; output: text)" in shown
        assert "Summarise this outline:" in shown


@pytest.mark.req("WF-2")
class TestRender:
    def test_a_file_is_shown_under_its_path_and_counted_as_a_target(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"src/a.py": "x = 1\n"})
        rendered = render("See {file:{input}}", Sources(root=tmp_path, input="src/a.py", spec_paths=["SPEC.md"]),
                          where="w")  # fmt: skip
        assert rendered.text == "See src/a.py\n```python\nx = 1\n```"
        assert rendered.files == ("src/a.py",)

    def test_a_requirement_is_filled_from_the_spec_and_an_unknown_one_guessed(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"SPEC.md": "# S\n\n## REQ-1: Parse\n\nParse dates.\n"})
        sources = Sources(root=tmp_path, input="", spec_paths=["SPEC.md"])
        assert "Parse dates." in render("{spec:REQ-1}", sources, where="w").text
        with pytest.raises(WorkflowError, match=r"w: \{spec:REQ-2\}: no requirement REQ-2 in the spec; did you mean"):
            render("{spec:REQ-2}", sources, where="w")

    def test_the_diff_has_changed_and_new_files_and_an_empty_one_is_an_error(self, repo: Path) -> None:
        write_files(repo, {"a.py": "a = 1\n"})
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "a")
        with pytest.raises(WorkflowError, match="no changes against the last commit"):
            working_tree_diff(repo)
        write_files(repo, {"a.py": "a = 2\n", "new.py": "n = 1\n"})
        diff = working_tree_diff(repo)
        assert "-a = 1\n+a = 2" in diff
        assert "+++ b/new.py" in diff and "+n = 1" in diff


@pytest.mark.req("WF-2")
class TestRun:
    def test_each_step_is_asked_in_order_with_an_earlier_output_in_a_later_prompt(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("OUTLINE: slugify in three steps", "middle answer", "A short summary.")
        code, payload = run_json(project, capsys, "run", "chain", "-i", "a slug function")
        assert code == 0 and payload["status"] == "done" and payload["exit_code"] == 0
        prompts = [request.prompt_text for request in server.requests]
        assert len(prompts) == 3
        assert "Outline: a slug function" in prompts[0]
        assert "Summarise this outline:\nOUTLINE: slugify in three steps" in prompts[2]
        saved = run_dir(project, payload)
        assert (saved / "03-final.output.md").read_text(encoding="utf-8") == "A short summary."
        assert "OUTLINE: slugify" in (saved / "03-final.prompt.md").read_text(encoding="utf-8")
        steps = payload["steps"]
        assert [step["model"] for step in steps] == ["scripted"] * 3  # type: ignore[index]

    def test_output_writes_the_last_answer_and_text_streams_on_stdout(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("one", "two", "three")
        code = autodev(project, "workflow", "run", "chain", "-i", "x", "-o", "summary.md")
        captured = capsys.readouterr()
        assert code == 0
        assert captured.out == "one\ntwo\nthree\n"
        assert "step 3/3: final (the cheapest tier (tier1))" in captured.err
        assert (project / "summary.md").read_text(encoding="utf-8") == "three"

    def test_dry_run_prints_the_prompts_and_asks_no_model(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert autodev(project, "workflow", "run", "chain", "--dry-run", "-i", "a slug function") == 0
        out = capsys.readouterr().out
        assert "--- step 1/3: outline" in out and "Outline: a slug function" in out
        assert "Summarise this outline:\n<the output of step outline>" in out
        assert server.requests == []
        assert not (project / ".autodev" / "runs").exists()

    def test_a_placeholder_that_cannot_be_filled_stops_before_the_model_is_asked(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(project, {".autodev/workflows/bad.toml": '[[steps]]\nname = "s"\nprompt = "{file:gone.py}"\n'})
        assert autodev(project, "workflow", "run", "bad") == 2
        assert "error: workflow bad, step s: {file:gone.py}: gone.py: no such file" in capsys.readouterr().err
        assert server.requests == []
        _, runs = run_json(project, capsys, "runs")
        assert runs[0]["status"] == "failed"  # type: ignore[index]


@pytest.mark.req("WF-3")
class TestResume:
    def test_a_model_error_stops_the_run_and_resume_asks_only_the_steps_not_done(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("the outline", ScriptedReply(status=400, error_message="bad request"))
        code, payload = run_json(project, capsys, "run", "chain", "-i", "x")
        assert code == 1 and payload["status"] == "failed"
        assert [step["status"] for step in payload["steps"]] == ["done", "failed", "pending"]  # type: ignore[index]
        server.push("middle", "summary")
        code, resumed = run_json(project, capsys, "resume", str(payload["id"])[:15])
        assert code == 0 and resumed["status"] == "done"
        assert len(server.requests) == 4
        assert "Summarise this outline:\nthe outline" in server.requests[3].prompt_text

    def test_a_run_killed_between_steps_resumes_where_it_stopped(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The process is SIGKILLed while its second step waits for the model: the first step's answer is kept."""
        server.push("the outline", ScriptedReply(content="never seen", delay_s=30))
        process = cli_process(project, "workflow", "run", "chain", "-i", "x")
        deadline = time.monotonic() + 60
        while len(server.requests) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert len(server.requests) == 2, process.communicate(timeout=10)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        records, _ = RunStore(project / ".autodev" / "runs").all()
        assert [step.status for step in records[0].steps] == ["done", "pending", "pending"]
        server.push("middle", "summary")
        code, resumed = run_json(project, capsys, "resume", records[0].id)
        assert code == 0 and resumed["status"] == "done"
        assert len(server.requests) == 4 and "The middle step." in server.requests[2].prompt_text

    def test_a_done_run_and_a_corrupt_record_are_said_so(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("a", "b", "c")
        _, payload = run_json(project, capsys, "run", "chain", "-i", "x")
        assert autodev(project, "workflow", "resume", str(payload["id"])) == 2
        assert "is done: every step finished" in capsys.readouterr().err
        (run_dir(project, payload) / "run.json").write_text("{not json", encoding="utf-8")
        code, runs = run_json(project, capsys, "runs")
        assert code == 0 and runs == []
        assert list(run_dir(project, payload).glob("run.json.corrupt-*"))


@pytest.mark.req("WF-4")
class TestFilesSteps:
    def test_a_files_step_commits_its_file_with_the_model_and_the_run_as_trailers(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push(f"Here it is.\n\ncalc.py\n```python\n{FIXED}```\n")
        code, payload = run_json(project, capsys, "run", "fix")
        assert code == 0
        assert (project / "calc.py").read_text(encoding="utf-8") == FIXED
        trailers = git(project, "log", "-1", "--format=%(trailers)")
        assert f"Autodev-Workflow-Run: {payload['id']}" in trailers and "Autodev-Model: scripted" in trailers
        step = payload["steps"][0]  # type: ignore[index]
        assert step["files"] == ["calc.py"] and step["commit"] == head(project)
        assert ROLE_PROMPTS["coder"] in server.requests[0].prompt_text

    def test_a_files_step_refuses_to_write_over_uncommitted_work_unless_forced(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        mine = "def add(a, b):\n    return b + a  # mine\n"
        write_files(project, {"calc.py": mine})
        server.push(f"calc.py\n```python\n{FIXED}```\n")
        code, payload = run_json(project, capsys, "run", "fix")
        assert code == 1
        assert "calc.py has uncommitted changes" in payload["steps"][0]["outcome"]  # type: ignore[index]
        assert (project / "calc.py").read_text(encoding="utf-8") == mine
        server.push(f"calc.py\n```python\n{FIXED}```\n")
        code, _ = run_json(project, capsys, "resume", str(payload["id"]), "--force", "--no-commit")
        assert code == 0 and (project / "calc.py").read_text(encoding="utf-8") == FIXED
        assert len(server.requests) == 2  # asked afresh, not answered from the cache

    def test_a_files_tests_step_that_makes_the_tests_worse_writes_nothing(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(project, {"calc.py": FIXED})
        git(project, "commit", "-q", "-am", "fixed")
        before = head(project)
        server.push(f"calc.py\n```python\n{BROKEN}```\n")
        code, payload = run_json(project, capsys, "run", "fix-tested")
        assert code == 1 and payload["status"] == "failed"
        assert "tests" in payload["steps"][0]["outcome"]  # type: ignore[index]
        assert (project / "calc.py").read_text(encoding="utf-8") == FIXED and head(project) == before


@pytest.mark.req("WF-5")
class TestRoles:
    def test_the_architect_answers_with_the_highest_tier_and_its_instructions(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(project, {"autodev.toml": two_tiers(server.url), ".autodev/workflows/plan.toml": PLAN})
        server.push("the plan")
        code, payload = run_json(project, capsys, "run", "plan", "-i", "a parser")
        assert code == 0
        assert server.requests[0].model == "big"
        assert ROLE_PROMPTS["architect"] in server.requests[0].prompt_text
        assert payload["steps"][0]["chosen"] == "role architect: the highest tier (tier2)"  # type: ignore[index]

    def test_a_configured_role_and_its_prompt_file_replace_the_defaults(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = two_tiers(server.url) + '[roles.architect]\ntier = "tier1"\nprompt_file = "roles/architect.md"\n'
        files = {"autodev.toml": config, "roles/architect.md": "Plan like a minimalist.\n"}
        write_files(project, {**files, ".autodev/workflows/plan.toml": PLAN})
        server.push("the plan")
        code, _ = run_json(project, capsys, "run", "plan", "-i", "a parser")
        assert code == 0
        assert server.requests[0].model == "scripted"
        prompt = server.requests[0].prompt_text
        assert "Plan like a minimalist." in prompt and ROLE_PROMPTS["architect"] not in prompt


def fan_out(combine: str, output: str = "text", models: str = '["scripted", "big"]') -> str:
    return (
        f'[[steps]]\nname = "many"\nmodels = {models}\ncombine = "{combine}"\noutput = "{output}"\n'
        'prompt = "Fix add().\\n{file:calc.py}"\n'
    )


THIRD_MODEL = '[llm.models.third]\nmodel = "openai/third"\napi_base = "{url}"\ntimeout_s = 20\n'


@pytest.mark.req("WF-6")
class TestCombining:
    def test_a_vote_takes_the_most_common_answer_up_to_case_and_spaces_and_a_tie_the_first(self) -> None:
        picked = vote(["a", "b", "c"], ["VERDICT: reject", "verdict:  approve", "VERDICT: approve\n"])
        assert picked.index == 1 and picked.reason == "vote: 2 of 3 answers agree (b, c)"
        tie = vote(["a", "b"], ["yes", "no"])
        assert tie.index == 0 and "all 2 answers differ" in tie.reason

    def test_the_merge_prompt_has_every_answer_and_where_they_differ(self) -> None:
        prompt = merge_prompt("Name it.", ["a", "b"], ["name = 1\nkeep\n", "name = 2\nkeep\n"])
        assert "The answer of a:\n\nname = 1" in prompt and "The answer of b:\n\nname = 2" in prompt
        assert "-name = 1\n+name = 2" in disagreements(["a", "b"], ["name = 1\nkeep\n", "name = 2\nkeep\n"])

    def test_a_fan_out_vote_asks_every_model_and_records_why_one_answer_won(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = two_tiers(server.url) + THIRD_MODEL.format(url=server.url)
        models = '["scripted", "big", "third"]'
        write_files(project, {"autodev.toml": config, ".autodev/workflows/many.toml": fan_out("vote", models=models)})
        server.push("VERDICT: reject", "verdict: approve", "VERDICT: Approve")
        code, payload = run_json(project, capsys, "run", "many")
        assert code == 0
        assert [request.model for request in server.requests] == ["scripted", "big", "third"]
        step = payload["steps"][0]  # type: ignore[index]
        assert step["combined"] == "vote: 2 of 3 answers agree (big, third)"
        assert [c["chosen"] for c in step["candidates"]] == [False, True, False]
        assert (run_dir(project, payload) / "01-many.output.md").read_text(encoding="utf-8") == "verdict: approve"

    def test_best_by_tests_writes_the_answer_that_passes_the_most_tests(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        files = {
            "autodev.toml": two_tiers(server.url),
            ".autodev/workflows/many.toml": fan_out("best-by-tests", "files"),
        }
        write_files(project, files)
        git(project, "commit", "-q", "-am", "two tiers")
        server.push(f"calc.py\n```python\n{BROKEN}```\n", f"calc.py\n```python\n{FIXED}```\n")
        code, payload = run_json(project, capsys, "run", "many")
        assert code == 0
        assert (project / "calc.py").read_text(encoding="utf-8") == FIXED
        step = payload["steps"][0]  # type: ignore[index]
        assert step["model"] == "big" and step["combined"].startswith("best-by-tests: big's answer (1 passed)")
        assert [c["tests"] for c in step["candidates"]] == ["changes nothing", "1 passed"]

    def test_a_merge_is_asked_with_every_answer_and_a_failed_model_costs_only_its_candidate(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, payload = merged_fan_out(project, server, capsys)
        assert code == 0
        merge_request = server.requests[3]
        assert merge_request.model == "scripted"
        assert "The answer of scripted:\n\nuse a + b" in merge_request.prompt_text
        assert "The answer of third:\n\nuse b + a" in merge_request.prompt_text
        step = payload["steps"][0]  # type: ignore[index]
        assert step["combined"] == "merge: scripted merged the answers of scripted, third"
        assert [c["answered"] for c in step["candidates"]] == [True, False, True]
        assert (run_dir(project, payload) / "01-many.output.md").read_text(encoding="utf-8") == "merged: a + b"


def merged_fan_out(
    project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object]]:
    """A step fanned out to three models, the second of which fails, merged by the first."""
    config = two_tiers(server.url) + THIRD_MODEL.format(url=server.url)
    models = '["scripted", "big", "third"]'
    write_files(project, {"autodev.toml": config, ".autodev/workflows/many.toml": fan_out("merge", models=models)})
    server.push("use a + b", ScriptedReply(status=400, error_message="no such model"), "use b + a", "merged: a + b")
    return run_json(project, capsys, "run", "many")


def metrics_calls(project: Path) -> list[tuple[str, str, str, str | None]]:
    """(role, scope, model, outcome) of each call line of the project's metrics."""
    text = (project / ".autodev" / "metrics.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    return [(line["role"], line["requirement"], line["model"], line["outcome"]) for line in lines]


@pytest.mark.req("WF-2")
class TestWorkflowMetrics:
    def test_each_steps_call_is_a_metrics_line_with_the_steps_role_and_scope(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A step with a role counts under it; one that names no role under "workflow"; the scope names the
        workflow and the step. `metrics --by role` has a row for each."""
        steps = PLAN + '[[steps]]\nname = "recap"\ntier = "tier1"\nprompt = "Recap {step.plan}"\n'
        write_files(project, {"autodev.toml": two_tiers(server.url), ".autodev/workflows/plan.toml": steps})
        server.push(ScriptedReply(content="the plan", prompt_tokens=40, completion_tokens=9), "the recap")
        code, _ = run_json(project, capsys, "run", "plan", "-i", "a parser")
        assert code == 0
        assert metrics_calls(project) == [
            ("architect", "workflow plan/plan", "big", None),
            ("workflow", "workflow plan/recap", "scripted", None),
        ]
        assert autodev(project, "metrics", "--by", "role", "--json") == 0
        rows = {row["role"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
        assert list(rows) == ["architect", "workflow"]
        assert (rows["architect"]["calls"], rows["architect"]["prompt_tokens"]) == (1, 40)

    def test_a_fan_out_counts_every_candidate_its_failures_and_the_merge(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each model's conversation and the merge's write their lines; a model that failed is an error line."""
        code, _ = merged_fan_out(project, server, capsys)
        assert code == 0
        scope = "workflow many/many"
        assert metrics_calls(project) == [
            ("workflow", scope, "scripted", None),
            ("workflow", scope, "big", "error"),
            ("workflow", scope, "third", None),
            ("workflow", scope, "scripted", None),
        ]
