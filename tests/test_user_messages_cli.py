"""What `autodev run --once` tells a user when a model name, a server or a reply is wrong: no internals.

End to end through the CLI, real git and pytest, and LiteLLM over HTTP to the scripted server (or a closed
port): a misspelt model name is a configuration error before any request, a server that answers HTML or no JSON
is named with its status and URL, and a rejected reply is described for people while its model still reads the
text written for it.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from helpers import RIGHT, autodev, config_text, git, run_json, setup_example

from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-2")

NO_EDIT = "I am sorry, I cannot do that."
FILE_REQUEST = "Now send the whole temps.py: the path on one line, then the complete file in one fenced code block."
QUICK = "[llm]\nretries = 0\nretry_backoff_s = 0.01\n[llm.tiers]"


def configure(project: Path, text: str) -> None:
    (project / "autodev.toml").write_text(text, encoding="utf-8")
    git(project, "commit", "-q", "-am", "configure the models")


def quick(url: str, tier1: str = "scripted") -> str:
    """One tier at ``url`` that fails fast: no retries."""
    return config_text(url).replace("[llm.tiers]", QUICK).replace('tier1 = ["scripted"]', f'tier1 = ["{tier1}"]')


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    setup_example(repo, server.url, stub=True)
    return repo


class TestMisspeltModels:
    def test_a_tier_entry_close_to_a_configured_model_exits_2_before_any_request(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """tier1 = ["scriptd"] beside [llm.models.scripted]: exit 2 with the guess, no request, no retries."""
        configure(project, config_text(server.url).replace('tier1 = ["scripted"]', 'tier1 = ["scriptd"]'))
        server.push(RIGHT)
        started = time.monotonic()
        assert autodev(project, "run", "--once") == 2
        assert time.monotonic() - started < 10
        assert capsys.readouterr().err.strip().splitlines()[-1] == (
            "error: autodev.toml: [llm.tiers] tier1: no model 'scriptd'; did you mean 'scripted'? (a bare name "
            "with no [llm.models] entry is sent to Ollama as ollama/scriptd)"
        )
        assert server.requests == []

    def test_a_misspelt_model_option_exits_2(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """run --model scriptd is refused the same way, naming the option."""
        assert autodev(project, "run", "--once", "--model", "scriptd") == 2
        assert "--model scriptd: no model 'scriptd'; did you mean 'scripted'?" in capsys.readouterr().err
        assert server.requests == []

    # LiteLLM's Ollama path builds a TypedDict that pydantic warns about; pytest's "error" filter would make the
    # warning the failure instead of the refused connection.
    @pytest.mark.filterwarnings("ignore:Items? .*TypedDict:UserWarning")
    def test_a_name_close_to_nothing_is_still_called_through_ollama(
        self, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """tier1 = ["phi-2"] is an Ollama name: it is called at OLLAMA_API_BASE (here a closed port), not refused."""
        base = f"http://127.0.0.1:{closed_port()}"
        monkeypatch.setenv("OLLAMA_API_BASE", base)
        configure(project, quick("http://127.0.0.1:9/v1", tier1="phi-2"))
        assert autodev(project, "run", "--once") == 1
        assert f"model 'phi-2': cannot connect: {base} (connection refused)" in capsys.readouterr().out


class TestServerErrors:
    def test_an_html_error_page_is_named_by_status_and_url(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A 502 HTML page from a proxy: the status, the URL and what it means, not '<!DOCTYPE HTML>'."""
        configure(project, quick(server.url))
        server.push(ScriptedReply(status=502, raw_body=b"<!DOCTYPE HTML>\n<html><body>Bad Gateway</body></html>"))
        code, result = run_json(project, capsys)
        assert code == 1
        assert result["reason"] == (
            f"model 'scripted': server error: HTTP 502 from {server.url}: the server answered with an HTML page, "
            "not the API (is api_base the API's URL?)"
        )

    def test_a_200_body_that_is_not_json_names_the_server(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An undecodable 200 answer: no codec error, no <APIResponse ...>, one request (retrying cannot help)."""
        configure(project, quick(server.url).replace("retries = 0", "retries = 2"))
        server.push(*[ScriptedReply(raw_body=b"\x00\x00\x00{")] * 3)
        code, result = run_json(project, capsys)
        assert code == 1
        assert result["reason"] == (
            f"model 'scripted': invalid answer: the server at {server.url} answered HTTP 200 with a body that is "
            "not JSON (is api_base an OpenAI-compatible API?)"
        )
        assert len(server.requests) == 1

    def test_a_closed_port_names_the_url(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Nothing listening: 'cannot connect' with the configured URL and the reason, and what to check."""
        url = f"http://127.0.0.1:{closed_port()}/v1"
        configure(project, quick(url))
        code, result = run_json(project, capsys)
        assert code == 1
        assert result["reason"] == (
            f"model 'scripted': cannot connect: {url} (connection refused): is the server running and api_base right?"
        )


class TestRejectionReasons:
    def test_a_reply_without_an_edit_is_described_for_people_and_explained_to_the_model(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--json and the console say 'the reply contains no file edit'; the repair prompt keeps the instructions.

        The prose reply is asked once more for the file in the same attempt ([synthesis] ask_for_files); only a
        second reply without a file makes the attempt a rejected one."""
        server.push(NO_EDIT, NO_EDIT, RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0
        assert result["attempts"][0]["reason"] == "the reply contains no file edit"
        assert server.requests[1].messages[-2:] == [
            {"role": "assistant", "content": NO_EDIT},
            {"role": "user", "content": FILE_REQUEST},
        ]
        assert "Your reply contains no file edit. To change a file," in server.requests[2].prompt_text
        git(project, "reset", "-q", "--hard", "HEAD~1")
        server.push(NO_EDIT, NO_EDIT, RIGHT)
        capsys.readouterr()
        assert autodev(project, "run", "--once", "--no-cache") == 0
        assert "  attempt 1 (tier1 scripted): rejected: the reply contains no file edit\n" in capsys.readouterr().out

    def test_a_requirement_that_keeps_getting_no_edit_ends_with_the_human_reason_everywhere(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The pass's reason, the ledger and `autodev status` describe the reply; none quotes the model's text."""
        server.push(*[NO_EDIT] * 4)  # two attempts of two calls each (the reply, then the follow-up for the file)
        code, result = run_json(project, capsys)
        assert code == 1
        assert result["reason"].endswith("the reply contains no file edit")
        capsys.readouterr()
        assert autodev(project, "status", "--json") == 0
        (row,) = json.loads(capsys.readouterr().out)["requirements"]
        assert row["reason"] == result["reason"]
        assert "Your reply" not in json.dumps(result) + (project / ".autodev" / "ledger.json").read_text()

    def test_a_reply_of_prose_alone_is_followed_up_and_its_file_committed_in_the_same_attempt(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Over HTTP: the explanation, then the request for the file as the next message; one attempt, green, with
        both calls' tokens in it."""
        server.push(NO_EDIT, RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0
        [attempt] = result["attempts"]
        assert attempt["outcome"] == "green"
        first, follow_up = server.requests
        assert follow_up.messages == [*first.messages, {"role": "assistant", "content": NO_EDIT},
                                      {"role": "user", "content": FILE_REQUEST}]  # fmt: skip
        assert attempt["input_tokens"] > len(first.prompt_text) // 4

    def test_a_reply_writing_a_test_file_names_the_file_and_why(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A protected path: the file and the reason, without the advice the model gets."""
        server.push("tests/test_temps.py\n```python\ndef test_nothing():\n    pass\n```\n", RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0
        assert result["attempts"][0]["reason"] == (
            "the reply writes 'tests/test_temps.py': it is a test file, and the tests are the specification"
        )
        assert "change the code, not the tests" in server.requests[1].prompt_text
