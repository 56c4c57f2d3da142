"""`autodev chat`: slash commands read purely, and a whole session driven through a pseudo-terminal."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli_process, git, read_pty, two_tiers, write_files

from autodev.ask.chat import Command, Custom, Question, Unknown, help_text, read_line
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("ASK-8")


class TestReadLine:
    def test_plain_text_is_a_question(self) -> None:
        assert read_line("  why does it fail?  ") == Question(text="why does it fail?")

    def test_an_empty_line_is_nothing(self) -> None:
        assert read_line("   ") is None

    def test_commands_with_their_arguments(self) -> None:
        assert read_line("/add a.py 'my notes.md'") == Command(name="add", args=("a.py", "my notes.md"))
        assert read_line("/model gpt-4o-mini") == Command(name="model", args=("gpt-4o-mini",))
        assert read_line("/quit") == Command(name="exit")

    def test_a_misspelt_command_is_not_sent_and_says_did_you_mean(self) -> None:
        read = read_line("/aply")
        assert isinstance(read, Unknown) and "/apply" in read.message

    def test_wrong_arguments_are_said(self) -> None:
        assert isinstance(read_line("/add"), Unknown)
        assert isinstance(read_line("/cost now"), Unknown)

    def test_a_double_slash_sends_the_slash(self) -> None:
        assert read_line("//etc/hosts is what?") == Question(text="/etc/hosts is what?")

    def test_help_lists_every_command(self) -> None:
        text = help_text()
        for name in ("/add", "/drop", "/model", "/apply", "/undo", "/cost", "/exit"):
            assert name in text


@pytest.mark.req("CMD-2")
class TestReadLineCustomCommands:
    def test_a_custom_command_is_read_with_its_arguments(self) -> None:
        read = read_line("/frontend:test 'a b' c", custom=["frontend:test"])
        assert read == Custom(name="frontend:test", args=("a b", "c"))

    def test_a_built_in_command_wins_over_a_custom_one_of_the_same_name(self) -> None:
        assert read_line("/exit", custom=["exit"]) == Command(name="exit")

    def test_a_misspelt_custom_command_says_did_you_mean(self) -> None:
        read = read_line("/reviw x", custom=["review"])
        assert isinstance(read, Unknown) and "did you mean /review?" in read.message

    def test_help_lists_the_custom_commands_after_the_built_ins(self) -> None:
        text = help_text({"review FILE": "Review a file"})
        assert text.index("/exit") < text.index("/review FILE") and "Review a file" in text


class TestChatSession:
    def test_a_session_answers_obeys_model_and_exit(self, repo: Path, server: ScriptedServer) -> None:
        """Through a pty: the answer is shown, /model switches the model of the next request, /exit leaves; each
        answer is a metrics line with role "chat"."""
        write_files(repo, {"autodev.toml": two_tiers(server.url), "calc.py": "x = 1\n"})
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "start")
        server.push("first answer from scripted", "second answer from big")
        master, slave = os.openpty()
        process = cli_process(repo, "chat", "-f", "calc.py", terminal=slave)
        lines = iter(["hello there\n", "/model big\n", "and now?\n", "/cost\n", "/exit\n"])
        typist = threading.Thread(target=_type_ahead, args=(master, lines), daemon=True)
        typist.start()
        transcript = read_pty(master, process, timeout_s=60)
        assert process.returncode == 0, transcript.text
        assert "first answer from scripted" in transcript.text
        assert "second answer from big" in transcript.text
        assert "model: big" in transcript.text
        assert "2 answer(s)" in transcript.text
        assert [request.model for request in server.requests] == ["scripted", "big"]
        assert "calc.py" in server.requests[0].prompt_text
        assert "hello there" in server.requests[1].prompt_text  # the conversation goes on across /model
        metrics = (repo / ".autodev" / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        assert [(json.loads(line)["role"], json.loads(line)["model"]) for line in metrics] == [
            ("chat", "scripted"), ("chat", "big")
        ]  # fmt: skip


def _type_ahead(master: int, lines: Iterator[str]) -> None:
    """Type each line after a short pause, as a person would; the terminal holds what is typed ahead."""
    for line in lines:
        time.sleep(0.5)
        os.write(master, line.encode())
