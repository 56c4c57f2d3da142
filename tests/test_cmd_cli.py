"""`autodev cmd` and chat's `/NAME` end to end: the real CLI, LiteLLM over HTTP to the scripted server, real git."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import autodev, git, head, snapshot, two_tiers, write_files

from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("CMD-1", "CMD-2")

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
REVIEW = "---\ndescription: Review a file\nargument-hint: FILE FOCUS\n---\nReview @$1 with a focus on $2.\n"
BIG_REVIEW = "---\ndescription: Review with the big model\ntier: tier2\n---\nReview @calc.py: $ARGUMENTS\n"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Nothing piped in, and the user's configuration (their own commands) in the test's directory, never ~."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return config / "autodev" / "commands"


@pytest.fixture
def user_commands(isolated: Path) -> Path:
    return isolated


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    """calc.py (broken), two tiers at the scripted server, project commands in .autodev and .claude, committed."""
    write_files(
        repo,
        {
            "calc.py": BROKEN,
            "autodev.toml": two_tiers(server.url),
            ".autodev/commands/review.md": REVIEW,
            ".autodev/commands/big-review.md": BIG_REVIEW,
            ".claude/commands/review.md": "the team's older review\n",
            ".claude/commands/frontend/test.md": "Run the frontend tests: $ARGUMENTS\n",
        },
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    return repo


def cmd_json(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = autodev(project, "cmd", *args, "--json")
    return code, json.loads(capsys.readouterr().out)


def user_message(server: ScriptedServer, index: int = -1) -> str:
    return str([m for m in server.requests[index].messages if m["role"] == "user"][-1]["content"])


def system_message(server: ScriptedServer, index: int = -1) -> str:
    return str(server.requests[index].messages[0]["content"])


class TestCmdList:
    def test_project_and_user_commands_are_listed_with_what_shadows_what(
        self, project: Path, user_commands: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(user_commands, {"review.md": "my review\n", "mine.md": "---\ndescription: Mine\n---\nmine\n"})
        capsys.readouterr()
        assert autodev(project, "cmd", "list") == 0
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert any(line.split()[:3] == ["review", "FILE", "FOCUS"] and ".autodev/commands/review.md" in line
                   for line in lines)  # fmt: skip
        assert any(line.startswith("mine ") and " user " in line and "Mine" in line for line in lines)
        assert any(line.startswith("frontend:test ") for line in lines)
        assert "shadowed: review (project, .claude/commands/review.md) by .autodev/commands/review.md" in out
        assert f"shadowed: review (user, {user_commands.resolve() / 'review.md'}) by .autodev/commands/review.md" in out

    def test_json_lists_commands_shadowed_and_problems(
        self, project: Path, user_commands: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(user_commands, {"mine.md": "mine\n"})
        code, payload = cmd_json(project, capsys, "list")
        assert code == 0
        commands = {entry["name"]: entry for entry in payload["commands"]}
        assert list(commands) == ["big-review", "frontend:test", "mine", "review"]
        assert commands["review"] == {
            "name": "review",
            "origin": "project",
            "description": "Review a file",
            "argument_hint": "FILE FOCUS",
            "model": None,
            "tier": None,
            "path": ".autodev/commands/review.md",
        }
        assert commands["mine"]["origin"] == "user"
        assert commands["big-review"]["tier"] == "tier2"
        [shadowed] = payload["shadowed"]
        assert (shadowed["path"], shadowed["shadowed_by"]) == (
            ".claude/commands/review.md",
            ".autodev/commands/review.md",
        )
        assert payload["problems"] == []

    def test_a_broken_file_is_a_warning_with_its_line_and_the_listing_still_succeeds(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(project, {".autodev/commands/bad.md": "---\nmodel: a\ntier: b\n---\nbody\n"})
        capsys.readouterr()
        assert autodev(project, "cmd", "list") == 0
        captured = capsys.readouterr()
        assert f"warning: {project.resolve() / '.autodev/commands/bad.md'}:3: give either `model` or `tier`" in (
            captured.err
        )
        assert "review" in captured.out

    def test_outside_a_project_only_the_users_commands(
        self, tmp_path: Path, user_commands: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        alone = tmp_path / "scratch"
        write_files(alone, {".claude/commands/not-a-project.md": "x\n"})  # no autodev.toml, no .autodev: no project
        write_files(user_commands, {"mine.md": "mine\n"})
        code, payload = cmd_json(alone, capsys, "list")
        assert code == 0
        assert [entry["name"] for entry in payload["commands"]] == ["mine"]

    def test_no_commands_at_all_says_where_to_put_them(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "empty").mkdir()
        assert autodev(tmp_path / "empty", "cmd", "list") == 0
        assert ".autodev/commands/" in capsys.readouterr().out

    def test_list_takes_no_arguments_and_no_question_options(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert autodev(project, "cmd", "list", "--apply") == 2
        assert "only --json" in capsys.readouterr().err


class TestCmdRun:
    def test_arguments_are_substituted_and_the_referenced_file_is_sent(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("It subtracts.")
        code, payload = cmd_json(project, capsys, "review", "calc.py", "correctness")
        assert code == 0 and payload["answer"] == "It subtracts."
        assert user_message(server) == "Review @calc.py with a focus on correctness."
        assert "calc.py\n```\n" + BROKEN in system_message(server)
        assert server.requests[0].model == "scripted"

    def test_without_a_placeholder_the_arguments_follow_the_prompt(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(project, {".autodev/commands/explain.md": "Explain this project."})
        server.push("ok")
        assert autodev(project, "cmd", "explain", "briefly", "please") == 0
        assert user_message(server) == "Explain this project.\n\nbriefly please"

    def test_a_namespaced_command_runs_by_its_full_name(self, project: Path, server: ScriptedServer) -> None:
        server.push("ok")
        assert autodev(project, "cmd", "frontend:test", "--watch-free") != 0  # an unknown option: not an argument
        assert autodev(project, "cmd", "frontend:test", "--", "--watch-free") == 0
        assert user_message(server) == "Run the frontend tests: --watch-free"

    def test_the_front_matter_tier_answers_unless_the_command_line_chooses(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("from big", "from scripted")
        assert cmd_json(project, capsys, "big-review", "be", "brief")[1]["model"] == "big"
        assert cmd_json(project, capsys, "big-review", "--model", "scripted")[1]["model"] == "scripted"
        assert [request.model for request in server.requests] == ["big", "scripted"]
        assert "calc.py\n```\n" + BROKEN in system_message(server, 0)

    def test_apply_yes_commits_the_answer_as_ask_does(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = head(project)
        server.push(f"calc.py\n```python\n{FIXED}```\n")
        code, payload = cmd_json(project, capsys, "review", "calc.py", "the bug", "--apply", "--yes")
        assert code == 0, payload
        assert (project / "calc.py").read_text() == FIXED
        assert git(project, "rev-parse", "HEAD~1").strip() == before
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
        assert "Autodev-Model: scripted" in git(project, "log", "-1", "--format=%B")
        assert payload["applied"]["kept"] is True

    def test_the_conversation_continues_with_ask(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("first", "second")
        _, first = cmd_json(project, capsys, "review", "calc.py", "naming")
        capsys.readouterr()
        assert autodev(project, "ask", "--continue", "and", "then?") == 0
        sent = [m["content"] for m in server.requests[1].messages if m["role"] != "system"]
        assert sent == ["Review @calc.py with a focus on naming.", "first", "and then?"]
        assert "calc.py\n```\n" in system_message(server)  # the command's file stays in the conversation
        assert isinstance(first["conversation"], str)

    def test_an_unknown_name_is_a_usage_error_with_did_you_mean(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert autodev(project, "cmd", "reviwe", "x") == 2
        err = capsys.readouterr().err
        assert "did you mean 'review'?" in err and "autodev cmd list" in err
        assert server.requests == []

    def test_a_broken_command_file_named_is_a_usage_error_with_path_and_line(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(project, {".autodev/commands/bad.md": "---\ndescription: d\n  continued\n---\nbody\n"})
        assert autodev(project, "cmd", "bad") == 2
        assert f"{project.resolve() / '.autodev/commands/bad.md'}:3: `description` must be one line" in (
            capsys.readouterr().err
        )
        assert server.requests == []

    def test_a_missing_referenced_file_is_a_usage_error_naming_it_and_the_command(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        files = snapshot(project)
        assert autodev(project, "cmd", "review", "nope.py", "x") == 2
        err = capsys.readouterr().err
        assert "@nope.py: no such file" in err and ".autodev/commands/review.md" in err
        assert server.requests == [] and snapshot(project) == files

    def test_outside_a_project_the_users_commands_run(
        self, tmp_path: Path, user_commands: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Found and expanded outside any project: its reference is looked for in the current directory."""
        alone = tmp_path / "scratch"
        alone.mkdir()
        write_files(user_commands, {"mine.md": "Look at @$1"})
        assert autodev(alone, "cmd", "mine", "gone.txt") == 2
        err = capsys.readouterr().err
        assert f"{user_commands.resolve() / 'mine.md'}: @gone.txt: no such file in {alone}" in err


