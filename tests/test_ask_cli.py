"""`autodev ask` end to end: the real CLI, LiteLLM over HTTP to the scripted server, real git and pytest."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import (
    REPO_ROOT,
    autodev,
    cli_process,
    config_text,
    fresh_python,
    git,
    head,
    read_pty,
    snapshot,
    write_files,
)

from autodev.ask.place import ask_paths
from autodev.testing import ScriptedReply, ScriptedServer

FIXED = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
TEST_ADD = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing piped in unless a test says so (pytest's own stdin cannot be read)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    """calc.py (broken) with a test, autodev.toml with one scripted model, all committed."""
    write_files(repo, {"calc.py": BROKEN, "tests/test_calc.py": TEST_ADD, "autodev.toml": config_text(server.url)})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    return repo


def ask_json(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = autodev(project, "ask", "--json", *args)
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.req("ASK-1")
class TestAskAnswers:
    def test_files_and_piped_input_are_sent_with_their_paths(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """-f calc.py sends the file under its path; piped text is sent as standard input with the question."""
        server.push("It subtracts instead of adding.")
        monkeypatch.setattr(sys, "stdin", io.StringIO("diff --git a/calc.py b/calc.py\n-    return a + b\n"))
        code = autodev(project, "ask", "-f", "calc.py", "what", "is", "wrong?")
        out = capsys.readouterr().out
        assert code == 0
        assert out == "It subtracts instead of adding.\n"
        prompt = server.requests[0].prompt_text
        assert "calc.py\n```\n" + BROKEN in prompt
        assert "what is wrong?" in prompt
        assert "standard input\n```\ndiff --git a/calc.py" in prompt

    def test_json_gives_answer_model_tokens_cost_and_conversation(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push(ScriptedReply(content="Four.", prompt_tokens=12, completion_tokens=2))
        code, payload = ask_json(project, capsys, "2+2?")
        assert code == 0
        assert payload["answer"] == "Four."
        assert payload["model"] == "scripted"
        assert (payload["input_tokens"], payload["output_tokens"]) == (12, 2)
        assert payload["cost_usd"] == 0.0 and payload["cached"] is False
        assert isinstance(payload["conversation"], str) and payload["exit_code"] == 0

    def test_the_same_question_again_is_answered_from_the_cache(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The response cache applies as in run: no second request; --no-cache asks afresh."""
        server.push("Four.", "Four, again.")
        ask_json(project, capsys, "2+2?")
        code, payload = ask_json(project, capsys, "2+2?")
        assert (code, payload["answer"], payload["cached"], len(server.requests)) == (0, "Four.", True, 1)
        _, fresh = ask_json(project, capsys, "--no-cache", "2+2?")
        assert (fresh["answer"], len(server.requests)) == ("Four, again.", 2)

    def test_no_question_is_a_usage_error(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert autodev(project, "ask") == 2
        assert "no question" in capsys.readouterr().err

    def test_a_missing_file_is_a_usage_error_before_any_call(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert autodev(project, "ask", "-f", "nope.py", "why?") == 2
        assert "nope.py: no such file" in capsys.readouterr().err
        assert server.requests == []


def metrics_calls(project: Path) -> list[dict[str, object]]:
    text = (project / ".autodev" / "metrics.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.req("ASK-1")
class TestAskMetrics:
    def test_every_answer_is_a_metrics_line_with_role_ask(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Role and scope "ask", the model, tier and tokens of the call, no solve outcome; the same question again is
        a cached line; `metrics --by role` shows an ask row."""
        server.push(ScriptedReply(content="Four.", prompt_tokens=12, completion_tokens=2))
        assert ask_json(project, capsys, "2+2?")[0] == 0
        assert ask_json(project, capsys, "2+2?")[0] == 0
        first, again = metrics_calls(project)
        assert (first["role"], first["requirement"], first["kind"], first["outcome"]) == ("ask", "ask", "call", None)
        assert (first["model"], first["tier"], first["input_tokens"], first["output_tokens"]) == (
            "scripted", "tier1", 12, 2
        )  # fmt: skip
        assert (first["cached"], again["cached"], again["role"]) == (False, True, "ask")
        assert autodev(project, "metrics", "--by", "role", "--json") == 0
        rows = json.loads(capsys.readouterr().out)["rows"]
        assert [(r["role"], r["calls"], r["cache_hits"], r["attempts"]) for r in rows] == [("ask", 1, 1, 0)]

    def test_a_failed_call_is_an_error_line(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push(ScriptedReply(status=400, error_message="no such model"))
        assert autodev(project, "ask", "hi") != 0
        [failed] = metrics_calls(project)
        assert (failed["role"], failed["outcome"], failed["model"]) == ("ask", "error", "scripted")
        assert "no such model" in str(failed["reason"])


@pytest.mark.req("ASK-1")
class TestStreaming:
    def test_the_answer_is_printed_as_it_arrives_in_order(self, project: Path, server: ScriptedServer) -> None:
        """A slow stream's first words reach stdout (a pipe) long before the last ones are sent."""
        words = [f"word{n}" for n in range(12)]
        server.push(ScriptedReply(content=" ".join(words), chunk_delay_s=0.15))
        with subprocess.Popen(
            [sys.executable, "-m", "autodev", "-C", str(project), "ask", "say", "words"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.read1(64)  # type: ignore[attr-defined]
            seen_first = time.monotonic()
            rest = process.stdout.read()
            finished = time.monotonic()
            errors = process.stderr.read().decode()
            process.wait(timeout=30)
        assert process.returncode == 0, errors
        assert (first + rest).decode() == " ".join(words) + "\n"
        assert first.decode().startswith("word0")
        assert finished - seen_first > 1.0  # about 12 x 0.15 s of the stream were still to come


@pytest.mark.req("ASK-2")
class TestOutput:
    def test_one_code_block_writes_only_the_code(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push(f"Here is the fix:\n\n```python\n{FIXED}```\n\nIt adds now.")
        code = autodev(project, "ask", "-f", "calc.py", "Fix this code", "--output", "fixed.py")
        assert code == 0
        assert (project / "fixed.py").read_text() == FIXED
        assert "wrote" in capsys.readouterr().err
        assert (project / "calc.py").read_text() == BROKEN

    def test_several_code_blocks_write_the_whole_answer(self, project: Path, server: ScriptedServer) -> None:
        answer = "First:\n```python\nx = 1\n```\nThen:\n```python\ny = 2\n```\n"
        server.push(answer)
        assert autodev(project, "ask", "two snippets", "--output", "notes.md") == 0
        assert (project / "notes.md").read_text() == answer

    def test_output_into_a_missing_directory_is_a_usage_error(self, project: Path, server: ScriptedServer) -> None:
        server.push("```\nx\n```")
        assert autodev(project, "ask", "q", "--output", "no/such/dir/out.py") == 2


@pytest.mark.req("ASK-3")
class TestApply:
    def test_several_files_from_one_answer_are_committed_together(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = head(project)
        server.push(f"calc.py\n```python\n{FIXED}```\n\nutil.py\n```python\nZERO = 0\n```\n")
        code, payload = ask_json(project, capsys, "-f", "calc.py", "fix and add util", "--apply")
        assert code == 0, payload
        assert (project / "calc.py").read_text() == FIXED
        assert (project / "util.py").read_text() == "ZERO = 0\n"
        assert git(project, "rev-parse", "HEAD~1").strip() == before
        assert sorted(git(project, "show", "--name-only", "--format=", "HEAD").split()) == ["calc.py", "util.py"]
        assert "Autodev-Model: scripted" in git(project, "log", "-1", "--format=%B")
        assert git(project, "status", "--porcelain").strip() == ""

    def test_a_file_with_uncommitted_changes_is_refused(self, project: Path, server: ScriptedServer) -> None:
        (project / "calc.py").write_text("# my work in progress\n" + BROKEN)
        files = snapshot(project)
        server.push(f"calc.py\n```python\n{FIXED}```\n")
        assert autodev(project, "ask", "-f", "calc.py", "fix", "--apply") == 1
        assert snapshot(project) == files

    def test_a_path_outside_the_project_is_refused(self, project: Path, server: ScriptedServer) -> None:
        files = snapshot(project)
        server.push("../evil.py\n```python\nimport os\n```\n")
        assert autodev(project, "ask", "write it", "--apply") == 1
        assert snapshot(project) == files
        assert not (project.parent / "evil.py").exists()


@pytest.mark.req("ASK-4")
class TestApplyWithTests:
    def test_a_change_that_breaks_a_passing_test_is_rolled_back(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (project / "calc.py").write_text(FIXED)
        git(project, "commit", "-qam", "fixed by hand")
        before, files = head(project), snapshot(project)
        server.push(f"calc.py\n```python\n{BROKEN}```\n")
        code, payload = ask_json(project, capsys, "-f", "calc.py", "refactor", "--apply", "--test")
        assert code == 1
        assert payload["applied"]["kept"] is False  # type: ignore[index]
        assert "test_add" in payload["applied"]["reason"]  # type: ignore[index]
        assert snapshot(project) == files and head(project) == before


@pytest.mark.req("ASK-6")
class TestConversation:
    def test_a_conversation_continues_across_three_invocations(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push("Answer one.", "Answer two.", "Answer three.")
        _, first = ask_json(project, capsys, "question one")
        _, second = ask_json(project, capsys, "--continue", "question two")
        _, third = ask_json(project, capsys, "--conversation", str(first["conversation"]), "question three")
        assert first["conversation"] == second["conversation"] == third["conversation"]
        sent = [(m["role"], m["content"]) for m in server.requests[2].messages if m["role"] != "system"]
        assert sent == [
            ("user", "question one"),
            ("assistant", "Answer one."),
            ("user", "question two"),
            ("assistant", "Answer two."),
            ("user", "question three"),
        ]


@pytest.mark.req("ASK-7")
class TestWindow:
    def test_old_turns_are_left_out_and_summarised_when_the_window_is_exceeded(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = project / "autodev.toml"
        config.write_text(config.read_text() + "context_tokens = 600\nmax_tokens = 50\n")
        long = "lorem ipsum " * 60  # about 200 tokens a turn
        server.push(*(f"answer {n} " + long for n in range(4)))
        ask_json(project, capsys, "first topic " + long)
        for n in range(1, 4):
            _, last = ask_json(project, capsys, "--continue", f"topic {n} " + long)
        assert last["dropped"] > 0
        final = server.requests[-1]
        assert "first topic" in final.prompt_text and "left out" in final.prompt_text  # in the summary only
        assert not any(m["content"].startswith("first topic") for m in final.messages)


@pytest.mark.req("ASK-9")
class TestModels:
    def test_a_misspelt_model_says_did_you_mean_before_any_call(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert autodev(project, "ask", "--model", "scriptd", "hi") == 2
        assert "did you mean 'scripted'" in capsys.readouterr().err
        assert server.requests == []

    def test_a_typo_of_a_hosted_model_that_ollama_cannot_answer_says_did_you_mean(
        self, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`gpt-4o-mnii` is a valid Ollama name until Ollama fails; then the hosted name it resembles is named."""
        monkeypatch.setenv("OLLAMA_API_BASE", "http://127.0.0.1:9")  # nothing listens: refused at once
        config = project / "autodev.toml"
        config.write_text("[llm]\nretries = 0\n" + config.read_text())
        assert autodev(project, "ask", "--model", "gpt-4o-mnii", "hi") == 2
        assert "did you mean 'gpt-4o-mini'" in capsys.readouterr().err

    def test_an_unknown_tier_names_the_tiers(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert autodev(project, "ask", "--tier", "tier9", "hi") == 2
        assert "tier1" in capsys.readouterr().err

    def test_the_key_is_sent_but_written_nowhere(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        secret = "sk-test-do-not-write-7f3a"
        monkeypatch.setenv("ASK_TEST_KEY", secret)
        config = project / "autodev.toml"
        config.write_text(config.read_text() + 'api_key_env = "ASK_TEST_KEY"\n')
        server.push("ok")
        assert autodev(project, "-v", "ask", "hi") == 0
        assert secret in server.requests[0].headers.get("authorization", "")
        captured = capsys.readouterr()
        assert secret not in captured.out + captured.err
        for path in (project / ".autodev").rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path

    def test_a_budget_cap_stops_the_call_before_it_is_made(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = project / "autodev.toml"
        text = config.read_text() + "input_cost_per_token = 0.01\noutput_cost_per_token = 0.01\n"
        config.write_text("[budget]\nper_run_usd = 0.0001\n" + text)
        server.push("never sent")
        assert autodev(project, "ask", "hi") == 1
        assert "budget" in capsys.readouterr().err
        assert server.requests == []


@pytest.mark.req("ASK-1")
class TestWhatAskLoads:
    def test_ask_loads_no_pass_no_spec_parser_and_no_litellm_before_its_call(self) -> None:
        """A hosted model's `ask` pays for the command, the router and the call only (LiteLLM on first use)."""
        code = (
            "import sys, autodev.cli.ask_cmd, autodev.ask.session, autodev.local.serving, autodev.ask.changes; "
            "print(' '.join(sorted(sys.modules)))"
        )
        done = fresh_python(code)
        assert done.returncode == 0, done.stderr
        loaded = set(done.stdout.split())
        assert "litellm" not in loaded
        assert not {name for name in loaded if name.startswith(("autodev.core", "autodev.watch", "autodev.bench"))}
        assert "autodev.spec.parser" not in loaded and "markdown_it" not in loaded


@pytest.mark.req("ASK-6")
class TestWhereAskKeepsItsState:
    def test_inside_a_project_state_is_the_projects(self, project: Path) -> None:
        paths = ask_paths(project / "tests", {"XDG_DATA_HOME": "/nowhere"})
        assert paths.root == project and paths.conversations_dir == project / ".autodev" / "conversations"

    def test_outside_a_project_state_is_in_the_users_data_directory(self, tmp_path: Path) -> None:
        alone = tmp_path / "scratch"
        alone.mkdir()
        paths = ask_paths(alone, {"XDG_DATA_HOME": str(tmp_path / "data")})
        assert paths.root == alone
        assert paths.conversations_dir == tmp_path / "data" / "autodev" / "conversations"
        assert paths.cache_dir == tmp_path / "data" / "autodev" / "cache"


@pytest.mark.req("ASK-3")
class TestApplyOnATerminal:
    @pytest.mark.parametrize(("reply", "applied"), [("y\n", True), ("n\n", False)])
    def test_the_diff_is_shown_and_the_change_waits_for_a_yes(
        self, project: Path, server: ScriptedServer, reply: str, applied: bool
    ) -> None:
        """On a terminal: the summary line, the diff, the question; y applies and commits, n changes nothing."""
        before, files = head(project), snapshot(project)
        server.push(f"calc.py\n```python\n{FIXED}```\n")
        master, slave = os.openpty()
        process = cli_process(project, "ask", "-f", "calc.py", "fix it", "--apply", terminal=slave)
        threading.Timer(4.0, os.write, args=(master, reply.encode())).start()  # typed ahead of the question
        transcript = read_pty(master, process, timeout_s=60)
        assert "-    return a - b" in transcript.text and "+    return a + b" in transcript.text
        assert "Apply these changes to calc.py?" in transcript.text
        assert "scripted ·" in transcript.text  # the summary line on stderr
        if applied:
            assert process.returncode == 0, transcript.text
            assert (project / "calc.py").read_text() == FIXED and head(project) != before
        else:
            assert process.returncode == 1, transcript.text
            assert snapshot(project) == files and head(project) == before