class TestChatCustomCommands:
    def chat(self, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
             *lines: str) -> tuple[int, str, str]:  # fmt: skip
        """`autodev chat` in process with these lines typed, then Ctrl-D."""
        monkeypatch.setattr(sys, "stdin", io.StringIO("".join(line + "\n" for line in lines)))
        capsys.readouterr()
        code = autodev(project, "chat")
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def test_a_custom_command_is_the_next_question_with_its_files_and_model_for_it_only(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        server.push("big reviewed", "scripted again")
        code, out, err = self.chat(project, capsys, monkeypatch, "/big-review be brief", "and now?", "/files")
        assert code == 0, err
        assert "big reviewed" in out and "scripted again" in out
        assert [request.model for request in server.requests] == ["big", "scripted"]
        assert user_message(server, 0) == "Review @calc.py: be brief"
        assert "calc.py\n```\n" + BROKEN in system_message(server, 0)
        assert "calc.py\n```\n" + BROKEN in system_message(server, 1)  # the file stays in the conversation
        assert "files: calc.py" in out

    def test_help_lists_the_custom_commands_and_built_ins_win(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_files(project, {".autodev/commands/cost.md": "never sent"})
        code, out, err = self.chat(project, capsys, monkeypatch, "/help", "/cost", "/reviw")
        assert code == 0, err
        assert "/review FILE FOCUS" in out and "Review a file" in out
        assert "0 answer(s)" in out  # /cost is the built-in one
        assert "did you mean /review?" in err
        assert server.requests == []

    def test_a_missing_reference_or_a_broken_file_is_one_error_and_the_chat_goes_on(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_files(project, {".autodev/commands/bad.md": "---\nmodel: \n---\nbody\n"})
        server.push("answered")
        code, out, err = self.chat(project, capsys, monkeypatch, "/review nope.py x", "/bad", "plain question")
        assert code == 0, err
        assert "error:" in err and "@nope.py: no such file" in err
        assert f"error: {project.resolve() / '.autodev/commands/bad.md'}:2: `model` is empty" in err
        assert "answered" in out and len(server.requests) == 1
